"""Row-wise inclusive prefix sum, Y[i, :] = cumsum(X[i, :]) (eager style).

Each block scans block_M rows from left to right in chunks of block_N columns:
a chunk is scanned in shared memory with T.cumsum(dim=1), shifted by the running
total of the chunks before it (carry), and written back; the last column of the
chunk becomes the next carry.
"""

import tilelang
import tilelang.language as T


@tilelang.jit
def row_cumsum(X, block_M: int, block_N: int, threads: int = 128):
    M, N = T.const("M, N")
    X: T.Tensor((M, N), T.float32)
    Y = T.empty((M, N), T.float32)

    with T.Kernel(T.ceildiv(M, block_M), threads=threads) as bx:
        chunk = T.alloc_shared((block_M, block_N), T.float32)
        carry = T.alloc_fragment((block_M,), T.float32)

        T.clear(carry)
        for c in T.serial(T.ceildiv(N, block_N)):
            T.copy(X[bx * block_M, c * block_N], chunk)
            T.cumsum(chunk, dim=1)
            for i, j in T.Parallel(block_M, block_N):
                chunk[i, j] = chunk[i, j] + carry[i]
            for i in T.Parallel(block_M):
                carry[i] = chunk[i, block_N - 1]
            T.copy(chunk, Y[bx * block_M, c * block_N])

    return Y


def main():
    import torch

    if not torch.cuda.is_available():
        print("cumsum: no CUDA device, nothing to run")
        return
    kernel = row_cumsum.compile(M=4096, N=8192, block_M=8, block_N=512, threads=128)
    x = torch.randn(4096, 8192, device="cuda", dtype=torch.float32)
    torch.testing.assert_close(kernel(x), torch.cumsum(x, dim=1), rtol=1e-3, atol=1e-2)
    print("cumsum: ok")


if __name__ == "__main__":
    main()
