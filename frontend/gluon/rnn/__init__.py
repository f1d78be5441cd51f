"""mx.gluon.rnn: recurrent layers (RNN, LSTM, GRU: one fused op each) and cells (one step per call)."""
from .rnn_cell import *  # noqa: F403
from .rnn_cell import __all__ as _cells
from .rnn_layer import GRU, LSTM, RNN

__all__ = ["RNN", "LSTM", "GRU", *_cells]
