"""passes/plan_memory.py: liveness, in-place reuse and buffer sharing keep every result equal.

Each check runs the same graph with the pass on and off (MXCC_DISABLE_PASSES=plan_memory
falls back to emit's naive layout) and compares outputs and gradients; the planned arena
must be smaller than the naive one.
"""
import logging

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nets import lenet

import mxcc as mx
from mxcc import codegen, passes
from mxcc.compiled import CompiledGraph
from mxcc.ir import Graph, Node, TensorType, Value
from mxcc.passes.autodiff import autodiff
from mxcc.passes.infer_types import infer_types
from mxcc.passes.plan_memory import _inplace, make_plan, plan_memory

U = [TensorType(None)]
ONLY = [("infer_types", infer_types), ("plan_memory", plan_memory)]  # the plan alone, no fusion


def _plan(graph):
    return passes.run_pipeline(graph, ONLY)


def _node(op, inputs, **attrs):
    return Node(op, attrs, list(inputs), U)


def _chain(shape=(64, 100), n=6):
    x = Value(TensorType(shape), "x")
    v, ops = x, ["exp", "sin", "tanh", "sigmoid", "cos", "negative", "square", "abs"]
    for k in range(n):
        v = _node(ops[k % len(ops)], [v]).outputs[0]
    return Graph([x], [v])


def _ref_chain(x, n=6):
    fns = [np.exp, np.sin, np.tanh, lambda a: 1 / (1 + np.exp(-a)), np.cos, np.negative, np.square, np.abs]
    y = x.astype(np.float64)
    for k in range(n):
        y = fns[k % len(fns)](y)
    return y


def _off(monkeypatch):
    monkeypatch.setenv("MXCC_DISABLE_PASSES", "plan_memory")


def test_chain_runs_in_place_in_one_slot():
    g = _plan(_chain())
    plan = g.memory_plan
    slot = 64 * 100 * 4
    assert plan["naive_bytes"] == 5 * slot and plan["planned_bytes"] == slot
    assert plan["inplace"] == 4
    gp = codegen.emit(g, "c")
    assert gp.planned and gp.arena_bytes == slot and gp.naive_bytes == 5 * slot
    x = np.random.default_rng(0).standard_normal((64, 100)).astype(np.float32)
    (y,) = CompiledGraph(_chain(), passes=ONLY)(x)
    np.testing.assert_allclose(y, _ref_chain(x), rtol=1e-5, atol=1e-6)


def test_disabled_pass_gives_naive_layout_and_same_result(monkeypatch):
    x = np.random.default_rng(1).standard_normal((64, 100)).astype(np.float32)
    on = CompiledGraph(_chain(), passes=ONLY)
    (y_on,) = on(x)
    _off(monkeypatch)
    off = CompiledGraph(_chain(), passes=ONLY)
    (y_off,) = off(x)
    assert not off.gp.planned and off.gp.arena_bytes == off.gp.naive_bytes == 5 * 64 * 100 * 4
    assert on.gp.arena_bytes < off.gp.arena_bytes
    np.testing.assert_array_equal(y_on, y_off)


def test_sharing_without_in_place():
    """A chain of softmaxes (not an elementwise kernel: never in place) still shares: two slots
    ping-pong."""
    x = Value(TensorType((32, 48), "float64"), "x")
    v = x
    for _ in range(5):
        v = _node("softmax", [v]).outputs[0]
    g = _plan(Graph([x], [v]))
    plan = g.memory_plan
    assert plan["inplace"] == 0
    assert plan["planned_bytes"] == 2 * 32 * 48 * 8 < plan["naive_bytes"] == 4 * 32 * 48 * 8
    xv = np.random.default_rng(7).standard_normal((32, 48))
    (y,) = CompiledGraph(Graph([x], [v]), passes=ONLY)(xv)
    ref = xv
    for _ in range(5):
        e = np.exp(ref - ref.max(-1, keepdims=True))
        ref = e / e.sum(-1, keepdims=True)
    np.testing.assert_allclose(y, ref, rtol=1e-12)


