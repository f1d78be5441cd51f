"""mx.io: data iterators (MXNet 1.x): the DataIter protocol, NDArrayIter and MNISTIter."""
from .base import DataBatch, DataDesc, DataIter
from .idx import IdxFormatError, read_idx
from .mnist_iter import MNISTIter
from .ndarray_iter import NDArrayIter

__all__ = ["DataBatch", "DataDesc", "DataIter", "NDArrayIter", "MNISTIter", "IdxFormatError", "read_idx"]
