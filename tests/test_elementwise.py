"""Elementwise ops against numpy float64 references: unary math, broadcasting binary ops,
scalar ops (incl. reflected), where, clip and Cast, over every dtype."""
from __future__ import annotations

import math
import operator

import numpy as np
import pytest
from conftest import ALL_DTYPES, FLOAT_DTYPES, INT_DTYPES, assert_close
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import mutually_broadcastable_shapes

import mxcc as mx
from mxcc.ir.ops.elementwise import BINARY, UNARY

RNG_SEED = 20240601

_erf = np.vectorize(math.erf, otypes=[float])
_gamma = np.vectorize(math.gamma, otypes=[float])
_lgamma = np.vectorize(math.lgamma, otypes=[float])


def _round_half_away(x):
    return np.sign(x) * np.floor(np.abs(x) + 0.5)


# name: (reference on float64, low, high, extra values worth hitting). Domains keep every
# result finite and away from poles.
UNARY_REF = {
    "abs": (np.abs, -5, 5, [0.0, -0.0]),
    "sign": (np.sign, -5, 5, [0.0]),
    "negative": (np.negative, -5, 5, []),
    "ceil": (np.ceil, -5, 5, [-1.5, 1.5, 2.0]),
    "floor": (np.floor, -5, 5, [-1.5, 1.5, 2.0]),
    "round": (_round_half_away, -5, 5, [-2.5, -0.5, 0.5, 1.5, 2.5]),  # half away from zero (MXNet)
    "rint": (lambda x: np.where(x - np.floor(x) <= np.ceil(x) - x, np.floor(x), np.ceil(x)), -5, 5,
             [-2.5, -1.5, -0.5, 0.5, 1.5, 2.5]),  # MXNet: nearest integer, a tie goes to the floor
    "fix": (np.fix, -5, 5, [-1.5, 1.5]),
    "trunc": (np.trunc, -5, 5, [-1.5, 1.5]),
    "square": (np.square, -5, 5, []),
    "sqrt": (np.sqrt, 0, 10, [0.0, 4.0]),
    "rsqrt": (lambda x: 1 / np.sqrt(x), 0.1, 10, [4.0]),
    "cbrt": (np.cbrt, -10, 10, [-8.0, 27.0]),
    "rcbrt": (lambda x: 1 / np.cbrt(x), 0.1, 10, [-8.0, 8.0]),
    "exp": (np.exp, -5, 5, [0.0]),
    "expm1": (np.expm1, -5, 5, [1e-4]),
    "log": (np.log, 0.1, 10, [1.0]),
    "log10": (np.log10, 0.1, 10, [100.0]),
    "log2": (np.log2, 0.1, 10, [8.0]),
    "log1p": (np.log1p, -0.9, 10, [1e-4]),
    "sin": (np.sin, -3, 3, []),
    "cos": (np.cos, -3, 3, []),
    "tan": (np.tan, -1.2, 1.2, []),
    "arcsin": (np.arcsin, -0.99, 0.99, []),
    "arccos": (np.arccos, -0.99, 0.99, []),
    "arctan": (np.arctan, -5, 5, []),
    "sinh": (np.sinh, -3, 3, []),
    "cosh": (np.cosh, -3, 3, []),
    "tanh": (np.tanh, -3, 3, []),
    "arcsinh": (np.arcsinh, -5, 5, []),
    "arccosh": (np.arccosh, 1.05, 10, []),
    "arctanh": (np.arctanh, -0.95, 0.95, []),
    "degrees": (np.degrees, -5, 5, []),
    "radians": (np.radians, -200, 200, []),
    "sigmoid": (lambda x: 1 / (1 + np.exp(-x)), -8, 8, [0.0]),
    "relu": (lambda x: np.maximum(x, 0), -5, 5, [0.0]),
    "softrelu": (lambda x: np.where(x > 20, x, np.log1p(np.exp(np.minimum(x, 20)))), -10, 10, [25.0, 30.0]),
    "softsign": (lambda x: x / (1 + np.abs(x)), -5, 5, []),
    "erf": (_erf, -3, 3, [0.0]),
    "gamma": (_gamma, 0.2, 5, [1.0, 3.0]),
    "gammaln": (_lgamma, 0.2, 10, [0.5, 3.0]),
    "reciprocal": (lambda x: 1 / x, 0.2, 5, [-0.5, -4.0]),
    "logical_not": (lambda x: (x == 0).astype(np.float64), -3, 3, [0.0, 0.0, 1.0]),
}

