"""_fused_epilogue: a GEMM or convolution (the anchor) whose kernel applies the elementwise ops
that follow it to each block of its output while the block is still in cache (built by
passes/fuse.py): FullyConnected / dot / batch_dot / Convolution + bias, activation, scale,
residual add, or a backward op such as relu's gradient.

Attributes: `anchor` is JSON `[op, attrs]`, the anchor's node inputs are the first ones;
`members` and `outputs` are those of `_fused_elementwise` (ir/ops/fused.py) with one more
ref, `"a"`, the anchor's result. The anchor writes into output 0's storage and the epilogue
reads it back at the same index, so output 0 has the anchor's dtype.

The kernel is the anchor family's own (codegen/families/gemm.py, conv.py) with the members'
expression snippets pasted in, never written per combination: the anchor lowering gains
`params["epi"]` (the let lines and how each extra input is indexed) and `args["epi"]`.
An extra input is read at the output's index ("e": same shape), per row of the anchor's
output ("r": a conv channel or a GEMM row), per column ("c": a GEMM column or a conv pixel),
per row and column ("rc": broadcast over the batch) or once ("one"); anything else is not
fused.

A Convolution anchor may also take a Pooling of its result (or of a member's) as a `tail`:
the kernel computes one image's planes, applies the members, and runs the pool family's own
forward kernel over them while they are in cache. Node output 0 is then the pooled result
and `outputs` (possibly empty) lists the full-resolution values still needed elsewhere (the
pool's backward in training); when none is, the planes live in a per-thread buffer and the
full-resolution tensor never exists (LeNet inference: conv1's 2.9 MB output at batch 64).
"""
from __future__ import annotations

import json
import math
import re

from ..attrs import Attr
from ..registry import Lowering, OpDef, get, register
from ..types import DTYPES
from .fused import _lets, _members, fusible_lowering, reads

OP = "_fused_epilogue"
ANCHORS = ("Convolution", "FullyConnected", "dot", "batch_dot", "Deconvolution")
BWD_TAIL = "_backward_Pooling"
_KINDS = {frozenset(): "one", frozenset("r"): "r", frozenset("c"): "c", frozenset("rc"): "rc",
          frozenset("orc"): "e"}


def encode_anchor(op: str, attrs: dict) -> str:
    return json.dumps([op, dict(attrs)])


def decode_anchor(text: str):
    try:
        raw = json.loads(text)
    except ValueError as e:
        raise ValueError(f"{OP}: attribute 'anchor' is not valid JSON: {e}") from None
    if not (isinstance(raw, list) and len(raw) == 2 and raw[0] in ANCHORS and isinstance(raw[1], dict)):
        raise ValueError(f"{OP}: attribute 'anchor' must be [op, attrs] with op one of {ANCHORS}, got {raw!r}")
    return raw[0], raw[1]


def _view(family: str, args: dict, out_shape) -> list | None:
    """Which axis of the kernel's (outer, rows, columns) view of its output each output dim
    belongs to ('o', 'r', 'c'), or None if the dims do not split that way."""
    if family == "conv":
        return ["o", "r"] + ["c"] * (len(out_shape) - 2) if len(out_shape) >= 2 else None
    sizes = (math.prod(args.get("batch_shape", ())), int(args["M"]), int(args["N"]))
    view, d = [], 0
    for axis, size in zip("orc", sizes):
        acc = 1
        while d < len(out_shape) and acc * out_shape[d] <= size and (acc < size or out_shape[d] == 1):
            acc *= out_shape[d]
            view.append(axis)
            d += 1
        if acc != size:
            return None
    return view if d == len(out_shape) else None


def input_kind(shape, out_shape, view) -> str | None:
    """How the epilogue reads an extra input of `shape` (see the module doc), or None."""
    shape = tuple(shape)
    if len(shape) > len(out_shape):
        return None
    padded = (1,) * (len(out_shape) - len(shape)) + shape
    if math.prod(padded) == math.prod(out_shape) and padded == tuple(out_shape):
        return "e"
    present = set()
    for axis in "orc":
        dims = [d for d, a in enumerate(view) if a == axis and out_shape[d] != 1]
        if not dims:
            continue
        if all(padded[d] == out_shape[d] for d in dims):
            present.add(axis)
        elif any(padded[d] != 1 for d in dims):
            return None
    return _KINDS.get(frozenset(present))


