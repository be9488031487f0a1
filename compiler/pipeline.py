"""The pass pipeline per target: a visible list of IRModule -> IRModule functions.

CPU: T.ws roles in program order and mbarriers as checked per-block state, expand tile ops to loops, guard global accesses (tails), atomics on
global tensors as libatomic calls, run block loops serially, vectorize inner loops, bind the grid as one parallel loop, move let-bound bfloat16 values into one-element cells
(TVM's BF16ComputeLegalize does not rewrite `Bind`s);
then `tvm.compile` with LLVM through our list of TVM passes (`tvm_passes("cpu")`, which leaves out TVM's
CompactBufferAllocation, see there).

CUDA (`passes/cuda_threads.py`, `passes/cuda_copies.py`, `passes/cuda_mma.py`): on TMA archs TileLang's arena
alignment of the shared tiles (`lower(..., arch=)`), a `threadIdx.x` loop per
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
from .passes.cuda_copies import plan_arena_alignment, shared_pointers, swizzle_shared, vectorize_copies
from .passes.cuda_mma import register_fragments
from .passes.cuda_roles import lower_mbarriers, role_barriers, warp_roles
from .passes.cuda_threads import (insert_barriers, lower_cuda_atomics, lower_tile_ops_cuda, shared_arena,
                                  spread_parallel, thread_loops, with_arch)
from .passes.grid import bind_grid, rasterize_blocks
from .passes.loops import serialize_block_loops, vectorize_inner_loops
from .passes.lower_tile_ops import lower_tile_ops
from .passes.safe_access import guard_global_access

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
    rasterize_blocks,
    plan_arena_alignment,
    thread_loops,
    warp_roles,
    lower_mbarriers,
    vectorize_copies,
    register_fragments,
    shared_arena,
    lower_tile_ops_cuda,
    guard_global_access,
    spread_parallel,
    lower_cuda_atomics,
    insert_barriers,
    role_barriers,
    serialize_block_loops,
    spill_bf16_lets,
    swizzle_shared,
    shared_pointers,
]

PIPELINES = {"cpu": CPU_PIPELINE, "cuda": CUDA_PIPELINE}


def cpu_target() -> dict[str, str]:
    import tvm

    return {"kind": "llvm", "mcpu": tvm.target.codegen.llvm_get_system_cpu()}


CPU_TIR_PIPELINE = "tilelsp_cpu"


def tvm_passes(target: str) -> list[Any]:
    """TVM's passes after ours, in TVM's s_tir order, restricted to what a lowered module (no sblocks)
    needs; for "cpu" (LLVM) or "cuda" (the device part then goes to TVM's CUDA code generator).

    Left out on both: TVM's CompactBufferAllocation. It narrows a buffer to the region its accesses
    cover and takes a run-time index read from a `T.alloc_var` cell (`A_shared[slot, ...]`, a barrier
    `bars[slot]`) as one fixed value wherever it is read, so a ring of stages indexed by `slot` became a
    one-stage buffer (a build failure, or an out-of-bounds write). Every buffer here already has its
    declared size. Also left out for CUDA: TVM's ThreadSync (our `insert_barriers` places the barriers),
    LoopPartition, and CommonSubexprElim (its unused variables make nvcc warn); added for CUDA:
    MergeSharedMemoryAllocations (one dynamic shared-memory arena), after our `place_arena`, which places
    the arena itself where it has TileLang's TMA alignment (sm_90/sm_90a)."""
    from tvm import s_tir, tirx

    cuda = target == "cuda"
    passes = [s_tir.transform.LowerOpaqueBlock(), tirx.transform.FlattenBuffer(),
              tirx.transform.BF16ComputeLegalize(), tirx.transform.NarrowDataType(32)]
    if not cuda:
        passes.append(s_tir.transform.LoopPartition())
    passes += [tirx.transform.VectorizeLoop(True), tirx.transform.StorageRewrite(), tirx.transform.UnrollLoop(),
               tirx.transform.StmtSimplify(), tirx.transform.RemoveNoOp()]
    if not cuda:
        passes.append(tirx.transform.CommonSubexprElim())
    passes += [tirx.transform.FP8ComputeLegalize(), tirx.transform.VerifyMemory(), tirx.transform.AnnotateEntryFunc()]
    if cuda:
        passes += [_place_arena_pass(), s_tir.transform.MergeSharedMemoryAllocations()]
    passes += [tirx.transform.SplitHostDevice(), tirx.transform.MakePackedAPI(), tirx.transform.FP8StorageLegalize(),
               tirx.transform.BF16StorageLegalize()]
    return passes


def _place_arena_pass() -> Any:
    """`passes/cuda_threads.place_arena` as a TVM pass (TileLang's arena placement where the arena has its
    alignment, on TMA archs; elsewhere it changes nothing and TVM's merging places the arena)."""
    import tvm

    from .passes.cuda_threads import place_arena

    return tvm.transform.module_pass(lambda mod, _ctx: place_arena(mod), opt_level=0, name="tilelsp.PlaceArena")


def _register_cpu_pipeline() -> None:
    import tvm
    from tvm.tirx import compilation_pipeline as tp

    if CPU_TIR_PIPELINE in tp.PIPELINE_MAP:
        return

    def factory() -> Any:
        @tvm.transform.module_pass(opt_level=0)
        def run(mod: Any, _ctx: Any) -> Any:
            return tvm.ir.transform.Sequential(tvm_passes("cpu"))(mod)

        return run, tp.finalize_host_passes, tp.finalize_device_passes

    tp.register_tir_pipeline(CPU_TIR_PIPELINE, factory)


def compile_cpu(mod: Any) -> Any:
    """`tvm.compile` of a lowered module for the host CPU with our TVM pass list (`tvm_passes("cpu")`)."""
    import tvm

    _register_cpu_pipeline()
    return tvm.compile(mod, target=cpu_target(), tir_pipeline=CPU_TIR_PIPELINE)


def lower(mod: Any, target: str = "cpu", trace: Callable[[str, Any], None] | None = None,
          arch: str | None = None) -> Any:
    """Run the target's pipeline; `trace(pass_name, module)` sees the IR after each pass.

    `arch` (CUDA only, e.g. "sm_90"): the GPU the kernel is for, recorded on each function (`tl.cuda_arch`)
    for the one pass whose result depends on it: on archs with TMA (sm_90, sm_90a) the shared-memory arena
    aligns the tiles TileLang aligns there (passes/cuda_copies.plan_arena_alignment). Without it the arena
    is the one of the archs without TMA (sm_80, sm_86, sm_89); `cuda_codegen.generate_kernel` passes it."""
    if target not in PIPELINES:
        raise ValueError(f"no pipeline for target {target!r}")
    if arch is not None:
        if target != "cuda":
            raise ValueError(f"an arch is for the cuda target, not {target!r}")
        mod = with_arch(mod, arch)
    for p in PIPELINES[target]:
        mod = p(mod)
        if trace is not None:
            trace(p.__name__, mod)
    return mod
