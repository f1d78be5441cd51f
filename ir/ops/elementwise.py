"""Elementwise ops: unary math, broadcasting binary ops, scalar ops, where, clip, cast, copy.

Each op is a C expression snippet over inputs `a`, `b`, `c`, run-time scalars `s0`, `s1`
and the compute type `T` (float for float16, int32 for small integers). The snippet
is valid C99 with <tgmath.h> and valid CUDA C++, so one definition serves both targets.
"""
from __future__ import annotations

import re

from ..attrs import Attr
from ..registry import Lowering, OpDef, ShapeError, register
from ..types import DTYPES, TensorType
from ._shape import broadcast_shapes, fmt


def ewise_lowering(expr, in_types, out_type, scalars=(), **args) -> Lowering:
    """The elementwise-family lowering every op in this module (and others) builds on."""
    return Lowering(
        "elementwise",
        {"expr": expr, "in_dtypes": tuple(t.dtype for t in in_types), "out_dtype": out_type.dtype,
         "nscalars": len(scalars)},
        {"scalars": tuple(float(s) for s in scalars), "in_shapes": tuple(t.shape for t in in_types),
         "out_shape": out_type.shape, **args},
    )


def _subst(expr: str, **names) -> str:
    """Rename the operands of a snippet (whole identifiers only: `double` keeps its b)."""
    return re.sub(r"\b[a-c]\b", lambda m: names.get(m.group(0), m.group(0)), expr)


def _pick(expr, dtype):
    """An expr may be one string or a (float_expr, int_expr) pair."""
    if isinstance(expr, tuple):
        return expr[0] if DTYPES[dtype].is_float else expr[1]
    return expr


# ---- unary -------------------------------------------------------------------------------
# name: (expr, float_only_output).  `float_only_output` ops return their input dtype (MXNet).
UNARY = {
    "abs": ("fabs(a)", "(a < 0 ? -a : a)"),
    "sign": "(T)((a > 0) - (a < 0))",
    "negative": "-a",
    "ceil": ("ceil(a)", "a"),
    "floor": ("floor(a)", "a"),
    "round": ("round(a)", "a"),
    "rint": ("(a - floor(a) <= ceil(a) - a ? floor(a) : ceil(a))", "a"),  # MXNet: a tie goes down
    "fix": ("trunc(a)", "a"),
    "trunc": ("trunc(a)", "a"),
    "square": "a * a",
    "sqrt": "sqrt(a)",
    "rsqrt": "(T)1 / sqrt(a)",
    "cbrt": "cbrt(a)",
    "rcbrt": "(T)1 / cbrt(a)",
    "exp": "exp(a)",
    "expm1": "expm1(a)",
    "log": "log(a)",
    "log10": "log10(a)",
    "log2": "log2(a)",
    "log1p": "log1p(a)",
    "sin": "sin(a)",
    "cos": "cos(a)",
    "tan": "tan(a)",
    "arcsin": "asin(a)",
    "arccos": "acos(a)",
    "arctan": "atan(a)",
    "sinh": "sinh(a)",
    "cosh": "cosh(a)",
    "tanh": "tanh(a)",
    "arcsinh": "asinh(a)",
    "arccosh": "acosh(a)",
    "arctanh": "atanh(a)",
    "degrees": "a * (T)57.29577951308232",
    "radians": "a * (T)0.017453292519943295",
    "sigmoid": "(T)1 / ((T)1 + exp(-a))",
    "relu": "(a > 0 ? a : (T)0)",
    "softrelu": "(a > (T)20 ? a : log1p(exp(a)))",
    "softsign": "a / ((T)1 + fabs(a))",
    "erf": "erf(a)",
    "gamma": "tgamma(a)",
    "gammaln": "lgamma(a)",
    "reciprocal": ("(T)1 / a", "(a == 0 ? 0 : 1 / a)"),
    "logical_not": "(T)(a == 0)",
}


def _same_type(op):
    def infer(in_types, attrs):
        return [TensorType(in_types[0].shape, in_types[0].dtype)]
    return infer


def _unary(name, expr):
    def lower(in_types, out_types, attrs):
        return ewise_lowering(_pick(expr, in_types[0].dtype), in_types, out_types[0])

    register(OpDef(name, ("data",), _same_type(name), lower, nd_method=name,
                   doc=f"Elementwise {name}."))


for _n, _e in UNARY.items():
    _unary(_n, _e)


# ---- binary ------------------------------------------------------------------------------
_INT_DIV = "(b == 0 ? 0 : (b == -1 ? -a : a / b))"
_PYMOD_F = "(b == 0 ? (T)0 : mx_pymod(a, b))"
_PYMOD_I = "(b == 0 ? 0 : (b == -1 ? 0 : mx_ipymod(a, b)))"
# base name: (expr over a, b; reflected scalar form exists)
BINARY = {
    "add": ("a + b", False),
    "sub": ("a - b", True),
    "mul": ("a * b", False),
    "div": (("a / b", _INT_DIV), True),
    "mod": ((_PYMOD_F, _PYMOD_I), True),
    "power": (("pow(a, b)", "(T)pow((double)a, (double)b)"), True),
    "maximum": ("(a > b ? a : b)", False),
    "minimum": ("(a < b ? a : b)", False),
    "hypot": (("hypot(a, b)", "(T)hypot((double)a, (double)b)"), False),
    "equal": ("(T)(a == b)", False),
    "not_equal": ("(T)(a != b)", False),
    "greater": ("(T)(a > b)", True),
    "greater_equal": ("(T)(a >= b)", True),
    "lesser": ("(T)(a < b)", True),
    "lesser_equal": ("(T)(a <= b)", True),
    "logical_and": ("(T)(a != 0 && b != 0)", False),
    "logical_or": ("(T)(a != 0 || b != 0)", False),
    "logical_xor": ("(T)((a != 0) != (b != 0))", False),
}
# MXNet's scalar op names differ from the broadcast ones for the arithmetic family.
_SCALAR_NAME = {"add": "plus", "sub": "minus", "mul": "mul", "div": "div", "mod": "mod", "power": "power"}
_REFLECT = {"greater": "lesser", "greater_equal": "lesser_equal", "lesser": "greater", "lesser_equal": "greater_equal"}


