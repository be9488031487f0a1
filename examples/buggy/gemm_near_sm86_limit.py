# expect: TL103
"""A fp16 GEMM with 128x256x32 tiles and four pipeline stages (eager style).

Defect (warning): 4 x (128x32 + 32x256) x 2 B = 96 KiB (98304 B). It fits the
99 KiB (101376 B) per-block limit of sm_86 / sm_89, but with only 3 KiB to
spare: one more buffer or a bigger tile breaks those GPUs. It is far from the
sm_80 and sm_90 limits.
"""

import tilelang
import tilelang.language as T


@tilelang.jit
def matmul_wide(A, B, block_M: int, block_N: int, block_K: int, num_stages: int, threads: int = 256):
    M, N, K = T.const("M, N, K")
    A: T.Tensor((M, K), T.float16)
    B: T.Tensor((K, N), T.float16)
    C = T.empty((M, N), T.float16)

    with T.Kernel(T.ceildiv(N, block_N), T.ceildiv(M, block_M), threads=threads) as (bx, by):
        A_shared = T.alloc_shared((block_M, block_K), T.float16)
        B_shared = T.alloc_shared((block_K, block_N), T.float16)
        acc = T.alloc_fragment((block_M, block_N), T.float32)

        T.clear(acc)
        for ko in T.Pipelined(T.ceildiv(K, block_K), num_stages=num_stages):
            T.copy(A[by * block_M, ko * block_K], A_shared)
            T.copy(B[ko * block_K, bx * block_N], B_shared)
            T.gemm(A_shared, B_shared, acc)
        T.copy(acc, C[by * block_M, bx * block_N])

    return C


def main():
    import torch

    if not torch.cuda.is_available():
        return
    kernel = matmul_wide.compile(M=4096, N=8192, K=4096, block_M=128, block_N=256, block_K=32, num_stages=4)
    a = torch.randn(4096, 4096, device="cuda", dtype=torch.float16)
    b = torch.randn(4096, 8192, device="cuda", dtype=torch.float16)
    torch.testing.assert_close(kernel(a, b), a @ b, rtol=1e-2, atol=1e-2)


if __name__ == "__main__":
    main()
