"""mx.nd.linalg (MXNet 1.x `_linalg_*` operators): gemm, gemm2, potrf, potri, trmm, trsm, syrk,
gelqf, syevd, inverse, det, logdet, slogdet, sumlogdiag, extractdiag, makediag, extracttrian,
maketrian. float32 and float64, batched over the leading dimensions.

All lower to the `linalg` kernel family (codegen/families/linalg.py); gemm and gemm2 with the
row axis second to last run the `gemm` family's kernel plus an elementwise alpha/beta epilogue.
Gradients follow MXNet's la_op-inl.h, written with these same ops.

Behaviour where MXNet defers to LAPACK: potrf of a matrix that is not positive definite, and
inverse of an exactly singular matrix (or potri of a factor with a zero on its diagonal), raise
MXNetError naming the matrix of the batch; det/slogdet of a singular matrix give 0 / (0, -inf).
potrf and syevd use the symmetric part (A + A^T) / 2 of their input, which is A itself for the
symmetric input they are defined for (LAPACK reads one triangle): the forward pass is then a
function of that symmetric part, so MXNet's symmetric gradients are its exact derivatives.
"""
from __future__ import annotations

import math

from ..attrs import Attr
from ..registry import Lowering, OpDef, ShapeError, register
from ..types import TensorType
from ._shape import contiguous_strides, fmt

_FLOATS = ("float32", "float64")


# ---- shared checks ----------------------------------------------------------------------------
def _dtype(op, in_types):
    for t in in_types:
        if t.dtype not in _FLOATS:
            raise TypeError(f"{op}: the operator supports float32 and float64 only, got {t.dtype}")
    if len({t.dtype for t in in_types}) > 1:
        raise TypeError(f"{op}: inputs must share one dtype, got {', '.join(t.dtype for t in in_types)}")
    return in_types[0].dtype


def _matrices(op, t, name="A", square=False):
    s = t.shape
    if len(s) < 2:
        raise ShapeError(f"{op}: input {name} must have at least 2 dimensions (a matrix or a batch of "
                         f"matrices in its last two), got shape {fmt(s)}")
    if square and s[-1] != s[-2]:
        raise ShapeError(f"{op}: input {name} must be a (batch of) square matrices, got shape {fmt(s)}")
    return s


def _lowering(kind, dtype, op, batch_shape, errors=(1,), what=None, **args) -> Lowering:
    batch_shape = tuple(batch_shape)
    return Lowering("linalg", {"kind": kind, "dtype": dtype},
                    {"op": op, "batch_shape": batch_shape, "batch": math.prod(batch_shape), "error_kinds": errors,
                     "error_text": what, **args})


def _unary(op, kind, infer_out, lower_args=lambda s, a: {}, errors=(1,), what=None):
    """infer/lower for ops over one (batch of) square matrices."""
    def infer(in_types, attrs):
        dt = _dtype(op, in_types)
        s = _matrices(op, in_types[0], square=True)
        return [TensorType(shape, dt) for shape in infer_out(s)]

    def lower(in_types, out_types, attrs):
        s = in_types[0].shape
        return _lowering(kind, in_types[0].dtype, op, s[:-2], errors, what, n=s[-1], **lower_args(s, attrs))

    return infer, lower


def _det_shape(s):
    return s[:-2] if len(s) > 2 else (1,)


def _b(attrs, k):
    return int(bool(attrs[k]))


# ---- gemm, gemm2 ------------------------------------------------------------------------------
def _gemm_dims(op, in_types, attrs):
    A, B = in_types[0].shape, in_types[1].shape
    if len(A) < 2 or len(A) != len(B):
        raise ShapeError(f"{op}: A and B must have the same number of dimensions (at least 2), got A {fmt(A)} "
                         f"and B {fmt(B)}")
    nd, ax = len(A), attrs["axis"]
    axis = ax + nd if ax < 0 else ax
    if not 0 <= axis < nd - 1:
        raise ShapeError(f"{op}: invalid row axis {ax} for {nd}-d inputs (the last axis holds the columns)")
    for i in range(nd - 1):
        if i != axis and A[i] != B[i]:
            raise ShapeError(f"{op}: shapes of A {fmt(A)} and B {fmt(B)} must be the same except on the row "
                             f"axis {axis} and the column axis")
    ta, tb = attrs["transpose_a"], attrs["transpose_b"]
    ka, kb = (A[axis] if ta else A[-1]), (B[-1] if tb else B[axis])
    if ka != kb:
        raise ShapeError(f"{op}: incompatible matrix dimensions for multiplication: A {fmt(A)} (transpose_a={ta}) "
                         f"and B {fmt(B)} (transpose_b={tb}) contract {ka} with {kb}")
    out = list(A)
    out[axis] = A[-1] if ta else A[axis]
    out[-1] = B[axis] if tb else B[-1]
    return tuple(out), axis, ka


