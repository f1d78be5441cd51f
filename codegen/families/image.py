"""Image family: the kernels of ir/ops/image.py that are not strided copies (one `kind` per render).

params: kind ("normalize" | "resize" | "random_flip" | "brightness"), dtype; resize: interp
        ("nearest" | "bilinear").
args:   normalize: N, C, HW, mean, std (C floats each); resize: N, H, W, C, OH, OW;
        random_flip: outer, L, inner, p; brightness: n, lo, hi. All run-time.
"""
from __future__ import annotations

import numpy as np

from ...ir.types import DTYPES
from ..program import RNG, Buf, Launch, Meta
from ..templates import render as render_template

_SIGS = {
    "normalize": "int64_t N, int64_t C, int64_t HW, intptr_t meta_, intptr_t out_, intptr_t in_",
    "resize": "int64_t N, int64_t H, int64_t W, int64_t C, int64_t OH, int64_t OW, intptr_t out_, intptr_t in_",
    "random_flip": "int64_t outer, int64_t L, int64_t inner, double p, intptr_t rng_, intptr_t out_, intptr_t in_",
    "brightness": "int64_t n, double lo, double hi, intptr_t rng_, intptr_t out_, intptr_t in_",
}
_LIMITS = {"int8": (-128, 127), "uint8": (0, 255), "int32": (-(1 << 31), (1 << 31) - 1),
           "int64": (-(1 << 63), (1 << 63) - 1)}


def render(kname, params, target):
    kind = params["kind"]
    if kind not in _SIGS:
        raise ValueError(f"image family: unknown kind {kind!r}")
    d = DTYPES[params["dtype"]]
    lo, hi = _LIMITS.get(d.name, (0, 0))
    code = render_template(target, "image.j2", kname=kname, kind=kind, st=d.ctype, is_float=d.is_float,
                           is_u8=d.name == "uint8", W="double" if d.name in ("float64", "int64", "int32") else "float",
                           tmin=f"{lo}.0", tmax=f"{hi}.0", interp=params.get("interp", ""))
    return code, {f"{kname}_run": f"int {kname}_run({_SIGS[kind]});"}


def _double_bits(values):
    """C doubles passed through an int64 meta array (the kernel reads them back as double)."""
    return Meta.of(np.asarray(values, dtype=np.float64).view(np.int64))


def plan(kname, params, args):
    kind, entry = params["kind"], f"{kname}_run"
    if kind == "normalize":
        if args["N"] * args["C"] * args["HW"] == 0:
            return []
        return [Launch(entry, (args["N"], args["C"], args["HW"], _double_bits([*args["mean"], *args["std"]]),
                               Buf("out", 0), Buf("in", 0)))]
    if kind == "resize":
        if args["N"] * args["OH"] * args["OW"] * args["C"] == 0:
            return []
        return [Launch(entry, (args["N"], args["H"], args["W"], args["C"], args["OH"], args["OW"], Buf("out", 0),
                               Buf("in", 0)), {1: "out of memory"})]
    if kind == "random_flip":
        return [Launch(entry, (args["outer"], args["L"], args["inner"], float(args["p"]), RNG, Buf("out", 0),
                               Buf("in", 0)))]
    return [Launch(entry, (args["n"], float(args["lo"]), float(args["hi"]), RNG, Buf("out", 0), Buf("in", 0)))]
