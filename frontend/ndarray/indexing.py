"""NDArray indexing. Integer and step-1 slice indices on the first axis are views
sharing storage (as in MXNet 1.x); everything else runs a kernel and copies."""
from __future__ import annotations

import numbers

from ..ir import registry
from .invoke import invoke


def _first_axis_view(x, key):
    from .ndarray import NDArray

    n = x.shape[0] if x.ndim else 0
    if isinstance(key, numbers.Integral) and not isinstance(key, bool):
        if x.ndim == 0:
            raise IndexError("too many indices for a 0-d NDArray")
        if not -n <= key < n:
            raise IndexError(f"index {key} is out of bounds for axis 0 with size {n}")
        return NDArray(x._data[key], x._ctx, x._var)
    if isinstance(key, slice) and x.ndim and key.step in (None, 1):
        return NDArray(x._data[key], x._ctx, x._var)
    return None


def getitem(x, key):
    view = _first_axis_view(x, key)
    if view is not None:
        return view
    raise IndexError(f"unsupported index {key!r} for NDArray of shape {x.shape}")


def setitem(x, key, value):
    from .ndarray import NDArray, array

    target = x if (isinstance(key, slice) and key == slice(None)) else _first_axis_view(x, key)
    if target is None:
        raise IndexError(f"unsupported index {key!r} for assignment into NDArray of shape {x.shape}")
    if isinstance(value, numbers.Number):
        invoke(registry.get("_full"), [], {"shape": target.shape, "dtype": target._data.dtype.name,
                                            "value": value}, out=target)
        return
    if not isinstance(value, NDArray):
        value = array(value, ctx=x._ctx, dtype=x._data.dtype)
    if value.shape != target.shape:
        value = invoke(registry.get("broadcast_to"), [value], {"shape": target.shape})
    value.copyto(target)
