"""mx.random: seeding, plus the samplers of mx.nd.random (as in MXNet 1.x).

Every CPU context draws from one Philox generator (runtime/rng.py): its
key is the seed, and each random kernel call takes the next call number, so a seed
fixes every later result, whatever the thread count.
"""
from __future__ import annotations

import numbers

from . import runtime as _runtime
from .context import Context
from .ndarray.random import *  # noqa: F401,F403  (mx.random.uniform etc., as MXNet re-exports them)
from .ndarray.random import __all__ as _nd_all

__all__ = ["seed", *_nd_all]


def _drain():
    """Wait for every queued kernel: a random one in flight must not see the new seed."""
    engines = getattr(_runtime.engine, "_engines", None)
    if engines is None:
        _runtime.waitall()
        return
    for eng in list(engines.values()):
        eng.wait_all()  # errors stay with their arrays and the next waitall


def seed(seed_state, ctx="all"):
    """Seed the random number generators: `ctx="all"` (default) or one Context.

    Every CPU context shares one generator in mxcc, so seeding any CPU context seeds
    them all. The same seed gives the same sequence of results afterwards.
    """
    if not isinstance(seed_state, numbers.Integral):
        raise ValueError("seed_state must be int")
    if ctx != "all":
        if not isinstance(ctx, Context):
            raise TypeError(f"seed: ctx must be 'all' or a Context, got {ctx!r}")
    _drain()
    _runtime.rng.seed(int(seed_state))
