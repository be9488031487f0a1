"""`tilelint` end to end: exit codes, formats, configuration, bad input."""

from __future__ import annotations

import json
import os
from pathlib import Path

from conftest import ROOT, run_tilelint, run_tilelint_process

from analyzer.rules import REGISTRY

GEMM_OVER = REGISTRY["TL101"].invalid[0].source
GEMM_OK = REGISTRY["TL101"].valid[0].source


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_clean_file_exits_0(tmp_path: Path) -> None:
    path = write(tmp_path, "ok.py", GEMM_OK)
    code, out = run_tilelint("--no-config", str(path))
    assert code == 0
    assert out.strip() == "All checks passed: 1 file, 1 kernel."


def test_errors_exit_1_with_compiler_style_lines(tmp_path: Path) -> None:
    path = write(tmp_path, "over.py", GEMM_OVER)
    code, out = run_tilelint("--no-config", "--arch", "sm_86", str(path))
    assert code == 1
    first = out.splitlines()[0]
    assert first.startswith(f"{path}:8:14: error TL101 [sm_86] shared memory 192.0 KiB (196608 B)")
    assert first.endswith("(kernel main)")


def test_fail_on_warning(tmp_path: Path) -> None:
    path = write(tmp_path, "near.py", REGISTRY["TL103"].invalid[0].source)
    assert run_tilelint("--no-config", "--arch", "sm_89", str(path))[0] == 0
    assert run_tilelint("--no-config", "--arch", "sm_89", "--fail-on", "warning", str(path))[0] == 1


def test_json_contract(tmp_path: Path) -> None:
    path = write(tmp_path, "over.py", GEMM_OVER)
    code, out = run_tilelint("--no-config", "--format", "json", "--arch", "sm_89,sm_90", str(path))
    assert code == 1
    data = json.loads(out)
    assert data["version"] == 1 and data["summary"]["errors"] == 1
    [file] = data["files"]
    [kernel] = file["kernels"]
    assert kernel["name"] == "main" and kernel["site"] == "matmul" and kernel["style"] == "factory"
    assert kernel["instantiation_source"] == "call-site"
    assert kernel["instantiation"]["block_M"] == 256 and kernel["instantiation"]["num_stages"] == 4
    assert kernel["grid"] == [32, 16, 1] and kernel["threads"] == 256
    assert kernel["shared_memory_bytes"] == 196608
    assert kernel["per_arch"]["sm_89"] == {"shared_memory_bytes": 196608, "limit": 101376, "fits": False}
    assert kernel["per_arch"]["sm_90"]["fits"] is True and kernel["per_arch"]["sm_90"]["warp_specialized"] is True
    shared = [b for b in kernel["buffers"] if b["scope"] == "shared.dyn"]
    assert [(b["name"], b["shape"], b["bytes"], b["versions"], b["line"]) for b in shared] == [
        ("A_shared", [256, 64], 32768, 4, 8),
        ("B_shared", [64, 128], 16384, 4, 9),
    ]
    [diag] = file["diagnostics"]
    assert diag["code"] == "TL101" and diag["arch"] == "sm_89" and diag["kernel"] == "main"
    assert diag["range"]["start"] == {"line": 7, "character": 13}


def test_explain_and_unknown_rule() -> None:
    code, out = run_tilelint("--explain", "tl101")
    assert code == 0 and out.startswith("TL101 shared-memory-over-limit (error)")
    code, _ = run_tilelint("--explain", "TL999")
    assert code == 2


def test_usage_errors_exit_2(tmp_path: Path, capsys) -> None:
    assert run_tilelint("--no-config", "--arch", "sm_99", str(tmp_path))[0] == 2
    assert "unknown arch 'sm_99'" in capsys.readouterr().err
    assert run_tilelint("--no-config", str(tmp_path / "missing.py"))[0] == 2
    assert "missing.py" in capsys.readouterr().err


