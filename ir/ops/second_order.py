"""Gradient rules for the elementwise backward ops, so autograd.grad(create_graph=True) can differentiate
a gradient again (higher-order gradients, as MXNet 1.x supports them for its elementwise math).

Every elementwise backward op computes `a * D(b, c)`: linear in its out-grad input `a`, so its
gradient with respect to `a` is the same op applied to the incoming gradient. The other inputs
get derivative snippets from the tables below.

Unary backward ops `_backward_f(a = out grad, b = data, c = f(data))`: `c` is a function of `b` in
every graph that uses them, so the rule puts the TOTAL second derivative f''(b), written over b and
c, on `b` and nothing on `c`. Binary backward ops `_backward_broadcast_f_lhs/rhs(a, b = lhs, c = rhs)`
take independent lhs and rhs, so their rules are plain partial derivatives. An op missing here stays
non-differentiable, and autograd.grad(create_graph=True) says so rather than return a zero.
"""
from __future__ import annotations

from ..registry import get
from . import elementwise as _ew  # registers the backward ops first
from .elementwise import expr_op

# f''(b) over b = data, c = f(b); "0" = zero (piecewise-linear f)
UNARY_GRAD2 = {
    "abs": "0", "negative": "0", "degrees": "0", "radians": "0", "relu": "0",
    "square": "(T)2", "sqrt": "(T)-0.25 / (c * c * c)", "rsqrt": "(T)0.75 * c * c * c * c * c",
    "cbrt": "(T)-2 * c / ((T)9 * b * b)", "exp": "c", "expm1": "c + (T)1",
    "log": "(T)-1 / (b * b)", "log10": "(T)-1 / (b * b * (T)2.302585092994046)",
    "log2": "(T)-1 / (b * b * (T)0.6931471805599453)", "log1p": "(T)-1 / (((T)1 + b) * ((T)1 + b))",
    "sin": "-c", "cos": "-c", "tan": "(T)2 * c * ((T)1 + c * c)", "sinh": "c", "cosh": "c",
    "tanh": "(T)-2 * c * ((T)1 - c * c)", "sigmoid": "c * ((T)1 - c) * ((T)1 - (T)2 * c)",
    "arcsin": "b / (((T)1 - b * b) * sqrt((T)1 - b * b))", "arccos": "-b / (((T)1 - b * b) * sqrt((T)1 - b * b))",
    "arctan": "(T)-2 * b / (((T)1 + b * b) * ((T)1 + b * b))",
    "arcsinh": "-b / ((b * b + (T)1) * sqrt(b * b + (T)1))", "arccosh": "-b / ((b * b - (T)1) * sqrt(b * b - (T)1))",
    "arctanh": "(T)2 * b / (((T)1 - b * b) * ((T)1 - b * b))",
    "reciprocal": "(T)2 * c * c * c", "erf": "(T)-2.2567583341910252 * b * MX_EXP(-b * b)",
    "softrelu": "MX_SIGMOID(b) * ((T)1 - MX_SIGMOID(b))",
    "softsign": "(T)-2 * (b > 0 ? (T)1 : (b < 0 ? (T)-1 : (T)0)) / (((T)1 + fabs(b)) * ((T)1 + fabs(b)) * "
                "((T)1 + fabs(b)))",
}

# scalar forms (a, b = data, c = output, s0 = scalar): total d/db of the backward expression, over a
SCALAR_GRAD2 = {
    "_plus_scalar": "0", "_minus_scalar": "0", "_rminus_scalar": "0", "_mul_scalar": "0", "_div_scalar": "0",
    "_mod_scalar": "0", "_rmod_scalar": "0", "_maximum_scalar": "0", "_minimum_scalar": "0",
    "_rdiv_scalar": "a * (T)2 * c / (b * b)", "_power_scalar": "a * (T)s0 * ((T)s0 - (T)1) * pow(b, (T)s0 - (T)2)",
    "_rpower_scalar": "a * c * log((T)s0) * log((T)s0)", "_hypot_scalar": "a * (T)s0 * (T)s0 / (c * c * c)",
}

