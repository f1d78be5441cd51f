"""mx.viz: draw a Symbol (or an IR Graph after the passes) as a graphviz Digraph, print a layer table.

As MXNet 1.x's `mx.viz`: `plot_network` returns a `graphviz.Digraph` (the Python package,
imported only when called; `Digraph.source` is plain DOT text, rendering needs the dot binary),
weights and biases hidden by default, edges labelled with the shape (batch axis dropped) when
`shape` is given. `plot_graph` draws an IR Graph as the executor runs it: a `_fused_elementwise`
node is one box listing its members. `print_summary` prints the "Layer (type) / Output Shape /
Param # / Previous Layer" table and the total parameter count.
"""
from __future__ import annotations

import json
import re

from .symbol import Symbol

__all__ = ["plot_network", "plot_graph", "print_summary"]

_WEIGHT_SUFFIXES = ("_weight", "_bias", "_beta", "_gamma", "_moving_var", "_moving_mean",
                    "_running_var", "_running_mean")
# fill colours by kind of op, as MXNet's plot_network uses them
_COLORS = ("#8dd3c7", "#fb8072", "#ffffb3", "#bebada", "#80b1d3", "#fdb462", "#b3de69", "#fccde5")
_NODE_ATTRS = {"shape": "box", "fixedsize": "true", "width": "1.3", "height": "0.8034", "style": "filled"}
FUSED = "_fused_elementwise"
NL = "\\n"  # a line break inside a DOT label, written as MXNet writes it


def _looks_like_weight(name: str) -> bool:
    return name.endswith(_WEIGHT_SUFFIXES)


def _digraph_class():
    try:
        from graphviz import Digraph
    except ImportError:
        raise ImportError("mx.viz.plot_network needs the graphviz Python package: pip install graphviz "
                          "(and the Graphviz 'dot' program to render the result)") from None
    return Digraph


def _ints(value) -> tuple:
    """An attribute as a tuple of ints: '(5, 5)', '5', 5 or (5, 5)."""
    if isinstance(value, (list, tuple)):
        return tuple(int(v) for v in value)
    if isinstance(value, int):
        return (value,)
    return tuple(int(v) for v in re.findall(r"-?\d+", str(value)))


def _window(attrs: dict, key: str, like: str | None = None) -> str:
    """'5x5' for kernel=(5, 5); a missing stride is 1 along every axis of `like` (the kernel)."""
    value = attrs.get(key)
    if value in (None, "", "()", ()):
        return "x".join("1" for _ in _ints(attrs[like])) if like else "1"
    return "x".join(str(v) for v in _ints(value))


def _members(attrs: dict) -> list[str]:
    raw = attrs.get("members", "[]")
    try:
        members = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return []
    return [m[0] for m in members]


def _label_and_color(op: str, name: str, attrs: dict):
    """The box text and fill colour MXNet gives an op node."""
    if op == "Convolution":
        return (f"Convolution{NL}{_window(attrs, 'kernel')}/{_window(attrs, 'stride', 'kernel')}, "
                f"{attrs['num_filter']}"), _COLORS[1]
    if op == "FullyConnected":
        return f"FullyConnected{NL}{attrs['num_hidden']}", _COLORS[1]
    if op == "BatchNorm":
        return name, _COLORS[3]
    if op in ("Activation", "LeakyReLU"):
        return f"{op}{NL}{attrs.get('act_type', 'leaky' if op == 'LeakyReLU' else '')}", _COLORS[2]
    if op == "Pooling":
        pool = attrs.get("pool_type", "max")
        if str(attrs.get("global_pool", "False")) in ("True", "true", "1"):
            return f"Pooling{NL}{pool}, global", _COLORS[4]
        return f"Pooling{NL}{pool}, {_window(attrs, 'kernel')}/{_window(attrs, 'stride', 'kernel')}", _COLORS[4]
    if op in ("Concat", "Flatten", "Reshape"):
        return name, _COLORS[5]
    if op == "Softmax":
        return name, _COLORS[6]
    if op == FUSED:
        return "fused: " + ", ".join(_members(attrs)), _COLORS[7]
    if op in ("_fused_epilogue", "_fused_reduce"):  # a GEMM / conv / reduction with elementwise ops
        key = "anchor" if op == "_fused_epilogue" else "reducer"
        try:
            head = json.loads(attrs.get(key, "[]"))[0]
        except (ValueError, IndexError, TypeError):
            head = "?"
        tail = ["Pooling"] if attrs.get("tail") else []
        parts = [str(head)] + _members(attrs) + tail if key == "anchor" else _members(attrs) + [str(head)]
        return "fused: " + ", ".join(parts), _COLORS[1]
    if op == "Custom" and "op_type" in attrs:
        return str(attrs["op_type"]), _COLORS[7]
    return name, _COLORS[7]


