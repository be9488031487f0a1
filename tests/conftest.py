"""Shared helpers for the test suite."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


def run_tilelint(*args: str, cwd: Path | None = None) -> tuple[int, str]:
    """Run the CLI in-process; returns (exit status, stdout)."""
    from tilelsp.lint_cli import main

    buf = io.StringIO()
    with redirect_stdout(buf):
        code = main(list(args))
    return code, buf.getvalue()


def run_tilec(*args: str) -> tuple[int, str]:
    """Run `tilec` in-process; returns (exit status, stdout then stderr). Never a traceback."""
    from contextlib import redirect_stderr

    from compiler.cli import main

    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(args))
    text = out.getvalue() + err.getvalue()
    assert "Traceback" not in text
    return code, text


def run_tilelint_process(*args: str, cwd: Path | None = None, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run `python -m tilelsp.lint_cli` as a separate process (real exit codes, real stdout)."""
    return subprocess.run(
        [sys.executable, "-m", "tilelsp.lint_cli", *args],
        cwd=str(cwd or ROOT),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def lint_json(*args: str) -> dict[str, Any]:
    code, out = run_tilelint("--format", "json", "--no-config", *args)
    assert code in (0, 1), out
    return json.loads(out)


@pytest.fixture
def analyze():
    """Analyse a source string with the given archs; returns the FileReport."""
    from analyzer.config import Config
    from analyzer.engine import analyze_source

    def run(source: str, arches: tuple[str, ...] = ("sm_80", "sm_90"), **config: Any):
        return analyze_source(source, "snippet.py", Config(arches=arches, **config))

    return run
