"""`tilelint --baseline`: old findings hidden across line shifts, new ones reported."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import ROOT, run_tilelint, run_tilelint_process

from analyzer.rules import REGISTRY

BUGGY = ROOT / "examples" / "buggy"
TARGET = "gemm_stages4_big_tiles.py"


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(BUGGY, tmp_path / "buggy")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _findings(out: str, name: str) -> list[str]:
    return [line for line in out.splitlines() if line.startswith(f"buggy/{name}:")]


def test_baseline_hides_old_findings_and_reports_new(tree: Path) -> None:
    code, before = run_tilelint("--no-config", "--no-cache", "buggy")
    assert code == 1
    total = int(before.splitlines()[-1].split()[1]) + int(before.splitlines()[-1].split()[3]) \
        + int(before.splitlines()[-1].split()[5])
    old_lines = _findings(before, TARGET)
    assert old_lines

    # first run: the baseline is written, everything is hidden
    code, out = run_tilelint("--no-config", "--no-cache", "--baseline", "bl.json", "buggy")
    assert code == 0
    assert f"Wrote {total} findings to the baseline bl.json." in out
    assert f"{total} findings hidden by the baseline bl.json." in out
    data = json.loads((tree / "bl.json").read_text(encoding="utf-8"))
    assert len(data["findings"]) == total
    assert all(not e["path"].startswith("/") for e in data["findings"])
    assert all("line" not in e for e in data["findings"])

    # blank lines above the findings: line numbers move, the findings stay hidden
    target = tree / "buggy" / TARGET
    target.write_text("\n\n\n" + target.read_text(encoding="utf-8"), encoding="utf-8")
    _, shifted = run_tilelint("--no-config", "--no-cache", "buggy")
    assert _findings(shifted, TARGET) != old_lines and len(_findings(shifted, TARGET)) == len(old_lines)
    code, out = run_tilelint("--no-config", "--no-cache", "--baseline", "bl.json", "buggy")
    assert code == 0
    assert out.splitlines()[-1] == f"{total} findings hidden by the baseline bl.json."

    # a new bug is reported; the old ones stay hidden
    (tree / "buggy" / "new_bug.py").write_text(REGISTRY["TL101"].invalid[0].source, encoding="utf-8")
    code, out = run_tilelint("--no-config", "--no-cache", "--arch", "sm_80,sm_86,sm_89,sm_90", "--baseline",
                             "bl.json", "buggy")
    assert code == 1
    reported = [line for line in out.splitlines() if line.startswith("buggy/")]
    assert reported and all(line.startswith("buggy/new_bug.py:") for line in reported)
    assert out.splitlines()[-1] == f"{total} findings hidden by the baseline bl.json."

    # --update-baseline takes the new bug in
    code, out = run_tilelint("--no-config", "--no-cache", "--baseline", "bl.json", "--update-baseline", "buggy")
    assert code == 0 and "Wrote" in out
    assert run_tilelint("--no-config", "--no-cache", "--baseline", "bl.json", "buggy")[0] == 0


def test_edited_flagged_line_is_new(tree: Path) -> None:
    path = tree / "k.py"
    path.write_text(REGISTRY["TL101"].invalid[0].source, encoding="utf-8")
    assert run_tilelint("--no-config", "--no-cache", "--arch", "sm_86", "--baseline", "bl.json", "k.py")[0] == 0
    # the same kernel with bigger tiles: message and flagged line change
    bigger = REGISTRY["TL101"].invalid[0].source.replace("256", "512")
    assert bigger != REGISTRY["TL101"].invalid[0].source
    path.write_text(bigger, encoding="utf-8")
    code, out = run_tilelint("--no-config", "--no-cache", "--arch", "sm_86", "--baseline", "bl.json", "k.py")
    assert code == 1 and "TL101" in out


def test_paths_are_relative_to_the_baseline(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert run_tilelint("--no-config", "--no-cache", "--baseline", "bl.json", "buggy")[0] == 0
    monkeypatch.chdir(tree / "buggy")  # another working directory, another spelling of the paths
    code, out = run_tilelint("--no-config", "--no-cache", "--baseline", "../bl.json", ".")
    assert code == 0, out
    assert "hidden by the baseline ../bl.json" in out


def test_machine_formats_keep_stdout_clean(tree: Path) -> None:
    run_tilelint("--no-config", "--no-cache", "--baseline", "bl.json", "buggy")
    proc = run_tilelint_process("--no-config", "--no-cache", "--format", "json", "--baseline", "bl.json", "buggy",
                                cwd=tree)
    assert proc.returncode == 0
    assert json.loads(proc.stdout)["summary"]["errors"] == 0
    assert "hidden by the baseline bl.json" in proc.stderr


def test_bad_baseline_is_a_usage_error(tree: Path) -> None:
    (tree / "bl.json").write_text("{not json", encoding="utf-8")
    proc = run_tilelint_process("--no-config", "--no-cache", "--baseline", "bl.json", "buggy", cwd=tree)
    assert proc.returncode == 2 and "invalid baseline" in proc.stderr
    proc = run_tilelint_process("--no-config", "--no-cache", "--update-baseline", "buggy", cwd=tree)
    assert proc.returncode == 2 and "--update-baseline needs --baseline" in proc.stderr
