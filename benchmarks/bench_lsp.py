"""How fast the language server answers, measured from a client on the other end of its stdio.

    python benchmarks/bench_lsp.py [--runs N] [--edits N] [--hovers N] [--completions N] [--burst N]
                                   [--markdown FILE]

Drives the real server (`python -m tilelsp --stdio`) with the raw JSON-RPC client of
`tests/lsp_wire.py` and prints p50 / p95 / max next to issue 4's targets:

- import of `tilelsp.server` in a fresh interpreter (and whether TVM got imported), and the time from
  spawning the server to the `initialize` result;
- diagnostics after an edit of a 500-line file with six kernels (benchmarks/lsp_corpus.py), with the
  debounce set to 0 through `workspace/configuration`: for a client that takes pushed diagnostics,
  from sending `didChange` (version v) to receiving `publishDiagnostics` for version v; for a client
  that pulls (Neovim 0.12, VS Code), from `didChange` to the answer of a `textDocument/diagnostic`
  sent right after it;
- hover on buffer names, completion after `T.` (document at rest);
- a burst of keystroke edits, sent back to back with debounce 0, then paced like fast typing with
  the server's default debounce: how many analyses ran and how many were dropped as superseded
  (from the server's own `--log-level debug` lines, "analysed URI version V" and "dropped the
  analysis of URI version V: superseded", which it sends as `window/logMessage`), which versions
  were analysed, how many analyses finished after the server had taken in the last keystroke (a
  hover sent right after it marks that moment; with one analysis running and at most one queued per
  document, at most two can), the `publishDiagnostics` versions (increasing, none after the final
  one), and how long hovers took while the burst was analysed (from a second server at the default
  log level: debug logging slows every message).

Each step uses the server as an editor would; nothing is mocked. Numbers depend on the machine and its
load: the script prints both.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from lsp_corpus import six_kernel_file  # noqa: E402
from lsp_wire import SERVER_COMMAND, LspWire, position_at  # noqa: E402


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(q * (len(ordered) - 1)))))]


@dataclass
class Row:
    name: str
    values: list[float]
    target: str = ""
    target_p95: float | None = None
    note: str = ""

    def cells(self) -> list[str]:
        if not self.values:
            return [self.name, "0", "-", "-", "-", self.target, "no data", self.note]
        p50, p95, top = pct(self.values, 0.5), pct(self.values, 0.95), max(self.values)
        verdict = "" if self.target_p95 is None else ("met" if p95 <= self.target_p95 else "MISSED")
        return [self.name, str(len(self.values)), f"{p50:.1f}", f"{p95:.1f}", f"{top:.1f}", self.target, verdict, self.note]


def table(rows: list[Row]) -> str:
    head = ["measure", "n", "p50 ms", "p95 ms", "max ms", "target", "p95 vs target", "note"]
    body = [r.cells() for r in rows]
    widths = [max(len(x[i]) for x in [head, *body]) for i in range(len(head))]
    line = lambda cells: "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"  # noqa: E731
    return "\n".join([line(head), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, body)])


# -- start-up -------------------------------------------------------------------------------------

IMPORT_PROBE = (
    "import sys, time\n"
    "t = time.perf_counter()\n"
    "import tilelsp.server\n"
    "d = time.perf_counter() - t\n"
    "heavy = sorted(m for m in ('tvm', 'torch', 'tilelang', 'compiler') if m in sys.modules)\n"
    "print(d, ','.join(heavy))\n"
)


PROTOCOL_PROBE = "import time; t = time.perf_counter(); import lsprotocol.types; print(time.perf_counter() - t)"


def bench_import(runs: int) -> list[Row]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p))
    imports, protocol, bare, heavy = [], [], [], set()
    for _ in range(runs):
        proc = subprocess.run([sys.executable, "-c", IMPORT_PROBE], env=env, capture_output=True, text=True, check=True)
        seconds, _, modules = proc.stdout.strip().partition(" ")
        imports.append(float(seconds) * 1000)
        heavy.update(m for m in modules.split(",") if m)
        proc = subprocess.run([sys.executable, "-c", PROTOCOL_PROBE], capture_output=True, text=True, check=True)
        protocol.append(float(proc.stdout) * 1000)
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        bare.append((time.perf_counter() - t0) * 1000)
    note = "imports " + ", ".join(sorted(heavy)) if heavy else "no tvm/torch/tilelang/compiler imported"
    return [Row("import tilelsp.server (fresh interpreter)", imports, "< 300 ms", 300, note),
            Row("floor: import lsprotocol.types alone (pygls needs it)", protocol),
            Row("floor: python -c pass (whole process)", bare)]


async def bench_initialize(runs: int, workdir: Path) -> Row:
    values = []
    for _ in range(runs):
        t0 = time.perf_counter()
        wire = await LspWire.start(cwd=workdir)
        response = await wire.initialize(workdir)
        values.append((response.received - t0) * 1000)
        assert response.error is None, response.error
        await wire.close()
    return Row("spawn -> initialize result", values, "< 300 ms", 300, "process start + imports + initialize")


# -- one editing session --------------------------------------------------------------------------


ANALYSED = re.compile(r"^analysed (\S+) version (\d+) in (\d+) ms$")
DROPPED = re.compile(r"^dropped the analysis of (\S+) version (\d+): superseded$")


def analysis_log(wire: LspWire, uri: str, since: int = 0) -> list[tuple[str, int, float]]:
    """The server's own account of its analyses (`--log-level debug` sends it as window/logMessage):
    (kind, version, arrival time) for each analysis of `uri` that finished, kept or dropped as stale."""
    out = []
    for message in wire.notifications[since:]:
        if message.get("method") != "window/logMessage":
            continue
        text = message["params"]["message"]
        for kind, pattern in (("kept", ANALYSED), ("dropped", DROPPED)):
            m = pattern.match(text)
            if m and m.group(1) == uri:
                out.append((kind, int(m.group(2)), message.get("_received", 0.0)))
    return out


class Session:
    """One open document and the client's copy of its text."""

    def __init__(self, wire: LspWire, uri: str, text: str) -> None:
        self.wire, self.uri, self.text, self.version = wire, uri, text, 1

    def replace(self, start: int, end: int, new: str) -> float:
        """Replace text[start:end] (code points) with `new` as one incremental change; returns send time."""
        change = {"range": {"start": position_at(self.text, start), "end": position_at(self.text, end)}, "text": new}
        self.text = self.text[:start] + new + self.text[end:]
        self.version += 1
        return self.wire.did_change(self.uri, self.version, [change])

    async def settle(self, timeout: float = 60.0) -> None:
        """Wait until the current version's diagnostics are published."""
        await self.wire.wait_diagnostics(self.uri, self.version, timeout=timeout)

    def stage_digits(self) -> list[int]:
        return [m.start(1) for m in re.finditer(r"num_stages=(\d)", self.text)]

    def flip_digit(self, index: int) -> float:
        digits = self.stage_digits()
        at = digits[index % len(digits)]
        return self.replace(at, at + 1, "1" if self.text[at] != "1" else "2")


