"""gluon.Trainer and gluon.utils against numpy, and a LeNet trained imperatively vs hybridized."""
from __future__ import annotations

import hashlib

import numpy as np
import pytest

import mxcc as mx
from mxcc import autograd, gluon
from mxcc.gluon import HybridBlock, nn


class LeNet(HybridBlock):
    """LeNet from Parameters and F ops only (so it does not depend on gluon.nn's layers). The attribute
    names equal the parameter names, so save_parameters' flat names load back (MXNet's legacy path)."""

    def __init__(self, **kw):
        super().__init__(**kw)
        with self.name_scope():
            g = self.params.get
            self.conv0_weight = g("conv0_weight", shape=(6, 0, 5, 5), allow_deferred_init=True)
            self.conv0_bias = g("conv0_bias", shape=(6,), init="zeros")
            self.conv1_weight = g("conv1_weight", shape=(8, 6, 3, 3))
            self.conv1_bias = g("conv1_bias", shape=(8,), init="zeros")
            self.dense0_weight = g("dense0_weight", shape=(32, 0), allow_deferred_init=True)
            self.dense0_bias = g("dense0_bias", shape=(32,), init="zeros")
            self.dense1_weight = g("dense1_weight", shape=(10, 32))
            self.dense1_bias = g("dense1_bias", shape=(10,), init="zeros")

    def hybrid_forward(self, F, x, conv0_weight, conv0_bias, conv1_weight, conv1_bias, dense0_weight, dense0_bias,
                       dense1_weight, dense1_bias):
        c1w, c1b, c2w, c2b = conv0_weight, conv0_bias, conv1_weight, conv1_bias
        f1w, f1b, f2w, f2b = dense0_weight, dense0_bias, dense1_weight, dense1_bias
        x = F.Activation(F.Convolution(x, c1w, c1b, kernel=(5, 5), num_filter=6), act_type="tanh")
        x = F.Pooling(x, kernel=(2, 2), stride=(2, 2), pool_type="max")
        x = F.Activation(F.Convolution(x, c2w, c2b, kernel=(3, 3), num_filter=8), act_type="relu")
        x = F.Pooling(x, kernel=(2, 2), stride=(2, 2), pool_type="avg")
        x = F.Activation(F.FullyConnected(x, f1w, f1b, num_hidden=32), act_type="relu")
        return F.FullyConnected(x, f2w, f2b, num_hidden=10)


def _ce(F, out, label):
    return -F.pick(F.log_softmax(out), label)


def _batches(n=4, bs=8, seed=0):
    rs = np.random.RandomState(seed)
    return [(rs.uniform(0, 1, (bs, 1, 16, 16)).astype(np.float32), rs.randint(0, 10, bs).astype(np.float32))
            for _ in range(n)]


def _train(net, batches, hybrid):
    if hybrid:
        net.hybridize()
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.1, "momentum": 0.9, "wd": 1e-4})
    losses = []
    for x, y in batches:
        xd, yd = mx.nd.array(x), mx.nd.array(y)
        with autograd.record():
            loss = _ce(mx.nd, net(xd), yd)
        loss.backward()
        trainer.step(len(x))
        losses.append(float(loss.mean().asscalar()))
    return losses


def _twin_lenets():
    a = LeNet()
    a.initialize(mx.init.Xavier())
    a(mx.nd.zeros((1, 1, 16, 16)))  # deferred init: shapes from the first batch
    b = LeNet()
    b.initialize()
    b(mx.nd.zeros((1, 1, 16, 16)))
    for pa, pb in zip(a.collect_params().values(), b.collect_params().values()):
        pb.set_data(pa.data())
    return a, b


