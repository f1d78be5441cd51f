"""Linear regression as in the seed's section 4.1: price = w1*area + w2*rooms + w3*location + b,
learned with FullyConnected + LinearRegressionOutput and Module.fit from synthetic houses.

    python examples/linear_regression.py
"""
import logging

import numpy as np

import mxcc as mx

TRUE_W = np.array([3.0, -2.0, 0.5], np.float32)  # area, rooms, location
TRUE_B = 1.5


def make_data(n=2000, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, (n, 3)).astype(np.float32)
    noise = rng.normal(0, 0.01, n).astype(np.float32)
    y = (x * TRUE_W).sum(axis=1) + TRUE_B + noise  # host-side data generation
    return x, y.astype(np.float32)


def model():
    data = mx.sym.Variable("data")
    fc = mx.sym.FullyConnected(data=data, num_hidden=1, name="fc")
    return mx.sym.LinearRegressionOutput(data=fc, name="lro")


def train(num_epoch=20):
    x, y = make_data()
    np.random.seed(0)  # NDArrayIter shuffles with numpy's global generator, as MXNet's does: same batches every run
    train_iter = mx.io.NDArrayIter(x, y, batch_size=50, shuffle=True, label_name="lro_label")
    mod = mx.mod.Module(model(), data_names=["data"], label_names=["lro_label"])
    mod.fit(train_iter, optimizer="sgd", optimizer_params={"learning_rate": 0.1}, eval_metric="mse",
            num_epoch=num_epoch, initializer=mx.init.Normal(0.1))
    args, _ = mod.get_params()
    return args["fc_weight"].asnumpy().ravel(), float(args["fc_bias"].asnumpy()[0])


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    w, b = train()
    print(f"learned w = {np.round(w, 3)}, b = {b:.3f}   (generating w = {TRUE_W}, b = {TRUE_B})")
