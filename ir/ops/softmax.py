"""softmax and log_softmax along one axis (MXNet 1.x: axis=-1, temperature=None, dtype=None).

The input is seen as (outer, axis_len, inner); the `softmax` kernel family computes each
slice along the axis with two passes over the input (max, then sum of exp while writing)
and a rescale of the output, numerically stable for any magnitude. The gradients are hidden
backward ops of the same family (one kernel, two passes per slice) over the out grad and the
output: softmax dx = y * (g - sum(g * y)) / t, log_softmax dx = (g - exp(y) * sum(g)) / t.
"""
from __future__ import annotations

from ..attrs import Attr
from ..registry import Lowering, OpDef, ShapeError, get, register
from ..types import DTYPES, TensorType
from ._shape import fmt, normalize_axis

_FLOATS = ("float16", "float32", "float64")


def _check(op, in_types, attrs):
    t = in_types[0]
    if not DTYPES[t.dtype].is_float:
        raise TypeError(f"{op}: this operation only supports floating point types (float16, float32, float64), "
                        f"not {t.dtype}")
    if attrs["dtype"] is not None and attrs["dtype"] not in _FLOATS:
        raise TypeError(f"{op}: dtype must be None, float16, float32 or float64, got {attrs['dtype']}")
    if len(t.shape) == 0:
        raise TypeError(f"{op}: input must have at least one dimension, got shape {fmt(t.shape)}")
    return normalize_axis(op, attrs["axis"], len(t.shape))


def _inv_temperature(temp):
    if temp is None:
        return 1.0
    return 1.0 / temp if temp != 0 else float("inf")  # temperature 0 gives NaN, as in MXNet


def _make_backward(op, log):
    name = f"_backward_{op}"

    def infer(in_types, attrs):
        g, y = in_types
        _check(name, [y], {"dtype": attrs["dtype"], "axis": attrs["axis"]})
        if g.shape != y.shape or g.dtype != y.dtype:
            raise ShapeError(f"{name}: out_grad {g} and output {y} must have the same shape and dtype")
        return [TensorType(y.shape, attrs["dtype"] or y.dtype)]

    def lower(in_types, out_types, attrs):
        g, y = in_types
        axis = normalize_axis(name, attrs["axis"], len(y.shape))
        d = out_types[0]
        acc = "double" if "float64" in (d.dtype, y.dtype) else "float"
        return Lowering(
            "softmax",
            {"in_dtype": d.dtype, "out_dtype": y.dtype, "acc": acc, "log": log, "backward": True},
            {"shape": y.shape, "axis": axis, "inv_temperature": _inv_temperature(attrs["temperature"])},
        )

    register(OpDef(name, ("out_grad", "output"), infer, lower, hidden=True, differentiable=False,
                   attrs={"axis": Attr("int", -1), "temperature": Attr("float", None),
                          "dtype": Attr("dtype", None, doc="the gradient's dtype (the forward input's)")},
                   doc=f"Gradient of {op} with respect to its input, from the out grad and the output."))

    def grad(b, node, ogs):
        attrs = get(node.op).parse_attrs(node.attrs)
        return [b.op(name, ogs[0], node.outputs[0], axis=attrs["axis"], temperature=attrs["temperature"],
                     dtype=node.inputs[0].type.dtype)]
    return grad


def _make(op, log):
    def infer(in_types, attrs):
        _check(op, in_types, attrs)
        t = in_types[0]
        return [TensorType(t.shape, attrs["dtype"] or t.dtype)]

    def lower(in_types, out_types, attrs):
        axis = _check(op, in_types, attrs)
        t, o = in_types[0], out_types[0]
        acc = "double" if "float64" in (t.dtype, o.dtype) else "float"
        inv_t = _inv_temperature(attrs["temperature"])
        return Lowering(
            "softmax",
            {"in_dtype": t.dtype, "out_dtype": o.dtype, "acc": acc, "log": log},
            {"shape": t.shape, "axis": axis, "inv_temperature": inv_t},  # run-time: no recompile per t
        )

    what = "log of the softmax" if log else "softmax"
    register(OpDef(op, ("data",), infer, lower,
                   attrs={"axis": Attr("int", -1), "temperature": Attr("float", None),
                          "dtype": Attr("dtype", None, doc="output dtype (float16, float32 or float64)")},
                   nd_method=op, grad=_make_backward(op, log),
                   doc=f"The {what} of `data` along `axis`, computed as {what}(data / temperature)."))


_make("softmax", False)
_make("log_softmax", True)
