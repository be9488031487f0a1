"""The pass pipeline per target: a visible list of IRModule -> IRModule functions.

CPU: expand tile ops to loops, guard global accesses (tails), atomics on
global tensors as libatomic calls, run block loops serially, vectorize inner loops, bind the grid as one parallel loop;
then `tvm.compile` with LLVM (FlattenBuffer, VectorizeLoop, codegen).
"""

from __future__ import annotations

from typing import Any, Callable

from .passes.cpu_atomics import lower_cpu_atomics
from .passes.grid import bind_grid
from .passes.loops import serialize_block_loops, vectorize_inner_loops
from .passes.lower_tile_ops import lower_tile_ops
from .passes.safe_access import guard_global_access

CPU_PIPELINE: list[Callable[[Any], Any]] = [
    lower_tile_ops,
    guard_global_access,
    lower_cpu_atomics,
    serialize_block_loops,
    vectorize_inner_loops,
    bind_grid,
]


def cpu_target() -> dict[str, str]:
    import tvm

    return {"kind": "llvm", "mcpu": tvm.target.codegen.llvm_get_system_cpu()}


def lower(mod: Any, target: str = "cpu", trace: Callable[[str, Any], None] | None = None) -> Any:
    """Run the target's pipeline; `trace(pass_name, module)` sees the IR after each pass."""
    if target != "cpu":
        raise ValueError(f"no pipeline for target {target!r} yet")
    for p in CPU_PIPELINE:
        mod = p(mod)
        if trace is not None:
            trace(p.__name__, mod)
    return mod
