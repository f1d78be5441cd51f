"""mx.autograd: record imperative NDArray ops, then differentiate them as one compiled graph.

While recording, every op call (frontend/ndarray/invoke.py calls `_hook`) becomes a tape node
holding the op, its attrs (train-dependent ops get `_train`), where its inputs came from and
its output buffers; each output NDArray points at its node through `NDArray._ag`. A view of a
recorded array (reshape, x[i]) is found through the storage Var it shares and becomes Reshape /
slice_axis nodes over the same bytes.

backward() walks the nodes that lead to the heads, builds an IR Graph of them, runs
passes.autodiff on it, keeps only the backward nodes (the forward values they read are the
buffers recorded during the imperative forward, so random ops such as Dropout see the same mask)
and compiles that into one C program with CompiledGraph. Programs are cached by the tape's
structure (ops, attrs, shapes, dtypes, wiring), so a training loop compiles once.

A custom `Function` is a cut in the graph: the compiled segments run on either side of it and
its Python backward runs in between. Recording state is process-wide (not per thread).
"""
from __future__ import annotations

import itertools
import weakref

from .ir import Graph, Node, TensorType, Value
from .ir.errors import MXNetError
from .ndarray import invoke as _inv
from .ndarray.ndarray import NDArray
from .passes.autodiff import autodiff

_recording = False
_training = False
_REQS = ("write", "add", "null")
_seq = itertools.count()
backward_pass = 0  # counts backward() calls: a hybridized block's tape node writes a gradient once per pass
# storage Var -> (weakref to the _Out / variable _Leaf written there, its data): finds views. Weak both ways,
# so the map keeps no graph alive; a graph lives as long as the NDArrays (and views) that reach it.
_by_var: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_NOT_IN_GRAPH = ("Cannot differentiate node because it is not in a computational graph. You need to set "
                 "is_recording to true or use autograd.record() to save computational graphs for backward. "
                 "If you want to differentiate the same graph twice, you need to pass retain_graph=True "
                 "to backward.")


# ---- the tape ------------------------------------------------------------------------------------------------
class _Node:
    """One recorded op call. `outs[k]` = (numpy storage, engine Var) of output k as recorded."""

    __slots__ = ("op", "attrs", "inputs", "outs", "freed", "func", "seq")

    def __init__(self, op, attrs, inputs, outs, func=None):
        self.op, self.attrs, self.inputs, self.outs, self.func = op, attrs, inputs, outs, func
        self.freed = False
        self.seq = next(_seq)


class _Out:
    __slots__ = ("node", "k", "__weakref__")

    def __init__(self, node, k):
        self.node, self.k = node, k


class _Leaf:
    """An array the tape reads but did not compute: a variable (grad attached) or a constant."""

    __slots__ = ("data", "var", "grad", "req", "fresh", "__weakref__")

    def __init__(self, data, var, grad=None, req="null"):
        self.data, self.var, self.grad, self.req = data, var, grad, req
        self.fresh = False  # backward wrote the gradient since gluon.Trainer's last step (stale-gradient check)


def _leaf_of(x):
    return _Leaf(x._data, x._var)


def _view_src(x):
    """x is a view of a recorded value or variable (same storage Var): Reshape/slice nodes over it."""
    hit = _by_var.get(x._var)
    if hit is None:
        return None
    ref, data = hit[0](), hit[1]
    if ref is None or (type(ref) is _Out and ref.node.freed):
        return None
    xd = x._data
    if xd.dtype != data.dtype or not xd.flags.c_contiguous or not data.flags.c_contiguous:
        return None
    off, rem = divmod(xd.ctypes.data - data.ctypes.data, data.itemsize or 1)
    if rem or off < 0 or off + xd.size > data.size:
        return None
    if off == 0 and xd.size == data.size:
        if xd.shape == data.shape:
            return ref
        return _add_node("Reshape", {"shape": xd.shape}, [ref], [(xd, x._var)])
    flat = data.reshape(-1)
    src = ref if data.ndim == 1 else _add_node("Reshape", {"shape": (data.size,)}, [ref], [(flat, x._var)])
    piece = flat[off:off + xd.size]
    src = _add_node("slice_axis", {"axis": 0, "begin": off, "end": off + xd.size}, [src], [(piece, x._var)])
    if xd.shape != piece.shape:
        src = _add_node("Reshape", {"shape": xd.shape}, [src], [(xd, x._var)])
    return src


