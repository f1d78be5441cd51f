"""mx.nd: the imperative NDArray API; every op runs a generated kernel."""
from .. import runtime as _runtime
from .arith import FUNCS as _FUNCS
from .arith import install_operators as _install_operators
from .creation import arange, eye, full, linspace, ones, zeros
from .invoke import kernel_source
from .ndarray import NDArray, array, empty
from .register import populate as _populate


class _Internal:
    pass


_internal = _Internal()
_install_operators(NDArray)
_ns: dict = {}
_populate(_ns, _internal.__dict__, NDArray)
globals().update({k: v for k, v in _ns.items() if k not in globals()})
globals().update(_FUNCS)


def waitall():
    """Wait until every pending operation has finished; raises the first error any of them hit."""
    _runtime.waitall()


def concatenate(arrays, axis=0, always_copy=True):
    return globals()["concat"](*arrays, dim=axis)  # noqa: F821  (generated from the registry)


from . import contrib, fft, image, linalg, random  # noqa: E402  (mx.nd.contrib, .fft, .image, .linalg, .random)
from .binning import histogram  # noqa: E402
from .serialize import load, load_frombuffer, save  # noqa: E402
