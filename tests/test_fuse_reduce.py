"""passes/fuse_reduce.py: a reduction and the elementwise ops producing its input become one
`_fused_reduce` kernel, with results equal to the pass off and to numpy float64."""
import json

import numpy as np
import pytest
from graphs import OFF, both, f64, op, rand, var
from hypothesis import given, settings
from hypothesis import strategies as st

import mxcc as mx
from mxcc.compiled import CompiledGraph
from mxcc.ir import Graph, TensorType, registry
from mxcc.passes.autodiff import autodiff
from mxcc.passes.fuse import fuse
from mxcc.passes.infer_types import infer_types
from mxcc.passes.simplify import simplify

RED = "_fused_reduce"


def fused(graph):
    return [n for n in graph.nodes if n.op == RED]


def test_sum_of_product_is_one_kernel():
    x, y = var("x", (37, 129)), var("y", (37, 129))
    g = Graph([x, y], [op("sum", op("elemwise_mul", x, y), axis=1)])
    xs, ys = rand((37, 129)), rand((37, 129), seed=1)
    (out,), fg = both(g, xs, ys)
    assert [n.op for n in fg.nodes] == [RED]
    np.testing.assert_allclose(out, (f64(xs) * f64(ys)).sum(1), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("red,attrs,ref", [
    ("sum", {"axis": 0}, lambda z: z.sum(0)),
    ("mean", {"axis": (0, 2)}, lambda z: z.mean((0, 2))),
    ("max", {}, lambda z: z.max()),
    ("min", {"axis": 1, "keepdims": True}, lambda z: z.min(1, keepdims=True)),
    ("norm", {"axis": 2}, lambda z: np.sqrt((z * z).sum(2))),
    ("argmax", {"axis": 1}, lambda z: z.argmax(1)),
    ("prod", {"axis": 2}, lambda z: z.prod(2)),
])
def test_reducers_over_a_group(red, attrs, ref):
    """A two-member group (x - y, then tanh) under every kind of reducer and layout."""
    x, y = var("x", (5, 6, 7)), var("y", (5, 6, 7))
    g = Graph([x, y], [op(red, op("tanh", op("elemwise_sub", x, y)), **attrs)])
    xs, ys = rand((5, 6, 7)), rand((5, 6, 7), seed=1)
    (out,), fg = both(g, xs, ys)
    (node,) = fused(fg)
    assert [m[0] for m in json.loads(node.attrs["members"])] == ["elemwise_sub", "tanh"]
    np.testing.assert_allclose(out, ref(np.tanh(f64(xs) - f64(ys))), rtol=1e-5, atol=1e-5)


def test_scalars_integers_and_float16():
    x = var("x", (8, 50), "int32")
    g = Graph([x], [op("sum", op("_mul_scalar", x, scalar=3), axis=1)])
    xs = np.random.default_rng(0).integers(-100, 100, (8, 50)).astype(np.int32)
    (out,), fg = both(g, xs, rtol=0, atol=0)
    assert fused(fg)
    np.testing.assert_array_equal(out, (xs.astype(np.int64) * 3).sum(1))
    h = var("h", (6, 40), "float16")
    g16 = Graph([h], [op("sum", op("square", h), axis=1)])
    (o16,), fg = both(g16, rand((6, 40), "float16"), rtol=0, atol=0)
    assert fused(fg)


def test_not_fused_when_the_input_is_needed_or_broadcast():
    x, y = var("x", (4, 9)), var("y", (4, 9))
    t = op("elemwise_mul", x, y)
    _, fg = both(Graph([x, y], [op("sum", t), op("exp", t)]), rand((4, 9)), rand((4, 9), seed=1))
    assert not fused(fg)  # the product is written anyway: folding it again would compute it twice
    b = var("b", (9,))
    _, fg = both(Graph([x, b], [op("sum", op("broadcast_mul", x, b), axis=1)]), rand((4, 9)), rand((9,), seed=1))
    assert not fused(fg)  # a broadcast input is not read at the reduced tensor's offsets
    _, fg = both(Graph([x, y], [op("elemwise_mul", x, y)]), rand((4, 9)), rand((4, 9), seed=1))
    assert not fused(fg)


def test_bias_gradient_of_a_backward_activation():
    """sum(relu'(g)) over the batch: the FullyConnected bias gradient of a graph whose other
    readers of the backward activation are gone (here: the data needs no gradient)."""
    x, w, b = var("x", (16, 12)), var("w", (10, 12)), var("b", (10,))
    h = op("Activation", op("FullyConnected", x, w, b, num_hidden=10), act_type="tanh")
    y = op("sum", op("square", h))
    g = infer_types(autodiff(Graph([x, w, b], [y]), [b]))
    ins = [rand((16, 12)), rand((10, 12), seed=1), rand((10,), seed=2)] + [np.ones((1,), np.float32)]
    fg = CompiledGraph(g, passes=[("infer_types", infer_types), ("simplify", simplify), ("fuse", fuse)])
    yv, gb = fg(*ins)
    for a, ref in zip((yv, gb), CompiledGraph(g, passes=OFF)(*ins)):
        np.testing.assert_allclose(a, ref, rtol=1e-5, atol=1e-6)
    fg = fg.graph
    hv = np.tanh(f64(ins[0]) @ f64(ins[1]).T + f64(ins[2]))
    np.testing.assert_allclose(gb, (2 * hv * (1 - hv * hv)).sum(0), rtol=1e-4, atol=1e-5)
    assert fused(fg)


@st.composite
def cases(draw):
    nd = draw(st.integers(1, 4))
    shape = tuple(draw(st.lists(st.integers(1, 9), min_size=nd, max_size=nd)))
    axes = draw(st.lists(st.integers(0, nd - 1), unique=True, max_size=nd))
    red = draw(st.sampled_from(["sum", "max", "mean", "nansum"]))
    chain = draw(st.lists(st.sampled_from(["exp", "abs", "mul", "add"]), min_size=1, max_size=3))
    return shape, tuple(axes), red, chain


@settings(max_examples=12, deadline=None, derandomize=True)
@given(cases())
def test_random_fused_reductions_equal_with_and_without_fuse(case):
    shape, axes, red, chain = case
    x, y = var("x", shape), var("y", shape)
    v = x
    for c in chain:
        v = {"exp": lambda t: op("exp", t), "abs": lambda t: op("abs", t),
             "mul": lambda t: op("elemwise_mul", t, y), "add": lambda t: op("elemwise_add", t, y)}[c](v)
    attrs = {"axis": axes} if axes else {}
    g = Graph([x, y], [op(red, v, **attrs)])
    (out,), fg = both(g, rand(shape), rand(shape, seed=1))
    assert len(fg.nodes) == 1 and fg.nodes[0].op == RED


def test_switch_and_plot(monkeypatch):
    x, y = var("x", (3, 4)), var("y", (3, 4))
    graph = Graph([x, y], [op("sum", op("elemwise_mul", x, y))])
    monkeypatch.setenv("MXCC_DISABLE_PASSES", "fuse_reduce")
    assert not fused(CompiledGraph(graph).graph)
    monkeypatch.setenv("MXCC_DISABLE_PASSES", "fuse")
    assert not fused(CompiledGraph(graph).graph)
    monkeypatch.delenv("MXCC_DISABLE_PASSES")
    g = CompiledGraph(graph).graph
    assert [n.op for n in g.nodes] == [RED]
    src = mx.viz.plot_graph(g).source
    assert "fused: elemwise_mul, sum" in src


def test_bad_attributes_are_clear_errors():
    opdef = registry.get(RED)
    ins = [TensorType((2, 3))]
    bad = {"reducer": "[\"sum\"", "members": json.dumps([["exp", {}, ["i0"]]])}
    with pytest.raises(ValueError, match="reducer"):
        opdef.infer_types(ins, opdef.parse_attrs(bad))
    bad = {"reducer": json.dumps(["sum", {}]), "members": json.dumps([["exp", {}, ["i3"]]])}
    with pytest.raises(ValueError, match="i3"):
        opdef.infer_types(ins, opdef.parse_attrs(bad))