def anchor_lowering(op, in_types, out_type, parsed):
    """(family, params, args, pre) for an anchor the epilogue can ride on, else None: `pre` are
    (dtype, expr, input index per snippet variable) lines the anchor's own lowering runs after
    its GEMM (FullyConnected's bias add)."""
    opdef = get(op)
    low = opdef.lower(list(in_types), [out_type], parsed)
    if low.family == "conv" and low.params.get("mode") in ("fwd", "bwd_data"):  # bwd_data: a pool backward tail only
        return "conv", dict(low.params), dict(low.args), ()
    if low.family == "gemm":
        return "gemm", dict(low.params), dict(low.args), ()
    if low.family != "composite":
        return None
    parts, steps = low.params["parts"], low.args["steps"]
    if not steps or parts[steps[0]["part"]][0] != "gemm" or tuple(steps[0].get("outs", (0,))) != (0,):
        return None
    if tuple(steps[0].get("ins", ())) != (("in", 0), ("in", 1)):
        return None
    pre = []
    for st in steps[1:]:
        family, p = parts[st["part"]]
        sub = Lowering(family, dict(p), dict(st["args"]))
        ins = tuple(st.get("ins", ()))
        tin = [out_type if kind == "out" else in_types[j] for kind, j in ins]
        if (family != "elementwise" or tuple(st.get("outs", (0,))) != (0,) or any(k == "out" and j != 0 for k, j in ins)
                or not fusible_lowering(sub, tin, out_type)):
            return None
        pre.append((p["out_dtype"], p["expr"], tuple(None if k == "out" else j for k, j in ins), reads(sub),
                    tuple(p["in_dtypes"]), tuple(float(s) for s in st["args"].get("scalars", ()))))
    gemm = parts[steps[0]["part"]][1]
    return "gemm", dict(gemm), dict(steps[0]["args"]), tuple(pre)


def _split(in_types, attrs):
    op, aattrs = decode_anchor(attrs["anchor"])
    opdef = get(op)
    parsed = opdef.parse_attrs(aattrs)
    n = len(opdef.input_names(parsed))
    if len(in_types) < n:
        raise ValueError(f"{OP}: the anchor {op} takes {n} inputs, the node has {len(in_types)}")
    out = opdef.infer_types(list(in_types[:n]), parsed)
    if len(out) != 1:
        raise ValueError(f"{OP}: the anchor {op} must have one output")
    return op, opdef, parsed, n, out[0]


def _done(in_types, attrs, aout):
    """The members (see ir/ops/fused.py), checked against the anchor's output shape."""
    text = attrs["members"]
    if text.strip() == "[]":
        if not attrs["tail"]:
            raise ValueError(f"{OP}: attribute 'members' is empty and there is no tail")
        done = []
    else:
        done = _members(in_types, {"members": text, "outputs": tuple(attrs["outputs"]) or (0,)}, anchor=aout)
    for k, (opdef, _, _, _, t) in enumerate(done):
        if tuple(t.shape) != tuple(aout.shape):
            raise ValueError(f"{OP}: member {k} ({opdef.name}) has shape {t.shape}, the anchor's output {aout.shape}")
    for o in (*attrs["outputs"], attrs["pooled"]):
        if not -1 <= o < len(done):
            raise ValueError(f"{OP}: output refers to member {o}, but there are {len(done)} members")
    if not attrs["outputs"] and not attrs["tail"]:
        raise ValueError(f"{OP}: at least one member must be an output")
    return done


