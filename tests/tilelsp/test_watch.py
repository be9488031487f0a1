"""`tilelint --watch` in a real process: a fresh report after a change, Ctrl-C exits 0."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import ROOT

from analyzer.rules import REGISTRY

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="sends SIGINT")


def _reader(stream, lines: queue.Queue[str]) -> None:
    for line in stream:
        lines.put(line)
    lines.put("")


def _until_summary(lines: queue.Queue[str], timeout: float = 60) -> list[str]:
    """The lines of one report, up to its summary line."""
    got: list[str] = []
    deadline = time.monotonic() + timeout
    while True:
        line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
        assert line, f"tilelint --watch ended early: {got}"
        got.append(line.rstrip("\n"))
        if line.startswith(("All checks passed", "Found ")):
            return got


def test_watch_reports_again_after_a_change(tmp_path: Path) -> None:
    path = tmp_path / "k.py"
    path.write_text(REGISTRY["TL101"].valid[0].source, encoding="utf-8")
    proc = subprocess.Popen(
        [sys.executable, "-m", "tilelsp.lint_cli", "--watch", "--no-config", "--arch", "sm_86",
         "--cache-dir", str(tmp_path / "cache"), "k.py"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_reader, args=(proc.stdout, lines), daemon=True).start()
    try:
        first = _until_summary(lines)
        assert first == ["All checks passed: 1 file, 1 kernel."]
        time.sleep(0.1)
        path.write_text(REGISTRY["TL101"].invalid[0].source, encoding="utf-8")
        second = _until_summary(lines)
        assert any(" error TL101 " in line for line in second), second
        assert second[-1].startswith("Found 1 error")
        path.write_text(REGISTRY["TL101"].valid[0].source + "\n# fixed\n", encoding="utf-8")
        assert _until_summary(lines) == ["All checks passed: 1 file, 1 kernel."]
        proc.send_signal(signal.SIGINT)  # Ctrl-C
        assert proc.wait(timeout=30) == 0
        assert "Traceback" not in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=30)
