"""Errors and small shared helpers of the user-facing package."""
from .ir.errors import MXNetError, ShapeError

__all__ = ["MXNetError", "ShapeError"]
