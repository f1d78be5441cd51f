"""mx.nd.image: MXNet's `_image_*` operators under their short names (mx.nd.image.to_tensor,
normalize, resize, crop, flip_left_right, random_flip_left_right, random_brightness, ...),
generated from the registry (ir/ops/image.py) like every other op."""
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
