"""The pre-commit hook of .pre-commit-hooks.yaml, end to end.

A scratch project uses this repository as a pre-commit hook repository (a
local clone at HEAD, with the working tree's .pre-commit-hooks.yaml on top),
exactly as a user's ``.pre-commit-config.yaml`` would name it by URL: a
correct kernel commits, a broken one is refused with tilelint's finding.

pre-commit builds the hook's environment itself (``language: python``: a
virtualenv and ``pip install`` of the hook repository with its dependencies,
apache-tvm included), so the end-to-end test needs PyPI, or a pip cache or
index that has the project's dependencies. PRE_COMMIT_HOME is a temporary
folder: nothing is read from or left in ~/.cache/pre-commit.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

MANIFEST = ROOT / ".pre-commit-hooks.yaml"
GOOD = ROOT / "examples" / "gemm_pipelined.py"
BAD = ROOT / "examples" / "buggy" / "gemm_stages4_big_tiles.py"


def pre_commit_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "pre_commit", *args]


def isolated_env(tmp_path: Path) -> dict[str, str]:
    """Git and pre-commit without the user's configuration, caches or hooks."""
    gitconfig = tmp_path / "gitconfig"
    gitconfig.write_text("[init]\n\tdefaultBranch = main\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "PRE_COMMIT"))}
    env.update(
        GIT_CONFIG_GLOBAL=str(gitconfig),
        GIT_CONFIG_NOSYSTEM="1",
        GIT_AUTHOR_NAME="tilelint test",
        GIT_AUTHOR_EMAIL="tilelint@example.invalid",
        GIT_COMMITTER_NAME="tilelint test",
        GIT_COMMITTER_EMAIL="tilelint@example.invalid",
        PRE_COMMIT_HOME=str(tmp_path / "pre-commit-home"),
    )
    # The hook runs from the environment pre-commit builds, not from this test's venv or tree.
    env.pop("VIRTUAL_ENV", None)
    env.pop("PYTHONPATH", None)
    return env


def git(cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True, timeout=120
    )


def test_manifest_is_valid() -> None:
    proc = subprocess.run(
        pre_commit_cmd("validate-manifest", str(MANIFEST)), capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_manifest_declares_the_tilelint_hook() -> None:
    from pre_commit.clientlib import load_manifest

    (hook,) = load_manifest(str(MANIFEST))
    assert hook["id"] == "tilelint"
    assert hook["entry"] == "tilelint"
    assert hook["language"] == "python"
    assert hook["types"] == ["python"]
    assert hook["pass_filenames"] is True
    # `tilelint` is the console script the package installs.
    assert 'tilelint = "tilelsp.lint_cli:main"' in (ROOT / "pyproject.toml").read_text(encoding="utf-8")


def make_hook_repo(tmp_path: Path, env: dict[str, str]) -> tuple[Path, str]:
    """A clone of this checkout at HEAD with the working tree's manifest committed on top."""
    if not (ROOT / ".git").exists() or shutil.which("git") is None:
        pytest.skip("needs git and a git checkout of this repository")
    hook_repo = tmp_path / "hook-repo"
    git(tmp_path, env, "clone", "--quiet", "--no-hardlinks", str(ROOT), str(hook_repo))
    shutil.copyfile(MANIFEST, hook_repo / MANIFEST.name)
    git(hook_repo, env, "add", MANIFEST.name)
    if git(hook_repo, env, "status", "--porcelain").stdout.strip():
        git(hook_repo, env, "commit", "--quiet", "-m", "the working tree's .pre-commit-hooks.yaml")
    return hook_repo, git(hook_repo, env, "rev-parse", "HEAD").stdout.strip()


def test_commit_blocked_by_tilelint(tmp_path: Path) -> None:
    env = isolated_env(tmp_path)
    hook_repo, rev = make_hook_repo(tmp_path, env)

    project = tmp_path / "project"
    project.mkdir()
    git(project, env, "init", "--quiet")
    (project / ".pre-commit-config.yaml").write_text(
        f"repos:\n- repo: {hook_repo.as_posix()}\n  rev: {rev}\n  hooks:\n  - id: tilelint\n",
        encoding="utf-8",
    )
    install = subprocess.run(
        pre_commit_cmd("install"), cwd=project, env=env, capture_output=True, text=True, timeout=120
    )
    assert install.returncode == 0, install.stdout + install.stderr

    def commit(message: str) -> subprocess.CompletedProcess[str]:
        # The first commit builds the hook's virtualenv (pip install of the hook repository).
        return subprocess.run(
            ["git", "commit", "-m", message], cwd=project, env=env, capture_output=True, text=True, timeout=900
        )

    shutil.copyfile(GOOD, project / "gemm.py")
    git(project, env, "add", ".pre-commit-config.yaml", "gemm.py")
    good = commit("a correct kernel")
    output = good.stdout + good.stderr
    assert good.returncode == 0, output
    assert "tilelint" in output and "Passed" in output

    shutil.copyfile(BAD, project / "gemm_stages4.py")
    git(project, env, "add", "gemm_stages4.py")
    bad = commit("a kernel that does not fit")
    output = bad.stdout + bad.stderr
    assert bad.returncode != 0, output
    assert "Failed" in output
    assert "gemm_stages4.py:21:10: error TL101 [sm_86] shared memory 128.0 KiB" in output
    # Refused: the first commit is still the only one and the kernel is still staged.
    assert git(project, env, "rev-list", "--count", "HEAD").stdout.strip() == "1"
    assert "gemm_stages4.py" in git(project, env, "diff", "--cached", "--name-only").stdout
