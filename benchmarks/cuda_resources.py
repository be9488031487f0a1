"""The CUDA back end's kernel resources for every example case and arch, next to the analyzer's
shared-memory prediction (what TileLang 0.1.15 would request for the same kernel).

    PYTHONPATH=. python benchmarks/cuda_resources.py [--jobs 2] [--arch sm_80,sm_90] [--out FILE] [--no-nvcc]

Cases: tests/example_cases.py, CPU_CASES then GPU_SIZES, each call once. Arches: sm_80, sm_86, sm_89,
sm_90, sm_90a. For each (case, arch): `build_artifact` (our CUDA pipeline, TVM's CUDA code generator,
nvcc with the ptxas report) into a temporary folder gives the launch (grid, block), our dynamic shared
memory, and ptxas's registers, static shared memory, spill bytes and the nvcc time; `analyze_text`
with that arch gives the analyzer's `shared_memory_bytes`. A kernel the analyzer reports an error for
on that arch (TL101 too much shared memory, ...) is one TileLang refuses there: its row says so.

Every difference is broken down (`breakdown`) from the buffers on both sides: our arena is the
`shared.dyn` buffers left in `compiler.pipeline.lower(to_module(kdef), "cuda")` (fragments the register
pass could not place, shared tiles with the versions our cp.async pipeline gave them), TileLang's is the
analyzer's placements (tiles with TileLang's versions, reduction workspaces). With
`sum(x)` the bytes of a side's buffers and `packing = total - sum` (memory reuse between buffers whose
lifetimes do not overlap: negative; alignment gaps: positive):

    ours - analyzer = fragments we keep in shared memory
                    + version differences of common buffers (+ other size differences)
                    - buffers only TileLang has (workspaces)
                    + our packing (TVM's MergeSharedMemoryAllocations) - TileLang's packing

Each fragment we keep in shared memory gets the reason the register pass (passes/cuda_mma.py) had,
and each tile with fewer versions the reason our pipeline pass (passes/cuda_copies.py) left it, both
found by inspecting the IR before those passes. tests/compiler/test_compiler_cuda_smem.py pins the
same breakdown for the CPU cases on sm_90 (no nvcc needed there).

Prints the markdown table and the summary, and writes both to benchmarks/results/cuda_resources.md.
nvcc runs in `--jobs` worker processes (one case, all arches, per task).
"""

from __future__ import annotations

