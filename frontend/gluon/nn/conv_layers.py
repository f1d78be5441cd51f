"""Convolution and pooling layers of mx.gluon.nn (MXNet 1.x): Conv1D/2D/3D, Conv1D/2D/3DTranspose,
Max/Avg/GlobalMax/GlobalAvg pooling in 1, 2 and 3 dimensions, ReflectionPad2D.

The layers call the registry's Convolution, Deconvolution, Pooling and Pad ops through F, so
they run as the same generated kernels as mx.nd and mx.sym.
"""
from __future__ import annotations

import numbers

from ..block import HybridBlock
from .activations import Activation

__all__ = ["Conv1D", "Conv2D", "Conv3D", "Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose",
           "MaxPool1D", "MaxPool2D", "MaxPool3D", "AvgPool1D", "AvgPool2D", "AvgPool3D",
           "GlobalMaxPool1D", "GlobalMaxPool2D", "GlobalMaxPool3D",
           "GlobalAvgPool1D", "GlobalAvgPool2D", "GlobalAvgPool3D", "ReflectionPad2D"]

_LAYOUTS = {1: ("NCW", "NWC"), 2: ("NCHW", "NHWC"), 3: ("NCDHW", "NDHWC")}


def _tuple(name, value, n):
    """An int or a sequence of n ints as a tuple of n ints."""
    if isinstance(value, numbers.Integral):
        return (int(value),) * n
    value = tuple(value)
    if len(value) != n or not all(isinstance(v, numbers.Integral) for v in value):
        raise ValueError(f"{name} must be an int or a list of {n} ints, got {value!r}")
    return tuple(int(v) for v in value)


def _check_layout(cls, layout, n):
    if layout not in _LAYOUTS[n]:
        raise ValueError(f"{cls}: only supports {' and '.join(_LAYOUTS[n])} layouts, got {layout!r}")


