"""A hybridized block's traced Symbol, compiled once per input signature and run as one C call.

The signature is (input and parameter shapes/dtypes, device, train mode, which gradients are
needed). Three kinds of program come out of it, all through the same Symbol -> IR -> passes ->
CompiledGraph path an Executor uses:

- inference, or a train-mode forward outside autograd.record(): one `run` entry;
- under autograd.record(): a `forward` and a `backward` entry over one planned arena (as
  Executor's training program). The forward runs now; ONE node goes on the autograd tape for the
  whole block (a cut, as a custom autograd.Function): when autograd's backward reaches it, the
  output gradients' addresses become the program's head gradients, the `backward` entry writes the
  Parameters' gradients straight into Parameter.grad (grad_req write/add), and only the gradients of
  the block's recorded inputs go back to autograd.

The Parameters' own data and gradient arrays are the program's buffers: no weight is copied per
call. Each recorded call has its own arena (and I/O table), taken from a small pool and returned when
the call's tape node dies, so two calls recorded before one backward do not overwrite each other.
"""
from __future__ import annotations

import logging

import numpy as np

from .. import autograd, runtime
from .. import ndarray as nd
from ..compiled import CompiledGraph
from ..ir import Graph, Node, Value
from ..ir.errors import MXNetError
from ..ndarray.invoke import ctx_engine
from ..passes.autodiff import autodiff
from ..symbol.infer import lower_symbol

_POOL_MAX = 4
_INLINE_BYTES = 1 << 18
_PROGRAMS_MAX = 64


class _Program:
    """One compiled signature: the entries and the layout of its I/O table."""

    def __init__(self, cg, entries, n_in, n_out, arena_bytes):
        self.cg = cg
        self.entries = entries  # stage -> cffi function
        self.n_in, self.n_out = n_in, n_out
        self.arena_bytes = max(arena_bytes, 1)
        self.pool = []  # free arenas for recorded calls
        self.status = np.zeros(1, np.int64)
        self.shared_arena = cg.arena  # calls that keep no state for a backward share this one
        self.pool.append(cg.arena)  # ... and a recorded call takes it first (one program has one kind of call)
        # a small program runs on the caller's thread when the device is idle (a hand-off costs more)
        self.inline = cg.gp.naive_bytes < _INLINE_BYTES

    def take_arena(self):
        return self.pool.pop() if self.pool else np.empty(self.arena_bytes, np.uint8)

    def give_arena(self, arena):
        if len(self.pool) < _POOL_MAX:
            self.pool.append(arena)

    def launcher(self, stage, io, arena):
        fn = self.entries[stage]
        cg, status = self.cg, self.status
        args = (io.ctypes.data, arena.ctypes.data, runtime.rng.ADDRESS, status.ctypes.data)

        def call():
            rc = fn(*args)
            if rc:
                cg._raise(rc)
            return 0
        return call


class _Pending:
    """The state of one recorded call, held by its tape node: its I/O table and arena."""

    __slots__ = ("op", "prog", "io", "arena", "inputs", "pdata", "out_types", "grad_slots", "data_grads", "runs",
                 "__weakref__")

    def __init__(self, op, prog, io, arena, inputs, pdata, out_types, grad_slots, data_grads):
        # no output NDArrays here: they point at the tape node that holds this object (no cycle)
        self.op, self.prog, self.io, self.arena = op, prog, io, arena
        self.inputs, self.pdata, self.out_types, self.grad_slots = inputs, pdata, out_types, grad_slots
        self.data_grads = data_grads  # the inputs' gradient arrays, bound from the forward on
        self.runs = 0  # backward runs (retain_graph=True allows several)

    def _release_state(self):
        """autograd frees the tape node (backward without retain_graph): the arena is free for the next call.
        The backward may still be queued; the engine runs it before any later user of the arena."""
        arena, self.arena = self.arena, None
        if arena is not None:
            self.prog.give_arena(arena)

    def __del__(self):
        try:
            self._release_state()
        except Exception:  # noqa: BLE001  (interpreter shutdown)
            pass

    def backward(self, *out_grads):
        return self.op._backward(self, out_grads)


