# expect: TL504
"""Matrix transpose, B = A^T, through a shared tile, synchronised with an
mbarrier copied from a Hopper kernel.

Defect: T.alloc_barrier allocates a hardware mbarrier, which exists from sm_90
(Hopper) on; the default targets include sm_80, sm_86 and sm_89.
TileLang 0.1.15 stops with (sm_80): "ValueError: T.alloc_barrier() requires
sm_90 (Hopper) or later, but the current target is sm_80 (compute capability
8.0)"; it lowers the kernel for sm_90.
Fix: T.copy into shared memory already synchronises the block (TileLang
inserts the barrier); drop the mbarrier, or build for sm_90 only.
"""

import tilelang
import tilelang.language as T


def transpose(M, N, block=64, threads=128):
    dtype = "float32"

    @T.prim_func
    def main(
        A: T.Tensor((M, N), dtype),
        B: T.Tensor((N, M), dtype),
    ):
        with T.Kernel(T.ceildiv(N, block), T.ceildiv(M, block), threads=threads) as (bx, by):
            tile = T.alloc_shared((block, block), dtype)
            out = T.alloc_fragment((block, block), dtype)
            loaded = T.alloc_barrier(threads)

            T.copy(A[by * block, bx * block], tile)
            T.mbarrier_arrive(loaded[0])
            T.mbarrier_wait_parity(loaded[0], 0)
            for i, j in T.Parallel(block, block):
                out[i, j] = tile[j, i]
            T.copy(out, B[bx * block, by * block])

    return main


func = transpose(8192, 8192)
