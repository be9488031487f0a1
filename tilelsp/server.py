"""`tilelsp`: the language server over the analyzer (pygls 2.x).

The server is an adapter. Documents live here (`documents.py`), the analysis
runs in a worker process (`analysis.py`, `worker.py`), settings come from
pyproject.toml and the client (`settings.py`), diagnostics are converted in
`convert.py`, and hovers, hints, symbols, navigation, completion and code
actions are pure functions of a `DocumentIndex` in `tilelsp.features`.
Everything inside works in Unicode code points; `positions.py` converts at
the edge, in both directions, to the encoding negotiated at `initialize`.

Starting the server imports pygls and lsprotocol and nothing heavy: the
analyzer's parser runs only in the worker, and `tilelsp.features` and the
rule registry are imported after `initialized`, off the request loop.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import logging
import os
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from lsprotocol import types
from pygls.exceptions import (
    FeatureRequestError,
    JsonRpcException,
    JsonRpcInvalidParams,
    JsonRpcInvalidRequest,
    JsonRpcMethodNotFound,
    JsonRpcParseError,
    JsonRpcServerNotInitialized,
)
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol
from pygls.protocol.language_server import lsp_method
from pygls.uris import to_fs_path


from . import __version__
from .analysis import Job, Outcome, Scheduler, WorkerProcess
from .compile import (CompileJob, CompileOutcome, CompileService, diagnostic_at, kernel_jobs, lens_title,
                      smem_notices)
from .client_support import ClientSupport
from .convert import diagnostics_to_lsp
from .documents import Document, Documents, split_lines
from .positions import UTF16, UTF32, convert, position_from_client, range_from_client
from .settings import (
    DocumentSettings,
    ProjectConfigs,
    Settings,
    merge,
    parse_settings,
    section_of,
)

log = logging.getLogger("tilelsp.server")

#: How long a pull for one document waits for its own pending analysis.
PULL_WAIT_S = 30.0
#: How long `workspace/diagnostic` is held open when nothing changed (the client asks again when answered).
WORKSPACE_HOLD_S = 30.0
#: How long the client may take to answer `workspace/configuration`.
CONFIGURATION_TIMEOUT_S = 10.0
PYPROJECT_WATCHER_ID = "tilelsp-pyproject-watcher"
CONFIGURATION_REGISTRATION_ID = "tilelsp-configuration"


@dataclass
class Analysed:
    """One accepted analysis: the index and the text it was built from."""

    version: int | None
    text: str
    index: Any
    settings: DocumentSettings
    diagnostics: list[types.Diagnostic]  # code points
    _lines: list[str] | None = field(default=None, repr=False)

    @property
    def lines(self) -> list[str]:
        if self._lines is None:
            self._lines = split_lines(self.text)
        return self._lines


@dataclass
class DocState:
    analysable: bool
    settings: DocumentSettings | None = None
    generation: int = 0  # bumped by every edit and settings change that calls for a new analysis
    done: int = -1  # the generation of the last analysis that finished, kept or failed
    latest: Analysed | None = None  # the newest accepted result, syntax error or not
    good: Analysed | None = None  # the newest accepted result that parsed
    client_diagnostics: list[types.Diagnostic] = field(default_factory=list)
    result_id: str | None = None
    reported_id: str | None = None  # what the client last pulled
    waiters: list[asyncio.Future[None]] = field(default_factory=list)
    compiled: CompileOutcome | None = None  # the last compile that finished (compile-on-save)
    compile_diagnostics: list[types.Diagnostic] = field(default_factory=list)  # code points, source tilec


# --------------------------------------------------------------------------- protocol


@dataclass
class _BadMessage:
    """A message that did not fit its method's schema; answered with an error if it was a request."""

    id: Any
    method: str
    error: JsonRpcException
    is_request: bool


class TileProtocol(LanguageServerProtocol):
    """pygls' protocol, stricter at the edges and with our own document store.

    - A request whose params do not fit its method gets an InvalidParams
      answer (pygls would log and never answer); a message that is not a
      JSON-RPC object gets InvalidRequest; a body that is not JSON gets a
      ParseError answer with a null id.
    - Requests before `initialize` get ServerNotInitialized; requests after
      `shutdown` get InvalidRequest.
    - Text synchronisation goes to `server.documents` (LSP line breaks,
      clamped ranges) instead of pygls' workspace documents.
    """

    _server: TileLanguageServer

    def structure_message(self, data: dict[str, Any]) -> Any:
        try:
            return super().structure_message(data)
        except JsonRpcException as err:
            if isinstance(data, dict) and isinstance(data.get("method"), str):
                method = data["method"]
                if method not in self.fm.builtin_features and method not in self.fm.features:
                    return _BadMessage(data.get("id"), method, JsonRpcMethodNotFound.of(method), "id" in data)
                cause = err.__cause__
                detail = _validation_summary(cause) if cause is not None else str(err)
                return _BadMessage(data.get("id"), method, JsonRpcInvalidParams(
                    f"Invalid params for {method}: {detail}"), "id" in data)
            raise

    def handle_message(self, message: Any) -> None:
        if isinstance(message, _BadMessage):
            if message.is_request:
                self._reply_error(message.id, message.error)
            else:
                log.warning("ignored %s notification: %s", message.method, message.error.message)
            return
        if not hasattr(message, "jsonrpc"):
            msg_id = message.get("id") if isinstance(message, dict) else None
            self._reply_error(msg_id, JsonRpcInvalidRequest("Invalid Request: not a JSON-RPC 2.0 message"))
            return
        method = getattr(message, "method", None)
        is_request = method is not None and hasattr(message, "id")
        if is_request and method == types.INITIALIZE:
            self._server.initialize_seen = True
        elif is_request and not self._server.initialize_seen:
            self._reply_error(message.id, JsonRpcServerNotInitialized(f"{method}: the server is not initialized"))
            return
        elif is_request and self._shutdown and method != types.EXIT:
            self._reply_error(message.id, JsonRpcInvalidRequest(f"{method}: the server is shutting down"))
            return
        super().handle_message(message)

    def _reply_error(self, msg_id: Any, error: JsonRpcException) -> None:
        if not isinstance(msg_id, (int, str)) or isinstance(msg_id, bool):
            msg_id = None
        self._send_data({"jsonrpc": "2.0", "id": msg_id,
                         "error": {"code": error.code, "message": error.message}})

    @lsp_method(types.TEXT_DOCUMENT_DID_OPEN)
    def lsp_text_document__did_open(self, params: types.DidOpenTextDocumentParams):
        self._server.documents.open(params.text_document)
        if (handler := self.fm.features.get(types.TEXT_DOCUMENT_DID_OPEN)) is not None:
            yield handler, (params,), None

    @lsp_method(types.TEXT_DOCUMENT_DID_CHANGE)
    def lsp_text_document__did_change(self, params: types.DidChangeTextDocumentParams):
        self._server.documents.change(params, self._server.encoding)
        if (handler := self.fm.features.get(types.TEXT_DOCUMENT_DID_CHANGE)) is not None:
            yield handler, (params,), None

    @lsp_method(types.TEXT_DOCUMENT_DID_CLOSE)
    def lsp_text_document__did_close(self, params: types.DidCloseTextDocumentParams):
        self._server.documents.close(params.text_document.uri)
        if (handler := self.fm.features.get(types.TEXT_DOCUMENT_DID_CLOSE)) is not None:
            yield handler, (params,), None


