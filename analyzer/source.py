"""Parsing a file and finding where its nodes are.

The file is parsed with libcst (the tree every stage reads) and checked with
CPython's own parser first, which is fast, gives the best syntax-error
messages and gives each statement's line. libcst's PositionProvider walks the
whole tree and costs about twice the parse, so positions are computed lazily:
for one statement at a time, on a copy of just that statement re-indented as
in the file, and only for the nodes a result actually mentions.
"""

from __future__ import annotations

import ast
import re
import warnings
from dataclasses import dataclass, field

import libcst as cst
from libcst.metadata import CodeRange, MetadataWrapper, PositionProvider
from libcst.metadata.position_provider import PositionProvidingCodegenState

from .diagnostics import Range


class SourceSyntaxError(Exception):
    """The file does not parse; carries a 0-based position."""

    def __init__(self, message: str, line: int, col: int):
        super().__init__(message)
        self.message = message
        self.line = line
        self.col = col


_DIRECTIVE = re.compile(r"#\s*tilelint\s*:\s*(?P<verb>ignore|instantiate)\b(?P<rest>.*)$")
_IGNORE_CODES = re.compile(r"^\s*\[(?P<codes>[^\]]*)\]")


@dataclass
class Directives:
    """`# tilelint: ...` comments found in the file."""

    # 0-based line -> codes suppressed there (empty set: every code)
    ignores: dict[int, frozenset[str]] = field(default_factory=dict)
    # (0-based line, call text) for `# tilelint: instantiate f(...)`
    instantiate: list[tuple[int, str]] = field(default_factory=list)

    def suppressed(self, code: str, line: int) -> bool:
        """True when `code` is ignored on `line` or on the line just above it."""
        for candidate in (line, line - 1):
            codes = self.ignores.get(candidate)
            if codes is not None and (not codes or code in codes):
                return True
        return False


def scan_directives(text: str) -> Directives:
    found = Directives()
    if "tilelint" not in text:
        return found
    for number, line in enumerate(text.splitlines()):
        if "tilelint" not in line:
            continue
        match = _DIRECTIVE.search(line)
        if not match:
            continue
        rest = match.group("rest")
        if match.group("verb") == "ignore":
            codes = _IGNORE_CODES.match(rest)
            names = (
                frozenset(c.strip().upper() for c in codes.group("codes").split(",") if c.strip())
                if codes
                else frozenset()
            )
            found.ignores[number] = names
        else:
            found.instantiate.append((number, rest.strip()))
    return found


