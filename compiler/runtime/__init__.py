"""Runtimes for compiled kernels.

`cpu` builds and runs a kernel through TVM's LLVM back end (the reference executor). The CUDA loader
(`cuda`) launches a prebuilt cubin from its artifact directory and never imports TVM, so it runs on a GPU
machine that has only cuda-python or CuPy.
"""

from .cpu import Runner, _np_dtype, barrier_error, build, to_module

__all__ = ["Runner", "_np_dtype", "barrier_error", "build", "to_module"]
