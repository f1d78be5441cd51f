"""Convolution, Deconvolution and the weight gradient against float64 numpy references; gradients
against finite differences; MXNet's shape rules and errors."""
import numpy as np
import pytest
from conftest import assert_close
from gradcheck import check_grad
from hypothesis import given, settings
from hypothesis import strategies as st

import mxcc as mx
from mxcc.ir import TensorType, registry
from mxcc.ir.errors import MXNetError, ShapeError

nd = mx.nd


def _norm(v, nd_, fill):
    return tuple(v) if v else (fill,) * nd_


def conv_ref(x, w, b=None, stride=(), pad=(), dilate=(), groups=1):
    """Direct cross-correlation: one einsum per kernel offset over a strided window view."""
    x, w = x.astype(np.float64), w.astype(np.float64)
    k = w.shape[2:]
    n = len(k)
    s, p, d = _norm(stride, n, 1), _norm(pad, n, 0), _norm(dilate, n, 1)
    N, C = x.shape[:2]
    F = w.shape[0]
    xp = np.pad(x, [(0, 0), (0, 0)] + [(pi, pi) for pi in p])
    out = [(x.shape[2 + i] + 2 * p[i] - d[i] * (k[i] - 1) - 1) // s[i] + 1 for i in range(n)]
    y = np.zeros((N, F, *out))
    Cg, Fg = C // groups, F // groups
    for g in range(groups):
        for off in np.ndindex(*k):
            win = tuple(slice(off[i] * d[i], off[i] * d[i] + (out[i] - 1) * s[i] + 1, s[i]) for i in range(n))
            patch = xp[(slice(None), slice(g * Cg, (g + 1) * Cg)) + win].reshape(N, Cg, -1)
            wk = w[(slice(g * Fg, (g + 1) * Fg), slice(None)) + off]
            y[:, g * Fg:(g + 1) * Fg] += np.einsum("ncp,fc->nfp", patch, wk).reshape(N, Fg, *out)
    if b is not None:
        y += b.astype(np.float64).reshape((1, F) + (1,) * n)
    return y


def deconv_ref(x, w, b, stride, pad, dilate, groups, out_size):
    """Transposed convolution by scattering every input element's weighted kernel."""
    x, w = x.astype(np.float64), w.astype(np.float64)
    k = w.shape[2:]
    n = len(k)
    N, C = x.shape[:2]
    Fg = w.shape[1]
    F, Cg = Fg * groups, C // groups
    full = [out_size[i] + 2 * pad[i] for i in range(n)]
    y = np.zeros((N, F, *[f + dilate[i] * (k[i] - 1) + stride[i] for i, f in enumerate(full)]))
    for g in range(groups):
        for off in np.ndindex(*k):
            win = tuple(slice(off[i] * dilate[i], off[i] * dilate[i] + (x.shape[2 + i] - 1) * stride[i] + 1, stride[i])
                        for i in range(n))
            wk = w[(slice(g * Cg, (g + 1) * Cg), slice(None)) + off]  # Cg x Fg
            contrib = np.einsum("nc...,cf->nf...", x[:, g * Cg:(g + 1) * Cg], wk)
            y[(slice(None), slice(g * Fg, (g + 1) * Fg)) + win] += contrib
    y = y[(slice(None), slice(None)) + tuple(slice(pad[i], pad[i] + out_size[i]) for i in range(n))]
    if b is not None:
        y = y + b.astype(np.float64).reshape((1, F) + (1,) * n)
    return y


def wgrad_ref(dy, x, k, stride=(), pad=(), dilate=(), groups=1):
    n = len(k)
    s, p, d = _norm(stride, n, 1), _norm(pad, n, 0), _norm(dilate, n, 1)
    N, C = x.shape[:2]
    F = dy.shape[1]
    Cg, Fg = C // groups, F // groups
    xp = np.pad(x.astype(np.float64), [(0, 0), (0, 0)] + [(pi, pi) for pi in p])
    out = dy.shape[2:]
    dw = np.zeros((F, Cg, *k))
    for g in range(groups):
        for off in np.ndindex(*k):
            win = tuple(slice(off[i] * d[i], off[i] * d[i] + (out[i] - 1) * s[i] + 1, s[i]) for i in range(n))
            patch = xp[(slice(None), slice(g * Cg, (g + 1) * Cg)) + win].reshape(N, Cg, -1)
            g_dy = dy[:, g * Fg:(g + 1) * Fg].astype(np.float64).reshape(N, Fg, -1)
            dw[(slice(g * Fg, (g + 1) * Fg), slice(None)) + off] = np.einsum("ncp,nfp->fc", patch, g_dy)
    return dw


# (data shape, num_filter, kernel, stride, pad, dilate, groups)
GEOMETRIES = [
    ((2, 3, 7, 7), 4, (3, 3), (), (), (), 1),
    ((2, 4, 9, 8), 6, (3, 2), (2, 1), (1, 2), (1, 2), 2),
    ((2, 4, 11), 6, (3,), (2,), (1,), (1,), 1),
    ((1, 6, 13), 4, (4,), (1,), (2,), (3,), 2),
    ((2, 4, 5, 6, 7), 4, (3, 2, 3), (1, 2, 1), (1, 0, 1), (1, 1, 2), 2),
    ((3, 1, 28, 28), 20, (5, 5), (), (), (), 1),  # LeNet's layers: the whole-image fast paths
    ((3, 20, 12, 12), 50, (5, 5), (), (), (), 1),
    ((2, 8, 10, 10), 8, (3, 3), (1, 1), (1, 1), (), 8),  # depthwise
]


@pytest.mark.parametrize("geom", GEOMETRIES, ids=lambda g: f"{g[0]}-k{g[2]}-s{g[3]}-p{g[4]}-d{g[5]}-g{g[6]}")
@pytest.mark.parametrize("bias", [True, False])
def test_convolution_forward(geom, bias):
    shape, F, k, s, p, d, g = geom
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(np.float32)
    w = rng.standard_normal((F, shape[1] // g, *k)).astype(np.float32)
    b = rng.standard_normal(F).astype(np.float32) if bias else None
    args = [nd.array(x), nd.array(w)] + ([nd.array(b)] if bias else [])
    y = nd.Convolution(*args, kernel=k, stride=s, pad=p, dilate=d, num_filter=F, num_group=g, no_bias=not bias)
    K = np.prod(k) * shape[1] // g
    assert_close(y, conv_ref(x, w, b, s, p, d, g), scale=4 * np.sqrt(K))


@settings(max_examples=15, deadline=None)
@given(st.integers(1, 3), st.integers(1, 3), st.integers(3, 9), st.integers(3, 9), st.integers(1, 3),
       st.integers(1, 3), st.integers(1, 2), st.integers(0, 2), st.integers(1, 2), st.integers(1, 2))
def test_convolution_random_geometry(n, cg, h, w_, kh, kw, s, p, d, g):
    if d * (kh - 1) + 1 > h + 2 * p or d * (kw - 1) + 1 > w_ + 2 * p:
        return
    rng = np.random.default_rng(h * 31 + w_)
    F = 2 * g
    x = rng.standard_normal((n, cg * g, h, w_))
    w = rng.standard_normal((F, cg, kh, kw))
    b = rng.standard_normal(F)
    y = nd.Convolution(nd.array(x, dtype="float64"), nd.array(w, dtype="float64"), nd.array(b, dtype="float64"),
                       kernel=(kh, kw), stride=(s, 1), pad=(p, p), dilate=(1, d), num_filter=F, num_group=g)
    assert_close(y, conv_ref(x, w, b, (s, 1), (p, p), (1, d), g), scale=10)


@pytest.mark.parametrize("dtype", ["float64", "float16", "int32", "int8"])
def test_convolution_dtypes(dtype):
    rng = np.random.default_rng(1)
    if dtype.startswith("int"):
        x = rng.integers(-3, 4, (2, 3, 6, 6)).astype(dtype)
        w = rng.integers(-2, 3, (4, 3, 3, 3)).astype(dtype)
        b = rng.integers(-5, 5, 4).astype(dtype)
    else:
        x = rng.uniform(-1, 1, (2, 3, 6, 6)).astype(dtype)
        w = rng.uniform(-1, 1, (4, 3, 3, 3)).astype(dtype)
        b = rng.uniform(-1, 1, 4).astype(dtype)
    y = nd.Convolution(nd.array(x, dtype=dtype), nd.array(w, dtype=dtype), nd.array(b, dtype=dtype), kernel=(3, 3),
                       pad=(1, 1), num_filter=4)
    ref = conv_ref(x, w, b, (), (1, 1))
    if dtype == "int8":
        ref = ref.astype(np.int64).astype(np.int8)  # wraps like NumPy's int8 arithmetic
    assert_close(y, ref, dtype, scale=20 if dtype == "float16" else 4)


DECONV = [  # data shape, attrs
    ((2, 4, 5, 5), dict(kernel=(3, 3), num_filter=6)),
    ((2, 4, 5, 5), dict(kernel=(3, 3), num_filter=6, stride=(2, 2), pad=(1, 1), adj=(1, 1), num_group=2,
                        no_bias=False)),
    ((2, 4, 5, 5), dict(kernel=(4, 4), num_filter=4, stride=(2, 2), target_shape=(9, 11))),
    ((2, 4, 5, 5), dict(kernel=(3, 3), num_filter=4, dilate=(2, 1), pad=(1, 0), no_bias=False)),
    ((2, 4, 6), dict(kernel=(3,), num_filter=4, stride=(3,), adj=(2,))),
    ((1, 2, 3, 4, 3), dict(kernel=(2, 3, 2), num_filter=2, stride=(2, 1, 2), pad=(0, 1, 1))),
    ((3, 50, 8, 8), dict(kernel=(5, 5), num_filter=20)),  # LeNet's conv2 data gradient
]


@pytest.mark.parametrize("shape,attrs", DECONV, ids=[str(i) for i in range(len(DECONV))])
def test_deconvolution_forward(shape, attrs):
    rng = np.random.default_rng(2)
    k, g, F = attrs["kernel"], attrs.get("num_group", 1), attrs["num_filter"]
    x = rng.standard_normal(shape).astype(np.float32)
    w = rng.standard_normal((shape[1], F // g, *k)).astype(np.float32)
    b = None if attrs.get("no_bias", True) else rng.standard_normal(F).astype(np.float32)
    y = nd.Deconvolution(nd.array(x), nd.array(w), *([nd.array(b)] if b is not None else []), **attrs)
    n = len(k)
    s, d = _norm(attrs.get("stride"), n, 1), _norm(attrs.get("dilate"), n, 1)
    if "target_shape" in attrs:
        t = attrs["target_shape"]
        full = [s[i] * (shape[2 + i] - 1) + d[i] * (k[i] - 1) + 1 for i in range(n)]
        p = tuple((full[i] - t[i] + 1) // 2 for i in range(n))
        out = tuple(t)
    else:
        p, a = _norm(attrs.get("pad"), n, 0), _norm(attrs.get("adj"), n, 0)
        out = tuple(s[i] * (shape[2 + i] - 1) + d[i] * (k[i] - 1) + 1 - 2 * p[i] + a[i] for i in range(n))
    assert y.shape == (shape[0], F, *out)
    assert_close(y, deconv_ref(x, w, b, s, p, d, g, out), scale=4 * np.sqrt(shape[1] * np.prod(k)))


@pytest.mark.parametrize("geom", [GEOMETRIES[i] for i in (1, 2, 4, 5, 6, 7)],
                         ids=["strided-grouped", "1d", "3d", "lenet1", "lenet2", "depthwise"])
def test_weight_gradient(geom):
    """Both schedules: dot products along pixels (few kernel rows: LeNet's conv1, depthwise) and tiles."""
    shape, F, k, s, p, d, g = geom
    rng = np.random.default_rng(3)
    x = rng.standard_normal(shape).astype(np.float32)
    out = conv_ref(x[:, :, ...], np.zeros((F, shape[1] // g, *k)), None, s, p, d, g).shape
    dy = rng.standard_normal(out).astype(np.float32)
    dw = nd._internal._backward_Convolution_weight(nd.array(dy), nd.array(x), kernel=k, stride=s, pad=p, dilate=d,
                                                    num_group=g)
    assert_close(dw, wgrad_ref(dy, x, k, s, p, d, g), scale=4 * np.sqrt(shape[0] * np.prod(out[2:])))


GRAD_CASES = [
    ((2, 3, 5, 5), 4, (3, 3), (1, 1), (0, 0), (1, 1), 1, False),
    ((2, 4, 7, 6), 6, (3, 2), (2, 2), (1, 2), (1, 2), 2, False),  # column stride 2: the scatter col2im
    ((1, 2, 7), 4, (3,), (2,), (1,), (2,), 2, True),
    ((1, 2, 4, 5, 4), 2, (2, 3, 2), (2, 1, 1), (1, 0, 1), (1, 1, 2), 1, False),
    ((2, 2, 8, 8), 3, (3, 3), (1, 1), (1, 1), (1, 1), 1, False),  # wide enough for the dot weight gradient
]


@pytest.mark.parametrize("case", GRAD_CASES, ids=[str(i) for i in range(len(GRAD_CASES))])
@pytest.mark.parametrize("op", ["Convolution", "Deconvolution"])
def test_gradients_match_finite_differences(case, op):
    shape, F, k, s, p, d, g, no_bias = case
    rng = np.random.default_rng(4)
    x = rng.standard_normal(shape)
    wshape = (F, shape[1] // g, *k) if op == "Convolution" else (shape[1], F // g, *k)
    ins = [x, rng.standard_normal(wshape)] + ([] if no_bias else [rng.standard_normal(F)])
    check_grad(op, ins, dict(kernel=k, stride=s, pad=p, dilate=d, num_filter=F, num_group=g, no_bias=no_bias))


def test_no_bias_call_and_parameter_shapes():
    x = nd.ones((1, 2, 5, 5))
    y = nd.Convolution(x, nd.ones((3, 2, 3, 3)), kernel=(3, 3), num_filter=3, no_bias=True)
    np.testing.assert_array_equal(y.asnumpy(), np.full((1, 3, 3, 3), 18.0))
    conv = registry.get("Convolution")
    attrs = conv.parse_attrs({"kernel": "(3, 3)", "num_filter": "6", "num_group": "2"})
    assert conv.input_names(attrs) == ("data", "weight", "bias")
    assert conv.input_names({**attrs, "no_bias": True}) == ("data", "weight")
    _, wt, bt = conv.infer_args([TensorType((8, 4, 10, 10)), None, None], attrs)
    assert wt.shape == (6, 2, 3, 3) and bt.shape == (6,)
    deconv = registry.get("Deconvolution")
    dattrs = deconv.parse_attrs({"kernel": (4, 4), "num_filter": 6, "num_group": 2})
    assert dattrs["no_bias"] is True and deconv.input_names(dattrs) == ("data", "weight")  # MXNet's default
    assert deconv.infer_args([TensorType((8, 4, 10, 10)), None], dattrs)[1].shape == (4, 3, 4, 4)


@pytest.mark.parametrize("call,exc,msg", [
    (lambda: nd.Convolution(nd.ones((1, 1, 4, 4)), nd.ones((2, 1, 5, 5)), nd.ones(2), kernel=(5, 5), num_filter=2),
     ShapeError, "exceeds the padded input"),
    (lambda: nd.Convolution(nd.ones((1, 2, 6, 6)), nd.ones((2, 1, 3, 3)), nd.ones(2), kernel=(3, 3), num_filter=2),
     ShapeError, r"weight has shape \(2, 1, 3, 3\), expected \(2, 2, 3, 3\)"),
    (lambda: nd.Convolution(nd.ones((1, 3, 6, 6)), nd.ones((2, 1, 3, 3)), nd.ones(2), kernel=(3, 3), num_filter=2,
                            num_group=2), ShapeError, "num_group"),
    (lambda: nd.Convolution(nd.ones((1, 3, 6)), nd.ones((2, 3, 3, 3)), nd.ones(2), kernel=(3, 3), num_filter=2),
     ShapeError, "must be 4-D"),
    (lambda: nd.Convolution(nd.ones((1, 3, 6, 6)), nd.ones((2, 3, 3, 3)), nd.ones(2), kernel=(3, 3), num_filter=2,
                            layout="NHWC"), MXNetError, "GPU"),
    (lambda: nd.Convolution(nd.ones((1, 3, 6, 6)), nd.ones((2, 3, 3, 3)), nd.ones(2), kernel=(3, 3), num_filter=2,
                            stride=(2,)), ShapeError, "same number of dims"),
    (lambda: nd.Deconvolution(nd.ones((1, 2, 4, 4)), nd.ones((2, 2, 3, 3)), kernel=(3, 3), num_filter=2,
                              stride=(2, 2), adj=(2, 2)), ShapeError, "adj"),
    (lambda: nd.Deconvolution(nd.ones((1, 2, 4, 4)), nd.ones((2, 2, 3, 3)), kernel=(3, 3), num_filter=2,
                              target_shape=(20, 20)), ShapeError, "too big"),
])
def test_errors_name_the_op_and_shapes(call, exc, msg):
    with pytest.raises(exc, match=msg):
        call()
