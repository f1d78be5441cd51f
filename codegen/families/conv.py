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
from . import _epilogue
from . import get as get_family
from .gemm import ACC  # the type products accumulate in: one table for GEMM and convolution

MODES = ("fwd", "bwd_data", "bwd_weight")
ERRORS = {1: "out of memory for the convolution's work buffers"}
TAIL_ERRORS = {1: "out of memory for the convolution's or its fused pooling's work buffers"}


def render(kname, params, target):
    mode = params["mode"]
    if mode not in MODES:
        raise ValueError(f"conv family: unknown mode {mode!r}")
    dt = DTYPES[params["dtype"]]
    acc, gsize = ACC[dt.name]
    epi = params.get("epi")  # a fused epilogue (codegen/families/_epilogue.py): extra trailing arguments
    # and a pooling tail: the pool family's forward kernel called per image (fwd), or its backward
    # per unit of channel planes (bwd_data: this result is the pool's out grad)
    tail = params.get("tail")
    if (epi and mode != "fwd") or (tail and tail.get("mode") != {"fwd": "fwd", "bwd_data": "bwd"}.get(mode)):
        raise ValueError(f"conv family: no fused epilogue or pooling tail {tail and tail.get('mode')!r} "
                         f"in mode {mode!r}")
    pool_code = ""
    if tail:
        pool_code = get_family("pool").render(f"{kname}_pool", dict(tail), target)[0]
    extra = _epilogue.entry_params(epi, tail)
    if mode == "bwd_data" and tail:
        extra = ", intptr_t pmeta_, intptr_t pout_, intptr_t px_, intptr_t py_"
    code = render_template(target, "conv.j2", kname=kname, S=dt.ctype, G=acc, gsize=gsize, mode=mode,
                           direct=dt.ctype == acc, bias=bool(params["bias"]), epi=bool(epi), tail=bool(tail),
                           epi_code=pool_code + _epilogue.code(kname, epi), epi_params=extra)
    return code, {kname: f"int {kname}(intptr_t meta, intptr_t out, intptr_t in0, intptr_t in1, intptr_t in2"
                         f"{extra});"}


def plan(kname, params, args):
    geom = tuple(int(v) for v in args["geom"])
    third = Buf("in", 2) if params["bias"] else 0
    errors = {k: f"{args.get('op', 'Convolution')}: {v}" for k, v in ERRORS.items()}
    epi, tail = params.get("epi"), args.get("tail")
    if tail:
        errors.update({k: f"{args.get('op', 'Convolution')}: {v}" for k, v in TAIL_ERRORS.items()})
    if tail and params["mode"] == "bwd_data":  # the kernel sets the plane count per unit
        xi, yi = tail["ins"]
        return [Launch(kname, (Meta.of(geom), 0, Buf("in", 0), Buf("in", 1), third, Meta.of(tail["geom"]),
                               Buf("out", 0), Buf("in", xi), Buf("in", yi)), errors=errors)]
    if tail:  # the pool kernel runs on one image's group of planes at a time
        geom_t = list(tail["geom"])
        geom_t[0] = geom[3] // geom[2]  # F / groups planes
        tail = tuple(geom_t)
    return [Launch(kname, (Meta.of(geom), _epilogue.anchor_out(epi, args), Buf("in", 0), Buf("in", 1), third,
                           *_epilogue.launch_args(epi, args, tail)), errors=errors)]
