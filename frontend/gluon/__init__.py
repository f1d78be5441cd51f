"""mx.gluon: imperative blocks that hybridize into compiled graphs (MXNet 1.x Gluon API)."""
from . import data, loss, model_zoo, nn, rnn, utils
from .block import Block, HybridBlock, SymbolBlock
from .parameter import Constant, DeferredInitializationError, Parameter, ParameterDict
from .trainer import Trainer
