"""mx.nd.save / mx.nd.load: MXNet 1.x .params files.

Fixtures in tests/fixtures were written by real MXNet 1.9.1 (or built byte by byte and
checked to load in it; see make_params_fixtures.py). The interop test at the end runs
real MXNet when the virtualenv named by $MXCC_MXNET_PYTHON (default
/work/mxnet-venv/bin/python) exists, and skips otherwise.
"""
from __future__ import annotations

import importlib.util
import json
import os
import struct
import subprocess
import textwrap
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mxcc as mx
from mxcc.ndarray import serialize

FIXTURES = Path(__file__).parent / "fixtures"
ALL_DTYPES = ("float32", "float64", "float16", "uint8", "int32", "int8", "int64")
MXNET_PYTHON = os.environ.get("MXCC_MXNET_PYTHON", "/work/mxnet-venv/bin/python")


def _fixture_module():
    spec = importlib.util.spec_from_file_location("make_params_fixtures", FIXTURES / "make_params_fixtures.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


FIX = _fixture_module()
EXPECTED = FIX.expected()


def _check_same(got, want, what=""):
    if isinstance(want, dict):
        assert isinstance(got, dict), f"{what}: expected a dict, got {type(got).__name__}"
        assert list(got) == list(want), f"{what}: keys {list(got)} != {list(want)}"
        pairs = [(got[k], want[k], k) for k in want]
    else:
        assert isinstance(got, list), f"{what}: expected a list, got {type(got).__name__}"
        assert len(got) == len(want)
        pairs = [(g, w, i) for i, (g, w) in enumerate(zip(got, want))]
    for g, w, k in pairs:
        assert isinstance(g, mx.nd.NDArray)
        a = g.asnumpy()
        assert a.dtype == w.dtype, f"{what}[{k}]: dtype {a.dtype} != {w.dtype}"
        assert a.shape == w.shape, f"{what}[{k}]: shape {a.shape} != {w.shape}"
        np.testing.assert_array_equal(a, w, err_msg=f"{what}[{k}]")


def _nd(a):
    return mx.nd.array(a, dtype=a.dtype)


# ---- fixtures written by MXNet 1.9.1 -------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_loads(name):
    _check_same(mx.nd.load(FIXTURES / name), EXPECTED[name], name)
    _check_same(mx.nd.load(str(FIXTURES / name)), EXPECTED[name], name)


@pytest.mark.parametrize("name", ["list.params", "dict.params", "dtypes.params", "single.params", "empty.params"])
def test_save_is_byte_identical_to_mxnet(tmp_path, name):
    want = EXPECTED[name]
    data = {k: _nd(v) for k, v in want.items()} if isinstance(want, dict) else [_nd(v) for v in want]
    if name == "single.params":
        data = data[0]
    mx.nd.save(tmp_path / name, data)
    assert (tmp_path / name).read_bytes() == (FIXTURES / name).read_bytes()
    assert serialize.save_tobuffer(data) == (FIXTURES / name).read_bytes()


def test_sparse_is_rejected_clearly():
    with pytest.raises(mx.MXNetError, match=r"csr\.params.*array 0 has csr storage.*only dense"):
        mx.nd.load(FIXTURES / "csr.params")


def test_unsupported_dtype_is_rejected_clearly():
    with pytest.raises(mx.MXNetError, match=r"bool\.params.*dtype bool \(type flag 7\)"):
        mx.nd.load(FIXTURES / "bool.params")


def test_module_checkpoint_keys():
    d = mx.nd.load(FIXTURES / "dict.params")
    args = {k[4:]: v for k, v in d.items() if k.startswith("arg:")}
    aux = {k[4:]: v for k, v in d.items() if k.startswith("aux:")}
    assert sorted(args) == ["fc1_bias", "fc1_weight"] and sorted(aux) == ["bn0_moving_mean", "bn0_moving_var"]
    assert args["fc1_weight"].shape == (3, 4) and args["fc1_weight"].context == mx.cpu()


# ---- round trips -------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_round_trip_every_dtype(tmp_path, dtype):
    a = FIX.values((3, 5), dtype, 3)
    mx.nd.save(tmp_path / "a.params", {"x": _nd(a), "y": _nd(a[:1])})
    _check_same(mx.nd.load(tmp_path / "a.params"), {"x": a, "y": a[:1]}, dtype)


@settings(max_examples=25, deadline=None)
@given(shapes=st.lists(st.lists(st.integers(0, 4), min_size=0, max_size=4).map(tuple), min_size=0, max_size=4),
       dtype=st.sampled_from(ALL_DTYPES), as_dict=st.booleans())
def test_round_trip_shapes(tmp_path_factory, shapes, dtype, as_dict):
    arrays = [FIX.values(s, dtype, k) for k, s in enumerate(shapes)]
    want = {f"arg:p{k}": a for k, a in enumerate(arrays)} if as_dict and arrays else arrays
    data = {k: _nd(v) for k, v in want.items()} if isinstance(want, dict) else [_nd(v) for v in want]
    path = tmp_path_factory.mktemp("rt") / "x.params"
    mx.nd.save(path, data)
    _check_same(mx.nd.load(path), want, str(shapes))
    _check_same(mx.nd.load_frombuffer(path.read_bytes()), want, str(shapes))


def test_single_ndarray_loads_as_list(tmp_path):
    mx.nd.save(tmp_path / "s.params", mx.nd.array([1.5, 2.5]))
    got = mx.nd.load(tmp_path / "s.params")
    assert isinstance(got, list) and len(got) == 1
    np.testing.assert_array_equal(got[0].asnumpy(), np.array([1.5, 2.5], np.float32))


def test_views_save_their_own_elements(tmp_path):
    base = mx.nd.array(np.arange(12, dtype=np.float32).reshape(4, 3))
    mx.nd.save(tmp_path / "v.params", [base[1:3], base[2], base.reshape((2, 6))])
    got = mx.nd.load(tmp_path / "v.params")
    ref = np.arange(12, dtype=np.float64).reshape(4, 3)
    np.testing.assert_array_equal(got[0].asnumpy(), ref[1:3])
    np.testing.assert_array_equal(got[1].asnumpy(), ref[2])
    np.testing.assert_array_equal(got[2].asnumpy(), ref.reshape(2, 6))


def test_save_waits_for_pending_writes(tmp_path):
    x = mx.nd.ones((1000, 1000)) * 3.0  # large enough to be queued on the engine
    y = x + 1.0
    mx.nd.save(tmp_path / "p.params", {"x": x, "y": y})
    got = mx.nd.load(tmp_path / "p.params")
    assert float(got["x"].asnumpy().min()) == 3.0 and float(got["x"].asnumpy().max()) == 3.0
    assert float(got["y"].asnumpy().min()) == 4.0 and float(got["y"].asnumpy().max()) == 4.0


# ---- atomic writes --------------------------------------------------------------------------------
def test_save_replaces_atomically_and_leaves_no_temp(tmp_path, monkeypatch):
    path = tmp_path / "m.params"
    mx.nd.save(path, [mx.nd.array([1.0])])
    before = path.read_bytes()

    def broken(arrays, names, out):
        out.write(b"\x12\x01 partial")
        raise OSError("disk full")

    monkeypatch.setattr(serialize, "_serialize", broken)
    with pytest.raises(OSError, match="disk full"):
        mx.nd.save(path, [mx.nd.array([2.0, 3.0])])
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.params"]
    monkeypatch.undo()
    mx.nd.save(path, [mx.nd.array([2.0, 3.0])])
    np.testing.assert_array_equal(mx.nd.load(path)[0].asnumpy(), [2.0, 3.0])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.params"]


def test_save_rejects_bad_data(tmp_path):
    with pytest.raises(TypeError, match="NDArray, dict of str"):
        mx.nd.save(tmp_path / "b.params", 5)
    with pytest.raises(TypeError, match="keys must be str"):
        mx.nd.save(tmp_path / "b.params", {1: mx.nd.array([1])})
    with pytest.raises(TypeError, match="element 1"):
        mx.nd.save(tmp_path / "b.params", [mx.nd.array([1]), np.ones(2)])
    assert not list(tmp_path.iterdir())


# ---- bad files ---------------------------------------------------------------------------------------
def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        mx.nd.load(tmp_path / "nope.params")


@pytest.mark.parametrize("name", ["list.params", "dict.params", "v1.params", "legacy.params", "npshape.params"])
def test_every_truncation_is_a_clear_error(tmp_path, name):
    raw = (FIXTURES / name).read_bytes()
    path = tmp_path / "t.params"
    for n in range(len(raw)):
        path.write_bytes(raw[:n])
        with pytest.raises(mx.MXNetError, match=r"t\.params.*(truncated|shorter than|cannot fit)"):
            mx.nd.load(path)


def _patched(raw: bytes, offset: int, fmt: str, value) -> bytes:
    b = bytearray(raw)
    struct.pack_into("<" + fmt, b, offset, value)
    return bytes(b)


# offsets in list.params: header 24 bytes, then array 0: magic 24, stype 28, ndim 32, dims 36.., ctx 52, flag 60
@pytest.mark.parametrize("offset,fmt,value,pattern", [
    (0, "Q", 0x113, r"not an MXNet \.params file: list magic 0x113"),
    (16, "Q", 1 << 40, r"corrupted header: \d+ arrays cannot fit"),
    (24, "I", 0xDEADBEEF, r"unknown array magic 0xDEADBEEF"),
    (28, "i", 7, r"corrupted storage type 7"),
    (28, "i", 1, r"row_sparse storage"),
    (32, "i", 1000, r"corrupted ndim 1000"),
    (36, "q", -5, r"corrupted shape"),
    (36, "q", 1 << 40, r"truncated file: array 0 of shape"),
    (52, "i", 9, r"corrupted context device type 9"),
    (60, "i", 99, r"corrupted type flag 99"),
])
def test_corrupted_fields(tmp_path, offset, fmt, value, pattern):
    path = tmp_path / "c.params"
    path.write_bytes(_patched((FIXTURES / "list.params").read_bytes(), offset, fmt, value))
    with pytest.raises(mx.MXNetError, match=r"c\.params.*" + pattern):
        mx.nd.load(path)


def test_key_count_and_trailing_bytes(tmp_path):
    raw = (FIXTURES / "dict.params").read_bytes()
    arrays_end = raw.index(b"arg:fc1_weight") - 16  # the key count precedes the first key's length
    path = tmp_path / "k.params"
    path.write_bytes(_patched(raw, arrays_end, "Q", 3))
    with pytest.raises(mx.MXNetError, match="4 arrays but 3 keys"):
        mx.nd.load(path)
    path.write_bytes(raw + b"\0")
    with pytest.raises(mx.MXNetError, match="1 unexpected bytes after the keys"):
        mx.nd.load(path)
    path.write_bytes(raw.replace(b"arg:fc1_bias", b"arg:fc1_bia\xff"))
    with pytest.raises(mx.MXNetError, match="not valid UTF-8"):
        mx.nd.load(path)


def test_foreign_files(tmp_path):
    cases = {"text.params": b"this is not a params file at all, just some text\n",
             "pickle.params": b"\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x01a\x94K\x01s.",
             "empty.params": b"",
             "zip.params": b"PK\x03\x04" + b"\0" * 60}
    for name, raw in cases.items():
        (tmp_path / name).write_bytes(raw)
        with pytest.raises(mx.MXNetError, match=rf"{name.replace('.', '[.]')}.*not an MXNet \.params file"):
            mx.nd.load(tmp_path / name)


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_random_corruption_never_crashes(data):
    name = data.draw(st.sampled_from(["list.params", "dict.params", "dtypes.params"]))
    raw = bytearray((FIXTURES / name).read_bytes())
    for _ in range(data.draw(st.integers(1, 4))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    try:
        out = mx.nd.load_frombuffer(bytes(raw))
    except mx.MXNetError as e:
        assert "buffer" in str(e)
    else:
        assert isinstance(out, (list, dict))


# ---- real MXNet reads what mxcc writes -------------------------------------------------------------
_MXNET_READER = textwrap.dedent("""
    import json, sys
    import mxnet as mx
    out = {}
    for path in sys.argv[1:]:
        np_shape = path.endswith("np.params")
        with mx.util.np_shape(np_shape):
            got = mx.nd.load(path)
        items = got.items() if isinstance(got, dict) else enumerate(got)
        out[path] = {str(k): [v.dtype.__name__, list(v.shape), v.asnumpy().astype("float64").ravel().tolist()]
                     for k, v in items}
    print(json.dumps(out))
""")


@pytest.mark.skipif(not os.path.exists(MXNET_PYTHON), reason=f"real MXNet not installed at {MXNET_PYTHON}")
def test_real_mxnet_loads_mxcc_files(tmp_path):
    d = {f"arg:{dt}": FIX.values((2, 3), dt, k) for k, dt in enumerate(ALL_DTYPES)}
    lst = [FIX.values((4,), "float32", 1), FIX.values((2, 2, 2), "int64", 2)]
    npf = [np.array(2.5, np.float32), np.zeros((0, 2), np.float16)]
    mx.nd.save(tmp_path / "d.params", {k: _nd(v) for k, v in d.items()})
    mx.nd.save(tmp_path / "l.params", [_nd(v) for v in lst])
    mx.nd.save(tmp_path / "np.params", [_nd(v) for v in npf])
    paths = [str(tmp_path / n) for n in ("d.params", "l.params", "np.params")]
    r = subprocess.run([MXNET_PYTHON, "-c", _MXNET_READER, *paths], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    got = json.loads(r.stdout.strip().splitlines()[-1])
    for path, want in zip(paths, [d, dict(enumerate(lst)), dict(enumerate(npf))]):
        assert sorted(got[path]) == sorted(str(k) for k in want)
        for k, w in want.items():
            dt, shape, vals = got[path][str(k)]
            assert dt == w.dtype.name and tuple(shape) == w.shape
            np.testing.assert_array_equal(np.array(vals, dtype=np.float64), w.astype(np.float64).ravel())
