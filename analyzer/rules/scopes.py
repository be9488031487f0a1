"""TL4xx: memory scopes of tile-op operands, and where statements may be placed.

Every error here was reproduced with TileLang 0.1.15 (see docs/rules.md for
its message). Things 0.1.15 accepts are not flagged as errors: an `alloc_var`
assigned inside `T.Parallel`, an allocation written before `with T.Kernel`, a
shared tile with a `T.dynamic` extent, and a fragment `B` operand with
`transpose_B=True` all lower.
"""

from __future__ import annotations

import re
from typing import Any, Iterable

from ..config import Config
from ..diagnostics import Diagnostic, Severity
from ..model import (
    FRAGMENT,
    LOCAL,
    Access,
    Buffer,
    BufferLoad,
    BufferRegion,
    KernelModel,
    Loop,
    Op,
    walk_in_context,
)
from ..values import Sym, as_int, show
from . import Example, Rule, register
from .common import GEMM_HEADER, diag, operand_name, per_model

TMEM = "shared.tmem"
TILE_OPS = ("copy", "gemm", "fill", "clear", "reduce", "cumsum")
_NAME = re.compile(r"[A-Za-z_]\w*")


def _ops(model: KernelModel) -> Iterable[tuple[Op, tuple[Loop, ...]]]:
    for stmt, loops in walk_in_context(model.body):
        if isinstance(stmt, Op):
            yield stmt, loops


def _scope_name(buf: Buffer) -> str:
    return {"local.fragment": "fragment", "shared.dyn": "shared", "local": "local", "global": "global"}.get(
        buf.scope, buf.scope
    )


def _operand_buffer(value: Any) -> Buffer | None:
    buf = getattr(value, "buffer", value)
    return buf if isinstance(buf, Buffer) else None


def _full_region(value: Any) -> bool:
    """Whether an operand covers its whole buffer."""
    if isinstance(value, Buffer):
        return True
    if not isinstance(value, BufferRegion):
        return False
    for (start, extent), dim in zip(value.region, value.buffer.shape):
        if as_int(start) != 0 or show(extent) != show(dim):
            return False
    return True


# --------------------------------------------------------------------------- TL401 / TL402


def check_gemm_scopes(model: KernelModel, config: Config) -> Iterable[Diagnostic]:
    for op, _ in _ops(model):
        if op.kind != "gemm" or op.name not in ("gemm", "gemm_v1", "gemm_v2", "wgmma_gemm"):
            continue
        operands = {k: op.args.get(k) for k in ("A", "B", "C")}
        bufs = {k: _operand_buffer(v) for k, v in operands.items()}
        if any(b is None for b in bufs.values()):
            continue
        a, b, c = bufs["A"], bufs["B"], bufs["C"]
        assert a is not None and b is not None and c is not None
        problems: list[str] = []
        if c.scope not in (FRAGMENT, TMEM):
            problems.append(
                f"the accumulator C={c.name} is in {_scope_name(c)} memory, but it must be a fragment "
                f"(T.alloc_fragment), or tensor memory for tcgen05 (TileLang: 'local_buf c must be a fragment')"
            )
        for key, buf in (("A", a), ("B", b)):
            if not (buf.is_shared or buf.scope == FRAGMENT or (key == "A" and buf.scope == TMEM)):
                problems.append(
                    f"{key}={buf.name} is in {_scope_name(buf)} memory, but gemm operands come from shared memory "
                    f"or a fragment (TileLang: 'Unsupported gemm combination, A: {a.scope}, B: {b.scope}'); "
                    f"stage it with T.copy into T.alloc_shared"
                )
        for key, buf in (("A", a), ("B", b), ("C", c)):
            if buf.scope == FRAGMENT and not _full_region(operands[key]):
                problems.append(
                    f"fragment operand {key}={operand_name(operands[key])} is a slice; a fragment takes part in "
                    f"a gemm whole (TileLang: 'Fragment input {key} must be a full region'); allocate a fragment "
                    f"of the slice's shape"
                )
        if problems:
            yield diag("TL401", Severity.ERROR, "T.gemm: " + "; ".join(problems), op.span, model)


