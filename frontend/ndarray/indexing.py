"""NDArray indexing with NumPy's rules, run as kernels.

- An integer or a step-1 slice on the first axis (other axes untouched) is a view sharing
  storage, as in MXNet 1.x; writes through it reach the parent.
- Other basic indexing (ints, slices with any step, None, Ellipsis) is a copy made by the
  `slice` op (a strided-copy kernel), reshaped for dropped and new axes.
- Advanced indexing (integer arrays, lists, NDArrays, boolean masks, mixed with basic
  indices) gathers through the `_index_get` op; its result dims follow NumPy (the broadcast
  index dims replace the indexed axes when those are adjacent, else they come first).
- `x[key] = value` writes into x's storage through a strided output (`_slice_assign`,
  `_slice_assign_scalar`, `_index_set` invoked with out=x), broadcasting the value.

Only the key is handled on the host (ranges, mask positions, bounds checks); array data
moves through kernels.
"""
from __future__ import annotations

import numbers

import numpy as np

from ..ir import registry
from ..ir.ops._shape import contiguous_strides
from .invoke import invoke

_NEW, _INT, _SLICE, _ADV, _ELL = "new", "int", "slice", "adv", "ellipsis"


def _nd():
    from .ndarray import NDArray, array

    return NDArray, array


def _view(x, shape):
    NDArray, _ = _nd()
    return NDArray(x._data.reshape(shape), x._ctx, x._var)


# ---- MXNet's first-axis views -----------------------------------------------------------------
def _is_int(k):
    return isinstance(k, numbers.Integral) and not isinstance(k, (bool, np.bool_))


def _full(k):
    return k is Ellipsis or (isinstance(k, slice) and k == slice(None))


def _first_axis_view(x, key):
    if isinstance(key, tuple):
        if not key or not all(_full(k) for k in key[1:]) or sum(k is Ellipsis for k in key) > 1 \
                or sum(k is not Ellipsis for k in key) > x.ndim:
            return None
        if key[0] is Ellipsis:
            return _view(x, x.shape) if len(key) == 1 else None
        key = key[0]
    NDArray, _ = _nd()
    if _is_int(key):
        if x.ndim == 0:
            raise IndexError("too many indices for array: array is 0-dimensional, but 1 were indexed")
        n = x.shape[0]
        if not -n <= key < n:
            raise IndexError(f"index {key} is out of bounds for axis 0 with size {n}")
        return NDArray(x._data[int(key)], x._ctx, x._var)
    if isinstance(key, slice) and x.ndim and key.step in (None, 1) and all(
            v is None or _is_int(v) for v in (key.start, key.stop)):
        return NDArray(x._data[key], x._ctx, x._var)
    return None


# ---- parsing a key -------------------------------------------------------------------------------
def _index_array(k):
    """An advanced index as a host numpy array (bool for masks), or None if `k` is not one."""
    NDArray, _ = _nd()
    if isinstance(k, NDArray):
        a = k.asnumpy()  # the key's values are needed on the host: bounds, mask positions
        return a if a.dtype.kind in "iub" else a.astype(np.int64)  # MXNet accepts float indices
    if isinstance(k, (list, tuple, np.ndarray)):
        a = np.asarray(k)
        if a.size == 0 and a.dtype.kind == "f":
            a = a.astype(np.int64)
        if a.dtype.kind not in "iub":
            raise IndexError(f"arrays used as indices must be of integer (or boolean) type, got {a.dtype}")
        return a
    return None


