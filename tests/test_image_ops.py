"""mx.nd.image ops (to_tensor, normalize, resize, crop, flips, random flips, random_brightness)
against numpy float64 references, with MXNet 1.x's layouts and OpenCV's INTER_LINEAR convention."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mxcc as mx
from mxcc.base import MXNetError

RNG = np.random.default_rng(7)
DTYPES = ("float32", "float64", "float16", "uint8", "int8", "int32", "int64")


def image(shape, dtype):
    if np.dtype(dtype).kind in "iu":
        lo, hi = (0, 256) if dtype == "uint8" else (-100, 101)
        return RNG.integers(lo, hi, shape).astype(dtype)
    return (RNG.random(shape) * 255).astype(dtype)


def nd(x):
    return mx.nd.array(x, dtype=x.dtype)


# ---- to_tensor ---------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(5, 7, 3), (2, 5, 7, 3), (4, 6, 1)])
def test_to_tensor(dtype, shape):
    x = image(shape, dtype)
    got = mx.nd.image.to_tensor(nd(x))
    axes = (2, 0, 1) if len(shape) == 3 else (0, 3, 1, 2)
    ref = x.astype(np.float64).transpose(axes) / 255.0
    assert got.dtype == np.float32 and got.shape == ref.shape
    np.testing.assert_allclose(got.asnumpy(), ref, rtol=1e-6, atol=1e-7)


@settings(max_examples=15, deadline=None)
@given(st.integers(1, 9), st.integers(1, 9), st.integers(1, 4), st.integers(0, 2))
def test_to_tensor_shapes(h, w, c, n):
    shape = (h, w, c) if n == 0 else (n, h, w, c)
    x = image(shape, "uint8")
    axes = (2, 0, 1) if n == 0 else (0, 3, 1, 2)
    np.testing.assert_allclose(mx.nd.image.to_tensor(nd(x)).asnumpy(), x.transpose(axes) / 255.0, rtol=1e-6)


def test_to_tensor_rejects_2d():
    with pytest.raises(MXNetError, match=r"to_tensor.*\(height, width, channels\).*\(4, 5\)"):
        mx.nd.image.to_tensor(mx.nd.zeros((4, 5), dtype="uint8"))


# ---- normalize ---------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", [(3, 4, 5), (2, 3, 4, 5)])
def test_normalize_per_channel(dtype, shape):
    x = RNG.random(shape).astype(dtype)
    mean, std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
    got = mx.nd.image.normalize(nd(x), mean=mean, std=std)
    cshape = (3, 1, 1) if len(shape) == 3 else (1, 3, 1, 1)
    ref = (x.astype(np.float64) - np.array(mean).reshape(cshape)) / np.array(std).reshape(cshape)
    assert got.dtype == np.dtype(dtype)
    np.testing.assert_allclose(got.asnumpy(), ref, rtol=2e-6 if dtype == "float32" else 1e-12, atol=1e-6)


def test_normalize_scalar_and_default():
    x = RNG.random((1, 4, 4)).astype(np.float32)
    np.testing.assert_allclose(mx.nd.image.normalize(nd(x), mean=0.5, std=2.0).asnumpy(), (x - 0.5) / 2.0,
                               rtol=1e-6)
    np.testing.assert_allclose(mx.nd.image.normalize(nd(x)).asnumpy(), x)  # defaults (0,0,0,0) / (1,1,1,1)
    y = RNG.random((3, 2, 2)).astype(np.float32)
    np.testing.assert_allclose(mx.nd.image.normalize(nd(y)).asnumpy(), y)


def test_normalize_errors():
    x = mx.nd.zeros((3, 4, 4))
    with pytest.raises(MXNetError, match=r"normalize: invalid mean .* either 1 or 3 elements"):
        mx.nd.image.normalize(x, mean=(0.1, 0.2), std=1.0)
    with pytest.raises(MXNetError, match=r"normalize: input tensor must have shape"):
        mx.nd.image.normalize(mx.nd.zeros((4, 4)), mean=0.1, std=1.0)


def test_normalize_gradient():
    x = mx.nd.array(RNG.random((3, 2, 2)))
    x.attach_grad()
    with mx.autograd.record():
        y = mx.nd.image.normalize(x, mean=(1.0, 2.0, 3.0), std=(2.0, 4.0, 0.5))
    y.backward()
    ref = np.broadcast_to(1.0 / np.array([2.0, 4.0, 0.5]).reshape(3, 1, 1), (3, 2, 2))
    np.testing.assert_allclose(x.grad.asnumpy(), ref, rtol=1e-6)


# ---- resize ------------------------------------------------------------------------------------
def _cv_coords(n_in, n_out):
    """OpenCV INTER_LINEAR source coordinates: (d + 0.5) * scale - 0.5 (fraction in float32)."""
    scale = 1.0 / (n_out / n_in)
    f = ((np.arange(n_out) + 0.5) * scale - 0.5).astype(np.float32)
    s = np.floor(f).astype(np.int64)
    return s, (f - s.astype(np.float32)).astype(np.float32)


def _x_coords(w, ow):
    sx, fx = _cv_coords(w, ow)
    edge = (sx < 0) | (sx >= w - 1)
    fx = np.where(edge, np.float32(0), fx)
    sx = np.clip(sx, 0, w - 1)
    return sx, np.minimum(sx + 1, w - 1), fx


def _y_coords(h, oh):
    sy, fy = _cv_coords(h, oh)
    return np.clip(sy, 0, h - 1), np.clip(sy + 1, 0, h - 1), fy


def resize_ref(x, oh, ow):
    """Bilinear with OpenCV's half-pixel centres, in float64; x is (..., H, W, C)."""
    h, w = x.shape[-3:-1]
    x0, x1, fx = _x_coords(w, ow)
    y0, y1, fy = _y_coords(h, oh)
    a = x.astype(np.float64)
    fx = fx.astype(np.float64)[:, None]
    fy = fy.astype(np.float64)[:, None, None]
    row0 = a[..., y0, :, :][..., x0, :] * (1 - fx) + a[..., y0, :, :][..., x1, :] * fx
    row1 = a[..., y1, :, :][..., x0, :] * (1 - fx) + a[..., y1, :, :][..., x1, :] * fx
    return row0 * (1 - fy) + row1 * fy


