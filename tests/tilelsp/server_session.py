"""Helpers for driving the real `tilelsp` server in tests.

`make_client` builds a pytest-lsp client that records what the server sends
(diagnostics with their versions, log messages, capability registrations)
and wakes `wait_until` on each of them, so tests wait for events instead of
sleeping. `RawServer` speaks JSON-RPC byte by byte, for malformed input.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from lsprotocol import types
from pygls.protocol import default_converter
from pytest_lsp import ClientServerConfig, LanguageClient
from pytest_lsp.client import DEFAULT_CLIENT_FEATURES, register_lsp_features

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
SERVER_ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(
    p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)}
SERVER_COMMAND = [sys.executable, "-m", "tilelsp", "--stdio", "--log-level", "debug"]
#: Generous: the machine may be busy, and the first analysis starts the worker process.
TIMEOUT = 120.0

T = TypeVar("T")


def make_client() -> LanguageClient:
    client = LanguageClient(converter_factory=default_converter)
    client.published = []  # type: ignore[attr-defined]
    client.registrations = []  # type: ignore[attr-defined]
    client.changed = asyncio.Event()  # type: ignore[attr-defined]

    def poke(handler: Callable[..., Any]) -> Callable[..., Any]:
        def run(ls: LanguageClient, params: Any) -> Any:
            try:
                return handler(ls, params)
            finally:
                ls.changed.set()  # type: ignore[attr-defined]

        return run

    def publish(ls: LanguageClient, params: types.PublishDiagnosticsParams) -> None:
        ls.diagnostics[params.uri] = params.diagnostics
        ls.published.append(params)  # type: ignore[attr-defined]

    def register(ls: LanguageClient, params: types.RegistrationParams) -> None:
        ls.registrations.extend(params.registrations)  # type: ignore[attr-defined]

    def log_message(ls: LanguageClient, params: types.LogMessageParams) -> None:
        ls.log_messages.append(params)

    features = dict(DEFAULT_CLIENT_FEATURES)
    features[types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS] = publish
    features[types.CLIENT_REGISTER_CAPABILITY] = register
    features[types.WINDOW_LOG_MESSAGE] = log_message
    register_lsp_features(client, {method: poke(f) for method, f in features.items()})
    return client


CONFIG = ClientServerConfig(server_command=SERVER_COMMAND, server_env=SERVER_ENV, client_factory=make_client)


async def wait_until(client: LanguageClient, check: Callable[[], T | None], what: str,
                     timeout: float = TIMEOUT) -> T:
    """Wait until `check()` is truthy, re-checking after each message the client records."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        client.changed.clear()  # type: ignore[attr-defined]
        value = check()
        if value:
            return value
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise AssertionError(f"timed out waiting for {what}")
        try:
            await asyncio.wait_for(client.changed.wait(), remaining)  # type: ignore[attr-defined]
        except asyncio.TimeoutError:
            raise AssertionError(f"timed out waiting for {what}") from None


async def published(client: LanguageClient, uri: str, version: int | None = None,
                    timeout: float = TIMEOUT) -> types.PublishDiagnosticsParams:
    """The first diagnostics published for `uri` (at `version`, when given) not yet consumed."""

    def find() -> types.PublishDiagnosticsParams | None:
        for item in client.published:  # type: ignore[attr-defined]
            if item.uri == uri and (version is None or item.version == version):
                client.published.remove(item)  # type: ignore[attr-defined]
                return item
        return None

    return await wait_until(client, find, f"diagnostics for {uri} version {version}", timeout)


def capabilities(*, encodings: list[str] | None = None, pull: bool = False, configuration: bool = False,
                 watch: bool = False, refresh: bool = False, rich: bool = True,
                 progress: bool = False) -> types.ClientCapabilities:
    """What the test client says it supports; `rich=False` drops Markdown and snippets."""
    markdown = [types.MarkupKind.Markdown, types.MarkupKind.PlainText] if rich else [types.MarkupKind.PlainText]
    return types.ClientCapabilities(
        general=types.GeneralClientCapabilities(
            position_encodings=list(encodings)) if encodings else None,
        text_document=types.TextDocumentClientCapabilities(
            synchronization=types.TextDocumentSyncClientCapabilities(),
            hover=types.HoverClientCapabilities(content_format=markdown),
            completion=types.CompletionClientCapabilities(completion_item=types.ClientCompletionItemOptions(
                snippet_support=rich, documentation_format=markdown,
                resolve_support=types.ClientCompletionItemResolveOptions(properties=["documentation", "detail"]))),
            signature_help=types.SignatureHelpClientCapabilities(
                signature_information=types.ClientSignatureInformationOptions(
                    documentation_format=markdown,
                    parameter_information=types.ClientSignatureParameterInformationOptions(
                        label_offset_support=True))),
            code_action=types.CodeActionClientCapabilities(),
            inlay_hint=types.InlayHintClientCapabilities(),
            document_symbol=types.DocumentSymbolClientCapabilities(hierarchical_document_symbol_support=True),
            publish_diagnostics=types.PublishDiagnosticsClientCapabilities(
                related_information=True, version_support=True, code_description_support=True,
                data_support=True, tag_support=types.ClientDiagnosticsTagOptions(
                    value_set=[types.DiagnosticTag.Unnecessary, types.DiagnosticTag.Deprecated])),
            diagnostic=types.DiagnosticClientCapabilities(related_document_support=False) if pull else None,
        ),
        workspace=types.WorkspaceClientCapabilities(
            configuration=configuration,
            workspace_folders=True,
            did_change_watched_files=types.DidChangeWatchedFilesClientCapabilities(dynamic_registration=True)
            if watch else None,
            diagnostics=types.DiagnosticWorkspaceClientCapabilities(refresh_support=True) if refresh else None,
            code_lens=types.CodeLensWorkspaceClientCapabilities(refresh_support=True) if refresh else None,
        ),
        window=types.WindowClientCapabilities(work_done_progress=True) if progress else None,
    )


