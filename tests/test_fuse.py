"""passes/fuse.py: elementwise groups become one `_fused_elementwise` node and one loop, with
every result equal to the same graph with the pass off (and to numpy float64)."""
import json

import numpy as np
import pytest
from graphs import OFF, ON, both, op, rand, var
from hypothesis import given, settings
from hypothesis import strategies as st
from nets import lenet

import mxcc as mx
from mxcc.compiled import CompiledGraph
from mxcc.ir import Graph, TensorType, print_graph, registry
from mxcc.passes import PIPELINE
from mxcc.passes.autodiff import autodiff

FUSED = "_fused_elementwise"


def ops_of(graph):
    return [n.op for n in graph.nodes]


def members(node):
    return [m[0] for m in json.loads(node.attrs["members"])]


# ---- small graphs ---------------------------------------------------------------------------------

def test_a_times_b_plus_c_is_one_node():
    a, b, c = var("a", (50, 70)), var("b", (50, 70)), var("c", (50, 70))
    g = Graph([a, b, c], [op("broadcast_add", op("broadcast_mul", a, b), c)])
    xa, xb, xc = rand((50, 70)), rand((50, 70), seed=1), rand((50, 70), seed=2)
    (out,), fg = both(g, xa, xb, xc)
    np.testing.assert_allclose(out, xa.astype(np.float64) * xb + xc, rtol=1e-5, atol=1e-6)
    assert ops_of(fg) == [FUSED] and members(fg.nodes[0]) == ["broadcast_mul", "broadcast_add"]
    assert len(g.nodes) == 2  # the pass made a new graph, the old one is untouched


def test_exp_times_y_minus_one():
    x, y = var("x", (1000,)), var("y", (1000,))
    g = Graph([x, y], [op("_minus_scalar", op("elemwise_mul", op("exp", x), y), scalar=1.0)])
    xx, yy = rand((1000,)), rand((1000,), seed=1)
    (out,), fg = both(g, xx, yy)
    np.testing.assert_allclose(out, np.exp(xx.astype(np.float64)) * yy - 1, rtol=1e-5, atol=1e-6)
    assert ops_of(fg) == [FUSED] and members(fg.nodes[0]) == ["exp", "elemwise_mul", "_minus_scalar"]
    assert "_fused_elementwise" in print_graph(fg) and "exp" in print_graph(fg)


@pytest.mark.parametrize("shapes", [
    [(6, 4, 5), (5,), (4, 1), (6, 1, 1)],   # inner axis contiguous for every input
    [(6, 4, 5), (6, 4, 1), (1, 4, 5), (1,)],  # one input broadcast along the inner axis
    [(7, 3), (1,), (7, 1), (1, 3)],
])
def test_broadcast_inputs(shapes):
    xs = [var(f"x{k}", s) for k, s in enumerate(shapes)]
    t = op("broadcast_add", xs[0], xs[1])
    t = op("broadcast_mul", t, xs[2])
    t = op("relu", op("broadcast_sub", t, xs[3]))
    g = Graph(xs, [op("_mul_scalar", t, scalar=0.5)])
    data = [rand(s, seed=k) for k, s in enumerate(shapes)]
    (out,), fg = both(g, *data)
    d = [a.astype(np.float64) for a in data]
    np.testing.assert_allclose(out, np.maximum((d[0] + d[1]) * d[2] - d[3], 0) * 0.5, rtol=1e-5, atol=1e-6)
    assert ops_of(fg) == [FUSED]


def test_scalars_are_runtime_arguments():
    """Two chains differing only in their scalars share one fused kernel."""
    def chain(s1, s2):
        x = var("x", (10, 10))
        return Graph([x], [op("_plus_scalar", op("_mul_scalar", op("tanh", x), scalar=s1), scalar=s2)])

    xx = rand((10, 10))
    sources = []
    for s1, s2 in ((2.0, 0.5), (-3.0, 7.25)):
        (out,), _ = both(chain(s1, s2), xx)
        np.testing.assert_allclose(out, np.tanh(xx.astype(np.float64)) * s1 + s2, rtol=1e-5, atol=1e-6)
        sources.append(CompiledGraph(chain(s1, s2), passes=ON).source)
    kernel = [line.split("(")[0] for line in sources[0].splitlines() if "mx_fused_" in line and "_flat(" in line]
    assert kernel and kernel[0] in sources[1]


