"""Normalization layers of MXNet 1.x: BatchNorm, LayerNorm, InstanceNorm (the `norm` kernel family).

BatchNorm (MXNet 1.x CPU semantics): in training (the executor's `_train`, unless
use_global_stats) the batch mean and biased variance normalize, and the new moving statistics
momentum * moving + (1 - momentum) * batch come out as outputs 3 and 4, which are the updated
values of the aux inputs moving_mean and moving_var. Otherwise the moving statistics
normalize. The visible "var" output is 1 / sqrt(var + eps), as MXNet 1.x returns it.
fix_gamma=True uses gamma = 1 and gives gamma a zero gradient.
"""
from __future__ import annotations

from ..attrs import Attr
from ..registry import Lowering, OpDef, register
from ..types import TensorType
from ._layers import check_float, check_same_dtype, parsed, raise_shape, shape3
from ._shape import fmt, normalize_axis


def _param_dtype(data_dtype):
    return "float32" if data_dtype == "float16" else data_dtype


def _check_params(op, names, params, n, axis_doc):
    """gamma, beta, ... : float, one dtype, shape (n,)."""
    for name, t in zip(names, params):
        check_float(op, name, t)
        if tuple(t.shape) != (n,):
            raise_shape(op, f"input '{name}' has shape {fmt(t.shape)}, expected ({n},) ({axis_doc})")
    check_same_dtype(op, names, params)


def _norm_lowering(kind, data, pdtype, stage, shape, **args):
    return Lowering("norm", {"kind": kind, "dtype": data.dtype, "pdtype": pdtype},
                    {"stage": stage, "shape": tuple(shape), **args})


# ---- BatchNorm -----------------------------------------------------------------------------------------
_BN_INPUTS = ("data", "gamma", "beta", "moving_mean", "moving_var")


def _bn_axis(op, shape, attrs):
    if not shape:
        raise_shape(op, "data must have at least one dimension, got a 0-d array")
    return normalize_axis(op, attrs["axis"], len(shape))


def _infer_bn(in_types, attrs):
    data = in_types[0]
    check_float("BatchNorm", "data", data)
    axis = _bn_axis("BatchNorm", data.shape, attrs)
    c = data.shape[axis]
    _check_params("BatchNorm", _BN_INPUTS[1:], in_types[1:], c, f"data.shape[{axis}], the channel axis")
    p = TensorType((c,), in_types[1].dtype)
    return [TensorType(data.shape, data.dtype), p, p, p, p]


def _infer_bn_args(in_types, attrs):
    data = in_types[0]
    if data is None or data.shape is None or None in data.shape or not data.shape:
        return [None] * len(in_types)
    c = data.shape[_bn_axis("BatchNorm", data.shape, attrs)]
    return [None] + [TensorType((c,), _param_dtype(data.dtype))] * 4


def _bn_train(attrs):
    return bool(attrs["_train"]) and not attrs["use_global_stats"]


def _lower_bn(in_types, out_types, attrs):
    data = in_types[0]
    axis = _bn_axis("BatchNorm", data.shape, attrs)
    return _norm_lowering("bn", data, in_types[1].dtype, "fwd", shape3(data.shape, axis), eps=attrs["eps"],
                          momentum=attrs["momentum"], train=_bn_train(attrs), fix_gamma=attrs["fix_gamma"])


def _grad_bn(b, node, ogs):
    a = parsed(node)
    data, gamma = node.inputs[:2]
    dx, dg, db = b.op("_backward_BatchNorm", ogs[0], data, gamma, node.outputs[1], node.outputs[2],
                      axis=a["axis"], fix_gamma=a["fix_gamma"], train=_bn_train(a))
    return [dx, dg, db, None, None]


register(OpDef(
    "BatchNorm", _BN_INPUTS, _infer_bn, _lower_bn, grad=_grad_bn, train_dependent=True, num_outputs=5,
    aux_inputs=("moving_mean", "moving_var"), updates={3: 3, 4: 4},
    num_visible_outputs=lambda attrs: 3 if attrs["output_mean_var"] else 1,
    output_names=("output", "mean", "var", "moving_mean", "moving_var"), infer_args=_infer_bn_args,
    attrs={"eps": Attr("float", 1e-3), "momentum": Attr("float", 0.9), "fix_gamma": Attr("bool", True),
           "use_global_stats": Attr("bool", False), "output_mean_var": Attr("bool", False),
           "axis": Attr("int", 1), "cudnn_off": Attr("bool", False),
           "min_calib_range": Attr("float", None, doc="quantization only; ignored"),
           "max_calib_range": Attr("float", None, doc="quantization only; ignored")},
    doc="Batch normalization over the channel axis `axis`: (x - mean) / sqrt(var + eps) * gamma + beta, "
        "with batch statistics in training (updating moving_mean, moving_var by `momentum`) and the moving "
        "statistics otherwise or with use_global_stats. Outputs: output[, mean, var (as 1/sqrt(var + eps))]."))


