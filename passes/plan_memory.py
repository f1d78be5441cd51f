"""Static memory planning: liveness, in-place reuse, buffer sharing, one arena with offsets.

After NNVM's PlanMemory (REFERENCE.md section 2), but as a static packing: each
intermediate (a node output that is not a graph output; graph inputs and outputs live in
caller buffers) is live from the node that writes it to the last node that reads it. An
output may take over the storage of an input that dies at its node when the kernel reads
every element before writing the same element (plain and fused elementwise kernels, and a
2x2 / stride 2 pooling backward over the pooled input, see `_inplace`).
Buffers whose lifetimes do not overlap share bytes: they are packed largest first at the
lowest offset free of every buffer alive at the same time ("greedy by size").

Two-stage programs: `graph.late_inputs` (set by the executor, kept by the pipeline) names
the inputs that arrive late (head gradients); nodes depending on them run in the
`backward` entry, the rest in `forward`. The plan orders the nodes forward-first (a valid
topological order: forward nodes never read backward values) and keeps every forward
value that a backward node reads alive to the end, so backward may run more than once
after one forward. codegen.emit uses the plan only if its order and stages match.

The result is the same graph annotated with `graph.memory_plan`, a dict:
offsets {value id: byte offset}, planned_bytes, naive_bytes, unplanned_bytes, inplace (how
many outputs reuse an input's storage), aliased (copies sharing their input's bytes), order
(node identities), late (late input ids).
naive_bytes is the arena with every pass off: each intermediate of the graph as it entered
the pipeline (pipeline.py records it after infer_types as `graph.naive_bytes`) in its own
64-byte aligned slot, as emit lays it out without a plan; so values that fusion keeps in
registers count as saved, like values that share bytes. unplanned_bytes is the same count
over the graph plan_memory sees (after simplify and fuse).
"""
from __future__ import annotations

from ..ir import Graph, registry
from ..ir.types import DTYPES

ALIGN = 64


