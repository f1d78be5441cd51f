"""Devices: mx.cpu(i), mx.gpu(i), and `with ctx:` to set the default."""
from __future__ import annotations

import threading

_local = threading.local()


class Context:
    devtype2str = {1: "cpu", 2: "gpu", 3: "cpu_pinned", 5: "cpu_shared"}
    devstr2type = {v: k for k, v in devtype2str.items()}

    def __init__(self, device_type, device_id: int = 0):
        if isinstance(device_type, Context):
            device_type, device_id = device_type.device_type, device_type.device_id
        if isinstance(device_type, int):
            device_type = self.devtype2str.get(device_type, device_type)
        if device_type not in self.devstr2type:
            raise ValueError(f"unknown device type {device_type!r}; expected one of {sorted(self.devstr2type)}")
        self.device_type, self.device_id = device_type, int(device_id)
        self.key = f"{device_type}({self.device_id})"  # hashed on every imperative call: precomputed

    @property
    def device_typeid(self) -> int:
        return self.devstr2type[self.device_type]

    def __eq__(self, other):
        return isinstance(other, Context) and (self.device_type, self.device_id) == (other.device_type, other.device_id)

    def __hash__(self):
        return hash((self.device_type, self.device_id))

    def __repr__(self):
        return self.key

    __str__ = __repr__

    def __enter__(self):
        # a per-thread stack, not an attribute: the same Context may be entered twice, or by two threads
        stack = getattr(_local, "stack", None)
        if stack is None:
            stack = _local.stack = []
        stack.append(current_context())
        _local.ctx = self
        return self

    def __exit__(self, *exc):
        _local.ctx = _local.stack.pop()
        return False

    @staticmethod
    def default_ctx():
        return current_context()


def cpu(device_id: int = 0) -> Context:
    return Context("cpu", device_id)


def cpu_pinned(device_id: int = 0) -> Context:
    return Context("cpu_pinned", device_id)


def gpu(device_id: int = 0) -> Context:
    return Context("gpu", device_id)


def num_gpus() -> int:
    try:
        import cupy

        return cupy.cuda.runtime.getDeviceCount()
    except Exception:
        return 0


def current_context() -> Context:
    ctx = getattr(_local, "ctx", None)
    if ctx is None:
        ctx = _local.ctx = Context("cpu", 0)
    return ctx
