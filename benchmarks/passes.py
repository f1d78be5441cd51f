"""Graph passes, on vs off in the same run (medians of several runs).

    .venv/bin/python benchmarks/passes.py            # everything
    .venv/bin/python benchmarks/passes.py --quick    # fewer repeats

Rows: an elementwise chain of 6 ops on 10M float32 with the fuse pass on and off, beside the
machine's plain-copy bandwidth measured in the same run (issue 5: fused >= 4x unfused and
>= 70% of copy bandwidth). Then a LeNet training step (batch 64, Executor forward(is_train=True)
+ backward) with all passes on vs MXCC_DISABLE_PASSES=simplify,fuse,plan_memory,mirror, each
setting in its own subprocess of the same run (issue 5: >= 1.3x faster on), for the seed's
LeNet (no activation after the convolutions) and the classic one (tanh after conv1, conv2, fc1). Then planned vs
naive arena bytes for LeNet and a ResNet-18-like net (benchmarks/passes_memory.py: training
<= 50% of naive, inference <= 25%, mirror <= 60%).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from common import machine, median_time, table  # noqa: E402
from passes_memory import HEADER as MEMORY_HEADER  # noqa: E402
from passes_memory import memory_rows  # noqa: E402

from mxcc.compiled import CompiledGraph  # noqa: E402
from mxcc.ir import Graph, Node, TensorType, Value, registry  # noqa: E402
from mxcc.passes import PIPELINE  # noqa: E402

N = 10_000_000
MB = N * 4 / 1e6


def _op(name, *inputs, **attrs):
    opdef = registry.get(name)
    types = opdef.infer_types([v.type for v in inputs], opdef.parse_attrs(attrs))
    return Node(name, attrs, list(inputs), types).outputs[0]


def chain6():
    """y = relu(x * 1.5 + 0.5)^2 - 0.25, times x: six elementwise ops, one input, one output."""
    x = Value(TensorType((N,)), "x")
    t = _op("_mul_scalar", x, scalar=1.5)
    t = _op("_plus_scalar", t, scalar=0.5)
    t = _op("relu", t)
    t = _op("square", t)
    t = _op("_minus_scalar", t, scalar=0.25)
    return Graph([x], [_op("elemwise_mul", t, x)])


def _runner(graph, passes, x, y):
    prog = CompiledGraph(graph, passes=passes)
    prog.set_io([x.ctypes.data, y.ctypes.data])
    return prog, prog.entry("run")


def fuse_rows(repeat):
    x = np.random.default_rng(0).uniform(-1, 1, N).astype(np.float32)
    y_on, y_off, y_copy = (np.empty(N, np.float32) for _ in range(3))
    on, run_on = _runner(chain6(), None, x, y_on)
    off, run_off = _runner(chain6(), [p for p in PIPELINE if p[0] != "fuse"], x, y_off)
    cx = Value(TensorType((N,)), "x")
    _, run_copy = _runner(Graph([cx], [_op("_copy", cx)]), None, x, y_copy)
    run_on(), run_off()
    assert np.array_equal(y_on, y_off) or np.allclose(y_on, y_off, rtol=1e-6, atol=1e-7)
    t_on = median_time(run_on, repeat)
    t_off = median_time(run_off, repeat)
    t_copy = median_time(run_copy, repeat)
    t_memcpy = median_time(lambda: np.copyto(y_copy, x), repeat)  # numpy moves bytes: a reference copy
    t_best_copy = min(t_copy, t_memcpy)
    bw = lambda t: 2 * MB / t / 1e3  # effective: one read of x and one write of y (40 MB each), GB/s
    kernels = lambda p: len(p.graph.nodes)
    return [
        ("6-op chain, 10M f32, fuse on", f"{kernels(on)} kernel(s)", f"{t_on * 1e3:.2f} ms",
         f"{bw(t_on):.1f} GB/s", f"{t_off / t_on:.2f}x vs off", f"{t_best_copy / t_on * 100:.0f}% of copy"),
        ("6-op chain, 10M f32, fuse off", f"{kernels(off)} kernel(s)", f"{t_off * 1e3:.2f} ms",
         f"{bw(t_off):.1f} GB/s", "1.00x", f"{t_best_copy / t_off * 100:.0f}% of copy"),
        ("plain copy 40 MB (mxcc _copy kernel)", "1 kernel", f"{t_copy * 1e3:.2f} ms", f"{bw(t_copy):.1f} GB/s",
         "", ""),
        ("plain copy 40 MB (numpy copyto)", "memcpy", f"{t_memcpy * 1e3:.2f} ms", f"{bw(t_memcpy):.1f} GB/s", "", ""),
    ]


ALL_PASSES_OFF = "simplify,fuse,plan_memory,mirror"


def lenet_step_child(repeat, net="seed"):
    """In a subprocess (MXCC_DISABLE_PASSES set by the parent): time one LeNet training step and
    print {median seconds, program nodes, gradient sums} as JSON. net: the seed's LeNet, or the
    classic one with tanh after conv1, conv2 and fc1 (REFERENCE.md)."""
    from passes_memory import lenet, lenet_tanh

    import mxcc as mx

    batch = 64
    sym = lenet() if net == "seed" else lenet_tanh()
    ex = sym.simple_bind(mx.cpu(), data=(batch, 1, 28, 28), softmax_label=(batch,))
    rng = np.random.default_rng(0)
    for name, arr in ex.arg_dict.items():
        if name == "softmax_label":
            arr[:] = rng.integers(0, 10, arr.shape).astype(np.float32)
        else:
            arr[:] = rng.uniform(-0.1, 0.1, arr.shape).astype(np.float32)

    def step():
        ex.forward(is_train=True)
        ex.backward()
        for g in ex.grad_arrays:
            if g is not None:
                g.wait_to_read()

    t = median_time(step, repeat, warmup=2)
    grads = [float(g.asnumpy().astype(np.float64).sum()) for g in ex.grad_arrays if g is not None]
    print(json.dumps({"median": t, "nodes": ex.memory_plan(is_train=True)["nodes"], "grads": grads}))


def _child(repeat, disable, net="seed"):
    env = dict(os.environ)
    env.pop("MXCC_DISABLE_PASSES", None)
    if disable:
        env["MXCC_DISABLE_PASSES"] = disable
    r = subprocess.run([sys.executable, os.path.abspath(__file__), "--lenet-step-child", str(repeat), "--net", net],
                       capture_output=True, text=True, env=env, timeout=1800)
    if r.returncode != 0:
        raise RuntimeError(f"LeNet step child (MXCC_DISABLE_PASSES={disable!r}) failed:\n{r.stderr[-2000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def lenet_step_rows(repeat, net="seed", rounds=4):
    """On and off alternate (on, off, on, off, ...) and each keeps its best median, so a burst of
    load from elsewhere on the machine hits both settings alike."""
    runs = [(_child(repeat, "", net), _child(repeat, ALL_PASSES_OFF, net)) for _ in range(rounds)]
    on = min((r[0] for r in runs), key=lambda r: r["median"])
    off = min((r[1] for r in runs), key=lambda r: r["median"])
    np.testing.assert_allclose(on["grads"], off["grads"], rtol=1e-4, atol=1e-5)  # same gradients
    speed = off["median"] / on["median"]
    met = "met" if speed >= 1.3 else "NOT met"
    name = "LeNet" if net == "seed" else "LeNet-tanh"
    return [
        (f"{name} training step (batch 64), all passes on", f"{on['nodes']} kernel(s)",
         f"{on['median'] * 1e3:.2f} ms", "", f"{speed:.2f}x vs off", f"target 1.3x: {met}"),
        (f"{name} training step (batch 64), MXCC_DISABLE_PASSES={ALL_PASSES_OFF}", f"{off['nodes']} kernel(s)",
         f"{off['median'] * 1e3:.2f} ms", "", "1.00x", ""),
    ]


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--lenet-step-child", type=int, metavar="REPEAT", help=argparse.SUPPRESS)
    ap.add_argument("--net", default="seed", choices=("seed", "tanh"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.lenet_step_child:
        return lenet_step_child(args.lenet_step_child, args.net)
    repeat = 5 if args.quick else 15
    print(machine())
    rounds = 4 if args.quick else 8
    rows = fuse_rows(repeat) + lenet_step_rows(repeat, "seed", rounds) + lenet_step_rows(repeat, "tanh", rounds)
    print(table(rows, ("case", "program", "median", "bandwidth", "speed-up", "vs copy")))
    print(table(memory_rows(timed=not args.quick), MEMORY_HEADER))  # planned vs naive arena, mirror


if __name__ == "__main__":
    main()
