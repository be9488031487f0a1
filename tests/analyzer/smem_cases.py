"""Kernels whose dynamic shared memory TileLang 0.1.15 measured, with the numbers.

Each case is TileLang source defining a factory `kernel(...)`, the call that
instantiates it, and `dyn_shared_memory_buf` of the lowered kernel per arch,
as measured by lowering the same source with TileLang 0.1.15 (CPU only, see
tests/oracle/). The shapes follow the verification table of the project's
shared-memory notes: pipelining, reuse, alignment, static buffers,
reduction workspaces.
"""

from __future__ import annotations

HEAD = "import tilelang\nimport tilelang.language as T\n\n\n"

GEMM = HEAD + '''def kernel(M, N, K, bM, bN, bK, stages, dtype="float16", accum="float32", threads=128):
    @T.prim_func
    def main(A: T.Tensor((M, K), dtype), B: T.Tensor((K, N), dtype), C: T.Tensor((M, N), dtype)):
        with T.Kernel(T.ceildiv(N, bN), T.ceildiv(M, bM), threads=threads) as (bx, by):
            A_s = T.alloc_shared((bM, bK), dtype)
            B_s = T.alloc_shared((bK, bN), dtype)
            C_l = T.alloc_fragment((bM, bN), accum)
            T.clear(C_l)
            for k in T.Pipelined(T.ceildiv(K, bK), num_stages=stages):
                T.copy(A[by * bM, k * bK], A_s)
                T.copy(B[k * bK, bx * bN], B_s)
                T.gemm(A_s, B_s, C_l)
            T.copy(C_l, C[by * bM, bx * bN])

    return main
'''

GEMM_SERIAL = HEAD + '''def kernel(M, N, K, bM, bN, bK):
    @T.prim_func
    def main(A: T.Tensor((M, K), "float16"), B: T.Tensor((K, N), "float16"), C: T.Tensor((M, N), "float16")):
        with T.Kernel(T.ceildiv(N, bN), T.ceildiv(M, bM), threads=128) as (bx, by):
            A_s = T.alloc_shared((bM, bK), "float16")
            B_s = T.alloc_shared((bK, bN), "float16")
            C_l = T.alloc_fragment((bM, bN), "float32")
            T.clear(C_l)
            for k in T.serial(T.ceildiv(K, bK)):
                T.copy(A[by * bM, k * bK], A_s)
                T.copy(B[k * bK, bx * bN], B_s)
                T.gemm(A_s, B_s, C_l)
            T.copy(C_l, C[by * bM, bx * bN])

    return main
'''

GEMM_CS = HEAD + '''@tilelang.jit(pass_configs={tilelang.PassConfigKey.TL_DISABLE_SHARED_MEMORY_REUSE: True})
def kernel(M, N, K, bM, bN, bK, stages, cdtype="float16"):
    @T.prim_func
    def main(A: T.Tensor((M, K), "float16"), B: T.Tensor((K, N), "float16"), C: T.Tensor((M, N), cdtype)):
        with T.Kernel(T.ceildiv(N, bN), T.ceildiv(M, bM), threads=128) as (bx, by):
            A_s = T.alloc_shared((bM, bK), "float16")
            B_s = T.alloc_shared((bK, bN), "float16")
            C_s = T.alloc_shared((bM, bN), cdtype)
            C_l = T.alloc_fragment((bM, bN), "float32")
            T.clear(C_l)
            for k in T.Pipelined(T.ceildiv(K, bK), num_stages=stages):
                T.copy(A[by * bM, k * bK], A_s)
                T.copy(B[k * bK, bx * bN], B_s)
                T.gemm(A_s, B_s, C_l)
            T.copy(C_l, C_s)
            T.copy(C_s, C[by * bM, bx * bN])

    return main
'''

