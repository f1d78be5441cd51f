"""mx.autograd: recording scopes, backward / grad against float64 numpy derivatives, grad_req,
detach and pause, views, custom Functions, train-dependent ops, and a training loop that compiles once."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mxcc as mx
from mxcc.ir.errors import MXNetError

ag = mx.autograd


def nd(x, dtype="float64"):
    return mx.nd.array(np.asarray(x), dtype=dtype)


def close(a, want, rtol=1e-10, atol=1e-12):
    np.testing.assert_allclose(a.asnumpy() if hasattr(a, "asnumpy") else a, want, rtol=rtol, atol=atol)


def var(x, req="write", dtype="float64"):
    a = nd(x, dtype)
    a.attach_grad(req)
    return a


# ---- state ------------------------------------------------------------------------------------------------------
def test_scopes_set_and_restore_state():
    assert not ag.is_recording() and not ag.is_training()
    with ag.record():
        assert ag.is_recording() and ag.is_training()
        with ag.pause():
            assert not ag.is_recording() and not ag.is_training()
            with ag.train_mode():
                assert ag.is_training() and not ag.is_recording()
        with ag.predict_mode():
            assert not ag.is_training() and ag.is_recording()
        assert ag.is_recording() and ag.is_training()
    with ag.record(train_mode=False):
        assert ag.is_recording() and not ag.is_training()
    assert not ag.is_recording() and not ag.is_training()
    assert ag.set_recording(True) is False
    assert ag.set_recording(False) is True
    assert ag.set_training(True) is False
    assert ag.set_training(False) is True


# ---- gradients against numpy ---------------------------------------------------------------------------------
def test_polynomial_and_reused_input():
    x0 = np.array([[-1.5, 0.5, 2.0], [3.0, -0.25, 1.0]])
    x = var(x0)
    with ag.record():
        y = x * x * x + 3 * x - x / 2
    y.backward()
    close(x.grad, 3 * x0 ** 2 + 2.5)
    close(y, x0 ** 3 + 2.5 * x0)


@settings(max_examples=8, deadline=None)
@given(st.sampled_from([((3, 4), (4,)), ((2, 1, 3), (4, 1)), ((5,), (2, 5)), ((1,), (3, 2))]), st.integers(0, 99))
def test_broadcasting_gradients(shapes, seed):
    sa, sb = shapes
    rng = np.random.default_rng(seed)
    a0, b0 = rng.standard_normal(sa), rng.uniform(0.5, 2.0, sb)
    a, b = var(a0), var(b0)
    with ag.record():
        z = mx.nd.sum(a * b + mx.nd.exp(a) / b)
    z.backward()
    full = np.broadcast_shapes(sa, sb)

    def sum_to(g, shape):
        g = np.broadcast_to(g, full)
        while g.ndim > len(shape):
            g = g.sum(0)
        return g.sum(axis=tuple(i for i, d in enumerate(shape) if d == 1), keepdims=True).reshape(shape)

    ga = sum_to(np.broadcast_to(b0, full) + np.exp(np.broadcast_to(a0, full)) / b0, sa)
    gb = sum_to(np.broadcast_to(a0, full) - np.exp(np.broadcast_to(a0, full)) / b0 ** 2, sb)
    close(a.grad, ga, rtol=1e-9)
    close(b.grad, gb, rtol=1e-9)


def test_head_grads_and_multiple_heads():
    x0, w0 = np.array([1.0, -2.0, 0.5]), np.array([0.3, 0.7, -1.1])
    x, w = var(x0), var(w0)
    h1, h2 = np.array([1.0, 2.0, 3.0]), np.array([-1.0, 0.5, 2.0])
    with ag.record():
        y1 = mx.nd.tanh(x * w)
        y2 = x * x
    ag.backward([y1, y2], [nd(h1), nd(h2)])
    d = h1 * (1 - np.tanh(x0 * w0) ** 2)
    close(x.grad, d * w0 + 2 * x0 * h2)
    close(w.grad, d * x0)
    with ag.record():
        y = mx.nd.sin(x)
    y.backward(nd(h1))
    close(x.grad, np.cos(x0) * h1)


def test_grad_req_add_and_retain_graph():
    x0 = np.array([0.5, 1.5])
    x = var(x0, "add")
    with ag.record():
        y = x * x
    y.backward(retain_graph=True)
    y.backward()
    close(x.grad, 2 * 2 * x0)
    with pytest.raises(MXNetError, match="not in a computational graph"):
        y.backward()
    with ag.record():
        z = x * 4
    z.backward()
    close(x.grad, 4 * x0 + 4)
    x.grad[:] = 0
    with ag.record():
        z = x * 4
    z.backward()
    close(x.grad, [4, 4])


def test_grad_req_write_overwrites_and_null_skips():
    x, c = var([1.0, 2.0]), var([5.0, 6.0], "null")
    for _ in range(2):
        with ag.record():
            y = x * c
        y.backward()
    close(x.grad, [5, 6])
    assert c.grad is not None
    close(c.grad, [0, 0])


def test_detach_and_pause_cut_the_graph():
    x0 = np.array([1.0, -3.0, 2.0])
    x = var(x0)
    with ag.record():
        y = x * x.detach()
    y.backward()
    close(x.grad, x0)
    with ag.record():
        with ag.pause():
            z = x * 2
        y = x * z
    y.backward()
    close(x.grad, 2 * x0)
    with ag.record():
        y = x * x
        d = y.detach()
        out = d * x
    out.backward()
    close(x.grad, x0 ** 2)


def test_autograd_grad_leaves_dot_grad_alone():
    x0 = np.array([0.2, -0.7, 1.3])
    x, w = var(x0), var(x0 * 2)
    with ag.record():
        y = mx.nd.sum(mx.nd.exp(x) * w)
    gx, gw = ag.grad(y, [x, w], retain_graph=True)
    close(gx, np.exp(x0) * 2 * x0)
    close(gw, np.exp(x0))
    close(x.grad, np.zeros(3))
    g = ag.grad(y, x)
    close(g, np.exp(x0) * 2 * x0)


def test_grad_wrt_intermediate_and_mark_variables():
    x0 = np.array([1.0, 2.0])
    x = nd(x0)
    gx = mx.nd.zeros((2,), dtype="float64")
    ag.mark_variables([x], [gx])
    with ag.record():
        h = x * 1.5
        y = h * h
    (gh,) = ag.grad([y], [h], retain_graph=True)
    close(gh, 2 * 1.5 * x0)
    y.backward()
    close(gx, 4.5 * x0)
    assert x.grad is gx


def test_views_while_recording():
    x0 = np.arange(12.0).reshape(3, 4) / 10
    x = var(x0)
    with ag.record():
        r = x.reshape((4, 3))
        row = x[1]
        y = mx.nd.sum(r * r) + mx.nd.sum(row * 5) + mx.nd.sum(x[1:3] * 2)
    y.backward()
    want = 2 * x0
    want[1] += 5
    want[1:3] += 2
    close(x.grad, want)


def test_strided_index_and_inplace_update_of_a_constant():
    x0 = np.arange(12.0).reshape(3, 4) / 10
    x = var(x0)
    c0 = np.array([1.0, 2.0, 3.0])
    c = nd(c0)
    with ag.record():
        col = x[:, 1]  # a strided copy, then a view of it
        c *= col  # c is overwritten; the tape keeps its old value
        y = mx.nd.sum(c * c)
    y.backward()
    want = np.zeros((3, 4))
    want[:, 1] = 2 * c0 ** 2 * x0[:, 1]
    close(x.grad, want)
    close(c, c0 * x0[:, 1])


def test_training_loop_reuses_one_program():
    from mxcc import autograd as impl

    x, w = nd(np.ones((2, 3))), var(np.full((3,), 0.5))
    for i in range(3):
        with ag.record():
            y = mx.nd.sum(mx.nd.broadcast_mul(x, w.reshape((1, 3))) ** 2)
        y.backward()
        if i == 0:
            n = len(impl._programs)
    assert len(impl._programs) == n
    close(w.grad, 2 * 2 * np.full(3, 0.5))


def test_get_symbol():
    x = var([1.0, 2.0])
    c = nd([3.0, 4.0])
    with ag.record():
        y = mx.nd.exp(x * c).reshape((2, 1))
    s = ag.get_symbol(y)
    assert s.list_arguments() == ["var0", "var1"]
    ex = s.bind(mx.cpu(), {"var0": nd([1.0, 2.0]), "var1": nd([3.0, 4.0])})
    close(ex.forward()[0], np.exp([[3.0], [8.0]]))


def test_errors():
    x = nd([1.0, 2.0])
    with pytest.raises(MXNetError, match="not in a computational graph"):
        x.backward()
    v = var([1.0, 2.0])
    with ag.record():
        y = v * 2
        with pytest.raises(MXNetError, match="already in a computational graph"):
            y[:] = 0
    with pytest.raises(ValueError):
        v.attach_grad("sometimes")
    with pytest.raises(ValueError):
        ag.backward([y], [nd([1.0, 2.0, 3.0])])


# ---- custom Function -------------------------------------------------------------------------------------------
class Sigmoid(ag.Function):
    def forward(self, x):
        y = 1 / (1 + mx.nd.exp(-x))
        self.save_for_backward(y)
        return y

    def backward(self, dy):
        (y,) = self.saved_tensors
        return dy * y * (1 - y)


def test_custom_function():
    x0 = np.array([-1.0, 0.0, 2.5])
    x, w = var(x0), var([2.0, -1.0, 0.5])
    with ag.record():
        h = x * w
        y = Sigmoid()(h)
        z = mx.nd.sum(y * y)
    z.backward()
    s = 1 / (1 + np.exp(-x0 * [2.0, -1.0, 0.5]))
    d = 2 * s * s * (1 - s)
    close(x.grad, d * [2.0, -1.0, 0.5])
    close(w.grad, d * x0)
    f = Sigmoid()
    f(nd(x0))
    with pytest.raises(MXNetError, match="only be called once"):
        f(nd(x0))


class Scale2(ag.Function):
    """Two inputs, two outputs: (a * b, a + b)."""

    def forward(self, a, b):
        self.save_for_backward(a, b)
        return a * b, a + b

    def backward(self, d1, d2):
        a, b = self.saved_tensors
        return d1 * b + d2, d1 * a + d2


def test_chained_custom_functions_and_grad():
    a0, b0 = np.array([1.0, -2.0]), np.array([0.5, 3.0])
    a, b = var(a0), var(b0)
    with ag.record():
        p, s = Scale2()(a, b)
        q = Sigmoid()(p * 2)
        z = mx.nd.sum(q * s)
    ga, gb = ag.grad(z, [a, b], retain_graph=True)
    sq = 1 / (1 + np.exp(-2 * a0 * b0))
    dp = (a0 + b0) * sq * (1 - sq) * 2
    close(ga, dp * b0 + sq)
    close(gb, dp * a0 + sq)
    close(a.grad, [0, 0])
    z.backward()
    close(a.grad, dp * b0 + sq)
    close(b.grad, dp * a0 + sq)


# ---- train-dependent ops ---------------------------------------------------------------------------------------
def test_dropout_train_vs_predict_and_its_gradient():
    x = var(np.ones((40, 50)), dtype="float32")
    with ag.record():
        y = mx.nd.Dropout(x, p=0.5)
    y.backward()
    yn, gn = y.asnumpy(), x.grad.asnumpy()
    assert set(np.unique(yn)) <= {0.0, 2.0} and 0.3 < (yn == 0).mean() < 0.7
    np.testing.assert_array_equal(gn, yn)  # the same mask forward and backward
    with ag.record(train_mode=False):
        y = mx.nd.Dropout(x, p=0.5)
    close(y, np.ones((40, 50)))
    with ag.train_mode():
        assert (mx.nd.Dropout(x, p=0.5).asnumpy() == 0).any()
    close(mx.nd.Dropout(x, p=0.5), np.ones((40, 50)))


def test_batchnorm_updates_moving_stats_while_recording():
    rng = np.random.default_rng(3)
    x0 = rng.standard_normal((8, 3, 2, 2))
    x = var(x0, dtype="float32")
    gamma, beta = var(np.ones(3), dtype="float32"), var(np.zeros(3), dtype="float32")
    mm, mv = mx.nd.zeros((3,)), mx.nd.ones((3,))
    with ag.record():
        y = mx.nd.BatchNorm(x, gamma, beta, mm, mv, fix_gamma=False, momentum=0.9, eps=1e-5)
        loss = mx.nd.sum(y * y)
    loss.backward()
    mean, var_ = x0.mean(axis=(0, 2, 3)), x0.var(axis=(0, 2, 3))
    close(mm, 0.1 * mean, rtol=1e-4, atol=1e-6)
    yn = (x0 - mean[None, :, None, None]) / np.sqrt(var_[None, :, None, None] + 1e-5)
    close(y, yn, rtol=1e-3, atol=1e-4)
    close(gamma.grad, (2 * yn * yn).sum(axis=(0, 2, 3)), rtol=1e-3, atol=1e-3)
    assert np.abs(x.grad.asnumpy()).max() < 1e-3  # sum(y^2) is constant in x under batch statistics
    with ag.record(train_mode=False):
        y2 = mx.nd.BatchNorm(x, gamma, beta, mm, mv, fix_gamma=False, eps=1e-5)
    mmn = mm.asnumpy().astype(np.float64)[None, :, None, None]
    mvn = mv.asnumpy().astype(np.float64)[None, :, None, None]
    close(y2, (x0 - mmn) / np.sqrt(mvn + 1e-5), rtol=1e-4, atol=1e-4)


# ---- a training loop -------------------------------------------------------------------------------------------
def test_mlp_training_loop_reduces_loss_and_compiles_once():
    rng = np.random.default_rng(0)
    n, d, k = 64, 10, 3
    centers = rng.standard_normal((k, d)) * 2
    labels = rng.integers(0, k, n)
    data = centers[labels] + rng.standard_normal((n, d)) * 0.5
    X, Y = nd(data, "float32"), nd(labels, "float32")
    params = [var(rng.standard_normal((16, d)) * 0.3, dtype="float32"), var(np.zeros(16), dtype="float32"),
              var(rng.standard_normal((k, 16)) * 0.3, dtype="float32"), var(np.zeros(k), dtype="float32")]
    w1, b1, w2, b2 = params

    def step():
        with ag.record():
            h = mx.nd.Activation(mx.nd.FullyConnected(X, w1, b1, num_hidden=16), act_type="relu")
            logits = mx.nd.FullyConnected(h, w2, b2, num_hidden=k)
            loss = -mx.nd.mean(mx.nd.pick(mx.nd.log_softmax(logits), Y))
        loss.backward()
        for p in params:
            mx.nd.sgd_update(p, p.grad, lr=0.5, out=p)
        return float(loss.asscalar())

    losses = [step(), step()]
    before = mx.runtime.stats()
    losses += [step() for _ in range(30)]
    after = mx.runtime.stats()
    assert after["kernels_compiled"] == before["kernels_compiled"]
    assert after["disk_cache_hits"] == before["disk_cache_hits"]
    assert losses[-1] < 0.5 * losses[0], losses


def test_gradient_of_mlp_matches_numpy():
    rng = np.random.default_rng(1)
    x0, w0, b0 = rng.standard_normal((4, 5)), rng.standard_normal((3, 5)), rng.standard_normal(3)
    lab = np.array([0, 2, 1, 2])
    x, w, b = nd(x0), var(w0), var(b0)
    with ag.record():
        out = mx.nd.SoftmaxOutput(mx.nd.FullyConnected(x, w, b, num_hidden=3), nd(lab))
    out.backward()
    z = x0 @ w0.T + b0
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    dz = p - np.eye(3)[lab]
    close(out, p)
    close(w.grad, dz.T @ x0, rtol=1e-9)
    close(b.grad, dz.sum(0), rtol=1e-9)
