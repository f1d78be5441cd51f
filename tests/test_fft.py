"""FFT: mx.nd.contrib.fft / ifft (MXNet's interleaved layout) and mx.nd.fft (numpy.fft semantics)
against numpy.fft in float64, for smooth, prime (Bluestein) and large lengths, plus gradients."""
import numpy as np
import pytest
from gradcheck import check_grad
from hypothesis import given, settings
from hypothesis import strategies as st

import mxcc as mx

TOL = {"float32": 1e-5, "float64": 1e-12, "float16": 5e-3}
RNG = np.random.default_rng(0)


def rel_err(got, ref):
    return np.linalg.norm(np.asarray(got, np.complex128) - ref) / max(np.linalg.norm(ref), 1e-300)


def to_cplx(a):
    a = a.asnumpy().astype(np.float64) if hasattr(a, "asnumpy") else a
    return a[..., 0] + 1j * a[..., 1]


def from_cplx(z, dtype):
    return mx.nd.array(np.stack([z.real, z.imag], -1).astype(dtype), dtype=dtype)


def cnormal(shape):
    return RNG.standard_normal(shape) + 1j * RNG.standard_normal(shape)


# lengths: 1, powers of 2 and 4, 3/5-smooth, small generic primes, primes > 31 (Bluestein), mixed
LENGTHS = [1, 2, 3, 4, 5, 6, 7, 8, 12, 13, 16, 17, 27, 31, 32, 37, 60, 64, 97, 100, 125, 128, 210, 243, 509,
           1000, 1024, 2017, 4096, 6000, 10007]


# ---- contrib ------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", [(3, 8), (4, 7), (2, 3, 2, 16), (1, 1, 1, 37), (5, 1)])
def test_contrib_fft_matches_numpy_interleaved(shape, dtype):
    x = RNG.standard_normal(shape)
    out = mx.nd.contrib.fft(mx.nd.array(x, dtype=dtype))
    assert out.shape == shape[:-1] + (2 * shape[-1],) and out.dtype == np.dtype(dtype)
    ref = np.fft.fft(x)
    got = out.asnumpy().astype(np.float64)
    assert rel_err(got[..., 0::2] + 1j * got[..., 1::2], ref) < TOL[dtype]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", [(3, 16), (4, 14), (2, 3, 2, 10)])
def test_contrib_ifft_is_the_unscaled_real_part(shape, dtype):
    z = RNG.standard_normal(shape)
    out = mx.nd.contrib.ifft(mx.nd.array(z, dtype=dtype))
    d = shape[-1] // 2
    assert out.shape == shape[:-1] + (d,)
    ref = (np.fft.ifft(z[..., 0::2] + 1j * z[..., 1::2]) * d).real  # MXNet does not divide by d
    assert rel_err(out.asnumpy(), ref) < TOL[dtype]


def test_contrib_round_trip_scales_by_d():
    x = RNG.standard_normal((6, 9)).astype(np.float32)
    back = mx.nd.contrib.ifft(mx.nd.contrib.fft(mx.nd.array(x), compute_size=4)).asnumpy()
    np.testing.assert_allclose(back, 9 * x, rtol=1e-5, atol=1e-5)


@settings(max_examples=15, deadline=None)
@given(rows=st.integers(0, 6), d=st.integers(1, 70))
def test_contrib_fft_any_batch_and_length(rows, d):
    x = RNG.standard_normal((rows, d))
    got = mx.nd.contrib.fft(mx.nd.array(x, dtype="float64")).asnumpy()
    np.testing.assert_allclose(got[:, 0::2] + 1j * got[:, 1::2], np.fft.fft(x, axis=-1), rtol=1e-10, atol=1e-10)


def test_contrib_errors():
    with pytest.raises(ValueError, match="even last dimension"):
        mx.nd.contrib.ifft(mx.nd.ones((2, 3)))
    with pytest.raises(TypeError, match="float16, float32 or float64"):
        mx.nd.contrib.fft(mx.nd.ones((2, 4), dtype="int32"))
    with pytest.raises(ValueError, match="last dimension"):
        mx.nd.contrib.fft(mx.nd.ones((2, 0)))


