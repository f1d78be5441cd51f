"""NDArray itself: attributes, conversions, copies, contexts, reshape codes, repr and operators."""
from __future__ import annotations

import operator
import pickle

import numpy as np
import pytest
from conftest import assert_close
from hypothesis import given
from hypothesis import strategies as st

import mxcc as mx


def _arange(shape, dtype="float32", start=1):
    n = int(np.prod(shape))
    return mx.nd.array(np.arange(start, start + n).reshape(shape), dtype=dtype)


# ---- attributes --------------------------------------------------------------------------------
def test_attributes():
    x = mx.nd.zeros((2, 3, 4), dtype="int32")
    assert x.shape == (2, 3, 4) and isinstance(x.shape, tuple)
    assert x.dtype is np.int32 and x.dtype == np.int32
    assert x.size == 24 and x.ndim == 3
    assert x.context == mx.cpu(0) and x.ctx == mx.cpu(0)
    assert x.stype == "default"
    assert isinstance(x.handle, int) and x.handle != 0
    assert len(x) == 2
    assert mx.nd.ones(()).ndim == 0 and mx.nd.ones(()).size == 1


def test_scalar_conversions():
    x = mx.nd.array([2.5])
    assert x.asscalar() == 2.5 and isinstance(x.asscalar(), np.float32)
    assert float(x) == 2.5 and int(x) == 2 and bool(x)
    assert not bool(mx.nd.zeros(1))
    assert not bool(mx.nd.zeros(0))
    with pytest.raises(ValueError):
        bool(mx.nd.ones(3))
    with pytest.raises(ValueError):
        mx.nd.ones(3).asscalar()
    with pytest.raises(TypeError):
        len(mx.nd.ones(()))
    i = mx.nd.array([3], dtype="int64")
    assert [10, 11, 12, 13][i] == 13  # __index__
    with pytest.raises(TypeError):
        [1, 2][mx.nd.array([1.0])]


def test_asnumpy_is_a_copy_and_np_asarray_works():
    x = _arange((2, 3))
    a = x.asnumpy()
    a[0, 0] = 100
    assert x.asnumpy()[0, 0] == 1
    assert np.asarray(x).tolist() == [[1, 2, 3], [4, 5, 6]]
    assert np.asarray(x, dtype=np.int64).dtype == np.int64


def test_iteration_yields_rows():
    x = _arange((3, 2))
    rows = [r.asnumpy().tolist() for r in x]
    assert rows == [[1, 2], [3, 4], [5, 6]]


def test_pickle_round_trip():
    x = _arange((2, 2), "float64")
    y = pickle.loads(pickle.dumps(x))
    assert y.dtype is np.float64 and y.context == x.context
    assert y.asnumpy().tolist() == x.asnumpy().tolist()


# ---- astype / copy / copyto / as_in_context ---------------------------------------------------------------
def test_astype():
    x = mx.nd.array([1.7, -2.2, 3.0])
    y = x.astype("int32")
    assert y.dtype is np.int32 and y.asnumpy().tolist() == [1, -2, 3]
    assert x.astype(np.float64).dtype is np.float64
    assert x.astype("float32", copy=False) is x
    z = x.astype("float32")
    assert z is not x and z._data is not x._data
    assert z.asnumpy().tolist() == x.asnumpy().tolist()
    with pytest.raises(TypeError):
        x.astype("complex128")


def test_copy_is_independent():
    x = _arange((2, 3))
    y = x.copy()
    y[:] = 0
    assert x.asnumpy().sum() == 21 and y.asnumpy().sum() == 0


def test_copyto_ndarray_and_context():
    x = _arange((2, 3))
    dst = mx.nd.zeros((2, 3))
    r = x.copyto(dst)
    assert r is dst and dst.asnumpy().tolist() == x.asnumpy().tolist()
    ints = mx.nd.zeros((2, 3), dtype="int64")
    x.copyto(ints)  # copies convert to the destination's dtype
    assert ints.dtype is np.int64 and ints.asnumpy().tolist() == [[1, 2, 3], [4, 5, 6]]
    other = x.copyto(mx.cpu(1))
    assert other.context == mx.cpu(1) and other.asnumpy().tolist() == x.asnumpy().tolist()
    assert x.copyto(x) is x
    with pytest.raises(ValueError, match="shape"):
        x.copyto(mx.nd.zeros((3, 2)))
    with pytest.raises(TypeError):
        x.copyto(np.zeros((2, 3)))