GEMM_CS_NOJIT = HEAD + '''def kernel(M, N, K, bM, bN, bK, stages, cdtype="float16"):
    @T.prim_func
    def main(A: T.Tensor((M, K), "float16"), B: T.Tensor((K, N), "float16"), C: T.Tensor((M, N), cdtype)):
        with T.Kernel(T.ceildiv(N, bN), T.ceildiv(M, bM), threads=128) as (bx, by):
            A_s = T.alloc_shared((bM, bK), "float16")
            B_s = T.alloc_shared((bK, bN), "float16")
            C_s = T.alloc_shared((bM, bN), cdtype)
            C_l = T.alloc_fragment((bM, bN), "float32")
            T.clear(C_l)
            for k in T.Pipelined(T.ceildiv(K, bK), num_stages=stages):
                T.copy(A[by * bM, k * bK], A_s)
                T.copy(B[k * bK, bx * bN], B_s)
                T.gemm(A_s, B_s, C_l)
            T.copy(C_l, C_s)
            T.copy(C_s, C[by * bM, bx * bN])

    return main
'''

GEMM_UNUSED = HEAD + '''def kernel(M, N, K, bM, bN, bK, stages):
    @T.prim_func
    def main(A: T.Tensor((M, K), "float16"), B: T.Tensor((K, N), "float16"), C: T.Tensor((M, N), "float16")):
        with T.Kernel(T.ceildiv(N, bN), T.ceildiv(M, bM), threads=128) as (bx, by):
            A_s = T.alloc_shared((bM, bK), "float16")
            B_s = T.alloc_shared((bK, bN), "float16")
            unused = T.alloc_shared((bM, bN), "float16")
            C_l = T.alloc_fragment((bM, bN), "float32")
            T.clear(C_l)
            for k in T.Pipelined(T.ceildiv(K, bK), num_stages=stages):
                T.copy(A[by * bM, k * bK], A_s)
                T.copy(B[k * bK, bx * bN], B_s)
                T.gemm(A_s, B_s, C_l)
            T.copy(C_l, C[by * bM, bx * bN])

    return main
'''

GEMM_SCALE = HEAD + '''def kernel(M, N, K, bM, bN, bK, stages, sdtype="float32", slen=None):
    slen = bN if slen is None else slen

    @T.prim_func
    def main(A: T.Tensor((M, K), "float16"), B: T.Tensor((K, N), "float16"), S: T.Tensor((N + 64,), sdtype),
             C: T.Tensor((M, N), "float16")):
        with T.Kernel(T.ceildiv(N, bN), T.ceildiv(M, bM), threads=128) as (bx, by):
            scale_s = T.alloc_shared((slen,), sdtype)
            A_s = T.alloc_shared((bM, bK), "float16")
            B_s = T.alloc_shared((bK, bN), "float16")
            C_l = T.alloc_fragment((bM, bN), "float32")
            T.copy(S[bx * bN], scale_s)
            T.clear(C_l)
            for k in T.Pipelined(T.ceildiv(K, bK), num_stages=stages):
                T.copy(A[by * bM, k * bK], A_s)
                T.copy(B[k * bK, bx * bN], B_s)
                T.gemm(A_s, B_s, C_l)
            for i, j in T.Parallel(bM, bN):
                C_l[i, j] = C_l[i, j] * scale_s[j]
            T.copy(C_l, C[by * bM, bx * bN])

    return main
'''

GEMM_BIAS_DS = HEAD + '''def kernel(M, N, K, bM, bN, bK, stages):
    @T.prim_func
    def main(A: T.Tensor((M, K), "float16"), B: T.Tensor((K, N), "float16"), bias: T.Tensor((N,), "float16"),
             D: T.Tensor((M, N), "float32")):
        with T.Kernel(T.ceildiv(N, bN), T.ceildiv(M, bM), threads=128) as (bx, by):
            bias_s = T.alloc_shared((bN,), "float16")
            A_s = T.alloc_shared((bM, bK), "float16")
            B_s = T.alloc_shared((bK, bN), "float16")
            D_s = T.alloc_shared((bM, bN), "float32")
            C_l = T.alloc_fragment((bM, bN), "float32")
            T.copy(bias[bx * bN], bias_s)
            T.clear(C_l)
            for k in T.Pipelined(T.ceildiv(K, bK), num_stages=stages):
                T.copy(A[by * bM, k * bK], A_s)
                T.copy(B[k * bK, bx * bN], B_s)
                T.gemm(A_s, B_s, C_l)
            for i, j in T.Parallel(bM, bN):
                C_l[i, j] = C_l[i, j] + bias_s[j]
            T.copy(C_l, D_s)
            T.copy(D_s, D[by * bM, bx * bN])

    return main
'''

