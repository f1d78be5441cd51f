"""LeNet in Gluon, hybridized, trained on MNIST-format idx files (MNIST or Fashion-MNIST):

    python examples/gluon_mnist.py TRAIN_IMAGES TRAIN_LABELS TEST_IMAGES TEST_LABELS [NUM_EPOCH] [--progress]

(idx files, plain or gzipped). gluon.nn layers, a gluon.data.DataLoader, softmax cross-entropy and
a Trainer; after hybridize() each forward is one compiled C call and each backward another.
--progress shows a tqdm progress bar per epoch (pip install tqdm; `make demo` installs it).
"""
import gzip
import random
import sys
import time

import numpy as np

import mxcc as mx
from mxcc import autograd, gluon
from mxcc.gluon import nn


def read_idx(path):
    """An idx file (plain or gzipped) as a numpy array (numpy only holds the bytes)."""
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def lenet():
    net = nn.HybridSequential()
    with net.name_scope():
        net.add(nn.Conv2D(20, kernel_size=5, activation="relu"), nn.MaxPool2D(pool_size=2, strides=2),
                nn.Conv2D(50, kernel_size=5, activation="relu"), nn.MaxPool2D(pool_size=2, strides=2),
                nn.Flatten(), nn.Dense(500, activation="relu"), nn.Dense(10))
    return net


def load(images, labels):
    x = read_idx(images).reshape(-1, 1, 28, 28).astype(np.float32) / 255  # host-side scaling of the input
    y = read_idx(labels).astype(np.float32)
    return x, y


def evaluate(net, loader):
    metric = mx.metric.Accuracy()
    for x, y in loader:
        metric.update([y], [net(x)])
    return metric.get()[1]


def train(train_images, train_labels, test_images, test_labels, num_epoch=4, batch_size=100, lr=0.05,
          hybridize=True, log=print, progress=False):
    """Train LeNet; returns the test accuracy."""
    mx.random.seed(42)
    random.seed(42)  # the DataLoader's shuffle (Python's random, as MXNet's sampler): the same batches every run
    xtr, ytr = load(train_images, train_labels)
    xte, yte = load(test_images, test_labels)
    train_data = gluon.data.DataLoader(gluon.data.ArrayDataset(mx.nd.array(xtr), mx.nd.array(ytr)),
                                       batch_size=batch_size, shuffle=True)
    test_data = gluon.data.DataLoader(gluon.data.ArrayDataset(mx.nd.array(xte), mx.nd.array(yte)),
                                      batch_size=batch_size)
    net = lenet()
    net.initialize(mx.init.Xavier(magnitude=2.24))
    if hybridize:
        net.hybridize()
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": lr, "momentum": 0.9, "wd": 1e-4})
    for epoch in range(num_epoch):
        tic, total, n = time.time(), 0.0, 0
        metric = mx.metric.Accuracy()
        batches = train_data
        if progress:
            from tqdm import tqdm

            batches = tqdm(train_data, desc=f"epoch {epoch}", unit="batch", leave=False)
        for x, y in batches:
            with autograd.record():
                out = net(x)
                loss = loss_fn(out, y)
            loss.backward()
            trainer.step(x.shape[0])
            metric.update([y], [out])
            total += float(loss.sum().asscalar())
            n += x.shape[0]
            if progress:
                batches.set_postfix(loss=f"{total / n:.4f}")
        log(f"Epoch[{epoch}] loss={total / n:.4f} Train-accuracy={metric.get()[1]:.4f} "
            f"time={time.time() - tic:.1f}s")
    acc = evaluate(net, test_data)
    log(f"Accuracy: {acc:f}")
    return acc


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--progress"]
    if len(args) < 4:
        sys.exit(__doc__)
    train(*args[:4], num_epoch=int(args[4]) if len(args) > 4 else 4, progress="--progress" in sys.argv)