def test_inplace_rules():
    x = Value(TensorType((4, 5)), "x")
    b = Value(TensorType((5,)), "b")
    g = _plan(Graph([x, b], [
        _node("exp", [x]).outputs[0],
        _node("transpose", [x]).outputs[0],
        _node("broadcast_add", [x, b]).outputs[0],
        _node("Cast", [x], dtype="float64").outputs[0],
        _node("Cast", [x], dtype="int32").outputs[0],
        _node("elemwise_mul", [x, x]).outputs[0],
        _node("slice_axis", [x], axis=1, begin=1, end=3).outputs[0],
    ]))
    exp, tr, badd, c64, c32, sq, sl = g.nodes
    assert _inplace(exp) == [(0, 0)]
    assert _inplace(tr) == []  # a strided read
    assert _inplace(badd) == [(0, 0)]  # x has the output's shape; b is broadcast
    assert _inplace(c64) == []  # wider output
    assert _inplace(c32) == [(0, 0)]  # same element size
    assert _inplace(sq) == [(0, 0), (0, 1)]
    assert _inplace(sl) == []


def test_fused_kernel_writes_over_dying_input():
    """softmax -> (exp, sin: one fused kernel) -> softmax: the fused output takes the first
    softmax's storage."""
    x = Value(TensorType((16, 24), "float64"), "x")
    s1 = _node("softmax", [x]).outputs[0]
    t = _node("sin", [_node("exp", [s1]).outputs[0]]).outputs[0]
    graph = Graph([x], [_node("softmax", [t]).outputs[0]])
    g = passes.run_pipeline(graph)
    if "_fused_elementwise" not in [n.op for n in g.nodes]:
        pytest.skip("the fuse pass is off")
    assert g.memory_plan["inplace"] == 1 and g.memory_plan["planned_bytes"] == 16 * 24 * 8
    xv = np.random.default_rng(8).standard_normal((16, 24))
    (y,) = CompiledGraph(graph)(xv)

    def softmax(a):
        e = np.exp(a - a.max(-1, keepdims=True))
        return e / e.sum(-1, keepdims=True)
    np.testing.assert_allclose(y, softmax(np.sin(np.exp(softmax(xv)))), rtol=1e-12)


def test_value_read_later_is_not_overwritten():
    """exp(x) is read by the last node: sin's output may not take its storage."""
    x = Value(TensorType((16, 16)), "x")
    e = _node("exp", [x]).outputs[0]
    s = _node("sin", [e]).outputs[0]
    c = _node("cos", [s]).outputs[0]
    out = _node("elemwise_add", [c, e]).outputs[0]
    graph = Graph([x], [out])
    g = _plan(graph)
    offs = g.memory_plan["offsets"]
    assert offs[e.id] != offs[s.id] and offs[e.id] != offs[c.id]
    xv = np.random.default_rng(2).standard_normal((16, 16)).astype(np.float32)
    (y,) = CompiledGraph(graph, passes=ONLY)(xv)
    ref = np.cos(np.sin(np.exp(xv.astype(np.float64)))) + np.exp(xv.astype(np.float64))
    np.testing.assert_allclose(y, ref, rtol=1e-5)


UNARY = ["exp", "sin", "tanh", "negative", "relu", "sigmoid", "square"]
BINARY = ["elemwise_add", "elemwise_mul", "elemwise_sub", "broadcast_add", "broadcast_mul"]


@st.composite
def random_graphs(draw):
    rows, cols = draw(st.integers(1, 5)), draw(st.integers(1, 6))
    ins = [Value(TensorType((rows, cols), "float64"), f"x{k}") for k in range(draw(st.integers(1, 3)))]
    row = Value(TensorType((1, cols), "float64"), "r")
    pool = list(ins)
    for _ in range(draw(st.integers(2, 12))):
        kind = draw(st.sampled_from(["u", "b", "b", "bc", "t"]))
        a = draw(st.sampled_from(pool))
        if kind == "u":
            v = _node(draw(st.sampled_from(UNARY)), [a]).outputs[0]
        elif kind == "b":
            v = _node(draw(st.sampled_from(BINARY)), [a, draw(st.sampled_from(pool))]).outputs[0]
        elif kind == "bc":
            v = _node("broadcast_add", [a, row]).outputs[0]
        else:
            v = _node("transpose", [_node("transpose", [a]).outputs[0]]).outputs[0]
        pool.append(v)
    made = pool[len(ins):]
    outs = [made[-1]] + draw(st.lists(st.sampled_from(made), max_size=2))
    return Graph(ins + [row], outs)


