"""mxcc.runtime: toolchains, the kernel cache, engines and statistics. Knows kernels and buffers, not ops."""
from . import cache, engine, rng, toolchain_c
from .engine import Engine, Var, get_engine, wait_var, waitall
from .stats import reset as reset_stats
from .stats import stats
from .toolchain_c import CFLAGS, CompileError

__all__ = ["cache", "engine", "rng", "toolchain_c", "Engine", "Var", "get_engine", "wait_var", "waitall",
           "stats", "reset_stats", "CFLAGS", "CompileError"]
