# expect: TL102
"""Matrix transpose, B = A^T, through a 128x128 fp32 tile in static shared memory.

Defect: scope="shared" makes the tile a static `__shared__` array instead of
part of the dynamic arena, and static shared memory is capped at 48 KiB per
block; this tile is 128 x 128 x 4 B = 64 KiB. ptxas rejects the kernel for
sm_80, sm_86, sm_89 and sm_90 ("uses too much shared data (0x10000 bytes,
0xc000 max)"); only the architecture-specific sm_90a target, which TileLang
picks on Hopper, accepts it. Drop scope="shared" (the default "shared.dyn" has
an opt-in limit of 99 KiB or more) or use 64x128 tiles.
"""

import tilelang
import tilelang.language as T


@tilelang.jit(out_idx=[1])
def transpose(M, N, block, threads=256, dtype="float32"):
    @T.prim_func
    def main(
        A: T.Tensor((M, N), dtype),
        B: T.Tensor((N, M), dtype),
    ):
        with T.Kernel(T.ceildiv(N, block), T.ceildiv(M, block), threads=threads) as (bx, by):
            tile = T.alloc_shared((block, block), dtype, scope="shared")
            out = T.alloc_fragment((block, block), dtype)

            T.copy(A[by * block, bx * block], tile)
            for i, j in T.Parallel(block, block):
                out[i, j] = tile[j, i]
            T.copy(out, B[bx * block, by * block])

    return main


def main():
    import torch

    if not torch.cuda.is_available():
        return
    kernel = transpose(8192, 8192, 128, threads=256)
    a = torch.randn(8192, 8192, device="cuda")
    torch.testing.assert_close(kernel(a), a.T.contiguous())


if __name__ == "__main__":
    main()
