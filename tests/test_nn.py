"""Neural-network layers (ir/ops/nn_*.py) against numpy float64 references: forward values,
MXNet 1.x semantics of the loss layers' gradients, BatchNorm training vs inference and its
moving statistics, Dropout's mask, Embedding's scatter-add gradient, clear errors."""
import math

import numpy as np
import pytest
from gradcheck import check_grad, op_graph
from hypothesis import given, settings
from hypothesis import strategies as st

import mxcc as mx
from mxcc import CompiledGraph
from mxcc.ir import TensorType
from mxcc.ir.errors import ShapeError
from mxcc.passes.autodiff import autodiff

FLOATS = ("float32", "float64", "float16")
TOL = {"float64": (1e-10, 1e-12), "float32": (2e-5, 2e-6), "float16": (4e-3, 4e-3)}
_erf = np.vectorize(math.erf)


def close(got, ref, dtype="float64", scale=1.0):
    got = got.asnumpy() if hasattr(got, "asnumpy") else np.asarray(got)
    assert got.shape == np.shape(ref), (got.shape, np.shape(ref))
    rtol, atol = TOL[np.dtype(dtype).name]
    np.testing.assert_allclose(got.astype(np.float64), ref, rtol=rtol * scale, atol=atol * scale)


def run(op, inputs, attrs=None, heads=None, wrt=None):
    """(outputs, input gradients) of one `op` node: forward and autodiff's backward in one
    compiled graph. heads default to ones on output 0 and zeros on the others."""
    inputs = [np.asarray(x) for x in inputs]
    g, ins = op_graph(op, [TensorType(x.shape, x.dtype.name) for x in inputs], attrs or {})
    if wrt is None:
        wrt = [k for k, x in enumerate(inputs) if x.dtype.kind == "f"]
    bg = autodiff(g, [ins[k] for k in wrt])
    if heads is None:
        heads = [np.ones(v.type.shape) if k == 0 else np.zeros(v.type.shape) for k, v in enumerate(g.outputs)]
    heads = [np.asarray(h, dtype=v.type.dtype) for h, v in zip(heads, g.outputs)]
    res = CompiledGraph(bg)(*inputs, *heads)
    return res[:len(g.outputs)], res[len(g.outputs):]


def softmax(z, axis=-1):
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def data(shape, dtype="float64", seed=0, lo=-2.0, hi=2.0):
    return np.random.default_rng(seed).uniform(lo, hi, shape).astype(dtype)


shapes = st.lists(st.integers(1, 5), min_size=1, max_size=4).map(tuple)


# ---- activations ---------------------------------------------------------------------------------
ACT = {"relu": lambda x: np.maximum(x, 0), "sigmoid": sigmoid, "tanh": np.tanh,
       "softrelu": lambda x: np.log1p(np.exp(x)), "softsign": lambda x: x / (1 + np.abs(x))}


@settings(max_examples=10, deadline=None)
@given(shape=shapes, dtype=st.sampled_from(FLOATS), act=st.sampled_from(sorted(ACT)))
def test_activation(shape, dtype, act):
    x = data(shape, dtype)
    close(mx.nd.Activation(mx.nd.array(x, dtype=dtype), act_type=act), ACT[act](x.astype(np.float64)), dtype)


SELU_L, SELU_A = 1.0507009873554805, 1.6732632423543772
LEAKY = {"leaky": lambda x, s: np.where(x > 0, x, s * x), "elu": lambda x, s: np.where(x > 0, x, s * np.expm1(x)),
         "selu": lambda x, s: SELU_L * np.where(x > 0, x, SELU_A * np.expm1(x)),
         "gelu": lambda x, s: 0.5 * x * (1 + _erf(x / np.sqrt(2)))}


