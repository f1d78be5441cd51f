"""The IR: types, Graph/Node/Value, the printer, the verifier and typed attributes."""
from __future__ import annotations

import math

import numpy as np
import pytest

from mxcc.ir import (
    DTYPE_BY_FLAG,
    DTYPES,
    Attr,
    AttrError,
    Graph,
    MXNetError,
    ShapeError,
    TensorType,
    Value,
    VerifyError,
    dtype_name,
    print_graph,
    registry,
    topo_order,
    verify,
)
from mxcc.ir.attrs import attr_to_string, parse_attrs
from mxcc.ir.graph import Node

F23 = TensorType((2, 3))


def _graph():
    a, b = Value(F23, "a"), Value(TensorType((3,)), "b")
    add = Node("broadcast_add", {}, [a, b], [F23])
    plus = Node("_plus_scalar", {"scalar": 2.0}, [add.outputs[0]], [F23], name="plus0")
    clip = Node("clip", {"a_min": 0.0, "a_max": 1.0}, [plus.outputs[0]], [F23])
    return Graph([a, b], [clip.outputs[0], add.outputs[0]]), (a, b, add, plus, clip)


# ---- types --------------------------------------------------------------------------------------
def test_dtype_table_matches_mxnet_type_flags():
    flags = {"float32": 0, "float64": 1, "float16": 2, "uint8": 3, "int32": 4, "int8": 5, "int64": 6}
    assert {n: d.flag for n, d in DTYPES.items()} == flags
    assert all(DTYPE_BY_FLAG[f].name == n for n, f in flags.items())
    for name, d in DTYPES.items():
        assert d.np == np.dtype(name) and d.itemsize == np.dtype(name).itemsize
        assert d.is_float == (np.dtype(name).kind == "f")


@pytest.mark.parametrize("given,name", [(None, "float32"), ("float16", "float16"), (np.float64, "float64"),
                                        (np.dtype("int8"), "int8"), ("uint8", "uint8"), (int, "int64"),
                                        (float, "float64"), ("i4", "int32")])
def test_dtype_name(given, name):
    assert dtype_name(given) == name


@pytest.mark.parametrize("bad", ["bogus", "complex64", np.bool_, "float128", object])
def test_dtype_name_rejects(bad):
    with pytest.raises(TypeError, match="dtype"):
        dtype_name(bad)


def test_tensor_type():
    t = TensorType((2, 3), "int64")
    assert str(t) == "int64[2,3]" and t.ndim == 2 and t.known and t.size == 6 and t.nbytes == 48
    assert TensorType((2, 3)) == TensorType([2, 3]) and hash(TensorType((2, 3))) == hash(TensorType((2, 3)))
    assert TensorType((2, 3)).dtype == "float32"
    assert str(TensorType(None)) == "float32[?]" and not TensorType(None).known and TensorType(None).ndim is None
    assert str(TensorType((None, 4))) == "float32[?,4]" and not TensorType((None, 4)).known
    assert TensorType(()).size == 1 and str(TensorType(())) == "float32[]"
    with pytest.raises(TypeError):
        TensorType((2,), "complex64")


# ---- graph and printer ----------------------------------------------------------------------------
def test_printer_listing():
    g, _ = _graph()
    assert str(g) == print_graph(g) == (
        "graph(%0: float32[2,3]  # a, %1: float32[3]  # b) {\n"
        "  %2 = broadcast_add(%0, %1) : float32[2,3]\n"
        "  %3 = _plus_scalar(%2){scalar=2.0} : float32[2,3]  # plus0\n"
        "  %4 = clip(%3){a_min=0.0, a_max=1.0} : float32[2,3]\n"
        "  return %4, %2\n"
        "}"
    )


def test_printer_multiple_outputs_and_none_attrs():
    a = Value(TensorType((4,)))
    n = Node("fake_split", {"axis": None, "k": 2}, [a], [TensorType((2,)), TensorType((2,), "int32")])
    text = print_graph(Graph([a], n.outputs, [n]))
    assert "%1, %2 = fake_split(%0){k=2} : float32[2], int32[2]" in text
    assert text.splitlines()[0] == "graph(%0: float32[4]) {"


