"""Autotuned bf16 GEMM with a transposed B operand, C = A @ B^T.

The tile shape, pipeline depth and thread count come from CONFIGS; the autotuner
compiles each entry, checks it against the reference and keeps the fastest.
Dynamic shared memory per entry: num_stages x (block_M + block_N) x block_K x 2 B
(64 KiB, 48 KiB and 72 KiB), inside every target's limit.
"""

import tilelang
import tilelang.language as T
from tilelang.autotuner import autotune

CONFIGS = [
    {"block_M": 128, "block_N": 128, "block_K": 64, "num_stages": 2, "threads": 128},
    {"block_M": 64, "block_N": 128, "block_K": 32, "num_stages": 4, "threads": 128},
    {"block_M": 128, "block_N": 64, "block_K": 64, "num_stages": 3, "threads": 256},
]


def reference(A, B):
    return A @ B.T


@autotune(configs=CONFIGS, warmup=5, rep=20, ref_prog=reference)
@tilelang.jit(out_idx=[-1])
def matmul_nt(M, N, K, block_M=None, block_N=None, block_K=None, num_stages=None, threads=None):
    dtype = "bfloat16"
    accum_dtype = "float32"

    @T.prim_func
    def main(
        A: T.Tensor((M, K), dtype),
        B: T.Tensor((N, K), dtype),
        C: T.Tensor((M, N), dtype),
    ):
        with T.Kernel(T.ceildiv(N, block_N), T.ceildiv(M, block_M), threads=threads) as (bx, by):
            A_shared = T.alloc_shared((block_M, block_K), dtype)
            B_shared = T.alloc_shared((block_N, block_K), dtype)
            C_local = T.alloc_fragment((block_M, block_N), accum_dtype)

            T.clear(C_local)
            for k in T.Pipelined(T.ceildiv(K, block_K), num_stages=num_stages):
                T.copy(A[by * block_M, k * block_K], A_shared)
                T.copy(B[bx * block_N, k * block_K], B_shared)
                T.gemm(A_shared, B_shared, C_local, transpose_B=True)
            T.copy(C_local, C[by * block_M, bx * block_N])

    return main


def main():
    import torch

    if not torch.cuda.is_available():
        print("gemm_autotune: no CUDA device, nothing to tune")
        return
    kernel = matmul_nt(4096, 4096, 4096)
    print("gemm_autotune: best config", kernel.config if hasattr(kernel, "config") else "")
    a = torch.randn(4096, 4096, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(4096, 4096, device="cuda", dtype=torch.bfloat16)
    torch.testing.assert_close(kernel(a, b), reference(a, b), rtol=2e-2, atol=2e-2)
    print("gemm_autotune: ok")


if __name__ == "__main__":
    main()
