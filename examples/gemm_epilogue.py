"""GEMM whose result is staged through shared memory (factory style, @tilelang.jit).

The fp32 accumulator is cast to the output dtype into C_shared and stored from
there, so the global write is a coalesced tile copy. C_shared is first touched
after the K loop, when A_shared and B_shared are dead, so TileLang places it over
their bytes: the arena is max(2 x (128x32 + 32x256) x 2 B, 128x256 x 2 B) = 64 KiB.
"""

import tilelang
import tilelang.language as T


@tilelang.jit(out_idx=[-1])
def matmul_staged(
    M, N, K, block_M, block_N, block_K, num_stages=2, threads=256, dtype="float16", accum_dtype="float32"
):
    @T.prim_func
    def main(
        A: T.Tensor((M, K), dtype),
        B: T.Tensor((K, N), dtype),
        C: T.Tensor((M, N), dtype),
    ):
        with T.Kernel(T.ceildiv(N, block_N), T.ceildiv(M, block_M), threads=threads) as (bx, by):
            A_shared = T.alloc_shared((block_M, block_K), dtype)
            B_shared = T.alloc_shared((block_K, block_N), dtype)
            C_local = T.alloc_fragment((block_M, block_N), accum_dtype)
            C_shared = T.alloc_shared((block_M, block_N), dtype)

            T.use_swizzle(panel_size=8)
            T.clear(C_local)
            for k in T.Pipelined(T.ceildiv(K, block_K), num_stages=num_stages):
                T.copy(A[by * block_M, k * block_K], A_shared)
                T.copy(B[k * block_K, bx * block_N], B_shared)
                T.gemm(A_shared, B_shared, C_local)
            T.copy(C_local, C_shared)
            T.copy(C_shared, C[by * block_M, bx * block_N])

    return main


def main():
    import torch

    if not torch.cuda.is_available():
        print("gemm_epilogue: no CUDA device, nothing to run")
        return
    kernel = matmul_staged(2048, 4096, 1024, 128, 256, 32, num_stages=2, threads=256)
    a = torch.randn(2048, 1024, device="cuda", dtype=torch.float16)
    b = torch.randn(1024, 4096, device="cuda", dtype=torch.float16)
    c = kernel(a, b)
    torch.testing.assert_close(c, a @ b, rtol=1e-2, atol=1e-2)
    print("gemm_epilogue: ok")


if __name__ == "__main__":
    main()
