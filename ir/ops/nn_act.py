"""Activation layers of MXNet 1.x: Activation, LeakyReLU (leaky, prelu, elu, selu, gelu, rrelu),
SoftmaxActivation.

Forward and backward are elementwise snippets (the `elementwise` family) except the softmax,
which reuses the `softmax` family (forward and backward kernels) over (outer, L, inner). Activation
shares its snippets and backward ops with the elementwise unary ops of the same name.
"""
from __future__ import annotations

import math

from ..attrs import Attr
from ..registry import Lowering, OpDef, register
from ..types import TensorType
from ._layers import check_float, check_same_dtype, composite, parsed, raise_shape, shape3, step
from ._shape import fmt
from .elementwise import UNARY, _pick, ewise_lowering, expr_op
from .random import largest_below, random_lowering

# ---- Activation ---------------------------------------------------------------------------------
_ACT_TYPES = ("relu", "sigmoid", "tanh", "softrelu", "softsign")


def _infer_act(in_types, attrs):
    check_float("Activation", "data", in_types[0])
    return [TensorType(in_types[0].shape, in_types[0].dtype)]


def _lower_act(in_types, out_types, attrs):
    return ewise_lowering(_pick(UNARY[attrs["act_type"]], in_types[0].dtype), in_types, out_types[0])


def _grad_act(b, node, ogs):
    act = parsed(node)["act_type"]
    return [b.op(f"_backward_{act}", ogs[0], node.inputs[0], node.outputs[0])]


register(OpDef("Activation", ("data",), _infer_act, _lower_act, grad=_grad_act,
               attrs={"act_type": Attr("enum", choices=set(_ACT_TYPES),
                                       doc="relu, sigmoid, tanh, softrelu (log(1 + exp(x))) or softsign")},
               doc="Elementwise activation: relu, sigmoid, tanh, softrelu or softsign."))


# ---- LeakyReLU ------------------------------------------------------------------------------------
_SELU_L, _SELU_A = 1.0507009873554804934193349852946, 1.6732632423543772848170429916717
# forward over a = data, s0 = slope; backward over a = out grad, b = data, c = output, s0 = slope
_LEAKY = {
    "leaky": ("(a > 0 ? a : a * (T)s0)", "(b > 0 ? a : a * (T)s0)"),
    # selects of plain values around an always-computed expm1(-|a|) (so float vectorizes); the
    # result is bit-identical to `a > 0 ? a : s0 * expm1(a)`
    "elu": ("(a > 0 ? a : (T)-0.0) + (T)s0 * MX_EXPM1(-fabs(a)) * (a > 0 ? (T)0 : (T)1)",
            "(b > 0 ? a : a * (c + (T)s0))"),
    "selu": (f"(a > 0 ? (T){_SELU_L!r} * a : (T)-0.0) "
             f"+ (T){_SELU_L * _SELU_A!r} * MX_EXPM1(-fabs(a)) * (a > 0 ? (T)0 : (T)1)",
             f"(b > 0 ? a * (T){_SELU_L!r} : a * (c + (T){_SELU_L * _SELU_A!r}))"),
    "gelu": ("(T)0.5 * a * ((T)1 + erf(a * (T)0.70710678118654752))",
             "a * ((T)0.5 * ((T)1 + erf(b * (T)0.70710678118654752)) "
             "+ b * MX_EXP((T)-0.5 * b * b) * (T)0.39894228040143268)"),
}
for _t, (_, _bwd) in _LEAKY.items():
    expr_op(f"_backward_LeakyReLU_{_t}", ("out_grad", "data", "output"), _bwd, ("slope",))
expr_op("_backward_LeakyReLU_rrelu", ("out_grad", "data", "mask"), "(b > 0 ? a : a * c)")


def _leaky_inputs(attrs):
    return ("data", "gamma") if attrs["act_type"] == "prelu" else ("data",)


def _gamma_strides(op, data, gamma):
    """Element strides reading prelu's gamma broadcast over data: one value or one per channel (axis 1)."""
    if gamma.size == 1:
        return (0,) * len(data.shape)
    if len(data.shape) < 2 or tuple(gamma.shape) != (data.shape[1],):
        raise_shape(op, f"gamma of shape {fmt(gamma.shape)} must have one element or one per channel "
                        f"(data.shape[1]) for data of shape {fmt(data.shape)}")
    return (0, 1) + (0,) * (len(data.shape) - 2)


