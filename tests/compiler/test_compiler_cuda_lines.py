"""nvcc/ptxas errors at the kernel's source lines (compiler/source_lines.py).

The tracer puts `__tl_line(file, line, col)` markers before the kernel's statements; the CUDA back end
lowers the marked function, takes the marker lines out of the generated source and keeps a line map,
which the toolchain uses to report nvcc's errors at the kernel's lines. The markers never reach the CPU
build, `KernelDef.func`, or the CUDA source that is written or compiled."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("tvm")

import tvm_ffi  # noqa: E402
from tvm import tirx  # noqa: E402

from compiler import source_lines  # noqa: E402
from compiler.cuda_codegen import build_artifact, generate_kernel  # noqa: E402
from compiler.cuda_toolchain import CudaCompileError, compile_cubin, find_nvcc  # noqa: E402
from compiler.errors import CompileError  # noqa: E402
from compiler.frontend.tracer import Tracer  # noqa: E402
from compiler.ir import walk  # noqa: E402
from compiler.loader import instantiate, load  # noqa: E402
from compiler.pipeline import lower  # noqa: E402
from compiler.runtime import to_module  # noqa: E402
from conftest import EXAMPLES, run_tilec  # noqa: E402
from example_cases import CPU_CASES  # noqa: E402

needs_nvcc = pytest.mark.skipif(find_nvcc() is None, reason="nvcc is not installed")

# One case per example (the first of each).
ONE_PER_EXAMPLE = list({c.example: c for c in reversed(CPU_CASES)}.values())

# `T.sinh` of a float16 value: TVM's CUDA code generator writes `hsinh`, which CUDA does not declare, so
# nvcc rejects the statement (if the back end learns to lower it, pick another construct nvcc refuses).
KERNELS = '''import tilelang.language as T


@T.macro
def sinh_in_place(B, k):
    B[k] = T.sinh(B[k])  # MACRO-SINH


def sinh_kernel(N=64, use_macro=False):
    @T.prim_func
    def main(A: T.Tensor((N,), "float16"), B: T.Tensor((N,), "float16")):
        with T.Kernel(1, threads=32) as bx:  # KERNEL
            for i in T.Parallel(N):
                B[i] = A[i]
            for k in T.serial(4):
                B[k] = A[k] + A[k + 1]
                if use_macro:
                    sinh_in_place(B, k)
                else:
                    B[k + 4] = T.sinh(A[k])  # SINH
    return main


def big_bool(N=64):
    @T.prim_func
    def main(A: T.Tensor((N,), "float32"), B: T.Tensor((N,), "float32")):
        with T.Kernel(1, threads=128) as bx:  # BOOL-KERNEL
            mask = T.alloc_shared((256, 256), "bool")
            for i, j in T.Parallel(256, 256):
                mask[i, j] = A[0] > 0
            for i in T.Parallel(N):
                B[i] = T.if_then_else(mask[i, i], A[i], 0)
    return main


def copies_only(M=64, N=64, bm=32, bk=16):
    @T.prim_func
    def main(A: T.Tensor((M, N), "float16"), C: T.Tensor((M, N), "float16")):
        with T.Kernel(1, threads=128) as bx:
            A_shared = T.alloc_shared((bm, bk), "float16")
            for ko in T.Pipelined(N // bk, num_stages=2):
                T.copy(A[0, ko * bk], A_shared)
            C[0, 0] = A[0, 0]
    return main
'''


@pytest.fixture
def kernels(tmp_path: Path) -> Path:
    path = tmp_path / "kernels.py"
    path.write_text(KERNELS, encoding="utf-8")
    return path


def where(path: Path, tag: str, code: str) -> tuple[int, int]:
    """(1-based line, 0-based column) of `code` on the line tagged `# tag`."""
    for n, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if text.endswith(f"# {tag}"):
            return n, text.index(code)
    raise AssertionError(tag)


def markers(stmt) -> list[tuple[int, int, int]]:
    return [tuple(int(a.value) for a in n.value.args[1:]) for n in walk(stmt)
            if isinstance(n, tirx.Evaluate) and source_lines.is_marker(n)]


# ------------------------------------------------------------------ the map, without nvcc


def test_extract_strips_markers_and_scopes_the_map():
    lined = source_lines.LinedFunc(None, ["k.py"], ("k.py", 3, 4))
    source = "\n".join([
        "__device__ void helper() { }",      # 1: not mapped
        'extern "C" __global__ void k() {',  # 2: before the first marker: not mapped
        "  __tl_line(0, 5, 8);",
        "  int x = 0;",                      # 3 -> 5
        "  __tl_line(0, 6, 8);",
        "  for (int i = 0; i < 4; ++i) {",   # 4 -> 6
        "    pre();",                        # 5 -> 6 (the loop's line until a marker in its body)
        "    __tl_line(0, 7, 12);",
        "    work();",                       # 6 -> 7
        "  }",                               # 7 -> 6 (the body's scope is closed)
        "  after();",                        # 8 -> 6 (placed after the loop by a pass)
        "  __tl_line(0, 9, 8);",
        "  if (x) {",                        # 9 -> 9
        "    __tl_line(0, 10, 12);",
        "    a();",                          # 10 -> 10
        "  } else {",                        # 11 -> 9
        "    b();",                          # 12 -> 9
        "  }",                               # 13 -> 9
        "}",                                 # 14: the kernel's end: not mapped
    ]) + "\n"
    clean, line_map = source_lines.extract(source, lined)
    assert "__tl_line" not in clean and len(clean.splitlines()) == 14
    assert {k: v[1] for k, v in line_map.items()} == {3: 5, 4: 6, 5: 6, 6: 7, 7: 6, 8: 6, 9: 9, 10: 10, 11: 9,
                                                     12: 9, 13: 9}
    assert line_map[6] == ("k.py", 7, 12)
    assert source_lines.extract("int x;\n", None) == ("int x;\n", {})


@pytest.mark.parametrize("case", ONE_PER_EXAMPLE, ids=lambda c: c.example)
def test_func_is_the_trace_without_markers(case, monkeypatch):
    """`KernelDef.func` is exactly what a trace without markers gives; the marked function is kept apart."""
    kdef = instantiate(load(EXAMPLES / f"{case.example}.py"), case.call)
    monkeypatch.setattr(Tracer, "LINE_MARKERS", False)
    plain = instantiate(load(EXAMPLES / f"{case.example}.py"), case.call)
    assert plain.lines is None
    assert kdef.script() == plain.script()
    assert tvm_ffi.structural_equal(kdef.func, plain.func, map_free_vars=True)
    assert not markers(kdef.func.body)
    found = markers(kdef.lines.func.body)
    assert found and len(found) == kdef.lines.markers
    assert kdef.lines.files == [str(EXAMPLES / f"{case.example}.py")]
    assert kdef.lines.kernel[0] == kdef.lines.files[0]


@pytest.mark.parametrize("case", ONE_PER_EXAMPLE, ids=lambda c: c.example)
def test_cuda_source_identical_with_and_without_markers(case):
    kdef = instantiate(load(EXAMPLES / f"{case.example}.py"), case.call)
    marked, plain = generate_kernel(kdef, "sm_90"), generate_kernel(kdef, "sm_90", lines=False)
    assert marked.source == plain.source and marked.dynamic_smem == plain.dynamic_smem
    assert "__tl_line" not in marked.source
    assert marked.line_map and not plain.line_map
    assert max(marked.line_map) <= len(marked.source.splitlines())


def test_gemm_lines_map_to_the_gemm_statement():
    path = EXAMPLES / "gemm_pipelined.py"
    text = path.read_text(encoding="utf-8").splitlines()

    def line_of(code: str) -> int:
        (n,) = [k for k, t in enumerate(text, 1) if t.strip().startswith(code)]
        return n

    kdef = instantiate(load(path), "matmul(M=100, N=36, K=72, block_M=32, block_N=32, block_K=16)")
    build = generate_kernel(kdef, "sm_90")
    src = build.source.splitlines()

    def mapped(code: str) -> set[int]:
        rows = [k for k, t in enumerate(src, 1) if code in t and "__device__" not in t]
        assert rows, code
        return {build.line_map[k][1] for k in rows}

    gemm = line_of("T.gemm(")
    assert mapped("tl_mma_f16_f32(") == {gemm}
    assert mapped("tl_ldmatrix_x4(") == {gemm}
    assert mapped("tl_store_x2(") == {line_of("T.copy(acc")}          # the epilogue copy
    assert mapped("tl_cp_async_wait(0)") == {line_of("for ko in T.Pipelined")}  # after the loop
    assert build.line_map[next(k for k, t in enumerate(src, 1) if "tl_mma_f16_f32((" in t)] == (
        str(path), gemm, text[gemm - 1].index("T.gemm("))
    assert build.kernel_location == (str(path), line_of("with T.Kernel"), text[line_of("with T.Kernel") - 1].index("with"))


def test_pipelined_body_of_copies_keeps_no_markers(kernels):
    """A marker would count as work in the pipeline pass (passes/cuda_copies.py) and pipeline the loop."""
    kdef = instantiate(load(kernels), "copies_only()")
    (loop,) = [n for n in walk(kdef.lines.func.body) if isinstance(n, tirx.For) and "tl.loop" in n.annotations]
    assert not markers(loop.body) and markers(kdef.lines.func.body)
    assert generate_kernel(kdef, "sm_90").source == generate_kernel(kdef, "sm_90", lines=False).source


def test_no_markers_on_the_cpu_path():
    kdef = instantiate(load(EXAMPLES / "softmax.py"), "softmax(30, 48, 4)")
    assert markers(kdef.lines.func.body)
    assert "__tl_line" not in lower(to_module(kdef)).script()
    for emit in ("tir", "lowered", "llvm"):
        code, text = run_tilec("build", str(EXAMPLES / "softmax.py"), "--instantiate", "softmax(30, 48, 4)",
                               "--emit", emit)
        assert code == 0 and "__tl_line" not in text and "tl_line" not in text, emit


def test_no_markers_in_the_emitted_cuda(kernels):
    for emit in ("cuda", "lowered", "tir"):
        code, text = run_tilec("build", str(kernels), "--instantiate", "sinh_kernel()", "--target", "cuda",
                               "--emit", emit)
        assert code == 0 and "__tl_line" not in text, emit
        assert emit != "cuda" or "hsinh(" in text  # the statement the markers surrounded is there


def test_errors_without_a_line_fall_back_to_the_kernel_line(tmp_path):
    """A ptxas error has no .cu line: it is reported at the T.Kernel line (a fake nvcc prints the log)."""
    log = tmp_path / "log.txt"
    log.write_text("ptxas error   : Entry function 'main_kernel' uses too much shared data (0x10000 bytes, "
                   "0xc000 max)\n")
    nvcc = tmp_path / "nvcc"
    nvcc.write_text(f"#!/bin/sh\ncat {log}\nexit 1\n")
    nvcc.chmod(0o755)
    with pytest.raises(CudaCompileError) as info:
        compile_cubin("int x;\n", "sm_90", nvcc=str(nvcc), line_map={1: ("k.py", 9, 8)},
                      kernel_location=("k.py", 4, 8))
    err = info.value
    assert err.location is None and err.kernel_location == ("k.py", 4, 8)
    located = err.to_compile_error()
    assert isinstance(located, CompileError)
    assert located.render() == ("k.py:4:9: TL951 CUDA compile error: Entry function 'main_kernel' uses too much "
                                "shared data (0x10000 bytes, 0xc000 max) (from ptxas, no source line)")


# ------------------------------------------------------------------ nvcc


@needs_nvcc
def test_nvcc_error_at_the_kernel_statement(kernels, tmp_path):
    line, col = where(kernels, "SINH", "B[k + 4]")
    kdef = instantiate(load(kernels), "sinh_kernel()")
    with pytest.raises(CudaCompileError) as info:
        build_artifact(kdef, "sm_90", workdir=tmp_path / "w")
    err = info.value
    assert err.location == (str(kernels), line, col)
    assert f"{kernels}:{line}:{col + 1}: error: identifier \"hsinh\" is undefined (generated CUDA line" in str(err)
    rendered = err.to_compile_error().render()
    assert rendered.startswith(f"{kernels}:{line}:{col + 1}: TL951 CUDA compile error: identifier \"hsinh\" is "
                               "undefined (generated main.cu line ")
    assert rendered.endswith(": `B_ptr[(k + 4)] = hsinh(A_ptr[k]);`)")


@needs_nvcc
def test_tilec_build_reports_the_kernel_line(kernels, tmp_path):
    line, col = where(kernels, "SINH", "B[k + 4]")
    for extra in (["-o", str(tmp_path / "out")], ["--emit", "ptx"]):
        code, text = run_tilec("build", str(kernels), "--instantiate", "sinh_kernel()", "--target", "cuda", *extra)
        assert code == 1, text
        (first,) = text.strip().splitlines()
        assert first.startswith(f"{kernels}:{line}:{col + 1}: TL951 CUDA compile error: identifier \"hsinh\" is "
                                "undefined (generated main.cu line "), first
    # in a macro: the macro's own line
    line, col = where(kernels, "MACRO-SINH", "B[k] = T.sinh")
    code, text = run_tilec("build", str(kernels), "--instantiate", "sinh_kernel(use_macro=True)", "--target",
                           "cuda", "-o", str(tmp_path / "out2"))
    assert code == 1 and text.startswith(f"{kernels}:{line}:{col + 1}: TL951 CUDA compile error: "), text


@needs_nvcc
def test_tilec_ptxas_error_at_the_kernel_line(kernels, tmp_path):
    """64 KiB of static shared memory (a bool tile): ptxas refuses it with no source line. The analyzer's
    TL102 refuses it first, so the check is skipped here."""
    line, col = where(kernels, "BOOL-KERNEL", "with T.Kernel")
    code, text = run_tilec("build", str(kernels), "--instantiate", "big_bool()", "--target", "cuda", "-o",
                           str(tmp_path / "out"), "--no-verify")
    assert code == 1
    assert text.strip() == (f"{kernels}:{line}:{col + 1}: TL951 CUDA compile error: Entry function 'main_kernel' "
                            "uses too much shared data (0x10000 bytes, 0xc000 max) (from ptxas, no source line)")
