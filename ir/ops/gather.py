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
from ..registry import Lowering, OpDef, ShapeError, get, register
from ..types import TensorType
from ._shape import contiguous_strides, fmt, normalize_axis
from .elementwise import ewise_lowering
from .reduce import sum_to_shape


def gather_lowering(data_t, idx_t, val_t, *, shape, dst, vst, ist, axes, data_shape, isk=0, mode="raise",
                    scatter=False, data=("in", 0), val=("out", 0), idx=("in", 1), data_offset=0, pre=(),
                    accumulate=False):
    """Lowering to the gather family; `axes` are the data axes the index components address.
    `accumulate` (with scatter) adds into data instead of writing: repeated indices add up."""
    dstrides = contiguous_strides(data_shape)
    params = {"data_dtype": data_t.dtype, "val_dtype": val_t.dtype, "idx_dtype": idx_t.dtype, "mode": mode,
              "scatter": bool(scatter)}
    if accumulate:
        params["accumulate"] = True
    return Lowering("gather", params, {
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


def _take_geometry(a_shape, idx_shape, axis, out_shape):
    ast = contiguous_strides(a_shape)
    rest = len(a_shape) - axis - 1
    return dict(shape=out_shape, dst=ast[:axis] + (0,) * len(idx_shape) + ast[axis + 1:],
                vst=contiguous_strides(out_shape), ist=(0,) * axis + contiguous_strides(idx_shape) + (0,) * rest,
                axes=(axis,), data_shape=a_shape)


def _lower_take(in_types, out_types, attrs):
    a, idx = in_types
    out = out_types[0]
    axis = _take_axis(in_types, attrs)
    return gather_lowering(a, idx, out, **_take_geometry(a.shape, idx.shape, axis, out.shape), mode=attrs["mode"])


def _scatter_add(out_t, idx_t, g_t, geometry, **kw):
    """out = zeros, then out[...] += out_grad[...] through the indices (a gradient of a gather)."""
    return gather_lowering(out_t, idx_t, g_t, **geometry, scatter=True, accumulate=True, data=("out", 0),
                           val=("in", 0), idx=("in", 1), pre=(("zero_bytes", out_t.nbytes),), **kw)


def _parsed(node):
    return get(node.op).parse_attrs(node.attrs)  # node.attrs are the attrs as given


def _infer_backward_take(in_types, attrs):
    g, idx = in_types
    shape = attrs["shape"]
    axis = _take_axis([TensorType(shape, g.dtype), idx], attrs)
    want = shape[:axis] + idx.shape + shape[axis + 1:]
    if g.shape != want:
        raise ShapeError(f"_backward_take: out_grad of shape {fmt(g.shape)} does not match take of {fmt(shape)} "
                         f"by indices {fmt(idx.shape)} on axis {axis} (expected {fmt(want)})")
    return [TensorType(shape, g.dtype)]


def _lower_backward_take(in_types, out_types, attrs):
    g, idx = in_types
    out = out_types[0]
    axis = _take_axis([out, idx], attrs)
    return _scatter_add(out, idx, g, _take_geometry(out.shape, idx.shape, axis, g.shape), mode=attrs["mode"])


register(OpDef("_backward_take", ("out_grad", "indices"), _infer_backward_take, _lower_backward_take, hidden=True,
               differentiable=False, attrs={"axis": Attr("int", 0), "mode": Attr("enum", "clip", choices=_MODES),
                                            "shape": Attr("shape", doc="the data's shape")},
               doc="Gradient of take: zeros of `shape` with out_grad added at the indices (repeats add up)."))


def _grad_take(b, node, ogs):
    p = _parsed(node)
    a = node.inputs[0]
    return [b.op("_backward_take", ogs[0], node.inputs[1], axis=p["axis"], mode=p["mode"], shape=a.type.shape), None]


register(OpDef("take", ("a", "indices"), _infer_take, _lower_take, nd_method="take", grad=_grad_take, attrs={
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


def _pick_geometry(data_shape, axis, dropped):
    dst = contiguous_strides(data_shape)
    st = contiguous_strides(dropped)
    return dict(shape=dropped, dst=dst[:axis] + dst[axis + 1:], vst=st, ist=st, axes=(axis,), data_shape=data_shape)


def _lower_pick(in_types, out_types, attrs):
    data, index = in_types
    axis, dropped, _ = _pick_axis(in_types, attrs)
    return gather_lowering(data, index, out_types[0], **_pick_geometry(data.shape, axis, dropped), mode=attrs["mode"])


_PICK_ATTRS = {"axis": Attr("axis", -1), "keepdims": Attr("bool", False),
               "mode": Attr("enum", "clip", choices={"clip", "wrap"})}


def _infer_backward_pick(in_types, attrs):
    g, index = in_types
    data = TensorType(attrs["shape"], g.dtype)
    want = _infer_pick([data, index], attrs)[0].shape
    if g.shape != want:
        raise ShapeError(f"_backward_pick: out_grad of shape {fmt(g.shape)}, expected {fmt(want)} for data "
                         f"{fmt(data.shape)} and index {fmt(index.shape)}")
    return [data]


def _lower_backward_pick(in_types, out_types, attrs):
    g, index = in_types
    out = out_types[0]
    axis, dropped, _ = _pick_axis([out, index], attrs)
    return _scatter_add(out, index, g, _pick_geometry(out.shape, axis, dropped), mode=attrs["mode"])


register(OpDef("_backward_pick", ("out_grad", "index"), _infer_backward_pick, _lower_backward_pick, hidden=True,
               differentiable=False, attrs={**_PICK_ATTRS, "shape": Attr("shape", doc="the data's shape")},
               doc="Gradient of pick: zeros of `shape` with out_grad at the picked positions."))


def _grad_pick(b, node, ogs):
    p = _parsed(node)
    return [b.op("_backward_pick", ogs[0], node.inputs[1], axis=p["axis"], keepdims=p["keepdims"], mode=p["mode"],
                 shape=node.inputs[0].type.shape), None]


register(OpDef("pick", ("data", "index"), _infer_pick, _lower_pick, nd_method="pick", attrs=dict(_PICK_ATTRS),
               grad=_grad_pick, doc="One element along `axis` per position, chosen by `index`."))


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


def _infer_backward_gather_nd(in_types, attrs):
    g, idx = in_types
    shape = attrs["shape"]
    want = _infer_gather_nd([TensorType(shape, g.dtype), idx], attrs)[0].shape
    if g.shape != want:
        raise ShapeError(f"_backward_gather_nd: out_grad of shape {fmt(g.shape)}, expected {fmt(want)} for data "
                         f"{fmt(shape)} and indices {fmt(idx.shape)}")
    return [TensorType(shape, g.dtype)]


def _lower_backward_gather_nd(in_types, out_types, attrs):
    g, idx = in_types
    out = out_types[0]
    return _scatter_add(out, idx, g, _nd_geometry(idx.shape, out.shape))


register(OpDef("_backward_gather_nd", ("data", "indices"), _infer_backward_gather_nd, _lower_backward_gather_nd,
               attrs={"shape": Attr("shape")}, hidden=True, differentiable=False,
               doc="Zeros of `shape` with data added at indices (repeated indices add up): gather_nd's gradient."))


def _grad_gather_nd(b, node, ogs):
    return [b.op("_backward_gather_nd", ogs[0], node.inputs[1], shape=node.inputs[0].type.shape), None]


register(OpDef("gather_nd", ("data", "indices"), _infer_gather_nd, _lower_gather_nd, grad=_grad_gather_nd,
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


def _grad_scatter_nd(b, node, ogs):
    return [b.op("gather_nd", ogs[0], node.inputs[1]), None]


register(OpDef("scatter_nd", ("data", "indices"), _infer_scatter_nd, _lower_scatter_nd, grad=_grad_scatter_nd,
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


def _grad_scatter_set_nd(b, node, ogs):
    lhs, rhs, idx = node.inputs
    return [b.op("_scatter_set_nd", ogs[0], b.zeros_like(rhs), idx, shape=lhs.type.shape),
            b.op("gather_nd", ogs[0], idx), None]


register(OpDef("_scatter_set_nd", ("lhs", "rhs", "indices"), _infer_scatter_set_nd, _lower_scatter_set_nd,
               attrs={"shape": Attr("shape", ())}, hidden=True, grad=_grad_scatter_set_nd,
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


def _geometry_of(node):
    p = _parsed(node)
    return {k: p[k] for k in _GEOMETRY}


def _grad_index_get(b, node, ogs):
    data, idx = node.inputs
    return [b.op("_backward_index_get", ogs[0], idx, data_shape=data.type.shape, **_geometry_of(node)), None]


register(OpDef("_index_get", ("data", "indices"), _infer_index_get, _lower_index_get, attrs=_GEOMETRY, hidden=True,
               grad=_grad_index_get,
               doc="Advanced indexing: a strided region of data gathered through integer indices."))


def _infer_backward_index_get(in_types, attrs):
    g, idx = in_types
    _check_geometry("_backward_index_get", attrs["data_shape"], idx.shape, attrs)
    if g.shape != tuple(attrs["shape"]):
        raise ShapeError(f"_backward_index_get: out_grad of shape {fmt(g.shape)}, expected {fmt(attrs['shape'])}")
    return [TensorType(attrs["data_shape"], g.dtype)]


def _lower_backward_index_get(in_types, out_types, attrs):
    g, idx = in_types
    out = out_types[0]
    k = len(attrs["axes"])
    geometry = dict(shape=attrs["shape"], dst=attrs["strides"], vst=contiguous_strides(attrs["shape"]),
                    ist=attrs["idx_strides"], axes=attrs["axes"], data_shape=out.shape,
                    isk=math.prod(idx.shape) // k if k else 0)
    return _scatter_add(out, idx, g, geometry, data_offset=attrs["offset"])


register(OpDef("_backward_index_get", ("out_grad", "indices"), _infer_backward_index_get, _lower_backward_index_get,
               attrs={"data_shape": Attr("shape"), **_GEOMETRY}, hidden=True, differentiable=False,
               doc="Gradient of _index_get: zeros of data_shape with out_grad added through the geometry."))


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


def _grad_index_set(b, node, ogs):
    lhs, value, idx = node.inputs
    geo = _geometry_of(node)
    region = b.op("_index_get", ogs[0], idx, **geo)
    return [b.op("_index_set", ogs[0], b.zeros_like(value), idx, **geo), sum_to_shape(b, region, value.type.shape),
            None]


register(OpDef("_index_set", ("lhs", "value", "indices"), _infer_index_set, _lower_index_set, attrs=_GEOMETRY,
               hidden=True, grad=_grad_index_set,
               doc="lhs with value (broadcast) written through advanced indices; in place with out=lhs."))
