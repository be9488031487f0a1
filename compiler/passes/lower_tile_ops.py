"""Expand tile operators (`tl.copy`, `tl.fill`, `tl.gemm`, `tl.reduce`, `tl.cumsum`, `tl.atomic_add`) to loop nests.

The loops are serial; a later pass picks which to vectorize. Element types
follow TileLang: a copy casts to the destination dtype, a gemm multiplies in
the accumulator's dtype (C's), a reduction accumulates in the output's dtype.
An atomic add into a global tensor becomes one `tl.atomic_add_elem`
statement per element, which `cpu_atomics.lower_cpu_atomics` lowers later.
"""

from __future__ import annotations

from typing import Any, Callable

import tvm
from tvm import tirx

from .. import tile_ir
from ..ir_rewrite import Rewriter, rewrite_funcs, with_body
from ..tile_ir import RegionRef


def _var(name: str) -> Any:
    return tirx.Var(name, "int32")


def _serial(var: Any, extent: int, body: Any) -> Any:
    return tirx.For(var, tirx.const(0, "int32"), tirx.const(extent, "int32"), tirx.ForKind.SERIAL, body)


def _nest(extents: list[int], prefix: str, make_body: Callable[[list[Any]], Any]) -> Any:
    vars_ = [_var(f"{prefix}{k}") for k in range(len(extents))]
    body = make_body(vars_)
    for v, e in reversed(list(zip(vars_, extents))):
        body = _serial(v, e, body)
    return body


def _index(r: RegionRef, axis_vars: dict[int, Any]) -> list[Any]:
    return [r.mins[d] + axis_vars[d] if d in axis_vars else r.mins[d] for d in range(len(r.extents))]


def _cast(value: Any, dtype: Any) -> Any:
    dtype = str(dtype)
    if isinstance(value, (int, float)):
        return tirx.const(value, dtype)
    return value if str(value.ty.dtype) == dtype else tirx.Cast(dtype, value)


def _load(r: RegionRef, axis_vars: dict[int, Any]) -> Any:
    return tirx.BufferLoad(r.buffer, _index(r, axis_vars))


def _store(r: RegionRef, axis_vars: dict[int, Any], value: Any) -> Any:
    return tirx.BufferStore(r.buffer, _cast(value, r.buffer.dtype), _index(r, axis_vars))


def lower_copy(src: RegionRef, dst: RegionRef) -> Any:
    s_axes, d_axes = src.nonunit_axes(), dst.nonunit_axes()
    extents = [src.extents[a] for a in s_axes]

    def body(vs: list[Any]) -> Any:
        return _store(dst, dict(zip(d_axes, vs)), _load(src, dict(zip(s_axes, vs))))

    return _nest(extents, "i", body)


def lower_fill(dst: RegionRef, value: Any) -> Any:
    axes = dst.nonunit_axes()
    return _nest([dst.extents[a] for a in axes], "i", lambda vs: _store(dst, dict(zip(axes, vs)), value))


ROW_BLOCK = 4  # rows of C updated per k step: each row of B is loaded once for ROW_BLOCK rows
STAGE_LIMIT = 64 * 1024  # elements of B staged in a local tile (256 KiB in float32)


