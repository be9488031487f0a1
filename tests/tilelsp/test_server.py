"""The `tilelsp` language server end to end, over stdio, with a real LSP client (pytest-lsp).

Every test starts the real server (`python -m tilelsp --stdio`) and waits for
what it sends; nothing is timed. Inputs are written to a temporary folder so
that the pyproject.toml each file sees is the one the test wrote.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pygls.exceptions import JsonRpcMethodNotFound
from pytest_lsp import LanguageClient
from server_session import (
    CONFIG,
    EXAMPLES,
    ROOT,
    SERVER_ENV,
    as_json,
    edit,
    initialize,
    open_document,
    published,
    replace_all,
    wait_until,
)

from conftest import run_tilelint
from tilelsp import __version__

BIG_TILES = EXAMPLES / "buggy" / "gemm_stages4_big_tiles.py"
RULES_DOC = (ROOT / "docs" / "rules.md").as_uri()


@pytest_lsp.fixture(config=CONFIG)
async def client(lsp_client: LanguageClient):
    yield
    await lsp_client.shutdown_session()


def project(folder: Path, table: str = "", files: dict[str, Path | str] | None = None) -> Path:
    """A folder with a pyproject.toml holding `[tool.tilelint]` `table` and the given files."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pyproject.toml").write_text(f"[project]\nname = 'x'\n\n[tool.tilelint]\n{table}\n", encoding="utf-8")
    for name, source in (files or {}).items():
        text = source.read_text(encoding="utf-8") if isinstance(source, Path) else source
        (folder / name).write_text(text, encoding="utf-8")
    return folder


# --------------------------------------------------------------------------- process


def test_version() -> None:
    proc = subprocess.run([sys.executable, "-m", "tilelsp", "--version"], capture_output=True, text=True,
                          env=SERVER_ENV, timeout=120)
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"tilelsp {__version__}"