def _tail(value_type, attrs, in_types=()):
    """(op, parsed attrs, input types, output type) of a tail, else None. A Pooling tail pools the
    value; a _backward_Pooling tail takes it as the out grad, with the pool's forward input and
    output as the node's last two inputs."""
    if not attrs["tail"]:
        return None
    try:
        raw = json.loads(attrs["tail"])
    except ValueError as e:
        raise ValueError(f"{OP}: attribute 'tail' is not valid JSON: {e}") from None
    if not (isinstance(raw, list) and len(raw) == 2 and raw[0] in ("Pooling", BWD_TAIL) and isinstance(raw[1], dict)):
        raise ValueError(f"{OP}: attribute 'tail' must be ['Pooling' or '{BWD_TAIL}', attrs], got {raw!r}")
    pool = get(raw[0])
    parsed = pool.parse_attrs(raw[1])
    ins = [value_type] if raw[0] == "Pooling" else [value_type, *in_types[-2:]]
    if len(ins) != len(pool.input_names(parsed)):
        raise ValueError(f"{OP}: a {BWD_TAIL} tail needs the pool's input and output as the last two inputs")
    return raw[0], parsed, ins, pool.infer_types(ins, parsed)[0]


def _kernel_outs(attrs):
    """The values the kernel writes at the anchor's resolution, in order (member index, -1 = the
    anchor's result), and the node output each goes to (None: a per-thread image buffer the
    tail pools). Without a tail they are the `outputs`; with one, the pooled value comes first
    and node output 0 is the pooled result."""
    outs = tuple(attrs["outputs"])
    if not attrs["tail"]:
        return outs, tuple(range(len(outs)))
    pooled = attrs["pooled"]
    rest = tuple(o for o in outs if o != pooled)
    return (pooled, *rest), (1 + outs.index(pooled) if pooled in outs else None, *(1 + outs.index(o) for o in rest))


def _infer(in_types, attrs):
    _, _, _, _, aout = _split(in_types, attrs)
    done = _done(in_types, attrs, aout)
    vt = lambda m: aout if m == -1 else done[m][4]  # noqa: E731
    outs = [vt(o) for o in attrs["outputs"]]
    tail = _tail(vt(attrs["pooled"]), attrs, in_types)
    first = vt(_kernel_outs(attrs)[0][0])
    if first.dtype != aout.dtype:
        raise ValueError(f"{OP}: the kernel writes the anchor's {aout.dtype} result and the member it becomes "
                         f"({first.dtype}) into one buffer; they must have one dtype")
    return ([tail[3]] if tail else []) + outs


def _lower(in_types, out_types, attrs):
    op, opdef, parsed, n, aout = _split(in_types, attrs)
    low = anchor_lowering(op, in_types[:n], aout, parsed)
    if low is None:
        raise ValueError(f"{OP}: {op} does not lower to a GEMM or forward convolution kernel")
    family, params, args, pre = low
    if family == "conv" and params["mode"] == "bwd_data":
        return _lower_backward_tail(in_types, attrs, aout, params, args)
    shape = tuple(aout.shape)
    view = _view(family, args, shape)
    if view is None:
        raise ValueError(f"{OP}: cannot view {op}'s output {shape} as the kernel's rows and columns")
    used: dict[int, int] = {}  # node input -> epilogue input slot

    def name_of(kind, i):
        if kind == "a":
            return "ta"
        if input_kind(in_types[i].shape, shape, view) is None:
            raise ValueError(f"{OP}: input {i} of shape {in_types[i].shape} is not read per element, row, "
                             f"column or once of the output {shape}")
        return f"v{used.setdefault(i, len(used))}"

    # the anchor's own bias add (FullyConnected), then the members
    lets, scalars, prev = [], [], "ta"
    for dtype, expr, ins, rd, in_dtypes, sc in pre:
        names = {}
        for j, (src, r) in enumerate(zip(ins, rd)):
            if r:
                names["abcd"[j]] = f"(({DTYPES[in_dtypes[j]].acc}){prev if src is None else name_of('i', src)})"
        for q in range(len(sc)):
            names[f"s{q}"] = f"s{len(scalars) + q}"
        scalars.extend(sc)
        names["T"] = DTYPES[in_dtypes[0]].acc
        lets.append((dtype, re.sub(r"\b([a-d]|s\d+|T)\b", lambda m: names.get(m.group(0), m.group(0)), expr)))
        prev = f"t{len(lets) - 1}"
    npre = len(lets)
    done = _done(in_types, attrs, aout)
    mlets, mscalars = _lets(done, shape, lambda kind, i: "tA" if kind == "a" else name_of(kind, i))
    for dtype, expr in mlets:  # renumber after the anchor's own lines
        expr = re.sub(r"\bt(\d+)\b", lambda m: f"t{int(m.group(1)) + npre}", expr)
        expr = re.sub(r"\bs(\d+)\b", lambda m: f"s{int(m.group(1)) + len(scalars)}", expr)
        lets.append((dtype, re.sub(r"\btA\b", prev, expr)))
    scalars.extend(mscalars)
    slots = sorted(used, key=used.get)
    kouts, where = _kernel_outs(attrs)
    vt = lambda m: aout if m == -1 else done[m][4]  # noqa: E731
    # a let index per kernel output; the anchor's own result is the last `pre` line, or `ta`
    ref = lambda m: (npre - 1 if npre else -1) if m == -1 else m + npre  # noqa: E731
    epi = {"S": aout.dtype, "ins": tuple((in_types[i].dtype, input_kind(in_types[i].shape, shape, view))
                                         for i in slots),
           "lets": tuple(lets), "outs": tuple(ref(m) for m in kouts),
           "out_dtypes": tuple(vt(m).dtype for m in kouts), "nscalars": len(scalars)}
    params["epi"] = epi
    args["epi"] = {"in_index": tuple(slots), "scalars": tuple(scalars), "out_index": where}
    tail = _tail(vt(attrs["pooled"]), attrs, in_types)
    if tail is not None:
        if family != "conv" or tail[0] != "Pooling":
            raise ValueError(f"{OP}: a {tail[0]} tail needs a Convolution anchor (a _backward_Pooling one, "
                             f"Deconvolution), not {op}")
        pl = get("Pooling").lower(tail[2], [tail[3]], tail[1])
        if pl.family != "pool" or pl.params.get("mode") != "fwd" or pl.args["geom"][0] != shape[0] * shape[1]:
            raise ValueError(f"{OP}: the Pooling tail does not lower to a forward pool over the output's planes")
        params["tail"] = dict(pl.params)
        args["tail"] = {"geom": tuple(pl.args["geom"])}
    return Lowering(family, params, args)


