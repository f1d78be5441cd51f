"""Walks the op registry: every op lowers to generated source through an existing kernel family,
every kernel compiles, and the frontends expose every op."""
from __future__ import annotations

import keyword
import os
import re
from concurrent.futures import ThreadPoolExecutor

import pytest

import mxcc as mx
from mxcc.codegen import emit_kernel, families, kernel_name, lower_node
from mxcc.codegen.program import RNG, Buf, Meta
from mxcc.ir import Attr, TensorType, registry
from mxcc.ir.attrs import attr_to_string
from mxcc.ir.samples import find_sample as _find_sample  # noqa: E402
from mxcc.ndarray.invoke import infer
from mxcc.runtime import toolchain_c


def sample(op):
    """(in_types, parsed attrs, out_types, Lowering) for some valid input of `op`."""
    found, errors = _find_sample(op)
    if found is None:
        pytest.fail(f"{op.name}: no valid sample input found; add one to SAMPLES in ir/samples.py. "
                    "Tried:\n" + "\n".join(errors[-3:]))
    return found


OPS = sorted(registry.all_ops(), key=lambda o: o.name)


def _n_params(decl: str) -> int:
    inside = decl[decl.index("(") + 1: decl.rindex(")")].strip()
    return 0 if inside in ("", "void") else inside.count(",") + 1


@pytest.mark.parametrize("op", OPS, ids=lambda o: o.name)
def test_op_lowers_to_generated_source(op):
    assert op.lower is not None, f"{op.name} has no lowering"
    in_types, attrs, out_types, low = sample(op)
    assert len(out_types) == op.outputs_for(attrs)
    assert all(t.known for t in out_types)
    fam = families.get(low.family)  # the family module exists
    hash(low.key())  # params are hashable: they key the compile cache
    kname = kernel_name(low)
    assert kname == kernel_name(lower_node(op.name, attrs, in_types, out_types)), "lowering is not deterministic"
    code, entries = fam.render(kname, low.params, "c")
    assert entries, f"{op.name}: family {low.family} rendered no entry points"
    for entry, decl in entries.items():
        assert re.search(rf"\b{re.escape(entry)}\s*\(", code), f"{entry} is declared but not defined"
        assert decl.startswith("int ") and decl.rstrip().endswith(";")
        m = re.fullmatch(r"int (\w+)\(([\w\s,]*)\);", decl.strip())
        assert m and m.group(1) == entry, decl
        for param in filter(None, (p.strip() for p in m.group(2).split(","))):
            # entry points take only integers, addresses as intptr_t, and doubles (docs/HACKING.md)
            assert param.split()[0] in ("int64_t", "int32_t", "intptr_t", "double"), f"{op.name}: {decl}"
    for launch in fam.plan(kname, low.params, low.args):
        assert launch.entry in entries, f"{op.name}: launch of unknown entry {launch.entry}"
        assert len(launch.args) == _n_params(entries[launch.entry]), f"{op.name}: {launch.entry} argument count"
        for a in launch.args:
            assert isinstance(a, (Buf, Meta, int, float)) or a is RNG, f"{op.name}: launch argument {a!r}"
            if isinstance(a, Buf):
                assert a.index < (len(out_types) if a.kind == "out" else len(in_types))
        assert all(isinstance(k, int) and isinstance(v, str) for k, v in launch.errors.items())


def test_every_kernel_compiles():
    """Each op's sample kernel, as the imperative path emits it (so the disk cache is shared)."""
    programs = {}
    for op in OPS:
        try:
            found, _ = _find_sample(op)
            prog = emit_kernel(found[3], "c")
        except Exception:  # reported by test_op_lowers_to_generated_source; compile the rest
            continue
        programs.setdefault(prog.name, prog)
    assert len(programs) > len(OPS) // 3  # distinct kernels: ops share many
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        paths = list(pool.map(lambda p: toolchain_c.build(p.source, p.name), programs.values()))
    assert all(p.is_file() for p in paths)


