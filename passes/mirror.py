"""mirror: backward nodes read recomputed copies of cheap forward values (recomputation).

After Chen et al. 2016, "Training Deep Nets with Sublinear Memory Cost", and MXNet's
MXNET_BACKWARD_DO_MIRROR=1: the output of a cheap forward node (elementwise math,
activations, BatchNorm) that the backward part reads is computed again right before its
first backward reader, which reads the copy instead. The forward original then dies as
soon as the forward part is done with it, so plan_memory can reuse its bytes; only the
inputs of expensive nodes (convolution, GEMM, pooling) stay alive across the whole step.
Copies of chained cheap nodes read each other, so conv -> BatchNorm -> relu keeps only the
convolution's output.

The pass runs when the graph says so: `graph.mirror_outputs = k` (set by the executor)
means the first k graph outputs are the forward outputs; the forward part is what they
depend on, everything else is backward. It runs after simplify (whose CSE would merge a
copy back into its original) and before plan_memory. Random ops are never recomputed: a
second draw would differ.
"""
from __future__ import annotations

from ..ir import Graph, Node, registry

CHEAP_FAMILIES = {"elementwise", "norm"}
NEVER = {"Dropout", "LeakyReLU"}  # random in training (the mask, rrelu's slopes)


def cheap(node) -> bool:
    if node.op in NEVER:
        return False
    opdef = registry.get(node.op)
    if opdef.lower is None or opdef.name in NEVER:
        return False
    try:
        low = opdef.lower([v.type for v in node.inputs], [v.type for v in node.outputs],
                          opdef.parse_attrs(node.attrs))
    except Exception:  # a lowering that cannot be built here will fail loudly in codegen
        return False
    return low.family in CHEAP_FAMILIES


def _ancestors(outputs) -> set:
    seen, stack = set(), [v.producer for v in outputs if v.producer is not None]
    while stack:
        n = stack.pop()
        if id(n) in seen:
            continue
        seen.add(id(n))
        stack.extend(v.producer for v in n.inputs if v.producer is not None and id(v.producer) not in seen)
    return seen


def mirror(graph: Graph) -> Graph:
    k = getattr(graph, "mirror_outputs", None)
    if not k:
        return graph
    fwd = _ancestors(graph.outputs[:k])
    cheap_nodes = {id(n) for n in graph.nodes if id(n) in fwd and cheap(n)}
    if not cheap_nodes:
        return graph
    copies: dict[int, Node] = {}  # id(forward node) -> its copy
    new: dict[int, object] = {}  # value id -> the value backward nodes read instead
    nodes = [n for n in graph.nodes if id(n) in fwd]

    def value(v):
        if v.id in new:
            return new[v.id]
        p = v.producer
        if p is None or id(p) not in cheap_nodes:
            return v
        if id(p) not in copies:
            c = Node(p.op, p.attrs, [value(u) for u in p.inputs], [o.type for o in p.outputs],
                     name=(p.name + "_mirror") if p.name else None)
            copies[id(p)] = c
            nodes.append(c)
        return copies[id(p)].outputs[v.index]

    for n in graph.nodes:
        if id(n) in fwd:
            continue
        ins = [value(v) for v in n.inputs]
        if all(a is b for a, b in zip(ins, n.inputs)):
            nodes.append(n)
            continue
        c = Node(n.op, n.attrs, ins, [o.type for o in n.outputs], name=n.name)
        for o, co in zip(n.outputs, c.outputs):
            co.name = o.name
            new[o.id] = co
        nodes.append(c)
    out = Graph(graph.inputs, [new.get(v.id, v) for v in graph.outputs], nodes)
    for attr in ("late_inputs", "mirror_outputs"):
        if hasattr(graph, attr):
            setattr(out, attr, getattr(graph, attr))
    return out
