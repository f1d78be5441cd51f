"""autodiff: reverse mode on the IR. Forward and backward end up in one graph, so later
passes (simplify, fuse, plan_memory) see both and can share work and memory across them.

Each op's gradient rule lives with its registry definition (OpDef.grad, see ir/grad.py)
and builds IR ops, so the backward pass is just more graph.
"""
from __future__ import annotations

from ..ir import Graph, Value, registry
from ..ir.errors import MXNetError
from ..ir.grad import GradBuilder
from ..ir.types import DTYPES


def _is_float(v: Value) -> bool:
    return DTYPES[v.type.dtype].is_float


def autodiff(graph: Graph, wrt: list[Value], head_grads: list[Value] | None = None) -> Graph:
    """Gradients of graph.outputs with respect to `wrt` (Values of the graph).

    `head_grads` are the gradients flowing into the outputs; by default one new graph
    input per output is appended (named `<k>_head_grad`), which the caller fills (ones
    for a plain backward; loss ops ignore theirs). The result's inputs are the
    original inputs plus those head-grad inputs; its outputs are the original outputs
    followed by one gradient per `wrt` entry (zeros when an entry does not influence
    the outputs).
    """
    b = GradBuilder()
    new_inputs = []
    if head_grads is None:
        head_grads = []
        for k, v in enumerate(graph.outputs):
            h = Value(v.type, f"head_grad{k}")
            new_inputs.append(h)
            head_grads.append(h)
    grads: dict[int, Value] = {}

    def accumulate(v: Value, g: Value):
        if g.type.shape != v.type.shape:
            raise MXNetError(f"autodiff: gradient of shape {g.type.shape} for a value of shape {v.type.shape}")
        prev = grads.get(v.id)
        grads[v.id] = g if prev is None else b.op("elemwise_add", prev, g)

    for v, h in zip(graph.outputs, head_grads):
        if _is_float(v):
            accumulate(v, h)

    wanted = _influencing(graph, wrt)
    for node in reversed(graph.nodes):
        if not any(o.id in grads for o in node.outputs):
            continue
        if not any(i.id in wanted for i in node.inputs):
            continue
        opdef = registry.get(node.op)
        if not opdef.differentiable:
            continue
        if opdef.grad is None:
            where = f" (node {node.name})" if node.name else ""
            raise MXNetError(f"autodiff: operator {node.op}{where} has no gradient rule")
        ogs = [grads.get(o.id) or b.zeros_like(o) for o in node.outputs]
        in_grads = opdef.grad(b, node, ogs)
        if len(in_grads) != len(node.inputs):
            raise MXNetError(f"autodiff: gradient rule of {node.op} returned {len(in_grads)} gradients "
                             f"for {len(node.inputs)} inputs")
        for v, g in zip(node.inputs, in_grads):
            if g is not None and v.id in wanted and _is_float(v):
                accumulate(v, g)

    outs = []
    for v in wrt:
        g = grads.get(v.id)
        outs.append(g if g is not None else b.zeros_like(v))
    return Graph(list(graph.inputs) + new_inputs, list(graph.outputs) + outs, list(graph.nodes) + b.nodes)


def _influencing(graph: Graph, wrt: list[Value]) -> set:
    """ids of the Values that depend on some `wrt` entry: only they need gradients."""
    live = {v.id for v in wrt}
    for node in graph.nodes:
        if any(v.id in live for v in node.inputs):
            live.update(o.id for o in node.outputs)
    return live
