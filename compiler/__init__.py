"""The tilelsp compiler for TileLang tile kernels, built on apache-tvm 0.27 (`tvm.tirx`).

front end (`loader`, `frontend/`) -> tile-level TIR (`tile_ir`) -> passes
(`passes/`, composed per target in `pipeline`) -> LLVM build and NumPy runner
(`runtime`). `tilec` (`cli`) is the command line. See docs/compiler.md.

Importing this package is cheap: TVM is imported only by the functions that
need it (`load`, `compile`), never at package import.
"""

from __future__ import annotations

from typing import Any

from .errors import CompileError

__all__ = ["CompileError", "compile", "load"]


def load(path: Any) -> Any:
    """Run a TileLang file with `tilelang` mapped to this compiler; returns a `loader.LoadedFile`."""
    from .loader import load as _load

    return _load(path)


def compile(prim_func: Any, target: str = "cpu", out_idx: Any = None) -> Any:  # noqa: A001
    """Compile a traced kernel (`KernelDef`) for `target`; returns a callable on NumPy arrays."""
    if target != "cpu":
        from .errors import NotSupported

        raise NotSupported(f"target {target!r}: only 'cpu' is built so far (CUDA is the next issue)")
    from .frontend.jit import CompiledKernel

    return CompiledKernel(prim_func, out_idx)