def resize_ref_u8(x, oh, ow):
    """OpenCV's fixed-point uint8 bilinear (11-bit weights; its vectorized rows' rounding)."""
    h, w = x.shape[-3:-1]
    x0, x1, fx = _x_coords(w, ow)
    y0, y1, fy = _y_coords(h, oh)
    a0 = np.rint((np.float32(1) - fx) * np.float32(2048)).astype(np.int64)[:, None]
    a1 = np.rint(fx * np.float32(2048)).astype(np.int64)[:, None]
    b0 = np.rint((np.float32(1) - fy) * np.float32(2048)).astype(np.int64)[:, None, None]
    b1 = np.rint(fy * np.float32(2048)).astype(np.int64)[:, None, None]
    a = x.astype(np.int64)
    s0 = a[..., y0, :, :][..., x0, :] * a0 + a[..., y0, :, :][..., x1, :] * a1
    s1 = a[..., y1, :, :][..., x0, :] * a0 + a[..., y1, :, :][..., x1, :] * a1
    return np.clip((((b0 * (s0 >> 4)) >> 16) + ((b1 * (s1 >> 4)) >> 16) + 2) >> 2, 0, 255)


def test_resize_opencv_anchors():
    # upscaling [0, 1] by 2 with half-pixel centres: [0, 0.25, 0.75, 1] (not align-corners' [0, 1/3, 2/3, 1])
    x = np.array([0.0, 1.0], dtype=np.float32).reshape(1, 2, 1)
    np.testing.assert_allclose(mx.nd.image.resize(nd(x), size=(4, 1)).asnumpy().ravel(), [0, 0.25, 0.75, 1])
    # halving averages 2x2 blocks
    y = RNG.random((4, 6, 2)).astype(np.float64)
    got = mx.nd.image.resize(nd(y), size=(3, 2)).asnumpy()
    np.testing.assert_allclose(got, y.reshape(2, 2, 3, 2, 2).mean(axis=(1, 3)), rtol=1e-6)


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
@pytest.mark.parametrize("shape,size", [((5, 7, 3), (11, 4)), ((2, 8, 8, 1), (3,)), ((6, 4, 2), (4, 6)),
                                        ((1, 1, 3), (2, 3)), ((9, 13, 3), (5, 20))])
