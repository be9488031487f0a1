"""TL2xx: shapes, extents and indices of tile operations."""

from __future__ import annotations

from typing import Any, Iterable

from ..config import Config
from ..diagnostics import Diagnostic, Severity
from ..model import (
    FRAGMENT,
    GLOBAL,
    BufferLoad,
    BufferRegion,
    KernelModel,
    Loop,
    Op,
    operand_shape,
    walk_in_context,
    walk_with_threads,
)
from ..interpret import operand_buffer
from ..tile_ops import gemm_operands, policy_name, uses_wgmma, warp_partition
from ..values import Sym, as_int
from . import Example, Rule, register
from .common import GEMM_HEADER, diag, dims, operand_name, per_model, shape_text


def _ops(model: KernelModel) -> Iterable[tuple[Op, tuple[Loop, ...]]]:
    for stmt, loops in walk_in_context(model.body):
        if isinstance(stmt, Op):
            yield stmt, loops


# --------------------------------------------------------------------------- TL201


def check_gemm_shapes(model: KernelModel, config: Config) -> Iterable[Diagnostic]:
    for op, _ in _ops(model):
        g = gemm_operands(op)
        if g is None:
            continue
        a, b, c = dims(g.a_shape), dims(g.b_shape), dims(g.c_shape)
        if a is None or b is None or c is None or min(len(a), len(b), len(c)) < 2:
            continue
        an, bn, cn = (operand_name(op.args.get(k)) for k in ("A", "B", "C"))
        problems = []
        for name, shape in ((an, a), (bn, b), (cn, c)):
            if any(d != 1 for d in shape[:-2]):
                problems.append(f"{name} is {shape_text(shape)}: dimensions before the last two must be 1")
        am, ak = (a[-1], a[-2]) if g.transpose_a else (a[-2], a[-1])
        bk, bnn = (b[-1], b[-2]) if g.transpose_b else (b[-2], b[-1])
        cm, cnn = c[-2], c[-1]
        if op.args.get("use_2cta") is True:
            bnn *= 2  # each CTA of the pair holds half of B's columns
        ta = ", transposed" if g.transpose_a else ""
        tb = ", transposed" if g.transpose_b else ""
        if ak != bk:
            problems.append(
                f"K mismatch: {an} is {shape_text(a)}{ta} so K={ak}, but {bn} is {shape_text(b)}{tb} so K={bk}"
            )
        if am != cm:
            problems.append(f"M mismatch: {an} gives M={am} but {cn} is {shape_text(c)} so M={cm}")
        if bnn != cnn:
            problems.append(f"N mismatch: {bn} gives N={bnn} but {cn} is {shape_text(c)} so N={cnn}")
        if problems:
            fix = "; check transpose_A/transpose_B and the tile sizes"
            yield diag("TL201", Severity.ERROR, "T.gemm " + "; ".join(problems) + fix, op.span, model)


# --------------------------------------------------------------------------- TL202 / TL204


def _squeeze(shape: list[int]) -> list[int]:
    return [d for d in shape if d != 1]


def _level(buffer: Any) -> int:
    """TileLang walks the side nearest the threads: fragment/local 2, shared 1, global 0."""
    scope = buffer.scope
    if scope.startswith("local"):
        return 2
    return 1 if scope.startswith("shared") else 0


def check_copy_shapes(model: KernelModel, config: Config) -> Iterable[Diagnostic]:
    for op, _ in _ops(model):
        if op.kind != "copy" or op.name not in ("copy", "async_copy", "tma_copy"):
            continue
        src, dst = op.args.get("src"), op.args.get("dst")
        src_shape, dst_shape = operand_shape(src), operand_shape(dst)
        if src_shape is None or dst_shape is None:
            continue  # a start corner takes its extents from the other side
        s, d = dims(src_shape), dims(dst_shape)
        if s is None or d is None:
            continue
        s1, d1 = _squeeze(s), _squeeze(d)
        if s1 == d1:
            continue
        sn, dn = operand_name(src), operand_name(dst)
        if len(s1) != len(d1):
            yield diag("TL202", Severity.ERROR,
                       f"T.copy extents disagree: {sn} covers {shape_text(s)} but {dn} covers {shape_text(d)}, "
                       f"{len(s1)} against {len(d1)} non-unit dimensions; T.copy does not broadcast or reshape: "
                       f"slice both sides to the same extents", op.span, model)
            continue
        dst_walks = _level(operand_buffer(dst)) > _level(operand_buffer(src))
        short = [i for i, (a, b) in enumerate(zip(s1, d1)) if b < a]
        if dst_walks and short:
            yield diag("TL202", Severity.ERROR,
                       f"T.copy extents disagree: {sn} covers {shape_text(s)} but {dn} covers {shape_text(d)}; "
                       f"TileLang walks the destination's extents, which are smaller ('Selected loop range is "
                       f"smaller than original src range'): slice both sides to the same extents", op.span, model)
            continue
        walker, other = (dn, sn) if dst_walks else (sn, dn)
        effect = "reads past the end of" if dst_walks else "writes past the end of"
        if not dst_walks and all(a <= b for a, b in zip(s1, d1)):
            effect = "fills only part of"
        yield diag("TL202", Severity.WARNING,
                   f"T.copy extents disagree: {sn} covers {shape_text(s)} but {dn} covers {shape_text(d)}; TileLang "
                   f"walks {walker}'s extents and {effect} {other} (only the buffer bounds are guarded): slice both "
                   f"sides to the same extents", op.span, model)


