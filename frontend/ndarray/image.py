"""mx.nd.image: MXNet's `_image_*` operators under their short names (mx.nd.image.to_tensor,
normalize, resize, crop, flip_left_right, random_flip_left_right, random_brightness, ...),
generated from the registry (ir/ops/image.py) like every other op."""
from __future__ import annotations

from ..ir import registry
from .register import make_function

__all__ = registry.populate_prefixed(globals(), "_image_", make_function)
