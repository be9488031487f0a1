"""Warp-specialized roles and mbarriers on the CPU: real per-block barrier state, checked at run time.

On the CPU one thread runs a block's statements in program order, so the
`T.ws(g)` roles (`tl.warp_specialize` attributes) run one after another as
written and the attribute is dropped. The barriers are not dropped: every
`T.alloc_barrier` buffer becomes a block-local `int32` state array, one row
per barrier, with PTX's mbarrier fields::

    [arrive count E, pending arrivals, pending transaction bytes, completed phases]

- `tl.barrier_init`: each row is `[E, E, 0, 0]` (phase 0, nothing arrived).
- `tl.barrier_arrive(bar, n)`: `n` threads arrive (the warp group's 128 inside
  `T.ws`, else the block's threads). A phase completes when its pending
  arrivals and its pending bytes are both 0; then the pending count is reset to
  E and the completed-phase counter goes up. Arrivals beyond the pending count
  go on into the next phase (as the hardware counts them) when no bytes are
  pending; with bytes still pending they have no defined meaning: an error.
- `tl.tma_copy(src, dst, bar, bytes)`: `expect_tx(bytes)` (no arrival, as
  TileLang's leader thread issues it), the copy (a `tl.copy`), then the TMA
  unit's `complete_tx(bytes)`, which may complete the phase.
- `tl.barrier_wait(bar, parity)`: PTX `mbarrier.try_wait.parity` returns once
  the phase with that parity has completed, i.e. when the current phase's
  parity (completed phases mod 2) differs from `parity`. When it has not, the
  waiting threads would wait for an arrival that, in program order, has not
  happened: on the GPU the kernel deadlocks or (if another role arrives later)
  the CPU order cannot reproduce it. Either way the block records an error.
  A parity other than 0 or 1 is an error too, and so is a barrier index out of
  range (`bars[i]` with `i >= len(bars)`).

Errors go to a hidden last kernel parameter `tl_barrier_errors`
(`(blocks, 11) int32`, zeros), one row per block, the first error of the block:
`[code, site, barrier index, parity, completed phases, pending arrivals,
pending bytes, arrive count, bx, by, bz]`. `runtime.Runner` allocates it and, after the
call, raises `BarrierError` naming the operation's file, line and barrier.
"""

from __future__ import annotations

from typing import Any

import tvm
from tvm import tirx

from .. import tile_ir
from ..ir_rewrite import Rewriter, rewrite_funcs

ERRORS_PARAM = "tl_barrier_errors"
RECORD = 11
WAIT_INCOMPLETE, BAD_PARITY, BAD_INDEX, OVER_ARRIVAL = 1, 2, 3, 4
EXPECTED, PENDING, TX, PHASES = 0, 1, 2, 3


def _i32(v: int) -> Any:
    return tirx.const(v, "int32")


def _seq(stmts: list[Any]) -> Any:
    return stmts[0] if len(stmts) == 1 else tirx.SeqStmt(stmts)


