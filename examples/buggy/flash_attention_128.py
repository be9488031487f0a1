# expect: TL101, TL103
"""FlashAttention forward with 128x128 tiles, head dim 128 and two pipeline stages.

Defect: Q, K, V and O tiles are 32 KiB each; K and V get two versions, O reuses
the K/V bytes after the loop, so the arena is 32 + 2x32 + 2x32 = 160 KiB
(163840 B). That is over the 99 KiB per-block limit of sm_86 / sm_89 and within
10% of the 163 KiB limit of sm_80; only sm_90 has room to spare. With
block_N=64 (or num_stages=1) it fits sm_80 comfortably.
"""

import tilelang
import tilelang.language as T


@tilelang.jit(out_idx=[3])
def flash_attention_fwd(batch, heads, seq_len, dim, block_M, block_N, num_stages, threads=256):
    qk_scale = (1.0 / dim) ** 0.5 * 1.4426950408889634
    shape = (batch, heads, seq_len, dim)
    dtype = "float16"
    accum_dtype = "float32"

    @T.prim_func
    def main(
        Q: T.Tensor(shape, dtype),
        K: T.Tensor(shape, dtype),
        V: T.Tensor(shape, dtype),
        O: T.Tensor(shape, dtype),
    ):
        with T.Kernel(T.ceildiv(seq_len, block_M), heads, batch, threads=threads) as (bx, by, bz):
            Q_shared = T.alloc_shared((block_M, dim), dtype)
            K_shared = T.alloc_shared((block_N, dim), dtype)
            V_shared = T.alloc_shared((block_N, dim), dtype)
            O_shared = T.alloc_shared((block_M, dim), dtype)
            s = T.alloc_fragment((block_M, block_N), accum_dtype)
            p = T.alloc_fragment((block_M, block_N), dtype)
            o = T.alloc_fragment((block_M, dim), accum_dtype)
            m = T.alloc_fragment((block_M,), accum_dtype)
            m_old = T.alloc_fragment((block_M,), accum_dtype)
            alpha = T.alloc_fragment((block_M,), accum_dtype)
            l = T.alloc_fragment((block_M,), accum_dtype)
            tile_sum = T.alloc_fragment((block_M,), accum_dtype)

            T.copy(Q[bz, by, bx * block_M : (bx + 1) * block_M, :], Q_shared)
            T.fill(o, 0)
            T.fill(l, 0)
            T.fill(m, -T.infinity(accum_dtype))

            for kb in T.Pipelined(T.ceildiv(seq_len, block_N), num_stages=num_stages):
                T.copy(K[bz, by, kb * block_N : (kb + 1) * block_N, :], K_shared)
                T.clear(s)
                T.gemm(Q_shared, K_shared, s, transpose_B=True, policy=T.GemmWarpPolicy.FullRow)
                T.copy(m, m_old)
                T.reduce_max(s, m, dim=1, clear=False)
                for i in T.Parallel(block_M):
                    alpha[i] = T.exp2((m_old[i] - m[i]) * qk_scale)
                for i, j in T.Parallel(block_M, block_N):
                    s[i, j] = T.exp2((s[i, j] - m[i]) * qk_scale)
                T.reduce_sum(s, tile_sum, dim=1)
                for i in T.Parallel(block_M):
                    l[i] = l[i] * alpha[i] + tile_sum[i]
                for i, j in T.Parallel(block_M, dim):
                    o[i, j] = o[i, j] * alpha[i]
                T.copy(s, p)
                T.copy(V[bz, by, kb * block_N : (kb + 1) * block_N, :], V_shared)
                T.gemm(p, V_shared, o, policy=T.GemmWarpPolicy.FullRow)

            for i, j in T.Parallel(block_M, dim):
                o[i, j] = o[i, j] / l[i]
            T.copy(o, O_shared)
            T.copy(O_shared, O[bz, by, bx * block_M : (bx + 1) * block_M, :])

    return main


def main():
    import torch

    if not torch.cuda.is_available():
        return
    kernel = flash_attention_fwd(2, 16, 4096, 128, 128, 128, 2, threads=256)
    q, k, v = (torch.randn(2, 16, 4096, 128, device="cuda", dtype=torch.float16) for _ in range(3))
    ref = torch.nn.functional.scaled_dot_product_attention(q, k, v)
    torch.testing.assert_close(kernel(q, k, v), ref, rtol=1e-2, atol=1e-2)


if __name__ == "__main__":
    main()
