"""compiler.verify: the analyzer's error rules that TileLang enforces, selected per target, refuse a build."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest.importorskip("tvm")

from analyzer.diagnostics import Diagnostic, Range, Severity  # noqa: E402
from analyzer.rules import REGISTRY  # noqa: E402
from compiler import load  # noqa: E402
from compiler.verify import CUDA_ONLY, EVERY_TARGET, EVERY_TARGET_WHEN, blocks, effective_request  # noqa: E402
from conftest import EXAMPLES, run_tilec as tilec  # noqa: E402

REPORTED = re.compile(r"^(?P<path>.+?):(?P<line>\d+):(?P<col>\d+): (?P<code>TL\d{3}) (?P<rest>.*)$", re.M)




def codes(text: str) -> list[tuple[int, str]]:
    return [(int(m["line"]), m["code"]) for m in REPORTED.finditer(text)]


def test_every_error_rule_is_classified():
    """A new error rule must be placed: every target, CUDA only, or (TL204) one TileLang builds."""
    errors = {c for c, r in REGISTRY.items() if r.severity is Severity.ERROR}
    classified = EVERY_TARGET | set(EVERY_TARGET_WHEN) | CUDA_ONLY | {"TL204", "TL900", "TL901"}
    assert errors <= classified, sorted(errors - classified)
    assert not (EVERY_TARGET & CUDA_ONLY)
    assert set(EVERY_TARGET_WHEN) <= CUDA_ONLY  # their other cases block CUDA only
    assert {"TL101", "TL102", "TL206", "TL207", "TL301", "TL504", "TL505"} <= CUDA_ONLY


def _d(code: str, message: str = "m", severity: Severity = Severity.ERROR) -> Diagnostic:
    return Diagnostic(code, severity, message, Range.point(0, 0))


@pytest.mark.parametrize("diag, cpu, cuda", [
    (_d("TL201"), True, True),
    (_d("TL302"), True, True),
    (_d("TL401"), True, True),
    (_d("TL411"), True, True),
    (_d("TL305"), True, True),
    (_d("TL305", severity=Severity.WARNING), False, False),
    (_d("TL204"), False, False),
    (_d("TL101"), False, True),
    (_d("TL207"), False, True),
    (_d("TL301"), False, True),
    (_d("TL504"), False, True),
    (_d("TL501", "threads=0: TileLang raises 'ValueError: threads must be positive'"), True, True),
    (_d("TL501", "threads=2048 asks for 2048 threads per block"), False, True),
    (_d("TL503", "TileLang stops with 'Check failed: (grid_size.size() <= 3)'"), True, True),
    (_d("TL503", "grid extent y is 131072, more than the 65535 CUDA allows"), False, True),
    (_d("TL412", severity=Severity.WARNING), False, False),
])
def test_blocks_per_target(diag: Diagnostic, cpu: bool, cuda: bool):
    assert (blocks(diag, "cpu"), blocks(diag, "cuda")) == (cpu, cuda)


LAUNCH = '''import tilelang.language as T


def k(M, grid_y, threads):
    @T.prim_func
    def main(A: T.Tensor((M, 8), "float32")):
        with T.Kernel(1, grid_y, threads=threads) as (bx, by):
            for i in T.serial(8):
                A[by % M, i] = 1.0
    return main


def k4(M):
    @T.prim_func
    def main(A: T.Tensor((M, 8), "float32")):
        with T.Kernel(2, 2, 2, 2, threads=32) as (a, b, c, d):
            A[a + b + c + d, 0] = 1.0
    return main
'''


@pytest.fixture
def launch_file(tmp_path: Path) -> Path:
    path = tmp_path / "launch.py"
    path.write_text(LAUNCH, encoding="utf-8")
    return path


def test_grid_over_65535_builds_on_cpu_not_for_cuda(launch_file: Path):
    code, text = tilec("build", str(launch_file), "--instantiate", "k(8, 70000, 128)")
    assert code == 0 and "T.thread_binding(70000" in text, text
    code, text = tilec("build", str(launch_file), "--instantiate", "k(8, 70000, 128)", "--target", "cuda")
    assert (code, codes(text)) == (1, [(7, "TL503")]), text
    code, text = tilec("build", str(launch_file), "--instantiate", "k(8, 70000, 2048)", "--target", "cuda")
    assert (code, sorted(codes(text))) == (1, [(7, "TL501"), (7, "TL503")]), text
    code, text = tilec("build", str(launch_file), "--instantiate", "k(8, 7, 2048)")
    assert code == 0, text


def test_four_grid_extents_and_zero_threads_are_refused_on_cpu(launch_file: Path):
    code, text = tilec("build", str(launch_file), "--instantiate", "k4(8)")
    assert (code, codes(text)) == (1, [(16, "TL503")]) and "grid_size.size() <= 3" in text, text
    code, text = tilec("build", str(launch_file), "--instantiate", "k(8, 2, 0)")
    assert (code, codes(text)) == (1, [(7, "TL501")]) and "threads must be positive" in text, text


def test_every_blocking_error_is_reported_at_its_line():
    path = EXAMPLES / "buggy" / "softmax_per_row_loops.py"
    code, text = tilec("build", str(path), "--instantiate", "softmax(M=16384, N=1024)")
    assert (code, codes(text)) == (1, [(42, "TL406"), (44, "TL406"), (46, "TL403")]), text


def test_no_verify_builds_what_the_cpu_can_execute():
    path = EXAMPLES / "buggy" / "gemm_accumulator_in_shared.py"
    code, text = tilec("build", str(path), "--instantiate", "matmul(4096, 4096, 4096)")
    assert (code, codes(text)) == (1, [(37, "TL401")]), text
    code, text = tilec("build", str(path), "--instantiate", "matmul(4096, 4096, 4096)", "--no-verify")
    assert code == 0 and "tl.gemm" in text, text


def test_run_is_verified_too():
    path = EXAMPLES / "buggy" / "rms_norm_keepdim_reduce.py"
    code, text = tilec("run", str(path), "--instantiate", "rms_norm(64, 2048)")
    assert (code, codes(text)) == (1, [(35, "TL203")]), text


def test_module_level_kernel_failing_while_loading_reports_tilelang_rule(tmp_path: Path):
    """`func = linear(...)` at module level fails inside compiler.load: the analyzer's TL201 is reported."""
    path = EXAMPLES / "buggy" / "linear_weight_not_transposed.py"
    code, text = tilec("build", str(path))
    assert (code, codes(text)) == (1, [(36, "TL201")]), text
    code, text = tilec("build", str(path), "--no-verify")
    assert (code, codes(text)) == (1, [(36, "TL951")]), text


