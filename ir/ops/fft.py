"""Discrete Fourier transforms over the last axis: MXNet's contrib fft / ifft and the ops behind
mx.nd.fft (numpy.fft semantics).

Complex arrays are real arrays with the real and imaginary parts interleaved: MXNet's contrib
layout (..., 2d) and mx.nd.fft's (..., n, 2) are the same bytes. Every op lowers to the `fft`
family with run-time flags (see codegen/templates/c/fft.j2), so one kernel per dtype serves them all.

Gradients: the transforms are linear, so each backward is the adjoint transform, itself an op of
this file: contrib fft's is contrib ifft of the out grad (and the reverse), as MXNet defines them
(neither scales by 1/n); `_fft`'s is `_fft` in the other direction with the roles of padding and
truncation swapped, and a Hermitian (irfft) input's adjoint doubles the interior bins.
"""
from __future__ import annotations

import math

from ..attrs import Attr
from ..registry import Lowering, OpDef, ShapeError, get, register
from ..types import TensorType
from ._shape import fmt

_FLOATS = ("float16", "float32", "float64")
_IN_KINDS = {"real": 0, "complex": 1}
_OUT_KINDS = {"real": 0, "complex": 1, "half": 2}


def _check_dtype(op, t):
    if t.dtype not in _FLOATS:
        raise TypeError(f"{op}: input must be float16, float32 or float64, got {t.dtype}")


def fft_lowering(in_t, *, rows, m_in, n, out_len, in_kind, out_kind, herm=False, inverse=False, scale=1.0):
    return Lowering("fft", {"dtype": in_t.dtype, "acc": "double" if in_t.dtype == "float64" else "float"}, {
        "rows": int(rows), "m_in": int(m_in), "n": int(n), "out_len": int(out_len),
        "in_kind": _IN_KINDS[in_kind], "out_kind": _OUT_KINDS[out_kind], "herm": int(bool(herm)),
        "inverse": int(bool(inverse)), "scale": float(scale)})


# ---- MXNet contrib: fft (real (..., d) -> interleaved (..., 2d)), ifft (the reverse, real part) ----
_CONTRIB_ATTRS = {"compute_size": Attr("int", 128, low=1,
                                       doc="MXNet's sub-batch size for cuFFT; mxcc transforms all rows at once")}


def _infer_contrib_fft(in_types, attrs):
    t = in_types[0]
    _check_dtype("fft", t)
    if len(t.shape) < 1 or t.shape[-1] < 1:
        raise ShapeError(f"fft: input of shape {fmt(t.shape)} must have a last dimension of at least 1 "
                         f"(MXNet takes (N, d) or (N1, N2, N3, d))")
    return [TensorType(t.shape[:-1] + (2 * t.shape[-1],), t.dtype)]


def _lower_contrib_fft(in_types, out_types, attrs):
    t = in_types[0]
    d = t.shape[-1]
    return fft_lowering(t, rows=math.prod(t.shape[:-1]), m_in=d, n=d, out_len=d, in_kind="real",
                        out_kind="complex")