async def open_session(workdir: Path, *, pull: bool = False, debug: bool = False,
                       settings: dict[str, Any] | None = None) -> tuple[LspWire, Session]:
    text = six_kernel_file()
    path = workdir / "six_kernels.py"
    path.write_text(text, encoding="utf-8")
    command = SERVER_COMMAND + (["--log-level", "debug"] if debug else [])
    settings = settings if settings is not None else {"debounceMs": 0}
    wire = await LspWire.start(command, cwd=workdir, settings=settings)
    # the same settings go to `initializationOptions` too: a server that ignored its
    # workspace/configuration answer would otherwise run these benchmarks with its default debounce
    init = await wire.initialize(workdir, pull=pull, initialization_options={"tilelsp": settings})
    assert init.error is None, init.error
    session = Session(wire, path.as_uri(), text)
    wire.did_open(session.uri, text)
    await wire.flush()
    try:
        if pull:
            response = await wire.request("textDocument/diagnostic", {"textDocument": {"uri": session.uri}}, timeout=120)
            assert response.error is None, response.error
        else:
            await wire.wait_diagnostics(session.uri, 1, timeout=120)
    except asyncio.TimeoutError:
        logs = [n["params"]["message"] for n in wire.notifications if n.get("method") == "window/logMessage"]
        await wire.close()
        raise RuntimeError(f"no diagnostics for the opened file; server log: {logs[-20:]}; "
                           f"stderr: {wire.stderr_tail(3000)}") from None
    return wire, session


