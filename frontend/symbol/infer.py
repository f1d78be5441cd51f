"""Shape/type inference over a Symbol and its lowering to an IR Graph."""
from __future__ import annotations

import ast

import numpy as np

from ..ir import DTYPE_BY_FLAG, Graph, Node, TensorType, Value, dtype_name
from ..ir.errors import MXNetError, ShapeError
from .graph import aux_variable_ids, topo_nodes


def _declared_dtype(node, dtypes: dict):
    """The dtype given for a variable (argument, else its __dtype__ attr), or None."""
    dt = dtypes.get(node.name)
    if dt is None and "__dtype__" in node.user_attrs:
        dt = DTYPE_BY_FLAG[int(node.user_attrs["__dtype__"])].name
    return dtype_name(dt) if dt is not None else None


def _var_init(node, shapes: dict, dtypes: dict):
    shape = shapes.get(node.name)
    if shape is None and "__shape__" in node.user_attrs:
        s = ast.literal_eval(node.user_attrs["__shape__"])
        shape = tuple(s) if s and all(int(d) > 0 for d in s) else None  # 0 means unknown in MXNet
    return TensorType(tuple(shape), _declared_dtype(node, dtypes) or "float32") if shape is not None else None


def propagate(sym, shapes: dict, dtypes: dict | None = None, train: bool = False):
    """Types of every variable (by name) and entry ((node id, k) -> TensorType or None)."""
    dtypes = dtypes or {}
    nodes = topo_nodes(sym._outputs)
    var_types = {n.name: _var_init(n, shapes, dtypes) for n in nodes if n.is_variable}
    entry: dict = {}
    for _ in range(3):  # a weight shared by several layers may only be inferred by a later one
        changed = False
        for n in nodes:
            if n.is_variable:
                entry[(n.id, 0)] = var_types[n.name]
                continue
            ins = [entry.get((c.id, k)) for c, k in n.inputs]
            attrs = _attrs_for(n, train)
            if any(t is None for t in ins) and n.op.infer_args is not None:
                try:
                    fill = n.op.infer_args(list(ins), attrs)
                except ShapeError as e:
                    raise ShapeError(f"Error in operator {n.name}: {e}") from None
                for k, t in enumerate(fill or []):
                    c, ci = n.inputs[k]
                    if ins[k] is None and t is not None and c.is_variable:
                        declared = _declared_dtype(c, dtypes)
                        if declared is not None:
                            t = TensorType(t.shape, declared)
                        var_types[c.name] = t
                        entry[(c.id, 0)] = t
                        ins[k] = t
                        changed = True
            if all(t is not None and t.known for t in ins) and (n.id, 0) not in entry:
                try:
                    outs = n.op.infer_types(ins, attrs)
                except (ShapeError, ValueError, TypeError) as e:
                    got = ", ".join(f"{nm}={t.shape}" for nm, t in zip(n.input_names(), ins)) \
                        if not n.op.variadic else ", ".join(str(t.shape) for t in ins)
                    raise ShapeError(f"Error in operator {n.name}: {e} [inputs: {got}]") from None
                for k, t in enumerate(outs):
                    entry[(n.id, k)] = t
                changed = True
        if not changed:
            break
    return var_types, entry


def _attrs_for(node, train: bool) -> dict:
    attrs = node.parsed
    if node.op.train_dependent:
        attrs = dict(attrs, _train=bool(train))
    return attrs


def _collect(sym, args, kwargs, what):
    arg_names = sym.list_arguments()
    known = {}
    if args:
        if len(args) > len(arg_names):
            raise ValueError(f"{what}: {len(args)} positional values for {len(arg_names)} arguments {arg_names}")
        known.update({n: v for n, v in zip(arg_names, args) if v is not None})
    for k, v in kwargs.items():
        if k not in sym.list_inputs():
            raise ValueError(f"{what}: '{k}' is not an input of this symbol; inputs are {sym.list_inputs()}")
        known[k] = v
    return known


