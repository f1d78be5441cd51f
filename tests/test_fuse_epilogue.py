"""passes/fuse_epilogue.py: FullyConnected / dot / batch_dot / Convolution and the elementwise
ops after them become one `_fused_epilogue` kernel, with results equal to the pass off and to
numpy float64."""
import json

import numpy as np
import pytest
from graphs import both, f64, op, rand, var
from hypothesis import given, settings
from hypothesis import strategies as st
from nets import lenet

import mxcc as mx
from mxcc.compiled import CompiledGraph
from mxcc.ir import Graph, TensorType, print_graph, registry
from mxcc.passes.autodiff import autodiff
from mxcc.passes.infer_types import infer_types

EPI = "_fused_epilogue"


def epilogues(graph):
    return [n for n in graph.nodes if n.op == EPI]


def members(node):
    return [json.loads(node.attrs["anchor"])[0]] + [m[0] for m in json.loads(node.attrs["members"])]


def test_fc_bias_relu_scale_is_one_gemm():
    x, w, b = var("x", (33, 40)), var("w", (24, 40)), var("b", (24,))
    y = op("_mul_scalar", op("Activation", op("FullyConnected", x, w, b, num_hidden=24), act_type="relu"),
           scalar=1.5)
    xs, ws, bs = rand((33, 40)), rand((24, 40), seed=1), rand((24,), seed=2)
    (out,), g = both(Graph([x, w, b], [y]), xs, ws, bs)
    assert [n.op for n in g.nodes] == [EPI]
    assert members(g.nodes[0]) == ["FullyConnected", "Activation", "_mul_scalar"]
    ref = np.maximum(f64(xs) @ f64(ws).T + f64(bs), 0) * 1.5
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-5)
    assert "_fused_epilogue" in print_graph(g) and "Activation" in print_graph(g)


def test_conv_scale_residual_relu():
    """conv -> per-channel scale -> + residual -> relu (a ResNet block's inference tail)."""
    x, w = var("x", (2, 3, 9, 9)), var("w", (6, 3, 3, 3))
    s, r = var("s", (1, 6, 1, 1)), var("r", (2, 6, 9, 9))
    c = op("Convolution", x, w, kernel=(3, 3), pad=(1, 1), num_filter=6, no_bias=True)
    y = op("relu", op("elemwise_add", op("broadcast_mul", c, s), r))
    ins = [rand((2, 3, 9, 9)), rand((6, 3, 3, 3), seed=1), rand((1, 6, 1, 1), seed=2), rand((2, 6, 9, 9), seed=3)]
    (out,), g = both(Graph([x, w, s, r], [y]), *ins)
    assert [n.op for n in g.nodes] == [EPI]
    assert members(g.nodes[0])[0] == "Convolution"
    # float64 reference: the convolution as a sum over the 3x3 window
    xp = np.pad(f64(ins[0]), ((0, 0), (0, 0), (1, 1), (1, 1)))
    conv = np.zeros((2, 6, 9, 9))
    for i in range(3):
        for j in range(3):
            conv += np.einsum("nchw,fc->nfhw", xp[:, :, i:i + 9, j:j + 9], f64(ins[1])[:, :, i, j])
    np.testing.assert_allclose(out, np.maximum(conv * f64(ins[2]) + f64(ins[3]), 0), rtol=1e-5, atol=1e-5)


def test_conv_with_bias_and_several_outputs():
    """The group's intermediate is needed elsewhere: the fused kernel writes both."""
    x, w, b = var("x", (3, 4, 7, 7)), var("w", (5, 4, 3, 3)), var("b", (5,))
    c = op("Convolution", x, w, b, kernel=(3, 3), num_filter=5)
    t = op("tanh", c)
    y = op("_mul_scalar", t, scalar=3.0)
    z = op("sum", t)
    ins = [rand((3, 4, 7, 7)), rand((5, 4, 3, 3), seed=1), rand((5,), seed=2)]
    (o1, o2), g = both(Graph([x, w, b], [y, z]), *ins)
    (e,) = epilogues(g)
    assert len(e.outputs) == 2


