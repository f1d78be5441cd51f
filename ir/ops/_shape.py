"""Shape helpers shared by op definitions (host-side bookkeeping only)."""
from __future__ import annotations

from ..registry import ShapeError


def fmt(shape) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def broadcast_shapes(op: str, *shapes) -> tuple:
    """NumPy broadcasting; names the op and the shapes when they do not broadcast."""
    nd = max(len(s) for s in shapes)
    out = []
    for k in range(nd):
        dims = {s[len(s) - nd + k] for s in shapes if len(s) - nd + k >= 0}
        dims.discard(1)
        if len(dims) > 1:
            raise ShapeError(
                f"{op}: shapes {', '.join(fmt(s) for s in shapes)} cannot be broadcast together "
                f"(dimension {k} of the result has sizes {sorted(dims)})"
            )
        out.append(dims.pop() if dims else 1)
    return tuple(out)


def normalize_axis(op: str, axis: int, ndim: int, name: str = "axis") -> int:
    if not -ndim <= axis < ndim:
        raise ShapeError(f"{op}: {name}={axis} is out of range for an array of {ndim} dimension(s) "
                         f"(expected {-ndim} <= {name} < {ndim})")
    return axis % ndim


def normalize_axes(op: str, axes, ndim: int, name: str = "axis") -> tuple:
    out = tuple(normalize_axis(op, a, ndim, name) for a in axes)
    if len(set(out)) != len(out):
        raise ShapeError(f"{op}: repeated axis in {name}={tuple(axes)}")
    return out


def contiguous_strides(shape) -> tuple:
    """Element strides of a C-contiguous array of `shape`."""
    strides, acc = [], 1
    for d in reversed(shape):
        strides.append(acc)
        acc *= d
    return tuple(reversed(strides))


def broadcast_strides(shape, out_shape) -> tuple:
    """Element strides that read a contiguous `shape` as if broadcast to `out_shape`."""
    st = contiguous_strides(shape)
    pad = len(out_shape) - len(shape)
    tail = zip(shape, st, out_shape[pad:])
    return (0,) * pad + tuple(0 if d == 1 and o != 1 else s for d, s, o in tail)
