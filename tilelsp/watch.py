"""``tilelint --watch``: check, then check again whenever a file changes.

Polls the modification time and size of every file ``tilelint`` would check
(plus the ``pyproject.toml`` in use) every half second, with no dependency
beyond the standard library. A change (a file edited, added or removed) runs
the whole check again, which with the result cache re-analyses only the files
that changed, and prints a fresh report. Ctrl-C ends it with exit status 0.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterable
from typing import TextIO

__all__ = ["INTERVAL", "watch"]

INTERVAL = 0.5

State = dict[str, tuple[int, int]]


def _state(paths: Iterable[str]) -> State:
    out: State = {}
    for path in paths:
        try:
            st = os.stat(path)
        except OSError:
            continue
        out[path] = (st.st_mtime_ns, st.st_size)
    return out


def watch(
    check: Callable[[], int],
    files: Callable[[], list[str]],
    *,
    extra: Iterable[str] = (),
    interval: float = INTERVAL,
    err: TextIO | None = None,
) -> int:
    """Run ``check`` now and after every change to ``files()`` or ``extra``; 0 on Ctrl-C."""
    err = err or sys.stderr
    extra = tuple(extra)

    def snapshot() -> State:
        try:
            listed = files()
        except Exception:  # noqa: BLE001 - a folder that went away: watch what is left
            listed = []
        return _state([*listed, *extra])

    def run() -> None:
        try:
            check()
        except Exception as error:  # noqa: BLE001 - keep watching after an internal failure
            err.write(f"tilelint: internal error: {type(error).__name__}: {error}\n")
        err.write("tilelint --watch: waiting for changes (Ctrl-C to stop)\n")
        err.flush()

    try:
        state = snapshot()
        run()
        while True:
            time.sleep(interval)
            now = snapshot()
            if now == state:
                continue
            changed = sorted(p for p in now.keys() | state.keys() if now.get(p) != state.get(p))
            state = now
            shown = ", ".join(changed[:3]) + (f" and {len(changed) - 3} more" if len(changed) > 3 else "")
            err.write(f"\ntilelint --watch: {time.strftime('%H:%M:%S')} changed: {shown}\n")
            err.flush()
            run()
    except KeyboardInterrupt:
        return 0
