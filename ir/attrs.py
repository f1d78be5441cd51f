"""Typed operator attributes.

Every attribute is parsed and validated once, whether it arrives as a Python value
(`axis=(0, 1)`) or as MXNet's JSON string form (`"(0, 1)"`, `"True"`, `"None"`).
A parsed value is always hashable, so attributes can key kernel caches.
"""
from __future__ import annotations

import ast
import math

from .types import DTYPES, dtype_name


class AttrError(ValueError):
    pass


class AttrTypeError(AttrError, TypeError):
    """An unknown dtype: a TypeError, as for mx.nd.zeros(dtype=...) and astype()."""


_MISSING = object()


class Attr:
    """One attribute of an op: kind, default, and validation."""

    def __init__(self, kind: str, default=_MISSING, choices=None, low=None, doc=""):
        assert kind in ("int", "float", "bool", "shape", "axes", "axis", "dtype", "enum", "str", "floats",
                        "optints")
        self.kind, self.default, self.choices, self.low, self.doc = kind, default, choices, low, doc

    @property
    def required(self):
        return self.default is _MISSING

    def parse(self, op: str, name: str, value):
        if value is None or (isinstance(value, str) and value.strip() == "None"):
            if self.required and self.kind != "axis":
                raise AttrError(f"{op}: attribute '{name}' is required, got None")
            return None
        try:
            out = getattr(self, "_" + self.kind)(value)
        except (ValueError, TypeError, SyntaxError) as e:
            cls = AttrTypeError if self.kind == "dtype" else AttrError
            raise cls(f"{op}: bad value {value!r} for attribute '{name}' ({self.kind} expected): {e}") from None
        if self.choices is not None and out not in self.choices:
            raise AttrError(f"{op}: attribute '{name}' must be one of {sorted(self.choices)}, got {value!r}")
        if self.low is not None and out is not None and self.kind in ("int", "float") and out < self.low:
            raise AttrError(f"{op}: attribute '{name}' must be >= {self.low}, got {value!r}")
        return out

    @staticmethod
    def _literal(v):
        if isinstance(v, str):
            return ast.literal_eval(v.strip()) if v.strip() else ()
        return v

    def _int(self, v):
        v = self._literal(v)
        if isinstance(v, bool) or not isinstance(v, (int,)) and not (hasattr(v, "__index__")):
            if isinstance(v, float) and v.is_integer():
                return int(v)
            raise TypeError(f"not an integer: {v!r}")
        return int(v)

    def _float(self, v):
        if isinstance(v, str):
            s = v.strip().lower()
            if s in ("inf", "+inf", "-inf", "nan"):
                return float(s)
            v = ast.literal_eval(v.strip())
        if isinstance(v, bool):
            return float(v)
        f = float(v)
        return f

    def _bool(self, v):
        if isinstance(v, str):
            s = v.strip()
            if s in ("True", "true", "1"):
                return True
            if s in ("False", "false", "0"):
                return False
            raise ValueError(f"not a boolean: {v!r}")
        if isinstance(v, (bool, int)) or hasattr(v, "__bool__"):
            return bool(v)
        raise TypeError(f"not a boolean: {v!r}")

    def _ints(self, v):
        v = self._literal(v)
        if isinstance(v, (int,)) or hasattr(v, "__index__") and not isinstance(v, (tuple, list)):
            return (int(v),)
        out = []
        for x in v:
            if isinstance(x, bool) or not (isinstance(x, int) or hasattr(x, "__index__")):
                raise TypeError(f"not an integer: {x!r}")
            out.append(int(x))
        return tuple(out)

    def _shape(self, v):
        return self._ints(v)

    def _axes(self, v):
        return self._ints(v)

    def _axis(self, v):
        return self._int(v)

    def _optints(self, v):
        """A tuple of int-or-None (MXNet's Tuple<optional<int>>: slice's begin/end/step)."""
        v = self._literal(v)
        if not isinstance(v, (tuple, list)):
            v = (v,)
        return tuple(None if x is None else self._int(x) for x in v)

    def _floats(self, v):
        v = self._literal(v)
        if isinstance(v, (int, float)):
            return (float(v),)
        return tuple(float(x) for x in v)

    def _dtype(self, v):
        return dtype_name(v)

    def _enum(self, v):
        return str(v)

    def _str(self, v):
        return str(v)


def parse_attrs(op: str, schema: dict, given: dict) -> dict:
    """Validate `given` against `schema`; returns a full dict with defaults filled in."""
    unknown = set(given) - set(schema)
    if unknown:
        raise AttrError(
            f"{op}: unknown attribute(s) {sorted(unknown)}; expected some of {sorted(schema) or 'none'}"
        )
    out = {}
    for name, attr in schema.items():
        if name in given:
            out[name] = attr.parse(op, name, given[name])
        elif attr.required:
            raise AttrError(f"{op}: missing required attribute '{name}'")
        else:
            out[name] = attr.default
    return out


def attr_to_string(value) -> str:
    """MXNet's JSON spelling of an attribute value."""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, tuple):
        return "(" + ", ".join(attr_to_string(x) for x in value) + ("," if len(value) == 1 else "") + ")"
    if isinstance(value, float):
        if math.isinf(value) or math.isnan(value):
            return str(value)
        return repr(value)
    return str(value)


__all__ = ["Attr", "AttrError", "AttrTypeError", "parse_attrs", "attr_to_string", "DTYPES"]