def test_lenet_imperative_vs_hybridized_and_exports(tmp_path):
    mx.random.seed(3)
    imp, hyb = _twin_lenets()
    assert imp.conv0_weight.shape == (6, 1, 5, 5) and imp.dense0_weight.shape == (32, 8 * 2 * 2)
    batches = _batches(1) * 4  # one batch four times: its loss must go down
    l_imp = _train(imp, batches, hybrid=False)
    l_hyb = _train(hyb, batches, hybrid=True)
    np.testing.assert_allclose(l_hyb, l_imp, rtol=1e-5, atol=1e-5)
    assert l_imp[-1] < l_imp[0]
    for pa, pb in zip(imp.collect_params().values(), hyb.collect_params().values()):
        np.testing.assert_allclose(pb.data().asnumpy(), pa.data().asnumpy(), rtol=1e-4, atol=1e-5)
    x = mx.nd.array(_batches(1, 5, seed=9)[0][0])
    pred = hyb(x).asnumpy()
    np.testing.assert_allclose(imp(x).asnumpy(), pred, rtol=1e-4, atol=1e-5)
    # export -> Module and SymbolBlock
    prefix = str(tmp_path / "lenet")
    hyb.export(prefix, epoch=2)
    mod = mx.mod.Module.load(prefix, 2, label_names=None)
    mod.bind(data_shapes=[("data", x.shape)], for_training=False)
    mod.forward(mx.io.DataBatch([x]), is_train=False)
    np.testing.assert_allclose(mod.get_outputs()[0].asnumpy(), pred, rtol=1e-5, atol=1e-6)
    blk = gluon.SymbolBlock.imports(prefix + "-symbol.json", ["data"], prefix + "-0002.params")
    np.testing.assert_allclose(blk(x).asnumpy(), pred, rtol=1e-5, atol=1e-6)
    # save_parameters / load_parameters round trip into a fresh (deferred) net
    f = str(tmp_path / "lenet.params")
    hyb.save_parameters(f)
    fresh = LeNet()
    fresh.load_parameters(f)
    np.testing.assert_allclose(fresh(x).asnumpy(), pred, rtol=1e-5, atol=1e-6)
    sel = hyb.collect_params(".*dense.*_weight")
    assert [p.split("_", 1)[1] for p in sel.keys()] == ["dense0_weight", "dense1_weight"]


def _dense_net():
    net = nn.HybridSequential()
    with net.name_scope():
        net.add(_Lin(3, 4), _Lin(2, 3))
    net.initialize(mx.init.Xavier())
    return net


class _Lin(HybridBlock):
    def __init__(self, units, in_units, **kw):
        super().__init__(**kw)
        with self.name_scope():
            self.weight = self.params.get("weight", shape=(units, in_units))
            self.bias = self.params.get("bias", shape=(units,), init="zeros")
        self._units = units

    def hybrid_forward(self, F, x, weight, bias):
        return F.FullyConnected(x, weight, bias, num_hidden=self._units)


@pytest.mark.parametrize("hybrid", [False, True])
def test_trainer_sgd_step_matches_numpy(hybrid):
    net = _dense_net()
    if hybrid:
        net.hybridize()
    x = np.random.RandomState(0).rand(5, 4).astype(np.float32)
    params = list(net.collect_params().values())
    before = [p.data().asnumpy().astype(np.float64) for p in params]
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.5, "wd": 0.01})
    assert trainer.learning_rate == 0.5
    with autograd.record():
        out = net(mx.nd.array(x))
        loss = (out * out).sum()
    loss.backward()
    grads = [p.grad().asnumpy().astype(np.float64) for p in params]
    trainer.step(5)
    for p, w, g in zip(params, before, grads):
        np.testing.assert_allclose(p.data().asnumpy(), w - 0.5 * (g / 5 + 0.01 * w), rtol=1e-5, atol=1e-6)
    trainer.set_learning_rate(0.1)
    assert trainer.learning_rate == 0.1 and trainer.optimizer.lr == 0.1


