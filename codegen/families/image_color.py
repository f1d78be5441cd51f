"""Image colour family: MXNet's colour augmentations (random_contrast, random_saturation,
random_hue, random_color_jitter, adjust_lighting, random_lighting); see
templates/c/image_color.j2. One entry for every kind:
run(N, HW, C, p0, p1, p2, p3, rng, out, in).

params: kind ("contrast" | "saturation" | "hue" | "jitter" | "lighting"), dtype, random (lighting).
args:   N, HW, C, p (up to four floats).
"""
from __future__ import annotations

from ...ir.types import DTYPES
from ..program import RNG, Buf, Launch
from ..templates import render as render_template
from .image import _LIMITS

_KINDS = ("contrast", "saturation", "hue", "jitter", "lighting")
_SIG = ("int64_t N, int64_t HW, int64_t C, double p0, double p1, double p2, double p3, intptr_t rng_, "
        "intptr_t out_, intptr_t in_")


def render(kname, params, target):
    kind = params["kind"]
    if kind not in _KINDS:
        raise ValueError(f"image_color family: unknown kind {kind!r}")
    d = DTYPES[params["dtype"]]
    lo, hi = _LIMITS.get(d.name, (0, 0))
    code = render_template(target, "image_color.j2", kname=kname, kind=kind, st=d.ctype, is_float=d.is_float,
                           W="double" if d.name in ("float64", "int64", "int32") else "float",
                           tmin=f"{lo}.0", tmax=f"{hi}.0", random=params.get("random", True))
    return code, {f"{kname}_run": f"int {kname}_run({_SIG});"}


def plan(kname, params, args):
    p = [float(v) for v in args["p"]] + [0.0] * (4 - len(args["p"]))
    rng = RNG if params.get("random", True) else 0
    return [Launch(f"{kname}_run", (args["N"], args["HW"], args["C"], *p, rng, Buf("out", 0), Buf("in", 0)))]
