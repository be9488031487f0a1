"""Shared memory, sized the way TileLang 0.1.15 sizes it, per arch.

The model (notes/tilelang-smem-model.md, checked against TileLang itself):

1. Every `T.alloc_shared` in `shared.dyn` that some statement uses joins one
   arena; `bool` tiles and `scope="shared"` are static `__shared__` arrays.
2. Buffers filled by copies inside `T.Pipelined(num_stages=S)` get versions:
   the cp.async software pipeline (all archs) or, on TMA archs, the
   warp-specialized producer/consumer rewrite.
3. Liveness is counted in top-level statements of the `T.Kernel` body;
   buffers whose intervals do not overlap share bytes.
4. Each buffer is aligned (16 B, more for TMA/WGMMA tiles on sm_90+), and the
   arena is packed by a linear scan with best fit; the total is rounded up to
   16 bytes when two or more buffers were merged.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from typing import Any, Iterable

from .arch import ARCHES, WGMMA_ARCHES, Arch
from .model import (
    FRAGMENT,
    GLOBAL,
    SHARED,
    SHARED_DYN,
    Buffer,
    Cond,
    KernelModel,
    Loop,
    Op,
    Stmt,
    accesses,
    walk,
    walk_with_threads,
)
from .tile_ops import gemm_operands, policy_name, uses_wgmma, warp_partition
from .values import Unknown, as_int

DEFAULT_ALIGN = 16
SLOT = 64  # liveness positions per top-level statement (room for a pipeline prologue)
WARP = 32
PRODUCER_THREADS = 128


@dataclass
class Placement:
    name: str
    buffer: Buffer | None  # None for compiler-made buffers (reduction workspace)
    size: int  # bytes, versions included
    versions: int
    align: int
    start: int  # first top-level statement touching it
    end: int  # one past the last
    offset: int = -1
    reason: str = ""  # why it has these versions (for hovers)


@dataclass
class SharedMemoryPlan:
    arch: str
    limit: int
    dynamic_bytes: int | None  # None: cannot be known (symbolic shape or incomplete model)
    static_bytes: int | None
    placements: list[Placement] = field(default_factory=list)
    static_buffers: list[Buffer] = field(default_factory=list)
    warp_specialized: bool = False
    threads: int | None = None
    unknown_reason: str | None = None

    @property
    def fits(self) -> bool | None:
        if self.dynamic_bytes is None:
            return None
        return self.dynamic_bytes <= self.limit

    @property
    def live_peak(self) -> int:
        return sum(p.size for p in self.placements)


# ---------------------------------------------------------------------------
# statement facts


def _bufs(stmt: Stmt, write: bool | None = None) -> set[int]:
    return {id(a.buffer.root) for a in accesses(stmt) if write is None or a.write == write}


def _is_shared(buf: Buffer) -> bool:
    return buf.scope in (SHARED_DYN, SHARED)


def _copy_operands(op: Op) -> tuple[Buffer | None, Buffer | None]:
    src = dst = None
    for a in op.accesses:
        if a.write and dst is None:
            dst = a.buffer
    for a in op.accesses:
        if not a.write and a.buffer is not dst and src is None:
            src = a.buffer
    return src, dst


_LOAD_OPS = ("copy", "async_copy", "tma_copy", "im2col", "c2d_im2col")


def is_global_to_shared_copy(stmt: Stmt) -> bool:
    if not isinstance(stmt, Op) or stmt.kind != "copy" or stmt.name not in _LOAD_OPS:
        return False
    src, dst = _copy_operands(stmt)
    return src is not None and dst is not None and src.scope == GLOBAL and _is_shared(dst)


def is_copy_loop(stmt: Stmt) -> bool:
    """A `T.Parallel` loop that only moves global data into shared memory (a gather, say)."""
    if not isinstance(stmt, Loop) or stmt.kind != "parallel":
        return False
    wrote = False
    for s in walk(stmt.body):
        if isinstance(s, Loop):
            if s.kind not in ("parallel", "vectorized"):
                return False
            continue
        if not isinstance(s, Op) or s.kind not in ("store", "other"):
            return False
        for a in s.accesses:
            if a.write:
                if not _is_shared(a.buffer):
                    return False
                wrote = True
            elif a.buffer.scope != GLOBAL:
                return False
    return wrote


def is_producer(stmt: Stmt) -> bool:
    """A statement the pipeline planner treats as a copy stage."""
    return is_global_to_shared_copy(stmt) or is_copy_loop(stmt)


def _innermost_bytes(buf: Buffer) -> int | None:
    if not buf.shape or buf.dtype is None:
        return None
    inner = as_int(buf.shape[-1])
    if inner is None:
        return None
    return int(inner * buf.dtype.element_bytes)


def tma_eligible(op: Op) -> bool:
    """A global->shared copy the TMA engine can do (innermost box a multiple of 16 B)."""
    if not is_global_to_shared_copy(op):
        return False
    src, dst = _copy_operands(op)
    assert src is not None and dst is not None
    if src.dtype != dst.dtype or dst.dtype is None or dst.dtype.name == "bool":
        return False
    if op.args.get("disable_tma") is True:
        return False
    if op.name in ("im2col", "c2d_im2col"):
        return True  # lowered to the TMA im2col load on Hopper
    inner = _innermost_bytes(dst)
    return inner is not None and inner >= 16 and inner % 16 == 0


def _one_dim_destination(op: Op) -> bool:
    """A copy into a 1-D tile: TMA takes it only as a bulk copy proven in bounds.

    Inside a pipelined loop whose trip count is only known at run time (varlen
    attention), TileLang cannot prove that, and the copy stays a plain
    asynchronous copy with a single version.
    """
    _, dst = _copy_operands(op)
    return dst is not None and len(dst.shape) == 1


def tma_store_eligible(op: Op) -> bool:
    if not isinstance(op, Op) or op.kind != "copy" or op.name != "copy":
        return False
    src, dst = _copy_operands(op)
    if src is None or dst is None or not _is_shared(src) or dst.scope != GLOBAL:
        return False
    if src.dtype != dst.dtype or src.dtype is None or op.args.get("disable_tma") is True:
        return False
    inner = _innermost_bytes(src)
    return inner is not None and inner >= 16 and inner % 16 == 0


# ---------------------------------------------------------------------------
# pipelining


def pipelined_loops(body: list[Stmt]) -> tuple[list[Loop], set[int]]:
    """Pipelined loops in body order, and those nested in another pipelined loop."""
    loops: list[Loop] = []
    nested: set[int] = set()
    _visit_pipelined(body, None, loops, nested)
    return loops, nested


def _visit_pipelined(stmts: list[Stmt], inside: Loop | None, loops: list[Loop], nested: set[int]) -> None:
    # not a recursive closure: that would be a reference cycle holding the loops (and the file's trees)
    for s in stmts:
        if isinstance(s, Loop):
            is_pipe = s.kind == "pipelined" and s.num_stages >= 1
            if is_pipe:
                loops.append(s)
                if inside is not None:
                    nested.add(id(s))
                    nested.add(id(inside))
            _visit_pipelined(s.body, s if is_pipe else inside, loops, nested)
        elif isinstance(s, Cond):
            _visit_pipelined(s.then, inside, loops, nested)
            _visit_pipelined(s.orelse, inside, loops, nested)


def software_pipeline_versions(loop: Loop) -> dict[int, int]:
    """Versions per buffer id on the cp.async path (PipelinePlanning + InjectSoftwarePipeline)."""
    return software_pipeline(loop)[0]


def software_pipeline(loop: Loop) -> tuple[dict[int, int], list[int]]:
    """Versions per buffer id, and the buffers the prologue fills, in the order it fills them."""
    stmts = loop.body
    n = len(stmts)
    S = loop.num_stages
    reads = [_bufs(s, False) for s in stmts]
    writes = [_bufs(s, True) for s in stmts]
    if loop.stage is not None and loop.order is not None and len(loop.stage) == n and len(loop.order) == n:
        stage = list(loop.stage)
        order = list(loop.order)
    else:
        copy_stage = [is_producer(s) for s in stmts]
        last_use: dict[int, int] = {}
        for i in range(n):
            if not copy_stage[i]:
                continue
            for j in range(i + 1, n):
                if reads[j] & writes[i]:
                    last_use[i] = j
        is_copy = [copy_stage[i] and i in last_use for i in range(n)]
        stage = [0 if is_copy[i] else S for i in range(n)]
        sequence: list[int] = []
        for j in range(n):
            if is_copy[j]:
                continue
            sequence.append(j)
            sequence.extend(i for i in range(n) if is_copy[i] and last_use[i] == j)
        # copies nobody in the loop reads after them stay in source position
        placed = set(sequence)
        sequence.extend(i for i in range(n) if i not in placed)
        copies_at = [p for p, i in enumerate(sequence) if is_copy[i]]
        others_at = [p for p, i in enumerate(sequence) if not is_copy[i]]
        if copies_at and S >= 2 and (not others_at or min(copies_at) > max(others_at)):
            sequence = [i for i in sequence if is_copy[i]] + [i for i in sequence if not is_copy[i]]
            stage = [0 if is_copy[i] else S - 1 for i in range(n)]
        order = [0] * n
        for pos, i in enumerate(sequence):
            order[i] = pos
    prologue: list[int] = []
    if S >= 2:
        for i in sorted(range(n), key=lambda i: order[i]):
            if stage[i] == 0 and stage[i] < max(stage):
                prologue.extend(b for b in sorted(writes[i]) if b not in prologue)
    versions: dict[int, int] = {}
    written = set().union(*writes) if writes else set()
    for b in written:
        writers = [i for i in range(n) if b in writes[i]]
        readers = [i for i in range(n) if b in reads[i]]
        if not readers:
            versions[b] = 1
            continue
        d = min(stage[i] for i in writers)
        u = max(stage[i] for i in readers)
        v = u - d + 1
        if v >= 2:
            keep = any(order[w] < order[r] and stage[w] < stage[r] for w in writers for r in readers)
            if not keep:
                v -= 1
        versions[b] = max(v, 1)
    return versions, prologue


def _ws_loop_body(loop: Loop) -> list[Stmt]:
    """The statements the warp-specialization rewriter classifies."""
    body = loop.body
    if len(body) == 1 and isinstance(body[0], Cond) and not body[0].orelse:
        inner = [s for s in body[0].then if not (isinstance(s, Op) and s.name == "condition")]
        return inner
    return body


def _has_tma_copy(loop: Loop) -> bool:
    return any(isinstance(s, Op) and tma_eligible(s) for s in walk(loop.body))


@dataclass
class _Versions:
    versions: dict[int, int]
    reasons: dict[int, str]
    warp_specialized: bool
    ws_loop: Loop | None
    tma_loaded: set[int]
    # per pipelined loop: buffers touched before the rest of its body (WS producer
    # branch, or the software pipeline's prologue), in the order they are touched
    early: dict[int, list[int]] = field(default_factory=dict)


def plan_versions(model: KernelModel, arch: Arch) -> _Versions:
    loops, nested = pipelined_loops(model.body)
    versions: dict[int, int] = {}
    reasons: dict[int, str] = {}
    tma_loaded: set[int] = set()
    flat_loops = [l for l in loops if id(l) not in nested]

    manual_ws = any(
        (isinstance(s, Loop) and s.kind == "ws") or (isinstance(s, Op) and s.name in _MANUAL_WS)
        for s in walk(model.body)
    )
    if manual_ws:
        return _manual_ws_versions(flat_loops)
    ws_disabled = bool(model.pass_configs.get("tl.disable_warp_specialized"))
    tma_disabled = bool(model.pass_configs.get("tl.disable_tma_lower"))
    ws_candidate = arch.tma and not ws_disabled and any(_has_tma_copy(l) for l in loops)

    if ws_candidate:
        chosen = loops[0]
        body = _ws_loop_body(chosen)
        # a trip count computed from values loaded at run time (varlen) cannot be bounded
        bounded = not any(isinstance(e, Unknown) for e in chosen.extents)
        tma = [
            i
            for i, s in enumerate(body)
            if isinstance(s, Op) and tma_eligible(s) and (bounded or not _one_dim_destination(s))
        ]
        if id(chosen) in nested or not tma:
            # The rewriter does not fire: TileLang strips every num_stages.
            return _Versions({}, {}, False, None, set())
        S = chosen.num_stages
        # the producer warp group also takes the other global->shared copies (cp.async, gathers)
        producers = [i for i, s in enumerate(body) if i in tma or is_producer(s)]
        written = {id(a.buffer.root): a.buffer for i in producers for a in accesses(body[i]) if a.write}
        for b in written:
            readers = [j for j, s in enumerate(body) if j not in producers and b in _bufs(s, False)]
            if readers:
                versions[b] = S
                reasons[b] = f"num_stages={S} (producer warp group, warp specialized)"
            if any(b in _bufs(body[i], True) for i in tma):
                tma_loaded.add(b)
        early = {id(chosen): [b for b in written]}
        for other in flat_loops:
            if other is chosen:
                continue
            sp = software_pipeline_versions(other)
            candidates = {id(a.buffer) for s in other.body if is_producer(s) for a in accesses(s) if a.write}
            # the pre-pass treats the other loops' loads as producers too: their tiles come first
            early[id(other)] = [
                id(a.buffer.root) for s in other.body if is_producer(s) for a in accesses(s) if a.write
            ]
            for b, v in sp.items():
                if b in candidates and any(b in _bufs(s, False) for s in other.body):
                    versions[b] = versions.get(b, 1) * other.num_stages * v
                    reasons[b] = (
                        f"num_stages={other.num_stages} applied twice: the warp-specialization pre-pass "
                        f"versions every pipelined loop, then the software pipeline versions this one again"
                    )
                elif v > 1:
                    versions[b] = max(versions.get(b, 1), v)
                    reasons[b] = f"num_stages={other.num_stages} (software pipeline)"
        # copies feeding the pipelined loop before it starts are TMA loads too
        if not tma_disabled:
            tma_loaded |= _prelude_loads(model, chosen)
        return _Versions(versions, reasons, True, chosen, tma_loaded, early)

    early: dict[int, list[int]] = {}
    for loop in flat_loops:
        sp, prologue = software_pipeline(loop)
        early[id(loop)] = prologue
        for b, v in sp.items():
            if v > 1:
                versions[b] = max(versions.get(b, 1), v)
                reasons[b] = f"num_stages={loop.num_stages} (software pipeline)"
    return _Versions(versions, reasons, False, None, set(), early)


_MANUAL_WS = frozenset({"ws", "set_max_nreg", "annotate_ws_schedule", "WSScope", "WSRole"})


def _manual_ws_versions(loops: list[Loop]) -> _Versions:
    """Hand-written warp specialization: shared tiles filled by copies in a pipelined loop get num_stages copies."""
    versions: dict[int, int] = {}
    reasons: dict[int, str] = {}
    for loop in loops:
        written = {
            id(a.buffer.root)
            for s in walk(loop.body)
            if isinstance(s, Op) and s.kind == "copy" and is_global_to_shared_copy(s)
            for a in s.accesses
            if a.write
        }
        read = {id(a.buffer.root) for a in accesses(loop) if not a.write}
        for b in written & read:
            versions[b] = max(versions.get(b, 1), loop.num_stages)
            reasons[b] = f"num_stages={loop.num_stages} (warp-specialized by hand)"
    return _Versions(versions, reasons, False, None, set())


def _prelude_loads(model: KernelModel, loop: Loop) -> set[int]:
    """Global->shared copies before the WS loop whose buffers the loop reads (Q in attention)."""
    inside_reads = {id(a.buffer) for a in accesses(loop) if not a.write}
    out: set[int] = set()
    for s in model.body:
        if s is loop or any(s is x for x in walk([s]) if x is loop):
            break
        if isinstance(s, Op) and tma_eligible(s):
            for a in s.accesses:
                if a.write and id(a.buffer) in inside_reads:
                    out.add(id(a.buffer))
    return out


# ---------------------------------------------------------------------------
# alignment


def _swizzle_align(buf: Buffer) -> int:
    inner = _innermost_bytes(buf)
    if inner is None:
        return 128
    if inner % 128 == 0:
        return 1024
    if inner % 64 == 0:
        return 512
    if inner % 32 == 0:
        return 256
    return 128


def plan_alignment(model: KernelModel, arch: Arch, ver: _Versions, arena: list[Buffer]) -> dict[int, int]:
    """Per-buffer alignment: 16 B, or what sm_90's TMA and wgmma descriptors ask for.

    A TMA copy gives its tile an explicit alignment: a descriptor copy the
    swizzle of the tile's layout (128 << swizzle), a contiguous bulk copy 1024.
    A wgmma operand without such an entry gets the 1024 B descriptor default.
    """
    align = {id(b): DEFAULT_ALIGN for b in arena}
    if not arch.tma or model.pass_configs.get("tl.disable_tma_lower"):
        return align
    explicit: dict[int, int] = {}
    for b in arena:
        if id(b) in ver.tma_loaded:
            explicit[id(b)] = _swizzle_align(b)
    ops = [s for _, s in model_index(model).ops]
    for s in ops:
        if tma_store_eligible(s):
            src, _ = _copy_operands(s)
            if src is not None and id(src) in align:
                wanted = 1024 if _contiguous_global_region(s) else _swizzle_align(src)
                explicit[id(src)] = max(explicit.get(id(src), 0), wanted)
    threads = model.launch.thread_count if model.launch else None
    no_wgmma = bool(model.pass_configs.get("tl.disable_wgmma"))
    for s in ops:
        if uses_wgmma(s, threads, arch.name, no_wgmma):
            g = gemm_operands(s)
            assert g is not None
            for buf in (g.a, g.b):
                if id(buf) in align and id(buf) not in explicit:
                    explicit[id(buf)] = 1024
    for b, value in explicit.items():
        align[b] = max(align[b], value)
    return align


def _contiguous_global_region(op: Op) -> bool:
    """Whether a copy's global side is one contiguous run of memory (TileLang's 1-D bulk path)."""
    glob = next((a for a in op.accesses if a.buffer.scope == GLOBAL), None)
    other = next((a.buffer for a in op.accesses if a.buffer.scope != GLOBAL), None)
    if glob is None or other is None:
        return False
    dims = [as_int(d) for d in glob.buffer.shape]
    if glob.region is None:
        starts = [0] * len(dims)
        extents: list[int | None] = list(dims)
    else:
        starts = [as_int(r[0]) for r in glob.region]
        extents = [as_int(r[1]) if r[1] is not None else None for r in glob.region]
        if any(e is None for e in extents):
            # a start corner: the extents are the other side's shape, right-aligned
            shape = [as_int(d) for d in other.shape]
            padded = [1] * (len(dims) - len(shape)) + shape
            extents = [e if e is not None else padded[i] for i, e in enumerate(extents)]
    if len(extents) != len(dims) or any(e is None for e in extents):
        return False
    partial = False
    for i in range(len(dims) - 1, -1, -1):
        if not partial:
            if not (extents[i] == dims[i] and starts[i] == 0):
                partial = True
        elif extents[i] != 1:
            return False
    return True


# ---------------------------------------------------------------------------
# reduction workspaces


def _accumulator_gemm(model: KernelModel, buf: Buffer) -> Op | None:
    """The gemm that writes `buf` (its layout comes from that gemm), if any."""
    for _, s in model_index(model).ops:
        if s.kind == "gemm" and any(a.write and a.buffer is buf for a in s.accesses):
            return s
    return None


def _fragment_layout(model: KernelModel, buf: Buffer, seen: frozenset[int] = frozenset()) -> tuple[str, Any]:
    """Where a fragment's thread layout comes from: ("gemm", op) or ("vector", elements per vector).

    TileLang's layout inference gives a gemm accumulator the mma layout; a
    fragment filled by `T.copy` gets 128-bit vectors; a `T.Parallel` loop
    that reads another fragment of the same shape lays out what it writes
    like that fragment; otherwise the loop vectorizes only as far as its
    global/shared accesses are contiguous in the innermost loop variable (a
    loop that only broadcasts a value gets no vectors).
    """
    gemm = _accumulator_gemm(model, buf)
    if gemm is not None:
        return "gemm", gemm
    assert buf.dtype is not None
    full = max(1, int(16 // max(buf.dtype.element_bytes, 1)))
    inner = as_int(buf.shape[-1]) if buf.shape else None
    for _, op in model_index(model).ops:
        if op.kind == "copy" and any(a.write and a.buffer.root is buf for a in op.accesses):
            return "vector", _fit(full, inner)
    for loop in (s for s in walk(model.body) if isinstance(s, Loop) and s.kind == "parallel"):
        if not any(a.write and a.buffer.root is buf for a in accesses(loop)):
            continue
        for a in accesses(loop):
            other = a.buffer.root
            if (not a.write and other is not buf and other.scope == FRAGMENT and id(other) not in seen
                    and other.dtype is not None and tuple(other.shape) == tuple(buf.shape)):
                return _fragment_layout(model, other, seen | {id(buf)})
        var = loop.vars[-1] if loop.vars else None
        width = 0
        for a in accesses(loop):
            if a.write or a.buffer.scope not in (GLOBAL, SHARED_DYN, SHARED) or not a.region or var is None:
                continue
            last = str(a.region[-1][0])
            if re.search(rf"\b{re.escape(var)}\b", last):
                elem = a.buffer.dtype.element_bytes if a.buffer.dtype else 4
                width = max(width, int(16 // max(elem, 1)))
        return "vector", _fit(min(width, full) if width else 1, inner)
    return "vector", _fit(full, inner)


def _fit(v: int, inner: int | None) -> int:
    while inner is not None and v > 1 and inner % v:
        v //= 2
    return max(v, 1)


def _needs_workspace(model: KernelModel, op: Op, threads: int, arch: Arch) -> bool:
    """Whether one reduction step spans several warps (TileLang then adds a `workspace`)."""
    src = next((a.buffer for a in op.accesses if not a.write), None)
    if src is None or threads <= WARP:
        return False
    if src.scope != FRAGMENT and not _is_shared(src):
        return False
    shape = [as_int(d) for d in src.shape]
    if not shape or any(d is None for d in shape):
        return False
    dim = as_int(op.args.get("dim", -1))
    if dim is None:
        return False
    if dim < 0:
        dim += len(shape)
    if not 0 <= dim < len(shape):
        return False  # TL203 reports the bad dimension
    root = src.root
    if root.dtype is None:
        return False
    # A shared source is read one element per thread into a temporary fragment.
    kind, detail = ("vector", 1) if _is_shared(root) else _fragment_layout(model, root)
    if kind == "gemm":
        gemm = detail
        acc = next((a.buffer.root for a in gemm.accesses if a.write), root)
        rshape = [as_int(d) for d in acc.shape]
        if len(rshape) < 2 or any(d is None for d in rshape):
            return False
        rows, cols = math.prod(rshape[:-1]), rshape[-1]  # type: ignore[arg-type]
        wgmma = uses_wgmma(gemm, threads, arch.name, bool(model.pass_configs.get("tl.disable_wgmma")))
        split = warp_partition(policy_name(gemm.args.get("policy")), rows, cols, threads // WARP, wgmma)
        if split is None:
            return False
        if dim != len(shape) - 1:
            return split[0] > 1
        return shape[-1] > cols // split[1]  # type: ignore[operator]
    v = detail
    stride = math.prod(shape[dim + 1 :])  # type: ignore[arg-type]
    count = min(shape[dim], 4096)  # type: ignore[type-var]
    warps = {((k * stride) // v) % threads // WARP for k in range(count)}
    return len(warps) > 1


# ---------------------------------------------------------------------------
# packing


def _align_up(x: int, a: int) -> int:
    return (x + a - 1) // a * a


def linear_scan_pack(items: list[Placement]) -> int:
    """Place buffers like TileLang's LinearScanPack; returns the arena end."""
    order = sorted(items, key=lambda p: (p.start, -p.size, p.name))
    free: list[list[int]] = []  # [offset, size], sorted by offset, coalesced
    active: list[Placement] = []
    top = 0

    def release(off: int, size: int) -> None:
        if size <= 0:
            return
        free.append([off, size])
        free.sort()
        merged: list[list[int]] = []
        for blk in free:
            if merged and merged[-1][0] + merged[-1][1] == blk[0]:
                merged[-1][1] += blk[1]
            else:
                merged.append(blk)
        free[:] = merged

    for item in order:
        for done in [a for a in active if a.end <= item.start]:
            active.remove(done)
            release(done.offset, done.size)
        best = None
        for blk in free:
            off = _align_up(blk[0], item.align)
            if off + item.size <= blk[0] + blk[1]:
                waste = blk[1] - item.size
                if best is None or waste < best[0] or (waste == best[0] and blk[0] < best[1][0]):
                    best = (waste, blk)
        if best is not None:
            blk = best[1]
            off = _align_up(blk[0], item.align)
            free.remove(blk)
            release(blk[0], off - blk[0])
            release(off + item.size, blk[0] + blk[1] - off - item.size)
            item.offset = off
        elif free and free[-1][0] + free[-1][1] == top and _align_up(free[-1][0], item.align) < top:
            blk = free.pop()
            off = _align_up(blk[0], item.align)
            release(blk[0], off - blk[0])
            item.offset = off
            top = max(top, off + item.size)
        else:
            off = _align_up(top, item.align)
            release(top, off - top)
            item.offset = off
            top = off + item.size
        active.append(item)
    return max((p.offset + p.size for p in items), default=0)


