"""In-place dispatch of the fused update ops (ir/ops/optimizer.py) for the optimizers.

The learning rate and the other scalars change from step to step (schedules, Adam's bias
correction, per-parameter multipliers). They are run-time arguments of the `update` kernel,
so the plan -- loaded kernel and argument template -- is built once per op, shapes, dtypes
and device, and each step only fills in the buffer addresses and the scalars (the family
puts the scalars last, in the op's attribute order). Going through `invoke` instead would
key the plan on the scalar values and rebuild it at every new learning rate.
"""
from __future__ import annotations

from ..ir import TensorType, registry
from ..ndarray.invoke import build_plan
from ..ndarray.ndarray import NDArray

_plans: dict = {}
_scalars: dict = {}  # op -> ((name, default or None if required), ...)


def _scalar_attrs(op):
    spec = _scalars.get(op)
    if spec is None:
        opdef = registry.get(op)
        spec = _scalars[op] = tuple((k, None if a.required else a.default)
                                    for k, a in opdef.attrs.items() if a.kind == "float")
    return spec


def fused_update(op: str, weight: NDArray, grad: NDArray, states=(), **scalars) -> None:
    """Run update op `op` on (weight, grad, *states), writing the new weight and states in place."""
    spec = _scalar_attrs(op)
    values = []
    for name, default in spec:
        v = scalars.pop(name, default)
        if v is None:
            raise TypeError(f"{op}: missing required argument {name!r}")
        values.append(float(v))
    if scalars:
        raise TypeError(f"{op}: unexpected arguments {sorted(scalars)}; expected some of {[n for n, _ in spec]}")
    ins = [weight, grad, *states]
    for k, x in enumerate(ins):
        if not isinstance(x, NDArray):
            what = ("weight", "grad")[k] if k < 2 else f"state {k - 2}"
            raise TypeError(f"{op}: {what} must be an NDArray, got {type(x).__name__}")
    outs = [weight, *states]
    ctx = weight._ctx
    key = (op, tuple([(x._data.shape, x._data.dtype.num) for x in ins]), ctx.key)
    plan = _plans.get(key)
    if plan is None:
        opdef = registry.get(op)
        attrs = opdef.parse_attrs(dict(zip((n for n, _ in spec), values)))
        plan = _plans[key] = build_plan(opdef, attrs, [TensorType(x._data.shape, x._data.dtype.name) for x in ins],
                                        ctx)
    if not plan.calls:
        return
    calls = []
    for fn, template, slots, errors in plan.calls:
        args = list(template)
        args[len(args) - len(values):] = values
        for pos, is_out, idx, off in slots:
            args[pos] = (outs if is_out else ins)[idx]._ptr + off
        calls.append((fn, args, errors))
    plan.engine.push(calls, op, [o._var for o in outs], [x._var for x in ins], (ins, plan), plan.inline)


__all__ = ["fused_update"]
