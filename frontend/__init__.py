"""mxcc: an MXNet 1.x compatible deep-learning framework built as a compiler.

`import mxcc as mx` and write MXNet code; every op becomes IR, goes through the
passes, and runs as C that mxcc generated, compiled and loaded itself.
"""
__version__ = "0.1.0"

from . import (  # noqa: E402,F401  (the pipeline layers, importable as mxcc.ir etc.)
    ir,
    ndarray,  # noqa: E402
    random,  # noqa: E402
    runtime,
)
from . import ndarray as nd  # noqa: E402
from .base import MXNetError  # noqa: E402
from .compiled import CompiledGraph
from .context import Context, cpu, cpu_pinned, current_context, gpu, num_gpus  # noqa: E402

__all__ = ["MXNetError", "Context", "cpu", "cpu_pinned", "gpu", "num_gpus", "current_context", "nd", "ndarray"]
