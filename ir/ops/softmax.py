"""softmax and log_softmax along one axis (MXNet 1.x: axis=-1, temperature=None, dtype=None).

The input is seen as (outer, axis_len, inner); the `softmax` kernel family computes each
slice along the axis with two passes over the input (max, then sum of exp while writing)
and a rescale of the output, numerically stable for any magnitude.
"""
from __future__ import annotations

from ..attrs import Attr
from ..registry import Lowering, OpDef, register
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


def _make(op, log):
    def infer(in_types, attrs):
        _check(op, in_types, attrs)
        t = in_types[0]
        return [TensorType(t.shape, attrs["dtype"] or t.dtype)]

    def lower(in_types, out_types, attrs):
        axis = _check(op, in_types, attrs)
        t, o = in_types[0], out_types[0]
        acc = "double" if "float64" in (t.dtype, o.dtype) else "float"
        temp = attrs["temperature"]
        if temp is None:
            inv_t = 1.0
        else:  # temperature 0 gives NaN, as in MXNet
            inv_t = 1.0 / temp if temp != 0 else float("inf")
        return Lowering(
            "softmax",
            {"in_dtype": t.dtype, "out_dtype": o.dtype, "acc": acc, "log": log},
            {"shape": t.shape, "axis": axis, "inv_temperature": inv_t},  # run-time: no recompile per t
        )

    what = "log of the softmax" if log else "softmax"
    register(OpDef(op, ("data",), infer, lower,
                   attrs={"axis": Attr("int", -1), "temperature": Attr("float", None),
                          "dtype": Attr("dtype", None, doc="output dtype (float16, float32 or float64)")},
                   nd_method=op,
                   doc=f"The {what} of `data` along `axis`, computed as {what}(data / temperature)."))


_make("softmax", False)
_make("log_softmax", True)
