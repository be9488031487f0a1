"""Bad input gives located errors (path:line:col CODE message), exit 1 or 2, never a traceback or a hang."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest.importorskip("tvm")

from conftest import EXAMPLES, run_tilec as tilec  # noqa: E402

LOCATED = re.compile(r"^(?P<path>.+?):(?P<line>\d+):(?P<col>\d+): (?P<code>TL\d{3}) .+", re.M)
BUGGY = sorted((EXAMPLES / "buggy").glob("*.py"))




EXPECT = re.compile(r"^# expect: (.+)$", re.M)
REPORTED = re.compile(r"^(?P<path>.+?):(?P<line>\d+):(?P<col>\d+): (?P<code>TL\d{3}) ", re.M)

# What tilec does with each buggy example at the file's own instantiation (exit status, reported codes).
# CPU: the errors TileLang raises on every target (compiler.verify.EVERY_TARGET) refuse the build; a
# file whose errors are all CUDA-only builds, unless the CPU back end lacks one of its T.* names (TL950).
CPU_OUTCOME: dict[str, tuple[int, set[str]]] = {
    "autotune_config_over_sm86.py": (0, set()),  # TL101: shared memory on sm_86/sm_89 (CUDA only)
    "bool_shared_mask.py": (1, {"TL950"}),  # TL102 is CUDA only; T.get_thread_binding has no CPU meaning
    "decode_gemm_block_m8.py": (0, set()),  # TL207: the CUDA warp partition
    "flash_attention_128.py": (0, set()),  # TL101
    "flash_attention_stages3.py": (0, set()),  # TL101
    "gemm_accumulator_in_shared.py": (1, {"TL401"}),
    "gemm_bf16_half_accumulator.py": (0, set()),  # TL301: nvcc's mma_sync only
    "gemm_fp16_x_bf16_weight.py": (1, {"TL302"}),
    "gemm_near_sm86_limit.py": (0, set()),  # TL103 is a warning
    "gemm_stages4_big_tiles.py": (0, set()),  # TL101
    "gemm_too_big_everywhere.py": (0, set()),  # TL101
    "linear_weight_not_transposed.py": (1, {"TL201"}),
    "residual_add_thread_per_column.py": (0, set()),  # TL501/TL503: CUDA launch limits
    "rms_norm_keepdim_reduce.py": (1, {"TL203"}),
    "softmax_per_row_loops.py": (1, {"TL403", "TL406"}),
    "static_shared_transpose.py": (0, set()),  # TL102
    "swiglu_slice_typo.py": (1, {"TL202"}),
    "syntax_error.py": (1, {"TL952"}),  # does not load
    "transpose_mbarrier_sm80.py": (0, set()),  # TL504 (sm_90 mbarriers) is CUDA only; on the CPU its barrier
    # protocol (128 threads arrive, then wait on parity 0) is run and checked: it is correct
    "uninstantiated_factory.py": (1, {"TL951"}),  # no instantiation in the file: missing arguments
}
# --target cuda: TileLang's refusals for CUDA are checked (exit 1), then the CUDA back end builds.
CUDA_OUTCOME: dict[str, tuple[int, set[str]]] = {
    # the compiler builds the first @autotune config, which fits everywhere (the second one does not)
    "autotune_config_over_sm86.py": (0, set()),
    "bool_shared_mask.py": (1, {"TL102"}),
    "decode_gemm_block_m8.py": (1, {"TL207"}),
    "flash_attention_128.py": (1, {"TL101"}),
    "flash_attention_stages3.py": (1, {"TL101"}),
    "gemm_accumulator_in_shared.py": (1, {"TL401"}),
    "gemm_bf16_half_accumulator.py": (1, {"TL301"}),
    "gemm_fp16_x_bf16_weight.py": (1, {"TL302"}),
    "gemm_near_sm86_limit.py": (0, set()),
    "gemm_stages4_big_tiles.py": (1, {"TL101"}),
    "gemm_too_big_everywhere.py": (1, {"TL101"}),
    "linear_weight_not_transposed.py": (1, {"TL201"}),
    "residual_add_thread_per_column.py": (1, {"TL501", "TL503"}),
    "rms_norm_keepdim_reduce.py": (1, {"TL203"}),
    "softmax_per_row_loops.py": (1, {"TL403", "TL406"}),
    "static_shared_transpose.py": (1, {"TL102"}),
    "swiglu_slice_typo.py": (1, {"TL202"}),
    "syntax_error.py": (1, {"TL952"}),
    "transpose_mbarrier_sm80.py": (1, {"TL504"}),
    "uninstantiated_factory.py": (1, {"TL951"}),
}


def own_instantiation(path: Path) -> str | None:
    """The file's own instantiation, as the analyzer finds it (call site, driver, first @autotune config)."""
    from analyzer.engine import analyze_source

    report = analyze_source(path.read_text(), str(path))
    for k in report.kernels:
        facts = k.to_json() if hasattr(k, "to_json") else k
        if facts["instantiation"]:
            return f"{facts['site']}(" + ", ".join(f"{a}={v!r}" for a, v in facts["instantiation"].items()) + ")"
    return None


