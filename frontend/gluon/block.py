"""Gluon Blocks (MXNet 1.x): Block, HybridBlock and SymbolBlock.

A Block owns Parameters and child Blocks and runs `forward` imperatively. A HybridBlock writes
`hybrid_forward(F, x, *args, **params)` once: with F = mx.nd it runs op by op; with F = mx.sym it
traces into a Symbol. hybridize() makes the block trace itself once and run the traced Symbol as
one compiled C program per input signature (gluon/_cached_op.py), with forward and backward entries
over the Parameters' own arrays.
"""
from __future__ import annotations

import copy
import re
import threading
import warnings
from collections import OrderedDict

from .. import initializer
from .. import name as _name
from .. import ndarray as nd
from .. import symbol as sym
from ..ir.errors import MXNetError
from ..ndarray import NDArray
from ..symbol import Symbol
from .parameter import DeferredInitializationError, Parameter, ParameterDict


class _BlockScope:
    """The scope of a Block's children: counts their automatic prefixes (`dense0_`, `dense1_`) and
    prefixes the names of symbols created inside it."""

    _current = threading.local()

    def __init__(self, block):
        self._block = block
        self._counter = {}
        self._old_scope = None
        self._name_scope = None

    @staticmethod
    def create(prefix, params, hint):
        current = getattr(_BlockScope._current, "value", None)
        if current is None:
            if prefix is None:
                prefix = _name.current().get(None, hint) + "_"
            params = ParameterDict(prefix) if params is None else ParameterDict(params.prefix, params)
            return prefix, params
        if prefix is None:
            count = current._counter.get(hint, 0)
            prefix = f"{hint}{count}_"
            current._counter[hint] = count + 1
        if params is None:
            parent = current._block.params
            params = ParameterDict(parent.prefix + prefix, parent._shared)
        else:
            params = ParameterDict(params.prefix, params)
        return current._block.prefix + prefix, params

    def __enter__(self):
        if self._block._empty_prefix:
            return self
        self._old_scope = getattr(_BlockScope._current, "value", None)
        _BlockScope._current.value = self
        self._name_scope = _name.Prefix(self._block.prefix)
        self._name_scope.__enter__()
        return self

    def __exit__(self, *exc):
        if self._block._empty_prefix:
            return False
        self._name_scope.__exit__(*exc)
        self._name_scope = None
        _BlockScope._current.value = self._old_scope
        return False


# ---- nested inputs and outputs ----------------------------------------------------------------------------
def _flatten(args, inout_str):
    if isinstance(args, NDArray):
        return [args], 0
    if isinstance(args, Symbol):
        length = len(args.list_outputs())
        length = length if length > 1 else 0
        return [args], length
    if args is None:
        return [None], -1
    if not isinstance(args, (list, tuple)):
        raise ValueError(f"When hybridized, the {inout_str} of HybridBlock must be (nested) list of Symbol or "
                         f"NDArray, but got {args} of type {type(args).__name__}")
    flat, fmts = [], []
    for i in args:
        arg, fmt = _flatten(i, inout_str)
        flat.extend(arg)
        fmts.append(fmt)
    return flat, fmts


def _regroup(args, fmt):
    if isinstance(fmt, int):
        if fmt == 0:
            return args[0], args[1:]
        if fmt == -1:
            if args[0] is not None:
                raise ValueError("Data with invalid format: expected None")
            return None, args[1:]
        return args[:fmt], args[fmt:]
    if not isinstance(args, (list, tuple)):
        raise ValueError(f"When hybridized, the output of HybridBlock must be (nested) list of Symbol or NDArray, "
                         f"but got {args} of type {type(args).__name__}")
    ret = []
    for i in fmt:
        res, args = _regroup(args, i)
        ret.append(res)
    return ret, args


def _indent(s_, num_spaces):
    s = s_.split("\n")
    if len(s) == 1:
        return s_
    first = s.pop(0)
    return first + "\n" + "\n".join((num_spaces * " ") + line for line in s)


