"""A whole IR graph through the pipeline: verify, print, infer types, emit one C program, run it."""
import numpy as np
import pytest

from mxcc import codegen, ir, passes, runtime
from mxcc.ir import Graph, Node, TensorType, Value


def build(shape_x=(2, 3), shape_y=(3,)):
    x, y = Value(TensorType(shape_x), "x"), Value(TensorType(shape_y), "y")
    unknown = [TensorType(None)]
    mul = Node("broadcast_mul", {}, [x, y], unknown, name="mul0")
    ex = Node("exp", {}, mul.outputs, unknown, name="exp0")
    add = Node("_plus_scalar", {"scalar": "1.5"}, ex.outputs, unknown, name="plus0")
    return Graph([x, y], [add.outputs[0], mul.outputs[0], x])


def run_program(gp, inputs):
    lib = runtime.toolchain_c.load(gp.program.source, gp.program.cdecls, gp.program.name)
    outs = [np.empty(v, np.float32) for v in ((2, 3), (2, 3), (2, 3))]
    bufs = list(inputs) + outs
    io = np.array([b.ctypes.data for b in bufs], dtype=np.intp)
    arena = np.empty(max(gp.arena_bytes, 1), np.uint8)
    status = np.zeros(1, np.int64)
    rc = lib.fn(gp.run_entry)(io.ctypes.data, arena.ctypes.data, runtime.rng.ADDRESS, status.ctypes.data)
    return rc, outs


def test_graph_pipeline_runs_and_matches_numpy(monkeypatch):
    monkeypatch.setenv("MXCC_DISABLE_PASSES", "fuse")  # node by node here; tests/test_fuse.py fuses
    g = passes.run_pipeline(build())
    ir.verify(g)
    assert [str(v.type) for v in g.outputs] == ["float32[2,3]"] * 3
    listing = str(g)
    assert "broadcast_mul(%0, %1)" in listing and "exp(" in listing and "return" in listing
    gp = codegen.emit(g, "c")
    assert gp.arena_bytes >= 2 * 3 * 4  # exp's output is the one intermediate
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3)).astype(np.float32)
    y = rng.standard_normal(3).astype(np.float32)
    rc, (out, mul, xcopy) = run_program(gp, [x, y])
    assert rc == 0
    ref = np.exp(x.astype(np.float64) * y) + 1.5
    np.testing.assert_allclose(out, ref, rtol=1e-6)
    np.testing.assert_allclose(mul, x.astype(np.float64) * y, rtol=1e-6)
    np.testing.assert_array_equal(xcopy, x)


def test_emit_needs_known_types():
    with pytest.raises(ValueError, match="not fully known"):
        codegen.emit(build(), "c")


def test_infer_types_names_node_on_shape_error():
    with pytest.raises(ir.ShapeError, match=r"broadcast_mul.*\(2, 3\).*\(4,\).*mul0"):
        passes.run_pipeline(build(shape_y=(4,)))


def test_unknown_target_is_a_clear_error():
    g = passes.run_pipeline(build())
    with pytest.raises(ValueError, match="unknown code generation target 'vulkan'"):
        codegen.emit(g, "vulkan")
