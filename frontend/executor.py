"""mx.executor.Executor: a Symbol bound to arrays, compiled into one C program.

Binding lowers the symbol to IR twice at most (inference, and training with autodiff),
each compiled lazily into one translation unit. The training program has `forward` and
`backward` entries over one arena: backward nodes that depend on head gradients (or on
`grad_req='add'` accumulators) run in `backward`, everything else already in forward.
A call is one C call over fixed buffer addresses, issued through the device engine.
Intermediates share one arena planned by passes/plan_memory.py (`memory_plan()` reports it);
`mirror=True` or MXNET_BACKWARD_DO_MIRROR=1 recomputes cheap forward values in backward
(passes/mirror.py) to shrink the training arena further.
"""
from __future__ import annotations

import logging
import os

import numpy as np

from .compiled import CompiledGraph
from .context import Context, current_context
from .ir import Graph, Node, Value
from .ir.errors import MXNetError
from .ndarray import NDArray, array, ones, zeros
from .ndarray.invoke import ctx_engine
from .passes.autodiff import autodiff
from .symbol.infer import lower_symbol

_REQS = ("null", "write", "add", "inplace")


def _normalize_reqs(grad_req, arg_names):
    if isinstance(grad_req, str):
        reqs = {n: grad_req for n in arg_names}
    elif isinstance(grad_req, (list, tuple)):
        if len(grad_req) != len(arg_names):
            raise ValueError(f"grad_req has {len(grad_req)} entries for {len(arg_names)} arguments")
        reqs = dict(zip(arg_names, grad_req))
    elif isinstance(grad_req, dict):
        unknown = set(grad_req) - set(arg_names)
        if unknown:
            raise ValueError(f"grad_req names unknown arguments {sorted(unknown)}; arguments are {arg_names}")
        reqs = {n: grad_req.get(n, "null") for n in arg_names}
    else:
        raise TypeError(f"grad_req must be a str, list or dict, got {type(grad_req).__name__}")
    for n, r in reqs.items():
        if r not in _REQS:
            raise ValueError(f"grad_req for '{n}' is {r!r}; expected one of {_REQS}")
    return {n: ("write" if r == "inplace" else r) for n, r in reqs.items()}