@pytest.mark.parametrize("act", sorted(LEAKY))
@pytest.mark.parametrize("dtype", FLOATS)
def test_leaky_relu(act, dtype):
    x = data((3, 7), dtype)
    out = mx.nd.LeakyReLU(mx.nd.array(x, dtype=dtype), act_type=act, slope=0.3)
    close(out, LEAKY[act](x.astype(np.float64), 0.3), dtype)
    check_grad("LeakyReLU", [data((2, 5))], {"act_type": act, "slope": 0.3})


def test_leaky_relu_matches_mxnet():
    x = mx.nd.array(np.linspace(-2, 2, 5))
    mxnet = {"leaky": [-0.6, -0.3, 0, 1, 2], "elu": [-0.25939944, -0.18963616, 0, 1, 2],
             "selu": [-1.5201665, -1.1113307, 0, 1.050701, 2.101402],
             "gelu": [-0.0455001, -0.15865527, 0, 0.84134465, 1.9544998]}
    for act, want in mxnet.items():
        np.testing.assert_allclose(mx.nd.LeakyReLU(x, act_type=act, slope=0.3).asnumpy(), want, rtol=1e-5, atol=1e-6)


def test_prelu_per_channel_and_scalar_gamma():
    x = data((2, 3, 4))
    for gamma in (np.array([0.1, 0.5, -0.2]), np.array([0.25])):
        g = gamma.reshape((1, -1, 1)) if gamma.size > 1 else gamma
        out = mx.nd.LeakyReLU(mx.nd.array(x, dtype="float64"), mx.nd.array(gamma, dtype="float64"), act_type="prelu")
        close(out, np.where(x > 0, x, g * x))
        check_grad("LeakyReLU", [x, gamma], {"act_type": "prelu"})
    with pytest.raises(ShapeError, match="gamma"):
        mx.nd.LeakyReLU(mx.nd.array(x), mx.nd.ones((4,)), act_type="prelu")


def test_rrelu_inference_uses_the_mean_slope_and_training_draws_slopes():
    x = data((50, 40))
    (out, mask), (dx,) = run("LeakyReLU", [x], {"act_type": "rrelu"})
    np.testing.assert_allclose(mask, np.full(x.shape, (0.125 + 0.334) / 2))
    close(out, np.where(x > 0, x, mask * x))
    (out, mask), (dx,) = run("LeakyReLU", [x], {"act_type": "rrelu", "lower_bound": 0.1, "upper_bound": 0.3,
                                               "_train": True})
    assert 0.1 <= mask.min() and mask.max() < 0.3 and mask.std() > 0.05
    close(out, np.where(x > 0, x, mask * x))
    close(dx, np.where(x > 0, 1.0, mask))


@pytest.mark.parametrize("mode", ["instance", "channel"])
def test_softmax_activation(mode):
    x = data((2, 3, 4))
    ref = softmax(x, 1) if mode == "channel" else softmax(x.reshape(2, -1), 1).reshape(x.shape)
    close(mx.nd.SoftmaxActivation(mx.nd.array(x, dtype="float64"), mode=mode), ref)
    check_grad("SoftmaxActivation", [x], {"mode": mode})


# ---- FullyConnected ----------------------------------------------------------------------------------
@settings(max_examples=12, deadline=None)
@given(batch=st.integers(1, 6), rest=st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple),
       nh=st.integers(1, 9), flatten=st.booleans(), no_bias=st.booleans(), dtype=st.sampled_from(FLOATS))
def test_fully_connected(batch, rest, nh, flatten, no_bias, dtype):
    x = data((batch,) + rest, dtype)
    k = math.prod(rest) if flatten else rest[-1]
    w = data((nh, k), dtype, seed=1)
    b = data((nh,), dtype, seed=2)
    args = [mx.nd.array(a, dtype=dtype) for a in ([x, w] if no_bias else [x, w, b])]
    out = mx.nd.FullyConnected(*args, num_hidden=nh, no_bias=no_bias, flatten=flatten)
    x64, w64 = x.astype(np.float64), w.astype(np.float64)
    ref = (x64.reshape(batch, -1) if flatten else x64) @ w64.T + (0 if no_bias else b.astype(np.float64))
    close(out, ref, dtype, scale=k)