def _aligned(n: int) -> int:
    return -(-n // ALIGN) * ALIGN


def stage_order(nodes, late_ids):
    """Forward nodes first, then those depending on a late input (stable); and the late value ids."""
    late = set(late_ids)
    for node in nodes:
        if any(v.id in late for v in node.inputs):
            late.update(o.id for o in node.outputs)
    fwd = [n for n in nodes if not any(o.id in late for o in n.outputs)]
    bwd = [n for n in nodes if any(o.id in late for o in n.outputs)]
    return fwd + bwd, late


def _inplace(node) -> list[tuple[int, int]]:
    """(output, input) pairs whose storage the kernel may share: a plain elementwise kernel reads
    input k at the index it writes, so it can overwrite a dying input of the same byte size.
    Views (explicit strides or offsets), broadcasts and size-changing casts are excluded."""
    opdef = registry.get(node.op)
    if opdef.lower is None or opdef.updates:
        return []
    try:
        low = opdef.lower([v.type for v in node.inputs], [v.type for v in node.outputs],
                          opdef.parse_attrs(node.attrs))
    except Exception:  # a lowering that cannot be built here will fail loudly in codegen
        return []
    if low.family == "fused":
        return _inplace_fused(node, low.args)
    if low.family == "pool":
        return _inplace_pool_backward(node, low)
    tail = low.params.get("tail") if low.family == "conv" else None
    if tail and tail.get("mode") == "bwd":  # a Deconvolution whose kernel runs a pool's backward per unit
        xi = low.args["tail"]["ins"][0]
        return _inplace_pool_backward(node, low, tail=(tail, low.args["tail"]["geom"], xi))
    if low.family != "elementwise" or len(node.outputs) != 1:
        return []
    a = low.args
    if a.get("out_strides") is not None or a.get("out_offset", 0):
        return []
    out = node.outputs[0]
    nin = len(node.inputs)
    strides = a.get("in_strides") or (None,) * nin
    offsets = a.get("in_offsets") or (0,) * nin
    shapes = a.get("in_shapes", ())
    if len(shapes) != nin:
        return []
    plain = [strides[k] is None and not offsets[k] and tuple(shapes[k]) == tuple(a["out_shape"])
             for k in range(nin)]
    pairs = []
    for k, v in enumerate(node.inputs):
        same = [j for j, w in enumerate(node.inputs) if w.id == v.id]
        if all(plain[j] for j in same) and _same_bytes(v, out):
            pairs.append((0, k))
    return pairs


def _alias_copy(node) -> bool:
    """Whether the node's kernel is a plain elementwise copy of input 0, element by element into
    the same dtype and size (Flatten and Reshape lower so: their shapes differ, not their bytes)."""
    opdef = registry.get(node.op)
    if opdef.lower is None or opdef.updates or len(node.outputs) != 1:
        return False
    try:
        low = opdef.lower([v.type for v in node.inputs], [v.type for v in node.outputs],
                          opdef.parse_attrs(node.attrs))
    except Exception:  # a lowering that cannot be built here will fail loudly in codegen
        return False
    if low.family != "elementwise" or not node.inputs or not set(low.args) <= {"scalars", "in_shapes", "out_shape"}:
        return False
    x, y = node.inputs[0].type, node.outputs[0].type
    return (low.params.get("expr") == "a" and x.dtype == y.dtype and x.nbytes == y.nbytes
            and tuple(low.args["in_shapes"][0]) == tuple(low.args["out_shape"]))


def _same_bytes(v, out) -> bool:
    return v.type.nbytes == out.type.nbytes and DTYPES[v.type.dtype].itemsize == DTYPES[out.type.dtype].itemsize


def _inplace_pool_backward(node, low, tail=None) -> list[tuple[int, int]]:
    """A pooling backward with 2x2 windows at stride 2 (LeNet's, ResNet stems') may write the
    input gradient over the forward input x (input 1): the pool family's tiled backward
    (codegen/templates/c/pool.j2, taken whenever stride == kernel and the window is 2x2) handles
    one window at a time, reading its x elements before it writes the same elements of dx, and
    the windows do not overlap. Other schedules zero dx first, so they get no pair."""
    p, geom, xi = (low.params, tuple(low.args.get("geom", ())), 1) if tail is None else tail
    geom = tuple(geom)
    if p.get("mode") != "bwd" or p.get("pool_type") not in ("max", "avg", "sum") or len(geom) != 16:
        return []
    if geom[7:10] != (1, 2, 2) or geom[10:13] != (1, 2, 2) or len(node.inputs) <= xi:
        return []
    return [(0, xi)] if _same_bytes(node.inputs[xi], node.outputs[0]) else []


def _inplace_fused(node, args) -> list[tuple[int, int]]:
    """A fused elementwise kernel (codegen/families/fused.py) loads every input at index i before
    it writes any output at i; its outputs are contiguous and of one shape. Any output may take
    a node input that every kernel input reading it reads unbroadcast."""
    out_shape = tuple(args["out_shape"])
    plain: dict[int, bool] = {}  # value id -> read at the output's index everywhere
    for k, shape in zip(args["in_index"], args["in_shapes"]):
        vid = node.inputs[k].id
        plain[vid] = plain.get(vid, True) and tuple(shape) == out_shape
    return [(m, k) for m, out in enumerate(node.outputs) for k, v in enumerate(node.inputs)
            if plain.get(v.id, False) and _same_bytes(v, out)]


def naive_bytes(graph: Graph) -> int | None:
    """Every intermediate (node outputs that are not graph inputs or outputs) its own aligned slot;
    None while some type is unknown."""
    io = {v.id for v in graph.inputs} | {v.id for v in graph.outputs}
    seen, total = set(), 0
    for node in graph.nodes:
        for v in node.outputs:
            if not v.type.known:
                return None
            if v.id not in io and v.id not in seen:
                seen.add(v.id)
                total += _aligned(v.type.nbytes)
    return total


def make_plan(graph: Graph, late_ids=()) -> dict | None:
    """The plan for `graph` (None when some type is unknown)."""
    order, late = stage_order(graph.nodes, late_ids)
    io = {v.id for v in graph.inputs} | {v.id for v in graph.outputs}
    pos = {}
    values = {}
    for i, node in enumerate(order):
        for v in node.outputs:
            if not v.type.known:
                return None
            if v.id not in io:
                values[v.id] = v
                pos[v.id] = i
    end = dict(pos)  # a value nobody reads still needs its slot while its node runs
    for i, node in enumerate(order):
        backward = any(o.id in late for o in node.outputs)
        for v in node.inputs:
            if v.id in values:
                pinned = backward and v.id not in late
                end[v.id] = len(order) if pinned else max(end[v.id], i)
    # buffers: chains of values sharing storage through in-place reuse
    buf_of, bufs = {}, []  # bufs[b] = [first node, last node, bytes]
    inplace = aliased = 0
    for i, node in enumerate(order):
        outs = [v for v in node.outputs if v.id in values]
        if not outs:
            continue
        if _alias_copy(node) and node.inputs[0].id in values and outs == [node.outputs[0]]:
            # a copy (Flatten, Reshape, same-dtype Cast...) equals its input bit for bit: it
            # shares the input's bytes for as long as either is read (the kernel then copies
            # each element onto itself, which the elementwise kernels allow, as in-place does)
            b = buf_of[node.inputs[0].id]
            buf_of[outs[0].id] = b
            bufs[b][1] = max(bufs[b][1], end[outs[0].id])
            aliased += 1
            continue
        taken = set()
        dying = [v for v in node.inputs if v.id in values and end[v.id] == i]
        pairs = _inplace(node) if dying else []
        for o, k in pairs:
            v, out = node.inputs[k], node.outputs[o]
            if v.id not in values or out.id not in values or out.id in buf_of or end[v.id] != i:
                continue
            b = buf_of[v.id]
            if b in taken or bufs[b][1] != i:
                continue
            taken.add(b)
            buf_of[out.id] = b
            bufs[b][1] = end[out.id]
            bufs[b][2] = max(bufs[b][2], _aligned(out.type.nbytes))
            inplace += 1
        for v in outs:
            if v.id not in buf_of:
                buf_of[v.id] = len(bufs)
                bufs.append([i, end[v.id], _aligned(v.type.nbytes)])
    offsets_b = _pack(bufs)
    planned = max((offsets_b[b] + s for b, (_, _, s) in enumerate(bufs)), default=0)
    unplanned = sum(_aligned(v.type.nbytes) for v in values.values())
    naive = max(getattr(graph, "naive_bytes", None) or 0, unplanned)
    return {"offsets": {vid: offsets_b[b] for vid, b in buf_of.items()},
            "planned_bytes": planned, "naive_bytes": naive, "unplanned_bytes": unplanned, "inplace": inplace,
            "aliased": aliased,
            "buffers": len(bufs), "values": len(values),
            "order": tuple(id(n) for n in order), "late": frozenset(v for v in late_ids)}


def _pack(bufs) -> list[int]:
    """Offsets for [start, end, size] buffers: largest first, each at the lowest offset that
    overlaps no already placed buffer with an overlapping lifetime."""
    offsets = [0] * len(bufs)
    placed = []
    for b in sorted(range(len(bufs)), key=lambda b: (-bufs[b][2], bufs[b][0], b)):
        s, e, size = bufs[b]
        busy = sorted((offsets[p], offsets[p] + bufs[p][2]) for p in placed
                      if bufs[p][0] <= e and s <= bufs[p][1])
        off = 0
        for lo, hi in busy:
            if off + size <= lo:
                break
            off = max(off, hi)
        offsets[b] = off
        placed.append(b)
    return offsets


def plan_memory(graph: Graph) -> Graph:
    """The graph with its nodes in stage order and `memory_plan` set (unchanged if types are unknown)."""
    late_inputs = list(getattr(graph, "late_inputs", ()) or ())
    plan = make_plan(graph, [v.id for v in late_inputs])
    if plan is None:
        return graph
    by_id = {id(n): n for n in graph.nodes}
    out = Graph(graph.inputs, graph.outputs, [by_id[k] for k in plan["order"]])
    out.late_inputs = late_inputs
    out.memory_plan = plan
    return out
