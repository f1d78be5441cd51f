"""Host-side stride bookkeeping for strided kernels (no tensor data is touched)."""
from __future__ import annotations

from ..ir.ops._shape import broadcast_strides, contiguous_strides  # noqa: F401  (re-exported)


def collapse(shape, strides_list):
    """Drop size-1 dims and merge neighbours that every operand walks contiguously.

    Returns (shape, [strides per operand]); fewer dims means longer inner loops.
    """
    dims = [(d, [s[k] for s in strides_list]) for k, d in enumerate(shape) if d != 1]
    if not dims:
        return (), [() for _ in strides_list]
    merged = [dims[0]]
    for d, st in dims[1:]:
        pd, pst = merged[-1]
        if all(ps == s * d for ps, s in zip(pst, st)):
            merged[-1] = (pd * d, st)
        else:
            merged.append((d, st))
    shape_out = tuple(d for d, _ in merged)
    return shape_out, [tuple(st[i] for _, st in merged) for i in range(len(strides_list))]
