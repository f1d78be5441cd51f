"""Shared test settings and helpers.

Hypothesis runs a modest number of examples with no deadline: the first call of a
kernel compiles it, which says nothing about the op's speed. Helpers here compare an
NDArray with a float64 numpy reference at a tolerance chosen by the array's dtype.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "mxcc", max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("mxcc")

ALL_DTYPES = ("float32", "float64", "float16", "int8", "uint8", "int32", "int64")
FLOAT_DTYPES = ("float32", "float64", "float16")
INT_DTYPES = ("int8", "uint8", "int32", "int64")

# (rtol, atol) per dtype for results computed in that dtype
TOLERANCE = {
    "float16": (2e-3, 2e-3),
    "float32": (2e-6, 1e-6),
    "float64": (1e-12, 1e-12),
    "int8": (0, 0),
    "uint8": (0, 0),
    "int32": (0, 0),
    "int64": (0, 0),
}


def tolerance(dtype, scale: float = 1.0):
    rtol, atol = TOLERANCE[np.dtype(dtype).name]
    return rtol * scale, atol * scale


def assert_close(actual, expected, dtype=None, scale: float = 1.0, msg: str = ""):
    """`actual` (NDArray or numpy) equals the float64 reference `expected` within dtype's tolerance.

    The reference is first rounded to the dtype, as the kernel stores its result in it.
    """
    a = actual.asnumpy() if hasattr(actual, "asnumpy") else np.asarray(actual)
    dt = np.dtype(dtype or a.dtype)
    assert a.dtype == dt, f"{msg}: dtype {a.dtype}, expected {dt}"
    e = np.asarray(expected, dtype=np.float64)
    assert a.shape == e.shape, f"{msg}: shape {a.shape}, expected {e.shape}"
    if dt.kind in "iu":
        np.testing.assert_array_equal(a, e.astype(dt), err_msg=msg)
    else:
        rtol, atol = tolerance(dt, scale)
        np.testing.assert_allclose(a.astype(np.float64), e.astype(dt).astype(np.float64),
                                   rtol=rtol, atol=atol, equal_nan=True, err_msg=msg)


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch):
    """A private, empty kernel cache directory for the test."""
    d = tmp_path / "kernel-cache"
    monkeypatch.setenv("MXCC_CACHE_DIR", str(d))
    return d
