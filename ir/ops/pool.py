"""Pooling (MXNet 1.x): max, avg, sum and Lp pooling over 1-D, 2-D and 3-D windows (NCW / NCHW /
NCDHW), the 'valid', 'full' and 'same' conventions, global pooling and count_include_pad.

Windows follow MXNet's CPU kernels: a window starts at o * stride - pad and is clipped to the
input; max ignores what lies outside (an empty window gives the dtype's lowest value), avg
divides by the window clipped to the padded input (count_include_pad, the default) or by the
number of input elements it covers. The gradient of max goes to the first position (row-major
within the window) holding the maximum, as MXNet's unpool does.
"""
from __future__ import annotations

from ..attrs import Attr
from ..errors import MXNetError
from ..registry import Lowering, OpDef, ShapeError, register
from ..types import TensorType
from ._shape import fmt

_LAYOUTS = {1: "NCW", 2: "NCHW", 3: "NCDHW"}

POOL_ATTRS = {
    "kernel": Attr("shape", (), doc="Window size: (w,), (h, w) or (d, h, w); ignored with global_pool."),
    "pool_type": Attr("enum", "max", choices={"max", "avg", "sum", "lp"}, doc="Pooling function."),
    "global_pool": Attr("bool", False, doc="Pool over the whole spatial extent (kernel, stride, pad ignored)."),
    "cudnn_off": Attr("bool", False, doc="No effect on CPU."),
    "pooling_convention": Attr("enum", "valid", choices={"valid", "full", "same"},
                               doc="Output size: floor ('valid'), ceil ('full', Caffe), or ceil(x / stride) "
                                   "('same', 1-D only, pad must be 0)."),
    "stride": Attr("shape", (), doc="Stride per spatial dim (default 1)."),
    "pad": Attr("shape", (), doc="Padding per spatial dim (default 0)."),
    "p_value": Attr("int", None, doc="p of Lp pooling: 1, 2 or 3 (required for pool_type='lp')."),
    "count_include_pad": Attr("bool", None, doc="avg: count padding in the divisor (None means True)."),
    "layout": Attr("enum", None, choices={"NCW", "NCHW", "NCDHW", "NWC", "NHWC", "NDHWC"},
                   doc="NCW / NCHW / NCDHW (None: by the data's rank); channel-last layouts are not supported."),
}


