"""A valid example signature for every op: input types and attributes it accepts.

Used by the registry walk in the tests (every op lowers and compiles) and by
tools/gen_ops_doc.py (which kernel family each op lowers to). Most ops are served by
a generic guess; the table lists those that need particular inputs.
"""
from __future__ import annotations

from .registry import Lowering
from .types import TensorType

F = "float32"
I = "int64"
_GEOM = {"shape": (2, 4), "strides": (0, 1), "offset": 0, "idx_strides": (1, 0), "axes": (0,)}

# Inputs ((shape, dtype) per input) and attributes for ops the generic guess below cannot satisfy.
SAMPLES = {
    "pick": [([((2, 3), F), ((2,), F)], {})],
    "take": [([((3, 4), F), ((2,), I)], {})],
    "scatter_nd": [([((3,), F), ((2, 3), I)], {"shape": (4, 5)})],
    "_scatter_set_nd": [([((4, 5), F), ((3,), F), ((2, 3), I)], {"shape": (4, 5)})],
    "gather_nd": [([((4, 5), F), ((2, 3), I)], {})],
    "_index_get": [([((3, 4), F), ((1, 2), I)], _GEOM)],
    "_index_set": [([((3, 4), F), ((1,), F), ((1, 2), I)], _GEOM)],
    "batch_dot": [([((2, 3, 4), F), ((2, 4, 5), F)], {})],
    "Reshape": [([((2, 3), F)], {"shape": (3, 2)})],
    "broadcast_to": [([((1, 3), F)], {"shape": (2, 3)})],
    "_slice_assign": [([((4, 5), F), ((2, 5), F)], {"begin": (0,), "end": (2,)})],
    "Pad": [([((1, 1, 2, 3), F)], {"mode": "constant", "pad_width": (0, 0, 0, 0, 1, 1, 1, 1)})],
    "one_hot": [([((4,), "int32")], {"depth": 3})],
    "Cast": [([((2, 3), F)], {"dtype": "int32"})],
    "clip": [([((2, 3), F)], {"a_min": -1.0, "a_max": 1.0})],
    "_full": [([], {"shape": (2, 3), "value": 2.0})],
    "_arange": [([], {"start": 0.0, "stop": 5.0})],
    "_linspace": [([], {"start": 0.0, "stop": 1.0, "num": 5})],
    "_eye": [([], {"N": 3})],
    "where": [([((2, 3), F), ((2, 3), F), ((2, 3), F)], {})],
    "_random_randint": [([], {"low": 0, "high": 10, "shape": (2, 3)})],
}

# a value for each required attribute kind, when an op has no sample
_FILL = {"int": 1, "float": 0.5, "bool": False, "shape": (2, 3), "axes": (0,), "axis": 0, "dtype": "float32",
         "str": "", "floats": (1.0,), "optints": (0,)}
_SHAPES = [(2, 3), (2, 3, 4), (4,), (2, 3, 4, 5), (1, 3, 4, 4)]


def guesses(op):
    yield from SAMPLES.get(op.name, [])
    n = 2 if op.variadic else len(op.inputs)
    attrs = {k: (sorted(a.choices)[0] if a.kind == "enum" and a.choices else _FILL[a.kind])
             for k, a in op.attrs.items() if a.required}
    for s in _SHAPES:
        yield [(s, F)] * n, attrs


def find_sample(op):
    """((in_types, parsed attrs, out_types, Lowering), []) for the first valid guess, or (None, errors)."""
    errors = []
    for ins, attrs in guesses(op):
        in_types = [TensorType(s, d) for s, d in ins]
        try:
            parsed = op.parse_attrs(attrs)
            out_types = op.infer_types(in_types, parsed)
        except (ValueError, TypeError) as e:
            errors.append(f"{[str(t) for t in in_types]} {attrs}: {e}")
            continue
        low: Lowering = op.lower(in_types, out_types, parsed)
        return (in_types, parsed, out_types, low), errors
    return None, errors
