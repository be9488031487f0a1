"""Compile-on-save: the compiler runs in its own worker process, one file at a time, newest save only.

`CompileService` owns a `WorkerProcess` running `tilelsp.compile_worker` (started on first use; it imports the
compiler and TVM, the server never does). A save queues the file's compile job; a newer save of the same file
replaces the queued job, and if that file is compiling right now the worker is killed and the new job runs on
a fresh one (a compile that would only be thrown away is not waited for). A compile that exceeds its
timeout, or a worker that dies (a crash in the compiler, or the user's module calling `os._exit`), ends the
job with an error the server shows; the next job starts a new worker. Commands that need the compiler
(`tilec build --emit ...`, `tilec run --check`) go through the same worker, one request at a time.

The server turns results into diagnostics (source `tilec`), code lenses and a notice where the compiler's
shared memory differs from the analyzer's estimate (`kernel_jobs`, `lens_title`, `smem_notices`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .analysis import Scheduler, WorkerFailed, WorkerHung, WorkerProcess

log = logging.getLogger("tilelsp.compile")


@dataclass(frozen=True)
class KernelJob:
    name: str  # the kernel factory or jit function (the analyzer's site)
    call: str  # its instantiation, `name(k=v, ...)`
    line: int  # 0-based line of the kernel function
    style: str = "eager"  # the analyzer's kernel style (factory | prim_func | eager), for the TileLang back end
    kernel: str = ""  # the prim_func's name inside a factory
    instantiation: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True)
class CompileJob:
    uri: str
    path: str
    version: int | None
    kernels: tuple[KernelJob, ...]
    target: str  # auto | cuda | cpu
    archs: tuple[str, ...]
    timeout_s: float
    reason: str = "save"  # save | command
    backend: str = "tilec"  # tilec | tilelang | both
    tilelang_python: str | None = None  # the interpreter with TileLang installed (backend tilelang/both)


@dataclass
class CompileOutcome:
    job: CompileJob
    result: dict[str, Any] | None  # compile_worker.compile_file's answer
    seconds: float
    error: str | None = None  # the worker died or hung, or the compiler raised
    failure: str | None = None  # "crashed" or "hung" when the worker itself failed
    cancelled: bool = False  # a newer save replaced it
    finished: float = field(default_factory=time.monotonic)


def diagnostic_at(line: int, code: str, message: str, severity: Any = None) -> Any:
    """An analyzer `Diagnostic` at the start of 0-based `line` (error unless `severity` says otherwise): how the
    compile worker and the server report compile results that have no range of their own."""
    from analyzer.diagnostics import Diagnostic, Position, Range, Severity

    return Diagnostic(range=Range(Position(line, 0), Position(line, 0)), code=code, message=message,
                      severity=Severity.ERROR if severity is None else severity)


def instantiation_call(site: str, instantiation: dict[str, Any]) -> str | None:
    """`site(k=v, ...)` from the analyzer's instantiation (None when a value has no Python literal)."""
    parts = []
    for key, value in instantiation.items():
        if isinstance(value, bool) or isinstance(value, (int, float, str)) or value is None:
            parts.append(f"{key}={value!r}")
        else:
            return None
    return f"{site}({', '.join(parts)})"


def kernel_jobs(index: Any) -> list[KernelJob]:
    """Every fully instantiated kernel of an analyzed document, each call once."""
    out: list[KernelJob] = []
    seen = set()
    for k in getattr(index, "kernels", ()):
        if k.facts.get("unbound"):
            continue
        call = instantiation_call(k.site, k.instantiation)
        if call is None or call in seen:
            continue
        seen.add(call)
        out.append(KernelJob(k.site, call, k.function_range.start.line, k.style, k.name,
                             tuple(k.instantiation.items())))
    return out


def lens_title(builds: list[dict[str, Any]]) -> str:
    """One line for the builds of one call: per arch shared memory, registers, spills and time."""
    parts = []
    for b in builds:
        if b["target"] == "tilelang":
            parts.append(f"TileLang {b['arch']}: {b['dyn_smem']} B smem, {b['seconds']:.1f} s" if b["ok"] else
                         f"TileLang {b['arch']}: refused ({b['diagnostics'][0].message[:60]})")
        elif not b["ok"]:
            first = b["diagnostics"][0] if b["diagnostics"] else None
            parts.append(f"{b['arch']}: failed ({first.code} {first.message[:60]})" if first else f"{b['arch']}: failed")
        elif b["target"] == "cuda":
            spills = b.get("spill_store", 0) + b.get("spill_load", 0)
            static = f" + {b['static_smem']} B static" if b.get("static_smem") else ""
            parts.append(f"{b['arch']}: {b['dyn_smem']} B smem{static}, {b['registers']} regs, "
                         f"{spills} B spills, {b['seconds']:.1f} s")
        else:
            parts.append(f"cpu: built in {b['seconds']:.2f} s")
    return "tilec " + " | ".join(parts)


