"""Building small IR graphs by hand and running them with the fuse pass on and off (the fuse tests)."""
import numpy as np

from mxcc.compiled import CompiledGraph
from mxcc.ir import Node, TensorType, Value, registry, verify
from mxcc.passes.fuse import fuse
from mxcc.passes.infer_types import infer_types

ON = [("infer_types", infer_types), ("fuse", fuse)]
OFF = [("infer_types", infer_types)]


def op(name, *inputs, **attrs):
    """One typed node; its (first) output."""
    opdef = registry.get(name)
    types = opdef.infer_types([v.type for v in inputs], opdef.parse_attrs(attrs))
    return Node(name, attrs, list(inputs), types).outputs[0]


def var(name, shape, dtype="float32"):
    return Value(TensorType(shape, dtype), name)


def rand(shape, dtype="float32", seed=0, lo=-1.0, hi=1.0):
    return np.random.default_rng(seed).uniform(lo, hi, shape).astype(dtype)


def f64(a):
    return np.asarray(a, np.float64)


def both(graph, *inputs, rtol=1e-5, atol=1e-6):
    """Run with the pass on and off; assert equal; return (outputs, fused graph)."""
    on = CompiledGraph(graph, passes=ON)
    off = CompiledGraph(graph, passes=OFF)
    r_on, r_off = on(*inputs), off(*inputs)
    for a, b in zip(r_on, r_off):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)
    verify(on.graph)
    return r_on, on.graph
