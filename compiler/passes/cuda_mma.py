"""Register fragments and tensor-core gemm for CUDA (the second level; runs before `cuda_threads`).

A fragment gets a thread layout, and lives in per-thread registers, when every use of it is one the
layout can serve element by element:

- the accumulator of a `T.gemm` whose A and B are float16 or bfloat16 tiles in shared memory and whose C
  is float32, or int8 tiles (A m x k, B n x k) into int32 (`mma.sync.m16n8k32`) (`mma_layout`: the warps tile C, each warp in m16n8 pieces; the `mma.sync.m16n8k16`
  accumulator layout inside a piece), or
- otherwise any fragment (`cyclic_layout`: element f of the flattened tile on thread f % threads, when
  the tile's size is a multiple of the thread count),

and besides that only: `T.fill`/`T.clear` of the whole fragment, `T.copy` of the whole fragment to or
from global or shared memory, and `T.Parallel` nests over exactly the fragment's shape that index it with
the loop variables in order. Any other use (a reduction, a slice, a transposed index) keeps the fragment
in shared memory (`cuda_threads`, first level), where every thread can reach every element.

A rewritten use becomes a per-thread loop over the thread's registers (annotated `tl.spread`, so the
barrier pass fences it as a whole and `spread_parallel` leaves it alone), with each register's tile
coordinates bound from the thread index.

The gemm loads A and B with `ldmatrix` (x4; `.trans` where the tile is stored k-major for B, or m-major
for a transposed A) and multiplies with `mma.sync.aligned.m16n8k16.row.col` into fp32 registers. An A
that is a half-precision register copy of an accumulator of the same warp rows (FlashAttention's
probabilities) is fed from registers: two m16n8 accumulator pieces are one m16k16 A fragment. The
instructions are small device functions of ours (`PRELUDE`), prepended to the generated CUDA source and
called through `call_extern` with the addresses of register arrays and shared-memory elements.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import tvm
from tvm import tirx
from tvm.ir.expr import TensorLoad

from .. import tile_ir
from ..ir import walk
from ..ir_rewrite import BufferSubst, Rewriter, rewrite_funcs, with_body
from ..tile_ir import RegionRef
from .cuda_roles import plan_by_role
from .cuda_wgmma import WgmmaLayout, wgmma_gemm, wgmma_layout
from .cuda_threads import SPREAD_KEY, InThreadLoop, perfect_parallel_nest, serial_parallel_loops, sync_stmt
from .lower_tile_ops import _cast

PRELUDE = r"""
// tilelsp tensor-core helpers: ldmatrix and mma.sync (m16n8k16, fp32 accumulators)
__device__ __forceinline__ unsigned tl_smem_addr(const void* p) {
  return static_cast<unsigned>(__cvta_generic_to_shared(p));
}
__device__ __forceinline__ void tl_ldmatrix_x4(unsigned* r, const void* smem) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(tl_smem_addr(smem)));
}
__device__ __forceinline__ void tl_ldmatrix_x2(unsigned* r, const void* smem) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x2.shared.b16 {%0, %1}, [%2];\n"
               : "=r"(r[0]), "=r"(r[1]) : "r"(tl_smem_addr(smem)));
}
__device__ __forceinline__ void tl_ldmatrix_x2_trans(unsigned* r, const void* smem) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x2.trans.shared.b16 {%0, %1}, [%2];\n"
               : "=r"(r[0]), "=r"(r[1]) : "r"(tl_smem_addr(smem)));
}
__device__ __forceinline__ void tl_ldmatrix_x4_trans(unsigned* r, const void* smem) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(tl_smem_addr(smem)));
}
template <typename T>  // two adjacent elements (16- or 32-bit) in one store, converted from fp32/int32
struct alignas(2 * sizeof(T)) tl_pair { T x, y; };
template <typename T, typename V>
__device__ __forceinline__ void tl_store_x2(T* p, V a, V b) {
  *reinterpret_cast<tl_pair<T>*>(p) = tl_pair<T>{static_cast<T>(a), static_cast<T>(b)};
}
template <typename T>  // half or nv_bfloat16: two 16-bit values in one register, lo in the low half
__device__ __forceinline__ unsigned tl_pack_x2(T lo, T hi) {
  unsigned short a = *reinterpret_cast<unsigned short*>(&lo), b = *reinterpret_cast<unsigned short*>(&hi);
  return static_cast<unsigned>(a) | (static_cast<unsigned>(b) << 16);
}
__device__ __forceinline__ void tl_mma_f16_f32(float* c, const unsigned* a, const unsigned* b) {
  asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 "
               "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\n"
               : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}
__device__ __forceinline__ void tl_mma_bf16_f32(float* c, const unsigned* a, const unsigned* b) {
  asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 "
               "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\n"
               : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}
