"""mx.sym: naming, listing, inference, composition, MXNet 1.x JSON in and out."""
import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

import mxcc as mx
from mxcc.ir.errors import MXNetError

FIX = Path(__file__).parent / "fixtures"
MXNET_PY = "/work/mxnet-venv/bin/python"


def expr_symbol():
    x = mx.sym.Variable("x")
    w = mx.sym.Variable("w", shape=(3, 4), lr_mult=2.0)
    y = mx.sym.exp(mx.sym.dot(x, w)) * 2 + 1
    z = mx.sym.sum(y, axis=1, keepdims=True)
    return mx.sym.Group([z, mx.sym.relu(y - 3)])


def test_automatic_names_and_lists_match_mxnet():
    with mx.name.NameManager():
        g = expr_symbol()
        assert g.list_arguments() == ["x", "w"]
        assert g.list_outputs() == ["sum0_output", "relu0_output"]
        assert g.list_auxiliary_states() == []
        internals = g.get_internals().list_outputs()
        assert internals[:4] == ["x", "w", "dot0_output", "exp0_output"]
        assert "_mulscalar0_output" in internals and "_plusscalar0_output" in internals
    with mx.name.NameManager():
        data = mx.sym.Variable("data")
        a, b = mx.sym.exp(data), mx.sym.exp(data)
        assert (a.name, b.name, (a + b).name) == ("exp0", "exp1", "_plus0")


def test_infer_shape_full_partial_and_errors():
    g = expr_symbol()
    arg, out, aux = g.infer_shape(x=(2, 3))
    assert arg == [(2, 3), (3, 4)] and out == [(2, 1), (2, 4)] and aux == []
    x = mx.sym.Variable("x")
    y = mx.sym.Variable("y")
    s = mx.sym.elemwise_add(x, y)
    assert s.infer_shape(x=(2,)) == (None, None, None)
    assert s.infer_shape_partial(x=(2,))[0] == [(2,), ()]
    with pytest.raises(MXNetError, match=r"elemwise_add0.*\(2,\).*\(3,\)"):
        s.infer_shape(x=(2,), y=(3,))
    arg_t, out_t, _ = g.infer_type(x="float64")
    assert arg_t[0] == np.float64 and out_t[0] == np.float64


def test_indexing_composition_and_attributes():
    data = mx.sym.Variable("data")
    net = mx.sym.exp(data, name="e")
    net2 = mx.sym.sin(mx.sym.Variable("inner"), name="s")
    composed = net2(inner=net)
    assert composed.list_arguments() == ["data"]
    g = mx.sym.Group([net, net2])
    assert g[1].name == "s" and g["e_output"].name == "e"
    with pytest.raises(IndexError):
        g[5]
    v = mx.sym.Variable("w", lr_mult=0.5, attr={"mood": "calm"})
    assert v.attr("lr_mult") == "0.5" and v.list_attr()["mood"] == "calm"
    assert mx.sym.Variable("w2", shape=(2, 3)).attr("__shape__") == "(2, 3)"


def test_json_round_trip_keeps_structure_and_values():
    g = expr_symbol()
    text = g.tojson()
    doc = json.loads(text)
    assert set(doc) >= {"nodes", "arg_nodes", "node_row_ptr", "heads", "attrs"}
    assert doc["attrs"]["mxnet_version"][0] == "int"
    back = mx.sym.load_json(text)
    assert back.list_arguments() == g.list_arguments() and back.list_outputs() == g.list_outputs()
    assert back.tojson() == text


def test_file_written_by_mxnet_loads_and_computes():
    s = mx.sym.load(str(FIX / "mxnet_expr-symbol.json"))
    assert s.list_arguments() == ["x", "w"] and s.list_outputs() == ["sum0_output", "relu0_output"]
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3)).astype(np.float32) * 0.3
    w = rng.standard_normal((3, 4)).astype(np.float32) * 0.3
    exe = s.bind(mx.cpu(), {"x": mx.nd.array(x), "w": mx.nd.array(w)})
    z, r = (o.asnumpy() for o in exe.forward())
    y = np.exp(x.astype(np.float64) @ w) * 2 + 1
    np.testing.assert_allclose(z, y.sum(axis=1, keepdims=True), rtol=1e-5)
    np.testing.assert_allclose(r, np.maximum(y - 3, 0), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["mxnet_lenet", "mxnet_bn"])
