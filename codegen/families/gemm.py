"""GEMM family: batched C = op(A) . op(B) for dot, batch_dot, matmul (and later FullyConnected).

params: dtype, ta, tb (the source: one compile per dtype and pair of transposes).
args:   M, N, K and the batch dims: `batch_shape` with element strides of A and B per dim
        (`a_strides`, `b_strides`; 0 broadcasts). Everything is run-time, so a new shape
        never recompiles.
"""
from __future__ import annotations

import math

from ...ir.types import DTYPES
from ..program import Buf, Launch, Meta
from ..strides import collapse
from ..templates import render as render_template
from . import _epilogue

# The type products accumulate in. Integers use unsigned arithmetic so overflow wraps
# (as NumPy's integer matmul does) instead of being undefined behaviour in C.
ACC = {  # dtype: (C type, bytes)
    "float32": ("float", 4),
    "float64": ("double", 8),
    "float16": ("float", 4),
    "int8": ("uint32_t", 4),
    "uint8": ("uint32_t", 4),
    "int32": ("uint32_t", 4),
    "int64": ("uint64_t", 8),
}

ERRORS = {1: "out of memory allocating GEMM packing buffers"}


def render(kname, params, target):
    dt = DTYPES[params["dtype"]]
    acc, gsize = ACC[dt.name]
    epi = params.get("epi")  # a fused epilogue (codegen/families/_epilogue.py): extra trailing arguments
    code = render_template(target, "gemm.j2", kname=kname, S=dt.ctype, G=acc, gsize=gsize, direct=dt.ctype == acc,
                           ta=bool(params["ta"]), tb=bool(params["tb"]), epi=bool(epi),
                           epi_code=_epilogue.code(kname, epi), epi_params=_epilogue.entry_params(epi))
    decl = (f"int {kname}(int64_t batch, int64_t M, int64_t N, int64_t K, int32_t nbd, intptr_t bmeta, "
            f"intptr_t out, intptr_t a, intptr_t b{_epilogue.entry_params(epi)});")
    return code, {kname: decl}


def plan(kname, params, args):
    M, N, K = int(args["M"]), int(args["N"]), int(args["K"])
    bshape = tuple(args.get("batch_shape", ()))
    batch = math.prod(bshape)
    if M == 0 or N == 0 or batch == 0:
        return []
    shape, (sa, sb) = collapse(bshape, [tuple(args.get("a_strides", ())), tuple(args.get("b_strides", ()))])
    if not shape:
        shape, sa, sb = (1,), (0,), (0,)
    meta = Meta.of([*shape, *sa, *sb])
    out = _epilogue.anchor_out(params.get("epi"), args)
    return [Launch(kname, (batch, M, N, K, len(shape), meta, out, Buf("in", 0), Buf("in", 1),
                           *_epilogue.launch_args(params.get("epi"), args)),
                   errors={k: f"{args.get('op', 'dot')}: {v}" for k, v in ERRORS.items()})]
