# expect: TL101
"""An autotuned fp16 GEMM whose search space contains one entry that cannot launch
on sm_86 / sm_89.

Defect: the second config, 128x128x64 with num_stages=4, needs
4 x (128x64 + 64x128) x 2 B = 128 KiB of dynamic shared memory, over the 99 KiB
per-block limit of sm_86 / sm_89 (it fits sm_80 and sm_90). Autotuning on such
a GPU fails for that entry. The first config (48 KiB) fits everywhere.
"""

import tilelang
import tilelang.language as T
from tilelang.autotuner import autotune


@autotune(
    configs=[
        {"block_M": 128, "block_N": 128, "block_K": 32, "num_stages": 3},
        {"block_M": 128, "block_N": 128, "block_K": 64, "num_stages": 4},
    ],
    warmup=5,
    rep=20,
)
@tilelang.jit(out_idx=[-1])
def matmul(M, N, K, block_M=None, block_N=None, block_K=None, num_stages=None, threads=128):
    dtype = "float16"
    accum_dtype = "float32"

    @T.prim_func
    def main(
        A: T.Tensor((M, K), dtype),
        B: T.Tensor((K, N), dtype),
        C: T.Tensor((M, N), dtype),
    ):
        with T.Kernel(T.ceildiv(N, block_N), T.ceildiv(M, block_M), threads=threads) as (bx, by):
            A_shared = T.alloc_shared((block_M, block_K), dtype)
            B_shared = T.alloc_shared((block_K, block_N), dtype)
            acc = T.alloc_fragment((block_M, block_N), accum_dtype)

            T.clear(acc)
            for ko in T.Pipelined(T.ceildiv(K, block_K), num_stages=num_stages):
                T.copy(A[by * block_M, ko * block_K], A_shared)
                T.copy(B[ko * block_K, bx * block_N], B_shared)
                T.gemm(A_shared, B_shared, acc)
            T.copy(acc, C[by * block_M, bx * block_N])

    return main


def main():
    import torch

    if not torch.cuda.is_available():
        return
    kernel = matmul(4096, 4096, 4096)
    a = torch.randn(4096, 4096, device="cuda", dtype=torch.float16)
    b = torch.randn(4096, 4096, device="cuda", dtype=torch.float16)
    torch.testing.assert_close(kernel(a, b), a @ b, rtol=1e-2, atol=1e-2)


if __name__ == "__main__":
    main()