GEMM_IFELSE = HEAD + '''def kernel(M, N, K, bM, bN, bK, stages):
    @T.prim_func
    def main(A: T.Tensor((M, K), "float16"), B: T.Tensor((K, N), "float16"), C: T.Tensor((M, N), "float16")):
        with T.Kernel(T.ceildiv(N, bN), T.ceildiv(M, bM), threads=128) as (bx, by):
            A_s = T.alloc_shared((bM, bK), "float16")
            B_s = T.alloc_shared((bK, bN), "float16")
            C_l = T.alloc_fragment((bM, bN), "float32")
            T.clear(C_l)
            for k in T.Pipelined(T.ceildiv(K, bK), num_stages=stages):
                if bx % 2 == 0:
                    T.copy(A[by * bM, k * bK], A_s)
                    T.copy(B[k * bK, bx * bN], B_s)
                    T.gemm(A_s, B_s, C_l)
                else:
                    T.copy(A[by * bM, k * bK], A_s)
                    T.copy(B[k * bK, bx * bN], B_s)
                    T.gemm(A_s, B_s, C_l, transpose_A=False)
            T.copy(C_l, C[by * bM, bx * bN])

    return main
'''

GEMM_NESTED = HEAD + '''def kernel(M, N, K, bM, bN, bK, outer, inner):
    @T.prim_func
    def main(A: T.Tensor((M, K), "float16"), B: T.Tensor((K, N), "float16"), C: T.Tensor((M, N), "float16")):
        with T.Kernel(T.ceildiv(N, bN), T.ceildiv(M, bM), threads=128) as (bx, by):
            A_s = T.alloc_shared((bM, bK), "float16")
            B_s = T.alloc_shared((bK, bN), "float16")
            C_l = T.alloc_fragment((bM, bN), "float32")
            T.clear(C_l)
            for ko in T.Pipelined(2, num_stages=outer):
                for ki in T.Pipelined(T.ceildiv(K, bK * 2), num_stages=inner):
                    T.copy(A[by * bM, (ko * T.ceildiv(K, bK * 2) + ki) * bK], A_s)
                    T.copy(B[(ko * T.ceildiv(K, bK * 2) + ki) * bK, bx * bN], B_s)
                    T.gemm(A_s, B_s, C_l)
            T.copy(C_l, C[by * bM, bx * bN])

    return main
'''

GEMM_OUTER_SERIAL = HEAD + '''def kernel(M, N, K, bM, bN, bK, stages):
    @T.prim_func
    def main(A: T.Tensor((M, K), "float16"), B: T.Tensor((K, N), "float16"), C: T.Tensor((M, N), "float16")):
        with T.Kernel(T.ceildiv(N, bN), threads=128) as bx:
            A_s = T.alloc_shared((bM, bK), "float16")
            B_s = T.alloc_shared((bK, bN), "float16")
            C_s = T.alloc_shared((bM, bN), "float16")
            C_l = T.alloc_fragment((bM, bN), "float32")
            for by in T.serial(T.ceildiv(M, bM)):
                T.clear(C_l)
                for k in T.Pipelined(T.ceildiv(K, bK), num_stages=stages):
                    T.copy(A[by * bM, k * bK], A_s)
                    T.copy(B[k * bK, bx * bN], B_s)
                    T.gemm(A_s, B_s, C_l)
                T.copy(C_l, C_s)
                T.copy(C_s, C[by * bM, bx * bN])

    return main
'''

