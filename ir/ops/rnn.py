"""The fused recurrent layer of MXNet 1.x: RNN (vanilla relu/tanh, LSTM, GRU; stacked, bidirectional).

data is (T, N, C) (layout TNC). `parameters` is ONE flat vector packed as MXNet / cuDNN pack it:
every weight first -- for each layer, for each direction: i2h (G*H, in), h2h (G*H, H) -- then every
bias -- for each layer, for each direction: i2h (G*H,), h2h (G*H,) -- with G gates (1, LSTM 4:
i, f, g, o, GRU 3: r, z, n), H = state_size, in = C for the first layer and dirs*H above it.
GRU follows MXNet / cuDNN: n = tanh(W_in x + b_in + r * (W_hn h + b_hn)), h' = (1 - z) n + z h.

The op lowers to the `rnn` kernel family: the whole time loop in generated C (one GEMM for the
input projection of every step, one GEMM of the hidden state per step, the gates fused). A hidden
last output, `workspace` (bytes), is the kernel's scratch; in training (`_train`) it keeps what
backprop through time needs (gates, cell states, hidden states, each layer's input and dropout
mask), and `_backward_RNN` reads it. When the forward ran without saving (inference), the backward
recomputes the forward into its own workspace first.
"""
from __future__ import annotations

import math

from ..attrs import Attr
from ..errors import MXNetError
from ..registry import Lowering, OpDef, ShapeError, register
from ..types import DTYPES, TensorType
from ._layers import parsed, raise_shape
from ._pieces import Pieces
from ._shape import fmt

MODES = ("rnn_relu", "rnn_tanh", "lstm", "gru")
GATES = {"rnn_relu": 1, "rnn_tanh": 1, "lstm": 4, "gru": 3}
_FLOATS = ("float32", "float64")

RNN_ATTRS = {
    "state_size": Attr("int", low=1, doc="size of the hidden state of each layer"),
    "num_layers": Attr("int", low=1, doc="number of stacked layers"),
    "bidirectional": Attr("bool", False, doc="whether to use bidirectional recurrent layers"),
    "mode": Attr("enum", choices=set(MODES), doc="rnn_relu, rnn_tanh, lstm or gru"),
    "p": Attr("float", 0.0, doc="dropout rate on the outputs of each layer but the last (training only)"),
    "state_outputs": Attr("bool", False, doc="whether to output the final states (hy, and cy for LSTM)"),
    "projection_size": Attr("int", None, doc="LSTM projection size (not supported: must be None)"),
    "lstm_state_clip_min": Attr("float", None, doc="minimum of the LSTM cell state (with lstm_state_clip_max)"),
    "lstm_state_clip_max": Attr("float", None, doc="maximum of the LSTM cell state (with lstm_state_clip_min)"),
    "lstm_state_clip_nan": Attr("bool", False, doc="clip NaN cell states to the minimum instead of propagating"),
    "use_sequence_length": Attr("bool", False, doc="take a sequence_length input (N,) of valid lengths"),
}


def rnn_inputs(attrs) -> tuple:
    names = ["data", "parameters", "state"]
    if attrs["mode"] == "lstm":
        names.append("state_cell")
    if attrs["use_sequence_length"]:
        names.append("sequence_length")
    return tuple(names)


def _dirs(attrs) -> int:
    return 2 if attrs.get("bidirectional") else 1


def param_size(attrs, input_size: int) -> int:
    """GetRnnParamSize: weights and biases of every layer and direction."""
    H, L, D, G = attrs["state_size"], attrs["num_layers"], _dirs(attrs), GATES[attrs["mode"]]
    first = (input_size + H + 2) * G * H * D
    other = (D * H + H + 2) * G * H * D
    return first + (L - 1) * other


def _num_vis(attrs) -> int:
    return 1 + (2 if attrs["mode"] == "lstm" else 1) * bool(attrs["state_outputs"])