@pytest.mark.parametrize("bshape,kind", [((7,), "c"), ((5, 1), "r"), ((5, 7), "rc"), ((4, 5, 7), "e"), ((1,), "one")])
def test_batch_dot_broadcast_kinds(bshape, kind):
    a, b, c = var("a", (4, 5, 6)), var("b", (4, 6, 7)), var("c", bshape)
    y = op("broadcast_add", op("batch_dot", a, b), c)
    ins = [rand((4, 5, 6)), rand((4, 6, 7), seed=1), rand(bshape, seed=2)]
    (out,), g = both(Graph([a, b, c], [y]), *ins)
    (e,) = epilogues(g)
    lowered = registry.get(EPI).lower([v.type for v in e.inputs], [o.type for o in e.outputs],
                                      registry.get(EPI).parse_attrs(e.attrs))
    assert [k for _, k in lowered.params["epi"]["ins"]] == [kind]
    np.testing.assert_allclose(out, np.matmul(f64(ins[0]), f64(ins[1])) + f64(ins[2]), rtol=1e-5, atol=1e-5)


def test_dot_vector_results_and_gemv():
    """M == 1 and N == 1 take the kernel's gemv path: the epilogue runs there too."""
    a, b, c = var("a", (1, 30)), var("b", (30, 9)), var("c", (9,))
    y = op("relu", op("broadcast_add", op("dot", a, b), c))
    ins = [rand((1, 30)), rand((30, 9), seed=1), rand((9,), seed=2)]
    (out,), g = both(Graph([a, b, c], [y]), *ins)
    assert len(epilogues(g)) == 1
    np.testing.assert_allclose(out, np.maximum(f64(ins[0]) @ f64(ins[1]) + f64(ins[2]), 0), rtol=1e-5, atol=1e-5)
    a2, b2, c2 = var("a", (9, 30)), var("b", (30, 1)), var("c", (9, 1))
    y2 = op("elemwise_mul", op("dot", a2, b2), c2)
    ins2 = [rand((9, 30)), rand((30, 1), seed=1), rand((9, 1), seed=2)]
    (out2,), g2 = both(Graph([a2, b2, c2], [y2]), *ins2)
    assert len(epilogues(g2)) == 1
    np.testing.assert_allclose(out2, (f64(ins2[0]) @ f64(ins2[1])) * f64(ins2[2]), rtol=1e-5, atol=1e-5)


def test_float16_and_integer_anchors_match_unfused_kernels():
    x, w, b = var("x", (9, 16), "float16"), var("w", (12, 16), "float16"), var("b", (12,), "float16")
    y = op("sigmoid", op("FullyConnected", x, w, b, num_hidden=12))
    (out,), g = both(Graph([x, w, b], [y]), rand((9, 16), "float16"), rand((12, 16), "float16", 1),
                     rand((12,), "float16", 2), rtol=0, atol=0)
    assert len(epilogues(g)) == 1
    p, q = var("p", (6, 8), "int32"), var("q", (8, 5), "int32")
    z = op("_plus_scalar", op("dot", p, q), scalar=3)
    ps = np.random.default_rng(0).integers(-50, 50, (6, 8)).astype(np.int32)
    qs = np.random.default_rng(1).integers(-50, 50, (8, 5)).astype(np.int32)
    (zo,), gz = both(Graph([p, q], [z]), ps, qs, rtol=0, atol=0)
    assert len(epilogues(gz)) == 1
    np.testing.assert_array_equal(zo, ps.astype(np.int64) @ qs.astype(np.int64) + 3)


