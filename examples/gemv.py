"""GEMV, y = W @ x, with W stored row-major as (N, K) (eager @tilelang.jit style).

Each block computes block_N outputs. A block_N x block_K slice of W and the
matching block_K slice of x are staged in shared memory (two pipeline stages);
every thread accumulates partial products in a fragment, and one row reduction
at the end folds the K direction.
"""

import tilelang
import tilelang.language as T


@tilelang.jit
def gemv(W, x, block_N: int, block_K: int, num_stages: int = 2, threads: int = 128):
    N, K = T.const("N, K")
    W: T.Tensor((N, K), T.float16)
    x: T.Tensor((K,), T.float16)
    y = T.empty((N,), T.float16)

    with T.Kernel(T.ceildiv(N, block_N), threads=threads) as bn:
        x_shared = T.alloc_shared((block_K,), T.float16)
        W_shared = T.alloc_shared((block_N, block_K), T.float16)
        partial = T.alloc_fragment((block_N, block_K), T.float32)
        y_local = T.alloc_fragment((block_N,), T.float32)

        T.clear(partial)
        for ko in T.Pipelined(T.ceildiv(K, block_K), num_stages=num_stages):
            T.copy(x[ko * block_K], x_shared)
            T.copy(W[bn * block_N, ko * block_K], W_shared)
            for i, k in T.Parallel(block_N, block_K):
                partial[i, k] += W_shared[i, k].astype(T.float32) * x_shared[k].astype(T.float32)
        T.reduce_sum(partial, y_local, dim=1)
        T.copy(y_local, y[bn * block_N])

    return y


def main():
    import torch

    if not torch.cuda.is_available():
        print("gemv: no CUDA device, nothing to run")
        return
    kernel = gemv.compile(N=8192, K=4096, block_N=16, block_K=256, num_stages=2, threads=128)
    w = torch.randn(8192, 4096, device="cuda", dtype=torch.float16)
    x = torch.randn(4096, device="cuda", dtype=torch.float16)
    y = kernel(w, x)
    torch.testing.assert_close(y, (w.float() @ x.float()).half(), rtol=1e-2, atol=5e-2)
    print("gemv: ok")


if __name__ == "__main__":
    main()
