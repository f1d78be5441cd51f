"""mx.random / mx.nd.random: Philox-4x32-10 in generated C.

Checks the generator bit for bit against a Python Philox checked on Random123's
known-answer vectors, then each distribution's moments and a goodness-of-fit statistic
(Kolmogorov-Smirnov or chi-square, computed here in float64), reproducibility, thread
count independence, reseeding without recompiling, randint ranges and shuffle.
All draws are seeded, so the statistical checks are deterministic.
"""
from __future__ import annotations

import math
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mxcc as mx

N = 200_000
FLOATS = ("float32", "float64", "float16")
ALL_DTYPES = ("float32", "float64", "float16", "uint8", "int32", "int8", "int64")
_M32 = 0xFFFFFFFF


# ---- the generator itself ------------------------------------------------------------------------
def philox(key, ctr):
    """Philox-4x32-10 in Python (the reference the generated C must match bit for bit)."""
    k0, k1 = key
    c0, c1, c2, c3 = ctr
    for _ in range(10):
        p0, p1 = 0xD2511F53 * c0, 0xCD9E8D57 * c2
        c0, c1, c2, c3 = ((p1 >> 32) ^ c1 ^ k0) & _M32, p1 & _M32, ((p0 >> 32) ^ c3 ^ k1) & _M32, p0 & _M32
        k0, k1 = (k0 + 0x9E3779B9) & _M32, (k1 + 0xBB67AE85) & _M32
    return c0, c1, c2, c3


def test_python_philox_matches_random123_known_answers():
    assert philox((0, 0), (0, 0, 0, 0)) == (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)
    assert philox((_M32, _M32), (_M32,) * 4) == (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)
    assert philox((0xA4093822, 0x299F31D0), (0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344)) == (
        0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)


