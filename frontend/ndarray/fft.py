"""mx.nd.fft: numpy.fft's fft, ifft, rfft and irfft over one axis, for any length, in generated C.

Complex numbers are interleaved: a complex array of shape S is an NDArray of shape S + (2,), the
real parts in [..., 0] and the imaginary parts in [..., 1] (the same bytes as numpy's complex
arrays and MXNet's contrib.fft layout). `axis` counts the axes of the complex array, so it never
names that trailing 2.

    fft(a)    complex (..., n, 2) -> complex (..., n, 2)
    ifft(a)   complex (..., n, 2) -> complex (..., n, 2)
    rfft(a)   real    (..., n)    -> complex (..., n // 2 + 1, 2)
    irfft(a)  complex (..., m, 2) -> real    (..., n), n = 2 (m - 1) unless given

`n` zero pads or truncates the input along the axis; `norm` is None / "backward" (ifft divides by
n), "ortho" (both by sqrt(n)) or "forward" (fft divides by n), as in numpy. Lengths with large
prime factors use Bluestein's algorithm; float16 and float32 compute in float, float64 in double.
A real signal goes to `fft` as mx.nd.stack(x, mx.nd.zeros_like(x), axis=-1), or through `rfft`.
"""
from __future__ import annotations

import math

from ..ir import registry
from .invoke import invoke
from .ndarray import NDArray

__all__ = ["fft", "ifft", "rfft", "irfft"]

_NORMS = (None, "backward", "ortho", "forward")


def _scale(norm, n, inverse):
    if norm not in _NORMS:
        raise ValueError(f'Invalid norm value {norm!r}; should be "backward", "ortho" or "forward"')
    if norm == "ortho":
        return 1.0 / math.sqrt(n)
    if (norm == "forward") != inverse:
        return 1.0 / n
    return 1.0


def _check(fname, a, is_complex):
    if not isinstance(a, NDArray):
        raise TypeError(f"fft.{fname}: input must be an NDArray, got {type(a).__name__}")
    if is_complex and (a.ndim < 2 or a.shape[-1] != 2):
        raise ValueError(f"fft.{fname}: a complex input has shape (..., n, 2) with the real and imaginary parts "
                         f"last, got {a.shape}; for a real signal use fft.rfft or stack it with zeros")
    if not is_complex and a.ndim < 1:
        raise ValueError(f"fft.{fname}: input must have at least one dimension")


def _transform(fname, a, n, axis, norm, *, in_kind, out_kind, inverse, hermitian=False, default_n=None, out=None):
    is_complex = in_kind == "complex"
    _check(fname, a, is_complex)
    ndim = a.ndim - (1 if is_complex else 0)
    if not isinstance(axis, int) or isinstance(axis, bool) or not -ndim <= axis < ndim:
        raise ValueError(f"fft.{fname}: axis {axis!r} is out of bounds for an array of {ndim} dimension(s)")
    axis %= ndim
    m = a.shape[axis]
    if n is None:
        n = default_n(m) if default_n else m
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"fft.{fname}: invalid number of data points ({n}) specified")
    last = ndim - 1
    x = a if axis == last else a.swapaxes(axis, last)
    res = invoke(registry.get("_fft"), [x], {
        "n": n, "inverse": inverse, "scale": _scale(norm, n, inverse), "in_kind": in_kind, "out_kind": out_kind,
        "hermitian": hermitian}, out=out if axis == last else None)
    if axis != last:
        res = res.swapaxes(axis, last)
        if out is not None:
            out[:] = res
            return out
    return res


def fft(a, n=None, axis=-1, norm=None, out=None):
    """The DFT of complex `a` (shape (..., n, 2)) along `axis`: numpy.fft.fft."""
    return _transform("fft", a, n, axis, norm, in_kind="complex", out_kind="complex", inverse=False, out=out)


def ifft(a, n=None, axis=-1, norm=None, out=None):
    """The inverse DFT of complex `a` along `axis` (divided by n by default): numpy.fft.ifft."""
    return _transform("ifft", a, n, axis, norm, in_kind="complex", out_kind="complex", inverse=True, out=out)


def rfft(a, n=None, axis=-1, norm=None, out=None):
    """The non-negative frequency terms (n // 2 + 1 of them) of the DFT of real `a`: numpy.fft.rfft."""
    return _transform("rfft", a, n, axis, norm, in_kind="real", out_kind="half", inverse=False, out=out)


def irfft(a, n=None, axis=-1, norm=None, out=None):
    """The real inverse of rfft: `a` holds the non-negative frequency terms; n = 2 (m - 1) by default."""
    return _transform("irfft", a, n, axis, norm, in_kind="complex", out_kind="real", inverse=True, hermitian=True,
                      default_n=lambda m: 2 * (m - 1), out=out)
