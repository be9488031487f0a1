"""Tests for tilelsp.formats: golden outputs, SARIF schema validity, escaping.

The golden files live in tests/data/golden/: ``report.*`` render the fixed
reports of :func:`sample_reports`, ``buggy.*`` are what ``tilelint
--no-config --arch sm_80,sm_86,sm_90 --format FMT examples/buggy`` prints
from the repository root (tool version pinned to VERSION). After an intended
change of an output format, of a rule or of an example, regenerate them with

    TILELSP_UPDATE_GOLDEN=1 python -m pytest tests/tilelsp/test_formats.py

and review the diff before keeping it.
"""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest

from analyzer.diagnostics import Diagnostic, Range, Related, Severity
from analyzer.report import FileReport, to_json
from conftest import ROOT, run_tilelint
from tilelsp.formats import (
    FINGERPRINT_KEY,
    FORMATS,
    RuleInfo,
    escape_github_data,
    escape_github_property,
    fingerprint,
    render,
)

DATA = Path(__file__).resolve().parent.parent / "data"
GOLDEN = DATA / "golden"
SCHEMA_PATH = DATA / "sarif-schema-2.1.0.json"
UPDATE = os.environ.get("TILELSP_UPDATE_GOLDEN") == "1"
VERSION = "0.1.0"

RULES: dict[str, RuleInfo] = {
    rule.code: rule
    for rule in (
        RuleInfo(
            "TL101",
            "shared-memory-over-limit",
            Severity.ERROR,
            "Shared memory of a kernel exceeds the architecture's limit",
            "https://tilelsp.example/rules/TL101",
        ),
        RuleInfo(
            "TL103",
            "shared-memory-near-limit",
            Severity.WARNING,
            "Shared memory of a kernel is close to the architecture's limit",
            "https://tilelsp.example/rules/TL103",
        ),
        RuleInfo(
            "TL901",
            "syntax-error",
            Severity.ERROR,
            "The file is not valid Python",
            "",  # no doc page: helpUri left out
        ),
    )
}

KERNEL_MAIN = {
    "name": "main",
    "site": "matmul",
    "line": 10,
    "instantiation": {"M": 1024, "block_M": 128},
    "instantiation_source": "call-site",
    "grid": [8, 8, 1],
    "threads": 128,
    "buffers": [
        {
            "name": "A_shared",
            "scope": "shared.dyn",
            "shape": [128, 32],
            "dtype": "float16",
            "bytes": 8192,
            "versions": 3,
            "line": 13,
        }
    ],
    "shared_memory_bytes": 163840,
    "per_arch": {"sm_89": {"shared_memory_bytes": 163840, "limit": 101376, "fits": False}},
}


def sample_reports() -> list[FileReport]:
    """A fixed set of reports covering what the formats must handle.

    Deliberately out of order (files and diagnostics) to exercise sorting;
    a unicode message with a related location, a diagnostic without arch or
    kernel, a code missing from RULES, special characters for the github
    escaping, a path with a space for the SARIF URI, and a clean file.
    """
    over = Diagnostic(
        code="TL101",
        severity=Severity.ERROR,
        message=(
            "shared memory 160.0 KiB exceeds sm_89's 99 KiB: A_shared 3×16 KiB + "
            "B_shared 3×16 KiB …; num_stages=1 fits"
        ),
        range=Range.of(12, 8, 12, 40),
        arch="sm_89",
        kernel="main",
        related=(
            Related(Range.of(13, 8, 13, 50), "A_shared: 3 versions × 16.0 KiB"),
            Related(Range.of(14, 8, 14, 50), "B_shared: 3 versions × 16.0 KiB"),
        ),
    )
    near = Diagnostic(
        code="TL103",
        severity=Severity.WARNING,
        message="shared memory 160.0 KiB is 70% of sm_90's 227 KiB",
        range=Range.of(12, 8, 12, 40),
        arch="sm_90",
        kernel="main",
    )
    info = Diagnostic(
        code="TL550",  # not in RULES
        severity=Severity.INFORMATION,
        message="launch: grid 8×8×1, 128 threads",
        range=Range.of(9, 0, 9, 12),
        kernel="main",
    )
    syntax = Diagnostic(
        code="TL901",
        severity=Severity.ERROR,
        message="invalid syntax: expected ':', got '%'\nthe file was not analysed, 50% done",
        range=Range.point(2, 4),
    )
    return [
        FileReport("examples/gemm.py", [near, info, over], [KERNEL_MAIN]),
        FileReport("examples/clean.py", [], [dict(KERNEL_MAIN, name="copy")]),
        FileReport("examples/buggy/bad syntax,1.py", [syntax], []),
    ]


