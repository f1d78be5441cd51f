"""Recurrent layers of mx.gluon.rnn (MXNet 1.x): RNN, LSTM, GRU, each one fused RNN op.

A layer holds per-layer, per-direction parameters named as MXNet names them (l0_i2h_weight,
l0_h2h_weight, l0_i2h_bias, l0_h2h_bias, r0_... for the reverse direction) and packs them, in
hybrid_forward, into the op's flat vector: every weight (layer by layer, direction by direction,
i2h then h2h), then every bias in the same order. Layout NTC is handled by swapping the first two
axes around the op (which runs TNC).
"""
from __future__ import annotations

from ... import ndarray, symbol
from ...ir.errors import MXNetError
from ...ndarray import NDArray
from ...symbol import Symbol
from ..block import HybridBlock
from . import rnn_cell

__all__ = ["RNN", "LSTM", "GRU"]


class _RNNLayer(HybridBlock):
    """The shared implementation of RNN, LSTM and GRU."""

    def __init__(self, hidden_size, num_layers, layout, dropout, bidirectional, input_size,
                 i2h_weight_initializer, h2h_weight_initializer, i2h_bias_initializer, h2h_bias_initializer,
                 mode, projection_size=None, h2r_weight_initializer=None, lstm_state_clip_min=None,
                 lstm_state_clip_max=None, lstm_state_clip_nan=False, dtype="float32", use_sequence_length=False,
                 **kwargs):
        super().__init__(**kwargs)
        if layout not in ("TNC", "NTC"):
            raise ValueError(f"Invalid layout {layout}; must be one of ['TNC' or 'NTC']")
        if projection_size:
            raise MXNetError(f"{type(self).__name__}: projection_size={projection_size} (LSTMP) is not supported "
                             f"by mxcc")
        self._hidden_size = hidden_size
        self._projection_size = None
        self._num_layers = num_layers
        self._mode = mode
        self._layout = layout
        self._dropout = dropout
        self._dir = 2 if bidirectional else 1
        self._input_size = input_size
        self._i2h_weight_initializer = i2h_weight_initializer
        self._h2h_weight_initializer = h2h_weight_initializer
        self._i2h_bias_initializer = i2h_bias_initializer
        self._h2h_bias_initializer = h2h_bias_initializer
        self._h2r_weight_initializer = h2r_weight_initializer
        self._lstm_state_clip_min = lstm_state_clip_min
        self._lstm_state_clip_max = lstm_state_clip_max
        self._lstm_state_clip_nan = lstm_state_clip_nan
        self._dtype = dtype
        self._use_sequence_length = use_sequence_length
        self.skip_states = None
        self._gates = {"rnn_relu": 1, "rnn_tanh": 1, "lstm": 4, "gru": 3}[mode]
        ng, ni, nh = self._gates, input_size, hidden_size
        for i in range(num_layers):
            for j in ["l", "r"][:self._dir]:
                self._register_param(f"{j}{i}_i2h_weight", (ng * nh, ni), i2h_weight_initializer, dtype)
                self._register_param(f"{j}{i}_h2h_weight", (ng * nh, nh), h2h_weight_initializer, dtype)
                self._register_param(f"{j}{i}_i2h_bias", (ng * nh,), i2h_bias_initializer, dtype)
                self._register_param(f"{j}{i}_h2h_bias", (ng * nh,), h2h_bias_initializer, dtype)
            ni = nh * self._dir

    def _register_param(self, name, shape, init, dtype):
        p = self.params.get(name, shape=shape, init=init, allow_deferred_init=True, dtype=dtype)
        setattr(self, name, p)
        return p

    def __repr__(self):
        s = f"{self.__class__.__name__}("
        shape = self.l0_i2h_weight.shape
        s += f"{shape[1] if shape[1] else None} -> {shape[0] // self._gates}, {self._layout}"
        if self._num_layers != 1:
            s += f", num_layers={self._num_layers}"
        if self._dropout != 0:
            s += f", dropout={self._dropout}"
        if self._dir == 2:
            s += ", bidirectional"
        return s + ")"

    def _collect_params_with_prefix(self, prefix=""):
        # the structural names of MXNet's unfused cell stack ('_unfused.0.l_cell.i2h_weight'), so
        # save_parameters files load in MXNet and back
        if prefix:
            prefix += "."
        bidir = self._dir == 2
        ret = {}
        for key, val in self._reg_params.items():
            d, rest = key[0], key[1:]
            layer, g_t = rest.split("_", 1)
            name = f"_unfused.{layer}.{d}_cell.{g_t}" if bidir else f"_unfused.{layer}.{g_t}"
            ret[prefix + name] = val
        for name, child in self._children.items():
            ret.update(child._collect_params_with_prefix(prefix + name))
        return ret

    def state_info(self, batch_size=0):
        raise NotImplementedError(f"{type(self).__name__}.state_info is not defined")

    def _unfuse(self):
        """The same network as a stack of cells sharing this layer's parameters."""
        get_cell = {"rnn_relu": lambda **kw: rnn_cell.RNNCell(self._hidden_size, activation="relu", **kw),
                    "rnn_tanh": lambda **kw: rnn_cell.RNNCell(self._hidden_size, activation="tanh", **kw),
                    "lstm": lambda **kw: rnn_cell.LSTMCell(self._hidden_size, **kw),
                    "gru": lambda **kw: rnn_cell.GRUCell(self._hidden_size, **kw)}[self._mode]
        stack = rnn_cell.HybridSequentialRNNCell(prefix=self.prefix, params=self.params)
        with stack.name_scope():
            ni = self._input_size
            for i in range(self._num_layers):
                kw = {"input_size": ni, "i2h_weight_initializer": self._i2h_weight_initializer,
                      "h2h_weight_initializer": self._h2h_weight_initializer,
                      "i2h_bias_initializer": self._i2h_bias_initializer,
                      "h2h_bias_initializer": self._h2h_bias_initializer}
                if self._dir == 2:
                    stack.add(rnn_cell.BidirectionalCell(get_cell(prefix=f"l{i}_", **kw),
                                                         get_cell(prefix=f"r{i}_", **kw)))
                else:
                    stack.add(get_cell(prefix=f"l{i}_", **kw))
                if self._dropout > 0 and i != self._num_layers - 1:
                    stack.add(rnn_cell.DropoutCell(self._dropout))
                ni = self._hidden_size * self._dir
        return stack

    def begin_state(self, batch_size=0, func=ndarray.zeros, **kwargs):
        """Initial states: func(name=..., shape=(layers * directions, batch_size, hidden_size), **kwargs)."""
        states = []
        for i, info in enumerate(self.state_info(batch_size)):
            info = dict(info or {})
            info.update(kwargs)
            states.append(rnn_cell._state_func_call(func, f"{self.prefix}h0_{i}", info))
        return states

    def infer_shape(self, inputs, *args):
        """The first layer's i2h weights take their input size from the data (input_size=0)."""
        shape = inputs.shape
        if len(shape) != 3:
            raise MXNetError(f"{self.name}: expected 3-D input in layout {self._layout}, got shape {shape}")
        n_in = shape[self._layout.find("C")]
        for j in ["l", "r"][:self._dir]:
            getattr(self, f"{j}0_i2h_weight").shape = (self._gates * self._hidden_size, n_in)

    def __call__(self, inputs, states=None, sequence_length=None, **kwargs):
        if self.skip_states is not None and self.skip_states != (states is None):
            self._clear_cached_op()  # the traced graph returns the states or not
        self.skip_states = states is None
        if states is None:
            if isinstance(inputs, NDArray):
                batch_size = inputs.shape[self._layout.find("N")]
                states = self.begin_state(batch_size, ctx=inputs.context, dtype=inputs.dtype)
            else:
                states = self._symbol_zero_states(inputs)
        if isinstance(states, (NDArray, Symbol)):
            states = [states]
        if self._use_sequence_length:
            if sequence_length is None:
                raise ValueError(f"{self.name}: use_sequence_length=True needs a sequence_length input")
            return super().__call__(inputs, states, sequence_length, **kwargs)
        return super().__call__(inputs, states, **kwargs)

    def _symbol_zero_states(self, inputs):
        """Zero begin states of a symbolic input (whose batch size is not known yet): zeros of one time
        step and one channel, tiled to (layers * directions, N, hidden)."""
        t_axis, c_axis = self._layout.find("T"), self._layout.find("C")
        z = symbol.sum(symbol.zeros_like(symbol.slice_axis(inputs, axis=t_axis, begin=0, end=1)),
                       axis=c_axis, keepdims=True)
        if self._layout == "NTC":
            z = symbol.swapaxes(z, dim1=0, dim2=1)
        z = symbol.tile(z, reps=(self._num_layers * self._dir, 1, self._hidden_size))
        return [z] * len(self.state_info(0))

    def hybrid_forward(self, F, inputs, states, sequence_length=None, **kwargs):
        if F is ndarray:
            batch_size = inputs.shape[self._layout.find("N")]
            for state, info in zip(states, self.state_info(batch_size)):
                if state.shape != info["shape"]:
                    raise ValueError(f"Invalid recurrent state shape. Expecting {info['shape']}, got {state.shape}.")
        out = self._forward_kernel(F, inputs, states, sequence_length, **kwargs)
        return out[0] if self.skip_states else out

    def _forward_kernel(self, F, inputs, states, sequence_length, **kwargs):
        if self._layout == "NTC":
            inputs = F.swapaxes(inputs, dim1=0, dim2=1)
        params = [kwargs[f"{d}{layer}_{g}_{t}"]
                  for t in ("weight", "bias")
                  for layer in range(self._num_layers)
                  for d in ["l", "r"][:self._dir]
                  for g in ("i2h", "h2h")]
        # one flat vector; the data rides along so that shape inference can size l0_i2h_weight
        params = F._internal._rnn_pack_params(inputs, *params, state_size=self._hidden_size,
                                              num_layers=self._num_layers, bidirectional=self._dir == 2,
                                              mode=self._mode)
        args = list(states) + ([sequence_length] if self._use_sequence_length else [])
        rnn = F.RNN(inputs, params, *args, use_sequence_length=self._use_sequence_length,
                    state_size=self._hidden_size, num_layers=self._num_layers, bidirectional=self._dir == 2,
                    p=self._dropout, state_outputs=True, mode=self._mode,
                    lstm_state_clip_min=self._lstm_state_clip_min, lstm_state_clip_max=self._lstm_state_clip_max,
                    lstm_state_clip_nan=self._lstm_state_clip_nan)
        if self._mode == "lstm":
            outputs, states = rnn[0], [rnn[1], rnn[2]]
        else:
            outputs, states = rnn[0], [rnn[1]]
        if self._layout == "NTC":
            outputs = F.swapaxes(outputs, dim1=0, dim2=1)
        return outputs, states


