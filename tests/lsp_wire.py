"""A small LSP client over a server subprocess's stdio, speaking raw JSON-RPC.

The fuzz test and the benchmarks use it instead of pygls' client because they need to send what a
typed client cannot (malformed params, unknown methods, out-of-order versions, garbage frames) and
to time each message where it crosses the pipe. It answers the server's own requests
(`workspace/configuration` from `settings`, registrations and refreshes with `null`) and drains the
server's stderr so a chatty server never blocks on a full pipe.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
SERVER_COMMAND = [sys.executable, "-m", "tilelsp", "--stdio"]

METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INVALID_REQUEST = -32600
INTERNAL_ERROR = -32603
PARSE_ERROR = -32700


class ServerDied(RuntimeError):
    """The server process exited (or closed stdout) while a message was expected."""


@dataclass
class Response:
    id: int | str
    result: Any = None
    error: dict[str, Any] | None = None
    sent: float = 0.0
    received: float = 0.0

    @property
    def ms(self) -> float:
        return (self.received - self.sent) * 1000.0


@dataclass
class Published:
    """One textDocument/publishDiagnostics notification, with its arrival time."""

    uri: str
    version: int | None
    diagnostics: list[dict[str, Any]]
    received: float


@dataclass
class LspWire:
    process: asyncio.subprocess.Process
    settings: dict[str, Any] = field(default_factory=dict)
    published: list[Published] = field(default_factory=list)
    notifications: list[dict[str, Any]] = field(default_factory=list)
    server_requests: list[dict[str, Any]] = field(default_factory=list)
    orphan_responses: list[dict[str, Any]] = field(default_factory=list)  # answers to no request of ours (id null)
    stderr: bytearray = field(default_factory=bytearray)
    _pending: dict[Any, asyncio.Future[Response]] = field(default_factory=dict)
    _sent_at: dict[Any, float] = field(default_factory=dict)
    _ids: Any = field(default_factory=lambda: itertools.count(1))
    _changed: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    closed: bool = False

    # -- process ---------------------------------------------------------------------------------

    @classmethod
    async def start(
        cls,
        command: list[str] | None = None,
        *,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
        settings: dict[str, Any] | None = None,
    ) -> "LspWire":
        environment = dict(os.environ if env is None else env)
        environment["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), environment.get("PYTHONPATH", "")) if p)
        process = await asyncio.create_subprocess_exec(
            *(command or SERVER_COMMAND),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            cwd=str(cwd) if cwd else None,
            env=environment,
            limit=2**24,
        )
        wire = cls(process=process, settings=dict(settings or {}))
        wire._tasks = [asyncio.create_task(wire._read_stdout()), asyncio.create_task(wire._read_stderr())]
        return wire

    @property
    def alive(self) -> bool:
        return self.process.returncode is None and not self.closed

    def stderr_tail(self, n: int = 4000) -> str:
        return self.stderr[-n:].decode(errors="replace")

    async def close(self, timeout: float = 10.0) -> int | None:
        """shutdown + exit, then wait; kill the process if it does not leave in time. Returns its exit code."""
        if self.alive:
            try:
                await self.request("shutdown", None, timeout=timeout)
                self.notify("exit", None)
                await self.flush()
            except (ServerDied, asyncio.TimeoutError, ConnectionError):
                pass
        try:
            await asyncio.wait_for(self.process.wait(), timeout)
        except asyncio.TimeoutError:
            self.process.kill()
            await self.process.wait()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        return self.process.returncode

    # -- sending ---------------------------------------------------------------------------------

    def send_bytes(self, data: bytes) -> None:
        assert self.process.stdin is not None
        if self.process.stdin.is_closing():
            raise ServerDied("stdin closed")
        self.process.stdin.write(data)

    def send(self, message: dict[str, Any]) -> float:
        body = json.dumps(message, ensure_ascii=False).encode("utf-8")
        sent = time.perf_counter()
        self.send_bytes(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        return sent

    async def flush(self) -> None:
        assert self.process.stdin is not None
        await self.process.stdin.drain()

    def notify(self, method: str, params: Any) -> float:
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        return self.send(message)

    def request_nowait(self, method: str, params: Any, *, raw: dict[str, Any] | None = None) -> asyncio.Future[Response]:
        """Send a request and return the future of its response (`raw` replaces the whole message)."""
        msg_id = next(self._ids)
        message = raw if raw is not None else {"jsonrpc": "2.0", "id": msg_id, "method": method}
        if raw is None and params is not None:
            message["params"] = params
        msg_id = message.get("id", msg_id)
        future: asyncio.Future[Response] = asyncio.get_running_loop().create_future()
        self._pending[msg_id] = future
        sent = self.send(message)
        self._sent_at[msg_id] = sent
        return future

    async def request(self, method: str, params: Any, *, timeout: float = 30.0, raw: dict[str, Any] | None = None) -> Response:
        future = self.request_nowait(method, params, raw=raw)
        await self.flush()
        return await asyncio.wait_for(future, timeout)

    # -- LSP conveniences ------------------------------------------------------------------------

    async def initialize(
        self,
        root: Path | None,
        *,
        encodings: list[str] | None = None,
        capabilities: dict[str, Any] | None = None,
        pull: bool = False,
        initialization_options: Any = None,
        timeout: float = 60.0,
    ) -> Response:
        """initialize + initialized. `pull`: announce pull diagnostics (`textDocument.diagnostic`);
        tilelsp then stops pushing and asks the client to pull (`workspace/diagnostic/refresh`)."""
        caps: dict[str, Any] = {
            "workspace": {"configuration": True, "didChangeConfiguration": {"dynamicRegistration": True},
                          "workspaceFolders": True, "diagnostics": {"refreshSupport": True}},
            "textDocument": {
                "synchronization": {"dynamicRegistration": False, "didSave": True},
                "publishDiagnostics": {"relatedInformation": True, "versionSupport": True,
                                       "codeDescriptionSupport": True, "tagSupport": {"valueSet": [1, 2]}},
                "hover": {"contentFormat": ["markdown", "plaintext"]},
                "completion": {"completionItem": {"snippetSupport": True}},
            },
            "window": {"workDoneProgress": True},
        }
        if pull:
            caps["textDocument"]["diagnostic"] = {"dynamicRegistration": False}
        if encodings is not None:
            caps["general"] = {"positionEncodings": encodings}
        caps.update(capabilities or {})
        params: dict[str, Any] = {
            "processId": os.getpid(),
            "clientInfo": {"name": "lsp_wire", "version": "1"},
            "rootUri": root.as_uri() if root else None,
            "capabilities": caps,
            "workspaceFolders": [{"uri": root.as_uri(), "name": root.name}] if root else None,
        }
        if initialization_options is not None:
            params["initializationOptions"] = initialization_options
        response = await self.request("initialize", params, timeout=timeout)
        self.notify("initialized", {})
        await self.flush()
        return response

    def did_open(self, uri: str, text: str, version: int = 1) -> float:
        return self.notify("textDocument/didOpen",
                           {"textDocument": {"uri": uri, "languageId": "python", "version": version, "text": text}})

    def did_change(self, uri: str, version: int, changes: list[dict[str, Any]]) -> float:
        return self.notify("textDocument/didChange",
                           {"textDocument": {"uri": uri, "version": version}, "contentChanges": changes})

    def did_close(self, uri: str) -> float:
        return self.notify("textDocument/didClose", {"textDocument": {"uri": uri}})

    def did_change_configuration(self, settings: dict[str, Any]) -> float:
        self.settings = dict(settings)
        return self.notify("workspace/didChangeConfiguration", {"settings": {"tilelsp": self.settings}})

    async def hover(self, uri: str, line: int, character: int, *, timeout: float = 30.0) -> Response:
        return await self.request("textDocument/hover",
                                  {"textDocument": {"uri": uri}, "position": {"line": line, "character": character}},
                                  timeout=timeout)

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 30.0) -> Any:
        """Wait until `predicate()` is truthy (re-checked after every message); returns its value."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if not self.alive and self.process.returncode is not None:
                raise ServerDied(f"server exited with {self.process.returncode}: {self.stderr_tail()}")
            left = deadline - time.monotonic()
            if left <= 0:
                raise asyncio.TimeoutError(f"condition not met in {timeout} s")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), left)
            except asyncio.TimeoutError:
                pass

    async def wait_diagnostics(self, uri: str, version: int | None = None, *, after: float = 0.0,
                               timeout: float = 30.0) -> Published:
        """The first publishDiagnostics for `uri` received after `after` (and for `version`, if given)."""

        def found() -> Published | None:
            for pub in self.published:
                if pub.uri == uri and pub.received >= after and (version is None or pub.version == version):
                    return pub
            return None

        return await self.wait_for(found, timeout)

    def latest_diagnostics(self, uri: str) -> Published | None:
        for pub in reversed(self.published):
            if pub.uri == uri:
                return pub
        return None

    # -- receiving -------------------------------------------------------------------------------

    async def _read_stderr(self) -> None:
        assert self.process.stderr is not None
        while chunk := await self.process.stderr.read(65536):
            self.stderr += chunk
            if len(self.stderr) > 4_000_000:
                del self.stderr[:2_000_000]

    async def _read_stdout(self) -> None:
        reader = self.process.stdout
        assert reader is not None
        try:
            while True:
                length = None
                while True:
                    line = await reader.readline()
                    if not line:
                        return
                    if line in (b"\r\n", b"\n"):
                        break
                    name, _, value = line.decode("ascii").partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value.strip())
                if length is None:
                    raise RuntimeError("frame without Content-Length")
                body = await reader.readexactly(length)
                received = time.perf_counter()
                self._dispatch(json.loads(body), received)
        except asyncio.IncompleteReadError:
            return
        finally:
            self.closed = True
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(ServerDied("server closed its output"))
            self._changed.set()

    def _dispatch(self, message: dict[str, Any], received: float) -> None:
        if "method" in message and "id" in message:
            self.server_requests.append(message)
            self._answer_server_request(message)
        elif "method" in message:
            if message["method"] == "textDocument/publishDiagnostics":
                p = message["params"]
                self.published.append(Published(p["uri"], p.get("version"), p["diagnostics"], received))
            else:
                message["_received"] = received
                self.notifications.append(message)
        else:
            future = self._pending.pop(message.get("id"), None)
            if future is None:
                self.orphan_responses.append(message)
            elif not future.done():
                future.set_result(Response(message.get("id"), message.get("result"), message.get("error"),
                                           self._sent_at.pop(message.get("id"), 0.0), received))
        self._changed.set()

    def _answer_server_request(self, message: dict[str, Any]) -> None:
        method, params = message["method"], message.get("params") or {}
        if method == "workspace/configuration":
            result: Any = [self.settings if item.get("section") == "tilelsp" else None
                           for item in params.get("items", [])]
        elif method == "workspace/workspaceFolders":
            result = None
        else:  # registerCapability, workDoneProgress/create, */refresh, applyEdit, showMessageRequest
            result = None
        try:
            self.send({"jsonrpc": "2.0", "id": message["id"], "result": result})
        except ServerDied:
            pass


def units(text: str, encoding: str = "utf-16") -> int:
    """Length of `text` in an LSP position encoding ("utf-8" bytes, "utf-16" code units, "utf-32" code points)."""
    if encoding == "utf-8":
        return len(text.encode("utf-8", "surrogatepass"))
    if encoding == "utf-16":
        return len(text.encode("utf-16-le", "surrogatepass")) // 2
    return len(text)


def position_at(text: str, offset: int, encoding: str = "utf-16") -> dict[str, int]:
    """LSP position of code-point offset `offset` in `text` (lines end at \\n)."""
    before = text[:offset]
    line = before.count("\n")
    start = before.rfind("\n") + 1
    return {"line": line, "character": units(before[start:], encoding)}


def run(coro: Any) -> Any:
    """asyncio.run for the synchronous test functions (independent of pytest-asyncio's mode)."""
    return asyncio.run(coro)
