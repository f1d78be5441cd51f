"""mx.gluon.data: datasets, samplers and the DataLoader (MXNet 1.x API), plus `vision`."""
from . import batchify, vision
from .dataloader import DataLoader, default_batchify_fn, default_mp_batchify_fn
from .dataset import ArrayDataset, Dataset, SimpleDataset
from .sampler import BatchSampler, FilterSampler, IntervalSampler, RandomSampler, Sampler, SequentialSampler

__all__ = ["Dataset", "SimpleDataset", "ArrayDataset", "Sampler", "SequentialSampler", "RandomSampler",
           "FilterSampler", "IntervalSampler", "BatchSampler", "DataLoader", "default_batchify_fn",
           "default_mp_batchify_fn", "batchify", "vision"]