def test_fully_connected_gradients():
    check_grad("FullyConnected", [data((4, 3, 2)), data((5, 6), seed=1), data((5,), seed=2)], {"num_hidden": 5})
    check_grad("FullyConnected", [data((2, 3, 2)), data((4, 2), seed=1)],
               {"num_hidden": 4, "no_bias": True, "flatten": False})


def test_fully_connected_errors():
    x = mx.nd.ones((2, 3))
    with pytest.raises(ShapeError, match=r"weight of shape \(4, 2\).*\(4, 3\)"):
        mx.nd.FullyConnected(x, mx.nd.ones((4, 2)), mx.nd.ones((4,)), num_hidden=4)
    with pytest.raises(ShapeError, match=r"bias of shape \(3,\)"):
        mx.nd.FullyConnected(x, mx.nd.ones((4, 3)), mx.nd.ones((3,)), num_hidden=4)
    with pytest.raises(TypeError, match="float"):
        mx.nd.FullyConnected(x.astype("int32"), mx.nd.ones((4, 3), dtype="int32"), num_hidden=4, no_bias=True)


# ---- Dropout ----------------------------------------------------------------------------------------------
def test_dropout_is_the_identity_when_not_training():
    x = data((3, 4))
    (out, mask), (dx,) = run("Dropout", [x], {"p": 0.7}, heads=[np.full(x.shape, 3.0), np.zeros(x.shape)])
    close(out, x)
    close(mask, np.ones(x.shape))
    close(dx, np.full(x.shape, 3.0))
    o = mx.nd.Dropout(mx.nd.array(x, dtype="float64"), p=0.7)
    close(o[0] if isinstance(o, list) else o, x)  # mx.nd shows the visible output (or all of them)


@pytest.mark.parametrize("p", [0.2, 0.5, 0.9])
def test_dropout_mask_statistics_and_gradient(p):
    x = data((200, 500), seed=3)
    h = data(x.shape, seed=4)
    (out, mask), (dx,) = run("Dropout", [x], {"p": p, "_train": True}, heads=[h, np.zeros(x.shape)])
    kept = mask != 0
    np.testing.assert_allclose(mask[kept], 1 / (1 - p))  # MXNet's mask holds the scale
    n = x.size
    assert abs(kept.mean() - (1 - p)) < 6 * math.sqrt(p * (1 - p) / n)
    close(out, x * mask)
    close(dx, h * mask)
    (out2, mask2), _ = run("Dropout", [x], {"p": p, "_train": True})
    assert (mask2 != mask).any()  # every call draws a new mask


def test_dropout_axes_mode_always_and_edge_probabilities():
    x = data((4, 6, 5))
    (out, mask), _ = run("Dropout", [x], {"p": 0.5, "axes": (0, 2), "_train": True})
    assert mask.shape == (1, 6, 1)
    close(out, x * mask)
    (out, mask), _ = run("Dropout", [x], {"p": 0.5, "mode": "always"})  # also at inference
    assert set(np.unique(mask)) <= {0.0, 2.0} and (mask == 0).any()
    (out, mask), _ = run("Dropout", [x], {"p": 0.0, "_train": True})
    close(out, x)
    (out, mask), _ = run("Dropout", [x], {"p": 1.0, "_train": True})
    close(out, np.zeros(x.shape))
    with pytest.raises(ValueError, match="p must be in"):
        run("Dropout", [x], {"p": 1.5})


# ---- Embedding ------------------------------------------------------------------------------------------------
def test_embedding_forward_clips_indices_like_mxnet():
    w = np.arange(10.0).reshape(5, 2)
    idx = np.array([[-1, 7, 2.7], [0, 4, 1]])
    out = mx.nd.Embedding(mx.nd.array(idx), mx.nd.array(w, dtype="float64"), input_dim=5, output_dim=2)
    close(out, w[np.clip(idx.astype(np.int64), 0, 4)])


