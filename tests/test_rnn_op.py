"""The fused RNN op (vanilla relu / tanh, LSTM, GRU; stacked, bidirectional, sequence lengths) against
a float64 numpy reference written here; gradients against finite differences, through a compiled
graph (forward recomputed), autograd (forward saved) and a bound executor; MXNet's errors."""
import numpy as np
import pytest
from gradcheck import check_grad
from hypothesis import given, settings
from hypothesis import strategies as st

import mxcc as mx
from mxcc.ir.errors import MXNetError, ShapeError
from mxcc.ir.ops.rnn import GATES, param_size

nd = mx.nd
MODES = ("rnn_relu", "rnn_tanh", "lstm", "gru")


# ---- the reference ---------------------------------------------------------------------------------
def _sig(a):
    return 1 / (1 + np.exp(-a))


def unpack(params, mode, C, H, L, D):
    """[(Wi, Wh, bi, bh) per layer and direction] from MXNet's flat packing: all weights, then all biases."""
    G = GATES[mode] * H
    params = np.asarray(params, np.float64)
    ws, off = [], 0
    for layer in range(L):
        n_in = C if layer == 0 else D * H
        for _ in range(D):
            wi = params[off:off + G * n_in].reshape(G, n_in)
            off += G * n_in
            wh = params[off:off + G * H].reshape(G, H)
            off += G * H
            ws.append([wi, wh])
    for k in range(L * D):
        ws[k] += [params[off:off + G], params[off + G:off + 2 * G]]
        off += 2 * G
    assert off == params.size
    return ws


def _cell(mode, x, h, c, wi, wh, bi, bh, H, lo=None, hi=None):
    a = x @ wi.T + bi
    s = h @ wh.T + bh
    if mode == "lstm":
        g = a + s
        i, f, gg, o = _sig(g[:, :H]), _sig(g[:, H:2 * H]), np.tanh(g[:, 2 * H:3 * H]), _sig(g[:, 3 * H:])
        c = f * c + i * gg
        if lo is not None:
            c = np.clip(c, lo, hi)
        return o * np.tanh(c), c
    if mode == "gru":
        r = _sig(a[:, :H] + s[:, :H])
        z = _sig(a[:, H:2 * H] + s[:, H:2 * H])
        n = np.tanh(a[:, 2 * H:] + r * s[:, 2 * H:])
        return (1 - z) * n + z * h, c
    g = a + s
    return (np.maximum(g, 0) if mode == "rnn_relu" else np.tanh(g)), c


def rnn_ref(x, params, h0, c0, mode, H, L, D, lengths=None, clip=(None, None)):
    """(out, hy, cy) in float64; steps past a sequence's length keep the state and output zeros."""
    x = np.asarray(x, np.float64)
    T, N, C = x.shape
    ws = unpack(params, mode, C, H, L, D)
    lens = np.full(N, T) if lengths is None else np.asarray(lengths).astype(int)
    hy, cy = np.zeros((L * D, N, H)), np.zeros((L * D, N, H))
    inp = x
    for layer in range(L):
        out = np.zeros((T, N, D * H))
        for d in range(D):
            k = layer * D + d
            wi, wh, bi, bh = ws[k]
            h = np.array(h0[k], np.float64)
            c = np.array(c0[k], np.float64) if c0 is not None else np.zeros((N, H))
            for t in (range(T) if d == 0 else range(T - 1, -1, -1)):
                hn, cn = _cell(mode, inp[t], h, c, wi, wh, bi, bh, H, *clip)
                valid = (t < lens)[:, None]
                h, c = np.where(valid, hn, h), np.where(valid, cn, c)
                out[t, :, d * H:(d + 1) * H] = np.where(valid, h, 0)
            hy[k], cy[k] = h, c
        inp = out
    return inp, hy, cy


