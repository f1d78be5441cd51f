"""Blocks the model zoo networks are built from that mx.gluon.nn does not define."""
from __future__ import annotations

from ..block import HybridBlock
from ..nn import HybridSequential

__all__ = ["HybridConcurrent", "Identity"]


class HybridConcurrent(HybridSequential):
    """Runs every child on the same input and concatenates their outputs along `axis`."""

    def __init__(self, axis=-1, prefix=None, params=None):
        super().__init__(prefix=prefix, params=params)
        self.axis = axis

    def hybrid_forward(self, F, x):
        return F.concat(*[block(x) for block in self._children.values()], dim=self.axis)


class Identity(HybridBlock):
    """Returns its input."""

    def hybrid_forward(self, F, x):
        return x
