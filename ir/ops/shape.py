"""Data movement: transpose, reshape, broadcast, tile, repeat, flip, slice, pad, concat, split, stack.

None of these computes anything: each is a strided copy through the elementwise family's
copy "a" (the input read with permuted, negated, zero or stepped element strides from an
offset), or, for ops made of several pieces, a lowering of the `copies` family (see
_pieces.py). Shapes and strides are run-time arguments, so one compile per dtype pair
serves every shape and axis.

Gradients are movements too: the inverse permutation, a reshape back, a sum over the
broadcast or repeated axes (reduce.py's _sum_view, reading the out grad as a view), the out
grad written into zeros (_backward_slice), a scatter-add along an axis for pad's edge and
reflect modes (gather.py's _backward_take), slices for concat and split for stack.
"""
from __future__ import annotations

import math

from ..attrs import Attr
from ..registry import OpDef, ShapeError, get, register
from ..types import TensorType
from ._pieces import Pieces
from ._shape import contiguous_strides, fmt, infer_reshape, normalize_axes, normalize_axis
from .elementwise import ewise_lowering
from .reduce import sum_to_shape


def _view_lowering(in_type, out_type, shape, strides, offset=0):
    """out (contiguous, iterated as `shape`) = the input read with element `strides` from `offset`."""
    return ewise_lowering("a", [in_type], out_type, out_shape=tuple(shape), in_strides=(tuple(strides),),
                          in_offsets=(int(offset),))


def _flat_lowering(in_types, out_types, attrs):
    """Same elements in the same order (reshape-like): a flat copy."""
    return ewise_lowering("a", in_types[:1], out_types[0], in_shapes=(out_types[0].shape,))


def _check_ndim(op, t, low=1):
    if len(t.shape) < low:
        raise ShapeError(f"{op}: expected an input of at least {low} dimension(s), got shape {fmt(t.shape)}")


def _same_dtype(op, in_types):
    if len({t.dtype for t in in_types}) > 1:
        raise TypeError(f"{op}: all inputs must share one dtype, got {', '.join(t.dtype for t in in_types)}")


def _parsed(node):
    return get(node.op).parse_attrs(node.attrs)  # node.attrs are the attrs as given


def _reshape_to(b, g, shape):
    """g (any shape of the same size) as `shape`."""
    shape = tuple(shape)
    if tuple(g.type.shape) == shape:
        return g
    if math.prod(shape) == 0:
        return b.zeros(TensorType(shape, g.type.dtype))
    return b.op("Reshape", g, shape=shape)


def _grad_reshape(b, node, ogs):
    return [_reshape_to(b, ogs[0], node.inputs[0].type.shape)]


def _grad_sum_to_input(b, node, ogs):
    """Broadcasting ops: sum the out grad over the broadcast axes (other inputs get none)."""
    return [sum_to_shape(b, ogs[0], node.inputs[0].type.shape)] + [None] * (len(node.inputs) - 1)


# ---- transpose, SwapAxis -----------------------------------------------------------------
def _perm(op, axes, ndim):
    if not axes:
        return tuple(reversed(range(ndim)))
    if len(axes) != ndim:
        raise ShapeError(f"{op}: axes={tuple(axes)} must list each of the input's {ndim} axes once")
    return normalize_axes(op, axes, ndim, "axes")


def _permuted(in_types, out_types, perm):
    st = contiguous_strides(in_types[0].shape)
    return _view_lowering(in_types[0], out_types[0], out_types[0].shape, [st[p] for p in perm])


def _infer_transpose(in_types, attrs):
    shape = in_types[0].shape
    return [TensorType(tuple(shape[p] for p in _perm("transpose", attrs["axes"], len(shape))), in_types[0].dtype)]


def _lower_transpose(in_types, out_types, attrs):
    return _permuted(in_types, out_types, _perm("transpose", attrs["axes"], len(in_types[0].shape)))


def _grad_transpose(b, node, ogs):
    perm = _perm("transpose", _parsed(node)["axes"], len(node.inputs[0].type.shape))
    return [b.op("transpose", ogs[0], axes=tuple(perm.index(i) for i in range(len(perm))))]


register(OpDef("transpose", ("data",), _infer_transpose, _lower_transpose, attrs={"axes": Attr("shape", ())},
               nd_method="transpose", grad=_grad_transpose, doc="Permute the axes (reverse them when axes is empty)."))


def _swap_perm(attrs, ndim):
    a = normalize_axis("SwapAxis", attrs["dim1"], ndim, "dim1")
    b = normalize_axis("SwapAxis", attrs["dim2"], ndim, "dim2")
    perm = list(range(ndim))
    perm[a], perm[b] = perm[b], perm[a]
    return perm


def _infer_swap(in_types, attrs):
    _check_ndim("SwapAxis", in_types[0])
    shape = in_types[0].shape
    return [TensorType(tuple(shape[p] for p in _swap_perm(attrs, len(shape))), in_types[0].dtype)]


def _lower_swap(in_types, out_types, attrs):
    return _permuted(in_types, out_types, _swap_perm(attrs, len(in_types[0].shape)))


def _grad_swap(b, node, ogs):
    p = _parsed(node)
    return [b.op("SwapAxis", ogs[0], dim1=p["dim1"], dim2=p["dim2"])]


