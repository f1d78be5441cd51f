"""mx.gluon.nn: neural network layers (MXNet 1.x)."""
from ..block import Block, HybridBlock, SymbolBlock
from .activations import *  # noqa: F401,F403
from .basic_layers import *  # noqa: F401,F403
from .conv_layers import *  # noqa: F401,F403
from .sequential import HybridSequential, Sequential
