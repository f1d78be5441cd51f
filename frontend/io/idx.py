"""Reading idx files (the MNIST format), plain or gzipped.

An idx file is a big-endian header -- two zero bytes, a type code, the number of
dimensions, then one uint32 per dimension -- followed by the items. MNIST uses type
0x08 (unsigned bytes): images are 3-d (count, rows, cols), labels 1-d (count).
"""
from __future__ import annotations

import gzip
import os
import struct

import numpy as np

from ..base import MXNetError

_GZIP_MAGIC = b"\x1f\x8b"
_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"),
          0x0E: np.dtype(">f8")}


class IdxFormatError(MXNetError, ValueError):
    """A file is not a well-formed idx file (names the file and what is wrong)."""


def _read_bytes(path: str) -> bytes:
    if not os.path.isfile(path):
        raise FileNotFoundError(f"idx file {path!r} not found" + (
            f" (is it {path + '.gz'!r}?)" if os.path.isfile(path + ".gz") else ""))
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == _GZIP_MAGIC:  # gzipped whatever the file is called
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as e:
            raise IdxFormatError(f"idx file {path!r}: gzip data is corrupt or truncated ({e})") from None
    return raw


def read_idx(path: str, ndim: int | None = None) -> np.ndarray:
    """The array stored in idx file `path` (numpy, the file's item type; big-endian types as stored).

    `ndim`, when given, is the number of dimensions the file must have (3 for MNIST images,
    1 for labels); a mismatch, a bad magic number or a truncated file raises IdxFormatError.
    """
    raw = _read_bytes(path)
    if len(raw) < 4:
        raise IdxFormatError(f"idx file {path!r} is truncated: {len(raw)} bytes, shorter than the 4-byte magic number")
    zero, code, dims = raw[:2], raw[2], raw[3]
    if zero != b"\x00\x00" or code not in _TYPES:
        raise IdxFormatError(f"idx file {path!r} has a bad magic number 0x{raw[:4].hex()}: expected 0x0000TTNN with "
                             f"type TT one of {', '.join(f'{c:02x}' for c in _TYPES)} (0x00000803 for MNIST images, "
                             "0x00000801 for labels)")
    if ndim is not None and dims != ndim:
        raise IdxFormatError(f"idx file {path!r} holds a {dims}-d array (magic 0x{raw[:4].hex()}), expected {ndim}-d "
                             f"(magic 0x0000{code:02x}{ndim:02x})")
    header = 4 + 4 * dims
    if len(raw) < header:
        raise IdxFormatError(f"idx file {path!r} is truncated: its header needs {header} bytes, the file has "
                             f"{len(raw)}")
    shape = struct.unpack(f">{dims}I", raw[4:header])
    dtype = np.dtype(_TYPES[code])
    count = 1
    for d in shape:
        count *= d
    need = header + count * dtype.itemsize
    if len(raw) < need:
        raise IdxFormatError(f"idx file {path!r} is truncated: shape {shape} needs {need} bytes, the file has "
                             f"{len(raw)}")
    return np.frombuffer(raw, dtype=dtype, count=count, offset=header).reshape(shape)


__all__ = ["read_idx", "IdxFormatError"]