@pytest.mark.parametrize("seed", [0, 1, 123456789, 2**40 + 17])
def test_kernel_bits_are_philox(seed):
    """float64 uniform element i = 53 bits of Philox(key=seed, ctr=(i // 2, 0, call, 0)), lane i % 2."""
    mx.random.seed(seed)
    first = mx.nd.random.uniform(shape=(7,), dtype="float64").asnumpy()
    second = mx.nd.random.uniform(shape=(5,), dtype="float64").asnumpy()
    key = (seed & _M32, seed >> 32)
    for call, got in ((0, first), (1, second)):
        want = []
        for i in range(len(got)):
            w = philox(key, (i // 2, 0, call, 0))
            x = (w[2 * (i % 2)] << 32) | w[2 * (i % 2) + 1]
            want.append((x >> 11) * 2.0**-53)
        np.testing.assert_array_equal(got, np.array(want))


# ---- statistics helpers (float64, in the test) --------------------------------------------------------
def ks_statistic(x, cdf):
    x = np.sort(np.asarray(x, dtype=np.float64))
    n = len(x)
    f = cdf(x)
    i = np.arange(1, n + 1)
    return max(np.max(i / n - f), np.max(f - (i - 1) / n))


def ks_limit(n):
    return 1.95 / math.sqrt(n)  # alpha = 0.001


_erf = np.frompyfunc(math.erf, 1, 1)


def norm_cdf(x):
    return 0.5 * (1.0 + _erf(x / math.sqrt(2.0)).astype(np.float64))


def chi_square_ok(counts, probs):
    counts = np.asarray(counts, dtype=np.float64)
    exp = np.asarray(probs, dtype=np.float64) * counts.sum()
    stat = float(np.sum((counts - exp) ** 2 / exp))
    k = len(counts) - 1
    # Wilson-Hilferty: the chi-square(k) quantile at z = 3.3 (alpha ~ 0.0005)
    limit = k * (1 - 2 / (9 * k) + 3.3 * math.sqrt(2 / (9 * k))) ** 3
    return stat, limit


def assert_moments(x, mean, var, what, z=6.0):
    x = np.asarray(x, dtype=np.float64)
    n = len(x)
    m4 = float(np.mean((x - x.mean()) ** 4))
    assert abs(x.mean() - mean) < z * math.sqrt(var / n) + 1e-12, f"{what}: mean {x.mean()} vs {mean}"
    assert abs(x.var() - var) < z * math.sqrt(max(m4 - var**2, 1e-30) / n) + 1e-12, f"{what}: var {x.var()} vs {var}"


def draw(fn, *args, **kw):
    out = fn(*args, **kw)
    return out.asnumpy()


# ---- distributions ----------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", FLOATS)
def test_uniform(dtype):
    mx.random.seed(11)
    x = draw(mx.nd.random.uniform, -2.0, 3.0, shape=(N,), dtype=dtype)
    assert x.dtype == np.dtype(dtype) and x.shape == (N,)
    assert x.min() >= -2.0 and x.max() < 3.0
    assert_moments(x, 0.5, 25.0 / 12, f"uniform {dtype}")
    tol = 2e-3 if dtype == "float16" else 0  # float16 steps are coarse: allow its rounding
    assert ks_statistic(x, lambda t: (t + 2.0) / 5.0) < ks_limit(N) + tol


@pytest.mark.parametrize("dtype", FLOATS)
def test_uniform_high_is_open(dtype):
    mx.random.seed(5)
    x = draw(mx.nd.random.uniform, 0.0, 1.0, shape=(N,), dtype=dtype)
    assert x.max() < 1.0 and x.min() >= 0.0
    y = draw(mx.nd.random.uniform, 1000.0, 1000.5, shape=(N,), dtype=dtype)
    assert y.max() < np.asarray(1000.5, dtype) or np.asarray(1000.0, dtype) == np.asarray(1000.5, dtype)
    assert y.min() >= 1000.0


@pytest.mark.parametrize("dtype", FLOATS)
def test_normal(dtype):
    mx.random.seed(12)
    x = draw(mx.nd.random.normal, 1.5, 2.0, shape=(N,), dtype=dtype)
    assert x.dtype == np.dtype(dtype) and np.isfinite(x).all()
    assert_moments(x, 1.5, 4.0, f"normal {dtype}")
    tol = 3e-3 if dtype == "float16" else 0
    assert ks_statistic(x, lambda t: norm_cdf((t - 1.5) / 2.0)) < ks_limit(N) + tol


@pytest.mark.parametrize("dtype", ("float32", "float64"))
def test_exponential(dtype):
    mx.random.seed(13)
    x = draw(mx.nd.random.exponential, 0.5, shape=(N,), dtype=dtype)  # scale 0.5: lambda 2
    assert x.min() >= 0
    assert_moments(x, 0.5, 0.25, "exponential")
    assert ks_statistic(x, lambda t: 1 - np.exp(-2.0 * t)) < ks_limit(N)


@pytest.mark.parametrize("alpha,beta,cdf", [
    (2.0, 1.5, lambda t: 1 - np.exp(-t / 1.5) * (1 + t / 1.5)),
    (0.5, 2.0, lambda t: _erf(np.sqrt(t / 2.0)).astype(np.float64)),  # chi-square(1) scaled
    (1.0, 3.0, lambda t: 1 - np.exp(-t / 3.0)),
])
def test_gamma(alpha, beta, cdf):
    mx.random.seed(14)
    x = draw(mx.nd.random.gamma, alpha, beta, shape=(N,), dtype="float64")
    assert x.min() >= 0
    assert_moments(x, alpha * beta, alpha * beta**2, f"gamma({alpha}, {beta})")
    assert ks_statistic(x, cdf) < ks_limit(N)


def test_gamma_large_alpha_float32():
    mx.random.seed(15)
    x = draw(mx.nd.random.gamma, 50.0, 0.1, shape=(N,))
    assert x.dtype == np.float32
    assert_moments(x, 5.0, 0.5, "gamma(50, 0.1)")


def _poisson_pmf(lam, kmax):
    return np.array([math.exp(-lam + k * math.log(lam) - math.lgamma(k + 1)) for k in range(kmax)])


@pytest.mark.parametrize("lam", [0.7, 4.0, 30.0, 1000.0])
def test_poisson(lam):
    mx.random.seed(16)
    x = draw(mx.nd.random.poisson, lam, shape=(N,), dtype="float64")
    assert (x == np.floor(x)).all() and x.min() >= 0
    assert_moments(x, lam, lam, f"poisson({lam})")
    # chi-square over single values; values expected fewer than 5 times are pooled into one bin
    hi = int(lam + 6 * math.sqrt(lam)) + 2
    pmf = _poisson_pmf(lam, hi)
    probs = np.append(pmf, max(1 - pmf.sum(), 0.0))
    counts = np.append([np.sum(x == k) for k in range(hi)], np.sum(x >= hi))
    small = probs * N < 5
    if small.any():
        probs = np.append(probs[~small], probs[small].sum())
        counts = np.append(counts[~small], counts[small].sum())
    stat, limit = chi_square_ok(counts, probs)
    assert stat < limit, (stat, limit)


def test_poisson_zero_rate():
    assert (draw(mx.nd.random.poisson, 0.0, shape=(100,)) == 0).all()


def test_negative_binomials():
    mx.random.seed(17)
    k, p = 3, 0.4
    x = draw(mx.nd.random.negative_binomial, k, p, shape=(N,), dtype="float64")
    assert_moments(x, k * (1 - p) / p, k * (1 - p) / p**2, "negative_binomial")
    mu, alpha = 2.0, 0.5
    y = draw(mx.nd.random.generalized_negative_binomial, mu, alpha, shape=(N,), dtype="float64")
    assert_moments(y, mu, mu + alpha * mu**2, "generalized_negative_binomial")
    z = draw(mx.nd.random.generalized_negative_binomial, mu, 0.0, shape=(N,), dtype="float64")
    assert_moments(z, mu, mu, "generalized_negative_binomial alpha=0")


# ---- randint --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("low,high,dtype", [(-3, 5, None), (0, 2, "int32"), (10, 11, "int64"),
                                            (-(2**62), 2**62, "int64"), (-(2**31), 2**31, "int32"),
                                            (-(2**63), 2**63, "int64"), (2**63 - 3, 2**63, "int64")])
