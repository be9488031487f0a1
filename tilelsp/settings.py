"""The server's settings: `[tool.tilelint]` of the nearest pyproject.toml, then the client's.

Layers, later ones win: the analyzer defaults, `[tool.tilelint]` of the
pyproject.toml nearest to the file, the client's `initializationOptions`,
then the `tilelsp` section the client answers to `workspace/configuration`
(or sends in `workspace/didChangeConfiguration` when it cannot be asked).

Client keys (all optional; `null` or an empty list means "not set", so an
editor that sends every setting with its default does not wipe the project's
pyproject.toml):

| key | meaning | same as |
|---|---|---|
| `archs` | target architectures, a list or `"sm_80,sm_90"` or `"all"` | `tilelint --arch` |
| `instantiate` | calls binding kernel factories, e.g. `["matmul(1024, 1024, 1024)"]` | `tilelint --instantiate` |
| `select` / `ignore` | codes or prefixes | `tilelint --select/--ignore` |
| `nearLimit` | TL103's warning threshold, a fraction of the limit | `tilelint --near-limit` |
| `failOn` | the lowest severity shown: `information` (default), `warning` or `error` | |
| `debounceMs` | wait after the last edit before analysing (default 150) | |
| `trusted` | the workspace is trusted: the server may run the compiler, which executes the file's module (default false) | |
| `compileOnSave` | compile each instantiated kernel when the file is saved (default true; needs `trusted`) | |
| `compileTarget` | `auto` (CUDA when nvcc is found, else CPU), `cuda` or `cpu` | `tilec build --target` |
| `compileTimeoutS` | seconds a compile may take before its worker is killed (default 120) | |
| `compileBackend` | `tilec` (the embedded compiler, default), `tilelang` (TileLang itself, lowered by `tilelangPython`) or `both` | |
| `tilelangPython` | the Python interpreter that has TileLang installed (e.g. the project's venv) | |

A bad value is skipped with a message; it never stops the server.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from analyzer.arch import ArchError, parse_arch_list
from analyzer.config import Config, ConfigError, find_pyproject, load_pyproject
from analyzer.diagnostics import Severity

SECTION = "tilelsp"
DEFAULT_DEBOUNCE_MS = 150
MAX_DEBOUNCE_MS = 10_000
DEFAULT_COMPILE_TIMEOUT_S = 120.0
COMPILE_TARGETS = ("auto", "cuda", "cpu")
COMPILE_BACKENDS = ("tilec", "tilelang", "both")


@dataclass(frozen=True)
class Settings:
    """One layer of client settings; None = not set in this layer."""

    archs: tuple[str, ...] | None = None
    instantiate: tuple[str, ...] | None = None
    select: tuple[str, ...] | None = None
    ignore: tuple[str, ...] | None = None
    near_limit: float | None = None
    fail_on: Severity | None = None
    debounce_ms: int | None = None
    trusted: bool | None = None
    compile_on_save: bool | None = None
    compile_target: str | None = None
    compile_timeout_s: float | None = None
    compile_backend: str | None = None
    tilelang_python: str | None = None


@dataclass(frozen=True)
class DocumentSettings:
    """Everything that decides how one document is analysed and shown."""

    config: Config
    requests: tuple[str, ...] = ()  # the client's `instantiate`, like `tilelint --instantiate`
    fail_on: Severity = Severity.INFORMATION
    debounce_ms: int = DEFAULT_DEBOUNCE_MS
    pyproject: str | None = None
    problems: tuple[str, ...] = field(default=(), compare=False)
    trusted: bool = False
    compile_on_save: bool = True
    compile_target: str = "auto"
    compile_timeout_s: float = DEFAULT_COMPILE_TIMEOUT_S
    compile_backend: str = "tilec"
    tilelang_python: str | None = None


def _strings(value: Any, key: str, problems: list[str]) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = [v for v in value.split(",")]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        problems.append(f"setting {SECTION}.{key} must be a list of strings; ignored")
        return None
    items = tuple(v.strip() for v in value if v.strip())
    return items or None


def parse_settings(raw: Any) -> tuple[Settings, list[str]]:
    """A client's `tilelsp` section -> Settings, and a message per value that was skipped."""
    problems: list[str] = []
    if raw is None:
        return Settings(), problems
    if not isinstance(raw, dict):
        return Settings(), [f"settings section {SECTION} must be an object; ignored"]
    known = {"archs", "arch", "instantiate", "select", "ignore", "nearLimit", "failOn", "debounceMs", "trusted",
             "compileOnSave", "compileTarget", "compileTimeoutS", "compileBackend", "tilelangPython"}
    for key in sorted(set(raw) - known):
        problems.append(f"unknown setting {SECTION}.{key}; ignored")
    archs = None
    arch_value = raw.get("archs", raw.get("arch"))
    arch_items = _strings(arch_value, "archs", problems)
    if arch_items:
        try:
            archs = parse_arch_list(list(arch_items))
        except ArchError as err:
            problems.append(f"setting {SECTION}.archs: {err}; ignored")
    select = _strings(raw.get("select"), "select", problems)
    ignore = _strings(raw.get("ignore"), "ignore", problems)
    near = raw.get("nearLimit")
    if near is not None and (isinstance(near, bool) or not isinstance(near, (int, float)) or not 0 < near <= 1):
        problems.append(f"setting {SECTION}.nearLimit must be a fraction in (0, 1]; ignored")
        near = None
    fail_on = None
    if raw.get("failOn") is not None:
        try:
            fail_on = Severity.parse(str(raw["failOn"]))
        except KeyError:
            problems.append(f"setting {SECTION}.failOn must be error, warning or information; ignored")
    debounce = raw.get("debounceMs")
    if debounce is not None and (isinstance(debounce, bool) or not isinstance(debounce, (int, float))
                                 or not 0 <= debounce <= MAX_DEBOUNCE_MS):
        problems.append(f"setting {SECTION}.debounceMs must be a number of milliseconds in [0, {MAX_DEBOUNCE_MS}]; "
                        "ignored")
        debounce = None
    flags = {}
    for key in ("trusted", "compileOnSave"):
        value = raw.get(key)
        if value is not None and not isinstance(value, bool):
            problems.append(f"setting {SECTION}.{key} must be true or false; ignored")
            value = None
        flags[key] = value
    target = raw.get("compileTarget")
    if target is not None and target not in COMPILE_TARGETS:
        problems.append(f"setting {SECTION}.compileTarget must be one of {', '.join(COMPILE_TARGETS)}; ignored")
        target = None
    backend = raw.get("compileBackend")
    if backend is not None and backend not in COMPILE_BACKENDS:
        problems.append(f"setting {SECTION}.compileBackend must be one of {', '.join(COMPILE_BACKENDS)}; ignored")
        backend = None
    tl_python = raw.get("tilelangPython")
    if tl_python is not None and (not isinstance(tl_python, str) or not tl_python.strip()):
        problems.append(f"setting {SECTION}.tilelangPython must be a path to a Python interpreter; ignored")
        tl_python = None
    timeout = raw.get("compileTimeoutS")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0):
        problems.append(f"setting {SECTION}.compileTimeoutS must be a positive number of seconds; ignored")
        timeout = None
    return Settings(
        trusted=flags["trusted"],
        compile_on_save=flags["compileOnSave"],
        compile_target=target,
        compile_timeout_s=float(timeout) if timeout is not None else None,
        compile_backend=backend,
        tilelang_python=tl_python,
        archs=archs,
        instantiate=_strings(raw.get("instantiate"), "instantiate", problems) if "instantiate" in raw else None,
        select=tuple(c.upper() for c in select) if select else None,
        ignore=tuple(c.upper() for c in ignore) if ignore else None,
        near_limit=float(near) if near is not None else None,
        fail_on=fail_on,
        debounce_ms=int(debounce) if debounce is not None else None,
    ), problems


