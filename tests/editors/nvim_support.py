"""Helpers shared by the headless-Neovim tests (test_neovim.py, test_neovim_plugin.py)."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path


def find_nvim() -> str | None:
    """`nvim` next to this interpreter (a venv's bin/, not always on PATH), else on PATH."""
    here = Path(sys.executable).parent
    return shutil.which("nvim", path=os.pathsep.join([str(here), os.environ.get("PATH", "")]))


NVIM = find_nvim()


def nvim_env(tmp_path: Path, root: Path) -> dict[str, str]:
    """The environment of a headless Neovim test: no user config (the XDG folders under `tmp_path`, where
    lsp.log lands too) and this checkout importable by the server, installed or not (it runs from tmp_path)."""
    env = dict(os.environ)
    for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        env[var] = str(tmp_path / var.lower())
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(root), env.get("PYTHONPATH", "")) if p)
    return env


def position_of(lines: list[str], needle: str, start: int = 0) -> tuple[int, int]:
    """0-based (line, code-point column) of the first `needle` at or after line `start`."""
    for number in range(start, len(lines)):
        col = lines[number].find(needle)
        if col >= 0:
            return number, col
    raise AssertionError(f"{needle!r} not found")


def lsp_log(result: dict) -> str:
    """The tail of Neovim's lsp.log named in a driver's result, for failure messages."""
    path = Path(result.get("lsp_log") or "")
    return path.read_text(errors="replace")[-4000:] if path.is_file() else ""
