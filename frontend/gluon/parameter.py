"""Gluon Parameters (MXNet 1.x): a weight's data and gradient arrays, per context, with deferred
initialization, and ParameterDict, the named collection a Block owns.

A Parameter's arrays are ordinary NDArrays marked as autograd variables (mark_variables), so an
imperative forward under autograd.record() fills `grad()`; a hybridized block binds the very same
arrays into its compiled program, so no weight is copied per call. set_data copies into the
existing arrays for the same reason.
"""
from __future__ import annotations

import re
import warnings
from collections import OrderedDict

from .. import autograd, initializer
from .. import ndarray as nd
from ..context import Context, cpu, current_context
from ..ir import dtype_name
from ..ir.errors import MXNetError
from ..ndarray import NDArray


class DeferredInitializationError(MXNetError):
    """Error for unfinished deferred initialization."""


def shape_is_known(shape) -> bool:
    """Whether every dimension of `shape` is known (MXNet 1.x: 0 means unknown)."""
    if shape is None:
        return False
    return all(int(d) > 0 for d in shape)


def _brief(keys, n=3):
    keys = list(keys)
    if len(keys) > 2 * n:
        return ", ".join(repr(k) for k in keys[:n]) + ", ..., " + ", ".join(repr(k) for k in keys[-n:])
    return ", ".join(repr(k) for k in keys)


_GRAD_REQS = ("write", "add", "null")


