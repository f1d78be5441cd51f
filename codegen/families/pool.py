"""Pooling family: forward and backward of max / avg / sum / lp pooling (pool.j2).

params: mode ('fwd' | 'bwd'), dtype, pool_type, p (lp's p_value), count_include_pad.
args:   op and geom (ir/ops/pool.py: pool_lowering): every size is run-time.
"""
from __future__ import annotations

from ...ir.types import DTYPES
from ..program import Buf, Launch, Meta
from ..templates import render as render_template

_LOWEST = {"float32": "-FLT_MAX", "float64": "-DBL_MAX", "float16": "-65504.0f", "int8": "INT8_MIN",
           "uint8": "0", "int32": "INT32_MIN", "int64": "INT64_MIN"}


ERRORS = {1: "out of memory for the pooling's work buffers"}


def _acc(dtype):
    if not DTYPES[dtype].is_float:
        return "int64_t"
    return "double" if dtype == "float64" else "float"


def render(kname, params, target):
    dtype, kind, p = params["dtype"], params["pool_type"], int(params["p"])
    if kind not in ("max", "avg", "sum", "lp") or p not in (1, 2, 3) or params["mode"] not in ("fwd", "bwd"):
        raise ValueError(f"pool family: bad parameters {params}")
    if kind == "max":
        init, combine, finish = _LOWEST[dtype], "(v > acc[j] ? v : acc[j])", "acc[j]"
    else:
        power = {1: "v", 2: "v * v", 3: "v * v * v"}[p if kind == "lp" else 1]
        init, combine = "0", f"acc[j] + {power}"
        finish = {1: "acc[j]", 2: "sqrt(acc[j])", 3: "cbrt(acc[j])"}[p if kind == "lp" else 1]
    code = render_template(target, "pool.j2", kname=kname, S=DTYPES[dtype].ctype, A=_acc(dtype),
                           M=f"uint{8 * DTYPES[dtype].itemsize}_t", mode=params["mode"],
                           pool_type=kind, p=p, count_include_pad=bool(params["count_include_pad"]),
                           init=init, combine=combine, finish=finish)
    if params["mode"] == "fwd":
        decl = f"int {kname}(intptr_t meta, intptr_t out, intptr_t in);"
    else:
        decl = f"int {kname}(intptr_t meta, intptr_t out, intptr_t dy, intptr_t x, intptr_t y);"
    return code, {kname: decl}


def plan(kname, params, args):
    geom = tuple(int(v) for v in args["geom"])
    ins = (Buf("in", 0),) if params["mode"] == "fwd" else (Buf("in", 0), Buf("in", 1), Buf("in", 2))
    errors = {k: f"{args.get('op', 'Pooling')}: {v}" for k, v in ERRORS.items()}
    return [Launch(kname, (Meta.of(geom), Buf("out", 0), *ins), errors=errors)]