NO_PLAN = [p for p in passes.PIPELINE if p[0] != "plan_memory"]


def _run_both(graph, inputs):
    """Full pipeline vs the same without plan_memory, and the plan alone (no fusion: more
    intermediates) vs type inference alone."""
    res = []
    for pipeline in (None, NO_PLAN, ONLY, ONLY[:1]):
        prog = CompiledGraph(Graph(graph.inputs, graph.outputs, list(graph.nodes)), passes=pipeline)
        assert prog.gp.planned == (pipeline in (None, ONLY))
        res.append(prog(*inputs))
    return res


@settings(max_examples=15, deadline=None, derandomize=True)  # the same graphs each run: cached
@given(random_graphs(), st.integers(0, 2**31 - 1))
def test_random_graphs_same_outputs_and_gradients(graph, seed):
    rng = np.random.default_rng(seed)
    xs = [rng.uniform(-1, 1, v.type.shape) for v in graph.inputs]
    runs = _run_both(graph, xs)
    for other in runs[1:]:
        for a, b in zip(runs[0], other):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-12)
    g2 = autodiff(passes.run_pipeline(Graph(graph.inputs, graph.outputs)), list(graph.inputs))
    heads = [rng.uniform(-1, 1, v.type.shape) for v in g2.inputs[len(graph.inputs):]]
    runs = _run_both(g2, xs + heads)
    for other in runs[1:]:
        for a, b in zip(runs[0], other):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-12)


def _split_program(graph, heads, pipeline):
    g = Graph(graph.inputs, graph.outputs, list(graph.nodes))
    g.late_inputs = list(heads)
    return CompiledGraph(g, late_inputs=heads, passes=pipeline)


def _run_split(prog, inputs, backward_twice=False):
    outs = [np.empty(v.type.shape, v.type.dtype) for v in prog.graph.outputs]
    ins = [np.ascontiguousarray(x, dtype=v.type.dtype) for x, v in zip(inputs, prog.graph.inputs)]
    prog.set_io([a.ctypes.data for a in ins] + [o.ctypes.data for o in outs])
    prog.entry("forward")()
    prog.entry("backward")()
    if backward_twice:
        first = [o.copy() for o in outs]
        prog.entry("backward")()
        for a, b in zip(first, outs):
            np.testing.assert_array_equal(a, b)
    return outs


def test_forward_backward_split_keeps_forward_values(monkeypatch):
    """Head gradients arrive late: forward values read by backward survive the split, and a
    second backward() after one forward() gives the same gradients."""
    x = Value(TensorType((8, 32), "float64"), "x")
    w = Value(TensorType((8, 32), "float64"), "w")
    h = _node("tanh", [_node("elemwise_mul", [x, w]).outputs[0]]).outputs[0]
    y = _node("sigmoid", [_node("exp", [h]).outputs[0]]).outputs[0]
    z = _node("elemwise_mul", [_node("sin", [y]).outputs[0], h]).outputs[0]
    g = autodiff(_plan(Graph([x, w], [z])), [x, w])
    heads = g.inputs[2:]
    rng = np.random.default_rng(3)
    vals = [rng.uniform(-1, 1, (8, 32)) for _ in range(3)]
    on = _split_program(g, heads, ONLY)
    assert on.gp.planned and on.gp.arena_bytes < on.gp.naive_bytes
    r_on = _run_split(on, vals, backward_twice=True)
    full = _split_program(g, heads, None)
    r_full = _run_split(full, vals, backward_twice=True)
    _off(monkeypatch)
    off = _split_program(g, heads, ONLY)
    assert not off.gp.planned
    r_off = _run_split(off, vals)
    for a, b, c in zip(r_on, r_off, r_full):
        np.testing.assert_allclose(a, b, rtol=1e-12)
        np.testing.assert_allclose(a, c, rtol=1e-12)
    # against numpy
    xv, wv, hv = vals
    t = np.tanh(xv * wv)
    yy = 1 / (1 + np.exp(-np.exp(t)))
    np.testing.assert_allclose(r_on[0], np.sin(yy) * t, rtol=1e-12)
    dt = hv * np.sin(yy) + hv * t * np.cos(yy) * yy * (1 - yy) * np.exp(t)
    np.testing.assert_allclose(r_on[1], dt * (1 - t * t) * wv, rtol=1e-10)


