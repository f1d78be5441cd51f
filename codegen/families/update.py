"""Update family: a fused optimizer step (ir/ops/optimizer.py) over flat, equal-shape buffers.

One entry reads weight, grad and the states and writes the new weight and states; the
outputs may be the inputs themselves (in place). The dtype, the state names, the rule and
the names of its scalars decide the source; the element count and the scalar values
(learning rate, decay, ...) are run-time arguments, the scalars last and in the order of
params["scalars"], so a new learning rate never recompiles.
"""
from __future__ import annotations

from ...ir.types import DTYPES
from ..program import Buf, Launch
from ..templates import render as render_template


def render(kname, params, target):
    dt = DTYPES[params["dtype"]]
    states, scalars = params["states"], params["scalars"]
    code = render_template(target, "update.j2", kname=kname, ctype=dt.ctype, T=dt.acc, states=states,
                           scalars=scalars, body=params["body"])
    decl = (f"int {kname}(int64_t count_, intptr_t w_out_" + "".join(f", intptr_t {s}_out_" for s in states)
            + ", intptr_t w_, intptr_t grad_" + "".join(f", intptr_t {s}_" for s in states)
            + "".join(f", double {c}_" for c in scalars) + ");")
    return code, {kname: decl}


def plan(kname, params, args):
    n = int(args["n"])
    if n == 0:
        return []
    k = len(params["states"])
    outs = tuple(Buf("out", j) for j in range(1 + k))
    ins = tuple(Buf("in", j) for j in range(2 + k))
    return [Launch(kname, (n, *outs, *ins, *(float(s) for s in args["scalars"])))]
