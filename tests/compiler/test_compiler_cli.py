"""`tilec build --emit tir|lowered|llvm` and `tilec run --check` end to end."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("tvm")

from conftest import run_tilec as tilec  # noqa: E402

KERNEL = '''
import tilelang
import tilelang.language as T


@tilelang.jit(out_idx=[-1])
def vmax(M, N, bM, bN):
    @T.prim_func
    def main(A: T.Tensor((M, N), "float32"), B: T.Tensor((M, N), "float32"), C: T.Tensor((M, N), "float32")):
        with T.Kernel(T.ceildiv(N, bN), T.ceildiv(M, bM)) as (bx, by):
            for i, j in T.Parallel(bM, bN):
                C[by * bM + i, bx * bN + j] = T.max(A[by * bM + i, bx * bN + j], B[by * bM + i, bx * bN + j])
    return main


def ref_program(A, B):
    return {op}(A, B)
'''




@pytest.fixture
def kernel_file(tmp_path: Path):
    def make(op: str) -> str:
        path = tmp_path / f"k_{op.replace('.', '_')}.py"
        path.write_text("import numpy as np\n" + KERNEL.replace("{op}", op))
        return str(path)

    return make


@pytest.mark.parametrize("emit,marker", [("tir", '"tl.loop": "Parallel"'), ("lowered", "T.parallel(6)"),
                                         ("llvm", "define ")])
def test_build_emits(kernel_file, emit, marker):
    code, text = tilec("build", kernel_file("np.maximum"), "--instantiate", "vmax(50, 70, 32, 32)", "--emit", emit)
    assert code == 0 and marker in text, text[:2000]


def test_build_writes_to_dir(kernel_file, tmp_path):
    code, text = tilec("build", kernel_file("np.maximum"), "--instantiate", "vmax(8, 8, 4, 4)", "-o", str(tmp_path / "o"))
    assert code == 0 and (tmp_path / "o" / "main.tir.py").exists()


def test_run_check_passes_and_fails(kernel_file):
    code, text = tilec("run", kernel_file("np.maximum"), "--instantiate", "vmax(50, 70, 32, 32)", "--check")
    assert code == 0 and "max abs error 0 " in text, text
    code, text = tilec("run", kernel_file("np.minimum"), "--instantiate", "vmax(50, 70, 32, 32)", "--check")
    assert code == 1 and "MISMATCH" in text, text


def test_cuda_target_emits_cuda_and_refuses_llvm(kernel_file):
    code, text = tilec("build", kernel_file("np.maximum"), "--instantiate", "vmax(50, 70, 32, 32)",
                       "--target", "cuda", "--emit", "cuda")
    assert code == 0 and "extern \"C\" __global__" in text and "max(" in text
    code, text = tilec("build", kernel_file("np.maximum"), "--instantiate", "vmax(50, 70, 32, 32)",
                       "--target", "cuda", "--emit", "llvm")
    assert code == 2 and "--emit llvm is the CPU target's" in text
