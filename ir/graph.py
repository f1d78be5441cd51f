"""SSA graph: every Value is defined once, by one Node or as a graph input."""
from __future__ import annotations

import itertools

from .types import TensorType

_ids = itertools.count()


class Value:
    __slots__ = ("type", "name", "producer", "index", "id")

    def __init__(self, type: TensorType, name: str | None = None, producer=None, index: int = 0):
        self.type, self.name, self.producer, self.index = type, name, producer, index
        self.id = next(_ids)

    def __repr__(self):
        return f"Value({self.name or self.id}: {self.type})"


class Node:
    __slots__ = ("op", "attrs", "inputs", "outputs", "name")

    def __init__(self, op: str, attrs: dict, inputs: list[Value], out_types: list[TensorType], name: str | None = None):
        self.op, self.attrs, self.inputs, self.name = op, dict(attrs), list(inputs), name
        self.outputs = [Value(t, None, self, i) for i, t in enumerate(out_types)]

    def __repr__(self):
        return f"Node({self.op}, {self.name})"


class Graph:
    """A list of nodes in topological order between input and output Values."""

    def __init__(self, inputs: list[Value], outputs: list[Value], nodes: list[Node] | None = None):
        self.inputs, self.outputs = list(inputs), list(outputs)
        self.nodes = nodes if nodes is not None else topo_order(self.outputs)

    def __str__(self):
        return print_graph(self)

    def keep_annotations(self, old: "Graph") -> "Graph":
        """Take over what callers set on `old` (late_inputs, aliased_inputs, ...), except its memory
        plan; a pass that rebuilds a graph returns `Graph(...).keep_annotations(graph)`."""
        for k, v in vars(old).items():
            if k not in ("inputs", "outputs", "nodes", "memory_plan"):
                setattr(self, k, v)
        return self


def topo_order(outputs: list[Value]) -> list[Node]:
    """Producers of `outputs` in dependency order (iterative DFS: deep graphs are fine)."""
    order, seen = [], set()
    for root in outputs:
        if root.producer is None or id(root.producer) in seen:
            continue
        stack = [(root.producer, False)]
        while stack:
            node, expanded = stack.pop()
            if expanded:
                order.append(node)
                continue
            if id(node) in seen:
                continue
            seen.add(id(node))
            stack.append((node, True))
            for v in reversed(node.inputs):
                if v.producer is not None and id(v.producer) not in seen:
                    stack.append((v.producer, False))
    return order


def _attr_text(attrs: dict) -> str:
    items = [f"{k}={v!r}" for k, v in attrs.items() if v is not None]
    return "{" + ", ".join(items) + "}" if items else ""


def print_graph(g: Graph) -> str:
    """A listing: one line per node, values numbered in order of definition."""
    names: dict[int, str] = {}

    def name(v: Value) -> str:
        if v.id not in names:
            names[v.id] = f"%{len(names)}"
        return names[v.id]

    head = ", ".join(f"{name(v)}: {v.type}" + (f"  # {v.name}" if v.name else "") for v in g.inputs)
    lines = [f"graph({head}) {{"]
    for n in g.nodes:
        outs = ", ".join(name(v) for v in n.outputs)
        ins = ", ".join(name(v) for v in n.inputs)
        types = ", ".join(str(v.type) for v in n.outputs)
        label = f"  # {n.name}" if n.name else ""
        lines.append(f"  {outs} = {n.op}({ins}){_attr_text(n.attrs)} : {types}{label}")
    lines.append("  return " + ", ".join(name(v) for v in g.outputs))
    lines.append("}")
    return "\n".join(lines)


class VerifyError(ValueError):
    pass


def verify(g: Graph) -> Graph:
    """Check SSA form, topological order, known ops, valid attrs and consistent types."""
    from . import registry

    defined = {v.id for v in g.inputs}
    if len(defined) != len(g.inputs):
        raise VerifyError("graph input listed twice")
    for i, n in enumerate(g.nodes):
        where = f"node {i} ({n.op}{' ' + n.name if n.name else ''})"
        try:
            opdef = registry.get(n.op)
        except KeyError as e:
            raise VerifyError(f"{where}: {e}") from None
        for v in n.inputs:
            if v.id not in defined:
                raise VerifyError(f"{where}: input {v!r} is used before it is defined")
        for j, v in enumerate(n.outputs):
            if v.id in defined:
                raise VerifyError(f"{where}: output {j} defined twice (not SSA)")
            if v.producer is not n or v.index != j:
                raise VerifyError(f"{where}: output {j} does not point back at its node")
            defined.add(v.id)
        try:
            attrs = opdef.parse_attrs(n.attrs)
        except ValueError as e:
            raise VerifyError(f"{where}: {e}") from None
        if all(v.type.known for v in n.inputs):
            try:
                expect = opdef.infer_types([v.type for v in n.inputs], attrs)
            except (ValueError, TypeError) as e:  # inputs the op cannot take (shapes, dtypes, arity)
                raise VerifyError(f"{where}: {e}") from None
            got = [v.type for v in n.outputs]
            if [t for t in expect] != got:
                raise VerifyError(
                    f"{where}: output types {[str(t) for t in got]} disagree with inference {[str(t) for t in expect]}"
                )
    for v in g.outputs:
        if v.id not in defined:
            raise VerifyError(f"graph output {v!r} is not defined in the graph")
    return g
