# expect: TL301, TL412, TL506
"""A bf16 GEMM ported from a fp16 one by changing `dtype` only.

Defect 1 (error): the accumulator kept the fp16 kernel's "float16". Tensor
cores accumulate bfloat16 products in float32 only; TileLang lowers the kernel
for sm_80, and nvcc (-std=c++20 --cubin -arch=sm_80, as TileLang runs it) then stops
with: "tl_templates/cuda/instruction/mma.h(282): error: static assertion failed
with \"tl::mma_sync: unsupported configuration\"".
Fix: accum_dtype = "float32".

Defect 2 (warning): T.clear(acc) was dropped in the port, so the sum starts from
whatever the registers held. TileLang 0.1.15 only logs "Warning: Buffer read
before initialization", lowers and compiles the kernel, and the result is
wrong at run time. Fix: T.clear(acc) before the K loop.

With both fixed, TileLang lowers it and nvcc compiles it. (TL506, information:
on sm_90 a bf16 x bf16 -> fp16 gemm is no wgmma combination, so it would run as
mma.sync.)
"""

import tilelang
import tilelang.language as T


def matmul(M, N, K, block_M=128, block_N=128, block_K=32, num_stages=3, threads=128):
    dtype = "bfloat16"
    accum_dtype = "float16"

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

            for ko in T.Pipelined(T.ceildiv(K, block_K), num_stages=num_stages):
                T.copy(A[by * block_M, ko * block_K], A_shared)
                T.copy(B[ko * block_K, bx * block_N], B_shared)
                T.gemm(A_shared, B_shared, acc)
            T.copy(acc, C[by * block_M, bx * block_N])

    return main


func = matmul(4096, 4096, 4096)
