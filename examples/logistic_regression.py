"""Logistic regression as in the seed's section 4.2: p = sigmoid(w1*age + w2*gender + w3*interests + b),
learned with FullyConnected + LogisticRegressionOutput and Module.fit from synthetic clicks.

    python examples/logistic_regression.py
"""
import logging

import numpy as np

import mxcc as mx

TRUE_W = np.array([2.0, -1.0, 3.0], np.float32)  # age, gender, interests
TRUE_B = -0.5


def make_data(n=20000, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, (n, 3)).astype(np.float32)
    p = 1 / (1 + np.exp(-((x * TRUE_W).sum(axis=1) + TRUE_B)))  # host-side data generation
    y = (rng.uniform(0, 1, n) < p).astype(np.float32)
    return x, y


def model():
    data = mx.sym.Variable("data")
    fc = mx.sym.FullyConnected(data=data, num_hidden=1, name="fc")
    return mx.sym.LogisticRegressionOutput(data=fc, name="lro")


def train(num_epoch=30):
    x, y = make_data()
    np.random.seed(0)  # NDArrayIter shuffles with numpy's global generator, as MXNet's does: same batches every run
    train_iter = mx.io.NDArrayIter(x, y, batch_size=100, shuffle=True, label_name="lro_label")
    mod = mx.mod.Module(model(), data_names=["data"], label_names=["lro_label"])
    mod.fit(train_iter, optimizer="sgd", optimizer_params={"learning_rate": 1.0}, eval_metric="mse",
            num_epoch=num_epoch, initializer=mx.init.Zero())
    args, _ = mod.get_params()
    return args["fc_weight"].asnumpy().ravel(), float(args["fc_bias"].asnumpy()[0])


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    w, b = train()
    print(f"learned w = {np.round(w, 3)}, b = {b:.3f}   (generating w = {TRUE_W}, b = {TRUE_B})")
