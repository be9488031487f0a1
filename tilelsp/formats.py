"""Render analysis results for ``tilelint --format text|json|sarif|github|gitlab|junit``.

Every renderer takes the same input, a list of :class:`~analyzer.report.FileReport`,
and returns the complete text to write to standard output: it ends with a
newline unless it is empty (``github`` with nothing to report). Nothing here
reads files or the environment, so the output depends only on the arguments.

Positions inside the analyzer are 0-based lines and 0-based columns counted in
Unicode code points. The human and CI formats (``text``, ``sarif``, ``github``,
``gitlab``, ``junit``) show them 1-based; ``json`` is the machine contract of DESIGN.md section 5 and
keeps them 0-based, exactly as :func:`analyzer.report.to_json` produces them.

Formats
-------
``text``
    One compiler-style line per diagnostic, sorted by path, line, column and
    code, ``path:LINE:COL: SEVERITY CODE [arch] message (kernel NAME)``, each
    followed by its related locations as ``  note: path:LINE:COL: message``
    lines, then a one-line summary. With ``statistics=True`` a table of counts
    per code replaces the diagnostic lines.
``json``
    ``json.dumps(analyzer.report.to_json(reports), indent=2)``.
``sarif``
    A SARIF 2.1.0 log with one run (see :func:`render_sarif`).
``github``
    GitHub Actions workflow commands (``::error file=...::message``), one per
    diagnostic, which the runner turns into annotations on the pull request.
``gitlab``
    A GitLab Code Quality report (see :func:`render_gitlab`), for the
    ``artifacts:reports:codequality`` of a job.
``junit``
    A JUnit XML report (see :func:`render_junit`): one test case per checked
    file, one ``<failure>`` per diagnostic.
"""

from __future__ import annotations

import hashlib
import json
import re
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any, Protocol
from urllib.parse import quote

from analyzer.diagnostics import Diagnostic, Range, Severity
from analyzer.report import FileReport, summary, to_json

__all__ = [
    "FORMATS",
    "INFORMATION_URI",
    "SARIF_SCHEMA_URI",
    "FINGERPRINT_KEY",
    "RuleInfo",
    "RuleLike",
    "render",
    "render_text",
    "render_json",
    "render_sarif",
    "render_github",
    "render_gitlab",
    "render_junit",
    "fingerprint",
    "escape_github_data",
    "escape_github_property",
]

FORMATS = ("text", "json", "sarif", "github", "gitlab", "junit")

#: Where the tool is documented; written into ``tool.driver.informationUri``.
INFORMATION_URI = "https://github.com/tilelsp/tilelsp"

#: The ``$schema`` a SARIF log points at (the copy published by SchemaStore).
SARIF_SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"

#: The key of our entry in each SARIF result's ``partialFingerprints``.
#: Bump the version suffix whenever :func:`fingerprint` changes its input,
#: so that code-scanning services do not compare hashes of different recipes.
FINGERPRINT_KEY = "tilelintFingerprint/v1"

_TOOL_NAME = "tilelint"


# --------------------------------------------------------------------------- rules


class RuleLike(Protocol):
    """What the renderers need to know about a rule.

    The rule registry may pass its own objects as long as they expose these
    attributes; :class:`RuleInfo` is the plain implementation.
    """

    @property
    def code(self) -> str: ...  # "TL101"

    @property
    def name(self) -> str: ...  # "shared-memory-over-limit"

    @property
    def severity(self) -> Severity: ...  # the default severity

    @property
    def summary(self) -> str: ...  # one line, no trailing period needed

    @property
    def help_uri(self) -> str: ...  # "" when the rule has no doc page


@dataclass(frozen=True)
class RuleInfo:
    """Metadata of one rule, as the formats show it."""

    code: str
    name: str
    severity: Severity
    summary: str
    help_uri: str = ""


# --------------------------------------------------------------------------- entry


