"""``tilelint --baseline FILE``: accept the findings of today, report only new ones.

The first run with ``--baseline FILE`` (or any run with ``--update-baseline``)
writes every current finding to FILE; later runs hide the findings that FILE
lists and report the others. A finding is matched by

* its code,
* its file's path relative to the baseline's folder (POSIX form),
* its kernel name,
* a fingerprint: SHA-256 of the code, kernel, arch, the message (numbers kept:
  a budget that grows is a new finding) and the text of the flagged source
  line with surrounding whitespace stripped.

Line and column are not part of the match, so inserting or deleting lines
above a finding keeps it hidden; editing the flagged line or the message
makes it new. Each baseline entry hides one finding (two identical findings
need two entries). The file is JSON, sorted, so that it diffs well.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from analyzer.diagnostics import Diagnostic
from analyzer.report import FileReport

__all__ = ["BaselineError", "Baseline", "apply_baseline", "fingerprint"]

_VERSION = 1


class BaselineError(Exception):
    pass


def fingerprint(diag: Diagnostic, line_text: str) -> str:
    parts = (diag.code, diag.kernel or "", diag.arch or "", diag.message, line_text.strip())
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()[:32]


class _Lines:
    """The lines of the checked files, read once each."""

    def __init__(self) -> None:
        self._files: dict[str, list[str]] = {}

    def get(self, path: str, line: int) -> str:
        lines = self._files.get(path)
        if lines is None:
            try:
                lines = Path(path).read_bytes().decode("utf-8-sig", errors="replace").splitlines()
            except OSError:
                lines = []
            self._files[path] = lines
        return lines[line] if 0 <= line < len(lines) else ""


Key = tuple[str, str, str, str]


def _relative(path: str, folder: Path) -> str:
    try:
        rel = os.path.relpath(os.path.abspath(path), folder)
    except ValueError:  # another drive
        rel = os.path.abspath(path)
    return Path(rel).as_posix()


def _entries(reports: Sequence[FileReport], folder: Path) -> list[tuple[Key, dict[str, Any]]]:
    lines = _Lines()
    out = []
    for report in reports:
        rel = _relative(report.path, folder)
        for diag in report.diagnostics:
            text = lines.get(report.path, diag.range.start.line)
            key = (diag.code, rel, diag.kernel or "", fingerprint(diag, text))
            out.append((key, {
                "code": diag.code,
                "path": rel,
                "kernel": diag.kernel or "",
                "fingerprint": key[3],
                "message": diag.message,  # for people reading the file; not matched
            }))
    return out


class Baseline:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.folder = path.resolve().parent

    def exists(self) -> bool:
        return self.path.exists()

    def write(self, reports: Sequence[FileReport]) -> int:
        items = sorted((entry for _, entry in _entries(reports, self.folder)),
                       key=lambda e: (e["path"], e["code"], e["kernel"], e["fingerprint"]))
        data = {"tool": "tilelint", "version": _VERSION, "findings": items}
        text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
        tmp = self.path.with_name(self.path.name + ".tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError as err:
            raise BaselineError(f"--baseline {self.path}: cannot write: {err.strerror or err}") from None
        return len(items)

    def load(self) -> Counter[Key]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if not isinstance(data, dict) or data.get("version") != _VERSION:
                raise ValueError("not a tilelint baseline (version 1)")
            return Counter((e["code"], e["path"], e["kernel"], e["fingerprint"]) for e in data["findings"])
        except OSError as err:
            raise BaselineError(f"--baseline {self.path}: cannot read: {err.strerror or err}") from None
        except (ValueError, KeyError, TypeError) as err:
            raise BaselineError(f"--baseline {self.path}: invalid baseline: {err}") from None

    def filter(self, reports: Sequence[FileReport]) -> tuple[list[FileReport], int]:
        """The reports without the findings the baseline lists, and how many were hidden."""
        known = self.load()
        hidden = 0
        out = []
        for report in reports:
            keep = []
            entries = _entries([report], self.folder)
            for diag, (key, _entry) in zip(report.diagnostics, entries):
                if known[key] > 0:
                    known[key] -= 1
                    hidden += 1
                else:
                    keep.append(diag)
            out.append(FileReport(report.path, keep, report.kernels))
        return out, hidden


def apply_baseline(args: Any, reports: list[FileReport]) -> tuple[list[FileReport], str]:
    """``--baseline``/``--update-baseline`` for one run: the reports to show and a note for the user."""
    if args.baseline is None:
        if getattr(args, "update_baseline", False):
            raise BaselineError("--update-baseline needs --baseline FILE")
        return reports, ""
    baseline = Baseline(Path(args.baseline))
    if args.update_baseline or not baseline.exists():
        count = baseline.write(reports)
        note = f"Wrote {count} finding{'' if count == 1 else 's'} to the baseline {args.baseline}."
    else:
        note = ""
    reports, hidden = baseline.filter(reports)
    if hidden or not note:
        hid = f"{hidden} finding{'' if hidden == 1 else 's'} hidden by the baseline {args.baseline}."
        note = f"{note} {hid}" if note else hid
    return reports, note + "\n"