def _infer_contrib_ifft(in_types, attrs):
    t = in_types[0]
    _check_dtype("ifft", t)
    if len(t.shape) < 1 or t.shape[-1] < 2 or t.shape[-1] % 2:
        raise ShapeError(f"ifft: input of shape {fmt(t.shape)} must have an even last dimension of at least 2 "
                         f"(interleaved real and imaginary parts)")
    return [TensorType(t.shape[:-1] + (t.shape[-1] // 2,), t.dtype)]


def _lower_contrib_ifft(in_types, out_types, attrs):
    t = in_types[0]
    d = t.shape[-1] // 2
    return fft_lowering(t, rows=math.prod(t.shape[:-1]), m_in=d, n=d, out_len=d, in_kind="complex",
                        out_kind="real", inverse=True)


register(OpDef("_contrib_fft", ("data",), _infer_contrib_fft, _lower_contrib_fft, attrs=_CONTRIB_ATTRS,
               grad=lambda b, node, ogs: [b.op("_contrib_ifft", ogs[0], **node.attrs)],
               doc="1-D FFT of real rows over the last axis: (..., d) -> (..., 2d) as [re0, im0, re1, im1, ...]."))
register(OpDef("_contrib_ifft", ("data",), _infer_contrib_ifft, _lower_contrib_ifft, attrs=_CONTRIB_ATTRS,
               grad=lambda b, node, ogs: [b.op("_contrib_fft", ogs[0], **node.attrs)],
               doc="1-D inverse FFT of interleaved complex rows, (..., 2d) -> (..., d): the real part, "
                   "not divided by d (as MXNet)."))


# ---- the general transform behind mx.nd.fft -------------------------------------------------------
_FFT_ATTRS = {
    "n": Attr("int", low=1, doc="transform length: the input is zero padded or truncated to it"),
    "inverse": Attr("bool", False),
    "scale": Attr("float", 1.0),
    "in_kind": Attr("enum", "complex", choices=set(_IN_KINDS)),
    "out_kind": Attr("enum", "complex", choices=set(_OUT_KINDS)),
    "hermitian": Attr("bool", False, doc="complex input is a half spectrum standing for a Hermitian one"),
    "out_len": Attr("int", -1, doc="output length along the axis (-1: n, or n // 2 + 1 for half)"),
}


def _geometry(in_t, attrs):
    """(batch shape, input length along the axis)."""
    s = in_t.shape
    if attrs["in_kind"] == "complex":
        if len(s) < 2 or s[-1] != 2:
            raise ShapeError(f"_fft: a complex input must have shape (..., n, 2) (real and imaginary parts last), "
                             f"got {fmt(s)}")
        return s[:-2], s[-2]
    if len(s) < 1:
        raise ShapeError("_fft: a real input must have at least one dimension")
    return s[:-1], s[-1]


def _out_len(attrs):
    if attrs["out_len"] >= 0:
        return attrs["out_len"]
    return attrs["n"] // 2 + 1 if attrs["out_kind"] == "half" else attrs["n"]


def _infer_fft(in_types, attrs):
    t = in_types[0]
    _check_dtype("_fft", t)
    if attrs["hermitian"] and (attrs["in_kind"], attrs["out_kind"]) not in (("complex", "real"), ("real", "half")):
        raise ShapeError("_fft: hermitian=True pairs a complex input with a real output (irfft) or a real "
                         "input with a half-spectrum output (its adjoint)")
    batch, _ = _geometry(t, attrs)
    L = _out_len(attrs)
    return [TensorType(batch + ((L,) if attrs["out_kind"] == "real" else (L, 2)), t.dtype)]


def _lower_fft(in_types, out_types, attrs):
    t = in_types[0]
    batch, m = _geometry(t, attrs)
    return fft_lowering(t, rows=math.prod(batch), m_in=m, n=attrs["n"], out_len=_out_len(attrs),
                        in_kind=attrs["in_kind"], out_kind=attrs["out_kind"], herm=attrs["hermitian"],
                        inverse=attrs["inverse"], scale=attrs["scale"])


def _grad_fft(b, node, ogs):
    """The adjoint: the other direction, same scale, and the input's kind and length as output."""
    t = node.inputs[0].type
    parsed = get(node.op).parse_attrs(node.attrs)  # node.attrs are the attrs as given (maybe JSON strings)
    _, m = _geometry(t, parsed)
    in_kind, out_kind, herm = parsed["in_kind"], parsed["out_kind"], bool(parsed["hermitian"])
    if in_kind == "real" and out_kind == "half":
        g_in, g_out = "complex", "real"  # zero-extended half spectrum, or Hermitian when herm
    elif in_kind == "complex" and herm:
        g_in, g_out = "real", "half"
    else:
        g_in, g_out = out_kind if out_kind != "half" else "complex", in_kind
    return [b.op("_fft", ogs[0], n=parsed["n"], inverse=not parsed["inverse"], scale=parsed["scale"],
                 in_kind=g_in, out_kind=g_out, hermitian=herm, out_len=m)]


register(OpDef("_fft", ("data",), _infer_fft, _lower_fft, attrs=_FFT_ATTRS, grad=_grad_fft, hidden=True,
               doc="DFT over the last axis of real (..., m) or complex (..., m, 2) rows (mx.nd.fft)."))
