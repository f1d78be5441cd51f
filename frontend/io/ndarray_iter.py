"""NDArrayIter: batches over in-memory arrays, with MXNet 1.x's last-batch rules.

The bookkeeping (cursor, padding, roll-over cache) follows python/mxnet/io/io.py of
MXNet 1.x exactly, so batch contents, `pad` values and epoch boundaries match. Batches
are copies made by kernels (slice_axis, concat, tile); shuffling permutes the rows once
per reset with numpy's global generator, as MXNet does.
"""
from __future__ import annotations

from collections import OrderedDict

import numpy as np

from ..ndarray import NDArray, array, concat, tile
from .base import DataBatch, DataDesc, DataIter

_LAST_BATCH = ("pad", "discard", "roll_over")


def _init_data(data, allow_empty, default_name):
    """[(name, NDArray)] sorted by name, from an array, a list of arrays or a dict of them."""
    if data is None:
        if not allow_empty:
            raise ValueError("NDArrayIter: data must be given")
        data = []
    if isinstance(data, (np.ndarray, NDArray)):
        data = [data]
    if isinstance(data, (list, tuple)):
        if not data and not allow_empty:
            raise ValueError("NDArrayIter: data must not be empty")
        if len(data) == 1:
            data = OrderedDict([(default_name, data[0])])
        else:
            data = OrderedDict([(f"_{i}_{default_name}", d) for i, d in enumerate(data)])
    if not isinstance(data, dict):
        raise TypeError("NDArrayIter: input must be an NDArray, a numpy.ndarray, a list of them or a dict with "
                        f"them as values, got {type(data).__name__}")
    out = {}
    for k, v in data.items():
        if isinstance(v, NDArray):
            out[k] = v
            continue
        try:
            out[k] = array(v)
        except (TypeError, ValueError) as e:
            raise TypeError(f"NDArrayIter: invalid type {type(v).__name__} for {k!r}, should be an NDArray or a "
                            f"numpy.ndarray ({e})") from None
    return sorted(out.items())


def _getdata_by_idx(data, idx):
    """The rows `idx` of every array (a gather on the host: data movement only)."""
    return [(k, array(v.asnumpy()[idx], v.context, dtype=v.dtype)) for k, v in data]