def test_not_fused_when_the_product_is_needed_twice_or_broadcast_oddly():
    x, w = var("x", (4, 6)), var("w", (6, 5))
    d = op("dot", x, w)
    g1 = Graph([x, w], [op("relu", d), op("exp", d)])  # two readers: the product must be written
    _, g = both(g1, rand((4, 6)), rand((6, 5), seed=1))
    assert not epilogues(g)
    xc, wc, m = var("x", (2, 3, 6, 6)), var("w", (4, 3, 3, 3)), var("m", (1, 1, 4, 1))
    c = op("Convolution", xc, wc, kernel=(3, 3), num_filter=4, no_bias=True)
    g2 = Graph([xc, wc, m], [op("broadcast_mul", c, m)])  # per output row: not a kernel row or column
    _, g = both(g2, rand((2, 3, 6, 6)), rand((4, 3, 3, 3), seed=1), rand((1, 1, 4, 1), seed=2))
    assert not epilogues(g)
    g3 = Graph([x, w], [op("Cast", op("dot", x, w), dtype="float64")])  # the first output changes dtype
    _, g = both(g3, rand((4, 6)), rand((6, 5), seed=1))
    assert not epilogues(g)


def _conv_pool(x_shape, f, k, groups=1, act="relu", dtype="float32", **pool):
    x, w = var("x", x_shape, dtype), var("w", (f, x_shape[1] // groups, k, k), dtype)
    b = var("b", (f,), dtype)
    c = op("Convolution", x, w, b, kernel=(k, k), num_filter=f, num_group=groups)
    if act:
        c = op("Activation", c, act_type=act)
    y = op("Pooling", c, **pool)
    ins = [rand(x_shape, dtype), rand(w.type.shape, dtype, 1), rand((f,), dtype, 2)]
    return Graph([x, w, b], [y]), ins


@pytest.mark.parametrize("pool", [
    {"pool_type": "max", "kernel": (2, 2), "stride": (2, 2)},
    {"pool_type": "avg", "kernel": (3, 3), "stride": (2, 2), "pad": (1, 1)},
    {"pool_type": "sum", "kernel": (2, 3), "stride": (1, 2)},
    {"pool_type": "max", "kernel": (1, 1), "global_pool": True},
    {"pool_type": "lp", "p_value": 2, "kernel": (2, 2), "stride": (2, 2)},
])
def test_conv_activation_pool_in_one_kernel(pool):
    """Inference: the convolution's output only exists one image at a time, in cache."""
    graph, ins = _conv_pool((3, 4, 11, 10), 6, 3, **pool)
    (out,), g = both(graph, *ins)
    (e,) = epilogues(g)
    assert len(g.nodes) == 1 and len(e.outputs) == 1 and json.loads(e.attrs["tail"])[0] == "Pooling"
    assert members(e) == ["Convolution", "Activation"] and e.attrs["outputs"] == ()


def test_grouped_conv_pool_float64_and_bare_conv():
    graph, ins = _conv_pool((2, 4, 8, 8), 6, 3, groups=2, dtype="float64", pool_type="max", kernel=(2, 2),
                            stride=(2, 2))
    _, g = both(graph, *ins)
    assert [n.op for n in g.nodes] == [EPI]
    graph, ins = _conv_pool((2, 1, 12, 12), 5, 5, act=None, pool_type="avg", kernel=(2, 2), stride=(2, 2))
    _, g = both(graph, *ins)
    assert [n.op for n in g.nodes] == [EPI] and members(g.nodes[0]) == ["Convolution"]


def test_pool_tail_keeps_the_full_result_when_read_later():
    """Training keeps the convolution's output for the pool's backward: the kernel writes both."""
    x, w = var("x", (2, 3, 10, 10)), var("w", (4, 3, 3, 3))
    c = op("relu", op("Convolution", x, w, kernel=(3, 3), num_filter=4, no_bias=True))
    p = op("Pooling", c, pool_type="max", kernel=(2, 2), stride=(2, 2))
    y = op("elemwise_add", op("sum", c), op("sum", p))
    (out,), g = both(Graph([x, w], [y]), rand((2, 3, 10, 10)), rand((4, 3, 3, 3), seed=1))
    (e,) = epilogues(g)
    assert len(e.outputs) == 2 and tuple(e.outputs[1].type.shape) == (2, 4, 8, 8)


@st.composite
def conv_pool_cases(draw):
    n, c, f = draw(st.integers(1, 3)), draw(st.integers(1, 5)), draw(st.integers(1, 17))
    k = draw(st.integers(1, 3))
    h, w = draw(st.integers(k + 1, 13)), draw(st.integers(k + 1, 13))
    pk = draw(st.integers(1, min(3, h - k + 1, w - k + 1)))
    ps = draw(st.integers(1, 3))
    kind = draw(st.sampled_from(["max", "avg", "sum"]))
    act = draw(st.sampled_from([None, "relu", "tanh", "sigmoid"]))
    return (n, c, h, w), f, k, act, {"pool_type": kind, "kernel": (pk, pk), "stride": (ps, ps)}


@settings(max_examples=10, deadline=None, derandomize=True)
@given(conv_pool_cases())
def test_random_conv_pool_tails_equal_with_and_without_fuse(case):
    shape, f, k, act, pool = case
    graph, ins = _conv_pool(shape, f, k, act=act, **pool)
    _, g = both(graph, *ins)
    assert [n.op for n in g.nodes] == [EPI]


@pytest.mark.parametrize("pool,groups,dtype", [
    ({"pool_type": "max", "kernel": (2, 2), "stride": (2, 2)}, 1, "float32"),
    ({"pool_type": "avg", "kernel": (3, 3), "stride": (2, 2), "pad": (1, 1)}, 2, "float32"),
    ({"pool_type": "max", "kernel": (2, 2), "stride": (1, 1)}, 1, "float64"),
    ({"pool_type": "sum", "kernel": (2, 2), "stride": (2, 2)}, 2, "float16"),
])
def test_deconvolution_runs_the_pool_backward(pool, groups, dtype):
    """A convolution's data gradient that is a pooling's out grad: the Deconvolution kernel runs
    the pool family's backward on each unit of planes it finishes (training's conv -> pool)."""
    xin, w = var("x", (3, 4, 14, 14), dtype), var("w", (6, 4 // groups, 3, 3), dtype)
    y = op("Pooling", xin, **pool)
    dshape = (3, 6, y.type.shape[2] - 2, y.type.shape[3] - 2)  # the 3x3 Deconvolution grows it back
    dy = var("dy", dshape, dtype)
    g = op("Deconvolution", dy, w, kernel=(3, 3), num_filter=4, num_group=groups, no_bias=True)
    dx = op("_backward_Pooling", g, xin, y, **pool)
    xs = np.round(rand((3, 4, 14, 14), dtype, 2), 1).astype(dtype)  # max ties
    graph = Graph([dy, w, xin], [op("negative", dx)])
    tol = 2e-3 if dtype == "float16" else 1e-5
    _, fg = both(graph, rand(dshape, dtype), rand(w.type.shape, dtype, 1), xs, rtol=tol, atol=tol)
    (e,) = epilogues(fg)
    assert json.loads(e.attrs["tail"])[0] == "_backward_Pooling" and json.loads(e.attrs["anchor"])[0] == "Deconvolution"


def test_backward_relu_rides_on_the_gradient_gemm():
    x, w, b = var("x", (8, 12)), var("w", (10, 12)), var("b", (10,))
    w2 = var("w2", (3, 10))
    h = op("Activation", op("FullyConnected", x, w, b, num_hidden=10), act_type="relu")
    y = op("sum", op("square", op("dot", h, w2, transpose_b=True)))
    g = infer_types(autodiff(Graph([x, w, b, w2], [y]), [x, w, b, w2]))
    ins = [rand((8, 12)), rand((10, 12), seed=1), rand((10,), seed=2), rand((3, 10), seed=3)]
    ins += [np.ones(v.type.shape, np.float32) for v in g.inputs[4:]]  # head gradients
    outs, fg = both(g, *ins)
    names = [members(n) for n in epilogues(fg)]
    assert ["FullyConnected", "Activation"] in names
    assert any(m[0] == "dot" and "_backward_relu" in m for m in names)


@st.composite
def fc_cases(draw):
    m, k, n = draw(st.integers(1, 40)), draw(st.integers(1, 40)), draw(st.integers(1, 40))
    dtype = draw(st.sampled_from(["float32", "float64"]))
    tail = draw(st.lists(st.sampled_from(["relu", "tanh", "scale", "residual", "colscale"]), min_size=1, max_size=3))
    return m, k, n, dtype, tail


@settings(max_examples=10, deadline=None, derandomize=True)
@given(fc_cases())
def test_random_fc_epilogues_equal_with_and_without_fuse(case):
    m, k, n, dtype, tail = case
    x, w, b = var("x", (m, k), dtype), var("w", (n, k), dtype), var("b", (n,), dtype)
    r, cs = var("r", (m, n), dtype), var("cs", (n,), dtype)
    v = op("FullyConnected", x, w, b, num_hidden=n)
    for t in tail:
        if t in ("relu", "tanh"):
            v = op(t, v)
        elif t == "scale":
            v = op("_mul_scalar", v, scalar=0.5)
        elif t == "residual":
            v = op("elemwise_add", v, r)
        else:
            v = op("broadcast_mul", v, cs)
    ins = [rand(s, dtype, seed=i) for i, s in enumerate([(m, k), (n, k), (n,), (m, n), (n,)])]
    (out,), g = both(Graph([x, w, b, r, cs], [v]), *ins)
    assert len(epilogues(g)) == 1 and len(g.nodes) == 1
    ref = f64(ins[0]) @ f64(ins[1]).T + f64(ins[2])
    for t in tail:
        ref = {"relu": lambda z: np.maximum(z, 0), "tanh": np.tanh, "scale": lambda z: z * 0.5,
               "residual": lambda z: z + f64(ins[3]), "colscale": lambda z: z * f64(ins[4])}[t](ref)
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-5)


def _train(sym, shape, disable, monkeypatch):
    monkeypatch.setenv("MXCC_DISABLE_PASSES", disable)
    ex = sym.simple_bind(mx.cpu(), data=shape, softmax_label=(shape[0],))
    rng = np.random.default_rng(0)
    for name, arr in ex.arg_dict.items():
        if name == "softmax_label":
            arr[:] = rng.integers(0, 10, arr.shape).astype(np.float32)
        else:
            arr[:] = rng.uniform(-0.2, 0.2, arr.shape).astype(np.float32)
    ex.forward(is_train=True)
    ex.backward()
    outs = [ex.outputs[0].asnumpy()] + [g.asnumpy() for g in ex.grad_arrays if g is not None]
    return outs, ex._training_program()[0].graph


@pytest.mark.parametrize("act", [None, "relu", "tanh"])
def test_lenet_training_same_with_epilogues_on_and_off(act, monkeypatch):
    after = None if act is None else (lambda s: mx.sym.Activation(data=s, act_type=act))
    sym = lenet(after_conv1=after)
    on, g = _train(sym, (4, 1, 28, 28), "", monkeypatch)
    off, _ = _train(sym, (4, 1, 28, 28), "fuse_epilogue", monkeypatch)
    for a, b in zip(on, off):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
    fused = [members(n) for n in epilogues(g)]
    assert ["FullyConnected", "Activation"] in fused
    assert ["Convolution", "Activation"] in fused if act else ["Convolution"] in fused
    tails = [json.loads(n.attrs["tail"])[0] for n in epilogues(g) if n.attrs.get("tail")]
    forward = [n for n in epilogues(g) if n.attrs.get("tail") and json.loads(n.attrs["tail"])[0] == "Pooling"]
    assert len(forward) == 2 and all(len(n.outputs) == 2 for n in forward)  # pooled + kept for backward
    assert tails.count("_backward_Pooling") == 1  # conv2's data gradient runs pool1's backward


def test_lenet_inference_pools_in_the_conv_kernels(monkeypatch):
    sym = lenet()
    vals = {}

    def infer(disable):
        monkeypatch.setenv("MXCC_DISABLE_PASSES", disable)  # read when the program is built
        ex = sym.simple_bind(mx.cpu(), data=(8, 1, 28, 28), softmax_label=(8,), grad_req="null")
        rng = np.random.default_rng(1)
        for name, arr in ex.arg_dict.items():
            arr[:] = vals.setdefault(name, rng.uniform(-0.3, 0.3, arr.shape).astype(np.float32))
        return ex, ex.forward(is_train=False)[0].asnumpy()

    ex, a = infer("")
    _, b = infer("fuse")
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    plan = ex.memory_plan(is_train=False)
    assert plan["planned_bytes"] <= 0.25 * plan["naive_bytes"]  # issue 5's inference target


def test_disable_switches_and_plot(monkeypatch):
    x, w, b = var("x", (5, 6)), var("w", (4, 6)), var("b", (4,))
    graph = Graph([x, w, b], [op("relu", op("_mul_scalar", op("FullyConnected", x, w, b, num_hidden=4), scalar=2))])
    monkeypatch.setenv("MXCC_DISABLE_PASSES", "fuse_epilogue")
    g = CompiledGraph(graph).graph
    assert not epilogues(g) and any(n.op == "_fused_elementwise" for n in g.nodes)
    monkeypatch.setenv("MXCC_DISABLE_PASSES", "fuse")
    g = CompiledGraph(graph).graph
    assert [n.op for n in g.nodes] == ["FullyConnected", "_mul_scalar", "relu"]
    monkeypatch.delenv("MXCC_DISABLE_PASSES")
    g = CompiledGraph(graph).graph
    assert [n.op for n in g.nodes] == [EPI]
    dot = mx.viz.plot_graph(g, hide_weights=False)
    src = dot.source if hasattr(dot, "source") else str(dot)
    assert "fused: FullyConnected, _mul_scalar, relu" in src


def test_bad_anchor_attributes_are_clear_errors():
    opdef = registry.get(EPI)
    ins = [TensorType((2, 3)), TensorType((3, 4))]
    bad = {"anchor": json.dumps(["Pooling", {}]), "members": json.dumps([["relu", {}, ["a"]]]), "outputs": (0,)}
    with pytest.raises(ValueError, match="anchor"):
        opdef.infer_types(ins, opdef.parse_attrs(bad))
    bad = {"anchor": json.dumps(["dot", {}]), "members": json.dumps([["relu", {}, ["i7"]]]), "outputs": (0,)}
    with pytest.raises(ValueError, match="i7"):
        opdef.infer_types(ins, opdef.parse_attrs(bad))


def test_grad_req_add_accumulates_through_a_fused_epilogue():
    """grad_req='add' binds one buffer as the old gradient (an input) and the new one (an output):
    an epilogue must not read the old value where its anchor already wrote."""
    x, w = mx.sym.var("x"), mx.sym.var("w")
    y = mx.sym.FullyConnected(x, w, no_bias=True, num_hidden=2)
    ex = y.bind(mx.cpu(), {"x": mx.nd.ones((1, 3)), "w": mx.nd.ones((2, 3))},
                args_grad={"w": mx.nd.zeros((2, 3)), "x": mx.nd.zeros((1, 3))}, grad_req={"w": "add", "x": "null"})
    a = mx.nd.ones((2, 3))
    a.attach_grad(grad_req="add")
    for step in range(1, 4):
        ex.forward(is_train=True)
        ex.backward(mx.nd.array([[1.0, 2.0]]))
        with mx.autograd.record():
            out = mx.nd.FullyConnected(mx.nd.ones((1, 3)), a, no_bias=True, num_hidden=2)
        out.backward(mx.nd.array([[1.0, 2.0]]))
        for g in (ex.grad_dict["w"], a.grad):
            np.testing.assert_array_equal(g.asnumpy(), np.array([[1.0] * 3, [2.0] * 3]) * step)
