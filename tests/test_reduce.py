"""Reductions (sum, mean, prod, max, min, nansum, nanprod, norm, argmax, argmin) against numpy float64."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mxcc as mx
from mxcc.ir.errors import ShapeError

DTYPES = ["float32", "float64", "float16", "int8", "uint8", "int32", "int64"]
FLOATS = ["float32", "float64", "float16"]
AXES_OPS = ["sum", "mean", "prod", "max", "min", "nansum", "nanprod"]
TOL = {"float64": (1e-12, 1e-12), "float32": (2e-6, 2e-5), "float16": (3e-3, 3e-3)}


def _data(shape, dtype, op="sum", seed=0):
    rng = np.random.default_rng(seed)
    if np.dtype(dtype).kind == "f":
        if op in ("prod", "nanprod"):  # magnitudes near 1 keep products finite
            x = rng.uniform(0.6, 1.4, shape) * rng.choice([-1, 1], shape)
        else:
            x = rng.standard_normal(shape) * 3
        return x.astype(dtype)
    lo = 0 if dtype == "uint8" else -3
    return rng.integers(lo, 4, shape).astype(dtype)


def _red_axes(ndim, axis, exclude):
    """MXNet's reading of (axis, exclude): None or () reduces everything."""
    if axis is None or axis == ():
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    axes = tuple(sorted(a % ndim for a in axes))
    return tuple(i for i in range(ndim) if i not in axes) if exclude else axes


def _mx_shape(shape, red, keepdims):
    if keepdims:
        return tuple(1 if i in red else d for i, d in enumerate(shape))
    return tuple(d for i, d in enumerate(shape) if i not in red) or (1,)


def reference(op, x, axis=None, keepdims=False, exclude=False, ord=2):
    """float64 (or exact int64) reference, returned in the dtype MXNet returns."""
    dt = x.dtype
    is_float = dt.kind == "f"
    red = _red_axes(x.ndim, axis, exclude)
    w = x.astype(np.float64 if is_float else np.int64)
    n = int(np.prod([x.shape[a] for a in red])) if red else 1
    with np.errstate(all="ignore"):
        if op in ("sum", "nansum") and not (op == "nansum" and is_float):
            r = w.sum(axis=red, keepdims=True)
        elif op == "nansum":
            r = np.nansum(w, axis=red, keepdims=True)
        elif op in ("prod", "nanprod") and not (op == "nanprod" and is_float):
            r = w.prod(axis=red, keepdims=True)
        elif op == "nanprod":
            r = np.nanprod(w, axis=red, keepdims=True)
        elif op == "mean":
            s = w.sum(axis=red, keepdims=True)
            r = s / n if is_float else (np.trunc(s / n) if n else np.zeros_like(s))
        elif op in ("max", "min"):  # `initial` only matters for an empty result (no output element)
            r = getattr(w, op)(axis=red, keepdims=True, **({"initial": 0} if w.size == 0 else {}))
        elif op == "norm":
            r = np.abs(w).sum(axis=red, keepdims=True) if ord == 1 else np.sqrt((w.astype(np.float64) ** 2)
                                                                                  .sum(axis=red, keepdims=True))
        else:
            raise ValueError(op)
    out = r.reshape(_mx_shape(x.shape, red, keepdims))
    return out.astype(dt) if not is_float else out


def check(got, ref, dtype):
    got = got.asnumpy() if hasattr(got, "asnumpy") else got
    assert got.shape == ref.shape, (got.shape, ref.shape)
    assert got.dtype == np.dtype(dtype), (got.dtype, dtype)
    if np.dtype(dtype).kind == "f":
        rtol, atol = TOL[dtype]
        np.testing.assert_allclose(got.astype(np.float64), ref, rtol=rtol, atol=atol * max(1.0, np.abs(ref).max(
            initial=0, where=np.isfinite(ref))), equal_nan=True)
    else:
        np.testing.assert_array_equal(got, ref)


