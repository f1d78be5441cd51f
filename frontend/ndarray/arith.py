"""Python operators and MXNet's array-or-scalar functions (add, subtract, ..., equal, ...)."""
from __future__ import annotations

import numbers

from ..ir import registry
from .invoke import invoke

# python name: (broadcast op, scalar op, reflected scalar op or None when commutative)
BINARY_FUNCS = {
    "add": ("broadcast_add", "_plus_scalar", None),
    "subtract": ("broadcast_sub", "_minus_scalar", "_rminus_scalar"),
    "multiply": ("broadcast_mul", "_mul_scalar", None),
    "divide": ("broadcast_div", "_div_scalar", "_rdiv_scalar"),
    "true_divide": ("broadcast_div", "_div_scalar", "_rdiv_scalar"),
    "modulo": ("broadcast_mod", "_mod_scalar", "_rmod_scalar"),
    "power": ("broadcast_power", "_power_scalar", "_rpower_scalar"),
    "maximum": ("broadcast_maximum", "_maximum_scalar", None),
    "minimum": ("broadcast_minimum", "_minimum_scalar", None),
    "hypot": ("broadcast_hypot", "_hypot_scalar", None),
    "equal": ("broadcast_equal", "_equal_scalar", None),
    "not_equal": ("broadcast_not_equal", "_not_equal_scalar", None),
    "greater": ("broadcast_greater", "_greater_scalar", "_lesser_scalar"),
    "greater_equal": ("broadcast_greater_equal", "_greater_equal_scalar", "_lesser_equal_scalar"),
    "lesser": ("broadcast_lesser", "_lesser_scalar", "_greater_scalar"),
    "lesser_equal": ("broadcast_lesser_equal", "_lesser_equal_scalar", "_greater_equal_scalar"),
    "logical_and": ("broadcast_logical_and", "_logical_and_scalar", None),
    "logical_or": ("broadcast_logical_or", "_logical_or_scalar", None),
    "logical_xor": ("broadcast_logical_xor", "_logical_xor_scalar", None),
}

_ops: dict = {}


def _op(name):
    o = _ops.get(name)
    if o is None:
        o = _ops[name] = registry.get(name)
    return o


_NDArray = None  # set by install_operators


def binary(fname, lhs, rhs, out=None):
    """MXNet's _ufunc_helper: array-array broadcasts, array-scalar uses the scalar op."""
    NDArray = _NDArray
    bop, sop, rop = BINARY_FUNCS[fname]
    if isinstance(lhs, NDArray):
        if isinstance(rhs, NDArray):
            return invoke(_op(bop), [lhs, rhs], {}, out=out)
        if isinstance(rhs, numbers.Number):
            return invoke(_op(sop), [lhs], {"scalar": rhs}, out=out)
    elif isinstance(rhs, NDArray) and isinstance(lhs, numbers.Number):
        return invoke(_op(rop or sop), [rhs], {"scalar": lhs}, out=out)
    elif isinstance(lhs, numbers.Number) and isinstance(rhs, numbers.Number):
        raise TypeError(f"{fname}: at least one argument must be an NDArray, got two numbers")
    raise TypeError(f"{fname}: unsupported operand types {type(lhs).__name__} and {type(rhs).__name__}; "
                    f"expected NDArray or a number")


def _make_func(fname):
    def f(lhs, rhs, out=None):
        return binary(fname, lhs, rhs, out=out)

    f.__name__ = fname
    f.__doc__ = f"{fname}(lhs, rhs): elementwise, NDArray or scalar operands, broadcasting."
    return f


FUNCS = {name: _make_func(name) for name in BINARY_FUNCS}

# dunder: (function, reflected?)
_DUNDER = {
    "add": "add", "sub": "subtract", "mul": "multiply", "truediv": "divide", "div": "divide",
    "mod": "modulo", "pow": "power",
}
_COMPARE = {"eq": "equal", "ne": "not_equal", "gt": "greater", "ge": "greater_equal",
            "lt": "lesser", "le": "lesser_equal"}


def _fast(fname, reflected):
    """An operator with the common cases (NDArray or float/int operand) resolved up front."""
    bop, sop, rop = (_op(n) if n else None for n in BINARY_FUNCS[fname])
    rop = rop or sop
    cls = _NDArray

    if reflected:
        def f(self, other):
            if type(other) in (float, int):
                return invoke(rop, [self], {"scalar": other})
            return binary(fname, other, self)
    else:
        def f(self, other):
            t = type(other)
            if t is cls:
                return invoke(bop, [self, other], {})
            if t in (float, int):
                return invoke(sop, [self], {"scalar": other})
            return binary(fname, self, other)
    return f


def install_operators(cls) -> None:
    global _NDArray
    _NDArray = cls
    for d, fname in _DUNDER.items():
        setattr(cls, f"__{d}__", _fast(fname, False))
        setattr(cls, f"__r{d}__", _fast(fname, True))

        def inplace(self, other, f=fname):
            if not self.writable:
                raise ValueError("trying to modify a read-only NDArray")
            return binary(f, self, other, out=self)

        setattr(cls, f"__i{d}__", inplace)
    for d, fname in _COMPARE.items():
        setattr(cls, f"__{d}__", _fast(fname, False))
    cls.__neg__ = lambda self: invoke(_op("negative"), [self], {})
    cls.__pos__ = lambda self: self
    cls.__abs__ = lambda self: invoke(_op("abs"), [self], {})
    cls.writable = True
