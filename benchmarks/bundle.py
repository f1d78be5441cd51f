"""Standalone C inference bundles (`mxcc compile`) beside PyTorch CPU eager and ONNX Runtime, in the
same run on the same machine: batch-1 and batch-64 latency of LeNet and a ResNet-18-like network
(CIFAR layout: 3x32x32 in, widths 64/128/256/512, 11M parameters), plus the bundle's code and
weight sizes.

    .venv/bin/python benchmarks/bundle.py [--runs 200] [--threads N] [--nets lenet resnet] [--batches 1 64]

Every framework gets the same weights and the same input and must give the same answer (checked
before timing). The bundle is built with its own Makefile defaults (-O3 -march=native, OpenMP)
and timed by its main.c (`-t`: median of N runs, no Python in the loop); PyTorch runs in
$TORCH_PY (/work/torch-venv) under torch.inference_mode, ONNX Runtime from the same model exported
with torch.onnx.export (benchmarks/README.md has the recipe). Threads: all cores for everyone
(OMP_NUM_THREADS, torch.set_num_threads, intra_op_num_threads) unless --threads says otherwise.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from common import machine, table  # noqa: E402

import mxcc as mx  # noqa: E402

TORCH_PY = os.environ.get("TORCH_PY", "/work/torch-venv/bin/python")


# -- the networks, with explicit layer names so the PyTorch side can map the weights -------------------
def lenet():
    x = mx.sym.Variable("data")
    x = mx.sym.Pooling(mx.sym.Convolution(x, kernel=(5, 5), num_filter=20, name="conv1"), pool_type="max",
                       kernel=(2, 2), stride=(2, 2), name="pool1")
    x = mx.sym.Pooling(mx.sym.Convolution(x, kernel=(5, 5), num_filter=50, name="conv2"), pool_type="max",
                       kernel=(2, 2), stride=(2, 2), name="pool2")
    x = mx.sym.Activation(mx.sym.FullyConnected(mx.sym.Flatten(x), num_hidden=500, name="fc1"), act_type="relu")
    return mx.sym.SoftmaxOutput(mx.sym.FullyConnected(x, num_hidden=10, name="fc2"), name="softmax")


WIDTHS = (64, 128, 256, 512)


def resnet18_like(widths=WIDTHS, classes=10):
    def bn(x, name):
        return mx.sym.BatchNorm(x, fix_gamma=False, eps=1e-5, name=name)

    def unit(x, c, stride, name, proj):
        y = mx.sym.Convolution(x, num_filter=c, kernel=(3, 3), stride=(stride, stride), pad=(1, 1), no_bias=True,
                               name=name + "_conv1")
        y = mx.sym.Activation(bn(y, name + "_bn1"), act_type="relu")
        y = bn(mx.sym.Convolution(y, num_filter=c, kernel=(3, 3), pad=(1, 1), no_bias=True, name=name + "_conv2"),
               name + "_bn2")
        if proj:
            x = bn(mx.sym.Convolution(x, num_filter=c, kernel=(1, 1), stride=(stride, stride), no_bias=True,
                                      name=name + "_sc"), name + "_scbn")
        return mx.sym.Activation(y + x, act_type="relu")
    x = mx.sym.Convolution(mx.sym.Variable("data"), num_filter=widths[0], kernel=(3, 3), pad=(1, 1), no_bias=True,
                           name="conv0")
    x = mx.sym.Activation(bn(x, "bn0"), act_type="relu")
    for s, c in enumerate(widths):
        for u in range(2):
            x = unit(x, c, 2 if s > 0 and u == 0 else 1, f"s{s + 1}u{u + 1}", proj=u == 0 and s > 0)
    x = mx.sym.Pooling(x, global_pool=True, pool_type="avg", kernel=(1, 1), name="gpool")
    x = mx.sym.FullyConnected(mx.sym.Flatten(x), num_hidden=classes, name="fc")
    return mx.sym.SoftmaxOutput(x, name="softmax")


NETS = {"lenet": (lenet, (1, 28, 28)), "resnet": (resnet18_like, (3, 32, 32))}


def random_params(sym, shape, seed=0):
    """Host-side numpy weights (He-scaled) and BN statistics: arg/aux name -> float32 array."""
    rng = np.random.default_rng(seed)
    arg_shapes, _, aux_shapes = sym.infer_shape(data=(1, *shape))
    out = {}
    for n, s in zip(sym.list_arguments(), arg_shapes):
        if n == "data" or n.endswith("label"):
            continue
        scale = np.sqrt(2.0 / np.prod(s[1:])) if len(s) > 1 else 0.05
        out[n] = (rng.standard_normal(s) * scale).astype(np.float32)
    for n, s in zip(sym.list_auxiliary_states(), aux_shapes):
        out[n] = (rng.uniform(0.5, 1.5, s) if n.endswith("var") else rng.standard_normal(s) * 0.1).astype(np.float32)
    return out


# -- PyTorch eager and ONNX Runtime, in the torch venv -----------------------------------------------------
TORCH_SCRIPT = r"""
import json, os, statistics, sys, tempfile, time
import numpy as np, torch, torch.nn as nn, torch.nn.functional as F
net, weights, inputs = sys.argv[1], sys.argv[2], sys.argv[3]
runs, threads, widths = int(sys.argv[4]), int(sys.argv[5]), json.loads(sys.argv[6])
torch.set_num_threads(threads)
W = dict(np.load(weights))
T = lambda k: torch.from_numpy(W[k])

class LeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(1, 20, 5), nn.Conv2d(20, 50, 5)
        self.fc1, self.fc2 = nn.Linear(800, 500), nn.Linear(500, 10)
        for m in ("conv1", "conv2", "fc1", "fc2"):
            getattr(self, m).weight.data, getattr(self, m).bias.data = T(m + "_weight"), T(m + "_bias")
    def forward(self, x):
        x = F.max_pool2d(self.conv1(x), 2, 2)
        x = F.max_pool2d(self.conv2(x), 2, 2)
        return F.softmax(self.fc2(F.relu(self.fc1(torch.flatten(x, 1)))), dim=1)

def conv(name, cin, cout, k, stride, pad):
    c = nn.Conv2d(cin, cout, k, stride, pad, bias=False)
    c.weight.data = T(name + "_weight")
    return c

def bn(name, c):
    b = nn.BatchNorm2d(c, eps=1e-5)
    b.weight.data, b.bias.data = T(name + "_gamma"), T(name + "_beta")
    b.running_mean.data, b.running_var.data = T(name + "_moving_mean"), T(name + "_moving_var")
    return b

class Unit(nn.Module):
    def __init__(self, name, cin, c, stride, proj):
        super().__init__()
        self.c1, self.b1 = conv(name + "_conv1", cin, c, 3, stride, 1), bn(name + "_bn1", c)
        self.c2, self.b2 = conv(name + "_conv2", c, c, 3, 1, 1), bn(name + "_bn2", c)
        self.sc = nn.Sequential(conv(name + "_sc", cin, c, 1, stride, 0), bn(name + "_scbn", c)) if proj else None
    def forward(self, x):
        y = self.b2(self.c2(F.relu(self.b1(self.c1(x)))))
        return F.relu(y + (self.sc(x) if self.sc is not None else x))

class ResNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.c0, self.b0 = conv("conv0", 3, widths[0], 3, 1, 1), bn("bn0", widths[0])
        units, cin = [], widths[0]
        for s, c in enumerate(widths):
            for u in range(2):
                units.append(Unit(f"s{s + 1}u{u + 1}", cin, c, 2 if s > 0 and u == 0 else 1, u == 0 and s > 0))
                cin = c
        self.units = nn.Sequential(*units)
        self.fc = nn.Linear(widths[-1], 10)
        self.fc.weight.data, self.fc.bias.data = T("fc_weight"), T("fc_bias")
    def forward(self, x):
        x = self.units(F.relu(self.b0(self.c0(x))))
        return F.softmax(self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)), dim=1)

model = (LeNet() if net == "lenet" else ResNet()).eval()
X = np.load(inputs)
out = {"torch": {}, "ort": {}, "outputs": {}}

