"""infer_types: fill in every Value's shape and dtype from the graph inputs, node by node."""
from __future__ import annotations

from ..ir import Graph, registry
from ..ir.errors import ShapeError


def infer_types(graph: Graph) -> Graph:
    for node in graph.nodes:
        if not all(v.type.known for v in node.inputs):
            continue  # partial inference: leave what cannot be known yet
        opdef = registry.get(node.op)
        attrs = opdef.parse_attrs(node.attrs)
        try:
            types = opdef.infer_types([v.type for v in node.inputs], attrs)
        except ShapeError as e:
            where = f" (node {node.name})" if node.name else ""
            raise ShapeError(f"{e}{where}") from None
        for v, t in zip(node.outputs, types):
            v.type = t
    return graph
