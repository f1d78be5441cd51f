"""sort, argsort and topk (MXNet 1.x ordering ops) on the `sorting` kernel family.

Every op sees its input as (outer, L, inner) around `axis` (axis=None: the flattened array) and
sorts each row stably, NaN counting as the largest value (numpy's order ascending). Indices come
out in the `dtype` attribute (float32 by default, as MXNet); a dtype that cannot hold every
index exactly is an error, not a silent rounding.

Gradients: sort and topk's values route the out grad back to the positions the values came
from (`_topk_scatter`, a scatter of the gather family); indices and masks have zero gradient.
"""
from __future__ import annotations

import math

from ..attrs import Attr
from ..registry import Lowering, OpDef, ShapeError, get, register
from ..types import TensorType
from ._shape import contiguous_strides, fmt, normalize_axis
from .gather import gather_lowering

_IDX_DTYPES = ("float16", "float32", "float64", "int32", "int64", "uint8")
# largest index each index dtype holds exactly
_IDX_MAX = {"float16": 2048, "float32": 1 << 24, "float64": 1 << 53, "int32": (1 << 31) - 1, "int64": (1 << 63) - 1,
            "uint8": 255}


def _layout(op, shape, axis):
    """(outer, L, inner, normalized axis or None)."""
    if axis is None:
        return 1, math.prod(shape), 1, None
    if not shape:
        raise ShapeError(f"{op}: a 0-d array has no axis {axis} to sort along; use axis=None")
    a = normalize_axis(op, axis, len(shape))
    return math.prod(shape[:a]), shape[a], math.prod(shape[a + 1:]), a


def _check_idx_dtype(op, dtype, L):
    if dtype not in _IDX_DTYPES:
        raise TypeError(f"{op}: dtype must be one of {', '.join(_IDX_DTYPES)}, got {dtype}")
    if L - 1 > _IDX_MAX[dtype]:
        raise TypeError(f"{op}: dtype {dtype} cannot represent every index of an axis of length {L} exactly")


def _topk_k(op, k, L):
    if k < 1:
        return L  # MXNet: k < 1 sorts the whole axis
    if k > L:
        raise ShapeError(f"{op}: k={k} must not exceed the length {L} of the axis")
    return k


def _sel_shape(shape, axis, k):
    if axis is None:
        return (k,)
    return shape[:axis] + (k,) + shape[axis + 1:]


def sort_lowering(data_t, *, outer, L, inner, k, desc, mode, idx_dtype=None) -> Lowering:
    return Lowering("sorting", {"dtype": data_t.dtype, "idx_dtype": idx_dtype, "mode": mode},
                    {"outer": outer, "L": L, "inner": inner, "k": k, "desc": bool(desc)})


# ---- gradient helper: out grad of the selected values back to their positions -------------------
def _scatter_geometry(og_shape, shape, axis):
    """(data shape, result shape, axis) with axis None meaning the flattened array."""
    if axis is None:
        return (math.prod(shape),), (math.prod(og_shape),), 0
    a = normalize_axis("_topk_scatter", axis, len(shape))
    if len(og_shape) != len(shape) or og_shape[:a] + og_shape[a + 1:] != shape[:a] + shape[a + 1:] \
            or og_shape[a] > shape[a]:
        raise ShapeError(f"_topk_scatter: out grad of shape {fmt(og_shape)} does not select along axis {axis} "
                         f"of shape {fmt(shape)}")
    return tuple(shape), tuple(og_shape), a


def _infer_topk_scatter(in_types, attrs):
    og, idx = in_types
    if og.shape != idx.shape:
        raise ShapeError(f"_topk_scatter: out grad {fmt(og.shape)} and indices {fmt(idx.shape)} must match")
    _scatter_geometry(og.shape, attrs["shape"], attrs["axis"])
    return [TensorType(attrs["shape"], og.dtype)]


def _lower_topk_scatter(in_types, out_types, attrs):
    og, idx = in_types
    out = out_types[0]
    shape, res, axis = _scatter_geometry(og.shape, out.shape, attrs["axis"])
    st, rst = contiguous_strides(shape), contiguous_strides(res)
    return gather_lowering(out, idx, og, shape=res, dst=st[:axis] + (0,) + st[axis + 1:], vst=rst, ist=rst,
                           axes=(axis,), data_shape=shape, mode="clip", scatter=True, data=("out", 0),
                           val=("in", 0), pre=(("zero_bytes", out.nbytes),))


register(OpDef("_topk_scatter", ("out_grad", "indices"), _infer_topk_scatter, _lower_topk_scatter, hidden=True,
               differentiable=False, attrs={"shape": Attr("shape"), "axis": Attr("axis", -1)},
               doc="Zeros of `shape` with out_grad written at `indices` along `axis` (sort/topk backward)."))


def _attrs(node):
    return get(node.op).parse_attrs(node.attrs)  # node.attrs are the attrs as given (maybe JSON strings)


