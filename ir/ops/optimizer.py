"""Fused optimizer updates (MXNet 1.x: sgd_update, sgd_mom_update, nag_mom_update, adam_update,
rmsprop_update, rmspropalex_update, plus adagrad_update and adadelta_update for the dense
AdaGrad/AdaDelta rules that MXNet's Python optimizers spell as several NDArray ops).

Inputs are (weight, grad, *states); outputs are the new weight and the new states, so
`outputs[1 + k]` is the new value of input `2 + k` (OpDef.updates). Called with the input
buffers as outputs (the optimizer does) the `update` kernel family rewrites weight and
states in place in one pass. Each rule is a C snippet over the locals `w` (weight), `grad`,
the states (by input name, read-write) and the scalar attributes, in the compute type `T`;
it defines `w_new`. The formulas and their order of operations follow MXNet's kernels
(src/operator/optimizer_op-inl.h), clipping only when clip_gradient >= 0.
"""
from __future__ import annotations

from ..attrs import Attr
from ..registry import Lowering, OpDef, ShapeError, register
from ..types import DTYPES, TensorType
from ._shape import fmt

_CLIP_GRAD = "if (clip_gradient >= 0) gr = MX_CLIP(gr, clip_gradient);\n"

# name: (state inputs, scalar attrs in MXNet's order (None = required), body, doc)
RULES = {
    "sgd_update": (
        (), {"lr": None, "wd": 0.0, "rescale_grad": 1.0, "clip_gradient": -1.0},
        "T w_new = clip_gradient >= 0\n"
        "    ? ((T)1 - lr * wd) * w - lr * MX_CLIP(rescale_grad * grad, clip_gradient)\n"
        "    : ((T)1 - lr * wd) * w - (lr * rescale_grad) * grad;\n",
        "weight = (1 - lr * wd) * weight - lr * clip(rescale_grad * grad, clip_gradient)"),
    "sgd_mom_update": (
        ("mom",), {"lr": None, "momentum": 0.0, "wd": 0.0, "rescale_grad": 1.0, "clip_gradient": -1.0},
        "mom = clip_gradient >= 0\n"
        "    ? momentum * mom - lr * wd * w - lr * MX_CLIP(rescale_grad * grad, clip_gradient)\n"
        "    : momentum * mom - lr * wd * w - lr * rescale_grad * grad;\n"
        "T w_new = w + mom;\n",
        "mom = momentum * mom - lr * wd * weight - lr * clip(rescale_grad * grad, clip_gradient); "
        "weight = weight + mom"),
    "nag_mom_update": (
        ("mom",), {"lr": None, "momentum": 0.0, "wd": 0.0, "rescale_grad": 1.0, "clip_gradient": -1.0},
        "T gr = rescale_grad * grad;\n" + _CLIP_GRAD +
        "mom = momentum * mom;\n"
        "T w_new = w - mom + (momentum + 1) * (mom - lr * (gr + wd * w));\n"
        "/* MXNet stores the new weight before it updates mom and reads the weight again, so in place\n"
        "   the decay term of mom sees the new weight: keep that */\n"
        "mom = mom - lr * (gr + wd * (inplace ? w_new : w));\n",
        "mom = momentum * mom; weight = weight - mom + (momentum + 1) * (mom - lr * (g + wd * weight)); "
        "mom = mom - lr * (g + wd * weight), g = clip(rescale_grad * grad, clip_gradient)"),
    "adam_update": (
        ("mean", "var"),
        {"lr": None, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8, "wd": 0.0, "rescale_grad": 1.0,
         "clip_gradient": -1.0},
        "T gr = grad * rescale_grad + w * wd;\n" + _CLIP_GRAD +
        "mean = beta1 * mean + ((T)1 - beta1) * gr;\n"
        "var = beta2 * var + ((T)1 - beta2) * gr * gr;\n"
        "T w_new = w - lr * mean / (sqrt(var) + epsilon);\n",
        "g = clip(rescale_grad * grad + wd * weight, clip_gradient); mean = beta1 * mean + (1 - beta1) * g; "
        "var = beta2 * var + (1 - beta2) * g^2; weight = weight - lr * mean / (sqrt(var) + epsilon)"),
    "rmsprop_update": (
        ("n",),
        {"lr": None, "gamma1": 0.95, "epsilon": 1e-8, "wd": 0.0, "rescale_grad": 1.0, "clip_gradient": -1.0,
         "clip_weights": -1.0},
        "T gr = rescale_grad * grad + wd * w;\n" + _CLIP_GRAD +
        "n = ((T)1 - gamma1) * (gr * gr) + gamma1 * n;\n"
        "T w_new = w - lr * (gr / sqrt(n + epsilon));\n"
        "if (clip_weights >= 0) w_new = MX_CLIP(w_new, clip_weights);\n",
        "g = clip(rescale_grad * grad + wd * weight, clip_gradient); n = (1 - gamma1) * g^2 + gamma1 * n; "
        "weight = clip(weight - lr * g / sqrt(n + epsilon), clip_weights) (Tieleman & Hinton)"),
    "rmspropalex_update": (
        ("n", "g", "delta"),
        {"lr": None, "gamma1": 0.95, "gamma2": 0.9, "epsilon": 1e-8, "wd": 0.0, "rescale_grad": 1.0,
         "clip_gradient": -1.0, "clip_weights": -1.0},
        "T gr = rescale_grad * grad + wd * w;\n" + _CLIP_GRAD +
        "n = ((T)1 - gamma1) * gr * gr + gamma1 * n;\n"
        "g = ((T)1 - gamma1) * gr + gamma1 * g;\n"
        "delta = gamma2 * delta - (lr * gr / sqrt(n - g * g + epsilon));\n"
        "T w_new = w + delta;\n"
        "if (clip_weights >= 0) w_new = MX_CLIP(w_new, clip_weights);\n",
        "centered RMSProp (Graves 2013): n, g running moments of the gradient, delta the momentum step; "
        "weight = clip(weight + delta, clip_weights)"),
    "adagrad_update": (
        ("history",), {"lr": None, "epsilon": 1e-7, "wd": 0.0, "rescale_grad": 1.0, "clip_gradient": -1.0},
        "T gr = rescale_grad * grad;\n" + _CLIP_GRAD +
        "history = history + gr * gr;\n"
        "T w_new = w + (gr / sqrt(history + epsilon) + w * wd) * -lr;\n",
        "g = clip(rescale_grad * grad, clip_gradient); history += g^2; "
        "weight -= lr * (g / sqrt(history + epsilon) + wd * weight) (MXNet's dense AdaGrad rule)"),
    "adadelta_update": (
        ("acc_g", "acc_delta"), {"rho": 0.9, "epsilon": 1e-5, "wd": 0.0, "rescale_grad": 1.0, "clip_gradient": -1.0},
        "T gr = grad * rescale_grad;\n" + _CLIP_GRAD +
        "acc_g = rho * acc_g + ((T)1 - rho) * gr * gr;\n"
        "const T cur = sqrt(acc_delta + epsilon) / sqrt(acc_g + epsilon) * gr;\n"
        "acc_delta = rho * acc_delta + ((T)1 - rho) * cur * cur;\n"
        "T w_new = w - (cur + wd * w);\n",
        "g = clip(rescale_grad * grad, clip_gradient); acc_g = rho * acc_g + (1 - rho) * g^2; "
        "d = sqrt(acc_delta + epsilon) / sqrt(acc_g + epsilon) * g; acc_delta = rho * acc_delta + (1 - rho) * d^2; "
        "weight -= d + wd * weight (MXNet's AdaDelta rule)"),
}

