"""Elementwise addition, C = A + B (plain factory returning a T.prim_func).

Tiles go straight from global memory into register fragments and back, so the
kernel uses no shared memory at all.
"""

import tilelang
import tilelang.language as T


def elementwise_add(M, N, block_M, block_N, threads=256, dtype="float32"):
    @T.prim_func
    def main(
        A: T.Tensor((M, N), dtype),
        B: T.Tensor((M, N), dtype),
        C: T.Tensor((M, N), dtype),
    ):
        with T.Kernel(T.ceildiv(N, block_N), T.ceildiv(M, block_M), threads=threads) as (bx, by):
            a = T.alloc_fragment((block_M, block_N), dtype)
            b = T.alloc_fragment((block_M, block_N), dtype)
            T.copy(A[by * block_M, bx * block_N], a)
            T.copy(B[by * block_M, bx * block_N], b)
            for i, j in T.Parallel(block_M, block_N):
                a[i, j] = a[i, j] + b[i, j]
            T.copy(a, C[by * block_M, bx * block_N])

    return main


def main():
    import torch

    func = elementwise_add(4096, 4096, 32, 256, threads=256)
    if not torch.cuda.is_available():
        print(func.script())
        return
    kernel = tilelang.compile(func, out_idx=[2])
    a = torch.randn(4096, 4096, device="cuda")
    b = torch.randn(4096, 4096, device="cuda")
    torch.testing.assert_close(kernel(a, b), a + b)
    print("elementwise_add: ok")


if __name__ == "__main__":
    main()