class _Barriers(Rewriter):
    def __init__(self, errors: Any) -> None:
        self.errors = errors
        self.states: list[tuple[Any, Any]] = []  # (shared.barrier buffer, its int32 state buffer)
        self.block: Any = None  # linear block index
        self.coords: list[Any] = []  # bx, by, bz
        self.analyzer = tvm.sym.Analyzer()

    # -- structure
    def visit_AttrStmt(self, s: Any) -> Any:
        if s.attr_key == tile_ir.WARP_SPECIALIZE:
            return self.stmt(s.body)  # the roles run in program order on the CPU
        return self.default_stmt(s)

    def visit_For(self, s: Any) -> Any:
        if s.kind != tirx.ForKind.THREAD_BINDING or self.block is not None:
            return self.default_stmt(s)
        loops, node = [], s
        while isinstance(node, tirx.For) and node.kind == tirx.ForKind.THREAD_BINDING:
            loops.append(node)
            node = node.body
        by_tag = {str(loop.thread_binding.thread_tag): loop for loop in loops}
        linear: Any = _i32(0)
        coords = []
        for tag in ("blockIdx.z", "blockIdx.y", "blockIdx.x"):
            loop = by_tag.get(tag)
            if loop is not None:
                linear = linear * loop.extent + loop.loop_var
        for tag in ("blockIdx.x", "blockIdx.y", "blockIdx.z"):
            loop = by_tag.get(tag)
            coords.append(loop.loop_var if loop is not None else _i32(0))
        self.block, self.coords = linear, coords
        return self.default_stmt(s)

    def visit_AllocBuffer(self, s: Any) -> Any:
        buf = s.buffer
        if buf.scope() != "shared.barrier":
            return s
        state = tirx.decl_buffer((int(buf.shape[0]), 4), "int32", name=f"{buf.name}_state", scope="local")
        self.states.append((buf, state))
        return tirx.AllocBuffer(state)

    # -- barrier state
    def state(self, buf: Any) -> Any:
        for b, st in self.states:
            if b.same_as(buf):
                return st
        raise ValueError(f"barrier {buf.name} used before its T.alloc_barrier")

    def error(self, code: int, site: int, index: Any, parity: Any, st: Any | None, i: Any) -> Any:
        row = self.block
        if st is not None:
            phases, pending, tx, e = (tirx.BufferLoad(st, [i, _i32(f)]) for f in (PHASES, PENDING, TX, EXPECTED))
        else:
            phases = pending = tx = e = _i32(0)
        values = [_i32(code), _i32(site), index, parity, phases, pending, tx, e, *self.coords]
        stores = [tirx.BufferStore(self.errors, v if str(v.ty.dtype) == "int32" else tirx.Cast("int32", v),
                                   [row, _i32(k)]) for k, v in enumerate(values)]
        return tirx.IfThenElse(tirx.EQ(tirx.BufferLoad(self.errors, [row, _i32(0)]), _i32(0)), _seq(stores), None)

    def checked(self, bar: Any, site: int, make: Any) -> Any:
        """`make(state, index)` where the barrier index is in range; an index error otherwise."""
        st = self.state(bar.source)
        i = bar.indices[0]
        n = int(bar.source.shape[0])
        ok = tirx.And(tirx.GE(i, _i32(0)), tirx.LT(i, _i32(n)))
        if self.analyzer.can_prove(ok):
            return make(st, i)
        # No `if` on the index around the operation: TVM's CompactBufferAllocation would narrow the
        # buffers accessed inside by the condition on a run-time value and fail. A bad index records the
        # error and the operation goes on at barrier 0 (the run is reported as failed anyway).
        check = tirx.IfThenElse(tirx.Not(ok), self.error(BAD_INDEX, site, i, _i32(n), None, i), None)
        return _seq([check, make(st, tirx.Select(ok, i, _i32(0)))])

    @staticmethod
    def field(st: Any, i: Any, f: int) -> Any:
        return tirx.BufferLoad(st, [i, _i32(f)])

    @staticmethod
    def set(st: Any, i: Any, f: int, value: Any) -> Any:
        return tirx.BufferStore(st, value, [i, _i32(f)])

    def complete_if_done(self, st: Any, i: Any) -> Any:
        f, set_ = self.field, self.set
        done = tirx.And(tirx.EQ(f(st, i, PENDING), _i32(0)), tirx.EQ(f(st, i, TX), _i32(0)))
        return tirx.IfThenElse(done, _seq([set_(st, i, PHASES, f(st, i, PHASES) + _i32(1)),
                                           set_(st, i, PENDING, f(st, i, EXPECTED))]), None)

    def init(self, region: Any, counts: list[int]) -> Any:
        st = self.state(region.buffer)
        stores = []
        for k, c in enumerate(counts):
            for field, value in ((EXPECTED, c), (PENDING, c), (TX, 0), (PHASES, 0)):
                stores.append(self.set(st, _i32(k), field, _i32(value)))
        return _seq(stores)

    def arrive(self, bar: Any, count: int, site: int) -> Any:
        f, set_ = self.field, self.set

        def make(st: Any, i: Any) -> Any:
            c = _i32(count)
            pending, tx, e = f(st, i, PENDING), f(st, i, TX), f(st, i, EXPECTED)
            rem = c - pending
            roll = _seq([set_(st, i, PHASES, f(st, i, PHASES) + _i32(1) + tirx.floordiv(rem, e)),
                         set_(st, i, PENDING, e - tirx.floormod(rem, e))])
            return tirx.IfThenElse(
                tirx.LT(c, pending), set_(st, i, PENDING, pending - c),
                tirx.IfThenElse(
                    tirx.EQ(tx, _i32(0)), roll,
                    tirx.IfThenElse(tirx.EQ(c, pending), set_(st, i, PENDING, _i32(0)),
                                    self.error(OVER_ARRIVAL, site, i, c, st, i))))

        return self.checked(bar, site, make)

    def wait(self, bar: Any, parity: Any, site: int) -> Any:
        f = self.field
        parity = _i32(parity) if isinstance(parity, int) else parity

        def make(st: Any, i: Any) -> Any:
            incomplete = tirx.EQ(tirx.floormod(f(st, i, PHASES), _i32(2)), parity)
            check = tirx.IfThenElse(incomplete, self.error(WAIT_INCOMPLETE, site, i, parity, st, i), None)
            valid = tirx.Or(tirx.EQ(parity, _i32(0)), tirx.EQ(parity, _i32(1)))
            if self.analyzer.can_prove(valid):
                return check
            return tirx.IfThenElse(valid, check, self.error(BAD_PARITY, site, i, parity, st, i))

        return self.checked(bar, site, make)

    def tma_copy(self, src: Any, dst: Any, bar: Any, nbytes: int, site: int) -> Any:
        f, set_ = self.field, self.set
        copy = tirx.Evaluate(tirx.call_extern("handle", tile_ir.PREFIX + "copy", tile_ir.region(src),
                                              tile_ir.region(dst)))

        def make(st: Any, i: Any) -> Any:
            expect = set_(st, i, TX, f(st, i, TX) + _i32(nbytes))
            complete = set_(st, i, TX, f(st, i, TX) - _i32(nbytes))
            return _seq([expect, copy, complete, self.complete_if_done(st, i)])

        return self.checked(bar, site, make)

    def visit_Evaluate(self, s: Any) -> Any:
        op = tile_ir.decode(s)
        if op is None or op.name not in tile_ir.BARRIER_OPS:
            return self.default_stmt(s)
        if op.name == "barrier_init":
            return self.init(op.args[0], [int(c) for c in op.args[1:]])
        if op.name == "barrier_arrive":
            return self.arrive(op.args[0], int(op.args[1]), int(op.args[2]))
        if op.name == "barrier_wait":
            return self.wait(op.args[0], op.args[1], int(op.args[2]))
        return self.tma_copy(*op.args[:3], int(op.args[3]), int(op.args[4]))