# functions where float32/float16 lose a few more ULPs than a correctly rounded op
_LOOSE = {"tan", "gamma", "gammaln", "sinh", "cosh", "expm1", "arccosh", "arctanh", "arcsinh", "erf", "cbrt",
          "rcbrt", "sigmoid", "softrelu", "degrees", "radians"}


def _nd(values, dtype):
    """An NDArray holding `values` (float64 numpy) converted to `dtype` on the host."""
    return mx.nd.array(np.asarray(values).astype(dtype), dtype=dtype)


def test_unary_table_covers_every_registered_unary_op():
    assert set(UNARY) == set(UNARY_REF), "update UNARY_REF with the new unary op's numpy reference"


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_float(name, dtype):
    ref, lo, hi, extra = UNARY_REF[name]
    rng = np.random.default_rng(RNG_SEED)
    if name in ("gamma", "gammaln") and dtype == "float16":
        hi = 3.5  # keep results small enough for float16's precision
    x = np.concatenate([rng.uniform(lo, hi, size=37), extra]).astype(dtype)
    x64 = x.astype(np.float64)
    with np.errstate(all="ignore"):
        expected = ref(x64)
    scale = 8.0 if name in _LOOSE else 2.0
    fn = getattr(mx.nd, name)
    out = fn(_nd(x, dtype))
    assert_close(out, expected, dtype, scale=scale, msg=f"mx.nd.{name} {dtype}")
    # the same op as an NDArray method, on a 2-D strided-free layout
    x2 = x[:36].reshape(4, 9)
    out2 = getattr(_nd(x2, dtype), name)()
    assert_close(out2, expected[:36].reshape(4, 9), dtype, scale=scale, msg=f"NDArray.{name} {dtype}")


# unary ops that are exact on integers, with their integer reference
INT_UNARY_REF = {
    "abs": np.abs,
    "sign": np.sign,
    "negative": np.negative,
    "square": np.square,
    "ceil": lambda x: x,
    "floor": lambda x: x,
    "round": lambda x: x,
    "rint": lambda x: x,
    "fix": lambda x: x,
    "trunc": lambda x: x,
    "relu": lambda x: np.maximum(x, 0),
    "reciprocal": lambda x: np.where(x == 0, 0, np.where(np.abs(x) == 1, x, 0)),
    "logical_not": lambda x: (x == 0).astype(np.int64),
}


def _int_values(dtype, rng, n=40, lo=None, hi=None):
    info = np.iinfo(dtype)
    lo = max(info.min, -11) if lo is None else lo
    hi = min(info.max, 11) if hi is None else hi
    return np.concatenate([rng.integers(lo, hi + 1, size=n), [0, 1, hi, lo]]).astype(np.int64)


@pytest.mark.parametrize("dtype", INT_DTYPES)
@pytest.mark.parametrize("name", sorted(INT_UNARY_REF))
def test_unary_int(name, dtype):
    rng = np.random.default_rng(RNG_SEED)
    x = _int_values(dtype, rng)
    expected = INT_UNARY_REF[name](x)
    out = getattr(mx.nd, name)(_nd(x, dtype))
    assert_close(out, expected, dtype, msg=f"mx.nd.{name} {dtype}")


def test_rounding_modes_match_mxnet():
    x = mx.nd.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, -1.7, 1.7])
    assert mx.nd.round(x).asnumpy().tolist() == [-3, -2, -1, 1, 2, 3, -2, 2]  # half away from zero
    assert mx.nd.rint(x).asnumpy().tolist() == [-3, -2, -1, 0, 1, 2, -2, 2]  # a tie goes to the floor
    assert mx.nd.fix(x).asnumpy().tolist() == [-2, -1, 0, 0, 1, 2, -1, 1]  # toward zero