def _add_node(name, attrs, inputs, outs):
    from .ir import registry

    return _Out(_Node(registry.get(name), attrs, inputs, outs), 0)


def _link_view(x):
    """NDArray.__init__ of a view (shared storage Var) while recording: tie it to the value it views,
    while that value's NDArray is still alive."""
    if _recording:
        ref = _view_src(x)
        if ref is not None:
            x._ag = ref


def _src(x):
    """Where input NDArray x comes from on the tape (while recording)."""
    ag = x._ag
    if ag is not None:
        if ag is False:  # detach()
            return _leaf_of(x)
        if type(ag) is _Leaf or not ag.node.freed:
            return ag
    ref = _view_src(x)
    if ref is not None:
        x._ag = ref
        return ref
    return _leaf_of(x)


def _in_graph(x) -> bool:
    ag = x._ag
    if ag is False:
        return False
    if ag is None:  # a view of a recorded array or variable?
        hit = _by_var.get(x._var)
        ag = hit[0]() if hit is not None else None
        if ag is None:
            return False
    return ag.req != "null" if type(ag) is _Leaf else not ag.node.freed


def _mark(node, outs, skip=()):
    for k, o in enumerate(outs):
        if k in skip:
            continue
        ref = _Out(node, k)
        o._ag = ref
        _by_var[o._var] = (weakref.ref(ref), o._data)


def _hook(opdef, inputs, attrs, out, ctx):
    """invoke()'s hook while recording or in train mode."""
    if _training and opdef.train_dependent and "_train" not in attrs:
        attrs = dict(attrs)
        attrs["_train"] = True
    if not _recording:
        return _inv.invoke(opdef, inputs, attrs, out, ctx, _inner=True)[1]
    try:
        srcs = [_src(x) for x in inputs]
    except AttributeError:
        return _inv.invoke(opdef, inputs, attrs, out, ctx, _inner=True)[1]  # invoke names the bad input
    if out is not None:
        for o in (out if isinstance(out, (list, tuple)) else [out]):
            if isinstance(o, NDArray) and _in_graph(o):
                raise MXNetError(f"{opdef.name}: Assigning to NDArrays that are already in a computational graph "
                                 "will cause undefined behavior when evaluating gradients. Please call backward "
                                 "first to clear the graph or do this out of `with autograd.record()` scope.")
            for j, x in enumerate(inputs):  # x *= w: the tape keeps x's value from before the write
                if isinstance(o, NDArray) and x._var is o._var and type(srcs[j]) is _Leaf:
                    srcs[j] = _leaf_of(_inv.invoke(_copy_op(), [x], {}, _inner=True)[1])
    outs, result = _inv.invoke(opdef, inputs, attrs, out, ctx, _inner=True)
    node = _Node(opdef, attrs, srcs, [(o._data, o._var) for o in outs])
    _mark(node, outs, opdef.updates)  # updated aux states (BatchNorm's moving stats) stay out of the graph
    return result


_copy_cache = []


def _copy_op():
    if not _copy_cache:
        from .ir import registry

        _copy_cache.append(registry.get("_copy"))
    return _copy_cache[0]


# ---- state -----------------------------------------------------------------------------------------------------
def _sync_hook():
    _inv._hook = _hook if (_recording or _training) else None


def set_recording(is_recording: bool) -> bool:
    """Turn recording on or off; returns the previous state."""
    global _recording
    prev, _recording = _recording, bool(is_recording)
    _sync_hook()
    return prev


def set_training(train_mode: bool) -> bool:
    """Turn training mode (Dropout, BatchNorm behave as in training) on or off; returns the previous state."""
    global _training
    prev, _training = _training, bool(train_mode)
    _sync_hook()
    return prev


def is_recording() -> bool:
    return _recording


def is_training() -> bool:
    return _training