class Parameter:
    """A Container holding parameters (weights) of Blocks.

    shape 0 (or a 0 dimension) is unknown until the first forward, when `allow_deferred_init` lets
    initialization wait for it. `init` (an Initializer or its name) wins over initialize()'s default.
    """

    def __init__(self, name, grad_req="write", shape=None, dtype="float32", lr_mult=1.0, wd_mult=1.0, init=None,
                 allow_deferred_init=False, differentiable=True, stype="default", grad_stype="default"):
        self._var = None
        self._data = None
        self._grad = None
        self._ctx_list = None
        self._ctx_map = None
        self._trainer = None
        self._deferred_init = ()
        self._differentiable = differentiable
        self._allow_deferred_init = allow_deferred_init
        self._grad_req = None
        if isinstance(shape, int):
            shape = (shape,)
        self._shape = tuple(shape) if shape is not None else None
        self.name = name
        self._dtype = dtype_name(dtype)
        self.lr_mult = lr_mult
        self.wd_mult = wd_mult
        self.grad_req = grad_req
        self.init = init
        for what, st in (("stype", stype), ("grad_stype", grad_stype)):
            if st != "default":
                raise ValueError(f"Parameter '{name}': only dense storage ({what}='default') is supported by mxcc, "
                                 f"got {st!r}")
        self._stype = stype
        self._grad_stype = grad_stype

    def __repr__(self):
        return f"Parameter {self.name} (shape={self.shape}, dtype={self.dtype})"

    # -- attributes -------------------------------------------------------------------------------
    @property
    def grad_req(self):
        return self._grad_req

    @grad_req.setter
    def grad_req(self, req):
        if req not in _GRAD_REQS:
            raise ValueError(f"grad_req must be one of 'write', 'add', or 'null', but got '{req}'")
        if not self._differentiable:
            req = "null"
        if self._grad_req == req:
            return
        self._grad_req = req
        if req == "null" and self._grad is not None:
            self._grad = None
            for d in self._data:  # no longer an autograd variable; the array itself stays (bound programs)
                d._ag, d._grad, d._grad_req = None, None, "null"
        elif self._data is not None:
            self._init_grad()

    @property
    def dtype(self):
        return self._dtype

    @dtype.setter
    def dtype(self, dtype):
        self._dtype = dtype_name(dtype)

    @property
    def shape(self):
        return self._shape

    @shape.setter
    def shape(self, new_shape):
        new_shape = tuple(new_shape) if new_shape is not None else None
        if self._shape is None:
            self._shape = new_shape
            return
        if new_shape is None or len(self._shape) != len(new_shape) or \
                not all(j in (-1, 0, i) for i, j in zip(new_shape, self._shape)):
            raise AssertionError(f"Expected shape {self._shape} is incompatible with given shape {new_shape} "
                                 f"for Parameter '{self.name}'.")
        self._shape = new_shape

    @property
    def stype(self):
        return self._stype

    # -- initialization ------------------------------------------------------------------------------
    def _check_and_get(self, arr_list, ctx):
        if arr_list is not None:
            if ctx is list:
                return arr_list
            if ctx is None:
                if len(arr_list) == 1:
                    return arr_list[0]
                ctx = current_context()
            idx = self._ctx_map.get(ctx.key) if isinstance(ctx, Context) else None
            if idx is not None:
                return arr_list[idx]
            raise RuntimeError(f"Parameter '{self.name}' was not initialized on context {ctx}. It was only "
                               f"initialized on {self._ctx_list}.")
        if self._deferred_init:
            raise DeferredInitializationError(
                f"Parameter '{self.name}' has not been initialized yet because initialization was deferred. "
                "Actual initialization happens during the first forward pass. Please pass one batch of data "
                "through the network before accessing Parameters. You can also avoid deferred initialization "
                "by specifying in_units, num_features, etc., for network layers.")
        raise RuntimeError(f"Parameter '{self.name}' has not been initialized. Note that you should initialize "
                           "parameters and create Trainer with Block.collect_params() instead of Block.params "
                           "because the later does not include Parameters of nested child Blocks")

    def initialize(self, init=None, ctx=None, default_init=initializer.Uniform(), force_reinit=False):
        """Initialize the data (and gradient) arrays on `ctx` (a Context or a list of them)."""
        if self._data is not None and not force_reinit:
            warnings.warn(f"Parameter '{self.name}' is already initialized, ignoring. Set force_reinit=True to "
                          "re-initialize.", stacklevel=2)
            return
        keep = self._data if self._data is not None and force_reinit else None
        self._data = self._grad = None
        ctx = _ctx_list(ctx)
        if init is None:
            init = default_init if self.init is None else self.init
        if not shape_is_known(self.shape):
            if self._allow_deferred_init:
                self._deferred_init = (init, ctx, default_init, None)
                return
            raise ValueError(f"Cannot initialize Parameter '{self.name}' because it has invalid shape: "
                             f"{self.shape}.")
        self._deferred_init = (init, ctx, default_init, None)
        self._finish_deferred_init(reuse=keep)

    def _finish_deferred_init(self, reuse=None):
        if not self._deferred_init:
            return
        init, ctx, default_init, data = self._deferred_init
        self._deferred_init = ()
        if not shape_is_known(self.shape):
            raise MXNetError(f"Cannot initialize Parameter '{self.name}' because it has invalid shape: "
                             f"{self.shape}. Please specify in_units, in_channels, etc for `Block`s.")
        with autograd.pause():
            if data is None:
                data = nd.zeros(self.shape, ctx=cpu(), dtype=self.dtype)
                initializer.create(default_init)(initializer.InitDesc(self.name, {"__init__": init}), data)
            if reuse is not None and [a.context for a in reuse] == list(ctx) and reuse[0].shape == data.shape \
                    and reuse[0]._data.dtype == data._data.dtype:
                for a in reuse:  # force_reinit keeps the arrays bound programs point at
                    data.copyto(a)
                self._data = list(reuse)
                self._ctx_list = list(ctx)
                self._ctx_map = {c.key: i for i, c in enumerate(ctx)}
                self._init_grad()
                return
            self._init_impl(data, ctx)

    def _init_impl(self, data, ctx_list):
        self._ctx_list = list(ctx_list)
        self._ctx_map = {c.key: i for i, c in enumerate(self._ctx_list)}
        arrs = []
        for c in self._ctx_list:
            a = nd.empty(data.shape, ctx=c, dtype=self.dtype)
            data.copyto(a)
            arrs.append(a)
        self._data = arrs
        self._init_grad()

    def _init_grad(self):
        if self.grad_req == "null":
            self._grad = None
            return
        self._grad = [nd.zeros(d.shape, ctx=d.context, dtype=d._data.dtype.name) for d in self._data]
        autograd.mark_variables(self._data, self._grad, self.grad_req)

    def _load_init(self, data, ctx, cast_dtype=False, dtype_source="current"):
        """Initialize (or overwrite) from a loaded array, checking shape and dtype."""
        if cast_dtype and dtype_source not in ("current", "saved"):
            raise ValueError(f"dtype_source must be 'current' or 'saved', got {dtype_source!r}")
        if self.shape:
            if len(self.shape) != len(data.shape) or \
                    not all(s in (0, -1, d) for s, d in zip(self.shape, data.shape)):
                raise AssertionError(f"Failed loading Parameter '{self.name}' from saved params: shape incompatible "
                                     f"expected {self.shape} vs saved {data.shape}")
            self.shape = tuple(d if s in (0, -1) else s for s, d in zip(self.shape, data.shape))
        saved = data._data.dtype.name
        if self.dtype and saved != self.dtype:
            if not cast_dtype:
                raise AssertionError(f"Failed loading Parameter '{self.name}' from saved params: dtype incompatible "
                                     f"expected {self.dtype} vs saved {saved}. Set cast_dtype=True to cast the "
                                     "dtype of saved params.")
            if dtype_source == "current":
                data = data.astype(self.dtype)
            else:
                self.dtype = saved
                if self._data is not None:
                    self._data = None
                    self._deferred_init = ((), self._ctx_list, None, None)
        if isinstance(ctx, Context):
            ctx = [ctx]
        if self._data is None:
            if self._deferred_init:
                if ctx is not None and {c.key for c in ctx} != {c.key for c in self._deferred_init[1]}:
                    raise AssertionError(f"Failed to load Parameter '{self.name}' on {ctx} because it was previous "
                                         f"initialized on {self._deferred_init[1]}.")
                ctx = self._deferred_init[1]
            elif ctx is None:
                ctx = [cpu()]
            self._init_impl(data, ctx)
        else:
            if ctx is not None and {c.key for c in ctx} != {c.key for c in self._ctx_list}:
                raise AssertionError(f"Failed to load Parameter '{self.name}' on {ctx} because it was previous "
                                     f"initialized on {self._ctx_list}.")
            self.set_data(data)
        self._deferred_init = ()

    # -- data and gradients ------------------------------------------------------------------------
    def set_data(self, data):
        """Copy `data` into this parameter's arrays on every context (the arrays themselves stay)."""
        self.shape = data.shape
        if self._data is None:
            if not self._deferred_init:
                raise RuntimeError(f"Parameter '{self.name}' has not been initialized")
            self._deferred_init = self._deferred_init[:3] + (data,)
            return
        if not isinstance(data, NDArray):
            data = nd.array(data, dtype=self.dtype)
        with autograd.pause():
            for arr in self._data:
                if arr.shape != data.shape:
                    raise ValueError(f"Parameter '{self.name}': set_data got shape {data.shape}, the parameter "
                                     f"has shape {arr.shape}")
                data.copyto(arr)

    def data(self, ctx=None):
        """The data array on `ctx` (the only one when ctx is None)."""
        return self._check_and_get(self._data, ctx)

    def list_data(self):
        return self._check_and_get(self._data, list)

    def grad(self, ctx=None):
        if self._data is not None and self._grad is None:
            raise RuntimeError(f"Cannot get gradient array for Parameter '{self.name}' because grad_req='null'")
        return self._check_and_get(self._grad, ctx)

    def list_grad(self):
        if self._data is not None and self._grad is None:
            raise RuntimeError(f"Cannot get gradient array for Parameter '{self.name}' because grad_req='null'")
        return self._check_and_get(self._grad, list)

    def list_ctx(self):
        if self._data is None:
            if self._deferred_init:
                return self._deferred_init[1]
            raise RuntimeError(f"Parameter '{self.name}' has not been initialized")
        return self._ctx_list

    def zero_grad(self):
        """Set the gradient arrays to 0."""
        if self._grad is None:
            return
        with autograd.pause():
            for g in self._grad:
                g[:] = 0

    def reset_ctx(self, ctx):
        """Move the parameter to other contexts (keeping its values)."""
        ctx = _ctx_list(ctx)
        if self._data is not None:
            with autograd.pause():
                data = self._data[0].copyto(cpu())
            self._init_impl(data, ctx)
        elif self._deferred_init:
            init, _, default_init, data = self._deferred_init
            self._deferred_init = (init, ctx, default_init, data)
        else:
            raise ValueError(f"Cannot reset context for Parameter '{self.name}' because it has not been initialized.")

    def _reduce(self):
        """The value on the CPU (the mean over contexts, which hold the same value after each step)."""
        data = self.list_data()
        with autograd.pause():
            out = data[0].copyto(cpu())
            if len(data) > 1:
                for d in data[1:]:
                    out = out + d.copyto(cpu())
                out = out / len(data)
        return out

    def var(self):
        """A Symbol variable for this parameter, carrying its shape, dtype, lr_mult, wd_mult and init."""
        from .. import symbol

        if self._var is None:
            init = self.init
            if init is not None and not isinstance(init, str):
                init = init.dumps()
            self._var = symbol.var(self.name, shape=self.shape, dtype=self.dtype, lr_mult=self.lr_mult,
                                   wd_mult=self.wd_mult, init=init)
        return self._var

    def cast(self, dtype):
        """Cast data and gradient to `dtype`."""
        self._var = None
        self.dtype = dtype
        if self._data is None:
            return
        with autograd.pause():
            self._data = [d.astype(self.dtype) for d in self._data]
        if self._grad is not None:
            self._init_grad()

    def _check_initialized(self):
        return self._data is not None


