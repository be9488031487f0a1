"""Hovers, hints, symbols, navigation, completion and code actions through the real server.

What each feature answers is tested in tests/tilelsp/test_features.py; these
tests check the server around them: every position crosses the edge in the
client's encoding (here on a line with an emoji and accented letters before
the names asked about), code actions round-trip through the analysis, and the
last good model keeps answering while the file does not parse.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import LanguageClient
from server_session import CONFIG, EXAMPLES, edit, initialize, open_document, published
from test_server import EMOJI_LINE, emoji_source, project, units

BIG_TILES = EXAMPLES / "buggy" / "gemm_stages4_big_tiles.py"


@pytest_lsp.fixture(config=CONFIG)
async def client(lsp_client: LanguageClient):
    yield
    await lsp_client.shutdown_session()


def at(line: int, column: int, encoding: str, text: str = EMOJI_LINE) -> types.Position:
    """Code-point column `column` of `text` (on `line`) as the client counts it."""
    return types.Position(line, units(text[:column], encoding))


@pytest.mark.asyncio
@pytest.mark.parametrize("encoding", ["utf-16", "utf-8"])
async def test_features_speak_the_client_encoding(client: LanguageClient, tmp_path: Path, encoding: str) -> None:
    folder = project(tmp_path / "proj", 'arch = ["sm_90"]', {"kernel.py": emoji_source()})
    await initialize(client, folders=[folder], encodings=[encoding])
    uri = open_document(client, folder / "kernel.py")
    doc = types.TextDocumentIdentifier(uri)
    [diag] = (await published(client, uri, version=1)).diagnostics
    name = EMOJI_LINE.index("späre")
    name_range = types.Range(at(9, name, encoding), at(9, name + len("späre"), encoding))

    hover = await client.text_document_hover_async(types.HoverParams(doc, at(9, name + 2, encoding)))
    assert hover.range == name_range
    assert hover.contents.value.startswith("**späre**: shared.dyn buffer `(64, 64)` float32")

    call = EMOJI_LINE.index("T.alloc_shared")
    hover = await client.text_document_hover_async(types.HoverParams(doc, at(9, call + 4, encoding)))
    assert hover.range == types.Range(at(9, call, encoding), at(9, call + len("T.alloc_shared"), encoding))
    assert hover.contents.value.startswith("```python\nT.alloc_shared(shape, dtype, scope='shared.dyn')")

    [location] = await client.text_document_definition_async(types.DefinitionParams(doc, at(9, name, encoding)))
    assert (location.uri, location.range) == (uri, name_range)
    [highlight] = await client.text_document_document_highlight_async(
        types.DocumentHighlightParams(doc, at(9, name + 5, encoding)))
    assert highlight.range == name_range and highlight.kind == types.DocumentHighlightKind.Write

    hints = await client.text_document_inlay_hint_async(types.InlayHintParams(
        doc, types.Range(types.Position(0, 0), types.Position(30, 0))))
    labels = {(h.position.line, h.position.character): h.label for h in hints}
    assert labels[(9, units(EMOJI_LINE[:82], encoding))] == "16384 B"

    [kernel] = await client.text_document_document_symbol_async(types.DocumentSymbolParams(doc))
    spare = next(s for s in kernel.children if s.name == "späre")
    assert spare.selection_range == name_range

    # The suppression action edits after the emoji of the trailing comment; sending its edit back removes TL414.
    actions = await client.text_document_code_action_async(types.CodeActionParams(
        doc, diag.range, types.CodeActionContext(diagnostics=[diag])))
    [ignore] = [a for a in actions if a.title.startswith("Ignore TL414")]
    assert list(ignore.diagnostics) == [diag]
    [change] = ignore.edit.changes[uri]
    assert change.range == types.Range(at(9, len(EMOJI_LINE), encoding), at(9, len(EMOJI_LINE), encoding))
    edit(client, uri, 2, (change.range.start.line, change.range.start.character),
         (change.range.end.line, change.range.end.character), change.new_text)
    assert list((await published(client, uri, version=2)).diagnostics) == []

    # Completion and signature help in a dtype string on a new line that starts with an emoji string.
    typed = '            z = "😀"; w = T.alloc_fragment((4,), "flo'
    edit(client, uri, 3, (10, 0), (10, 0), typed + "\n")
    end = at(10, len(typed), encoding, typed)
    completions = await client.text_document_completion_async(types.CompletionParams(doc, end))
    first = completions.items[0]
    assert first.label == "float16"
    assert first.text_edit.range == types.Range(at(10, len(typed) - 3, encoding, typed), end)
    signature = await client.text_document_signature_help_async(types.SignatureHelpParams(doc, end))
    assert signature.active_parameter == 1
    assert signature.signatures[0].label == "T.alloc_fragment(shape, dtype, scope='local.fragment')"


@pytest.mark.asyncio
async def test_completion_resolve(client: LanguageClient, tmp_path: Path) -> None:
    folder = project(tmp_path / "proj", "", {"kernel.py": BIG_TILES})
    await initialize(client, folders=[folder])
    uri = open_document(client, folder / "kernel.py")
    await published(client, uri, version=1)
    edit(client, uri, 2, (24, 0), (24, 0), "        T.cle\n")
    completions = await client.text_document_completion_async(types.CompletionParams(
        types.TextDocumentIdentifier(uri), types.Position(24, 13)))
    item = next(i for i in completions.items if i.label == "clear")
    resolved = await client.completion_item_resolve_async(item)
    assert resolved.label == "clear" and resolved.documentation is not None
    assert "T.clear(" in resolved.detail


@pytest.mark.asyncio
async def test_num_stages_action_round_trip(client: LanguageClient, tmp_path: Path) -> None:
    folder = project(tmp_path / "proj", 'arch = ["sm_86"]', {"kernel.py": BIG_TILES})
    await initialize(client, folders=[folder])
    uri = open_document(client, folder / "kernel.py")
    [diag] = (await published(client, uri, version=1)).diagnostics
    actions = await client.text_document_code_action_async(types.CodeActionParams(
        types.TextDocumentIdentifier(uri), diag.range, types.CodeActionContext(diagnostics=[diag])))
    fix = actions[0]
    assert fix.title == "Set num_stages to 3 (the most that fits sm_86)" and fix.is_preferred
    [change] = fix.edit.changes[uri]
    edit(client, uri, 2, (change.range.start.line, change.range.start.character),
         (change.range.end.line, change.range.end.character), change.new_text)
    # 3 stages fit sm_86 (96 KiB of 99 KiB): only the near-limit warning is left
    assert [d.code for d in (await published(client, uri, version=2)).diagnostics] == ["TL103"]


@pytest.mark.asyncio
async def test_last_good_model_answers_during_a_syntax_error(client: LanguageClient, tmp_path: Path) -> None:
    folder = project(tmp_path / "proj", 'arch = ["sm_86"]', {"kernel.py": BIG_TILES})
    await initialize(client, folders=[folder])
    uri = open_document(client, folder / "kernel.py")
    doc = types.TextDocumentIdentifier(uri)
    await published(client, uri, version=1)
    symbols = await client.text_document_document_symbol_async(types.DocumentSymbolParams(doc))
    hints = await client.text_document_inlay_hint_async(types.InlayHintParams(
        doc, types.Range(types.Position(0, 0), types.Position(60, 0))))
    assert symbols and hints

    edit(client, uri, 2, (45, 0), (45, 0), "def broken(:\n")
    [diag] = (await published(client, uri, version=2)).diagnostics
    assert diag.code == "TL901" and diag.range.start.line == 45

    assert await client.text_document_document_symbol_async(types.DocumentSymbolParams(doc)) == symbols
    assert await client.text_document_inlay_hint_async(types.InlayHintParams(
        doc, types.Range(types.Position(0, 0), types.Position(60, 0)))) == hints
    hover = await client.text_document_hover_async(types.HoverParams(doc, types.Position(21, 10)))
    assert hover.contents.value.startswith("**A_shared**: shared.dyn buffer `(128, 64)` float16")

    edit(client, uri, 3, (45, 0), (46, 0), "")
    assert [d.code for d in (await published(client, uri, version=3)).diagnostics] == ["TL101"]


@pytest.mark.asyncio
async def test_plain_client_gets_plain_text_and_no_snippets(client: LanguageClient, tmp_path: Path) -> None:
    folder = project(tmp_path / "proj", 'arch = ["sm_86"]', {"kernel.py": BIG_TILES})
    await initialize(client, folders=[folder], rich=False)
    uri = open_document(client, folder / "kernel.py")
    doc = types.TextDocumentIdentifier(uri)
    await published(client, uri, version=1)
    hover = await client.text_document_hover_async(types.HoverParams(doc, types.Position(21, 10)))
    assert hover.contents.kind == types.MarkupKind.PlainText
    assert hover.contents.value.startswith("**A_shared**")
    edit(client, uri, 2, (24, 0), (24, 0), "        T.cop\n")
    completions = await client.text_document_completion_async(types.CompletionParams(doc, types.Position(24, 13)))
    item = next(i for i in completions.items if i.label == "copy")
    assert item.insert_text_format in (None, types.InsertTextFormat.PlainText)
    assert item.insert_text is None or "$" not in item.insert_text
    resolved = await client.completion_item_resolve_async(item)
    assert resolved.documentation.kind == types.MarkupKind.PlainText