def _validation_summary(error: BaseException) -> str:
    """A one-line reason from a cattrs validation error."""
    try:
        from cattrs import transform_error

        reasons = transform_error(error) if isinstance(error, BaseExceptionGroup) else [str(error)]
    except Exception:  # noqa: BLE001 - the summary is a courtesy
        reasons = [str(error)]
    return "; ".join(reasons[:3])[:500] or type(error).__name__


# --------------------------------------------------------------------------- server


class TileLanguageServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("tilelsp", __version__, protocol_cls=TileProtocol)
        self.initialize_seen = False
        self.documents = Documents()
        self.states: dict[str, DocState] = {}
        self.encoding = UTF16
        self.pull_mode = False
        self.refresh_support = False
        self.inlay_refresh_support = False
        self.config_support = False
        self.support = ClientSupport()
        self.init_settings = Settings()
        self.pushed_settings = Settings()
        self.projects = ProjectConfigs()
        self.worker = WorkerProcess()
        self.scheduler = Scheduler(self.worker, self._make_job, self._deliver)
        self._client_settings: dict[str, asyncio.Future[Settings]] = {}
        self._changed: list[asyncio.Future[None]] = []
        self._features_module: Any = None
        self._features_state = "unloaded"  # unloaded | loaded | missing | broken
        self._features_lock = threading.Lock()
        self._logged_problems: set[str] = set()
        self.settings_epoch = 0  # bumped on every settings or pyproject.toml change
        self._refresh_scheduled = False
        self._pending_refresh: set[str] = set()
        self.compiler = CompileService(self._compiled, self._compile_progress)
        self.progress_support = False
        self.lens_refresh_support = False
        self.generated: dict[str, str] = {}  # tilelsp:// URI -> text (commands' generated code)

    # ------------------------------------------------------------------ lifecycle
    def configure_client(self, params: types.InitializeParams) -> None:
        caps = params.capabilities
        encoding = self.workspace.position_encoding
        self.encoding = encoding.value if isinstance(encoding, types.PositionEncodingKind) else str(encoding or UTF16)
        text = caps.text_document
        self.pull_mode = text is not None and text.diagnostic is not None
        workspace = caps.workspace
        self.refresh_support = bool(workspace and workspace.diagnostics and workspace.diagnostics.refresh_support)
        self.inlay_refresh_support = bool(workspace and workspace.inlay_hint and workspace.inlay_hint.refresh_support)
        self.config_support = bool(workspace and workspace.configuration)
        self.progress_support = bool(caps.window and caps.window.work_done_progress)
        self.lens_refresh_support = bool(workspace and workspace.code_lens and workspace.code_lens.refresh_support)
        self.support = ClientSupport.of(caps)
        settings, problems = parse_settings(section_of(params.initialization_options))
        self.init_settings = settings
        for problem in problems:
            log.warning("initializationOptions: %s", problem)
        log.info("tilelsp %s: position encoding %s, %s diagnostics", __version__, self.encoding,
                 "pull" if self.pull_mode else "push")

    def on_initialized(self) -> None:
        caps = self.client_capabilities.workspace
        registrations = []
        if caps and caps.did_change_watched_files and caps.did_change_watched_files.dynamic_registration:
            registrations.append(types.Registration(
                id=PYPROJECT_WATCHER_ID,
                method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
                register_options=types.DidChangeWatchedFilesRegistrationOptions(
                    watchers=[types.FileSystemWatcher(glob_pattern="**/pyproject.toml")]),
            ))
        if caps and caps.did_change_configuration and caps.did_change_configuration.dynamic_registration:
            registrations.append(types.Registration(
                id=CONFIGURATION_REGISTRATION_ID,
                method=types.WORKSPACE_DID_CHANGE_CONFIGURATION,
                register_options=types.DidChangeConfigurationRegistrationOptions(section="tilelsp"),
            ))
        if registrations:
            future = self.client_register_capability(types.RegistrationParams(registrations=registrations))
            future.add_done_callback(_log_failure("client/registerCapability"))
        threading.Thread(target=self._warm_imports, name="tilelsp-warm-imports", daemon=True).start()

    def _warm_imports(self) -> None:
        """Import what the first hover and the first result need, off the request loop."""
        try:
            import analyzer.rules  # noqa: F401 - codeDescription links
        except Exception:  # noqa: BLE001
            log.exception("importing the rule registry failed")
        self.features()

    async def close(self) -> None:
        await self.scheduler.close()
        await self.compiler.close()

    def report_server_error(self, error: Exception, source: Any) -> None:
        """Errors outside a request: a body that is not JSON is answered; the rest is logged, not shown."""
        if isinstance(error, (json.JSONDecodeError, UnicodeDecodeError)):
            self.protocol._reply_error(None, JsonRpcParseError(f"Parse error: {error}"))
            return
        if source is FeatureRequestError:
            return  # the request was answered with the error already
        log.error("%s: %s", getattr(source, "__name__", source), error)

    def shutdown(self) -> None:  # the transport closed: never leave the workers behind
        self.worker.kill_now()
        self.compiler.worker.kill_now()
        super().shutdown()

    # ------------------------------------------------------------------ features module
    def features(self) -> Any:
        """`tilelsp.features`, imported on first use (at start-up by `_warm_imports`, off the request loop).

        None if it fails to import: diagnostics keep working and the failure is logged once.
        """
        if self._features_state == "unloaded":
            with self._features_lock:
                if self._features_state == "unloaded":
                    try:
                        from . import features as module
                    except Exception:  # noqa: BLE001 - a broken feature module must not stop diagnostics
                        log.exception("tilelsp.features does not import")
                        self._features_state = "broken"
                    else:
                        self._features_module = module
                        self._features_state = "loaded"
        return self._features_module

    # ------------------------------------------------------------------ settings
    def _scope(self, uri: str) -> str:
        """The workspace folder a document belongs to (the longest match), or the document itself."""
        path = _fs_path(uri)
        if path is None:
            return uri
        best, best_len = uri, -1
        folders = list(self.workspace.folders.values())
        candidates = [f.uri for f in folders]
        if not candidates and self.workspace.root_uri:
            candidates = [self.workspace.root_uri]
        for folder_uri in candidates:
            folder = _fs_path(folder_uri)
            if folder is None:
                continue
            folder = folder.rstrip("/\\") or folder
            if (path == folder or path.startswith(folder + os.sep)) and len(folder) > best_len:
                best, best_len = folder_uri, len(folder)
        return best

    async def _settings_of_scope(self, scope: str) -> Settings:
        if not self.config_support:
            return self.pushed_settings
        future = self._client_settings.get(scope)
        if future is None:
            future = asyncio.get_running_loop().create_future()
            self._client_settings[scope] = future
            try:
                answer = await asyncio.wait_for(self.workspace_configuration_async(types.ConfigurationParams(
                    items=[types.ConfigurationItem(scope_uri=scope, section="tilelsp")])), CONFIGURATION_TIMEOUT_S)
                raw = answer[0] if isinstance(answer, (list, tuple)) and answer else None
            except (asyncio.TimeoutError, JsonRpcException, Exception) as err:  # noqa: BLE001
                log.warning("workspace/configuration for %s failed (%s); using initializationOptions", scope, err)
                raw = None
            settings, problems = parse_settings(raw)
            for problem in problems:
                self._log_once(f"{scope}: {problem}")
            if not future.done():
                future.set_result(settings)
            return settings
        return await asyncio.shield(future)

    async def settings_for(self, uri: str) -> DocumentSettings:
        base, pyproject, problem = self.projects.for_file(_fs_path(uri))
        if problem:
            self._log_once(problem)
        client = await self._settings_of_scope(self._scope(uri))
        return merge(base, [self.init_settings, client], pyproject)

    def _log_once(self, message: str) -> None:
        if message not in self._logged_problems:
            self._logged_problems.add(message)
            log.warning("%s", message)

    async def current_settings(self, uri: str) -> DocumentSettings:
        """The document's settings, fetched again if the settings changed while they were being fetched."""
        while True:
            epoch = self.settings_epoch
            settings = await self.settings_for(uri)
            if epoch == self.settings_epoch:
                return settings

    async def reconfigure(self, reason: str) -> None:
        """Settings or a pyproject.toml changed: re-analyse the open documents whose settings changed."""
        self.settings_epoch += 1
        epoch = self.settings_epoch
        self._client_settings.clear()
        self.projects.clear()
        self._logged_problems.clear()
        changed = 0
        for doc in self.documents:
            state = self.states.get(doc.uri)
            if state is None or not state.analysable:
                continue
            settings = await self.settings_for(doc.uri)
            if epoch != self.settings_epoch:
                return  # a newer change is being applied to every document
            if self.documents.get(doc.uri) is not doc:
                continue
            if settings != state.settings:
                state.settings = settings
                self.analyse(doc.uri, 0)
                changed += 1
        log.info("%s: re-analysing %d open document(s)", reason, changed)

    # ------------------------------------------------------------------ analysis
    def analyse(self, uri: str, delay_s: float) -> None:
        state = self.states.get(uri)
        if state is None or state.settings is None or not state.analysable:
            return
        state.generation += 1
        self.scheduler.schedule(uri, delay_s)

    def _make_job(self, uri: str) -> Job | None:
        doc, state = self.documents.get(uri), self.states.get(uri)
        if doc is None or state is None or state.settings is None:
            return None
        return Job(uri, state.generation, doc.version, doc.text, _fs_path(uri) or uri, state.settings)

    def _deliver(self, outcome: Outcome) -> None:
        job = outcome.job
        state = self.states.get(job.uri)
        if state is None:
            return
        try:
            if job.generation != state.generation:
                log.debug("dropped the analysis of %s version %s: superseded", job.uri, job.version)
            else:
                state.done = job.generation
                if outcome.index is not None:
                    self._accept(state, job, outcome.index)
                    log.debug("analysed %s version %s in %.0f ms", job.uri, job.version, outcome.seconds * 1000)
        finally:
            _wake(state.waiters)

    def _accept(self, state: DocState, job: Job, index: Any) -> None:
        if getattr(index, "error", None):
            log.warning("%s: %s", job.uri, index.error)
        # exactly tilelint's findings; the index's syntax_error only says whether the model is good
        diagnostics = list(index.report.diagnostics)
        analysed = Analysed(job.version, job.text, index, job.settings,
                            diagnostics_to_lsp(diagnostics, job.uri, job.settings.fail_on))
        state.latest = analysed
        if getattr(index, "syntax_error", None) is None:
            state.good = analysed
            self._schedule_refresh(inlay=True)
        self._publish(job.uri, state)

    def _publish(self, uri: str, state: DocState) -> None:
        latest = state.latest
        if latest is None:
            return
        lines = latest.lines
        state.client_diagnostics = convert(latest.diagnostics + state.compile_diagnostics, uri, lambda _: lines,
                                           self.encoding, to_client=True)
        body = repr(state.client_diagnostics)  # attrs reprs: every field, deterministic
        state.result_id = hashlib.sha256(body.encode("utf-8", "surrogatepass")).hexdigest()[:16]
        if self.pull_mode:
            if state.result_id != state.reported_id:
                self._schedule_refresh(diagnostics=True)
        else:
            self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(
                uri=uri, diagnostics=state.client_diagnostics, version=latest.version))
        _wake(self._changed)

    # ------------------------------------------------------------------ compile-on-save
    def compile_document(self, uri: str, reason: str) -> str | None:
        """Queue a compile of the saved file; the reason it was not queued, else None."""
        state, doc = self.states.get(uri), self.documents.get(uri)
        if state is None or doc is None or state.settings is None or not state.analysable:
            return "the document is not open"
        if not state.settings.trusted:
            return ("compiling runs the file's module: the workspace is not trusted (set tilelsp.trusted, or let the "
                    "editor say the workspace is trusted)")
        path = _fs_path(uri)
        if path is None or not os.path.isfile(path):
            return "the document is not a file on disk"
        kernels = kernel_jobs(state.good.index) if state.good is not None else []
        if not kernels:
            return "no fully instantiated kernel in the file (see tilelsp.instantiate)"
        s = state.settings
        self.compiler.submit(CompileJob(uri, path, doc.version, tuple(kernels), s.compile_target, s.config.arches,
                                        s.compile_timeout_s, reason, s.compile_backend, s.tilelang_python))
        self._schedule_refresh(lens=True)
        return None

    def _compile_progress(self, job: CompileJob, begin: bool) -> None:
        if not self.progress_support:
            return
        token = f"tilelsp-compile-{id(job)}"
        name = os.path.basename(job.path)
        if begin:
            def started(future: Any) -> None:
                if future.exception() is None and self.compiler.current is job:
                    self.work_done_progress.begin(token, types.WorkDoneProgressBegin(
                        title=f"Compiling {name}", message=f"{len(job.kernels)} kernel(s), target {job.target}",
                        cancellable=False))
            self.work_done_progress.create(token).add_done_callback(started)
        elif token in self.work_done_progress.tokens:
            self.work_done_progress.end(token, types.WorkDoneProgressEnd(message=f"{name} compiled"))

    def _compiled(self, outcome: CompileOutcome) -> None:
        uri = outcome.job.uri
        state = self.states.get(uri)
        if state is None or outcome.cancelled:
            return
        state.compiled = outcome
        found: list[Any] = []
        if outcome.error is not None:
            from analyzer.diagnostics import Severity

            line = min((k.line for k in outcome.job.kernels), default=0)
            found.append(diagnostic_at(line, "TL953", "the compiler worker failed; the server keeps running: "
                                                      f"{outcome.error.splitlines()[0]}", Severity.WARNING))
            self.window_show_message(types.ShowMessageParams(
                type=types.MessageType.Warning, message=f"tilelsp: compiling {os.path.basename(outcome.job.path)}: "
                                                        f"{outcome.error.splitlines()[0]}"))
        elif outcome.result is not None:
            seen = set()
            groups = [outcome.result.get("load_error") or []] + [b["diagnostics"] for b in outcome.result.get("builds", [])]
            for group in groups:
                for d in group:
                    key = (d.code, d.range.start.line, d.message)
                    # the analyzer shows TileLang's refusals (TL1xx-TL5xx) already: only the compiler's own
                    # (TL95x) and TileLang's own verdict (TL955, backend tilelang) are added
                    if key not in seen and d.code.startswith("TL95"):
                        seen.add(key)
                        found.append(d)
            index = state.good.index if state.good is not None else None
            if index is not None:
                from analyzer.diagnostics import Severity

                for line, message in smem_notices(index, outcome.result):
                    found.append(diagnostic_at(line, "TL954", message, Severity.INFORMATION))
        from .convert import to_lsp

        diagnostics = []
        for d in found:
            lsp = to_lsp(d, uri)
            lsp.source = "tilelang" if d.code == "TL955" else "tilec"
            lsp.code_description = None
            diagnostics.append(lsp)
        state.compile_diagnostics = diagnostics
        if state.latest is not None:
            self._publish(uri, state)
        self._schedule_refresh(lens=True)
        log.info("compiled %s in %.2f s%s", uri, outcome.seconds, f": {outcome.error}" if outcome.error else "")

    def code_lenses(self, uri: str) -> list[types.CodeLens]:
        state = self.states.get(uri)
        if state is None or state.good is None or state.settings is None:
            return []
        kernels = kernel_jobs(state.good.index)
        lenses = []
        outcome = state.compiled
        builds: dict[str, list[dict[str, Any]]] = {}
        if outcome is not None and outcome.result is not None:
            for b in outcome.result.get("builds", []):
                builds.setdefault(b["call"], []).append(b)
        compiling = self.compiler.pending(uri)
        for kernel in kernels:
            call, line = kernel.call, kernel.line
            if not state.settings.trusted:
                title = "tilec: not compiled (untrusted workspace: set tilelsp.trusted)"
            elif compiling:
                title = "tilec: compiling…"
            elif outcome is not None and outcome.error is not None:
                title = f"tilec: the compiler worker failed ({outcome.error.splitlines()[0][:80]})"
            elif call in builds:
                title = lens_title(builds[call])
                if len(kernels) > 1:
                    title += f" — {call}"
            elif outcome is not None and outcome.result is not None and outcome.result.get("load_error"):
                first = outcome.result["load_error"][0]
                title = f"tilec: the file does not load ({first.code} {first.message[:80]})"
            else:
                title = "tilec: save to compile" if state.settings.compile_on_save else "tilec: compile"
            rng = types.Range(types.Position(line, 0), types.Position(line, 0))
            lenses.append(types.CodeLens(range=rng, command=types.Command(
                title=title, command="tilelsp.compile", arguments=[uri])))
        return lenses

    def _schedule_refresh(self, diagnostics: bool = False, inlay: bool = False, lens: bool = False) -> None:
        """Ask the client to pull again, at most once per loop iteration."""
        if diagnostics and self.refresh_support:
            self._pending_refresh.add("diagnostic")
        if inlay and self.inlay_refresh_support:
            self._pending_refresh.add("inlay")
        if lens and self.lens_refresh_support:
            self._pending_refresh.add("lens")
        if self._pending_refresh and not self._refresh_scheduled:
            self._refresh_scheduled = True
            asyncio.get_running_loop().call_soon(self._send_refresh)

    def _send_refresh(self) -> None:
        self._refresh_scheduled = False
        pending, self._pending_refresh = self._pending_refresh, set()
        if "diagnostic" in pending:
            self.workspace_diagnostic_refresh(None).add_done_callback(_log_failure("workspace/diagnostic/refresh"))
        if "inlay" in pending:
            self.workspace_inlay_hint_refresh(None).add_done_callback(_log_failure("workspace/inlayHint/refresh"))
        if "lens" in pending:
            self.workspace_code_lens_refresh(None).add_done_callback(_log_failure("workspace/codeLens/refresh"))

    async def wait_for_analysis(self, uri: str, timeout: float) -> None:
        """Wait for the document's pending analysis (moved to the front of the queue), if there is one."""
        state = self.states.get(uri)
        if state is None or not state.analysable:
            return
        if state.settings is not None and state.done == state.generation and not self.scheduler.pending(uri):
            return
        self.scheduler.flush(uri)
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        state.waiters.append(future)
        try:
            await asyncio.wait_for(future, timeout)
        except asyncio.TimeoutError:
            log.warning("no analysis of %s within %g s; answering with the last results", uri, timeout)

    async def wait_for_change(self, timeout: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._changed.append(future)
        try:
            await asyncio.wait_for(future, timeout)
        except asyncio.TimeoutError:
            pass

    # ------------------------------------------------------------------ requests
    def lines_of(self, uri: str | None) -> Sequence[str] | None:
        doc = self.documents.get(uri) if uri is not None else None
        return doc.lines if doc is not None else None

    def answer(self, name: str, uri: str, empty: Any, call: Callable[[Any, Document, Any, Any], Any]) -> Any:
        """Run one feature function for an open document; never raises.

        The function gets the document's current text, positions in code
        points of that text, and the last good index (None before the first
        analysis; older than the text while it does not parse). Its answer
        goes back in the client's encoding.
        """
        try:
            features = self.features()
            doc, state = self.documents.get(uri), self.states.get(uri)
            if features is None or doc is None or state is None or not state.analysable:
                return empty
            index = state.good.index if state.good is not None else None
            config = state.settings.config if state.settings is not None else None
            result = call(features, doc, index, config)
            if result is None:
                return empty
            if doc.ascii:
                return result  # an answer about this document only: its columns are the same in every encoding
            return self.to_client(result, uri)
        except Exception:  # noqa: BLE001 - a failing feature answers empty and is logged, the server stays up
            log.exception("%s failed on %s", name, uri)
            return empty

    def to_client(self, value: Any, uri: str | None) -> Any:
        if self.encoding == UTF32:
            return value
        return convert(value, uri, self.lines_of, self.encoding, to_client=True)

    def position_in(self, doc: Document, position: types.Position) -> types.Position:
        """A client position -> code points of the document's text (clamped into it)."""
        return position_from_client(doc.lines, position, self.encoding)

    def range_in(self, doc: Document, rng: types.Range) -> types.Range:
        return range_from_client(doc.lines, rng, self.encoding)

    def diagnostic_report(self, uri: str) -> tuple[str | None, list[types.Diagnostic], int | None]:
        state = self.states.get(uri)
        if state is None or state.latest is None:
            return None, [], None
        state.reported_id = state.result_id
        return state.result_id, state.client_diagnostics, state.latest.version


def _fs_path(uri: str) -> str | None:
    try:
        return to_fs_path(uri)
    except Exception:  # noqa: BLE001 - odd URIs are not files
        return None


def _wake(futures: list[asyncio.Future[None]]) -> None:
    waiting, futures[:] = list(futures), []
    for future in waiting:
        if not future.done():
            future.set_result(None)


def _log_failure(what: str) -> Callable[[Any], None]:
    def check(future: Any) -> None:
        try:
            if future.cancelled():
                return
            error = future.exception()
        except Exception as err:  # noqa: BLE001
            error = err
        if error is not None:
            log.info("%s: the client answered %s", what, error)

    return check


server = TileLanguageServer()


# --------------------------------------------------------------------------- lifecycle handlers


@server.feature(types.INITIALIZE)
def on_initialize(ls: TileLanguageServer, params: types.InitializeParams) -> None:
    ls.configure_client(params)


@server.feature(types.INITIALIZED)
def on_initialized(ls: TileLanguageServer, params: types.InitializedParams) -> None:
    ls.on_initialized()


@server.feature(types.SHUTDOWN)
async def on_shutdown(ls: TileLanguageServer, params: None) -> None:
    await ls.close()


# --------------------------------------------------------------------------- documents


@server.feature(types.TEXT_DOCUMENT_DID_OPEN)
async def did_open(ls: TileLanguageServer, params: types.DidOpenTextDocumentParams) -> None:
    item = params.text_document
    doc = ls.documents.get(item.uri)
    analysable = item.language_id in ("python", "") or (_fs_path(item.uri) or item.uri).endswith((".py", ".pyi"))
    state = ls.states.get(item.uri)
    if state is None:
        state = ls.states[item.uri] = DocState(analysable)
    else:
        state.analysable = analysable
    if not analysable:
        return
    settings = await ls.current_settings(item.uri)
    if ls.documents.get(item.uri) is not doc or ls.states.get(item.uri) is not state:
        return  # closed or reopened meanwhile
    state.settings = settings
    ls.analyse(item.uri, 0)


@server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
def did_change(ls: TileLanguageServer, params: types.DidChangeTextDocumentParams) -> None:
    state = ls.states.get(params.text_document.uri)
    if state is not None and state.settings is not None:
        ls.analyse(params.text_document.uri, state.settings.debounce_ms / 1000)


@server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: TileLanguageServer, params: types.DidCloseTextDocumentParams) -> None:
    uri = params.text_document.uri
    ls.scheduler.cancel(uri)
    state = ls.states.pop(uri, None)
    if state is not None:
        _wake(state.waiters)
        if not ls.pull_mode and state.latest is not None:
            ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=[]))
    _wake(ls._changed)


