"""mx.viz: plot_network's Digraph (DOT text, no dot binary needed), plot_graph on a fused IR graph,
print_summary's layer table and parameter total."""
import re

import numpy as np
import pytest
from nets import lenet as _lenet

import mxcc as mx
from mxcc.ir import Graph, Node, TensorType, Value, registry
from mxcc.passes.fuse import fuse
from mxcc.passes.infer_types import infer_types

pytest.importorskip("graphviz")

SHAPE = {"data": (64, 1, 28, 28)}


def lenet():
    """tests/nets.py's LeNet, named afresh each time (convolution0, ...)."""
    with mx.name.NameManager():
        return _lenet()


def nodes_of(dot):
    """{node name: label} from the DOT source."""
    out = {}
    for line in dot.body:
        m = re.match(r'\s*(\w+) \[label=("([^"]*)"|(\S+))', line)
        if m and "->" not in line:
            out[m.group(1)] = m.group(3) if m.group(3) is not None else m.group(4)
    return out


def edges_of(dot):
    """{(consumer, producer): label}."""
    out = {}
    for line in dot.body:
        m = re.match(r'\s*(\w+) -> (\w+) \[label=("([^"]*)"|(\S*))', line)
        if m:
            out[(m.group(1), m.group(2))] = m.group(4) if m.group(4) is not None else m.group(5)
    return out


def test_lenet_nodes_and_labels():
    import graphviz

    dot = mx.viz.plot_network(lenet(), title="lenet")
    assert isinstance(dot, graphviz.Digraph) and dot.name == "lenet" and dot.format == "pdf"
    nodes = nodes_of(dot)
    assert list(nodes) == ["data", "convolution0", "pooling0", "convolution1", "pooling1", "flatten0",
                           "fullyconnected0", "activation0", "fullyconnected1", "softmax_label", "softmax"]
    assert nodes["convolution0"] == r"Convolution\n5x5/1x1, 20"
    assert nodes["convolution1"] == r"Convolution\n5x5/1x1, 50"
    assert nodes["pooling0"] == r"Pooling\nmax, 2x2/2x2"
    assert nodes["fullyconnected0"] == r"FullyConnected\n500"
    assert nodes["fullyconnected1"] == r"FullyConnected\n10"
    assert nodes["activation0"] == r"Activation\nrelu"
    assert nodes["flatten0"] == "flatten0"
    src = dot.source
    assert 'data [label=data fillcolor="#8dd3c7"' in src and "shape=oval" in src
    assert 'fillcolor="#fb8072"' in src and 'fillcolor="#80b1d3"' in src
    # weights hidden: neither nodes nor edges mention them
    assert "_weight" not in src and "_bias" not in src
    # no shape given: edges are unlabelled
    assert set(edges_of(dot).values()) == {""}


def test_edges_carry_shapes_without_batch_axis():
    sym = lenet()
    dot = mx.viz.plot_network(sym, shape=SHAPE)
    edges = edges_of(dot)
    # the shapes come from infer_shape over every internal output
    internals = sym.get_internals()
    _, outs, _ = internals.infer_shape(**SHAPE)
    true = dict(zip(internals.list_outputs(), outs))
    assert true["flatten0_output"] == (64, 800)
    expect = {("convolution0", "data"): "1x28x28", ("pooling0", "convolution0"): "20x24x24",
              ("convolution1", "pooling0"): "20x12x12", ("pooling1", "convolution1"): "50x8x8",
              ("flatten0", "pooling1"): "50x4x4", ("fullyconnected0", "flatten0"): "800",
              ("activation0", "fullyconnected0"): "500", ("fullyconnected1", "activation0"): "500",
              ("softmax", "fullyconnected1"): "10", ("softmax", "softmax_label"): ""}
    assert edges == expect
    for (consumer, producer), label in edges.items():
        key = producer if producer in true else producer + "_output"
        assert label == "x".join(str(d) for d in true[key][1:])
    assert "arrowtail=open dir=back" in dot.source
    typed = edges_of(mx.viz.plot_network(sym, shape=SHAPE, dtype={"data": np.float32}))
    assert typed[("fullyconnected0", "flatten0")] == "800(float32)"


def test_hide_weights_false_and_node_attrs():
    dot = mx.viz.plot_network(lenet(), hide_weights=False, node_attrs={"fixedsize": "false"},
                              save_format="png")
    nodes, edges = nodes_of(dot), edges_of(dot)
    assert len(nodes) == 11 + 8 and dot.format == "png"
    for name in ("convolution0_weight", "convolution0_bias", "fullyconnected1_weight", "fullyconnected1_bias"):
        assert nodes[name] == name
    assert ("convolution0", "convolution0_weight") in edges and ("fullyconnected1", "fullyconnected1_bias") in edges
    assert len(edges) == 10 + 8
    assert "fixedsize=true" not in dot.source and "fixedsize=false" in dot.source


def test_bad_input():
    with pytest.raises(TypeError, match="Symbol"):
        mx.viz.plot_network("not a symbol")
    with pytest.raises(TypeError, match="Symbol"):
        mx.viz.print_summary(42)
    with pytest.raises(TypeError, match="Graph"):
        mx.viz.plot_graph(lenet())


