"""mx.nd.linalg against numpy.linalg (float64 references): MXNet's documented examples, batched
shapes with hypothesis, both dtypes, blocked sizes, flags, errors, and gradients with flags."""
import numpy as np
import pytest
from gradcheck import check_grad
from hypothesis import given, settings
from hypothesis import strategies as st

import mxcc as mx
from mxcc.ir.errors import MXNetError, ShapeError

L = mx.nd.linalg
DTYPES = ("float32", "float64")
TOL = {"float32": 2e-4, "float64": 1e-10}
batches = st.sampled_from([(), (1,), (3,), (2, 2)])
sizes = st.integers(1, 9)


def nd(x, dtype="float64"):
    return mx.nd.array(np.asarray(x), dtype=dtype)


def close(got, want, dtype, scale=1.0):
    got = got.asnumpy() if hasattr(got, "asnumpy") else got
    np.testing.assert_allclose(got.astype(np.float64), want, rtol=TOL[dtype] * scale, atol=TOL[dtype] * scale)


def T(x):
    return np.swapaxes(x, -1, -2)


def spd(rng, shape, n):
    x = rng.standard_normal(shape + (n, n))
    return x @ T(x) + n * np.eye(n)


def dominant(rng, shape, n):
    return rng.standard_normal(shape + (n, n)) + 2 * np.sqrt(n) * np.eye(n)


# ---- MXNet's documented examples --------------------------------------------------------------
def test_documented_examples():
    close(L.gemm(nd([[1.0, 1.0], [1.0, 1.0]]), nd([[1.0, 1.0]] * 3), nd([[1.0] * 3] * 2), transpose_b=True,
                 alpha=2.0, beta=10.0), np.full((2, 3), 14.0), "float64")
    close(L.gemm2(nd([[[1.0, 1.0]], [[0.1, 0.1]]]), nd([[[1.0, 1.0]], [[0.1, 0.1]]]), transpose_b=True, alpha=2.0),
          [[[4.0]], [[0.04]]], "float64")
    close(L.potrf(nd([[[4.0, 1.0], [1.0, 4.25]], [[16.0, 4.0], [4.0, 17.0]]])),
          [[[2.0, 0], [0.5, 2.0]], [[4.0, 0], [1.0, 4.0]]], "float64")
    close(L.potri(nd([[2.0, 0], [0.5, 2.0]])), [[0.265625, -0.0625], [-0.0625, 0.25]], "float64")
    close(L.trmm(nd([[1.0, 0], [1.0, 1.0]]), nd([[1.0] * 3] * 2), alpha=2.0), [[2.0] * 3, [4.0] * 3], "float64")
    close(L.trsm(nd([[1.0, 0], [1.0, 1.0]]), nd([[2.0] * 3, [4.0] * 3]), alpha=0.5), np.ones((2, 3)), "float64")
    close(L.sumlogdiag(nd([[[1.0, 1.0], [1.0, 7.0]], [[3.0, 0], [0, 17.0]]])), [1.9459101, 3.9318256], "float32")
    a = nd([[1.0, 2.0], [3.0, 4.0]])
    close(L.extractdiag(a), [1.0, 4.0], "float64")
    close(L.extractdiag(a, 1), [2.0], "float64")
    close(L.makediag(nd([1.0, 2.0]), 1), [[0, 1.0, 0], [0, 0, 2.0], [0, 0, 0]], "float64")
    close(L.extracttrian(a), [1.0, 3.0, 4.0], "float64")
    close(L.extracttrian(a, lower=False), [1.0, 2.0, 4.0], "float64")
    close(L.extracttrian(a, 1), [2.0], "float64")
    close(L.extracttrian(a, -1), [3.0], "float64")
    v = nd([1.0, 2.0, 3.0])
    close(L.maketrian(v), [[1.0, 0], [2.0, 3.0]], "float64")
    close(L.maketrian(v, lower=False), [[1.0, 2.0], [0, 3.0]], "float64")
    close(L.maketrian(v, offset=1), [[0, 1.0, 2.0], [0, 0, 3.0], [0, 0, 0]], "float64")
    close(L.maketrian(v, offset=-1), [[0, 0, 0], [1.0, 0, 0], [2.0, 3.0, 0]], "float64")
    close(L.syrk(nd([[1.0, 2, 3], [4, 5, 6]])), [[14.0, 32], [32, 77]], "float64")
    close(L.syrk(nd([[1.0, 2, 3], [4, 5, 6]]), transpose=True), [[17.0, 22, 27], [22, 29, 36], [27, 36, 45]], "float64")
    q, lq = L.gelqf(nd([[1.0, 2, 3], [4, 5, 6]]))
    close(q, [[-0.26726124, -0.53452248, -0.80178373], [0.87287156, 0.21821789, -0.43643578]], "float32")
    close(lq, [[-3.74165739, 0.0], [-8.55235974, 1.96396101]], "float32")
    u, lam = L.syevd(nd([[[1.0, 2], [2, 4]], [[1.0, 2], [2, 5]]]))
    close(u, [[[0.89442719, -0.4472136], [0.4472136, 0.89442719]],
              [[0.92387953, -0.38268343], [0.38268343, 0.92387953]]], "float32")
    close(lam, [[0.0, 5.0], [0.17157288, 5.82842712]], "float32")
    close(L.inverse(nd([[[1.0, 4], [2, 3]], [[1.0, 3], [2, 4]]])),
          [[[-0.6, 0.8], [0.4, -0.2]], [[-2.0, 1.5], [1, -0.5]]], "float64")
    close(L.det(nd([[1.0, 4], [2, 3]])), [-5.0], "float64")
    sing = nd([[[2.0, 3], [1, 4]], [[1.0, 2], [2, 4]], [[1.0, 2], [4, 3]]])
    sign, logabs = L.slogdet(sing)
    np.testing.assert_array_equal(sign.asnumpy(), [1.0, 0.0, -1.0])
    np.testing.assert_allclose(logabs.asnumpy(), [np.log(5), -np.inf, np.log(5)])
    got = L.logdet(sing).asnumpy()
    assert np.isclose(got[0], np.log(5)) and got[1] == -np.inf and np.isnan(got[2])


