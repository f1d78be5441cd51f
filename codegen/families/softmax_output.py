"""Softmax-output gradient family: SoftmaxOutput's backward over (outer, K, inner), softmax along K.

(softmax - one-hot(label)) * scale, with label smoothing, ignore_label, 'valid' normalization
counted in the kernel, and an optional head gradient (out_grad=True). Inputs: output, label[, og].
(The plain softmax gradient is the `softmax` family's backward kernel.)

params: dtype (data), label_dtype, use_ignore, out_grad
args:   shape (outer, K, inner), nlabel, valid, scale, on, off, ignore
"""
from __future__ import annotations

from ...ir.types import DTYPES
from ..program import Buf, Launch
from ..templates import render as render_template


def render(kname, params, target):
    dt = DTYPES[params["dtype"]]
    code = render_template(target, "softmax_output.j2", kname=kname, ctype=dt.ctype, acc=dt.acc,
                           ltype=DTYPES[params.get("label_dtype", params["dtype"])].ctype,
                           use_ignore=bool(params.get("use_ignore", False)),
                           out_grad=bool(params.get("out_grad", False)))
    entries = {
        f"{kname}_output_bwd": f"int {kname}_output_bwd(int64_t outer, int64_t K, int64_t inner, intptr_t grad_, "
                               f"intptr_t y_, intptr_t label_, intptr_t og_, int64_t nlabel, int64_t valid, "
                               f"double scale_, double on_, double off_, double ignore_);",
    }
    return code, entries


def plan(kname, params, args):
    outer, K, inner = (int(d) for d in args["shape"])
    if outer * K * inner == 0:
        return []
    og = Buf("in", 2) if params.get("out_grad") else 0
    return [Launch(f"{kname}_output_bwd", (outer, K, inner, Buf("out", 0), Buf("in", 0), Buf("in", 1), og,
                                           int(args["nlabel"]), int(bool(args["valid"])), float(args["scale"]),
                                           float(args["on"]), float(args["off"]), float(args["ignore"])))]

