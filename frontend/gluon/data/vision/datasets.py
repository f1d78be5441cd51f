"""Vision datasets (MXNet 1.x `gluon.data.vision.datasets`) read from local files.

mxcc never downloads: MNIST, FashionMNIST and CIFAR read the files MXNet would have downloaded
(idx files, plain or gzipped; CIFAR's binary batches) from `root`, and when `root` is left at
its default also from the places a system or this repository keeps them. Nothing found is a
FileNotFoundError naming every directory searched and every file expected.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ....io.idx import read_idx
from ....ndarray import array
from ..dataset import Dataset

_MXNET_HOME = os.environ.get("MXNET_HOME", os.path.join("~", ".mxnet"))
# this repository's test data: <checkout>/../shared/data/mnist (see tests/datasets.py)
_REPO_MNIST = [Path(__file__).resolve().parents[4].parent / "shared" / "data" / "mnist",
               Path("/work/shared/data/mnist")]


class _DownloadedDataset(Dataset):
    """Samples (data[i], label[i]) or transform(data[i], label[i]); data an NDArray, label numpy."""

    def __init__(self, root, transform):
        self._transform = transform
        self._root = os.path.expanduser(root)
        self._data, self._label = self._get_data()

    def __getitem__(self, idx):
        if self._transform is not None:
            return self._transform(self._data[idx], self._label[idx])
        return self._data[idx], self._label[idx]

    def __len__(self):
        return len(self._label)


def _find(kind: str, dirs, names) -> list[str]:
    """The path of each of `names` (or its .gz / unzipped twin) in the first dir holding all of them."""
    tried = []
    for d in dirs:
        d = os.path.expanduser(str(d))
        if d in tried:
            continue
        tried.append(d)
        found = []
        for n in names:
            stem = n[:-3] if n.endswith(".gz") else n
            hit = next((os.path.join(d, c) for c in (stem + ".gz", stem) if os.path.isfile(os.path.join(d, c))), None)
            if hit is None:
                break
            found.append(hit)
        else:
            return found
    raise FileNotFoundError(
        f"{kind}: data files not found. Searched {', '.join(repr(t) for t in tried)} for "
        f"{', '.join(names)} (each may also be uncompressed, without .gz). mxcc does not download "
        f"datasets: put the files in one of these directories or pass root=<directory holding them>.")


class MNIST(_DownloadedDataset):
    """The MNIST handwritten digits: data uint8 NDArray (N, 28, 28, 1), labels int32 (numpy).

    root: directory of train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz,
    t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz (or the unzipped files).
    train: the 60,000 training samples, else the 10,000 test samples.
    transform: fn(data, label) -> sample, applied on access.
    """

    _NAMES = {True: ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
              False: ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")}
    _DEFAULT = os.path.join(_MXNET_HOME, "datasets", "mnist")
    _FALLBACKS: list = _REPO_MNIST

    def __init__(self, root=_DEFAULT, train=True, transform=None):
        self._train = train
        self._explicit_root = os.path.expanduser(root) != os.path.expanduser(self._DEFAULT)
        super().__init__(root, transform)

    def _get_data(self):
        dirs = [self._root] + ([] if self._explicit_root else list(self._FALLBACKS))
        data_file, label_file = _find(type(self).__name__, dirs, self._NAMES[bool(self._train)])
        label = read_idx(label_file, ndim=1).astype(np.int32)
        data = read_idx(data_file, ndim=3)
        if data.shape[0] != label.shape[0]:
            raise ValueError(f"{type(self).__name__}: {data_file!r} holds {data.shape[0]} images but {label_file!r} "
                             f"holds {label.shape[0]} labels")
        data = data.reshape(data.shape[0], data.shape[1], data.shape[2], 1)
        return array(data, dtype="uint8"), label


class FashionMNIST(MNIST):
    """Zalando's Fashion-MNIST (same files and layout as MNIST); also found in Debian's
    dataset-fashion-mnist location /usr/share/datasets/fashion-mnist."""

    _DEFAULT = os.path.join(_MXNET_HOME, "datasets", "fashion-mnist")
    _FALLBACKS = [Path("/usr/share/datasets/fashion-mnist")]

    def __init__(self, root=_DEFAULT, train=True, transform=None):
        super().__init__(root, train, transform)


class CIFAR10(_DownloadedDataset):
    """CIFAR-10 from its binary version: data uint8 NDArray (N, 32, 32, 3), labels int32.

    root: directory holding cifar-10-batches-bin/ (data_batch_1.bin ... data_batch_5.bin,
    test_batch.bin), or those files directly.
    """

    _DEFAULT = os.path.join(_MXNET_HOME, "datasets", "cifar10")
    _SUB = "cifar-10-batches-bin"

    def __init__(self, root=_DEFAULT, train=True, transform=None):
        self._train = train
        super().__init__(root, transform)

    def _files(self):
        return [f"data_batch_{i}.bin" for i in range(1, 6)] if self._train else ["test_batch.bin"]

    def _read(self, path):
        raw = np.fromfile(path, dtype=np.uint8)
        rec = self._record
        if raw.size % rec:
            raise ValueError(f"{type(self).__name__}: {path!r} has {raw.size} bytes, not a multiple of the "
                             f"{rec}-byte record")
        raw = raw.reshape(-1, rec)
        images = raw[:, rec - 3072:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)  # CHW records -> HWC
        return images, raw[:, self._label_byte].astype(np.int32)

    _record, _label_byte = 3073, 0

    def _get_data(self):
        names = self._files()
        paths = _find(type(self).__name__, [os.path.join(self._root, self._SUB), self._root], names)
        parts = [self._read(p) for p in paths]
        data = np.concatenate([p[0] for p in parts])  # joining files: moving bytes
        label = np.concatenate([p[1] for p in parts])
        return array(np.ascontiguousarray(data), dtype="uint8"), label


class CIFAR100(CIFAR10):
    """CIFAR-100 from its binary version (cifar-100-binary/train.bin, test.bin); fine_label=False
    gives the 20 coarse classes."""

    _DEFAULT = os.path.join(_MXNET_HOME, "datasets", "cifar100")
    _SUB = "cifar-100-binary"
    _record = 3074

    def __init__(self, root=_DEFAULT, fine_label=False, train=True, transform=None):
        self._label_byte = 1 if fine_label else 0
        super().__init__(root, train, transform)

    def _files(self):
        return ["train.bin"] if self._train else ["test.bin"]


__all__ = ["MNIST", "FashionMNIST", "CIFAR10", "CIFAR100"]