# reduce: which (source, destination) scope pairs TileLang 0.1.15 lowers
_REDUCE_OK = {("shared", "shared"), ("shared", "fragment"), ("fragment", "shared"), ("fragment", "fragment"),
              ("local", "local")}


def check_reduce_scopes(model: KernelModel, config: Config) -> Iterable[Diagnostic]:
    for op, _ in _ops(model):
        if op.kind == "reduce" and op.name != "finalize_reducer":
            src, dst = _operand_buffer(op.args.get("buffer")), _operand_buffer(op.args.get("out"))
            if src is None or dst is None:
                continue
            pair = (_scope_name(src), _scope_name(dst))
            if pair not in _REDUCE_OK and all(p in ("shared", "fragment", "local") for p in pair):
                yield diag(
                    "TL402",
                    Severity.ERROR,
                    f"T.{op.name} from {src.name} ({pair[0]}) into {dst.name} ({pair[1]}): TileLang reduces "
                    f"shared or fragment buffers into shared or fragment buffers, or local into local "
                    f"('Invalid buffer scopes: {src.scope} and {dst.scope}'); use a fragment for both",
                    op.span,
                    model,
                )
        elif op.kind == "cumsum":
            src, dst = _operand_buffer(op.args.get("src")), _operand_buffer(op.args.get("dst"))
            if src is None or dst is None:
                continue
            if src.is_shared and dst.scope == FRAGMENT:
                yield diag(
                    "TL402",
                    Severity.ERROR,
                    f"T.{op.name} from shared {src.name} into fragment {dst.name}: a scan of a shared buffer must "
                    f"write shared memory (TileLang: 'Check failed: IsSharedBuffer(dst)'); write into a shared "
                    f"buffer, or copy {src.name} into a fragment first",
                    op.span,
                    model,
                )


# --------------------------------------------------------------------------- TL403 - TL405


def _element_copy(op: Op) -> bool:
    """`T.copy(A[i, j], B[i, j])` moves one element: TileLang accepts it inside T.Parallel."""
    return op.kind == "copy" and all(isinstance(op.args.get(k), BufferLoad) for k in ("src", "dst"))


def check_placement(model: KernelModel, config: Config) -> Iterable[Diagnostic]:
    for stmt, loops in walk_in_context(model.body):
        parallel = [lp for lp in loops if lp.kind == "parallel"]
        if not parallel:
            continue
        if isinstance(stmt, Op) and stmt.kind in TILE_OPS and not _element_copy(stmt):
            yield diag(
                "TL403",
                Severity.ERROR,
                f"T.{stmt.name} is a tile operation inside T.Parallel (line {parallel[-1].span.line + 1}): only "
                f"element-wise statements may go there (TileLang: 'Only elementwise operations are allowed inside "
                f"a parallel loop'); move it out of the loop, or write the element-wise form (atomics are fine)",
                stmt.span,
                model,
            )
        elif isinstance(stmt, Loop) and stmt.kind == "pipelined":
            yield diag(
                "TL404",
                Severity.ERROR,
                f"T.Pipelined inside T.Parallel (line {parallel[-1].span.line + 1}): TileLang rejects it "
                f"('Pipelined loop cannot be nested inside a parallel loop'); make the pipelined loop the outer one",
                stmt.span,
                model,
            )
        elif isinstance(stmt, Loop) and stmt.kind == "parallel":
            parent = loops[-1]
            if parent.kind != "parallel" or len(parent.body) != 1:
                why = ("inside a non-parallel loop" if parent.kind != "parallel"
                       else "after other statements of the outer loop's body")
                yield diag(
                    "TL405",
                    Severity.ERROR,
                    f"T.Parallel nested in T.Parallel (line {parallel[-1].span.line + 1}) {why}: parallel loops may "
                    f"nest only directly, one inside the other ('Nested parallel loops are not allowed'); merge "
                    f"them into one T.Parallel(M, N), or make the inner loop T.serial",
                    stmt.span,
                    model,
                )


# --------------------------------------------------------------------------- TL406 - TL408


def _names(index: Any) -> set[str]:
    if isinstance(index, Sym):
        return set(_NAME.findall(index.text))
    return set()


def _indexed(access: Access) -> list[Any]:
    return [start for start, _ in access.region] if access.region else []


