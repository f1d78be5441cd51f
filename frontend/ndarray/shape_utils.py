"""MXNet's reshape codes (0 copy, -1 infer, -2 copy rest, -3 merge two, -4 split one)."""
from __future__ import annotations

import math


def infer_reshape(src: tuple, target, reverse: bool = False) -> tuple:
    target = tuple(int(d) for d in target)
    if reverse:
        out = infer_reshape(tuple(reversed(src)), _reverse_codes(target), False)
        return tuple(reversed(out))
    out, i, j, infer_at = [], 0, 0, None

    def fail(why):
        raise ValueError(f"reshape: cannot reshape array of shape {src} into {target}: {why}")

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
                if b == 0 or n % b:
                    fail(f"{n} is not divisible by {b}")
                a = n // b
            if b == -1:
                if a == 0 or n % a:
                    fail(f"{n} is not divisible by {a}")
                b = n // a
            if a * b != n:
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
    # -4 a b reads left to right; reversed, the pair comes before the code
    t = list(reversed(target))
    k = 0
    while k < len(t):
        if k + 2 < len(t) and t[k + 2] == -4:
            t[k], t[k + 1], t[k + 2] = -4, t[k + 1], t[k]
            k += 3
        else:
            k += 1
    return tuple(t)
