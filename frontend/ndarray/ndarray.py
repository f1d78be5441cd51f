"""NDArray: a handle on host (or device) storage that ops run on through generated kernels.

Storage is a C-contiguous numpy array that only holds bytes. A view (first-axis slice,
integer index, reshape) shares its root's storage and its engine Var, so reads wait
for pending writes to any part of it.
"""
from __future__ import annotations

import numpy as np

from .. import runtime
from ..context import Context, current_context
from ..ir import DTYPES, dtype_name, registry
from ..ir.errors import MXNetError
from ..runtime.memory import host_pool
from . import invoke as _invoke_mod
from .invoke import ctx_engine, invoke


class NDArray:
    __slots__ = ("_data", "_ctx", "_var", "_ptr_cache", "_grad", "_grad_req", "_ag", "__weakref__")
    __array_priority__ = 1000.0  # numpy defers to NDArray's reflected operators

    def __init__(self, data: np.ndarray, ctx: Context | None = None, var=None):
        self._data = data
        self._ctx = ctx or current_context()
        self._var = var if var is not None else runtime.Var(ctx_engine(self._ctx))
        self._ptr_cache = None
        self._grad = None
        self._grad_req = "null"
        self._ag = None
        if var is not None and _invoke_mod._hook is not None:  # a view made while recording
            from .. import autograd

            autograd._link_view(self)

    @property
    def _ptr(self) -> int:
        p = self._ptr_cache
        if p is None:
            p = self._ptr_cache = self._data.ctypes.data
        return p

    # -- attributes ------------------------------------------------------------------------
    @property
    def shape(self) -> tuple:
        return self._data.shape

    @property
    def dtype(self):
        return self._data.dtype.type

    @property
    def context(self) -> Context:
        return self._ctx

    ctx = context

    @property
    def size(self) -> int:
        return self._data.size

    @property
    def ndim(self) -> int:
        return self._data.ndim

    @property
    def stype(self) -> str:
        return "default"

    @property
    def handle(self):
        return self._ptr

    @property
    def T(self) -> "NDArray":
        if self.ndim < 2:
            return self
        return self.transpose()

    # -- synchronisation and host access ---------------------------------------------------------
    def wait_to_read(self) -> None:
        runtime.wait_var(self._var)

    def wait_to_write(self) -> None:
        runtime.wait_var(self._var)

    def asnumpy(self) -> np.ndarray:
        self.wait_to_read()
        return self._data.copy()

    def asscalar(self):
        if self.size != 1:
            raise ValueError(f"asscalar: the array must have exactly one element, it has shape {self.shape}")
        return self.asnumpy().reshape(())[()]

    def __array__(self, dtype=None, copy=None):
        a = self.asnumpy()
        return a if dtype is None else a.astype(dtype)  # host-only conversion for np.asarray(nd)

    def __repr__(self):
        shape = "x".join(str(d) for d in self.shape)
        return f"\n{self.asnumpy()}\n<NDArray {shape} @{self._ctx}>"

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a 0-d NDArray")
        return self.shape[0]

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def __bool__(self):
        if self.size == 1:
            return bool(self.asscalar())
        if self.size == 0:
            return False
        raise ValueError("The truth value of an NDArray with multiple elements is ambiguous.")

    def __float__(self):
        return float(self.asscalar())

    def __int__(self):
        return int(self.asscalar())

    def __index__(self):
        if not np.issubdtype(self._data.dtype, np.integer):
            raise TypeError("only integer NDArrays can be used as an index")
        return int(self.asscalar())

    def __hash__(self):
        return id(self)

    def __getstate__(self):
        return {"data": self.asnumpy(), "ctx": (self._ctx.device_type, self._ctx.device_id)}

    def __setstate__(self, state):
        NDArray.__init__(self, state["data"], Context(*state["ctx"]))

    # -- conversion and copies -------------------------------------------------------------------
    def astype(self, dtype, copy=True) -> "NDArray":
        dt = dtype_name(dtype)
        if not copy and dt == self._data.dtype.name:
            return self
        return invoke(registry.get("Cast"), [self], {"dtype": dt})

    def copy(self) -> "NDArray":
        return invoke(registry.get("_copy"), [self], {})

    def copyto(self, other):
        if isinstance(other, Context):
            return invoke(registry.get("_copy"), [self], {}, ctx=other) if other.device_type != "gpu" else \
                _to_ctx(self, other)
        if not isinstance(other, NDArray):
            raise TypeError(f"copyto: expected an NDArray or Context, got {type(other).__name__}")
        if other is self:
            return other
        if other.shape != self.shape:
            raise ValueError(f"copyto: shape mismatch, source {self.shape} vs destination {other.shape}")
        op = "_copy" if other._data.dtype == self._data.dtype else "Cast"
        attrs = {} if op == "_copy" else {"dtype": other._data.dtype.name}
        return invoke(registry.get(op), [self], attrs, out=other)

    def as_in_context(self, context: Context) -> "NDArray":
        if context == self._ctx:
            return self
        return self.copyto(context)

    def detach(self) -> "NDArray":
        out = NDArray(self._data, self._ctx, self._var)
        out._ag = False  # cut from any recorded graph (autograd reads it as a constant)
        return out

    # -- autograd (frontend/autograd.py) ----------------------------------------------------------
    def attach_grad(self, grad_req="write", stype=None) -> None:
        from .. import autograd

        autograd.attach_grad(self, grad_req, stype)

    @property
    def grad(self):
        return self._grad

    def backward(self, out_grad=None, retain_graph=False, train_mode=True) -> None:
        from .. import autograd

        autograd.backward([self], None if out_grad is None else [out_grad], retain_graph, train_mode)

    # -- shape views -------------------------------------------------------------------------------
    def reshape(self, *shape, **kwargs) -> "NDArray":
        from .shape_utils import infer_reshape

        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        if "shape" in kwargs:
            shape = tuple(kwargs.pop("shape"))
        reverse = kwargs.pop("reverse", False)
        if kwargs:
            raise TypeError(f"reshape: unexpected arguments {sorted(kwargs)}")
        new = infer_reshape(self.shape, shape, reverse)
        return NDArray(self._data.reshape(new), self._ctx, self._var)

    def reshape_like(self, other) -> "NDArray":
        return self.reshape(other.shape)

    def __getitem__(self, key):
        from .indexing import getitem

        return getitem(self, key)

    def __setitem__(self, key, value):
        from .indexing import setitem

        setitem(self, key, value)


