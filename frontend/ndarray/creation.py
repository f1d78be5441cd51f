"""mx.nd creation functions (MXNet 1.x signatures) over the creation kernels."""
from __future__ import annotations

from ..context import current_context
from ..ir import dtype_name, registry
from .invoke import invoke


def _shape(shape):
    return (int(shape),) if isinstance(shape, int) else tuple(int(d) for d in shape)


def zeros(shape, ctx=None, dtype=None, **kwargs):
    return invoke(registry.get("_zeros"), [], {"shape": _shape(shape), "dtype": dtype_name(dtype)},
                  ctx=ctx or current_context())


def ones(shape, ctx=None, dtype=None, **kwargs):
    return invoke(registry.get("_ones"), [], {"shape": _shape(shape), "dtype": dtype_name(dtype)},
                  ctx=ctx or current_context())


def full(shape, val, ctx=None, dtype=None, out=None):
    return invoke(registry.get("_full"), [], {"shape": _shape(shape), "dtype": dtype_name(dtype), "value": val},
                  ctx=ctx or current_context(), out=out)


def arange(start, stop=None, step=1.0, repeat=1, infer_range=False, ctx=None, dtype=None):
    return invoke(registry.get("_arange"), [], {"start": start, "stop": stop, "step": step, "repeat": repeat,
                                                 "dtype": dtype_name(dtype)}, ctx=ctx or current_context())


def linspace(start, stop, num, endpoint=True, ctx=None, dtype=None):
    return invoke(registry.get("_linspace"), [], {"start": start, "stop": stop, "num": num, "endpoint": endpoint,
                                                   "dtype": dtype_name(dtype)}, ctx=ctx or current_context())


def eye(N, M=0, k=0, ctx=None, dtype=None, **kwargs):
    return invoke(registry.get("_eye"), [], {"N": N, "M": M, "k": k, "dtype": dtype_name(dtype)},
                  ctx=ctx or current_context())
