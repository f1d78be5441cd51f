"""A whole IR graph compiled into one C program and run over caller buffers.

This is what a bound executor, a hybridized block and an AOT bundle share: the graph
goes through the pass pipeline, codegen.emit writes one translation unit, the
toolchain compiles (or finds it cached) and loads it, and `run` is a single call
into C over the I/O buffers, an arena and the random generator's state.
"""
from __future__ import annotations

import numpy as np

from . import runtime
from .codegen import emit
from .ir import Graph
from .ir.errors import MXNetError
from .passes import run_pipeline
from .runtime.stats import bump

_loaded: dict = {}


class CompiledGraph:
    def __init__(self, graph: Graph, target: str = "c", passes=None, tag: str = "graph", late_inputs=()):
        self.graph = run_pipeline(graph, passes, tag=tag)
        self.gp = emit(self.graph, target, late_inputs=late_inputs)
        prog = self.gp.program
        lib = _loaded.get(prog.name)
        if lib is None:
            lib = _loaded[prog.name] = runtime.toolchain_c.load(prog.source, prog.cdecls, prog.name)
        else:
            bump("cache_hits")
        self._lib = lib
        self._run = lib.fn(self.gp.run_entry)
        self.arena = np.empty(max(self.gp.arena_bytes, 1), np.uint8)  # numpy only holds the bytes
        self._status = np.zeros(1, np.int64)
        self._io = np.zeros(len(self.graph.inputs) + len(self.graph.outputs), np.intp)

    @property
    def source(self) -> str:
        return self.gp.program.source

    def set_io(self, ptrs) -> None:
        """Fix the buffer addresses (inputs then outputs, in graph order) for later `call`s."""
        self._io[:] = ptrs

    def entry(self, stage: str = "run"):
        """A callable running one entry (`run`, or `forward`/`backward`) over the fixed I/O."""
        fn = self._lib.fn(self.gp.entry(stage))
        io, arena, status = self._io.ctypes.data, self.arena.ctypes.data, self._status.ctypes.data

        def call():
            rc = fn(io, arena, runtime.rng.ADDRESS, status)
            if rc:
                self._raise(rc)
            return 0
        return call

    def _raise(self, rc):
        node = self.graph.nodes[int(self._status[0])]
        where = f" (node {node.name})" if node.name else ""
        raise MXNetError(f"{node.op}{where}: kernel failed with error code {rc}")

    def run_ptrs(self, ptrs) -> None:
        """Run over buffer addresses: inputs then outputs, in graph order."""
        self._io[:] = ptrs
        rc = self._run(self._io.ctypes.data, self.arena.ctypes.data, runtime.rng.ADDRESS, self._status.ctypes.data)
        if rc:
            self._raise(rc)

    def __call__(self, *inputs: np.ndarray) -> list[np.ndarray]:
        """Run on host arrays (tests and tools): returns new output arrays."""
        if len(inputs) != len(self.graph.inputs):
            raise ValueError(f"expected {len(self.graph.inputs)} inputs, got {len(inputs)}")
        ins = []
        for x, v in zip(inputs, self.graph.inputs):
            a = np.ascontiguousarray(x, dtype=v.type.dtype)
            if a.shape != tuple(v.type.shape):
                raise ValueError(f"input {v.name or v.id}: shape {a.shape}, expected {v.type.shape}")
            ins.append(a)
        outs = [np.empty(v.type.shape, v.type.dtype) for v in self.graph.outputs]
        self.run_ptrs([a.ctypes.data for a in ins] + [o.ctypes.data for o in outs])
        return outs
