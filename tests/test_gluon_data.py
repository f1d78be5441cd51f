"""mx.gluon.data: datasets, samplers, DataLoader (main process, worker processes, threads) and the
vision datasets, against plain Python / numpy references."""
import gc
import gzip
import multiprocessing
import os
import random
import threading
import time

import numpy as np
import pytest
from datasets import mnist_dir
from hypothesis import given, settings
from hypothesis import strategies as st

import mxcc as mx
from mxcc.base import MXNetError
from mxcc.gluon import data as gdata
from mxcc.gluon.data import vision
from mxcc.gluon.data.vision import transforms

RNG = np.random.default_rng(11)


# ---- datasets ------------------------------------------------------------------------------------
def test_array_dataset_items():
    x = RNG.random((6, 2, 3)).astype(np.float32)
    y = np.arange(6, dtype=np.int32)
    ds = gdata.ArrayDataset(mx.nd.array(x), y, list("abcdef"))
    assert len(ds) == 6
    a, b, c = ds[4]
    assert isinstance(a, mx.nd.NDArray) and a.shape == (2, 3)
    np.testing.assert_array_equal(a.asnumpy(), x[4])
    assert b == 4 and c == "e"
    one = gdata.ArrayDataset(mx.nd.array(np.arange(5.0)))  # 1-d NDArray: items are numpy scalars
    assert one[3] == 3.0 and not isinstance(one[3], mx.nd.NDArray)


def test_array_dataset_length_mismatch():
    with pytest.raises(ValueError, match=r"array\[0\] has length 4 while array\[1\] has 3"):
        gdata.ArrayDataset(np.zeros(4), [1, 2, 3])


def test_transform_and_transform_first():
    ds = gdata.ArrayDataset(np.arange(5), np.arange(5) * 10)
    t = ds.transform(lambda x, y: (x + 1, y - 1))
    assert [t[i] for i in range(5)] == [(i + 1, i * 10 - 1) for i in range(5)]
    f = ds.transform_first(lambda x: x * 3, lazy=False)
    assert isinstance(f, gdata.SimpleDataset)
    assert [f[i] for i in range(5)] == [(i * 3, i * 10) for i in range(5)]
    calls = []
    lazy = gdata.SimpleDataset([1, 2, 3]).transform(lambda x: calls.append(x) or x * 2)
    assert calls == [] and lazy[1] == 4 and calls == [2]
    single = gdata.SimpleDataset([1, 2]).transform_first(lambda x: -x)  # non-tuple samples: fn(x)
    assert single[1] == -2


def test_filter_shard_take_sample():
    ds = gdata.SimpleDataset(list(range(10)))
    ev = ds.filter(lambda x: x % 2 == 0)
    assert [ev[i] for i in range(len(ev))] == [0, 2, 4, 6, 8]
    shards = [ds.shard(3, k) for k in range(3)]
    assert [len(s) for s in shards] == [4, 3, 3]
    assert [s[i] for s in shards for i in range(len(s))] == list(range(10))
    with pytest.raises(ValueError, match="shard index out of bound: 3 out of 3"):
        ds.shard(3, 3)
    assert len(ds.take(4)) == 4 and ds.take(4)[3] == 3 and len(ds.take(None)) == 10 and len(ds.take(99)) == 10
    s = ds.sample(gdata.IntervalSampler(10, 3))
    assert [s[i] for i in range(len(s))] == [0, 3, 6, 9, 1, 4, 7, 2, 5, 8]
    with pytest.raises(TypeError, match="Expected gluon.data.Sampler"):
        ds.sample([1, 2])


# ---- samplers ------------------------------------------------------------------------------------
def test_sequential_random_interval_samplers():
    assert list(gdata.SequentialSampler(4)) == [0, 1, 2, 3]
    assert list(gdata.SequentialSampler(3, start=5)) == [5, 6, 7]
    r = gdata.RandomSampler(50)
    a, b = list(r), list(r)
    assert sorted(a) == list(range(50)) and a != b and len(r) == 50
    assert list(gdata.IntervalSampler(7, 3, rollover=False)) == [0, 3, 6]
    assert len(gdata.IntervalSampler(7, 3, rollover=False)) == 3


