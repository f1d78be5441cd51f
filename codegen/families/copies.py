"""Copies family: several strided copies and fills as one kernel unit.

Movement ops made of pieces (concat, split, stack, pad, slice assignment) lower here. Every
piece is a plan of the elementwise family over one of `params["kernels"]` (elementwise
params, usually the copy "a" or the fill "(T)s0"); its operands are remapped onto the op's
inputs and outputs, so a piece may also read an output an earlier piece wrote (pad's edges).
A `copy_bytes` piece copies a whole buffer unless it is the destination itself (in-place).

params: {"kernels": (elementwise params, ...)}
args:   {"pieces": ({"kernel": k, "args": elementwise args, "ins": (("in"|"out", j), ...),
                     "out": j}, ..., {"copy_bytes": nbytes, "src": ("in", j), "out": j}, ...)}
"""
from __future__ import annotations

from ..program import Buf, Launch
from ..templates import render as render_template
from . import elementwise


def render_bytes(name: str, target: str):
    """The raw byte-move entries of bytes.j2 under `name` (shared with the gather family)."""
    code = render_template(target, "bytes.j2", name=name)
    return code, {
        f"{name}_copy_bytes": f"int {name}_copy_bytes(int64_t n, intptr_t out_, intptr_t in_);",
        f"{name}_zero_bytes": f"int {name}_zero_bytes(int64_t n, intptr_t out_);",
    }


def _sub(kname: str, k: int) -> str:
    return f"{kname}_k{k}"


def render(kname, params, target):
    codes, entries = [], {}
    for k, p in enumerate(params["kernels"]):
        code, ents = elementwise.render(_sub(kname, k), dict(p), target)
        codes.append(code)
        entries.update(ents)
    code, ents = render_bytes(kname, target)
    codes.append(code)
    entries.update(ents)
    return "\n".join(codes), entries


def _remap(a, ins, out):
    if not isinstance(a, Buf):
        return a
    if a.kind == "out":
        return Buf("out", out, a.byte_offset)
    kind, index = ins[a.index]
    return Buf(kind, index, a.byte_offset)


def plan(kname, params, args):
    launches = []
    for piece in args["pieces"]:
        if "copy_bytes" in piece:
            if piece["copy_bytes"] > 0:
                kind, index = piece["src"]
                launches.append(Launch(f"{kname}_copy_bytes", (piece["copy_bytes"], Buf("out", piece["out"]),
                                                               Buf(kind, index))))
            continue
        k = piece["kernel"]
        ins, out = piece.get("ins", ()), piece.get("out", 0)
        for launch in elementwise.plan(_sub(kname, k), dict(params["kernels"][k]), piece["args"]):
            launches.append(Launch(launch.entry, tuple(_remap(a, ins, out) for a in launch.args), launch.errors))
    return launches
