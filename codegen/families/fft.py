"""FFT family: DFTs over the last axis of a batch of rows (see templates/c/fft.j2).

params: dtype (storage: float16 | float32 | float64), acc (compute type: float | double)
args:   rows, m_in (input length per row, values or complex pairs), n (transform length),
        out_len (output length per row), in_kind (0 real, 1 complex), out_kind (0 real,
        1 complex, 2 half spectrum), herm (0/1), inverse (0/1), scale (float)
Everything but the dtype is a run-time argument: one compile per dtype serves every variant.
"""
from __future__ import annotations

from ...ir.types import DTYPES
from ..program import Buf, Launch
from ..templates import render as render_template

ERRORS = {1: "out of memory for the FFT plan or its work buffers",
          2: "the transform length must be at least 1"}


def render(kname, params, target):
    code = render_template(target, "fft.j2", kname=kname, st=DTYPES[params["dtype"]].ctype, acc=params["acc"])
    decl = (f"int {kname}_run(int64_t rows, int64_t m_in, int64_t n, int64_t out_len, int32_t in_kind, "
            f"int32_t out_kind, int32_t herm, int32_t inv, double scale_, intptr_t out_, intptr_t in_);")
    return code, {f"{kname}_run": decl}


def plan(kname, params, args):
    rows, out_len = int(args["rows"]), int(args["out_len"])
    if rows == 0 or out_len == 0:
        return []
    return [Launch(f"{kname}_run", (rows, int(args["m_in"]), int(args["n"]), out_len, int(args["in_kind"]),
                                    int(args["out_kind"]), int(args["herm"]), int(args["inverse"]),
                                    float(args["scale"]), Buf("out", 0), Buf("in", 0)), dict(ERRORS))]