@pytest.mark.parametrize("last_batch,epochs", [
    ("keep", [[[0, 1, 2], [3, 4, 5], [6]], [[0, 1, 2], [3, 4, 5], [6]]]),
    ("discard", [[[0, 1, 2], [3, 4, 5]], [[0, 1, 2], [3, 4, 5]]]),
    ("rollover", [[[0, 1, 2], [3, 4, 5]], [[6, 0, 1], [2, 3, 4]], [[5, 6, 0], [1, 2, 3], [4, 5, 6]]]),
])
def test_batch_sampler_last_batch(last_batch, epochs):
    bs = gdata.BatchSampler(gdata.SequentialSampler(7), 3, last_batch)
    for expect in epochs:
        assert len(bs) == len(expect)
        assert list(bs) == expect


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 30), st.integers(1, 8), st.sampled_from(["keep", "discard", "rollover"]))
def test_dataloader_batches_property(n, batch_size, last_batch):
    labels = np.arange(n, dtype=np.int64) * 3
    loader = gdata.DataLoader(gdata.ArrayDataset(labels), batch_size=batch_size, last_batch=last_batch)
    carry = []
    for _ in range(3):  # three epochs: rollover carries the remainder into the next one
        expect = carry + list(range(n))
        cut = len(expect) // batch_size * batch_size
        batches = [expect[k:k + batch_size] for k in range(0, cut, batch_size)]
        carry = expect[cut:] if last_batch == "rollover" else []
        if last_batch == "keep" and cut < len(expect):
            batches.append(expect[cut:])
        assert len(loader) == len(batches)
        got = [b.asnumpy().tolist() for b in loader]
        assert got == [[3 * i for i in b] for b in batches]


def test_batch_sampler_errors():
    with pytest.raises(ValueError, match="last_batch must be one of 'keep', 'discard', or 'rollover', but got x"):
        gdata.BatchSampler(gdata.SequentialSampler(3), 2, "x")
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        gdata.BatchSampler(gdata.SequentialSampler(3), 0)


# ---- batchify ------------------------------------------------------------------------------------
def test_batchify_stack_pad_append_group():
    from mxcc.gluon.data import batchify

    st = batchify.Stack()([[1, 2, 3, 4], [4, 5, 6, 8], [8, 9, 1, 2]])
    np.testing.assert_array_equal(st[0].asnumpy(), [1, 4, 8])  # lists are fields, as MXNet's Stack
    a = RNG.random((2, 3)).astype(np.float32)
    s2 = batchify.Stack()([mx.nd.array(a), mx.nd.array(a * 2)])
    np.testing.assert_allclose(s2.asnumpy(), np.stack([a, a * 2]), rtol=1e-6)
    p = batchify.Pad()([[1, 2, 3, 4], [4, 5, 6], [8, 2]])
    assert p.dtype == np.int64
    np.testing.assert_array_equal(p.asnumpy(), [[1, 2, 3, 4], [4, 5, 6, 0], [8, 2, 0, 0]])
    p2 = batchify.Pad(val=-1)([mx.nd.array([[1, 2, 3, 4], [5, 6, 7, 8]]), mx.nd.array([[5, 8], [1, 2]])])
    assert p2.dtype == np.float32
    np.testing.assert_array_equal(p2.asnumpy(), [[[1, 2, 3, 4], [5, 6, 7, 8]], [[5, 8, -1, -1], [1, 2, -1, -1]]])
    assert batchify.Pad(round_to=4)([np.zeros(5), np.zeros(2)]).shape == (2, 8)
    ap = batchify.Append()([[1, 2, 3], [4, 5]])
    assert [x.shape for x in ap] == [(1, 3), (1, 2)]
    samples = [([1, 2, 3, 4], 0), ([5, 7], 1), ([1, 2, 3], 0)]
    f1, f2 = batchify.Group(batchify.Pad(val=0), batchify.Stack())(samples)
    np.testing.assert_array_equal(f1.asnumpy(), [[1, 2, 3, 4], [5, 7, 0, 0], [1, 2, 3, 0]])
    np.testing.assert_array_equal(f2.asnumpy(), [0, 1, 0])
    with pytest.raises(ValueError, match="should contain 2 elements"):
        batchify.Group(batchify.Pad(), batchify.Stack())([(1, 2, 3)])
    texts = batchify.Group(batchify.Stack(), batchify.AsList())([([1, 2], "a b"), ([3, 4], "c")])
    assert texts[1] == ["a b", "c"]
    ds = gdata.SimpleDataset(samples * 3)
    fn = batchify.Group(batchify.Pad(val=-1), batchify.Stack())
    ref = [(a.asnumpy(), b.asnumpy()) for a, b in gdata.DataLoader(ds, batch_size=4, batchify_fn=fn)]
    loader = gdata.DataLoader(ds, batch_size=4, batchify_fn=fn, num_workers=2)
    got = [(a.asnumpy(), b.asnumpy()) for a, b in loader]
    loader.close()
    assert len(got) == 3 and got[2][0].shape == (1, 3)
    for (ga, gb), (ra, rb) in zip(got, ref):
        np.testing.assert_array_equal(ga, ra)
        np.testing.assert_array_equal(gb, rb)