def test_namespace_and_aliases():
    for name in ("gemm", "gemm2", "potrf", "potri", "trsm", "trmm", "syrk", "gelqf", "syevd", "inverse", "det",
                 "slogdet", "logdet", "sumlogdiag", "extractdiag", "makediag", "extracttrian", "maketrian"):
        assert callable(getattr(L, name)), name
    a = nd(np.eye(2) * 4)
    close(mx.nd.linalg_potrf(a), np.eye(2) * 2, "float64")
    close(mx.nd.linalg_gemm2(a, a, alpha=0.5), np.eye(2) * 8, "float64")
    assert not hasattr(L, "matutil")  # hidden helpers stay internal


# ---- properties against numpy, batched ---------------------------------------------------------
@settings(max_examples=12, deadline=None)
@given(batches, sizes, st.sampled_from(DTYPES), st.booleans())
def test_cholesky_family(batch, n, dtype, lower):
    rng = np.random.default_rng(n)
    a = spd(rng, batch, n)
    chol = np.linalg.cholesky(a)
    want = chol if lower else T(chol)
    close(L.potrf(nd(a, dtype), lower=lower), want, dtype, scale=n)
    close(L.potri(nd(want, dtype), lower=lower), np.linalg.inv(a), dtype, scale=n)
    close(L.sumlogdiag(nd(chol, dtype)), np.log(np.diagonal(chol, axis1=-2, axis2=-1)).sum(-1).reshape(batch or (1,)),
          dtype, scale=n)


@settings(max_examples=12, deadline=None)
@given(batches, sizes, st.sampled_from(DTYPES))
def test_lu_family(batch, n, dtype):
    rng = np.random.default_rng(n + 10)
    a = dominant(rng, batch, n)
    close(L.inverse(nd(a, dtype)), np.linalg.inv(a), dtype, scale=n)
    det = np.linalg.det(a)
    close(L.det(nd(a, dtype)), det.reshape(batch or (1,)), dtype, scale=n * np.abs(det).max())
    sign, logabs = L.slogdet(nd(a, dtype))
    rs, rl = np.linalg.slogdet(a)
    close(sign, rs.reshape(batch or (1,)), dtype)
    close(logabs, rl.reshape(batch or (1,)), dtype, scale=n)


