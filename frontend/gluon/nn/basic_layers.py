"""Basic layers of mx.gluon.nn (MXNet 1.x): Dense, Dropout, BatchNorm, InstanceNorm, LayerNorm, GroupNorm,
Embedding, Flatten, Lambda, HybridLambda.

Each layer's forward is registry ops called through F (mx.nd or mx.sym); a size left as 0
(in_units, in_channels) is a deferred parameter shape that the first forward fills in.
"""
from __future__ import annotations

import numpy as np

from ... import ndarray as _nd
from ... import symbol as _sym
from ..block import Block, HybridBlock
from .activations import Activation

__all__ = ["Dense", "Dropout", "BatchNorm", "BatchNormReLU", "InstanceNorm", "LayerNorm", "GroupNorm", "Embedding",
           "Flatten", "Lambda", "HybridLambda"]


def _kwargs_repr(kwargs: dict) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in kwargs.items())


class Dense(HybridBlock):
    """A densely-connected layer: activation(dot(x, weight.T) + bias).

    flatten=True collapses every axis of the input but the first; flatten=False applies the
    layer to the last axis. in_units=0 defers the weight's shape to the first forward.
    """

    def __init__(self, units, activation=None, use_bias=True, flatten=True, dtype="float32",
                 weight_initializer=None, bias_initializer="zeros", in_units=0, **kwargs):
        super().__init__(**kwargs)
        self._flatten = flatten
        with self.name_scope():
            self._units = units
            self._in_units = in_units
            self.weight = self.params.get("weight", shape=(units, in_units), init=weight_initializer,
                                          dtype=dtype, allow_deferred_init=True)
            if use_bias:
                self.bias = self.params.get("bias", shape=(units,), init=bias_initializer, dtype=dtype,
                                            allow_deferred_init=True)
            else:
                self.bias = None
            self.act = Activation(activation, prefix=activation + "_") if activation is not None else None

    def hybrid_forward(self, F, x, weight, bias=None):
        args = (x, weight) if bias is None else (x, weight, bias)
        out = F.FullyConnected(*args, no_bias=bias is None, num_hidden=self._units, flatten=self._flatten,
                               name="fwd")
        if self.act is not None:
            out = self.act(out)
        return out

    def __repr__(self):
        shape = self.weight.shape
        return "{name}({layout}, {act})".format(name=self.__class__.__name__,
                                                act=self.act if self.act else "linear",
                                                layout=f"{shape[1] if shape[1] else None} -> {shape[0]}")


class Dropout(HybridBlock):
    """Sets a fraction `rate` of the inputs to zero in training (scaling the rest by 1/(1-rate));
    the identity otherwise. `axes`: axes along which one mask value is shared."""

    def __init__(self, rate, axes=(), **kwargs):
        super().__init__(**kwargs)
        if not 0 <= rate <= 1:
            raise ValueError(f"Dropout: rate must be in [0, 1], got {rate}")
        self._rate = rate
        self._axes = axes

    def hybrid_forward(self, F, x):
        if self._rate > 0:
            return F.Dropout(x, p=self._rate, axes=self._axes, name="fwd", cudnn_off=False)
        return F.identity(x)

    def __repr__(self):
        return f"{self.__class__.__name__}(p = {self._rate}, axes={self._axes})"


