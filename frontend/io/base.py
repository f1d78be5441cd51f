"""The data iterator protocol of MXNet 1.x: DataDesc, DataBatch, DataIter."""
from __future__ import annotations

from collections import namedtuple

import numpy as np


class DataDesc(namedtuple("DataDesc", ["name", "shape"])):
    """Name, shape, dtype and layout of one input (data or label) of a model.

    `layout` says how the axes of `shape` read: "NCHW" for images, "NTC" for sequences;
    the axis of "N" is the batch axis.
    """

    def __new__(cls, name, shape, dtype=np.float32, layout="NCHW"):
        ret = super().__new__(cls, name, shape)
        ret.dtype = dtype
        ret.layout = layout
        return ret

    def __repr__(self):
        return f"DataDesc[{self.name},{self.shape},{self.dtype},{self.layout}]"

    @staticmethod
    def get_batch_axis(layout):
        """The axis of the batch in `layout` (0 when layout is None; -1 when it has no "N")."""
        if layout is None:
            return 0
        return layout.find("N")

    @staticmethod
    def get_list(shapes, types):
        """DataDescs from [(name, shape)] and optionally [(name, dtype)]."""
        if types is not None:
            type_dict = dict(types)
            return [DataDesc(x[0], x[1], type_dict[x[0]]) for x in shapes]
        return [DataDesc(x[0], x[1]) for x in shapes]


class DataBatch:
    """One batch: lists of data and label NDArrays, the number of padding examples at its end,
    optionally the example indices, a bucket key and the descriptions of data and label."""

    def __init__(self, data, label=None, pad=None, index=None, bucket_key=None, provide_data=None,
                 provide_label=None):
        if data is not None and not isinstance(data, (list, tuple)):
            raise TypeError(f"DataBatch: data must be a list of NDArrays, got {type(data).__name__}")
        if label is not None and not isinstance(label, (list, tuple)):
            raise TypeError(f"DataBatch: label must be a list of NDArrays, got {type(label).__name__}")
        self.data = data
        self.label = label
        self.pad = pad
        self.index = index
        self.bucket_key = bucket_key
        self.provide_data = provide_data
        self.provide_label = provide_label

    def __str__(self):
        data_shapes = [d.shape for d in self.data]
        label_shapes = [lbl.shape for lbl in self.label] if self.label else None
        return f"{self.__class__.__name__}: data shapes: {data_shapes} label shapes: {label_shapes}"


class DataIter:
    """Base class of data iterators: Python iteration yields DataBatch objects until StopIteration.

    A subclass implements `iter_next` (advance; False at the end), `getdata`, `getlabel`,
    `getpad` (and optionally `getindex`), `reset`, and the `provide_data`/`provide_label` lists.
    """

    def __init__(self, batch_size=0):
        self.batch_size = batch_size

    def __iter__(self):
        return self

    def reset(self):
        """Go back to the first batch."""

    def next(self):
        """The next DataBatch; raises StopIteration at the end of the data."""
        if self.iter_next():
            return DataBatch(data=self.getdata(), label=self.getlabel(), pad=self.getpad(), index=self.getindex())
        raise StopIteration

    def __next__(self):
        return self.next()

    def iter_next(self):
        """Move to the next batch; returns whether there is one."""
        raise NotImplementedError(f"{type(self).__name__}.iter_next")

    def getdata(self):
        """The data of the current batch (a list of NDArrays)."""
        raise NotImplementedError(f"{type(self).__name__}.getdata")

    def getlabel(self):
        """The label of the current batch (a list of NDArrays)."""
        raise NotImplementedError(f"{type(self).__name__}.getlabel")

    def getindex(self):
        """The indices of the current batch's examples (numpy array), or None."""
        return None

    def getpad(self):
        """How many examples at the end of the current batch are padding."""
        raise NotImplementedError(f"{type(self).__name__}.getpad")


__all__ = ["DataDesc", "DataBatch", "DataIter"]