# ---- DataLoader ----------------------------------------------------------------------------------
def _dataset(n=23):
    x = RNG.random((n, 4, 5)).astype(np.float32)
    y = np.arange(n, dtype=np.int32)
    return x, y, gdata.ArrayDataset(mx.nd.array(x), y).transform_first(lambda d: d * 2 + 1)  # a kernel per sample


def test_dataloader_argument_errors():
    ds = gdata.SimpleDataset([1, 2, 3])
    with pytest.raises(ValueError, match="batch_size must be specified unless batch_sampler is specified"):
        gdata.DataLoader(ds)
    with pytest.raises(ValueError, match="shuffle must not be specified if sampler is specified"):
        gdata.DataLoader(ds, 2, shuffle=True, sampler=gdata.SequentialSampler(3))
    with pytest.raises(ValueError, match="batch_size, shuffle, sampler and last_batch must not be specified"):
        gdata.DataLoader(ds, 2, batch_sampler=gdata.BatchSampler(gdata.SequentialSampler(3), 2))


@pytest.mark.parametrize("last_batch,sizes", [(None, [5, 5, 5, 5, 3]), ("keep", [5, 5, 5, 5, 3]),
                                              ("discard", [5, 5, 5, 5]), ("rollover", [5, 5, 5, 5])])
def test_dataloader_batches_in_main_process(last_batch, sizes):
    x, y, ds = _dataset()
    loader = gdata.DataLoader(ds, batch_size=5, last_batch=last_batch)
    assert len(loader) == len(sizes)
    batches = list(loader)
    assert [len(b[1]) for b in batches] == sizes
    for k, (d, lab) in enumerate(batches):
        assert isinstance(d, mx.nd.NDArray) and d.dtype == np.float32 and lab.dtype == np.int32
        np.testing.assert_allclose(d.asnumpy(), x[5 * k:5 * k + sizes[k]] * 2 + 1, rtol=1e-6)
        np.testing.assert_array_equal(lab.asnumpy(), y[5 * k:5 * k + sizes[k]])


def test_dataloader_workers_match_main_process():
    x, y, ds = _dataset()
    ref = [(d.asnumpy(), lab.asnumpy()) for d, lab in gdata.DataLoader(ds, batch_size=4)]
    for kwargs in ({"num_workers": 2}, {"num_workers": 2, "prefetch": 1}, {"num_workers": 2, "thread_pool": True}):
        loader = gdata.DataLoader(ds, batch_size=4, **kwargs)
        for _ in range(2):  # a second epoch reuses the workers
            got = [(d.asnumpy(), lab.asnumpy()) for d, lab in loader]
            assert len(got) == len(ref) == 6
            for (gd, gl), (rd, rl) in zip(got, ref):
                assert gd.dtype == rd.dtype and gl.dtype == rl.dtype
                np.testing.assert_array_equal(gd, rd)
                np.testing.assert_array_equal(gl, rl)
        loader.close()