@server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
async def did_change_configuration(ls: TileLanguageServer, params: types.DidChangeConfigurationParams) -> None:
    if not ls.config_support:
        settings, problems = parse_settings(section_of(params.settings))
        for problem in problems:
            log.warning("didChangeConfiguration: %s", problem)
        ls.pushed_settings = settings
    await ls.reconfigure("configuration changed")


@server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
async def did_change_watched_files(ls: TileLanguageServer, params: types.DidChangeWatchedFilesParams) -> None:
    names = sorted({os.path.basename(_fs_path(c.uri) or c.uri) for c in params.changes})
    await ls.reconfigure(f"{', '.join(names) or 'files'} changed")


@server.feature(types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS)
async def did_change_folders(ls: TileLanguageServer, params: types.DidChangeWorkspaceFoldersParams) -> None:
    await ls.reconfigure("workspace folders changed")


# --------------------------------------------------------------------------- diagnostics (pull)


@server.feature(
    types.TEXT_DOCUMENT_DIAGNOSTIC,
    types.DiagnosticOptions(identifier="tilelint", inter_file_dependencies=False, workspace_diagnostics=True),
)
async def document_diagnostic(ls: TileLanguageServer, params: types.DocumentDiagnosticParams
                              ) -> types.DocumentDiagnosticReport:
    uri = params.text_document.uri
    await ls.wait_for_analysis(uri, PULL_WAIT_S)
    result_id, items, _ = ls.diagnostic_report(uri)
    if result_id is not None and params.previous_result_id == result_id:
        return types.UnchangedDocumentDiagnosticReport(result_id=result_id)
    return types.FullDocumentDiagnosticReport(items=list(items), result_id=result_id)


