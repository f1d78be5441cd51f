"""simplify: dead code, common subexpressions, constants and algebraic identities.

A list of small named rewrites (RULES), each `rule(node, rw) -> [Value per output] | None`,
applied in order to every node of a forward sweep (like tinygrad's pattern rewrites); a
rule replaces a node by Values that already exist or that it builds with `rw.add`, which
keep the node's types. Dead-code elimination follows each sweep, and sweeps repeat until
nothing changes. The pass is pure: the input graph is left as it was; unchanged nodes are
shared, a node whose inputs change is copied.

Everything here is exact: a rewrite never changes a single bit of a result that reaches an
output (x + 0.0 is not x for x = -0.0, x * 0 is not 0 for NaN, so neither is rewritten),
constants are folded in pure Python only where the C kernel's arithmetic is one correctly
rounded float32/float64 operation, and random ops are never merged or dropped (each draw
advances the generator, so removing one would change every later draw).

The pipeline runs this after autodiff (the executor and autograd differentiate before
compiling), so BlockGrad and MakeLoss are plain copies here and go; do not run autodiff on
a simplified graph.
"""
from __future__ import annotations

import math
import struct

from ..ir import Graph, Node, Value, registry
from ..ir.types import DTYPES

CONSTANTS = ("_zeros", "_ones", "_full")
RESHAPES = ("Reshape", "Flatten", "expand_dims", "squeeze")  # same elements, same order
PERMUTES = ("transpose", "SwapAxis")
# output type equal to the input's means the output IS the input
SAME_TYPE_IDENTITY = ("_copy", "BlockGrad", "MakeLoss", "Cast", "broadcast_to", "broadcast_axis", "broadcast_like",
                      *RESHAPES)
# every output element is an element of input 0: of a constant, the output is that constant
FROM_FIRST_INPUT = ("_copy", "BlockGrad", "MakeLoss", "broadcast_to", "broadcast_axis", "broadcast_like", "tile",
                    "repeat", "reverse", "slice", "slice_axis", "slice_like", *RESHAPES, *PERMUTES)
COMMUTATIVE = ("elemwise_add", "elemwise_mul", "broadcast_add", "broadcast_mul")
_PACK = {"float32": "f", "float64": "d"}  # dtypes whose kernels compute in their own type


# ---- facts about values and nodes ---------------------------------------------------------------
def _op(node: Node) -> str:
    """The op's registered name (a node may use an alias such as `identity` or `_Plus`)."""
    return registry.get(node.op).name


def _parsed(node: Node) -> dict:
    return registry.get(node.op).parse_attrs(node.attrs)


def _known(node: Node) -> bool:
    return all(v.type.known for v in node.inputs) and all(v.type.known for v in node.outputs)


def _round(x: float, dtype: str):
    """x rounded to a float dtype computed in its own type (float32, float64), or None."""
    code = _PACK.get(dtype)
    if code is None or not math.isfinite(x):
        return None
    try:
        r = struct.unpack(code, struct.pack(code, x))[0]
    except (OverflowError, struct.error):
        return None
    return r if math.isfinite(r) else None


def _stored(value: float, dtype: str):
    """The element a creation op stores for `value` (C's cast of a double), or None if unsure."""
    if not math.isfinite(value):
        return None
    if DTYPES[dtype].is_float:
        if dtype == "float16":  # (_Float16)(float)v: only small integers are sure to be exact
            return value if value == int(value) and abs(value) <= 2048 else None
        return _round(value, dtype)
    t = math.trunc(value)
    bits = DTYPES[dtype].itemsize * 8
    if dtype == "uint8":
        return float(t) if 0 <= t < 256 else None
    return float(t) if -(1 << (bits - 1)) <= t < (1 << (bits - 1)) else None


def _value(creation: Node) -> float:
    op = _op(creation)
    return _parsed(creation)["value"] if op == "_full" else (1.0 if op == "_ones" else 0.0)


