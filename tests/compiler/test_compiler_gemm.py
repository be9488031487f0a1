"""T.gemm's CPU lowering (row blocking, staged B) against NumPy: every transpose, dtypes, odd tile heights."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tvm")

from compiler.loader import instantiate, load  # noqa: E402
from compiler.runtime import build  # noqa: E402

SRC = '''
import tilelang.language as T


def gemm(M, N, K, bM, bN, bK, ta, tb, dtype, acc):
    a_shape = (K, M) if ta else (M, K)
    b_shape = (N, K) if tb else (K, N)
    a_tile = (bK, bM) if ta else (bM, bK)
    b_tile = (bN, bK) if tb else (bK, bN)

    @T.prim_func
    def main(A: T.Tensor(a_shape, dtype), B: T.Tensor(b_shape, dtype), C: T.Tensor((M, N), acc)):
        with T.Kernel(T.ceildiv(N, bN), T.ceildiv(M, bM)) as (bx, by):
            a = T.alloc_shared(a_tile, dtype)
            b = T.alloc_shared(b_tile, dtype)
            c = T.alloc_fragment((bM, bN), acc)
            T.clear(c)
            for ko in T.Pipelined(T.ceildiv(K, bK), num_stages=2):
                if ta:
                    T.copy(A[ko * bK, by * bM], a)
                else:
                    T.copy(A[by * bM, ko * bK], a)
                if tb:
                    T.copy(B[bx * bN, ko * bK], b)
                else:
                    T.copy(B[ko * bK, bx * bN], b)
                T.gemm(a, b, c, transpose_A=ta, transpose_B=tb)
            T.copy(c, C[by * bM, bx * bN])
    return main
'''


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    path = Path(tmp_path_factory.mktemp("gemm")) / "gemm.py"
    path.write_text(SRC)
    return load(path)


@pytest.mark.parametrize("ta", [False, True])
@pytest.mark.parametrize("tb", [False, True])
@pytest.mark.parametrize("dtype,acc,bM", [("float32", "float32", 16), ("float16", "float32", 6), ("float16", "float32", 5),
                                          ("float32", "float32", 7)])
def test_gemm_matches_numpy(loaded, ta, tb, dtype, acc, bM):
    M, N, K = 37, 45, 40
    k = build(instantiate(loaded, f"gemm({M}, {N}, {K}, {bM}, 16, 16, {ta}, {tb}, '{dtype}', '{acc}')"))
    rng = np.random.default_rng(3)
    a = rng.standard_normal((K, M) if ta else (M, K)).astype(dtype)
    b = rng.standard_normal((N, K) if tb else (K, N)).astype(dtype)
    c = np.zeros((M, N), acc)
    k(a, b, c)
    af, bf = a.astype(np.float64), b.astype(np.float64)
    ref = (af.T if ta else af) @ (bf.T if tb else bf)
    np.testing.assert_allclose(c, ref, rtol=1e-4, atol=1e-4)
