"""TL3xx: element types: gemm dtype combinations, conversions that change values.

The gemm tables were measured on TileLang 0.1.15 (lowering for sm_80, sm_89
and sm_90, then `nvcc -std=c++20 --cubin` on the generated CUDA):

* A and B must have the same dtype: `GemmBase.__post_init__` raises
  "Mixed-dtype GEMM only supports f8f6f4 family operands currently" for every
  target and instruction; only Blackwell tcgen05 (C in tensor memory) mixes
  float8/float6/float4 operands, and an A operand in tensor memory is not
  checked.
* From sm_80 on, a gemm with a fragment accumulator is a tensor-core gemm
  (mma.sync, or wgmma on Hopper, whose combinations are a subset), and the
  accumulator must be one `tl::mma_sync` has an instruction for
  (`_ACCUMULATORS`); anything else stops nvcc with `static_assert
  "tl::mma_sync: unsupported configuration"` (a float64 accumulator for
  narrower operands already fails while lowering: "Could not normalize
  iterators"). sm_70 and sm_75 fall back to CUDA-core FMA for combinations
  their mma lacks, so those are not errors there.
* float32 operands run as TF32 (`kTensorFloat32` mma, 10-bit mantissa) from
  sm_80 on.

Stores and copies convert values the C way: a float stored into an integer
buffer is truncated toward zero, silently; a constant TVM cannot fit (an
infinity, a NaN, a value out of range) is rejected while lowering ("Literal
value -9223372036854775808 exceeds minimum of int32") for integer types
narrower than 64 bits, and `T.infinity` of an integer type fails with
"Cannot decide infinity for type int32".
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Callable, Iterable

import libcst as cst

from ..config import Config
from ..diagnostics import Diagnostic, Severity
from ..dtypes import DType, parse_dtype
from ..interpret import as_dtype, operand_buffer
from ..model import FRAGMENT, VAR, Buffer, BufferLoad, KernelModel, Loop, Op, walk
from ..tile_ops import GemmOperands, gemm_operands
from ..values import Sym
from . import Example, Rule, register
from .common import GEMM_HEADER, diag, operand_name, per_model

# --------------------------------------------------------------------------- facts

# A/B dtype -> the accumulator dtypes tl::mma_sync has an instruction for (TileLang 0.1.15,
# tl_templates/cuda/instruction/mma.h; every entry lowered and compiled for sm_80, sm_89, sm_90).
_ACCUMULATORS: dict[str, tuple[str, ...]] = {
    "float16": ("float16", "float32"),
    "bfloat16": ("float32",),
    "float32": ("float32",),  # run as tf32
    "tfloat32": ("float32",),
    "int8": ("int32",),
    "uint8": ("int32",),
    "int4": ("int32",),
    "float8_e4m3": ("float16", "float32"),
    "float8_e4m3fn": ("float16", "float32"),
    "float8_e5m2": ("float16", "float32"),
    "float64": ("float64",),
}

# T.gemm picks its instruction (tcgen05, wgmma, mma, FMA) itself; the explicit T.wgmma_gemm / T.tcgen05_gemm
# fail earlier, with their own "constraints were not satisfied" messages, and are not judged here
_GEMMS = ("gemm",)
TMEM = "shared.tmem"
_SHARED_OR_REGISTERS = ("shared", "shared.dyn", FRAGMENT)


def _sm(arch: str) -> int | None:
    m = re.fullmatch(r"sm_(\d+)a?", arch)
    return int(m.group(1)) if m else None


def tensor_core_arches(config: Config) -> list[str]:
    """The configured archs where a gemm with a fragment accumulator must use tensor cores (sm_80 on).

    sm_70 and sm_75 lower combinations their mma.sync lacks to CUDA-core FMA instead.
    """
    return [a for a in config.arches if (_sm(a) or 0) >= 80]


def _on(failing: list[str], config: Config) -> str:
    return "" if len(failing) == len(config.arches) else f" on {', '.join(failing)}"


def _f8f6f4(dtype: DType) -> bool:
    return dtype.name.startswith(("float8", "float6", "float4"))


def _ops(model: KernelModel) -> Iterable[Op]:
    for stmt in walk(model.body):
        if isinstance(stmt, Op):
            yield stmt


def _gemms(model: KernelModel) -> Iterable[tuple[Op, GemmOperands]]:
    for op in _ops(model):
        if op.name not in _GEMMS:
            continue
        g = gemm_operands(op)
        if g is None or g.a.dtype is None or g.b.dtype is None or g.c.dtype is None:
            continue
        if max(g.a.dtype.lanes, g.b.dtype.lanes, g.c.dtype.lanes) > 1:
            continue
        yield op, g


def _names(op: Op) -> tuple[str, str, str]:
    return operand_name(op.args.get("A")), operand_name(op.args.get("B")), operand_name(op.args.get("C"))


# --------------------------------------------------------------------------- TL301 / TL302 / TL303


def _mixed_allowed(g: GemmOperands) -> bool:
    """tcgen05 takes an A in tensor memory of any dtype, and mixed float8/6/4 operands into a TMEM accumulator."""
    assert g.a.dtype is not None and g.b.dtype is not None
    return g.a.scope == TMEM or (g.c.scope == TMEM and _f8f6f4(g.a.dtype) and _f8f6f4(g.b.dtype))


def check_gemm_operands(model: KernelModel, config: Config) -> Iterable[Diagnostic]:
    for op, g in _gemms(model):
        a, b = g.a.dtype, g.b.dtype
        if a == b or _mixed_allowed(g):
            continue
        an, bn, _ = _names(op)
        yield diag(
            "TL302", Severity.ERROR,
            f"T.{op.name} multiplies {an} ({a}) by {bn} ({b}): A and B must have the same dtype, no tensor-core "
            f"instruction takes {a} x {b} (TileLang: 'Mixed-dtype GEMM only supports f8f6f4 family operands "
            f"currently, got A={a}, B={b}'); convert one operand first, e.g. T.copy it into a {b} tile",
            op.span, model)


def _tensor_core_gemms(model: KernelModel, config: Config
                       ) -> Iterable[tuple[Op, GemmOperands, tuple[str, ...], list[str]]]:
    """Same-dtype gemms into a fragment, with the accumulators allowed and the archs that use tensor cores."""
    failing = tensor_core_arches(config)
    if not failing:
        return
    for op, g in _gemms(model):
        if g.a.dtype != g.b.dtype or g.c.scope != FRAGMENT:
            continue
        if g.a.scope not in _SHARED_OR_REGISTERS or g.b.scope not in _SHARED_OR_REGISTERS:
            continue
        allowed = _ACCUMULATORS.get(g.a.dtype.name)  # type: ignore[union-attr]
        if allowed is not None:
            yield op, g, allowed, failing


def check_gemm_accumulator(model: KernelModel, config: Config) -> Iterable[Diagnostic]:
    for op, g, allowed, failing in _tensor_core_gemms(model, config):
        a, c = g.a.dtype, g.c.dtype
        assert a is not None and c is not None
        if c.name in allowed:
            continue
        _, _, cn = _names(op)
        if c.name == "float64":
            how = "TileLang fails while lowering it ('Could not normalize iterators')"
        else:
            how = "nvcc stops with static_assert 'tl::mma_sync: unsupported configuration'"
        only = "only in " if len(allowed) == 1 else "in "
        yield diag(
            "TL301", Severity.ERROR,
            f"T.{op.name} accumulates {a} x {a} into {cn} ({c}){_on(failing, config)}: tensor cores accumulate "
            f"{a} products {only}{' or '.join(allowed)}, so {how}; allocate {cn} as {allowed[-1]}",
            op.span, model)


def check_gemm_tf32(model: KernelModel, config: Config) -> Iterable[Diagnostic]:
    found = []
    for op, g, allowed, failing in _tensor_core_gemms(model, config):
        if g.a.dtype is not None and g.a.dtype.name == "float32" and g.c.dtype is not None and g.c.dtype.name in allowed:
            found.append((op, failing))
    if not found:
        return
    # one note per kernel: a kernel built on float32 gemms would otherwise carry one on every line
    (op, failing), others = found[0], [o for o, _ in found[1:]]
    an, bn, _ = _names(op)
    more = f" (and {len(others)} more float32 T.gemm calls in this kernel)" if others else ""
    yield diag(
        "TL303", Severity.INFORMATION,
        f"T.{op.name} of float32 {an} x {bn}{more} runs on TF32 tensor cores{_on(failing, config)}: TileLang lowers "
        f"float32 operands to tf32 mma, which keeps 10 of their 23 mantissa bits (about 3 decimal digits), so "
        f"results differ from a float32 matmul; allocate the operand tiles as T.tfloat32 to make that explicit",
        op.span, model, related=[(o.span, "another float32 T.gemm (TF32)") for o in others])


# --------------------------------------------------------------------------- TL304


def _integer(dtype: DType | None) -> bool:
    return dtype is not None and (dtype.is_int or dtype.name == "bool")


_INTEGER_OPS = (cst.Add, cst.Subtract, cst.Multiply, cst.FloorDivide, cst.Modulo, cst.BitAnd, cst.BitOr,
                cst.BitXor, cst.LeftShift, cst.RightShift)


_ROUNDING = ("round", "floor", "ceil", "trunc", "nearbyint", "rint")
_SELECTING = ("max", "min", "clamp", "abs", "if_then_else")


def _integer_expression(node: cst.BaseExpression | None, counters: frozenset[str],
                        whole_load: Callable[[str], bool]) -> bool:
    """Whether an expression can only give whole numbers.

    Loads of buffers that hold whole numbers (`whole_load(name)`), integer literals, loop counters, rounding
    calls (T.round, T.floor...) and casts to an integer type, joined by integer arithmetic or
    T.max/T.min/T.clamp/T.if_then_else; no float literal, no `/`, no other call.
    """
    if isinstance(node, cst.Integer):
        return True
    if isinstance(node, cst.Subscript):
        return isinstance(node.value, cst.Name) and whole_load(node.value.value)
    if isinstance(node, cst.Name):
        return node.value in counters
    if isinstance(node, cst.BinaryOperation):
        return (isinstance(node.operator, _INTEGER_OPS) and _integer_expression(node.left, counters, whole_load)
                and _integer_expression(node.right, counters, whole_load))
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, (cst.Minus, cst.Plus)):
        return _integer_expression(node.expression, counters, whole_load)
    if isinstance(node, cst.Call):
        name = _call_name(node)
        args = [a.value for a in node.args if a.keyword is None]
        if name in _ROUNDING:
            return True
        if name in ("Cast", "cast") and args:
            target = args[0] if name == "Cast" else (args[1] if len(args) > 1 else None)
            return target is not None and _integer(_literal_dtype(target))
        if name in _SELECTING and args:
            values = args[1:] if name == "if_then_else" else args
            return all(_integer_expression(a, counters, whole_load) for a in values)
    return False


def _writes_integers(op: Op, buf: Buffer, counters: frozenset[str], whole: dict[int, bool]) -> bool:
    """Whether every value `op` writes into `buf` is a whole number, given what each buffer holds so far."""
    def holds_whole(b: Buffer) -> bool:
        return _integer(b.dtype) or whole.get(id(b.root), False)

    inputs = all(holds_whole(b) for b in op.reads)
    if op.kind == "clear":
        return True
    if op.kind == "fill":
        value = op.args.get("value")
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if op.kind in ("gemm", "copy", "reduce", "cumsum"):
        return bool(op.reads) and inputs  # an accumulating gemm or reduce reads its output too
    if op.kind == "store":
        value = op.args.get("value")
        if isinstance(value, (int, Sym)):  # a Sym is an integer expression of loop counters and sizes
            return inputs
        if op.args.get("augmented") and not holds_whole(buf):
            return False
        by_name = {b.name: b for b in op.reads}
        return _integer_expression(_store_expr(op), counters,
                                   lambda name: name in by_name and holds_whole(by_name[name]))
    return False


def check_copy_conversions(model: KernelModel, config: Config) -> Iterable[Diagnostic]:
    counters = frozenset(v for stmt in walk(model.body) if isinstance(stmt, Loop) for v in stmt.vars)
    # per buffer (root): whether it holds only whole numbers at this point of the kernel, in program order;
    # a float buffer that does (an int matmul accumulated in float32, rounded values) converts exactly
    whole: dict[int, bool] = {}
    for op in _ops(model):
        if op.kind == "copy" and op.name == "copy":
            yield from _copy_conversion(op, model, whole)
        written = {id(a.buffer.root): a.buffer for a in op.accesses if a.write}
        updates = {key: _writes_integers(op, buf, counters, whole) for key, buf in written.items()}
        whole.update(updates)


def _copy_conversion(op: Op, model: KernelModel, whole: dict[int, bool]) -> Iterable[Diagnostic]:
    src, dst = op.args.get("src"), op.args.get("dst")
    sb, db = operand_buffer(src), operand_buffer(dst)
    if sb is None or db is None or sb.dtype is None or db.dtype is None:
        return
    if not sb.dtype.is_float or not _integer(db.dtype) or whole.get(id(sb.root), False):
        return
    yield diag(
        "TL304", Severity.WARNING,
        f"T.copy converts the {sb.dtype} values of {operand_name(src)} into {db.dtype} {operand_name(dst)}: "
        f"each value is truncated toward zero (0.7 becomes 0) and values out of {db.dtype}'s range do not "
        f"survive; T.copy converts values, it never copies bits. Copy into a float buffer, or convert "
        f"explicitly in a T.Parallel loop (e.g. T.Cast(\"{db.dtype}\", T.round(x[i, j]))); to reinterpret the "
        f"bytes use T.view",
        op.span, model)


# --------------------------------------------------------------------------- TL305 / TL306


@dataclass(frozen=True)
class FloatConstant:
    """A float constant stored into a buffer: a Python float, or `T.infinity(dtype)` with its sign."""

    text: str  # as written or computed: "0.5", "-T.infinity(float32)"
    value: float | None  # None when not known (T.infinity of an unknown or integer dtype)
    infinity_of: DType | None = None  # the dtype argument of T.infinity, when resolved
    infinity: bool = False


_MODULE = cst.Module(body=[])


def _code(node: cst.CSTNode) -> str:
    return " ".join(_MODULE.code_for_node(node).split())


def _call_name(node: cst.BaseExpression) -> str | None:
    func = node.func if isinstance(node, cst.Call) else None
    if isinstance(func, cst.Attribute):
        return func.attr.value
    if isinstance(func, cst.Name):
        return func.value
    return None


def _literal_dtype(node: cst.BaseExpression) -> DType | None:
    """A dtype written out: `T.float32`, `torch.int8`, `"float32"`."""
    if isinstance(node, cst.SimpleString):
        return parse_dtype(node.evaluated_value) if isinstance(node.evaluated_value, str) else None
    if isinstance(node, cst.Attribute) and node.attr.value != "dtype":
        return parse_dtype(node.attr.value)
    return None


def _resolve_dtype(node: cst.BaseExpression, model: KernelModel) -> DType | None:
    """The dtype an expression names: `T.float32`, `"float32"`, `acc.dtype`, a bound parameter."""
    if isinstance(node, cst.Attribute) and node.attr.value == "dtype":
        if isinstance(node.value, cst.Name):
            found = {b.dtype for b in model.buffers if b.name == node.value.value}
            return found.pop() if len(found) == 1 else None
        return None
    if isinstance(node, (cst.SimpleString, cst.Attribute)):
        return _literal_dtype(node)
    if isinstance(node, cst.Name):
        if node.value in model.instantiation:
            return as_dtype(model.instantiation[node.value])
        return None
    return None


def _infinity(node: cst.BaseExpression | None, model: KernelModel) -> FloatConstant | None:
    """`T.infinity(dt)` or `-T.infinity(dt)`, the forms a running max/min is seeded with."""
    sign = ""
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus):
        sign, node = "-", node.expression
    if not isinstance(node, cst.Call) or _call_name(node) != "infinity":
        return None
    arg = next((a.value for a in node.args if a.keyword is None or a.keyword.value == "dtype"), None)
    dtype = _resolve_dtype(arg, model) if arg is not None else None
    text = sign + _code(node)
    if dtype is not None and dtype.is_float:
        return FloatConstant(text, -math.inf if sign else math.inf, dtype, True)
    return FloatConstant(text, None, dtype, True)


def float_constant(value: Any, node: cst.BaseExpression | None, model: KernelModel) -> FloatConstant | None:
    """The float constant a store writes, from its evaluated value or (for T.infinity) its source."""
    if isinstance(value, float):
        return FloatConstant(_show_float(value), value)
    if isinstance(value, (bool, int, Sym, BufferLoad, Buffer)):
        return None
    return _infinity(node, model)


def _show_float(value: float) -> str:
    if math.isinf(value):
        return "-inf" if value < 0 else "inf"
    return repr(value)


def _int_range(dtype: DType) -> tuple[int, int]:
    if dtype.name == "bool":
        return 0, 1
    if dtype.name.startswith("uint"):
        return 0, (1 << dtype.bits) - 1
    return -(1 << (dtype.bits - 1)), (1 << (dtype.bits - 1)) - 1


@dataclass(frozen=True)
class Verdict:
    severity: Severity
    effect: str


def _lowering_error(value: float, dest: DType) -> str | None:
    """The message TileLang 0.1.15 gives for a float constant `dest` cannot hold; None when it takes it.

    The constant is folded to a 64-bit integer first (an infinity, a NaN or an overflow becomes
    INT64_MIN), then range-checked for the narrower type; an unsigned type also refuses any negative float.
    """
    lo, hi = _int_range(dest)
    folded = math.trunc(value) if math.isfinite(value) and abs(value) < 2.0 ** 63 else -(1 << 63)
    if dest.name == "bool":
        return None if lo <= folded <= hi else f"{folded} exceeds range of bool"
    if dest.name.startswith("uint"):
        if value < 0:
            return f"cannot make uint from negative value {_show_float(value)}"
        if folded < 0:
            return f"Literal value {folded} is negative for unsigned integer type {dest}"
    if folded < lo:
        return f"Literal value {folded} exceeds minimum of {dest}"
    if folded > hi:
        return f"Literal value {folded} exceeds maximum of {dest}"
    return None


def judge(const: FloatConstant, dest: DType) -> Verdict | None:
    """What storing `const` into an integer (or bool) `dest` does; None when nothing is lost."""
    if const.infinity and const.infinity_of is not None and not const.infinity_of.is_float:
        return Verdict(Severity.ERROR, f"TileLang rejects it while lowering ('Cannot decide infinity for type "
                                       f"{const.infinity_of}'): an integer type has no infinity")
    value = const.value
    if value is None:
        return Verdict(Severity.WARNING, "an infinity has no integer value: TileLang rejects it while lowering "
                                         "or stores an arbitrary integer, depending on the types")
    # float32/float64 constants are folded while lowering; float16/bfloat16 infinities convert at run time
    folded = const.infinity_of is None or const.infinity_of.bits >= 32
    refused = _lowering_error(value, dest)
    if refused is None and not math.isfinite(value):
        return Verdict(Severity.WARNING, f"{dest} cannot hold it: the conversion gives an arbitrary integer")
    if refused is not None:
        if dest.bits < 64 and folded:
            return Verdict(Severity.ERROR, f"{dest} cannot hold it: TileLang rejects it while lowering "
                                           f"('{refused}')")
        return Verdict(Severity.WARNING, f"{dest} cannot hold it: the conversion gives an arbitrary integer")
    if value != math.trunc(value):
        return Verdict(Severity.WARNING, f"it is silently truncated to {math.trunc(value)}")
    return None


def _store_expr(op: Op) -> cst.BaseExpression | None:
    node = op.span.node
    if isinstance(node, (cst.Assign, cst.AnnAssign, cst.AugAssign)):
        return node.value
    return None


def _call_arg(node: cst.CSTNode | None, keyword: str, position: int) -> cst.BaseExpression | None:
    if not isinstance(node, cst.Call):
        return None
    positional = [a.value for a in node.args if a.keyword is None and not a.star]
    for a in node.args:
        if a.keyword is not None and a.keyword.value == keyword:
            return a.value
    return positional[position] if len(positional) > position else None


def check_float_into_integer(model: KernelModel, config: Config) -> Iterable[Diagnostic]:
    for op in _ops(model):
        if op.kind == "store":
            targets = [a.buffer for a in op.accesses if a.write and a.buffer.scope != VAR]
            value, node = op.args.get("value"), _store_expr(op)
            verb = "adds" if op.args.get("augmented") else "stores"
        elif op.kind == "fill":
            buf = operand_buffer(op.args.get("buffer"))
            targets = [buf] if buf is not None else []
            value, node, verb = op.args.get("value"), _call_arg(op.span.node, "value", 1), "T.fill writes"
        else:
            continue
        for buf in targets:
            if buf.dtype is None or not _integer(buf.dtype):
                continue
            const = float_constant(value, node, model)
            verdict = judge(const, buf.dtype) if const is not None else None
            if const is None or verdict is None:
                continue
            yield diag(
                "TL305", verdict.severity,
                f"{verb} {const.text} into {buf.name}, {_a(buf.dtype)} buffer: {const.text} is a float and "
                f"{verdict.effect}; {_fix(buf, const)}",
                op.span, model)
            break


def _fix(buf: Buffer, const: FloatConstant) -> str:
    assert buf.dtype is not None
    if const.infinity and buf.dtype.name != "bool":
        lo, hi = _int_range(buf.dtype)
        low = const.value is None or const.value < 0
        bound = f'T.min_value("{buf.dtype}") ({lo})' if low else f'T.max_value("{buf.dtype}") ({hi})'
        return f"seed it with {bound}, or -1 for an index, or make {buf.name} a float buffer"
    return f"store an integer, or make {buf.name} a float buffer"


def _a(dtype: DType) -> str:
    return ("an " if str(dtype)[0] in "aeiou" else "a ") + str(dtype)


def check_var_dtypes(model: KernelModel, config: Config) -> Iterable[Diagnostic]:
    for buf in model.buffers:
        if buf.scope != VAR or not _integer(buf.dtype) or buf.init is None:
            continue
        const = float_constant(buf.init, _call_arg(buf.span.node, "init", 1), model)
        verdict = judge(const, buf.dtype) if const is not None else None  # type: ignore[arg-type]
        if const is not None and verdict is not None:
            yield diag(
                "TL306", verdict.severity,
                f"T.alloc_var declares {buf.name} as {buf.dtype} but initialises it with {const.text}, a float: "
                f"{verdict.effect}; declare {buf.name} with a float dtype, or give an integer init",
                buf.span, model)
    for op in _ops(model):
        if op.kind != "store":
            continue
        for access in op.accesses:
            var = access.buffer
            if not access.write or var.scope != VAR or not _integer(var.dtype):
                continue
            value = op.args.get("value")
            sign = "+=" if op.args.get("augmented") else "="
            if isinstance(value, BufferLoad) and value.buffer.dtype is not None and value.buffer.dtype.is_float:
                yield diag(
                    "TL306", Severity.WARNING,
                    f"{var.name} {sign} {operand_name(value)}: {var.name} is {_a(var.dtype)} T.alloc_var but "
                    f"{value.buffer.name} holds {value.buffer.dtype}, so the value is truncated toward zero; "
                    f"declare {var.name} as {value.buffer.dtype}, or convert explicitly (T.Cast)",
                    op.span, model)
                continue
            const = float_constant(value, _store_expr(op), model)
            verdict = judge(const, var.dtype) if const is not None else None  # type: ignore[arg-type]
            if const is not None and verdict is not None:
                yield diag(
                    "TL306", verdict.severity,
                    f"{var.name} {sign} {const.text}: {var.name} is {_a(var.dtype)} T.alloc_var and {const.text} is a "
                    f"float, so {verdict.effect}; declare {var.name} with a float dtype, or assign an integer",
                    op.span, model)


# --------------------------------------------------------------------------- registry

_GEMM = GEMM_HEADER + """def matmul(M, N, K, block_M=128, block_N=128, block_K=32, dtype={ab}, accum_dtype={c}):
    @T.prim_func
    def main(A: T.Tensor((M, K), dtype), B: T.Tensor((N, K), {b}), C: T.Tensor((M, N), accum_dtype)):
        with T.Kernel(T.ceildiv(N, block_N), T.ceildiv(M, block_M), threads=128) as (bx, by):
            A_shared = T.alloc_shared((block_M, block_K), dtype)
            B_shared = T.alloc_shared((block_N, block_K), {b})
            C_local = T.alloc_fragment((block_M, block_N), accum_dtype)
            T.clear(C_local)
            for k in T.Pipelined(T.ceildiv(K, block_K), num_stages=2):
                T.copy(A[by * block_M, k * block_K], A_shared)
                T.copy(B[bx * block_N, k * block_K], B_shared)
                T.gemm(A_shared, B_shared, C_local, transpose_B=True)
            T.copy(C_local, C[by * block_M, bx * block_N])

    return main


