"""DataLoader (MXNet 1.x `gluon.data.dataloader`): batches of a Dataset, loaded in the main process,
in worker threads, or in worker processes.

Worker processes (num_workers > 0) are forked where the platform can fork (spawned elsewhere, which
needs a picklable dataset). A worker receives (key, indices), loads the samples, batchifies them,
and sends the batch back pickled, with every NDArray in it carried as its numpy bytes (`_Wire`);
the main process turns those back into NDArrays. Results are reordered by batch number, so the
order of batches never depends on which worker finished first. A worker's exception comes back
with its traceback text and is raised again in the main process; a dead worker or a batch slower
than `timeout` raises too. Workers stop when the loader is garbage-collected, when the interpreter
exits, or when their parent dies.
"""
from __future__ import annotations

import itertools
import multiprocessing
import os
import pickle
import queue
import random
import signal
import time
import traceback
import weakref
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ... import runtime
from ...base import MXNetError
from ...context import cpu_pinned
from ...ndarray import NDArray, array, stack
from . import sampler as _sampler


def default_batchify_fn(data):
    """Stack a list of samples into a batch: NDArrays into one NDArray (in the first one's context),
    tuples field by field (a list of batches), anything else through numpy (keeping its dtype)."""
    if isinstance(data[0], NDArray):
        ctx = data[0].context
        if ctx.device_type.startswith("cpu") and all(d.context == ctx for d in data):
            # host arrays: a byte copy, which needs no kernel (mx.nd.stack compiles one per batch size)
            arr = np.stack([d.asnumpy() for d in data])
            return array(arr, ctx=ctx, dtype=arr.dtype)
        return stack(*data)
    if isinstance(data[0], tuple):
        return [default_batchify_fn(list(field)) for field in zip(*data)]
    arr = np.asarray(data)
    return array(arr, dtype=arr.dtype)


def default_mp_batchify_fn(data):
    """The batchify function of worker processes: the same batches as default_batchify_fn."""
    return _from_wire(_wire_batchify(data))


# ---- transport between processes -------------------------------------------------------------
class _Wire:
    """An NDArray on its way between processes: its bytes as a numpy array."""

    __slots__ = ("array",)

    def __init__(self, arr):
        self.array = arr


def _wire_batchify(data):
    """default_batchify_fn's batch, with NDArrays as _Wire (no NDArray is built in the worker)."""
    if isinstance(data[0], NDArray):
        return _Wire(np.stack([d.asnumpy() for d in data]))  # stacking only moves bytes
    if isinstance(data[0], tuple):
        return [_wire_batchify(list(field)) for field in zip(*data)]
    return _Wire(np.asarray(data))


def _to_wire(obj):
    if isinstance(obj, NDArray):
        return _Wire(obj.asnumpy())
    if isinstance(obj, (list, tuple)):
        out = [_to_wire(o) for o in obj]
        return out if isinstance(obj, list) else tuple(out)
    if isinstance(obj, dict):
        return {k: _to_wire(v) for k, v in obj.items()}
    return obj


def _from_wire(obj):
    if isinstance(obj, _Wire):
        a = obj.array
        if a.dtype.name == "bool":
            a = a.astype(np.uint8)
        return array(a, dtype=a.dtype)
    if isinstance(obj, (list, tuple)):
        out = [_from_wire(o) for o in obj]
        return out if isinstance(obj, list) else tuple(out)
    if isinstance(obj, dict):
        return {k: _from_wire(v) for k, v in obj.items()}
    return obj


def _pin(obj, ctx):
    """Every NDArray of a batch in context `ctx` (pin_memory=True: cpu_pinned, as MXNet)."""
    if isinstance(obj, NDArray):
        return obj.as_in_context(ctx)
    if isinstance(obj, (list, tuple)):
        out = [_pin(o, ctx) for o in obj]
        return out if isinstance(obj, list) else tuple(out)
    return obj


class _RemoteTraceback(Exception):
    """The cause attached to an exception re-raised from a worker: the worker's traceback."""

    def __init__(self, tb: str):
        super().__init__(tb)
        self.tb = tb

    def __str__(self):
        return self.tb


# ---- the worker process -----------------------------------------------------------------------
def _reset_after_fork(seed: int) -> None:
    """Give a forked child its own random streams, so workers do not augment alike (the engines
    restart themselves in a forked child: runtime/engine.py)."""
    from ...runtime import rng

    rng.seed(seed)
    random.seed(seed)
    np.random.seed(seed & 0xFFFFFFFF)


