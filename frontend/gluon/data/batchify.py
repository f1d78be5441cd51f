"""Batchify functions (MXNet's `gluon.data.batchify`): Stack, Pad, Append, Group, AsList.

Each turns a list of samples into a batch; pass one as a DataLoader's batchify_fn. Stacking and
padding only move bytes (numpy fills and copies them). `use_shared_mem` is accepted for MXNet
compatibility: worker processes already send their batches back to the main process.
"""
from __future__ import annotations

import math

import numpy as np

from ...ndarray import NDArray, array
from .dataloader import default_batchify_fn


class Stack:
    """Stack samples of one shape into a batch (tuples and lists field by field)."""

    def __init__(self, use_shared_mem=False):
        self._use_shared_mem = use_shared_mem

    def __call__(self, data):
        if isinstance(data[0], (tuple, list)) and not isinstance(data[0], NDArray):
            return [self(list(field)) for field in zip(*data)]
        return default_batchify_fn(data)


class Pad:
    """Pad samples (NDArrays, numpy arrays or lists of numbers) with `val` to the largest size
    along every axis (rounded up to a multiple of `round_to`), then stack them."""

    def __init__(self, val=None, dtype=None, round_to=None, use_shared_mem=False):
        self._pad_val = 0 if val is None else val
        self._dtype, self._round_to, self._use_shared_mem = dtype, round_to, use_shared_mem

    def __call__(self, data):
        if not isinstance(data[0], (NDArray, np.ndarray, list)):
            raise TypeError("Pad() does not support multiple items, use Group(Pad(), Pad(), ...) instead")
        if isinstance(data[0], NDArray):
            dtype = data[0].dtype if self._dtype is None else self._dtype
            arrs = [a.asnumpy() for a in data]
        else:
            arrs = [np.asarray(a) for a in data]
            dtype = arrs[0].dtype if self._dtype is None else self._dtype
        ndim = arrs[0].ndim
        if any(a.ndim != ndim for a in arrs):
            raise ValueError(f"Pad: every sample must have {ndim} dimension(s), got shapes "
                             f"{[a.shape for a in arrs]}")
        shape = []
        for axis in range(ndim):
            size = max(a.shape[axis] for a in arrs)
            if self._round_to is not None:
                size = self._round_to * math.ceil(size / self._round_to)
            shape.append(size)
        out = np.full((len(arrs), *shape), self._pad_val, dtype=dtype)
        for i, a in enumerate(arrs):
            out[(i, *(slice(0, n) for n in a.shape))] = a  # a byte copy into the padded slot
        return array(out, dtype=out.dtype)


class Append:
    """The samples as a list of NDArrays (shapes may differ), each with a batch axis of 1 when expand."""

    def __init__(self, expand=True, batch_axis=0, use_shared_mem=False):
        self._expand, self._batch_axis, self._use_shared_mem = expand, batch_axis, use_shared_mem

    def __call__(self, data):
        out = [x if isinstance(x, NDArray) else array(np.asarray(x)) for x in data]
        if self._expand:
            out = [x.expand_dims(axis=self._batch_axis) for x in out]
        return out


class Group:
    """Apply the i-th batchify function to the i-th field of the samples: Group(f, g) or Group([f, g])."""

    def __init__(self, fn, *args):
        if isinstance(fn, (list, tuple)):
            if args:
                raise ValueError(f"Input pattern not understood. The input of Group can be Group(A, B, C) or "
                                 f"Group([A, B, C]) or Group((A, B, C)). Received fn={fn}, args={args}")
            self._fn = tuple(fn)
        else:
            self._fn = (fn, *args)
        for i, f in enumerate(self._fn):
            if not callable(f):
                raise TypeError(f"Batchify functions must be callable! type(fn[{i}]) = {type(f)}")

    def __call__(self, data):
        if len(data[0]) != len(self._fn):
            raise ValueError(f"The number of attributes in each data sample should contain {len(self._fn)} "
                             f"elements, got {len(data[0])}")
        return tuple(f([sample[i] for sample in data]) for i, f in enumerate(self._fn))


class AsList:
    """The samples unchanged, as a list (text fields, with Group)."""

    def __call__(self, data):
        return list(data)


__all__ = ["Stack", "Pad", "Append", "Group", "AsList"]