def creation_of(v: Value):
    """The _zeros/_ones/_full node that made v, or None."""
    p = v.producer
    return p if p is not None and _op(p) in CONSTANTS else None


def const_of(v: Value):
    """(creation op, stored element) when every element of v is the same known constant, else None."""
    p = creation_of(v)
    if p is None:
        return None
    value = _value(p)
    stored = _stored(value, v.type.dtype)
    return None if stored is None else (p, stored)


def _rng_family(low) -> bool:
    stack = [(low.family, low.params)]
    while stack:
        family, params = stack.pop()
        if family == "random":
            return True
        if family == "composite":
            stack.extend(params.get("parts", ()))
    return False


def lowering_of(node: Node):
    """The node's kernel lowering, or None where there is none to build here (unknown types, no rule)."""
    opdef = registry.get(node.op)
    if opdef.lower is None or not _known(node):
        return None
    try:
        return opdef.lower([v.type for v in node.inputs], [v.type for v in node.outputs], _parsed(node))
    except Exception:  # noqa: BLE001  codegen reports it; here it only means "leave the node alone"
        return None


def is_random(node: Node, low=None) -> bool:
    """Draws from the generator (random ops, Dropout and rrelu in training): never merged or removed.
    Anything that cannot be lowered here counts as random too (the safe answer)."""
    opdef = registry.get(node.op)
    if getattr(opdef.lower, "__module__", "").endswith(".ops.random"):
        return True
    low = low or lowering_of(node)
    return low is None or _rng_family(low)


def is_copy_kernel(node: Node, low) -> bool:
    """The kernel is a plain elementwise copy of input 0 into an output of the same type
    (_copy, same-dtype Cast, BlockGrad, MakeLoss, the out_grad pass-through of add's backward...)."""
    if low is None or low.family != "elementwise" or len(node.outputs) != 1 or not node.inputs:
        return False
    plain = set(low.args) <= {"scalars", "in_shapes", "out_shape"}
    return (plain and low.params.get("expr") == "a" and node.inputs[0].type == node.outputs[0].type
            and tuple(low.args["in_shapes"][0]) == tuple(low.args["out_shape"]))


def _freeze(x):
    if isinstance(x, float):
        return ("f", x.hex()) if math.isfinite(x) else ("f", repr(x), object())  # NaN never equals
    if isinstance(x, (list, tuple)):
        return tuple(_freeze(e) for e in x)
    if isinstance(x, dict):
        return tuple(sorted((k, _freeze(e)) for k, e in x.items()))
    return (type(x).__name__, x)