TWO_LOOPS = HEAD + '''def kernel(M, N, K, bM, bN, bK, s1, s2):
    @T.prim_func
    def main(A: T.Tensor((M, K), "float16"), B: T.Tensor((K, N), "float16"), D: T.Tensor((M, K), "float16"),
             E: T.Tensor((K, N), "float16"), C: T.Tensor((M, N), "float16")):
        with T.Kernel(T.ceildiv(N, bN), T.ceildiv(M, bM), threads=128) as (bx, by):
            A_s = T.alloc_shared((bM, bK), "float16")
            B_s = T.alloc_shared((bK, bN), "float16")
            D_s = T.alloc_shared((bM, bK), "float16")
            E_s = T.alloc_shared((bK, bN), "float16")
            C_l = T.alloc_fragment((bM, bN), "float32")
            T.clear(C_l)
            for k in T.Pipelined(T.ceildiv(K, bK), num_stages=s1):
                T.copy(A[by * bM, k * bK], A_s)
                T.copy(B[k * bK, bx * bN], B_s)
                T.gemm(A_s, B_s, C_l)
            for k in T.Pipelined(T.ceildiv(K, bK), num_stages=s2):
                T.copy(D[by * bM, k * bK], D_s)
                T.copy(E[k * bK, bx * bN], E_s)
                T.gemm(D_s, E_s, C_l)
            T.copy(C_l, C[by * bM, bx * bN])

    return main
'''

TWO_LOOPS_WS_OFF = HEAD + '''@tilelang.jit(pass_configs={tilelang.PassConfigKey.TL_DISABLE_WARP_SPECIALIZED: True})
def kernel(M, N, K, bM, bN, bK, s1, s2):
    @T.prim_func
    def main(A: T.Tensor((M, K), "float16"), B: T.Tensor((K, N), "float16"), D: T.Tensor((M, K), "float16"),
             E: T.Tensor((K, N), "float16"), C: T.Tensor((M, N), "float16")):
        with T.Kernel(T.ceildiv(N, bN), T.ceildiv(M, bM), threads=128) as (bx, by):
            A_s = T.alloc_shared((bM, bK), "float16")
            B_s = T.alloc_shared((bK, bN), "float16")
            D_s = T.alloc_shared((bM, bK), "float16")
            E_s = T.alloc_shared((bK, bN), "float16")
            C_l = T.alloc_fragment((bM, bN), "float32")
            T.clear(C_l)
            for k in T.Pipelined(T.ceildiv(K, bK), num_stages=s1):
                T.copy(A[by * bM, k * bK], A_s)
                T.copy(B[k * bK, bx * bN], B_s)
                T.gemm(A_s, B_s, C_l)
            for k in T.Pipelined(T.ceildiv(K, bK), num_stages=s2):
                T.copy(D[by * bM, k * bK], D_s)
                T.copy(E[k * bK, bx * bN], E_s)
                T.gemm(D_s, E_s, C_l)
            T.copy(C_l, C[by * bM, bx * bN])

    return main
'''

DEQUANT = HEAD + '''def kernel(M, N, K, bM, bN, bK, stages):
    @T.prim_func
    def main(A: T.Tensor((M, K), "float16"), Bq: T.Tensor((N, K), "int8"), C: T.Tensor((M, N), "float16")):
        with T.Kernel(T.ceildiv(N, bN), T.ceildiv(M, bM), threads=128) as (bx, by):
            A_s = T.alloc_shared((bM, bK), "float16")
            Bq_s = T.alloc_shared((bN, bK), "int8")
            B_s = T.alloc_shared((bN, bK), "float16")
            C_l = T.alloc_fragment((bM, bN), "float32")
            T.clear(C_l)
            for k in T.Pipelined(T.ceildiv(K, bK), num_stages=stages):
                T.copy(A[by * bM, k * bK], A_s)
                T.copy(Bq[bx * bN, k * bK], Bq_s)
                for i, j in T.Parallel(bN, bK):
                    B_s[i, j] = T.cast(Bq_s[i, j], "float16")
                T.gemm(A_s, B_s, C_l, transpose_B=True)
            T.copy(C_l, C[by * bM, bx * bN])

    return main
'''

