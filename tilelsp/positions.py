"""Columns between Unicode code points (the analyzer's) and the client's encoding.

The analyzer and `tilelsp.features` count columns in code points; an LSP
client counts them in the position encoding negotiated at `initialize`:
UTF-16 code units by default, or UTF-8 bytes, or UTF-32 (= code points).
Every position that crosses the server's edge goes through this module.

Incoming positions are clamped, never rejected: a line past the end of the
document means the end of the document, a column past the end of its line
means the end of that line, and a column that falls inside a character (the
second half of a surrogate pair, the middle of a UTF-8 sequence) means the
start of that character.

`convert` walks any `lsprotocol` value (attrs classes, lists, dicts) and
rebuilds every `Position` in it, choosing the document each position belongs
to from the nearest enclosing `uri` (a `Location`, a `TextDocumentEdit`, the
keys of `WorkspaceEdit.changes`). It never mutates its input: feature code may
return cached objects.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import attrs
from lsprotocol import types

UTF8 = types.PositionEncodingKind.Utf8.value
UTF16 = types.PositionEncodingKind.Utf16.value
UTF32 = types.PositionEncodingKind.Utf32.value
ENCODINGS = (UTF8, UTF16, UTF32)

#: `lines_for(uri)` gives the lines (without terminators) that positions of `uri` refer to, or None.
LinesFor = Callable[[str | None], Sequence[str] | None]


def negotiate(client_capabilities: types.ClientCapabilities | None) -> str:
    """The first encoding of the client's `general.positionEncodings` we support; UTF-16 otherwise."""
    general = client_capabilities.general if client_capabilities is not None else None
    for kind in (general.position_encodings or []) if general is not None else []:
        value = kind.value if isinstance(kind, types.PositionEncodingKind) else str(kind)
        if value in ENCODINGS:
            return value
    return UTF16


def _units(char: str, encoding: str) -> int:
    code = ord(char)
    if encoding == UTF16:
        return 2 if code > 0xFFFF else 1
    if code < 0x80:
        return 1
    if code < 0x800:
        return 2
    if code < 0x10000:
        return 3  # lone surrogates (legal in JSON strings) count like other BMP characters
    return 4


def column_to_client(line: str, column: int, encoding: str) -> int:
    """Code-point column on `line` -> client units; clamped to the line."""
    column = min(max(column, 0), len(line))
    if encoding == UTF32 or line.isascii():
        return column
    return sum(_units(c, encoding) for c in line[:column])


def column_from_client(line: str, units: int, encoding: str) -> int:
    """Client-unit column on `line` -> code points; clamped, rounded down inside a character."""
    if units <= 0:
        return 0
    if encoding == UTF32 or line.isascii():
        return min(units, len(line))
    seen = 0
    for index, char in enumerate(line):
        seen += _units(char, encoding)
        if seen > units:
            return index
    return len(line)


def position_from_client(lines: Sequence[str], position: types.Position, encoding: str) -> types.Position:
    """A client position -> a code-point position inside the document (clamped)."""
    if not lines:
        return types.Position(0, 0)
    if position.line >= len(lines):
        return types.Position(len(lines) - 1, len(lines[-1]))
    line = max(position.line, 0)
    return types.Position(line, column_from_client(lines[line], position.character, encoding))


def range_from_client(lines: Sequence[str], rng: types.Range, encoding: str) -> types.Range:
    start = position_from_client(lines, rng.start, encoding)
    end = position_from_client(lines, rng.end, encoding)
    if (end.line, end.character) < (start.line, start.character):
        start, end = end, start
    return types.Range(start, end)


def position_to_client(lines: Sequence[str], position: types.Position, encoding: str) -> types.Position:
    """A code-point position -> client units. Lines past the end are kept as they are."""
    if encoding == UTF32 or not 0 <= position.line < len(lines):
        return types.Position(position.line, position.character)
    return types.Position(position.line, column_to_client(lines[position.line], position.character, encoding))


def convert(value: Any, uri: str | None, lines_for: LinesFor, encoding: str, *, to_client: bool) -> Any:
    """A copy of `value` with every `Position` converted (see the module doc).

    `uri` is the document positions belong to until a nested value names another.
    With `to_client=False` positions go from client units to code points.
    """
    if encoding == UTF32 and to_client:
        return value
    cache: dict[str | None, Sequence[str] | None] = {}

    def lines(of: str | None) -> Sequence[str] | None:
        if of not in cache:
            cache[of] = lines_for(of)
        return cache[of]

    def one(position: types.Position, of: str | None) -> types.Position:
        text = lines(of)
        if text is None:
            return position
        if to_client:
            return position_to_client(text, position, encoding)
        return position_from_client(text, position, encoding)

    def walk(item: Any, of: str | None) -> Any:
        if isinstance(item, types.Position):
            return one(item, of)
        if isinstance(item, (str, int, float, bool)) or item is None:
            return item
        if isinstance(item, list):
            new = [walk(x, of) for x in item]
            return new if any(a is not b for a, b in zip(new, item)) else item
        if isinstance(item, tuple):
            new_t = tuple(walk(x, of) for x in item)
            return new_t if any(a is not b for a, b in zip(new_t, item)) else item
        if isinstance(item, dict):
            new_d = {k: walk(v, k if isinstance(k, str) and ":" in k else of) for k, v in item.items()}
            return new_d if any(new_d[k] is not item[k] for k in item) else item
        if not attrs.has(type(item)):
            return item
        inner = _uri_of(item) or of
        changes: dict[str, Any] = {}
        for field in attrs.fields(type(item)):
            current = getattr(item, field.name)
            scope = of if isinstance(item, types.LocationLink) and field.name == "origin_selection_range" else inner
            new_value = walk(current, scope)
            if new_value is not current:
                changes[field.alias or field.name] = new_value
        return attrs.evolve(item, **changes) if changes else item

    return walk(value, uri)


def _uri_of(item: Any) -> str | None:
    for name in ("uri", "target_uri"):
        value = getattr(item, name, None)
        if isinstance(value, str):
            return value
    document = getattr(item, "text_document", None)
    value = getattr(document, "uri", None)
    return value if isinstance(value, str) else None
