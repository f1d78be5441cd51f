"""mx.mod: the Module API of MXNet 1.x."""
from .base_module import BaseModule
from .module import Module

__all__ = ["BaseModule", "Module"]