def check_copies_and_views(model: KernelModel, config: Config) -> Iterable[Diagnostic]:
    yield from check_copy_shapes(model, config)
    yield from check_views(model, config)


def check_views(model: KernelModel, config: Config) -> Iterable[Diagnostic]:
    """T.reshape / T.view must keep the byte size of what they view."""
    seen: set[int] = set()
    for op, _ in _ops(model):
        for a in op.accesses:
            view = a.buffer
            if view.base is None or id(view) in seen:
                continue
            seen.add(id(view))
            base = view.base
            nv, nb = view.elements, base.elements
            if nv is None or nb is None or view.dtype is None or base.dtype is None:
                continue
            bv, bb = nv * view.dtype.bits, nb * base.dtype.bits
            if bv != bb:
                what = "element count" if view.dtype == base.dtype else "size in bits"
                yield diag("TL202", Severity.ERROR,
                           f"T.reshape/T.view of {base.name} {shape_text(base.shape)} to {shape_text(view.shape)} changes the "
                           f"{what} ({nb} x {base.dtype} -> {nv} x {view.dtype}); a view keeps the same bytes",
                           view.span, model)


def _corner_overflow(corner: BufferLoad, extents: list[int]) -> str | None:
    shape = dims(corner.buffer.shape)
    if shape is None:
        return None
    padded = [1] * (len(shape) - len(extents)) + extents
    if len([e for e in extents if e != 1]) > len(shape):
        return (
            f"{corner.buffer.name} has {len(shape)} dimensions but the other side covers "
            f"{shape_text(extents)}"
        )
    for axis, (index, extent, dim) in enumerate(zip(corner.indices, padded, shape)):
        start = as_int(index)
        # T.copy guards every dimension it walks (extent > 1); a fixed index is not guarded
        if start is not None and extent == 1 and start >= dim:
            return (
                f"{operand_name(corner)} + {shape_text(extents)} reaches {start + extent} in dimension {axis} "
                f"but {corner.buffer.name} has {dim}"
            )
    return None


def check_bounds(model: KernelModel, config: Config) -> Iterable[Diagnostic]:
    for op, _ in _ops(model):
        if op.kind == "copy" and op.name not in ("copy", "async_copy", "tma_copy"):
            continue  # transposes and im2col guard their own edges
        if op.kind == "copy" and op.name in ("copy", "async_copy", "tma_copy"):
            src, dst = op.args.get("src"), op.args.get("dst")
            for corner, other in ((src, dst), (dst, src)):
                if isinstance(corner, BufferLoad):
                    extents = dims(operand_shape(other) or ())
                    if extents:
                        problem = _corner_overflow(corner, extents)
                        if problem:
                            yield diag("TL204", Severity.ERROR, f"T.copy out of bounds: {problem}", op.span, model)
        for access in op.accesses:
            shape = dims(access.buffer.shape)
            if shape is None or access.region is None or len(access.region) != len(shape):
                continue
            for axis, ((start, extent), dim) in enumerate(zip(access.region, shape)):
                lo, n = as_int(start), as_int(extent)
                if lo is None or n is None or lo < 0:
                    continue
                if lo + n > dim and not (op.kind == "copy" and n > 1 and lo < dim):
                    what = f"index {lo}" if n == 1 else f"slice {lo}:{lo + n}"
                    yield diag(
                        "TL204",
                        Severity.ERROR,
                        f"{what} is out of bounds for dimension {axis} of {access.buffer.name}, which has {dim} "
                        f"elements (shape {shape_text(shape)})",
                        op.span,
                        model,
                    )
                    break


