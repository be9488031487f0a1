"""TL5xx: the launch (threads, grid) and the target architecture; TL104: the register estimate.

Every error here was reproduced with TileLang 0.1.15 and nvcc 13.0, and the
launch failures on an H200 (cuLaunchKernel of the cubin TileLang generates):

* a block of more than 1024 threads, a `blockDim.z` over 64, a `gridDim.y`
  or `gridDim.z` over 65535 and an empty grid all build and then fail at
  launch with `CUDA_ERROR_INVALID_VALUE` ("invalid argument"); TileLang checks
  none of them. Non-positive `threads` raise `ValueError: threads must be
  positive`; a fourth grid or block extent stops TileLang with
  `Check failed: (grid_size.size() <= 3)` (`block_size.size()`).
* On Hopper TileLang warp-specializes a pipelined loop fed by TMA copies and
  adds a 128-thread producer warp group: `threads=1024` becomes
  `__launch_bounds__(1152, 1)` and the launch fails.
* `T.alloc_barrier` raises "T.alloc_barrier() requires sm_90 (Hopper) or
  later" before sm_90, `T.tma_copy` stops with "T.tma_copy() requires
  TMA-capable target", `T.wgmma_gemm` with "T.wgmma_gemm() requires Hopper
  WGMMA lowering, but constraints were not satisfied" (also on sm_100 and
  sm_120, and on sm_90 when M < 64, the warps are not whole warp groups or the
  dtypes are not a wgmma combination), `T.tcgen05_gemm` with "requires
  Blackwell TCGEN5MMA lowering" outside sm_100..sm_110. Fences, TMA-store
  waits, cluster barriers, warp-group waits and `setmaxnreg` lower, and nvcc
  stops on TileLang's `static_assert(... "requires sm_90 or later")`; those
  calls write no buffer, and the model records them only once the interpreter
  keeps every `T.*` call of a kernel body (see `_CALL_FEATURES`).
* An explicit `{"kind": "cuda", "arch": "sm_90"}` target makes TileLang call
  nvcc with `-arch=sm_90`, not `sm_90a` (it adds the `a` only for an
  auto-detected GPU). wgmma and `setmaxnreg` exist only in sm_90a: nvcc
  rejects `setmaxnreg` ("tl::warpgroup_reg_dealloc requires a target with CTA
  register reconfiguration, such as sm_90a"), and wgmma compiles to a trap:
  the kernel stops with a device-side assert ("Attempting to use wgmma.fence
  without CUTE_ARCH_MMA_SM90A_ENABLED", checked on an H200).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Callable, Iterable

import libcst as cst

from ..arch import ARCHES, MAX_THREADS_PER_BLOCK
from ..config import Config
from ..diagnostics import Diagnostic, Severity
from ..discover import Site
from ..evaluate import DecoratorCall, decorator_name
from ..model import BARRIER, FRAGMENT, Buffer, Cond, KernelModel, Op, Span, Stmt, walk, walk_with_threads
from ..registers import BASELINE, RegisterEstimate, cap_for, estimate_registers
from ..shared_memory import PRODUCER_THREADS, SharedMemoryPlan, plan_versions
from ..tile_ops import GemmOperands, gemm_operands, uses_wgmma, wgmma_dtypes_ok
from ..values import as_int, show
from . import Example, Rule, register
from .common import GEMM_HEADER, diag, per_model

if TYPE_CHECKING:
    from ..engine import ModuleAnalysis

MAX_BLOCK_Y = 1024
MAX_BLOCK_Z = 64
MAX_GRID_X = 2**31 - 1
MAX_GRID_YZ = 65535
WARP = 32

PlanCheck = Callable[[KernelModel, Config, dict[str, SharedMemoryPlan]], Iterable[Diagnostic]]


def with_plans(check: PlanCheck, cuda_only: bool = True) -> Callable[["ModuleAnalysis", dict[int, dict[str, Any]], Config],
                                                                       list[Diagnostic]]:
    """`per_model` for checks that also read the shared-memory plans (warp specialization)."""

    def run(analysis: "ModuleAnalysis", plans: dict[int, dict[str, Any]], config: Config) -> list[Diagnostic]:
        def one(model: KernelModel, cfg: Config) -> Iterable[Diagnostic]:
            return check(model, cfg, plans.get(id(model), {}))

        one.__name__ = check.__name__
        return per_model(one, cuda_only=cuda_only)(analysis, plans, config)

    run.__name__ = check.__name__
    return run


def _anchor(model: KernelModel) -> Span:
    return model.launch.span if model.launch is not None else model.span


def _arch_number(arch: str) -> int:
    major, minor = ARCHES[arch].major_minor
    return major * 10 + minor


def _ops(model: KernelModel) -> Iterable[tuple[Op, int | None]]:
    total = model.launch.thread_count if model.launch else None
    for stmt, _, threads in walk_with_threads(model.body, total):
        if isinstance(stmt, Op):
            yield stmt, threads


def _dims_text(values: Iterable[Any]) -> str:
    return ", ".join(show(v) for v in values)


# --------------------------------------------------------------------------- TL501


def check_block_size(model: KernelModel, config: Config, plans: dict[str, SharedMemoryPlan]) -> Iterable[Diagnostic]:
    launch = model.launch
    if launch is None or len(launch.threads) > 3:
        return  # more than 3 dimensions: TL503
    dims = [as_int(t) for t in launch.threads]
    given = f"threads={show(launch.threads[0])}" if len(dims) == 1 else f"threads=({_dims_text(launch.threads)})"
    bad = [d for d in dims if d is not None and d <= 0]
    if bad:
        yield diag("TL501", Severity.ERROR,
                   f"{given}: a block needs at least one thread in every dimension; TileLang raises "
                   f"'ValueError: threads must be positive'", _anchor(model), model)
        return
    total = launch.thread_count
    if total is not None and total > MAX_THREADS_PER_BLOCK:
        yield diag("TL501", Severity.ERROR,
                   f"{given} asks for {total} threads per block, more than the {MAX_THREADS_PER_BLOCK} CUDA allows: "
                   f"TileLang builds it and the launch fails with 'invalid argument' (CUDA_ERROR_INVALID_VALUE); "
                   f"use at most {MAX_THREADS_PER_BLOCK} threads and let each thread do more work", _anchor(model), model)
        return
    if len(dims) >= 2 and dims[1] is not None and dims[1] > MAX_BLOCK_Y or len(dims) == 3 and dims[2] is not None \
            and dims[2] > MAX_BLOCK_Z:
        yield diag("TL501", Severity.ERROR,
                   f"{given}: a block is at most ({MAX_THREADS_PER_BLOCK}, {MAX_BLOCK_Y}, {MAX_BLOCK_Z}) threads along "
                   f"(x, y, z); the launch fails with 'invalid argument' (CUDA_ERROR_INVALID_VALUE); put the larger "
                   f"extent first", _anchor(model), model)
        return
    if total is None:
        return
    for arch, plan in plans.items():
        if plan.warp_specialized and plan.threads is not None and plan.threads > MAX_THREADS_PER_BLOCK:
            yield diag("TL501", Severity.ERROR,
                       f"{given} plus the {PRODUCER_THREADS}-thread producer warp group TileLang adds when it "
                       f"warp-specializes this kernel on {arch} (a T.Pipelined loop fed by TMA copies) is "
                       f"{plan.threads} threads, more than {MAX_THREADS_PER_BLOCK}: the launch fails with 'invalid "
                       f"argument'; use at most {MAX_THREADS_PER_BLOCK - PRODUCER_THREADS} threads, or set "
                       f"tl.disable_warp_specialized", _anchor(model), model, arch=arch)


# --------------------------------------------------------------------------- TL502


def _shared_written_and_read(stmts: list[Stmt]) -> Buffer | None:
    written: dict[int, Buffer] = {}
    read: set[int] = set()
    for s in walk(stmts):
        if isinstance(s, Op):
            for a in s.accesses:
                if a.buffer.root.is_shared:
                    (written.__setitem__(id(a.buffer.root), a.buffer.root) if a.write else read.add(id(a.buffer.root)))
    for key, buf in written.items():
        if key in read:
            return buf
    return None


def check_warp_multiple(model: KernelModel, config: Config) -> Iterable[Diagnostic]:
    launch = model.launch
    if launch is None:
        return
    total = launch.thread_count
    # a block smaller than a warp (1, 16 threads) is a deliberate small kernel: only a partial warp after
    # whole ones is reported
    if total is not None and WARP < total <= MAX_THREADS_PER_BLOCK and total % WARP:
        yield diag("TL502", Severity.WARNING,
                   f"threads={total} is not a multiple of {WARP}: the last warp runs {total % WARP} of {WARP} lanes. "
                   f"TileLang lays fragments, reductions and gemms out over whole warps (a fragment reduction over "
                   f"48 threads stops with 'XOR-butterfly AllReduce requires logical_width ... to be a positive "
                   f"power of two'); use a multiple of {WARP}, e.g. {total + WARP - total % WARP}",
                   _anchor(model), model)
    for stmt in walk(model.body):
        if not isinstance(stmt, Cond):
            continue
        for count, branch, which in ((stmt.then_threads, stmt.then, "if"), (stmt.else_threads, stmt.orelse, "else")):
            if count is None or count <= 1 or count % WARP == 0 or not branch:
                continue
            buf = _shared_written_and_read(branch)
            if buf is None:
                continue
            if count < WARP:
                effect = ("TileLang 0.1.15 drops the barrier it needs between those threads without a word (a data "
                          "race: the generated code has no __syncthreads()/__syncwarp() inside the branch)")
            else:
                effect = ("TileLang 0.1.15 stops with '[ThreadSync] Cannot lower a required shared-memory sync inside "
                          "the then branch' (0.1.11 dropped the barrier silently, issue #2556)")
            yield diag("TL502", Severity.WARNING,
                       f"the {which} branch runs {count} threads, not a multiple of {WARP}, and both writes and reads "
                       f"shared {buf.name}: if a thread reads what another wrote, {effect}; make the guarded thread "
                       f"range whole warps", stmt.span, model)


# --------------------------------------------------------------------------- TL503


def check_grid(model: KernelModel, config: Config) -> Iterable[Diagnostic]:
    launch = model.launch
    if launch is None:
        return
    grid = launch.grid
    if len(grid) > 3:
        yield diag("TL503", Severity.ERROR,
                   f"T.Kernel has {len(grid)} grid extents ({_dims_text(grid)}) but a CUDA grid has at most 3 "
                   f"(x, y, z): TileLang stops with 'Check failed: (grid_size.size() <= 3)'; fold two extents into "
                   f"one (T.Kernel(a * b, c, d)) and split the block index with // and %", _anchor(model), model)
    if len(launch.threads) > 3:
        yield diag("TL503", Severity.ERROR,
                   f"threads has {len(launch.threads)} extents ({_dims_text(launch.threads)}) but a CUDA block has at "
                   f"most 3: TileLang stops with 'Check failed: (block_size.size() <= 3)'", _anchor(model), model)
    if len(grid) > 3:
        return
    for axis, (name, value) in enumerate(zip("xyz", grid)):
        n = as_int(value)
        if n is None:
            continue
        limit = MAX_GRID_X if axis == 0 else MAX_GRID_YZ
        if n <= 0:
            yield diag("TL503", Severity.ERROR,
                       f"grid extent {name} is {n}: an empty grid cannot be launched (CUDA rejects gridDim {n} with "
                       f"'invalid argument'); check the problem size and the tile size", _anchor(model), model)
        elif n > limit:
            fix = ("put the largest extent first: gridDim.x may reach 2^31-1" if axis else "split it over y")
            yield diag("TL503", Severity.ERROR,
                       f"grid extent {name} is {n}, more than the {limit} CUDA allows for gridDim.{name}: the launch "
                       f"fails with 'invalid argument' (CUDA_ERROR_INVALID_VALUE); {fix}", _anchor(model), model)


# --------------------------------------------------------------------------- TL504

# (minimum arch number, exclusive upper bound or None, what it is, TileLang's or nvcc's words)
_HOPPER = (90, None)
_HOPPER_ONLY = (90, 100)
_BLACKWELL_DC = (100, 111)

_OP_FEATURES: dict[str, tuple[tuple[int, int | None], str, str]] = {
    "tma_copy": (_HOPPER, "T.tma_copy (TMA)", "T.tma_copy() requires TMA-capable target"),
    "wgmma_gemm": (_HOPPER_ONLY, "T.wgmma_gemm (wgmma)",
                   "T.wgmma_gemm() requires Hopper WGMMA lowering, but constraints were not satisfied"),
    "wgmma_mma": (_HOPPER_ONLY, "T.wgmma_mma (wgmma)",
                  "T.wgmma_gemm() requires Hopper WGMMA lowering, but constraints were not satisfied"),
    "wgmma_gemm_sp": (_HOPPER_ONLY, "T.wgmma_gemm_sp (sparse wgmma)",
                      "T.wgmma_gemm() requires Hopper WGMMA lowering, but constraints were not satisfied"),
    "tcgen05_gemm": (_BLACKWELL_DC, "T.tcgen05_gemm (tcgen05, sm_100/sm_103/sm_110)",
                     "T.tcgen05_gemm() requires Blackwell TCGEN5MMA lowering, but constraints were not satisfied"),
    "tcgen05_mma": (_BLACKWELL_DC, "T.tcgen05_mma (tcgen05, sm_100/sm_103/sm_110)",
                    "T.tcgen05_gemm() requires Blackwell TCGEN5MMA lowering, but constraints were not satisfied"),
}
# T.* calls without buffer operands whose CUDA template static_asserts before sm_90 (nvcc rejects the
# kernel). The interpreter records a call only when it writes a buffer, so these are reported once the
# model keeps every T.* call of the kernel body.
_CALL_FEATURES: dict[str, str] = {
    "fence_proxy_async": "tl::fence_proxy_async requires sm_90 or later",
    "tma_store_arrive": "tl::tma_store_arrive requires sm_90 or later",
    "tma_store_wait": "tl::tma_store_wait requires sm_90 or later",
    "warpgroup_arrive": "tl::warpgroup_arrive requires sm_90",
    "warpgroup_commit_batch": "tl::warpgroup_commit_batch requires sm_90",
    "warpgroup_wait": "tl::warpgroup_wait requires sm_90",
    "wait_wgmma": "tl::wait_wgmma requires sm_90",
    "cluster_arrive": "tl::cluster_arrive requires sm_90 or later",
    "cluster_arrive_relaxed": "tl::cluster_arrive_relaxed requires sm_90 or later",
    "cluster_wait": "tl::cluster_wait requires sm_90 or later",
    "cluster_sync": "tl::cluster_sync requires sm_90 or later",
    "set_max_nreg": "tl::warpgroup_reg_alloc requires a target with CTA register reconfiguration, such as sm_90a",
    "inc_max_nreg": "tl::warpgroup_reg_alloc requires a target with CTA register reconfiguration, such as sm_90a",
    "dec_max_nreg": "tl::warpgroup_reg_dealloc requires a target with CTA register reconfiguration, such as sm_90a",
}
_BARRIER_SCOPES = (BARRIER, "shared.cluster_barrier")
_BARRIER_MESSAGE = "T.alloc_barrier() requires sm_90 (Hopper) or later"


def _supported(arch: str, bounds: tuple[int, int | None]) -> bool:
    n = _arch_number(arch)
    lo, hi = bounds
    return n >= lo and (hi is None or n < hi)


def _wgmma_problems(g: GemmOperands, threads: int, disabled: bool) -> list[str]:
    """Why TileLang cannot lower this gemm to wgmma on Hopper (`AllowWgmma`); empty when it can."""
    problems = []
    if disabled:
        problems.append("tl.disable_wgmma is set")
    if g.m is not None and g.m < 64:
        problems.append(f"M={g.m} is below 64 (one wgmma covers 64 rows per warp group)")
    if threads % WARP or (threads // WARP) % 4:
        problems.append(f"{threads} threads are not whole warp groups (a multiple of 128)")
    if not g.b.is_shared:
        problems.append(f"B ({g.b.name}) is in '{g.b.scope}', but wgmma reads B from shared memory")
    elif None not in (g.k, g.a.dtype, g.b.dtype, g.c.dtype) and not wgmma_dtypes_ok(g):
        problems.append(_dtype_problem(g))  # an unknown K or dtype proves nothing
    return problems


def _dtype_problem(g: GemmOperands) -> str:
    a = str(g.a.dtype) if g.a.dtype else "?"
    b = str(g.b.dtype) if g.b.dtype else "?"
    c = str(g.c.dtype) if g.c.dtype else "?"
    narrow = a.startswith(("float8", "int8", "uint8")) or a == "tfloat32"
    k_major = not g.transpose_a and g.transpose_b
    if narrow and not k_major:
        return (f"{a} operands need K-major tiles (transpose_A=False, transpose_B=True: A (M, K), B (N, K)), got "
                f"transpose_A={g.transpose_a}, transpose_B={g.transpose_b}")
    step = 8 if a == "tfloat32" else 32 if narrow else 16
    if g.k is not None and g.k % step:
        return f"K={g.k} is not a multiple of {step} for {a} operands"
    return f"{a} x {b} -> {c} is not a wgmma dtype combination"


def _features(model: KernelModel) -> dict[str, tuple[Span, list[Span], str, str, tuple[int, int | None]]]:
    """Each arch-bound feature the kernel uses: key -> (first span, other spans, what, TileLang's words, archs)."""
    cached = model.cache.get("arch_features")
    if cached is not None:
        return cached
    found: dict[str, tuple[Span, list[Span], str, str, tuple[int, int | None]]] = {}

    def note(key: str, span: Span, text: str, words: str, bounds: tuple[int, int | None]) -> None:
        if key in found:
            found[key][1].append(span)
        else:
            found[key] = (span, [], text, words, bounds)

    for buf in model.buffers:
        if buf.scope in _BARRIER_SCOPES and buf.base is None:
            what = "T.alloc_cluster_barrier" if buf.scope != BARRIER else "T.alloc_barrier"
            note("barrier", buf.span, f"{what} (hardware mbarrier)", _BARRIER_MESSAGE, _HOPPER)
    for op in walk(model.body):
        if not isinstance(op, Op):
            continue
        if op.name in _OP_FEATURES:
            bounds, text, words = _OP_FEATURES[op.name]
            note(op.name, op.span, text, words, bounds)
        elif op.name in _CALL_FEATURES:
            note(op.name, op.span, f"T.{op.name}", _CALL_FEATURES[op.name], _HOPPER)
    model.cache["arch_features"] = found
    return found


def buildable(model: KernelModel, arch: str) -> bool:
    """False when the kernel uses a feature `arch` lacks (TL504): other per-arch rules skip that arch."""
    return arch in ARCHES and all(_supported(arch, f[4]) for f in _features(model).values())


def _need_text(key: str, bounds: tuple[int, int | None]) -> str:
    lo, hi = bounds
    if hi is None:
        return f"sm_{lo} or later"
    if key.startswith("tcgen05"):
        return f"sm_{lo} to sm_{hi - 1}"
    return "Hopper (sm_90)"


_FEATURE_FIX = {
    "barrier": "synchronise with T.sync_threads() (or named barriers) before sm_90",
    "tma_copy": "use T.copy, which picks TMA, cp.async or plain loads for the target",
    "wgmma_gemm": "use T.gemm, which picks wgmma, tcgen05 or mma.sync for the target",
    "wgmma_mma": "use T.gemm, which picks wgmma, tcgen05 or mma.sync for the target",
    "wgmma_gemm_sp": "use T.gemm_sp, which picks the instruction for the target",
    "tcgen05_gemm": "use T.gemm, which picks wgmma, tcgen05 or mma.sync for the target",
    "tcgen05_mma": "use T.gemm, which picks wgmma, tcgen05 or mma.sync for the target",
}


def check_arch_features(model: KernelModel, config: Config, pinned: str | None = None) -> Iterable[Diagnostic]:
    """`pinned`: the exact arch the kernel's own @tilelang.jit(target=...) builds it for (then only that one)."""
    disabled = bool(model.pass_configs.get("tl.disable_wgmma"))
    found = _features(model)
    explicit_wgmma = [(op, threads) for op, threads in _ops(model) if op.name.startswith("wgmma_")]
    for arch in ((pinned,) if pinned is not None else config.arches):
        if arch not in ARCHES:
            continue
        for key, (span, others, text, words, bounds) in found.items():
            if _supported(arch, bounds):
                continue
            more = f" (and {len(others)} more use{'s' if len(others) == 1 else ''})" if others else ""
            fix = _FEATURE_FIX.get(key, "keep this code out of pre-Hopper builds")
            built = f"its @tilelang.jit target is {arch}" if pinned is not None else f"the kernel is built for {arch}"
            yield diag("TL504", Severity.ERROR,
                       f"{text} needs {_need_text(key, bounds)} but {built}{more}: TileLang "
                       f"stops with '{words}'; {fix}, or drop {arch} from the targets (--arch, [tool.tilelint] arch)",
                       span, model, arch=arch, related=[(s, f"{text} here") for s in others])
        # an explicit wgmma on Hopper still needs AllowWgmma's conditions: it has no fallback. Only checked
        # when every size is bound: extents computed from free symbols are not reliable enough for an error
        if _supported(arch, _HOPPER_ONLY) and not model.unbound:
            for op, threads in explicit_wgmma:
                g = gemm_operands(op)
                if g is None or threads is None:
                    continue
                problems = _wgmma_problems(g, threads, disabled)
                if problems:
                    yield diag("TL504", Severity.ERROR,
                               f"T.{op.name} cannot be lowered to wgmma on {arch}: " + "; ".join(problems)
                               + ". TileLang stops with 'T.wgmma_gemm() requires Hopper WGMMA lowering, but "
                               "constraints were not satisfied' (an explicit wgmma has no mma.sync fallback; T.gemm "
                               "has)", op.span, model, arch=arch)


def check_arch_features_of_file(analysis: "ModuleAnalysis", plans: dict[int, dict[str, Any]],
                                config: Config) -> list[Diagnostic]:
    """TL504 for every kernel: for the configured archs, or for the one its own jit target names."""
    sites = {s.name: s for s in analysis.sites}

    def one(model: KernelModel, cfg: Config) -> Iterable[Diagnostic]:
        pinned = jit_target_arch(sites.get(model.site))
        return check_arch_features(model, cfg, pinned if pinned in ARCHES else None)

    one.__name__ = "check_arch_features"
    return per_model(one, cuda_only=True)(analysis, plans, config)


# --------------------------------------------------------------------------- TL505

_PLAIN_SM90_TEXT = re.compile(r"""(?:["']arch["']\s*:\s*["']|-arch=)sm_90(?![0-9a-z])""")


def _arch_in_target(value: Any) -> str | None:
    """"sm_90" from {"kind": "cuda", "arch": "sm_90"} or "cuda -arch=sm_90"; None for "cuda", "auto", unknowns."""
    if isinstance(value, dict):
        arch = value.get("arch")
        return arch if isinstance(arch, str) else None
    if isinstance(value, str):
        m = re.search(r"-arch=(sm_\w+)", value)
        return m.group(1) if m else None
    return None


def jit_target_arch(site: Site | None) -> str | None:
    """The exact arch the site's own `@tilelang.jit(target=...)` names; None for "cuda", "auto" or no target.

    Only the kernel's own decorator proves how it is built: a plain sm_90 named elsewhere in the file
    (a `tilelang.compile(..., target=...)`, a Target(...) used to inspect the IR) is not followed.
    """
    if site is None:
        return None
    for dec, node in zip(site.func.decorators, site.node.decorators):
        if not isinstance(dec, DecoratorCall) or decorator_name(dec) != "jit" or "target" not in dec.kwargs:
            continue
        arch = _arch_in_target(dec.kwargs["target"])
        if arch is None and _PLAIN_SM90_TEXT.search(cst.Module([]).code_for_node(node.decorator)):
            arch = "sm_90"  # Target({"kind": "cuda", "arch": "sm_90"}) and other forms the evaluator leaves open
        return arch
    return None


def _wgmma_uses(model: KernelModel) -> list[Op]:
    disabled = bool(model.pass_configs.get("tl.disable_wgmma"))
    out = []
    for op, threads in _ops(model):
        if op.name.startswith("wgmma_"):
            out.append(op)
        elif op.name == "gemm" and uses_wgmma(op, threads, "sm_90", disabled):
            out.append(op)
    return out


def check_plain_sm90(analysis: "ModuleAnalysis", plans: dict[int, dict[str, Any]], config: Config) -> list[Diagnostic]:
    sites = {s.name: s for s in analysis.sites}

    def one(model: KernelModel, cfg: Config) -> Iterable[Diagnostic]:
        if jit_target_arch(sites.get(model.site)) != "sm_90":
            return
        where = "its @tilelang.jit(target=...) names plain sm_90"
        wgmma = _wgmma_uses(model)
        plan = plans.get(id(model), {}).get("sm_90")
        ws = plan.warp_specialized if plan is not None else plan_versions(model, ARCHES["sm_90"]).warp_specialized
        if wgmma:
            op = wgmma[0]
            what = "T.gemm lowers to wgmma on Hopper" if op.name == "gemm" else f"T.{op.name} is wgmma"
            yield diag("TL505", Severity.ERROR,
                       f"{what}, which exists only in sm_90a, and {where}: TileLang then compiles with nvcc "
                       f"-arch=sm_90 (it adds the 'a' only for a GPU it detects itself), and the kernel "
                       + ("fails: nvcc rejects the setmaxnreg of the warp-specialized kernel ('requires a target with "
                          "CTA register reconfiguration, such as sm_90a'), and without it wgmma traps" if ws else
                          "stops at run time with a device-side assert ('Attempting to use wgmma.fence without "
                          "CUTE_ARCH_MMA_SM90A_ENABLED')")
                       + "; write \"sm_90a\" (or target=\"cuda\" to let TileLang detect the GPU)",
                       op.span, model, arch="sm_90")
        elif ws:
            yield diag("TL505", Severity.WARNING,
                       f"TileLang warp-specializes this kernel on Hopper (a T.Pipelined loop fed by TMA copies) and "
                       f"then adds setmaxnreg unless the producer also runs plain copies, and {where}: setmaxnreg "
                       f"exists only in sm_90a and nvcc -arch=sm_90 rejects it ('tl::warpgroup_reg_dealloc requires a "
                       f"target with CTA register reconfiguration, such as sm_90a'); write \"sm_90a\", or set "
                       f"tl.disable_warp_specialized", _anchor(model), model, arch="sm_90")

    one.__name__ = "check_plain_sm90"
    return per_model(one, cuda_only=True)(analysis, plans, config)


# --------------------------------------------------------------------------- TL506


def check_wgmma_fallback(model: KernelModel, config: Config) -> Iterable[Diagnostic]:
    hopper = [a for a in config.arches if a in ARCHES and _supported(a, _HOPPER_ONLY) and buildable(model, a)]
    if not hopper or model.pass_configs.get("tl.disable_wgmma") or model.unbound:
        return  # with free sizes the tile extents are guesses
    for op, threads in _ops(model):
        if op.name != "gemm" or threads is None:
            continue
        g = gemm_operands(op)
        if g is None or g.m is None or g.c.scope != FRAGMENT:
            continue
        if uses_wgmma(op, threads, hopper[0]):
            continue
        problems = _wgmma_problems(g, threads, False)
        if not problems:
            continue
        yield diag("TL506", Severity.INFORMATION,
                   f"on {', '.join(hopper)} this T.gemm runs as mma.sync, not wgmma: " + "; ".join(problems)
                   + ". It is correct, but wgmma is Hopper's fast path", op.span, model, arch=hopper[0])


# --------------------------------------------------------------------------- TL104


def _register_limit(model: KernelModel, arch: str, plan: SharedMemoryPlan | None) -> tuple[int, str] | None:
    threads = model.launch.thread_count if model.launch else None
    if threads is None or threads <= 0 or threads > MAX_THREADS_PER_BLOCK:
        return None
    if plan is not None and plan.warp_specialized and _supported(arch, _HOPPER_ONLY):
        # TileLang's setmaxnreg gives the consumer warp groups 240 registers (1 producer + 1 or 2 consumer
        # groups) or 160 (3 consumer groups); other layouts keep the __launch_bounds__ limit.
        if threads <= 256:
            return 240, f"the 240 registers TileLang's setmaxnreg gives each consumer thread of a warp-specialized {arch} kernel"
        if threads == 384:
            return 160, f"the 160 registers TileLang's setmaxnreg gives each of 3 consumer warp groups on {arch}"
        total = threads + PRODUCER_THREADS
        return cap_for(total), (f"the {cap_for(total)} a thread may use in a {total}-thread block (warp "
                                f"specialized: {threads} + {PRODUCER_THREADS} producer threads)")
    cap = cap_for(threads)
    if cap >= 255:
        return cap, "the 255 a thread may address"
    return cap, (f"the {cap} a thread may use in a {threads}-thread block (65536 registers per block; TileLang "
                 f"compiles with __launch_bounds__({threads}, 1))")


def _parts_text(est: RegisterEstimate, count: int = 4) -> str:
    items = [f"{p.name} {p.registers}" for p in est.parts[:count]]
    if len(est.parts) > count:
        items.append(f"{len(est.parts) - count} more {sum(p.registers for p in est.parts[count:])}")
    items.append(f"~{BASELINE} for indices and addresses")
    return " + ".join(items)


# The estimate is a lower bound, 0.8 to 0.95 of ptxas on fragment-heavy TileLang examples; only an estimate
# more than 15% beyond the limit is reported, so a warning means a large spill (1012 B per thread in the one
# example it fires on), while kernels just at the limit (ptxas spills 4 to 36 B there) stay quiet.
REGISTER_MARGIN = 1.15


def check_registers(model: KernelModel, config: Config, plans: dict[str, SharedMemoryPlan]) -> Iterable[Diagnostic]:
    groups: dict[tuple[int, int, str], list[str]] = {}
    estimates: dict[tuple[int, int, str], RegisterEstimate] = {}
    for arch in config.arches:
        if not buildable(model, arch):
            continue  # TL504: nothing is built for this arch
        limit = _register_limit(model, arch, plans.get(arch))
        if limit is None:
            continue
        est = estimate_registers(model, arch)
        cap, why = limit
        if est.total <= cap * REGISTER_MARGIN:
            continue
        key = (est.total, cap, why.replace(arch, "{arch}"))
        groups.setdefault(key, []).append(arch)
        estimates[key] = est
    for key, arches in groups.items():
        total, cap, why = key
        est = estimates[key]
        on = ", ".join(arches)
        related = [(p.buffer.span, f"{p.name}: {p.registers} registers per thread ({p.detail})")
                   for p in est.parts if p.buffer is not None]
        yield diag("TL104", Severity.WARNING,
                   f"an estimated {total} registers per thread ({_parts_text(est)}) are well over "
                   f"{why.format(arch=on)} on {on}: ptxas will spill to local memory, which is slow (an estimate "
                   f"from the tile sizes, not ptxas' count; reported beyond {round((REGISTER_MARGIN - 1) * 100)}% "
                   f"over the limit); use smaller tiles, more threads, or keep fewer fragments live at once",
                   _anchor(model), model, arch=arches[0] if len(arches) == 1 else None, related=related)


# --------------------------------------------------------------------------- registry

_COPY = GEMM_HEADER + '''def scale(N, block={block}):
    @T.prim_func
    def main(A: T.Tensor((N,), "float32"), B: T.Tensor((N,), "float32")):
        with T.Kernel(T.ceildiv(N, block), threads={threads}) as bx:
            for i in T.Parallel(block):
                B[bx * block + i] = A[bx * block + i] * 2

    return main


kernel = scale(1 << 20)
'''

register(
    Rule(
        "TL501",
        "block-size-invalid",
        Severity.ERROR,
        "The thread block has more than 1024 threads (producer warp group included), or a zero/negative extent.",
        why=(
            "CUDA launches at most 1024 threads per block, at most 1024 along y and 64 along z. TileLang does not "
            "check the upper limits: the kernel builds and cuLaunchKernel fails with 'invalid argument'. On Hopper "
            "a warp-specialized kernel (a T.Pipelined loop fed by TMA copies) gets a 128-thread producer warp group "
            "on top of `threads`, so threads=1024 launches 1152. Non-positive extents make TileLang raise "
            "'threads must be positive'."
        ),
        fix="Use at most 1024 threads (896 for a warp-specialized Hopper kernel) and give each thread more work.",
        invalid=(Example(_COPY.format(block=2048, threads=2048), ("TL501",)),),
        valid=(Example(_COPY.format(block=1024, threads=1024)),),
        check=with_plans(check_block_size),
    )
)

_ROWSUM = GEMM_HEADER + '''def row_sum(M, N={threads}, block_M={threads}):
    @T.prim_func
    def main(A: T.Tensor((M, N), "float32"), B: T.Tensor((M,), "float32")):
        with T.Kernel(T.ceildiv(M, block_M), threads={threads}) as bx:
            x = T.alloc_fragment((block_M, N), "float32")
            s = T.alloc_fragment((block_M,), "float32")
            T.copy(A[bx * block_M, 0], x)
            T.reduce_sum(x, s, dim=1)
            T.copy(s, B[bx * block_M])

    return main


kernel = row_sum(4608)
'''

_GUARD = GEMM_HEADER + '''@T.prim_func
def main(A: T.Tensor((4096,), "float32"), B: T.Tensor((4096,), "float32")):
    with T.Kernel(64, threads=64) as bx:
        tx = T.get_thread_binding()
        S = T.alloc_shared((64,), "float32")
        if tx < {guard}:
            for k in T.serial(4):
                S[tx] = A[bx * 64 + tx] + k
                B[bx * 64 + tx] = S[{guard} - 1 - tx]
'''

register(
    Rule(
        "TL502",
        "threads-not-warp-multiple",
        Severity.WARNING,
        "The block, or a branch on the thread index that shares memory, runs a thread count that is not a multiple of 32.",
        why=(
            "A warp is 32 threads; a block of 48 leaves a partial warp, and TileLang lays fragments, reductions and "
            "gemms out over whole warps (a reduction over 48 threads fails: 'XOR-butterfly AllReduce requires "
            "logical_width ... power of two'). A barrier inside `if tx < 48:` cannot be lowered: TileLang 0.1.15 "
            "stops with '[ThreadSync] Cannot lower a required shared-memory sync', and 0.1.11 silently dropped the "
            "__syncthreads() (issue #2556); inside `if tx < 16:` 0.1.15 still drops it without a word (the "
            "generated CUDA has no barrier between the write and the read). Blocks of fewer than 32 threads and "
            "single-thread branches are deliberate and not reported."
        ),
        fix="Use a multiple of 32 threads, and guard whole warps (`if tx < 64:`).",
        invalid=(
            Example(_ROWSUM.format(threads=48), ("TL502",)),
            Example(_GUARD.format(guard=48), ("TL502",)),
        ),
        valid=(Example(_ROWSUM.format(threads=64)), Example(_GUARD.format(guard=32))),
        check=per_model(check_warp_multiple, cuda_only=True),
    )
)

_GRID = GEMM_HEADER + '''@T.prim_func
def main(A: T.Tensor((8, 8, 8, 8, 32), "float32")):
    with T.Kernel({grid}, threads=32) as ({names}):
        for i in T.Parallel(32):
            A[{index}, i] = 1.0
'''

register(
    Rule(
        "TL503",
        "grid-invalid",
        Severity.ERROR,
        "T.Kernel has more than 3 grid (or block) extents, an empty grid, or a y/z extent over 65535.",
        why=(
            "A CUDA grid has at most 3 dimensions: TileLang stops with 'Check failed: (grid_size.size() <= 3)'. "
            "gridDim.y and gridDim.z are at most 65535 and gridDim.x at most 2^31-1; an empty grid or a larger "
            "extent builds, and the launch fails with 'invalid argument'."
        ),
        fix="Fold extents into one (T.Kernel(b * h, n)) and split the index with // and %; put the largest extent on x.",
        invalid=(
            Example(_GRID.format(grid="8, 8, 8, 8", names="a, b, c, d", index="a, b, c, d"), ("TL503",)),
            Example(GEMM_HEADER + '''@T.prim_func
def main(A: T.Tensor((70000, 128), "float32")):
    with T.Kernel(1, 70000, threads=128) as (bx, by):
        for i in T.Parallel(128):
            A[by, i] = 1.0
''', ("TL503",), tilelang="silent"),
        ),
        valid=(Example(_GRID.format(grid="8 * 8, 8, 8", names="ab, c, d", index="ab // 8, ab % 8, c, d")),),
        check=per_model(check_grid, cuda_only=True),
    )
)

_BARRIER = GEMM_HEADER + '''@T.prim_func
def main(A: T.Tensor((1024,), "float32")):
    with T.Kernel(1, threads=128) as bx:
        bar = T.alloc_barrier(128)
        T.mbarrier_arrive(bar[0])
        T.mbarrier_wait_parity(bar[0], 0)
        for i in T.Parallel(128):
            A[i] = 1.0
'''

_WGMMA = GEMM_HEADER + '''def matmul(M, N, K, block_M={bm}, block_N=128, block_K=32):
    @T.prim_func
    def main(A: T.Tensor((M, K), "float16"), B: T.Tensor((K, N), "float16"), C: T.Tensor((M, N), "float32")):
        with T.Kernel(T.ceildiv(N, block_N), T.ceildiv(M, block_M), threads=128) as (bx, by):
            A_s = T.alloc_shared((block_M, block_K), "float16")
            B_s = T.alloc_shared((block_K, block_N), "float16")
            C_l = T.alloc_fragment((block_M, block_N), "float32")
            T.clear(C_l)
            for k in T.Pipelined(T.ceildiv(K, block_K), num_stages=2):
                T.copy(A[by * block_M, k * block_K], A_s)
                T.copy(B[k * block_K, bx * block_N], B_s)
                T.{gemm}(A_s, B_s, C_l)
                {wait}
            T.copy(C_l, C[by * block_M, bx * block_N])

    return main


kernel = matmul(1024, 1024, 1024)
'''

register(
    Rule(
        "TL504",
        "arch-feature-unavailable",
        Severity.ERROR,
        "A Hopper/Blackwell-only feature (mbarrier, TMA, wgmma, tcgen05) is used for an architecture that lacks it.",
        why=(
            "T.alloc_barrier, T.tma_copy and the explicit T.wgmma_gemm / T.tcgen05_gemm name one instruction set: "
            "TileLang refuses them for other targets ('T.alloc_barrier() requires sm_90 (Hopper) or later', "
            "'T.tma_copy() requires TMA-capable target', 'T.wgmma_gemm() requires Hopper WGMMA lowering'). wgmma "
            "is Hopper only (not sm_100 or sm_120), tcgen05 is sm_100 to sm_110. An explicit wgmma also needs "
            "M >= 64, whole warp groups and a wgmma dtype combination even on sm_90: it has no mma.sync fallback. "
            "Reported per target architecture (--arch), or only for the one the kernel's own "
            "@tilelang.jit(target={'kind': 'cuda', 'arch': ...}) names, since that is the only one it is built for."
        ),
        fix="Use T.gemm and T.copy, which pick the instruction per target, or drop the architecture from --arch.",
        invalid=(
            Example(_BARRIER, ("TL504",), ("--arch", "sm_80")),
            Example(_WGMMA.format(bm=128, gemm="wgmma_gemm", wait="T.wait_wgmma(0)"), ("TL504",), ("--arch", "sm_89")),
            Example(_WGMMA.format(bm=32, gemm="wgmma_gemm", wait="T.wait_wgmma(0)"), ("TL504",), ("--arch", "sm_90")),
        ),
        valid=(
            Example(_BARRIER, (), ("--arch", "sm_90")),
            Example(_WGMMA.format(bm=128, gemm="wgmma_gemm", wait="T.wait_wgmma(0)"), (), ("--arch", "sm_90")),
        ),
        check=check_arch_features_of_file,
    )
)

_SM90_TARGET = _WGMMA.replace("def matmul(", "@tilelang.jit(target={target})\ndef matmul(")

register(
    Rule(
        "TL505",
        "target-needs-sm90a",
        Severity.ERROR,
        "The kernel's @tilelang.jit target is plain sm_90, but it uses wgmma or warp specialization (sm_90a only).",
        why=(
            "TileLang passes an explicit {'kind': 'cuda', 'arch': 'sm_90'} to nvcc as -arch=sm_90; it adds the 'a' "
            "only when it detects the GPU itself (target='cuda' or 'auto'). wgmma and setmaxnreg exist only in "
            "sm_90a: nvcc rejects setmaxnreg, and wgmma compiles to a trap that stops the kernel with a device-side "
            "assert (checked on an H200). T.gemm picks wgmma on Hopper (M >= 64, whole warp groups, shared B), and "
            "a T.Pipelined loop fed by TMA copies is warp-specialized with setmaxnreg. Only the kernel's own "
            "@tilelang.jit(target=...) is read (a target passed to tilelang.compile elsewhere is not followed); "
            "a warning when only warp specialization is involved (TileLang skips setmaxnreg when the producer "
            "also runs plain copies)."
        ),
        fix="Write 'sm_90a' in the target, or target='cuda' to let TileLang detect the GPU.",
        invalid=(
            Example(_SM90_TARGET.format(target='{"kind": "cuda", "arch": "sm_90"}', bm=128, gemm="gemm", wait=""),
                    ("TL505",), ("--arch", "sm_90")),
        ),
        valid=(
            Example(_SM90_TARGET.format(target='{"kind": "cuda", "arch": "sm_90a"}', bm=128, gemm="gemm", wait=""),
                    (), ("--arch", "sm_90")),
        ),
        check=check_plain_sm90,
    )
)

register(
    Rule(
        "TL506",
        "gemm-not-wgmma",
        Severity.INFORMATION,
        "On Hopper this T.gemm falls back to mma.sync: a wgmma precondition is not met.",
        why=(
            "TileLang 0.1.15 lowers T.gemm to wgmma on sm_90 only when M >= 64, the threads are whole warp groups "
            "(a multiple of 128), B is in shared memory, and the dtypes are a wgmma combination (fp16/bf16, or "
            "fp8/int8/tf32 with K-major tiles: transpose_A=False, transpose_B=True); otherwise it silently uses "
            "mma.sync, which is correct but slower. Only for sm_90 in the target architectures."
        ),
        fix="Use block_M >= 64, a multiple of 128 threads, B in shared memory and K-major fp8/int8 tiles.",
        invalid=(Example(_WGMMA.format(bm=32, gemm="gemm", wait=""), ("TL506",), ("--arch", "sm_90")),),
        valid=(Example(_WGMMA.format(bm=128, gemm="gemm", wait=""), (), ("--arch", "sm_90")),),
        check=per_model(check_wgmma_fallback, cuda_only=True),
    )
)

_REGS = GEMM_HEADER + '''def row_softmax(M, N=2048, block_M={bm}):
    @T.prim_func
    def main(A: T.Tensor((M, N), "float32"), B: T.Tensor((M, N), "float32")):
        with T.Kernel(T.ceildiv(M, block_M), threads=128) as bx:
            x = T.alloc_fragment((block_M, N), "float32")
            m = T.alloc_fragment((block_M,), "float32")
            T.copy(A[bx * block_M, 0], x)
            T.reduce_max(x, m, dim=1)
            for i, j in T.Parallel(block_M, N):
                x[i, j] = T.exp(x[i, j] - m[i])
            T.copy(x, B[bx * block_M, 0])

    return main


kernel = row_softmax(4096)
'''

register(
    Rule(
        "TL104",
        "register-spill-estimate",
        Severity.WARNING,
        "The estimated registers per thread exceed what a thread may use: ptxas will spill to local memory.",
        why=(
            "An estimate in 32-bit registers per thread: " + str(BASELINE) + " for indices and addresses, plus for "
            "every fragment held at the peak ceil(elements / threads) x bits / 32, every T.alloc_local array "
            "elements x bits / 32, every T.alloc_var one, and for an mma.sync gemm the A/B k-step tiles one warp "
            "loads. A fragment is held when it is a gemm operand, when a loop carries it, or when a reduction, "
            "gemm, shared-memory copy or serial loop stands between two of its uses (one written and consumed "
            "right away is streamed and not counted). `threads` is the count that uses the fragment "
            "(warp-specialized roles and `if tx < 128:` branches narrow it). TileLang compiles with "
            "__launch_bounds__(threads, 1), so ptxas caps each thread at min(255, 65536 / threads) and spills the "
            "rest instead of failing the launch; warp-specialized Hopper consumers get 240 (setmaxnreg). Measured "
            "against ptxas -v on 27 TileLang example kernels (benchmarks/registers_vs_ptxas.py) it is a lower "
            "bound: 0.8 to 0.95 of ptxas on gemm and attention kernels, far below it where registers go to "
            "unrolled address arithmetic. Only an estimate more than 15% over the limit is reported, so the "
            "warning means a large spill (1012 B per thread on the one example it fires on); kernels right at the "
            "limit, which spill a few bytes, stay quiet. It is not ptxas' count: compile to see the real one."
        ),
        fix="Use smaller tiles or more threads (fewer elements per thread), or keep fewer fragments live at once.",
        invalid=(Example(_REGS.format(bm=32), ("TL104",)),),
        valid=(Example(_REGS.format(bm=4)),),
        check=with_plans(check_registers),
    )
)
