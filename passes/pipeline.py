"""The pass pipeline: a list of named Graph -> Graph functions, dumpable after each step."""
from __future__ import annotations

import os
from pathlib import Path

from ..ir import Graph, print_graph
from .fuse import fuse
from .infer_types import infer_types
from .mirror import mirror
from .plan_memory import naive_bytes, plan_memory
from .simplify import simplify

# plan_memory stays last
PIPELINE = [("infer_types", infer_types), ("simplify", simplify), ("mirror", mirror), ("fuse", fuse),
            ("plan_memory", plan_memory)]


# what the executor tells the passes, kept on every pass's result: the forward/backward split
# (late inputs, for plan_memory), how many leading outputs are the forward ones (for mirror), and
# the inputs whose buffer may also be an output's (grad_req='add' gradients, updated aux states:
# fuse_epilogue must not read them after writing)
CARRIED = ("late_inputs", "mirror_outputs", "naive_bytes", "aliased_inputs")


def disabled() -> set:
    return {p.strip() for p in os.environ.get("MXCC_DISABLE_PASSES", "").split(",") if p.strip()}


def run_pipeline(graph: Graph, passes=None, tag: str = "graph") -> Graph:
    """Run each pass not named in $MXCC_DISABLE_PASSES; with $MXCC_DUMP_IR=dir, write the graph after each."""
    off = disabled()
    dump = os.environ.get("MXCC_DUMP_IR")
    for i, (name, fn) in enumerate(passes or PIPELINE):
        if name in off and name != "infer_types":
            continue
        carried = {k: getattr(graph, k) for k in CARRIED if getattr(graph, k, None) is not None}
        graph = fn(graph)
        if name == "infer_types" and getattr(graph, "naive_bytes", None) is None:
            graph.naive_bytes = naive_bytes(graph)  # the arena with every pass off: plan_memory's baseline
        for k, v in carried.items():
            if getattr(graph, k, None) is None:
                setattr(graph, k, v)
        if dump:
            Path(dump).mkdir(parents=True, exist_ok=True)
            (Path(dump) / f"{tag}.{i:02d}.{name}.txt").write_text(print_graph(graph) + "\n")
    return graph