class HookHandle:
    """Detach a registered forward (pre-)hook."""

    _ids = iter(range(1 << 62))

    def __init__(self):
        self._hooks_dict_ref = None
        self._id = next(HookHandle._ids)

    def attach(self, hooks_dict, hook):
        if self._hooks_dict_ref is not None:
            raise RuntimeError("The same handle cannot be attached twice.")
        hooks_dict[self._id] = hook
        self._hooks_dict_ref = hooks_dict

    def detach(self):
        if self._hooks_dict_ref is not None:
            self._hooks_dict_ref.pop(self._id, None)
            self._hooks_dict_ref = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.detach()
        return False


# ---- Block ----------------------------------------------------------------------------------------------------
class Block:
    """Base class for all neural network layers and models. Subclasses implement `forward`."""

    def __init__(self, prefix=None, params=None):
        self._empty_prefix = prefix == ""
        self._prefix, self._params = _BlockScope.create(prefix, params, self._alias())
        self._name = self._prefix[:-1] if self._prefix.endswith("_") else self._prefix
        self._scope = _BlockScope(self)
        self._children = OrderedDict()
        self._reg_params = {}
        self._forward_hooks = OrderedDict()
        self._forward_pre_hooks = OrderedDict()

    def __repr__(self):
        modstr = "\n".join(f"  ({key}): {_indent(repr(block), 2)}" for key, block in self.__dict__.items()
                           if isinstance(block, Block))
        return f"{self.__class__.__name__}(\n{modstr}\n)"

    def __setattr__(self, name, value):
        """Registers parameters and child blocks."""
        if hasattr(self, name):
            existing = getattr(self, name)
            if isinstance(existing, (Parameter, Block)) and not isinstance(value, type(existing)):
                raise TypeError(f"Changing attribute type for {name} from {type(existing)} to {type(value)} "
                                "is not allowed.")
        if isinstance(value, Block):
            self.register_child(value, name)
        elif isinstance(value, Parameter):
            if name in self._reg_params:
                raise AssertionError(f"Overriding Parameter attribute {name} is not allowed. If you want to share "
                                     "parameters between blocks, please set 'params' at Block construction "
                                     "instead.")
            self._reg_params[name] = value
        super().__setattr__(name, value)

    def _check_container_with_block(self):
        children = set(self._children.values())

        def _find(data):
            if isinstance(data, (list, tuple)):
                return any(_find(x) for x in data)
            if isinstance(data, dict):
                return any(_find(x) for x in data.values())
            return isinstance(data, Block) and data not in children

        for k, v in self.__dict__.items():
            if isinstance(v, (list, tuple, dict)) and not (k.startswith("__") or k == "_children"):
                if _find(v):
                    warnings.warn(f'"{self.name}" is an unregistered container with Blocks. Note that Blocks inside '
                                  "the list, tuple or dict will not be registered automatically. Make sure to "
                                  "register them using register_child() or switching to nn.Sequential/"
                                  "nn.HybridSequential instead.", stacklevel=3)

    def _alias(self):
        return self.__class__.__name__.lower()

    @property
    def prefix(self):
        """Prefix of this Block."""
        return self._prefix

    @property
    def name(self):
        """Name of this Block, without the '_' at the end."""
        return self._name

    def name_scope(self):
        """A scope in which child Blocks get prefixes under this one (`with self.name_scope():`)."""
        return self._scope

    @property
    def params(self):
        """This Block's ParameterDict (not including its children's)."""
        return self._params

    def collect_params(self, select=None):
        """A ParameterDict with this Block's and its children's Parameters; `select` is a regex on names
        (e.g. '.*weight|.*bias')."""
        self._check_container_with_block()
        ret = ParameterDict(self._params.prefix)
        if not select:
            ret.update(self.params)
        else:
            pattern = re.compile(select)
            ret.update({n: p for n, p in self.params.items() if pattern.match(n)})
        for cld in self._children.values():
            ret.update(cld.collect_params(select=select))
        return ret

    def _collect_params_with_prefix(self, prefix=""):
        if prefix:
            prefix += "."
        ret = {prefix + key: val for key, val in self._reg_params.items()}
        for name, child in self._children.items():
            ret.update(child._collect_params_with_prefix(prefix + name))
        return ret

    def save_parameters(self, filename, deduplicate=False):
        """Save parameters under their structural names ('features.0.weight')."""
        params = self._collect_params_with_prefix()
        if deduplicate:
            reverse = {}
            for k, v in params.items():
                reverse.setdefault(v, k)
            params = {k: v for v, k in reverse.items()}
        nd.save(filename, {key: val._reduce() for key, val in params.items()})

    def save_params(self, filename):
        """[Deprecated] Use save_parameters (this one saves the full parameter names)."""
        warnings.warn("save_params is deprecated. Please use save_parameters. Note that if you want load from "
                      "SymbolBlock later, please use export instead.", stacklevel=2)
        self.collect_params().save(filename, strip_prefix=self.prefix)

    def load_parameters(self, filename, ctx=None, allow_missing=False, ignore_extra=False, cast_dtype=False,
                        dtype_source="current"):
        """Load parameters written by save_parameters (or, for names without '.', by save_params)."""
        loaded = nd.load(filename)
        if not isinstance(loaded, dict):
            raise MXNetError(f"load_parameters: {filename} holds a list of arrays, expected a dict of named arrays")
        params = self._collect_params_with_prefix()
        if not loaded and not params:
            return
        if not any("." in k for k in loaded):
            del loaded
            self.collect_params().load(filename, ctx, allow_missing, ignore_extra, self.prefix,
                                       cast_dtype=cast_dtype, dtype_source=dtype_source)
            return
        if not allow_missing:
            aliases = {}
            for k, v in params.items():
                aliases.setdefault(id(v), []).append(k)
            for name, param in params.items():
                if not any(p in loaded for p in aliases[id(param)]):
                    raise AssertionError(f"Parameter '{name}' is missing in file '{filename}', which contains "
                                         f"parameters: {_brief(loaded.keys())}. Set allow_missing=True to ignore "
                                         "missing parameters.")
        for name in loaded:
            if name not in params:
                if not ignore_extra:
                    raise ValueError(f"Parameter '{name}' loaded from file '{filename}' is not present in "
                                     f"ParameterDict, which contains parameters {_brief(params.keys())}. Set "
                                     "ignore_extra=True to ignore. ")
                continue
            params[name]._load_init(loaded[name], ctx, cast_dtype=cast_dtype, dtype_source=dtype_source)

    def load_params(self, filename, ctx=None, allow_missing=False, ignore_extra=False):
        """[Deprecated] Use load_parameters."""
        warnings.warn("load_params is deprecated. Please use load_parameters.", stacklevel=2)
        self.load_parameters(filename, ctx, allow_missing, ignore_extra)

    def register_child(self, block, name=None):
        """Register `block` as a child (attributes that are Blocks register themselves)."""
        if name is None:
            name = str(len(self._children))
        self._children[name] = block

    def register_forward_pre_hook(self, hook):
        """`hook(block, inputs)` runs before each forward; returns a handle with detach()."""
        handle = HookHandle()
        handle.attach(self._forward_pre_hooks, hook)
        return handle

    def register_forward_hook(self, hook):
        """`hook(block, inputs, outputs)` runs after each forward; returns a handle with detach()."""
        handle = HookHandle()
        handle.attach(self._forward_hooks, hook)
        return handle

    def apply(self, fn):
        """Apply `fn` to every child (recursively) and then to this block."""
        for cld in self._children.values():
            cld.apply(fn)
        fn(self)
        return self

    def initialize(self, init=initializer.Uniform(), ctx=None, verbose=False, force_reinit=False):
        """Initialize this Block's and its children's Parameters (see ParameterDict.initialize)."""
        self.collect_params().initialize(init, ctx, verbose, force_reinit)

    def hybridize(self, active=True, **kwargs):
        """Hybridize the HybridBlocks among this Block's children (recursively)."""
        for cld in self._children.values():
            cld.hybridize(active, **kwargs)

    def cast(self, dtype):
        """Cast this Block's Parameters (and its children's) to `dtype`."""
        for child in self._children.values():
            child.cast(dtype)
        for _, param in self.params.items():
            param.cast(dtype)

    def __call__(self, *args):
        for hook in list(self._forward_pre_hooks.values()):
            hook(self, args)
        out = self.forward(*args)
        for hook in list(self._forward_hooks.values()):
            hook(self, args, out)
        return out

    def forward(self, *args):
        raise NotImplementedError(f"{type(self).__name__}.forward: a Block subclass must define forward()")

    @property
    def children_blocks(self):
        return list(self._children.values())

    def summary(self, *inputs):
        """Print a table of each layer's output shape and parameter count for one forward on `inputs`."""
        from .utils import block_summary

        block_summary(self, inputs)