def _check_attrs(op, attrs):
    if attrs.get("projection_size") is not None:
        raise MXNetError(f"{op}: projection_size={attrs['projection_size']} (LSTMP) is not supported by mxcc; "
                         f"leave it None")
    if not 0.0 <= attrs["p"] <= 1.0:
        raise ValueError(f"{op}: dropout p must be in [0, 1], got {attrs['p']}")
    lo, hi = attrs["lstm_state_clip_min"], attrs["lstm_state_clip_max"]
    if (lo is None) != (hi is None):
        raise ValueError(f"{op}: lstm_state_clip_min and lstm_state_clip_max must be given together, "
                         f"got min={lo}, max={hi}")
    if lo is not None:
        if attrs["mode"] != "lstm":
            raise ValueError(f"{op}: lstm_state_clip_min/max apply to mode='lstm' only, got mode={attrs['mode']!r}")
        if not lo <= hi:
            raise ValueError(f"{op}: lstm_state_clip_min={lo} must not exceed lstm_state_clip_max={hi}")


def _clip_kind(attrs) -> str:
    if attrs["lstm_state_clip_min"] is None:
        return "none"
    return "nan" if attrs["lstm_state_clip_nan"] else "clip"


# ---- workspace layouts (in elements of the data dtype); the C kernel reads the offsets from meta ----
def fwd_layout(T, N, C, H, L, D, mode, save, drop) -> list:
    """[T, N, C, H, L, D, save, drop, ld_stride, off_extra, off_hseq, off_x, x_stride, off_mask,
    off_step, total]: per (layer, direction) a block of gates (T*N*G), extra (cell state for LSTM,
    W_hn h + b_hn for GRU; T*N*H) and hidden states (T*N*H) -- one block reused when not saving --,
    the inputs of layers 1.. (each T*N*D*H; two alternating when not saving), dropout masks, and
    the per-step GEMM output (N*G)."""
    G = GATES[mode] * H
    E = H if mode in ("lstm", "gru") else 0
    blk = T * N * (G + E + H)
    nld = L * D if save else 1
    X = T * N * D * H
    nx = (L - 1) if save else min(2, L - 1)
    nmask = (L - 1) if drop else 0
    off_x = nld * blk
    off_mask = off_x + nx * X
    off_step = off_mask + nmask * X
    total = off_step + N * G
    return [T, N, C, H, L, D, int(save), int(drop), blk if save else 0, T * N * G, T * N * (G + E),
            off_x, X, off_mask, off_step, total]


def bwd_layout(T, N, C, H, L, D, mode, saved, drop) -> tuple[list, list]:
    """(forward layout of the saved state, [saved, off_dgi, off_dgh, off_hpv, off_dxt, off_dyb, off_dh,
    off_dc, off_tmp, off_save, total]): gate gradients of one (layer, direction) (T*N*G; a second
    array for GRU, whose h2h gradient differs in the n gate), the previous hidden states of each
    step (T*N*H), the second direction's input gradient (T*N*in), two alternating layer output
    gradients (T*N*D*H), running dh, dc and a GEMM result (N*H each), and -- when the forward did
    not save -- room to recompute it."""
    fl = fwd_layout(T, N, C, H, L, D, mode, True, drop and saved)
    G = GATES[mode] * H
    TN = T * N
    off = 0
    offs = []
    for size in (TN * G, TN * G if mode == "gru" else 0, TN * H, TN * max(C, D * H) if D == 2 else 0,
                 2 * TN * D * H if L > 1 else 0, N * H, N * H, N * H):
        offs.append(off)
        off += size
    off_save = off
    total = off + (0 if saved else fl[-1])
    return fl, [int(saved), *offs, off_save, total]


def _ws_type(elems, dtype) -> TensorType:
    return TensorType((elems * DTYPES[dtype].itemsize,), "uint8")


def _geometry(op, in_types, attrs):
    """(T, N, C, H, L, D) after checking every input."""
    _check_attrs(op, attrs)
    names = rnn_inputs(attrs)
    data = in_types[0]
    if data.dtype not in _FLOATS:
        raise TypeError(f"{op}: data must be float32 or float64, got {data.dtype}")
    if len(data.shape) != 3:
        raise_shape(op, f"data must be 3-D (sequence length, batch, input size) in layout TNC, got shape "
                        f"{fmt(data.shape)}")
    T, N, C = data.shape
    H, L, D = attrs["state_size"], attrs["num_layers"], _dirs(attrs)
    want = {"parameters": (param_size(attrs, C),), "state": (L * D, N, H), "state_cell": (L * D, N, H),
            "sequence_length": (N,)}
    for name, t in zip(names[1:], in_types[1:]):
        if name != "sequence_length" and t.dtype != data.dtype:
            raise TypeError(f"{op}: input '{name}' has dtype {t.dtype}, expected {data.dtype} (the dtype of data)")
        if tuple(t.shape) != want[name]:
            extra = (f" (num_layers={L} x directions={D}, batch={N}, state_size={H})" if name.startswith("state")
                     else f" (mode={attrs['mode']}, num_layers={L}, bidirectional={attrs['bidirectional']}, "
                          f"state_size={H}, input size={C})" if name == "parameters" else "")
            raise_shape(op, f"input '{name}' has shape {fmt(t.shape)}, expected {fmt(want[name])}{extra}")
    return T, N, C, H, L, D