def _sequential_by_name(items: list[Placement]) -> int:
    top = 0
    for item in sorted(items, key=lambda p: p.name):
        item.offset = _align_up(top, item.align)
        top = item.offset + item.size
    return _align_up(top, 16)


# ---------------------------------------------------------------------------


@dataclass
class ModelIndex:
    """What every arch's plan needs from a model, computed once."""

    used: set[int]
    first: dict[int, int]
    last: dict[int, int]
    ops: list[tuple[int, Op]]  # (top-level statement index, op), depth first


def model_index(model: KernelModel) -> ModelIndex:
    index = model.cache.get("smem")
    if index is None:
        first: dict[int, int] = {}
        last: dict[int, int] = {}
        ops: list[tuple[int, Op]] = []
        for i, stmt in enumerate(model.body):
            for s in walk([stmt]):
                if isinstance(s, Op):
                    ops.append((i, s))
                    for a in s.accesses:
                        owner = id(a.buffer.root)
                        first.setdefault(owner, i)
                        last[owner] = i
        index = ModelIndex(set(first), first, last, ops)
        model.cache["smem"] = index
    return index


def _consumer_prelude(model: KernelModel, loop: Loop, start: dict[int, int], end: dict[int, int]) -> None:
    """Warp specialization moves the consumer's set-up into the consumer branch.

    Statements before the pipelined loop that prepare what only the consumer
    uses run after the producer branch: one that fills fragments from shared
    memory (`T.copy(Bias_shared, C_local)`) keeps the tiles it reads live
    across the producer's loop, and one that initialises a shared tile
    without loading it (`T.clear(S_shared)`) starts that tile's life there.
    """
    position = next((i for i, s in enumerate(model.body) if s is loop), None)
    if position is None:
        return
    where = SLOT * position + SLOT // 4
    for i, stmt in enumerate(model.body[:position]):
        acc = list(accesses(stmt))
        writes = [a.buffer for a in acc if a.write]
        if not writes:
            continue
        reads_global = any(not a.write and a.buffer.scope == GLOBAL for a in acc)
        if all(not _is_shared(b) and b.scope != GLOBAL for b in writes):
            for a in acc:
                if not a.write and _is_shared(a.buffer):
                    b = id(a.buffer.root)
                    end[b] = max(end.get(b, 0), where)
        elif not reads_global and all(_is_shared(b) for b in writes):
            for b in writes:
                key = id(b.root)
                if start.get(key) == SLOT * i:
                    start[key] = where


