"""LeNet's convolution and pooling layers, forward and backward, at batch 100: mxcc vs PyTorch (CPU).

Usage: python benchmarks/conv_probe.py [--batch 100] [--runs 20] [--torch PYTHON] [--single]

Layers: conv 5x5 x20 on 1x28x28, tanh, max-pool 2x2/2, conv 5x5 x50, tanh, max-pool 2x2/2
(tanh is the elementwise family's; its row shows what it costs inside the stack).
Prints per-kernel medians (mxcc's imperative calls of the forward and backward ops) and the
whole stack forward + backward as one compiled graph (what a bound executor runs), next to
PyTorch's per-op and autograd figures when a Python with torch is found (default:
/work/torch-venv/bin/python, or --torch). Never fails: a missing torch only drops its columns.

--single runs both on one thread and times them in process CPU time, which other load on a
shared machine barely disturbs: it compares the kernels; the default (all cores, wall clock)
compares what a user sees.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

if "--single" in sys.argv and os.environ.get("OMP_NUM_THREADS") != "1":
    os.environ.update(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    os.execv(sys.executable, [sys.executable, *sys.argv])

import numpy as np  # noqa: E402  (after the thread settings above)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, table  # noqa: E402

import mxcc as mx  # noqa: E402
from mxcc import CompiledGraph  # noqa: E402
from mxcc.ir import Graph, Node, TensorType, Value, registry  # noqa: E402
from mxcc.passes.autodiff import autodiff  # noqa: E402

C1 = dict(kernel=(5, 5), num_filter=20)
C2 = dict(kernel=(5, 5), num_filter=50)
P = dict(kernel=(2, 2), stride=(2, 2), pool_type="max")

TORCH_SCRIPT = r"""
import json, statistics, sys, time
import torch
import torch.nn.functional as F
B, runs, single = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "1"
clock = time.process_time if single else time.perf_counter
if single:
    torch.set_num_threads(1)
torch.manual_seed(0)
x = torch.randn(B, 1, 28, 28)
w1, b1 = torch.randn(20, 1, 5, 5) * 0.2, torch.zeros(20)
w2, b2 = torch.randn(50, 20, 5, 5) * 0.05, torch.zeros(50)

def med(fn):
    for _ in range(3):
        fn()
    ts = []
    for _ in range(runs):
        t = clock(); fn(); ts.append(clock() - t)
    return statistics.median(ts)

out = {}
with torch.no_grad():
    y1 = F.conv2d(x, w1, b1); a1 = torch.tanh(y1); p1 = F.max_pool2d(a1, 2, 2)
    y2 = F.conv2d(p1, w2, b2); a2 = torch.tanh(y2); p2 = F.max_pool2d(a2, 2, 2)
    out["conv1 fwd"] = med(lambda: F.conv2d(x, w1, b1))
    out["conv2 fwd"] = med(lambda: F.conv2d(p1, w2, b2))
    out["pool1 fwd"] = med(lambda: F.max_pool2d(a1, 2, 2))
    out["pool2 fwd"] = med(lambda: F.max_pool2d(a2, 2, 2))
    g1, g2 = torch.randn_like(y1), torch.randn_like(y2)
    cb = torch.ops.aten.convolution_backward
    out["conv1 bwd (w, b)"] = med(lambda: cb(g1, x, w1, [20], [1, 1], [0, 0], [1, 1], False, [0, 0], 1,
                                            [False, True, True]))
    out["conv2 bwd (data, w, b)"] = med(lambda: cb(g2, p1, w2, [50], [1, 1], [0, 0], [1, 1], False, [0, 0], 1,
                                                  [True, True, True]))
    _, idx1 = F.max_pool2d(a1, 2, 2, return_indices=True)
    _, idx2 = F.max_pool2d(a2, 2, 2, return_indices=True)
    gp1, gp2 = torch.randn_like(p1), torch.randn_like(p2)
    mpb = torch.ops.aten.max_pool2d_with_indices_backward
    out["tanh fwd (conv1 output)"] = med(lambda: torch.tanh(y1))
    out["pool1 bwd"] = med(lambda: mpb(gp1, a1, [2, 2], [2, 2], [0, 0], [1, 1], False, idx1))
    out["pool2 bwd"] = med(lambda: mpb(gp2, a2, [2, 2], [2, 2], [0, 0], [1, 1], False, idx2))