class _RecordingStateScope:
    def __init__(self, is_record, train_mode):
        self._enter_is_record, self._enter_train_mode = is_record, train_mode
        self._prev_is_record = self._prev_train_mode = None

    def __enter__(self):
        if self._enter_is_record is not None:
            self._prev_is_record = set_recording(self._enter_is_record)
        if self._enter_train_mode is not None:
            self._prev_train_mode = set_training(self._enter_train_mode)
        return self

    def __exit__(self, *exc):
        if self._enter_is_record is not None and self._prev_is_record != self._enter_is_record:
            set_recording(self._prev_is_record)
        if self._enter_train_mode is not None and self._prev_train_mode != self._enter_train_mode:
            set_training(self._prev_train_mode)
        return False


def record(train_mode: bool = True):
    """Scope in which op calls are recorded for backward (and, by default, run in training mode)."""
    return _RecordingStateScope(True, train_mode)


def pause(train_mode: bool = False):
    """Scope in which nothing is recorded (and, by default, ops run in predict mode)."""
    return _RecordingStateScope(False, train_mode)


def train_mode():
    return _RecordingStateScope(None, True)


def predict_mode():
    return _RecordingStateScope(None, False)


# ---- variables -------------------------------------------------------------------------------------------------
def _attach(x, grad, req):
    if req not in _REQS:
        raise ValueError(f"grad_req must be one of {_REQS}, got {req!r}")
    if not isinstance(x, NDArray):
        raise TypeError(f"mark_variables: variables must be NDArrays, got {type(x).__name__}")
    if grad is not None and (not isinstance(grad, NDArray) or grad.shape != x.shape):
        raise ValueError(f"mark_variables: the gradient for a variable of shape {x.shape} must be an NDArray "
                         f"of that shape, got {getattr(grad, 'shape', type(grad).__name__)}")
    leaf = _Leaf(x._data, x._var, grad, req)
    x._grad, x._grad_req, x._ag = grad, req, leaf
    _by_var[x._var] = (weakref.ref(leaf), x._data)


def mark_variables(variables, gradients, grad_reqs="write"):
    """Mark NDArrays as variables whose gradients backward() writes into `gradients`."""
    if isinstance(variables, NDArray):
        variables, gradients = [variables], [gradients]
    variables, gradients = list(variables), list(gradients)
    if len(variables) != len(gradients):
        raise ValueError(f"mark_variables: {len(variables)} variables but {len(gradients)} gradients")
    reqs = [grad_reqs] * len(variables) if isinstance(grad_reqs, str) else list(grad_reqs)
    if len(reqs) != len(variables):
        raise ValueError(f"mark_variables: {len(reqs)} grad_reqs for {len(variables)} variables")
    for x, g, r in zip(variables, gradients, reqs):
        _attach(x, g, r)


def attach_grad(x, grad_req="write", stype=None):
    """NDArray.attach_grad: a zero gradient buffer, and x becomes a variable (a leaf of later graphs)."""
    from .ndarray import zeros

    if stype not in (None, "default"):
        raise ValueError(f"attach_grad: only dense gradients (stype='default') are supported, got {stype!r}")
    _attach(x, zeros(x.shape, x._ctx, x._data.dtype.name), grad_req)


