"""mx.nd.save / mx.nd.load: MXNet 1.x's binary NDArray list format (.params files).

Layout (little-endian, as NDArray::Save/Load in MXNet 1.x write and read it):
    uint64 0x112 (list magic) | uint64 0 (reserved) | uint64 count | count arrays |
    uint64 nkeys | nkeys x (uint64 len, bytes)                    (nkeys is 0 or count)
One dense array:
    V2: uint32 0xF993FAC9 | int32 stype (0) | int32 ndim | int64 dims[ndim] |
        int32 dev_type | int32 dev_id | int32 type_flag | raw data
    V3 (numpy shape semantics, 0xF993FACA): as V2; ndim 0 is a scalar, -1 unknown
    V1 (0xF993FAC8): no stype; otherwise as V2
    legacy (no magic): uint32 ndim | uint32 dims[ndim] | context | type_flag | data
In V1/V2/legacy files ndim 0 marks an empty ("none") array: nothing follows its shape.

Writing uses V2, except for 0-d and zero-size arrays, which only V3 can express.
Reading validates every count and size against the file, so a truncated, corrupted
or foreign file raises MXNetError naming the file and what was wrong; nothing in a
file is ever unpickled or executed.
"""
from __future__ import annotations

import io
import os
import struct
import sys

import numpy as np

from ..context import cpu
from ..ir.errors import MXNetError
from ..ir.types import DTYPE_BY_FLAG, DTYPES
from ..runtime.files import atomic_open
from .ndarray import NDArray, empty

LIST_MAGIC = 0x112
V1_MAGIC = 0xF993FAC8
V2_MAGIC = 0xF993FAC9
V3_MAGIC = 0xF993FACA
_MAX_NDIM = 32
_STYPES = {1: "row_sparse", 2: "csr"}
_DEV_TYPES = {1, 2, 3, 5}
# mshadow type flags MXNet knows but mxcc does not store
_OTHER_FLAGS = {7: "bool", 8: "int16", 9: "uint16", 10: "uint32", 11: "uint64", 12: "bfloat16"}
_LITTLE = sys.byteorder == "little"


# ---- save ---------------------------------------------------------------------------------------
def _as_named_list(data):
    if isinstance(data, NDArray):
        return [data], []
    if isinstance(data, dict):
        names, arrays = [], []
        for k, v in data.items():
            if not isinstance(k, str):
                raise TypeError(f"save: dict keys must be str, got {type(k).__name__} ({k!r})")
            if not isinstance(v, NDArray):
                raise TypeError(f"save: value for key {k!r} must be an NDArray, got {type(v).__name__}")
            names.append(k)
            arrays.append(v)
        return arrays, names
    if isinstance(data, (list, tuple)):
        for i, v in enumerate(data):
            if not isinstance(v, NDArray):
                raise TypeError(f"save: element {i} of the list must be an NDArray, got {type(v).__name__}")
        return list(data), []
    raise TypeError("save: data needs to either be a NDArray, dict of str, NDArray pairs or a list of NDArrays, "
                    f"got {type(data).__name__}")


def _array_bytes(a: NDArray) -> tuple[bytes, memoryview]:
    """The header and the raw little-endian data of one array."""
    shape = tuple(a.shape)
    dt = a._data.dtype.name
    if dt not in DTYPES:
        raise TypeError(f"save: unsupported dtype {dt}")
    magic = V3_MAGIC if (len(shape) == 0 or 0 in shape) else V2_MAGIC
    ctx = a.context
    head = struct.pack("<Iii", magic, 0, len(shape)) + struct.pack(f"<{len(shape)}q", *shape)
    head += struct.pack("<iii", ctx.device_typeid, ctx.device_id, DTYPES[dt].flag)
    host = np.ascontiguousarray(a._data)
    if not _LITTLE:
        host = host.astype(host.dtype.newbyteorder("<"))
    return head, memoryview(host.reshape(-1).view(np.uint8))


def _serialize(arrays, names, out) -> None:
    out.write(struct.pack("<QQQ", LIST_MAGIC, 0, len(arrays)))
    for a in arrays:
        head, body = _array_bytes(a)
        out.write(head)
        out.write(body)
    out.write(struct.pack("<Q", len(names)))
    for n in names:
        b = n.encode("utf-8")
        out.write(struct.pack("<Q", len(b)))
        out.write(b)


def save(fname, data):
    """Save an NDArray, a list of NDArrays or a dict of str -> NDArray to `fname` (MXNet's format).

    The file is written to a temporary name in the same directory and renamed over
    `fname`, so a reader never sees half a file and a failed save leaves the old one.
    """
    arrays, names = _as_named_list(data)
    for a in arrays:
        a.wait_to_read()
    with atomic_open(fname, "wb") as f:
        _serialize(arrays, names, f)


def save_tobuffer(data) -> bytes:
    """The bytes `save` would write."""
    arrays, names = _as_named_list(data)
    for a in arrays:
        a.wait_to_read()
    buf = io.BytesIO()
    _serialize(arrays, names, buf)
    return buf.getvalue()


# ---- load ---------------------------------------------------------------------------------------
class _Reader:
    def __init__(self, f, size: int, where: str):
        self.f, self.size, self.where, self.pos = f, size, where, 0

    def fail(self, msg):
        raise MXNetError(f"load: {self.where}: {msg}")

    def left(self) -> int:
        return self.size - self.pos

    def take(self, n: int, what: str) -> bytes:
        if n > self.left():
            self.fail(f"truncated file: {what} needs {n} bytes at offset {self.pos}, only {self.left()} left")
        b = self.f.read(n)
        if len(b) != n:
            self.fail(f"truncated file: {what} needs {n} bytes at offset {self.pos}, read {len(b)}")
        self.pos += n
        return b

    def unpack(self, fmt: str, what: str):
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt), what))

    def read_into(self, buf: memoryview, what: str) -> None:
        n = len(buf)
        if n > self.left():
            self.fail(f"truncated file: {what} needs {n} bytes at offset {self.pos}, only {self.left()} left")
        got = 0
        while got < n:
            k = self.f.readinto(buf[got:])
            if not k:
                self.fail(f"truncated file: {what} needs {n} bytes at offset {self.pos}, read {got}")
            got += k
        self.pos += n