def test_attribute_defaults_survive_mxnets_json_spelling():
    for op in OPS:
        for name, a in op.attrs.items():
            assert isinstance(a, Attr), f"{op.name}.{name}"
            if a.required or a.default is None:
                continue
            assert a.parse(op.name, name, attr_to_string(a.default)) == a.default, f"{op.name}.{name}"
            assert a.parse(op.name, name, a.default) == a.default, f"{op.name}.{name}"


def test_ops_have_well_formed_definitions():
    names = registry.names()
    assert len(names) == len(set(names))
    for op in OPS:
        assert isinstance(op.inputs, tuple) and all(isinstance(n, str) for n in op.inputs), op.name
        assert not (set(op.inputs) & set(op.attrs)), f"{op.name}: an input and an attribute share a name"
        for alias in op.aliases:
            assert registry.get(alias) is op


def test_mx_nd_exposes_every_public_op():
    missing = []
    for name in registry.names():
        op = registry.get(name)
        if keyword.iskeyword(name):
            continue
        assert callable(getattr(mx.nd._internal, name, None)), f"mx.nd._internal.{name}"
        if not op.hidden and not name.startswith("_") and not callable(getattr(mx.nd, name, None)):
            missing.append(name)
    assert not missing, f"not in mx.nd: {missing}"


def test_nd_methods_exist():
    for op in OPS:
        if op.nd_method:
            assert callable(getattr(mx.nd.NDArray, op.nd_method, None)), f"NDArray.{op.nd_method} ({op.name})"


def test_hidden_ops_stay_out_of_mx_nd():
    for op in OPS:
        if op.hidden and not op.name.startswith("_"):
            fn = getattr(mx.nd, op.name, None)
            assert fn is None or getattr(fn, "__name__", "") != op.name, op.name


def test_generated_function_signature_and_doc():
    assert mx.nd.clip.__name__ == "clip"
    assert "a_min" in mx.nd.clip.__doc__ and "a_max" in mx.nd.clip.__doc__
    x = mx.nd.array([-2.0, 0.5, 3.0])
    assert mx.nd.clip(x, -1, 1).asnumpy().tolist() == [-1.0, 0.5, 1.0]  # positional attrs in declared order
    assert mx.nd.clip(data=x, a_min=-1, a_max=1).asnumpy().tolist() == [-1.0, 0.5, 1.0]
    assert mx.nd.clip(x, "-1", a_max="1").asnumpy().tolist() == [-1.0, 0.5, 1.0]  # MXNet's string attrs
    with pytest.raises(TypeError, match="clip"):
        mx.nd.clip(x, -1, 1, 5)
    with pytest.raises(TypeError, match="clip.*multiple"):
        mx.nd.clip(x, -1, a_min=1, a_max=2)
    with pytest.raises(TypeError, match="exp.*missing input 'data'"):
        mx.nd.exp()


def test_out_argument_of_generated_functions():
    x = mx.nd.array([1.0, 4.0])
    out = mx.nd.zeros(2)
    r = mx.nd.sqrt(x, out=out)
    assert r is out and out.asnumpy().tolist() == [1.0, 2.0]
    with pytest.raises(ValueError, match="sqrt.*out"):
        mx.nd.sqrt(x, out=mx.nd.zeros(3))
    with pytest.raises(ValueError, match="sqrt.*out"):
        mx.nd.sqrt(x, out=mx.nd.zeros(2, dtype="float64"))
    with pytest.raises(TypeError, match="sqrt.*out"):
        mx.nd.sqrt(x, out=[1, 2])


ELEMENTWISE_FAMILY_OPS = [op for op in OPS if op.name != "broadcast_to" and op.name.startswith(
    ("broadcast_", "elemwise_")) or op.name in (
    "exp", "sqrt", "relu", "clip", "where", "Cast", "_plus_scalar", "_rminus_scalar", "zeros_like")]


@pytest.mark.parametrize("op", ELEMENTWISE_FAMILY_OPS, ids=lambda o: o.name)
def test_new_shape_of_same_rank_needs_no_new_kernel(op):
    def name_for(shape):
        in_types, attrs, _, _ = sample(op)
        ins = [TensorType(shape, t.dtype) for t in in_types]
        return kernel_name(lower_node(op.name, attrs, ins, infer(op, ins, attrs)))

    assert name_for((2, 3)) == name_for((7, 5))
