"""What code generation produces: source plus how to call it."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Buf:
    """A launch argument standing for the address of output/input `index`, plus a byte offset."""

    kind: str  # "out" or "in"
    index: int
    byte_offset: int = 0


@dataclass(frozen=True, eq=False)
class Meta:
    """A launch argument standing for the address of a small int64 array (shapes, strides)."""

    values: np.ndarray

    @staticmethod
    def of(values) -> "Meta":
        return Meta(np.ascontiguousarray(np.asarray(values, dtype=np.int64)))


class _Rng:
    """A launch argument standing for the address of the random generator's state
    (runtime/rng.py): imperative plans fill in the live address, graph programs take it
    as their run entry's `rng_` parameter, so no address is ever baked into source."""

    def __repr__(self):
        return "RNG"


RNG = _Rng()


@dataclass
class Launch:
    """One call of an entry point: its suffix within the kernel and its arguments."""

    entry: str
    args: tuple
    errors: dict = field(default_factory=dict)  # return code -> message


@dataclass
class Program:
    """One translation unit: source, its entry points' C declarations, and the target."""

    name: str
    source: str
    entries: dict  # entry name -> C declaration
    target: str = "c"

    @property
    def cdecls(self) -> str:
        return "\n".join(self.entries.values())
