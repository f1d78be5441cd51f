"""dot, batch_dot and matmul against NumPy float64 references."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mxcc as mx
from mxcc.ir.errors import MXNetError, ShapeError

FLOATS = ("float32", "float64", "float16")
INTS = ("int8", "uint8", "int32", "int64")
EPS = {"float32": 2.0 ** -23, "float64": 2.0 ** -52, "float16": 2.0 ** -10}


def _rand(rng, shape, dtype):
    if dtype in INTS:
        lo, hi = (0, 6) if dtype == "uint8" else (-5, 6)
        return rng.integers(lo, hi, size=shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def _check(got, a, b, ref_fn, dtype, k):
    """got vs ref_fn on float64 copies: floats within a bound that scales with sqrt(K); integers exact
    (with the result wrapped to the dtype, as NumPy's integer matmul does)."""
    got = np.asarray(got)
    assert got.dtype == np.dtype(dtype)
    if dtype in INTS:
        ref = ref_fn(a.astype(np.int64), b.astype(np.int64)).astype(dtype)
        np.testing.assert_array_equal(got, ref)
        return
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    ref = ref_fn(a64, b64)
    scale = ref_fn(np.abs(a64), np.abs(b64))  # |a| . |b|: the natural error scale of a dot product
    assert got.shape == ref.shape
    eps = EPS[dtype]
    # float16 results are rounded to float16 at the end (products accumulate in float)
    tol = (4 * eps * math.sqrt(max(k, 1)) if dtype != "float16" else 2 * eps + 1e-6 * math.sqrt(max(k, 1))) * scale
    err = np.abs(got.astype(np.float64) - ref)
    assert np.all(err <= tol + 1e-300), f"max error {err.max()} (tolerance {tol.max()})"


def ref_dot(a, b, ta=False, tb=False):
    """MXNet's dot in NumPy: transposes act on the operand flattened to 2-D."""
    if a.ndim == 1 and b.ndim == 1:
        return np.array([a @ b])
    a2 = a.reshape(a.shape[0], math.prod(a.shape[1:])).T if ta else a.reshape(math.prod(a.shape[:-1]), a.shape[-1])
    b2 = b.reshape(math.prod(b.shape[:-1]), b.shape[-1]).T if tb else b.reshape(b.shape[0], math.prod(b.shape[1:]))
    lpart = (a.shape[1:] if ta else a.shape[:-1]) if a.ndim > 1 else ()
    rpart = (b.shape[:-1] if tb else b.shape[1:]) if b.ndim > 1 else ()
    return (a2 @ b2).reshape(lpart + rpart)


def ref_batch_dot(a, b, ta=False, tb=False):
    a = np.swapaxes(a, -1, -2) if ta else a
    b = np.swapaxes(b, -1, -2) if tb else b
    return a @ b


def _operands(m, n, k, ta, tb):
    return ((k, m) if ta else (m, k)), ((n, k) if tb else (k, n))


def _dot(a, b, dtype, **kw):
    return mx.nd.dot(mx.nd.array(a, dtype=dtype), mx.nd.array(b, dtype=dtype), **kw).asnumpy()


# ---- dot: 2-D ---------------------------------------------------------------------------------
dims = st.integers(0, 40) | st.sampled_from([1, 2, 13, 14, 15, 31, 32, 33, 47])


@settings(max_examples=60, deadline=None)
@given(m=dims, n=dims, k=dims, ta=st.booleans(), tb=st.booleans(), dtype=st.sampled_from(("float32", "float64")),
       seed=st.integers(0, 2 ** 16))
def test_dot_2d(m, n, k, ta, tb, dtype, seed):
    rng = np.random.default_rng(seed)
    sa, sb = _operands(m, n, k, ta, tb)
    a, b = _rand(rng, sa, dtype), _rand(rng, sb, dtype)
    got = _dot(a, b, dtype, transpose_a=ta, transpose_b=tb)
    _check(got, a, b, lambda x, y: ref_dot(x, y, ta, tb), dtype, k)


@pytest.mark.parametrize("ta", [False, True])
@pytest.mark.parametrize("tb", [False, True])
@pytest.mark.parametrize("dtype,m,n,k", [
    ("float32", 45, 401, 777),   # several K blocks, two N blocks, edge tiles
    ("float64", 29, 390, 401),
    ("float32", 2030, 33, 9),    # more rows than one A panel
])
def test_dot_blocking(ta, tb, dtype, m, n, k):
    rng = np.random.default_rng(m + n + k)
    sa, sb = _operands(m, n, k, ta, tb)
    a, b = _rand(rng, sa, dtype), _rand(rng, sb, dtype)
    _check(_dot(a, b, dtype, transpose_a=ta, transpose_b=tb), a, b, lambda x, y: ref_dot(x, y, ta, tb), dtype, k)


@pytest.mark.parametrize("ta", [False, True])
@pytest.mark.parametrize("tb", [False, True])
@pytest.mark.parametrize("dtype,bs,m,n,k", [
    ("float32", 1, 16, 1000, 70),   # one row panel: the threads split the columns
    ("float16", 2, 9, 700, 90),
    ("float64", 1, 300, 20, 200),   # the threads split the rows
    ("int32", 1, 200, 40, 450),
])
def test_parallel_splits(ta, tb, dtype, bs, m, n, k):
    rng = np.random.default_rng(m * n)
    sa, sb = _operands(m, n, k, ta, tb)
    a, b = _rand(rng, (bs, *sa), dtype), _rand(rng, (bs, *sb), dtype)
    got = mx.nd.batch_dot(mx.nd.array(a, dtype=dtype), mx.nd.array(b, dtype=dtype),
                          transpose_a=ta, transpose_b=tb).asnumpy()
    _check(got, a, b, lambda x, y: ref_batch_dot(x, y, ta, tb), dtype, k)


@pytest.mark.parametrize("dtype", FLOATS + INTS)
@pytest.mark.parametrize("m,n,k", [(7, 9, 5), (33, 70, 400), (1, 17, 300), (17, 1, 300), (6, 5, 0)])
def test_dot_dtypes(dtype, m, n, k):
    rng = np.random.default_rng(k)
    a, b = _rand(rng, (m, k), dtype), _rand(rng, (k, n), dtype)
    _check(_dot(a, b, dtype), a, b, ref_dot, dtype, k)


@pytest.mark.parametrize("dtype", INTS)
def test_dot_integer_overflow_wraps(dtype):
    big = {"int8": 100, "uint8": 200, "int32": 2 ** 30, "int64": 2 ** 62}[dtype]
    a = np.full((3, 4), big, dtype=dtype)
    b = np.full((4, 2), 3 if dtype != "uint8" else 2, dtype=dtype)
    got = _dot(a, b, dtype)
    with np.errstate(over="ignore"):
        np.testing.assert_array_equal(got, a @ b)


@pytest.mark.parametrize("ta", [False, True])
@pytest.mark.parametrize("tb", [False, True])
def test_dot_gemv_transposes(ta, tb):
    """Matrix-vector products take the unpacked path; every layout of both sides."""
    rng = np.random.default_rng(3)
    for m, n, k in [(1, 300, 70), (300, 1, 70), (1, 1, 1000), (2100, 1, 3), (1, 2100, 3)]:
        sa, sb = _operands(m, n, k, ta, tb)
        a, b = _rand(rng, sa, "float32"), _rand(rng, sb, "float32")
        _check(_dot(a, b, "float32", transpose_a=ta, transpose_b=tb), a, b,
               lambda x, y: ref_dot(x, y, ta, tb), "float32", k)


# ---- dot: 1-D and N-D ---------------------------------------------------------------------------
@pytest.mark.parametrize("sa,sb,ta,tb,out", [
    ((5,), (5,), False, False, (1,)),
    ((7,), (7, 3), False, False, (3,)),
    ((7,), (7, 3), True, False, (3,)),
    ((4, 7), (7,), False, False, (4,)),
    ((4, 7), (3, 7), False, True, (4, 3)),
    ((7, 4), (7,), True, False, (4,)),
    ((2, 3, 4), (4, 5), False, False, (2, 3, 5)),
    ((2, 3, 4), (4, 5, 6), False, False, (2, 3, 5, 6)),
    ((2, 3, 4), (2, 5, 6), True, False, (3, 4, 5, 6)),
    ((2, 3, 4), (5, 6, 4), False, True, (2, 3, 5, 6)),
    ((2, 3, 4), (5, 6, 2), True, True, (3, 4, 5, 6)),
    ((6, 2), (3, 4, 6), True, True, (2, 3, 4)),
    ((1, 1), (1, 1), False, False, (1, 1)),
    ((0, 3), (3, 4), False, False, (0, 4)),
    ((3, 0), (0, 4), False, False, (3, 4)),
    ((0,), (0,), False, False, (1,)),
])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_dot_nd(sa, sb, ta, tb, out, dtype):
    rng = np.random.default_rng(1)
    a, b = _rand(rng, sa, dtype), _rand(rng, sb, dtype)
    got = _dot(a, b, dtype, transpose_a=ta, transpose_b=tb)
    assert got.shape == out
    k = sa[0] if ta else sa[-1]
    _check(got, a, b, lambda x, y: ref_dot(x, y, ta, tb), dtype, k)


@settings(max_examples=40, deadline=None)
@given(lead=st.lists(st.integers(1, 4), min_size=0, max_size=2), trail=st.lists(st.integers(1, 4), min_size=0,
       max_size=2), k=st.integers(1, 20), ta=st.booleans(), tb=st.booleans(), seed=st.integers(0, 2 ** 16))
def test_dot_nd_hypothesis(lead, trail, k, ta, tb, seed):
    """lhs (lead..., K) or, transposed, (K, lead...); rhs (K, trail...) or, transposed, (trail..., K)."""
    sa = (k, *lead) if ta else (*lead, k)
    sb = (*trail, k) if tb else (k, *trail)
    if len(sa) == 1 and len(sb) == 1:
        ta = tb = False
    rng = np.random.default_rng(seed)
    a, b = _rand(rng, sa, "float32"), _rand(rng, sb, "float32")
    got = _dot(a, b, "float32", transpose_a=ta, transpose_b=tb)
    _check(got, a, b, lambda x, y: ref_dot(x, y, ta, tb), "float32", k)


def test_dot_method_and_kwargs():
    rng = np.random.default_rng(2)
    a, b = _rand(rng, (3, 4), "float32"), _rand(rng, (3, 5), "float32")
    A, B = mx.nd.array(a), mx.nd.array(b)
    _check(A.dot(B, transpose_a=True).asnumpy(), a, b, lambda x, y: x.T @ y, "float32", 3)
    _check(mx.nd.dot(lhs=A, rhs=B, transpose_a="True", forward_stype="default").asnumpy(), a, b,
           lambda x, y: x.T @ y, "float32", 3)


def test_dot_errors():
    a, b = mx.nd.ones((2, 3)), mx.nd.ones((4, 5))
    with pytest.raises(ShapeError, match=r"dot.*\(2, 3\).*\(4, 5\)"):
        mx.nd.dot(a, b)
    with pytest.raises(ShapeError, match=r"\(2, 3\).*\(4, 3\)"):
        mx.nd.dot(a, mx.nd.ones((4, 3)), transpose_a=True, transpose_b=True)
    with pytest.raises(ShapeError, match="cannot transpose vectors"):
        mx.nd.dot(mx.nd.ones((3,)), mx.nd.ones((3,)), transpose_a=True)
    with pytest.raises(ShapeError, match=r"\(3,\).*\(4,\)"):
        mx.nd.dot(mx.nd.ones((3,)), mx.nd.ones((4,)))
    with pytest.raises(TypeError, match="float32 and float64"):
        mx.nd.dot(a, mx.nd.ones((3, 2), dtype="float64"))
    with pytest.raises(MXNetError, match="forward_stype"):
        mx.nd.dot(a, mx.nd.ones((3, 2)), forward_stype="csr")
    with pytest.raises(ValueError, match="forward_stype"):
        mx.nd.dot(a, mx.nd.ones((3, 2)), forward_stype="dense")
    with pytest.raises(ShapeError, match="0-d"):
        mx.nd.dot(mx.nd.array(np.float32(2)), a)


# ---- batch_dot ----------------------------------------------------------------------------------
bdims = st.integers(0, 20) | st.sampled_from([1, 14, 15, 33])


@settings(max_examples=50, deadline=None)
@given(bs=st.integers(0, 5), m=bdims, n=bdims, k=bdims, ta=st.booleans(), tb=st.booleans(),
       dtype=st.sampled_from(("float32", "float64")), seed=st.integers(0, 2 ** 16))
def test_batch_dot(bs, m, n, k, ta, tb, dtype, seed):
    rng = np.random.default_rng(seed)
    sa, sb = _operands(m, n, k, ta, tb)
    a, b = _rand(rng, (bs, *sa), dtype), _rand(rng, (bs, *sb), dtype)
    got = mx.nd.batch_dot(mx.nd.array(a, dtype=dtype), mx.nd.array(b, dtype=dtype),
                          transpose_a=ta, transpose_b=tb).asnumpy()
    assert got.shape == (bs, m, n)
    _check(got, a, b, lambda x, y: ref_batch_dot(x, y, ta, tb), dtype, k)


@pytest.mark.parametrize("shape_a,shape_b,dtype", [
    ((300, 8, 8), (300, 8, 8), "float32"),      # many small products: the batch runs in parallel
    ((3, 130, 70), (3, 70, 150), "float32"),    # few large ones: parallel inside each
    ((2, 3, 5, 6), (2, 3, 6, 4), "float64"),    # N-D batch
    ((64, 5, 7), (64, 7, 3), "float16"),
    ((40, 6, 9), (40, 9, 5), "int32"),
    ((40, 6, 9), (40, 9, 5), "int8"),
])
def test_batch_dot_shapes(shape_a, shape_b, dtype):
    rng = np.random.default_rng(7)
    a, b = _rand(rng, shape_a, dtype), _rand(rng, shape_b, dtype)
    got = mx.nd.batch_dot(mx.nd.array(a, dtype=dtype), mx.nd.array(b, dtype=dtype)).asnumpy()
    _check(got, a, b, ref_batch_dot, dtype, shape_a[-1])


def test_batch_dot_errors():
    with pytest.raises(ShapeError, match=r"batch_dot.*\(2, 3, 4\).*\(1, 4, 6\)"):
        mx.nd.batch_dot(mx.nd.ones((2, 3, 4)), mx.nd.ones((1, 4, 6)))
    with pytest.raises(ShapeError, match=r"batch_dot.*\(2, 3, 4\).*\(2, 5, 6\)"):
        mx.nd.batch_dot(mx.nd.ones((2, 3, 4)), mx.nd.ones((2, 5, 6)))
    with pytest.raises(ShapeError, match="rank >= 3"):
        mx.nd.batch_dot(mx.nd.ones((3, 4)), mx.nd.ones((4, 6)))
    with pytest.raises(ShapeError, match="rank >= 3"):
        mx.nd.batch_dot(mx.nd.ones((2, 3, 4)), mx.nd.ones((1, 2, 4, 6)))
    with pytest.raises(TypeError, match="dtype"):
        mx.nd.batch_dot(mx.nd.ones((2, 3, 4)), mx.nd.ones((2, 4, 6), dtype="float16"))


# ---- matmul (NumPy semantics) -------------------------------------------------------------------
@settings(max_examples=50, deadline=None)
@given(ba=st.lists(st.integers(1, 3), max_size=3), bb=st.lists(st.integers(1, 3), max_size=3),
       m=st.integers(0, 17), n=st.integers(0, 17), k=st.integers(0, 17), va=st.booleans(), vb=st.booleans(),
       seed=st.integers(0, 2 ** 16))
def test_matmul(ba, bb, m, n, k, va, vb, seed):
    # broadcastable batch dims: where the two differ, one of them is 1
    nb = min(len(ba), len(bb))
    for i in range(1, nb + 1):
        if ba[-i] != bb[-i] and 1 not in (ba[-i], bb[-i]):
            bb[-i] = 1
    sa = (k,) if va else (*ba, m, k)
    sb = (k,) if vb else (*bb, k, n)
    rng = np.random.default_rng(seed)
    a, b = _rand(rng, sa, "float32"), _rand(rng, sb, "float32")
    got = mx.nd.matmul(mx.nd.array(a), mx.nd.array(b)).asnumpy()
    assert got.shape == np.matmul(a, b).shape
    _check(got, a, b, np.matmul, "float32", k)


@pytest.mark.parametrize("sa,sb", [
    ((100, 64), (3, 64, 90)),         # lhs broadcast over the batch (stride 0)
    ((2, 1, 50, 40), (1, 3, 40, 60)),  # both broadcast
    ((5, 70, 33), (33,)),              # batched matrix . vector
    ((33,), (4, 33, 20)),
])
def test_matmul_broadcast_large(sa, sb):
    rng = np.random.default_rng(5)
    a, b = _rand(rng, sa, "float32"), _rand(rng, sb, "float32")
    _check(mx.nd.matmul(mx.nd.array(a), mx.nd.array(b)).asnumpy(), a, b, np.matmul, "float32", sa[-1])


def test_matmul_errors():
    with pytest.raises(ShapeError, match=r"matmul.*\(2, 3\).*\(4, 5\)"):
        mx.nd.matmul(mx.nd.ones((2, 3)), mx.nd.ones((4, 5)))
    with pytest.raises(ShapeError, match=r"matmul.*broadcast"):
        mx.nd.matmul(mx.nd.ones((2, 2, 3)), mx.nd.ones((3, 3, 5)))