def pool_geometry(op: str, shape, attrs: dict):
    """(kernel, stride, pad, out spatial) with MXNet's defaults, checks and output size rules."""
    shape = tuple(shape)
    if not 3 <= len(shape) <= 5:
        raise ShapeError(f"{op}: data must be 3-D (batch, channel, w), 4-D (batch, channel, h, w) or 5-D "
                         f"(batch, channel, d, h, w), got shape {fmt(shape)}")
    nd = len(shape) - 2
    lay = attrs.get("layout")
    if lay is not None and lay != _LAYOUTS[nd]:
        if lay in ("NWC", "NHWC", "NDHWC"):
            raise MXNetError(f"{op}: layout {lay} is not supported; mxcc pools {_LAYOUTS[nd]} data (transpose it)")
        raise ShapeError(f"{op}: layout {lay} does not match {nd + 2}-D data {fmt(shape)} (expected {_LAYOUTS[nd]})")
    xs = shape[2:]
    if attrs["pool_type"] == "lp" and attrs.get("p_value") not in (1, 2, 3):
        raise ShapeError(f"{op}: pool_type='lp' needs p_value 1, 2 or 3, got {attrs.get('p_value')}")
    if attrs["global_pool"]:
        return xs, (1,) * nd, (0,) * nd, (1,) * nd
    k = tuple(attrs["kernel"])
    if len(k) != nd:
        what = "is required unless global_pool=True" if not k else f"{k} does not match"
        raise ShapeError(f"{op}: kernel {what} for {nd + 2}-D data {fmt(shape)} (expected {nd} dims)")
    if any(v <= 0 for v in k):
        raise ShapeError(f"{op}: kernel sizes must be positive, got {k}")
    s = tuple(attrs["stride"]) or (1,) * nd
    p = tuple(attrs["pad"]) or (0,) * nd
    for name, v in (("stride", s), ("pad", p)):
        if len(v) != nd:
            raise ShapeError(f"{op}: {name} {v} must have the same number of dims as kernel {k}")
    if any(v <= 0 for v in s):
        raise ShapeError(f"{op}: stride must be positive in every dim, got {s}")
    if any(v < 0 for v in p):
        raise ShapeError(f"{op}: pad must be non-negative, got {p}")
    for ki, xi, pi in zip(k, xs, p):
        if ki > xi + 2 * pi:
            raise ShapeError(f"{op}: kernel {k} exceeds the padded input (data {fmt(shape)}, pad {p})")
    conv = attrs["pooling_convention"]
    if conv == "same":
        if nd != 1:
            raise ShapeError(f"{op}: pooling_convention='same' supports 1-D pooling only (3-D data), "
                             f"got data {fmt(shape)}")
        if any(p):
            raise ShapeError(f"{op}: pooling_convention='same' does not take pad, got pad {p}")
        out = tuple(-(-(xi + 2 * pi) // si) for xi, pi, si in zip(xs, p, s))
    elif conv == "full":
        out = tuple(1 + -(-(xi + 2 * pi - ki) // si) for xi, ki, pi, si in zip(xs, k, p, s))
    else:
        out = tuple(1 + (xi + 2 * pi - ki) // si for xi, ki, pi, si in zip(xs, k, p, s))
    return k, s, p, out


def _pool_infer(in_types, attrs):
    data = in_types[0]
    _, _, _, out = pool_geometry("Pooling", data.shape, attrs)
    return [TensorType(tuple(data.shape[:2]) + tuple(out), data.dtype)]


def pool_lowering(op, mode, dtype, shape, attrs) -> Lowering:
    k, s, p, out = pool_geometry(op, shape, attrs)
    lead = 3 - len(k)

    def p3(v, fill):
        return (fill,) * lead + tuple(v)

    geom = (shape[0] * shape[1], *p3(shape[2:], 1), *p3(out, 1), *p3(k, 1), *p3(s, 1), *p3(p, 0))
    cip = attrs["count_include_pad"]
    params = {"mode": mode, "dtype": dtype, "pool_type": attrs["pool_type"],
              "p": int(attrs["p_value"]) if attrs["pool_type"] == "lp" else 1,
              "count_include_pad": True if cip is None else bool(cip)}
    return Lowering("pool", params, {"op": op, "geom": geom})


def _pool_lower(in_types, out_types, attrs):
    return pool_lowering("Pooling", "fwd", in_types[0].dtype, in_types[0].shape, attrs)


def _pool_grad(b, node, ogs):
    return [b.op("_backward_Pooling", ogs[0], node.inputs[0], node.outputs[0], **node.attrs)]


register(OpDef(
    "Pooling", ("data",), _pool_infer, _pool_lower, attrs=dict(POOL_ATTRS), grad=_pool_grad,
    doc="Pooling over (batch, channel, *spatial) data: max, avg, sum or lp (p_value 1, 2, 3) over windows "
        "of `kernel` moved by `stride` over the input padded by `pad`. Output size per dim: "
        "floor((x + 2*pad - kernel) / stride) + 1 ('valid'), with ceil ('full'), or ceil(x / stride) ('same')."))


def _bwd_infer(in_types, attrs):
    op = "_backward_Pooling"
    og, data, out = in_types
    if len({t.dtype for t in in_types}) > 1:
        raise TypeError(f"{op}: out_grad, data and output must share one dtype, got "
                        f"{og.dtype}, {data.dtype}, {out.dtype}")
    _, _, _, o = pool_geometry(op, data.shape, attrs)
    expect = tuple(data.shape[:2]) + tuple(o)
    for name, t in (("out_grad", og), ("output", out)):
        if tuple(t.shape) != expect:
            raise ShapeError(f"{op}: {name} has shape {fmt(t.shape)}, expected {fmt(expect)} for data "
                             f"{fmt(data.shape)}")
    return [TensorType(data.shape, data.dtype)]


def _bwd_lower(in_types, out_types, attrs):
    return pool_lowering("_backward_Pooling", "bwd", in_types[1].dtype, in_types[1].shape, attrs)


register(OpDef(
    "_backward_Pooling", ("out_grad", "data", "output"), _bwd_infer, _bwd_lower, attrs=dict(POOL_ATTRS),
    hidden=True, differentiable=False,
    doc="Gradient of Pooling with respect to its data (max: to the first maximum of each window)."))
