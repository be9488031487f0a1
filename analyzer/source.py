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
from typing import Any

import libcst as cst
from libcst._nodes.internal import CodegenState
from libcst.metadata import MetadataWrapper, PositionProvider

from .diagnostics import Range
from .locations import split_lines


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
    for number, line in enumerate(split_lines(text)):  # Python's line breaks, as the diagnostics count them
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


def parse_python(text: str) -> ast.Module:
    """CPython's tree of `text`; a SourceSyntaxError when it does not parse."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ast.parse(text)
    except SyntaxError as err:
        line = max((err.lineno or 1) - 1, 0)
        col = max((err.offset or 1) - 1, 0)
        raise SourceSyntaxError(err.msg or "invalid syntax", line, col) from None
    except (ValueError, RecursionError, MemoryError) as err:
        raise SourceSyntaxError(f"cannot parse: {err}", 0, 0) from None


def parse(text: str) -> tuple[cst.Module, ast.Module]:
    """Parse with CPython (for errors and lines) and libcst (for the tree)."""
    tree = parse_python(text)
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
        self._cache: dict[int, dict[cst.CSTNode, tuple[int, int, int, int]]] = {}
        self._full: dict[cst.CSTNode, tuple[int, int, int, int]] | None = None

    # statement table -------------------------------------------------
    def _index(self) -> dict[int, tuple[int, str]]:
        if self._lines is None:
            table: dict[int, tuple[int, str]] = {}
            try:
                self._pair(self._module.body, self._tree.body, "", table)
            except (IndexError, AttributeError, TypeError):
                table = {}
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
    def _statement_positions(self, stmt: cst.CSTNode) -> dict[cst.CSTNode, tuple[int, int, int, int]]:
        """Spans (1-based lines, 0-based code-point columns) of every node in `stmt`'s header."""
        cached = self._cache.get(id(stmt))
        if cached is not None:
            return cached
        line, indent = self._index().get(id(stmt), (None, ""))
        if line is None:
            return self._full_spans()
        shown = _header_only(stmt)
        state = _PositionState(self._module.default_indent, self._module.default_newline, indent)
        shown._codegen(state)
        spans = state.spans
        shift = line - spans[shown][0]
        if shift:
            spans = {n: (a + shift, b, c + shift, d) for n, (a, b, c, d) in spans.items()}
        spans[stmt] = spans[shown]
        self._cache[id(stmt)] = spans
        return spans

    def _full_spans(self) -> dict[cst.CSTNode, tuple[int, int, int, int]]:
        if self._full is None:
            wrapper = MetadataWrapper(self._module, unsafe_skip_copy=True)
            self._full = {
                n: (r.start.line, r.start.column, r.end.line, r.end.column)
                for n, r in wrapper.resolve(PositionProvider).items()
            }
        return self._full

    @property
    def tree(self) -> ast.Module:
        """CPython's tree of the same text (lines 1-based, columns in UTF-8 bytes)."""
        return self._tree

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
        spans = self._statement_positions(stmt) if stmt is not None else self._full_spans()
        span = spans.get(node)
        if span is None:
            span = self._full_spans().get(node)
        if span is None:
            return Range.point(0, 0)
        return Range.of(span[0] - 1, span[1], span[2] - 1, span[3])


class _Recorder:
    """Context manager for one node's syntactic span (cheaper than libcst's generator-based one)."""

    __slots__ = ("state", "node", "start_node", "end_node", "start")

    def __init__(self, state: "_PositionState", node: cst.CSTNode, start_node: Any, end_node: Any):
        self.state, self.node, self.start_node, self.end_node = state, node, start_node, end_node

    def __enter__(self) -> None:
        self.start = (self.state.line, self.state.column)

    def __exit__(self, *exc: object) -> None:
        st = self.state
        start = st.spans[self.start_node][:2] if self.start_node is not None else self.start
        end = st.spans[self.end_node][2:] if self.end_node is not None else (st.line, st.column)
        st.spans[self.node] = (start[0], start[1], end[0], end[1])


class _PositionState(CodegenState):
    """Generates a statement's code while recording each node's span as plain tuples.

    Same positions as libcst's PositionProvider (syntactic spans where a node
    declares one, whitespace-inclusive otherwise), without its per-node
    CodeRange objects and metadata machinery.
    """

    def __init__(self, default_indent: str, default_newline: str, indent: str) -> None:
        super().__init__(default_indent=default_indent, default_newline=default_newline)
        if indent:
            self.indent_tokens.append(indent)
        self.line = 1
        self.column = 0
        self.stack: list[tuple[int, int]] = []
        self.spans: dict[cst.CSTNode, tuple[int, int, int, int]] = {}

    def _advance(self, value: str) -> None:
        if "\n" not in value and "\r" not in value:
            self.column += len(value)
            return
        parts = _NEWLINES.split(value)
        self.line += len(parts) - 1
        self.column = len(parts[-1])

    def add_indent_tokens(self) -> None:
        for token in self.indent_tokens:
            self._advance(token)

    def add_token(self, value: str) -> None:
        self._advance(value)

    def before_codegen(self, node: cst.CSTNode) -> None:
        self.stack.append((self.line, self.column))

    def after_codegen(self, node: cst.CSTNode) -> None:
        start = self.stack.pop()
        if node not in self.spans:
            self.spans[node] = (start[0], start[1], self.line, self.column)

    def record_syntactic_position(self, node: cst.CSTNode, *, start_node: Any = None, end_node: Any = None) -> Any:
        return _Recorder(self, node, start_node, end_node)


_NEWLINES = re.compile(r"\r\n?|\n")

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
            self._lines = split_lines(self.text)
        return "\n".join(self._lines[span[0] - 1 : span[1]])

    @classmethod
    def from_text(cls, text: str, path: str) -> "SourceFile":
        module, tree = parse(text)
        return cls(path, text, module, Locator(module, tree), scan_directives(text))