def test_dataloader_pin_memory():
    x, y, ds = _dataset(6)
    for kwargs in ({}, {"num_workers": 1}, {"num_workers": 1, "thread_pool": True}):
        loader = gdata.DataLoader(ds, batch_size=4, pin_memory=True, **kwargs)
        d, lab = next(iter(loader))
        assert d.context == mx.cpu_pinned(0) and lab.context == mx.cpu_pinned(0)
        np.testing.assert_allclose(d.asnumpy(), x[:4] * 2 + 1, rtol=1e-6)
        loader.close()
    d, _ = next(iter(gdata.DataLoader(ds, batch_size=4)))
    assert d.context == mx.cpu(0)


def test_dataloader_shuffle_and_custom_batchify():
    _, y, ds = _dataset(12)
    random.seed(5)
    labels = np.concatenate([lab.asnumpy() for _, lab in gdata.DataLoader(ds, batch_size=5, shuffle=True)])
    assert sorted(labels.tolist()) == list(range(12)) and labels.tolist() != list(range(12))

    def batchify(samples):  # runs in the workers; NDArrays come back as NDArrays, numpy stays numpy
        return mx.nd.stack(*[s[0] for s in samples]).sum(axis=(1, 2)), np.array([s[1] for s in samples])

    loader = gdata.DataLoader(ds, batch_size=5, batchify_fn=batchify, num_workers=2)
    out = list(loader)
    loader.close()
    ref = list(gdata.DataLoader(ds, batch_size=5, batchify_fn=batchify))
    assert len(out) == 3
    for (s, lab), (rs, rlab) in zip(out, ref):
        assert isinstance(s, mx.nd.NDArray) and isinstance(lab, np.ndarray)
        np.testing.assert_allclose(s.asnumpy(), rs.asnumpy(), rtol=1e-6)
        np.testing.assert_array_equal(lab, rlab)


def test_dataloader_spawned_workers(monkeypatch):
    """Where fork is unavailable, workers are spawned: the dataset travels pickled."""
    monkeypatch.setattr(multiprocessing, "get_all_start_methods", lambda: ["spawn"])
    x = np.arange(40, dtype=np.float32).reshape(10, 4)
    loader = gdata.DataLoader(gdata.ArrayDataset(mx.nd.array(x), np.arange(10)), batch_size=4, num_workers=1)
    got = [(d.asnumpy(), lab.asnumpy()) for d, lab in loader]
    assert loader._pool.procs[0]._popen.method == "spawn"
    loader.close()
    assert [g[1].tolist() for g in got] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    np.testing.assert_array_equal(np.concatenate([g[0] for g in got]), x)


class _Failing(gdata.Dataset):
    def __len__(self):
        return 8

    def __getitem__(self, idx):
        if idx == 5:
            raise KeyError(f"sample {idx} is broken")
        return np.float32(idx)


def test_worker_error_is_raised_with_its_traceback():
    loader = gdata.DataLoader(_Failing(), batch_size=2, num_workers=2)
    it = iter(loader)
    assert next(it).asnumpy().tolist() == [0, 1]
    assert next(it).asnumpy().tolist() == [2, 3]
    with pytest.raises(KeyError, match="sample 5 is broken") as info:
        next(it)
    cause = str(info.value.__cause__)
    assert "DataLoader worker traceback" in cause and "__getitem__" in cause and "KeyError" in cause
    loader.close()


class _Dying(gdata.Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, idx):
        if idx == 2:
            os._exit(3)
        return np.float32(idx)


class _Slow(gdata.Dataset):
    def __len__(self):
        return 2

    def __getitem__(self, idx):
        time.sleep(3)
        return np.float32(idx)


