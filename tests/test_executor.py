"""Executor: simple_bind / bind, forward / backward, grad_req write / add / null, reshape."""
import numpy as np
import pytest

import mxcc as mx
from mxcc.ir.errors import MXNetError


def net():
    x, w = mx.sym.Variable("x"), mx.sym.Variable("w")
    return mx.sym.tanh(x * w) * 2


def test_simple_bind_forward_backward_against_numpy():
    exe = net().simple_bind(mx.cpu(), x=(4, 3), w=(4, 3))
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((4, 3)).astype(np.float32), rng.standard_normal((4, 3)).astype(np.float32)
    out = exe.forward(is_train=True, x=x, w=w)[0].asnumpy()
    np.testing.assert_allclose(out, np.tanh(x.astype(np.float64) * w) * 2, rtol=1e-5)
    head = rng.standard_normal((4, 3)).astype(np.float32)
    exe.backward(mx.nd.array(head))
    d = head * 2 * (1 - np.tanh(x.astype(np.float64) * w) ** 2)
    np.testing.assert_allclose(exe.grad_dict["w"].asnumpy(), d * x, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(exe.grad_dict["x"].asnumpy(), d * w, rtol=1e-4, atol=1e-6)
    assert set(exe.output_dict) == {"_mulscalar0_output"} or len(exe.output_dict) == 1
    # inference reuses the bound arrays
    out2 = exe.forward(x=x * 0.5)[0].asnumpy()
    np.testing.assert_allclose(out2, np.tanh(0.5 * x.astype(np.float64) * w) * 2, rtol=1e-5)


def test_grad_req_add_accumulates_and_null_skips():
    s = net()
    exe = s.simple_bind(mx.cpu(), grad_req={"w": "add"}, x=(2, 2), w=(2, 2))
    assert "x" not in exe.grad_dict
    x = np.array([[1.0, 2], [3, 4]], np.float32)
    w = np.array([[0.1, 0.2], [0.3, 0.4]], np.float32)
    for _ in range(3):
        exe.forward(is_train=True, x=x, w=w)
        exe.backward(mx.nd.ones((2, 2)))
    one = 2 * (1 - np.tanh(x.astype(np.float64) * w) ** 2) * x
    np.testing.assert_allclose(exe.grad_dict["w"].asnumpy(), 3 * one, rtol=1e-4)


def test_bind_with_lists_and_errors():
    s = net()
    args = [mx.nd.ones((2, 2)), mx.nd.ones((2, 2))]
    grads = [mx.nd.zeros((2, 2)), mx.nd.zeros((2, 2))]
    exe = s.bind(mx.cpu(), args, args_grad=grads)
    exe.forward(is_train=True)
    exe.backward(mx.nd.ones((2, 2)))
    np.testing.assert_allclose(grads[1].asnumpy(), np.full((2, 2), 2 * (1 - np.tanh(1.0) ** 2)), rtol=1e-5)
    with pytest.raises(MXNetError, match="missing arrays"):
        s.bind(mx.cpu(), {"x": mx.nd.ones((2, 2))})
    with pytest.raises(MXNetError, match="forward"):
        s.simple_bind(mx.cpu(), x=(2, 2), w=(2, 2)).backward()
    with pytest.raises(ValueError, match="grad_req"):
        s.simple_bind(mx.cpu(), grad_req="sometimes", x=(2, 2), w=(2, 2))
    with pytest.raises(MXNetError, match="cannot infer"):
        s.simple_bind(mx.cpu(), x=(2, 2))
    exe2 = s.simple_bind(mx.cpu(), x=(2, 2), w=(2, 2))
    with pytest.raises(ValueError, match="bound with"):
        exe2.forward(x=np.ones((3, 3), np.float32))


def test_reshape_shares_parameters():
    x, w = mx.sym.Variable("x"), mx.sym.Variable("w")
    s = mx.sym.broadcast_mul(x, w)
    exe = s.simple_bind(mx.cpu(), x=(2, 3), w=(1, 3))
    exe.arg_dict["w"][:] = np.array([[1.0, 2, 3]], np.float32)
    small = exe.reshape(x=(5, 3))
    assert small.arg_dict["w"] is exe.arg_dict["w"]
    out = small.forward(x=np.ones((5, 3), np.float32))[0].asnumpy()
    np.testing.assert_array_equal(out, np.tile([1.0, 2, 3], (5, 1)))


def test_programs_are_cached_across_executors():
    s = net()
    a = s.simple_bind(mx.cpu(), x=(3, 3), w=(3, 3))
    a.forward()
    before = mx.runtime.stats()["kernels_compiled"]
    b = s.simple_bind(mx.cpu(), x=(3, 3), w=(3, 3))
    b.forward()
    mx.nd.waitall()
    assert mx.runtime.stats()["kernels_compiled"] == before
