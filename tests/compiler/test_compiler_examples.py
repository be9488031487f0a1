"""Every kernel in examples/ (outside examples/buggy) runs on the CPU and matches NumPy.

Tolerances: float32 results rtol=atol=1e-5; float16 outputs rtol=atol=1e-2 (one
fp16 ulp at 1.0 is 1e-3, and inputs/outputs are rounded to fp16); bfloat16
outputs rtol=atol=3e-2 (8 significand bits); int8 GEMM is exact. Each kernel
runs at sizes that divide by the tiles and at tails that do not.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("tvm")

import ml_dtypes  # noqa: E402

from compiler.loader import instantiate, load  # noqa: E402
from compiler.runtime import build  # noqa: E402
from conftest import EXAMPLES  # noqa: E402

RNG = np.random.default_rng(0)
F16 = dict(rtol=1e-2, atol=1e-2)
F32 = dict(rtol=1e-5, atol=1e-5)
BF16 = dict(rtol=3e-2, atol=3e-2)


def rand(*shape, dtype="float32"):
    x = RNG.standard_normal(shape).astype(np.float32)
    if dtype == "bfloat16":
        return x.astype(ml_dtypes.bfloat16)
    return x.astype(dtype)


def f32(x):
    return np.asarray(x, dtype=np.float32)


def run(name: str, request: str):
    loaded = load(EXAMPLES / f"{name}.py")
    return build(instantiate(loaded, request))


@pytest.mark.parametrize("M,N,bM,bN", [(64, 64, 32, 32), (100, 70, 32, 32), (33, 129, 16, 64)])
def test_elementwise_add(M, N, bM, bN):
    k = run("elementwise_add", f"elementwise_add({M}, {N}, {bM}, {bN})")
    a, b, c = rand(M, N), rand(M, N), np.zeros((M, N), np.float32)
    k(a, b, c)
    np.testing.assert_allclose(c, a + b, **F32)


@pytest.mark.parametrize("M,N,bM,bN", [(64, 128, 32, 64), (50, 100, 32, 64)])
def test_bias_gelu(M, N, bM, bN):
    k = run("bias_gelu", f"bias_gelu(M={M}, N={N}, block_M={bM}, block_N={bN})")
    x, bias = rand(M, N, dtype="float16"), rand(N, dtype="float16")
    v = f32(x) + f32(bias)
    ref = 0.5 * v * (1.0 + np.tanh(0.7978845608028654 * (v + 0.044715 * v ** 3)))
    np.testing.assert_allclose(f32(k(x, bias)), ref, **F16)


@pytest.mark.parametrize("M,N,bM,bN", [(128, 64, 32, 32), (100, 50, 32, 32)])
def test_column_sum(M, N, bM, bN):
    k = run("column_sum", f"column_sum({M}, {N}, {bM}, {bN})")
    x, s = rand(M, N, dtype="float16"), np.zeros(N, np.float32)
    k(x, s)
    np.testing.assert_allclose(s, f32(x).sum(0), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("M,N,bM,bN", [(32, 64, 16, 32), (30, 70, 16, 32)])
def test_cumsum(M, N, bM, bN):
    k = run("cumsum", f"row_cumsum(M={M}, N={N}, block_M={bM}, block_N={bN})")
    x = rand(M, N)
    np.testing.assert_allclose(k(x), np.cumsum(x, axis=1), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("M,N,K", [(64, 64, 64), (70, 50, 40)])
def test_dequant_gemm(M, N, K):
    k = run("dequant_gemm", f"dequant_matmul({M}, {N}, {K}, 32, 32, 32)")
    a = rand(M, K, dtype="float16")
    w = RNG.integers(-8, 8, size=(N, K)).astype(np.int8)
    scale = (RNG.random(N) * 0.1).astype(np.float16)
    c = np.zeros((M, N), np.float16)
    k(a, w, scale, c)
    ref = (f32(a) @ f32(w).T) * f32(scale)
    np.testing.assert_allclose(f32(c), ref, rtol=1e-2, atol=5e-2)


def attention_ref(q, k, v):
    q, k, v = f32(q), f32(k), f32(v)
    s = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])
    s = np.exp(s - s.max(-1, keepdims=True))
    return (s / s.sum(-1, keepdims=True)) @ v


@pytest.mark.parametrize("S,bM,bN", [(64, 32, 32), (80, 32, 32)])
def test_flash_attention(S, bM, bN):
    k = run("flash_attention", f"flash_attention_fwd(1, 2, {S}, 32, block_M={bM}, block_N={bN})")
    q, kk, v = (rand(1, 2, S, 32, dtype="float16") for _ in range(3))
    out = k(q, kk, v)
    # The kernel does not mask a tail key block: its out-of-bounds keys and values read as 0 (TileLang's
    # safe loads), so they enter the softmax with score 0. The reference pads K and V the same way.
    pad = -S % bN
    kp = np.pad(f32(kk), ((0, 0), (0, 0), (0, pad), (0, 0)))
    vp = np.pad(f32(v), ((0, 0), (0, 0), (0, pad), (0, 0)))
    np.testing.assert_allclose(f32(out), attention_ref(q, kp, vp), **F16)


@pytest.mark.parametrize("M,N,K", [(128, 128, 128), (130, 70, 100)])
def test_gemm_autotune_bf16(M, N, K):
    k = run("gemm_autotune", f"matmul_nt({M}, {N}, {K})")
    a, b = rand(M, K, dtype="bfloat16"), rand(N, K, dtype="bfloat16")
    np.testing.assert_allclose(f32(k(a, b)), f32(a) @ f32(b).T, rtol=3e-2, atol=1e-1)


@pytest.mark.parametrize("M,N,K", [(64, 64, 64), (90, 40, 70)])
def test_gemm_epilogue(M, N, K):
    k = run("gemm_epilogue", f"matmul_staged({M}, {N}, {K}, 32, 32, 32)")
    a, b = rand(M, K, dtype="float16"), rand(K, N, dtype="float16")
    np.testing.assert_allclose(f32(k(a, b)), f32(a) @ f32(b), rtol=1e-2, atol=5e-2)


@pytest.mark.parametrize("M,N,K", [(64, 64, 64), (50, 70, 90)])
def test_gemm_int8(M, N, K):
    k = run("gemm_int8", f"matmul_int8(M={M}, N={N}, K={K}, block_M=32, block_N=32, block_K=32)")
    a = RNG.integers(-128, 128, size=(M, K)).astype(np.int8)
    b = RNG.integers(-128, 128, size=(N, K)).astype(np.int8)
    np.testing.assert_array_equal(k(a, b), a.astype(np.int32) @ b.astype(np.int32).T)


@pytest.mark.parametrize("M,N,K", [(64, 64, 64), (100, 36, 72)])
def test_gemm_pipelined(M, N, K):
    k = run("gemm_pipelined", f"matmul(M={M}, N={N}, K={K}, block_M=32, block_N=32, block_K=16)")
    a, b = rand(M, K, dtype="float16"), rand(K, N, dtype="float16")
    np.testing.assert_allclose(f32(k(a, b)), f32(a) @ f32(b), rtol=1e-2, atol=5e-2)


@pytest.mark.parametrize("M,N,K,split", [(64, 64, 128, 2), (50, 40, 96, 3)])
def test_gemm_splitk(M, N, K, split):
    k = run("gemm_splitk", f"matmul_splitk({M}, {N}, {K}, 32, 32, 16, {split})")
    a, b = rand(M, K, dtype="float16"), rand(K, N, dtype="float16")
    c = np.zeros((M, N), np.float32)
    k(a, b, c)
    np.testing.assert_allclose(c, f32(a) @ f32(b), rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("N,K", [(64, 128), (50, 100)])
def test_gemv(N, K):
    k = run("gemv", f"gemv(N={N}, K={K}, block_N=16, block_K=32)")
    w, x = rand(N, K, dtype="float16"), rand(K, dtype="float16")
    np.testing.assert_allclose(f32(k(w, x)), f32(w) @ f32(x), rtol=1e-2, atol=5e-2)


@pytest.mark.parametrize("M,N", [(32, 64), (30, 48)])
def test_rms_norm(M, N):
    k = run("rms_norm", f"rms_norm(M={M}, N={N}, block_M=8)")
    x, w = rand(M, N, dtype="float16"), rand(N, dtype="float16")
    xf = f32(x)
    ref = xf / np.sqrt((xf * xf).mean(-1, keepdims=True) + 1e-6) * f32(w)
    np.testing.assert_allclose(f32(k(x, w)), ref, **F16)


@pytest.mark.parametrize("M,N,bM", [(32, 64, 4), (30, 48, 4)])
def test_softmax(M, N, bM):
    k = run("softmax", f"softmax({M}, {N}, {bM})")
    x = rand(M, N, dtype="float16")
    xf = f32(x)
    e = np.exp(xf - xf.max(-1, keepdims=True))
    np.testing.assert_allclose(f32(k(x)), e / e.sum(-1, keepdims=True), rtol=1e-2, atol=1e-3)


# examples/gemm_ws_barrier.py (T.ws, mbarriers, T.tma_copy) is checked in test_compiler_barriers.py.
