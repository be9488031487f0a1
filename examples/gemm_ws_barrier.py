"""Hopper (sm_90) warp-specialized GEMM with explicit mbarriers, C = alpha * A @ B.

Eager style. 256 threads form two warpgroups: warpgroup 1 is the producer and
issues TMA loads into a ring of num_stages shared-memory slots; warpgroup 0 is
the consumer and runs the tensor-core GEMM. Two barrier arrays from
T.alloc_barrier hand the slots back and forth:
  full[s]  - the producer has issued the loads of slot s (TMA completes the tx count),
  empty[s] - the consumer has finished reading slot s.
The slot index lives in a T.alloc_var scalar and alpha in a one-element
T.alloc_local array. T.alloc_barrier needs sm_90 or newer, so the
jit decorator pins the target to sm_90a.
"""

import tilelang
import tilelang.language as T


@tilelang.jit(target="cuda -arch=sm_90a")
def matmul_ws(A, B, Alpha, block_M: int, block_N: int, block_K: int, num_stages: int = 2):
    M, N, K = T.const("M, N, K")
    A: T.Tensor((M, K), T.float16)
    B: T.Tensor((K, N), T.float16)
    Alpha: T.Tensor((1,), T.float32)
    C = T.empty((M, N), T.float16)

    with T.Kernel(T.ceildiv(N, block_N), T.ceildiv(M, block_M), threads=256) as (bx, by):
        A_shared = T.alloc_shared((num_stages, block_M, block_K), T.float16)
        B_shared = T.alloc_shared((num_stages, block_K, block_N), T.float16)
        acc = T.alloc_fragment((block_M, block_N), T.float32)
        alpha = T.alloc_local((1,), T.float32)
        slot = T.alloc_var(T.int32)
        full = T.alloc_barrier([128] * num_stages)
        empty = T.alloc_barrier([128] * num_stages)

        with T.ws(0):
            T.clear(acc)
            alpha[0] = Alpha[0]

        for ko in range(T.ceildiv(K, block_K)):
            with T.ws(1):
                slot = ko % num_stages
                T.barrier_wait(empty[slot], ((ko // num_stages) % 2) ^ 1)
                T.tma_copy(
                    A[by * block_M : (by + 1) * block_M, ko * block_K : (ko + 1) * block_K],
                    A_shared[slot, :, :],
                    barrier=full[slot],
                )
                T.tma_copy(
                    B[ko * block_K : (ko + 1) * block_K, bx * block_N : (bx + 1) * block_N],
                    B_shared[slot, :, :],
                    barrier=full[slot],
                )
                T.barrier_arrive(full[slot])
            with T.ws(0):
                slot = ko % num_stages
                T.barrier_wait(full[slot], (ko // num_stages) % 2)
                T.gemm(A_shared[slot, :, :], B_shared[slot, :, :], acc)
                T.barrier_arrive(empty[slot])

        with T.ws(0):
            for i, j in T.Parallel(block_M, block_N):
                acc[i, j] = acc[i, j] * alpha[0]
            T.copy(acc, C[by * block_M, bx * block_N])

    return C


def main():
    import torch

    if not torch.cuda.is_available() or torch.cuda.get_device_capability()[0] < 9:
        print("gemm_ws_barrier: needs an sm_90 (Hopper) GPU, nothing to run")
        return
    kernel = matmul_ws.compile(M=2048, N=2048, K=2048, block_M=128, block_N=128, block_K=64, num_stages=2)
    a = torch.randn(2048, 2048, device="cuda", dtype=torch.float16)
    b = torch.randn(2048, 2048, device="cuda", dtype=torch.float16)
    alpha = torch.tensor([0.5], device="cuda", dtype=torch.float32)
    ref = (0.5 * (a.float() @ b.float())).half()
    torch.testing.assert_close(kernel(a, b, alpha), ref, rtol=1e-2, atol=1e-2)
    print("gemm_ws_barrier: ok")


if __name__ == "__main__":
    main()