def test_importing_the_server_is_light() -> None:
    code = ("import sys, tilelsp.server; heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
            "('tvm', 'tvm_ffi', 'compiler', 'libcst', 'numpy', 'torch', 'tilelang')); print(heavy)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=SERVER_ENV,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_worker_never_imports_tvm(tmp_path: Path) -> None:
    """The worker analyses a file, then lists its modules: the analyzer, no TVM, no compiler."""
    from analyzer.config import Config
    from tilelsp.worker import read_frame, write_frame

    proc = subprocess.Popen([sys.executable, "-m", "tilelsp.worker"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, env=SERVER_ENV)
    try:
        assert read_frame(proc.stdout)[0] == "ready"
        text = BIG_TILES.read_text(encoding="utf-8")
        write_frame(proc.stdin, ("analyze", 1, text, str(BIG_TILES), Config(arches=("sm_86",)), ()))
        kind, job, index, _ = read_frame(proc.stdout)
        assert (kind, job) == ("result", 1)
        assert [d.code for d in index.report.diagnostics] == ["TL101"]
        assert index.syntax_error is None
        write_frame(proc.stdin, ("modules", 2))
        _, _, modules = read_frame(proc.stdout)
    finally:
        proc.stdin.close()
        assert proc.wait(timeout=60) == 0
    roots = {m.split(".")[0] for m in modules}
    assert "libcst" in roots and "analyzer" in roots
    assert not roots & {"tvm", "tvm_ffi", "compiler", "pygls", "torch", "tilelang"}


# --------------------------------------------------------------------------- initialize


@pytest.mark.asyncio
@pytest.mark.parametrize(("offered", "chosen"), [
    (None, "utf-16"), (["utf-8"], "utf-8"), (["utf-32", "utf-16"], "utf-32"), (["latin-1", "utf-8"], "utf-8"),
])
async def test_initialize(client: LanguageClient, offered: list[str] | None, chosen: str) -> None:
    result = await initialize(client, encodings=offered)
    assert result.server_info is not None and result.server_info.name == "tilelsp"
    caps = result.capabilities
    assert caps.position_encoding == chosen
    sync = caps.text_document_sync
    assert isinstance(sync, types.TextDocumentSyncOptions) and sync.change == types.TextDocumentSyncKind.Incremental
    assert sync.open_close is True
    assert caps.diagnostic_provider is not None and caps.diagnostic_provider.workspace_diagnostics is True
    assert caps.diagnostic_provider.inter_file_dependencies is False
    assert caps.hover_provider and caps.inlay_hint_provider and caps.document_symbol_provider
    assert caps.workspace_symbol_provider and caps.definition_provider and caps.references_provider
    assert caps.document_highlight_provider and caps.code_action_provider
    assert caps.completion_provider is not None and "." in caps.completion_provider.trigger_characters
    assert caps.signature_help_provider is not None and "(" in caps.signature_help_provider.trigger_characters


# --------------------------------------------------------------------------- push diagnostics


@pytest.mark.asyncio
async def test_push_diagnostics_on_open(client: LanguageClient, tmp_path: Path) -> None:
    folder = project(tmp_path / "proj", 'arch = ["sm_86"]', {"kernel.py": BIG_TILES})
    await initialize(client, folders=[folder])
    uri = open_document(client, folder / "kernel.py")
    params = await published(client, uri, version=1)
    [diag] = params.diagnostics
    assert diag.code == "TL101"
    assert diag.source == "tilelint"
    assert diag.severity == types.DiagnosticSeverity.Error
    assert diag.range == types.Range(types.Position(20, 9), types.Position(20, 80))
    assert diag.message.startswith("shared memory 128.0 KiB (131072 B) exceeds sm_86's 99.0 KiB (101376 B)")
    assert diag.code_description is not None
    assert diag.code_description.href == f"{RULES_DOC}#tl101-shared-memory-over-limit"
    assert diag.data == {"arch": "sm_86", "kernel": "matmul"}
    assert diag.tags is None
    related = [(r.location.uri, r.location.range, r.message.split(":")[0]) for r in diag.related_information]
    assert related == [
        (uri, types.Range(types.Position(21, 19), types.Position(21, 64)), "A_shared"),
        (uri, types.Range(types.Position(22, 19), types.Position(22, 64)), "B_shared"),
    ]


@pytest.mark.asyncio
async def test_push_diagnostics_on_change(client: LanguageClient, tmp_path: Path) -> None:
    folder = project(tmp_path / "proj", 'arch = ["sm_86"]', {"kernel.py": BIG_TILES})
    await initialize(client, folders=[folder])
    uri = open_document(client, folder / "kernel.py")
    assert [d.code for d in (await published(client, uri, version=1)).diagnostics] == ["TL101"]
    lines = (folder / "kernel.py").read_text(encoding="utf-8").splitlines()
    row = next(i for i, line in enumerate(lines) if "matmul.compile(" in line)
    col = lines[row].index("num_stages=4") + len("num_stages=")
    edit(client, uri, 2, (row, col), (row, col + 1), "2")
    assert list((await published(client, uri, version=2)).diagnostics) == []
    edit(client, uri, 3, (row, col), (row, col + 1), "4")
    assert [d.code for d in (await published(client, uri, version=3)).diagnostics] == ["TL101"]
    replace_all(client, uri, 4, "\n".join(lines).replace("num_stages=4", "num_stages=1"))  # a full-text change
    assert list((await published(client, uri, version=4)).diagnostics) == []


@pytest.mark.asyncio
async def test_diagnostics_equal_tilelint_json(client: LanguageClient, tmp_path: Path) -> None:
    """Every buggy example and the TL413/TL414 rule examples: the LSP diagnostics are tilelint's JSON ones."""
    from analyzer.rules import REGISTRY

    files: dict[str, Path | str] = {p.name: p for p in sorted((EXAMPLES / "buggy").glob("*.py"))}
    files["gemm_pipelined.py"] = EXAMPLES / "gemm_pipelined.py"
    files["dead_fragment.py"] = REGISTRY["TL413"].invalid[0].source
    files["unused_shared.py"] = REGISTRY["TL414"].invalid[0].source
    folder = project(tmp_path / "proj", 'arch = ["sm_80", "sm_86", "sm_89", "sm_90"]\nnear-limit = 0.85', files)
    await initialize(client, folders=[folder], encodings=["utf-32"])
    uris = {name: open_document(client, folder / name) for name in files}
    lsp = {name: (await published(client, uri, version=1)).diagnostics for name, uri in uris.items()}

    code, out = run_tilelint("--format", "json", "--config", str(folder / "pyproject.toml"),
                             *(str(folder / name) for name in files))
    assert code == 1
    expected = {Path(f["path"]).name: f["diagnostics"] for f in json.loads(out)["files"]}
    for name in files:
        assert [as_json(d) for d in lsp[name]] == expected[name], name
        for diag in lsp[name]:
            assert diag.source == "tilelint"
            rule = REGISTRY[diag.code]
            assert diag.code_description.href == f"{RULES_DOC}#{rule.code.lower()}-{rule.name}"
            assert all(r.location.uri == uris[name] for r in diag.related_information or [])
            assert (list(diag.tags) if diag.tags else None) == (
                [types.DiagnosticTag.Unnecessary] if diag.code in ("TL413", "TL414") else None)
    assert {d.code for d in lsp["dead_fragment.py"]} >= {"TL413"}
    assert {d.code for d in lsp["unused_shared.py"]} >= {"TL414"}
    assert sum(len(v) for v in lsp.values()) >= 12


EMOJI_LINE = '            note = "naïve 😀 tile"; späre = T.alloc_shared((block_M, N), "float32")  # 😀 é'


def emoji_source() -> str:
    from analyzer.rules import REGISTRY

    source = REGISTRY["TL414"].invalid[0].source
    old = '            spare = T.alloc_shared((block_M, N), "float32")'
    assert old in source
    return source.replace(old, EMOJI_LINE)


def units(text: str, encoding: str) -> int:
    if encoding == "utf-8":
        return len(text.encode("utf-8"))
    if encoding == "utf-16":
        return len(text.encode("utf-16-le")) // 2
    return len(text)


@pytest.mark.asyncio
@pytest.mark.parametrize(("encoding", "start", "end"), [("utf-16", 44, 83), ("utf-8", 48, 87), ("utf-32", 43, 82)])
async def test_columns_in_each_encoding(client: LanguageClient, tmp_path: Path, encoding: str, start: int,
                                        end: int) -> None:
    """A diagnostic after an emoji and accented letters on its line, and an edit made there, in each encoding."""
    folder = project(tmp_path / "proj", 'arch = ["sm_90"]', {"kernel.py": emoji_source()})
    result = await initialize(client, folders=[folder], encodings=[encoding])
    assert result.capabilities.position_encoding == encoding
    uri = open_document(client, folder / "kernel.py")
    [diag] = (await published(client, uri, version=1)).diagnostics
    assert diag.code == "TL414" and "späre" in diag.message
    assert diag.range == types.Range(types.Position(9, start), types.Position(9, end))

    # Replace "tile" (after the emoji) by "tiles!!" using the client's units: everything after moves 3 columns.
    at = EMOJI_LINE.index("tile")
    edit(client, uri, 2, (9, units(EMOJI_LINE[:at], encoding)), (9, units(EMOJI_LINE[:at + 4], encoding)), "tiles!!")
    [diag] = (await published(client, uri, version=2)).diagnostics
    assert diag.range == types.Range(types.Position(9, start + 3), types.Position(9, end + 3))

    # Delete the emoji in the comment at the end of the line and the accented letter after it.
    line = EMOJI_LINE.replace("tile", "tiles!!")
    cut = line.rindex("😀")
    edit(client, uri, 3, (9, units(line[:cut], encoding)), (9, units(line, encoding)), "")
    [diag] = (await published(client, uri, version=3)).diagnostics
    assert diag.range == types.Range(types.Position(9, start + 3), types.Position(9, end + 3))


# --------------------------------------------------------------------------- pull diagnostics


@pytest.mark.asyncio
async def test_pull_diagnostics(client: LanguageClient, tmp_path: Path) -> None:
    folder = project(tmp_path / "proj", 'arch = ["sm_86"]', {"kernel.py": BIG_TILES,
                                                           "attention.py": EXAMPLES / "buggy" / "flash_attention_128.py"})
    await initialize(client, folders=[folder], pull=True, refresh=True)
    uri = open_document(client, folder / "kernel.py")

    def pull(target: str, previous: str | None = None):
        return client.text_document_diagnostic_async(types.DocumentDiagnosticParams(
            text_document=types.TextDocumentIdentifier(target), previous_result_id=previous))

    report = await pull(uri)
    assert report.kind == "full"
    assert [(d.code, d.data["arch"]) for d in report.items] == [("TL101", "sm_86")]
    assert report.items[0].range == types.Range(types.Position(20, 9), types.Position(20, 80))
    first = report.result_id
    assert first

    again = await pull(uri, first)
    assert again.kind == "unchanged" and again.result_id == first

    lines = (folder / "kernel.py").read_text(encoding="utf-8").splitlines()
    row = next(i for i, line in enumerate(lines) if "matmul.compile(" in line)
    col = lines[row].index("num_stages=4") + len("num_stages=")
    edit(client, uri, 2, (row, col), (row, col + 1), "2")
    fixed = await pull(uri, first)
    assert fixed.kind == "full" and list(fixed.items) == []
    assert fixed.result_id not in (None, first)

    other = open_document(client, folder / "attention.py")
    await pull(other)
    workspace = await client.workspace_diagnostic_async(types.WorkspaceDiagnosticParams(
        previous_result_ids=[types.PreviousResultId(uri=uri, value=fixed.result_id)]))
    reports = {r.uri: r for r in workspace.items}
    assert set(reports) == {uri, other}
    assert reports[uri].kind == "unchanged"
    assert reports[uri].version == 2 and reports[uri].result_id == fixed.result_id
    assert reports[other].kind == "full"
    assert reports[other].version == 1 and [d.code for d in reports[other].items] == ["TL101"]

    unknown = await pull((tmp_path / "not-open.py").as_uri())
    assert unknown.kind == "full" and list(unknown.items) == []
    assert client.published == []  # a client that pulls is not pushed to


# --------------------------------------------------------------------------- syntax errors


@pytest.mark.asyncio
async def test_syntax_error_keeps_last_good_model(client: LanguageClient, tmp_path: Path) -> None:
    folder = project(tmp_path / "proj", 'arch = ["sm_86"]', {"kernel.py": BIG_TILES})
    await initialize(client, folders=[folder])
    uri = open_document(client, folder / "kernel.py")
    assert [d.code for d in (await published(client, uri, version=1)).diagnostics] == ["TL101"]
    symbols_before = await client.text_document_document_symbol_async(
        types.DocumentSymbolParams(types.TextDocumentIdentifier(uri)))

    line = (folder / "kernel.py").read_text(encoding="utf-8").splitlines()[20]
    col = line.index("threads=threads)") + len("threads=threads")
    edit(client, uri, 2, (20, col), (20, col + 1), "")  # drop the ')' closing T.Kernel(
    [diag] = (await published(client, uri, version=2)).diagnostics
    assert diag.code == "TL901" and diag.severity == types.DiagnosticSeverity.Error
    assert diag.message.startswith("syntax error:")
    assert diag.range.start.line == 20

    symbols_during = await client.text_document_document_symbol_async(
        types.DocumentSymbolParams(types.TextDocumentIdentifier(uri)))
    assert symbols_during == symbols_before  # served from the last good model

    edit(client, uri, 3, (20, col), (20, col), ")")
    assert [d.code for d in (await published(client, uri, version=3)).diagnostics] == ["TL101"]


# --------------------------------------------------------------------------- configuration


def stages_row(path: Path) -> tuple[int, int]:
    lines = path.read_text(encoding="utf-8").splitlines()
    row = next(i for i, line in enumerate(lines) if "matmul.compile(" in line)
    return row, lines[row].index("num_stages=4") + len("num_stages=")


@pytest.mark.asyncio
async def test_workspace_configuration_change(client: LanguageClient, tmp_path: Path) -> None:
    """archs from `workspace/configuration`; a change of them re-analyses the open file."""
    folder = project(tmp_path / "proj", "", {"kernel.py": BIG_TILES})
    client.set_configuration({"archs": ["sm_86"], "debounceMs": 0}, section="tilelsp")
    await initialize(client, folders=[folder], configuration=True)
    uri = open_document(client, folder / "kernel.py")
    params = await published(client, uri, version=1)
    assert [(d.code, d.data["arch"]) for d in params.diagnostics] == [("TL101", "sm_86")]

    client.set_configuration({"archs": ["sm_90"]}, section="tilelsp")
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))
    assert list((await published(client, uri, version=1)).diagnostics) == []

    client.set_configuration({"archs": "sm_86,sm_89", "select": ["TL1"]}, section="tilelsp")
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))
    params = await published(client, uri, version=1)
    assert [(d.code, d.data["arch"]) for d in params.diagnostics] == [("TL101", "sm_86"), ("TL101", "sm_89")]


