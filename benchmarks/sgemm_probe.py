"""sgemm probe: numpy (OpenBLAS) vs mx.nd.dot GFLOP/s, square float32 products.

Usage: python benchmarks/sgemm_probe.py [sizes...] [--runs R] [--dtype float32] [--ta] [--tb] [--single]
Prints a table; never fails. Figures are the median (and best) of R timed runs after a warm-up
(the warm-up also compiles the kernel and lets OpenBLAS start its threads).

--single runs both sides on one thread (OMP_NUM_THREADS=OPENBLAS_NUM_THREADS=1) and times
them in process CPU time, which other load on a shared machine barely disturbs: it compares
the kernels, where the default wall-clock run compares what a user sees.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

if "--single" in sys.argv and os.environ.get("OMP_NUM_THREADS") != "1":
    os.environ.update(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    os.execv(sys.executable, [sys.executable, *sys.argv])

import numpy as np  # noqa: E402  (after the thread settings above)

import mxcc as mx  # noqa: E402

_clock = time.process_time if "--single" in sys.argv else time.perf_counter


def _timed(fn):
    t = _clock()
    fn()
    return _clock() - t


def _race(fns, runs, rounds=3, pause=0.3):
    """Median and best seconds of each fn, over `rounds` rounds of `runs` back-to-back calls
    per fn. Blocks alternate between the fns, so a burst of load from elsewhere on the
    machine hits both sides alike, and a pause between blocks lets one library's idle
    threads stop spinning (OpenBLAS's spin for a while after each call) before the other runs;
    each block starts with an untimed call, so it measures the steady state."""
    for fn in fns:
        fn()
        fn()
    times = [[] for _ in fns]
    for _ in range(rounds):
        for ts, fn in zip(times, fns):
            time.sleep(pause)
            fn()  # untimed: wakes the side's sleeping threads
            ts.extend(_timed(fn) for _ in range(runs))
    return [(statistics.median(ts), min(ts)) for ts in times]


def probe(n, runs=7, dtype="float32", ta=False, tb=False):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n)).astype(dtype)
    b = rng.standard_normal((n, n)).astype(dtype)
    A, B = mx.nd.array(a, dtype=dtype), mx.nd.array(b, dtype=dtype)
    an, bn = (a.T if ta else a), (b.T if tb else b)
    flop = 2.0 * n ** 3

    def mxcc_run():
        mx.nd.dot(A, B, transpose_a=ta, transpose_b=tb).wait_to_read()

    (t_np, b_np), (t_mx, b_mx) = _race([lambda: an @ bn, mxcc_run], runs)
    c = mx.nd.dot(A, B, transpose_a=ta, transpose_b=tb).asnumpy().astype(np.float64)
    ref = an.astype(np.float64) @ bn.astype(np.float64)
    err = float(np.max(np.abs(c - ref)) / (np.sqrt(n) * max(1.0, float(np.max(np.abs(ref))))))
    return flop / t_np / 1e9, flop / t_mx / 1e9, flop / b_np / 1e9, flop / b_mx / 1e9, err


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("sizes", nargs="*", type=int, default=[256, 1024, 2048])
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--dtype", default="float32")
    p.add_argument("--ta", action="store_true")
    p.add_argument("--tb", action="store_true")
    p.add_argument("--single", action="store_true", help="one thread each, timed in process CPU time")
    args = p.parse_args()
    mode = "one thread each, process CPU time" if args.single else f"{os.cpu_count()} CPUs, wall clock"
    print(f"GFLOP/s, {args.dtype}, ta={args.ta}, tb={args.tb}, {mode}: "
          f"median (best) of 3 x {args.runs} runs in alternating blocks")
    print(f"{'n':>6} {'numpy':>16} {'mxcc':>16} {'ratio':>7} {'rel.err':>9}")
    for n in args.sizes:
        g_np, g_mx, b_np, b_mx, err = probe(n, args.runs, args.dtype, args.ta, args.tb)
        print(f"{n:>6} {g_np:>8.1f} ({b_np:>5.1f}) {g_mx:>8.1f} ({b_mx:>5.1f}) {g_mx / g_np:>7.2f} {err:>9.1e}")


if __name__ == "__main__":
    main()
