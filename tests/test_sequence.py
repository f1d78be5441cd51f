"""cumsum, contrib.boolean_mask, histogram, SequenceMask / SequenceLast / SequenceReverse and diag
against numpy references (float64), with MXNet 1.x's conventions, and their gradients."""
import numpy as np
import pytest
from conftest import ALL_DTYPES, assert_close
from gradcheck import check_grad
from hypothesis import given, settings
from hypothesis import strategies as st

import mxcc as mx

RNG = np.random.default_rng(0)


def sample(shape, dtype):
    if np.dtype(dtype).kind in "iu":
        return RNG.integers(0 if np.dtype(dtype).kind == "u" else -4, 5, shape).astype(dtype)
    return RNG.standard_normal(shape).astype(dtype)


# ---- cumsum -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("shape,axis", [((4, 5), None), ((4, 5), 0), ((4, 5), -1), ((2, 3, 4), 1), ((7,), 0),
                                        ((3, 600, 2), 1), ((0, 3), 1)])
def test_cumsum_matches_numpy(dtype, shape, axis):
    x = sample(shape, dtype)
    got = mx.nd.cumsum(mx.nd.array(x, dtype=dtype), axis=axis)
    assert got.dtype == np.dtype(dtype)  # MXNet keeps the input dtype (int8 wraps like numpy's int8)
    ref = np.cumsum(x, axis=axis, dtype=dtype) if np.dtype(dtype).kind in "iu" else np.cumsum(x.astype(np.float64),
                                                                                              axis=axis)
    assert_close(got, ref, dtype, scale=shape[axis if axis is not None else 0] if len(shape) else 1)


def test_cumsum_dtype_argument_and_long_rows():
    x = RNG.integers(0, 100, (3, 4)).astype(np.int32)
    got = mx.nd.cumsum(mx.nd.array(x, dtype="int32"), axis=1, dtype="float64")
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got.asnumpy(), np.cumsum(x, axis=1))
    y = RNG.standard_normal(600_000)  # one long row: the two-pass parallel scan
    np.testing.assert_allclose(mx.nd.cumsum(mx.nd.array(y, dtype="float64")).asnumpy(), np.cumsum(y),
                               rtol=1e-9, atol=1e-9)
    z = RNG.integers(-9, 9, 600_000).astype(np.int64)
    np.testing.assert_array_equal(mx.nd.cumsum(mx.nd.array(z, dtype="int64")).asnumpy(), np.cumsum(z))


def test_cumsum_gradient_is_the_reversed_cumsum():
    x = RNG.standard_normal((3, 4, 2))
    for axis in (None, 0, 1, 2):
        check_grad("cumsum", [x], {"axis": axis})


# ---- boolean_mask -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("idx_dtype", ["float32", "int32", "uint8", "int64"])
@pytest.mark.parametrize("shape,axis", [((6, 3), 0), ((2, 5, 3), 1), ((4,), 0), ((3, 4), -1)])
def test_boolean_mask(idx_dtype, shape, axis):
    x = RNG.standard_normal(shape)
    mask = RNG.integers(0, 2, shape[axis]).astype(idx_dtype)
    got = mx.nd.contrib.boolean_mask(mx.nd.array(x, dtype="float64"), mx.nd.array(mask, dtype=idx_dtype), axis=axis)
    np.testing.assert_array_equal(got.asnumpy(), np.compress(mask != 0, x, axis=axis))


def test_boolean_mask_nonzero_means_true_and_empty_results():
    x = mx.nd.arange(6).reshape((3, 2))
    np.testing.assert_array_equal(mx.nd.contrib.boolean_mask(x, mx.nd.array([0.5, -1, 0])).asnumpy(),
                                  [[0, 1], [2, 3]])
    assert mx.nd.contrib.boolean_mask(x, mx.nd.array([0, 0, 0])).shape == (0, 2)
    with pytest.raises(ValueError, match="must be 1-D of length 3"):
        mx.nd.contrib.boolean_mask(x, mx.nd.array([1, 0]))


def test_boolean_mask_gradient():
    x = RNG.standard_normal((4, 3, 2))
    check_grad("_contrib_boolean_mask", [x, np.array([1.0, 0, 1])], {"axis": 1, "_size": 2}, wrt=[0])
    check_grad("_contrib_boolean_mask", [x, np.array([0.0, 1, 1, 0])], {"axis": 0, "_size": 2}, wrt=[0])