def test_nodes_and_values_link_up():
    _, (a, b, add, plus, clip) = _graph()
    out = add.outputs[0]
    assert out.producer is add and out.index == 0 and a.producer is None
    assert plus.inputs == [out] and plus.attrs == {"scalar": 2.0}
    assert len({a.id, b.id, out.id, plus.outputs[0].id}) == 4
    assert "a" in repr(a) and "float32[2,3]" in repr(a)


def test_topo_order_dependencies_and_sharing():
    g, (a, b, add, plus, clip) = _graph()
    assert g.nodes == [add, plus, clip]
    # a diamond: the shared node appears once, before both users
    x = Value(F23)
    s = Node("exp", {}, [x], [F23])
    left = Node("sin", {}, [s.outputs[0]], [F23])
    right = Node("cos", {}, [s.outputs[0]], [F23])
    join = Node("broadcast_mul", {}, [left.outputs[0], right.outputs[0]], [F23])
    order = topo_order([join.outputs[0]])
    assert order[0] is s and order[-1] is join and len(order) == 4
    verify(Graph([x], join.outputs))


def test_topo_order_deep_chain_has_no_recursion_limit():
    x = Value(F23)
    v = x
    for _ in range(5000):
        v = Node("negative", {}, [v], [F23]).outputs[0]
    g = Graph([x], [v])
    assert len(g.nodes) == 5000
    verify(g)


# ---- verifier -------------------------------------------------------------------------------------
def test_verify_accepts_a_good_graph():
    g, _ = _graph()
    assert verify(g) is g


def test_verify_catches_non_ssa():
    g, (a, b, add, plus, clip) = _graph()
    with pytest.raises(VerifyError, match="not SSA"):
        verify(Graph([a, b], g.outputs, [add, plus, add, clip]))
    with pytest.raises(VerifyError, match="twice"):
        verify(Graph([a, a], [a], []))


def test_verify_catches_use_before_definition():
    g, (a, b, add, plus, clip) = _graph()
    with pytest.raises(VerifyError, match="used before it is defined"):
        verify(Graph([a, b], g.outputs, [plus, add, clip]))  # out of order
    with pytest.raises(VerifyError, match="broadcast_add.*used before"):
        verify(Graph([a], g.outputs, [add, plus, clip]))  # b is not an input
    stray = Value(F23, "stray")
    with pytest.raises(VerifyError, match="not defined"):
        verify(Graph([a, b], [stray], [add]))


def test_verify_catches_unknown_op():
    x = Value(F23)
    n = Node("no_such_op", {}, [x], [F23])
    with pytest.raises(VerifyError, match="no_such_op"):
        verify(Graph([x], n.outputs))


@pytest.mark.parametrize("attrs,pattern", [
    ({"a_min": "abc", "a_max": 1.0}, "a_min"),
    ({"a_min": 0.0}, "a_max"),
    ({"a_min": 0.0, "a_max": 1.0, "bogus": 1}, "bogus"),
])
def test_verify_catches_bad_attrs(attrs, pattern):
    x = Value(F23)
    n = Node("clip", attrs, [x], [F23], name="clip7")
    with pytest.raises(VerifyError, match=f"clip.*{pattern}"):
        verify(Graph([x], n.outputs))


@pytest.mark.parametrize("out_types", [[TensorType((3, 2))], [TensorType((2, 3), "float64")],
                                       [F23, F23]])
def test_verify_catches_type_mismatch(out_types):
    x = Value(F23)
    n = Node("exp", {}, [x], out_types)
    with pytest.raises(VerifyError, match="disagree with inference"):
        verify(Graph([x], n.outputs))


