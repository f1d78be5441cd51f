"""Output (loss) layers of MXNet 1.x and the gradient blockers:
SoftmaxOutput (alias Softmax), LinearRegressionOutput, LogisticRegressionOutput,
MAERegressionOutput, SVMOutput, MakeLoss (make_loss), BlockGrad (stop_gradient).

MXNet's output layers define their own gradient and ignore the head gradient flowing into
them (SoftmaxOutput multiplies it in only with out_grad=True); the label gets no gradient.
"""
from __future__ import annotations

import math

from ..attrs import Attr
from ..registry import Lowering, OpDef, register
from ..types import TensorType
from ._layers import check_float, parsed, raise_shape
from ._shape import contiguous_strides as _contiguous
from ._shape import fmt
from .elementwise import ewise_lowering
from .nn_act import softmax_lowering

# ---- SoftmaxOutput --------------------------------------------------------------------------------
_SO_ATTRS = {
    "grad_scale": Attr("float", 1.0, doc="scales the gradient"),
    "ignore_label": Attr("float", -1.0, doc="the label whose instances get no gradient (with use_ignore)"),
    "multi_output": Attr("bool", False, doc="softmax along axis 1 of (n, c, d1, ...), labels (n, d1, ...)"),
    "use_ignore": Attr("bool", False),
    "preserve_shape": Attr("bool", False, doc="softmax along the last axis"),
    "normalization": Attr("enum", "null", choices={"null", "batch", "valid"}),
    "out_grad": Attr("bool", False, doc="multiply the gradient by the head gradient"),
    "smooth_alpha": Attr("float", 0.0, doc="label smoothing: the true class gets 1 - alpha, the others "
                                            "alpha / (k - 1)"),
}


def _so_geometry(shape, attrs):
    """(outer, k, inner) of the softmax, MXNet 1.x: rows of the flattened rest by default, the
    last axis with preserve_shape, axis 1 with multi_output."""
    if not shape:
        raise_shape("SoftmaxOutput", "data must have at least one dimension, got a 0-d array")
    size = math.prod(shape)
    if attrs["multi_output"]:
        if len(shape) < 2:
            raise_shape("SoftmaxOutput", f"multi_output needs data of shape (n, c, ...), got {fmt(shape)}")
        return shape[0], shape[1], size // (shape[0] * shape[1]) if shape[0] * shape[1] else 0
    if attrs["preserve_shape"]:
        return size // shape[-1] if shape[-1] else 0, shape[-1], 1
    return shape[0], size // shape[0] if shape[0] else 0, 1


def _so_label_shapes(shape, attrs):
    """The label shapes MXNet accepts besides data's own shape (probabilities)."""
    if attrs["multi_output"]:
        n, c, d = _so_geometry(shape, attrs)
        return [(n, d), (shape[0],) + tuple(shape[2:]), (shape[0], 1) + tuple(shape[2:])]
    return [tuple(shape[:-1])]


def _infer_so(in_types, attrs):
    data, label = in_types
    check_float("SoftmaxOutput", "data", data)
    _so_geometry(data.shape, attrs)
    ok = _so_label_shapes(data.shape, attrs)
    if tuple(label.shape) != tuple(data.shape) and tuple(label.shape) not in ok:
        raise_shape("SoftmaxOutput", f"label of shape {fmt(label.shape)} does not fit data of shape "
                                     f"{fmt(data.shape)}: expected {' or '.join(fmt(s) for s in ok)} (class "
                                     f"indices) or {fmt(data.shape)} (probabilities)")
    return [TensorType(data.shape, data.dtype)]


def _infer_so_args(in_types, attrs):
    data = in_types[0]
    if data is None or data.shape is None or None in data.shape or not data.shape:
        return [None, None]
    return [None, TensorType(_so_label_shapes(data.shape, attrs)[0], data.dtype)]


def _lower_so(in_types, out_types, attrs):
    t = in_types[0]
    return softmax_lowering(t.dtype, _so_geometry(t.shape, attrs))


def _grad_so(b, node, ogs):
    data, label = node.inputs
    attrs = dict(node.attrs)
    extra = (ogs[0],) if parsed(node)["out_grad"] else ()
    return [b.op("_backward_SoftmaxOutput", node.outputs[0], label, *extra, **attrs), None]


register(OpDef("SoftmaxOutput", ("data", "label"), _infer_so, _lower_so, grad=_grad_so, attrs=dict(_SO_ATTRS),
               aliases=("Softmax",), infer_args=_infer_so_args,
               doc="Softmax in the forward pass; in the backward pass the gradient of the cross entropy with "
                   "`label` (class indices, or probabilities of data's shape): (softmax - one_hot(label)) * "
                   "grad_scale / normalization. The head gradient is ignored unless out_grad=True."))


