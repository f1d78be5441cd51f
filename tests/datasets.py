"""Test data: the real MNIST test set from ../shared/data/mnist, split 8,000 / 2,000.

Only the 10,000 test images are available here, so training uses the first 8,000 and
evaluation the last 2,000 (written as idx files that MNISTIter reads). With
MXCC_REQUIRE_DATA=1 (CI) a missing data set fails the test instead of skipping it.
"""
from __future__ import annotations

import gzip
import os
import struct
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MNIST_DIRS = [ROOT.parent / "shared" / "data" / "mnist", Path("/work/shared/data/mnist")]


def _missing(what: str):
    msg = f"{what} not found (looked in {', '.join(str(d) for d in MNIST_DIRS)})"
    if os.environ.get("MXCC_REQUIRE_DATA") == "1":
        pytest.fail(msg + "; MXCC_REQUIRE_DATA=1 makes this a failure")
    pytest.skip(msg)


def mnist_dir() -> Path:
    for d in MNIST_DIRS:
        if (d / "t10k-images-idx3-ubyte.gz").exists() and (d / "t10k-labels-idx1-ubyte.gz").exists():
            return d
    _missing("the MNIST test set (t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz)")


def _write_idx(path: Path, magic: int, dims, payload: bytes):
    with open(path, "wb") as f:
        f.write(struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in dims) + payload)


def mnist_split(tmp: Path, n_train: int = 8000):
    """Writes train/eval idx files (first n_train / the rest of the 10,000) into `tmp`; returns their paths."""
    d = mnist_dir()
    images = gzip.decompress((d / "t10k-images-idx3-ubyte.gz").read_bytes())
    labels = gzip.decompress((d / "t10k-labels-idx1-ubyte.gz").read_bytes())
    n, rows, cols = struct.unpack(">III", images[4:16])
    body, lbody = images[16:], labels[8:]
    px = rows * cols
    out = {}
    for part, lo, hi in (("train", 0, n_train), ("eval", n_train, n)):
        img, lab = tmp / f"{part}-images-idx3-ubyte", tmp / f"{part}-labels-idx1-ubyte"
        _write_idx(img, 2051, (hi - lo, rows, cols), body[lo * px:hi * px])
        _write_idx(lab, 2049, (hi - lo,), lbody[lo:hi])
        out[part] = (str(img), str(lab))
    return out
