"""Pooling against a float64 numpy reference (every type, convention and padding rule, 1-D to 3-D,
both schedules), its gradient against finite differences, MXNet's tie rule and errors."""
import math

import numpy as np
import pytest
from conftest import assert_close
from gradcheck import check_grad
from hypothesis import given, settings
from hypothesis import strategies as st

import mxcc as mx
from mxcc.ir.errors import MXNetError, ShapeError

nd = mx.nd


def pool_ref(x, kernel=(), stride=(), pad=(), pool_type="max", pooling_convention="valid", p_value=None,
             count_include_pad=True, global_pool=False, lowest=None):
    """MXNet's CPU pooling: windows clipped to the input; avg divides by the window clipped to the padded
    input (count_include_pad) or by the elements it covers; an empty max window gives the lowest value."""
    x = x.astype(np.float64)
    n = x.ndim - 2
    xs = x.shape[2:]
    if global_pool:
        kernel, stride, pad, out = xs, (1,) * n, (0,) * n, (1,) * n
    else:
        stride, pad = stride or (1,) * n, pad or (0,) * n
        if pooling_convention == "valid":
            out = tuple((xs[i] + 2 * pad[i] - kernel[i]) // stride[i] + 1 for i in range(n))
        elif pooling_convention == "full":
            out = tuple(math.ceil((xs[i] + 2 * pad[i] - kernel[i]) / stride[i]) + 1 for i in range(n))
        else:
            out = tuple(math.ceil((xs[i] + 2 * pad[i]) / stride[i]) for i in range(n))
    y = np.zeros(x.shape[:2] + out)
    for o in np.ndindex(*out):
        st_ = [o[i] * stride[i] - pad[i] for i in range(n)]
        endp = [min(st_[i] + kernel[i], xs[i] + pad[i]) for i in range(n)]
        win = x[(slice(None), slice(None)) + tuple(slice(max(st_[i], 0), max(min(st_[i] + kernel[i], xs[i]), 0))
                                                   for i in range(n))].reshape(x.shape[0], x.shape[1], -1)
        at = (slice(None), slice(None)) + o
        if pool_type == "max":
            y[at] = win.max(axis=2) if win.shape[2] else lowest
        elif pool_type == "sum":
            y[at] = win.sum(axis=2)
        elif pool_type == "avg":
            cnt = np.prod([endp[i] - st_[i] for i in range(n)]) if count_include_pad else win.shape[2]
            y[at] = win.sum(axis=2) / cnt if cnt else 0
        else:
            s = (win ** p_value).sum(axis=2)
            y[at] = s if p_value == 1 else (np.sqrt(s) if p_value == 2 else np.cbrt(s))
    return y


CASES = [
    ((2, 3, 8, 8), dict(kernel=(2, 2), stride=(2, 2))),
    ((2, 3, 9, 7), dict(kernel=(3, 3), stride=(2, 2), pad=(1, 1), pool_type="avg")),
    ((2, 3, 9, 7), dict(kernel=(3, 3), stride=(2, 2), pad=(1, 1), pool_type="avg", count_include_pad=False)),
    ((2, 3, 9, 7), dict(kernel=(3, 2), stride=(2, 3), pad=(1, 1), pooling_convention="full")),
    ((2, 3, 9, 7), dict(kernel=(3, 2), stride=(2, 3), pad=(1, 1), pool_type="sum", pooling_convention="full")),
    ((2, 3, 5, 5), dict(kernel=(3, 3), stride=(2, 2), pad=(1, 1), pool_type="avg", pooling_convention="full")),
    ((2, 3, 9, 7), dict(kernel=(3, 2), stride=(2, 3), pool_type="lp", p_value=1)),
    ((2, 3, 9, 7), dict(kernel=(3, 2), stride=(2, 3), pool_type="lp", p_value=2)),
    ((2, 3, 9, 7), dict(kernel=(3, 2), stride=(2, 3), pool_type="lp", p_value=3)),
    ((2, 3, 9, 7), dict(kernel=(1, 1), stride=(3, 3), pad=(1, 1))),  # windows entirely in the padding
    ((2, 3, 11), dict(kernel=(3,), stride=(2,), pooling_convention="same")),
    ((2, 3, 11), dict(kernel=(4,), stride=(3,), pooling_convention="same", pool_type="avg")),
    ((2, 3, 600), dict(kernel=(4,), stride=(1,))),  # wide rows: the row schedule
    ((1, 2, 5, 140), dict(kernel=(3, 3), stride=(2, 1), pad=(1, 1), pool_type="avg", count_include_pad=False)),
    ((1, 2, 5, 140), dict(kernel=(3, 3), stride=(2, 2), pad=(1, 1), pooling_convention="full")),
    ((1, 2, 5, 140), dict(kernel=(2, 3), stride=(1, 1), pad=(1, 1), pool_type="lp", p_value=2)),
    ((2, 3, 4, 5, 6), dict(kernel=(2, 3, 2), stride=(1, 2, 3), pad=(1, 1, 0), pool_type="avg")),
    ((2, 3, 4, 5, 6), dict(kernel=(2, 2, 2), stride=(2, 2, 2))),
    ((2, 3, 9, 7), dict(global_pool=True, pool_type="avg")),
    ((2, 3, 9, 7), dict(kernel=(2, 2), stride=(5, 5), pad=(1, 1), global_pool=True, pool_type="max")),
    ((100, 20, 24, 24), dict(kernel=(2, 2), stride=(2, 2))),  # LeNet's pools
    ((100, 50, 8, 8), dict(kernel=(2, 2), stride=(2, 2))),
]


@pytest.mark.parametrize("shape,attrs", CASES, ids=[str(i) for i in range(len(CASES))])
def test_pooling_forward(shape, attrs):
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    y = nd.Pooling(nd.array(x), **attrs)
    assert_close(y, pool_ref(x, lowest=np.finfo(np.float32).min, **attrs), scale=4)


@settings(max_examples=20, deadline=None)
@given(st.integers(1, 9), st.integers(1, 9), st.integers(1, 3), st.integers(1, 3), st.integers(1, 3),
       st.integers(0, 1), st.sampled_from(["max", "avg", "sum"]), st.sampled_from(["valid", "full"]),
       st.booleans())
def test_pooling_random_geometry(h, w, kh, kw, s, p, kind, conv, cip):
    if kh > h + 2 * p or kw > w + 2 * p:
        return
    x = np.random.default_rng(h * 10 + w).standard_normal((2, 2, h, w))
    attrs = dict(kernel=(kh, kw), stride=(s, s), pad=(p, p), pool_type=kind, pooling_convention=conv,
                 count_include_pad=cip)
    y = nd.Pooling(nd.array(x, dtype="float64"), **attrs)
    assert_close(y, pool_ref(x, lowest=np.finfo(np.float64).min, **attrs))


@pytest.mark.parametrize("dtype,kind", [("float64", "avg"), ("float16", "max"), ("float16", "avg"),
                                        ("int32", "max"), ("uint8", "sum"), ("int8", "max")])
def test_pooling_dtypes(dtype, kind):
    rng = np.random.default_rng(1)
    x = rng.integers(0 if dtype == "uint8" else -50, 50, (2, 3, 6, 7)).astype(dtype)
    attrs = dict(kernel=(3, 2), stride=(2, 2), pad=(1, 0), pool_type=kind)
    y = nd.Pooling(nd.array(x, dtype=dtype), **attrs)
    ref = pool_ref(x, **attrs)
    if kind == "sum" and dtype == "uint8":
        ref = ref.astype(np.int64).astype(np.uint8)  # wraps like the storage type
    assert_close(y, ref, dtype)


GRAD = [
    ((2, 2, 6, 6), dict(kernel=(2, 2), stride=(2, 2))),
    ((1, 2, 7, 5), dict(kernel=(3, 3), stride=(2, 2), pad=(1, 1), pool_type="avg")),
    ((1, 2, 7, 5), dict(kernel=(3, 3), stride=(1, 2), pad=(1, 1), pool_type="avg", count_include_pad=False)),
    ((1, 2, 7, 5), dict(kernel=(3, 2), stride=(2, 1), pad=(1, 1), pooling_convention="full")),
    ((1, 2, 7, 5), dict(kernel=(3, 2), stride=(2, 3), pad=(1, 1), pool_type="sum", pooling_convention="full")),
    ((1, 2, 7, 5), dict(kernel=(3, 2), stride=(2, 3), pool_type="lp", p_value=1)),
    ((1, 2, 7, 5), dict(kernel=(3, 2), stride=(2, 3), pool_type="lp", p_value=2)),
    ((1, 2, 11), dict(kernel=(3,), stride=(2,), pooling_convention="same")),
    ((1, 2, 3, 4, 5), dict(kernel=(2, 3, 2), stride=(1, 2, 3), pad=(1, 1, 0), pool_type="avg")),
    ((1, 2, 3, 4, 5), dict(kernel=(2, 3, 2), stride=(1, 1, 1), pad=(1, 1, 0))),
    ((1, 1, 3, 70), dict(kernel=(3, 3), stride=(2, 1), pad=(1, 1), pool_type="avg", count_include_pad=False)),
    ((1, 1, 3, 70), dict(kernel=(3, 3), stride=(1, 1), pad=(1, 1))),
    ((1, 1, 3, 70), dict(kernel=(2, 3), stride=(1, 1), pad=(1, 1), pool_type="lp", p_value=2)),
]


@pytest.mark.parametrize("shape,attrs", GRAD, ids=[str(i) for i in range(len(GRAD))])
def test_pooling_gradient(shape, attrs):
    rng = np.random.default_rng(2)
    # distinct values a finite step cannot reorder: the max of each window is unambiguous
    x = rng.permutation(np.prod(shape)).reshape(shape) * 0.1 + 0.01 * rng.standard_normal(shape)
    check_grad("Pooling", [x], attrs)


def test_lp3_gradient():
    x = np.random.default_rng(3).uniform(0.5, 1.5, (1, 2, 7, 5))
    check_grad("Pooling", [x], dict(kernel=(3, 2), stride=(2, 3), pool_type="lp", p_value=3))


@pytest.mark.parametrize("width", [6, 130])  # both schedules
def test_max_gradient_goes_to_the_first_maximum(width):
    """Ties: MXNet sends the gradient to the first element (row-major) of the window equal to the output."""
    x = np.zeros((1, 1, 4, width), np.float32)
    x[0, 0, 1, 1::3] = 5.0  # a second maximum, later in the windows that hold one
    x[0, 0, 1, 0::3] = 5.0
    attrs = dict(kernel=(3, 3), stride=(1, 1), pad=(1, 1))
    y = nd.Pooling(nd.array(x), **attrs)
    dy = np.random.default_rng(4).standard_normal(y.shape).astype(np.float32)
    dx = nd._internal._backward_Pooling(nd.array(dy), nd.array(x), y, **attrs).asnumpy()
    ref = np.zeros((4, width))
    yv = y.asnumpy()[0, 0]
    for oh in range(yv.shape[0]):
        for ow in range(yv.shape[1]):
            done = False
            for ih in range(max(oh - 1, 0), min(oh + 2, 4)):
                for iw in range(max(ow - 1, 0), min(ow + 2, width)):
                    if not done and x[0, 0, ih, iw] == yv[oh, ow]:
                        ref[ih, iw] += dy[0, 0, oh, ow]
                        done = True
    np.testing.assert_allclose(dx[0, 0], ref, rtol=1e-6, atol=1e-6)


def test_through_autograd_style_graph():
    """Max-pool backward at LeNet's size against the reference routing."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((4, 5, 24, 24)).astype(np.float32)
    y = nd.Pooling(nd.array(x), kernel=(2, 2), stride=(2, 2))
    dy = rng.standard_normal(y.shape).astype(np.float32)
    dx = nd._internal._backward_Pooling(nd.array(dy), nd.array(x), y, kernel=(2, 2), stride=(2, 2)).asnumpy()
    win = x.reshape(4, 5, 12, 2, 12, 2).transpose(0, 1, 2, 4, 3, 5).reshape(4, 5, 12, 12, 4)
    first = win.argmax(axis=-1)
    ref = np.zeros((4, 5, 12, 12, 4))
    np.put_along_axis(ref, first[..., None], dy[..., None], axis=-1)
    ref = ref.reshape(4, 5, 12, 12, 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(4, 5, 24, 24)
    np.testing.assert_array_equal(dx, ref.astype(np.float32))


@pytest.mark.parametrize("attrs,shape,exc,msg", [
    (dict(kernel=(2, 2), pool_type="lp"), (1, 1, 4, 4), ShapeError, "p_value"),
    (dict(kernel=(3, 3), pooling_convention="same"), (1, 1, 4, 4), ShapeError, "1-D"),
    (dict(kernel=(3,), pad=(1,), pooling_convention="same"), (1, 1, 4), ShapeError, "pad"),
    (dict(kernel=(6, 6)), (1, 1, 4, 4), ShapeError, "exceeds"),
    (dict(kernel=(2,)), (1, 1, 4, 4), ShapeError, "does not match"),
    (dict(), (1, 1, 4, 4), ShapeError, "kernel is required"),
    (dict(kernel=(2, 2), stride=(0, 1)), (1, 1, 4, 4), ShapeError, "stride"),
    (dict(kernel=(2, 2), layout="NHWC"), (1, 4, 4, 1), MXNetError, "NHWC"),
    (dict(kernel=(2, 2)), (4, 4), ShapeError, "3-D"),
])
def test_errors(attrs, shape, exc, msg):
    with pytest.raises(exc, match=msg):
        nd.Pooling(nd.ones(shape), **attrs)