def test_unary_int_wraps_like_c():
    x = mx.nd.array([-128, 5], dtype="int8")
    assert mx.nd.abs(x).asnumpy().tolist() == [-128, 5]
    u = mx.nd.array([0, 5, 255], dtype="uint8")
    assert mx.nd.negative(u).asnumpy().tolist() == [0, 251, 1]


def test_operator_neg_abs_pos():
    x = np.array([[-1.5, 2.0], [0.0, -3.0]])
    a = _nd(x, "float32")
    assert_close(-a, -x, "float32")
    assert_close(abs(a), np.abs(x), "float32")
    assert (+a) is a


# ---- binary -------------------------------------------------------------------------------------
FUNC_OF = {"add": "add", "sub": "subtract", "mul": "multiply", "div": "divide", "mod": "modulo",
           "power": "power", "maximum": "maximum", "minimum": "minimum", "hypot": "hypot",
           "equal": "equal", "not_equal": "not_equal", "greater": "greater", "greater_equal": "greater_equal",
           "lesser": "lesser", "lesser_equal": "lesser_equal", "logical_and": "logical_and",
           "logical_or": "logical_or", "logical_xor": "logical_xor"}
OPERATOR_OF = {"add": operator.add, "sub": operator.sub, "mul": operator.mul, "div": operator.truediv,
               "mod": operator.mod, "power": operator.pow, "equal": operator.eq, "not_equal": operator.ne,
               "greater": operator.gt, "greater_equal": operator.ge, "lesser": operator.lt,
               "lesser_equal": operator.le}
COMPARISONS = {"equal", "not_equal", "greater", "greater_equal", "lesser", "lesser_equal",
               "logical_and", "logical_or", "logical_xor"}


def _int_div(a, b):
    a, b = np.asarray(a, np.int64), np.asarray(b, np.int64)
    safe = np.where(b == 0, 1, b)
    q = np.abs(a) // np.abs(safe) * np.sign(a) * np.sign(safe)  # C division truncates
    return np.where(b == 0, 0, q)


def _int_mod(a, b):
    a, b = np.asarray(a, np.int64), np.asarray(b, np.int64)
    safe = np.where(b == 0, 1, b)
    return np.where(b == 0, 0, np.mod(a, safe))  # Python's sign: the divisor's


def binary_ref(base, a, b, is_int):
    """float64 (or int64, for integer dtypes) reference of broadcast_<base>."""
    with np.errstate(all="ignore"):
        if base == "add":
            return a + b
        if base == "sub":
            return a - b
        if base == "mul":
            return a * b
        if base == "div":
            return _int_div(a, b) if is_int else a / b
        if base == "mod":
            if is_int:
                return _int_mod(a, b)
            return np.where(b == 0, 0.0, np.mod(a, np.where(b == 0, 1, b)))
        if base == "power":
            return np.trunc(np.power(a.astype(float), b.astype(float))) if is_int else np.power(a, b)
        if base == "maximum":
            return np.maximum(a, b)
        if base == "minimum":
            return np.minimum(a, b)
        if base == "hypot":
            return np.trunc(np.hypot(a, b)) if is_int else np.hypot(a, b)
        cmp = {"equal": np.equal, "not_equal": np.not_equal, "greater": np.greater,
               "greater_equal": np.greater_equal, "lesser": np.less, "lesser_equal": np.less_equal}
        if base in cmp:
            return cmp[base](a, b).astype(np.int64)
        la, lb = a != 0, b != 0
        return {"logical_and": la & lb, "logical_or": la | lb, "logical_xor": la ^ lb}[base].astype(np.int64)