def _scatter_back(b, node, og, idx):
    return b.op("_topk_scatter", og, idx, shape=tuple(node.inputs[0].type.shape), axis=_attrs(node)["axis"])


# ---- sort, argsort --------------------------------------------------------------------------------
def _infer_sort(in_types, attrs):
    t = in_types[0]
    outer, L, inner, axis = _layout("sort", t.shape, attrs["axis"])
    return [TensorType(t.shape if axis is not None else (L,), t.dtype)]


def _lower_sort(in_types, out_types, attrs):
    outer, L, inner, _ = _layout("sort", in_types[0].shape, attrs["axis"])
    return sort_lowering(in_types[0], outer=outer, L=L, inner=inner, k=L, desc=not attrs["is_ascend"], mode="values")


def _grad_sort(b, node, ogs):
    x, a = node.inputs[0], _attrs(node)
    idx = b.op("argsort", x, axis=a["axis"], is_ascend=a["is_ascend"], dtype="int64")
    return [_scatter_back(b, node, ogs[0], idx)]


_SORT_ATTRS = {"axis": Attr("axis", -1), "is_ascend": Attr("bool", True)}
register(OpDef("sort", ("data",), _infer_sort, _lower_sort, attrs=_SORT_ATTRS, grad=_grad_sort, nd_method="sort",
               doc="A sorted copy of data along axis (axis=None: the flattened array); stable, NaN last ascending."))


def _infer_argsort(in_types, attrs):
    t = in_types[0]
    outer, L, inner, axis = _layout("argsort", t.shape, attrs["axis"])
    _check_idx_dtype("argsort", attrs["dtype"], L)
    return [TensorType(t.shape if axis is not None else (L,), attrs["dtype"])]


def _lower_argsort(in_types, out_types, attrs):
    outer, L, inner, _ = _layout("argsort", in_types[0].shape, attrs["axis"])
    return sort_lowering(in_types[0], outer=outer, L=L, inner=inner, k=L, desc=not attrs["is_ascend"],
                         mode="indices", idx_dtype=attrs["dtype"])


register(OpDef("argsort", ("data",), _infer_argsort, _lower_argsort, nd_method="argsort", differentiable=False,
               attrs={**_SORT_ATTRS, "dtype": Attr("dtype", "float32")},
               doc="The indices that sort data along axis (stable: equal values keep their order)."))


# ---- topk ---------------------------------------------------------------------------------------------
_RET_TYPES = {"value", "indices", "both", "mask"}


def _infer_topk(in_types, attrs):
    t = in_types[0]
    outer, L, inner, axis = _layout("topk", t.shape, attrs["axis"])
    k = _topk_k("topk", attrs["k"], L)
    ret = attrs["ret_typ"]
    if ret == "mask":
        return [TensorType(t.shape, t.dtype)]
    shape = _sel_shape(t.shape, axis, k)
    if ret in ("indices", "both"):
        _check_idx_dtype("topk", attrs["dtype"], L)
    vals, idx = TensorType(shape, t.dtype), TensorType(shape, attrs["dtype"])
    return {"value": [vals], "indices": [idx], "both": [vals, idx]}[ret]


def _lower_topk(in_types, out_types, attrs):
    outer, L, inner, _ = _layout("topk", in_types[0].shape, attrs["axis"])
    k = _topk_k("topk", attrs["k"], L)
    ret = attrs["ret_typ"]
    mode = {"value": "values", "indices": "indices", "both": "both", "mask": "mask"}[ret]
    return sort_lowering(in_types[0], outer=outer, L=L, inner=inner, k=k, desc=not attrs["is_ascend"], mode=mode,
                         idx_dtype=attrs["dtype"] if ret in ("indices", "both") else None)


def _grad_topk(b, node, ogs):
    a = _attrs(node)
    ret = a["ret_typ"]
    x = node.inputs[0]
    if ret == "both":
        return [_scatter_back(b, node, ogs[0], node.outputs[1])]
    if ret == "value":
        idx = b.op("topk", x, ret_typ="indices", dtype="int64", axis=a["axis"], k=a["k"], is_ascend=a["is_ascend"])
        return [_scatter_back(b, node, ogs[0], idx)]
    return [b.zeros_like(x)]


register(OpDef("topk", ("data",), _infer_topk, _lower_topk, nd_method="topk", grad=_grad_topk,
               num_outputs=lambda attrs: 2 if attrs["ret_typ"] == "both" else 1,
               output_names=lambda attrs: ("value", "indices") if attrs["ret_typ"] == "both" else ("output",),
               attrs={"axis": Attr("axis", -1), "k": Attr("int", 1),
                      "ret_typ": Attr("enum", "indices", choices=_RET_TYPES),
                      "is_ascend": Attr("bool", False), "dtype": Attr("dtype", "float32")},
               doc="The k largest (or smallest, is_ascend=True) elements along axis: their values, indices "
                   "(in dtype), both, or a 0/1 mask of data's shape. k < 1 sorts the whole axis."))
