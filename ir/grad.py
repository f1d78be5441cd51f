"""The builder gradient rules use: gradients are IR ops, so autodiff is a graph transform.

A rule is `grad(b, node, out_grads) -> [input grad Value or None, ...]` stored on the
op's OpDef. `node.inputs` / `node.outputs` are the forward Values (with known types);
`out_grads[k]` is the gradient flowing into output k (never None: the pass fills
zeros). The rule builds new nodes with `b.op(...)` and returns one entry per input
(None where the input gets no gradient, e.g. integer indices or labels).
"""
from __future__ import annotations

from .graph import Node, Value
from .types import TensorType


class GradBuilder:
    def __init__(self):
        self.nodes: list[Node] = []

    def op(self, name: str, *inputs: Value, **attrs):
        """Add a node; returns its Value (or the list of Values for several outputs)."""
        from . import registry

        opdef = registry.get(name)
        parsed = opdef.parse_attrs(attrs)
        types = opdef.infer_types([v.type for v in inputs], parsed)
        node = Node(opdef.name, attrs, list(inputs), types)
        self.nodes.append(node)
        return node.outputs[0] if len(node.outputs) == 1 else node.outputs

    # -- helpers shared by many rules --------------------------------------------------------------
    def sum_to(self, g: Value, shape: tuple) -> Value:
        """Undo NumPy broadcasting: sum `g` over the axes that broadcast `shape` up to g's shape."""
        gshape = g.type.shape
        if tuple(gshape) == tuple(shape):
            return g
        lead = len(gshape) - len(shape)
        axes = tuple(range(lead)) + tuple(lead + i for i, d in enumerate(shape) if d == 1 and gshape[lead + i] != 1)
        out = self.op("sum", g, axis=axes, keepdims=False) if axes else g
        if tuple(out.type.shape) != tuple(shape):
            out = self.op("Reshape", out, shape=tuple(shape))
        return out

    def zeros_like(self, v: Value) -> Value:
        return self.op("zeros_like", v)

    def ones_like(self, v: Value) -> Value:
        return self.op("ones_like", v)

    def zeros(self, t: TensorType) -> Value:
        return self.op("_zeros", shape=tuple(t.shape), dtype=t.dtype)

    def add(self, a: Value, b: Value) -> Value:
        return self.op("elemwise_add", a, b) if a.type.shape == b.type.shape else self.op("broadcast_add", a, b)

    def mul(self, a: Value, b: Value) -> Value:
        return self.op("elemwise_mul", a, b) if a.type.shape == b.type.shape else self.op("broadcast_mul", a, b)

    def neg(self, a: Value) -> Value:
        return self.op("negative", a)

    def scale(self, a: Value, s: float) -> Value:
        return self.op("_mul_scalar", a, scalar=float(s))
