"""Standalone C inference bundles: the JIT's translation unit, emitted as strict C99.

A bundle is NAME.h (the C API, shapes, dtypes and memory sizes as constants), NAME.c (the
same kernels and schedule codegen.emit writes for the JIT, behind a small reentrant API),
NAME.weights (or, embedded, a byte array in NAME_weights.c), main.c, a Makefile and a README.

The kernels are not rewritten for the bundle: emit() renders them with the JIT's templates
after the same passes, then three mechanical changes make the unit strict C99 (-std=c99
-pedantic -Wall -Wextra -Werror, with or without OpenMP): the JIT prelude is followed by
overrides (entry points become file-local, the `_Generic` math selectors become GNU builtins
or plain <tgmath.h> calls), and every OpenMP pragma is compiled only when OpenMP (or
-fopenmp-simd, -DMX_OMP) is on, so a compiler without it sees no unknown pragma.

The weights file (little-endian; README.md in the bundle documents it):
    magic "MXCCWTS\\0", u32 version (1), u32 count, u64 payload bytes, u32 CRC-32 of the payload,
    u32 reserved (0), u64 model id, then `count` entries {u64 offset, u64 nbytes}, then the
    payload (starting at a 64-byte multiple; tensors at 64-byte aligned offsets within it).
The model id hashes the program and the weights' shapes and dtypes, so a file written for
another model (or another shape) is refused at create time.
"""
from __future__ import annotations

import hashlib
import keyword
import re
import struct
import zlib
from dataclasses import dataclass, field

import numpy as np

from ..ir import Graph
from ..ir.types import DTYPES
from .emit import GraphProgram, emit
from .templates import render as render_template

MAGIC = b"MXCCWTS\0"
VERSION = 1
HEADER = struct.Struct("<8sIIQIIQ")  # magic, version, count, payload bytes, crc32, reserved, model id
ENTRY = struct.Struct("<QQ")  # offset in the payload, bytes
ALIGN = 64
ERROR_BYTES = 256
BUNDLE_DTYPES = ("float32", "float64")

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_TENSOR_NAME = re.compile(r"[A-Za-z0-9_.:\-]+\Z")
_C_KEYWORDS = frozenset(
    "auto break case char const continue default do double else enum extern float for goto if inline int long "
    "register restrict return short signed sizeof static struct switch typedef union unsigned void volatile while "
    "_Bool _Complex _Imaginary main".split())
_OMP_LINE = re.compile(r"^\s*#\s*pragma\s+omp\b")
_OMP_OPERATOR = re.compile(r'_Pragma\("(omp\b[^"\\]*)"\)')


def check_name(name: str) -> str:
    """NAME becomes C identifiers (NAME_create) and file names: a C identifier, not a keyword."""
    if not isinstance(name, str) or not _IDENT.match(name) or len(name) > 64:
        raise ValueError(f"bundle name {name!r} is not a valid C identifier (letters, digits and '_', not starting "
                         "with a digit, at most 64 characters)")
    if name in _C_KEYWORDS or keyword.iskeyword(name) or name.startswith("mx_"):
        raise ValueError(f"bundle name {name!r} is reserved (a C keyword, 'main' or the 'mx_' prefix mxcc uses); "
                         "choose another --name")
    return name


def _safe_label(name: str, fallback: str) -> str:
    """A tensor name from the model file goes into a C string literal only if it is plainly safe."""
    return name if isinstance(name, str) and _TENSOR_NAME.match(name) and len(name) <= 128 else fallback


