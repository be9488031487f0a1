# expect: TL101, TL103
"""FlashAttention forward, (batch, seq, heads, dim) layout, eager @tilelang.jit style,
with 128x128 tiles, head dim 128 and three pipeline stages.

Defect: Q, K, V and O tiles are 32 KiB each and K and V get three versions, so
the arena is 32 + 3x32 + 3x32 = 224 KiB (229376 B; O reuses the K/V bytes after
the loop). Only sm_90 (227 KiB, 232448 B) can launch it, and with just 3 KiB to
spare; sm_80 (163 KiB) and sm_86 / sm_89 (99 KiB) cannot. num_stages=2 is the
usual Hopper setting (160 KiB); block_N=64 with num_stages=2 fits sm_80.
"""

import tilelang
import tilelang.language as T


@tilelang.jit(pass_configs={tilelang.PassConfigKey.TL_ENABLE_FAST_MATH: True})
def attention(Q, K, V, block_M: int, block_N: int, num_stages: int, threads: int = 256):
    batch, seq_len, heads, dim = T.const("batch, seq_len, heads, dim")
    Q: T.Tensor((batch, seq_len, heads, dim), T.float16)
    K: T.Tensor((batch, seq_len, heads, dim), T.float16)
    V: T.Tensor((batch, seq_len, heads, dim), T.float16)
    O = T.empty((batch, seq_len, heads, dim), T.float16)
    qk_scale = T.rsqrt(T.Cast("float32", dim)) * 1.4426950408889634  # 1/sqrt(d) in log2 units

    with T.Kernel(T.ceildiv(seq_len, block_M), heads, batch, threads=threads) as (bx, by, bz):
        Q_shared = T.alloc_shared((block_M, dim), T.float16)
        K_shared = T.alloc_shared((block_N, dim), T.float16)
        V_shared = T.alloc_shared((block_N, dim), T.float16)
        O_shared = T.alloc_shared((block_M, dim), T.float16)
        scores = T.alloc_fragment((block_M, block_N), T.float32)
        probs = T.alloc_fragment((block_M, block_N), T.float16)
        acc = T.alloc_fragment((block_M, dim), T.float32)
        row_max = T.alloc_fragment((block_M,), T.float32)
        prev_max = T.alloc_fragment((block_M,), T.float32)
        rescale = T.alloc_fragment((block_M,), T.float32)
        denom = T.alloc_fragment((block_M,), T.float32)
        block_sum = T.alloc_fragment((block_M,), T.float32)

        T.copy(Q[bz, bx * block_M : (bx + 1) * block_M, by, :], Q_shared)
        T.fill(acc, 0)
        T.fill(denom, 0)
        T.fill(row_max, -T.infinity(T.float32))

        for kb in T.Pipelined(T.ceildiv(seq_len, block_N), num_stages=num_stages):
            T.copy(K[bz, kb * block_N : (kb + 1) * block_N, by, :], K_shared)
            T.clear(scores)
            T.gemm(Q_shared, K_shared, scores, transpose_B=True, policy=T.GemmWarpPolicy.FullRow)
            T.copy(row_max, prev_max)
            T.reduce_max(scores, row_max, dim=1, clear=False)
            for i in T.Parallel(block_M):
                rescale[i] = T.exp2((prev_max[i] - row_max[i]) * qk_scale)
            for i, j in T.Parallel(block_M, block_N):
                scores[i, j] = T.exp2((scores[i, j] - row_max[i]) * qk_scale)
            T.reduce_sum(scores, block_sum, dim=1)
            for i in T.Parallel(block_M):
                denom[i] = denom[i] * rescale[i] + block_sum[i]
            for i, j in T.Parallel(block_M, dim):
                acc[i, j] = acc[i, j] * rescale[i]
            T.copy(scores, probs)
            T.copy(V[bz, kb * block_N : (kb + 1) * block_N, by, :], V_shared)
            T.gemm(probs, V_shared, acc, policy=T.GemmWarpPolicy.FullRow)

        for i, j in T.Parallel(block_M, dim):
            acc[i, j] = acc[i, j] / denom[i]
        T.copy(acc, O_shared)
        T.copy(O_shared, O[bz, bx * block_M : (bx + 1) * block_M, by, :])

    return O


def main():
    import torch

    if not torch.cuda.is_available():
        return
    kernel = attention.compile(
        batch=1, seq_len=8192, heads=32, dim=128, block_M=128, block_N=128, num_stages=3, threads=256
    )
    q, k, v = (torch.randn(1, 8192, 32, 128, device="cuda", dtype=torch.float16) for _ in range(3))
    bhsd = [t.transpose(1, 2) for t in (q, k, v)]
    ref = torch.nn.functional.scaled_dot_product_attention(*bhsd).transpose(1, 2)
    torch.testing.assert_close(kernel(q, k, v), ref, rtol=1e-2, atol=1e-2)


if __name__ == "__main__":
    main()
