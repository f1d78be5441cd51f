"""mx.sym.image: the symbolic forms of MXNet's `_image_*` operators under their short names
(mx.sym.image.to_tensor, normalize, resize, ...), so hybridized transforms trace through F.image."""
from __future__ import annotations

from ..ir import registry
from .register import make_function

_PREFIX = "_image_"


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