# ---- tracing the tape into a structure ---------------------------------------------------------------------------
class _Trace:
    """The nodes leading to some heads, numbered deterministically, and the structural key."""

    def __init__(self, heads):
        self.nodes, self.leaves, self.cuts = [], [], []  # cuts: custom-Function nodes met
        self._nidx, self._lidx = {}, {}
        self.head_codes = [self.code(h) for h in heads]

    def code(self, ref):
        if type(ref) is _Leaf:
            return self._leaf(ref, id(ref))
        node = ref.node
        if node.func is not None:
            if node.freed:
                raise MXNetError(_NOT_IN_GRAPH)
            return self._leaf(ref, (id(node), ref.k))
        self._visit(node)
        return ("n", self._nidx[id(node)], ref.k)

    def _leaf(self, ref, key):
        i = self._lidx.get(key)
        if i is None:
            i = self._lidx[key] = len(self.leaves)
            self.leaves.append(ref)
            if type(ref) is _Out and ref.node not in self.cuts:
                self.cuts.append(ref.node)
        return ("l", i)

    def _visit(self, root):
        if id(root) in self._nidx:
            return
        stack = [(root, False)]
        while stack:
            node, done = stack.pop()
            if id(node) in self._nidx:
                continue
            if node.freed:
                raise MXNetError(_NOT_IN_GRAPH)
            if done:
                codes = tuple(self.code(r) for r in node.inputs)
                self._nidx[id(node)] = len(self.nodes)
                self.nodes.append((node, codes))
                continue
            stack.append((node, True))
            for r in reversed(node.inputs):
                if type(r) is _Out and r.node.func is None and id(r.node) not in self._nidx:
                    stack.append((r.node, False))

    def data(self, code):
        if code[0] == "l":
            ref = self.leaves[code[1]]
            if type(ref) is _Leaf:
                return ref.data, ref.var
            return ref.node.outs[ref.k]
        return self.nodes[code[1]][0].outs[code[2]]

    def leaf_type(self, i):
        d = self.data(("l", i))[0]
        return (d.shape, d.dtype.name)

    def key(self):
        parts = []
        for node, codes in self.nodes:
            parts.append((node.op.name, tuple(node.attrs.items()), codes,
                          tuple((d.shape, d.dtype.name) for d, _ in node.outs)))
        return tuple(parts), tuple(self.leaf_type(i) for i in range(len(self.leaves)))


# ---- one compiled backward segment -------------------------------------------------------------------------
_programs: dict = {}
_PROGRAMS_MAX = 512


def _build(trace, n_heads, given, wrt_codes, reqs):
    """The backward graph (on a cache miss) and its recipe: which buffer feeds each graph input."""
    leaf_vals = [Value(TensorType(*trace.leaf_type(i))) for i in range(len(trace.leaves))]
    origin = {v.id: ("l", i) for i, v in enumerate(leaf_vals)}
    node_outs, fwd = [], []

    def val(code):
        return leaf_vals[code[1]] if code[0] == "l" else node_outs[code[1]][code[2]]

    for idx, (node, codes) in enumerate(trace.nodes):
        n = Node(node.op.name, node.attrs, [val(c) for c in codes],
                 [TensorType(d.shape, d.dtype.name) for d, _ in node.outs])
        fwd.append(n)
        node_outs.append(n.outputs)
        for k, v in enumerate(n.outputs):
            origin[v.id] = ("n", idx, k)
    heads = [val(c) for c in trace.head_codes]
    extra, hgs = [], []
    for j, h in enumerate(heads):
        if given[j]:
            hv = Value(h.type, f"head_grad{j}")
            origin[hv.id] = ("h", j)
        else:
            n = Node("_ones", {"shape": tuple(h.type.shape), "dtype": h.type.dtype}, [], [h.type])
            extra.append(n)
            hv = n.outputs[0]
        hgs.append(hv)
    wrt = [val(c) for c in wrt_codes]
    g2 = autodiff(Graph(leaf_vals, heads, fwd), wrt, hgs)
    nodes = extra + g2.nodes[len(fwd):]
    outs, olds = [], []
    for j, (gv, req) in enumerate(zip(g2.outputs[n_heads:], reqs)):
        if req == "add":
            old = Value(gv.type, f"grad{j}_old")
            olds.append(old)  # the target buffer is read as the old gradient and written: aliased
            origin[old.id] = ("o", j)
            add = Node("elemwise_add", {}, [old, gv], [gv.type])
            nodes.append(add)
            gv = add.outputs[0]
        outs.append(gv)
    needed = {v.id for v in outs}
    kept = []
    for n in reversed(nodes):  # only what the gradients need (rules also build unused pieces)
        if any(o.id in needed for o in n.outputs):
            kept.append(n)
            needed.update(v.id for v in n.inputs)
    kept.reverse()
    defined = {o.id for n in kept for o in n.outputs}
    inputs, seen = [], set()
    for v in [v for n in kept for v in n.inputs] + outs:
        if v.id not in defined and v.id not in seen:
            seen.add(v.id)
            inputs.append(v)
    from .compiled import CompiledGraph

    graph = Graph(inputs, outs, kept)
    graph.aliased_inputs = [v for v in olds if v.id in seen]
    prog = CompiledGraph(graph, tag="autograd")
    return prog, [origin[v.id] for v in inputs]