# ---- mx.nd.fft ---------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("n", LENGTHS)
def test_fft_ifft_rfft_irfft_every_length(n, dtype):
    rows = 3 if n < 4096 else 1
    z = cnormal((rows, n))
    assert rel_err(to_cplx(mx.nd.fft.fft(from_cplx(z, dtype))), np.fft.fft(z)) < TOL[dtype]
    assert rel_err(to_cplx(mx.nd.fft.ifft(from_cplx(z, dtype))), np.fft.ifft(z)) < TOL[dtype]
    x = RNG.standard_normal((rows, n))
    r = mx.nd.fft.rfft(mx.nd.array(x, dtype=dtype))
    assert r.shape == (rows, n // 2 + 1, 2)
    assert rel_err(to_cplx(r), np.fft.rfft(x)) < TOL[dtype]
    h = np.fft.rfft(x)
    back = mx.nd.fft.irfft(from_cplx(h, dtype), n=n)
    assert back.shape == (rows, n) and back.dtype == np.dtype(dtype)
    assert rel_err(back.asnumpy(), np.fft.irfft(h, n=n)) < TOL[dtype]


@pytest.mark.parametrize("n", [1 << 20, 100003, 3 ** 11])
def test_large_single_transforms_float32(n):
    z = cnormal((n,))
    got = mx.nd.fft.fft(from_cplx(z, "float32"))
    assert rel_err(to_cplx(got), np.fft.fft(z)) < 1e-5
    x = z.real.copy()
    r = mx.nd.fft.rfft(mx.nd.array(x, dtype="float32"))
    assert rel_err(to_cplx(r), np.fft.rfft(x)) < 1e-5
    assert rel_err(mx.nd.fft.irfft(r, n=n).asnumpy(), x) < 1e-5


def test_many_rows_share_one_plan():
    z = cnormal((2000, 48))
    assert rel_err(to_cplx(mx.nd.fft.fft(from_cplx(z, "float64"))), np.fft.fft(z)) < 1e-12
    z = cnormal((40, 997))  # Bluestein rows in parallel
    assert rel_err(to_cplx(mx.nd.fft.ifft(from_cplx(z, "float32"))), np.fft.ifft(z)) < 1e-5


@pytest.mark.parametrize("norm", [None, "backward", "ortho", "forward"])
def test_norms(norm):
    z = cnormal((2, 12))
    x = RNG.standard_normal((2, 12))
    assert rel_err(to_cplx(mx.nd.fft.fft(from_cplx(z, "float64"), norm=norm)), np.fft.fft(z, norm=norm)) < 1e-12
    assert rel_err(to_cplx(mx.nd.fft.ifft(from_cplx(z, "float64"), norm=norm)), np.fft.ifft(z, norm=norm)) < 1e-12
    assert rel_err(to_cplx(mx.nd.fft.rfft(mx.nd.array(x, dtype="float64"), norm=norm)),
                   np.fft.rfft(x, norm=norm)) < 1e-12
    h = np.fft.rfft(x)
    assert rel_err(mx.nd.fft.irfft(from_cplx(h, "float64"), norm=norm).asnumpy(), np.fft.irfft(h, norm=norm)) < 1e-12


@settings(max_examples=20, deadline=None)
@given(m=st.integers(1, 40), n=st.integers(1, 40))
def test_padding_and_truncation(m, n):
    z = cnormal((2, m))
    x = RNG.standard_normal((2, m))
    assert rel_err(to_cplx(mx.nd.fft.fft(from_cplx(z, "float64"), n=n)), np.fft.fft(z, n=n)) < 1e-11
    assert rel_err(to_cplx(mx.nd.fft.ifft(from_cplx(z, "float64"), n=n)), np.fft.ifft(z, n=n)) < 1e-11
    assert rel_err(to_cplx(mx.nd.fft.rfft(mx.nd.array(x, dtype="float64"), n=n)), np.fft.rfft(x, n=n)) < 1e-11
    assert rel_err(mx.nd.fft.irfft(from_cplx(z, "float64"), n=n).asnumpy(), np.fft.irfft(z, n=n)) < 1e-11


def test_irfft_default_length_and_hermitian_conventions():
    # numpy ignores the imaginary parts of the zero and Nyquist bins: so must we
    z = cnormal((3, 5))
    assert rel_err(mx.nd.fft.irfft(from_cplx(z, "float64")).asnumpy(), np.fft.irfft(z)) < 1e-12
    assert mx.nd.fft.irfft(from_cplx(z, "float64")).shape == (3, 8)


@pytest.mark.parametrize("axis", [0, 1, -2])
def test_other_axes(axis):
    z = cnormal((4, 6, 5))
    got = mx.nd.fft.fft(from_cplx(z, "float64"), axis=axis)
    assert rel_err(to_cplx(got), np.fft.fft(z, axis=axis)) < 1e-12
    x = RNG.standard_normal((4, 6, 5))
    got = mx.nd.fft.rfft(mx.nd.array(x, dtype="float64"), axis=axis)
    assert rel_err(to_cplx(got), np.fft.rfft(x, axis=axis)) < 1e-12


def test_float16_computes_in_float():
    z = cnormal((2, 64))
    got = mx.nd.fft.fft(from_cplx(z, "float16"))
    assert got.dtype == np.float16
    assert rel_err(to_cplx(got), np.fft.fft(z)) < TOL["float16"]


def test_out_argument():
    z = cnormal((2, 8))
    out = mx.nd.zeros((2, 8, 2), dtype="float64")
    r = mx.nd.fft.fft(from_cplx(z, "float64"), out=out)
    assert r is out
    assert rel_err(to_cplx(out), np.fft.fft(z)) < 1e-12


def test_errors_name_the_function():
    with pytest.raises(ValueError, match=r"fft.fft: a complex input has shape \(\.\.\., n, 2\)"):
        mx.nd.fft.fft(mx.nd.ones((4, 3)))
    with pytest.raises(ValueError, match="invalid number of data points"):
        mx.nd.fft.fft(mx.nd.ones((4, 2)), n=0)
    with pytest.raises(ValueError, match="invalid number of data points"):
        mx.nd.fft.irfft(mx.nd.ones((1, 2)))  # default n = 2 (m - 1) = 0
    with pytest.raises(ValueError, match="norm"):
        mx.nd.fft.rfft(mx.nd.ones((4,)), norm="sideways")
    with pytest.raises(ValueError, match="out of bounds"):
        mx.nd.fft.rfft(mx.nd.ones((4,)), axis=1)
    with pytest.raises(TypeError, match="float16, float32 or float64"):
        mx.nd.fft.rfft(mx.nd.ones((4,), dtype="int64"))


# ---- gradients: the adjoint transforms ------------------------------------------------------------
def test_contrib_gradients():
    check_grad("_contrib_fft", [RNG.standard_normal((2, 5))])
    check_grad("_contrib_ifft", [RNG.standard_normal((2, 6))])


@pytest.mark.parametrize("attrs,shape", [
    ({"n": 5}, (2, 5, 2)),
    ({"n": 7, "inverse": True, "scale": 0.3}, (2, 5, 2)),  # zero padding
    ({"n": 4}, (3, 6, 2)),  # truncation
    ({"n": 37}, (1, 37, 2)),  # Bluestein
    ({"n": 6, "in_kind": "real", "out_kind": "half"}, (2, 6)),  # rfft
    ({"n": 7, "in_kind": "real", "out_kind": "half"}, (2, 5)),
    ({"n": 6, "in_kind": "complex", "out_kind": "real", "hermitian": True, "inverse": True, "scale": 1 / 6},
     (2, 4, 2)),  # irfft
    ({"n": 7, "in_kind": "complex", "out_kind": "real", "hermitian": True, "inverse": True}, (2, 3, 2)),
    ({"n": 5, "in_kind": "complex", "out_kind": "real", "hermitian": True, "inverse": True}, (2, 6, 2)),
    ({"n": 6, "in_kind": "real", "out_kind": "half", "hermitian": True}, (2, 5)),
])
def test_fft_gradients(attrs, shape):
    check_grad("_fft", [RNG.standard_normal(shape)], attrs)