def check_golden(name: str, actual: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8", newline="")
        return
    assert path.exists(), f"missing golden {path}; run with TILELSP_UPDATE_GOLDEN=1"
    expected = path.read_bytes().decode("utf-8")
    assert actual == expected, (
        f"{name} differs from its golden; rerun with TILELSP_UPDATE_GOLDEN=1 if intended"
    )


def run(fmt: str, reports: list[FileReport] | None = None, **kwargs: bool) -> str:
    return render(
        sample_reports() if reports is None else reports,
        fmt,
        rules=RULES,
        tool_version=VERSION,
        **kwargs,
    )


# --------------------------------------------------------------------------- goldens


@pytest.mark.parametrize(
    ("fmt", "golden", "statistics"),
    [
        ("text", "report.txt", False),
        ("text", "report.statistics.txt", True),
        ("json", "report.json", False),
        ("sarif", "report.sarif", False),
        ("github", "report.github.txt", False),
        ("gitlab", "report.gitlab.json", False),
        ("junit", "report.junit.xml", False),
    ],
)
def test_golden(fmt: str, golden: str, statistics: bool) -> None:
    check_golden(golden, run(fmt, statistics=statistics))


# Every format over the bundled broken kernels, analysed as `tilelint` does (its parser, its file
# walk, its analysis; no result cache and the version pinned, so the goldens depend on nothing else).
BUGGY_ARGS = ("--no-config", "--arch", "sm_80,sm_86,sm_90", "examples/buggy")
BUGGY_GOLDEN = {
    "text": "buggy.txt",
    "json": "buggy.json",
    "sarif": "buggy.sarif",
    "github": "buggy.github.txt",
    "gitlab": "buggy.gitlab.json",
    "junit": "buggy.junit.xml",
}


@pytest.fixture(scope="module")
def buggy_outputs() -> dict[str, str]:
    """What `tilelint BUGGY_ARGS --format FMT` prints from the repository root, for every format."""
    from analyzer.rules import REGISTRY
    from tilelsp.files import collect
    from tilelsp.lint_cli import build_parser, resolve_config, run_analysis

    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(ROOT)
        args = build_parser().parse_args(list(BUGGY_ARGS))
        config = resolve_config(args)
        files, missing = collect(args.paths, config.exclude)
        assert not missing
        reports = run_analysis(files, config, (), jobs=1)
    rules = dict(REGISTRY)
    return {fmt: render(reports, fmt, rules=rules, tool_version=VERSION) for fmt in FORMATS}


@pytest.mark.parametrize("fmt", sorted(BUGGY_GOLDEN))
def test_buggy_golden(fmt: str, buggy_outputs: dict[str, str]) -> None:
    check_golden(BUGGY_GOLDEN[fmt], buggy_outputs[fmt])


def test_buggy_outputs_agree(buggy_outputs: dict[str, str]) -> None:
    """The formats report the same findings: one per diagnostic of the JSON contract."""
    data = json.loads(buggy_outputs["json"])
    count = sum(len(f["diagnostics"]) for f in data["files"])
    assert count == sum(data["summary"][k] for k in ("errors", "warnings", "information")) > 20
    assert len(json.loads(buggy_outputs["sarif"])["runs"][0]["results"]) == count
    assert len(buggy_outputs["github"].splitlines()) == count
    assert len(json.loads(buggy_outputs["gitlab"])) == count
    suite = ET.fromstring(buggy_outputs["junit"]).find("testsuite")
    assert suite is not None
    assert len(suite.findall("testcase/failure")) == count
    assert len(suite.findall("testcase")) == len(data["files"]) == 20
    assert "/work" not in "".join(buggy_outputs.values())  # nothing of the machine it ran on


def test_buggy_sarif_validates(
    buggy_outputs: dict[str, str], sarif_validator: jsonschema.protocols.Validator
) -> None:
    log = json.loads(buggy_outputs["sarif"])
    assert [error.message for error in sarif_validator.iter_errors(log)] == []


def test_buggy_gitlab_and_junit_are_valid(buggy_outputs: dict[str, str]) -> None:
    check_gitlab(json.loads(buggy_outputs["gitlab"]))
    check_junit(buggy_outputs["junit"])


def test_every_format_is_covered() -> None:
    assert set(FORMATS) == {"text", "json", "sarif", "github", "gitlab", "junit"}
    assert set(BUGGY_GOLDEN) == set(FORMATS)


def test_unknown_format() -> None:
    with pytest.raises(ValueError, match="unknown output format"):
        run("xml")


def test_render_is_deterministic_and_independent_of_input_order() -> None:
    reports = sample_reports()
    shuffled = [
        FileReport(r.path, list(reversed(r.diagnostics)), r.kernels) for r in reversed(reports)
    ]
    for fmt in ("text", "sarif", "github", "gitlab", "junit"):
        assert run(fmt, reports) == run(fmt, shuffled)


# --------------------------------------------------------------------------- text


def test_text_lines_are_sorted_and_one_based() -> None:
    lines = run("text").splitlines()
    assert lines[0] == (
        "examples/buggy/bad syntax,1.py:3:5: error TL901 invalid syntax: expected ':', got '%'"
    )
    assert lines[1] == "    the file was not analysed, 50% done"
    locations = [line.split(": ", 1)[0] for line in lines if line.startswith("examples/")]
    assert locations == [
        "examples/buggy/bad syntax,1.py:3:5",
        "examples/gemm.py:10:1",
        "examples/gemm.py:13:9",
        "examples/gemm.py:13:9",
    ]
    codes = [line.split(": ", 1)[1].split()[1] for line in lines if line.startswith("examples/")]
    assert codes == ["TL901", "TL550", "TL101", "TL103"]
    assert lines[-1] == "Found 2 errors, 1 warning, 1 info in 3 files (2 kernels)."


def test_text_arch_kernel_and_notes() -> None:
    lines = run("text").splitlines()
    over = next(line for line in lines if " TL101 " in line)
    assert over.startswith("examples/gemm.py:13:9: error TL101 [sm_89] shared memory 160.0 KiB")
    assert over.endswith("num_stages=1 fits (kernel main)")
    index = lines.index(over)
    assert lines[index + 1] == "  note: examples/gemm.py:14:9: A_shared: 3 versions × 16.0 KiB"
    assert lines[index + 2] == "  note: examples/gemm.py:15:9: B_shared: 3 versions × 16.0 KiB"
    info = next(line for line in lines if " TL550 " in line)
    assert info == (
        "examples/gemm.py:10:1: info TL550 launch: grid 8×8×1, 128 threads (kernel main)"
    )


def test_text_all_checks_passed() -> None:
    clean = [FileReport("a.py", [], [KERNEL_MAIN]), FileReport("b.py")]
    assert run("text", clean) == "All checks passed: 2 files, 1 kernel.\n"
    assert run("text", clean, statistics=True) == "All checks passed: 2 files, 1 kernel.\n"
    assert run("text", []) == "All checks passed: 0 files, 0 kernels.\n"


def test_statistics_sorted_by_count_then_code() -> None:
    def diag(code: str, line: int) -> Diagnostic:
        return Diagnostic(code, Severity.WARNING, "m", Range.point(line))

    reports = [
        FileReport("a.py", [diag("TL901", 1), diag("TL103", 2), diag("TL103", 3)]),
        FileReport("b.py", [diag("TL101", 1)] * 2 + [diag("TL103", 4), diag("TL999", 5)]),
    ]
    assert run("text", reports, statistics=True).splitlines() == [
        "3  TL103  shared-memory-near-limit",
        "2  TL101  shared-memory-over-limit",
        "1  TL901  syntax-error",
        "1  TL999",
        "Found 0 errors, 7 warnings, 0 infos in 2 files (0 kernels).",
    ]


# --------------------------------------------------------------------------- json


def test_json_is_the_contract() -> None:
    reports = sample_reports()
    assert run("json", reports) == json.dumps(to_json(reports), indent=2) + "\n"
    data = json.loads(run("json"))
    gemm = next(f for f in data["files"] if f["path"] == "examples/gemm.py")
    # 0-based, as in LSP; the original order of the report is kept.
    assert gemm["diagnostics"][2]["range"]["start"] == {"line": 12, "character": 8}


# --------------------------------------------------------------------------- sarif


@pytest.fixture(scope="module")
def sarif_validator() -> jsonschema.protocols.Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    # The OASIS errata01 schema declares draft-04; use what it declares.
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def test_saved_schema_is_the_oasis_one() -> None:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    assert schema["title"] == "Static Analysis Results Format (SARIF) Version 2.1.0 JSON Schema"
    assert schema["properties"]["version"]["enum"] == ["2.1.0"]


def test_sarif_validates_against_schema(sarif_validator: jsonschema.protocols.Validator) -> None:
    absolute = FileReport("/abs/dir/k.py", sample_reports()[0].diagnostics)
    for reports in (sample_reports(), [], [absolute]):
        log = json.loads(run("sarif", reports))
        errors = [error.message for error in sarif_validator.iter_errors(log)]
        assert errors == []


def test_schema_rejects_broken_sarif(sarif_validator: jsonschema.protocols.Validator) -> None:
    log = json.loads(run("sarif"))
    log["runs"][0]["results"][0]["level"] = "fatal"
    assert not sarif_validator.is_valid(log)
    del log["version"]
    assert not sarif_validator.is_valid(log)


def test_sarif_structure() -> None:
    log = json.loads(run("sarif"))
    assert log["$schema"] == "https://json.schemastore.org/sarif-2.1.0.json"
    assert log["version"] == "2.1.0"
    (run_,) = log["runs"]
    driver = run_["tool"]["driver"]
    assert (driver["name"], driver["version"]) == ("tilelint", VERSION)
    ids = [rule["id"] for rule in driver["rules"]]
    # Every known rule, sorted, then codes seen in results but unknown.
    assert ids == ["TL101", "TL103", "TL901", "TL550"]
    assert "helpUri" not in driver["rules"][2]
    assert driver["rules"][0]["defaultConfiguration"] == {"level": "error"}
    results = run_["results"]
    assert [r["ruleId"] for r in results] == ["TL901", "TL550", "TL101", "TL103"]
    for result in results:
        assert ids[result["ruleIndex"]] == result["ruleId"]
    assert [r["level"] for r in results] == ["error", "note", "error", "warning"]
    syntax, info, over, _ = results
    location = syntax["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "examples/buggy/bad%20syntax,1.py"
    assert location["region"] == {"startLine": 3, "startColumn": 5, "endLine": 3, "endColumn": 5}
    assert "properties" not in syntax
    assert info["properties"] == {"kernel": "main"}
    assert over["properties"] == {"arch": "sm_89", "kernel": "main"}
    assert over["locations"][0]["physicalLocation"]["region"] == {
        "startLine": 13,
        "startColumn": 9,
        "endLine": 13,
        "endColumn": 41,
    }
    assert [rel["message"]["text"] for rel in over["relatedLocations"]] == [
        "A_shared: 3 versions × 16.0 KiB",
        "B_shared: 3 versions × 16.0 KiB",
    ]
    assert over["relatedLocations"][0]["physicalLocation"]["region"]["startLine"] == 14


def test_sarif_absolute_path_is_a_file_uri() -> None:
    diag = Diagnostic("TL901", Severity.ERROR, "bad", Range.point(0))
    log = json.loads(run("sarif", [FileReport("/srv/repo/my kernels/k.py", [diag])]))
    location = log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "file:///srv/repo/my%20kernels/k.py"


def test_fingerprint_ignores_positions_and_numbers() -> None:
    base = Diagnostic(
        "TL101", Severity.ERROR, "shared memory 160.0 KiB exceeds 99 KiB", Range.of(12, 8, 12, 40),
        arch="sm_89", kernel="main",
    )
    moved = Diagnostic(
        "TL101", Severity.ERROR, "shared memory 176.5 KiB exceeds 99 KiB", Range.of(20, 0, 20, 3),
        arch="sm_89", kernel="main",
    )
    other_kernel = Diagnostic(
        "TL101", Severity.ERROR, base.message, base.range, arch="sm_89", kernel="other",
    )
    other_arch = Diagnostic(
        "TL101", Severity.ERROR, base.message, base.range, arch="sm_90", kernel="main",
    )
    assert fingerprint("a.py", base) == fingerprint("a.py", moved)
    assert fingerprint("./a.py", base) == fingerprint("a.py", base)
    assert len({
        fingerprint("a.py", base),
        fingerprint("b.py", base),
        fingerprint("a.py", other_kernel),
        fingerprint("a.py", other_arch),
    }) == 4


def test_sarif_duplicate_fingerprints_are_numbered() -> None:
    one = Diagnostic("TL103", Severity.WARNING, "near 90%", Range.point(3), kernel="k")
    two = Diagnostic("TL103", Severity.WARNING, "near 95%", Range.point(9), kernel="k")
    log = json.loads(run("sarif", [FileReport("a.py", [two, one])]))
    prints = [r["partialFingerprints"][FINGERPRINT_KEY] for r in log["runs"][0]["results"]]
    digest = fingerprint("a.py", one)
    assert prints == [f"{digest}:1", f"{digest}:2"]


# --------------------------------------------------------------------------- github


@pytest.mark.parametrize(
    ("text", "data", "prop"),
    [
        ("plain", "plain", "plain"),
        ("100%", "100%25", "100%25"),
        ("a\r\nb", "a%0D%0Ab", "a%0D%0Ab"),
        ("a:b,c", "a:b,c", "a%3Ab%2Cc"),
        ("%0A", "%250A", "%250A"),  # an escape sequence in the input stays literal
        ("×::", "×::", "×%3A%3A"),
    ],
)
def test_github_escaping(text: str, data: str, prop: str) -> None:
    assert escape_github_data(text) == data
    assert escape_github_property(text) == prop


def test_github_commands() -> None:
    lines = run("github").splitlines()
    assert len(lines) == 4
    assert lines[0] == (
        "::error file=examples/buggy/bad syntax%2C1.py,line=3,col=5,endLine=3,endColumn=5,"
        "title=TL901 syntax-error::invalid syntax: expected ':', got '%25'%0A"
        "the file was not analysed, 50%25 done"
    )
    assert lines[1].startswith("::notice file=examples/gemm.py,line=10,col=1,")
    assert ",title=TL550::launch: grid 8×8×1, 128 threads (kernel main)" in lines[1]
    assert lines[2].startswith(
        "::error file=examples/gemm.py,line=13,col=9,endLine=13,endColumn=41,"
        "title=TL101 shared-memory-over-limit::[sm_89] shared memory 160.0 KiB"
    )
    assert lines[2].endswith(
        "(kernel main)%0Anote: line 14, col 9: A_shared: 3 versions × 16.0 KiB"
        "%0Anote: line 15, col 9: B_shared: 3 versions × 16.0 KiB"
    )
    assert lines[3].startswith("::warning ")


def test_github_nothing_to_report() -> None:
    assert run("github", [FileReport("a.py")]) == ""


# --------------------------------------------------------------------------- gitlab

GITLAB_SEVERITIES = {"info", "minor", "major", "critical", "blocker"}


def check_gitlab(report: object) -> None:
    """What GitLab's Code Quality report requires of each issue (its documented schema)."""
    assert isinstance(report, list)
    fingerprints = []
    for issue in report:
        assert isinstance(issue, dict)
        assert {"description", "check_name", "fingerprint", "severity", "location"} <= set(issue)
        assert isinstance(issue["description"], str) and issue["description"]
        assert isinstance(issue["check_name"], str) and issue["check_name"]
        assert isinstance(issue["fingerprint"], str) and issue["fingerprint"]
        assert issue["severity"] in GITLAB_SEVERITIES
        location = issue["location"]
        assert isinstance(location["path"], str)
        assert not location["path"].startswith(("/", "./")) and "\\" not in location["path"]
        begin = location["lines"]["begin"]
        assert isinstance(begin, int) and not isinstance(begin, bool) and begin >= 1
        fingerprints.append(issue["fingerprint"])
    assert len(set(fingerprints)) == len(fingerprints)  # GitLab keeps one issue per fingerprint


def test_gitlab_structure() -> None:
    report = json.loads(run("gitlab"))
    check_gitlab(report)
    assert [issue["check_name"] for issue in report] == ["TL901", "TL550", "TL101", "TL103"]
    assert [issue["severity"] for issue in report] == ["major", "info", "major", "minor"]
    syntax, info, over, _ = report
    assert syntax["location"] == {"path": "examples/buggy/bad syntax,1.py", "lines": {"begin": 3}}
    assert syntax["description"].startswith("invalid syntax: expected ':', got '%'\n")
    assert info["description"] == "launch: grid 8×8×1, 128 threads (kernel main)"
    assert over["description"].startswith("[sm_89] shared memory 160.0 KiB")
    assert over["location"]["lines"] == {"begin": 13}
    assert run("gitlab", []) == "[]\n"
    assert run("gitlab", [FileReport("a.py")]) == "[]\n"


def test_gitlab_fingerprints_are_stable_and_unique() -> None:
    one = Diagnostic("TL103", Severity.WARNING, "near 90%", Range.point(3), kernel="k")
    two = Diagnostic("TL103", Severity.WARNING, "near 95%", Range.point(9), kernel="k")
    first = [i["fingerprint"] for i in json.loads(run("gitlab", [FileReport("a.py", [two, one])]))]
    assert len(set(first)) == 2
    # Moved down by ten lines, numbers changed, path spelled with ./: the same two issues.
    moved = [
        Diagnostic("TL103", Severity.WARNING, "near 91%", Range.point(13), kernel="k"),
        Diagnostic("TL103", Severity.WARNING, "near 99%", Range.point(19), kernel="k"),
    ]
    assert [i["fingerprint"] for i in json.loads(run("gitlab", [FileReport("./a.py", moved)]))] == first
    other = json.loads(run("gitlab", [FileReport("b.py", [one])]))
    assert other[0]["fingerprint"] not in first
    assert json.loads(run("gitlab", [FileReport("./x/k.py", [one])]))[0]["location"]["path"] == "x/k.py"


# --------------------------------------------------------------------------- junit


def check_junit(text: str) -> ET.Element:
    """The JUnit XML structure CI servers read: testsuites > testsuite > testcase > failure."""
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n')
    root = ET.fromstring(text.encode("utf-8"))
    assert root.tag == "testsuites"
    (suite,) = list(root)
    assert suite.tag == "testsuite"
    assert suite.get("name") == "tilelint"
    cases = list(suite)
    assert all(case.tag == "testcase" for case in cases)
    assert int(suite.get("tests", "-1")) == len(cases) == int(root.get("tests", "-1"))
    failed = [case for case in cases if case.findall("failure")]
    assert int(suite.get("failures", "-1")) == len(failed) == int(root.get("failures", "-1"))
    assert suite.get("errors") == root.get("errors") == "0" and suite.get("skipped") == "0"
    for case in cases:
        assert case.get("classname") == "tilelint"
        assert case.get("name") and case.get("file") == case.get("name")
        for failure in case:
            assert failure.tag == "failure"
            assert failure.get("type") and failure.get("message")
            assert "\n" not in failure.get("message", "")
            assert (failure.text or "").startswith(f"{case.get('name')}:")
    return root


def test_junit_structure() -> None:
    root = check_junit(run("junit"))
    cases = root.findall("testsuite/testcase")
    assert [case.get("name") for case in cases] == [
        "examples/buggy/bad syntax,1.py",
        "examples/clean.py",
        "examples/gemm.py",
    ]
    syntax, clean, gemm = cases
    assert list(clean) == []
    (failure,) = syntax.findall("failure")
    assert failure.get("type") == "TL901"
    assert failure.get("message") == (
        "TL901 syntax-error: invalid syntax: expected ':', got '%' the file was not analysed, 50% done"
    )
    assert failure.text == (
        "examples/buggy/bad syntax,1.py:3:5: error TL901 invalid syntax: expected ':', got '%'\n"
        "    the file was not analysed, 50% done"
    )
    assert [f.get("type") for f in gemm.findall("failure")] == ["TL550", "TL101", "TL103"]
    over = gemm.findall("failure")[1]
    assert over.get("message", "").startswith("TL101 shared-memory-over-limit: [sm_89] shared memory 160.0 KiB")
    assert (over.text or "").splitlines()[1:] == [
        "  note: examples/gemm.py:14:9: A_shared: 3 versions × 16.0 KiB",
        "  note: examples/gemm.py:15:9: B_shared: 3 versions × 16.0 KiB",
    ]
    assert root.get("failures") == "2" and root.get("tests") == "3"


def test_junit_escapes_and_empty() -> None:
    diag = Diagnostic("TL901", Severity.ERROR, 'a <b> & "c" \x00\x1b end', Range.point(0), kernel="k<1>")
    root = check_junit(run("junit", [FileReport("dir/<odd> & name.py", [diag])]))
    (failure,) = root.findall("testsuite/testcase/failure")
    assert failure.get("message") == 'TL901 syntax-error: a <b> & "c" \ufffd\ufffd end (kernel k<1>)'
    assert root.find("testsuite/testcase").get("name") == "dir/<odd> & name.py"
    empty = check_junit(run("junit", []))
    assert empty.findall("testsuite/testcase") == [] and empty.get("tests") == "0"


# --------------------------------------------------------------------------- command line


@pytest.mark.parametrize("fmt", ["gitlab", "junit"])
def test_cli_new_formats(fmt: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    kernel = tmp_path / "kernels" / "gemm.py"
    kernel.parent.mkdir()
    kernel.write_bytes((ROOT / "examples" / "buggy" / "gemm_stages4_big_tiles.py").read_bytes())
    monkeypatch.chdir(tmp_path)
    code, out = run_tilelint("--no-config", "--arch", "sm_86", "--format", fmt, "kernels")
    assert code == 1
    if fmt == "gitlab":
        check_gitlab(json.loads(out))
        assert {(i["check_name"], i["location"]["path"]) for i in json.loads(out)} == {("TL101", "kernels/gemm.py")}
    else:
        (case,) = check_junit(out).findall("testsuite/testcase")
        assert case.get("name") == "kernels/gemm.py"
        assert [f.get("type") for f in case.findall("failure")] == ["TL101"]
