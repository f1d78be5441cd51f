"""mx.optimizer: optimizers (MXNet 1.x), run as fused in-place update kernels."""
from .optimizer import (
    NAG,
    SGD,
    AdaDelta,
    AdaGrad,
    Adam,
    Optimizer,
    RMSProp,
    ccSGD,
    create,
    register,
)
from .updater import Updater, get_updater

__all__ = ["Optimizer", "SGD", "ccSGD", "NAG", "Adam", "AdaGrad", "RMSProp", "AdaDelta", "create", "register",
           "Updater", "get_updater"]