def infer_shape(sym, args, kwargs, partial: bool):
    shapes = {k: tuple(v) for k, v in _collect(sym, args, kwargs, "infer_shape").items()}
    var_types, entry = propagate(sym, shapes)

    def shape_of(t):
        return t.shape if t is not None else None

    arg = [shape_of(var_types[n]) for n in sym.list_arguments()]
    aux = [shape_of(var_types[n]) for n in sym.list_auxiliary_states()]
    out = [shape_of(entry.get((node.id, k))) for node, k in sym._outputs]
    if partial:
        return [s or () for s in arg], [s or () for s in out], [s or () for s in aux]
    if any(s is None for s in arg + out + aux):
        return None, None, None
    return arg, out, aux


def infer_type(sym, args, kwargs):
    known = _collect(sym, args, kwargs, "infer_type")
    dtypes = {k: dtype_name(v) for k, v in known.items()}
    shapes = {}
    for n in topo_nodes(sym._outputs):
        if n.is_variable and "__shape__" in n.user_attrs:
            shapes[n.name] = ast.literal_eval(n.user_attrs["__shape__"])
    var_types, entry = propagate(sym, {k: v for k, v in shapes.items() if v and all(v)}, dtypes)

    def dt(t, fallback="float32"):
        return np.dtype(t.dtype if t is not None else fallback).type

    arg = [dt(var_types[n], dtypes.get(n, "float32")) for n in sym.list_arguments()]
    aux = [dt(var_types[n], dtypes.get(n, "float32")) for n in sym.list_auxiliary_states()]
    first = next(iter(dtypes.values()), "float32")
    out = [dt(entry.get((node.id, k)), first) for node, k in sym._outputs]
    return arg, out, aux


class Lowered:
    """A Symbol as an IR Graph: inputs are the arguments then the aux states (by name)."""

    def __init__(self, graph, arg_names, aux_names, updates):
        self.graph = graph
        self.arg_names = arg_names
        self.aux_names = aux_names
        self.updates = updates  # [(aux name, Value of its new value)]


def lower_symbol(sym, shapes: dict, dtypes: dict | None = None, train: bool = False) -> Lowered:
    var_types, entry = propagate(sym, shapes, dtypes, train)
    nodes = topo_nodes(sym._outputs)
    missing = [n for n, t in var_types.items() if t is None]
    if missing:
        raise MXNetError(f"cannot infer the shape of {', '.join(missing)}; give it to simple_bind/bind "
                         f"(e.g. {missing[0]}=(batch, ...))")
    aux_ids = aux_variable_ids(nodes)
    arg_names = [n.name for n in nodes if n.is_variable and n.id not in aux_ids]
    aux_names = [n.name for n in nodes if n.is_variable and n.id in aux_ids]
    values = {name: Value(var_types[name], name) for name in arg_names + aux_names}
    out_of: dict = {}
    ir_nodes, updates = [], []
    for n in nodes:
        if n.is_variable:
            out_of[(n.id, 0)] = values[n.name]
            continue
        attrs = dict(n.attrs)
        if n.op.train_dependent:
            attrs["_train"] = bool(train)
        ins = [out_of[(c.id, k)] for c, k in n.inputs]
        total = n.op.outputs_for(_attrs_for(n, train))
        types = [entry[(n.id, k)] for k in range(total)]
        node = Node(n.op.name, attrs, ins, types, name=n.name)
        ir_nodes.append(node)
        for k, v in enumerate(node.outputs):
            out_of[(n.id, k)] = v
        if train:
            for o, i in n.op.updates.items():
                src = n.inputs[i][0]
                if src.is_variable and src.id in aux_ids:
                    updates.append((src.name, node.outputs[o]))
    outputs = [out_of[(n.id, k)] for n, k in sym._outputs]
    g = Graph([values[n] for n in arg_names + aux_names], outputs, ir_nodes)
    return Lowered(g, arg_names, aux_names, updates)
