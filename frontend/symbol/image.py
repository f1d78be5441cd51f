"""mx.sym.image: the symbolic forms of MXNet's `_image_*` operators under their short names
(mx.sym.image.to_tensor, normalize, resize, ...), so hybridized transforms trace through F.image."""
from __future__ import annotations

from ..ir import registry
from .register import make_function

__all__ = registry.populate_prefixed(globals(), "_image_", make_function)
