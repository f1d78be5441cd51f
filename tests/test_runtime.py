"""The runtime: C toolchain and on-disk kernel cache, statistics, and the asynchronous engine."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
import uuid

import numpy as np
import pytest

import mxcc as mx
from mxcc import runtime
from mxcc.codegen.templates import render as render_template
from mxcc.ndarray import invoke as invoke_mod
from mxcc.runtime import cache, toolchain_c
from mxcc.runtime.engine import Engine

CDECLS = """
int mxt_answer(int64_t x);
int mxt_fill(int64_t n, intptr_t out_, double v);
int mxt_sleep_fill(int64_t ms, int64_t n, intptr_t out_, double v);
int mxt_fail(int64_t code);
"""


def _source(tag=None) -> str:
    """A small translation unit; `tag` makes it (and so its cache key) new."""
    tag = tag or uuid.uuid4().hex
    return render_template("c", "prelude.j2") + textwrap.dedent(f"""
        #include <unistd.h>
        /* test kernel {tag} */
        MX_EXPORT int mxt_answer(int64_t x) {{ return (int)(x * 21); }}
        MX_EXPORT int mxt_fill(int64_t n, intptr_t out_, double v) {{
          double* out = (double*)out_;
          for (int64_t i = 0; i < n; i++) out[i] = v;
          return 0;
        }}
        MX_EXPORT int mxt_sleep_fill(int64_t ms, int64_t n, intptr_t out_, double v) {{
          usleep((useconds_t)(ms * 1000));
          return mxt_fill(n, out_, v);
        }}
        MX_EXPORT int mxt_fail(int64_t code) {{ return (int)code; }}
    """)


@pytest.fixture(scope="module")
def lib():
    """The test kernels, loaded once (from the shared cache) for the engine tests."""
    return toolchain_c.load(_source("engine-tests-v1"), CDECLS, "mxt_engine")


def _entry_files(directory):
    return sorted(p.name for p in directory.rglob("*") if p.is_file())


def _replace_file(path, data: bytes):
    """Overwrite through a new inode: a mapping of the old file stays valid in this process."""
    tmp = path.with_name(path.name + ".test")
    tmp.write_bytes(data)
    os.replace(tmp, path)


# ---- toolchain and disk cache ---------------------------------------------------------------------
def test_compile_load_call_and_disk_hit(fresh_cache):
    src = _source()
    runtime.reset_stats()
    lib1 = toolchain_c.load(src, CDECLS, "t")
    assert lib1.fn("mxt_answer")(2) == 42
    s = runtime.stats()
    assert s["kernels_compiled"] == 1 and s["disk_cache_hits"] == 0 and s["compile_seconds"] > 0
    so, sidecar = cache.entry_paths(toolchain_c.cache_key(src))
    assert so.is_file() and sidecar.is_file() and str(so).startswith(str(fresh_cache))
    assert not [n for n in _entry_files(fresh_cache) if n.endswith(".tmp")]
    path = toolchain_c.build(src, "t")
    assert path == so
    s = runtime.stats()
    assert s["kernels_compiled"] == 1 and s["disk_cache_hits"] == 1


def test_cache_key_depends_on_source_flags_and_compiler(monkeypatch):
    src = _source("key")
    k = toolchain_c.cache_key(src)
    assert k == toolchain_c.cache_key(src)
    assert k != toolchain_c.cache_key(src + "\n")
    assert k != toolchain_c.cache_key(src, flags=toolchain_c.CFLAGS + ("-DX",))
    monkeypatch.setenv("CC", "cc -DMXCC_TEST_FLAG=1")
    assert toolchain_c.cache_key(src) != k


def _damage(kind, so, sidecar):
    if kind == "corrupt_so":
        data = bytearray(so.read_bytes())
        data[len(data) // 2: len(data) // 2 + 64] = os.urandom(64)
        _replace_file(so, bytes(data))
    elif kind == "truncated_so":
        _replace_file(so, so.read_bytes()[:100])
    elif kind == "empty_so":
        _replace_file(so, b"")
    elif kind == "missing_so":
        so.unlink()
    elif kind == "corrupt_sidecar":
        _replace_file(sidecar, b"0123456789abcdef\n")
    elif kind == "empty_sidecar":
        _replace_file(sidecar, b"")
    elif kind == "missing_sidecar":
        sidecar.unlink()
    elif kind == "garbage_so_with_matching_sidecar":  # passes the checksum, fails to load
        import hashlib

        junk = b"not an ELF file" * 10
        _replace_file(so, junk)
        _replace_file(sidecar, (hashlib.sha256(junk).hexdigest() + "\n").encode())
    else:
        raise AssertionError(kind)


@pytest.mark.parametrize("kind", ["corrupt_so", "truncated_so", "empty_so", "missing_so", "corrupt_sidecar",
                                  "empty_sidecar", "missing_sidecar", "garbage_so_with_matching_sidecar"])
def test_damaged_cache_entry_is_rebuilt(fresh_cache, kind):
    src = _source()
    so = toolchain_c.build(src, "t")  # compiled, not loaded: nothing of it is mapped in this process
    sidecar = cache.entry_paths(toolchain_c.cache_key(src))[1]
    _damage(kind, so, sidecar)
    runtime.reset_stats()
    lib = toolchain_c.load(src, CDECLS, "t")
    assert lib.fn("mxt_answer")(3) == 63
    assert runtime.stats()["kernels_compiled"] == 1
    assert cache.lookup(toolchain_c.cache_key(src)) == so  # the entry is whole again


_RACE = textwrap.dedent("""
    import sys, time
    from mxcc import runtime
    from mxcc.runtime import toolchain_c
    src = open(sys.argv[1]).read()
    start = float(sys.argv[2])
    while time.time() < start:
        time.sleep(0.001)
    lib = toolchain_c.load(src, "int mxt_answer(int64_t x);", "race")
    print(lib.fn("mxt_answer")(2), runtime.stats()["kernels_compiled"])
