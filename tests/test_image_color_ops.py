"""mx.nd.image colour augmentations (random_contrast, random_saturation, random_hue,
random_color_jitter, adjust_lighting, random_lighting) against numpy float64 references."""
import colorsys

import numpy as np
import pytest

import mxcc as mx
from mxcc.base import MXNetError

RNG = np.random.default_rng(3)
COEF = np.array([0.299, 0.587, 0.114])
EIGVAL = np.array([55.46, 4.794, 1.148])
EIGVEC = np.array([[-0.5675, 0.7192, 0.4009], [-0.5808, -0.0045, -0.8140], [-0.5836, -0.6948, 0.4203]])


def rgb(shape, dtype="float32"):
    return (RNG.random(shape) * 255).astype(dtype) if dtype != "uint8" else RNG.integers(0, 256, shape).astype(dtype)


def nd(x):
    return mx.nd.array(x, dtype=x.dtype)


def store(ref, dtype):
    """MXNet's saturate_cast: integer types clamp, then truncate."""
    if dtype == "uint8":
        return np.trunc(np.clip(ref, 0, 255))
    return ref


def contrast_ref(x, f):
    x = x.astype(np.float64)
    gray = (x * COEF).sum(-1) if x.shape[-1] == 3 else x[..., 0]
    mean = gray.mean(axis=(-2, -1), keepdims=True)[..., None]
    return x * f + (1 - f) * mean


@pytest.mark.parametrize("dtype", ["float32", "float64", "uint8"])
@pytest.mark.parametrize("shape", [(5, 6, 3), (2, 5, 6, 3), (4, 4, 1)])
def test_contrast_fixed_factor(dtype, shape):
    x = rgb(shape, dtype)
    got = mx.nd.image.random_contrast(nd(x), 0.6, 0.6).asnumpy()
    ref = store(contrast_ref(x, np.float32(0.6)), dtype)
    assert got.dtype == np.dtype(dtype)
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1.0 if dtype == "uint8" else 1e-3)


def saturation_ref(x, f):
    x = x.astype(np.float64)
    if x.shape[-1] == 1:
        return x
    gray = (x * COEF).sum(-1, keepdims=True)
    return gray * (1 - f) + x * f


@pytest.mark.parametrize("dtype", ["float32", "uint8"])
@pytest.mark.parametrize("shape", [(5, 6, 3), (2, 3, 4, 3), (3, 3, 1)])
def test_saturation_fixed_factor(dtype, shape):
    x = rgb(shape, dtype)
    got = mx.nd.image.random_saturation(nd(x), 1.7, 1.7).asnumpy()
    ref = store(saturation_ref(x, np.float32(1.7)), dtype)
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1.0 if dtype == "uint8" else 1e-3)


def hue_ref(x, f):
    out = np.empty(x.shape, dtype=np.float64)
    flat, res = x.reshape(-1, 3).astype(np.float64) / 255.0, out.reshape(-1, 3)
    for k, (r, g, b) in enumerate(flat):
        h, li, s = colorsys.rgb_to_hls(r, g, b)
        res[k] = colorsys.hls_to_rgb((h + f) % 1.0, li, s)
    return out * 255.0


@pytest.mark.parametrize("f", [0.25, 0.9, 1.0])
def test_hue_fixed_factor(f):
    x = rgb((4, 5, 3))
    got = mx.nd.image.random_hue(nd(x), f, f).asnumpy()
    np.testing.assert_allclose(got, hue_ref(x, f), atol=2e-3 * 255)
    gray = np.repeat(rgb((3, 3, 1)), 3, axis=-1)  # gray pixels have no hue to turn
    np.testing.assert_allclose(mx.nd.image.random_hue(nd(gray), f, f).asnumpy(), gray, atol=1e-3)
    one = rgb((3, 3, 1))
    np.testing.assert_array_equal(mx.nd.image.random_hue(nd(one), f, f).asnumpy(), one)


def test_random_factors_are_drawn_per_call():
    x = rgb((6, 6, 3)) + 1
    seen = set()
    for _ in range(6):
        got = mx.nd.image.random_contrast(nd(x), 0.5, 1.5).asnumpy().astype(np.float64)
        f = (got[0, 0, 0] - got[0, 0, 1]) / (x[0, 0, 0] - x[0, 0, 1])  # x * f + (1 - f) * mean: from 2 pixels
        assert 0.5 - 1e-4 <= f <= 1.5 + 1e-4
        np.testing.assert_allclose(got, contrast_ref(x, f), rtol=1e-4, atol=1e-2)
        seen.add(round(f, 4))
    assert len(seen) > 1
    mx.random.seed(9)
    a = mx.nd.image.random_saturation(nd(x), 0.0, 2.0).asnumpy()
    mx.random.seed(9)
    np.testing.assert_array_equal(mx.nd.image.random_saturation(nd(x), 0.0, 2.0).asnumpy(), a)


