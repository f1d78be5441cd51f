"""Epilogues of the GEMM and convolution kernels (ir/ops/fused_epilogue.py builds `params["epi"]`).

An epilogue is C code the anchor's template pastes in: a struct of the extra pointers and
scalars, filled from the entry's extra arguments, and `<k>_epi(E, out, e0, len, r, c0)`,
which rewrites the run out[e0 .. e0+len) (output row r, columns c0..) that the kernel has
just finished: it reads each element back (`ta`, in the anchor's storage type, as the
unfused kernels would read it from memory), evaluates the members' let lines, and stores
the outputs (output 0 over the anchor's own run). The template calls it right after a
thread completes a block, while the block is still in cache.
"""
from __future__ import annotations

from ...ir.types import DTYPES
from ..program import Buf, Meta

_INDEX = {"e": "e", "r": "r", "c": "c0 + j", "rc": "r * E->C + c0 + j", "one": "0"}


def entry_params(epi, tail=None) -> str:
    """The extra C parameters of the entry (after its own): the other outputs, the inputs, the
    scalars; with a pooling tail, its geometry and its output."""
    if not epi:
        return ""
    outs = "".join(f", intptr_t eo{k}_" for k in range(1, len(epi["outs"])))
    ins = "".join(f", intptr_t ei{k}_" for k in range(len(epi["ins"])))
    scal = "".join(f", double es{k}" for k in range(epi["nscalars"]))
    return outs + ins + scal + (", intptr_t pmeta_, intptr_t pout_" if tail else "")


def anchor_out(epi, args):
    """The launch argument for the anchor's own output pointer: the node output the kernel's
    first value goes to, or 0 (NULL: a per-thread image buffer that only the tail reads)."""
    if not epi:
        return Buf("out", 0)
    k = args["epi"]["out_index"][0]
    return 0 if k is None else Buf("out", k)


def launch_args(epi, args, tail_geom=None) -> tuple:
    """The extra launch arguments matching entry_params."""
    if not epi:
        return ()
    a = args["epi"]
    extra = (*(Buf("out", k) for k in a["out_index"][1:]), *(Buf("in", i) for i in a["in_index"]),
             *(float(s) for s in a["scalars"]))
    return extra + ((Meta.of(tail_geom), Buf("out", 0)) if tail_geom is not None else ())


def code(kname: str, epi) -> str:
    """The struct, its initializer macro `<k>_EPI_INIT(E, row_length)` and the run function
    `<k>_epi(E, run, e0, len, r, c0)`: `run` points at the run's first element (in the anchor's
    output or an image buffer), e0 is its flat index in the anchor's output."""
    if not epi:
        return ""
    S = DTYPES[epi["S"]].ctype
    octs = [DTYPES[d].ctype for d in epi["out_dtypes"]]
    fields = ["int64_t C;"]
    fields += [f"{octs[k]}* o{k};" for k in range(1, len(octs))]
    fields += [f"const {DTYPES[d].ctype}* i{k};" for k, (d, _) in enumerate(epi["ins"])]
    fields += [f"double s{k};" for k in range(epi["nscalars"])]
    init = ["(C_)"] + [f"({octs[k]}*)eo{k}_" for k in range(1, len(octs))]
    init += [f"(const {DTYPES[d].ctype}*)ei{k}_" for k, (d, _) in enumerate(epi["ins"])]
    init += [f"es{k}" for k in range(epi["nscalars"])]
    body = [f"      const {S} ta = out[j];"]
    body += [f"      const {DTYPES[d].acc} v{k} = ({DTYPES[d].acc})E->i{k}[{_INDEX[kind]}];"
             for k, (d, kind) in enumerate(epi["ins"])]
    body += [f"      const {DTYPES[d].ctype} t{k} = ({DTYPES[d].ctype})({expr});"
             for k, (d, expr) in enumerate(epi["lets"])]
    body += [f"      {'out[j]' if k == 0 else f'E->o{k}[e]'} = ({octs[k]}){'ta' if m == -1 else f't{m}'};"
             for k, m in enumerate(epi["outs"])]
    scal = "".join(f"  const double s{k} = E->s{k};\n" for k in range(epi["nscalars"]))
    nl = "\n"
    return f"""
typedef struct {{ {' '.join(fields)} }} {kname}_epi_t;
#define {kname}_EPI_INIT(E, C_) const {kname}_epi_t E = {{ {', '.join(init)} }}
/* the fused epilogue over one run of the anchor's output: out[0 .. len), flat index e0.., row r,
   columns c0.. */
static inline void {kname}_epi(const {kname}_epi_t* E, {S}* out, int64_t e0, int64_t len, int64_t r, int64_t c0) {{
  (void)r; (void)c0; (void)E;
{scal}  #pragma omp simd
  for (int64_t j = 0; j < len; j++) {{
      const int64_t e = e0 + j;
      (void)e;
{nl.join(body)}
  }}
}}
"""
