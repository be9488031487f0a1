"""Thread-level lowering for CUDA: the threads of a block, work spread over them, and shared memory for
every tile buffer the register pass (passes/cuda_mma.py, which runs first) left there.

The block runs the kernel body on all of its threads. Code outside `T.Parallel` loops and tile operators
(scalar arithmetic, `T.alloc_var` cells, loop counters, `if` on block-uniform values) runs redundantly
on every thread, which gives every thread the same values. The work of a `T.Parallel` nest and of each
tile operator is spread over the threads: its iteration space is flattened, iteration `f` runs on
thread `f % threads`, consecutive threads take consecutive iterations (coalesced global accesses).

Storage: `T.alloc_shared` buffers and the fragments without a register layout become parts of one
dynamic shared-memory arena (`shared.dyn`, merged and placed by TVM's MergeSharedMemoryAllocations;
bool tiles are static `__shared__` arrays); `T.alloc_local` and `T.alloc_var` stay per-thread registers.
A fragment in shared memory is exactly as correct as the CPU reference (per-block storage, any element
reachable from any thread), at the price of shared memory and speed: that is the fallback for every
use the register layouts cannot serve (docs/compiler.md, "CUDA back end").

Synchronisation (`insert_barriers`): a `__syncthreads()` before and after every spread nest that touches
shared memory, and around every store to shared memory made by the redundant code, which only thread 0
performs (all threads computing `s[0] = s[0] + 1` would race). Code between barriers then either runs on
one thread, or touches shared memory only through reads that no other thread writes. TVM's own
ThreadSync is not used: it refuses barriers under the tail guard `if f < total` and syncs inside loops
whose iterations touch disjoint elements. Branch conditions outside spread nests must be block-uniform;
they are unless they read a `T.alloc_var` cell written inside a `T.Parallel` loop (per-thread, as in
TileLang).

Atomics: `T.atomic_add` on global or shared memory becomes CUDA `atomicAdd` on the element.
"""

from __future__ import annotations

from typing import Any

import tvm
from tvm import tirx

from .. import tile_ir
from ..errors import NotSupported
from ..ir_rewrite import BufferSubst, Rewriter, rewrite_funcs, with_body
from ..tile_ir import RegionRef
from .lower_tile_ops import (_cast, _combine, _load, _reduce_init, _store, lower_atomic_add, lower_copy, lower_cumsum,
                             lower_fill)

THREADS_KEY = "tl.threads"
SPREAD_KEY = "tl.spread"  # a loop over one thread's share of a parallel nest
ASYNC_KEY = "tl.async_copy"  # a loop that only issues a pipeline's copies, cp.async or synchronous (cuda_copies.py)
PIPELINE_KEY = "tl.cp_async_pipeline"  # the steady-state loop of a cp.async pipeline (passes/cuda_copies.py)
ROLE_KEY = "tl.role"  # a `T.ws` body: node = the role's thread index, value = "first thread,threads" (cuda_roles.py)
ARENA_SCOPE = "shared.dyn"
ARCH_ATTR = "tl.cuda_arch"  # PrimFunc attribute: the arch the kernel is lowered for (`pipeline.lower(..., arch=)`)
ALIGN_ATTR = "tl.arena_align"  # PrimFunc attribute: {shared.dyn buffer name: bytes} (cuda_copies.plan_arena_alignment)
_TO_ARENA = ("shared", "shared.dyn", "local.fragment")  # every one goes to the arena, bool ones excepted


def _const(value: int) -> Any:
    return tirx.const(value, "int32")


# ------------------------------------------------------------------ storage


def _rescoped(buf: Any, scope: str) -> Any:
    shape = list(buf.shape)
    if all(isinstance(d, tirx.IntImm) and int(d.value) == 1 for d in shape):
        # a one-element buffer is declared with two: TVM turns a one-element allocation into a scalar
        # variable, which loses its shared scope (and MergeSharedMemoryAllocations then fails on it)
        shape[-1] = 2
    return tirx.decl_buffer(shape, buf.dtype, name=buf.name, scope=scope)


