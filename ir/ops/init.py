"""Array creation as kernels: constants, ranges and the identity (zero-input elementwise ops)."""
from __future__ import annotations

import math

from ..attrs import Attr
from ..registry import OpDef, ShapeError, register
from ..types import TensorType
from .elementwise import ewise_lowering

_SHAPE_DTYPE = {"shape": Attr("shape", ()), "dtype": Attr("dtype", "float32")}


def _infer_shape_attr(in_types, attrs):
    if any(d < 0 for d in attrs["shape"]):
        raise ShapeError(f"negative dimension in shape {attrs['shape']}")
    return [TensorType(attrs["shape"], attrs["dtype"])]


def _const(name, value_of):
    def lower(in_types, out_types, attrs):
        return ewise_lowering("(T)s0", [], out_types[0], scalars=(value_of(attrs),))

    register(OpDef(name, (), _infer_shape_attr, lower, attrs=dict(_SHAPE_DTYPE, **(
        {"value": Attr("float")} if name == "_full" else {})), hidden=True, differentiable=False))


_const("_zeros", lambda a: 0.0)
_const("_ones", lambda a: 1.0)
_const("_full", lambda a: a["value"])


def _like(name, value):
    def infer(in_types, attrs):
        return [TensorType(in_types[0].shape, in_types[0].dtype)]

    def lower(in_types, out_types, attrs):
        return ewise_lowering("(T)s0", [], out_types[0], scalars=(value,))

    register(OpDef(name, ("data",), infer, lower, differentiable=False, doc=f"An array of {value}s like data."))


_like("zeros_like", 0.0)
_like("ones_like", 1.0)


def _arange_len(start, stop, step, repeat):
    if step == 0:
        raise ShapeError("_arange: step must not be 0")
    return max(0, int(math.ceil((stop - start) / step))) * repeat


def _infer_arange(in_types, attrs):
    start, stop, step = attrs["start"], attrs["stop"], attrs["step"]
    if stop is None:
        start, stop = 0.0, start
    return [TensorType((_arange_len(start, stop, step, attrs["repeat"]),), attrs["dtype"])]


def _lower_arange(in_types, out_types, attrs):
    start = attrs["start"] if attrs["stop"] is not None else 0.0
    return ewise_lowering("(T)((double)s0 + (double)(i / (int64_t)s2) * (double)s1)", [], out_types[0],
                          scalars=(start, attrs["step"], attrs["repeat"]))


register(OpDef("_arange", (), _infer_arange, _lower_arange, hidden=True, differentiable=False, attrs={
    "start": Attr("float"), "stop": Attr("float", None), "step": Attr("float", 1.0),
    "repeat": Attr("int", 1, low=1), "infer_range": Attr("bool", False), "dtype": Attr("dtype", "float32")}))


def _infer_linspace(in_types, attrs):
    return [TensorType((attrs["num"],), attrs["dtype"])]


def _lower_linspace(in_types, out_types, attrs):
    num = attrs["num"]
    div = (num - 1) if attrs["endpoint"] else num
    step = (attrs["stop"] - attrs["start"]) / div if div > 0 else 0.0
    return ewise_lowering("(T)((double)s0 + (double)i * (double)s1)", [], out_types[0],
                          scalars=(attrs["start"], step))


register(OpDef("_linspace", (), _infer_linspace, _lower_linspace, hidden=True, differentiable=False, attrs={
    "start": Attr("float"), "stop": Attr("float"), "num": Attr("int", low=0), "endpoint": Attr("bool", True),
    "dtype": Attr("dtype", "float32")}))


def _infer_eye(in_types, attrs):
    n = attrs["N"]
    m = attrs["M"] or n
    return [TensorType((n, m), attrs["dtype"])]


def _lower_eye(in_types, out_types, attrs):
    m = out_types[0].shape[1]
    return ewise_lowering("(T)((i % (int64_t)s0) - (i / (int64_t)s0) == (int64_t)s1)", [], out_types[0],
                          scalars=(max(m, 1), attrs["k"]))


register(OpDef("_eye", (), _infer_eye, _lower_eye, hidden=True, differentiable=False, attrs={
    "N": Attr("int", low=0), "M": Attr("int", 0, low=0), "k": Attr("int", 0), "dtype": Attr("dtype", "float32")}))