FLASH = HEAD + '''def kernel(seq, dim, bM, bN, stages, threads=256, dtype="float16"):
    scale = (1.0 / dim) ** 0.5 * 1.44269504

    @T.prim_func
    def main(Q: T.Tensor((1, 8, seq, dim), dtype), K: T.Tensor((1, 8, seq, dim), dtype),
             V: T.Tensor((1, 8, seq, dim), dtype), O: T.Tensor((1, 8, seq, dim), dtype)):
        with T.Kernel(T.ceildiv(seq, bM), 8, 1, threads=threads) as (bx, by, bz):
            Q_s = T.alloc_shared((bM, dim), dtype)
            K_s = T.alloc_shared((bN, dim), dtype)
            V_s = T.alloc_shared((bN, dim), dtype)
            O_s = T.alloc_shared((bM, dim), dtype)
            acc_s = T.alloc_fragment((bM, bN), "float32")
            acc_s_cast = T.alloc_fragment((bM, bN), dtype)
            acc_o = T.alloc_fragment((bM, dim), "float32")
            m = T.alloc_fragment((bM,), "float32")
            m_prev = T.alloc_fragment((bM,), "float32")
            r = T.alloc_fragment((bM,), "float32")
            l = T.alloc_fragment((bM,), "float32")
            l_new = T.alloc_fragment((bM,), "float32")
            T.copy(Q[bz, by, bx * bM : (bx + 1) * bM, :], Q_s)
            T.fill(acc_o, 0)
            T.fill(l, 0)
            T.fill(m, -T.infinity("float32"))
            for k in T.Pipelined(T.ceildiv(seq, bN), num_stages=stages):
                T.copy(K[bz, by, k * bN : (k + 1) * bN, :], K_s)
                T.clear(acc_s)
                T.gemm(Q_s, K_s, acc_s, transpose_B=True, policy=T.GemmWarpPolicy.FullRow)
                T.copy(m, m_prev)
                T.reduce_max(acc_s, m, dim=1, clear=False)
                for i in T.Parallel(bM):
                    r[i] = T.exp2(m_prev[i] * scale - m[i] * scale)
                for i, j in T.Parallel(bM, bN):
                    acc_s[i, j] = T.exp2(acc_s[i, j] * scale - m[i] * scale)
                T.reduce_sum(acc_s, l_new, dim=1)
                for i in T.Parallel(bM):
                    l[i] = l[i] * r[i] + l_new[i]
                T.copy(acc_s, acc_s_cast)
                for i, j in T.Parallel(bM, dim):
                    acc_o[i, j] *= r[i]
                T.copy(V[bz, by, k * bN : (k + 1) * bN, :], V_s)
                T.gemm(acc_s_cast, V_s, acc_o, policy=T.GemmWarpPolicy.FullRow)
            for i, j in T.Parallel(bM, dim):
                acc_o[i, j] /= l[i]
            T.copy(acc_o, O_s)
            T.copy(O_s, O[bz, by, bx * bM : (bx + 1) * bM, :])

    return main
'''

ELEMENTWISE = HEAD + '''def kernel(M, N, bM, bN, dtype="float16", two=True):
    @T.prim_func
    def main(A: T.Tensor((M, N), dtype), B: T.Tensor((M, N), dtype)):
        with T.Kernel(T.ceildiv(N, bN), T.ceildiv(M, bM), threads=128) as (bx, by):
            S = T.alloc_shared((bM, bN), dtype)
            S2 = T.alloc_shared((bM, bN), dtype)
            T.copy(A[by * bM, bx * bN], S)
            for i, j in T.Parallel(bM, bN):
                S2[i, j] = S[i, j] * 2
            T.copy(S2, B[by * bM, bx * bN])

    return main
'''

VECTORS = HEAD + '''def kernel(n, d1, d2):
    @T.prim_func
    def main(A: T.Tensor((n,), d1), B: T.Tensor((n,), d2)):
        with T.Kernel(1, threads=128) as bx:
            X = T.alloc_shared((n,), d1)
            Y = T.alloc_shared((n,), d2)
            T.copy(A[0:n], X)
            for i in T.Parallel(n):
                Y[i] = T.cast(X[i], d2)
            T.copy(Y, B[0:n])

    return main
'''

SINGLE = HEAD + '''def kernel(n, dtype):
    @T.prim_func
    def main(A: T.Tensor((n,), dtype), B: T.Tensor((n,), dtype)):
        with T.Kernel(1, threads=128) as bx:
            X = T.alloc_shared((n,), dtype)
            T.copy(A[0:n], X)
            T.copy(X, B[0:n])

    return main
'''