def _gemm_infer(op, with_c):
    def infer(in_types, attrs):
        dt = _dtype(op, in_types)
        out, _, _ = _gemm_dims(op, in_types, attrs)
        if with_c and in_types[2].shape != out:
            raise ShapeError(f"{op}: C has shape {fmt(in_types[2].shape)}, expected {fmt(out)} (the shape of "
                             f"op(A) op(B))")
        return [TensorType(out, dt)]
    return infer


def _gemm_lower(op, with_c):
    def lower(in_types, out_types, attrs):
        A, B = in_types[0].shape, in_types[1].shape
        out, axis, K = _gemm_dims(op, in_types, attrs)
        ta, tb = bool(attrs["transpose_a"]), bool(attrs["transpose_b"])
        dt, nd = in_types[0].dtype, len(A)
        M, N = out[axis], out[-1]
        alpha, beta = float(attrs["alpha"]), float(attrs["beta"]) if with_c else 0.0
        if axis == nd - 2:  # the gemm family's kernel, then alpha (and beta C) in place
            bshape = tuple(A[:-2])
            st = contiguous_strides(bshape)
            epilogue = "axpby" if with_c else (None if alpha == 1.0 else "scale")
            return Lowering("linalg", {"kind": "gemmf", "dtype": dt, "ta": ta, "tb": tb, "epilogue": epilogue}, {
                "gemm": {"op": op, "M": M, "N": N, "K": K, "batch_shape": bshape,
                         "a_strides": tuple(s * A[-2] * A[-1] for s in st),
                         "b_strides": tuple(s * B[-2] * B[-1] for s in st)},
                "epilogue": {"out_shape": out, "in_shapes": (out, out) if with_c else (out,),
                             "scalars": (alpha, beta) if with_c else (alpha,)}})
        return _lowering("gemm", dt, op, (), outer=math.prod(A[:axis]), inner=math.prod(A[axis + 1:nd - 1]),
                         M=M, N=N, K=K, ta=int(ta), tb=int(tb), alpha=alpha, beta=beta, has_c=int(with_c),
                         in2_index=2 if with_c else 0)
    return lower


def _gemm2_grad(b, node, ogs):
    A, B = node.inputs[:2]
    g, at = ogs[0], node.attrs
    ta, tb = bool(at.get("transpose_a", False)), bool(at.get("transpose_b", False))
    alpha, axis = float(at.get("alpha", 1.0)), at.get("axis", -2)
    kw = {"alpha": alpha, "axis": axis}
    da = (b.op("_linalg_gemm2", B, g, transpose_a=tb, transpose_b=True, **kw) if ta
          else b.op("_linalg_gemm2", g, B, transpose_a=False, transpose_b=not tb, **kw))
    db = (b.op("_linalg_gemm2", g, A, transpose_a=True, transpose_b=ta, **kw) if tb
          else b.op("_linalg_gemm2", A, g, transpose_a=not ta, transpose_b=False, **kw))
    return [da, db]


def _gemm_grad(b, node, ogs):
    da, db = _gemm2_grad(b, node, ogs)
    return [da, db, b.scale(ogs[0], float(node.attrs.get("beta", 1.0)))]


_MULT = {"transpose_a": Attr("bool", False, doc="Multiply with transposed of first input (A)."),
         "transpose_b": Attr("bool", False, doc="Multiply with transposed of second input (B)."),
         "alpha": Attr("float", 1.0, doc="Scalar factor multiplied with A*B.")}
_AXIS = {"axis": Attr("int", -2, doc="Axis corresponding to the matrix rows.")}

