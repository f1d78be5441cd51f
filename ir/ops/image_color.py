"""MXNet 1.x's colour augmentation ops on images (H, W, C) / batches (N, H, W, C) with RGB channels
last: _image_random_contrast, _image_random_saturation, _image_random_hue,
_image_random_color_jitter, _image_adjust_lighting, _image_random_lighting. They lower to the
`image_color` family (codegen/templates/c/image_color.j2); the random ones draw their factors
once per call from the generator state, and apply them to every image of a batch.
"""
from __future__ import annotations

import math

from ..attrs import Attr, AttrError
from ..registry import Lowering, OpDef, ShapeError, register
from ..types import TensorType
from ._shape import fmt


def _layout(op, t, channels):
    if len(t.shape) not in (3, 4):
        raise ShapeError(f"{op}: input image must have shape (height, width, channels) or (N, height, width, "
                         f"channels), got {fmt(t.shape)}")
    c = t.shape[-1]
    if c not in channels:
        raise ShapeError(f"{op}: the last dimension of the input must be the channel dimension with "
                         f"{' or '.join(map(str, channels))} elements, got shape {fmt(t.shape)}")
    n = t.shape[0] if len(t.shape) == 4 else 1
    return n, t.shape[-3] * t.shape[-2], c


def _op(name, kind, attrs, params_of, channels=(1, 3), random=True, check=None, doc=""):
    op = name[len("_image_"):]

    def infer(in_types, a):
        _layout(op, in_types[0], channels)
        if check is not None:
            check(op, a)
        return [TensorType(in_types[0].shape, in_types[0].dtype)]

    def lower(in_types, out_types, a):
        n, hw, c = _layout(op, in_types[0], channels)
        params = {"kind": kind, "dtype": in_types[0].dtype}
        if kind == "lighting":
            params["random"] = random
        return Lowering("image_color", params, {"N": n, "HW": hw, "C": c, "p": params_of(a)})

    register(OpDef(name, ("data",), infer, lower, differentiable=False, attrs=attrs, doc=doc))


def _factor_range(op, a):
    lo, hi = a["min_factor"], a["max_factor"]
    if not (math.isfinite(lo) and math.isfinite(hi)) or lo < 0 or hi < lo:
        raise AttrError(f"{op}: need 0 <= min_factor <= max_factor, got min_factor={lo}, max_factor={hi}")


_RANGE = {"min_factor": Attr("float"), "max_factor": Attr("float")}


def _range_params(a):
    return (a["min_factor"], a["max_factor"])


_op("_image_random_contrast", "contrast", _RANGE, _range_params, check=_factor_range,
    doc="x * f + (1 - f) * the image's mean gray level, f uniform in [min_factor, max_factor] (one per call).")
_op("_image_random_saturation", "saturation", _RANGE, _range_params, check=_factor_range,
    doc="gray * (1 - f) + x * f per pixel (gray = .299 R + .587 G + .114 B), f uniform in [min_factor, "
        "max_factor]; one-channel images are copied.")
_op("_image_random_hue", "hue", _RANGE, _range_params, check=_factor_range,
    doc="Rotate the hue (HLS) by f * 360 degrees, f uniform in [min_factor, max_factor]; one-channel images "
        "are copied.")


def _jitter_check(op, a):
    for k in ("brightness", "contrast", "saturation", "hue"):
        if not math.isfinite(a[k]) or a[k] < 0:
            raise AttrError(f"{op}: {k} must be a finite number >= 0, got {a[k]}")


_op("_image_random_color_jitter", "jitter",
    {"brightness": Attr("float"), "contrast": Attr("float"), "saturation": Attr("float"), "hue": Attr("float")},
    lambda a: (a["brightness"], a["contrast"], a["saturation"], a["hue"]), check=_jitter_check,
    doc="Brightness, contrast, saturation (factors 1 + U(-p, p)) and hue (U(-p, p) turns) in a random order; "
        "a p of 0 skips that step.")


def _alpha_check(op, a):
    if len(a["alpha"]) != 3:
        raise AttrError(f"{op}: alpha must hold 3 values (one per principal component), got {a['alpha']}")


_op("_image_adjust_lighting", "lighting", {"alpha": Attr("floats")}, lambda a: tuple(a["alpha"]), channels=(3,),
    random=False, check=_alpha_check,
    doc="AlexNet-style PCA lighting: add eigvec . (alpha * eigval) to the RGB channels.")


def _std_check(op, a):
    if not math.isfinite(a["alpha_std"]) or a["alpha_std"] < 0:
        raise AttrError(f"{op}: alpha_std must be a finite number >= 0, got {a['alpha_std']}")


_op("_image_random_lighting", "lighting", {"alpha_std": Attr("float", 0.05)}, lambda a: (a["alpha_std"],),
    channels=(3,), check=_std_check,
    doc="adjust_lighting with alpha drawn from N(0, alpha_std) (three draws per call).")