def test_resize_bilinear_float(dtype, shape, size):
    x = image(shape, dtype)
    got = mx.nd.image.resize(nd(x), size=size)
    ow, oh = (size[0], size[0]) if len(size) == 1 else size
    ref = resize_ref(x, oh, ow)
    assert got.shape == ref.shape and got.dtype == np.dtype(dtype)
    tol = {"float32": 1e-5, "float64": 1e-6, "float16": 2e-3}[dtype]
    np.testing.assert_allclose(got.asnumpy().astype(np.float64), ref, rtol=tol, atol=tol * 255)


@pytest.mark.parametrize("shape,size", [((5, 7, 3), (11, 4)), ((2, 32, 24, 3), (17, 9)), ((3, 3, 1), (8, 8))])
def test_resize_bilinear_uint8_matches_opencv_fixed_point(shape, size):
    x = image(shape, "uint8")
    got = mx.nd.image.resize(nd(x), size=size).asnumpy()
    assert got.dtype == np.uint8
    np.testing.assert_array_equal(got, resize_ref_u8(x, size[1], size[0]))
    assert np.abs(got.astype(np.float64) - resize_ref(x, size[1], size[0])).max() <= 1.0


@pytest.mark.parametrize("dtype", ["int8", "int32", "int64"])
def test_resize_bilinear_int_rounds(dtype):
    x = image((6, 5, 2), dtype)
    got = mx.nd.image.resize(nd(x), size=(9, 4)).asnumpy()
    ref = resize_ref(x, 4, 9)
    assert got.dtype == np.dtype(dtype)
    assert np.abs(got - ref).max() <= 0.5 + 1e-4  # round to nearest (float32 weights: ties may go either way)


@settings(max_examples=20, deadline=None)
@given(st.integers(1, 12), st.integers(1, 12), st.integers(1, 12), st.integers(1, 12), st.integers(1, 3))
def test_resize_shapes(h, w, oh, ow, c):
    x = image((h, w, c), "float32")
    np.testing.assert_allclose(mx.nd.image.resize(nd(x), size=(ow, oh)).asnumpy(), resize_ref(x, oh, ow),
                               rtol=1e-5, atol=1e-3)


def test_resize_nearest():
    x = image((5, 7, 2), "float32")
    got = mx.nd.image.resize(nd(x), size=(3, 9), interp=0).asnumpy()
    sy = np.minimum(np.floor(np.arange(9) * (1.0 / (9 / 5))).astype(int), 4)
    sx = np.minimum(np.floor(np.arange(3) * (1.0 / (3 / 7))).astype(int), 6)
    np.testing.assert_array_equal(got, x[sy][:, sx])


def test_resize_keep_ratio_shapes():
    assert mx.nd.image.resize(mx.nd.zeros((10, 20, 3)), size=5, keep_ratio=True).shape == (5, 10, 3)
    assert mx.nd.image.resize(mx.nd.zeros((20, 10, 3)), size=5, keep_ratio=True).shape == (10, 5, 3)
    assert mx.nd.image.resize(mx.nd.zeros((7, 3, 3)), size=4, keep_ratio=True).shape == (9, 4, 3)  # 7*4//3
    assert mx.nd.image.resize(mx.nd.zeros((2, 10, 20, 3)), size=5).shape == (2, 5, 5, 3)
    assert mx.nd.image.resize(mx.nd.zeros((10, 20, 3)), size=(8, 6)).shape == (6, 8, 3)


def test_resize_errors():
    with pytest.raises(ValueError, match=r"resize: interp=2 is not supported"):
        mx.nd.image.resize(mx.nd.zeros((4, 4, 3)), size=2, interp=2)
    with pytest.raises(ValueError, match=r"resize: size must be greater than 0"):
        mx.nd.image.resize(mx.nd.zeros((4, 4, 3)), size=(0, 2))
    with pytest.raises(MXNetError, match=r"resize: input image must have shape"):
        mx.nd.image.resize(mx.nd.zeros((4, 4)), size=2)