def test_randint_range(low, high, dtype):
    mx.random.seed(18)
    x = draw(mx.nd.random.randint, low, high, shape=(50_000,), **({"dtype": dtype} if dtype else {}))
    assert x.dtype == np.dtype(dtype or "int32")
    assert x.min() >= low and x.max() < high
    if high - low <= 8:
        counts = np.bincount(x - low, minlength=high - low)
        assert (counts > 0).all()
        if high - low > 1:
            stat, limit = chi_square_ok(counts, np.full(high - low, 1 / (high - low)))
            assert stat < limit
    else:  # wide ranges: the top and bottom halves are both hit evenly
        mid = low + (high - low) // 2
        assert abs(np.mean(x < mid) - 0.5) < 0.01


def test_randint_errors():
    with pytest.raises(mx.MXNetError, match="_random_randint: low must be less than high"):
        mx.nd.random.randint(3, 3, shape=(2,))
    with pytest.raises(mx.MXNetError, match="does not fit dtype int32"):
        mx.nd.random.randint(0, 2**40, shape=(2,))
    with pytest.raises(TypeError, match="'low' must be an integer"):
        mx.nd.random.randint(0.5, 3)
    with pytest.raises(Exception, match="dtype"):
        mx.nd.random.randint(0, 3, dtype="float32")


# ---- seeding, counters, threads ------------------------------------------------------------------------
def _sequence():
    return [mx.nd.random.uniform(shape=(1000,)).asnumpy(),
            mx.nd.random.normal(shape=(1001,), dtype="float64").asnumpy(),
            mx.nd.random.randint(0, 100, shape=(999,)).asnumpy(), mx.nd.random.gamma(2.0, shape=(500,)).asnumpy(),
            mx.nd.random.shuffle(mx.nd.arange(50)).asnumpy()]


def test_same_seed_same_sequence_and_reseed_differs():
    mx.random.seed(1234)
    a = _sequence()
    mx.random.seed(1234)
    b = _sequence()
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    # each call advances the counter: consecutive draws differ
    assert not np.array_equal(a[0], mx.nd.random.uniform(shape=(1000,)).asnumpy())
    mx.random.seed(1235)
    c = _sequence()
    for x, y in zip(a, c):
        assert not np.array_equal(x, y)


