"""Random family: Philox-4x32-10 sampling (fill / sample / multinomial modes) and the first-axis shuffle.

The generator state lives in runtime/rng.py: {seed, calls} as two uint64 that every random
kernel reads through the run-time `RNG` argument (its address). A kernel takes
its call number with an atomic add when it runs, so the counter advances once per
call in execution order (the engine runs a device's calls in issue order), a plan or
a compiled graph never holds a seed, and reseeding needs neither a new plan nor a
compile. `seed()` must only be called with no random kernel in flight
(mx.random.seed waits for every device first).
"""
from __future__ import annotations

from ...ir.types import DTYPES
from ..program import RNG, Buf, Launch
from ..templates import render as render_template

_MASK64 = (1 << 64) - 1

# elements drawn from one Philox block (4 x 32 bits), per distribution and compute type
_EPB = {("uniform", "float"): 4, ("uniform", "double"): 2, ("exponential", "float"): 4,
        ("exponential", "double"): 2, ("normal", "float"): 4, ("normal", "double"): 2,
        ("randint", "int64_t"): 2}
# parameter domain of the sample mode (C over doubles P0, P1) and its error message
_CHECKS = {
    "exponential": ("P0 > 0", "lam must be > 0"),
    "gamma": ("P0 > 0 && P1 > 0", "alpha and beta must be > 0"),
    "poisson": ("P0 >= 0", "lam must be >= 0"),
    "negbin": ("P0 >= 0 && P1 > 0 && P1 <= 1", "k must be >= 0 and p in (0, 1]"),
    "gnegbin": ("P0 >= 0 && P1 >= 0", "mu and alpha must be >= 0"),
}
_ERRORS = {1: "out of memory"}


def _compute_type(dist, dtype):
    if dist == "randint":
        return "int64_t"
    return "double" if dtype == "float64" else "float"


def render(kname, params, target):
    mode = params["mode"]
    ctx = {"kname": kname, "mode": mode, "dist": params.get("dist", ""), "epb": 1, "T": "double",
           "out_ctype": "", "in_ctype": "double", "nparams": 0, "check": None, "get_prob": False}
    if mode in ("fill", "sample"):
        dist, dtype = params["dist"], params["dtype"]
        T = _compute_type(dist, dtype)
        # a rejection sampler works in double whatever it stores
        if dist not in ("uniform", "normal", "exponential", "randint"):
            T = "double"
        ctx.update(T=T, out_ctype=DTYPES[dtype].ctype, epb=_EPB.get((dist, T), 1))
        if mode == "sample":
            ctx.update(in_ctype=DTYPES[params["in_dtype"]].ctype, nparams=params["nparams"],
                       check=_CHECKS.get(dist, (None,))[0])
    elif mode == "multinomial":
        ctx.update(out_ctype=DTYPES[params["dtype"]].ctype, in_ctype=DTYPES[params["in_dtype"]].ctype,
                   get_prob=params["get_prob"])
    code = render_template(target, "random.j2", **ctx)
    if mode == "fill":
        decl = (f"int {kname}_fill(int64_t n, intptr_t out_, intptr_t rng_, double s0, double s1, double s2, "
                f"int64_t i0, int64_t i1);")
    elif mode == "sample":
        decl = (f"int {kname}_sample(int64_t n, int64_t per, intptr_t out_, intptr_t rng_, intptr_t in0_, "
                f"intptr_t in1_);")
    elif mode == "multinomial":
        decl = (f"int {kname}_multinomial(int64_t rows, int64_t k, int64_t per, intptr_t out_, intptr_t prob_, "
                f"intptr_t in_, intptr_t rng_);")
    elif mode == "shuffle":
        decl = f"int {kname}_shuffle(int64_t rows, int64_t row_bytes, intptr_t out_, intptr_t in_, intptr_t rng_);"
    else:
        raise ValueError(f"random family: unknown mode {mode!r}")
    return code, {f"{kname}_{mode}": decl}


def plan(kname, params, args):
    mode = params["mode"]
    if mode == "fill":
        n = args["n"]
        if n == 0:
            return []
        s = tuple(args.get("scalars", ())) + (0.0,) * 3
        i0, i1 = args.get("ints", (0, 0))
        return [Launch(f"{kname}_fill", (n, Buf("out", 0), RNG, *s[:3], int(i0), int(i1)), dict(_ERRORS))]
    if mode == "sample":
        n, per = args["n"], args["per"]
        if n == 0:
            return []
        in1 = Buf("in", 1) if params["nparams"] > 1 else 0
        errors = dict(_ERRORS)
        if params["dist"] in _CHECKS:
            errors[2] = f"invalid distribution parameter: {_CHECKS[params['dist']][1]}"
        return [Launch(f"{kname}_sample", (n, per, Buf("out", 0), RNG, Buf("in", 0), in1), errors)]
    if mode == "multinomial":
        rows, k, per = args["rows"], args["k"], args["per"]
        if rows * per == 0:
            return []
        prob = Buf("out", 1) if params["get_prob"] else 0
        errors = {**_ERRORS, 2: "invalid probabilities: each must be finite and >= 0",
                  3: "invalid probabilities: a distribution sums to 0"}
        return [Launch(f"{kname}_multinomial", (rows, k, per, Buf("out", 0), prob, Buf("in", 0), RNG), errors)]
    rows, row_bytes = args["rows"], args["row_bytes"]
    if rows == 0 or row_bytes == 0:
        return []
    return [Launch(f"{kname}_shuffle", (rows, row_bytes, Buf("out", 0), Buf("in", 0), RNG), dict(_ERRORS))]