register(OpDef("SwapAxis", ("data",), _infer_swap, _lower_swap, aliases=("swapaxes",),
               attrs={"dim1": Attr("int", 0), "dim2": Attr("int", 0)}, nd_method="swapaxes", grad=_grad_swap,
               doc="Interchange two axes."))


# ---- reshape-like: same elements, same order ------------------------------------------------
def _infer_expand_dims(in_types, attrs):
    shape = in_types[0].shape
    axis = normalize_axis("expand_dims", attrs["axis"], len(shape) + 1)
    return [TensorType(shape[:axis] + (1,) + shape[axis:], in_types[0].dtype)]


register(OpDef("expand_dims", ("data",), _infer_expand_dims, _flat_lowering, attrs={"axis": Attr("int")},
               nd_method="expand_dims", grad=_grad_reshape,
               doc="Insert an axis of size 1 at `axis` (-ndim-1 <= axis <= ndim)."))


def _infer_squeeze(in_types, attrs):
    shape = in_types[0].shape
    if attrs["axis"] is None:
        out = tuple(d for d in shape if d != 1)
    else:
        axes = normalize_axes("squeeze", attrs["axis"], len(shape))
        for a in axes:
            if shape[a] != 1:
                raise ShapeError(f"squeeze: cannot remove axis {a} of shape {fmt(shape)}: its size is {shape[a]}, "
                                 f"not 1")
        out = tuple(d for k, d in enumerate(shape) if k not in axes)
    # MXNet 1.x has no 0-d arrays here: squeezing every axis leaves shape (1,)
    return [TensorType(out if out or not shape else (1,), in_types[0].dtype)]


register(OpDef("squeeze", ("data",), _infer_squeeze, _flat_lowering, attrs={"axis": Attr("axes", None)},
               nd_method="squeeze", grad=_grad_reshape, doc="Remove axes of size 1 (all of them when axis is None)."))


def _infer_flatten(in_types, attrs):
    shape = in_types[0].shape
    _check_ndim("Flatten", in_types[0])
    return [TensorType((shape[0], math.prod(shape[1:])), in_types[0].dtype)]


register(OpDef("Flatten", ("data",), _infer_flatten, _flat_lowering, aliases=("flatten",), nd_method="flatten",
               grad=_grad_reshape,
               doc="Collapse every axis but the first: (d0, d1*...*dk)."))


def _infer_reshape(in_types, attrs):
    src = in_types[0].shape
    if attrs["shape"]:
        out = infer_reshape(src, attrs["shape"], attrs["reverse"], "Reshape")
    elif attrs["target_shape"]:  # deprecated MXNet form: one 0 is inferred
        out = list(attrs["target_shape"])
        start = 1 if attrs["keep_highest"] else 0
        if attrs["keep_highest"]:
            out[0] = src[0]
        zeros = [k for k in range(start, len(out)) if out[k] == 0]
        if len(zeros) > 1:
            raise ShapeError(f"Reshape: target_shape={attrs['target_shape']} may infer one dimension (0) only")
        if zeros:
            rest = math.prod(d for k, d in enumerate(out) if k != zeros[0])
            out[zeros[0]] = math.prod(src) // rest if rest else 0
        out = tuple(out)
        if math.prod(out) != math.prod(src):
            raise ShapeError(f"Reshape: cannot reshape array of shape {fmt(src)} into {fmt(out)}")
    else:
        raise ShapeError("Reshape: the target shape is required (shape=...)")
    return [TensorType(out, in_types[0].dtype)]


register(OpDef("Reshape", ("data",), _infer_reshape, _flat_lowering, aliases=("reshape",), grad=_grad_reshape, attrs={
    "shape": Attr("shape", ()), "reverse": Attr("bool", False), "target_shape": Attr("shape", ()),
    "keep_highest": Attr("bool", False)}, doc="A copy with a new shape; codes 0, -1, -2, -3, -4 as in MXNet."))


def _like_range(op, which, begin, end, ndim):
    b = 0 if begin is None else (begin + ndim if begin < 0 else begin)
    e = ndim if end is None else (end + ndim if end < 0 else end)
    if not 0 <= b <= e <= ndim:
        raise ShapeError(f"{op}: {which}_begin={begin}, {which}_end={end} do not give a range of axes of a "
                         f"{ndim}-D input (expected 0 <= begin <= end <= {ndim} after adding ndim to negatives)")
    return b, e


def _infer_reshape_like(in_types, attrs):
    lhs, rhs = in_types[0].shape, in_types[1].shape
    lb, le = _like_range("reshape_like", "lhs", attrs["lhs_begin"], attrs["lhs_end"], len(lhs))
    rb, re = _like_range("reshape_like", "rhs", attrs["rhs_begin"], attrs["rhs_end"], len(rhs))
    out = tuple(lhs[:lb]) + tuple(rhs[rb:re]) + tuple(lhs[le:])
    if math.prod(out) != math.prod(lhs):
        raise ShapeError(f"reshape_like: cannot reshape lhs of shape {fmt(lhs)} ({math.prod(lhs)} elements) "
                         f"like rhs of shape {fmt(rhs)}: the result {fmt(out)} has {math.prod(out)} elements")
    return [TensorType(out, in_types[0].dtype)]


