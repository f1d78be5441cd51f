"""Basic layers of MXNet 1.x: FullyConnected, Dropout, Embedding.

None has a template of its own: FullyConnected is the `gemm` family (data . weight^T) plus a
broadcast bias add, Dropout is the `random` family's uniform draw thresholded into a mask and
multiplied in (elementwise), Embedding is `take` along axis 0 and its weight gradient is
take's scatter-add gradient. Their gradients are IR ops (dot, sum, broadcast_mul, _backward_take).
"""
from __future__ import annotations

import math

from ..attrs import Attr
from ..registry import OpDef, get, register
from ..types import TensorType
from ._layers import check_float, check_same_dtype, composite, parsed, raise_shape, step
from ._shape import fmt, normalize_axes
from .elementwise import ewise_lowering
from .matmul import _gemm
from .random import largest_below, random_lowering


# ---- FullyConnected ----------------------------------------------------------------------------
def _fc_inputs(attrs):
    return ("data", "weight") if attrs["no_bias"] else ("data", "weight", "bias")


def _fc_dims(shape, attrs):
    """(rows M, in_units K, output shape) of data of `shape` (flatten: (n, rest); else the last axis)."""
    if not shape:
        raise_shape("FullyConnected", "data must have at least one dimension, got a 0-d array")
    nh = attrs["num_hidden"]
    if attrs["flatten"]:
        return shape[0], math.prod(shape[1:]), (shape[0], nh)
    return math.prod(shape[:-1]), shape[-1], tuple(shape[:-1]) + (nh,)


def _infer_fc(in_types, attrs):
    names = _fc_inputs(attrs)
    for n, t in zip(names, in_types):
        check_float("FullyConnected", n, t)
    check_same_dtype("FullyConnected", names, in_types)
    data = in_types[0]
    _, k, out = _fc_dims(data.shape, attrs)
    nh = attrs["num_hidden"]
    if tuple(in_types[1].shape) != (nh, k):
        raise_shape("FullyConnected", f"weight of shape {fmt(in_types[1].shape)} does not fit data of shape "
                                      f"{fmt(data.shape)}: expected (num_hidden, in_units) = ({nh}, {k})"
                                      f"{' (data flattened to 2-D)' if attrs['flatten'] else ''}")
    if not attrs["no_bias"] and tuple(in_types[2].shape) != (nh,):
        raise_shape("FullyConnected", f"bias of shape {fmt(in_types[2].shape)}, expected ({nh},) (num_hidden)")
    return [TensorType(out, data.dtype)]


def _infer_fc_args(in_types, attrs):
    data = in_types[0]
    if data is None or data.shape is None or None in data.shape or not data.shape:
        return [None] * len(in_types)
    _, k, _ = _fc_dims(data.shape, attrs)
    nh = attrs["num_hidden"]
    out = [None, TensorType((nh, k), data.dtype)]
    return out if attrs["no_bias"] else out + [TensorType((nh,), data.dtype)]


def _lower_fc(in_types, out_types, attrs):
    data, weight = in_types[:2]
    out = out_types[0]
    m, k, _ = _fc_dims(data.shape, attrs)
    gemm = _gemm("FullyConnected", data.dtype, m, attrs["num_hidden"], k, False, True)
    if attrs["no_bias"]:
        return gemm
    bias = ewise_lowering("a + b", [out, in_types[2]], out)  # in place over the product
    return composite([gemm, bias], [step(0, gemm.args, (("in", 0), ("in", 1)), (0,)),
                                    step(1, bias.args, (("out", 0), ("in", 2)), (0,))])


def _grad_fc(b, node, ogs):
    a = parsed(node)
    data, weight = node.inputs[:2]
    m, k, _ = _fc_dims(data.type.shape, a)
    nh = a["num_hidden"]

    def as2d(v, shape):
        return v if tuple(v.type.shape) == shape else b.op("Reshape", v, shape=shape)

    g2 = as2d(ogs[0], (m, nh))
    dx = b.op("dot", g2, weight)
    if tuple(dx.type.shape) != tuple(data.type.shape):
        dx = b.op("Reshape", dx, shape=tuple(data.type.shape))
    dw = b.op("dot", g2, as2d(data, (m, k)), transpose_a=True)
    if a["no_bias"]:
        return [dx, dw]
    return [dx, dw, b.op("sum", g2, axis=(0,))]


register(OpDef("FullyConnected", ("data", "weight", "bias"), _infer_fc, _lower_fc, grad=_grad_fc,
               inputs_fn=_fc_inputs, infer_args=_infer_fc_args,
               attrs={"num_hidden": Attr("int", low=1, doc="number of output units"),
                      "no_bias": Attr("bool", False), "flatten": Attr("bool", True,
                                                                      doc="flatten data to (n, rest) first")},
               doc="data . weight^T + bias with weight of shape (num_hidden, in_units); data is flattened to "
                   "(batch, in_units) unless flatten=False, which applies the layer along the last axis."))