@pytest.mark.asyncio
async def test_pushed_configuration_and_initialization_options(client: LanguageClient, tmp_path: Path) -> None:
    """A client that cannot be asked sends its settings; initializationOptions are the layer below."""
    folder = project(tmp_path / "proj", "", {"kernel.py": BIG_TILES,
                                             "near.py": EXAMPLES / "buggy" / "gemm_near_sm86_limit.py"})
    await initialize(client, folders=[folder], init_options={"tilelsp": {"archs": ["sm_90"]}})
    uri = open_document(client, folder / "kernel.py")
    near = open_document(client, folder / "near.py")
    assert list((await published(client, uri, version=1)).diagnostics) == []
    assert list((await published(client, near, version=1)).diagnostics) == []

    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(
        settings={"tilelsp": {"archs": ["sm_86"]}}))
    assert [d.code for d in (await published(client, uri, version=1)).diagnostics] == ["TL101"]
    [warning] = (await published(client, near, version=1)).diagnostics
    assert warning.code == "TL103" and warning.severity == types.DiagnosticSeverity.Warning

    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(
        settings={"tilelsp": {"archs": ["sm_86"], "failOn": "error"}}))
    assert list((await published(client, near, version=1)).diagnostics) == []


@pytest.mark.asyncio
async def test_pyproject_change_is_watched(client: LanguageClient, tmp_path: Path) -> None:
    folder = project(tmp_path / "proj", 'arch = ["sm_90"]', {"kernel.py": BIG_TILES})
    await initialize(client, folders=[folder], watch=True)
    uri = open_document(client, folder / "kernel.py")
    assert list((await published(client, uri, version=1)).diagnostics) == []
    [registration] = await wait_until(client, lambda: client.registrations, "the pyproject.toml watcher")
    assert registration.method == types.WORKSPACE_DID_CHANGE_WATCHED_FILES
    assert registration.register_options == {"watchers": [{"globPattern": "**/pyproject.toml"}]}

    project(folder, 'arch = ["sm_86"]')
    client.workspace_did_change_watched_files(types.DidChangeWatchedFilesParams(changes=[
        types.FileEvent(uri=(folder / "pyproject.toml").as_uri(), type=types.FileChangeType.Changed)]))
    params = await published(client, uri, version=1)
    assert [(d.code, d.data["arch"]) for d in params.diagnostics] == [("TL101", "sm_86")]