def render(
    reports: list[FileReport],
    fmt: str,
    *,
    rules: Mapping[str, RuleLike],
    tool_version: str,
    statistics: bool = False,
) -> str:
    """Render ``reports`` in the format ``fmt`` (one of :data:`FORMATS`).

    ``rules`` maps a diagnostic code to its rule; codes missing from it are
    still rendered, with the code standing in for the rule's name.
    ``statistics`` only changes the ``text`` format; the machine formats
    always carry every diagnostic.

    Raises ``ValueError`` for an unknown format.
    """
    if fmt == "text":
        return render_text(reports, rules=rules, statistics=statistics)
    if fmt == "json":
        return render_json(reports)
    if fmt == "sarif":
        return render_sarif(reports, rules=rules, tool_version=tool_version)
    if fmt == "github":
        return render_github(reports, rules=rules)
    if fmt == "gitlab":
        return render_gitlab(reports)
    if fmt == "junit":
        return render_junit(reports, rules=rules)
    raise ValueError(f"unknown output format {fmt!r}; expected one of {', '.join(FORMATS)}")


def _ordered(reports: Iterable[FileReport]) -> list[tuple[str, Diagnostic]]:
    """All diagnostics with their file's path, in reading order.

    Sorted by path, line, column and code; the remaining fields only break
    ties so that the output never depends on the order rules ran in.
    """
    pairs = [(report.path, diag) for report in reports for diag in report.diagnostics]
    pairs.sort(
        key=lambda pair: (
            pair[0],
            pair[1].range.start.line,
            pair[1].range.start.character,
            pair[1].code,
            pair[1].range.end,
            pair[1].arch or "",
            pair[1].kernel or "",
            pair[1].message,
        )
    )
    return pairs


def _context(diag: Diagnostic) -> tuple[str, str]:
    """The ``[arch] `` prefix and `` (kernel NAME)`` suffix of a message."""
    prefix = f"[{diag.arch}] " if diag.arch else ""
    suffix = f" (kernel {diag.kernel})" if diag.kernel else ""
    return prefix, suffix


# --------------------------------------------------------------------------- text

_TEXT_SEVERITY = {
    Severity.ERROR: "error",
    Severity.WARNING: "warning",
    Severity.INFORMATION: "info",
}


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _one_line(text: str) -> str:
    """Keep a message that spans lines readable under its location line."""
    return "\n    ".join(text.splitlines()) if "\n" in text or "\r" in text else text


def render_text(
    reports: list[FileReport],
    *,
    rules: Mapping[str, RuleLike],
    statistics: bool = False,
) -> str:
    """The human format: one line per diagnostic and a summary line.

    ``path:LINE:COL: SEVERITY CODE [arch] message (kernel NAME)`` with 1-based
    line and column (code points), the ``[arch]`` part only when the
    diagnostic is about one architecture. Related locations follow as
    indented ``note:`` lines. The summary reads ``Found 1 error, 2 warnings,
    0 infos in 3 files (4 kernels).`` or, with no diagnostic at all,
    ``All checks passed: 3 files, 4 kernels.``

    With ``statistics`` the diagnostic lines are replaced by a table of
    ``count  code  rule-name`` rows, most frequent first (ties by code),
    followed by the same summary line.
    """
    lines: list[str] = []
    ordered = _ordered(reports)
    if statistics:
        lines.extend(_statistics_table(ordered, rules))
    else:
        for path, diag in ordered:
            start = diag.range.start
            prefix, suffix = _context(diag)
            lines.append(
                f"{path}:{start.line + 1}:{start.character + 1}: "
                f"{_TEXT_SEVERITY[diag.severity]} {diag.code} "
                f"{prefix}{_one_line(diag.message)}{suffix}"
            )
            for rel in diag.related:
                rs = rel.range.start
                lines.append(
                    f"  note: {path}:{rs.line + 1}:{rs.character + 1}: {_one_line(rel.message)}"
                )
    lines.append(_summary_line(reports))
    return "\n".join(lines) + "\n"


