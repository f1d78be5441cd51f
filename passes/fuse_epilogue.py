"""Epilogue fusion (part of the fuse pass, after elementwise grouping): a GEMM or convolution
whose only reader is an elementwise node or group of the same shape becomes one
`_fused_epilogue` node (ir/ops/fused_epilogue.py): FullyConnected + relu, Convolution + scale
+ residual add, dot + relu's gradient... The kernel applies the group to each block of its
output as soon as the block is done, so the anchor's result never makes a round trip through
memory, and it takes no buffer of its own (the anchor writes into the group's first output).

Conditions: the anchor's output is no graph output and has exactly one reading node; that
node reads it at full shape; every other input of the group is read per element, row, column
or once of the anchor's output (input_kind); the group's first output has the anchor's dtype.
The fused node takes the group's place in the order, so every input exists by then; the
anchor's inputs existed before the anchor did. $MXCC_DISABLE_PASSES=fuse_epilogue switches
this rewrite off alone (=fuse, all of fusion).
"""
from __future__ import annotations

from ..ir import Graph, Node, registry
from ..ir.ops.fused import OP as GROUP
from ..ir.ops.fused import decode_members, encode_members, fusible_lowering, reads, type_ref
from ..ir.ops.fused_epilogue import ANCHORS, BWD_TAIL, OP, _view, anchor_lowering, encode_anchor, input_kind


def _anchor(node):
    """(family, view of its output) if `node` can carry an epilogue, else None."""
    if node.op not in ANCHORS or len(node.outputs) != 1:
        return None
    if not all(v.type.known for v in node.inputs) or not node.outputs[0].type.known:
        return None
    opdef = registry.get(node.op)
    try:
        low = anchor_lowering(node.op, [v.type for v in node.inputs], node.outputs[0].type,
                              opdef.parse_attrs(node.attrs))
    except (ValueError, TypeError, NotImplementedError):
        return None
    if low is None:
        return None
    shape = tuple(node.outputs[0].type.shape)
    view = _view(low[0], low[2], shape)
    return None if view is None or not all(shape) else (low[0], view)


def _member_spec(node, anchor_value, member_attrs):
    """[(op, attrs, refs)], the node's extra inputs and its outputs, for a single elementwise
    consumer, or None when it cannot be a member."""
    if len(node.outputs) != 1 or not node.outputs[0].type.known:
        return None
    opdef = registry.get(node.op)
    if opdef.updates or opdef.lower is None or node.op.startswith("_fused_"):
        return None
    try:
        low = opdef.lower([v.type for v in node.inputs], [node.outputs[0].type], opdef.parse_attrs(node.attrs))
    except (ValueError, TypeError, NotImplementedError):
        return None
    if not fusible_lowering(low, [v.type for v in node.inputs], node.outputs[0].type):
        return None
    rd = reads(low) + (False,) * (len(node.inputs) - len(low.params["in_dtypes"]))
    refs, extra = [], []
    for j, v in enumerate(node.inputs):
        if v.id == anchor_value.id:
            if tuple(low.args["in_shapes"][j]) != tuple(node.outputs[0].type.shape):
                return None  # read broadcast: not the element the kernel just wrote
            refs.append("a")
        elif not rd[j]:
            refs.append(type_ref(v.type))
        else:
            refs.append(f"x{len(extra)}")
            extra.append(v)
    return [(node.op, member_attrs(node), refs)], extra, (0,)


def _group_spec(node, anchor_value):
    """The same for a `_fused_elementwise` consumer."""
    members = decode_members(node.attrs["members"])
    low = registry.get(GROUP).lower([v.type for v in node.inputs], [v.type for v in node.outputs],
                                    registry.get(GROUP).parse_attrs(node.attrs))
    shape = tuple(node.outputs[0].type.shape)
    for slot, k in enumerate(low.args["in_index"]):
        if node.inputs[k].id == anchor_value.id and tuple(low.args["in_shapes"][slot]) != shape:
            return None
    extra, pos = [], {}

    def ref(r):
        if not (isinstance(r, str) and r[:1] == "i" and r[1:].isdigit()):
            return r
        v = node.inputs[int(r[1:])]
        if v.id == anchor_value.id:
            return "a"
        if v.id not in pos:
            pos[v.id] = len(extra)
            extra.append(v)
        return f"x{pos[v.id]}"

    spec = [(op, attrs, [ref(r) for r in refs]) for op, attrs, refs in members]
    return spec, extra, tuple(node.attrs["outputs"])


