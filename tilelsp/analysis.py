"""Analysis off the request loop: one worker process, debounced, newest version only.

The server never analyses on its own event loop. `Scheduler` keeps, per
document, at most one analysis waiting: an edit restarts the document's
debounce timer, and the job handed to the worker is built from the document
as it is *then*, so a newer version always supersedes a queued one. One
analysis runs at a time, in `WorkerProcess` (`python -m tilelsp.worker`),
started on first use and restarted when it dies or hangs. The server decides
which results to keep (see `server.py`): a result for a superseded version is
dropped.
"""

from __future__ import annotations

import asyncio
import logging
import os
import pickle
import sys
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .settings import DocumentSettings
from .worker import HEADER

log = logging.getLogger("tilelsp.analysis")

_PACKAGE_ROOT = str(Path(__file__).resolve().parents[1])


@dataclass(frozen=True)
class Job:
    uri: str
    generation: int  # the server's edit/config counter for the document when the job was built
    version: int | None
    text: str
    path: str
    settings: DocumentSettings


@dataclass(frozen=True)
class Outcome:
    job: Job
    index: Any | None  # DocumentIndex, None when the analysis failed
    seconds: float = 0.0
    error: str | None = None


class WorkerFailed(Exception):
    """The worker died (or never started); the job may be tried again on a fresh one."""


class WorkerHung(WorkerFailed):
    """The worker took longer than the timeout and was killed; the job is not tried again."""


