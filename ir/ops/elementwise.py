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
    "exp": "MX_EXP(a)",
    "expm1": "MX_EXPM1(a)",
    "log": "MX_LOG(a)",
    "log10": "log10(a)",
    "log2": "log2(a)",
    "log1p": "MX_LOG1P(a)",
    "sin": "sin(a)",
    "cos": "cos(a)",
    "tan": "tan(a)",
    "arcsin": "asin(a)",
    "arccos": "acos(a)",
    "arctan": "atan(a)",
    "sinh": "sinh(a)",
    "cosh": "cosh(a)",
    "tanh": "MX_TANH(a)",
    "arcsinh": "asinh(a)",
    "arccosh": "acosh(a)",
    "arctanh": "atanh(a)",
    "degrees": "a * (T)57.29577951308232",
    "radians": "a * (T)0.017453292519943295",
    "sigmoid": "MX_SIGMOID(a)",
    "relu": "(a > 0 ? a : (T)0)",
    "softrelu": "MX_SOFTRELU(a)",
    "softsign": "a / ((T)1 + fabs(a))",
    "erf": "erf(a)",
    "gamma": "tgamma(a)",
    "gammaln": "lgamma(a)",
    "reciprocal": ("(T)1 / a", "(a == 0 ? 0 : 1 / a)"),
    "logical_not": "(T)(a == 0)",
}


# d(output)/d(input) as a snippet over b = input, c = output; "0" = zero gradient (MXNet's
# choice for step functions); missing = no rule (autodiff raises when it needs one).
UNARY_GRAD = {
    "abs": "(b > 0 ? (T)1 : (b < 0 ? (T)-1 : (T)0))", "sign": "0", "negative": "(T)-1",
    "ceil": "0", "floor": "0", "round": "0", "rint": "0", "fix": "0", "trunc": "0",
    "square": "(T)2 * b", "sqrt": "(T)0.5 / c", "rsqrt": "(T)-0.5 * c * c * c",
    "cbrt": "c / ((T)3 * b)", "rcbrt": "-c / ((T)3 * b)",
    "exp": "c", "expm1": "c + (T)1", "log": "(T)1 / b", "log10": "(T)1 / (b * (T)2.302585092994046)",
    "log2": "(T)1 / (b * (T)0.6931471805599453)", "log1p": "(T)1 / ((T)1 + b)",
    "sin": "cos(b)", "cos": "-sin(b)", "tan": "(T)1 + c * c",
    "arcsin": "(T)1 / sqrt((T)1 - b * b)", "arccos": "(T)-1 / sqrt((T)1 - b * b)", "arctan": "(T)1 / ((T)1 + b * b)",
    "sinh": "cosh(b)", "cosh": "sinh(b)", "tanh": "(T)1 - c * c",
    "arcsinh": "(T)1 / sqrt(b * b + (T)1)", "arccosh": "(T)1 / sqrt(b * b - (T)1)", "arctanh": "(T)1 / ((T)1 - b * b)",
    "degrees": "(T)57.29577951308232", "radians": "(T)0.017453292519943295",
    "sigmoid": "c * ((T)1 - c)", "relu": "(c > 0 ? (T)1 : (T)0)", "softrelu": "MX_SIGMOID(b)",
    "softsign": "(T)1 / (((T)1 + fabs(b)) * ((T)1 + fabs(b)))", "erf": "(T)1.1283791670955126 * MX_EXP(-b * b)",
    "reciprocal": "-c * c", "logical_not": "0",
}


def _infer_broadcast_first_dtype(op):
    def infer(in_types, attrs):
        return [TensorType(broadcast_shapes(op, *(t.shape for t in in_types)), in_types[0].dtype)]
    return infer


def expr_op(name, inputs, expr, scalar_attrs=()):
    """A hidden op computing `expr` over broadcast inputs a, b, c and scalar attrs s0, s1 (backward ops)."""
    def lower(in_types, out_types, attrs):
        return ewise_lowering(expr, in_types, out_types[0], scalars=tuple(attrs[k] for k in scalar_attrs))

    return register(OpDef(name, tuple(inputs), _infer_broadcast_first_dtype(name), lower, hidden=True,
                          attrs={k: Attr("float") for k in scalar_attrs}, differentiable=False))


def _expr_grad(bwd_name, scalar_attrs=()):
    """Grad rule: one backward op over (out_grad, input, output) with the node's scalars."""
    def grad(b, node, ogs):
        extra = {k: node.attrs[k] for k in scalar_attrs}
        return [b.op(bwd_name, ogs[0], node.inputs[0], node.outputs[0], **extra)]
    return grad


def _zero_grad(b, node, ogs):
    return [b.zeros_like(v) for v in node.inputs]


def _same_type(op):
    def infer(in_types, attrs):
        return [TensorType(in_types[0].shape, in_types[0].dtype)]
    return infer


