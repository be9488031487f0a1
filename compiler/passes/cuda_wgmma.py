"""Hopper warpgroup gemms (`wgmma.mma_async`, sm_90a) for `T.gemm` (used by `cuda_mma` on sm_90a).

When it applies: A and B float16 or bfloat16 tiles in shared memory, C a float32 fragment used only as a
gemm accumulator, filled, copied out or updated element-wise (no reduction reads it, it is no gemm's A);
A stored m x k (not transposed) with rows of exactly 128 bytes (block_K = 64), B stored k x n with n a
multiple of 64 per warpgroup, or n x k with rows of 128 bytes; the block's threads whole warpgroups of
128; m a multiple of 64; at most 256 columns per warpgroup. Everything else keeps `ldmatrix` + `mma.sync`.

Work split (`WgmmaLayout`): the warpgroups split C's columns (warpgroup g owns columns
[g n/G, (g + 1) n/G)) and each covers every row in m/64 slabs of `m64nNk16` instructions. Inside a slab,
warp w of the warpgroup holds rows 16 w .. 16 w + 15 in the m16n8 accumulator layout, one n8 piece after
the other: register r = (slab * nt + piece) * 4 + c, the same register order as `MmaLayout`, so paired
stores and element-wise updates work unchanged.

Shared memory (the operand tiles' 128-byte swizzle, `swizzle_shared`): a row of 128 bytes is 8 chunks of
16 bytes and chunk c of row r sits at chunk c ^ (r % 8), which is what the hardware's 128-byte swizzle
reads from a tile whose base is 1024-byte aligned. A k x n B tile wider than 64 elements is stored in
column panels of 64 (`panel_offset`): panel p holds columns 64 p .. 64 p + 63 of every row, k rows of 128
bytes, so each panel is one run of the swizzle pattern. Descriptors (`tl_wgmma_desc`): start address,
leading byte offset (K-major: unused, 16; k x n B: the panel stride, k * 128 bytes), stride byte offset
(1024: the next 8 rows), 128-byte swizzle. A k16 step moves the start 32 bytes along a K-major row, or 16
rows (2048 bytes) down a k x n panel.

Per `T.gemm`: `wgmma.fence`, `fence.proxy.async` (the tiles were written by the threads' cp.async or
stores, the generic proxy; wgmma reads through the async proxy), the slabs' k16 steps, `commit_group`,
`wait_group 0`, and a register fence so nothing reads the accumulators before the wait. The gemm runs to
completion inside the call, so the cp.async pipeline's barrier logic is unchanged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import tvm
from tvm import tirx

from .. import tile_ir
from ..tile_ir import RegionRef

WARPGROUP = 128
ROW_BYTES = 128  # the 128-byte swizzle: one operand row
PANEL_BYTES = 1024  # 8 rows of 128 bytes: the swizzle's period


def _c(v: int) -> Any:
    return tirx.const(v, "int32")


@dataclass(frozen=True)
class WgmmaLayout:
    """C (m x n) of a wgmma gemm on `groups` warpgroups (see the module docstring)."""

    m: int
    n: int
    groups: int

    @property
    def mt(self) -> int:
        return self.m // 64

    @property
    def nt(self) -> int:
        return self.n // self.groups // 8

    @property
    def size(self) -> int:
        return self.mt * self.nt * 4

    def rows(self) -> None:
        return None  # row reductions of a wgmma accumulator are not served (such gemms keep mma.sync)

    def cols(self) -> None:
        return None

    def coords(self, tx: Any, r: Any) -> list[Any]:
        lane = tirx.floormod(tx, 32)
        warp = tirx.floordiv(tirx.floormod(tx, WARPGROUP), 32)
        group = tirx.floordiv(tx, WARPGROUP)
        mi, ni, c = tirx.floordiv(r, self.nt * 4), tirx.floormod(tirx.floordiv(r, 4), self.nt), tirx.floormod(r, 4)
        row = mi * 64 + warp * 16 + tirx.floordiv(lane, 4) + tirx.floordiv(c, 2) * 8
        col = group * (self.n // self.groups) + ni * 8 + tirx.floormod(lane, 4) * 2 + tirx.floormod(c, 2)
        return [row, col]


def _bytes(dtype: str) -> int:
    return {"float16": 2, "bfloat16": 2}.get(dtype, 0)


def wgmma_layout(op: tile_ir.TileOp, threads: int) -> WgmmaLayout | None:
    """The layout of the gemm's C when the gemm can run as wgmma (module docstring), else None."""
    a, b, c, trans_a, trans_b = op.args[:5]
    at, bt = str(a.buffer.dtype), str(b.buffer.dtype)
    if at != bt or _bytes(at) == 0 or str(c.buffer.dtype) != "float32" or trans_a:
        return None
    if not (a.buffer.scope().startswith("shared") and b.buffer.scope().startswith("shared")):
        return None
    if threads % WARPGROUP or len(c.extents) != 2 or len(c.buffer.shape) != 2:
        return None
    groups = threads // WARPGROUP
    m, n = c.extents
    k = a.extents[-1]
    elems = ROW_BYTES // _bytes(at)
    if m % 64 or n % groups or k != elems or int(a.buffer.shape[-1]) != elems:
        return None
    per_group = n // groups
    if per_group % 8 or per_group > 256:
        return None
    if trans_b:  # n x k, K-major rows of 128 bytes
        if b.extents[-1] != elems or int(b.buffer.shape[-1]) != elems:
            return None
    else:  # k x n: column panels of 64
        if b.extents[-2] != k or per_group % elems or int(b.buffer.shape[-1]) % elems or b.extents[-1] != n:
            return None
    return WgmmaLayout(m, n, groups)