def test_verify_catches_inputs_the_op_cannot_take():
    x, y = Value(F23), Value(TensorType((4,)))
    n = Node("broadcast_add", {}, [x, y], [F23])
    with pytest.raises(VerifyError, match=r"broadcast_add.*\(2, 3\).*\(4,\)"):
        verify(Graph([x, y], n.outputs))
    z = Value(TensorType((2, 3), "int32"))
    n = Node("broadcast_add", {}, [x, z], [F23])
    with pytest.raises(VerifyError, match="dtype"):
        verify(Graph([x, z], n.outputs))
    n = Node("exp", {}, [x, x], [F23])
    with pytest.raises(VerifyError, match="exp.*input"):
        verify(Graph([x], n.outputs))


def test_verify_catches_output_back_pointer():
    x = Value(F23)
    n = Node("exp", {}, [x], [F23])
    n.outputs[0].index = 3
    with pytest.raises(VerifyError, match="point back"):
        verify(Graph([x], n.outputs))


def test_verify_skips_inference_for_unknown_input_types():
    x = Value(TensorType((None, 3)))
    n = Node("exp", {}, [x], [TensorType(None)])
    verify(Graph([x], n.outputs))


def test_verify_error_is_a_value_error():
    assert issubclass(VerifyError, ValueError)
    assert issubclass(ShapeError, MXNetError) and issubclass(ShapeError, ValueError)
    assert issubclass(MXNetError, RuntimeError)


# ---- registry -----------------------------------------------------------------------------------
def test_registry_lookup_and_errors():
    assert registry.get("cast") is registry.get("Cast")
    assert registry.get("identity") is registry.get("_copy")
    with pytest.raises(KeyError, match="no_such_op"):
        registry.get("no_such_op")
    with pytest.raises(KeyError, match="twice"):
        registry.register(registry.get("exp"))
    with pytest.raises(ShapeError, match="exp.*expected 1 input"):
        registry.get("exp").infer_types([F23, F23], {})
    names = [op.name for op in registry.all_ops()]
    assert len(names) == len(set(names)) and "Cast" in names and "cast" not in names


# ---- attributes -----------------------------------------------------------------------------------
@pytest.mark.parametrize("kind,given,parsed", [
    ("int", "3", 3), ("int", "-1", -1), ("int", 4, 4), ("int", np.int64(5), 5), ("int", 2.0, 2),
    ("float", "0.5", 0.5), ("float", "1e-3", 1e-3), ("float", 2, 2.0), ("float", "-3", -3.0),
    ("float", "inf", math.inf), ("float", "-inf", -math.inf),
    ("bool", "True", True), ("bool", "False", False), ("bool", "1", True), ("bool", "0", False),
    ("bool", "true", True), ("bool", True, False or True), ("bool", 0, False), ("bool", np.bool_(True), True),
    ("shape", "(2, 3)", (2, 3)), ("shape", "[2,3]", (2, 3)), ("shape", "(2,)", (2,)), ("shape", "()", ()),
    ("shape", "5", (5,)), ("shape", (4, 5), (4, 5)), ("shape", [1], (1,)), ("shape", 7, (7,)),
    ("shape", (np.int64(2), 3), (2, 3)),
    ("axes", "(0, -1)", (0, -1)), ("axes", 1, (1,)),
    ("axis", "None", None), ("axis", None, None), ("axis", "-1", -1), ("axis", 2, 2),
    ("dtype", "float16", "float16"), ("dtype", np.int8, "int8"), ("dtype", "int64", "int64"),
    ("str", "abc", "abc"), ("enum", "valid", "valid"),
    ("floats", "(0.1, 0.2)", (0.1, 0.2)), ("floats", 0.5, (0.5,)), ("floats", "[1, 2]", (1.0, 2.0)),
])
def test_attr_parses_python_values_and_json_strings(kind, given, parsed):
    attr = Attr(kind, None if kind == "axis" else Attr(kind).default, choices={"valid", "same"} if kind == "enum"
                else None)
    out = attr.parse("someop", "x", given)
    assert out == parsed and type(out) is type(parsed)
    hash(out)  # parsed attributes key kernel caches