def _unread(node) -> set:
    """Ids of the node's input values its kernel never reads (a backward op's unused `data`)."""
    if node.op == GROUP or not all(v.type.known for v in node.inputs):
        return set()
    opdef = registry.get(node.op)
    if opdef.lower is None or len(node.outputs) != 1 or not node.outputs[0].type.known:
        return set()
    try:
        low = opdef.lower([v.type for v in node.inputs], [node.outputs[0].type], opdef.parse_attrs(node.attrs))
    except (ValueError, TypeError, NotImplementedError):
        return set()
    if not fusible_lowering(low, [v.type for v in node.inputs], node.outputs[0].type):
        return set()
    rd = reads(low) + (False,) * (len(node.inputs) - len(low.params["in_dtypes"]))
    read = {v.id for v, r in zip(node.inputs, rd) if r}
    return {v.id for v in node.inputs if v.id not in read}


class _Plan:
    """One fused node: the anchor, the absorbed nodes, its attrs and extra inputs, and which old
    value each of its outputs stands for."""

    def __init__(self, anchor, absorbed, attrs, extra, values, place):
        self.anchor, self.absorbed, self.attrs, self.extra = anchor, absorbed, attrs, extra
        self.values, self.place = values, place  # old Values (outputs in order); the node it replaces in order


def fuse_epilogues(graph: Graph, member_attrs) -> Graph:
    """Each anchor with its elementwise reader, and for a convolution a Pooling of the result
    (the tail). A node that only names a value the fused node no longer writes (a type-only
    input) gets a fused output of the same type instead; it must come after the fused node."""
    nodes = graph.nodes
    index = {id(n): i for i, n in enumerate(nodes)}
    out_ids = {v.id for v in graph.outputs}
    in_ids = {v.id for v in getattr(graph, "aliased_inputs", None) or ()}
    users: dict[int, list] = {}  # value id -> nodes reading it
    named: dict[int, list] = {}  # value id -> nodes holding it without reading it
    for n in nodes:
        unread = _unread(n)
        for v in n.inputs:
            lst = (named if v.id in unread else users).setdefault(v.id, [])
            if not lst or lst[-1] is not n:
                lst.append(n)
    busy = set()  # nodes already part of a plan
    plans = []
    for a in nodes:
        got = _anchor(a)
        if got is None or id(a) in busy:
            continue
        family, view = got
        plan = _plan(a, family, view, users, named, index, out_ids, in_ids, busy, member_attrs)
        if plan is not None:
            plans.append(plan)
            busy.update(id(n) for n in (plan.anchor, *plan.absorbed))
    if not plans:
        return graph
    at = {id(p.place): p for p in plans}
    gone = {id(n) for p in plans for n in (p.anchor, *p.absorbed) if n is not p.place}
    vmap, stand_in = {}, {}

    def look(x):
        return vmap.get(x.id) or stand_in.get(x.id, x)

    new_nodes = []
    for n in nodes:
        if id(n) in gone:
            continue
        p = at.get(id(n))
        if p is not None:
            node = Node(OP, p.attrs, [look(x) for x in (*p.anchor.inputs, *p.extra)], [v.type for v in p.values],
                        name=f"fused_{p.anchor.name}" if p.anchor.name else n.name)
            for old, o in zip(p.values, node.outputs):
                o.name = old.name
                vmap[old.id] = o
            for m in (p.anchor, *p.absorbed):  # values no longer written: type-only readers get a twin
                for old in m.outputs:
                    if old.id not in vmap:
                        twin = next((o for o in node.outputs if o.type == old.type), None)
                        if twin is not None:
                            stand_in[old.id] = twin
            new_nodes.append(node)
            continue
        node = Node(n.op, n.attrs, [look(x) for x in n.inputs], [o.type for o in n.outputs], name=n.name)
        for old, o in zip(n.outputs, node.outputs):
            o.name = old.name
            vmap[old.id] = o
        new_nodes.append(node)
    return Graph(graph.inputs, [look(v) for v in graph.outputs], new_nodes).keep_annotations(graph)


def _backward_plan(a, users, named, out_ids, busy, member_attrs):
    """Deconvolution (a convolution's data gradient) read only by a pooling backward as its out
    grad: the kernel runs the pool's backward on each unit of finished planes."""
    v = a.outputs[0]
    us = users.get(v.id, [])
    if v.id in out_ids or named.get(v.id) or len(us) != 1 or id(us[0]) in busy:
        return None
    p = us[0]
    if p.op != BWD_TAIL or len(p.inputs) != 3 or p.inputs[0].id != v.id or v.id in (p.inputs[1].id, p.inputs[2].id):
        return None
    extra = [p.inputs[1], p.inputs[2]]
    attrs = {"anchor": encode_anchor(a.op, member_attrs(a)), "members": "[]", "outputs": (),
             "tail": encode_anchor(BWD_TAIL, member_attrs(p)), "pooled": -1}
    return _Plan(a, [p], attrs, extra, [p.outputs[0]], p) if _lowers(a, extra, attrs) else None