def _statistics_table(
    ordered: list[tuple[str, Diagnostic]], rules: Mapping[str, RuleLike]
) -> list[str]:
    counts = Counter(diag.code for _, diag in ordered)
    if not counts:
        return []
    rows = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    count_width = max(len(str(count)) for _, count in rows)
    code_width = max(len(code) for code, _ in rows)
    table = []
    for code, count in rows:
        rule = rules.get(code)
        name = rule.name if rule is not None else ""
        table.append(f"{count:>{count_width}}  {code:<{code_width}}  {name}".rstrip())
    return table


def _summary_line(reports: list[FileReport]) -> str:
    totals = summary(reports)
    files = _plural(totals["files"], "file")
    kernels = _plural(totals["kernels"], "kernel")
    if not any(report.diagnostics for report in reports):
        return f"All checks passed: {files}, {kernels}."
    return (
        f"Found {_plural(totals['errors'], 'error')}, "
        f"{_plural(totals['warnings'], 'warning')}, "
        f"{_plural(totals['information'], 'info')} in {files} ({kernels})."
    )


# --------------------------------------------------------------------------- json


def render_json(reports: list[FileReport]) -> str:
    """The JSON contract of DESIGN.md section 5 (0-based ranges)."""
    return dumps_indented(to_json(reports)) + "\n"


class _NotPlain(Exception):
    pass


_encode_str = json.encoder.encode_basestring_ascii  # the C implementation where there is one


def _float_text(value: float) -> str:
    if value != value:
        return "NaN"
    if value == float("inf"):
        return "Infinity"
    if value == -float("inf"):
        return "-Infinity"
    return float.__repr__(value)


def _key_text(key: Any) -> str:
    if isinstance(key, str):
        return _encode_str(key)
    if isinstance(key, float):
        return _encode_str(_float_text(key))
    if key is True:
        return '"true"'
    if key is False:
        return '"false"'
    if key is None:
        return '"null"'
    if isinstance(key, int):
        return _encode_str(int.__repr__(key))
    raise _NotPlain


