"""The pass pipeline: a list of named Graph -> Graph functions, dumpable after each step."""
from __future__ import annotations

import os
from pathlib import Path

from ..ir import Graph, print_graph
from .infer_types import infer_types

PIPELINE = [("infer_types", infer_types)]


def disabled() -> set:
    return {p.strip() for p in os.environ.get("MXCC_DISABLE_PASSES", "").split(",") if p.strip()}


def run_pipeline(graph: Graph, passes=None, tag: str = "graph") -> Graph:
    """Run each pass not named in $MXCC_DISABLE_PASSES; with $MXCC_DUMP_IR=dir, write the graph after each."""
    off = disabled()
    dump = os.environ.get("MXCC_DUMP_IR")
    for i, (name, fn) in enumerate(passes or PIPELINE):
        if name in off and name != "infer_types":
            continue
        graph = fn(graph)
        if dump:
            Path(dump).mkdir(parents=True, exist_ok=True)
            (Path(dump) / f"{tag}.{i:02d}.{name}.txt").write_text(print_graph(graph) + "\n")
    return graph
