"""The C toolchain: compile a translation unit with $CC and load it with cffi (ABI mode).

Entry points take only integers (pointers as intptr_t) and doubles, so a call from
Python converts plain ints and floats and never touches ffi.from_buffer.
"""
from __future__ import annotations

import functools
import hashlib
import os
import shlex
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import cffi

from ..ir.errors import MXNetError
from . import cache, stats


def _pin_openmp_runtime():
    """Keep libgomp loaded for the life of the process: when a kernel library is unloaded at exit
    while OpenMP worker threads still spin inside libgomp, the process can crash.

    Idle OpenMP threads spin for a while before sleeping (libgomp's default spin count is
    300,000): on a machine whose cores are shared that steals them from whoever else runs,
    and mxcc's own threads (engine worker, caller) often take turns. A shorter spin keeps the
    wake-up fast between back-to-back kernels without that cost; $GOMP_SPINCOUNT overrides it.
    """
    import ctypes
    import ctypes.util

    os.environ.setdefault("GOMP_SPINCOUNT", "10000")  # read by libgomp when it loads, below
    for name in ("libgomp.so.1", ctypes.util.find_library("gomp")):
        if name:
            try:
                return ctypes.CDLL(name, mode=ctypes.RTLD_GLOBAL)
            except OSError:
                continue
    return None


_GOMP = _pin_openmp_runtime()

CFLAGS = ("-O3", "-march=native", "-fopenmp", "-shared", "-fPIC", "-std=gnu11", "-fno-math-errno")


class CompileError(MXNetError):
    """The C compiler failed or is missing; carries its stderr and the generated source's path."""


def compiler() -> list[str]:
    return shlex.split(os.environ.get("CC", "cc")) or ["cc"]


@functools.lru_cache(maxsize=None)
def _compiler_version(cc: tuple) -> str:
    try:
        r = subprocess.run([*cc, "--version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise CompileError(f"C compiler {' '.join(cc)!r} cannot be run: {e}. "
                           "Set $CC to a working C compiler.") from None
    if r.returncode != 0:
        raise CompileError(f"C compiler {' '.join(cc)!r} failed on --version:\n{r.stderr}")
    return r.stdout.strip()


@functools.lru_cache(maxsize=None)
def _cpu_features() -> str:
    """What -march=native means here: the CPU's flags line (or the machine name)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith(("flags", "Features")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return os.uname().machine


def cache_key(source: str, flags=CFLAGS) -> str:
    cc = tuple(compiler())
    h = hashlib.sha256()
    for part in (source, " ".join(flags), " ".join(cc), _compiler_version(cc), _cpu_features()):
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()


_build_locks: dict = {}  # one lock per cache key: different kernels compile in parallel
_build_locks_guard = threading.Lock()


def _build_lock(key: str) -> threading.Lock:
    with _build_locks_guard:
        return _build_locks.setdefault(key, threading.Lock())


def build(source: str, name: str) -> Path:
    """Path of a shared object for `source`: from the disk cache, or freshly compiled."""
    key = cache_key(source)
    hit = cache.lookup(key)
    if hit is not None:
        stats.bump("disk_cache_hits")
        return hit
    with _build_lock(key):
        hit = cache.lookup(key)
        if hit is not None:
            stats.bump("disk_cache_hits")
            return hit
        d = cache.scratch_dir(key)
        src = d / f"{key}.c"
        cache.atomic_write_bytes(src, source.encode())
        fd, tmp_so = tempfile.mkstemp(dir=d, prefix=f"{key}.", suffix=".so.tmp")
        os.close(fd)
        cmd = [*compiler(), *CFLAGS, "-o", tmp_so, str(src), "-lm"]
        t0 = time.perf_counter()
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        except (OSError, subprocess.TimeoutExpired) as e:
            os.unlink(tmp_so)
            raise CompileError(f"compiling kernel {name} failed to start ({e}); generated source: {src}") from None
        stats.bump("compile_seconds", time.perf_counter() - t0)
        if r.returncode != 0:
            os.unlink(tmp_so)
            raise CompileError(
                f"compiling kernel {name} failed (exit {r.returncode}): {' '.join(cmd)}\n"
                f"generated source: {src}\n{r.stderr[-4000:]}"
            )
        stats.bump("kernels_compiled")
        return cache.store(key, Path(tmp_so))


class LoadedC:
    """A loaded translation unit; `fn(name)` returns a callable entry point."""

    def __init__(self, path: Path, cdecls: str):
        self.path = path
        self.ffi = cffi.FFI()
        self.ffi.cdef(cdecls)
        try:
            self.lib = self.ffi.dlopen(str(path))
        except OSError as e:
            raise MXNetError(f"cannot load compiled kernels {path}: {e}") from None

    def fn(self, name: str):
        return getattr(self.lib, name)


def load(source: str, cdecls: str, name: str) -> LoadedC:
    path = build(source, name)
    try:
        return LoadedC(path, cdecls)
    except MXNetError:
        # a cached file that passed its checksum but does not load: rebuild once
        so, sidecar = cache.entry_paths(cache_key(source))
        for p in (so, sidecar):
            try:
                p.unlink()
            except OSError:
                pass
        return LoadedC(build(source, name), cdecls)
