"""RNN family: MXNet's fused recurrent layer (ir/ops/rnn.py) as one C time loop (rnn.j2).

Forward (`kind` fwd): per layer and direction, one GEMM projects the inputs of every time step
(T*N x C by G*H, as cuDNN does), then the time loop runs one GEMM of the hidden state per step
and the gate nonlinearities fused in one pass over (batch, hidden). Backward (`kind` bwd):
backprop through time, a GEMM per step for the hidden-state gradient, then one GEMM each for
the input-to-hidden and hidden-to-hidden weight gradients and the input gradient.
The GEMMs are the gemm family's blocked kernel (gemm.j2), rendered into the same source under
`<kname>_g<ta><tb>` and called from the time loop.

params: dtype (float32 / float64), mode (rnn_relu, rnn_tanh, lstm, gru), clip (none / clip /
        nan: LSTM cell state clipping, NaN clipped to the minimum), seq (sequence_length dtype
        or None), kind (fwd / bwd).
args:   meta (the workspace layout of ir/ops/rnn.py: sizes and offsets; every size is run-time),
        p (dropout), clip (min, max), and where the optional operands are.
"""
from __future__ import annotations

from ...ir.types import DTYPES
from ..program import RNG, Buf, Launch, Meta
from ..templates import render as render_template
from . import gemm

MODES = ("rnn_relu", "rnn_tanh", "lstm", "gru")
GEMMS = {"fwd": ((0, 1),), "bwd": ((0, 1), (0, 0), (1, 0))}


def _gemm_name(kname, ta, tb):
    return f"{kname}_g{ta}{tb}"


def render(kname, params, target):
    dtype, mode, kind = params["dtype"], params["mode"], params["kind"]
    if dtype not in ("float32", "float64"):
        raise ValueError(f"rnn family: dtype {dtype} is not supported (float32, float64)")
    if mode not in MODES or kind not in GEMMS or params["clip"] not in ("none", "clip", "nan"):
        raise ValueError(f"rnn family: bad params {params!r}")
    codes = [gemm.render(_gemm_name(kname, ta, tb), {"dtype": dtype, "ta": ta, "tb": tb}, target)[0]
             for ta, tb in GEMMS[kind]]
    seq = params["seq"]
    code = render_template(target, "rnn.j2", kname=kname, S=DTYPES[dtype].ctype, mode=mode, kind=kind,
                           clip=params["clip"], Q=DTYPES[seq].ctype if seq else None,
                           gemms={f"{ta}{tb}": _gemm_name(kname, ta, tb) for ta, tb in GEMMS[kind]})
    if kind == "fwd":
        decl = (f"int {kname}(intptr_t meta, intptr_t out, intptr_t hy, intptr_t cy, intptr_t ws, intptr_t x, "
                f"intptr_t w, intptr_t h0, intptr_t c0, intptr_t seq, intptr_t rng, double p, double lo, "
                f"double hi);")
    else:
        decl = (f"int {kname}(intptr_t meta, intptr_t dx, intptr_t dw, intptr_t dh0, intptr_t dc0, intptr_t wsb, "
                f"intptr_t x, intptr_t w, intptr_t h0, intptr_t c0, intptr_t seq, intptr_t wsf, intptr_t dy, "
                f"intptr_t dhy, intptr_t dcy, double lo, double hi);")
    return "\n".join(codes) + "\n" + code, {kname: decl}


def _errors(op, T):
    return {1: f"{op}: out of memory for the GEMM packing buffers",
            2: f"{op}: sequence_length values must lie in [1, {T}] (1 to the sequence length T)"}


def plan(kname, params, args):
    meta = tuple(int(v) for v in args["meta"])
    lo, hi = args["clip"]
    T = meta[0]
    if params["kind"] == "fwd":
        has_cell, has_seq = args["ins"]
        hy, cy, _ = args["outs"]
        drop = bool(meta[7])
        seq = Buf("in", 3 + int(has_cell)) if has_seq else 0
        launch = (Meta.of(meta), Buf("out", 0), Buf("out", 1) if hy else 0, Buf("out", 2) if cy else 0,
                  Buf("out", args["ws"]), Buf("in", 0), Buf("in", 1), Buf("in", 2),
                  Buf("in", 3) if has_cell else 0, seq, RNG if drop else 0, float(args["p"]), float(lo), float(hi))
        return [Launch(kname, launch, errors=_errors("RNN", T))]
    pc, ps, pws, pdy, pdhy, pdcy = args["pos"]

    def opt(k):
        return Buf("in", k) if k >= 0 else 0

    launch = (Meta.of(meta), Buf("out", 0), Buf("out", 1), Buf("out", 2), Buf("out", 3) if args["lstm"] else 0,
              Buf("out", args["ws"]), Buf("in", 0), Buf("in", 1), Buf("in", 2), opt(pc), opt(ps), Buf("in", pws),
              Buf("in", pdy), opt(pdhy), opt(pdcy), float(lo), float(hi))
    return [Launch(kname, launch, errors=_errors("_backward_RNN", T))]