def _read_array(r: _Reader, i: int) -> NDArray:
    what = f"array {i}"
    (magic,) = r.unpack("I", f"{what}: magic")
    if magic in (V2_MAGIC, V3_MAGIC):
        (stype,) = r.unpack("i", f"{what}: storage type")
        if stype != 0:
            if stype in _STYPES:
                r.fail(f"{what} has {_STYPES[stype]} storage (stype {stype}); only dense arrays are supported")
            r.fail(f"{what}: corrupted storage type {stype} (expected 0 for a dense array)")
    if magic in (V1_MAGIC, V2_MAGIC, V3_MAGIC):
        (ndim,) = r.unpack("i", f"{what}: ndim")
        if magic == V3_MAGIC and ndim == -1:
            return _none_array()
        if not 0 <= ndim <= _MAX_NDIM:
            r.fail(f"{what}: corrupted ndim {ndim} (expected 0..{_MAX_NDIM})")
        shape = r.unpack(f"{ndim}q", f"{what}: shape") if ndim else ()
        if magic != V3_MAGIC and ndim == 0:
            return _none_array()
        if any(d < 0 for d in shape):
            if magic == V3_MAGIC and all(d >= -1 for d in shape):
                return _none_array()  # an unknown dim: a "none" array, as MXNet loads it
            r.fail(f"{what}: corrupted shape {shape} (negative dimension)")
    else:  # legacy: no magic, the first word is ndim and the dims are uint32
        ndim = magic
        if ndim > _MAX_NDIM:
            r.fail(f"{what}: unknown array magic 0x{magic:08X} (expected 0x{V2_MAGIC:08X}, 0x{V1_MAGIC:08X}, "
                   f"0x{V3_MAGIC:08X} or a legacy ndim <= {_MAX_NDIM}); not an MXNet .params file or corrupted")
        if ndim == 0:
            return _none_array()
        shape = r.unpack(f"{ndim}I", f"{what}: shape") if ndim else ()
    dev_type, _dev_id = r.unpack("ii", f"{what}: context")
    if dev_type not in _DEV_TYPES:
        r.fail(f"{what}: corrupted context device type {dev_type} (expected 1 cpu, 2 gpu, 3 cpu_pinned, 5 cpu_shared)")
    (flag,) = r.unpack("i", f"{what}: type flag")
    dt = DTYPE_BY_FLAG.get(flag)
    if dt is None:
        if flag in _OTHER_FLAGS:
            r.fail(f"{what} has dtype {_OTHER_FLAGS[flag]} (type flag {flag}), which mxcc does not support; "
                   f"supported: {', '.join(DTYPES)}")
        r.fail(f"{what}: corrupted type flag {flag} (expected one of {sorted(DTYPE_BY_FLAG)})")
    count = 1
    for d in shape:
        count *= d
    nbytes = count * dt.itemsize
    if nbytes > r.left():
        r.fail(f"truncated file: {what} of shape {tuple(shape)} and dtype {dt.name} needs {nbytes} bytes of data "
               f"at offset {r.pos}, only {r.left()} left")
    out = empty(tuple(shape), ctx=cpu(), dtype=dt.name)
    if nbytes:
        r.read_into(memoryview(out._data.reshape(-1).view(np.uint8)), f"{what}: data")
        if not _LITTLE:
            out._data.byteswap(inplace=True)
    return out


def _none_array() -> NDArray:
    return empty((0,), ctx=cpu())


def _load_stream(f, size: int, where: str):
    r = _Reader(f, size, where)
    if size < 24:
        r.fail(f"not an MXNet .params file: {size} bytes is shorter than the 24-byte header")
    header, _reserved, count = r.unpack("QQQ", "header")
    if header != LIST_MAGIC:
        r.fail(f"not an MXNet .params file: list magic 0x{header:X}, expected 0x{LIST_MAGIC:X}")
    if count > r.left() // 4:
        r.fail(f"corrupted header: {count} arrays cannot fit in the {r.left()} bytes left")
    arrays = [_read_array(r, i) for i in range(count)]
    if r.left() == 0:
        r.fail(f"truncated file: the key count is missing at offset {r.pos}")
    (nkeys,) = r.unpack("Q", "key count")
    if nkeys not in (0, count):
        r.fail(f"corrupted file: {count} arrays but {nkeys} keys")
    names = []
    for k in range(nkeys):
        (ln,) = r.unpack("Q", f"length of key {k}")
        raw = r.take(ln, f"key {k}")
        try:
            names.append(raw.decode("utf-8"))
        except UnicodeDecodeError:
            r.fail(f"corrupted file: key {k} is not valid UTF-8")
    if r.left():
        r.fail(f"corrupted file: {r.left()} unexpected bytes after the keys at offset {r.pos}")
    if names:
        return dict(zip(names, arrays))
    return arrays


def load(fname):
    """Load what `save` (or MXNet 1.x) wrote: a list of NDArrays, or a dict when the file has keys."""
    fname = os.fspath(fname)
    with open(fname, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        return _load_stream(f, size, repr(fname))


def load_frombuffer(buf):
    """Load from bytes holding a .params file."""
    data = bytes(buf)
    return _load_stream(io.BytesIO(data), len(data), "buffer")