register(OpDef("_linalg_gemm", ("A", "B", "C"), _gemm_infer("_linalg_gemm", True), _gemm_lower("_linalg_gemm", True),
               attrs={**_MULT, "beta": Attr("float", 1.0, doc="Scalar factor multiplied with C."), **_AXIS},
               aliases=("linalg_gemm",), grad=_gemm_grad,
               doc="out = alpha * op(A) * op(B) + beta * C on the last two axes (rows on `axis`), batched."))
register(OpDef("_linalg_gemm2", ("A", "B"), _gemm_infer("_linalg_gemm2", False),
               _gemm_lower("_linalg_gemm2", False), attrs={**_MULT, **_AXIS}, aliases=("linalg_gemm2",),
               grad=_gemm2_grad, doc="out = alpha * op(A) * op(B) on the last two axes (rows on `axis`), batched."))


# ---- triangular products and solves -----------------------------------------------------------
_TRI = {"transpose": Attr("bool", False, doc="Use transposed of the triangular matrix"),
        "rightside": Attr("bool", False, doc="Multiply triangular matrix from the right to non-triangular one."),
        "lower": Attr("bool", True, doc="True if the triangular matrix is lower triangular, false if upper."),
        "alpha": Attr("float", 1.0, doc="Scalar factor to be applied to the result.")}


def _tri_infer(op):
    def infer(in_types, attrs):
        dt = _dtype(op, in_types)
        A, B = _matrices(op, in_types[0], square=True), _matrices(op, in_types[1], "B")
        if len(A) != len(B) or A[:-2] != B[:-2]:
            raise ShapeError(f"{op}: A {fmt(A)} and B {fmt(B)} must have the same leading (batch) dimensions")
        k = B[-1] if attrs["rightside"] else B[-2]
        if A[-1] != k:
            side = "columns" if attrs["rightside"] else "rows"
            raise ShapeError(f"{op}: incompatible matrix dimensions: the triangular A {fmt(A)} must match the "
                             f"{side} of B {fmt(B)} (rightside={attrs['rightside']})")
        return [TensorType(B, dt)]
    return infer


def _tri_lower(op, kind):
    def lower(in_types, out_types, attrs):
        B = in_types[1].shape
        return _lowering(kind, in_types[0].dtype, op, B[:-2], m=B[-2], n=B[-1], lower=_b(attrs, "lower"),
                         transpose=_b(attrs, "transpose"), rightside=_b(attrs, "rightside"), alpha=attrs["alpha"])
    return lower


def _tri_attrs(node):
    at = node.attrs
    return (bool(at.get("transpose", False)), bool(at.get("rightside", False)), bool(at.get("lower", True)),
            float(at.get("alpha", 1.0)))


def _mask(b, x, lower):
    return b.op("_linalg_matutil", x, mode=0 if lower else 1)


def _trmm_grad(b, node, ogs):
    A, B = node.inputs
    g = ogs[0]
    tr, right, lower, alpha = _tri_attrs(node)
    if right == tr:
        da = b.op("_linalg_gemm2", g, B, transpose_a=tr, transpose_b=not tr, alpha=alpha)
    else:
        da = b.op("_linalg_gemm2", B, g, transpose_a=not tr, transpose_b=tr, alpha=alpha)
    db = b.op("_linalg_trmm", A, g, transpose=not tr, rightside=right, lower=lower, alpha=alpha)
    return [_mask(b, da, lower), db]


def _trsm_grad(b, node, ogs):
    A, _ = node.inputs
    C, g = node.outputs[0], ogs[0]
    tr, right, lower, alpha = _tri_attrs(node)
    db = b.op("_linalg_trsm", A, g, transpose=not tr, rightside=right, lower=lower, alpha=alpha)
    scale = -1.0 / alpha
    if right == tr:
        da = b.op("_linalg_gemm2", db, C, transpose_a=tr, transpose_b=not tr, alpha=scale)
    else:
        da = b.op("_linalg_gemm2", C, db, transpose_a=not tr, transpose_b=tr, alpha=scale)
    return [_mask(b, da, lower), db]


register(OpDef("_linalg_trmm", ("A", "B"), _tri_infer("_linalg_trmm"), _tri_lower("_linalg_trmm", "trmm"),
               attrs=dict(_TRI), aliases=("linalg_trmm",), grad=_trmm_grad,
               doc="out = alpha * op(A) * B (or alpha * B * op(A) with rightside), A triangular, batched."))
