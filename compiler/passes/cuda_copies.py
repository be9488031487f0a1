"""Vectorized global -> shared copies and the cp.async software pipeline for CUDA (runs before
`cuda_mma` and `cuda_threads`).

A `T.copy` from a global tile to a whole shared buffer moves 16-byte chunks when it can: the tile's
innermost axis is the tensor's contiguous last axis, its length and start are multiples of a chunk, and
source and destination have the same dtype. Chunk f of the tile goes to thread f % threads (consecutive
threads read consecutive 16 bytes). A chunk outside the tensor (a tail tile) is filled with zeros, as
TileLang's predicated copies do; the tensor's last dimension must then be a multiple of a chunk, so a
chunk is either wholly inside or wholly outside.

Outside a pipeline the chunk is a plain 128-bit load and store (`tl_copy16`); other copies are element
loops (`cuda_threads.lower_tile_ops_cuda`). In a `T.Pipelined` loop with `num_stages = S >= 2`, every
global -> shared copy that can run ahead (its source moves with the loop and depends on nothing the body
computes; its tile is written by nothing else and read only after the copy in the body: the leading A/B
tiles of a GEMM, FlashAttention's mid-loop V tile) gets S versions (a leading axis of S, the count
TileLang's planner gives whatever the alignment) and the loop becomes (the other statements, in order, are
"the work"):

    prologue: the copies of iterations 0 .. S-2 into versions 0 .. S-2, one commit group each
    iteration ko:
        wait until at most S-2 groups are pending (the copies of iteration ko have landed)
        __syncthreads()   (they are visible to every thread, and version (ko - 1) % S is free again)
        the copies of iteration ko + S - 1 into version (ko + S - 1) % S (when it exists), commit
        the work, reading version ko % S
    wait for every group

Each copy is issued as the widest one its alignment allows: cp.async of 16-byte chunks (`.cg`), else of
8- or 4-byte granules (`.ca`, which takes 4, 8 and 16; the same conditions with the granule for the
chunk, zero-filled through the source size like the chunks), else, when not even 4-byte granules fit
(rows of 333 halves, of 90 int8, another dtype on each side), synchronous element stores `dst = src` by
thread f % threads, whose global loads `guard_global_access` guards later (0 outside the tensor, as every
other element copy). A pipeline with no cp.async at all has no commit and no wait.

Synchronous stores are as safe in the issue slot as cp.async ones: (1) at iteration ko they write version
v = (ko + S - 1) % S = (ko - 1) % S, last read by the work of iteration ko - 1, which every thread
finished before it passed this iteration's barrier (the prologue writes versions nobody has read yet);
(2) v is not the version this iteration's work reads (ko % S, S >= 2), and nothing else writes the tile;
(3) the work that reads v runs at iteration ko + S - 1 >= ko + 1, after that iteration's barrier, which
every thread reaches after its own stores, so the stores are visible then (a barrier orders shared memory
for the whole block). cp.async copies need the wait before that barrier as well; plain stores are complete
when issued. The issue loops carry `tl.async_copy`, which tells `insert_barriers` to fence them no more
than cp.async issues.

The helpers are ours (`PRELUDE`, `NARROW_PRELUDE`), prepended to the CUDA source like the tensor-core
helpers.

The module also plans TileLang's arena alignment of shared tiles on TMA archs (`plan_arena_alignment`,
used by `cuda_threads.place_arena`).
"""

from __future__ import annotations

from typing import Any

import tvm
from tvm import tirx

from .. import tile_ir
from ..ir import walk
from ..ir_rewrite import BufferSubst, Rewriter, rewrite_funcs, with_body
from ..tile_ir import RegionRef
from .lower_tile_ops import _load, _store
from .cuda_threads import (ALIGN_ATTR, ARCH_ATTR, ASYNC_KEY, PIPELINE_KEY, SPREAD_KEY, THREADS_KEY, InThreadLoop, ThreadRewriter,
                           sync_stmt)

PRELUDE = r"""
// tilelsp copy helpers: 16-byte copies global -> shared, plain or cp.async, zero-filled when off the tensor
__device__ __forceinline__ void tl_copy16(void* smem, const void* gmem, bool inside) {
  uint4 v = make_uint4(0, 0, 0, 0);
  if (inside) v = *reinterpret_cast<const uint4*>(gmem);
  *reinterpret_cast<uint4*>(smem) = v;
}
__device__ __forceinline__ void tl_cp_async16(void* smem, const void* gmem, bool inside) {
  unsigned dst = static_cast<unsigned>(__cvta_generic_to_shared(smem));
  int bytes = inside ? 16 : 0;
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" :: "r"(dst), "l"(gmem), "r"(bytes));
}
__device__ __forceinline__ void tl_cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
#define tl_cp_async_wait(n) asm volatile("cp.async.wait_group %0;\n" :: "n"(n))
"""