def make_inputs(mode, T, N, C, H, L, D, dtype="float64", seed=0, scale=0.5):
    rng = np.random.default_rng(seed)
    attrs = {"state_size": H, "num_layers": L, "bidirectional": D == 2, "mode": mode}
    x = rng.uniform(-1, 1, (T, N, C)).astype(dtype)
    w = (rng.uniform(-1, 1, param_size(attrs, C)) * scale).astype(dtype)
    h0 = rng.uniform(-0.5, 0.5, (L * D, N, H)).astype(dtype)
    c0 = rng.uniform(-0.5, 0.5, (L * D, N, H)).astype(dtype) if mode == "lstm" else None
    return attrs, [a for a in (x, w, h0, c0) if a is not None]


def run(attrs, arrays, **kw):
    out = nd.RNN(*[nd.array(a, dtype=a.dtype) for a in arrays], **attrs, **kw)
    return [o.asnumpy() for o in out] if isinstance(out, list) else [out.asnumpy()]


def _c0(mode, arrays):
    return arrays[3] if mode == "lstm" else None


# ---- forward -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("L,D", [(1, 1), (2, 1), (1, 2), (2, 2)])
@pytest.mark.parametrize("state_outputs", [False, True])
def test_forward_matches_reference(mode, L, D, state_outputs):
    T, N, C, H = 4, 3, 5, 6
    attrs, arrays = make_inputs(mode, T, N, C, H, L, D)
    got = run(attrs, arrays, state_outputs=state_outputs)
    out, hy, cy = rnn_ref(arrays[0], arrays[1], arrays[2], _c0(mode, arrays), mode, H, L, D)
    want = [out] + ([hy] + ([cy] if mode == "lstm" else []) if state_outputs else [])
    assert len(got) == len(want)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("mode", MODES)
def test_float32_forward(mode):
    T, N, C, H, L, D = 5, 4, 7, 9, 2, 2
    attrs, arrays = make_inputs(mode, T, N, C, H, L, D, dtype="float32", seed=1)
    got = run(attrs, arrays, state_outputs=True)
    want = rnn_ref(arrays[0], arrays[1], arrays[2], _c0(mode, arrays), mode, H, L, D)
    for g, w in zip(got, want):
        assert g.dtype == np.float32
        np.testing.assert_allclose(g, w, rtol=2e-5, atol=2e-6)


@settings(max_examples=8, deadline=None, derandomize=True)
@given(T=st.integers(1, 6), N=st.integers(1, 5), C=st.integers(1, 8), H=st.integers(1, 8),
       mode=st.sampled_from(MODES), L=st.integers(1, 3), D=st.integers(1, 2))
def test_forward_any_shape(T, N, C, H, mode, L, D):
    attrs, arrays = make_inputs(mode, T, N, C, H, L, D, seed=T * 100 + N)
    got = run(attrs, arrays, state_outputs=True)
    want = rnn_ref(arrays[0], arrays[1], arrays[2], _c0(mode, arrays), mode, H, L, D)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("seq_dtype", ["int32", "float64"])
