"""Per-device asynchronous engine.

Calls are issued to one worker thread per device through a bounded FIFO, so memory
held by queued work cannot grow without limit and execution order equals issue
order (every dependency is honoured). cffi releases the GIL during a kernel, so
Python keeps issuing while C runs. Small calls issued while the device is idle run
inline on the caller's thread: a thread hand-off would cost more than the kernel.

Each storage buffer has a Var holding the ticket of its last pending write and any
error from the call that produced it. Errors surface at the next synchronisation
(`wait_to_read`, `asnumpy`, `waitall`) and flow to everything computed from them.
As in MXNet, a failure is raised once: the first synchronisation that sees it
clears it for every Var it reached and for `waitall`.

Engines only order their own calls: a call that reads or writes a buffer last
written on another device's engine first waits for that write, and a buffer
written here belongs to this engine's tickets from then on.
"""
from __future__ import annotations

import collections
import os
import threading

from ..ir.errors import MXNetError


class Var:
    __slots__ = ("ticket", "error", "engine", "__weakref__")

    def __init__(self, engine=None):
        self.ticket, self.error, self.engine = 0, None, engine  # error: a Failure or None


class Failure:
    """One failed call, shared by every Var it reached and by its engine's list."""

    __slots__ = ("error",)

    def __init__(self, error: Exception):
        self.error = error

    def take(self):
        e, self.error = self.error, None
        return e


class Engine:
    def __init__(self, name: str, max_pending: int = 512):
        self.name, self.max_pending = name, max_pending
        self.issued = 0
        self.completed = 0
        self._queue: collections.deque = collections.deque()
        self._cv = threading.Condition()
        self._thread = None
        self._errors: list[Failure] = []

    # -- issuing -----------------------------------------------------------------------------
    def push(self, calls, op: str, out_vars, in_vars, keepalive, inline: bool) -> None:
        """Run `calls` [(cfunc, args), ...] after everything issued before them."""
        for v in in_vars:
            if v.engine is not self:
                _settle(v)
        for v in out_vars:
            if v.engine is not self:  # written here from now on: waits use this engine's tickets
                _settle(v)
                v.engine, v.ticket = self, 0
        if inline and self.completed == self.issued:
            self._execute(calls, op, out_vars, in_vars)
            return
        with self._cv:
            while self.issued - self.completed >= self.max_pending:
                self._cv.wait()
            self.issued += 1
            ticket = self.issued
            self._queue.append((calls, op, out_vars, in_vars, keepalive))
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name=f"mxcc-engine-{self.name}", daemon=True)
                self._thread.start()
            self._cv.notify_all()
        for v in out_vars:
            v.ticket = ticket

    def _execute(self, calls, op, out_vars, in_vars):
        for v in in_vars:
            if v.error is not None and v.error.error is not None:
                for o in out_vars:
                    o.error = v.error
                return
        try:
            for fn, args, errors in calls:
                rc = fn(*args)
                if rc:
                    msg = (errors or {}).get(rc, f"kernel returned error code {rc}")
                    raise MXNetError(f"{op}: {msg}")
        except Exception as e:  # an error inside a call surfaces at the next sync
            failure = Failure(e if isinstance(e, MXNetError) else MXNetError(f"{op}: {type(e).__name__}: {e}"))
            for o in out_vars:
                o.error = failure
            self._errors.append(failure)

    def _work(self):
        while True:
            with self._cv:
                while not self._queue:
                    self._cv.wait()
                task = self._queue.popleft()
            self._execute(*task[:4])
            with self._cv:
                self.completed += 1
                self._cv.notify_all()

    # -- synchronising ---------------------------------------------------------------------------
    def wait_for(self, ticket: int) -> None:
        if self.completed >= ticket:
            return
        with self._cv:
            while self.completed < ticket:
                self._cv.wait()

    def wait_all(self) -> None:
        self.wait_for(self.issued)

    def take_errors(self) -> list:
        errs, self._errors = self._errors, []
        return errs

    def _restart_in_child(self):
        """After fork: the parent's worker thread does not exist here. Start empty (other modules
        hold this Engine object, so it is reset, not replaced); a worker starts again on demand."""
        self._cv = threading.Condition()
        self._queue.clear()
        self._thread = None
        self.completed = self.issued


_engines: dict = {}
_lock = threading.Lock()


def _after_fork_in_child() -> None:
    global _lock
    _lock = threading.Lock()
    for eng in list(_engines.values()):
        eng._restart_in_child()


if hasattr(os, "register_at_fork"):  # DataLoader workers and user code may fork a process that used mxcc
    os.register_at_fork(after_in_child=_after_fork_in_child)


def get_engine(device: str) -> Engine:
    eng = _engines.get(device)
    if eng is None:
        with _lock:
            eng = _engines.setdefault(device, Engine(device))
    return eng


def _settle(var: Var) -> None:
    """Wait for the last write to `var` issued on another engine: engines only order their own calls."""
    eng = var.engine
    if eng is not None and eng.completed < var.ticket:
        eng.wait_for(var.ticket)


def wait_var(var: Var) -> None:
    """Block until the last write to `var` is done; raise the error that produced it, if any."""
    if var.engine is not None and var.engine.completed < var.ticket:
        var.engine.wait_for(var.ticket)
    failure = var.error
    if failure is not None:
        var.error = None
        err = failure.take()
        if err is not None:
            raise err


def waitall() -> None:
    """Wait for every device; raise the first error not yet raised since the last waitall."""
    first = None
    for eng in list(_engines.values()):
        eng.wait_all()
        for failure in eng.take_errors():
            err = failure.take()
            first = first or err
    if first is not None:
        raise first