def test_mixed_scalar_ops_and_clip():
    x = var("x", (33, 17))
    t = op("_rminus_scalar", op("_div_scalar", x, scalar=4.0), scalar=1.0)
    t = op("clip", op("_power_scalar", t, scalar=2.0), a_min=0.1, a_max=1.5)
    g = Graph([x], [op("_rdiv_scalar", t, scalar=3.0)])
    xx = rand((33, 17))
    (out,), fg = both(g, xx)
    ref = 3.0 / np.clip((1 - xx.astype(np.float64) / 4) ** 2, 0.1, 1.5)
    np.testing.assert_allclose(out, ref, rtol=1e-5)
    assert ops_of(fg) == [FUSED] and len(members(fg.nodes[0])) == 5


def test_several_consumers_become_outputs():
    x, y = var("x", (8, 9)), var("y", (8, 9))
    e = op("exp", x)
    a = op("elemwise_mul", e, y)
    b = op("_plus_scalar", e, scalar=1.0)
    c = op("elemwise_add", a, b)
    g = Graph([x, y], [c, e, b])
    xx, yy = rand((8, 9)), rand((8, 9), seed=1)
    ex = np.exp(xx.astype(np.float64))
    refs = [ex * yy + ex + 1, ex, ex + 1]
    for late in (None, []):  # without a stage split known, and with none
        if late is not None:
            g.late_inputs = late
        outs, fg = both(g, xx, yy)
        for o, r in zip(outs, refs):
            np.testing.assert_allclose(o, r, rtol=1e-5)
        assert len(fg.nodes) < 4
    assert ops_of(fg) == [FUSED] and fg.nodes[0].attrs["outputs"] == (0, 2, 3)


def test_value_used_by_another_op_stays_an_output():
    x = var("x", (4, 6))
    e = op("sigmoid", x)
    s = op("softmax", e)  # not elementwise: reads all of e
    g = Graph([x], [op("elemwise_add", op("_mul_scalar", e, scalar=2.0), s)])
    xx = rand((4, 6))
    (out,), fg = both(g, xx)
    sg = 1 / (1 + np.exp(-xx.astype(np.float64)))
    sm = np.exp(sg) / np.exp(sg).sum(-1, keepdims=True)
    np.testing.assert_allclose(out, 2 * sg + sm, rtol=1e-5)
    # sigmoid and *2 may fuse (sigmoid's value leaves for softmax); the add comes after softmax
    assert ops_of(fg).count("softmax") == 1 and len(fg.nodes) == 3


def test_no_cycle_through_another_op():
    """exp -> softmax -> mul with exp: grouping exp with mul would put softmax inside a loop."""
    x = var("x", (5, 7))
    e = op("exp", x)
    g = Graph([x], [op("negative", op("elemwise_mul", e, op("softmax", e)))])
    xx = rand((5, 7))
    (out,), fg = both(g, xx)
    ee = np.exp(xx.astype(np.float64))
    sm = np.exp(ee) / np.exp(ee).sum(-1, keepdims=True)
    np.testing.assert_allclose(out, -ee * sm, rtol=1e-5)
    order = ops_of(fg)
    assert order.index("softmax") < len(order) - 1 and order.count(FUSED) == 1
    fused = [n for n in fg.nodes if n.op == FUSED][0]
    assert members(fused) == ["elemwise_mul", "negative"]


def test_no_cycle_between_two_groups():
    """Each group alone is acyclic, but exp.mul needs cos's value while sin.cos.add needs
    softmax(exp): the two cannot both be fused nodes; the pass must keep the graph runnable."""
    x, y = var("x", (4, 6)), var("y", (4, 6))
    g1 = op("exp", x)
    s = op("softmax", g1)
    h1, h2 = op("sin", s), op("cos", y)
    h3 = op("elemwise_add", h1, h2)
    g2 = op("elemwise_mul", g1, h2)
    g = Graph([x, y], [h3, g2])
    g.late_inputs = []
    xx, yy = rand((4, 6)), rand((4, 6), seed=1)
    (o3, o2), fg = both(g, xx, yy)
    e = np.exp(xx.astype(np.float64))
    sm = np.exp(e) / np.exp(e).sum(-1, keepdims=True)
    np.testing.assert_allclose(o3, np.sin(sm) + np.cos(yy), rtol=1e-5)
    np.testing.assert_allclose(o2, e * np.cos(yy), rtol=1e-5)
    assert ops_of(fg).count(FUSED) >= 1