def check_parallel_indices(model: KernelModel, config: Config) -> Iterable[Diagnostic]:
    seen: set[tuple[int, str]] = set()
    for stmt, loops in walk_in_context(model.body):
        if not isinstance(stmt, Op) or stmt.kind in TILE_OPS:
            continue
        par_vars: set[str] = set()
        inner_serial: set[str] = set()
        for i, lp in enumerate(loops):
            if lp.kind == "parallel":
                par_vars |= set(lp.vars)
            elif par_vars and lp.kind in ("serial", "unroll", "pipelined"):
                inner_serial |= set(lp.vars)
        if not par_vars:
            continue
        for access in stmt.accesses:
            buf = access.buffer.root
            indices = _indexed(access)
            used = set().union(*(_names(i) for i in indices)) if indices else set()
            key = (id(stmt), buf.name)
            if key in seen:
                continue
            if buf.scope == LOCAL and used & par_vars:
                seen.add(key)
                var = sorted(used & par_vars)[0]
                yield diag(
                    "TL406",
                    Severity.ERROR,
                    f"local buffer {buf.name} is indexed by the T.Parallel variable {var}: local buffers are private "
                    f"to a thread and take no part in the parallel layout (TileLang: 'Local buffer ... is indexed by "
                    f"T.Parallel loop variable'); use T.alloc_fragment, or index it with a T.serial loop",
                    stmt.span,
                    model,
                )
            elif buf.scope == FRAGMENT and access.write and used & inner_serial:
                seen.add(key)
                var = sorted(used & inner_serial)[0]
                yield diag(
                    "TL407",
                    Severity.WARNING,
                    f"fragment {buf.name} is written at an index that uses {var}, the variable of a serial loop "
                    f"inside T.Parallel: the element a thread writes then belongs to another thread, a race TileLang "
                    f"0.1.15 compiles silently; index fragments only by the T.Parallel variables (make {var} a "
                    f"T.Parallel axis)",
                    stmt.span,
                    model,
                )
            elif buf.scope == FRAGMENT and not access.write:
                shifted = next((i for i in indices if _is_shift(i, par_vars)), None)
                if shifted is not None:
                    seen.add(key)
                    yield diag(
                        "TL408",
                        Severity.WARNING,
                        f"fragment {buf.name} is read at the shifted index {show(shifted)} inside T.Parallel: the "
                        f"element lives in another thread's registers, so the result is wrong or TileLang fails "
                        f"with a layout error; stage the data through shared memory to read a neighbour",
                        stmt.span,
                        model,
                    )


_SHIFT = re.compile(r"^\(?\s*([A-Za-z_]\w*)\s*[+-]\s*[A-Za-z_0-9]\w*\s*\)?(\s*%\s*\w+)?$")


def _is_shift(index: Any, par_vars: set[str]) -> bool:
    """`i + 1`, `(j - 1) % n`: a parallel variable moved by an offset."""
    if not isinstance(index, Sym):
        return False
    m = _SHIFT.match(index.text.strip())
    return bool(m) and m.group(1) in par_vars


# --------------------------------------------------------------------------- TL411


def check_dynamic_alloc(model: KernelModel, config: Config) -> Iterable[Diagnostic]:
    for buf in model.buffers:
        if buf.is_param or buf.base is not None or buf.scope not in (FRAGMENT, LOCAL):
            continue
        dynamic = sorted({n for d in buf.shape if isinstance(d, Sym) for n in d.free} & set(model.dynamic_names))
        if dynamic:
            yield diag(
                "TL411",
                Severity.ERROR,
                f"{'fragment' if buf.scope == FRAGMENT else 'local buffer'} {buf.name} {buf.shape_text()} depends "
                f"on {', '.join(dynamic)}, a run-time (T.dynamic) size: registers are allocated at compile time "
                f"(TileLang: 'Can only handle constant size stack allocation'); use a constant tile and loop over it",
                buf.span,
                model,
            )


# --------------------------------------------------------------------------- TL412 - TL414


def _clears(op: Op, buf: Buffer) -> bool:
    value = op.args.get("clear_accum")
    return value is not None and value is not False


