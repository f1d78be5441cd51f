"""Data movement and index ops against numpy float64 references: transpose, swapaxes,
expand_dims, squeeze, Flatten, Reshape, broadcast_*, tile, repeat, pad, flip, concat, split,
stack, slice*, take, one_hot, pick, gather_nd, scatter_nd."""
from __future__ import annotations

import numpy as np
import pytest
from conftest import ALL_DTYPES, assert_close
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes

import mxcc as mx
from mxcc.ir.errors import MXNetError, ShapeError

RNG = np.random.default_rng(7)


def _data(shape, dtype="float32"):
    """Values exact in every dtype (small integers), distinct where the range allows."""
    n = int(np.prod(shape))
    vals = (np.arange(n) % 100) - (0 if np.dtype(dtype).kind == "u" else 50)
    return vals.reshape(shape).astype(np.float64)


def _nd(a, dtype="float32"):
    x = mx.nd.array(a, dtype=dtype)
    return x if x.shape == np.shape(a) else x.reshape(np.shape(a))  # keep 0-d arrays 0-d


def _check(result, expected, dtype="float32"):
    assert_close(result, expected, dtype)


def _kernel_error(arr, pattern):
    """A kernel's error surfaces at the next sync, once."""
    with pytest.raises(MXNetError, match=pattern):
        arr.asnumpy()
    mx.nd.waitall()


shapes = array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=4)
nonempty = array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=4)


# ---- every dtype through the strided copy, the copies family and the gather family -----------------
@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_movement_every_dtype(dtype):
    a = _data((2, 3, 4), dtype)
    x = _nd(a, dtype)
    _check(mx.nd.transpose(x), a.T, dtype)
    _check(mx.nd.slice(x, begin=(None, 2), end=(None, None), step=(None, -1)), a[:, 2::-1], dtype)
    _check(mx.nd.concat(x, x, dim=-1), np.concatenate([a, a], -1), dtype)
    _check(mx.nd.split(x, num_outputs=3, axis=1)[2], a[:, 2:3], dtype)
    _check(mx.nd.take(x, _nd([2, 0, 5], "int32"), axis=1), a[:, [2, 0, 2]], dtype)
    _check(mx.nd.gather_nd(x, _nd([[1, 0], [2, -1]], dtype="int64")), a[[1, 0], [2, -1]], dtype)


# ---- transpose, SwapAxis ----------------------------------------------------------------------
@given(shape=shapes, data=st.data())
def test_transpose(shape, data):
    a = _data(shape)
    perm = data.draw(st.permutations(range(len(shape))))
    x = _nd(a)
    _check(mx.nd.transpose(x, axes=tuple(perm)), np.transpose(a, perm))
    _check(x.transpose(), a.T)
    neg = tuple(p - len(shape) for p in perm)
    _check(x.transpose(axes=neg), np.transpose(a, perm))


def test_transpose_T_and_errors():
    a = _data((3, 5))
    _check(_nd(a).T, a.T)
    with pytest.raises(ShapeError, match="transpose"):
        mx.nd.transpose(_nd(a), axes=(0,))
    with pytest.raises(ShapeError, match="transpose.*repeated"):
        mx.nd.transpose(_nd(a), axes=(1, 1))


@given(shape=shapes, data=st.data())
def test_swapaxes(shape, data):
    a = _data(shape)
    n = len(shape)
    d1 = data.draw(st.integers(-n, n - 1))
    d2 = data.draw(st.integers(-n, n - 1))
    x = _nd(a)
    _check(mx.nd.SwapAxis(x, dim1=d1, dim2=d2), np.swapaxes(a, d1, d2))
    _check(x.swapaxes(d1, d2), np.swapaxes(a, d1, d2))
    with pytest.raises(ShapeError, match="SwapAxis.*dim1"):
        x.swapaxes(n, 0)


