"""The prelude's vectorizable float32 exp/log/tanh/sigmoid/log1p/expm1 (mx_expf & co.): a dense
sweep through the mx.nd ops against float64 references (<= 4 ulp), IEEE specials, and the
float16 / float64 paths that must keep their behaviour."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mxcc as mx

MAX_ULP = 4.0


def _sigmoid(x):
    return np.where(x >= 0, 1 / (1 + np.exp(-np.abs(x))), np.exp(-np.abs(x)) / (1 + np.exp(-np.abs(x))))


REF = {
    "exp": np.exp, "log": np.log, "tanh": np.tanh, "sigmoid": _sigmoid,
    "log1p": np.log1p, "expm1": np.expm1,
}


def _sweep():
    dense = np.linspace(-100.0, 100.0, 1 << 22, dtype=np.float32)
    # every binade of the float range, both signs, subnormals included
    e = np.arange(-149, 128, dtype=np.float64)[:, None]
    m = 1.0 + np.arange(64, dtype=np.float64)[None, :] / 64
    mag = (m * 2.0 ** e).ravel()
    mag = mag[mag < 3.4e38].astype(np.float32)
    edges = np.array([88.72283, 88.7228394, -87.33655, -103.97208, -104.0, 0.625, -0.625, 1.0, -1.0,
                      1.1754944e-38, -0.9999999], dtype=np.float32)
    return np.concatenate([dense, mag, -mag, edges])


X = _sweep()


def _ulp_err(got, ref64):
    with np.errstate(over="ignore"):
        ref32 = ref64.astype(np.float32)
    ok = np.isfinite(ref32)
    spacing = np.abs(np.spacing(ref32[ok])).astype(np.float64)
    err = np.abs(got[ok].astype(np.float64) - ref64[ok]) / spacing
    # outside the finite range the result must be the rounded reference exactly (inf / nan)
    bad = ~ok & ~((got == ref32) | (np.isnan(got) & np.isnan(ref32)))
    return err, bad


@pytest.mark.parametrize("name", sorted(REF))
def test_float32_sweep_within_4ulp(name):
    with np.errstate(all="ignore"):
        ref = REF[name](X.astype(np.float64))
    got = getattr(mx.nd, name)(mx.nd.array(X, dtype="float32")).asnumpy()
    assert got.dtype == np.float32
    err, bad = _ulp_err(got, ref)
    worst = int(np.argmax(err)) if err.size else 0
    assert err.max() <= MAX_ULP, (name, float(err.max()), float(X[np.isfinite(ref.astype(np.float32))][worst]))
    assert not bad.any(), (name, X[bad][:5], got[bad][:5])


def test_activation_and_softmax_use_float_path():
    x = np.linspace(-30, 30, 100003, dtype=np.float32)
    x64 = x.astype(np.float64)
    nd = mx.nd.array(x, dtype="float32")
    for act, ref in (("tanh", np.tanh(x64)), ("sigmoid", _sigmoid(x64)),
                     ("softrelu", np.where(x64 > 20, x64, np.log1p(np.exp(x64))))):
        got = mx.nd.Activation(nd, act_type=act).asnumpy()
        err, bad = _ulp_err(got, ref)
        assert err.max() <= MAX_ULP, (act, err.max())
    for act, slope, ref in (("elu", 0.7, np.where(x64 > 0, x64, 0.7 * np.expm1(x64))),
                            ("selu", 0.0, np.where(x64 > 0, 1.0507009873554805 * x64,
                                                   1.0507009873554805 * 1.6732632423543772 * np.expm1(x64)))):
        got = mx.nd.LeakyReLU(nd, act_type=act, slope=slope).asnumpy()
        err, bad = _ulp_err(got, ref)
        assert err.max() <= MAX_ULP, (act, err.max())
    sm = mx.nd.softmax(mx.nd.array(x[:7000].reshape(7, 1000), dtype="float32")).asnumpy()
    r = x64[:7000].reshape(7, 1000)
    r = np.exp(r - r.max(1, keepdims=True))
    np.testing.assert_allclose(sm, r / r.sum(1, keepdims=True), rtol=4e-6, atol=1e-30)


SPECIALS = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-45, -1e-45, 1.1754944e-38, -1.0, 3.4028235e38,
                     -3.4028235e38, 88.8, -88.8, 100.0, -110.0], dtype=np.float32)


@pytest.mark.parametrize("name", sorted(REF))
def test_specials_match_libm(name):
    with np.errstate(all="ignore"):
        ref = REF[name](SPECIALS.astype(np.float64)).astype(np.float32)
    got = getattr(mx.nd, name)(mx.nd.array(SPECIALS, dtype="float32")).asnumpy()
    for x, g, r in zip(SPECIALS, got, ref):
        if np.isnan(r):
            assert np.isnan(g), (name, x, g)
        elif np.isinf(r) or r == 0:
            assert g == r and np.signbit(g) == np.signbit(r), (name, x, g, r)
        else:
            assert abs(float(g) - float(r)) <= MAX_ULP * abs(np.spacing(r)), (name, x, g, r)


def test_ieee_specials_explicit():
    v = mx.nd.array(np.array([-np.inf, np.inf, np.nan], dtype=np.float32))
    assert list(mx.nd.exp(v).asnumpy()[:2]) == [0.0, np.inf] and np.isnan(mx.nd.exp(v).asnumpy()[2])
    lg = mx.nd.log(mx.nd.array(np.array([0.0, -1.0, np.inf], dtype=np.float32))).asnumpy()
    assert lg[0] == -np.inf and np.isnan(lg[1]) and lg[2] == np.inf
    th = mx.nd.tanh(mx.nd.array(np.array([np.inf, -np.inf, -0.0], dtype=np.float32))).asnumpy()
    assert th[0] == 1.0 and th[1] == -1.0 and th[2] == 0.0 and np.signbit(th[2])


@settings(max_examples=15, deadline=None)
@given(st.lists(st.floats(-12, 12, width=16), min_size=1, max_size=300),
       st.sampled_from(sorted(REF)))
def test_float16_still_correct(vals, name):
    x = np.array(vals, dtype=np.float16)
    if name in ("log", "log1p"):
        x = np.abs(x) + np.float16(0.01)
    with np.errstate(all="ignore"):
        ref = REF[name](x.astype(np.float64)).astype(np.float16)
    got = getattr(mx.nd, name)(mx.nd.array(x, dtype="float16")).asnumpy()
    assert got.dtype == np.float16
    np.testing.assert_allclose(got.astype(np.float64), ref.astype(np.float64), rtol=1e-3, atol=1e-6)


@pytest.mark.parametrize("name", sorted(REF))
def test_float64_keeps_libm_accuracy(name):
    x = np.linspace(-50, 50, 10001)
    if name in ("log", "log1p"):
        x = np.abs(x) + 0.5
    ref = REF[name](x)
    got = getattr(mx.nd, name)(mx.nd.array(x, dtype="float64")).asnumpy()
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, ref, rtol=1e-14, atol=1e-300)