def _brief(keys, n=3):
    keys = list(keys)
    if len(keys) > 2 * n:
        return ", ".join(repr(k) for k in keys[:n]) + ", ..., " + ", ".join(repr(k) for k in keys[-n:])
    return ", ".join(repr(k) for k in keys)


# ---- HybridBlock --------------------------------------------------------------------------------------------
class HybridBlock(Block):
    """A Block that can run with NDArrays (F = mx.nd) or trace itself into a Symbol (F = mx.sym).
    Subclasses implement `hybrid_forward(F, x, *args, **params)`; after hybridize() a call runs one
    compiled program."""

    def __init__(self, prefix=None, params=None):
        super().__init__(prefix=prefix, params=params)
        self._cached_graph = ()
        self._cached_op = None
        self._out_format = None
        self._in_format = None
        self._active = False
        self._flags = []

    def __setattr__(self, name, value):
        super().__setattr__(name, value)
        if isinstance(value, HybridBlock):
            self._clear_cached_op()

    def register_child(self, block, name=None):
        if not isinstance(block, HybridBlock):
            raise ValueError(f"Children of HybridBlock must also be HybridBlock, but {block} has type "
                             f"{type(block)}. If you are using Sequential, please try HybridSequential instead.")
        super().register_child(block, name)
        self._clear_cached_op()

    def hybridize(self, active=True, static_alloc=False, static_shape=False, **kwargs):
        """Run this block (and its HybridBlock children) as one compiled program from the next call on."""
        self._active = active
        self._flags = [("static_alloc", static_alloc), ("static_shape", static_shape)] + list(kwargs.items())
        self._clear_cached_op()
        if active and (self._forward_hooks or self._forward_pre_hooks):
            warnings.warn(f'"{self}" is being hybridized while still having forward hook/pre-hook. If "{self}" is '
                          "a child of HybridBlock, the hooks will not take effect.", stacklevel=2)
        super().hybridize(active, static_alloc=static_alloc, static_shape=static_shape, **kwargs)

    def cast(self, dtype):
        self._clear_cached_op()
        super().cast(dtype)

    def _clear_cached_op(self):
        self._cached_graph = ()
        self._cached_op = None

    # -- tracing ----------------------------------------------------------------------------------------------
    def _get_graph(self, *args):
        if not self._cached_graph:
            args, self._in_format = _flatten(args, "input")
            if len(args) > 1:
                inputs = [sym.var(f"data{i}") if a is not None else None for i, a in enumerate(args)]
            else:
                inputs = [sym.var("data") if args[0] is not None else None]
            grouped, _ = _regroup(inputs, self._in_format)
            params = {i: j.var() for i, j in self._reg_params.items()}
            with self.name_scope():
                out = self.hybrid_forward(sym, *grouped, **params)
            out, self._out_format = _flatten(out, "output")
            self._cached_graph = inputs, sym.Group(out)
        return self._cached_graph

    def _infer_attrs(self, infer_fn, attr, *args):
        inputs, out = self._get_graph(*args)
        args, _ = _flatten(args, "input")
        given = {i.name: getattr(j, attr) for i, j in zip(inputs, args) if i is not None}
        if infer_fn == "infer_shape":  # with the inputs' real dtypes: float64 data meets float64 parameters
            from ..symbol.infer import propagate

            dtypes = {i.name: j._data.dtype.name for i, j in zip(inputs, args) if i is not None and hasattr(j, "_data")}
            var_types, _ = propagate(out, {k: tuple(v) for k, v in given.items()}, dtypes)
            arg_attrs, aux_attrs = ([None if var_types[n] is None else var_types[n].shape for n in names]
                                    for names in (out.list_arguments(), out.list_auxiliary_states()))
            if any(s is None for s in arg_attrs + aux_attrs):
                arg_attrs = None
        else:
            arg_attrs, _, aux_attrs = getattr(out, infer_fn)(**given)
        if arg_attrs is None:
            partial = out.infer_shape_partial(**given)[0]
            unknown = [n for n, s in zip(out.list_arguments(), partial) if not s or not all(s)]
            raise MXNetError(f"{self.name}: cannot infer the shapes of {unknown} from the input shapes "
                             f"{ {k: v for k, v in given.items()} }")
        sdict = dict(zip(out.list_arguments(), arg_attrs))
        sdict.update(zip(out.list_auxiliary_states(), aux_attrs))
        for p in self.collect_params().values():
            if p.name in sdict:
                setattr(p, attr, tuple(sdict[p.name]) if attr == "shape" else sdict[p.name])

    def infer_shape(self, *args):
        """Infer the Parameters' shapes from the input shapes (fills deferred shapes)."""
        self._infer_attrs("infer_shape", "shape", *args)

    def infer_type(self, *args):
        """Infer the Parameters' dtypes from the input dtypes."""
        self._infer_attrs("infer_type", "dtype", *args)

    def _deferred_infer_shape(self, *args):
        try:
            self.infer_shape(*args)
        except Exception as e:
            raise ValueError(f"Deferred initialization failed because shape cannot be inferred. {e}") from e

    # -- running ------------------------------------------------------------------------------------------------
    def _call_cached_op(self, *args):
        from ._cached_op import CachedOp

        if self._cached_op is None:
            inputs, out = self._get_graph(*args)
            params = {p.name: p for p in self.collect_params().values()}
            self._cached_op = CachedOp(out, [i.name if i is not None else None for i in inputs], params,
                                       dict(self._flags), self.name)
        flat, fmt = _flatten(args, "input")
        if fmt != self._in_format:
            raise ValueError(f"{self.name}: Invalid input format: the block was traced with inputs structured as "
                             f"{self._in_format}, got {fmt}")
        try:
            self._cached_op.check_params()
        except DeferredInitializationError:
            self._deferred_infer_shape(*args)
            for p in self._cached_op.params.values():
                p._finish_deferred_init()
        out = self._cached_op(flat)
        return _regroup(out, self._out_format)[0]

    def forward(self, x, *args):
        """Dispatch on the input: NDArrays run (imperatively, or the compiled program once hybridized);
        Symbols trace hybrid_forward into a graph."""
        if isinstance(x, NDArray):
            if self._active:
                return self._call_cached_op(x, *args)
            ctx = x.context
            try:
                params = {k: v.data(ctx) for k, v in self._reg_params.items()}
            except DeferredInitializationError:
                self._deferred_infer_shape(x, *args)
                for _, v in self.params.items():
                    v._finish_deferred_init()
                params = {k: v.data(ctx) for k, v in self._reg_params.items()}
            return self.hybrid_forward(nd, x, *args, **params)
        if not isinstance(x, Symbol):
            raise ValueError(f"HybridBlock requires the first argument to forward be either Symbol or NDArray, "
                             f"but got {type(x)}")
        params = {i: j.var() for i, j in self._reg_params.items()}
        with self.name_scope():
            return self.hybrid_forward(sym, x, *args, **params)

    def hybrid_forward(self, F, x, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__}.hybrid_forward: a HybridBlock subclass must define "
                                  "hybrid_forward(F, x, *args, **params)")

    def export(self, path, epoch=0, remove_amp_cast=True):
        """Write `path-symbol.json` and `path-%04d.params` (arg:/aux: names), what Module and
        SymbolBlock.imports load. The block must have run once hybridized."""
        from ..model import save_checkpoint

        if not self._cached_graph:
            raise RuntimeError("Please first call block.hybridize() and then run forward with this block at least "
                               "once before calling export.")
        out = self._cached_graph[1]
        arg_names, aux_names = set(out.list_arguments()), set(out.list_auxiliary_states())
        arg, aux = {}, {}
        for name, param in self.collect_params().items():
            if name in arg_names:
                arg[name] = param._reduce()
            elif name in aux_names:
                aux[name] = param._reduce()
        save_checkpoint(path, epoch, out, arg, aux)
        return f"{path}-symbol.json", "%s-%04d.params" % (path, epoch)

    def export_bundle(self, outdir, shapes, dtype="float32", name="model", target="c", embed_weights=False):
        """Compile this (hybridized, once run) block into a standalone C inference bundle in `outdir`
        (what `mxcc compile` makes from an exported model; see frontend/bundle.py)."""
        from ..bundle import export_bundle

        return export_bundle(self, outdir, shapes, dtype=dtype, name=name, target=target, embed_weights=embed_weights)


