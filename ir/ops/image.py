"""Image ops of MXNet 1.x (`mx.nd.image.*`, registered as `_image_<name>`): to_tensor, normalize,
resize, crop, flip_left_right / flip_top_bottom, their random versions, random_brightness.

Images are (H, W, C) or batches (N, H, W, C) as in MXNet; to_tensor makes (C, H, W) /
(N, C, H, W) float32 in [0, 1], which normalize expects. to_tensor, crop and the fixed flips are
strided copies (the elementwise family); normalize, resize and the random ops lower to the
`image` family (codegen/templates/c/image.j2). Random ops draw one decision (or factor) per call
from the Philox generator's state (seed, call counter), as MXNet draws one per call.
"""
from __future__ import annotations

import math

from ..attrs import Attr, AttrError
from ..registry import Lowering, OpDef, ShapeError, get, register
from ..types import TensorType
from ._shape import contiguous_strides, fmt
from .elementwise import ewise_lowering


def _attrs(node):
    return get(node.op).parse_attrs(node.attrs)


def _check_hwc(op, t):
    if len(t.shape) not in (3, 4):
        raise ShapeError(f"{op}: input image must have shape (height, width, channels) or (N, height, width, "
                         f"channels), got {fmt(t.shape)}")


def _same(in_types, attrs):
    return [TensorType(in_types[0].shape, in_types[0].dtype)]


def _view(in_t, out_t, shape, strides, offset=0, expr="a"):
    """out (contiguous, iterated as `shape`) = expr of the input read with `strides` from `offset`."""
    return ewise_lowering(expr, [in_t], out_t, out_shape=tuple(shape), in_strides=(tuple(strides),),
                          in_offsets=(int(offset),))


# ---- to_tensor ----------------------------------------------------------------------------------
def _infer_to_tensor(in_types, attrs):
    t = in_types[0]
    _check_hwc("to_tensor", t)
    s = t.shape
    return [TensorType(s[-1:] + s[-3:-1] if len(s) == 3 else (s[0], s[3], s[1], s[2]), "float32")]


def _lower_to_tensor(in_types, out_types, attrs):
    shape = out_types[0].shape
    st = contiguous_strides(in_types[0].shape)
    # the output (.., C, H, W) reads the input (.., H, W, C): permuted strides
    strides = st[-1:] + st[-3:-1] if len(st) == 3 else (st[0], st[3], st[1], st[2])
    return _view(in_types[0], out_types[0], shape, strides, expr="(float)a / 255.0f")


register(OpDef("_image_to_tensor", ("data",), _infer_to_tensor, _lower_to_tensor, differentiable=False,
               doc="An image (H, W, C) or batch (N, H, W, C) with values in [0, 255] as float32 (C, H, W) / "
                   "(N, C, H, W) in [0, 1]: x / 255."))


# ---- normalize ----------------------------------------------------------------------------------
def _per_channel(op, name, values, c, shape):
    if len(values) == c:
        return tuple(values)
    if len(values) == 1 or all(v == values[0] for v in values):  # the default (0, 0, 0, 0) fits any C
        return (values[0],) * c
    raise ShapeError(f"{op}: invalid {name} for input with shape {fmt(shape)}: {name} must have either 1 or {c} "
                     f"elements, but got {values}")


def _normalize_layout(op, t):
    if len(t.shape) not in (3, 4):
        raise ShapeError(f"{op}: input tensor must have shape (channels, height, width) or (N, channels, height, "
                         f"width), but got {fmt(t.shape)}")
    s = t.shape
    return (1, *s) if len(s) == 3 else s


def _infer_normalize(in_types, attrs):
    t = in_types[0]
    n, c, h, w = _normalize_layout("normalize", t)
    _per_channel("normalize", "mean", attrs["mean"], c, t.shape)
    _per_channel("normalize", "std", attrs["std"], c, t.shape)
    return [TensorType(t.shape, t.dtype)]