def binary_inputs(base, dtype, shape_a, shape_b, rng):
    """Operands in a range where `base` is exact enough in `dtype` and cannot overflow."""
    is_int = np.dtype(dtype).kind in "iu"
    if is_int:
        signed = dtype != "uint8"
        if base == "power":
            a = rng.integers(-3 if signed else 0, 4, size=shape_a)
            b = rng.integers(0, 4, size=shape_b)
        else:
            lim = {"int8": 10, "uint8": 15}.get(dtype, 100)
            a = rng.integers(-lim if signed else 0, lim + 1, size=shape_a)
            b = rng.integers(-lim if signed else 0, lim + 1, size=shape_b)
            if base in ("div", "mod"):
                b = np.where(rng.random(size=shape_b) < 0.15, 0, b)  # division by zero gives 0
        return a.astype(np.int64), b.astype(np.int64)
    if base == "power":
        return rng.uniform(0.1, 3, size=shape_a), rng.uniform(-2, 2, size=shape_b)
    if base in COMPARISONS or base in ("maximum", "minimum"):
        return rng.integers(-3, 4, size=shape_a).astype(float), rng.integers(-3, 4, size=shape_b).astype(float)
    a = rng.uniform(-5, 5, size=shape_a)
    b = rng.uniform(-5, 5, size=shape_b)
    if base in ("div", "mod"):
        b = np.where(np.abs(b) < 0.25, 0.5, b)
    return a, b


SHAPE_PAIRS = [((2, 3), (2, 3)), ((2, 1, 4), (3, 1)), ((), (3,)), ((4,), ()), ((0, 3), (1, 3)), ((1, 5), (2, 1))]


def _check_binary(base, dtype, sa, sb, rng, via="broadcast"):
    is_int = np.dtype(dtype).kind in "iu"
    a, b = binary_inputs(base, dtype, sa, sb, rng)
    a, b = np.asarray(a).astype(dtype), np.asarray(b).astype(dtype)
    a64, b64 = (a.astype(np.int64), b.astype(np.int64)) if is_int else (a.astype(float), b.astype(float))
    expected = binary_ref(base, a64, b64, is_int)
    x, y = _nd(a, dtype), _nd(b, dtype)
    if via == "broadcast":
        out = getattr(mx.nd, f"broadcast_{base}")(x, y)
    elif via == "function":
        out = getattr(mx.nd, FUNC_OF[base])(x, y)
    else:
        out = OPERATOR_OF[base](x, y)
    scale = 4.0 if base in ("power", "hypot") else 1.0
    assert_close(out, expected, dtype, scale=scale, msg=f"{base} {dtype} {sa} {sb} via {via}")


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("base", sorted(BINARY))
def test_broadcast_binary(base, dtype):
    rng = np.random.default_rng(RNG_SEED)
    for sa, sb in SHAPE_PAIRS:
        _check_binary(base, dtype, sa, sb, rng)


@pytest.mark.parametrize("dtype", ["float32", "int32"])
@pytest.mark.parametrize("base", sorted(BINARY))
def test_binary_functions_and_operators(base, dtype):
    rng = np.random.default_rng(RNG_SEED + 1)
    for sa, sb in SHAPE_PAIRS[:3]:
        _check_binary(base, dtype, sa, sb, rng, via="function")
        if base in OPERATOR_OF:
            _check_binary(base, dtype, sa, sb, rng, via="operator")


@given(shapes=mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, min_side=0, max_side=4),
       base=st.sampled_from(["add", "sub", "mul", "maximum", "greater", "mod"]),
       dtype=st.sampled_from(["float32", "int32"]),
       seed=st.integers(0, 2**31))
def test_broadcast_shapes_property(shapes, base, dtype, seed):
    (sa, sb), _ = shapes
    _check_binary(base, dtype, sa, sb, np.random.default_rng(seed))


@given(shapes=mutually_broadcastable_shapes(num_shapes=2, min_dims=1, max_dims=3, min_side=1, max_side=5))
def test_broadcast_operands_swapped(shapes):
    (sa, sb), _ = shapes
    rng = np.random.default_rng(7)
    a, b = rng.uniform(-3, 3, size=sa), rng.uniform(-3, 3, size=sb)
    x, y = _nd(a, "float64"), _nd(b, "float64")
    assert_close(y - x, b - a, "float64")
    assert_close(x / (y * y + 1), a / (b * b + 1), "float64")


