"""MNISTIter: MXNet 1.x's MNIST iterator (src/io/iter_mnist.cc) over idx files, plain or gzipped.

As in MXNet: keyword arguments only; pixels become float32 scaled by 1/256 (so 255 maps to
0.99609375); `shuffle` (on by default) permutes the examples once, when the files are
loaded, with a generator seeded by `seed`, so every epoch sees the same order; only full
batches are produced (the tail is dropped, `pad` is always 0); `num_parts`/`part_index`
read one contiguous part of the file. The generator differs from MXNet's C++ one, so a
shuffled order is not MXNet's order.

mxcc additions: gzipped files are read directly (`image="t10k-images-idx3-ubyte"` also
finds "t10k-images-idx3-ubyte.gz"), `data_shape` reshapes each example (it must hold
rows*cols values), and `label` is an NDArray of every produced example's label in
iteration order, lined up with `Module.predict` on this iterator.
"""
from __future__ import annotations

import logging
import os
import warnings

import numpy as np

from ..ndarray import NDArray, array
from .base import DataBatch, DataDesc, DataIter
from .idx import read_idx

_PARAMS = ("image", "label", "batch_size", "shuffle", "flat", "seed", "silent", "num_parts", "part_index",
           "data_shape", "prefetch_buffer", "ctx", "dtype", "data_name", "label_name", "input_shape")


def _resolve(path: str) -> str:
    if not os.path.isfile(path) and os.path.isfile(path + ".gz"):
        return path + ".gz"
    return path


def _part(count: int, num_parts: int, part_index: int):
    # the same double arithmetic as iter_mnist.cc's GetPart
    return int(count / num_parts * part_index), int(count / num_parts * (part_index + 1))


class MNISTIter(DataIter):
    """Iterate over MNIST images and labels in batches: data (batch, 1, rows, cols) float32 in [0, 1)
    (or (batch, rows*cols) with flat=True), label (batch,) float32."""

    def __init__(self, *args, image="./train-images-idx3-ubyte", label="./train-labels-idx1-ubyte", batch_size=128,
                 shuffle=True, flat=False, seed=0, silent=False, num_parts=1, part_index=0, data_shape=None,
                 data_name="data", label_name="softmax_label", dtype="float32", **kwargs):
        if args:
            raise TypeError("MNISTIter can only accept keyword arguments")
        kwargs.pop("prefetch_buffer", None)
        kwargs.pop("ctx", None)
        kwargs.pop("input_shape", None)
        if kwargs:
            warnings.warn(f"MNISTIter: ignoring unknown arguments {sorted(kwargs)}; known: {', '.join(_PARAMS)}",
                          stacklevel=2)
        batch_size, num_parts, part_index = int(batch_size), int(num_parts), int(part_index)
        if batch_size < 1:
            raise ValueError(f"MNISTIter: batch_size must be >= 1, got {batch_size}")
        if num_parts < 1 or not 0 <= part_index < num_parts:
            raise ValueError(f"MNISTIter: need num_parts >= 1 and 0 <= part_index < num_parts, got num_parts="
                             f"{num_parts}, part_index={part_index}")
        if dtype not in ("float32", np.float32):
            raise ValueError(f"MNISTIter: dtype must be float32, got {dtype!r}")
        super().__init__(batch_size)
        image, label = _resolve(str(image)), _resolve(str(label))
        images = read_idx(image, ndim=3)
        labels = read_idx(label, ndim=1)
        if images.shape[0] != labels.shape[0]:
            raise ValueError(f"MNISTIter: {image!r} holds {images.shape[0]} images but {label!r} holds "
                             f"{labels.shape[0]} labels")
        start, end = _part(images.shape[0], num_parts, part_index)
        images, labels = images[start:end], labels[start:end]
        rows, cols = images.shape[1:]
        if data_shape is not None:
            example = tuple(int(d) for d in (data_shape if isinstance(data_shape, (tuple, list)) else (data_shape,)))
            size = 1
            for d in example:
                size *= d
            if size != rows * cols:
                raise ValueError(f"MNISTIter: data_shape {example} holds {size} values, an image of {image!r} "
                                 f"has {rows}x{cols} = {rows * cols}")
        else:
            example = (rows * cols,) if flat else (1, rows, cols)
        order = np.arange(images.shape[0], dtype=np.uint64)
        if shuffle:
            order = np.random.RandomState(seed).permutation(images.shape[0]).astype(np.uint64)
            images, labels = images[order.astype(np.intp)], labels[order.astype(np.intp)]  # a gather: data movement
        n = images.shape[0] // batch_size * batch_size
        # uint8 bytes in, float32 out: the scaling runs as kernels (Cast, then * 1/256)
        pixels = array(np.ascontiguousarray(images[:n]).reshape((n,) + example), dtype="uint8")
        self._images = pixels.astype("float32") * (1.0 / 256.0)
        self._labels = array(np.ascontiguousarray(labels[:n]), dtype="uint8").astype("float32")
        self._order = order[:n]
        self._loc = -batch_size
        self.provide_data = [DataDesc(data_name, (batch_size,) + example, np.float32)]
        self.provide_label = [DataDesc(label_name, (batch_size,), np.float32)]
        if not silent:
            shape = (batch_size,) + example
            shown = f"({shape[0]},{shape[1]})" if len(shape) == 2 else "[" + ",".join(map(str, shape)) + "]"
            logging.info("MNISTIter: load %d images, shuffle=%d, shape=%s", images.shape[0], int(bool(shuffle)), shown)

    @property
    def label(self) -> NDArray:
        """The labels of every example this iterator produces, in iteration order (mxcc addition)."""
        return self._labels

    def reset(self):
        self._loc = -self.batch_size

    def iter_next(self):
        if self._loc + 2 * self.batch_size > self._labels.shape[0]:
            return False
        self._loc += self.batch_size
        return True

    def next(self):
        if not self.iter_next():
            raise StopIteration
        return DataBatch(data=[self.getdata()], label=[self.getlabel()], pad=0, index=self.getindex())

    def getdata(self):
        return self._images[self._loc:self._loc + self.batch_size]

    def getlabel(self):
        return self._labels[self._loc:self._loc + self.batch_size]

    def getindex(self):
        return self._order[self._loc:self._loc + self.batch_size].copy()

    def getpad(self):
        return 0


__all__ = ["MNISTIter"]
