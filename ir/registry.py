"""The op registry: one definition per op.

An OpDef holds everything any layer needs to know about an op: its inputs, its
typed attributes, type inference, its gradient rule (IR ops, so autodiff is a
graph transform) and its lowering (which kernel family, with which parameters).
Frontends generate `mx.nd.X` / `mx.sym.X` from these definitions.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from .attrs import Attr, AttrError, parse_attrs
from .errors import MXNetError, ShapeError  # noqa: F401  (re-exported)
from .types import TensorType


@dataclass
class Lowering:
    """How a node becomes a kernel: a kernel family (one template) and its parameters.

    `params` holds only validated ints, floats, dtype names and expression snippets
    chosen by the op definitions, never strings taken from a model file.
    """

    family: str
    params: dict  # decides the generated source: part of the compile key
    args: dict = field(default_factory=dict)  # run-time only (shapes, strides, scalars): no recompile

    def key(self):
        return (self.family, _freeze(self.params))


def _freeze(v):
    if isinstance(v, dict):
        return tuple(sorted((k, _freeze(x)) for k, x in v.items()))
    if isinstance(v, (list, tuple)):
        return tuple(_freeze(x) for x in v)
    return v


@dataclass
class OpDef:
    name: str
    inputs: tuple  # input names; a single "*data" means variadic
    infer: Callable  # (in_types: list[TensorType], attrs: dict) -> list[TensorType]
    lower: Callable | None  # (in_types, out_types, attrs) -> Lowering
    attrs: dict = field(default_factory=dict)
    grad: Callable | None = None  # (builder, node, out_grads) -> list of input grads
    num_outputs: int | Callable = 1  # or attrs -> int (split's depends on its num_outputs)
    aliases: tuple = ()
    doc: str = ""
    nd_method: str | None = None  # exposed as NDArray.<nd_method> as well
    differentiable: bool = True
    hidden: bool = False  # internal op: mx.nd._internal only
    # Symbol-level structure (MXNet's list_arguments / list_auxiliary_states / list_outputs):
    aux_inputs: tuple = ()  # names of inputs that are auxiliary states (BatchNorm's moving_mean, ...)
    updates: dict = field(default_factory=dict)  # output index -> input index it is the new value of
    num_visible_outputs: int | Callable | None = None  # outputs a Symbol shows (None = all but updates)
    output_names: tuple | Callable = ("output",)  # suffixes of the outputs, e.g. ("output", "mean", "var")
    train_dependent: bool = False  # behaves differently in training: gets a bool attr "_train"
    inputs_fn: Callable | None = None  # attrs -> input names, when they depend on attrs (no_bias drops "bias")
    # Symbol-level shape inference of parameters: (in_types with None for unknown, attrs) ->
    # list of TensorType | None per input (e.g. FullyConnected's weight from data and num_hidden)
    infer_args: Callable | None = None

    def __post_init__(self):
        if self.train_dependent and "_train" not in self.attrs:
            self.attrs = {**self.attrs, "_train": Attr("bool", False, doc="set by the executor/autograd")}

    @property
    def variadic(self) -> bool:
        return len(self.inputs) == 1 and self.inputs[0].startswith("*")

    def input_names(self, attrs: dict) -> tuple:
        """The op's input names for these parsed attrs (MXNet's ListArguments of one node)."""
        return tuple(self.inputs_fn(attrs)) if self.inputs_fn else tuple(self.inputs)

    def outputs_for(self, attrs: dict) -> int:
        """How many outputs a node of this op with these parsed attrs has."""
        n = self.num_outputs
        return n(attrs) if callable(n) else n

    def visible_outputs(self, attrs: dict) -> int:
        """How many outputs a Symbol of this op exposes (MXNet's NumVisibleOutputs)."""
        n = self.num_visible_outputs
        if n is None:
            return self.outputs_for(attrs) - len(self.updates)
        return n(attrs) if callable(n) else n

    def parse_attrs(self, given: dict) -> dict:
        return parse_attrs(self.name, self.attrs, given)

    def infer_types(self, in_types: list[TensorType], attrs: dict) -> list[TensorType]:
        names = self.input_names(attrs)
        if not self.variadic and len(in_types) != len(names):
            raise ShapeError(
                f"{self.name}: expected {len(names)} input(s) ({', '.join(names)}), got {len(in_types)}"
            )
        return self.infer(in_types, attrs)


_REGISTRY: dict[str, OpDef] = {}

# MXNet's NDArray / Symbol methods that call an op whose own `nd_method` is another name (or unset);
# frontends add each one unless the class already defines it (NDArray.reshape makes views)
METHOD_OPS = {"reshape": "Reshape", "astype": "Cast", "zeros_like": "zeros_like", "ones_like": "ones_like",
              "broadcast_axes": "broadcast_axis", "slice_like": "slice_like", "reshape_like": "reshape_like"}


def register(op: OpDef) -> OpDef:
    for n in (op.name, *op.aliases):
        if n in _REGISTRY:
            raise KeyError(f"op {n!r} registered twice")
        _REGISTRY[n] = op
    return op


def get(name: str) -> OpDef:
    _load()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown operator {name!r}") from None


def all_ops() -> list[OpDef]:
    """Every distinct op definition (aliases resolved)."""
    _load()
    seen, out = set(), []
    for op in _REGISTRY.values():
        if id(op) not in seen:
            seen.add(id(op))
            out.append(op)
    return out


def populate_prefixed(ns: dict, prefix: str, make_function) -> list[str]:
    """Fill a frontend namespace (mx.nd.linalg, mx.sym.image, ...) with the public ops named
    `prefix + name`, under `name`, made by that frontend's `make_function`; returns the names."""
    out = []
    for name in names():
        opdef = get(name)
        if name.startswith(prefix) and not opdef.hidden:
            public = name[len(prefix):]
            ns.setdefault(public, make_function(opdef, public))
            out.append(public)
    return sorted(out)


def names() -> list[str]:
    _load()
    return list(_REGISTRY)


_loaded = False


def _load():
    global _loaded
    if not _loaded:
        _loaded = True
        from . import ops  # noqa: F401  (registers every family)


__all__ = ["Attr", "AttrError", "OpDef", "Lowering", "ShapeError", "register", "get", "all_ops", "names", "TensorType"]