# ---- the rewriter ---------------------------------------------------------------------------------
class Rewriter:
    """State of one sweep: the new node list, what old Values became, and the CSE table."""

    def __init__(self, graph: Graph, cse: bool):
        self.graph = graph
        self.nodes: list[Node] = []
        self.subst: dict[int, Value] = {}
        # an executor aliases an update op's output with the buffer of the input it updates: a reader
        # of such an input must not be rewired past a node that held its old value
        self.aliased = {n.inputs[i].id for n in graph.nodes for i in registry.get(n.op).updates.values()
                        if i < len(n.inputs)}
        self.cse_on = cse
        self.table: dict = {}
        self.added: list = []  # table keys in order, so a rule that gives up can take its nodes back
        self._low: dict[int, tuple] = {}
        self.changed = False

    def value(self, v: Value) -> Value:
        return self.subst.get(v.id, v)

    def lowering(self, node: Node):
        if id(node) not in self._low:
            self._low[id(node)] = (node, lowering_of(node))  # the node is kept so its id stays unique
        return self._low[id(node)][1]

    def random(self, node: Node) -> bool:
        return is_random(node, self.lowering(node))

    def key(self, node: Node):
        """What makes two nodes compute the same thing, or None for nodes that must stay apart."""
        opdef = registry.get(node.op)
        if opdef.updates or self.random(node) or any(v.id in self.aliased for v in node.inputs):
            return None
        ids = [v.id for v in node.inputs]
        if opdef.name in COMMUTATIVE:
            ids.sort()
        return (opdef.name, _freeze(opdef.parse_attrs(node.attrs)), tuple(ids), tuple(v.type for v in node.outputs))

    def add(self, op: str, inputs: list, **attrs) -> list:
        """A new node (or an equal one already there); returns its outputs."""
        opdef = registry.get(op)
        types = opdef.infer_types([v.type for v in inputs], opdef.parse_attrs(attrs))
        node = Node(opdef.name, attrs, inputs, types)
        key = self.key(node) if self.cse_on else None
        if key is not None and key in self.table:
            return self.table[key]
        self.nodes.append(node)
        if key is not None:
            self.table[key] = node.outputs
            self.added.append(key)
        return node.outputs

    def mark(self):
        return len(self.nodes), len(self.added)

    def undo(self, mark):
        del self.nodes[mark[0]:]
        for key in self.added[mark[1]:]:
            del self.table[key]
        del self.added[mark[1]:]

    def accept(self, old: Node, repl, mark) -> bool:
        """Same types, and no new read of an input that an update op overwrites in place."""
        if repl is None or len(repl) != len(old.outputs):
            return False
        if any(r.type != o.type or r.id in self.aliased for o, r in zip(old.outputs, repl)):
            return False
        return not any(v.id in self.aliased for n in self.nodes[mark[0]:] for v in n.inputs)

    def keep(self, node: Node):
        self.nodes.append(node)
        key = self.key(node) if self.cse_on else None
        if key is not None:
            self.table.setdefault(key, node.outputs)


def _clone(node: Node, inputs: list) -> Node:
    new = Node(node.op, node.attrs, inputs, [v.type for v in node.outputs], name=node.name)
    for o, n in zip(node.outputs, new.outputs):
        n.name = o.name
    return new


def _sweep(graph: Graph, rules) -> tuple[Graph, bool]:
    rw = Rewriter(graph, cse=any(fn is cse for _, fn in rules))
    for old in graph.nodes:
        ins = [rw.value(v) for v in old.inputs]
        node = old
        if any(a is not b for a, b in zip(ins, old.inputs)):
            node = _clone(old, ins)
            for o, n in zip(old.outputs, node.outputs):
                rw.subst[o.id] = n
        if _known(node) and not rw.random(node):
            for _, rule in rules:
                mark = rw.mark()
                repl = rule(node, rw)
                if rw.accept(old, repl, mark):
                    for o, r in zip(old.outputs, repl):
                        rw.subst[o.id] = r
                    rw.changed = True
                    break
                rw.undo(mark)  # a rule that gave up (or was refused) leaves nothing behind
            else:
                rw.keep(node)
            continue
        rw.nodes.append(node)
    return Graph(graph.inputs, [rw.value(v) for v in graph.outputs], rw.nodes), rw.changed


# ---- rules ----------------------------------------------------------------------------------------
def like_to_creation(node, rw):
    """zeros_like(x) / ones_like(x) -> _zeros / _ones of x's type: the value no longer waits for x."""
    op = _op(node)
    if op in ("zeros_like", "ones_like"):
        t = node.outputs[0].type
        return rw.add("_zeros" if op == "zeros_like" else "_ones", [], shape=tuple(t.shape), dtype=t.dtype)
    return None


def _const_node(rw, like: Node, out: Value):
    """The creation op `like` again, with out's shape (same dtype, same stored value)."""
    attrs = {"shape": tuple(out.type.shape), "dtype": out.type.dtype}
    if _op(like) == "_full":
        attrs["value"] = _value(like)
    return rw.add(_op(like), [], **attrs)


def _full(rw, out: Value, value):
    if value is None:
        return None
    return rw.add("_full", [], shape=tuple(out.type.shape), value=value, dtype=out.type.dtype)


