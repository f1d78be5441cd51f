"""mx.gluon.loss against numpy float64 formulas: values with weight, sample_weight and batch_axis,
imperative vs hybridized, and gradients (autograd vs central differences)."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mxcc as mx
from mxcc import autograd
from mxcc.gluon import loss as gloss

F64 = "float64"


def nd(x, dtype=F64):
    return mx.nd.array(np.asarray(x), dtype=dtype)


def close(a, b, rtol=1e-10, atol=1e-12, msg=""):
    a = a.asnumpy() if hasattr(a, "asnumpy") else np.asarray(a)
    np.testing.assert_allclose(np.asarray(a, np.float64), np.asarray(b, np.float64), rtol=rtol, atol=atol,
                               err_msg=msg)


def mean_but(x, batch_axis=0):
    axes = tuple(a for a in range(x.ndim) if a != batch_axis)
    return x.mean(axis=axes) if axes else x


def run(loss_fn, *args):
    """The loss imperatively and hybridized (None arguments stay None); both must agree."""
    ins = [None if a is None else nd(a) for a in args]
    y = loss_fn(*ins).asnumpy()
    loss_fn.hybridize()
    y2 = loss_fn(*ins).asnumpy()
    loss_fn.hybridize(False)
    np.testing.assert_allclose(y2, y, rtol=1e-12, atol=1e-14)
    return y


def check_pred_grad(loss_fn, args, eps=1e-6, rtol=1e-5, atol=1e-8, seed=0):
    """d sum(head * loss) / d args[0] (autograd, imperative and hybridized) vs central differences."""
    out = loss_fn(*[nd(a) for a in args]).asnumpy()
    head = np.random.default_rng(seed).standard_normal(out.shape)

    def f(p):
        return float((loss_fn(nd(p), *[nd(a) for a in args[1:]]).asnumpy() * head).sum())

    num = np.zeros_like(args[0])
    for i in np.ndindex(*args[0].shape):
        p = args[0].copy()
        p[i] += eps
        hi = f(p)
        p[i] -= 2 * eps
        num[i] = (hi - f(p)) / (2 * eps)
    grads = []
    for hybrid in (False, True):
        loss_fn.hybridize(hybrid)
        x = nd(args[0])
        x.attach_grad()
        with autograd.record():
            y = loss_fn(x, *[nd(a) for a in args[1:]])
        y.backward(nd(head))
        grads.append(x.grad.asnumpy())
    loss_fn.hybridize(False)
    close(grads[0], num, rtol, atol, msg="gradient vs finite differences")
    close(grads[1], grads[0], 1e-10, 1e-12, msg="hybridized gradient")


RNG = np.random.default_rng(0)


# ---- regression losses ---------------------------------------------------------------------------------------
@settings(max_examples=5, deadline=None, derandomize=True)
@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=3), weighted=st.booleans())
def test_l2_and_l1_over_shapes(shape, weighted):
    shape = tuple(shape)
    rng = np.random.default_rng(len(shape))
    pred, label = rng.standard_normal(shape), rng.standard_normal(shape)
    sw = rng.uniform(0, 2, (shape[0],) + (1,) * (len(shape) - 1)) if weighted else None
    w = sw if weighted else 1.0
    close(run(gloss.L2Loss(), pred, label, sw), mean_but(0.5 * (label - pred) ** 2 * w))
    close(run(gloss.L2Loss(weight=None), pred, label, sw), mean_but(0.5 * (label - pred) ** 2 * w))
    close(run(gloss.L1Loss(), pred, label, sw), mean_but(np.abs(label - pred) * w))


def test_l2_weight_batch_axis_label_reshape_and_gradient():
    pred, label = RNG.standard_normal((3, 4)), RNG.standard_normal((12,))
    fn = gloss.L2Loss(weight=3.0, batch_axis=1)
    close(run(fn, pred, label), (1.5 * (label.reshape(3, 4) - pred) ** 2).mean(axis=0))
    check_pred_grad(fn, [pred, label])
    fn = gloss.L1Loss(weight=0.5)
    close(run(fn, pred, label), mean_but(0.5 * np.abs(label.reshape(3, 4) - pred)))
    check_pred_grad(fn, [pred + 0.01, label])


def test_huber_loss():
    pred, label = RNG.standard_normal((4, 5)) * 2, RNG.standard_normal((4, 5))
    sw = RNG.uniform(0, 1, (4, 1))
    for rho in (1, 0.5):
        d = np.abs(label - pred)
        ref = np.where(d > rho, d - 0.5 * rho, 0.5 / rho * d ** 2)
        close(run(gloss.HuberLoss(rho=rho), pred, label, sw), mean_but(ref * sw))
    check_pred_grad(gloss.HuberLoss(rho=0.5), [pred, label])


# ---- classification losses ----------------------------------------------------------------------------------
def log_softmax(x, axis):
    m = x.max(axis=axis, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=axis, keepdims=True))


def test_softmax_cross_entropy_sparse_and_gradient():
    pred = RNG.standard_normal((5, 4))
    label = np.array([0, 3, 1, 2, 3])
    sw = RNG.uniform(0, 2, (5, 1))
    fn = gloss.SoftmaxCrossEntropyLoss()
    ref = -log_softmax(pred, -1)[np.arange(5), label]
    close(run(fn, pred, label), ref)
    close(run(fn, pred, label, sw), ref * sw[:, 0])
    close(run(gloss.SoftmaxCELoss(weight=2.0), pred, label), 2 * ref)
    # d sum(loss) / d pred = softmax - one_hot
    x = nd(pred)
    x.attach_grad()
    with autograd.record():
        y = fn(x, nd(label))
    y.backward()
    close(x.grad, np.exp(log_softmax(pred, -1)) - np.eye(4)[label])
    check_pred_grad(fn, [pred, label.astype(np.float64)])


def test_softmax_cross_entropy_axis_dense_label_and_from_logits():
    pred = RNG.standard_normal((2, 3, 4))
    label = RNG.integers(0, 3, (2, 4)).astype(np.float64)
    fn = gloss.SoftmaxCrossEntropyLoss(axis=1)
    lp = log_softmax(pred, 1)
    picked = np.take_along_axis(lp, label.astype(int)[:, None, :], axis=1)[:, 0]
    close(run(fn, pred, label), -picked.mean(axis=1))
    dense = np.exp(RNG.standard_normal((2, 3, 4)))
    dense /= dense.sum(axis=1, keepdims=True)
    fn = gloss.SoftmaxCrossEntropyLoss(axis=1, sparse_label=False)
    close(run(fn, pred, dense), -(lp * dense).sum(axis=1).mean(axis=1))
    check_pred_grad(fn, [pred, dense])
    fn = gloss.SoftmaxCrossEntropyLoss(from_logits=True)
    close(run(fn, pred, label[:, :3]), -np.take_along_axis(pred, label[:, :3].astype(int)[..., None], -1)[..., 0]
          .mean(axis=1))


def test_sigmoid_bce_from_logits_from_sigmoid_and_pos_weight():
    pred = RNG.standard_normal((4, 3)) * 3
    label = RNG.integers(0, 2, (4, 3)).astype(np.float64)
    sw = RNG.uniform(0, 1, (4, 1))
    p = 1 / (1 + np.exp(-pred))
    ref = -(label * np.log(p) + (1 - label) * np.log(1 - p))
    fn = gloss.SigmoidBinaryCrossEntropyLoss()
    close(run(fn, pred, label), mean_but(ref), 1e-9, 1e-12)
    close(run(fn, pred, label, sw), mean_but(ref * sw), 1e-9, 1e-12)
    check_pred_grad(fn, [pred, label])
    pw = np.array([[0.5, 2.0, 3.0]])
    ref_pw = -(pw * label * np.log(p) + (1 - label) * np.log(1 - p))
    close(run(fn, pred, label, None, pw), mean_but(ref_pw), 1e-9, 1e-12)
    fs = gloss.SigmoidBCELoss(from_sigmoid=True)
    ref_s = -(label * np.log(p + 1e-12) + (1 - label) * np.log(1 - p + 1e-12))
    close(run(fs, p, label), mean_but(ref_s), 1e-9, 1e-12)
    ref_spw = -(pw * label * np.log(p + 1e-12) + (1 - label) * np.log(1 - p + 1e-12))
    close(run(fs, p, label, None, pw), mean_but(ref_spw), 1e-9, 1e-12)


def test_hinge_squared_hinge_and_logistic():
    pred = RNG.standard_normal((6, 2)) * 1.5
    label = np.where(RNG.standard_normal((6, 2)) > 0, 1.0, -1.0)
    sw = RNG.uniform(0, 1, (6, 1))
    h = np.maximum(0, 1 - pred * label)
    close(run(gloss.HingeLoss(), pred, label, sw), mean_but(h * sw))
    close(run(gloss.HingeLoss(margin=2), pred, label), mean_but(np.maximum(0, 2 - pred * label)))
    close(run(gloss.SquaredHingeLoss(), pred, label), mean_but(h ** 2))
    check_pred_grad(gloss.SquaredHingeLoss(), [pred, label])
    close(run(gloss.LogisticLoss(), pred, label), mean_but(np.log1p(np.exp(-pred * label))))
    binary = (label + 1) / 2
    close(run(gloss.LogisticLoss(label_format="binary"), pred, binary), mean_but(np.log1p(np.exp(-pred * label))))
    check_pred_grad(gloss.LogisticLoss(), [pred, label])
    with pytest.raises(ValueError, match="label_format"):
        gloss.LogisticLoss(label_format="bogus")


def test_kldiv_loss():
    logits = RNG.standard_normal((3, 5))
    label = np.exp(log_softmax(RNG.standard_normal((3, 5)), -1))
    lp = log_softmax(logits, -1)
    close(run(gloss.KLDivLoss(), lp, label), mean_but(label * (np.log(label + 1e-12) - lp)))
    fn = gloss.KLDivLoss(from_logits=False)
    close(run(fn, logits, label), mean_but(label * (np.log(label + 1e-12) - lp)))
    check_pred_grad(fn, [logits, label])


# ---- embedding losses -----------------------------------------------------------------------------------------
def test_triplet_loss():
    pred, pos, neg = (RNG.standard_normal((4, 3)) for _ in range(3))
    ref = np.maximum(((pos - pred) ** 2).sum(1) - ((neg - pred) ** 2).sum(1) + 1, 0)
    close(run(gloss.TripletLoss(), pred, pos, neg), ref)
    close(run(gloss.TripletLoss(margin=0.5, weight=2.0), pred, pos, neg),
          2 * np.maximum(((pos - pred) ** 2).sum(1) - ((neg - pred) ** 2).sum(1) + 0.5, 0))
    check_pred_grad(gloss.TripletLoss(margin=3), [pred, pos, neg])


def test_cosine_embedding_loss():
    a, b = RNG.standard_normal((4, 3)), RNG.standard_normal((4, 3))
    label = np.array([1, -1, 1, -1])
    cos = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    for margin in (0, 0.2):
        ref = np.where(label == 1, 1 - cos, np.maximum(0, cos - margin))[:, None]
        close(run(gloss.CosineEmbeddingLoss(margin=margin), a, b, label), ref)
    check_pred_grad(gloss.CosineEmbeddingLoss(), [a, b, label.astype(np.float64)])


def test_poisson_nll_loss():
    pred = RNG.uniform(0.5, 2, (3, 4))
    target = RNG.integers(0, 5, (3, 4)).astype(np.float64)
    close(run(gloss.PoissonNLLLoss(), pred, target), [(np.exp(pred) - target * pred).mean()])
    fn = gloss.PoissonNLLLoss(from_logits=False, compute_full=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        st_ = np.where(target > 1, target * np.log(target) - target + 0.5 * np.log(2 * target * math.pi), 0)
    close(run(fn, pred, target + 0.0), [(pred - target * np.log(pred + 1e-8) + st_).mean()])


# ---- CTC ------------------------------------------------------------------------------------------------------
def ctc_brute(scores, label, blank):
    """-log p(label | scores) for scores (T, C), by summing over every path that collapses to label."""
    t, c = scores.shape
    prob = np.exp(scores - scores.max(1, keepdims=True))
    prob /= prob.sum(1, keepdims=True)
    total = 0.0
    for path in itertools.product(range(c), repeat=t):
        collapsed = [k for i, k in enumerate(path) if (i == 0 or k != path[i - 1]) and k != blank]
        if collapsed == list(label):
            total += np.prod(prob[np.arange(t), path])
    return -np.log(total) if total > 0 else np.inf


def test_ctc_op_matches_path_enumeration_and_finite_differences():
    rng = np.random.default_rng(4)
    data = rng.standard_normal((5, 3, 4))
    label = np.array([[1, 2, 2], [3, 0, 0], [1, 1, 0]])  # blank 'first': 0 pads; the third repeats a class
    loss = mx.nd.CTCLoss(nd(data), nd(label))
    close(loss, [ctc_brute(data[:, n], [v for v in label[n] if v], 0) for n in range(3)])
    # the gradient of sum(head * loss) against central differences, imperative and in a graph
    head = rng.standard_normal(3)

    def f(d):
        return float((mx.nd.CTCLoss(nd(d), nd(label)).asnumpy() * head).sum())

    num = np.zeros_like(data)
    for i in np.ndindex(*data.shape):
        d = data.copy()
        d[i] += 1e-6
        hi = f(d)
        d[i] -= 2e-6
        num[i] = (hi - f(d)) / 2e-6
    x = nd(data)
    x.attach_grad()
    with autograd.record():
        y = mx.nd.CTCLoss(x, nd(label))
    y.backward(nd(head))
    close(x.grad, num, 1e-6, 1e-8)
    sym = mx.sym.CTCLoss(mx.sym.var("data"), mx.sym.var("label"))
    assert sym.list_outputs() == ["ctcloss0_output"] and mx.nd.contrib.CTCLoss is not None
    close(sym.eval(data=nd(data), label=nd(label))[0], loss.asnumpy(), 1e-12, 1e-12)


def test_ctc_lengths_blank_last_and_bad_input():
    rng = np.random.default_rng(5)
    data = rng.standard_normal((4, 2, 3))
    label = np.array([[0, 1, 1], [1, -1, -1]])
    dlen, llen = np.array([4, 3]), np.array([2, 1])
    loss = mx.nd.CTCLoss(nd(data), nd(label), nd(dlen), nd(llen), use_data_lengths=True, use_label_lengths=True,
                         blank_label="last")
    close(loss, [ctc_brute(data[:4, 0], [0, 1], 2), ctc_brute(data[:3, 1], [1], 2)])
    # padding -1 ends a label when no lengths are given; a label longer than the sequence is impossible
    close(mx.nd.CTCLoss(nd(data), nd(label), blank_label="last"),
          [ctc_brute(data[:, 0], [0, 1, 1], 2), ctc_brute(data[:, 1], [1], 2)])
    assert np.isinf(mx.nd.CTCLoss(nd(data[:2]), nd([[1, 1, 1], [1, 2, 0]])).asnumpy()[0])
    with pytest.raises(mx.MXNetError, match="class index"):
        mx.nd.CTCLoss(nd(data), nd([[1, 3, 0], [1, 0, 0]])).asnumpy()
    with pytest.raises(mx.MXNetError, match="data length"):
        mx.nd.CTCLoss(nd(data), nd(label), nd([5, 1]), use_data_lengths=True, blank_label="last").asnumpy()
    with pytest.raises(mx.MXNetError, match="label must be"):
        mx.nd.CTCLoss(nd(data), nd(np.zeros((3, 2))))


def test_gluon_ctc_loss_layouts_lengths_and_weights():
    rng = np.random.default_rng(6)
    pred = rng.standard_normal((2, 4, 3))  # NTC
    label = np.array([[0, 1], [1, -1]])
    ref = np.array([ctc_brute(pred[0], [0, 1], 2), ctc_brute(pred[1], [1], 2)])
    close(run(gloss.CTCLoss(), pred, label), ref)
    close(run(gloss.CTCLoss(layout="TNC", label_layout="TN"), pred.transpose(1, 0, 2), label.T), ref)
    close(run(gloss.CTCLoss(weight=0.5), pred, label, None, None, np.array([1.0, 3.0])), 0.5 * ref * [1, 3])
    close(run(gloss.CTCLoss(), pred, label, np.array([3, 2]), np.array([2, 1])),
          [ctc_brute(pred[0, :3], [0, 1], 2), ctc_brute(pred[1, :2], [1], 2)])
    check_pred_grad(gloss.CTCLoss(), [pred, label.astype(np.float64)], rtol=1e-6, atol=1e-8)
    with pytest.raises(ValueError, match="layout"):
        gloss.CTCLoss(layout="NCT")


# ---- the reshape_like op the losses use to match label and pred ------------------------------------------
def test_reshape_like_op_nd_sym_and_gradient():
    a = np.arange(12.0)
    close(mx.nd.reshape_like(nd(a), nd(np.zeros((3, 4)))), a.reshape(3, 4), 0, 0)
    y = mx.nd.reshape_like(nd(np.zeros((6, 5))), nd(np.zeros((2, 3, 7))), lhs_begin=0, lhs_end=1, rhs_begin=0,
                           rhs_end=2)
    assert y.shape == (2, 3, 5)
    s = mx.sym.reshape_like(mx.sym.var("a"), mx.sym.var("b"), lhs_begin=-1, rhs_begin=1)
    assert s.infer_shape(a=(2, 6), b=(4, 2, 3))[1] == [(2, 2, 3)]
    x = nd(a)
    x.attach_grad()
    head = np.random.default_rng(3).standard_normal((4, 3))
    with autograd.record():
        z = mx.nd.reshape_like(x, nd(np.zeros((4, 3))))
    z.backward(nd(head))
    close(x.grad, head.reshape(12), 0, 0)
    with pytest.raises(Exception, match="12 elements"):
        mx.nd.reshape_like(nd(a), nd(np.zeros((5,))))


# ---- the base class -------------------------------------------------------------------------------------------
def test_loss_repr_aliases_and_weight_type():
    assert repr(gloss.L2Loss()) == "L2Loss(batch_axis=0, w=1.0)"
    assert repr(gloss.SoftmaxCELoss(batch_axis=1)) == "SoftmaxCrossEntropyLoss(batch_axis=1, w=None)"
    assert gloss.SigmoidBCELoss is gloss.SigmoidBinaryCrossEntropyLoss
    with pytest.raises(TypeError, match="number"):
        gloss.L1Loss(weight="2")(nd(np.ones((2, 2))), nd(np.ones((2, 2))))
    with pytest.raises(Exception, match="reshape_like"):
        gloss.L1Loss()(nd(np.ones((2, 2))), nd(np.ones((3,))))


def test_loss_in_a_float32_training_step():
    net = mx.gluon.nn.Dense(3, in_units=4)
    net.initialize(mx.init.Xavier())
    fn = gloss.SoftmaxCrossEntropyLoss()
    x = nd(RNG.standard_normal((6, 4)), "float32")
    y = nd([0, 1, 2, 0, 1, 2], "float32")
    trainer = mx.gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.5})
    losses = []
    for _ in range(10):
        with autograd.record():
            loss = fn(net(x), y)
        loss.backward()
        trainer.step(6)
        losses.append(float(loss.mean().asscalar()))
    assert loss.dtype == np.float32 and loss.shape == (6,)
    assert losses[-1] < losses[0]
