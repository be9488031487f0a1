"""A small statement/expression rewriter for `tvm.tirx` (0.27 has no Python IR mutator).

Subclass `Rewriter` and override `visit_<NodeType>` for statements or
expressions; the defaults rebuild a node only when a child changed. It covers
the node types the front end and the CPU passes produce.
"""

from __future__ import annotations

from typing import Any

import tvm
from tvm import tirx
from tvm.ir.expr import TensorLoad

_BINARY = ("Add", "Sub", "Mul", "Div", "Mod", "FloorDiv", "FloorMod", "Min", "Max",
           "EQ", "NE", "LT", "LE", "GT", "GE", "And", "Or")


class Rewriter:
    def stmt(self, s: Any) -> Any:
        method = getattr(self, "visit_" + type(s).__name__, None)
        if method is not None:
            return method(s)
        return self.default_stmt(s)

    def expr(self, e: Any) -> Any:
        method = getattr(self, "visit_" + type(e).__name__, None)
        if method is not None:
            return method(e)
        return self.default_expr(e)

    # -- statements
    def default_stmt(self, s: Any) -> Any:
        name = type(s).__name__
        if name == "SeqStmt":
            seq = [self.stmt(x) for x in s.seq]
            flat: list[Any] = []
            for x in seq:
                if isinstance(x, tirx.SeqStmt):
                    flat.extend(x.seq)
                elif x is not None:
                    flat.append(x)
            if len(flat) == 1:
                return flat[0]
            if len(flat) == len(s.seq) and all(a.same_as(b) for a, b in zip(flat, s.seq)):
                return s
            return tirx.SeqStmt(flat)
        if name == "For":
            body = self.stmt(s.body)
            lo, ext = self.expr(s.min), self.expr(s.extent)
            if body.same_as(s.body) and lo.same_as(s.min) and ext.same_as(s.extent):
                return s
            return tirx.For(s.loop_var, lo, ext, s.kind, body, s.thread_binding, s.annotations, s.step)
        if name == "IfThenElse":
            cond = self.expr(s.condition)
            then = self.stmt(s.then_case)
            other = None if s.else_case is None else self.stmt(s.else_case)
            if cond.same_as(s.condition) and then.same_as(s.then_case) and (
                    other is None and s.else_case is None or other is not None and other.same_as(s.else_case)):
                return s
            return tirx.IfThenElse(cond, then, other)
        if name == "BufferStore":
            value = self.expr(s.value)
            idx = [self.expr(i) for i in s.indices]
            if value.same_as(s.value) and all(a.same_as(b) for a, b in zip(idx, s.indices)):
                return s
            return tirx.BufferStore(s.buffer, value, idx)
        if name == "Evaluate":
            value = self.expr(s.value)
            return s if value.same_as(s.value) else tirx.Evaluate(value)
        if name == "Bind":
            value = self.expr(s.value)
            return s if value.same_as(s.value) else tirx.Bind(s.var, value)
        if name == "While":
            cond, body = self.expr(s.condition), self.stmt(s.body)
            return s if cond.same_as(s.condition) and body.same_as(s.body) else tirx.While(cond, body)
        if name == "AttrStmt":
            body = self.stmt(s.body)
            return s if body.same_as(s.body) else tirx.AttrStmt(s.node, s.attr_key, s.value, body)
        if name in ("AllocBuffer", "DeclBuffer", "Break", "Continue"):
            return s
        raise NotImplementedError(f"Rewriter: statement {name}")

    # -- expressions
    def default_expr(self, e: Any) -> Any:
        name = type(e).__name__
        if name in _BINARY:
            a, b = self.expr(e.a), self.expr(e.b)
            if a.same_as(e.a) and b.same_as(e.b):
                return e
            return getattr(tirx, name)(a, b)
        if isinstance(e, TensorLoad):
            idx = [self.expr(i) for i in e.indices]
            if all(a.same_as(b) for a, b in zip(idx, e.indices)):
                return e
            return tirx.BufferLoad(e.source, idx)
        if name == "Cast":
            v = self.expr(e.value)
            return e if v.same_as(e.value) else tirx.Cast(str(e.ty.dtype), v)
        if name == "Not":
            a = self.expr(e.a)
            return e if a.same_as(e.a) else tirx.Not(a)
        if name == "Select":
            c, t, f = self.expr(e.condition), self.expr(e.true_value), self.expr(e.false_value)
            if c.same_as(e.condition) and t.same_as(e.true_value) and f.same_as(e.false_value):
                return e
            return tirx.Select(c, t, f)
        if name == "Call":
            args = [self.expr(a) if _is_expr(a) else a for a in e.args]
            if all(a.same_as(b) for a, b in zip(args, e.args)):
                return e
            return tvm.ir.Call(e.op, args, ret_ty=e.ty)
        if name == "Let":
            v, body = self.expr(e.value), self.expr(e.body)
            if v.same_as(e.value) and body.same_as(e.body):
                return e
            return tirx.Let(e.var, v, body)
        return e  # variables, constants, strings


def _is_expr(value: Any) -> bool:
    return isinstance(value, tvm.ir.expr.Expr)


def rewrite_funcs(mod: Any, fn) -> Any:
    """Apply `fn(PrimFunc) -> PrimFunc` to every PrimFunc of an IRModule; returns a new IRModule."""
    out = {}
    for gv, func in mod.functions.items():
        out[gv.name_hint] = fn(func) if isinstance(func, tirx.PrimFunc) else func
    return tvm.IRModule(out)


def with_body(func: Any, body: Any) -> Any:
    return tirx.PrimFunc(func.params, body, func.ret_type, attrs=func.attrs) if not body.same_as(func.body) else func


class BufferSubst(Rewriter):
    """Loads and stores of the buffers in `mapping` go to their new buffers, with the indices in `prefix`
    put in front of each access's own (a pipeline stage); other accesses are rebuilt unchanged."""

    def __init__(self, mapping: dict[Any, Any] | None = None, prefix: tuple[Any, ...] = ()) -> None:
        self.mapping: dict[Any, Any] = {} if mapping is None else mapping
        self.prefix = list(prefix)

    def visit_TensorLoad(self, e: Any) -> Any:
        idx = [self.expr(i) for i in e.indices]
        new = self.mapping.get(e.source)
        return tirx.BufferLoad(e.source, idx) if new is None else tirx.BufferLoad(new, self.prefix + idx)

    def visit_BufferStore(self, s: Any) -> Any:
        value = self.expr(s.value)
        idx = [self.expr(i) for i in s.indices]
        new = self.mapping.get(s.buffer)
        return tirx.BufferStore(s.buffer, value, idx) if new is None else tirx.BufferStore(new, value, self.prefix + idx)
