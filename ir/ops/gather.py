"""Ops that move data through integer indices: take, pick, gather_nd, scatter_nd, one_hot,
and the hidden ops behind NumPy-style advanced indexing (_index_get, _index_set).

All but one_hot lower to the `gather` family: a result space whose elements read (gather)
or write (scatter) data at `offset + coords . strides + sum_k fix(index_k) * stride_k`.
Indices are checked in the kernel: clip and wrap as MXNet documents, raise returns an
error code that names the axis and its size (never an out-of-bounds access).
"""
from __future__ import annotations

import math

from ..attrs import Attr
from ..registry import Lowering, OpDef, ShapeError, register
from ..types import TensorType
from ._shape import contiguous_strides, fmt, normalize_axis
from .elementwise import ewise_lowering


def gather_lowering(data_t, idx_t, val_t, *, shape, dst, vst, ist, axes, data_shape, isk=0, mode="raise",
                    scatter=False, data=("in", 0), val=("out", 0), idx=("in", 1), data_offset=0, pre=()):
    """Lowering to the gather family; `axes` are the data axes the index components address."""
    dstrides = contiguous_strides(data_shape)
    return Lowering("gather", {
        "data_dtype": data_t.dtype, "val_dtype": val_t.dtype, "idx_dtype": idx_t.dtype, "mode": mode,
        "scatter": bool(scatter)}, {
        "shape": tuple(shape), "dst": tuple(dst), "vst": tuple(vst), "ist": tuple(ist),
        "X": tuple(data_shape[a] for a in axes), "ds": tuple(dstrides[a] for a in axes), "axes": tuple(axes),
        "isk": int(isk), "data": data, "val": val, "idx": idx, "data_offset": int(data_offset), "pre": tuple(pre)})


_MODES = {"clip", "wrap", "raise"}


# ---- take -----------------------------------------------------------------------------------
def _take_axis(in_types, attrs):
    a = in_types[0]
    if not a.shape:
        raise ShapeError("take: the data array must have at least one dimension, got a 0-d array")
    return normalize_axis("take", attrs["axis"], len(a.shape))


def _infer_take(in_types, attrs):
    a, idx = in_types
    axis = _take_axis(in_types, attrs)
    return [TensorType(a.shape[:axis] + idx.shape + a.shape[axis + 1:], a.dtype)]


def _lower_take(in_types, out_types, attrs):
    a, idx = in_types
    out = out_types[0]
    axis = _take_axis(in_types, attrs)
    ast = contiguous_strides(a.shape)
    rest = len(a.shape) - axis - 1
    return gather_lowering(
        a, idx, out, shape=out.shape, dst=ast[:axis] + (0,) * len(idx.shape) + ast[axis + 1:],
        vst=contiguous_strides(out.shape), ist=(0,) * axis + contiguous_strides(idx.shape) + (0,) * rest,
        axes=(axis,), data_shape=a.shape, mode=attrs["mode"])


register(OpDef("take", ("a", "indices"), _infer_take, _lower_take, nd_method="take", attrs={
    "axis": Attr("int", 0), "mode": Attr("enum", "clip", choices=_MODES)},
    doc="Elements of `a` at `indices` along `axis`; out-of-range indices are clipped, wrapped or an error."))


# ---- pick -------------------------------------------------------------------------------------
def _pick_axis(in_types, attrs):
    data, index = in_types
    if attrs["axis"] is None:
        raise ShapeError("pick: axis=None is not supported (as in MXNet); give an axis")
    if not data.shape:
        raise ShapeError("pick: the data array must have at least one dimension")
    axis = normalize_axis("pick", attrs["axis"], len(data.shape))
    dropped = data.shape[:axis] + data.shape[axis + 1:]
    kept = data.shape[:axis] + (1,) + data.shape[axis + 1:]
    if index.shape not in (dropped, kept):
        raise ShapeError(f"pick: index of shape {fmt(index.shape)} must have shape {fmt(dropped)} or {fmt(kept)} "
                         f"for data of shape {fmt(data.shape)} and axis={attrs['axis']}")
    return axis, dropped, kept


def _infer_pick(in_types, attrs):
    _, dropped, kept = _pick_axis(in_types, attrs)
    return [TensorType(kept if attrs["keepdims"] else dropped, in_types[0].dtype)]


def _lower_pick(in_types, out_types, attrs):
    data, index = in_types
    axis, dropped, _ = _pick_axis(in_types, attrs)
    dst = contiguous_strides(data.shape)
    st = contiguous_strides(dropped)
    return gather_lowering(data, index, out_types[0], shape=dropped, dst=dst[:axis] + dst[axis + 1:], vst=st, ist=st,
                           axes=(axis,), data_shape=data.shape, mode=attrs["mode"])


register(OpDef("pick", ("data", "index"), _infer_pick, _lower_pick, nd_method="pick", attrs={
    "axis": Attr("axis", -1), "keepdims": Attr("bool", False),
    "mode": Attr("enum", "clip", choices={"clip", "wrap"})},
    doc="One element along `axis` per position, chosen by `index`."))


