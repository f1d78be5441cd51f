"""Sorting family: sort / argsort / topk along one axis (see templates/c/sorting.j2).

params: dtype (data), idx_dtype (index output dtype, or None), mode ("values" | "indices" |
        "both" | "mask")
args:   outer, L, inner (the input as (outer, L, inner)), k (how many of the sorted order to
        write), desc (0/1)
"""
from __future__ import annotations

from ...ir.types import DTYPES
from ..program import Buf, Launch
from ..templates import render as render_template

ERRORS = {1: "out of memory for the sort's work buffers"}


def render(kname, params, target):
    d = DTYPES[params["dtype"]]
    mode = params["mode"]
    idx = params.get("idx_dtype")
    code = render_template(target, "sorting.j2", kname=kname, st=d.ctype, key=d.acc, is_float=d.is_float,
                           mode=mode, want_vals=mode in ("values", "both"), want_idx=mode in ("indices", "both"),
                           ist=DTYPES[idx].ctype if idx else None)
    decl = (f"int {kname}_run(int64_t outer, int64_t L, int64_t inner, int64_t k, int32_t desc, intptr_t vals_, "
            f"intptr_t idx_, intptr_t in_);")
    return code, {f"{kname}_run": decl}


def plan(kname, params, args):
    outer, L, inner = int(args["outer"]), int(args["L"]), int(args["inner"])
    if outer * L * inner == 0:
        return []
    mode = params["mode"]
    vals = Buf("out", 0) if mode in ("values", "both", "mask") else 0
    idx = Buf("out", 1) if mode == "both" else (Buf("out", 0) if mode == "indices" else 0)
    return [Launch(f"{kname}_run", (outer, L, inner, int(args["k"]), int(bool(args["desc"])), vals, idx,
                                    Buf("in", 0)), dict(ERRORS))]