def parse(text: str) -> tuple[cst.Module, ast.Module]:
    """Parse with CPython (for errors and lines) and libcst (for the tree)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(text)
    except SyntaxError as err:
        line = max((err.lineno or 1) - 1, 0)
        col = max((err.offset or 1) - 1, 0)
        raise SourceSyntaxError(err.msg or "invalid syntax", line, col) from None
    except (ValueError, RecursionError, MemoryError) as err:
        raise SourceSyntaxError(f"cannot parse: {err}", 0, 0) from None
    try:
        module = cst.parse_module(text)
    except cst.ParserSyntaxError as err:
        raise SourceSyntaxError(
            f"libcst cannot parse this file: {err.message}", err.raw_line - 1, err.raw_column
        ) from None
    except RecursionError:
        raise SourceSyntaxError("cannot parse: nesting too deep", 0, 0) from None
    return module, tree


class Locator:
    """Source ranges of libcst nodes, computed one statement at a time."""

    def __init__(self, module: cst.Module, tree: ast.Module):
        self._module = module
        self._tree = tree
        self._lines: dict[int, tuple[int, str]] | None = None  # id(stmt) -> (1-based line, indent)
        self._ends: dict[int, int] = {}  # id(stmt) -> 1-based last line
        self._cache: dict[int, dict[cst.CSTNode, CodeRange]] = {}
        self._full: dict[cst.CSTNode, CodeRange] | None = None

    # statement table -------------------------------------------------
    def _index(self) -> dict[int, tuple[int, str]]:
        if self._lines is None:
            table: dict[int, tuple[int, str]] = {}
            try:
                self._pair(self._module.body, self._tree.body, "", table)
            except (IndexError, AttributeError, TypeError):
                table = {}
                self._full = self._full_positions()
            self._lines = table
        return self._lines

    def _pair(self, stmts, nodes, indent: str, table) -> None:
        i = 0
        for stmt in stmts:
            if isinstance(stmt, cst.SimpleStatementLine):
                table[id(stmt)] = (nodes[i].lineno, indent)
                self._ends[id(stmt)] = nodes[i + len(stmt.body) - 1].end_lineno
                i += len(stmt.body)
                continue
            node = nodes[i]
            i += 1
            table[id(stmt)] = (node.lineno, indent)
            self._ends[id(stmt)] = node.end_lineno
            self._pair_compound(stmt, node, indent, table)
        if i != len(nodes):
            raise IndexError("statement count mismatch")

    def _pair_block(self, block, nodes, indent: str, table) -> None:
        if isinstance(block, cst.IndentedBlock):
            step = block.indent if block.indent is not None else self._module.default_indent
            self._pair(block.body, nodes, indent + step, table)

    def _pair_compound(self, stmt, node, indent: str, table) -> None:
        if isinstance(stmt, (cst.FunctionDef, cst.ClassDef, cst.With)):
            self._pair_block(stmt.body, node.body, indent, table)
        elif isinstance(stmt, cst.If):
            self._pair_block(stmt.body, node.body, indent, table)
            orelse = stmt.orelse
            if isinstance(orelse, cst.If):
                table[id(orelse)] = (node.orelse[0].lineno, indent)
                self._pair_compound(orelse, node.orelse[0], indent, table)
            elif isinstance(orelse, cst.Else):
                self._pair_block(orelse.body, node.orelse, indent, table)
        elif isinstance(stmt, (cst.For, cst.While)):
            self._pair_block(stmt.body, node.body, indent, table)
            if stmt.orelse is not None:
                self._pair_block(stmt.orelse.body, node.orelse, indent, table)
        elif isinstance(stmt, (cst.Try, cst.TryStar)):
            self._pair_block(stmt.body, node.body, indent, table)
            for handler, ah in zip(stmt.handlers, node.handlers):
                self._pair_block(handler.body, ah.body, indent, table)
            if stmt.orelse is not None:
                self._pair_block(stmt.orelse.body, node.orelse, indent, table)
            if stmt.finalbody is not None:
                self._pair_block(stmt.finalbody.body, node.finalbody, indent, table)
        elif isinstance(stmt, cst.Match):
            for case, ac in zip(stmt.cases, node.cases):
                self._pair_block(case.body, ac.body, indent, table)

    # positions -------------------------------------------------------
    def _full_positions(self) -> dict[cst.CSTNode, CodeRange]:
        wrapper = MetadataWrapper(self._module, unsafe_skip_copy=True)
        return dict(wrapper.resolve(PositionProvider))

    def _statement_positions(self, stmt: cst.CSTNode) -> dict[cst.CSTNode, CodeRange]:
        cached = self._cache.get(id(stmt))
        if cached is not None:
            return cached
        line, indent = self._index().get(id(stmt), (None, ""))
        if line is None:
            self._full = self._full or self._full_positions()
            return self._full
        shown = _header_only(stmt)
        sink = _PositionSink()
        state = PositionProvidingCodegenState(
            default_indent=self._module.default_indent,
            default_newline=self._module.default_newline,
            provider=sink,  # type: ignore[arg-type]
        )
        if indent:
            state.indent_tokens = [indent]
        shown._codegen(state)
        table = sink._computed
        start = table[shown].start.line
        shift = line - start
        if shift:
            table = {
                node: CodeRange(
                    (rng.start.line + shift, rng.start.column), (rng.end.line + shift, rng.end.column)
                )
                for node, rng in table.items()
            }
        table[stmt] = table[shown]
        self._cache[id(stmt)] = table
        return table

    def lines_of(self, stmt: cst.CSTNode) -> tuple[int, int] | None:
        """1-based first and last line of a statement (decorators excluded)."""
        entry = self._index().get(id(stmt))
        if entry is None:
            return None
        return entry[0], self._ends.get(id(stmt), entry[0])

    def line_of(self, stmt: cst.CSTNode) -> int | None:
        """0-based first line of a statement, without computing any column."""
        entry = self._index().get(id(stmt))
        return entry[0] - 1 if entry is not None else None

    def range(self, node: cst.CSTNode, stmt: cst.CSTNode | None) -> Range:
        """0-based range of `node`, which lies inside statement `stmt`."""
        table = self._statement_positions(stmt) if stmt is not None else None
        rng = table.get(node) if table is not None else None
        if rng is None:
            self._full = self._full or self._full_positions()
            rng = self._full.get(node)
        if rng is None:
            return Range.point(0, 0)
        return Range.of(rng.start.line - 1, rng.start.column, rng.end.line - 1, rng.end.column)


class _PositionSink:
    """Stands in for a metadata provider: collects what the codegen state records."""

    def __init__(self) -> None:
        self._computed: dict[cst.CSTNode, CodeRange] = {}


_PASS_BODY = cst.IndentedBlock(body=[cst.SimpleStatementLine([cst.Pass()])])


def _header_only(stmt: cst.CSTNode) -> cst.CSTNode:
    """The statement with its body cut to `pass`: header positions are unchanged."""
    if isinstance(stmt, (cst.FunctionDef, cst.ClassDef, cst.With)) and isinstance(
        stmt.body, cst.IndentedBlock
    ):
        return stmt.with_changes(body=_PASS_BODY)
    if isinstance(stmt, (cst.If, cst.For, cst.While)) and isinstance(stmt.body, cst.IndentedBlock):
        return stmt.with_changes(body=_PASS_BODY, orelse=None)
    return stmt


@dataclass
class SourceFile:
    """One file, parsed, with its locator and directives."""

    path: str
    text: str
    module: cst.Module
    locator: Locator
    directives: Directives
    _lines: list[str] | None = None

    def text_of(self, stmt: cst.CSTNode) -> str | None:
        """The source lines of a statement, cheaply (no code generation)."""
        span = self.locator.lines_of(stmt)
        if span is None:
            return None
        if self._lines is None:
            self._lines = self.text.splitlines()
        return "\n".join(self._lines[span[0] - 1 : span[1]])

    @classmethod
    def from_text(cls, text: str, path: str) -> "SourceFile":
        module, tree = parse(text)
        return cls(path, text, module, Locator(module, tree), scan_directives(text))
