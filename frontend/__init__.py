"""mxcc: an MXNet 1.x compatible deep-learning framework built as a compiler.

`import mxcc as mx` and write MXNet code; every op becomes IR, goes through the
passes, and runs as C that mxcc generated, compiled and loaded itself.
"""
__version__ = "0.1.0"

from . import (
    autograd,
    callback,
    executor,
    gluon,
    initializer,
    io,
    ir,
    lr_scheduler,
    metric,
    model,
    module,
    name,
    ndarray,
    optimizer,
    random,
    registry,
    runtime,
    symbol,
    viz,
)
from . import initializer as init
from . import module as mod
from . import ndarray as nd
from . import symbol as sym
from .attribute import AttrScope
from .base import MXNetError
from .bundle import compile_bundle, export_bundle
from .compiled import CompiledGraph
from .context import Context, cpu, cpu_pinned, current_context, gpu, num_gpus

__all__ = ["sym", "symbol", "executor", "name", "AttrScope", "MXNetError", "Context", "cpu", "cpu_pinned", "gpu",
           "num_gpus", "current_context", "nd", "ndarray", "CompiledGraph", "ir", "runtime", "random",
           "model", "module", "mod", "autograd", "viz", "compile_bundle", "export_bundle"]