# MXNet's flags that only matter for sparse storage: accepted, no effect on dense arrays
_SPARSE_FLAGS = {"sgd_update", "sgd_mom_update", "adam_update"}


def _make(name, states, scalars, body, doc):
    def infer(in_types, attrs):
        w = in_types[0]
        if not DTYPES[w.dtype].is_float:
            raise TypeError(f"{name}: weight must be float16, float32 or float64, got {w.dtype}")
        for nm, t in zip(("weight", "grad", *states), in_types):
            if t.shape != w.shape or t.dtype != w.dtype:
                raise ShapeError(f"{name}: {nm} has shape {fmt(t.shape)} and dtype {t.dtype}, expected the "
                                 f"weight's shape {fmt(w.shape)} and dtype {w.dtype}")
        return [TensorType(w.shape, w.dtype)] * (1 + len(states))

    def lower(in_types, out_types, attrs):
        n = 1
        for d in in_types[0].shape:
            n *= d
        return Lowering("update", {"dtype": in_types[0].dtype, "states": states, "scalars": tuple(scalars),
                                   "body": body},
                        {"n": n, "scalars": tuple(float(attrs[k]) for k in scalars)})

    attrs = {k: Attr("float") if v is None else Attr("float", v) for k, v in scalars.items()}
    if name in _SPARSE_FLAGS:
        attrs["lazy_update"] = Attr("bool", True, doc="row_sparse only; no effect on dense arrays")
    register(OpDef(name, ("weight", "grad", *states), infer, lower, attrs=attrs, num_outputs=1 + len(states),
                   updates={1 + k: 2 + k for k in range(len(states))}, num_visible_outputs=1,
                   output_names=("output", *states), differentiable=False,
                   doc=f"Fused optimizer step, in one pass: {doc}. States are updated in place."))


for _name, (_states, _scalars, _body, _doc) in RULES.items():
    _make(_name, _states, _scalars, _body, _doc)
