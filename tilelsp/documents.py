"""The open documents: text, version, and edits applied the LSP way.

Lines end at `\\n`, `\\r\\n` or `\\r` (LSP and Python's tokenizer agree;
`str.splitlines` also splits at form feeds and U+2028, which would shift every
line after one). Edits arrive in the client's position encoding and are
clamped like every incoming position (see `tilelsp.positions`): a range past
the end of the document edits at its end, a reversed range is put in order.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from lsprotocol import types

from .positions import range_from_client

_BREAK = re.compile(r"\r\n|\r|\n")


def split_lines(text: str) -> list[str]:
    """The lines of `text` without their terminators (a trailing break gives a last empty line)."""
    return _BREAK.split(text)


@dataclass
class Document:
    uri: str
    text: str
    version: int | None = None
    language_id: str = "python"
    _lines: list[str] | None = field(default=None, repr=False)
    _starts: list[int] | None = field(default=None, repr=False)
    _ascii: bool | None = field(default=None, repr=False)

    @property
    def ascii(self) -> bool:
        """All ASCII: every encoding counts columns the same, nothing to convert."""
        if self._ascii is None:
            self._ascii = self.text.isascii()
        return self._ascii

    @property
    def lines(self) -> Sequence[str]:
        if self._lines is None:
            self._lines = split_lines(self.text)
        return self._lines

    def _line_starts(self) -> list[int]:
        if self._starts is None:
            self._starts = [0] + [m.end() for m in _BREAK.finditer(self.text)]
        return self._starts

    def offset(self, position: types.Position) -> int:
        """Index into `text` of a code-point position that is already inside the document."""
        starts = self._line_starts()
        line = min(max(position.line, 0), len(starts) - 1)
        return starts[line] + min(position.character, len(self.lines[line]))

    def apply(self, change: types.TextDocumentContentChangeEvent, encoding: str) -> None:
        if isinstance(change, types.TextDocumentContentChangePartial):
            rng = range_from_client(self.lines, change.range, encoding)
            start, end = self.offset(rng.start), self.offset(rng.end)
            self.set_text(self.text[:start] + change.text + self.text[end:])
        else:
            self.set_text(change.text)

    def set_text(self, text: str) -> None:
        self.text = text
        self._lines = None
        self._starts = None
        self._ascii = None


class Documents:
    """Open documents by URI."""

    def __init__(self) -> None:
        self._docs: dict[str, Document] = {}

    def open(self, item: types.TextDocumentItem) -> Document:
        doc = Document(item.uri, item.text, item.version, item.language_id)
        self._docs[item.uri] = doc
        return doc

    def change(self, params: types.DidChangeTextDocumentParams, encoding: str) -> Document | None:
        doc = self._docs.get(params.text_document.uri)
        if doc is None:
            return None
        for change in params.content_changes:
            doc.apply(change, encoding)
        doc.version = params.text_document.version
        return doc

    def close(self, uri: str) -> Document | None:
        return self._docs.pop(uri, None)

    def get(self, uri: str) -> Document | None:
        return self._docs.get(uri)

    def __iter__(self):
        return iter(list(self._docs.values()))

    def __len__(self) -> int:
        return len(self._docs)
