"""The example kernels' check cases: instantiation, inputs, NumPy reference, tolerance.

One table for every executor: the CPU tests (tests/compiler/test_compiler_examples.py) and the GPU check
(benchmarks/gpu_check.py, which runs on a machine without TVM) read it. Only NumPy (and ml_dtypes for
bfloat16) is needed here.

Tolerances: float32 results rtol=atol=1e-5; float16 outputs rtol=atol=1e-2 (one fp16 ulp at 1.0 is 1e-3,
and inputs/outputs are rounded to fp16), GEMM-like fp16 outputs atol=5e-2 (sums of K products);
bfloat16 outputs rtol=3e-2 (8 significand bits); int8 GEMM is exact. Every kernel has a case at sizes that
divide by its tiles and one at tails that do not; `GPU_SIZES` adds sizes a GPU runs in milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

F32 = dict(rtol=1e-5, atol=1e-5)
F16 = dict(rtol=1e-2, atol=1e-2)
F16_SUM = dict(rtol=1e-2, atol=5e-2)
BF16 = dict(rtol=3e-2, atol=1e-1)
EXACT = dict(rtol=0, atol=0)


def rand(rng: np.random.Generator, *shape: int, dtype: str = "float32") -> np.ndarray:
    x = rng.standard_normal(shape).astype(np.float32)
    if dtype == "bfloat16":
        import ml_dtypes

        return x.astype(ml_dtypes.bfloat16)
    return x.astype(dtype)


def f32(x: Any) -> np.ndarray:
    return np.asarray(x, dtype=np.float32)


def attention_ref(q: Any, k: Any, v: Any) -> np.ndarray:
    q, k, v = f32(q), f32(k), f32(v)
    s = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])
    s = np.exp(s - s.max(-1, keepdims=True))
    return (s / s.sum(-1, keepdims=True)) @ v


@dataclass
class Case:
    """`make(rng)` returns every kernel argument in order (outputs zero-filled); `ref(args)` the expected
    values of the arguments listed in `outputs` (positions), compared with `tol`."""

    example: str
    call: str
    make: Callable[[np.random.Generator], list[np.ndarray]]
    outputs: list[int]
    ref: Callable[[list[np.ndarray]], list[np.ndarray]]
    tol: dict[str, float] = field(default_factory=lambda: dict(F32))

    @property
    def name(self) -> str:
        return f"{self.example}:{self.call}"


def elementwise_add(M: int, N: int, bM: int, bN: int) -> Case:
    return Case("elementwise_add", f"elementwise_add({M}, {N}, {bM}, {bN})",
                lambda r: [rand(r, M, N), rand(r, M, N), np.zeros((M, N), np.float32)], [2],
                lambda a: [a[0] + a[1]], F32)


def bias_gelu(M: int, N: int, bM: int, bN: int) -> Case:
    def ref(a: list[np.ndarray]) -> list[np.ndarray]:
        v = f32(a[0]) + f32(a[1])
        return [0.5 * v * (1.0 + np.tanh(0.7978845608028654 * (v + 0.044715 * v ** 3)))]

    return Case("bias_gelu", f"bias_gelu(M={M}, N={N}, block_M={bM}, block_N={bN})",
                lambda r: [rand(r, M, N, dtype="float16"), rand(r, N, dtype="float16"),
                           np.zeros((M, N), np.float16)], [2], ref, F16)


def column_sum(M: int, N: int, bM: int, bN: int) -> Case:
    return Case("column_sum", f"column_sum({M}, {N}, {bM}, {bN})",
                lambda r: [rand(r, M, N, dtype="float16"), np.zeros(N, np.float32)], [1],
                lambda a: [f32(a[0]).sum(0)], dict(rtol=1e-4, atol=1e-4 * max(1, M // 128)))


def cumsum(M: int, N: int, bM: int, bN: int) -> Case:
    return Case("cumsum", f"row_cumsum(M={M}, N={N}, block_M={bM}, block_N={bN})",
                lambda r: [rand(r, M, N), np.zeros((M, N), np.float32)], [1],
                lambda a: [np.cumsum(a[0], axis=1)], dict(rtol=1e-4, atol=1e-4 * max(1, N // 64)))


def dequant_gemm(M: int, N: int, K: int) -> Case:
    def make(r: np.random.Generator) -> list[np.ndarray]:
        return [rand(r, M, K, dtype="float16"), r.integers(-8, 8, size=(N, K)).astype(np.int8),
                (r.random(N) * 0.1).astype(np.float16), np.zeros((M, N), np.float16)]

    return Case("dequant_gemm", f"dequant_matmul({M}, {N}, {K}, 32, 32, 32)", make, [3],
                lambda a: [(f32(a[0]) @ f32(a[1]).T) * f32(a[2])], dict(rtol=1e-2, atol=5e-2 * max(1, K // 64)))


def flash_attention(B: int, H: int, S: int, D: int, bM: int, bN: int) -> Case:
    def ref(a: list[np.ndarray]) -> list[np.ndarray]:
        # The kernel does not mask a tail key block: its out-of-bounds keys and values read as 0
        # (TileLang's safe loads), so they enter the softmax with score 0. The reference pads K and V so.
        pad = -S % bN
        kp = np.pad(f32(a[1]), ((0, 0), (0, 0), (0, pad), (0, 0)))
        vp = np.pad(f32(a[2]), ((0, 0), (0, 0), (0, pad), (0, 0)))
        return [attention_ref(a[0], kp, vp)]

    return Case("flash_attention", f"flash_attention_fwd({B}, {H}, {S}, {D}, block_M={bM}, block_N={bN})",
                lambda r: [rand(r, B, H, S, D, dtype="float16") for _ in range(3)]
                + [np.zeros((B, H, S, D), np.float16)], [3], ref, F16)


def gemm_autotune(M: int, N: int, K: int) -> Case:
    def make(r: np.random.Generator) -> list[np.ndarray]:
        a, b = rand(r, M, K, dtype="bfloat16"), rand(r, N, K, dtype="bfloat16")
        return [a, b, np.zeros((M, N), a.dtype)]

    return Case("gemm_autotune", f"matmul_nt({M}, {N}, {K})", make, [2],
                lambda a: [f32(a[0]) @ f32(a[1]).T], dict(rtol=3e-2, atol=1e-1 * max(1, K // 128)))


def gemm_epilogue(M: int, N: int, K: int) -> Case:
    return Case("gemm_epilogue", f"matmul_staged({M}, {N}, {K}, 32, 32, 32)",
                lambda r: [rand(r, M, K, dtype="float16"), rand(r, K, N, dtype="float16"),
                           np.zeros((M, N), np.float16)], [2],
                lambda a: [f32(a[0]) @ f32(a[1])], dict(rtol=1e-2, atol=5e-2 * max(1, K // 64)))


def gemm_int8(M: int, N: int, K: int) -> Case:
    return Case("gemm_int8", f"matmul_int8(M={M}, N={N}, K={K}, block_M=32, block_N=32, block_K=32)",
                lambda r: [r.integers(-128, 128, size=(M, K)).astype(np.int8),
                           r.integers(-128, 128, size=(N, K)).astype(np.int8), np.zeros((M, N), np.int32)], [2],
                lambda a: [a[0].astype(np.int32) @ a[1].astype(np.int32).T], EXACT)


def gemm_pipelined(M: int, N: int, K: int, bM: int = 32, bN: int = 32, bK: int = 16, threads: int = 128) -> Case:
    more = f", threads={threads}" if threads != 128 else ""
    return Case("gemm_pipelined", f"matmul(M={M}, N={N}, K={K}, block_M={bM}, block_N={bN}, block_K={bK}{more})",
                lambda r: [rand(r, M, K, dtype="float16"), rand(r, K, N, dtype="float16"),
                           np.zeros((M, N), np.float16)], [2],
                lambda a: [f32(a[0]) @ f32(a[1])], dict(rtol=1e-2, atol=5e-2 * max(1, K // 64)))


def gemm_ws_barrier(M: int, N: int, K: int, bM: int, bN: int, bK: int, stages: int = 2) -> Case:
    return Case("gemm_ws_barrier", f"matmul_ws(M={M}, N={N}, K={K}, block_M={bM}, block_N={bN}, block_K={bK}, "
                                   f"num_stages={stages})",
                lambda r: [rand(r, M, K, dtype="float16"), rand(r, K, N, dtype="float16"),
                           np.array([0.5], np.float32), np.zeros((M, N), np.float16)], [3],
                lambda a: [f32(a[2][0]) * (f32(a[0]) @ f32(a[1]))], dict(rtol=1e-2, atol=5e-2 * max(1, K // 64)))


def gemm_splitk(M: int, N: int, K: int, split: int) -> Case:
    return Case("gemm_splitk", f"matmul_splitk({M}, {N}, {K}, 32, 32, 16, {split})",
                lambda r: [rand(r, M, K, dtype="float16"), rand(r, K, N, dtype="float16"),
                           np.zeros((M, N), np.float32)], [2],
                lambda a: [f32(a[0]) @ f32(a[1])], dict(rtol=1e-4, atol=1e-3 * max(1, K // 128)))


def gemv(N: int, K: int) -> Case:
    return Case("gemv", f"gemv(N={N}, K={K}, block_N=16, block_K=32)",
                lambda r: [rand(r, N, K, dtype="float16"), rand(r, K, dtype="float16"), np.zeros(N, np.float16)],
                [2], lambda a: [f32(a[0]) @ f32(a[1])], dict(rtol=1e-2, atol=5e-2 * max(1, K // 128)))


def rms_norm(M: int, N: int) -> Case:
    def ref(a: list[np.ndarray]) -> list[np.ndarray]:
        xf = f32(a[0])
        return [xf / np.sqrt((xf * xf).mean(-1, keepdims=True) + 1e-6) * f32(a[1])]

    return Case("rms_norm", f"rms_norm(M={M}, N={N}, block_M=8)",
                lambda r: [rand(r, M, N, dtype="float16"), rand(r, N, dtype="float16"),
                           np.zeros((M, N), np.float16)], [2], ref, F16)


def softmax(M: int, N: int, bM: int) -> Case:
    def ref(a: list[np.ndarray]) -> list[np.ndarray]:
        xf = f32(a[0])
        e = np.exp(xf - xf.max(-1, keepdims=True))
        return [e / e.sum(-1, keepdims=True)]

    return Case("softmax", f"softmax({M}, {N}, {bM})",
                lambda r: [rand(r, M, N, dtype="float16"), np.zeros((M, N), np.float16)], [1], ref,
                dict(rtol=1e-2, atol=1e-3))


# The CPU sizes: one case that divides by the tiles and one with tails, per kernel.
CPU_CASES: list[Case] = [
    elementwise_add(64, 64, 32, 32), elementwise_add(100, 70, 32, 32), elementwise_add(33, 129, 16, 64),
    bias_gelu(64, 128, 32, 64), bias_gelu(50, 100, 32, 64),
    column_sum(128, 64, 32, 32), column_sum(100, 50, 32, 32),
    cumsum(32, 64, 16, 32), cumsum(30, 70, 16, 32),
    dequant_gemm(64, 64, 64), dequant_gemm(70, 50, 40),
    flash_attention(1, 2, 64, 32, 32, 32), flash_attention(1, 2, 80, 32, 32, 32),
    gemm_autotune(128, 128, 128), gemm_autotune(130, 70, 100),
    gemm_epilogue(64, 64, 64), gemm_epilogue(90, 40, 70),
    gemm_int8(64, 64, 64), gemm_int8(50, 70, 90),
    gemm_pipelined(64, 64, 64), gemm_pipelined(100, 36, 72),
    gemm_splitk(64, 64, 128, 2), gemm_splitk(50, 40, 96, 3),
    gemm_ws_barrier(128, 128, 64, 64, 64, 32), gemm_ws_barrier(130, 70, 100, 64, 64, 32, 3),
    gemv(64, 128), gemv(50, 100),
    rms_norm(32, 64), rms_norm(30, 48),
    softmax(32, 64, 4), softmax(30, 48, 4),
]

# Extra sizes for a GPU: larger, and again with tails.
GPU_SIZES: list[Case] = [
    elementwise_add(4096, 4096, 32, 256), elementwise_add(1000, 3000, 32, 256),
    bias_gelu(2048, 4096, 32, 64), bias_gelu(1000, 1000, 32, 64),
    column_sum(4096, 1024, 32, 32), column_sum(1000, 333, 32, 32), column_sum(2048, 1024, 32, 128),
    cumsum(1024, 1024, 16, 32), cumsum(1000, 500, 16, 32),
    dequant_gemm(1024, 1024, 1024), dequant_gemm(500, 700, 300),
    flash_attention(2, 8, 1024, 64, 64, 64), flash_attention(1, 4, 1000, 64, 64, 64),
    gemm_autotune(1024, 1024, 1024), gemm_autotune(1000, 700, 500),
    gemm_epilogue(1024, 1024, 1024), gemm_epilogue(900, 400, 700),
    gemm_int8(1024, 1024, 1024), gemm_int8(500, 700, 900),
    gemm_pipelined(2048, 2048, 2048, 128, 128, 32), gemm_pipelined(1000, 360, 720, 128, 128, 32),
    # block_K = 64 (rows of 128 B): warpgroup MMA (wgmma) when built for sm_90a, mma.sync otherwise
    gemm_pipelined(2048, 2048, 2048, 128, 256, 64, threads=256), gemm_pipelined(1000, 520, 640, 128, 128, 64),
    gemm_splitk(1024, 1024, 1024, 4), gemm_splitk(500, 400, 960, 3),
    gemm_ws_barrier(2048, 2048, 2048, 128, 128, 64), gemm_ws_barrier(1000, 700, 520, 128, 128, 64, 3),
    gemv(4096, 4096), gemv(1000, 1000),
    rms_norm(4096, 1024), rms_norm(1000, 480),
    softmax(4096, 1024, 4), softmax(1000, 480, 4), softmax(1000, 480, 1),
]