# --------------------------------------------------------------------------- TL203


def check_reduce(model: KernelModel, config: Config) -> Iterable[Diagnostic]:
    for op, _ in _ops(model):
        if op.kind not in ("reduce", "cumsum") or op.name == "finalize_reducer":
            continue
        if op.kind == "reduce":
            src, out = op.args.get("buffer"), op.args.get("out")
        else:
            src, out = op.args.get("src"), op.args.get("dst")
        src_shape = dims(operand_shape(src) or ())
        if not src_shape:
            continue
        dim = as_int(op.args.get("dim", -1 if op.kind == "reduce" else 0))
        if dim is None:
            continue
        rank = len(src_shape)
        if not -rank <= dim < rank:
            yield diag(
                "TL203",
                Severity.ERROR,
                f"T.{op.name} dim={dim} is out of range for {operand_name(src)} of shape {shape_text(src_shape)} "
                f"(valid: {-rank} to {rank - 1})",
                op.span,
                model,
            )
            continue
        if out is None:
            continue
        out_shape = dims(operand_shape(out) or ())
        if out_shape is None:
            continue
        axis = dim % rank
        if op.kind == "reduce":
            expected = src_shape[:axis] + src_shape[axis + 1 :] or [1]
            keep_dim = out_shape == src_shape[:axis] + [1] + src_shape[axis + 1 :]
            if keep_dim and model.target != "cuda":
                continue  # the CPU back end accepts a keep-dim output
            if out_shape != expected and not (len(expected) == 0 and out_shape == [1]):
                yield diag(
                    "TL203",
                    Severity.ERROR,
                    f"T.{op.name} output {operand_name(out)} is {shape_text(out_shape)} but reducing "
                    f"{shape_text(src_shape)} over dim={dim} gives {shape_text(expected)}; allocate the output "
                    f"without the reduced dimension (no keep-dim)",
                    op.span,
                    model,
                )
        elif out_shape != src_shape:
            yield diag(
                "TL203",
                Severity.ERROR,
                f"T.{op.name} output {operand_name(out)} is {shape_text(out_shape)} but its input is "
                f"{shape_text(src_shape)}: a scan keeps the shape",
                op.span,
                model,
            )


# --------------------------------------------------------------------------- TL205


def _global_tiles(op: Op) -> Iterable[tuple[Any, list[tuple[Any, int]]]]:
    """Each global operand of a copy with, per dimension, (start index, tile extent)."""
    src, dst = op.args.get("src"), op.args.get("dst")
    for side, other in ((src, dst), (dst, src)):
        if isinstance(side, BufferRegion) and side.buffer.scope == GLOBAL:
            extents = [as_int(e) for e in operand_shape(side) or ()]
            yield side.buffer, [(start, e) for (start, _), e in zip(side.region, extents) if e is not None]
        elif isinstance(side, BufferLoad) and side.buffer.scope == GLOBAL:
            extents = dims(operand_shape(other) or ())
            if not extents:
                continue
            padded = [1] * (len(side.indices) - len(extents)) + extents
            yield side.buffer, list(zip(side.indices, padded))


def check_tile_divides(model: KernelModel, config: Config) -> Iterable[Diagnostic]:
    seen: set[tuple[str, int]] = set()
    for stmt, loops in walk_in_context(model.body):
        if not isinstance(stmt, Op) or stmt.kind != "copy":
            continue
        for buffer, tiles in _global_tiles(stmt):
            shape = dims(buffer.shape)
            if shape is None or len(tiles) != len(shape):
                continue
            for axis, ((index, extent), dim) in enumerate(zip(tiles, shape)):
                if extent <= 1 or extent >= dim or dim % extent == 0 or not isinstance(index, Sym):
                    continue
                key = (buffer.name, axis)
                if key in seen:
                    continue
                seen.add(key)
                yield diag(
                    "TL205",
                    Severity.WARNING,
                    f"{buffer.name} has {dim} elements in dimension {axis}, not a multiple of the tile "
                    f"extent {extent} (remainder {dim % extent}): the last block's copy is guarded by TileLang, "
                    f"but element-wise code on the tile must handle the partial tile; pick a dividing tile or "
                    f"guard the tail",
                    stmt.span,
                    model,
                )


# --------------------------------------------------------------------------- TL206 / TL207


