"""The diagnostic type every part of tilelsp speaks.

Positions are 0-based lines and 0-based columns counted in Unicode code
points (what libcst reports); the language server converts columns to the
negotiated LSP position encoding at its edge.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Severity(enum.IntEnum):
    """Ordered so that a larger value is more severe."""

    INFORMATION = 1
    WARNING = 2
    ERROR = 3

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> "Severity":
        key = text.strip().upper()
        if key in ("INFO", "NOTE"):
            key = "INFORMATION"
        return cls[key]


@dataclass(frozen=True, order=True)
class Position:
    line: int
    character: int

    def to_json(self) -> dict[str, int]:
        return {"line": self.line, "character": self.character}


@dataclass(frozen=True, order=True)
class Range:
    start: Position
    end: Position

    @classmethod
    def of(cls, line: int, col: int, end_line: int, end_col: int) -> "Range":
        return cls(Position(line, col), Position(end_line, end_col))

    @classmethod
    def point(cls, line: int, col: int = 0) -> "Range":
        return cls(Position(line, col), Position(line, col))

    def to_json(self) -> dict[str, dict[str, int]]:
        return {"start": self.start.to_json(), "end": self.end.to_json()}


@dataclass(frozen=True)
class Related:
    """Another place that explains a diagnostic (a buffer behind a budget)."""

    range: Range
    message: str


@dataclass(frozen=True)
class Diagnostic:
    code: str
    severity: Severity
    message: str
    range: Range
    arch: str | None = None
    kernel: str | None = None
    related: tuple[Related, ...] = field(default_factory=tuple)
    source: str = "tilelint"

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "code": self.code,
            "severity": self.severity.label,
            "message": self.message,
            "range": self.range.to_json(),
            "arch": self.arch,
            "kernel": self.kernel,
        }
        if self.related:
            out["related"] = [
                {"range": r.range.to_json(), "message": r.message} for r in self.related
            ]
        return out