# binary backward ops (a, b = lhs, c = rhs): (d/db, d/dc) of the lhs and rhs backward expressions
BINARY_GRAD2 = {
    "add": (("0", "0"), ("0", "0")), "sub": (("0", "0"), ("0", "0")),
    "mul": (("0", "a"), ("a", "0")),
    "div": (("0", "-a / (c * c)"), ("-a / (c * c)", "(T)2 * a * b / (c * c * c)")),
    "mod": (("0", "0"), ("0", "0")), "maximum": (("0", "0"), ("0", "0")), "minimum": (("0", "0"), ("0", "0")),
    "power": (("a * c * (c - (T)1) * pow(b, c - (T)2)", "a * pow(b, c - (T)1) * ((T)1 + c * log(b))"),
              ("a * pow(b, c - (T)1) * ((T)1 + c * log(b))", "a * pow(b, c) * log(b) * log(b)")),
    "hypot": (("a * c * c / (hypot(b, c) * hypot(b, c) * hypot(b, c))",
               "-a * b * c / (hypot(b, c) * hypot(b, c) * hypot(b, c))"),
              ("-a * b * c / (hypot(b, c) * hypot(b, c) * hypot(b, c))",
               "a * b * b / (hypot(b, c) * hypot(b, c) * hypot(b, c))")),
}


def _unary_rule(bwd, d2_op, scalar_attrs):
    def grad(b, node, ogs):
        a, x, y = node.inputs
        extra = {k: node.attrs[k] for k in scalar_attrs}
        g_a = b.op(bwd, ogs[0], x, y, **extra)
        g_x = None if d2_op is None else b.mul(ogs[0], b.op(d2_op, a, x, y, **extra))
        return [g_a, g_x, None]
    return grad


def _binary_rule(bwd, d_ops):
    def grad(b, node, ogs):
        a, lhs, rhs = node.inputs
        g_a = b.op(bwd, ogs[0], lhs, rhs)
        gs = [None if d is None else b.sum_to(b.mul(ogs[0], a if d == "a" else b.op(d, a, lhs, rhs)), v.type.shape)
              for d, v in zip(d_ops, (lhs, rhs))]
        return [g_a, *gs]
    return grad


# the ops given rules here: tests/test_higher_order.py checks them through create_graph, where the unary
# rules' assumption c = f(b) holds (a finite-difference check of the op alone would break it)
SECOND_ORDER_OPS: set = set()


def _attach(bwd, rule):
    SECOND_ORDER_OPS.add(bwd)
    op = get(bwd)
    op.grad, op.differentiable = rule, True


for _name, _d2 in UNARY_GRAD2.items():
    _bwd = f"_backward_{_name}"
    _d2_op = None if _d2 == "0" else expr_op(f"_backward2_{_name}", ("out_grad", "data", "output"),
                                             f"a * ({_d2})").name
    _attach(_bwd, _unary_rule(_bwd, _d2_op, ()))

for _name, _d2 in SCALAR_GRAD2.items():
    _bwd = f"_backward{_name}"
    _d2_op = None if _d2 == "0" else expr_op(f"_backward2{_name}", ("out_grad", "data", "output"), _d2,
                                             ("scalar",)).name
    _attach(_bwd, _unary_rule(_bwd, _d2_op, ("scalar",)))

for _base, _sides in BINARY_GRAD2.items():
    for _side, _pair in zip(("lhs", "rhs"), _sides):
        _bwd = f"_backward_broadcast_{_base}_{_side}"
        # "0": no gradient; "a": og * a with the (differentiable) mul op, so products differentiate any number
        # of times; anything else: a snippet op
        _ops = [None if e == "0" else e if e == "a" else expr_op(f"{_bwd}_d{w}", ("out_grad", "lhs", "rhs"), e).name
                for e, w in zip(_pair, ("lhs", "rhs"))]
        _attach(_bwd, _binary_rule(_bwd, _ops))

del _ew


# sum / mean broadcast their out-grad back over the reduced axes: a linear map whose adjoint is the
# same reduction again
def _reduce_back_rule(kind):
    def grad(b, node, ogs):
        p = get(node.op).parse_attrs(node.attrs)
        return [b.op(kind, ogs[0], axis=p["axis"], keepdims=p["keepdims"], exclude=p["exclude"])]
    return grad


for _kind in ("sum", "mean"):
    _attach(f"_backward_{_kind}", _reduce_back_rule(_kind))
