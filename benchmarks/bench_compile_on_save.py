"""Compile-on-save from a client's side of the server's stdio: start cost, save-to-code-lens latency, and typing
latency while a compile runs.

    python benchmarks/bench_compile_on_save.py [--saves N] [--edits N] [--markdown FILE]

Drives the real server (`python -m tilelsp --stdio`, debug log level: its "compile worker started" and
"compiled URI in S s" lines, sent as `window/logMessage`, mark the events) with the raw JSON-RPC client of
tests/lsp_wire.py, the settings `trusted: true`, `compileTarget`, `archs`, debounce 0:

- compile worker start: from the first `didSave` to the worker's "started" line (process spawn + framing;
  the compiler and TVM are imported by the first compile, so the first save-to-lens row includes them);
- save -> code lens: from `didSave` of examples/gemm_pipelined.py (its instantiation from the file's
  `matmul.compile(M=4096, ...)` call) to the answer of a `textDocument/codeLens` request sent when the
  server logs the compile as done, whose title then holds the build's numbers; the first save (cold
  worker) and the following ones (warm) separately, for the CPU target and, with nvcc, for CUDA (sm_90);
- typing while compiling: `didChange` -> `publishDiagnostics` of that version for the 500-line six-kernel
  file of bench_lsp.py, at rest and while the compile worker is busy with a file whose module burns one core
  for the whole measurement (a stand-in for nvcc: the worker is busy and one of the machine's cores too).

Nothing is mocked; numbers depend on the machine and its load, printed with them.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_lsp import Row, Session, report  # noqa: E402
from lsp_corpus import six_kernel_file  # noqa: E402
from lsp_wire import SERVER_COMMAND, LspWire  # noqa: E402

BUSY = """import time
_t = time.time()
while time.time() - _t < {seconds}:
    pass