BOOL_MASK = HEAD + '''def kernel(n):
    @T.prim_func
    def main(A: T.Tensor((n,), "float32"), B: T.Tensor((n,), "float32")):
        with T.Kernel(1, threads=128) as bx:
            flags = T.alloc_shared((n,), "bool")
            X = T.alloc_shared((n,), "float32")
            Y = T.alloc_shared((n,), "float32")
            T.copy(A[0:n], X)
            for i in T.serial(n):
                flags[i] = X[i] > 0
            for i in T.Parallel(n):
                Y[i] = T.if_then_else(flags[i], X[i], 0)
            T.copy(Y, B[0:n])

    return main
'''

STATIC_PLUS_DYN = HEAD + '''def kernel(n):
    @T.prim_func
    def main(A: T.Tensor((n,), "float32"), B: T.Tensor((n,), "float32")):
        with T.Kernel(1, threads=128) as bx:
            X = T.alloc_shared((n,), "float32", scope="shared")
            Y = T.alloc_shared((n,), "float32")
            T.copy(A[0:n], X)
            for i in T.Parallel(n):
                Y[i] = X[i] + 1
            T.copy(Y, B[0:n])

    return main
'''

COLUMN_SUM = HEAD + '''def kernel(M, N, bM, bN, threads=128):
    @T.prim_func
    def main(A: T.Tensor((M, N), "float32"), B: T.Tensor((N,), "float32")):
        with T.Kernel(T.ceildiv(N, bN), threads=threads) as bx:
            tile = T.alloc_fragment((bM, bN), "float32")
            acc = T.alloc_fragment((bN,), "float32")
            T.copy(A[0, bx * bN], tile)
            T.reduce_sum(tile, acc, dim=0)
            T.copy(acc, B[bx * bN])

    return main
'''

COLUMN_MAX_SMEM = HEAD + '''def kernel(M, N, bM, bN, threads=256):
    @T.prim_func
    def main(A: T.Tensor((M, N), "float32"), B: T.Tensor((N,), "float32")):
        with T.Kernel(T.ceildiv(N, bN), threads=threads) as bx:
            S = T.alloc_shared((bM, bN), "float32")
            tile = T.alloc_fragment((bM, bN), "float32")
            acc = T.alloc_fragment((bN,), "float32")
            T.copy(A[0, bx * bN], S)
            T.copy(S, tile)
            T.reduce_max(tile, acc, dim=0)
            T.copy(acc, B[bx * bN])

    return main
'''

ROW_REDUCE = HEAD + '''def kernel(M, N, bM, bN):
    @T.prim_func
    def main(A: T.Tensor((M, N), "float32"), B: T.Tensor((M,), "float32")):
        with T.Kernel(T.ceildiv(M, bM), threads=128) as bx:
            S = T.alloc_shared((bM, bN), "float32")
            tile = T.alloc_fragment((bM, bN), "float32")
            acc = T.alloc_fragment((bM,), "float32")
            T.copy(A[bx * bM, 0], S)
            T.copy(S, tile)
            T.reduce_sum(tile, acc, dim=1)
            T.copy(acc, B[bx * bM])

    return main
'''

PIPE_PARALLEL = HEAD + '''def kernel(M, N, bM, bN, stages):
    @T.prim_func
    def main(A: T.Tensor((M, N), "float16"), B: T.Tensor((bM, bN), "float32")):
        with T.Kernel(1, threads=128) as bx:
            S = T.alloc_shared((bM, bN), "float16")
            acc = T.alloc_fragment((bM, bN), "float32")
            T.clear(acc)
            for k in T.Pipelined(T.ceildiv(M, bM), num_stages=stages):
                T.copy(A[k * bM, 0], S)
                for i, j in T.Parallel(bM, bN):
                    acc[i, j] += S[i, j]
            T.copy(acc, B)

    return main
'''