async def initialize(client: LanguageClient, *, folders: list[Path] | None = None,
                     init_options: Any = None, **caps: Any) -> types.InitializeResult:
    folder_items = [types.WorkspaceFolder(uri=f.as_uri(), name=f.name) for f in folders or []]
    return await client.initialize_session(types.InitializeParams(
        capabilities=capabilities(**caps),
        workspace_folders=folder_items or None,
        root_uri=folder_items[0].uri if folder_items else None,
        initialization_options=init_options,
    ))


def open_document(client: LanguageClient, path: Path, text: str | None = None, version: int = 1) -> str:
    uri = path.as_uri()
    client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(
        uri=uri, language_id="python", version=version,
        text=text if text is not None else path.read_text(encoding="utf-8"))))
    return uri


def edit(client: LanguageClient, uri: str, version: int, start: tuple[int, int], end: tuple[int, int],
         text: str) -> None:
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
        content_changes=[types.TextDocumentContentChangePartial(
            range=types.Range(types.Position(*start), types.Position(*end)), text=text)]))


def replace_all(client: LanguageClient, uri: str, version: int, text: str) -> None:
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
        content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)]))


def as_json(diagnostic: types.Diagnostic) -> dict[str, Any]:
    """An LSP diagnostic in the shape of one `tilelint --format json` diagnostic."""
    severity = {types.DiagnosticSeverity.Error: "error", types.DiagnosticSeverity.Warning: "warning",
                types.DiagnosticSeverity.Information: "information"}[diagnostic.severity]
    rng = default_converter().unstructure(diagnostic.range)
    out: dict[str, Any] = {"code": diagnostic.code, "severity": severity, "message": diagnostic.message,
                           "range": rng, "arch": diagnostic.data["arch"], "kernel": diagnostic.data["kernel"]}
    if diagnostic.related_information:
        out["related"] = [{"range": default_converter().unstructure(r.location.range), "message": r.message}
                          for r in diagnostic.related_information]
    return out


class RawServer:
    """The server as a subprocess, spoken to in raw JSON-RPC frames (over its stdio, or a TCP connection)."""

    def __init__(self, proc: asyncio.subprocess.Process, reader: asyncio.StreamReader | None = None,
                 writer: asyncio.StreamWriter | None = None) -> None:
        self.proc = proc
        self.reader = reader if reader is not None else proc.stdout
        self.writer = writer if writer is not None else proc.stdin

    @classmethod
    async def start(cls) -> RawServer:
        proc = await asyncio.create_subprocess_exec(
            *SERVER_COMMAND, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL, env=SERVER_ENV)
        return cls(proc)

    def send_bytes(self, body: bytes) -> None:
        assert self.writer is not None
        self.writer.write(f"Content-Length: {len(body)}\r\n\r\n".encode() + body)

    def send(self, message: dict[str, Any]) -> None:
        self.send_bytes(json.dumps(message).encode())

    async def receive(self, timeout: float = TIMEOUT) -> dict[str, Any]:
        assert self.reader is not None
        length = None
        while True:
            line = await asyncio.wait_for(self.reader.readline(), timeout)
            if not line:
                raise EOFError("the server closed its output")
            if line in (b"\r\n", b"\n"):
                break
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
        assert length is not None
        return json.loads(await asyncio.wait_for(self.reader.readexactly(length), timeout))

    async def response(self, msg_id: Any, timeout: float = TIMEOUT) -> dict[str, Any]:
        """The next response with this id, skipping the server's notifications and requests."""
        while True:
            message = await self.receive(timeout)
            if "method" not in message and message.get("id") == msg_id:
                return message

    async def close(self) -> int:
        if self.proc.returncode is None:
            if self.writer is not None:
                self.writer.close()
            try:
                await asyncio.wait_for(self.proc.wait(), 30)
            except asyncio.TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        return self.proc.returncode
