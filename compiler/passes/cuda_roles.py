"""Warp-specialized roles (`T.ws`) and mbarriers (`T.alloc_barrier`, `T.barrier_wait`, `T.barrier_arrive`,
`T.tma_copy`) for CUDA.

Roles (`warp_roles`, right after the thread loop exists). A `with T.ws(g, ...)` body runs on the threads
of warp groups g.. (group g is threads [128 g, 128 (g + 1)) of the block, cut to the block). It becomes

    if (tx >= first && tx < last) { rtx = tx - first; <role rtx, last - first threads> body }

and inside the `tl.role` attribute every later pass that spreads work over the threads (copies, register
layouts, parallel nests, the barrier pass; they all run through `cuda_threads.InThreadLoop`) uses the role's
thread index and thread count instead of the block's: a `T.gemm` in a 128-thread role is a 4-warp gemm, a
`T.copy` is spread over the role's threads. A fragment whose every use lies in roles of one shape gets its
register layout for that role's thread count (`cuda_mma.plan_by_role`); one used by two roles, or by a role
and the rest of the block, stays in shared memory, where every thread reaches it. Groups must be
contiguous (`T.ws(0, 2)` is refused as not supported yet).

Barriers inside a role (`role_barriers`, after `insert_barriers`): a `__syncthreads()` would wait for
threads that never reach it, so each one in a role becomes the named barrier `bar.sync 1 + g, threads` of
the role's first group g (a role of the whole block keeps `__syncthreads()`). The role attributes are
dropped there.

mbarriers (`lower_mbarriers`). The `shared.barrier` buffer is a static `__shared__` array of 64-bit
mbarrier objects (`shared_arena` gives it the `shared` scope, like bool tiles):

- `tl.barrier_init(bars, counts...)`: thread 0 of the block runs `mbarrier.init` with each count, then the
  block synchronises (every thread sees initialised barriers before the first arrival or wait);
- `tl.barrier_arrive(bar, n)`: each of the n threads that run it executes `mbarrier.arrive` once (release
  semantics: its earlier writes to shared memory are visible to a thread whose wait sees the phase);
- `tl.barrier_wait(bar, parity)`: spin on `mbarrier.try_wait.parity` (`test_wait` before sm_90) until the
  phase with that parity has completed (acquire semantics);
- `tl.tma_copy(src, dst, bar, bytes)`: the threads that run it copy the tile in 16-byte `cp.async` chunks
  (zero-filled off the tensor) and each then runs `cp.async.mbarrier.arrive` on the barrier, which adds
  one pending arrival now and performs it when that thread's copies have landed: the phase cannot
  complete before the tile is in shared memory, and the arrival count the kernel waits for is unchanged,
  as with TileLang's `expect_tx` + TMA load (no real TMA descriptor is built). A tile that is not
  16-byte chunkable is copied synchronously by the same threads before their arrival, which publishes it
  the same way.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import tvm
from tvm import tirx

from .. import tile_ir
from ..errors import NotSupported
from ..ir import walk
from ..ir_rewrite import Rewriter, rewrite_funcs, with_body
from ..tile_ir import RegionRef
from .cuda_threads import ASYNC_KEY, ROLE_KEY, InThreadLoop, ThreadRewriter, is_thread_loop, role_shape, sync_stmt

PRELUDE = r"""
// tilelsp mbarrier helpers (shared-memory barrier objects, PTX mbarrier.*)
__device__ __forceinline__ unsigned tl_bar_addr(const void* p) {
  return static_cast<unsigned>(__cvta_generic_to_shared(p));
}
__device__ __forceinline__ void tl_mbarrier_init(void* bar, int count) {
  asm volatile("mbarrier.init.shared.b64 [%0], %1;\n" :: "r"(tl_bar_addr(bar)), "r"(count) : "memory");
}
__device__ __forceinline__ void tl_mbarrier_arrive(void* bar) {
  asm volatile("{\n .reg .b64 state;\n mbarrier.arrive.shared.b64 state, [%0];\n}\n"
               :: "r"(tl_bar_addr(bar)) : "memory");
}
__device__ __forceinline__ void tl_mbarrier_wait(void* bar, int parity) {
  unsigned done = 0;
  while (!done) {
#if __CUDA_ARCH__ >= 900
    asm volatile("{\n .reg .pred p;\n mbarrier.try_wait.parity.shared.b64 p, [%1], %2;\n selp.u32 %0, 1, 0, p;\n}\n"
                 : "=r"(done) : "r"(tl_bar_addr(bar)), "r"(parity) : "memory");
#else
    asm volatile("{\n .reg .pred p;\n mbarrier.test_wait.parity.shared.b64 p, [%1], %2;\n selp.u32 %0, 1, 0, p;\n}\n"
                 : "=r"(done) : "r"(tl_bar_addr(bar)), "r"(parity) : "memory");
#endif
  }
}
__device__ __forceinline__ void tl_cp_async_mbarrier_arrive(void* bar) {
  asm volatile("cp.async.mbarrier.arrive.shared.b64 [%0];\n" :: "r"(tl_bar_addr(bar)) : "memory");
}
__device__ __forceinline__ void tl_named_barrier(int id, int threads) {
  asm volatile("bar.sync %0, %1;\n" :: "r"(id), "r"(threads) : "memory");
}
"""

WARP_GROUP = 128
MBARRIER_CALLS = ("tl_mbarrier_init", "tl_mbarrier_arrive", "tl_mbarrier_wait", "tl_cp_async_mbarrier_arrive")


def _c(v: int) -> Any:
    return tirx.const(v, "int32")


def uses_prelude(source: str) -> bool:
    return "tl_mbarrier_" in source or "tl_named_barrier" in source or "tl_cp_async_mbarrier" in source


# ------------------------------------------------------------------ roles


class _Roles(Rewriter):
    def __init__(self, tx: Any, threads: int) -> None:
        self.tx = tx
        self.threads = threads

    def visit_AttrStmt(self, s: Any) -> Any:
        if s.attr_key != tile_ir.WARP_SPECIALIZE:
            return self.default_stmt(s)
        groups = [int(g) for g in str(s.value.value).split(",")]
        if groups != list(range(groups[0], groups[-1] + 1)):
            raise NotSupported(f"T.ws{tuple(groups)} on the CUDA target: the warp groups of a role must be "
                               "contiguous")
        first = groups[0] * WARP_GROUP
        last = min((groups[-1] + 1) * WARP_GROUP, self.threads)
        body = self.stmt(s.body)
        if first >= last:
            return tirx.Evaluate(_c(0))
        rtx = tirx.Var(f"rtx{groups[0]}", "int32")
        role = tirx.SeqStmt([tirx.Bind(rtx, self.tx - _c(first)),
                             tirx.AttrStmt(rtx, ROLE_KEY, tvm.ir.StringImm(f"{first},{last - first}"), body)])
        if first == 0 and last == self.threads:
            return role
        if first == 0:
            cond = tirx.LT(self.tx, _c(last))
        elif last == self.threads:
            cond = tirx.GE(self.tx, _c(first))
        else:
            cond = tirx.And(tirx.GE(self.tx, _c(first)), tirx.LT(self.tx, _c(last)))
        return tirx.IfThenElse(cond, role, None)


def warp_roles(mod: tvm.IRModule) -> tvm.IRModule:
    """`T.ws` bodies -> role contexts: a thread-range branch, the role's thread index and thread count."""
    return rewrite_funcs(mod, lambda f: with_body(f, InThreadLoop(_Roles).stmt(f.body)))