@pytest.mark.asyncio
async def test_multi_root_and_outside_files(client: LanguageClient, tmp_path: Path) -> None:
    """Each folder's pyproject.toml and each folder's client settings; a file outside every folder."""
    a = project(tmp_path / "a", 'arch = ["sm_86"]', {"kernel.py": BIG_TILES})
    b = project(tmp_path / "b", 'arch = ["sm_90"]', {"kernel.py": BIG_TILES})
    c = project(tmp_path / "c", 'arch = ["sm_90"]', {"kernel.py": BIG_TILES})
    outside = tmp_path / "loose" / "kernel.py"
    outside.parent.mkdir()
    shutil.copy(BIG_TILES, outside)
    client.set_configuration({"archs": ["sm_89"]}, section="tilelsp", scope_uri=c.as_uri())
    await initialize(client, folders=[a, b, c], configuration=True)
    found = {}
    for name, path in (("a", a / "kernel.py"), ("b", b / "kernel.py"), ("c", c / "kernel.py"), ("loose", outside)):
        uri = open_document(client, path)
        found[name] = [(d.code, d.data["arch"]) for d in (await published(client, uri, version=1)).diagnostics]
    untitled = "untitled:Untitled-1"  # not a file: the default settings
    client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(
        uri=untitled, language_id="python", version=1, text=BIG_TILES.read_text(encoding="utf-8"))))
    found["untitled"] = [(d.code, d.data["arch"]) for d in (await published(client, untitled, 1)).diagnostics]
    assert found == {
        "a": [("TL101", "sm_86")],
        "b": [],
        "c": [("TL101", "sm_89")],
        "loose": [("TL101", "sm_86"), ("TL101", "sm_89")],
        "untitled": [("TL101", "sm_86"), ("TL101", "sm_89")],
    }


