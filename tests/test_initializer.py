"""mx.init: name-suffix dispatch as MXNet 1.x, and the statistics of the random initializers."""
from __future__ import annotations

import math

import numpy as np
import pytest

import mxcc as mx
from mxcc.initializer import InitDesc


def _filled(init, name, shape, dtype="float32", attrs=None):
    arr = mx.nd.full(shape, 123.0, dtype=dtype)
    init(InitDesc(name, attrs), arr)
    return arr.asnumpy()


def _check_uniform(x, scale):
    n = x.size
    assert np.abs(x).max() <= scale
    assert abs(x.mean()) < 5 * scale / math.sqrt(3 * n)
    assert x.var() == pytest.approx(scale ** 2 / 3, rel=0.05)


def _check_normal(x, sigma):
    n = x.size
    assert abs(x.mean()) < 5 * sigma / math.sqrt(n)
    assert x.std() == pytest.approx(sigma, rel=0.05)
    assert abs(((x / sigma) ** 3).mean()) < 0.1  # symmetric


@pytest.mark.parametrize("name,expected", [
    ("fc1_bias", 0.0), ("bn0_gamma", 1.0), ("bn0_beta", 0.0), ("bn0_moving_mean", 0.0), ("bn0_moving_var", 1.0),
    ("q_min", 0.0), ("q_max", 1.0),
])
def test_suffix_rules(name, expected):
    np.testing.assert_array_equal(_filled(mx.init.Uniform(), name, (3, 4)), np.full((3, 4), expected))


def test_weight_rule_and_unknown_names():
    mx.random.seed(7)
    x = _filled(mx.init.Uniform(0.5), "conv0_weight", (64, 64))
    _check_uniform(x, 0.5)
    with pytest.raises(ValueError, match="Unknown initialization pattern for data"):
        _filled(mx.init.Uniform(), "data", (2,))


def test_init_attribute_wins_over_the_suffix():
    x = _filled(mx.init.Uniform(), "fc_weight", (2, 3), attrs={"__init__": mx.init.Constant(3.5).dumps()})
    np.testing.assert_array_equal(x, 3.5)
    x = _filled(mx.init.Uniform(), "fc_bias", (4,), attrs={"__init__": "one"})
    np.testing.assert_array_equal(x, 1.0)


def test_legacy_string_names():
    arr = mx.nd.full((2, 2), 5.0)
    with pytest.warns(DeprecationWarning):
        mx.init.Normal()("bn_moving_var", arr)
    np.testing.assert_array_equal(arr.asnumpy(), 1.0)
    with pytest.raises(TypeError, match="NDArray"):
        mx.init.Normal()(InitDesc("w_weight"), np.zeros(3))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_uniform_and_normal_statistics(dtype):
    mx.random.seed(11)
    x = _filled(mx.init.Uniform(0.07), "w_weight", (400, 500), dtype)
    assert x.dtype == dtype
    _check_uniform(x, 0.07)
    x = _filled(mx.init.Normal(0.3), "w_weight", (400, 500), dtype)
    _check_normal(x, 0.3)


@pytest.mark.parametrize("rnd_type,factor_type,magnitude", [
    ("uniform", "avg", 3), ("uniform", "in", 2), ("gaussian", "out", 1.5), ("gaussian", "in", 2),
])
def test_xavier(rnd_type, factor_type, magnitude):
    mx.random.seed(3)
    shape = (64, 48, 5, 5)  # fan_in 48 * 25, fan_out 64 * 25
    fan = {"avg": (48 + 64) * 25 / 2.0, "in": 48 * 25.0, "out": 64 * 25.0}[factor_type]
    scale = math.sqrt(magnitude / fan)
    x = _filled(mx.init.Xavier(rnd_type, factor_type, magnitude), "conv_weight", shape)
    if rnd_type == "uniform":
        _check_uniform(x, scale)
    else:
        _check_normal(x, scale)


def test_msra_prelu_and_xavier_errors():
    mx.random.seed(5)
    x = _filled(mx.init.MSRAPrelu(factor_type="in", slope=0.5), "fc_weight", (300, 200))
    _check_normal(x, math.sqrt(2.0 / (1 + 0.25) / 200))
    with pytest.raises(ValueError, match="requires at least 2D"):
        _filled(mx.init.Xavier(), "v_weight", (5,))
    with pytest.raises(ValueError, match="factor type"):
        _filled(mx.init.Xavier(factor_type="fan"), "v_weight", (5, 5))
    with pytest.raises(ValueError, match="random type"):
        _filled(mx.init.Xavier(rnd_type="cauchy"), "v_weight", (5, 5))