class BatchNorm(HybridBlock):
    """Batch normalization (Ioffe and Szegedy, 2015) over every axis but `axis`.

    In training mode (autograd.record, or autograd.train_mode) it normalizes with the batch
    statistics and updates running_mean / running_var (auxiliary states, grad_req 'null') with
    `momentum`; in prediction mode, or with use_global_stats=True, it uses the running statistics.
    """

    def __init__(self, axis=1, momentum=0.9, epsilon=1e-5, center=True, scale=True, use_global_stats=False,
                 beta_initializer="zeros", gamma_initializer="ones", running_mean_initializer="zeros",
                 running_variance_initializer="ones", in_channels=0, **kwargs):
        super().__init__(**kwargs)
        self._kwargs = {"axis": axis, "eps": epsilon, "momentum": momentum, "fix_gamma": not scale,
                        "use_global_stats": use_global_stats}
        if in_channels != 0:
            self.in_channels = in_channels
        with self.name_scope():
            self.gamma = self.params.get("gamma", grad_req="write" if scale else "null", shape=(in_channels,),
                                         init=gamma_initializer, allow_deferred_init=True, differentiable=scale)
            self.beta = self.params.get("beta", grad_req="write" if center else "null", shape=(in_channels,),
                                        init=beta_initializer, allow_deferred_init=True, differentiable=center)
            self.running_mean = self.params.get("running_mean", grad_req="null", shape=(in_channels,),
                                                init=running_mean_initializer, allow_deferred_init=True,
                                                differentiable=False)
            self.running_var = self.params.get("running_var", grad_req="null", shape=(in_channels,),
                                               init=running_variance_initializer, allow_deferred_init=True,
                                               differentiable=False)

    def cast(self, dtype):
        # the statistics of a float16 network stay float32, as in MXNet
        if np.dtype(dtype).name == "float16":
            dtype = "float32"
        super().cast(dtype)

    def hybrid_forward(self, F, x, gamma, beta, running_mean, running_var):
        return F.BatchNorm(x, gamma, beta, running_mean, running_var, name="fwd", **self._kwargs)

    def __repr__(self):
        in_channels = self.gamma.shape[0]
        return (f"{self.__class__.__name__}({_kwargs_repr(self._kwargs)}, "
                f"in_channels={in_channels if in_channels else None})")


class BatchNormReLU(BatchNorm):
    """BatchNorm followed by relu (MXNet's fused BatchNormWithReLU; here the two ops, which the
    compiler fuses)."""

    def hybrid_forward(self, F, x, gamma, beta, running_mean, running_var):
        out = F.BatchNorm(x, gamma, beta, running_mean, running_var, name="fwd", **self._kwargs)
        return F.Activation(out, act_type="relu")


class InstanceNorm(HybridBlock):
    """Instance normalization: each sample and channel (`axis`) normalized over the remaining axes."""

    def __init__(self, axis=1, epsilon=1e-5, center=True, scale=False, beta_initializer="zeros",
                 gamma_initializer="ones", in_channels=0, **kwargs):
        super().__init__(**kwargs)
        self._kwargs = {"eps": epsilon, "axis": axis, "center": center, "scale": scale}
        self._axis = axis
        self._epsilon = epsilon
        with self.name_scope():
            self.gamma = self.params.get("gamma", grad_req="write" if scale else "null", shape=(in_channels,),
                                         init=gamma_initializer, allow_deferred_init=True)
            self.beta = self.params.get("beta", grad_req="write" if center else "null", shape=(in_channels,),
                                        init=beta_initializer, allow_deferred_init=True)

    def hybrid_forward(self, F, x, gamma, beta):
        if self._axis == 1:
            return F.InstanceNorm(x, gamma, beta, name="fwd", eps=self._epsilon)
        x = F.swapaxes(x, dim1=1, dim2=self._axis)
        return F.swapaxes(F.InstanceNorm(x, gamma, beta, name="fwd", eps=self._epsilon), dim1=1, dim2=self._axis)

    def __repr__(self):
        return f"{self.__class__.__name__}({_kwargs_repr(self._kwargs)}, in_channels={self.gamma.shape[0]})"


