"""autograd.grad(create_graph=True): the backward graph runs as recorded imperative ops.

The usual backward compiles the gradient graph into one C program, which the tape cannot see.
For higher-order gradients, the same graph (the tape's forward nodes, then passes.autodiff) is
walked node by node instead, each backward node running through the recorder like any op a user
calls under autograd.record(). The gradients come back as NDArrays on the tape, so
differentiating them again is ordinary autograd.
"""
from __future__ import annotations

from . import autograd as ag
from .ir import Graph, Node, TensorType, Value, registry
from .ir.errors import MXNetError
from .ndarray import invoke as _inv
from .ndarray.ndarray import NDArray
from .passes.autodiff import autodiff


def _on_tape(data, var, ref, ctx) -> NDArray:
    """An NDArray over recorded bytes that the recorder traces back to `ref`."""
    x = NDArray(data, ctx, var)
    x._ag = ref
    return x


def _run_recorded(opdef, inputs, attrs, ctx):
    srcs = [ag._src(x) for x in inputs]
    outs, _ = _inv.invoke(opdef, inputs, attrs, None, ctx, _inner=True)
    ag._mark(ag._Node(opdef, attrs, srcs, [(o._data, o._var) for o in outs]), outs, opdef.updates)
    return outs


def replay_backward(head_refs, head_grads, wrt_refs, ctx) -> list:
    """Gradients of the heads (weighted by head_grads; None = ones) w.r.t. wrt_refs, recorded."""
    from .ndarray import ones

    trace = ag._Trace(head_refs)
    if trace.cuts:
        raise MXNetError("autograd.grad(create_graph=True): the graph contains a custom autograd.Function or a "
                         "hybridized block; higher-order gradients through it are not supported")
    arrays: dict = {}
    leaf_vals = []
    for i, ref in enumerate(trace.leaves):
        v = Value(TensorType(*trace.leaf_type(i)))
        leaf_vals.append(v)
        arrays[v.id] = _on_tape(*trace.data(("l", i)), ref, ctx)
    node_outs, fwd = [], []

    def val(code):
        return leaf_vals[code[1]] if code[0] == "l" else node_outs[code[1]][code[2]]

    for node, codes in trace.nodes:
        n = Node(node.op.name, node.attrs, [val(c) for c in codes],
                 [TensorType(d.shape, d.dtype.name) for d, _ in node.outs])
        fwd.append(n)
        node_outs.append(n.outputs)
        for k, (v, (d, var)) in enumerate(zip(n.outputs, node.outs)):
            arrays[v.id] = _on_tape(d, var, ag._Out(node, k), ctx)
    heads = [val(c) for c in trace.head_codes]
    hg_vals = []
    for h, g in zip(heads, head_grads):
        hv = Value(h.type)
        arrays[hv.id] = g if g is not None else ones(h.type.shape, ctx, h.type.dtype)
        hg_vals.append(hv)
    wrt = [val(trace.code(r)) for r in wrt_refs]
    g2 = autodiff(Graph(leaf_vals, heads, fwd), wrt, hg_vals)
    prev = ag.set_recording(True)
    try:
        for n in g2.nodes[len(fwd):]:
            opdef = registry.get(n.op)
            if not opdef.differentiable and n.op.startswith("_backward"):
                raise MXNetError(f"autograd.grad(create_graph=True): {n.op} has no gradient rule, so the gradient "
                                 "of this graph cannot be differentiated again")
            outs = _run_recorded(opdef, [arrays[v.id] for v in n.inputs], n.attrs, ctx)
            for v, o in zip(n.outputs, outs):
                arrays[v.id] = o
    finally:
        ag.set_recording(prev)
    return [arrays[v.id] for v in g2.outputs[len(heads):]]
