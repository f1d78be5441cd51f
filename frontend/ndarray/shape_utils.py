"""MXNet's reshape codes (0 copy, -1 infer, -2 copy rest, -3 merge two, -4 split one).

One copy of the logic lives in ir/ops/_shape.py, where the Reshape op's inference uses it.
"""
from ..ir.ops._shape import infer_reshape  # noqa: F401  (re-exported for NDArray.reshape)
