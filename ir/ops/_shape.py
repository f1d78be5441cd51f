"""Shape helpers shared by op definitions (host-side bookkeeping only)."""
from __future__ import annotations

import math

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


def infer_reshape(src: tuple, target, reverse: bool = False, op: str = "reshape") -> tuple:
    """MXNet's reshape codes: 0 copies a dim, -1 infers one, -2 copies the rest, -3 merges two,
    -4 splits one into the next two values (either may be -1). `reverse` reads right to left."""
    target = tuple(int(d) for d in target)
    src = tuple(int(d) for d in src)
    if reverse:
        out = infer_reshape(tuple(reversed(src)), _reverse_codes(target), False, op)
        return tuple(reversed(out))
    out, i, j, infer_at = [], 0, 0, None

    def fail(why):
        raise ShapeError(f"{op}: cannot reshape array of shape {fmt(src)} into {fmt(target)}: {why}")

    while j < len(target):
        d = target[j]
        if d > 0:
            out.append(d)
            i += 1
        elif d == 0:
            if i >= len(src):
                fail(f"code 0 at position {j} has no input dimension to copy")
            out.append(src[i])
            i += 1
        elif d == -1:
            if infer_at is not None:
                fail("more than one -1")
            infer_at = len(out)
            out.append(1)
            i += 1
        elif d == -2:
            out.extend(src[i:])
            i = len(src)
        elif d == -3:
            if i + 1 >= len(src):
                fail(f"code -3 at position {j} needs two input dimensions")
            out.append(src[i] * src[i + 1])
            i += 2
        elif d == -4:
            if j + 2 >= len(target) or i >= len(src):
                fail(f"code -4 at position {j} needs two following values and an input dimension")
            a, b = target[j + 1], target[j + 2]
            n = src[i]
            if a == -1 and b == -1:
                fail("code -4 cannot infer both factors")
            if a == -1:
                if b <= 0 or n % b:
                    fail(f"{n} is not divisible by {b}")
                a = n // b
            if b == -1:
                if a <= 0 or n % a:
                    fail(f"{n} is not divisible by {a}")
                b = n // a
            if a < 0 or b < 0 or a * b != n:
                fail(f"{a} x {b} != {n}")
            out.extend([a, b])
            i += 1
            j += 2
        else:
            fail(f"invalid code {d}")
        j += 1
    total = math.prod(src)
    if infer_at is not None:
        rest = math.prod(out)  # the -1 slot holds 1
        if rest == 0 or total % rest:
            fail(f"the size {total} is not divisible by {rest}")
        out[infer_at] = total // rest
    if math.prod(out) != total:
        fail(f"size {total} does not match size {math.prod(out)}")
    return tuple(out)


def _reverse_codes(target):
    # "-4 a b" reads left to right; reversed, the pair comes first and in reverse order
    t = list(reversed(target))
    k = 0
    while k < len(t):
        if k + 2 < len(t) and t[k + 2] == -4:
            t[k], t[k + 1], t[k + 2] = -4, t[k], t[k + 1]
            k += 3
        else:
            k += 1
    return tuple(t)
