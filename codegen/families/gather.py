"""Gather family: reads or writes through integer indices (take, pick, gather_nd, scatter_nd,
advanced indexing). See templates/c/gather.j2 for the addressing.

params: data_dtype, val_dtype, idx_dtype, mode ("clip" | "wrap" | "raise"), scatter (bool)
args:   shape, dst, vst, ist (per result dim: element strides of data, value, index),
        X, ds, axes (per index component: axis size, data stride, axis number for messages),
        isk (index stride between components), data/val/idx: operand refs ("in"|"out", j),
        data_offset, val_offset (elements), pre: (("copy_bytes", nbytes, src_ref) |
        ("zero_bytes", nbytes), ...) run first.
"""
from __future__ import annotations

import math

from ...ir.types import DTYPES
from ..program import Buf, Launch, Meta
from ..strides import collapse
from ..templates import render as render_template
from .copies import render_bytes


def render(kname, params, target):
    code = render_template(target, "gather.j2", kname=kname, data=DTYPES[params["data_dtype"]],
                           val=DTYPES[params["val_dtype"]], idx=DTYPES[params["idx_dtype"]],
                           mode=params["mode"], scatter=params["scatter"])
    entries = {f"{kname}_run": f"int {kname}_run(int32_t ndim, int32_t K, intptr_t meta_, intptr_t data_, "
                               f"intptr_t val_, intptr_t idx_);"}
    if params["scatter"]:
        bcode, bents = render_bytes(kname, target)
        code += "\n" + bcode
        entries.update(bents)
    return code, entries


def _buf(ref, byte_offset=0):
    return Buf(ref[0], ref[1], byte_offset)


def plan(kname, params, args):
    launches = []
    for step in args.get("pre", ()):
        if step[0] == "copy_bytes":
            launches.append(Launch(f"{kname}_copy_bytes", (step[1], Buf("out", 0), _buf(step[2]))))
        elif step[1] > 0:
            launches.append(Launch(f"{kname}_zero_bytes", (step[1], Buf("out", 0))))
    shape = tuple(args["shape"])
    if math.prod(shape) == 0:
        return launches
    shape, (dst, vst, ist) = collapse(shape, [tuple(args["dst"]), tuple(args["vst"]), tuple(args["ist"])])
    if not shape:
        shape, dst, vst, ist = (1,), (0,), (0,), (0,)
    X, ds = tuple(args["X"]), tuple(args["ds"])
    meta = Meta.of([*shape, *dst, *vst, *ist, *X, *ds, args["isk"]])
    dsize = DTYPES[params["data_dtype"]].itemsize
    vsize = DTYPES[params["val_dtype"]].itemsize
    errors = {k + 1: f"index out of range for axis {a} of size {n}"
              + (" (mode='raise')" if params["mode"] == "raise" else "")
              for k, (a, n) in enumerate(zip(args["axes"], X))}
    launches.append(Launch(f"{kname}_run", (len(shape), len(X), meta,
                                            _buf(args["data"], args.get("data_offset", 0) * dsize),
                                            _buf(args["val"], args.get("val_offset", 0) * vsize),
                                            _buf(args["idx"])), errors))
    return launches