def _threads_at(model: KernelModel) -> Iterable[tuple[Op, int | None]]:
    total = model.launch.thread_count if model.launch else None
    for stmt, _, threads in walk_with_threads(model.body, total):
        if isinstance(stmt, Op):
            yield stmt, threads


def _parallel_trips(loops: tuple[Loop, ...]) -> int | None:
    """Iterations of the innermost run of T.Parallel loops around a statement."""
    trips = 1
    found = False
    for loop in reversed(loops):
        if loop.kind != "parallel":
            break
        found = True
        for e in loop.extents:
            n = as_int(e)
            if n is None:
                return None
            trips *= n
    return trips if found else None


def check_fragment_layout(model: KernelModel, config: Config) -> Iterable[Diagnostic]:
    gemm_outputs = {
        id(a.buffer.root) for op, _ in _ops(model) if op.kind == "gemm" for a in op.accesses if a.write
    }
    # the threads that touch each fragment (TileLang lays it out over that range), and the
    # T.Parallel nests that touch it: one whose trip count the threads divide can lend it a layout
    threads_seen: dict[int, set[int | None]] = {}
    lenders: set[int] = set()
    total = model.launch.thread_count if model.launch else None
    for stmt, loops, threads in walk_with_threads(model.body, total):
        if not isinstance(stmt, Op):
            continue
        trips = _parallel_trips(loops)
        for a in stmt.accesses:
            key = id(a.buffer.root)
            threads_seen.setdefault(key, set()).add(threads)
            if trips is not None and threads and trips >= threads and trips % threads == 0:
                lenders.add(key)
    for buf in model.buffers:
        if buf.scope != FRAGMENT or buf.base is not None or id(buf) in gemm_outputs or buf.layout_annotated:
            continue
        counts = threads_seen.get(id(buf), set())
        if len(counts) != 1 or id(buf) in lenders:
            continue  # unused, touched under several thread ranges, or laid out by a larger loop
        [threads] = counts
        n = buf.elements
        if threads is None or n is None or n <= threads or n % threads == 0:
            continue
        yield diag(
            "TL206",
            Severity.ERROR,
            f"fragment {buf.name} {buf.shape_text()} has {n} elements, more than the {threads} threads that use it "
            f"but not a multiple of them ({n} % {threads} = {n % threads}): TileLang finds no layout to spread it "
            f"over the threads ('no available layout found'); use a multiple of {threads} elements",
            buf.span,
            model,
        )


def check_warp_partition(model: KernelModel, config: Config) -> Iterable[Diagnostic]:
    for op, threads in _threads_at(model):
        if threads is None or threads % 32:
            continue
        warps = threads // 32
        g = gemm_operands(op)
        if g is None or g.m is None or g.n is None or g.c.scope != FRAGMENT:
            continue
        policy = policy_name(op.args.get("policy"))
        if g.m % 16:
            yield diag("TL207", Severity.ERROR,
                       f"T.gemm M={g.m} must be a multiple of 16 (each warp owns 16-row mma tiles); "
                       f"use a block M that is a multiple of 16", op.span, model)
            continue
        if g.n % 8:
            yield diag("TL207", Severity.ERROR,
                       f"T.gemm N={g.n} must be a multiple of 8 (each warp owns 8-column mma tiles)", op.span, model)
            continue
        failing: list[str] = []
        for arch in config.arches:
            wgmma = uses_wgmma(op, threads, arch, bool(model.pass_configs.get("tl.disable_wgmma")))
            if warp_partition(policy, g.m, g.n, warps, wgmma) is None:
                failing.append(arch)
        if failing:
            yield diag(
                "TL207",
                Severity.ERROR,
                f"no valid warp partition for T.gemm: M={g.m}, N={g.n} cannot be covered by {warps} warps "
                f"({threads} threads, policy {policy}) with 16-row and 8-column warp tiles"
                + (f" on {', '.join(failing)}" if len(failing) < len(config.arches) else "")
                + "; change threads or the tile shape",
                op.span,
                model,
            )


# --------------------------------------------------------------------------- registry