NARROW_PRELUDE = r"""
// tilelsp copy helpers: 8- and 4-byte cp.async (L1-cached .ca: .cg takes only 16), zero-filled when off the tensor
__device__ __forceinline__ void tl_cp_async8(void* smem, const void* gmem, bool inside) {
  unsigned dst = static_cast<unsigned>(__cvta_generic_to_shared(smem));
  int bytes = inside ? 8 : 0;
  asm volatile("cp.async.ca.shared.global [%0], [%1], 8, %2;\n" :: "r"(dst), "l"(gmem), "r"(bytes));
}
__device__ __forceinline__ void tl_cp_async4(void* smem, const void* gmem, bool inside) {
  unsigned dst = static_cast<unsigned>(__cvta_generic_to_shared(smem));
  int bytes = inside ? 4 : 0;
  asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;\n" :: "r"(dst), "l"(gmem), "r"(bytes));
}
"""

CHUNK = 16  # bytes
ASYNC_WIDTHS = (16, 8, 4)  # the sizes one cp.async copies, widest first
OUTPUT_ARGS = {"copy": [1], "fill": [0], "gemm": [2], "reduce": [2], "cumsum": [1], "atomic_add": [0]}  # written regions


def _c(v: int) -> Any:
    return tirx.const(v, "int32")