class _Scan(Rewriter):
    """Finds barrier operations and the grid's block count (rebuilds nothing)."""

    def __init__(self) -> None:
        self.barrier_ops = 0
        self.blocks: Any = _i32(1)

    def visit_Evaluate(self, s: Any) -> Any:
        op = tile_ir.decode(s)
        if op is not None and op.name in tile_ir.BARRIER_OPS:
            self.barrier_ops += 1
        return s

    def visit_For(self, s: Any) -> Any:
        if s.kind == tirx.ForKind.THREAD_BINDING:
            self.blocks = self.blocks * s.extent
        return self.default_stmt(s)


def lower_barriers(mod: tvm.IRModule) -> tvm.IRModule:
    def run(func: Any) -> Any:
        scan = _Scan()
        scan.stmt(func.body)
        if not scan.barrier_ops:
            body = _Barriers(None).stmt(func.body)  # only T.ws attributes to drop
            return func if body.same_as(func.body) else tirx.PrimFunc(func.params, body, func.ret_type,
                                                                      attrs=func.attrs)
        errors = tirx.decl_buffer((tvm.sym.Analyzer().simplify(scan.blocks), RECORD), "int32", name=ERRORS_PARAM)
        body = _Barriers(errors).stmt(func.body)
        return tirx.PrimFunc(list(func.params) + [errors], body, func.ret_type, attrs=func.attrs)

    return rewrite_funcs(mod, run)
