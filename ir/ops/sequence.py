"""Scans and per-sequence ops (MXNet 1.x): cumsum, contrib boolean_mask, histogram, SequenceMask,
SequenceLast, SequenceReverse and diag.

cumsum, boolean_mask, histogram, SequenceLast and SequenceReverse lower to the `sequence` kernel
family (codegen/templates/c/sequence.j2); SequenceMask is an elementwise snippet over the flat
index, diag a strided copy (elementwise / copies families).

boolean_mask's output size depends on the index's values: mx.nd.contrib.boolean_mask counts the
nonzero entries with `_boolean_mask_count`, reads that one number, and runs `_contrib_boolean_mask`
with the count as its `_size` attribute (a graph cannot hold it without a known size).
"""
from __future__ import annotations

import math

from ..attrs import Attr
from ..registry import Lowering, OpDef, ShapeError, get, register
from ..types import TensorType
from ._pieces import Pieces
from ._shape import contiguous_strides, fmt, normalize_axis
from .elementwise import ewise_lowering


def _attrs(node):
    return get(node.op).parse_attrs(node.attrs)  # node.attrs are the attrs as given (maybe JSON strings)


def _layout(op, shape, axis):
    if axis is None:
        return 1, math.prod(shape), 1
    if not shape:
        raise ShapeError(f"{op}: a 0-d array has no axis {axis}; use axis=None")
    a = normalize_axis(op, axis, len(shape))
    return math.prod(shape[:a]), shape[a], math.prod(shape[a + 1:])


# ---- cumsum ---------------------------------------------------------------------------------------
def _infer_cumsum(in_types, attrs):
    t = in_types[0]
    _layout("cumsum", t.shape, attrs["axis"])
    return [TensorType(t.shape if attrs["axis"] is not None else (math.prod(t.shape),), attrs["dtype"] or t.dtype)]


def _cumsum_lowering(in_t, out_t, axis, shape, reverse):
    outer, L, inner = _layout("cumsum", shape, axis)
    return Lowering("sequence", {"kind": "cumsum", "in_dtype": in_t.dtype, "out_dtype": out_t.dtype},
                    {"outer": outer, "L": L, "inner": inner, "reverse": reverse})


def _lower_cumsum(in_types, out_types, attrs):
    return _cumsum_lowering(in_types[0], out_types[0], attrs["axis"], in_types[0].shape, False)


def _grad_cumsum(b, node, ogs):
    x = node.inputs[0]
    return [b.op("_backward_cumsum", ogs[0], axis=_attrs(node)["axis"], shape=tuple(x.type.shape),
                 dtype=x.type.dtype)]


register(OpDef("cumsum", ("a",), _infer_cumsum, _lower_cumsum, grad=_grad_cumsum,
               attrs={"axis": Attr("axis", None), "dtype": Attr("dtype", None)},
               doc="Cumulative sum along axis (axis=None: over the flattened array), in dtype (default: a's)."))


def _infer_backward_cumsum(in_types, attrs):
    og = in_types[0]
    if math.prod(og.shape) != math.prod(attrs["shape"]):
        raise ShapeError(f"_backward_cumsum: out grad {fmt(og.shape)} does not match shape {fmt(attrs['shape'])}")
    return [TensorType(attrs["shape"], attrs["dtype"])]


def _lower_backward_cumsum(in_types, out_types, attrs):
    return _cumsum_lowering(in_types[0], out_types[0], attrs["axis"], attrs["shape"], True)


register(OpDef("_backward_cumsum", ("out_grad",), _infer_backward_cumsum, _lower_backward_cumsum, hidden=True,
               differentiable=False,
               attrs={"axis": Attr("axis", None), "shape": Attr("shape"), "dtype": Attr("dtype", "float32")},
               doc="cumsum's gradient: the cumulative sum from the end, shaped as the input."))


# ---- boolean_mask ------------------------------------------------------------------------------------
def _check_mask(op, data, index, axis):
    if not data.shape:
        raise ShapeError(f"{op}: data must have at least one dimension")
    a = normalize_axis(op, axis, len(data.shape))
    if len(index.shape) != 1 or index.shape[0] != data.shape[a]:
        raise ShapeError(f"{op}: index of shape {fmt(index.shape)} must be 1-D of length {data.shape[a]} "
                         f"(data {fmt(data.shape)}, axis={axis})")
    return a


def _infer_mask_count(in_types, attrs):
    if len(in_types[0].shape) != 1:
        raise ShapeError(f"_boolean_mask_count: index must be 1-D, got shape {fmt(in_types[0].shape)}")
    return [TensorType((1,), "int64")]