def test_as_in_context():
    x = _arange((2,))
    assert x.as_in_context(mx.cpu(0)) is x
    y = x.as_in_context(mx.cpu(3))
    assert y is not x and y.context == mx.cpu(3)
    assert y.asnumpy().tolist() == [1, 2]
    y[:] = 7
    assert x.asnumpy().tolist() == [1, 2]


# ---- contexts ---------------------------------------------------------------------------------------
def test_context_basics():
    assert mx.cpu() == mx.cpu(0) and mx.cpu(1) != mx.cpu(0)
    assert hash(mx.cpu(1)) == hash(mx.Context("cpu", 1))
    assert repr(mx.cpu(2)) == "cpu(2)" and str(mx.gpu(1)) == "gpu(1)"
    assert mx.cpu(1).device_type == "cpu" and mx.cpu(1).device_id == 1 and mx.cpu().device_typeid == 1
    assert mx.gpu().device_typeid == 2
    assert mx.Context(mx.cpu(4)) == mx.cpu(4)
    with pytest.raises(ValueError):
        mx.Context("tpu")


def test_context_manager_sets_and_restores_default():
    assert mx.current_context() == mx.cpu(0)
    with mx.cpu(1) as c:
        assert c == mx.cpu(1) and mx.current_context() == mx.cpu(1)
        assert mx.nd.zeros(2).context == mx.cpu(1)
        assert mx.nd.array([1, 2]).context == mx.cpu(1)
        with mx.cpu(2):
            assert mx.nd.ones(2).context == mx.cpu(2)
        assert mx.current_context() == mx.cpu(1)
        y = mx.nd.ones(2) + 1  # an op's output lives on its input's context
        assert y.context == mx.cpu(1)
    assert mx.current_context() == mx.cpu(0)
    with pytest.raises(RuntimeError):
        with mx.cpu(5):
            raise RuntimeError("boom")
    assert mx.current_context() == mx.cpu(0)


def test_same_context_object_entered_twice_and_from_threads():
    import threading

    c = mx.cpu(1)
    with c:
        with c:
            assert mx.current_context() == mx.cpu(1)
        assert mx.current_context() == mx.cpu(1)
    assert mx.current_context() == mx.cpu(0)
    seen = []

    def worker():
        seen.append(mx.current_context())  # each thread starts at cpu(0)
        with c:
            seen.append(mx.nd.zeros(1).context)
        seen.append(mx.current_context())

    with mx.cpu(2):
        t = threading.Thread(target=worker)
        t.start()
        t.join()
        assert mx.current_context() == mx.cpu(2)
    assert seen == [mx.cpu(0), mx.cpu(1), mx.cpu(0)]


def test_ops_on_another_cpu_context():
    with mx.cpu(1):
        x = mx.nd.array([1.0, 4.0, 9.0])
        y = mx.nd.sqrt(x) * 2
    assert y.context == mx.cpu(1)
    assert y.asnumpy().tolist() == [2.0, 4.0, 6.0]


# ---- reshape --------------------------------------------------------------------------------------
# MXNet's documented examples of the special codes
RESHAPE_CASES = [
    ((2, 3, 4), (4, 0, 2), False, (4, 3, 2)),
    ((2, 3, 4), (2, 0, 0), False, (2, 3, 4)),
    ((2, 3, 4), (6, 1, -1), False, (6, 1, 4)),
    ((2, 3, 4), (3, -1, 8), False, (3, 1, 8)),
    ((2, 3, 4), (-1,), False, (24,)),
    ((2, 3, 4), (-2,), False, (2, 3, 4)),
    ((2, 3, 4), (2, -2), False, (2, 3, 4)),
    ((2, 3, 4), (-2, 1, 1), False, (2, 3, 4, 1, 1)),
    ((2, 3, 4), (-3, 4), False, (6, 4)),
    ((2, 3, 4, 5), (-3, -3), False, (6, 20)),
    ((2, 3, 4), (0, -3), False, (2, 12)),
    ((2, 3, 4), (-3, -2), False, (6, 4)),
    ((2, 3, 4), (-4, 1, 2, -2), False, (1, 2, 3, 4)),
    ((2, 3, 4), (2, -4, -1, 3, -2), False, (2, 1, 3, 4)),
    ((10, 5, 4), (-1, 0), False, (40, 5)),
    ((10, 5, 4), (-1, 0), True, (50, 4)),
    ((2, 3, 4), (0, 0, -1), True, (2, 3, 4)),
    ((2, 3, 4), (-1, 12), True, (2, 12)),
    ((6, 4), (-4, 2, 3, 4), False, (2, 3, 4)),
    ((6, 4), (-4, -1, 3, 0), False, (2, 3, 4)),
    ((0, 4), (0, 2, 2), False, (0, 2, 2)),
]