# ---- reshape-like ------------------------------------------------------------------------------
@given(shape=shapes, data=st.data())
def test_expand_dims_squeeze_flatten(shape, data):
    a = _data(shape)
    x = _nd(a)
    axis = data.draw(st.integers(-len(shape) - 1, len(shape)))
    _check(x.expand_dims(axis), np.expand_dims(a, axis))
    _check(mx.nd.expand_dims(x, axis=axis), np.expand_dims(a, axis))
    def at_least_1d(e):  # MXNet 1.x: squeezing every axis leaves shape (1,)
        return e if e.ndim else e.reshape(1)

    _check(x.squeeze(), at_least_1d(np.squeeze(a)))
    ones = tuple(k for k, d in enumerate(shape) if d == 1)
    if ones:
        _check(x.squeeze(axis=ones[-1] - len(shape)), at_least_1d(np.squeeze(a, ones[-1])))
        _check(mx.nd.squeeze(x, axis=ones), at_least_1d(np.squeeze(a, ones)))
    flat = a.reshape(shape[0], int(np.prod(shape[1:])))
    _check(x.flatten(), flat)
    _check(mx.nd.Flatten(x), flat)


def test_squeeze_flatten_errors():
    x = _nd(_data((2, 1, 3)))
    with pytest.raises(ShapeError, match="squeeze.*axis 0.*size is 2"):
        x.squeeze(axis=0)
    with pytest.raises(ShapeError, match="expand_dims"):
        x.expand_dims(4)
    with pytest.raises(ShapeError, match="Flatten"):
        mx.nd.Flatten(mx.nd.zeros(()))
    _check(mx.nd.Flatten(_nd(_data((4,)))), _data((4,)).reshape(4, 1))


@pytest.mark.parametrize("src,target,reverse,expected", [
    ((2, 3, 4), (4, 0, 2), False, (4, 3, 2)),
    ((2, 3, 4), (-3, -2), False, (6, 4)),
    ((2, 3, 4), (2, -4, -1, 3, -2), False, (2, 1, 3, 4)),
    ((10, 5, 4), (-1, 0), True, (50, 4)),
    ((6, 4), (-4, 2, 3, 0), True, (2, 3, 4)),
    ((4, 6), (0, -4, 2, 3), True, (4, 2, 3)),
    ((0, 4), (0, 2, 2), False, (0, 2, 2)),
])
def test_reshape_op(src, target, reverse, expected):
    a = _data(src)
    y = mx.nd.reshape(_nd(a), shape=target, reverse=reverse)
    assert y.shape == expected
    _check(y, a.reshape(expected))
    _check(mx.nd.Reshape(_nd(a), target, reverse), a.reshape(expected))
    assert _nd(a).reshape(target, reverse=reverse).shape == expected  # the view agrees with the op


def test_reshape_op_errors_and_legacy():
    x = _nd(_data((2, 3, 4)))
    with pytest.raises(ShapeError, match="Reshape.*not divisible|Reshape.*does not match"):
        mx.nd.reshape(x, shape=(5, -1))
    with pytest.raises(ShapeError, match="Reshape.*-1"):
        mx.nd.reshape(x, shape=(-1, -1))
    with pytest.raises(ShapeError, match="Reshape.*required"):
        mx.nd.reshape(x)
    _check(mx.nd.Reshape(x, target_shape=(0, 4)), _data((2, 3, 4)).reshape(6, 4))
    _check(mx.nd.Reshape(x, target_shape=(7, 0), keep_highest=True), _data((2, 3, 4)).reshape(2, 12))