def test_sequence_length(mode, seq_dtype):
    T, N, C, H, L, D = 5, 4, 3, 4, 2, 2
    attrs, arrays = make_inputs(mode, T, N, C, H, L, D, seed=2)
    lens = np.array([5, 2, 1, 4], dtype=seq_dtype)
    got = run(attrs, arrays + [lens], state_outputs=True, use_sequence_length=True)
    want = rnn_ref(arrays[0], arrays[1], arrays[2], _c0(mode, arrays), mode, H, L, D, lengths=lens)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-12)
    # each sequence alone, cut to its length, gives the same output and final states
    for n, ln in enumerate(lens.astype(int)):
        one = [arrays[0][:ln, n:n + 1], arrays[1]] + [a[:, n:n + 1] for a in arrays[2:]]
        alone = run(attrs, one, state_outputs=True)
        np.testing.assert_allclose(got[0][:ln, n:n + 1], alone[0], rtol=1e-10, atol=1e-12)
        for g, a in zip(got[1:], alone[1:]):
            np.testing.assert_allclose(g[:, n:n + 1], a, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("nan", [False, True])
def test_lstm_state_clip(nan):
    T, N, C, H = 6, 2, 3, 4
    attrs, arrays = make_inputs("lstm", T, N, C, H, 1, 1, seed=3, scale=2.0)
    clip = dict(lstm_state_clip_min=-0.3, lstm_state_clip_max=0.4, lstm_state_clip_nan=nan)
    got = run(attrs, arrays, state_outputs=True, **clip)
    want = rnn_ref(arrays[0], arrays[1], arrays[2], arrays[3], "lstm", H, 1, 1, clip=(-0.3, 0.4))
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-12)
    assert got[2].min() >= -0.3 and got[2].max() <= 0.4
    arrays[0][2, 0, 0] = np.nan
    got = run(attrs, arrays, state_outputs=True, **clip)
    assert np.isnan(got[2][0, 0]).any() != nan  # clip_nan stops NaN from propagating in the cell state


