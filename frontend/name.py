"""mx.name: automatic names for symbols (`fullyconnected0`, `convolution1`, ...)."""
from __future__ import annotations

import threading

_local = threading.local()


class NameManager:
    """Gives each unnamed symbol `<hint><k>`, counting per hint, as MXNet 1.x does."""

    def __init__(self):
        self._counter: dict[str, int] = {}
        self._old = None

    def get(self, name, hint: str) -> str:
        if name:
            return name
        k = self._counter.get(hint, 0)
        self._counter[hint] = k + 1
        return f"{hint}{k}"

    def __enter__(self):
        self._old = current()
        _local.current = self
        return self

    def __exit__(self, *exc):
        _local.current = self._old
        return False


class Prefix(NameManager):
    """Prefix every automatic and explicit name: `with mx.name.Prefix('net_'):`."""

    def __init__(self, prefix: str):
        super().__init__()
        self._prefix = prefix

    def get(self, name, hint: str) -> str:
        return self._prefix + super().get(name, hint)


def current() -> NameManager:
    nm = getattr(_local, "current", None)
    if nm is None:
        nm = _local.current = NameManager()
    return nm
