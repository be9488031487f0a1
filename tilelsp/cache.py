"""The per-file result cache of ``tilelint``.

A second run over an unchanged tree should cost little more than reading and
hashing the files. Each checked file gets one entry in the cache folder
(``.tilelint_cache/`` next to the project's ``pyproject.toml``, else in the
current directory, or ``--cache-dir``), named by a hash of

* the tool: ``tilelsp.__version__``, the Python version and a hash of the
  source of every module of the ``analyzer`` package, so that changing the
  analyzer invalidates everything it produced;
* the effective configuration: archs, select/ignore, near-limit, the
  ``[tool.tilelint]`` instantiations and the ``--instantiate`` calls, and the
  text of the ``pyproject.toml`` read;
* the file's path as tilelint shows it.

The entry holds the SHA-256 of the file's bytes and the :class:`FileReport`
(diagnostics and kernel facts) as JSON; it is used only when the hash of the
file read now matches. The rule metadata the formats need (names, summaries,
default severities) is cached once per tool key, so that a run where every
file hits never imports the analyzer's rules (nor libcst).

Entries are written to a temporary file in the same folder and moved into
place with :func:`os.replace`, so concurrent runs never see half an entry; an
entry that cannot be read or parsed is treated as a miss. The folder holds a
``.gitignore`` containing ``*``.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from analyzer.config import Config
from analyzer.diagnostics import Diagnostic, Position, Range, Related, Severity
from analyzer.report import FileReport

from . import __version__
from .formats import RuleInfo, RuleLike

__all__ = ["CACHE_DIR_NAME", "ResultCache", "default_cache_dir", "tool_key", "config_key"]

CACHE_DIR_NAME = ".tilelint_cache"
#: Bump when the layout of an entry changes.
_FORMAT = 1

_ANALYZER_DIR = Path(__file__).resolve().parent.parent / "analyzer"


def default_cache_dir(pyproject: Path | None) -> Path:
    """``.tilelint_cache`` beside ``pyproject`` (the project root), else in the current directory."""
    base = pyproject.resolve().parent if pyproject is not None else Path.cwd()
    return base / CACHE_DIR_NAME


_TOOL_KEY: str | None = None


def tool_key() -> str:
    """Hash of the version, the Python version and the analyzer package's source files."""
    global _TOOL_KEY
    if _TOOL_KEY is None:
        digest = hashlib.sha256(f"tilelint {__version__} format {_FORMAT} python {sys.version}".encode())
        for path in sorted(_ANALYZER_DIR.rglob("*.py")):
            digest.update(b"\0" + path.relative_to(_ANALYZER_DIR).as_posix().encode() + b"\0")
            try:
                digest.update(path.read_bytes())
            except OSError:
                digest.update(b"<unreadable>")
        # The per-file entry point (read, decode, TL900) lives in the CLI.
        cli = Path(__file__).resolve().parent / "lint_cli.py"
        try:
            digest.update(b"\0lint_cli\0" + cli.read_bytes())
        except OSError:
            pass
        _TOOL_KEY = digest.hexdigest()
    return _TOOL_KEY


def config_key(config: Config, requests: Sequence[str], pyproject: Path | None) -> str:
    """Hash of everything in the configuration that can change a file's report."""
    try:
        project = pyproject.read_bytes() if pyproject is not None else b""
    except OSError:
        project = b"<unreadable>"
    data = {
        "arches": list(config.arches),
        "select": list(config.select),
        "ignore": list(config.ignore),
        "instantiate": list(config.instantiate),
        "near_limit": repr(config.near_limit),
        "requests": list(requests),
        "pyproject": hashlib.sha256(project).hexdigest(),
    }
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


# --------------------------------------------------------------------------- (de)serialisation


def _range_data(r: Range) -> list[int]:
    return [r.start.line, r.start.character, r.end.line, r.end.character]


def _range_of(data: list[int]) -> Range:
    a, b, c, d = data
    return Range(Position(a, b), Position(c, d))


def report_to_data(report: FileReport) -> dict[str, Any]:
    return {
        "diagnostics": [
            {
                "code": d.code,
                "severity": int(d.severity),
                "message": d.message,
                "range": _range_data(d.range),
                "arch": d.arch,
                "kernel": d.kernel,
                "related": [[_range_data(r.range), r.message] for r in d.related],
                "source": d.source,
            }
            for d in report.diagnostics
        ],
        "kernels": report.kernels,
    }


def report_from_data(path: str, data: Mapping[str, Any]) -> FileReport:
    diagnostics = [
        Diagnostic(
            code=d["code"],
            severity=Severity(d["severity"]),
            message=d["message"],
            range=_range_of(d["range"]),
            arch=d["arch"],
            kernel=d["kernel"],
            related=tuple(Related(_range_of(r), m) for r, m in d["related"]),
            source=d["source"],
        )
        for d in data["diagnostics"]
    ]
    kernels = data["kernels"]
    if not isinstance(kernels, list):
        raise ValueError("kernels")
    return FileReport(path, diagnostics, kernels)