def test_seed_reproduces_initialization():
    init = mx.init.Xavier()
    mx.random.seed(42)
    a = _filled(init, "fc_weight", (10, 20))
    mx.random.seed(42)
    b = _filled(init, "fc_weight", (10, 20))
    c = _filled(init, "fc_weight", (10, 20))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(b, c)


def test_constant_zero_one():
    np.testing.assert_array_equal(_filled(mx.init.Constant(0.25), "w_weight", (2, 3)), 0.25)
    value = mx.nd.array(np.arange(6).reshape((2, 3)))
    np.testing.assert_array_equal(_filled(mx.init.Constant(value), "w_weight", (2, 3)), np.arange(6).reshape((2, 3)))
    np.testing.assert_array_equal(_filled(mx.init.Zero(), "w_weight", (3,)), 0)
    np.testing.assert_array_equal(_filled(mx.init.One(), "w_weight", (3,), "float64"), 1)


def test_dumps_and_create():
    x = mx.init.Xavier(rnd_type="gaussian", factor_type="in", magnitude=2)
    back = mx.init.create(x.dumps())
    assert back == x and isinstance(back, mx.init.Xavier) and back.magnitude == 2.0
    assert isinstance(mx.init.create("zeros"), mx.init.Zero)
    assert mx.init.create("normal", sigma=0.5).sigma == 0.5
    assert mx.init.create(x) is x
    assert mx.init.MSRAPrelu().dumps() == '["msraprelu", {"factor_type": "avg", "slope": 0.25}]'
    assert mx.initializer is mx.init
    with pytest.raises(ValueError, match="unknown initializer"):
        mx.init.create("nope")

    @mx.init.register
    class Twos(mx.init.Initializer):
        def _init_weight(self, _, arr):
            arr[:] = 2

    np.testing.assert_array_equal(_filled(mx.init.Uniform(), "w_weight", (2,), attrs={"__init__": "twos"}), 2)


def test_mixed_and_load():
    mixed = mx.init.Mixed(["fc", ".*"], [mx.init.Constant(7), mx.init.One()])  # re.match: from the start
    arr = mx.nd.zeros((2,))
    mixed(InitDesc("fc_weight"), arr)
    np.testing.assert_array_equal(arr.asnumpy(), 7)
    mixed(InitDesc("conv_fc_weight"), arr)
    np.testing.assert_array_equal(arr.asnumpy(), 1)
    mixed(InitDesc("fc_bias"), arr)  # the chosen initializer still applies the suffix rules
    np.testing.assert_array_equal(arr.asnumpy(), 0)
    with pytest.raises(ValueError, match="did not match any pattern"):
        mx.init.Mixed(["^a"], [mx.init.Zero()])("b", arr)
    saved = {"arg:fc_weight": mx.nd.array([[1.0, 2.0]]), "aux:bn_moving_var": mx.nd.array([3.0])}
    load = mx.init.Load(saved, default_init=mx.init.Constant(-1))
    w, v, other = mx.nd.zeros((1, 2)), mx.nd.zeros((1,)), mx.nd.zeros((2,))
    load("fc_weight", w)
    load("bn_moving_var", v)
    load(InitDesc("fc2_weight"), other)
    np.testing.assert_array_equal(w.asnumpy(), [[1, 2]])
    np.testing.assert_array_equal(v.asnumpy(), [3])
    np.testing.assert_array_equal(other.asnumpy(), [-1, -1])
    with pytest.raises(ValueError, match="Shape mismatch"):
        load("fc_weight", mx.nd.zeros((2, 2)))
    with pytest.raises(ValueError, match="no default Initializer"):
        mx.init.Load(saved)("missing", other)


def test_bilinear_and_lstm_bias():
    shape = (2, 1, 4, 4)
    f = math.ceil(4 / 2.0)
    c = (2 * f - 1 - f % 2) / (2.0 * f)
    ref = np.array([(1 - abs((i % 4) / f - c)) * (1 - abs(((i // 4) % 4) / f - c)) for i in range(32)])
    np.testing.assert_allclose(_filled(mx.init.Bilinear(), "up_weight", shape).ravel(), ref, rtol=1e-6)
    x = _filled(mx.init.LSTMBias(forget_bias=1.5), "lstm_bias_weight", (8,))
    np.testing.assert_array_equal(x, [0, 0, 1.5, 1.5, 0, 0, 0, 0])
