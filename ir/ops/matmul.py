"""Matrix products: dot, batch_dot (MXNet 1.x) and matmul (NumPy semantics). All lower to `gemm`.

The gemm family computes C(M,N) = A(M,K) . B(K,N) over contiguous operands, with A stored
(K,M) when `ta` and B stored (N,K) when `tb`, for a batch described by shape and strides.
MXNet's transposes of N-D operands are transposes of the operand flattened to 2-D, so every
op here maps onto that without copying.

Gradients are products again: for C = op(A) op(B), dA = G op(B)^T (stored back as A is, so a
transposed A gets op(B) G^T) and dB = op(A)^T G (or G^T op(A)); the transpose flags do the
transposing, and matmul's broadcast batch axes are summed back to each operand's shape.
"""
from __future__ import annotations

import math

from ..attrs import Attr
from ..errors import MXNetError
from ..registry import Lowering, OpDef, ShapeError, get, register
from ..types import TensorType
from ._shape import broadcast_shapes, contiguous_strides, fmt
from .reduce import sum_to_shape

_DOT_ATTRS = {
    "transpose_a": Attr("bool", False, doc="Transpose lhs (flattened to 2-D) before the product."),
    "transpose_b": Attr("bool", False, doc="Transpose rhs (flattened to 2-D) before the product."),
    "forward_stype": Attr("enum", None, choices={"default", "csr", "row_sparse"},
                          doc="Output storage type; only dense ('default' or None) is supported."),
}


def _common(op, in_types, attrs=None):
    lhs, rhs = in_types
    if lhs.dtype != rhs.dtype:
        raise TypeError(f"{op}: lhs and rhs must have the same dtype, got {lhs.dtype} and {rhs.dtype}")
    if attrs is not None and attrs.get("forward_stype") not in (None, "default"):
        raise MXNetError(f"{op}: forward_stype={attrs['forward_stype']!r} is not supported "
                         f"(mxcc has dense storage only; use 'default' or None)")
    for name, t in (("lhs", lhs), ("rhs", rhs)):
        if len(t.shape) == 0:
            raise ShapeError(f"{op}: {name} is a 0-d array (shape ()); scalar tensors are not supported")
    return lhs.shape, rhs.shape


def _gemm(op, dtype, M, N, K, ta, tb, batch_shape=(), a_strides=(), b_strides=()) -> Lowering:
    # A single row, column or unit depth is laid out the same either way: one kernel serves both.
    if M == 1 or K == 1:
        ta = False
    if N == 1 or K == 1:
        tb = False
    return Lowering("gemm", {"dtype": dtype, "ta": bool(ta), "tb": bool(tb)},
                    {"op": op, "M": M, "N": N, "K": K, "batch_shape": tuple(batch_shape),
                     "a_strides": tuple(a_strides), "b_strides": tuple(b_strides)})


# ---- dot ------------------------------------------------------------------------------------
def _dot_dims(lshape, rshape, ta, tb):
    """MXNet's DotShape: (out_shape, M, N, K, lhs_k, rhs_k)."""
    if len(lshape) == 1 and len(rshape) == 1:
        return (1,), 1, 1, lshape[0], lshape[0], rshape[0]
    if ta:
        l_out, l_k = lshape[1:] or (1,), lshape[:1]
    else:
        l_out, l_k = lshape[:-1] or (1,), lshape[-1:]
    if tb:
        r_out, r_k = rshape[:-1] or (1,), rshape[-1:]
    else:
        r_out, r_k = rshape[1:] or (1,), rshape[:1]
    out = (tuple(l_out) if len(lshape) > 1 else ()) + (tuple(r_out) if len(rshape) > 1 else ())
    return out, math.prod(l_out), math.prod(r_out), math.prod(l_k), math.prod(l_k), math.prod(r_k)


def _dot_infer(in_types, attrs):
    ls, rs = _common("dot", in_types, attrs)
    ta, tb = attrs["transpose_a"], attrs["transpose_b"]
    if len(ls) == 1 and len(rs) == 1 and (ta or tb):
        raise ShapeError(f"dot: cannot transpose vectors (lhs {fmt(ls)}, rhs {fmt(rs)} with "
                         f"transpose_a={ta}, transpose_b={tb})")
    out, _, _, _, lk, rk = _dot_dims(ls, rs, ta, tb)
    if lk != rk:
        lax = "first axis" if ta else "last axis"
        rax = "last axis" if tb else "first axis"
        raise ShapeError(f"dot: shape mismatch: lhs {fmt(ls)} x rhs {fmt(rs)} (transpose_a={ta}, transpose_b={tb}); "
                         f"the {lax} of lhs ({lk}) must equal the {rax} of rhs ({rk})")
    return [TensorType(out, in_types[0].dtype)]


