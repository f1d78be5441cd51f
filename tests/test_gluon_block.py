"""gluon Parameter / ParameterDict / Block / HybridBlock / Sequential / SymbolBlock against numpy."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mxcc as mx
from mxcc import autograd, gluon
from mxcc.gluon import HybridBlock, nn
from mxcc.gluon.parameter import DeferredInitializationError


class Dense(HybridBlock):
    """MXNet-style layer built only from Parameters and F ops (independent of gluon.nn's layers)."""

    def __init__(self, units, in_units=0, use_bias=True, act=None, **kw):
        super().__init__(**kw)
        self._units, self._act = units, act
        with self.name_scope():
            self.weight = self.params.get("weight", shape=(units, in_units), init=None, allow_deferred_init=True)
            self.bias = self.params.get("bias", shape=(units,), init="zeros", allow_deferred_init=True) \
                if use_bias else None

    def hybrid_forward(self, F, x, weight, bias=None):
        if bias is None:
            y = F.FullyConnected(x, weight, no_bias=True, num_hidden=self._units, name="fwd")
        else:
            y = F.FullyConnected(x, weight, bias, num_hidden=self._units, name="fwd")
        return F.Activation(y, act_type=self._act) if self._act else y


def _mlp(prefix=None):
    net = nn.HybridSequential(prefix=prefix)
    with net.name_scope():
        net.add(Dense(6, act="tanh"), Dense(4, use_bias=False))
    return net


def _ref_mlp(net, x):
    w0, b0 = net[0].weight.data().asnumpy().astype(np.float64), net[0].bias.data().asnumpy().astype(np.float64)
    w1 = net[1].weight.data().asnumpy().astype(np.float64)
    h = np.tanh(x.reshape(x.shape[0], -1) @ w0.T + b0)
    return h @ w1.T, h


def test_names_and_prefixes():
    net = _mlp()
    assert net.prefix.startswith("hybridsequential") and net.prefix.endswith("_")
    p = net.prefix
    assert net[0].prefix == p + "dense0_" and net[1].prefix == p + "dense1_"
    assert list(net.collect_params().keys()) == [p + "dense0_weight", p + "dense0_bias", p + "dense1_weight"]
    assert net[0].name == p + "dense0"
    assert sorted(net._collect_params_with_prefix()) == ["0.bias", "0.weight", "1.weight"]
    assert list(net.collect_params(".*weight").keys()) == [p + "dense0_weight", p + "dense1_weight"]
    assert list(net.collect_params("(?!.*bias)").keys()) == [p + "dense0_weight", p + "dense1_weight"]
    assert len(net) == 2 and isinstance(net[:1], nn.HybridSequential) and len(net[:1]) == 1
    assert "Dense" in repr(net) and "(0)" in repr(net)
    named = _mlp(prefix="model_")
    assert named[0].weight.name == "model_dense0_weight"


@settings(max_examples=6, deadline=None)
@given(batch=st.integers(1, 5), feat=st.integers(1, 7), hybrid=st.booleans())
def test_deferred_init_and_forward(batch, feat, hybrid):
    net = _mlp()
    net.initialize(mx.init.Xavier())
    with pytest.raises(DeferredInitializationError):
        net[0].weight.data()
    if hybrid:
        net.hybridize()
    x = np.random.RandomState(batch * 10 + feat).uniform(-1, 1, (batch, feat))
    y = net(mx.nd.array(x))
    assert net[0].weight.shape == (6, feat) and net[1].weight.shape == (4, 6)
    np.testing.assert_allclose(y.asnumpy(), _ref_mlp(net, x)[0], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("hybrid", [False, True])
def test_gradients_match_numpy(hybrid):
    net = _mlp()
    net.initialize(mx.init.Xavier())
    x = np.random.RandomState(0).uniform(-1, 1, (3, 5))
    net(mx.nd.array(x))
    if hybrid:
        net.hybridize()
    xa = mx.nd.array(x)
    xa.attach_grad()
    with autograd.record():
        y = net(xa)
        loss = (y * y).sum()
    loss.backward()
    out, h = _ref_mlp(net, x)
    w1 = net[1].weight.data().asnumpy().astype(np.float64)
    w0 = net[0].weight.data().asnumpy().astype(np.float64)
    dy = 2 * out
    dh = dy @ w1 * (1 - h * h)
    np.testing.assert_allclose(net[1].weight.grad().asnumpy(), dy.T @ h, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(net[0].weight.grad().asnumpy(), dh.T @ x, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(net[0].bias.grad().asnumpy(), dh.sum(0), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(xa.grad.asnumpy(), dh @ w0, rtol=1e-4, atol=1e-5)


def test_grad_req_add_and_two_calls_before_backward():
    net = _mlp()
    net.initialize()
    net.hybridize()
    x1, x2 = np.random.RandomState(1).rand(3, 5), np.random.RandomState(2).rand(3, 5)  # one program, two arenas
    net(mx.nd.array(x1))
    net.collect_params().setattr("grad_req", "add")
    net.collect_params().zero_grad()
    with autograd.record():
        a = net(mx.nd.array(x1)).sum()
        b = (net(mx.nd.array(x2)) * 2).sum()  # a second pending call must not clobber the first one's state
    a.backward()
    b.backward()
    expect = sum(k * np.ones((len(x), 4)).T @ _ref_mlp(net, x)[1] for k, x in ((1, x1), (2, x2)))
    np.testing.assert_allclose(net[1].weight.grad().asnumpy(), expect, rtol=1e-4, atol=1e-5)
    with autograd.record():
        c = net(mx.nd.array(x1)).sum()
    c.backward()
    expect += np.ones((len(x1), 4)).T @ _ref_mlp(net, x1)[1]
    np.testing.assert_allclose(net[1].weight.grad().asnumpy(), expect, rtol=1e-4, atol=1e-5)


def test_hybridized_matches_imperative_and_symbol_trace():
    net = _mlp()
    net.initialize()
    x = mx.nd.array(np.random.RandomState(3).rand(2, 5))
    y0 = net(x).asnumpy()
    s = net(mx.sym.var("data"))
    assert isinstance(s, mx.sym.Symbol)
    assert s.list_arguments() == ["data", net[0].weight.name, net[0].bias.name, net[1].weight.name]
    net.hybridize()
    np.testing.assert_allclose(net(x).asnumpy(), y0, rtol=1e-6)
    net.hybridize(False)
    np.testing.assert_allclose(net(x).asnumpy(), y0, rtol=1e-6)


def test_save_load_parameters_and_params_file(tmp_path):
    net = _mlp()
    net.initialize(mx.init.Xavier())
    x = mx.nd.array(np.random.RandomState(4).rand(2, 5))
    y = net(x).asnumpy()
    f = str(tmp_path / "net.params")
    net.save_parameters(f)
    assert set(mx.nd.load(f)) == {"0.weight", "0.bias", "1.weight"}
    net2 = _mlp()
    net2.load_parameters(f)
    np.testing.assert_allclose(net2(x).asnumpy(), y, rtol=1e-6)
    net3 = _mlp()
    net3.initialize()
    net3(x)
    net3.load_parameters(f)  # overwrite initialized arrays in place
    np.testing.assert_allclose(net3(x).asnumpy(), y, rtol=1e-6)
    with pytest.raises(AssertionError, match="missing"):
        _mlp_extra().load_parameters(f)
    f2 = str(tmp_path / "pd.params")
    net.collect_params().save(f2, strip_prefix=net.prefix)
    net4 = _mlp()
    net4.collect_params().load(f2, restore_prefix=net4.prefix)
    np.testing.assert_allclose(net4(x).asnumpy(), y, rtol=1e-6)


def _mlp_extra():
    net = _mlp()
    with net.name_scope():
        net.add(Dense(2))
    return net


def test_export_symbolblock_and_module(tmp_path):
    net = _mlp()
    net.initialize(mx.init.Xavier())
    net.hybridize()
    x = np.random.RandomState(5).rand(3, 5).astype(np.float32)
    y = net(mx.nd.array(x)).asnumpy()
    sym_f, par_f = net.export(str(tmp_path / "m"), epoch=3)
    assert sym_f.endswith("m-symbol.json") and par_f.endswith("m-0003.params")
    assert all(k.startswith("arg:") for k in mx.nd.load(par_f))
    blk = gluon.SymbolBlock.imports(sym_f, ["data"], par_f)
    np.testing.assert_allclose(blk(mx.nd.array(x)).asnumpy(), y, rtol=1e-6)
    mod = mx.mod.Module.load(str(tmp_path / "m"), 3, label_names=None)
    mod.bind(data_shapes=[("data", x.shape)], for_training=False)
    mod.forward(mx.io.DataBatch([mx.nd.array(x)]), is_train=False)
    np.testing.assert_allclose(mod.get_outputs()[0].asnumpy(), y, rtol=1e-6)


def test_symbolblock_from_symbol_deferred():
    data = mx.sym.var("data")
    out = mx.sym.FullyConnected(data, num_hidden=3, name="fc")
    blk = gluon.SymbolBlock(out, data)
    assert sorted(blk.collect_params().keys()) == ["fc_bias", "fc_weight"]
    blk.initialize(mx.init.One())  # as in MXNet, the default init fills every parameter, bias included
    x = np.random.RandomState(6).rand(2, 4)
    y = blk(mx.nd.array(x))
    np.testing.assert_allclose(y.asnumpy(), np.repeat(x.sum(1, keepdims=True), 3, 1) + 1, rtol=1e-5)


def test_parameter_api():
    p = gluon.Parameter("w", shape=(2, 3), init=mx.init.Constant(2.0))
    with pytest.raises(RuntimeError, match="has not been initialized"):
        p.data()
    p.initialize()
    np.testing.assert_array_equal(p.data().asnumpy(), np.full((2, 3), 2.0))
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        p.initialize()
        assert "already initialized" in str(w[0].message)
    arr = p.data()
    p.set_data(mx.nd.ones((2, 3)) * 5)
    assert p.data() is arr and float(p.data().asnumpy()[0, 0]) == 5.0
    assert p.list_ctx() == [mx.cpu()] and len(p.list_data()) == 1
    p.grad()[:] = 3
    p.zero_grad()
    assert float(p.grad().asnumpy().sum()) == 0.0
    v = p.var()
    assert v.name == "w" and v.attr("__shape__") == "(2, 3)"
    p.cast("float64")
    assert p.data()._data.dtype == np.float64 and p.grad()._data.dtype == np.float64
    p.grad_req = "null"
    with pytest.raises(RuntimeError, match="grad_req='null'"):
        p.grad()
    with pytest.raises(ValueError, match="grad_req"):
        p.grad_req = "sometimes"
    with pytest.raises(AssertionError, match="incompatible"):
        p.shape = (4, 3)
    q = gluon.Parameter("q", shape=(0, 3))
    with pytest.raises(ValueError, match="invalid shape"):
        q.initialize()
    c = gluon.Constant("c", [[1.0, 2.0]])
    c.initialize()
    np.testing.assert_array_equal(c.data().asnumpy(), [[1.0, 2.0]])
    assert c.grad_req == "null"


def test_parameterdict_get_and_sharing():
    pd = gluon.ParameterDict("net_")
    w = pd.get("w", shape=(0, 4))
    assert pd.get("w", shape=(3, 4)) is w and w.shape == (3, 4)
    with pytest.raises(AssertionError, match="desired attribute"):
        pd.get("w", shape=(5, 4))
    assert "net_w" in pd and len(pd) == 1 and list(pd) == ["net_w"]
    shared = gluon.ParameterDict("net_", shared=pd)
    assert shared.get("w") is w
    assert "net_w" in repr(pd)
    net1 = _mlp()
    net2 = nn.HybridSequential(params=net1.collect_params())
    assert net2.params._shared is not None


def test_hooks_apply_cast_summary(capsys):
    net = _mlp()
    net.initialize()
    seen = []
    h1 = net.register_forward_pre_hook(lambda blk, inp: seen.append(("pre", blk.name)))
    h2 = net.register_forward_hook(lambda blk, inp, out: seen.append(("post", out.shape)))
    net(mx.nd.ones((2, 5)))
    assert seen == [("pre", net.name), ("post", (2, 4))]
    h1.detach()
    h2.detach()
    net(mx.nd.ones((2, 5)))
    assert len(seen) == 2
    names = []
    net.apply(lambda b: names.append(type(b).__name__))
    assert names == ["Dense", "Dense", "HybridSequential"]
    net.summary(mx.nd.ones((2, 5)))
    out = capsys.readouterr().out
    assert "Dense-1" in out and "Total params: 60" in out
    net.cast("float64")
    assert net[0].weight.data()._data.dtype == np.float64
    y = net(mx.nd.ones((2, 5), dtype="float64"))
    assert y._data.dtype == np.float64


def test_block_errors():
    class Plain(gluon.Block):
        def forward(self, x):
            return x * 2

    with pytest.raises(ValueError, match="Children of HybridBlock must also be HybridBlock"):
        nn.HybridSequential().add(Plain())
    seq = nn.Sequential()
    seq.add(Plain(), Plain())
    np.testing.assert_array_equal(seq(mx.nd.ones((2,))).asnumpy(), [4.0, 4.0])
    net = _mlp()
    with pytest.raises(RuntimeError, match="hybridize"):
        net.export("/tmp/never")
    with pytest.raises(ValueError, match="Symbol or NDArray"):
        net(3.0)


class _BNDense(HybridBlock):
    """Dense -> BatchNorm (aux states as grad_req='null' Parameters) -> relu."""

    def __init__(self, units, **kw):
        super().__init__(**kw)
        self._units = units
        with self.name_scope():
            g = self.params.get
            self.weight = g("weight", shape=(units, 0), allow_deferred_init=True)
            self.gamma = g("gamma", shape=(units,), init="ones")
            self.beta = g("beta", shape=(units,), init="zeros")
            self.running_mean = g("running_mean", shape=(units,), init="zeros", grad_req="null")
            self.running_var = g("running_var", shape=(units,), init="ones", grad_req="null")

    def hybrid_forward(self, F, x, weight, gamma, beta, running_mean, running_var):
        y = F.FullyConnected(x, weight, no_bias=True, num_hidden=self._units)
        y = F.BatchNorm(y, gamma, beta, running_mean, running_var, fix_gamma=False, momentum=0.9)
        return F.relu(y)


def test_batchnorm_aux_states_hybridized_vs_imperative(tmp_path):
    def make():
        net = nn.HybridSequential()
        with net.name_scope():
            net.add(_BNDense(6), Dense(3))
        return net

    x = mx.nd.array(np.random.RandomState(7).rand(5, 4))
    imp, hyb = make(), make()
    imp.initialize(mx.init.Xavier())
    hyb.initialize()
    imp(x)
    hyb(x)
    for pa, pb in zip(imp.collect_params().values(), hyb.collect_params().values()):
        pb.set_data(pa.data())
    hyb.hybridize()
    results = []
    for net in (imp, hyb):
        trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.1})
        losses = []
        for _ in range(2):
            with autograd.record():
                loss = (net(x) ** 2).sum()
            loss.backward()
            trainer.step(5)
            losses.append(float(loss.asscalar()))
        with autograd.train_mode():
            train_out = net(x).asnumpy()
        results.append((losses, net(x).asnumpy(), train_out, net[0].running_mean.data().asnumpy(),
                        net[0].running_var.data().asnumpy()))
    for a, b in zip(*results):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)
    assert not np.allclose(results[0][3], 0)  # the moving mean did move
    prefix = str(tmp_path / "bn")
    hyb.export(prefix)
    assert any(k.startswith("aux:") and k.endswith("running_mean") for k in mx.nd.load(prefix + "-0000.params"))
    blk = gluon.SymbolBlock.imports(prefix + "-symbol.json", "data", prefix + "-0000.params")
    np.testing.assert_allclose(blk(x).asnumpy(), results[1][1], rtol=1e-5, atol=1e-6)


class _DropScale(HybridBlock):
    def __init__(self, **kw):
        super().__init__(**kw)
        with self.name_scope():
            self.w = self.params.get("w", shape=(1, 50), init=mx.init.Constant(2.0))

    def hybrid_forward(self, F, x, w):
        return F.Dropout(F.broadcast_mul(x, w), p=0.5)


def test_hybridized_dropout_backward_uses_the_forward_mask():
    blk = _DropScale()
    blk.initialize()
    blk.hybridize()
    x = mx.nd.array(np.random.RandomState(9).uniform(1, 2, (4, 50)))
    with autograd.record():
        y = blk(x)
    y.backward()
    yn = y.asnumpy().astype(np.float64)
    assert 0 < (yn == 0).mean() < 1  # some units dropped, some kept
    np.testing.assert_allclose(blk.w.grad().asnumpy()[0], (yn / 2.0).sum(0), rtol=1e-5)
    np.testing.assert_allclose(blk(x).asnumpy(), 2 * x.asnumpy(), rtol=1e-6)  # predict mode: identity


@pytest.mark.parametrize("hybrid", [False, True])
def test_shared_parameters_accumulate_in_one_backward(hybrid):
    net = _mlp()
    net.initialize()
    twin = nn.HybridSequential(params=net.collect_params())  # shares every Parameter with net
    with twin.name_scope():
        twin.add(Dense(6, act="tanh", prefix="dense0_"), Dense(4, use_bias=False, prefix="dense1_"))
    rs = np.random.RandomState(8)
    x1, x2, x3 = rs.rand(2, 5), rs.rand(2, 5), rs.rand(3, 5)
    net(mx.nd.array(x1))
    assert twin[0].weight is net[0].weight
    if hybrid:
        net.hybridize()
        twin.hybridize()
    with autograd.record():
        loss = net(mx.nd.array(x1)).sum() + 3 * net(mx.nd.array(x2)).sum() + twin(mx.nd.array(x3)).sum()
    loss.backward()
    expect = sum(k * np.ones((len(x), 4)).T @ _ref_mlp(net, x)[1] for k, x in ((1, x1), (3, x2), (1, x3)))
    np.testing.assert_allclose(net[1].weight.grad().asnumpy(), expect, rtol=1e-4, atol=1e-5)


class _TwoIn(HybridBlock):
    def hybrid_forward(self, F, x, unused):
        return x * x


def test_hybridized_input_gradients_unused_input_and_retain_graph():
    blk = _TwoIn()
    blk.hybridize()
    x = mx.nd.array([[1.0, -2.0, 3.0]])
    u = mx.nd.array([[5.0, 6.0]])
    x.attach_grad()
    u.attach_grad()
    u.grad[:] = 7
    with autograd.record():
        y = blk(x, u)
    y.backward(retain_graph=True)  # u's gradient needs no head gradient: written by the forward entry
    np.testing.assert_array_equal(x.grad.asnumpy(), [[2.0, -4.0, 6.0]])
    np.testing.assert_array_equal(u.grad.asnumpy(), [[0.0, 0.0]])
    y.backward(mx.nd.array([[1.0, 1.0, 0.5]]))
    np.testing.assert_array_equal(x.grad.asnumpy(), [[2.0, -4.0, 3.0]])
    with pytest.raises(mx.MXNetError, match="not in a computational graph|retain_graph"):
        y.backward()


class _Split(HybridBlock):
    """Several inputs and nested outputs: (x * w, [x + y, y]), state-passing style."""

    def __init__(self, **kw):
        super().__init__(**kw)
        with self.name_scope():
            self.w = self.params.get("w", shape=(3,), init=mx.init.Constant(3.0))

    def hybrid_forward(self, F, x, y, w):
        return F.broadcast_mul(x, w), [x + y, F.identity(y)]


@pytest.mark.parametrize("hybrid", [False, True])
def test_nested_outputs_and_several_inputs(hybrid):
    blk = _Split()
    blk.initialize()
    if hybrid:
        blk.hybridize()
    x, y = mx.nd.array([[1.0, 2.0, 3.0]]), mx.nd.array([[4.0, 5.0, 6.0]])
    y.attach_grad()
    with autograd.record():
        a, (b, c) = blk(x, y)
        loss = (a * b).sum() + c.sum()
    loss.backward()
    np.testing.assert_array_equal(a.asnumpy(), [[3.0, 6.0, 9.0]])
    np.testing.assert_array_equal(b.asnumpy(), [[5.0, 7.0, 9.0]])
    np.testing.assert_array_equal(blk.w.grad().asnumpy(), [5.0, 14.0, 27.0])  # x * (x + y)
    np.testing.assert_array_equal(y.grad.asnumpy(), [[4.0, 7.0, 10.0]])  # a + 1
    if hybrid:
        assert blk._cached_graph[0][0].name == "data0" and blk._cached_graph[0][1].name == "data1"


def test_save_parameters_deduplicate_shared(tmp_path):
    outer = nn.HybridSequential()
    with outer.name_scope():
        first = Dense(3, in_units=3)
        outer.add(first, Dense(3, in_units=3, params=first.collect_params()))
    outer.initialize()
    assert outer[1].weight is outer[0].weight
    full, dedup = str(tmp_path / "full.params"), str(tmp_path / "dedup.params")
    outer.save_parameters(full)
    outer.save_parameters(dedup, deduplicate=True)
    assert sorted(mx.nd.load(full)) == ["0.bias", "0.weight", "1.bias", "1.weight"]
    assert sorted(mx.nd.load(dedup)) == ["0.bias", "0.weight"]
    back = nn.HybridSequential()
    with back.name_scope():
        f2 = Dense(3, in_units=3)
        back.add(f2, Dense(3, in_units=3, params=f2.collect_params()))
    back.load_parameters(dedup)  # the shared alias '1.weight' is satisfied by '0.weight'
    np.testing.assert_array_equal(back[1].weight.data().asnumpy(), outer[0].weight.data().asnumpy())


def test_training_loop_reuses_one_arena(monkeypatch):
    """A recorded call gives its arena back when autograd frees its tape node, even while the engine
    still holds work reading it, so a training loop does not allocate (and page-fault) a new one per step."""
    from mxcc.gluon import _cached_op

    seen = []
    take = _cached_op._Program.take_arena
    monkeypatch.setattr(_cached_op._Program, "take_arena", lambda self: seen.append(id(a := take(self))) or a)
    net = _mlp()
    net.initialize()
    net.hybridize()
    trainer = gluon.Trainer(net.collect_params(), "sgd")
    x = mx.nd.ones((4, 5))
    for _ in range(6):
        with autograd.record():
            loss = net(x).sum()
        loss.backward()
        trainer.step(4)
    assert len(seen) == 6 and len(set(seen)) == 1


def test_deferred_init_in_float64():
    """A float64 block (dtype= or cast before the first call) infers its deferred shapes from float64 data."""
    x = mx.nd.array(np.arange(8.0).reshape(2, 4), dtype="float64")
    a = nn.Dense(3, dtype="float64")
    a.initialize()
    b = nn.Dense(3)
    b.initialize()
    b.cast("float64")
    for blk in (a, b):
        y = blk(x)
        assert y.dtype == np.float64 and blk.weight.shape == (3, 4)
        np.testing.assert_allclose(y.asnumpy(), x.asnumpy() @ blk.weight.data().asnumpy().T + blk.bias.data().asnumpy())
