"""Elementwise family: unary/binary/ternary expressions, scalars, broadcasting, views."""
from __future__ import annotations

import itertools
import math

from ...ir.types import DTYPES
from ..program import Buf, Launch, Meta
from ..strides import broadcast_strides, collapse, contiguous_strides
from ..templates import render as render_template


def render(kname, params, target):
    ins = [{"ctype": DTYPES[d].ctype, "acc": DTYPES[d].acc} for d in params["in_dtypes"]]
    out = {"ctype": DTYPES[params["out_dtype"]].ctype, "acc": DTYPES[params["out_dtype"]].acc}
    T = ins[0]["acc"] if ins else out["acc"]
    # inner-loop variants: every input contiguous or broadcast along the inner axis (2^n, n <= 3)
    combos = [{"strides": c, "idx": ["j" if st else "0" for st in c]}
              for c in itertools.product((1, 0), repeat=len(ins))] if len(ins) <= 3 else []
    code = render_template(target, "elementwise.j2", kname=kname, ins=ins, out=out, T=T,
                           expr=params["expr"], nscalars=params["nscalars"], combos=combos)
    tail = "".join(f", intptr_t in{k}_" for k in range(len(ins))) + "".join(
        f", double s{k}" for k in range(params["nscalars"]))
    entries = {
        f"{kname}_flat": f"int {kname}_flat(int64_t n, intptr_t out_{tail});",
        f"{kname}_strided": f"int {kname}_strided(int32_t ndim, intptr_t meta_, intptr_t out_{tail});",
    }
    return code, entries


def plan(kname, params, args):
    """Flat when every operand is contiguous and of the output's shape; strided otherwise.

    args: out_shape, in_shapes, scalars; optional in_strides / in_offsets (element units,
    per input, None = contiguous broadcast), out_strides / out_offset (writing into a view).
    """
    out_shape = tuple(args["out_shape"])
    n = math.prod(out_shape)
    if n == 0:
        return []
    nin = len(params["in_dtypes"])
    in_shapes = args["in_shapes"]
    in_strides = args.get("in_strides") or (None,) * nin
    in_offsets = args.get("in_offsets") or (0,) * nin
    out_strides = args.get("out_strides")
    out_offset = args.get("out_offset", 0)
    scalars = tuple(args.get("scalars", ()))
    osize = DTYPES[params["out_dtype"]].itemsize
    isizes = [DTYPES[d].itemsize for d in params["in_dtypes"]]
    ins = tuple(Buf("in", k, in_offsets[k] * isizes[k]) for k in range(nin))
    out = Buf("out", 0, out_offset * osize)
    if out_strides is None and all(st is None and off == 0 and tuple(s) == out_shape
                                   for st, off, s in zip(in_strides, in_offsets, in_shapes)):
        return [Launch(f"{kname}_flat", (n, out, *ins, *scalars))]
    strides = [tuple(out_strides) if out_strides is not None else contiguous_strides(out_shape)]
    for k in range(nin):
        strides.append(tuple(in_strides[k]) if in_strides[k] is not None
                       else broadcast_strides(in_shapes[k], out_shape))
    shape, strides = collapse(out_shape, strides)
    if not shape:
        shape, strides = (1,), [(1,)] * len(strides)
    meta = Meta.of([*shape, *(s for st in strides for s in st)])
    return [Launch(f"{kname}_strided", (len(shape), meta, out, *ins, *scalars))]
