"""NDArray indexing against numpy: basic (ints, slices with steps, None, Ellipsis), advanced
(integer arrays / lists / NDArrays, boolean masks, mixed with basic indices), assignment
with broadcasting, MXNet's first-axis views that share memory, and errors."""
from __future__ import annotations

import numpy as np
import pytest
from conftest import ALL_DTYPES, assert_close
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes

import mxcc as mx


def _data(shape, dtype="float32"):
    n = int(np.prod(shape))
    vals = (np.arange(n) % 120) - (0 if np.dtype(dtype).kind == "u" else 60)
    return vals.reshape(shape).astype(np.float64)


def _nd(a, dtype="float32"):
    x = mx.nd.array(a, dtype=dtype)
    return x if x.shape == np.shape(a) else x.reshape(np.shape(a))


def _np_key(key):
    """The same key for numpy: NDArrays become their (integer) values."""
    def conv(k):
        return k.asnumpy().astype(np.int64) if isinstance(k, mx.nd.NDArray) else k
    return tuple(conv(k) for k in key) if isinstance(key, tuple) else conv(key)


shapes = array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=4)


def _reference(a, key):
    """numpy's a[key], or None after checking mxcc raises IndexError where numpy does
    (an Ellipsis can move an index onto a shorter axis)."""
    try:
        return a[_np_key(key)]
    except IndexError:
        with pytest.raises(IndexError):
            _nd(a)[key]
        return None


def _bound(n):
    return st.integers(-n - 2, n + 2)


@st.composite
def basic_keys(draw, shape):
    items = []
    for axis in range(draw(st.integers(0, len(shape)))):
        n = shape[axis]
        kind = draw(st.sampled_from(["int", "slice", "slice", "full"] if n else ["slice", "full"]))
        if kind == "int":
            items.append(draw(st.integers(-n, n - 1)))
        elif kind == "full":
            items.append(slice(None))
        else:
            step = draw(st.one_of(st.none(), st.integers(-3, 3).filter(bool)))
            items.append(slice(draw(st.one_of(st.none(), _bound(n))), draw(st.one_of(st.none(), _bound(n))), step))
    for _ in range(draw(st.integers(0, 2))):
        items.insert(draw(st.integers(0, len(items))), None)
    if draw(st.booleans()):
        items.insert(draw(st.integers(0, len(items))), Ellipsis)
    if len(items) == 1 and draw(st.booleans()):
        return items[0]
    return tuple(items)


def _index_array(draw, n, shape, form):
    vals = np.asarray(draw(st.lists(st.integers(-n, n - 1), min_size=int(np.prod(shape)),
                                    max_size=int(np.prod(shape)))), dtype=np.int64).reshape(shape)
    if form == "list":
        return vals.tolist()
    if form == "nd":
        return _nd(vals, draw(st.sampled_from(["int32", "int64", "float32"])))
    return vals


@st.composite
def advanced_keys(draw, shape):
    """At least one integer array; ints, slices and None around it in any order."""
    bshape = draw(array_shapes(min_dims=1, max_dims=2, min_side=1, max_side=3))
    items, has_adv = [], False
    for axis in range(draw(st.integers(1, len(shape)))):
        n = shape[axis]
        kinds = ["adv", "adv", "slice", "int"] if n else ["slice"]
        kind = draw(st.sampled_from(kinds))
        if kind == "adv":
            sub = tuple(d if draw(st.booleans()) else 1 for d in bshape)[draw(st.integers(0, len(bshape) - 1)):]
            items.append(_index_array(draw, n, sub, draw(st.sampled_from(["np", "list", "nd"]))))
            has_adv = True
        elif kind == "int":
            items.append(draw(st.integers(-n, n - 1)))
        else:
            items.append(slice(draw(st.one_of(st.none(), _bound(n))), None,
                               draw(st.one_of(st.none(), st.integers(-2, 2).filter(bool)))))
    assume(has_adv)
    if draw(st.booleans()):
        items.insert(draw(st.integers(0, len(items))), None)
    if draw(st.booleans()):
        items.insert(draw(st.integers(0, len(items))), Ellipsis)
    return tuple(items)


# ---- reading -------------------------------------------------------------------------------------
@given(shape=shapes, data=st.data())
def test_basic_getitem(shape, data):
    a = _data(shape)
    key = data.draw(basic_keys(shape))
    ref = _reference(a, key)
    if ref is not None:
        assert_close(_nd(a)[key], ref, msg=f"key {key!r}")


@given(shape=shapes, data=st.data())
def test_advanced_getitem(shape, data):
    a = _data(shape)
    key = data.draw(advanced_keys(shape))
    ref = _reference(a, key)
    if ref is not None:
        assert_close(_nd(a)[key], ref, msg=f"key {key!r}")


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_getitem_every_dtype(dtype):
    a = _data((3, 4, 5), dtype)
    x = _nd(a, dtype)
    for key in [(1, slice(None, None, -2)), (slice(None), None, 3), ([2, 0], Ellipsis, [1, -1]),
                (a[:, :, 0] > 0,), (Ellipsis, np.array([[4], [0]]))]:
        assert_close(x[key], a[key], dtype, msg=f"key {key!r}")