def _bytes(dtype: str) -> int:
    return max(1, tvm.runtime.DataType(dtype).bits // 8)


def _int(e: Any) -> int | None:
    return int(e.value) if isinstance(e, tirx.IntImm) else None


def chunked(op: tile_ir.TileOp, analyzer: Any = None) -> tuple[RegionRef, RegionRef, int] | None:
    """(src, dst, elements per chunk) when a copy can move 16-byte chunks, else None. `analyzer` knows
    the let-bound values in scope (a start `base + ko * 16` with `base = bz * 64`)."""
    return granules(op, CHUNK, analyzer)


def global_to_shared(op: tile_ir.TileOp | None) -> bool:
    """A `T.copy` from a global tensor into a shared tile."""
    if op is None or op.name != "copy":
        return False
    src, dst = op.args
    return src.buffer.scope() == "global" and dst.buffer.scope().startswith("shared")


def granules(op: tile_ir.TileOp, width: int, analyzer: Any = None) -> tuple[RegionRef, RegionRef, int] | None:
    """(src, dst, elements per granule) when a copy can move `width`-byte granules (16, 8 or 4: the sizes
    cp.async copies), else None: the same dtype on both sides, the whole shared buffer, the tile in the
    tensor's last (at most two) axes, and the tensor's rows, the tile's rows and its start whole granules
    (so a granule is wholly inside or wholly outside the tensor)."""
    if not global_to_shared(op):
        return None
    src, dst = op.args
    if str(src.buffer.dtype) != str(dst.buffer.dtype):
        return None
    per = width // _bytes(str(src.buffer.dtype))
    if per < 1 or width % _bytes(str(src.buffer.dtype)):
        return None
    shape = [_int(d) for d in dst.buffer.shape]
    if None in shape or list(dst.extents) != shape or any(_int(m) != 0 for m in dst.mins):
        return None  # the whole shared buffer
    s_axes = src.nonunit_axes()
    rank = len(src.buffer.shape)
    if not s_axes or s_axes != list(range(rank - len(s_axes), rank)) or len(s_axes) > 2:
        return None  # the tile lies in the tensor's last axes
    if [src.extents[a] for a in s_axes] != [d for d in shape if d != 1]:
        return None
    inner = src.extents[rank - 1]
    last = _int(src.buffer.shape[-1])
    if inner % per or last is None or last % per:
        return None
    start = src.mins[-1]
    ana = analyzer if analyzer is not None else tvm.sym.Analyzer()
    if not ana.can_prove_equal(tirx.floormod(start, per), _c(0)):
        return None
    return src, dst, per


def _chunk_loop(src: RegionRef, dst: RegionRef, per: int, tx: Any, threads: int, fn: str,
                stage: Any | None, key: str) -> Any:
    """Thread tx's chunks of the tile: a loop over rounds, one `fn(&dst, &src, inside)` per chunk."""
    rank = len(src.buffer.shape)
    two_d = len(src.nonunit_axes()) == 2
    rows = src.extents[rank - 2] if two_d else 1
    cols = src.extents[rank - 1]
    per_row = cols // per
    total = rows * per_row
    rounds = (total + threads - 1) // threads
    o = tirx.Var("c", "int32")
    f = o * threads + tx
    row = tirx.floordiv(f, per_row) if two_d else _c(0)
    col = tirx.floormod(f, per_row) * per
    s_idx = list(src.mins)
    s_idx[-1] = src.mins[-1] + col
    inside = tirx.LT(s_idx[-1], src.buffer.shape[-1])
    if two_d:
        s_idx[-2] = src.mins[-2] + row
        inside = tirx.And(tirx.LT(s_idx[-2], src.buffer.shape[-2]), inside)
    d_shape = [int(d) for d in dst.buffer.shape]
    d_idx: list[Any] = [_c(0)] * len(d_shape)
    d_idx[-1] = col
    if two_d:
        d_idx[-2] = row
    if stage is not None:
        d_idx[0] = stage
    # out of the tensor: the source address is the tile's start (never read: the copy zero-fills)
    call = tirx.call_extern("int32", fn, tirx.address_of(tirx.BufferLoad(dst.buffer, d_idx)),
                            tirx.address_of(tirx.BufferLoad(src.buffer, [tirx.Select(inside, i, m) for i, m in
                                                                        zip(s_idx, src.mins)])), inside)
    body: Any = tirx.Evaluate(call)
    if total % threads:
        body = tirx.IfThenElse(tirx.LT(f, _c(total)), body, None)
    return tirx.For(o, _c(0), _c(rounds), tirx.ForKind.UNROLLED, body, None, {key: 1})


def _element_loop(src: RegionRef, dst: RegionRef, tx: Any, threads: int, key: str) -> Any:
    """Thread tx's elements of a copy, one element per iteration (element f on thread f % threads, so
    consecutive threads take consecutive elements of a row): `dst[...] = src[...]` with TileLang's cast.
    The global load is guarded later by `guard_global_access` (an element outside the tensor reads 0),
    exactly like a copy that `lower_tile_ops_cuda` expands."""
    s_axes, d_axes = src.nonunit_axes(), dst.nonunit_axes()
    extents = [int(src.extents[a]) for a in s_axes]
    total = 1
    for e in extents:
        total *= e
    rounds = (total + threads - 1) // threads
    o = tirx.Var("e", "int32")
    f = o * threads + tx
    idx: list[Any] = []
    stride = 1
    for e in reversed(extents):  # the innermost axis varies fastest across threads
        idx.insert(0, tirx.floormod(tirx.floordiv(f, stride), e) if stride > 1 else tirx.floormod(f, e))
        stride *= e
    body: Any = _store(dst, dict(zip(d_axes, idx)), _load(src, dict(zip(s_axes, idx))))
    if total % threads:
        body = tirx.IfThenElse(tirx.LT(f, _c(total)), body, None)
    return tirx.For(o, _c(0), _c(rounds), tirx.ForKind.SERIAL, body, None, {key: 1})


class _Copies(ThreadRewriter):
    """Inside one block's thread loop: pipelined loops first, then the remaining chunkable copies."""

    def __init__(self, tx: Any, threads: int) -> None:
        super().__init__(tx, threads)
        self.versioned: dict[Any, Any] = {}

    def visit_Evaluate(self, s: Any) -> Any:
        op = tile_ir.decode(s)
        found = chunked(op, self.analyzer) if op is not None else None
        if found is None:
            return s
        src, dst, per = found
        return _chunk_loop(src, dst, per, self.tx, self.threads, "tl_copy16", None, SPREAD_KEY)

    def visit_For(self, s: Any) -> Any:
        stages = s.annotations.get("num_stages") if s.annotations.get("tl.loop") == "Pipelined" else None
        if stages is not None and int(stages) >= 2:
            out = self._pipeline(s, int(stages))
            if out is not None:
                return out
        return self.default_stmt(s)

    def _pipeline(self, loop: Any, stages: int) -> Any | None:
        body = list(loop.body.seq) if isinstance(loop.body, tirx.SeqStmt) else [loop.body]
        # the copies that can run ahead: global -> shared, moving with the loop, their source independent of
        # anything computed in the body, their tile written by nothing else and read only after the copy in
        # the body (so this iteration's readers want this iteration's tile)
        inner = {n.var for st in body for n in walk(st) if isinstance(n, tirx.Bind)}
        copies: list[tuple[RegionRef, RegionRef, int]] = []  # (src, dst, bytes per cp.async; 0: synchronous)
        positions = []
        for k, stmt in enumerate(body):
            op = tile_ir.decode(stmt)
            if not global_to_shared(op):
                continue
            src, dst = op.args
            if not _mentions(src.mins, loop.loop_var) or any(_mentions(src.mins, v) for v in inner):
                continue
            others = body[:k] + body[k + 1:]
            if any(_writes(w, dst.buffer) for w in others) or any(_reads(w, dst.buffer) for w in body[:k]):
                continue
            width = next((w for w in ASYNC_WIDTHS if granules(op, w, self.analyzer) is not None), 0)
            copies.append((src, dst, width))
            positions.append(k)
        work = [st for k, st in enumerate(body) if k not in positions]
        if not copies or not work:
            return None
        bufs = [dst.buffer for _, dst, _ in copies]
        if len(set(bufs)) != len(bufs):
            return None
        versioned = {b: tirx.decl_buffer((stages, *b.shape), b.dtype, name=b.name, scope=b.scope()) for b in bufs}
        ko, n = loop.loop_var, loop.extent
        asynchronous = any(width for _, _, width in copies)

        def issue(it: Any, stage: Any) -> Any:
            stmts = []
            for src, dst, width in copies:
                src_at = RegionRef(src.buffer, tuple(_subst(m, ko, it) for m in src.mins), src.extents)
                if width:
                    dst_v = RegionRef(versioned[dst.buffer], (_c(0),) + tuple(dst.mins), (1,) + tuple(dst.extents))
                    per = width // _bytes(str(src.buffer.dtype))
                    stmts.append(_chunk_loop(src_at, dst_v, per, self.tx, self.threads, f"tl_cp_async{width}",
                                             stage, ASYNC_KEY))
                else:  # synchronous stores into the free version (see the module docstring)
                    dst_v = RegionRef(versioned[dst.buffer], (stage,) + tuple(dst.mins), (1,) + tuple(dst.extents))
                    stmts.append(_element_loop(src_at, dst_v, self.tx, self.threads, ASYNC_KEY))
            return tirx.SeqStmt(stmts) if len(stmts) > 1 else stmts[0]

        commit = [tirx.Evaluate(tirx.call_extern("int32", "tl_cp_async_commit"))] if asynchronous else []

        def wait(k: int) -> list[Any]:
            return [tirx.Evaluate(tirx.call_extern("int32", "tl_cp_async_wait", _c(k)))] if asynchronous else []

        sync = sync_stmt()
        p = tirx.Var("p", "int32")
        first = tirx.IfThenElse(tirx.LT(p, n), issue(p, p), None)
        prologue = tirx.For(p, _c(0), _c(stages - 1), tirx.ForKind.UNROLLED,
                            tirx.SeqStmt([first] + commit) if commit else first)
        ahead = ko + (stages - 1)
        reader = _Versions(versioned, tirx.floormod(ko, stages))
        # the copies for S - 1 iterations ahead go first (they have S - 1 iterations of work to land), into
        # the version the previous iteration's work read, which every thread finished before the barrier
        steady = tirx.SeqStmt(wait(stages - 2) + [sync,
                               tirx.IfThenElse(tirx.LT(ahead, n), issue(ahead, tirx.floormod(ahead, stages)), None)]
                              + commit + [reader.stmt(w) for w in work])
        ann = {k: v for k, v in loop.annotations.items() if k not in ("tl.loop", "num_stages")}
        ann[PIPELINE_KEY] = 1
        new_loop = tirx.For(ko, loop.min, n, tirx.ForKind.SERIAL, steady, None, ann, loop.step)
        self.versioned.update(versioned)
        return tirx.SeqStmt([prologue, new_loop] + wait(0))


def _mentions(exprs: Any, var: Any) -> bool:
    return any(isinstance(n, tirx.Var) and n.same_as(var) for e in exprs for n in walk(e))


def _writes(stmt: Any, buf: Any) -> bool:
    for n in walk(stmt):
        if isinstance(n, tirx.BufferStore) and n.buffer.same_as(buf):
            return True
        if isinstance(n, tirx.Evaluate):
            op = tile_ir.decode(n)
            if op is not None and op.args:
                for k in OUTPUT_ARGS.get(op.name, []):
                    if isinstance(op.args[k], RegionRef) and op.args[k].buffer.same_as(buf):
                        return True
    return False


def _reads(stmt: Any, buf: Any) -> bool:
    """Reads of `buf`: loads, and tile-op regions other than an operator's output."""
    for n in walk(stmt):
        if isinstance(n, tirx.Evaluate):
            op = tile_ir.decode(n)
            if op is not None:
                if any(isinstance(a, RegionRef) and a.buffer.same_as(buf) and k not in OUTPUT_ARGS.get(op.name, [])
                       for k, a in enumerate(op.args)):
                    return True
                continue
        if isinstance(n, tvm.ir.expr.TensorLoad) and n.source.same_as(buf):
            return True
    return False


def _subst(expr: Any, var: Any, value: Any) -> Any:
    class _S(Rewriter):
        def visit_Var(self, e: Any) -> Any:
            return value if e.same_as(var) else e

    return tvm.sym.Analyzer().simplify(_S().expr(expr))


class _Versions(BufferSubst):
    """Accesses to a versioned buffer read version `stage`: a leading index, and in tile-op regions a
    leading extent of 1."""

    def __init__(self, versioned: dict[Any, Any], stage: Any) -> None:
        super().__init__(versioned, (stage,))

    def visit_Call(self, e: Any) -> Any:
        if e.op.name == "tirx.call_extern" and e.args and isinstance(e.args[0], tvm.ir.StringImm) \
                and e.args[0].value == tile_ir.PREFIX + "region":
            corner = e.args[1]
            if corner.source in self.mapping:
                return tirx.call_extern("handle", tile_ir.PREFIX + "region", self.expr(corner), 1, *e.args[2:])
        return self.default_expr(e)


class _Allocations(Rewriter):
    def __init__(self, versioned: dict[Any, Any]) -> None:
        self.versioned = versioned

    def visit_AllocBuffer(self, s: Any) -> Any:
        for old, new in self.versioned.items():
            if s.buffer.same_as(old):
                return tirx.AllocBuffer(new)
        return s


def _rewrite(func: Any) -> Any:
    versioned: dict[Any, Any] = {}

    def make(tx: Any, threads: int) -> _Copies:
        rw = _Copies(tx, threads)
        rw.versioned = versioned
        return rw

    body = InThreadLoop(make).stmt(func.body)
    if versioned:
        body = _Allocations(versioned).stmt(body)
        left = [n for n in walk(body) if isinstance(n, (tvm.ir.expr.TensorLoad, tirx.BufferStore))
                and any((n.source if isinstance(n, tvm.ir.expr.TensorLoad) else n.buffer).same_as(old)
                        for old in versioned)]
        if left:  # the buffer is used outside its loop too: keep the loop unpipelined
            return with_body(func, InThreadLoop(lambda tx, n: _NoPipeline(tx, n)).stmt(func.body))
    return with_body(func, body)


class _NoPipeline(_Copies):
    def visit_For(self, s: Any) -> Any:
        return self.default_stmt(s)


def vectorize_copies(mod: tvm.IRModule) -> tvm.IRModule:
    """16-byte chunk copies global -> shared; `T.Pipelined(num_stages >= 2)` loops of copies-then-work
    become cp.async pipelines with versioned shared buffers."""
    return rewrite_funcs(mod, _rewrite)


def uses_prelude(source: str) -> bool:
    return "tl_copy16" in source or "tl_cp_async" in source


def narrow_prelude(source: str) -> str:
    """The 8- and 4-byte cp.async helpers, when the kernel calls them (`PRELUDE` has the 16-byte ones)."""
    return NARROW_PRELUDE if "tl_cp_async8(" in source or "tl_cp_async4(" in source else ""


# ------------------------------------------------------------------ shared-memory layout


def _chunk_geometry(buf: Any) -> tuple[int, int] | None:
    """(elements per 16-byte chunk, chunks per row) of a shared tile worth swizzling, else None."""
    if len(buf.shape) < 2 or any(not isinstance(d, tirx.IntImm) for d in buf.shape):
        return None
    size = _bytes(str(buf.dtype))
    per = CHUNK // size
    row = int(buf.shape[-1].value)
    if CHUNK % size or row % per:
        return None
    chunks = row // per
    if chunks not in (2, 4) and chunks % 8:
        return None  # the XOR key must stay inside the row: 2, 4 or a multiple of 8 chunks
    return per, chunks


def swizzled_column(row: Any, col: Any, per: int, chunks: int) -> Any:
    """The column where element (row, col) lives: its 16-byte chunk XOR a key of the row, so that the
    8 rows an ldmatrix (or a column of cp.async writes) touches fall in 8 different bank groups."""
    if chunks >= 8:
        key = tirx.floormod(row, 8)
    elif chunks == 4:
        key = tirx.floormod(tirx.floordiv(row, 2), 4)
    else:  # 2 chunks of 16 bytes per row
        key = tirx.floormod(tirx.floordiv(row, 4), 2)
    chunk = tirx.bitwise_xor(tirx.floordiv(col, per), key)
    return chunk * per + tirx.floormod(col, per)


def _pointer_targets(body: Any) -> set[Any]:
    """Shared buffers whose elements are handed to helpers (ldmatrix, 16-byte copies) by address."""
    out = set()
    for n in walk(body):
        if isinstance(n, tvm.ir.Call) and n.op.name == "tirx.address_of" and isinstance(n.args[0], tvm.ir.expr.TensorLoad):
            buf = n.args[0].source
            if buf.scope().startswith("shared"):
                out.add(buf)
    return out


class _Swizzle(Rewriter):
    def __init__(self, geometry: dict[Any, tuple[int, int]], panels: set[Any] = frozenset()) -> None:
        self.geometry = geometry
        self.panels = panels  # k x n wgmma B tiles: 64-column panels (cuda_wgmma.panel_offset)

    def _index(self, buf: Any, idx: list[Any]) -> list[Any]:
        for b, (per, chunks) in self.geometry.items():
            if buf.same_as(b):
                if b in self.panels:
                    from .cuda_wgmma import panel_offset

                    rows, cols = int(buf.shape[-2]), int(buf.shape[-1])
                    off = panel_offset(idx[-2], idx[-1], rows, per * 8)
                    return idx[:-2] + [tirx.floordiv(off, cols), tirx.floormod(off, cols)]
                return idx[:-1] + [swizzled_column(idx[-2], idx[-1], per, chunks)]
        return idx

    def visit_TensorLoad(self, e: Any) -> Any:
        idx = [self.expr(i) for i in e.indices]
        return tirx.BufferLoad(e.source, self._index(e.source, idx))

    def visit_BufferStore(self, s: Any) -> Any:
        value = self.expr(s.value)
        idx = [self.expr(i) for i in s.indices]
        return tirx.BufferStore(s.buffer, value, self._index(s.buffer, idx))


class _Pointers(Rewriter):
    def visit_Call(self, e: Any) -> Any:
        if e.op.name == "tirx.address_of" and isinstance(e.args[0], tvm.ir.expr.TensorLoad) \
                and e.args[0].source.scope().startswith("shared"):
            load = e.args[0]
            return load.source.access_ptr("rw", offset=load.source.offset_of(list(load.indices))[0])
        return self.default_expr(e)


def swizzle_shared(mod: tvm.IRModule) -> tvm.IRModule:
    """Shared tiles handed to ldmatrix or 16-byte copies get the XOR-swizzled chunk layout; every access
    to them (pointers, loads, stores) follows it."""
    def run(func: Any) -> Any:
        from .cuda_wgmma import panel_buffers

        geometry = {b: g for b in _pointer_targets(func.body) for g in [_chunk_geometry(b)] if g is not None}
        panels = {b for b in panel_buffers(func.body) if b in geometry}
        return with_body(func, _Swizzle(geometry, panels).stmt(func.body)) if geometry else func

    return rewrite_funcs(mod, run)


def shared_pointers(mod: tvm.IRModule) -> tvm.IRModule:
    """`address_of` a shared element -> `tvm_access_ptr`, the form TVM's shared-memory merging sees as an
    access of the buffer (an `address_of` is invisible to it)."""
    return rewrite_funcs(mod, lambda f: with_body(f, _Pointers().stmt(f.body)))


# ------------------------------------------------------------------ arena alignment on TMA archs


def _inner_bytes(buf: Any) -> int | None:
    last = _int(buf.shape[-1]) if len(buf.shape) else None
    return None if last is None else last * _bytes(str(buf.dtype))


def _swizzle_align(buf: Any) -> int:
    """The alignment of a TMA descriptor copy's tile: 128 << swizzle, the swizzle from its row width."""
    inner = _inner_bytes(buf)
    if inner is None:
        return 128
    return next((align for row, align in ((128, 1024), (64, 512), (32, 256)) if inner % row == 0), 128)


def _tma_row(buf: Any) -> bool:
    inner = _inner_bytes(buf)
    return inner is not None and inner >= 16 and inner % 16 == 0


def _tma_load(op: tile_ir.TileOp | None) -> bool:
    """A global -> shared copy (`T.copy`, `T.tma_copy`) TMA can do: same dtype (not bool), the tile's rows
    whole 16-byte units."""
    if op is None or op.name not in ("copy", "tma_copy"):
        return False
    src, dst = op.args[:2]
    if src.buffer.scope() != "global" or not dst.buffer.scope().startswith("shared"):
        return False
    dtype = str(dst.buffer.dtype)
    return str(src.buffer.dtype) == dtype and dtype != "bool" and _tma_row(dst.buffer)


def _tma_store(op: tile_ir.TileOp | None) -> bool:
    if op is None or op.name != "copy":
        return False
    src, dst = op.args
    return src.buffer.scope().startswith("shared") and dst.buffer.scope() == "global" \
        and str(src.buffer.dtype) == str(dst.buffer.dtype) and _tma_row(src.buffer)


def _contiguous(region: RegionRef) -> bool:
    """The region is one contiguous run of the tensor: whole innermost axes, one partial axis, then ones."""
    partial = False
    for dim, lo, ext in reversed(list(zip(region.buffer.shape, region.mins, region.extents))):
        if not partial:
            if not (_int(dim) == ext and _int(lo) == 0):
                partial = True
        elif ext != 1:
            return False
    return True


def _wgmma_dtypes(a: str, b: str, c: str, k: int, trans_a: bool, trans_b: bool) -> bool:
    """The A/B/C dtypes (and K multiples) Hopper's wgmma takes (analyzer/tile_ops.wgmma_dtypes_ok)."""
    fp8 = a.startswith("float8") and b.startswith("float8")
    k_major = not trans_a and trans_b
    if c == "float16":
        return k % 16 == 0 if a == b == "float16" else fp8 and k_major and k % 32 == 0
    if c == "float32":
        if a == b and a in ("float16", "bfloat16"):
            return k % 16 == 0
        if a == b == "tfloat32":
            return k_major and k % 8 == 0
        return fp8 and k_major and k % 32 == 0
    if c == "int32":
        return a in ("int8", "uint8") and b in ("int8", "uint8") and k_major and k % 32 == 0
    return False


def _wgmma(op: tile_ir.TileOp, threads: int, arch: str) -> bool:
    """A gemm TileLang lowers to wgmma on `arch` (shared B, fragment C, M >= 64, whole warpgroups)."""
    from analyzer.arch import WGMMA_ARCHES

    if arch not in WGMMA_ARCHES or op.name != "gemm":
        return False
    a, b, c, trans_a, trans_b = op.args[:5]
    if not b.buffer.scope().startswith("shared") or c.buffer.scope() != "local.fragment" or len(c.extents) < 2:
        return False
    k = a.extents[-2] if trans_a else a.extents[-1]
    return c.extents[-2] >= 64 and (threads // 32) % 4 == 0 \
        and _wgmma_dtypes(str(a.buffer.dtype), str(b.buffer.dtype), str(c.buffer.dtype), k, bool(trans_a), bool(trans_b))


def _flat(s: Any) -> list[Any]:
    return list(s.seq) if isinstance(s, tirx.SeqStmt) else [s]


def _pipelined_loops(s: Any, inside: Any, loops: list[Any], nested: set[Any]) -> None:
    """`T.Pipelined` loops in program order; the ones nested in another (and those holding one) in `nested`."""
    if isinstance(s, tirx.SeqStmt):
        for x in s.seq:
            _pipelined_loops(x, inside, loops, nested)
    elif isinstance(s, tirx.For):
        ann = s.annotations
        pipe = ann.get("tl.loop") == "Pipelined" and (int(ann.get("num_stages", 0)) >= 1 or "tl_pipeline_stage" in ann)
        if pipe:
            loops.append(s)
            if inside is not None:
                nested.update((s, inside))
        _pipelined_loops(s.body, s if pipe else inside, loops, nested)
    elif isinstance(s, tirx.IfThenElse):
        _pipelined_loops(s.then_case, inside, loops, nested)
        if s.else_case is not None:
            _pipelined_loops(s.else_case, inside, loops, nested)
    elif isinstance(s, tirx.AttrStmt):
        _pipelined_loops(s.body, inside, loops, nested)


def _ops(s: Any) -> list[tile_ir.TileOp]:
    return [op for n in walk(s) if isinstance(n, tirx.Evaluate) for op in [tile_ir.decode(n)] if op is not None]


def _tma_loaded(kernel: list[Any]) -> set[Any]:
    """The shared tiles TileLang loads with TMA on a TMA arch: its warp-specialization rewrite takes the first
    pipelined loop when some pipelined loop holds a TMA-eligible copy; the tiles of that loop's top-level
    TMA-eligible copies, and those of TMA-eligible copies before it whose tiles the loop reads
    (analyzer/shared_memory.plan_versions and _prelude_loads)."""
    loops: list[Any] = []
    nested: set[Any] = set()
    for s in kernel:
        _pipelined_loops(s, None, loops, nested)
    if not any(_tma_load(op) for loop in loops for op in _ops(loop.body)):
        return set()
    chosen = loops[0]
    body = _flat(chosen.body)
    if len(body) == 1 and isinstance(body[0], tirx.IfThenElse) and body[0].else_case is None:
        body = _flat(body[0].then_case)
    bounded = not any(isinstance(n, tvm.ir.expr.TensorLoad) for n in walk(chosen.extent))
    tma = [op for st in body for op in [tile_ir.decode(st)]
           if _tma_load(op) and (bounded or len(op.args[1].buffer.shape) != 1)]
    if chosen in nested or not tma:
        return set()
    loaded = {op.args[1].buffer for op in tma}
    for s in kernel:
        if any(n.same_as(chosen) for n in walk(s) if isinstance(n, tirx.For)):
            break
        op = tile_ir.decode(s)
        if _tma_load(op) and _reads(chosen, op.args[1].buffer):
            loaded.add(op.args[1].buffer)
    return loaded


def tma_alignment(kernel: Any, threads: int, arch: str) -> dict[str, int]:
    """{shared.dyn tile name: bytes} for the tiles TileLang 0.1.15 aligns beyond 16 bytes in its arena on a
    TMA arch (analyzer/shared_memory.plan_alignment): a TMA-loaded tile its swizzle's alignment (rows of
    128 B: 1024, 64 B: 512, 32 B: 256, else 128); the shared source of a TMA store 1024 when its global
    side is contiguous, else its swizzle's; a wgmma operand not aligned otherwise 1024. `kernel`: the
    block's body (tile ops, before this back end rewrites copies). Kernels with hand-written warp
    specialization (`T.ws`) get no TMA-load entries, as in the analyzer."""
    stmts = _flat(kernel)
    ops = _ops(kernel)
    manual = any(isinstance(n, tirx.AttrStmt) and n.attr_key == tile_ir.WARP_SPECIALIZE for n in walk(kernel))
    explicit: dict[Any, int] = {} if manual else {b: _swizzle_align(b) for b in _tma_loaded(stmts)}
    for op in ops:
        if _tma_store(op):
            src, dst = op.args
            explicit[src.buffer] = max(explicit.get(src.buffer, 0),
                                       1024 if _contiguous(dst) else _swizzle_align(src.buffer))
    for op in ops:
        if _wgmma(op, threads, arch):
            for region in op.args[:2]:
                explicit.setdefault(region.buffer, 1024)
    out: dict[str, int] = {}
    for buf, align in explicit.items():
        if buf.scope() == "shared.dyn" and str(buf.dtype) != "bool" and align > 16:
            out[buf.name] = max(out.get(buf.name, 0), align)
    return out


def plan_arena_alignment(mod: tvm.IRModule) -> tvm.IRModule:
    """On an arch with TMA (the function's `tl.cuda_arch`; sm_90 and sm_90a here), record TileLang's arena
    alignment of each shared tile (`tma_alignment`) as the function's `tl.arena_align`, which
    `cuda_threads.shared_arena` gives the buffers. Runs on the tile ops, before any CUDA pass rewrites them.
    This back end issues no TMA: the alignment only makes its arena the size TileLang's is."""
    from analyzer.arch import ARCHES

    def run(func: Any) -> Any:
        arch = str(func.attrs[ARCH_ATTR]) if func.attrs is not None and ARCH_ATTR in func.attrs else None
        if arch is None or arch not in ARCHES or not ARCHES[arch].tma:
            return func
        align: dict[str, int] = {}
        for n in walk(func.body):
            if isinstance(n, tirx.For) and THREADS_KEY in n.annotations:
                threads = 1
                for t in n.annotations[THREADS_KEY]:
                    threads *= int(t)
                for name, value in tma_alignment(n.body, threads, arch).items():
                    align[name] = max(align.get(name, 0), value)
        return func.with_attr(ALIGN_ATTR, align) if align else func

    return rewrite_funcs(mod, run)
