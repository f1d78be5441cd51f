"""Samplers (MXNet 1.x `gluon.data.sampler`): iterables of dataset indices, and the batch sampler
that groups them. Host-side index bookkeeping only; nothing here touches array data."""
from __future__ import annotations

import random


class Sampler:
    """Base class: an iterable over indices of a dataset, with a length."""

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __iter__")

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __len__")


def _check_length(who: str, length) -> int:
    if isinstance(length, bool) or not isinstance(length, int) and not hasattr(length, "__index__"):
        raise TypeError(f"{who}: length must be an integer, got {type(length).__name__}")
    length = int(length)
    if length < 0:
        raise ValueError(f"{who}: length must be >= 0, got {length}")
    return length


class SequentialSampler(Sampler):
    """Indices start, start + 1, ..., start + length - 1 in order."""

    def __init__(self, length, start=0):
        self._length = _check_length("SequentialSampler", length)
        self._start = int(start)

    def __iter__(self):
        return iter(range(self._start, self._start + self._length))

    def __len__(self):
        return self._length


class RandomSampler(Sampler):
    """A fresh random permutation of [0, length) on every pass (Python's `random`, as MXNet's
    numpy shuffle: seed it with random.seed for a reproducible order)."""

    def __init__(self, length):
        self._length = _check_length("RandomSampler", length)

    def __iter__(self):
        indices = list(range(self._length))
        random.shuffle(indices)
        return iter(indices)

    def __len__(self):
        return self._length


class FilterSampler(Sampler):
    """The indices of the samples of `dataset` for which fn(sample) is true (evaluated once, here)."""

    def __init__(self, fn, dataset):
        self._indices = [i for i in range(len(dataset)) if fn(dataset[i])]

    def __iter__(self):
        return iter(self._indices)

    def __len__(self):
        return len(self._indices)


class IntervalSampler(Sampler):
    """0, interval, 2*interval, ..., then (rollover=True) 1, 1 + interval, ... until every index is
    visited once; rollover=False stops after the first sweep."""

    def __init__(self, length, interval, rollover=True):
        self._length = _check_length("IntervalSampler", length)
        if int(interval) < 1 or int(interval) > max(self._length, 1):
            raise ValueError(f"IntervalSampler: interval {interval} must be in [1, length] (length={self._length})")
        self._interval, self._rollover = int(interval), bool(rollover)

    def __iter__(self):
        for start in range(self._interval if self._rollover else 1):
            yield from range(start, self._length, self._interval)

    def __len__(self):
        if self._rollover:
            return self._length
        return (self._length + self._interval - 1) // self._interval


_LAST_BATCH = ("keep", "discard", "rollover")


class BatchSampler(Sampler):
    """Groups the indices of `sampler` into lists of batch_size.

    last_batch: 'keep' yields the short last batch, 'discard' drops it, 'rollover' carries its
    indices into the first batch of the next pass.
    """

    def __init__(self, sampler, batch_size, last_batch="keep"):
        if isinstance(batch_size, bool) or int(batch_size) != batch_size or int(batch_size) < 1:
            raise ValueError(f"BatchSampler: batch_size must be a positive integer, got {batch_size!r}")
        if last_batch not in _LAST_BATCH:
            raise ValueError(f"last_batch must be one of 'keep', 'discard', or 'rollover', but got {last_batch}")
        self._sampler, self._batch_size, self._last_batch = sampler, int(batch_size), last_batch
        self._prev: list = []

    def __iter__(self):
        batch, self._prev = self._prev, []
        for i in self._sampler:
            batch.append(i)
            if len(batch) == self._batch_size:
                yield batch
                batch = []
        if batch:
            if self._last_batch == "keep":
                yield batch
            elif self._last_batch == "rollover":
                self._prev = batch

    def __len__(self):
        n = len(self._sampler)
        if self._last_batch == "keep":
            return (n + self._batch_size - 1) // self._batch_size
        if self._last_batch == "discard":
            return n // self._batch_size
        return (len(self._prev) + n) // self._batch_size


__all__ = ["Sampler", "SequentialSampler", "RandomSampler", "FilterSampler", "IntervalSampler", "BatchSampler"]