def _infer_leaky(in_types, attrs):
    data = in_types[0]
    check_float("LeakyReLU", "data", data)
    if attrs["act_type"] == "prelu":
        check_same_dtype("LeakyReLU", ("data", "gamma"), in_types)
        _gamma_strides("LeakyReLU", data, in_types[1])
    out = TensorType(data.shape, data.dtype)
    return [out, out] if attrs["act_type"] == "rrelu" else [out]


def _infer_leaky_args(in_types, attrs):
    data = in_types[0]
    if attrs["act_type"] != "prelu" or data is None or data.shape is None or len(data.shape) < 2:
        return [None] * len(in_types)
    return [None, TensorType((data.shape[1],), data.dtype)]


def _lower_leaky(in_types, out_types, attrs):
    act, data = attrs["act_type"], in_types[0]
    out = out_types[0]
    if act in _LEAKY:
        return ewise_lowering(_LEAKY[act][0], in_types, out, scalars=(attrs["slope"],))
    if act == "prelu":
        return ewise_lowering("(a > 0 ? a : a * b)", in_types, out,
                              in_strides=(None, _gamma_strides("LeakyReLU", data, in_types[1])))
    # rrelu: the mask holds each element's negative slope, uniform in [lower, upper) in training
    # and their mean otherwise (MXNet's inference behaviour)
    lo, hi = attrs["lower_bound"], attrs["upper_bound"]
    apply = ewise_lowering("(a > 0 ? a : a * b)", [data, data], out)
    if attrs["_train"]:
        fill = random_lowering("uniform", out, (lo, hi, largest_below(hi, out.dtype) if hi > lo else hi))
    else:
        fill = ewise_lowering("(T)s0", [], out, scalars=((lo + hi) / 2,))
    return composite([fill, apply], [step(0, fill.args, (), (1,)),
                                     step(1, apply.args, (("in", 0), ("out", 1)), (0,))])


def _grad_leaky(b, node, ogs):
    attrs = parsed(node)
    act, data = attrs["act_type"], node.inputs[0]
    if act in _LEAKY:
        return [b.op(f"_backward_LeakyReLU_{act}", ogs[0], data, node.outputs[0], slope=attrs["slope"])]
    if act == "rrelu":
        return [b.op("_backward_LeakyReLU_rrelu", ogs[0], data, node.outputs[1])]
    gamma = node.inputs[1]
    dx = b.op("_backward_prelu_data", ogs[0], data, gamma)
    per = b.op("_backward_prelu_gamma", ogs[0], data)
    nd = len(data.type.shape)
    axes = tuple(range(nd)) if gamma.type.size == 1 else tuple(a for a in range(nd) if a != 1)
    dg = b.op("sum", per, axis=axes, keepdims=False) if axes else per
    if tuple(dg.type.shape) != tuple(gamma.type.shape):
        dg = b.op("Reshape", dg, shape=tuple(gamma.type.shape))
    return [dx, dg]


register(OpDef("LeakyReLU", ("data", "gamma"), _infer_leaky, _lower_leaky, grad=_grad_leaky,
               inputs_fn=_leaky_inputs, infer_args=_infer_leaky_args, train_dependent=True,
               num_outputs=lambda attrs: 2 if attrs["act_type"] == "rrelu" else 1,
               output_names=lambda attrs: ("output", "mask") if attrs["act_type"] == "rrelu" else ("output",),
               attrs={"act_type": Attr("enum", "leaky", choices={"elu", "gelu", "leaky", "prelu", "rrelu", "selu"}),
                      "slope": Attr("float", 0.25, doc="negative slope (leaky), alpha (elu)"),
                      "lower_bound": Attr("float", 0.125, doc="rrelu: lower bound of the random slope"),
                      "upper_bound": Attr("float", 0.334, doc="rrelu: upper bound of the random slope")},
               doc="Leaky rectifiers: leaky (x or slope*x), prelu (a learned slope per channel, input gamma), "
                   "elu, selu, gelu (erf form) and rrelu (a random slope in [lower_bound, upper_bound) while "
                   "training, their mean otherwise; second output: the slopes)."))