@pytest.mark.parametrize("key", [
    0, -1, slice(1, 3), slice(None, None, -1), (1, 2), (slice(None), 1), (Ellipsis, 0), (None,), (None, 0),
    (0, None, slice(1, None, 2)), (Ellipsis, None), (), Ellipsis, ([0, 2],), [0, 0, 1], ([0, 2], [1, 3]),
    ([[0], [2]], [1, 3]), ([0, 2], slice(None), [1, 3]), (slice(None), [0, 2], [1, 3]), (1, slice(None), [1, 3]),
    (slice(None), [1, 3], 2), (None, [0, 1], None, [1, 2]), (np.int64(2), np.int32(-1)), (slice(2, 0, -1), [0, -1]),
    ([0, 1], Ellipsis, [1, 2], [0, 4]), (None, [2], Ellipsis, 0, [0, 1]),  # an empty ellipsis separates
])
def test_getitem_cases(key):
    a = _data((3, 4, 5))
    assert_close(_nd(a)[key], a[key], msg=f"key {key!r}")


@given(shape=array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=4), data=st.data())
def test_boolean_masks(shape, data):
    a = _data(shape)
    k = data.draw(st.integers(1, len(shape)))
    start = data.draw(st.integers(0, len(shape) - k))
    mshape = shape[start:start + k]
    size = int(np.prod(mshape))
    mask = np.asarray(data.draw(st.lists(st.booleans(), min_size=size, max_size=size)), dtype=bool).reshape(mshape)
    key = (slice(None),) * start + (mask,)
    assert_close(_nd(a)[key], a[key], msg=f"mask at axis {start}")
    b, y = a.copy(), _nd(a)
    b[key] = -7
    y[key] = -7
    assert_close(y, b)
    if start == 0 and k == 1:
        assert_close(_nd(a)[mask.tolist()], a[mask])  # a list of bools is a mask too


def test_zero_d_and_size_zero():
    s = mx.nd.zeros(())
    assert s[()].shape == () and s[...].shape == () and s[None].shape == (1,)
    s[()] = 4
    assert s.asnumpy() == 4
    e = _nd(np.zeros((0, 3)))
    assert e[:, 1].shape == (0,) and e[[], 1].shape == (0,) and e[1:, None].shape == (0, 1, 3)
    e[:, 1] = 5  # nothing to write
    assert_close(_nd(_data((2, 3)))[:, 3:], np.zeros((2, 0)))


def test_ndarray_index_with_float_dtype_truncates_like_mxnet():
    a = _data((5, 2))
    assert_close(_nd(a)[_nd([1.0, 3.0, -1.0])], a[[1, 3, -1]])


# ---- views ---------------------------------------------------------------------------------------
def test_first_axis_views_share_memory():
    a = _data((4, 3))
    x = _nd(a)
    row = x[1]
    rows = x[1:3]
    also = x[2, :]
    row[:] = 100  # through the views into the parent
    rows[1, 2] = -5
    ref = a.copy()
    ref[1] = 100
    ref[2, 2] = -5
    assert_close(x, ref)
    x[:] = 0  # and from the parent into the views
    x[2] += 0
    assert_close(row, np.zeros(3))
    assert_close(also, np.zeros(3))
    x[2] = mx.nd.array([7, 8, 9])
    assert_close(rows, [[0, 0, 0], [7, 8, 9]])
    assert_close(also, [7, 8, 9])


def test_other_indexing_copies():
    a = _data((4, 3))
    x = _nd(a)
    for key in [(slice(None), 1), slice(None, None, 2), (1, 2), [0, 1], (Ellipsis, None)]:
        y = x[key]
        y[...] = 55
        assert_close(x, a, msg=f"key {key!r} must copy")


def test_view_of_view_and_setitem_through_nested_views():
    a = _data((3, 4, 2))
    x = _nd(a)
    v = x[1][2:4]
    v[0, 1] = 9
    v[:, 0] = mx.nd.array([3, 4])
    ref = a.copy()
    ref[1, 2, 1] = 9
    ref[1, 2:4, 0] = [3, 4]
    assert_close(x, ref)


# ---- assignment ------------------------------------------------------------------------------------
def _values(draw, a, key, shape):
    """Scalar, exact-shape array, broadcastable array (as numpy, list or NDArray)."""
    kind = draw(st.sampled_from(["scalar", "full", "bcast", "nd", "list"]))
    if kind == "scalar":
        v = float(draw(st.integers(-9, 9)))
        return v, v
    vs = shape if kind != "bcast" else tuple(d if draw(st.booleans()) else 1 for d in shape)[
        draw(st.integers(0, len(shape))):]
    v = (np.arange(int(np.prod(vs))).reshape(vs) + 1000.0)
    if kind == "nd":
        return _nd(v, draw(st.sampled_from(["float32", "int32", "float64"]))), v
    if kind == "list" and v.size:  # (an empty list would lose its shape)
        return v.tolist(), v
    return v, v


