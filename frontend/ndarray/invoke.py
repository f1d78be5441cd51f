"""Imperative dispatch: one op on concrete NDArrays.

The path is walked once per signature. A call is a dictionary lookup of
(op, attrs, input shapes and dtypes, device) to a plan: already-loaded entry
points with their argument lists, where only the buffer addresses are filled in
per call. A miss builds a one-node IR graph, runs the pass pipeline (type
inference), lowers and emits the kernel, and compiles it (or finds it cached).
"""
from __future__ import annotations

import math
import os
import threading

from .. import runtime
from ..codegen import emit_kernel, lower_node, plan_kernel
from ..codegen.program import RNG, Buf, Meta
from ..context import Context, current_context
from ..ir import Graph, TensorType, Value, registry
from ..ir.errors import MXNetError
from ..ir.graph import Node
from ..passes import run_pipeline
from ..runtime.stats import bump as _bump_stat  # runtime.stats is the stats() function

# calls writing fewer elements than this run inline when the device is idle
INLINE_MAX = 1 << 16
_PLAN_CACHE_MAX = 20000

_plans: dict = {}
_programs: dict = {}
_lock = threading.RLock()


def _new_lock_in_child():  # a fork while another thread compiled would leave the child's copy held
    global _lock
    _lock = threading.RLock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_new_lock_in_child)


class Plan:
    __slots__ = ("op", "out_types", "calls", "inline", "keep", "engine", "visible")

    def __init__(self, op, out_types, calls, inline, keep, engine):
        self.op, self.out_types, self.calls, self.inline, self.keep = op, out_types, calls, inline, keep
        self.engine = engine


def _load_program(lowering, ctx: Context):
    prog = emit_kernel(lowering, "c")
    loaded = _programs.get(prog.name)
    if loaded is None:
        with _lock:
            loaded = _programs.get(prog.name)
            if loaded is None:
                loaded = runtime.toolchain_c.load(prog.source, prog.cdecls, prog.name)
                _programs[prog.name] = loaded
    else:
        _bump_stat("cache_hits")
    return loaded, prog


def infer(opdef, in_types, attrs):
    """Type inference through the IR: a one-node graph and the pass pipeline."""
    ins = [Value(t) for t in in_types]
    node = Node(opdef.name, attrs, ins, [TensorType(None)] * opdef.outputs_for(attrs))
    g = run_pipeline(Graph(ins, node.outputs, [node]), tag=opdef.name)
    return [v.type for v in g.outputs]


def build_plan(opdef, attrs, in_types, ctx: Context) -> Plan:
    if ctx.device_type == "gpu":
        raise MXNetError(f"{opdef.name}: no CUDA toolchain in this build; use mx.cpu()")
    out_types = infer(opdef, in_types, attrs)
    lowering = lower_node(opdef.name, attrs, in_types, out_types)
    loaded, prog = _load_program(lowering, ctx)
    calls, keep = [], []
    for launch in plan_kernel(lowering):
        template, slots = [], []
        for pos, a in enumerate(launch.args):
            if isinstance(a, Buf):
                slots.append((pos, a.kind == "out", a.index, a.byte_offset))
                template.append(0)
            elif isinstance(a, Meta):
                keep.append(a.values)
                template.append(a.values.ctypes.data)
            elif a is RNG:
                template.append(runtime.rng.ADDRESS)
            else:
                template.append(a)
        calls.append((loaded.fn(launch.entry), template, tuple(slots), launch.errors))
    inline = sum(math.prod(t.shape) for t in out_types) < INLINE_MAX
    plan = Plan(opdef.name, out_types, calls, inline, keep, ctx_engine(ctx))
    plan.visible = opdef.visible_outputs(attrs)  # Dropout's mask etc. stay hidden, as in MXNet
    return plan


def _type_error(opdef, inputs):
    from .ndarray import NDArray

    for k, x in enumerate(inputs):
        if not isinstance(x, NDArray):
            name = f"data[{k}]" if opdef.variadic else opdef.inputs[min(k, len(opdef.inputs) - 1)]
            raise TypeError(f"{opdef.name}: input '{name}' must be an NDArray, got {type(x).__name__}")
    raise TypeError(f"{opdef.name}: bad inputs")


def _check_out(opdef, outs, out_types):
    from .ndarray import NDArray

    for o, t in zip(outs, out_types):
        if not isinstance(o, NDArray):
            raise TypeError(f"{opdef.name}: out must be an NDArray, got {type(o).__name__}")
        if o._data.shape != t.shape or o._data.dtype.name != t.dtype:
            raise ValueError(f"{opdef.name}: out has shape {o.shape} and dtype {o._data.dtype.name}, "
                             f"expected {t.shape} and {t.dtype}")


