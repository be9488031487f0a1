# expect: TL207, TL506
"""The projection GEMM of a decode step: a batch of 8 tokens times a
(out_features, in_features) weight, with block_M set to the batch size so that
no row of the tile is wasted.

Defect: tensor-core warps own C in 16-row slices; an 8-row tile cannot be
split over the 4 warps of the block.
TileLang 0.1.15 stops with (lowering for sm_80 and sm_90): "InternalError:
Check failed: (M % kMPerWarp == 0) is false: M must be divisible by 16, but
got 8".
Fix: keep block_M=16 (half the rows are padding, which T.copy guards) or use
a GEMV kernel for such small batches. (The TL506 information is true as well:
on sm_90 a tile under 64 rows runs as mma.sync, not wgmma.)
"""

import tilelang
import tilelang.language as T


def decode_proj(batch, in_features, out_features, block_M=8, block_N=128, block_K=64, num_stages=3, threads=128):
    dtype = "float16"
    accum_dtype = "float32"

    @T.prim_func
    def main(
        X: T.Tensor((batch, in_features), dtype),
        W: T.Tensor((out_features, in_features), dtype),
        Y: T.Tensor((batch, out_features), dtype),
    ):
        with T.Kernel(T.ceildiv(out_features, block_N), T.ceildiv(batch, block_M), threads=threads) as (bx, by):
            X_shared = T.alloc_shared((block_M, block_K), dtype)
            W_shared = T.alloc_shared((block_N, block_K), dtype)
            acc = T.alloc_fragment((block_M, block_N), accum_dtype)

            T.clear(acc)
            for ko in T.Pipelined(T.ceildiv(in_features, block_K), num_stages=num_stages):
                T.copy(X[by * block_M, ko * block_K], X_shared)
                T.copy(W[bx * block_N, ko * block_K], W_shared)
                T.gemm(X_shared, W_shared, acc, transpose_B=True)
            T.copy(acc, Y[by * block_M, bx * block_N])

    return main


func = decode_proj(8, 4096, 4096)