def _unary(name, expr):
    def lower(in_types, out_types, attrs):
        return ewise_lowering(_pick(expr, in_types[0].dtype), in_types, out_types[0])

    deriv = UNARY_GRAD.get(name)
    grad = None
    if deriv == "0":
        grad = _zero_grad
    elif deriv is not None:
        expr_op(f"_backward_{name}", ("out_grad", "data", "output"), f"a * ({deriv})")
        grad = _expr_grad(f"_backward_{name}")
    register(OpDef(name, ("data",), _same_type(name), lower, nd_method=name, grad=grad,
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
# d/dlhs and d/drhs times the out grad, over a = out grad, b = lhs, c = rhs (broadcast, then summed
# back to each input's shape). Comparisons and logical ops have zero gradient.
BINARY_GRAD = {
    "add": ("a", "a"), "sub": ("a", "-a"), "mul": ("a * c", "a * b"), "div": ("a / c", "-a * b / (c * c)"),
    "mod": ("a", "-a * floor(b / c)"), "power": ("a * c * pow(b, c - (T)1)", "a * pow(b, c) * log(b)"),
    "maximum": ("a * (T)(b >= c)", "a * (T)(b < c)"), "minimum": ("a * (T)(b <= c)", "a * (T)(b > c)"),
    "hypot": ("a * b / hypot(b, c)", "a * c / hypot(b, c)"),
}
# the same over a = out grad, b = data, c = output, s0 = scalar, for the scalar forms
SCALAR_GRAD = {
    "_plus_scalar": "a", "_minus_scalar": "a", "_rminus_scalar": "-a", "_mul_scalar": "a * (T)s0",
    "_div_scalar": "a / (T)s0", "_rdiv_scalar": "-a * c / b", "_mod_scalar": "a",
    "_rmod_scalar": "-a * floor((T)s0 / b)", "_power_scalar": "a * (T)s0 * pow(b, (T)s0 - (T)1)",
    "_rpower_scalar": "a * c * log((T)s0)", "_maximum_scalar": "a * (T)(b >= (T)s0)",
    "_minimum_scalar": "a * (T)(b <= (T)s0)", "_hypot_scalar": "a * b / c",
}


def _binary_grad(base):
    lhs_name, rhs_name = f"_backward_broadcast_{base}_lhs", f"_backward_broadcast_{base}_rhs"
    for name, e in zip((lhs_name, rhs_name), BINARY_GRAD[base]):
        expr_op(name, ("out_grad", "lhs", "rhs"), e)

    def grad(b, node, ogs):
        lhs, rhs = node.inputs
        return [b.sum_to(b.op(lhs_name, ogs[0], lhs, rhs), lhs.type.shape),
                b.sum_to(b.op(rhs_name, ogs[0], lhs, rhs), rhs.type.shape)]
    return grad


def _scalar_grad(name):
    deriv = SCALAR_GRAD.get(name)
    if deriv is None:
        return None, False
    expr_op(f"_backward{name}", ("out_grad", "data", "output"), deriv, ("scalar",))
    return _expr_grad(f"_backward{name}", ("scalar",)), True


# MXNet's older CamelCase names (symbol JSON from MXNet 0.x/1.x uses them; Symbol operators name
# their nodes after them: `a + b` is `_plus0`)
_ALIASES = {
    "elemwise_add": ("_Plus", "_plus", "_add"), "elemwise_sub": ("_Minus", "_minus", "_sub"),
    "elemwise_mul": ("_Mul", "_mul"), "elemwise_div": ("_Div", "_div"),
    "broadcast_power": ("_Power", "_power"), "broadcast_maximum": ("_Maximum", "_maximum"),
    "broadcast_minimum": ("_Minimum", "_minimum"), "broadcast_hypot": ("_Hypot", "_hypot"),
    "broadcast_mod": ("_Mod", "_mod"), "broadcast_equal": ("_Equal", "_equal"),
    "broadcast_not_equal": ("_Not_Equal", "_not_equal"), "broadcast_greater": ("_Greater", "_greater"),
    "broadcast_greater_equal": ("_Greater_Equal", "_greater_equal"), "broadcast_lesser": ("_Lesser", "_lesser"),
    "broadcast_lesser_equal": ("_Lesser_Equal", "_lesser_equal"),
    "_plus_scalar": ("_PlusScalar",), "_minus_scalar": ("_MinusScalar",), "_rminus_scalar": ("_RMinusScalar",),
    "_mul_scalar": ("_MulScalar",), "_div_scalar": ("_DivScalar",), "_rdiv_scalar": ("_RDivScalar",),
    "_mod_scalar": ("_ModScalar",), "_rmod_scalar": ("_RModScalar",), "_power_scalar": ("_PowerScalar",),
    "_rpower_scalar": ("_RPowerScalar",), "_maximum_scalar": ("_MaximumScalar",),
    "_minimum_scalar": ("_MinimumScalar",), "_hypot_scalar": ("_HypotScalar",), "_equal_scalar": ("_EqualScalar",),
    "_not_equal_scalar": ("_NotEqualScalar",), "_greater_scalar": ("_GreaterScalar",),
    "_greater_equal_scalar": ("_GreaterEqualScalar",), "_lesser_scalar": ("_LesserScalar",),
    "_lesser_equal_scalar": ("_LesserEqualScalar",),
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

    grad = _binary_grad(base) if base in BINARY_GRAD else None
    register(OpDef(f"broadcast_{base}", ("lhs", "rhs"), infer_bcast, lower, grad=grad, differentiable=grad is not None,
                   aliases=_ALIASES.get(f"broadcast_{base}", ()), doc=f"Elementwise {base} with NumPy broadcasting."))
    if base in ("add", "sub", "mul", "div", "mod", "power", "maximum", "minimum", "hypot"):
        strict = {"add": "elemwise_add", "sub": "elemwise_sub", "mul": "elemwise_mul", "div": "elemwise_div"}.get(base)
        if strict:
            register(OpDef(strict, ("lhs", "rhs"), infer_strict, lower, grad=grad, aliases=_ALIASES.get(strict, ()),
                           doc=f"Elementwise {base}, equal shapes."))

    sname = _SCALAR_NAME.get(base, base)

    def lower_scalar(in_types, out_types, attrs, e=expr):
        return ewise_lowering(_subst(_pick(e, in_types[0].dtype), b="((T)s0)"), in_types, out_types[0],
                              scalars=(attrs["scalar"],))

    scalar_attrs = {"scalar": Attr("float", 1.0)}
    sgrad, sdiff = _scalar_grad(f"_{sname}_scalar")
    register(OpDef(f"_{sname}_scalar", ("data",), _same_type(base), lower_scalar, attrs=scalar_attrs, hidden=True,
                   grad=sgrad, differentiable=sdiff, aliases=_ALIASES.get(f"_{sname}_scalar", ())))
    if reflected and base not in _REFLECT:
        def lower_rscalar(in_types, out_types, attrs, e=expr):
            body = _subst(_pick(e, in_types[0].dtype), a="((T)s0)", b="a")
            return ewise_lowering(body, in_types, out_types[0], scalars=(attrs["scalar"],))

        rgrad, rdiff = _scalar_grad(f"_r{sname}_scalar")
        register(OpDef(f"_r{sname}_scalar", ("data",), _same_type(base), lower_rscalar, attrs=scalar_attrs,
                       hidden=True, grad=rgrad, differentiable=rdiff, aliases=_ALIASES.get(f"_r{sname}_scalar", ())))


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


def _grad_where(b, node, ogs):
    cond = node.inputs[0]
    zero = b.zeros_like(ogs[0])
    return [None, b.op("where", cond, ogs[0], zero), b.op("where", cond, zero, ogs[0])]


register(OpDef("where", ("condition", "x", "y"), _infer_where, _lower_where, grad=_grad_where,
               doc="Elements of x where condition is nonzero, else of y."))


def _lower_clip(in_types, out_types, attrs):
    return ewise_lowering("(a < (T)s0 ? (T)s0 : (a > (T)s1 ? (T)s1 : a))", in_types, out_types[0],
                          scalars=(attrs["a_min"], attrs["a_max"]))


expr_op("_backward_clip", ("out_grad", "data"), "(b >= (T)s0 && b <= (T)s1) ? a : (T)0", ("a_min", "a_max"))


def _grad_clip(b, node, ogs):
    return [b.op("_backward_clip", ogs[0], node.inputs[0], a_min=node.attrs["a_min"], a_max=node.attrs["a_max"])]


register(OpDef("clip", ("data",), _same_type("clip"), _lower_clip, grad=_grad_clip,
               attrs={"a_min": Attr("float"), "a_max": Attr("float")}, nd_method="clip",
               doc="Clip values to [a_min, a_max]."))


def _infer_cast(in_types, attrs):
    return [TensorType(in_types[0].shape, attrs["dtype"])]


def _lower_copy(in_types, out_types, attrs):
    return ewise_lowering("a", in_types, out_types[0])


def _grad_cast(b, node, ogs):
    return [b.op("Cast", ogs[0], dtype=node.inputs[0].type.dtype)]


register(OpDef("Cast", ("data",), _infer_cast, _lower_copy, attrs={"dtype": Attr("dtype")}, aliases=("cast",),
               grad=_grad_cast, doc="Cast to another dtype."))
register(OpDef("_copy", ("data",), _same_type("_copy"), _lower_copy, aliases=("identity",),
               grad=lambda b, node, ogs: [ogs[0]], doc="A copy of the input."))