def _align(n: int) -> int:
    return -(-n // ALIGN) * ALIGN


@dataclass
class Port:
    """An input or output of the bundle."""

    name: str
    shape: tuple
    dtype: str

    @property
    def size(self) -> int:
        n = 1
        for d in self.shape:
            n *= int(d)
        return n

    @property
    def nbytes(self) -> int:
        return self.size * DTYPES[self.dtype].itemsize

    @property
    def ctype(self) -> str:
        return DTYPES[self.dtype].ctype


@dataclass
class Bundle:
    """What compile_bundle produced: file name -> bytes, and the sizes the header states."""

    name: str
    files: dict
    arena_bytes: int
    weights_bytes: int
    memory_bytes: int
    inputs: list
    outputs: list
    model_id: int
    info: dict = field(default_factory=dict)


def c99_unit(gp: GraphProgram) -> str:
    """The kernels and schedule of `gp` without the JIT prelude, every OpenMP pragma guarded."""
    prelude = render_template("c", "prelude.j2")
    src = gp.program.source
    if not src.startswith(prelude):
        raise ValueError("bundle: the emitted program does not start with the C prelude")
    out, lines, i = [], src[len(prelude):].split("\n"), 0
    while i < len(lines):
        line = lines[i]
        if _OMP_LINE.match(line):
            block = [line]
            while block[-1].endswith("\\") and i + 1 < len(lines):
                i += 1
                block.append(lines[i])
            out.append("#ifdef MX_OMP")
            out.extend(block)
            out.append("#endif")
        else:
            out.append(_OMP_OPERATOR.sub(r"MX_PRAGMA(\1)", line))
        i += 1
    return "\n".join(out)


def pack_weights(arrays: list, model_id: int) -> bytes:
    """The weights file: header, entries, then each tensor's bytes at a 64-byte aligned offset."""
    entries, payload, off = [], bytearray(), 0
    for a in arrays:
        raw = np.ascontiguousarray(a, dtype=a.dtype.newbyteorder("<")).tobytes()  # numpy only moves the bytes
        payload += b"\0" * (off - len(payload))
        entries.append((off, len(raw)))
        payload += raw
        off = _align(len(payload))
    head = HEADER.pack(MAGIC, VERSION, len(arrays), len(payload), zlib.crc32(payload) & 0xFFFFFFFF, 0, model_id)
    table = b"".join(ENTRY.pack(o, n) for o, n in entries)
    pad = b"\0" * (_align(len(head) + len(table)) - len(head) - len(table))
    return head + table + pad + bytes(payload)


def _crc_table() -> list:
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (0xEDB88320 ^ (c >> 1)) if c & 1 else (c >> 1)
        table.append(c)
    return table


def _c_bytes(data: bytes, per_line: int = 24) -> str:
    return "\n".join("  " + ",".join(str(b) for b in data[i:i + per_line]) + ","
                     for i in range(0, len(data), per_line))


def make_bundle(name: str, graph: Graph, roles: list, weights: list, input_names: list, output_names: list,
                embed_weights: bool = False, target: str = "c") -> Bundle:
    """Emit a bundle for `graph` (already through the passes).

    roles[k] says what graph input k is: ("input", i) the bundle's i-th input, ("weight", j) the
    j-th array of `weights` (host arrays of that input's dtype and shape), ("zero", None) a buffer
    the context keeps at zero (a loss layer's label, unused at inference).
    """
    check_name(name)
    if target != "c":
        raise ValueError(f"bundle: target {target!r} is not supported; the only bundle target is 'c'")
    if len(roles) != len(graph.inputs):
        raise ValueError(f"bundle: {len(roles)} roles for {len(graph.inputs)} graph inputs")
    for v in list(graph.inputs) + list(graph.outputs):
        if v.type.dtype not in BUNDLE_DTYPES:
            raise TypeError(f"bundle: tensor {v.name or v.id} has dtype {v.type.dtype}; bundles support "
                            f"{', '.join(BUNDLE_DTYPES)} (strict C99 has no float16 or vector-friendly integer path)")
    gp = emit(graph, target)
    if gp.num_inputs != len(graph.inputs):
        raise ValueError("bundle: emitted program inputs do not match the graph")
    inputs = [None] * len(input_names)
    wslots, zslots = [], []
    for k, (role, idx) in enumerate(roles):
        t = graph.inputs[k].type
        if role == "input":
            inputs[idx] = Port(_safe_label(input_names[idx], f"input{idx}"), tuple(t.shape), t.dtype)
        elif role == "weight":
            a = weights[idx]
            if tuple(a.shape) != tuple(t.shape) or a.dtype.name != t.dtype:
                raise ValueError(f"bundle: weight {graph.inputs[k].name!r} is {a.dtype.name}{list(a.shape)}, the "
                                 f"graph expects {t.dtype}{list(t.shape)}")
            wslots.append((k, idx))
        elif role == "zero":
            zslots.append(k)
        else:
            raise ValueError(f"bundle: unknown role {role!r} for graph input {k}")
    if any(p is None for p in inputs):
        raise ValueError("bundle: every bundle input needs a graph input")
    if len(output_names) != len(graph.outputs):
        output_names = [f"output{j}" for j in range(len(graph.outputs))]
    outputs = [Port(_safe_label(n, f"output{j}"), tuple(v.type.shape), v.type.dtype)
               for j, (n, v) in enumerate(zip(output_names, graph.outputs))]
    arrays = [weights[idx] for _, idx in wslots]
    ident = hashlib.sha256(repr((gp.program.name, [(a.dtype.name, tuple(a.shape)) for a in arrays])).encode())
    model_id = int.from_bytes(ident.digest()[:8], "little")
    blob = pack_weights(arrays, model_id)
    count, payload_bytes = len(arrays), HEADER.unpack_from(blob)[3]
    data_start = _align(HEADER.size + ENTRY.size * count)
    entries = [ENTRY.unpack_from(blob, HEADER.size + ENTRY.size * j) for j in range(count)]

    # the context's memory: the struct, then weights, arena, inputs, outputs, zeros (64-byte aligned)
    n_io = len(graph.inputs) + len(graph.outputs)
    ctx_reserved = _align(8 * n_io + 8 * 8 + ERROR_BYTES + 64)
    layout, off = {}, ctx_reserved
    layout["weights"] = off
    off += _align(max(payload_bytes, 1))
    layout["arena"] = off
    off += _align(max(gp.arena_bytes, 1))
    io_ptrs = [None] * n_io
    for j, (k, _) in enumerate(wslots):
        io_ptrs[k] = ("weights", entries[j][0])
    in_offs = []
    for p in inputs:
        in_offs.append(off)
        off += _align(p.nbytes)
    for k, (role, idx) in enumerate(roles):
        if role == "input":
            io_ptrs[k] = ("base", in_offs[idx])
    out_offs = []
    for j, p in enumerate(outputs):
        out_offs.append(off)
        io_ptrs[len(graph.inputs) + j] = ("base", off)
        off += _align(p.nbytes)
    zero_start = off
    for k in zslots:
        io_ptrs[k] = ("base", off)
        off += _align(graph.inputs[k].type.nbytes)
    zero_bytes = off - zero_start
    total = off
    memory_bytes = total + ALIGN - 1  # caller memory may start anywhere: room to align it

    ops = []
    for n in graph.nodes:
        ops.append(n.op if _IDENT.match(n.op) else "op")
    ctx = dict(
        name=name, NAME=name.upper(), inputs=inputs, outputs=outputs, in_offs=in_offs, out_offs=out_offs,
        io_ptrs=io_ptrs, n_io=n_io, n_graph_inputs=len(graph.inputs), arena_bytes=gp.arena_bytes,
        weights_bytes=payload_bytes, weights_file_bytes=len(blob), weights_count=count, weights_data_start=data_start,
        weights_entries=entries, ctx_reserved=ctx_reserved, layout=layout, zero_start=zero_start,
        zero_bytes=zero_bytes, total_bytes=total, memory_bytes=memory_bytes, model_id=f"0x{model_id:016x}",
        magic=list(MAGIC), version=VERSION, header_bytes=HEADER.size, entry_bytes=ENTRY.size,
        error_bytes=ERROR_BYTES, run_entry=gp.run_entry, ops=ops, crc_table=_crc_table(), embed=embed_weights,
        io_bytes=sum(_align(p.nbytes) for p in inputs + outputs), n_nodes=len(graph.nodes),
    )
    header = render_template("c", "bundle/header.h.j2", **ctx)
    source = "\n".join([
        render_template("c", "bundle/prelude.j2", **ctx),
        render_template("c", "prelude.j2"),
        render_template("c", "bundle/overrides.j2", **ctx),
        c99_unit(gp),
        render_template("c", "bundle/api.c.j2", **ctx),
    ])
    files = {f"{name}.h": header, f"{name}.c": source,
             "main.c": render_template("c", "bundle/main.c.j2", **ctx),
             "Makefile": render_template("c", "bundle/Makefile.j2", **ctx),
             "README.md": render_template("c", "bundle/README.md.j2", **ctx)}
    if embed_weights:
        files[f"{name}_weights.c"] = render_template("c", "bundle/weights.c.j2", blob_bytes=_c_bytes(blob),
                                                     blob_len=len(blob), **ctx)
    else:
        files[f"{name}.weights"] = blob
    files = {k: (v.encode() if isinstance(v, str) else v) for k, v in files.items()}
    info = {"program": gp.program.name, "arena_bytes": gp.arena_bytes, "naive_arena_bytes": gp.naive_bytes,
            "planned": gp.planned, "nodes": len(graph.nodes), "kernels": len(gp.program.entries)}
    return Bundle(name, files, gp.arena_bytes, payload_bytes, memory_bytes, inputs, outputs, model_id, info)
