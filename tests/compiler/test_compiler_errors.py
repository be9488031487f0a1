"""Bad input gives located errors (path:line:col CODE message), exit 1 or 2, never a traceback or a hang."""

from __future__ import annotations

import io
import re
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

pytest.importorskip("tvm")

from compiler.cli import main  # noqa: E402
from conftest import EXAMPLES  # noqa: E402

LOCATED = re.compile(r"^(?P<path>.+?):(?P<line>\d+):(?P<col>\d+): TL95\d .+", re.M)
BUGGY = sorted((EXAMPLES / "buggy").glob("*.py"))


def tilec(*args: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(args))
    text = out.getvalue() + err.getvalue()
    assert "Traceback" not in text
    return code, text


@pytest.mark.parametrize("path", BUGGY, ids=[p.name for p in BUGGY])
def test_buggy_examples_give_located_errors(path: Path):
    code, text = tilec("build", str(path))
    assert code == 1, text
    m = LOCATED.search(text)
    assert m and Path(m["path"]).name == path.name and int(m["line"]) >= 1, text


GARBLED = {
    "unclosed": "import tilelang.language as T\n\ndef f(M):\n    @T.prim_func\n    def main(A: T.Tensor((M,), 'float32'):\n",
    "nul": "import tilelang\x00\n",
    "bad_indent": "import tilelang.language as T\n  x = 1\n",
    "unknown_op": (
        "import tilelang.language as T\n\ndef f(M):\n    @T.prim_func\n    def main(A: T.Tensor((M,), 'float32')):\n"
        "        with T.Kernel(1) as bx:\n            T.no_such_op(A)\n    return main\n"
    ),
    "unsupported_op": (
        "import tilelang.language as T\n\ndef f(M):\n    @T.prim_func\n    def main(A: T.Tensor((M,), 'float32')):\n"
        "        with T.Kernel(1) as bx:\n            T.sync_threads()\n    return main\n"
    ),
    "undefined_name": (
        "import tilelang.language as T\n\ndef f(M):\n    @T.prim_func\n    def main(A: T.Tensor((M,), 'float32')):\n"
        "        with T.Kernel(1) as bx:\n            A[0] = nope\n    return main\n"
    ),
    "shape_mismatch": (
        "import tilelang.language as T\n\ndef f(M):\n    @T.prim_func\n    def main(A: T.Tensor((M, 8), 'float32')):\n"
        "        with T.Kernel(1) as bx:\n            s = T.alloc_shared((4, 4), 'float32')\n"
        "            T.copy(A[0:8, 0:8], s)\n    return main\n"
    ),
    "gemm_k_mismatch": (
        "import tilelang.language as T\n\ndef f(M):\n    @T.prim_func\n    def main(A: T.Tensor((M, 8), 'float32')):\n"
        "        with T.Kernel(1) as bx:\n            a = T.alloc_shared((16, 8), 'float32')\n"
        "            b = T.alloc_shared((4, 16), 'float32')\n            c = T.alloc_fragment((16, 16), 'float32')\n"
        "            T.gemm(a, b, c)\n    return main\n"
    ),
    "unknown_import": "import tilelang.carver\n",
    "module_raises": "import tilelang\nraise RuntimeError('boom')\n",
}
EXPECTED_LINE = {"unclosed": 5, "nul": 1, "bad_indent": 2, "unknown_op": 7, "unsupported_op": 7, "undefined_name": 7,
                 "shape_mismatch": 8, "gemm_k_mismatch": 10, "unknown_import": 1, "module_raises": 2}


@pytest.mark.parametrize("name", sorted(GARBLED))
def test_garbled_kernels(tmp_path: Path, name: str):
    path = tmp_path / f"{name}.py"
    path.write_text(GARBLED[name], encoding="utf-8")
    code, text = tilec("build", str(path), "--instantiate", "f(16)")
    assert code == 1, text
    m = LOCATED.search(text)
    assert m, text
    assert int(m["line"]) == EXPECTED_LINE[name], text
    if name == "unsupported_op":
        assert "not supported yet: T.sync_threads" in text


@pytest.mark.parametrize("frac", [0.2, 0.4, 0.6, 0.8])
def test_truncated_examples(tmp_path: Path, frac: float):
    for src in (EXAMPLES / "gemm_pipelined.py", EXAMPLES / "flash_attention.py"):
        lines = src.read_text().splitlines()
        path = tmp_path / src.name
        path.write_text("\n".join(lines[: int(len(lines) * frac)]) + "\n")
        code, text = tilec("build", str(path))
        # a prefix that is still a valid kernel may build (exit 0); a prefix with no kernel left is a
        # usage error (exit 2, one line); anything else is a located error (exit 1)
        assert code in (0, 1, 2), text
        if code == 1:
            assert LOCATED.search(text), text
        if code == 2:
            assert text.startswith("tilec: ") and text.count("\n") == 1, text


def test_usage_error_exit_2(tmp_path: Path):
    code, _ = tilec("build", str(tmp_path / "missing.py"), "--target", "cuda")
    assert code == 2


def test_tile_op_inside_parallel_is_rejected(tmp_path: Path):
    path = tmp_path / "p.py"
    path.write_text(
        "import tilelang.language as T\n\ndef f(M):\n    @T.prim_func\n    def main(A: T.Tensor((M,), 'float32')):\n"
        "        with T.Kernel(1) as bx:\n            s = T.alloc_shared((M,), 'float32')\n"
        "            for i in T.Parallel(M):\n                T.fill(s, 0)\n    return main\n"
    )
    code, text = tilec("build", str(path), "--instantiate", "f(8)")
    assert code == 1 and ":9:" in text and "not allowed inside T.Parallel" in text, text