def _draw(nodes, edge_label, title, save_format, node_attrs, hide_weights):
    """nodes: MXNet JSON style dicts {op, name, attrs, inputs: [[node, output, 0], ...]}.
    edge_label(node_index, output_index) -> text for the edge leaving that output."""
    Digraph = _digraph_class()
    base = dict(_NODE_ATTRS)
    base.update(node_attrs or {})
    dot = Digraph(name=title, format=save_format)
    hidden = set()
    for i, node in enumerate(nodes):
        op, name = node["op"], node["name"]
        attr = dict(base)
        if op == "null":
            if _looks_like_weight(name) and hide_weights:
                hidden.add(i)
                continue
            attr["shape"] = "oval"
            label, attr["fillcolor"] = name, _COLORS[0]
        else:
            label, attr["fillcolor"] = _label_and_color(op, name, node.get("attrs") or {})
            if op == FUSED:
                attr["fixedsize"] = "false"
        dot.node(name=name, label=label, **attr)
    for node in nodes:
        if node["op"] == "null":
            continue
        for item in node["inputs"]:
            if item[0] in hidden:
                continue
            attr = {"dir": "back", "arrowtail": "open", "label": edge_label(item[0], item[1])}
            dot.edge(tail_name=node["name"], head_name=nodes[item[0]]["name"], **attr)
    return dot


def _output_key(nodes, index, out, keys) -> str:
    node = nodes[index]
    if node["op"] == "null":
        return node["name"]
    key = node["name"] + "_output"
    return key if key in keys else f"{key}{out}"


def _check_symbol(symbol, fn):
    if not isinstance(symbol, Symbol):
        raise TypeError(f"mx.viz.{fn}: symbol must be a Symbol, got {type(symbol).__name__}")


def _shape_dict(symbol, shape) -> dict:
    internals = symbol.get_internals()
    _, out_shapes, _ = internals.infer_shape(**shape)
    if out_shapes is None:
        raise ValueError(f"mx.viz: input shapes {shape} are incomplete: cannot infer every layer's shape")
    return dict(zip(internals.list_outputs(), out_shapes))


def plot_network(symbol=None, title="plot", save_format="pdf", shape=None, dtype=None, node_attrs={},
                 hide_weights=True, graph=None):
    """A graphviz Digraph of `symbol` (MXNet 1.x's mx.viz.plot_network).

    shape: {input name: shape} labels every edge with the shape it carries (batch axis dropped);
    dtype: {input name: dtype} adds the element type. node_attrs override the box attributes.
    graph: an IR Graph instead of a Symbol (see plot_graph)."""
    if graph is not None:
        return plot_graph(graph, title=title, save_format=save_format, node_attrs=node_attrs,
                          hide_weights=hide_weights)
    _digraph_class()
    _check_symbol(symbol, "plot_network")
    shapes = _shape_dict(symbol, shape) if shape is not None else None
    dtypes = None
    if dtype is not None:
        internals = symbol.get_internals()
        _, out_types, _ = internals.infer_type(**dtype)
        if out_types is None:
            raise ValueError(f"mx.viz.plot_network: input dtypes {dtype} are incomplete")
        dtypes = dict(zip(internals.list_outputs(), out_types))
    nodes = json.loads(symbol.tojson())["nodes"]

    def edge_label(index, out):
        text = ""
        if shapes is not None:
            key = _output_key(nodes, index, out, shapes)
            text = "x".join(str(d) for d in shapes.get(key, ())[1:])
        if dtypes is not None:
            key = _output_key(nodes, index, out, dtypes)
            if key in dtypes:
                t = dtypes[key]
                text += f"({getattr(t, '__name__', str(t))})"
        return text

    return _draw(nodes, edge_label, title, save_format, node_attrs, hide_weights)


