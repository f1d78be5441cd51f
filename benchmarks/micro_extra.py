"""Issue-specific micro-benchmark rows, picked up by benchmarks/micro.py (mxcc beside numpy, same run).

SECTIONS maps a section name to a function(repeat) -> rows of (name, mxcc, numpy, mxcc speed vs numpy).
"""
from __future__ import annotations

import numpy as np
from common import median_time

import mxcc as mx

SECTIONS = {}


def fft_rows(repeat):
    """One 2^20-point complex FFT in float32: mx.nd.fft.fft beside numpy.fft.fft (which computes in float64)."""
    n = 1 << 20
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, 2)).astype(np.float32)
    xc = (x[:, 0] + 1j * x[:, 1]).astype(np.complex64)
    a = mx.nd.array(x)
    xr = x[:, 0].copy()
    ar = mx.nd.array(xr)
    rows = []
    for name, f, g in (("FFT 2^20 float32", lambda: mx.nd.fft.fft(a).wait_to_read(), lambda: np.fft.fft(xc)),
                       ("rFFT 2^20 float32", lambda: mx.nd.fft.rfft(ar).wait_to_read(), lambda: np.fft.rfft(xr))):
        t_mx = median_time(f, repeat)
        t_np = median_time(g, repeat)
        rows.append((name, f"{t_mx * 1e3:.2f} ms", f"{t_np * 1e3:.2f} ms", f"{t_np / t_mx:.2f}x"))
    return rows


SECTIONS["fft"] = fft_rows


def linalg_rows(repeat):
    """Cholesky (potrf) and inverse of one 512 x 512 float64 matrix: mx.nd.linalg beside numpy.linalg (LAPACK)."""
    n = 512
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, n))
    spd = x @ x.T + n * np.eye(n)
    a, g = mx.nd.array(spd, dtype="float64"), mx.nd.array(x, dtype="float64")
    rows = []
    for name, f, h in (("potrf 512x512 float64", lambda: mx.nd.linalg.potrf(a).wait_to_read(),
                        lambda: np.linalg.cholesky(spd)),
                       ("inverse 512x512 float64", lambda: mx.nd.linalg.inverse(g).wait_to_read(),
                        lambda: np.linalg.inv(x))):
        t_mx = median_time(f, repeat)
        t_np = median_time(h, repeat)
        rows.append((name, f"{t_mx * 1e3:.2f} ms", f"{t_np * 1e3:.2f} ms", f"{t_np / t_mx:.2f}x"))
    return rows


SECTIONS["linalg"] = linalg_rows