def _check_same_dtype(op, in_types):
    dts = {t.dtype for t in in_types}
    if len(dts) > 1:
        raise TypeError(f"{op}: inputs must share one dtype, got {', '.join(t.dtype for t in in_types)}")


def _binary(base, expr, reflected):
    def infer_bcast(in_types, attrs, op=f"broadcast_{base}"):
        _check_same_dtype(op, in_types)
        return [TensorType(broadcast_shapes(op, in_types[0].shape, in_types[1].shape), in_types[0].dtype)]

    def infer_strict(in_types, attrs, op=f"elemwise_{base}"):
        _check_same_dtype(op, in_types)
        if in_types[0].shape != in_types[1].shape:
            raise ShapeError(f"{op}: shapes {fmt(in_types[0].shape)} and {fmt(in_types[1].shape)} must be equal "
                             f"(use broadcast_{base} to broadcast)")
        return [TensorType(in_types[0].shape, in_types[0].dtype)]

    def lower(in_types, out_types, attrs):
        return ewise_lowering(_pick(expr, in_types[0].dtype), in_types, out_types[0])

    register(OpDef(f"broadcast_{base}", ("lhs", "rhs"), infer_bcast, lower,
                   doc=f"Elementwise {base} with NumPy broadcasting."))
    if base in ("add", "sub", "mul", "div", "mod", "power", "maximum", "minimum", "hypot"):
        strict = {"add": "elemwise_add", "sub": "elemwise_sub", "mul": "elemwise_mul", "div": "elemwise_div"}.get(base)
        if strict:
            register(OpDef(strict, ("lhs", "rhs"), infer_strict, lower, doc=f"Elementwise {base}, equal shapes."))

    sname = _SCALAR_NAME.get(base, base)

    def lower_scalar(in_types, out_types, attrs, e=expr):
        return ewise_lowering(_subst(_pick(e, in_types[0].dtype), b="((T)s0)"), in_types, out_types[0],
                              scalars=(attrs["scalar"],))

    scalar_attrs = {"scalar": Attr("float", 1.0)}
    register(OpDef(f"_{sname}_scalar", ("data",), _same_type(base), lower_scalar, attrs=scalar_attrs, hidden=True))
    if reflected and base not in _REFLECT:
        def lower_rscalar(in_types, out_types, attrs, e=expr):
            body = _subst(_pick(e, in_types[0].dtype), a="((T)s0)", b="a")
            return ewise_lowering(body, in_types, out_types[0], scalars=(attrs["scalar"],))

        register(OpDef(f"_r{sname}_scalar", ("data",), _same_type(base), lower_rscalar, attrs=scalar_attrs,
                       hidden=True))


for _n, (_e, _r) in BINARY.items():
    _binary(_n, _e, _r)


# ---- ternary and friends -------------------------------------------------------------------
def _infer_where(in_types, attrs):
    cond, x, y = in_types
    if x.dtype != y.dtype:
        raise TypeError(f"where: x and y must share a dtype, got {x.dtype} and {y.dtype}")
    if x.shape != y.shape:
        raise ShapeError(f"where: x and y must have the same shape, got {fmt(x.shape)} and {fmt(y.shape)}")
    if cond.shape != x.shape and not (len(cond.shape) == 1 and len(x.shape) >= 1 and cond.shape[0] == x.shape[0]):
        raise ShapeError(f"where: condition shape {fmt(cond.shape)} must equal x's {fmt(x.shape)} "
                         f"or be 1-D of length x.shape[0]")
    return [TensorType(x.shape, x.dtype)]


def _lower_where(in_types, out_types, attrs):
    cond, x, _ = in_types
    args = {}
    if cond.shape != x.shape:  # 1-D condition selects whole rows
        args["in_strides"] = ((1,) + (0,) * (len(x.shape) - 1), None, None)
    return ewise_lowering("(a != 0 ? b : c)", in_types, out_types[0], **args)


register(OpDef("where", ("condition", "x", "y"), _infer_where, _lower_where,
               doc="Elements of x where condition is nonzero, else of y."))


def _lower_clip(in_types, out_types, attrs):
    return ewise_lowering("(a < (T)s0 ? (T)s0 : (a > (T)s1 ? (T)s1 : a))", in_types, out_types[0],
                          scalars=(attrs["a_min"], attrs["a_max"]))


register(OpDef("clip", ("data",), _same_type("clip"), _lower_clip,
               attrs={"a_min": Attr("float"), "a_max": Attr("float")}, nd_method="clip",
               doc="Clip values to [a_min, a_max]."))


def _infer_cast(in_types, attrs):
    return [TensorType(in_types[0].shape, attrs["dtype"])]


def _lower_copy(in_types, out_types, attrs):
    return ewise_lowering("a", in_types, out_types[0])


register(OpDef("Cast", ("data",), _infer_cast, _lower_copy, attrs={"dtype": Attr("dtype")}, aliases=("cast",),
               doc="Cast to another dtype."))
register(OpDef("_copy", ("data",), _same_type("_copy"), _lower_copy, aliases=("identity",),
               doc="A copy of the input."))