register(OpDef("_linalg_trsm", ("A", "B"), _tri_infer("_linalg_trsm"), _tri_lower("_linalg_trsm", "trsm"),
               attrs=dict(_TRI), aliases=("linalg_trsm",), grad=_trsm_grad,
               doc="Solves op(A) * out = alpha * B (or out * op(A) = alpha * B with rightside), A triangular, "
                   "batched."))


# ---- Cholesky ---------------------------------------------------------------------------------
_LOWER = {"lower": Attr("bool", True, doc="True if the triangular matrix is lower triangular, false if upper.")}


def _potrf_grad(b, node, ogs):
    L, g, lower = node.outputs[0], ogs[0], bool(node.attrs.get("lower", True))
    m = b.op("_linalg_trmm", L, g, rightside=not lower, lower=lower, transpose=True)
    m = b.op("_linalg_matutil", m, mode=2 if lower else 3)
    m = b.op("_linalg_trsm", L, m, rightside=False, lower=lower, transpose=lower)
    return [b.op("_linalg_trsm", L, m, rightside=True, lower=lower, transpose=not lower, alpha=0.5)]


def _potri_grad(b, node, ogs):
    L, out, lower = node.inputs[0], node.outputs[0], bool(node.attrs.get("lower", True))
    s = b.op("_linalg_matutil", ogs[0], mode=4)
    p = b.op("_linalg_gemm2", out, s) if lower else b.op("_linalg_gemm2", s, out)
    d = b.op("_linalg_trsm", L, p, rightside=lower, lower=lower, transpose=True, alpha=-1.0)
    return [_mask(b, d, lower)]


_i, _l = _unary("_linalg_potrf", "potrf", lambda s: [s], lambda s, a: {"lower": _b(a, "lower")}, errors=(1, 2))
register(OpDef("_linalg_potrf", ("A",), _i, _l, attrs=dict(_LOWER), aliases=("linalg_potrf",), grad=_potrf_grad,
               doc="Cholesky factor of a symmetric positive-definite matrix: A = B B^T (lower) or B^T B, batched. "
                   "A matrix that is not positive definite raises MXNetError."))
_i, _l = _unary("_linalg_potri", "potri", lambda s: [s], lambda s, a: {"lower": _b(a, "lower")}, errors=(1, 3),
                what={3: "has a zero on its diagonal (the factored matrix is singular)"})
register(OpDef("_linalg_potri", ("A",), _i, _l, attrs=dict(_LOWER), aliases=("linalg_potri",), grad=_potri_grad,
               doc="Inverse from a Cholesky factor: out = A^-T A^-1 (lower) or A^-1 A^-T, batched."))


# ---- syrk -------------------------------------------------------------------------------------
def _syrk_infer(in_types, attrs):
    dt = _dtype("_linalg_syrk", in_types)
    s = _matrices("_linalg_syrk", in_types[0])
    k = s[-1] if attrs["transpose"] else s[-2]
    return [TensorType(s[:-2] + (k, k), dt)]


def _syrk_lower(in_types, out_types, attrs):
    s = in_types[0].shape
    return _lowering("syrk", in_types[0].dtype, "_linalg_syrk", s[:-2], r=s[-2], c=s[-1],
                     transpose=_b(attrs, "transpose"), alpha=attrs["alpha"])


def _syrk_grad(b, node, ogs):
    A, alpha = node.inputs[0], float(node.attrs.get("alpha", 1.0))
    s = b.op("_linalg_matutil", ogs[0], mode=4)
    if bool(node.attrs.get("transpose", False)):
        return [b.op("_linalg_gemm2", A, s, alpha=alpha)]
    return [b.op("_linalg_gemm2", s, A, alpha=alpha)]


register(OpDef("_linalg_syrk", ("A",), _syrk_infer, _syrk_lower, aliases=("linalg_syrk",), grad=_syrk_grad,
               attrs={"transpose": Attr("bool", False, doc="Use transpose of input matrix."),
                      "alpha": Attr("float", 1.0, doc="Scalar factor to be applied to the result.")},
               doc="out = alpha * A * A^T (or alpha * A^T * A with transpose), batched."))


