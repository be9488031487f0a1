"""The server's document store: LSP line breaks and clamped incremental edits."""

from __future__ import annotations

from lsprotocol import types

from tilelsp.documents import Document, split_lines


def change(start: tuple[int, int], end: tuple[int, int], text: str) -> types.TextDocumentContentChangePartial:
    return types.TextDocumentContentChangePartial(
        range=types.Range(types.Position(*start), types.Position(*end)), text=text)


def test_lines_break_only_where_lsp_does() -> None:
    assert split_lines("a\nb\r\nc\rd\x0ce\u2028f\n") == ["a", "b", "c", "d\x0ce\u2028f", ""]


def test_incremental_edits_in_client_units() -> None:
    doc = Document("file:///k.py", "x = '😀'\r\ny = 2\n")
    doc.apply(change((0, 7), (0, 8), "!"), "utf-16")  # after the emoji (2 units): replaces the quote
    assert doc.text == "x = '😀!\r\ny = 2\n"
    doc.apply(change((1, 4), (1, 5), "3"), "utf-8")
    assert doc.text == "x = '😀!\r\ny = 3\n"
    doc.apply(change((0, 6), (0, 6), "A"), "utf-16")  # inside the surrogate pair: before the emoji
    assert doc.text == "x = 'A😀!\r\ny = 3\n"


def test_edits_out_of_range_are_clamped() -> None:
    doc = Document("file:///k.py", "ab\ncd")
    doc.apply(change((9, 0), (12, 4), "!"), "utf-16")  # past the end: appended
    assert doc.text == "ab\ncd!"
    doc.apply(change((1, 1), (0, 1), "-"), "utf-16")  # reversed: put in order
    assert doc.text == "a-d!"
    doc.apply(change((0, 99), (0, 99), "?"), "utf-8")  # past the line: at its end
    assert doc.text == "a-d!?"
    doc.apply(types.TextDocumentContentChangeWholeDocument(text="new"), "utf-16")
    assert doc.text == "new" and doc.lines == ["new"]