# ---- gradients ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("train", [False, True])
def test_gradients_match_finite_differences(mode, train):
    """train=False: the backward recomputes the forward; train=True: the forward saved its state."""
    T, N, C, H, L, D = 3, 2, 2, 2, 2, 2
    attrs, arrays = make_inputs(mode, T, N, C, H, L, D, seed=4)
    check_grad("RNN", arrays, {**attrs, "state_outputs": True, "_train": train}, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("mode", ["lstm", "gru"])
def test_gradients_with_sequence_length_and_no_state_outputs(mode):
    T, N, C, H = 4, 3, 2, 3
    attrs, arrays = make_inputs(mode, T, N, C, H, 1, 2, seed=5)
    lens = np.array([4, 1, 3], dtype="int32")
    check_grad("RNN", arrays + [lens], {**attrs, "use_sequence_length": True}, rtol=1e-5, atol=1e-7)


def test_gradient_through_clipped_lstm_state():
    attrs, arrays = make_inputs("lstm", 4, 2, 2, 3, 1, 1, seed=6, scale=1.5)
    check_grad("RNN", arrays, {**attrs, "state_outputs": True, "lstm_state_clip_min": -0.25,
                               "lstm_state_clip_max": 0.3, "_train": True}, rtol=1e-5, atol=1e-7)


def _fd_ref(mode, arrays, H, L, D, heads, k, eps=1e-6):
    """Central differences of sum(out_i * head_i) of the numpy reference with respect to input k."""
    x = arrays[k]
    g = np.zeros(x.shape)
    for i in range(x.size):
        vals = []
        for sgn in (1, -1):
            a = [v.copy() for v in arrays]
            a[k].reshape(-1)[i] += sgn * eps
            outs = rnn_ref(a[0], a[1], a[2], _c0(mode, a), mode, H, L, D)
            vals.append(sum((o * h).sum() for o, h in zip(outs, heads)))
        g.reshape(-1)[i] = (vals[0] - vals[1]) / (2 * eps)
    return g


@pytest.mark.parametrize("mode", ["lstm", "gru", "rnn_tanh"])
def test_autograd_gradients(mode):
    T, N, C, H, L, D = 3, 2, 3, 2, 2, 2
    attrs, arrays = make_inputs(mode, T, N, C, H, L, D, seed=7)
    ins = [nd.array(a, dtype="float64") for a in arrays]
    for a in ins:
        a.attach_grad()
    rng = np.random.default_rng(8)
    with mx.autograd.record():
        outs = nd.RNN(*ins, **attrs, state_outputs=True)
    heads = [rng.standard_normal(o.shape) for o in outs]
    mx.autograd.backward(outs, [nd.array(h, dtype="float64") for h in heads])
    heads3 = heads + [np.zeros((L * D, N, H))] * (3 - len(heads))
    for k, a in enumerate(ins):
        np.testing.assert_allclose(a.grad.asnumpy(), _fd_ref(mode, arrays, H, L, D, heads3, k),
                                   rtol=1e-5, atol=1e-7, err_msg=f"input {k}")


def test_dropout_between_layers_in_training():
    T, N, C, H, L = 6, 8, 4, 16, 2
    attrs, arrays = make_inputs("gru", T, N, C, H, L, 1, seed=9)
    ins = [nd.array(a, dtype="float64") for a in arrays]
    plain = run(attrs, arrays, p=0.5)[0]  # inference: no dropout
    np.testing.assert_allclose(plain, rnn_ref(arrays[0], arrays[1], arrays[2], None, "gru", H, L, 1)[0],
                               rtol=1e-10, atol=1e-12)

    def train_out(x, seed):
        mx.random.seed(seed)
        with mx.autograd.train_mode():
            return nd.RNN(nd.array(x, dtype="float64"), *ins[1:], **attrs, p=0.5).asnumpy()

    a, b, c = train_out(arrays[0], 3), train_out(arrays[0], 3), train_out(arrays[0], 4)
    np.testing.assert_array_equal(a, b)  # the seed fixes the masks
    assert not np.allclose(a, plain) and not np.allclose(a, c)
    # the gradient is that of the function with the masks the forward drew (same seed, same masks)
    x = ins[0]
    x.attach_grad()
    head = np.random.default_rng(10).standard_normal(plain.shape)
    mx.random.seed(3)
    with mx.autograd.record():
        out = nd.RNN(x, *ins[1:], **attrs, p=0.5)
    out.backward(nd.array(head, dtype="float64"))
    g = x.grad.asnumpy()
    for i in (0, 5, 17, 40, 95):
        xp, xm = arrays[0].copy(), arrays[0].copy()
        xp.reshape(-1)[i] += 1e-6
        xm.reshape(-1)[i] -= 1e-6
        fd = ((train_out(xp, 3) - train_out(xm, 3)) * head).sum() / 2e-6
        np.testing.assert_allclose(g.reshape(-1)[i], fd, rtol=1e-5, atol=1e-8)


# ---- symbol and executor -----------------------------------------------------------------------------
def test_symbol_infer_shape_and_executor_training():
    T, N, C, H, L, D = 4, 3, 5, 3, 2, 2
    mode = "lstm"
    attrs, arrays = make_inputs(mode, T, N, C, H, L, D, seed=11)
    data = mx.sym.Variable("data")
    s = mx.sym.RNN(data=data, name="rnn", state_outputs=True, **attrs)
    assert s.list_arguments() == ["data", "rnn_parameters", "rnn_state", "rnn_state_cell"]
    assert s.list_outputs() == ["rnn_output", "rnn_state_output", "rnn_statecell_output"]
    arg_shapes, out_shapes, _ = s.infer_shape(data=(T, N, C))
    assert arg_shapes == [(T, N, C), (param_size(attrs, C),), (L * D, N, H), (L * D, N, H)]
    assert out_shapes == [(T, N, D * H), (L * D, N, H), (L * D, N, H)]
    names = ["data", "rnn_parameters", "rnn_state", "rnn_state_cell"]
    exe = s.simple_bind(mx.cpu(), data=(T, N, C), type_dict={n: "float64" for n in names})
    for name, a in zip(names, arrays):
        exe.arg_dict[name][:] = a
    outs = exe.forward(is_train=True)
    want = rnn_ref(*arrays, mode, H, L, D)
    for o, w in zip(outs, want):
        np.testing.assert_allclose(o.asnumpy(), w, rtol=1e-10, atol=1e-12)
    heads = [np.random.default_rng(12).standard_normal(w.shape) for w in want]
    exe.backward([nd.array(h, dtype="float64") for h in heads])
    for k, name in ((1, "rnn_parameters"), (2, "rnn_state")):
        np.testing.assert_allclose(exe.grad_dict[name].asnumpy(), _fd_ref(mode, arrays, H, L, D, heads, k),
                                   rtol=1e-5, atol=1e-7, err_msg=name)


# ---- errors ------------------------------------------------------------------------------------------
def test_errors():
    attrs, arrays = make_inputs("gru", 3, 2, 4, 5, 1, 1)
    x, w, h = (nd.array(a, dtype="float64") for a in arrays)
    with pytest.raises(ShapeError, match="parameters.*expected"):
        nd.RNN(x, w[:10], h, **attrs)
    with pytest.raises(ShapeError, match="state.*expected"):
        nd.RNN(x, w, h.reshape((1, 5, 2)), **attrs)
    with pytest.raises(ShapeError, match="3-D"):
        nd.RNN(x.reshape((6, 4)), w, h, **attrs)
    with pytest.raises(MXNetError, match="projection_size"):
        nd.RNN(x, w, h, **attrs, projection_size=2)
    with pytest.raises(ValueError, match="p must be in"):
        nd.RNN(x, w, h, **attrs, p=1.5)
    with pytest.raises(ValueError, match="together"):
        nd.RNN(x, w, h, **attrs, lstm_state_clip_min=-1.0)
    with pytest.raises(ValueError, match="lstm"):
        nd.RNN(x, w, h, **attrs, lstm_state_clip_min=-1.0, lstm_state_clip_max=1.0)
    with pytest.raises(TypeError, match="float32 or float64"):
        nd.RNN(x.astype("float16"), w.astype("float16"), h.astype("float16"), **attrs)
    with pytest.raises(TypeError, match="dtype"):
        nd.RNN(x, w.astype("float32"), h, **attrs)
    bad = nd.array(np.array([3, 4], dtype="int32"), dtype="int32")
    with pytest.raises(MXNetError, match=r"sequence_length.*\[1, 3\]"):
        nd.RNN(x, w, h, bad, **attrs, use_sequence_length=True).asnumpy()


@pytest.mark.parametrize("mode", ["lstm", "gru", "rnn_tanh"])
def test_wide_batch_runs_in_row_chunks(mode):
    """Enough batch rows and work for the time loop to run in per-thread row chunks: forward against the
    reference, gradients against the sum of single-row runs (which run as one chunk)."""
    T, N, C, H, L, D = 3, 16, 4, 32, 2, 2
    attrs, arrays = make_inputs(mode, T, N, C, H, L, D, seed=13, scale=0.3)
    got = run(attrs, arrays, state_outputs=True)
    want = rnn_ref(arrays[0], arrays[1], arrays[2], _c0(mode, arrays), mode, H, L, D)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-12)
    rng = np.random.default_rng(14)
    heads = [rng.standard_normal(w.shape) for w in want][:len(got)]

    def grads(arrs, hs):
        ins = [nd.array(a, dtype="float64") for a in arrs]
        for a in ins:
            a.attach_grad()
        with mx.autograd.record():
            outs = nd.RNN(*ins, **attrs, state_outputs=True)
        mx.autograd.backward(outs, [nd.array(h, dtype="float64") for h in hs])
        return [a.grad.asnumpy() for a in ins]

    full = grads(arrays, heads)
    dw = np.zeros_like(arrays[1])
    for n in range(N):
        one = [arrays[0][:, n:n + 1], arrays[1]] + [a[:, n:n + 1] for a in arrays[2:]]
        g = grads(one, [heads[0][:, n:n + 1]] + [h[:, n:n + 1] for h in heads[1:]])
        dw += g[1]
        np.testing.assert_allclose(full[0][:, n:n + 1], g[0], rtol=1e-9, atol=1e-12)
        for k in range(2, len(g)):
            np.testing.assert_allclose(full[k][:, n:n + 1], g[k], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(full[1], dw, rtol=1e-9, atol=1e-11)