def _infer_so_bwd(in_types, attrs):
    out, label = in_types[:2]
    _infer_so([out, label], attrs)
    if len(in_types) > 2 and tuple(in_types[2].shape) != tuple(out.shape):
        raise_shape("_backward_SoftmaxOutput", f"head_grad of shape {fmt(in_types[2].shape)}, expected "
                                               f"{fmt(out.shape)}")
    return [TensorType(out.shape, out.dtype)]


def _lower_so_bwd(in_types, out_types, attrs):
    out, label = in_types[:2]
    gs = attrs["grad_scale"]
    if tuple(label.shape) == tuple(out.shape):  # probabilities: (out - label) * grad_scale
        expr = "(a - b) * (T)s0" + (" * c" if attrs["out_grad"] else "")
        return ewise_lowering(expr, in_types, out_types[0], scalars=(gs,))
    n, k, d = _so_geometry(out.shape, attrs)
    norm = attrs["normalization"]
    if attrs["multi_output"]:
        scale = gs if norm == "valid" else gs / d / (n if norm == "batch" else 1)
    else:
        scale = gs / label.size if norm == "batch" and label.size else gs
    alpha = attrs["smooth_alpha"]
    return Lowering("softmax_output", {"dtype": out.dtype, "label_dtype": label.dtype,
                                     "use_ignore": attrs["use_ignore"], "out_grad": attrs["out_grad"]},
                    {"shape": (n, k, d), "nlabel": label.size, "valid": norm == "valid", "scale": scale,
                     "on": 1.0 - alpha, "off": alpha / (k - 1) if k > 1 else 0.0, "ignore": attrs["ignore_label"]})


register(OpDef("_backward_SoftmaxOutput", ("output", "label", "head_grad"), _infer_so_bwd, _lower_so_bwd,
               attrs=dict(_SO_ATTRS), hidden=True, differentiable=False,
               inputs_fn=lambda attrs: ("output", "label", "head_grad") if attrs["out_grad"] else ("output", "label"),
               doc="SoftmaxOutput's data gradient from its output and label."))


# ---- regression outputs ------------------------------------------------------------------------------
# forward over a = data; gradient over a = output, b = label, s0 = grad_scale / (label.size / label.shape[0])
_REGRESSION = {
    "LinearRegressionOutput": ("a", "(a - b) * (T)s0"),
    "LogisticRegressionOutput": ("MX_SIGMOID(a)", "(a - b) * (T)s0"),
    "MAERegressionOutput": ("a", "(T)((a > b) - (a < b)) * (T)s0"),
}


def _check_regression(op, data, label):
    check_float(op, "data", data)
    if not data.shape or not label.shape or label.shape[0] != data.shape[0] or label.size != data.size:
        raise_shape(op, f"label of shape {fmt(label.shape)} does not fit data of shape {fmt(data.shape)}: "
                        f"expected the same first dimension and size")


def _regression(name, fwd, bwd):
    def infer(in_types, attrs):
        _check_regression(name, *in_types)
        return [TensorType(in_types[0].shape, in_types[0].dtype)]

    def infer_args(in_types, attrs):
        data = in_types[0]
        if data is None or data.shape is None or None in data.shape:
            return [None, None]
        lshape = (data.shape[0],) if len(data.shape) == 2 and data.shape[1] == 1 else data.shape
        return [None, TensorType(lshape, data.dtype)]

    def lower(in_types, out_types, attrs):
        return ewise_lowering(fwd, in_types[:1], out_types[0])

    def grad(b, node, ogs):
        return [b.op(f"_backward_{name}", node.outputs[0], node.inputs[1], **node.attrs), None]

    def infer_bwd(in_types, attrs):
        return infer(in_types, attrs)

    def lower_bwd(in_types, out_types, attrs):
        out, label = in_types
        per = label.size // label.shape[0] if label.shape[0] else 1
        return ewise_lowering(bwd, in_types, out_types[0], scalars=(attrs["grad_scale"] / max(per, 1),),
                              in_shapes=(out.shape, out.shape))  # the label has the output's size

    attrs = {"grad_scale": Attr("float", 1.0)}
    register(OpDef(name, ("data", "label"), infer, lower, grad=grad, attrs=dict(attrs), infer_args=infer_args,
                   doc=f"{name}: forward {'sigmoid(data)' if 'Logistic' in name else 'data'}; the gradient is "
                       f"{'sign(out - label)' if 'MAE' in name else '(out - label)'} * grad_scale / (outputs per "
                       f"instance), ignoring the head gradient."))
    register(OpDef(f"_backward_{name}", ("output", "label"), infer_bwd, lower_bwd, attrs=dict(attrs), hidden=True,
                   differentiable=False, doc=f"{name}'s data gradient."))


for _n, (_f, _b) in _REGRESSION.items():
    _regression(_n, _f, _b)


# ---- MakeLoss, BlockGrad ------------------------------------------------------------------------------
def _same(op):
    def infer(in_types, attrs):
        return [TensorType(in_types[0].shape, in_types[0].dtype)]
    return infer


