"""Fused bias add + GELU (tanh approximation), Y = gelu(X + bias) (eager style).

The bias slice for the block's columns is loaded once into shared memory and
broadcast over the block_M rows of the X tile.
"""

import tilelang
import tilelang.language as T


@tilelang.jit
def bias_gelu(X, bias, block_M: int, block_N: int, threads: int = 128):
    M, N = T.const("M, N")
    X: T.Tensor((M, N), T.float16)
    bias: T.Tensor((N,), T.float16)
    Y = T.empty((M, N), T.float16)

    with T.Kernel(T.ceildiv(N, block_N), T.ceildiv(M, block_M), threads=threads) as (bx, by):
        bias_shared = T.alloc_shared((block_N,), T.float16)
        X_shared = T.alloc_shared((block_M, block_N), T.float16)
        h = T.alloc_fragment((block_M, block_N), T.float32)

        T.copy(bias[bx * block_N], bias_shared)
        T.copy(X[by * block_M, bx * block_N], X_shared)
        for i, j in T.Parallel(block_M, block_N):
            v = X_shared[i, j].astype(T.float32) + bias_shared[j].astype(T.float32)
            inner = 0.7978845608028654 * (v + 0.044715 * v * v * v)
            h[i, j] = 0.5 * v * (1.0 + T.tanh(inner))
        T.copy(h, Y[by * block_M, bx * block_N])

    return Y


def main():
    import torch

    if not torch.cuda.is_available():
        print("bias_gelu: no CUDA device, nothing to run")
        return
    kernel = bias_gelu.compile(M=8192, N=4096, block_M=64, block_N=128, threads=128)
    x = torch.randn(8192, 4096, device="cuda", dtype=torch.float16)
    bias = torch.randn(4096, device="cuda", dtype=torch.float16)
    ref = torch.nn.functional.gelu(x.float() + bias.float(), approximate="tanh").half()
    torch.testing.assert_close(kernel(x, bias), ref, rtol=1e-2, atol=1e-2)
    print("bias_gelu: ok")


if __name__ == "__main__":
    main()