def _worker_loop(dataset, batchify_fn, task_q, result_q, stop, seed, parent_pid, forked):
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the main process's to handle
    if forked:
        _reset_after_fork(seed)
    else:
        from ... import random as mx_random

        mx_random.seed(seed)
        random.seed(seed)
    wire_batchify = batchify_fn is default_mp_batchify_fn
    while True:
        try:
            task = task_q.get(timeout=1.0)
        except queue.Empty:
            if os.getppid() != parent_pid:  # orphaned: the main process is gone
                return
            continue
        if task is None or stop.is_set():  # stop: skip the batches an abandoned epoch left queued
            return
        key, indices = task
        try:
            samples = [dataset[i] for i in indices]
            batch = _wire_batchify(samples) if wire_batchify else _to_wire(batchify_fn(samples))
            msg = pickle.dumps((key, True, batch), protocol=pickle.HIGHEST_PROTOCOL)
        except BaseException as e:  # noqa: BLE001  (everything goes back to the main process)
            tb = traceback.format_exc()
            try:
                exc = pickle.dumps(e, protocol=pickle.HIGHEST_PROTOCOL)
                pickle.loads(exc)
            except Exception:  # noqa: BLE001
                exc = None
            msg = pickle.dumps((key, False, (exc, type(e).__name__, str(e), tb)))
        result_q.put(msg)


def _shutdown(procs, task_q, result_q, stop):
    stop.set()
    for _ in procs:
        try:
            task_q.put(None)
        except (OSError, ValueError):
            pass
    deadline = time.monotonic() + 2.0
    for p in procs:
        p.join(max(0.0, deadline - time.monotonic()))
    for p in procs:
        if p.is_alive():
            p.terminate()
            p.join(1.0)
        if p.is_alive():
            p.kill()
            p.join()
    for q in (task_q, result_q):
        q.cancel_join_thread()
        q.close()


class _WorkerPool:
    def __init__(self, dataset, batchify_fn, num_workers):
        methods = multiprocessing.get_all_start_methods()
        forked = "fork" in methods
        ctx = multiprocessing.get_context("fork" if forked else "spawn")
        runtime.waitall()  # nothing may be in flight when the process is copied
        self.task_q, self.result_q, self.stop = ctx.Queue(), ctx.Queue(), ctx.Event()
        base = random.getrandbits(48)
        self.procs = []
        for k in range(num_workers):
            p = ctx.Process(target=_worker_loop, name=f"mxcc-dataloader-worker-{k}", daemon=True,
                            args=(dataset, batchify_fn, self.task_q, self.result_q, self.stop, base + 7919 * (k + 1),
                                  os.getpid(), forked))
            p.start()
            self.procs.append(p)
        # runs when neither the loader nor any of its iterators holds the pool any more
        self._finalizer = weakref.finalize(self, _shutdown, self.procs, self.task_q, self.result_q, self.stop)

    def shutdown(self):
        self._finalizer()

    @property
    def alive(self):
        return self._finalizer.alive

    def dead_worker(self):
        for p in self.procs:
            if p.exitcode is not None:
                return p
        return None


_TIMEOUT_MSG = ("Worker timed out after {} seconds. This might be caused by a slow transform: increase "
                "`timeout` to allow slower data loading in each worker.")


class _MultiWorkerIter:
    _ids = itertools.count()

    def __init__(self, pool, batch_sampler, pin_ctx, timeout, prefetch):
        self._pool, self._timeout, self._pin_ctx = pool, timeout, pin_ctx
        self._iter = iter(batch_sampler)
        self._id = next(self._ids)
        self._sent = self._rcvd = 0
        self._buffer: dict = {}
        self._done = False
        for _ in range(max(1, prefetch)):
            self._push_next()

    def _push_next(self):
        if self._done:
            return
        indices = next(self._iter, None)
        if indices is None:
            self._done = True
            return
        self._pool.task_q.put(((self._id, self._sent), list(indices)))
        self._sent += 1

    def __iter__(self):
        return self

    def __next__(self):
        if self._rcvd == self._sent:
            raise StopIteration
        key = (self._id, self._rcvd)
        start = time.monotonic()
        while key not in self._buffer:
            try:
                msg = self._pool.result_q.get(timeout=0.2)
            except queue.Empty:
                dead = self._pool.dead_worker()
                if dead is not None:
                    self._pool.shutdown()
                    raise MXNetError(f"DataLoader worker {dead.name} (pid {dead.pid}) exited unexpectedly with "
                                     f"exit code {dead.exitcode} (anything it printed to stderr says why)") from None
                if time.monotonic() - start > self._timeout:
                    raise multiprocessing.TimeoutError(_TIMEOUT_MSG.format(self._timeout)) from None
                continue
            got_key, ok, payload = pickle.loads(msg)
            if got_key[0] == self._id:  # others belong to an abandoned iterator
                self._buffer[got_key] = (ok, payload)
        ok, payload = self._buffer.pop(key)
        self._rcvd += 1
        self._push_next()
        if not ok:
            _raise_remote(payload)
        batch = _from_wire(payload)
        return batch if self._pin_ctx is None else _pin(batch, self._pin_ctx)


def _raise_remote(payload):
    exc_bytes, name, text, tb = payload
    cause = _RemoteTraceback(f'\n"""\nDataLoader worker traceback:\n{tb}"""')
    exc = pickle.loads(exc_bytes) if exc_bytes is not None else None
    if exc is None:
        exc = MXNetError(f"DataLoader worker raised {name}: {text}\n{tb}")
    raise exc from cause