# ---- LQ and eigendecomposition ----------------------------------------------------------------
def _gelqf_infer(in_types, attrs):
    dt = _dtype("_linalg_gelqf", in_types)
    s = _matrices("_linalg_gelqf", in_types[0])
    if s[-2] > s[-1]:
        raise ShapeError(f"_linalg_gelqf: input A {fmt(s)} must have at most as many rows as columns "
                         f"(last dimension >= second to last)")
    return [TensorType(s, dt), TensorType(s[:-1] + (s[-2],), dt)]


def _gelqf_lower(in_types, out_types, attrs):
    s = in_types[0].shape
    return _lowering("gelqf", in_types[0].dtype, "_linalg_gelqf", s[:-2], m=s[-2], n=s[-1])


def _gelqf_grad(b, node, ogs):
    Q, L = node.outputs
    dq, dl = ogs
    m = b.op("_linalg_trmm", L, dl, transpose=True)
    m = b.op("_linalg_gemm", dq, Q, m, transpose_b=True, alpha=-1.0, beta=1.0)
    m = b.op("_linalg_matutil", m, mode=2)
    n = b.op("_linalg_gemm", m, Q, dq, alpha=1.0, beta=1.0)
    return [b.op("_linalg_trsm", L, n, transpose=True)]


register(OpDef("_linalg_gelqf", ("A",), _gelqf_infer, _gelqf_lower, aliases=("linalg_gelqf",), grad=_gelqf_grad,
               num_outputs=2, output_names=("Q", "L"),
               doc="LQ factorization A = L * Q (A with rows <= columns): returns Q (row-orthonormal) and L "
                   "(lower triangular), batched."))


def _syevd_grad(b, node, ogs):
    U, lam = node.outputs
    du, dlam = ogs
    x = b.op("_linalg_gemm2", du, U, transpose_b=True)
    y = b.op("_backward_linalg_syevd", x, lam, dlam)
    return [b.op("_linalg_gemm2", b.op("_linalg_gemm2", U, y, transpose_a=True), U)]


_i, _l = _unary("_linalg_syevd", "syevd", lambda s: [s, s[:-1]], errors=(1, 4))
register(OpDef("_linalg_syevd", ("A",), _i, _l, grad=_syevd_grad, num_outputs=2, output_names=("U", "L"),
               doc="Symmetric eigendecomposition: U * A = diag(L) * U with the eigenvectors as rows of U and "
                   "the eigenvalues L ascending, batched."))


def _syevd_bwd_infer(in_types, attrs):
    dt = _dtype("_backward_linalg_syevd", in_types)
    x, lam, dlam = (t.shape for t in in_types)
    if len(x) < 2 or x[-1] != x[-2] or lam != x[:-1] or dlam != lam:
        raise ShapeError(f"_backward_linalg_syevd: expected X (..., n, n) and L, dL (..., n), got {fmt(x)}, "
                         f"{fmt(lam)}, {fmt(dlam)}")
    return [TensorType(x, dt)]


def _syevd_bwd_lower(in_types, out_types, attrs):
    s = in_types[0].shape
    return _lowering("syevd_bwd", in_types[0].dtype, "_backward_linalg_syevd", s[:-2], n=s[-1])


register(OpDef("_backward_linalg_syevd", ("X", "L", "dL"), _syevd_bwd_infer, _syevd_bwd_lower, hidden=True,
               differentiable=False, doc="syevd's gradient helper (MXNet's SyevdBackHelper)."))


# ---- inverse and determinants -----------------------------------------------------------------
def _inverse_grad(b, node, ogs):
    out = node.outputs[0]
    t = b.op("_linalg_gemm2", ogs[0], out, transpose_b=True)
    return [b.op("_linalg_gemm2", out, t, transpose_a=True, alpha=-1.0)]


_i, _l = _unary("_linalg_inverse", "inverse", lambda s: [s], errors=(1, 3),
                what={3: "is singular (LU factorization found an exactly zero pivot)"})
register(OpDef("_linalg_inverse", ("A",), _i, _l, aliases=("linalg_inverse",), grad=_inverse_grad,
               doc="Inverse of a (batch of) square matrices by LU with partial pivoting; a singular matrix "
                   "raises MXNetError."))


def _det_grad(b, node, ogs):
    s = b.op("elemwise_mul", ogs[0], node.outputs[0])
    return [b.op("_backward_linalg_det", node.inputs[0], s)]