# (id, source, call, {arch: bytes}) -- numbers measured with TileLang 0.1.15
CASES: list[tuple[str, str, str, dict[str, int]]] = [
    ("gemm-s1", GEMM, "kernel(1024, 1024, 1024, 128, 128, 32, 1)", {"sm_80": 16384, "sm_90": 16384}),
    ("gemm-s2", GEMM, "kernel(1024, 1024, 1024, 128, 128, 32, 2)", {"sm_80": 32768, "sm_90": 32768}),
    ("gemm-s3", GEMM, "kernel(1024, 1024, 1024, 128, 128, 32, 3)", {"sm_80": 49152, "sm_86": 49152, "sm_90": 49152}),
    ("gemm-s0", GEMM, "kernel(1024, 1024, 1024, 128, 128, 32, 0)", {"sm_80": 16384, "sm_90": 16384}),
    ("gemm-serial", GEMM_SERIAL, "kernel(1024, 1024, 1024, 128, 128, 32)", {"sm_80": 16384, "sm_90": 16384}),
    ("gemm-bf16-256thr", GEMM, "kernel(4096, 4096, 4096, 256, 128, 64, 4, 'bfloat16', 'float32', 256)",
     {"sm_80": 196608, "sm_90": 196608}),
    ("gemm-64-s4", GEMM, "kernel(1024, 1024, 1024, 64, 64, 64, 4)", {"sm_80": 65536, "sm_86": 65536, "sm_90": 65536}),
    ("gemm-int8", GEMM, "kernel(1024, 1024, 1024, 128, 128, 64, 3, 'int8', 'int32')", {"sm_80": 49152, "sm_90": 49152}),
    ("gemm-tf32", GEMM, "kernel(1024, 1024, 1024, 128, 128, 16, 3, 'float32', 'float32')",
     {"sm_80": 49152, "sm_90": 49152}),
    ("gemm-cs-s2", GEMM_CS_NOJIT, "kernel(1024, 1024, 1024, 128, 128, 32, 2)", {"sm_80": 32768, "sm_90": 32768}),
    ("gemm-cs-64-s3", GEMM_CS_NOJIT, "kernel(1024, 1024, 1024, 128, 128, 64, 3)", {"sm_80": 98304, "sm_90": 98304}),
    ("gemm-cs-f32", GEMM_CS_NOJIT, "kernel(1024, 1024, 1024, 128, 128, 32, 2, 'float32')",
     {"sm_80": 65536, "sm_90": 65536}),
    ("gemm-cs-64x256", GEMM_CS_NOJIT, "kernel(1024, 1024, 1024, 64, 256, 128, 2)", {"sm_80": 163840, "sm_90": 163840}),
    ("gemm-cs-noreuse", GEMM_CS, "kernel(1024, 1024, 1024, 128, 128, 32, 2)", {"sm_80": 65536, "sm_90": 65536}),
    ("gemm-unused", GEMM_UNUSED, "kernel(1024, 1024, 1024, 128, 128, 32, 2)", {"sm_80": 32768, "sm_90": 32768}),
    ("gemm-scale-f32", GEMM_SCALE, "kernel(1024, 1024, 1024, 128, 128, 32, 2)", {"sm_80": 33280, "sm_90": 33792}),
    ("gemm-scale-f16-136", GEMM_SCALE, "kernel(1024, 1024, 1024, 128, 128, 32, 2, 'float16', 136)", {"sm_80": 33040, "sm_90": 33792}),
    ("gemm-scale-k16-s3", GEMM_SCALE, "kernel(1024, 1024, 1024, 128, 128, 16, 3)", {"sm_80": 25088, "sm_90": 25600}),
    ("gemm-bias-ds-s2", GEMM_BIAS_DS, "kernel(1024, 1024, 1024, 128, 128, 32, 2)", {"sm_80": 65536, "sm_90": 65536}),
    ("gemm-bias-ds-s3", GEMM_BIAS_DS, "kernel(1024, 1024, 1024, 128, 128, 32, 3)", {"sm_80": 65536, "sm_89": 65536, "sm_90": 65536}),
    ("gemm-ifelse", GEMM_IFELSE, "kernel(1024, 1024, 1024, 128, 128, 32, 3)", {"sm_80": 16384, "sm_90": 16384}),
    ("gemm-nested", GEMM_NESTED, "kernel(1024, 1024, 1024, 128, 128, 32, 2, 2)", {"sm_80": 16384, "sm_90": 16384}),
    ("gemm-outer-serial", GEMM_OUTER_SERIAL, "kernel(1024, 1024, 1024, 128, 128, 32, 2)",
     {"sm_80": 65536, "sm_90": 65536}),
    ("two-loops-2-3", TWO_LOOPS, "kernel(1024, 1024, 1024, 128, 128, 32, 2, 3)", {"sm_80": 49152, "sm_90": 147456}),
    ("two-loops-2-2", TWO_LOOPS, "kernel(1024, 1024, 1024, 128, 128, 32, 2, 2)", {"sm_80": 32768, "sm_90": 65536}),
    ("two-loops-3-2", TWO_LOOPS, "kernel(1024, 1024, 1024, 128, 128, 32, 3, 2)", {"sm_80": 49152, "sm_90": 65536}),
    ("two-loops-ws-off", TWO_LOOPS_WS_OFF, "kernel(1024, 1024, 1024, 128, 128, 32, 2, 3)", {"sm_80": 49152, "sm_90": 49152}),
    ("dequant-s2", DEQUANT, "kernel(1024, 1024, 1024, 128, 128, 64, 2)", {"sm_80": 65536, "sm_90": 65536}),
    ("dequant-s3", DEQUANT, "kernel(1024, 1024, 1024, 128, 128, 64, 3)", {"sm_80": 90112, "sm_90": 90112}),
    ("dequant-k32-s4", DEQUANT, "kernel(1024, 1024, 1024, 128, 128, 32, 4)", {"sm_80": 57344, "sm_90": 57344}),
    ("flash-128-s1", FLASH, "kernel(1024, 128, 128, 128, 1)", {"sm_80": 98304, "sm_90": 98304}),
    ("flash-128-s2", FLASH, "kernel(1024, 128, 128, 128, 2)", {"sm_80": 163840, "sm_90": 163840}),
    ("flash-128-s3", FLASH, "kernel(1024, 128, 128, 128, 3)", {"sm_80": 229376, "sm_90": 229376}),
    ("flash-64-s2", FLASH, "kernel(1024, 64, 64, 64, 2, 128)", {"sm_80": 40960, "sm_90": 40960}),
    ("flash-128x32-s3", FLASH, "kernel(1024, 64, 128, 32, 3)", {"sm_80": 40960, "sm_90": 40960}),
    ("flash-128x64-d128-s3", FLASH, "kernel(1024, 128, 128, 64, 3)", {"sm_80": 131072, "sm_90": 131072}),
    ("flash-bf16", FLASH, "kernel(1024, 64, 64, 128, 2, 128, 'bfloat16')", {"sm_80": 73728, "sm_90": 73728}),
    ("elementwise-s-s2", ELEMENTWISE, "kernel(1024, 1024, 64, 128)", {"sm_80": 32768, "sm_90": 32768}),
    ("tiles-4x40", ELEMENTWISE, "kernel(64, 80, 4, 40)", {"sm_80": 640, "sm_90": 704}),
    ("vector-f16-f32", VECTORS, "kernel(100, 'float16', 'float32')", {"sm_80": 608, "sm_90": 608}),
    ("single-f16-100", SINGLE, "kernel(100, 'float16')", {"sm_80": 200, "sm_90": 200}),
    ("single-int4", SINGLE, "kernel(8192, 'int8')", {"sm_80": 8192, "sm_90": 8192}),
    ("bool-mask", BOOL_MASK, "kernel(128)", {"sm_80": 1024, "sm_90": 1536}),
    ("static-plus-dyn", STATIC_PLUS_DYN, "kernel(128)", {"sm_80": 512, "sm_90": 512}),
    ("column-sum", COLUMN_SUM, "kernel(1024, 1024, 64, 128)", {"sm_80": 512, "sm_90": 512}),
    ("column-max-smem", COLUMN_MAX_SMEM, "kernel(1024, 1024, 128, 64)", {"sm_80": 32768, "sm_90": 32768}),
    ("row-reduce", ROW_REDUCE, "kernel(1024, 128, 64, 128)", {"sm_80": 32768, "sm_90": 32768}),
    ("pipe-parallel-s3", PIPE_PARALLEL, "kernel(1024, 128, 64, 128, 3)", {"sm_80": 49152, "sm_90": 49152}),
]
