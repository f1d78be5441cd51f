"""Tensor types and the dtype table shared by every layer.

`flag` is MXNet's type_flag (mshadow), used by the .params format and symbol JSON.
`ctype` is the storage type in generated C; `acc` is the type arithmetic runs in
(float16 computes in float, small integers in int32) so one expression snippet
serves every dtype.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class DType:
    name: str
    ctype: str
    acc: str
    flag: int
    is_float: bool
    itemsize: int

    @property
    def np(self):
        return np.dtype(self.name)


DTYPES: dict[str, DType] = {
    d.name: d
    for d in (
        DType("float32", "float", "float", 0, True, 4),
        DType("float64", "double", "double", 1, True, 8),
        DType("float16", "_Float16", "float", 2, True, 2),
        DType("uint8", "uint8_t", "int32_t", 3, False, 1),
        DType("int32", "int32_t", "int32_t", 4, False, 4),
        DType("int8", "int8_t", "int32_t", 5, False, 1),
        DType("int64", "int64_t", "int64_t", 6, False, 8),
    )
}
DTYPE_BY_FLAG = {d.flag: d for d in DTYPES.values()}
DEFAULT_DTYPE = "float32"


def dtype_name(dtype) -> str:
    """Normalise anything numpy or MXNet calls a dtype to one of DTYPES' names."""
    if dtype is None:
        return DEFAULT_DTYPE
    if isinstance(dtype, str) and dtype in DTYPES:
        return dtype
    try:
        name = np.dtype(dtype).name
    except TypeError:
        name = None
    if name not in DTYPES:
        raise TypeError(
            f"unsupported dtype {dtype!r}; expected one of {', '.join(DTYPES)}"
        )
    return name


@dataclass(frozen=True)
class TensorType:
    """Shape and dtype of a Value. A dim of None is not yet known (partial inference)."""

    shape: tuple | None
    dtype: str = DEFAULT_DTYPE

    def __post_init__(self):
        if self.dtype not in DTYPES:
            raise TypeError(f"TensorType: unknown dtype {self.dtype!r}")
        if self.shape is not None:
            object.__setattr__(self, "shape", tuple(None if d is None else int(d) for d in self.shape))

    @property
    def ndim(self):
        return None if self.shape is None else len(self.shape)

    @property
    def known(self) -> bool:
        return self.shape is not None and all(d is not None for d in self.shape)

    @property
    def size(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n

    @property
    def nbytes(self) -> int:
        return self.size * DTYPES[self.dtype].itemsize

    def __str__(self):
        if self.shape is None:
            return f"{self.dtype}[?]"
        return f"{self.dtype}[{','.join('?' if d is None else str(d) for d in self.shape)}]"