def _lower_mask_count(in_types, out_types, attrs):
    return Lowering("sequence", {"kind": "mask_count", "idx_dtype": in_types[0].dtype}, {"L": in_types[0].shape[0]})


register(OpDef("_boolean_mask_count", ("index",), _infer_mask_count, _lower_mask_count, hidden=True,
               differentiable=False, doc="The number of nonzero entries of a 1-D index (boolean_mask's size)."))


def _mask_lowering(data_t, index_t, shape, a, count, scatter):
    return Lowering("sequence", {"kind": "mask", "dtype": data_t.dtype, "idx_dtype": index_t.dtype}, {
        "outer": math.prod(shape[:a]), "L": shape[a], "inner": math.prod(shape[a + 1:]), "count": count,
        "scatter": scatter})


def _infer_boolean_mask(in_types, attrs):
    data, index = in_types
    a = _check_mask("boolean_mask", data, index, attrs["axis"])
    if attrs["_size"] < 0:
        raise ShapeError("boolean_mask: the output size depends on the values of index; call "
                         "mx.nd.contrib.boolean_mask on NDArrays (it counts them first)")
    if attrs["_size"] > data.shape[a]:
        raise ShapeError(f"boolean_mask: _size={attrs['_size']} exceeds the {data.shape[a]} rows along axis {a}")
    return [TensorType(data.shape[:a] + (attrs["_size"],) + data.shape[a + 1:], data.dtype)]


def _lower_boolean_mask(in_types, out_types, attrs):
    data, index = in_types
    a = _check_mask("boolean_mask", data, index, attrs["axis"])
    return _mask_lowering(data, index, data.shape, a, attrs["_size"], False)


def _grad_boolean_mask(b, node, ogs):
    data, index = node.inputs
    return [b.op("_backward_boolean_mask", ogs[0], index, axis=_attrs(node)["axis"],
                 shape=tuple(data.type.shape)), None]


register(OpDef("_contrib_boolean_mask", ("data", "index"), _infer_boolean_mask, _lower_boolean_mask,
               grad=_grad_boolean_mask,
               attrs={"axis": Attr("int", 0), "_size": Attr("int", -1, doc="the count of nonzero index entries")},
               doc="The slices of data along axis whose index entry is nonzero."))


def _infer_backward_mask(in_types, attrs):
    og, index = in_types
    shape = attrs["shape"]
    a = _check_mask("_backward_boolean_mask", TensorType(shape, og.dtype), index, attrs["axis"])
    if og.shape[:a] + og.shape[a + 1:] != shape[:a] + shape[a + 1:] or len(og.shape) != len(shape):
        raise ShapeError(f"_backward_boolean_mask: out grad {fmt(og.shape)} does not fit data shape {fmt(shape)}")
    return [TensorType(shape, og.dtype)]


def _lower_backward_mask(in_types, out_types, attrs):
    og, index = in_types
    a = normalize_axis("_backward_boolean_mask", attrs["axis"], len(attrs["shape"]))
    return _mask_lowering(og, index, attrs["shape"], a, og.shape[a], True)


register(OpDef("_backward_boolean_mask", ("out_grad", "index"), _infer_backward_mask, _lower_backward_mask,
               hidden=True, differentiable=False, attrs={"axis": Attr("int", 0), "shape": Attr("shape")},
               doc="boolean_mask's gradient: the out grad's slices put back where index is nonzero, zeros elsewhere."))


# ---- histogram ----------------------------------------------------------------------------------------
def _hist_inputs(attrs):
    return ("data",) if attrs["bin_cnt"] is not None else ("data", "bins")


def _infer_histogram(in_types, attrs):
    data = in_types[0]
    if attrs["bin_cnt"] is not None:
        if len(in_types) != 1:
            raise ShapeError("_histogram: give either bin_cnt or a bins array, not both")
        if attrs["bin_cnt"] < 1:
            raise ShapeError(f"_histogram: bin_cnt must be at least 1, got {attrs['bin_cnt']}")
        rng = attrs["range"]
        if rng is not None and (len(rng) != 2 or not rng[0] <= rng[1]):
            raise ShapeError(f"_histogram: range must be (min, max) with min <= max, got {rng}")
        return [TensorType((attrs["bin_cnt"],), "int64"), TensorType((attrs["bin_cnt"] + 1,), data.dtype)]
    if len(in_types) != 2:
        raise ShapeError("_histogram: needs bin_cnt or a bins array of bin edges")
    bins = in_types[1]
    if len(bins.shape) != 1 or bins.shape[0] < 1:
        raise ShapeError(f"_histogram: bins must be a 1-D array of bin edges, got shape {fmt(bins.shape)}")
    return [TensorType((bins.shape[0] - 1,), "int64"), TensorType(bins.shape, bins.dtype)]