register(OpDef("reshape_like", ("lhs", "rhs"), _infer_reshape_like, _flat_lowering,
               grad=lambda b, node, ogs: [_reshape_to(b, ogs[0], node.inputs[0].type.shape), None],
               attrs={"lhs_begin": Attr("axis", None), "lhs_end": Attr("axis", None),
                      "rhs_begin": Attr("axis", None), "rhs_end": Attr("axis", None)},
               doc="lhs reshaped to rhs's shape; with the begin/end attrs, lhs axes [lhs_begin, lhs_end) are "
                   "replaced by rhs axes [rhs_begin, rhs_end)."))


# ---- broadcasting -----------------------------------------------------------------------------
def _broadcast_check(op, shape, out):
    for k, (d, o) in enumerate(zip(shape, out)):
        if d != o and d != 1:
            raise ShapeError(f"{op}: cannot broadcast shape {fmt(shape)} to {fmt(out)} "
                             f"(axis {k} has size {d}, expected 1 or {o})")


def _lower_broadcast(in_types, out_types, attrs):
    return ewise_lowering("a", in_types[:1], out_types[0])


def _infer_broadcast_to(in_types, attrs):
    shape, target = in_types[0].shape, attrs["shape"]
    if len(target) < len(shape):
        raise ShapeError(f"broadcast_to: cannot broadcast shape {fmt(shape)} to {fmt(target)}: "
                         f"the target has fewer dimensions")
    if any(d < 0 for d in target):
        raise ShapeError(f"broadcast_to: negative dimension in shape {fmt(target)}")
    shape = (1,) * (len(target) - len(shape)) + shape
    out = tuple(d if t == 0 else t for d, t in zip(shape, target))
    _broadcast_check("broadcast_to", shape, out)
    return [TensorType(out, in_types[0].dtype)]


register(OpDef("broadcast_to", ("data",), _infer_broadcast_to, _lower_broadcast, attrs={"shape": Attr("shape", ())},
               nd_method="broadcast_to", grad=_grad_sum_to_input,
               doc="Broadcast to `shape`; a 0 keeps the input's dimension."))


def _infer_broadcast_axis(in_types, attrs):
    shape = list(in_types[0].shape)
    axes, sizes = attrs["axis"], attrs["size"]
    if len(axes) != len(sizes):
        raise ShapeError(f"broadcast_axis: axis={axes} and size={sizes} must have the same length")
    for a, s in zip(normalize_axes("broadcast_axis", axes, len(shape)), sizes):
        if shape[a] != 1:
            raise ShapeError(f"broadcast_axis: axis {a} of shape {fmt(in_types[0].shape)} has size {shape[a]}; "
                             f"only axes of size 1 can be broadcast")
        if s < 0:
            raise ShapeError(f"broadcast_axis: negative size {s}")
        shape[a] = s
    return [TensorType(tuple(shape), in_types[0].dtype)]


register(OpDef("broadcast_axis", ("data",), _infer_broadcast_axis, _lower_broadcast, aliases=("broadcast_axes",),
               grad=_grad_sum_to_input,
               attrs={"axis": Attr("axes", ()), "size": Attr("shape", ())},
               doc="Broadcast axes of size 1 to the given sizes."))


def _infer_broadcast_like(in_types, attrs):
    lhs, rhs = in_types[0].shape, in_types[1].shape
    la, ra = attrs["lhs_axes"], attrs["rhs_axes"]
    if la is None and ra is None:
        if len(lhs) != len(rhs):
            raise ShapeError(f"broadcast_like: shapes {fmt(lhs)} and {fmt(rhs)} must have the same number of "
                             f"dimensions (or give lhs_axes and rhs_axes)")
        out = rhs
    else:
        if la is None or ra is None or len(la) != len(ra):
            raise ShapeError(f"broadcast_like: lhs_axes={la} and rhs_axes={ra} must both be given, of equal length")
        la = normalize_axes("broadcast_like", la, len(lhs), "lhs_axes")
        ra = tuple(normalize_axis("broadcast_like", a, len(rhs), "rhs_axes") for a in ra)
        out = list(lhs)
        for a, b in zip(la, ra):
            out[a] = rhs[b]
        out = tuple(out)
    _broadcast_check("broadcast_like", lhs, out)
    return [TensorType(out, in_types[0].dtype)]


register(OpDef("broadcast_like", ("lhs", "rhs"), _infer_broadcast_like, _lower_broadcast, grad=_grad_sum_to_input,
               attrs={"lhs_axes": Attr("axes", None), "rhs_axes": Attr("axes", None)}, nd_method="broadcast_like",
               doc="Broadcast lhs to the shape of rhs (or of the given axes of rhs)."))


# ---- tile, repeat -----------------------------------------------------------------------------
def _tile_dims(shape, reps):
    n = max(len(shape), len(reps))
    return (1,) * (n - len(shape)) + tuple(shape), (1,) * (n - len(reps)) + tuple(reps)


def _infer_tile(in_types, attrs):
    if any(r < 0 for r in attrs["reps"]):
        raise ShapeError(f"tile: reps={attrs['reps']} must not be negative")
    shape, reps = _tile_dims(in_types[0].shape, attrs["reps"])
    return [TensorType(tuple(d * r for d, r in zip(shape, reps)), in_types[0].dtype)]


