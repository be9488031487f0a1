"""The release: one version everywhere, and what `python -m build` puts in the sdist and the wheel.

The build test copies the files a clone would have (`git ls-files`, plus new files not ignored) into
tmp_path and runs `python -m build` there: the sdist first, then the wheel from the unpacked sdist, as
a release does. Build isolation installs setuptools from PyPI (a few seconds). The slow end-to-end
check (install the wheel into a fresh venv with TVM, run the three commands) is
scripts/smoke_release.sh, not part of this suite.
"""

from __future__ import annotations

import configparser
import json
import shutil
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from email.parser import HeaderParser
from pathlib import Path

import pytest
from conftest import ROOT

from analyzer import catalog
from analyzer.catalog import TILELANG_API_VERSION
from tilelsp import __version__

PACKAGES = ("analyzer", "compiler", "tilelsp")
SCRIPTS = {"tilelint": "tilelsp.lint_cli:main", "tilelsp": "tilelsp.server:main", "tilec": "compiler.cli:main"}


def _checkout_files() -> list[str]:
    """Paths (relative, '/'-separated) of the files a clone of this checkout has, plus new unignored ones."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs a git checkout")
    out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                         cwd=ROOT, capture_output=True, check=True).stdout.decode()
    return sorted(p for p in set(out.split("\0")) if p and (ROOT / p).is_file())


def _package_files(files: list[str]) -> list[str]:
    return [p for p in files if p.split("/", 1)[0] in PACKAGES and "/__pycache__/" not in p
            and (p.endswith(".py") or p.endswith("/py.typed"))]


# --------------------------------------------------------------------------- one version


def test_pyproject_reads_the_version_from_the_package() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" not in project["project"] and "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "tilelsp.__version__"}
    assert project["project"]["scripts"] == SCRIPTS


def test_vscode_extension_has_the_same_version() -> None:
    ext = ROOT / "editors" / "vscode"
    assert json.loads((ext / "package.json").read_text(encoding="utf-8"))["version"] == __version__
    lock = json.loads((ext / "package-lock.json").read_text(encoding="utf-8"))
    assert lock["version"] == __version__ and lock["packages"][""]["version"] == __version__


def test_the_catalog_names_its_tilelang_api() -> None:
    assert f"TileLang {TILELANG_API_VERSION}" in (catalog.__doc__ or "")


def test_changelog_has_the_version() -> None:
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "## [Unreleased]" in text
    assert f"## [{__version__}] - " in text
    assert TILELANG_API_VERSION in text.split(f"## [{__version__}]", 1)[1]


@pytest.mark.parametrize("prog, module", [("tilelint", "tilelsp.lint_cli"), ("tilec", "compiler.cli"),
                                          ("tilelsp", "tilelsp.server")])
def test_version_flags(prog: str, module: str, capsys: pytest.CaptureFixture[str]) -> None:
    import importlib

    parser = importlib.import_module(module).build_parser()
    with pytest.raises(SystemExit) as exit_:
        parser.parse_args(["--version"])
    assert exit_.value.code == 0
    printed = capsys.readouterr().out.strip()
    if prog == "tilelsp":  # the server's line stays short: editors' health checks match '^tilelsp '
        assert printed == f"tilelsp {__version__}"
    else:
        assert printed == f"{prog} {__version__} (TileLang API {TILELANG_API_VERSION})"


def test_tilelint_command_prints_both_versions() -> None:
    proc = subprocess.run([sys.executable, "-m", "tilelsp.lint_cli", "--version"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"tilelint {__version__} (TileLang API {TILELANG_API_VERSION})"


# --------------------------------------------------------------------------- sdist and wheel


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[str]]:
    """(sdist, wheel, checkout files) built by `python -m build` from a copy of the checkout."""
    pytest.importorskip("build", reason="pip install build (the test extra has it)")
    files = _checkout_files()
    base = tmp_path_factory.mktemp("release")
    src, dist = base / "src", base / "dist"
    for rel in files:
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, src / rel)
    proc = subprocess.run([sys.executable, "-m", "build", "--outdir", str(dist), str(src)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    sdists, wheels = sorted(dist.glob("*.tar.gz")), sorted(dist.glob("*.whl"))
    assert len(sdists) == 1 and len(wheels) == 1, sorted(p.name for p in dist.iterdir())
    return sdists[0], wheels[0], files


def test_wheel_holds_exactly_the_packages(built: tuple[Path, Path, list[str]]) -> None:
    _, wheel, files = built
    assert wheel.name == f"tilelsp-{__version__}-py3-none-any.whl"
    names = zipfile.ZipFile(wheel).namelist()
    info = f"tilelsp-{__version__}.dist-info/"
    payload = sorted(n for n in names if not n.startswith(info))
    expected = sorted(_package_files(files))
    assert "tilelsp/tilelang_lower.py" in expected and "compiler/passes/__init__.py" in expected
    assert payload == expected, (sorted(set(expected) - set(payload)), sorted(set(payload) - set(expected)))
    for bad in ("tests/", "node_modules", "editors/", "benchmarks/", "examples/", "__pycache__", ".pyc", "build/"):
        assert not [n for n in names if bad in n], bad
    assert sorted(n[len(info):] for n in names if n.startswith(info)) == [
        "METADATA", "RECORD", "WHEEL", "entry_points.txt", "top_level.txt"]


def test_wheel_metadata_and_entry_points(built: tuple[Path, Path, list[str]]) -> None:
    _, wheel, _ = built
    whl = zipfile.ZipFile(wheel)
    info = f"tilelsp-{__version__}.dist-info/"
    meta = HeaderParser().parsestr(whl.read(info + "METADATA").decode("utf-8"))
    assert meta["Name"] == "tilelsp" and meta["Version"] == __version__
    assert meta["Requires-Python"] == ">=3.11"
    assert meta["License-Expression"] == "Apache-2.0"
    requires = meta.get_all("Requires-Dist") or []
    assert any(r.startswith("apache-tvm") for r in requires) and any(r.startswith("pygls") for r in requires)
    assert any("extra == \"test\"" in r and r.startswith("build") for r in requires)
    entry = configparser.ConfigParser()
    entry.read_string(whl.read(info + "entry_points.txt").decode("utf-8"))
    assert dict(entry["console_scripts"]) == SCRIPTS
    assert sorted(whl.read(info + "top_level.txt").decode().split()) == sorted(PACKAGES)


def test_sdist_is_the_sources_only(built: tuple[Path, Path, list[str]]) -> None:
    sdist, _, files = built
    top = f"tilelsp-{__version__}/"
    assert sdist.name == f"tilelsp-{__version__}.tar.gz"
    with tarfile.open(sdist) as tar:
        names = [m.name for m in tar.getmembers() if m.isfile()]
    assert all(n.startswith(top) for n in names)
    rel = sorted(n[len(top):] for n in names)
    for needed in ("pyproject.toml", "README.md", "CHANGELOG.md", "MANIFEST.in", "PKG-INFO"):
        assert needed in rel
    assert set(_package_files(files)) <= set(rel)
    for bad in ("tests/", "node_modules", "editors/", "benchmarks/", "__pycache__", ".pyc", "build/", ".git/"):
        assert not [n for n in rel if bad in n], bad
    # nothing but the packages, the project files and setuptools' own egg-info
    others = [n for n in rel if n.split("/", 1)[0] not in PACKAGES and not n.startswith("tilelsp.egg-info/")]
    assert sorted(others) == ["CHANGELOG.md", "MANIFEST.in", "PKG-INFO", "README.md", "pyproject.toml", "setup.cfg"]


def test_smoke_script_is_valid_bash() -> None:
    """scripts/smoke_release.sh runs by hand (minutes: it installs TVM); here only its syntax is checked."""
    script = ROOT / "scripts" / "smoke_release.sh"
    proc = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert script.stat().st_mode & 0o111, "scripts/smoke_release.sh is not executable"
