"""`tilelint`'s result cache: warm output identical to cold, invalidation, corrupt entries."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, run_tilelint

from analyzer.rules import REGISTRY
from tilelsp.formats import FORMATS

EXAMPLES = ROOT / "examples"


def _entries(cache: Path) -> list[Path]:
    return sorted(p for p in cache.rglob("*.json") if not p.name.startswith("rules-"))


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("folder", ["examples", "examples/buggy"])
def test_warm_output_is_byte_identical(tmp_path: Path, fmt: str, folder: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    cache = tmp_path / "cache"
    args = ("--no-config", "--format", fmt, "--jobs", "1", folder)
    uncached = run_tilelint("--no-cache", *args)
    cold = run_tilelint("--cache-dir", str(cache), *args)
    assert _entries(cache), "the cold run stored nothing"
    warm = run_tilelint("--cache-dir", str(cache), *args)
    assert cold == uncached
    assert warm == cold
    if fmt == "text":
        stats = ("--statistics", *args)
        assert run_tilelint("--cache-dir", str(cache), *stats) == run_tilelint("--no-cache", *stats)


def test_cache_folder_layout_and_no_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = tmp_path / "proj"
    project.mkdir()
    (project / "pyproject.toml").write_text("[tool.tilelint]\narch = ['sm_80']\n", encoding="utf-8")
    (project / "pkg").mkdir()
    (project / "pkg" / "k.py").write_text(REGISTRY["TL101"].invalid[0].source, encoding="utf-8")
    monkeypatch.chdir(project / "pkg")
    run_tilelint("--no-cache", "k.py")
    assert not (project / ".tilelint_cache").exists()
    code, _ = run_tilelint("k.py")
    assert code == 1
    folder = project / ".tilelint_cache"  # at the project root, next to pyproject.toml
    assert (folder / ".gitignore").read_text(encoding="utf-8").splitlines()[-1] == "*"
    assert len(_entries(folder)) == 1
    assert not list(folder.rglob(".tmp-*"))


def test_changes_invalidate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    cache = tmp_path / "c"
    path = tmp_path / "k.py"
    path.write_text(REGISTRY["TL101"].valid[0].source, encoding="utf-8")
    base = ("--no-config", "--cache-dir", str(cache), "--arch", "sm_86", "k.py")
    assert run_tilelint(*base)[0] == 0
    path.write_text(REGISTRY["TL101"].invalid[0].source, encoding="utf-8")  # content changes
    code, out = run_tilelint(*base)
    assert code == 1 and "TL101" in out
    # configuration changes: archs, ignore, near-limit, instantiations
    assert run_tilelint("--no-config", "--cache-dir", str(cache), "--arch", "sm_90", "k.py")[0] == 0
    assert run_tilelint(*base[:-1], "--ignore", "TL101", "k.py")[0] == 0
    assert run_tilelint(*base)[0] == 1
    # pyproject contents are part of the key
    (tmp_path / "pyproject.toml").write_text("[tool.tilelint]\nignore = ['TL101']\n", encoding="utf-8")
    assert run_tilelint("--cache-dir", str(cache), "--arch", "sm_86", "k.py")[0] == 0
    (tmp_path / "pyproject.toml").write_text("[tool.tilelint]\n", encoding="utf-8")
    assert run_tilelint("--cache-dir", str(cache), "--arch", "sm_86", "k.py")[0] == 1


def test_tool_change_invalidates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tilelsp import cache as cache_mod

    monkeypatch.chdir(tmp_path)
    (tmp_path / "k.py").write_text(REGISTRY["TL101"].invalid[0].source, encoding="utf-8")
    args = ("--no-config", "--cache-dir", str(tmp_path / "c"), "--arch", "sm_86", "k.py")
    run_tilelint(*args)
    assert len(_entries(tmp_path / "c")) == 1
    monkeypatch.setattr(cache_mod, "_TOOL_KEY", "another analyzer")
    run_tilelint(*args)
    assert len(_entries(tmp_path / "c")) == 2


@pytest.mark.parametrize("garbage", [b"", b"{", b"\x00\xff", b'{"key": 1}', b"[]"])
def test_corrupt_entries_are_misses(tmp_path: Path, garbage: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "k.py").write_text(REGISTRY["TL101"].invalid[0].source, encoding="utf-8")
    cache = tmp_path / "c"
    args = ("--no-config", "--cache-dir", str(cache), "--arch", "sm_86", "k.py")
    cold = run_tilelint(*args)
    for entry in cache.rglob("*.json"):
        entry.write_bytes(garbage)
    assert run_tilelint(*args) == cold
    entry = json.loads(_entries(cache)[0].read_bytes())  # rewritten whole
    assert entry["path"] == "k.py"


def test_truncated_entry_is_a_miss(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "k.py").write_text(REGISTRY["TL101"].invalid[0].source, encoding="utf-8")
    cache = tmp_path / "c"
    args = ("--no-config", "--format", "json", "--cache-dir", str(cache), "--arch", "sm_86", "k.py")
    cold = run_tilelint(*args)
    [entry] = _entries(cache)
    data = entry.read_bytes()
    entry.write_bytes(data[: len(data) // 2])
    assert run_tilelint(*args) == cold


def test_warm_run_does_not_import_libcst(tmp_path: Path) -> None:
    cache = tmp_path / "c"
    script = (
        "import sys\n"
        "from tilelsp.lint_cli import main\n"
        f"code = main(['--no-config', '--format', 'sarif', '--cache-dir', {str(cache)!r}, 'examples'])\n"
        "sys.stderr.write('LIBCST=%s\\n' % ('libcst' in sys.modules))\n"
        "sys.exit(code)\n"
    )
    runs = [subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True) for _ in range(2)]
    assert "LIBCST=True" in runs[0].stderr
    assert "LIBCST=False" in runs[1].stderr
    assert runs[0].stdout == runs[1].stdout and runs[0].returncode == runs[1].returncode == 1


def test_concurrent_runs_share_a_cache(tmp_path: Path) -> None:
    cache = tmp_path / "c"
    cmd = [sys.executable, "-m", "tilelsp.lint_cli", "--no-config", "--format", "json", "--jobs", "1",
           "--cache-dir", str(cache), "examples/buggy"]
    expected = subprocess.run([*cmd[:-3], "--no-cache", "examples/buggy"], cwd=ROOT, capture_output=True, text=True)
    for _ in range(2):  # cold, then warm: three writers racing, then three readers
        procs = [subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(3)]
        for proc in procs:
            out, err = proc.communicate(timeout=300)
            assert proc.returncode == expected.returncode, err
            assert out == expected.stdout
    assert not list(cache.rglob(".tmp-*"))
