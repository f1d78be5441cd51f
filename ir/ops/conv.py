"""Convolution and Deconvolution (MXNet 1.x), 1-D, 2-D and 3-D, NCW / NCHW / NCDHW.

Both lower to the `conv` kernel family, which has three modes over one geometry
(N, C, groups, F, input spatial dims, output spatial dims, kernel, stride, pad, dilate):

  fwd         y = conv(x, w) (+ bias per filter)              Convolution
  bwd_data    x = conv^T(y, w) (+ bias per channel of x)      Deconvolution, and conv's data gradient
  bwd_weight  dw = corr(x, dy)                                 _backward_Convolution_weight

so Convolution's data gradient is a Deconvolution with the same geometry (plus the `adj`
that recovers the input size), and Deconvolution's data gradient is a Convolution.
"""
from __future__ import annotations

from ..attrs import Attr
from ..errors import MXNetError
from ..registry import Lowering, OpDef, ShapeError, register
from ..types import TensorType
from ._shape import fmt

_LAYOUTS = {1: "NCW", 2: "NCHW", 3: "NCDHW"}
_TUNE = Attr("enum", None, choices={"off", "limited_workspace", "fastest"},
             doc="cuDNN algorithm search (no effect on CPU).")


def _layout_attr():
    return Attr("enum", None, choices={"NCW", "NCHW", "NCDHW", "NHWC", "NDHWC"},
                doc="NCW / NCHW / NCDHW (None: by the kernel's rank); NHWC and NDHWC are GPU-only in MXNet.")


CONV_ATTRS = {
    "kernel": Attr("shape", doc="Kernel size: (w,), (h, w) or (d, h, w)."),
    "stride": Attr("shape", (), doc="Stride per spatial dim (default 1)."),
    "dilate": Attr("shape", (), doc="Dilation per spatial dim (default 1)."),
    "pad": Attr("shape", (), doc="Zero padding per spatial dim (default 0)."),
    "num_filter": Attr("int", low=1, doc="Number of output channels."),
    "num_group": Attr("int", 1, low=1, doc="Number of groups the channels are split into."),
    "workspace": Attr("int", 1024, low=0, doc="Workspace limit in MB (no effect: mxcc sizes its own)."),
    "no_bias": Attr("bool", False, doc="Disable the bias input."),
    "cudnn_tune": _TUNE,
    "cudnn_off": Attr("bool", False, doc="No effect on CPU."),
    "layout": _layout_attr(),
}

DECONV_ATTRS = {
    "kernel": Attr("shape", doc="Kernel size: (w,), (h, w) or (d, h, w)."),
    "stride": Attr("shape", (), doc="Stride of the corresponding convolution (default 1)."),
    "dilate": Attr("shape", (), doc="Dilation (default 1)."),
    "pad": Attr("shape", (), doc="Padding of the corresponding convolution (ignored with target_shape)."),
    "adj": Attr("shape", (), doc="Extra output size at the end of each dim, < stride (ignored with target_shape)."),
    "target_shape": Attr("shape", (), doc="Output spatial shape; pad and adj are computed from it."),
    "num_filter": Attr("int", low=1, doc="Number of output channels."),
    "num_group": Attr("int", 1, low=1, doc="Number of groups."),
    "workspace": Attr("int", 512, low=0, doc="Workspace limit in MB (no effect)."),
    "no_bias": Attr("bool", True, doc="Disable the bias input (MXNet's default for Deconvolution)."),
    "cudnn_tune": _TUNE,
    "cudnn_off": Attr("bool", False, doc="No effect on CPU."),
    "layout": _layout_attr(),
}

# the geometry a hidden backward op needs
_GEOM_ATTRS = {k: CONV_ATTRS[k] for k in ("kernel", "stride", "dilate", "pad", "num_group")}


# ---- geometry ------------------------------------------------------------------------------
def spatial_params(op: str, attrs: dict, names=("stride", "dilate", "pad")) -> tuple:
    """(kernel, stride, dilate, pad[, adj]) as tuples of the kernel's rank, defaults filled in."""
    kernel = tuple(attrs["kernel"])
    nd = len(kernel)
    if not 1 <= nd <= 3:
        raise ShapeError(f"{op}: kernel must have 1, 2 or 3 dims ((w,), (h, w) or (d, h, w)), got {kernel}")
    if any(k <= 0 for k in kernel):
        raise ShapeError(f"{op}: kernel sizes must be positive, got {kernel}")
    default = {"stride": 1, "dilate": 1, "pad": 0, "adj": 0, "target_shape": 0}
    out = [kernel]
    for name in names:
        v = tuple(attrs.get(name) or ())
        if not v:
            v = (default[name],) * nd
        if len(v) != nd:
            raise ShapeError(f"{op}: {name} {v} must have the same number of dims as kernel {kernel}")
        if name in ("stride", "dilate") and any(s <= 0 for s in v):
            raise ShapeError(f"{op}: {name} must be positive in every dim, got {v}")
        if name in ("pad", "adj", "target_shape") and any(s < 0 for s in v):
            raise ShapeError(f"{op}: {name} must be non-negative, got {v}")
        out.append(v)
    return tuple(out)


