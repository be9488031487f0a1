"""The server under malformed and out-of-order JSON-RPC: errors as the spec says, and it keeps answering."""

from __future__ import annotations

import pytest
from server_session import RawServer


def request(msg_id: int, method: str, params: object = None) -> dict[str, object]:
    message: dict[str, object] = {"jsonrpc": "2.0", "id": msg_id, "method": method}
    if params is not None:
        message["params"] = params
    return message


def notify(method: str, params: object) -> dict[str, object]:
    return {"jsonrpc": "2.0", "method": method, "params": params}


@pytest.mark.asyncio
async def test_malformed_messages_are_answered_and_survived(tmp_path) -> None:
    server = await RawServer.start()
    uri = (tmp_path / "k.py").as_uri()
    hover = {"textDocument": {"uri": uri}, "position": {"line": 0, "character": 0}}
    try:
        server.send(request(1, "textDocument/hover", hover))
        assert (await server.response(1))["error"]["code"] == -32002  # not initialized yet

        server.send(request(2, "initialize", {"capabilities": {}}))
        assert "capabilities" in (await server.response(2))["result"]
        server.send(notify("initialized", {}))

        server.send_bytes(b"{this is not json")
        parse = await server.response(None)
        assert parse["error"]["code"] == -32700 and parse["id"] is None
        server.send_bytes(b"\xff\xfe\x00 not utf-8")
        assert (await server.response(None))["error"]["code"] == -32700
        server.send_bytes(b"[1, 2, 3]")
        assert (await server.response(None))["error"]["code"] == -32600
        server.send({"id": 3, "method": "textDocument/hover"})  # no "jsonrpc"
        assert (await server.response(3))["error"]["code"] == -32600

        server.send(request(4, "tilelsp/noSuchMethod", {}))
        assert (await server.response(4))["error"]["code"] == -32601
        server.send(request(41, "textDocument/formatting", {"bad": True}))  # a method the server does not offer
        assert (await server.response(41))["error"]["code"] == -32601
        server.send(request(5, "textDocument/hover", {"textDocument": 5}))
        invalid = await server.response(5)
        assert invalid["error"]["code"] == -32602 and "textDocument/hover" in invalid["error"]["message"]
        server.send(request(6, "textDocument/hover", {"textDocument": {"uri": uri},
                                                     "position": {"line": -1, "character": 0}}))
        assert (await server.response(6))["error"]["code"] == -32602
        server.send(request(7, "textDocument/hover", hover))
        assert (await server.response(7)) == {"jsonrpc": "2.0", "id": 7, "result": None}  # unknown document

        server.send(notify("textDocument/didOpen", {"textDocument": 3}))  # ignored, no answer
        text = "import tilelang.language as T\nx = '😀'\n"
        server.send(notify("textDocument/didOpen", {"textDocument": {
            "uri": uri, "languageId": "python", "version": 1, "text": text}}))
        for version, rng in enumerate([
            {"start": {"line": 1, "character": 6}, "end": {"line": 1, "character": 6}},  # inside the surrogate pair
            {"start": {"line": 99, "character": 0}, "end": {"line": 120, "character": 5}},  # past the end
            {"start": {"line": 1, "character": 500}, "end": {"line": 0, "character": 2}},  # reversed, past the line
        ], start=2):
            server.send(notify("textDocument/didChange", {
                "textDocument": {"uri": uri, "version": version},
                "contentChanges": [{"range": rng, "text": "Kernel"}]}))
        server.send(request(8, "textDocument/hover", {"textDocument": {"uri": uri},
                                                     "position": {"line": 10**6, "character": 10**6}}))
        assert "error" not in await server.response(8)
        server.send(request(9, "textDocument/diagnostic", {"textDocument": {"uri": uri}}))
        report = (await server.response(9))["result"]
        assert report["kind"] == "full"

        server.send(request(10, "shutdown"))
        assert (await server.response(10)) == {"jsonrpc": "2.0", "id": 10, "result": None}
        server.send(request(11, "textDocument/hover", hover))
        assert (await server.response(11))["error"]["code"] == -32600
        server.send(notify("exit", None))
        assert await server.close() == 0
    finally:
        await server.close()


@pytest.mark.asyncio
async def test_tcp_transport() -> None:
    import asyncio
    import socket
    import sys

    from server_session import SERVER_ENV

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tilelsp", "--tcp", f"127.0.0.1:{port}", stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL, env=SERVER_ENV)
    try:
        for _ in range(600):  # the server needs a moment to listen; try for up to a minute
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                break
            except OSError:
                await asyncio.sleep(0.1)
        else:
            raise AssertionError("the server never listened")
        server = RawServer(proc, reader, writer)
        server.send(request(1, "initialize", {"capabilities": {}}))
        result = (await server.response(1))["result"]
        assert result["serverInfo"]["name"] == "tilelsp"
        server.send(request(2, "shutdown"))
        assert (await server.response(2))["result"] is None
        server.send({"jsonrpc": "2.0", "method": "exit"})
        writer.close()
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()


def test_a_failing_feature_answers_empty_and_logs(caplog: pytest.LogCaptureFixture) -> None:
    from lsprotocol import types

    from tilelsp.server import DocState, TileLanguageServer

    ls = TileLanguageServer()
    uri = "file:///k.py"
    ls.documents.open(types.TextDocumentItem(uri=uri, language_id="python", version=1, text="x = 1\n"))
    ls.states[uri] = DocState(analysable=True)
    ls._features_module, ls._features_state = object(), "loaded"

    def broken(*args: object) -> object:
        raise RuntimeError("boom")

    assert ls.answer("hover", uri, None, broken) is None
    assert ls.answer("documentSymbol", uri, [], broken) == []
    assert any("hover failed on file:///k.py" in r.getMessage() for r in caplog.records)


@pytest.mark.asyncio
async def test_exit_without_shutdown_is_status_1() -> None:
    server = await RawServer.start()
    server.send(request(1, "initialize", {"capabilities": {}}))
    await server.response(1)
    server.send(notify("exit", None))
    assert await server.close() == 1