@pytest.mark.parametrize("idx_dtype", ["int32", "int64", "float32"])
def test_embedding_weight_gradient_adds_repeated_indices(idx_dtype):
    rng = np.random.default_rng(0)
    idx = rng.integers(0, 6, (7, 9)).astype(idx_dtype)
    w = data((6, 3))
    h = data((7, 9, 3), seed=1)
    (out,), (dw,) = run("Embedding", [idx, w], {"input_dim": 6, "output_dim": 3}, heads=[h], wrt=[1])
    close(out, w[idx.astype(np.int64)])
    ref = np.zeros_like(w)
    np.add.at(ref, idx.astype(np.int64), h)
    close(dw, ref)


def test_embedding_errors():
    with pytest.raises(ShapeError, match=r"weight of shape \(5, 3\), expected .* \(5, 2\)"):
        mx.nd.Embedding(mx.nd.zeros((2,)), mx.nd.ones((5, 3)), input_dim=5, output_dim=2)


# ---- BatchNorm -----------------------------------------------------------------------------------------------
def bn_ref(x, gamma, beta, mm, mv, axis=1, eps=1e-3, momentum=0.9, fix_gamma=True, train=True):
    red = tuple(a for a in range(x.ndim) if a != axis % x.ndim)
    shp = [1] * x.ndim
    shp[axis] = -1
    mean, var = (x.mean(red), x.var(red)) if train else (mm, mv)
    g = np.ones_like(gamma) if fix_gamma else gamma
    out = (x - mean.reshape(shp)) / np.sqrt(var.reshape(shp) + eps) * g.reshape(shp) + beta.reshape(shp)
    new = (mm * momentum + mean * (1 - momentum), mv * momentum + var * (1 - momentum)) if train else (mm, mv)
    return out, mean, 1 / np.sqrt(var + eps), *new


def bn_inputs(shape, axis=1, seed=0):
    c = shape[axis]
    return [data(shape, seed=seed) + 3.0, data((c,), seed=seed + 1, lo=0.5), data((c,), seed=seed + 2),
            data((c,), seed=seed + 3), data((c,), seed=seed + 4, lo=0.5)]


@pytest.mark.parametrize("shape,axis", [((4, 3, 2, 5), 1), ((6, 7), 1), ((3, 4, 5), -1), ((2, 3, 40, 40), 1)])
@pytest.mark.parametrize("train", [True, False])
@pytest.mark.parametrize("fix_gamma", [True, False])
def test_batchnorm_forward_train_and_inference(shape, axis, train, fix_gamma):
    ins = bn_inputs(shape, axis)
    attrs = {"axis": axis, "fix_gamma": fix_gamma, "_train": train, "momentum": 0.8, "eps": 1e-3}
    outs, _ = run("BatchNorm", ins, attrs)
    for got, ref in zip(outs, bn_ref(*ins, axis=axis, momentum=0.8, fix_gamma=fix_gamma, train=train)):
        close(got, ref, scale=10)


def test_batchnorm_use_global_stats_is_inference_even_in_training():
    ins = bn_inputs((4, 3, 2))
    outs, _ = run("BatchNorm", ins, {"use_global_stats": True, "_train": True})
    for got, ref in zip(outs, bn_ref(*ins, train=False)):
        close(got, ref)