def _check_layout(op: str, attrs: dict, nd: int):
    lay = attrs.get("layout")
    if lay is not None and lay != _LAYOUTS[nd]:
        if lay in ("NHWC", "NDHWC"):
            raise MXNetError(f"{op}: layout {lay} is only supported on GPU in MXNet; mxcc runs "
                             f"{_LAYOUTS[nd]} (transpose the data)")
        raise ShapeError(f"{op}: layout {lay} does not match a {nd}-D kernel (expected {_LAYOUTS[nd]})")


def _check_data(op: str, shape, nd: int, what="data"):
    if len(shape) != nd + 2:
        raise ShapeError(f"{op}: {what} must be {nd + 2}-D ({_LAYOUTS[nd]}: batch, channel, "
                         f"{'spatial dims' if nd > 1 else 'width'}) for a {nd}-D kernel, got shape {fmt(shape)}")


def conv_out_size(op: str, x, k, s, p, d) -> tuple:
    """MXNet's floor((x + 2p - d(k-1) - 1) / s) + 1 per dim, with its 'kernel exceeds input' check."""
    out = []
    for xi, ki, si, pi, di in zip(x, k, s, p, d):
        dk = di * (ki - 1) + 1
        if dk > xi + 2 * pi:
            raise ShapeError(f"{op}: dilated kernel size {dk} exceeds the padded input size {xi + 2 * pi} "
                             f"(input {tuple(x)}, kernel {tuple(k)}, dilate {tuple(d)}, pad {tuple(p)})")
        out.append((xi + 2 * pi - dk) // si + 1)
    return tuple(out)


def _same_dtype(op, in_types, names):
    dts = {t.dtype for t in in_types}
    if len(dts) > 1:
        got = ", ".join(f"{n}={t.dtype}" for n, t in zip(names, in_types))
        raise TypeError(f"{op}: inputs must share one dtype, got {got}")


def _expect(op, name, t, shape):
    if tuple(t.shape) != tuple(shape):
        raise ShapeError(f"{op}: {name} has shape {fmt(t.shape)}, expected {fmt(shape)}")


def geometry(N, C, G, F, xs, ys, k, s, p, d) -> tuple:
    """The conv family's run-time geometry: every spatial tuple padded to 3-D with leading unit dims."""
    lead = 3 - len(k)

    def p3(v, fill):
        return (fill,) * lead + tuple(v)

    return (N, C, G, F, *p3(xs, 1), *p3(ys, 1), *p3(k, 1), *p3(s, 1), *p3(p, 0), *p3(d, 1))


def conv_lowering(op: str, mode: str, dtype: str, bias: bool, geom: tuple) -> Lowering:
    return Lowering("conv", {"mode": mode, "dtype": dtype, "bias": bool(bias)}, {"op": op, "geom": tuple(geom)})


# ---- Convolution ---------------------------------------------------------------------------
def _conv_inputs(attrs):
    return ("data", "weight") if attrs["no_bias"] else ("data", "weight", "bias")


def _conv_setup(op, data_shape, attrs):
    k, s, d, p = spatial_params(op, attrs)
    nd = len(k)
    _check_layout(op, attrs, nd)
    _check_data(op, data_shape, nd)
    C, F, G = data_shape[1], attrs["num_filter"], attrs["num_group"]
    if C % G:
        raise ShapeError(f"{op}: the {C} input channels of data {fmt(data_shape)} must divide into "
                         f"num_group={G} groups")
    if F % G:
        raise ShapeError(f"{op}: num_filter={F} must divide into num_group={G} groups")
    return k, s, d, p


def _conv_infer(in_types, attrs):
    op = "Convolution"
    _same_dtype(op, in_types, _conv_inputs(attrs))
    data = in_types[0]
    k, s, d, p = _conv_setup(op, data.shape, attrs)
    N, C = data.shape[:2]
    F, G = attrs["num_filter"], attrs["num_group"]
    _expect(op, "weight", in_types[1], (F, C // G, *k))
    if not attrs["no_bias"]:
        _expect(op, "bias", in_types[2], (F,))
    out = conv_out_size(op, data.shape[2:], k, s, p, d)
    return [TensorType((N, F, *out), data.dtype)]


def _conv_infer_args(in_types, attrs):
    data = in_types[0]
    if data is None or data.shape is None or len(data.shape) < 2 or data.shape[1] is None:
        return None
    k, _, _, _ = _conv_setup("Convolution", data.shape, attrs)
    F, G = attrs["num_filter"], attrs["num_group"]
    out = [None, TensorType((F, data.shape[1] // G, *k), data.dtype)]
    if not attrs["no_bias"]:
        out.append(TensorType((F,), data.dtype))
    return out


def _conv_lower(in_types, out_types, attrs):
    data, out = in_types[0], out_types[0]
    k, s, d, p = spatial_params("Convolution", attrs)
    N, C = data.shape[:2]
    geom = geometry(N, C, attrs["num_group"], attrs["num_filter"], data.shape[2:], out.shape[2:], k, s, p, d)
    return conv_lowering("Convolution", "fwd", data.dtype, not attrs["no_bias"], geom)


def _bias_grad(b, og):
    return b.op("sum", og, axis=(0, *range(2, len(og.type.shape))), keepdims=False)


def _conv_grad(b, node, ogs):
    from ..registry import get

    attrs = get("Convolution").parse_attrs(node.attrs)
    data, weight = node.inputs[:2]
    og = ogs[0]
    k, s, d, p = spatial_params("Convolution", attrs)
    xs, ys = data.type.shape[2:], og.type.shape[2:]
    # the part of the input the last window does not reach: Deconvolution's adj restores it
    adj = tuple(x - ((y - 1) * si - 2 * pi + di * (ki - 1) + 1) for x, y, si, pi, di, ki in zip(xs, ys, s, p, d, k))
    geo = dict(kernel=k, stride=s, dilate=d, pad=p, num_group=attrs["num_group"])
    dx = b.op("Deconvolution", og, weight, adj=adj, num_filter=data.type.shape[1], no_bias=True, **geo)
    dw = b.op("_backward_Convolution_weight", og, data, **geo)
    grads = [dx, dw]
    if not attrs["no_bias"]:
        grads.append(_bias_grad(b, og))
    return grads


register(OpDef(
    "Convolution", ("data", "weight", "bias"), _conv_infer, _conv_lower, attrs=dict(CONV_ATTRS), grad=_conv_grad,
    inputs_fn=_conv_inputs, infer_args=_conv_infer_args,
    doc="N-D convolution (cross-correlation) of (batch, channel, *spatial) data with weight "
        "(num_filter, channel / num_group, *kernel), plus bias (num_filter,) unless no_bias. Output size per "
        "dim: floor((x + 2*pad - dilate*(kernel-1) - 1) / stride) + 1."))


# ---- Deconvolution -------------------------------------------------------------------------
def deconv_setup(op, data_shape, attrs):
    """(kernel, stride, dilate, effective pad, output spatial) following MXNet's InferPad."""
    k, s, d, p, adj, target = spatial_params(op, attrs, ("stride", "dilate", "pad", "adj", "target_shape"))
    nd = len(k)
    _check_layout(op, attrs, nd)
    _check_data(op, data_shape, nd)
    C, F, G = data_shape[1], attrs["num_filter"], attrs["num_group"]
    if C % G:
        raise ShapeError(f"{op}: the {C} input channels of data {fmt(data_shape)} must divide into "
                         f"num_group={G} groups")
    if F % G:
        raise ShapeError(f"{op}: num_filter={F} must divide into num_group={G} groups")
    xs = data_shape[2:]
    if any(t != 0 for t in target):
        pad, adj = [], []
        for xi, ki, si, di, ti in zip(xs, k, s, d, target):
            full = si * (xi - 1) + di * (ki - 1) + 1
            if full < ti:
                raise ShapeError(f"{op}: target_shape {target} is too big for input {fmt(data_shape)} "
                                 f"(at most {full} in that dim with kernel {k}, stride {s}, dilate {d})")
            pad.append((full - ti + 1) // 2)
            adj.append((full - ti) % 2)
        p, adj = tuple(pad), tuple(adj)
    for a, si in zip(adj, s):
        if a >= si:
            raise ShapeError(f"{op}: adj {adj} must be smaller than stride {s} in every dim")
    out = tuple(si * (xi - 1) + di * (ki - 1) + 1 - 2 * pi + ai for xi, ki, si, di, pi, ai in zip(xs, k, s, d, p, adj))
    if any(o <= 0 for o in out):
        raise ShapeError(f"{op}: output size {out} is not positive (input {fmt(data_shape)}, kernel {k}, "
                         f"stride {s}, dilate {d}, pad {p}, adj {adj})")
    return k, s, d, p, out


def _deconv_infer(in_types, attrs):
    op = "Deconvolution"
    _same_dtype(op, in_types, _conv_inputs(attrs))
    data = in_types[0]
    k, _, _, _, out = deconv_setup(op, data.shape, attrs)
    N, C = data.shape[:2]
    F, G = attrs["num_filter"], attrs["num_group"]
    _expect(op, "weight", in_types[1], (C, F // G, *k))
    if not attrs["no_bias"]:
        _expect(op, "bias", in_types[2], (F,))
    return [TensorType((N, F, *out), data.dtype)]


def _deconv_infer_args(in_types, attrs):
    data = in_types[0]
    if data is None or data.shape is None or len(data.shape) < 2 or data.shape[1] is None:
        return None
    k = spatial_params("Deconvolution", attrs, ())[0]
    _check_data("Deconvolution", data.shape, len(k))
    F, G = attrs["num_filter"], attrs["num_group"]
    out = [None, TensorType((data.shape[1], F // G, *k), data.dtype)]
    if not attrs["no_bias"]:
        out.append(TensorType((F,), data.dtype))
    return out


def _deconv_lower(in_types, out_types, attrs):
    data, out = in_types[0], out_types[0]
    k, s, d, p, _ = deconv_setup("Deconvolution", data.shape, attrs)
    N, Cin = data.shape[:2]
    # the convolution this is the data gradient of: its input is our output, its output our input
    geom = geometry(N, attrs["num_filter"], attrs["num_group"], Cin, out.shape[2:], data.shape[2:], k, s, p, d)
    return conv_lowering("Deconvolution", "bwd_data", data.dtype, not attrs["no_bias"], geom)


def _deconv_grad(b, node, ogs):
    from ..registry import get

    attrs = get("Deconvolution").parse_attrs(node.attrs)
    data, weight = node.inputs[:2]
    og = ogs[0]
    k, s, d, p, _ = deconv_setup("Deconvolution", data.type.shape, attrs)
    geo = dict(kernel=k, stride=s, dilate=d, pad=p, num_group=attrs["num_group"])
    dx = b.op("Convolution", og, weight, num_filter=data.type.shape[1], no_bias=True, **geo)
    dw = b.op("_backward_Convolution_weight", data, og, **geo)
    grads = [dx, dw]
    if not attrs["no_bias"]:
        grads.append(_bias_grad(b, og))
    return grads


register(OpDef(
    "Deconvolution", ("data", "weight", "bias"), _deconv_infer, _deconv_lower, attrs=dict(DECONV_ATTRS),
    grad=_deconv_grad, inputs_fn=_conv_inputs, infer_args=_deconv_infer_args,
    doc="Transposed convolution (the gradient of Convolution with respect to its input): data "
        "(batch, channel, *spatial), weight (channel, num_filter / num_group, *kernel), bias (num_filter,) "
        "unless no_bias (the default). Output size per dim: stride*(x-1) + dilate*(kernel-1) + 1 - 2*pad + adj, "
        "or target_shape."))


# ---- weight gradient -----------------------------------------------------------------------
def _bwd_weight_infer(in_types, attrs):
    op = "_backward_Convolution_weight"
    _same_dtype(op, in_types, ("out_grad", "data"))
    og, data = in_types
    k, s, d, p = _conv_setup(op, data.shape, {**attrs, "num_filter": og.shape[1] if len(og.shape) > 1 else 1})
    _check_data(op, og.shape, len(k), "out_grad")
    ys = conv_out_size(op, data.shape[2:], k, s, p, d)
    _expect(op, "out_grad", og, (data.shape[0], og.shape[1], *ys))
    return [TensorType((og.shape[1], data.shape[1] // attrs["num_group"], *k), data.dtype)]


def _bwd_weight_lower(in_types, out_types, attrs):
    og, data = in_types
    k, s, d, p = spatial_params("_backward_Convolution_weight", attrs)
    N, C = data.shape[:2]
    geom = geometry(N, C, attrs["num_group"], og.shape[1], data.shape[2:], og.shape[2:], k, s, p, d)
    return conv_lowering("_backward_Convolution_weight", "bwd_weight", data.dtype, False, geom)


register(OpDef(
    "_backward_Convolution_weight", ("out_grad", "data"), _bwd_weight_infer, _bwd_weight_lower,
    attrs=dict(_GEOM_ATTRS), hidden=True, differentiable=False,
    doc="Gradient of Convolution with respect to its weight: the correlation of data with out_grad, "
        "summed over the batch; shape (num_filter, channel / num_group, *kernel)."))