def _logdet_grad(b, node, ogs):
    return [b.op("_backward_linalg_det", node.inputs[0], ogs[-1])]


for _name, _mode, _nout, _grad, _doc in (
        ("det", 0, 1, _det_grad, "Determinant of a (batch of) square matrices (shape (1,) for one matrix)."),
        ("logdet", 1, 1, _logdet_grad, "Log determinant: NaN for a negative determinant, -inf for a singular matrix."),
        ("slogdet", 2, 2, _logdet_grad, "Sign and log |det| of a (batch of) square matrices (a singular matrix "
                                         "gives sign 0 and -inf); only log |det| is differentiated.")):
    _i, _l = _unary(f"_linalg_{_name}", "det", lambda s, k=_nout: [_det_shape(s)] * k,
                    lambda s, a, m=_mode: {"mode": m, "out1_index": 1 if m == 2 else 0})
    register(OpDef(f"_linalg_{_name}", ("A",), _i, _l, aliases=(f"linalg_{_name}",), grad=_grad, num_outputs=_nout,
                   output_names=("sign", "logabsdet") if _nout == 2 else ("output",), doc=_doc))


def _detgrad_infer(in_types, attrs):
    dt = _dtype("_backward_linalg_det", in_types)
    a = _matrices("_backward_linalg_det", in_types[0], square=True)
    if in_types[1].shape != _det_shape(a):
        raise ShapeError(f"_backward_linalg_det: scale {fmt(in_types[1].shape)} must have shape "
                         f"{fmt(_det_shape(a))} for A {fmt(a)}")
    return [TensorType(a, dt)]


def _detgrad_lower(in_types, out_types, attrs):
    s = in_types[0].shape
    return _lowering("detgrad", in_types[0].dtype, "_backward_linalg_det", s[:-2], n=s[-1])


register(OpDef("_backward_linalg_det", ("A", "scale"), _detgrad_infer, _detgrad_lower, hidden=True,
               differentiable=False,
               doc="scale * A^-T per matrix (zero for a singular one): the gradient of det and log |det|."))


# ---- diagonals, triangles, sumlogdiag ---------------------------------------------------------
def _sumlogdiag_grad(b, node, ogs):
    A, g = node.inputs[0], ogs[0]
    d = b.op("_linalg_extractdiag", A)
    if len(A.type.shape) > 2:
        g = b.op("Reshape", g, shape=tuple(A.type.shape[:-2]) + (1,))
    return [b.op("_linalg_makediag", b.op("broadcast_div", g, d))]


_i, _l = _unary("_linalg_sumlogdiag", "sumlogdiag", lambda s: [_det_shape(s)])
register(OpDef("_linalg_sumlogdiag", ("A",), _i, _l, aliases=("linalg_sumlogdiag",), grad=_sumlogdiag_grad,
               doc="Sum of the natural logarithms of the diagonal of a (batch of) square matrices."))

_OFFSET = {"offset": Attr("int", 0, doc="Offset of the diagonal versus the main diagonal: 0 is the main "
                                        "diagonal, negative/positive values are below/above it.")}
_TRIAN = {**_OFFSET, "lower": Attr("bool", True, doc="Lower (true) or upper triangle; only relevant when "
                                                     "offset=0.")}


def _extract_check(op, t, offset):
    s = _matrices(op, t, square=True)
    n = s[-1] - abs(offset)
    if n <= 0:
        raise ShapeError(f"{op}: illegal offset {offset} for matrices of shape {fmt(s[-2:])}")
    return s, n


def _extractdiag_infer(in_types, attrs):
    dt = _dtype("_linalg_extractdiag", in_types)
    s, n = _extract_check("_linalg_extractdiag", in_types[0], attrs["offset"])
    return [TensorType(s[:-2] + (n,), dt)]


def _makediag_infer(in_types, attrs):
    dt = _dtype("_linalg_makediag", in_types)
    s = in_types[0].shape
    if len(s) < 1:
        raise ShapeError("_linalg_makediag: input A must have at least 1 dimension, got a scalar")
    n = s[-1] + abs(attrs["offset"])
    return [TensorType(s[:-1] + (n, n), dt)]