def smem_notices(index: Any, result: dict[str, Any]) -> list[tuple[int, str]]:
    """(0-based line, message) where a CUDA build's dynamic shared memory is not the analyzer's estimate."""
    estimates: dict[tuple[str, str], tuple[int, dict[str, Any]]] = {}
    for k in getattr(index, "kernels", ()):
        call = instantiation_call(k.site, k.instantiation)
        if call is not None:
            line = k.range.start.line if k.range is not None else k.function_range.start.line
            estimates[(k.site, call)] = (line, k.facts.get("per_arch", {}))
    out = []
    for b in result.get("builds", []):
        if not b["ok"] or b["target"] != "cuda":
            continue
        line, per_arch = estimates.get((b["name"], b["call"]), (b["line"], {}))
        expected = per_arch.get(b["arch"], {}).get("shared_memory_bytes")
        if expected is not None and expected != b["dyn_smem"]:
            out.append((line, f"{b['call']} on {b['arch']}: the compiler allocates {b['dyn_smem']} B of dynamic shared "
                              f"memory, the analyzer estimates {expected} B"))
    return out


class CompileService(Scheduler):
    """The analysis queue (`Scheduler`: per file the newest job only, one at a time) in front of one compile
    worker; a running compile of a file saved again is killed."""

    def __init__(self, deliver: Callable[[CompileOutcome], None],
                 progress: Callable[[CompileJob, bool], None] | None = None) -> None:
        worker = WorkerProcess(timeout_s=120.0, start_timeout_s=120.0, module="tilelsp.compile_worker",
                               label="compile")
        super().__init__(worker, self._take, deliver)  # type: ignore[arg-type]
        self._jobs: dict[str, CompileJob] = {}
        self._progress = progress
        self._lock = asyncio.Lock()
        self.current: CompileJob | None = None  # the job in the worker now
        self._cancelled: CompileJob | None = None

    def _take(self, uri: str) -> CompileJob | None:
        return self._jobs.pop(uri, None)

    def submit(self, job: CompileJob) -> None:
        self._jobs[job.uri] = job
        if self.current is not None and self.current.uri == job.uri:
            log.info("a newer save of %s: cancelling its running compile", job.uri)
            self._cancelled = self.current
            asyncio.get_running_loop().create_task(self.worker._kill())
        self.schedule(job.uri, 0)

    async def _run(self, job: CompileJob) -> CompileOutcome:
        spec = {"path": job.path, "target": job.target, "archs": list(job.archs), "backend": job.backend,
                "tilelang_python": job.tilelang_python, "timeout_s": job.timeout_s,
                "kernels": [{"name": k.name, "call": k.call, "line": k.line, "style": k.style, "kernel": k.kernel,
                             "instantiation": dict(k.instantiation)} for k in job.kernels]}
        started = time.perf_counter()
        async with self._lock:
            self.current = job
            if self._progress is not None:
                self._progress(job, True)
            try:
                self.worker.timeout_s = job.timeout_s
                answer = await self.worker.request("compile", spec)
                if answer[0] == "result":
                    return CompileOutcome(job, answer[2], time.perf_counter() - started)
                return CompileOutcome(job, None, time.perf_counter() - started, f"the compiler failed:\n{answer[2]}")
            except WorkerFailed as err:
                if self._cancelled is job:
                    return CompileOutcome(job, None, time.perf_counter() - started, None, cancelled=True)
                kind = "hung" if isinstance(err, WorkerHung) else "crashed"
                log.error("compile worker %s while compiling %s: %s", kind, job.uri, err)
                return CompileOutcome(job, None, time.perf_counter() - started, str(err), failure=kind)
            finally:
                self.current = None
                if self._cancelled is job:
                    self._cancelled = None
                if self._progress is not None:
                    self._progress(job, False)

    async def compile_now(self, job: CompileJob) -> CompileOutcome:
        """Compile `job` in the worker now (after any compile in flight) and answer its outcome; nothing is
        delivered (the MCP server's `compile_kernel`)."""
        return await self._run(job)

    async def tilec(self, argv: list[str], timeout_s: float) -> dict[str, Any]:
        """`tilec ARGV` in the worker (after any compile in flight): {"code", "stdout", "stderr"}."""
        async with self._lock:
            self.worker.timeout_s = timeout_s
            try:
                answer = await self.worker.request("tilec", argv)
            except WorkerFailed as err:
                return {"code": -1, "stdout": "", "stderr": str(err)}
        if answer[0] != "result":
            return {"code": -1, "stdout": "", "stderr": str(answer[2])}
        return answer[2]