def _save(attrs) -> bool:
    return bool(attrs["_train"])


def _drop(attrs) -> bool:
    return bool(attrs["_train"]) and attrs["p"] > 0 and attrs["num_layers"] > 1


def _infer(in_types, attrs):
    T, N, C, H, L, D = _geometry("RNN", in_types, attrs)
    dt = in_types[0].dtype
    outs = [TensorType((T, N, D * H), dt)]
    if attrs["state_outputs"]:
        outs.append(TensorType((L * D, N, H), dt))
        if attrs["mode"] == "lstm":
            outs.append(TensorType((L * D, N, H), dt))
    lay = fwd_layout(T, N, C, H, L, D, attrs["mode"], _save(attrs), _drop(attrs))
    outs.append(_ws_type(lay[-1], dt))
    return outs


def _infer_args(in_types, attrs):
    data = in_types[0]
    if data is None or data.shape is None or len(data.shape) != 3 or None in data.shape:
        return None
    _check_attrs("RNN", attrs)
    T, N, C = data.shape
    H, L, D = attrs["state_size"], attrs["num_layers"], _dirs(attrs)
    shapes = {"data": None, "parameters": (param_size(attrs, C),), "state": (L * D, N, H),
              "state_cell": (L * D, N, H), "sequence_length": (N,)}
    return [None if shapes[n] is None else TensorType(shapes[n], data.dtype) for n in rnn_inputs(attrs)]


def _params(dtype, attrs, seq_dtype, kind) -> dict:
    return {"dtype": dtype, "mode": attrs["mode"], "clip": _clip_kind(attrs), "seq": seq_dtype, "kind": kind}


def _clip_args(attrs) -> tuple:
    lo, hi = attrs["lstm_state_clip_min"], attrs["lstm_state_clip_max"]
    return (0.0, 0.0) if lo is None else (float(lo), float(hi))


def _lower(in_types, out_types, attrs):
    T, N, C = in_types[0].shape
    H, L, D = attrs["state_size"], attrs["num_layers"], _dirs(attrs)
    names = rnn_inputs(attrs)
    seq = in_types[names.index("sequence_length")].dtype if attrs["use_sequence_length"] else None
    lay = fwd_layout(T, N, C, H, L, D, attrs["mode"], _save(attrs), _drop(attrs))
    nvis = _num_vis(attrs)
    return Lowering("rnn", _params(in_types[0].dtype, attrs, seq, "fwd"),
                    {"meta": tuple(lay), "p": float(attrs["p"]), "clip": _clip_args(attrs),
                     "ins": tuple(n in names for n in ("state_cell", "sequence_length")),
                     "outs": (nvis > 1, nvis > 2, nvis), "ws": len(out_types) - 1})


def _grad(b, node, ogs):
    a = parsed(node)
    given = {k: v for k, v in node.attrs.items() if k != "_train"}
    args = [*node.inputs, node.outputs[-1], ogs[0]]
    if a["state_outputs"]:
        args.extend(ogs[1:_num_vis(a)])
    outs = b.op("_backward_RNN", *args, **given, _saved=bool(a["_train"]))
    grads = list(outs[:-1])
    if a["use_sequence_length"]:
        grads.append(None)
    return grads