def test_batchnorm_moving_statistics_match_mxnet():
    """MXNet 1.9.1 (CPU): x = np.random.seed(0); randn(4, 3, 2, 2), momentum 0.8, after one training step."""
    np.random.seed(0)
    x = np.random.randn(4, 3, 2, 2).astype("float32")
    ins = [x, np.array([1.5, 2, 0.5], "float32"), np.zeros(3, "float32"), np.array([0.1, 0.2, 0.3], "float32"),
           np.array([1.0, 2, 3], "float32")]
    outs, _ = run("BatchNorm", ins, {"momentum": 0.8, "_train": True, "output_mean_var": True})
    np.testing.assert_allclose(outs[3], [0.1982637, 0.20685108, 0.18556777], rtol=1e-6)
    np.testing.assert_allclose(outs[4], [0.98830235, 1.8762563, 2.6106956], rtol=1e-6)
    # inference: the "var" output is 1 / sqrt(moving_var + eps) (MXNet 1.x)
    outs, _ = run("BatchNorm", ins, {})
    np.testing.assert_allclose(outs[2], 1 / np.sqrt(np.array([1.0, 2, 3]) + 1e-3), rtol=1e-6)


@pytest.mark.parametrize("shape,axis", [((4, 3, 2), 1), ((5, 3), 1), ((2, 3, 4), -1)])
@pytest.mark.parametrize("train", [True, False])
def test_batchnorm_gradients(shape, axis, train):
    ins = bn_inputs(shape, axis)
    attrs = {"axis": axis, "fix_gamma": False, "_train": train}
    check_grad("BatchNorm", ins, attrs, wrt=[0, 1, 2], heads=[0])
    _, (dx, dg, db) = run("BatchNorm", ins, {**attrs, "fix_gamma": True}, wrt=[0, 1, 2])
    close(dg, np.zeros_like(ins[1]))  # fix_gamma: gamma is 1 and gets no gradient


def test_batchnorm_float16_data_with_float32_parameters():
    ins = bn_inputs((4, 3, 5))
    x16 = ins[0].astype("float16")
    outs, (dx, dg, db) = run("BatchNorm", [x16] + [p.astype("float32") for p in ins[1:]],
                             {"_train": True, "fix_gamma": False}, wrt=[0, 1, 2])
    assert outs[0].dtype == np.float16 and outs[1].dtype == np.float32 and dg.dtype == np.float32
    ref = bn_ref(x16.astype(np.float64), *ins[1:], fix_gamma=False)
    close(outs[0], ref[0], "float16", scale=4)


def test_batchnorm_errors():
    x = mx.nd.ones((2, 3, 4))
    with pytest.raises(ShapeError, match=r"gamma.*\(4,\).*expected \(3,\)"):
        mx.nd.BatchNorm(x, mx.nd.ones(4), mx.nd.ones(3), mx.nd.ones(3), mx.nd.ones(3))
    with pytest.raises(ShapeError, match="axis"):
        mx.nd.BatchNorm(x, *[mx.nd.ones(3)] * 4, axis=3)


# ---- LayerNorm, InstanceNorm ----------------------------------------------------------------------------
@pytest.mark.parametrize("shape,axis", [((4, 7), -1), ((2, 3, 4), 1), ((3, 300, 2), 1), ((5,), 0)])
@pytest.mark.parametrize("dtype", FLOATS)
def test_layernorm(shape, axis, dtype):
    x = data(shape, dtype) + 1
    n = shape[axis]
    g, b = data((n,), dtype, seed=1), data((n,), dtype, seed=2)
    outs, _ = run("LayerNorm", [x, g, b], {"axis": axis, "eps": 1e-4})
    x64 = x.astype(np.float64)
    mean = x64.mean(axis, keepdims=True)
    std = np.sqrt(x64.var(axis, keepdims=True) + 1e-4)
    shp = [1] * len(shape)
    shp[axis] = -1
    ref = (x64 - mean) / std * g.astype(np.float64).reshape(shp) + b.astype(np.float64).reshape(shp)
    close(outs[0], ref, dtype, scale=10)
    close(outs[1], mean, dtype, scale=10)
    close(outs[2], std, dtype, scale=10)
    if dtype == "float64" and x.size < 100:
        check_grad("LayerNorm", [x, g, b], {"axis": axis}, heads=[0])