def _lower_histogram(in_types, out_types, attrs):
    data = in_types[0]
    counts, edges = out_types
    n = math.prod(data.shape)
    params = {"kind": "hist", "dtype": data.dtype, "counts_dtype": counts.dtype, "edges_dtype": edges.dtype,
              "bins_dtype": None}
    if attrs["bin_cnt"] is None:
        params["bins_dtype"] = in_types[1].dtype
        return Lowering("sequence", params, {"n": n, "bins": in_types[1].shape[0] - 1})
    rng = attrs["range"]
    lo, hi = (0.0, 1.0) if rng is None else (rng[0], rng[1])
    return Lowering("sequence", params, {"n": n, "bins": attrs["bin_cnt"], "lo": lo, "hi": hi,
                                         "autorange": rng is None})


register(OpDef("_histogram", ("data", "bins"), _infer_histogram, _lower_histogram, inputs_fn=_hist_inputs,
               differentiable=False, num_outputs=2, output_names=("counts", "edges"),
               attrs={"bin_cnt": Attr("int", None), "range": Attr("floats", None)},
               doc="Histogram of the flattened data: bin_cnt equal bins over range (None: the data's min and max), "
                   "or the bin edges in `bins`; returns (counts as int64, edges)."))


# ---- SequenceMask, SequenceLast, SequenceReverse ----------------------------------------------------------
def _seq_inputs(attrs):
    return ("data", "sequence_length") if attrs["use_sequence_length"] else ("data",)


def _seq_check(op, in_types, attrs, axes=(0, 1)):
    data = in_types[0]
    if len(data.shape) < 2:
        raise ShapeError(f"{op}: data must have at least 2 dimensions (max_sequence_length, batch_size, ...), "
                         f"got {fmt(data.shape)}")
    axis = attrs["axis"]
    if axis not in axes:
        raise ShapeError(f"{op}: axis={axis} is not supported; expected one of {list(axes)}")
    batch = data.shape[1 - axis]
    if attrs["use_sequence_length"]:
        if len(in_types) != 2:
            raise ShapeError(f"{op}: use_sequence_length=True needs the sequence_length input")
        if in_types[1].shape != (batch,):
            raise ShapeError(f"{op}: sequence_length of shape {fmt(in_types[1].shape)} must have shape ({batch},) "
                             f"(the batch size of data {fmt(data.shape)} with axis={axis})")
    elif len(in_types) != 1:
        raise ShapeError(f"{op}: sequence_length is given but use_sequence_length is False")
    return axis


def _seq_geometry(shape, axis):
    """(A, T, C, rest): data as (A, T, C); the batch of column c is c // rest (axis 0) or a (axis 1)."""
    rest = math.prod(shape[2:])
    if axis == 0:
        return 1, shape[0], math.prod(shape[1:]), rest
    return shape[0], shape[1], rest, rest


def _seq_lowering(kind, data_t, len_t, shape, axis, bwd=False):
    A, T, C, rest = _seq_geometry(shape, axis)
    return Lowering("sequence", {"kind": kind, "dtype": data_t.dtype, "len_dtype": len_t.dtype if len_t else None},
                    {"A": A, "T": T, "C": C, "rest": rest, "axis": axis, "bwd": bwd})


_SEQ_ATTRS = {"use_sequence_length": Attr("bool", False), "axis": Attr("int", 0)}


def _infer_seq_mask(in_types, attrs):
    _seq_check("SequenceMask", in_types, attrs)
    return [TensorType(in_types[0].shape, in_types[0].dtype)]


def _lower_seq_mask(in_types, out_types, attrs):
    axis = _seq_check("SequenceMask", in_types, attrs)
    data = in_types[0]
    if not attrs["use_sequence_length"]:
        return ewise_lowering("a", [data], out_types[0])
    shape = data.shape
    # position t along the axis from the flat index i; lengths broadcast along the batch axis
    T, step = shape[axis], math.prod(shape[axis + 1:])
    lstr = tuple(1 if d == 1 - axis else 0 for d in range(len(shape)))
    expr = "((double)((i / (int64_t)s1) % (int64_t)s0) + 1.0 <= (double)b ? a : (T)s2)"
    return ewise_lowering(expr, in_types, out_types[0], scalars=(T, step, attrs["value"]),
                          in_strides=(None, lstr))