async def bench_push(args: argparse.Namespace, workdir: Path) -> tuple[list[Row], list[str]]:
    """Diagnostics pushed after an edit, hover and completion: a client that takes pushed diagnostics."""
    wire, session = await open_session(workdir)
    uri = session.uri
    rows: list[Row] = []
    notes: list[str] = []
    try:
        first = wire.latest_diagnostics(uri)
        codes = sorted({d.get("code") for d in first.diagnostics}) if first else []
        notes.append(f"file: six_kernels.py, {session.text.count(chr(10))} lines, 6 kernels "
                     f"(benchmarks/lsp_corpus.py); diagnostics at rest: {codes or 'none'}")

        latencies = []
        for i in range(args.edits):
            sent = session.flip_digit(i)
            await wire.flush()
            pub = await wire.wait_diagnostics(uri, session.version, timeout=60)
            latencies.append((pub.received - sent) * 1000)
        rows.append(Row("didChange -> publishDiagnostics of that version (push, debounce 0)", latencies,
                        "p95 <= 150 ms", 150, "one `num_stages` digit changed per edit"))

        names = [m.start(1) for m in re.finditer(r"^\s+(\w+) = T\.alloc_\w+\(", session.text, flags=re.M)]
        hovers, empty = [], 0
        for i in range(args.hovers):
            pos = position_at(session.text, names[i % len(names)])
            response = await wire.hover(uri, pos["line"], pos["character"])
            hovers.append(response.ms)
            empty += response.result is None
        rows.append(Row("hover on a buffer name (document at rest)", hovers, "p95 <= 20 ms", 20,
                        f"{len(names)} buffers in turn; {empty} empty answers"))

        body = session.text.index("T.clear(")
        line_start = session.text.rfind("\n", 0, body) + 1
        indent = re.match(r"\s*", session.text[line_start:]).group(0)
        session.replace(line_start, line_start, indent + "T.\n")
        await wire.flush()
        await session.settle()
        pos = position_at(session.text, line_start + len(indent) + 2)
        completions, counts = [], []
        for _ in range(args.completions):
            response = await wire.request("textDocument/completion", {
                "textDocument": {"uri": uri}, "position": pos,
                "context": {"triggerKind": 2, "triggerCharacter": "."}})
            completions.append(response.ms)
            result = response.result
            size = len(json.dumps(result))
            items = result.get("items", []) if isinstance(result, dict) else (result or [])
            counts.append(len(items))
        rows.append(Row("completion after `T.` (a line that does not parse yet)", completions, "p95 <= 30 ms", 30,
                        f"{max(counts, default=0)} items, {size / 1024:.0f} KiB of JSON"))
    finally:
        notes.append(f"push session: server exit status {await wire.close()}")
    return rows, notes


async def bench_pull(args: argparse.Namespace, workdir: Path) -> tuple[list[Row], list[str]]:
    """A client that pulls (Neovim 0.12, VS Code): didChange, then textDocument/diagnostic at once."""
    wire, session = await open_session(workdir, pull=True)
    latencies = []
    try:
        for i in range(args.edits):
            sent = session.flip_digit(i)
            response = await wire.request("textDocument/diagnostic", {"textDocument": {"uri": session.uri}}, timeout=60)
            assert response.error is None, response.error
            latencies.append((response.received - sent) * 1000)
    finally:
        code = await wire.close()
    return ([Row("didChange -> textDocument/diagnostic answer (pull, debounce 0)", latencies, "p95 <= 150 ms", 150,
                 "the pull is sent right after the change; the server answers once that version is analysed")],
            [f"pull session: server exit status {code}"])