def _dot_lower(in_types, out_types, attrs):
    ls, rs = in_types[0].shape, in_types[1].shape
    ta, tb = attrs["transpose_a"], attrs["transpose_b"]
    _, M, N, K, _, _ = _dot_dims(ls, rs, ta, tb)
    return _gemm("dot", in_types[0].dtype, M, N, K, ta, tb)


def _stored_2d(shape, rows_first):
    """How dot reads an operand as a stored matrix: (prod(shape[:-1]), shape[-1]) for lhs without
    transpose_a and rhs with transpose_b (`rows_first`), else (shape[0], prod(shape[1:]))."""
    shape = tuple(shape)
    if rows_first:
        return (math.prod(shape[:-1]), shape[-1])
    return (shape[0], math.prod(shape[1:]))


def _reshape(b, v, shape):
    shape = tuple(shape)
    if tuple(v.type.shape) == shape:
        return v
    if math.prod(shape) == 0:
        return b.zeros(TensorType(shape, v.type.dtype))
    return b.op("Reshape", v, shape=shape)


def _mm(b, x, xs, y, ys, ta, tb, out_shape):
    """dot of x and y read as the stored matrices xs and ys with the flags, as out_shape
    (operands are reshaped only when dot's own N-D reading differs)."""
    if _stored_2d(x.type.shape, not ta) != tuple(xs) or len(x.type.shape) == 1:
        x = _reshape(b, x, xs)
    if _stored_2d(y.type.shape, tb) != tuple(ys) or len(y.type.shape) == 1:
        y = _reshape(b, y, ys)
    return _reshape(b, b.op("dot", x, y, transpose_a=ta, transpose_b=tb), out_shape)


def _grad_dot(b, node, ogs):
    a, w = node.inputs
    p = get(node.op).parse_attrs(node.attrs)
    ta, tb = p["transpose_a"], p["transpose_b"]
    ls, rs = a.type.shape, w.type.shape
    _, M, N, _, _, _ = _dot_dims(ls, rs, ta, tb)
    a2, b2, g2 = _stored_2d(ls, not ta), _stored_2d(rs, tb), (M, N)
    g = ogs[0]
    da = _mm(b, g, g2, w, b2, False, not tb, ls) if not ta else _mm(b, w, b2, g, g2, tb, True, ls)
    db = _mm(b, a, a2, g, g2, not ta, False, rs) if not tb else _mm(b, g, g2, a, a2, True, ta, rs)
    return [da, db]


register(OpDef("dot", ("lhs", "rhs"), _dot_infer, _dot_lower, attrs=dict(_DOT_ATTRS), nd_method="dot", grad=_grad_dot,
               doc="Dot product of two arrays. N-D operands contract the last axis of lhs with the first "
                   "axis of rhs (result shape lhs.shape[:-1] + rhs.shape[1:]); transpose_a/transpose_b "
                   "transpose an operand flattened to 2-D. 1-D x 1-D is the inner product, shape (1,)."))


# ---- batch_dot ------------------------------------------------------------------------------
def _batch_dims(ls, rs, ta, tb):
    M, Kl = (ls[-1], ls[-2]) if ta else (ls[-2], ls[-1])
    Kr, N = (rs[-1], rs[-2]) if tb else (rs[-2], rs[-1])
    return M, N, Kl, Kr


def _batch_dot_infer(in_types, attrs):
    ls, rs = _common("batch_dot", in_types, attrs)
    ta, tb = attrs["transpose_a"], attrs["transpose_b"]
    where = f"lhs {fmt(ls)} x rhs {fmt(rs)} (transpose_a={ta}, transpose_b={tb})"
    if len(ls) < 3 or len(ls) != len(rs):
        raise ShapeError(f"batch_dot: expected lhs and rhs of the same rank >= 3 (batch, M, K) x (batch, K, N), "
                         f"got {where}")
    if ls[:-2] != rs[:-2]:
        raise ShapeError(f"batch_dot: batch dimensions must be equal: {where}")
    M, N, Kl, Kr = _batch_dims(ls, rs, ta, tb)
    if Kl != Kr:
        raise ShapeError(f"batch_dot: shape mismatch: {where}; the contracted dimensions are {Kl} and {Kr}")
    return [TensorType(tuple(ls[:-2]) + (M, N), in_types[0].dtype)]


def _batch_dot_lower(in_types, out_types, attrs):
    ls, rs = in_types[0].shape, in_types[1].shape
    ta, tb = attrs["transpose_a"], attrs["transpose_b"]
    M, N, K, _ = _batch_dims(ls, rs, ta, tb)
    bshape = tuple(ls[:-2])
    return _gemm("batch_dot", in_types[0].dtype, M, N, K, ta, tb, bshape,
                 tuple(s * M * K for s in contiguous_strides(bshape)),
                 tuple(s * K * N for s in contiguous_strides(bshape)))


