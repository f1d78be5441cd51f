"""Kernel families: one template each. A family module provides

    render(kname, params, target) -> (code, {entry name: C declaration})
    plan(kname, params, args)     -> [Launch, ...]   (which entries to call, with what)

`params` decide the source (the compile key); `args` are run-time only.
"""
import importlib

_families = {}


def get(name: str):
    mod = _families.get(name)
    if mod is None:
        try:
            mod = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as e:
            if e.name != f"{__name__}.{name}":
                raise
            raise ValueError(f"no kernel family {name!r} in codegen/families") from None
        _families[name] = mod
    return mod
