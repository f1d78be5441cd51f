"""mx.gluon.nn layers against numpy float64 references: forward values, gradients (autograd vs central
differences in float64), imperative vs hybridized, deferred shapes, parameter names and reprs."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mxcc as mx
from mxcc import autograd, gluon
from mxcc.gluon import nn

F64 = "float64"


def nd(x, dtype=F64):
    return mx.nd.array(np.asarray(x), dtype=dtype)


def close(a, b, rtol=1e-5, atol=1e-6, msg=""):
    a = a.asnumpy() if hasattr(a, "asnumpy") else np.asarray(a)
    np.testing.assert_allclose(np.asarray(a, np.float64), np.asarray(b, np.float64), rtol=rtol, atol=atol,
                               err_msg=msg)


def ready(block, *shapes, dtype=F64, init=None, seed=0):
    """Initialize `block` (in `dtype`) and return random inputs of `shapes`, after one forward that
    fills deferred shapes."""
    block.initialize(init or mx.init.Uniform(0.7))
    rng = np.random.default_rng(seed)
    xs = [rng.standard_normal(s) for s in shapes]
    block(*[nd(x, "float32") for x in xs])
    block.cast(dtype)
    return xs


def scoped(make):
    """A block made inside a fresh parent scope, so its name does not depend on earlier tests."""
    parent = nn.HybridSequential(prefix="t_")
    with parent.name_scope():
        return make()


def _params(block):
    return {k: p for k, p in block.collect_params().items() if p.grad_req != "null"}


def autograd_grads(block, xs, head, train):
    xn = [nd(x) for x in xs]
    for x in xn:
        x.attach_grad()
    with autograd.record(train_mode=train):
        y = block(*xn)
    y.backward(nd(head))
    return y.asnumpy(), [x.grad.asnumpy() for x in xn], {k: p.grad().asnumpy() for k, p in _params(block).items()}


def check_layer_grads(block, xs, train=False, inputs=True, eps=1e-6, rtol=1e-5, atol=1e-7, seed=1):
    """Gradients of sum(head * block(*xs)) w.r.t. inputs and parameters: autograd (imperative, then
    hybridized) against float64 central differences. The block must already be ready() in float64."""
    mode = autograd.train_mode if train else autograd.predict_mode

    def loss(xv):
        with mode():
            return float((block(*[nd(x) for x in xv]).asnumpy() * head).sum())

    with mode():
        out0 = block(*[nd(x) for x in xs]).asnumpy()
    head = np.random.default_rng(seed).standard_normal(out0.shape)
    y, gx, gp = autograd_grads(block, xs, head, train)
    if inputs:
        for k, x in enumerate(xs):
            num = np.zeros_like(x)
            for i in np.ndindex(*x.shape):
                xp = [v.copy() for v in xs]
                xp[k][i] += eps
                hi = loss(xp)
                xp[k][i] -= 2 * eps
                num[i] = (hi - loss(xp)) / (2 * eps)
            close(gx[k], num, rtol, atol, msg=f"input {k} gradient")
    for name, p in _params(block).items():
        base = p.data().asnumpy().astype(np.float64)
        num = np.zeros_like(base)
        for i in np.ndindex(*base.shape):
            for sgn in (1, -1):
                w = base.copy()
                w[i] += sgn * eps
                p.set_data(nd(w))
                num[i] += sgn * loss(xs) / (2 * eps)
        p.set_data(nd(base))
        close(gp[name], num, rtol, atol, msg=f"parameter {name} gradient")
    block.hybridize()
    y2, gx2, gp2 = autograd_grads(block, xs, head, train)
    close(y2, y, 1e-12, 1e-12, msg="hybridized output")
    for a, b in zip(gx2, gx):
        close(a, b, 1e-10, 1e-12, msg="hybridized input gradient")
    for name in gp:
        close(gp2[name], gp[name], 1e-10, 1e-12, msg=f"hybridized {name} gradient")
    block.hybridize(False)
    return y


def forward_both(block, *xs, dtype=F64):
    """The block's output imperatively and hybridized (they agree up to rounding: fusion may reorder)."""
    ins = [nd(x, dtype) for x in xs]
    y = block(*ins).asnumpy()
    block.hybridize()
    y2 = block(*ins).asnumpy()
    block.hybridize(False)
    np.testing.assert_allclose(y2, y, rtol=1e-12, atol=1e-14)
    return y


