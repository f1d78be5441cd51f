"""Pooling's tiled backward (stride == kernel: windows that do not overlap, each input element written
once, 2x2 / stride 2 max vectorized) against a float64 numpy reference of MXNet's routing: max sends
dy to the first position (row-major in the window) equal to the output, avg / sum / lp spread it."""
import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mxcc as mx

nd = mx.nd


def windows(xs, kernel, stride, pad, out):
    """(output index, input slices clipped to the data, size clipped to the padded data) per window."""
    n = len(xs)
    for o in np.ndindex(*out):
        st_ = [o[i] * stride[i] - pad[i] for i in range(n)]
        sl = tuple(slice(max(st_[i], 0), max(min(st_[i] + kernel[i], xs[i]), 0)) for i in range(n))
        padded = math.prod(min(st_[i] + kernel[i], xs[i] + pad[i]) - st_[i] for i in range(n))
        yield o, sl, padded


def out_size(xs, kernel, stride, pad, conv):
    if conv == "full":
        return tuple(math.ceil((xs[i] + 2 * pad[i] - kernel[i]) / stride[i]) + 1 for i in range(len(xs)))
    return tuple((xs[i] + 2 * pad[i] - kernel[i]) // stride[i] + 1 for i in range(len(xs)))


def grad_ref(x, y, dy, kernel, stride=None, pad=None, pool_type="max", pooling_convention="valid",
             p_value=None, count_include_pad=True):
    """avg / sum / lp backward on the forward's own output y (float64; overlapping windows add up)."""
    n = x.ndim - 2
    stride, pad = stride or (1,) * n, pad or (0,) * n
    out = out_size(x.shape[2:], kernel, stride, pad, pooling_convention)
    x64, y64, dy64 = (a.astype(np.float64) for a in (x, y, dy))
    dx = np.zeros(x.shape)
    for b, c in np.ndindex(*x.shape[:2]):
        for o, sl, padded in windows(x.shape[2:], kernel, stride, pad, out):
            win, g, yo = x64[(b, c) + sl], dy64[(b, c) + o], y64[(b, c) + o]
            d = dx[(b, c) + sl]  # a view
            if pool_type == "sum":
                d += g
            elif pool_type == "avg":
                cnt = padded if count_include_pad else win.size
                d += g / cnt if cnt else 0
            else:  # lp
                d += g if p_value == 1 else (g * win / yo if p_value == 2 else g * win * win / (yo * yo))
    return dx


def backward(x, dy_seed, dtype="float32", **attrs):
    xa = nd.array(x, dtype=dtype)
    y = nd.Pooling(xa, **attrs)
    dy = np.random.default_rng(dy_seed).standard_normal(y.shape).astype(dtype)
    dx = nd._internal._backward_Pooling(nd.array(dy, dtype=dtype), xa, y, **attrs)
    return dx.asnumpy(), y.asnumpy(), dy


def max_ref(x, y, dy, **attrs):
    """Max routing, done per window with an explicit first-match search (independent of grad_ref's views)."""
    n = x.ndim - 2
    kernel, stride, pad = attrs["kernel"], attrs.get("stride") or (1,) * n, attrs.get("pad") or (0,) * n
    out = out_size(x.shape[2:], kernel, stride, pad, attrs.get("pooling_convention", "valid"))
    dx = np.zeros(x.shape)
    for b, c in np.ndindex(*x.shape[:2]):
        for o, sl, _ in windows(x.shape[2:], kernel, stride, pad, out):
            for idx in itertools.product(*(range(s.start, s.stop) for s in sl)):
                if x[(b, c) + idx] == y[(b, c) + o]:
                    dx[(b, c) + idx] += dy[(b, c) + o].astype(np.float64)
                    break
    return dx


def test_every_tie_pattern_of_a_2x2_window():
    """All 15 non-empty sets of positions holding the maximum, one per window, at several row lengths
    (vector body and scalar tail); the gradient goes to the first of them, row-major."""
    pats = [m for m in itertools.product([0, 1], repeat=4) if any(m)]
    for ow in (15, 16, 17, 40):
        x = np.full((2, 1, 2, 2 * ow), -1.0, np.float32)
        for j in range(ow):
            for b in range(2):
                m = pats[(j + 7 * b) % len(pats)]
                x[b, 0, 0, 2 * j], x[b, 0, 0, 2 * j + 1], x[b, 0, 1, 2 * j], x[b, 0, 1, 2 * j + 1] = \
                    [3.0 if v else -1.0 - 0.5 * k for k, v in enumerate(m)]
        attrs = dict(kernel=(2, 2), stride=(2, 2))
        dx, y, dy = backward(x, ow, **attrs)
        ref = np.zeros(x.shape)
        for b in range(2):
            for j in range(ow):
                m = pats[(j + 7 * b) % len(pats)]
                k = m.index(1)
                ref[b, 0, k // 2, 2 * j + k % 2] = dy[b, 0, 0, j]
        np.testing.assert_array_equal(dx, ref.astype(np.float32))


@pytest.mark.parametrize("kernel", [(2, 2), (3, 3), (2, 3)])
def test_nan_follows_the_forward(kernel):
    """The forward's max skips NaN (an all-NaN window gives the lowest value): no position equals the
    output there, so the window gets no gradient; elsewhere the first finite maximum does."""
    rng = np.random.default_rng(6)
    x = rng.standard_normal((2, 3, 12, 12)).astype(np.float32)
    x[rng.random(x.shape) < 0.3] = np.nan
    x[0, 0, :kernel[0], :kernel[1]] = np.nan  # an all-NaN window
    attrs = dict(kernel=kernel, stride=kernel)
    dx, y, dy = backward(x, 7, **attrs)
    assert y[0, 0, 0, 0] == np.finfo(np.float32).min
    assert not np.isnan(dx).any()
    np.testing.assert_array_equal(dx, max_ref(x, y, dy, **attrs).astype(np.float32))


@pytest.mark.parametrize("shape,attrs", [
    ((2, 3, 7, 9), dict(kernel=(2, 2), stride=(2, 2), pooling_convention="full")),  # partial last windows
    ((2, 3, 7, 9), dict(kernel=(2, 2), stride=(2, 2))),  # an uncovered last row and column
    ((2, 3, 7, 8), dict(kernel=(3, 3), stride=(3, 3), pad=(1, 1), pooling_convention="full")),
    ((2, 3, 5, 5), dict(kernel=(2, 2), stride=(2, 2), pad=(1, 1))),
    ((1, 2, 7, 70), dict(kernel=(2, 2), stride=(2, 2), pooling_convention="full")),
    ((1, 2, 5, 6, 7), dict(kernel=(2, 2, 2), stride=(2, 2, 2), pooling_convention="full")),
    ((2, 3, 13), dict(kernel=(3,), stride=(3,), pooling_convention="full")),
    ((2, 3, 9, 7), dict(kernel=(1, 1), stride=(1, 1))),
    # wide rows (64+ outputs): the tiled path's general row loop, any window
    ((1, 2, 5, 200), dict(kernel=(3, 3), stride=(3, 3), pad=(1, 1), pooling_convention="full")),
    ((1, 2, 7, 200), dict(kernel=(2, 3), stride=(2, 3), pad=(1, 2))),
    ((1, 2, 4, 5, 150), dict(kernel=(2, 2, 2), stride=(2, 2, 2), pooling_convention="full")),
    ((2, 3, 200), dict(kernel=(3,), stride=(3,), pooling_convention="full")),
    ((1, 2, 3, 70), dict(kernel=(1, 1), stride=(1, 1))),
    ((2, 2, 3, 4, 6), dict(kernel=(1, 2, 2), stride=(1, 2, 2), pad=(1, 0, 0))),  # planes all padding
    ((2, 2, 3, 4, 6), dict(kernel=(1, 2, 2), stride=(1, 2, 2))),
    ((1, 2, 7, 135), dict(kernel=(2, 2), stride=(2, 2), pad=(1, 1), pooling_convention="full")),
])
@pytest.mark.parametrize("kind", ["max", "avg", "sum", "lp"])
def test_tiled_geometries(shape, attrs, kind):
    rng = np.random.default_rng(8)
    x = rng.uniform(0.5, 1.5, shape).round(1).astype(np.float32)  # ties inside windows
    attrs = dict(attrs, pool_type=kind, **({"p_value": 2} if kind == "lp" else {}))
    dx, y, dy = backward(x, 9, **attrs)
    ref = max_ref(x, y, dy, **attrs) if kind == "max" else grad_ref(x, y, dy, **attrs)
    np.testing.assert_allclose(dx, ref, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dtype", ["float16", "float64", "int8", "uint8", "int32", "int64"])
@pytest.mark.parametrize("shape", [(2, 3, 8, 24), (2, 3, 9, 11)])
def test_max_dtypes(dtype, shape):
    rng = np.random.default_rng(10)
    x = rng.integers(0, 6, shape).astype(dtype)  # many ties
    for attrs in (dict(kernel=(2, 2), stride=(2, 2)), dict(kernel=(2, 2), stride=(2, 2), pooling_convention="full")):
        dx, y, dy = backward(x, 11, dtype=dtype, **attrs)
        ref = max_ref(x, y, dy, **attrs).astype(dtype)
        np.testing.assert_array_equal(dx, ref)


@pytest.mark.parametrize("dtype", ["float16", "float64"])
@pytest.mark.parametrize("kind", ["avg", "sum"])
def test_avg_sum_dtypes(dtype, kind):
    x = np.random.default_rng(12).standard_normal((2, 3, 9, 11)).astype(dtype)
    attrs = dict(kernel=(2, 2), stride=(2, 2), pool_type=kind, pooling_convention="full")
    dx, y, dy = backward(x, 13, dtype=dtype, **attrs)
    tol = 1e-3 if dtype == "float16" else 1e-12
    np.testing.assert_allclose(dx, grad_ref(x, y, dy, **attrs), rtol=tol, atol=tol)


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 7), st.sampled_from([*range(1, 12), 130, 200]), st.integers(1, 3), st.integers(1, 3),
       st.integers(0, 1), st.sampled_from(["max", "avg", "sum"]), st.sampled_from(["valid", "full"]), st.booleans())
def test_random_tiled(h, w, kh, kw, p, kind, conv, cip):
    if kh > h + 2 * p or kw > w + 2 * p or p >= min(kh, kw):
        return
    x = np.random.default_rng(h * 16 + w).integers(0, 4, (2, 2, h, w)).astype(np.float64)
    attrs = dict(kernel=(kh, kw), stride=(kh, kw), pad=(p, p), pool_type=kind, pooling_convention=conv,
                 count_include_pad=cip)
    dx, y, dy = backward(x, 14, dtype="float64", **attrs)
    ref = max_ref(x, y, dy, **attrs) if kind == "max" else grad_ref(x, y, dy, **attrs)
    np.testing.assert_allclose(dx, ref, rtol=1e-12, atol=1e-12)