def _lower_tile(in_types, out_types, attrs):
    shape, reps = _tile_dims(in_types[0].shape, attrs["reps"])
    st = contiguous_strides(shape)
    # output axis k of size r*d read as (r, d): the repeat index has stride 0
    it = tuple(x for r, d in zip(reps, shape) for x in (r, d))
    strides = tuple(x for s in st for x in (0, s))
    return _view_lowering(in_types[0], out_types[0], it, strides)


def _grad_tile(b, node, ogs):
    """Output axis k (r*d) read as (r, d): sum over the r axes."""
    shape, reps = _tile_dims(node.inputs[0].type.shape, _parsed(node)["reps"])
    view = tuple(x for r, d in zip(reps, shape) for x in (r, d))
    return [b.op("_sum_view", ogs[0], shape=view, axis=tuple(range(0, len(view), 2)),
                 out_shape=node.inputs[0].type.shape)]


register(OpDef("tile", ("data",), _infer_tile, _lower_tile, attrs={"reps": Attr("shape")}, nd_method="tile",
               grad=_grad_tile,
               doc="Repeat the whole array `reps` times along each axis."))


def _repeat_axis(in_types, attrs):
    if attrs["repeats"] < 0:
        raise ShapeError(f"repeat: repeats={attrs['repeats']} cannot be negative")
    shape = in_types[0].shape
    if attrs["axis"] is None:
        return (math.prod(shape),), 0
    _check_ndim("repeat", in_types[0])
    return shape, normalize_axis("repeat", attrs["axis"], len(shape))


def _infer_repeat(in_types, attrs):
    shape, axis = _repeat_axis(in_types, attrs)
    out = shape[:axis] + (shape[axis] * attrs["repeats"],) + shape[axis + 1:]
    return [TensorType(out, in_types[0].dtype)]


def _lower_repeat(in_types, out_types, attrs):
    shape, axis = _repeat_axis(in_types, attrs)
    st = contiguous_strides(shape)
    it = shape[:axis + 1] + (attrs["repeats"],) + shape[axis + 1:]
    strides = st[:axis + 1] + (0,) + st[axis + 1:]
    return _view_lowering(in_types[0], out_types[0], it, strides)


def _grad_repeat(b, node, ogs):
    p = _parsed(node)
    shape, axis = _repeat_axis([node.inputs[0].type], p)
    view = shape[:axis + 1] + (p["repeats"],) + shape[axis + 1:]
    return [b.op("_sum_view", ogs[0], shape=view, axis=(axis + 1,), out_shape=node.inputs[0].type.shape)]


register(OpDef("repeat", ("data",), _infer_repeat, _lower_repeat, grad=_grad_repeat,
               attrs={"repeats": Attr("int"), "axis": Attr("axis", None)}, nd_method="repeat",
               doc="Repeat each element `repeats` times along `axis` (of the flattened array when None)."))


# ---- reverse (flip) ---------------------------------------------------------------------------
def _infer_same(in_types, attrs):
    return [TensorType(in_types[0].shape, in_types[0].dtype)]


def _lower_reverse(in_types, out_types, attrs):
    shape = in_types[0].shape
    st = list(contiguous_strides(shape))
    offset = 0
    for a in normalize_axes("reverse", attrs["axis"], len(shape)):
        offset += max(shape[a] - 1, 0) * st[a]
        st[a] = -st[a]
    return _view_lowering(in_types[0], out_types[0], shape, st, offset)


def _infer_reverse(in_types, attrs):
    normalize_axes("reverse", attrs["axis"], len(in_types[0].shape))
    return _infer_same(in_types, attrs)


def _grad_reverse(b, node, ogs):
    return [b.op("reverse", ogs[0], axis=_parsed(node)["axis"])]


register(OpDef("reverse", ("data",), _infer_reverse, _lower_reverse, aliases=("flip",), grad=_grad_reverse,
               attrs={"axis": Attr("axes")}, nd_method="flip", doc="Reverse the order of elements along axes."))


# ---- slice, slice_axis, slice_like ------------------------------------------------------------
def slice_ranges(op, shape, begin, end, step=()):
    """Per axis (start, step, length) under MXNet's slice rules (Python's, with None = default)."""
    if not shape:
        raise ShapeError(f"{op}: cannot slice a 0-d array")
    if len(begin) != len(end) or len(begin) > len(shape):
        raise ShapeError(f"{op}: begin={begin} and end={end} must have the same length, at most the input's "
                         f"{len(shape)} dimension(s) (shape {fmt(shape)})")
    if step and len(step) != len(begin):
        raise ShapeError(f"{op}: step={step} must have the same length as begin={begin}")
    out = []
    for k, n in enumerate(shape):
        if k >= len(begin):
            out.append((0, 1, n))
            continue
        s = step[k] if step and step[k] is not None else 1
        if s == 0:
            raise ShapeError(f"{op}: step[{k}] cannot be 0")
        b, e, s = slice(begin[k], end[k], s).indices(n)
        out.append((b, s, len(range(b, e, s))))
    return out