async def bench_bursts(args: argparse.Namespace, workdir: Path) -> tuple[list[Row], list[str]]:
    """Keystroke bursts, each typed twice: to a server at the default log level, for the hover latency
    while the burst is analysed, and to one at --log-level debug, whose log counts the analyses
    (debug logging costs time on every message, so its latencies are not reported)."""
    rows: list[Row] = []
    notes: list[str] = []
    for label, pace, settings in (("back to back, debounce 0", 0.0, {"debounceMs": 0}),
                                  (f"{args.pace_ms:g} ms apart, debounce 0", args.pace_ms / 1000, {"debounceMs": 0}),
                                  (f"{args.pace_ms:g} ms apart, default debounce", args.pace_ms / 1000, {})):
        for debug in (False, True):
            wire, session = await open_session(workdir, debug=debug, settings=settings)
            try:
                row, note = await burst(session, args.burst, pace, label, args.hover_every, debug)
                if debug:
                    notes.append(note)
                else:
                    rows.append(row)
            finally:
                await wire.close()
    return rows, notes


async def burst(session: Session, count: int, pace: float, label: str, hover_every: int,
                debug: bool) -> tuple[Row, str]:
    """Type a comment into the first kernel one character per didChange; hover now and then."""
    wire, uri = session.wire, session.uri
    anchor = session.text.index("T.Kernel(")
    at = session.text.index("\n", anchor) + 1  # the line after `with T.Kernel(...)`
    indent = re.match(r"\s*", session.text[at:]).group(0)
    session.replace(at, at, indent + "# \n")
    cursor = at + len(indent) + 2
    await wire.flush()
    await session.settle()
    settled = session.version  # its log line follows the publication: wait for it before counting
    if debug:
        await wire.wait_for(lambda: any(v == settled for _, v, _ in analysis_log(wire, uri)), timeout=30)
    hover_pos = position_at(session.text, anchor + 2)  # on `Kernel`
    first_version = session.version + 1
    mark_pub, mark_log = len(wire.published), len(wire.notifications)
    started = time.perf_counter()
    hovers: list[asyncio.Future[Any]] = []
    phrase = "the quick brown fox jumps over the lazy dog "
    for i in range(count):
        session.replace(cursor, cursor, phrase[i % len(phrase)])
        cursor += 1
        if hover_every and i % hover_every == hover_every - 1:
            hovers.append(wire.request_nowait("textDocument/hover", {"textDocument": {"uri": uri}, "position": hover_pos}))
        if pace:
            await wire.flush()
            await asyncio.sleep(pace)
    last_sent = time.perf_counter()
    # the server handles messages in order: when this answer arrives it has taken in every keystroke
    marker = wire.request_nowait("textDocument/hover", {"textDocument": {"uri": uri}, "position": hover_pos})
    await wire.flush()
    seen_all = (await marker).received
    final = await wire.wait_diagnostics(uri, session.version, timeout=120)
    answers = await asyncio.gather(*hovers)
    await asyncio.sleep(1.0)  # a backlog would still be publishing now
    pubs = [p for p in wire.published[mark_pub:] if p.uri == uri]
    versions = [p.version for p in pubs]
    after_final = versions[versions.index(session.version) + 1:] if session.version in versions else []
    in_order = all(a < b for a, b in zip(versions, versions[1:]))
    log = analysis_log(wire, uri, mark_log)
    kept = [v for kind, v, _ in log if kind == "kept"]
    dropped = [v for kind, v, _ in log if kind == "dropped"]
    finished_after_last = [v for _, v, t in log if t > seen_all]
    note = (
        f"burst ({label}): {count} edits (versions {first_version}..{session.version}) sent in "
        f"{(last_sent - started) * 1000:.0f} ms; the server analysed {len(log)} times ({len(kept)} kept: versions "
        f"{kept[:10]}{' ...' if len(kept) > 10 else ''}; {len(dropped)} dropped as superseded: {dropped[:10]}"
        f"{' ...' if len(dropped) > 10 else ''}); the server had taken in the last keystroke "
        f"{(seen_all - last_sent) * 1000:.0f} ms after it was sent, and {len(finished_after_last)} analyses finished "
        f"after that ({finished_after_last}); {len(pubs)} publishDiagnostics, "
        f"{'in increasing version order' if in_order else 'NOT in version order'}, {len(after_final)} after the final "
        f"version; final version published {(final.received - last_sent) * 1000:.0f} ms after the last keystroke"
    )
    row = Row(f"hover while a burst is analysed ({label})", [r.ms for r in answers], "p95 <= 20 ms", 20,
              f"{count} keystrokes sent in {(last_sent - started) * 1000:.0f} ms, a hover every {hover_every}"
              + ("; a hover waits for the keystrokes sent before it" if not pace else ""))
    return row, note


