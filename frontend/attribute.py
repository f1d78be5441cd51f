"""mx.AttrScope: attributes attached to every symbol created inside the scope."""
from __future__ import annotations

import threading

_local = threading.local()


class AttrScope:
    def __init__(self, **kwargs):
        for k, v in kwargs.items():
            if not isinstance(v, str):
                raise ValueError(f"AttrScope: attribute values must be strings, got {k}={v!r}")
        self._attr = kwargs
        self._old = None

    def get(self, attr: dict | None) -> dict:
        out = dict(self._attr)
        out.update(attr or {})
        return out

    def __enter__(self):
        self._old = current()
        merged = AttrScope(**self._old._attr)
        merged._attr.update(self._attr)
        _local.current = merged
        return self

    def __exit__(self, *exc):
        _local.current = self._old
        return False


def current() -> AttrScope:
    s = getattr(_local, "current", None)
    if s is None:
        s = _local.current = AttrScope()
    return s
