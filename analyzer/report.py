"""What analysing one file produces: diagnostics and per-kernel facts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .diagnostics import Diagnostic, Severity


@dataclass
class FileReport:
    path: str
    diagnostics: list[Diagnostic] = field(default_factory=list)
    # Facts: the KernelModel reduced to plain JSON data (see DESIGN.md section 5).
    kernels: list[dict[str, Any]] = field(default_factory=list)

    def count(self, severity: Severity) -> int:
        return sum(1 for d in self.diagnostics if d.severity == severity)

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "diagnostics": [d.to_json() for d in self.diagnostics],
            "kernels": self.kernels,
        }


def summary(reports: list[FileReport]) -> dict[str, int]:
    return {
        "files": len(reports),
        "kernels": sum(len(r.kernels) for r in reports),
        "errors": sum(r.count(Severity.ERROR) for r in reports),
        "warnings": sum(r.count(Severity.WARNING) for r in reports),
        "information": sum(r.count(Severity.INFORMATION) for r in reports),
    }


def to_json(reports: list[FileReport]) -> dict[str, Any]:
    return {
        "version": 1,
        "files": [r.to_json() for r in reports],
        "summary": summary(reports),
    }
