"""Random edit and request sequences against the real language server (used by tests and benchmarks).

`run_fuzz(FuzzConfig(...), workdir)` starts `python -m tilelsp --stdio`, opens kernel files (the
bundled examples, the buggy ones and mutated copies), and sends random batches of
`textDocument/didChange` (insertions, deletions, replacements, digit flips, whole-text swaps) mixed
with hostile traffic: positions inside a character (a UTF-16 surrogate pair, a UTF-8 sequence),
ranges past the end of a line or of the document, reversed ranges, out-of-order versions, changes to
unopened documents, unknown methods, malformed params, requests on unopened documents, cancellations
of unknown ids and frames that are not JSON-RPC messages.

After every batch the server must still be running and must answer a hover. Requests with an
unknown method must fail with MethodNotFound (-32601), requests whose params do not fit the
method's type with InvalidParams (-32602); no request may fail with InternalError (-32603); a body
that is not JSON gets ParseError (-32700), a JSON value that is no message InvalidRequest (-32600).
At the end, the diagnostics the server gives for the documents left open (pushed for their final
version, and pulled) must equal `tilelint --format json` on the same text, columns converted to the
negotiated position encoding.

The client keeps its own copy of each document, applying every valid edit as the LSP spec says; after
an edit whose range has no meaning in the spec it re-sends the whole text, so both sides agree again.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lsp_wire import (
    INTERNAL_ERROR,
    INVALID_PARAMS,
    METHOD_NOT_FOUND,
    ROOT,
    LspWire,
    Response,
    ServerDied,
    position_at,
    units,
)

EXAMPLES = ROOT / "examples"

# What a person types into a kernel file, plus characters that stress position arithmetic:
# astral characters (two UTF-16 units), accents, tabs, form feeds and U+2028 (a line break for
# str.splitlines, not for LSP), and pieces of TileLang code.
SNIPPETS = [
    "x", " ", "\n", "    ", "T.", "(", ")", "[", "]", ":", ",", "=", "0", "7", "128", "\t",
    "# 🚀 emoji comment", "é", "😀", "𝔘𝔫𝔦", "# ça marche", "\"s😀s\"", "\x0c", "# \u2028 sep", "\\",
    "num_stages=", "T.alloc_shared((128, 64), T.float16)", "T.alloc_fragment((64,), T.float32)",
    "with T.Kernel(8, threads=128) as bx:\n", "for k in T.Pipelined(4, num_stages=3):\n",
    "T.copy(A_shared, B_shared)\n", "T.gemm(A_shared, B_shared, acc)\n", "def f(:\n", "'''", "\"",
    "import tilelang.language as T\n", "@tilelang.jit\n", "return\n", "    " * 4, "\n\n\n",
]

# Failure categories (each test of tests/tilelsp/test_fuzz.py asserts one).
CRASH = "crash"
NO_ANSWER = "no answer"
LIVENESS = "liveness"
INTERNAL_ERROR_ANSWER = "InternalError"
WRONG_METHOD_NOT_FOUND = "not MethodNotFound"
WRONG_INVALID_PARAMS = "not InvalidParams"
DIAGNOSTICS = "diagnostics differ from tilelint"
NOT_A_MESSAGE = "no ParseError/InvalidRequest"

NOT_ADVERTISED = ["textDocument/formatting", "textDocument/rename", "textDocument/linkedEditingRange"]
UNKNOWN_METHODS = ["tilelsp/doesNotExist", "textDocument/fooBar", "$/notAThing/request", "workspace/xyz", "🚀"]


@dataclass
class FuzzConfig:
    seed: int = 4
    files: int = 50
    edits_per_file: int = 40
    batch: int = 8
    open_at_once: int = 6
    requests_per_batch: int = 4
    hostile_rate: float = 0.15
    final_checks: int = 4
    request_timeout: float = 60.0
    settings: dict[str, Any] = field(default_factory=dict)
    pull: bool = False  # announce pull diagnostics: tilelsp then pushes nothing and the client pulls
    encoding: str = "utf-16"  # the only position encoding the client offers at initialize


@dataclass
class FuzzReport:
    encoding: str = "utf-16"
    files: int = 0
    edits: int = 0
    hostile_edits: int = 0
    requests: int = 0
    notifications: int = 0
    batches: int = 0
    liveness_hovers: int = 0
    garbage_frames: int = 0  # bodies that are not JSON
    not_jsonrpc_frames: int = 0  # JSON objects that are not JSON-RPC messages
    null_id_errors: Counter[str] = field(default_factory=Counter)  # error answers with id null, by code
    responses_by_code: Counter[str] = field(default_factory=Counter)
    failures: list[tuple[str, str]] = field(default_factory=list)  # (category, message)
    crashes: int = 0
    final_checked: int = 0
    final_diagnostics: int = 0
    tracebacks_on_stderr: int = 0
    error_messages_shown: int = 0
    exit_code: int | None = None

    def summary(self) -> str:
        codes = ", ".join(f"{k}: {v}" for k, v in sorted(self.responses_by_code.items()))
        failed = Counter(category for category, _ in self.failures)
        return (f"{self.encoding}, {self.files} files, {self.edits} edits ({self.hostile_edits} hostile), "
                f"{self.requests} requests ({codes}), {self.notifications} other notifications, "
                f"{self.batches} batches ({self.liveness_hovers} liveness hovers), crashes {self.crashes}, "
                f"final documents checked against tilelint {self.final_checked} "
                f"({self.final_diagnostics} diagnostics), tracebacks on stderr {self.tracebacks_on_stderr}, "
                f"window/showMessage errors {self.error_messages_shown}, garbage frames {self.garbage_frames} "
                f"+ {self.not_jsonrpc_frames} answered with id-null errors {dict(self.null_id_errors)}, "
                f"failures {dict(failed) or 0}, exit status {self.exit_code}")


@dataclass
class Document:
    path: Path
    text: str
    original: str
    version: int = 1
    open: bool = False

    @property
    def uri(self) -> str:
        return self.path.as_uri()


def corpus(count: int, rng: random.Random, workdir: Path) -> list[Document]:
    """`count` kernel files: examples/, examples/buggy/, then mutated copies of them, written to `workdir`."""
    plain, buggy = sorted(EXAMPLES.glob("*.py")), sorted((EXAMPLES / "buggy").glob("*.py"))
    sources = [src for pair in zip(plain, buggy) for src in pair] + plain[len(buggy):] + buggy[len(plain):]
    docs: list[Document] = []
    for i in range(count):
        src = sources[i % len(sources)]
        text = src.read_text(encoding="utf-8")
        if i >= len(sources):
            text = mutate(text, rng)
        path = workdir / f"f{i:02d}_{src.stem}.py"
        path.write_text(text, encoding="utf-8")
        docs.append(Document(path, text, text))
    return docs


def mutate(text: str, rng: random.Random) -> str:
    """A plausible variant: other tile sizes and stage counts, an emoji comment, a duplicated line."""
    text = re.sub(r"\b(32|64|128)\b", lambda m: rng.choice(["32", "64", "128", "256"]) if rng.random() < 0.3 else m.group(0), text)
    text = re.sub(r"num_stages=(\d)", lambda m: f"num_stages={rng.randint(1, 5)}", text)
    lines = text.split("\n")
    at = rng.randrange(len(lines))
    lines.insert(at, "# mutated copy 🚀 — ünïcode")
    return "\n".join(lines)


class Fuzzer:
    def __init__(self, wire: LspWire, config: FuzzConfig, rng: random.Random, report: FuzzReport) -> None:
        self.wire, self.config, self.rng, self.report = wire, config, rng, report
        self.capabilities: dict[str, Any] = {}
        self.outstanding: list[tuple[str, str, asyncio.Future[Response]]] = []

    # -- bookkeeping ------------------------------------------------------------------------------

    def fail(self, category: str, message: str) -> None:
        if len(self.report.failures) < 500:
            self.report.failures.append((category, message))

    def expect(self, kind: str, method: str, params: Any = None, *, raw: dict[str, Any] | None = None) -> None:
        """Send a request now; its answer is checked against `kind` when the batch ends.

        kind: "ok" (a result or an error other than InternalError), "unknown" (-32601), "invalid" (-32602).
        """
        self.report.requests += 1
        self.outstanding.append((kind, method, self.wire.request_nowait(method, params, raw=raw)))

    async def drain(self) -> None:
        await self.wire.flush()
        for kind, method, future in self.outstanding:
            try:
                response = await asyncio.wait_for(future, self.config.request_timeout)
            except asyncio.TimeoutError:
                self.fail(NO_ANSWER, f"no answer to {method} ({kind}) within {self.config.request_timeout} s")
                continue
            except ServerDied:
                self.fail(CRASH, f"server died before answering {method}")
                continue
            code = "result" if response.error is None else str(response.error.get("code"))
            self.report.responses_by_code[code] += 1
            got = None if response.error is None else response.error.get("code")
            if got == INTERNAL_ERROR:
                self.fail(INTERNAL_ERROR_ANSWER, f"{method} ({kind}): InternalError: {str(response.error.get('message'))[:300]}")
            elif kind == "unknown" and got != METHOD_NOT_FOUND:
                self.fail(WRONG_METHOD_NOT_FOUND, f"{method}: expected MethodNotFound (-32601), got {response.error or 'a result'}")
            elif kind == "invalid" and got != INVALID_PARAMS:
                self.fail(WRONG_INVALID_PARAMS, f"{method} with malformed params: expected InvalidParams (-32602), got "
                          f"{response.error or 'result ' + json.dumps(response.result)[:200]}")
        self.outstanding.clear()

    # -- document edits ---------------------------------------------------------------------------

    def at(self, doc: Document, offset: int) -> dict[str, int]:
        """The LSP position of a code-point offset, in the negotiated encoding."""
        return position_at(doc.text, offset, self.config.encoding)

    def random_offset(self, doc: Document) -> int:
        return self.rng.randint(0, len(doc.text))

    def send_change(self, doc: Document, start: int, end: int, new: str) -> None:
        change = {"range": {"start": self.at(doc, start), "end": self.at(doc, end)}, "text": new}
        doc.text = doc.text[:start] + new + doc.text[end:]
        doc.version += 1
        self.wire.did_change(doc.uri, doc.version, [change])
        self.report.edits += 1

    def resync(self, doc: Document) -> None:
        doc.version += 1
        self.wire.did_change(doc.uri, doc.version, [{"text": doc.text}])
        self.report.edits += 1

    def valid_edit(self, doc: Document) -> None:
        rng = self.rng
        op = rng.choices(["insert", "delete", "replace", "digit", "whole", "multi"], [30, 20, 15, 12, 2, 4])[0]
        if op == "insert":
            at = self.random_offset(doc)
            self.send_change(doc, at, at, rng.choice(SNIPPETS))
        elif op == "delete":
            start = self.random_offset(doc)
            self.send_change(doc, start, min(len(doc.text), start + rng.choice([1, 1, 2, 5, 20, 200])), "")
        elif op == "replace":
            start = self.random_offset(doc)
            self.send_change(doc, start, min(len(doc.text), start + rng.randint(1, 12)), rng.choice(SNIPPETS))
        elif op == "digit":
            digits = [m.start() for m in re.finditer(r"\d", doc.text)]
            if digits:
                at = rng.choice(digits)
                self.send_change(doc, at, at + 1, str(rng.randint(0, 9)))
        elif op == "whole":
            doc.text = rng.choice([doc.original, doc.text[::-1][:50], "", doc.text + "\n# 🚀\n"])
            self.resync(doc)
        else:  # several changes in one notification, applied in order
            changes = []
            for _ in range(rng.randint(2, 4)):
                start = self.random_offset(doc)
                end = min(len(doc.text), start + rng.randint(0, 6))
                new = rng.choice(SNIPPETS)
                changes.append({"range": {"start": self.at(doc, start), "end": self.at(doc, end)},
                                "text": new})
                doc.text = doc.text[:start] + new + doc.text[end:]
            doc.version += 1
            self.wire.did_change(doc.uri, doc.version, changes)
            self.report.edits += 1

    def hostile_edit(self, doc: Document, others: list[Document]) -> None:
        """An edit the server must survive; the client re-sends the whole text afterwards when needed."""
        rng, wire = self.rng, self.wire
        op = rng.choice(["surrogate", "past_line_end", "past_doc_end", "reversed", "old_version",
                         "unopened", "double_open", "close_reopen", "huge_line", "bad_params"])
        self.report.hostile_edits += 1
        self.report.edits += 1
        if op == "surrogate":
            if not re.search(r"[\U00010000-\U0010ffff]", doc.text):
                at = self.random_offset(doc)
                self.send_change(doc, at, at, "# 😀😀\n")
            astral = [m.start() for m in re.finditer(r"[\U00010000-\U0010ffff]", doc.text)]
            at = rng.choice(astral)
            pos = self.at(doc, at)
            middle = {"line": pos["line"], "character": pos["character"] + 1}  # inside the character (UTF-8, UTF-16)
            end = rng.choice([middle, {"line": pos["line"], "character": pos["character"] + 3}])
            doc.version += 1
            wire.did_change(doc.uri, doc.version, [{"range": {"start": middle, "end": end}, "text": rng.choice(["", "z"])}])
            self.resync(doc)
        elif op == "past_line_end":
            # the spec says: a character past the end of the line means the end of the line
            lines = doc.text.split("\n")
            line = rng.randrange(len(lines))
            start = sum(len(x) + 1 for x in lines[:line]) + len(lines[line])
            doc.text = doc.text[:start] + "q" + doc.text[start:]
            doc.version += 1
            wire.did_change(doc.uri, doc.version, [{"range": {"start": {"line": line, "character": 10_000},
                                                              "end": {"line": line, "character": 20_000}}, "text": "q"}])
        elif op == "past_doc_end":
            last = doc.text.count("\n")
            doc.version += 1
            wire.did_change(doc.uri, doc.version, [{"range": {"start": {"line": last + rng.randint(1, 5), "character": 0},
                                                              "end": {"line": last + 50, "character": 3}}, "text": "\n# tail\n"}])
            self.resync(doc)
        elif op == "reversed":
            a, b = sorted([self.random_offset(doc), self.random_offset(doc)])
            doc.version += 1
            wire.did_change(doc.uri, doc.version, [{"range": {"start": self.at(doc, b), "end": self.at(doc, a)},
                                                    "text": "r"}])
            self.resync(doc)
        elif op == "old_version":
            at = self.random_offset(doc)
            change = {"range": {"start": self.at(doc, at), "end": self.at(doc, at)}, "text": "o"}
            doc.text = doc.text[:at] + "o" + doc.text[at:]
            wire.did_change(doc.uri, max(0, doc.version - rng.randint(1, 5)), [change])
            doc.version += 5
            self.resync(doc)
        elif op == "unopened":
            ghost = doc.path.with_name("never_opened_" + doc.path.name).as_uri()
            wire.did_change(ghost, 7, [{"range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}},
                                        "text": "x"}])
            wire.notify("textDocument/didClose", {"textDocument": {"uri": ghost}})
            wire.notify("textDocument/didSave", {"textDocument": {"uri": ghost}})
        elif op == "double_open":
            doc.text = doc.original
            doc.version += 1
            wire.did_open(doc.uri, doc.text, doc.version)
        elif op == "close_reopen":
            wire.did_close(doc.uri)
            doc.version += 1
            wire.did_open(doc.uri, doc.text, doc.version)
        elif op == "huge_line":
            at = self.random_offset(doc)
            self.send_change(doc, at, at, "# " + "😀é" * 5000 + "\n")
        else:  # notifications whose params are wrong: no answer is due, the server must shrug
            wire.notify("textDocument/didChange", {"textDocument": {"uri": doc.uri}, "contentChanges": "nope"})
            wire.notify("textDocument/didChange", {"textDocument": {"uri": doc.uri, "version": "x"}, "contentChanges": [{}]})
            wire.notify("textDocument/didOpen", {"textDocument": {"uri": 42}})
            wire.notify("textDocument/didClose", [])
            wire.notify("workspace/didChangeConfiguration", {"settings": {"tilelsp": {"debounceMs": "soon", "archs": 5}}})
            wire.notify("workspace/didChangeConfiguration", {"settings": {"tilelsp": self.config.settings}})
            wire.notify("$/unknownNotification", {"a": 1})
            wire.notify("$/cancelRequest", {"id": 987654321})
            self.resync(doc)

    # -- requests ---------------------------------------------------------------------------------

    def position(self, doc: Document) -> dict[str, int]:
        rng = self.rng
        kind = rng.choices(["valid", "line_end", "past_end", "surrogate"], [70, 10, 10, 10])[0]
        if kind == "valid":
            return self.at(doc, self.random_offset(doc))
        lines = doc.text.split("\n")
        if kind == "line_end":
            line = rng.randrange(len(lines))
            return {"line": line, "character": units(lines[line], self.config.encoding) + rng.randint(0, 50)}
        if kind == "past_end":
            return {"line": len(lines) + rng.randint(0, 100), "character": rng.randint(0, 100)}
        astral = [m.start() for m in re.finditer(r"[\U00010000-\U0010ffff]", doc.text)]
        if not astral:
            return self.at(doc, self.random_offset(doc))
        pos = self.at(doc, rng.choice(astral))
        return {"line": pos["line"], "character": pos["character"] + 1}

    def random_request(self, doc: Document, ghost_uri: str) -> None:
        rng = self.rng
        caps = self.capabilities
        uri = doc.uri if rng.random() > 0.08 else ghost_uri  # sometimes a document that was never opened
        td = {"uri": uri}
        choice = rng.choices(
            ["hover", "completion", "signature", "symbols", "inlay", "definition", "references", "highlight",
             "codeAction", "pull", "workspaceSymbol", "notAdvertised", "unknown", "malformed", "garbage", "cancel"],
            [14, 10, 6, 6, 6, 5, 5, 4, 6, 6, 3, 2, 3, 8, 1, 2])[0]
        pos = self.position(doc)
        if choice == "hover" and caps.get("hoverProvider"):
            self.expect("ok", "textDocument/hover", {"textDocument": td, "position": pos})
        elif choice == "completion" and caps.get("completionProvider") is not None:
            self.expect("ok", "textDocument/completion", {"textDocument": td, "position": pos,
                                                          "context": {"triggerKind": 2, "triggerCharacter": "."}})
        elif choice == "signature" and caps.get("signatureHelpProvider") is not None:
            self.expect("ok", "textDocument/signatureHelp", {"textDocument": td, "position": pos,
                                                             "context": {"triggerKind": 1, "isRetrigger": False}})
        elif choice == "symbols" and caps.get("documentSymbolProvider"):
            self.expect("ok", "textDocument/documentSymbol", {"textDocument": td})
        elif choice == "inlay" and caps.get("inlayHintProvider"):
            end = self.position(doc)
            self.expect("ok", "textDocument/inlayHint", {"textDocument": td, "range": {"start": pos, "end": end}})
        elif choice == "definition" and caps.get("definitionProvider"):
            self.expect("ok", "textDocument/definition", {"textDocument": td, "position": pos})
        elif choice == "references" and caps.get("referencesProvider"):
            self.expect("ok", "textDocument/references", {"textDocument": td, "position": pos,
                                                          "context": {"includeDeclaration": rng.random() < 0.5}})
        elif choice == "highlight" and caps.get("documentHighlightProvider"):
            self.expect("ok", "textDocument/documentHighlight", {"textDocument": td, "position": pos})
        elif choice == "codeAction" and caps.get("codeActionProvider"):
            end = self.position(doc)
            published = self.wire.latest_diagnostics(doc.uri)
            diagnostics = published.diagnostics[:3] if published else []
            self.expect("ok", "textDocument/codeAction", {"textDocument": td, "range": {"start": pos, "end": end},
                                                          "context": {"diagnostics": diagnostics}})
        elif choice == "pull" and caps.get("diagnosticProvider"):
            self.expect("ok", "textDocument/diagnostic", {"textDocument": td})
        elif choice == "workspaceSymbol" and caps.get("workspaceSymbolProvider"):
            self.expect("ok", "workspace/symbol", {"query": rng.choice(["", "A_sh", "main", "😀", "zzz"])})
        elif choice == "notAdvertised":
            method = rng.choice([m for m in NOT_ADVERTISED if not self.advertised(m)] or UNKNOWN_METHODS)
            self.expect("unknown", method, {"textDocument": td, "position": pos})
        elif choice == "unknown":
            self.expect("unknown", rng.choice(UNKNOWN_METHODS), rng.choice([None, {}, [1, 2], {"textDocument": td}]))
        elif choice == "malformed":
            method, params = rng.choice(self.malformed(td, pos))
            self.expect("invalid", method, params)
        elif choice == "garbage":
            self.send_garbage()
        elif choice == "cancel":
            self.wire.notify("$/cancelRequest", {"id": rng.randint(10**6, 10**7)})
            self.report.notifications += 1

    def send_garbage(self) -> None:
        """A frame whose body is not JSON, and one that is JSON but no JSON-RPC message."""
        self.wire.send_bytes(b"Content-Length: 9\r\n\r\n{not json")
        self.wire.send({"hello": "world"})
        self.report.garbage_frames += 1
        self.report.not_jsonrpc_frames += 1

    def advertised(self, method: str) -> bool:
        key = {"textDocument/formatting": "documentFormattingProvider", "textDocument/rename": "renameProvider",
               "textDocument/linkedEditingRange": "linkedEditingRangeProvider"}[method]
        return bool(self.capabilities.get(key))

    def malformed(self, td: dict[str, Any], pos: dict[str, int]) -> list[tuple[str, Any]]:
        """Requests of advertised methods whose params cannot be read as that method's params."""
        out: list[tuple[str, Any]] = [
            ("textDocument/hover", {"textDocument": td}),                                   # no position
            ("textDocument/hover", {"textDocument": td, "position": {"line": "x", "character": 0}}),
            ("textDocument/hover", {"textDocument": td, "position": {"line": -1, "character": 0}}),
            ("textDocument/hover", {"textDocument": "file:///x.py", "position": pos}),
            ("textDocument/hover", {"position": pos}),
            ("textDocument/hover", [td, pos]),
        ]
        if self.capabilities.get("completionProvider") is not None:
            out.append(("textDocument/completion", {"textDocument": td, "position": {"line": 0}}))
        if self.capabilities.get("documentSymbolProvider"):
            out.append(("textDocument/documentSymbol", {"textDocument": {"url": td["uri"]}}))
        if self.capabilities.get("inlayHintProvider"):
            out.append(("textDocument/inlayHint", {"textDocument": td, "range": {"start": pos}}))
        if self.capabilities.get("codeActionProvider"):
            out.append(("textDocument/codeAction", {"textDocument": td, "range": {"start": pos, "end": pos}}))
        return [x for x in out if self.capabilities.get("hoverProvider") or x[0] != "textDocument/hover"]

    # -- the run ----------------------------------------------------------------------------------

    async def alive_check(self, doc: Document) -> None:
        self.report.batches += 1
        if not self.wire.alive:
            raise ServerDied(f"server gone (exit {self.wire.process.returncode}): {self.wire.stderr_tail()}")
        try:
            response = await self.wire.hover(doc.uri, 0, 0, timeout=self.config.request_timeout)
        except asyncio.TimeoutError:
            self.fail(NO_ANSWER, f"liveness hover unanswered within {self.config.request_timeout} s")
            raise
        self.report.liveness_hovers += 1
        self.report.requests += 1
        if response.error is not None:
            self.fail(LIVENESS, f"liveness hover failed: {response.error}")

    async def run(self, docs: list[Document]) -> list[Document]:
        """Fuzz every document; returns those left open for the final comparison with tilelint: the
        first document of a few groups (brought back to a kernel by valid edits) and the whole last
        group (as the fuzzing left them)."""
        rng, cfg = self.rng, self.config
        ghost = (docs[0].path.parent / "not_opened.py").as_uri()
        finals: list[Document] = []
        groups = [docs[i:i + cfg.open_at_once] for i in range(0, len(docs), cfg.open_at_once)]
        for number, group in enumerate(groups):
            for doc in group:
                self.wire.did_open(doc.uri, doc.text, doc.version)
                doc.open = True
            if number == 0:
                self.send_garbage()
            await self.wire.flush()
            for _ in range(max(1, cfg.edits_per_file * len(group) // cfg.batch)):
                for _ in range(cfg.batch):
                    doc = rng.choice(group)
                    if rng.random() < cfg.hostile_rate:
                        self.hostile_edit(doc, group)
                    else:
                        self.valid_edit(doc)
                    if rng.random() < cfg.requests_per_batch / cfg.batch:
                        self.random_request(doc, ghost)
                await self.drain()
                await self.alive_check(rng.choice(group))
            if number == len(groups) - 1:
                finals.extend(group)
                break
            # kept open and compared at the end: a buggy example if the group has one (they carry diagnostics)
            buggy = [d for d in group if "# expect: TL1" in d.original]
            keep = (buggy or group)[0] if number < cfg.final_checks else None
            if keep is not None:
                await self.settle_valid(keep)
                finals.append(keep)
            for doc in group:
                if doc is not keep:
                    self.wire.did_close(doc.uri)
                    doc.open = False
            await self.wire.flush()
        return finals

    async def settle_valid(self, doc: Document) -> None:
        """Bring a document back to a kernel file by valid incremental edits only: the original text,
        then digit flips and comment insertions (with astral characters), each its own didChange."""
        self.resync_to(doc, doc.original)
        # non-ASCII text in front of allocations: the columns of diagnostics and related ranges on those lines
        # then differ between UTF-8, UTF-16 and code points
        for match in reversed(list(re.finditer(r"^([ \t]+)\w+ = T\.alloc_", doc.text, flags=re.M))):
            self.send_change(doc, match.end(1), match.end(1), '_u = "é😀𝔘"; ')
        for _ in range(8):
            digits = [m.start() for m in re.finditer(r"(?<=[=( ])\d", doc.text)]
            if digits and self.rng.random() < 0.6:
                at = self.rng.choice(digits)
                self.send_change(doc, at, at + 1, str(self.rng.randint(1, 4)))
            else:
                line_starts = [0] + [m.end() for m in re.finditer("\n", doc.text)]
                at = self.rng.choice(line_starts)
                self.send_change(doc, at, at, "# 😀 é 𝔘 edit\n")
        await self.wire.flush()

    def resync_to(self, doc: Document, text: str) -> None:
        doc.text = text
        self.resync(doc)


def tilelint_json(path: Path, cwd: Path) -> dict[str, Any]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p))
    proc = subprocess.run([sys.executable, "-m", "tilelsp.lint_cli", "--format", "json", str(path)],
                          cwd=str(cwd), capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode in (0, 1), proc.stderr
    return json.loads(proc.stdout)


def _span(r: dict[str, Any]) -> tuple[int, int, int, int]:
    return r["start"]["line"], r["start"]["character"], r["end"]["line"], r["end"]["character"]


def lsp_key(diagnostic: dict[str, Any]) -> tuple[Any, ...]:
    related = tuple(sorted((*_span(r["location"]["range"]), r["message"])
                           for r in diagnostic.get("relatedInformation") or []))
    return (diagnostic.get("code"), diagnostic.get("severity"), *_span(diagnostic["range"]),
            diagnostic.get("message"), related)


SEVERITY = {"error": 1, "warning": 2, "information": 3, "hint": 4}


def cli_key(text: str, diagnostic: dict[str, Any], encoding: str) -> tuple[Any, ...]:
    """tilelint's JSON diagnostic (code-point columns) as the server should send it (columns in `encoding`)."""
    lines = text.split("\n")

    def convert(pos: dict[str, int]) -> tuple[int, int]:
        line = pos["line"]
        return line, units(lines[line][: pos["character"]], encoding) if line < len(lines) else pos["character"]

    def span(r: dict[str, Any]) -> tuple[int, int, int, int]:
        return (*convert(r["start"]), *convert(r["end"]))

    related = tuple(sorted((*span(r["range"]), r["message"]) for r in diagnostic.get("related") or []))
    return (diagnostic["code"], SEVERITY[diagnostic["severity"]], *span(diagnostic["range"]), diagnostic["message"],
            related)


async def compare_with_tilelint(wire: LspWire, docs: list[Document], workdir: Path, report: FuzzReport,
                                fail: Any, timeout: float, pull: bool, encoding: str) -> None:
    """For each document: the last diagnostics pushed (for its final version) and the pulled ones,
    against `tilelint --format json` run once over all the final texts, written next to the originals."""
    final_dir = workdir / "final"
    final_dir.mkdir(exist_ok=True)
    for doc in docs:
        if not pull:
            await wire.wait_diagnostics(doc.uri, doc.version, timeout=timeout)
        (final_dir / doc.path.name).write_text(doc.text, encoding="utf-8")
    await asyncio.sleep(0.5)  # a re-analysis after a configuration change would publish again
    cli = tilelint_json(final_dir, workdir)
    by_name = {Path(f["path"]).name: f["diagnostics"] for f in cli["files"]}
    for doc in docs:
        expected = sorted(cli_key(doc.text, d, encoding) for d in by_name.get(doc.path.name, []))
        report.final_checked += 1
        report.final_diagnostics += len(expected)
        published = wire.latest_diagnostics(doc.uri)
        if pull:
            if published is not None:
                fail(DIAGNOSTICS, f"{doc.path.name}: publishDiagnostics sent to a client that pulls")
        elif published is None or published.version != doc.version:
            fail(DIAGNOSTICS, f"{doc.path.name}: last publishDiagnostics is for version "
                              f"{published and published.version}, the document is at {doc.version}")
        else:
            got = sorted(lsp_key(d) for d in published.diagnostics)
            if got != expected:
                fail(DIAGNOSTICS, f"{doc.path.name} v{doc.version}: server pushed {got}, tilelint says {expected}")
        pulled = await wire.request("textDocument/diagnostic", {"textDocument": {"uri": doc.uri}}, timeout=timeout)
        if pulled.error is None and isinstance(pulled.result, dict) and pulled.result.get("kind") == "full":
            got = sorted(lsp_key(d) for d in pulled.result.get("items", []))
            if got != expected:
                fail(DIAGNOSTICS, f"{doc.path.name} v{doc.version}: server pulled {got}, tilelint says {expected}")
        else:
            fail(DIAGNOSTICS, f"{doc.path.name}: textDocument/diagnostic gave {pulled.error or pulled.result}")


async def run_fuzz(config: FuzzConfig, workdir: Path) -> FuzzReport:
    rng = random.Random(config.seed)
    report = FuzzReport(encoding=config.encoding)
    (workdir / "pyproject.toml").write_text("")
    docs = corpus(config.files, rng, workdir)
    report.files = len(docs)
    wire = await LspWire.start(cwd=workdir, settings=config.settings)
    fuzzer = Fuzzer(wire, config, rng, report)
    try:
        init = await wire.initialize(workdir, pull=config.pull, encodings=[config.encoding])
        assert init.error is None, init.error
        fuzzer.capabilities = init.result["capabilities"]
        if fuzzer.capabilities.get("positionEncoding", "utf-16") != config.encoding:
            fuzzer.fail(DIAGNOSTICS, f"offered only {config.encoding}, the server chose "
                                     f"{fuzzer.capabilities.get('positionEncoding')}")
        finals = await fuzzer.run(docs)
        await compare_with_tilelint(wire, finals, workdir, report, fuzzer.fail, config.request_timeout, config.pull,
                                    config.encoding)
    except ServerDied as exc:
        report.crashes += 1
        fuzzer.fail(CRASH, f"server died: {exc}")
    finally:
        if not wire.alive and wire.process.returncode not in (None, 0):
            report.crashes += report.crashes == 0
        report.exit_code = await wire.close()
        report.null_id_errors.update(str((m.get("error") or {}).get("code")) for m in wire.orphan_responses)
        for code, sent, what in (("-32700", report.garbage_frames, "bodies that are not JSON"),
                                 ("-32600", report.not_jsonrpc_frames, "JSON values that are no JSON-RPC message")):
            if report.null_id_errors[code] != sent:
                fuzzer.fail(NOT_A_MESSAGE, f"{sent} {what} got {report.null_id_errors[code]} answers with code {code}")
        report.tracebacks_on_stderr = wire.stderr.count(b"Traceback (most recent call last)")
        report.error_messages_shown = sum(1 for n in wire.notifications
                                          if n.get("method") == "window/showMessage" and n["params"].get("type") == 1)
    return report
