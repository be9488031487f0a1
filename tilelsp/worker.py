"""The analysis worker: a child process that runs the analyzer for the server.

`python -m tilelsp.worker` reads requests from stdin and writes answers to
stdout, each a frame: a 4-byte big-endian length and a pickle. It imports the
analyzer (libcst) and nothing heavier: never TVM, never the `compiler`
package, never user code. Anything it prints by accident goes to stderr, so
the frames stay intact.

Requests and answers:

- `("analyze", job_id, text, path, config, requests)` ->
  `("result", job_id, index, seconds)` or `("error", job_id, traceback)`
- `("modules", job_id)` -> `("modules", job_id, sorted names of loaded modules)`

On start it sends `("ready", pid)`. It exits when stdin closes.
"""

from __future__ import annotations

import os
import pickle
import struct
import sys
import time
import traceback
from typing import IO, Any

HEADER = struct.Struct(">I")


def write_frame(stream: IO[bytes], message: Any) -> None:
    body = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(HEADER.pack(len(body)) + body)
    stream.flush()


def read_frame(stream: IO[bytes]) -> Any | None:
    head = stream.read(HEADER.size)
    if len(head) < HEADER.size:
        return None
    (size,) = HEADER.unpack(head)
    body = stream.read(size)
    if len(body) < size:
        return None
    return pickle.loads(body)


def serve_requests(stdin: IO[bytes], stdout: IO[bytes], handlers: dict[str, Any]) -> int:
    """A worker's request loop: `("ready", pid)` first, then for each `(kind, job_id, *args)` the answer
    `("result", job_id, handlers[kind](*args), seconds)`, or `("error", job_id, traceback)` when the handler
    raises (the worker stays up); `("modules", job_id)` answers the loaded module names. Returns 0 when stdin
    closes."""
    write_frame(stdout, ("ready", os.getpid()))
    while True:
        request = read_frame(stdin)
        if request is None:
            return 0
        kind, job_id, args = request[0], request[1], request[2:]
        if kind == "modules":
            write_frame(stdout, ("modules", job_id, sorted(sys.modules)))
            continue
        if kind not in handlers:
            write_frame(stdout, ("error", job_id, f"unknown request {kind!r}"))
            continue
        started = time.perf_counter()
        try:
            answer = handlers[kind](*args)
        except Exception:  # noqa: BLE001 - reported to the server, which keeps the last good result
            write_frame(stdout, ("error", job_id, traceback.format_exc()))
            continue
        write_frame(stdout, ("result", job_id, answer, time.perf_counter() - started))


def serve(stdin: IO[bytes], stdout: IO[bytes]) -> int:
    from analyzer.index import build_index as build  # here, not at import: the server imports the framing only

    def analyze(text: str, path: str, config: Any, requests: Any) -> Any:
        return build(text, path, config, tuple(requests))

    return serve_requests(stdin, stdout, {"analyze": analyze})


def run_frames(serve_fn: Any) -> int:
    """Run `serve_fn(stdin, stdout)` on the process's stdio as frame streams: the frames keep the real stdout,
    and file descriptor 1 goes to stderr, so a stray print, even from C, cannot corrupt a frame."""
    sys.stdout.flush()
    frames_out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    try:
        return serve_fn(sys.stdin.buffer, frames_out)
    except (BrokenPipeError, KeyboardInterrupt):
        return 0


def main() -> int:
    return run_frames(serve)


if __name__ == "__main__":
    sys.exit(main())
