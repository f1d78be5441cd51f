"""mx.nd.linalg: MXNet's `_linalg_*` operators under their short names (mx.nd.linalg.gemm2,
mx.nd.linalg.potrf, ...), generated from the registry like every other op."""
from __future__ import annotations

from ..ir import registry
from .register import make_function

__all__ = registry.populate_prefixed(globals(), "_linalg_", make_function)