def test_instancenorm():
    x = data((2, 3, 4, 5)) + 2
    g, b = data((3,), seed=1), data((3,), seed=2)
    outs, _ = run("InstanceNorm", [x, g, b], {"eps": 1e-3})
    mean, var = x.mean((2, 3), keepdims=True), x.var((2, 3), keepdims=True)
    close(outs[0], (x - mean) / np.sqrt(var + 1e-3) * g.reshape(1, 3, 1, 1) + b.reshape(1, 3, 1, 1))
    close(outs[1], mean[:, :, 0, 0])
    close(outs[2], var[:, :, 0, 0])
    check_grad("InstanceNorm", [data((2, 3, 4)), g, b], {}, heads=[0])
    with pytest.raises(ShapeError, match="at least 3 dimensions"):
        mx.nd.InstanceNorm(mx.nd.ones((2, 3)), mx.nd.ones(3), mx.nd.ones(3))


# ---- SoftmaxOutput -------------------------------------------------------------------------------------------
def so_geometry(shape, multi_output=False, preserve_shape=False):
    if multi_output:
        return shape[0], shape[1], math.prod(shape[2:])
    if preserve_shape:
        return math.prod(shape[:-1]), shape[-1], 1
    return shape[0], math.prod(shape[1:]), 1


def so_grad_ref(x, label, head=None, grad_scale=1.0, ignore_label=-1.0, multi_output=False, use_ignore=False,
                preserve_shape=False, normalization="null", out_grad=False, smooth_alpha=0.0):
    """MXNet 1.x SoftmaxOutput backward (softmax_output-inl.h)."""
    n, k, d = so_geometry(x.shape, multi_output, preserve_shape)
    y = softmax(x.reshape(n, k, d), 1)
    if label.shape == x.shape:
        g = (y.reshape(x.shape) - label) * grad_scale
        return g * head if out_grad else g
    lab = label.reshape(-1)[:n * d].reshape(n, 1, d).astype(np.int64)
    on, off = 1 - smooth_alpha, smooth_alpha / (k - 1) if k > 1 else 0.0
    target = np.where(np.arange(k).reshape(1, k, 1) == lab, on, off)
    g = y - target
    if use_ignore:
        g = np.where(lab == int(ignore_label), 0.0, g)
    if normalization == "valid":
        scale = grad_scale / max(int((label.reshape(-1).astype(np.int64) != int(ignore_label)).sum()), 1)
    elif multi_output:
        scale = grad_scale / d / (n if normalization == "batch" else 1)
    else:
        scale = grad_scale / (label.size if normalization == "batch" else 1)
    g = (g * scale).reshape(x.shape)
    return g * head if out_grad else g


def test_softmax_output_matches_mxnet():
    """Gradients printed by MXNet 1.9.1 for x = np.random.seed(0); randn(4, 3), label [0, 2, -1, 1],
    after backward with a head gradient of 7 (ignored)."""
    np.random.seed(0)
    x = np.random.randn(4, 3).astype("float32")
    label = np.array([0, 2, -1, 1], "float32")
    mxnet = {
        (): [[-0.4158, 0.1494, 0.2664], [0.5785, 0.3983, -0.9768], [0.5948, 0.1977, 0.2075], [0.2171, -0.8337, 0.6166]],
        (("use_ignore", True), ("normalization", "valid")):
            [[-0.1386, 0.0498, 0.0888], [0.1928, 0.1328, -0.3256], [0, 0, 0], [0.0724, -0.2779, 0.2055]],
        (("normalization", "valid"),):
            [[-0.1386, 0.0498, 0.0888], [0.1928, 0.1328, -0.3256], [0.1983, 0.0659, 0.0692], [0.0724, -0.2779, 0.2055]],
        (("normalization", "batch"), ("grad_scale", 3.0)):
            [[-0.3118, 0.1120, 0.1998], [0.4339, 0.2987, -0.7326], [0.4461, 0.1483, 0.1556], [0.1628, -0.6253, 0.4624]],
        (("smooth_alpha", 0.3),):
            [[-0.1158, -0.0006, 0.1164], [0.4285, 0.2483, -0.6768], [0.4448, 0.0477, 0.0575],
             [0.0671, -0.5337, 0.4666]],
    }
    for kw, want in mxnet.items():
        (out,), (dx,) = run("SoftmaxOutput", [x, label], dict(kw), heads=[np.full((4, 3), 7.0)], wrt=[0])
        np.testing.assert_allclose(out, softmax(x.astype(np.float64), 1), rtol=1e-5)
        np.testing.assert_allclose(dx, want, atol=2e-4, err_msg=str(kw))