def test_seed_validation_and_contexts():
    with pytest.raises(ValueError, match="seed_state must be int"):
        mx.random.seed(1.5)
    with pytest.raises(ValueError, match="seed_state must be int"):
        mx.random.seed("3")
    mx.random.seed(np.int64(9), ctx=mx.cpu(0))
    a = mx.nd.random.uniform(shape=(10,)).asnumpy()
    mx.random.seed(9)
    np.testing.assert_array_equal(a, mx.nd.random.uniform(shape=(10,)).asnumpy())


def test_seed_waits_for_queued_draws():
    big = (1_000_000,)  # large enough to be queued on the engine rather than run inline
    mx.random.seed(61)
    a = mx.nd.random.normal(shape=big)
    b = mx.nd.random.normal(shape=big)
    mx.random.seed(62)  # must not change what a and b (possibly still queued) draw
    mx.nd.random.normal(shape=big)
    mx.random.seed(61)
    np.testing.assert_array_equal(a.asnumpy(), mx.nd.random.normal(shape=big).asnumpy())
    np.testing.assert_array_equal(b.asnumpy(), mx.nd.random.normal(shape=big).asnumpy())


def test_element_depends_only_on_seed_call_and_index():
    mx.random.seed(21)
    small = mx.nd.random.normal(shape=(9,)).asnumpy()
    mx.random.seed(21)
    big = mx.nd.random.normal(shape=(100_003,)).asnumpy()
    np.testing.assert_array_equal(small, big[:9])
    mx.random.seed(21)
    shaped = mx.nd.random.normal(shape=(3, 3)).asnumpy()
    np.testing.assert_array_equal(shaped.ravel(), small)


def test_reseeding_never_recompiles_or_replans():
    from mxcc.ndarray import invoke

    mx.random.seed(1)
    mx.nd.random.uniform(shape=(64,)).wait_to_read()
    before = mx.runtime.stats()
    plans = len(invoke._plans)
    for s in range(2, 6):
        mx.random.seed(s)
        mx.nd.random.uniform(shape=(64,)).wait_to_read()
    after = mx.runtime.stats()
    assert after["kernels_compiled"] == before["kernels_compiled"]
    assert after["disk_cache_hits"] == before["disk_cache_hits"]
    assert len(invoke._plans) == plans


_THREAD_SCRIPT = textwrap.dedent("""
    import sys, numpy as np, mxcc as mx
    mx.random.seed(77)
    parts = [mx.nd.random.uniform(shape=(300_000,)), mx.nd.random.normal(shape=(300_000,), dtype="float64"),
             mx.nd.random.gamma(0.7, 2.0, shape=(100_000,)), mx.nd.random.poisson(25.0, shape=(100_000,)),
             mx.nd.random.randint(-5, 5, shape=(300_000,)), mx.nd.random.shuffle(mx.nd.arange(100_000))]
    np.save(sys.argv[1], np.concatenate([p.asnumpy().astype(np.float64) for p in parts]))
""")


def test_results_do_not_depend_on_thread_count(tmp_path):
    outs = []
    for threads in ("1", "3"):
        env = dict(os.environ, OMP_NUM_THREADS=threads)
        path = tmp_path / f"t{threads}.npy"
        r = subprocess.run([sys.executable, "-c", _THREAD_SCRIPT, str(path)], env=env, capture_output=True,
                           text=True, timeout=600)
        assert r.returncode == 0, r.stderr[-3000:]
        outs.append(np.load(path))
    np.testing.assert_array_equal(outs[0], outs[1])


# ---- shuffle ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_shuffle_is_a_row_permutation(dtype):
    mx.random.seed(31)
    base = np.arange(40 * 3 * 2).reshape(40, 3, 2) % 100
    data = mx.nd.array(base, dtype=dtype)
    out = mx.nd.random.shuffle(data).asnumpy()
    assert out.dtype == np.dtype(dtype) and out.shape == base.shape
    ref = base.astype(dtype)
    rows = {r.tobytes(): k for k, r in enumerate(ref)}
    perm = [rows[r.tobytes()] for r in out]
    assert sorted(perm) == list(range(40)) and perm != list(range(40))
    np.testing.assert_array_equal(data.asnumpy(), ref)  # the input is untouched


