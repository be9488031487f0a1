"""The catalog of the ``T.*`` surface of TileLang 0.1.15 (``import tilelang.language as T``).

One entry per name of ``tilelang.language.__all__`` in 0.1.15 (713 names): what
kind of thing it is, its parameters with their defaults exactly as 0.1.15
declares them, and a one-line description. The interpreter, hover, completion,
signature help and the compiler front end all read this table; nothing here
imports TileLang or reads files.

Conventions:

- ``Param.default`` is the Python source of the default (``"None"``,
  ``"'shared.dyn'"``, ``"-1"``); ``None`` means the parameter is required.
  Defaults that are dtype objects are written ``T.float32``; the lane masks
  of the warp builtins are written ``T.uint32(4294967295)``; ``MISSING`` is
  TVM's "not given" sentinel (only ``PrimExpr``'s ``span``).
- ``Param.kind``: ``positional`` (positional-or-keyword), ``keyword``
  (keyword-only), ``varargs`` (``*args``) or ``varkw`` (``**kwargs``).
- The allocation family follows the project's seed reference
  (``shared/seed/tilelang.language.allocate.txt``), kept verbatim in
  ``Entry.reference``. ``alloc_var`` is recorded as the seed states it,
  ``alloc_var(dtype, scope='local.var')``, plus the keyword-only ``init=None``
  that 0.1.15 added. (0.1.15 itself declares ``alloc_var(dtype, *args,
  scope='local.var', init=None)`` and reads a non-string second positional
  argument as ``init``.)
- ``device_assert`` is a macro object in 0.1.15 whose own signature is
  ``(*args, **kwargs)``; the entry records the wrapped function's parameters,
  ``(condition, msg='', no_stack_info=False)``.
- ``Entry.writes`` / ``Entry.reads`` are indices into ``params`` of the buffer
  arguments an operation writes / reads. ``gemm`` lists C among the reads
  because it accumulates (``clear_accum=True`` makes it write-only);
  ``reduce_*`` with ``clear=False`` also reads ``out``; ``cumsum`` / ``cummax``
  write ``src`` in place when ``dst`` is omitted; ``fill`` / ``clear`` read no
  buffer.
- Categories: ``launch`` (kernel frames and launch queries), ``alloc``,
  ``tile_op`` (block-wide tile operators; TileLang rejects them inside
  ``T.Parallel`` except the names in ``PARALLEL_OK``), ``loop``, ``math``
  (scalar/elementwise expressions), ``dtype``, ``sync`` (barriers, fences,
  waits), ``annotation``, ``intrinsic`` (hardware and TVM builtins),
  ``type`` (classes, enums, IR node types), ``param_type`` (kernel parameter
  annotations and symbolic sizes), ``control`` (statement frames and control
  flow) and ``other``.

The data lives in ``_TABLE`` (one ``name|category|parameters|doc`` line per
name), parsed once at import, plus small dicts for scopes, buffer accesses and
the seed text: a text block compiles far faster than ~700 constructor calls,
which matters when bytecode is not cached.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "ATTRIBUTE_MEMBERS",
    "CATALOG",
    "CATEGORIES",
    "DTYPE_ALIASES",
    "Entry",
    "NOT_CALLABLE",
    "PARALLEL_OK",
    "Param",
    "TILELANG_API_VERSION",
    "TILE_OPS",
    "bind",
    "lookup",
    "signature",
]

#: The TileLang release whose ``tilelang.language`` surface this catalog records (and whose shared-memory
#: sizing the analyzer reproduces). ``tilelint --version`` prints it.
TILELANG_API_VERSION = "0.1.15"

CATEGORIES: tuple[str, ...] = (
    "launch",
    "alloc",
    "tile_op",
    "loop",
    "math",
    "dtype",
    "sync",
    "annotation",
    "intrinsic",
    "type",
    "param_type",
    "control",
    "other",
)


@dataclass(frozen=True)
class Param:
    name: str
    default: str | None = None  # Python source of the default; None = required
    kind: str = "positional"  # "positional", "keyword", "varargs" or "varkw"


@dataclass(frozen=True)
class Entry:
    name: str
    category: str
    params: tuple[Param, ...]
    doc: str  # one line
    default_scope: str | None = None  # allocations and buffer parameter types
    reference: str | None = None  # seed text, allocation family only
    writes: tuple[int, ...] = ()  # indices into params of buffers written
    reads: tuple[int, ...] = ()  # indices into params of buffers read


# One line per name: name|category|parameters as written in a def (no
# annotations)|one-line doc.  Lines starting with '#' are comments.
_TABLE = """
# ---- launch
block_rank_in_cluster|launch||Linear rank of this thread block inside its cluster (PTX %cluster_ctarank, sm_90+).
ClusterKernel|launch|*blocks, cluster_dims, threads=None, prelude=None|Kernel launch frame with a thread-block cluster (sm_90+): cluster_dims is required (keyword-only); threads defaults to 128.
CUDASourceCodeKernel|launch|*blocks, threads=None, source_code_or_path, entry_name='main_kernel', cluster_dims=None, prelude=None|Launch a hand-written CUDA kernel from source text or a .cu path (keyword-only source_code_or_path, entry_name defaults to 'main_kernel').
env_thread|launch|thread_tag, dtype='int32'|Low-level TIR: declare a thread-environment IterVar for a thread tag such as 'blockIdx.x'.
get_block_binding|launch|dim=0|Block index variable of the enclosing T.Kernel along dim (0=x, 1=y, 2=z).
get_block_bindings|launch||All block index variables of the enclosing T.Kernel (x, y, z).
get_block_extent|launch|dim=0|Grid extent of the enclosing T.Kernel along dim (a compile-time int).
get_block_extents|launch||Grid extents of the enclosing T.Kernel along x, y and z.
get_cluster_dims|launch||Cluster shape [x, y, z] of the current launch; [1, 1, 1] without clusters.
get_cluster_extent|launch|dim=0|Number of clusters in the grid along dim.
get_cluster_extents|launch||Number of clusters in the grid along x, y and z.
get_cluster_id|launch|dim=0|Index of the current cluster along dim (block index // cluster size on that axis).
get_cluster_ids|launch||Index of the current cluster along every launched grid axis.
get_cluster_size|launch||Number of thread blocks per cluster in the current launch.
get_thread_binding|launch|dim=0|Thread index variable of the enclosing T.Kernel along dim (0=threadIdx.x).
get_thread_bindings|launch||All thread index variables of the enclosing T.Kernel (x, y, z).
get_thread_extent|launch|dim=0|Block size of the enclosing T.Kernel along dim (the threads= value).
get_thread_extents|launch||Block sizes of the enclosing T.Kernel along x, y and z.
Kernel|launch|*blocks, threads=None, prelude=None, cluster_dims=None|Open the kernel launch frame over 1-3 grid extents (*blocks); threads defaults to 128 (an int or up to 3 dims); binds one block var per grid dim (a single var for a 1-D grid).
launch_thread|launch|thread, extent|Low-level TIR thread launch: bind an IterVar or thread tag (e.g. 'threadIdx.x') to an extent.
# ---- alloc
alloc_barrier|alloc|arrive_count|Allocate mbarrier(s) in 'shared.barrier' (uint64), one per arrive_count entry (an int or a list); needs sm_90+.
alloc_buffer|alloc|shape, dtype='float32', scope='global', annotations=None|Raw TVM statement-level buffer allocation (scope 'global' by default); prefer the T.alloc_* helpers.
alloc_cluster_barrier|alloc|arrive_count|Allocate cluster-scope mbarrier(s) in 'shared.cluster_barrier', one per arrive_count entry (an int or a list).
alloc_descriptor|alloc|kind='wgmma', dtype=T.uint64|Allocate a one-element MMA descriptor in 'local.descriptor.<kind>'; kind is 'wgmma' (default), 'tcgen05_smem' or 'tcgen05_instr'; dtype defaults to uint64.
alloc_fragment|alloc|shape, dtype, scope='local.fragment'|Allocate a register tile spread over the block's threads (scope 'local.fragment'); the layout is inferred, e.g. a gemm accumulator.
alloc_global|alloc|shape, dtype, scope='global'|Allocate a global-memory workspace buffer (scope 'global'), provided by the runtime rather than by the caller.
alloc_local|alloc|shape, dtype, scope='local'|Allocate a thread-private array in registers/local memory (scope 'local'); must not be indexed by a T.Parallel variable.
alloc_reducer|alloc|shape, dtype, op='sum', replication=None|Allocate a reducer handle in 'local.reducer' with op sum|max|min|bitand|bitor|bitxor (default 'sum'); replication= selects the deprecated fragment reducer.
alloc_shared|alloc|shape, dtype, scope='shared.dyn'|Allocate a shared-memory tile; scope defaults to 'shared.dyn' (merged dynamic arena); a bool dtype is forced to static 'shared'.
alloc_tcgen05_instr_desc|alloc|dtype=T.uint32|Short alias of alloc_tcgen05_instruction_desc: a tcgen05 instruction descriptor, uint32 by default.
alloc_tcgen05_instruction_desc|alloc|dtype=T.uint32|Allocate a tcgen05 instruction descriptor (alloc_descriptor('tcgen05_instr'), uint32 by default).
alloc_tcgen05_smem_desc|alloc|dtype=T.uint64|Allocate a tcgen05 shared-memory descriptor (alloc_descriptor('tcgen05_smem'), uint64 by default).
alloc_tmem|alloc|shape, dtype|Allocate a Blackwell tensor-memory (TMEM) buffer in 'shared.tmem' for tcgen05 MMA; rank >= 2, 128 lanes x up to 512 columns.
alloc_var|alloc|dtype, scope='local.var', *, init=None|Allocate a one-element scalar variable (scope 'local.var'); 0.1.15 addition: keyword-only init= sets the initial value (0.1.15 also reads a non-string 2nd positional as init).
alloc_wgmma_desc|alloc|dtype=T.uint64|Allocate a WGMMA shared-memory descriptor (alloc_descriptor('wgmma'), uint64 by default).
allocate|alloc|shape, dtype='float32', scope='global', annotations=None|Raw TVM statement-level buffer allocation, same as alloc_buffer (scope 'global' by default).
empty|alloc|*shape, dtype=T.float32|Declare an output tensor of an eager-mode kernel (shape given as *shape or one tuple; dtype keyword-only, float32 by default); return it from the function.
sblock_alloc_buffer|alloc|shape, dtype='float32', data=None, strides=None, elem_offset=None, scope='global', align=-1, offset_factor=0, buffer_type='default', axis_separators=None|Raw TVM block-level buffer allocation that the T.alloc_* helpers call (scope 'global' by default).
# ---- tile_op
async_copy|tile_op|src, dst, *, coalesced_width=None, annotations=None, loop_layout=None|Explicit asynchronous tile copy src -> dst lowered through cp.async, with no implicit wait.
atomic_add|tile_op|dst, value, memory_order=None, return_prev=False, use_tma=False, annotations=None|Atomic dst += value on a scalar element or a whole region (tile-wide atomic); return_prev=True returns the old value; allowed inside T.Parallel.
atomic_addx2|tile_op|dst, value, return_prev=False|Atomic add of two packed lanes at once (e.g. half2/bfloat162) from value into dst.
atomic_addx4|tile_op|dst, value, return_prev=False|Atomic add of four packed lanes at once (e.g. float4) from value into dst.
atomic_load|tile_op|src, memory_order='seq_cst'|Atomic load of a scalar element of src with memory_order (default 'seq_cst').
atomic_max|tile_op|dst, value, memory_order=None, return_prev=False, annotations=None|Atomic dst = max(dst, value) on an element or region; allowed inside T.Parallel.
atomic_min|tile_op|dst, value, memory_order=None, return_prev=False, annotations=None|Atomic dst = min(dst, value) on an element or region; allowed inside T.Parallel.
atomic_or|tile_op|dst, value, memory_order=None|Atomic bitwise OR of value into an integer dst element.
atomic_store|tile_op|dst, src, memory_order='seq_cst'|Atomic store of the scalar src into the dst element with memory_order (default 'seq_cst').
c2d_im2col|tile_op|img, col, nhw_step, c_step, kernel, stride, dilation, pad, eviction_policy=None, annotations=None|Deprecated alias of T.im2col.
clear|tile_op|buffer, annotations=None|Zero a buffer or region (fill with 0), e.g. a gemm accumulator before the K loop.
copy|tile_op|src, dst, *, coalesced_width=None, disable_tma=False, eviction_policy=None, prefer_instruction=None, annotations=None, loop_layout=None|Tile copy src -> dst; each side is a buffer, a region A[a:b, c:d] or a start corner A[i, j] whose extent comes from the other side; no broadcast; lowered to TMA, cp.async, ldmatrix or a SIMT loop.
copy_cluster|tile_op|src, dst, *, dst_block=None, cluster_mask=None, remote_barrier=None, eviction_policy=None, coalesced_width=None, annotations=None, loop_layout=None|Cluster-aware tile copy src -> dst: TMA multicast to the blocks in cluster_mask or a block-to-block shared-memory copy (dst_block).
cummax|tile_op|src, dst=None, dim=0, reverse=False, annotations=None|Running maximum of src along dim (default 0) into dst; with dst omitted it works in place on src.
cumsum|tile_op|src, dst=None, dim=0, reverse=False, annotations=None|Inclusive prefix sum of src along dim (default 0) into dst; with dst omitted it works in place on src; reverse=True scans backwards.
fill|tile_op|buffer, value, annotations=None|Set every element of a buffer or region to value.
finalize_reducer|tile_op|reducer, dst=None, batch=1, annotations=None|Close a reducer epoch: combine the threads' partials and write the result into dst (with dst omitted: deprecated in-place v1 form).
gemm|tile_op|A, B, C, transpose_A=False, transpose_B=False, policy=GemmWarpPolicy.Square, clear_accum=False, mbar=None, annotations=None|Tile matrix multiply-accumulate C += A @ B (A is (M,K), or (K,M) with transpose_A; B (K,N), or (N,K) with transpose_B); C is a fragment; policy defaults to GemmWarpPolicy.Square; clear_accum=True overwrites C.
gemm_blockscaled|tile_op|A, B, C, SFA, SFB, transpose_A=False, transpose_B=False, policy=GemmWarpPolicy.Square, clear_accum=False, *, k_start, sf_a_granularity_k, sf_b_granularity_k, mbar=None, use_2cta=False, sf_layout=None, annotations=None|Block-scaled gemm C (+)= (A*SFA) @ (B*SFB) for MXFP8/NVFP4 operands; k_start and the scale granularities are keyword-only.
gemm_sp|tile_op|A_sparse, E, B, C, transpose_A=False, transpose_E=False, transpose_B=False, policy=GemmWarpPolicy.Square, clear_accum=False, wg_wait=0, annotations=None|2:4 structured-sparse gemm C += A_sparse @ B using metadata E (transpose_E flips E's layout).
im2col|tile_op|img, col, nhw_step, c_step, kernel, stride, dilation, pad, eviction_policy=None, annotations=None|Gather an im2col tile for a 2-D convolution from img into col (kernel, stride, dilation, pad), lowered to TMA im2col.
mma_gemm_blockscaled|tile_op|A, B, C, SFA, SFB, transpose_A=False, transpose_B=False, policy=GemmWarpPolicy.Square, clear_accum=False, *, k_start, sf_a_granularity_k, sf_b_granularity_k, sf_layout=None|Explicit sm_120 warp-level block-scaled MMA gemm C (+)= (A*SFA) @ (B*SFB).
reduce|tile_op|buffer, out, reduce_type, dim, clear, batch=1, annotations=None|Generic reduction of buffer along dim into out, reduce_type names the combiner; dim and clear are required here.
reduce_absmax|tile_op|buffer, out, dim=-1, clear=True, batch=1, nan_propagate=False, annotations=None|Reduce max(|x|) of buffer along dim (default -1) into out (buffer's shape without dim); clear=True overwrites out.
reduce_abssum|tile_op|buffer, out, dim=-1, batch=1, annotations=None|Reduce sum(|x|) of buffer along dim (default -1) into out; 0.1.15 has no clear parameter here.
reduce_bitand|tile_op|buffer, out, dim=-1, clear=True, batch=1, annotations=None|Bitwise-AND reduce an integer buffer along dim (default -1) into out; clear=True overwrites out.
reduce_bitor|tile_op|buffer, out, dim=-1, clear=True, batch=1, annotations=None|Bitwise-OR reduce an integer buffer along dim (default -1) into out; clear=True overwrites out.
reduce_bitxor|tile_op|buffer, out, dim=-1, clear=True, batch=1, annotations=None|Bitwise-XOR reduce an integer buffer along dim (default -1) into out; clear=True overwrites out.
reduce_max|tile_op|buffer, out, dim=-1, clear=True, batch=1, nan_propagate=False, annotations=None|Max-reduce buffer along dim (default -1) into out, which has buffer's shape without dim; clear=True (default) overwrites out, False folds into it.
reduce_min|tile_op|buffer, out, dim=-1, clear=True, batch=1, nan_propagate=False, annotations=None|Min-reduce buffer along dim (default -1) into out (buffer's shape without dim); clear=True overwrites out.
reduce_sum|tile_op|buffer, out, dim=-1, clear=True, batch=1, annotations=None|Sum-reduce buffer along dim (default -1) into out (buffer's shape without dim); clear=True overwrites out, False accumulates.
tcgen05_gemm|tile_op|A, B, C, transpose_A=False, transpose_B=False, policy=GemmWarpPolicy.Square, clear_accum=False, *, mbar, use_2cta=False, annotations=None|Explicit Blackwell tcgen05 gemm into a TMEM accumulator C; keyword-only mbar is required and is signalled on completion (no implicit wait).
tcgen05_gemm_blockscaled|tile_op|A, B, C, SFA_tmem, SFB_tmem, transpose_A=False, transpose_B=False, clear_accum=False, wg_wait=0, mbar=None, *, k_start, sf_a_granularity_k, sf_b_granularity_k, use_2cta=False|Explicit Blackwell block-scaled tcgen05 gemm with scale factors in TMEM (SFA_tmem, SFB_tmem); no implicit wait.
tcgen05_gemm_sp|tile_op|A_sparse, E, B, C, transpose_A=False, transpose_E=False, transpose_B=False, policy=GemmWarpPolicy.Square, clear_accum=False, annotations=None|Explicit Blackwell tcgen05 2:4 sparse gemm, no implicit wait.
tcgen05_mma|tile_op|A, B, C, transpose_A=False, transpose_B=False, policy=GemmWarpPolicy.Square, clear_accum=False, *, mbar, use_2cta=False, annotations=None|Explicit Blackwell tcgen05 gemm, same as tcgen05_gemm: keyword-only mbar is required; no implicit wait.
tcgen05_mma_blockscaled|tile_op|A, B, C, SFA_tmem, SFB_tmem, transpose_A=False, transpose_B=False, clear_accum=False, wg_wait=0, mbar=None, *, k_start, sf_a_granularity_k, sf_b_granularity_k, use_2cta=False|Explicit Blackwell block-scaled tcgen05 gemm, same as tcgen05_gemm_blockscaled.
tma_copy|tile_op|src, dst, *, barrier=None, cluster_mask=None, leader_scope_threads=None, eviction_policy=None, annotations=None|Issue only the TMA load half (expect-tx + load) of a copy src -> dst; the caller waits on the mbarrier given as barrier=.
tma_gather4|tile_op|src, dst, col, rows, *, barrier, swizzle=None, eviction_policy=None, annotations=None|Blackwell TMA gather4: load 4 rows (given by rows, starting at column col) of src into dst; barrier is keyword-only and required.
tma_scatter4|tile_op|src, dst, col, rows, *, swizzle=None, eviction_policy=None, annotations=None|Blackwell TMA scatter4: store 4 rows of src into dst at the given rows, starting at column col.
transpose|tile_op|src, dst, annotations=None|Transpose a 2-D shared-memory tile: dst[j, i] = src[i, j].
wgmma_gemm|tile_op|A, B, C, transpose_A=False, transpose_B=False, policy=GemmWarpPolicy.Square, clear_accum=False, annotations=None|Explicit Hopper WGMMA gemm (C += A @ B) with no implicit wait and no fallback; pair it with T.wait_wgmma.
wgmma_gemm_sp|tile_op|A_sparse, E, B, C, transpose_A=False, transpose_E=False, transpose_B=False, policy=GemmWarpPolicy.Square, clear_accum=False, annotations=None|Explicit Hopper WGMMA 2:4 sparse gemm, no implicit wait.
wgmma_mma|tile_op|A, B, C, transpose_A=False, transpose_B=False, policy=GemmWarpPolicy.Square, clear_accum=False, annotations=None|Explicit Hopper WGMMA gemm (C += A @ B), same as wgmma_gemm: asynchronous, no implicit wait.
# ---- loop
grid|loop|*extents|Nested serial loops over *extents, one var per extent (TVM's grid).
Parallel|loop|*extents, coalesced_width=None, loop_layout=None, prefer_async=None, annotations=None|Nested parallel loops over *extents, one var per extent; the iterations are spread over the block's threads by layout inference; no tile op or T.Pipelined inside.
parallel|loop|start, stop=None, *, annotations=None|TVM's single parallel For loop (start, stop); in kernels prefer T.Parallel.
Persistent|loop|domain, wave_size, index, group_size=8, num_stages=0, *, annotations=None|Persistent-kernel loop over a tile domain: each block walks tiles in waves of wave_size from index, grouped by group_size (default 8); num_stages=0 means no pipelining.
Pipelined|loop|start, stop=None, num_stages=0, order=None, stage=None, annotations=None|Serial loop from start to stop (or 0..start) software-pipelined with num_stages (0 = no pipelining); copies in the body get num_stages buffer versions; order/stage give a manual schedule.
Serial|loop|start, stop=None, step=None, *, annotations=None|Alias of T.serial: a plain sequential loop.
serial|loop|start, stop=None, step=None, *, annotations=None|Plain sequential loop: serial(stop) or serial(start, stop, step); Python range() inside a kernel maps here.
thread_binding|loop|start, stop=None, thread=None, *, annotations=None|Loop bound to a GPU thread axis (thread='threadIdx.x' etc.) over start..stop.
Unroll|loop|start, stop=None, step=None, *, explicit=False, unroll_factor=None, annotations=None|Alias of T.unroll.
unroll|loop|start, stop=None, step=None, *, explicit=False, unroll_factor=None, annotations=None|Fully unrolled loop: unroll(stop) or unroll(start, stop, step); explicit=True unrolls in the frontend; unroll_factor sets a partial-unroll pragma (not with explicit).
Vectorized|loop|start, stop=None, *, annotations=None|Alias of T.vectorized.
vectorized|loop|start, stop=None, *, annotations=None|Vectorized loop: vectorized(stop) or vectorized(start, stop), lowered to vector loads and stores.
# ---- param_type
Buffer|param_type|shape, dtype=T.float32, data=None, strides=None, elem_offset=None, scope='global', align=0, offset_factor=0, buffer_type='', axis_separators=None|Raw TIR buffer parameter type (scope 'global'); deprecated in favour of T.Tensor.
const|param_type|name, dtype='int32'|Eager mode: declare symbolic sizes bound from argument shapes, e.g. M, N, K = T.const('M, N, K').
dynamic|param_type|name, dtype='int32'|Declare a symbolic (runtime) dimension var named name, dtype int32 by default; a comma list gives several vars.
FragmentBuffer|param_type|shape, dtype='float32', data=None, strides=None, elem_offset=None, scope=None, align=None, offset_factor=None, buffer_type='', axis_separators=None|Buffer type annotation for a register fragment (default scope 'local.fragment'), same form as T.Tensor; used for macro parameters.
handle|param_type|dtype=None, storage_scope='global', *, is_size_var=False|TIR pointer variable (opaque handle), optionally typed with dtype and storage_scope.
LocalBuffer|param_type|shape, dtype='float32', data=None, strides=None, elem_offset=None, scope=None, align=None, offset_factor=None, buffer_type='', axis_separators=None|Buffer type annotation for thread-local memory (default scope 'local'), same form as T.Tensor.
Ptr|param_type|dtype, storage_scope='global'|TVMScript pointer type Ptr(dtype, storage_scope='global').
ptr|param_type|dtype=None, storage_scope='global', *, is_size_var=False|Raw pointer (handle) parameter, storage_scope 'global' by default; turn it into a buffer with T.make_tensor.
SharedBuffer|param_type|shape, dtype='float32', data=None, strides=None, elem_offset=None, scope=None, align=None, offset_factor=None, buffer_type='', axis_separators=None|Buffer type annotation in shared memory (default scope 'shared.dyn'), same form as T.Tensor.
StridedTensor|param_type|shape, strides, dtype='float32', scope=None, *, data=None|Global-memory tensor parameter with explicit strides (len(strides) must equal len(shape)).
symbolic|param_type|name, dtype='int32'|Deprecated alias of T.dynamic: a symbolic dimension variable.
Tensor|param_type|shape, dtype='float32', data=None, scope=None|Global-memory tensor parameter type: T.Tensor(shape, dtype) or T.Tensor[shape, dtype]; row-major strides from the shape; dtype defaults to 'float32'.
# ---- math
__cos|math|x|Fast-math cosine (CUDA __cosf), lower accuracy.
__exp|math|x|Fast-math e**x (CUDA __expf), lower accuracy.
__exp10|math|x|Fast-math 10**x (CUDA __exp10f), lower accuracy.
__log|math|x|Fast-math natural log (CUDA __logf), lower accuracy.
__log10|math|x|Fast-math log10 (CUDA __log10f), lower accuracy.
__log2|math|x|Fast-math log2 (CUDA __log2f), lower accuracy.
__sin|math|x|Fast-math sine (CUDA __sinf), lower accuracy.
__tan|math|x|Fast-math tangent (CUDA __tanf), lower accuracy.
abs|math|x, span=None|Absolute value of x.
abs2|math|x|Packed two-lane absolute value.
acos|math|x|Arc cosine of x.
acosh|math|x|Inverse hyperbolic cosine of x.
add2|math|x, y|Packed two-lane add x + y (e.g. half2).
align_up|math|x, y|Round x up to a multiple of y.
asin|math|x|Arc sine of x.
asinh|math|x|Inverse hyperbolic sine of x.
atan|math|x|Arc tangent of x.
atan2|math|x1, x2|Arc tangent of x1/x2 using both signs to pick the quadrant.
atanh|math|x|Inverse hyperbolic tangent of x.
bitwise_and|math|x, y, span=None|Bitwise AND of two integers.
bitwise_not|math|x, span=None|Bitwise NOT of an integer.
bitwise_or|math|x, y, span=None|Bitwise OR of two integers.
bitwise_xor|math|x, y, span=None|Bitwise XOR of two integers.
broadcast|math|value, lanes, span=None|Vector of lanes copies of a scalar value (IR node constructor).
cast|math|value, dtype, round='', sat=True, rbits=None, span=None|Convert value to dtype; round/sat/rbits are optional PTX-style rounding and saturation hints (sat defaults to True).
cdiv|math|lhs, rhs, span=None|Alias of ceildiv: ceil(lhs / rhs) for integers.
ceil|math|x, span=None|Round x up to an integral value.
ceildiv|math|lhs, rhs, span=None|Integer ceiling division ceil(lhs / rhs), e.g. the number of tiles T.ceildiv(N, block_N).
clamp|math|dst, min_val, max_val|Clamp dst into [min_val, max_val].
clz|math|x|Number of leading zero bits of the integer x.
copysign|math|x1, x2|x1 with the sign of x2.
cos|math|x|Cosine of x (radians).
cosh|math|x|Hyperbolic cosine of x.
erf|math|x|Gauss error function of x.
exp|math|x|Natural exponential e**x.
exp10|math|x|Base-10 exponential 10**x.
exp2|math|x|Base-2 exponential 2**x (fast on GPUs; softmax kernels scale by log2(e) and use it).
extract_lane|math|vector, lane, span=None|Scalar lane number lane of a fixed-width vector expression.
fabs|math|x, span=None|Absolute value of a floating-point x.
fast_rcp|math|x|Approximate reciprocal 1/x via the CUDA fast path.
floor|math|x, span=None|Round x down to an integral value.
floordiv|math|a, b, span=None|Integer floor division (rounds toward negative infinity).
floormod|math|a, b, span=None|Integer modulo matching floordiv (result has the sign of the divisor).
fma|math|x, y, z|Fused multiply-add x * y + z as one CUDA fma.
fma2|math|x, y, z|Packed two-lane fused multiply-add x * y + z.
fmod|math|x, y|Floating remainder of x / y with the sign of x.
fmul|math|x, y|Float multiply with CUDA round-to-nearest (no contraction into an fma).
hypot|math|x1, x2|sqrt(x1**2 + x2**2) without intermediate overflow.
ieee_add|math|x, y, rounding_mode='rn'|IEEE addition x + y with an explicit rounding_mode (default 'rn').
ieee_fdiv|math|x, y, rounding_mode='rn'|IEEE division x / y with an explicit rounding_mode (default 'rn').
ieee_fmaf|math|x, y, z, rounding_mode='rn'|IEEE fused multiply-add x * y + z with an explicit rounding_mode (default 'rn').
ieee_frcp|math|x, rounding_mode='rn'|IEEE reciprocal 1/x with an explicit rounding_mode (default 'rn').
ieee_frsqrt|math|x|IEEE reciprocal square root, round-to-nearest only.
ieee_fsqrt|math|x, rounding_mode='rn'|IEEE square root with an explicit rounding_mode (default 'rn').
ieee_mul|math|x, y, rounding_mode='rn'|IEEE multiplication x * y with an explicit rounding_mode (default 'rn').
ieee_sub|math|x, y, rounding_mode='rn'|IEEE subtraction x - y with an explicit rounding_mode (default 'rn').
if_then_else|math|cond, t, f, span=None|Select t when cond holds, else f; unlike Select only the chosen branch is evaluated (safe for guarded loads).
index_to_coordinates|math|index, shape|Split a flat row-major index into per-dimension coordinates for shape.
infinity|math|dtype, span=None|Positive infinity of the float dtype, e.g. -T.infinity(accum_dtype) to seed a running max.
isfinite|math|x, span=None|True where x is neither NaN nor infinite.
isinf|math|x, span=None|True where x is +/- infinity.
isnan|math|x, span=None|True where x is NaN.
isnullptr|math|x, span=None|True if the handle x is a null pointer.
ldexp|math|x1, x2|x1 * 2**x2.
log|math|x|Natural logarithm of x.
log10|math|x|Base-10 logarithm of x.
log1p|math|x|log(1 + x), accurate for small x.
log2|math|x|Base-2 logarithm of x.
max|math|a, b|Elementwise maximum of two expressions (scalar TIR max).
max2|math|x, y|Packed two-lane maximum.
max_value|math|dtype, span=None|Largest finite value of dtype.
min|math|a, b|Elementwise minimum of two expressions (scalar TIR min).
min2|math|x, y|Packed two-lane minimum.
min_value|math|dtype, span=None|Smallest (most negative) finite value of dtype.
mul2|math|x, y|Packed two-lane multiply x * y.
nearbyint|math|x, span=None|Round x to the nearest integral value in the current rounding mode.
nextafter|math|x1, x2|Next representable float after x1 in the direction of x2.
popcount|math|x|Number of set bits in the integer x.
pow|math|x, y, span=None|x raised to the power y.
q_multiply_shift|math|x, y, q, s|Fixed-point multiply of Q-numbers x and y (q fractional bits) followed by a right shift by s.
q_multiply_shift_per_axis|math|x, y, ls, rs, q, is_lshift_required, is_rshift_required|Per-axis fixed-point multiply of Q-numbers with optional left/right shifts.
ramp|math|base, stride, lanes, span=None|Vector base, base+stride, ... of lanes elements (IR node constructor).
reinterpret|math|value, dtype, span=None|Bit-cast value to dtype (same total bit width), no numeric conversion.
round|math|x, rounding_mode='ties-to-even', span=None|Round x to an integral value; rounding_mode defaults to 'ties-to-even'.
rsqrt|math|x|Reciprocal square root 1/sqrt(x).
Select|math|condition, true_value, false_value, span=None|Select true_value when condition holds, else false_value; both sides may be evaluated.
shift_left|math|x, y, span=None|x shifted left by y bits.
shift_right|math|x, y, span=None|x shifted right by y bits (arithmetic for signed types).
sigmoid|math|x|Logistic sigmoid 1 / (1 + exp(-x)).
sin|math|x|Sine of x (radians).
sinh|math|x|Hyperbolic sine of x.
sqrt|math|x|Square root of x.
sub2|math|x, y|Packed two-lane subtract x - y.
tan|math|x|Tangent of x (radians).
tanh|math|x|Hyperbolic tangent of x.
trunc|math|x, span=None|Round x toward zero.
truncdiv|math|a, b, span=None|Integer division rounding toward zero (C semantics).
truncmod|math|a, b, span=None|Integer remainder matching truncdiv (C % semantics).
vectorcombine|math|dtype, vec1, vec2|Concatenate two vectors into one of dtype.
vectorhigh|math|dtype, vec|High half of a vector value, as dtype.
vectorlow|math|dtype, vec|Low half of a vector value, as dtype.
# ---- sync
barrier_arrive|sync|mbarrier|Arrive on an mbarrier (from T.alloc_barrier).
barrier_wait|sync|mbarrier, parity|Wait until the mbarrier phase with the given parity completes.
cluster_arrive|sync||Arrive on the cluster barrier (barrier.cluster.arrive).
cluster_arrive_relaxed|sync||Arrive on the cluster barrier with relaxed ordering.
cluster_sync|sync||Full cluster barrier: arrive then wait.
cluster_wait|sync||Wait on the cluster barrier (barrier.cluster.wait).
cp_async_barrier_noinc|sync|barrier|Make an mbarrier track completion of this thread's outstanding cp.async copies (noinc form).
create_barriers|sync|barrier_count|Create barrier_count mbarriers (TVM intrinsic).
fence_proxy_async|sync||Fence that orders generic-proxy shared-memory writes before later async-proxy (TMA/WGMMA) accesses.
mbarrier_arrive|sync|mbarrier, cta_id=None|Arrive on an mbarrier; with cta_id, on the barrier of another block in the cluster.
mbarrier_arrive_expect_tx|sync|mbarrier, tx|Arrive on an mbarrier and announce tx bytes of pending asynchronous transactions.
mbarrier_expect_tx|sync|mbarrier, tx|Tell an mbarrier to expect tx more bytes of asynchronous (TMA) transactions.
mbarrier_wait_parity|sync|mbarrier, parity|Spin until the mbarrier phase with the given parity (0/1) has completed.
named_barrier_arrive|sync|barrier_id, thread_count|Arrive on named barrier barrier_id for thread_count threads without waiting (bar.arrive).
pdl_sync|sync||Programmatic dependent launch: wait for the previous kernel's results before continuing.
pdl_trigger|sync||Programmatic dependent launch: allow the next kernel in the stream to start launching.
ptx_arrive_barrier|sync|barrier_id|PTX mbarrier.arrive on barrier barrier_id.
ptx_arrive_barrier_expect_tx|sync|barrier_id, byte_count|PTX mbarrier.arrive.expect_tx on barrier barrier_id with byte_count bytes.
ptx_arrive_cluster_barrier|sync|mbarrier, cta_id|Arrive on an mbarrier owned by block cta_id of the cluster.
ptx_commit_group|sync||Commit the issued cp.async copies as one group (cp.async.commit_group).
ptx_cp_async_barrier|sync|barrier_id|PTX cp.async.mbarrier.arrive on barrier barrier_id.
ptx_fence_barrier_init|sync||Fence that makes mbarrier initialisation visible to the cluster.
ptx_init_barrier_thread_count|sync|barrier_id, thread_count|PTX mbarrier.init of barrier barrier_id with thread_count arrivals.
ptx_wait_barrier|sync|barrier_id|PTX mbarrier try-wait loop on barrier barrier_id.
ptx_wait_group|sync|num|Wait until at most num cp.async groups are pending (cp.async.wait_group).
sync_grid|sync||Grid-wide barrier across all blocks (the kernel must be launched cooperatively).
sync_threads|sync|barrier_id=None, arrive_count=None|Block-wide barrier (__syncthreads); with barrier_id/arrive_count a named barrier over a subset of threads.
sync_warp|sync|mask=None|Warp-level barrier (__syncwarp) over mask (the full warp by default).
syncthreads_and|sync|predicate|Block barrier that returns non-zero only if every thread's predicate is non-zero.
syncthreads_count|sync|predicate|Block barrier that returns how many threads have a non-zero predicate.
syncthreads_or|sync|predicate|Block barrier that returns non-zero if any thread's predicate is non-zero.
tcgen05_after_thread_sync|sync||tcgen05 fence to place after a thread barrier (orders later tcgen05 operations).
tcgen05_before_thread_sync|sync||tcgen05 fence to place before a thread barrier (orders prior tcgen05 operations).
tcgen05_mma_arrive|sync|mbar, arrive_2cta=False|Make an mbarrier track completion of the issued tcgen05 MMAs (tcgen05.commit); arrive_2cta for the 2-CTA form.
tma_store_arrive|sync||Commit the issued TMA stores as a bulk group.
tma_store_wait|sync|count=0, read=True|Wait until at most count TMA store groups are pending (default 0); read=True waits only for the source reads.
tvm_storage_sync|sync|storage_scope|TVM storage sync over a scope such as 'shared' (a block barrier).
wait_wgmma|sync|id|Wait until at most id WGMMA groups are still in flight (wgmma.wait_group).
warpgroup_arrive|sync||Fence before issuing WGMMA operations (wgmma.fence).
warpgroup_commit_batch|sync||Commit the issued WGMMA operations as one group (wgmma.commit_group).
warpgroup_fence_operand|sync|buffer_or_ptr, offset=0, num_regs=None, dtype=None|Register fence on a WGMMA accumulator so the compiler keeps it in place.
warpgroup_wait|sync|num_mma|Wait until at most num_mma WGMMA groups are pending (wgmma.wait_group).
# ---- annotation
annotate_compile_flags|annotation|flags|Eager mode: add device compiler flags from inside the function body.
annotate_consumer_reg_alloc|annotation|reg_count=240|Register budget for consumer warp groups (default 240).
annotate_l2_hit_ratio|annotation|l2_hit_ratio_map|L2 persistence hint: {global_buffer: hit ratio}.
annotate_layout|annotation|layout_map|Attach layouts to buffers: {buffer: Layout | Fragment | callable}; a fragment buffer needs a Fragment.
annotate_min_blocks_per_sm|annotation|n|Minimum resident blocks per SM (second argument of __launch_bounds__).
annotate_pass_configs|annotation|configs|Eager mode: set compiler pass configs from inside the function body.
annotate_producer_reg_dealloc|annotation|reg_count=24|Register budget for producer warp groups (default 24).
annotate_restrict_buffers|annotation|*buffers|Mark buffer parameters that may alias so they lose __restrict__.
annotate_safe_value|annotation|safe_value_map|Value used for guarded out-of-bounds loads: {buffer: value}.
annotate_ws_pipeline_depth|annotation|depth_map|Declare the pipeline depth the automatic warp-specialization scheduler uses per buffer.
annotate_ws_schedule|annotation|schedule|Attach an explicit warp-specialization schedule (a T.WSSchedule) to the kernel.
assume|annotation|cond=None|Tell the simplifier that cond holds (no runtime check).
dec_max_nreg|annotation|reg_count|Lower this warp group's register budget to reg_count (setmaxnreg.dec).
disable_warp_group_reg_alloc|annotation||Turn off automatic per-warp-group register reallocation.
func_attr|annotation|attrs|Raw TVM: set attributes on the PrimFunc being built.
func_name|annotation|name|Raw TVM: set the name of the PrimFunc being built.
func_ret|annotation|ret_type|Raw TVM: set the return type of the PrimFunc being built.
ignore_loop_partition|annotation|predicate|Keep predicate out of loop partitioning.
import_source|annotation|source=None|Add C/CUDA source text to the generated kernel file (for T.call_extern helpers).
inc_max_nreg|annotation|reg_count|Raise this warp group's register budget to reg_count (setmaxnreg.inc).
likely|annotation|cond, span=None|Hint that cond is usually true (helps loop partitioning and branch layout).
no_set_max_nreg|annotation||Stop the compiler from inserting setmaxnreg in a warp-specialized kernel.
sblock_attr|annotation|attrs|Raw TVM: annotate the current block with attributes.
set_max_nreg|annotation|reg_count, is_inc|Adjust this warp group's register budget to reg_count (setmaxnreg); is_inc=1 raises, 0 lowers.
tvm_thread_invariant|annotation|cond|Mark cond as the same for every thread.
use_swizzle|annotation|panel_size, order='row', enable=True|Rasterize thread blocks in panels of panel_size for L2 reuse; order 'row' (default), 'column' or 'mlx'; enable=False turns it off.
ws_op|annotation|op_id|Tag the enclosed statements with a stable warp-specialization op id (referenced by a WSSchedule).
WSID|annotation||Annotation key ('tl.ws_op_id') naming a loop or op for a warp-specialization schedule: annotations={T.WSID: 'name'}.
WSInstr|annotation||Base class of one step in a warp-specialization role's program.
WSOpRef|annotation|id|Reference to a tile op or scope by its stable ws op id.
WSPipeline|annotation|name, buffers, depth|Warp-specialization pipeline: a full/empty mbarrier pair guarding depth versions of buffers.
WSRole|annotation|name, *, warps_lo, warps_hi, max_nreg=0|Warp-specialization role: a contiguous warp range warps_lo..warps_hi with one duty; max_nreg caps its registers.
WSSchedule|annotation|num_warps, roles, pipelines, scopes|Complete warp-specialization schedule: num_warps, roles, pipelines and scopes.
WSScope|annotation|id, bodies|Warp-specialization scope (a loop or WSScope.ROOT) with per-role instruction lists in bodies.
WSSync|annotation|kind, pipeline, stage=0|Warp-specialization sync point on a pipeline and stage (see WSSync.producer_acquire/producer_commit/consumer_wait/consumer_release).
WSSyncKind|annotation|*args, **kwargs|Enum of WSSync kinds (producer acquire/commit, consumer wait/release).
# ---- control
Assert|control|condition, message, error_kind='RuntimeError'|Raw TVM assert statement with message and error_kind (default 'RuntimeError').
attr|control|node, attr_key, value|Raw TVM AttrStmt: attach attr_key = value to node around the following statements.
bind|control|value, type_annotation=None, *, var=None|Bind value to a new variable (a Bind statement); the frontend uses it for scalar assignments.
block_name_suffix_context|control|block_suffix|Context manager that suffixes block names during macro expansion.
break_loop|control|span=None|TVM intrinsic for a loop break.
continue_loop|control|span=None|TVM intrinsic for a loop continue.
device_assert|control|condition, msg='', no_stack_info=False|Device-side assert: trap when condition is false, printing msg.
Else|control||Raw TVM else-frame of T.If.
evaluate|control|value|Evaluate an expression as a statement (e.g. a call with side effects).
If|control|condition|Raw TVM if-frame; in kernels write a Python if.
init|control||Raw TVM block init frame (runs once before a reduction).
Let|control|expr, where|Let expression: expr evaluated with the bindings in where.
let|control|v, value, body=None|Raw TVM let binding of v to value (optionally around body).
loop_break|control||Break out of the innermost loop.
ret|control|val, span=None|TVM return expression carrying val.
sblock|control|name='', no_realize=False|Raw TVM block frame (name, no_realize).
Then|control||Raw TVM then-frame of T.If.
thread_return|control|span=None|Return early from the GPU thread.
WarpSpecialize|control|*warp_group_idx|Warp-specialization frame constructor behind T.ws.
where|control|predicate|Raw TVM block predicate statement.
While|control|condition|Raw TVM while-frame; in kernels write a Python while.
ws|control|*warp_group_idx|Warp-specialization frame: `with T.ws(0):` runs the body only in warp group 0 (threads 0-127); several group ids may be given.
# ---- intrinsic
__ffs|intrinsic|value|1-based position of the lowest set bit of value (0 if none).
__fns|intrinsic|mask, base, offset|Position of the offset-th set bit of mask at or after base.
__ldg|intrinsic|load_or_buf, index=None|Load through the read-only data cache (CUDA __ldg) from an element or buffer.
access_ptr|intrinsic|base, access_type='r', *extents, offset=0, extent=None, ignore_last_ndim=0|Pointer to a buffer location for intrinsics: base is a buffer, region or element; access_type 'r', 'w' or 'rw' (default 'r').
activemask|intrinsic||Bitmask of the lanes currently active in the warp.
address_of|intrinsic|obj, span=None|Address of a buffer element (BufferLoad) or of a buffer's start.
all_of|intrinsic|buffer|True if every element of the buffer (or region) is non-zero.
all_sync|intrinsic|predicate, mask=T.uint32(4294967295)|Non-zero only if every lane in mask has a non-zero predicate.
any_of|intrinsic|buffer|True if any element of the buffer (or region) is non-zero.
any_sync|intrinsic|predicate, mask=T.uint32(4294967295)|Non-zero if any lane in mask has a non-zero predicate.
anylist_getitem|intrinsic|list_handle, index|Host: read an item of a runtime AnyList.
anylist_resetitem|intrinsic|list_handle, index|Host: reset an item of a runtime AnyList.
anylist_setitem_call_cpacked|intrinsic|list_handle, index, func_name, *args|Host: store the result of a C packed call into an AnyList item.
anylist_setitem_call_packed|intrinsic|list_handle, index, func_name, *args|Host: store the result of a packed call into an AnyList item.
ballot|intrinsic|predicate|Bitmask of the lanes of the full warp whose predicate is non-zero.
ballot_sync|intrinsic|predicate, mask=T.uint32(4294967295)|Bitmask of the lanes in mask whose predicate is non-zero.
call_cpacked|intrinsic|*args, span=None|Call a TVM C packed function (host side).
call_cpacked_lowered|intrinsic|*args, span=None|Lowered form of call_cpacked.
call_extern|intrinsic|dtype, func_name, *args, span=None|Call an external C/CUDA function func_name(*args) returning dtype.
call_intrin|intrinsic|dtype, func_name, *args, annotations=None, span=None|Call a TVM intrinsic op func_name(*args) returning dtype.
call_kernel|intrinsic|kernel, launch_args, *args, **kwargs|Launch an external kernel object with launch_args.
call_llvm_intrin|intrinsic|dtype, name, *args, span=None|Call an LLVM intrinsic by name.
call_llvm_pure_intrin|intrinsic|dtype, name, *args, span=None|Call a side-effect-free LLVM intrinsic by name.
call_packed|intrinsic|*args, span=None|Call a TVM packed function (host side).
call_packed_lowered|intrinsic|*args, span=None|Lowered form of call_packed.
call_pure_extern|intrinsic|dtype, func_name, *args, span=None|Call a side-effect-free external function func_name(*args) returning dtype.
clc_get_first_ctaid_x|intrinsic|result|x block index of the first block taken over by a successful CLC query.
clc_get_first_ctaid_y|intrinsic|result|y block index of the first block taken over by a successful CLC query.
clc_get_first_ctaid_z|intrinsic|result|z block index of the first block taken over by a successful CLC query.
clc_is_canceled|intrinsic|result|1 when a cluster-launch-control query succeeded in cancelling a future block.
clc_try_cancel|intrinsic|result, mbarrier|Cluster launch control: ask to take over a not-yet-launched block; the answer lands in result, signalled on mbarrier.
clc_try_cancel_multicast|intrinsic|result, mbarrier|Cluster launch control query whose answer is multicast to every block of the cluster.
compute_gmma_descriptor|intrinsic|tl_layout, buffer, transposed, micro_size_k=16, region=None|Compute WGMMA descriptor fields for a buffer and its layout.
compute_umma_descriptor|intrinsic|tl_layout, buffer, transposed, micro_size_k=16, region=None|Compute tcgen05 (UMMA) descriptor fields for a buffer and its layout.
create_tma_descriptor|intrinsic|*args|Raw intrinsic that builds a TMA tensor-map descriptor.
deallocate_tmem|intrinsic|tmem|Free a T.alloc_tmem buffer explicitly.
dp4a|intrinsic|A, B, C|Four-way int8 dot product of A and B accumulated into the int32 C (CUDA __dp4a).
end_profile_intrinsic|intrinsic|id|Mark the end of a profiled region with id.
get_active_lane_mask|intrinsic|dtype, base, limit|Predicate mask of lanes whose base + lane index is below limit.
get_lane_idx|intrinsic|warp_size=None|Lane index of the calling thread within its warp (warp_size defaults to the target's).
get_ldmatrix_offset|intrinsic|matrix, row_idx, col_idx, stride, dtype='float16', transposed=False|Offset used by ldmatrix for a matrix 'A' or 'B' element.
get_mma_micro_size|intrinsic|dtype|MMA micro-tile sizes (m, n, k) for a dtype.
get_swizzle_layout|intrinsic|row_idx, col_idx, row_size, dtype, swizzle_bytes=None|Swizzled index for (row_idx, col_idx) of a row of row_size elements.
get_warp_group_idx|intrinsic|warp_size=None, warps_per_group=None|Warp-group index (4 warps by default) of the calling thread.
get_warp_idx|intrinsic|warp_size=None|Warp index of the calling thread within the block, without synchronizing.
get_warp_idx_sync|intrinsic|warp_size=None|Warp index of the calling thread, assuming the warp is converged.
handle_add_byte_offset|intrinsic|handle, offset|Pointer handle advanced by offset bytes.
increase_descriptor_offset|intrinsic|descriptor, offset|Advance a shared-memory descriptor's start address by offset.
initialize_tcgen05_descriptor|intrinsic|descriptor, start_address, leading_byte_offset, stride_byte_offset, base_offset=0, leading_is_absolute=False, swizzle_mode=0|Fill a tcgen05 shared-memory descriptor from an address, byte offsets and swizzle mode.
initialize_wgmma_descriptor|intrinsic|descriptor, start_address, layout_type_=0, leading_byte_offset=0, stride_byte_offset=0|Fill a WGMMA descriptor buffer from a shared-memory address, layout type and byte offsets.
ldg128|intrinsic|src, pred=None|Load 16 bytes from global memory with an explicit PTX ld, optional predicate pred.
ldg256|intrinsic|src, pred=None|Load 32 bytes from global memory with an explicit PTX ld, optional predicate pred.
ldg32|intrinsic|src, pred=None|Load 4 bytes from global memory with an explicit PTX ld, optional predicate pred.
ldg64|intrinsic|src, pred=None|Load 8 bytes from global memory with an explicit PTX ld, optional predicate pred.
lds128|intrinsic|src|Load 16 bytes from shared memory as a uint32x4.
lds32|intrinsic|src|Load 4 bytes from shared memory as a uint32.
lds64|intrinsic|src|Load 8 bytes from shared memory as a uint32x2.
make_blockscaled_gemm_layout|intrinsic|C, A, transpose_A=False|TMEM store layout of C for a block-scaled gemm with A.
make_mma_swizzle_layout|intrinsic|shared_buf, is_smooth=False|Swizzled shared-memory layout suited to mma/ldmatrix for shared_buf.
match_all_sync|intrinsic|value, mask=T.uint32(4294967295)|mask if every lane in mask holds the same value, else 0.
match_any_sync|intrinsic|value, mask=T.uint32(4294967295)|Bitmask of lanes in mask that hold the same value as the calling lane (sm_70+).
mma_fill|intrinsic|dtype, local_size, local_ptr, offset|Raw zero-fill of MMA accumulator registers.
mma_store|intrinsic|dtype, m, n, dst_ptr, src_ptr, src_offset, dst_stride|Raw store of an MMA accumulator fragment to memory.
mma_store_index_map|intrinsic|thread_id, local_id|Index map from (thread_id, local_id) of an MMA accumulator to a tile position.
ptx_cp_async|intrinsic|dst_access_ptr, src_access_ptr, num_elems, predicate=None|Raw cp.async of num_elems from src_access_ptr to dst_access_ptr, optionally predicated.
ptx_cp_async_bulk|intrinsic|dtype, shared_ptr, shared_offset, global_ptr, global_offset, bytes, barrier_id|Raw cp.async.bulk global-to-shared copy of bytes, completing on barrier_id.
ptx_ldmatrix|intrinsic|trans, num, src_access_ptr, dst_access_ptr|Raw ldmatrix: load num 8x8 matrices from shared memory (trans to transpose).
ptx_mma|intrinsic|dtype, shape, A_layout, B_layout, A_dtype, B_dtype, C_dtype, multiplicand_a, a_index, multiplicand_b, b_index, accumulator, c_index, saturate, operator=None|Raw warp-level mma.sync instruction.
ptx_mma_block_scale|intrinsic|accum_dtype, shape, A_layout, B_layout, kind, scale_vec_size, A_dtype, B_dtype, scale_type, multiplicand_a, a_index, multiplicand_b, b_index, accumulator, c_index, scale_a, scale_b, scale_a_byte_id=0, scale_a_thread_id=0, scale_b_byte_id=0, scale_b_thread_id=0|Raw sm_120a block-scaled MMA instruction.
ptx_mma_sm70|intrinsic|shape, A_layout, B_layout, A_dtype, B_dtype, C_dtype, multiplicand_a, a_index, multiplicand_b, b_index, accumulator, c_index|Raw Volta (sm_70) mma.sync instruction.
ptx_mma_sp|intrinsic|dtype, shape, A_layout, B_layout, A_dtype, B_dtype, C_dtype, multiplicand_a, a_index, multiplicand_b, b_index, accumulator, c_index, metadata, meta_index, sparse_selector, saturate|Raw sparse mma.sp instruction.
ptx_tcgen05_mma_blockscaled_ss|intrinsic|kind_dtype, desc_a, A_offset, desc_b, B_offset, C_ptr, C_offset, desc_val, scale_out, sfa_ptr, sfa_offset, sfb_ptr, sfb_offset, reserved0=0, reserved1=0, enable_2cta=False|Raw block-scaled tcgen05.mma, shared/shared operands.
ptx_tcgen05_mma_ss|intrinsic|kind_dtype, desc_a, A_offset, desc_b, B_offset, C_ptr, C_offset, desc_val, scale_out, mask0, mask1, mask2, mask3, enable_ws=False, enable_2cta=False, ws=None, warp_specialized=None, variant=None|Raw tcgen05.mma with both operands from shared memory.
ptx_tcgen05_mma_ts|intrinsic|kind_dtype, A_ptr, A_offset, desc_b, B_offset, C_ptr, C_offset, desc_val, scale_out, mask0, mask1, mask2, mask3, enable_2cta=False|Raw tcgen05.mma with A from tensor memory and B from shared memory.
ptx_wgmma_rs|intrinsic|dtype, wgmma_prefix, b_is_k_major, a_dtype_abbrv, b_dtype_abbrv, accum_dtype_abbrv, A_buf, A_offset, B_desc, B_offset, C_data, C_offset, scale_out, scale_in_a, scale_in_b|Raw WGMMA with A from registers and B from a shared-memory descriptor.
ptx_wgmma_sp_rs|intrinsic|dtype, wgmma_prefix, b_is_k_major, a_dtype_abbrv, b_dtype_abbrv, accum_dtype_abbrv, A_buf, A_offset, E_buf, E_offset, sparse_selector, B_desc, B_offset, C_data, C_offset, scale_out, scale_in_a, scale_in_b|Raw sparse WGMMA, register/shared operands.
ptx_wgmma_sp_ss|intrinsic|dtype, wgmma_prefix, a_is_k_major, b_is_k_major, a_dtype_abbrv, b_dtype_abbrv, accum_dtype_abbrv, A_desc, A_offset, E_data, E_offset, sparse_selector, B_desc, B_offset, C_data, C_offset, scale_out, scale_in_a, scale_in_b|Raw sparse WGMMA, shared/shared operands.
ptx_wgmma_ss|intrinsic|dtype, wgmma_prefix, a_is_k_major, b_is_k_major, a_dtype_abbrv, b_dtype_abbrv, accum_dtype_abbrv, A_desc, A_offset, B_desc, B_offset, C_data, C_offset, scale_out, scale_in_a, scale_in_b|Raw WGMMA with both operands from shared-memory descriptors.
reducer_init|intrinsic|reducer, init=None|Open a reducer epoch, optionally seeding it with init.
reducer_update|intrinsic|target, value|Contribute value to one element of a reducer (target is reducer[idx]); allowed inside T.Parallel.
rng_init|intrinsic|seed, seq=None, off=0, generator='curandStatePhilox4_32_10_t'|Initialise the per-thread curand state from seed, seq and off (Philox by default).
rng_rand|intrinsic||Next 32-bit unsigned random integer from the curand state.
rng_rand_float|intrinsic|bit=32, dist='uniform'|Next random float (bit=32, dist 'uniform' or 'normal') from the curand state.
shfl_down|intrinsic|value, delta, width=32, mask=T.uint32(4294967295)|Read value from the lane delta above within width lanes.
shfl_sync|intrinsic|value, srcLane, width=32, mask=T.uint32(4294967295)|Read value from lane srcLane of each width-lane group (width defaults to 32, mask to the full warp).
shfl_up|intrinsic|value, delta, width=32, mask=T.uint32(4294967295)|Read value from the lane delta below within width lanes.
shfl_xor|intrinsic|value, delta, width=32, mask=T.uint32(4294967295)|Exchange value with the lane whose id differs by the XOR mask delta (butterfly), within width lanes.
shuffle_elect|intrinsic|thread_extent|True in exactly one lane of each group of thread_extent threads (elect.sync).
start_profile_intrinsic|intrinsic|id|Mark the start of a profiled region with id.
stg128|intrinsic|dst, value, pred=None|Store 16 bytes to global memory with an explicit PTX st, optional predicate pred.
stg256|intrinsic|dst, value, pred=None|Store 32 bytes to global memory with an explicit PTX st, optional predicate pred.
stg32|intrinsic|dst, value, pred=None|Store 4 bytes to global memory with an explicit PTX st, optional predicate pred.
stg64|intrinsic|dst, value, pred=None|Store 8 bytes to global memory with an explicit PTX st, optional predicate pred.
sts128|intrinsic|dst, value|Store a uint32x4 (16 bytes) to shared memory.
sts32|intrinsic|dst, value|Store a uint32 (4 bytes) to shared memory.
sts64|intrinsic|dst, value|Store a uint32x2 (8 bytes) to shared memory.
tcgen05_cp_warpx4|intrinsic|smem_src, tmem_dst, tmem_col_offset=0, *, use_2cta=False|Copy packed scale-factor chunks from shared memory to tensor memory (tcgen05.cp warpx4).
tcgen05_sf_warp_transpose|intrinsic|smem_src|Warp-level transpose of packed scale-factor chunks in shared memory before tcgen05.cp.
tma_gather4_bytes|intrinsic|K_box, dtype|Transaction bytes of one gather4 of width K_box and dtype, for mbarrier_expect_tx.
tma_load|intrinsic|*args|Raw TMA load intrinsic (descriptor, barrier, coordinates...); prefer T.copy or T.tma_copy.
tma_load_2sm|intrinsic|*args|Raw Blackwell 2-SM TMA load intrinsic.
tvm_access_ptr|intrinsic|ptype, data, offset, extent, rw_mask|Low-level TVM access pointer (ptype, data, offset, extent, rw_mask).
tvm_bmma_sync|intrinsic|fragment_d, index_d, fragment_a, index_a, fragment_b, index_b, fragment_c, index_c|Raw WMMA bmma_sync (binary) intrinsic.
tvm_call_cpacked|intrinsic|*args, span=None|Host: call a C packed function (TVM builtin form).
tvm_call_cpacked_lowered|intrinsic|*args, span=None|Host: lowered C packed call (TVM builtin form).
tvm_call_packed|intrinsic|*args, span=None|Host: call a packed function (TVM builtin form).
tvm_call_packed_lowered|intrinsic|*args, span=None|Host: lowered packed call (TVM builtin form).
tvm_fill_fragment|intrinsic|fragment, m, n, k, index, value|Raw WMMA fill_fragment intrinsic.
tvm_load_matrix_sync|intrinsic|fragment, m, n, k, index, buffer_ptr, stride, layout|Raw WMMA load_matrix_sync intrinsic.
tvm_mma_sync|intrinsic|fragment_d, index_d, fragment_a, index_a, fragment_b, index_b, fragment_c, index_c|Raw WMMA mma_sync intrinsic.
tvm_stack_alloca|intrinsic|dtype_str, num|Host: allocate num values of dtype_str on the stack.
tvm_stack_make_array|intrinsic|data, shape, strides, ndim, arr_dtype, elem_offset|Host: build a DLTensor on the stack.
tvm_stack_make_shape|intrinsic|*args|Host: build a shape tuple on the stack.
tvm_store_matrix_sync|intrinsic|fragment, m, n, k, index, buffer_ptr, stride, layout|Raw WMMA store_matrix_sync intrinsic.
tvm_struct_get|intrinsic|arr, index, field, dtype|Host: read a field of a runtime struct.
tvm_struct_set|intrinsic|arr, index, field, value|Host: write a field of a runtime struct.
tvm_thread_allreduce|intrinsic|*freduce_args|Low-level TVM block all-reduce intrinsic (reducer, values, condition and output handles).
tvm_throw_last_error|intrinsic||Host: raise the runtime's last error.
tvm_tuple|intrinsic|*value|Tuple value used inside AttrStmt.
tvm_warp_activemask|intrinsic||32-bit mask of active lanes in the warp (TVM intrinsic).
tvm_warp_shuffle|intrinsic|mask, value, warp_id, width, warp_size|TVM warp shuffle: read value from lane warp_id.
tvm_warp_shuffle_down|intrinsic|mask, value, offset, width, warp_size|TVM warp shuffle from the lane offset above.
tvm_warp_shuffle_up|intrinsic|mask, value, offset, width, warp_size|TVM warp shuffle from the lane offset below.
TVMBackendAllocWorkspace|intrinsic|device_type, device_id, nbytes, dtype_code_hint, dtype_bits_hint|Host runtime call allocating a temporary workspace.
TVMBackendFreeWorkspace|intrinsic|device_type, device_id, ptr|Host runtime call freeing a temporary workspace.
undef|intrinsic||An arbitrary, uninitialised value.
vscale|intrinsic||The target's scalable-vector multiplier (LLVM vscale).
warp_reduce_bitand|intrinsic|value|Bitwise AND of a register value across the lanes of a warp.
warp_reduce_bitor|intrinsic|value|Bitwise OR of a register value across the lanes of a warp.
warp_reduce_max|intrinsic|value|Maximum of a register value across the lanes of a warp.
warp_reduce_min|intrinsic|value|Minimum of a register value across the lanes of a warp.
warp_reduce_sum|intrinsic|value|Sum a register value across the 32 lanes of a warp.
# ---- other
arg|other|name, obj|Raw TVM: add a PrimFunc argument.
buffer|other|shape, dtype='float32', data=None, strides=None, elem_offset=None, scope='global', align=0, offset_factor=0, buffer_type='', axis_separators=None|Raw TVM buffer declaration (scope 'global' by default).
buffer_decl|other|*args, **kwargs|Deprecated TVM alias of T.buffer.
buffer_store|other|buffer, value, indices, predicate=None|Raw TVM buffer store statement: buffer[indices] = value.
buffer_var|other|dtype, storage_scope='global'|Raw TVM pointer variable declaration with dtype and storage_scope.
comm_reducer|other|combiner, identity|Build a commutative reducer from a combiner function and identity values.
decl_buffer|other|shape, dtype='float32', data=None, strides=None, elem_offset=None, scope='global', align=0, offset_factor=0, buffer_type='', axis_separators=None|Raw TVM buffer declaration node over existing data (scope 'global' by default).
get_let_value|other|var|Value bound to var in the enclosing let frames, or None.
get_tvm_dtype|other|value|Normalise a string, T.* dtype or torch dtype to a TVM dtype.
has_let_value|other|var|Whether var is bound in the enclosing let frames.
index_map|other|mapping, *, inverse_index_map=None, index_dtype='int64'|Build a TVM IndexMap from a mapping function.
inline|other|func|Decorator: lower a method body to TIR, inlined at each call site.
is_f8f6f4_family|other|value|Whether value is an operand dtype of the tcgen05 f8f6f4 kinds.
is_float4|other|value|Whether value is any FP4 E2M1 variant (packed or unpacked).
is_float4_e2m1_unpacked|other|value|Whether value is the 8-bit unpacked FP4 E2M1 type.
is_float4_e2m1fn|other|value|Whether value is the packed 4-bit FP4 E2M1 type.
iter_var|other|v, dom, iter_type, thread_tag|Raw TVM IterVar constructor.
llvm_lookup_intrinsic_id|other|name|LLVM intrinsic id for a name (host-side helper).
lookup_param|other|param_name, span=None|Look up a bound parameter by name (TVM).
macro|other|func=None|Decorator for a reusable kernel fragment that is inlined at each call site inside a prim_func.
make_tensor|other|ptr, shape, dtype='float32', strides=None|View a raw pointer as a buffer with the given shape, dtype (default 'float32') and optional strides.
make_tensor_from_addr|other|addr, shape, dtype='float32', strides=None, storage_scope='global'|View an integer address as a buffer with the given shape, dtype, strides and storage_scope (default 'global').
match_buffer|other|param, shape=None, dtype='float32', data=None, strides=None, elem_offset=None, scope='global', align=-1, offset_factor=0, buffer_type='default', axis_separators=None|Raw TVM: bind a buffer view onto a parameter or region.
meta_class|other|cls|Class decorator for JIT-time helper classes (e.g. tile schedulers).
meta_var|other|value|Wrap a Python value that lives only in the parser, not in the generated IR.
prim_func|other|func=None, *, eager_jit=False|Decorator turning a typed Python function into a TileLang PrimFunc (eager_jit=True for the eager form).
print|other|obj=None, msg='', warp_group_id=0, warp_id=0|Device-side print of a buffer or expression with an optional msg; a shared or fragment buffer is printed by one thread, picked by warp_group_id/warp_id (default thread 0).
Range|other|begin, end|Half-open range [begin, end) object.
reads|other|*buffer_slices|Raw TVM block read-region declaration.
reshape|other|src, shape|View a buffer with a new shape of the same element count (no copy).
target|other|target_config, host=None|Build a TVM Target from a config string or dict.
type_annotation|other|dtype|Expression that only carries a type (TVM).
validate_gemm_ab_dtypes|other|a_dtype, b_dtype, *, a_in_tmem=False, allow_f8f6f4_mixed=False|Check that a GEMM's A and B dtypes may be mixed; raises otherwise.
var|other|dtype, name=''|Raw TVM scalar variable of dtype.
view|other|src, shape=None, dtype=None, strides=None|Reinterpret a buffer with a new shape, dtype and/or strides without copying.
writes|other|*buffer_slices|Raw TVM block write-region declaration.
# ---- type
Add|type|a, b, span=None|TIR Add node a + b.
And|type|a, b, span=None|TIR And node (logical a and b).
Any|type|*args, **kwargs|typing.Any re-exported for annotations.
AnyDType|type||Type alias for anything accepted as a dtype: a string, a T.* dtype or a torch dtype.
axis|type||TVM block-axis helper namespace (spatial/reduce axes).
BaseTileScheduler|type|*args, **kwargs|Base class of tile schedulers (state and tile traversal).
Broadcast|type|value, lanes, span=None|TIR Broadcast node (lanes copies of value).
BufferLoad|type|buffer, indices, predicate=None, span=None|TIR node reading buffer[indices].
Call|type|dtype, op, args, annotations=None, span=None|TIR Call node of op with args returning dtype.
CallEffectKind|type||Enum of side-effect kinds of TIR calls.
Cast|type|dtype, value, annotations=None, span=None|TIR Cast node converting value to dtype.
CommReducer|type|lhs, rhs, result, identity_element, span=None|TIR commutative reducer (lhs, rhs, result, identity).
Div|type|a, b, span=None|TIR Div node a / b.
dtype|type|value|TVM data type object; T.float16 etc. are instances and dtype('float16') builds one from a string.
EQ|type|a, b, span=None|TIR EQ node a == b.
FloatImm|type|dtype, value, span=None|TIR float constant node of dtype.
FloorDiv|type|a, b, span=None|TIR FloorDiv node a // b.
FloorMod|type|a, b, span=None|TIR FloorMod node (a mod b, floored).
Fragment|type|shape, forward_fn=None, forward_thread_fn=None, replicate=1, forward_index_fn=None|Fragment layout: maps tile indices to (thread, local index) via forward_fn / forward_thread_fn, with replicate copies.
GE|type|a, b, span=None|TIR GE node a >= b.
GemmWarpPolicy|type|value, names=None, *, module=None, qualname=None, type=None, start=1, boundary=None|Enum of how T.gemm splits warps over the C tile: GemmWarpPolicy.Square (0, default), FullRow (1, warps along M), FullCol (2, warps along N).
GT|type|a, b, span=None|TIR GT node a > b.
IntImm|type|dtype, value, span=None|TIR integer constant node of dtype.
IterVar|type|dom, var, iter_type, thread_tag='', span=None|TIR iteration variable with a domain and iteration type.
JITFunc|type|orig_func, signature, arg_names, tensor_args, tensor_args_defaults, ir_gen, mode='auto'|Internal wrapper of an eager-JIT function.
KernelLaunchFrame|type|stmts, frames, grid_vars, grid_extents, thread_vars, thread_extents|Frame object returned by T.Kernel (grid and thread vars and extents).
Layout|type|shape, forward_fn|Buffer layout: maps buffer indices to a new index via forward_fn over shape.
LE|type|a, b, span=None|TIR LE node a <= b.
LT|type|a, b, span=None|TIR LT node a < b.
Max|type|a, b, span=None|TIR Max node max(a, b).
Min|type|a, b, span=None|TIR Min node min(a, b).
Mod|type|a, b, span=None|TIR Mod node a % b (truncated).
Mul|type|a, b, span=None|TIR Mul node a * b.
NE|type|a, b, span=None|TIR NE node a != b.
Not|type|a, span=None|TIR Not node (logical not a).
Or|type|a, b, span=None|TIR Or node (logical a or b).
PartialFragment|type|shape, forward_fn=None, forward_thread_fn=None, replicate=1, forward_index_fn=None, combine=None|Layout of a reducer's per-thread partial results, with a combine rule.
PersistentTileScheduler|type|*args, **kwargs|Persistent grid-strided tile scheduler with L2 swizzle and clustering.
PrimExpr|type|dtype, span=MISSING|Base class of TIR scalar expressions.
PrimFunc|type|params, body, ret_type=None, buffer_map=None, attrs=None, span=None|TIR function node produced by @T.prim_func.
ProducerLoad|type|producer, indices, span=None|TIR node reading from a data producer.
Ramp|type|base, stride, lanes, span=None|TIR Ramp node (base, base+stride, ... of lanes elements).
Reduce|type|combiner, src, rdom, condition, value_index, init=None, span=None|TIR Reduce node over a reduction domain with a CommReducer.
Ref|type|bufload|Reference to a buffer element (eager mode), usable as an out-parameter.
Shuffle|type|vectors, indices, span=None|TIR Shuffle node picking lanes from vectors.
SizeVar|type|name, dtype, span=None|TIR variable known to be >= 0 (sizes).
SparseTensorCoreIntrinEmitter|type|a_dtype='float16', e_dtype='uint8', b_dtype='float16', accum_dtype='float16', a_transposed=False, b_transposed=False, e_transposed=False, block_row_warps=2, block_col_warps=2, warp_row_tiles=8, warp_col_tiles=8, warp_k=16, reduce_k=1, num_elems_per_byte=1, is_m_first=False, thread_var=None|Helper that emits 2:4 sparse mma.sp code.
StringImm|type|value, span=None|TIR string constant node.
Sub|type|a, b, span=None|TIR Sub node a - b.
TCGEN05DescriptorParams|type|swizzle_mode, leading_byte_offset, stride_byte_offset, swizzle_atom_elems, k_atom_size, elem_bits, is_k_major, slice_byte_offset=0, k_panel_elems=None|Precomputed tcgen05 shared-memory descriptor fields.
TCGEN05TensorCoreIntrinEmitter|type|a_dtype='float16', b_dtype='float16', accum_dtype='float16', a_transposed=False, b_transposed=False, block_row_warps=2, block_col_warps=2, warp_row_tiles=8, warp_col_tiles=8, chunk=16, reduce_k=1, num_elems_per_byte=1, is_m_first=False, thread_var=None|Helper that emits Blackwell tcgen05 MMA code.
TensorCoreIntrinEmitter|type|a_dtype='float16', b_dtype='float16', accum_dtype='float16', a_transposed=False, b_transposed=False, block_row_warps=2, block_col_warps=2, warp_row_tiles=8, warp_col_tiles=8, chunk=16, reduce_k=1, num_elems_per_byte=1, is_m_first=False, thread_var=None|Helper that emits warp-level mma.sync code for hand-written GEMMs.
TensorCoreIntrinEmitterSM120|type|a_dtype='float16', b_dtype='float16', accum_dtype='float16', a_transposed=False, b_transposed=False, block_row_warps=2, block_col_warps=2, warp_row_tiles=8, warp_col_tiles=8, chunk=16, reduce_k=1, num_elems_per_byte=1, is_m_first=False, thread_var=None, is_blockscaled=False, kind='mxf4nvf4', scale_vec_size=4, stype='ue4m3'|Warp-level MMA emitter for sm_120, with optional block-scale mode.
TensorCoreIntrinEmitterWithLadderTransform|type|a_dtype='float16', b_dtype='float16', accum_dtype='float16', a_transposed=False, b_transposed=False, block_row_warps=2, block_col_warps=2, warp_row_tiles=8, warp_col_tiles=8, chunk=16, reduce_k=1, num_elems_per_byte=1, is_m_first=False, transform_kind_a=0, transform_kind_b=0|mma.sync emitter variant with the Ladder layout transform.
Var|type|name, dtype, span=None|TIR scalar variable node.
WarpSpecializeFrame|type|stmts, frames|Frame object returned by T.ws.
WGMMADescriptorParams|type|swizzle_mode, leading_byte_offset, stride_byte_offset, swizzle_atom_elems, k_atom_size, elems_in_bytes, is_k_major, slice_byte_offset=0, k_panel_elems=None|Precomputed WGMMA shared-memory descriptor fields.
WGMMATensorCoreIntrinEmitter|type|a_dtype='float16', b_dtype='float16', accum_dtype='float16', a_transposed=False, b_transposed=False, block_row_warps=2, block_col_warps=2, warp_row_tiles=8, warp_col_tiles=8, chunk=16, reduce_k=1, num_elems_per_byte=1, is_m_first=False, thread_var=None|Helper that emits Hopper WGMMA code.
WGSparseTensorCoreIntrinEmitter|type|a_dtype='float16', e_dtype='uint8', b_dtype='float16', accum_dtype='float16', a_transposed=False, b_transposed=False, e_transposed=False, block_row_warps=2, block_col_warps=2, warp_row_tiles=8, warp_col_tiles=8, warp_k=16, reduce_k=1, num_elems_per_byte=1, is_m_first=False, thread_var=None|Helper that emits Hopper sparse WGMMA code.
# ---- dtype
bfloat16|dtype|*args, is_size_var=False|16-bit brain float (float32's 8-bit exponent, 7-bit mantissa); pass T.bfloat16 as a dtype, T.bfloat16(x) casts x or makes a constant.
bfloat16x16|dtype|expr=None, *, is_size_var=False|Vector dtype of 16 bfloat16 lanes; T.bfloat16x16(expr) casts expr (or declares a var when expr is None).
bfloat16x2|dtype|*args, is_size_var=False|Vector dtype of 2 bfloat16 lanes; T.bfloat16x2(x) builds or casts a vector value.
bfloat16x32|dtype|expr=None, *, is_size_var=False|Vector dtype of 32 bfloat16 lanes; T.bfloat16x32(expr) casts expr (or declares a var when expr is None).
bfloat16x4|dtype|expr=None, *, is_size_var=False|Vector dtype of 4 bfloat16 lanes; T.bfloat16x4(expr) casts expr (or declares a var when expr is None).
bfloat16x64|dtype|expr=None, *, is_size_var=False|Vector dtype of 64 bfloat16 lanes; T.bfloat16x64(expr) casts expr (or declares a var when expr is None).
bfloat16x8|dtype|expr=None, *, is_size_var=False|Vector dtype of 8 bfloat16 lanes; T.bfloat16x8(expr) casts expr (or declares a var when expr is None).
bool|dtype|*args, is_size_var=False|Boolean (stored as one byte); pass T.bool as a dtype, T.bool(x) casts x or makes a constant.
boolean|dtype|expr=None, is_size_var=False|Boolean scalar variable, or cast of expr to bool.
double|dtype|*args, is_size_var=False|C-style alias of T.float64 (64-bit IEEE double-precision float).
float|dtype|*args, is_size_var=False|C-style alias of T.float32 (32-bit IEEE single-precision float).
float16|dtype|*args, is_size_var=False|16-bit IEEE half-precision float; pass T.float16 as a dtype, T.float16(x) casts x or makes a constant.
float16x16|dtype|*args, is_size_var=False|Vector dtype of 16 float16 lanes; T.float16x16(x) builds or casts a vector value.
float16x2|dtype|*args, is_size_var=False|Vector dtype of 2 float16 lanes; T.float16x2(x) builds or casts a vector value.
float16x32|dtype|*args, is_size_var=False|Vector dtype of 32 float16 lanes; T.float16x32(x) builds or casts a vector value.
float16x4|dtype|*args, is_size_var=False|Vector dtype of 4 float16 lanes; T.float16x4(x) builds or casts a vector value.
float16x64|dtype|*args, is_size_var=False|Vector dtype of 64 float16 lanes; T.float16x64(x) builds or casts a vector value.
float16x8|dtype|*args, is_size_var=False|Vector dtype of 8 float16 lanes; T.float16x8(x) builds or casts a vector value.
float32|dtype|*args, is_size_var=False|32-bit IEEE single-precision float; pass T.float32 as a dtype, T.float32(x) casts x or makes a constant.
float32x16|dtype|*args, is_size_var=False|Vector dtype of 16 float32 lanes; T.float32x16(x) builds or casts a vector value.
float32x2|dtype|*args, is_size_var=False|Vector dtype of 2 float32 lanes; T.float32x2(x) builds or casts a vector value.
float32x32|dtype|*args, is_size_var=False|Vector dtype of 32 float32 lanes; T.float32x32(x) builds or casts a vector value.
float32x4|dtype|*args, is_size_var=False|Vector dtype of 4 float32 lanes; T.float32x4(x) builds or casts a vector value.
float32x64|dtype|*args, is_size_var=False|Vector dtype of 64 float32 lanes; T.float32x64(x) builds or casts a vector value.
float32x8|dtype|*args, is_size_var=False|Vector dtype of 8 float32 lanes; T.float32x8(x) builds or casts a vector value.
float4_e2m1_unpacked|dtype|*args, is_size_var=False|FP4 E2M1 stored one value per byte (shared-memory form for tcgen05); pass T.float4_e2m1_unpacked as a dtype, T.float4_e2m1_unpacked(x) casts x or makes a constant.
float4_e2m1fn|dtype|*args, is_size_var=False|4-bit float E2M1 (FP4), packed two per byte; pass T.float4_e2m1fn as a dtype, T.float4_e2m1fn(x) casts x or makes a constant.
float4_e2m1fnx16|dtype|*args, is_size_var=False|Vector dtype of 16 float4_e2m1fn lanes; T.float4_e2m1fnx16(x) builds or casts a vector value.
float4_e2m1fnx2|dtype|*args, is_size_var=False|Vector dtype of 2 float4_e2m1fn lanes; T.float4_e2m1fnx2(x) builds or casts a vector value.
float4_e2m1fnx32|dtype|*args, is_size_var=False|Vector dtype of 32 float4_e2m1fn lanes; T.float4_e2m1fnx32(x) builds or casts a vector value.
float4_e2m1fnx4|dtype|*args, is_size_var=False|Vector dtype of 4 float4_e2m1fn lanes; T.float4_e2m1fnx4(x) builds or casts a vector value.
float4_e2m1fnx64|dtype|*args, is_size_var=False|Vector dtype of 64 float4_e2m1fn lanes; T.float4_e2m1fnx64(x) builds or casts a vector value.
float4_e2m1fnx8|dtype|*args, is_size_var=False|Vector dtype of 8 float4_e2m1fn lanes; T.float4_e2m1fnx8(x) builds or casts a vector value.
float64|dtype|*args, is_size_var=False|64-bit IEEE double-precision float; pass T.float64 as a dtype, T.float64(x) casts x or makes a constant.
float64x16|dtype|*args, is_size_var=False|Vector dtype of 16 float64 lanes; T.float64x16(x) builds or casts a vector value.
float64x2|dtype|*args, is_size_var=False|Vector dtype of 2 float64 lanes; T.float64x2(x) builds or casts a vector value.
float64x32|dtype|*args, is_size_var=False|Vector dtype of 32 float64 lanes; T.float64x32(x) builds or casts a vector value.
float64x4|dtype|*args, is_size_var=False|Vector dtype of 4 float64 lanes; T.float64x4(x) builds or casts a vector value.
float64x64|dtype|*args, is_size_var=False|Vector dtype of 64 float64 lanes; T.float64x64(x) builds or casts a vector value.
float64x8|dtype|*args, is_size_var=False|Vector dtype of 8 float64 lanes; T.float64x8(x) builds or casts a vector value.
float6_e2m3fn|dtype|*args, is_size_var=False|6-bit float E2M3 (MX FP6), finite-only; pass T.float6_e2m3fn as a dtype, T.float6_e2m3fn(x) casts x or makes a constant.
float6_e2m3fnx16|dtype|*args, is_size_var=False|Vector dtype of 16 float6_e2m3fn lanes; T.float6_e2m3fnx16(x) builds or casts a vector value.
float6_e2m3fnx2|dtype|*args, is_size_var=False|Vector dtype of 2 float6_e2m3fn lanes; T.float6_e2m3fnx2(x) builds or casts a vector value.
float6_e2m3fnx32|dtype|*args, is_size_var=False|Vector dtype of 32 float6_e2m3fn lanes; T.float6_e2m3fnx32(x) builds or casts a vector value.
float6_e2m3fnx4|dtype|*args, is_size_var=False|Vector dtype of 4 float6_e2m3fn lanes; T.float6_e2m3fnx4(x) builds or casts a vector value.
float6_e2m3fnx64|dtype|*args, is_size_var=False|Vector dtype of 64 float6_e2m3fn lanes; T.float6_e2m3fnx64(x) builds or casts a vector value.
float6_e2m3fnx8|dtype|*args, is_size_var=False|Vector dtype of 8 float6_e2m3fn lanes; T.float6_e2m3fnx8(x) builds or casts a vector value.
float6_e3m2fn|dtype|*args, is_size_var=False|6-bit float E3M2 (MX FP6), finite-only; pass T.float6_e3m2fn as a dtype, T.float6_e3m2fn(x) casts x or makes a constant.
float6_e3m2fnx16|dtype|*args, is_size_var=False|Vector dtype of 16 float6_e3m2fn lanes; T.float6_e3m2fnx16(x) builds or casts a vector value.
float6_e3m2fnx2|dtype|*args, is_size_var=False|Vector dtype of 2 float6_e3m2fn lanes; T.float6_e3m2fnx2(x) builds or casts a vector value.
float6_e3m2fnx32|dtype|*args, is_size_var=False|Vector dtype of 32 float6_e3m2fn lanes; T.float6_e3m2fnx32(x) builds or casts a vector value.
float6_e3m2fnx4|dtype|*args, is_size_var=False|Vector dtype of 4 float6_e3m2fn lanes; T.float6_e3m2fnx4(x) builds or casts a vector value.
float6_e3m2fnx64|dtype|*args, is_size_var=False|Vector dtype of 64 float6_e3m2fn lanes; T.float6_e3m2fnx64(x) builds or casts a vector value.
float6_e3m2fnx8|dtype|*args, is_size_var=False|Vector dtype of 8 float6_e3m2fn lanes; T.float6_e3m2fnx8(x) builds or casts a vector value.
float8_e3m4|dtype|*args, is_size_var=False|8-bit float E3M4; pass T.float8_e3m4 as a dtype, T.float8_e3m4(x) casts x or makes a constant.
float8_e3m4x16|dtype|*args, is_size_var=False|Vector dtype of 16 float8_e3m4 lanes; T.float8_e3m4x16(x) builds or casts a vector value.
float8_e3m4x2|dtype|*args, is_size_var=False|Vector dtype of 2 float8_e3m4 lanes; T.float8_e3m4x2(x) builds or casts a vector value.
float8_e3m4x32|dtype|*args, is_size_var=False|Vector dtype of 32 float8_e3m4 lanes; T.float8_e3m4x32(x) builds or casts a vector value.
float8_e3m4x4|dtype|*args, is_size_var=False|Vector dtype of 4 float8_e3m4 lanes; T.float8_e3m4x4(x) builds or casts a vector value.
float8_e3m4x64|dtype|*args, is_size_var=False|Vector dtype of 64 float8_e3m4 lanes; T.float8_e3m4x64(x) builds or casts a vector value.
float8_e3m4x8|dtype|*args, is_size_var=False|Vector dtype of 8 float8_e3m4 lanes; T.float8_e3m4x8(x) builds or casts a vector value.
float8_e4m3|dtype|*args, is_size_var=False|8-bit float E4M3 with IEEE-style infinities; pass T.float8_e4m3 as a dtype, T.float8_e4m3(x) casts x or makes a constant.
float8_e4m3b11fnuz|dtype|*args, is_size_var=False|8-bit float E4M3 with exponent bias 11, finite-only, unsigned zero; pass T.float8_e4m3b11fnuz as a dtype, T.float8_e4m3b11fnuz(x) casts x or makes a constant.
float8_e4m3b11fnuzx16|dtype|*args, is_size_var=False|Vector dtype of 16 float8_e4m3b11fnuz lanes; T.float8_e4m3b11fnuzx16(x) builds or casts a vector value.
float8_e4m3b11fnuzx2|dtype|*args, is_size_var=False|Vector dtype of 2 float8_e4m3b11fnuz lanes; T.float8_e4m3b11fnuzx2(x) builds or casts a vector value.
float8_e4m3b11fnuzx32|dtype|*args, is_size_var=False|Vector dtype of 32 float8_e4m3b11fnuz lanes; T.float8_e4m3b11fnuzx32(x) builds or casts a vector value.
float8_e4m3b11fnuzx4|dtype|*args, is_size_var=False|Vector dtype of 4 float8_e4m3b11fnuz lanes; T.float8_e4m3b11fnuzx4(x) builds or casts a vector value.
float8_e4m3b11fnuzx64|dtype|*args, is_size_var=False|Vector dtype of 64 float8_e4m3b11fnuz lanes; T.float8_e4m3b11fnuzx64(x) builds or casts a vector value.
float8_e4m3b11fnuzx8|dtype|*args, is_size_var=False|Vector dtype of 8 float8_e4m3b11fnuz lanes; T.float8_e4m3b11fnuzx8(x) builds or casts a vector value.
float8_e4m3fn|dtype|*args, is_size_var=False|8-bit float E4M3, finite-only (NaN, no inf); the usual FP8 for GEMM inputs; pass T.float8_e4m3fn as a dtype, T.float8_e4m3fn(x) casts x or makes a constant.
float8_e4m3fnuz|dtype|*args, is_size_var=False|8-bit float E4M3, finite-only, unsigned zero (AMD FP8); pass T.float8_e4m3fnuz as a dtype, T.float8_e4m3fnuz(x) casts x or makes a constant.
float8_e4m3fnuzx16|dtype|*args, is_size_var=False|Vector dtype of 16 float8_e4m3fnuz lanes; T.float8_e4m3fnuzx16(x) builds or casts a vector value.
float8_e4m3fnuzx2|dtype|*args, is_size_var=False|Vector dtype of 2 float8_e4m3fnuz lanes; T.float8_e4m3fnuzx2(x) builds or casts a vector value.
float8_e4m3fnuzx32|dtype|*args, is_size_var=False|Vector dtype of 32 float8_e4m3fnuz lanes; T.float8_e4m3fnuzx32(x) builds or casts a vector value.
float8_e4m3fnuzx4|dtype|*args, is_size_var=False|Vector dtype of 4 float8_e4m3fnuz lanes; T.float8_e4m3fnuzx4(x) builds or casts a vector value.
float8_e4m3fnuzx64|dtype|*args, is_size_var=False|Vector dtype of 64 float8_e4m3fnuz lanes; T.float8_e4m3fnuzx64(x) builds or casts a vector value.
float8_e4m3fnuzx8|dtype|*args, is_size_var=False|Vector dtype of 8 float8_e4m3fnuz lanes; T.float8_e4m3fnuzx8(x) builds or casts a vector value.
float8_e4m3fnx16|dtype|*args, is_size_var=False|Vector dtype of 16 float8_e4m3fn lanes; T.float8_e4m3fnx16(x) builds or casts a vector value.
float8_e4m3fnx2|dtype|*args, is_size_var=False|Vector dtype of 2 float8_e4m3fn lanes; T.float8_e4m3fnx2(x) builds or casts a vector value.
float8_e4m3fnx32|dtype|*args, is_size_var=False|Vector dtype of 32 float8_e4m3fn lanes; T.float8_e4m3fnx32(x) builds or casts a vector value.
float8_e4m3fnx4|dtype|*args, is_size_var=False|Vector dtype of 4 float8_e4m3fn lanes; T.float8_e4m3fnx4(x) builds or casts a vector value.
float8_e4m3fnx64|dtype|*args, is_size_var=False|Vector dtype of 64 float8_e4m3fn lanes; T.float8_e4m3fnx64(x) builds or casts a vector value.
float8_e4m3fnx8|dtype|*args, is_size_var=False|Vector dtype of 8 float8_e4m3fn lanes; T.float8_e4m3fnx8(x) builds or casts a vector value.
float8_e4m3x16|dtype|*args, is_size_var=False|Vector dtype of 16 float8_e4m3 lanes; T.float8_e4m3x16(x) builds or casts a vector value.
float8_e4m3x2|dtype|*args, is_size_var=False|Vector dtype of 2 float8_e4m3 lanes; T.float8_e4m3x2(x) builds or casts a vector value.
float8_e4m3x32|dtype|*args, is_size_var=False|Vector dtype of 32 float8_e4m3 lanes; T.float8_e4m3x32(x) builds or casts a vector value.
float8_e4m3x4|dtype|*args, is_size_var=False|Vector dtype of 4 float8_e4m3 lanes; T.float8_e4m3x4(x) builds or casts a vector value.
float8_e4m3x64|dtype|*args, is_size_var=False|Vector dtype of 64 float8_e4m3 lanes; T.float8_e4m3x64(x) builds or casts a vector value.
float8_e4m3x8|dtype|*args, is_size_var=False|Vector dtype of 8 float8_e4m3 lanes; T.float8_e4m3x8(x) builds or casts a vector value.
float8_e5m2|dtype|*args, is_size_var=False|8-bit float E5M2 (wider range, less precision); pass T.float8_e5m2 as a dtype, T.float8_e5m2(x) casts x or makes a constant.
float8_e5m2fnuz|dtype|*args, is_size_var=False|8-bit float E5M2, finite-only, unsigned zero (AMD FP8); pass T.float8_e5m2fnuz as a dtype, T.float8_e5m2fnuz(x) casts x or makes a constant.
float8_e5m2fnuzx16|dtype|*args, is_size_var=False|Vector dtype of 16 float8_e5m2fnuz lanes; T.float8_e5m2fnuzx16(x) builds or casts a vector value.
float8_e5m2fnuzx2|dtype|*args, is_size_var=False|Vector dtype of 2 float8_e5m2fnuz lanes; T.float8_e5m2fnuzx2(x) builds or casts a vector value.
float8_e5m2fnuzx32|dtype|*args, is_size_var=False|Vector dtype of 32 float8_e5m2fnuz lanes; T.float8_e5m2fnuzx32(x) builds or casts a vector value.
float8_e5m2fnuzx4|dtype|*args, is_size_var=False|Vector dtype of 4 float8_e5m2fnuz lanes; T.float8_e5m2fnuzx4(x) builds or casts a vector value.
float8_e5m2fnuzx64|dtype|*args, is_size_var=False|Vector dtype of 64 float8_e5m2fnuz lanes; T.float8_e5m2fnuzx64(x) builds or casts a vector value.
float8_e5m2fnuzx8|dtype|*args, is_size_var=False|Vector dtype of 8 float8_e5m2fnuz lanes; T.float8_e5m2fnuzx8(x) builds or casts a vector value.
float8_e5m2x16|dtype|*args, is_size_var=False|Vector dtype of 16 float8_e5m2 lanes; T.float8_e5m2x16(x) builds or casts a vector value.
float8_e5m2x2|dtype|*args, is_size_var=False|Vector dtype of 2 float8_e5m2 lanes; T.float8_e5m2x2(x) builds or casts a vector value.
float8_e5m2x32|dtype|*args, is_size_var=False|Vector dtype of 32 float8_e5m2 lanes; T.float8_e5m2x32(x) builds or casts a vector value.
float8_e5m2x4|dtype|*args, is_size_var=False|Vector dtype of 4 float8_e5m2 lanes; T.float8_e5m2x4(x) builds or casts a vector value.
float8_e5m2x64|dtype|*args, is_size_var=False|Vector dtype of 64 float8_e5m2 lanes; T.float8_e5m2x64(x) builds or casts a vector value.
float8_e5m2x8|dtype|*args, is_size_var=False|Vector dtype of 8 float8_e5m2 lanes; T.float8_e5m2x8(x) builds or casts a vector value.
float8_e8m0fnu|dtype|*args, is_size_var=False|8-bit exponent-only E8M0 scale type (MX block scales); pass T.float8_e8m0fnu as a dtype, T.float8_e8m0fnu(x) casts x or makes a constant.
float8_e8m0fnux16|dtype|*args, is_size_var=False|Vector dtype of 16 float8_e8m0fnu lanes; T.float8_e8m0fnux16(x) builds or casts a vector value.
float8_e8m0fnux2|dtype|*args, is_size_var=False|Vector dtype of 2 float8_e8m0fnu lanes; T.float8_e8m0fnux2(x) builds or casts a vector value.
float8_e8m0fnux32|dtype|*args, is_size_var=False|Vector dtype of 32 float8_e8m0fnu lanes; T.float8_e8m0fnux32(x) builds or casts a vector value.
float8_e8m0fnux4|dtype|*args, is_size_var=False|Vector dtype of 4 float8_e8m0fnu lanes; T.float8_e8m0fnux4(x) builds or casts a vector value.
float8_e8m0fnux64|dtype|*args, is_size_var=False|Vector dtype of 64 float8_e8m0fnu lanes; T.float8_e8m0fnux64(x) builds or casts a vector value.
float8_e8m0fnux8|dtype|*args, is_size_var=False|Vector dtype of 8 float8_e8m0fnu lanes; T.float8_e8m0fnux8(x) builds or casts a vector value.
half|dtype|*args, is_size_var=False|C-style alias of T.float16 (16-bit IEEE half-precision float).
int|dtype|*args, is_size_var=False|C-style alias of T.int32 (32-bit signed integer).
int16|dtype|*args, is_size_var=False|16-bit signed integer; pass T.int16 as a dtype, T.int16(x) casts x or makes a constant.
int16x16|dtype|*args, is_size_var=False|Vector dtype of 16 int16 lanes; T.int16x16(x) builds or casts a vector value.
int16x2|dtype|*args, is_size_var=False|Vector dtype of 2 int16 lanes; T.int16x2(x) builds or casts a vector value.
int16x32|dtype|*args, is_size_var=False|Vector dtype of 32 int16 lanes; T.int16x32(x) builds or casts a vector value.
int16x4|dtype|*args, is_size_var=False|Vector dtype of 4 int16 lanes; T.int16x4(x) builds or casts a vector value.
int16x64|dtype|*args, is_size_var=False|Vector dtype of 64 int16 lanes; T.int16x64(x) builds or casts a vector value.
int16x8|dtype|*args, is_size_var=False|Vector dtype of 8 int16 lanes; T.int16x8(x) builds or casts a vector value.
int32|dtype|*args, is_size_var=False|32-bit signed integer; pass T.int32 as a dtype, T.int32(x) casts x or makes a constant.
int32x16|dtype|*args, is_size_var=False|Vector dtype of 16 int32 lanes; T.int32x16(x) builds or casts a vector value.
int32x2|dtype|*args, is_size_var=False|Vector dtype of 2 int32 lanes; T.int32x2(x) builds or casts a vector value.
int32x32|dtype|*args, is_size_var=False|Vector dtype of 32 int32 lanes; T.int32x32(x) builds or casts a vector value.
int32x4|dtype|*args, is_size_var=False|Vector dtype of 4 int32 lanes; T.int32x4(x) builds or casts a vector value.
int32x64|dtype|*args, is_size_var=False|Vector dtype of 64 int32 lanes; T.int32x64(x) builds or casts a vector value.
int32x8|dtype|*args, is_size_var=False|Vector dtype of 8 int32 lanes; T.int32x8(x) builds or casts a vector value.
int4|dtype|*args, is_size_var=False|4-bit signed integer, packed two per byte; pass T.int4 as a dtype, T.int4(x) casts x or makes a constant.
int64|dtype|*args, is_size_var=False|64-bit signed integer; pass T.int64 as a dtype, T.int64(x) casts x or makes a constant.
int64x16|dtype|*args, is_size_var=False|Vector dtype of 16 int64 lanes; T.int64x16(x) builds or casts a vector value.
int64x2|dtype|*args, is_size_var=False|Vector dtype of 2 int64 lanes; T.int64x2(x) builds or casts a vector value.
int64x32|dtype|*args, is_size_var=False|Vector dtype of 32 int64 lanes; T.int64x32(x) builds or casts a vector value.
int64x4|dtype|*args, is_size_var=False|Vector dtype of 4 int64 lanes; T.int64x4(x) builds or casts a vector value.
int64x64|dtype|*args, is_size_var=False|Vector dtype of 64 int64 lanes; T.int64x64(x) builds or casts a vector value.
int64x8|dtype|*args, is_size_var=False|Vector dtype of 8 int64 lanes; T.int64x8(x) builds or casts a vector value.
int8|dtype|*args, is_size_var=False|8-bit signed integer; pass T.int8 as a dtype, T.int8(x) casts x or makes a constant.
int8x16|dtype|*args, is_size_var=False|Vector dtype of 16 int8 lanes; T.int8x16(x) builds or casts a vector value.
int8x2|dtype|*args, is_size_var=False|Vector dtype of 2 int8 lanes; T.int8x2(x) builds or casts a vector value.
int8x32|dtype|*args, is_size_var=False|Vector dtype of 32 int8 lanes; T.int8x32(x) builds or casts a vector value.
int8x4|dtype|*args, is_size_var=False|Vector dtype of 4 int8 lanes; T.int8x4(x) builds or casts a vector value.
int8x64|dtype|*args, is_size_var=False|Vector dtype of 64 int8 lanes; T.int8x64(x) builds or casts a vector value.
int8x8|dtype|*args, is_size_var=False|Vector dtype of 8 int8 lanes; T.int8x8(x) builds or casts a vector value.
long|dtype|*args, is_size_var=False|C-style alias of T.int64 (64-bit signed integer).
short|dtype|*args, is_size_var=False|C-style alias of T.int16 (16-bit signed integer).
tfloat32|dtype|*args, is_size_var=False|TensorFloat-32: float32 storage, 10-bit mantissa in tensor-core math; pass T.tfloat32 as a dtype, T.tfloat32(x) casts x or makes a constant.
tfloat32x16|dtype|*args, is_size_var=False|Vector dtype of 16 tfloat32 lanes; T.tfloat32x16(x) builds or casts a vector value.
tfloat32x2|dtype|*args, is_size_var=False|Vector dtype of 2 tfloat32 lanes; T.tfloat32x2(x) builds or casts a vector value.
tfloat32x32|dtype|*args, is_size_var=False|Vector dtype of 32 tfloat32 lanes; T.tfloat32x32(x) builds or casts a vector value.
tfloat32x4|dtype|*args, is_size_var=False|Vector dtype of 4 tfloat32 lanes; T.tfloat32x4(x) builds or casts a vector value.
tfloat32x64|dtype|*args, is_size_var=False|Vector dtype of 64 tfloat32 lanes; T.tfloat32x64(x) builds or casts a vector value.
tfloat32x8|dtype|*args, is_size_var=False|Vector dtype of 8 tfloat32 lanes; T.tfloat32x8(x) builds or casts a vector value.
uint|dtype|*args, is_size_var=False|C-style alias of T.uint32 (32-bit unsigned integer).
uint16|dtype|*args, is_size_var=False|16-bit unsigned integer; pass T.uint16 as a dtype, T.uint16(x) casts x or makes a constant.
uint16x16|dtype|*args, is_size_var=False|Vector dtype of 16 uint16 lanes; T.uint16x16(x) builds or casts a vector value.
uint16x2|dtype|*args, is_size_var=False|Vector dtype of 2 uint16 lanes; T.uint16x2(x) builds or casts a vector value.
uint16x32|dtype|*args, is_size_var=False|Vector dtype of 32 uint16 lanes; T.uint16x32(x) builds or casts a vector value.
uint16x4|dtype|*args, is_size_var=False|Vector dtype of 4 uint16 lanes; T.uint16x4(x) builds or casts a vector value.
uint16x64|dtype|*args, is_size_var=False|Vector dtype of 64 uint16 lanes; T.uint16x64(x) builds or casts a vector value.
uint16x8|dtype|*args, is_size_var=False|Vector dtype of 8 uint16 lanes; T.uint16x8(x) builds or casts a vector value.
uint32|dtype|*args, is_size_var=False|32-bit unsigned integer; pass T.uint32 as a dtype, T.uint32(x) casts x or makes a constant.
uint32x16|dtype|*args, is_size_var=False|Vector dtype of 16 uint32 lanes; T.uint32x16(x) builds or casts a vector value.
uint32x2|dtype|*args, is_size_var=False|Vector dtype of 2 uint32 lanes; T.uint32x2(x) builds or casts a vector value.
uint32x32|dtype|*args, is_size_var=False|Vector dtype of 32 uint32 lanes; T.uint32x32(x) builds or casts a vector value.
uint32x4|dtype|*args, is_size_var=False|Vector dtype of 4 uint32 lanes; T.uint32x4(x) builds or casts a vector value.
uint32x64|dtype|*args, is_size_var=False|Vector dtype of 64 uint32 lanes; T.uint32x64(x) builds or casts a vector value.
uint32x8|dtype|*args, is_size_var=False|Vector dtype of 8 uint32 lanes; T.uint32x8(x) builds or casts a vector value.
uint64|dtype|*args, is_size_var=False|64-bit unsigned integer; pass T.uint64 as a dtype, T.uint64(x) casts x or makes a constant.
uint64x16|dtype|*args, is_size_var=False|Vector dtype of 16 uint64 lanes; T.uint64x16(x) builds or casts a vector value.
uint64x2|dtype|*args, is_size_var=False|Vector dtype of 2 uint64 lanes; T.uint64x2(x) builds or casts a vector value.
uint64x32|dtype|*args, is_size_var=False|Vector dtype of 32 uint64 lanes; T.uint64x32(x) builds or casts a vector value.
uint64x4|dtype|*args, is_size_var=False|Vector dtype of 4 uint64 lanes; T.uint64x4(x) builds or casts a vector value.
uint64x64|dtype|*args, is_size_var=False|Vector dtype of 64 uint64 lanes; T.uint64x64(x) builds or casts a vector value.
uint64x8|dtype|*args, is_size_var=False|Vector dtype of 8 uint64 lanes; T.uint64x8(x) builds or casts a vector value.
uint8|dtype|*args, is_size_var=False|8-bit unsigned integer; pass T.uint8 as a dtype, T.uint8(x) casts x or makes a constant.
uint8x16|dtype|*args, is_size_var=False|Vector dtype of 16 uint8 lanes; T.uint8x16(x) builds or casts a vector value.
uint8x2|dtype|*args, is_size_var=False|Vector dtype of 2 uint8 lanes; T.uint8x2(x) builds or casts a vector value.
uint8x32|dtype|*args, is_size_var=False|Vector dtype of 32 uint8 lanes; T.uint8x32(x) builds or casts a vector value.
uint8x4|dtype|*args, is_size_var=False|Vector dtype of 4 uint8 lanes; T.uint8x4(x) builds or casts a vector value.
uint8x64|dtype|*args, is_size_var=False|Vector dtype of 64 uint8 lanes; T.uint8x64(x) builds or casts a vector value.
uint8x8|dtype|*args, is_size_var=False|Vector dtype of 8 uint8 lanes; T.uint8x8(x) builds or casts a vector value.
void|dtype|expr=None, *, is_size_var=False|Void-typed variable or cast (TVM).
"""

# Default memory scope of allocations and buffer parameter types.
_SCOPES: dict[str, str] = {
    "alloc_barrier": "shared.barrier",
    "alloc_buffer": "global",
    "alloc_cluster_barrier": "shared.cluster_barrier",
    "alloc_descriptor": "local.descriptor.wgmma",
    "alloc_fragment": "local.fragment",
    "alloc_global": "global",
    "alloc_local": "local",
    "alloc_reducer": "local.reducer",
    "alloc_shared": "shared.dyn",
    "alloc_tcgen05_instr_desc": "local.descriptor.tcgen05_instr",
    "alloc_tcgen05_instruction_desc": "local.descriptor.tcgen05_instr",
    "alloc_tcgen05_smem_desc": "local.descriptor.tcgen05_smem",
    "alloc_tmem": "shared.tmem",
    "alloc_var": "local.var",
    "alloc_wgmma_desc": "local.descriptor.wgmma",
    "allocate": "global",
    "empty": "global",
    "sblock_alloc_buffer": "global",
    "Buffer": "global",
    "FragmentBuffer": "local.fragment",
    "LocalBuffer": "local",
    "Ptr": "global",
    "SharedBuffer": "shared.dyn",
    "StridedTensor": "global",
    "Tensor": "global",
    "ptr": "global",
    "buffer": "global",
    "decl_buffer": "global",
    "make_tensor": "global",
    "make_tensor_from_addr": "global",
}

# Buffer arguments each operation reads and writes: name -> (reads, writes),
# as indices into its parameters.
_ACCESS: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = {
    "async_copy": ((0,), (1,)),
    "atomic_add": ((0, 1), (0,)),
    "atomic_addx2": ((0, 1), (0,)),
    "atomic_addx4": ((0, 1), (0,)),
    "atomic_load": ((0,), ()),
    "atomic_max": ((0, 1), (0,)),
    "atomic_min": ((0, 1), (0,)),
    "atomic_or": ((0, 1), (0,)),
    "atomic_store": ((1,), (0,)),
    "c2d_im2col": ((0,), (1,)),
    "clear": ((), (0,)),
    "copy": ((0,), (1,)),
    "copy_cluster": ((0,), (1,)),
    "cummax": ((0,), (1,)),
    "cumsum": ((0,), (1,)),
    "fill": ((), (0,)),
    "finalize_reducer": ((0,), (1,)),
    "gemm": ((0, 1, 2), (2,)),
    "gemm_blockscaled": ((0, 1, 2, 3, 4), (2,)),
    "gemm_sp": ((0, 1, 2, 3), (3,)),
    "im2col": ((0,), (1,)),
    "mma_gemm_blockscaled": ((0, 1, 2, 3, 4), (2,)),
    "reduce": ((0,), (1,)),
    "reduce_absmax": ((0,), (1,)),
    "reduce_abssum": ((0,), (1,)),
    "reduce_bitand": ((0,), (1,)),
    "reduce_bitor": ((0,), (1,)),
    "reduce_bitxor": ((0,), (1,)),
    "reduce_max": ((0,), (1,)),
    "reduce_min": ((0,), (1,)),
    "reduce_sum": ((0,), (1,)),
    "tcgen05_gemm": ((0, 1, 2), (2,)),
    "tcgen05_gemm_blockscaled": ((0, 1, 2, 3, 4), (2,)),
    "tcgen05_gemm_sp": ((0, 1, 2, 3), (3,)),
    "tcgen05_mma": ((0, 1, 2), (2,)),
    "tcgen05_mma_blockscaled": ((0, 1, 2, 3, 4), (2,)),
    "tma_copy": ((0,), (1,)),
    "tma_gather4": ((0,), (1,)),
    "tma_scatter4": ((0,), (1,)),
    "transpose": ((0,), (1,)),
    "wgmma_gemm": ((0, 1, 2), (2,)),
    "wgmma_gemm_sp": ((0, 1, 2, 3), (3,)),
    "wgmma_mma": ((0, 1, 2), (2,)),
    "all_of": ((0,), ()),
    "any_of": ((0,), ()),
    "dp4a": ((0, 1, 2), (2,)),
    "reducer_init": ((), (0,)),
    "reducer_update": ((0, 1), (0,)),
}

# The seed's own text for the allocation family (the project's reference),
# from shared/seed/tilelang.language.allocate.txt, whitespace collapsed.
_REFERENCES: dict[str, str] = {
    "alloc_shared": (
        "alloc_shared(shape, dtype, scope='shared.dyn') Allocate a shared memory buffer for "
        "inter-thread communication. :param shape: The shape of the buffer to allocate :type "
        "shape: tuple :param dtype: The data type of the buffer (e.g., 'float32', 'int32') "
        ':type dtype: str :param scope: The memory scope. Defaults to "shared.dyn" :type scope: '
        "str, optional :returns: A TVM buffer object allocated in shared memory :rtype: "
        "T.Buffer"
    ),
    "alloc_local": (
        "alloc_local(shape, dtype, scope='local') Allocate a local memory buffer for "
        "thread-private storage. :param shape: The shape of the buffer to allocate :type shape: "
        "tuple :param dtype: The data type of the buffer (e.g., 'float32', 'int32') :type "
        'dtype: str :param scope: The memory scope. Defaults to "local" :type scope: str, '
        "optional :returns: A TVM buffer object allocated in local memory :rtype: T.Buffer"
    ),
    "alloc_fragment": (
        "alloc_fragment(shape, dtype, scope='local.fragment') Allocate a fragment memory buffer "
        "for specialized operations. :param shape: The shape of the buffer to allocate :type "
        "shape: tuple :param dtype: The data type of the buffer (e.g., 'float32', 'int32') "
        ':type dtype: str :param scope: The memory scope. Defaults to "local.fragment" :type '
        "scope: str, optional :returns: A TVM buffer object allocated in fragment memory "
        ":rtype: T.Buffer"
    ),
    "alloc_var": (
        "alloc_var(dtype, scope='local.var') Allocate a single-element variable buffer. :param "
        "dtype: The data type of the buffer (e.g., 'float32', 'int32') :type dtype: str :param "
        'scope: The memory scope. Defaults to "local.var" :type scope: str, optional :returns: '
        "A TVM buffer object allocated as a single-element variable :rtype: T.Buffer"
    ),
    "alloc_barrier": (
        "alloc_barrier(arrive_count) Allocate a barrier buffer. :param arrive_count: The number "
        "of threads that need to arrive at the barrier :type arrive_count: int :returns: A TVM "
        "buffer object allocated as a barrier :rtype: T.Buffer"
    ),
}

_PARAMS_CACHE: dict[str, tuple[Param, ...]] = {}


def _params(text: str) -> tuple[Param, ...]:
    """Parse a parameter list written as in a def, without annotations."""
    cached = _PARAMS_CACHE.get(text)
    if cached is not None:
        return cached
    params: list[Param] = []
    kind = "positional"
    for part in text.split(", ") if text else ():
        if part == "*":
            kind = "keyword"
        elif part[:2] == "**":
            params.append(Param(part[2:], None, "varkw"))
        elif part[0] == "*":
            params.append(Param(part[1:], None, "varargs"))
            kind = "keyword"
        else:
            name, eq, default = part.partition("=")
            params.append(Param(name, default if eq else None, kind))
    result = _PARAMS_CACHE[text] = tuple(params)
    return result


def _build() -> dict[str, Entry]:
    table: dict[str, Entry] = {}
    for line in _TABLE.splitlines():
        if not line or line.startswith("#"):
            continue
        name, category, params, doc = line.split("|", 3)
        reads, writes = _ACCESS.get(name, ((), ()))
        table[name] = Entry(
            name, category, _params(params), doc, _SCOPES.get(name), _REFERENCES.get(name), writes, reads
        )
    return table


CATALOG: dict[str, Entry] = _build()
TILE_OPS: frozenset[str] = frozenset(n for n, e in CATALOG.items() if e.category == "tile_op")

# Tile ops that TileLang 0.1.15 accepts inside T.Parallel (element atomics).
PARALLEL_OK: frozenset[str] = frozenset(
    {"atomic_add", "atomic_addx2", "atomic_addx4", "atomic_load", "atomic_max", "atomic_min", "atomic_or", "atomic_store"}
)

# Names of T.* that are values, not callables.
NOT_CALLABLE: frozenset[str] = frozenset({"AnyDType", "WSID"})

# Members reached as T.<name>.<member> in kernels.
ATTRIBUTE_MEMBERS: dict[str, tuple[str, ...]] = {
    "GemmWarpPolicy": ("Square", "FullRow", "FullCol"),  # values 0, 1, 2
    "WSScope": ("ROOT",),
    "WSSync": ("producer_acquire", "producer_commit", "consumer_wait", "consumer_release"),
    "WSSyncKind": ("PRODUCER_ACQUIRE", "PRODUCER_COMMIT", "CONSUMER_WAIT", "CONSUMER_RELEASE"),
}

# C-style dtype aliases of 0.1.15 and the dtype each one is.
DTYPE_ALIASES: dict[str, str] = {
    "half": "float16",
    "float": "float32",
    "double": "float64",
    "int": "int32",
    "long": "int64",
    "short": "int16",
    "uint": "uint32",
}


def lookup(name: str) -> Entry | None:
    """The entry for ``name`` (``"copy"``; a leading ``"T."`` is accepted), or None."""
    entry = CATALOG.get(name)
    if entry is None and name.startswith("T."):
        entry = CATALOG.get(name[2:])
    return entry


def signature(entry: Entry) -> str:
    """Render the call signature, e.g. ``alloc_shared(shape, dtype, scope='shared.dyn')``."""
    if entry.name in NOT_CALLABLE:
        return entry.name
    parts: list[str] = []
    star_done = False
    for p in entry.params:
        if p.kind == "varargs":
            parts.append("*" + p.name)
            star_done = True
        elif p.kind == "varkw":
            parts.append("**" + p.name)
        else:
            if p.kind == "keyword" and not star_done:
                parts.append("*")
                star_done = True
            parts.append(p.name if p.default is None else f"{p.name}={p.default}")
    return f"{entry.name}({', '.join(parts)})"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _names(names: list[str]) -> str:
    quoted = [f"'{n}'" for n in names]
    if len(quoted) == 1:
        return quoted[0]
    if len(quoted) == 2:
        return f"{quoted[0]} and {quoted[1]}"
    return ", ".join(quoted[:-1]) + f", and {quoted[-1]}"


def bind(entry: Entry, positional: list, keywords: dict) -> dict[str, object] | str:
    """Map call arguments onto parameter names the way Python binds them.

    Returns ``{param name: argument}`` in parameter order, holding only what
    the call passes (defaults are not filled in): extra positionals go under
    the ``*args`` name as a tuple and unknown keywords under the ``**kwargs``
    name as a dict, each only when non-empty. When the call does not fit,
    returns an error message (a ``str``) worded like Python's ``TypeError``.
    """
    fn = f"T.{entry.name}()"
    if entry.name in NOT_CALLABLE:
        return f"T.{entry.name} is not callable"
    pos_params = [p for p in entry.params if p.kind == "positional"]
    varargs = next((p for p in entry.params if p.kind == "varargs"), None)
    varkw = next((p for p in entry.params if p.kind == "varkw"), None)

    bound: dict[str, object] = {}
    for p, value in zip(pos_params, positional):
        bound[p.name] = value

    by_name = {p.name: p for p in entry.params if p.kind in ("positional", "keyword")}
    extra_kw: dict[str, object] = {}
    for key, value in keywords.items():
        if key not in by_name:
            if varkw is None:
                return f"{fn} got an unexpected keyword argument '{key}'"
            extra_kw[key] = value
        elif key in bound:
            return f"{fn} got multiple values for argument '{key}'"
        else:
            bound[key] = value

    if len(positional) > len(pos_params):
        if varargs is None:
            n_req = sum(1 for p in pos_params if p.default is None)
            if n_req == len(pos_params):
                takes = _plural(len(pos_params), "positional argument")
            else:
                takes = f"from {n_req} to {_plural(len(pos_params), 'positional argument')}"
            given = len(positional)
            return f"{fn} takes {takes} but {given} {'was' if given == 1 else 'were'} given"
        bound[varargs.name] = tuple(positional[len(pos_params) :])

    missing = [p.name for p in pos_params if p.default is None and p.name not in bound]
    if missing:
        return f"{fn} missing {_plural(len(missing), 'required positional argument')}: {_names(missing)}"
    missing_kw = [p.name for p in entry.params if p.kind == "keyword" and p.default is None and p.name not in bound]
    if missing_kw:
        return f"{fn} missing {_plural(len(missing_kw), 'required keyword-only argument')}: {_names(missing_kw)}"

    if extra_kw and varkw is not None:
        bound[varkw.name] = extra_kw
    return {p.name: bound[p.name] for p in entry.params if p.name in bound}