def section_of(options: Any) -> Any:
    """`initializationOptions` or `didChangeConfiguration.settings`: `{"tilelsp": {...}}` or the section itself."""
    if isinstance(options, dict) and isinstance(options.get(SECTION), dict):
        return options[SECTION]
    return options


def merge(base: Config, layers: list[Settings], pyproject: str | None = None,
          problems: tuple[str, ...] = ()) -> DocumentSettings:
    config = base
    requests: tuple[str, ...] = ()
    fail_on = Severity.INFORMATION
    debounce = DEFAULT_DEBOUNCE_MS
    compiling: dict[str, Any] = {}
    for layer in layers:
        for key in ("trusted", "compile_on_save", "compile_target", "compile_timeout_s", "compile_backend",
                    "tilelang_python"):
            if getattr(layer, key) is not None:
                compiling[key] = getattr(layer, key)
        config = config.merged(arches=layer.archs, select=layer.select, ignore=layer.ignore,
                               near_limit=layer.near_limit)
        if layer.instantiate is not None:
            requests = layer.instantiate
        if layer.fail_on is not None:
            fail_on = layer.fail_on
        if layer.debounce_ms is not None:
            debounce = layer.debounce_ms
    return DocumentSettings(config, requests, fail_on, debounce, pyproject, problems, **compiling)


class ProjectConfigs:
    """`[tool.tilelint]` of the nearest pyproject.toml per folder, re-read when the file changes."""

    def __init__(self) -> None:
        self._nearest: dict[str, Path | None] = {}
        self._loaded: dict[Path, tuple[int, Config, str | None]] = {}

    def clear(self) -> None:
        self._nearest.clear()
        self._loaded.clear()

    def for_file(self, path: str | None) -> tuple[Config, str | None, str | None]:
        """(config, pyproject path, problem) for a file; defaults for files not on disk."""
        if path is None:
            return Config(), None, None
        folder = os.path.dirname(os.path.abspath(path))
        if folder not in self._nearest:
            try:
                self._nearest[folder] = find_pyproject(Path(folder))
            except OSError:
                self._nearest[folder] = None
        pyproject = self._nearest[folder]
        if pyproject is None:
            return Config(), None, None
        try:
            mtime = pyproject.stat().st_mtime_ns
        except OSError:
            self._nearest.pop(folder, None)
            return Config(), None, None
        cached = self._loaded.get(pyproject)
        if cached is None or cached[0] != mtime:
            try:
                cached = (mtime, load_pyproject(pyproject), None)
            except ConfigError as err:
                cached = (mtime, Config(), f"{err}; using the default settings")
            self._loaded[pyproject] = cached
        return cached[1], str(pyproject), cached[2]
