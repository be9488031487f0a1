"""`T.atomic_add` in TileLang's argument forms, run with the grid in parallel (libatomic) and checked against NumPy."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tvm")

from compiler.errors import CompileError  # noqa: E402
from compiler.loader import instantiate, load  # noqa: E402
from compiler.passes.cpu_atomics import libatomic_available, lower_cpu_atomics  # noqa: E402
from compiler.runtime import Runner, build, to_module  # noqa: E402

CORPUS = Path("/work/corpus/examples")
RNG = np.random.default_rng(5)

SRC = '''
import tilelang
import tilelang.language as T


def histogram(n, bins, block, dtype):
    @T.prim_func
    def main(X: T.Tensor((n,), "int32"), H: T.Tensor((bins,), dtype)):
        with T.Kernel(T.ceildiv(n, block), threads=128) as bx:
            for i in T.Parallel(block):
                T.atomic_add(H[X[bx * block + i]], 1)
    return main


def weighted(n, bins, block, dtype):
    @T.prim_func
    def main(X: T.Tensor((n,), "int32"), W: T.Tensor((n,), dtype), H: T.Tensor((bins,), dtype)):
        with T.Kernel(T.ceildiv(n, block)) as bx:
            for i in T.Parallel(block):
                T.atomic_add(H[X[bx * block + i]], W[bx * block + i], memory_order="relaxed")
    return main


def tickets(blocks):
    @T.prim_func
    def main(Counter: T.Tensor((1,), "int32"), Order: T.Tensor((blocks,), "int32")):
        with T.Kernel(blocks) as bx:
            pos = T.atomic_add(Counter[0], 1, return_prev=True)
            Order[bx] = pos
    return main


def shared_prev(n):
    @T.prim_func
    def main(X: T.Tensor((n,), "int32"), Out: T.Tensor((n,), "int32")):
        with T.Kernel(1) as bx:
            count = T.alloc_shared((1,), "int32")
            count[0] = 0
            for i in T.serial(n):
                Out[i] = T.atomic_add(count[0], X[i], return_prev=True)
    return main


def region_forms(M, N, bM, bN, splits):
    @T.prim_func
    def main(A: T.Tensor((splits, M, N), "float32"), C: T.Tensor((M, N), "float32"), D: T.Tensor((M, N), "float32")):
        with T.Kernel(T.ceildiv(N, bN), T.ceildiv(M, bM), splits) as (bx, by, bz):
            a = T.alloc_fragment((bM, bN), "float32")
            T.copy(A[bz, by * bM, bx * bN], a)
            T.atomic_add(C[by * bM, bx * bN], a)
            T.atomic_add(D[by * bM:(by + 1) * bM, bx * bN:(bx + 1) * bN], 0.5)
    return main


def prev_of_region(n):
    @T.prim_func
    def main(A: T.Tensor((n,), "float32")):
        with T.Kernel(1) as bx:
            x = T.atomic_add(A[0:n], 1.0, return_prev=True)
    return main


def bad_order(n):
    @T.prim_func
    def main(A: T.Tensor((n,), "float32")):
        with T.Kernel(1) as bx:
            T.atomic_add(A[0], 1.0, memory_order="sometimes")
    return main
'''

needs_libatomic = pytest.mark.skipif(not libatomic_available(), reason="libatomic is not installed")


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    path = Path(tmp_path_factory.mktemp("atomics")) / "atomics.py"
    path.write_text(SRC)
    return load(path)


def kernel(loaded, request: str) -> Runner:
    return build(instantiate(loaded, request))


def grid_is_parallel(k: Runner) -> bool:
    return "T.parallel" in k.lowered.script()


@needs_libatomic
@pytest.mark.parametrize("dtype", ["int32", "int64", "uint32"])
def test_integer_histogram_in_a_parallel_grid_is_exact(loaded, dtype):
    n, bins = 40000, 7
    k = kernel(loaded, f"histogram({n}, {bins}, 64, '{dtype}')")
    assert grid_is_parallel(k) and "__atomic_fetch_add_" in k.lowered.script()
    x = RNG.integers(0, bins, n).astype(np.int32)
    h = np.zeros(bins, dtype)
    k(x, h)
    np.testing.assert_array_equal(h, np.bincount(x, minlength=bins).astype(dtype))


@needs_libatomic
@pytest.mark.parametrize("dtype,tol", [("float32", 1e-3), ("float64", 1e-9), ("float16", 0)])
def test_float_atomics_in_a_parallel_grid_match_numpy(loaded, dtype, tol):
    n, bins = 30000, 5
    k = kernel(loaded, f"weighted({n}, {bins}, 50, '{dtype}')")
    assert grid_is_parallel(k) and "__atomic_compare_exchange_" in k.lowered.script()
    x = RNG.integers(0, bins, n).astype(np.int32)
    if dtype == "float16":  # small integers: every partial sum is exact in fp16, whatever the order
        w = RNG.integers(-2, 3, n).astype(np.float16)
    else:
        w = RNG.standard_normal(n).astype(dtype)
    h = np.zeros(bins, dtype)
    k(x, w, h)
    ref = np.bincount(x, weights=w.astype(np.float64), minlength=bins)
    np.testing.assert_allclose(h.astype(np.float64), ref, rtol=tol, atol=tol)


@needs_libatomic
def test_return_prev_hands_out_each_ticket_once(loaded):
    blocks = 5000
    k = kernel(loaded, f"tickets({blocks})")
    assert grid_is_parallel(k)
    counter, order = np.zeros(1, np.int32), np.full(blocks, -1, np.int32)
    k(counter, order)
    assert counter[0] == blocks
    np.testing.assert_array_equal(np.sort(order), np.arange(blocks))


def test_return_prev_on_shared_memory_is_an_exclusive_scan(loaded):
    k = kernel(loaded, "shared_prev(37)")
    x = RNG.integers(0, 9, 37).astype(np.int32)
    out = np.zeros(37, np.int32)
    k(x, out)
    np.testing.assert_array_equal(out, np.concatenate([[0], np.cumsum(x)[:-1]]))


@needs_libatomic
@pytest.mark.parametrize("M,N,bM,bN,splits", [(64, 64, 32, 32, 4), (50, 70, 32, 32, 3)])
def test_region_forms_corner_plus_buffer_and_region_plus_scalar(loaded, M, N, bM, bN, splits):
    k = kernel(loaded, f"region_forms({M}, {N}, {bM}, {bN}, {splits})")
    assert grid_is_parallel(k)
    a = RNG.standard_normal((splits, M, N)).astype(np.float32)
    c, d = np.ones((M, N), np.float32), np.zeros((M, N), np.float32)
    k(a, c, d)
    np.testing.assert_allclose(c, 1 + a.sum(0), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(d, np.full((M, N), 0.5 * splits, np.float32))


def test_without_libatomic_the_grid_runs_serially_and_stays_exact(loaded):
    from compiler.pipeline import CPU_PIPELINE, cpu_target
    import tvm

    mod = to_module(instantiate(loaded, "weighted(3000, 4, 50, 'float32')"))
    for p in CPU_PIPELINE:
        mod = lower_cpu_atomics(mod, machine_atomics=False) if p is lower_cpu_atomics else p(mod)
    text = mod.script()
    assert "T.parallel" not in text and "__atomic" not in text
    x = RNG.integers(0, 4, 3000).astype(np.int32)
    w = RNG.standard_normal(3000).astype(np.float32)
    dev = tvm.cpu(0)
    h = tvm.runtime.tensor(np.zeros(4, np.float32), dev)
    tvm.compile(mod, target=cpu_target())(tvm.runtime.tensor(x, dev), tvm.runtime.tensor(w, dev), h)
    np.testing.assert_allclose(h.numpy(), np.bincount(x, weights=w, minlength=4), rtol=1e-4, atol=1e-4)


def test_return_prev_of_a_region_is_refused_like_tilelang(loaded):
    with pytest.raises(CompileError, match="return_prev is not supported for tile-region-based"):
        instantiate(loaded, "prev_of_region(8)")


def test_unknown_memory_order_is_located(loaded):
    with pytest.raises(CompileError, match=r"atomics.py:\d+:\d+: .*memory_order='sometimes'"):
        instantiate(loaded, "bad_order(8)")


@needs_libatomic
@pytest.mark.skipif(not CORPUS.exists(), reason="TileLang's examples are not on this machine")
@pytest.mark.parametrize("M,N,K,split_k", [(128, 128, 256, 4), (100, 72, 256, 2)])
def test_tilelang_splitk_atomicadd_example_matches_numpy(M, N, K, split_k):
    f = load(CORPUS / "gemm_splitk" / "example_tilelang_gemm_splitk_vectorize_atomicadd.py")
    a = RNG.standard_normal((M, K)).astype(np.float16)
    b = RNG.standard_normal((K, N)).astype(np.float16)
    c = np.zeros((M, N), np.float32)
    f.kernels["matmul"](a, b, c, 64, 64, 32, split_k)
    np.testing.assert_allclose(c, a.astype(np.float32) @ b.astype(np.float32), rtol=1e-4, atol=1e-3)
