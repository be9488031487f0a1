# expect: TL201
"""A linear layer, Y = X @ W^T, with the weight stored (out_features, in_features)
as torch.nn.Linear keeps it.

Defect: W is loaded as (block_N, block_K) tiles but T.gemm is called without
transpose_B=True, so TileLang reads W_shared as a (K, N) = (128, 32) tile:
X_shared has K = 32 and W_shared K = 128.
TileLang 0.1.15 stops while building the kernel (the `linear(...)` call) with:
"AssertionError: T.gemm K shape check failed: K_A = 32, K_B = 128".
Fix: T.gemm(X_shared, W_shared, acc, transpose_B=True).
"""

import tilelang
import tilelang.language as T


def linear(tokens, in_features, out_features, block_M=128, block_N=128, block_K=32, num_stages=3, threads=128):
    dtype = "float16"
    accum_dtype = "float32"

    @T.prim_func
    def main(
        X: T.Tensor((tokens, in_features), dtype),
        W: T.Tensor((out_features, in_features), dtype),
        Y: T.Tensor((tokens, out_features), dtype),
    ):
        with T.Kernel(T.ceildiv(out_features, block_N), T.ceildiv(tokens, block_M), threads=threads) as (bx, by):
            X_shared = T.alloc_shared((block_M, block_K), dtype)
            W_shared = T.alloc_shared((block_N, block_K), dtype)
            acc = T.alloc_fragment((block_M, block_N), accum_dtype)

            T.clear(acc)
            for ko in T.Pipelined(T.ceildiv(in_features, block_K), num_stages=num_stages):
                T.copy(X[by * block_M, ko * block_K], X_shared)
                T.copy(W[bx * block_N, ko * block_K], W_shared)
                T.gemm(X_shared, W_shared, acc)
            T.copy(acc, Y[by * block_M, bx * block_N])

    return main


func = linear(4096, 4096, 11008)
