"""Connectionist temporal classification loss (MXNet 1.x CTCLoss / contrib.CTCLoss), the `ctc` family.

data (T, N, C) holds unnormalized scores (softmax is applied inside), label (N, L) class indices.
blank_label='first' reserves class 0 for the blank and pads labels with 0; 'last' reserves C - 1
and pads with -1. Without use_label_lengths a label ends at its first padding value. The kernel
runs the forward (alpha) and backward (beta) recursions in log space per sequence and writes the
loss and, as a hidden second output, d loss / d data = softmax - occupancy; the gradient rule
scales that by the head gradient.
"""
from __future__ import annotations

from ..attrs import Attr
from ..registry import Lowering, OpDef, register
from ..types import TensorType
from ._layers import check_float, raise_shape
from ._shape import fmt


def _inputs(attrs):
    names = ["data", "label"]
    if attrs["use_data_lengths"]:
        names.append("data_lengths")
    if attrs["use_label_lengths"]:
        names.append("label_lengths")
    return tuple(names)


def _infer(in_types, attrs):
    data, label = in_types[:2]
    check_float("CTCLoss", "data", data)
    if len(data.shape) != 3:
        raise_shape("CTCLoss", f"data must be (sequence_length, batch_size, alphabet_size), got {fmt(data.shape)}")
    t, n, c = data.shape
    if len(label.shape) != 2 or label.shape[0] != n:
        raise_shape("CTCLoss", f"label must be (batch_size, label_length) = ({n}, L) for data of shape "
                               f"{fmt(data.shape)}, got {fmt(label.shape)}")
    if c < 1:
        raise_shape("CTCLoss", f"the alphabet (data.shape[2]) must hold at least the blank, got {fmt(data.shape)}")
    for name, ty in zip(_inputs(attrs)[2:], in_types[2:]):
        if tuple(ty.shape) != (n,):
            raise_shape("CTCLoss", f"{name} must have shape ({n},) (batch_size), got {fmt(ty.shape)}")
    return [TensorType((n,), data.dtype), TensorType(data.shape, data.dtype)]


def _lower(in_types, out_types, attrs):
    names = _inputs(attrs)
    types = dict(zip(names, in_types))
    t, n, c = in_types[0].shape
    return Lowering("ctc", {"dtype": in_types[0].dtype, "label_dtype": in_types[1].dtype,
                            "dlen_dtype": types["data_lengths"].dtype if "data_lengths" in types else None,
                            "llen_dtype": types["label_lengths"].dtype if "label_lengths" in types else None,
                            "blank_first": attrs["blank_label"] == "first"},
                    {"T": t, "N": n, "C": c, "L": in_types[1].shape[1]})


def _grad(b, node, ogs):
    n = node.inputs[0].type.shape[1]
    og = b.op("Reshape", ogs[0], shape=(1, n, 1))
    return [b.op("broadcast_mul", node.outputs[1], og)] + [None] * (len(node.inputs) - 1)


register(OpDef("CTCLoss", ("data", "label", "data_lengths", "label_lengths"), _infer, _lower, grad=_grad,
               aliases=("ctc_loss", "_contrib_CTCLoss", "_contrib_ctc_loss"), inputs_fn=_inputs,
               num_outputs=2, num_visible_outputs=1, output_names=("output", "grad"),
               attrs={"use_data_lengths": Attr("bool", False, doc="data_lengths gives each sequence's length"),
                      "use_label_lengths": Attr("bool", False, doc="label_lengths gives each label's length"),
                      "blank_label": Attr("enum", "first", choices={"first", "last"},
                                          doc="the blank is class 0 (labels padded with 0) or C - 1 (padded "
                                              "with -1)")},
               doc="CTC loss of unnormalized scores data (T, N, C) for labels (N, L): -log p(label | data) per "
                   "sequence; an impossible alignment (label too long for the sequence) gives +inf and a zero "
                   "gradient. The hidden second output is the gradient w.r.t. data."))
