"""Split-K GEMM: the K dimension is cut into split_k slices, one per grid z index,
and every slice adds its partial tile into C with T.atomic_add (factory style).

C must be zeroed before the launch, which is why C is an input here rather than
an out_idx output.
"""

import tilelang
import tilelang.language as T


@tilelang.jit
def matmul_splitk(M, N, K, block_M, block_N, block_K, split_k, num_stages=3, threads=128):
    dtype = "float16"
    accum_dtype = "float32"
    k_per_split = K // split_k

    @T.prim_func
    def main(
        A: T.Tensor((M, K), dtype),
        B: T.Tensor((K, N), dtype),
        C: T.Tensor((M, N), accum_dtype),
    ):
        with T.Kernel(T.ceildiv(N, block_N), T.ceildiv(M, block_M), split_k, threads=threads) as (bx, by, bz):
            A_shared = T.alloc_shared((block_M, block_K), dtype)
            B_shared = T.alloc_shared((block_K, block_N), dtype)
            partial = T.alloc_fragment((block_M, block_N), accum_dtype)

            T.clear(partial)
            k_base = bz * k_per_split
            for ko in T.Pipelined(T.ceildiv(k_per_split, block_K), num_stages=num_stages):
                T.copy(A[by * block_M, k_base + ko * block_K], A_shared)
                T.copy(B[k_base + ko * block_K, bx * block_N], B_shared)
                T.gemm(A_shared, B_shared, partial)
            for i, j in T.Parallel(block_M, block_N):
                T.atomic_add(C[by * block_M + i, bx * block_N + j], partial[i, j])

    return main


def main():
    import torch

    if not torch.cuda.is_available():
        print("gemm_splitk: no CUDA device, nothing to run")
        return
    kernel = matmul_splitk(1024, 1024, 8192, 64, 128, 64, 4, num_stages=3, threads=128)
    a = torch.randn(1024, 8192, device="cuda", dtype=torch.float16)
    b = torch.randn(8192, 1024, device="cuda", dtype=torch.float16)
    c = torch.zeros(1024, 1024, device="cuda", dtype=torch.float32)
    kernel(a, b, c)
    torch.testing.assert_close(c, a.float() @ b.float(), rtol=1e-2, atol=1e-1)
    print("gemm_splitk: ok")


if __name__ == "__main__":
    main()