@pytest.mark.parametrize("src,target,reverse,expected", RESHAPE_CASES)
def test_reshape_codes(src, target, reverse, expected):
    x = _arange(src)
    y = x.reshape(target, reverse=reverse)
    assert y.shape == expected
    assert y.asnumpy().ravel().tolist() == x.asnumpy().ravel().tolist()


def test_reshape_call_forms():
    x = _arange((2, 6))
    assert x.reshape(3, 4).shape == (3, 4)
    assert x.reshape((3, 4)).shape == (3, 4)
    assert x.reshape([4, 3]).shape == (4, 3)
    assert x.reshape(shape=(6, 2)).shape == (6, 2)
    assert x.reshape(-1).shape == (12,)
    assert x.reshape_like(mx.nd.zeros((4, 3))).shape == (4, 3)
    with pytest.raises(TypeError):
        x.reshape((3, 4), order="F")


def test_reshape_is_a_view():
    x = _arange((2, 3))
    y = x.reshape((3, 2))
    y[:] = 5
    assert x.asnumpy().tolist() == [[5, 5, 5], [5, 5, 5]]
    z = x.reshape(6)
    x[:] = 1
    assert z.asnumpy().tolist() == [1] * 6


@pytest.mark.parametrize("src,target", [
    ((2, 3), (4, 2)), ((2, 3), (-1, -1)), ((2, 3), (5, -1)), ((2, 3), (0, 0, 0)), ((2, 3), (-3, -3)),
    ((2, 3), (-4, 4, -1)), ((2, 3), (-4, -1, -1, 3)), ((2, 3), (-5,)),
])
def test_reshape_errors(src, target):
    with pytest.raises((ValueError, mx.MXNetError), match="reshape|Reshape"):
        _arange(src).reshape(target)


@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=4).map(tuple), data=st.data())
def test_reshape_minus_one_matches_numpy(shape, data):
    x = _arange(shape)
    k = data.draw(st.integers(0, len(shape) - 1))
    target = tuple(-1 if i == k else d for i, d in enumerate(shape))
    assert x.reshape(target).shape == shape
    flat = x.reshape(-1)
    assert flat.shape == (int(np.prod(shape)),)
    assert flat.reshape(shape).asnumpy().tolist() == np.arange(1, flat.size + 1).reshape(shape).tolist()


# ---- repr -----------------------------------------------------------------------------------------
def test_repr():
    x = mx.nd.array([[1, 2], [3, 4]])
    assert repr(x) == "\n[[1. 2.]\n [3. 4.]]\n<NDArray 2x2 @cpu(0)>"
    assert repr(mx.nd.array([1, 2, 3], dtype="int32", ctx=mx.cpu(1))) == "\n[1 2 3]\n<NDArray 3 @cpu(1)>"
    assert "<NDArray 0x3 @cpu(0)>" in repr(mx.nd.zeros((0, 3)))


# ---- operators ------------------------------------------------------------------------------------
ARITH = [operator.add, operator.sub, operator.mul, operator.truediv, operator.mod, operator.pow]
INPLACE = {operator.add: operator.iadd, operator.sub: operator.isub, operator.mul: operator.imul,
           operator.truediv: operator.itruediv, operator.mod: operator.imod, operator.pow: operator.ipow}
CMP = [operator.eq, operator.ne, operator.lt, operator.le, operator.gt, operator.ge]

A = np.array([[0.5, 1.0, 2.0], [3.0, 1.5, 2.5]])
B = np.array([[2.0, 0.5, 2.0], [1.0, 3.0, 0.25]])


def _ref(op, a, b):
    return np.mod(a, b) if op is operator.mod else op(a, b)


