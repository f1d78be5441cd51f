"""mx.sym: symbolic graphs. Every op of the registry is here as a function building a node."""
from . import image  # noqa: F401  (mx.sym.image)
from .json_io import load, load_json
from .register import populate as _populate
from .symbol import Group, Symbol, Variable, var


class _Internal:
    pass


_internal = _Internal()
_ns: dict = {}
_populate(_ns, _internal.__dict__)
globals().update({k: v for k, v in _ns.items() if k not in globals()})


def zeros(shape, dtype=None, **kwargs):
    return _internal._zeros(shape=shape, dtype=dtype or "float32", **kwargs)


def ones(shape, dtype=None, **kwargs):
    return _internal._ones(shape=shape, dtype=dtype or "float32", **kwargs)
