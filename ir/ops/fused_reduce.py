"""_fused_reduce: a reduction whose input is computed on the fly by the elementwise ops that
produce it (built by passes/fuse_reduce.py): sum(x * y), sum(square(x - m)), max(abs(x)),
the bias gradient sum of relu's backward... one pass over the inputs instead of writing the
producer's result and reading it back.

Attributes: `reducer` is JSON `[op, attrs]` (a reduce-family op: sum, mean, max, norm,
argmax, ...); `members` lists the elementwise ops as in `_fused_elementwise` (ir/ops/fused.py),
the last member's result is what the reducer folds. Every input is read at the reduced
tensor's index (same shape, no broadcast), so the reduce kernel (codegen/families/reduce.py)
evaluates the members' snippets wherever it would have loaded an element.
"""
from __future__ import annotations

import json

from ..attrs import Attr
from ..registry import Lowering, OpDef, get, register
from .fused import _lets, _members

OP = "_fused_reduce"
_PLAIN = {"in_shape", "axes"}


def decode_reducer(text: str):
    try:
        raw = json.loads(text)
    except ValueError as e:
        raise ValueError(f"{OP}: attribute 'reducer' is not valid JSON: {e}") from None
    if not (isinstance(raw, list) and len(raw) == 2 and isinstance(raw[0], str) and isinstance(raw[1], dict)):
        raise ValueError(f"{OP}: attribute 'reducer' must be [op, attrs], got {raw!r}")
    return raw[0], raw[1]


def reduce_lowering(op, in_type, out_type, parsed):
    """The reducer's reduce-family lowering when it reads its one input plainly, else None."""
    opdef = get(op)
    if len(opdef.input_names(parsed)) != 1:
        return None
    low = opdef.lower([in_type], [out_type], parsed)
    if low.family != "reduce" or not set(low.args) <= _PLAIN or tuple(low.args["in_shape"]) != tuple(in_type.shape):
        return None
    return low


def _parts(in_types, attrs):
    op, rattrs = decode_reducer(attrs["reducer"])
    opdef = get(op)
    parsed = opdef.parse_attrs(rattrs)
    n = len(json.loads(attrs["members"])) if attrs["members"].strip().startswith("[") else 0
    done = _members(in_types, {"members": attrs["members"], "outputs": (max(n - 1, 0),)})
    src = done[-1][4]
    out = opdef.infer_types([src], parsed)
    if len(out) != 1:
        raise ValueError(f"{OP}: the reducer {op} must have one output")
    return op, parsed, done, src, out[0]


def _infer(in_types, attrs):
    return [_parts(in_types, attrs)[4]]


def _lower(in_types, out_types, attrs):
    op, parsed, done, src, out = _parts(in_types, attrs)
    low = reduce_lowering(op, src, out, parsed)
    if low is None:
        raise ValueError(f"{OP}: {op} does not lower to a plain reduce kernel")
    shape = tuple(src.shape)
    used: dict[int, int] = {}

    def name_of(kind, i):
        if tuple(in_types[i].shape) != shape:
            raise ValueError(f"{OP}: input {i} has shape {in_types[i].shape}; a fused reduction reads its inputs "
                             f"at the shape it reduces, {shape}")
        return f"v{used.setdefault(i, len(used))}"

    lets, scalars = _lets(done, shape, name_of)
    slots = sorted(used, key=used.get)
    params = dict(low.params)
    params["pro"] = {"ins": tuple(in_types[i].dtype for i in slots), "lets": lets, "nscalars": len(scalars)}
    args = dict(low.args)
    args["pro"] = {"in_index": tuple(slots), "scalars": scalars}
    return Lowering("reduce", params, args)


register(OpDef(OP, ("*data",), _infer, _lower, hidden=True, differentiable=False,
               attrs={"reducer": Attr("str", doc="JSON [op, attrs]: the reduction"),
                      "members": Attr("str", doc="JSON [[op, attrs, refs], ...]: the elementwise ops computing "
                                                 "its input; the last one's result is reduced")},
               doc="A reduction over elementwise ops evaluated where it loads (built by the fuse pass)."))