def _infer_bn_bwd(in_types, attrs):
    dy, data, gamma, mean, rstd = in_types
    axis = _bn_axis("_backward_BatchNorm", data.shape, attrs)
    if tuple(dy.shape) != tuple(data.shape):
        raise_shape("_backward_BatchNorm", f"out_grad of shape {fmt(dy.shape)}, expected {fmt(data.shape)}")
    c = data.shape[axis]
    _check_params("_backward_BatchNorm", ("gamma", "mean", "var"), (gamma, mean, rstd), c, "channels")
    p = TensorType((c,), gamma.dtype)
    return [TensorType(data.shape, data.dtype), p, p]


def _lower_bn_bwd(in_types, out_types, attrs):
    data = in_types[1]
    axis = _bn_axis("_backward_BatchNorm", data.shape, attrs)
    return _norm_lowering("bn", data, in_types[2].dtype, "bwd", shape3(data.shape, axis), eps=0.0,
                          train=attrs["train"], fix_gamma=attrs["fix_gamma"])


register(OpDef("_backward_BatchNorm", ("out_grad", "data", "gamma", "mean", "var"), _infer_bn_bwd, _lower_bn_bwd,
               num_outputs=3, hidden=True, differentiable=False,
               attrs={"axis": Attr("int", 1), "fix_gamma": Attr("bool", True), "train": Attr("bool", True)},
               doc="BatchNorm's gradients (data, gamma, beta) from the forward's mean and 1/sqrt(var + eps)."))


# ---- LayerNorm ---------------------------------------------------------------------------------------
def _ln_axis(op, shape, attrs):
    if not shape:
        raise_shape(op, "data must have at least one dimension, got a 0-d array")
    return normalize_axis(op, attrs["axis"], len(shape))


def _infer_ln(in_types, attrs):
    data = in_types[0]
    check_float("LayerNorm", "data", data)
    axis = _ln_axis("LayerNorm", data.shape, attrs)
    n = data.shape[axis]
    _check_params("LayerNorm", ("gamma", "beta"), in_types[1:], n, f"data.shape[{axis}], the normalized axis")
    stat = TensorType(data.shape[:axis] + (1,) + data.shape[axis + 1:], in_types[1].dtype)
    return [TensorType(data.shape, data.dtype), stat, stat]


def _infer_ln_args(in_types, attrs):
    data = in_types[0]
    if data is None or data.shape is None or None in data.shape or not data.shape:
        return [None] * len(in_types)
    n = data.shape[_ln_axis("LayerNorm", data.shape, attrs)]
    return [None] + [TensorType((n,), _param_dtype(data.dtype))] * 2


def _lower_ln(in_types, out_types, attrs):
    data = in_types[0]
    axis = _ln_axis("LayerNorm", data.shape, attrs)
    return _norm_lowering("ln", data, in_types[1].dtype, "fwd", shape3(data.shape, axis), eps=attrs["eps"])


def _grad_ln(b, node, ogs):
    a = parsed(node)
    data, gamma = node.inputs[:2]
    dx, dg, db = b.op("_backward_LayerNorm", ogs[0], data, gamma, node.outputs[1], node.outputs[2], axis=a["axis"])
    return [dx, dg, db]


register(OpDef(
    "LayerNorm", ("data", "gamma", "beta"), _infer_ln, _lower_ln, grad=_grad_ln, num_outputs=3,
    num_visible_outputs=lambda attrs: 3 if attrs["output_mean_var"] else 1, output_names=("output", "mean", "std"),
    infer_args=_infer_ln_args,
    attrs={"axis": Attr("int", -1), "eps": Attr("float", 1e-5), "output_mean_var": Attr("bool", False)},
    doc="Layer normalization along `axis`: (x - mean) / sqrt(var + eps) * gamma + beta. Outputs: output[, mean, "
        "std] (statistics keep the axis with size 1; std = sqrt(var + eps))."))