def _lower_copy(in_types, out_types, attrs):
    return ewise_lowering("a", in_types, out_types[0])


def _lower_copy_first(in_types, out_types, attrs):
    return ewise_lowering("a", in_types[:1], out_types[0])


def _grad_make_loss(b, node, ogs):
    """grad_scale everywhere, divided by the batch size ('batch') or by the number of elements
    above valid_thresh ('valid', at least 1); the head gradient is ignored (MXNet)."""
    a = parsed(node)
    data = node.inputs[0]
    t = data.type
    gs = a["grad_scale"]
    if a["normalization"] == "batch":
        gs /= t.shape[0] if t.shape and t.shape[0] else 1
    full = b.op("_full", shape=tuple(t.shape), value=gs, dtype=t.dtype)
    if a["normalization"] != "valid":
        return [full]
    above = b.op("_greater_scalar", data, scalar=a["valid_thresh"])
    count = b.op("_maximum_scalar", b.op("sum", above), scalar=1.0)
    return [b.op("broadcast_div", full, count)]


register(OpDef("MakeLoss", ("data",), _same("MakeLoss"), _lower_copy, grad=_grad_make_loss, aliases=("make_loss",),
               attrs={"grad_scale": Attr("float", 1.0), "valid_thresh": Attr("float", 0.0),
                      "normalization": Attr("enum", "null", choices={"null", "batch", "valid"})},
               doc="Marks data as a loss: the forward pass is the identity, the gradient is grad_scale "
                   "(normalized by 'batch' size or by the count of elements > valid_thresh for 'valid')."))


def _grad_block(b, node, ogs):
    return [b.zeros_like(node.inputs[0])]


# differentiable with a zero gradient (not differentiable=False): a gradient that reaches BlockGrad
# stops there, and an input used only through it still gets zeros
register(OpDef("BlockGrad", ("data",), _same("BlockGrad"), _lower_copy, grad=_grad_block, aliases=("stop_gradient",),
               doc="The identity in the forward pass; stops gradients (its input's gradient is zero)."))


# ---- SVMOutput ---------------------------------------------------------------------------------------------
# gradient over a = output, b = label (one per row, broadcast along the class axis), i = flat position,
# s0 = margin, s1 = regularization_coefficient, s2 = number of classes (MXNet 1.x svm_output-inl.h)
_SVM_IS_K = "((int64_t)b == i % (int64_t)s2)"
_SVM_GRAD = {
    False: f"({_SVM_IS_K} ? ((T)s0 > a ? (T)-2 * (T)s1 * ((T)s0 - a) : (T)0) "
           f": ((T)s0 > -a ? (T)2 * (T)s1 * ((T)s0 + a) : (T)0))",  # L2-SVM
    True: f"({_SVM_IS_K} ? -(T)s1 * (T)((T)s0 > a) : (T)s1 * (T)((T)s0 > -a))",  # L1-SVM (use_linear)
}
_SVM_ATTRS = {"margin": Attr("float", 1.0), "regularization_coefficient": Attr("float", 1.0),
              "use_linear": Attr("bool", False, doc="L1-SVM instead of L2-SVM")}


def _infer_svm(in_types, attrs):
    data, label = in_types
    check_float("SVMOutput", "data", data)
    if not data.shape or tuple(label.shape) != tuple(data.shape[:-1]):
        raise_shape("SVMOutput", f"label of shape {fmt(label.shape)} does not fit data of shape {fmt(data.shape)}: "
                                 f"expected {fmt(data.shape[:-1])}")
    return [TensorType(data.shape, data.dtype)]


def _infer_svm_args(in_types, attrs):
    data = in_types[0]
    if data is None or data.shape is None or None in data.shape or not data.shape:
        return [None, None]
    return [None, TensorType(tuple(data.shape[:-1]), data.dtype)]


def _lower_svm_bwd(in_types, out_types, attrs):
    out, label = in_types
    k = out.shape[-1]
    lst = tuple(s for s in _contiguous(label.shape)) + (0,)
    return ewise_lowering(_SVM_GRAD[attrs["use_linear"]], in_types, out_types[0],
                          scalars=(attrs["margin"], attrs["regularization_coefficient"], k), in_strides=(None, lst))


def _grad_svm(b, node, ogs):
    return [b.op("_backward_SVMOutput", node.outputs[0], node.inputs[1], **node.attrs), None]


register(OpDef("SVMOutput", ("data", "label"), _infer_svm, _lower_copy_first, grad=_grad_svm, attrs=dict(_SVM_ATTRS),
               infer_args=_infer_svm_args,
               doc="Support vector machine output layer: the identity forward; the backward is the L2-SVM "
                   "(or L1-SVM with use_linear) gradient for the class indices in label, ignoring the head gradient."))
register(OpDef("_backward_SVMOutput", ("output", "label"), _infer_svm, _lower_svm_bwd, attrs=dict(_SVM_ATTRS),
               hidden=True, differentiable=False, doc="SVMOutput's data gradient."))