def test_mxnet_network_files_load(name):
    s = mx.sym.load(str(FIX / f"{name}-symbol.json"))
    if name == "mxnet_lenet":
        assert s.list_arguments()[:3] == ["data", "convolution0_weight", "convolution0_bias"]
        arg, out, _ = s.infer_shape(data=(4, 1, 28, 28))
        assert out == [(4, 10)] and arg[-1] == (4,)
    else:
        assert s.list_auxiliary_states() == ["bn_moving_mean", "bn_moving_var"]
        assert s.list_outputs() == ["softmax_output"]


@pytest.mark.skipif(not os.path.exists(MXNET_PY), reason="real MXNet 1.9.1 venv not installed here")
def test_files_mxcc_writes_load_in_real_mxnet(tmp_path):
    with mx.name.NameManager():
        g = expr_symbol()
    f = tmp_path / "g-symbol.json"
    g.save(str(f))
    code = ("import mxnet as mx, sys; s = mx.sym.load(sys.argv[1]); "
            "print(s.list_arguments(), s.list_outputs(), s.infer_shape(x=(2, 3))[1])")
    r = subprocess.run([MXNET_PY, "-c", code, str(f)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "['x', 'w'] ['sum0_output', 'relu0_output'] [(2, 1), (2, 4)]" in r.stdout


@pytest.mark.parametrize("text, match", [
    ("{not json", "not valid JSON"),
    ('{"nodes": 3}', "not an MXNet symbol file"),
    ('{"nodes": [{"op": "frobnicate", "name": "f0", "inputs": []}], "heads": [[0, 0, 0]]}',
     r"node 0 \('f0'\).*unknown operator 'frobnicate'"),
    ('{"nodes": [{"op": "null", "name": "x", "inputs": []}, {"op": "clip", "name": "c0", '
     '"attrs": {"a_min": "low", "a_max": "1"}, "inputs": [[0, 0, 0]]}], "heads": [[1, 0, 0]]}',
     r"node 1 \('c0'\).*a_min"),
    ('{"nodes": [{"op": "null", "name": "x", "inputs": []}, {"op": "exp", "name": "e", '
     '"inputs": [[5, 0, 0]]}], "heads": [[1, 0, 0]]}', r"node 1 \('e'\).*not an earlier node"),
    ('{"nodes": [{"op": "null", "name": "x", "inputs": []}, {"op": "exp", "name": "e", '
     '"attrs": {"bogus": "1"}, "inputs": [[0, 0, 0]]}], "heads": [[1, 0, 0]]}', r"node 1 \('e'\).*bogus"),
    ('{"nodes": [{"op": "null", "name": "x", "inputs": []}], "heads": []}', "no outputs"),
])
def test_malformed_json_names_the_problem(text, match):
    with pytest.raises(MXNetError, match=match):
        mx.sym.load_json(text)


def test_load_missing_file_and_atomic_save(tmp_path):
    with pytest.raises(FileNotFoundError):
        mx.sym.load(str(tmp_path / "nope-symbol.json"))
    f = tmp_path / "a-symbol.json"
    expr_symbol().save(str(f))
    assert json.loads(f.read_text())["heads"] and not list(tmp_path.glob("*.tmp"))


def test_symbol_methods_as_mxnet():
    """x.reshape / astype / swapaxes / reshape_like / zeros_like as MXNet's Symbol has them."""
    x = mx.sym.var("x")
    y = x.reshape((0, -1)).astype("float64")
    assert y.infer_shape(x=(2, 3, 4))[1] == [(2, 12)]
    assert mx.sym.var("x", shape=(2, 3, 4)).astype("float64").infer_type(x="float32")[1] == [np.float64]
    assert x.swapaxes(0, 1).infer_shape(x=(2, 3, 4))[1] == [(3, 2, 4)]
    ex = (x.zeros_like() + x.ones_like() * 2).bind(mx.cpu(), {"x": mx.nd.array([1.0, 5.0])})
    np.testing.assert_array_equal(ex.forward()[0].asnumpy(), [2.0, 2.0])