def refused_by_tilelang(path: Path, request: str | None, target: str) -> set[str]:
    """The file's `# expect:` codes that tilelint reports at this instantiation and that block `target`."""
    from analyzer.engine import analyze_source
    from compiler.verify import blocks

    expect = {c.strip() for c in EXPECT.search(path.read_text())[1].split(",")}
    report = analyze_source(path.read_text(), str(path), cli_requests=(request,) if request else ())
    return {d.code for d in report.diagnostics if d.code in expect and blocks(d, target)}


def test_outcome_tables_cover_every_buggy_example():
    assert sorted(CPU_OUTCOME) == sorted(CUDA_OUTCOME) == [p.name for p in BUGGY]


@pytest.mark.parametrize("target", ["cpu", "cuda"])
@pytest.mark.parametrize("path", BUGGY, ids=[p.name for p in BUGGY])
def test_buggy_examples_at_their_own_instantiation(path: Path, target: str):
    request = own_instantiation(path)
    args = ["build", str(path), "--target", target] + (["--instantiate", request] if request else [])
    code, text = tilec(*args)
    reported = {m["code"] for m in REPORTED.finditer(text)}
    want_code, want_codes = (CPU_OUTCOME if target == "cpu" else CUDA_OUTCOME)[path.name]
    assert (code, reported) == (want_code, want_codes), text
    # the rule codes among them are exactly the file's expected errors that block this target
    assert {c for c in reported if not c.startswith("TL95")} == refused_by_tilelang(path, request, target), text
    for m in REPORTED.finditer(text):
        assert Path(m["path"]).name == path.name and int(m["line"]) >= 1, text
    if code == 0:
        assert "@T.prim_func" in text and not reported, text  # --emit tir (the default) printed the kernel


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
# shapes TileLang refuses come from the analyzer's rules (compiler.verify); the rest from the compiler itself
EXPECTED_CODE = {"unclosed": "TL952", "nul": "TL952", "bad_indent": "TL952", "unknown_op": "TL951",
                 "unsupported_op": "TL950", "undefined_name": "TL951", "shape_mismatch": "TL202",
                 "gemm_k_mismatch": "TL201", "unknown_import": "TL951", "module_raises": "TL952"}
# with --no-verify the compiler's own checks still refuse the two shape errors
NO_VERIFY_MESSAGE = {"shape_mismatch": "TL951 T.copy: source extents [8, 8] and destination extents [4, 4] differ",
                     "gemm_k_mismatch": "TL951 T.gemm K shape check failed: K_A = 8, K_B = 4"}


@pytest.mark.parametrize("name", sorted(GARBLED))
def test_garbled_kernels(tmp_path: Path, name: str):
    path = tmp_path / f"{name}.py"
    path.write_text(GARBLED[name], encoding="utf-8")
    code, text = tilec("build", str(path), "--instantiate", "f(16)")
    assert code == 1, text
    m = LOCATED.search(text)
    assert m, text
    assert int(m["line"]) == EXPECTED_LINE[name], text
    assert m["code"] == EXPECTED_CODE[name] and len(LOCATED.findall(text)) == 1, text
    if name in NO_VERIFY_MESSAGE:
        code, text = tilec("build", str(path), "--instantiate", "f(16)", "--no-verify")
        assert code == 1 and f":{EXPECTED_LINE[name]}:" in text and NO_VERIFY_MESSAGE[name] in text, text
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
    code, text = tilec("build", str(tmp_path / "missing.py"), "--target", "cuda", "--arch", "sm_75")
    assert code == 2 and "--arch sm_75" in text


def test_tile_op_inside_parallel_is_rejected(tmp_path: Path):
    path = tmp_path / "p.py"
    path.write_text(
        "import tilelang.language as T\n\ndef f(M):\n    @T.prim_func\n    def main(A: T.Tensor((M,), 'float32')):\n"
        "        with T.Kernel(1) as bx:\n            s = T.alloc_shared((M,), 'float32')\n"
        "            for i in T.Parallel(M):\n                T.fill(s, 0)\n    return main\n"
    )
    code, text = tilec("build", str(path), "--instantiate", "f(8)")
    assert code == 1 and ":9:17: TL403 T.fill is a tile operation inside T.Parallel" in text, text
    code, text = tilec("build", str(path), "--instantiate", "f(8)", "--no-verify")  # the compiler's own check
    assert code == 1 and ":9:" in text and "TL951" in text and "not allowed inside T.Parallel" in text, text
