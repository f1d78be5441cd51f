"""Softmax family: softmax / log_softmax over one axis, seen as (outer, axis_len, inner).

The dtypes and the log flag decide the source; the shape, the axis and the temperature are
run-time arguments, so one compile serves every shape and temperature. With params["backward"]
the kernel is the input gradient (out grad, output -> gradient of the input, in_dtype).
"""
from __future__ import annotations

import math

from ...ir.types import DTYPES
from ..program import Buf, Launch
from ..templates import render as render_template


def render(kname, params, target):
    octype = DTYPES[params["out_dtype"]].ctype
    backward = bool(params.get("backward"))
    code = render_template(target, "softmax.j2", kname=kname, ctype=DTYPES[params["in_dtype"]].ctype,
                           octype=octype, acc=params["acc"], log=params["log"], backward=backward,
                           rmw=octype == params["acc"])  # the output can hold exp() exactly: rescale it in place
    ins = "intptr_t g_, intptr_t y_" if backward else "intptr_t in_"
    decl = f"int {kname}(int64_t outer, int64_t L, int64_t inner, intptr_t out_, {ins}, double inv_t_);"
    return code, {kname: decl}


def plan(kname, params, args):
    shape, axis = tuple(args["shape"]), int(args["axis"])
    if math.prod(shape) == 0:
        return []
    outer, L, inner = math.prod(shape[:axis]), shape[axis], math.prod(shape[axis + 1:])
    ins = (Buf("in", 0), Buf("in", 1)) if params.get("backward") else (Buf("in", 0),)
    return [Launch(kname, (outer, L, inner, Buf("out", 0), *ins, float(args["inv_temperature"])))]