_SCALAR_FOLD = {
    "_plus_scalar": lambda a, s: a + s, "_minus_scalar": lambda a, s: a - s, "_rminus_scalar": lambda a, s: s - a,
    "_mul_scalar": lambda a, s: a * s, "_div_scalar": lambda a, s: a / s, "_rdiv_scalar": lambda a, s: s / a,
}
_BINARY_FOLD = {"add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
                "div": lambda a, b: a / b}


def _apply(fn, dtype, *xs):
    """fn over operands rounded to dtype, rounded to dtype: exactly what one float32/float64 C op gives
    (for + - * / a double result rounded to float32 is the float32 result)."""
    xs = [_round(x, dtype) for x in xs]
    if any(x is None for x in xs):
        return None
    try:
        return _round(fn(*xs), dtype)
    except (ZeroDivisionError, OverflowError):
        return None


def fold_constants(node, rw):
    """Ops over constants become one creation op: rearrangements of a constant at any dtype,
    one float32/float64 arithmetic op (scalar, unary or binary) computed here exactly."""
    out = node.outputs[0]
    if len(node.outputs) != 1 or not node.inputs:
        return None
    op = _op(node)
    makers = [creation_of(v) for v in node.inputs]
    if op in FROM_FIRST_INPUT and makers[0] is not None and node.inputs[0].type.dtype == out.type.dtype:
        return _const_node(rw, makers[0], out)
    if op in ("Concat", "stack") and all(makers) and len({(_freeze(_value(m)), v.type.dtype) for m, v in
                                                              zip(makers, node.inputs)}) == 1:
        return _const_node(rw, makers[0], out)
    consts = [const_of(v) for v in node.inputs]
    if not all(consts) or out.type.dtype not in _PACK:
        return None
    dtype = out.type.dtype
    vals = [c[1] for c in consts]
    if op == "Cast" and node.inputs[0].type.dtype in _PACK:
        return _full(rw, out, _round(vals[0], dtype))
    if any(v.type.dtype != dtype for v in node.inputs):
        return None
    if op == "negative":
        return _full(rw, out, -vals[0])
    if op == "square":
        return _full(rw, out, _apply(lambda a: a * a, dtype, vals[0]))
    if op in _SCALAR_FOLD:
        return _full(rw, out, _apply(_SCALAR_FOLD[op], dtype, vals[0], _parsed(node)["scalar"]))
    base = op.split("_", 1)[1] if op.startswith(("elemwise_", "broadcast_")) else None
    if base in _BINARY_FOLD:
        return _full(rw, out, _apply(_BINARY_FOLD[base], dtype, vals[0], vals[1]))
    return None


def remove_identities(node, rw):
    """Copies and no-ops: _copy, BlockGrad/MakeLoss (after autodiff), Cast to the same dtype, reshapes and
    broadcasts to the same shape, the identity permutation, Dropout at inference, and any other op
    whose kernel is a plain copy of its first input (add's backward passes out_grad through)."""
    op = _op(node)
    data = node.inputs[0] if node.inputs else None
    if op in SAME_TYPE_IDENTITY and data.type == node.outputs[0].type:
        return [data]
    if is_copy_kernel(node, rw.lowering(node)):
        return [data]
    if op in PERMUTES and _perm(node) == tuple(range(len(data.type.shape))):
        return [data]
    if op == "Dropout":
        a = _parsed(node)
        if (a["_train"] or a["mode"] == "always") and a["p"] > 0:
            return None
        mask = node.outputs[1].type
        return [data, rw.add("_ones", [], shape=tuple(mask.shape), dtype=mask.dtype)[0]]
    return None


def _is_zero_noop(c, dtype, sign_wanted) -> bool:
    """x + c == x (sign_wanted=-1) or x - c == x (+1) bit for bit: c is 0, and for floats -0.0 / +0.0."""
    if c != 0:
        return False
    return not DTYPES[dtype].is_float or math.copysign(1.0, c) == sign_wanted


