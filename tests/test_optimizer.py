"""mx.optimizer and mx.lr_scheduler: several steps of every optimizer against a float64 numpy
re-implementation of MXNet 1.x's formulas, the fused update ops, the updater's states, the
learning rate / weight decay multipliers and the schedules."""
from __future__ import annotations

import logging
import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mxcc as mx
from mxcc.ir.errors import ShapeError


def _clip(x, c):
    return np.clip(x, -c, c) if c is not None and c >= 0 else x


def reference(name, kw, w, grads, wd_mult=1.0):
    """The weight after each step, in float64, by MXNet 1.x's formulas (checked against MXNet 1.9.1)."""
    w = w.astype(np.float64).copy()
    lr = kw.get("learning_rate", {"adam": 0.001, "rmsprop": 0.001}.get(name, 0.01))
    wd = kw.get("wd", 0.0) * wd_mult
    rg = kw.get("rescale_grad", 1.0)
    c = kw.get("clip_gradient")
    if name in ("sgd", "nag", "adam", "rmsprop") and not c:  # these pass clip_gradient only when truthy
        c = None
    s = [np.zeros_like(w) for _ in range(3)]
    out = []
    for t, g in enumerate(grads, 1):
        g = g.astype(np.float64)
        if name == "sgd":
            mom = kw.get("momentum", 0.0)
            if mom:
                s[0] = mom * s[0] - lr * wd * w - lr * _clip(rg * g, c)
                w = w + s[0]
            else:
                w = (1 - lr * wd) * w - lr * _clip(rg * g, c)
        elif name == "nag":
            mom = kw.get("momentum", 0.0)
            gr = _clip(rg * g, c)
            if mom:
                m1 = mom * s[0]
                wn = w - m1 + (mom + 1) * (m1 - lr * (gr + wd * w))
                s[0] = m1 - lr * (gr + wd * wn)  # MXNet's in-place kernel sees the new weight here
                w = wn
            else:
                w = (1 - lr * wd) * w - lr * gr
        elif name == "adam":
            b1, b2, eps = kw.get("beta1", 0.9), kw.get("beta2", 0.999), kw.get("epsilon", 1e-8)
            lrt = lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t)
            gr = _clip(rg * g + wd * w, c)
            s[0] = b1 * s[0] + (1 - b1) * gr
            s[1] = b2 * s[1] + (1 - b2) * gr * gr
            w = w - lrt * s[0] / (np.sqrt(s[1]) + eps)
        elif name == "adagrad":
            gr = _clip(rg * g, c)
            s[0] = s[0] + gr * gr
            w = w - lr * (gr / np.sqrt(s[0] + kw.get("eps", 1e-7)) + wd * w)
        elif name == "rmsprop":
            g1, g2, eps = kw.get("gamma1", 0.9), kw.get("gamma2", 0.9), kw.get("epsilon", 1e-8)
            gr = _clip(rg * g + wd * w, c)
            s[0] = (1 - g1) * gr * gr + g1 * s[0]
            if kw.get("centered"):
                s[1] = (1 - g1) * gr + g1 * s[1]
                s[2] = g2 * s[2] - lr * gr / np.sqrt(s[0] - s[1] * s[1] + eps)
                w = w + s[2]
            else:
                w = w - lr * gr / np.sqrt(s[0] + eps)
            if kw.get("clip_weights"):
                w = np.clip(w, -kw["clip_weights"], kw["clip_weights"])
        elif name == "adadelta":
            rho, eps = kw.get("rho", 0.9), kw.get("epsilon", 1e-5)
            gr = _clip(rg * g, c)
            s[0] = rho * s[0] + (1 - rho) * gr * gr
            d = np.sqrt(s[1] + eps) / np.sqrt(s[0] + eps) * gr
            s[1] = rho * s[1] + (1 - rho) * d * d
            w = w - (d + wd * w)
        out.append(w.copy())
    return out


