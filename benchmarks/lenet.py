"""The seed's LeNet (section 5.1) trained on Fashion-MNIST by mxcc, real MXNet 1.9.1 and PyTorch CPU,
in the same run on the same machine: training images/s and final test accuracy.

    .venv/bin/python benchmarks/lenet.py [--epochs 10] [--limit N] [--only mxcc mxnet torch]

Competitors run in their own venvs (benchmarks/README.md has the recipe): MXNet with
OMP_NUM_THREADS=2 (it halves the core count by default), PyTorch with 2 threads.
Data: Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist).
"""
from __future__ import annotations

import argparse
import datetime
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from common import machine, run_script, table  # noqa: E402

DATA = "/usr/share/datasets/fashion-mnist"
MXNET_PY = os.environ.get("MXNET_PY", "/work/mxnet-venv/bin/python")
TORCH_PY = os.environ.get("TORCH_PY", "/work/torch-venv/bin/python")

# The seed's program, parameterised only by the import and the data; prints one JSON line.
MODULE_SCRIPT = r"""
import json, logging, sys, time
import {module} as mx
data_dir, epochs, limit = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
costs = []
class Grab(logging.Handler):
    def emit(self, record):
        msg = record.getMessage()
        if "Time cost=" in msg:
            costs.append(float(msg.split("Time cost=")[1]))
logging.basicConfig(level=logging.INFO)
logging.getLogger().addHandler(Grab())
data = mx.sym.Variable('data')
conv1 = mx.sym.Convolution(data=data, kernel=(5,5), num_filter=20)
pool1 = mx.sym.Pooling(data=conv1, pool_type="max", kernel=(2,2), stride=(2,2))
conv2 = mx.sym.Convolution(data=pool1, kernel=(5,5), num_filter=50)
pool2 = mx.sym.Pooling(data=conv2, pool_type="max", kernel=(2,2), stride=(2,2))
flatten = mx.sym.Flatten(data=pool2)
fc1 = mx.sym.FullyConnected(data=flatten, num_hidden=500)
relu1 = mx.sym.Activation(data=fc1, act_type="relu")
fc2 = mx.sym.FullyConnected(data=relu1, num_hidden=10)
mlp = mx.sym.SoftmaxOutput(data=fc2, name='softmax')
import gzip, numpy as np
def idx(path):
    raw = gzip.open(path).read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4*i: 8 + 4*i], 'big') for i in range(ndim)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4*ndim).reshape(dims)
xtr = idx(data_dir + '/train-images-idx3-ubyte.gz')[:limit].reshape(-1, 1, 28, 28).astype(np.float32) / 255
ytr = idx(data_dir + '/train-labels-idx1-ubyte.gz')[:limit].astype(np.float32)
xte = idx(data_dir + '/t10k-images-idx3-ubyte.gz').reshape(-1, 1, 28, 28).astype(np.float32) / 255
yte = idx(data_dir + '/t10k-labels-idx1-ubyte.gz').astype(np.float32)
train_data = mx.io.NDArrayIter(xtr, ytr, batch_size=100, shuffle=True)
test_data = mx.io.NDArrayIter(xte, yte, batch_size=100)
model = mx.mod.Module(symbol=mlp, context=mx.cpu())
model.fit(train_data, eval_data=test_data, optimizer='sgd', optimizer_params={{'learning_rate': 0.1}},
          eval_metric='acc', num_epoch=epochs)
acc = dict(model.score(test_data, 'acc'))['accuracy']
print(json.dumps({{"img_per_s": len(ytr) * epochs / sum(costs), "accuracy": acc, "epoch_seconds": costs}}))
"""

TORCH_SCRIPT = r"""
import gzip, json, sys, time
import numpy as np, torch, torch.nn as nn
torch.set_num_threads(2)
torch.manual_seed(0)
data_dir, epochs, limit = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def idx(path):
    raw = gzip.open(path).read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4*i: 8 + 4*i], 'big') for i in range(ndim)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4*ndim).reshape(dims)
xtr = idx(data_dir + '/train-images-idx3-ubyte.gz')[:limit].reshape(-1, 1, 28, 28) / 255
xtr = torch.tensor(xtr, dtype=torch.float32)
ytr = torch.tensor(idx(data_dir + '/train-labels-idx1-ubyte.gz')[:limit].astype(np.int64))
xte = torch.tensor(idx(data_dir + '/t10k-images-idx3-ubyte.gz').reshape(-1, 1, 28, 28) / 255, dtype=torch.float32)
yte = torch.tensor(idx(data_dir + '/t10k-labels-idx1-ubyte.gz').astype(np.int64))
net = nn.Sequential(nn.Conv2d(1, 20, 5), nn.MaxPool2d(2, 2), nn.Conv2d(20, 50, 5), nn.MaxPool2d(2, 2), nn.Flatten(),
                    nn.Linear(800, 500), nn.ReLU(), nn.Linear(500, 10))
opt = torch.optim.SGD(net.parameters(), lr=0.1)
lossf = nn.CrossEntropyLoss()
costs = []
for ep in range(epochs):
    perm = torch.randperm(len(ytr))
    t = time.time()
    for i in range(0, len(ytr) - 99, 100):
        b = perm[i:i + 100]
        opt.zero_grad()
        loss = lossf(net(xtr[b]), ytr[b])
        loss.backward()
        opt.step()
    costs.append(time.time() - t)
with torch.no_grad():
    acc = float((net(xte).argmax(1) == yte).float().mean())
print(json.dumps({"img_per_s": len(ytr) * epochs / sum(costs), "accuracy": acc, "epoch_seconds": costs}))
"""


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--limit", type=int, default=60000, help="training images used")
    p.add_argument("--only", nargs="*", default=["mxcc", "mxnet", "torch"])
    a = p.parse_args()
    if not os.path.isdir(DATA):
        sys.exit(f"Fashion-MNIST not found in {DATA}: apt-get install dataset-fashion-mnist")
    args = [DATA, str(a.epochs), str(a.limit)]
    results = {}
    if "mxcc" in a.only:
        results["mxcc"] = run_script(sys.executable, MODULE_SCRIPT.format(module="mxcc"), args, {})
    if "mxnet" in a.only and os.path.exists(MXNET_PY):
        results["MXNet 1.9.1"] = run_script(MXNET_PY, MODULE_SCRIPT.format(module="mxnet"), args,
                                            {"OMP_NUM_THREADS": "2"})
    if "torch" in a.only and os.path.exists(TORCH_PY):
        results["PyTorch CPU"] = run_script(TORCH_PY, TORCH_SCRIPT, args, {})
    rows = []
    for name, r in results.items():
        if "error" in r:
            rows.append((name, "failed: " + r["error"][:80], ""))
        else:
            rows.append((name, f"{r['img_per_s']:.0f}", f"{r['accuracy'] * 100:.2f}%"))
    print(f"# LeNet (seed 5.1) on Fashion-MNIST, {a.epochs} epochs x {a.limit} images, batch 100, "
          f"{datetime.date.today()} on {machine()}")
    print(f"# command: {' '.join([os.path.basename(sys.executable)] + sys.argv)}")
    print(table(rows, ("framework", "train images/s", "test accuracy")))


if __name__ == "__main__":
    main()