@server.feature(types.WORKSPACE_DIAGNOSTIC)
async def workspace_diagnostic(ls: TileLanguageServer, params: types.WorkspaceDiagnosticParams
                               ) -> types.WorkspaceDiagnosticReport:
    previous = {p.uri: p.value for p in params.previous_result_ids}
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WORKSPACE_HOLD_S
    while True:
        reports: list[Any] = []
        changed = False
        for uri, state in list(ls.states.items()):
            if state.latest is None:
                continue
            result_id, items, version = ls.diagnostic_report(uri)
            if result_id is not None and previous.get(uri) == result_id:
                reports.append(types.WorkspaceUnchangedDocumentDiagnosticReport(
                    uri=uri, version=version, result_id=result_id))
            else:
                changed = True
                reports.append(types.WorkspaceFullDocumentDiagnosticReport(
                    uri=uri, version=version, items=list(items), result_id=result_id))
        remaining = deadline - loop.time()
        if changed or not previous or remaining <= 0:
            return types.WorkspaceDiagnosticReport(items=reports)
        await ls.wait_for_change(remaining)


# --------------------------------------------------------------------------- features


@server.feature(types.TEXT_DOCUMENT_HOVER)
def hover(ls: TileLanguageServer, params: types.HoverParams) -> types.Hover | None:
    return ls.answer("hover", params.text_document.uri, None, lambda f, doc, index, config: ls.support.hover(
        f.hover(index, doc.text, ls.position_in(doc, params.position), config)))


