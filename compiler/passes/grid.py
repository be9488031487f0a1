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
