"""Every differentiable op's gradient rule against float64 finite differences, and the pass itself."""
import numpy as np
import pytest
from gradcheck import check_grad

from mxcc import CompiledGraph
from mxcc.ir import Graph, Node, TensorType, Value, registry
from mxcc.ir.errors import MXNetError
from mxcc.ir.samples import find_sample
from mxcc.passes.autodiff import autodiff

# inputs kept inside each function's smooth domain
_DOMAIN = {"log": (0.5, 2), "log10": (0.5, 2), "log2": (0.5, 2), "log1p": (0.1, 2), "sqrt": (0.5, 2),
           "rsqrt": (0.5, 2), "cbrt": (0.5, 2), "rcbrt": (0.5, 2), "arcsin": (-0.8, 0.8), "arccos": (-0.8, 0.8),
           "arctanh": (-0.8, 0.8), "arccosh": (1.2, 3), "reciprocal": (0.5, 2), "_rdiv_scalar": (0.5, 2),
           "_power_scalar": (0.5, 2), "_rmod_scalar": (0.7, 0.9), "_mod_scalar": (0.1, 0.9),
           "broadcast_power": (0.5, 2), "broadcast_div": (0.5, 2), "elemwise_div": (0.5, 2),
           "broadcast_mod": (0.6, 0.9), "tan": (-1, 1)}
# step functions: zero gradient almost everywhere, finite differences agree away from the steps
_ATTRS = {"_mod_scalar": {"scalar": 1.0}, "_rmod_scalar": {"scalar": 2.0}, "clip": {"a_min": -0.5, "a_max": 0.5}}


def differentiable_ops():
    return sorted((op for op in registry.all_ops() if op.differentiable and op.grad is not None),
                  key=lambda o: o.name)


def _inputs_for(op):
    found, errors = find_sample(op)
    assert found is not None, errors
    in_types, attrs, _, _ = found
    lo, hi = _DOMAIN.get(op.name, (-2, 2))
    rng = np.random.default_rng(1)
    xs = []
    for t in in_types:
        if t.dtype.startswith("float"):
            x = rng.uniform(lo, hi, t.shape)
            if op.name == "broadcast_mod" and len(xs) == 1:
                x = rng.uniform(1.5, 1.9, t.shape)  # divisor away from the sawtooth's jumps
            xs.append(x)
        else:
            xs.append(rng.integers(0, 2, t.shape).astype(t.dtype))
    return xs, {**{k: v for k, v in attrs.items() if v is not None}, **_ATTRS.get(op.name, {})}


@pytest.mark.parametrize("op", differentiable_ops(), ids=lambda o: o.name)
def test_gradient_matches_finite_differences(op):
    xs, attrs = _inputs_for(op)
    check_grad(op.name, xs, attrs)


def test_broadcast_gradients_sum_back_to_input_shapes():
    rng = np.random.default_rng(0)
    check_grad("broadcast_mul", [rng.standard_normal((3, 1, 4)), rng.standard_normal((2, 1))])
    check_grad("broadcast_sub", [rng.standard_normal((4,)), rng.standard_normal((2, 3, 4))])


def test_chain_and_fan_out_accumulate():
    """y = exp(x) * x + sin(x): x is used three times; gradients add up."""
    x = Value(TensorType((5,), "float64"), "x")
    e = Node("exp", {}, [x], [TensorType((5,), "float64")])
    m = Node("elemwise_mul", {}, [e.outputs[0], x], [TensorType((5,), "float64")])
    s = Node("sin", {}, [x], [TensorType((5,), "float64")])
    a = Node("elemwise_add", {}, [m.outputs[0], s.outputs[0]], [TensorType((5,), "float64")])
    g = autodiff(Graph([x], a.outputs), [x])
    xv = np.linspace(-1, 1, 5)
    head = np.ones(5)
    _, dx = CompiledGraph(g)(xv, head)
    np.testing.assert_allclose(dx, np.exp(xv) * (1 + xv) + np.cos(xv), rtol=1e-12)


def test_unused_input_gets_zero_gradient_and_comparisons_stop_gradients():
    x, y = Value(TensorType((3,), "float64"), "x"), Value(TensorType((3,), "float64"), "y")
    gt = Node("broadcast_greater", {}, [x, y], [TensorType((3,), "float64")])
    m = Node("elemwise_mul", {}, [gt.outputs[0], x], [TensorType((3,), "float64")])
    g = autodiff(Graph([x, y], m.outputs), [x, y])
    xv, yv = np.array([1.0, 2, 3]), np.array([2.0, 1, 5])
    _, dx, dy = CompiledGraph(g)(xv, yv, np.ones(3))
    np.testing.assert_array_equal(dx, (xv > yv).astype(float))
    np.testing.assert_array_equal(dy, np.zeros(3))


def test_missing_rule_is_a_clear_error():
    op = next((o for o in registry.all_ops() if o.differentiable and o.grad is None and not o.variadic
               and find_sample(o)[0] is not None), None)
    if op is None:
        pytest.skip("every differentiable op has a gradient rule")
    in_types, attrs, out_types, _ = find_sample(op)[0]
    ins = [Value(t) for t in in_types]
    node = Node(op.name, {k: v for k, v in attrs.items() if v is not None}, ins, out_types, name="thenode")
    with pytest.raises(MXNetError, match=f"{op.name}.*thenode.*no gradient rule"):
        autodiff(Graph(ins, node.outputs), [v for v in ins if v.type.dtype.startswith("float")])
