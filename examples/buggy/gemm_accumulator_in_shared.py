# expect: TL401
"""A fp16 GEMM whose accumulator was put in shared memory "so the epilogue can
store it with one coalesced copy".

Defect: T.gemm accumulates in registers: its C operand must be a fragment
(T.alloc_fragment), never shared memory.
TileLang 0.1.15 stops with "AssertionError: local_buf acc must be a fragment,
but got shared.dyn" (sm_80) and "AssertionError: local_buf must be a fragment"
(sm_90).
Fix: acc = T.alloc_fragment(...); for a coalesced store, T.copy the fragment
into a shared tile after the loop and copy that tile out.
"""

import tilelang
import tilelang.language as T


def matmul(M, N, K, block_M=64, block_N=128, block_K=32, num_stages=2, threads=128):
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
            acc = T.alloc_shared((block_M, block_N), accum_dtype)

            T.clear(acc)
            for ko in T.Pipelined(T.ceildiv(K, block_K), num_stages=num_stages):
                T.copy(A[by * block_M, ko * block_K], A_shared)
                T.copy(B[ko * block_K, bx * block_N], B_shared)
                T.gemm(A_shared, B_shared, acc)
            T.copy(acc, C[by * block_M, bx * block_N])

    return main


func = matmul(4096, 4096, 4096)