class Executor:
    def __init__(self, symbol, ctx: Context, args: dict, grads: dict, reqs: dict, aux: dict, mirror=None):
        self._symbol = symbol
        # recompute cheap forward values in backward (MXNet's MXNET_BACKWARD_DO_MIRROR=1)
        self._mirror = bool(mirror) if mirror is not None else os.environ.get("MXNET_BACKWARD_DO_MIRROR", "0") == "1"
        self._ctx = ctx
        self._arg_names = symbol.list_arguments()
        self._aux_names = symbol.list_auxiliary_states()
        self.arg_arrays = [args[n] for n in self._arg_names]
        self.grad_arrays = [grads.get(n) for n in self._arg_names]
        self.aux_arrays = [aux[n] for n in self._aux_names]
        self._reqs = reqs
        shapes = {n: a.shape for n, a in zip(self._arg_names, self.arg_arrays)}
        shapes.update({n: a.shape for n, a in zip(self._aux_names, self.aux_arrays)})
        self._shapes = shapes
        self._dtypes = {n: a._data.dtype.name for n, a in zip(self._arg_names + self._aux_names,
                                                               self.arg_arrays + self.aux_arrays)}
        self._infer = None
        self._train = None
        lowered = lower_symbol(symbol, shapes, self._dtypes, train=False)
        self.outputs = [zeros(v.type.shape, ctx, v.type.dtype) for v in lowered.graph.outputs]
        self._lowered_infer = lowered
        self._engine = ctx_engine(ctx)
        self._head_grads = None
        self._last_train = False

    # -- dictionaries --------------------------------------------------------------------------------
    @property
    def arg_dict(self) -> dict:
        return dict(zip(self._arg_names, self.arg_arrays))

    @property
    def grad_dict(self) -> dict:
        return {n: g for n, g in zip(self._arg_names, self.grad_arrays) if g is not None}

    @property
    def aux_dict(self) -> dict:
        return dict(zip(self._aux_names, self.aux_arrays))

    @property
    def output_dict(self) -> dict:
        return dict(zip(self._symbol.list_outputs(), self.outputs))

    # -- programs --------------------------------------------------------------------------------------
    def _inference_program(self):
        if self._infer is None:
            low = self._lowered_infer
            prog = CompiledGraph(low.graph, tag="executor_infer")
            prog.set_io([a._ptr for a in self.arg_arrays + self.aux_arrays] + [o._ptr for o in self.outputs])
            self._infer = (prog, prog.entry("run"), self.arg_arrays + self.aux_arrays, self.outputs)
        return self._infer

    def _training_program(self):
        if self._train is None:
            low = lower_symbol(self._symbol, self._shapes, self._dtypes, train=True)
            g = low.graph
            wanted = [(n, v) for n, v in zip(self._arg_names, g.inputs) if self._reqs.get(n, "null") != "null"]
            g2 = autodiff(g, [v for _, v in wanted])
            n_out = len(g.outputs)
            head_values = g2.inputs[len(g.inputs):]
            grads = g2.outputs[n_out:]
            nodes = list(g2.nodes)
            late, old_arrays, grad_outs = list(head_values), [], []
            for (name, _), gv in zip(wanted, grads):
                if self._reqs[name] == "add":
                    old = Value(gv.type, f"{name}_grad_old")
                    add = Node("elemwise_add", {}, [old, gv], [gv.type], name=f"{name}_grad_accumulate")
                    nodes.append(add)
                    late.append(old)
                    old_arrays.append(self.grad_dict[name])
                    grad_outs.append(add.outputs[0])
                else:
                    grad_outs.append(gv)
            upd_values = [v for _, v in low.updates]
            upd_arrays = [self.aux_dict[n] for n, _ in low.updates]
            graph = Graph(list(g2.inputs) + late[len(head_values):], list(g.outputs) + grad_outs + upd_values, nodes)
            if self._mirror:
                graph.mirror_outputs = n_out  # passes/mirror.py: recompute cheap forward values in backward
            graph.late_inputs = list(late)  # the forward/backward split, for passes/plan_memory.py
            aux_in = dict(zip(low.arg_names + low.aux_names, g.inputs))
            graph.aliased_inputs = late[len(head_values):] + [aux_in[n] for n, _ in low.updates]
            prog = CompiledGraph(graph, tag="executor_train", late_inputs=late)
            self._head_grads = [ones(v.type.shape, self._ctx, v.type.dtype) for v in head_values]
            grad_arrays = [self.grad_dict[n] for n, _ in wanted]
            ins = self.arg_arrays + self.aux_arrays + self._head_grads + old_arrays
            outs = self.outputs + grad_arrays + upd_arrays
            prog.set_io([a._ptr for a in ins] + [o._ptr for o in outs])
            self._train = (prog, prog.entry("forward"), prog.entry("backward"), ins, outs)
        return self._train

    def memory_plan(self, is_train=None) -> dict:
        """The arena of the training program (default when any gradient is requested) or of the
        inference one: planned_bytes (one shared arena, passes/plan_memory.py), naive_bytes
        (every intermediate its own buffer), whether the plan was used, in-place outputs."""
        if is_train is None:
            is_train = any(r != "null" for r in self._reqs.values())
        prog = (self._training_program() if is_train else self._inference_program())[0]
        gp = prog.gp
        return {"program": "training" if is_train else "inference", "planned_bytes": gp.arena_bytes,
                "naive_bytes": gp.naive_bytes, "planned": gp.planned, "inplace": gp.inplace,
                "nodes": len(gp.node_ops)}

    def _issue(self, fn, ins, outs, what):
        def call():
            return fn()
        self._engine.push([(call, (), None)], what, [o._var for o in outs], [a._var for a in ins],
                          (ins, outs, self), inline=False)

    # -- running ---------------------------------------------------------------------------------------------
    def forward(self, is_train=False, **kwargs):
        for k, v in kwargs.items():
            if k not in self.arg_dict:
                raise ValueError(f"forward: unknown argument '{k}'; arguments are {self._arg_names}")
            dst = self.arg_dict[k]
            src = v if isinstance(v, NDArray) else array(v, ctx=self._ctx, dtype=dst._data.dtype)
            if src.shape != dst.shape:
                raise ValueError(f"forward: '{k}' has shape {src.shape}, the executor was bound with {dst.shape}; "
                                 "use reshape() to change shapes")
            src.copyto(dst)
        self._last_train = bool(is_train)
        if is_train:
            prog, fwd, _, ins, outs = self._training_program()
            self._issue(fwd, ins, outs, "Executor.forward")
        else:
            prog, run, ins, outs = self._inference_program()
            self._issue(run, ins, outs, "Executor.forward")
        return self.outputs

    def backward(self, out_grads=None, is_train=True):
        if not self._last_train:
            raise MXNetError("backward: call forward(is_train=True) first")
        prog, _, bwd, ins, outs = self._training_program()
        if out_grads is not None:
            if isinstance(out_grads, NDArray):
                out_grads = [out_grads]
            if len(out_grads) != len(self._head_grads):
                raise ValueError(f"backward: {len(out_grads)} out_grads for {len(self._head_grads)} outputs")
            for src, dst in zip(out_grads, self._head_grads):
                if src.shape != dst.shape:
                    raise ValueError(f"backward: out_grad of shape {src.shape}, expected {dst.shape}")
                src.copyto(dst)
        self._issue(bwd, ins, outs, "Executor.backward")

    # -- parameters and shapes --------------------------------------------------------------------------
    def copy_params_from(self, arg_params, aux_params=None, allow_extra_params=False):
        for name, arr in (arg_params or {}).items():
            if name in self.arg_dict:
                arr.astype(self.arg_dict[name]._data.dtype).copyto(self.arg_dict[name])
            elif not allow_extra_params:
                raise ValueError(f"copy_params_from: '{name}' is not an argument of the symbol")
        for name, arr in (aux_params or {}).items():
            if name in self.aux_dict:
                arr.astype(self.aux_dict[name]._data.dtype).copyto(self.aux_dict[name])
            elif not allow_extra_params:
                raise ValueError(f"copy_params_from: '{name}' is not an auxiliary state of the symbol")

    def reshape(self, partial_shaping=False, allow_up_sizing=False, **kwargs):
        known = {n: a.shape for n, a in zip(self._arg_names, self.arg_arrays) if n not in kwargs}
        arg_shapes, _, aux_shapes = self._symbol.infer_shape(**known, **kwargs)
        if arg_shapes is None:
            raise MXNetError(f"reshape: cannot infer all shapes from {kwargs}")
        args, grads, aux = {}, {}, {}
        for n, shape, old in zip(self._arg_names, arg_shapes, self.arg_arrays):
            if tuple(shape) == old.shape:
                args[n] = old
                if self.grad_dict.get(n) is not None:
                    grads[n] = self.grad_dict[n]
            else:
                if n not in kwargs and not partial_shaping:
                    raise MXNetError(f"reshape: the shape of '{n}' changes from {old.shape} to {tuple(shape)}; "
                                     "pass partial_shaping=True to allow it")
                if np.prod(shape) > old.size and not allow_up_sizing and n not in kwargs:
                    raise MXNetError(f"reshape: '{n}' would grow; pass allow_up_sizing=True")
                args[n] = zeros(shape, self._ctx, old._data.dtype)
                if self._reqs.get(n, "null") != "null":
                    grads[n] = zeros(shape, self._ctx, old._data.dtype)
        for n, shape, old in zip(self._aux_names, aux_shapes, self.aux_arrays):
            aux[n] = old if tuple(shape) == old.shape else zeros(shape, self._ctx, old._data.dtype)
        return Executor(self._symbol, self._ctx, args, grads, self._reqs, aux, mirror=self._mirror)

    def debug_str(self) -> str:
        prog = self._inference_program()[0]
        return str(prog.graph)


