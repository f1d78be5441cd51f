"""Imperative dispatch: one op on concrete NDArrays.

The path is walked once per signature. A call is a dictionary lookup of
(op, attrs, input shapes and dtypes, device) to a plan: already-loaded entry
points with their argument lists, where only the buffer addresses are filled in
per call. A miss builds a one-node IR graph, runs the pass pipeline (type
inference), lowers and emits the kernel, and compiles it (or finds it cached).
"""
from __future__ import annotations

import math
import threading

import numpy as np

from ..context import Context, current_context
from ..ir import Graph, TensorType, Value, registry
from ..ir.errors import MXNetError
from ..ir.graph import Node
from ..passes import run_pipeline
from ..codegen import emit_kernel, lower_node, plan_kernel
from ..codegen.program import Buf, Meta
from .. import runtime

# calls writing fewer elements than this run inline when the device is idle
INLINE_MAX = 1 << 16
_PLAN_CACHE_MAX = 20000

_plans: dict = {}
_programs: dict = {}
_lock = threading.RLock()


class Plan:
    __slots__ = ("op", "out_types", "calls", "inline", "keep")

    def __init__(self, op, out_types, calls, inline, keep):
        self.op, self.out_types, self.calls, self.inline, self.keep = op, out_types, calls, inline, keep


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
        runtime.stats.bump("cache_hits")
    return loaded, prog


def infer(opdef, in_types, attrs):
    """Type inference through the IR: a one-node graph and the pass pipeline."""
    ins = [Value(t) for t in in_types]
    node = Node(opdef.name, attrs, ins, [TensorType(None)] * opdef.num_outputs)
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
            else:
                template.append(a)
        calls.append((loaded.fn(launch.entry), template, tuple(slots), launch.errors))
    inline = sum(math.prod(t.shape) for t in out_types) < INLINE_MAX
    return Plan(opdef.name, out_types, calls, inline, keep)


def get_plan(opdef, attrs_key, attrs_given, in_types_key, in_arrays, ctx):
    key = (opdef.name, attrs_key, in_types_key, ctx.device_type)
    plan = _plans.get(key) if attrs_key is not None else None
    if plan is None:
        attrs = opdef.parse_attrs(attrs_given)
        in_types = [TensorType(a.shape, a.dtype.name if hasattr(a.dtype, "name") else str(a.dtype))
                    for a in in_arrays]
        plan = build_plan(opdef, attrs, in_types, ctx)
        if attrs_key is not None:
            if len(_plans) > _PLAN_CACHE_MAX:
                _plans.clear()
            _plans[key] = plan
    return plan


def _hashable(attrs: dict):
    try:
        key = tuple(sorted(attrs.items()))
        hash(key)
        return key
    except TypeError:
        return None


def invoke(opdef, inputs, attrs: dict, out=None, ctx: Context | None = None):
    """Run `opdef` on NDArrays `inputs`; returns an NDArray or a list of them (several outputs)."""
    from .ndarray import NDArray, _new_output

    for k, x in enumerate(inputs):
        if not isinstance(x, NDArray):
            names = opdef.inputs if not opdef.variadic else [f"data[{k}]"] * len(inputs)
            raise TypeError(f"{opdef.name}: input '{names[min(k, len(names) - 1)]}' must be an NDArray, "
                            f"got {type(x).__name__}")
    if ctx is None:
        ctx = inputs[0]._ctx if inputs else current_context()
    in_key = tuple((x._data.shape, x._data.dtype.num) for x in inputs)
    plan = get_plan(opdef, _hashable(attrs), attrs, in_key, [x._data for x in inputs], ctx)
    if out is None:
        outs = [_new_output(t, ctx) for t in plan.out_types]
    else:
        outs = list(out) if isinstance(out, (list, tuple)) else [out]
        for o, t in zip(outs, plan.out_types):
            if not isinstance(o, NDArray):
                raise TypeError(f"{opdef.name}: out must be an NDArray, got {type(o).__name__}")
            if o._data.shape != t.shape or o._data.dtype.name != t.dtype:
                raise ValueError(f"{opdef.name}: out has shape {o.shape} and dtype {o._data.dtype.name}, "
                                 f"expected {t.shape} and {t.dtype}")
    if plan.calls:
        in_ptrs = [x._ptr for x in inputs]
        out_ptrs = [o._ptr for o in outs]
        calls = []
        for fn, template, slots, errors in plan.calls:
            args = list(template)
            for pos, is_out, idx, off in slots:
                args[pos] = (out_ptrs if is_out else in_ptrs)[idx] + off
            calls.append((fn, args, errors))
        runtime_engine = ctx_engine(ctx)
        runtime_engine.push(calls, opdef.name, [o._var for o in outs], [x._var for x in inputs],
                            (inputs, outs, plan), plan.inline)
    if out is not None:
        return out
    return outs[0] if len(outs) == 1 else outs


_engines: dict = {}


def ctx_engine(ctx: Context):
    eng = _engines.get(ctx.key)
    if eng is None:
        eng = _engines[ctx.key] = runtime.get_engine(ctx.key)
    return eng


def host_array(shape, dtype) -> np.ndarray:
    """Uninitialised host storage for a new NDArray (numpy only allocates)."""
    return np.empty(shape, dtype=dtype)
