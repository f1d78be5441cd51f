"""Finite-difference checks of gradient rules: one op, float64, through autodiff and one compiled graph."""
from __future__ import annotations

import numpy as np

from mxcc import CompiledGraph
from mxcc.ir import Graph, Node, TensorType, Value, registry
from mxcc.passes.autodiff import autodiff


def op_graph(op: str, in_types, attrs):
    opdef = registry.get(op)
    ins = [Value(t, f"in{k}") for k, t in enumerate(in_types)]
    parsed = opdef.parse_attrs(attrs)
    node = Node(opdef.name, attrs, ins, opdef.infer_types(list(in_types), parsed), name=f"{op}0")
    return Graph(ins, node.outputs, [node]), ins


def check_grad(op: str, inputs, attrs=None, wrt=None, rtol=1e-4, atol=1e-6, eps=1e-6, seed=0, heads=None):
    """Compare autodiff's input gradients of sum(out_k * head_k) with central differences.

    `inputs`: numpy arrays (float ones are differentiated unless `wrt` lists the indices).
    `heads`: the indices of the outputs that get a random head gradient (default: every float
    output); the others get zeros (for ops whose rule, like MXNet's, ignores some outputs).
    """
    attrs = attrs or {}
    inputs = [np.asarray(x) for x in inputs]
    types = [TensorType(x.shape, x.dtype.name) for x in inputs]
    g, ins = op_graph(op, types, attrs)
    if wrt is None:
        wrt = [k for k, x in enumerate(inputs) if x.dtype.kind == "f"]
    fwd = CompiledGraph(g)
    bwd_graph = autodiff(g, [ins[k] for k in wrt])
    bwd = CompiledGraph(bwd_graph)
    rng = np.random.default_rng(seed)
    outs = fwd(*inputs)
    heads = [rng.standard_normal(o.shape) if o.dtype.kind == "f" and (heads is None or k in heads)
             else np.zeros(o.shape, o.dtype) for k, o in enumerate(outs)]
    res = bwd(*inputs, *heads)
    grads = res[len(outs):]

    def objective(xs):
        return sum(float((o.astype(np.float64) * h).sum()) for o, h in zip(fwd(*xs), heads))  # host-only check

    for k, gk in zip(wrt, grads):
        x = inputs[k]
        num = np.zeros(x.shape)
        flat = num.reshape(-1)
        for i in range(x.size):
            xp, xm = x.copy(), x.copy()
            xp.reshape(-1)[i] += eps
            xm.reshape(-1)[i] -= eps
            args_p = list(inputs)
            args_p[k] = xp
            args_m = list(inputs)
            args_m[k] = xm
            flat[i] = (objective(args_p) - objective(args_m)) / (2 * eps)
        np.testing.assert_allclose(gk, num, rtol=rtol, atol=atol, err_msg=f"{op}: gradient of input {k}")
    return grads
