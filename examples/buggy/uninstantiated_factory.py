# expect: TL902
"""A row-max kernel factory that nothing in this file instantiates.

Defect (information): the tile sizes are parameters without defaults and there is
no call site, @autotune config or instantiate directive, so the
shapes stay symbolic and tilelint cannot size this kernel's shared memory.
"""

import tilelang
import tilelang.language as T


def row_max(M, N, block_M, block_N, threads, dtype):
    @T.prim_func
    def main(
        X: T.Tensor((M, N), dtype),
        out: T.Tensor((M,), dtype),
    ):
        with T.Kernel(T.ceildiv(M, block_M), threads=threads) as bx:
            X_shared = T.alloc_shared((block_M, block_N), dtype)
            tile = T.alloc_fragment((block_M, block_N), dtype)
            best = T.alloc_fragment((block_M,), dtype)

            T.fill(best, -T.infinity(dtype))
            for ko in T.Pipelined(T.ceildiv(N, block_N), num_stages=2):
                T.copy(X[bx * block_M, ko * block_N], X_shared)
                T.copy(X_shared, tile)
                T.reduce_max(tile, best, dim=1, clear=False)
            T.copy(best, out[bx * block_M])

    return main