# ---- gather_nd, scatter_nd ----------------------------------------------------------------------
def _nd_split(op, idx_shape, data_shape):
    if not idx_shape:
        raise ShapeError(f"{op}: indices must have at least one dimension (M, ...), got a 0-d array")
    m = idx_shape[0]
    if m > len(data_shape):
        raise ShapeError(f"{op}: indices of shape {fmt(idx_shape)} address {m} axes, but the data has only "
                         f"{len(data_shape)} (shape {fmt(data_shape)})")
    return m, idx_shape[1:], data_shape[m:]


def _infer_gather_nd(in_types, attrs):
    data, idx = in_types
    _, z, y = _nd_split("gather_nd", idx.shape, data.shape)
    return [TensorType(z + y, data.dtype)]


def _nd_geometry(idx_shape, data_shape):
    m, z, y = _nd_split("gather_nd", idx_shape, data_shape)
    return dict(shape=z + y, dst=(0,) * len(z) + contiguous_strides(data_shape)[m:],
                vst=contiguous_strides(z + y), ist=contiguous_strides(z) + (0,) * len(y),
                axes=tuple(range(m)), data_shape=data_shape, isk=math.prod(z))


def _lower_gather_nd(in_types, out_types, attrs):
    data, idx = in_types
    return gather_lowering(data, idx, out_types[0], **_nd_geometry(idx.shape, data.shape))


register(OpDef("gather_nd", ("data", "indices"), _infer_gather_nd, _lower_gather_nd,
               doc="data[indices[0, ...], indices[1, ...], ...]; negative indices count from the end."))


def _infer_scatter_nd(in_types, attrs):
    data, idx = in_types
    shape = attrs["shape"]
    _, z, y = _nd_split("scatter_nd", idx.shape, shape)
    if data.shape != z + y:
        raise ShapeError(f"scatter_nd: data of shape {fmt(data.shape)} must have shape {fmt(z + y)} "
                         f"(indices {fmt(idx.shape)}, shape {fmt(shape)})")
    return [TensorType(shape, data.dtype)]


def _lower_scatter_nd(in_types, out_types, attrs):
    data, idx = in_types
    out = out_types[0]
    return gather_lowering(out, idx, data, **_nd_geometry(idx.shape, out.shape), scatter=True, data=("out", 0),
                           val=("in", 0), pre=(("zero_bytes", out.nbytes),))


register(OpDef("scatter_nd", ("data", "indices"), _infer_scatter_nd, _lower_scatter_nd,
               attrs={"shape": Attr("shape")}, doc="Zeros of `shape` with data written at indices."))


def _infer_scatter_set_nd(in_types, attrs):
    lhs, rhs, idx = in_types
    _infer_scatter_nd([rhs, idx], {"shape": lhs.shape})
    return [TensorType(lhs.shape, lhs.dtype)]


def _lower_scatter_set_nd(in_types, out_types, attrs):
    lhs, rhs, idx = in_types
    out = out_types[0]
    return gather_lowering(out, idx, rhs, **_nd_geometry(idx.shape, out.shape), scatter=True, data=("out", 0),
                           val=("in", 1), idx=("in", 2), pre=(("copy_bytes", out.nbytes, ("in", 0)),))


register(OpDef("_scatter_set_nd", ("lhs", "rhs", "indices"), _infer_scatter_set_nd, _lower_scatter_set_nd,
               attrs={"shape": Attr("shape", ())}, hidden=True,
               doc="lhs with rhs written at indices (in place when the output is lhs)."))


# ---- one_hot ------------------------------------------------------------------------------------
def _infer_one_hot(in_types, attrs):
    if attrs["depth"] < 0:
        raise ShapeError(f"one_hot: depth={attrs['depth']} cannot be negative")
    return [TensorType(in_types[0].shape + (attrs["depth"],), attrs["dtype"])]


def _lower_one_hot(in_types, out_types, attrs):
    idx = in_types[0]
    # out[..., j] = on if indices[...] == j: the index read with stride 0 along the new axis;
    # i is the flat output position, so i % depth is j. Out-of-range indices match nothing.
    expr = "((a >= 0 && (double)a < s2 && (int64_t)a == i % (int64_t)s2) ? s0 : s1)"
    return ewise_lowering(expr, [idx], out_types[0], scalars=(attrs["on_value"], attrs["off_value"], attrs["depth"]),
                          in_strides=(contiguous_strides(idx.shape) + (0,),))


register(OpDef("one_hot", ("indices",), _infer_one_hot, _lower_one_hot, nd_method="one_hot", differentiable=False,
               attrs={"depth": Attr("int"), "on_value": Attr("float", 1.0), "off_value": Attr("float", 0.0),
                      "dtype": Attr("dtype", "float32")},
               doc="Rows of `depth` values: on_value at each index, off_value elsewhere."))