class _DropRoles(Rewriter):
    def visit_AttrStmt(self, s: Any) -> Any:
        if s.attr_key == ROLE_KEY:
            return tirx.Evaluate(_c(0))
        return self.default_stmt(s)


def _referenced(node: Any) -> set[Any]:
    from tvm.ir.expr import TensorLoad

    out = set()
    for n in walk(node):
        if isinstance(n, TensorLoad):
            out.add(n.source)
        elif isinstance(n, tirx.BufferStore):
            out.add(n.buffer)
    return out


def plan_by_role(func: Any, threads: int, plan: Any) -> dict[Any, Any]:
    """`plan(func, threads)` per thread context: the block outside its roles, and each role thread count.
    A fragment keeps the layout of the one context that uses it; one used in two contexts gets none
    (shared memory)."""
    roles = [n for n in walk(func.body) if isinstance(n, tirx.AttrStmt) and n.attr_key == ROLE_KEY]
    if not roles:
        return plan(func, threads)
    allocs = [n for n in walk(func.body) if isinstance(n, tirx.AllocBuffer)]
    contexts: dict[int, list[Any]] = {}
    for r in roles:
        contexts.setdefault(role_shape(r)[1], []).append(r.body)
    outside = _DropRoles().stmt(func.body)
    users: dict[Any, set[Any]] = {}
    for buf in _referenced(outside):
        users.setdefault(buf, set()).add(None)
    layouts: dict[Any, dict[Any, Any]] = {None: plan(SimpleNamespace(body=outside), threads)}
    for n_threads, bodies in contexts.items():
        layouts[n_threads] = plan(SimpleNamespace(body=tirx.SeqStmt(allocs + bodies)), n_threads)
        for b in bodies:
            for buf in _referenced(b):
                users.setdefault(buf, set()).add(n_threads)
    out = {}
    for key, lays in layouts.items():
        for buf, lay in lays.items():
            if users.get(buf, {key}) == {key}:
                out[buf] = lay
    return out


