"""The seed's LeNet through the whole compiler path (Symbol -> IR -> autodiff -> C -> Module.fit)
on real MNIST digits: 8,000 for training, 2,000 held out, at least 97% accuracy."""
import logging

import numpy as np
from datasets import mnist_split
from nets import lenet

import mxcc as mx


def test_lenet_trains_to_97_percent_on_mnist(tmp_path, caplog):
    files = mnist_split(tmp_path)
    mx.random.seed(42)
    train = mx.io.MNISTIter(image=files["train"][0], label=files["train"][1], data_shape=(1, 28, 28),
                            batch_size=100, shuffle=True, seed=1)
    test = mx.io.MNISTIter(image=files["eval"][0], label=files["eval"][1], data_shape=(1, 28, 28), batch_size=100)
    mod = mx.mod.Module(symbol=lenet(), context=mx.cpu())
    with caplog.at_level(logging.INFO):
        mod.fit(train, eval_data=test, optimizer="sgd",
                optimizer_params={"learning_rate": 0.05, "momentum": 0.9, "wd": 1e-4},
                initializer=mx.init.Xavier(magnitude=2.24), eval_metric="acc", num_epoch=4,
                batch_end_callback=mx.callback.Speedometer(100, 40))
    text = caplog.text
    assert "Epoch[0] Train-accuracy=" in text and "Epoch[0] Time cost=" in text
    assert "Epoch[3] Validation-accuracy=" in text and "samples/sec" in text
    prediction = mod.predict(test)
    assert prediction.shape == (2000, 10)
    acc = mx.metric.Accuracy()
    acc.update(test.label, prediction)
    assert acc.get()[1] >= 0.97, acc.get()
    score = dict(mod.score(test, "acc"))["accuracy"]
    assert abs(score - acc.get()[1]) < 1e-9
    # checkpoint round trip: same predictions from a Module loaded back
    prefix = str(tmp_path / "lenet")
    mod.save_checkpoint(prefix, 4)
    back = mx.mod.Module.load(prefix, 4)
    back.bind(data_shapes=test.provide_data, label_shapes=test.provide_label, for_training=False)
    np.testing.assert_allclose(back.predict(test).asnumpy(), prediction.asnumpy(), rtol=1e-5, atol=1e-6)