# ---- crop and flips ----------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(6, 8, 3), (2, 6, 8, 3)])
def test_crop(shape):
    x = image(shape, "uint8")
    got = mx.nd.image.crop(nd(x), x=2, y=1, width=5, height=4).asnumpy()
    np.testing.assert_array_equal(got, x[..., 1:5, 2:7, :])


def test_crop_out_of_bounds():
    with pytest.raises(MXNetError, match=r"crop: the region x=5, y=0, width=4, height=2 must lie inside the image "
                                         r"of width 8 and height 6"):
        mx.nd.image.crop(mx.nd.zeros((6, 8, 3)), x=5, y=0, width=4, height=2)


@pytest.mark.parametrize("dtype", ["uint8", "float32", "int64"])
@pytest.mark.parametrize("shape", [(4, 5, 3), (2, 4, 5, 1)])
def test_flips(dtype, shape):
    x = image(shape, dtype)
    np.testing.assert_array_equal(mx.nd.image.flip_left_right(nd(x)).asnumpy(), np.flip(x, axis=-2))
    np.testing.assert_array_equal(mx.nd.image.flip_top_bottom(nd(x)).asnumpy(), np.flip(x, axis=-3))


def test_flip_gradient():
    x = mx.nd.array(RNG.random((3, 4, 2)))
    x.attach_grad()
    w = RNG.random((3, 4, 2))
    with mx.autograd.record():
        y = (mx.nd.image.flip_left_right(x) * mx.nd.array(w)).sum()
    y.backward()
    np.testing.assert_allclose(x.grad.asnumpy(), np.flip(w, axis=1), rtol=1e-6)


@pytest.mark.parametrize("which,axis", [("left_right", -2), ("top_bottom", -3)])
def test_random_flips(which, axis):
    fn = getattr(mx.nd.image, f"random_flip_{which}")
    x = image((2, 4, 5, 3), "float32")
    np.testing.assert_array_equal(fn(nd(x), p=0.0).asnumpy(), x)
    np.testing.assert_array_equal(fn(nd(x), p=1.0).asnumpy(), np.flip(x, axis=axis))
    seen = set()
    for _ in range(40):
        got = fn(nd(x)).asnumpy()
        if np.array_equal(got, x):
            seen.add("same")
        else:
            np.testing.assert_array_equal(got, np.flip(x, axis=axis))  # the whole batch flips together
            seen.add("flipped")
    assert seen == {"same", "flipped"}
    mx.random.seed(3)
    first = [fn(nd(x)).asnumpy() for _ in range(6)]
    mx.random.seed(3)
    for a in first:
        np.testing.assert_array_equal(fn(nd(x)).asnumpy(), a)


def test_random_flip_bad_p():
    with pytest.raises(ValueError, match=r"random_flip_left_right: p must be a probability"):
        mx.nd.image.random_flip_left_right(mx.nd.zeros((2, 2, 3)), p=1.5)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_random_brightness_float(dtype):
    x = image((6, 5, 3), dtype) + 1
    factors = set()
    for _ in range(5):
        got = mx.nd.image.random_brightness(nd(x), min_factor=0.5, max_factor=1.5).asnumpy().astype(np.float64)
        f = got[0, 0, 0] / float(x[0, 0, 0])
        assert 0.5 <= f <= 1.5
        np.testing.assert_allclose(got, x.astype(np.float64) * f, rtol=1e-5)
        factors.add(round(f, 6))
    assert len(factors) > 1


def test_random_brightness_uint8_saturates():
    x = np.array([0, 100, 200, 255], dtype=np.uint8).reshape(1, 4, 1)
    np.testing.assert_array_equal(mx.nd.image.random_brightness(nd(x), 2.0, 2.0).asnumpy().ravel(),
                                  [0, 200, 255, 255])
    np.testing.assert_array_equal(mx.nd.image.random_brightness(nd(x), 0.3, 0.3).asnumpy().ravel(),
                                  np.floor(x.ravel() * np.float32(0.3)).astype(np.uint8))


def test_random_brightness_bad_range():
    with pytest.raises(ValueError, match=r"random_brightness: need 0 <= min_factor <= max_factor"):
        mx.nd.image.random_brightness(mx.nd.zeros((2, 2, 3)), 1.5, 0.5)