"""


def logs(wire: LspWire) -> list[tuple[float, str]]:
    return [(n.get("received", 0.0), n["params"]["message"]) for n in wire.notifications
            if n.get("method") == "window/logMessage"]


def count(wire: LspWire, prefix: str) -> int:
    return sum(1 for n in wire.notifications if n.get("method") == "window/logMessage"
               and n["params"]["message"].startswith(prefix))


async def start(workdir: Path, settings: dict[str, Any]) -> LspWire:
    wire = await LspWire.start(SERVER_COMMAND + ["--log-level", "debug"], cwd=workdir, settings=settings)
    init = await wire.initialize(workdir, initialization_options={"tilelsp": settings})
    assert init.error is None, init.error
    return wire


def save(wire: LspWire, uri: str) -> float:
    return wire.notify("textDocument/didSave", {"textDocument": {"uri": uri}})


async def bench_save(workdir: Path, target: str, saves: int) -> tuple[list[Row], list[str]]:
    settings = {"debounceMs": 0, "trusted": True, "compileTarget": target, "archs": ["sm_90"]}
    wire = await start(workdir, settings)
    path = workdir / f"gemm_{target}.py"
    shutil.copy(ROOT / "examples" / "gemm_pipelined.py", path)
    uri = path.as_uri()
    notes: list[str] = []
    try:
        wire.did_open(uri, path.read_text(encoding="utf-8"))
        await wire.flush()
        await wire.wait_diagnostics(uri, 1, timeout=120)
        cold, warm, worker = [], [], []
        title = ""
        for k in range(saves):
            done_before = count(wire, f"compiled {uri} ")
            started_before = count(wire, "compile worker started")
            sent = save(wire, uri)
            await wire.flush()
            if k == 0:
                await wire.wait_for(lambda: count(wire, "compile worker started") > started_before, timeout=120)
                worker.append((time.perf_counter() - sent) * 1000)
            await wire.wait_for(lambda: count(wire, f"compiled {uri} ") > done_before, timeout=600)
            lens = await wire.request("textDocument/codeLens", {"textDocument": {"uri": uri}}, timeout=60)
            elapsed = (time.perf_counter() - sent) * 1000
            title = lens.result[0]["command"]["title"] if lens.result else "(no lens)"
            (cold if k == 0 else warm).append(elapsed)
        label = "CPU (LLVM)" if target == "cpu" else "CUDA sm_90 (nvcc + ptxas)"
        rows = [Row(f"didSave -> code lens, {label}, first save (cold worker: spawn + compiler import)", cold, "",
                    None, "examples/gemm_pipelined.py, one kernel"),
                Row(f"didSave -> code lens, {label}, later saves (warm worker)", warm, "", None, f"lens: `{title}`")]
        if worker:
            rows.insert(0, Row(f"compile worker start (didSave -> worker ready), {label}", worker, "", None,
                               "spawn + framing; the compiler imports on the first request"))
    finally:
        notes.append(f"{target} session: server exit status {await wire.close()}")
    return rows, notes


async def bench_typing(workdir: Path, edits: int) -> tuple[list[Row], list[str]]:
    seconds = 600
    settings = {"debounceMs": 0, "trusted": True, "compileTarget": "cpu", "archs": ["sm_90"],
                "compileTimeoutS": seconds}
    wire = await start(workdir, settings)
    text = six_kernel_file()
    path = workdir / "six_kernels.py"
    path.write_text(text, encoding="utf-8")
    busy = workdir / "busy.py"
    busy.write_text(BUSY.format(seconds=seconds) + (ROOT / "examples" / "gemm_pipelined.py").read_text(), "utf-8")
    notes: list[str] = []
    rows: list[Row] = []
    try:
        session = Session(wire, path.as_uri(), text)
        wire.did_open(session.uri, text)
        wire.did_open(busy.as_uri(), busy.read_text(encoding="utf-8"))
        await wire.flush()
        await wire.wait_diagnostics(session.uri, 1, timeout=120)
        await wire.wait_diagnostics(busy.as_uri(), 1, timeout=120)
        for label in ("at rest", "while the compile worker is busy"):
            if label != "at rest":
                save(wire, busy.as_uri())
                await wire.flush()
                await wire.wait_for(lambda: count(wire, "compile worker started") > 0, timeout=120)
                await asyncio.sleep(2.0)  # the worker has loaded the module and spins
            latencies = []
            for i in range(edits):
                sent = session.flip_digit(i)
                await wire.flush()
                pub = await wire.wait_diagnostics(session.uri, session.version, timeout=60)
                latencies.append((pub.received - sent) * 1000)
            rows.append(Row(f"didChange -> publishDiagnostics, {label}", latencies, "p95 <= 150 ms", 150,
                            "six_kernels.py (500 lines), debounce 0"))
        busy_now = count(wire, f"compiled {busy.as_uri()} ") == 0
        notes.append(f"the busy compile was still running after the measurement: {busy_now}")
    finally:
        notes.append(f"typing session: server exit status {await wire.close()}")
    return rows, notes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--saves", type=int, default=6, help="saves per target (the first one cold)")
    parser.add_argument("--edits", type=int, default=40)
    parser.add_argument("--markdown", type=Path)
    args = parser.parse_args()
    load_before = os.getloadavg()
    rows: list[Row] = []
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench_cos_") as tmp:
        workdir = Path(tmp)
        (workdir / "pyproject.toml").write_text("")
        targets = ["cpu"] + (["cuda"] if shutil.which("nvcc") else [])
        for target in targets:
            more, more_notes = asyncio.run(bench_save(workdir, target, args.saves))
            rows += more
            notes += more_notes
        if "cuda" not in targets:
            notes.append("no nvcc on this machine: the CUDA rows are left out")
        more, more_notes = asyncio.run(bench_typing(workdir, args.edits))
        rows += more
        notes += more_notes
    load_after = os.getloadavg()
    machine = (f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}; load average {load_before[0]:.2f} before, "
               f"{load_after[0]:.2f} after")
    report(rows, [machine, *notes], args.markdown)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