kernel = matmul(1024, 1024, 1024)
"""


def _gemm(ab: str, c: str, b: str | None = None) -> str:
    """A gemm example; dtypes are Python expressions ('"float16"', 'T.tfloat32')."""
    return _GEMM.format(ab=ab, c=c, b=b or "dtype")


register(
    Rule(
        "TL301",
        "gemm-accumulator-dtype",
        Severity.ERROR,
        "The T.gemm accumulator dtype has no tensor-core instruction for the operand dtype (e.g. bfloat16 "
        "products into a float16 accumulator).",
        why=(
            "From sm_80 on, a T.gemm into a fragment runs on tensor cores (mma.sync, wgmma on Hopper). They "
            "accumulate float16 products in float16 or float32; bfloat16 and float32 (tf32) products only in "
            "float32; int8, uint8 and int4 products in int32; float8 products in float16 or float32; float64 "
            "in float64. For any other accumulator nvcc stops with static_assert 'tl::mma_sync: unsupported "
            "configuration' (issue #3004); a float64 accumulator for narrower operands already fails while "
            "lowering. sm_70 and sm_75 fall back to slow CUDA-core FMA instead, so they are not flagged."
        ),
        fix="Allocate the accumulator with a supported dtype (float32 for bfloat16 operands, int32 for int8) and "
            "convert when copying the result out.",
        invalid=(Example(_gemm('"bfloat16"', '"float16"'), ("TL301",)),
                 Example(_gemm('"int8"', '"float32"'), ("TL301",))),
        valid=(Example(_gemm('"bfloat16"', '"float32"')), Example(_gemm('"float16"', '"float16"')),
               Example(_gemm('"int8"', '"int32"'))),
        check=per_model(check_gemm_accumulator, cuda_only=True),
    )
)

register(
    Rule(
        "TL302",
        "gemm-operand-dtypes",
        Severity.ERROR,
        "T.gemm operands A and B have different dtypes (e.g. float16 x bfloat16).",
        why=(
            "Tensor-core instructions multiply two operands of one type, and TileLang checks it for every target "
            "before choosing an instruction: 'Mixed-dtype GEMM only supports f8f6f4 family operands currently'. "
            "Only Blackwell tcgen05 gemms into tensor memory may mix float8/float6/float4 operands."
        ),
        fix="Convert one operand to the other's dtype first (T.copy it into a tile of that dtype), then gemm.",
        invalid=(Example(_gemm('"float16"', '"float32"', '"bfloat16"'), ("TL302",)),),
        valid=(Example(_gemm('"bfloat16"', '"float32"', '"bfloat16"')),),
        check=per_model(check_gemm_operands),
    )
)

register(
    Rule(
        "TL303",
        "gemm-fp32-is-tf32",
        Severity.INFORMATION,
        "A T.gemm of float32 operands runs on TF32 tensor cores, not in full float32 precision.",
        why=(
            "TileLang lowers float32 A and B to tf32 mma from sm_80 on: each operand keeps 10 of its 23 mantissa "
            "bits, so results differ from a float32 reference by about 1e-3 relative (issues #859, #2038). This "
            "is what cuBLAS does with TF32 enabled, and often fine, but it surprises tests that compare with "
            "float32 at tight tolerances."
        ),
        fix="Allocate the operands as T.tfloat32 to make the precision explicit (this silences the note), or "
            "loosen the reference tolerance; for float32 accuracy do not use T.gemm.",
        invalid=(Example(_gemm('"float32"', '"float32"'), ("TL303",), tilelang="silent"),),
        valid=(Example(_gemm("T.tfloat32", '"float32"')),),
        check=per_model(check_gemm_tf32, cuda_only=True),
    )
)

_QUANT = GEMM_HEADER + """def quantize(M, N, block_M=64, block_N=64):
    @T.prim_func
    def main(X: T.Tensor((M, N), "float16"), Q: T.Tensor((M, N), "int8")):
        with T.Kernel(T.ceildiv(N, block_N), T.ceildiv(M, block_M), threads=128) as (bx, by):
            x = T.alloc_fragment((block_M, block_N), "float16")
            q = T.alloc_shared((block_M, block_N), "int8")
            T.copy(X[by * block_M, bx * block_N], x)
            for i, j in T.Parallel(block_M, block_N):
                x[i, j] = x[i, j] * 16
{convert}
            T.copy(q, Q[by * block_M, bx * block_N])

    return main