SO_CASES = [
    ((5, 4), {}), ((5, 4), {"grad_scale": 2.5, "normalization": "batch"}),
    ((5, 4), {"use_ignore": True, "ignore_label": 1.0}), ((5, 4), {"use_ignore": True, "normalization": "valid"}),
    ((5, 4), {"smooth_alpha": 0.2, "use_ignore": True}), ((3, 4, 5), {"preserve_shape": True}),
    ((2, 3, 2, 3), {"multi_output": True}), ((2, 3, 4), {"multi_output": True, "normalization": "batch"}),
    ((2, 3, 4), {"multi_output": True, "normalization": "valid", "use_ignore": True}),
    ((2, 5, 3), {"multi_output": True, "smooth_alpha": 0.1, "grad_scale": 0.5}),
    ((3, 4), {"out_grad": True}), ((2, 3, 4), {"multi_output": True, "out_grad": True}),
]


@pytest.mark.parametrize("shape,attrs", SO_CASES, ids=[str(a) for _, a in SO_CASES])
@pytest.mark.parametrize("label_dtype", ["float32", "int32"])
def test_softmax_output_gradient_semantics(shape, attrs, label_dtype):
    x = data(shape, seed=1)
    n, k, d = so_geometry(shape, attrs.get("multi_output", False), attrs.get("preserve_shape", False))
    rng = np.random.default_rng(2)
    lshape = (n, d) if attrs.get("multi_output") else shape[:-1]
    label = rng.integers(-1, k, lshape).astype(label_dtype)  # -1: out of range, or ignored
    head = data(shape, seed=3)
    (out,), (dx,) = run("SoftmaxOutput", [x, label], attrs, heads=[head], wrt=[0])
    close(out, softmax(x.reshape(n, k, d), 1).reshape(shape))
    close(dx, so_grad_ref(x, label, head, **attrs))


def test_softmax_output_probability_labels_and_label_shapes():
    x = data((4, 3))
    p = softmax(data((4, 3), seed=5), 1)
    (out,), (dx,) = run("SoftmaxOutput", [x, p], {"grad_scale": 2.0}, wrt=[0])
    close(dx, (softmax(x, 1) - p) * 2.0)
    x4 = data((2, 3, 2, 2))
    lab = np.array([[0, 1, 2, 0], [1, 1, 2, 0]], "float64")
    for label in (lab, lab.reshape(2, 2, 2), lab.reshape(2, 1, 2, 2)):  # MXNet accepts all three
        _, (dx,) = run("SoftmaxOutput", [x4, label], {"multi_output": True}, wrt=[0])
        close(dx, so_grad_ref(x4, lab, multi_output=True))
    with pytest.raises(ShapeError, match=r"label of shape \(3,\)"):
        mx.nd.SoftmaxOutput(mx.nd.ones((4, 3)), mx.nd.ones((3,)))
    assert mx.nd.Softmax is not None  # MXNet's old name