def lower_gemm(a: RegionRef, b: RegionRef, c: RegionRef, trans_a: int, trans_b: int, clear: int,
               policy: int = 0) -> Any:
    """C += A @ B in C's dtype, loop order i-k-j so the innermost loop runs along contiguous rows of B and C
    and vectorizes (its C row stays in registers across k). A transposed B, or a B of another dtype than
    C, is first staged into a local K x N tile in C's dtype: one transpose/convert per gemm instead of a
    serial k-innermost reduction or a conversion per multiply."""
    ra, rb, rc = len(a.extents), len(b.extents), len(c.extents)
    m, n = c.extents[-2], c.extents[-1]
    k = a.extents[-2] if trans_a else a.extents[-1]
    acc = str(c.buffer.dtype)
    rows = next(r for r in (ROW_BLOCK, 2, 1) if m % r == 0)
    io, ii, j, kk = _var("i"), _var("ii"), _var("j"), _var("k")
    i = io * rows + ii if rows > 1 else io
    a_idx = {ra - 2: kk, ra - 1: i} if trans_a else {ra - 2: i, ra - 1: kk}
    c_idx = {rc - 2: i, rc - 1: j}
    stmts = []
    if clear:
        stmts.append(lower_fill(c, tirx.const(0, acc)))
    if (trans_b or str(b.buffer.dtype) != acc) and k * n <= STAGE_LIMIT:
        staged = tirx.decl_buffer((k, n), acc, name="B_staged", scope="local")
        sk, sj = _var("k"), _var("j")
        src = _load(b, {rb - 2: sj, rb - 1: sk} if trans_b else {rb - 2: sk, rb - 1: sj})
        stmts.append(tirx.AllocBuffer(staged))
        stmts.append(_serial(sk, k, _serial(sj, n, tirx.BufferStore(staged, _cast(src, acc), [sk, sj]))))
        b_val = tirx.BufferLoad(staged, [kk, j])
    else:
        b_val = _cast(_load(b, {rb - 2: j, rb - 1: kk} if trans_b else {rb - 2: kk, rb - 1: j}), acc)
    update = _store(c, c_idx, _load(c, c_idx) + _cast(_load(a, a_idx), acc) * b_val)
    row_loop = _serial(j, n, update)
    if rows > 1:
        row_loop = tirx.For(ii, tirx.const(0, "int32"), tirx.const(rows, "int32"), tirx.ForKind.UNROLLED, row_loop)
    stmts.append(_serial(io, m // rows, _serial(kk, k, row_loop)))
    return stmts[0] if len(stmts) == 1 else tirx.SeqStmt(stmts)


def _reduce_init(kind: str, dtype: str) -> Any:
    if kind in ("sum", "abssum", "absmax"):
        return tirx.const(0, dtype)
    if kind == "max":
        return tirx.min_value(dtype) if not dtype.startswith(("float", "bfloat")) else -tirx.infinity(dtype)
    return tirx.max_value(dtype) if not dtype.startswith(("float", "bfloat")) else tirx.infinity(dtype)


def _combine(kind: str, acc: Any, x: Any) -> Any:
    if kind == "sum":
        return acc + x
    if kind == "abssum":
        return acc + tirx.abs(x)
    if kind == "max":
        return tirx.max(acc, x)
    if kind == "min":
        return tirx.min(acc, x)
    return tirx.max(acc, tirx.abs(x))  # absmax


def lower_reduce(kind: str, src: RegionRef, dst: RegionRef, dim: int, clear: int) -> Any:
    dtype = str(dst.buffer.dtype)
    out_axes = [a for a in src.nonunit_axes() if a != dim]
    d_axes = dst.nonunit_axes()
    out_ext = [src.extents[a] for a in out_axes]

    def body(vs: list[Any]) -> Any:
        d_vars = dict(zip(d_axes, vs))
        r = _var("r")
        s_vars = dict(zip(out_axes, vs))
        s_vars[dim] = r
        step = _store(dst, d_vars, _combine(kind, _load(dst, d_vars), _cast(_load(src, s_vars), dtype)))
        loop = _serial(r, src.extents[dim], step)
        if clear:
            return tirx.SeqStmt([_store(dst, d_vars, _reduce_init(kind, dtype)), loop])
        return loop

    return _nest(out_ext, "i", body)


def lower_cumsum(src: RegionRef, dst: RegionRef, dim: int, reverse: int) -> Any:
    axes = [a for a in range(len(src.extents)) if a != dim and src.extents[a] != 1]
    n = src.extents[dim]
    d_axes = [a for a in range(len(dst.extents)) if a != dim and dst.extents[a] != 1]

    def body(vs: list[Any]) -> Any:
        k = _var("k")
        pos = (n - 1 - k) if reverse else k
    
        prev = (pos + 1) if reverse else (pos - 1)
        s_vars = dict(zip(axes, vs)); s_vars[dim] = pos
        d_vars = dict(zip(d_axes, vs)); d_vars[dim] = pos
        p_vars = dict(zip(d_axes, vs)); p_vars[dim] = prev
        x = _cast(_load(src, s_vars), dst.buffer.dtype)
        first = _store(dst, d_vars, x)
        rest = _store(dst, d_vars, _load(dst, p_vars) + x)
        return _serial(k, n, tirx.IfThenElse(tirx.EQ(k, tirx.const(0, "int32")), first, rest))

    return _nest([src.extents[a] for a in axes], "i", body)


def lower_atomic_add(dst: RegionRef, value: Any, prev: RegionRef | None = None,
                     atomic_scopes: tuple[str, ...] = ("global",)) -> Any:
    """Per element: a destination in `atomic_scopes` becomes `tl.atomic_add_elem`; another is a plain
    read-modify-write. On the CPU only global memory is shared between cores (one block runs on one
    core); the CUDA lowering adds shared memory (the block's threads run at once)."""
    axes = dst.nonunit_axes()
    dtype = str(dst.buffer.dtype)

    def element(vs: list[Any]) -> Any:
        d_vars = dict(zip(axes, vs))
        if isinstance(value, RegionRef):
            v = _cast(_load(value, dict(zip(value.nonunit_axes(), vs))), dtype)
        else:
            v = _cast(value, dtype)
        old = _load(dst, d_vars)
        if dst.buffer.scope() in atomic_scopes:
            return tile_ir.atomic_elem(old, v, None if prev is None else _load(prev, {}))
        update = _store(dst, d_vars, old + v)
        if prev is None:
            return update
        return tirx.SeqStmt([_store(prev, {}, old), update])

    return _nest([dst.extents[a] for a in axes], "i", element)


_LOWER = {
    "copy": lower_copy, "fill": lower_fill, "gemm": lower_gemm, "reduce": lower_reduce,
    "cumsum": lower_cumsum, "atomic_add": lower_atomic_add,
}


class _Lower(Rewriter):
    def visit_Evaluate(self, s: Any) -> Any:
        op = tile_ir.decode(s)
        if op is None:
            return self.default_stmt(s)
        return _LOWER[op.name](*op.args)


def lower_tile_ops(mod: tvm.IRModule) -> tvm.IRModule:
    return rewrite_funcs(mod, lambda func: with_body(func, _Lower().stmt(func.body)))