def check_accumulators(model: KernelModel, config: Config) -> Iterable[Diagnostic]:
    written: set[int] = set()
    for op, _ in _ops(model):
        if op.kind == "gemm":
            c = _operand_buffer(op.args.get("C"))
            if c is None:
                continue
            root = c.root
            if id(root) not in written and not _clears(op, root) and root.scope == FRAGMENT:
                yield diag(
                    "TL412",
                    Severity.WARNING,
                    f"T.gemm accumulates into {root.name} before anything sets it: C += A @ B adds to whatever the "
                    f"registers held; call T.clear({root.name}) before the loop, or pass clear_accum=True",
                    op.span,
                    model,
                )
            written.add(id(root))
            continue
        for a in op.accesses:
            if a.write:
                written.add(id(a.buffer.root))


def check_dead_buffers(model: KernelModel, config: Config) -> Iterable[Diagnostic]:
    touched: set[int] = set()
    consumed: set[int] = set()
    written: set[int] = set()
    for op, _ in _ops(model):
        own = {id(a.buffer.root) for a in op.accesses if a.write}
        for a in op.accesses:
            key = id(a.buffer.root)
            touched.add(key)
            if a.write:
                written.add(key)
            elif key not in own:
                consumed.add(key)
    for buf in model.buffers:
        if buf.is_param or buf.base is not None:
            continue
        key = id(buf)
        if buf.scope == FRAGMENT and key in written and key not in consumed:
            yield diag(
                "TL413",
                Severity.WARNING,
                f"fragment {buf.name} {buf.shape_text()} is written but never read: the work that fills it is "
                f"wasted (and TileLang may fail to infer its layout); copy it out, use it, or remove it",
                buf.span,
                model,
            )
        elif buf.is_shared and key not in touched:
            yield diag(
                "TL414",
                Severity.INFORMATION,
                f"shared buffer {buf.name} {buf.shape_text()} is never used: it still takes its bytes of the "
                f"shared-memory budget; remove it",
                buf.span,
                model,
            )


# --------------------------------------------------------------------------- registry


def _only(check: Any, code: str) -> Any:
    """One code of a check that finds several, so that each rule can be turned off alone."""

    def run(model: KernelModel, config: Config) -> Iterable[Diagnostic]:
        key = f"rules:{check.__name__}"
        if key not in model.cache:  # the check runs once per model for all its codes
            model.cache[key] = list(check(model, config))
        return [d for d in model.cache[key] if d.code == code]

    run.__name__ = f"{check.__name__}_{code}"
    return run


_GEMM = GEMM_HEADER + '''def matmul(M, N, K, block_M=128, block_N=128, block_K=32):
    @T.prim_func
    def main(A: T.Tensor((M, K), "float16"), B: T.Tensor((K, N), "float16"), C: T.Tensor((M, N), "float32")):
        with T.Kernel(T.ceildiv(N, block_N), T.ceildiv(M, block_M), threads=128) as (bx, by):
            A_s = T.alloc_shared((block_M, block_K), "float16")
            B_s = T.alloc_shared((block_K, block_N), "float16")
            C_acc = T.{c_alloc}((block_M, block_N), "float32")
            {init}
            for k in T.Pipelined(T.ceildiv(K, block_K), num_stages=2):
                T.copy(A[by * block_M, k * block_K], A_s)
                T.copy(B[k * block_K, bx * block_N], B_s)
                T.gemm(A_s, B_s, C_acc)
            T.copy(C_acc, C[by * block_M, bx * block_N])

    return main


kernel = matmul(1024, 1024, 1024)
'''

register(
    Rule(
        "TL401",
        "gemm-operand-scope",
        Severity.ERROR,
        "A T.gemm operand is in a memory scope TileLang cannot use for it.",
        why=(
            "The accumulator C lives in registers (a fragment; tensor memory for tcgen05); A and B come from shared "
            "memory or fragments, and a fragment operand takes part whole. TileLang 0.1.15 fails with 'local_buf c "
            "must be a fragment', 'Unsupported gemm combination, A: local, ...' or 'Fragment input A must be a full "
            "region'. (A fragment B with transpose_B=True lowers in 0.1.15 and is not flagged.)"
        ),
        fix="Allocate C with T.alloc_fragment and stage A/B with T.copy into T.alloc_shared (or whole fragments).",
        invalid=(Example(_GEMM.format(c_alloc="alloc_shared", init="T.clear(C_acc)"), ("TL401",)),),
        valid=(Example(_GEMM.format(c_alloc="alloc_fragment", init="T.clear(C_acc)")),),
        check=per_model(check_gemm_scopes, cuda_only=True),
    )
)