def _segment(trace, head_grads, wrt_codes, targets, ctx):
    """Run the compiled backward of `trace`: gradients of its heads (weighted by head_grads, None = ones)
    w.r.t. the values `wrt_codes`, into `targets` [(NDArray, 'write' | 'add')]."""
    given = tuple(g is not None for g in head_grads)
    reqs = tuple(r for _, r in targets)
    key = (trace.key(), tuple(trace.head_codes), given, tuple(wrt_codes), reqs, ctx.key)
    try:
        hit = _programs.get(key)
    except TypeError:  # unhashable attribute values
        key = repr(key)
        hit = _programs.get(key)
    if hit is None:
        hit = _build(trace, len(head_grads), given, wrt_codes, reqs)
        if len(_programs) >= _PROGRAMS_MAX:
            _programs.clear()
        _programs[key] = hit
    prog, recipe = hit
    bufs, in_vars = [], []
    for code in recipe:
        if code[0] == "h":
            a = head_grads[code[1]]
            d, v = a._data, a._var
        elif code[0] == "o":
            a = targets[code[1]][0]
            d, v = a._data, a._var
        else:
            d, v = trace.data(code)
        bufs.append(d)
        in_vars.append(v)
    outs = [t for t, _ in targets]
    ptrs = [d.ctypes.data for d in bufs] + [o._ptr for o in outs]

    def call():
        prog.run_ptrs(ptrs)
        return 0

    _inv.ctx_engine(ctx).push([(call, (), None)], "autograd.backward", [o._var for o in outs], in_vars,
                              (bufs, outs, prog), False)


# ---- backward and grad ------------------------------------------------------------------------------------------
def _as_list(x, what):
    if isinstance(x, NDArray):
        return [x], True
    if isinstance(x, (list, tuple)) and all(isinstance(a, NDArray) for a in x):
        return list(x), False
    raise TypeError(f"{what} must be an NDArray or a list of NDArrays, got {type(x).__name__}")


def _ref(x, what):
    ag = x._ag
    if ag is not None and ag is not False:
        if type(ag) is _Leaf or not ag.node.freed:
            return ag
    ref = None if ag is False else _view_src(x)
    if ref is None:
        raise MXNetError(f"{what}: {_NOT_IN_GRAPH}")
    return ref


def _head_grads(heads, head_grads):
    if head_grads is None:
        return [None] * len(heads)
    hgs = [head_grads] if isinstance(head_grads, NDArray) else list(head_grads)
    if len(hgs) != len(heads):
        raise ValueError(f"backward: {len(hgs)} head_grads for {len(heads)} heads")
    for h, g in zip(heads, hgs):
        if g is not None and (not isinstance(g, NDArray) or g.shape != h.shape):
            raise ValueError(f"backward: a head of shape {h.shape} needs a head gradient of that shape, got "
                             f"{getattr(g, 'shape', type(g).__name__)}")
    return [None if g is None else (g if g._data.dtype == h._data.dtype else g.astype(h._data.dtype.name))
            for h, g in zip(heads, hgs)]


def _is_float(dt) -> bool:
    return dt.kind == "f"


