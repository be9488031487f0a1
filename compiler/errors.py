"""Errors the compiler reports, as the analyzer's `Diagnostic` objects.

Every problem found in a user's kernel (an unsupported `T.*` name, a shape
that does not fit, an undefined name, a syntax error) is raised as a
`CompileError` carrying a `Diagnostic` with the user's file, line and column,
so `tilec`, `tilelint`-style output and the editor show it at the right place.

Codes (family TL9xx, tool problems):
- TL950 not supported yet by the compiler (a `T.*` name, a Python construct);
- TL951 an error in the kernel found while building its IR (shapes, names,
  arguments);
- TL952 the file could not be loaded (syntax error, import error, exception at
  module level).
"""

from __future__ import annotations

import ast
from pathlib import Path

from analyzer.diagnostics import Diagnostic, Range, Severity

UNSUPPORTED = "TL950"
KERNEL_ERROR = "TL951"
LOAD_ERROR = "TL952"


class CompileError(Exception):
    """A located problem in the user's file."""

    def __init__(self, path: str, diagnostic: Diagnostic):
        self.path = path
        self.diagnostic = diagnostic
        super().__init__(self.render())

    def render(self) -> str:
        d = self.diagnostic
        return f"{self.path}:{d.range.start.line + 1}:{d.range.start.character + 1}: {d.code} {d.message}"

    @property
    def line(self) -> int:
        return self.diagnostic.range.start.line + 1


class NotSupported(Exception):
    """Raised by the T.* implementation; the tracer adds the location."""


class KernelError(Exception):
    """A user error found by the T.* implementation; the tracer adds the location."""


def node_range(node: ast.AST | None) -> Range:
    if node is None or not hasattr(node, "lineno"):
        return Range.point(0, 0)
    line = node.lineno - 1
    col = node.col_offset
    end_line = (getattr(node, "end_lineno", None) or node.lineno) - 1
    end_col = getattr(node, "end_col_offset", None)
    if end_col is None:
        end_col = col
    return Range.of(line, col, end_line, end_col)


def located(path: str | Path, node: ast.AST | None, message: str, code: str = KERNEL_ERROR,
            kernel: str | None = None) -> CompileError:
    diag = Diagnostic(code, Severity.ERROR, message, node_range(node), kernel=kernel, source="tilec")
    return CompileError(str(path), diag)


def at_line(path: str | Path, line: int, col: int, message: str, code: str = LOAD_ERROR) -> CompileError:
    """A CompileError at a 1-based line and 0-based column."""
    diag = Diagnostic(code, Severity.ERROR, message, Range.point(max(line - 1, 0), max(col, 0)), source="tilec")
    return CompileError(str(path), diag)


class BarrierError(CompileError):
    """A barrier protocol error found while a kernel ran on the CPU (a wait on a phase that has not
    completed, ...): reported at the barrier operation's line, never a wrong result."""

    def __init__(self, path: str, line: int, col: int, message: str, kernel: str | None = None):
        diag = Diagnostic(KERNEL_ERROR, Severity.ERROR, message, Range.point(max(line - 1, 0), max(col, 0)),
                          kernel=kernel, source="tilec")
        super().__init__(str(path), diag)