def algebraic(node, rw):
    """x*1, x/1, x-0, x+(-0.0) (x+0 for integers), -(-x): by scalar or by a constant operand."""
    op, out = _op(node), node.outputs[0]
    dtype = out.type.dtype
    if op in ("_mul_scalar", "_div_scalar", "_plus_scalar", "_minus_scalar"):
        s = _stored(_parsed(node)["scalar"], dtype) if DTYPES[dtype].is_float else _parsed(node)["scalar"]
        x = node.inputs[0]
        if s is None:
            return None
        if op in ("_mul_scalar", "_div_scalar") and s == 1:
            return [x]
        if op == "_plus_scalar" and _is_zero_noop(s, dtype, -1.0):
            return [x]
        if op == "_minus_scalar" and _is_zero_noop(s, dtype, 1.0):
            return [x]
        return None
    if op == "negative":
        p = node.inputs[0].producer
        return [p.inputs[0]] if p is not None and _op(p) == "negative" else None
    base = op.split("_", 1)[1] if op.startswith(("elemwise_", "broadcast_")) else None
    if base not in ("add", "sub", "mul", "div"):
        return None
    lhs, rhs = node.inputs
    for x, c, right in ((lhs, rhs, True), (rhs, lhs, False)):
        k = const_of(c)
        if k is None or x.type != out.type:
            continue
        v = k[1]
        if base == "mul" and v == 1:
            return [x]
        if base == "add" and _is_zero_noop(v, dtype, -1.0):
            return [x]
        if right and base == "div" and v == 1:
            return [x]
        if right and base == "sub" and _is_zero_noop(v, dtype, 1.0):
            return [x]
    return None


def _valid_reshape(shape) -> bool:
    return bool(shape) and all(d > 0 for d in shape)  # Reshape's shape codes give 0 and -1 meanings


def merge_reshapes(node, rw):
    """A chain of Reshape/Flatten/expand_dims/squeeze is one Reshape (or nothing)."""
    if _op(node) not in RESHAPES:
        return None
    root = node.inputs[0]
    while root.producer is not None and _op(root.producer) in RESHAPES:
        root = root.producer.inputs[0]
    out = node.outputs[0]
    if root.type == out.type:
        return [root]
    if root is node.inputs[0] or not _valid_reshape(out.type.shape):
        return None
    return rw.add("Reshape", [root], shape=tuple(out.type.shape))


def _perm(node) -> tuple:
    nd = len(node.inputs[0].type.shape)
    if nd == 0:
        return ()
    a = _parsed(node)
    if _op(node) == "transpose":
        return tuple(reversed(range(nd))) if not a["axes"] else tuple(x % nd for x in a["axes"])
    p = list(range(nd))
    i, j = a["dim1"] % nd, a["dim2"] % nd
    p[i], p[j] = p[j], p[i]
    return tuple(p)


def merge_transposes(node, rw):
    """transpose(transpose(x, p1), p2) = transpose(x, p1[p2]) (SwapAxis too): one op or none."""
    if _op(node) not in PERMUTES:
        return None
    perm, root = _perm(node), node.inputs[0]
    if root.producer is None or _op(root.producer) not in PERMUTES:
        return None
    while root.producer is not None and _op(root.producer) in PERMUTES:
        inner = _perm(root.producer)
        perm = tuple(inner[p] for p in perm)
        root = root.producer.inputs[0]
    if perm == tuple(range(len(perm))):
        return [root]
    return rw.add("transpose", [root], axes=perm)


