# expect: TL501, TL503
"""Residual add, Y = X + R, over (tokens, hidden) activations, with one block
per token on the grid's y axis and one thread per column of a 2048-wide tile.

Defect 1: threads=2048; CUDA allows at most 1024 threads per block.
Defect 2: gridDim.y is the token count, 131072, over CUDA's 65535 for y and z.
Neither is caught by TileLang 0.1.15: it lowers the kernel for sm_80 and sm_90
(with __launch_bounds__(2048)) and the launch fails with
CUDA_ERROR_INVALID_VALUE ("invalid argument").
Fix: threads=256 (a 2048-wide tile is 8 elements per thread), and put the
tokens on x: T.Kernel(tokens, T.ceildiv(hidden, block)).
"""

import tilelang
import tilelang.language as T


def residual_add(tokens, hidden, block=2048):
    dtype = "float16"

    @T.prim_func
    def main(
        X: T.Tensor((tokens, hidden), dtype),
        R: T.Tensor((tokens, hidden), dtype),
        Y: T.Tensor((tokens, hidden), dtype),
    ):
        with T.Kernel(T.ceildiv(hidden, block), tokens, threads=block) as (bx, by):
            x = T.alloc_fragment((block,), dtype)
            r = T.alloc_fragment((block,), dtype)

            T.copy(X[by, bx * block : (bx + 1) * block], x)
            T.copy(R[by, bx * block : (bx + 1) * block], r)
            for i in T.Parallel(block):
                x[i] = x[i] + r[i]
            T.copy(x, Y[by, bx * block : (bx + 1) * block])

    return main


func = residual_add(131072, 4096)
