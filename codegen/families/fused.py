"""Fused elementwise family: several elementwise snippets in one loop (ir/ops/fused.py builds
the parameters from the member ops). It renders the elementwise template with local
temporaries and several outputs, so broadcasting, strides and vectorized inner loops are the
elementwise family's own."""
from __future__ import annotations

import math

from ...ir.types import DTYPES
from ..program import Buf, Launch, Meta
from ..strides import broadcast_strides, collapse, contiguous_strides
from ..templates import render as render_template


def render(kname, params, target):
    ins = [{"ctype": DTYPES[d].ctype, "acc": DTYPES[d].acc} for d in params["in_dtypes"]]
    lets = [{"name": f"t{k}", "ctype": DTYPES[d].ctype, "expr": e} for k, (d, e) in enumerate(params["lets"])]
    outs = [{"ctype": lets[m]["ctype"], "expr": f"t{m}"} for m in params["outs"]]
    T = ins[0]["acc"] if ins else DTYPES[params["lets"][params["outs"][0]][0]].acc
    inner = params["inner"]
    combos = [{"strides": inner, "idx": ["j" if st else "0" for st in inner]}] if inner is not None and ins else []
    code = render_template(target, "elementwise.j2", kname=kname, ins=ins, T=T, nscalars=params["nscalars"],
                           combos=combos, names=[f"v{k}" for k in range(len(ins))], lets=lets, outs=outs)
    head = ", ".join("intptr_t out_" if k == 0 else f"intptr_t out{k}_" for k in range(len(outs)))
    tail = "".join(f", intptr_t in{k}_" for k in range(len(ins))) + "".join(
        f", double s{k}" for k in range(params["nscalars"]))
    entries = {
        f"{kname}_flat": f"int {kname}_flat(int64_t n, {head}{tail});",
        f"{kname}_strided": f"int {kname}_strided(int32_t ndim, intptr_t meta_, {head}{tail});",
    }
    return code, entries


def plan(kname, params, args):
    """Flat when every input has the output's shape; strided (broadcast reads) otherwise.
    args: in_index (node input per kernel input), in_shapes, out_shape, scalars. Outputs are
    contiguous and share the output's shape."""
    out_shape = tuple(args["out_shape"])
    n = math.prod(out_shape)
    if n == 0:
        return []
    outs = tuple(Buf("out", k) for k in range(len(params["outs"])))
    ins = tuple(Buf("in", i) for i in args["in_index"])
    scalars = tuple(args["scalars"])
    if all(tuple(s) == out_shape for s in args["in_shapes"]):
        return [Launch(f"{kname}_flat", (n, *outs, *ins, *scalars))]
    strides = [contiguous_strides(out_shape)] + [broadcast_strides(tuple(s), out_shape) for s in args["in_shapes"]]
    shape, strides = collapse(out_shape, strides)
    if not shape:
        shape, strides = (1,), [(1,)] * len(strides)
    meta = Meta.of([*shape, *(s for st in strides for s in st)])
    return [Launch(f"{kname}_strided", (len(shape), meta, *outs, *ins, *scalars))]