def bench_floor(args: argparse.Namespace) -> Row:
    """The analysis alone: `analyzer.index.build_index` in this process, same file, same edits."""
    sys.path.insert(0, str(ROOT))
    from analyzer.config import Config
    from analyzer.index import build_index

    text, config, values = six_kernel_file(), Config(), []
    digits = [m.start(1) for m in re.finditer(r"num_stages=(\d)", text)]
    for i in range(args.edits):
        at = digits[i % len(digits)]
        text = text[:at] + ("1" if text[at] != "1" else "2") + text[at + 1:]
        t0 = time.perf_counter()
        build_index(text, "six_kernels.py", config)
        values.append((time.perf_counter() - t0) * 1000)
    return Row("floor: analyzer.index.build_index in-process, same edits", values,
               note="what the worker does per analysis, without pickling and messages")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10, help="fresh processes for import / initialize")
    parser.add_argument("--edits", type=int, default=60)
    parser.add_argument("--hovers", type=int, default=200)
    parser.add_argument("--completions", type=int, default=100)
    parser.add_argument("--burst", type=int, default=200)
    parser.add_argument("--pace-ms", type=float, default=30.0, help="gap between keystrokes in the paced burst")
    parser.add_argument("--hover-every", type=int, default=10)
    parser.add_argument("--markdown", type=Path, help="also write the table and notes to this file")
    args = parser.parse_args()

    load_before = os.getloadavg()
    import_rows = bench_import(args.runs)
    with tempfile.TemporaryDirectory(prefix="bench_lsp_") as tmp:
        workdir = Path(tmp)
        (workdir / "pyproject.toml").write_text("")
        init_row = asyncio.run(bench_initialize(args.runs, workdir))
        session_rows, notes = [], []
        for bench in (bench_push, bench_pull, bench_bursts):
            more_rows, more_notes = asyncio.run(bench(args, workdir))
            session_rows += more_rows
            notes += more_notes
        floor = bench_floor(args)
    load_after = os.getloadavg()

    machine = (f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}, server `{' '.join(SERVER_COMMAND[1:])}`; "
               f"load average {load_before[0]:.2f} before, {load_after[0]:.2f} after")
    report([*import_rows, init_row, *session_rows, floor], [machine, *notes], args.markdown)
    return 0


def report(rows: list[Row], notes: list[str], markdown: Path | None) -> None:
    """Print the table and the notes under it, and write the same to `markdown` when given."""
    out = "\n".join([table(rows), "", *[f"- {n}" for n in notes]])
    print(out)
    if markdown:
        markdown.write_text(out + "\n", encoding="utf-8")


if __name__ == "__main__":
    raise SystemExit(main())