def _parse(x, key):
    """Entries of a key, one per index: (_NEW,), (_INT, axis, i), (_SLICE, axis, start, step, n),
    (_ADV, axis, int64 array), (_ELL,) for an ellipsis of no axes. Masks become one _ADV per
    masked axis; missing axes are full slices."""
    if not isinstance(key, tuple):
        key = (key,)
    arrays = [None] * len(key)
    consumed = 0
    for j, k in enumerate(key):
        if k is None or k is Ellipsis:
            continue
        if isinstance(k, (bool, np.bool_)):
            raise IndexError("boolean scalar indices are not supported; use a boolean array")
        if _is_int(k) or isinstance(k, slice):
            consumed += 1
            continue
        a = arrays[j] = _index_array(k)
        if a is None:
            raise IndexError(f"only integers, slices (`:`), ellipsis (`...`), None (`numpy.newaxis`) and integer "
                             f"or boolean arrays are valid indices, got {type(k).__name__}")
        consumed += a.ndim if a.dtype.kind == "b" else 1
    if sum(k is Ellipsis for k in key) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    if consumed > x.ndim:
        raise IndexError(f"too many indices for array: array is {x.ndim}-dimensional, but {consumed} were indexed")
    entries, axis = [], 0
    for j, k in enumerate(key):
        a = arrays[j]
        if k is None:
            entries.append((_NEW,))
        elif k is Ellipsis:
            if consumed == x.ndim:  # an empty ellipsis still separates advanced indices (numpy)
                entries.append((_ELL,))
            for _ in range(x.ndim - consumed):
                entries.append((_SLICE, axis, 0, 1, x.shape[axis]))
                axis += 1
        elif _is_int(k):
            n = x.shape[axis]
            if not -n <= k < n:
                raise IndexError(f"index {k} is out of bounds for axis {axis} with size {n}")
            entries.append((_INT, axis, int(k) % n))
            axis += 1
        elif isinstance(k, slice):
            if k.step is not None and k.step == 0:
                raise ValueError("slice step cannot be zero")
            start, stop, step = k.indices(x.shape[axis])
            entries.append((_SLICE, axis, start, step, len(range(start, stop, step))))
            axis += 1
        elif a.dtype.kind == "b":
            if a.ndim == 0:
                raise IndexError("boolean scalar indices are not supported; use a boolean array")
            dims = x.shape[axis:axis + a.ndim]
            if a.shape != dims:
                raise IndexError(f"boolean index of shape {a.shape} does not match the indexed dimensions {dims} "
                                 f"(axes {axis}..{axis + a.ndim - 1})")
            for pos in np.nonzero(a):
                entries.append((_ADV, axis, pos.astype(np.int64)))
                axis += 1
        else:
            n = x.shape[axis]
            if a.size and (a.min() < -n or a.max() >= n):
                bad = a[(a < -n) | (a >= n)].flat[0]
                raise IndexError(f"index {bad} is out of bounds for axis {axis} with size {n}")
            entries.append((_ADV, axis, a.astype(np.int64, copy=False)))
            axis += 1
    while axis < x.ndim:
        entries.append((_SLICE, axis, 0, 1, x.shape[axis]))
        axis += 1
    return entries


def _has_adv(entries):
    return any(e[0] == _ADV for e in entries)


# ---- basic indexing ------------------------------------------------------------------------------
def _basic_ranges(entries):
    """slice-op attrs (begin, end, step) covering every axis; an int is a 1-long range."""
    begin, end, step = [], [], []
    for e in entries:
        if e[0] == _INT:
            begin.append(e[2])
            end.append(e[2] + 1)
            step.append(1)
        elif e[0] == _SLICE:
            _, _, start, st, n = e
            if not n:  # (slice.indices may give start -1 for an empty backward range)
                start, st = 0, 1
            stop = start + st * n
            begin.append(start)
            end.append(None if stop < 0 else stop)  # a negative end would count from the back
            step.append(st)
    return {"begin": tuple(begin), "end": tuple(end), "step": tuple(step)}


def _basic_shape(entries):
    """The result shape: ints dropped, None adds 1."""
    return tuple(1 if e[0] == _NEW else e[4] for e in entries if e[0] in (_NEW, _SLICE))


def _basic_get(x, entries):
    shape = _basic_shape(entries)
    if x.ndim == 0:
        return _view(invoke(registry.get("_copy"), [x], {}), shape)
    out = invoke(registry.get("slice"), [x], _basic_ranges(entries))
    return _view(out, shape)