import argparse
import ast
import datetime
import shlex
import subprocess
import sys
import tempfile
import time
from collections import OrderedDict
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
for p in (REPO, REPO / "tests"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

ARCHES = ("sm_80", "sm_86", "sm_89", "sm_90", "sm_90a")
OUT = REPO / "benchmarks" / "results" / "cuda_resources.md"


# ------------------------------------------------------------------ cases


def all_cases() -> list[Any]:
    from example_cases import CPU_CASES, GPU_SIZES

    seen: set[str] = set()
    out = []
    for c in CPU_CASES + GPU_SIZES:
        if c.name not in seen:
            seen.add(c.name)
            out.append(c)
    return out


def analyzer_call(loaded: Any, call: str) -> str:
    """The call the analyzer gets: for an `@autotune` kernel the compiler takes the parameters the call
    leaves out from the first config (compiler/frontend/jit.py); the analyzer, given a call on the command
    line, does not, so they are written into the call."""
    node = ast.parse(call, mode="eval").body
    fn = loaded.kernels.get(node.func.id)
    if not hasattr(fn, "missing_from_config"):
        return call
    args = tuple(ast.literal_eval(a) for a in node.args)
    kwargs = {k.arg: ast.literal_eval(k.value) for k in node.keywords}
    extra = fn.missing_from_config(args, kwargs)
    if not extra:
        return call
    return call[:-1] + "".join(f", {k}={v!r}" for k, v in extra.items()) + ")"


# ------------------------------------------------------------------ our arena


@dataclass
class ArenaBuffer:
    name: str
    shape: list[int]
    dtype: str
    bytes: int
    versions: int
    fragment: bool  # a T.alloc_fragment the register pass left in shared memory
    why: str = ""  # a fragment: why not in registers; a pipelined tile with one version: why (see run_case)


def _numel(shape: list[int]) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def _dtype_bytes(dtype: str) -> int:
    import tvm

    return max(1, tvm.runtime.DataType(dtype).bits // 8)


def _allocs(mod: Any) -> list[Any]:
    from tvm import tirx

    from compiler.ir import walk

    return [n.buffer for _, f in mod.functions.items() for n in walk(f.body) if isinstance(n, tirx.AllocBuffer)]


@dataclass
class Lowered:
    """One kernel through the CUDA pipeline, with the modules the explanations read."""

    arena: list[ArenaBuffer]
    threads: int | None
    before_copies: Any  # the module `vectorize_copies` gets
    before_registers: Any  # the module `register_fragments` gets
    lowered: Any


def lower_cuda(kdef: Any) -> Lowered:
    from compiler.pipeline import lower
    from compiler.runtime import to_module

    src = to_module(kdef)
    declared = {b.name: (b.scope(), [int(d) for d in b.shape]) for b in _allocs(src)}
    seen: dict[str, Any] = {}

    def trace(name: str, mod: Any) -> None:
        seen[name] = mod

    mod = lower(src, "cuda", trace=trace)
    arena = []
    for b in _allocs(mod):
        if b.scope() != "shared.dyn":
            continue
        shape = [int(d) for d in b.shape]
        scope, orig = declared.get(b.name, ("shared.dyn", shape))
        versions = shape[0] if len(shape) == len(orig) + 1 else 1
        arena.append(ArenaBuffer(b.name, shape, str(b.dtype), _numel(shape) * _dtype_bytes(str(b.dtype)), versions,
                                 scope == "local.fragment"))
    from compiler.passes.cuda_mma import _thread_count

    return Lowered(arena, _thread_count(_func(seen["thread_loops"]).body), seen["thread_loops"],
                   seen["vectorize_copies"], mod)


# ------------------------------------------------------------------ why a fragment stays in shared memory


def _func(mod: Any) -> Any:
    return next(f for _, f in mod.functions.items())


def _expr_text(e: Any) -> str:
    return str(e).replace("T.int32(", "(")


def _op_text(op: Any) -> str:
    def n(r: Any) -> str:
        return r.buffer.name if hasattr(r, "buffer") else str(r)

    if op.name == "copy":
        return f"T.copy({n(op.args[0])} -> {n(op.args[1])})"
    if op.name == "reduce":
        return f"T.reduce_{op.args[0]}({n(op.args[1])} -> {n(op.args[2])}, dim={op.args[3]})"
    if op.name == "gemm":
        return f"T.gemm({n(op.args[0])}, {n(op.args[1])} -> {n(op.args[2])})"
    if op.name == "cumsum":
        return f"T.cumsum({n(op.args[0])} -> {n(op.args[1])})"
    return f"T.{op.name}({n(op.args[0])})"


def _gemm_refusal(op: Any, threads: int) -> str:
    """Why passes/cuda_mma._mma_gemm gives no mma layout to this gemm's accumulator."""
    from compiler.passes import cuda_mma

    a, b, c = op.args[:3]
    m, n = c.extents[-2], c.extents[-1]
    for label, r in (("A", a), ("B", b)):
        if not r.buffer.scope().startswith("shared"):
            return (f"accumulator of {_op_text(op)}, whose {label} operand {r.buffer.name} is a "
                    f"{r.buffer.scope()} (the mma.sync path loads A and B from shared tiles with ldmatrix)")
    if str(c.buffer.dtype) != "float32" or str(a.buffer.dtype) not in ("float16", "bfloat16"):
        return (f"accumulator of a T.gemm on {a.buffer.dtype} tiles into {c.buffer.dtype} (the mma.sync path "
                "takes float16/bfloat16 tiles into float32)")
    if cuda_mma.mma_partition(m, n, threads // 32) is None:
        return f"accumulator of a {m}x{n} T.gemm: no mma.sync warp partition of it over {threads // 32} warps"
    return f"accumulator of {_op_text(op)}, which the mma.sync path does not take"


def _remaining_uses(body: Any, buf: Any, layouts: dict[Any, Any], threads: int) -> list[str]:
    """The statements still using `buf` after a register rewrite: the uses it could not serve."""
    from tvm import tirx
    from tvm.ir.expr import TensorLoad

    from compiler import tile_ir
    from compiler.ir import walk

    out: list[str] = []
    for s in walk(body):
        if isinstance(s, tirx.Evaluate):
            op = tile_ir.decode(s)
            if op is None or not any(isinstance(a, tile_ir.RegionRef) and a.buffer.same_as(buf) for a in op.args):
                continue
            text = _op_text(op)
            planned = {b.name for b in layouts}
            if op.name == "copy" and all(isinstance(a, tile_ir.RegionRef) and a.buffer.name in planned
                                         for a in op.args):
                text += " (a copy between two register fragments)"
            elif op.name == "reduce":
                src, dst, dim = op.args[1].buffer, op.args[2].buffer, op.args[3]
                lay = layouts.get(src)
                if dim != 1:
                    text += f" (along dim {dim}: registers serve row reductions, dim=1)"
                elif lay is None:
                    text += f" ({src.name} is in shared memory)"
                elif lay is not None and hasattr(lay, "rows") and lay.rows() is None and hasattr(lay, "shape"):
                    text += (f" (its rows of {lay.shape[-1]} elements are not a multiple of the {threads} threads, "
                             "which a row reduction in registers needs)")
                elif not hasattr(lay, "rows"):
                    text += " (no row reductions in registers in this compiler)"
                elif dst not in layouts:
                    text += f" ({dst.name} has no register layout)"
            elif op.name == "gemm" and not op.args[2].buffer.same_as(buf):
                text += " (a gemm operand must be a shared tile)"
            elif op.name in ("copy", "fill") and any(
                    isinstance(a, tile_ir.RegionRef) and a.buffer.same_as(buf) and not _whole_region(a)
                    for a in op.args):
                text += " (a part of it)"
            out.append(text)
        elif isinstance(s, tirx.For) and s.kind == tirx.ForKind.PARALLEL and s.annotations.get("tl.loop") == "Parallel":
            if not any(isinstance(n, TensorLoad) and n.source.same_as(buf)
                       or isinstance(n, tirx.BufferStore) and n.buffer.same_as(buf) for n in walk(s.body)):
                continue
            loops, inner = [], s
            while isinstance(inner, tirx.For) and inner.kind == tirx.ForKind.PARALLEL:
                loops.append(inner)
                inner = inner.body
            store = next((n for n in walk(inner) if isinstance(n, tirx.BufferStore)), None)
            lines = [ln.strip() for ln in str(store).splitlines() if ln.strip()] if store is not None else []
            what = lines[-1] if lines else "..."
            out.append(f"T.Parallel({', '.join(str(lp.extent) for lp in loops)}): {what}")
    return list(dict.fromkeys(out))


def _whole_region(r: Any) -> bool:
    from compiler.passes import cuda_mma

    return cuda_mma._whole(r)


def fragment_reasons(low: Lowered) -> dict[str, str]:
    """Why passes/cuda_mma.py left each fragment in shared memory, replaying its rounds: the plan (mma
    layouts for gemm accumulators, the cyclic layout for the rest, row layouts for row reductions), then
    rewrites that drop every fragment with a use left unserved, until none is left."""
    from tvm import tirx

    from compiler import tile_ir
    from compiler.ir import walk
    from compiler.passes import cuda_mma
    from compiler.passes.cuda_threads import InThreadLoop

    func = _func(low.before_registers)
    threads = low.threads
    frags = [b for b in _allocs(low.before_registers) if b.scope() == "local.fragment"]
    if threads is None:
        return {b.name: "no thread count" for b in frags}
    layouts = cuda_mma.plan(func, threads)
    ops = [op for s in walk(func.body) if isinstance(s, tirx.Evaluate) for op in [tile_ir.decode(s)] if op is not None]
    out: dict[str, str] = {}
    for b in frags:
        if b in layouts:
            continue
        gemms = [op for op in ops if op.name == "gemm" and op.args[2].buffer.same_as(b)]
        numel = _numel([int(d) for d in b.shape])
        operand = [op for op in ops if op.name == "gemm" and any(
            isinstance(r, tile_ir.RegionRef) and r.buffer.same_as(b) for r in op.args[:2])]
        if gemms:
            out[b.name] = _gemm_refusal(gemms[0], threads)
        elif operand:
            out[b.name] = (f"an operand of {_op_text(operand[0])}: not fed from registers (a register A operand "
                           "needs the accumulator layout of the same warp rows with one warp across its columns), so "
                           "ldmatrix reads it from shared memory")
        elif numel % threads:
            out[b.name] = f"{numel} elements, not a multiple of the {threads} threads (no cyclic layout)"
        else:
            out[b.name] = "no register layout planned for it"
    fallen: list[str] = []
    while layouts:
        body = InThreadLoop(lambda tx, n: cuda_mma._Registers(tx, n, layouts)).stmt(func.body)
        left = cuda_mma._leftovers(body, list(layouts))
        if not left:
            break
        for b in left:
            uses = _remaining_uses(body, b, layouts, threads)
            why = "uses left unserved: " + "; ".join(uses) if uses else "a use left unserved"
            if fallen:
                why += f" (once {', '.join(fallen)} had fallen back to shared memory)"
            out[b.name] = why
        fallen += sorted(b.name for b in left)
        for b in left:
            layouts.pop(b)
    return out


# ------------------------------------------------------------------ why a tile has fewer versions than TileLang's


def chunk_reason(op: Any) -> str | None:
    """Why passes/cuda_copies.chunked refuses a copy (None when it accepts it)."""
    import tvm
    from tvm import tirx

    from compiler.passes import cuda_copies as CC

    if op.name != "copy":
        return f"a T.{op.name}, not a copy"
    if CC.chunked(op) is not None:
        return None
    src, dst = op.args
    if src.buffer.scope() != "global" or not dst.buffer.scope().startswith("shared"):
        return f"a {src.buffer.scope()} -> {dst.buffer.scope()} copy, not global -> shared"
    if str(src.buffer.dtype) != str(dst.buffer.dtype):
        return f"it converts {src.buffer.dtype} to {dst.buffer.dtype}"
    dt = str(src.buffer.dtype)
    size = _dtype_bytes(dt)
    per = CC.CHUNK // size
    shape = [CC._int(d) for d in dst.buffer.shape]
    if None in shape or list(dst.extents) != shape or any(CC._int(m) != 0 for m in dst.mins):
        return "it fills only part of the shared buffer"
    s_axes = src.nonunit_axes()
    rank = len(src.buffer.shape)
    if not s_axes or s_axes != list(range(rank - len(s_axes), rank)) or len(s_axes) > 2:
        return "the tile does not lie in the tensor's last axes"
    inner = src.extents[rank - 1]
    last = CC._int(src.buffer.shape[-1])
    if inner % per:
        return f"its rows of {inner} {dt} ({inner * size} B) are not whole 16-byte chunks"
    if last is None or last % per:
        return (f"the tensor {src.buffer.name}'s rows of {last} {dt} ({last * size if last else '?'} B) are not a "
                "multiple of 16 bytes")
    start = src.mins[-1]
    if not tvm.sym.Analyzer().can_prove_equal(tirx.floormod(start, per), CC._c(0)):
        return f"its column start {_expr_text(start)} is not provably a multiple of {per} elements"
    return "refused"


def version_reasons(low: Lowered) -> dict[str, str]:
    """For each shared tile a `T.Pipelined(num_stages >= 2)` loop fills by a copy: why our pipeline pass
    left it with one version (empty for tiles it versioned)."""
    from tvm import tirx

    from compiler import tile_ir
    from compiler.ir import walk

    out: dict[str, str] = {}
    versioned = {b.name for b in low.arena if b.versions > 1}
    for s in walk(_func(low.before_copies).body):
        if not (isinstance(s, tirx.For) and s.annotations.get("tl.loop") == "Pipelined"):
            continue
        stages = int(s.annotations.get("num_stages", 0))
        body = list(s.body.seq) if isinstance(s.body, tirx.SeqStmt) else [s.body]
        filled = [(i, op) for i, st in enumerate(body) for op in [tile_ir.decode(st)]
                  if op is not None and op.name == "copy" and op.args[1].buffer.scope().startswith("shared")]
        lead = 0
        stop = ""
        for st in body:
            op = tile_ir.decode(st)
            why = chunk_reason(op) if op is not None else "a statement that is not a tile copy"
            if why is not None:
                if op is not None and op.name == "copy":
                    stop = f"the {op.args[1].buffer.name} copy is not 16-byte chunkable: {why}"
                else:
                    stop = ""  # the first work statement
                break
            lead += 1
        for i, op in filled:
            name = op.args[1].buffer.name
            if name in versioned:
                continue
            if stages < 2:
                out[name] = f"its loop has num_stages={stages}"
            elif i < lead:
                out[name] = "its loop's copies-then-work shape was refused (a work statement writes a copied tile, " \
                            "a copy does not move with the loop, or the tile is used outside the loop)"
            elif lead == 0:
                out[name] = f"not pipelined: {stop or 'the loop body does not start with a copy'}"
            elif op is not None and chunk_reason(op) is not None and stop.startswith(f"the {name} copy"):
                out[name] = f"not versioned: {stop} (the copies before it are pipelined)"
            elif stop:
                out[name] = (f"not versioned: its copy comes after the loop's leading copies ({stop}); only "
                             "the copies at the head of the body are pipelined")
            else:
                out[name] = ("not versioned: its copy follows work in the loop body; our pipeline versions only "
                             "the copies before the first work statement, TileLang's planner interleaved ones too")
    return out


# ------------------------------------------------------------------ the analyzer's plan


@dataclass
class TLBuffer:
    name: str
    bytes: int
    versions: int
    align: int
    offset: int
    reason: str = ""


@dataclass
class Prediction:
    arch: str
    bytes: int | None
    buffers: list[TLBuffer]
    errors: list[str]  # "TL101: ..." diagnostics for this arch (TileLang refuses the kernel)
    warp_specialized: bool = False
    unknown: str | None = None


def analyzer_predictions(example: str, call: str, arches: tuple[str, ...]) -> dict[str, Prediction]:
    from analyzer.config import Config
    from analyzer.diagnostics import Severity
    from analyzer.engine import analyze_text

    path = f"examples/{example}.py"
    ta = analyze_text((REPO / path).read_text(encoding="utf-8"), path, Config(arches=arches), (call,))
    models = ta.analysis.models if ta.analysis else []
    if len(models) != 1:
        raise RuntimeError(f"{example}: {call}: the analyzer found {len(models)} kernels")
    plans = ta.plans[id(models[0])]
    out = {}
    for arch in arches:
        plan = plans[arch]
        errors = [f"{d.code}: {d.message.split(': ')[0]}" for d in ta.report.diagnostics
                  if d.severity == Severity.ERROR and d.arch in (None, arch)]
        out[arch] = Prediction(arch, plan.dynamic_bytes,
                               [TLBuffer(p.name, p.size, p.versions, p.align, p.offset, p.reason) for p in plan.placements],
                               errors, plan.warp_specialized, plan.unknown_reason)
    return out


# ------------------------------------------------------------------ the breakdown


@dataclass
class Breakdown:
    fragments: list[tuple[str, int, str]] = field(default_factory=list)  # (name, bytes, why)
    versions: list[tuple[str, int, int, int, str]] = field(default_factory=list)  # (name, ours, TileLang's, bytes, why)
    sizes: list[tuple[str, int]] = field(default_factory=list)  # same versions, other bytes (one-element tiles)
    tilelang_only: list[tuple[str, int]] = field(default_factory=list)  # workspaces
    ours_only: list[tuple[str, int]] = field(default_factory=list)  # shared tiles TileLang drops
    our_packing: int = 0
    tl_packing: int = 0
    tl_aligned: list[tuple[str, int]] = field(default_factory=list)  # alignments above 16 (sm_90 TMA)

    def total(self) -> int:
        return (sum(b for _, b, _ in self.fragments) + sum(d for *_, d, _ in self.versions) + sum(d for _, d in self.sizes)
                - sum(b for _, b in self.tilelang_only) + sum(b for _, b in self.ours_only)
                + self.our_packing - self.tl_packing)

    def reasons(self) -> list[str]:
        out = []
        for name, b, why in self.fragments:
            out.append(f"fragment {name} ({b} B) stays in shared memory: {why}")
        for name, ours, tl, d, why in self.versions:
            out.append(f"{name} has {ours} version{'s' if ours != 1 else ''}, TileLang {tl} ({d:+d} B): {why}")
        for name, d in self.sizes:
            out.append(f"{name}: {d:+d} B (a one-element tile is declared with two elements)")
        for name, b in self.ours_only:
            what = " (the cross-warp table of a row reduction in registers; TileLang's cross-warp reductions use " \
                   "its workspace instead)" if name.startswith("row_scratch") else ""
            out.append(f"{name} ({b} B), a buffer our compiler adds{what}")
        if self.our_packing or self.tl_packing or self.tilelang_only:
            ws = f"; TileLang adds {' + '.join(str(b) for _, b in self.tilelang_only)} B of reduction workspace" \
                if self.tilelang_only else ""
            al = f"; TileLang's sm_90 TMA alignment: {', '.join(f'{n} {a}' for n, a in self.tl_aligned)}" \
                if self.tl_aligned and self.tl_packing > 0 else ""
            out.append(f"arena packing: ours {self.our_packing:+d} B over the sum of our buffers (TVM's merge), "
                       f"TileLang's {self.tl_packing:+d} B over the sum of its buffers{ws}{al}")
        return out


def breakdown(arena: list[ArenaBuffer], ours: int, pred: Prediction) -> Breakdown:
    bd = Breakdown()
    tl = {b.name: b for b in pred.buffers if b.name != "workspace"}
    for b in arena:
        if b.fragment and b.name not in tl:
            bd.fragments.append((b.name, b.bytes, b.why))
        elif b.name in tl:
            t = tl[b.name]
            if b.versions != t.versions:
                bd.versions.append((b.name, b.versions, t.versions, b.bytes - t.bytes, b.why))
            elif b.bytes != t.bytes:
                bd.sizes.append((b.name, b.bytes - t.bytes))
        else:
            bd.ours_only.append((b.name, b.bytes))
    names = {b.name for b in arena}
    bd.tilelang_only = [(b.name, b.bytes) for b in pred.buffers if b.name == "workspace" or b.name not in names]
    bd.our_packing = ours - sum(b.bytes for b in arena)
    bd.tl_packing = (pred.bytes or 0) - sum(b.bytes for b in pred.buffers)
    bd.tl_aligned = [(b.name, b.align) for b in pred.buffers if b.align > 16]
    return bd


# ------------------------------------------------------------------ one case


def _size_text(v: Any) -> str:
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return v
    (op, args), = v.items()
    return f"{op}({', '.join(_size_text(a) for a in args)})"


def run_case(example: str, call: str, arches: tuple[str, ...], nvcc: bool) -> dict[str, Any]:
    """Everything about one case, as plain data (it runs in a worker process)."""
    from compiler.cuda_codegen import build_artifact, generate_kernel
    from compiler.loader import instantiate, load

    loaded = load(REPO / "examples" / f"{example}.py")
    kdef = instantiate(loaded, call)
    low = lower_cuda(kdef)
    vreasons = version_reasons(low)
    freasons = fragment_reasons(low)
    for b in low.arena:
        if b.fragment:
            b.why = freasons.get(b.name, "?")
        else:
            b.why = vreasons.get(b.name, "")
    an_call = analyzer_call(loaded, call)
    preds = analyzer_predictions(example, an_call, arches)
    rows = []
    for arch in arches:
        row: dict[str, Any] = {"arch": arch}
        try:
            if nvcc:
                with tempfile.TemporaryDirectory(prefix="cuda-res-") as tmp:
                    art = build_artifact(kdef, arch, tmp, "kernel")
                build, res = art.build, art.resources
                row.update(registers=res.registers, static_smem=res.shared_bytes, spill_store=res.spill_store_bytes,
                           spill_load=res.spill_load_bytes, nvcc_s=round(art.cubin.seconds, 2))
            else:
                build = generate_kernel(kdef, arch)
            row.update(grid=[_size_text(g) for g in build.grid], block=list(build.block), ours=build.dynamic_smem)
        except Exception as err:  # noqa: BLE001 - one failed build is a row, not the end of the run
            row["error"] = f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"
        pred = preds[arch]
        row.update(analyzer=pred.bytes, refused=pred.errors, unknown=pred.unknown, ws=pred.warp_specialized)
        if isinstance(row.get("ours"), int) and pred.bytes is not None:
            bd = breakdown(low.arena, row["ours"], pred)
            assert bd.total() == row["ours"] - pred.bytes, (example, call, arch, bd)
            row["reasons"] = bd.reasons()
        rows.append(row)
    return {"example": example, "call": call, "analyzer_call": an_call,
            "arena": [asdict(b) for b in low.arena], "rows": rows}


def _run_case_args(args: tuple[str, str, tuple[str, ...], bool]) -> dict[str, Any]:
    return run_case(*args)


# ------------------------------------------------------------------ report


def nvcc_version() -> str:
    from compiler.cuda_toolchain import find_nvcc

    exe = find_nvcc()
    if exe is None:
        return "nvcc not found"
    out = subprocess.run([exe, "--version"], capture_output=True, text=True).stdout.strip().splitlines()
    return out[-1].strip() if out else "?"


def git_state() -> str:
    def git(*a: str) -> str:
        return subprocess.run(["git", *a], cwd=REPO, capture_output=True, text=True).stdout.strip()

    sha = git("rev-parse", "--short", "HEAD")
    if not sha:
        return "an unknown commit"
    dirty = git("status", "--porcelain", "--", "compiler", "analyzer")
    return f"commit {sha}" + (" with uncommitted changes under compiler/ or analyzer/" if dirty else "")


def agrees(row: dict[str, Any]) -> bool:
    return isinstance(row.get("ours"), int) and row.get("analyzer") == row["ours"]


def table(results: list[dict[str, Any]], nvcc: bool) -> list[str]:
    head = ["example", "call", "arch", "grid", "block", "dyn smem (ours)", "analyzer (TileLang)", "equal"]
    if nvcc:
        head += ["registers", "static smem", "spill st/ld B", "nvcc s"]
    head.append("note")
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" if i < 3 else "--:" for i in range(len(head) - 1))
             + "|---|"]
    for r in results:
        call = r["call"][r["call"].index("("):]
        for row in r["rows"]:
            notes = []
            if row.get("error"):
                notes.append(f"build failed: {row['error']}")
            if row["refused"]:
                notes.append("TileLang refuses: " + "; ".join(row["refused"]))
            if row.get("unknown"):
                notes.append(f"analyzer: {row['unknown']}")
            if r["analyzer_call"] != r["call"]:
                notes.append("analyzer given the first autotune config")
            an = row["analyzer"] if row["analyzer"] is not None else "?"
            cells = [r["example"], f"`{call}`", row["arch"], "x".join(map(str, row.get("grid", []))) or "-",
                     "x".join(map(str, row.get("block", []))) or "-", str(row.get("ours", "-")), str(an),
                     "yes" if agrees(row) else ("refused" if row["refused"] else "no")]
            if nvcc:
                cells += [str(row.get("registers", "-")), str(row.get("static_smem", "-")),
                          f"{row.get('spill_store', '-')}/{row.get('spill_load', '-')}", str(row.get("nvcc_s", "-"))]
            cells.append("; ".join(notes))
            lines.append("| " + " | ".join(cells) + " |")
    return lines


def summary(results: list[dict[str, Any]], arches: tuple[str, ...]) -> list[str]:
    pairs = [(r, row) for r in results for row in r["rows"]]
    refused = [p for p in pairs if p[1]["refused"]]
    compared = [p for p in pairs if not p[1]["refused"]]
    agree = [p for p in compared if agrees(p[1])]
    failed = [p for p in pairs if p[1].get("error")]
    out = [f"- (case, arch) pairs: {len(pairs)} ({len(results)} cases x {len(arches)} arches); TileLang refuses "
           f"{len(refused)} (the analyzer reports an error there); of the other {len(compared)}, shared memory equal "
           f"to the analyzer's: **{len(agree)}**, different: **{len(compared) - len(agree)}**; our build failed: "
           f"{len(failed)}"]
    per_arch = ", ".join(f"{a} {sum(1 for _, row in agree if row['arch'] == a)}/"
                         f"{sum(1 for _, row in compared if row['arch'] == a)}" for a in arches)
    out.append(f"- equal per arch (of the pairs TileLang accepts): {per_arch}")
    coincidences: OrderedDict[str, list[str]] = OrderedDict()
    for r, row in agree:
        if row.get("reasons"):
            coincidences.setdefault(r["example"], []).append(
                f"`{r['call'][r['call'].index('('):]}` {row['arch']} ({row['ours']} vs {row['analyzer']})")
    if coincidences:
        out.append("- equal totals from different buffers (the differences cancel, see below): "
                   + "; ".join(f"{ex} {_compress(labels)}" for ex, labels in coincidences.items()))
    out.append("")
    out.append("Why they differ, per example (both sides align some tiles on sm_90/sm_90a, where TileLang "
               "aligns them for TMA and wgmma; the buffers listed are those of our sm_80 arena). The breakdown: ours - analyzer = fragments we keep in "
               "shared memory + version differences - TileLang-only buffers + our packing - TileLang's packing "
               "(packing = total - sum of the side's buffers: reuse < 0, alignment gaps > 0).")
    out.append("")
    for title, chosen in (("", [p for p in pairs if p not in refused and (not agrees(p[1]) or p[1].get("reasons"))]),
                          ("Pairs TileLang refuses (the analyzer's number is what it would request if it "
                           "compiled)", refused)):
        if title:
            out += ["", title + ":", ""]
        by_example: OrderedDict[str, OrderedDict[tuple[str, ...], list[str]]] = OrderedDict()
        for r, row in chosen:
            key = tuple(row.get("reasons") or [f"no breakdown ({row.get('error') or row.get('unknown') or '?'})"])
            if row["refused"]:
                key = (f"TileLang refuses: {'; '.join(row['refused'])}",) + key
            label = f"`{r['call'][r['call'].index('('):]}` {row['arch']} ({row.get('ours')} vs {row['analyzer']})"
            by_example.setdefault(r["example"], OrderedDict()).setdefault(key, []).append(label)
        for example, groups in by_example.items():
            out.append(f"- **{example}**")
            for reasons, labels in groups.items():
                equal = all(lab.split("(")[-1].split(" vs ")[0] == lab.split(" vs ")[-1].rstrip(")")
                            for lab in labels)
                out.append(f"  - {_compress(labels)}{' (equal totals)' if equal else ''}:")
                for why in reasons:
                    out.append(f"    - {why}")
    return out


def _compress(labels: list[str]) -> str:
    """'`(..)` sm_80 (a vs b)' labels of one call on several arches -> one label with the arches joined."""
    groups: OrderedDict[str, list[str]] = OrderedDict()
    for label in labels:
        call, rest = label.split("` ", 1)
        arch, nums = rest.split(" ", 1)
        groups.setdefault(f"{call}` {nums}", []).append(arch)
    parts = []
    for key, archs in groups.items():
        call, nums = key.split("` ", 1)
        parts.append(f"{call}` {'/'.join(archs)} {nums}")
    return "; ".join(parts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--arch", default=",".join(ARCHES))
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--no-nvcc", action="store_true", help="generate only (no ptxas columns)")
    ap.add_argument("--only", default="", help="comma-separated example names")
    ap.add_argument("--commit", default="", help="the compiler's commit (a run outside a git checkout)")
    args = ap.parse_args()
    arches = tuple(a.strip() for a in args.arch.split(",") if a.strip())
    nvcc = not args.no_nvcc
    cases = [c for c in all_cases() if not args.only or c.example in args.only.split(",")]
    t0 = time.perf_counter()
    tasks = [(c.example, c.call, arches, nvcc) for c in cases]
    if args.jobs > 1:
        import multiprocessing

        with ProcessPoolExecutor(args.jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            results = list(pool.map(_run_case_args, tasks))
    else:
        results = [_run_case_args(t) for t in tasks]
    seconds = time.perf_counter() - t0
    cmd = "PYTHONPATH=. python " + shlex.join(["benchmarks/cuda_resources.py", *sys.argv[1:]])
    header = [
        "# CUDA back end: resources per example case and arch, and shared memory against the analyzer",
        "",
        f"- Command: `{cmd}` ({seconds:.0f} s, {args.jobs} worker processes)",
        f"- Date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC; nvcc: {nvcc_version()}; "
        f"compiler and analyzer at {f'commit {args.commit} (a clean checkout)' if args.commit else git_state()}",
        "- Cases: tests/example_cases.py CPU_CASES + GPU_SIZES (each call once); `dyn smem (ours)` is the CUDA back "
        "end's dynamic shared memory (`CudaBuild.dynamic_smem`) for that arch; `analyzer (TileLang)` is "
        "`shared_memory_bytes` of the analyzer for that arch (TileLang 0.1.15's `dyn_shared_memory_buf`, "
        "docs/analyzer.md); registers, static smem and spills from ptxas -v (`build_artifact`, nvcc -O3). "
        "`refused`: the analyzer reports an error (TL101, ...) for the kernel on that arch.",
        "- Breakdown of each difference (script docstring): ours - analyzer = fragments we keep in shared memory "
        "+ version differences - TileLang-only buffers (workspaces) + our packing - TileLang's packing.",
        "",
    ]
    lines = header + ["## Summary", ""] + summary(results, arches) + ["", "## Table", ""] + table(results, nvcc)
    text = "\n".join(lines) + "\n"
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(f"written to {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