@server.feature(types.TEXT_DOCUMENT_INLAY_HINT, types.InlayHintOptions(resolve_provider=False))
def inlay_hint(ls: TileLanguageServer, params: types.InlayHintParams) -> list[types.InlayHint]:
    return ls.answer("inlayHint", params.text_document.uri, [], lambda f, doc, index, config: f.inlay_hints(
        index, doc.text, ls.range_in(doc, params.range), config))


@server.feature(types.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
def document_symbol(ls: TileLanguageServer, params: types.DocumentSymbolParams) -> list[types.DocumentSymbol]:
    return ls.answer("documentSymbol", params.text_document.uri, [],
                     lambda f, doc, index, config: f.document_symbols(index, doc.text))


@server.feature(types.WORKSPACE_SYMBOL)
def workspace_symbol(ls: TileLanguageServer, params: types.WorkspaceSymbolParams) -> list[types.WorkspaceSymbol]:
    try:
        features = ls.features()
        indexes = {uri: s.good.index for uri, s in ls.states.items() if s.good is not None}
        if features is None or not indexes:
            return []
        return ls.to_client(features.workspace_symbols(indexes, params.query) or [], None)
    except Exception:  # noqa: BLE001
        log.exception("workspace/symbol failed")
        return []


@server.feature(types.TEXT_DOCUMENT_DEFINITION)
def definition(ls: TileLanguageServer, params: types.DefinitionParams) -> list[types.Location]:
    uri = params.text_document.uri
    return ls.answer("definition", uri, [], lambda f, doc, index, config: [
        types.Location(uri, r) for r in f.definition(index, doc.text, ls.position_in(doc, params.position))])


@server.feature(types.TEXT_DOCUMENT_REFERENCES)
def references(ls: TileLanguageServer, params: types.ReferenceParams) -> list[types.Location]:
    uri = params.text_document.uri
    return ls.answer("references", uri, [], lambda f, doc, index, config: [
        types.Location(uri, r) for r in f.references(index, doc.text, ls.position_in(doc, params.position),
                                                     params.context.include_declaration)])


@server.feature(types.TEXT_DOCUMENT_DOCUMENT_HIGHLIGHT)
def document_highlight(ls: TileLanguageServer, params: types.DocumentHighlightParams
                       ) -> list[types.DocumentHighlight]:
    return ls.answer("documentHighlight", params.text_document.uri, [],
                     lambda f, doc, index, config: f.document_highlight(
                         index, doc.text, ls.position_in(doc, params.position)))


@server.feature(types.TEXT_DOCUMENT_COMPLETION,
                types.CompletionOptions(trigger_characters=[".", '"', "'"], resolve_provider=True))
def completion(ls: TileLanguageServer, params: types.CompletionParams) -> types.CompletionList | None:
    return ls.answer("completion", params.text_document.uri, None,
                     lambda f, doc, index, config: ls.support.completion(f.completion(
                         index, doc.text, ls.position_in(doc, params.position))))


@server.feature(types.COMPLETION_ITEM_RESOLVE)
def completion_resolve(ls: TileLanguageServer, item: types.CompletionItem) -> types.CompletionItem:
    """Adds the signature and documentation; the item's ranges are the client's and stay untouched."""
    try:
        features = ls.features()
        return ls.support.completion_item(features.completion_resolve(item)) if features is not None else item
    except Exception:  # noqa: BLE001
        log.exception("completionItem/resolve failed")
        return item


@server.feature(types.TEXT_DOCUMENT_SIGNATURE_HELP,
                types.SignatureHelpOptions(trigger_characters=["(", ","], retrigger_characters=[","]))
def signature_help(ls: TileLanguageServer, params: types.SignatureHelpParams) -> types.SignatureHelp | None:
    return ls.answer("signatureHelp", params.text_document.uri, None,
                     lambda f, doc, index, config: ls.support.signature_help(f.signature_help(
                         index, doc.text, ls.position_in(doc, params.position))))


@server.feature(types.TEXT_DOCUMENT_CODE_ACTION,
                types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix]))