def _diag_lower(extract):
    def lower(in_types, out_types, attrs):
        s = in_types[0].shape if extract else out_types[0].shape
        op = "_linalg_extractdiag" if extract else "_linalg_makediag"
        return _lowering("diag", in_types[0].dtype, op, s[:-2], n=s[-1], offset=attrs["offset"], extract=int(extract))
    return lower


def _extracttrian_infer(in_types, attrs):
    dt = _dtype("_linalg_extracttrian", in_types)
    s, n = _extract_check("_linalg_extracttrian", in_types[0], attrs["offset"])
    return [TensorType(s[:-2] + (n * (n + 1) // 2,), dt)]


def _maketrian_infer(in_types, attrs):
    dt = _dtype("_linalg_maketrian", in_types)
    s = in_types[0].shape
    if len(s) < 1:
        raise ShapeError("_linalg_maketrian: input A must have at least 1 dimension, got a scalar")
    m = int(math.floor(0.5 + (math.sqrt(8 * s[-1] + 1) - 1.0) * 0.5))
    if m * (m + 1) // 2 != s[-1]:
        raise ShapeError(f"_linalg_maketrian: the last axis of A {fmt(s)} must hold a triangle of m(m+1)/2 "
                         f"entries (1, 3, 6, 10, ...), got {s[-1]}")
    n = m + abs(attrs["offset"])
    return [TensorType(s[:-1] + (n, n), dt)]


def _trian_lower(extract):
    def lower(in_types, out_types, attrs):
        s = in_types[0].shape if extract else out_types[0].shape
        op = "_linalg_extracttrian" if extract else "_linalg_maketrian"
        return _lowering("trian", in_types[0].dtype, op, s[:-2], n=s[-1], offset=attrs["offset"],
                         lower=_b(attrs, "lower"), extract=int(extract))
    return lower


def _pair_grad(other, keys):
    def grad(b, node, ogs):
        return [b.op(other, ogs[0], **{k: node.attrs[k] for k in keys if k in node.attrs})]
    return grad


register(OpDef("_linalg_extractdiag", ("A",), _extractdiag_infer, _diag_lower(True), attrs=dict(_OFFSET),
               aliases=("linalg_extractdiag",), grad=_pair_grad("_linalg_makediag", ("offset",)),
               doc="The diagonal `offset` of a (batch of) square matrices."))
register(OpDef("_linalg_makediag", ("A",), _makediag_infer, _diag_lower(False), attrs=dict(_OFFSET),
               aliases=("linalg_makediag",), grad=_pair_grad("_linalg_extractdiag", ("offset",)),
               doc="Square matrices with the input as diagonal `offset` (zeros elsewhere)."))
register(OpDef("_linalg_extracttrian", ("A",), _extracttrian_infer, _trian_lower(True), attrs=dict(_TRIAN),
               aliases=("linalg_extracttrian",), grad=_pair_grad("_linalg_maketrian", ("offset", "lower")),
               doc="A triangle of a (batch of) square matrices as a vector (MXNet's packing)."))
register(OpDef("_linalg_maketrian", ("A",), _maketrian_infer, _trian_lower(False), attrs=dict(_TRIAN),
               aliases=("linalg_maketrian",), grad=_pair_grad("_linalg_extracttrian", ("offset", "lower")),
               doc="Square matrices from packed triangles (the inverse of extracttrian)."))


# ---- matrix maps for the gradients ------------------------------------------------------------
_MODES = {"tril": 0, "triu": 1, "copyltu": 2, "copyutl": 3, "sym": 4, "transpose": 5}


def _matutil_infer(in_types, attrs):
    dt = _dtype("_linalg_matutil", in_types)
    return [TensorType(_matrices("_linalg_matutil", in_types[0], square=True), dt)]


def _matutil_lower(in_types, out_types, attrs):
    s = in_types[0].shape
    return _lowering("matutil", in_types[0].dtype, "_linalg_matutil", s[:-2], n=s[-1], mode=attrs["mode"])


register(OpDef("_linalg_matutil", ("A",), _matutil_infer, _matutil_lower, hidden=True, differentiable=False,
               attrs={"mode": Attr("int", 0, doc=f"{_MODES}")},
               doc="Square-matrix maps the gradients use: 0 tril, 1 triu, 2 copy lower to upper, 3 copy upper "
                   "to lower, 4 A + A^T, 5 A^T."))
