# expect: TL202
"""SwiGLU activation, Y = silu(gate) * up, where each row of X holds the gate
half followed by the up half: X is (M, 2N), Y is (M, N).

Defect: a copy-paste typo in the second copy's column slice ends at
`... + block_M` instead of `... + block_N`, so the source region is 128 x 128
while the `up` fragment is 128 x 64.
TileLang 0.1.15 stops with (lowering for sm_80 and sm_90): "InternalError:
Selected loop range is smaller than original src range at matched non-1
dimension: base(extent=64, scope=local.fragment, min=0, base_dim=1) <
src(extent=128, min=bx * 64 + 4096, src_dim=1, scope=global) for src=X, dst=up".
Fix: slice `N + bx * block_N : N + bx * block_N + block_N`.
"""

import tilelang
import tilelang.language as T


def swiglu(M, N, block_M=128, block_N=64, threads=128):
    dtype = "float16"

    @T.prim_func
    def main(
        X: T.Tensor((M, 2 * N), dtype),
        Y: T.Tensor((M, N), dtype),
    ):
        with T.Kernel(T.ceildiv(N, block_N), T.ceildiv(M, block_M), threads=threads) as (bx, by):
            gate = T.alloc_fragment((block_M, block_N), "float32")
            up = T.alloc_fragment((block_M, block_N), "float32")
            out = T.alloc_fragment((block_M, block_N), dtype)

            T.copy(X[by * block_M : by * block_M + block_M, bx * block_N : bx * block_N + block_N], gate)
            T.copy(X[by * block_M : by * block_M + block_M, N + bx * block_N : N + bx * block_N + block_M], up)
            for i, j in T.Parallel(block_M, block_N):
                out[i, j] = gate[i, j] / (1.0 + T.exp(-gate[i, j])) * up[i, j]
            T.copy(out, Y[by * block_M, bx * block_N])

    return main


func = swiglu(8192, 4096)
