"""sort, argsort and topk against numpy's stable sorts (float64 references), every dtype, every
axis, NaN placement, ties, the index dtypes, and the gradients."""
import numpy as np
import pytest
from conftest import ALL_DTYPES
from gradcheck import check_grad
from hypothesis import given, settings
from hypothesis import strategies as st

import mxcc as mx

RNG = np.random.default_rng(0)


def sample(shape, dtype, nan=False):
    if np.dtype(dtype).kind in "iu":
        lo = 0 if np.dtype(dtype).kind == "u" else -5
        return RNG.integers(lo, 6, shape).astype(dtype)  # small range: plenty of ties
    x = np.round(RNG.standard_normal(shape) * 3, 1).astype(dtype)  # rounded: ties too
    if nan and x.size:
        x.reshape(-1)[RNG.integers(0, x.size, max(1, x.size // 7))] = np.nan
    return x


def ref_argsort(x, axis, ascend):
    """numpy's stable order; descending keeps ties in order and puts NaN first (NaN is the largest)."""
    if axis is None:
        x, axis = x.reshape(-1), -1
    x = np.moveaxis(x.astype(np.float64), axis, -1)
    if ascend:
        idx = np.argsort(x, axis=-1, kind="stable")
    else:
        idx = np.lexsort((-x, ~np.isnan(x)), axis=-1)
    return np.moveaxis(idx, -1, axis)


def take(x, idx, axis):
    if axis is None:
        return x.reshape(-1)[idx]
    return np.take_along_axis(x, idx, axis)


AXES = [((5, 7), -1), ((5, 7), 0), ((3, 4, 6), 1), ((3, 4, 6), None), ((9,), 0), ((2, 1, 5), -3)]


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("shape,axis", AXES)
@pytest.mark.parametrize("ascend", [True, False])
def test_sort_and_argsort_match_numpy_stable(dtype, shape, axis, ascend):
    x = sample(shape, dtype, nan=True)
    a = mx.nd.array(x, dtype=dtype)
    idx = ref_argsort(x, axis, ascend)
    got = mx.nd.sort(a, axis=axis, is_ascend=ascend)
    assert got.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(got.asnumpy(), take(x, idx, axis))
    gi = mx.nd.argsort(a, axis=axis, is_ascend=ascend, dtype="int64")
    np.testing.assert_array_equal(gi.asnumpy(), idx)


def test_argsort_defaults_to_float32_indices_and_methods():
    x = np.array([[3, 1, 2], [0, 5, 5]], dtype=np.int32)
    a = mx.nd.array(x, dtype="int32")
    r = mx.nd.argsort(a)
    assert r.dtype == np.float32
    np.testing.assert_array_equal(r.asnumpy(), [[1, 2, 0], [0, 1, 2]])
    np.testing.assert_array_equal(a.sort(is_ascend=False).asnumpy(), [[3, 2, 1], [5, 5, 0]])
    np.testing.assert_array_equal(a.argsort(axis=0).asnumpy(), [[1, 0, 0], [0, 1, 1]])
    np.testing.assert_array_equal(a.topk(k=2).asnumpy(), [[0, 2], [1, 2]])


def test_nan_order_is_numpys():
    x = np.array([3, np.nan, 1, np.nan, -2], dtype=np.float32)
    a = mx.nd.array(x)
    np.testing.assert_array_equal(mx.nd.sort(a).asnumpy(), np.sort(x))
    np.testing.assert_array_equal(mx.nd.argsort(a).asnumpy(), np.argsort(x, kind="stable"))
    np.testing.assert_array_equal(mx.nd.argsort(a, is_ascend=False).asnumpy(), [1, 3, 0, 2, 4])
    np.testing.assert_array_equal(mx.nd.topk(a, k=2).asnumpy(), [1, 3])


@pytest.mark.parametrize("dtype", ["float32", "int32", "float64", "uint8"])
@pytest.mark.parametrize("shape,axis", AXES)
@pytest.mark.parametrize("ascend", [True, False])
@pytest.mark.parametrize("k", [1, 3, 0])
def test_topk_every_return_type(dtype, shape, axis, ascend, k):
    x = sample(shape, dtype)
    L = x.size if axis is None else shape[axis]
    kk = min(k, L) if k >= 1 else L
    a = mx.nd.array(x, dtype=dtype)
    full = ref_argsort(x, axis, ascend)
    idx = full[:kk] if axis is None else np.take(full, np.arange(kk), axis=axis)
    vals = take(x, idx, axis)
    got = mx.nd.topk(a, axis=axis, k=kk if k else 0, is_ascend=ascend, dtype="int32")
    assert got.dtype == np.int32
    np.testing.assert_array_equal(got.asnumpy(), idx)
    v = mx.nd.topk(a, axis=axis, k=kk if k else 0, is_ascend=ascend, ret_typ="value")
    assert v.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(v.asnumpy(), vals)
    bv, bi = mx.nd.topk(a, axis=axis, k=kk if k else 0, is_ascend=ascend, ret_typ="both")
    np.testing.assert_array_equal(bv.asnumpy(), vals)
    assert bi.dtype == np.float32
    np.testing.assert_array_equal(bi.asnumpy(), idx)
    m = mx.nd.topk(a, axis=axis, k=kk if k else 0, is_ascend=ascend, ret_typ="mask")
    assert m.shape == x.shape and m.dtype == np.dtype(dtype)
    ref = np.zeros(x.size if axis is None else x.shape)
    if axis is None:
        ref[idx] = 1
        ref = ref.reshape(x.shape)
    else:
        np.put_along_axis(ref, idx, 1, axis)
    np.testing.assert_array_equal(m.asnumpy(), ref)


@settings(max_examples=25, deadline=None)
@given(shape=st.lists(st.integers(0, 6), min_size=1, max_size=3), data=st.data())
def test_sort_any_shape(shape, data):
    shape = tuple(shape)
    axis = data.draw(st.one_of(st.none(), st.integers(-len(shape), len(shape) - 1)))
    ascend = data.draw(st.booleans())
    x = sample(shape, "float64", nan=True)
    idx = ref_argsort(x, axis, ascend)
    a = mx.nd.array(x, dtype="float64")
    np.testing.assert_array_equal(mx.nd.argsort(a, axis=axis, is_ascend=ascend, dtype="int64").asnumpy(), idx)
    np.testing.assert_array_equal(mx.nd.sort(a, axis=axis, is_ascend=ascend).asnumpy(), take(x, idx, axis))


def test_long_rows_sort_in_parallel():
    x = RNG.standard_normal(300_000).astype(np.float32)
    x[::1000] = 0.5  # ties across the parallel runs
    a = mx.nd.array(x)
    np.testing.assert_array_equal(mx.nd.sort(a).asnumpy(), np.sort(x))
    np.testing.assert_array_equal(mx.nd.argsort(a, dtype="int64").asnumpy(), np.argsort(x, kind="stable"))
    np.testing.assert_array_equal(mx.nd.topk(a, k=5, ret_typ="value").asnumpy(), np.sort(x)[::-1][:5])
    y = RNG.integers(0, 50, (200, 3000)).astype(np.int64)
    np.testing.assert_array_equal(mx.nd.argsort(mx.nd.array(y, dtype="int64"), axis=0, dtype="int64").asnumpy(),
                                  np.argsort(y, axis=0, kind="stable"))


def test_errors():
    with pytest.raises(TypeError, match="uint8 cannot represent every index"):
        mx.nd.argsort(mx.nd.zeros((300,)), dtype="uint8")
    with pytest.raises(ValueError, match="k=5 must not exceed"):
        mx.nd.topk(mx.nd.zeros((2, 4)), k=5)
    with pytest.raises(ValueError, match="axis=2 is out of range"):
        mx.nd.sort(mx.nd.zeros((2, 4)), axis=2)
    with pytest.raises(ValueError, match="ret_typ"):
        mx.nd.topk(mx.nd.zeros((2, 4)), ret_typ="neither")


def test_gradients_route_to_source_positions():
    x = RNG.standard_normal((3, 5, 4))
    check_grad("sort", [x], {"axis": 1})
    check_grad("sort", [x], {"axis": None, "is_ascend": False})
    check_grad("topk", [x], {"axis": 1, "k": 2, "ret_typ": "value"})
    check_grad("topk", [x], {"axis": -1, "k": 3, "ret_typ": "both", "is_ascend": True})
    check_grad("topk", [x], {"axis": None, "k": 4, "ret_typ": "value"})
    check_grad("topk", [x], {"axis": 0, "k": 2, "ret_typ": "mask"})


@settings(max_examples=25, deadline=None)
@given(L=st.integers(20, 400), k=st.integers(1, 20), ascend=st.booleans(), nan=st.booleans())
def test_topk_of_few_among_many_selects_like_a_stable_sort(L, k, ascend, nan):
    x = sample((3, L), "float32", nan=nan)
    idx = ref_argsort(x, -1, ascend)[:, :k]
    a = mx.nd.array(x)
    np.testing.assert_array_equal(mx.nd.topk(a, k=k, is_ascend=ascend, dtype="int64").asnumpy(), idx)
    np.testing.assert_array_equal(mx.nd.topk(a, k=k, is_ascend=ascend, ret_typ="value").asnumpy(),
                                  np.take_along_axis(x, idx, -1))


def test_gradient_rules_read_mxnets_json_attribute_strings():
    x = RNG.standard_normal((3, 6))
    check_grad("topk", [x], {"axis": "0", "k": "2", "ret_typ": "value", "is_ascend": "True"})
    check_grad("sort", [x], {"axis": "None", "is_ascend": "False"})