# ---- what MXNet 1.9.1 printed for these calls -----------------------------------------------------
def test_matches_mxnet_examples():
    x = mx.nd.array(np.arange(24).reshape(2, 3, 4))
    assert mx.nd.sum(x).shape == (1,) and mx.nd.sum(x).asscalar() == 276
    assert mx.nd.sum(x, axis=()).shape == (1,)
    assert mx.nd.sum(x, axis=(), exclude=True).asnumpy().tolist() == [276]
    assert mx.nd.sum(x, axis=(), keepdims=True).shape == (1, 1, 1)
    assert mx.nd.sum(x, axis=1, exclude=True).asnumpy().tolist() == [60, 92, 124]
    assert mx.nd.sum(x, axis=(0, 2), exclude=True, keepdims=True).shape == (2, 1, 4)
    assert mx.nd.sum_axis(x, axis=1).asnumpy()[0].tolist() == [12, 15, 18, 21]
    assert x.sum(1).asnumpy()[0].tolist() == [12, 15, 18, 21]
    a = mx.nd.argmax(x)
    assert a.shape == (1,) and a.dtype == np.float32 and a.asscalar() == 23
    assert mx.nd.argmax(x, keepdims=True).shape == (1, 1, 1)
    ai = mx.nd.argmax(x.astype("int32"), axis=1)
    assert ai.dtype == np.int32 and ai.shape == (2, 4) and (ai.asnumpy() == 2).all()
    assert mx.nd.argmax(x.astype("float16"), axis=1).dtype == np.float16
    assert mx.nd.argmin(x, 0).shape == (3, 4)
    np.testing.assert_allclose(mx.nd.norm(x).asnumpy(), [65.75713], rtol=1e-6)
    assert mx.nd.norm(x, ord=1, axis=(0, 1)).asnumpy().tolist() == [60, 66, 72, 78]
    assert mx.nd.mean(x.astype("int32"), axis=2).asnumpy().ravel().tolist() == [1, 5, 9, 13, 17, 21]
    assert mx.nd.sum(x.astype("int8")).asnumpy().tolist() == [20]  # 276 wraps in int8
    assert mx.nd.nansum(x.astype("int32")).asnumpy().tolist() == [276]
    np.testing.assert_allclose(mx.nd.mean(x, axis=(0, 2), exclude=True).asnumpy()[0], [4, 5, 6, 7])
    assert np.isnan(mx.nd.max(mx.nd.array([1, np.nan, 3])).asscalar())
    assert mx.nd.argmax(mx.nd.array([1, np.nan, 3])).asscalar() == 1


