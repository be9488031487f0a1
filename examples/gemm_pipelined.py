"""Pipelined fp16 GEMM, C = A @ B, accumulated in fp32 (eager @tilelang.jit style).

Each block owns a block_M x block_N tile of C. The K loop is software-pipelined
with three stages, so A_shared and B_shared each get three versions:
3 x (128x32 + 32x128) x 2 B = 48 KiB of dynamic shared memory.
"""

import tilelang
import tilelang.language as T


@tilelang.jit
def matmul(A, B, block_M: int, block_N: int, block_K: int, num_stages: int = 3, threads: int = 128):
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
        print("gemm_pipelined: no CUDA device, nothing to run")
        return
    kernel = matmul.compile(M=4096, N=4096, K=4096, block_M=128, block_N=128, block_K=32, num_stages=3)
    a = torch.randn(4096, 4096, device="cuda", dtype=torch.float16)
    b = torch.randn(4096, 4096, device="cuda", dtype=torch.float16)
    c = kernel(a, b)
    torch.testing.assert_close(c, a @ b, rtol=1e-2, atol=1e-2)
    print("gemm_pipelined: ok")


if __name__ == "__main__":
    main()