@settings(max_examples=16, deadline=None)
@given(batches, sizes, st.integers(1, 6), st.sampled_from(DTYPES), st.booleans(), st.booleans(), st.booleans())
def test_triangular(batch, k, other, dtype, lower, transpose, rightside):
    rng = np.random.default_rng(k * 7 + other)
    a = dominant(rng, batch, k)
    tri = np.tril(a) if lower else np.triu(a)
    op = T(tri) if transpose else tri
    shape = batch + ((other, k) if rightside else (k, other))
    b = rng.standard_normal(shape)
    prod = b @ op if rightside else op @ b
    close(L.trmm(nd(a, dtype), nd(b, dtype), lower=lower, transpose=transpose, rightside=rightside, alpha=1.5),
          1.5 * prod, dtype, scale=k)
    sol = T(np.linalg.solve(T(op), T(b))) if rightside else np.linalg.solve(op, b)
    close(L.trsm(nd(a, dtype), nd(b, dtype), lower=lower, transpose=transpose, rightside=rightside, alpha=-2.0),
          -2.0 * sol, dtype, scale=k)


@settings(max_examples=12, deadline=None)
@given(batches, sizes, st.integers(1, 7), st.sampled_from(DTYPES), st.booleans())
def test_syrk_and_gemm(batch, m, n, dtype, transpose):
    rng = np.random.default_rng(m * 10 + n)
    a = rng.standard_normal(batch + (m, n))
    close(L.syrk(nd(a, dtype), transpose=transpose, alpha=0.5), 0.5 * (T(a) @ a if transpose else a @ T(a)), dtype,
          scale=n)
    for ta in (False, True):
        for tb in (False, True):
            A = T(a) if ta else a
            b = rng.standard_normal(batch + ((3, n) if tb else (n, 3)))
            c = rng.standard_normal(batch + (m, 3))
            prod = a @ (T(b) if tb else b)
            close(L.gemm2(nd(A, dtype), nd(b, dtype), transpose_a=ta, transpose_b=tb), prod, dtype, scale=n)
            close(L.gemm2(nd(A, dtype), nd(b, dtype), transpose_a=ta, transpose_b=tb, alpha=-3.0), -3 * prod, dtype,
                  scale=3 * n)
            close(L.gemm(nd(A, dtype), nd(b, dtype), nd(c, dtype), transpose_a=ta, transpose_b=tb, alpha=2.0, beta=0.5),
                  2 * prod + 0.5 * c, dtype, scale=2 * n)


@pytest.mark.parametrize("dtype", DTYPES)
def test_gemm_row_axis(dtype):
    """axis=k: rows on axis k, as swapaxes(k, -2) / gemm / swapaxes (MXNet's definition)."""
    rng = np.random.default_rng(3)
    a, b, c = rng.standard_normal((2, 3, 4, 5, 6)), rng.standard_normal((2, 6, 4, 5, 7)), rng.standard_normal(
        (2, 3, 4, 5, 7))
    sw = lambda x: np.swapaxes(x, 1, 3)
    close(L.gemm(nd(a, dtype), nd(b, dtype), nd(c, dtype), alpha=0.5, beta=2.0, axis=1),
          sw(0.5 * sw(a) @ sw(b) + 2 * sw(c)), dtype, scale=6)
    at = np.swapaxes(a, 1, 4)  # (2, 6, 4, 5, 3): op(A) = A^T per (rows on axis 1, cols last)
    close(L.gemm2(nd(at, dtype), nd(b, dtype), transpose_a=True, axis=1), sw(T(sw(at)) @ sw(b)), dtype, scale=6)
    sw0 = lambda x: np.swapaxes(x, 0, 2)  # 4-d: axis=-4 is axis 0
    close(L.gemm2(nd(a[0], dtype), nd(b[0], dtype), axis=-4), sw0(sw0(a[0]) @ sw0(b[0])), dtype, scale=6)


@settings(max_examples=10, deadline=None)
@given(batches, st.integers(1, 6), st.integers(0, 5), st.sampled_from(DTYPES))
def test_gelqf(batch, m, extra, dtype):
    n = m + extra
    rng = np.random.default_rng(m * 6 + extra)
    a = rng.standard_normal(batch + (m, n))
    q, lq = (x.asnumpy().astype(np.float64) for x in L.gelqf(nd(a, dtype)))
    close(lq @ q, a, dtype, scale=n)
    close(q @ T(q), np.broadcast_to(np.eye(m), batch + (m, m)), dtype, scale=n)
    assert np.all(np.triu(lq, 1) == 0)
    # LAPACK's sign convention makes the factors unique: compare with numpy's QR of A^T
    r = np.linalg.qr(T(a))[1]
    np.testing.assert_allclose(np.abs(lq), np.abs(T(r)), rtol=TOL[dtype] * n * 10, atol=TOL[dtype] * n * 10)