def code_action(ls: TileLanguageServer, params: types.CodeActionParams) -> list[types.CodeAction]:
    uri = params.text_document.uri

    def call(f: Any, doc: Document, index: Any, config: Any) -> list[types.CodeAction]:
        diagnostics = convert(list(params.context.diagnostics), uri, lambda _: doc.lines, ls.encoding,
                              to_client=False)
        return f.code_actions(index, doc.text, ls.range_in(doc, params.range), diagnostics, config, uri)

    return ls.answer("codeAction", uri, [], call)


# --------------------------------------------------------------------------- compile-on-save and commands

GENERATED_KINDS = {"cuda": ("cuda", ".cu"), "ptx": ("ptx", ".ptx"), "tir": ("tir", ".py"), "lowered": ("lowered", ".py")}


@server.feature(types.TEXT_DOCUMENT_DID_SAVE, types.SaveOptions(include_text=False))
def did_save(ls: TileLanguageServer, params: types.DidSaveTextDocumentParams) -> None:
    uri = params.text_document.uri
    state = ls.states.get(uri)
    if state is None or state.settings is None or not state.settings.compile_on_save:
        return
    why = ls.compile_document(uri, "save")
    if why is not None:
        log.info("not compiling %s on save: %s", uri, why)


@server.feature(types.TEXT_DOCUMENT_CODE_LENS, types.CodeLensOptions(resolve_provider=False))
def code_lens(ls: TileLanguageServer, params: types.CodeLensParams) -> list[types.CodeLens]:
    try:
        return ls.code_lenses(params.text_document.uri)
    except Exception:  # noqa: BLE001 - a failing lens answers empty, the server stays up
        log.exception("codeLens failed on %s", params.text_document.uri)
        return []