@pytest.mark.parametrize("name", ["elemwise_add", "elemwise_sub", "elemwise_mul", "elemwise_div"])
def test_elemwise_strict(name):
    a = np.array([[1.0, -2.0, 3.0], [4.0, 5.0, -6.0]])
    b = np.array([[2.0, 4.0, -1.0], [0.5, 3.0, 2.0]])
    ref = {"elemwise_add": a + b, "elemwise_sub": a - b, "elemwise_mul": a * b, "elemwise_div": a / b}[name]
    assert_close(getattr(mx.nd, name)(_nd(a, "float32"), _nd(b, "float32")), ref, "float32")
    with pytest.raises(ValueError, match=name):
        getattr(mx.nd, name)(_nd(a, "float32"), _nd(b[:, :1], "float32"))


# ---- division and modulo semantics ----------------------------------------------------------------------
@pytest.mark.parametrize("dtype", INT_DTYPES)
def test_integer_division_and_modulo_by_zero_give_zero(dtype):
    a = np.array([5, 0, 7, 3], dtype=dtype)
    z = np.zeros(4, dtype=dtype)
    x, zero = _nd(a, dtype), _nd(z, dtype)
    assert (x / zero).asnumpy().tolist() == [0, 0, 0, 0]
    assert (x % zero).asnumpy().tolist() == [0, 0, 0, 0]
    assert (x / 0).asnumpy().tolist() == [0, 0, 0, 0]
    assert (x % 0).asnumpy().tolist() == [0, 0, 0, 0]
    assert (6 / zero).asnumpy().tolist() == [0, 0, 0, 0]
    assert (6 % zero).asnumpy().tolist() == [0, 0, 0, 0]
    assert mx.nd.broadcast_div(x, zero[:1]).asnumpy().tolist() == [0, 0, 0, 0]


@pytest.mark.parametrize("dtype", ["int32", "int64"])
def test_integer_min_divided_by_minus_one_does_not_trap(dtype):
    lo = np.iinfo(dtype).min
    x = mx.nd.array(np.array([lo, 6], dtype=dtype), dtype=dtype)
    m1 = mx.nd.array(np.array([-1, -1], dtype=dtype), dtype=dtype)
    assert (x / m1).asnumpy().tolist() == [lo, -6]  # wraps, no SIGFPE
    assert (x % m1).asnumpy().tolist() == [0, 0]


def test_float_division_by_zero_is_ieee():
    x = mx.nd.array([1.0, -1.0, 0.0])
    out = (x / mx.nd.zeros(3)).asnumpy()
    assert out[0] == np.inf and out[1] == -np.inf and np.isnan(out[2])
    assert (x % 0.0).asnumpy().tolist() == [0.0, 0.0, 0.0]  # MXNet: mod by 0 is 0


@pytest.mark.parametrize("dtype", ["float32", "float64", "int8", "int32", "int64"])
def test_modulo_takes_divisor_sign(dtype):
    a = [-7, 7, -7, 7, 6, -6]
    b = [3, 3, -3, -3, 3, -3]
    expected = [2, 1, -1, -2, 0, 0]  # Python: -7 % 3 == 2, 7 % -3 == -2
    x, y = _nd(a, dtype), _nd(b, dtype)
    assert (x % y).asnumpy().tolist() == expected
    assert mx.nd.modulo(x, y).asnumpy().tolist() == expected
    assert (x % 3).asnumpy().tolist() == [2, 1, 2, 1, 0, 0]
    assert (x % -3).asnumpy().tolist() == [-1, -2, -1, -2, 0, 0]
    assert (7 % y).asnumpy().tolist() == [1, 1, -2, -2, 1, -2]
    assert (-7 % y).asnumpy().tolist() == [2, 2, -1, -1, 2, -1]


def test_float_modulo_fractional():
    a = np.array([-5.5, 5.5, -0.25, 2.75])
    b = np.array([2.0, -2.0, 1.0, 0.5])
    assert_close(_nd(a, "float64") % _nd(b, "float64"), np.mod(a, b), "float64")
    assert_close(_nd(a, "float32") % 1.5, np.mod(a, 1.5), "float32")


