"""Column sums of a matrix, s[j] = sum_i X[i, j] (plain factory, reduction along dim=0).

Each block owns block_N columns and walks down the rows in block_M tiles,
adding every tile elementwise into an fp32 fragment; a single T.reduce_sum over
dim=0 collapses the rows at the end. The reduced dimension spans several warps,
so TileLang adds a small shared-memory workspace for the cross-warp step.
"""

import tilelang
import tilelang.language as T


def column_sum(M, N, block_M, block_N, num_stages=3, threads=128, dtype="float16"):
    accum_dtype = "float32"

    @T.prim_func
    def main(
        X: T.Tensor((M, N), dtype),
        S: T.Tensor((N,), accum_dtype),
    ):
        with T.Kernel(T.ceildiv(N, block_N), threads=threads) as bx:
            X_shared = T.alloc_shared((block_M, block_N), dtype)
            acc = T.alloc_fragment((block_M, block_N), accum_dtype)
            col = T.alloc_fragment((block_N,), accum_dtype)

            T.clear(acc)
            for ko in T.Pipelined(T.ceildiv(M, block_M), num_stages=num_stages):
                T.copy(X[ko * block_M, bx * block_N], X_shared)
                for i, j in T.Parallel(block_M, block_N):
                    acc[i, j] += X_shared[i, j]
            T.reduce_sum(acc, col, dim=0)
            T.copy(col, S[bx * block_N])

    return main


def main():
    import torch

    func = column_sum(16384, 4096, 64, 128, num_stages=3, threads=128)
    if not torch.cuda.is_available():
        print(func.script())
        return
    kernel = tilelang.compile(func, out_idx=[1])
    x = torch.randn(16384, 4096, device="cuda", dtype=torch.float16)
    torch.testing.assert_close(kernel(x), x.float().sum(dim=0), rtol=1e-3, atol=1e-2)
    print("column_sum: ok")


if __name__ == "__main__":
    main()
