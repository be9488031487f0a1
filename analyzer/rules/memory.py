"""TL1xx: shared-memory budgets per architecture."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..arch import STATIC_SHARED_LIMIT
from ..config import Config
from ..diagnostics import Diagnostic, Related, Severity
from ..model import KernelModel
from ..shared_memory import SharedMemoryPlan, iter_arena, max_stages_that_fit, pipelined_loops
from . import Example, Rule, register

if TYPE_CHECKING:
    from ..engine import ModuleAnalysis


def kib(n: int) -> str:
    return f"{n / 1024:.1f} KiB"


def _anchor(model: KernelModel) -> Any:
    return (model.launch.span if model.launch is not None else model.span).range


def _top_buffers(plan: SharedMemoryPlan, count: int = 4) -> tuple[str, tuple[Related, ...]]:
    parts: list[str] = []
    related: list[Related] = []
    ordered = list(iter_arena(plan))
    for p in ordered[:count]:
        single = p.size // p.versions
        text = f"{p.name} {p.versions}×{kib(single)}" if p.versions > 1 else f"{p.name} {kib(p.size)}"
        parts.append(text)
    if len(ordered) > count:
        parts.append(f"{len(ordered) - count} more")
    for p in ordered:
        if p.buffer is None:
            continue
        detail = f"{p.name}: {p.buffer.shape_text()} {p.buffer.dtype}, {p.size} B"
        if p.versions > 1:
            detail += f" ({p.versions} versions: {p.reason})"
        related.append(Related(p.buffer.span.range, detail))
    return " + ".join(parts), tuple(related)


def _stage_hint(model: KernelModel, arch: str, limit: int) -> str:
    loops, _ = pipelined_loops(model.body)
    if not loops:
        return "; use smaller tiles"
    stages = max_stages_that_fit(model, arch, limit)
    if stages is None:
        return "; even num_stages=1 does not fit: use smaller tiles"
    return f"; num_stages={stages} fits"


def check_over_limit(analysis: "ModuleAnalysis", plans: dict[int, dict[str, Any]], config: Config) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    for model in analysis.models:
        for arch, plan in plans[id(model)].items():
            if plan.dynamic_bytes is None or plan.dynamic_bytes <= plan.limit:
                continue
            listing, related = _top_buffers(plan)
            over = plan.dynamic_bytes - plan.limit
            hint = _stage_hint(model, arch, plan.limit)
            message = (
                f"shared memory {kib(plan.dynamic_bytes)} ({plan.dynamic_bytes} B) exceeds {arch}'s "
                f"{kib(plan.limit)} ({plan.limit} B) per block by {over} B: {listing}{hint}"
            )
            out.append(Diagnostic("TL101", Severity.ERROR, message, _anchor(model), arch, model.name, related))
    return out


# nvcc accepts more than 48 KiB of static __shared__ when it compiles for sm_90a,
# which is what TileLang builds Hopper kernels as (checked on an H200).
_STATIC_CAP_LIFTED = frozenset({"sm_90", "sm_90a"})


def check_static(analysis: "ModuleAnalysis", plans: dict[int, dict[str, Any]], config: Config) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    for model in analysis.models:
        for arch, plan in plans[id(model)].items():
            if arch in _STATIC_CAP_LIFTED:
                continue
            if plan.static_bytes is None or plan.static_bytes <= STATIC_SHARED_LIMIT:
                continue
            names = ", ".join(f"{b.name} {b.shape_text()} {b.dtype} ({b.bytes} B)" for b in plan.static_buffers)
            related = tuple(
                Related(b.span.range, f"{b.name}: static __shared__, {b.bytes} B") for b in plan.static_buffers
            )
            message = (
                f"static shared memory {kib(plan.static_bytes)} ({plan.static_bytes} B) exceeds the 48 KiB "
                f"(49152 B) that a __shared__ array may take on {arch}: {names}; allocate with the default "
                f"scope 'shared.dyn' (bool tiles are always static: store them as uint8)"
            )
            out.append(Diagnostic("TL102", Severity.ERROR, message, _anchor(model), arch, model.name, related))
    return out


def check_near_limit(analysis: "ModuleAnalysis", plans: dict[int, dict[str, Any]], config: Config) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    for model in analysis.models:
        for arch, plan in plans[id(model)].items():
            n = plan.dynamic_bytes
            if n is None or n > plan.limit or n < config.near_limit * plan.limit:
                continue
            listing, related = _top_buffers(plan)
            message = (
                f"shared memory {kib(n)} ({n} B) is {100 * n / plan.limit:.0f}% of {arch}'s "
                f"{kib(plan.limit)} per block ({plan.limit - n} B left): {listing}; one more stage or a "
                f"larger tile will not fit"
            )
            out.append(Diagnostic("TL103", Severity.WARNING, message, _anchor(model), arch, model.name, related))
    return out


_GEMM = '''import tilelang
import tilelang.language as T


def matmul(M, N, K, block_M, block_N, block_K, num_stages, dtype="float16"):
    @T.prim_func
    def main(A: T.Tensor((M, K), dtype), B: T.Tensor((K, N), dtype), C: T.Tensor((M, N), dtype)):
        with T.Kernel(T.ceildiv(N, block_N), T.ceildiv(M, block_M), threads=256) as (bx, by):
            A_shared = T.alloc_shared((block_M, block_K), dtype)
            B_shared = T.alloc_shared((block_K, block_N), dtype)
            C_local = T.alloc_fragment((block_M, block_N), "float32")
            T.clear(C_local)
            for k in T.Pipelined(T.ceildiv(K, block_K), num_stages=num_stages):
                T.copy(A[by * block_M, k * block_K], A_shared)
                T.copy(B[k * block_K, bx * block_N], B_shared)
                T.gemm(A_shared, B_shared, C_local)
            T.copy(C_local, C[by * block_M, bx * block_N])

    return main


kernel = matmul(4096, 4096, 4096, {tiles}, num_stages={stages})
'''


register(
    Rule(
        "TL101",
        "shared-memory-over-limit",
        Severity.ERROR,
        "The kernel's dynamic shared memory exceeds an architecture's per-block limit.",
        why=(
            "TileLang never checks this: the kernel compiles, then fails at launch with "
            "'Failed to set the allowed dynamic shared memory size to N'. The size is what "
            "TileLang 0.1.15 allocates: pipeline versions, reuse between buffers whose lifetimes "
            "do not overlap, and alignment included. Reported only when every shape is known."
        ),
        fix=(
            "Lower num_stages (the message says the largest that fits), use smaller tiles, or drop "
            "the architecture from the targets (`--arch`, `[tool.tilelint] arch`)."
        ),
        invalid=(
            Example(_GEMM.format(tiles="256, 128, 64", stages=4), ("TL101",)),
        ),
        valid=(
            Example(_GEMM.format(tiles="128, 128, 32", stages=3)),
        ),
        check=check_over_limit,
    )
)

register(
    Rule(
        "TL102",
        "static-shared-over-48k",
        Severity.ERROR,
        "Static __shared__ memory (bool tiles, scope='shared') exceeds 48 KiB per block.",
        why=(
            "Buffers allocated with scope='shared', and every bool shared tile, become static "
            "__shared__ arrays, which nvcc caps at 48 KiB per block ('uses too much shared data'). "
            "Hopper is the exception: TileLang compiles it as sm_90a, where nvcc accepts more, so "
            "sm_90 is not reported."
        ),
        fix="Allocate with the default scope 'shared.dyn'; store flags as uint8 instead of bool.",
        invalid=(
            Example(
                '''import tilelang.language as T


@T.prim_func
def main(A: T.Tensor((256, 256), "float32")):
    with T.Kernel(1, threads=128) as bx:
        S = T.alloc_shared((128, 128), "float32", scope="shared")
        T.copy(A[0:128, 0:128], S)
        T.copy(S, A[0:128, 0:128])
''',
                ("TL102",),
            ),
        ),
        valid=(
            Example(
                '''import tilelang.language as T


@T.prim_func
def main(A: T.Tensor((256, 256), "float32")):
    with T.Kernel(1, threads=128) as bx:
        S = T.alloc_shared((128, 128), "float32")
        T.copy(A[0:128, 0:128], S)
        T.copy(S, A[0:128, 0:128])
''',
            ),
        ),
        check=check_static,
    )
)

register(
    Rule(
        "TL103",
        "shared-memory-near-limit",
        Severity.WARNING,
        "The kernel's shared memory is within the configured margin of an architecture's limit.",
        why=(
            "A kernel at 95% of a limit breaks with the next tile or stage change, and leaves "
            "room for only one block per SM, which usually costs occupancy."
        ),
        fix="Check the budget before growing tiles; set `near-limit` in [tool.tilelint] to tune the margin.",
        invalid=(
            Example(_GEMM.format(tiles="128, 256, 64", stages=2), ("TL103",), ("--arch", "sm_89")),
        ),
        valid=(
            Example(_GEMM.format(tiles="128, 128, 32", stages=3), (), ("--arch", "sm_89")),
        ),
        check=check_near_limit,
    )
)