_COMMON_DOC = """
    hidden_size: features in the hidden state h. num_layers: stacked layers (default 1).
    layout: 'TNC' (default) or 'NTC'. dropout: dropout on the outputs of every layer but the last
    (training only). bidirectional: run a reverse-direction layer too (outputs 2 * hidden_size).
    i2h/h2h_weight_initializer, i2h/h2h_bias_initializer: the parameters' initializers.
    input_size: features of x (0: inferred from the first input). use_sequence_length: take a
    sequence_length (batch,) argument of valid lengths.

    Call: layer(data, states=None, sequence_length=None) -> out, or (out, new states) when states are
    given; states are (num_layers * directions, batch, hidden_size) arrays."""


class RNN(_RNNLayer):
    __doc__ = ("Multi-layer Elman RNN with tanh or ReLU (activation='relu', the default) non-linearity:\n"
               "    h_t = activation(W_ih x_t + b_ih + W_hh h_(t-1) + b_hh)\n" + _COMMON_DOC)

    def __init__(self, hidden_size, num_layers=1, activation="relu", layout="TNC", dropout=0, bidirectional=False,
                 i2h_weight_initializer=None, h2h_weight_initializer=None, i2h_bias_initializer="zeros",
                 h2h_bias_initializer="zeros", input_size=0, dtype="float32", **kwargs):
        if activation not in ("relu", "tanh"):
            raise ValueError(f"RNN: activation must be 'relu' or 'tanh', got {activation!r}")
        super().__init__(hidden_size, num_layers, layout, dropout, bidirectional, input_size,
                         i2h_weight_initializer, h2h_weight_initializer, i2h_bias_initializer, h2h_bias_initializer,
                         "rnn_" + activation, None, None, None, None, False, dtype, **kwargs)

    def state_info(self, batch_size=0):
        return [{"shape": (self._num_layers * self._dir, batch_size, self._hidden_size), "__layout__": "LNC",
                 "dtype": self._dtype}]