def _region(shape, ranges):
    """Iteration shape, element strides and offset of a region of a contiguous array."""
    st = contiguous_strides(shape)
    return (tuple(n for _, _, n in ranges), tuple(s * step for s, (_, step, _) in zip(st, ranges)),
            sum(s * b for s, (b, _, n) in zip(st, ranges) if n))


def _slice_of(attrs, shape, op="slice"):
    return slice_ranges(op, shape, attrs["begin"], attrs["end"], attrs["step"])


def _infer_slice(in_types, attrs):
    return [TensorType(tuple(n for _, _, n in _slice_of(attrs, in_types[0].shape)), in_types[0].dtype)]


def _lower_region(in_types, out_types, ranges):
    shape, strides, offset = _region(in_types[0].shape, ranges)
    return _view_lowering(in_types[0], out_types[0], shape, strides, offset)


def _lower_slice(in_types, out_types, attrs):
    return _lower_region(in_types, out_types, _slice_of(attrs, in_types[0].shape))


_SLICE_ATTRS = {"begin": Attr("optints"), "end": Attr("optints"), "step": Attr("optints", ())}


def _infer_backward_slice(in_types, attrs):
    g = in_types[0]
    region = tuple(n for _, _, n in _slice_of(attrs, attrs["shape"], "_backward_slice"))
    if g.shape != region:
        raise ShapeError(f"_backward_slice: out_grad of shape {fmt(g.shape)} does not match the region "
                         f"{fmt(region)} of {fmt(attrs['shape'])} (begin={attrs['begin']}, end={attrs['end']}, "
                         f"step={attrs['step']})")
    return [TensorType(tuple(attrs["shape"]), g.dtype)]


def _lower_backward_slice(in_types, out_types, attrs):
    g, out = in_types[0], out_types[0]
    shape, strides, offset = _region(out.shape, _slice_of(attrs, out.shape, "_backward_slice"))
    p = Pieces()
    if math.prod(shape) != math.prod(out.shape):
        p.fill(out, 0.0, out.shape)
    p.copy(g, out, shape, dst_strides=strides, dst_offset=offset)
    return p.lowering()


register(OpDef("_backward_slice", ("out_grad",), _infer_backward_slice, _lower_backward_slice, hidden=True,
               differentiable=False, attrs={"shape": Attr("shape", doc="the data's shape"), **_SLICE_ATTRS},
               doc="Zeros of `shape` with out_grad in the region [begin:end:step] (the gradient of slicing)."))


def _backward_region(b, g, shape, ranges):
    """Gradient of reading `ranges` (start, step=1, length per axis) out of an array of `shape`."""
    begin = tuple(s for s, _, _ in ranges)
    end = tuple(s + n for s, _, n in ranges)
    return b.op("_backward_slice", g, shape=tuple(shape), begin=begin, end=end)


def _grad_slice(b, node, ogs):
    p = _parsed(node)
    return [b.op("_backward_slice", ogs[0], shape=node.inputs[0].type.shape, begin=p["begin"], end=p["end"],
                 step=p["step"])]


register(OpDef("slice", ("data",), _infer_slice, _lower_slice, aliases=("crop",), attrs=_SLICE_ATTRS, grad=_grad_slice,
               nd_method="slice", doc="A copy of data[begin:end:step] per axis (None = the default bound)."))


def _slice_axis_ranges(in_types, attrs):
    shape = in_types[0].shape
    _check_ndim("slice_axis", in_types[0])
    axis = normalize_axis("slice_axis", attrs["axis"], len(shape))
    n = shape[axis]
    b = attrs["begin"]
    e = n if attrs["end"] is None else attrs["end"]
    b, e = (b + n if b < 0 else b), (e + n if e < 0 else e)
    if not 0 <= b <= e <= n:
        raise ShapeError(f"slice_axis: begin={attrs['begin']}, end={attrs['end']} are invalid for axis {axis} "
                         f"of size {n} (shape {fmt(shape)})")
    return [(b, 1, e - b) if k == axis else (0, 1, d) for k, d in enumerate(shape)]


def _infer_slice_axis(in_types, attrs):
    return [TensorType(tuple(n for _, _, n in _slice_axis_ranges(in_types, attrs)), in_types[0].dtype)]


def _grad_slice_axis(b, node, ogs):
    t = node.inputs[0].type
    return [_backward_region(b, ogs[0], t.shape, _slice_axis_ranges([t], _parsed(node)))]


register(OpDef("slice_axis", ("data",), _infer_slice_axis,
               lambda i, o, a: _lower_region(i, o, _slice_axis_ranges(i, a)), grad=_grad_slice_axis,
               attrs={"axis": Attr("int"), "begin": Attr("int"), "end": Attr("axis", None)}, nd_method="slice_axis",
               doc="data[begin:end] along one axis."))