def _ctx_list(ctx):
    if ctx is None:
        return [current_context()]
    if isinstance(ctx, Context):
        return [ctx]
    ctx = list(ctx)
    for c in ctx:
        if not isinstance(c, Context):
            raise TypeError(f"ctx must be a Context or a list of Contexts, got {type(c).__name__}")
    return ctx


class Constant(Parameter):
    """A constant parameter (grad_req='null') initialized to `value`."""

    def __init__(self, name, value):
        if not isinstance(value, NDArray):
            value = nd.array(value)
        self.value = value

        class _CInit(initializer.Initializer):
            def _init_weight(self, _, arr):
                value.copyto(arr)

            def dumps(self):
                return "constant_" + name

        init = _CInit()
        super().__init__(name, grad_req="null", shape=value.shape, dtype=value._data.dtype.name, init=init)

    def __repr__(self):
        return f"Constant {self.name} (shape={self.shape}, dtype={self.dtype})"

    @property
    def grad_req(self):
        return "null"

    @grad_req.setter
    def grad_req(self, req):
        if req != "null":
            warnings.warn(f"Constant parameter \"{self.name}\" does not support grad_req other than \"null\", and "
                          "new value \"{req}\" is ignored.", stacklevel=2)
        self._grad_req = "null"

    def var(self):
        from .. import symbol

        if self._var is None:
            self._var = symbol.var(self.name, shape=self.shape, dtype=self.dtype, lr_mult=0.0, wd_mult=0.0,
                                   init=self.init.dumps())
        return self._var