def plot_graph(graph, title="plot", save_format="pdf", node_attrs={}, hide_weights=True, show_shape=True):
    """A graphviz Digraph of an IR Graph (e.g. a bound executor's graph after the passes).

    Named graph inputs are ovals (weights hidden by default), every node a box labelled as in
    plot_network; a `_fused_elementwise` kernel is one box "fused: <member ops in order>".
    Edges carry the full shape of the value (show_shape=False leaves them blank)."""
    from .ir import Graph

    if not isinstance(graph, Graph):
        raise TypeError(f"mx.viz.plot_graph: graph must be an mxcc.ir.Graph, got {type(graph).__name__}")
    nodes, where, types = [], {}, {}
    for k, v in enumerate(graph.inputs):
        where[v.id] = (len(nodes), 0)
        types[(len(nodes), 0)] = v.type
        nodes.append({"op": "null", "name": v.name or f"input{k}", "inputs": []})
    used = {n["name"] for n in nodes}
    for k, n in enumerate(graph.nodes):
        name = n.name or f"{n.op}{k}"
        while name in used:
            name = f"{name}_{k}"
        used.add(name)
        inputs = []
        for v in n.inputs:
            if v.id not in where:  # a free value not listed as an input: draw it as a variable
                where[v.id] = (len(nodes), 0)
                types[(len(nodes), 0)] = v.type
                nodes.append({"op": "null", "name": v.name or f"value{v.id}", "inputs": []})
            inputs.append([*where[v.id], 0])
        idx = len(nodes)
        for o in n.outputs:
            where[o.id] = (idx, o.index)
            types[(idx, o.index)] = o.type
        nodes.append({"op": n.op, "name": name, "attrs": dict(n.attrs), "inputs": inputs})

    def edge_label(index, out):
        t = types.get((index, out))
        return "x".join(str(d) for d in t.shape) if show_shape and t is not None else ""

    return _draw(nodes, edge_label, title, save_format, node_attrs, hide_weights)


def _print_row(fields, positions):
    line = ""
    for field, stop in zip(fields, positions):
        line = (line + str(field))[:stop]
        line += " " * (stop - len(line))
    print(line)


def print_summary(symbol, shape=None, line_length=120, positions=[.44, .64, .74, 1.]):
    """Print MXNet's layer table for `symbol`: one row per layer with its output shape (batch
    axis dropped, when `shape` is given), its parameter count and the layers feeding it; then
    "Total params: N". Parameters are the weight-like arguments (weight, bias, gamma, beta) each
    layer reads, sized from shape inference (auxiliary states such as moving means excluded)."""
    _check_symbol(symbol, "print_summary")
    shapes = _shape_dict(symbol, shape) if shape is not None else {}
    arg_shapes = {}
    if shape is not None:
        arg_list, _, _ = symbol.infer_shape(**shape)
        arg_shapes = dict(zip(symbol.list_arguments(), arg_list))
    else:
        try:
            arg_list, _, _ = symbol.infer_shape_partial()
            arg_shapes = {k: s for k, s in zip(symbol.list_arguments(), arg_list or ()) if s and 0 not in s}
        except Exception:
            arg_shapes = {}
    conf = json.loads(symbol.tojson())
    nodes = conf["nodes"]
    if positions[-1] <= 1:
        positions = [int(line_length * p) for p in positions]
    print("_" * line_length)
    _print_row(["Layer (type)", "Output Shape", "Param #", "Previous Layer"], positions)
    print("=" * line_length)
    rows = [i for i, n in enumerate(nodes) if n["op"] != "null" or i == 0]
    total = 0
    for r, i in enumerate(rows):
        node = nodes[i]
        previous, params = [], 0
        for item in node.get("inputs", ()):
            src = nodes[item[0]]
            if src["op"] != "null" or item[0] == 0:
                previous.append(src["name"])
            elif _looks_like_weight(src["name"]) and src["name"] in arg_shapes:
                size = 1
                for d in arg_shapes[src["name"]]:
                    size *= int(d)
                params += size
        key = node["name"] if node["op"] == "null" else _output_key(nodes, i, 0, shapes)
        out_shape = "x".join(str(d) for d in shapes.get(key, ())[1:])
        _print_row([f"{node['name']}({node['op']})", out_shape, params, previous[0] if previous else ""], positions)
        for more in previous[1:]:
            _print_row(["", "", "", more], positions)
        total += params
        print(("=" if r == len(rows) - 1 else "_") * line_length)
    print(f"Total params: {total}")
    print("_" * line_length)
