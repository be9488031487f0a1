"""Code points <-> client units, clamping, and the walker that converts whole answers."""

from __future__ import annotations

import pytest
from lsprotocol import types

from tilelsp.positions import (
    column_from_client,
    column_to_client,
    convert,
    position_from_client,
    range_from_client,
)

LINE = 'x = "é😀z"  # 𝔘'  # é: 2 UTF-8 bytes; 😀 and 𝔘: 2 UTF-16 units, 4 UTF-8 bytes


@pytest.mark.parametrize(("encoding", "columns"), [
    # code point columns 0..len(LINE) -> client units
    ("utf-32", list(range(len(LINE) + 1))),
    ("utf-16", [0, 1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 12, 13, 14, 16]),
    ("utf-8", [0, 1, 2, 3, 4, 5, 7, 11, 12, 13, 14, 15, 16, 17, 21]),
])
def test_columns_both_ways(encoding: str, columns: list[int]) -> None:
    assert [column_to_client(LINE, c, encoding) for c in range(len(LINE) + 1)] == columns
    assert [column_from_client(LINE, u, encoding) for u in columns] == list(range(len(LINE) + 1))


def test_columns_inside_a_character_round_down() -> None:
    emoji = LINE.index("😀")
    assert column_from_client(LINE, 7, "utf-16") == emoji  # the second half of the surrogate pair
    assert [column_from_client(LINE, u, "utf-8") for u in (8, 9, 10)] == [emoji] * 3
    assert column_from_client(LINE, 6, "utf-8") == LINE.index("é")


def test_columns_are_clamped() -> None:
    assert column_from_client(LINE, 10**9, "utf-16") == len(LINE)
    assert column_from_client(LINE, -3, "utf-8") == 0
    assert column_to_client(LINE, 10**9, "utf-16") == 16
    assert column_from_client("abc", 10, "utf-32") == 3


def test_positions_outside_the_document() -> None:
    lines = ["ab", "😀c"]
    assert position_from_client(lines, types.Position(5, 3), "utf-16") == types.Position(1, 2)
    assert position_from_client([], types.Position(5, 3), "utf-16") == types.Position(0, 0)
    rng = range_from_client(lines, types.Range(types.Position(1, 3), types.Position(0, 1)), "utf-16")
    assert rng == types.Range(types.Position(0, 1), types.Position(1, 2))


def test_lone_surrogates_do_not_raise() -> None:
    line = "a\ud800b"
    assert column_to_client(line, 3, "utf-8") == 5
    assert column_from_client(line, 4, "utf-8") == 2


def test_convert_walks_nested_answers_per_document() -> None:
    here, there = "file:///here.py", "file:///there.py"
    texts = {here: ["😀x = 1"], there: ["éé y"]}
    edit = types.WorkspaceEdit(changes={
        here: [types.TextEdit(types.Range(types.Position(0, 1), types.Position(0, 2)), "z")],
        there: [types.TextEdit(types.Range(types.Position(0, 3), types.Position(0, 4)), "w")],
    })
    action = types.CodeAction(title="t", edit=edit, diagnostics=[types.Diagnostic(
        types.Range(types.Position(0, 1), types.Position(0, 2)), "m", related_information=[
            types.DiagnosticRelatedInformation(
                types.Location(there, types.Range(types.Position(0, 2), types.Position(0, 3))), "r")])])
    out = convert([action], here, texts.get, "utf-8", to_client=True)
    [converted] = out
    assert converted.edit.changes[here][0].range == types.Range(types.Position(0, 4), types.Position(0, 5))
    assert converted.edit.changes[there][0].range == types.Range(types.Position(0, 5), types.Position(0, 6))
    assert converted.diagnostics[0].range == types.Range(types.Position(0, 4), types.Position(0, 5))
    related = converted.diagnostics[0].related_information[0].location.range
    assert related == types.Range(types.Position(0, 4), types.Position(0, 5))
    # the input is not modified, and untouched parts are shared
    assert action.edit.changes[here][0].range.start.character == 1
    assert converted.title == "t"
    back = convert(out, here, texts.get, "utf-8", to_client=False)
    assert back == [action]


def test_convert_link_origin_stays_in_the_request_document() -> None:
    here, there = "file:///here.py", "file:///there.py"
    texts = {here: ["😀ab"], there: ["ab"]}
    link = types.LocationLink(target_uri=there,
                              target_range=types.Range(types.Position(0, 0), types.Position(0, 2)),
                              target_selection_range=types.Range(types.Position(0, 0), types.Position(0, 1)),
                              origin_selection_range=types.Range(types.Position(0, 1), types.Position(0, 3)))
    out = convert(link, here, texts.get, "utf-16", to_client=True)
    assert out.origin_selection_range == types.Range(types.Position(0, 2), types.Position(0, 4))
    assert out.target_range == link.target_range


def test_unknown_documents_are_left_alone() -> None:
    loc = types.Location("file:///gone.py", types.Range(types.Position(0, 9), types.Position(0, 9)))
    assert convert(loc, None, lambda uri: None, "utf-16", to_client=True) is loc
