"""mx.registry: name -> class registries for serializable objects (metrics, initializers).

As in MXNet 1.x: names are case-insensitive, `create` accepts a name, an instance, a
config dict, or MXNet's JSON spellings '["name", {kwargs}]' and '{"metric": "acc", ...}'.
"""
from __future__ import annotations

import json
import warnings

_REGISTRY: dict = {}


def get_registry(base_class) -> dict:
    """A copy of the name -> class map of `base_class`."""
    return dict(_REGISTRY.setdefault(base_class, {}))


def get_register_func(base_class, nickname: str):
    registry = _REGISTRY.setdefault(base_class, {})

    def register(klass, name=None):
        if not (isinstance(klass, type) and issubclass(klass, base_class)):
            raise TypeError(f"can only register a subclass of {base_class.__name__} as a {nickname}, got {klass!r}")
        name = (name or klass.__name__).lower()
        old = registry.get(name)
        if old is not None and old is not klass:
            warnings.warn(f"new {nickname} {klass.__module__}.{klass.__name__} registered with name {name} "
                          f"overrides {old.__module__}.{old.__name__}", UserWarning, stacklevel=2)
        registry[name] = klass
        return klass

    register.__doc__ = f"Register a {nickname} class under its lower-cased name (or `name`)."
    return register


def get_alias_func(base_class, nickname: str):
    register = get_register_func(base_class, nickname)

    def alias(*aliases):
        def reg(klass):
            for name in aliases:
                register(klass, name)
            return klass
        return reg

    return alias


def get_create_func(base_class, nickname: str):
    registry = _REGISTRY.setdefault(base_class, {})

    def create(*args, **kwargs):
        if args:
            name, args = args[0], args[1:]
        elif nickname in kwargs:
            name = kwargs.pop(nickname)
        else:
            raise TypeError(f"create: the {nickname} to create is missing")
        if isinstance(name, base_class):
            if args or kwargs:
                raise ValueError(f"{nickname} is already an instance; additional arguments are invalid")
            return name
        if isinstance(name, dict):
            return create(**name)
        if not isinstance(name, str):
            raise TypeError(f"{nickname} must be a name (str), a config dict or a {base_class.__name__}, "
                            f"got {type(name).__name__}")
        if name.startswith("["):
            if args or kwargs:
                raise ValueError(f"a JSON {nickname} takes no further arguments")
            name, kwargs = json.loads(name)
            return create(name, **kwargs)
        if name.startswith("{"):
            if args or kwargs:
                raise ValueError(f"a JSON {nickname} takes no further arguments")
            return create(**json.loads(name))
        klass = registry.get(name.lower())
        if klass is None:
            raise ValueError(f"unknown {nickname} {name!r}; registered: {', '.join(sorted(registry))}")
        return klass(*args, **kwargs)

    create.__doc__ = f"Create a {nickname} from a name, a config, JSON, or return an instance as is."
    return create


__all__ = ["get_registry", "get_register_func", "get_alias_func", "get_create_func"]
