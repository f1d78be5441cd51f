"""mxcc.ir: the SSA graph, tensor types and the op registry. Imports nothing else of mxcc."""
from .attrs import Attr, AttrError
from .errors import MXNetError
from .graph import Graph, Node, Value, VerifyError, print_graph, topo_order, verify
from .registry import Lowering, OpDef, ShapeError, all_ops, get, register
from .types import DEFAULT_DTYPE, DTYPE_BY_FLAG, DTYPES, DType, TensorType, dtype_name

__all__ = [
    "Attr", "AttrError", "MXNetError", "Graph", "Node", "Value", "VerifyError", "print_graph", "topo_order", "verify",
    "Lowering", "OpDef", "ShapeError", "all_ops", "get", "register",
    "DEFAULT_DTYPE", "DTYPE_BY_FLAG", "DTYPES", "DType", "TensorType", "dtype_name",
]