# ---- broadcasting --------------------------------------------------------------------------------
@given(shape=shapes, data=st.data())
def test_broadcast_to_axis_like(shape, data):
    small = tuple(d if data.draw(st.booleans()) else 1 for d in shape)
    a = _data(small)
    x = _nd(a)
    if all(shape):  # in broadcast_to's shape, 0 means "keep the input's dim"
        _check(x.broadcast_to(shape), np.broadcast_to(a, shape))
        keep = tuple(0 if s == d else d for s, d in zip(small, shape))
        _check(mx.nd.broadcast_to(x, shape=keep), np.broadcast_to(a, shape))
    axes = tuple(k for k, (s, d) in enumerate(zip(small, shape)) if s != d)
    _check(mx.nd.broadcast_axis(x, axis=axes, size=tuple(shape[k] for k in axes)), np.broadcast_to(a, shape))
    _check(mx.nd.broadcast_axes(x, axis=axes, size=tuple(shape[k] for k in axes)), np.broadcast_to(a, shape))
    _check(x.broadcast_like(_nd(np.zeros(shape))), np.broadcast_to(a, shape))


def test_broadcast_misc():
    a = _data((3, 1))
    x = _nd(a)
    _check(x.broadcast_to((2, 3, 4)), np.broadcast_to(a, (2, 3, 4)))
    like = _nd(np.zeros((5, 6, 7)))
    _check(mx.nd.broadcast_like(x, like, lhs_axes=(1,), rhs_axes=(-1,)), np.broadcast_to(a, (3, 7)))
    with pytest.raises(ShapeError, match=r"broadcast_to: cannot broadcast shape \(3, 1\) to \(4, 2\)"):
        x.broadcast_to((4, 2))
    with pytest.raises(ShapeError, match="broadcast_axis.*size 3"):
        mx.nd.broadcast_axis(x, axis=0, size=5)
    with pytest.raises(ShapeError, match="broadcast_like"):
        x.broadcast_like(_nd(np.zeros((4, 3, 2))))


# ---- tile, repeat, flip -----------------------------------------------------------------------------
@given(shape=shapes, reps=st.lists(st.integers(0, 3), min_size=0, max_size=5))
def test_tile(shape, reps):
    a = _data(shape)
    _check(_nd(a).tile(tuple(reps)), np.tile(a, tuple(reps)))


@given(shape=shapes, repeats=st.integers(0, 3), data=st.data())
def test_repeat(shape, repeats, data):
    a = _data(shape)
    x = _nd(a)
    axis = data.draw(st.one_of(st.none(), st.integers(-len(shape), len(shape) - 1)))
    _check(x.repeat(repeats=repeats, axis=axis), np.repeat(a, repeats, axis=axis))


def test_tile_repeat_errors():
    x = _nd(_data((2, 3)))
    with pytest.raises(ShapeError, match="tile"):
        x.tile((-1, 2))
    with pytest.raises(ShapeError, match="repeat.*negative"):
        x.repeat(-1)
    with pytest.raises(ShapeError, match="repeat: axis=2"):
        x.repeat(2, axis=2)


@given(shape=shapes, data=st.data())
def test_flip(shape, data):
    a = _data(shape)
    axes = data.draw(st.lists(st.integers(0, len(shape) - 1), unique=True, min_size=1))
    neg = tuple(ax - len(shape) if data.draw(st.booleans()) else ax for ax in axes)
    _check(_nd(a).flip(axis=neg), np.flip(a, axes))
    _check(mx.nd.reverse(_nd(a), axis=neg), np.flip(a, axes))


# ---- slice, slice_axis, slice_like ---------------------------------------------------------------------
def _opt(n):
    return st.one_of(st.none(), st.integers(-n - 2, n + 2))


@given(shape=shapes, data=st.data())
def test_slice(shape, data):
    a = _data(shape)
    k = data.draw(st.integers(1, len(shape)))
    begin = tuple(data.draw(_opt(shape[i])) for i in range(k))
    end = tuple(data.draw(_opt(shape[i])) for i in range(k))
    step = tuple(data.draw(st.one_of(st.none(), st.integers(-3, 3).filter(bool))) for i in range(k))
    key = tuple(slice(b, e, s) for b, e, s in zip(begin, end, step))
    _check(mx.nd.slice(_nd(a), begin=begin, end=end, step=step), a[key])
    _check(_nd(a).slice(begin, end), a[tuple(slice(b, e) for b, e in zip(begin, end))])
    _check(mx.nd.crop(_nd(a), begin=begin, end=end, step=step), a[key])