def test_groups_keep_one_shape():
    x, v = var("x", (6, 5)), var("v", (5,))
    w = op("_mul_scalar", op("exp", v), scalar=2.0)  # shape (5,)
    g = Graph([x, v], [op("tanh", op("broadcast_add", op("sin", x), w))])  # shape (6, 5)
    xx, vv = rand((6, 5)), rand((5,), seed=1)
    (out,), fg = both(g, xx, vv)
    np.testing.assert_allclose(out, np.tanh(np.sin(xx.astype(np.float64)) + 2 * np.exp(vv)), rtol=1e-5)
    assert ops_of(fg) == [FUSED, FUSED]
    assert [members(n) for n in fg.nodes] == [["exp", "_mul_scalar"], ["sin", "broadcast_add", "tanh"]]


# ---- dtypes -----------------------------------------------------------------------------------------

def test_float16_chain_rounds_like_unfused_kernels():
    x = var("x", (300,), "float16")
    g = Graph([x], [op("_plus_scalar", op("_mul_scalar", op("sin", x), scalar=3.3), scalar=0.1)])
    xx = rand((300,), "float16")
    (out,), fg = both(g, xx, rtol=1e-3, atol=1e-3)
    assert out.dtype == np.float16 and ops_of(fg) == [FUSED]
    np.testing.assert_allclose(out, np.sin(xx.astype(np.float64)) * 3.3 + 0.1, rtol=5e-3, atol=5e-3)


