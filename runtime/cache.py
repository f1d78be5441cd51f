"""On-disk kernel cache.

Entries are keyed by a hash of source, flags, compiler version and the host CPU's
features. A shared object is written under a temporary name and renamed into place,
then a sidecar holding its SHA-256 is written the same way; an entry whose sidecar is
missing or disagrees (a crash mid-write, a truncated or corrupt file) is rebuilt,
never trusted. Two processes building one entry both rename complete files: the
last rename wins and both are valid.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

from .files import atomic_write_bytes


def cache_dir() -> Path:
    d = os.environ.get("MXCC_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "mxcc")
    return Path(d)


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def entry_paths(key: str) -> tuple[Path, Path]:
    d = cache_dir() / key[:2]
    return d / f"{key}.so", d / f"{key}.sha256"


def lookup(key: str) -> Path | None:
    """The cached shared object for `key`, if present and intact."""
    so, sidecar = entry_paths(key)
    try:
        want = sidecar.read_text().strip()
        if want and _digest(so) == want:
            return so
    except OSError:
        pass
    return None


def store(key: str, built: Path) -> Path:
    """Move a freshly built shared object into the cache; returns its final path."""
    so, sidecar = entry_paths(key)
    so.parent.mkdir(parents=True, exist_ok=True)
    digest = _digest(built)
    os.replace(built, so)  # `built` lives in the same directory: the rename is atomic
    atomic_write_bytes(sidecar, (digest + "\n").encode())
    return so


def scratch_dir(key: str) -> Path:
    d = cache_dir() / key[:2]
    d.mkdir(parents=True, exist_ok=True)
    return d