# ---- regression outputs, MakeLoss, BlockGrad ------------------------------------------------------------
@pytest.mark.parametrize("op,fwd,bwd", [
    ("LinearRegressionOutput", lambda x: x, lambda o, y: o - y),
    ("LogisticRegressionOutput", sigmoid, lambda o, y: o - y),
    ("MAERegressionOutput", lambda x: x, lambda o, y: np.sign(o - y))])
def test_regression_outputs(op, fwd, bwd):
    x, y = data((4, 3)), data((4, 3), seed=1)
    (out,), (dx,) = run(op, [x, y], {"grad_scale": 2.0}, heads=[np.full((4, 3), 7.0)], wrt=[0])
    close(out, fwd(x))
    close(dx, bwd(fwd(x), y) * 2.0 / 3)  # grad_scale / outputs per instance; the head is ignored
    x1, y1 = data((5, 1)), data((5,), seed=2)  # a (n, 1) output takes a (n,) label
    (out,), (dx,) = run(op, [x1, y1], {}, wrt=[0])
    close(dx, bwd(fwd(x1), y1.reshape(5, 1)))
    with pytest.raises(ShapeError, match="label"):
        run(op, [x, data((3, 4))], {})


def test_regression_matches_mxnet():
    np.random.seed(0)
    x, y = np.random.randn(4, 3).astype("float32"), np.random.randn(4, 3).astype("float32")
    _, (dx,) = run("LinearRegressionOutput", [x, y], {"grad_scale": 2.0}, wrt=[0])
    np.testing.assert_allclose(dx[0], [0.6686765, 0.1856548, 0.3565832], rtol=1e-5)
    _, (dx,) = run("LogisticRegressionOutput", [x, y], {"grad_scale": 2.0}, wrt=[0])
    np.testing.assert_allclose(dx[0], [0.06178586, 0.31803364, 0.18866304], rtol=1e-5)


@pytest.mark.parametrize("use_linear", [False, True])
def test_svm_output(use_linear):
    x, label = data((2, 4, 5)), np.array([[0, 3, 4, 1], [2, 2, 0, 4]], "float64")
    m, c = 0.7, 1.5
    (out,), (dx,) = run("SVMOutput", [x, label], {"margin": m, "regularization_coefficient": c,
                                                  "use_linear": use_linear}, heads=[np.full(x.shape, 9.0)], wrt=[0])
    close(out, x)
    is_k = np.arange(5) == label[..., None]
    if use_linear:  # L1-SVM
        ref = np.where(is_k, -c * (m > x), c * (m > -x))
    else:  # L2-SVM
        ref = np.where(is_k, -c * np.where(m > x, 2 * (m - x), 0), -c * np.where(m > -x, -2 * (m + x), 0))
    close(dx, ref)


@pytest.mark.parametrize("norm,want", [("null", 2.0), ("batch", 0.5), ("valid", 2.0 / 6)])
def test_make_loss(norm, want):
    np.random.seed(0)
    x = np.random.randn(4, 3)  # MXNet 1.9.1: 6 elements above valid_thresh=0.5
    (out,), (dx,) = run("MakeLoss", [x], {"grad_scale": 2.0, "normalization": norm, "valid_thresh": 0.5},
                        heads=[np.full((4, 3), 7.0)])
    close(out, x)
    close(dx, np.full(x.shape, want))


def test_block_grad_stops_the_gradient():
    x = data((3, 4))
    (out,), (dx,) = run("BlockGrad", [x], {}, heads=[np.full((3, 4), 5.0)])
    close(out, x)
    close(dx, np.zeros(x.shape))
    assert mx.nd.stop_gradient is not None


def test_layers_reject_integer_data():
    with pytest.raises(TypeError, match="float"):
        mx.nd.Activation(mx.nd.ones((2,), dtype="int32"), act_type="relu")
    with pytest.raises(TypeError, match="float"):
        mx.nd.BatchNorm(mx.nd.ones((2, 3), dtype="int32"), *[mx.nd.ones(3)] * 4)