register(OpDef(
    "RNN", ("data", "parameters", "state", "state_cell", "sequence_length"), _infer, _lower,
    attrs=dict(RNN_ATTRS), grad=_grad, inputs_fn=rnn_inputs, infer_args=_infer_args, train_dependent=True,
    num_outputs=lambda attrs: _num_vis(attrs) + 1, num_visible_outputs=_num_vis,
    output_names=lambda attrs: ("output", "state_output", "statecell_output")[:_num_vis(attrs)] + ("workspace",),
    doc="Recurrent layers over data (T, N, C) in layout TNC: vanilla RNN (relu / tanh), LSTM (gates i, f, g, o) "
        "or GRU (gates r, z, n; n = tanh(W_in x + b_in + r * (W_hn h + b_hn))), num_layers stacked, optionally "
        "bidirectional. `parameters` is one flat vector: every layer's and direction's i2h and h2h weights, then "
        "their i2h and h2h biases (MXNet / cuDNN packing). state (and state_cell for LSTM) are "
        "(num_layers * directions, N, state_size). Outputs: out (T, N, directions * state_size), and with "
        "state_outputs the final hidden state (and cell state for LSTM). With use_sequence_length, "
        "sequence_length (N,) gives each sequence's valid length in [1, T]: later steps output zeros and the "
        "final states are those at each sequence's end. p is dropout between layers (training only)."))


# ---- _backward_RNN ---------------------------------------------------------------------------------------
_BWD_ATTRS = {**RNN_ATTRS, "_saved": Attr("bool", False, doc="the forward saved its state (training)")}


def _bwd_inputs(attrs) -> tuple:
    names = list(rnn_inputs(attrs)) + ["workspace", "out_grad"]
    if attrs["state_outputs"]:
        names.append("state_output_grad")
        if attrs["mode"] == "lstm":
            names.append("statecell_output_grad")
    return tuple(names)


def _bwd_num_outputs(attrs) -> int:
    return (4 if attrs["mode"] == "lstm" else 3) + 1


def _bwd_infer(in_types, attrs):
    op = "_backward_RNN"
    names = _bwd_inputs(attrs)
    nf = len(rnn_inputs(attrs))
    T, N, C, H, L, D = _geometry(op, in_types[:nf], attrs)
    dt = in_types[0].dtype
    mode = attrs["mode"]
    saved = attrs["_saved"]
    drop = saved and attrs["p"] > 0 and L > 1
    want_ws = _ws_type(fwd_layout(T, N, C, H, L, D, mode, saved, drop)[-1], dt)
    got = {n: t for n, t in zip(names, in_types)}
    if tuple(got["workspace"].shape) != want_ws.shape:
        raise_shape(op, f"workspace has shape {fmt(got['workspace'].shape)}, expected {fmt(want_ws.shape)} "
                        f"(the forward's workspace output)")
    for n, shape in (("out_grad", (T, N, D * H)), ("state_output_grad", (L * D, N, H)),
                     ("statecell_output_grad", (L * D, N, H))):
        if n in got and tuple(got[n].shape) != shape:
            raise_shape(op, f"{n} has shape {fmt(got[n].shape)}, expected {fmt(shape)}")
    outs = [TensorType(t.shape, dt) for t in in_types[:3]]
    if mode == "lstm":
        outs.append(TensorType(in_types[3].shape, dt))
    _, bl = bwd_layout(T, N, C, H, L, D, mode, saved, drop)
    outs.append(_ws_type(bl[-1], dt))
    return outs


def _bwd_lower(in_types, out_types, attrs):
    T, N, C = in_types[0].shape
    H, L, D = attrs["state_size"], attrs["num_layers"], _dirs(attrs)
    names = _bwd_inputs(attrs)
    saved = attrs["_saved"]
    drop = saved and attrs["p"] > 0 and L > 1
    fl, bl = bwd_layout(T, N, C, H, L, D, attrs["mode"], saved, drop)
    seq = in_types[names.index("sequence_length")].dtype if attrs["use_sequence_length"] else None
    pos = {n: k for k, n in enumerate(names)}
    return Lowering("rnn", _params(in_types[0].dtype, attrs, seq, "bwd"),
                    {"meta": tuple(fl) + tuple(bl), "clip": _clip_args(attrs), "pos": tuple(
                        pos.get(n, -1) for n in ("state_cell", "sequence_length", "workspace", "out_grad",
                                                 "state_output_grad", "statecell_output_grad")),
                     "lstm": attrs["mode"] == "lstm", "ws": len(out_types) - 1})


register(OpDef(
    "_backward_RNN", ("data", "parameters", "state", "state_cell", "sequence_length", "workspace", "out_grad",
                      "state_output_grad", "statecell_output_grad"),
    _bwd_infer, _bwd_lower, attrs=_BWD_ATTRS, inputs_fn=_bwd_inputs, num_outputs=_bwd_num_outputs,
    num_visible_outputs=lambda attrs: _bwd_num_outputs(attrs) - 1, hidden=True, differentiable=False,
    doc="RNN's gradients (data, parameters, state[, state_cell]) by backprop through time from the forward's "
        "workspace (recomputing the forward when it did not save)."))