def _infer_ln_bwd(in_types, attrs):
    dy, data, gamma, mean, std = in_types
    axis = _ln_axis("_backward_LayerNorm", data.shape, attrs)
    if tuple(dy.shape) != tuple(data.shape):
        raise_shape("_backward_LayerNorm", f"out_grad of shape {fmt(dy.shape)}, expected {fmt(data.shape)}")
    stat = data.shape[:axis] + (1,) + data.shape[axis + 1:]
    for name, t in (("mean", mean), ("std", std)):
        if tuple(t.shape) != stat:
            raise_shape("_backward_LayerNorm", f"{name} of shape {fmt(t.shape)}, expected {fmt(stat)}")
    p = TensorType(gamma.shape, gamma.dtype)
    return [TensorType(data.shape, data.dtype), p, p]


def _lower_ln_bwd(in_types, out_types, attrs):
    data = in_types[1]
    axis = _ln_axis("_backward_LayerNorm", data.shape, attrs)
    return _norm_lowering("ln", data, in_types[2].dtype, "bwd", shape3(data.shape, axis))


register(OpDef("_backward_LayerNorm", ("out_grad", "data", "gamma", "mean", "std"), _infer_ln_bwd, _lower_ln_bwd,
               num_outputs=3, hidden=True, differentiable=False, attrs={"axis": Attr("int", -1)},
               doc="LayerNorm's gradients (data, gamma, beta) from the forward's mean and std."))


# ---- InstanceNorm ------------------------------------------------------------------------------------
def _in_geometry(op, shape):
    if len(shape) < 3:
        raise_shape(op, f"data must have at least 3 dimensions (batch, channel, spatial...), got {fmt(shape)}")
    n, c, s = shape3(shape, 1)
    return n, c, s


def _infer_in(in_types, attrs):
    data = in_types[0]
    check_float("InstanceNorm", "data", data)
    n, c, _ = _in_geometry("InstanceNorm", data.shape)
    _check_params("InstanceNorm", ("gamma", "beta"), in_types[1:], c, "data.shape[1], the channel axis")
    stat = TensorType((n, c), in_types[1].dtype)
    return [TensorType(data.shape, data.dtype), stat, stat]


def _infer_in_args(in_types, attrs):
    data = in_types[0]
    if data is None or data.shape is None or None in data.shape or len(data.shape) < 2:
        return [None] * len(in_types)
    return [None] + [TensorType((data.shape[1],), _param_dtype(data.dtype))] * 2


def _lower_in(in_types, out_types, attrs):
    data = in_types[0]
    return _norm_lowering("in", data, in_types[1].dtype, "fwd", _in_geometry("InstanceNorm", data.shape),
                          eps=attrs["eps"])


def _grad_in(b, node, ogs):
    data, gamma = node.inputs[:2]
    dx, dg, db = b.op("_backward_InstanceNorm", ogs[0], data, gamma, node.outputs[1], node.outputs[2],
                      eps=parsed(node)["eps"])
    return [dx, dg, db]


register(OpDef("InstanceNorm", ("data", "gamma", "beta"), _infer_in, _lower_in, grad=_grad_in, num_outputs=3,
               num_visible_outputs=1, output_names=("output", "mean", "var"), infer_args=_infer_in_args,
               attrs={"eps": Attr("float", 1e-3)},
               doc="Instance normalization: each (sample, channel) over its spatial positions, "
                   "(x - mean) / sqrt(var + eps) * gamma[c] + beta[c]."))


def _infer_in_bwd(in_types, attrs):
    dy, data, gamma, mean, var = in_types
    n, c, _ = _in_geometry("_backward_InstanceNorm", data.shape)
    if tuple(dy.shape) != tuple(data.shape) or tuple(mean.shape) != (n, c) or tuple(var.shape) != (n, c):
        raise_shape("_backward_InstanceNorm", f"shapes out_grad {fmt(dy.shape)}, mean {fmt(mean.shape)}, var "
                                              f"{fmt(var.shape)} do not fit data {fmt(data.shape)}")
    p = TensorType(gamma.shape, gamma.dtype)
    return [TensorType(data.shape, data.dtype), p, p]


def _lower_in_bwd(in_types, out_types, attrs):
    data = in_types[1]
    return _norm_lowering("in", data, in_types[2].dtype, "bwd", _in_geometry("_backward_InstanceNorm", data.shape),
                          eps=attrs["eps"])


register(OpDef("_backward_InstanceNorm", ("out_grad", "data", "gamma", "mean", "var"), _infer_in_bwd, _lower_in_bwd,
               num_outputs=3, hidden=True, differentiable=False, attrs={"eps": Attr("float", 1e-3)},
               doc="InstanceNorm's gradients (data, gamma, beta) from the forward's mean and variance."))
