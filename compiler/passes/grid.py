"""Bind the grid: the `blockIdx` loops become one loop over all blocks.

The block loops of `T.Kernel` (thread_binding loops) are fused into a single
loop over every block, and each block index is bound (`Bind`) from the fused
index. The loop is `parallel` (blocks run on all cores, each with its own
shared/fragment/local storage, since allocations live inside the loop body)
unless `cpu_atomics` marked the function `tl.serial_grid` (its atomics are
plain updates because libatomic is missing).
"""

from __future__ import annotations

from typing import Any

import tvm
from tvm import tirx

from ..ir_rewrite import Rewriter, rewrite_funcs, with_body
from .cpu_atomics import SERIAL_GRID


class _Bind(Rewriter):
    def __init__(self, parallel: bool) -> None:
        self.parallel = parallel

    def visit_For(self, s: Any) -> Any:
        if s.kind != tirx.ForKind.THREAD_BINDING:
            return self.default_stmt(s)
        loops = []
        node = s
        while isinstance(node, tirx.For) and node.kind == tirx.ForKind.THREAD_BINDING:
            loops.append(node)
            node = node.body
        body = self.stmt(node)
        total: Any = 1
        for loop in loops:
            total = total * loop.extent
        fused = tirx.Var("block", "int32")
        binds = []
        stride: Any = 1
        for loop in reversed(loops):  # innermost (blockIdx.x) varies fastest
            ext = loop.extent
            unit = isinstance(ext, tirx.IntImm) and int(ext.value) == 1
            value = tirx.const(0, "int32") if unit else tirx.floormod(
                fused if isinstance(stride, int) and stride == 1 else tirx.floordiv(fused, stride), ext)
            binds.append(tirx.Bind(loop.loop_var, value))
            stride = stride * ext
        total = tvm.sym.Analyzer().simplify(total)
        single = isinstance(total, tirx.IntImm) and int(total.value) <= 1
        kind = tirx.ForKind.PARALLEL if self.parallel and not single else tirx.ForKind.SERIAL
        return tirx.For(fused, tirx.const(0, "int32"), total, kind,
                        tirx.SeqStmt(binds + [body]))


def bind_grid(mod: tvm.IRModule) -> tvm.IRModule:
    def run(func: Any) -> Any:
        parallel = not bool(func.attrs and SERIAL_GRID in func.attrs and func.attrs[SERIAL_GRID])
        return with_body(func, _Bind(parallel).stmt(func.body))

    return rewrite_funcs(mod, run)


# ------------------------------------------------------------------ CUDA: block rasterization (T.use_swizzle)


def raster_order(x: Any, y: Any, gx: Any, gy: Any, panel: int) -> tuple[Any, Any]:
    """(bx, by) of the hardware block (x, y) in a `gx` x `gy` grid walked in panels of `panel` block rows:
    consecutive blocks go down the rows of one panel, then to the next column, so the blocks running at the
    same time share their A rows (panel rows) and B columns and reuse them from L2. A bijection on the grid
    (the last panel may be shorter)."""
    linear = y * gx + x
    per_panel = panel * gx
    first = tirx.floordiv(linear, per_panel) * panel
    idx = tirx.floormod(linear, per_panel)
    rows = tirx.min(tirx.const(panel, "int32"), gy - first)
    return tirx.floordiv(idx, rows), first + tirx.floormod(idx, rows)


class _Raster(Rewriter):
    def __init__(self, order: str, panel: int) -> None:
        self.order = order
        self.panel = panel

    def visit_For(self, s: Any) -> Any:
        if s.kind != tirx.ForKind.THREAD_BINDING or not str(s.thread_binding.thread_tag).startswith("blockIdx"):
            return self.default_stmt(s)
        loops, chain = {}, []
        node = s
        while isinstance(node, tirx.For) and node.kind == tirx.ForKind.THREAD_BINDING \
                and str(node.thread_binding.thread_tag).startswith("blockIdx"):
            loops[str(node.thread_binding.thread_tag)] = node
            chain.append(node)
            node = node.body
        if "blockIdx.x" not in loops or "blockIdx.y" not in loops:
            return s  # one-dimensional grid: nothing to reorder
        fresh = {tag: tirx.Var(f"{loop.loop_var.name}_hw", "int32") for tag, loop in loops.items()
                 if tag in ("blockIdx.x", "blockIdx.y")}
        lx, ly = loops["blockIdx.x"], loops["blockIdx.y"]
        hx, hy = fresh["blockIdx.x"], fresh["blockIdx.y"]
        if self.order == "row":
            bx, by = raster_order(hx, hy, lx.extent, ly.extent, self.panel)
        else:
            by, bx = raster_order(hy, hx, ly.extent, lx.extent, self.panel)
        body: Any = tirx.SeqStmt([tirx.Bind(lx.loop_var, bx), tirx.Bind(ly.loop_var, by), node])
        # rebuild the block loops inside out, the x and y loops over the hardware indices
        for loop in reversed(chain):
            tag = str(loop.thread_binding.thread_tag)
            var = fresh.get(tag, loop.loop_var)
            iv = tirx.IterVar(tvm.ir.Range(0, loop.extent), var, tirx.IterVar.ThreadIndex, tag)
            body = tirx.For(var, loop.min, loop.extent, loop.kind, body, iv, loop.annotations, loop.step)
        return body


def rasterize_blocks(mod: tvm.IRModule) -> tvm.IRModule:
    """CUDA: `T.use_swizzle(panel, order)` (the function's `tl.rasterization`) remaps the 2-D block index so
    blocks are walked panel by panel (`raster_order`; order "col" swaps the roles of x and y). Without it,
    or on a 1-D grid, the function is unchanged. Results do not depend on it; L2 reuse does."""
    from .. import tile_ir

    def run(func: Any) -> Any:
        if func.attrs is None or tile_ir.RASTERIZATION not in func.attrs:
            return func
        order, panel = str(func.attrs[tile_ir.RASTERIZATION]).split(",")
        return with_body(func, _Raster(order, int(panel)).stmt(func.body))

    return rewrite_funcs(mod, run)
