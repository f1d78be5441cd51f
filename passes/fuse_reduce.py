"""Reduction fusion (part of the fuse pass, after elementwise groups and epilogues): a
reduction whose input is made by an elementwise node or group that nothing else reads becomes
one `_fused_reduce` node (ir/ops/fused_reduce.py), so the reduce kernel evaluates the group's
snippets where it would have loaded an element: sum(x * y), the bias gradient of a backward
activation, norm(x - y), ... one pass over the inputs, no intermediate.

Conditions: the producer has one output, of the reduced shape, read by the reduction alone
(no graph output, no type-only holder); the producer's inputs all have that shape (the
kernel reads them at the reduced tensor's offsets); the reducer lowers to a plain reduce
kernel. The fused node takes the reduction's place. $MXCC_DISABLE_PASSES=fuse_reduce switches
this rewrite off alone.
"""
from __future__ import annotations

import json

from ..ir import Graph, Node, registry
from ..ir.ops.fused import OP as GROUP
from ..ir.ops.fused import decode_members, encode_members, fusible_lowering, reads, type_ref
from ..ir.ops.fused_reduce import OP, reduce_lowering
from .fuse_epilogue import _unread


def _reducer(node):
    """Whether `node` is a one-input reduction with a plain reduce kernel."""
    if len(node.outputs) != 1 or len(node.inputs) != 1 or node.op.startswith("_fused_"):
        return False
    if not node.inputs[0].type.known or not node.outputs[0].type.known:
        return False
    opdef = registry.get(node.op)
    if opdef.lower is None:
        return False
    try:
        return reduce_lowering(node.op, node.inputs[0].type, node.outputs[0].type,
                               opdef.parse_attrs(node.attrs)) is not None
    except (ValueError, TypeError, NotImplementedError):
        return False


def _producer_spec(p, member_attrs):
    """(members, inputs) of an elementwise producer with one output, else None."""
    if len(p.outputs) != 1 or not all(v.type.known for v in p.inputs):
        return None
    shape = tuple(p.outputs[0].type.shape)
    if p.op == GROUP:
        if tuple(p.attrs["outputs"]) != (len(decode_members(p.attrs["members"])) - 1,):
            return None  # the group's result must be its last member
        spec = [(op, attrs, list(refs)) for op, attrs, refs in decode_members(p.attrs["members"])]
        ins = list(p.inputs)
    else:
        opdef = registry.get(p.op)
        if opdef.updates or opdef.lower is None:
            return None
        try:
            low = opdef.lower([v.type for v in p.inputs], [p.outputs[0].type], opdef.parse_attrs(p.attrs))
        except (ValueError, TypeError, NotImplementedError):
            return None
        if not fusible_lowering(low, [v.type for v in p.inputs], p.outputs[0].type):
            return None
        rd = reads(low) + (False,) * (len(p.inputs) - len(low.params["in_dtypes"]))
        refs, ins = [], []
        for v, r in zip(p.inputs, rd):
            if r:
                refs.append(f"i{len(ins)}")
                ins.append(v)
            else:
                refs.append(type_ref(v.type))
        spec = [(p.op, member_attrs(p), refs)]
    if any(tuple(v.type.shape) != shape for v in ins):
        return None
    return spec, ins


def fuse_reductions(graph: Graph, member_attrs) -> Graph:
    nodes = graph.nodes
    out_ids = {v.id for v in graph.outputs}
    readers: dict[int, list] = {}
    held: dict[int, int] = {}
    for n in nodes:
        unread = _unread(n)
        for v in n.inputs:
            if v.id in unread:
                held[v.id] = held.get(v.id, 0) + 1
            else:
                lst = readers.setdefault(v.id, [])
                if not lst or lst[-1] is not n:
                    lst.append(n)
    plans, gone = {}, set()
    for r in nodes:
        if not _reducer(r):
            continue
        x = r.inputs[0]
        p = x.producer
        if p is None or id(p) in gone or x.id in out_ids or held.get(x.id) or readers.get(x.id) != [r]:
            continue
        got = _producer_spec(p, member_attrs)
        if got is None:
            continue
        spec, ins = got
        attrs = {"reducer": json.dumps([r.op, member_attrs(r)]), "members": encode_members(spec)}
        try:  # anything the checks missed keeps the graph as it was
            opdef = registry.get(OP)
            parsed = opdef.parse_attrs(attrs)
            types = opdef.infer_types([v.type for v in ins], parsed)
            opdef.lower([v.type for v in ins], types, parsed)
        except (ValueError, TypeError, NotImplementedError):
            continue
        plans[id(r)] = (attrs, ins)
        gone.add(id(p))
    if not plans:
        return graph
    vmap = {}

    def look(v):
        return vmap.get(v.id, v)

    new_nodes = []
    for n in nodes:
        if id(n) in gone:
            continue
        if id(n) in plans:
            attrs, ins = plans[id(n)]
            node = Node(OP, attrs, [look(v) for v in ins], [n.outputs[0].type], name=n.name)
        else:
            node = Node(n.op, n.attrs, [look(v) for v in n.inputs], [o.type for o in n.outputs], name=n.name)
        for old, o in zip(n.outputs, node.outputs):
            o.name = old.name
            vmap[old.id] = o
        new_nodes.append(node)
    return Graph(graph.inputs, [look(v) for v in graph.outputs], new_nodes).keep_annotations(graph)