def test_slice_attr_strings_and_errors():
    a = _data((4, 5))
    _check(mx.nd.slice(_nd(a), begin="(1, None)", end="(None, -1)", step="(2, -2)"), a[1::2, :-1:-2])
    with pytest.raises(ShapeError, match="slice: step"):
        mx.nd.slice(_nd(a), begin=(0,), end=(2,), step=(0,))
    with pytest.raises(ShapeError, match="slice"):
        mx.nd.slice(_nd(a), begin=(0, 0, 0), end=(1, 1, 1))


@given(shape=shapes, data=st.data())
def test_slice_axis(shape, data):
    a = _data(shape)
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    n = shape[axis]
    b = data.draw(st.integers(0, n))
    e = data.draw(st.one_of(st.none(), st.integers(b, n)))
    key = [slice(None)] * len(shape)
    key[axis] = slice(b, e)
    _check(_nd(a).slice_axis(axis=axis, begin=b, end=e), a[tuple(key)])
    if e is not None and b < n:  # negative forms of the same range
        _check(mx.nd.slice_axis(_nd(a), axis, b - n, e - n if e < n else None), a[tuple(key)])


def test_slice_axis_like_errors():
    a = _data((4, 5, 6))
    with pytest.raises(ShapeError, match="slice_axis.*axis 1 of size 5"):
        mx.nd.slice_axis(_nd(a), axis=1, begin=3, end=2)
    _check(mx.nd.slice_like(_nd(a), _nd(np.zeros((2, 3, 4)))), a[:2, :3, :4])
    _check(mx.nd.slice_like(_nd(a), _nd(np.zeros((2, 3)), ), axes=(0, -2)), a[:2, :3])
    with pytest.raises(ShapeError, match="slice_like.*larger"):
        mx.nd.slice_like(_nd(a), _nd(np.zeros((5, 1, 1))))


# ---- pad ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["constant", "edge", "reflect"])
@pytest.mark.parametrize("shape", [(2, 3, 4, 5), (1, 2, 3, 4, 3)])
def test_pad(mode, shape):
    a = _data(shape)
    nd_pad = len(shape) - 2
    widths = [(0, 0), (0, 0)] + [(int(RNG.integers(0, 3)), int(RNG.integers(0, 3))) for _ in range(nd_pad)]
    flat = tuple(w for pair in widths for w in pair)
    kw = {"constant_values": 2.5} if mode == "constant" else {}
    expected = np.pad(a, widths, mode=mode, **kw)
    _check(mx.nd.pad(_nd(a), mode=mode, pad_width=flat, constant_value=2.5), expected)
    _check(_nd(a).pad(mode=mode, pad_width=flat, constant_value=2.5), expected)


@pytest.mark.parametrize("dtype", ["int32", "float16"])
def test_pad_dtypes(dtype):
    a = _data((1, 2, 2, 3), dtype)
    pw = (0, 0, 0, 0, 1, 1, 2, 1)
    _check(mx.nd.Pad(_nd(a, dtype), mode="reflect", pad_width=pw), np.pad(a, [(0, 0), (0, 0), (1, 1), (2, 1)],
                                                                          mode="reflect"), dtype)
    _check(mx.nd.pad(_nd(a, dtype), mode="constant", pad_width=pw, constant_value=-3),
           np.pad(a, [(0, 0), (0, 0), (1, 1), (2, 1)], constant_values=-3), dtype)