def test_pyproject_configuration(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", '[tool.tilelint]\narch = ["sm_89"]\nignore = ["TL103"]\n'
          'instantiate = ["matmul(4096, 4096, 4096, 128, 256, 64, num_stages=2)"]\n')
    path = write(tmp_path, "k.py", GEMM_OVER.split("\nkernel = ")[0] + "\n")
    code, out = run_tilelint("--config", str(tmp_path / "pyproject.toml"), "--format", "json", str(path))
    data = json.loads(out)
    [kernel] = data["files"][0]["kernels"]
    assert kernel["instantiation_source"] == "pyproject" and list(kernel["per_arch"]) == ["sm_89"]
    assert kernel["shared_memory_bytes"] == 98304
    assert data["files"][0]["diagnostics"] == [] and code == 0
    write(tmp_path, "bad.toml", "[tool.tilelint]\narch = [\n")
    assert run_tilelint("--config", str(tmp_path / "bad.toml"), str(path))[0] == 2


def test_unreadable_and_binary_files_are_diagnostics(tmp_path: Path) -> None:
    bad = tmp_path / "latin1.py"
    bad.write_bytes(b"import tilelang\nx = '\xe9'\n")
    code, out = run_tilelint("--no-config", "--format", "json", str(bad))
    data = json.loads(out)
    [diag] = data["files"][0]["diagnostics"]
    assert code == 1 and diag["code"] == "TL900" and "cannot read" in diag["message"]


def test_sarif_and_github_formats(tmp_path: Path) -> None:
    path = write(tmp_path, "over.py", GEMM_OVER)
    code, out = run_tilelint("--no-config", "--format", "sarif", "--arch", "sm_89", str(path))
    sarif = json.loads(out)
    [result] = sarif["runs"][0]["results"]
    assert result["ruleId"] == "TL101" and result["level"] == "error"
    assert result["locations"][0]["physicalLocation"]["region"]["startLine"] == 8
    code, out = run_tilelint("--no-config", "--format", "github", "--arch", "sm_89", str(path))
    assert out.startswith(f"::error file={path},line=8,col=14,")


def test_statistics(tmp_path: Path) -> None:
    path = write(tmp_path, "over.py", GEMM_OVER)
    code, out = run_tilelint("--no-config", "--statistics", str(path))
    assert code == 1 and "TL101" in out and "shared-memory-over-limit" in out


def test_real_process_and_parallel_jobs(tmp_path: Path) -> None:
    for i in range(10):
        write(tmp_path, f"k{i}.py", GEMM_OVER if i % 2 else GEMM_OK)
    proc = run_tilelint_process("--no-config", "--format", "json", "--jobs", "2", str(tmp_path), cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    data = json.loads(proc.stdout)
    assert [Path(f["path"]).name for f in data["files"]] == sorted(f"k{i}.py" for i in range(10))
    assert data["summary"] == {"files": 10, "kernels": 10, "errors": 15, "warnings": 0, "information": 0}
    assert proc.stderr == ""


def test_bundled_examples_run_without_internal_errors() -> None:
    proc = run_tilelint_process("--format", "json", "examples")
    assert proc.returncode == 1, proc.stderr  # examples/buggy is broken on purpose
    data = json.loads(proc.stdout)
    codes = {d["code"] for f in data["files"] for d in f["diagnostics"]}
    assert "TL903" not in codes and "TL900" not in codes
    clean = [f for f in data["files"] if "/buggy/" not in f["path"].replace(os.sep, "/")]
    assert clean and all(f["diagnostics"] == [] for f in clean), [f["diagnostics"] for f in clean if f["diagnostics"]]
    assert all(f["kernels"] for f in clean)
    assert ROOT.joinpath("examples").is_dir()


def test_arch_all_lists_every_family(tmp_path: Path) -> None:
    path = write(tmp_path, "ok.py", GEMM_OK)
    code, out = run_tilelint("--no-config", "--format", "json", "--arch", "all", str(path))
    per_arch = json.loads(out)["files"][0]["kernels"][0]["per_arch"]
    assert list(per_arch) == ["sm_70", "sm_75", "sm_80", "sm_86", "sm_87", "sm_89", "sm_90", "sm_100", "sm_120", "sm_121"]
    assert per_arch["sm_75"]["limit"] == 65536 and per_arch["sm_90"]["limit"] == 232448
    assert {v["shared_memory_bytes"] for v in per_arch.values()} == {49152}