def median_us(fn, n):
    for _ in range(max(3, n // 20)):
        fn()
    ts = []
    for _ in range(n):
        t = time.perf_counter(); fn(); ts.append((time.perf_counter() - t) * 1e6)
    return statistics.median(ts)

for key in X.files:
    x = torch.from_numpy(X[key])
    with torch.inference_mode():
        out["outputs"][key] = model(x).numpy().tolist()
        out["torch"][key] = median_us(lambda: model(x), runs if x.shape[0] == 1 else max(runs // 10, 10))
try:
    import onnxruntime as ort
    out["ort_version"] = ort.__version__
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "m.onnx")
        x0 = torch.from_numpy(X[X.files[0]])
        torch.onnx.export(model, (x0,), path, input_names=["data"], output_names=["out"],
                          dynamic_axes={"data": {0: "n"}, "out": {0: "n"}}, dynamo=False)
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
        for key in X.files:
            x = X[key]
            out["ort_out_" + key] = sess.run(None, {"data": x})[0].tolist()
            n = runs if x.shape[0] == 1 else max(runs // 10, 10)
            out["ort"][key] = median_us(lambda: sess.run(None, {"data": x}), n)
except ImportError:
    out["ort"] = None
out["torch_version"] = torch.__version__
print(json.dumps(out))
"""


def build_bundle(name, sym, params, shape, batch, workdir):
    outdir = os.path.join(workdir, f"{name}_b{batch}")
    b = mx.compile_bundle(sym, {k: mx.nd.array(v) for k, v in params.items()}, {"data": (batch, *shape)}, outdir,
                          name=name)
    r = subprocess.run(["make", "-s"], cwd=outdir, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"make failed for {name}:\n{r.stderr[-3000:]}")
    stripped = os.path.join(outdir, "stripped.o")
    shutil.copy(os.path.join(outdir, f"{name}.o"), stripped)
    subprocess.run(["strip", "--strip-unneeded", stripped], check=True)
    sizes = {"object_stripped": os.path.getsize(stripped), "binary": os.path.getsize(os.path.join(outdir, name)),
             "weights": os.path.getsize(os.path.join(outdir, f"{name}.weights")), "memory": b.memory_bytes,
             "arena": b.arena_bytes}
    return outdir, sizes


def bundle_outputs(outdir, name, x):
    raw = os.path.join(outdir, "x.raw")
    x.tofile(raw)
    r = subprocess.run([f"./{name}", raw], cwd=outdir, capture_output=True, text=True, check=True)
    return np.array([[float(v) for v in line.split()] for line in r.stdout.splitlines() if line.strip()])


def bundle_latency(outdir, name, x, runs, env):
    raw = os.path.join(outdir, "x.raw")
    x.tofile(raw)
    r = subprocess.run([f"./{name}", "-q", "-t", str(runs), raw], cwd=outdir, capture_output=True, text=True,
                       check=True, env=env)
    return float(r.stdout.split()[1])


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=200, help="timed runs at batch 1 (a tenth of that at batch 64)")
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--nets", nargs="+", default=list(NETS), choices=list(NETS))
    p.add_argument("--batches", nargs="+", type=int, default=[1, 64])
    args = p.parse_args()
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
    env.pop("GOMP_SPINCOUNT", None)  # importing mxcc shortens OpenMP's spin for its JIT: not for these runs
    have_torch = os.path.exists(TORCH_PY)
    rows, sizes_rows, notes = [], [], []
    with tempfile.TemporaryDirectory(prefix="mxcc-bundle-bench-") as work:
        for net in args.nets:
            fn, shape = NETS[net]
            sym = fn()
            params = random_params(sym, shape)
            wpath, xpath = os.path.join(work, f"{net}_w.npz"), os.path.join(work, f"{net}_x.npz")
            np.savez(wpath, **params)
            rng = np.random.default_rng(1)
            xs = {f"b{b}": rng.standard_normal((b, *shape)).astype(np.float32) for b in args.batches}
            np.savez(xpath, **xs)
            ref = None
            if have_torch:
                r = subprocess.run([TORCH_PY, "-c", TORCH_SCRIPT, net, wpath, xpath, str(args.runs), str(args.threads),
                                    json.dumps(list(WIDTHS))], capture_output=True, text=True, env=env)
                if r.returncode != 0:
                    notes.append(f"{net}: PyTorch run failed: {r.stderr.strip().splitlines()[-1:]}")
                else:
                    ref = json.loads(r.stdout.strip().splitlines()[-1])
            for b in args.batches:
                key = f"b{b}"
                outdir, sizes = build_bundle(net, sym, params, shape, b, work)
                got = bundle_outputs(outdir, net, xs[key]).reshape(b, -1)
                agree = ""
                if ref is not None:
                    want = np.asarray(ref["outputs"][key])
                    err = float(np.max(np.abs(got - want)))
                    agree = f"{err:.1e}"
                    if err > 1e-4:
                        notes.append(f"{net} batch {b}: the bundle and PyTorch differ by {err:.2e}")
                us = bundle_latency(outdir, net, xs[key], args.runs if b == 1 else max(args.runs // 10, 10), env)
                t_us = ref["torch"][key] if ref else None
                o_us = ref["ort"][key] if ref and ref.get("ort") else None
                fmt = lambda v: f"{v:.1f}" if v is not None else "n/a"
                ratio = lambda v: f"{v / us:.2f}x" if v is not None else "n/a"
                rows.append([net, b, f"{us:.1f}", fmt(t_us), fmt(o_us), ratio(t_us), ratio(o_us), agree])
                if b == args.batches[0]:
                    sizes_rows.append([net, f"{sizes['object_stripped'] / 1024:.1f} KB",
                                       f"{sizes['binary'] / 1024:.1f} KB", f"{sizes['weights'] / 1024:.1f} KB",
                                       f"{sizes['arena'] / 1024:.1f} KB", f"{sizes['memory'] / 1024:.1f} KB"])
            if ref:
                notes.append(f"{net}: PyTorch {ref['torch_version']}, ONNX Runtime {ref.get('ort_version', 'absent')}")
    print(f"# bundle benchmark, {datetime.date.today()}, {machine()}, {args.threads} threads")
    print(table(rows, ["net", "batch", "bundle us", "PyTorch eager us", "ONNX Runtime us", "PyTorch / bundle",
                       "ORT / bundle", "max |bundle - PyTorch|"]))
    print()
    print(table(sizes_rows, ["net", "bundle .o (stripped)", "binary", "weights file", "arena", "context memory"]))
    for n in notes:
        print("note:", n)


if __name__ == "__main__":
    main()
