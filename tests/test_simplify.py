"""passes/simplify.py: every rewrite shrinks its graph, keeps it valid (ir.verify) and keeps results
equal to the same graph with the pass off; random elementwise graphs (hypothesis); LeNet's
training graph (outputs and gradients, and DCE drops the data gradient nobody asked for)."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nets import lenet

import mxcc as mx
from mxcc import CompiledGraph
from mxcc.ir import Graph, TensorType, Value, verify
from mxcc.ir.grad import GradBuilder
from mxcc.passes import pipeline
from mxcc.passes.autodiff import autodiff
from mxcc.passes.infer_types import infer_types
from mxcc.passes.simplify import RULES, simplify
from mxcc.symbol.infer import lower_symbol

OFF = [("infer_types", infer_types)]
ON = OFF + [("simplify", simplify)]


def run(graph, inputs, on):
    return CompiledGraph(graph, passes=ON if on else OFF)(*inputs)


def check(graph, inputs, nodes=None, exact=True):
    """Simplify: valid graph, `nodes` nodes left (if given), results equal with the pass off."""
    s = verify(simplify(graph))
    assert len(s.nodes) <= len(graph.nodes)
    if nodes is not None:
        assert len(s.nodes) == nodes, str(s)
    assert [v.type for v in s.outputs] == [v.type for v in graph.outputs]
    assert s.inputs == graph.inputs
    off, on = run(graph, inputs, False), run(graph, inputs, True)
    for a, b in zip(off, on):
        if exact:
            np.testing.assert_array_equal(a, b)
            assert (np.signbit(a) == np.signbit(b)).all()
        else:
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    return s, on


def inputs_of(*shapes, dtype="float32"):
    return [Value(TensorType(s, dtype), f"x{k}") for k, s in enumerate(shapes)]


def rand(*shape, dtype="float32", seed=0):
    return np.random.default_rng(seed).uniform(0.5, 1.5, shape).astype(dtype)


def ops(g):
    return [n.op for n in g.nodes]


# ---- dead code and common subexpressions -------------------------------------------------------
def test_dce_drops_dead_nodes_and_keeps_every_input():
    x, y = inputs_of((3, 4), (3, 4))
    b = GradBuilder()
    b.op("exp", b.op("sort", x))  # dead
    out = b.op("_plus_scalar", x, scalar=1.0)
    g = Graph([x, y], [out], b.nodes)
    s, (res,) = check(g, [rand(3, 4), rand(3, 4, seed=1)], nodes=1)
    assert s.inputs == [x, y]
    np.testing.assert_allclose(res, rand(3, 4).astype(np.float64) + 1, rtol=1e-6)


def test_cse_merges_equal_nodes_by_parsed_attrs_and_commutes():
    x, y = inputs_of((3, 4), (3, 4))
    b = GradBuilder()
    e1, e2 = b.op("exp", x), b.op("exp", x)
    r1, r2 = b.op("Reshape", x, shape=(12,)), b.op("Reshape", x, shape="(12,)")  # same parsed attrs
    a1, a2 = b.op("elemwise_add", e1, y), b.op("elemwise_add", y, e2)
    m2, m3 = b.op("_mul_scalar", x, scalar=2.0), b.op("_mul_scalar", x, scalar=3.0)  # different attrs
    outs = [b.op("elemwise_mul", a1, a2), b.op("elemwise_sub", r1, r2), m2, m3]
    g = Graph([x, y], outs, b.nodes)
    s, _ = check(g, [rand(3, 4), rand(3, 4, seed=1)])
    assert ops(s).count("exp") == 1 and ops(s).count("elemwise_add") == 1 and ops(s).count("Reshape") == 1
    assert ops(s).count("_mul_scalar") == 2
    assert len(s.nodes) == len(g.nodes) - 3


def test_random_ops_are_never_merged_or_dropped():
    x, = inputs_of((64,))
    b = GradBuilder()
    b.op("_random_uniform", shape=(64,))  # dead, but it advances the generator
    u1, u2 = b.op("_random_uniform", shape=(64,)), b.op("_random_uniform", shape=(64,))
    d1 = b.op("Dropout", x, p=0.5, _train=True)[0]
    d2 = b.op("Dropout", x, p=0.5, _train=True)[0]
    g = Graph([x], [u1, u2, d1, d2], b.nodes)
    s = verify(simplify(g))
    assert len(s.nodes) == len(g.nodes)
    xs = np.ones(64, np.float32)
    mx.random.seed(3)
    off = run(g, [xs], False)
    mx.random.seed(3)
    on = run(g, [xs], True)
    for a, c in zip(off, on):
        np.testing.assert_array_equal(a, c)
    assert not np.array_equal(on[0], on[1]) and not np.array_equal(on[2], on[3])


def test_update_ops_are_not_merged():
    x, gamma, beta, mean, var = inputs_of((4, 3), (3,), (3,), (3,), (3,))
    b = GradBuilder()
    bn1 = b.op("BatchNorm", x, gamma, beta, mean, var, _train=True)
    bn2 = b.op("BatchNorm", x, gamma, beta, mean, var, _train=True)
    g = Graph([x, gamma, beta, mean, var], [bn1[0], bn2[0]], b.nodes)
    assert ops(simplify(g)).count("BatchNorm") == 2


# ---- constants ---------------------------------------------------------------------------------------
def test_fold_constants_into_one_creation_op():
    b = GradBuilder()
    c = b.op("_full", shape=(2, 6), value=0.1, dtype="float32")
    c = b.op("_mul_scalar", c, scalar=3.0)
    c = b.op("negative", c)
    c = b.op("_rdiv_scalar", c, scalar=1.0)
    c = b.op("elemwise_add", c, b.op("_ones", shape=(2, 6)))
    c = b.op("Reshape", c, shape=(3, 4))
    c = b.op("broadcast_mul", c, b.op("_full", shape=(1, 4), value=2.5))
    c = b.op("transpose", c)
    g = Graph([], [c], b.nodes)
    s, (res,) = check(g, [], nodes=1)
    assert ops(s) == ["_full"] and res.shape == (4, 3)
    f32 = np.float32
    want = (f32(1) / -(f32(0.1) * f32(3)) + f32(1)) * f32(2.5)
    assert res.dtype == np.float32 and (res == want).all()


def test_fold_rearranged_constants_at_every_dtype_and_zeros_like():
    x, = inputs_of((3, 4))
    b = GradBuilder()
    k = b.op("_full", shape=(4,), value=7, dtype="int32")
    k = b.op("broadcast_to", b.op("Reshape", k, shape=(1, 4)), shape=(3, 4))
    k = b.op("Concat", k, b.op("_full", shape=(3, 4), value=7.0, dtype="int32"), dim=0)
    z = b.op("zeros_like", b.op("exp", x))  # exp(x) is no longer needed
    o = b.op("ones_like", b.op("Cast", x, dtype="float64"))
    g = Graph([x], [k, z, o], b.nodes)
    s, (kk, zz, oo) = check(g, [rand(3, 4)], nodes=3)
    assert sorted(ops(s)) == ["_full", "_ones", "_zeros"]
    assert kk.dtype == np.int32 and kk.shape == (6, 4) and (kk == 7).all()
    assert (zz == 0).all() and oo.dtype == np.float64 and (oo == 1).all()


def test_no_fold_when_not_exact():
    b = GradBuilder()
    c = b.op("_div_scalar", b.op("_zeros", shape=(3,)), scalar=0.0)  # 0/0: NaN is left to the kernel
    d = b.op("_mul_scalar", b.op("_full", shape=(3,), value=0.5, dtype="float16"), scalar=3.0)
    g = Graph([], [c, d], b.nodes)
    s = verify(simplify(g))
    assert len(s.nodes) == 4
    off, on = run(g, [], False), run(g, [], True)
    assert np.isnan(on[0]).all() and np.isnan(off[0]).all()
    np.testing.assert_array_equal(off[1], on[1])


# ---- algebraic identities, identities, chains ---------------------------------------------------------
def test_algebraic_identities_are_exact():
    x, = inputs_of((8,))
    b = GradBuilder()
    v = b.op("_mul_scalar", x, scalar=1.0)
    v = b.op("_div_scalar", v, scalar=1.0)
    v = b.op("_minus_scalar", v, scalar=0.0)
    v = b.op("_plus_scalar", v, scalar=-0.0)
    v = b.op("negative", b.op("negative", v))
    v = b.op("elemwise_mul", b.op("_ones", shape=(8,)), v)
    v = b.op("broadcast_add", v, b.op("_full", shape=(1,), value=-0.0))
    v = b.op("elemwise_div", v, b.op("_full", shape=(8,), value=1.0))
    keep = b.op("_plus_scalar", x, scalar=0.0)  # -0.0 + 0.0 is +0.0: not x
    g = Graph([x], [v, keep], b.nodes)
    xs = np.array([-0.0, 0.0, 1, -2, np.inf, -np.inf, np.nan, 3.5], np.float32)
    s, (vv, kk) = check(g, [xs], nodes=1)
    assert s.outputs[0] is x and ops(s) == ["_plus_scalar"]
    np.testing.assert_array_equal(vv, xs)
    assert np.signbit(vv[0]) and not np.signbit(kk[0])


def test_integer_plus_zero_and_times_one():
    x, = inputs_of((5,), dtype="int32")
    b = GradBuilder()
    v = b.op("_plus_scalar", b.op("_mul_scalar", x, scalar=1.0), scalar=0.0)
    v = b.op("elemwise_add", b.op("_zeros", shape=(5,), dtype="int32"), v)
    g = Graph([x], [v], b.nodes)
    xs = np.array([-3, 0, 7, 2**31 - 1, -2**31], np.int32)
    s, (vv,) = check(g, [xs], nodes=0)
    np.testing.assert_array_equal(vv, xs)


def test_transposes_compose_or_vanish():
    x, y = inputs_of((3, 4), (2, 3, 4))
    b = GradBuilder()
    back = b.op("transpose", b.op("transpose", x))
    t = b.op("SwapAxis", b.op("transpose", y, axes=(1, 2, 0)), dim1=0, dim2=2)
    t = b.op("transpose", t, axes=(2, 0, 1))
    g = Graph([x, y], [back, t], b.nodes)
    xs, ys = rand(3, 4), rand(2, 3, 4, seed=1)
    s, (bb, tt) = check(g, [xs, ys], nodes=1)
    assert ops(s) == ["transpose"]
    np.testing.assert_array_equal(bb, xs)
    np.testing.assert_array_equal(tt, ys.transpose(1, 2, 0).swapaxes(0, 2).transpose(2, 0, 1))


def test_reshape_chains_become_one_reshape_or_none():
    x, = inputs_of((3, 4))
    b = GradBuilder()
    r = b.op("Reshape", b.op("Reshape", b.op("expand_dims", x, axis=0), shape=(12,)), shape=(2, 6))
    same = b.op("squeeze", b.op("expand_dims", b.op("Flatten", x), axis=1))
    g = Graph([x], [r, same], b.nodes)
    xs = rand(3, 4)
    s, (rr, ss) = check(g, [xs], nodes=1)
    assert ops(s) == ["Reshape"] and s.outputs[1] is x
    np.testing.assert_array_equal(rr, xs.reshape(2, 6))


def test_copies_blockgrad_makeloss_cast_and_inference_dropout_go():
    x, = inputs_of((2, 5))
    b = GradBuilder()
    v = b.op("identity", b.op("_copy", x))
    v = b.op("MakeLoss", b.op("BlockGrad", v))
    v = b.op("Cast", v, dtype="float32")
    d, mask = b.op("Dropout", v, p=0.5, _train=False)
    g = Graph([x], [d, mask], b.nodes)
    s, (dd, mm) = check(g, [rand(2, 5)], nodes=1)
    assert s.outputs[0] is x and ops(s) == ["_ones"]
    assert (mm == 1).all()


def test_rules_run_alone():
    x, = inputs_of((3,))
    b = GradBuilder()
    out = b.op("elemwise_add", b.op("exp", x), b.op("exp", x))
    g = Graph([x], [out], b.nodes)
    only_cse = [r for r in RULES if r[0] == "cse"]
    assert len(simplify(g, rules=only_cse).nodes) == 2
    assert len(simplify(g, rules=[]).nodes) == 3
    assert len(g.nodes) == 3  # the pass is pure


@pytest.mark.parametrize("shape,axis", [((7, 33), 1), ((4, 5, 6), 1), ((3, 9), -2), ((2, 3, 40), 2)])
def test_written_out_softmax_and_log_softmax_become_one_op(shape, axis):
    """exp(x - max) / sum(exp(x - max)) and (x - max) - log(sum(exp(x - max))), written with
    separate (even duplicated) ops, become softmax / log_softmax: one kernel, one read of x."""
    x, = inputs_of(shape)
    b = GradBuilder()
    d = b.op("broadcast_sub", x, b.op("max", x, axis=axis, keepdims=True))
    e1, e2 = b.op("exp", d), b.op("exp", b.op("broadcast_sub", x, b.op("max", x, axis=axis, keepdims=True)))
    sm = b.op("broadcast_div", e1, b.op("sum", e2, axis=axis, keepdims=True))
    lsm = b.op("broadcast_sub", d, b.op("log", b.op("sum", b.op("exp", d), axis=axis, keepdims=True)))
    g = Graph([x], [sm, lsm], b.nodes)
    xs = np.random.default_rng(2).normal(0, 3, shape).astype(np.float32)
    s, (a, la) = check(g, [xs], nodes=2, exact=False)
    assert sorted(ops(s)) == ["log_softmax", "softmax"]
    x64 = xs.astype(np.float64)
    ref = np.exp(x64 - x64.max(axis, keepdims=True))
    np.testing.assert_allclose(a, ref / ref.sum(axis, keepdims=True), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(la, np.log(ref / ref.sum(axis, keepdims=True)), rtol=1e-5, atol=1e-5)


def test_softmax_pattern_needs_the_same_axis_and_keepdims():
    x, = inputs_of((4, 6))
    b = GradBuilder()
    e = b.op("exp", b.op("broadcast_sub", x, b.op("max", x, axis=1, keepdims=True)))
    y = b.op("broadcast_div", e, b.op("sum", e, axis=0, keepdims=True))  # normalized along the other axis
    s, _ = check(Graph([x], [y], b.nodes), [rand(4, 6)], exact=False)
    assert "softmax" not in ops(s)


# ---- random elementwise graphs ---------------------------------------------------------------------
UNARY = ("negative", "tanh", "sigmoid", "_copy", "BlockGrad", "abs", "zeros_like", "ones_like")
SCALAR = (("_mul_scalar", 1.0), ("_mul_scalar", 0.5), ("_div_scalar", 1.0), ("_div_scalar", 2.0),
          ("_plus_scalar", 0.0), ("_plus_scalar", -0.0), ("_plus_scalar", 1.5), ("_minus_scalar", 0.0),
          ("_rminus_scalar", 1.0))
BINARY = ("elemwise_add", "elemwise_sub", "elemwise_mul", "broadcast_add", "broadcast_mul")


@settings(max_examples=12, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_random_elementwise_graphs_equal_with_pass_on_and_off(data):
    x, y = inputs_of((3, 4), (3, 4))
    b = GradBuilder()
    pool = [x, y]
    for _ in range(data.draw(st.integers(3, 14))):
        kind = data.draw(st.sampled_from(["unary", "scalar", "binary", "const", "reshape", "transpose"]))
        a = data.draw(st.sampled_from(pool))
        if kind == "unary":
            v = b.op(data.draw(st.sampled_from(UNARY)), a)
        elif kind == "scalar":
            name, s = data.draw(st.sampled_from(SCALAR))
            v = b.op(name, a, scalar=s)
        elif kind == "binary":
            v = b.op(data.draw(st.sampled_from(BINARY)), a, data.draw(st.sampled_from(pool)))
        elif kind == "const":
            v = b.op("_full", shape=(3, 4), value=data.draw(st.sampled_from([0.0, 1.0, 2.0, -0.5])))
        elif kind == "reshape":
            v = b.op("Reshape", b.op("Reshape", a, shape=(12,)), shape=(3, 4))
        else:
            v = b.op("transpose", b.op("transpose", a))
        pool.append(v)
    outs = [pool[-1], data.draw(st.sampled_from(pool))]
    g = Graph([x, y], outs, b.nodes)
    s = verify(simplify(g))
    assert len(s.nodes) <= len(g.nodes)
    xs = [rand(3, 4, seed=1) - 1, rand(3, 4, seed=2)]
    for a, c in zip(run(g, xs, False), run(g, xs, True)):
        np.testing.assert_allclose(a, c, rtol=1e-5, atol=1e-6)


# ---- the pipeline, the executor's two stages, LeNet -------------------------------------------------
def test_pipeline_runs_simplify_and_the_switch_turns_it_off(monkeypatch):
    def build():
        x, = inputs_of((3, 4))
        b = GradBuilder()
        b.op("sort", x)  # dead
        return Graph([x], [b.op("_plus_scalar", x, scalar=2.0)], b.nodes)

    assert "simplify" in [name for name, _ in pipeline.PIPELINE]
    monkeypatch.setenv("MXCC_DISABLE_PASSES", "simplify")
    assert "simplify" in pipeline.disabled()
    assert "sort" in ops(pipeline.run_pipeline(build()))
    monkeypatch.setenv("MXCC_DISABLE_PASSES", "")
    assert "sort" not in ops(pipeline.run_pipeline(build()))


def _mlp_grads(monkeypatch, off):
    monkeypatch.setenv("MXCC_DISABLE_PASSES", "simplify" if off else "")
    data = mx.sym.Variable("data")
    h = mx.sym.Activation(mx.sym.FullyConnected(data, num_hidden=6, name="fc1"), act_type="relu")
    h = h + mx.sym.BlockGrad(h) * 0.5
    out = mx.sym.SoftmaxOutput(mx.sym.FullyConnected(h, num_hidden=3, name="fc2"), name="softmax")
    reqs = {"fc1_weight": "add", "fc1_bias": "write", "fc2_weight": "write", "fc2_bias": "write"}
    exe = out.simple_bind(mx.cpu(), grad_req=reqs, data=(4, 5), softmax_label=(4,))
    rng = np.random.default_rng(0)
    for name, arr in exe.arg_dict.items():
        if name == "softmax_label":
            vals = np.array([0, 2, 1, 2], np.float32)
        else:
            vals = rng.uniform(-0.5, 0.5, arr.shape).astype(np.float32)
        mx.nd.array(vals).copyto(arr)
    for _ in range(2):  # 'add' accumulates over both backward calls
        exe.forward(is_train=True)
        exe.backward()
    return [exe.outputs[0].asnumpy()] + [exe.grad_dict[n].asnumpy() for n in sorted(reqs)]


def test_executor_forward_backward_stages_survive(monkeypatch):
    for a, b in zip(_mlp_grads(monkeypatch, True), _mlp_grads(monkeypatch, False)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.fixture(scope="module")
def lenet_training_graph():
    sym = lenet()
    arg_shapes, _, _ = sym.infer_shape(data=(4, 1, 28, 28), softmax_label=(4,))
    shapes = dict(zip(sym.list_arguments(), arg_shapes))
    low = lower_symbol(sym, shapes, train=True)
    g = low.graph
    params = [v for n, v in zip(low.arg_names, g.inputs) if n not in ("data", "softmax_label")]
    return autodiff(g, params), low.arg_names, shapes


def test_lenet_training_graph_same_outputs_and_gradients(lenet_training_graph):
    g, names, shapes = lenet_training_graph
    s = verify(simplify(g))
    print(f"LeNet training graph: {len(g.nodes)} nodes -> {len(s.nodes)} after simplify")
    assert len(s.nodes) < len(g.nodes)
    # the first Convolution's data gradient (a Deconvolution) was computed and thrown away
    assert ops(g).count("Deconvolution") == 2 and ops(s).count("Deconvolution") == 1
    rng = np.random.default_rng(0)
    xs = []
    for n in names:
        if n == "softmax_label":
            xs.append(rng.integers(0, 10, shapes[n]).astype(np.float32))
        else:
            xs.append(rng.uniform(-0.2, 0.2, shapes[n]).astype(np.float32))
    xs += [np.ones(v.type.shape, np.float32) for v in g.inputs[len(names):]]
    off, on = run(g, xs, False), run(g, xs, True)
    assert len(on) == 1 + 8
    for a, c in zip(off, on):
        np.testing.assert_allclose(a, c, rtol=1e-5, atol=1e-7)


def test_backward_pass_through_goes_and_forward_backward_entries_still_split():
    """autodiff of y = exp(x) * x + sin(x): add's backward copies (out_grad -> lhs/rhs) are removed;
    the head gradient stays a late input, so `forward` and `backward` still run separately."""
    x, = inputs_of((5,), dtype="float64")
    b = GradBuilder()
    e = b.op("exp", x)
    y = b.op("elemwise_add", b.op("elemwise_mul", e, x), b.op("sin", x))
    g = autodiff(Graph([x], [y], b.nodes), [x])
    s = verify(simplify(g))
    assert len(s.nodes) == len(g.nodes) - 2 and s.inputs == g.inputs
    head = g.inputs[1]
    prog = CompiledGraph(g, passes=ON, late_inputs=[head])
    xv, hv = np.linspace(-1, 1, 5), np.linspace(0.5, 2, 5)
    out, dx = np.zeros(5), np.zeros(5)
    prog.set_io([a.ctypes.data for a in (xv, hv, out, dx)])
    prog.entry("forward")()
    np.testing.assert_allclose(out, np.exp(xv) * xv + np.sin(xv), rtol=1e-12)
    assert (dx == 0).all()  # every gradient node waits for the head gradient
    prog.entry("backward")()
    np.testing.assert_allclose(dx, hv * (np.exp(xv) * (1 + xv) + np.cos(xv)), rtol=1e-12)
