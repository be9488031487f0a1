"""T.annotate_layout (a no-op on block-private buffers, refused on global tensors), T.Layout,
tilelang.layout.make_*swizzled_layout as plain values: NumPy-checked."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tvm")

from compiler.errors import CompileError  # noqa: E402
from compiler.loader import instantiate, load  # noqa: E402
from compiler.runtime import build  # noqa: E402

RNG = np.random.default_rng(5)

SRC = '''
import tilelang
import tilelang.language as T
from tilelang.layout import make_swizzled_layout


def transposed(i, j):
    return [j, i]


def reversed4(i):
    return [3 - i]


def matmul(M, N, K, bM, bN, bK):
    @T.prim_func
    def main(A: T.Tensor((M, K), "float16"), B: T.Tensor((K, N), "float16"), C: T.Tensor((M, N), "float32")):
        with T.Kernel(T.ceildiv(N, bN), T.ceildiv(M, bM)) as (bx, by):
            a = T.alloc_shared((bM, bK), "float16")
            b = T.alloc_shared((bK, bN), "float16")
            c = T.alloc_fragment((bM, bN), "float32")
            T.annotate_layout({a: make_swizzled_layout(a), b: tilelang.layout.make_swizzled_layout(b)})
            T.clear(c)
            for ko in T.Pipelined(T.ceildiv(K, bK), num_stages=2):
                T.copy(A[by * bM, ko * bK], a)
                T.copy(B[ko * bK, bx * bN], b)
                T.gemm(a, b, c)
            T.copy(c, C[by * bM, bx * bN])
    return main


def rowscale(M, N, bM):
    @T.prim_func
    def main(A: T.Tensor((M, N), "float32"), B: T.Tensor((M, N), "float32")):
        with T.Kernel(T.ceildiv(M, bM)) as bx:
            s = T.alloc_shared((bM, N), "float32")
            f = T.alloc_fragment((bM, N), "float32")
            loc = T.alloc_local((4,), "float32")
            T.annotate_layout({
                s: T.Layout((bM, N), transposed),
                f: T.Layout((bM, N), transposed),
                loc: T.Layout((4,), reversed4),
            })
            for k in T.serial(4):
                loc[k] = k + 1.0
            T.copy(A[bx * bM, 0], s)
            for i, j in T.Parallel(bM, N):
                f[i, j] = s[i, j] * loc[j % 4]
            T.copy(f, B[bx * bM, 0])
    return main


def global_layout(M):
    @T.prim_func
    def main(A: T.Tensor((M, M), "float32")):
        with T.Kernel(1) as bx:
            T.annotate_layout({A: T.Layout((M, M), transposed)})
            A[0, 0] = 1.0
    return main


def not_a_dict(M):
    @T.prim_func
    def main(A: T.Tensor((M,), "float32")):
        with T.Kernel(1) as bx:
            s = T.alloc_shared((M,), "float32")
            T.annotate_layout(s)
            A[0] = 1.0
    return main
'''


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    path = Path(tmp_path_factory.mktemp("layout")) / "layouts.py"
    path.write_text(SRC, encoding="utf-8")
    return load(path)


@pytest.mark.parametrize("M, N, K", [(64, 64, 64), (70, 50, 40)])
def test_swizzled_shared_gemm_matches_numpy(loaded, M, N, K):
    k = build(instantiate(loaded, f"matmul({M}, {N}, {K}, 32, 32, 16)"))
    a = RNG.standard_normal((M, K)).astype(np.float16)
    b = RNG.standard_normal((K, N)).astype(np.float16)
    c = np.zeros((M, N), np.float32)
    k(a, b, c)
    np.testing.assert_allclose(c, a.astype(np.float32) @ b.astype(np.float32), rtol=1e-4, atol=1e-4)


def test_layouts_on_shared_fragment_local_change_nothing(loaded):
    k = build(instantiate(loaded, "rowscale(10, 12, 4)"))  # 10 rows: a tail block
    a = RNG.standard_normal((10, 12)).astype(np.float32)
    out = np.zeros_like(a)
    k(a, out)
    np.testing.assert_array_equal(out, a * (np.arange(12) % 4 + 1.0).astype(np.float32))


def test_layout_on_global_tensor_is_not_supported(loaded):
    with pytest.raises(CompileError, match=r"layouts.py:57:13: TL950 not supported yet: T.annotate_layout on the "
                                           r"global tensor A"):
        instantiate(loaded, "global_layout(8)")


def test_annotate_layout_needs_a_dict(loaded):
    with pytest.raises(CompileError, match=r"layouts.py:67:13: TL951 T.annotate_layout expects a dict"):
        instantiate(loaded, "not_a_dict(8)")


def test_other_layout_names_are_not_supported(tmp_path):
    path = tmp_path / "other.py"
    path.write_text("import tilelang\nfrom tilelang.layout import make_mma_swizzle_layout\n", encoding="utf-8")
    with pytest.raises(CompileError, match=r"TL95\d .*tilelang.layout.make_mma_swizzle_layout"):
        load(path)