# --------------------------------------------------------------------------- robustness


@pytest.mark.asyncio
async def test_unknown_documents_and_methods(client: LanguageClient, tmp_path: Path) -> None:
    await initialize(client)
    nowhere = types.TextDocumentIdentifier((tmp_path / "nowhere.py").as_uri())
    origin = types.Position(0, 0)
    assert await client.text_document_hover_async(types.HoverParams(nowhere, origin)) is None
    assert not await client.text_document_document_symbol_async(types.DocumentSymbolParams(nowhere))
    assert not await client.text_document_definition_async(types.DefinitionParams(nowhere, origin))
    assert not await client.text_document_references_async(types.ReferenceParams(
        context=types.ReferenceContext(include_declaration=True), text_document=nowhere, position=origin))
    assert not await client.text_document_document_highlight_async(types.DocumentHighlightParams(nowhere, origin))
    assert not await client.text_document_inlay_hint_async(types.InlayHintParams(
        nowhere, types.Range(origin, types.Position(10, 0))))
    assert await client.text_document_completion_async(types.CompletionParams(nowhere, origin)) is None
    assert await client.text_document_signature_help_async(types.SignatureHelpParams(nowhere, origin)) is None
    assert not await client.text_document_code_action_async(types.CodeActionParams(
        nowhere, types.Range(origin, origin), types.CodeActionContext(diagnostics=[])))
    with pytest.raises(JsonRpcMethodNotFound):
        await client.protocol.send_request_async("tilelsp/noSuchMethod", {})
    assert not await client.workspace_symbol_async(types.WorkspaceSymbolParams(query="x"))