def _kernel_call(ls: TileLanguageServer, uri: str, kernel: int) -> tuple[str, str] | str:
    """(file path, instantiation call) of the document's kernel number `kernel`, or why there is none."""
    state = ls.states.get(uri)
    path = _fs_path(uri)
    if state is None or state.settings is None or path is None:
        return "the document is not open"
    if not state.settings.trusted:
        return "compiling runs the file's module: the workspace is not trusted (set tilelsp.trusted)"
    kernels = kernel_jobs(state.good.index) if state.good is not None else []
    if not 0 <= kernel < len(kernels):
        return f"no fully instantiated kernel number {kernel} (the file has {len(kernels)})"
    return path, kernels[kernel].call


@server.command("tilelsp.compile")
def command_compile(ls: TileLanguageServer, uri: str) -> dict[str, Any]:
    """Compile the document's kernels now (as on save); the result arrives as diagnostics and code lenses."""
    why = ls.compile_document(uri, "command")
    return {"queued": why is None, "reason": why}


@server.command("tilelsp.showGenerated")
async def command_show_generated(ls: TileLanguageServer, uri: str, *rest: Any) -> dict[str, Any]:
    """Arguments: uri, then optionally kind ("cuda" default, "ptx", "tir", "lowered"), kernel number (0), arch.
    Generates that code for one kernel; answers a `tilelsp://` URI whose text the client reads with the
    `tilelsp/generatedDocument` request (the extensions show it as a read-only document)."""
    kind = str(rest[0]) if len(rest) > 0 else "cuda"
    kernel = int(rest[1]) if len(rest) > 1 and str(rest[1]).isdigit() else 0
    arch = str(rest[2]) if len(rest) > 2 else ""
    if kind not in GENERATED_KINDS:
        return {"error": f"kind must be one of {', '.join(GENERATED_KINDS)}"}
    await ls.wait_for_analysis(uri, PULL_WAIT_S)  # a document opened just now: its settings and kernels
    found = _kernel_call(ls, uri, kernel)
    if isinstance(found, str):
        return {"error": found}
    path, call = found
    state = ls.states[uri]
    arch = arch or (state.settings.config.arches[0] if state.settings.config.arches else "sm_90")
    argv = ["build", path, "--instantiate", call, "--emit", GENERATED_KINDS[kind][0]]
    if kind in ("cuda", "ptx"):
        argv += ["--target", "cuda", "--arch", arch]
    answer = await ls.compiler.tilec(argv, state.settings.compile_timeout_s)
    if answer["code"] != 0:
        return {"error": (answer["stdout"] + answer["stderr"]).strip() or f"tilec exited with {answer['code']}"}
    name = os.path.splitext(os.path.basename(path))[0]
    target = f"{arch}." if kind in ("cuda", "ptx") else ""
    generated = f"tilelsp://generated/{name}.{kernel}.{target}{kind}{GENERATED_KINDS[kind][1]}"
    ls.generated[generated] = answer["stdout"]
    return {"uri": generated}


