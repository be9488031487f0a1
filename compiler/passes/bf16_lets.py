"""Let-bound bfloat16 values become one-element local cells before TVM's LLVM build.

TVM 0.27's `BF16ComputeLegalize` (run inside `tvm.compile` for the CPU) stores every non-parameter
bfloat16 buffer as float32 and computes bfloat16 arithmetic in float32, but it does not rewrite `Bind`
statements (the flat let the tracer emits for `xv = ...`): a load of a legalized buffer in a `Bind` value
keeps the old bfloat16 buffer, so StorageRewrite fails with "Load/Store of buffer X_smem occurred before
its declaration", and a `Bind` whose variable is bfloat16 gets a float32 value ("StructuralEqual(value->ty,
var->ty) is false"). Stores and loads are legalized correctly, so each such `Bind(v, value)` becomes

    v_cell = alloc local (1,) of v's dtype;  v_cell[0] = value

and every later use of `v` reads `v_cell[0]`. The value is computed at the same point and read unchanged
afterwards, as with the let (the cell is written once per execution of the statement), so the meaning is
the same; LLVM keeps the cell in a register.

Which `Bind`s: those whose variable is bfloat16 or whose value contains a bfloat16 sub-expression.
"""

from __future__ import annotations

from typing import Any

import tvm
from tvm import tirx

from ..ir import walk
from ..ir_rewrite import Rewriter, rewrite_funcs, with_body

_BF16 = "bfloat16"


def _has_bf16(expr: Any) -> bool:
    for node in walk(expr):
        ty = getattr(node, "ty", None)
        if ty is not None and str(getattr(ty, "dtype", "")) == _BF16:
            return True
        if type(node).__name__ == "TensorLoad" and str(node.source.dtype) == _BF16:
            return True
    return False


class _Spill(Rewriter):
    def __init__(self) -> None:
        self.cells: dict[Any, Any] = {}  # Bind variable -> its cell

    def visit_Bind(self, s: Any) -> Any:
        value = self.expr(s.value)
        dt = str(s.var.ty.dtype)
        if dt != _BF16 and not _has_bf16(value):
            return s if value.same_as(s.value) else tirx.Bind(s.var, value)
        cell = tirx.decl_buffer((1,), dt, name=f"{s.var.name}_cell", scope="local")
        self.cells[s.var] = cell
        return tirx.SeqStmt([tirx.AllocBuffer(cell), tirx.BufferStore(cell, value, [tirx.const(0, "int32")])])

    def visit_Var(self, e: Any) -> Any:
        cell = self.cells.get(e)
        return e if cell is None else tirx.BufferLoad(cell, [tirx.const(0, "int32")])


def spill_bf16_lets(mod: tvm.IRModule) -> tvm.IRModule:
    return rewrite_funcs(mod, lambda func: with_body(func, _Spill().stmt(func.body)))
