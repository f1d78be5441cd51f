"""Sequence family: cumsum, boolean_mask, histogram and SequenceLast / SequenceReverse kernels
(see templates/c/sequence.j2; one `kind` per render).

params: kind, plus per kind: cumsum: in_dtype, out_dtype; mask_count: idx_dtype; mask: dtype,
        idx_dtype; hist: dtype, counts_dtype, edges_dtype, bins_dtype (None: uniform bins);
        seq_last / seq_reverse: dtype, len_dtype (None: no lengths).
args:   the kernel's sizes (see plan), all run-time.
"""
from __future__ import annotations

from ...ir.types import DTYPES
from ..program import Buf, Launch
from ..templates import render as render_template

_MASK_ERRORS = {1: "out of memory", 2: "boolean_mask: the index changed after its nonzero entries were counted"}
_HIST_ERRORS = {1: "out of memory for the histogram's counts",
                3: "histogram: the range of the data (or the given range) is not finite",
                4: "histogram: bins must increase monotonically"}

_SIGS = {
    "cumsum": "int64_t outer, int64_t L, int64_t inner, int32_t reverse, intptr_t out_, intptr_t in_",
    "mask_count": "int64_t L, intptr_t out_, intptr_t idx_",
    "mask": "int64_t outer, int64_t L, int64_t inner, int64_t count, int32_t scatter, intptr_t out_, "
            "intptr_t data_, intptr_t idx_",
    "hist": "int64_t n, int64_t bins, double lo, double hi, int32_t autorange, intptr_t counts_, intptr_t edges_, "
            "intptr_t in_",
    "hist_edges": "int64_t n, int64_t nb, intptr_t counts_, intptr_t edges_out_, intptr_t in_, intptr_t edges_",
    "seq": "int64_t A, int64_t T, int64_t C, int64_t rest, int32_t axis, int32_t bwd, intptr_t out_, "
           "intptr_t data_, intptr_t len_",
}


def _ct(name):
    return DTYPES[name].ctype if name else None


def render(kname, params, target):
    kind = params["kind"]
    ctx = {"kname": kname, "kind": kind}
    if kind == "cumsum":
        ctx.update(ist=_ct(params["in_dtype"]), ost=_ct(params["out_dtype"]), acc=DTYPES[params["out_dtype"]].acc)
        sig = _SIGS["cumsum"]
    elif kind == "mask_count":
        ctx.update(xst=_ct(params["idx_dtype"]))
        sig = _SIGS["mask_count"]
    elif kind == "mask":
        ctx.update(st=_ct(params["dtype"]), xst=_ct(params["idx_dtype"]))
        sig = _SIGS["mask"]
    elif kind == "hist":
        edges_in = params["bins_dtype"] is not None
        ctx.update(st=_ct(params["dtype"]), cst=_ct(params["counts_dtype"]), est=_ct(params["edges_dtype"]),
                   bst=_ct(params["bins_dtype"]), edges_in=edges_in)
        sig = _SIGS["hist_edges" if edges_in else "hist"]
    elif kind in ("seq_last", "seq_reverse"):
        ctx.update(st=_ct(params["dtype"]), lst=_ct(params["len_dtype"]), has_len=params["len_dtype"] is not None)
        sig = _SIGS["seq"]
    else:
        raise ValueError(f"sequence family: unknown kind {kind!r}")
    code = render_template(target, "sequence.j2", **ctx)
    return code, {f"{kname}_run": f"int {kname}_run({sig});"}


def plan(kname, params, args):
    kind, entry = params["kind"], f"{kname}_run"
    if kind == "cumsum":
        if args["outer"] * args["L"] * args["inner"] == 0:
            return []
        return [Launch(entry, (args["outer"], args["L"], args["inner"], int(args["reverse"]), Buf("out", 0),
                               Buf("in", 0)), {1: "out of memory"})]
    if kind == "mask_count":
        return [Launch(entry, (args["L"], Buf("out", 0), Buf("in", 0)))]
    if kind == "mask":
        # gather: (out, data, index) = (out 0, in 0, in 1); scatter (backward): out grad is in 0
        return [Launch(entry, (args["outer"], args["L"], args["inner"], args["count"], int(args["scatter"]),
                               Buf("out", 0), Buf("in", 0), Buf("in", 1)), dict(_MASK_ERRORS))]
    if kind == "hist":
        if params["bins_dtype"] is not None:
            return [Launch(entry, (args["n"], args["bins"], Buf("out", 0), Buf("out", 1), Buf("in", 0),
                                   Buf("in", 1)), dict(_HIST_ERRORS))]
        return [Launch(entry, (args["n"], args["bins"], float(args["lo"]), float(args["hi"]), int(args["autorange"]),
                               Buf("out", 0), Buf("out", 1), Buf("in", 0)), dict(_HIST_ERRORS))]
    A, T, C = args["A"], args["T"], args["C"]
    if A * T * C == 0 or (kind == "seq_last" and not args["bwd"] and A * C == 0):
        return []
    length = Buf("in", 1) if params["len_dtype"] is not None else 0
    return [Launch(entry, (A, T, C, args["rest"], int(args["axis"]), int(args["bwd"]), Buf("out", 0), Buf("in", 0),
                           length))]