def test_pad_errors():
    x = _nd(_data((1, 1, 2, 3)))
    with pytest.raises(ShapeError, match="Pad: only 4-D and 5-D"):
        mx.nd.pad(_nd(_data((2, 3))), mode="constant", pad_width=(0, 0, 1, 1))
    with pytest.raises(ShapeError, match="first two axes"):
        mx.nd.pad(x, mode="constant", pad_width=(1, 0, 0, 0, 1, 1, 1, 1))
    with pytest.raises(ShapeError, match="2\\*ndim"):
        mx.nd.pad(x, mode="constant", pad_width=(0, 0, 0, 0, 1, 1))
    with pytest.raises(ShapeError, match="reflect.*axis 2 has size 2"):
        mx.nd.pad(x, mode="reflect", pad_width=(0, 0, 0, 0, 2, 0, 0, 0))
    with pytest.raises(ValueError, match="mode"):
        mx.nd.pad(x, mode="wrap", pad_width=(0, 0, 0, 0, 1, 1, 1, 1))


# ---- concat, stack, split ----------------------------------------------------------------------------
@given(shape=shapes, data=st.data())
def test_concat(shape, data):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    arrays = []
    for _ in range(data.draw(st.integers(1, 4))):
        s = list(shape)
        s[axis] = data.draw(st.integers(0, 3))
        arrays.append(_data(tuple(s)) + len(arrays))
    expected = np.concatenate(arrays, axis=axis)
    _check(mx.nd.concat(*[_nd(a) for a in arrays], dim=axis), expected)
    _check(mx.nd.Concat(*[_nd(a) for a in arrays], dim=axis, num_args=len(arrays)), expected)
    _check(mx.nd.concatenate([_nd(a) for a in arrays], axis=axis), expected)


@given(shape=shapes, n=st.integers(1, 4), data=st.data())
def test_stack(shape, n, data):
    axis = data.draw(st.integers(-len(shape) - 1, len(shape)))
    arrays = [_data(shape) + k for k in range(n)]
    _check(mx.nd.stack(*[_nd(a) for a in arrays], axis=axis), np.stack(arrays, axis=axis))


@given(shape=nonempty, data=st.data())
def test_split(shape, data):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    divisors = [k for k in range(1, shape[axis] + 1) if shape[axis] % k == 0]
    k = data.draw(st.sampled_from(divisors))
    a = _data(shape)
    parts = mx.nd.split(_nd(a), num_outputs=k, axis=axis)
    parts = parts if isinstance(parts, list) else [parts]
    assert len(parts) == k
    for p, e in zip(parts, np.split(a, k, axis=axis)):
        _check(p, e)
    if shape[axis] == k:
        for p, e in zip(_nd(a).split(num_outputs=k, axis=axis, squeeze_axis=True) if k > 1 else
                        [_nd(a).split(num_outputs=k, axis=axis, squeeze_axis=True)], np.split(a, k, axis=axis)):
            _check(p, np.squeeze(e, axis))


def test_concat_stack_split_errors():
    x, y = _nd(_data((2, 3))), _nd(_data((2, 4)))
    with pytest.raises(ShapeError, match="Concat.*must agree"):
        mx.nd.concat(x, y, dim=0)
    with pytest.raises(TypeError, match="Concat.*dtype"):
        mx.nd.concat(x, _nd(_data((2, 3)), "int32"))
    with pytest.raises(ShapeError, match="stack.*same shape"):
        mx.nd.stack(x, y)
    with pytest.raises(ShapeError, match="SliceChannel.*cannot be split"):
        mx.nd.split(y, num_outputs=3, axis=1)
    with pytest.raises(ShapeError, match="squeeze_axis"):
        mx.nd.SliceChannel(y, num_outputs=2, axis=1, squeeze_axis=True)
    _check(mx.nd.concat(x, dim=1), _data((2, 3)))  # one input is a copy


# ---- take, pick, one_hot, gather_nd, scatter_nd ------------------------------------------------------
@given(shape=nonempty, idx_shape=array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3), data=st.data())
def test_take(shape, idx_shape, data):
    a = _data(shape)
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    n = shape[axis]
    idx = RNG.integers(-2 * n - 1, 2 * n + 2, size=idx_shape)
    x = _nd(a)
    _check(mx.nd.take(x, _nd(idx), axis=axis), np.take(a, np.clip(idx, 0, n - 1), axis=axis))
    _check(x.take(_nd(idx, "int64"), axis=axis, mode="wrap"), np.take(a, idx, axis=axis, mode="wrap"))
    ok = np.clip(idx, -n, n - 1)
    _check(mx.nd.take(x, _nd(ok, "int32"), axis=axis, mode="raise"), np.take(a, ok, axis=axis))