def test_dead_worker_and_timeout():
    with pytest.raises(MXNetError, match=r"exited unexpectedly with exit code 3"):
        list(gdata.DataLoader(_Dying(), batch_size=1, num_workers=1))
    loader = gdata.DataLoader(_Slow(), batch_size=1, num_workers=1, timeout=0.5)
    with pytest.raises(multiprocessing.TimeoutError, match="Worker timed out after 0.5 seconds"):
        next(iter(loader))
    loader.close()


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie awaiting its parent's wait() is gone too
    with open(f"/proc/{pid}/stat") as f:
        return f.read().split(")")[-1].split()[0] != "Z"


def test_shutdown_leaves_no_workers():
    _, _, ds = _dataset(12)
    loader = gdata.DataLoader(ds, batch_size=2, num_workers=2)
    it = iter(loader)
    next(it)  # abandon the epoch with batches in flight
    pids = [p.pid for p in loader._pool.procs]
    assert all(_alive(p) for p in pids)
    assert len(list(loader)) == 6  # a new epoch ignores the abandoned one's results
    del it, loader
    gc.collect()
    deadline = time.monotonic() + 5
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(p) for p in pids)
    assert not [c for c in multiprocessing.active_children() if c.pid in pids]
    # the loader may be gone while its iterator runs (`for b in DataLoader(...)`)
    it = iter(gdata.DataLoader(ds, batch_size=3, num_workers=2))
    gc.collect()
    assert [lab.asnumpy().tolist() for _, lab in it] == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9, 10, 11]]
    pids = [p.pid for p in it._pool.procs]
    del it
    it = iter(gdata.DataLoader(ds, batch_size=5, num_workers=2, thread_pool=True))
    gc.collect()
    assert [lab.asnumpy().tolist() for _, lab in it] == [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9], [10, 11]]
    del it
    gc.collect()
    deadline = time.monotonic() + 5
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(p) for p in pids)

    def loader_threads():
        return [t for t in threading.enumerate() if t.name.startswith("mxcc-dataloader")]

    while loader_threads() and time.monotonic() < deadline:  # they wake up and leave once the pool is gone
        time.sleep(0.05)
    assert not loader_threads()


# ---- vision datasets -----------------------------------------------------------------------------
def _idx_u8(path):
    raw = gzip.decompress(open(path, "rb").read())
    ndim = raw[3]
    dims = np.frombuffer(raw[4:4 + 4 * ndim], dtype=">u4")
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def test_mnist_from_repo_data():
    d = mnist_dir()
    ds = vision.MNIST(root=str(d), train=False)
    images, labels = _idx_u8(d / "t10k-images-idx3-ubyte.gz"), _idx_u8(d / "t10k-labels-idx1-ubyte.gz")
    assert len(ds) == 10000
    img, lab = ds[1234]
    assert img.shape == (28, 28, 1) and img.dtype == np.uint8 and isinstance(lab, np.int32)
    np.testing.assert_array_equal(img.asnumpy()[:, :, 0], images[1234])
    assert lab == labels[1234]
    t = vision.MNIST(root=str(d), train=False, transform=lambda x, y: (x.astype("float32") / 255, y + 100))
    x, y = t[7]
    np.testing.assert_allclose(x.asnumpy()[:, :, 0], images[7] / 255.0, rtol=1e-6)
    assert y == labels[7] + 100
    loader = gdata.DataLoader(ds.take(64), batch_size=32, num_workers=2)
    batches = list(loader)
    loader.close()
    assert batches[1][0].shape == (32, 28, 28, 1) and batches[1][1].dtype == np.int32
    np.testing.assert_array_equal(batches[1][0].asnumpy()[:, :, :, 0], images[32:64])
    np.testing.assert_array_equal(batches[1][1].asnumpy(), labels[32:64])
    if not (d / "train-images-idx3-ubyte.gz").exists() and not (d / "train-images-idx3-ubyte").exists():
        with pytest.raises(FileNotFoundError, match=r"train-images-idx3-ubyte\.gz"):
            vision.MNIST(root=str(d), train=True)


def test_mnist_default_root_finds_repo_data(monkeypatch, tmp_path):
    mnist_dir()
    monkeypatch.setattr(vision.MNIST, "_DEFAULT", str(tmp_path / "nothing-here"))
    assert len(vision.MNIST(root=str(tmp_path / "nothing-here"), train=False)) == 10000


