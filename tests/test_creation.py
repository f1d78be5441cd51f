"""Creation ops (zeros, ones, full, empty, arange, linspace, eye, *_like) and mx.nd.array."""
from __future__ import annotations

import numpy as np
import pytest
from conftest import ALL_DTYPES, assert_close
from hypothesis import given
from hypothesis import strategies as st

import mxcc as mx

shapes = st.lists(st.integers(0, 4), min_size=1, max_size=4).map(tuple)


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_zeros_ones_full_every_dtype(dtype):
    z = mx.nd.zeros((2, 3), dtype=dtype)
    o = mx.nd.ones((2, 3), dtype=dtype)
    f = mx.nd.full((2, 3), 7, dtype=dtype)
    for x, v in ((z, 0), (o, 1), (f, 7)):
        assert x.dtype == np.dtype(dtype).type and x.shape == (2, 3)
        assert_close(x, np.full((2, 3), v), dtype)


def test_default_dtype_is_float32():
    for x in (mx.nd.zeros(3), mx.nd.ones((2,)), mx.nd.full(2, 1.5), mx.nd.empty((2, 2)), mx.nd.arange(3),
              mx.nd.linspace(0, 1, 3), mx.nd.eye(2), mx.nd.array([1, 2])):
        assert x.dtype == np.float32


@given(shape=shapes)
def test_creation_shapes_including_empty(shape):
    assert_close(mx.nd.zeros(shape), np.zeros(shape), "float32")
    assert_close(mx.nd.ones(shape, dtype="int32"), np.ones(shape), "int32")
    assert_close(mx.nd.full(shape, -2.5, dtype="float64"), np.full(shape, -2.5), "float64")
    e = mx.nd.empty(shape, dtype="uint8")
    assert e.shape == shape and e.dtype == np.uint8


def test_int_shape_and_empty_sizes():
    assert mx.nd.zeros(4).shape == (4,)
    assert mx.nd.ones(0).shape == (0,)
    assert mx.nd.zeros((0, 3)).asnumpy().shape == (0, 3)
    assert mx.nd.full((2, 0), 5).asnumpy().shape == (2, 0)
    assert mx.nd.empty(5).shape == (5,)


def test_full_fractional_value_and_out():
    assert_close(mx.nd.full((2, 2), 0.1, dtype="float64"), np.full((2, 2), 0.1), "float64")
    assert_close(mx.nd.full(3, 2.9, dtype="int32"), [2, 2, 2], "int32")  # truncated like a C cast
    out = mx.nd.zeros((2, 3))
    r = mx.nd.full((2, 3), 4, out=out)
    assert r is out
    assert_close(out, np.full((2, 3), 4), "float32")


def test_negative_dimension_is_an_error():
    with pytest.raises(ValueError):
        mx.nd.zeros((2, -1))
    with pytest.raises(ValueError):
        mx.nd.empty((-3,))


def test_unknown_dtype_is_a_type_error():
    for call in (lambda: mx.nd.zeros(2, dtype="complex64"), lambda: mx.nd.ones(2, dtype="bogus"),
                 lambda: mx.nd.full(2, 1, dtype="float128"), lambda: mx.nd.empty(2, dtype="str"),
                 lambda: mx.nd.array([1, 2], dtype="nope"), lambda: mx.nd.arange(3, dtype="bogus")):
        with pytest.raises(TypeError):
            call()


def test_creation_context():
    x = mx.nd.zeros(2, ctx=mx.cpu(1))
    assert x.context == mx.cpu(1)
    with mx.cpu(2):
        assert mx.nd.ones(2).context == mx.cpu(2)
        assert mx.nd.arange(3).context == mx.cpu(2)
        assert mx.nd.array([1]).context == mx.cpu(2)
    assert mx.nd.ones(2).context == mx.cpu(0)


# ---- arange ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("args,kwargs", [
    ((5,), {}),
    ((2, 7), {}),
    ((0, 1, 0.1), {}),
    ((5, 0, -1), {}),
    ((3, -2, -0.5), {}),
    ((1, 1), {}),
    ((4, 1), {}),
    ((0, 10, 3), {"dtype": "int32"}),
    ((10, 0, -3), {"dtype": "int64"}),
    ((0, 6), {"dtype": "float64"}),
    ((-3, 3, 1.5), {"dtype": "float16"}),
])
def test_arange_matches_numpy(args, kwargs):
    dtype = kwargs.get("dtype", "float32")
    start, stop, step = (0, args[0], 1) if len(args) == 1 else (args + (1,))[:3]
    expected = np.array([start + i * step for i in range(len(np.arange(start, stop, step)))], dtype=np.float64)
    assert_close(mx.nd.arange(*args, **kwargs), expected, dtype)


def test_arange_keywords_and_repeat():
    assert mx.nd.arange(start=1, stop=4).asnumpy().tolist() == [1, 2, 3]
    assert mx.nd.arange(0, 3, repeat=2).asnumpy().tolist() == [0, 0, 1, 1, 2, 2]
    assert mx.nd.arange(6, 0, -2, repeat=3, dtype="int32").asnumpy().tolist() == [6, 6, 6, 4, 4, 4, 2, 2, 2]
    assert mx.nd.arange(3, repeat=1).shape == (3,)


