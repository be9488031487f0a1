"""No input makes tilelint crash, hang or print a traceback.

Every example file is cut at 200 random points (seeded per file) and the
pieces are checked in one `tilelint --format json` run: the exit status must
be 0 or 1, stdout one well-formed JSON document listing every piece, stderr
empty. Set TILELSP_FUZZ_CORPUS to a folder (e.g. TileLang's own examples) to
fuzz that corpus as well.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pytest
from conftest import EXAMPLES, run_tilelint_process

from analyzer.config import Config
from analyzer.engine import analyze_source

CUTS = 200


def corpus() -> list[Path]:
    files = sorted(EXAMPLES.rglob("*.py"))
    extra = os.environ.get("TILELSP_FUZZ_CORPUS")
    if extra:
        files += sorted(Path(extra).rglob("*.py"))
    return [f for f in files if "build" not in f.parts]


def test_truncated_files_never_crash(tmp_path: Path) -> None:
    files = corpus()
    assert len(files) >= 12
    written = 0
    for index, path in enumerate(files):
        text = path.read_text(encoding="utf-8")
        rng = random.Random(f"{path.name}:{len(text)}")
        points = sorted({rng.randrange(len(text) + 1) for _ in range(CUTS)} | {len(text)})
        folder = tmp_path / f"{index:03d}_{path.stem}"
        folder.mkdir()
        for cut in points:
            (folder / f"cut_{cut:06d}.py").write_text(text[:cut], encoding="utf-8")
            written += 1
    proc = run_tilelint_process("--no-config", "--format", "json", "--jobs", "2", str(tmp_path), timeout=3000)
    assert proc.returncode in (0, 1), proc.stderr[-2000:]
    assert proc.stderr == ""
    data = json.loads(proc.stdout)
    assert len(data["files"]) == written
    internal = [
        (f["path"], d["message"])
        for f in data["files"]
        for d in f["diagnostics"]
        if d["code"] == "TL903" and "internal analyzer error" in d["message"]
    ]
    assert internal == []


@pytest.mark.parametrize(
    "text",
    [
        "",
        "\x00\x01import tilelang",
        "import tilelang\n" + "(" * 5000,
        "import tilelang\n" + "x = " + "+".join(["1"] * 20000) + "\n",
        "import tilelang\nimport tilelang.language as T\n@T.prim_func\ndef main():\n    with T.Kernel(*[]) as x:\n        pass\n",
        "import tilelang.language as T\ndef f(n):\n    @T.prim_func\n    def main():\n        with T.Kernel(n, threads=n) as b:\n"
        "            S = T.alloc_shared((n, n, n), 'float16')\n            T.copy(S, S)\n    return main\nf(f)\nf(10**100)\n",
        "import tilelang.language as T\ndef f():\n    return f()\nf()\n",
        "import tilelang.language as T\nwhile True:\n    pass\n",
    ],
    ids=["empty", "nul", "deep-parens", "long-expr", "empty-grid", "weird-args", "recursion", "infinite-loop"],
)
def test_hostile_inputs(text: str) -> None:
    report = analyze_source(text, "hostile.py", Config())
    assert all(d.code != "TL903" or "internal" not in d.message for d in report.diagnostics)
