"""mx.gluon.data.vision: image datasets and transforms (MXNet 1.x)."""
from . import datasets, transforms
from .datasets import CIFAR10, CIFAR100, MNIST, FashionMNIST

__all__ = ["datasets", "transforms", "MNIST", "FashionMNIST", "CIFAR10", "CIFAR100"]