def _slice_like_ranges(in_types, attrs):
    shape, like = in_types[0].shape, in_types[1].shape
    if attrs["axes"]:
        axes = normalize_axes("slice_like", attrs["axes"], len(shape), "axes")
        for a in axes:
            if a >= len(like):
                raise ShapeError(f"slice_like: axis {a} is out of range for shape_like {fmt(like)}")
    else:
        if len(like) != len(shape):
            raise ShapeError(f"slice_like: data {fmt(shape)} and shape_like {fmt(like)} must have the same number of "
                             f"dimensions when axes is empty")
        axes = tuple(range(len(shape)))
    ranges = []
    for k, d in enumerate(shape):
        n = like[k] if k in axes else d
        if n > d:
            raise ShapeError(f"slice_like: shape_like {fmt(like)} is larger than data {fmt(shape)} on axis {k}")
        ranges.append((0, 1, n))
    return ranges


def _infer_slice_like(in_types, attrs):
    return [TensorType(tuple(n for _, _, n in _slice_like_ranges(in_types, attrs)), in_types[0].dtype)]


def _grad_slice_like(b, node, ogs):
    types = [v.type for v in node.inputs]
    return [_backward_region(b, ogs[0], types[0].shape, _slice_like_ranges(types, _parsed(node))), None]


register(OpDef("slice_like", ("data", "shape_like"), _infer_slice_like,
               lambda i, o, a: _lower_region(i, o, _slice_like_ranges(i, a)), grad=_grad_slice_like,
               attrs={"axes": Attr("axes", ())}, doc="data sliced from the start to the shape of shape_like."))


# ---- slice assignment (x[key] = v writes through these with out=x) ------------------------------
def _infer_slice_assign(in_types, attrs):
    lhs, rhs = in_types
    shape = tuple(n for _, _, n in _slice_of(attrs, lhs.shape, "_slice_assign"))
    if len(rhs.shape) > len(shape) or any(r != 1 and r != s for r, s in zip(rhs.shape[::-1], shape[::-1])):
        raise ShapeError(f"_slice_assign: value of shape {fmt(rhs.shape)} cannot be broadcast to the region "
                         f"of shape {fmt(shape)}")
    return [TensorType(lhs.shape, lhs.dtype)]


def _lower_slice_assign(in_types, out_types, attrs):
    lhs, rhs = in_types
    out = out_types[0]
    shape, strides, offset = _region(lhs.shape, _slice_of(attrs, lhs.shape, "_slice_assign"))
    p = Pieces()
    p.copy_bytes(lhs.nbytes)
    pad = (1,) * (len(shape) - len(rhs.shape)) + tuple(rhs.shape)
    src = tuple(0 if d == 1 else s for d, s in zip(pad, contiguous_strides(pad)))
    p.copy(rhs, out, shape, src=("in", 1), src_strides=src, dst_strides=strides, dst_offset=offset)
    return p.lowering()


def _region_attrs(node):
    p = _parsed(node)
    return {"begin": p["begin"], "end": p["end"], "step": p["step"]}


def _grad_slice_assign(b, node, ogs):
    """lhs: the out grad with the region zeroed; rhs: the region, summed back to rhs's shape.
    (MXNet registers no gradient for these; this is the one its semantics imply.)"""
    region = _region_attrs(node)
    return [b.op("_slice_assign_scalar", ogs[0], scalar=0.0, **region),
            sum_to_shape(b, b.op("slice", ogs[0], **region), node.inputs[1].type.shape)]


register(OpDef("_slice_assign", ("lhs", "rhs"), _infer_slice_assign, _lower_slice_assign, attrs=_SLICE_ATTRS,
               hidden=True, grad=_grad_slice_assign, doc="lhs with lhs[begin:end:step] replaced by rhs (broadcast)."))


def _infer_slice_assign_scalar(in_types, attrs):
    _slice_of(attrs, in_types[0].shape, "_slice_assign_scalar")
    return _infer_same(in_types, attrs)


def _lower_slice_assign_scalar(in_types, out_types, attrs):
    data = in_types[0]
    shape, strides, offset = _region(data.shape, _slice_of(attrs, data.shape, "_slice_assign_scalar"))
    p = Pieces()
    p.copy_bytes(data.nbytes)
    p.fill(out_types[0], attrs["scalar"], shape, dst_strides=strides, dst_offset=offset)
    return p.lowering()


def _grad_slice_assign_scalar(b, node, ogs):
    return [b.op("_slice_assign_scalar", ogs[0], scalar=0.0, **_region_attrs(node))]


register(OpDef("_slice_assign_scalar", ("data",), _infer_slice_assign_scalar, _lower_slice_assign_scalar,
               attrs={"scalar": Attr("float", 0.0), **_SLICE_ATTRS}, hidden=True, grad=_grad_slice_assign_scalar,
               doc="data with data[begin:end:step] set to scalar."))


# ---- pad --------------------------------------------------------------------------------------
def _pad_widths(in_types, attrs):
    shape, pw = in_types[0].shape, attrs["pad_width"]
    if len(shape) not in (4, 5):
        raise ShapeError(f"Pad: only 4-D and 5-D inputs are supported (as in MXNet), got shape {fmt(shape)}")
    if len(pw) != 2 * len(shape):
        raise ShapeError(f"Pad: pad_width={pw} must have 2*ndim = {2 * len(shape)} entries for shape {fmt(shape)}")
    if any(pw[:4]) or any(p < 0 for p in pw):
        raise ShapeError(f"Pad: pad_width={pw} must be non-negative, with zeros for the first two axes")
    widths = [(pw[2 * k], pw[2 * k + 1]) for k in range(len(shape))]
    mode = attrs["mode"]
    for k, (n, (b, a)) in enumerate(zip(shape, widths)):
        if mode == "edge" and (b or a) and n == 0:
            raise ShapeError(f"Pad: mode 'edge' cannot pad axis {k} of size 0 (shape {fmt(shape)})")
        if mode == "reflect" and (b >= max(n, 1) or a >= max(n, 1)):
            raise ShapeError(f"Pad: mode 'reflect' needs pad widths smaller than the axis size; axis {k} has size "
                             f"{n}, pad_width ({b}, {a})")
    return widths