@settings(max_examples=10, deadline=None)
@given(batches, sizes, st.sampled_from(DTYPES))
def test_syevd(batch, n, dtype):
    rng = np.random.default_rng(n + 100)
    x = rng.standard_normal(batch + (n, n))
    a = x + T(x)
    u, lam = (y.asnumpy().astype(np.float64) for y in L.syevd(nd(a, dtype)))
    w, v = np.linalg.eigh(a)
    close(lam, w, dtype, scale=10 * n)
    close(u @ a @ T(u), lam[..., None] * np.eye(n), dtype, scale=10 * n)  # U A U^T = diag(L): rows are vectors
    close(u @ T(u), np.broadcast_to(np.eye(n), batch + (n, n)), dtype, scale=10 * n)
    # each row's largest entry is positive (MXNet's sign convention)
    idx = np.abs(u).argmax(-1)
    assert np.all(np.take_along_axis(u, idx[..., None], -1) > 0)


@settings(max_examples=10, deadline=None)
@given(batches, st.integers(1, 6), st.integers(-3, 3), st.booleans(), st.sampled_from(DTYPES))
def test_diag_and_trian(batch, n, offset, lower, dtype):
    rng = np.random.default_rng(n)
    a = rng.standard_normal(batch + (n, n))
    if n - abs(offset) <= 0:
        with pytest.raises(ShapeError, match="offset"):
            L.extractdiag(nd(a, dtype), offset)
        return
    d = np.diagonal(a, offset, axis1=-2, axis2=-1)
    close(L.extractdiag(nd(a, dtype), offset), d, dtype)
    md = np.zeros(batch + (n, n))
    md += np.apply_along_axis(lambda r: np.diag(r, offset), -1, d) if batch else np.diag(d, offset)
    close(L.makediag(nd(d, dtype), offset), md, dtype)
    tri = L.extracttrian(nd(a, dtype), offset, lower)
    k = n - abs(offset)
    assert tri.shape == batch + (k * (k + 1) // 2,)
    if offset < 0 or (offset == 0 and lower):
        mask = np.tril(np.ones((n, n), bool), offset)
        want = a[..., mask]  # row by row
    else:
        mask = np.triu(np.ones((n, n), bool), offset)
        want = np.swapaxes(a, -1, -2)[..., mask.T]  # the upper triangle column by column
    close(tri, want, dtype)
    close(L.maketrian(tri, offset, lower), np.where(mask, a, 0), dtype)


# ---- blocked sizes: several blocks, tiles and threads ----------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
def test_blocked_sizes(dtype):
    rng = np.random.default_rng(5)
    n = 403  # several blocks, tiles and column slabs; the large products run across threads
    a = spd(rng, (), n)
    scale = 50 if dtype == "float32" else 1
    close(L.potrf(nd(a, dtype)), np.linalg.cholesky(a), dtype, scale=scale * 10)
    g = dominant(rng, (1,), n)
    close(L.inverse(nd(g, dtype)), np.linalg.inv(g), dtype, scale=scale * 10)
    sign, logabs = L.slogdet(nd(g, dtype))
    rs, rl = np.linalg.slogdet(g)
    close(sign, rs, dtype)
    close(logabs, rl, dtype, scale=scale * 100)
    b = rng.standard_normal((n, 300))
    close(L.trsm(nd(g[0], dtype), nd(b, dtype)), np.linalg.solve(np.tril(g[0]), b), dtype, scale=scale * 10)
    close(L.trsm(nd(g[0], dtype), nd(b.T, dtype), rightside=True, lower=False), b.T @ np.linalg.inv(np.triu(g[0])),
          dtype, scale=scale * 10)
    close(L.potri(nd(np.linalg.cholesky(a), dtype)), np.linalg.inv(a), dtype, scale=scale * 10)
    close(L.syrk(nd(b, dtype)), b @ b.T, dtype, scale=scale * 100)
    close(L.gemm2(nd(b, dtype), nd(b, dtype), transpose_b=True, alpha=0.5), 0.5 * b @ b.T, dtype, scale=scale * 100)


# ---- errors ----------------------------------------------------------------------------------
def test_not_positive_definite_names_the_matrix():
    a = np.stack([np.eye(3) * 4, np.array([[1.0, 2, 0], [2, 1, 0], [0, 0, 1]])]).reshape(1, 2, 3, 3)
    with pytest.raises(MXNetError, match=r"potrf.*\[0, 1\].*not positive definite"):
        L.potrf(nd(a)).asnumpy()
    with pytest.raises(MXNetError, match="not positive definite"):
        L.potrf(nd(np.full((2, 2), np.nan), "float32")).asnumpy()


def test_singular_inverse_raises_and_determinants_are_zero():
    s = np.array([[[1.0, 2], [2, 4]], [[2.0, 0], [0, 3]]])
    with pytest.raises(MXNetError, match=r"inverse.*\[0\].*singular"):
        L.inverse(nd(s)).asnumpy()
    with pytest.raises(MXNetError, match="singular"):
        L.potri(nd([[1.0, 0], [2, 0]])).asnumpy()
    close(L.det(nd(s)), [0.0, 6.0], "float64")
    sign, logabs = L.slogdet(nd(s))
    assert sign.asnumpy()[0] == 0 and logabs.asnumpy()[0] == -np.inf


def test_bad_inputs():
    with pytest.raises(TypeError, match="float32 and float64"):
        L.potrf(mx.nd.array(np.eye(2), dtype="int32"))
    with pytest.raises(ShapeError, match="square"):
        L.inverse(nd(np.ones((2, 3))))
    with pytest.raises(ShapeError, match="at least 2 dimensions"):
        L.det(nd(np.ones(3)))
    with pytest.raises(ShapeError, match="incompatible"):
        L.gemm2(nd(np.ones((2, 3))), nd(np.ones((2, 3))))
    with pytest.raises(ShapeError, match="C has shape"):
        L.gemm(nd(np.ones((2, 3))), nd(np.ones((3, 2))), nd(np.ones((3, 3))))
    with pytest.raises(ShapeError, match="row axis"):
        L.gemm2(nd(np.ones((2, 3))), nd(np.ones((3, 2))), axis=1)
    with pytest.raises(ShapeError, match="incompatible"):
        L.trsm(nd(np.eye(3)), nd(np.ones((2, 4))))
    with pytest.raises(ShapeError, match="at most as many rows"):
        L.gelqf(nd(np.ones((3, 2))))
    with pytest.raises(ShapeError, match="triangle"):
        L.maketrian(nd(np.ones(4)))
    with pytest.raises(TypeError, match="one dtype"):
        L.gemm2(nd(np.ones((2, 2))), nd(np.ones((2, 2)), "float32"))


# ---- gradients with non-default flags (tests/test_autodiff.py checks each op's sample) ---------
@pytest.mark.parametrize("lower", [True, False])
def test_cholesky_gradients(lower):
    rng = np.random.default_rng(0)
    a = spd(rng, (2,), 3)
    check_grad("_linalg_potrf", [a], {"lower": lower})
    check_grad("_linalg_potri", [np.linalg.cholesky(a) if lower else T(np.linalg.cholesky(a))], {"lower": lower})


@pytest.mark.parametrize("transpose,rightside,lower", [(False, False, True), (True, False, False), (False, True, True),
                                                       (True, True, False)])
def test_triangular_gradients(transpose, rightside, lower):
    rng = np.random.default_rng(1)
    a = dominant(rng, (2,), 3)
    b = rng.standard_normal((2, 4, 3) if rightside else (2, 3, 4))
    attrs = {"transpose": transpose, "rightside": rightside, "lower": lower, "alpha": 1.5}
    check_grad("_linalg_trsm", [a, b], attrs)
    check_grad("_linalg_trmm", [a, b], attrs)


def test_gemm_gradients_with_row_axis():
    rng = np.random.default_rng(2)
    a, b, c = rng.standard_normal((2, 3, 2, 4)), rng.standard_normal((2, 3, 2, 5)), rng.standard_normal((2, 4, 2, 5))
    check_grad("_linalg_gemm", [a, b, c], {"transpose_a": True, "axis": 1, "alpha": 0.5, "beta": -1.0})
    check_grad("_linalg_gemm2", [b, a], {"transpose_a": True, "axis": 1})
    check_grad("_linalg_syrk", [a[0, 0]], {"alpha": 2.0})


def test_gradients_through_the_tape():
    """mx.autograd over a chain of linalg ops (a Gaussian log-likelihood's pieces)."""
    if not hasattr(mx, "autograd"):
        pytest.skip("mx.autograd not built")
    rng = np.random.default_rng(4)
    x0 = rng.standard_normal((3, 3))
    x = nd(x0)
    x.attach_grad()
    with mx.autograd.record():
        a = L.syrk(x) + nd(np.eye(3))
        y = L.sumlogdiag(L.potrf(a)) * 2  # log det(x x^T + I)
    y.backward()
    s = x0 @ x0.T + np.eye(3)
    np.testing.assert_allclose(x.grad.asnumpy(), 2 * np.linalg.inv(s) @ x0, rtol=1e-8)
