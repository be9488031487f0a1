"""Analyzer diagnostics -> `lsprotocol` diagnostics (positions stay in code points).

Each LSP diagnostic carries what `tilelint --format json` prints for the
same finding (code, severity, message, range, related places, arch and kernel
in `data`), plus a link to the rule's documentation and editor tags. The rule
registry is imported on first use, not when the server starts.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from lsprotocol import types

from analyzer.diagnostics import Diagnostic, Range, Severity

SOURCE = "tilelint"

_SEVERITY = {
    Severity.ERROR: types.DiagnosticSeverity.Error,
    Severity.WARNING: types.DiagnosticSeverity.Warning,
    Severity.INFORMATION: types.DiagnosticSeverity.Information,
}

#: Codes whose subject is code that does nothing (editors fade it): TL413 a fragment written but
#: never read, TL414 a shared buffer allocated and never used.
UNNECESSARY = frozenset({"TL413", "TL414"})

_RULES_DOC = Path(__file__).resolve().parents[1] / "docs" / "rules.md"


def lsp_range(rng: Range) -> types.Range:
    return types.Range(
        types.Position(max(rng.start.line, 0), max(rng.start.character, 0)),
        types.Position(max(rng.end.line, 0), max(rng.end.character, 0)),
    )


@lru_cache(maxsize=None)
def rule_href(code: str) -> str | None:
    """`file://…/docs/rules.md#tl101-shared-memory-over-limit` when the docs are here, else the anchor."""
    from analyzer.rules import lookup

    rule = lookup(code)
    if rule is None:
        return None
    anchor = f"{rule.code.lower()}-{rule.name}"
    if _RULES_DOC.is_file():
        return f"{_RULES_DOC.as_uri()}#{anchor}"
    return f"#{anchor}"


def to_lsp(diag: Diagnostic, uri: str) -> types.Diagnostic:
    href = rule_href(diag.code)
    data: dict[str, Any] = {"arch": diag.arch, "kernel": diag.kernel}
    return types.Diagnostic(
        range=lsp_range(diag.range),
        message=diag.message,
        severity=_SEVERITY[diag.severity],
        code=diag.code,
        code_description=types.CodeDescription(href=href) if href else None,
        source=SOURCE,
        tags=[types.DiagnosticTag.Unnecessary] if diag.code in UNNECESSARY else None,
        related_information=[
            types.DiagnosticRelatedInformation(types.Location(uri, lsp_range(r.range)), r.message)
            for r in diag.related
        ] or None,
        data=data,
    )


def diagnostics_to_lsp(diagnostics: list[Diagnostic], uri: str, fail_on: Severity) -> list[types.Diagnostic]:
    """The diagnostics at or above `fail_on`, in the analyzer's order."""
    return [to_lsp(d, uri) for d in diagnostics if d.severity >= fail_on]