def test_take_raise_is_a_clear_error():
    x = _nd(_data((3, 4)))
    y = mx.nd.take(x, _nd([0, 4]), axis=1, mode="raise")
    _kernel_error(y, r"take: index out of range for axis 1 of size 4 \(mode='raise'\)")
    _kernel_error(mx.nd.take(x, _nd([np.nan]), axis=0, mode="raise"), "take: index out of range")
    _check(mx.nd.take(x, _nd([np.nan, 1e30, -1e30, 2.9]), axis=0), _data((3, 4))[[0, 2, 0, 2]])  # saturates
    _kernel_error(mx.nd.take(_nd(np.zeros((0, 2))), _nd([0]), axis=0), "axis 0 of size 0")
    with pytest.raises(ValueError, match="mode"):
        mx.nd.take(x, _nd([0]), mode="bogus")


@given(shape=nonempty, keepdims=st.booleans(), mode=st.sampled_from(["clip", "wrap"]), data=st.data())
def test_pick(shape, keepdims, mode, data):
    a = _data(shape)
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    n = shape[axis]
    oshape = list(shape)
    oshape[axis] = 1
    idx = RNG.integers(-n - 2, n + 2, size=oshape)
    fixed = np.clip(idx, 0, n - 1) if mode == "clip" else idx % n
    expected = np.take_along_axis(a, fixed, axis=axis)
    expected = expected if keepdims else np.squeeze(expected, axis)
    index = _nd(idx if keepdims or data.draw(st.booleans()) else np.squeeze(idx, axis))
    _check(mx.nd.pick(_nd(a), index, axis=axis, keepdims=keepdims, mode=mode), expected)
    _check(_nd(a).pick(index, axis, keepdims, mode), expected)


def test_pick_errors():
    x = _nd(_data((3, 4)))
    with pytest.raises(ShapeError, match="pick: index of shape"):
        mx.nd.pick(x, _nd([0, 1]), axis=1)
    with pytest.raises(ShapeError, match="pick: axis=None"):
        mx.nd.pick(x, _nd([0, 1, 2]), axis=None)


@given(shape=array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4),
       depth=st.integers(0, 5), dtype=st.sampled_from(["float32", "int32", "uint8", "float64"]))
def test_one_hot(shape, depth, dtype):
    idx = RNG.integers(-2, depth + 2, size=shape)
    expected = np.where(idx[..., None] == np.arange(depth), 3.0, 1.0)
    out = mx.nd.one_hot(_nd(idx), depth, on_value=3, off_value=1, dtype=dtype)
    _check(out, expected, dtype)
    _check(_nd(idx, "int64").one_hot(depth), (idx[..., None] == np.arange(depth)).astype(float))


def test_one_hot_float_indices_truncate():
    _check(mx.nd.one_hot(_nd([0.7, 2.2, np.nan, -0.5]), 3), [[1, 0, 0], [0, 0, 1], [0, 0, 0], [0, 0, 0]])


@given(shape=nonempty, zshape=array_shapes(min_dims=0, max_dims=2, min_side=0, max_side=3), data=st.data())
def test_gather_scatter_nd(shape, zshape, data):
    a = _data(shape)
    m = data.draw(st.integers(1, len(shape)))
    idx = np.stack([RNG.integers(-d, d, size=zshape) for d in shape[:m]])
    expected = a[tuple(idx)]
    _check(mx.nd.gather_nd(_nd(a), _nd(idx)), expected)
    # scatter_nd of unique positions: numpy's assignment is the reference
    flat = np.unique(np.ravel_multi_index(tuple(i % d for i, d in zip(idx, shape)), shape[:m]))
    uniq = np.stack(np.unravel_index(flat, shape[:m])) if flat.size else np.zeros((m, 0), np.int64)
    vals = _data(uniq.shape[1:] + shape[m:]) + 1
    ref = np.zeros(shape)
    ref[tuple(uniq)] = vals
    _check(mx.nd.scatter_nd(_nd(vals), _nd(uniq, "int32"), shape=shape), ref)


