"""A per-thread register estimate from what a kernel keeps in registers.

TileLang spreads each fragment (`T.alloc_fragment`, `T.alloc_reducer`) over
the threads that use it, and gives every thread a whole copy of a local array
(`T.alloc_local`) and of a scalar (`T.alloc_var`); nvcc keeps them in 32-bit
registers. The estimate, in 32-bit registers per thread:

    BASELINE (24)                       indices, pointers, loop counters, addresses
  + held fragments        ceil(elements / threads) * bits / 32
  + local arrays          elements * bits / 32
  + scalars               ceil(bits / 32)
  + mma.sync gemms whose A or B is in shared memory: the 16-deep k-step of A
    and B one warp loads (TileLang's A_local[] / B_local[]); wgmma reads
    shared memory directly

`threads` is the number of threads that use the fragment: a warp-specialized
role or an `if tx < 128:` branch narrows it.

*Held* fragments are those whose whole contents must sit in registers at once:
gemm operands and accumulators, fragments a loop carries from one iteration
to the next (or that are set up before a loop and used in it), and fragments
with a synchronising statement (a gemm, a reduction, a copy through shared
memory, a serial loop) between two of their uses. A fragment written and then
consumed element by element (`T.copy(A_shared, A_frag)` followed by a
`T.Parallel` over it) is streamed through a few registers and not counted.

Only what is live at the same time counts: the peak over the top-level
statements of the `T.Kernel` body (a buffer lives from the first to the last
statement touching it), per role: the threads of one branch of `if tx < 128:`
(or of one `T.ws` block) hold their own buffers and those of the whole block,
not the other branch's. Loops with a constant zero trip count are dropped.

Checked against ptxas (`nvcc -Xptxas -v`) on 27 TileLang example kernels
(`benchmarks/registers_vs_ptxas.py`): it is a lower bound. On kernels whose
registers are mostly fragments (gemm, attention, convolution) it is 0.8 to
0.95 of ptxas' count on sm_80; kernels whose registers go to unrolled address
arithmetic or loads in flight (a serial loop over global memory, a gemv) use
two to six times the estimate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Iterator

from .arch import WGMMA_ARCHES
from .model import FRAGMENT, LOCAL, VAR, Buffer, Cond, KernelModel, Loop, Op, Stmt, walk
from .values import as_int
from .tile_ops import gemm_operands, policy_name, uses_wgmma, warp_partition

# Registers every TileLang kernel uses besides its buffers: the thread and
# block indices, global pointers and strides, loop counters, shared-memory
# addresses and predicates. Tuned against ptxas (see the module doc).
BASELINE = 24

REGISTER_FILE = 65536  # 32-bit registers per SM (and per block) on sm_70 .. sm_120
MAX_PER_THREAD = 255
ALLOCATION_UNIT = 8  # ptxas hands out registers per thread in steps of 8 under __launch_bounds__

FRAGMENT_SCOPES = (FRAGMENT, "local.reducer")
LOCAL_SCOPES = (LOCAL, "local.descriptor", "local.descriptor.wgmma", "local.descriptor.tcgen05_smem",
                "local.descriptor.tcgen05_instr")


@dataclass
class RegisterPart:
    name: str
    registers: int
    detail: str  # e.g. "(128, 128) float32 over 128 threads"
    buffer: Buffer | None = None
    threads: int | None = None  # fragments: the threads the buffer is spread over
    per_thread: int | None = None  # elements each thread keeps (fragments, local arrays, scalars)


@dataclass
class RegisterEstimate:
    total: int  # per thread, baseline included
    threads: int | None  # the block's threads
    parts: list[RegisterPart] = field(default_factory=list)  # what is live at the peak, largest first
    unknown: list[str] = field(default_factory=list)  # buffers whose size is not known (left out)
    streamed: list[RegisterPart] = field(default_factory=list)  # fragments nvcc need not hold at once (not counted)
    # every register buffer of known size, by id(buffer), whether or not it is live at the peak
    by_buffer: dict[int, RegisterPart] = field(default_factory=dict)

    @property
    def buffers(self) -> int:
        return self.total - BASELINE


def cap_for(threads: int) -> int:
    """The registers per thread ptxas may use with TileLang's `__launch_bounds__(threads, 1)`."""
    warps = -(-threads // 32)
    per_thread = REGISTER_FILE // (warps * 32)
    return min(MAX_PER_THREAD, per_thread - per_thread % ALLOCATION_UNIT)


def _bits(buf: Buffer) -> int | None:
    if buf.dtype is None:
        return None
    return buf.dtype.bits * max(buf.dtype.lanes, 1)


Role = tuple  # the thread-range branches (Cond id + side, or a T.ws block) above a statement


def _runs(loop: Loop) -> bool:
    """False for a loop with a constant zero trip count (`T.ceildiv(0, 32)`): TileLang drops it."""
    return not any(as_int(e) is not None and as_int(e) <= 0 for e in loop.extents)


def _prune(stmts: list[Stmt]) -> list[Stmt]:
    """The statements that can run: loops that never iterate are left out (their buffers are dead)."""
    out: list[Stmt] = []
    for s in stmts:
        if isinstance(s, Loop):
            if _runs(s):
                out.append(replace(s, body=_prune(s.body)))
        elif isinstance(s, Cond):
            out.append(replace(s, then=_prune(s.then), orelse=_prune(s.orelse)))
        else:
            out.append(s)
    return out


def _ops_with_roles(stmts: list[Stmt], threads: int | None, role: Role = ()
                    ) -> Iterator[tuple[Op, int | None, Role]]:
    """Every Op with the threads that run it and its role: which thread-range branches it sits in."""
    for s in stmts:
        if isinstance(s, Op):
            yield s, threads, role
        elif isinstance(s, Loop):
            inner = s.threads if s.threads is not None else threads
            sub = role + ((id(s), "ws"),) if s.kind == "ws" else role
            yield from _ops_with_roles(s.body, inner, sub)
        elif isinstance(s, Cond):
            split = s.then_threads is not None or s.else_threads is not None
            yield from _ops_with_roles(s.then, s.then_threads or threads, role + ((id(s), "then"),) if split else role)
            yield from _ops_with_roles(s.orelse, s.else_threads or threads, role + ((id(s), "else"),) if split else role)


def _common(a: Role, b: Role) -> Role:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return a[:n]


def _buffer_part(buf: Buffer, threads: int | None) -> RegisterPart | None:
    bits = _bits(buf)
    n = buf.elements
    if bits is None or n is None:
        return None
    if buf.scope in FRAGMENT_SCOPES:
        if not threads:
            return None
        per_thread = -(-n // threads)
        regs = math.ceil(per_thread * bits / 32)
        return RegisterPart(buf.name, regs, f"{buf.shape_text()} {buf.dtype} over {threads} threads: "
                                            f"{per_thread} per thread", buf, threads, per_thread)
    if buf.scope == VAR:
        return RegisterPart(buf.name, math.ceil(bits / 32), f"T.alloc_var {buf.dtype}", buf, per_thread=1)
    regs = math.ceil(n * bits / 32)
    return RegisterPart(buf.name, regs, f"{buf.shape_text()} {buf.dtype} per thread", buf, per_thread=n)


def _gemm_operand_part(op: Op, threads: int | None, arch: str, disabled: bool) -> RegisterPart | None:
    """The A/B tiles one warp holds for an mma.sync k-step (16 deep), when they come from shared memory."""
    g = gemm_operands(op)
    if g is None or threads is None or threads % 32 or g.m is None or g.n is None:
        return None
    if g.c.scope not in FRAGMENT_SCOPES or uses_wgmma(op, threads, arch, disabled):
        return None
    part = warp_partition(policy_name(op.args.get("policy")), g.m, g.n, threads // 32)
    if part is None:
        return None
    m_warp, n_warp = part
    regs = 0
    for buf, rows in ((g.a, g.m // m_warp), (g.b, g.n // n_warp)):
        bits = _bits(buf)
        if buf.scope in FRAGMENT_SCOPES or bits is None:
            continue  # a fragment operand is already counted as a buffer
        # TileLang loads one 16-deep k-step of A and B per warp (A_local[], B_local[]) before its mma.sync
        depth = min(g.k or 16, 16)
        regs += math.ceil(rows * depth * bits / 32 / 32)
    if not regs:
        return None
    return RegisterPart(f"T.gemm tiles of {g.a.name}/{g.b.name}", regs,
                        f"A/B k-step tiles per warp ({m_warp}x{n_warp} warps)")


_SPREAD_LOOPS = ("parallel", "vectorized", "block")


class _StmtFacts:
    """Per statement (memoised by id, for one call of held_buffers): the buffers it touches, whether it
    synchronises or loops, and for each buffer whether its first access there reads it."""

    __slots__ = ("touches", "holds", "first")

    def __init__(self) -> None:
        self.touches: dict[int, set[int]] = {}
        self.holds: dict[int, bool] = {}
        self.first: dict[int, dict[int, bool]] = {}

    def of(self, stmt: Stmt) -> set[int]:
        key = id(stmt)
        found = self.touches.get(key)
        if found is not None:
            return found
        if isinstance(stmt, Op):
            touched = {id(a.buffer.root) for a in stmt.accesses}
            holds = stmt.kind in ("gemm", "reduce", "cumsum") or any(a.buffer.is_shared for a in stmt.accesses)
            first: dict[int, bool] = {}
            if stmt.accesses:
                reads = stmt.kind not in ("fill", "clear")
                for a in stmt.accesses:
                    owner = id(a.buffer.root)
                    if owner not in first:
                        first[owner] = False
                    if reads and not a.write:
                        first[owner] = True
        else:
            children = stmt.body if isinstance(stmt, Loop) else (stmt.then + stmt.orelse if isinstance(stmt, Cond) else [])
            touched = set()
            holds = isinstance(stmt, Loop) and stmt.kind not in _SPREAD_LOOPS
            first = {}
            for child in children:
                touched |= self.of(child)
                holds = holds or self.holds[id(child)]
                for owner, value in self.first[id(child)].items():
                    if owner not in first:
                        first[owner] = value
        self.touches[key] = touched
        self.holds[key] = holds
        self.first[key] = first
        return touched


def held_buffers(model: KernelModel, body: list[Stmt] | None = None) -> set[int]:
    """The register buffers whose whole contents must be kept at once.

    A fragment that one statement writes and the next consumes element by
    element (`T.copy(A_shared, A_frag)` then a `T.Parallel` over it) is
    streamed by nvcc through a few registers. One is held when it is a gemm
    operand, when a synchronising statement (a gemm, a reduction, a copy
    through shared memory, a serial loop) stands between two of its uses, or
    when a loop carries it from one iteration to the next.
    """
    body = model.body if body is None else body
    held: set[int] = set()
    for s in walk(body):
        if isinstance(s, Op) and s.kind == "gemm":
            held |= {id(a.buffer.root) for a in s.accesses}
    _visit_held(body, None, _StmtFacts(), held)
    return held


def _visit_held(stmts: list[Stmt], carried_loop: Loop | None, facts: _StmtFacts, held: set[int]) -> None:
    """held_buffers over one statement list (not a recursive closure: that would be a reference cycle).

    carried_loop: the serial/pipelined loop whose body `stmts` is (its iterations carry values).
    """
    touched = [facts.of(s) for s in stmts]
    holds = [facts.holds[id(s)] for s in stmts]
    where: dict[int, list[int]] = {}
    for i, t in enumerate(touched):
        for key in t:
            where.setdefault(key, []).append(i)
    for key, at in where.items():
        lo, hi = at[0], at[-1]
        if any(holds[lo + 1:hi]):
            held.add(key)
        if carried_loop is not None and facts.first[id(stmts[lo])][key]:
            held.add(key)  # read before written in the body: the previous iteration's value
    for i, stmt in enumerate(stmts):
        if isinstance(stmt, Loop):
            loop = stmt if stmt.kind not in _SPREAD_LOOPS else None
            if loop is not None:
                inside = touched[i]
                outside = set().union(*(t for j, t in enumerate(touched) if j != i)) if len(stmts) > 1 else set()
                held.update(inside & outside)  # set up before the loop or read after it
            _visit_held(stmt.body, loop, facts, held)
        elif isinstance(stmt, Cond):
            _visit_held(stmt.then, None, facts, held)
            _visit_held(stmt.orelse, None, facts, held)


def estimate_registers(model: KernelModel, arch: str = "sm_80") -> RegisterEstimate:
    """Registers per thread of `model` when built for `arch` (see the module doc)."""
    # only wgmma (sm_90/sm_90a) changes the estimate between archs: the others share one entry
    key = ("registers", "wgmma" if arch in WGMMA_ARCHES else "mma")
    cached = model.cache.get(key)
    if cached is not None:
        return cached
    threads = model.launch.thread_count if model.launch else None
    disabled = bool(model.pass_configs.get("tl.disable_wgmma"))
    base = model.cache.get("registers_base")
    if base is None:  # the same for every arch
        pruned = _prune(model.body)
        base = model.cache["registers_base"] = (pruned, held_buffers(model, pruned))
    body, held = base

    # per buffer: first/last top-level statement touching it, the thread counts and roles that touch it
    first: dict[int, int] = {}
    last: dict[int, int] = {}
    counts: dict[int, set[int]] = {}
    roles: dict[int, Role] = {}
    gemm_at: dict[tuple[int, Role], list[RegisterPart]] = {}
    for i, top in enumerate(body):
        for op, t, role in _ops_with_roles([top], threads):
            for a in op.accesses:
                owner = id(a.buffer.root)
                first.setdefault(owner, i)
                last[owner] = i
                if t:
                    counts.setdefault(owner, set()).add(t)
                roles[owner] = _common(roles[owner], role) if owner in roles else role
            if op.kind == "gemm":
                part = _gemm_operand_part(op, t, arch, disabled)
                if part is not None:
                    gemm_at.setdefault((i, role), []).append(part)

    parts: list[tuple[int, int, Role, RegisterPart]] = []
    by_buffer: dict[int, RegisterPart] = {}
    streamed: list[RegisterPart] = []
    unknown: list[str] = []
    for buf in model.buffers:
        if buf.base is not None or buf.is_param or not buf.in_kernel:
            continue
        if buf.scope not in FRAGMENT_SCOPES and buf.scope not in LOCAL_SCOPES and buf.scope != VAR:
            continue
        if id(buf) not in first:
            continue  # never used: nvcc drops it
        seen = counts.get(id(buf), set())
        part = _buffer_part(buf, max(seen) if seen else threads)
        if part is None:
            unknown.append(buf.name)
            continue
        by_buffer[id(buf)] = part
        if buf.scope in FRAGMENT_SCOPES and id(buf) not in held:
            streamed.append(part)
            continue
        parts.append((first[id(buf)], last[id(buf)], roles.get(id(buf), ()), part))
    for (i, role), gemm_parts in gemm_at.items():
        # the operand tiles are reused by the gemms of a statement: count the largest
        parts.append((i, i, role, max(gemm_parts, key=lambda p: p.registers)))

    # the peak over top-level statements; a thread holds the buffers of its own role and of the roles above it
    best_total, best_live = 0, []
    for i in range(max(len(body), 1)):
        live = [(role, p) for lo, hi, role, p in parts if lo <= i <= hi]
        for leaf in {role for role, _ in live} | {()}:
            mine = [p for role, p in live if leaf[: len(role)] == role]
            size = sum(p.registers for p in mine)
            if size > best_total or not best_live:
                best_total, best_live = size, mine
    best_live.sort(key=lambda p: (-p.registers, p.name))
    estimate = RegisterEstimate(BASELINE + best_total, threads, best_live, unknown, streamed, by_buffer)
    model.cache[key] = estimate
    return estimate


__all__ = ["BASELINE", "RegisterEstimate", "RegisterPart", "cap_for", "estimate_registers", "held_buffers"]