@settings(max_examples=20, deadline=None)
@given(shape=st.lists(st.integers(0, 6), min_size=1, max_size=3).map(tuple))
def test_shuffle_shapes(shape):
    base = np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape)
    out = mx.nd.random.shuffle(mx.nd.array(base, dtype="float64")).asnumpy()
    assert out.shape == shape
    np.testing.assert_array_equal(np.sort(out.reshape(shape[0], -1), axis=0) if shape[0] else out,
                                  np.sort(base.reshape(shape[0], -1), axis=0) if shape[0] else base)
    if shape[0]:
        rows = {r.tobytes() for r in base.reshape(shape[0], -1)}
        assert all(r.tobytes() in rows for r in out.reshape(shape[0], -1))


def test_shuffle_in_place_and_op_names():
    mx.random.seed(32)
    x = mx.nd.arange(1000)
    mx.nd.random.shuffle(x, out=x)
    got = x.asnumpy()
    assert sorted(got) == list(range(1000)) and list(got) != list(range(1000))
    for f in (mx.nd.shuffle, mx.nd._internal._shuffle):
        assert sorted(f(mx.nd.arange(10)).asnumpy()) == list(range(10))


def test_shuffle_permutations_are_uniform():
    mx.random.seed(33)
    data = mx.nd.array([0, 1, 2], dtype="int32")
    counts = {}
    for _ in range(3000):
        key = tuple(mx.nd.random.shuffle(data).asnumpy())
        counts[key] = counts.get(key, 0) + 1
    assert len(counts) == 6
    stat, limit = chi_square_ok(list(counts.values()), [1 / 6] * 6)
    assert stat < limit


# ---- NDArray parameters (_sample_*) -----------------------------------------------------------------------
def test_sample_ops_shapes_and_per_parameter_moments():
    mx.random.seed(41)
    low = mx.nd.array([0.0, 10.0, -5.0])
    high = mx.nd.array([1.0, 20.0, -4.0])
    x = mx.nd.random.uniform(low, high, shape=(20_000,))
    assert x.shape == (3, 20_000) and x.dtype == np.float32
    a = x.asnumpy()
    for k, (lo, hi) in enumerate([(0, 1), (10, 20), (-5, -4)]):
        assert a[k].min() >= lo and a[k].max() < hi
        assert_moments(a[k], (lo + hi) / 2, (hi - lo) ** 2 / 12, f"sample_uniform row {k}")
    mu = mx.nd.array([[0.0, 3.0]], dtype="float64")
    sigma = mx.nd.array([[1.0, 0.5]], dtype="float64")
    y = mx.nd.random.normal(mu, sigma, shape=(2, 10_000), dtype="float64").asnumpy()
    assert y.shape == (1, 2, 2, 10_000)
    assert_moments(y[0, 0].ravel(), 0.0, 1.0, "sample_normal 0")
    assert_moments(y[0, 1].ravel(), 3.0, 0.25, "sample_normal 1")
    lam = mx.nd.array([1.0, 40.0])
    p = mx.nd.random.poisson(lam, shape=(20_000,)).asnumpy()
    assert_moments(p[0], 1.0, 1.0, "sample_poisson 0")
    assert_moments(p[1], 40.0, 40.0, "sample_poisson 1")
    g = mx.nd.random.gamma(mx.nd.array([0.5, 3.0]), mx.nd.array([2.0, 1.0]), shape=(20_000,)).asnumpy()
    assert_moments(g[0], 1.0, 2.0, "sample_gamma 0")
    assert_moments(g[1], 3.0, 3.0, "sample_gamma 1")
    e = mx.nd.random.exponential(mx.nd.array([2.0]), shape=(20_000,)).asnumpy()  # scale 2
    assert_moments(e[0], 2.0, 4.0, "sample_exponential")
    one = mx.nd.sample_uniform(mx.nd.array([1.0, 2.0]), mx.nd.array([2.0, 3.0]))
    assert one.shape == (2,)


def test_sample_ops_reject_bad_parameters():
    with pytest.raises(mx.MXNetError, match="_sample_gamma: invalid distribution parameter"):
        mx.nd.random.gamma(mx.nd.array([1.0, -1.0]), mx.nd.array([1.0, 1.0]), shape=(3,)).asnumpy()
    with pytest.raises(mx.MXNetError, match="_sample_poisson: invalid distribution parameter"):
        mx.nd.random.poisson(mx.nd.array([float("nan")])).asnumpy()
    with pytest.raises(mx.MXNetError, match="shape"):
        mx.nd.random.uniform(mx.nd.array([0.0, 1.0]), mx.nd.array([1.0, 2.0, 3.0]))
    with pytest.raises(TypeError, match="same type"):
        mx.nd.random.uniform(mx.nd.array([0.0]), 1.0)


