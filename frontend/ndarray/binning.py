"""mx.nd.histogram: MXNet 1.x's Python wrapper over the `_histogram` op."""
from __future__ import annotations

import numbers

from ..ir import registry
from .invoke import invoke
from .ndarray import NDArray

__all__ = ["histogram"]


def histogram(a, bins=10, range=None):  # noqa: A002  (MXNet's argument name)
    """Histogram of the flattened `a`: (counts, bin edges).

    bins: an int (that many equal-width bins over `range`, default the data's min and max) or an
    NDArray of bin edges (non-decreasing; the last bin includes its right edge). Values outside the
    range and NaNs are not counted. Counts are int64 and edges take the data's dtype, except that
    without a range both come back as float32, as MXNet's wrapper (which then defers to numpy) does.
    """
    if not isinstance(a, NDArray):
        raise TypeError(f"histogram: a must be an NDArray, got {type(a).__name__}")
    op = registry.get("_histogram")
    if isinstance(bins, NDArray):
        return invoke(op, [a, bins], {})
    if isinstance(bins, numbers.Integral) and not isinstance(bins, bool):
        if range is None:
            counts, edges = invoke(op, [a], {"bin_cnt": int(bins)})
            return counts.astype("float32"), edges.astype("float32")
        return invoke(op, [a], {"bin_cnt": int(bins), "range": tuple(range)})
    raise ValueError("bins argument should be either an integer or an NDArray")