def _plan(a, family, view, users, named, index, out_ids, in_ids, busy, member_attrs):
    if a.op == "Deconvolution":
        return _backward_plan(a, users, named, out_ids, busy, member_attrs)
    v = a.outputs[0]
    shape = tuple(v.type.shape)
    us = users.get(v.id, [])
    spec, extra, outs, u = [], [], (), None
    if len(us) == 1 and v.id not in out_ids and id(us[0]) not in busy and us[0].op != "Pooling":
        u = us[0]
        got = None
        if all(o.type.known and tuple(o.type.shape) == shape for o in u.outputs):
            got = _group_spec(u, v) if u.op == GROUP else _member_spec(u, v, member_attrs)
        # the anchor writes a block before the epilogue reads its extras there: an input sharing memory
        # with a graph output (graph.aliased_inputs: grad_req='add' passes one buffer as both) must not
        # be an extra of a group that writes a graph output
        aliased = got is not None and any(o.id in out_ids for o in u.outputs) and any(x.id in in_ids for x in got[1])
        if got is not None and not aliased and all(input_kind(x.type.shape, shape, view) is not None
                                                   for x in got[1]):
            spec, extra, outs = got
        else:
            u = None
    n_in = len(a.inputs)
    spec = [(op, attrs, [f"i{n_in + int(r[1:])}" if isinstance(r, str) and r[:1] == "x" and r[1:].isdigit()
                         else r for r in refs]) for op, attrs, refs in spec]
    base = {"anchor": encode_anchor(a.op, member_attrs(a)), "members": encode_members(spec) if spec else "[]"}
    produced = list(u.outputs) if u is not None else [v]  # values at full resolution, by member index
    member_of = {o.id: (outs[k] if u is not None else -1) for k, o in enumerate(produced)}
    candidates = []
    # the tail: a Pooling of one of them. The fused node takes the place of the group (or the
    # anchor): the pool only reads what the node makes, so its readers come later anyway.
    if family == "conv" and _whole_image_fits(a):
        for o in produced:
            for p in users.get(o.id, []):
                if (p.op == "Pooling" and id(p) not in busy and len(p.outputs) == 1 and p.inputs[0].id == o.id
                        and len(p.inputs) == 1):
                    candidates.append((o, p))
    last = u if u is not None else a
    for o, p in candidates:
        keep = tuple(member_of[x.id] for x in produced
                     if x.id in out_ids or named.get(x.id) or any(w is not p for w in users.get(x.id, [])))
        attrs = dict(base, outputs=keep, tail=encode_anchor("Pooling", member_attrs(p)), pooled=member_of[o.id])
        values = [p.outputs[0]] + [x for x in produced if member_of[x.id] in keep]
        if u is not None and named.get(v.id) and (not any(x.type == v.type for x in values[1:]) or any(
                index[id(w)] <= index[id(last)] for w in named[v.id])):
            continue  # a type-only holder of the anchor's result needs a twin after the fused node
        if _lowers(a, extra, attrs):
            return _Plan(a, [n for n in (u, p) if n is not None], attrs, extra, values, last)
    if u is None:
        return None
    if any(index[id(w)] <= index[id(last)] for w in named.get(v.id, ())):
        return None
    if u.outputs[0].type.dtype != v.type.dtype:
        return None
    attrs = dict(base, outputs=tuple(outs))
    if not _lowers(a, extra, attrs):
        return None
    return _Plan(a, [u], attrs, extra, list(u.outputs), u)


# a pooling tail makes the convolution work on whole images: its per-thread im2col buffer
# (K x pixels) must stay reasonable
WHOLE_IMAGE_BYTES = 8 << 20


def _whole_image_fits(a) -> bool:
    geom = registry.get(a.op).lower([v.type for v in a.inputs], [a.outputs[0].type],
                                    registry.get(a.op).parse_attrs(a.attrs)).args["geom"]
    k = geom[1] // geom[2] * geom[10] * geom[11] * geom[12]
    return k * geom[7] * geom[8] * geom[9] * 8 <= WHOLE_IMAGE_BYTES


def _lowers(a, extra, attrs) -> bool:
    """Whether the fused node infers and lowers: anything the checks missed keeps the graph as it was."""
    try:
        opdef = registry.get(OP)
        ins = [x.type for x in (*a.inputs, *extra)]
        parsed = opdef.parse_attrs(attrs)
        opdef.lower(ins, opdef.infer_types(ins, parsed), parsed)
    except (ValueError, TypeError, NotImplementedError):
        return False
    return True