class _RoleSyncs(Rewriter):
    """Barriers of a role of part of the block become its named barrier; the role attributes go."""

    def __init__(self) -> None:
        self.role: tuple[int, int] | None = None  # (named barrier id, threads)
        self.block_threads = 0

    def visit_For(self, s: Any) -> Any:
        if is_thread_loop(s):
            self.block_threads = int(s.extent.value)
        return self.default_stmt(s)

    def visit_AttrStmt(self, s: Any) -> Any:
        if s.attr_key != ROLE_KEY:
            return self.default_stmt(s)
        saved = self.role
        first, n = role_shape(s)
        # barrier 0 is __syncthreads(); a role's threads always meet at 1 + its first warp group
        self.role = None if n == self.block_threads else (1 + first // WARP_GROUP, n)
        body = self.stmt(s.body)
        self.role = saved
        return body

    def visit_Evaluate(self, s: Any) -> Any:
        if self.role is not None and isinstance(s.value, tvm.ir.Call) \
                and s.value.op.name == "tirx.tvm_storage_sync":
            bid, n = self.role
            return _call("tl_named_barrier", _c(bid), _c(n))
        return s


def role_barriers(mod: tvm.IRModule) -> tvm.IRModule:
    """`__syncthreads()` inside a role of part of the block -> `bar.sync 1 + g, threads`; roles dropped."""
    return rewrite_funcs(mod, lambda f: with_body(f, _RoleSyncs().stmt(f.body)))


# ------------------------------------------------------------------ mbarriers


def _address(load: Any) -> Any:
    return tirx.address_of(load)


def _call(name: str, *args: Any) -> Any:
    return tirx.Evaluate(tirx.call_extern("int32", name, *args))


class _Mbarriers(ThreadRewriter):

    def visit_Evaluate(self, s: Any) -> Any:
        op = tile_ir.decode(s)
        if op is None or op.name not in tile_ir.BARRIER_OPS:
            return s
        if op.name == "barrier_init":
            region, counts = op.args[0], op.args[1:]
            bars = region.buffer
            inits = [_call("tl_mbarrier_init", _address(tirx.BufferLoad(bars, [_c(i)])), _c(int(c)))
                     for i, c in enumerate(counts)]
            return tirx.SeqStmt([tirx.IfThenElse(tirx.EQ(self.tx, _c(0)), tirx.SeqStmt(inits) if len(inits) > 1
                                                 else inits[0], None), sync_stmt()])
        if op.name == "barrier_arrive":
            bar, count = op.args[0], int(op.args[1])
            if count != self.threads:
                raise NotSupported(f"a barrier arrival by {count} threads in a part of the block with "
                                   f"{self.threads} threads on the CUDA target")
            return _call("tl_mbarrier_arrive", _address(bar))
        if op.name == "barrier_wait":
            return _call("tl_mbarrier_wait", _address(op.args[0]), op.args[1])
        return self._tma_copy(*op.args[:3])

    def _tma_copy(self, src: RegionRef, dst: RegionRef, bar: Any) -> Any:
        from .cuda_copies import _chunk_loop, chunked

        # a whole tile, or one slot `bufs[s, :, :]` of a ring of tiles: chunked like a whole 2-D tile,
        # the slot as the leading index
        shape = [int(d) for d in dst.buffer.shape]
        probe, stage = dst, None
        if len(shape) == 3 and int(dst.extents[0]) == 1 and list(dst.extents[1:]) == shape[1:] \
                and all(isinstance(m, tirx.IntImm) and int(m.value) == 0 for m in dst.mins[1:]):
            view = tirx.decl_buffer(shape[1:], dst.buffer.dtype, name=dst.buffer.name, scope=dst.buffer.scope())
            probe, stage = RegionRef(view, (_c(0), _c(0)), tuple(shape[1:])), dst.mins[0]
        found = chunked(tile_ir.TileOp("copy", (src, probe)), self.analyzer)
        if found is None:  # a synchronous copy by the same threads, published by their arrival after it
            return tirx.Evaluate(tirx.call_extern("handle", tile_ir.PREFIX + "copy", tile_ir.region(src),
                                                  tile_ir.region(dst)))
        loop = _chunk_loop(src, dst, found[2], self.tx, self.threads, "tl_cp_async16", stage, ASYNC_KEY)
        return tirx.SeqStmt([loop, _call("tl_cp_async_mbarrier_arrive", _address(bar))])


def lower_mbarriers(mod: tvm.IRModule) -> tvm.IRModule:
    """mbarrier operations -> PTX mbarrier helpers; `T.tma_copy` -> cp.async chunks tracked by the barrier."""
    return rewrite_funcs(mod, lambda f: with_body(f, InThreadLoop(_Mbarriers).stmt(f.body)))