def plan_shared_memory(model: KernelModel, arch_name: str) -> SharedMemoryPlan:
    arch = ARCHES[arch_name]
    plan = SharedMemoryPlan(arch_name, arch.shared_per_block, None, None)
    index = model_index(model)
    used = index.used
    arena = [b for b in model.buffers if b.scope == SHARED_DYN and id(b) in used]
    static = [b for b in model.buffers if b.scope == SHARED and id(b) in used]
    plan.static_buffers = static
    static_sizes = [b.bytes for b in static]
    plan.static_bytes = None if any(s is None for s in static_sizes) else sum(static_sizes)  # type: ignore[arg-type]
    if model.incomplete:
        plan.unknown_reason = model.incomplete[0]
        return plan
    symbolic = [b for b in arena if b.bytes is None]
    if symbolic:
        plan.unknown_reason = "shape of " + ", ".join(f"{b.name} {b.shape_text()}" for b in symbolic) + " is not known"
        return plan

    ver = plan_versions(model, arch)
    plan.warp_specialized = ver.warp_specialized
    threads = model.launch.thread_count if model.launch else None
    plan.threads = threads + PRODUCER_THREADS if threads is not None and ver.warp_specialized else threads
    align = plan_alignment(model, arch, ver, arena)

    # Liveness is counted in top-level statements; within a top-level pipelined
    # loop, the buffers its prologue (or producer warp group) fills come first.
    start = {b: SLOT * i for b, i in index.first.items()}
    for i, stmt in enumerate(model.body):
        if isinstance(stmt, Loop) and id(stmt) in ver.early:
            early = ver.early[id(stmt)]
            together = stmt is ver.ws_loop  # the producer warp group touches its tiles at once
            for b in index.first:
                if index.first[b] == i:
                    if b not in early:
                        start[b] = SLOT * i + SLOT // 2
                    else:
                        start[b] = SLOT * i + (0 if together else min(early.index(b), SLOT // 2 - 1))
    end = {b: SLOT * (i + 1) for b, i in index.last.items()}
    if ver.warp_specialized and ver.ws_loop is not None:
        _consumer_prelude(model, ver.ws_loop, start, end)
    items: list[Placement] = []
    for b in arena:
        v = ver.versions.get(id(b), 1)
        items.append(
            Placement(b.name, b, b.bytes * v, v, align[id(b)], start[id(b)], end[id(b)],  # type: ignore[operator]
                      reason=ver.reasons.get(id(b), ""))
        )
    if threads is not None:
        # a reduction under `if tx < 128:` (or in a warp-specialized role) runs with that role's threads
        narrowed = {id(st): t for st, _, t in walk_with_threads(model.body, model.launch.thread_count)
                    if isinstance(st, Op) and t is not None} if model.launch else {}
        for i, s in index.ops:
            op_threads = min(narrowed.get(id(s), threads), threads)
            if s.kind == "reduce" and _needs_workspace(model, s, op_threads, arch):
                out = next((a.buffer for a in s.accesses if a.write), None)
                src = next((a.buffer for a in s.accesses if not a.write), None)
                if src is not None and _is_shared(src):
                    out = src
                dtype = out.dtype if out is not None and out.dtype is not None else None
                size = op_threads * (int(dtype.element_bytes) if dtype else 4)
                items.append(Placement("workspace", None, size, 1, DEFAULT_ALIGN, SLOT * i, SLOT * (i + 1),
                                       reason=f"cross-warp {s.name} scratch ({op_threads} threads)"))
    plan.placements = items
    if not items:
        plan.dynamic_bytes = 0
    elif len(items) == 1:
        items[0].offset = 0
        plan.dynamic_bytes = items[0].size
    elif model.pass_configs.get("tl.disable_shared_memory_reuse"):
        plan.dynamic_bytes = _sequential_by_name(items)
    else:
        plan.dynamic_bytes = _align_up(linear_scan_pack(items), 16)
    return plan


def _rules_key(arch: Arch) -> tuple[bool, bool]:
    """Archs with the same key get the same arena (only their limits differ)."""
    return arch.tma, arch.name in WGMMA_ARCHES


def plan_for_arches(model: KernelModel, arches: Iterable[str]) -> dict[str, SharedMemoryPlan]:
    """One plan per arch, computed once per family of archs that TileLang treats alike."""
    by_key: dict[tuple[bool, bool], SharedMemoryPlan] = {}
    out: dict[str, SharedMemoryPlan] = {}
    for name in arches:
        arch = ARCHES[name]
        key = _rules_key(arch)
        if key not in by_key:
            by_key[key] = plan_shared_memory(model, name)
        out[name] = replace(by_key[key], arch=name, limit=arch.shared_per_block)
    return out


def max_stages_that_fit(model: KernelModel, arch_name: str, limit: int | None = None) -> int | None:
    """The largest num_stages (same for every pipelined loop) whose arena fits `arch_name`."""
    loops, _ = pipelined_loops(model.body)
    if not loops:
        return None
    arch = ARCHES[arch_name]
    cap = limit if limit is not None else arch.shared_per_block
    memo = model.cache.setdefault("max_stages", {})
    key = (_rules_key(arch), cap)
    if key in memo:
        return memo[key]
    original = [(l, l.num_stages, l.stage) for l in loops]
    best = None
    try:
        for stages in range(max(l.num_stages for l in loops), 0, -1):
            for l in loops:
                l.num_stages = stages
                l.stage = None
            plan = plan_shared_memory(model, arch_name)
            if plan.dynamic_bytes is not None and plan.dynamic_bytes <= cap:
                best = stages
                break
    finally:
        for l, n, st in original:
            l.num_stages = n
            l.stage = st
    memo[key] = best
    return best


def iter_arena(plan: SharedMemoryPlan) -> Iterable[Placement]:
    return sorted(plan.placements, key=lambda p: (-p.size, p.name))
