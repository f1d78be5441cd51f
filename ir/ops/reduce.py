"""Reductions: sum, mean, prod, max, min, nansum, nanprod, norm, argmax, argmin (MXNet 1.x).

Every reduction is one `Reducer`: an accumulator type, an init value and C snippets
for combine (fold an element `v` into the accumulator `a`), merge (join two partial
accumulators `a`, `b`, e.g. SIMD lanes or per-thread chunks) and finalize (the output
value from `a` and the element count `n`). The `reduce` kernel family is one template
parameterised by these, so adding a reduction is adding a table entry.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from ..attrs import Attr
from ..registry import Lowering, OpDef, ShapeError, register
from ..types import DTYPES, TensorType
from ._shape import broadcast_strides, fmt, normalize_axes, normalize_axis
from .elementwise import ewise_lowering

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


# ---- gradients -------------------------------------------------------------------------------
# Each backward op reads the out grad (and the reduced output) broadcast back over the input's
# shape through zero strides: one elementwise pass, no reshape or broadcast copies. Snippets run
# over a = out grad, b = data, c = output (MXNet's ReduceAxesBackwardUseInOut); a (float, int)
# pair keeps integer division by zero out of the integer kernels.
_BACKWARD = {
    "sum": (("out_grad",), "a"),
    "mean": (("out_grad",), "a * (T)s0"),
    "nansum": (("out_grad", "data"), "(b != b ? (T)0 : a)"),
    "prod": (("out_grad", "data", "output"), ("a * c / b", "(b == 0 ? (T)0 : a * c / b)")),
    "nanprod": (("out_grad", "data", "output"), ("(b != b ? (T)0 : a * c / b)", "(b == 0 ? (T)0 : a * c / b)")),
    "max": (("out_grad", "data", "output"), "(b == c ? a : (T)0)"),
    "min": (("out_grad", "data", "output"), "(b == c ? a : (T)0)"),
}
# norm: ord 1 is sign(x); ord 2 is x / norm (0 where the norm is 0: MXNet divides, giving NaN)
_NORM_BACKWARD = {1: "a * (T)((b > 0) - (b < 0))", 2: "(c == 0 ? (T)0 : a * b / c)"}


def _parsed(node):
    from ..registry import get
    return get(node.op).parse_attrs(node.attrs)  # node.attrs are the attrs as given


def _kept_shape(shape, axes):
    red = set(axes)
    return tuple(1 if i in red else d for i, d in enumerate(shape))


def _reduced_strides(shape, axes):
    """Element strides reading a reduced result (any keepdims form) broadcast over `shape`."""
    return broadcast_strides(_kept_shape(shape, axes), shape)


def _backward_infer(name, has_data):
    def infer(in_types, attrs):
        g = in_types[0]
        shape = in_types[1].shape if has_data else attrs["shape"]
        axes, out = reduce_axes(name, tuple(shape), attrs["axis"], attrs["keepdims"], attrs["exclude"])
        if g.shape != out:
            raise ShapeError(f"{name}: out_grad of shape {fmt(g.shape)} does not match the reduction of "
                             f"{fmt(shape)} over axes {axes} (expected {fmt(out)})")
        for t in in_types[2:]:
            if t.shape != out:
                raise ShapeError(f"{name}: output of shape {fmt(t.shape)}, expected {fmt(out)}")
        return [TensorType(tuple(shape), in_types[1].dtype if has_data else g.dtype)]
    return infer


def _register_backward(kind):
    inputs, expr = _BACKWARD[kind]
    name = f"_backward_{kind}"
    has_data = len(inputs) > 1

    def lower(in_types, out_types, attrs):
        shape = out_types[0].shape
        axes, _ = reduce_axes(name, shape, attrs["axis"], attrs["keepdims"], attrs["exclude"])
        rst = _reduced_strides(shape, axes)
        strides = tuple(None if k == 1 else rst for k in range(len(in_types)))
        scalars = (1.0 / max(_count(shape, axes), 1),) if kind == "mean" else ()
        e = expr if isinstance(expr, str) else expr[0 if DTYPES[out_types[0].dtype].is_float else 1]
        return ewise_lowering(e, in_types, out_types[0], scalars=scalars, in_strides=strides,
                              in_shapes=tuple(shape if k == 1 else t.shape for k, t in enumerate(in_types)))

    attrs = dict(_AXES_ATTRS)
    if not has_data:
        attrs["shape"] = Attr("shape", doc="the input's shape")
    register(OpDef(name, inputs, _backward_infer(name, has_data), lower, attrs=attrs, hidden=True,
                   differentiable=False, doc=f"Gradient of {kind} with respect to its input."))

    def grad(b, node, ogs):
        p = _parsed(node)
        red = {"axis": p["axis"], "keepdims": p["keepdims"], "exclude": p["exclude"]}
        if has_data:
            return [b.op(name, *([ogs[0], node.inputs[0], node.outputs[0]][:len(inputs)]), **red)]
        return [b.op(name, ogs[0], shape=tuple(node.inputs[0].type.shape), **red)]
    return grad


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
                   grad=_register_backward(name), doc=doc))


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


def _infer_backward_norm(in_types, attrs):
    g, data, y = in_types
    _, out = _norm_axes(data.shape, attrs)
    if g.shape != out or y.shape != out:
        raise ShapeError(f"_backward_norm: out_grad {fmt(g.shape)} and output {fmt(y.shape)} must have the "
                         f"reduced shape {fmt(out)} of data {fmt(data.shape)}")
    return [TensorType(data.shape, data.dtype)]


def _lower_backward_norm(in_types, out_types, attrs):
    shape = out_types[0].shape
    axes, _ = _norm_axes(shape, attrs)
    rst = _reduced_strides(shape, axes)
    return ewise_lowering(_NORM_BACKWARD[attrs["ord"]], in_types, out_types[0], in_strides=(rst, None, rst),
                          in_shapes=(shape, shape, shape))


register(OpDef("_backward_norm", ("out_grad", "data", "output"), _infer_backward_norm, _lower_backward_norm,
               attrs={"ord": Attr("int", 2, choices={1, 2}), "axis": Attr("axes", None),
                      "keepdims": Attr("bool", False)},
               hidden=True, differentiable=False, doc="Gradient of norm with respect to its input."))


def _grad_norm(b, node, ogs):
    p = _parsed(node)
    return [b.op("_backward_norm", ogs[0], node.inputs[0], node.outputs[0], ord=p["ord"], axis=p["axis"],
                 keepdims=p["keepdims"])]


register(OpDef("norm", ("data",), _infer_norm, _lower_norm,
               attrs={"ord": Attr("int", 2, choices={1, 2}, doc="1 (sum of |x|) or 2 (Euclidean)"),
                      "axis": Attr("axes", None), "out_dtype": Attr("dtype", None),
                      "keepdims": Attr("bool", False)},
               nd_method="norm", grad=_grad_norm, doc="L1 or L2 norm over the given axes (all elements by default)."))


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


# ---- sums over a reshaped view (gradients of broadcast, tile, repeat) ---------------------------
def _infer_sum_view(in_types, attrs):
    t = in_types[0]
    view = attrs["shape"]
    if math.prod(view) != math.prod(t.shape):
        raise ShapeError(f"_sum_view: view {fmt(view)} does not have the {math.prod(t.shape)} elements of "
                         f"input {fmt(t.shape)}")
    axes = normalize_axes("_sum_view", attrs["axis"], len(view))
    kept = tuple(d for i, d in enumerate(view) if i not in axes)
    out = attrs["out_shape"] or kept or (1,)
    if math.prod(out) != math.prod(kept):
        raise ShapeError(f"_sum_view: out_shape {fmt(out)} does not have the {math.prod(kept)} elements left "
                         f"by summing view {fmt(view)} over axes {axes}")
    return [TensorType(tuple(out), t.dtype)]


def _lower_sum_view(in_types, out_types, attrs):
    t = in_types[0]
    view = tuple(attrs["shape"])
    axes = sorted(normalize_axes("_sum_view", attrs["axis"], len(view)))
    return _lowering(reducer("sum", t.dtype), TensorType(view, t.dtype), out_types[0], axes)


def _grad_sum_view(b, node, ogs):
    p = _parsed(node)
    view = tuple(p["shape"])
    axes = normalize_axes("_sum_view", p["axis"], len(view))
    kept = tuple(d for i, d in enumerate(view) if i not in axes) or (1,)
    g = ogs[0] if tuple(ogs[0].type.shape) == kept else b.op("Reshape", ogs[0], shape=kept)
    if axes:  # () would mean "every axis" to _backward_sum
        g = b.op("_backward_sum", g, shape=view, axis=axes)
    shape = tuple(node.inputs[0].type.shape)
    return [g if tuple(g.type.shape) == shape else b.op("Reshape", g, shape=shape)]


register(OpDef("_sum_view", ("data",), _infer_sum_view, _lower_sum_view, hidden=True, grad=_grad_sum_view,
               attrs={"shape": Attr("shape"), "axis": Attr("axes", ()), "out_shape": Attr("shape", ())},
               doc="Sum of data read as `shape` over `axis`, returned as out_shape (default: the kept dims)."))


def sum_to_shape(b, g, shape):
    """Undo NumPy broadcasting of `shape` up to g's shape: one reduction straight into `shape`
    (which may also carry extra leading 1s, as an advanced-indexing value can)."""
    gshape, shape = tuple(g.type.shape), tuple(shape)
    if gshape == shape:
        return g
    core = shape
    while len(core) > len(gshape) and core[0] == 1:
        core = core[1:]
    lead = len(gshape) - len(core)
    axes = tuple(range(lead)) + tuple(lead + i for i, d in enumerate(core) if d == 1 and gshape[lead + i] != 1)
    if not axes:
        return b.op("Reshape", g, shape=shape)
    return b.op("_sum_view", g, shape=gshape, axis=axes, out_shape=shape)
