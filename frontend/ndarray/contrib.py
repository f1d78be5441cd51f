"""mx.nd.contrib: MXNet's contrib operators, generated from the registry's `_contrib_<name>` ops
(fft, ifft, ...), plus the few whose output shape depends on the data (boolean_mask)."""
from __future__ import annotations

from ..ir import registry
from .invoke import invoke
from .ndarray import NDArray
from .register import make_function


def boolean_mask(data, index, axis=0, out=None, name=None):
    """The slices of `data` along `axis` whose `index` entry is nonzero.

    The output's size depends on index's values: a kernel counts the nonzero entries, that one
    number is read back (a synchronisation), and a second kernel gathers the slices.
    """
    for what, x in (("data", data), ("index", index)):
        if not isinstance(x, NDArray):
            raise TypeError(f"boolean_mask: {what} must be an NDArray, got {type(x).__name__}")
    if data.ndim == 0 or not -data.ndim <= axis < data.ndim:
        raise ValueError(f"boolean_mask: axis={axis} is out of range for data of shape {data.shape}")
    if index.ndim != 1 or index.shape[0] != data.shape[axis]:
        raise ValueError(f"boolean_mask: index of shape {index.shape} must be 1-D of length {data.shape[axis]} "
                         f"(data {data.shape}, axis={axis})")
    count = invoke(registry.get("_boolean_mask_count"), [index], {})
    size = int(count.asnumpy()[0])
    return invoke(registry.get("_contrib_boolean_mask"), [data, index], {"axis": axis, "_size": size}, out=out)


def _populate(ns: dict) -> None:
    for name in registry.names():
        if name.startswith("_contrib_"):
            public = name[len("_contrib_"):]
            ns.setdefault(public, make_function(registry.get(name), public))


_populate(globals())
