"""Gather family: reads or writes through integer indices (take, pick, gather_nd, scatter_nd,
advanced indexing). See templates/c/gather.j2 for the addressing.

params: data_dtype, val_dtype, idx_dtype, mode ("clip" | "wrap" | "raise"), scatter (bool),
        accumulate (optional, with scatter: data += val, repeated indices add up; gradients)
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
                           mode=params["mode"], scatter=params["scatter"],
                           accumulate=params.get("accumulate", False))
    entries = {f"{kname}_run": f"int {kname}_run(int32_t ndim, int32_t K, intptr_t meta_, intptr_t data_, "
                               f"intptr_t val_, intptr_t idx_);"}
    if params.get("accumulate"):
        entries[f"{kname}_add"] = (f"int {kname}_add(int32_t ndim, int32_t np, int32_t K, intptr_t meta_, "
                                   f"intptr_t data_, intptr_t val_, intptr_t idx_);")
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
    npar = None
    if params.get("accumulate"):
        shape, dst, vst, ist, npar = _order_for_add(shape, dst, vst, ist, X, ds)
    meta = Meta.of([*shape, *dst, *vst, *ist, *X, *ds, args["isk"]])
    dsize = DTYPES[params["data_dtype"]].itemsize
    vsize = DTYPES[params["val_dtype"]].itemsize
    errors = {k + 1: f"index out of range for axis {a} of size {n}"
              + (" (mode='raise')" if params["mode"] == "raise" else "")
              for k, (a, n) in enumerate(zip(args["axes"], X))}
    bufs = (_buf(args["data"], args.get("data_offset", 0) * dsize),
            _buf(args["val"], args.get("val_offset", 0) * vsize), _buf(args["idx"]))
    if npar is None:
        launches.append(Launch(f"{kname}_run", (len(shape), len(X), meta, *bufs), errors))
    else:
        launches.append(Launch(f"{kname}_add", (len(shape), npar, len(X), meta, *bufs), errors))
    return launches


def _order_for_add(shape, dst, vst, ist, X, ds):
    """Scatter-add: dims [parallel..., serial...] and the parallel count.

    Dims with data stride 0 are serial (their elements may meet at one position). The others
    run in parallel when their positions, together with every index component's range, form a
    mixed radix (sorted by stride, each stride exceeds the span of all smaller ones): then two
    elements of different parallel coordinates can never reach one position, whatever the
    indices. Otherwise every dim is serial (correct, single-threaded).
    """
    par = [k for k in range(len(shape)) if dst[k] != 0]
    ser = [k for k in range(len(shape)) if dst[k] == 0]
    digits = sorted([(abs(dst[k]), shape[k]) for k in par] + [(s, n) for s, n in zip(ds, X) if n > 1])
    span = 0
    for stride, n in digits:
        if stride <= span:
            par, ser = [], list(range(len(shape)))
            break
        span += (n - 1) * stride
    order = par + ser
    shape, dst, vst, ist = (tuple(v[k] for k in order) for v in (shape, dst, vst, ist))
    return shape, dst, vst, ist, len(par)