@pytest.mark.asyncio
async def test_worker_crash_is_survived(client: LanguageClient, tmp_path: Path) -> None:
    folder = project(tmp_path / "proj", 'arch = ["sm_86"]', {"kernel.py": BIG_TILES})
    await initialize(client, folders=[folder])
    uri = open_document(client, folder / "kernel.py")
    assert [d.code for d in (await published(client, uri, version=1)).diagnostics] == ["TL101"]

    def worker_pids() -> list[int]:
        return [int(m.message.rsplit("pid ", 1)[1].rstrip(")")) for m in client.log_messages
                if m.message.startswith("analysis worker started (pid ")]

    [first] = await wait_until(client, worker_pids, "the worker's pid")
    os.kill(first, signal.SIGKILL)
    row, col = stages_row(folder / "kernel.py")
    edit(client, uri, 2, (row, col), (row, col + 1), "2")
    assert list((await published(client, uri, version=2)).diagnostics) == []
    pids = worker_pids()
    assert len(pids) == 2 and pids[1] != first
    assert any("exited" in m.message and m.type == types.MessageType.Warning for m in client.log_messages)


@pytest.mark.asyncio
async def test_a_burst_of_edits_is_analysed_newest_first(client: LanguageClient, tmp_path: Path) -> None:
    """100 keystrokes sent at once: every version is analysed at most once, results come in version order,
    and the last one is published for the last version."""
    folder = project(tmp_path / "proj", 'arch = ["sm_86"]', {"kernel.py": BIG_TILES})
    client.set_configuration({"debounceMs": 0}, section="tilelsp")
    await initialize(client, folders=[folder], configuration=True)
    uri = open_document(client, folder / "kernel.py")
    await published(client, uri, version=1)
    end = len((folder / "kernel.py").read_text(encoding="utf-8").splitlines()[0])  # "# expect: TL101"
    for version in range(2, 102):
        edit(client, uri, version, (0, end), (0, end), "!")  # typing into the first line's comment
    last = await published(client, uri, version=101)
    assert [d.code for d in last.diagnostics] == ["TL101"]
    versions = [p.version for p in client.published if p.uri == uri]
    assert versions == sorted(set(versions)) and all(v < 101 for v in versions)

    def analysed() -> list[int]:  # the server's debug log: one line per finished analysis, kept or dropped
        lines = [m.message for m in client.log_messages
                 if m.message.startswith((f"analysed {uri} version ", f"dropped the analysis of {uri} version "))]
        return [int(m.split(" version ")[1].split()[0].rstrip(":")) for m in lines]

    await wait_until(client, lambda: 101 in analysed(), "the log line of the last analysis")
    numbers = analysed()
    assert len(numbers) == len(set(numbers)) and numbers == sorted(numbers) and numbers[-1] == 101
