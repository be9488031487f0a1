"""Weight-only int8 GEMM: C = A @ (W * scale[:, None])^T with fp16 activations (plain factory).

W is stored as int8 (N, K) with one fp16 scale per output channel. Inside the
pipelined K loop the int8 tile is converted to fp16 in shared memory and fed to
T.gemm (transpose_B). The block's scales are fetched into shared memory before
the loop and applied once in the epilogue.
W_q_shared is copied from global memory, so it gets num_stages versions;
W_shared is written by a T.Parallel loop and keeps a single version. The small
scale_shared vector stays live across the loop; on sm_90 the TMA-loaded tiles
behind it need 512/1024-byte alignment, so the arena is larger there than on
sm_80 (46080 vs 45312 bytes).
"""

import tilelang
import tilelang.language as T


def dequant_matmul(M, N, K, block_M, block_N, block_K, num_stages=3, threads=128):
    dtype = "float16"
    accum_dtype = "float32"

    @T.prim_func
    def main(
        A: T.Tensor((M, K), dtype),
        W_q: T.Tensor((N, K), "int8"),
        scale: T.Tensor((N,), dtype),
        C: T.Tensor((M, N), dtype),
    ):
        with T.Kernel(T.ceildiv(N, block_N), T.ceildiv(M, block_M), threads=threads) as (bx, by):
            A_shared = T.alloc_shared((block_M, block_K), dtype)
            W_q_shared = T.alloc_shared((block_N, block_K), "int8")
            W_shared = T.alloc_shared((block_N, block_K), dtype)
            scale_shared = T.alloc_shared((block_N,), dtype)
            acc = T.alloc_fragment((block_M, block_N), accum_dtype)

            T.copy(scale[bx * block_N], scale_shared)
            T.clear(acc)
            for ko in T.Pipelined(T.ceildiv(K, block_K), num_stages=num_stages):
                T.copy(A[by * block_M, ko * block_K], A_shared)
                T.copy(W_q[bx * block_N, ko * block_K], W_q_shared)
                for n, k in T.Parallel(block_N, block_K):
                    W_shared[n, k] = W_q_shared[n, k].astype(dtype)
                T.gemm(A_shared, W_shared, acc, transpose_B=True)
            for i, j in T.Parallel(block_M, block_N):
                acc[i, j] = acc[i, j] * scale_shared[j].astype(accum_dtype)
            T.copy(acc, C[by * block_M, bx * block_N])

    return main


def main():
    import torch

    func = dequant_matmul(4096, 4096, 4096, 128, 128, 32, num_stages=3, threads=128)
    if not torch.cuda.is_available():
        print(func.script())
        return
    kernel = tilelang.compile(func, out_idx=[3])
    a = torch.randn(4096, 4096, device="cuda", dtype=torch.float16)
    w_q = torch.randint(-127, 128, (4096, 4096), device="cuda", dtype=torch.int8)
    scale = (torch.rand(4096, device="cuda") * 0.01 + 0.001).half()
    ref = (a.float() @ w_q.float().T * scale.float()).half()
    torch.testing.assert_close(kernel(a, w_q, scale), ref, rtol=1e-2, atol=1e-1)
    print("dequant_gemm: ok")


if __name__ == "__main__":
    main()