def test_gather_scatter_nd_errors():
    x = _nd(_data((3, 4)))
    _kernel_error(mx.nd.gather_nd(x, _nd([[0, 3]])), "gather_nd: index out of range for axis 0 of size 3")
    with pytest.raises(ShapeError, match="gather_nd.*address 3 axes"):
        mx.nd.gather_nd(x, _nd(np.zeros((3, 1))))
    with pytest.raises(ShapeError, match="scatter_nd: data of shape"):
        mx.nd.scatter_nd(_nd([1, 2]), _nd([[0, 1, 2]]), shape=(4,))
    _kernel_error(mx.nd.scatter_nd(_nd([1, 2]), _nd([[0, 9]]), shape=(4,)),
                  "scatter_nd: index out of range for axis 0 of size 4")


def test_scatter_set_nd_in_place():
    x = _nd(_data((3, 4)))
    mx.nd._internal._scatter_set_nd(x, _nd([7, 8]), _nd([[0, 2], [1, 3]]), out=x)
    ref = _data((3, 4))
    ref[[0, 2], [1, 3]] = [7, 8]
    _check(x, ref)
    y = mx.nd._internal._scatter_set_nd(x, _nd([-1]), _nd([[1], [1]]))
    ref2 = ref.copy()
    ref2[1, 1] = -1
    _check(y, ref2)
    _check(x, ref)  # a new output leaves lhs alone


# ---- the same lowerings inside one graph program ---------------------------------------------------
def test_movement_ops_in_a_graph_program():
    from mxcc import codegen, passes, runtime
    from mxcc.ir import Graph, Node, TensorType, Value

    x, idx = Value(TensorType((1, 2, 3, 4)), "x"), Value(TensorType((3,)), "idx")
    u = [TensorType(None)]
    pad = Node("Pad", {"mode": "edge", "pad_width": "(0, 0, 0, 0, 1, 1, 1, 1)"}, [x], u)
    split = Node("SliceChannel", {"num_outputs": "2", "axis": "1"}, pad.outputs, u * 2)
    cat = Node("Concat", {"dim": "3", "num_args": "2"}, split.outputs, u)
    take = Node("take", {"axis": "-1", "mode": "wrap"}, [cat.outputs[0], idx], u)
    g = passes.run_pipeline(Graph([x, idx], [take.outputs[0], split.outputs[1]]))
    gp = codegen.emit(g, "c")
    lib = runtime.toolchain_c.load(gp.program.source, gp.program.cdecls, gp.program.name)
    a = _data((1, 2, 3, 4)).astype(np.float32)
    i = np.array([0, 13, -1], np.float32)
    outs = [np.empty((1, 1, 5, 3), np.float32), np.empty((1, 1, 5, 6), np.float32)]
    io = np.array([b.ctypes.data for b in [a, i, *outs]], dtype=np.intp)
    arena = np.empty(max(gp.arena_bytes, 1), np.uint8)
    status = np.zeros(1, np.int64)
    assert lib.fn(gp.run_entry)(io.ctypes.data, arena.ctypes.data, runtime.rng.ADDRESS, status.ctypes.data) == 0
    padded = np.pad(a.astype(np.float64), [(0, 0), (0, 0), (1, 1), (1, 1)], mode="edge")
    cat_ref = np.concatenate([padded[:, :1], padded[:, 1:]], axis=3)
    np.testing.assert_array_equal(outs[0], np.take(cat_ref, [0, 13, -1], axis=3, mode="wrap"))
    np.testing.assert_array_equal(outs[1], padded[:, 1:])
