"""The pass pipeline per target: a visible list of IRModule -> IRModule functions.

CPU: T.ws roles in program order and mbarriers as checked per-block state, expand tile ops to loops, guard global accesses (tails), atomics on
global tensors as libatomic calls, run block loops serially, vectorize inner loops, bind the grid as one parallel loop, move let-bound bfloat16 values into one-element cells
(TVM's BF16ComputeLegalize does not rewrite `Bind`s);
then `tvm.compile` with LLVM (FlattenBuffer, VectorizeLoop, codegen; `compile_cpu` leaves out TVM's
CompactBufferAllocation, see there).

CUDA (`passes/cuda_threads.py`, `passes/cuda_copies.py`, `passes/cuda_mma.py`): a `threadIdx.x` loop per
block, 16-byte global -> shared copies (cp.async pipelines with versioned buffers in `T.Pipelined`), fragments with a
thread layout into registers (gemm accumulators in the mma.sync layout, gemms on tensor cores), the other
shared and fragment buffers into one dynamic shared-memory arena, tile ops to element nests with parallel element loops, guard global accesses, each parallel nest
spread over the threads, atomics as `atomicAdd`, barriers around
shared-memory work, remaining loops serial, let-bound bfloat16 values into cells, XOR-swizzled layouts for
the shared tiles ldmatrix and 16-byte copies use, helper pointers as `tvm_access_ptr`; then
`cuda_codegen.generate` runs TVM's passes (listed there) and its CUDA code generator.
"""

from __future__ import annotations

from typing import Any, Callable

from .passes.barriers import lower_barriers
from .passes.bf16_lets import spill_bf16_lets
from .passes.cpu_atomics import lower_cpu_atomics
from .passes.cuda_copies import shared_pointers, swizzle_shared, vectorize_copies
from .passes.cuda_mma import register_fragments
from .passes.cuda_threads import (insert_barriers, lower_cuda_atomics, lower_tile_ops_cuda, shared_arena,
                                  spread_parallel, thread_loops)
from .passes.grid import bind_grid
from .passes.loops import serialize_block_loops, vectorize_inner_loops
from .passes.lower_tile_ops import lower_tile_ops
from .passes.safe_access import guard_global_access

import threading as _threading

_COMPILE_LOCK = _threading.Lock()

CPU_PIPELINE: list[Callable[[Any], Any]] = [
    lower_barriers,
    lower_tile_ops,
    guard_global_access,
    lower_cpu_atomics,
    serialize_block_loops,
    vectorize_inner_loops,
    bind_grid,
    spill_bf16_lets,
]

CUDA_PIPELINE: list[Callable[[Any], Any]] = [
    thread_loops,
    vectorize_copies,
    register_fragments,
    shared_arena,
    lower_tile_ops_cuda,
    guard_global_access,
    spread_parallel,
    lower_cuda_atomics,
    insert_barriers,
    serialize_block_loops,
    spill_bf16_lets,
    swizzle_shared,
    shared_pointers,
]

PIPELINES = {"cpu": CPU_PIPELINE, "cuda": CUDA_PIPELINE}


def cpu_target() -> dict[str, str]:
    import tvm

    return {"kind": "llvm", "mcpu": tvm.target.codegen.llvm_get_system_cpu()}


def compile_cpu(mod: Any) -> Any:
    """`tvm.compile` of a lowered module for the host CPU, without TVM's `CompactBufferAllocation`.

    That pass narrows a buffer to the region its accesses cover, and it takes a run-time index read from
    a `T.alloc_var` cell (`A_shared[slot, ...]`, a barrier `bars[slot]`) as one fixed value wherever it is
    read: a ring of stages indexed by `slot` became a one-stage buffer whose offset reads `slot` before it
    is defined (a build failure, or with another declaration order an out-of-bounds write). Every buffer
    here already has its declared size, so the pass is replaced by an identity for this build only.
    """
    import tvm
    from tvm import s_tir

    with _COMPILE_LOCK:
        original = s_tir.transform.CompactBufferAllocation
        s_tir.transform.CompactBufferAllocation = lambda is_strict=True: tvm.transform.Sequential([])
        try:
            return tvm.compile(mod, target=cpu_target())
        finally:
            s_tir.transform.CompactBufferAllocation = original


def lower(mod: Any, target: str = "cpu", trace: Callable[[str, Any], None] | None = None) -> Any:
    """Run the target's pipeline; `trace(pass_name, module)` sees the IR after each pass."""
    if target not in PIPELINES:
        raise ValueError(f"no pipeline for target {target!r}")
    for p in PIPELINES[target]:
        mod = p(mod)
        if trace is not None:
            trace(p.__name__, mod)
    return mod
