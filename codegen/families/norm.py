"""Norm family: BatchNorm, LayerNorm and InstanceNorm forward and backward (templates/c/norm.j2).

params: kind ("bn" | "ln" | "in"), dtype (data), pdtype (gamma, beta, statistics)
args:   stage ("fwd" | "bwd"), shape (the three dims the kind works on), eps;
        bn: momentum, train, fix_gamma

Operands (inputs -> outputs):
  bn fwd: x, gamma, beta, moving_mean, moving_var -> out, mean, inv_std, new_moving_mean, new_moving_var
  bn bwd: dy, x, gamma, mean, inv_std             -> dx, dgamma, dbeta
  ln fwd: x, gamma, beta                          -> out, mean, std
  ln bwd: dy, x, gamma, mean, std                 -> dx, dgamma, dbeta
  in fwd: x, gamma, beta                          -> out, mean, var
  in bwd: dy, x, gamma, mean, var                 -> dx, dgamma, dbeta
"""
from __future__ import annotations

from ...ir.types import DTYPES
from ..program import Buf, Launch
from ..templates import render as render_template

ERRORS = {1: "out of memory for the partial sums of a normalization layer"}

_FWD = "(int64_t a0, int64_t a1, int64_t a2, intptr_t x_, intptr_t gamma_, intptr_t beta_"
_BWD = ("(int64_t a0, int64_t a1, int64_t a2, intptr_t dy_, intptr_t x_, intptr_t gamma_, intptr_t s0_, "
        "intptr_t s1_, intptr_t dx_, intptr_t dgamma_, intptr_t dbeta_")


def render(kname, params, target):
    kind = params["kind"]
    dt, pt = DTYPES[params["dtype"]], DTYPES[params["pdtype"]]
    code = render_template(target, "norm.j2", kname=kname, kind=kind, ctype=dt.ctype, ptype=pt.ctype,
                           acc="double" if "float64" in (dt.name, pt.name) else "float")
    if kind == "bn":
        fwd = (f"{_FWD}, intptr_t mmean_, intptr_t mvar_, intptr_t out_, intptr_t mean_, intptr_t var_, "
               f"intptr_t nmm_, intptr_t nmv_, double eps, double momentum, int64_t train, int64_t fix_gamma)")
        bwd = f"{_BWD}, int64_t train, int64_t fix_gamma)"
    elif kind == "ln":
        fwd = f"{_FWD}, intptr_t out_, intptr_t mean_, intptr_t std_, double eps)"
        bwd = f"{_BWD})"
    else:
        fwd = f"{_FWD}, intptr_t out_, intptr_t mean_, intptr_t var_, double eps)"
        bwd = f"{_BWD}, double eps)"
    return code, {f"{kname}_{kind}_fwd": f"int {kname}_{kind}_fwd{fwd};",
                  f"{kname}_{kind}_bwd": f"int {kname}_{kind}_bwd{bwd};"}


def plan(kname, params, args):
    kind, stage = params["kind"], args["stage"]
    a0, a1, a2 = (int(d) for d in args["shape"])
    if a0 * a1 * a2 == 0 and not (kind == "bn" and a1 > 0):
        return []  # bn still writes its (empty-batch) statistics and zero parameter gradients
    ins = tuple(Buf("in", i) for i in range(5 if stage == "bwd" or kind == "bn" else 3))
    outs = tuple(Buf("out", i) for i in range(5 if stage == "fwd" and kind == "bn" else 3))
    tail = ()
    if kind == "bn":
        tail = (float(args["eps"]), float(args["momentum"])) if stage == "fwd" else ()
        tail += (int(bool(args["train"])), int(bool(args["fix_gamma"])))
    elif stage == "fwd" or kind == "in":
        tail = (float(args["eps"]),)
    return [Launch(f"{kname}_{kind}_{stage}", (a0, a1, a2, *ins, *outs, *tail), dict(ERRORS))]
