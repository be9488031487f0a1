"""The speed benchmark's GEMM in TileLang's sm_90a configuration: examples/gemm_pipelined.py's kernel with
block rasterization (T.use_swizzle(panel_size=10), as in benchmarks/tilelang_artifacts.py's TileLang GEMM),
C stored straight from the accumulators. Built by benchmarks/gpu_check.py bench-build."""

import tilelang
import tilelang.language as T


@tilelang.jit
def matmul(A, B, block_M: int, block_N: int, block_K: int, num_stages: int = 3, threads: int = 128,
           panel: int = 10):
    M, N, K = T.const("M, N, K")
    A: T.Tensor((M, K), T.float16)
    B: T.Tensor((K, N), T.float16)
    C = T.empty((M, N), T.float16)

    with T.Kernel(T.ceildiv(N, block_N), T.ceildiv(M, block_M), threads=threads) as (bx, by):
        A_shared = T.alloc_shared((block_M, block_K), T.float16)
        B_shared = T.alloc_shared((block_K, block_N), T.float16)
        acc = T.alloc_fragment((block_M, block_N), T.float32)
        T.use_swizzle(panel_size=panel)
        T.clear(acc)
        for ko in T.Pipelined(T.ceildiv(K, block_K), num_stages=num_stages):
            T.copy(A[by * block_M, ko * block_K], A_shared)
            T.copy(B[ko * block_K, bx * block_N], B_shared)
            T.gemm(A_shared, B_shared, acc)
        T.copy(acc, C[by * block_M, bx * block_N])

    return C