@pytest.mark.parametrize("op", ARITH, ids=lambda f: f.__name__)
def test_arith_operators_array_array_scalar_reflected(op):
    x, y = mx.nd.array(A, dtype="float64"), mx.nd.array(B, dtype="float64")
    assert_close(op(x, y), _ref(op, A, B), "float64")
    assert_close(op(x, 2.0), _ref(op, A, 2.0), "float64")
    assert_close(op(2.0, x), _ref(op, 2.0, A), "float64")
    assert_close(op(x, 3), _ref(op, A, 3), "float64")
    assert_close(op(3, x), _ref(op, 3, A), "float64")
    assert_close(op(x, y[0:1]), _ref(op, A, B[0:1]), "float64")  # broadcasting a (1, 3) row


@pytest.mark.parametrize("op", ARITH, ids=lambda f: f.__name__)
def test_inplace_operators_keep_identity(op):
    iop = INPLACE[op]
    x = mx.nd.array(A, dtype="float64")
    same = x
    x = iop(x, mx.nd.array(B, dtype="float64"))
    assert x is same
    assert_close(x, _ref(op, A, B), "float64")
    x = iop(x, 2.0)
    assert x is same
    assert_close(x, _ref(op, _ref(op, A, B), 2.0), "float64")
    row = mx.nd.array(B[:1], dtype="float64")
    z = mx.nd.array(A, dtype="float64")
    z = iop(z, row)  # the right operand may broadcast
    assert_close(z, _ref(op, A, B[:1]), "float64")


def test_inplace_result_shape_must_match():
    x = mx.nd.ones((1, 3))
    with pytest.raises(ValueError):
        x += mx.nd.ones((2, 3))


def test_inplace_on_a_view_writes_through():
    x = mx.nd.zeros((3, 2))
    row = x[1]
    row += 5
    assert x.asnumpy().tolist() == [[0, 0], [5, 5], [0, 0]]


def test_inplace_through_indexing_and_reshape():
    x = mx.nd.zeros((3, 2))
    x[1] += 5
    x[:] += 1
    x[0:2] *= 2
    assert x.asnumpy().tolist() == [[2, 2], [12, 12], [1, 1]]
    y = _arange((2, 3))
    z = y.reshape((3, 2))
    z += 1
    assert y.asnumpy().tolist() == [[2, 3, 4], [5, 6, 7]]


def test_inplace_integer():
    x = mx.nd.array([7, -7, 9], dtype="int32")
    x += 1
    x *= 3
    x %= 5
    x /= 2
    assert x.dtype is np.int32
    assert x.asnumpy().tolist() == [2, 1, 0]  # [24, -18, 30] % 5 -> [4, 2, 0], then / 2


@pytest.mark.parametrize("op", CMP, ids=lambda f: f.__name__)
@pytest.mark.parametrize("dtype", ["float32", "int32", "uint8"])
def test_comparison_operators(op, dtype):
    a = np.array([[1, 2, 3], [3, 2, 1]])
    b = np.array([[3, 2, 1], [1, 2, 3]])
    x, y = mx.nd.array(a, dtype=dtype), mx.nd.array(b, dtype=dtype)
    for got, want in [(op(x, y), op(a, b)), (op(x, 2), op(a, 2)), (op(2, x), op(2, a)),
                      (op(x, y[1:]), op(a, b[1:]))]:
        assert got.dtype is np.dtype(dtype).type  # MXNet 1.x: comparisons keep the input dtype
        assert got.asnumpy().tolist() == want.astype(int).tolist()


def test_unary_operators_and_methods():
    x = mx.nd.array([[-1.5, 2.0]])
    assert (-x).asnumpy().tolist() == [[1.5, -2.0]]
    assert abs(x).asnumpy().tolist() == [[1.5, 2.0]]
    assert x.abs().asnumpy().tolist() == [[1.5, 2.0]]
    assert x.clip(-1, 1).asnumpy().tolist() == [[-1.0, 1.0]]
    assert x.square().asnumpy().tolist() == [[2.25, 4.0]]


def test_numpy_on_the_left_defers_to_ndarray_or_fails_cleanly():
    x = mx.nd.array([1.0, 2.0])
    assert (np.float32(2) * x).asnumpy().tolist() == [2.0, 4.0]
    with pytest.raises(TypeError):
        x + np.array([1.0, 2.0])


def test_operators_do_not_mutate_operands():
    x, y = mx.nd.array(A), mx.nd.array(B)
    _ = x + y, x - 1, 2 * y, x ** 2, x == y
    assert_close(x, A, "float32")
    assert_close(y, B, "float32")