_REDUCE = GEMM_HEADER + '''def row_sum(M, N, block_M=64):
    @T.prim_func
    def main(A: T.Tensor((M, N), "float32"), B: T.Tensor((M,), "float32")):
        with T.Kernel(T.ceildiv(M, block_M), threads=128) as bx:
            tile = T.alloc_fragment((block_M, N), "float32")
            total = T.{out_alloc}((block_M,), "float32")
            T.copy(A[bx * block_M, 0], tile)
            T.reduce_sum(tile, total, dim=1)
            T.copy(total, B[bx * block_M])

    return main


kernel = row_sum(4096, 128)
'''

register(
    Rule(
        "TL402",
        "reduce-scope",
        Severity.ERROR,
        "A reduction or scan reads or writes a memory scope combination TileLang does not lower.",
        why=(
            "T.reduce_* works from shared or fragment buffers into shared or fragment buffers, or local into local "
            "('Invalid buffer scopes'); T.cumsum of a shared buffer must write shared memory (an internal "
            "'IsSharedBuffer(dst)' check fails otherwise)."
        ),
        fix="Use fragments (T.alloc_fragment) for both sides, or shared buffers for a shared scan.",
        invalid=(Example(_REDUCE.format(out_alloc="alloc_local"), ("TL402",)),),
        valid=(Example(_REDUCE.format(out_alloc="alloc_fragment")),),
        check=per_model(check_reduce_scopes, cuda_only=True),
    )
)

_PAR = GEMM_HEADER + '''def scale_rows(M, N, block_M=64):
    @T.prim_func
    def main(A: T.Tensor((M, N), "float32"), B: T.Tensor((M, N), "float32")):
        with T.Kernel(T.ceildiv(M, block_M), threads=128) as bx:
            tile = T.alloc_shared((block_M, N), "float32")
            T.copy(A[bx * block_M, 0], tile)
{body}
            T.copy(tile, B[bx * block_M, 0])

    return main


kernel = scale_rows(4096, 128)
'''

_ROWWISE = '''            for i in T.Parallel(block_M):
                T.fill(tile[i, 0:N], 0)'''
_ELEMENTWISE = '''            for i, j in T.Parallel(block_M, N):
                tile[i, j] = 0'''

register(
    Rule(
        "TL403",
        "tile-op-in-parallel",
        Severity.ERROR,
        "A tile operation (copy, gemm, fill, clear, reduce) is called inside T.Parallel.",
        why=(
            "T.Parallel bodies are element-wise: each iteration is one element. TileLang's semantic check rejects "
            "tile operations there ('Only elementwise operations are allowed inside a parallel loop'); atomics are "
            "allowed."
        ),
        fix="Move the tile operation out of the loop, or write its element-wise form.",
        invalid=(Example(_PAR.format(body=_ROWWISE), ("TL403",)),),
        valid=(Example(_PAR.format(body=_ELEMENTWISE)),),
        check=per_model(_only(check_placement, "TL403")),
    )
)

register(
    Rule(
        "TL404",
        "pipelined-in-parallel",
        Severity.ERROR,
        "T.Pipelined is nested inside T.Parallel.",
        why="TileLang rejects it: 'Pipelined loop cannot be nested inside a parallel loop'.",
        fix="Make the pipelined loop the outer loop and the parallel loop its body.",
        invalid=(Example(_PAR.format(body='''            for i in T.Parallel(block_M):
                for k in T.Pipelined(4, num_stages=2):
                    tile[i, k] = 0'''), ("TL404",)),),
        valid=(Example(_PAR.format(body='''            for k in T.Pipelined(4, num_stages=2):
                for i in T.Parallel(block_M):
                    tile[i, k] = 0''')),),
        check=per_model(_only(check_placement, "TL404")),
    )
)