# --------------------------------------------------------------------------- the cache


class ResultCache:
    """One folder of entries for one (tool, configuration) pair."""

    def __init__(self, folder: Path, config: Config, requests: Sequence[str], pyproject: Path | None) -> None:
        self.folder = folder
        self.key = hashlib.sha256((tool_key() + config_key(config, requests, pyproject)).encode()).hexdigest()
        self.hits = 0
        self.misses = 0
        self._ready = False

    # -- files

    def _entry(self, path: str) -> Path:
        name = hashlib.sha256(f"{self.key}\0{path}".encode()).hexdigest()[:40]
        return self.folder / name[:2] / f"{name}.json"

    def _prepare(self) -> bool:
        if self._ready:
            return True
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            ignore = self.folder / ".gitignore"
            if not ignore.exists():
                _write_atomic(ignore, b"# Created by tilelint.\n*\n")
            self._ready = True
        except OSError:
            return False
        return True

    def _read_json(self, path: Path) -> Any:
        try:
            return json.loads(path.read_bytes())
        except (OSError, ValueError):
            return None

    def _write_json(self, path: Path, data: Any) -> None:
        if not self._prepare():
            return
        try:
            path.parent.mkdir(exist_ok=True)
            _write_atomic(path, json.dumps(data, separators=(",", ":")).encode())
        except (OSError, TypeError, ValueError):
            pass  # a cache that cannot be written only costs time

    # -- reports

    def load(self, path: str, digest: str) -> FileReport | None:
        data = self._read_json(self._entry(path))
        if not isinstance(data, dict) or data.get("key") != self.key or data.get("path") != path:
            return None
        if data.get("sha256") != digest:
            return None
        try:
            return report_from_data(path, data["report"])
        except (KeyError, TypeError, ValueError):
            return None

    def store(self, path: str, digest: str, report: FileReport) -> None:
        entry = {"key": self.key, "path": path, "sha256": digest, "report": report_to_data(report)}
        self._write_json(self._entry(path), entry)

    # -- rule metadata

    def _rules_entry(self) -> Path:
        return self.folder / f"rules-{tool_key()[:32]}.json"

    def load_rules(self) -> dict[str, RuleLike] | None:
        data = self._read_json(self._rules_entry())
        if not isinstance(data, list):
            return None
        try:
            rules = {r[0]: RuleInfo(r[0], r[1], Severity(r[2]), r[3], r[4]) for r in data}
        except (IndexError, TypeError, ValueError):
            return None
        return rules  # type: ignore[return-value]

    def store_rules(self, rules: Mapping[str, RuleLike]) -> None:
        data = [[r.code, r.name, int(r.severity), r.summary, r.help_uri] for _, r in sorted(rules.items())]
        self._write_json(self._rules_entry(), data)


def _write_atomic(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def file_digest(path: str) -> str | None:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return None


def analyze_with_cache(
    files: list[str],
    cache: ResultCache | None,
    analyze: Callable[[list[str]], list[FileReport]],
) -> list[FileReport]:
    """Reports for ``files`` in order: from ``cache`` where the file is unchanged, else from ``analyze``."""
    if cache is None:
        return analyze(files)
    reports: dict[str, FileReport] = {}
    digests: dict[str, str] = {}
    todo: list[str] = []
    for path in files:
        digest = file_digest(path)
        hit = cache.load(path, digest) if digest is not None else None
        if hit is not None:
            reports[path] = hit
            continue
        todo.append(path)
        if digest is not None:
            digests[path] = digest
    cache.hits, cache.misses = len(files) - len(todo), len(todo)
    if todo:
        for path, report in zip(todo, analyze(todo)):
            reports[path] = report
            # Store only what came from the bytes hashed (a file changed since, or unreadable, is not stored).
            if path in digests and file_digest(path) == digests[path]:
                cache.store(path, digests[path], report)
    return [reports[p] for p in files]


def rules_for_render(cache: ResultCache | None, load_registry: Callable[[], Mapping[str, RuleLike]]) -> Mapping[str, RuleLike]:
    """The rule metadata for the formats: cached when possible, so the registry (and libcst) stay unimported."""
    if cache is not None:
        rules = cache.load_rules()
        if rules is not None:
            return rules
    rules = load_registry()
    if cache is not None:
        cache.store_rules(rules)
    return rules


def open_cache(args: Any, config: Config, requests: Sequence[str]) -> ResultCache | None:
    """The cache for a ``tilelint`` run (``args`` from its parser); None with ``--no-cache``."""
    if getattr(args, "no_cache", False):
        return None
    from analyzer.config import find_pyproject

    pyproject: Path | None = None
    if not args.no_config:
        pyproject = Path(args.config) if args.config else find_pyproject(Path.cwd())
    cache_dir = getattr(args, "cache_dir", None)
    folder = Path(cache_dir) if cache_dir else default_cache_dir(pyproject)
    return ResultCache(folder, config, requests, pyproject)
