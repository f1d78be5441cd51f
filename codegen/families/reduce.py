"""Reduce family: one template for every reduction (sum, max, argmax, norm, ...).

The reducer (accumulator type, init, combine/merge/finalize snippets, index mode) comes
from ir/ops/reduce.py and decides the source; the shape and the reduced axes are run-time
arguments, collapsed here on the host so the kernel sees as few dims as possible.
"""
from __future__ import annotations

import math

from ...ir.errors import ShapeError
from ...ir.types import DTYPES
from ..program import Buf, Launch, Meta
from ..strides import contiguous_strides
from ..templates import render as render_template

MAXD = 32  # MX_RED_MAXD in reduce.j2: odometer depth

_ACC_SIZE = {"float": 4, "double": 8, "int64_t": 8, "int32_t": 4, "int8_t": 1, "uint8_t": 1}

ERRORS = {1: "out of memory for the partial results of a parallel reduction",
          2: "internal error: reduction layout without the dimension its entry needs"}


def _prologue(kname, pro):
    """A fused reduction's loader (ir/ops/fused_reduce.py): the struct of its input pointers and
    scalars, `<k>_ld(S, o)` evaluating the members' snippets at input offset o, the entries'
    extra parameters and the line that fills the struct. Empty strings without one."""
    if not pro:
        return "", "", "const CT* in = (const CT*)in_;"
    fields = [f"const {DTYPES[d].ctype}* i{k};" for k, d in enumerate(pro["ins"])]
    fields += [f"double s{k};" for k in range(pro["nscalars"])] or ["int unused_;"]
    body = [f"  const {DTYPES[d].acc} v{k} = ({DTYPES[d].acc})S->i{k}[o];" for k, d in enumerate(pro["ins"])]
    body += [f"  const double s{k} = S->s{k};" for k in range(pro["nscalars"])]
    body += [f"  const {DTYPES[d].ctype} t{k} = ({DTYPES[d].ctype})({e});" for k, (d, e) in enumerate(pro["lets"])]
    nl = "\n"
    code = (f"typedef struct {{ {' '.join(fields)} }} {kname}_src;\n"
            f"static inline ACC {kname}_ld(const {kname}_src* S, int64_t o) {{\n  (void)S; (void)o;\n"
            f"{nl.join(body)}\n  return (ACC)t{len(pro['lets']) - 1};\n}}")
    extra = "".join(f", intptr_t pi{k}_" for k in range(len(pro["ins"])))
    extra += "".join(f", double ps{k}" for k in range(pro["nscalars"]))
    init = ([f"(const {DTYPES[d].ctype}*)pi{k}_" for k, d in enumerate(pro["ins"])]
            + [f"ps{k}" for k in range(pro["nscalars"])]) or ["0"]
    fill = f"const {kname}_src src_ = {{ {', '.join(init)} }}; const {kname}_src* in = &src_; (void)in_;"
    return code, extra, fill


def render(kname, params, target):
    pro_code, pro_params, pro_init = _prologue(kname, params.get("pro"))
    code = render_template(
        target, "reduce.j2", kname=kname, ctype=DTYPES[params["in_dtype"]].ctype,
        octype=DTYPES[params["out_dtype"]].ctype, acc=params["acc"], init=params["init"],
        combine=params["combine"], merge=params["merge"], finalize=params["finalize"],
        index=params["index"], better=params["better"], lanes=max(16, 256 // _ACC_SIZE[params["acc"]]),
        pro_code=pro_code, pro_params=pro_params, pro_init=pro_init)
    sig = f"(int32_t nk, int32_t nr, intptr_t meta_, intptr_t out_, intptr_t in_{pro_params})"
    return code, {f"{kname}_{e}": f"int {kname}_{e}{sig};" for e in ("inner", "outer")}


def split_dims(shape, axes):
    """Collapse a contiguous `shape` into kept and reduced dims: [(size, element stride)] each.

    Size-1 dims vanish and neighbours of the same kind merge, so e.g. summing axes (1, 2) of
    (4, 5, 6) becomes 4 outputs of 30 contiguous elements.
    """
    red = set(axes)
    dims = []
    for i, (d, s) in enumerate(zip(shape, contiguous_strides(shape))):
        if d == 1:
            continue
        r = i in red
        if dims and dims[-1][2] == r and dims[-1][1] == d * s:
            pd, _, _ = dims[-1]
            dims[-1] = (pd * d, s, r)
        else:
            dims.append((d, s, r))
    kept = [(d, s) for d, s, r in dims if not r]
    reduced = [(d, s) for d, s, r in dims if r]
    inner = bool(dims) and dims[-1][2]
    return kept, reduced, inner


def plan(kname, params, args):
    shape, axes = tuple(args["in_shape"]), tuple(args["axes"])
    n_out = math.prod(d for i, d in enumerate(shape) if i not in set(axes))
    if n_out == 0:
        return []
    kept, reduced, inner = split_dims(shape, axes)
    if math.prod(d for d, _ in reduced) == 0:
        reduced, inner = [(0, 1)], True  # no elements: every output is finalize(init)
    if not inner and not kept:
        kept = [(1, 1)]  # nothing left to reduce or keep: one output from one element
    if len(kept) > MAXD or len(reduced) > MAXD:
        raise ShapeError(f"reduce: input of shape {shape} has too many alternating reduced and kept axes "
                         f"(at most {MAXD} of each after merging neighbours)")
    meta = Meta.of([*(d for d, _ in kept), *(s for _, s in kept), *(d for d, _ in reduced),
                    *(s for _, s in reduced)])
    entry = f"{kname}_inner" if inner else f"{kname}_outer"
    pro = args.get("pro")
    if pro is None:
        return [Launch(entry, (len(kept), len(reduced), meta, Buf("out", 0), Buf("in", 0)), errors=dict(ERRORS))]
    extra = (*(Buf("in", i) for i in pro["in_index"]), *(float(v) for v in pro["scalars"]))
    return [Launch(entry, (len(kept), len(reduced), meta, Buf("out", 0), 0, *extra), errors=dict(ERRORS))]