register(
    Rule(
        "TL405",
        "nested-parallel",
        Severity.ERROR,
        "A T.Parallel loop is nested in another one with statements or other loops in between.",
        why=(
            "Parallel loops nest only directly (for i in T.Parallel: for j in T.Parallel: ...), which is the same "
            "as T.Parallel(M, N). Anything in between fails with 'Nested parallel loops are not allowed'."
        ),
        fix="Merge the loops into T.Parallel(M, N), or make the inner one T.serial.",
        invalid=(Example(_PAR.format(body='''            for i in T.Parallel(block_M):
                tile[i, 0] = 1
                for j in T.Parallel(N):
                    tile[i, j] = tile[i, j] * 2'''), ("TL405",)),),
        valid=(Example(_PAR.format(body='''            for i in T.Parallel(block_M):
                for j in T.Parallel(N):
                    tile[i, j] = tile[i, j] * 2''')),),
        check=per_model(_only(check_placement, "TL405")),
    )
)

_LOCAL = GEMM_HEADER + '''def gather(N, block=128):
    @T.prim_func
    def main(A: T.Tensor((N,), "float32"), B: T.Tensor((N,), "float32")):
        with T.Kernel(T.ceildiv(N, block), threads=128) as bx:
            vals = T.{alloc}((block,), "float32")
            for i in T.Parallel(block):
                vals[i] = A[bx * block + i] * 2
            for i in T.Parallel(block):
                B[bx * block + i] = vals[i]

    return main


kernel = gather(4096)
'''

register(
    Rule(
        "TL406",
        "local-indexed-by-parallel",
        Severity.ERROR,
        "A T.alloc_local buffer is indexed by a T.Parallel loop variable.",
        why=(
            "Local buffers are private to each thread and take no part in the parallel layout; TileLang rejects "
            "the indexing ('Local buffer ... is indexed by T.Parallel loop variable')."
        ),
        fix="Allocate it with T.alloc_fragment, or index it from a T.serial / T.unroll loop.",
        invalid=(Example(_LOCAL.format(alloc="alloc_local"), ("TL406",)),),
        valid=(Example(_LOCAL.format(alloc="alloc_fragment")),),
        check=per_model(_only(check_parallel_indices, "TL406")),
    )
)

_FRAG = GEMM_HEADER + '''def smooth(M, N=64, block_M=64):
    @T.prim_func
    def main(A: T.Tensor((M, N), "float32"), B: T.Tensor((M, N), "float32")):
        with T.Kernel(T.ceildiv(M, block_M), threads=128) as bx:
            x = T.alloc_fragment((block_M, N), "float32")
            y = T.alloc_fragment((block_M, N), "float32")
            T.copy(A[bx * block_M, 0], x)
{body}
            T.copy(y, B[bx * block_M, 0])

    return main


kernel = smooth(4096)
'''

register(
    Rule(
        "TL407",
        "fragment-indexed-by-serial",
        Severity.WARNING,
        "A fragment is written at an index that uses the variable of a serial loop nested inside T.Parallel.",
        why=(
            "Each T.Parallel iteration runs on the thread that owns its fragment elements; an inner serial loop "
            "walks elements other threads own. TileLang 0.1.15 compiles the write, and the result races "
            "(issues #2393, #2396). Reads are not flagged: TileLang replicates a small read-only fragment."
        ),
        fix="Make the serial variable a T.Parallel axis, or go through shared memory.",
        invalid=(Example(_FRAG.format(body='''            for i in T.Parallel(block_M):
                for j in T.serial(N):
                    y[i, j] = x[i, j] * 2'''), ("TL407",), tilelang="silent"),),
        valid=(Example(_FRAG.format(body='''            for i, j in T.Parallel(block_M, N):
                y[i, j] = x[i, j] * 2''')),),
        check=per_model(_only(check_parallel_indices, "TL407")),
    )
)

register(
    Rule(
        "TL408",
        "fragment-shifted-read",
        Severity.WARNING,
        "A fragment is read at a shifted index such as f[(i + 1) % n] inside T.Parallel.",
        why=(
            "The shifted element sits in another thread's registers. Depending on the shape TileLang fails with "
            "a layout error ('non-round-tripping inverse') or compiles code that reads the wrong value (#2948)."
        ),
        fix="Copy the fragment to shared memory and read the neighbour from there.",
        invalid=(Example(_FRAG.format(body='''            for i, j in T.Parallel(block_M, N):
                y[i, j] = x[i, (j + 1) % N]'''), ("TL408",)),),
        valid=(Example(_FRAG.format(body='''            for i, j in T.Parallel(block_M, N):
                y[i, j] = x[i, j] + 1''')),),
        check=per_model(_only(check_parallel_indices, "TL408")),
    )
)

