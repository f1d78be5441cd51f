"""examples/gluon_mnist.py: a hybridized Gluon LeNet on real MNIST digits (8,000 train / 2,000 held out)
reaches at least 97% accuracy."""
import sys
from pathlib import Path

from datasets import mnist_split

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))

import gluon_mnist  # noqa: E402


def test_gluon_lenet_trains_to_97_percent_on_mnist(tmp_path):
    files = mnist_split(tmp_path)
    lines = []
    acc = gluon_mnist.train(*files["train"], *files["eval"], num_epoch=4, log=lines.append)
    assert lines[0].startswith("Epoch[0] loss=") and "Train-accuracy=" in lines[0]
    assert acc >= 0.97, lines
