"""Lowering to source: the target is a parameter (templates/<target>/), never a branch."""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

from ..ir import Graph, Lowering, registry
from . import families
from .program import RNG, Buf, Launch, Meta, Program
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


def emit(graph: Graph, target: str = "c", late_inputs=()) -> GraphProgram:
    """A whole graph as one translation unit: every distinct kernel once, plus a `run` entry
    that calls them in order over caller-provided I/O buffers, one arena and the random
    generator's state: run(io, arena, rng, status).

    `late_inputs` (Values among the graph inputs, e.g. head gradients) split the schedule in
    two more entries sharing the arena: `forward` runs every node that does not depend on
    them, `backward` the rest (an executor's forward(is_train=True) and backward()).

    Intermediates get naive, 64-byte aligned arena slots here, unless passes/plan_memory.py
    left a `graph.memory_plan` made for this node order and these late inputs: then they sit
    at the plan's offsets in one shared arena.
    """
    kernels: dict[str, str] = {}
    entries: dict[str, str] = {}
    loc: dict[int, str] = {}
    for k, v in enumerate(graph.inputs):
        loc.setdefault(v.id, f"io[{k}]")
    out_slots = {}
    for j, v in enumerate(graph.outputs):
        out_slots.setdefault(v.id, f"io[{len(graph.inputs) + j}]")
    arena = 0
    steps, metas = [], []
    late = {v.id for v in late_inputs}
    for node in graph.nodes:
        if any(v.id in late for v in node.inputs):
            late.update(o.id for o in node.outputs)
    plan = _usable_plan(graph, late_inputs, out_slots)
    for idx, node in enumerate(graph.nodes):
        stage = "backward" if any(o.id in late for o in node.outputs) else "forward"
        opdef = registry.get(node.op)
        attrs = opdef.parse_attrs(node.attrs)
        for v in node.outputs:
            if not v.type.known:
                raise ValueError(f"emit: {node.op} output type {v.type} is not fully known; run infer_types first")
            if v.id in out_slots:
                loc[v.id] = out_slots[v.id]
            else:
                loc[v.id] = f"(intptr_t)(arena + {plan['offsets'][v.id] if plan else arena})"
                arena += -(-v.type.nbytes // 64) * 64
        low = lower_node(node.op, attrs, [v.type for v in node.inputs], [v.type for v in node.outputs])
        kname = kernel_name(low)
        if kname not in kernels:
            code, ents = families.get(low.family).render(kname, low.params, target)
            kernels[kname] = code
            entries.update(ents)
        for launch in families.get(low.family).plan(kname, low.params, low.args):
            args = []
            for a in launch.args:
                if isinstance(a, Buf):
                    base = loc[(node.outputs if a.kind == "out" else node.inputs)[a.index].id]
                    args.append(f"{base} + {a.byte_offset}" if a.byte_offset else base)
                elif a is RNG:
                    args.append("rng_")
                elif isinstance(a, Meta):
                    metas.append([int(x) for x in a.values])
                    args.append(f"(intptr_t)meta{len(metas) - 1}")
                else:
                    args.append(_c_literal(a))
            steps.append({"node": idx, "entry": launch.entry, "args": args, "stage": stage})
    copies = []  # outputs that are graph inputs, or listed twice, are copied into their slot
    for j, v in enumerate(graph.outputs):
        slot = f"io[{len(graph.inputs) + j}]"
        if loc.get(v.id) != slot:
            copies.append({"dst": slot, "src": loc[v.id], "nbytes": v.type.nbytes,
                           "stage": "backward" if v.id in late else "forward"})
    stages = ["run"] + (["forward", "backward"] if late_inputs else [])
    name = "mx_graph_" + hashlib.sha1(repr((sorted(kernels), steps, metas, copies, stages)).encode()).hexdigest()[:12]
    run = render_template(target, "graph.j2", name=name, steps=steps, metas=metas, copies=copies, stages=stages)
    for st in stages:
        entries[f"{name}_{st}"] = f"int {name}_{st}(intptr_t io_, intptr_t arena_, intptr_t rng_, intptr_t status_);"
    source = render_template(target, "prelude.j2") + "\n" + "\n".join(kernels.values()) + "\n" + run
    # naive: the graph as it entered the passes (passes/plan_memory.py), never below this layout
    naive = max(arena, (plan or {}).get("naive_bytes") or getattr(graph, "naive_bytes", 0) or 0)
    return GraphProgram(Program(name, source, entries, target), plan["planned_bytes"] if plan else arena,
                        len(graph.inputs), len(graph.outputs), [n.op for n in graph.nodes], naive_bytes=naive,
                        planned=plan is not None, inplace=plan["inplace"] if plan else 0)


def _usable_plan(graph: Graph, late_inputs, out_slots) -> dict | None:
    """graph.memory_plan if it was made for this node order, these late inputs and covers every
    intermediate; None (the naive layout) otherwise."""
    plan = getattr(graph, "memory_plan", None)
    if plan is None:
        return None
    if plan["order"] != tuple(id(n) for n in graph.nodes) or plan["late"] != frozenset(v.id for v in late_inputs):
        return None
    offsets = plan["offsets"]
    if any(v.id not in out_slots and v.id not in offsets for n in graph.nodes for v in n.outputs):
        return None
    return plan


def _c_literal(x) -> str:
    """A number as C source (only numbers reach generated code this way)."""
    if isinstance(x, bool) or isinstance(x, int):
        return f"INT64_C({int(x)})"
    if isinstance(x, float):
        if math.isnan(x):
            return "NAN"
        if math.isinf(x):
            return "INFINITY" if x > 0 else "-INFINITY"
        return x.hex()
    raise TypeError(f"emit: launch argument {x!r} is not a number")


@dataclass
class GraphProgram:
    program: Program
    arena_bytes: int
    num_inputs: int
    num_outputs: int
    node_ops: list
    naive_bytes: int = 0  # every intermediate its own slot
    planned: bool = False  # arena_bytes comes from passes/plan_memory.py
    inplace: int = 0  # outputs written over a dying input

    @property
    def run_entry(self) -> str:
        return f"{self.program.name}_run"

    def entry(self, stage: str) -> str:
        """`run` (everything), or `forward` / `backward` when emitted with late inputs."""
        return f"{self.program.name}_{stage}"