def _reduced_axis(v: Value, op: str, x: Value):
    """The one axis (normalized) if v = op(x, axis=a, keepdims=True) over a float tensor, else None."""
    p = v.producer
    if p is None or _op(p) != op or p.inputs[0].id != x.id or not _known(p):
        return None
    a = _parsed(p)
    axis = a.get("axis")
    if not a.get("keepdims") or a.get("exclude") or axis is None or len(axis) != 1:
        return None
    nd = len(x.type.shape)
    ax = axis[0] + nd if axis[0] < 0 else axis[0]
    return ax if 0 <= ax < nd else None


def _shifted(d: Value):
    """(x, axis) if d = x - max(x, axis, keepdims=True), else None."""
    p = d.producer
    if p is None or _op(p) != "broadcast_sub":
        return None
    x, m = p.inputs
    ax = _reduced_axis(m, "max", x)
    return None if ax is None or x.type.dtype not in ("float16", "float32", "float64") else (x, ax)


def softmax_pattern(node, rw):
    """exp(x - max(x)) / sum(exp(x - max(x))) along one axis -> softmax(x, axis), and
    (x - max) - log(sum(exp(x - max))) -> log_softmax(x, axis): one kernel that reads a row from
    memory once and writes it once (codegen/templates/c/softmax.j2), instead of five passes."""
    op = _op(node)
    if op == "broadcast_div":
        e, s = node.inputs
        if e.producer is None or _op(e.producer) != "exp":
            return None
        got = _shifted(e.producer.inputs[0])
        if got is None or _reduced_axis(s, "sum", e) != got[1]:
            return None
        return rw.add("softmax", [got[0]], axis=got[1])
    if op == "broadcast_sub":
        d, ls = node.inputs
        got = _shifted(d)
        if got is None or ls.producer is None or _op(ls.producer) != "log":
            return None
        s = ls.producer.inputs[0]
        if s.producer is None or _op(s.producer) != "sum":
            return None
        e = s.producer.inputs[0]
        if e.producer is None or _op(e.producer) != "exp" or e.producer.inputs[0].id != d.id:
            return None
        if _reduced_axis(s, "sum", e) != got[1]:
            return None
        return rw.add("log_softmax", [got[0]], axis=got[1])
    return None


def cse(node, rw):
    """The same op with the same (parsed) attrs over the same inputs computes the same thing once."""
    key = rw.key(node) if rw.cse_on else None
    return None if key is None else rw.table.get(key)


RULES = [
    ("like_to_creation", like_to_creation),
    ("fold_constants", fold_constants),
    ("remove_identities", remove_identities),
    ("algebraic", algebraic),
    ("merge_reshapes", merge_reshapes),
    ("merge_transposes", merge_transposes),
    ("softmax_pattern", softmax_pattern),
    ("cse", cse),  # every node that survives the rules is entered in the table others merge into
]


def dce(graph: Graph) -> Graph:
    """Drop nodes no graph output needs (random ops stay: they advance the generator)."""
    live = {v.id for v in graph.outputs}
    keep = []
    for node in reversed(graph.nodes):
        if any(o.id in live for o in node.outputs) or is_random(node):
            keep.append(node)
            live.update(v.id for v in node.inputs)
    keep.reverse()
    return Graph(graph.inputs, graph.outputs, keep)


def simplify(graph: Graph, rules=None, dead_code: bool = True, max_sweeps: int = 16) -> Graph:
    """Rewrite with `rules` (default RULES, a list of (name, fn)) and dead-code elimination until
    nothing changes. Graph inputs are never removed and keep their order (late inputs survive)."""
    rules = RULES if rules is None else list(rules)
    late = getattr(graph, "late_inputs", None)
    g = graph
    for _ in range(max_sweeps):
        changed = False
        if rules:
            g, changed = _sweep(g, rules)
        if dead_code:
            n = len(g.nodes)
            g = dce(g)
            changed = changed or len(g.nodes) != n
        if not changed:
            break
    if g is graph:
        g = Graph(graph.inputs, graph.outputs, list(graph.nodes))
    if late is not None:
        g.late_inputs = late
    return g