def panel_offset(row: Any, col: Any, rows: int, elems: int) -> Any:
    """Element offset of (row, col) in a k x n tile stored as 64-column panels, swizzled (module docstring)."""
    chunk_elems = elems // 8
    panel = tirx.floordiv(col, elems)
    inner = tirx.floormod(col, elems)
    chunk = tirx.bitwise_xor(tirx.floordiv(inner, chunk_elems), tirx.floormod(row, 8))
    return panel * (rows * elems) + row * elems + chunk * chunk_elems + tirx.floormod(inner, chunk_elems)


def panel_buffers(body: Any) -> set[Any]:
    """The shared tiles a k x n wgmma B descriptor (`tl_wgmma_desc_mn`) points into: stored in panels."""
    from ..ir import walk

    out = set()
    for n in walk(body):
        if isinstance(n, tvm.ir.Call) and n.op.name == "tirx.call_extern" and n.args \
                and str(n.args[0].value) == "tl_wgmma_desc_mn":
            ptr = n.args[1]
            if isinstance(ptr, tvm.ir.Call) and ptr.op.name == "tirx.address_of":
                out.add(ptr.args[0].source)
    return out


def _call(name: str, *args: Any) -> Any:
    return tirx.Evaluate(tirx.call_extern("int32", name, *args))


def _at(r: RegionRef, row: Any, col: Any) -> Any:
    idx = list(r.mins)
    idx[-2] = r.mins[-2] + row
    idx[-1] = r.mins[-1] + col
    return tirx.address_of(tirx.BufferLoad(r.buffer, idx))