def test_integer_division_truncates():
    x = mx.nd.array([-7, 7, -7, 7], dtype="int32")
    y = mx.nd.array([2, 2, -2, -2], dtype="int32")
    assert (x / y).asnumpy().tolist() == [-3, 3, 3, -3]
    assert (x / 2).asnumpy().tolist() == [-3, 3, -3, 3]


# ---- scalar ops ------------------------------------------------------------------------------------
SCALAR_NAMES = {"add": "plus", "sub": "minus", "mul": "mul", "div": "div", "mod": "mod", "power": "power"}
REFLECTED = {"sub", "div", "mod", "power"}


def _scalar_cases():
    for base in sorted(BINARY):
        sname = SCALAR_NAMES.get(base, base)
        dtypes = ALL_DTYPES if base in SCALAR_NAMES else ("float32", "int32")
        for dtype in dtypes:
            yield base, f"_{sname}_scalar", False, dtype
            if base in REFLECTED:
                yield base, f"_r{sname}_scalar", True, dtype


def _scalar_value(base, dtype, reflected):
    is_int = np.dtype(dtype).kind in "iu"
    if base == "power":
        return 2 if (reflected or is_int) else 1.5
    if base in COMPARISONS or base in ("maximum", "minimum"):
        return 1
    if is_int:
        return 3
    return 2.5 if base not in ("div", "mod") else -1.5


@pytest.mark.parametrize("base,opname,reflected,dtype", list(_scalar_cases()))
def test_scalar_ops(base, opname, reflected, dtype):
    rng = np.random.default_rng(RNG_SEED + 2)
    is_int = np.dtype(dtype).kind in "iu"
    a, _ = binary_inputs(base, dtype, (3, 5), (1,), rng)
    if base == "power" and reflected:
        a = rng.integers(0, 6, size=(3, 5)) if is_int else rng.uniform(-2, 2, size=(3, 5))
    a = np.asarray(a).astype(dtype)
    s = _scalar_value(base, dtype, reflected)
    a64 = a.astype(np.int64) if is_int else a.astype(float)
    s_arr = np.full_like(a64, s)
    expected = binary_ref(base, s_arr, a64, is_int) if reflected else binary_ref(base, a64, s_arr, is_int)
    x = _nd(a, dtype)
    op = getattr(mx.nd._internal, opname)
    scale = 4.0 if base in ("power", "hypot") else 1.0
    assert_close(op(x, scalar=s), expected, dtype, scale=scale, msg=f"{opname}({dtype}, {s})")
    # the mx.nd function with a scalar operand picks the same op, either side
    fn = getattr(mx.nd, FUNC_OF[base])
    via_fn = fn(s, x) if reflected else fn(x, s)
    assert_close(via_fn, expected, dtype, scale=scale, msg=f"mx.nd.{FUNC_OF[base]} {dtype} scalar")
    if base in OPERATOR_OF and base not in COMPARISONS:
        via_op = OPERATOR_OF[base](s, x) if reflected else OPERATOR_OF[base](x, s)
        assert_close(via_op, expected, dtype, scale=scale, msg=f"operator {base} {dtype} scalar")


@pytest.mark.parametrize("base", ["greater", "greater_equal", "lesser", "lesser_equal", "equal", "not_equal"])
def test_comparison_with_scalar_on_either_side(base):
    a = np.array([-2.0, 0.0, 1.0, 1.0, 3.0])
    x = _nd(a, "float32")
    fn = getattr(mx.nd, base)
    assert_close(fn(x, 1), binary_ref(base, a, np.ones(5), False), "float32")
    assert_close(fn(1, x), binary_ref(base, np.ones(5), a, False), "float32")
    py = OPERATOR_OF[base]
    assert_close(py(x, 1), binary_ref(base, a, np.ones(5), False), "float32")
    assert_close(py(1, x), binary_ref(base, np.ones(5), a, False), "float32")


def test_scalar_types_numpy_and_bool():
    x = mx.nd.array([1.0, 2.0])
    assert (x + np.float64(0.5)).asnumpy().tolist() == [1.5, 2.5]
    assert (np.int64(3) * x).asnumpy().tolist() == [3.0, 6.0]
    assert (x * True).asnumpy().tolist() == [1.0, 2.0]