def _scalar_text(value: Any) -> str | None:
    """A JSON scalar's text, as json.dumps writes it; None for a container."""
    if isinstance(value, str):
        return _encode_str(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        return _float_text(value)
    if isinstance(value, (list, tuple, dict)):
        return None
    raise _NotPlain


def _encode_indented(value: Any, newline: str, out: list[str], keys: dict[Any, str]) -> None:
    # `value` is a list, a tuple or a dict; scalars inside are written inline (most items are scalars).
    # keys: the text of each dict key already written ('"path": '), as the same few keys repeat
    append = out.append
    inner = newline + "  "
    if isinstance(value, dict):
        if not value:
            append("{}")
            return
        sep = "{" + inner
        for key, item in value.items():
            key_text = keys.get(key) if type(key) is str else None
            if key_text is None:
                key_text = _key_text(key) + ": "
                if type(key) is str:
                    keys[key] = key_text
            cls = type(item)
            text = _encode_str(item) if cls is str else int.__repr__(item) if cls is int else _scalar_text(item)
            if text is None:
                append(sep + key_text)
                _encode_indented(item, inner, out, keys)
            else:
                append(sep + key_text + text)
            sep = "," + inner
        append(newline + "}")
        return
    if not value:
        append("[]")
        return
    sep = "[" + inner
    for item in value:
        cls = type(item)
        text = _encode_str(item) if cls is str else int.__repr__(item) if cls is int else _scalar_text(item)
        if text is None:
            append(sep)
            _encode_indented(item, inner, out, keys)
        else:
            append(sep + text)
        sep = "," + inner
    append(newline + "]")


def dumps_indented(value: Any) -> str:
    """`json.dumps(value, indent=2)`, byte for byte, in less than half the time.

    With an indent the standard library encodes in pure Python, one generator
    per container; this builds the same text with one list. Anything other
    than plain JSON data (or nested too deeply) is left to `json.dumps`.
    """
    out: list[str] = []
    try:
        text = _scalar_text(value)
        if text is not None:
            return text
        _encode_indented(value, "\n", out, {})
    except (_NotPlain, RecursionError):
        return json.dumps(value, indent=2)
    return "".join(out)


# --------------------------------------------------------------------------- sarif

_SARIF_LEVEL = {
    Severity.ERROR: "error",
    Severity.WARNING: "warning",
    Severity.INFORMATION: "note",
}

_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def fingerprint(path: str, diag: Diagnostic) -> str:
    """A hash that identifies a finding across runs and unrelated edits.

    SHA-256 over the code, the artifact URI, the kernel, the arch and the
    message with every number replaced by ``#``, NUL-separated; the first 32
    hex digits are kept. Line and column are left out so that inserting lines
    above a finding keeps its identity, and numbers are masked so that a
    budget that moves from 160.0 KiB to 176.0 KiB is still the same finding.
    :func:`render_sarif` appends ``:N`` (N = 1, 2, ...) to tell apart findings
    whose hashes collide, in source order, as GitHub does for its own keys.
    """
    parts = (
        diag.code,
        _artifact_uri(path),
        diag.kernel or "",
        diag.arch or "",
        _NUMBER.sub("#", diag.message),
    )
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()[:32]


def _artifact_uri(path: str) -> str:
    """A relative POSIX URI reference for a relative path, else a file URI."""
    pure = PurePath(path)
    if pure.is_absolute():
        return pure.as_uri()
    # Percent-encode what a URI path may not hold (spaces, "%", "#", "?",
    # non-ASCII characters as UTF-8, and ":", which in a first segment would
    # read as a scheme); keep "/" and the other sub-delimiters readable.
    return quote(pure.as_posix(), safe="/!$&'()*+,;=@")


def _sarif_region(diag_range: Range) -> dict[str, int]:
    start, end = diag_range.start, diag_range.end
    # SARIF columns are 1-based and endColumn points just past the region,
    # as the LSP end position does, so both sides shift by one.
    return {
        "startLine": start.line + 1,
        "startColumn": start.character + 1,
        "endLine": end.line + 1,
        "endColumn": end.character + 1,
    }


def _sarif_rule(rule: RuleLike) -> dict[str, Any]:
    descriptor: dict[str, Any] = {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "defaultConfiguration": {"level": _SARIF_LEVEL[rule.severity]},
    }
    if rule.help_uri:
        descriptor["helpUri"] = rule.help_uri
    return descriptor


def render_sarif(
    reports: list[FileReport],
    *,
    rules: Mapping[str, RuleLike],
    tool_version: str,
) -> str:
    """A SARIF 2.1.0 log with a single run.

    ``tool.driver.rules`` lists every rule of ``rules`` (sorted by code) so
    that a rule keeps its ``ruleIndex`` from one run to the next; a code that
    appears in a result but not in ``rules`` gets a bare ``{"id": code}``
    descriptor appended. Results come in the order of the text format. Each
    carries its location (artifact URI relative and POSIX for a relative
    path, a ``file://`` URI for an absolute one; 1-based region, columns in
    code points as ``run.columnKind`` says), its related locations, a
    ``properties`` bag with ``arch`` and ``kernel`` when they are set, and a
    ``partialFingerprints`` entry under :data:`FINGERPRINT_KEY` (see
    :func:`fingerprint`).
    """
    descriptors: list[dict[str, Any]] = []
    index_of: dict[str, int] = {}
    for code in sorted(rules):
        rule = rules[code]
        index_of[rule.code] = len(descriptors)
        descriptors.append(_sarif_rule(rule))

    ordered = _ordered(reports)
    for _, diag in ordered:
        if diag.code not in index_of:
            index_of[diag.code] = len(descriptors)
            descriptors.append({"id": diag.code})

    seen: Counter[str] = Counter()
    results: list[dict[str, Any]] = []
    for path, diag in ordered:
        uri = _artifact_uri(path)
        result: dict[str, Any] = {
            "ruleId": diag.code,
            "ruleIndex": index_of[diag.code],
            "level": _SARIF_LEVEL[diag.severity],
            "message": {"text": diag.message},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": uri},
                        "region": _sarif_region(diag.range),
                    }
                }
            ],
        }
        if diag.related:
            result["relatedLocations"] = [
                {
                    "id": number,
                    "physicalLocation": {
                        "artifactLocation": {"uri": uri},
                        "region": _sarif_region(rel.range),
                    },
                    "message": {"text": rel.message},
                }
                for number, rel in enumerate(diag.related, start=1)
            ]
        digest = fingerprint(path, diag)
        seen[digest] += 1
        result["partialFingerprints"] = {FINGERPRINT_KEY: f"{digest}:{seen[digest]}"}
        properties = {
            key: value
            for key, value in (("arch", diag.arch), ("kernel", diag.kernel))
            if value is not None
        }
        if properties:
            result["properties"] = properties
        results.append(result)

    log = {
        "$schema": SARIF_SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": _TOOL_NAME,
                        "version": tool_version,
                        "informationUri": INFORMATION_URI,
                        "rules": descriptors,
                    }
                },
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"