def test_trainer_stale_grad_and_lr_mult():
    net = _dense_net()
    unused = gluon.Parameter("unused", shape=(2,))
    unused.initialize()
    params = list(net.collect_params().values()) + [unused]
    trainer = gluon.Trainer(params, "sgd", {"learning_rate": 1.0})
    with autograd.record():
        loss = net(mx.nd.ones((2, 4))).sum()
    loss.backward()
    with pytest.raises(UserWarning, match="unused"):
        trainer.step(1)
    w0 = unused.data().asnumpy()
    net[0].weight.lr_mult = 0.0
    fixed = net[0].weight.data().asnumpy()
    moved = net[1].weight.data().asnumpy()
    trainer.step(1, ignore_stale_grad=True)
    np.testing.assert_array_equal(unused.data().asnumpy(), w0)
    np.testing.assert_array_equal(net[0].weight.data().asnumpy(), fixed)
    assert not np.array_equal(net[1].weight.data().asnumpy(), moved)
    with pytest.raises(UserWarning, match="has not been updated"):
        trainer.step(1)  # gradients are stale until the next backward


def test_trainer_save_load_states(tmp_path):
    def run(trainer, net, steps):
        for _ in range(steps):
            with autograd.record():
                loss = net(mx.nd.ones((2, 4))).sum()
            loss.backward()
            trainer.step(2)

    net = _dense_net()
    net.hybridize()
    tr = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.1, "momentum": 0.9})
    run(tr, net, 2)
    f = str(tmp_path / "t.states")
    tr.save_states(f)
    saved = [p.data().copy() for p in net.collect_params().values()]
    run(tr, net, 1)
    after = [p.data().asnumpy() for p in net.collect_params().values()]
    for p, s in zip(net.collect_params().values(), saved):
        p.set_data(s)
    tr2 = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.1, "momentum": 0.9})
    tr2.load_states(f)
    run(tr2, net, 1)
    for p, a in zip(net.collect_params().values(), after):
        np.testing.assert_allclose(p.data().asnumpy(), a, rtol=1e-6, atol=1e-7)
    with pytest.raises(ValueError, match="list or dict of Parameters"):
        gluon.Trainer(net, "sgd")


def test_split_and_load_and_clip_global_norm(tmp_path):
    x = mx.nd.array(np.arange(14, dtype=np.float32).reshape(7, 2))
    with pytest.raises(ValueError, match="evenly split"):
        gluon.utils.split_data(x, 2)
    parts = gluon.utils.split_data(x, 3, even_split=False)
    assert [p.shape[0] for p in parts] == [3, 2, 2]
    np.testing.assert_array_equal(np.concatenate([p.asnumpy() for p in parts]), x.asnumpy())
    cols = gluon.utils.split_data(x, 2, batch_axis=1)
    np.testing.assert_array_equal(cols[1].asnumpy(), x.asnumpy()[:, 1:])
    loaded = gluon.utils.split_and_load(np.ones((4, 2)), [mx.cpu()])
    assert len(loaded) == 1 and loaded[0].shape == (4, 2)
    rs = np.random.RandomState(0)
    arrs = [rs.randn(3, 4), rs.randn(5)]
    nds = [mx.nd.array(a) for a in arrs]
    norm = np.sqrt(sum((a.astype(np.float64) ** 2).sum() for a in arrs))
    got = gluon.utils.clip_global_norm(nds, 1.0)
    assert abs(got - norm) < 1e-4 * norm
    for a, n in zip(arrs, nds):
        np.testing.assert_allclose(n.asnumpy(), a / (norm + 1e-8), rtol=1e-5, atol=1e-6)
    big = [mx.nd.array(a) for a in arrs]
    gluon.utils.clip_global_norm(big, 1e6)  # below the limit: unchanged
    np.testing.assert_allclose(big[0].asnumpy(), arrs[0].astype(np.float32), rtol=1e-6)
    f = tmp_path / "blob.bin"
    f.write_bytes(b"mxcc")
    assert gluon.utils.check_sha1(str(f), hashlib.sha1(b"mxcc").hexdigest())
    assert not gluon.utils.check_sha1(str(f), "0" * 40)
    assert gluon.utils.download("http://example.com/blob.bin", path=str(tmp_path)) == str(f)
    with pytest.raises(mx.MXNetError, match="does not download"):
        gluon.utils.download("http://example.com/missing.bin", path=str(tmp_path))
