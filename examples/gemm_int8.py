"""int8 x int8 -> int32 GEMM with a transposed B, C = A @ B^T (eager style).

Both operands are K-major (row-major A of shape (M, K), B of shape (N, K)), the
layout int8 tensor-core MMAs want. block_K = 128 bytes per row of each tile.
"""

import tilelang
import tilelang.language as T


@tilelang.jit
def matmul_int8(A, B, block_M: int, block_N: int, block_K: int, num_stages: int = 2, threads: int = 128):
    M, N, K = T.const("M, N, K")
    A: T.Tensor((M, K), T.int8)
    B: T.Tensor((N, K), T.int8)
    C = T.empty((M, N), T.int32)

    with T.Kernel(T.ceildiv(N, block_N), T.ceildiv(M, block_M), threads=threads) as (bx, by):
        A_shared = T.alloc_shared((block_M, block_K), T.int8)
        B_shared = T.alloc_shared((block_N, block_K), T.int8)
        acc = T.alloc_fragment((block_M, block_N), T.int32)

        T.clear(acc)
        for ko in T.Pipelined(T.ceildiv(K, block_K), num_stages=num_stages):
            T.copy(A[by * block_M, ko * block_K], A_shared)
            T.copy(B[bx * block_N, ko * block_K], B_shared)
            T.gemm(A_shared, B_shared, acc, transpose_B=True)
        T.copy(acc, C[by * block_M, bx * block_N])

    return C


def main():
    import torch

    if not torch.cuda.is_available():
        print("gemm_int8: no CUDA device, nothing to run")
        return
    kernel = matmul_int8.compile(
        M=4096, N=4096, K=4096, block_M=128, block_N=128, block_K=128, num_stages=2, threads=128
    )
    a = torch.randint(-128, 128, (4096, 4096), device="cuda", dtype=torch.int8)
    b = torch.randint(-128, 128, (4096, 4096), device="cuda", dtype=torch.int8)
    ref = (a.double() @ b.double().T).to(torch.int32)  # exact: |sums| < 2**53
    torch.testing.assert_close(kernel(a, b), ref)
    print("gemm_int8: ok")


if __name__ == "__main__":
    main()