def test_fashion_mnist_missing_files_error(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        vision.FashionMNIST(root=str(tmp_path))
    msg = str(info.value)
    assert str(tmp_path) in msg and "train-images-idx3-ubyte.gz" in msg and "train-labels-idx1-ubyte.gz" in msg
    assert "does not download" in msg
    with pytest.raises(FileNotFoundError, match="t10k-images-idx3-ubyte.gz"):
        vision.FashionMNIST(root=str(tmp_path), train=False)


@pytest.mark.skipif(not os.path.isfile("/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz"),
                    reason="Debian's dataset-fashion-mnist is not installed")
def test_fashion_mnist_system_location():
    ds = vision.FashionMNIST(train=False)
    labels = _idx_u8("/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz")
    assert len(ds) == 10000 and ds[9][0].shape == (28, 28, 1) and ds[9][1] == labels[9]


def test_cifar10_binary_batches(tmp_path):
    sub = tmp_path / "cifar-10-batches-bin"
    sub.mkdir()
    chw = RNG.integers(0, 256, (3, 3, 32, 32)).astype(np.uint8)
    labels = np.array([4, 0, 9], dtype=np.uint8)
    rec = np.concatenate([labels[:, None], chw.reshape(3, -1)], axis=1)
    rec.tofile(sub / "test_batch.bin")
    ds = vision.CIFAR10(root=str(tmp_path), train=False)
    assert len(ds) == 3
    img, lab = ds[2]
    assert img.shape == (32, 32, 3) and img.dtype == np.uint8 and lab == 9 and isinstance(lab, np.int32)
    np.testing.assert_array_equal(img.asnumpy(), chw[2].transpose(1, 2, 0))
    with pytest.raises(FileNotFoundError, match="data_batch_1.bin"):
        vision.CIFAR10(root=str(tmp_path), train=True)


# ---- vision transforms ---------------------------------------------------------------------------
def _img(shape, dtype="uint8"):
    return RNG.integers(0, 256, shape).astype(dtype)


def test_to_tensor_normalize_cast():
    x = _img((5, 6, 3))
    t = transforms.ToTensor()(mx.nd.array(x, dtype="uint8"))
    assert t.dtype == np.float32
    np.testing.assert_allclose(t.asnumpy(), x.transpose(2, 0, 1) / 255.0, rtol=1e-6)
    b = transforms.ToTensor()(mx.nd.array(_img((2, 5, 6, 3)), dtype="uint8"))
    assert b.shape == (2, 3, 5, 6)
    mean, std = (0.4, 0.5, 0.6), (0.2, 0.25, 0.3)
    n = transforms.Normalize(mean, std)(t)
    ref = (x.transpose(2, 0, 1) / 255.0 - np.array(mean)[:, None, None]) / np.array(std)[:, None, None]
    np.testing.assert_allclose(n.asnumpy(), ref, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(transforms.Normalize()(t).asnumpy(), x.transpose(2, 0, 1) / 255.0, rtol=1e-6)
    c = transforms.Cast("float64")(mx.nd.array(x, dtype="uint8"))
    assert c.dtype == np.float64
    np.testing.assert_array_equal(c.asnumpy(), x)


def test_resize_and_crops():
    from test_image_ops import resize_ref

    x = _img((10, 16, 3)).astype(np.float32)
    nx = mx.nd.array(x)
    np.testing.assert_allclose(transforms.Resize((7, 5))(nx).asnumpy(), resize_ref(x, 5, 7), rtol=1e-5, atol=1e-3)
    assert transforms.Resize(8, keep_ratio=True)(nx).shape == (8, 12, 3)
    assert transforms.Resize(8)(mx.nd.array(_img((2, 10, 16, 3)), dtype="uint8")).shape == (2, 8, 8, 3)
    # centre crop inside the image: a plain slice
    np.testing.assert_array_equal(transforms.CenterCrop((6, 4))(nx).asnumpy(), x[3:7, 5:11])
    np.testing.assert_array_equal(transforms.CenterCrop(5)(nx).asnumpy(), x[2:7, 5:10])
    # larger than the image: the largest centred region of that ratio (10x10 of 10x16), upsampled
    got = transforms.CenterCrop(12)(nx).asnumpy()
    np.testing.assert_allclose(got, resize_ref(x[:, 3:13], 12, 12), rtol=1e-5, atol=1e-3)
    np.testing.assert_array_equal(transforms.CropResize(2, 1, 5, 4)(nx).asnumpy(), x[1:5, 2:7])
    np.testing.assert_allclose(transforms.CropResize(2, 1, 5, 4, size=(3, 3))(nx).asnumpy(),
                               resize_ref(x[1:5, 2:7], 3, 3), rtol=1e-5, atol=1e-3)


def test_random_resized_crop():
    from test_image_ops import resize_ref

    x = _img((12, 18, 3)).astype(np.float32)
    nx = mx.nd.array(x)
    random.seed(1)
    a = transforms.RandomResizedCrop((8, 6))(nx).asnumpy()
    random.seed(1)
    b = transforms.RandomResizedCrop((8, 6))(nx).asnumpy()
    assert a.shape == (6, 8, 3)
    np.testing.assert_array_equal(a, b)
    # the whole image is the only region of area 1 and ratio 18/12
    whole = transforms.RandomResizedCrop((9, 6), scale=(1.0, 1.0), ratio=(1.5, 1.5))(nx).asnumpy()
    np.testing.assert_allclose(whole, resize_ref(x, 6, 9), rtol=1e-5, atol=1e-3)


def test_random_crop():
    from test_image_ops import resize_ref

    x = _img((8, 10, 3))
    nx = mx.nd.array(x, dtype="uint8")
    for _ in range(5):
        got = transforms.RandomCrop((4, 3))(nx).asnumpy()
        assert got.shape == (3, 4, 3)
        hits = [(i, j) for i in range(6) for j in range(7) if np.array_equal(x[i:i + 3, j:j + 4], got)]
        assert hits  # some 3x4 window of the image
    padded = transforms.RandomCrop(14, pad=2, pad_value=9)(nx).asnumpy()  # exactly the padded image
    ref = np.full((12, 14, 3), 9, dtype=np.uint8)
    ref[2:10, 2:12] = x
    assert padded.shape == (14, 14, 3)
    np.testing.assert_allclose(padded, np.round(resize_ref(ref, 14, 14)), atol=1)
    same = transforms.RandomCrop((14, 12), pad=(2, 2, 2, 2), pad_value=9)(nx).asnumpy()
    np.testing.assert_array_equal(same, ref)
    b = transforms.RandomCrop(5, pad=1)(mx.nd.array(_img((2, 6, 6, 3)), dtype="uint8"))
    assert b.shape == (2, 5, 5, 3)


def test_random_flips_and_brightness():
    x = _img((4, 6, 3))
    nx = mx.nd.array(x, dtype="uint8")
    np.testing.assert_array_equal(transforms.RandomFlipLeftRight(p=1)(nx).asnumpy(), x[:, ::-1])
    np.testing.assert_array_equal(transforms.RandomFlipTopBottom(p=1)(nx).asnumpy(), x[::-1])
    np.testing.assert_array_equal(transforms.RandomFlipLeftRight(p=0)(nx).asnumpy(), x)
    outcomes = set()
    flip = transforms.RandomFlipLeftRight()
    for _ in range(30):
        got = flip(nx).asnumpy()
        assert np.array_equal(got, x) or np.array_equal(got, x[:, ::-1])
        outcomes.add(np.array_equal(got, x))
    assert outcomes == {True, False}
    xf = x.astype(np.float32) + 1
    got = transforms.RandomBrightness(0.5)(mx.nd.array(xf)).asnumpy()
    f = got[0, 0, 0] / xf[0, 0, 0]
    assert 0.5 <= f <= 1.5
    np.testing.assert_allclose(got, xf * f, rtol=1e-5)


def test_color_transforms():
    x = _img((6, 5, 3)).astype(np.float32)
    nx = mx.nd.array(x)
    coef = np.array([0.299, 0.587, 0.114])
    # zero strength leaves the image alone (hue 0 turns by exactly one full turn)
    for t in (transforms.RandomContrast(0), transforms.RandomSaturation(0), transforms.RandomLighting(0),
              transforms.RandomColorJitter()):
        np.testing.assert_allclose(t(nx).asnumpy(), x, rtol=1e-5, atol=1e-3)
    np.testing.assert_allclose(transforms.RandomHue(0)(nx).asnumpy(), x, atol=0.05)
    got = transforms.RandomSaturation(0.5)(nx).asnumpy().astype(np.float64)
    f = (got[0, 0, 0] - got[0, 0, 1]) / (x[0, 0, 0] - x[0, 0, 1])
    assert 0.5 - 1e-4 <= f <= 1.5 + 1e-4
    gray = (x.astype(np.float64) * coef).sum(-1, keepdims=True)
    np.testing.assert_allclose(got, gray * (1 - f) + x * f, rtol=1e-4, atol=1e-2)
    jitter = transforms.Compose([transforms.RandomColorJitter(0.3, 0.3, 0.3, 0.05), transforms.ToTensor()])
    outs = [jitter(mx.nd.array(x.astype(np.uint8), dtype="uint8")).asnumpy() for _ in range(3)]
    assert outs[0].shape == (3, 6, 5) and not np.array_equal(outs[0], outs[1])


def test_compose_pipeline_and_hybridized_group():
    from test_image_ops import resize_ref

    x = _img((20, 24, 3))
    mean, std = (0.5, 0.4, 0.3), (0.2, 0.3, 0.4)
    pipe = transforms.Compose([transforms.Resize((16, 12)), transforms.CenterCrop(8), transforms.ToTensor(),
                               transforms.Normalize(mean, std)])
    assert isinstance(pipe[2], mx.gluon.nn.HybridSequential) and len(pipe) == 3  # ToTensor + Normalize grouped
    got = pipe(mx.nd.array(x, dtype="uint8")).asnumpy()
    resized = np.round(resize_ref(x, 12, 16))  # uint8 resize rounds (within 1 of this, see test_image_ops)
    ref = (resized[2:10, 4:12].transpose(2, 0, 1) / 255.0 - np.array(mean)[:, None, None]) / np.array(std)[:, None,
                                                                                                        None]
    assert got.shape == (3, 8, 8)
    np.testing.assert_allclose(got, ref, atol=1.01 / 255.0 / 0.2)
    plain = transforms.ToTensor()(mx.nd.array(x, dtype="uint8"))
    np.testing.assert_allclose(transforms.Compose([transforms.ToTensor(), transforms.Normalize(mean, std)])(
        mx.nd.array(x, dtype="uint8")).asnumpy(), transforms.Normalize(mean, std)(plain).asnumpy(), rtol=1e-6)


def test_mnist_transform_first_with_workers():
    d = mnist_dir()
    ds = vision.MNIST(root=str(d), train=False).take(48)
    tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize(0.13, 0.31)])
    ref = [(a.asnumpy(), b.asnumpy()) for a, b in gdata.DataLoader(ds.transform_first(tf), batch_size=16)]
    loader = gdata.DataLoader(ds.transform_first(tf), batch_size=16, num_workers=2)
    got = [(a.asnumpy(), b.asnumpy()) for a, b in loader]
    loader.close()
    images = _idx_u8(d / "t10k-images-idx3-ubyte.gz")[:48]
    assert len(got) == 3 and got[0][0].shape == (16, 1, 28, 28)
    np.testing.assert_allclose(got[2][0][:, 0], (images[32:48] / 255.0 - 0.13) / 0.31, rtol=1e-5, atol=1e-6)
    for (ga, gb), (ra, rb) in zip(got, ref):
        np.testing.assert_array_equal(ga, ra)
        np.testing.assert_array_equal(gb, rb)
