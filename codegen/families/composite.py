"""Composite family: one op as a short sequence of other families' kernels.

A layer op that is "a GEMM, then a bias add" or "draw uniforms, then threshold them, then
multiply" lowers here instead of getting a template of its own: every part is rendered by
its own family (under the name `<kname>_p<k>`) and planned by it, and the operands of each
step are remapped onto the op's inputs and outputs. A step may read an output an earlier
step wrote, or update an output in place (the elementwise family reads and writes the same
index, so that is safe for it).

params: {"parts": ((family, family params), ...)}            (the source: one render per part)
args:   {"steps": ({"part": k, "args": family args,
                    "ins": (("in"|"out", j), ...),            (the part's input i is this operand)
                    "outs": (j, ...)}, ...)}                   (the part's output i is output j)
"""
from __future__ import annotations

from ..program import Buf, Launch
from . import get as get_family


def _sub(kname: str, k: int) -> str:
    return f"{kname}_p{k}"


def render(kname, params, target):
    codes, entries = [], {}
    for k, (family, p) in enumerate(params["parts"]):
        code, ents = get_family(family).render(_sub(kname, k), dict(p), target)
        codes.append(code)
        entries.update(ents)
    return "\n".join(codes), entries


def _remap(a, ins, outs):
    if not isinstance(a, Buf):
        return a
    if a.kind == "out":
        return Buf("out", outs[a.index], a.byte_offset)
    kind, index = ins[a.index]
    return Buf(kind, index, a.byte_offset)


def plan(kname, params, args):
    launches = []
    for step in args["steps"]:
        k = step["part"]
        family, p = params["parts"][k]
        ins, outs = tuple(step.get("ins", ())), tuple(step.get("outs", (0,)))
        for launch in get_family(family).plan(_sub(kname, k), dict(p), step["args"]):
            launches.append(Launch(launch.entry, tuple(_remap(a, ins, outs) for a in launch.args),
                                   dict(launch.errors)))
    return launches

