"""Code-point ranges of CPython `ast` nodes, and the lines of a text as Python splits them.

`ast` reports columns in UTF-8 bytes; every range the analyzer hands out is
in code points (see diagnostics.py). Lines are split the way Python's
tokenizer splits them (`\\r\\n`, `\\r`, `\\n`), not with `str.splitlines`,
which also breaks at form feeds and Unicode line separators.
"""

from __future__ import annotations

import ast
import re

from .diagnostics import Position, Range

_NEWLINE = re.compile(r"\r\n|\r|\n")


def split_lines(text: str) -> list[str]:
    """The lines of `text` without their terminators (a trailing newline gives a last empty line)."""
    return _NEWLINE.split(text)


def line_starts(text: str) -> list[int]:
    """Offset in `text` of the first character of each line."""
    return [0] + [m.end() for m in _NEWLINE.finditer(text)]


class Lines:
    """A text's lines, converting `ast` byte columns to code points."""

    def __init__(self, text: str):
        self.lines = split_lines(text)
        self._encoded: dict[int, bytes] = {}

    def line(self, index: int) -> str:
        """0-based line, '' past the end."""
        return self.lines[index] if 0 <= index < len(self.lines) else ""

    def column(self, lineno: int, byte_col: int) -> int:
        """Code-point column of an `ast` position (1-based line, byte column)."""
        text = self.line(lineno - 1)
        if text.isascii():
            return byte_col
        data = self._encoded.get(lineno)
        if data is None:
            data = self._encoded[lineno] = text.encode("utf-8", "surrogatepass")
        return len(data[:byte_col].decode("utf-8", "replace"))

    def position(self, lineno: int, byte_col: int) -> Position:
        return Position(lineno - 1, self.column(lineno, byte_col))

    def range(self, node: ast.AST) -> Range:
        """The code-point range of an `ast` node that has positions."""
        start = self.position(node.lineno, node.col_offset)  # type: ignore[attr-defined]
        end_line = getattr(node, "end_lineno", None) or node.lineno  # type: ignore[attr-defined]
        end_col = getattr(node, "end_col_offset", None)
        end = self.position(end_line, end_col) if end_col is not None else start
        return Range(start, end)

    def name_range(self, lineno: int, byte_col: int, name: str) -> Range:
        """The range of an identifier that starts at an `ast` position."""
        start = self.position(lineno, byte_col)
        return Range(start, Position(start.line, start.character + len(name)))

    def end_of_line(self, line: int) -> Position:
        """End of a 0-based line, trailing blanks excluded."""
        return Position(line, len(self.line(line).rstrip()))

    def indent(self, line: int) -> str:
        text = self.line(line)
        return text[: len(text) - len(text.lstrip(" \t"))]


