"""Gluon training steps: imperative vs hybridized vs Module (the same net as a Symbol), in mxcc and in
real MXNet 1.9.1, in the same run on the same machine. ms per step (median of several epochs).

    .venv/bin/python benchmarks/gluon.py [--batches 150] [--runs 3] [--rounds 2] [--only mxcc mxnet]
                                         [--nets mlp lenet]

Modes: imperative Gluon; hybridized (net.hybridize(), the loss imperative); hybrid+loss (the loss block
hybridized too); Module (the same net as a Symbol with SoftmaxOutput). Nets: a 3-layer MLP (784-256-128-10,
relu) and LeNet (conv 20 5x5 - maxpool - conv 50 5x5 - maxpool - dense 500 relu - dense 10), softmax
cross-entropy, SGD (lr 0.1, momentum 0.9), batch 128, on the first batches x 128 Fashion-MNIST training
images (/usr/share/datasets/fashion-mnist). Data are NDArrays made before timing; one epoch = `batches`
steps followed by waitall(). One process per framework setting builds the four versions and times them
in turns, epoch by epoch (the machines are shared: a load change then hits all of them). MXNet runs with
OMP_NUM_THREADS=2 and 1 (it uses half the cores by default); mxcc with OpenMP's default (all cores).
"""
from __future__ import annotations

import argparse
import datetime
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(__file__))
from common import machine, run_script, table  # noqa: E402

DATA = "/usr/share/datasets/fashion-mnist"
MXNET_PY = os.environ.get("MXNET_PY", "/work/mxnet-venv/bin/python")
MODES = ("imperative", "hybrid", "hybrid+loss", "module")