def test_missing_graphviz_names_the_pip_command(monkeypatch):
    import builtins

    real = builtins.__import__

    def fake(name, *args, **kwargs):
        if name == "graphviz":
            raise ImportError("No module named 'graphviz'")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake)
    with pytest.raises(ImportError, match="pip install graphviz"):
        mx.viz.plot_network(lenet())


def test_print_summary_total_is_the_true_parameter_count(capsys):
    sym = lenet()
    mx.viz.print_summary(sym, shape=SHAPE)
    text = capsys.readouterr().out
    args, _, _ = sym.infer_shape(**SHAPE)
    true = sum(int(np.prod(s)) for n, s in zip(sym.list_arguments(), args) if n.endswith(("_weight", "_bias")))
    assert true == 20 * 25 + 20 + 50 * 20 * 25 + 50 + 800 * 500 + 500 + 500 * 10 + 10
    assert f"Total params: {true}" in text
    lines = text.splitlines()
    assert lines[0] == "_" * 120 and lines[2] == "=" * 120 and lines[-1] == "_" * 120
    assert lines[1].startswith("Layer (type)") and lines[1][52:].startswith("Output Shape")
    assert lines[1][76:].startswith("Param #") and lines[1][88:].startswith("Previous Layer")
    rows = {ln.split()[0]: ln.split()[1:] for ln in lines[3:-2] if ln.strip() and set(ln) - {"_", "="}}
    assert rows["convolution0(Convolution)"] == ["20x24x24", "520", "data"]
    assert rows["convolution1(Convolution)"] == ["50x8x8", str(50 * 20 * 25 + 50), "pooling0"]
    assert rows["flatten0(Flatten)"] == ["800", "0", "pooling1"]
    assert rows["fullyconnected0(FullyConnected)"] == ["500", "400500", "flatten0"]
    assert rows["softmax(SoftmaxOutput)"] == ["10", "0", "fullyconnected1"]
    assert len(rows) == 10  # data + nine layers
    assert sum(int(r[-2]) for k, r in rows.items() if k != "data(null)") == true


def test_print_summary_several_inputs_and_custom_width(capsys):
    a, b = mx.sym.Variable("data"), mx.sym.Variable("other")
    fa = mx.sym.FullyConnected(a, num_hidden=4, name="fa")
    fb = mx.sym.FullyConnected(b, num_hidden=4, name="fb", no_bias=True)
    out = mx.sym.elemwise_add(fa, fb, name="sum")
    mx.viz.print_summary(out, shape={"data": (2, 3), "other": (2, 5)}, line_length=80)
    text = capsys.readouterr().out
    assert "Total params: 36" in text  # 3*4+4 + 5*4
    lines = text.splitlines()
    assert all(len(ln) <= 80 for ln in lines)
    i = next(k for k, ln in enumerate(lines) if ln.startswith("sum(elemwise_add)"))
    assert lines[i].split()[-1] == "fa" and lines[i + 1].strip() == "fb"


def op(name, *inputs, **attrs):
    opdef = registry.get(name)
    types = opdef.infer_types([v.type for v in inputs], opdef.parse_attrs(attrs))
    return Node(name, attrs, list(inputs), types).outputs[0]


def test_fused_kernel_is_one_node_listing_its_members():
    x, y = Value(TensorType((8, 20), "float32"), "x"), Value(TensorType((8, 20), "float32"), "y")
    out = op("_minus_scalar", op("elemwise_mul", op("exp", x), y), scalar=1.0)
    graph = Graph([x, y], [out])
    before = nodes_of(mx.viz.plot_graph(graph))
    assert list(before) == ["x", "y", "exp0", "elemwise_mul1", "_minus_scalar2"]
    fused = fuse(infer_types(graph))
    assert [n.op for n in fused.nodes] == ["_fused_elementwise"]
    dot = mx.viz.plot_graph(fused, title="fused")
    nodes, edges = nodes_of(dot), edges_of(dot)
    assert list(nodes) == ["x", "y", "_fused_elementwise0"]
    assert nodes["_fused_elementwise0"] == "fused: exp, elemwise_mul, _minus_scalar"
    assert edges == {("_fused_elementwise0", "x"): "8x20", ("_fused_elementwise0", "y"): "8x20"}
    # the same through plot_network's graph= path
    assert nodes_of(mx.viz.plot_network(graph=fused)) == nodes


def test_plot_graph_labels_ir_ops_and_hides_weights():
    data = Value(TensorType((2, 1, 8, 8), "float32"), "data")
    w = Value(TensorType((3, 1, 3, 3), "float32"), "c_weight")
    conv = Node("Convolution", {"kernel": (3, 3), "num_filter": 3, "no_bias": True}, [data, w],
                [TensorType((2, 3, 6, 6), "float32")], name="c")
    graph = Graph([data, w], conv.outputs)
    nodes = nodes_of(mx.viz.plot_graph(graph))
    assert nodes == {"data": "data", "c": r"Convolution\n3x3/1x1, 3"}
    shown = mx.viz.plot_graph(graph, hide_weights=False, show_shape=False)
    assert "c_weight" in nodes_of(shown) and set(edges_of(shown).values()) == {""}