class LayerNorm(HybridBlock):
    """Layer normalization: each position normalized over `axis` (default: the last), then gamma and beta."""

    def __init__(self, axis=-1, epsilon=1e-5, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", in_channels=0, prefix=None, params=None):
        super().__init__(prefix=prefix, params=params)
        self._kwargs = {"eps": epsilon, "axis": axis, "center": center, "scale": scale}
        self._axis = axis
        self._epsilon = epsilon
        self._center = center
        self._scale = scale
        with self.name_scope():
            self.gamma = self.params.get("gamma", grad_req="write" if scale else "null", shape=(in_channels,),
                                         init=gamma_initializer, allow_deferred_init=True)
            self.beta = self.params.get("beta", grad_req="write" if center else "null", shape=(in_channels,),
                                        init=beta_initializer, allow_deferred_init=True)

    def hybrid_forward(self, F, data, gamma, beta):
        return F.LayerNorm(data, gamma=gamma, beta=beta, axis=self._axis, eps=self._epsilon)

    def __repr__(self):
        return f"{self.__class__.__name__}({_kwargs_repr(self._kwargs)}, in_channels={self.gamma.shape[0]})"


class GroupNorm(HybridBlock):
    """Group normalization (Wu and He, 2018): the channels of each sample split into `num_groups`
    groups, each group normalized over its channels and positions; gamma and beta hold one value
    per group (MXNet 1.x)."""

    def __init__(self, num_groups=1, epsilon=1e-5, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", prefix=None, params=None):
        super().__init__(prefix=prefix, params=params)
        self._kwargs = {"eps": epsilon, "num_groups": num_groups, "center": center, "scale": scale}
        self._num_groups = num_groups
        self._epsilon = epsilon
        self._center = center
        self._scale = scale
        with self.name_scope():
            self.gamma = self.params.get("gamma", grad_req="write" if scale else "null", shape=(num_groups,),
                                         init=gamma_initializer, allow_deferred_init=True)
            self.beta = self.params.get("beta", grad_req="write" if center else "null", shape=(num_groups,),
                                        init=beta_initializer, allow_deferred_init=True)

    def hybrid_forward(self, F, data, gamma, beta):
        g = self._num_groups
        x = F.reshape(data, shape=(0, g, -1))
        xc = F.broadcast_sub(x, F.mean(x, axis=2, keepdims=True))
        var = F.mean(F.square(xc), axis=2, keepdims=True)
        y = F.broadcast_div(xc, F.sqrt(var + self._epsilon))
        y = F.broadcast_add(F.broadcast_mul(y, F.reshape(gamma, shape=(1, g, 1))), F.reshape(beta, shape=(1, g, 1)))
        return F.reshape_like(y, data)

    def __repr__(self):
        return f"{self.__class__.__name__}({_kwargs_repr(self._kwargs)})"


class Embedding(HybridBlock):
    """Maps integer indices in [0, input_dim) to rows of a (input_dim, output_dim) weight.

    sparse_grad=True is accepted, but mxcc stores every gradient densely: the weight's gradient
    has the same values as MXNet's row_sparse one, zeros in the rows no index selected."""

    def __init__(self, input_dim, output_dim, dtype="float32", weight_initializer=None, sparse_grad=False,
                 **kwargs):
        super().__init__(**kwargs)
        self._kwargs = {"input_dim": input_dim, "output_dim": output_dim, "dtype": dtype,
                        "sparse_grad": sparse_grad}
        with self.name_scope():
            self.weight = self.params.get("weight", shape=(input_dim, output_dim), init=weight_initializer,
                                          dtype=dtype, allow_deferred_init=True)

    def hybrid_forward(self, F, x, weight):
        return F.Embedding(x, weight, name="fwd", **self._kwargs)

    def __repr__(self):
        return "{block_name}({input_dim} -> {output_dim}, {dtype})".format(block_name=self.__class__.__name__,
                                                                           **self._kwargs)


class Flatten(HybridBlock):
    """(N, x1, ..., xk) -> (N, x1 * ... * xk)."""

    def hybrid_forward(self, F, x):
        return F.Flatten(x)

    def __repr__(self):
        return self.__class__.__name__


class Lambda(Block):
    """A function as a Block: the name of an mx.nd operator, or a callable taking the inputs."""

    def __init__(self, function, prefix=None):
        super().__init__(prefix=prefix)
        if isinstance(function, str):
            if not hasattr(_nd, function):
                raise ValueError(f"Lambda: function name {function!r} is not found in mx.nd")
            self._func_impl = getattr(_nd, function)
        elif callable(function):
            self._func_impl = function
        else:
            raise ValueError(f"Unrecognized function in lambda: {function} of type {type(function)}")

    def forward(self, *args):
        return self._func_impl(*args)

    def __repr__(self):
        return f"{self.__class__.__name__}({self._func_impl.__name__})"


class HybridLambda(HybridBlock):
    """A function as a HybridBlock: the name of an operator in both mx.nd and mx.sym, or a callable
    `function(F, x, *args)`."""

    def __init__(self, function, prefix=None):
        super().__init__(prefix=prefix)
        if isinstance(function, str):
            if not (hasattr(_nd, function) and hasattr(_sym, function)):
                raise ValueError(f"HybridLambda: function name {function!r} is not found in both mx.nd and mx.sym")
            self._func = lambda F, *args: getattr(F, function)(*args)
            self._func_name = function
        elif callable(function):
            self._func = function
            self._func_name = function.__name__
        else:
            raise ValueError(f"Unrecognized function in lambda: {function} of type {type(function)}")

    def hybrid_forward(self, F, x, *args):
        return self._func(F, x, *args)

    def __repr__(self):
        return f"{self.__class__.__name__}({self._func_name})"