class _Rescope(BufferSubst):
    """Give every shared/fragment buffer the arena scope (a new buffer object; all uses follow: the
    mapping is filled at each allocation, which comes before the buffer's uses)."""

    def visit_AllocBuffer(self, s: Any) -> Any:
        if str(s.buffer.dtype) == "bool" and s.buffer.scope() in _TO_ARENA or s.buffer.scope() == "shared.barrier":
            # a bool tile is a static `__shared__` array (as TileLang makes it): TVM's arena merging
            # leaves bool buffers out of its plan and then fails on their accesses; so are mbarriers
            new = _rescoped(s.buffer, "shared")
            self.mapping[s.buffer] = new
            return tirx.AllocBuffer(new)
        if s.buffer.scope() in _TO_ARENA and s.buffer.scope() != ARENA_SCOPE:
            new = _rescoped(s.buffer, ARENA_SCOPE)
            self.mapping[s.buffer] = new
            return tirx.AllocBuffer(new)
        return s

    def visit_DeclBuffer(self, s: Any) -> Any:
        if s.buffer.data in {b.data for b in self.mapping}:
            raise NotSupported("a buffer view (T.view / decl_buffer) of a shared or fragment buffer on CUDA")
        return s


def shared_arena(mod: tvm.IRModule) -> tvm.IRModule:
    """`shared` and `local.fragment` buffers -> `shared.dyn` (one arena per block; `place_arena` or TVM's
    MergeSharedMemoryAllocations places them)."""
    return rewrite_funcs(mod, lambda f: with_body(f, _Rescope().stmt(f.body)))


def with_arch(mod: tvm.IRModule, arch: str) -> tvm.IRModule:
    """Every function of `mod` records the arch it is lowered for (`tl.cuda_arch`)."""
    return rewrite_funcs(mod, lambda f: f.with_attr(ARCH_ATTR, arch))


def _arena_units(s: Any, out: list[Any]) -> None:
    """The statements liveness is counted in (as TVM's merging counts it): the statements under the kernel's
    outermost thread launch, looking through sequences and attributes (the inner launches)."""
    if isinstance(s, tirx.SeqStmt):
        for x in s.seq:
            _arena_units(x, out)
    elif isinstance(s, tirx.AttrStmt):
        _arena_units(s.body, out)
    elif not isinstance(s, (tirx.AllocBuffer, tirx.DeclBuffer)):
        out.append(s)


def _issues_copies(s: Any) -> bool:
    """A statement that only issues a pipeline's copies (cp.async or synchronous) or commits them."""
    if isinstance(s, tirx.For):
        return ASYNC_KEY in s.annotations or (s.kind == tirx.ForKind.UNROLLED and _issues_copies(s.body))
    if isinstance(s, tirx.IfThenElse):
        return s.else_case is None and _issues_copies(s.then_case)
    if isinstance(s, tirx.SeqStmt):
        return all(_issues_copies(x) for x in s.seq)
    if isinstance(s, tirx.Evaluate) and isinstance(s.value, tvm.ir.Call) and s.value.op.name == "tirx.call_extern":
        return str(s.value.args[0].value) == "tl_cp_async_commit"
    return False