def _infer_prelu_data(in_types, attrs):
    _gamma_strides("_backward_prelu_data", in_types[1], in_types[2])
    return [TensorType(in_types[1].shape, in_types[1].dtype)]


def _lower_prelu_data(in_types, out_types, attrs):
    og, data, gamma = in_types
    return ewise_lowering("(b > 0 ? a : a * c)", in_types, out_types[0],
                          in_strides=(None, None, _gamma_strides("_backward_prelu_data", data, gamma)))


register(OpDef("_backward_prelu_data", ("out_grad", "data", "gamma"), _infer_prelu_data, _lower_prelu_data,
               hidden=True, differentiable=False, doc="PReLU's data gradient."))
expr_op("_backward_prelu_gamma", ("out_grad", "data"), "(b > 0 ? (T)0 : a * b)")


# ---- SoftmaxActivation ------------------------------------------------------------------------------
def _sa_shape(op, shape, mode):
    """(outer, L, inner) the softmax runs over: the flattened rest (instance) or axis 1 (channel)."""
    if len(shape) < (3 if mode == "channel" else 1):
        raise_shape(op, f"mode='{mode}' needs data with at least {3 if mode == 'channel' else 1} dimension(s), "
                        f"got shape {fmt(shape)}")
    if mode == "channel":
        return shape3(shape, 1)
    if len(shape) == 1:
        return 1, shape[0], 1
    return shape[0], math.prod(shape[1:]), 1


def _infer_sa(in_types, attrs):
    check_float("SoftmaxActivation", "data", in_types[0])
    _sa_shape("SoftmaxActivation", in_types[0].shape, attrs["mode"])
    return [TensorType(in_types[0].shape, in_types[0].dtype)]


def softmax_lowering(dtype, shape3_, backward=False) -> Lowering:
    """The `softmax` family over the middle dim of (outer, L, inner); backward: (out grad, output) -> dx."""
    params = {"in_dtype": dtype, "out_dtype": dtype, "acc": "double" if dtype == "float64" else "float", "log": False}
    if backward:
        params["backward"] = True
    return Lowering("softmax", params, {"shape": tuple(shape3_), "axis": 1, "inv_temperature": 1.0})


def _lower_sa(in_types, out_types, attrs):
    t = in_types[0]
    return softmax_lowering(t.dtype, _sa_shape("SoftmaxActivation", t.shape, attrs["mode"]))


def _grad_sa(b, node, ogs):
    mode = parsed(node)["mode"]
    return [b.op("_backward_SoftmaxActivation", ogs[0], node.outputs[0], mode=mode)]


_SA_ATTRS = {"mode": Attr("enum", "instance", choices={"instance", "channel"})}
register(OpDef("SoftmaxActivation", ("data",), _infer_sa, _lower_sa, grad=_grad_sa, attrs=_SA_ATTRS,
               doc="Softmax of each instance (over everything but the first axis, flattened) or, with "
                   "mode='channel', over axis 1 at every position."))


def _infer_sa_bwd(in_types, attrs):
    check_same_dtype("_backward_SoftmaxActivation", ("out_grad", "output"), in_types)
    if in_types[0].shape != in_types[1].shape:
        raise_shape("_backward_SoftmaxActivation", f"out_grad {fmt(in_types[0].shape)} and output "
                                                   f"{fmt(in_types[1].shape)} differ")
    return [TensorType(in_types[0].shape, in_types[0].dtype)]


def _lower_sa_bwd(in_types, out_types, attrs):
    t = in_types[0]
    return softmax_lowering(t.dtype, _sa_shape("SoftmaxActivation", t.shape, attrs["mode"]), backward=True)


register(OpDef("_backward_SoftmaxActivation", ("out_grad", "output"), _infer_sa_bwd, _lower_sa_bwd,
               attrs=dict(_SA_ATTRS), hidden=True, differentiable=False,
               doc="dx = y * (dy - sum(dy * y)) over SoftmaxActivation's softmax axis."))
