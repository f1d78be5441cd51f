"""mxcc.codegen: lowering IR to kernels and emitting C (templates/c) or CUDA (templates/cuda)."""
from .emit import GraphProgram, emit, emit_kernel, kernel_name, lower_node, plan_kernel
from .program import Buf, Launch, Meta, Program

__all__ = ["GraphProgram", "emit", "emit_kernel", "kernel_name", "lower_node", "plan_kernel",
           "Buf", "Launch", "Meta", "Program"]