def _to_ctx(x: NDArray, ctx: Context) -> NDArray:
    raise MXNetError(f"cannot copy to {ctx}: no CUDA toolchain in this build")


def _new_array(shape, dtype, ctx, engine) -> NDArray:
    """NDArray over fresh storage, skipping __init__'s defaults (the imperative hot path)."""
    x = NDArray.__new__(NDArray)
    var = runtime.Var(engine)
    x._data, x._ctx, x._var, x._ptr_cache = host_pool.empty(shape, dtype, var), ctx, var, None
    x._grad, x._grad_req, x._ag = None, "null", None
    return x


_invoke_mod._new_array = _new_array


def empty(shape, ctx=None, dtype=None) -> NDArray:
    if isinstance(shape, int):
        shape = (shape,)
    shape = tuple(int(d) for d in shape)
    if any(d < 0 for d in shape):
        raise ValueError(f"empty: negative dimension in shape {shape}")
    ctx = ctx or current_context()
    return _new_array(shape, dtype_name(dtype), ctx, ctx_engine(ctx))


def array(source_array, ctx=None, dtype=None) -> NDArray:
    """A new NDArray holding a copy of `source_array` (dtype float32 unless given, as MXNet 1.x)."""
    ctx = ctx or current_context()
    if isinstance(source_array, NDArray):
        dt = dtype_name(dtype if dtype is not None else source_array.dtype)
        out = source_array.as_in_context(ctx)
        return out.astype(dt) if out is not source_array or dt != source_array._data.dtype.name else out.copy()
    dt = dtype_name(dtype)
    try:
        src = source_array if isinstance(source_array, np.ndarray) else np.array(source_array)
    except (ValueError, TypeError) as e:  # ragged nesting: MXNet raises TypeError here
        raise TypeError(f"array: source_array must be array like, got {type(source_array).__name__}: {e}") from None
    if src.dtype == object:
        raise TypeError(f"array: cannot make an NDArray from {type(source_array).__name__} of mixed objects")
    if src.dtype.name == dt:
        return NDArray(np.array(src, dtype=dt, order="C", copy=True), ctx)
    if src.dtype.name == "bool":
        src = src.view(np.uint8)
    if src.dtype.name not in DTYPES:
        raise TypeError(f"array: unsupported source dtype {src.dtype}; expected one of {', '.join(DTYPES)}")
    raw = NDArray(np.ascontiguousarray(src).copy(), ctx)  # the bytes as they are, then a Cast kernel
    return raw.astype(dt)