def _lower_backward_tail(in_types, attrs, aout, params, args):
    """Deconvolution (the conv family's bwd_data) + _backward_Pooling: the kernel hands each unit
    of finished channel planes to the pool family's backward kernel."""
    tail = _tail(aout, attrs, in_types)
    if tail is None or tail[0] != BWD_TAIL or attrs["members"].strip() != "[]" or attrs["outputs"]:
        raise ValueError(f"{OP}: a Deconvolution anchor takes only a {BWD_TAIL} tail, no members or other outputs")
    pl = get(BWD_TAIL).lower(tail[2], [tail[3]], tail[1])
    geom = tuple(pl.args["geom"])
    if (pl.family != "pool" or pl.params.get("mode") != "bwd" or geom[0] != aout.shape[0] * aout.shape[1]
            or math.prod(geom[4:7]) != math.prod(aout.shape[2:])):
        raise ValueError(f"{OP}: the {BWD_TAIL} tail does not run over the Deconvolution's output planes")
    params = dict(params, tail=dict(pl.params))
    args = dict(args, tail={"geom": geom, "ins": (len(in_types) - 2, len(in_types) - 1)})
    return Lowering("conv", params, args)


register(OpDef(OP, ("*data",), _infer, _lower, hidden=True, differentiable=False,
               attrs={"anchor": Attr("str", doc="JSON [op, attrs]: the GEMM or convolution whose output the "
                                                "members work on"),
                      "members": Attr("str", doc="JSON [[op, attrs, refs], ...]: the elementwise ops in order; "
                                                 "the ref 'a' is the anchor's result"),
                      "outputs": Attr("shape", doc="which members' results are the node's outputs (-1: the "
                                                   "anchor's); after the tail's result when there is one"),
                      "tail": Attr("str", "", doc="JSON ['Pooling', attrs]: pools `pooled` per image, in cache"),
                      "pooled": Attr("int", -1, doc="the member whose result the tail pools (-1: the anchor's)")},
               num_outputs=lambda attrs: len(attrs["outputs"]) + bool(attrs["tail"]),
               doc="A GEMM or convolution with elementwise ops applied to its output blocks (built by the fuse pass)."))