""")


def test_processes_compiling_the_same_new_kernel_concurrently(tmp_path):
    cache_dir = tmp_path / "shared-cache"
    src_file = tmp_path / "kernel.c"
    # a translation unit that takes a while to compile widens the race window
    body = "".join(f"int mxt_pad{i}(int64_t x) {{ return (int)(x * {i} % 7); }}\n" for i in range(150))
    src_file.write_text(_source() + body)
    env = dict(os.environ, MXCC_CACHE_DIR=str(cache_dir))
    start = time.time() + 2.0
    procs = [subprocess.Popen([sys.executable, "-c", _RACE, str(src_file), str(start)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [p.communicate(timeout=180) for p in procs]
    for p, (out, err) in zip(procs, results):
        assert p.returncode == 0, err
        assert out.split()[0] == "42", out
    names = _entry_files(cache_dir)
    assert len([n for n in names if n.endswith(".so")]) == 1, names
    assert len([n for n in names if n.endswith(".sha256")]) == 1, names
    assert not [n for n in names if n.endswith(".tmp")], names
    # and the entry they left behind is intact
    check = subprocess.run([sys.executable, "-c", _RACE, str(src_file), "0"], env=env, capture_output=True,
                           text=True, timeout=120)
    assert check.returncode == 0 and check.stdout.split() == ["42", "0"], check.stderr


def test_missing_compiler_names_it(fresh_cache, monkeypatch):
    monkeypatch.setenv("CC", "/nonexistent")
    with pytest.raises(toolchain_c.CompileError, match="/nonexistent") as e:
        toolchain_c.load(_source(), CDECLS, "t")
    assert isinstance(e.value, mx.MXNetError)
    assert "CC" in str(e.value)


def test_failing_compile_names_the_generated_source(fresh_cache):
    bad = _source() + "\nint broken(void) { return undeclared_thing; }\n"
    with pytest.raises(toolchain_c.CompileError) as e:
        toolchain_c.load(bad, CDECLS, "broken_kernel")
    msg = str(e.value)
    assert "broken_kernel" in msg and "undeclared_thing" in msg  # the compiler's stderr
    path = msg.split("generated source: ", 1)[1].split()[0]
    assert os.path.isfile(path) and open(path).read() == bad
    assert not [n for n in _entry_files(fresh_cache) if n.endswith((".so", ".tmp"))]


def test_stats_count_compiles_and_hits(fresh_cache):
    x = mx.nd.array([1.0, 2.0, 3.0], dtype="float64")
    y = mx.nd.array([4.0, 5.0], dtype="float64")
    _ = (x * 3).asnumpy()
    runtime.reset_stats()
    assert runtime.stats() == {"kernels_compiled": 0, "cache_hits": 0, "disk_cache_hits": 0,
                               "compile_seconds": 0.0}
    # a new shape of a kernel this process already loaded: no compile, an in-process hit
    assert (y * 3).asnumpy().tolist() == [12.0, 15.0]
    s = runtime.stats()
    assert s["kernels_compiled"] == 0 and s["cache_hits"] >= 1
    # the same source again through the toolchain: found on disk, compiled once
    src = _source()
    toolchain_c.build(src, "t")
    toolchain_c.build(src, "t")
    s = runtime.stats()
    assert s["kernels_compiled"] == 1 and s["disk_cache_hits"] == 1


# ---- engine ---------------------------------------------------------------------------------------
def _wait_quietly():
    try:
        mx.nd.waitall()
    except mx.MXNetError:
        pass


def _push_failure(out, op="my_take", code=3, inline=True, lib=None):
    eng = out._var.engine
    calls = [(lib.fn("mxt_fail"), [code], {3: "index 7 is out of range for axis 0 of size 4"})]
    eng.push(calls, op, [out._var], [], None, inline)


@pytest.fixture(autouse=False)
def clean_engine():
    _wait_quietly()
    yield
    _wait_quietly()


@pytest.mark.parametrize("inline", [True, False])
@pytest.mark.parametrize("sync", ["wait_to_read", "asnumpy", "waitall"])
def test_kernel_error_surfaces_at_sync_naming_op(lib, clean_engine, sync, inline):
    out = mx.nd.zeros(4, dtype="float64")
    _push_failure(out, inline=inline, lib=lib)
    with pytest.raises(mx.MXNetError, match="my_take: index 7 is out of range"):
        if sync == "waitall":
            mx.nd.waitall()
        else:
            getattr(out, sync)()
    # raised once (MXNet's rethrow semantics): later synchronisations are clean
    mx.nd.waitall()
    out.wait_to_read()
    assert out.asnumpy().shape == (4,)


def test_unknown_error_code_still_names_op(lib, clean_engine):
    out = mx.nd.zeros(2, dtype="float64")
    _push_failure(out, op="mystery_op", code=9, lib=lib)
    with pytest.raises(mx.MXNetError, match="mystery_op.*9"):
        out.asnumpy()


def test_error_flows_to_results_computed_from_it(lib, clean_engine):
    out = mx.nd.zeros(4, dtype="float64")
    _push_failure(out, lib=lib)
    derived = mx.nd.exp(out + 1)  # issued after the failure, before anyone synchronised
    with pytest.raises(mx.MXNetError, match="my_take"):
        derived.asnumpy()
    mx.nd.waitall()


def test_error_raised_once_for_views_sharing_storage(lib, clean_engine):
    out = mx.nd.zeros((2, 2), dtype="float64")
    _push_failure(out, lib=lib)
    a, b = out[0], out[1]
    with pytest.raises(mx.MXNetError):
        a.asnumpy()
    b.asnumpy()  # MXNet's test_exc_post_fail: the failure was already reported


def test_python_exception_inside_a_call_becomes_mxnet_error(clean_engine):
    out = mx.nd.zeros(2)

    def boom():
        raise ZeroDivisionError("kaboom")

    out._var.engine.push([(boom, [], {})], "py_op", [out._var], [], None, False)
    with pytest.raises(mx.MXNetError, match="py_op: ZeroDivisionError: kaboom"):
        out.wait_to_read()


def test_queued_call_runs_asynchronously_and_in_order(lib, clean_engine):
    out = mx.nd.zeros(8, dtype="float64")
    eng = out._var.engine
    t0 = time.perf_counter()
    eng.push([(lib.fn("mxt_sleep_fill"), [300, 8, out._ptr, 5.0], {})], "slow_fill", [out._var], [], out, False)
    issued_in = time.perf_counter() - t0
    assert issued_in < 0.15, "push must not wait for the kernel"
    y = out + 1  # small, but issued behind the pending write: must see its result
    assert y.asnumpy().tolist() == [6.0] * 8
    assert time.perf_counter() - t0 >= 0.25
    assert out.asnumpy().tolist() == [5.0] * 8


def test_large_imperative_calls_go_through_the_queue(clean_engine):
    n = invoke_mod.INLINE_MAX * 2
    x = mx.nd.ones(n)
    mx.nd.waitall()
    eng = x._var.engine
    before = eng.issued
    y = x * 3 + 1
    assert eng.issued == before + 2
    got = y.asnumpy()
    assert got.shape == (n,) and got.min() == 4 and got.max() == 4
    mx.nd.waitall()
    before = eng.issued
    small = mx.nd.ones(3) + 1  # a small call on an idle engine runs inline
    assert eng.issued == before and small.asnumpy().tolist() == [2, 2, 2]


def test_queue_is_bounded(lib):
    eng = Engine("test-bounded", max_pending=2)
    bufs = [np.zeros(4) for _ in range(5)]
    peak = 0
    for b in bufs:
        var = runtime.Var(eng)
        eng.push([(lib.fn("mxt_sleep_fill"), [40, 4, b.ctypes.data, 1.0], {})], "fill", [var], [], b, False)
        peak = max(peak, eng.issued - eng.completed)
    assert peak <= 2
    eng.wait_all()
    assert eng.completed == 5 and all(b.tolist() == [1.0] * 4 for b in bufs)


def test_waitall_from_another_thread_sees_pending_work(lib, clean_engine):
    out = mx.nd.zeros(4, dtype="float64")
    out._var.engine.push([(lib.fn("mxt_sleep_fill"), [150, 4, out._ptr, 2.0], {})], "slow", [out._var], [], out,
                         False)
    done = []
    t = threading.Thread(target=lambda: (mx.nd.waitall(), done.append(out._data.tolist())))
    t.start()
    t.join(10)
    assert done == [[2.0] * 4]


def test_reading_across_devices_waits_for_the_writer(lib, clean_engine):
    src = mx.nd.zeros(8, dtype="float64")  # cpu(0)
    src._var.engine.push([(lib.fn("mxt_sleep_fill"), [200, 8, src._ptr, 7.0], {})], "slow", [src._var], [], src,
                         False)
    copy = src.as_in_context(mx.cpu(1))  # runs on cpu(1)'s engine
    assert copy.asnumpy().tolist() == [7.0] * 8


def test_writing_an_array_of_another_device(lib, clean_engine):
    with mx.cpu(1):
        dst = mx.nd.zeros(invoke_mod.INLINE_MAX * 2)
    src = mx.nd.ones(dst.shape) * 5  # queued on cpu(0)
    src.copyto(dst)  # a cpu(0) call writing cpu(1)'s buffer
    result = []
    t = threading.Thread(target=lambda: result.append(dst.asnumpy()))
    t.start()
    t.join(20)
    assert not t.is_alive(), "waiting on the destination must not hang"
    assert result[0].min() == 5 and result[0].max() == 5
    assert ((dst + 1).asnumpy() == 6).all()  # and cpu(1) orders later calls after that write


def _take_raise(n):
    x = mx.nd.arange(12).reshape((3, 4))
    idx = mx.nd.array(([0, 5] * n)[:n] if n > 1 else [5])
    return mx.nd.take(x, idx, mode="raise")


@pytest.mark.parametrize("n", [1, invoke_mod.INLINE_MAX])  # inline, and queued on the engine
@pytest.mark.parametrize("sync", ["wait_to_read", "asnumpy", "waitall"])
def test_a_real_kernel_error_surfaces_at_sync(clean_engine, n, sync):
    if not hasattr(mx.nd, "take"):
        pytest.skip("take is not registered")
    y = _take_raise(n)  # issuing does not raise: the kernel reports at the next synchronisation
    with pytest.raises(mx.MXNetError, match=r"take: index out of range"):
        mx.nd.waitall() if sync == "waitall" else getattr(y, sync)()
    mx.nd.waitall()