def test_plan_without_known_types_is_skipped():
    g = _chain()
    assert make_plan(g) is None
    assert plan_memory(g) is g and not hasattr(g, "memory_plan")


def _typed(op, inputs, **attrs):
    from mxcc.ir import registry
    opdef = registry.get(op)
    return Node(op, attrs, list(inputs), opdef.infer_types([v.type for v in inputs], opdef.parse_attrs(attrs)))


@pytest.mark.parametrize("pool_type,kernel,inplace", [("max", (2, 2), True), ("avg", (2, 2), True),
                                                      ("max", (3, 3), False), ("sum", (2, 2), True)])
def test_pool_backward_over_its_input(pool_type, kernel, inplace):
    """dx = pool'(dy, x, y) takes x's bytes when x dies there and the windows are 2x2 / stride 2
    (the pool family's tiled backward reads a window of x before writing it); max ties included."""
    x, dy = Value(TensorType((3, 4, 12, 12)), "x"), Value(TensorType((3, 4, 12 // kernel[0], 12 // kernel[1])), "dy")
    t = _typed("exp", [x]).outputs[0]
    y = _typed("Pooling", [t], pool_type=pool_type, kernel=kernel, stride=kernel).outputs[0]
    dx = _typed("_backward_Pooling", [dy, t, y], pool_type=pool_type, kernel=kernel, stride=kernel).outputs[0]
    g = Graph([x, dy], [y, _typed("negative", [dx]).outputs[0]])
    plan = _plan(g).memory_plan
    bwd = next(n for n in _plan(g).nodes if n.op == "_backward_Pooling")
    assert (plan["offsets"][bwd.outputs[0].id] == plan["offsets"][bwd.inputs[1].id]) == inplace
    xs = np.round(np.random.default_rng(0).uniform(-1, 1, (3, 4, 12, 12)), 1).astype(np.float32)  # ties
    dys = np.random.default_rng(1).uniform(-1, 1, dy.type.shape).astype(np.float32)
    a = CompiledGraph(g, passes=ONLY)(xs, dys)
    b = CompiledGraph(g, passes=ONLY[:1])(xs, dys)
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)


def test_flatten_shares_its_input_while_both_are_read():
    """A copy (Flatten, Reshape) equals its input: one buffer serves both, however long each lives."""
    x = Value(TensorType((8, 4, 5)), "x")
    t = _typed("exp", [x]).outputs[0]
    f = _typed("Flatten", [t]).outputs[0]
    y = _typed("elemwise_add", [_typed("sum", [t], axis=(1, 2)).outputs[0], _typed("sum", [f], axis=1).outputs[0]])
    g = Graph([x], [y.outputs[0], _typed("tanh", [f]).outputs[0]])
    pg = _plan(g)
    plan = pg.memory_plan
    flat = next(n for n in pg.nodes if n.op == "Flatten")
    assert plan["offsets"][flat.outputs[0].id] == plan["offsets"][flat.inputs[0].id] and plan["aliased"] == 1
    xs = np.random.default_rng(0).uniform(-1, 1, (8, 4, 5)).astype(np.float32)
    for u, v in zip(CompiledGraph(g, passes=ONLY)(xs), CompiledGraph(g, passes=ONLY[:1])(xs)):
        np.testing.assert_array_equal(u, v)


# ---- LeNet through simple_bind ----------------------------------------------------------------------

def lenet_tanh():
    return lenet(lambda c: mx.sym.Activation(data=c, act_type="tanh"))


def _lenet_step(batch=64):
    ex = lenet_tanh().simple_bind(mx.cpu(), data=(batch, 1, 28, 28), softmax_label=(batch,))
    rng = np.random.default_rng(4)
    for name, arr in ex.arg_dict.items():
        if name == "data":
            arr[:] = rng.uniform(0, 1, arr.shape).astype(np.float32)
        elif name == "softmax_label":
            arr[:] = rng.integers(0, 10, arr.shape).astype(np.float32)
        else:
            arr[:] = rng.normal(0, 0.1, arr.shape).astype(np.float32)
    ex.forward(is_train=True)
    ex.backward()
    train = [ex.outputs[0].asnumpy()] + [g.asnumpy() for g in ex.grad_arrays if g is not None]
    infer = [o.asnumpy() for o in ex.forward(is_train=False)]
    return ex, train, infer


def test_lenet_training_and_inference_same_with_and_without_plan(monkeypatch):
    ex_on, train_on, infer_on = _lenet_step()
    _off(monkeypatch)
    ex_off, train_off, infer_off = _lenet_step()
    for a, b in zip(train_on + infer_on, train_off + infer_off):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
    p_train, p_infer = ex_on.memory_plan(), ex_on.memory_plan(is_train=False)
    assert p_train["program"] == "training" and p_infer["program"] == "inference"
    assert p_train["planned"] and p_infer["planned"]
    # issue 5's targets: conv + tanh + pool in one kernel (inference: conv1's output never exists),
    # the pool backward runs inside the Deconvolution and over conv1's output, Flatten shares bytes
    assert p_train["planned_bytes"] <= 0.5 * p_train["naive_bytes"]
    assert p_infer["planned_bytes"] <= 0.25 * p_infer["naive_bytes"]
    q_train, q_infer = ex_off.memory_plan(), ex_off.memory_plan(is_train=False)
    assert not q_train["planned"]
    # naive: the graph as it entered the passes, every intermediate its own slot; fusion alone
    # (plan_memory off) already keeps some of them in registers
    assert q_train["naive_bytes"] == p_train["naive_bytes"] and q_infer["naive_bytes"] == p_infer["naive_bytes"]
    assert q_train["planned_bytes"] < q_train["naive_bytes"] and q_infer["planned_bytes"] < q_infer["naive_bytes"]


def test_module_bind_logs_planned_arena(caplog):
    mod = mx.mod.Module(lenet_tanh(), context=mx.cpu())
    with caplog.at_level(logging.INFO):
        mod.bind(data_shapes=[("data", (8, 1, 28, 28))], label_shapes=[("softmax_label", (8,))])
    assert "Bound training graph: arena" in caplog.text and "without planning" in caplog.text


@pytest.mark.parametrize("is_train", [False, True])
def test_memory_plan_keys(is_train):
    ex = lenet_tanh().simple_bind(mx.cpu(), data=(2, 1, 28, 28), softmax_label=(2,))
    plan = ex.memory_plan(is_train=is_train)
    assert {"planned_bytes", "naive_bytes", "planned", "inplace", "program"} <= set(plan)
    assert 0 < plan["planned_bytes"] < plan["naive_bytes"]


def test_executor_backward_with_head_gradients(monkeypatch):
    """No loss layer: head gradients are late inputs, so backward() runs its own stage over the
    arena forward() left; results match the naive layout and numpy, also for a second backward()."""
    data = mx.sym.Variable("data")
    fc = mx.sym.FullyConnected(data=data, num_hidden=16, name="fc")
    out = mx.sym.Activation(mx.sym.Activation(fc, act_type="tanh"), act_type="sigmoid")
    rng = np.random.default_rng(5)
    x = rng.uniform(-1, 1, (8, 12)).astype(np.float32)
    w = rng.uniform(-0.5, 0.5, (16, 12)).astype(np.float32)
    b = rng.uniform(-0.5, 0.5, (16,)).astype(np.float32)
    head = rng.uniform(-1, 1, (8, 16)).astype(np.float32)
    results = []
    for disable in ("", "plan_memory"):
        monkeypatch.setenv("MXCC_DISABLE_PASSES", disable)
        ex = out.simple_bind(mx.cpu(), data=(8, 12))
        ex.arg_dict["data"][:] = x
        ex.arg_dict["fc_weight"][:] = w
        ex.arg_dict["fc_bias"][:] = b
        ex.forward(is_train=True)
        ex.backward(mx.nd.array(head))
        first = [ex.outputs[0].asnumpy()] + [ex.grad_dict[n].asnumpy() for n in ("data", "fc_weight", "fc_bias")]
        ex.backward(mx.nd.array(head))
        again = [ex.grad_dict[n].asnumpy() for n in ("data", "fc_weight", "fc_bias")]
        for a, c in zip(first[1:], again):
            np.testing.assert_array_equal(a, c)
        assert ex.memory_plan()["planned"] == (disable == "")
        results.append(first)
    for a, c in zip(*results):
        np.testing.assert_allclose(a, c, rtol=1e-5, atol=1e-7)
    t = np.tanh(x.astype(np.float64) @ w.T + b)
    s = 1 / (1 + np.exp(-t))
    dz = head * s * (1 - s) * (1 - t * t)
    np.testing.assert_allclose(results[0][0], s, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(results[0][1], dz @ w, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(results[0][2], dz.T @ x, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(results[0][3], dz.sum(0), rtol=1e-4, atol=1e-5)


def small_resnet():
    def conv_bn(x, name, relu):
        x = mx.sym.Convolution(data=x, num_filter=8, kernel=(3, 3), pad=(1, 1), no_bias=True, name=name + "_conv")
        x = mx.sym.BatchNorm(data=x, fix_gamma=False, name=name + "_bn")
        return mx.sym.Activation(data=x, act_type="relu", name=name + "_relu") if relu else x

    x = conv_bn(mx.sym.Variable("data"), "stem", True)
    for u in range(2):
        y = conv_bn(conv_bn(x, f"u{u}_a", True), f"u{u}_b", False)
        x = mx.sym.Activation(data=y + x, act_type="relu", name=f"u{u}_out")
    x = mx.sym.FullyConnected(data=mx.sym.Flatten(data=x), num_hidden=5, name="fc")
    return mx.sym.SoftmaxOutput(data=x, name="softmax")


def _train_step(sym, shape, **bind):
    ex = sym.simple_bind(mx.cpu(), data=shape, softmax_label=(shape[0],), **bind)
    rng = np.random.default_rng(6)
    for name, arr in ex.arg_dict.items():
        if name == "softmax_label":
            arr[:] = rng.integers(0, 5, arr.shape).astype(np.float32)
        elif name.endswith("_gamma"):
            arr[:] = rng.uniform(0.5, 1.5, arr.shape).astype(np.float32)
        else:
            arr[:] = rng.normal(0, 0.3, arr.shape).astype(np.float32)
    ex.forward(is_train=True)
    ex.backward()
    res = [ex.outputs[0].asnumpy()] + [g.asnumpy() for g in ex.grad_arrays if g is not None]
    res += [a.asnumpy() for a in ex.aux_arrays]
    return ex, res


def test_mirror_recomputes_and_keeps_results(monkeypatch):
    """Recomputing BatchNorm/relu outputs in backward: same outputs, gradients and moving
    statistics; a smaller training arena (the env var and the bind argument both switch it on)."""
    shape = (4, 3, 8, 8)
    ex_off, base = _train_step(small_resnet(), shape)
    ex_on, mirrored = _train_step(small_resnet(), shape, mirror=True)
    for a, b in zip(base, mirrored):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    p_off, p_on = ex_off.memory_plan(), ex_on.memory_plan()
    assert p_on["nodes"] > p_off["nodes"]  # the copies
    assert p_on["planned_bytes"] < p_off["planned_bytes"]
    monkeypatch.setenv("MXNET_BACKWARD_DO_MIRROR", "1")
    ex_env, env = _train_step(small_resnet(), shape)
    assert ex_env.memory_plan()["planned_bytes"] == p_on["planned_bytes"]
    for a, b in zip(base, env):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