# ---- API surface --------------------------------------------------------------------------------------------
def test_api_defaults_and_names():
    x = mx.nd.random.uniform()
    assert x.shape == (1,) and x.dtype == np.float32 and x.context == mx.cpu()
    assert mx.nd.random.randint(0, 5).dtype == np.int32
    assert mx.random.uniform(0, 1, shape=(2, 3)).shape == (2, 3)
    assert mx.random.normal(shape=4).shape == (4,)
    for f in (mx.nd.uniform, mx.nd.random_uniform, mx.nd._internal._random_uniform):
        v = f(low=2.0, high=3.0, shape=(5,)).asnumpy()
        assert v.shape == (5,) and (v >= 2).all() and (v < 3).all()
    for f in (mx.nd.normal, mx.nd.random_normal, mx.nd._internal._random_normal):
        assert f(loc=0, scale=1, shape=(2, 2)).shape == (2, 2)
    assert mx.nd.random_randint(low=0, high=3, shape=(4,)).dtype == np.int32
    assert mx.nd.random_exponential(lam=2.0, shape=(3,)).shape == (3,)
    assert mx.nd.random_gamma(alpha=2.0, beta=1.0, shape=(3,)).shape == (3,)
    assert mx.nd.random_poisson(lam=2.0, shape=(3,)).shape == (3,)
    out = mx.nd.zeros((2, 5), dtype="float64")
    r = mx.nd.random.uniform(5, 6, out=out)
    assert r is out and (out.asnumpy() >= 5).all()
    assert mx.nd.random.normal(0, 1, shape=(2,), ctx=mx.cpu(0)).context == mx.cpu(0)
    assert mx.nd.random.uniform(shape=(0, 3)).shape == (0, 3)


def test_api_errors():
    with pytest.raises(mx.MXNetError, match="low must be less or equal to high"):
        mx.nd.random.uniform(2, 1, shape=(3,))
    with pytest.raises(mx.MXNetError, match="scale parameter in gaussian has to be positive"):
        mx.nd.random.normal(0, -1, shape=(3,))
    with pytest.raises(mx.MXNetError, match="scale must be > 0"):
        mx.nd.random.exponential(0, shape=(3,))
    with pytest.raises(mx.MXNetError, match="alpha parameter in gamma"):
        mx.nd.random.gamma(0, 1, shape=(3,))
    with pytest.raises(mx.MXNetError, match="lambda parameter in poisson"):
        mx.nd.random.poisson(-1, shape=(3,))
    with pytest.raises(Exception, match="dtype"):
        mx.nd.random.uniform(dtype="int32")
    with pytest.raises(ValueError, match="NDArray or numbers"):
        mx.nd.random.uniform("a", "b")
    with pytest.raises(Exception, match="negative dimension"):
        mx.nd.random.uniform(shape=(-1, 2))


@settings(max_examples=20, deadline=None)
@given(shape=st.lists(st.integers(0, 7), min_size=1, max_size=4).map(tuple), dtype=st.sampled_from(FLOATS),
       low=st.floats(-100, 100), width=st.floats(0.5, 50))
def test_uniform_shapes_and_bounds(shape, dtype, low, width):
    x = mx.nd.random.uniform(low, low + width, shape=shape, dtype=dtype).asnumpy()
    assert x.shape == shape and x.dtype == np.dtype(dtype)
    lo, hi = np.asarray(low, dtype), np.asarray(low + width, dtype)
    if x.size:
        assert x.min() >= lo and (x.max() < hi or lo == hi)