class _ThreadIter:
    def __init__(self, executor, dataset, batchify_fn, batch_sampler, pin_ctx, timeout, prefetch):
        self._executor, self._dataset, self._batchify_fn = executor, dataset, batchify_fn
        self._timeout, self._pin_ctx = timeout, pin_ctx
        self._iter = iter(batch_sampler)
        self._pending: list = []
        for _ in range(max(1, prefetch)):
            self._push_next()

    def _load(self, indices):
        return self._batchify_fn([self._dataset[i] for i in indices])

    def _push_next(self):
        indices = next(self._iter, None)
        if indices is not None:
            self._pending.append(self._executor.submit(self._load, list(indices)))

    def __iter__(self):
        return self

    def __next__(self):
        if not self._pending:
            raise StopIteration
        fut = self._pending.pop(0)
        self._push_next()
        try:
            batch = fut.result(timeout=self._timeout)
        except TimeoutError:
            raise multiprocessing.TimeoutError(_TIMEOUT_MSG.format(self._timeout)) from None
        return batch if self._pin_ctx is None else _pin(batch, self._pin_ctx)


class DataLoader:
    """Loads a Dataset and returns mini-batches of it.

    Parameters (as MXNet 1.x): dataset; batch_size; shuffle (a new random order every epoch);
    sampler (yields sample indices; excludes shuffle); last_batch ('keep' | 'discard' |
    'rollover'); batch_sampler (yields lists of indices; excludes batch_size, shuffle, sampler and
    last_batch); batchify_fn (samples -> batch); num_workers (0: load in the main process; k > 0:
    k worker processes, or threads with thread_pool=True); pin_memory (batches in
    mx.cpu_pinned(pin_device_id), which is host memory like mx.cpu here); prefetch (batches loaded
    ahead, default 2 * num_workers); timeout (seconds to wait for one batch from a worker).
    """

    def __init__(self, dataset, batch_size=None, shuffle=False, sampler=None, last_batch=None,
                 batch_sampler=None, batchify_fn=None, num_workers=0, pin_memory=False, pin_device_id=0,
                 prefetch=None, thread_pool=False, timeout=120):
        self._dataset = dataset
        self._pin_memory, self._pin_device_id = pin_memory, pin_device_id
        self._thread_pool = thread_pool
        self._timeout = timeout
        if batch_sampler is None:
            if batch_size is None:
                raise ValueError("batch_size must be specified unless batch_sampler is specified")
            if sampler is None:
                if shuffle:
                    sampler = _sampler.RandomSampler(len(dataset))
                else:
                    sampler = _sampler.SequentialSampler(len(dataset))
            elif shuffle:
                raise ValueError("shuffle must not be specified if sampler is specified")
            batch_sampler = _sampler.BatchSampler(sampler, batch_size, last_batch if last_batch else "keep")
        elif batch_size is not None or shuffle or sampler is not None or last_batch is not None:
            raise ValueError("batch_size, shuffle, sampler and last_batch must not be specified if batch_sampler "
                             "is specified.")
        self._batch_sampler = batch_sampler
        if isinstance(num_workers, bool) or int(num_workers) != num_workers:
            raise ValueError(f"num_workers must be an integer, got {num_workers!r}")
        self._num_workers = max(0, int(num_workers))
        self._prefetch = max(0, int(prefetch) if prefetch is not None else 2 * self._num_workers)
        if batchify_fn is None:
            batchify_fn = default_mp_batchify_fn if self._num_workers > 0 and not thread_pool else default_batchify_fn
        self._batchify_fn = batchify_fn
        self._pool = None
        self._executor = None

    def __iter__(self):
        if self._num_workers == 0:
            return self._same_process_iter()
        if self._thread_pool:
            if self._executor is None:
                # its threads end once neither the loader nor an iterator holds it
                self._executor = ThreadPoolExecutor(self._num_workers, thread_name_prefix="mxcc-dataloader")
            return _ThreadIter(self._executor, self._dataset, self._batchify_fn, self._batch_sampler,
                               self._pin_ctx(), self._timeout, self._prefetch)
        if self._pool is None or not self._pool.alive:
            self._pool = _WorkerPool(self._dataset, self._batchify_fn, self._num_workers)
        return _MultiWorkerIter(self._pool, self._batch_sampler, self._pin_ctx(), self._timeout, self._prefetch)

    def _pin_ctx(self):
        return cpu_pinned(self._pin_device_id) if self._pin_memory else None

    def _same_process_iter(self):
        pin_ctx = self._pin_ctx()
        for batch in self._batch_sampler:
            ret = self._batchify_fn([self._dataset[idx] for idx in batch])
            yield ret if pin_ctx is None else _pin(ret, pin_ctx)

    def __len__(self):
        return len(self._batch_sampler)

    def close(self):
        """Stop the worker processes (or threads) now; a later iteration starts new ones."""
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None


__all__ = ["DataLoader", "default_batchify_fn", "default_mp_batchify_fn"]
