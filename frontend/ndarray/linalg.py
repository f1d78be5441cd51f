"""mx.nd.linalg: MXNet's `_linalg_*` operators under their short names (mx.nd.linalg.gemm2,
mx.nd.linalg.potrf, ...), generated from the registry like every other op."""
from __future__ import annotations

from ..ir import registry
from .register import make_function

_PREFIX = "_linalg_"


def _populate(ns: dict) -> list:
    names = []
    for name in registry.names():
        opdef = registry.get(name)
        if name.startswith(_PREFIX) and not opdef.hidden:
            public = name[len(_PREFIX):]
            ns.setdefault(public, make_function(opdef, public))
            names.append(public)
    return sorted(names)


__all__ = _populate(globals())