params = [w1, b1, w2, b2]
for p in params:
    p.requires_grad_(True)
def stack():
    y = F.max_pool2d(torch.tanh(F.conv2d(x, w1, b1)), 2, 2)
    y = F.max_pool2d(torch.tanh(F.conv2d(y, w2, b2)), 2, 2)
    return y
head = torch.randn_like(stack())
def step():
    for p in params:
        p.grad = None
    stack().backward(head)
out["stack fwd+bwd"] = med(step)
print(json.dumps({"version": torch.__version__, "threads": torch.get_num_threads(), "times": out}))
"""


def _torch_times(python, batch, runs, single):
    if not python or not Path(python).exists():
        return None
    try:
        r = subprocess.run([python, "-c", TORCH_SCRIPT, str(batch), str(runs), "1" if single else "0"],
                           capture_output=True, text=True, timeout=600)
        return json.loads(r.stdout.strip().splitlines()[-1]) if r.returncode == 0 else None
    except (OSError, ValueError, IndexError, subprocess.TimeoutExpired):
        return None


def _stack_graph(batch):
    """The conv/pool stack as IR, with gradients of the four parameters."""
    def node(op, ins, **attrs):
        opdef = registry.get(op)
        types = opdef.infer_types([v.type for v in ins], opdef.parse_attrs(attrs))
        n = Node(op, attrs, ins, types)
        nodes.append(n)
        return n.outputs[0]

    nodes = []
    x = Value(TensorType((batch, 1, 28, 28)), "data")
    w1, b1 = Value(TensorType((20, 1, 5, 5)), "w1"), Value(TensorType((20,)), "b1")
    w2, b2 = Value(TensorType((50, 20, 5, 5)), "w2"), Value(TensorType((50,)), "b2")
    y = node("Pooling", [node("tanh", [node("Convolution", [x, w1, b1], **C1)])], **P)
    y = node("Pooling", [node("tanh", [node("Convolution", [y, w2, b2], **C2)])], **P)
    g = Graph([x, w1, b1, w2, b2], [y], nodes)
    return autodiff(g, [w1, b1, w2, b2])


def _median(fn, runs, clock):
    for _ in range(3):
        fn()
    ts = []
    for _ in range(runs):
        t = clock()
        fn()
        ts.append(clock() - t)
    return sorted(ts)[len(ts) // 2]


def mxcc_times(batch, runs, clock):
    rng = np.random.default_rng(0)
    nd = mx.nd
    x = nd.array(rng.standard_normal((batch, 1, 28, 28)).astype(np.float32))
    w1, b1 = nd.array(rng.standard_normal((20, 1, 5, 5)) * 0.2), nd.zeros((20,))
    w2, b2 = nd.array(rng.standard_normal((50, 20, 5, 5)) * 0.05), nd.zeros((50,))
    y1 = nd.Convolution(x, w1, b1, **C1)
    a1 = nd.tanh(y1)
    p1 = nd.Pooling(a1, **P)
    y2 = nd.Convolution(p1, w2, b2, **C2)
    a2 = nd.tanh(y2)
    p2 = nd.Pooling(a2, **P)
    g1, g2 = nd.array(rng.standard_normal(y1.shape)), nd.array(rng.standard_normal(y2.shape))
    gp1, gp2 = nd.array(rng.standard_normal(p1.shape)), nd.array(rng.standard_normal(p2.shape))
    internal = nd._internal
    geo = dict(kernel=(5, 5))

    def timed(fn):
        return _median(lambda: fn().wait_to_read(), runs, clock)

    out = {
        "conv1 fwd": timed(lambda: nd.Convolution(x, w1, b1, **C1)),
        "conv2 fwd": timed(lambda: nd.Convolution(p1, w2, b2, **C2)),
        "pool1 fwd": timed(lambda: nd.Pooling(a1, **P)),
        "pool2 fwd": timed(lambda: nd.Pooling(a2, **P)),
        "conv1 bwd (w, b)": timed(lambda: (internal._backward_Convolution_weight(g1, x, **geo),
                                           nd.sum(g1, axis=(0, 2, 3)))[-1]),
        "conv2 bwd (data, w, b)": timed(lambda: (nd.Deconvolution(g2, w2, num_filter=20, **geo),
                                                 internal._backward_Convolution_weight(g2, p1, **geo),
                                                 nd.sum(g2, axis=(0, 2, 3)))[-1]),
        "tanh fwd (conv1 output)": timed(lambda: nd.tanh(y1)),
        "pool1 bwd": timed(lambda: internal._backward_Pooling(gp1, a1, p1, **P)),
        "pool2 bwd": timed(lambda: internal._backward_Pooling(gp2, a2, p2, **P)),
    }
    parts = {
        "  conv2 data grad": timed(lambda: nd.Deconvolution(g2, w2, num_filter=20, **geo)),
        "  conv2 weight grad": timed(lambda: internal._backward_Convolution_weight(g2, p1, **geo)),
        "  conv1 weight grad": timed(lambda: internal._backward_Convolution_weight(g1, x, **geo)),
    }
    cg = CompiledGraph(_stack_graph(batch))
    ins = [x.asnumpy(), w1.asnumpy(), b1.asnumpy(), w2.asnumpy(), b2.asnumpy(),
           rng.standard_normal(p2.shape).astype(np.float32)]
    ins = [np.ascontiguousarray(a, dtype=np.float32) for a in ins]
    outs = [np.empty(v.type.shape, v.type.dtype) for v in cg.graph.outputs]
    ptrs = [a.ctypes.data for a in ins] + [o.ctypes.data for o in outs]
    out["stack fwd+bwd"] = _median(lambda: cg.run_ptrs(ptrs), runs, clock)
    return out, parts


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--batch", type=int, default=100)
    p.add_argument("--runs", type=int, default=20)
    p.add_argument("--torch", default=os.environ.get("TORCH_PYTHON", "/work/torch-venv/bin/python"))
    p.add_argument("--single", action="store_true", help="one thread each, timed in process CPU time")
    args = p.parse_args()
    t0 = time.perf_counter()
    clock = time.process_time if args.single else time.perf_counter
    mine, parts = mxcc_times(args.batch, args.runs, clock)
    th = _torch_times(args.torch, args.batch, args.runs, args.single)
    mode = "one thread each, process CPU time" if args.single else f"{os.cpu_count()} CPUs, wall clock"
    print(f"LeNet conv/pool layers, batch {args.batch}, float32, median of {args.runs} runs, milliseconds ({mode})")
    print(f"machine: {machine()}")
    header = ["layer", "mxcc"]
    if th:
        header += [f"torch {th['version']} ({th['threads']} threads)", "torch / mxcc"]
    rows = []
    for name, t in list(mine.items()) + list(parts.items()):
        row = [name, f"{t * 1e3:.3f}"]
        if th:
            tt = th["times"].get(name)
            row += [f"{tt * 1e3:.3f}", f"{tt / t:.2f}x"] if tt else ["", ""]
        rows.append(row)
    print(table(rows, header))
    if not th:
        print(f"(no PyTorch figures: {args.torch} with torch not found)")
    print(f"[{time.perf_counter() - t0:.1f} s]")


if __name__ == "__main__":
    main()