def _differentiate(head_refs, hgs, wrt_refs, targets, ctx, trace=None):
    """Gradients of the heads w.r.t. wrt_refs into targets [(NDArray, req)]; custom Functions are cuts
    whose Python backward runs between compiled segments. Returns the nodes walked."""
    from .ndarray import empty

    trace = trace or _Trace(head_refs)
    if not trace.cuts:
        if targets:
            _segment(trace, hgs, [trace.code(r) for r in wrt_refs], targets, ctx)
        return [n for n, _ in trace.nodes]
    acc: dict = {}  # gradient NDArrays accumulated per value (custom Function outputs, wrt entries)

    def key_of(ref):
        return id(ref) if type(ref) is _Leaf else (id(ref.node), ref.k)

    walked, found = {}, {}

    def run(tr, grads_in):
        want = list(wrt_refs) + [r for r in tr.leaves if type(r) is _Out]
        codes = [tr.code(r) for r in want]
        outs = []
        for c in codes:
            d = tr.data(c)[0]
            outs.append(empty(d.shape, ctx, d.dtype.name))
        _segment(tr, grads_in, codes, [(o, "write") for o in outs], ctx)
        for r, o in zip(want, outs):
            prev = acc.get(key_of(r))
            acc[key_of(r)] = o if prev is None else prev + o
        walked.update((id(n), n) for n, _ in tr.nodes)
        found.update((id(n), n) for n in tr.cuts if id(n) not in walked)

    run(trace, hgs)
    # a Function's output gradients are complete once every later-recorded Function has run backward
    while found:
        node = max(found.values(), key=lambda n: n.seq)
        del found[id(node)]
        walked[id(node)] = node
        if node.freed:
            raise MXNetError(_NOT_IN_GRAPH)
        ogs = [acc.get((id(node), k)) for k in range(len(node.outs))]
        ogs = [g if g is not None else _zeros_for(d, ctx) for g, (d, _) in zip(ogs, node.outs)]
        with pause():
            igs = node.func.backward(*ogs)
        igs = list(igs) if isinstance(igs, (list, tuple)) else [igs]
        if len(igs) != len(node.inputs):
            raise MXNetError(f"autograd.Function.backward returned {len(igs)} gradients for "
                             f"{len(node.inputs)} inputs")
        hrefs, hg = [], []
        for r, g, in zip(node.inputs, igs):
            if g is None or (type(r) is _Leaf and r.req == "null" and all(r is not w for w in wrt_refs)):
                continue
            if not isinstance(g, NDArray) or g.shape != _r_shape(r):
                raise MXNetError(f"autograd.Function.backward: the gradient for an input of shape {_r_shape(r)} "
                                 f"has shape {getattr(g, 'shape', type(g).__name__)}")
            hrefs.append(r)
            hg.append(g)
        if hrefs:
            run(_Trace(hrefs), hg)
    for (t, req), r in zip(targets, wrt_refs):
        g = acc.get(key_of(r))
        if g is None:
            continue
        if req == "add":
            t += g
        else:
            g.copyto(t)
    return list(walked.values())


def _r_shape(ref):
    d = ref.data if type(ref) is _Leaf else ref.node.outs[ref.k][0]
    return d.shape


def _zeros_for(d, ctx):
    from .ndarray import zeros

    return zeros(d.shape, ctx, d.dtype.name)


def _free(nodes):
    for node in nodes:
        node.freed = True
        node.outs = None
        node.inputs = ()
        release = getattr(node.func, "_release_state", None)  # a hybridized block's call: its arena
        if release is not None:
            release()


def backward(heads, head_grads=None, retain_graph=False, train_mode=True):
    """Gradients of `heads` (ones unless head_grads says otherwise) into the .grad of every variable
    they depend on ('write' overwrites, 'add' accumulates). retain_graph=False frees the graph."""
    heads, _ = _as_list(heads, "backward: heads")
    if not heads:
        return
    hgs = _head_grads(heads, head_grads)
    refs = [_ref(h, "backward") for h in heads]
    global backward_pass
    backward_pass += 1
    prev = set_recording(False)
    try:
        trace = _Trace(refs)
        variables = [leaf for leaf in trace.leaves if type(leaf) is _Leaf and leaf.req != "null"
                     and leaf.grad is not None]
        variables = _behind_cuts(trace, variables)
        for v in variables:
            v.fresh = True
        walked = _differentiate(refs, hgs, variables, [(v.grad, v.req) for v in variables], heads[0]._ctx,
                               trace)
        if not retain_graph:
            _free(walked)
    finally:
        set_recording(prev)


