"""Convolution family: fwd (Convolution), bwd_data (Deconvolution, conv's data gradient) and
bwd_weight (conv's weight gradient): im2col / col2im around a register-tiled micro-kernel (conv.j2).

params: mode, dtype, bias (the source: one compile per dtype, mode and bias flag).
args:   op (for messages) and geom, the 22 ints of ir/ops/conv.py: geometry() -- every size
        is a run-time argument, so a new shape never recompiles.
"""
from __future__ import annotations

from ...ir.types import DTYPES
from ..program import Buf, Launch, Meta
from ..templates import render as render_template
from .gemm import ACC  # the type products accumulate in: one table for GEMM and convolution

MODES = ("fwd", "bwd_data", "bwd_weight")
ERRORS = {1: "out of memory for the convolution's work buffers"}


def render(kname, params, target):
    mode = params["mode"]
    if mode not in MODES:
        raise ValueError(f"conv family: unknown mode {mode!r}")
    dt = DTYPES[params["dtype"]]
    acc, gsize = ACC[dt.name]
    code = render_template(target, "conv.j2", kname=kname, S=dt.ctype, G=acc, gsize=gsize, mode=mode,
                           direct=dt.ctype == acc, bias=bool(params["bias"]))
    return code, {kname: f"int {kname}(intptr_t meta, intptr_t out, intptr_t in0, intptr_t in1, intptr_t in2);"}


def plan(kname, params, args):
    geom = tuple(int(v) for v in args["geom"])
    third = Buf("in", 2) if params["bias"] else 0
    errors = {k: f"{args.get('op', 'Convolution')}: {v}" for k, v in ERRORS.items()}
    return [Launch(kname, (Meta.of(geom), Buf("out", 0), Buf("in", 0), Buf("in", 1), third), errors=errors)]
