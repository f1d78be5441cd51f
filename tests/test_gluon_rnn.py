"""mx.gluon.rnn: the fused layers (RNN, LSTM, GRU) equal an unrolled stack of cells with the same weights,
hybridized equals imperative, gradients flow (a small sequence task learns), and the cells' API."""
import numpy as np
import pytest

import mxcc as mx
from mxcc import autograd, gluon

nd = mx.nd
rnn = gluon.rnn

LAYERS = [("rnn_relu", lambda **kw: rnn.RNN(4, activation="relu", **kw)),
          ("rnn_tanh", lambda **kw: rnn.RNN(4, activation="tanh", **kw)),
          ("lstm", lambda **kw: rnn.LSTM(4, **kw)),
          ("gru", lambda **kw: rnn.GRU(4, **kw))]


def _init(block, seed=0):
    mx.random.seed(seed)
    block.initialize(mx.init.Uniform(0.5))


def _states_for_cells(layer, states, L, D):
    """The layer's (L*D, N, H) states as the unfused cell stack orders them: per layer, per direction, [h(, c)]."""
    out = []
    for layer_i in range(L):
        for d in range(D):
            out.extend(s[layer_i * D + d] for s in states)
    return out


@pytest.mark.parametrize("mode,make", LAYERS, ids=[m for m, _ in LAYERS])
@pytest.mark.parametrize("layout", ["TNC", "NTC"])
def test_layer_equals_unrolled_cells(mode, make, layout):
    T, N, C, L, D = 5, 3, 6, 2, 2
    layer = make(num_layers=L, bidirectional=True, layout=layout)
    _init(layer)
    rng = np.random.default_rng(1)
    shape = (T, N, C) if layout == "TNC" else (N, T, C)
    x = nd.array(rng.uniform(-1, 1, shape))
    states = [nd.array(rng.uniform(-0.5, 0.5, (L * D, N, 4))) for _ in layer.state_info(N)]
    out, new_states = layer(x, states)
    assert out.shape == shape[:2] + (8,)
    cells = layer._unfuse()
    c_out, c_states = cells.unroll(T, x, begin_state=_states_for_cells(layer, states, L, D), layout=layout,
                                   merge_outputs=True)
    np.testing.assert_allclose(out.asnumpy(), c_out.asnumpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.concatenate([s.asnumpy()[None] for s in c_states]).ravel(),
                               np.concatenate([s.asnumpy() for s in _states_for_cells(layer, new_states, L, D)])
                               .ravel(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("mode,make", LAYERS, ids=[m for m, _ in LAYERS])
def test_hybridized_equals_imperative_and_gradients_match_cells(mode, make):
    T, N, C = 4, 2, 3
    layer = make(num_layers=2)
    _init(layer, 2)
    x = nd.array(np.random.default_rng(3).uniform(-1, 1, (T, N, C)))
    head = nd.array(np.random.default_rng(4).standard_normal((T, N, 4)))
    params = layer.collect_params()

    def grads(run):
        for p in params.values():
            p.zero_grad()
        with autograd.record():
            out = run()
        out.backward(head)
        return out.asnumpy(), {k: p.grad().asnumpy().copy() for k, p in params.items()}

    out_i, g_i = grads(lambda: layer(x))
    cells = layer._unfuse()
    out_c, g_c = grads(lambda: cells.unroll(T, x, layout="TNC", merge_outputs=True)[0])
    layer.hybridize()
    out_h, g_h = grads(lambda: layer(x))
    np.testing.assert_allclose(out_h, out_i, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(out_c, out_i, rtol=1e-5, atol=1e-6)
    for k in g_i:
        assert np.abs(g_i[k]).sum() > 0, k
        np.testing.assert_allclose(g_h[k], g_i[k], rtol=1e-5, atol=1e-6, err_msg=k)
        np.testing.assert_allclose(g_c[k], g_i[k], rtol=1e-4, atol=1e-5, err_msg=k)


@pytest.mark.parametrize("cls", [rnn.LSTM, rnn.GRU])
def test_loss_decreases_on_a_sequence_task(cls):
    """Regress the running mean of a noisy sequence's first channel from the last output."""
    rng = np.random.default_rng(5)
    x = rng.uniform(-1, 1, (16, 6, 2)).astype(np.float32)  # (batch, time, channels): layout NTC
    y = x[:, :, 0].mean(axis=1, keepdims=True)
    net = gluon.nn.HybridSequential()
    with net.name_scope():
        net.add(cls(8, layout="NTC"))
        net.add(gluon.nn.HybridLambda(lambda F, o: F.slice_axis(o, axis=1, begin=-1, end=None)))
        net.add(gluon.nn.Dense(1, flatten=True))
    _init(net, 6)
    net.hybridize()
    trainer = gluon.Trainer(net.collect_params(), "adam", {"learning_rate": 0.03})
    loss_fn = gluon.loss.L2Loss()
    xs, ys = nd.array(x), nd.array(y)
    losses = []
    for _ in range(40):
        with autograd.record():
            loss = loss_fn(net(xs), ys)
        loss.backward()
        trainer.step(x.shape[0])
        losses.append(float(loss.mean().asscalar()))
    assert losses[-1] < 0.3 * losses[0], losses


def test_parameters_states_and_shapes():
    layer = rnn.LSTM(3, num_layers=2, bidirectional=True, prefix="lstm_")
    names = sorted(layer.collect_params().keys())
    assert "lstm_l0_i2h_weight" in names and "lstm_r1_h2h_bias" in names and len(names) == 16
    assert layer.l0_i2h_weight.shape == (12, 0)  # deferred until the first input
    assert layer.l1_i2h_weight.shape == (12, 6)
    layer.initialize()
    x = nd.ones((5, 2, 7))
    assert layer(x).shape == (5, 2, 6)
    assert layer.l0_i2h_weight.shape == (12, 7)
    states = layer.begin_state(batch_size=2)
    assert [s.shape for s in states] == [(4, 2, 3), (4, 2, 3)]
    with pytest.raises(ValueError, match="Invalid recurrent state shape"):
        layer(x, [nd.zeros((4, 3, 3)), nd.zeros((4, 3, 3))])
    assert "LSTM(7 -> 3, TNC, num_layers=2, bidirectional)" == repr(layer)
    with pytest.raises(ValueError, match="layout"):
        rnn.GRU(3, layout="CTN")


def test_symbolic_layer_infers_shapes():
    layer = rnn.GRU(4, num_layers=2, prefix="gru_", input_size=3)
    out = layer(mx.sym.var("data"))
    args = out.list_arguments()
    assert "data" in args and "gru_l1_h2h_weight" in args
    _, out_shapes, _ = out.infer_shape(data=(6, 2, 3))
    assert out_shapes == [(6, 2, 4)]


def test_sequence_length_matches_cells_with_valid_length():
    T, N, C = 5, 3, 2
    layer = rnn.GRU(3, use_sequence_length=True, bidirectional=True)
    _init(layer, 7)
    x = nd.array(np.random.default_rng(8).uniform(-1, 1, (T, N, C)))
    lens = nd.array([5, 2, 3])
    h0 = layer.begin_state(N)
    out, (hy,) = layer(x, h0, sequence_length=lens)
    c_out, c_states = layer._unfuse().unroll(T, x, layout="TNC", merge_outputs=True, valid_length=lens)
    np.testing.assert_allclose(out.asnumpy(), c_out.asnumpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(hy.asnumpy(), np.stack([s.asnumpy() for s in c_states]), rtol=1e-5, atol=1e-6)
    assert np.all(out.asnumpy()[2:, 1] == 0) and np.all(out.asnumpy()[3:, 2] == 0)


def test_cells_step_against_numpy():
    rng = np.random.default_rng(9)
    x, h, c = rng.uniform(-1, 1, (2, 3)), rng.uniform(-1, 1, (2, 4)), rng.uniform(-1, 1, (2, 4))
    for cell in (rnn.RNNCell(4), rnn.LSTMCell(4), rnn.GRUCell(4)):
        _init(cell, 10)
        ins = [nd.array(h)] + ([nd.array(c)] if isinstance(cell, rnn.LSTMCell) else [])
        out, states = cell(nd.array(x), ins)
        wi, wh = cell.i2h_weight.data().asnumpy(), cell.h2h_weight.data().asnumpy()
        bi, bh = cell.i2h_bias.data().asnumpy(), cell.h2h_bias.data().asnumpy()
        a, s = x @ wi.T + bi, h @ wh.T + bh
        sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
        if isinstance(cell, rnn.LSTMCell):
            g = a + s
            c2 = sig(g[:, 4:8]) * c + sig(g[:, :4]) * np.tanh(g[:, 8:12])
            want = sig(g[:, 12:]) * np.tanh(c2)
            np.testing.assert_allclose(states[1].asnumpy(), c2, rtol=1e-5, atol=1e-6)
        elif isinstance(cell, rnn.GRUCell):
            r, z = sig(a[:, :4] + s[:, :4]), sig(a[:, 4:8] + s[:, 4:8])
            want = (1 - z) * np.tanh(a[:, 8:] + r * s[:, 8:]) + z * h
        else:
            want = np.tanh(a + s)
        np.testing.assert_allclose(out.asnumpy(), want, rtol=1e-5, atol=1e-6)
        cell.hybridize()
        out_h, _ = cell(nd.array(x), ins)
        np.testing.assert_allclose(out_h.asnumpy(), out.asnumpy(), rtol=1e-6, atol=1e-7)


def test_sequential_residual_dropout_and_bidirectional_cells():
    T, N, C = 4, 2, 3
    x = nd.array(np.random.default_rng(11).uniform(-1, 1, (N, T, C)))  # NTC, the cells' default layout
    stack = rnn.SequentialRNNCell()
    with stack.name_scope():
        stack.add(rnn.LSTMCell(3))
        stack.add(rnn.DropoutCell(0.5))
        stack.add(rnn.ResidualCell(rnn.GRUCell(3)))
    _init(stack, 12)
    assert len(stack) == 3 and len(stack.state_info()) == 3
    outs, states = stack.unroll(T, x, merge_outputs=False)
    assert len(outs) == T and outs[0].shape == (N, 3) and len(states) == 3
    # stepping by hand gives the same; dropout is the identity outside training; the residual adds the input
    st = stack.begin_state(batch_size=N)
    for t in range(T):
        o, st = stack(x[:, t, :], st)
        np.testing.assert_allclose(o.asnumpy(), outs[t].asnumpy(), rtol=1e-6, atol=1e-7)
    lstm_out, _ = stack[0].unroll(T, x, merge_outputs=True)
    with pytest.raises(AssertionError, match="modifier"):
        stack[2].base_cell.begin_state(batch_size=N)
    gru_out, _ = stack[2].base_cell.unroll(T, lstm_out, begin_state=[nd.zeros((N, 3))], merge_outputs=True)
    merged, _ = stack.unroll(T, x, merge_outputs=True)
    np.testing.assert_allclose(merged.asnumpy(), (gru_out + lstm_out).asnumpy(), rtol=1e-6, atol=1e-7)
    # bidirectional: the reverse cell runs on the reversed sequence
    bi = rnn.BidirectionalCell(rnn.GRUCell(2, prefix="l_"), rnn.GRUCell(2, prefix="r_"))
    _init(bi, 13)
    out, states = bi.unroll(T, x, merge_outputs=True)
    assert out.shape == (N, T, 4) and len(states) == 2
    fwd, _ = bi._children["l_cell"].unroll(T, x, merge_outputs=True)
    rev, _ = bi._children["r_cell"].unroll(T, nd.array(x.asnumpy()[:, ::-1].copy()), merge_outputs=True)
    np.testing.assert_allclose(out.asnumpy()[:, :, :2], fwd.asnumpy(), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(out.asnumpy()[:, :, 2:], rev.asnumpy()[:, ::-1], rtol=1e-6, atol=1e-7)
    with pytest.raises(NotImplementedError, match="unroll"):
        bi(x[:, 0, :], states)


def test_layer_dropout_only_in_training():
    net = rnn.GRU(6, num_layers=2, dropout=0.5)
    _init(net, 14)
    net.hybridize()
    x = nd.array(np.random.default_rng(15).uniform(-1, 1, (4, 3, 5)))
    o1, o2 = net(x).asnumpy(), net(x).asnumpy()
    np.testing.assert_array_equal(o1, o2)
    np.testing.assert_allclose(o1, net._unfuse().unroll(4, x, layout="TNC", merge_outputs=True)[0].asnumpy(),
                               rtol=1e-5, atol=1e-6)  # the DropoutCell of the unfused stack is off too
    with autograd.record():
        t1 = net(x)
    t1.backward()
    with autograd.record():
        t2 = net(x)
    assert not np.allclose(t1.asnumpy(), o1) and not np.allclose(t1.asnumpy(), t2.asnumpy())
    assert np.abs(net.l0_i2h_weight.grad().asnumpy()).sum() > 0


def test_zoneout_cell_is_its_base_cell_outside_training():
    x = nd.array(np.random.default_rng(16).uniform(-1, 1, (2, 3, 4)))
    base = rnn.LSTMCell(3)
    _init(base, 17)
    want, _ = base.unroll(3, x, merge_outputs=True)
    cell = rnn.ZoneoutCell(base, zoneout_outputs=0.5, zoneout_states=0.5)
    got, states = cell.unroll(3, x, merge_outputs=True)
    np.testing.assert_allclose(got.asnumpy(), want.asnumpy(), rtol=1e-6, atol=1e-7)
    assert len(states) == 2 and "ZoneoutCell" in repr(cell)


def test_hybridized_layer_with_and_without_states_and_export(tmp_path):
    layer = rnn.LSTM(4, num_layers=2, bidirectional=True, layout="NTC")
    _init(layer, 18)
    layer.hybridize()
    x = nd.array(np.random.default_rng(19).uniform(-1, 1, (2, 3, 5)))
    h = [nd.array(np.random.default_rng(20).uniform(-1, 1, (4, 2, 4))) for _ in range(2)]
    out0 = layer(x)
    out, states = layer(x, h)
    assert out0.shape == out.shape == (2, 3, 8) and [s.shape for s in states] == [(4, 2, 4)] * 2
    assert layer(x).shape == (2, 3, 8)
    layer(x, h)  # export writes the graph of the last call: with states in and out
    layer.export(str(tmp_path / "lstm"))
    sb = gluon.SymbolBlock.imports(str(tmp_path / "lstm-symbol.json"), ["data0", "data1", "data2"],
                                   str(tmp_path / "lstm-0000.params"))
    got = sb(x, *h)
    np.testing.assert_allclose(got[0].asnumpy(), out.asnumpy(), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(got[2].asnumpy(), states[1].asnumpy(), rtol=1e-6, atol=1e-7)