def _common_prefix(names):
    if not names:
        return ""
    prefix = names[0]
    for name in names:
        i = 0
        while i < len(prefix) and i < len(name) and prefix[i] == name[i]:
            i += 1
        prefix = prefix[:i]
    return prefix


class SymbolBlock(HybridBlock):
    """A Block over a Symbol (e.g. a model exported by HybridBlock.export); always runs compiled."""

    @staticmethod
    def imports(symbol_file, input_names, param_file=None, ctx=None, allow_missing=False, ignore_extra=False):
        """A SymbolBlock from `symbol_file` with inputs `input_names`, parameters from `param_file`."""
        s = sym.load(symbol_file)
        if isinstance(input_names, str):
            input_names = [input_names]
        inputs = [sym.var(i, dtype="float32") if param_file is None else sym.var(i) for i in input_names]
        ret = SymbolBlock(s, inputs)
        if param_file is not None:
            ret.collect_params().load(param_file, ctx, allow_missing, ignore_extra, cast_dtype=True,
                                      dtype_source="saved")
        return ret

    def __repr__(self):
        s = "{name}(\n{modstr}\n)"
        modstr = "\n".join(f"  {n}" for n in self._cached_graph[1].list_outputs())
        return s.format(name=self.__class__.__name__, modstr=modstr)

    def __init__(self, outputs, inputs, params=None):
        super().__init__(prefix=None, params=None)
        self._prefix = ""
        self._params = ParameterDict("", params)
        if isinstance(inputs, Symbol) and len(inputs.list_outputs()) == 1:
            inputs = [inputs]
        if isinstance(outputs, (list, tuple)) and len(outputs) == 1:
            outputs = outputs[0]
        syms, self._in_format = _flatten(inputs, "input")
        out, self._out_format = _flatten(outputs, "output")
        out = sym.Group(out)
        input_names = set()
        for i in syms:
            if len(i.get_internals().list_outputs()) != 1:
                raise AssertionError(f"Input symbols must be variable, but {i} is an output of operators")
            input_names.add(i.name)
        for i in out.list_arguments():
            if i not in input_names:
                self.params.get(i, allow_deferred_init=True)
        for i in out.list_auxiliary_states():
            if i not in input_names:
                self.params.get(i, grad_req="null", allow_deferred_init=True)
        self._cached_graph = syms, out
        len_prefix = len(_common_prefix(list(self._params.keys())))
        self._reg_params = {key[len_prefix:]: val for key, val in self._params.items()}

    def forward(self, x, *args):
        if isinstance(x, NDArray):
            return self._call_cached_op(x, *args)
        if not isinstance(x, Symbol):
            raise ValueError(f"HybridBlock requires the first argument to forward be either Symbol or NDArray, "
                             f"but got {type(x)}")
        flat, in_fmt = _flatten([x] + list(args), "input")
        if in_fmt != self._in_format:
            raise ValueError("Invalid input format")
        ret = copy.copy(self._cached_graph[1])
        ret._compose(**{k.name: v for k, v in zip(self._cached_graph[0], flat)})
        return _regroup(list(ret), self._out_format)[0]

    def _get_graph(self, *args):
        return self._cached_graph

    def _clear_cached_op(self):
        tmp = self._cached_graph
        super()._clear_cached_op()
        self._cached_graph = tmp

    def cast(self, dtype):
        self._clear_cached_op()
        super().cast(dtype)

    def hybrid_forward(self, F, x, *args, **kwargs):
        raise NotImplementedError("SymbolBlock runs its Symbol; it has no hybrid_forward")