# ---- where, clip, Cast ------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_where_same_shape(dtype):
    rng = np.random.default_rng(3)
    cond = rng.integers(0, 2, size=(3, 4)).astype(np.float32)
    xa, ya = rng.integers(0, 50, size=(3, 4)), rng.integers(50, 100, size=(3, 4))
    out = mx.nd.where(mx.nd.array(cond), _nd(xa, dtype), _nd(ya, dtype))
    assert_close(out, np.where(cond != 0, xa, ya), dtype)


@pytest.mark.parametrize("shape", [(4,), (4, 3), (4, 2, 5), (0, 3)])
def test_where_one_dimensional_condition_selects_rows(shape):
    rng = np.random.default_rng(4)
    cond = np.array([1, 0, 0, 2], dtype=np.int32)[: shape[0]]
    xa, ya = rng.uniform(size=shape), rng.uniform(size=shape)
    out = mx.nd.where(mx.nd.array(cond, dtype="int32"), _nd(xa, "float64"), _nd(ya, "float64"))
    expected = np.where(cond.reshape((-1,) + (1,) * (len(shape) - 1)) != 0, xa, ya)
    assert_close(out, expected, "float64")


def test_where_errors():
    x = mx.nd.ones((2, 3))
    with pytest.raises(ValueError, match="where"):
        mx.nd.where(mx.nd.ones((3,)), x, x)
    with pytest.raises(ValueError, match="where"):
        mx.nd.where(mx.nd.ones((2, 3)), x, mx.nd.ones((3, 2)))
    with pytest.raises(TypeError, match="where"):
        mx.nd.where(mx.nd.ones((2, 3)), x, mx.nd.ones((2, 3), dtype="int32"))


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_clip(dtype):
    rng = np.random.default_rng(5)
    a = rng.integers(0, 20, size=(5, 7)) if dtype == "uint8" else rng.integers(-20, 20, size=(5, 7))
    a = a.astype(dtype)
    lo, hi = (2, 9) if dtype == "uint8" else (-4, 6)
    assert_close(mx.nd.clip(_nd(a, dtype), lo, hi), np.clip(a.astype(float), lo, hi), dtype)
    assert_close(_nd(a, dtype).clip(a_min=lo, a_max=hi), np.clip(a.astype(float), lo, hi), dtype)


def test_clip_fractional_bounds():
    a = np.linspace(-2, 2, 17)
    assert_close(mx.nd.clip(_nd(a, "float64"), -0.75, 1.25), np.clip(a, -0.75, 1.25), "float64")
    with pytest.raises(ValueError, match="clip"):
        mx.nd.clip(_nd(a, "float64"))  # a_min and a_max are required


def _cast_values(src, dst):
    vals = [0.0, 1.0, 2.5, 7.9, 100.0, 127.0]
    if "uint8" not in (src, dst):
        vals += [-1.0, -2.5, -7.9, -128.0]
    if src not in FLOAT_DTYPES:
        vals = [math.trunc(v) for v in vals]
    return np.array(vals)


@pytest.mark.parametrize("dst", ALL_DTYPES)
@pytest.mark.parametrize("src", ALL_DTYPES)
def test_cast_between_all_dtypes(src, dst):
    a = _cast_values(src, dst).astype(src)
    x = _nd(a, src)
    out = mx.nd.Cast(x, dtype=dst)
    assert out.dtype == np.dtype(dst).type
    np.testing.assert_array_equal(out.asnumpy(), a.astype(dst))  # C and numpy both truncate toward zero
    np.testing.assert_array_equal(mx.nd.cast(x, dst).asnumpy(), a.astype(dst))
    np.testing.assert_array_equal(x.astype(dst).asnumpy(), a.astype(dst))


def test_cast_large_values():
    a = np.array([2**40 + 3, -(2**40) - 7], dtype=np.int64)
    x = mx.nd.array(a, dtype="int64")
    np.testing.assert_array_equal(x.astype("float64").asnumpy(), a.astype(np.float64))
    f = mx.nd.array(np.array([70000.0, 1e-8]), dtype="float32").astype("float16").asnumpy()
    assert f[0] == np.inf and f[1] == np.float16(1e-8)


