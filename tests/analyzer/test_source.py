"""Parsing, positions (code points) and `# tilelint:` directives."""

from __future__ import annotations

import libcst as cst
import pytest

from analyzer.config import Config
from analyzer.engine import analyze_source
from analyzer.source import SourceFile, SourceSyntaxError, parse, scan_directives


def test_positions_are_code_points_and_follow_indentation() -> None:
    src = (
        "import tilelang.language as T\n"
        "\n"
        "# 🚀 header comment\n"
        "@decorator\n"
        "def f(a,\n"
        "      b=1):\n"
        "    x = 1; y = T.alloc_shared((4,\n"
        "                               8), 'float16')\n"
        "    for i in T.Pipelined(3, num_stages=2):\n"
        "        if a:\n"
        "\n"
        "            z = é(1) + T.copy(a, b)  # ✓\n"
    )
    sf = SourceFile.from_text(src, "x.py")
    fd = sf.module.body[1]
    assert sf.locator.range(fd.name, fd).start.line == 4
    line = fd.body.body[0]
    call = line.body[1].value
    rng = sf.locator.range(call, line)
    assert (rng.start.line, rng.start.character, rng.end.line, rng.end.character) == (6, 15, 7, 45)
    loop = fd.body.body[1]
    rng = sf.locator.range(loop.iter, loop)
    assert (rng.start.line, rng.start.character) == (8, 13)
    inner = loop.body.body[0].body.body[0]
    copy = inner.body[0].value.right
    rng = sf.locator.range(copy, inner)
    # "            z = é(1) + " is 23 code points (é is one)
    assert (rng.start.line, rng.start.character, rng.end.character) == (11, 23, 35)
    assert sf.locator.line_of(inner) == 11


def test_syntax_error_has_position() -> None:
    with pytest.raises(SourceSyntaxError) as err:
        parse("import tilelang\n\ndef f(:\n    pass\n")
    assert (err.value.line, err.value.col) == (2, 6)


def test_syntax_error_is_tl901_not_traceback() -> None:
    report = analyze_source("import tilelang\n# T.Kernel below\nx = (1,\n", "bad.py", Config())
    [diag] = report.diagnostics
    assert diag.code == "TL901" and diag.severity.label == "error"
    assert diag.range.start.line == 2 and "never closed" in diag.message


def test_files_that_cannot_define_a_kernel_are_not_parsed() -> None:
    assert analyze_source("def f(:\n", "other.py", Config()).diagnostics == []
    assert analyze_source("import tilelang\ndef f(:\n", "helpers.py", Config()).diagnostics == []


def test_directives() -> None:
    found = scan_directives(
        "x = 1  # tilelint: ignore[TL101, tl103]\n"
        "# tilelint: ignore\n"
        "# tilelint: instantiate matmul(1024, 128)\n"
        "# tilelint:instantiate  f(a=1)\n"
    )
    assert found.ignores == {0: frozenset({"TL101", "TL103"}), 1: frozenset()}
    assert found.instantiate == [(2, "matmul(1024, 128)"), (3, "f(a=1)")]
    assert found.suppressed("TL101", 0) and found.suppressed("TL999", 2)
    assert not found.suppressed("TL102", 0)


def test_nested_statements_in_try_and_else_are_located() -> None:
    src = "import tilelang\ntry:\n    pass\nexcept E:\n    a = 1\nelse:\n    if x:\n        b = f(2)\n"
    sf = SourceFile.from_text(src, "t.py")
    tr = sf.module.body[1]
    stmt = tr.orelse.body.body[0].body.body[0]
    call = stmt.body[0].value
    rng = sf.locator.range(call, stmt)
    assert (rng.start.line, rng.start.character) == (7, 12)
    assert isinstance(stmt, cst.SimpleStatementLine)
