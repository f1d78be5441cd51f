"""Generate `mx.nd.<op>` functions and NDArray methods from the op registry (no op is written twice)."""
from __future__ import annotations

import keyword

from ..ir import registry
from .invoke import invoke


def make_function(opdef, public_name: str):
    attr_names = list(opdef.attrs)
    in_names = list(opdef.inputs)

    def fn(*args, out=None, name=None, ctx=None, **kwargs):
        if opdef.variadic:
            kwargs.pop("num_args", None)
            inputs = list(args[0]) if len(args) == 1 and isinstance(args[0], (list, tuple)) else list(args)
            extra = kwargs.pop("data", None)
            if extra is not None:
                inputs = list(extra) if isinstance(extra, (list, tuple)) else [extra]
            attrs = kwargs
        else:
            inputs, attrs, pos = [], {}, list(args)
            for n in in_names:
                if n in kwargs:
                    v = kwargs.pop(n)
                    if v is not None or opdef.inputs_fn is None:
                        inputs.append(v)
                elif pos:
                    inputs.append(pos.pop(0))
                elif opdef.inputs_fn is None:
                    raise TypeError(f"{public_name}: missing input '{n}'")
                # else: an input that attributes may drop (no_bias); the count is checked against input_names()
            if len(pos) > len(attr_names):
                raise TypeError(f"{public_name}: too many positional arguments ({len(args)})")
            for n, v in zip(attr_names, pos):
                if n in kwargs:
                    raise TypeError(f"{public_name}: got multiple values for '{n}'")
                attrs[n] = v
            attrs.update(kwargs)
        return invoke(opdef, inputs, attrs, out=out, ctx=ctx)

    fn.__name__ = public_name
    fn.__qualname__ = public_name
    sig = ", ".join([*(f"{n}" for n in in_names), *(f"{n}={a.default!r}" if not a.required else n
                                                      for n, a in opdef.attrs.items()), "out=None", "name=None"])
    fn.__doc__ = f"{public_name}({sig})\n\n{opdef.doc}"
    return fn


def make_method(opdef, public_name: str):
    f = make_function(opdef, public_name)

    def method(self, *args, **kwargs):
        return f(self, *args, **kwargs)

    method.__name__ = public_name
    method.__doc__ = f.__doc__
    return method


def populate(namespace: dict, internal: dict, ndarray_cls) -> None:
    """Fill mx.nd (public ops), mx.nd._internal (every op) and NDArray's methods."""
    for name in registry.names():
        opdef = registry.get(name)
        if keyword.iskeyword(name):
            continue
        fn = make_function(opdef, name)
        internal[name] = fn
        if not opdef.hidden and not name.startswith("_"):
            namespace.setdefault(name, fn)
    methods = [(opdef.nd_method, opdef) for opdef in registry.all_ops() if opdef.nd_method]
    methods += [(m, registry.get(op)) for m, op in registry.METHOD_OPS.items() if op in registry.names()]
    for method, opdef in methods:
        if not hasattr(ndarray_cls, method):
            setattr(ndarray_cls, method, make_method(opdef, method))