def test_attr_float_nan():
    assert math.isnan(Attr("float").parse("op", "x", "nan"))


@pytest.mark.parametrize("kind,bad", [
    ("int", "2.5"), ("int", True), ("int", "abc"), ("int", [1]), ("float", "abc"), ("float", "(1, 2)"),
    ("bool", "maybe"), ("bool", "2"), ("shape", "(2, 3.5)"), ("shape", "(True, 2)"), ("shape", "abc"),
    ("axes", "(0, 'a')"), ("floats", "('a',)"),
])
def test_attr_rejects_bad_values_naming_op_and_attr(kind, bad):
    with pytest.raises(AttrError, match=r"myop.*'x'"):
        Attr(kind).parse("myop", "x", bad)


def test_attr_dtype_errors_are_type_errors():
    with pytest.raises(TypeError, match=r"Cast.*bogus"):
        Attr("dtype").parse("Cast", "dtype", "bogus")
    with pytest.raises(ValueError):
        Attr("dtype").parse("Cast", "dtype", "bogus")


def test_attr_choices_low_and_required():
    e = Attr("enum", "a", choices={"a", "b"})
    assert e.parse("op", "mode", "b") == "b"
    with pytest.raises(AttrError, match=r"op: attribute 'mode' must be one of \['a', 'b'\]"):
        e.parse("op", "mode", "c")
    low = Attr("int", 1, low=1)
    assert low.parse("op", "n", "3") == 3
    with pytest.raises(AttrError, match=">= 1"):
        low.parse("op", "n", 0)
    with pytest.raises(AttrError, match="required"):
        Attr("float").parse("op", "a_min", "None")


def test_parse_attrs_defaults_unknown_and_missing():
    schema = {"axis": Attr("axis", None), "keepdims": Attr("bool", False), "shape": Attr("shape", ()),
              "scale": Attr("float")}
    assert parse_attrs("op", schema, {"scale": "2", "keepdims": "True"}) == {
        "axis": None, "keepdims": True, "shape": (), "scale": 2.0}
    with pytest.raises(AttrError, match=r"op: unknown attribute\(s\) \['bogus'\]"):
        parse_attrs("op", schema, {"scale": 1, "bogus": 2})
    with pytest.raises(AttrError, match="missing required attribute 'scale'"):
        parse_attrs("op", schema, {})


def test_registry_ops_parse_mxnet_json_attrs():
    assert registry.get("clip").parse_attrs({"a_min": "-1", "a_max": "1.5"}) == {"a_min": -1.0, "a_max": 1.5}
    assert registry.get("Cast").parse_attrs({"dtype": "float16"}) == {"dtype": "float16"}
    arange = registry.get("_arange").parse_attrs({"start": "0", "stop": "None", "step": "1.0", "repeat": "2",
                                                  "infer_range": "False", "dtype": "int32"})
    assert arange == {"start": 0.0, "stop": None, "step": 1.0, "repeat": 2, "infer_range": False, "dtype": "int32"}
    assert registry.get("_zeros").parse_attrs({"shape": "(2, 3)"}) == {"shape": (2, 3), "dtype": "float32"}


@pytest.mark.parametrize("value,text", [
    (True, "True"), (False, "False"), ((2, 3), "(2, 3)"), ((2,), "(2,)"), ((), "()"), (1.5, "1.5"),
    (math.inf, "inf"), (-math.inf, "-inf"), (3, "3"), ("float16", "float16"), (None, "None"),
])
def test_attr_to_string_is_mxnets_spelling_and_round_trips(value, text):
    assert attr_to_string(value) == text
    kind = {bool: "bool", tuple: "shape", float: "float", int: "int", str: "dtype"}.get(type(value), "axis")
    default = None if value is None else Attr(kind).default
    assert Attr(kind, default).parse("op", "x", text) == value