class WorkerProcess:
    """The child process that runs `build_index`; one request at a time."""

    def __init__(self, timeout_s: float = 60.0, start_timeout_s: float = 60.0, module: str = "tilelsp.worker",
                 label: str = "analysis") -> None:
        self.timeout_s = timeout_s
        self.start_timeout_s = start_timeout_s
        self.module = module  # `python -m <module>`: tilelsp.worker (the analyzer) or tilelsp.compile_worker
        self.label = label
        self.pid: int | None = None
        self.starts = 0
        self._proc: asyncio.subprocess.Process | None = None
        self._next_id = 0

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.returncode is None

    async def _start(self) -> asyncio.subprocess.Process:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (_PACKAGE_ROOT, env.get("PYTHONPATH")) if p)
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", self.module,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=None, env=env,
        )
        self._proc = proc
        self.starts += 1
        try:
            ready = await asyncio.wait_for(self._read(proc), self.start_timeout_s)
        except (asyncio.TimeoutError, WorkerFailed) as err:
            await self._kill()
            raise WorkerFailed(f"the {self.label} worker did not start: {err or 'timed out'}") from None
        self.pid = ready[1] if isinstance(ready, tuple) and ready[0] == "ready" else proc.pid
        log.info("%s worker started (pid %s)", self.label, self.pid)
        return proc

    async def _read(self, proc: asyncio.subprocess.Process) -> Any:
        assert proc.stdout is not None
        try:
            head = await proc.stdout.readexactly(HEADER.size)
            (size,) = HEADER.unpack(head)
            body = await proc.stdout.readexactly(size)
        except (asyncio.IncompleteReadError, ConnectionError) as err:
            code = await _exit_code(proc)
            raise WorkerFailed(f"the {self.label} worker exited (code {code})") from err
        return pickle.loads(body)

    async def request(self, *payload: Any) -> Any:
        """Send one request and wait for its answer; WorkerFailed when the worker dies or hangs."""
        if self._proc is not None and not self.alive:
            log.warning("the %s worker (pid %s) exited with code %s; starting a new one",
                        self.label, self.pid, self._proc.returncode)
        proc = self._proc if self.alive else await self._start()
        assert proc.stdin is not None
        self._next_id += 1
        job_id = self._next_id
        body = pickle.dumps((payload[0], job_id, *payload[1:]), protocol=pickle.HIGHEST_PROTOCOL)
        try:
            proc.stdin.write(HEADER.pack(len(body)) + body)
            await proc.stdin.drain()
        except (ConnectionError, RuntimeError) as err:
            code = await _exit_code(proc)
            raise WorkerFailed(f"the {self.label} worker exited (code {code})") from err
        try:
            while True:
                answer = await asyncio.wait_for(self._read(proc), self.timeout_s)
                if isinstance(answer, tuple) and len(answer) > 1 and answer[1] == job_id:
                    return answer
        except asyncio.TimeoutError:
            await self._kill()
            raise WorkerHung(f"the {self.label} took longer than {self.timeout_s:g} s; the worker was killed") from None

    async def analyze(self, job: Job) -> tuple[Any, float]:
        answer = await self.request("analyze", job.text, job.path, job.settings.config, job.settings.requests)
        if answer[0] == "result":
            return answer[2], answer[3]
        raise AnalysisError(str(answer[2]))

    async def _kill(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.returncode is not None:
            return
        proc.kill()
        try:
            await asyncio.wait_for(proc.wait(), 10)
        except asyncio.TimeoutError:
            log.warning("%s worker %s did not exit after SIGKILL", self.label, proc.pid)

    async def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.returncode is not None:
            return
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            await asyncio.wait_for(proc.wait(), 2)
        except asyncio.TimeoutError:
            proc.kill()

    def kill_now(self) -> None:
        """Synchronous last resort when the event loop is gone."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.returncode is None:
            try:
                proc.kill()
            except ProcessLookupError:
                pass


class AnalysisError(Exception):
    """build_index raised inside the worker (the worker itself is fine)."""


async def _exit_code(proc: asyncio.subprocess.Process) -> int | None:
    try:
        return await asyncio.wait_for(proc.wait(), 5)
    except asyncio.TimeoutError:
        return None


class Scheduler:
    """Debounced, one-job-per-document queue in front of the worker."""

    def __init__(self, worker: WorkerProcess, make_job: Callable[[str], Job | None],
                 deliver: Callable[[Outcome], None]) -> None:
        self.worker = worker
        self._make_job = make_job
        self._deliver = deliver
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._ready: OrderedDict[str, None] = OrderedDict()
        self._wakeup: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self.running: str | None = None

    def _ensure_running(self) -> None:
        if self._wakeup is None:
            self._wakeup = asyncio.Event()
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._consume())

    def schedule(self, uri: str, delay_s: float) -> None:
        """Analyse `uri` after `delay_s` without another call for it (a newer call restarts the wait)."""
        self._ensure_running()
        self._ready.pop(uri, None)
        timer = self._timers.pop(uri, None)
        if timer is not None:
            timer.cancel()
        if delay_s <= 0:
            self._enqueue(uri)
        else:
            self._timers[uri] = asyncio.get_running_loop().call_later(delay_s, self._enqueue, uri)

    def flush(self, uri: str) -> None:
        """Someone waits for `uri`: skip its debounce and put it first in line."""
        if uri not in self._timers and uri not in self._ready:
            return
        self._ensure_running()
        timer = self._timers.pop(uri, None)
        if timer is not None:
            timer.cancel()
        self._ready[uri] = None
        self._ready.move_to_end(uri, last=False)
        assert self._wakeup is not None
        self._wakeup.set()

    def cancel(self, uri: str) -> None:
        timer = self._timers.pop(uri, None)
        if timer is not None:
            timer.cancel()
        self._ready.pop(uri, None)

    def pending(self, uri: str) -> bool:
        return uri in self._timers or uri in self._ready or self.running == uri

    def _enqueue(self, uri: str) -> None:
        self._timers.pop(uri, None)
        self._ready[uri] = None
        assert self._wakeup is not None
        self._wakeup.set()

    async def _consume(self) -> None:
        assert self._wakeup is not None
        while True:
            if not self._ready:
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            uri, _ = self._ready.popitem(last=False)
            job = self._make_job(uri)
            if job is None:
                continue
            self.running = uri
            try:
                outcome = await self._run(job)
            finally:
                self.running = None
            try:
                self._deliver(outcome)
            except Exception:  # noqa: BLE001 - a bad result must not stop the queue
                log.exception("delivering the %s of %s failed", self.worker.label, uri)

    async def _run(self, job: Job) -> Outcome:
        started = time.perf_counter()
        for attempt in (1, 2):
            try:
                index, seconds = await self.worker.analyze(job)
                return Outcome(job, index, seconds)
            except AnalysisError as err:
                log.error("analysis of %s failed in the worker:\n%s", job.uri, err)
                return Outcome(job, None, time.perf_counter() - started, str(err))
            except WorkerFailed as err:
                if attempt == 1 and not isinstance(err, WorkerHung):
                    log.warning("%s while analysing %s; restarting it and trying again", err, job.uri)
                    continue
                log.error("%s while analysing %s; keeping the previous results", err, job.uri)
                return Outcome(job, None, time.perf_counter() - started, str(err))
            except asyncio.CancelledError:
                raise
            except Exception as err:  # noqa: BLE001 - e.g. an index that does not unpickle here
                log.exception("analysis of %s failed", job.uri)
                return Outcome(job, None, time.perf_counter() - started, f"{type(err).__name__}: {err}")
        raise AssertionError("unreachable")

    async def close(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        self._ready.clear()
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):  # noqa: BLE001
                pass
        await self.worker.close()