def _bufs(*groups):
    """The storage of NDArrays (what a queued call must keep alive)."""
    return [a._data for g in groups for a in g if a is not None]


class CachedOp:
    """Runs `symbol` with the named inputs fed by the call and every other argument / auxiliary state
    fed by a Parameter."""

    def __init__(self, symbol, input_names, params: dict, flags: dict, name: str):
        self.symbol = symbol
        self.name = name
        self.flags = flags
        arg_names, aux_names = symbol.list_arguments(), symbol.list_auxiliary_states()
        self.input_names = [n for n in input_names if n is not None]  # None inputs (optional args) take no slot
        known = {n: k for k, n in enumerate(self.input_names)}
        self.slots = []  # per graph input (args then aux, by name): ("x", k) or ("p", index into self.plist)
        self.plist = []
        self.params = {}
        for n in arg_names + aux_names:
            if n in known:
                self.slots.append(("x", known[n]))
                continue
            p = params.get(n)
            if p is None:
                raise MXNetError(f"{name}: the traced graph reads '{n}', which is neither an input ("
                                 f"{self.input_names}) nor a Parameter of the block "
                                 f"({sorted(params)})")
            self.params[n] = p
            self.slots.append(("p", len(self.plist)))
            self.plist.append(p)
        self.n_graph_in = len(self.slots)
        self._programs: dict = {}

    def check_params(self):
        for p in self.plist:
            if p._data is None:
                p.data()  # raises DeferredInitializationError or names the uninitialized parameter

    # -- compiling ----------------------------------------------------------------------------------------
    def _types(self, inputs, pdata):
        shapes, dtypes = {}, {}
        for n, (kind, k) in zip(self.symbol.list_arguments() + self.symbol.list_auxiliary_states(), self.slots):
            a = inputs[k] if kind == "x" else pdata[k]
            shapes[n], dtypes[n] = a.shape, a._data.dtype.name
        return shapes, dtypes

    def _build(self, inputs, pdata, train, in_grad, preqs):
        shapes, dtypes = self._types(inputs, pdata)
        low = lower_symbol(self.symbol, shapes, dtypes, train=train)
        g = low.graph
        names = low.arg_names + low.aux_names
        order = self.symbol.list_arguments() + self.symbol.list_auxiliary_states()
        if names != order:
            raise MXNetError(f"{self.name}: internal error, lowered inputs {names} differ from {order}")
        upd_values = [v for _, v in low.updates]
        self.upd_slots = [order.index(n) for n, _ in low.updates]
        grad_mode = in_grad is not None
        if not grad_mode:
            graph = Graph(list(g.inputs), list(g.outputs) + upd_values, list(g.nodes))
            cg = CompiledGraph(graph, tag="gluon_infer")
            prog = _Program(cg, {"run": cg._lib.fn(cg.gp.run_entry)}, len(graph.inputs), len(graph.outputs),
                            cg.gp.arena_bytes)
            prog.layout = None
            prog.upd_slots = self.upd_slots
            prog.out_types = [v.type for v in g.outputs]
            self._log(cg, "inference" if not train else "train-mode forward")
            return prog
        wanted = []  # (graph input index, value, req)
        for j, (kind, k) in enumerate(self.slots):
            req = ("write" if in_grad[k] else "null") if kind == "x" else preqs[k]
            if req != "null":
                wanted.append((j, g.inputs[j], req))
        g2 = autodiff(g, [v for _, v, _ in wanted])
        n_out = len(g.outputs)
        head_values = list(g2.inputs[len(g.inputs):])
        grads = g2.outputs[n_out:]
        nodes = list(g2.nodes)
        late, grad_outs = list(head_values), []
        for (j, _, req), gv in zip(wanted, grads):
            if req == "add":
                old = Value(gv.type, f"{order[j]}_grad_old")
                add = Node("elemwise_add", {}, [old, gv], [gv.type], name=f"{order[j]}_grad_accumulate")
                nodes.append(add)
                late.append(old)
                grad_outs.append(add.outputs[0])
            else:
                grad_outs.append(gv)
        graph = Graph(list(g2.inputs) + late[len(head_values):], list(g.outputs) + grad_outs + upd_values, nodes)
        graph.late_inputs = list(late)
        graph.aliased_inputs = late[len(head_values):]  # grad_req='add': read and written in one buffer
        cg = CompiledGraph(graph, tag="gluon_train", late_inputs=late)
        prog = _Program(cg, {"forward": cg._lib.fn(cg.gp.entry("forward")),
                             "backward": cg._lib.fn(cg.gp.entry("backward"))},
                        len(graph.inputs), len(graph.outputs), cg.gp.arena_bytes)
        prog.layout = (len(head_values), [(j, req) for j, _, req in wanted])
        prog.upd_slots = self.upd_slots
        prog.out_types = [v.type for v in g.outputs]
        self._log(cg, "training")
        return prog

    def _log(self, cg, what):
        gp = cg.gp
        logging.info("%s: hybridized %s graph compiled: arena %.1f MB planned (%.1f MB without planning)",
                     self.name, what, gp.arena_bytes / 1e6, gp.naive_bytes / 1e6)

    # -- running ----------------------------------------------------------------------------------------------
    def __call__(self, inputs):
        inputs = [x for x in inputs if x is not None]
        for x in inputs:
            if not isinstance(x, nd.NDArray):
                raise TypeError(f"{self.name}: inputs of a hybridized block must be NDArrays, got "
                                f"{type(x).__name__}")
        ctx = inputs[0]._ctx
        pdata = [p.data(ctx) for p in self.plist]  # DeferredInitializationError: the block infers shapes
        recording, train = autograd._recording, autograd._training
        in_grad = preqs = None
        srcs = None
        if recording:
            srcs = [autograd._src(x) for x in inputs]
            flags = tuple(not (type(s) is autograd._Leaf and s.req == "null") for s in srcs)
            reqs = tuple(p.grad_req for p in self.plist)
            if any(flags) or any(r != "null" for r in reqs):
                in_grad, preqs = flags, reqs
        key = (tuple([(a._data.shape, a._data.dtype.num) for a in inputs]),
               tuple([(a._data.shape, a._data.dtype.num) for a in pdata]), ctx.key, train, in_grad, preqs)
        prog = self._programs.get(key)
        if prog is None:
            if len(self._programs) >= _PROGRAMS_MAX:
                self._programs.clear()
            prog = self._programs[key] = self._build(inputs, pdata, train, in_grad, preqs)
        outs = [nd.empty(t.shape, ctx, t.dtype) for t in prog.out_types]
        in_ptrs = [(inputs[k] if kind == "x" else pdata[k])._ptr for kind, k in self.slots]
        upd = [pdata[self.slots[j][1]] for j in prog.upd_slots]
        engine = ctx_engine(ctx)
        in_vars = [x._var for x in inputs] + [a._var for a in pdata]
        if prog.layout is None:
            io = np.array(in_ptrs + [o._ptr for o in outs] + [a._ptr for a in upd], np.intp)
            call = prog.launcher("run", io, prog.shared_arena)
            engine.push([(call, (), None)], f"{self.name}(hybridized)", [o._var for o in outs + upd], in_vars,
                        (inputs, pdata, outs, io), prog.inline)
            return outs
        n_heads, wanted = prog.layout
        io = np.zeros(prog.n_in + prog.n_out, np.intp)
        n_gin = self.n_graph_in
        io[:n_gin] = in_ptrs
        grad_slots = []  # (io index of the gradient output, graph input j, req)
        n_vis = len(outs)
        for i, o in enumerate(outs):
            io[prog.n_in + i] = o._ptr
        # every output address is set before the forward runs: a gradient that needs no head gradient
        # (zeros for an unused input) is written by the forward entry already
        data_grads = [None] * len(inputs)
        out_vars = [o._var for o in outs + upd]
        for i, (j, req) in enumerate(wanted):
            slot = prog.n_in + n_vis + i
            kind, k = self.slots[j]
            if kind == "p":
                g = self._grad_array(pdata, j)
            else:
                g = data_grads[k] = nd.empty(inputs[k].shape, ctx, inputs[k]._data.dtype.name)
            io[slot] = g._ptr
            out_vars.append(g._var)
            grad_slots.append((slot, j, req))
        for i, a in enumerate(upd):
            io[prog.n_in + n_vis + len(wanted) + i] = a._ptr
        arena = prog.take_arena()
        pend = _Pending(self, prog, io, arena, list(inputs), pdata, prog.out_types, grad_slots, data_grads)
        call = prog.launcher("forward", io, arena)
        # the queued call keeps its buffers alive (numpy storage, not the NDArrays, whose tape links lead to
        # `pend`): once the tape node dies, the arena goes back to the pool while the call may still be
        # queued; the engine runs calls in order, so the arena's next user (issued later) runs after it
        engine.push([(call, (), None)], f"{self.name}(hybridized forward)", out_vars, in_vars,
                    (_bufs(inputs, pdata, outs, data_grads), io, arena), prog.inline)
        node = autograd._Node(None, None, srcs, [(o._data, o._var) for o in outs], func=pend)
        autograd._mark(node, outs)
        return outs

    def _grad_array(self, pdata, j):
        p = self.plist[self.slots[j][1]]
        return p.grad(pdata[self.slots[j][1]].context)

    def _backward(self, pend, out_grads):
        prog, io = pend.prog, pend.io
        if pend.arena is None:
            raise MXNetError(f"{self.name}: {autograd._NOT_IN_GRAPH}")
        types = pend.out_types
        if len(out_grads) != len(types):
            raise MXNetError(f"{self.name}: {len(out_grads)} output gradients for {len(types)} outputs")
        ctx = pend.inputs[0]._ctx
        ogs = []
        for i, (g, t) in enumerate(zip(out_grads, types)):
            if g.shape != tuple(t.shape):
                raise MXNetError(f"{self.name}: output {i} has shape {tuple(t.shape)}, its gradient {g.shape}")
            if g._data.dtype.name != t.dtype:
                g = g.astype(t.dtype)
            ogs.append(g)
            io[self.n_graph_in + i] = g._ptr
        data_grads = list(pend.data_grads)
        pend.runs += 1
        out_vars = []
        accumulate = []
        for slot, j, req in pend.grad_slots:
            kind, k = self.slots[j]
            if kind == "x":
                if pend.runs > 1:  # a second backward (retain_graph): fresh arrays, the first ones were returned
                    x = pend.inputs[k]
                    data_grads[k] = nd.empty(x.shape, ctx, x._data.dtype.name)
                    io[slot] = data_grads[k]._ptr
                out_vars.append(data_grads[k]._var)
            else:
                garr = self._grad_array(pend.pdata, j)
                p, mark = self.plist[k], (autograd.backward_pass, ctx.key)
                if req == "write" and getattr(p, "_grad_pass", None) == mark:
                    # written already in this backward pass (shared parameters, the block called twice):
                    # this call's gradient goes to a scratch array and is added
                    tmp = nd.empty(garr.shape, ctx, garr._data.dtype.name)
                    io[slot] = tmp._ptr
                    accumulate.append((garr, tmp))
                    out_vars.append(tmp._var)
                else:
                    io[slot] = garr._ptr
                    out_vars.append(garr._var)
                p._grad_pass = mark
                leaf = pend.pdata[k]._ag
                if type(leaf) is autograd._Leaf:
                    leaf.fresh = True
        # grad_req='add': the program reads the old gradient from the array it writes (the graph's
        # aliased_inputs tell the passes so)
        olds, pos = [], self.n_graph_in + len(types)
        for _, j, req in pend.grad_slots:
            if req == "add":
                old = self._grad_array(pend.pdata, j)
                io[pos] = old._ptr
                olds.append(old)
                pos += 1
        call = prog.launcher("backward", io, pend.arena)
        in_vars = [g._var for g in ogs + olds] + [x._var for x in pend.inputs] + [a._var for a in pend.pdata]
        ctx_engine(ctx).push([(call, (), None)], f"{self.name}(hybridized backward)", out_vars, in_vars,
                             (_bufs(ogs, olds, data_grads, pend.inputs, pend.pdata), io, pend.arena), prog.inline)
        for garr, tmp in accumulate:
            garr += tmp
        return data_grads
