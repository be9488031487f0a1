"""Guard global-memory accesses that may fall outside the tensor (tails).

TileLang legalizes every global access of a kernel: a load that may be out
of bounds reads 0, a store that may be out of bounds is skipped. This pass
does the same, proving bounds with TVM's arithmetic analyzer over the loop
and block ranges so that accesses known to be in bounds stay unguarded
(e.g. every access when the sizes divide by the tiles).
"""

from __future__ import annotations

from typing import Any

import tvm
from tvm import tirx
from tvm.ir.expr import TensorLoad

from .. import tile_ir
from ..ir_rewrite import Rewriter, rewrite_funcs, with_body


class _Guard(Rewriter):
    def __init__(self) -> None:
        self.analyzer = tvm.sym.Analyzer()

    def condition(self, buffer: Any, indices: list[Any]) -> Any:
        conds = []
        for idx, dim in zip(indices, buffer.shape):
            for c in (tirx.LT(idx, dim), tirx.GE(idx, tirx.const(0, str(idx.ty.dtype)))):
                if not self.analyzer.can_prove(c):
                    conds.append(c)
        if not conds:
            return None
        out = conds[0]
        for c in conds[1:]:
            out = tirx.And(out, c)
        return out

    def visit_For(self, s: Any) -> Any:
        self.analyzer.bind(s.loop_var, tvm.ir.Range.from_min_extent(s.min, s.extent))
        return self.default_stmt(s)

    def visit_Bind(self, s: Any) -> Any:
        out = self.default_stmt(s)
        if str(s.var.ty.dtype).startswith("int"):
            self.analyzer.bind(s.var, s.value)
        return out

    def visit_BufferStore(self, s: Any) -> Any:
        out = self.default_stmt(s)
        if s.buffer.scope() != "global":
            return out
        cond = self.condition(s.buffer, list(out.indices))
        return out if cond is None else tirx.IfThenElse(cond, out, None)

    def visit_Evaluate(self, s: Any) -> Any:
        atomic = tile_ir.decode_atomic_elem(s)
        if atomic is None:
            return self.default_stmt(s)
        dst = atomic.dst
        dst = tirx.BufferLoad(dst.source, [self.expr(i) for i in dst.indices])
        out = tile_ir.atomic_elem(dst, self.expr(atomic.value), atomic.prev)
        cond = self.condition(dst.source, list(dst.indices))  # an atomic store, skipped when out of bounds
        return out if cond is None else tirx.IfThenElse(cond, out, None)

    def visit_Call(self, e: Any) -> Any:
        if e.op.name == "tirx.address_of":
            return e  # an address for a predicated copy (passes/cuda_copies.py): never dereferenced out of bounds
        return self.default_expr(e)

    def visit_TensorLoad(self, e: TensorLoad) -> Any:
        out = self.default_expr(e)
        if e.source.scope() != "global":
            return out
        cond = self.condition(e.source, list(out.indices))
        if cond is None:
            return out
        return tirx.if_then_else(cond, out, tirx.const(0, str(e.ty.dtype)))


def guard_global_access(mod: tvm.IRModule) -> tvm.IRModule:
    return rewrite_funcs(mod, lambda f: with_body(f, _Guard().stmt(f.body)))