class ParameterDict:
    """A dictionary managing a set of parameters; names get the dict's prefix."""

    def __init__(self, prefix="", shared=None):
        self._prefix = prefix
        self._params = OrderedDict()
        self._shared = shared

    def __repr__(self):
        name = f"{self._prefix} " if self._prefix else ""
        body = "\n".join(f"  {v}" for v in self.values())
        return f"{name}(\n{body}\n)"

    def __getitem__(self, key):
        return self._params[key]

    def __iter__(self):
        return iter(self._params)

    def __len__(self):
        return len(self._params)

    def __contains__(self, key):
        return key in self._params

    def items(self):
        return self._params.items()

    def keys(self):
        return self._params.keys()

    def values(self):
        return self._params.values()

    @property
    def prefix(self):
        return self._prefix

    def _get_impl(self, name):
        if name in self._params:
            return self._params[name]
        if self._shared is not None and name in self._shared._params:
            self._params[name] = self._shared._params[name]
            return self._shared._params[name]
        return None

    def get(self, name, **kwargs):
        """The parameter `prefix + name`, created with kwargs (Parameter's arguments) if it is new; an
        existing one must agree with the given attributes (a 0 in a shape may be filled in)."""
        name = self.prefix + name
        param = self._get_impl(name)
        if param is None:
            param = Parameter(name, **kwargs)
            self._params[name] = param
            return param
        for k, v in kwargs.items():
            if not hasattr(param, k) or getattr(param, k) is None:
                setattr(param, k, v)
                continue
            existing = getattr(param, k)
            if k == "shape" and v is not None:
                v = (v,) if isinstance(v, int) else tuple(v)
                if len(v) == len(existing):
                    inferred, ok = [], True
                    for d1, d2 in zip(v, existing):
                        if d1 != d2 and d1 > 0 and d2 > 0:
                            ok = False
                        inferred.append(max(d1, d2))
                    if ok:
                        param._shape = tuple(inferred)
                        continue
            elif k == "dtype":
                if dtype_name(v) == existing:
                    continue
            elif existing == v:
                continue
            raise AssertionError(f"Cannot retrieve Parameter '{name}' because desired attribute does not match with "
                                 f"stored for attribute '{k}': desired '{v}' vs stored '{existing}'.")
        return param

    def get_constant(self, name, value=None):
        """The constant `prefix + name`, created from `value` if it is new."""
        name = self.prefix + name
        param = self._get_impl(name)
        if param is None:
            if value is None:
                raise KeyError(f"No constant named '{name}'. Please specify value if you want to create a new "
                               "constant.")
            param = Constant(name, value)
            self._params[name] = param
        elif value is not None:
            if not isinstance(param, Constant):
                raise AssertionError(f"Parameter '{name}' already exists but it is not a constant.")
            new = value.asnumpy() if isinstance(value, NDArray) else _host(value)
            old = param.value.asnumpy()
            if old.shape != new.shape or (old != new).any():  # host-side comparison of two given values
                raise AssertionError(f"Constant '{name}' already exists but it's value doesn't match new value")
        return param

    def update(self, other):
        """Copy the parameters of `other` (a ParameterDict) into this one."""
        for k, v in other.items():
            if k in self._params and self._params[k] is not v:
                raise AssertionError(f"Cannot update self with other because they have different Parameters with "
                                     f"the same name '{k}'")
        for k, v in other.items():
            self._params[k] = v

    def initialize(self, init=initializer.Uniform(), ctx=None, verbose=False, force_reinit=False):
        """Initialize every parameter (init is the default for those without their own)."""
        if verbose:
            init.set_verbosity(verbose=verbose)
        for v in self.values():
            v.initialize(None, ctx, init, force_reinit=force_reinit)

    def zero_grad(self):
        for v in self.values():
            v.zero_grad()

    def reset_ctx(self, ctx):
        for v in self.values():
            v.reset_ctx(ctx)

    def list_ctx(self):
        s = []
        for p in self.values():
            for c in p.list_ctx():
                if c not in s:
                    s.append(c)
        return s

    def setattr(self, name, value):
        """Set an attribute (e.g. grad_req, lr_mult) on every parameter."""
        for p in self.values():
            setattr(p, name, value)

    def save(self, filename, strip_prefix=""):
        """Save the parameters to `filename`, stripping `strip_prefix` from their names."""
        arg_dict = {}
        for param in self.values():
            weight = param._reduce()
            if not param.name.startswith(strip_prefix):
                raise ValueError(f"Prefix '{strip_prefix}' is to be striped before saving, but Parameter's name "
                                 f"'{param.name}' does not start with '{strip_prefix}'. this may be due to your "
                                 "Block shares parameters from other Blocks or you forgot to use "
                                 "'with name_scope()' when creating child blocks. For more info on naming, please "
                                 "see https://mxnet.io/api/python/docs/tutorials/packages/gluon/blocks/naming.html")
            arg_dict[param.name[len(strip_prefix):]] = weight
        nd.save(filename, arg_dict)

    def load(self, filename, ctx=None, allow_missing=False, ignore_extra=False, restore_prefix="", cast_dtype=False,
             dtype_source="current"):
        """Load parameters saved by `save` (restore_prefix is prepended to the saved names)."""
        if restore_prefix:
            for name in self.keys():
                if not name.startswith(restore_prefix):
                    raise ValueError(f"restore_prefix is '{restore_prefix}' but Parameters name '{name}' does not "
                                     "start with it")
        lprefix = len(restore_prefix)
        loaded = nd.load(filename)
        if not isinstance(loaded, dict):
            raise MXNetError(f"{filename}: expected a dict of named arrays, found a list")
        arg_dict = {}
        for k, v in loaded.items():
            if k.startswith("arg:") or k.startswith("aux:"):
                k = k[4:]
            arg_dict[restore_prefix + k] = v
        if not allow_missing:
            for name in self.keys():
                if name not in arg_dict:
                    raise AssertionError(f"Parameter '{name[lprefix:]}' is missing in file '{filename}', which "
                                         f"contains parameters: {_brief(arg_dict.keys())}. Please make sure source "
                                         "and target networks have the same prefix.")
        for name in arg_dict:
            if name not in self._params:
                if not ignore_extra:
                    raise AssertionError(f"Parameter '{name[lprefix:]}' loaded from file '{filename}' is not present "
                                         f"in ParameterDict, choices are: {_brief(self.keys())}. Set "
                                         "ignore_extra to True to ignore. Please make sure source and target "
                                         "networks have the same prefix.")
                continue
            self[name]._load_init(arg_dict[name], ctx, cast_dtype=cast_dtype, dtype_source=dtype_source)

    def _select(self, select):
        """A new ParameterDict of the parameters whose names match the regex `select`."""
        ret = ParameterDict(self.prefix)
        pattern = re.compile(select)
        ret._params.update((k, v) for k, v in self.items() if pattern.match(k))
        return ret


def _host(value):
    import numpy as np

    return np.asarray(value)
