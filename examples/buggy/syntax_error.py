# expect: TL901
"""An elementwise scale kernel with an unclosed parenthesis (a Python syntax error).

Defect: the T.Kernel(...) call in the body is never closed, so the file does not
parse; tilelint reports the syntax error and nothing else.
"""

import tilelang
import tilelang.language as T


def scale(M, N, block_M, block_N, factor, dtype="float16"):
    @T.prim_func
    def main(
        X: T.Tensor((M, N), dtype),
        Y: T.Tensor((M, N), dtype),
    ):
        with T.Kernel(T.ceildiv(N, block_N), T.ceildiv(M, block_M), threads=128 as (bx, by):
            tile = T.alloc_fragment((block_M, block_N), dtype)
            T.copy(X[by * block_M, bx * block_N], tile)
            for i, j in T.Parallel(block_M, block_N):
                tile[i, j] = tile[i, j] * factor
            T.copy(tile, Y[by * block_M, bx * block_N])

    return main


def main():
    scale(4096, 4096, 64, 64, 2.0)


if __name__ == "__main__":
    main()