def _behind_cuts(trace, variables):
    """Every variable leaf reachable from the heads, through custom Functions too."""
    seen = {id(n) for n in trace.cuts}
    todo = list(trace.cuts)
    while todo:
        node = todo.pop()
        sub = _Trace([r for r in node.inputs])
        for leaf in sub.leaves:
            if type(leaf) is _Leaf and leaf.req != "null" and leaf.grad is not None and \
                    all(leaf is not v for v in variables):
                variables.append(leaf)
        for n in sub.cuts:
            if id(n) not in seen:
                seen.add(id(n))
                todo.append(n)
    return variables


def grad(heads, variables, head_grads=None, retain_graph=None, create_graph=False, train_mode=True):
    """Gradients of heads w.r.t. variables as new NDArrays; .grad buffers are not touched."""
    if retain_graph is None:
        retain_graph = create_graph
    heads, _ = _as_list(heads, "grad: heads")
    vs, single = _as_list(variables, "grad: variables")
    hgs = _head_grads(heads, head_grads)
    refs = [_ref(h, "grad") for h in heads]
    wrt = [_ref(v, "grad: variable") for v in vs]
    from .ndarray import empty, zeros

    if create_graph:  # the gradients go on the tape (frontend/autograd_replay.py)
        from .autograd_replay import replay_backward

        prev = set_training(train_mode)
        try:
            outs = replay_backward(refs, hgs, wrt, heads[0]._ctx)
        finally:
            set_training(prev)
        return outs[0] if single else outs
    prev = set_recording(False)
    try:
        ctx = heads[0]._ctx
        outs = [(empty(v.shape, ctx, v._data.dtype.name) if _is_float(v._data.dtype) else
                 zeros(v.shape, ctx, v._data.dtype.name)) for v in vs]
        walked = _differentiate(refs, hgs, wrt, [(o, "write") for o in outs], ctx)
        if not retain_graph:
            _free(walked)
    finally:
        set_recording(prev)
    return outs[0] if single else outs


def get_symbol(x):
    """The recorded computation of x as a Symbol; the arrays it read become variables var0, var1, ..."""
    from .symbol.symbol import Symbol, Variable, create

    trace = _Trace([_ref(x, "get_symbol")])
    if trace.cuts:
        raise NotImplementedError("autograd.get_symbol: the graph contains a custom autograd.Function")
    leaves = [Variable(f"var{i}") for i in range(len(trace.leaves))]
    made = []

    def sym_of(code):
        if code[0] == "l":
            return leaves[code[1]]
        node = made[code[1]]._outputs[0][0]
        return Symbol([(node, code[2])])

    for node, codes in trace.nodes:
        attrs = {k: v for k, v in node.attrs.items() if k != "_train"}
        made.append(create(node.op.name, [sym_of(c) for c in codes], attrs))
    return sym_of(trace.head_codes[0])


# ---- custom functions -------------------------------------------------------------------------------------------
class Function:
    """A differentiable op written in Python: subclass with forward(*inputs) and backward(*output_grads)
    over NDArrays. backward runs as a Python callback during autograd.backward."""

    def __init__(self):
        self._used = False
        self.saved_tensors = ()

    def save_for_backward(self, *args):
        self.saved_tensors = args

    def __call__(self, *inputs):
        if self._used:
            raise MXNetError("Each Function instance can only be called once. Please create another instance.")
        self._used = True
        prev = set_recording(False)
        try:
            outputs = self.forward(*inputs)
            if prev:
                outs, _ = _as_list(outputs, "Function.forward's result")
                for x in inputs:
                    if not isinstance(x, NDArray):
                        raise TypeError(f"Function: inputs must be NDArrays, got {type(x).__name__}")
                ins = {id(x) for x in inputs}
                outs = [o.copy() if id(o) in ins else o for o in outs]  # an input returned as is: a new array
        finally:
            set_recording(prev)
        if not prev:
            return outputs
        srcs = [_src(x) for x in inputs]
        _mark(_Node(None, None, srcs, [(o._data, o._var) for o in outs], func=self), outs)
        return outs[0] if isinstance(outputs, NDArray) else (type(outputs)(outs) if isinstance(outputs, tuple)
                                                             else outs)

    def forward(self, *inputs):
        raise NotImplementedError

    def backward(self, *output_grads):
        raise NotImplementedError
