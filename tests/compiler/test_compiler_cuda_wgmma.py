"""Warpgroup MMA (wgmma, sm_90a) for T.gemm (compiler/passes/cuda_wgmma.py): when it is chosen, the
accumulator layout, the panelled swizzle of k x n B tiles, the descriptors in the generated source, and
nvcc builds. The GPU results are benchmarks/gpu_check.py's block_K=64 and matmul_nt cases built for sm_90a
(benchmarks/results/gpu_check.md)."""

from __future__ import annotations

import itertools

import pytest

pytest.importorskip("tvm")

from tvm import tirx  # noqa: E402

from compiler.cuda_codegen import build_artifact, generate_kernel  # noqa: E402
from compiler.cuda_toolchain import find_nvcc  # noqa: E402
from compiler.loader import instantiate, load  # noqa: E402
from compiler.passes.cuda_wgmma import WgmmaLayout, panel_offset, prelude_for  # noqa: E402
from conftest import EXAMPLES  # noqa: E402
from int_expr import eval_int  # noqa: E402

needs_nvcc = pytest.mark.skipif(find_nvcc() is None, reason="nvcc is not installed")
WIDE = "matmul(M=1024, N=1024, K=1024, block_M=128, block_N=256, block_K=64, num_stages=3, threads=256)"


def gemm(call: str):
    return instantiate(load(EXAMPLES / "gemm_pipelined.py"), call)


def kernel_part(src: str) -> str:
    return src[src.index('extern "C" __global__'):]


def evaluate(expr, **values) -> int:
    return eval_int(expr, values)


def test_the_accumulator_layout_covers_the_tile_once_per_warpgroup_split():
    lay = WgmmaLayout(128, 256, 2)
    assert (lay.mt, lay.nt, lay.size) == (2, 16, 128)
    tx, r = tirx.Var("tx", "int32"), tirx.Var("r", "int32")
    row, col = lay.coords(tx, r)
    seen = set()
    for t in range(256):
        for reg in range(lay.size):
            seen.add((evaluate(row, tx=t, r=reg), evaluate(col, tx=t, r=reg)))
    assert seen == set(itertools.product(range(128), range(256)))
    # warp 1 of warpgroup 1, lane 5, register 0: row 16 + 5 // 4, column 128 + 2 * (5 % 4)
    assert (evaluate(row, tx=128 + 32 + 5, r=0), evaluate(col, tx=128 + 32 + 5, r=0)) == (17, 130)
    # register 64 starts the second 64-row slab
    assert evaluate(row, tx=0, r=64) == 64


def test_panel_offsets_are_a_permutation_with_swizzled_chunks():
    k_rows, elems = 64, 64
    row, col = tirx.Var("row", "int32"), tirx.Var("col", "int32")
    off = panel_offset(row, col, k_rows, elems)
    offsets = {}
    for r in range(k_rows):
        for c in range(256):
            offsets[(r, c)] = evaluate(off, row=r, col=c)
    assert sorted(offsets.values()) == list(range(k_rows * 256))
    # column panel 2, row 3, chunk 1 (columns 8..15) lands in chunk 1 ^ 3 = 2 of row 3 of panel 2
    assert offsets[(3, 128 + 9)] == 2 * k_rows * elems + 3 * elems + 2 * 8 + 1
    # 8 consecutive columns stay one 16-byte chunk (a cp.async unit)
    assert [offsets[(5, 64 + j)] for j in range(8)] == list(range(offsets[(5, 64)], offsets[(5, 64)] + 8))


def test_sm90a_block_k_64_gemm_uses_wgmma_with_panelled_b():
    b = generate_kernel(gemm(WIDE), "sm_90a")
    src = kernel_part(b.source)
    assert b.dynamic_smem == 3 * (128 * 64 + 64 * 256) * 2  # the same as TileLang's arena
    assert "extern __shared__ __align__(1024) uchar" in src
    assert "tl_wgmma_m64n128k16_f16_mn(" in src and "tl_mma_f16_f32" not in src and "ldmatrix" not in src
    # B descriptors: panel stride 64 rows x 128 B, 8-row groups 1024 B apart; a k16 step is 16 rows
    assert "tl_wgmma_desc_mn(" in src and ", 8192, 1024);" in src and "(uint64_t)(kk * 128)" in src
    # A descriptors: K-major 128-byte rows, a k16 step is 32 bytes
    assert "tl_wgmma_desc((&" in src and ", 16, 1024);" in src and "(uint64_t)(kk * 2)" in src
    for helper in ("tl_wgmma_arrive();", "tl_fence_proxy_async();", "tl_wgmma_commit();", "tl_wgmma_wait0();"):
        assert helper in src
    assert "wgmma.mma_async.sync.aligned.m64n128k16.f32.f16.f16" in b.source


def test_other_archs_and_configs_keep_mma_sync():
    assert "tl_wgmma" not in generate_kernel(gemm(WIDE), "sm_90").source
    small = "matmul(M=256, N=256, K=256, block_M=128, block_N=128, block_K=32, num_stages=3)"
    src = generate_kernel(gemm(small), "sm_90a").source  # rows of 64 bytes: not the 128-byte swizzle
    assert "tl_wgmma" not in src and "tl_mma_f16_f32" in src
    # FlashAttention reduces its first accumulator (row max): it stays on mma.sync
    fa = instantiate(load(EXAMPLES / "flash_attention.py"), "flash_attention_fwd(1, 2, 256, 64, block_M=64, "
                     "block_N=64)")
    assert "tl_wgmma" not in generate_kernel(fa, "sm_90a").source


def test_k_major_b_uses_the_k_major_descriptor():
    kd = instantiate(load(EXAMPLES / "gemm_autotune.py"), "matmul_nt(1024, 1024, 1024)")
    src = kernel_part(generate_kernel(kd, "sm_90a").source)
    assert "tl_wgmma_desc_mn" not in src and src.count("tl_wgmma_desc(") == 2
    assert "_bf16_k(" in src


def test_prelude_has_one_helper_per_shape():
    text = prelude_for("tl_wgmma_m64n128k16_f16_mn(a) tl_wgmma_m64n128k16_f16_mn(b) tl_wgmma_m64n64k16_bf16_k(c)")
    assert text.count("__device__ __forceinline__ void tl_wgmma_m64n") == 2
    assert "m64n64k16.f32.bf16.bf16 {%0, %1," in text and "%31}, %32, %33, p, 1, 1, 0, 0;" in text
    assert "m64n128k16.f32.f16.f16" in text and "p, 1, 1, 0, 1;" in text


@needs_nvcc
def test_wgmma_gemm_builds_for_sm90a_without_spills(tmp_path):
    res = build_artifact(gemm(WIDE), "sm_90a", tmp_path).resources
    assert res.spill_store_bytes == 0 and res.spill_load_bytes == 0
    assert 128 <= res.registers <= 255  # 128 fp32 accumulators per thread