__device__ __forceinline__ void tl_mma_s8_s32(int* c, const unsigned* a, const unsigned* b) {
  asm volatile("mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32 "
               "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\n"
               : "+r"(c[0]), "+r"(c[1]), "+r"(c[2]), "+r"(c[3])
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}
"""

FRAGMENT = "local.fragment"


def _c(v: int) -> Any:
    return tirx.const(v, "int32")


# ------------------------------------------------------------------ layouts


@dataclass(frozen=True)
class MmaLayout:
    """C (m x n) over `warps_m x warps_n` warps; per warp `mt x nt` pieces of 16 x 8; register
    r = (mi * nt + ni) * 4 + c holds row wm * (m / warps_m) + mi * 16 + lane / 4 + 8 * (c / 2) and
    column wn * (n / warps_n) + ni * 8 + 2 * (lane % 4) + c % 2 (the m16n8k16 accumulator layout)."""

    m: int
    n: int
    warps_m: int
    warps_n: int

    @property
    def mt(self) -> int:
        return self.m // self.warps_m // 16

    @property
    def nt(self) -> int:
        return self.n // self.warps_n // 8

    @property
    def size(self) -> int:
        return self.mt * self.nt * 4

    def warp_origin(self, tx: Any) -> tuple[Any, Any]:
        warp = tirx.floordiv(tx, 32)
        return (tirx.floordiv(warp, self.warps_n) * (self.m // self.warps_m),
                tirx.floormod(warp, self.warps_n) * (self.n // self.warps_n))

    def rows(self) -> RowLayout:
        """Thread tx holds rows m0 + mi*16 + lane/4 (+8): slot s = 2 mi + c/2; a row is shared by the 4
        lanes of a quad and by the warps_n warps of the same warp row."""
        return RowLayout(("mma", self.m, self.warps_m, self.warps_n), self.mt * 2, self)

    def slot_of(self, r: Any) -> Any:
        return tirx.floordiv(r, self.nt * 4) * 2 + tirx.floordiv(tirx.floormod(r, 4), 2)

    def row_exchange(self, tx: Any) -> tuple[list[int], int, Any, Any]:
        """A row lives on the 4 lanes of a quad and on the warps_n warps of one warp row."""
        lane, warp = tirx.floormod(tx, 32), tirx.floordiv(tx, 32)
        return [1, 2], self.warps_n, tirx.floormod(warp, self.warps_n), tirx.EQ(tirx.floormod(lane, 4), _c(0))

    def row_of_slot(self, tx: Any, s: Any) -> Any:
        m0, _ = self.warp_origin(tx)
        return m0 + tirx.floordiv(s, 2) * 16 + tirx.floordiv(tirx.floormod(tx, 32), 4) + tirx.floormod(s, 2) * 8

    def coords(self, tx: Any, r: Any) -> list[Any]:
        lane = tirx.floormod(tx, 32)
        m0, n0 = self.warp_origin(tx)
        mi, ni, c = tirx.floordiv(r, self.nt * 4), tirx.floormod(tirx.floordiv(r, 4), self.nt), tirx.floormod(r, 4)
        row = m0 + mi * 16 + tirx.floordiv(lane, 4) + tirx.floordiv(c, 2) * 8
        col = n0 + ni * 8 + tirx.floormod(lane, 4) * 2 + tirx.floormod(c, 2)
        return [row, col]


@dataclass(frozen=True)
class CyclicLayout:
    """Element f of the flattened tile on thread f % threads, register f // threads; with `vec` > 1, runs of
    `vec` consecutive elements go round the threads instead: f on thread (f // vec) % threads, register
    (f // (vec * threads)) * vec + f % vec (`vector_width` picks it for tiles whose rows a row reduction
    could not otherwise reach)."""

    shape: tuple[int, ...]
    threads: int
    vec: int = 1

    @property
    def size(self) -> int:
        total = 1
        for d in self.shape:
            total *= d
        return total // self.threads

    def rows(self) -> RowLayout | None:
        """With (m, n) and n a multiple of the threads, each thread holds n / threads elements of every
        row: slot s = row s, and every thread shares every row. With n a power of two up to 32 that
        divides the threads, row i lies on n consecutive lanes of one warp: each register is a row of its
        own (slot = register). With runs of `vec` (n = vec * p, vec * threads a multiple of n), register
        run g of thread tx lies in row g * (threads / p) + tx / p: slot = run, and row i is held by the p
        consecutive threads i % (threads / p) * p ... (p a power of two up to 32: one warp segment; or a
        multiple of 32: whole warps)."""
        if len(self.shape) != 2:
            return None
        m, n = self.shape
        if self.vec > 1:
            return RowLayout(("cyclic-vec", m, n, self.threads, self.vec), self.size // self.vec, self)
        if n % self.threads == 0:
            return RowLayout(("cyclic", m), m, self)
        if n <= 32 and 32 % n == 0 and self.threads % n == 0:
            return RowLayout(("cyclic-lanes", m, n, self.threads), self.size, self)
        return None

    def _whole_rows(self) -> bool:
        return self.vec == 1 and self.shape[1] % self.threads == 0

    def _row_threads(self) -> int:
        """Threads that share a row: n for short rows, n / vec for runs (not used for whole rows)."""
        return self.shape[1] // self.vec

    def slot_of(self, r: Any) -> Any:
        if self.vec > 1:
            return tirx.floordiv(r, self.vec)
        return tirx.floordiv(r, self.shape[1] // self.threads) if self._whole_rows() else r

    def row_of_slot(self, tx: Any, s: Any) -> Any:
        if self._whole_rows():
            return s
        p = self._row_threads()
        return s * (self.threads // p) + tirx.floordiv(tx, p)

    def row_exchange(self, tx: Any) -> tuple[list[int], int, Any, Any]:
        """(xor lane offsets, warps sharing a row, this warp's index among them, the writing lane test)."""
        lane, warp = tirx.floormod(tx, 32), tirx.floordiv(tx, 32)
        if self._whole_rows():
            return [16, 8, 4, 2, 1], self.threads // 32, warp, tirx.EQ(lane, _c(0))
        p = self._row_threads()
        if p > 32:  # runs: a row on p / 32 whole warps
            return [16, 8, 4, 2, 1], p // 32, tirx.floormod(warp, p // 32), tirx.EQ(lane, _c(0))
        return [p >> k for k in range(1, p.bit_length()) if p >> k], 1, _c(0), tirx.EQ(tirx.floormod(lane, p), _c(0))

    def cols(self) -> ColLayout | None:
        """A column vector (n,) reduced over the rows: with n a multiple of the threads each thread holds
        whole columns (tx, tx + threads, ...); with the threads a multiple of n, column tx % n is shared by
        threads // n threads (one column each)."""
        if len(self.shape) != 2 or self.vec > 1:
            return None
        n = self.shape[1]
        if n % self.threads == 0:
            return ColLayout(("cyclic-cols", n, self.threads), n // self.threads, self, 1)
        if self.threads % n == 0:
            return ColLayout(("cyclic-cols", n, self.threads), 1, self, self.threads // n)
        return None

    def slot_of_col(self, r: Any) -> Any:
        n = self.shape[1]
        return tirx.floormod(r, n // self.threads) if n % self.threads == 0 else _c(0)

    def col_of_slot(self, tx: Any, s: Any) -> Any:
        n = self.shape[1]
        return s * self.threads + tx if n % self.threads == 0 else tirx.floormod(tx, n)

    def coords(self, tx: Any, r: Any) -> list[Any]:
        if self.vec > 1:
            f = (tirx.floordiv(r, self.vec) * self.threads + tx) * self.vec + tirx.floormod(r, self.vec)
        else:
            f = r * self.threads + tx
        out = []
        stride = 1
        for d in reversed(self.shape):
            out.append(tirx.floormod(tirx.floordiv(f, stride), d) if stride > 1 else tirx.floormod(f, d))
            stride *= d
        return list(reversed(out))


def vector_width(shape: tuple[int, ...], threads: int) -> int:
    """The run length `vec` for a 2-D (m, n) tile whose rows a row reduction reads: 1 (plain cyclic) when
    that already keeps rows reducible (n a multiple of the threads, or short rows on lanes of one warp);
    else the smallest vec (dividing the registers per thread and n, with vec * threads a multiple of n)
    whose p = n / vec threads per row are a power of two up to 32 (one warp segment: shuffles only), else
    the smallest whose p is a multiple of 32 (whole warps: shuffles and a table); 1 when none fits (then
    the tile stays in shared memory). Rows of 64 on 128 threads: vec 2, each row on one warp; rows of 480
    on 128 or 256 threads (15 registers): vec 15, each row on one warp."""
    base = CyclicLayout(shape, threads)
    if len(shape) != 2 or threads % 32 or base.size * threads != _numel(shape) or base.rows() is not None:
        return 1
    n, size = shape[1], base.size
    whole_warps = None
    for v in range(2, size + 1):
        if size % v or n % v or (v * threads) % n:
            continue
        p = n // v
        if p <= 32 and 32 % p == 0:
            return v
        if p % 32 == 0 and whole_warps is None:
            whole_warps = v
    return whole_warps or 1


@dataclass(frozen=True)
class RowLayout:
    """A row vector (m,) reduced from, or broadcast over, a 2-D layout: each thread keeps the rows it
    holds elements of (its slots), so a row's value is replicated on the threads that share the row."""

    key: tuple[Any, ...]
    size: int
    source: Any = field(compare=False, hash=False)

    axis = 0  # the tile axis it runs along (the kept one)

    def coords(self, tx: Any, s: Any) -> list[Any]:
        return [self.source.row_of_slot(tx, s)]


@dataclass(frozen=True)
class ColLayout(RowLayout):
    """A column vector (n,) reduced from, or broadcast over, a cyclic tile: thread tx keeps the columns it
    holds elements of; `sharers` threads hold each column (1: no exchange needed)."""

    sharers: int = field(default=1, compare=False, hash=False)

    axis = 1

    def coords(self, tx: Any, s: Any) -> list[Any]:
        return [self.source.col_of_slot(tx, s)]


@dataclass(frozen=True)
class ReplicatedLayout:
    """A small 1-D fragment every thread keeps whole (its own copy, same indices): written only where
    every thread can compute every element (fills, whole copies in, T.Parallel over exactly its
    length, block-uniform code), read anywhere, also from nests spread over the threads."""

    length: int

    @property
    def size(self) -> int:
        return self.length

    def coords(self, tx: Any, r: Any) -> list[Any]:
        return [r]


REPLICATED_LIMIT = 64  # elements: registers per thread a replicated fragment may take


def mma_partition(m: int, n: int, warps: int, policy: int = 0) -> tuple[int, int] | None:
    """warps_m x warps_n = warps with m % (16 warps_m) == 0 and n % (16 warps_n) == 0: T.gemm's warp
    policy (FullRow: every warp along M, FullCol: along N) when it fits, else the warp tile as square as
    possible; when no split gives each warp a multiple of 16 columns, one of 8 (an odd number of n8
    pieces: B is loaded one piece at a time); None when there is none."""
    for cols in (16, 8):
        preferred = {1: (warps, 1), 2: (1, warps)}.get(policy)
        if preferred and m % (16 * preferred[0]) == 0 and n % (cols * preferred[1]) == 0:
            return preferred
        best = None
        for wm in range(1, warps + 1):
            if warps % wm:
                continue
            wn = warps // wm
            if m % (16 * wm) or n % (cols * wn):
                continue
            score = abs(m // wm - n // wn)
            if best is None or score < best[0]:
                best = (score, wm, wn)
        if best is not None:
            return best[1], best[2]
    return None


def _shape(buf: Any) -> tuple[int, ...] | None:
    dims = []
    for d in buf.shape:
        if not isinstance(d, tirx.IntImm):
            return None
        dims.append(int(d.value))
    return tuple(dims)


def _whole(r: RegionRef) -> bool:
    shape = _shape(r.buffer)
    return shape is not None and tuple(r.extents) == shape and all(
        isinstance(m, tirx.IntImm) and int(m.value) == 0 for m in r.mins)


MMA_KINDS = {  # (A/B dtype, C dtype) -> (k per mma, helper)
    ("float16", "float32"): (16, "tl_mma_f16_f32"),
    ("bfloat16", "float32"): (16, "tl_mma_bf16_f32"),
    ("int8", "int32"): (32, "tl_mma_s8_s32"),
}


def _mma_gemm(op: tile_ir.TileOp, threads: int) -> MmaLayout | None:
    a, b, c, trans_a, trans_b = op.args[:5]
    policy = op.args[6] if len(op.args) > 6 else 0
    if c.buffer.scope() != FRAGMENT or not _whole(c) or len(c.extents) != 2:
        return None
    # A and B from shared memory; a fragment operand stays in shared memory for it (`plan`)
    if any(not (r.buffer.scope().startswith("shared") or r.buffer.scope() == FRAGMENT) for r in (a, b)):
        return None
    kind = (str(a.buffer.dtype), str(c.buffer.dtype))
    if str(a.buffer.dtype) != str(b.buffer.dtype) or kind not in MMA_KINDS:
        return None
    kstep = MMA_KINDS[kind][0]
    if kstep == 32 and (trans_a or not trans_b):
        return None  # 8-bit operands: ldmatrix cannot transpose them, so A must be m x k and B n x k
    m, n = c.extents
    k = a.extents[-2] if trans_a else a.extents[-1]
    if k % kstep or threads % 32:
        return None
    # every region's row (its last axis) starts 16-byte aligned for ldmatrix
    per = 16 // (tvm.runtime.DataType(str(a.buffer.dtype)).bits // 8)
    for r in (a, b):
        if int(r.buffer.shape[-1]) % per or not (isinstance(r.mins[-1], tirx.IntImm) and int(r.mins[-1].value) % per == 0):
            return None
    part = mma_partition(m, n, threads // 32, policy)
    return None if part is None else MmaLayout(m, n, part[0], part[1])


# ------------------------------------------------------------------ planning


WGMMA_ARCHES = ("sm_90a",)  # wgmma.mma_async needs the arch-specific sm_90a target


def _arch(func: Any) -> str | None:
    from .cuda_threads import ARCH_ATTR

    attrs = getattr(func, "attrs", None)
    return str(attrs[ARCH_ATTR]) if attrs is not None and ARCH_ATTR in attrs else None


def _plain_accumulator(ops: list[tile_ir.TileOp], c: Any) -> bool:
    """`c` is only ever a gemm's C, filled, or copied out to shared or global memory (no reduction reads
    it, no fragment copy or gemm A operand takes it): the uses a wgmma accumulator layout serves."""
    for op in ops:
        regions = [a for a in op.args if isinstance(a, RegionRef)]
        if not any(r.buffer.same_as(c) for r in regions):
            continue
        if op.name == "gemm" and op.args[2].buffer.same_as(c) and not op.args[0].buffer.same_as(c):
            continue
        if op.name == "fill":
            continue
        if op.name == "copy" and op.args[0].buffer.same_as(c) and op.args[1].buffer.scope() != FRAGMENT:
            continue
        return False
    return True


def _tile_ops(body: Any) -> list[tile_ir.TileOp]:
    return [op for s in walk(body) if isinstance(s, tirx.Evaluate) for op in [tile_ir.decode(s)] if op is not None]


def plan(func: Any, threads: int) -> dict[Any, Any]:
    """Candidate layouts: gemm accumulators get the mma layout, other fragments the cyclic one."""
    out: dict[Any, Any] = {}
    refused = set()
    ops = _tile_ops(func.body)
    gemms = [op for op in ops if op.name == "gemm"]
    wgmma = _arch(func) in WGMMA_ARCHES
    for op in gemms:
        c = op.args[2].buffer
        layout = _mma_gemm(op, threads)
        if wgmma and layout is not None and _plain_accumulator(ops, c):
            layout = wgmma_layout(op, threads) or layout
        if layout is None or (c in out and out[c] != layout):
            refused.add(c)
        else:
            out[c] = layout
    # a half-precision copy of an accumulator (FlashAttention's p = s) keeps its layout: it can feed the
    # next gemm's A operand straight from registers
    for op in ops:
        if op.name == "copy":
            src, dst = op.args[0].buffer, op.args[1].buffer
            if isinstance(out.get(src), MmaLayout) and dst.scope() == FRAGMENT and dst not in out \
                    and _shape(dst) == _shape(src) and str(dst.dtype) in ("float16", "bfloat16"):
                out[dst] = out[src]
    operands = set()  # fragments an mma gemm reads through ldmatrix, from shared memory
    for op in gemms:
        if op.args[2].buffer not in out:
            continue
        a, b = op.args[0].buffer, op.args[1].buffer
        if a.scope() == FRAGMENT and not register_operand(op, out):
            operands.add(a)
        if b.scope() == FRAGMENT:
            operands.add(b)
    # tiles of the shape of a row reduction's source whose plain cyclic rows do not serve it: runs of vec
    # elements per thread (`vector_width`); not for a tile reduced along its columns
    row_reduced = {_shape(op.args[1].buffer) for op in ops
                   if op.name == "reduce" and op.args[3] == 1 and op.args[1].buffer.scope() == FRAGMENT}
    col_reduced = {op.args[1].buffer for op in ops if op.name == "reduce" and op.args[3] == 0}
    for s in walk(func.body):
        if isinstance(s, tirx.AllocBuffer) and s.buffer.scope() == FRAGMENT and s.buffer not in out:
            shape = _shape(s.buffer)
            if shape is not None and CyclicLayout(shape, threads).size * threads == _numel(shape):
                vec = vector_width(shape, threads) if shape in row_reduced and s.buffer not in col_reduced else 1
                out[s.buffer] = CyclicLayout(shape, threads, vec)
    for op in ops:
        if op.name == "reduce":
            src, dst, dim = op.args[1].buffer, op.args[2].buffer, op.args[3]
            if dim == 0 and isinstance(out.get(src), CyclicLayout) and dst.scope() == FRAGMENT \
                    and len(_shape(src)) == 2 and _shape(dst) == (_shape(src)[1],):
                cols = out[src].cols()
                if cols is not None and (not isinstance(out.get(dst), RowLayout) or out[dst] == cols):
                    out[dst] = cols
                    continue
            rows = out[src].rows() if src in out and hasattr(out[src], "rows") else None
            if rows is None or dim != 1 or dst.scope() != FRAGMENT or _shape(dst) != (_shape(src)[0],):
                if dst in out and isinstance(out[dst], RowLayout):
                    refused.add(dst)
                continue
            if isinstance(out.get(dst), RowLayout) and out[dst] != rows:
                refused.add(dst)
            else:
                out[dst] = rows
    # other row vectors of the same height (running max, scale factors, sums) share the row layout when
    # there is exactly one; the leftover check drops those whose uses do not fit
    keys: dict[int, set[Any]] = {}
    for lay in out.values():
        if isinstance(lay, RowLayout):
            keys.setdefault(lay.key[1], set()).add(lay)  # the height: a cyclic tile's m or the mma m
    for st in walk(func.body):
        if isinstance(st, tirx.AllocBuffer) and st.buffer.scope() == FRAGMENT and st.buffer not in out:
            shape = _shape(st.buffer)
            if shape is not None and len(shape) == 1 and len(keys.get(shape[0], ())) == 1:
                out[st.buffer] = next(iter(keys[shape[0]]))
    for st in walk(func.body):
        if isinstance(st, tirx.AllocBuffer) and st.buffer.scope() == FRAGMENT and st.buffer not in out:
            shape = _shape(st.buffer)
            if shape is not None and len(shape) == 1 and shape[0] <= REPLICATED_LIMIT:
                out[st.buffer] = ReplicatedLayout(shape[0])
    for buf in refused | operands:
        out.pop(buf, None)
    return out


def register_operand(op: tile_ir.TileOp, layouts: dict[Any, Any]) -> bool:
    """The gemm's A is a register fragment in the accumulator layout of the same warp rows, one warp
    across its columns: its m16n8 pieces pair up into m16k16 A fragments without moving data."""
    a, c, trans_a = op.args[0], op.args[2], op.args[3]
    la, lc = layouts.get(a.buffer), layouts.get(c.buffer)
    return (isinstance(la, MmaLayout) and isinstance(lc, MmaLayout) and not trans_a and _whole(a)
            and la.m == lc.m and la.warps_m == lc.warps_m and la.warps_n == 1 and lc.warps_n == 1
            and la.n % 16 == 0 and str(a.buffer.dtype) in ("float16", "bfloat16"))


def _numel(shape: tuple[int, ...]) -> int:
    total = 1
    for d in shape:
        total *= d
    return total


# ------------------------------------------------------------------ rewriting


def _loads(node: Any, buf: Any) -> bool:
    return any(isinstance(n, TensorLoad) and n.source.same_as(buf) or isinstance(n, tirx.BufferStore)
               and n.buffer.same_as(buf) for n in walk(node))


class _Registers(Rewriter):
    """Rewrites the uses of planned fragments inside one block's thread loop."""

    def __init__(self, tx: Any, threads: int, layouts: dict[Any, Any]) -> None:
        self.tx = tx
        self.threads = threads
        self.layouts = layouts
        self.regs = {buf: tirx.decl_buffer((lay.size,), buf.dtype, name=buf.name + "_r", scope="local")
                     for buf, lay in layouts.items()}
        self.count = 0
        self.tables: list[Any] = []  # cross-warp row tables, allocated at the top of the thread loop's body

    def _per_thread(self, size: int, make: Any) -> Any:
        self.count += 1
        r = tirx.Var(f"r{self.count}", "int32")
        return tirx.For(r, _c(0), _c(size), tirx.ForKind.UNROLLED, make(r), None, {SPREAD_KEY: 1})

    # -- block-uniform code: every thread runs it, so it reads and writes its own copy of a replicated
    # fragment (loop counters, `if block_mask[k] != 0`, `carry[0] = ...`)
    def visit_TensorLoad(self, e: Any) -> Any:
        if isinstance(self.layouts.get(e.source), ReplicatedLayout):
            return tirx.BufferLoad(self.regs[e.source], [self.expr(i) for i in e.indices])
        return self.default_expr(e)

    def visit_BufferStore(self, s: Any) -> Any:
        if isinstance(self.layouts.get(s.buffer), ReplicatedLayout):
            return tirx.BufferStore(self.regs[s.buffer], self.expr(s.value), [self.expr(i) for i in s.indices])
        return self.default_stmt(s)

    # -- allocations
    def visit_AllocBuffer(self, s: Any) -> Any:
        if s.buffer in self.regs:
            return tirx.AllocBuffer(self.regs[s.buffer])
        return s

    # -- tile operators
    def visit_Evaluate(self, s: Any) -> Any:
        op = tile_ir.decode(s)
        if op is None:
            return s
        if op.name == "fill" and op.args[0].buffer in self.layouts and _whole(op.args[0]):
            buf, value = op.args[0].buffer, op.args[1]
            regs = self.regs[buf]
            return self._per_thread(self.layouts[buf].size, lambda r: tirx.BufferStore(regs, _cast(value, buf.dtype), [r]))
        if op.name == "copy":
            src, dst = op.args
            if src.buffer in self.layouts and dst.buffer in self.layouts and _whole(src) and _whole(dst) \
                    and self.layouts[src.buffer] == self.layouts[dst.buffer] and _shape(src.buffer) == _shape(dst.buffer):
                s_regs, d_regs = self.regs[src.buffer], self.regs[dst.buffer]
                return self._per_thread(self.layouts[src.buffer].size, lambda r: tirx.BufferStore(
                    d_regs, _cast(tirx.BufferLoad(s_regs, [r]), dst.buffer.dtype), [r]))
            if src.buffer in self.layouts and _whole(src) and dst.buffer not in self.layouts \
                    and _same_tile(dst, src.buffer):
                return self._copy_out(src.buffer, dst)
            if dst.buffer in self.layouts and _whole(dst) and src.buffer not in self.layouts \
                    and _same_tile(src, dst.buffer):
                return self._copy_in(src, dst.buffer)
        if op.name == "gemm" and op.args[2].buffer in self.layouts \
                and isinstance(self.layouts[op.args[2].buffer], MmaLayout):
            return self._gemm(*op.args)
        if op.name == "gemm" and isinstance(self.layouts.get(op.args[2].buffer), WgmmaLayout):
            a, b, c, _, trans_b, clear = op.args[:6]
            return wgmma_gemm(self.layouts[c.buffer], self.regs[c.buffer], self.tx, a, b, c, trans_b, clear,
                              SPREAD_KEY)
        if op.name == "reduce":
            out = self._reduce(*op.args)
            if out is not None:
                return out
        return s

    def _region_index(self, r: RegionRef, coords: list[Any]) -> list[Any]:
        axes = r.nonunit_axes()
        idx = list(r.mins)
        for ax, v in zip(axes, coords[len(coords) - len(axes):]):
            idx[ax] = r.mins[ax] + v
        return idx

    def _copy_out(self, buf: Any, dst: RegionRef) -> Any:
        layout, regs = self.layouts[buf], self.regs[buf]
        if isinstance(layout, (MmaLayout, WgmmaLayout)) and _pairs_fit(dst):
            return self._copy_out_pairs(layout, regs, dst)

        def body(r: Any) -> Any:
            coords = [c for c, d in zip(layout.coords(self.tx, r), _shape(buf)) if d != 1]
            return tirx.BufferStore(dst.buffer, _cast(tirx.BufferLoad(regs, [r]), dst.buffer.dtype),
                                    self._region_index(dst, coords))

        return self._per_thread(layout.size, body)

    def _copy_out_pairs(self, layout: MmaLayout, regs: Any, dst: RegionRef) -> Any:
        """Registers c0, c1 (and c2, c3) of an m16n8 piece are adjacent columns: one 2-element store each,
        skipped when the pair lies outside the tensor (an even last dimension and an even start column
        put a pair wholly inside or wholly outside)."""

        def body(p: Any) -> Any:
            row, col = layout.coords(self.tx, p * 2)
            idx = self._region_index(dst, [row, col])
            call = tirx.Evaluate(tirx.call_extern(
                "int32", "tl_store_x2", tirx.address_of(tirx.BufferLoad(dst.buffer, idx)),
                tirx.BufferLoad(regs, [p * 2]), tirx.BufferLoad(regs, [p * 2 + 1])))
            if dst.buffer.scope() != "global":
                return call
            inside = tirx.And(tirx.LT(idx[-2], dst.buffer.shape[-2]), tirx.LT(idx[-1], dst.buffer.shape[-1]))
            return tirx.IfThenElse(inside, call, None)

        return self._per_thread(layout.size // 2, body)

    def _copy_in(self, src: RegionRef, buf: Any) -> Any:
        layout, regs = self.layouts[buf], self.regs[buf]

        def body(r: Any) -> Any:
            coords = [c for c, d in zip(layout.coords(self.tx, r), _shape(buf)) if d != 1]
            return tirx.BufferStore(regs, _cast(tirx.BufferLoad(src.buffer, self._region_index(src, coords)),
                                                buf.dtype), [r])

        return self._per_thread(layout.size, body)

    def _gemm(self, a: RegionRef, b: RegionRef, c: RegionRef, trans_a: int, trans_b: int, clear: int,
              policy: int = 0) -> Any:
        layout: MmaLayout = self.layouts[c.buffer]
        regs = self.regs[c.buffer]
        k = a.extents[-2] if trans_a else a.extents[-1]
        mt, nt = layout.mt, layout.nt
        lane = tirx.floormod(self.tx, 32)
        m0, n0 = layout.warp_origin(self.tx)
        a_regs = tirx.decl_buffer((mt * 4,), "uint32", name="a_frag", scope="local")
        b_regs = tirx.decl_buffer((nt * 2,), "uint32", name="b_frag", scope="local")
        kk, mi, nj = (tirx.Var(n, "int32") for n in ("kk", "mi", "nj"))
        kstep, mma = MMA_KINDS[(str(a.buffer.dtype), str(c.buffer.dtype))]
        half = kstep // 2  # elements in one 16-byte ldmatrix row
        k0 = kk * kstep

        def at(r: RegionRef, row: Any, col: Any) -> Any:
            """Address of element (row, col) of a 2-D region (its last two axes)."""
            idx = list(r.mins)
            idx[-2] = r.mins[-2] + row
            idx[-1] = r.mins[-1] + col
            return tirx.address_of(tirx.BufferLoad(r.buffer, idx))

        if trans_a:  # A stored k x m: each 8x8 piece transposed
            a_addr = at(a, k0 + tirx.floormod(lane, 8) + tirx.floordiv(lane, 16) * 8,
                        m0 + mi * 16 + tirx.floormod(tirx.floordiv(lane, 8), 2) * 8)
            a_fn = "tl_ldmatrix_x4_trans"
        else:  # A stored m x k
            a_addr = at(a, m0 + mi * 16 + tirx.floormod(lane, 16), k0 + tirx.floordiv(lane, 16) * half)
            a_fn = "tl_ldmatrix_x4"
        if trans_b:  # B stored n x k
            b_addr = at(b, n0 + nj * 16 + tirx.floormod(lane, 8) + tirx.floordiv(lane, 16) * 8,
                        k0 + tirx.floormod(tirx.floordiv(lane, 8), 2) * half)
            b_fn = "tl_ldmatrix_x4"
        else:  # B stored k x n
            b_addr = at(b, k0 + tirx.floormod(lane, 8) + tirx.floormod(tirx.floordiv(lane, 8), 2) * 8,
                        n0 + nj * 16 + tirx.floordiv(lane, 16) * 8)
            b_fn = "tl_ldmatrix_x4_trans"

        def call(fn: str, *args: Any) -> Any:
            return tirx.Evaluate(tirx.call_extern("int32", fn, *args))

        def unrolled(var: Any, extent: int, body: Any) -> Any:
            return tirx.For(var, _c(0), _c(extent), tirx.ForKind.UNROLLED, body)

        if a.buffer in self.layouts:  # register A: two m16n8 pieces of the accumulator layout per k16 step
            pr, la = self.regs[a.buffer], self.layouts[a.buffer]
            pack = "tl_pack_x2"
            pieces = []
            for q, (half_k, c0) in enumerate(((0, 0), (0, 2), (1, 0), (1, 2))):
                base = (mi * la.nt + kk * 2 + half_k) * 4 + c0
                pieces.append(tirx.BufferStore(a_regs, tirx.call_extern(
                    "uint32", pack, tirx.BufferLoad(pr, [base]), tirx.BufferLoad(pr, [base + 1])), [mi * 4 + q]))
            load_a = unrolled(mi, mt, tirx.SeqStmt(pieces))
        else:
            load_a = unrolled(mi, mt, call(a_fn, tirx.address_of(tirx.BufferLoad(a_regs, [mi * 4])), a_addr))
        if nt % 2 == 0:  # two n8 pieces per ldmatrix.x4
            load_b = unrolled(nj, nt // 2, call(b_fn, tirx.address_of(tirx.BufferLoad(b_regs, [nj * 4])), b_addr))
        else:  # one n8 piece per ldmatrix.x2 (lanes 16-31 repeat lanes 0-15's addresses)
            if trans_b:
                b_addr = at(b, n0 + nj * 8 + tirx.floormod(lane, 8), k0 + tirx.floormod(tirx.floordiv(lane, 8), 2) * half)
            else:
                b_addr = at(b, k0 + tirx.floormod(lane, 16), n0 + nj * 8)
            load_b = unrolled(nj, nt, call(b_fn.replace("x4", "x2"), tirx.address_of(tirx.BufferLoad(b_regs, [nj * 2])),
                                           b_addr))
        mi2, ni2 = tirx.Var("mi", "int32"), tirx.Var("ni", "int32")
        multiply = unrolled(mi2, mt, unrolled(ni2, nt, call(
            mma, tirx.address_of(tirx.BufferLoad(regs, [(mi2 * nt + ni2) * 4])),
            tirx.address_of(tirx.BufferLoad(a_regs, [mi2 * 4])), tirx.address_of(tirx.BufferLoad(b_regs, [ni2 * 2])))))
        steps = tirx.For(kk, _c(0), _c(k // kstep), tirx.ForKind.UNROLLED if k // kstep <= 4 else tirx.ForKind.SERIAL,
                         tirx.SeqStmt([load_a, load_b, multiply]), None, {SPREAD_KEY: 1})
        stmts = [tirx.AllocBuffer(a_regs), tirx.AllocBuffer(b_regs)]
        if clear:
            stmts.append(self._per_thread(layout.size, lambda r: tirx.BufferStore(regs, tirx.const(0, str(c.buffer.dtype)), [r])))
        stmts.append(steps)
        return tirx.SeqStmt(stmts)

    # -- T.Parallel nests over a planned fragment
    def visit_For(self, s: Any) -> Any:
        if s.kind != tirx.ForKind.PARALLEL:
            return self.default_stmt(s)
        loops, inner = perfect_parallel_nest(s)
        shape = tuple(int(lp.extent.value) if isinstance(lp.extent, tirx.IntImm) else -1 for lp in loops)
        loop_vars = [lp.loop_var for lp in loops]
        touched = [buf for buf in self.layouts if _loads(inner, buf)]
        if not touched:
            return s
        replicated = [b for b in touched if isinstance(self.layouts[b], ReplicatedLayout)]
        if replicated:
            written = [b for b in replicated if _stores(inner, b)]
            if written:
                # every thread computes every element: a per-thread loop over the whole length
                if len(shape) != 1 or any(self.layouts[b].length != shape[0] for b in replicated) \
                        or len(replicated) != len(touched) or not all(_identity(inner, b, loop_vars) for b in replicated):
                    return s

                def every(r: Any) -> Any:
                    subst = {b: (self.regs[b], r) for b in replicated}
                    return tirx.SeqStmt([tirx.Bind(loop_vars[0], r), _Subst(subst).stmt(serial_parallel_loops(inner))])

                return self._per_thread(shape[0], every)
            # read only: the same indices into each thread's own copy; the nest stays as it is
            s = BufferSubst({b: self.regs[b] for b in replicated}).stmt(s)
            touched = [b for b in touched if b not in replicated]
            if not touched:
                return s
            loops, inner = perfect_parallel_nest(s)
        tiles = [b for b in touched if not isinstance(self.layouts[b], RowLayout)]
        rows = [b for b in touched if isinstance(self.layouts[b], RowLayout)]
        if tiles:  # a nest over a tile; row vectors indexed by its first variable, read only
            layout = self.layouts[tiles[0]]
            if any(self.layouts[b] != layout or _shape(b) != shape for b in tiles):
                return s  # left for the leftover check: those fragments fall back to shared memory
            if not all(_identity(inner, b, loop_vars) for b in tiles):
                return s
            if rows and (len(shape) != 2 or any(self.layouts[b] != _vector_of(layout, self.layouts[b].axis)
                                                or _stores(inner, b)
                                                or not _identity(inner, b, [loop_vars[self.layouts[b].axis]])
                                                for b in rows)):
                return s

            def body(r: Any) -> Any:
                subst = {b: (self.regs[b], r) for b in tiles}
                subst.update({b: (self.regs[b], layout.slot_of(r) if self.layouts[b].axis == 0
                                  else layout.slot_of_col(r)) for b in rows})
                binds = [tirx.Bind(v, c) for v, c in zip(loop_vars, layout.coords(self.tx, r))]
                return tirx.SeqStmt(binds + [_Subst(subst).stmt(serial_parallel_loops(inner))])

            return self._per_thread(layout.size, body)
        # a nest over row vectors alone: each thread computes the rows it keeps
        layout = self.layouts[rows[0]]
        if any(self.layouts[b] != layout or _shape(b) != shape for b in rows) or len(shape) != 1:
            return s
        if not all(_identity(inner, b, loop_vars) for b in rows):
            return s

        def row_body(r: Any) -> Any:
            subst = {b: (self.regs[b], r) for b in rows}
            return tirx.SeqStmt([tirx.Bind(loop_vars[0], layout.coords(self.tx, r)[0]),
                                 _Subst(subst).stmt(serial_parallel_loops(inner))])

        return self._per_thread(layout.size, row_body)

    # -- reductions into row or column vectors
    def _reduce(self, kind: str, src: RegionRef, dst: RegionRef, dim: int, clear: int) -> Any | None:
        """Each thread combines its registers per row (dim=1) or column (dim=0) of the vector; then the
        threads that share an entry combine: for rows with warp shuffles (xor over the lanes of the row)
        and, across warps, a small shared table; for columns shared by several threads, a table with one
        entry per thread."""
        layout = self.layouts.get(src.buffer)
        vec = self.layouts.get(dst.buffer)
        if layout is None or not isinstance(vec, RowLayout) or isinstance(layout, RowLayout):
            return None
        if not _whole(src) or not _whole(dst) or dim != (0 if vec.axis == 1 else 1):
            return None
        if vec != _vector_of(layout, vec.axis):
            return None
        from .lower_tile_ops import _combine, _reduce_init

        dtype = str(dst.buffer.dtype)
        across = {"abssum": "sum", "absmax": "max"}.get(kind, kind)  # combining partial results
        part = tirx.decl_buffer((vec.size,), dtype, name="col_part" if vec.axis else "row_part", scope="local")
        zero = _c(0)

        def loop(extent: int, make: Any) -> Any:
            var = tirx.Var("k", "int32")
            return tirx.For(var, zero, _c(extent), tirx.ForKind.UNROLLED, make(var))

        def part_at(i: Any) -> Any:
            return tirx.BufferLoad(part, [i])

        def combine_into(k: Any, value: Any) -> Any:
            return tirx.BufferStore(part, _combine(across, part_at(k), value), [k])

        def restart(k: Any) -> Any:
            return tirx.BufferStore(part, _reduce_init(across, dtype), [k])

        slot_of = layout.slot_of_col if vec.axis else layout.slot_of

        def accumulate(r: Any) -> Any:
            slot = slot_of(r)
            value = _cast(tirx.BufferLoad(self.regs[src.buffer], [r]), dtype)
            return tirx.BufferStore(part, _combine(kind, part_at(slot), value), [slot])

        stmts: list[Any] = [tirx.AllocBuffer(part),
                            loop(vec.size, lambda k: tirx.BufferStore(part, _reduce_init(kind, dtype), [k])),
                            loop(layout.size, accumulate)]
        if vec.axis:
            if vec.sharers > 1:  # threads tx % n == column share it: one table entry per thread
                n = layout.shape[1]
                scratch = tirx.decl_buffer((vec.sharers, n), dtype, name="col_scratch", scope="shared.dyn")
                column = tirx.floormod(self.tx, n)
                stmts += [tirx.AllocBuffer(scratch),
                          tirx.BufferStore(scratch, part_at(zero), [tirx.floordiv(self.tx, n), column]), sync_stmt(),
                          restart(zero),
                          loop(vec.sharers, lambda w: combine_into(zero, tirx.BufferLoad(scratch, [w, column]))),
                          sync_stmt()]
        else:
            lane_offsets, warps, warp_index, writer = layout.row_exchange(self.tx)
            full = tirx.const(0xFFFFFFFF, "uint32")
            for off in lane_offsets:
                stmts.append(loop(vec.size, lambda k, off=off: combine_into(
                    k, tirx.call_extern(dtype, "__shfl_xor_sync", full, part_at(k), _c(off)))))
            if warps > 1:
                # one entry per (warp sharing the row, row); sized like TileLang's cross-warp reduction
                # workspace, one element per thread of the layout (the analyzer's rule), and allocated with
                # the block's other shared buffers (`_TablesFirst`), so TVM keeps it live over the whole
                # top-level statement, as TileLang does its workspace, and may place it over a tile no
                # longer read
                if isinstance(layout, MmaLayout):
                    height, threads = layout.m, layout.warps_m * layout.warps_n * 32
                else:
                    height, threads = layout.shape[0], layout.threads
                scratch = tirx.decl_buffer((max(threads, warps * height),), dtype, name="row_scratch",
                                           scope="shared.dyn")
                self.tables.append(scratch)

                def publish(k: Any) -> Any:
                    return tirx.IfThenElse(writer, tirx.BufferStore(
                        scratch, part_at(k), [warp_index * height + layout.row_of_slot(self.tx, k)]), None)

                def gather(k: Any) -> Any:
                    row = layout.row_of_slot(self.tx, k)
                    return tirx.SeqStmt([restart(k), loop(warps, lambda w: combine_into(
                        k, tirx.BufferLoad(scratch, [w * height + row])))])

                stmts += [loop(vec.size, publish), sync_stmt(), loop(vec.size, gather), sync_stmt()]
        out = self.regs[dst.buffer]

        def store(k: Any) -> Any:
            value = part_at(k) if clear else _combine(across, tirx.BufferLoad(out, [k]), part_at(k))
            return tirx.BufferStore(out, value, [k])

        stmts.append(loop(vec.size, store))
        one = tirx.Var("red", "int32")
        return tirx.For(one, zero, _c(1), tirx.ForKind.SERIAL, tirx.SeqStmt(stmts), None, {SPREAD_KEY: 1})


def _pairs_fit(dst: RegionRef) -> bool:
    """A 2-D destination where (row, even column) pairs are adjacent, aligned elements: 16- or 32-bit
    elements, an even last dimension and an even start column."""
    if len(dst.nonunit_axes()) != 2 or dst.nonunit_axes() != [len(dst.extents) - 2, len(dst.extents) - 1]:
        return False
    bits = tvm.runtime.DataType(str(dst.buffer.dtype)).bits
    last = dst.buffer.shape[-1]
    if bits not in (16, 32) or not isinstance(last, tirx.IntImm) or int(last.value) % 2:
        return False
    return tvm.sym.Analyzer().can_prove_equal(tirx.floormod(dst.mins[-1], 2), tirx.const(0, "int32"))


def _vector_of(layout: Any, axis: int) -> Any:
    """The row (axis 0) or column (axis 1) vector layout a tile layout broadcasts to, or None."""
    if axis == 0:
        return layout.rows() if hasattr(layout, "rows") else None
    return layout.cols() if hasattr(layout, "cols") else None


def _same_tile(r: RegionRef, buf: Any) -> bool:
    """The region's non-unit extents are the fragment's non-unit dimensions, in order."""
    return [e for e in r.extents if e != 1] == [d for d in _shape(buf) if d != 1]


def _identity(stmt: Any, buf: Any, loop_vars: list[Any]) -> bool:
    for n in walk(stmt):
        if isinstance(n, TensorLoad) and n.source.same_as(buf) or isinstance(n, tirx.BufferStore) and n.buffer.same_as(buf):
            idx = n.indices
            if len(idx) != len(loop_vars) or not all(isinstance(i, tirx.Var) and i.same_as(v)
                                                     for i, v in zip(idx, loop_vars)):
                return False
    return True


class _Subst(Rewriter):
    """Fragment accesses -> register accesses: `subst[buf] = (registers, index)`."""

    def __init__(self, subst: dict[Any, tuple[Any, Any]]) -> None:
        self.subst = subst

    def visit_BufferStore(self, s: Any) -> Any:
        value = self.expr(s.value)
        for buf, (reg, idx) in self.subst.items():
            if s.buffer.same_as(buf):
                return tirx.BufferStore(reg, value, [idx])
        return tirx.BufferStore(s.buffer, value, [self.expr(i) for i in s.indices])

    def visit_TensorLoad(self, e: Any) -> Any:
        for buf, (reg, idx) in self.subst.items():
            if e.source.same_as(buf):
                return tirx.BufferLoad(reg, [idx])
        return self.default_expr(e)


def _stores(stmt: Any, buf: Any) -> bool:
    return any(isinstance(n, tirx.BufferStore) and n.buffer.same_as(buf) for n in walk(stmt))


def _leftovers(body: Any, bufs: list[Any]) -> set[Any]:
    """Planned fragments still referenced after the rewrite (a use no layout rewrite served)."""
    left = set()
    for n in walk(body):
        if isinstance(n, TensorLoad):
            src = n.source
        elif isinstance(n, tirx.BufferStore):
            src = n.buffer
        else:
            continue
        for b in bufs:
            if src.same_as(b):
                left.add(b)
    return left


def _rewrite_func(func: Any) -> Any:
    threads = _thread_count(func.body)
    if threads is None:
        return func
    layouts = plan_by_role(func, threads, plan)  # per T.ws role thread count, when there are roles
    while layouts:
        body = InThreadLoop(lambda tx, n: _TablesFirst(_Registers(tx, n, layouts))).stmt(func.body)
        left = _leftovers(body, list(layouts))
        if not left:
            return with_body(func, body)
        # drop the fragments with a use no layout serves; one left over only through copies to or from
        # other left-over fragments may fit once those are gone (retried in the next round)
        roots = left - _only_copied_among(body, left)
        for b in roots or left:
            layouts.pop(b)
    return func


class _TablesFirst:
    """Runs the register rewrite over a thread loop's body, then allocates the cross-warp row tables it made
    at the top of that body, at the level of the block's shared tiles. TVM's arena merging keeps a buffer
    live from the first to the last top-level statement that touches it, so a table is live over the whole
    statement of its reduction (FlashAttention's two tables, inside the pipelined loop, do not share bytes,
    like TileLang's two workspaces), and may take the bytes of a tile that is no longer read."""

    def __init__(self, registers: _Registers) -> None:
        self.registers = registers

    def stmt(self, body: Any) -> Any:
        out = self.registers.stmt(body)
        if not self.registers.tables:
            return out
        rest = list(out.seq) if isinstance(out, tirx.SeqStmt) else [out]
        return tirx.SeqStmt([tirx.AllocBuffer(t) for t in self.registers.tables] + rest)


def _only_copied_among(body: Any, left: set[Any]) -> set[Any]:
    """The fragments of `left` whose every remaining reference is a tile copy with another fragment of
    `left` on its other side."""
    mutual: dict[Any, int] = {}
    for n in walk(body):
        if isinstance(n, tirx.Evaluate):
            op = tile_ir.decode(n)
            if op is not None and op.name == "copy":
                src, dst = op.args[0].buffer, op.args[1].buffer
                if src in left and dst in left and src is not dst:
                    mutual[src] = mutual.get(src, 0) + 1
                    mutual[dst] = mutual.get(dst, 0) + 1
    total: dict[Any, int] = {}
    for n in walk(body):
        buf = n.source if isinstance(n, TensorLoad) else n.buffer if isinstance(n, tirx.BufferStore) else None
        if buf is not None and buf in left:
            total[buf] = total.get(buf, 0) + 1
    return {b for b in left if mutual.get(b, 0) and mutual[b] == total.get(b, 0)}


def _thread_count(body: Any) -> int | None:
    from .cuda_threads import is_thread_loop

    for n in walk(body):
        if is_thread_loop(n):
            return int(n.extent.value)
    return None


def register_fragments(mod: tvm.IRModule) -> tvm.IRModule:
    """Fragments with a thread layout move to per-thread registers; gemms into mma-layout accumulators
    become ldmatrix + mma.sync."""
    return rewrite_funcs(mod, _rewrite_func)


def uses_prelude(source: str) -> bool:
    return "tl_mma_" in source or "tl_ldmatrix_" in source or "tl_store_x2" in source