def _lower_normalize(in_types, out_types, attrs):
    t = in_types[0]
    n, c, h, w = _normalize_layout("normalize", t)
    return Lowering("image", {"kind": "normalize", "dtype": t.dtype},
                    {"N": n, "C": c, "HW": h * w, "mean": _per_channel("normalize", "mean", attrs["mean"], c, t.shape),
                     "std": _per_channel("normalize", "std", attrs["std"], c, t.shape)})


def _grad_normalize(b, node, ogs):
    return [b.op("_image_normalize", ogs[0], mean=(0.0,), std=_attrs(node)["std"])]


register(OpDef("_image_normalize", ("data",), _infer_normalize, _lower_normalize, grad=_grad_normalize,
               attrs={"mean": Attr("floats", (0.0, 0.0, 0.0, 0.0)), "std": Attr("floats", (1.0, 1.0, 1.0, 1.0))},
               doc="(x - mean[c]) / std[c] per channel c of a (C, H, W) or (N, C, H, W) tensor; mean and std "
                   "hold 1 or C values."))


# ---- resize -------------------------------------------------------------------------------------
_INTERP = {0: "nearest", 1: "bilinear"}


def resize_hw(op, h, w, size, keep_ratio):
    """MXNet's output (height, width): size (w, h), or (s,) for s x s or, with keep_ratio, the
    short edge s and the long one scaled (integer arithmetic, as MXNet's C++)."""
    if len(size) not in (1, 2):
        raise AttrError(f"{op}: size must be (size,) or (width, height), got {size}")
    if any(s <= 0 for s in size):
        raise AttrError(f"{op}: size must be greater than 0, got {size}")
    if len(size) == 2:
        return size[1], size[0]
    s = size[0]
    if not keep_ratio:
        return s, s
    if h > w:
        return h * s // w, s
    return s, w * s // h


def _infer_resize(in_types, attrs):
    t = in_types[0]
    _check_hwc("resize", t)
    if attrs["interp"] not in _INTERP:
        raise AttrError(f"resize: interp={attrs['interp']} is not supported; mxcc implements 0 (nearest) and "
                        f"1 (bilinear, OpenCV's INTER_LINEAR)")
    hi, wi = t.shape[-3:-1]
    if hi == 0 or wi == 0:
        raise ShapeError(f"resize: cannot resize an empty image of shape {fmt(t.shape)}")
    oh, ow = resize_hw("resize", hi, wi, attrs["size"], attrs["keep_ratio"])
    return [TensorType(t.shape[:-3] + (oh, ow, t.shape[-1]), t.dtype)]


def _lower_resize(in_types, out_types, attrs):
    t, o = in_types[0], out_types[0]
    n = t.shape[0] if len(t.shape) == 4 else 1
    h, w, c = t.shape[-3:]
    oh, ow = o.shape[-3:-1]
    return Lowering("image", {"kind": "resize", "dtype": t.dtype, "interp": _INTERP[attrs["interp"]]},
                    {"N": n, "H": h, "W": w, "C": c, "OH": oh, "OW": ow})


register(OpDef("_image_resize", ("data",), _infer_resize, _lower_resize, differentiable=False,
               attrs={"size": Attr("shape", ()), "keep_ratio": Attr("bool", False), "interp": Attr("int", 1)},
               doc="Resize an image (H, W, C) or batch (N, H, W, C) to size (width, height) or (s,): s x s, or "
                   "the short edge s with keep_ratio. interp 1: bilinear with OpenCV's half-pixel centres "
                   "(INTER_LINEAR, fixed-point for uint8 as OpenCV); 0: nearest."))


# ---- crop ---------------------------------------------------------------------------------------
def _infer_crop(in_types, attrs):
    t = in_types[0]
    _check_hwc("crop", t)
    h, w = t.shape[-3:-1]
    x, y, cw, ch = attrs["x"], attrs["y"], attrs["width"], attrs["height"]
    if x < 0 or y < 0 or cw <= 0 or ch <= 0 or x + cw > w or y + ch > h:
        raise ShapeError(f"crop: the region x={x}, y={y}, width={cw}, height={ch} must lie inside the image of "
                         f"width {w} and height {h} (input {fmt(t.shape)}), with width and height > 0")
    return [TensorType(t.shape[:-3] + (ch, cw, t.shape[-1]), t.dtype)]


