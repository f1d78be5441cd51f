"""fuse: groups of elementwise ops (chains and DAGs, forward and backward alike) become one
`_fused_elementwise` node, so one loop reads the group's inputs once and writes only the
values that leave the group.

A node can join a group when it lowers to a plain elementwise kernel (ir/ops/fused.py:
fusible_lowering) with the group's output shape. Groups never form a cycle with the rest of
the graph, and a group never delays a value another node needs: every member whose result
is used outside the group (or is a graph output) becomes an output of the fused node.

Executors split one graph into a forward and a backward entry by which nodes depend on the
late inputs (head gradients). A fused node runs in the later stage if any member does, so a
member whose result is used outside the group must depend on the late inputs whenever the
group does. The pass takes the late inputs from `graph.late_inputs` when the caller set it,
and otherwise assumes any graph input may be late (safe: it then only groups a member used
outside with members that depend on no more graph inputs than it does).
"""
from __future__ import annotations

import os

from ..ir import Graph, Node, registry
from ..ir.attrs import Attr
from ..ir.ops.fused import OP, encode_members, fusible_lowering, reads, type_ref
from .fuse_epilogue import fuse_epilogues
from .fuse_reduce import fuse_reductions


def _fusible(node: Node):
    """(output shape, which inputs its kernel reads) if the node can be a member of a fused
    group, else None."""
    if node.op == OP or len(node.outputs) != 1:
        return None
    if not all(v.type.known for v in node.inputs) or not node.outputs[0].type.known:
        return None
    opdef = registry.get(node.op)
    if opdef.updates or opdef.lower is None:
        return None
    try:
        attrs = opdef.parse_attrs(node.attrs)
        low = opdef.lower([v.type for v in node.inputs], [node.outputs[0].type], attrs)
    except (ValueError, TypeError, NotImplementedError):
        return None
    if not fusible_lowering(low, [v.type for v in node.inputs], node.outputs[0].type):
        return None
    shape = tuple(node.outputs[0].type.shape)
    if not all(shape):
        return None  # nothing to gain on empty tensors
    rd = reads(low)
    return shape, rd + (False,) * (len(node.inputs) - len(rd))


def _bits(mask: int):
    while mask:
        low = mask & -mask
        yield low.bit_length() - 1
        mask ^= low


def _member_attrs(node: Node) -> dict:
    """The node's attributes, parsed, without defaults (JSON-friendly and short to print)."""
    opdef = registry.get(node.op)
    parsed = opdef.parse_attrs(node.attrs)
    out = {}
    for k, v in parsed.items():
        a: Attr = opdef.attrs[k]
        if not a.required and v == a.default:
            continue
        out[k] = list(v) if isinstance(v, tuple) else v
    return out


def fuse(graph: Graph) -> Graph:
    """Elementwise groups, then GEMM / convolution epilogues (passes/fuse_epilogue.py), then
    reductions with their elementwise producers (passes/fuse_reduce.py); $MXCC_DISABLE_PASSES=
    fuse_epilogue or fuse_reduce switches one of the later two off, =fuse all three."""
    graph = _fuse_elementwise(graph)
    off = {p.strip() for p in os.environ.get("MXCC_DISABLE_PASSES", "").split(",")}
    if "fuse_epilogue" not in off:
        graph = fuse_epilogues(graph, _member_attrs)
    if "fuse_reduce" not in off:
        graph = fuse_reductions(graph, _member_attrs)
    return graph


def _fuse_elementwise(graph: Graph) -> Graph:
    nodes = graph.nodes
    if len(nodes) < 2:
        return graph
    info = [_fusible(n) for n in nodes]
    shapes = [x and x[0] for x in info]
    if sum(s is not None for s in shapes) < 2:
        return graph

    index = {id(n): i for i, n in enumerate(nodes)}
    late = getattr(graph, "late_inputs", None)
    input_bit: dict[int, int] = {}
    for v in graph.inputs:
        input_bit.setdefault(v.id, len(input_bit))
    late_mask = None if late is None else sum(1 << input_bit[v.id] for v in late if v.id in input_bit)
    out_ids = {v.id for v in graph.outputs}
    users: dict[int, list[int]] = {}
    for i, n in enumerate(nodes):
        for v in n.inputs:
            users.setdefault(v.id, []).append(i)

    dep = [0] * len(nodes)  # bitmask of graph inputs a node depends on
    cons: list[list[int]] = [[] for _ in nodes]  # consumer nodes of each node
    for i, n in enumerate(nodes):
        for v in n.inputs:
            p = index.get(id(v.producer)) if v.producer is not None else None
            if p is not None:
                dep[i] |= dep[p]
                cons[p].append(i)
            else:
                dep[i] |= 1 << input_bit.setdefault(v.id, len(input_bit))

    group = list(range(len(nodes)))  # group id per node (a group id is one of its members)
    members: dict[int, list[int]] = {}

    def external(m: int, inside: int) -> bool:
        v = nodes[m].outputs[0]
        return v.id in out_ids or any(not (inside >> u) & 1 for u in users.get(v.id, ()))

    def cyclic(ms: list[int]) -> bool:
        """Whether a path leaves the merged group and comes back, counting each existing group
        as the one node it becomes (all its inputs are read before any output is written)."""
        inside, hi = set(ms), max(ms)
        stack = [u for m in ms for u in cons[m] if u not in inside and u <= hi]
        seen = set()
        while stack:
            x = stack.pop()
            if x in seen:
                continue
            for y in members.get(group[x], [x]):
                seen.add(y)
                for u in cons[y]:
                    if u in inside:
                        return True
                    if u <= hi and u not in seen:  # later nodes are still alone: no way back
                        stack.append(u)
        return False

    def legal(ms: list[int]) -> bool:
        inside = sum(1 << m for m in ms)
        if cyclic(ms):
            return False
        need = 0
        for m in ms:
            need |= dep[m]
        if late_mask is not None:
            if need & late_mask:
                return all(dep[m] & late_mask or not external(m, inside) for m in ms)
            return True
        return all(need & ~dep[m] == 0 or not external(m, inside) for m in ms)

    for i, n in enumerate(nodes):
        if shapes[i] is None:
            continue
        mine = [i]
        seen = set()
        for v in n.inputs:
            p = index.get(id(v.producer)) if v.producer is not None else None
            if p is None or shapes[p] != shapes[i] or group[p] in seen:
                continue
            g = group[p]
            seen.add(g)
            trial = sorted(mine + members.get(g, [g]))
            if legal(trial):
                mine = trial
        gid = mine[0]
        for m in mine:
            members.pop(group[m], None)
            group[m] = gid
        members[gid] = mine

    fused = {g: ms for g, ms in members.items() if len(ms) > 1}
    if not fused:
        return graph
    return _rebuild(graph, nodes, group, fused, out_ids, users, [x and x[1] for x in info])