kernel = quantize(1024, 1024)
"""

register(
    Rule(
        "TL304",
        "copy-changes-meaning",
        Severity.WARNING,
        "T.copy from a float buffer into an integer buffer: every value is truncated toward zero.",
        why=(
            "T.copy converts element by element with a C cast when the dtypes differ: 2.7 becomes 2, -0.5 "
            "becomes 0, and values outside the integer range are lost. It never copies bits, so it is also the "
            "wrong tool to move packed data. Widening (float16 to float32) or narrowing between float types is "
            "ordinary and not flagged."
        ),
        fix="Round and convert explicitly in a T.Parallel loop (T.Cast(\"int8\", T.round(x[i, j]))), keep the "
            "destination a float buffer, or use T.view to reinterpret bytes.",
        invalid=(Example(_QUANT.format(convert="            T.copy(x, q)"), ("TL304",), tilelang="silent"),),
        valid=(Example(_QUANT.format(convert=(
            "            for i, j in T.Parallel(block_M, block_N):\n"
            "                q[i, j] = T.Cast(\"int8\", T.round(x[i, j]))"))),),
        check=per_model(check_copy_conversions),
    )
)

_ARGMAX = GEMM_HEADER + """def argmax(M, N, block_M=128):
    @T.prim_func
    def main(X: T.Tensor((M, N), "float32"), I: T.Tensor((M,), "int32")):
        with T.Kernel(T.ceildiv(M, block_M), threads=128) as bx:
            best = T.alloc_fragment((block_M,), "float32")
            best_i = T.alloc_fragment((block_M,), "int32")
            T.fill(best, -T.infinity(T.float32))
            T.fill(best_i, {seed})
            for j in T.serial(N):
                for i in T.Parallel(block_M):
                    if X[bx * block_M + i, j] > best[i]:
                        best[i] = X[bx * block_M + i, j]
                        best_i[i] = j
            T.copy(best_i, I[bx * block_M])

    return main


