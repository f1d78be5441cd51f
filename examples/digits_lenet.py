"""`make demo`: a LeNet-style network trained with Module.fit on scikit-learn's bundled
handwritten digits (1,797 real 8x8 images that install with pip: no download), then
evaluated on held-out digits. Everything runs on C that mxcc generated.

    python examples/digits_lenet.py [--epochs 12]
"""
import argparse
import logging
import time

import numpy as np
from sklearn.datasets import load_digits

import mxcc as mx


def lenet_small():
    data = mx.sym.Variable("data")
    conv1 = mx.sym.Convolution(data=data, kernel=(3, 3), pad=(1, 1), num_filter=16)
    act1 = mx.sym.Activation(data=conv1, act_type="relu")
    pool1 = mx.sym.Pooling(data=act1, pool_type="max", kernel=(2, 2), stride=(2, 2))
    conv2 = mx.sym.Convolution(data=pool1, kernel=(3, 3), pad=(1, 1), num_filter=32)
    act2 = mx.sym.Activation(data=conv2, act_type="relu")
    flatten = mx.sym.Flatten(data=act2)
    fc1 = mx.sym.FullyConnected(data=flatten, num_hidden=64)
    act3 = mx.sym.Activation(data=fc1, act_type="relu")
    fc2 = mx.sym.FullyConnected(data=act3, num_hidden=10)
    return mx.sym.SoftmaxOutput(data=fc2, name="softmax")


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--epochs", type=int, default=12)
    p.add_argument("--batch-size", type=int, default=50)
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32).reshape(-1, 1, 8, 8)  # host-side data prep
    labels = digits.target.astype(np.float32)
    order = np.random.default_rng(0).permutation(len(labels))
    train_idx, test_idx = order[:1500], order[1500:]
    train = mx.io.NDArrayIter(images[train_idx], labels[train_idx], batch_size=args.batch_size, shuffle=True)
    test = mx.io.NDArrayIter(images[test_idx], labels[test_idx], batch_size=args.batch_size)

    mx.random.seed(7)
    mod = mx.mod.Module(symbol=lenet_small(), context=mx.cpu())
    t0 = time.time()
    mod.fit(train, eval_data=test, optimizer="sgd",
            optimizer_params={"learning_rate": 0.1, "momentum": 0.9},
            initializer=mx.init.Xavier(magnitude=2.24), eval_metric="acc", num_epoch=args.epochs,
            batch_end_callback=mx.callback.Speedometer(args.batch_size, 10))
    train_seconds = time.time() - t0
    acc = dict(mod.score(test, "acc"))["accuracy"]
    print(f"\nheld-out accuracy on {len(test_idx)} digits: {acc * 100:.2f}%  "
          f"(training took {train_seconds:.1f} s, {mx.runtime.stats()['kernels_compiled']} kernels compiled)")
    mod.save_checkpoint("digits_lenet", args.epochs)
    return acc


if __name__ == "__main__":
    main()