@given(shape=shapes, data=st.data())
def test_basic_setitem(shape, data):
    a = _data(shape)
    key = data.draw(basic_keys(shape))
    if _reference(a, key) is None:
        return
    value, ref_value = _values(data.draw, a, key, a[key].shape)
    b = a.copy()
    b[key] = ref_value
    x = _nd(a)
    x[key] = value
    assert_close(x, b, msg=f"key {key!r}")


@given(shape=shapes, data=st.data())
def test_advanced_setitem(shape, data):
    a = _data(shape)
    key = data.draw(advanced_keys(shape))
    nkey = _np_key(key)
    if _reference(a, key) is None:
        return
    positions = np.arange(a.size).reshape(a.shape)[nkey]
    if np.unique(positions).size != positions.size:  # duplicates: only an unambiguous scalar
        value = ref_value = -3.0
    else:
        value, ref_value = _values(data.draw, a, key, positions.shape)
    b = a.copy()
    b[nkey] = ref_value
    x = _nd(a)
    x[key] = value
    assert_close(x, b, msg=f"key {key!r}")


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_setitem_every_dtype_and_casts(dtype):
    a = _data((3, 4), dtype)
    x = _nd(a, dtype)
    x[:, 1] = 7
    x[::2, 2:] = np.array([[1.0, 2.0]])
    x[[0, 2], [0, 3]] = _nd([5, 6], "float64")  # a value of another dtype is converted
    x[1] = [9, 8, 7, 6]
    ref = a.copy()
    ref[:, 1] = 7
    ref[::2, 2:] = [[1, 2]]
    ref[[0, 2], [0, 3]] = [5, 6]
    ref[1] = [9, 8, 7, 6]
    assert_close(x, ref, dtype)


def test_setitem_overlapping_value_reads_a_copy():
    a = _data((6,))
    x = _nd(a)
    x[1:] = x[:-1]
    x2 = _nd(a)
    x2[::-1] = x2
    x3 = _nd(_data((3, 3)))
    x3[:, 0] = x3[0]  # value is a view of the same storage
    b = a.copy()
    b[1:] = a[:-1].copy()
    assert_close(x, b)
    assert_close(x2, a[::-1])
    r = _data((3, 3))
    r[:, 0] = r[0].copy()
    assert_close(x3, r)


def test_setitem_big_int64_scalar_is_exact():
    x = mx.nd.zeros((3,), dtype="int64")
    x[1] = 2 ** 60 + 1
    x[0:1] = -(2 ** 62) - 3
    assert x.asnumpy().tolist() == [-(2 ** 62) - 3, 2 ** 60 + 1, 0]


# ---- errors --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("key,msg", [
    (5, "index 5 is out of bounds for axis 0 with size 3"),
    (-4, "index -4 is out of bounds for axis 0 with size 3"),
    ((0, 4), "index 4 is out of bounds for axis 1 with size 4"),
    ((slice(None), -5), "index -5 is out of bounds for axis 1 with size 4"),
    (([0, 3],), "index 3 is out of bounds for axis 0 with size 3"),
    ((slice(None), np.array([1, -7])), "index -7 is out of bounds for axis 1 with size 4"),
    ((0, 0, 0), "too many indices"),
    ((Ellipsis, Ellipsis), "single ellipsis"),
    ((1.5,), "only integers"),
    (("a",), "only integers"),
    ((np.array([0.5]),), "integer \\(or boolean\\)"),
    ((np.array([True, False]),), "boolean index"),
    (([0, 1], [0, 1, 2]), "shape mismatch"),
    (True, "boolean scalar"),
])
def test_index_errors(key, msg):
    x = _nd(_data((3, 4)))
    with pytest.raises(IndexError, match=msg):
        x[key]
    with pytest.raises(IndexError, match=msg):
        x[key] = 1


def test_ndarray_index_out_of_range_is_an_index_error():
    x = _nd(_data((3, 4)))
    with pytest.raises(IndexError, match="index 3 is out of bounds for axis 1 with size 4|"
                                         "index 9 is out of bounds for axis 1 with size 4"):
        x[:, _nd([3, 9], "int32")]


def test_setitem_shape_errors():
    x = _nd(_data((3, 4)))
    with pytest.raises(ValueError, match=r"could not broadcast input array from shape \(3,\) into shape \(4,\)"):
        x[0] = [1, 2, 3]
    with pytest.raises(ValueError, match=r"could not broadcast.*\(2, 2\)"):
        x[:, [0, 1]] = np.ones((2, 2))
    with pytest.raises(ValueError, match="slice step cannot be zero"):
        x[::0]
    with pytest.raises(IndexError, match="too many indices"):
        mx.nd.zeros(())[0]