def _infer_pad(in_types, attrs):
    widths = _pad_widths(in_types, attrs)
    return [TensorType(tuple(n + b + a for n, (b, a) in zip(in_types[0].shape, widths)), in_types[0].dtype)]


def _lower_pad(in_types, out_types, attrs):
    widths = _pad_widths(in_types, attrs)
    shape, out = in_types[0].shape, out_types[0]
    ost = contiguous_strides(out.shape)
    mode = attrs["mode"]
    p = Pieces()
    inner = [(b, n) for n, (b, _) in zip(shape, widths)]  # (start, length) of the input inside the output
    p.copy(in_types[0], out, shape, dst_strides=ost, dst_offset=sum(s * b for s, (b, _) in zip(ost, inner)))
    # Fill the borders axis by axis, last axis first. The slab of axis d spans the input's range
    # on axes before d and the whole (already padded) output on axes after d, so edge and
    # reflect read only values written before them.
    for d in reversed(range(len(shape))):
        b, a = widths[d]
        n = shape[d]
        for start, length, src_start, src_step in ((0, b, b if mode == "edge" else 2 * b, -1),
                                                    (b + n, a, b + n - 1 if mode == "edge" else b + n - 2, -1)):
            if not length:
                continue
            region = [(s, ln) for s, ln in inner[:d]] + [(start, length)] + [(0, m) for m in out.shape[d + 1:]]
            rshape = tuple(ln for _, ln in region)
            off = sum(s * st for (s, _), st in zip(region, ost))
            if mode == "constant":
                p.fill(out, attrs["constant_value"], rshape, dst_strides=ost, dst_offset=off)
                continue
            src_off = off + (src_start - start) * ost[d]
            src_st = list(ost)
            src_st[d] = 0 if mode == "edge" else src_step * ost[d]
            p.copy(out, out, rshape, src=("out", 0), src_strides=src_st, src_offset=src_off, dst_strides=ost,
                   dst_offset=off)
    return p.lowering()


def _grad_pad(b, node, ogs):
    """constant: the interior of the out grad. edge / reflect: each padded axis is a take along
    it (edge: clamped positions, reflect: mirrored ones), so its gradient is a scatter-add."""
    p = _parsed(node)
    t = node.inputs[0].type
    widths = _pad_widths([t], p)
    g = ogs[0]
    if p["mode"] == "constant":
        return [b.op("slice", g, begin=tuple(w for w, _ in widths),
                     end=tuple(w + n for n, (w, _) in zip(t.shape, widths)))]
    shape = list(g.type.shape)
    for d, (n, (bw, aw)) in enumerate(zip(t.shape, widths)):
        if not (bw or aw):
            continue
        pos = b.op("_arange", start=float(-bw), stop=float(n + aw), dtype="int64")  # p - bw per output position
        if p["mode"] == "reflect":  # (n-1) - |(n-1) - |p - bw||; edge clamps in the take itself
            pos = b.op("_rminus_scalar", b.op("abs", pos), scalar=float(n - 1))
            pos = b.op("_rminus_scalar", b.op("abs", pos), scalar=float(n - 1))
        shape[d] = n
        g = b.op("_backward_take", g, pos, axis=d, mode="clip", shape=tuple(shape))
    return [g]


register(OpDef("Pad", ("data",), _infer_pad, _lower_pad, aliases=("pad",), nd_method="pad", grad=_grad_pad, attrs={
    "mode": Attr("enum", "constant", choices={"constant", "edge", "reflect"}), "pad_width": Attr("shape"),
    "constant_value": Attr("float", 0.0)},
    doc="Pad a 4-D or 5-D array (axes 2.. only) with a constant, the edge values, or a reflection."))


# ---- concat, stack, split -------------------------------------------------------------------
def _check_num_args(op, in_types, attrs):
    if not in_types:
        raise ShapeError(f"{op}: needs at least one input")
    if attrs.get("num_args") and attrs["num_args"] != len(in_types):
        raise ShapeError(f"{op}: num_args={attrs['num_args']} but {len(in_types)} inputs were given")
    _same_dtype(op, in_types)


def _infer_concat(in_types, attrs):
    _check_num_args("Concat", in_types, attrs)
    first = in_types[0].shape
    _check_ndim("Concat", in_types[0])
    axis = normalize_axis("Concat", attrs["dim"], len(first), "dim")
    for t in in_types[1:]:
        if len(t.shape) != len(first) or any(a != b for k, (a, b) in enumerate(zip(t.shape, first)) if k != axis):
            raise ShapeError(f"Concat: shapes {', '.join(fmt(x.shape) for x in in_types)} must agree except on "
                             f"dim={attrs['dim']}")
    out = first[:axis] + (sum(t.shape[axis] for t in in_types),) + first[axis + 1:]
    return [TensorType(out, in_types[0].dtype)]