def _rebuild(graph, nodes, group, fused, out_ids, users, rd) -> Graph:
    """A new graph: each fused group one node, every other node copied; graph inputs keep
    their identity (callers refer to them), other values are new.

    A member input that the member's kernel never reads (backward ops take the forward
    `data` and `output` whether their derivative needs them or not) is given by its type
    only, so the group producing it need not write it out."""
    last = {g: ms[-1] for g, ms in fused.items()}
    items = []  # ("n", node index) | ("g", group id), in the original order
    for i in range(len(nodes)):
        g = group[i]
        if g not in fused:
            items.append(("n", i))
        elif last[g] == i:
            items.append(("g", g))
    item_of = {}
    for it in items:
        for m in (fused[it[1]] if it[0] == "g" else [it[1]]):
            for v in nodes[m].outputs:
                item_of[v.id] = it

    def item_inputs(it):
        ms = fused[it[1]] if it[0] == "g" else [it[1]]
        return [v for m in ms for v in nodes[m].inputs]

    # a stable topological order: a consumer placed before its group's last member pulls
    # the fused node ahead of it
    order, state = [], {}
    for root in items:
        stack = [(root, False)]
        while stack:
            it, expanded = stack.pop()
            if expanded:
                state[it] = 2
                order.append(it)
                continue
            if state.get(it):
                continue
            state[it] = 1
            stack.append((it, True))
            for v in reversed(item_inputs(it)):
                dep = item_of.get(v.id)
                if dep is not None and dep != it and not state.get(dep):
                    stack.append((dep, False))

    def needs(u, v) -> bool:
        """Whether node u (outside the group making v) needs v in memory."""
        if group[u] not in fused:
            return True
        return any(w.id == v.id and rd[u][j] for j, w in enumerate(nodes[u].inputs))

    vmap = {}

    def look(v):
        return vmap.get(v.id, v)

    new_nodes = []
    for kind, k in order:
        if kind == "n":
            old = nodes[k]
            node = Node(old.op, old.attrs, [look(v) for v in old.inputs], [v.type for v in old.outputs], name=old.name)
            for a, b in zip(old.outputs, node.outputs):
                b.name = a.name
                vmap[a.id] = b
            new_nodes.append(node)
            continue
        ms = fused[k]
        local = {nodes[m].outputs[0].id: j for j, m in enumerate(ms)}
        ext, ext_pos, spec = [], {}, []
        for m in ms:
            refs = []
            for j, v in enumerate(nodes[m].inputs):
                if v.id in local:
                    refs.append(f"t{local[v.id]}")
                elif not rd[m][j]:
                    refs.append(type_ref(v.type))
                else:
                    if v.id not in ext_pos:
                        ext_pos[v.id] = len(ext)
                        ext.append(v)
                    refs.append(f"i{ext_pos[v.id]}")
            spec.append((nodes[m].op, _member_attrs(nodes[m]), refs))
        outs = [j for j, m in enumerate(ms) if nodes[m].outputs[0].id in out_ids
                or any(needs(u, nodes[m].outputs[0]) for u in users.get(nodes[m].outputs[0].id, ()) if group[u] != k)]
        outs = outs or [len(ms) - 1]  # a dead group still yields its last value
        attrs = {"members": encode_members(spec), "outputs": tuple(outs)}
        name = next((nodes[m].name for m in reversed(ms) if nodes[m].name), None)
        node = Node(OP, attrs, [look(v) for v in ext], [nodes[ms[j]].outputs[0].type for j in outs],
                    name=name and f"fused_{name}")
        for j, o in zip(outs, node.outputs):
            old = nodes[ms[j]].outputs[0]
            o.name = old.name
            vmap[old.id] = o
        new_nodes.append(node)
    return Graph(graph.inputs, [look(v) for v in graph.outputs], new_nodes).keep_annotations(graph)
