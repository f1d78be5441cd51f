"""Helpers shared by the neural-network layer ops (nn_*.py): dtype checks, composite lowerings."""
from __future__ import annotations

import math

from ..registry import Lowering, ShapeError, get
from ..types import DTYPES, TensorType


def check_float(op: str, name: str, t: TensorType) -> None:
    if not DTYPES[t.dtype].is_float:
        raise TypeError(f"{op}: input '{name}' must be float16, float32 or float64, got {t.dtype}")


def check_same_dtype(op: str, names, types) -> None:
    first = types[0].dtype
    for n, t in zip(names[1:], types[1:]):
        if t.dtype != first:
            raise TypeError(f"{op}: input '{n}' has dtype {t.dtype}, expected {first} (the dtype of '{names[0]}')")


def raise_shape(op: str, msg: str):
    raise ShapeError(f"{op}: {msg}")


def parsed(node) -> dict:
    """A node's attributes parsed (gradient rules see them as given)."""
    return get(node.op).parse_attrs(node.attrs)


def shape3(shape, axis):
    """(outer, n, inner) of `shape` split around `axis` (host bookkeeping)."""
    return math.prod(shape[:axis]), shape[axis], math.prod(shape[axis + 1:])


def step(part: int, args: dict, ins=(), outs=(0,)) -> dict:
    """One step of a composite lowering: run `part` with `args`; its input i is ins[i]
    (("in" | "out", j)) and its output i is the op's output outs[i]."""
    return {"part": part, "args": args, "ins": tuple(ins), "outs": tuple(outs)}


def composite(parts, steps) -> Lowering:
    """Several kernels of other families as one op (codegen/families/composite.py).
    parts: ((family, params), ...) or Lowerings (their args are ignored)."""
    ps = tuple((p.family, p.params) if isinstance(p, Lowering) else (p[0], p[1]) for p in parts)
    return Lowering("composite", {"parts": ps}, {"steps": tuple(steps)})