def _lower_concat(in_types, out_types, attrs):
    out = out_types[0]
    axis = normalize_axis("Concat", attrs["dim"], len(out.shape), "dim")
    ost = contiguous_strides(out.shape)
    p, at = Pieces(), 0
    for k, t in enumerate(in_types):
        p.copy(t, out, t.shape, src=("in", k), dst_strides=ost, dst_offset=at * ost[axis])
        at += t.shape[axis]
    return p.lowering()


def _grad_concat(b, node, ogs):
    axis = normalize_axis("Concat", _parsed(node)["dim"], len(node.outputs[0].type.shape), "dim")
    if len(node.inputs) == 1:
        return [ogs[0]]
    grads, at = [], 0
    for v in node.inputs:
        n = v.type.shape[axis]
        grads.append(b.op("slice_axis", ogs[0], axis=axis, begin=at, end=at + n))
        at += n
    return grads


register(OpDef("Concat", ("*data",), _infer_concat, _lower_concat, aliases=("concat",), grad=_grad_concat,
               attrs={"dim": Attr("int", 1), "num_args": Attr("int", 0)}, doc="Join arrays along an axis."))


def _infer_stack(in_types, attrs):
    _check_num_args("stack", in_types, attrs)
    first = in_types[0].shape
    for t in in_types[1:]:
        if t.shape != first:
            raise ShapeError(f"stack: all inputs must have the same shape, got "
                             f"{', '.join(fmt(x.shape) for x in in_types)}")
    axis = normalize_axis("stack", attrs["axis"], len(first) + 1)
    return [TensorType(first[:axis] + (len(in_types),) + first[axis:], in_types[0].dtype)]


def _lower_stack(in_types, out_types, attrs):
    out = out_types[0]
    axis = normalize_axis("stack", attrs["axis"], len(out.shape))
    ost = contiguous_strides(out.shape)
    p = Pieces()
    for k, t in enumerate(in_types):
        region = out.shape[:axis] + (1,) + out.shape[axis + 1:]
        p.copy(t, out, region, src=("in", k), dst_strides=ost, dst_offset=k * ost[axis])
    return p.lowering()


def _grad_stack(b, node, ogs):
    axis = normalize_axis("stack", _parsed(node)["axis"], len(node.outputs[0].type.shape))
    parts = b.op("SliceChannel", ogs[0], num_outputs=len(node.inputs), axis=axis, squeeze_axis=True)
    return parts if isinstance(parts, list) else [parts]


register(OpDef("stack", ("*data",), _infer_stack, _lower_stack, grad=_grad_stack,
               attrs={"axis": Attr("int", 0), "num_args": Attr("int", 0)}, doc="Join arrays along a new axis."))


def _split_parts(in_types, attrs):
    shape = in_types[0].shape
    _check_ndim("SliceChannel", in_types[0])
    k = attrs["num_outputs"]
    axis = normalize_axis("SliceChannel", attrs["axis"], len(shape))
    if k < 1 or shape[axis] % k:
        raise ShapeError(f"SliceChannel: axis {axis} of shape {fmt(shape)} (size {shape[axis]}) cannot be split "
                         f"into num_outputs={k} equal parts")
    if attrs["squeeze_axis"] and shape[axis] != k:
        raise ShapeError(f"SliceChannel: squeeze_axis=True needs parts of size 1, but axis {axis} of shape "
                         f"{fmt(shape)} split {k} ways gives parts of size {shape[axis] // k}")
    return axis, shape[axis] // k


def _infer_split(in_types, attrs):
    axis, size = _split_parts(in_types, attrs)
    shape = in_types[0].shape
    part = shape[:axis] + (() if attrs["squeeze_axis"] else (size,)) + shape[axis + 1:]
    return [TensorType(part, in_types[0].dtype)] * attrs["num_outputs"]


def _lower_split(in_types, out_types, attrs):
    axis, size = _split_parts(in_types, attrs)
    src = in_types[0]
    ist = contiguous_strides(src.shape)
    region = src.shape[:axis] + (size,) + src.shape[axis + 1:]
    p = Pieces()
    for j, t in enumerate(out_types):
        p.copy(src, t, region, out=j, src_strides=ist, src_offset=j * size * ist[axis])
    return p.lowering()


def _grad_split(b, node, ogs):
    p = _parsed(node)
    axis = normalize_axis("SliceChannel", p["axis"], len(node.inputs[0].type.shape))
    if p["squeeze_axis"]:
        return [b.op("stack", *ogs, axis=axis, num_args=len(ogs))]
    return [b.op("Concat", *ogs, dim=axis, num_args=len(ogs))]


register(OpDef("SliceChannel", ("data",), _infer_split, _lower_split, aliases=("split",), nd_method="split",
               grad=_grad_split,
               num_outputs=lambda attrs: attrs["num_outputs"],
               attrs={"num_outputs": Attr("int"), "axis": Attr("int", 1), "squeeze_axis": Attr("bool", False)},
               doc="Split into num_outputs equal parts along axis (a list; one part is returned as is)."))
