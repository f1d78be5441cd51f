"""Counters behind mxcc.runtime.stats()."""
import threading

_lock = threading.Lock()
_counters = {"kernels_compiled": 0, "cache_hits": 0, "disk_cache_hits": 0, "compile_seconds": 0.0}


def bump(name: str, by=1) -> None:
    with _lock:
        _counters[name] += by


def stats() -> dict:
    """Kernels compiled, cache hits (in-process and on-disk) and seconds spent compiling."""
    with _lock:
        out = dict(_counters)
    out["compile_seconds"] = round(out["compile_seconds"], 4)
    return out


def reset() -> None:
    with _lock:
        for k in _counters:
            _counters[k] = 0.0 if k == "compile_seconds" else 0
