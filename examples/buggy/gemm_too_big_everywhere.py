# expect: TL101
"""A bf16 GEMM with 128x256x64 tiles and five pipeline stages (plain factory).

Defect: 5 x (128x64 + 64x256) x 2 B = 240 KiB (245760 B) of dynamic shared
memory, more than any default target allows per block (sm_80 163 KiB, sm_86 and
sm_89 99 KiB, sm_90 227 KiB): on an H100 the launch fails with "Failed to set
the allowed dynamic shared memory size to 245760". num_stages=4 (192 KiB) fits
sm_90 only; num_stages=2 fits sm_80 and sm_90.
"""

import tilelang
import tilelang.language as T


def matmul(M, N, K, block_M, block_N, block_K, num_stages, threads=256):
    dtype = "bfloat16"
    accum_dtype = "float32"

    @T.prim_func
    def main(
        A: T.Tensor((M, K), dtype),
        B: T.Tensor((K, N), dtype),
        C: T.Tensor((M, N), dtype),
    ):
        with T.Kernel(T.ceildiv(N, block_N), T.ceildiv(M, block_M), threads=threads) as (bx, by):
            A_shared = T.alloc_shared((block_M, block_K), dtype)
            B_shared = T.alloc_shared((block_K, block_N), dtype)
            acc = T.alloc_fragment((block_M, block_N), accum_dtype)

            T.clear(acc)
            for ko in T.Pipelined(T.ceildiv(K, block_K), num_stages=num_stages):
                T.copy(A[by * block_M, ko * block_K], A_shared)
                T.copy(B[ko * block_K, bx * block_N], B_shared)
                T.gemm(A_shared, B_shared, acc)
            T.copy(acc, C[by * block_M, bx * block_N])

    return main


def main():
    import torch

    func = matmul(8192, 8192, 8192, 128, 256, 64, 5, threads=256)
    if not torch.cuda.is_available():
        return
    kernel = tilelang.compile(func, out_idx=[2])
    a = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
    torch.testing.assert_close(kernel(a, b), a @ b, rtol=2e-2, atol=2e-2)


if __name__ == "__main__":
    main()