def _grad_seq_mask(b, node, ogs):
    a = _attrs(node)
    if not a["use_sequence_length"]:
        return [ogs[0]]
    return [b.op("SequenceMask", ogs[0], node.inputs[1], use_sequence_length=True, value=0.0, axis=a["axis"]), None]


register(OpDef("SequenceMask", ("data", "sequence_length"), _infer_seq_mask, _lower_seq_mask, inputs_fn=_seq_inputs,
               grad=_grad_seq_mask, attrs={**_SEQ_ATTRS, "value": Attr("float", 0.0)},
               doc="Sets the steps of each sequence at or past its length to `value` (axis 0: (T, batch, ...), "
                   "axis 1: (batch, T, ...)); lengths are truncated to integers."))


def _infer_seq_last(in_types, attrs):
    axis = _seq_check("SequenceLast", in_types, attrs)
    shape = in_types[0].shape
    if shape[axis] == 0:
        raise ShapeError(f"SequenceLast: data of shape {fmt(shape)} has no steps along axis {axis}")
    return [TensorType(shape[:axis] + shape[axis + 1:], in_types[0].dtype)]


def _lower_seq_last(in_types, out_types, attrs):
    axis = _seq_check("SequenceLast", in_types, attrs)
    return _seq_lowering("seq_last", in_types[0], in_types[1] if len(in_types) > 1 else None, in_types[0].shape,
                         axis)


def _grad_seq_last(b, node, ogs):
    a = _attrs(node)
    use = a["use_sequence_length"]
    extra = [node.inputs[1]] if use else []
    g = b.op("_backward_SequenceLast", ogs[0], *extra, use_sequence_length=use, axis=a["axis"],
             shape=tuple(node.inputs[0].type.shape))
    return [g, None] if use else [g]


register(OpDef("SequenceLast", ("data", "sequence_length"), _infer_seq_last, _lower_seq_last, inputs_fn=_seq_inputs,
               grad=_grad_seq_last, attrs=dict(_SEQ_ATTRS),
               doc="The last step of each sequence (step length - 1, lengths clamped into [1, T]; "
                   "without lengths the last step)."))


def _infer_backward_seq_last(in_types, attrs):
    shape = tuple(attrs["shape"])
    axis = _seq_check("_backward_SequenceLast", [TensorType(shape, in_types[0].dtype), *in_types[1:]], attrs)
    if in_types[0].shape != shape[:axis] + shape[axis + 1:]:
        raise ShapeError(f"_backward_SequenceLast: out grad {fmt(in_types[0].shape)} does not fit {fmt(shape)}")
    return [TensorType(shape, in_types[0].dtype)]


def _lower_backward_seq_last(in_types, out_types, attrs):
    return _seq_lowering("seq_last", in_types[0], in_types[1] if len(in_types) > 1 else None, attrs["shape"],
                         attrs["axis"], bwd=True)


register(OpDef("_backward_SequenceLast", ("out_grad", "sequence_length"), _infer_backward_seq_last,
               _lower_backward_seq_last, inputs_fn=_seq_inputs, hidden=True, differentiable=False,
               attrs={**_SEQ_ATTRS, "shape": Attr("shape")},
               doc="SequenceLast's gradient: the out grad at each sequence's last step, zeros elsewhere."))


def _infer_seq_reverse(in_types, attrs):
    _seq_check("SequenceReverse", in_types, attrs)
    return [TensorType(in_types[0].shape, in_types[0].dtype)]


def _lower_seq_reverse(in_types, out_types, attrs):
    axis = _seq_check("SequenceReverse", in_types, attrs)
    return _seq_lowering("seq_reverse", in_types[0], in_types[1] if len(in_types) > 1 else None,
                         in_types[0].shape, axis)


def _grad_seq_reverse(b, node, ogs):
    a = _attrs(node)
    use = a["use_sequence_length"]
    extra = [node.inputs[1]] if use else []
    g = b.op("SequenceReverse", ogs[0], *extra, use_sequence_length=use, axis=a["axis"])
    return [g, None] if use else [g]


register(OpDef("SequenceReverse", ("data", "sequence_length"), _infer_seq_reverse, _lower_seq_reverse,
               inputs_fn=_seq_inputs, grad=_grad_seq_reverse, attrs=dict(_SEQ_ATTRS),
               doc="Reverses the first length steps of each sequence (lengths clamped into [0, T]); the steps "
                   "past the length stay in place."))