def test_autotune_instantiation_is_the_first_config():
    """The analyzer checks the configuration the compiler builds: the call plus the first @autotune config."""
    path = EXAMPLES / "buggy" / "autotune_config_over_sm86.py"
    loaded = load(path)
    assert effective_request(loaded, "matmul(4096, 4096, 4096)") == (
        "matmul(4096, 4096, 4096, block_M=128, block_N=128, block_K=32, num_stages=3)")
    assert effective_request(loaded, "matmul(4096, 4096, 4096, block_K=64, num_stages=4)") == (
        "matmul(4096, 4096, 4096, block_K=64, num_stages=4, block_M=128, block_N=128)")
    # the second config needs 128 KiB of shared memory: too much for sm_86/sm_89 (CUDA only)
    req = "matmul(4096, 4096, 4096, block_M=128, block_N=128, block_K=64, num_stages=4)"
    code, text = tilec("build", str(path), "--instantiate", req, "--target", "cuda")
    assert code == 1 and sorted(set(codes(text))) == [(35, "TL101")], text
    assert "[sm_86]" in text and "[sm_89]" in text and "[sm_80]" not in text, text
    code, text = tilec("build", str(path), "--instantiate", req)
    assert code == 0, text


VALID = sorted(EXAMPLES.glob("*.py"))


@pytest.mark.parametrize("path", VALID, ids=[p.name for p in VALID])
def test_valid_examples_are_not_refused(path: Path):
    """Every kernel site of examples/ at each of its own instantiations passes the CPU and CUDA checks."""
    from analyzer.engine import analyze_source
    from compiler.verify import check

    report = analyze_source(path.read_text(), str(path))
    loaded = load(path)
    requests = set()
    for k in report.kernels:
        facts = k.to_json() if hasattr(k, "to_json") else k
        requests.add(f"{facts['site']}(" + ", ".join(f"{a}={v!r}" for a, v in facts["instantiation"].items()) + ")")
    assert requests
    for req in sorted(requests):
        for target in ("cpu", "cuda"):
            check(loaded, req, target)
