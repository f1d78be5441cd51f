"""_fused_elementwise: one node standing for a DAG of elementwise ops (built by passes/fuse.py).

The node's attributes list its members in order: `members` is JSON text
`[[op, attrs, refs], ...]` where each ref names a fused input (`"i3"`), an earlier
member's result (`"t1"`) or, for an input the member's kernel never reads (a backward op's
unused `data`), just its type (`"float32[8,20]"`); `outputs` says which members' results
leave the node. `print(graph)` therefore shows the fused kernel as one node listing its
members.

The kernel is generated from the members' own lowerings, never written per combination:
each member's elementwise snippet (over a, b, c, scalars s0.. and its compute type T) is
renamed onto the fused kernel's inputs, earlier members' temporaries and the fused scalar
list, and becomes one `const <ctype> t<k> = (<ctype>)(expr);` line of the loop body. A
temporary is stored in the member's output storage type and read back in the consumer's
compute type, exactly as the unfused kernels do through memory, so casts stay exact.
Scalars stay run-time arguments (out of the compile key).
"""
from __future__ import annotations

import json
import re

from ..attrs import Attr
from ..registry import Lowering, OpDef, get, register
from ..types import DTYPES, TensorType
from ._shape import broadcast_strides

OP = "_fused_elementwise"
_PLAIN_ARGS = {"scalars", "in_shapes", "out_shape"}


def _broadcastable(shape, out_shape) -> bool:
    if len(shape) > len(out_shape):
        return False
    tail = out_shape[len(out_shape) - len(shape):]
    return all(d == o or d == 1 for d, o in zip(shape, tail))


def fusible_lowering(low: Lowering, in_types, out_type) -> bool:
    """Whether a node's lowering is a plain elementwise kernel that can join a fused loop:
    broadcasting reads only (no strided views or offsets), no index-dependent expression,
    inputs and output exactly as the node's types say."""
    if low.family != "elementwise" or not set(low.args) <= _PLAIN_ARGS:
        return False
    p, a = low.params, low.args
    k = len(p["in_dtypes"])
    if k > 4 or k > len(in_types) or re.search(r"\bi\b", p["expr"]):
        return False
    if p["nscalars"] != len(a.get("scalars", ())) or p["out_dtype"] != out_type.dtype:
        return False
    out_shape = tuple(a["out_shape"])
    if out_shape != tuple(out_type.shape):
        return False
    for j in range(k):
        shape = tuple(a["in_shapes"][j])
        if p["in_dtypes"][j] != in_types[j].dtype or shape != tuple(in_types[j].shape):
            return False
        if not _broadcastable(shape, out_shape):
            return False
    return True


def encode_members(members) -> str:
    """members: [(op, attrs, refs)] -> the `members` attribute text."""
    return json.dumps([[op, dict(attrs), list(refs)] for op, attrs, refs in members])


def decode_members(text: str):
    try:
        raw = json.loads(text)
    except ValueError as e:
        raise ValueError(f"{OP}: attribute 'members' is not valid JSON: {e}") from None
    if not isinstance(raw, list) or not raw:
        raise ValueError(f"{OP}: attribute 'members' must be a non-empty list of [op, attrs, refs]")
    out = []
    for k, m in enumerate(raw):
        if not (isinstance(m, list) and len(m) == 3 and isinstance(m[0], str) and isinstance(m[1], dict)
                and isinstance(m[2], list)):
            raise ValueError(f"{OP}: member {k} must be [op, attrs, refs], got {m!r}")
        out.append((m[0], m[1], m[2]))
    return out


def reads(low: Lowering) -> tuple:
    """Which of the lowering's inputs its snippet actually reads (a, b, c, d by position)."""
    expr = low.params["expr"]
    return tuple(bool(re.search(rf"\b{'abcd'[j]}\b", expr)) for j in range(len(low.params["in_dtypes"])))


def type_ref(t: TensorType) -> str:
    """A ref standing for an input the member's kernel never reads: only its type matters."""
    return f"{t.dtype}[{','.join(str(d) for d in t.shape)}]"


def _ref(op_ref, k, n_in, n_done, anchor=None):
    """('i', index), ('t', member), ('a', 0) (an epilogue's anchor result) or ('type', TensorType)
    for a ref string, validated."""
    m = re.fullmatch(r"(\w+)\[([\d,]*)\]", str(op_ref))
    if m and m.group(1) in DTYPES:
        return "type", TensorType(tuple(int(d) for d in m.group(2).split(",") if d), m.group(1))
    if anchor is not None and op_ref == "a":
        return "a", 0
    m = re.fullmatch(r"([it])(\d+)", str(op_ref))
    if not m:
        raise ValueError(f"{OP}: member {k} has a bad input reference {op_ref!r} "
                         "(expected 'i<n>', 't<n>' or a type such as 'float32[2,3]')")
    kind, idx = m.group(1), int(m.group(2))
    if (kind == "i" and idx >= n_in) or (kind == "t" and idx >= n_done):
        what = f"{n_in} input(s)" if kind == "i" else f"{n_done} earlier member(s)"
        raise ValueError(f"{OP}: member {k} refers to {op_ref!r}, but there are only {what}")
    return kind, idx


