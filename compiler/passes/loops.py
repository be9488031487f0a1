"""Loop kinds for the CPU.

Inside a block, `T.Parallel` loops run on one core: they become serial
loops, and `T.Pipelined` becomes a plain serial loop (its stages execute in
order; software pipelining has no meaning on a CPU). Then the innermost loop
of a nest whose body is a single store of a constant extent is vectorized,
which is where LLVM gets its SIMD.
"""

from __future__ import annotations

from typing import Any

import tvm
import tvm_ffi
from tvm import tirx

from ..ir_rewrite import Rewriter, rewrite_funcs, with_body

MAX_VECTOR_EXTENT = 256
_DROP = ("tl.loop", "num_stages", "tl_pipeline_order", "tl_pipeline_stage")


def _annotations(s: Any) -> dict[str, Any]:
    return {k: v for k, v in s.annotations.items() if k not in _DROP}


class _Serialize(Rewriter):
    def visit_For(self, s: Any) -> Any:
        body = self.stmt(s.body)
        if s.kind in (tirx.ForKind.PARALLEL, tirx.ForKind.SERIAL) and ("tl.loop" in s.annotations
                                                                       or s.kind == tirx.ForKind.PARALLEL):
            return tirx.For(s.loop_var, s.min, s.extent, tirx.ForKind.SERIAL, body, None, _annotations(s), s.step)
        if body.same_as(s.body):
            return s
        return tirx.For(s.loop_var, s.min, s.extent, s.kind, body, s.thread_binding, s.annotations, s.step)


def _vectorizable(s: Any) -> bool:
    if s.kind != tirx.ForKind.SERIAL or not isinstance(s.extent, tirx.IntImm):
        return False
    if not 2 <= int(s.extent.value) <= MAX_VECTOR_EXTENT:
        return False
    body = s.body
    if not isinstance(body, tirx.BufferStore):
        return False
    if not any(_uses(i, s.loop_var) for i in body.indices):
        return False  # a reduction into one element: loop-carried
    ok = [True]

    class _Check(Rewriter):
        def visit_Call(self, e: Any) -> Any:
            ok[0] = False
            return e

        def visit_TensorLoad(self, e: Any) -> Any:
            if e.source.same_as(body.buffer) and not tvm_ffi.structural_equal(list(e.indices), list(body.indices)):
                ok[0] = False  # reads another element of the buffer it writes
            return self.default_expr(e)

    _Check().expr(body.value)
    return ok[0]


def _uses(expr: Any, var: Any) -> bool:
    found = [False]

    class _Find(Rewriter):
        def visit_Var(self, e: Any) -> Any:
            if e.same_as(var):
                found[0] = True
            return e

    _Find().expr(expr)
    return found[0]


class _Vectorize(Rewriter):
    def visit_For(self, s: Any) -> Any:
        if _vectorizable(s):
            return tirx.For(s.loop_var, s.min, s.extent, tirx.ForKind.VECTORIZED, s.body, None, s.annotations, s.step)
        return self.default_stmt(s)


def serialize_block_loops(mod: tvm.IRModule) -> tvm.IRModule:
    """T.Parallel -> serial, T.Pipelined -> serial (annotations dropped)."""
    return rewrite_funcs(mod, lambda f: with_body(f, _Serialize().stmt(f.body)))


def vectorize_inner_loops(mod: tvm.IRModule) -> tvm.IRModule:
    """Innermost constant-extent loops whose body is one call-free store become vectorized."""
    return rewrite_funcs(mod, lambda f: with_body(f, _Vectorize().stmt(f.body)))