# ---- every reduction x every dtype ---------------------------------------------------------------
AXIS_CASES = [(None, False, False), (0, False, False), (1, True, False), (-1, False, False),
              ((0, 2), False, False), ((1, 2), True, False), ((), False, False), (1, False, True),
              ((0, -1), True, True), ((-3, -2), False, False)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", AXES_OPS)
def test_axes_reductions(op, dtype):
    x = _data((3, 4, 5), dtype, op)
    a = mx.nd.array(x, dtype=dtype)
    for axis, keepdims, exclude in AXIS_CASES:
        got = getattr(mx.nd, op)(a, axis=axis, keepdims=keepdims, exclude=exclude)
        check(got, reference(op, x, axis, keepdims, exclude), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", ["argmax", "argmin"])
def test_arg_reductions(op, dtype):
    x = _data((4, 6, 5), dtype, op)  # integer data has many ties: numpy's first occurrence must win
    a = mx.nd.array(x, dtype=dtype)
    f = getattr(np, op)
    for axis in (None, 0, 1, 2, -1, -3):
        for keepdims in (False, True):
            got = getattr(mx.nd, op)(a, axis=axis, keepdims=keepdims)
            ref = f(x, axis=axis, keepdims=keepdims)
            if axis is None:
                ref = np.asarray(ref).reshape((1, 1, 1) if keepdims else (1,))
            check(got, ref.astype(dtype), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("ord", [1, 2])
def test_norm(ord, dtype):
    x = _data((3, 4, 5), dtype)
    if dtype == "int8":
        x = np.clip(x, -2, 2)  # keep every norm within int8
    a = mx.nd.array(x, dtype=dtype)
    for axis, keepdims in ((None, False), (1, False), (-1, True), ((0, 2), False), ((0, 1), True)):
        got = mx.nd.norm(a, ord=ord, axis=axis, keepdims=keepdims)
        check(got, reference("norm", x, axis, keepdims, ord=ord), dtype)  # integer output: truncated


def test_norm_out_dtype_and_errors():
    x = _data((5, 6), "float32")
    got = mx.nd.norm(mx.nd.array(x), axis=1, out_dtype="float64")
    assert got.dtype == np.float64
    np.testing.assert_allclose(got.asnumpy(), np.sqrt((x.astype(np.float64) ** 2).sum(1)), rtol=1e-12)
    with pytest.raises(ValueError, match="ord"):
        mx.nd.norm(mx.nd.array(x), ord=3)
    with pytest.raises(TypeError, match="out_dtype"):
        mx.nd.norm(mx.nd.array(x), out_dtype="uint8")


# ---- memory layouts and the parallel split -------------------------------------------------------
LAYOUTS = [
    ((1000,), None),  # long contiguous run: SIMD lanes
    ((7, 300), 1),  # rows longer than the lanes, with a tail
    ((5000, 3), 1),  # short rows: vectorized across outputs
    ((3, 5000), 0),  # kept axis contiguous and narrow
    ((40, 3000), 0),  # kept axis wider than one tile
    ((6, 50, 7), 1),  # middle axis: (kept, reduced, kept)
    ((6, 50, 70), (0, 2)),  # (reduced, kept, reduced): strided contiguous runs
    ((4, 1, 6, 1, 5), (1, 2)),  # size-1 dims vanish
    ((2, 3, 4, 5, 6), (0, 2, 4)),  # alternating
    ((2, 3, 4, 5, 6), (1, 3)),
    ((300001,), None),  # one output: the reduced range is cut into chunks across threads
    ((100003, 3), 0),  # three outputs from long columns: chunked tile path
    ((3, 70001), 1),  # three long rows: chunked lanes path
    ((2, 50001, 3), (0, 1)),
]


@pytest.mark.parametrize("shape,axis", LAYOUTS)
def test_layouts(shape, axis):
    for op, dtype in (("sum", "float32"), ("max", "float64"), ("mean", "float32"), ("sum", "int32"),
                      ("min", "int8"), ("norm", "float32")):
        x = _data(shape, dtype, op, seed=len(shape))
        a = mx.nd.array(x, dtype=dtype)
        got = getattr(mx.nd, op)(a, axis=axis)
        check(got, reference(op, x, axis), dtype)
    if axis is None or isinstance(axis, int):
        xf = _data(shape, "float32", "argmax", seed=3)
        af = mx.nd.array(xf)
        for op in ("argmax", "argmin"):
            ref = np.asarray(getattr(np, op)(xf, axis=axis)).astype(np.float32)
            check(getattr(mx.nd, op)(af, axis=axis), ref.reshape(ref.shape or (1,)), "float32")


def test_float32_sum_accumulates_in_double():
    x = (np.random.default_rng(1).random(2_000_003) + 1e3).astype(np.float32)
    got = mx.nd.sum(mx.nd.array(x)).asnumpy()
    np.testing.assert_allclose(got, [x.astype(np.float64).sum()], rtol=1e-7)


@pytest.mark.parametrize("n", [100, 300001])
def test_argmax_first_occurrence_across_chunks(n):
    x = np.zeros(n, np.float32)
    x[[n // 3, n // 2, n - 1]] = 5  # equal maxima in different chunks: the first wins
    a = mx.nd.array(x)
    assert mx.nd.argmax(a).asscalar() == n // 3
    assert mx.nd.argmin(-a).asscalar() == n // 3
    assert mx.nd.argmax(mx.nd.zeros((n,))).asscalar() == 0
    x[n - 2] = np.nan
    x[n // 2 + 1] = np.nan
    assert mx.nd.argmax(mx.nd.array(x)).asscalar() == n // 2 + 1  # first NaN, like numpy
    assert mx.nd.argmin(mx.nd.array(x)).asscalar() == n // 2 + 1
    y = np.full(n, -np.inf, np.float32)
    assert mx.nd.argmax(mx.nd.array(y)).asscalar() == 0
    col = np.zeros((n, 2), np.float32)
    col[[n // 3, n - 1], 1] = 7
    assert mx.nd.argmax(mx.nd.array(col), axis=0).asnumpy().tolist() == [0, n // 3]


def test_nan_handling():
    x = np.array([[1.0, np.nan, 3.0], [4.0, 5.0, -1.0]], np.float32)
    a = mx.nd.array(x)
    np.testing.assert_array_equal(mx.nd.max(a, axis=1).asnumpy(), [np.nan, 5])
    np.testing.assert_array_equal(mx.nd.min(a, axis=1).asnumpy(), [np.nan, -1])
    np.testing.assert_array_equal(mx.nd.nansum(a, axis=1).asnumpy(), [4, 8])
    np.testing.assert_array_equal(mx.nd.nanprod(a, axis=1).asnumpy(), [3, -20])
    np.testing.assert_array_equal(mx.nd.sum(a, axis=1).asnumpy(), [np.nan, 8])
    big = np.random.default_rng(0).random(5000).astype(np.float32)
    big[4321] = np.nan
    assert np.isnan(mx.nd.max(mx.nd.array(big)).asscalar())
    assert np.isnan(mx.nd.min(mx.nd.array(big)).asscalar())
    np.testing.assert_allclose(mx.nd.nansum(mx.nd.array(big)).asscalar(), np.nansum(big.astype(np.float64)),
                               rtol=1e-6)


def test_infinities():
    x = np.array([-np.inf, -np.inf, -np.inf], np.float32)
    assert mx.nd.max(mx.nd.array(x)).asscalar() == -np.inf
    assert mx.nd.min(mx.nd.array(-x)).asscalar() == np.inf
    assert mx.nd.sum(mx.nd.array(np.array([np.inf, 1], np.float32))).asscalar() == np.inf


# ---- size-0 and size-1 dims --------------------------------------------------------------------------
def test_empty_reductions():
    z = mx.nd.zeros((0, 3))
    for op, want in (("sum", 0), ("prod", 1), ("nansum", 0), ("nanprod", 1), ("norm", 0)):
        r = getattr(mx.nd, op)(z, axis=0)
        assert r.shape == (3,) and (r.asnumpy() == want).all(), op
    m = mx.nd.mean(z, axis=0)
    assert m.shape == (3,) and np.isnan(m.asnumpy()).all()
    assert (mx.nd.mean(mx.nd.zeros((0, 3), dtype="int32"), axis=0).asnumpy() == 0).all()
    assert mx.nd.sum(z).asnumpy().tolist() == [0]
    for op in ("max", "min", "argmax", "argmin"):
        with pytest.raises(ShapeError, match=op):
            getattr(mx.nd, op)(z, axis=0)
        with pytest.raises(ShapeError, match=op):
            getattr(mx.nd, op)(z)
    # nothing to compute: the reduced axes are fine, the kept one is empty
    assert mx.nd.sum(z, axis=1).shape == (0,)
    assert mx.nd.max(z, axis=1).shape == (0,)
    assert mx.nd.argmax(z, axis=1).shape == (0,)


def test_size_one_and_reduce_nothing():
    x = _data((1, 4, 1), "float32")
    a = mx.nd.array(x)
    check(mx.nd.sum(a, axis=(0, 2)), reference("sum", x, (0, 2)), "float32")
    check(mx.nd.mean(a, axis=0), reference("mean", x, 0), "float32")
    # exclude=True with every axis listed reduces nothing: finalize of one element each
    y = _data((3, 4), "float32")
    b = mx.nd.array(y)
    np.testing.assert_allclose(mx.nd.sum(b, axis=(0, 1), exclude=True).asnumpy(), y)
    np.testing.assert_allclose(mx.nd.norm(b, axis=(0, 1)).asnumpy(), [np.sqrt((y.astype(np.float64) ** 2).sum())],
                               rtol=1e-6)
    np.testing.assert_allclose(mx.nd.mean(b, axis=(0, 1), exclude=True, keepdims=True).asnumpy(), y)
    s = mx.nd.array(np.array([2.5], np.float32))
    assert mx.nd.max(s).asnumpy().tolist() == [2.5]
    assert mx.nd.argmax(s, axis=0, keepdims=True).shape == (1,)  # 1-D input: (1,) as in MXNet


# ---- errors -------------------------------------------------------------------------------------------
def test_bad_axis_names_op_and_axis():
    a = mx.nd.ones((2, 3))
    for op in AXES_OPS + ["norm"]:
        with pytest.raises(ShapeError, match=rf"{op}: axis=2"):
            getattr(mx.nd, op)(a, axis=2)
        with pytest.raises(ShapeError, match=rf"{op}: axis=-3"):
            getattr(mx.nd, op)(a, axis=(0, -3))
    with pytest.raises(ShapeError, match="repeated axis"):
        mx.nd.sum(a, axis=(1, -1))
    for op in ("argmax", "argmin"):
        with pytest.raises(ShapeError, match=rf"{op}: axis=5"):
            getattr(mx.nd, op)(a, axis=5)
    with pytest.raises(ValueError, match="axis"):
        mx.nd.sum(a, axis="x")


# ---- the NDArray methods ------------------------------------------------------------------------
def test_ndarray_methods_and_aliases():
    x = _data((3, 4), "float32")
    a = mx.nd.array(x)
    for op in AXES_OPS:
        check(getattr(a, op)(), reference(op, x), "float32")
        check(getattr(a, op)(axis=1, keepdims=True), reference(op, x, 1, True), "float32")
    check(a.norm(), reference("norm", x), "float32")
    check(a.argmax(axis=1), np.argmax(x, 1).astype(np.float32), "float32")
    check(a.argmin(0), np.argmin(x, 0).astype(np.float32), "float32")
    check(mx.nd.max_axis(a, axis=0), reference("max", x, 0), "float32")
    check(mx.nd.min_axis(a, axis=1), reference("min", x, 1), "float32")
    check(mx.nd.sum_axis(a, 0), reference("sum", x, 0), "float32")
    out = mx.nd.zeros((4,))
    mx.nd.sum(a, axis=0, out=out)
    check(out, reference("sum", x, 0), "float32")


# ---- property test over shapes and axes ---------------------------------------------------------------
@st.composite
def _cases(draw):
    ndim = draw(st.integers(1, 4))
    shape = tuple(draw(st.lists(st.sampled_from([0, 1, 1, 2, 3, 5, 8, 17, 40]), min_size=ndim, max_size=ndim)))
    if np.prod(shape) > 30000:
        shape = tuple(min(d, 8) for d in shape)
    kind = draw(st.sampled_from(["none", "int", "tuple"]))
    if kind == "none":
        axis = None
    elif kind == "int":
        axis = draw(st.integers(-ndim, ndim - 1))
    else:
        axes = draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True))
        axis = tuple(a - ndim if draw(st.booleans()) else a for a in axes)
    op = draw(st.sampled_from(AXES_OPS + ["norm"]))
    dtype = draw(st.sampled_from(["float32", "float64", "int32", "int8"]))
    if op == "norm" and dtype == "int8":
        dtype = "int32"  # an int8 norm of thousands of elements overflows
    return shape, axis, draw(st.booleans()), draw(st.booleans()), op, dtype


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_cases())
def test_property_shapes_and_axes(case):
    shape, axis, keepdims, exclude, op, dtype = case
    x = _data(shape, dtype, op, seed=sum(shape))
    a = mx.nd.array(x, dtype=dtype)
    red = _red_axes(len(shape), axis, exclude if op != "norm" else False)
    n_red = int(np.prod([shape[i] for i in red])) if red else 1
    n_out = int(np.prod([d for i, d in enumerate(shape) if i not in red]))
    kw = {"axis": axis, "keepdims": keepdims}
    if op != "norm":
        kw["exclude"] = exclude
    else:
        exclude = False
    if op in ("max", "min") and n_red == 0 and n_out > 0:
        with pytest.raises(ShapeError, match=op):
            getattr(mx.nd, op)(a, **kw)
        return
    got = getattr(mx.nd, op)(a, **kw)
    check(got, reference(op, x, axis, keepdims, exclude), dtype)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 9), min_size=1, max_size=4), st.data())
def test_property_argmax(shape, data):
    shape = tuple(shape)
    axis = data.draw(st.one_of(st.none(), st.integers(-len(shape), len(shape) - 1)))
    op = data.draw(st.sampled_from(["argmax", "argmin"]))
    x = _data(shape, "int32", op, seed=len(shape))
    got = getattr(mx.nd, op)(mx.nd.array(x, dtype="int32"), axis=axis)
    ref = np.asarray(getattr(np, op)(x, axis=axis))
    ref = ref.reshape((1,)) if ref.ndim == 0 else ref
    check(got, ref.astype("int32"), "int32")
