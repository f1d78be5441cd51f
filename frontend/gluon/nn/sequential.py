"""Sequential and HybridSequential: stack blocks and run them in order (MXNet 1.x)."""
from __future__ import annotations

import warnings

from ..block import Block, HybridBlock, _indent


class _Stack:
    """What both containers share: add, run in order, index/slice, len, repr."""

    def _init_stack(self):
        self._layers = []

    def add(self, *blocks):
        """Add blocks on top of the stack."""
        for block in blocks:
            self._layers.append(block)
            self.register_child(block)

    def _run(self, x, args):
        for block in self._children.values():
            x = block(x, *args)
            args = []
            if isinstance(x, (tuple, list)):
                args = x[1:]
                x = x[0]
        if args:
            x = tuple([x] + list(args))
        return x

    def __repr__(self):
        modstr = "\n".join(f"  ({key}): {_indent(repr(block), 2)}" for key, block in self._children.items())
        return f"{self.__class__.__name__}(\n{modstr}\n)"

    def __getitem__(self, key):
        layers = list(self._children.values())[key]
        if isinstance(layers, list):
            net = type(self)(prefix=self._prefix)
            with net.name_scope():
                net.add(*layers)
            return net
        return layers

    def __len__(self):
        return len(self._children)


class Sequential(_Stack, Block):
    """Stacks Blocks sequentially: `net.add(nn.Dense(10), nn.Dense(20))`."""

    def __init__(self, prefix=None, params=None):
        super().__init__(prefix=prefix, params=params)
        self._init_stack()

    def forward(self, x, *args):
        return self._run(x, args)

    def hybridize(self, active=True, **kwargs):
        if self._children and all(isinstance(c, HybridBlock) for c in self._children.values()):
            warnings.warn(f"All children of this Sequential layer '{self.prefix}' are HybridBlocks. Consider using "
                          "HybridSequential for the best performance.", stacklevel=2)
        super().hybridize(active, **kwargs)


class HybridSequential(_Stack, HybridBlock):
    """Stacks HybridBlocks sequentially; hybridizes into one compiled program."""

    def __init__(self, prefix=None, params=None):
        super().__init__(prefix=prefix, params=params)
        self._init_stack()

    def hybrid_forward(self, F, x, *args):
        return self._run(x, args)
