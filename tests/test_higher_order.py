"""autograd.grad(create_graph=True): second derivatives against float64 finite differences of the forward."""
import numpy as np
import pytest

import mxcc as mx
from mxcc.ir.errors import MXNetError
from mxcc.ir.ops.second_order import BINARY_GRAD2, SCALAR_GRAD2, UNARY_GRAD2

ag = mx.autograd
H = 1e-4

# input domains where f is smooth (away from kinks and poles)
DOMAIN = {"log": (0.5, 2), "log10": (0.5, 2), "log2": (0.5, 2), "log1p": (0.2, 2), "sqrt": (0.5, 2),
          "rsqrt": (0.5, 2), "cbrt": (0.5, 2), "arcsin": (-0.6, 0.6), "arccos": (-0.6, 0.6),
          "arctanh": (-0.6, 0.6), "arccosh": (1.5, 3), "reciprocal": (0.5, 2), "tan": (-1, 1),
          "abs": (0.3, 2), "relu": (0.3, 2), "softsign": (0.3, 2)}


def _nd(x):
    return mx.nd.array(x, dtype="float64")


def _second_derivative_fd(f, x0):
    """f'' by central second differences of mxcc's own float64 forward."""
    fx = [f(_nd(x0 + d)).asnumpy() for d in (H, 0.0, -H)]
    return (fx[0] - 2 * fx[1] + fx[2]) / (H * H)


def _second_derivative_ag(f, x0):
    x = _nd(x0)
    x.attach_grad()
    with ag.record():
        y = f(x)
        (g,) = ag.grad([y], [x], create_graph=True)
        z = mx.nd.sum(g)
    z.backward()
    return g, x.grad.asnumpy()


@pytest.mark.parametrize("name", sorted(UNARY_GRAD2))
def test_unary_second_derivatives(name):
    lo, hi = DOMAIN.get(name, (-1.5, 1.5))
    x0 = np.random.default_rng(0).uniform(lo, hi, 7)
    f = getattr(mx.nd, name)
    _, d2 = _second_derivative_ag(f, x0)
    np.testing.assert_allclose(d2, _second_derivative_fd(f, x0), rtol=2e-5, atol=2e-5)


@pytest.mark.parametrize("name", sorted(SCALAR_GRAD2))
def test_scalar_op_second_derivatives(name):
    scalar = 1.7
    f = lambda x: mx.nd.invoke_op(name, x, scalar=scalar) if hasattr(mx.nd, "invoke_op") else \
        getattr(mx.nd._internal, name)(x, scalar=scalar)
    x0 = np.random.default_rng(1).uniform(0.6, 1.9, 5)
    _, d2 = _second_derivative_ag(f, x0)
    np.testing.assert_allclose(d2, _second_derivative_fd(f, x0), rtol=2e-5, atol=2e-5)


@pytest.mark.parametrize("base", sorted(BINARY_GRAD2))
def test_binary_mixed_second_derivatives(base):
    """Hessian blocks of sum(f(x, w)) with broadcasting: d/dw of (d/dx), and d/dx of (d/dx)."""
    rng = np.random.default_rng(2)
    x0, w0 = rng.uniform(0.6, 1.9, (3, 4)), rng.uniform(0.6, 1.9, (1, 4))
    op = getattr(mx.nd, f"broadcast_{base}")
    x, w = _nd(x0), _nd(w0)
    x.attach_grad()
    w.attach_grad()
    with ag.record():
        y = op(x, w)
        gx = ag.grad([y], [x], create_graph=True)[0]
        z = mx.nd.sum(gx * gx)
    z.backward()

    def first(xv, wv):  # d sum(f) / dx by central differences, elementwise (f acts elementwise)
        return (op(_nd(xv + H), _nd(wv)).asnumpy() - op(_nd(xv - H), _nd(wv)).asnumpy()) / (2 * H)

    g0 = first(x0, w0)
    np.testing.assert_allclose(gx.asnumpy(), g0, rtol=1e-6, atol=1e-6)
    dgx = (first(x0 + H, w0) - first(x0 - H, w0)) / (2 * H)
    dgw = (first(x0, w0 + H) - first(x0, w0 - H)) / (2 * H)
    np.testing.assert_allclose(x.grad.asnumpy(), 2 * g0 * dgx, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(w.grad.asnumpy(), (2 * g0 * dgw).sum(axis=0, keepdims=True), rtol=1e-4, atol=1e-4)


def test_gradient_penalty_through_a_small_net():
    """d/dw of |d loss/dx|^2 for loss = sum(tanh(x w)): checked against finite differences over w."""
    rng = np.random.default_rng(3)
    x0, w0 = rng.normal(size=(2, 3)), rng.normal(size=(3, 2)) * 0.5

    def penalty(wv, want_grad=False):
        x, w = _nd(x0), _nd(wv)
        x.attach_grad()
        w.attach_grad()
        with ag.record():
            loss = mx.nd.sum(mx.nd.tanh(mx.nd.dot(x, w)))
            (gx,) = ag.grad([loss], [x], create_graph=True)
            p = mx.nd.sum(gx * gx)
        if want_grad:
            p.backward()
            return w.grad.asnumpy()
        return p.asscalar()

    got = penalty(w0, True)
    fd = np.zeros_like(w0)
    for i in np.ndindex(*w0.shape):
        e = np.zeros_like(w0)
        e[i] = H
        fd[i] = (penalty(w0 + e) - penalty(w0 - e)) / (2 * H)
    np.testing.assert_allclose(got, fd, rtol=1e-5, atol=1e-7)


def test_third_derivative_of_a_polynomial():
    x0 = np.array([0.5, -1.2, 2.0])
    x = _nd(x0)
    x.attach_grad()
    with ag.record():
        y = x * x * x * x
        (g1,) = ag.grad([y], [x], create_graph=True)
        (g2,) = ag.grad([g1], [x], create_graph=True)
    g2.backward()
    np.testing.assert_allclose(g1.asnumpy(), 4 * x0 ** 3, rtol=1e-12)
    np.testing.assert_allclose(g2.asnumpy(), 12 * x0 ** 2, rtol=1e-12)
    np.testing.assert_allclose(x.grad.asnumpy(), 24 * x0, rtol=1e-12)


def test_an_op_without_a_second_order_rule_is_a_clear_error():
    x = _nd(np.array([[0.3, -0.2, 0.9]]))
    x.attach_grad()
    with ag.record():
        y = mx.nd.softmax(x)
        with pytest.raises(MXNetError, match="create_graph=True.*no gradient rule"):
            ag.grad([y], [x], create_graph=True)


@pytest.mark.parametrize("kind", ["sum", "mean"])
def test_reductions_differentiate_twice(kind):
    x0 = np.random.default_rng(4).normal(size=(3, 5))
    x = _nd(x0)
    x.attach_grad()
    with ag.record():
        y = getattr(mx.nd, kind)(x * x, axis=1)
        (g,) = ag.grad([y], [x], create_graph=True)
        z = mx.nd.sum(g * g)
    z.backward()
    n = 5 if kind == "mean" else 1
    np.testing.assert_allclose(g.asnumpy(), 2 * x0 / n, rtol=1e-12)
    np.testing.assert_allclose(x.grad.asnumpy(), 8 * x0 / n ** 2, rtol=1e-12)
