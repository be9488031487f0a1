# expect: TL203
"""RMSNorm over the hidden dimension: Y = X / sqrt(mean(X^2) + eps) * weight,
a block of rows at a time.

Defect: the sum of squares is reduced into a (block_M, 1) fragment, PyTorch's
keepdim=True habit. T.reduce_sum drops the reduced dimension: the output must
be (block_M,).
TileLang 0.1.15 stops with (lowering for sm_80 and sm_90, src/op/reduce.cc:221):
"InternalError: Check failed: (reducer_layout->InputDim() ==
orig_dst_layout->InputDim()) is false".
Fix: allocate `ss` as (block_M,) and read it as ss[i].
"""

import tilelang
import tilelang.language as T


def rms_norm(M, N, block_M=4, threads=256, eps=1e-6):
    dtype = "float16"

    @T.prim_func
    def main(
        X: T.Tensor((M, N), dtype),
        weight: T.Tensor((N,), dtype),
        Y: T.Tensor((M, N), dtype),
    ):
        with T.Kernel(T.ceildiv(M, block_M), threads=threads) as bx:
            x = T.alloc_fragment((block_M, N), "float32")
            sq = T.alloc_fragment((block_M, N), "float32")
            ss = T.alloc_fragment((block_M, 1), "float32")

            T.copy(X[bx * block_M, 0], x)
            for i, j in T.Parallel(block_M, N):
                sq[i, j] = x[i, j] * x[i, j]
            T.reduce_sum(sq, ss, dim=1)
            for i, j in T.Parallel(block_M, N):
                x[i, j] = x[i, j] * T.rsqrt(ss[i, 0] / N + eps) * weight[j]
            T.copy(x, Y[bx * block_M, 0])

    return main


func = rms_norm(8192, 2048)