def test_copy_and_identity():
    a = np.arange(6.0).reshape(2, 3)
    x = _nd(a, "float32")
    for y in (mx.nd.identity(x), mx.nd._internal._copy(x), x.copy()):
        assert_close(y, a, "float32")
        assert y._data is not x._data


# ---- errors --------------------------------------------------------------------------------------
def test_incompatible_broadcast_names_op_and_shapes():
    x, y = mx.nd.ones((2, 3)), mx.nd.ones((4,))
    for call, op in [(lambda: mx.nd.broadcast_add(x, y), "broadcast_add"),
                     (lambda: x + y, "broadcast_add"),
                     (lambda: mx.nd.maximum(x, y), "broadcast_maximum"),
                     (lambda: x < y, "broadcast_lesser")]:
        with pytest.raises(mx.MXNetError) as e:
            call()
        assert isinstance(e.value, ValueError)
        msg = str(e.value)
        assert op in msg and "(2, 3)" in msg and "(4,)" in msg, msg


def test_zero_size_broadcast_against_non_one_is_an_error():
    with pytest.raises(ValueError, match=r"\(0,\).*\(3,\)"):
        mx.nd.ones((0,)) * mx.nd.ones((3,))


def test_dtype_mismatch_names_op_and_dtypes():
    with pytest.raises(TypeError, match=r"broadcast_add.*float32.*int32"):
        mx.nd.ones(3) + mx.nd.ones(3, dtype="int32")


@pytest.mark.parametrize("bad", [3, 2.5, "x", [1, 2], None])
def test_wrong_argument_type_names_op(bad):
    with pytest.raises(TypeError, match="exp"):
        mx.nd.exp(bad)
    with pytest.raises(TypeError, match="broadcast_add"):
        mx.nd.broadcast_add(mx.nd.ones(2), bad)
    with pytest.raises(TypeError, match="where"):
        mx.nd.where(bad, mx.nd.ones(2), mx.nd.ones(2))


@pytest.mark.parametrize("bad", ["x", [1, 2], None])
def test_wrong_operand_type_for_arith_names_function(bad):
    with pytest.raises(TypeError, match="add"):
        mx.nd.add(mx.nd.ones(2), bad)
    with pytest.raises(TypeError, match="subtract"):
        mx.nd.subtract(bad, mx.nd.ones(2))
    with pytest.raises(TypeError):
        mx.nd.ones(2) + bad
    with pytest.raises(TypeError, match="add"):
        mx.nd.add(1, 2)


def test_unknown_dtype_raises_type_error():
    x = mx.nd.ones(2)
    with pytest.raises(TypeError, match="bogus"):
        x.astype("bogus")
    with pytest.raises(TypeError, match="Cast"):
        mx.nd.Cast(x, dtype="bogus")
    with pytest.raises(TypeError, match="complex64"):
        mx.nd.Cast(x, dtype="complex64")


def test_unknown_attribute_is_an_error():
    with pytest.raises(ValueError, match="clip.*a_mid"):
        mx.nd.clip(mx.nd.ones(2), a_min=0, a_max=1, a_mid=3)


# ---- large arrays: the OpenMP path and the asynchronous engine -------------------------------------
@pytest.mark.parametrize("dtype", ["float32", "float16", "int64"])
def test_large_broadcast_and_unary(dtype):
    rng = np.random.default_rng(11)
    a = rng.integers(-50, 50, size=(257, 513)).astype(dtype)
    b = rng.integers(1, 9, size=(257, 1)).astype(dtype)
    x, y = _nd(a, dtype), _nd(b, dtype)
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    assert_close(x + y, a64 + b64, dtype)
    assert_close(y * x, a64 * b64, dtype)
    assert_close(x % y, np.mod(a64, b64), dtype)
    assert_close(mx.nd.abs(x), np.abs(a64), dtype)
    assert_close(mx.nd.maximum(x, 0), np.maximum(a64, 0), dtype)
