# expect: TL403, TL406
"""Row softmax, a block of rows at a time, written as if T.Parallel were a loop
over threads, one row per thread.

Defect 1: each row is stored with a T.copy inside T.Parallel. T.copy is a tile
operation of the whole block and cannot run inside an element-wise loop.
TileLang 0.1.15 stops with (lowering for sm_80 and sm_90): "ValueError:
[Tilelang Semantic Check] Only elementwise operations are allowed inside a
parallel loop. Got a tile-op ... tl.tileop.copy ...".
Fix: one T.copy(x, Y[bx * block_M, 0]) after the loop.

Defect 2: the reciprocal of each row's sum is kept in T.alloc_local and indexed
by the T.Parallel row variable. A local buffer is private to a thread, while
T.Parallel spreads its iterations over all of them.
With defect 1 fixed, TileLang 0.1.15 stops with: "ValueError: [Tilelang
Semantic Check] Local buffer `inv` is indexed by T.Parallel loop variable `i`."
Fix: inv = T.alloc_fragment((block_M,), "float32").
"""

import tilelang
import tilelang.language as T


def softmax(M, N, block_M=4, threads=256):
    @T.prim_func
    def main(
        X: T.Tensor((M, N), "float32"),
        Y: T.Tensor((M, N), "float32"),
    ):
        with T.Kernel(T.ceildiv(M, block_M), threads=threads) as bx:
            x = T.alloc_fragment((block_M, N), "float32")
            row_max = T.alloc_fragment((block_M,), "float32")
            row_sum = T.alloc_fragment((block_M,), "float32")
            inv = T.alloc_local((block_M,), "float32")

            T.copy(X[bx * block_M, 0], x)
            T.reduce_max(x, row_max, dim=1)
            for i, j in T.Parallel(block_M, N):
                x[i, j] = T.exp(x[i, j] - row_max[i])
            T.reduce_sum(x, row_sum, dim=1)
            for i in T.Parallel(block_M):
                inv[i] = 1.0 / row_sum[i]
            for i, j in T.Parallel(block_M, N):
                x[i, j] = x[i, j] * inv[i]
            for i in T.Parallel(block_M):
                T.copy(x[i, :], Y[bx * block_M + i, :])

    return main


func = softmax(16384, 1024)