# ---- histogram -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["float32", "float64", "int32"])
@pytest.mark.parametrize("bins,rng", [(10, (-2.0, 2.0)), (7, (0.0, 1.5)), (1, (-1.0, 1.0)), (5, (1.0, 1.0))])
def test_histogram_uniform_bins(dtype, bins, rng):
    x = (RNG.standard_normal(1000) * (3 if dtype == "int32" else 1)).astype(dtype)
    counts, edges = mx.nd.histogram(mx.nd.array(x, dtype=dtype), bins=bins, range=rng)
    rc, re = np.histogram(x.astype(np.float64), bins=bins, range=rng)
    assert counts.dtype == np.int64 and edges.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(counts.asnumpy(), rc)
    np.testing.assert_allclose(edges.asnumpy(), re.astype(dtype), rtol=1e-6)


def test_histogram_edges_nan_and_auto_range():
    x = np.array([0, 0.5, 1, 1.5, 2, 2, 3, 5, -1, np.nan], dtype=np.float32)
    a = mx.nd.array(x)
    c, e = mx.nd.histogram(a, bins=4, range=(0, 2))
    np.testing.assert_array_equal(c.asnumpy(), [1, 1, 1, 3])
    c, e = mx.nd.histogram(a, bins=mx.nd.array([0, 1, 1, 2, 4]))  # a zero-width bin stays empty
    np.testing.assert_array_equal(c.asnumpy(), [2, 0, 2, 3])
    np.testing.assert_array_equal(e.asnumpy(), [0, 1, 1, 2, 4])
    y = RNG.standard_normal(500).astype(np.float32)
    c, e = mx.nd.histogram(mx.nd.array(y), bins=6)  # no range: float32 results, as MXNet's wrapper
    rc, re = np.histogram(y.astype(np.float64), bins=6)
    assert c.dtype == np.float32 and e.dtype == np.float32
    np.testing.assert_array_equal(c.asnumpy(), rc)
    np.testing.assert_allclose(e.asnumpy(), re, rtol=1e-6)


def test_histogram_errors():
    with pytest.raises(mx.MXNetError, match="increase monotonically"):
        mx.nd.histogram(mx.nd.array([1.0, 2.0]), bins=mx.nd.array([0, 2, 1])).__getitem__(0).asnumpy()
    with pytest.raises(mx.MXNetError, match="not finite"):
        mx.nd.histogram(mx.nd.array([1.0, np.nan]), bins=3)[0].asnumpy()
    with pytest.raises(ValueError, match="bins argument"):
        mx.nd.histogram(mx.nd.array([1.0]), bins="auto")


# ---- SequenceMask / SequenceLast / SequenceReverse ----------------------------------------------------------
def ref_len(lengths, T, lo):
    out = []
    for v in lengths:
        v = float(v)
        out.append(lo if not v >= lo else (T if v >= T else int(v)))
    return out


def seq_view(x, axis):
    """(T, B, ...) view of data for sequence axis 0 or 1."""
    return x if axis == 0 else np.swapaxes(x, 0, 1)


@pytest.mark.parametrize("dtype", ["float32", "float64", "int32"])
@pytest.mark.parametrize("axis", [0, 1])
@pytest.mark.parametrize("len_dtype", ["float32", "int32"])
def test_sequence_ops_match_reference(dtype, axis, len_dtype):
    T, B = 5, 4
    shape = (T, B, 3) if axis == 0 else (B, T, 3)
    x = sample(shape, dtype)
    lengths = np.array([2, 0, 7, 3.6] if len_dtype == "float32" else [2, 0, 7, 3]).astype(len_dtype)
    a, L = mx.nd.array(x, dtype=dtype), mx.nd.array(lengths, dtype=len_dtype)
    xv = seq_view(x, axis)

    masked = seq_view(x.copy(), axis)
    for b, n in enumerate(ref_len(lengths, T, 0)):
        masked[n:, b] = -7
    got = mx.nd.SequenceMask(a, L, use_sequence_length=True, value=-7, axis=axis)
    np.testing.assert_array_equal(got.asnumpy(), seq_view(masked, axis))

    last = np.stack([xv[n - 1, b] for b, n in enumerate(ref_len(lengths, T, 1))])
    np.testing.assert_array_equal(mx.nd.SequenceLast(a, L, use_sequence_length=True, axis=axis).asnumpy(), last)
    np.testing.assert_array_equal(mx.nd.SequenceLast(a, axis=axis).asnumpy(), xv[-1])

    rev = xv.copy()
    for b, n in enumerate(ref_len(lengths, T, 0)):
        rev[:n, b] = xv[:n, b][::-1]
    np.testing.assert_array_equal(mx.nd.SequenceReverse(a, L, use_sequence_length=True, axis=axis).asnumpy(),
                                  seq_view(rev, axis))
    np.testing.assert_array_equal(mx.nd.SequenceReverse(a, axis=axis).asnumpy(), seq_view(xv[::-1], axis))
    np.testing.assert_array_equal(mx.nd.SequenceMask(a, axis=axis).asnumpy(), x)