# ---- _rnn_pack_params: the layer's parameters as the op's flat vector ---------------------------------------
def _pack_shapes(attrs, input_size):
    """Shapes of the separate parameters in packing order: weights then biases; per layer, per direction,
    i2h then h2h."""
    H, L, D, G = attrs["state_size"], attrs["num_layers"], _dirs(attrs), GATES[attrs["mode"]] * attrs["state_size"]
    weights = [(G, input_size if layer == 0 else D * H) if g == "i2h" else (G, H)
               for layer in range(L) for _ in range(D) for g in ("i2h", "h2h")]
    return weights + [(G,)] * (2 * L * D)


def _pack_check(in_types, attrs):
    op = "_rnn_pack_params"
    if not in_types or len(in_types[0].shape) != 3:
        raise_shape(op, "the first input must be the RNN's 3-D data (its last axis is the input size)")
    want = _pack_shapes(attrs, in_types[0].shape[-1])
    if len(in_types) != 1 + len(want):
        raise ShapeError(f"{op}: expected data and {len(want)} parameters, got {len(in_types) - 1} parameters")
    for k, (t, shape) in enumerate(zip(in_types[1:], want)):
        if tuple(t.shape) != shape:
            raise_shape(op, f"parameter {k} has shape {fmt(t.shape)}, expected {fmt(shape)}")
        if t.dtype != in_types[1].dtype:
            raise TypeError(f"{op}: parameter {k} has dtype {t.dtype}, expected {in_types[1].dtype}")
    return want


def _pack_infer(in_types, attrs):
    want = _pack_check(in_types, attrs)
    return [TensorType((sum(math.prod(s) for s in want),), in_types[1].dtype)]


def _pack_infer_args(in_types, attrs):
    data = in_types[0]
    if data is None or data.shape is None or len(data.shape) != 3 or data.shape[-1] is None:
        return None
    return [None] + [TensorType(s, data.dtype) for s in _pack_shapes(attrs, data.shape[-1])]


def _pack_lower(in_types, out_types, attrs):
    out = out_types[0]
    p, at = Pieces(), 0
    for k, t in enumerate(in_types[1:], start=1):
        n = math.prod(t.shape)
        if n:
            p.copy(TensorType((n,), t.dtype), out, (n,), src=("in", k), dst_offset=at)
        at += n
    return p.lowering()


def _pack_grad(b, node, ogs):
    grads, at = [None], 0
    for v in node.inputs[1:]:
        n = math.prod(v.type.shape)
        piece = b.op("slice_axis", ogs[0], axis=0, begin=at, end=at + n)
        grads.append(b.op("Reshape", piece, shape=tuple(v.type.shape)))
        at += n
    return grads


register(OpDef(
    "_rnn_pack_params", ("*data",), _pack_infer, _pack_lower, grad=_pack_grad, infer_args=_pack_infer_args,
    attrs={k: RNN_ATTRS[k] for k in ("state_size", "num_layers", "bidirectional", "mode")}, hidden=True,
    doc="gluon.rnn's parameters packed into RNN's flat vector: inputs are the RNN's data (for its input size "
        "only, so Symbol shape inference can size the first layer's i2h weights) and every weight, then every "
        "bias, per layer and direction, i2h then h2h (the role of MXNet's _rnn_param_concat)."))


# ---- _rnn_param_concat: MXNet's own packing op (in symbol files MXNet's gluon layers export) ---------------
def _concat_def():
    from ..registry import get

    return get("Concat")


register(OpDef(
    "_rnn_param_concat", ("*data",), lambda ins, a: _concat_def().infer(ins, a),
    lambda ins, outs, a: _concat_def().lower(ins, outs, a), grad=lambda b, n, g: _concat_def().grad(b, n, g),
    attrs={"dim": Attr("int", 1), "num_args": Attr("int", 0)}, hidden=True,
    doc="Concat under the name MXNet's gluon RNN layers use to pack their parameters (symbol files they "
        "export); shapes must be known (MXNet also infers them backwards from the RNN)."))
