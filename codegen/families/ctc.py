"""CTC family: CTCLoss's loss and gradient, one sequence per OpenMP iteration (templates/c/ctc.j2).

params: dtype (data, loss, grad), label_dtype, dlen_dtype / llen_dtype (None: no lengths input), blank_first
args:   T, N, C, L
"""
from __future__ import annotations

from ...ir.types import DTYPES
from ..program import Buf, Launch
from ..templates import render as render_template

_ERRORS = {1: "a data length is outside [0, sequence_length]",
           2: "a label length is outside [0, label_length]",
           3: "a label is not a class index in [0, alphabet_size) other than the blank "
              "(blank_label='first': labels 1 .. C-1, padding 0; 'last': labels 0 .. C-2, padding -1)",
           4: "out of memory for the alignment tables"}


def render(kname, params, target):
    dt = DTYPES[params["dtype"]]
    ct = {k: DTYPES[params[k]].ctype if params[k] else None for k in ("label_dtype", "dlen_dtype", "llen_dtype")}
    code = render_template(target, "ctc.j2", kname=kname, ctype=dt.ctype, ltype=ct["label_dtype"],
                           dltype=ct["dlen_dtype"], lltype=ct["llen_dtype"], blank_first=bool(params["blank_first"]))
    return code, {f"{kname}_run": f"int {kname}_run(int64_t T, int64_t N, int64_t C, int64_t L, intptr_t loss_, "
                                  f"intptr_t grad_, intptr_t data_, intptr_t label_, intptr_t dlen_, intptr_t llen_);"}


def plan(kname, params, args):
    T, N, C, L = (int(args[k]) for k in ("T", "N", "C", "L"))
    if N == 0:
        return []
    k = 2
    dlen = llen = 0
    if params["dlen_dtype"]:
        dlen, k = Buf("in", k), k + 1
    if params["llen_dtype"]:
        llen = Buf("in", k)
    return [Launch(f"{kname}_run", (T, N, C, L, Buf("out", 0), Buf("out", 1), Buf("in", 0), Buf("in", 1), dlen, llen),
                   dict(_ERRORS))]
