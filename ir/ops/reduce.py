"""Reductions: sum, mean, prod, max, min, nansum, nanprod, norm, argmax, argmin (MXNet 1.x).

Every reduction is one `Reducer`: an accumulator type, an init value and C snippets
for combine (fold an element `v` into the accumulator `a`), merge (join two partial
accumulators `a`, `b`, e.g. SIMD lanes or per-thread chunks) and finalize (the output
value from `a` and the element count `n`). The `reduce` kernel family is one template
parameterised by these, so adding a reduction is adding a table entry.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..attrs import Attr
from ..registry import Lowering, OpDef, ShapeError, register
from ..types import DTYPES, TensorType
from ._shape import fmt, normalize_axes, normalize_axis

_INT_LIMITS = {
    "int8": ("INT8_MIN", "INT8_MAX"), "uint8": ("0", "UINT8_MAX"),
    "int32": ("INT32_MIN", "INT32_MAX"), "int64": ("INT64_MIN", "INT64_MAX"),
}


@dataclass(frozen=True)
class Reducer:
    acc: str  # C type of the accumulator
    init: str
    combine: str  # expression over a (accumulator) and v (element, already in `acc`)
    merge: str  # expression over a and b (two accumulators; b covers later elements)
    finalize: str = "a"  # expression over a and n (int64_t element count)
    index: bool = False  # argmax/argmin: track the flat position of the best element
    better: str = ""  # index mode: is v strictly better than a (NaN wins, like numpy)


def _sum_acc(dtype):
    """float16 sums in float, float32/64 in double (costs no speed: the loops are memory bound),
    integers in int64 (MXNet-style wrap-around only when the result is stored)."""
    if not DTYPES[dtype].is_float:
        return "int64_t"
    return "float" if dtype == "float16" else "double"


def _minmax_acc(dtype):
    # compare in the storage type (int8 compares 64 lanes at a time); float16 in float
    return "float" if dtype == "float16" else DTYPES[dtype].ctype


def reducer(kind: str, dtype: str, ord: int = 2) -> Reducer:
    is_float = DTYPES[dtype].is_float
    lo, hi = ("-INFINITY", "INFINITY") if is_float else _INT_LIMITS[dtype]
    if kind in ("sum", "mean", "nansum"):
        acc = _sum_acc(dtype)
        v = "(v != v ? (ACC)0 : v)" if kind == "nansum" and is_float else "v"
        fin = "a"
        if kind == "mean":
            fin = "a / (ACC)n" if is_float else "(n ? a / n : 0)"
        return Reducer(acc, "0", f"a + {v}", "a + b", fin)
    if kind in ("prod", "nanprod"):
        acc = _sum_acc(dtype)
        v = "(v != v ? (ACC)1 : v)" if kind == "nanprod" and is_float else "v"
        return Reducer(acc, "1", f"a * {v}", "a * b")
    if kind in ("max", "min"):
        op = ">" if kind == "max" else "<"
        return Reducer(_minmax_acc(dtype), lo if kind == "max" else hi,
                       f"((v {op} a || v != v) ? v : a)", f"((b {op} a || b != b) ? b : a)")
    if kind in ("argmax", "argmin"):
        op = ">" if kind == "argmax" else "<"
        return Reducer(_minmax_acc(dtype), lo if kind == "argmax" else hi, "", "", "a", index=True,
                       better=f"(v {op} a || (v != v && a == a))")
    if kind == "norm":
        acc = "float" if dtype == "float16" else "double"
        if ord == 1:
            return Reducer(acc, "0", "a + fabs(v)", "a + b")
        return Reducer(acc, "0", "a + v * v", "a + b", "sqrt(a)")
    raise ValueError(f"unknown reduction {kind!r}")


# ---- shapes ----------------------------------------------------------------------------------
def reduce_axes(op: str, shape: tuple, axis, keepdims: bool, exclude: bool):
    """MXNet's ReduceAxesShapeImpl: (sorted reduced axes, output shape).

    axis None or () reduces everything (to shape (1,), or all ones with keepdims).
    """
    nd = len(shape)
    if axis is None or len(axis) == 0:
        return tuple(range(nd)), ((1,) * nd if keepdims else (1,))
    axes = sorted(normalize_axes(op, axis, nd))
    if exclude:
        axes = [i for i in range(nd) if i not in axes]
    red = set(axes)
    if keepdims:
        out = tuple(1 if i in red else d for i, d in enumerate(shape))
    else:
        out = tuple(d for i, d in enumerate(shape) if i not in red) or (1,)
    return tuple(axes), out


def _count(shape, axes):
    n = 1
    for a in axes:
        n *= shape[a]
    return n


def _check_nonempty(op, shape, axes, out_shape):
    n_out = 1
    for d in out_shape:
        n_out *= d
    if _count(shape, axes) == 0 and n_out > 0:
        raise ShapeError(f"{op}: cannot reduce over a size-0 axis (input shape {fmt(shape)}, reduced axes "
                         f"{tuple(axes)}): the {op} of no elements is undefined")


def _lowering(red: Reducer, in_t: TensorType, out_t: TensorType, axes) -> Lowering:
    return Lowering(
        "reduce",
        {"in_dtype": in_t.dtype, "out_dtype": out_t.dtype, "acc": red.acc, "init": red.init,
         "combine": red.combine, "merge": red.merge, "finalize": red.finalize, "index": red.index,
         "better": red.better},
        {"in_shape": in_t.shape, "axes": tuple(axes)},
    )


_AXES_ATTRS = {
    "axis": Attr("axes", None, doc="axis or axes to reduce; None or () reduces all"),
    "keepdims": Attr("bool", False),
    "exclude": Attr("bool", False, doc="reduce over the axes NOT in `axis`"),
}


def _axes_op(name, aliases=(), nonempty=False, doc=""):
    def infer(in_types, attrs):
        t = in_types[0]
        axes, out = reduce_axes(name, t.shape, attrs["axis"], attrs["keepdims"], attrs["exclude"])
        if nonempty:
            _check_nonempty(name, t.shape, axes, out)
        return [TensorType(out, t.dtype)]

    def lower(in_types, out_types, attrs):
        t = in_types[0]
        axes, _ = reduce_axes(name, t.shape, attrs["axis"], attrs["keepdims"], attrs["exclude"])
        return _lowering(reducer(name, t.dtype), t, out_types[0], axes)

    register(OpDef(name, ("data",), infer, lower, attrs=dict(_AXES_ATTRS), aliases=aliases, nd_method=name,
                   doc=doc))


_axes_op("sum", aliases=("sum_axis",), doc="Sum of array elements over the given axes.")
_axes_op("mean", doc="Mean of array elements over the given axes (integer inputs: truncated).")
_axes_op("prod", doc="Product of array elements over the given axes.")
_axes_op("nansum", doc="Sum over the given axes, treating NaN as zero.")
_axes_op("nanprod", doc="Product over the given axes, treating NaN as one.")
_axes_op("max", aliases=("max_axis",), nonempty=True, doc="Maximum over the given axes (NaN propagates).")
_axes_op("min", aliases=("min_axis",), nonempty=True, doc="Minimum over the given axes (NaN propagates).")


# ---- norm --------------------------------------------------------------------------------------
_NORM_OUT = ("float16", "float32", "float64", "int32", "int64", "int8")


def _norm_axes(shape, attrs):
    return reduce_axes("norm", shape, attrs["axis"], attrs["keepdims"], False)


def _infer_norm(in_types, attrs):
    t = in_types[0]
    if attrs["out_dtype"] is not None and attrs["out_dtype"] not in _NORM_OUT:
        raise TypeError(f"norm: out_dtype must be one of {', '.join(_NORM_OUT)}, got {attrs['out_dtype']}")
    _, out = _norm_axes(t.shape, attrs)
    return [TensorType(out, attrs["out_dtype"] or t.dtype)]


def _lower_norm(in_types, out_types, attrs):
    t = in_types[0]
    axes, _ = _norm_axes(t.shape, attrs)
    return _lowering(reducer("norm", t.dtype, attrs["ord"]), t, out_types[0], axes)


register(OpDef("norm", ("data",), _infer_norm, _lower_norm,
               attrs={"ord": Attr("int", 2, choices={1, 2}, doc="1 (sum of |x|) or 2 (Euclidean)"),
                      "axis": Attr("axes", None), "out_dtype": Attr("dtype", None),
                      "keepdims": Attr("bool", False)},
               nd_method="norm", doc="L1 or L2 norm over the given axes (all elements by default)."))


# ---- argmax / argmin -------------------------------------------------------------------------------
def _arg_axes(op, shape, axis, keepdims):
    """MXNet's ReduceAxisShapeImpl: None reduces the flattened array; a 1-D input gives (1,)."""
    nd = len(shape)
    if axis is None:
        return tuple(range(nd)), ((1,) * nd if keepdims else (1,))
    a = normalize_axis(op, axis, max(nd, 1))
    if nd == 0:
        return (), (1,)
    if nd == 1:
        return (0,), (1,)
    if keepdims:
        return (a,), tuple(1 if i == a else d for i, d in enumerate(shape))
    return (a,), tuple(d for i, d in enumerate(shape) if i != a)


def _arg_op(name):
    def infer(in_types, attrs):
        t = in_types[0]
        axes, out = _arg_axes(name, t.shape, attrs["axis"], attrs["keepdims"])
        _check_nonempty(name, t.shape, axes, out)
        return [TensorType(out, t.dtype)]  # MXNet returns indices in the input's dtype

    def lower(in_types, out_types, attrs):
        t = in_types[0]
        axes, _ = _arg_axes(name, t.shape, attrs["axis"], attrs["keepdims"])
        return _lowering(reducer(name, t.dtype), t, out_types[0], axes)

    register(OpDef(name, ("data",), infer, lower,
                   attrs={"axis": Attr("axis", None, doc="None: over the flattened array"),
                          "keepdims": Attr("bool", False)},
                   nd_method=name, differentiable=False,
                   doc=f"Indices of the {name[3:]}imum values along an axis (first occurrence; "
                       f"returned in the input's dtype)."))


_arg_op("argmax")
_arg_op("argmin")