# ---- Dropout ------------------------------------------------------------------------------------------
def _mask_shape(op, shape, axes):
    ax = normalize_axes(op, axes, len(shape)) if axes else ()
    return tuple(1 if i in ax else d for i, d in enumerate(shape))


def _infer_dropout(in_types, attrs):
    data = in_types[0]
    check_float("Dropout", "data", data)
    if not 0.0 <= attrs["p"] <= 1.0:
        raise ValueError(f"Dropout: p must be in [0, 1], got {attrs['p']}")
    mask = _mask_shape("Dropout", data.shape, attrs["axes"])
    return [TensorType(data.shape, data.dtype), TensorType(mask, data.dtype)]


def _lower_dropout(in_types, out_types, attrs):
    data = in_types[0]
    out, mask = out_types
    p = attrs["p"]
    if (attrs["_train"] or attrs["mode"] == "always") and p > 0:
        # mask = (u < 1 - p) / (1 - p) for u uniform in [0, 1) (MXNet's scaled mask), out = data * mask
        keep = 1.0 - p
        draw = random_lowering("uniform", mask, (0.0, 1.0, largest_below(1.0, mask.dtype)))
        thresh = ewise_lowering("(T)(a < (T)s0) * (T)s1", [mask], mask,  # branch-free: u is random
                                scalars=(keep, 1.0 / keep if keep > 0 else 0.0))
        apply = ewise_lowering("a * b", [data, mask], out)
        return composite([draw, thresh, apply], [step(0, draw.args, (), (1,)),
                                                 step(1, thresh.args, (("out", 1),), (1,)),
                                                 step(2, apply.args, (("in", 0), ("out", 1)), (0,))])
    copy = ewise_lowering("a", [data], out)
    ones = ewise_lowering("(T)s0", [], mask, scalars=(1.0,))
    return composite([copy, ones], [step(0, copy.args, (("in", 0),), (0,)), step(1, ones.args, (), (1,))])


def _grad_dropout(b, node, ogs):
    return [b.op("broadcast_mul", ogs[0], node.outputs[1])]


register(OpDef("Dropout", ("data",), _infer_dropout, _lower_dropout, grad=_grad_dropout, train_dependent=True,
               num_outputs=2, num_visible_outputs=1, output_names=("output", "mask"),
               attrs={"p": Attr("float", 0.5, doc="fraction of the input set to zero"),
                      "mode": Attr("enum", "training", choices={"training", "always"},
                                   doc="'always' drops out at inference too"),
                      "axes": Attr("shape", (), doc="axes along which one mask value is shared"),
                      "cudnn_off": Attr("bool", False, doc="ignored (no cuDNN)")},
               doc="In training (or mode='always') zeroes each element with probability p and scales the rest "
                   "by 1 / (1 - p); the identity otherwise. The hidden second output is the scaled mask."))


# ---- Embedding ---------------------------------------------------------------------------------------
def _infer_embedding(in_types, attrs):
    data, weight = in_types
    check_float("Embedding", "weight", weight)
    want = (attrs["input_dim"], attrs["output_dim"])
    if tuple(weight.shape) != want:
        raise_shape("Embedding", f"weight of shape {fmt(weight.shape)}, expected (input_dim, output_dim) = "
                                 f"{fmt(want)}")
    return [TensorType(tuple(data.shape) + (attrs["output_dim"],), weight.dtype)]


def _infer_embedding_args(in_types, attrs):
    return [None, TensorType((attrs["input_dim"], attrs["output_dim"]), attrs["dtype"])]


def _lower_embedding(in_types, out_types, attrs):
    data, weight = in_types
    take = get("take")
    low = take.lower([weight, data], out_types, take.parse_attrs({"axis": 0, "mode": "clip"}))
    return composite([low], [step(0, low.args, (("in", 1), ("in", 0)), (0,))])  # take(a=weight, indices=data)


def _grad_embedding(b, node, ogs):
    data, weight = node.inputs
    return [None, b.op("_backward_take", ogs[0], data, axis=0, mode="clip", shape=tuple(weight.type.shape))]


register(OpDef("Embedding", ("data", "weight"), _infer_embedding, _lower_embedding, grad=_grad_embedding,
               infer_args=_infer_embedding_args,
               attrs={"input_dim": Attr("int", low=1, doc="vocabulary size (rows of weight)"),
                      "output_dim": Attr("int", low=1, doc="embedding size (columns of weight)"),
                      "dtype": Attr("dtype", "float32", doc="the weight's dtype"),
                      "sparse_grad": Attr("bool", False, doc="accepted; the gradient is always dense")},
               doc="Rows of weight at the indices in data (clipped to [0, input_dim)); output shape "
                   "data.shape + (output_dim,). The weight gradient adds up the rows of repeated indices."))