_GEMM = GEMM_HEADER + '''def matmul(M, N, K, block_M=128, block_N=128, block_K=32):
    @T.prim_func
    def main(A: T.Tensor((M, K), "float16"), B: T.Tensor(({b_dims}), "float16"), C: T.Tensor((M, N), "float16")):
        with T.Kernel(T.ceildiv(N, block_N), T.ceildiv(M, block_M), threads=128) as (bx, by):
            A_shared = T.alloc_shared((block_M, block_K), "float16")
            B_shared = T.alloc_shared(({b_tile}), "float16")
            C_local = T.alloc_fragment((block_M, block_N), "float32")
            T.clear(C_local)
            for k in T.Pipelined(T.ceildiv(K, block_K), num_stages=2):
                T.copy(A[by * block_M, k * block_K], A_shared)
                T.copy(B[{b_corner}], B_shared)
                T.gemm(A_shared, B_shared, C_local{gemm_extra})
            T.copy(C_local, C[by * block_M, bx * block_N])

    return main


kernel = matmul(1024, 1024, 1024)
'''

_GEMM_NT = dict(b_dims="N, K", b_tile="block_N, block_K", b_corner="bx * block_N, k * block_K")

register(
    Rule(
        "TL201",
        "gemm-shape-mismatch",
        Severity.ERROR,
        "T.gemm operands disagree on M, N or K (transposes honoured), or C is not (M, N).",
        why=(
            "A is (M, K) or (K, M) with transpose_A, B is (K, N) or (N, K) with transpose_B, C is (M, N). "
            "TileLang stops with 'T.gemm K shape check failed' or lowers garbage when these disagree."
        ),
        fix="Make the tiles agree, or set transpose_B=True for a B tile stored (N, K).",
        invalid=(Example(_GEMM.format(gemm_extra="", **_GEMM_NT), ("TL201",)),),
        valid=(Example(_GEMM.format(gemm_extra=", transpose_B=True", **_GEMM_NT)),),
        check=per_model(check_gemm_shapes),
    )
)

_COPY = GEMM_HEADER + '''def scale(M, N, block_M=64, block_N=128):
    @T.prim_func
    def main(A: T.Tensor((M, N), "float16"), B: T.Tensor((M, N), "float16")):
        with T.Kernel(T.ceildiv(N, block_N), T.ceildiv(M, block_M), threads=128) as (bx, by):
            S = T.alloc_shared(({tile}), "float16")
            T.copy(A[by * block_M : (by + 1) * block_M, bx * block_N : (bx + 1) * block_N], S)
            T.copy(S, B[by * block_M : (by + 1) * block_M, bx * block_N : (bx + 1) * block_N])

    return main


kernel = scale(1024, 1024)
'''

register(
    Rule(
        "TL202",
        "copy-shape-mismatch",
        Severity.ERROR,
        "T.copy source and destination cover different extents.",
        why=(
            "T.copy moves a region to a region of the same extents (unit dimensions aside); it never broadcasts "
            "or reshapes. TileLang fails with 'Selected loop range is smaller than original src range' or a "
            "layout check."
        ),
        fix="Slice both sides to the same extents, or give one side as a start corner A[i, j].",
        invalid=(Example(_COPY.format(tile="block_N, block_M"), ("TL202",)),),
        valid=(Example(_COPY.format(tile="block_M, block_N")),),
        check=per_model(check_copies_and_views),
    )
)

_REDUCE = GEMM_HEADER + '''def row_max(M, N, block_M=64):
    @T.prim_func
    def main(A: T.Tensor((M, N), "float32"), B: T.Tensor((M,), "float32")):
        with T.Kernel(T.ceildiv(M, block_M), threads=128) as bx:
            tile = T.alloc_fragment((block_M, N), "float32")
            out = T.alloc_fragment(({out}), "float32")
            T.copy(A[bx * block_M, 0], tile)
            T.reduce_max(tile, out, dim={dim})
            T.copy(out, B[bx * block_M{slice}])

    return main


kernel = row_max(1024, 128)
'''

register(
    Rule(
        "TL203",
        "reduce-shape-mismatch",
        Severity.ERROR,
        "T.reduce_* / T.cumsum with a dim out of range, or an output that is not the input without that dim.",
        why=(
            "reduce_*(buf, out, dim) needs out = buf's shape with dim removed (no keep-dim); a scan keeps the "
            "shape. TileLang raises 'Invalid reduce output shape' or an internal check."
        ),
        fix="Allocate the output without the reduced dimension, and pass a dim the input has.",
        invalid=(
            Example(_REDUCE.format(out="block_M, 1", dim=1, slice=""), ("TL203",)),
            Example(_REDUCE.format(out="block_M,", dim=2, slice=""), ("TL203",)),
        ),
        valid=(Example(_REDUCE.format(out="block_M,", dim=1, slice="")),),
        check=per_model(check_reduce),
    )
)

