"""Linalg family: the kernels of mx.nd.linalg (template linalg.j2, which includes linalg_factor.j2,
linalg_eig.j2 and linalg_copy.j2 for the kind it renders).

params: {"kind": one of SIGNATURES or "gemmf", "dtype": "float32" | "float64"}; only the kind and
        the dtype decide the source, so flags (lower, transpose, ...), sizes and scalars are
        run-time arguments and one compile serves every shape and flag.
args:   the entry's arguments by name (see SIGNATURES), "op" (for error messages) and
        "batch_shape" (the leading dims, to name a failing matrix).

Kind "gemmf" is gemm/gemm2 with the row axis second to last: the `gemm` family's kernel computes
op(A) op(B) and an elementwise epilogue applies alpha (and beta C) in place; params then add
"ta", "tb" and "epilogue" (None, "scale" or "axpby").
"""
from __future__ import annotations

import math
import re

from ...ir.types import DTYPES
from ..program import Buf, Launch
from ..templates import render as render_template
from . import elementwise

# entry arguments in order; "name:d" is a double, outK / inK a buffer, anything else an int64
SIGNATURES = {
    "gemm": "outer inner M N K ta tb alpha:d beta:d has_c out0 in0 in1 in2",
    "syrk": "batch r c transpose alpha:d out0 in0",
    "trmm": "batch m n lower transpose rightside alpha:d out0 in0 in1",
    "trsm": "batch m n lower transpose rightside alpha:d out0 in0 in1",
    "potrf": "batch n lower out0 in0",
    "potri": "batch n lower out0 in0",
    "inverse": "batch n out0 in0",
    "det": "batch n mode out0 out1 in0",
    "detgrad": "batch n out0 in0 in1",
    "syevd": "batch n out0 out1 in0",
    "gelqf": "batch m n out0 out1 in0",
    "sumlogdiag": "batch n out0 in0",
    "diag": "batch n offset extract out0 in0",
    "trian": "batch n offset lower extract out0 in0",
    "matutil": "batch n mode out0 in0",
    "syevd_bwd": "batch n out0 in0 in1 in2",
}

# which helper sections of the template a kind needs
NEEDS = {
    "gemm": {"gemm"}, "syrk": {"gemm"}, "trmm": {"gemm"}, "trsm": {"gemm", "trsm"},
    "potrf": {"gemm", "trsm", "chol"}, "potri": {"gemm", "trsm"},
    "inverse": {"gemm", "trsm", "lu"}, "det": {"gemm", "trsm", "lu"}, "detgrad": {"gemm", "trsm", "lu"},
}

_KINDS = {
    1: "out of memory allocating workspace",
    2: "is not positive definite (Cholesky factorization failed)",
    3: "is singular",
    4: "eigenvalue iteration did not converge",
}
_BUF = re.compile(r"(out|in)(\d)")
_EPS = {"float32": "FLT_EPSILON", "float64": "DBL_EPSILON"}


class BatchErrors(dict):
    """A kernel's error codes: kind + 16 * (flat index of the first failing matrix of the batch).

    A dict of the kinds (index 0) so Launch.errors stays a plain mapping of codes to messages;
    `get` decodes any batch index into a message that names the matrix."""

    def __init__(self, op, batch_shape, kinds, what=None):
        self.op, self.batch_shape, self.what = op, tuple(batch_shape), dict(what or {})
        super().__init__({k: self._message(k, 0) for k in kinds})

    def _message(self, kind, index):
        if kind == 1:
            return _KINDS[1]
        where = "the input matrix"
        if self.batch_shape:
            pos, rest = [], index
            for d in reversed(self.batch_shape):
                pos.append(rest % d if d else 0)
                rest //= d or 1
            where = f"input matrix [{', '.join(str(p) for p in reversed(pos))}] of the batch"
        return f"{where} {self.what.get(kind, _KINDS.get(kind, f'failed (code {kind})'))}"

    def get(self, rc, default=None):
        if not isinstance(rc, int) or rc <= 0:
            return default
        kind, index = rc & 15, rc >> 4
        if kind not in _KINDS:
            return default
        return self._message(kind, index)


def render(kname, params, target):
    kind, dtype = params["kind"], params["dtype"]
    if kind == "gemmf":
        return _render_gemmf(kname, params, target)
    if kind not in SIGNATURES:
        raise ValueError(f"linalg family: unknown kind {kind!r}")
    code = render_template(target, "linalg.j2", kname=kname, kind=kind, needs=NEEDS.get(kind, set()),
                           ct=DTYPES[dtype].ctype, eps=_EPS[dtype])
    params_c = []
    for a in SIGNATURES[kind].split():
        if _BUF.fullmatch(a):
            params_c.append(f"intptr_t {a}_")
        elif a.endswith(":d"):
            params_c.append(f"double {a[:-2]}")
        else:
            params_c.append(f"int64_t {a}")
    entry = f"{kname}_{kind}"
    return code, {entry: f"int {entry}({', '.join(params_c)});"}


def plan(kname, params, args):
    kind = params["kind"]
    if kind == "gemmf":
        return _plan_gemmf(kname, params, args)
    if math.prod(args.get("batch_shape", ())) == 0 or args.get("batch", 1) == 0:
        return []
    argv = []
    for a in SIGNATURES[kind].split():
        name = a[:-2] if a.endswith(":d") else a
        m = _BUF.fullmatch(name)
        if m:
            argv.append(Buf(m.group(1), int(args.get(f"{name}_index", m.group(2)))))
        elif a.endswith(":d"):
            argv.append(float(args[name]))
        else:
            argv.append(int(args[name]))
    errors = BatchErrors(args.get("op", kind), args.get("batch_shape", ()), args.get("error_kinds", (1,)),
                         args.get("error_text"))
    return [Launch(f"{kname}_{kind}", tuple(argv), errors)]


# ---- gemm / gemm2 over the gemm family -------------------------------------------------------
def _gemm_family():
    from . import get

    return get("gemm")


def _epilogue_params(params):
    dt = params["dtype"]
    if params["epilogue"] == "scale":
        return {"expr": "a * (T)s0", "in_dtypes": (dt,), "out_dtype": dt, "nscalars": 1}
    return {"expr": "(T)s0 * a + (T)s1 * b", "in_dtypes": (dt, dt), "out_dtype": dt, "nscalars": 2}


def _render_gemmf(kname, params, target):
    code, entries = _gemm_family().render(f"{kname}_g", {"dtype": params["dtype"], "ta": params["ta"],
                                                         "tb": params["tb"]}, target)
    if params["epilogue"]:
        c2, e2 = elementwise.render(f"{kname}_e", _epilogue_params(params), target)
        code += "\n" + c2
        entries = {**entries, **e2}
    return code, entries


def _plan_gemmf(kname, params, args):
    launches = list(_gemm_family().plan(f"{kname}_g", {"dtype": params["dtype"], "ta": params["ta"],
                                                       "tb": params["tb"]}, args["gemm"]))
    if params["epilogue"] and launches:
        ep = args["epilogue"]
        # the product is in out 0: the epilogue reads it there (and C from input 2)
        remap = {0: Buf("out", 0), 1: Buf("in", 2)}
        for la in elementwise.plan(f"{kname}_e", _epilogue_params(params), ep):
            launches.append(Launch(la.entry, tuple(remap[a.index] if isinstance(a, Buf) and a.kind == "in" else a
                                                   for a in la.args), la.errors))
    return launches
