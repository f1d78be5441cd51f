"""Micro-benchmarks: mxcc beside numpy in the same run (medians of several runs).

    .venv/bin/python benchmarks/micro.py            # everything
    .venv/bin/python benchmarks/micro.py --quick    # fewer repeats
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from common import machine, median_time, table  # noqa: E402

import mxcc as mx  # noqa: E402


def tiny_ops(repeat):
    """Microseconds per tiny imperative op, shape (10,), synchronised at the end of each run."""
    a, b = mx.nd.ones((10,)), mx.nd.ones((10,))
    na, nb = np.ones(10, np.float32), np.ones(10, np.float32)
    n = 20000
    cases = [
        ("a + b", lambda: a + b, lambda: na + nb),
        ("a * 2.0", lambda: a * 2.0, lambda: na * 2.0),
        ("exp(a)", lambda: mx.nd.exp(a), lambda: np.exp(na)),  # numpy here is the competitor, not mxcc
    ]
    rows = []
    for name, f, g in cases:
        def run_mx():
            for _ in range(n):
                f()
            mx.nd.waitall()

        def run_np():
            for _ in range(n):
                g()

        t_mx = median_time(run_mx, repeat) / n * 1e6
        t_np = median_time(run_np, repeat) / n * 1e6
        rows.append((f"tiny op {name} (10,)", f"{t_mx:.2f} us", f"{t_np:.2f} us", f"{t_np / t_mx:.2f}x"))
    return rows


def fma_bandwidth(repeat):
    """GB/s for a*b + c on 10M float32 (counting 3 reads + 1 write of 40 MB each)."""
    n = 10_000_000
    rng = np.random.default_rng(0)
    na, nb, nc = (rng.standard_normal(n, dtype=np.float32) for _ in range(3))
    a, b, c = mx.nd.array(na), mx.nd.array(nb), mx.nd.array(nc)

    def run_mx():
        (a * b + c).wait_to_read()

    t_mx = median_time(run_mx, repeat)
    t_np = median_time(lambda: na * nb + nc, repeat)
    gb = 4 * n * 4 / 1e9
    return [("a*b + c, 10M float32", f"{gb / t_mx:.1f} GB/s", f"{gb / t_np:.1f} GB/s", f"{t_np / t_mx:.2f}x")]


def sgemm(repeat, sizes=(256, 1024, 2048)):
    if not hasattr(mx.nd, "dot"):
        return [("sgemm", "dot not built yet", "", "")]
    rows = []
    rng = np.random.default_rng(0)
    for s in sizes:
        na, nb = rng.standard_normal((s, s), dtype=np.float32), rng.standard_normal((s, s), dtype=np.float32)
        a, b = mx.nd.array(na), mx.nd.array(nb)
        r = max(3, repeat if s < 2048 else 3)
        t_mx = median_time(lambda: mx.nd.dot(a, b).wait_to_read(), r)
        t_np = median_time(lambda: na @ nb, r)
        gf = 2 * s ** 3 / 1e9
        rows.append((f"sgemm {s}^3 float32", f"{gf / t_mx:.1f} GFLOP/s", f"{gf / t_np:.1f} GFLOP/s",
                     f"{t_np / t_mx:.2f}x"))
    return rows


COLD_SCRIPT = r"""
import json, time
t = time.perf_counter()
import mxcc as mx
a = mx.nd.array([[1, 2, 3], [4, 5, 6]]); b = mx.nd.ones((3,))
outs = [a + b, a * b, a - 1, mx.nd.exp(a), mx.nd.relu(a), a > 2]
for name in ("sum", "softmax", "dot", "transpose"):
    f = getattr(mx.nd, name, None)
    if f is not None:
        outs.append(f(a) if name != "dot" else f(a, a.T))
mx.nd.waitall()
s = mx.runtime.stats()
s["wall_seconds"] = time.perf_counter() - t
print(json.dumps(s))
"""


def cold_compile():
    with tempfile.TemporaryDirectory() as d:
        env = dict(os.environ, MXCC_CACHE_DIR=d)
        r = subprocess.run([sys.executable, "-c", COLD_SCRIPT], env=env, capture_output=True, text=True, check=True)
        cold = json.loads(r.stdout.strip().splitlines()[-1])
        r = subprocess.run([sys.executable, "-c", COLD_SCRIPT], env=env, capture_output=True, text=True, check=True)
        warm = json.loads(r.stdout.strip().splitlines()[-1])
    return [
        ("cold run (empty kernel cache)", f"{cold['kernels_compiled']} kernels, {cold['compile_seconds']:.2f} s "
         f"compiling, {cold['wall_seconds']:.2f} s wall", "", ""),
        ("warm run (disk cache)", f"{warm['kernels_compiled']} compiled, {warm['disk_cache_hits']} disk hits, "
         f"{warm['wall_seconds']:.2f} s wall", "", ""),
    ]


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--only", nargs="*", help="tiny fma sgemm cold")
    args = p.parse_args()
    repeat = 3 if args.quick else 7
    sections = {"tiny": lambda: tiny_ops(repeat), "fma": lambda: fma_bandwidth(repeat),
                "sgemm": lambda: sgemm(repeat), "cold": cold_compile}
    extra = {}
    try:
        import micro_extra  # issue-specific rows (FFT, linalg, ...) live beside this file

        extra = micro_extra.SECTIONS
    except ImportError:
        pass
    sections.update({k: (lambda f=f: f(repeat)) for k, f in extra.items()})
    rows = []
    for name, fn in sections.items():
        if args.only and name not in args.only:
            continue
        rows.extend(fn())
    print(f"# mxcc micro-benchmarks, {datetime.date.today()} on {machine()}")
    print(f"# OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}, numpy {np.__version__}, "
          f"command: {' '.join([os.path.basename(sys.executable)] + sys.argv)}")
    print(table(rows, ("benchmark", "mxcc", "numpy", "mxcc speed vs numpy")))


if __name__ == "__main__":
    t0 = time.perf_counter()
    main()
    print(f"# took {time.perf_counter() - t0:.0f} s")
