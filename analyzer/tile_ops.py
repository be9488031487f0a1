"""Facts about individual tile ops that several stages need (gemm operands, instruction choice)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .arch import WGMMA_ARCHES
from .model import FRAGMENT, SHARED, SHARED_DYN, Buffer, Op, operand_shape
from .values import as_int


@dataclass(frozen=True)
class GemmOperands:
    a: Buffer
    b: Buffer
    c: Buffer
    transpose_a: bool
    transpose_b: bool
    m: int | None
    n: int | None
    k: int | None
    # the extents each operand covers (a region of a larger tile counts as its region)
    a_shape: tuple[Any, ...] = ()
    b_shape: tuple[Any, ...] = ()
    c_shape: tuple[Any, ...] = ()


def _operand(value: Any) -> Buffer | None:
    buf = getattr(value, "buffer", value)
    return buf if isinstance(buf, Buffer) else None


def gemm_operands(op: Op) -> GemmOperands | None:
    if op.kind != "gemm":
        return None
    a, b, c = (_operand(op.args.get(k)) for k in ("A", "B", "C"))
    if a is None or b is None or c is None:
        return None
    ta = op.args.get("transpose_A") is True
    tb = op.args.get("transpose_B") is True
    a_shape = operand_shape(op.args.get("A")) or tuple(a.shape)
    b_shape = operand_shape(op.args.get("B")) or tuple(b.shape)
    c_shape = operand_shape(op.args.get("C")) or tuple(c.shape)
    m = as_int(c_shape[-2]) if len(c_shape) >= 2 else None
    n = as_int(c_shape[-1]) if c_shape else None
    k = None
    if len(a_shape) >= 2:
        k = as_int(a_shape[-2] if ta else a_shape[-1])
    return GemmOperands(a, b, c, ta, tb, m, n, k, a_shape, b_shape, c_shape)


def _is_shared(buf: Buffer) -> bool:
    return buf.scope in (SHARED_DYN, SHARED)


def wgmma_dtypes_ok(g: GemmOperands) -> bool:
    """The A/B/C dtype combinations (and K multiples) Hopper's wgmma accepts."""
    if g.a.dtype is None or g.b.dtype is None or g.c.dtype is None or g.k is None:
        return False
    a, b, c = g.a.dtype.name, g.b.dtype.name, g.c.dtype.name
    fp8 = lambda t: t.startswith("float8")  # noqa: E731
    k_major = (not g.transpose_a) and g.transpose_b
    if c == "float16":
        if a == b == "float16":
            return g.k % 16 == 0
        return fp8(a) and fp8(b) and k_major and g.k % 32 == 0
    if c == "float32":
        if a == b == "float16" or a == b == "bfloat16":
            return g.k % 16 == 0
        if a == b == "tfloat32":
            return k_major and g.k % 8 == 0
        return fp8(a) and fp8(b) and k_major and g.k % 32 == 0
    if c == "int32":
        return a in ("int8", "uint8") and b in ("int8", "uint8") and k_major and g.k % 32 == 0
    return False


def uses_wgmma(op: Op, threads: int | None, arch: str, disabled: bool = False) -> bool:
    """Whether TileLang lowers this gemm to Hopper wgmma (shared B, M >= 64, whole warpgroups)."""
    if disabled or arch not in WGMMA_ARCHES:
        return False
    g = gemm_operands(op)
    if g is None or threads is None or g.m is None:
        return False
    if not _is_shared(g.b) or g.c.scope != FRAGMENT:
        return False
    return g.m >= 64 and (threads // 32) % 4 == 0 and wgmma_dtypes_ok(g)


def warp_partition(policy: str, m: int, n: int, warps: int, wgmma: bool = False) -> tuple[int, int] | None:
    """How TileLang splits a gemm's warps over (M, N): (m_warps, n_warps), None when impossible.

    Each warp owns a multiple of 16 rows and 8 columns; with wgmma, m_warps is a
    multiple of 4 (whole warpgroups). FullRow puts as many warps on M as fit,
    FullCol as many on N, Square balances the per-warp tile against M/N.
    """
    group = 4 if wgmma else 1

    def valid(mw: int, nw: int) -> bool:
        return mw * nw == warps and mw % group == 0 and m % (mw * 16) == 0 and n % (nw * 8) == 0

    options = [(mw, warps // mw) for mw in range(1, warps + 1) if warps % mw == 0 and valid(mw, warps // mw)]
    if not options:
        return None
    if policy == "FullRow":
        return max(options)
    if policy == "FullCol":
        return min(options)
    ideal = m / n if n else 1.0
    return min(options, key=lambda o: abs((m / (o[0] * 16)) / (n / (o[1] * 8)) - ideal))


def policy_name(value: Any) -> str:
    """`T.GemmWarpPolicy.FullRow` (or its integer value) as "FullRow"; default "Square"."""
    if value is None:
        return "Square"
    text = getattr(value, "name", None) or str(value)
    last = text.rsplit(".", 1)[-1]
    return {"0": "Square", "1": "FullRow", "2": "FullCol"}.get(last, last if last in ("Square", "FullRow", "FullCol") else "Square")