_hook = None  # set by mx.autograd while recording or in train mode: (opdef, inputs, attrs, out, ctx) -> result


def invoke(opdef, inputs, attrs: dict, out=None, ctx: Context | None = None, _inner=False):
    """Run `opdef` on NDArrays `inputs`; returns an NDArray or a list of them (several outputs).

    This is the hot path of every imperative op: keep it to dictionary lookups. `_inner` (autograd's
    recorder) bypasses the hook and returns (all outputs, the usual result).
    """
    if _hook is not None and not _inner:
        return _hook(opdef, inputs, attrs, out, ctx)
    try:
        in_key = tuple([(x._data.shape, x._data.dtype.num) for x in inputs])
    except AttributeError:
        _type_error(opdef, inputs)
    if ctx is None:
        ctx = inputs[0]._ctx if inputs else current_context()
    try:
        key = (opdef.name, tuple(attrs.items()), in_key, ctx.key)
        plan = _plans.get(key)
    except TypeError:  # unhashable attribute values (lists): no plan caching
        key, plan = None, None
    if plan is None:
        plan = build_plan(opdef, opdef.parse_attrs(attrs), [
            TensorType(x._data.shape, x._data.dtype.name) for x in inputs], ctx)
        if key is not None:
            if len(_plans) > _PLAN_CACHE_MAX:
                _plans.clear()
            _plans[key] = plan
    engine = plan.engine
    result = None
    if opdef.updates:
        outs, result = _update_outs(opdef, inputs, out, attrs, plan.out_types, ctx, engine)
    elif out is None:
        outs = [_new_array(t.shape, t.dtype, ctx, engine) for t in plan.out_types]
    else:
        outs = list(out) if isinstance(out, (list, tuple)) else [out]
        _check_out(opdef, outs, plan.out_types)
    if plan.calls:
        in_ptrs = [x._ptr for x in inputs]
        out_ptrs = [o._ptr for o in outs]
        calls = []
        for fn, template, slots, errors in plan.calls:
            args = list(template)
            for pos, is_out, idx, off in slots:
                args[pos] = (out_ptrs if is_out else in_ptrs)[idx] + off
            calls.append((fn, args, errors))
        engine.push(calls, opdef.name, [o._var for o in outs], [x._var for x in inputs],
                    (inputs, outs, plan), plan.inline)
    if _inner:
        vis = plan.visible
        return outs, (out if out is not None else result if result is not None else
                      outs[0] if vis == 1 else outs[:vis])
    if out is not None:
        return out
    if result is not None:
        return result
    vis = plan.visible
    return outs[0] if vis == 1 else outs[:vis]


def _update_outs(opdef, inputs, out, attrs, out_types, ctx, engine):
    """Outputs of an op whose outputs include new values of its inputs (OpDef.updates: optimizer
    states, BatchNorm's moving statistics): as MXNet's mutable inputs, those are written into the
    inputs themselves; the others go to `out` (in order) or new arrays. `out` may also give every
    output. Returns (all outputs, what the call returns: its visible outputs)."""
    given = [] if out is None else (list(out) if isinstance(out, (list, tuple)) else [out])
    if given and len(given) == len(out_types):
        _check_out(opdef, given, out_types)
        return given, None
    free = [k for k in range(len(out_types)) if k not in opdef.updates]
    if len(given) > len(free):
        raise ValueError(f"{opdef.name}: out holds {len(given)} arrays; the op has {len(free)} output(s) besides "
                         f"the inputs it updates ({len(out_types)} in all)")
    outs = [None] * len(out_types)
    for k, j in opdef.updates.items():
        outs[k] = inputs[j]
    for n, k in enumerate(free):
        outs[k] = given[n] if n < len(given) else _new_array(out_types[k].shape, out_types[k].dtype, ctx, engine)
    _check_out(opdef, outs, out_types)
    nvis = opdef.num_visible_outputs
    nvis = len(free) if nvis is None else (nvis(opdef.parse_attrs(attrs)) if callable(nvis) else nvis)
    return outs, (outs[0] if nvis == 1 else outs[:nvis])


_new_array = None  # set by ndarray.py: a fast NDArray constructor


_engines: dict = {}


def ctx_engine(ctx: Context):
    eng = _engines.get(ctx.key)
    if eng is None:
        eng = _engines[ctx.key] = runtime.get_engine(ctx.key)
    return eng


def kernel_source(op: str, *inputs, **attrs) -> str:
    """The generated C of the kernel that `op` runs for these inputs (for reading, not running)."""
    opdef = registry.get(op)
    in_types = [TensorType(x._data.shape, x._data.dtype.name) for x in inputs]
    parsed = opdef.parse_attrs(attrs)
    lowering = lower_node(opdef.name, parsed, in_types, infer(opdef, in_types, parsed))
    return emit_kernel(lowering, "c").source