def _elem_bytes(buf: Any) -> int:
    return max(1, tvm.runtime.DataType(str(buf.dtype)).bits // 8)


def _buffer_of(e: Any, arena: dict[Any, Any]) -> Any:
    """The arena buffer a pointer argument names (the buffer, or its `buffer_data`), else None."""
    if isinstance(e, tvm.ir.Call) and e.op.name == "tirx.buffer_data":
        e = e.args[0]
    return arena.get(e) if isinstance(e, tvm.ir.Var) else None


class _ToArena(Rewriter):
    """Accesses of arena buffers go to their views over the one arena buffer, at their offsets."""

    def __init__(self, views: dict[Any, tuple[Any, int]]) -> None:
        self.views = views  # buffer -> (view, offset in elements)

    def visit_TensorLoad(self, e: Any) -> Any:
        idx = [self.expr(i) for i in e.indices]
        if e.source not in self.views:
            return tirx.BufferLoad(e.source, idx)
        view, off = self.views[e.source]
        return tirx.BufferLoad(view, [idx[0] + off] if off else idx)

    def visit_BufferStore(self, s: Any) -> Any:
        value = self.expr(s.value)
        idx = [self.expr(i) for i in s.indices]
        if s.buffer not in self.views:
            return tirx.BufferStore(s.buffer, value, idx)
        view, off = self.views[s.buffer]
        return tirx.BufferStore(view, value, [idx[0] + off] if off else idx)

    def visit_Call(self, e: Any) -> Any:
        if e.op.name == "tirx.tvm_access_ptr":
            buf = _buffer_of(e.args[1], {b: b for b in self.views})
            if buf is not None:
                view, off = self.views[buf]
                args = [self.expr(a) for a in e.args]
                return tirx.call_intrin("handle", "tirx.tvm_access_ptr", args[0], view.data,
                                        args[2] + off if off else args[2], args[3], args[4])
        return self.default_expr(e)


def _place(func: Any) -> Any:
    from analyzer.shared_memory import DEFAULT_ALIGN, Placement, linear_scan_pack

    from ..ir import walk

    if func.attrs is None or ALIGN_ATTR not in func.attrs:
        return func
    align = {str(k): int(v) for k, v in func.attrs[ALIGN_ATTR].items()}
    env = next((n for n in walk(func.body) if isinstance(n, tirx.AttrStmt) and n.attr_key == "thread_extent"), None)
    if env is None:
        return func
    allocs = [n.buffer for n in walk(env.body) if isinstance(n, tirx.AllocBuffer) and n.buffer.scope() == ARENA_SCOPE]
    if len(allocs) < 2:
        return func
    owner = {b: b for b in allocs}  # every buffer over an arena allocation -> that allocation
    for n in walk(env.body):
        if isinstance(n, tirx.DeclBuffer):
            b = _buffer_of(n.data, {a: a for a in allocs})
            if b is not None:  # a view TVM's StorageRewrite made (two tiles sharing one allocation)
                if not (isinstance(n.buffer.elem_offset, tirx.IntImm) and int(n.buffer.elem_offset.value) == 0):
                    return func
                owner[n.buffer] = b
    units: list[Any] = []
    _arena_units(env.body, units)
    first: dict[Any, int] = {}
    last: dict[Any, int] = {}
    position = -1
    for k, unit in enumerate(units):
        if not (k and _issues_copies(unit) and _issues_copies(units[k - 1])):
            position += 1  # consecutive copy issues (a pipeline's prologue) count as one statement
        for n in walk(unit):
            b = owner.get(n) if isinstance(n, tvm.ir.Var) else None
            if b is not None:
                first.setdefault(b, position)
                last[b] = position
    items = {b: Placement(b.name, None, int(b.shape[0]) * _elem_bytes(b), 1,
                          max(DEFAULT_ALIGN, align.get(b.name, DEFAULT_ALIGN)), first[b], last[b] + 1)
             for b in allocs if b in first}
    top = linear_scan_pack(list(items.values()))
    merged = tirx.decl_buffer((_const((top + 15) // 16 * 16),), "uint8", name="buf_dyn_shmem", scope=ARENA_SCOPE)
    views = {buf: (tirx.decl_buffer(buf.shape, buf.dtype, name=buf.name, data=merged.data, scope=ARENA_SCOPE),
                   items[b].offset // _elem_bytes(buf)) for buf, b in owner.items() if b in items}

    class _Drop(_ToArena):
        """... and the arena's allocations and views are declared anew at the top."""

        def visit_SeqStmt(self, s: Any) -> Any:
            seq = [x for x in s.seq if not (isinstance(x, (tirx.AllocBuffer, tirx.DeclBuffer)) and x.buffer in owner)]
            return self.default_stmt(tirx.SeqStmt(seq) if len(seq) > 1 else seq[0]) if seq else tirx.Evaluate(0)

    body = _Drop(views).stmt(env.body)
    if any(isinstance(n, tvm.ir.Var) and n in owner for n in walk(body)):
        return func  # an arena buffer used in a way this placement does not rewrite: TVM's merging places it
    decls = [tirx.AllocBuffer(merged)] + [tirx.DeclBuffer(view, data=merged.data) for view, _ in views.values()]
    new_env = tirx.AttrStmt(env.node, env.attr_key, env.value, tirx.SeqStmt(decls + [body]))

    class _Env(Rewriter):
        def visit_AttrStmt(self, s: Any) -> Any:
            return new_env if s.same_as(env) else self.default_stmt(s)

    return with_body(func, _Env().stmt(func.body))


def place_arena(mod: tvm.IRModule) -> tvm.IRModule:
    """On archs where the arena has TileLang's alignment (`tl.arena_align`), place the `shared.dyn` buffers
    as TileLang places them instead of TVM's MergeSharedMemoryAllocations (which runs next and then finds
    one arena): TileLang's linear scan (analyzer/shared_memory.linear_scan_pack: buffers by first use,
    larger first, best fit in freed bytes), 16-byte alignment or the planned one, liveness counted in the
    statements under the kernel's thread launch as TVM counts it (a pipeline's copy issues before its loop
    as one). TVM's merging packs the buffers by size, smallest first, which leaves other gaps before aligned
    tiles than TileLang's order. Runs on the flattened module, just before TVM's merging."""
    return tvm.IRModule({gv: _place(f) if isinstance(f, tirx.PrimFunc) else f for gv, f in mod.functions.items()},
                        attrs=mod.attrs)


# ------------------------------------------------------------------ tile operators


def _parallel(var: Any, extent: int, body: Any) -> Any:
    return tirx.For(var, _const(0), _const(extent), tirx.ForKind.PARALLEL, body)


def _all_parallel(stmt: Any) -> Any:
    """Every loop of a tile operator's element nest becomes a parallel loop (spread over threads)."""

    class _P(Rewriter):
        def visit_For(self, s: Any) -> Any:
            body = self.stmt(s.body)
            return tirx.For(s.loop_var, s.min, s.extent, tirx.ForKind.PARALLEL, body)

    return _P().stmt(stmt)


def _outer_parallel(stmt: Any, depth: int) -> Any:
    """The first `depth` perfectly nested loops become parallel; what is inside stays as it is."""
    if depth == 0 or not isinstance(stmt, tirx.For):
        return stmt
    return tirx.For(stmt.loop_var, stmt.min, stmt.extent, tirx.ForKind.PARALLEL, _outer_parallel(stmt.body, depth - 1))


def cuda_gemm(a: RegionRef, b: RegionRef, c: RegionRef, trans_a: int, trans_b: int, clear: int,
              policy: int = 0) -> Any:
    """C[i, j] (+)= sum_k A[i, k] * B[k, j] in C's dtype: one output element per iteration, the k loop in a
    per-thread register."""
    ra, rb, rc = len(a.extents), len(b.extents), len(c.extents)
    m, n = c.extents[-2], c.extents[-1]
    k = a.extents[-2] if trans_a else a.extents[-1]
    acc_t = str(c.buffer.dtype)
    acc = tirx.decl_buffer((1,), acc_t, name="gemm_acc", scope="local")
    i, j, kk = tirx.Var("i", "int32"), tirx.Var("j", "int32"), tirx.Var("k", "int32")
    c_idx = {rc - 2: i, rc - 1: j}
    a_val = _load(a, {ra - 2: kk, ra - 1: i} if trans_a else {ra - 2: i, ra - 1: kk})
    b_val = _load(b, {rb - 2: j, rb - 1: kk} if trans_b else {rb - 2: kk, rb - 1: j})
    zero = _const(0)
    init = tirx.BufferStore(acc, tirx.const(0, acc_t) if clear else _load(c, c_idx), [zero])
    step = tirx.BufferStore(acc, tirx.BufferLoad(acc, [zero]) + _cast(a_val, acc_t) * _cast(b_val, acc_t), [zero])
    body = tirx.SeqStmt([init, tirx.For(kk, zero, _const(k), tirx.ForKind.SERIAL, step),
                         _store(c, c_idx, tirx.BufferLoad(acc, [zero]))])
    return tirx.SeqStmt([tirx.AllocBuffer(acc), _parallel(i, m, _parallel(j, n, body))])


def cuda_reduce(kind: str, src: RegionRef, dst: RegionRef, dim: int, clear: int) -> Any:
    """One output element per iteration; the reduced axis runs serially in a per-thread register."""
    dtype = str(dst.buffer.dtype)
    out_axes = [ax for ax in src.nonunit_axes() if ax != dim]
    d_axes = dst.nonunit_axes()
    acc = tirx.decl_buffer((1,), dtype, name="reduce_acc", scope="local")
    vs = [tirx.Var(f"i{k}", "int32") for k in range(len(out_axes))]
    r = tirx.Var("r", "int32")
    zero = _const(0)
    d_vars = dict(zip(d_axes, vs))
    s_vars = dict(zip(out_axes, vs))
    s_vars[dim] = r
    init = tirx.BufferStore(acc, _reduce_init(kind, dtype) if clear else _load(dst, d_vars), [zero])
    step = tirx.BufferStore(acc, _combine(kind, tirx.BufferLoad(acc, [zero]), _cast(_load(src, s_vars), dtype)), [zero])
    body: Any = tirx.SeqStmt([init, tirx.For(r, zero, _const(src.extents[dim]), tirx.ForKind.SERIAL, step),
                              _store(dst, d_vars, tirx.BufferLoad(acc, [zero]))])
    for v, ax in reversed(list(zip(vs, out_axes))):
        body = _parallel(v, src.extents[ax], body)
    return tirx.SeqStmt([tirx.AllocBuffer(acc), body])


def _cuda_cumsum(src: RegionRef, dst: RegionRef, dim: int, reverse: int) -> Any:
    depth = len([ax for ax in range(len(src.extents)) if ax != dim and src.extents[ax] != 1])
    return _outer_parallel(lower_cumsum(src, dst, dim, reverse), depth)


_LOWER = {
    "copy": lambda src, dst: _all_parallel(lower_copy(src, dst)),
    "fill": lambda dst, value: _all_parallel(lower_fill(dst, value)),
    "gemm": cuda_gemm,
    "reduce": cuda_reduce,
    "cumsum": _cuda_cumsum,
    "atomic_add": lambda dst, value, prev=None: _all_parallel(
        lower_atomic_add(dst, value, prev, atomic_scopes=("global", "shared", "shared.dyn"))),
}


class _LowerOps(Rewriter):
    def visit_Evaluate(self, s: Any) -> Any:
        op = tile_ir.decode(s)
        if op is None:
            return self.default_stmt(s)
        if op.name not in _LOWER:
            raise NotSupported(f"tile operator {op.name} left for the CUDA element lowering")
        return _LOWER[op.name](*op.args)


def lower_tile_ops_cuda(mod: tvm.IRModule) -> tvm.IRModule:
    """Tile operators -> element nests whose element loops are `parallel` (spread over threads later)."""
    return rewrite_funcs(mod, lambda f: with_body(f, _LowerOps().stmt(f.body)))


# ------------------------------------------------------------------ atomics


class _Atomics(Rewriter):
    def visit_Evaluate(self, s: Any) -> Any:
        a = tile_ir.decode_atomic_elem(s)
        if a is None:
            return self.default_stmt(s)
        dtype = str(a.dst.ty.dtype)
        call = tirx.call_extern(dtype, "atomicAdd", tirx.address_of(a.dst), a.value)
        if a.prev is None:
            return tirx.Evaluate(call)
        return tirx.BufferStore(a.prev.source, call, list(a.prev.indices))


def lower_cuda_atomics(mod: tvm.IRModule) -> tvm.IRModule:
    """`tl.atomic_add_elem` -> `atomicAdd(&dst, value)` (the old value kept for `return_prev`)."""
    return rewrite_funcs(mod, lambda f: with_body(f, _Atomics().stmt(f.body)))


# ------------------------------------------------------------------ threads


def perfect_parallel_nest(s: Any) -> tuple[list[Any], Any]:
    """The perfectly nested parallel loops starting at `s`, and the body inside them."""
    loops = []
    node = s
    while isinstance(node, tirx.For) and node.kind == tirx.ForKind.PARALLEL:
        loops.append(node)
        node = node.body
    return loops, node


class _Serial(Rewriter):
    """Parallel loops inside a thread's share of the work run serially on that thread."""

    def visit_For(self, s: Any) -> Any:
        body = self.stmt(s.body)
        if s.kind == tirx.ForKind.PARALLEL:
            return tirx.For(s.loop_var, s.min, s.extent, tirx.ForKind.SERIAL, body)
        return tirx.For(s.loop_var, s.min, s.extent, s.kind, body, s.thread_binding, s.annotations, s.step)


def serial_parallel_loops(stmt: Any) -> Any:
    """Every parallel loop in `stmt` as a serial one (work that already runs on one thread)."""
    return _Serial().stmt(stmt)


class _Distribute(Rewriter):
    def __init__(self, tx: Any, threads: int) -> None:
        self.tx = tx
        self.threads = threads
        self.count = 0

    def visit_For(self, s: Any) -> Any:
        if SPREAD_KEY in s.annotations:
            return s  # already one thread's share (passes/cuda_mma.py)
        if s.kind != tirx.ForKind.PARALLEL:
            return self.default_stmt(s)
        loops, inner = perfect_parallel_nest(s)
        body = serial_parallel_loops(inner)
        analyzer = tvm.sym.Analyzer()
        total: Any = _const(1)
        for loop in loops:
            total = total * loop.extent
        total = analyzer.simplify(total)
        self.count += 1
        o = tirx.Var(f"o{self.count}", "int32")
        f = tirx.Var(f"f{self.count}", "int32")
        binds = []
        stride: Any = _const(1)
        for loop in reversed(loops):  # the innermost loop varies fastest across threads
            value = analyzer.simplify(tirx.floormod(tirx.floordiv(f, stride), loop.extent) + loop.min)
            binds.append(tirx.Bind(loop.loop_var, value))
            stride = analyzer.simplify(stride * loop.extent)
        inner_body: Any = tirx.SeqStmt(list(reversed(binds)) + [body])
        exact = isinstance(total, tirx.IntImm) and int(total.value) % self.threads == 0
        if not exact:
            inner_body = tirx.IfThenElse(f < total, inner_body, None)
        rounds = analyzer.simplify(tirx.floordiv(total + (self.threads - 1), self.threads))
        step = tirx.SeqStmt([tirx.Bind(f, o * self.threads + self.tx), inner_body])
        return tirx.For(o, _const(0), rounds, tirx.ForKind.SERIAL, step, None, {SPREAD_KEY: 1})


def _threads_of(loop: Any) -> int:
    spec = loop.annotations[THREADS_KEY]
    total = 1
    for t in spec:
        total *= int(t)
    return total


class _ThreadLoop(Rewriter):
    """Inside the innermost block loop (it carries `tl.threads`): a `threadIdx.x` loop over the threads."""

    def visit_For(self, s: Any) -> Any:
        if s.kind == tirx.ForKind.THREAD_BINDING and THREADS_KEY in s.annotations:
            threads = _threads_of(s)
            tx = tirx.Var("tx", "int32")
            iv = tirx.IterVar(tvm.ir.Range(0, threads), tx, tirx.IterVar.ThreadIndex, "threadIdx.x")
            inner = tirx.For(tx, _const(0), _const(threads), tirx.ForKind.THREAD_BINDING, s.body, iv)
            ann = {k: v for k, v in s.annotations.items() if k != THREADS_KEY}
            return tirx.For(s.loop_var, s.min, s.extent, s.kind, inner, s.thread_binding, ann, s.step)
        return self.default_stmt(s)


def is_thread_loop(s: Any) -> bool:
    return isinstance(s, tirx.For) and s.kind == tirx.ForKind.THREAD_BINDING \
        and str(s.thread_binding.thread_tag) == "threadIdx.x"


def role_shape(attr: Any) -> tuple[int, int]:
    """(first thread, thread count) of a `tl.role` attribute."""
    first, threads = str(attr.value.value).split(",")
    return int(first), int(threads)


def _follow_roles(rw: Any) -> Any:
    """Inside a `T.ws` role (`tl.role`), `rw.tx` and `rw.threads` are the role's thread index and count."""
    inner = getattr(rw, "visit_AttrStmt", None)

    def visit(s: Any) -> Any:
        if s.attr_key != ROLE_KEY:
            return inner(s) if inner is not None else rw.default_stmt(s)
        saved = (rw.tx, getattr(rw, "threads", None))
        rw.tx, rw.threads = s.node, role_shape(s)[1]
        try:
            body = rw.stmt(s.body)
        finally:
            rw.tx, rw.threads = saved
        return tirx.AttrStmt(s.node, s.attr_key, s.value, body)

    rw.visit_AttrStmt = visit
    return rw


class ThreadRewriter(Rewriter):
    """A rewriter of one block's (or role's) thread loop body: `tx` and `threads`, and an analyzer that
    knows the integer let-bound values in scope (a start `base + ko * 16` with `base = bz * 64`)."""

    def __init__(self, tx: Any, threads: int) -> None:
        self.tx = tx
        self.threads = threads
        self.analyzer = tvm.sym.Analyzer()

    def visit_Bind(self, s: Any) -> Any:
        if str(s.var.ty.dtype).startswith("int"):
            self.analyzer.bind(s.var, s.value)
        return s


class InThreadLoop(Rewriter):
    """Rewrites the body of each block's `threadIdx.x` loop with `make(tx, threads)`'s rewriter (which
    keeps them as `.tx` and `.threads`; inside a `T.ws` role they are the role's)."""

    def __init__(self, make: Any) -> None:
        self.make = make

    def visit_For(self, s: Any) -> Any:
        if is_thread_loop(s):
            body = _follow_roles(self.make(s.loop_var, int(s.extent.value))).stmt(s.body)
            return tirx.For(s.loop_var, s.min, s.extent, s.kind, body, s.thread_binding, s.annotations, s.step)
        return self.default_stmt(s)


def thread_loops(mod: tvm.IRModule) -> tvm.IRModule:
    """A `threadIdx.x` loop inside each block."""
    return rewrite_funcs(mod, lambda f: with_body(f, _ThreadLoop().stmt(f.body)))


def spread_parallel(mod: tvm.IRModule) -> tvm.IRModule:
    """Each top-level parallel nest of a block becomes a strided per-thread loop over its iterations."""
    return rewrite_funcs(mod, lambda f: with_body(f, InThreadLoop(_Distribute).stmt(f.body)))


# ------------------------------------------------------------------ barriers


def _touches_shared(node: Any) -> bool:
    """Any access to shared memory: loads, stores, and pointers handed to helpers (`tvm_access_ptr`)."""
    from tvm.ir.expr import TensorLoad

    from ..ir import walk

    for n in walk(node):
        if isinstance(n, (TensorLoad, tirx.BufferStore)):
            buf = n.source if isinstance(n, TensorLoad) else n.buffer
            if buf.scope().startswith("shared"):
                return True
        elif isinstance(n, tvm.ir.Call) and n.op.name == "tirx.tvm_access_ptr":
            data = n.args[1]
            if "shared" in str(getattr(data.ty, "storage_scope", "")):
                return True
    return False


def sync_stmt() -> Any:
    """`__syncthreads()`."""
    return tirx.Evaluate(tirx.call_intrin("int32", "tirx.tvm_storage_sync", tvm.ir.StringImm("shared")))


def _is_sync(s: Any) -> bool:
    return isinstance(s, tirx.Evaluate) and isinstance(s.value, tvm.ir.Call) \
        and s.value.op.name == "tirx.tvm_storage_sync"


def _follows_sync(seq: list[Any]) -> bool:
    """The last statement with an effect on shared memory in `seq` is a barrier (allocations, bindings
    and cp.async issues into a version nobody reads now have none)."""
    for x in reversed(seq):
        if _is_wait(x):
            return False  # the data a wait completes becomes visible to the other threads at the next barrier
        if isinstance(x, (tirx.AllocBuffer, tirx.DeclBuffer, tirx.Bind)) or _async_only(x):
            continue
        return _is_sync(x)
    return False


def _is_wait(s: Any) -> bool:
    return isinstance(s, tirx.Evaluate) and isinstance(s.value, tvm.ir.Call) \
        and s.value.op.name == "tirx.call_extern" and str(s.value.args[0].value) == "tl_cp_async_wait"


def _async_only(s: Any) -> bool:
    """Issues a pipeline's copies (cp.async, or plain stores into the version nobody reads now), commits
    or waits, and touches shared memory in no other way."""
    if isinstance(s, tirx.For):
        return ASYNC_KEY in s.annotations
    if isinstance(s, tirx.IfThenElse):
        return _async_only(s.then_case) and (s.else_case is None or _async_only(s.else_case))
    if isinstance(s, tirx.SeqStmt):
        return all(_async_only(x) for x in s.seq)
    return isinstance(s, tirx.Evaluate) and not _touches_shared(s) and not _is_sync(s)


def _drop_trailing_sync(loop: Any) -> Any:
    """In a pipeline's steady loop the barrier after the work is not needed: what follows it only issues
    copies into the version nobody reads now, and the next iteration starts with wait + barrier."""
    body = loop.body
    if not isinstance(body, tirx.SeqStmt):
        return loop
    seq = list(body.seq)
    last = max((k for k, x in enumerate(seq) if _is_sync(x)), default=None)
    if last is None or last == 0 or not all(_async_only(x) for x in seq[last + 1:]):
        return loop
    if not any(_is_sync(x) for x in seq[:last]):
        return loop  # keep the iteration's only barrier
    del seq[last]
    return tirx.For(loop.loop_var, loop.min, loop.extent, loop.kind, tirx.SeqStmt(seq), loop.thread_binding,
                    loop.annotations, loop.step)


def _is_mbarrier_op(s: Any) -> bool:
    call = s.value
    return isinstance(call, tvm.ir.Call) and call.op.name == "tirx.call_extern" \
        and str(call.args[0].value) in ("tl_mbarrier_init", "tl_mbarrier_arrive", "tl_mbarrier_wait",
                                        "tl_cp_async_mbarrier_arrive")


class _Barriers(Rewriter):
    def __init__(self, tx: Any) -> None:
        self.tx = tx

    def _fenced(self, s: Any) -> Any:
        return tirx.SeqStmt([sync_stmt(), s, sync_stmt()])

    def visit_For(self, s: Any) -> Any:
        if ASYNC_KEY in s.annotations:
            return s  # a pipeline's copy issue: ordered by its own waits and barrier (passes/cuda_copies.py)
        if PIPELINE_KEY in s.annotations:
            return _drop_trailing_sync(self.default_stmt(s))
        if SPREAD_KEY in s.annotations:
            return self._fenced(s) if _touches_shared(s) else s
        return self.default_stmt(s)

    def visit_BufferStore(self, s: Any) -> Any:
        if not s.buffer.scope().startswith("shared"):
            return s
        return self._fenced(tirx.IfThenElse(tirx.EQ(self.tx, _const(0)), s, None))

    def visit_Evaluate(self, s: Any) -> Any:
        if _is_mbarrier_op(s):
            return s  # each thread's own arrival or wait; the initialisation brings its barrier (cuda_roles.py)
        return self._fenced(tirx.IfThenElse(tirx.EQ(self.tx, _const(0)), s, None)) if _touches_shared(s) else s

    def default_stmt(self, s: Any) -> Any:
        out = super().default_stmt(s)
        if isinstance(out, tirx.SeqStmt):
            seq: list[Any] = []
            for x in out.seq:
                if _is_sync(x) and _follows_sync(seq):
                    continue
                seq.append(x)
            return seq[0] if len(seq) == 1 else tirx.SeqStmt(seq)
        return out


def insert_barriers(mod: tvm.IRModule) -> tvm.IRModule:
    """`__syncthreads()` around spread nests that touch shared memory; redundant shared stores on thread 0."""
    return rewrite_funcs(mod, lambda f: with_body(f, InThreadLoop(lambda tx, _: _Barriers(tx)).stmt(f.body)))