# One program for both frameworks; `{module}` is mxcc or mxnet. Prints one JSON line.
SCRIPT = r"""
import gzip, json, sys, time
import numpy as np
import {module} as mx
from {module} import autograd, gluon
from {module}.gluon import nn
data_dir, net_name, modes, batches, runs = sys.argv[1], sys.argv[2], sys.argv[3].split(','), int(sys.argv[4]), \
    int(sys.argv[5])
BS = 128
def idx(path):
    raw = gzip.open(path).read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4*i: 8 + 4*i], 'big') for i in range(ndim)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4*ndim).reshape(dims)
n = batches * BS
x = idx(data_dir + '/train-images-idx3-ubyte.gz')[:n].astype(np.float32) / 255
y = idx(data_dir + '/train-labels-idx1-ubyte.gz')[:n].astype(np.float32)
x = x.reshape(-1, 784) if net_name == 'mlp' else x.reshape(-1, 1, 28, 28)
xs = [mx.nd.array(x[i:i + BS]) for i in range(0, n, BS)]
ys = [mx.nd.array(y[i:i + BS]) for i in range(0, n, BS)]
mx.random.seed(0)

def gluon_net():
    net = nn.HybridSequential()
    with net.name_scope():
        if net_name == 'mlp':
            net.add(nn.Dense(256, activation='relu'), nn.Dense(128, activation='relu'), nn.Dense(10))
        else:
            net.add(nn.Conv2D(20, kernel_size=5), nn.MaxPool2D(pool_size=2, strides=2),
                    nn.Conv2D(50, kernel_size=5), nn.MaxPool2D(pool_size=2, strides=2), nn.Flatten(),
                    nn.Dense(500, activation='relu'), nn.Dense(10))
    net.initialize(mx.init.Xavier())
    return net

def symbol_net():
    d = mx.sym.Variable('data')
    if net_name == 'mlp':
        h = mx.sym.Activation(mx.sym.FullyConnected(d, num_hidden=256), act_type='relu')
        h = mx.sym.Activation(mx.sym.FullyConnected(h, num_hidden=128), act_type='relu')
        h = mx.sym.FullyConnected(h, num_hidden=10)
    else:
        h = mx.sym.Pooling(mx.sym.Convolution(d, kernel=(5, 5), num_filter=20), pool_type='max', kernel=(2, 2),
                           stride=(2, 2))
        h = mx.sym.Pooling(mx.sym.Convolution(h, kernel=(5, 5), num_filter=50), pool_type='max', kernel=(2, 2),
                           stride=(2, 2))
        h = mx.sym.Activation(mx.sym.FullyConnected(mx.sym.Flatten(h), num_hidden=500), act_type='relu')
        h = mx.sym.FullyConnected(h, num_hidden=10)
    return mx.sym.SoftmaxOutput(h, name='softmax')

def module_step():
    mod = mx.mod.Module(symbol_net(), context=mx.cpu())
    mod.bind(data_shapes=[('data', xs[0].shape)], label_shapes=[('softmax_label', ys[0].shape)])
    mod.init_params(mx.init.Xavier())
    mod.init_optimizer(optimizer='sgd', optimizer_params={{'learning_rate': 0.1, 'momentum': 0.9}})
    def step(i):
        mod.forward(mx.io.DataBatch([xs[i]], [ys[i]]), is_train=True)
        mod.backward()
        mod.update()
    return step

def gluon_step(hybrid, hybrid_loss=False):
    net = gluon_net()
    if hybrid:
        net.hybridize()
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    if hybrid_loss:
        loss_fn.hybridize()
    net(xs[0])
    trainer = gluon.Trainer(net.collect_params(), 'sgd', {{'learning_rate': 0.1, 'momentum': 0.9}})
    def step(i):
        with autograd.record():
            loss = loss_fn(net(xs[i]), ys[i])
        loss.backward()
        trainer.step(BS)
    return step

steps = {{m: module_step() if m == 'module' else gluon_step(m != 'imperative', m == 'hybrid+loss') for m in modes}}
for step in steps.values():  # compile / warm up
    for i in range(3):
        step(i)
mx.nd.waitall()
times = {{m: [] for m in modes}}
for r in range(runs):  # the modes take turns, epoch by epoch: a load change hits all of them
    for m, step in steps.items():
        t = time.perf_counter()
        for i in range(batches):
            step(i)
        mx.nd.waitall()
        times[m].append((time.perf_counter() - t) / batches * 1e3)
print(json.dumps(times))
"""


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--batches", type=int, default=150)
    p.add_argument("--runs", type=int, default=3, help="timed epochs per mode and process")
    p.add_argument("--rounds", type=int, default=2, help="processes per framework setting, interleaved")
    p.add_argument("--only", nargs="*", default=["mxcc", "mxnet"])
    p.add_argument("--nets", nargs="*", default=["mlp", "lenet"])
    a = p.parse_args()
    if not os.path.isdir(DATA):
        sys.exit(f"Fashion-MNIST not found in {DATA}: apt-get install dataset-fashion-mnist")
    configs = []
    if "mxcc" in a.only:
        configs.append(("mxcc", sys.executable, {}, "mxcc"))
    if "mxnet" in a.only and os.path.exists(MXNET_PY):
        for threads in ("2", "1"):
            configs.append((f"MXNet 1.9.1 (OMP {threads})", MXNET_PY, {"OMP_NUM_THREADS": threads}, "mxnet"))
    # one process per framework setting, each running the three modes in turns; rounds interleaved
    times, errors = {}, {}
    for _ in range(a.rounds):
        for net in a.nets:
            for name, py, env, module in configs:
                script_args = [DATA, net, ",".join(MODES), str(a.batches), str(a.runs)]
                r = run_script(py, SCRIPT.format(module=module), script_args, env, timeout=3600)
                for mode in MODES:
                    if "error" in r:
                        errors[(net, name, mode)] = r["error"]
                    else:
                        times.setdefault((net, name, mode), []).extend(r[mode])
                print(net, name, r, file=sys.stderr, flush=True)
    rows, med = [], {}
    for net in a.nets:
        for (name, *_), mode in ((c, m) for c in configs for m in MODES):
            key = (net, name, mode)
            if key in times:
                med[key] = statistics.median(times[key])
                rows.append((net, name, mode, f"{med[key]:.2f}", f"{128e3 / med[key]:.0f}"))
            else:
                rows.append((net, name, mode, "failed: " + errors.get(key, "?")[:90], ""))
    print(f"# Gluon training step, batch 128, {a.batches} batches x {a.runs} epochs x {a.rounds} rounds "
          f"(median), {datetime.date.today()} on {machine()}")
    print(f"# command: {' '.join([os.path.basename(sys.executable)] + sys.argv)}")
    print(table(rows, ("net", "framework", "mode", "ms/step", "images/s")))
    for net in a.nets:
        m = {mode: med.get((net, "mxcc", mode)) for mode in MODES}
        ref = med.get((net, "MXNet 1.9.1 (OMP 2)", "imperative")), med.get((net, "MXNet 1.9.1 (OMP 1)", "imperative"))
        if m["hybrid"] and m["imperative"] and m["module"]:
            print(f"# {net}: mxcc hybridized {m['imperative'] / m['hybrid']:.2f}x imperative, "
                  f"{m['hybrid'] / m['module']:.2f}x the Module step time (with the loss hybridized too: "
                  f"{m['hybrid+loss'] / m['module']:.2f}x)", end="")
            best = min(r for r in ref if r) if any(ref) else None
            print(f"; MXNet's best imperative step takes {best / m['imperative']:.2f}x mxcc's imperative one"
                  if best else "")


if __name__ == "__main__":
    main()