_DYN = GEMM_HEADER + '''def prefix(block=128):
    n = T.dynamic("n")

    @T.prim_func
    def main(A: T.Tensor((n,), "float32"), B: T.Tensor((n,), "float32")):
        with T.Kernel(T.ceildiv(n, block), threads=128) as bx:
            vals = T.alloc_local(({size},), "float32")
            for i in T.serial({size}):
                vals[i] = A[bx * block + i]
            for i in T.serial({size}):
                B[bx * block + i] = vals[i]

    return main


kernel = prefix()
'''

register(
    Rule(
        "TL411",
        "dynamic-register-alloc",
        Severity.ERROR,
        "A fragment or local buffer has a run-time (T.dynamic) extent.",
        why=(
            "Registers are allocated when the kernel is compiled; TileLang fails with 'Can only handle constant "
            "size stack allocation'. (A shared buffer with a dynamic extent lowers; its budget is then unknown, "
            "see TL902.)"
        ),
        fix="Use a constant tile size and loop over the dynamic extent.",
        invalid=(Example(_DYN.format(size="n"), ("TL411",)),),
        valid=(Example(_DYN.format(size="4")),),
        check=per_model(check_dynamic_alloc),
    )
)

register(
    Rule(
        "TL412",
        "accumulator-not-cleared",
        Severity.WARNING,
        "T.gemm accumulates into a fragment that nothing cleared or filled before.",
        why=(
            "T.gemm computes C += A @ B. Without T.clear(C), T.fill or clear_accum=True the sum starts from "
            "whatever the registers held. TileLang only logs 'Buffer read before initialization'."
        ),
        fix="Call T.clear(C) before the K loop, or pass clear_accum=True to the first gemm.",
        invalid=(Example(_GEMM.format(c_alloc="alloc_fragment", init="pass"), ("TL412",), tilelang="silent"),),
        valid=(Example(_GEMM.format(c_alloc="alloc_fragment", init="T.clear(C_acc)")),),
        check=per_model(check_accumulators),
    )
)

_DEAD = GEMM_HEADER + '''def scale(M, N=64, block_M=64):
    @T.prim_func
    def main(A: T.Tensor((M, N), "float32"), B: T.Tensor((M, N), "float32")):
        with T.Kernel(T.ceildiv(M, block_M), threads=128) as bx:
            x = T.alloc_fragment((block_M, N), "float32")
            spare = T.alloc_shared((block_M, N), "float32")
            T.copy(A[bx * block_M, 0], x)
            for i, j in T.Parallel(block_M, N):
                x[i, j] = x[i, j] * 2
{tail}

    return main


kernel = scale(4096)
'''

register(
    Rule(
        "TL413",
        "dead-fragment",
        Severity.WARNING,
        "A fragment is written but never read.",
        why="The work that fills it is wasted registers and time, and TileLang may fail to infer its layout (#40).",
        fix="Copy it out or use it; otherwise remove it.",
        invalid=(Example(_DEAD.format(tail="            T.copy(A[bx * block_M, 0], spare)\n"
                                           "            T.copy(spare, B[bx * block_M, 0])"), ("TL413",)),),
        valid=(Example(_DEAD.format(tail="            T.copy(x, spare)\n"
                                         "            T.copy(spare, B[bx * block_M, 0])")),),
        check=per_model(_only(check_dead_buffers, "TL413")),
    )
)

register(
    Rule(
        "TL414",
        "unused-shared",
        Severity.INFORMATION,
        "A shared buffer is allocated and never used.",
        why="It still takes its bytes of the shared-memory budget (and of every pipeline version).",
        fix="Remove the allocation.",
        invalid=(Example(_DEAD.format(tail="            T.copy(x, B[bx * block_M, 0])"), ("TL414",)),),
        valid=(Example(_DEAD.format(tail="            T.copy(x, spare)\n"
                                         "            T.copy(spare, B[bx * block_M, 0])")),),
        check=per_model(_only(check_dead_buffers, "TL414")),
    )
)