_BOUNDS = GEMM_HEADER + '''def head(N):
    @T.prim_func
    def main(A: T.Tensor((N,), "float32"), B: T.Tensor((N,), "float32")):
        with T.Kernel(1, threads=128) as bx:
            S = T.alloc_shared((128,), "float32")
            T.copy(A[0:128], S)
            S[{index}] = 0
            T.copy(S, B[0:128])

    return main


kernel = head(4096)
'''

register(
    Rule(
        "TL204",
        "index-out-of-bounds",
        Severity.ERROR,
        "A constant index, or the fixed index of a copy corner, reaches past the end of a buffer.",
        why=(
            "Element accesses are not bounds-checked: out-of-bounds shared or fragment accesses corrupt other "
            "buffers or read garbage. T.copy guards every dimension it walks (a tile hanging over the edge reads "
            "zeros and skips the writes), so only its fixed, extent-1 indices are checked here."
        ),
        fix="Index inside the buffer's shape, or allocate a larger tile.",
        invalid=(Example(_BOUNDS.format(index=128), ("TL204",), tilelang="silent"),),
        valid=(Example(_BOUNDS.format(index=127)),),
        check=per_model(check_bounds),
    )
)

register(
    Rule(
        "TL205",
        "tile-does-not-divide",
        Severity.WARNING,
        "A tile extent does not divide the problem size it walks over.",
        why=(
            "The last block covers a partial tile. TileLang guards T.copy against the edge, but element-wise code, "
            "reductions and atomics on the tile see the padding unless the kernel handles the tail."
        ),
        fix="Pick a tile that divides the size, or guard the tail (if/T.if_then_else on the global index).",
        invalid=(Example(_COPY.format(tile="block_M, block_N").replace("scale(1024, 1024)", "scale(1000, 1024)"),
                         ("TL205",)),),
        valid=(Example(_COPY.format(tile="block_M, block_N")),),
        check=per_model(check_tile_divides),
    )
)

_FRAGMENT = GEMM_HEADER + '''def smooth(N, width={width}):
    @T.prim_func
    def main(A: T.Tensor((N,), "float32"), B: T.Tensor((N,), "float32")):
        with T.Kernel(T.ceildiv(N, width), threads=128) as bx:
            x = T.alloc_fragment((width,), "float32")
            T.copy(A[bx * width], x)
            for i in T.Parallel(width):
                x[i] = x[i] * 2
            T.copy(x, B[bx * width])

    return main


kernel = smooth(4096)
'''

register(
    Rule(
        "TL206",
        "fragment-layout-impossible",
        Severity.ERROR,
        "A fragment larger than the thread block whose size is not a multiple of the thread count.",
        why=(
            "A fragment is spread evenly over the block's threads; TileLang stops with 'no available layout "
            "found' when its element count exceeds the threads but is not a multiple of them (issue #2398)."
        ),
        fix="Use a multiple of the thread count (or at most the thread count) elements, or change threads.",
        invalid=(Example(_FRAGMENT.format(width=192), ("TL206",)),),
        valid=(Example(_FRAGMENT.format(width=256)),),
        check=per_model(check_fragment_layout, cuda_only=True),
    )
)

_PARTITION = _GEMM.replace("block_M=128,", "block_M={bm},").replace("threads=128", "threads={threads}")

register(
    Rule(
        "TL207",
        "gemm-warp-partition",
        Severity.ERROR,
        "The gemm tile cannot be split over the block's warps (16-row by 8-column warp tiles).",
        why=(
            "Each warp owns a multiple of 16 rows and 8 columns of C and the warps must cover it exactly; "
            "TileLang stops with 'M must be divisible by 16' or 'No valid warp partition for T.gemm'."
        ),
        fix="Use M a multiple of 16 per warp row and N a multiple of 8 per warp column, or change threads.",
        invalid=(
            Example(_PARTITION.format(gemm_extra=", transpose_B=True", bm=8, threads=128, **_GEMM_NT), ("TL207",)),
            Example(_PARTITION.format(gemm_extra=", transpose_B=True", bm=16, threads=1024, **_GEMM_NT).replace(
                "block_N=128", "block_N=16"), ("TL207",)),
        ),
        valid=(Example(_PARTITION.format(gemm_extra=", transpose_B=True", bm=64, threads=128, **_GEMM_NT)),),
        check=per_model(check_warp_partition, cuda_only=True),
    )
)