def _lower_crop(in_types, out_types, attrs):
    st = contiguous_strides(in_types[0].shape)
    offset = attrs["y"] * st[-3] + attrs["x"] * st[-2]
    return _view(in_types[0], out_types[0], out_types[0].shape, st, offset)


register(OpDef("_image_crop", ("data",), _infer_crop, _lower_crop, differentiable=False,
               attrs={"x": Attr("int"), "y": Attr("int"), "width": Attr("int"), "height": Attr("int")},
               doc="The region [y, y + height) x [x, x + width) of an image (H, W, C) or batch (N, H, W, C)."))


# ---- flips --------------------------------------------------------------------------------------
def _flip_axis(op, t, which):
    _check_hwc(op, t)
    return len(t.shape) - (2 if which == "lr" else 3)


def _flip_layout(t, axis):
    """(outer, L, inner): the flipped axis L between everything before and after it."""
    s = t.shape
    return math.prod(s[:axis]), s[axis], math.prod(s[axis + 1:])


def _fixed_flip(which):
    op = f"flip_{'left_right' if which == 'lr' else 'top_bottom'}"

    def infer(in_types, attrs):
        _flip_axis(op, in_types[0], which)
        return _same(in_types, attrs)

    def lower(in_types, out_types, attrs):
        t = in_types[0]
        a = _flip_axis(op, t, which)
        st = list(contiguous_strides(t.shape))
        offset = max(t.shape[a] - 1, 0) * st[a]
        st[a] = -st[a]
        return _view(t, out_types[0], t.shape, st, offset)

    def grad(b, node, ogs):
        return [b.op(f"_image_{op}", ogs[0])]

    register(OpDef(f"_image_{op}", ("data",), infer, lower, grad=grad,
                   doc=f"Reverse the {'width' if which == 'lr' else 'height'} axis of an image (H, W, C) or batch "
                       "(N, H, W, C)."))


def _random_flip(which):
    op = f"random_flip_{'left_right' if which == 'lr' else 'top_bottom'}"

    def infer(in_types, attrs):
        _flip_axis(op, in_types[0], which)
        if not 0.0 <= attrs["p"] <= 1.0:
            raise AttrError(f"{op}: p must be a probability in [0, 1], got {attrs['p']}")
        return _same(in_types, attrs)

    def lower(in_types, out_types, attrs):
        t = in_types[0]
        outer, L, inner = _flip_layout(t, _flip_axis(op, t, which))
        return Lowering("image", {"kind": "random_flip", "dtype": t.dtype},
                        {"outer": outer, "L": L, "inner": inner, "p": attrs["p"]})

    register(OpDef(f"_image_{op}", ("data",), infer, lower, differentiable=False, attrs={"p": Attr("float", 0.5)},
                   doc=f"With probability p, {op[7:].replace('_', ' ')} the image or the whole batch (one draw "
                       "per call), else copy it."))


for _w in ("lr", "tb"):
    _fixed_flip(_w)
    _random_flip(_w)


# ---- random_brightness --------------------------------------------------------------------------
def _infer_brightness(in_types, attrs):
    if attrs["min_factor"] < 0 or attrs["max_factor"] < attrs["min_factor"]:
        raise AttrError(f"random_brightness: need 0 <= min_factor <= max_factor, got min_factor="
                        f"{attrs['min_factor']}, max_factor={attrs['max_factor']}")
    _check_hwc("random_brightness", in_types[0])
    return _same(in_types, attrs)


def _lower_brightness(in_types, out_types, attrs):
    t = in_types[0]
    return Lowering("image", {"kind": "brightness", "dtype": t.dtype},
                    {"n": math.prod(t.shape), "lo": attrs["min_factor"], "hi": attrs["max_factor"]})


register(OpDef("_image_random_brightness", ("data",), _infer_brightness, _lower_brightness, differentiable=False,
               attrs={"min_factor": Attr("float"), "max_factor": Attr("float")},
               doc="Multiply the image by one factor drawn uniformly from [min_factor, max_factor] per call "
                   "(integer images: clamped to the type's range, then truncated, as MXNet's saturate_cast)."))