CASES = [
    ("sgd", {"learning_rate": 0.1}),
    ("sgd", {"learning_rate": 0.1, "momentum": 0.9, "wd": 0.01, "rescale_grad": 0.5, "clip_gradient": 0.3}),
    ("nag", {"learning_rate": 0.1, "momentum": 0.9, "wd": 0.05}),
    ("nag", {"learning_rate": 0.05, "wd": 0.05, "clip_gradient": 0.2}),
    ("adam", {"learning_rate": 0.01, "wd": 0.01, "clip_gradient": 0.5}),
    ("adam", {"beta1": 0.8, "beta2": 0.99, "epsilon": 1e-6, "rescale_grad": 2.0}),
    ("adagrad", {"learning_rate": 0.1, "wd": 0.01, "eps": 1e-6}),
    ("adagrad", {"learning_rate": 0.1, "clip_gradient": 0.25}),
    ("rmsprop", {"learning_rate": 0.01, "wd": 0.01, "clip_weights": 0.6}),
    ("rmsprop", {"learning_rate": 0.01, "centered": True, "gamma1": 0.95, "gamma2": 0.8, "clip_gradient": 1.0}),
    ("adadelta", {"wd": 0.01, "rescale_grad": 0.5}),
    ("adadelta", {"rho": 0.8, "epsilon": 1e-4, "clip_gradient": 0.3}),
]
TOL = {"float32": 2e-6, "float64": 1e-12, "float16": 2e-2}


def _data(shape, steps=6, seed=0):
    rng = np.random.RandomState(seed)
    return rng.uniform(-1, 1, shape), [rng.uniform(-1, 1, shape) for _ in range(steps)]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name,kw", CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
def test_optimizer_steps_match_mxnet_formulas(name, kw, dtype):
    w0, grads = _data((4, 5))
    opt = mx.optimizer.create(name, **kw)
    updater = mx.optimizer.get_updater(opt)
    w = mx.nd.array(w0, dtype=dtype)
    buf = w._data  # updated in place: the same storage throughout
    for step, (g, ref) in enumerate(zip(grads, reference(name, kw, w0.astype(dtype), grads))):
        updater(0, mx.nd.array(g, dtype=dtype), w)
        np.testing.assert_allclose(w.asnumpy(), ref, rtol=TOL[dtype], atol=TOL[dtype], err_msg=f"step {step + 1}")
    assert w._data is buf
    assert opt.num_update == len(grads)


@pytest.mark.parametrize("name", ["sgd", "adam"])
def test_float16_weights(name):
    w0, grads = _data((3, 4))
    kw = {"learning_rate": 0.05, "momentum": 0.9} if name == "sgd" else {"learning_rate": 0.05}
    updater = mx.optimizer.get_updater(mx.optimizer.create(name, **kw))
    w = mx.nd.array(w0, dtype="float16")
    with pytest.warns(UserWarning, match="float16"):
        updater(0, mx.nd.array(grads[0], dtype="float16"), w)
    for g in grads[1:]:
        updater(0, mx.nd.array(g, dtype="float16"), w)
    assert w.dtype == np.float16
    np.testing.assert_allclose(w.asnumpy(), reference(name, kw, w0, grads)[-1], atol=TOL["float16"])