class _Conv(HybridBlock):
    """An n-D convolution (op_name='Convolution') or transposed convolution ('Deconvolution') with an
    optional bias and activation. in_channels=0 defers the weight's shape to the first forward."""

    def __init__(self, channels, kernel_size, strides, padding, dilation, groups, layout, in_channels=0,
                 activation=None, use_bias=True, weight_initializer=None, bias_initializer="zeros",
                 op_name="Convolution", adj=None, **kwargs):
        super().__init__(**kwargs)
        n = len(kernel_size)
        with self.name_scope():
            self._channels = channels
            self._in_channels = in_channels
            strides = _tuple("strides", strides, n)
            padding = _tuple("padding", padding, n)
            dilation = _tuple("dilation", dilation, n)
            if channels <= 0 or groups <= 0 or channels % groups or in_channels % groups:
                raise ValueError(f"{self.__class__.__name__}: channels ({channels}) and in_channels "
                                 f"({in_channels}) must be divisible by groups ({groups})")
            self._op_name = op_name
            self._kwargs = {"kernel": kernel_size, "stride": strides, "dilate": dilation, "pad": padding,
                            "num_filter": channels, "num_group": groups, "no_bias": not use_bias,
                            "layout": layout}
            if adj is not None:
                self._kwargs["adj"] = adj
            channel_last = layout.find("C") == len(layout) - 1
            if op_name == "Deconvolution":  # (in, out / groups, *kernel)
                wshape = (in_channels, channels // groups) + kernel_size
            elif channel_last:
                wshape = (channels,) + kernel_size + (in_channels // groups,)
            else:
                wshape = (channels, in_channels // groups) + kernel_size
            self.weight = self.params.get("weight", shape=wshape, init=weight_initializer,
                                          allow_deferred_init=True)
            if use_bias:
                self.bias = self.params.get("bias", shape=(channels,), init=bias_initializer,
                                            allow_deferred_init=True)
            else:
                self.bias = None
            self.act = Activation(activation, prefix=activation + "_") if activation is not None else None

    def _alias(self):
        return "conv"

    def hybrid_forward(self, F, x, weight, bias=None):
        op = getattr(F, self._op_name)
        if bias is None:
            out = op(x, weight, name="fwd", **self._kwargs)
        else:
            out = op(x, weight, bias, name="fwd", **self._kwargs)
        if self.act is not None:
            out = self.act(out)
        return out

    def __repr__(self):
        kw = self._kwargs
        n = len(kw["kernel"])
        s = "{name}({mapping}, kernel_size={kernel}, stride={stride}"
        if kw["pad"] != (0,) * n:
            s += ", padding={pad}"
        if kw["dilate"] != (1,) * n:
            s += ", dilation={dilate}"
        if getattr(self, "outpad", (0,) * n) != (0,) * n:
            s += f", output_padding={self.outpad}"
        if kw["num_group"] != 1:
            s += ", groups={num_group}"
        if self.bias is None:
            s += ", bias=False"
        if self.act:
            s += f", {self.act}"
        s += ")"
        shape = self.weight.shape
        if self._op_name == "Deconvolution":  # weight (in, out / groups, ...)
            mapping = f"{shape[0] if shape[0] else None} -> {shape[1]}"
        else:
            mapping = f"{shape[1] if shape[1] else None} -> {shape[0]}"
        return s.format(name=self.__class__.__name__, mapping=mapping, **kw)


class Conv1D(_Conv):
    """1-D convolution over (batch, in_channels, width)."""

    def __init__(self, channels, kernel_size, strides=1, padding=0, dilation=1, groups=1, layout="NCW",
                 activation=None, use_bias=True, weight_initializer=None, bias_initializer="zeros",
                 in_channels=0, **kwargs):
        _check_layout("Conv1D", layout, 1)
        kernel_size = _tuple("kernel_size", kernel_size, 1)
        super().__init__(channels, kernel_size, strides, padding, dilation, groups, layout, in_channels,
                         activation, use_bias, weight_initializer, bias_initializer, **kwargs)


class Conv2D(_Conv):
    """2-D convolution over (batch, in_channels, height, width)."""

    def __init__(self, channels, kernel_size, strides=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1,
                 layout="NCHW", activation=None, use_bias=True, weight_initializer=None,
                 bias_initializer="zeros", in_channels=0, **kwargs):
        _check_layout("Conv2D", layout, 2)
        kernel_size = _tuple("kernel_size", kernel_size, 2)
        super().__init__(channels, kernel_size, strides, padding, dilation, groups, layout, in_channels,
                         activation, use_bias, weight_initializer, bias_initializer, **kwargs)


class Conv3D(_Conv):
    """3-D convolution over (batch, in_channels, depth, height, width)."""

    def __init__(self, channels, kernel_size, strides=(1, 1, 1), padding=(0, 0, 0), dilation=(1, 1, 1),
                 groups=1, layout="NCDHW", activation=None, use_bias=True, weight_initializer=None,
                 bias_initializer="zeros", in_channels=0, **kwargs):
        _check_layout("Conv3D", layout, 3)
        kernel_size = _tuple("kernel_size", kernel_size, 3)
        super().__init__(channels, kernel_size, strides, padding, dilation, groups, layout, in_channels,
                         activation, use_bias, weight_initializer, bias_initializer, **kwargs)


class _ConvTranspose(_Conv):
    def __init__(self, n, channels, kernel_size, strides, padding, output_padding, dilation, groups, layout,
                 activation, use_bias, weight_initializer, bias_initializer, in_channels, **kwargs):
        _check_layout(self.__class__.__name__, layout, n)
        kernel_size = _tuple("kernel_size", kernel_size, n)
        output_padding = _tuple("output_padding", output_padding, n)
        super().__init__(channels, kernel_size, strides, padding, dilation, groups, layout, in_channels,
                         activation, use_bias, weight_initializer, bias_initializer, op_name="Deconvolution",
                         adj=output_padding, **kwargs)
        self.outpad = output_padding


class Conv1DTranspose(_ConvTranspose):
    """Transposed 1-D convolution; out_width = (width-1)*strides - 2*padding + kernel_size + output_padding
    (with dilation 1)."""

    def __init__(self, channels, kernel_size, strides=1, padding=0, output_padding=0, dilation=1, groups=1,
                 layout="NCW", activation=None, use_bias=True, weight_initializer=None, bias_initializer="zeros",
                 in_channels=0, **kwargs):
        super().__init__(1, channels, kernel_size, strides, padding, output_padding, dilation, groups, layout,
                         activation, use_bias, weight_initializer, bias_initializer, in_channels, **kwargs)


class Conv2DTranspose(_ConvTranspose):
    """Transposed 2-D convolution (deconvolution)."""

    def __init__(self, channels, kernel_size, strides=(1, 1), padding=(0, 0), output_padding=(0, 0),
                 dilation=(1, 1), groups=1, layout="NCHW", activation=None, use_bias=True,
                 weight_initializer=None, bias_initializer="zeros", in_channels=0, **kwargs):
        super().__init__(2, channels, kernel_size, strides, padding, output_padding, dilation, groups, layout,
                         activation, use_bias, weight_initializer, bias_initializer, in_channels, **kwargs)


class Conv3DTranspose(_ConvTranspose):
    """Transposed 3-D convolution."""

    def __init__(self, channels, kernel_size, strides=(1, 1, 1), padding=(0, 0, 0), output_padding=(0, 0, 0),
                 dilation=(1, 1, 1), groups=1, layout="NCDHW", activation=None, use_bias=True,
                 weight_initializer=None, bias_initializer="zeros", in_channels=0, **kwargs):
        super().__init__(3, channels, kernel_size, strides, padding, output_padding, dilation, groups, layout,
                         activation, use_bias, weight_initializer, bias_initializer, in_channels, **kwargs)


# ---- pooling -----------------------------------------------------------------------------------
class _Pooling(HybridBlock):
    """Max or average pooling; ceil_mode=True is MXNet's pooling_convention='full'."""

    def __init__(self, pool_size, strides, padding, ceil_mode, global_pool, pool_type, layout,
                 count_include_pad=None, **kwargs):
        super().__init__(**kwargs)
        n = len(pool_size)
        if strides is None:
            strides = pool_size
        self._kwargs = {"kernel": pool_size, "stride": _tuple("strides", strides, n),
                        "pad": _tuple("padding", padding, n), "global_pool": global_pool, "pool_type": pool_type,
                        "layout": layout, "pooling_convention": "full" if ceil_mode else "valid"}
        if count_include_pad is not None:
            self._kwargs["count_include_pad"] = count_include_pad

    def _alias(self):
        return "pool"

    def hybrid_forward(self, F, x):
        return F.Pooling(x, name="fwd", **self._kwargs)

    def __repr__(self):
        s = ("{name}(size={kernel}, stride={stride}, padding={pad}, ceil_mode={ceil_mode}, "
             "global_pool={global_pool}, pool_type={pool_type}, layout={layout})")
        return s.format(name=self.__class__.__name__, ceil_mode=self._kwargs["pooling_convention"] == "full",
                        **self._kwargs)


def _pool_init(self, cls, n, pool_size, strides, padding, layout, ceil_mode, pool_type, count_include_pad,
               kwargs):
    _check_layout(cls, layout, n)
    pool_size = _tuple("pool_size", pool_size, n)
    _Pooling.__init__(self, pool_size, strides, padding, ceil_mode, False, pool_type, layout, count_include_pad,
                      **kwargs)


class MaxPool1D(_Pooling):
    def __init__(self, pool_size=2, strides=None, padding=0, layout="NCW", ceil_mode=False, **kwargs):
        _pool_init(self, "MaxPool1D", 1, pool_size, strides, padding, layout, ceil_mode, "max", None, kwargs)


class MaxPool2D(_Pooling):
    def __init__(self, pool_size=(2, 2), strides=None, padding=0, layout="NCHW", ceil_mode=False, **kwargs):
        _pool_init(self, "MaxPool2D", 2, pool_size, strides, padding, layout, ceil_mode, "max", None, kwargs)


class MaxPool3D(_Pooling):
    def __init__(self, pool_size=(2, 2, 2), strides=None, padding=0, ceil_mode=False, layout="NCDHW", **kwargs):
        _pool_init(self, "MaxPool3D", 3, pool_size, strides, padding, layout, ceil_mode, "max", None, kwargs)


class AvgPool1D(_Pooling):
    def __init__(self, pool_size=2, strides=None, padding=0, layout="NCW", ceil_mode=False, count_include_pad=True,
                 **kwargs):
        _pool_init(self, "AvgPool1D", 1, pool_size, strides, padding, layout, ceil_mode, "avg", count_include_pad,
                   kwargs)


class AvgPool2D(_Pooling):
    def __init__(self, pool_size=(2, 2), strides=None, padding=0, ceil_mode=False, layout="NCHW",
                 count_include_pad=True, **kwargs):
        _pool_init(self, "AvgPool2D", 2, pool_size, strides, padding, layout, ceil_mode, "avg", count_include_pad,
                   kwargs)


class AvgPool3D(_Pooling):
    def __init__(self, pool_size=(2, 2, 2), strides=None, padding=0, ceil_mode=False, layout="NCDHW",
                 count_include_pad=True, **kwargs):
        _pool_init(self, "AvgPool3D", 3, pool_size, strides, padding, layout, ceil_mode, "avg", count_include_pad,
                   kwargs)


class _GlobalPooling(_Pooling):
    def __init__(self, n, pool_type, layout, **kwargs):
        _check_layout(self.__class__.__name__, layout, n)
        super().__init__((1,) * n, None, 0, True, True, pool_type, layout, **kwargs)


class GlobalMaxPool1D(_GlobalPooling):
    def __init__(self, layout="NCW", **kwargs):
        super().__init__(1, "max", layout, **kwargs)


class GlobalMaxPool2D(_GlobalPooling):
    def __init__(self, layout="NCHW", **kwargs):
        super().__init__(2, "max", layout, **kwargs)


class GlobalMaxPool3D(_GlobalPooling):
    def __init__(self, layout="NCDHW", **kwargs):
        super().__init__(3, "max", layout, **kwargs)


class GlobalAvgPool1D(_GlobalPooling):
    def __init__(self, layout="NCW", **kwargs):
        super().__init__(1, "avg", layout, **kwargs)


class GlobalAvgPool2D(_GlobalPooling):
    def __init__(self, layout="NCHW", **kwargs):
        super().__init__(2, "avg", layout, **kwargs)


class GlobalAvgPool3D(_GlobalPooling):
    def __init__(self, layout="NCDHW", **kwargs):
        super().__init__(3, "avg", layout, **kwargs)


class ReflectionPad2D(HybridBlock):
    """Pads the height and width of (N, C, H, W) data with their reflection (the edge not repeated)."""

    def __init__(self, padding=0, **kwargs):
        super().__init__(**kwargs)
        if isinstance(padding, numbers.Integral):
            padding = (0, 0, 0, 0, padding, padding, padding, padding)
        padding = tuple(padding)
        if len(padding) != 8:
            raise ValueError(f"ReflectionPad2D: padding must be an int or 8 ints (pad_width), got {padding!r}")
        self._padding = padding

    def hybrid_forward(self, F, x):
        return F.pad(x, mode="reflect", pad_width=self._padding)

    def __repr__(self):
        return f"{self.__class__.__name__}(padding={self._padding})"
