# expect: TL302, TL506
"""A linear layer whose activations are float16 while the checkpoint's weight
was loaded as bfloat16.

Defect: T.gemm multiplies a float16 tile by a bfloat16 tile; tensor cores take
two operands of one type.
TileLang 0.1.15 stops with (lowering for sm_80 and sm_90): "ValueError:
Mixed-dtype GEMM only supports f8f6f4 family operands currently, got
A=float16, B=bfloat16". (TL506, information: on sm_90 a mixed gemm is no wgmma
combination either.)
Fix: convert the weight once on the host (W.half()), or copy the bf16 tile into
a float16 tile before the gemm.
"""

import tilelang
import tilelang.language as T


def linear(tokens, in_features, out_features, block_M=128, block_N=128, block_K=32, num_stages=3, threads=128):
    @T.prim_func
    def main(
        X: T.Tensor((tokens, in_features), "float16"),
        W: T.Tensor((out_features, in_features), "bfloat16"),
        Y: T.Tensor((tokens, out_features), "float16"),
    ):
        with T.Kernel(T.ceildiv(out_features, block_N), T.ceildiv(tokens, block_M), threads=threads) as (bx, by):
            X_shared = T.alloc_shared((block_M, block_K), "float16")
            W_shared = T.alloc_shared((block_N, block_K), "bfloat16")
            acc = T.alloc_fragment((block_M, block_N), "float32")

            T.clear(acc)
            for ko in T.Pipelined(T.ceildiv(in_features, block_K), num_stages=num_stages):
                T.copy(X[by * block_M, ko * block_K], X_shared)
                T.copy(W[bx * block_N, ko * block_K], W_shared)
                T.gemm(X_shared, W_shared, acc, transpose_B=True)
            T.copy(acc, Y[by * block_M, bx * block_N])

    return main


func = linear(4096, 4096, 4096)