class LSTM(_RNNLayer):
    __doc__ = ("Multi-layer LSTM (gates i, f, g, o): c_t = f c_(t-1) + i g, h_t = o tanh(c_t); the states are\n"
               "    [h, c]. lstm_state_clip_min / max clip the cell state (lstm_state_clip_nan: NaN too).\n"
               + _COMMON_DOC)

    def __init__(self, hidden_size, num_layers=1, layout="TNC", dropout=0, bidirectional=False, input_size=0,
                 i2h_weight_initializer=None, h2h_weight_initializer=None, i2h_bias_initializer="zeros",
                 h2h_bias_initializer="zeros", projection_size=None, h2r_weight_initializer=None,
                 state_clip_min=None, state_clip_max=None, state_clip_nan=False, dtype="float32", **kwargs):
        super().__init__(hidden_size, num_layers, layout, dropout, bidirectional, input_size,
                         i2h_weight_initializer, h2h_weight_initializer, i2h_bias_initializer, h2h_bias_initializer,
                         "lstm", projection_size, h2r_weight_initializer, state_clip_min, state_clip_max,
                         state_clip_nan, dtype, **kwargs)

    def state_info(self, batch_size=0):
        shape = (self._num_layers * self._dir, batch_size, self._hidden_size)
        return [{"shape": shape, "__layout__": "LNC", "dtype": self._dtype},
                {"shape": shape, "__layout__": "LNC", "dtype": self._dtype}]


class GRU(_RNNLayer):
    __doc__ = ("Multi-layer GRU as cuDNN computes it (gates r, z, n):\n"
               "    n_t = tanh(W_in x_t + b_in + r (W_hn h + b_hn)), h_t = (1 - z) n_t + z h_(t-1).\n" + _COMMON_DOC)

    def __init__(self, hidden_size, num_layers=1, layout="TNC", dropout=0, bidirectional=False, input_size=0,
                 i2h_weight_initializer=None, h2h_weight_initializer=None, i2h_bias_initializer="zeros",
                 h2h_bias_initializer="zeros", dtype="float32", **kwargs):
        super().__init__(hidden_size, num_layers, layout, dropout, bidirectional, input_size,
                         i2h_weight_initializer, h2h_weight_initializer, i2h_bias_initializer, h2h_bias_initializer,
                         "gru", None, None, None, None, False, dtype, **kwargs)

    def state_info(self, batch_size=0):
        return [{"shape": (self._num_layers * self._dir, batch_size, self._hidden_size), "__layout__": "LNC",
                 "dtype": self._dtype}]