def test_casts_and_integers_are_exact():
    x = var("x", (64,))
    i = op("Cast", op("_mul_scalar", x, scalar=7.9), dtype="int32")  # truncation in the cast
    j = op("_div_scalar", op("_plus_scalar", i, scalar=3.0), scalar=2.0)  # integer division
    k = op("Cast", op("_mod_scalar", j, scalar=5.0), dtype="uint8")
    g = Graph([x], [op("_mul_scalar", op("Cast", k, dtype="float32"), scalar=0.5), j])
    xx = rand((64,), lo=-3, hi=3)
    on, off = CompiledGraph(g, passes=ON)(xx), CompiledGraph(g, passes=OFF)(xx)
    for a, b in zip(on, off):
        np.testing.assert_array_equal(a, b)
    ii = (xx * np.float32(7.9)).astype(np.int32)
    jj = np.where(ii + 3 >= 0, (ii + 3) // 2, -((-(ii + 3)) // 2))  # C division truncates
    np.testing.assert_array_equal(on[1], jj)
    np.testing.assert_array_equal(on[0], (np.mod(jj, 5).astype(np.uint8)).astype(np.float32) * 0.5)


# ---- training graphs: stages and backward chains -----------------------------------------------------

def test_forward_values_are_ready_after_the_forward_entry():
    """With late inputs (head gradients) a group must not delay a forward value to backward."""
    x, h = var("x", (16, 16)), var("h", (16, 16))
    y = op("_plus_scalar", op("exp", x), scalar=1.0)
    z = op("elemwise_mul", op("sin", y), h)  # depends on the late input
    for late in ([h], None):
        g = Graph([x, h], [y, z])
        if late is not None:
            g.late_inputs = late
        prog = CompiledGraph(g, passes=ON, late_inputs=[h])
        xx, hh = rand((16, 16)), rand((16, 16), seed=1)
        yo, zo = np.zeros((16, 16), np.float32), np.zeros((16, 16), np.float32)
        prog.set_io([xx.ctypes.data, hh.ctypes.data, yo.ctypes.data, zo.ctypes.data])
        prog.entry("forward")()
        ref = np.exp(xx.astype(np.float64)) + 1
        np.testing.assert_allclose(yo, ref, rtol=1e-5)
        assert not zo.any()
        prog.entry("backward")()
        np.testing.assert_allclose(zo, np.sin(ref) * hh, rtol=1e-5, atol=1e-6)
        # sin joins the forward group (its value is computed early); the product waits for h
        assert [members(n) for n in prog.graph.nodes if n.op == FUSED] == [["exp", "_plus_scalar", "sin"]]
        assert "elemwise_mul" in ops_of(prog.graph)


def test_backward_chains_fuse_and_gradients_match():
    x, w = var("x", (20, 30)), var("w", (30,))
    t = op("broadcast_mul", op("tanh", x), w)
    f = op("elemwise_add", op("sigmoid", t), op("_mul_scalar", op("square", x), scalar=0.1))
    g = autodiff(Graph([x, w], [f]), [x, w])
    heads = g.inputs[2:]
    g.late_inputs = heads
    xx, ww, hh = rand((20, 30)), rand((30,), seed=1), rand((20, 30), seed=2)
    (fo, gx, gw), fg = both(g, xx, ww, hh)
    xd = xx.astype(np.float64)
    tt = np.tanh(xd) * ww
    s = 1 / (1 + np.exp(-tt))
    np.testing.assert_allclose(fo, s + 0.1 * xd * xd, rtol=1e-5)
    ds = hh * s * (1 - s)
    np.testing.assert_allclose(gx, ds * ww * (1 - np.tanh(xd) ** 2) + hh * 0.2 * xd, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(gw, (ds * np.tanh(xd)).sum(0), rtol=1e-4, atol=1e-5)
    late = {v.id for v in heads}
    for n in fg.nodes:  # which nodes run in backward
        if any(v.id in late for v in n.inputs):
            late.update(o.id for o in n.outputs)
    backward = [n for n in fg.nodes if any(o.id in late for o in n.outputs)]
    assert any(n.op == FUSED and len(members(n)) >= 3 for n in backward)
    assert len(fg.nodes) < len(g.nodes) - 4


def _lenet(chain=False):
    """The seed's LeNet; `chain` adds an elementwise chain after conv1 (the plain LeNet has no two
    neighbouring elementwise ops to fuse)."""
    return lenet(lambda c: mx.sym.Activation(data=c, act_type="tanh") * 1.5 - 0.25 if chain else c)


@pytest.mark.parametrize("chain", [False, True])
def test_lenet_training_graph_same_with_fuse_on_and_off(chain):
    from mxcc.symbol.infer import lower_symbol

    batch = 8
    low = lower_symbol(_lenet(chain), {"data": (batch, 1, 28, 28), "softmax_label": (batch,)}, train=True)
    params = [v for v in low.graph.inputs if v.name not in ("data", "softmax_label")]
    g = autodiff(low.graph, params)
    heads = g.inputs[len(low.graph.inputs):]
    rng = np.random.default_rng(3)
    feed = []
    for v in g.inputs:
        if v.name == "softmax_label":
            feed.append(rng.integers(0, 10, v.type.shape).astype(np.float32))
        elif v.name == "data":
            feed.append(rng.uniform(0, 1, v.type.shape).astype(np.float32))
        else:
            feed.append(rng.normal(0, 0.1, v.type.shape).astype(np.float32))
    g.late_inputs = list(heads)
    with_fuse = CompiledGraph(g, late_inputs=heads)
    without = CompiledGraph(g, passes=[p for p in PIPELINE if p[0] != "fuse"], late_inputs=heads)
    r_on, r_off = with_fuse(*feed), without(*feed)
    assert len(r_on) == 1 + len(params)
    for a, b in zip(r_on, r_off):
        # a fused loop may take libm's vector tanh where the lone kernel took the scalar one (an
        # ulp apart); the weight gradients sum thousands of such terms, so scale atol by the size
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5 * np.abs(b).max())
    assert all(np.abs(a).max() > 0 for a in r_on[1:])
    assert FUSED not in ops_of(without.graph)
    if chain:  # forward tanh * 1.5 - 0.25 (in conv1's epilogue, passes/fuse_epilogue.py), and its backward chain
        nodes = [n for n in with_fuse.graph.nodes if n.op in (FUSED, "_fused_epilogue")]
        fused = [members(n) for n in nodes]
        assert fused[0] == ["Activation", "_mul_scalar", "_minus_scalar"]
        assert json.loads(nodes[0].attrs["anchor"])[0] == "Convolution"
        groups = [n for n in nodes if n.op == FUSED]
        assert len(groups) == 1 and members(groups[0]) == ["_backward_mul_scalar", "_backward_tanh"]
        # the backward ops take the forward values by type where their derivative does not read
        # them, so the forward group writes tanh (read by tanh's derivative) and its result only
        assert nodes[0].attrs["outputs"] == (0, 2) and "float32[8,20,24,24]" in groups[0].attrs["members"]
        # each fused node stands for its members, plus an epilogue's anchor and pooling tail
        saved = sum(len(m) - 1 + (n.op == "_fused_epilogue") + bool(n.attrs.get("tail")) for m, n in zip(fused, nodes))
        assert len(with_fuse.graph.nodes) == len(without.graph.nodes) - saved


# ---- the switch, the dump, the op --------------------------------------------------------------------

def _small():
    x = var("x", (3, 4))
    return Graph([x], [op("sigmoid", op("_plus_scalar", op("abs", x), scalar=2.0))])


def test_disable_passes_switch(monkeypatch):
    xx = rand((3, 4))
    monkeypatch.setenv("MXCC_DISABLE_PASSES", "fuse")
    off = CompiledGraph(_small())
    monkeypatch.setenv("MXCC_DISABLE_PASSES", "")
    on = CompiledGraph(_small())
    assert FUSED not in ops_of(off.graph) and ops_of(on.graph) == [FUSED]
    np.testing.assert_allclose(on(xx)[0], off(xx)[0], rtol=1e-6)
    np.testing.assert_allclose(on(xx)[0], 1 / (1 + np.exp(-(np.abs(xx.astype(np.float64)) + 2))), rtol=1e-5)


def test_dump_ir_lists_the_members(monkeypatch, tmp_path):
    monkeypatch.setenv("MXCC_DUMP_IR", str(tmp_path))
    CompiledGraph(_small(), tag="fusedump")
    text = next(tmp_path.glob("fusedump.*.fuse.txt")).read_text()
    assert FUSED in text and '"abs"' in text and '"_plus_scalar"' in text and '"sigmoid"' in text


def test_fused_op_rejects_bad_members():
    t = [TensorType((2, 3))]
    opdef = registry.get(FUSED)
    bad = [("not json", ValueError, "JSON"), ('[["exp", {}, ["i3"]]]', ValueError, "i3"),
           ('[["exp", {}, ["t0"]]]', ValueError, "t0"), ('[["no_such_op", {}, ["i0"]]]', KeyError, "no_such_op"),
           ('[["exp"]]', ValueError, "member 0")]
    for text, err, word in bad:
        with pytest.raises(err, match=word):
            opdef.infer_types(t, opdef.parse_attrs({"members": text, "outputs": (0,)}))
    attrs = opdef.parse_attrs({"members": '[["exp", {}, ["float32[2,3]"]]]', "outputs": (0,)})
    assert opdef.infer_types([], attrs) == t
    with pytest.raises(ValueError, match="given only as a type"):
        opdef.lower([], t, attrs)
    with pytest.raises(ValueError, match="does not lower"):  # a strided view is not a member
        attrs = opdef.parse_attrs({"members": '[["transpose", {}, ["i0"]]]', "outputs": (0,)})
        opdef.lower(t, opdef.infer_types(t, attrs), attrs)


# ---- random DAGs ------------------------------------------------------------------------------------

UNARY = {"tanh": np.tanh, "sigmoid": lambda a: 1 / (1 + np.exp(-a)), "sin": np.sin, "relu": lambda a: np.maximum(a, 0),
         "abs": np.abs, "negative": np.negative}
BINARY = {"broadcast_add": np.add, "broadcast_sub": np.subtract, "broadcast_mul": np.multiply,
          "broadcast_maximum": np.maximum, "broadcast_minimum": np.minimum}
SCALAR = {"_mul_scalar": np.multiply, "_plus_scalar": np.add, "_rminus_scalar": lambda a, s: s - a}
SHAPES = [(3, 4), (4,), (3, 1), (1, 4), (3, 4)]


@st.composite
def dags(draw):
    shapes = [draw(st.sampled_from(SHAPES)) for _ in range(draw(st.integers(1, 3)))]
    steps = draw(st.lists(st.tuples(st.sampled_from(sorted(UNARY) + sorted(BINARY) + sorted(SCALAR)),
                                    st.integers(0, 99), st.integers(0, 99),
                                    st.floats(-1.5, 1.5, allow_nan=False).map(lambda s: round(s, 3))),
                          min_size=2, max_size=9))
    extra = draw(st.lists(st.integers(0, 99), max_size=2))
    return shapes, steps, extra


@settings(max_examples=12, deadline=None, derandomize=True)
@given(dags())
def test_random_elementwise_dags_equal_with_and_without_fuse(dag):
    shapes, steps, extra = dag
    ins = [var(f"x{k}", s) for k, s in enumerate(shapes)]
    data = [rand(s, seed=k) for k, s in enumerate(shapes)]
    vals, refs = list(ins), [d.astype(np.float64) for d in data]
    for name, i, j, s in steps:
        a, ra = vals[-1 - i % len(vals)], refs[-1 - i % len(vals)]
        if name in UNARY:
            vals.append(op(name, a))
            refs.append(UNARY[name](ra))
        elif name in SCALAR:
            vals.append(op(name, a, scalar=s))
            refs.append(SCALAR[name](ra, s))
        else:
            b, rb = vals[j % len(vals)], refs[j % len(vals)]
            vals.append(op(name, a, b))
            refs.append(BINARY[name](ra, rb))
    picks = [len(vals) - 1] + [len(shapes) + e % (len(vals) - len(shapes)) for e in extra]
    g = Graph(ins, [vals[p] for p in picks])
    outs, fg = both(g, *data)
    assert len(fg.nodes) <= len(steps)
    for o, p in zip(outs, picks):
        ok = np.isfinite(o) & (np.abs(refs[p]) < 1e30)
        np.testing.assert_allclose(o[ok], refs[p][ok], rtol=1e-4, atol=1e-5)