class NDArrayIter(DataIter):
    """Iterate over arrays (NDArray or numpy) in batches of `batch_size` along the layout's "N" axis.

    `data` and `label` may be one array, a list (named `_<i>_<name>`) or a dict; names sort.
    `last_batch_handle`: 'pad' fills the last batch from the beginning (its `pad` says how
    many), 'discard' drops it, 'roll_over' carries the remainder into the next epoch.
    """

    def __init__(self, data, label=None, batch_size=1, shuffle=False, last_batch_handle="pad", data_name="data",
                 label_name="softmax_label", layout="NCHW"):
        super().__init__(batch_size)
        if last_batch_handle not in _LAST_BATCH:
            raise ValueError(f"NDArrayIter: last_batch_handle must be one of {_LAST_BATCH}, got {last_batch_handle!r}")
        if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"NDArrayIter: batch_size must be a positive integer, got {batch_size!r}")
        self.layout = layout
        self.data = _init_data(data, allow_empty=False, default_name=data_name)
        self.label = _init_data(label, allow_empty=True, default_name=label_name)
        axis = self._batch_axis
        n = self.data[0][1].shape[axis]
        for k, v in self.data + self.label:
            if v.ndim <= axis or v.shape[axis] != n:
                raise ValueError(f"NDArrayIter: {k!r} has shape {v.shape}, expected {n} examples along axis {axis} "
                                 f"like {self.data[0][0]!r} {self.data[0][1].shape}")
        self.idx = np.arange(n)
        self.shuffle = shuffle
        self.last_batch_handle = last_batch_handle
        self.batch_size = int(batch_size)
        self.cursor = -self.batch_size
        self.num_data = n
        self._cache_data = None  # 'roll_over': the incomplete last batch, first in the next epoch
        self._cache_label = None
        self.reset()
        self.data_list = [x[1] for x in self.data] + [x[1] for x in self.label]
        self.num_source = len(self.data_list)

    @property
    def _batch_axis(self):
        return self.layout.find("N")

    def _descs(self, source):
        axis = self._batch_axis
        return [DataDesc(k, tuple(v.shape[:axis]) + (self.batch_size,) + tuple(v.shape[axis + 1:]), v.dtype,
                         layout=self.layout) for k, v in source]

    @property
    def provide_data(self):
        """[DataDesc] of the data, with the batch size on the batch axis."""
        return self._descs(self.data)

    @property
    def provide_label(self):
        """[DataDesc] of the labels, with the batch size on the batch axis."""
        return self._descs(self.label)

    def hard_reset(self):
        """Back to the start, dropping any rolled-over examples."""
        if self.shuffle:
            self._shuffle_data()
        self.cursor = -self.batch_size
        self._cache_data = None
        self._cache_label = None

    def reset(self):
        if self.shuffle:
            self._shuffle_data()
        if self.last_batch_handle == "roll_over" and self.num_data - self.batch_size < self.cursor < self.num_data:
            # the examples left over at the end of this epoch open the next one
            self.cursor = self.cursor - self.num_data - self.batch_size
        else:
            self.cursor = -self.batch_size

    def iter_next(self):
        self.cursor += self.batch_size
        return self.cursor < self.num_data

    def next(self):
        if not self.iter_next():
            raise StopIteration
        data = self.getdata()
        label = self.getlabel()
        if data[0].shape[self._batch_axis] != self.batch_size:
            # an incomplete last batch ('roll_over'): kept for the next epoch
            self._cache_data = data
            self._cache_label = label
            raise StopIteration
        return DataBatch(data=data, label=label, pad=self.getpad(), index=None)

    def _getdata(self, data_source, start=None, end=None):
        start = 0 if start is None else start
        if end is None:
            end = data_source[0][1].shape[self._batch_axis] if data_source else 0
        axis = self._batch_axis
        return [v.slice_axis(axis=axis, begin=start, end=end) for _, v in data_source]

    def _concat(self, first, second):
        if not first or not second:
            return first if first else second
        return [concat(a, b, dim=self._batch_axis) for a, b in zip(first, second)]

    def _tile(self, data, repeats):
        out = []
        for d in data:
            reps = [1] * d.ndim
            reps[self._batch_axis] = repeats
            out.append(tile(d, reps=tuple(reps)))
        return out

    def _batchify(self, data_source):
        if self.cursor >= self.num_data:
            raise RuntimeError("NDArrayIter: the iterator is past its end; call reset()")
        if self.last_batch_handle == "roll_over" and -self.batch_size < self.cursor < 0:
            # first batch of an epoch after a roll-over: the cached remainder, then the first rows
            if self._cache_data is None and self._cache_label is None:
                raise RuntimeError("NDArrayIter: the next epoch should have cached data")
            cache = self._cache_data if self._cache_data is not None else self._cache_label
            second = self._getdata(data_source, end=self.cursor + self.batch_size)
            if self._cache_data is not None:
                self._cache_data = None
            else:
                self._cache_label = None
            return self._concat(cache, second)
        if self.last_batch_handle == "pad" and self.cursor + self.batch_size > self.num_data:
            pad = self.batch_size - self.num_data + self.cursor
            first = self._getdata(data_source, start=self.cursor)
            if pad > self.num_data:  # the batch holds the data more than once
                second = self._tile(self._getdata(data_source, end=self.num_data), pad // self.num_data)
                if pad % self.num_data:
                    second = self._concat(second, self._getdata(data_source, end=pad % self.num_data))
            else:
                second = self._getdata(data_source, end=pad)
            return self._concat(first, second)
        end = min(self.cursor + self.batch_size, self.num_data)
        return self._getdata(data_source, self.cursor, end)

    def getdata(self):
        return self._batchify(self.data)

    def getlabel(self):
        return self._batchify(self.label)

    def getpad(self):
        if self.last_batch_handle == "pad" and self.cursor + self.batch_size > self.num_data:
            return self.cursor + self.batch_size - self.num_data
        if self.last_batch_handle == "roll_over" and -self.batch_size < self.cursor < 0:
            return -self.cursor
        return 0

    def _shuffle_data(self):
        np.random.shuffle(self.idx)
        self.data = _getdata_by_idx(self.data, self.idx)
        self.label = _getdata_by_idx(self.label, self.idx)


__all__ = ["NDArrayIter"]
