"""RMSNorm, Y = X / sqrt(mean(X^2) + eps) * weight, one row block per CTA (eager style).

The block_M rows and the weight vector are staged in shared memory; the sum of
squares is a row reduction (dim=1) over an fp32 fragment.
"""

import tilelang
import tilelang.language as T


@tilelang.jit
def rms_norm(X, weight, block_M: int, eps: float = 1e-6, threads: int = 256):
    M, N = T.const("M, N")
    X: T.Tensor((M, N), T.float16)
    weight: T.Tensor((N,), T.float16)
    Y = T.empty((M, N), T.float16)

    with T.Kernel(T.ceildiv(M, block_M), threads=threads) as bx:
        X_shared = T.alloc_shared((block_M, N), T.float16)
        w_shared = T.alloc_shared((N,), T.float16)
        x = T.alloc_fragment((block_M, N), T.float32)
        sq = T.alloc_fragment((block_M, N), T.float32)
        inv_rms = T.alloc_fragment((block_M,), T.float32)

        T.copy(weight[0], w_shared)
        T.copy(X[bx * block_M, 0], X_shared)
        T.copy(X_shared, x)
        for i, j in T.Parallel(block_M, N):
            sq[i, j] = x[i, j] * x[i, j]
        T.reduce_sum(sq, inv_rms, dim=1)
        for i in T.Parallel(block_M):
            inv_rms[i] = T.rsqrt(inv_rms[i] / N + eps)
        for i, j in T.Parallel(block_M, N):
            x[i, j] = x[i, j] * inv_rms[i] * w_shared[j].astype(T.float32)
        T.copy(x, Y[bx * block_M, 0])

    return Y


def main():
    import torch

    if not torch.cuda.is_available():
        print("rms_norm: no CUDA device, nothing to run")
        return
    kernel = rms_norm.compile(M=4096, N=4096, block_M=2, eps=1e-6, threads=256)
    x = torch.randn(4096, 4096, device="cuda", dtype=torch.float16)
    w = torch.randn(4096, device="cuda", dtype=torch.float16)
    xf = x.float()
    ref = (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + 1e-6) * w.float()).half()
    torch.testing.assert_close(kernel(x, w), ref, rtol=1e-2, atol=1e-2)
    print("rms_norm: ok")


if __name__ == "__main__":
    main()