@server.feature("tilelsp/generatedDocument")
def generated_document(ls: TileLanguageServer, params: Any) -> dict[str, Any] | None:
    """The text of a `tilelsp://` document made by `tilelsp.showGenerated` (null when unknown)."""
    uri = getattr(params, "uri", None) if not isinstance(params, dict) else params.get("uri")
    text = ls.generated.get(str(uri))
    return None if text is None else {"uri": uri, "text": text}


@server.command("tilelsp.runCheck")
async def command_run_check(ls: TileLanguageServer, uri: str, *rest: Any) -> dict[str, Any]:
    """Arguments: uri, then optionally the kernel number (0). `tilec run FILE --instantiate CALL --check` in the
    compile worker (CPU, random inputs against the file's `ref_program`)."""
    kernel = int(rest[0]) if rest and str(rest[0]).isdigit() else 0
    await ls.wait_for_analysis(uri, PULL_WAIT_S)
    found = _kernel_call(ls, uri, kernel)
    if isinstance(found, str):
        return {"error": found}
    path, call = found
    answer = await ls.compiler.tilec(["run", path, "--instantiate", call, "--check"],
                                     ls.states[uri].settings.compile_timeout_s)
    output = (answer["stdout"] + answer["stderr"]).strip()
    ls.window_show_message(types.ShowMessageParams(
        type=types.MessageType.Info if answer["code"] == 0 else types.MessageType.Warning,
        message=f"tilec run --check {call}: exit {answer['code']}" + (f"\n{output}" if output else "")))
    return {"exitCode": answer["code"], "output": output}


# --------------------------------------------------------------------------- logging and CLI


class _ClientLogHandler(logging.Handler):
    """Forwards the server's own log records to the client as `window/logMessage`."""

    _TYPES = ((logging.ERROR, types.MessageType.Error), (logging.WARNING, types.MessageType.Warning),
              (logging.INFO, types.MessageType.Info))

    def __init__(self, ls: TileLanguageServer) -> None:
        super().__init__()
        self.ls = ls
        self.loop: asyncio.AbstractEventLoop | None = None
        self._busy = threading.local()

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(self._busy, "on", False) or self.ls.protocol.writer is None or not self.ls.initialize_seen:
            return
        kind = next((t for level, t in self._TYPES if record.levelno >= level), types.MessageType.Log)
        params = types.LogMessageParams(type=kind, message=self.format(record))
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is not None:
            self.loop = loop
            self._send(params)
        elif self.loop is not None and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self._send, params)

    def _send(self, params: types.LogMessageParams) -> None:
        self._busy.on = True
        try:
            self.ls.window_log_message(params)
        except Exception:  # noqa: BLE001 - logging must never raise
            pass
        finally:
            self._busy.on = False


def _one_line(record: logging.LogRecord) -> bool:
    """pygls logs a malformed client message with the whole cattrs traceback: one line says enough.

    The traceback stays available with --log-level debug.
    """
    if not record.name.startswith("pygls"):
        return True
    error = record.exc_info[1] if record.exc_info else None
    text = record.getMessage()
    if error is None and "\n" not in text:
        return True
    head, _, rest = text.partition("\n")
    tail = [line.strip() for line in rest.splitlines() if line.strip() and not line.strip().startswith(("|", "+", "^"))]
    why = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}" if error else (tail[-1] if tail else "")
    record.msg = f"{head} ({why})" if why else head
    record.args = None
    record.exc_info = None
    record.exc_text = None
    return True


def setup_logging(level_name: str, ls: TileLanguageServer) -> None:
    level = getattr(logging, level_name.upper(), logging.INFO)
    stderr = logging.StreamHandler(sys.stderr)
    stderr.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [stderr]
    root.setLevel(level)
    # pygls logs every message body at INFO; keep it for --log-level debug only
    logging.getLogger("pygls").setLevel(logging.DEBUG if level <= logging.DEBUG else logging.WARNING)
    if level > logging.DEBUG:
        stderr.addFilter(_one_line)
    client = _ClientLogHandler(ls)
    client.setFormatter(logging.Formatter("%(message)s"))
    client.setLevel(level)
    logging.getLogger("tilelsp").addHandler(client)


def _host_port(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    try:
        number = int(port)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}") from None
    if not 0 <= number <= 65535:
        raise argparse.ArgumentTypeError(f"port out of range: {number}")
    return host or "127.0.0.1", number


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tilelsp", description="Language server for TileLang tile kernels.",
        epilog="`tilelsp mcp [--trusted-root DIR]` runs the MCP server for coding agents instead "
               "(see `tilelsp mcp --help`; needs the 'mcp' extra).")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--stdio", action="store_true", help="talk LSP over stdin/stdout (the default)")
    mode.add_argument("--tcp", metavar="HOST:PORT", type=_host_port, help="listen on a TCP port instead")
    parser.add_argument("--log-level", default="info", choices=("debug", "info", "warning", "error"),
                        help="what goes to stderr and window/logMessage (default: info)")
    parser.add_argument("--version", action="version", version=f"tilelsp {__version__}")
    return parser


def main(argv: list[str] | None = None) -> int:
    rest = sys.argv[1:] if argv is None else list(argv)
    if rest[:1] == ["mcp"]:  # the MCP server: its own module, which imports `mcp` (the language server never does)
        from .mcp_server import main as mcp_main

        return mcp_main(rest[1:])
    args = build_parser().parse_args(argv)
    setup_logging(args.log_level, server)
    if args.tcp is not None:
        host, port = args.tcp
        server.start_tcp(host, port)
        return 0
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # a stray print() must never reach the protocol stream
    server.start_io(stdin, stdout)
    return 0 if server.protocol._shutdown else 1  # LSP: exit status 1 when `exit` came without `shutdown`


if __name__ == "__main__":
    sys.exit(main())
