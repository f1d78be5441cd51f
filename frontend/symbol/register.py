"""Generate `mx.sym.<op>` functions and Symbol methods from the op registry."""
from __future__ import annotations

import keyword

from ..ir import registry
from .symbol import Symbol, create


def make_function(opdef, public_name: str):
    attr_names = list(opdef.attrs)

    def fn(*args, name=None, attr=None, **kwargs):
        syms = [a for a in args if isinstance(a, Symbol)]
        rest = [a for a in args if not isinstance(a, Symbol)]
        if rest and len(syms) != len(args[:len(syms)]):
            raise TypeError(f"{public_name}: positional Symbols must come first")
        if opdef.variadic:
            if len(args) == 1 and isinstance(args[0], (list, tuple)):
                syms, rest = list(args[0]), []
            data = kwargs.pop("data", None)
            if data is not None:
                syms = list(data) if isinstance(data, (list, tuple)) else [data]
            kwargs.pop("num_args", None)
            input_kwargs = {}
        else:
            input_kwargs = {k: kwargs.pop(k) for k in list(kwargs) if isinstance(kwargs[k], Symbol)}
        if len(rest) > len(attr_names):
            raise TypeError(f"{public_name}: too many positional arguments")
        attrs = dict(zip(attr_names, rest))
        for k, v in kwargs.items():
            if k in attrs:
                raise TypeError(f"{public_name}: got multiple values for '{k}'")
            attrs[k] = v
        unknown = [k for k in attrs if k not in opdef.attrs]
        if unknown:
            raise TypeError(f"{public_name}: unknown argument(s) {unknown}; attributes are {attr_names}, "
                            f"inputs are {list(opdef.inputs)}")
        return create(opdef.name, syms, attrs, name=name, attr=attr, input_kwargs=input_kwargs)

    fn.__name__ = public_name
    fn.__doc__ = f"{public_name}: symbolic form of the {opdef.name} operator.\n\n{opdef.doc}"
    return fn


def populate(namespace: dict, internal: dict) -> None:
    for name in registry.names():
        if keyword.iskeyword(name):
            continue
        opdef = registry.get(name)
        fn = make_function(opdef, name)
        internal[name] = fn
        if not opdef.hidden and not name.startswith("_"):
            namespace.setdefault(name, fn)
    methods = [(opdef.nd_method, opdef) for opdef in registry.all_ops() if opdef.nd_method]
    methods += [(m, registry.get(op)) for m, op in registry.METHOD_OPS.items() if op in registry.names()]
    for method, opdef in methods:
        if not hasattr(Symbol, method):
            f = make_function(opdef, method)
            setattr(Symbol, method, lambda self, *a, _f=f, **k: _f(self, *a, **k))