# ---- whole-graph programs ---------------------------------------------------------------------------
def test_graph_program_draws_from_the_live_generator():
    """A compiled graph bakes no seed or address: each run takes fresh call numbers, reseeding replays it,
    and the source is the same in every process (so the disk cache serves it)."""
    from mxcc import codegen, passes, runtime
    from mxcc.ir import Graph, Node, TensorType, Value

    x = Value(TensorType((6,), "float64"), "x")
    unknown = [TensorType(None)]
    u = Node("_random_uniform", {"shape": "(6,)", "dtype": "float64"}, [], unknown, name="u0")
    add = Node("elemwise_add", {}, [x, u.outputs[0]], unknown, name="add0")
    n = Node("_random_normal", {"shape": "(3, 2)", "loc": "10", "scale": "0.5"}, [], unknown, name="n0")
    g = passes.run_pipeline(Graph([x], [add.outputs[0], n.outputs[0]]))
    gp = codegen.emit(g, "c")
    assert hex(runtime.rng.ADDRESS) not in gp.program.source and str(runtime.rng.ADDRESS) not in gp.program.source
    lib = runtime.toolchain_c.load(gp.program.source, gp.program.cdecls, gp.program.name)
    xin = np.arange(6, dtype=np.float64)

    def run():
        outs = [np.empty(6, np.float64), np.empty((3, 2), np.float32)]
        io = np.array([b.ctypes.data for b in [xin, *outs]], dtype=np.intp)
        arena = np.empty(max(gp.arena_bytes, 1), np.uint8)
        status = np.zeros(1, np.int64)
        assert lib.fn(gp.run_entry)(io.ctypes.data, arena.ctypes.data, runtime.rng.ADDRESS, status.ctypes.data) == 0
        return outs

    mx.random.seed(99)
    first, second = run(), run()
    mx.random.seed(99)
    again = run()
    np.testing.assert_array_equal(first[0], again[0])
    np.testing.assert_array_equal(first[1], again[1])
    assert not np.array_equal(first[0], second[0]) and not np.array_equal(first[1], second[1])
    assert ((first[0] - xin) >= 0).all() and ((first[0] - xin) < 1).all()
    # the graph and the imperative path share one generator and one sequence of call numbers
    mx.random.seed(99)
    np.testing.assert_allclose(mx.nd.random.uniform(shape=(6,), dtype="float64").asnumpy() + xin, first[0],
                               rtol=0, atol=1e-15)


# ---- multinomial ------------------------------------------------------------------------------------------
def test_multinomial_frequencies_and_log_probs():
    mx.random.seed(51)
    probs = np.array([[0.0, 0.1, 0.2, 0.3, 0.4], [0.4, 0.3, 0.2, 0.1, 0.0]])
    s, logp = mx.nd.random.multinomial(mx.nd.array(probs), shape=(50_000,), get_prob=True)
    assert s.shape == (2, 50_000) and s.dtype == np.int32 and logp.dtype == np.float32
    s, logp = s.asnumpy(), logp.asnumpy()
    for row in range(2):
        counts = np.bincount(s[row], minlength=5)
        assert counts[probs[row] == 0].sum() == 0  # impossible outcomes never drawn
        nz = probs[row] > 0
        stat, limit = chi_square_ok(counts[nz], probs[row][nz])
        assert stat < limit
        np.testing.assert_allclose(logp[row], np.log(probs[row][s[row]]), rtol=1e-6)
    one = mx.nd.random.multinomial(mx.nd.array(probs))
    assert one.shape == (2,)
    f = mx.nd.sample_multinomial(mx.nd.array([0.5, 0.5], dtype="float64"), shape=(3, 4), dtype="float32")
    assert f.shape == (3, 4) and f.dtype == np.float32 and set(np.unique(f.asnumpy())) <= {0.0, 1.0}


def test_multinomial_unnormalised_and_bad_probabilities():
    mx.random.seed(52)
    s = mx.nd.random.multinomial(mx.nd.array([2.0, 6.0]), shape=(40_000,)).asnumpy()  # scaled by the sum
    assert abs(np.mean(s == 1) - 0.75) < 0.01
    with pytest.raises(mx.MXNetError, match="each must be finite and >= 0"):
        mx.nd.random.multinomial(mx.nd.array([0.5, -0.5])).asnumpy()
    with pytest.raises(mx.MXNetError, match="sums to 0"):
        mx.nd.random.multinomial(mx.nd.array([[0.0, 0.0]])).asnumpy()
    with pytest.raises(TypeError, match="float type"):
        mx.nd.random.multinomial(mx.nd.array([1, 2], dtype="int32"))