# ---- diag -------------------------------------------------------------------------------------------------
def _diag_geometry(shape, k, axis1, axis2):
    """(kept axes, diagonal length, element offset, diagonal stride) of a diag of `shape`."""
    nd = len(shape)
    a1, a2 = normalize_axis("diag", axis1, nd, "axis1"), normalize_axis("diag", axis2, nd, "axis2")
    if a1 == a2:
        raise ShapeError(f"diag: axis1 and axis2 must differ, got {axis1} and {axis2}")
    s1, s2 = shape[a1], shape[a2]
    if k > s2 or -k > s1:
        raise ShapeError(f"diag: diagonal k={k} does not exist for dimensions {s1} and {s2} of {fmt(shape)} "
                         f"(expected {-s1} <= k <= {s2})")
    n = max(0, min(s1, s2 - k) if k >= 0 else min(s1 + k, s2))
    st = contiguous_strides(shape)
    off = k * st[a2] if k >= 0 else -k * st[a1]
    kept = tuple(d for d in range(nd) if d not in (a1, a2))
    return kept, n, off, st[a1] + st[a2]


def _infer_diag(in_types, attrs):
    t = in_types[0]
    k = attrs["k"]
    if len(t.shape) == 0:
        raise ShapeError("diag: input must have at least one dimension")
    if len(t.shape) == 1:
        n = t.shape[0] + abs(k)
        return [TensorType((n, n), t.dtype)]
    kept, n, _, _ = _diag_geometry(t.shape, k, attrs["axis1"], attrs["axis2"])
    return [TensorType(tuple(t.shape[d] for d in kept) + (n,), t.dtype)]


def _extract_lowering(t, out_t, k, axis1, axis2):
    kept, n, off, dstride = _diag_geometry(t.shape, k, axis1, axis2)
    st = contiguous_strides(t.shape)
    return ewise_lowering("a", [t], out_t, in_strides=(tuple(st[d] for d in kept) + (dstride,),), in_offsets=(off,))


def _lower_diag(in_types, out_types, attrs):
    t, out = in_types[0], out_types[0]
    k = attrs["k"]
    if len(t.shape) >= 2:
        return _extract_lowering(t, out, k, attrs["axis1"], attrs["axis2"])
    N = out.shape[0]
    p = Pieces()
    p.fill(out, 0.0, out.shape)
    p.copy(t, out, t.shape, dst_strides=(N + 1,), dst_offset=k if k >= 0 else -k * N)
    return p.lowering()


def _grad_diag(b, node, ogs):
    x, a = node.inputs[0], _attrs(node)
    if len(x.type.shape) == 1:
        return [b.op("diag", ogs[0], k=a["k"])]
    return [b.op("_backward_diag", ogs[0], shape=tuple(x.type.shape), k=a["k"], axis1=a["axis1"], axis2=a["axis2"])]


_DIAG_ATTRS = {"k": Attr("int", 0), "axis1": Attr("int", 0), "axis2": Attr("int", 1)}
register(OpDef("diag", ("data",), _infer_diag, _lower_diag, grad=_grad_diag, attrs=_DIAG_ATTRS, nd_method="diag",
               doc="A 1-D input becomes a square matrix with it on diagonal k; otherwise diagonal k of the "
                   "axis1 x axis2 planes, appended as the last axis."))


def _infer_backward_diag(in_types, attrs):
    og = in_types[0]
    shape = tuple(attrs["shape"])
    kept, n, _, _ = _diag_geometry(shape, attrs["k"], attrs["axis1"], attrs["axis2"])
    if og.shape != tuple(shape[d] for d in kept) + (n,):
        raise ShapeError(f"_backward_diag: out grad {fmt(og.shape)} is not a diagonal of {fmt(shape)}")
    return [TensorType(shape, og.dtype)]


def _lower_backward_diag(in_types, out_types, attrs):
    og, out = in_types[0], out_types[0]
    shape = out.shape
    kept, n, off, dstride = _diag_geometry(shape, attrs["k"], attrs["axis1"], attrs["axis2"])
    st = contiguous_strides(shape)
    p = Pieces()
    p.fill(out, 0.0, shape)
    p.copy(og, out, og.shape, dst_strides=tuple(st[d] for d in kept) + (dstride,), dst_offset=off)
    return p.lowering()


register(OpDef("_backward_diag", ("out_grad",), _infer_backward_diag, _lower_backward_diag, hidden=True,
               differentiable=False, attrs={**_DIAG_ATTRS, "shape": Attr("shape")},
               doc="diag's gradient for N-d input: zeros with the out grad on the diagonal."))