kernel = argmax(4096, 1024)
"""

register(
    Rule(
        "TL305",
        "float-into-integer",
        Severity.WARNING,
        "A float constant (0.5, -T.infinity(...)) is stored into an integer buffer.",
        why=(
            "The constant is converted to the buffer's integer type: a fraction is silently truncated (0.5 "
            "stores 0). An infinity, a NaN or a value out of range cannot be converted: TileLang folds a float32 "
            "or float64 constant to a 64-bit integer and rejects it for narrower types ('Literal value "
            "-9223372036854775808 exceeds minimum of int32'; an unsigned type refuses any negative float), and "
            "T.infinity of an integer type fails ('Cannot decide infinity for type int32'): those cases are "
            "reported as errors. A float16/bfloat16 infinity is converted at run time, to an arbitrary integer. Seeding an index buffer with -T.infinity, copied from "
            "the value buffer next to it, is the usual way to get here."
        ),
        fix="Store an integer (for a running minimum or maximum, T.min_value/T.max_value of the integer type, or "
            "-1 for an index), or make the buffer a float buffer.",
        invalid=(Example(_ARGMAX.format(seed="-T.infinity(T.float32)"), ("TL305",)),
                 Example(_ARGMAX.format(seed="0.5"), ("TL305",), tilelang="silent")),
        valid=(Example(_ARGMAX.format(seed="-1")),),
        check=per_model(check_float_into_integer),
    )
)

_ROWSUM = GEMM_HEADER + """def row_sum(M, N):
    @T.prim_func
    def main(X: T.Tensor((M, N), "float32"), S: T.Tensor((M,), "float32")):
        with T.Kernel(M, threads=32) as bx:
            acc = T.alloc_var({dtype}, init={init})
            for j in T.serial(N):
                acc += X[bx, j]
            S[bx] = acc

    return main


kernel = row_sum(1024, 256)
"""

register(
    Rule(
        "TL306",
        "var-dtype-conflict",
        Severity.WARNING,
        "An integer T.alloc_var is initialised or assigned with a float (a float constant or a float element).",
        why=(
            "A T.alloc_var holds exactly its declared dtype: each float assigned to an integer variable is "
            "truncated toward zero, so a running sum or scale kept in an int32 variable silently loses its "
            "fractions (acc += 0.7 adds nothing). Constants that cannot be converted at all (an infinity, a "
            "value out of range) are errors, as for TL305."
        ),
        fix="Declare the variable with the float dtype it holds (T.alloc_var(T.float32, init=0)), or convert "
            "explicitly where an integer is meant.",
        invalid=(Example(_ROWSUM.format(dtype="T.int32", init="0"), ("TL306",), tilelang="silent"),
                 Example(_ROWSUM.format(dtype="T.int32", init="0.5"), ("TL306",), tilelang="silent")),
        valid=(Example(_ROWSUM.format(dtype="T.float32", init="0")),),
        check=per_model(check_var_dtypes),
    )
)