# ---- advanced indexing ---------------------------------------------------------------------------
def _geometry(x, entries):
    """(index array (K, *B), attrs for _index_get/_index_set) under NumPy's placement rule."""
    adv = [e for e in entries if e[0] == _ADV or e[0] == _INT]
    try:
        arrays = np.broadcast_arrays(*[np.asarray(e[2], dtype=np.int64) for e in adv])
    except ValueError:
        shapes = " ".join(str(np.shape(e[2])) for e in adv if e[0] == _ADV)
        raise IndexError(f"shape mismatch: indexing arrays could not be broadcast together with shapes {shapes}") \
            from None
    b = arrays[0].shape
    xst = contiguous_strides(x.shape)
    bdims = list(zip(b, [0] * len(b), contiguous_strides(b)))  # (size, data stride, index stride)
    pos = [j for j, e in enumerate(entries) if e[0] in (_ADV, _INT)]
    adjacent = pos == list(range(pos[0], pos[-1] + 1))
    dims, offset, placed = [], 0, False
    if not adjacent:
        dims.extend(bdims)
        placed = True
    for j, e in enumerate(entries):
        if e[0] == _NEW:
            dims.append((1, 0, 0))
        elif e[0] == _SLICE:
            _, axis, start, step, n = e
            dims.append((n, step * xst[axis], 0))
            offset += start * xst[axis] if n else 0
        elif e[0] != _ELL and not placed:
            dims.extend(bdims)
            placed = True
    indices = np.ascontiguousarray(np.stack(arrays)) if arrays else np.zeros((0,), np.int64)
    attrs = {"shape": tuple(d[0] for d in dims), "strides": tuple(d[1] for d in dims), "offset": offset,
             "idx_strides": tuple(d[2] for d in dims), "axes": tuple(e[1] for e in adv)}
    return indices, attrs


def _index_nd(x, indices):
    _, array = _nd()
    return array(indices, ctx=x._ctx, dtype="int64")


def _adv_get(x, entries):
    indices, attrs = _geometry(x, entries)
    return invoke(registry.get("_index_get"), [x, _index_nd(x, indices)], attrs)


def getitem(x, key):
    view = _first_axis_view(x, key)
    if view is not None:
        return view
    entries = _parse(x, key)
    return _adv_get(x, entries) if _has_adv(entries) else _basic_get(x, entries)


# ---- assignment --------------------------------------------------------------------------------
def _value_array(x, value):
    """The value as an NDArray that does not overlap x (x[1:] = x[:-1] reads a copy)."""
    NDArray, array = _nd()
    if isinstance(value, NDArray):
        if value._data.size and np.may_share_memory(value._data, x._data):
            return value.copy()
        return value
    if isinstance(value, numbers.Number) or isinstance(value, np.generic):
        return array(np.asarray(value), ctx=x._ctx, dtype=x._data.dtype)
    return array(value, ctx=x._ctx, dtype=x._data.dtype)


def _broadcast_error(value_shape, shape):
    return ValueError(f"could not broadcast input array from shape {tuple(value_shape)} into shape {tuple(shape)}")


def _basic_value(value, entries):
    """Reshape (a view) the value so it broadcasts, right-aligned, over the region of every axis."""
    shape = _basic_shape(entries)
    vs = tuple(value.shape)
    while len(vs) > len(shape) and vs[0] == 1:
        vs = vs[1:]
    if len(vs) > len(shape):
        raise _broadcast_error(value.shape, shape)
    vs = (1,) * (len(shape) - len(vs)) + vs
    if any(v != 1 and v != s for v, s in zip(vs, shape)):
        raise _broadcast_error(value.shape, shape)
    region, k = [], 0
    for e in entries:
        if e[0] == _INT:
            region.append(1)
        elif e[0] == _SLICE:
            region.append(vs[k])
            k += 1
        elif e[0] == _NEW:
            k += 1
    return _view(value, tuple(region))


def _scalar_ok(x, value):
    if not isinstance(value, (numbers.Number, np.generic)) or isinstance(value, complex):
        return False
    # doubles carry the scalar to the kernel: big int64 values go through an int64 array instead
    return not (isinstance(value, numbers.Integral) and abs(int(value)) > 2 ** 53)


def setitem(x, key, value):
    entries = _parse(x, key)
    if _has_adv(entries):
        indices, attrs = _geometry(x, entries)
        v = _value_array(x, value)
        try:
            invoke(registry.get("_index_set"), [x, v, _index_nd(x, indices)], attrs, out=x)
        except ValueError as e:
            if "cannot be broadcast" in str(e):
                raise _broadcast_error(v.shape, attrs["shape"]) from None
            raise
        return
    if x.ndim == 0:
        entries = [(_SLICE, 0, 0, 1, 1)] + entries
        x = _view(x, (1,))
    ranges = _basic_ranges(entries)
    if _scalar_ok(x, value):
        invoke(registry.get("_slice_assign_scalar"), [x], dict(ranges, scalar=float(value)), out=x)
        return
    v = _basic_value(_value_array(x, value), entries)
    invoke(registry.get("_slice_assign"), [x, v], ranges, out=x)