def _members(in_types, attrs, anchor=None):
    """Each member as (opdef, parsed attrs, refs, in_types, out_type); `anchor` is the type of an
    epilogue's anchor result (the ref 'a')."""
    members = decode_members(attrs["members"])
    done = []
    for k, (name, mattrs, refs) in enumerate(members):
        opdef = get(name)
        if opdef.name.startswith("_fused_"):
            raise ValueError(f"{OP}: member {k} is itself a fused node")
        parsed = opdef.parse_attrs(mattrs)
        rs = [_ref(r, k, len(in_types), len(done), anchor) for r in refs]
        tin = [in_types[i] if kind == "i" else done[i][4] if kind == "t" else anchor if kind == "a" else i
               for kind, i in rs]
        types = opdef.infer_types(tin, parsed)
        if len(types) != 1:
            raise ValueError(f"{OP}: member {k} ({name}) has {len(types)} outputs; members must have one")
        done.append((opdef, parsed, rs, tin, types[0]))
    for o in attrs["outputs"]:
        if not 0 <= o < len(done):
            raise ValueError(f"{OP}: output refers to member {o}, but there are {len(done)} members")
    if not attrs["outputs"]:
        raise ValueError(f"{OP}: at least one member must be an output")
    return done


def _infer(in_types, attrs):
    done = _members(in_types, attrs)
    return [done[o][4] for o in attrs["outputs"]]


def _lets(done, shape, name_of):
    """The C let lines of the members (ctype, expr) and their run-time scalars. name_of(kind, i)
    names a member input read inside the loop: ('i', fused input) or ('a', 0), the anchor's
    result of an epilogue; earlier members are the temporaries t<k>."""
    lets, scalars = [], []
    for k, (opdef, parsed, rs, tin, tout) in enumerate(done):
        if tuple(tout.shape) != shape:
            raise ValueError(f"{OP}: member {k} ({opdef.name}) has shape {tout.shape}, the group {shape}")
        low = opdef.lower(tin, [tout], parsed)
        if not fusible_lowering(low, tin, tout):
            raise ValueError(f"{OP}: member {k} ({opdef.name}) does not lower to a plain elementwise kernel")
        p = low.params
        names = {}
        for j, (d, read) in enumerate(zip(p["in_dtypes"], reads(low))):
            kind, i = rs[j]
            if not read:
                continue
            if kind == "type":
                raise ValueError(f"{OP}: member {k} ({opdef.name}) reads input {j}, given only as a type")
            if kind == "t":
                names["abcd"[j]] = f"(({DTYPES[d].acc})t{i})"
            else:
                names["abcd"[j]] = f"(({DTYPES[d].acc}){name_of(kind, i)})"
        for q in range(p["nscalars"]):
            names[f"s{q}"] = f"s{len(scalars) + q}"
        scalars.extend(float(s) for s in low.args.get("scalars", ()))
        names["T"] = DTYPES[p["in_dtypes"][0]].acc if p["in_dtypes"] else DTYPES[p["out_dtype"]].acc
        expr = re.sub(r"\b([a-d]|s\d+|T)\b", lambda m: names.get(m.group(0), m.group(0)), p["expr"])
        lets.append((p["out_dtype"], expr))
    return tuple(lets), tuple(scalars)


def _lower(in_types, out_types, attrs):
    done = _members(in_types, attrs)
    shape = tuple(out_types[0].shape)
    used: dict[int, int] = {}  # fused input index -> kernel input slot
    lets, scalars = _lets(done, shape, lambda kind, i: f"v{used.setdefault(i, len(used))}")
    slots = sorted(used, key=used.get)
    in_shapes = tuple(tuple(in_types[i].shape) for i in slots)
    # inner-loop pattern after the kernel collapses dims: each input's stride along the last
    # non-1 output dim (1 = contiguous, 0 = broadcast); the template vectorizes that case
    last = max((d for d, n in enumerate(shape) if n != 1), default=None)
    inner = tuple(1 if last is None else broadcast_strides(s, shape)[last] for s in in_shapes)
    if any(st not in (0, 1) for st in inner):
        inner = None
    params = {"in_dtypes": tuple(in_types[i].dtype for i in slots), "lets": lets,
              "outs": tuple(attrs["outputs"]), "nscalars": len(scalars), "inner": inner}
    args = {"in_index": tuple(slots), "in_shapes": in_shapes, "out_shape": shape, "scalars": scalars}
    return Lowering("fused", params, args)


register(OpDef(OP, ("*data",), _infer, _lower, hidden=True, differentiable=False,
               attrs={"members": Attr("str", doc="JSON [[op, attrs, refs], ...]: the fused ops in order"),
                      "outputs": Attr("shape", doc="which members' results are the node's outputs")},
               num_outputs=lambda attrs: len(attrs["outputs"]),
               doc="Several elementwise ops in one loop (built by the fuse pass)."))
