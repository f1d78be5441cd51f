"""The symbolic graph behind mx.sym: nodes holding an op, its attributes and input entries.

A Symbol is a list of output entries (node, index). Variables are nodes with no op.
Traversal order is NNVM's: depth-first from the outputs, inputs in order, post-order,
which fixes list_arguments' order (`data, fc1_weight, fc1_bias, ...`).
"""
from __future__ import annotations

import itertools

from ..ir import registry

_ids = itertools.count()


class SymNode:
    __slots__ = ("op", "name", "attrs", "inputs", "user_attrs", "id", "_parsed")

    def __init__(self, op, name: str, attrs: dict, inputs: list, user_attrs: dict | None = None):
        self.op = op  # OpDef, or None for a variable
        self.name = name
        self.attrs = dict(attrs)  # op parameters as given (Python values or MXNet strings)
        self.inputs = list(inputs)  # [(SymNode, output index)]
        self.user_attrs = dict(user_attrs or {})  # __shape__, __lr_mult__, ctx_group, ...
        self.id = next(_ids)
        self._parsed = None

    @property
    def is_variable(self) -> bool:
        return self.op is None

    @property
    def parsed(self) -> dict:
        if self._parsed is None:
            try:
                self._parsed = self.op.parse_attrs({k: v for k, v in self.attrs.items()})
            except ValueError as e:
                raise type(e)(f"{e} (node '{self.name}')") from None
        return self._parsed

    def num_outputs(self) -> int:
        """Outputs as MXNet counts them (in-place aux updates are not outputs)."""
        if self.op is None:
            return 1
        return self.op.outputs_for(self.parsed) - len(self.op.updates)

    def num_visible(self) -> int:
        return 1 if self.op is None else self.op.visible_outputs(self.parsed)

    def output_name(self, k: int) -> str:
        if self.op is None:
            return self.name
        names = self.op.output_names
        names = names(self.parsed) if callable(names) else names
        if k < len(names) and not (len(names) == 1 and self.num_outputs() > 1):
            return f"{self.name}_{names[k]}"
        return f"{self.name}_output{k}"

    def input_names(self) -> tuple:
        return self.op.input_names(self.parsed)

    def aux_positions(self) -> set:
        names = self.input_names()
        return {k for k, n in enumerate(names) if n in self.op.aux_inputs}


def topo_nodes(entries) -> list[SymNode]:
    """Nodes reachable from `entries` in NNVM's DFS post-order (iterative: deep nets are fine)."""
    order, seen = [], set()
    for root, _ in entries:
        if root.id in seen:
            continue
        stack = [(root, False)]
        while stack:
            node, done = stack.pop()
            if done:
                order.append(node)
                continue
            if node.id in seen:
                continue
            seen.add(node.id)
            stack.append((node, True))
            for child, _ in reversed(node.inputs):
                if child.id not in seen:
                    stack.append((child, False))
    return order


def aux_variable_ids(nodes) -> set:
    """ids of variables fed into an auxiliary-state input (BatchNorm's moving_mean, ...)."""
    aux = set()
    for n in nodes:
        if n.op is not None and n.op.aux_inputs:
            for k in n.aux_positions():
                if k < len(n.inputs):
                    aux.add(n.inputs[k][0].id)
    return aux


def get_op(name: str):
    return registry.get(name)
