"""The random generator's state: {seed, number of random kernel calls so far} as two uint64.

Random kernels receive the state's address as a run-time argument (codegen's `RNG`
launch argument, and the `rng_` parameter of a graph program's run entry) and take
their call number with an atomic add when they run. So a seed fixes every later
result whatever the thread count, and reseeding never replans or recompiles.
numpy only holds these bytes; C reads and advances them.
"""
from __future__ import annotations

import numpy as np

_MASK64 = (1 << 64) - 1
STATE = np.zeros(2, dtype=np.uint64)
ADDRESS = STATE.ctypes.data


def seed(value: int) -> None:
    """Restart the generator: the key becomes `value` (mod 2**64) and the call counter 0.
    Only call with no random kernel in flight (mx.random.seed drains the engines first)."""
    STATE[0] = int(value) & _MASK64
    STATE[1] = 0


def get_state() -> tuple[int, int]:
    return int(STATE[0]), int(STATE[1])


def set_state(seed_value: int, calls: int) -> None:
    STATE[0] = int(seed_value) & _MASK64
    STATE[1] = int(calls) & _MASK64