def test_color_jitter():
    x = rgb((5, 4, 3)) + 1
    np.testing.assert_array_equal(mx.nd.image.random_color_jitter(nd(x), 0, 0, 0, 0).asnumpy(), x)
    got = mx.nd.image.random_color_jitter(nd(x), 0.4, 0, 0, 0).asnumpy().astype(np.float64)
    f = got[0, 0, 0] / x[0, 0, 0]
    assert 0.6 - 1e-6 <= f <= 1.4 + 1e-6
    np.testing.assert_allclose(got, x * f, rtol=1e-5)
    got = mx.nd.image.random_color_jitter(nd(x), 0, 0, 0.5, 0).asnumpy().astype(np.float64)
    gray = (x.astype(np.float64) * COEF).sum(-1, keepdims=True)
    f = (got[0, 0, 0] - got[0, 0, 1]) / (x[0, 0, 0] - x[0, 0, 1])
    np.testing.assert_allclose(got, gray * (1 - f) + x * f, rtol=1e-4, atol=1e-2)
    mx.random.seed(4)
    a = mx.nd.image.random_color_jitter(nd(x), 0.3, 0.3, 0.3, 0.1).asnumpy()
    b = mx.nd.image.random_color_jitter(nd(x), 0.3, 0.3, 0.3, 0.1).asnumpy()
    mx.random.seed(4)
    np.testing.assert_array_equal(mx.nd.image.random_color_jitter(nd(x), 0.3, 0.3, 0.3, 0.1).asnumpy(), a)
    assert not np.array_equal(a, b)


@pytest.mark.parametrize("dtype", ["float32", "uint8"])
def test_adjust_lighting(dtype):
    x = rgb((2, 4, 5, 3), dtype)
    alpha = np.array([0.1, -0.3, 0.2])
    got = mx.nd.image.adjust_lighting(nd(x), alpha=tuple(alpha)).asnumpy()
    ref = store(x.astype(np.float64) + EIGVEC @ (alpha * EIGVAL), dtype)
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1.0 if dtype == "uint8" else 1e-3)


def test_random_lighting():
    x = rgb((4, 5, 3))
    np.testing.assert_allclose(mx.nd.image.random_lighting(nd(x), 0.0).asnumpy(), x)
    got = mx.nd.image.random_lighting(nd(x), 0.5).asnumpy().astype(np.float64)
    shift = got - x
    np.testing.assert_allclose(shift, np.broadcast_to(shift[0, 0], shift.shape), atol=1e-3)  # one offset per channel
    alpha = np.linalg.solve(EIGVEC * EIGVAL, shift[0, 0])  # the draws, recovered
    assert np.abs(alpha).max() > 0 and np.abs(alpha).max() < 0.5 * 6


def test_color_op_errors():
    with pytest.raises(MXNetError, match=r"random_contrast: the last dimension .* 1 or 3 elements, got shape "
                                         r"\(4, 4, 2\)"):
        mx.nd.image.random_contrast(mx.nd.zeros((4, 4, 2)), 0.5, 1.5)
    with pytest.raises(ValueError, match=r"random_saturation: need 0 <= min_factor <= max_factor"):
        mx.nd.image.random_saturation(mx.nd.zeros((4, 4, 3)), 1.5, 0.5)
    with pytest.raises(MXNetError, match=r"adjust_lighting: .* 3 elements, got shape \(4, 4, 1\)"):
        mx.nd.image.adjust_lighting(mx.nd.zeros((4, 4, 1)), alpha=(0.1, 0.1, 0.1))
    with pytest.raises(ValueError, match=r"adjust_lighting: alpha must hold 3 values"):
        mx.nd.image.adjust_lighting(mx.nd.zeros((4, 4, 3)), alpha=(0.1, 0.1))
    with pytest.raises(ValueError, match=r"random_color_jitter: hue must be a finite number >= 0"):
        mx.nd.image.random_color_jitter(mx.nd.zeros((4, 4, 3)), 0.1, 0.1, 0.1, -1.0)