def simple_bind(symbol, ctx=None, grad_req="write", type_dict=None, shared_exec=None, mirror=None, **shapes):
    ctx = ctx or current_context()
    arg_shapes, _, aux_shapes = symbol.infer_shape(**shapes)
    if arg_shapes is None:
        partial = symbol.infer_shape_partial(**shapes)[0]
        unknown = [n for n, s in zip(symbol.list_arguments(), partial) if not s]
        raise MXNetError(f"simple_bind: cannot infer the shapes of {unknown}; pass them as keyword arguments")
    arg_types, _, aux_types = symbol.infer_type(**(type_dict or {}))
    arg_names, aux_names = symbol.list_arguments(), symbol.list_auxiliary_states()
    reqs = _normalize_reqs(grad_req, arg_names)
    shared = shared_exec.arg_dict if shared_exec is not None else {}
    args, grads, aux = {}, {}, {}
    for n, s, t in zip(arg_names, arg_shapes, arg_types):
        old = shared.get(n)
        args[n] = old if old is not None and old.shape == tuple(s) else zeros(s, ctx, t)
        if reqs[n] != "null":
            grads[n] = zeros(s, ctx, t)
    for n, s, t in zip(aux_names, aux_shapes, aux_types):
        aux[n] = zeros(s, ctx, t)
    return Executor(symbol, ctx, args, grads, reqs, aux, mirror=mirror)


def _as_dict(values, names, what):
    if values is None:
        return {}
    if isinstance(values, dict):
        unknown = set(values) - set(names)
        if unknown:
            raise ValueError(f"bind: {what} has unknown names {sorted(unknown)}; expected some of {names}")
        return dict(values)
    values = list(values)
    if len(values) != len(names):
        raise ValueError(f"bind: {len(values)} {what} for {len(names)} names {names}")
    return dict(zip(names, values))


def bind(symbol, ctx, args, args_grad=None, grad_req="write", aux_states=None):
    ctx = ctx or current_context()
    arg_names, aux_names = symbol.list_arguments(), symbol.list_auxiliary_states()
    args = _as_dict(args, arg_names, "args")
    missing = [n for n in arg_names if n not in args]
    if missing:
        raise MXNetError(f"bind: missing arrays for arguments {missing}")
    grads = {k: v for k, v in _as_dict(args_grad, arg_names, "args_grad").items() if v is not None}
    reqs = _normalize_reqs(grad_req, arg_names) if args_grad is not None else {n: "null" for n in arg_names}
    for n in arg_names:
        if reqs[n] != "null" and n not in grads:
            reqs[n] = "null"
    aux = _as_dict(aux_states, aux_names, "aux_states")
    missing = [n for n in aux_names if n not in aux]
    if missing:
        raise MXNetError(f"bind: missing aux_states {missing}")
    for what, d in (("args", args), ("args_grad", grads), ("aux_states", aux)):
        for n, a in d.items():
            if not isinstance(a, NDArray):
                raise TypeError(f"bind: {what}['{n}'] must be an NDArray, got {type(a).__name__}")
    return Executor(symbol, ctx, args, grads, reqs, aux)


logging.getLogger(__name__).addHandler(logging.NullHandler())