# --------------------------------------------------------------------------- github

_GITHUB_COMMAND = {
    Severity.ERROR: "error",
    Severity.WARNING: "warning",
    Severity.INFORMATION: "notice",
}


def escape_github_data(text: str) -> str:
    """Escape the message part of a workflow command (after ``::``)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_github_property(text: str) -> str:
    """Escape a ``key=value`` property; ``:`` and ``,`` would end the value."""
    return escape_github_data(text).replace(":", "%3A").replace(",", "%2C")


def render_github(reports: list[FileReport], *, rules: Mapping[str, RuleLike]) -> str:
    """GitHub Actions workflow commands, one per diagnostic.

    ``::error file=P,line=L,col=C,endLine=L2,endColumn=C2,title=CODE name::msg``
    (``warning`` and ``notice`` for the other severities), 1-based positions.
    The message carries the ``[arch]`` prefix and ``(kernel NAME)`` suffix of
    the text format, and each related location as a further
    ``note: line L, col C: message`` line (GitHub shows the escaped newlines).
    """
    lines = []
    for path, diag in _ordered(reports):
        start, end = diag.range.start, diag.range.end
        rule = rules.get(diag.code)
        title = f"{diag.code} {rule.name}" if rule is not None else diag.code
        prefix, suffix = _context(diag)
        message = f"{prefix}{diag.message}{suffix}"
        for rel in diag.related:
            rs = rel.range.start
            message += f"\nnote: line {rs.line + 1}, col {rs.character + 1}: {rel.message}"
        properties = {
            "file": path,
            "line": str(start.line + 1),
            "col": str(start.character + 1),
            "endLine": str(end.line + 1),
            "endColumn": str(end.character + 1),
            "title": title,
        }
        rendered = ",".join(
            f"{key}={escape_github_property(value)}" for key, value in properties.items()
        )
        command = _GITHUB_COMMAND[diag.severity]
        lines.append(f"::{command} {rendered}::{escape_github_data(message)}")
    return "".join(line + "\n" for line in lines)


# --------------------------------------------------------------------------- gitlab

_GITLAB_SEVERITY = {
    Severity.ERROR: "major",
    Severity.WARNING: "minor",
    Severity.INFORMATION: "info",
}


def _report_path(path: str) -> str:
    """The path as a CI report names it: POSIX separators, no leading ``./``."""
    text = path.replace("\\", "/")
    while text.startswith("./"):
        text = text[2:]
    return text


def render_gitlab(reports: list[FileReport]) -> str:
    """A GitLab Code Quality report: a JSON array with one issue per diagnostic.

    Each issue has the keys GitLab requires: ``description`` (the message
    with the text format's ``[arch]`` prefix and ``(kernel NAME)`` suffix),
    ``check_name`` (the code), ``fingerprint``, ``severity`` (``major`` for
    an error, ``minor`` for a warning, ``info`` for information) and
    ``location`` (``path`` as given, POSIX, and the 1-based ``lines.begin``).
    GitLab matches issues between the base and the head of a merge request
    by fingerprint, and drops all but one issue of a fingerprint, so each
    is the SHA-256 of :func:`fingerprint` (code, path, kernel, arch and the
    message with its numbers masked; no position) and the issue's rank
    among those sharing that hash, in source order. Issues come in the order
    of the text format; no issue at all is ``[]``.
    """
    seen: Counter[str] = Counter()
    issues: list[dict[str, Any]] = []
    for path, diag in _ordered(reports):
        digest = fingerprint(path, diag)
        seen[digest] += 1
        prefix, suffix = _context(diag)
        issues.append(
            {
                "description": f"{prefix}{diag.message}{suffix}",
                "check_name": diag.code,
                "fingerprint": hashlib.sha256(f"{digest}:{seen[digest]}".encode("ascii")).hexdigest(),
                "severity": _GITLAB_SEVERITY[diag.severity],
                "location": {"path": _report_path(path), "lines": {"begin": diag.range.start.line + 1}},
            }
        )
    return json.dumps(issues, indent=2, ensure_ascii=False) + "\n"


# --------------------------------------------------------------------------- junit

# XML 1.0 has no way to write these characters, escaped or not.
_XML_INVALID = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_text(text: str) -> str:
    return _XML_INVALID.sub("\ufffd", text)


def render_junit(reports: list[FileReport], *, rules: Mapping[str, RuleLike]) -> str:
    """A JUnit XML report, as CI servers (Jenkins, GitLab, Azure) read it.

    ``<testsuites>`` holds one ``<testsuite name="tilelint">`` with one
    ``<testcase classname="tilelint" name=PATH file=PATH>`` per checked file,
    in path order. Each diagnostic of the file is a ``<failure>`` whose
    ``type`` is the code, whose ``message`` is ``CODE rule-name: [arch]
    message (kernel NAME)`` on one line, and whose text is the text format's
    lines for it (``path:LINE:COL: SEVERITY CODE ...`` and its ``note:``
    lines). ``tests`` counts the files, ``failures`` the files with at least
    one diagnostic. No timestamps or durations: the output depends only on
    the reports.
    """
    by_path: dict[str, list[Diagnostic]] = {report.path: [] for report in reports}
    for path, diag in _ordered(reports):
        by_path[path].append(diag)
    paths = sorted(by_path)
    failed = sum(1 for path in paths if by_path[path])
    counts = {"tests": str(len(paths)), "failures": str(failed), "errors": "0", "skipped": "0"}
    root = ET.Element("testsuites", {"name": _TOOL_NAME, **{k: counts[k] for k in ("tests", "failures", "errors")}})
    suite = ET.SubElement(root, "testsuite", {"name": _TOOL_NAME, **counts})
    for path in paths:
        case = ET.SubElement(suite, "testcase", {"classname": _TOOL_NAME, "name": _xml_text(path), "file": _xml_text(path)})
        for diag in by_path[path]:
            start = diag.range.start
            rule = rules.get(diag.code)
            title = f"{diag.code} {rule.name}" if rule is not None else diag.code
            prefix, suffix = _context(diag)
            lines = [
                f"{path}:{start.line + 1}:{start.character + 1}: "
                f"{_TEXT_SEVERITY[diag.severity]} {diag.code} {prefix}{_one_line(diag.message)}{suffix}"
            ]
            for rel in diag.related:
                rs = rel.range.start
                lines.append(f"  note: {path}:{rs.line + 1}:{rs.character + 1}: {_one_line(rel.message)}")
            one_line = " ".join(diag.message.split())
            failure = ET.SubElement(
                case,
                "failure",
                {"type": diag.code, "message": _xml_text(f"{title}: {prefix}{one_line}{suffix}")},
            )
            failure.text = _xml_text("\n".join(lines))
    ET.indent(root, space="  ")
    body = ET.tostring(root, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"