def wgmma_gemm(layout: WgmmaLayout, regs: Any, tx: Any, a: RegionRef, b: RegionRef, c: RegionRef,
               trans_b: int, clear: int, spread_key: str) -> Any:
    """The statements of one `T.gemm` as wgmma (module docstring); `regs` the accumulator registers."""
    dtype = str(a.buffer.dtype)
    k = a.extents[-1]
    group = tirx.floordiv(tx, WARPGROUP)
    n_group = layout.n // layout.groups
    u64 = "uint64"
    desc_a = tirx.decl_buffer((1,), u64, name="desc_a", scope="local")
    desc_b = tirx.decl_buffer((1,), u64, name="desc_b", scope="local")
    mi, kk = tirx.Var("mi", "int32"), tirx.Var("kk", "int32")
    a_desc = tirx.call_extern(u64, "tl_wgmma_desc", _at(a, mi * 64, _c(0)), _c(16), _c(PANEL_BYTES))
    if trans_b:
        b_desc = tirx.call_extern(u64, "tl_wgmma_desc", _at(b, group * n_group, _c(0)), _c(16), _c(PANEL_BYTES))
        b_step = 32 // 16  # 32 bytes along the row, in 16-byte units
    else:
        b_desc = tirx.call_extern(u64, "tl_wgmma_desc_mn", _at(b, _c(0), group * n_group), _c(k * ROW_BYTES),
                                  _c(PANEL_BYTES))
        b_step = 16 * ROW_BYTES // 16  # 16 rows down the panel
    fn = f"tl_wgmma_m64n{n_group}k16_{'bf16' if dtype == 'bfloat16' else 'f16'}_{'k' if trans_b else 'mn'}"
    size = layout.size
    acc = tirx.address_of(tirx.BufferLoad(regs, [_c(0)]))
    step = _call(fn, tirx.address_of(tirx.BufferLoad(regs, [mi * layout.nt * 4])),
                 tirx.BufferLoad(desc_a, [_c(0)]) + tirx.Cast(u64, kk * 2),
                 tirx.BufferLoad(desc_b, [_c(0)]) + tirx.Cast(u64, kk * b_step))
    slab = tirx.SeqStmt([tirx.BufferStore(desc_a, a_desc, [_c(0)]),
                         tirx.For(kk, _c(0), _c(k // 16), tirx.ForKind.UNROLLED, step)])
    body = [tirx.BufferStore(desc_b, b_desc, [_c(0)]),
            _call("tl_wgmma_fence_regs", acc, _c(size)),
            _call("tl_wgmma_arrive"),
            _call("tl_fence_proxy_async"),
            tirx.For(mi, _c(0), _c(layout.mt), tirx.ForKind.UNROLLED, slab),
            _call("tl_wgmma_commit"),
            _call("tl_wgmma_wait0"),
            _call("tl_wgmma_fence_regs", acc, _c(size))]
    one = tirx.Var("w", "int32")
    stmts: list[Any] = [tirx.AllocBuffer(desc_a), tirx.AllocBuffer(desc_b)]
    if clear:
        r = tirx.Var("r", "int32")
        stmts.append(tirx.For(r, _c(0), _c(size), tirx.ForKind.UNROLLED,
                              tirx.BufferStore(regs, tirx.const(0, "float32"), [r]), None, {spread_key: 1}))
    stmts.append(tirx.For(one, _c(0), _c(1), tirx.ForKind.SERIAL, tirx.SeqStmt(body), None, {spread_key: 1}))
    return tirx.SeqStmt(stmts)


# ------------------------------------------------------------------ device helpers

_COMMON = r"""
// tilelsp wgmma helpers (sm_90a): shared-memory matrix descriptors, fences, the warpgroup MMA
__device__ __forceinline__ unsigned long long tl_wgmma_desc(const void* p, int lbo, int sbo) {
  unsigned long long addr = static_cast<unsigned>(__cvta_generic_to_shared(p));
  return ((addr & 0x3FFFF) >> 4) | (static_cast<unsigned long long>((lbo >> 4) & 0x3FFF) << 16)
         | (static_cast<unsigned long long>((sbo >> 4) & 0x3FFF) << 32) | (1ull << 62);
}
__device__ __forceinline__ unsigned long long tl_wgmma_desc_mn(const void* p, int lbo, int sbo) {
  return tl_wgmma_desc(p, lbo, sbo);
}
__device__ __forceinline__ void tl_wgmma_fence_regs(float* r, int n) {
#pragma unroll
  for (int i = 0; i < n; ++i) asm volatile("" : "+f"(r[i]) :: "memory");
}
__device__ __forceinline__ void tl_wgmma_arrive() { asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory"); }
__device__ __forceinline__ void tl_fence_proxy_async() { asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory"); }
__device__ __forceinline__ void tl_wgmma_commit() { asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory"); }
__device__ __forceinline__ void tl_wgmma_wait0() { asm volatile("wgmma.wait_group.sync.aligned 0;\n" ::: "memory"); }
"""

_NAME = re.compile(r"tl_wgmma_m64n(\d+)k16_(f16|bf16)_(k|mn)\b")


def _mma_helper(n: int, kind: str, major: str) -> str:
    """`tl_wgmma_m64n<n>k16_<kind>_<major>(float* d, desc_a, desc_b)`: d (n / 2 floats) += A * B."""
    regs = n // 2
    outs = ", ".join(f"%{i}" for i in range(regs))
    tnsp_b = 0 if major == "k" else 1
    # scale-d is a predicate: true, D = A * B + D
    ptx = (f"{{\\n .reg .pred p;\\n setp.ne.b32 p, %{regs + 2}, 0;\\n"
           f" wgmma.mma_async.sync.aligned.m64n{n}k16.f32.{kind}.{kind} {{{outs}}}, %{regs}, %{regs + 1}, "
           f"p, 1, 1, 0, {tnsp_b};\\n}}")
    constraints = ", ".join(f'"+f"(d[{i}])' for i in range(regs))
    return (f"__device__ __forceinline__ void tl_wgmma_m64n{n}k16_{kind}_{major}(float* d, unsigned long long da, "
            f"unsigned long long db) {{\n  asm volatile(\"{ptx}\\n\"\n    : {constraints}\n"
            f"    : \"l\"(da), \"l\"(db), \"r\"(1) : \"memory\");\n}}\n")


def align_arena(source: str) -> str:
    """The dynamic arena starts 1024-byte aligned: the 128-byte swizzle of the operand tiles (which the
    arena places at multiples of 1024, `cuda_copies.tma_alignment`) is computed from address bits."""
    return re.sub(r"extern __shared__ __align__\(\d+\) uchar", "extern __shared__ __align__(1024) uchar", source)


def uses_prelude(source: str) -> bool:
    return "tl_wgmma_" in source


def prelude_for(source: str) -> str:
    """The common helpers and one MMA helper per instruction shape the kernel calls."""
    shapes = sorted({(int(n), kind, major) for n, kind, major in _NAME.findall(source)})
    return _COMMON + "".join(_mma_helper(n, kind, major) for n, kind, major in shapes)


PRELUDE = _COMMON