# ---- numpy references ------------------------------------------------------------------------------------
def conv_ref(x, w, b, stride, pad, dil, groups):
    n, c = x.shape[:2]
    o, k = w.shape[0], w.shape[2:]
    xp = np.pad(x, [(0, 0), (0, 0)] + [(p, p) for p in pad])
    out = [(xp.shape[2 + i] - dil[i] * (k[i] - 1) - 1) // stride[i] + 1 for i in range(len(k))]
    y = np.zeros((n, o, *out))
    cg, og = c // groups, o // groups
    for kk in np.ndindex(*k):
        win = tuple(slice(kk[i] * dil[i], kk[i] * dil[i] + stride[i] * (out[i] - 1) + 1, stride[i])
                    for i in range(len(k)))
        patch = xp[(slice(None), slice(None)) + win]
        for g in range(groups):
            wk = w[(slice(g * og, (g + 1) * og), slice(None)) + kk]
            y[:, g * og:(g + 1) * og] += np.einsum("oc,nc...->no...", wk, patch[:, g * cg:(g + 1) * cg])
    if b is not None:
        y += b.reshape((1, -1) + (1,) * len(k))
    return y


def deconv_ref(x, w, b, stride, pad, dil, adj, groups):
    n, cin = x.shape[:2]
    k, og = w.shape[2:], w.shape[1]
    ins = x.shape[2:]
    full = [(ins[i] - 1) * stride[i] + dil[i] * (k[i] - 1) + 1 + adj[i] for i in range(len(k))]
    y = np.zeros((n, og * groups, *full))
    cg = cin // groups
    for kk in np.ndindex(*k):
        win = tuple(slice(kk[i] * dil[i], kk[i] * dil[i] + stride[i] * (ins[i] - 1) + 1, stride[i])
                    for i in range(len(k)))
        for g in range(groups):
            wk = w[(slice(g * cg, (g + 1) * cg), slice(None)) + kk]
            y[(slice(None), slice(g * og, (g + 1) * og)) + win] += np.einsum("co,nc...->no...", wk,
                                                                             x[:, g * cg:(g + 1) * cg])
    y = y[(slice(None), slice(None)) + tuple(slice(pad[i], full[i] - pad[i]) for i in range(len(k)))]
    if b is not None:
        y = y + b.reshape((1, -1) + (1,) * len(k))
    return y


def pool_ref(x, kernel, stride, pad, pool_type, ceil_mode=False, count_include_pad=True):
    nd_ = len(kernel)
    sp = x.shape[2:]
    if ceil_mode:
        out = [int(math.ceil((sp[i] + 2 * pad[i] - kernel[i]) / stride[i])) + 1 for i in range(nd_)]
    else:
        out = [(sp[i] + 2 * pad[i] - kernel[i]) // stride[i] + 1 for i in range(nd_)]
    y = np.zeros(x.shape[:2] + tuple(out))
    for o in np.ndindex(*out):
        start = [o[i] * stride[i] - pad[i] for i in range(nd_)]
        end = [min(start[i] + kernel[i], sp[i] + pad[i]) for i in range(nd_)]
        lo = [max(s, 0) for s in start]
        hi = [min(e, d) for e, d in zip(end, sp)]
        win = x[(slice(None), slice(None)) + tuple(slice(a, b) for a, b in zip(lo, hi))]
        if pool_type == "max":
            y[(slice(None), slice(None)) + o] = win.max(axis=tuple(range(2, 2 + nd_)))
        else:
            count = math.prod(e - s for s, e in zip(start, end)) if count_include_pad else \
                math.prod(b - a for a, b in zip(lo, hi))
            y[(slice(None), slice(None)) + o] = win.sum(axis=tuple(range(2, 2 + nd_))) / count
    return y


def norm_ref(x, axes, eps):
    m = x.mean(axis=axes, keepdims=True)
    v = x.var(axis=axes, keepdims=True)
    return (x - m) / np.sqrt(v + eps)


# ---- Dense -------------------------------------------------------------------------------------------------
@settings(max_examples=6, deadline=None, derandomize=True)
@given(n=st.integers(1, 4), d=st.integers(1, 5), units=st.integers(1, 4), bias=st.booleans(),
       act=st.sampled_from([None, "relu", "tanh", "sigmoid"]))
def test_dense_forward_matches_numpy(n, d, units, bias, act):
    layer = nn.Dense(units, activation=act, use_bias=bias)
    (x,) = ready(layer, (n, 2, d))
    w = layer.weight.data().asnumpy()
    assert w.shape == (units, 2 * d)
    y = x.reshape(n, -1) @ w.T
    if bias:
        y = y + layer.bias.data().asnumpy()
    y = {None: y, "relu": np.maximum(y, 0), "tanh": np.tanh(y), "sigmoid": 1 / (1 + np.exp(-y))}[act]
    close(forward_both(layer, x), y, 1e-12, 1e-12)


def test_dense_flatten_false_and_gradients():
    layer = nn.Dense(3, flatten=False, in_units=4, activation="tanh")
    assert layer.weight.shape == (3, 4)
    (x,) = ready(layer, (2, 3, 4))
    w, b = layer.weight.data().asnumpy(), layer.bias.data().asnumpy()
    close(forward_both(layer, x), np.tanh(x @ w.T + b), 1e-12, 1e-12)
    check_layer_grads(layer, [x])


def test_dense_names_deferred_shape_and_repr():
    net = nn.HybridSequential(prefix="mlp_")
    with net.name_scope():
        net.add(nn.Dense(5, activation="relu"), nn.Dense(2, use_bias=False))
    assert repr(net[0]) == "Dense(None -> 5, Activation(relu))"
    assert net[0].weight.shape == (5, 0)
    net.initialize()
    net(mx.nd.ones((3, 7)))
    names = list(net.collect_params().keys())
    assert names == ["mlp_dense0_weight", "mlp_dense0_bias", "mlp_dense1_weight"]
    assert net[0].weight.shape == (5, 7)
    assert repr(net[0]) == "Dense(7 -> 5, Activation(relu))"
    assert repr(net[1]) == "Dense(5 -> 2, linear)"
    assert net[0].act.name == "mlp_dense0_relu"


def test_dense_shape_mismatch_is_a_clear_error():
    layer = nn.Dense(3, in_units=4)
    layer.initialize()
    with pytest.raises((mx.MXNetError, ValueError)) as e:
        layer(mx.nd.ones((2, 5)))
    assert "FullyConnected" in str(e.value) and "(3, 4)" in str(e.value)


# ---- activations ---------------------------------------------------------------------------------------------
_ERF = np.vectorize(math.erf)
ACTIVATIONS = [
    (lambda: nn.Activation("relu"), lambda x: np.maximum(x, 0)),
    (lambda: nn.Activation("sigmoid"), lambda x: 1 / (1 + np.exp(-x))),
    (lambda: nn.Activation("tanh"), np.tanh),
    (lambda: nn.Activation("softrelu"), lambda x: np.log1p(np.exp(x))),
    (lambda: nn.Activation("softsign"), lambda x: x / (1 + np.abs(x))),
    (lambda: nn.LeakyReLU(0.1), lambda x: np.where(x > 0, x, 0.1 * x)),
    (lambda: nn.ELU(0.7), lambda x: np.where(x > 0, x, 0.7 * np.expm1(x))),
    (lambda: nn.SELU(), lambda x: 1.0507009873554805 * np.where(x > 0, x, 1.6732632423543772 * np.expm1(x))),
    (lambda: nn.GELU(), lambda x: 0.5 * x * (1 + _ERF(x / math.sqrt(2)))),
    (lambda: nn.Swish(1.5), lambda x: x / (1 + np.exp(-1.5 * x))),
    (lambda: nn.PReLU(), lambda x: np.where(x > 0, x, 0.25 * x)),
]


@pytest.mark.parametrize("make,ref", ACTIVATIONS, ids=[f"act{i}" for i in range(len(ACTIVATIONS))])
def test_activation_forward_and_gradient(make, ref):
    layer = make()
    (x,) = ready(layer, (3, 4), init=mx.init.Zero())
    x = x + np.sign(x) * 0.05  # away from the kinks at 0
    close(forward_both(layer, x), ref(x), 1e-12, 1e-12)
    check_layer_grads(layer, [x])


def test_prelu_per_channel_alpha_and_name():
    layer = scoped(lambda: nn.PReLU(alpha_initializer=mx.init.Constant(0.3), in_channels=3))
    assert layer.alpha.name == "t_prelu0_alpha"
    (x,) = ready(layer, (2, 3, 2))
    alpha = np.array([0.1, 0.2, 0.3])
    layer.alpha.set_data(nd(alpha))
    close(forward_both(layer, x), np.where(x > 0, x, alpha[None, :, None] * x), 1e-12, 1e-12)
    check_layer_grads(layer, [x])


def test_activation_reprs_and_errors():
    assert repr(nn.Activation("relu")) == "Activation(relu)"
    assert repr(nn.LeakyReLU(0.2)) == "LeakyReLU(0.2)"
    assert nn.Activation("tanh").name.startswith("tanh")
    with pytest.raises(ValueError, match="relu"):
        nn.Activation("bogus")
    with pytest.raises(ValueError):
        nn.LeakyReLU(-1)


# ---- convolutions -----------------------------------------------------------------------------------------
@settings(max_examples=8, deadline=None, derandomize=True)
@given(nd_=st.sampled_from([1, 2, 3]), k=st.integers(1, 3), stride=st.integers(1, 2), pad=st.integers(0, 1),
       dil=st.integers(1, 2), groups=st.sampled_from([1, 2]), bias=st.booleans())
def test_conv_forward_matches_numpy(nd_, k, stride, pad, dil, groups, bias):
    cls = {1: nn.Conv1D, 2: nn.Conv2D, 3: nn.Conv3D}[nd_]
    size = {1: 7, 2: 6, 3: 5}[nd_]
    layer = cls(4, k, strides=stride, padding=pad, dilation=dil, groups=groups, use_bias=bias)
    (x,) = ready(layer, (2, 2 * groups) + (size,) * nd_)
    w = layer.weight.data().asnumpy()
    assert w.shape == (4, 2) + (k,) * nd_
    b = layer.bias.data().asnumpy() if bias else None
    t = (stride,) * nd_, (pad,) * nd_, (dil,) * nd_
    close(forward_both(layer, x), conv_ref(x, w, b, *t, groups), 1e-11, 1e-11)


def test_conv2d_gradients_and_activation():
    layer = nn.Conv2D(3, (2, 3), strides=(1, 2), padding=(1, 0), activation="tanh", in_channels=2)
    (x,) = ready(layer, (2, 2, 4, 5))
    w, b = layer.weight.data().asnumpy(), layer.bias.data().asnumpy()
    close(forward_both(layer, x), np.tanh(conv_ref(x, w, b, (1, 2), (1, 0), (1, 1), 1)), 1e-11, 1e-11)
    check_layer_grads(layer, [x])


def test_conv1d_grouped_gradients():
    layer = nn.Conv1D(4, 3, padding=1, dilation=2, groups=2)
    (x,) = ready(layer, (1, 4, 6))
    check_layer_grads(layer, [x])


def test_conv3d_and_3d_pool_gradients():
    net = nn.HybridSequential()
    with net.name_scope():
        net.add(nn.Conv3D(2, 2, padding=(1, 0, 0)), nn.AvgPool3D(2, 1, ceil_mode=True))
    (x,) = ready(net, (1, 1, 3, 3, 3))
    check_layer_grads(net, [x])


@settings(max_examples=6, deadline=None, derandomize=True)
@given(nd_=st.sampled_from([1, 2, 3]), k=st.integers(1, 3), stride=st.integers(1, 2), pad=st.integers(0, 1),
       adj=st.integers(0, 1), groups=st.sampled_from([1, 2]))
def test_conv_transpose_forward_matches_numpy(nd_, k, stride, pad, adj, groups):
    adj = min(adj, stride - 1)
    cls = {1: nn.Conv1DTranspose, 2: nn.Conv2DTranspose, 3: nn.Conv3DTranspose}[nd_]
    layer = cls(2 * groups, k, strides=stride, padding=pad, output_padding=adj, groups=groups)
    (x,) = ready(layer, (2, 2 * groups) + (3,) * nd_)
    w, b = layer.weight.data().asnumpy(), layer.bias.data().asnumpy()
    assert w.shape == (2 * groups, 2) + (k,) * nd_
    ref = deconv_ref(x, w, b, (stride,) * nd_, (pad,) * nd_, (1,) * nd_, (adj,) * nd_, groups)
    close(forward_both(layer, x), ref, 1e-11, 1e-11)


def test_conv2d_transpose_gradients_and_repr():
    layer = nn.Conv2DTranspose(3, 3, strides=2, padding=1, output_padding=1, in_channels=2)
    assert repr(layer) == ("Conv2DTranspose(2 -> 3, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), "
                           "output_padding=(1, 1))")
    (x,) = ready(layer, (1, 2, 3, 3))
    assert layer(nd(x)).shape == (1, 3, 6, 6)
    check_layer_grads(layer, [x])


def test_conv_names_deferred_and_repr():
    net = nn.HybridSequential(prefix="net_")
    with net.name_scope():
        net.add(nn.Conv2D(8, 3, padding=1, use_bias=False), nn.Conv2D(4, 1, groups=2))
    assert net[0].weight.shape == (8, 0, 3, 3)
    assert repr(net[0]) == "Conv2D(None -> 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)"
    net.initialize()
    net(mx.nd.ones((1, 5, 4, 4)))
    assert list(net.collect_params().keys()) == ["net_conv0_weight", "net_conv1_weight", "net_conv1_bias"]
    assert net[0].weight.shape == (8, 5, 3, 3)
    assert net[1].weight.shape == (4, 4, 1, 1)
    assert repr(net[1]) == "Conv2D(4 -> 4, kernel_size=(1, 1), stride=(1, 1), groups=2)"


def test_conv_bad_arguments():
    with pytest.raises(ValueError, match="kernel_size"):
        nn.Conv2D(4, (3, 3, 3))
    with pytest.raises(ValueError, match="layout"):
        nn.Conv2D(4, 3, layout="NCW")
    with pytest.raises(ValueError, match="groups"):
        nn.Conv2D(3, 3, groups=2)


# ---- pooling ---------------------------------------------------------------------------------------------
@settings(max_examples=10, deadline=None, derandomize=True)
@given(nd_=st.sampled_from([1, 2, 3]), k=st.integers(1, 3), stride=st.integers(1, 3), pad=st.integers(0, 1),
       ceil=st.booleans(), avg=st.booleans(), cip=st.booleans())
def test_pool_forward_matches_numpy(nd_, k, stride, pad, ceil, avg, cip):
    pad = min(pad, k // 2)
    size = {1: 7, 2: 6, 3: 5}[nd_]
    name = ("Avg" if avg else "Max") + f"Pool{nd_}D"
    kw = {"count_include_pad": cip} if avg else {}
    layer = getattr(nn, name)(k, stride, pad, ceil_mode=ceil, **kw)
    (x,) = ready(layer, (2, 3) + (size,) * nd_)
    ref = pool_ref(x, (k,) * nd_, (stride,) * nd_, (pad,) * nd_, "avg" if avg else "max", ceil, cip)
    close(forward_both(layer, x), ref, 1e-12, 1e-12)


@pytest.mark.parametrize("nd_", [1, 2, 3])
def test_global_pools(nd_):
    shape = (2, 3) + (4, 3, 2)[:nd_]
    axes = tuple(range(2, 2 + nd_))
    for kind, red in (("Max", np.max), ("Avg", np.mean)):
        layer = getattr(nn, f"Global{kind}Pool{nd_}D")()
        (x,) = ready(layer, shape)
        close(forward_both(layer, x), red(x, axis=axes, keepdims=True), 1e-12, 1e-12)
    assert repr(nn.GlobalAvgPool2D()) == ("GlobalAvgPool2D(size=(1, 1), stride=(1, 1), padding=(0, 0), "
                                          "ceil_mode=True, global_pool=True, pool_type=avg, layout=NCHW)")


def test_pool_gradients():
    for layer in (nn.MaxPool2D(2, 1, 1), nn.AvgPool2D(3, 2, 1, count_include_pad=False), nn.GlobalAvgPool2D()):
        ready(layer, (1, 2, 4, 4))
        x = np.random.default_rng(5).permutation(32).reshape(1, 2, 4, 4) * 0.1  # no ties for max
        check_layer_grads(layer, [x])


def test_pool_defaults_and_repr():
    p = nn.MaxPool2D()
    assert p._kwargs["kernel"] == (2, 2) and p._kwargs["stride"] == (2, 2)
    assert repr(nn.MaxPool1D(3, 2)) == ("MaxPool1D(size=(3,), stride=(2,), padding=(0,), ceil_mode=False, "
                                        "global_pool=False, pool_type=max, layout=NCW)")
    assert nn.AvgPool2D().name.startswith("pool")
    with pytest.raises(ValueError, match="layout"):
        nn.MaxPool2D(layout="NCDHW")


def test_reflection_pad2d():
    layer = nn.ReflectionPad2D(2)
    (x,) = ready(layer, (1, 2, 3, 4))
    ref = np.pad(x, [(0, 0), (0, 0), (2, 2), (2, 2)], mode="reflect")
    close(forward_both(layer, x), ref, 0, 0)
    check_layer_grads(layer, [x])


# ---- normalization ---------------------------------------------------------------------------------------
def test_batchnorm_training_updates_running_stats_and_gradients():
    layer = scoped(lambda: nn.BatchNorm(momentum=0.8, epsilon=1e-3))
    assert layer.gamma.shape == (0,)
    (x,) = ready(layer, (4, 3, 2, 2))
    assert [p.grad_req for p in layer.collect_params().values()] == ["write", "write", "null", "null"]
    assert list(layer.collect_params().keys()) == ["t_batchnorm0_gamma", "t_batchnorm0_beta",
                                                   "t_batchnorm0_running_mean", "t_batchnorm0_running_var"]
    rng = np.random.default_rng(2)
    gamma, beta = rng.uniform(0.5, 1.5, 3), rng.standard_normal(3)
    layer.gamma.set_data(nd(gamma))
    layer.beta.set_data(nd(beta))
    layer.running_mean.set_data(nd(np.zeros(3)))
    layer.running_var.set_data(nd(np.ones(3)))
    c = (None, slice(None), None, None)
    ref = norm_ref(x, (0, 2, 3), 1e-3) * gamma[c] + beta[c]
    xa = nd(x)
    with autograd.record():
        y = layer(xa)
    close(y, ref, 1e-10, 1e-10)
    mean, var = x.mean(axis=(0, 2, 3)), x.var(axis=(0, 2, 3))
    close(layer.running_mean.data(), 0.2 * mean, 1e-10, 1e-12)
    close(layer.running_var.data(), 0.8 + 0.2 * var, 1e-6, 1e-10)  # from the biased batch variance
    # prediction mode uses the running statistics
    rm, rv = layer.running_mean.data().asnumpy(), layer.running_var.data().asnumpy()
    close(layer(xa), (x - rm[c]) / np.sqrt(rv[c] + 1e-3) * gamma[c] + beta[c], 1e-10, 1e-10)
    check_layer_grads(layer, [x], train=True, rtol=1e-4, atol=1e-6)


def test_batchnorm_hybridized_training_updates_running_stats():
    net = nn.HybridSequential()
    with net.name_scope():
        net.add(nn.BatchNorm(in_channels=2))
    net.initialize()
    net.hybridize()
    x = np.random.default_rng(3).standard_normal((5, 2, 3)) + 2.0
    with autograd.record():
        y = net(nd(x, "float32"))
    y.backward()
    close(net[0].running_mean.data(), 0.1 * x.mean(axis=(0, 2)), 1e-5, 1e-5)
    close(y, norm_ref(x, (0, 2), 1e-5), 1e-4, 1e-4)
    assert repr(net[0]) == ("BatchNorm(axis=1, eps=1e-05, momentum=0.9, fix_gamma=False, use_global_stats=False, "
                            "in_channels=2)")


def test_batchnorm_scale_center_global_stats_and_axis():
    layer = nn.BatchNorm(axis=-1, scale=False, center=False, use_global_stats=True, in_channels=3)
    assert layer.gamma.grad_req == "null" and layer.beta.grad_req == "null"
    (x,) = ready(layer, (4, 2, 3))
    layer.gamma.set_data(nd(np.full(3, 5.0)))  # fix_gamma: gamma is ignored (treated as 1)
    layer.running_mean.set_data(nd([0.5, -1.0, 2.0]))
    layer.running_var.set_data(nd([2.0, 0.5, 1.0]))
    ref = (x - np.array([0.5, -1.0, 2.0])) / np.sqrt(np.array([2.0, 0.5, 1.0]) + 1e-5)
    with autograd.record():
        y = layer(nd(x))
    close(y, ref, 1e-10, 1e-10)
    close(layer.running_mean.data(), [0.5, -1.0, 2.0], 0, 0)  # use_global_stats: no update


def test_batchnorm_relu():
    layer = nn.BatchNormReLU(in_channels=2)
    (x,) = ready(layer, (3, 2, 2))
    with autograd.record():
        y = layer(nd(x))
    close(y, np.maximum(norm_ref(x, (0, 2), 1e-5), 0), 1e-10, 1e-10)
    rm, rv = layer.running_mean.data().asnumpy()[:, None], layer.running_var.data().asnumpy()[:, None]
    close(forward_both(layer, x), np.maximum((x - rm) / np.sqrt(rv + 1e-5), 0), 1e-10, 1e-10)


def test_batchnorm_cast_float16_keeps_float32():
    layer = nn.BatchNorm(in_channels=2)
    layer.initialize()
    layer.cast("float16")
    assert layer.gamma.dtype in ("float32", np.float32)


@pytest.mark.parametrize("axis", [1, 2])
def test_instancenorm(axis):
    layer = nn.InstanceNorm(axis=axis, scale=True, epsilon=1e-3)
    (x,) = ready(layer, (2, 3, 4))
    c = x.shape[axis]
    assert layer.gamma.shape == (c,)
    rng = np.random.default_rng(4)
    gamma, beta = rng.uniform(0.5, 1.5, c), rng.standard_normal(c)
    layer.gamma.set_data(nd(gamma))
    layer.beta.set_data(nd(beta))
    red = tuple(a for a in range(1, 3) if a != axis)
    shape = [1, 1, 1]
    shape[axis] = c
    ref = norm_ref(x, red, 1e-3) * gamma.reshape(shape) + beta.reshape(shape)
    close(forward_both(layer, x), ref, 1e-10, 1e-10)
    check_layer_grads(layer, [x], rtol=1e-4, atol=1e-6)


def test_instancenorm_default_scale_false():
    layer = nn.InstanceNorm()
    assert layer.gamma.grad_req == "null" and layer.beta.grad_req == "write"
    assert repr(layer) == "InstanceNorm(eps=1e-05, axis=1, center=True, scale=False, in_channels=0)"


@pytest.mark.parametrize("axis", [-1, 1])
def test_layernorm(axis):
    layer = nn.LayerNorm(axis=axis)
    (x,) = ready(layer, (2, 3, 4))
    c = x.shape[axis]
    rng = np.random.default_rng(6)
    gamma, beta = rng.uniform(0.5, 1.5, c), rng.standard_normal(c)
    layer.gamma.set_data(nd(gamma))
    layer.beta.set_data(nd(beta))
    shape = [1, 1, 1]
    shape[axis] = c
    ref = norm_ref(x, (axis,), 1e-5) * gamma.reshape(shape) + beta.reshape(shape)
    close(forward_both(layer, x), ref, 1e-10, 1e-10)
    check_layer_grads(layer, [x], rtol=1e-4, atol=1e-6)


def test_groupnorm():
    layer = nn.GroupNorm(num_groups=2)
    (x,) = ready(layer, (2, 4, 3))
    gamma, beta = np.array([0.7, 1.3]), np.array([0.1, -0.2])
    layer.gamma.set_data(nd(gamma))
    layer.beta.set_data(nd(beta))
    g = x.reshape(2, 2, 6)
    ref = (norm_ref(g, (2,), 1e-5) * gamma[None, :, None] + beta[None, :, None]).reshape(x.shape)
    close(forward_both(layer, x), ref, 1e-10, 1e-10)
    check_layer_grads(layer, [x], rtol=1e-4, atol=1e-6)


# ---- embedding, dropout, flatten, lambdas ---------------------------------------------------------------------
def test_embedding_forward_and_weight_gradient():
    layer = scoped(lambda: nn.Embedding(6, 3))
    assert repr(layer) == "Embedding(6 -> 3, float32)"
    layer.initialize()
    idx = np.array([[0, 5, 2], [2, 2, 1]])
    w = layer.weight.data().asnumpy().astype(np.float64)
    close(forward_both(layer, idx, dtype="float32"), w[idx], 0, 0)
    head = np.random.default_rng(7).standard_normal((2, 3, 3))
    x = nd(idx, "float32")
    with autograd.record():
        y = layer(x)
    y.backward(nd(head, "float32"))
    gw = np.zeros((6, 3))
    np.add.at(gw, idx, head)
    close(layer.weight.grad(), gw, 1e-6, 1e-6)
    assert layer.weight.name == "t_embedding0_weight"
    sparse = nn.Embedding(6, 3, sparse_grad=True)  # accepted; the gradient is stored densely
    sparse.initialize()
    with autograd.record():
        y = sparse(x)
    y.backward(nd(head, "float32"))
    close(sparse.weight.grad(), gw, 1e-6, 1e-6)


def test_dropout_train_predict_and_gradient():
    layer = nn.Dropout(0.4)
    assert repr(layer) == "Dropout(p = 0.4, axes=())"
    x = np.ones((50, 40))
    close(forward_both(layer, x), x, 0, 0)  # prediction: the identity
    xa = nd(x, "float32")
    xa.attach_grad()
    with autograd.record():
        y = layer(xa)
    y.backward()
    yn = y.asnumpy()
    assert set(np.unique(yn)) <= {0.0, np.float32(1 / 0.6)}
    assert 0.3 < (yn == 0).mean() < 0.5
    np.testing.assert_array_equal(xa.grad.asnumpy(), yn)  # d(x * mask / (1-p)) / dx
    layer.hybridize()
    with autograd.record():
        yh = layer(xa).asnumpy()
    assert 0.3 < (yh == 0).mean() < 0.5 and set(np.unique(yh)) <= {0.0, np.float32(1 / 0.6)}
    np.testing.assert_array_equal(layer(xa).asnumpy(), x)  # hybridized prediction: the identity
    shared = nn.Dropout(0.5, axes=(1,))
    with autograd.record():
        ys = shared(nd(np.ones((30, 7)), "float32")).asnumpy()
    assert all(len(set(row)) == 1 for row in ys)  # one mask value along axis 1
    zero = nn.Dropout(0.0)
    with autograd.record():
        close(zero(nd(x)), x, 0, 0)


def test_flatten_and_lambdas():
    x = np.arange(24.0).reshape(2, 3, 4)
    close(forward_both(nn.Flatten(), x), x.reshape(2, 12), 0, 0)
    assert repr(nn.Flatten()) == "Flatten"
    close(forward_both(nn.HybridLambda("tanh"), x), np.tanh(x), 1e-12, 1e-12)
    hl = nn.HybridLambda(lambda F, a, b: F.broadcast_add(a, b) * 2)
    close(forward_both(hl, x, x[:1]), (x + x[:1]) * 2, 0, 0)
    assert repr(nn.HybridLambda("tanh")) == "HybridLambda(tanh)"
    lam = nn.Lambda(lambda a: a + 1)
    close(lam(nd(x)), x + 1, 0, 0)
    assert repr(nn.Lambda("relu")) == "Lambda(relu)"
    with pytest.raises(ValueError):
        nn.Lambda("no_such_op")
    with pytest.raises(ValueError):
        nn.HybridLambda(3)


# ---- a whole network ------------------------------------------------------------------------------------------
def test_small_convnet_imperative_equals_hybridized_with_gradients():
    net = nn.HybridSequential()
    with net.name_scope():
        net.add(nn.Conv2D(3, 3, padding=1), nn.BatchNorm(), nn.Activation("relu"), nn.MaxPool2D(),
                nn.Conv2D(2, 1, activation="tanh"), nn.GlobalAvgPool2D(), nn.Flatten(), nn.Dense(2))
    (x,) = ready(net, (2, 2, 4, 4))
    assert net[1].gamma.shape == (3,) and net[0].weight.shape == (3, 2, 3, 3) and net[7].weight.shape == (2, 2)
    check_layer_grads(net, [x], train=True, rtol=1e-4, atol=1e-6)


def test_gluon_exports_the_layers():
    names = """Dense Dropout BatchNorm BatchNormReLU InstanceNorm LayerNorm GroupNorm Embedding Flatten Lambda
    HybridLambda Conv1D Conv2D Conv3D Conv1DTranspose Conv2DTranspose Conv3DTranspose MaxPool1D MaxPool2D MaxPool3D
    AvgPool1D AvgPool2D AvgPool3D GlobalMaxPool1D GlobalMaxPool2D GlobalMaxPool3D GlobalAvgPool1D GlobalAvgPool2D
    GlobalAvgPool3D ReflectionPad2D Activation LeakyReLU PReLU ELU SELU GELU Swish Sequential HybridSequential"""
    for name in names.split():
        assert hasattr(gluon.nn, name), name
