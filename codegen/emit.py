"""Lowering to source: the target is a parameter (templates/<target>/), never a branch."""
from __future__ import annotations

import hashlib

from ..ir import Graph, Lowering, registry
from . import families
from .program import Launch, Program
from .templates import render as render_template


def kernel_name(lowering: Lowering) -> str:
    digest = hashlib.sha1(repr(lowering.key()).encode()).hexdigest()[:12]
    return f"mx_{lowering.family}_{digest}"


def emit_kernel(lowering: Lowering, target: str = "c") -> Program:
    """One shape-generic kernel in its own translation unit (the imperative path)."""
    kname = kernel_name(lowering)
    code, entries = families.get(lowering.family).render(kname, lowering.params, target)
    source = render_template(target, "prelude.j2") + "\n" + code
    return Program(kname, source, entries, target)


def plan_kernel(lowering: Lowering) -> list[Launch]:
    return families.get(lowering.family).plan(kernel_name(lowering), lowering.params, lowering.args)


def lower_node(op: str, attrs: dict, in_types, out_types) -> Lowering:
    opdef = registry.get(op)
    if opdef.lower is None:
        raise NotImplementedError(f"{op}: no lowering to a kernel")
    return opdef.lower(list(in_types), list(out_types), attrs)


def emit(graph: Graph, target: str = "c"):
    """A whole graph as one translation unit: every distinct kernel once, plus the schedule.

    Returns (Program, schedule) where schedule is [(node, [Launch, ...]), ...] in order;
    Buf("in", k) / Buf("out", k) of a launch refer to the node's k-th input / output Value.
    """
    kernels: dict[str, str] = {}
    entries: dict[str, str] = {}
    schedule = []
    for node in graph.nodes:
        opdef = registry.get(node.op)
        attrs = opdef.parse_attrs(node.attrs)
        low = lower_node(node.op, attrs, [v.type for v in node.inputs], [v.type for v in node.outputs])
        kname = kernel_name(low)
        if kname not in kernels:
            code, ents = families.get(low.family).render(kname, low.params, target)
            kernels[kname] = code
            entries.update(ents)
        schedule.append((node, families.get(low.family).plan(kname, low.params, low.args)))
    source = render_template(target, "prelude.j2") + "\n" + "\n".join(kernels.values())
    name = "mx_graph_" + hashlib.sha1(source.encode()).hexdigest()[:12]
    return Program(name, source, entries, target), schedule
