"""softmax / log_softmax against numpy float64 references."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mxcc as mx
from mxcc.ir.errors import ShapeError

FLOATS = ["float32", "float64", "float16"]
# (rtol, atol) for softmax outputs (in [0, 1]) and log_softmax outputs (any magnitude)
TOL = {"float64": (1e-12, 1e-14), "float32": (2e-6, 1e-6), "float16": (2e-3, 1e-3)}


def reference(x, axis=-1, temperature=None, log=False):
    z = x.astype(np.float64) / (1.0 if temperature is None else temperature)
    m = z.max(axis=axis, keepdims=True)
    e = np.exp(z - m)
    s = e.sum(axis=axis, keepdims=True)
    return (z - m) - np.log(s) if log else e / s


def check(got, ref, dtype):
    got = got.asnumpy()
    assert got.shape == ref.shape and got.dtype == np.dtype(dtype), (got.shape, got.dtype, ref.shape, dtype)
    rtol, atol = TOL[dtype]
    np.testing.assert_allclose(got.astype(np.float64), ref, rtol=rtol, atol=atol, equal_nan=True)


def _data(shape, dtype, scale=3.0, seed=0):
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(dtype)


def test_matches_mxnet_examples():
    x = mx.nd.array(np.arange(24).reshape(2, 3, 4) / 5)
    np.testing.assert_allclose(mx.nd.softmax(x).asnumpy().ravel()[:4],
                               [0.18065716, 0.22065519, 0.2695088, 0.32917884], rtol=1e-6)
    np.testing.assert_allclose(mx.nd.softmax(x, axis=0).asnumpy().ravel()[:2], [0.08317269, 0.08317271], rtol=1e-6)
    np.testing.assert_allclose(mx.nd.softmax(x, temperature=2.0).asnumpy().ravel()[:4],
                               [0.21383822, 0.23632778, 0.2611826, 0.2886514], rtol=1e-6)
    np.testing.assert_allclose(mx.nd.log_softmax(x, axis=1, temperature=0.5).asnumpy().ravel()[:2],
                               [-3.4172533, -3.417253], rtol=1e-6)
    np.testing.assert_allclose(mx.nd.softmax(x, temperature=-1.0).asnumpy().ravel()[:4],
                               [0.32917884, 0.26950884, 0.22065516, 0.18065716], rtol=1e-6)
    # MXNet prints -1.7111518, -1.5111518; the float64 value is -1.71115413, -1.51115413
    np.testing.assert_allclose(x.log_softmax().asnumpy().ravel()[:2], [-1.71115413, -1.51115413], rtol=1e-6)
    np.testing.assert_allclose(x.softmax(axis=1).asnumpy().ravel()[:2], [0.12227072, 0.12227072], rtol=1e-6)
    assert mx.nd.softmax(x, dtype="float64").dtype == np.float64
    half = mx.nd.softmax(x.astype("float16"), dtype="float32")
    assert half.dtype == np.float32
    np.testing.assert_allclose(half.asnumpy().ravel()[:2], [0.18066406, 0.22070312], rtol=2e-3)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("log", [False, True])
def test_every_axis(dtype, log):
    f = mx.nd.log_softmax if log else mx.nd.softmax
    for shape in ((7,), (4, 9), (3, 5, 6), (2, 3, 4, 5)):
        x = _data(shape, dtype)
        a = mx.nd.array(x, dtype=dtype)
        for axis in range(-len(shape), len(shape)):
            check(f(a, axis=axis), reference(x, axis, log=log), dtype)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("log", [False, True])
def test_temperature(dtype, log):
    f = mx.nd.log_softmax if log else mx.nd.softmax
    x = _data((6, 11), dtype)
    a = mx.nd.array(x, dtype=dtype)
    for t in (0.25, 1.0, 3.0, -2.0):
        for axis in (0, 1):
            check(f(a, axis=axis, temperature=t), reference(x, axis, t, log), dtype)


@pytest.mark.parametrize("log", [False, True])
def test_output_dtype(log):
    f = mx.nd.log_softmax if log else mx.nd.softmax
    x = _data((5, 40), "float16")
    got = f(mx.nd.array(x, dtype="float16"), dtype="float32")
    check(got, reference(x, log=log), "float32")
    y = _data((5, 40), "float32")
    got = f(mx.nd.array(y), axis=0, dtype="float64")
    assert got.dtype == np.float64
    np.testing.assert_allclose(got.asnumpy(), reference(y, 0, log=log), rtol=1e-12, atol=1e-14)
    got = f(mx.nd.array(y), dtype="float16")
    assert got.dtype == np.float16
    np.testing.assert_allclose(got.asnumpy().astype(np.float64), reference(y, log=log), rtol=2e-3, atol=1e-3)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_large_magnitudes_are_stable(dtype):
    big = np.array([[1e4, 1e4 - 1, -1e4, 0], [-3e4, -3e4 + 2, -3e4 + 1, -5e4], [80, 90, 100, 110]], dtype)
    for log in (False, True):
        f = mx.nd.log_softmax if log else mx.nd.softmax
        for axis in (0, 1):
            got = f(mx.nd.array(big, dtype=dtype), axis=axis)
            assert np.isfinite(got.asnumpy()).all()
            check(got, reference(big, axis, log=log), dtype)
    huge = np.array([3e38, 3e38, -3e38], np.float32)
    np.testing.assert_allclose(mx.nd.softmax(mx.nd.array(huge)).asnumpy(), [0.5, 0.5, 0], atol=1e-7)
    x = _data((3, 100), dtype, scale=1e3)
    check(mx.nd.softmax(mx.nd.array(x, dtype=dtype)), reference(x), dtype)
    check(mx.nd.log_softmax(mx.nd.array(x, dtype=dtype)), reference(x, log=True), dtype)


def test_infinities_and_nan():
    x = np.array([[-np.inf, 0.0, 1.0], [np.nan, 1.0, 2.0], [-np.inf, -np.inf, 5.0]], np.float32)
    a = mx.nd.array(x)
    got = mx.nd.softmax(a).asnumpy()
    np.testing.assert_allclose(got[0], reference(x[:1])[0], rtol=1e-6)
    assert np.isnan(got[1]).all()  # a NaN poisons its row, as in numpy
    np.testing.assert_array_equal(got[2], [0, 0, 1])
    lg = mx.nd.log_softmax(a).asnumpy()
    assert lg[0, 0] == -np.inf and lg[2, 2] == 0
    np.testing.assert_allclose(lg[0, 1:], reference(x[:1], log=True)[0, 1:], rtol=1e-6)


@pytest.mark.parametrize("shape,axis", [
    ((3, 5000), -1),  # long rows: many SIMD iterations, parallel over rows
    ((2, 40, 700), 1),  # inner wider than one tile
    ((64, 1000), 0),  # reduce along the outer axis with a contiguous tile
    ((4, 33, 5, 7), 2),
    ((1, 100000), 1),  # one long row
    ((40000, 2), 1),  # many tiny rows
])
def test_layouts(shape, axis):
    x = _data(shape, "float32", seed=len(shape))
    a = mx.nd.array(x)
    check(mx.nd.softmax(a, axis=axis), reference(x, axis), "float32")
    check(mx.nd.log_softmax(a, axis=axis), reference(x, axis, log=True), "float32")
    s = mx.nd.softmax(a, axis=axis).asnumpy().astype(np.float64).sum(axis=axis)
    np.testing.assert_allclose(s, 1.0, rtol=1e-5)


def test_empty_and_size_one():
    for shape, axis in (((0, 4), 1), ((3, 0), 1), ((3, 0), 0), ((2, 0, 3), 1)):
        got = mx.nd.softmax(mx.nd.zeros(shape), axis=axis)
        assert got.shape == shape
    one = mx.nd.softmax(mx.nd.array(np.array([[3.0], [-2.0]], np.float32)), axis=1).asnumpy()
    np.testing.assert_array_equal(one, [[1.0], [1.0]])
    np.testing.assert_array_equal(mx.nd.log_softmax(mx.nd.array([[7.0]])).asnumpy(), [[0.0]])


def test_errors():
    a = mx.nd.ones((2, 3))
    for op in ("softmax", "log_softmax"):
        f = getattr(mx.nd, op)
        with pytest.raises(ShapeError, match=rf"{op}: axis=2"):
            f(a, axis=2)
        with pytest.raises(ShapeError, match=rf"{op}: axis=-3"):
            f(a, axis=-3)
        with pytest.raises(TypeError, match=rf"{op}: .*floating point.*int32"):
            f(a.astype("int32"))
        with pytest.raises(TypeError, match=rf"{op}: dtype"):
            f(a, dtype="int32")


def test_out_and_methods():
    x = _data((4, 6), "float32")
    a = mx.nd.array(x)
    out = mx.nd.zeros((4, 6))
    mx.nd.softmax(a, axis=0, out=out)
    check(out, reference(x, 0), "float32")
    check(a.softmax(), reference(x), "float32")
    check(a.log_softmax(axis=0, temperature=2.0), reference(x, 0, 2.0, log=True), "float32")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from([1, 2, 3, 7, 16, 33, 300]), min_size=1, max_size=4), st.data())
def test_property_shapes(shape, data):
    shape = tuple(shape)
    if np.prod(shape) > 200000:
        shape = tuple(min(d, 16) for d in shape)
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    log = data.draw(st.booleans())
    dtype = data.draw(st.sampled_from(["float32", "float64"]))
    t = data.draw(st.sampled_from([None, 0.5, 4.0]))
    x = _data(shape, dtype, scale=data.draw(st.sampled_from([1.0, 50.0])), seed=len(shape))
    f = mx.nd.log_softmax if log else mx.nd.softmax
    check(f(mx.nd.array(x, dtype=dtype), axis=axis, temperature=t), reference(x, axis, t, log), dtype)