def _grad_batch_dot(b, node, ogs):
    a, w = node.inputs
    p = get(node.op).parse_attrs(node.attrs)
    ta, tb = p["transpose_a"], p["transpose_b"]
    g = ogs[0]

    def bd(x, y, fa, fb):
        return b.op("batch_dot", x, y, transpose_a=fa, transpose_b=fb)

    da = bd(g, w, False, not tb) if not ta else bd(w, g, tb, True)
    db = bd(a, g, not ta, False) if not tb else bd(g, a, True, ta)
    return [da, db]


register(OpDef("batch_dot", ("lhs", "rhs"), _batch_dot_infer, _batch_dot_lower, attrs=dict(_DOT_ATTRS),
               grad=_grad_batch_dot,
               doc="Batched matrix product: (B, M, K) x (B, K, N) -> (B, M, N) (leading batch dims must be "
                   "equal; transpose_a/transpose_b transpose the last two axes)."))


# ---- matmul (NumPy) -------------------------------------------------------------------------
def _matmul_dims(ls, rs):
    """(out_shape, M, N, K, lhs_k, rhs_k, batch_shape, lhs_batch, rhs_batch) with NumPy's rules."""
    l2 = (1,) + tuple(ls) if len(ls) == 1 else tuple(ls)
    r2 = tuple(rs) + (1,) if len(rs) == 1 else tuple(rs)
    M, lk = l2[-2], l2[-1]
    rk, N = r2[-2], r2[-1]
    lb, rb = l2[:-2], r2[:-2]
    bshape = broadcast_shapes("matmul", lb, rb) if (lb or rb) else ()
    out = bshape + ((M,) if len(ls) > 1 else ()) + ((N,) if len(rs) > 1 else ())
    return out, M, N, lk, lk, rk, bshape, lb, rb


def _matmul_infer(in_types, attrs):
    ls, rs = _common("matmul", in_types)
    try:
        out, _, _, _, lk, rk, _, _, _ = _matmul_dims(ls, rs)
    except ShapeError:
        raise ShapeError(f"matmul: batch dimensions of lhs {fmt(ls)} and rhs {fmt(rs)} cannot be broadcast "
                         f"together") from None
    if lk != rk:
        raise ShapeError(f"matmul: shape mismatch: lhs {fmt(ls)} x rhs {fmt(rs)}; the last axis of lhs ({lk}) "
                         f"must equal the {'only' if len(rs) == 1 else 'second-to-last'} axis of rhs ({rk})")
    return [TensorType(out, in_types[0].dtype)]


def _matmul_lower(in_types, out_types, attrs):
    ls, rs = in_types[0].shape, in_types[1].shape
    _, M, N, K, _, _, bshape, lb, rb = _matmul_dims(ls, rs)

    def strides(b, mat):
        st = contiguous_strides(b)
        pad = len(bshape) - len(b)
        return (0,) * pad + tuple(0 if d == 1 and o != 1 else s * mat for d, s, o in zip(b, st, bshape[pad:]))

    return _gemm("matmul", in_types[0].dtype, M, N, K, False, False, bshape, strides(lb, M * K), strides(rb, K * N))


def _grad_matmul(b, node, ogs):
    a, w = node.inputs
    ls, rs = a.type.shape, w.type.shape
    _, M, N, K, _, _, bshape, lb, rb = _matmul_dims(ls, rs)
    a2, w2 = tuple(lb) + (M, K), tuple(rb) + (K, N)
    g = _reshape(b, ogs[0], tuple(bshape) + (M, N))
    if not bshape:  # plain matrices: dot with transpose flags
        return [_mm(b, g, (M, N), w, (K, N), False, True, ls), _mm(b, a, (M, K), g, (M, N), True, False, rs)]
    if tuple(lb) == tuple(rb):  # equal batch axes: batch_dot with transpose flags
        return [_reshape(b, b.op("batch_dot", g, w, transpose_b=True), ls),
                _reshape(b, b.op("batch_dot", a, g, transpose_a=True), rs)]
    # broadcast batch axes: products over the broadcast batch, summed back to each operand
    at = b.op("SwapAxis", _reshape(b, a, a2), dim1=-1, dim2=-2)
    wt = b.op("SwapAxis", _reshape(b, w, w2), dim1=-1, dim2=-2)
    da = sum_to_shape(b, b.op("matmul", g, wt), a2)
    dw = sum_to_shape(b, b.op("matmul", at, g), w2)
    return [_reshape(b, da, ls), _reshape(b, dw, rs)]


register(OpDef("matmul", ("lhs", "rhs"), _matmul_infer, _matmul_lower, grad=_grad_matmul,
               doc="Matrix product with NumPy's rules: the last two axes are matrices, leading axes broadcast; "
                   "a 1-D lhs (rhs) is a row (column) vector whose axis is removed from the result."))
