"""Building lowerings of the `copies` kernel family: an op made of strided copies and fills.

Each piece is an elementwise-family launch (copy "a" or fill "(T)s0") whose iteration
`shape`, element strides and offsets place it inside the op's operands; kernels are
deduplicated, so concat of 100 arrays still compiles one copy kernel.
"""
from __future__ import annotations

from ..registry import Lowering
from ..types import TensorType
from .elementwise import ewise_lowering


class Pieces:
    def __init__(self):
        self.kernels: list = []
        self.pieces: list = []

    def _kernel(self, params: dict) -> int:
        if params not in self.kernels:
            self.kernels.append(params)
        return self.kernels.index(params)

    def copy(self, src_type: TensorType, dst_type: TensorType, shape, src=("in", 0), out: int = 0,
             src_strides=None, src_offset: int = 0, dst_strides=None, dst_offset: int = 0):
        """dst[region] = src[region]: `shape` is iterated; strides None mean contiguous over `shape`."""
        shape = tuple(shape)
        low = ewise_lowering("a", [src_type], dst_type, out_shape=shape, in_shapes=(shape,),
                             in_strides=(None if src_strides is None else tuple(src_strides),),
                             in_offsets=(int(src_offset),),
                             out_strides=None if dst_strides is None else tuple(dst_strides),
                             out_offset=int(dst_offset))
        self.pieces.append({"kernel": self._kernel(low.params), "args": low.args, "ins": (tuple(src),), "out": out})

    def fill(self, dst_type: TensorType, value: float, shape, out: int = 0, dst_strides=None, dst_offset: int = 0):
        shape = tuple(shape)
        low = ewise_lowering("(T)s0", [], dst_type, scalars=(value,), out_shape=shape,
                             out_strides=None if dst_strides is None else tuple(dst_strides),
                             out_offset=int(dst_offset))
        self.pieces.append({"kernel": self._kernel(low.params), "args": low.args, "ins": (), "out": out})

    def copy_bytes(self, nbytes: int, src=("in", 0), out: int = 0):
        """The whole buffer, skipped at run time when the destination is the source (in place)."""
        self.pieces.append({"copy_bytes": int(nbytes), "src": tuple(src), "out": out})

    def lowering(self) -> Lowering:
        return Lowering("copies", {"kernels": tuple(self.kernels)}, {"pieces": tuple(self.pieces)})
