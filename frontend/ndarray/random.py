"""mx.nd.random: sampling functions with MXNet 1.x signatures.

Scalar parameters run `_random_<dist>` (a `shape`-sized fill); NDArray parameters run
`_sample_<dist>`, whose output shape is the parameters' shape + `shape`. The kernels
draw from the Philox generator that `mx.random.seed` resets (runtime/rng.py).
"""
from __future__ import annotations

import numbers

from ..context import current_context
from ..ir import registry
from ..ir.ops.random import RandomParamError
from .invoke import invoke
from .ndarray import NDArray

__all__ = ["uniform", "normal", "randint", "poisson", "exponential", "gamma", "negative_binomial",
           "generalized_negative_binomial", "multinomial", "shuffle"]


class _NullType:
    """MXNet's `_Null`: an argument the caller did not give."""

    def __repr__(self):
        return "_Null"


_Null = _NullType()


def _is_number(x):
    return isinstance(x, numbers.Number) and not isinstance(x, bool)


def _helper(fname, dist, names, params, shape, dtype, ctx, out, kwargs, sample=True):
    if dtype is _Null and isinstance(out, NDArray):
        dtype = out._data.dtype.name  # MXNet infers the dtype from `out` when none is given
    if isinstance(params[0], NDArray):
        for n, p in zip(names[1:], params[1:]):
            if not isinstance(p, NDArray):
                raise TypeError(f"random.{fname}: distribution parameters must all have the same type, got an NDArray "
                                f"for '{names[0]}' and {type(p).__name__} for '{n}'")
        if not sample:
            raise TypeError(f"random.{fname}: '{names[0]}' must be a number; NDArray parameters are not supported")
        attrs = dict(kwargs)
        if shape is not _Null:
            attrs["shape"] = shape
        if dtype is not _Null:
            attrs["dtype"] = dtype
        return invoke(registry.get(f"_sample_{dist}"), list(params), attrs, out=out)
    if _is_number(params[0]):
        for n, p in zip(names[1:], params[1:]):
            if not _is_number(p):
                raise TypeError(f"random.{fname}: distribution parameters must all have the same type, got a number "
                                f"for '{names[0]}' and {type(p).__name__} for '{n}'")
        if ctx is None:
            ctx = out.context if isinstance(out, NDArray) else current_context()
        if shape is _Null:
            shape = out.shape if isinstance(out, NDArray) else 1
        attrs = dict(kwargs)
        attrs.update(zip(names, params))
        attrs["shape"] = shape
        if dtype is not _Null:
            attrs["dtype"] = dtype
        attrs.pop("ctx", None)
        return invoke(registry.get(f"_random_{dist}"), [], attrs, out=out, ctx=ctx)
    raise ValueError(f"random.{fname}: distribution parameters must be either NDArray or numbers, "
                     f"got {type(params[0]).__name__}")


def uniform(low=0, high=1, shape=_Null, dtype=_Null, ctx=None, out=None, **kwargs):
    """Samples of U[low, high); NDArray low/high give shape low.shape + shape."""
    return _helper("uniform", "uniform", ("low", "high"), [low, high], shape, dtype, ctx, out, kwargs)


def normal(loc=0, scale=1, shape=_Null, dtype=_Null, ctx=None, out=None, **kwargs):
    """Samples of N(loc, scale**2); NDArray loc/scale give shape loc.shape + shape."""
    return _helper("normal", "normal", ("loc", "scale"), [loc, scale], shape, dtype, ctx, out, kwargs)


def randint(low, high, shape=_Null, dtype=_Null, ctx=None, out=None, **kwargs):
    """Integers uniform in [low, high) (dtype int32 unless given)."""
    if not isinstance(low, NDArray):
        for n, v in (("low", low), ("high", high)):
            if not isinstance(v, numbers.Integral) or isinstance(v, bool):
                raise TypeError(f"random.randint: '{n}' must be an integer, got {v!r}")
    return _helper("randint", "randint", ("low", "high"), [low, high], shape, dtype, ctx, out, kwargs,
                   sample=False)


def poisson(lam=1, shape=_Null, dtype=_Null, ctx=None, out=None, **kwargs):
    """Samples of Poisson(lam), stored as floats."""
    return _helper("poisson", "poisson", ("lam",), [lam], shape, dtype, ctx, out, kwargs)


def exponential(scale=1, shape=_Null, dtype=_Null, ctx=None, out=None, **kwargs):
    """Samples of the exponential distribution of scale beta = 1/lambda."""
    if _is_number(scale):
        if not scale > 0:
            raise RandomParamError(f"random.exponential: scale must be > 0, got {scale}")
        lam = 1.0 / scale
    elif isinstance(scale, NDArray):
        lam = 1.0 / scale
    else:
        lam = scale
    return _helper("exponential", "exponential", ("lam",), [lam], shape, dtype, ctx, out, kwargs)


def gamma(alpha=1, beta=1, shape=_Null, dtype=_Null, ctx=None, out=None, **kwargs):
    """Samples of Gamma(alpha = shape, beta = scale)."""
    return _helper("gamma", "gamma", ("alpha", "beta"), [alpha, beta], shape, dtype, ctx, out, kwargs)


def negative_binomial(k=1, p=1, shape=_Null, dtype=_Null, ctx=None, out=None, **kwargs):
    """Failures before the k-th success, each trial succeeding with probability p; stored as floats."""
    return _helper("negative_binomial", "negative_binomial", ("k", "p"), [k, p], shape, dtype, ctx, out, kwargs)


def generalized_negative_binomial(mu=1, alpha=1, shape=_Null, dtype=_Null, ctx=None, out=None, **kwargs):
    """Negative binomial of mean mu and dispersion alpha (a Poisson(mu) when alpha is 0)."""
    return _helper("generalized_negative_binomial", "generalized_negative_binomial", ("mu", "alpha"), [mu, alpha],
                   shape, dtype, ctx, out, kwargs)


def multinomial(data, shape=_Null, get_prob=False, out=None, dtype="int32", **kwargs):
    """`shape` outcomes drawn from each distribution over data's last axis; with get_prob=True
    also their log probabilities (a list of two arrays)."""
    if not isinstance(data, NDArray):
        raise TypeError(f"random.multinomial: data must be an NDArray of probabilities, got {type(data).__name__}")
    attrs = dict(kwargs, get_prob=get_prob, dtype=dtype)
    if shape is not _Null:
        attrs["shape"] = shape
    return invoke(registry.get("_sample_multinomial"), [data], attrs, out=out)


def shuffle(data, **kwargs):
    """The rows of `data` (its first axis) in a random order; each row keeps its contents."""
    out = kwargs.pop("out", None)
    kwargs.pop("name", None)
    if kwargs:
        raise TypeError(f"random.shuffle: unexpected arguments {sorted(kwargs)}")
    return invoke(registry.get("_shuffle"), [data], {}, out=out)
