"""Datasets (MXNet 1.x `gluon.data.dataset`): indexable collections of samples, lazily
transformed, filtered, sharded or subsampled."""
from __future__ import annotations

from ...ndarray import NDArray
from .sampler import FilterSampler, Sampler, SequentialSampler


class Dataset:
    """Abstract dataset: subclasses define __getitem__ and __len__."""

    def __getitem__(self, idx):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __len__")

    def filter(self, fn):
        """The samples for which fn(sample) is true (fn runs over the whole dataset once, now)."""
        return _SampledDataset(self, FilterSampler(fn, self))

    def shard(self, num_shards, index):
        """Part `index` of `num_shards` near-equal contiguous parts (the first len % num_shards
        parts hold one sample more)."""
        if num_shards <= 0:
            raise ValueError(f"shard: number of shards must be greater than 0, got {num_shards}")
        if not 0 <= index < num_shards:
            raise ValueError(f"shard: shard index out of bound: {index} out of {num_shards}")
        length = len(self)
        base, rest = divmod(length, num_shards)
        start = base * index + min(index, rest)
        return _SampledDataset(self, SequentialSampler(base + (index < rest), start))

    def take(self, count):
        """The first `count` samples (all of them when count is None or larger than the dataset)."""
        if count is None or count > len(self):
            count = len(self)
        if count < 0:
            raise ValueError(f"take: count must be >= 0, got {count}")
        return _SampledDataset(self, SequentialSampler(count))

    def sample(self, sampler):
        """The samples at the indices `sampler` yields, in its order."""
        if not isinstance(sampler, Sampler):
            raise TypeError(f"Invalid sampler type: {type(sampler)}. Expected gluon.data.Sampler instead.")
        return _SampledDataset(self, sampler)

    def transform(self, fn, lazy=True):
        """A dataset whose samples are fn(sample) (fn(*sample) for tuple samples).

        lazy=True applies fn on each access; lazy=False applies it to every sample now.
        """
        trans = _LazyTransformDataset(self, fn)
        if lazy:
            return trans
        return SimpleDataset([trans[i] for i in range(len(trans))])

    def transform_first(self, fn, lazy=True):
        """Like transform, but fn sees only the first element of each sample (the data, not the label)."""
        return self.transform(_TransformFirstClosure(fn), lazy)


class SimpleDataset(Dataset):
    """A dataset over anything with len() and indexing (a list, an NDArray, a numpy array)."""

    def __init__(self, data):
        self._data = data

    def __len__(self):
        return len(self._data)

    def __getitem__(self, idx):
        return self._data[idx]


class _LazyTransformDataset(Dataset):
    def __init__(self, data, fn):
        self._data, self._fn = data, fn

    def __len__(self):
        return len(self._data)

    def __getitem__(self, idx):
        item = self._data[idx]
        if isinstance(item, tuple):
            return self._fn(*item)
        return self._fn(item)


class _TransformFirstClosure:
    """A picklable `lambda x, *rest: (fn(x),) + rest` (worker processes may need to pickle it)."""

    def __init__(self, fn):
        self._fn = fn

    def __call__(self, x, *args):
        if args:
            return (self._fn(x),) + args
        return self._fn(x)


class _SampledDataset(Dataset):
    def __init__(self, dataset, sampler):
        self._dataset, self._sampler = dataset, sampler
        self._indices = list(iter(sampler))

    def __len__(self):
        return len(self._indices)

    def __getitem__(self, idx):
        return self._dataset[self._indices[idx]]


class ArrayDataset(Dataset):
    """Samples are tuples (a[i], b[i], ...) of the given arrays (NDArrays, numpy arrays or lists,
    all of one length); a single array gives its items alone."""

    def __init__(self, *args):
        if not args:
            raise ValueError("ArrayDataset: needs at least 1 array")
        self._length = len(args[0])
        self._data = []
        for i, data in enumerate(args):
            if len(data) != self._length:
                raise ValueError(f"ArrayDataset: all arrays must have the same length; array[0] has length "
                                 f"{self._length} while array[{i}] has {len(data)}")
            if isinstance(data, NDArray) and data.ndim == 1:
                data = data.asnumpy()  # items of a 1-d array are scalars, as MXNet gives them
            self._data.append(data)

    def __getitem__(self, idx):
        if len(self._data) == 1:
            return self._data[0][idx]
        return tuple(data[idx] for data in self._data)

    def __len__(self):
        return self._length


__all__ = ["Dataset", "SimpleDataset", "ArrayDataset"]