def test_sequence_errors():
    x = mx.nd.zeros((4, 3, 2))
    with pytest.raises(ValueError, match=r"must have shape \(3,\)"):
        mx.nd.SequenceMask(x, mx.nd.zeros((4,)), use_sequence_length=True)
    with pytest.raises(ValueError, match="axis=2 is not supported"):
        mx.nd.SequenceLast(x, axis=2)
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        mx.nd.SequenceReverse(mx.nd.zeros((4,)))


def test_sequence_gradients():
    x = RNG.standard_normal((4, 3, 2))
    L = np.array([2, 0, 5.0])
    check_grad("SequenceMask", [x, L], {"use_sequence_length": True, "value": 3.0}, wrt=[0])
    check_grad("SequenceLast", [x, L], {"use_sequence_length": True}, wrt=[0])
    check_grad("SequenceLast", [x], {})
    check_grad("SequenceLast", [x, np.array([1.0, 2, 3, 1])], {"use_sequence_length": True, "axis": 1}, wrt=[0])
    check_grad("SequenceReverse", [x, L], {"use_sequence_length": True}, wrt=[0])
    check_grad("SequenceReverse", [x], {})


# ---- diag --------------------------------------------------------------------------------------------------------
@settings(max_examples=25, deadline=None)
@given(n=st.integers(0, 5), k=st.integers(-6, 6))
def test_diag_of_a_vector(n, k):
    x = RNG.standard_normal(n)
    np.testing.assert_array_equal(mx.nd.diag(mx.nd.array(x, dtype="float64"), k=k).asnumpy(), np.diag(x, k))


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("shape,k,a1,a2", [((3, 4), 0, 0, 1), ((3, 4), 2, 0, 1), ((3, 4), -3, 0, 1), ((3, 4), 4, 0, 1),
                                           ((2, 3, 4), 1, 1, 2), ((2, 3, 4), -1, 2, 0), ((2, 3, 4, 2), 0, -1, 1)])
def test_diag_of_arrays(dtype, shape, k, a1, a2):
    x = sample(shape, dtype)
    got = mx.nd.diag(mx.nd.array(x, dtype=dtype), k=k, axis1=a1, axis2=a2)
    np.testing.assert_array_equal(got.asnumpy(), np.diagonal(x, k, a1, a2))


def test_diag_errors_and_method():
    with pytest.raises(ValueError, match="does not exist"):
        mx.nd.diag(mx.nd.zeros((2, 3)), k=5)
    with pytest.raises(ValueError, match="must differ"):
        mx.nd.diag(mx.nd.zeros((2, 3)), axis1=1, axis2=1)
    np.testing.assert_array_equal(mx.nd.arange(4).reshape((2, 2)).diag().asnumpy(), [0, 3])


def test_diag_gradients():
    check_grad("diag", [RNG.standard_normal((4, 3, 2))], {"k": 1, "axis1": 2, "axis2": 0})
    check_grad("diag", [RNG.standard_normal((4,))], {"k": -2})
    check_grad("diag", [RNG.standard_normal((3, 5))], {"k": 2})


def test_gradient_rules_read_mxnets_json_attribute_strings():
    x = RNG.standard_normal((4, 3, 2))
    L = np.array([2, 0, 5.0])
    check_grad("SequenceReverse", [x, L], {"use_sequence_length": "True", "axis": "0"}, wrt=[0])
    check_grad("SequenceMask", [x], {"use_sequence_length": "False"})
    check_grad("cumsum", [x], {"axis": "None"})
    check_grad("diag", [x], {"k": "-1", "axis1": "2", "axis2": "1"})