def dotted(node: ast.AST) -> str | None:
    """`a.b.c` for a chain of names and attributes, else None."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


def iter_nodes(root: ast.AST) -> list[ast.AST]:
    """Every node under `root` (itself included), in no particular order; faster than `ast.walk`."""
    out: list[ast.AST] = []
    stack = [root]
    node_type = ast.AST
    while stack:
        node = stack.pop()
        out.append(node)
        for name in node._fields:
            if name == "ctx":
                continue  # Load / Store / Del: shared markers, not nodes of the text
            value = getattr(node, name, None)
            if isinstance(value, node_type):
                stack.append(value)
            elif isinstance(value, list):
                stack.extend(v for v in value if isinstance(v, node_type))
    return out


def contains(rng: Range, pos: Position) -> bool:
    """Whether `pos` lies in `rng`, its end included (a cursor just after a name is on it)."""
    return rng.start <= pos <= rng.end


def t_aliases(imports: list[ast.Import | ast.ImportFrom]) -> tuple[str, ...]:
    """The dotted names these imports reach `tilelang.language` by (`T`, `tl.language`, ...)."""
    found: list[str] = []

    def add(name: str) -> None:
        if name not in found:
            found.append(name)

    for node in sorted(imports, key=lambda n: (n.lineno, n.col_offset)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "tilelang.language":
                    add(alias.asname or "tilelang.language")
                elif alias.name == "tilelang":
                    add((alias.asname or "tilelang") + ".language")
        elif isinstance(node, ast.ImportFrom) and node.module == "tilelang" and node.level == 0:
            for alias in node.names:
                if alias.name == "language":
                    add(alias.asname or "language")
    return tuple(found)


_COMPOUND = (ast.For, ast.AsyncFor, ast.While, ast.With, ast.AsyncWith, ast.If)
_NOT_SIMPLE = (ast.ClassDef, ast.Try, ast.Match, *_COMPOUND)


class SourceTables:
    """The `ast` nodes the editor features look up, gathered in one walk of the tree."""

    def __init__(self, tree: ast.Module, lines: Lines):
        self.tree = tree
        self.lines = lines
        self.compound: dict[tuple[int, type], ast.stmt] = {}  # (1-based line, node type) -> For/While/With/def
        self.simple: dict[int, list[ast.stmt]] = {}  # 1-based line -> simple statements starting there
        self.functions: list[ast.FunctionDef | ast.AsyncFunctionDef] = []
        self.attributes: list[ast.Attribute] = []
        self.calls: list[ast.Call] = []
        self.imports: list[ast.Import | ast.ImportFrom] = []
        by_type: dict[type, list[ast.AST]] = {}
        for node in iter_nodes(tree):
            kind = type(node)
            found = by_type.get(kind)
            if found is None:
                by_type[kind] = [node]
            else:
                found.append(node)
        for kind, nodes in by_type.items():
            if kind is ast.Attribute:
                self.attributes = nodes  # type: ignore[assignment]
            elif kind is ast.Call:
                self.calls = nodes  # type: ignore[assignment]
            elif kind in (ast.FunctionDef, ast.AsyncFunctionDef):
                for fn in nodes:
                    self.compound[(fn.lineno, ast.FunctionDef)] = fn  # type: ignore[index,attr-defined]
                    self.functions.append(fn)  # type: ignore[arg-type]
            elif kind in _COMPOUND:
                for node in nodes:
                    self.compound[(node.lineno, kind)] = node  # type: ignore[index,attr-defined]
            elif issubclass(kind, ast.stmt) and kind not in _NOT_SIMPLE:
                for node in nodes:
                    self.simple.setdefault(node.lineno, []).append(node)  # type: ignore[attr-defined,arg-type]
                if kind in (ast.Import, ast.ImportFrom):
                    self.imports += nodes  # type: ignore[arg-type]
        self.functions.sort(key=lambda fn: fn.lineno)
        self.aliases = t_aliases(self.imports)

    def statement(self, line: int, kind: type) -> ast.stmt | None:
        """The compound statement of type `kind` starting on 0-based `line` (functions: kind=ast.FunctionDef)."""
        return self.compound.get((line + 1, kind))

    def innermost_function(self, line: int) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
        """The innermost function whose lines (decorators excluded) contain 0-based `line`."""
        best = None
        for fn in self.functions:
            if fn.lineno - 1 <= line <= (fn.end_lineno or fn.lineno) - 1:
                if best is None or fn.lineno >= best.lineno:
                    best = fn
        return best


def binding(stmt: ast.stmt, name: str) -> tuple[ast.Name, ast.expr | None] | None:
    """The Name node an assignment statement binds `name` with, and the expression it receives.

    `a, b = f(), g()` gives `b` the `g()`; unpacking anything else gives None.
    """
    if isinstance(stmt, ast.Assign):
        targets = list(stmt.targets)
    elif isinstance(stmt, (ast.AnnAssign, ast.AugAssign)):
        targets = [stmt.target]
    else:
        return None
    for target in targets:
        found = _bound_to(target, stmt.value, name)
        if found is not None:
            return found
    return None


def _bound_to(target: ast.expr, value: ast.expr | None, name: str) -> tuple[ast.Name, ast.expr | None] | None:
    if isinstance(target, ast.Name):
        return (target, value) if target.id == name else None
    if isinstance(target, (ast.Tuple, ast.List)):
        values = value.elts if isinstance(value, (ast.Tuple, ast.List)) and len(value.elts) == len(target.elts) else None
        for i, el in enumerate(target.elts):
            found = _bound_to(el, values[i] if values is not None else None, name)
            if found is not None:
                return found
    if isinstance(target, ast.Starred):
        return _bound_to(target.value, None, name)
    return None