def test_multi_precision_keeps_a_float32_master_copy():
    w0, grads = _data((3, 4))
    kw = {"learning_rate": 0.05, "momentum": 0.9, "multi_precision": True}
    updater = mx.optimizer.get_updater(mx.optimizer.create("sgd", **kw))
    w = mx.nd.array(w0, dtype="float16")
    for g in grads:
        updater(0, mx.nd.array(g, dtype="float16"), w)
    master, mom = updater.states[0]
    assert master.dtype == np.float32 and mom.dtype == np.float32 and w.dtype == np.float16
    ref = reference("sgd", kw, w0.astype(np.float16), [g.astype(np.float16) for g in grads])[-1]
    np.testing.assert_allclose(master.asnumpy(), ref, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(w.asnumpy(), master.asnumpy().astype(np.float16))


@settings(max_examples=10, deadline=None)
@given(shape=st.lists(st.integers(1, 7), min_size=1, max_size=3).map(tuple),
       lr=st.floats(0.001, 1.0), mom=st.floats(0.0, 0.99), wd=st.floats(0.0, 0.1))
def test_sgd_momentum_any_shape(shape, lr, mom, wd):
    w0, grads = _data(shape, steps=3, seed=len(shape))
    kw = {"learning_rate": lr, "momentum": mom, "wd": wd}
    opt = mx.optimizer.SGD(**kw)
    w = mx.nd.array(w0)
    state = opt.create_state(0, w)
    for g in grads:
        opt.update(0, w, mx.nd.array(g), state)
    np.testing.assert_allclose(w.asnumpy(), reference("sgd", kw, w0, grads)[-1], rtol=1e-5, atol=1e-6)


def test_update_ops_write_states_in_place_as_mxnet():
    w0, (g0,) = _data((2, 3), steps=1)
    w, g, m = mx.nd.array(w0), mx.nd.array(g0), mx.nd.zeros((2, 3))
    r = mx.nd.sgd_mom_update(w, g, m, out=w, lr=0.1, momentum=0.9, wd=0.0)
    assert r is w  # the state is a mutable input: only the weight is returned
    np.testing.assert_allclose(m.asnumpy(), -0.1 * g0, rtol=1e-6)
    np.testing.assert_allclose(w.asnumpy(), w0 - 0.1 * g0, rtol=1e-6, atol=1e-7)
    before = w.asnumpy()
    new = mx.nd.sgd_mom_update(w, g, m, lr=0.1, momentum=0.9)  # no out: a new weight, the state still in place
    np.testing.assert_array_equal(w.asnumpy(), before)
    np.testing.assert_allclose(m.asnumpy(), 0.9 * (-0.1 * g0) - 0.1 * g0, rtol=1e-6)
    np.testing.assert_allclose(new.asnumpy(), before + m.asnumpy(), rtol=1e-6)
    mean, var = mx.nd.zeros((2, 3)), mx.nd.zeros((2, 3))
    out = mx.nd.adam_update(w, g, mean, var, lr=0.01, out=w)
    assert out is w
    np.testing.assert_allclose(mean.asnumpy(), 0.1 * g0, rtol=1e-6)
    np.testing.assert_allclose(var.asnumpy(), 0.001 * g0 * g0, rtol=5e-5)  # 1 - 0.999 in float32


def test_update_op_errors_name_the_op():
    w, g = mx.nd.ones((2, 3)), mx.nd.ones((3, 2))
    with pytest.raises(ShapeError, match=r"sgd_update: grad has shape \(3, 2\).*\(2, 3\)"):
        mx.nd.sgd_update(w, g, lr=0.1)
    with pytest.raises(ShapeError, match="adam_update: var"):
        mx.nd.adam_update(w, mx.nd.ones((2, 3)), mx.nd.zeros((2, 3)), mx.nd.zeros((2, 3), dtype="float64"), lr=0.1)
    with pytest.raises(TypeError, match="sgd_update: weight must be float"):
        mx.nd.sgd_update(mx.nd.ones((2,), dtype="int32"), mx.nd.ones((2,), dtype="int32"), lr=0.1)
    with pytest.raises(ValueError, match="lr"):
        mx.nd.sgd_update(w, w)
    opt = mx.optimizer.SGD(momentum=0.9)
    with pytest.raises(ShapeError, match="sgd_mom_update"):
        opt.update(0, w, g, opt.create_state(0, w))
    with pytest.raises(TypeError, match="NDArray"):
        opt.update(0, w, np.ones((2, 3)), None)


def test_registry_and_create():
    assert isinstance(mx.optimizer.create("SGD", momentum=0.5), mx.optimizer.SGD)
    assert isinstance(mx.optimizer.Optimizer.create_optimizer("adam"), mx.optimizer.Adam)
    assert isinstance(mx.optimizer.create("ccsgd"), mx.optimizer.SGD)
    with pytest.raises(ValueError, match="Cannot find optimizer nope"):
        mx.optimizer.create("nope")

    @mx.optimizer.Optimizer.register
    class HalfStep(mx.optimizer.Optimizer):
        def update(self, index, weight, grad, state):
            weight[:] = weight - 0.5 * grad

    opt = mx.optimizer.create("halfstep")
    w = mx.nd.ones((3,))
    mx.optimizer.get_updater(opt)(0, mx.nd.ones((3,)), w)
    np.testing.assert_allclose(w.asnumpy(), 0.5)


def test_defaults_follow_mxnet():
    assert mx.optimizer.SGD().lr == 0.01 and mx.optimizer.Adam().lr == 0.001 and mx.optimizer.RMSProp().lr == 0.001
    assert mx.optimizer.SGD().learning_rate == 0.01
    sgd = mx.optimizer.SGD()
    assert sgd.create_state(0, mx.nd.ones((2,))) is None  # no momentum, no state
    sched = mx.lr_scheduler.FactorScheduler(step=2, base_lr=0.5)
    with pytest.warns(UserWarning, match="overwritten"):
        opt = mx.optimizer.SGD(learning_rate=0.2, lr_scheduler=sched)
    assert sched.base_lr == 0.2
    with pytest.raises(UserWarning):
        opt.set_learning_rate(0.3)
    sgd.set_learning_rate(0.3)
    assert sgd.learning_rate == 0.3


def test_weight_decay_and_lr_multipliers():
    names = {0: "fc1_weight", 1: "fc1_bias", 2: "bn_gamma", 3: "bn_beta"}
    opt = mx.optimizer.SGD(learning_rate=0.1, wd=0.5, param_idx2name=names)
    assert [opt._get_wd(i) for i in range(4)] == [0.5, 0.0, 0.5, 0.0]
    opt.set_lr_mult({"fc1_bias": 2.0})
    opt.set_wd_mult({"fc1_weight": 0.1})
    assert opt._get_lr(1) == pytest.approx(0.2) and opt._get_lr(0) == pytest.approx(0.1)
    assert opt._get_wd(0) == pytest.approx(0.05)
    # the multipliers reach the update: a bias with lr_mult 2 and no decay
    w0, (g0,) = _data((3,), steps=1)
    w = mx.nd.array(w0)
    opt.update(1, w, mx.nd.array(g0), None)
    np.testing.assert_allclose(w.asnumpy(), w0 - 0.2 * g0, rtol=1e-6)

    class Sym:  # what Optimizer reads from a Symbol
        def attr_dict(self):
            return {"a_weight": {"__lr_mult__": "0.5", "__wd_mult__": "3"}}

        def list_arguments(self):
            return ["data", "a_weight"]

    opt = mx.optimizer.SGD(learning_rate=0.1, wd=0.1, sym=Sym(), param_idx2name={0: "a_weight"})
    assert opt._get_lr(0) == pytest.approx(0.05) and opt._get_wd(0) == pytest.approx(0.3)


def test_update_counts_and_scheduler():
    sched = mx.lr_scheduler.FactorScheduler(step=2, factor=0.5, base_lr=1.0)
    opt = mx.optimizer.SGD(learning_rate=1.0, lr_scheduler=sched)
    updater = mx.optimizer.get_updater(opt)
    w, g = mx.nd.zeros((2,)), mx.nd.ones((2,))
    lrs = []
    for _ in range(6):
        before = w.asnumpy()
        updater(0, g, w)
        lrs.append(float(before[0] - w.asnumpy()[0]))
    assert lrs == pytest.approx([1.0, 1.0, 0.5, 0.5, 0.25, 0.25])
    updater(1, g, mx.nd.zeros((2,)))  # a second weight: num_update is the max over weights
    assert opt.num_update == 6 and opt._index_update_count == {0: 6, 1: 1}


def test_updater_states_round_trip():
    w0, grads = _data((3, 2))
    kw = {"learning_rate": 0.01, "wd": 0.01}
    a = mx.optimizer.get_updater(mx.optimizer.create("adam", **kw))
    wa = mx.nd.array(w0)
    for g in grads[:3]:
        a(0, mx.nd.array(g), wa)
    blob = a.get_states(dump_optimizer=True)
    b = mx.optimizer.get_updater(mx.optimizer.create("sgd"))
    b.set_states(blob)
    assert isinstance(b.optimizer, mx.optimizer.Adam) and b.optimizer.num_update == 3
    wb = mx.nd.array(wa.asnumpy())
    for g in grads[3:]:
        a(0, mx.nd.array(g), wa)
        b(0, mx.nd.array(g), wb)
    np.testing.assert_array_equal(wa.asnumpy(), wb.asnumpy())
    np.testing.assert_allclose(wa.asnumpy(), reference("adam", kw, w0, grads)[-1], rtol=2e-6, atol=2e-6)
    states = pickle.loads(a.get_states())
    assert set(states) == {0} and len(states[0]) == 2


def test_optimizer_pickles_without_param_dict():
    opt = mx.optimizer.SGD(learning_rate=0.3, param_idx2name={0: "w_weight"})
    opt.param_dict = {0: object()}
    back = pickle.loads(pickle.dumps(opt))
    assert back.param_dict == {} and back.lr == 0.3 and back.idx2name == {0: "w_weight"}


# ---- learning rate schedules --------------------------------------------------------------------


def test_factor_scheduler(caplog):
    s = mx.lr_scheduler.FactorScheduler(step=3, factor=0.5, base_lr=1.0, stop_factor_lr=0.2)
    with caplog.at_level(logging.INFO):
        got = [s(n) for n in range(1, 12)]
    assert got == pytest.approx([1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.2, 0.2])
    assert "Update[4]: Change learning rate to 5.00000e-01" in caplog.text
    assert "Update[10]: now learning rate arrived at 2.00000e-01, will not change in the future" in caplog.text
    with pytest.raises(ValueError, match="greater or equal than 1"):
        mx.lr_scheduler.FactorScheduler(step=0)
    with pytest.raises(ValueError, match="no more than 1"):
        mx.lr_scheduler.FactorScheduler(step=1, factor=2)


def test_factor_scheduler_warmup():
    s = mx.lr_scheduler.FactorScheduler(step=10, base_lr=1.0, warmup_steps=4, warmup_begin_lr=0.2)
    assert [s(n) for n in range(5)] == pytest.approx([0.2, 0.4, 0.6, 0.8, 1.0])
    c = mx.lr_scheduler.FactorScheduler(step=10, base_lr=1.0, warmup_steps=4, warmup_begin_lr=0.2,
                                        warmup_mode="constant")
    assert c(3) == 0.2
    with pytest.raises(ValueError):
        mx.lr_scheduler.FactorScheduler(step=10, base_lr=0.1, warmup_begin_lr=0.5)


def test_multifactor_scheduler(caplog):
    s = mx.lr_scheduler.MultiFactorScheduler(step=[2, 5], factor=0.1, base_lr=1.0)
    with caplog.at_level(logging.INFO):
        got = [s(n) for n in range(1, 8)]
    assert got == pytest.approx([1, 1, 0.1, 0.1, 0.1, 0.01, 0.01])
    assert "Update[3]: Change learning rate to 1.00000e-01" in caplog.text
    with pytest.raises(ValueError, match="increasing"):
        mx.lr_scheduler.MultiFactorScheduler(step=[3, 2])


def test_poly_and_cosine_schedulers():
    p = mx.lr_scheduler.PolyScheduler(max_update=10, base_lr=1.0, pwr=2, final_lr=0.1)
    for n in (0, 3, 10, 12):
        t = min(n, 10)
        assert p(n) == pytest.approx(0.1 + 0.9 * (1 - t / 10) ** 2)
    c = mx.lr_scheduler.CosineScheduler(max_update=8, base_lr=2.0, final_lr=0.0, warmup_steps=2)
    assert c(1) == pytest.approx(1.0)  # linear warm-up from 0
    for n in (2, 5, 8):
        assert c(n) == pytest.approx(2.0 * (1 + np.cos(np.pi * (n - 2) / 6)) / 2)
