"""Analyzer settings, merged from `[tool.tilelint]` and the command line."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .arch import DEFAULT_ARCHES, parse_arch_list


class ConfigError(ValueError):
    pass


@dataclass(frozen=True)
class Config:
    arches: tuple[str, ...] = DEFAULT_ARCHES
    select: tuple[str, ...] = ()  # code prefixes; empty = all
    ignore: tuple[str, ...] = ()
    instantiate: tuple[str, ...] = ()  # "matmul(1024, 1024, ...)" requests
    near_limit: float = 0.9  # TL103 fires at this fraction of an arch's limit
    exclude: tuple[str, ...] = ()

    def enabled(self, code: str) -> bool:
        if self.select and not any(code.startswith(p) for p in self.select):
            return False
        return not any(code.startswith(p) for p in self.ignore)

    def merged(self, **overrides: Any) -> "Config":
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})


def _codes(value: Any, key: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"[tool.tilelint] {key} must be a list of rule codes")
    return tuple(v.strip().upper() for v in value if v.strip())


def from_table(table: dict[str, Any], base: Config = Config()) -> Config:
    """Read a `[tool.tilelint]` table (also the LSP `tilelsp` settings section)."""
    out = base
    known = {"arch", "arches", "select", "ignore", "instantiate", "near-limit", "near_limit", "exclude"}
    unknown = sorted(set(table) - known)
    if unknown:
        raise ConfigError(f"[tool.tilelint] unknown key(s): {', '.join(unknown)}")
    arch = table.get("arch", table.get("arches"))
    if arch is not None:
        out = replace(out, arches=parse_arch_list(arch))
    if "select" in table:
        out = replace(out, select=_codes(table["select"], "select"))
    if "ignore" in table:
        out = replace(out, ignore=_codes(table["ignore"], "ignore"))
    if "instantiate" in table:
        inst = table["instantiate"]
        if isinstance(inst, str):
            inst = [inst]
        if not isinstance(inst, list) or not all(isinstance(v, str) for v in inst):
            raise ConfigError("[tool.tilelint] instantiate must be a list of calls like 'matmul(1024, 1024)'")
        out = replace(out, instantiate=tuple(inst))
    near = table.get("near-limit", table.get("near_limit"))
    if near is not None:
        if not isinstance(near, (int, float)) or not 0 < float(near) <= 1:
            raise ConfigError("[tool.tilelint] near-limit must be a fraction in (0, 1]")
        out = replace(out, near_limit=float(near))
    if "exclude" in table:
        exclude = table["exclude"]
        if not isinstance(exclude, list) or not all(isinstance(v, str) for v in exclude):
            raise ConfigError("[tool.tilelint] exclude must be a list of glob patterns")
        out = replace(out, exclude=tuple(exclude))
    return out


@dataclass(frozen=True)
class ProjectConfig:
    config: Config
    pyproject: Path | None = None


def find_pyproject(start: Path) -> Path | None:
    here = start.resolve()
    if here.is_file():
        here = here.parent
    for folder in (here, *here.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def load_pyproject(path: Path, base: Config = Config()) -> Config:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: cannot read: {err}") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: invalid TOML: {err}") from None
    table = data.get("tool", {}).get("tilelint")
    if table is None:
        return base
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.tilelint] must be a table")
    try:
        return from_table(table, base)
    except ValueError as err:
        raise ConfigError(f"{path}: {err}") from None


def project_config(start: str | os.PathLike[str]) -> ProjectConfig:
    path = find_pyproject(Path(start))
    if path is None:
        return ProjectConfig(Config())
    return ProjectConfig(load_pyproject(path), path)