# ---- advanced indexing: x[idx] and x[idx] = v ------------------------------------------------------
# Geometry (built by frontend/ndarray/indexing.py): the result has `shape`; its element at
# coordinates c reads data[offset + c . strides + sum_k indices[k, c . idx_strides] * stride(axes[k])].
_GEOMETRY = {"shape": Attr("shape"), "strides": Attr("shape"), "offset": Attr("int", 0),
             "idx_strides": Attr("shape"), "axes": Attr("shape", ())}


def _check_geometry(op, data_shape, idx_shape, attrs):
    shape, strides, ist, axes = attrs["shape"], attrs["strides"], attrs["idx_strides"], attrs["axes"]
    if not len(shape) == len(strides) == len(ist) or any(d < 0 for d in shape):
        raise ShapeError(f"{op}: shape {shape}, strides {strides} and idx_strides {ist} must have equal lengths")
    if any(not 0 <= a < len(data_shape) for a in axes):
        raise ShapeError(f"{op}: axes {axes} out of range for data of shape {fmt(data_shape)}")
    k = len(axes)
    if (idx_shape[:1] != (k,)) if k else False:
        raise ShapeError(f"{op}: indices of shape {fmt(idx_shape)} must have {k} rows, one per indexed axis")
    if math.prod(shape) == 0:
        return
    dsize, isize = math.prod(data_shape), math.prod(idx_shape)
    ds = contiguous_strides(data_shape)
    lo = attrs["offset"] + sum((n - 1) * min(s, 0) for n, s in zip(shape, strides))
    hi = attrs["offset"] + sum((n - 1) * max(s, 0) for n, s in zip(shape, strides))
    hi += sum((data_shape[a] - 1) * ds[a] for a in axes)
    isk = isize // k if k else 0
    ihi = sum((n - 1) * s for n, s in zip(shape, ist)) + (k - 1) * isk
    if lo < 0 or hi >= dsize or any(s < 0 for s in ist) or (k and ihi >= isize):
        raise ShapeError(f"{op}: the index geometry reaches outside data of shape {fmt(data_shape)} "
                         f"or indices of shape {fmt(idx_shape)}")


def _index_lowering(data_t, idx_t, val_t, attrs, **kw):
    k = len(attrs["axes"])
    return gather_lowering(data_t, idx_t, val_t, shape=attrs["shape"], dst=attrs["strides"],
                           vst=kw.pop("vst"), ist=attrs["idx_strides"], axes=attrs["axes"],
                           data_shape=data_t.shape, isk=math.prod(idx_t.shape) // k if k else 0,
                           data_offset=attrs["offset"], **kw)


def _infer_index_get(in_types, attrs):
    data, idx = in_types
    _check_geometry("_index_get", data.shape, idx.shape, attrs)
    return [TensorType(attrs["shape"], data.dtype)]


def _lower_index_get(in_types, out_types, attrs):
    data, idx = in_types
    return _index_lowering(data, idx, out_types[0], attrs, vst=contiguous_strides(attrs["shape"]))


register(OpDef("_index_get", ("data", "indices"), _infer_index_get, _lower_index_get, attrs=_GEOMETRY, hidden=True,
               doc="Advanced indexing: a strided region of data gathered through integer indices."))


def _value_strides(op, value_shape, shape):
    """Strides reading `value_shape` broadcast (NumPy rules) over `shape`."""
    vs = tuple(value_shape)
    while len(vs) > len(shape) and vs[0] == 1:
        vs = vs[1:]
    if len(vs) > len(shape) or any(v != 1 and v != s for v, s in zip(vs[::-1], shape[::-1])):
        raise ShapeError(f"{op}: a value of shape {fmt(value_shape)} cannot be broadcast to the indexed shape "
                         f"{fmt(shape)}")
    pad = (1,) * (len(shape) - len(vs)) + vs
    return tuple(0 if d == 1 else s for d, s in zip(pad, contiguous_strides(pad)))


def _infer_index_set(in_types, attrs):
    lhs, value, idx = in_types
    _check_geometry("_index_set", lhs.shape, idx.shape, attrs)
    _value_strides("_index_set", value.shape, attrs["shape"])
    return [TensorType(lhs.shape, lhs.dtype)]


def _lower_index_set(in_types, out_types, attrs):
    lhs, value, idx = in_types
    out = out_types[0]
    return _index_lowering(out, idx, value, attrs,
                           vst=_value_strides("_index_set", value.shape, attrs["shape"]), scatter=True,
                           data=("out", 0), val=("in", 1), idx=("in", 2),
                           pre=(("copy_bytes", out.nbytes, ("in", 0)),))


register(OpDef("_index_set", ("lhs", "value", "indices"), _infer_index_set, _lower_index_set, attrs=_GEOMETRY,
               hidden=True, doc="lhs with value (broadcast) written through advanced indices; in place with out=lhs."))