@given(start=st.integers(-20, 20), span=st.integers(-30, 30), step=st.sampled_from([-3, -1.5, -1, 0.5, 1, 2.5, 4]),
       repeat=st.integers(1, 3))
def test_arange_property(start, span, step, repeat):
    stop = start + span
    base = np.arange(start, stop, step, dtype=np.float64)
    expected = np.repeat(start + np.arange(len(base)) * step, repeat)
    assert_close(mx.nd.arange(start, stop, step, repeat=repeat, dtype="float64"), expected, "float64")


def test_arange_errors():
    with pytest.raises(ValueError, match="step"):
        mx.nd.arange(0, 5, 0)
    with pytest.raises(ValueError, match="repeat"):
        mx.nd.arange(0, 5, 1, repeat=0)


# ---- linspace ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("start,stop,num,endpoint", [
    (0, 1, 5, True), (0, 1, 5, False), (2, -3, 7, True), (2, -3, 7, False), (1, 10, 1, True),
    (1, 10, 1, False), (0, 1, 0, True), (-1, 1, 2, True), (0, 100, 11, True),
])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_linspace(start, stop, num, endpoint, dtype):
    expected = np.linspace(start, stop, num, endpoint=endpoint)
    assert_close(mx.nd.linspace(start, stop, num, endpoint=endpoint, dtype=dtype), expected, dtype, scale=4)


def test_linspace_int_dtype():
    assert mx.nd.linspace(0, 10, 5, dtype="int32").asnumpy().tolist() == [0, 2, 5, 7, 10]


# ---- eye -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("N,M,k", [(3, 0, 0), (3, 5, 0), (5, 3, 0), (4, 4, 1), (4, 4, -2), (3, 5, 3), (3, 5, -4),
                                   (0, 0, 0), (1, 0, 0), (2, 6, 10)])
def test_eye(N, M, k):
    expected = np.eye(N, M or None, k)
    assert_close(mx.nd.eye(N, M, k), expected, "float32")
    assert_close(mx.nd.eye(N, M=M, k=k, dtype="int64"), expected, "int64")


# ---- *_like --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["float32", "float16", "int8", "int64"])
def test_zeros_like_ones_like(dtype):
    x = mx.nd.array(np.arange(6).reshape(2, 3), dtype=dtype)
    z, o = mx.nd.zeros_like(x), mx.nd.ones_like(x)
    assert z.dtype == np.dtype(dtype).type and o.dtype == np.dtype(dtype).type
    assert_close(z, np.zeros((2, 3)), dtype)
    assert_close(o, np.ones((2, 3)), dtype)
    assert mx.nd.zeros_like(mx.nd.ones((0, 4))).shape == (0, 4)


# ---- mx.nd.array -------------------------------------------------------------------------------------------
def test_array_default_dtype_float32():
    assert mx.nd.array([1, 2, 3]).dtype == np.float32
    assert mx.nd.array([[1.5, 2], [3, 4]]).dtype == np.float32
    assert mx.nd.array(np.arange(4, dtype=np.float64)).dtype == np.float32  # MXNet 1.x: not the source's dtype
    assert mx.nd.array(np.arange(4, dtype=np.int64)).dtype == np.float32
    assert mx.nd.array(np.array([True, False])).asnumpy().tolist() == [1.0, 0.0]


def test_array_values_and_copy():
    src = np.array([[0.1, -2.0, 3.5], [4.0, 1e-3, 6.25]])
    x = mx.nd.array(src)
    assert_close(x, src, "float32")
    src[0, 0] = 99
    assert x.asnumpy()[0, 0] == np.float32(0.1)  # a copy, not a view
    s = mx.nd.array(3.0)
    assert s.size == 1 and s.asnumpy().reshape(()) == 3.0
    assert mx.nd.array([]).shape == (0,)


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_array_dtype_honoured(dtype):
    src = [[1, 2, 3], [4, 5, 100]]
    x = mx.nd.array(src, dtype=dtype)
    assert x.dtype == np.dtype(dtype).type
    assert_close(x, src, dtype)
    y = mx.nd.array(np.array(src, dtype=np.float64), dtype=dtype)
    assert_close(y, src, dtype)
    assert mx.nd.array(np.array(src, dtype=dtype)).dtype == np.float32
    assert mx.nd.array(x).dtype == np.dtype(dtype).type  # from an NDArray: keeps its dtype
    assert mx.nd.array(x, dtype="float64").dtype == np.float64


def test_array_float_to_int_truncates():
    assert mx.nd.array([1.9, -1.9, 2.5], dtype="int32").asnumpy().tolist() == [1, -1, 2]


def test_array_from_ndarray_is_a_copy():
    x = mx.nd.array([1, 2])
    y = mx.nd.array(x)
    y[:] = 5
    assert x.asnumpy().tolist() == [1, 2]


def test_array_bad_source():
    with pytest.raises(TypeError):
        mx.nd.array([[1, 2], [3]])  # ragged
    with pytest.raises(TypeError):
        mx.nd.array(["a", "b"])
