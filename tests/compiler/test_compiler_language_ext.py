"""T.dynamic (compiled once, sizes bound per call), T.macro, while/break/continue, T.view/T.reshape, against NumPy."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tvm")

from compiler.errors import CompileError, KernelError  # noqa: E402
from compiler.loader import instantiate, load  # noqa: E402
from compiler.runtime import build  # noqa: E402

RNG = np.random.default_rng(11)

SRC = '''
import tilelang
import tilelang.language as T


@T.macro
def scale_tile(x, factor):
    for i, j in T.Parallel(*x.shape):
        x[i, j] = x[i, j] * factor


@tilelang.jit(out_idx=[2])
def matmul_dyn(N, K, bM, bN, bK):
    M = T.dynamic("M")

    @T.macro
    def load_tiles(A, B, a, b, by, bx, ko):
        T.copy(A[by * bM, ko * bK], a)
        T.copy(B[ko * bK, bx * bN], b)

    @T.prim_func
    def main(A: T.Tensor((M, K), "float32"), B: T.Tensor((K, N), "float32"), C: T.Tensor((M, N), "float32")):
        with T.Kernel(T.ceildiv(N, bN), T.ceildiv(M, bM)) as (bx, by):
            a = T.alloc_shared((bM, bK), "float32")
            b = T.alloc_shared((bK, bN), "float32")
            c = T.alloc_fragment((bM, bN), "float32")
            T.clear(c)
            for ko in T.Pipelined(T.ceildiv(K, bK)):
                load_tiles(A, B, a, b, by, bx, ko)
                T.gemm(a, b, c)
            scale_tile(c, 2.0)
            T.copy(c, C[by * bM, bx * bN])

    return main


def rowsum_dyn(bM):
    m, n = T.symbolic("m, n")

    @T.macro
    def halve(v):
        return v * 0.5

    @T.prim_func
    def main(X: T.Tensor((m, 16), "float32"), Y: T.Tensor((n, 16), "float32"), S: T.Tensor((m,), "float32")):
        with T.Kernel(T.ceildiv(m, bM)) as bx:
            for i in T.Parallel(bM):
                acc = T.alloc_var("float32", init=0.0)
                for j in T.serial(16):
                    acc = acc + X[bx * bM + i, j] + Y[0, j]
                S[bx * bM + i] = halve(acc)
    return main


def loops(n):
    @T.prim_func
    def main(A: T.Tensor((n, 8), "int32"), O: T.Tensor((n,), "int32"), S: T.Tensor((n,), "int32")):
        with T.Kernel(n) as bx:
            acc = T.alloc_var("int32", init=0)
            for i in T.serial(8):
                if A[bx, i] < 0:
                    break
                if A[bx, i] == 3:
                    continue
                acc = acc + A[bx, i]
            O[bx] = acc
            k = T.alloc_var("int32", init=0)
            steps = T.alloc_var("int32", init=0)
            while k < A[bx, 0] * 10 + 25:
                k = k + 7
                steps = steps + 1
                if steps == 5:
                    break
            S[bx] = steps
            j = 0
            while True:
                j += 1
                if j == 2:
                    continue
                S[bx] = S[bx] * 2
                if j >= 4:
                    break
    return main


def break_in_parallel(n):
    @T.prim_func
    def main(A: T.Tensor((n,), "int32")):
        with T.Kernel(1) as bx:
            for i in T.Parallel(n):
                if A[i] < 0:
                    break
                A[i] = 1
    return main


def reshape_k(M, N, bM):
    @T.prim_func
    def main(A: T.Tensor((M, N), "float32"), B: T.Tensor((M * N,), "float32"), R: T.Tensor((M // bM, bM), "float32")):
        with T.Kernel(M // bM) as bx:
            a = T.alloc_fragment((bM, N), "float32")
            T.copy(A[bx * bM, 0], a)
            flat = T.reshape(a, (bM * N,))
            for i in T.Parallel(bM * N):
                flat[i] = flat[i] * 2.0
            T.copy(flat, B[bx * bM * N])
            s = T.alloc_fragment((bM,), "float32")
            T.reduce_sum(a, s, dim=1)
            T.copy(s, R[bx, 0])
    return main


def view_global(M, N):
    @T.prim_func
    def main(A: T.Tensor((M, N), "float32"), O: T.Tensor((M * N,), "float32")):
        with T.Kernel(1) as bx:
            flat = T.view(A, shape=(M * N,))
            for i in T.Parallel(M * N):
                O[i] = flat[i] + 1.0
    return main


def reshape_wrong(n):
    @T.prim_func
    def main(A: T.Tensor((n,), "float32")):
        with T.Kernel(1) as bx:
            a = T.alloc_fragment((4, 8), "float32")
            b = T.reshape(a, (5, 8))
    return main


def view_dtype(n):
    @T.prim_func
    def main(A: T.Tensor((n,), "float32")):
        with T.Kernel(1) as bx:
            a = T.alloc_fragment((4, 8), "float32")
            b = T.view(a, dtype="int32")
    return main
'''


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    path = Path(tmp_path_factory.mktemp("ext")) / "ext.py"
    path.write_text(SRC)
    return load(path)


def test_dynamic_gemm_compiles_once_and_runs_every_size(loaded):
    kernel = loaded.kernels["matmul_dyn"](48, 40, 16, 16, 16)
    b = RNG.standard_normal((40, 48)).astype(np.float32)
    runners = set()
    for M in (1, 16, 77, 130):
        a = RNG.standard_normal((M, 40)).astype(np.float32)
        c = kernel(a, b)
        runners.add(id(kernel.runner))
        assert c.shape == (M, 48)
        np.testing.assert_allclose(c, 2 * (a @ b), rtol=1e-5, atol=1e-4)
    assert len(runners) == 1
    assert '"M"' in kernel.runner.lowered.script()  # one symbolic M, not a specialized size


def test_dynamic_sizes_must_agree_between_arguments(loaded):
    k = build(instantiate(loaded, "rowsum_dyn(8)"))
    x = RNG.standard_normal((21, 16)).astype(np.float32)
    y = RNG.standard_normal((3, 16)).astype(np.float32)
    s = np.zeros(21, np.float32)
    k(x, y, s)
    np.testing.assert_allclose(s, 0.5 * (x.sum(1) + y[0].sum()), rtol=1e-5, atol=1e-5)
    with pytest.raises(KernelError, match="size m is 21 from an earlier argument but 20 from 'S'"):
        k(x, y, np.zeros(20, np.float32))


def test_while_break_continue_match_python(loaded):
    k = build(instantiate(loaded, "loops(40)"))
    a = RNG.integers(-2, 6, (40, 8)).astype(np.int32)
    o, s = np.zeros(40, np.int32), np.zeros(40, np.int32)
    k(a, o, s)
    ref_o, ref_s = [], []
    for row in a:
        acc = 0
        for x in row:
            if x < 0:
                break
            if x == 3:
                continue
            acc += x
        ref_o.append(acc)
        kk = steps = 0
        while kk < row[0] * 10 + 25:
            kk += 7
            steps += 1
            if steps == 5:
                break
        ref_s.append(steps * 8)  # the trace-time while doubles three times (j = 1, 3, 4)
    np.testing.assert_array_equal(o, ref_o)
    np.testing.assert_array_equal(s, ref_s)


def test_break_in_t_parallel_is_not_supported_and_located(loaded):
    with pytest.raises(CompileError, match=r"ext.py:\d+:\d+: TL950 not supported yet: `break` in a T.Parallel loop"):
        instantiate(loaded, "break_in_parallel(8)")


@pytest.mark.parametrize("M,N,bM", [(8, 6, 4), (12, 5, 3)])
def test_reshape_shares_storage(loaded, M, N, bM):
    k = build(instantiate(loaded, f"reshape_k({M}, {N}, {bM})"))
    a = RNG.standard_normal((M, N)).astype(np.float32)
    b, r = np.zeros(M * N, np.float32), np.zeros((M // bM, bM), np.float32)
    k(a, b, r)
    np.testing.assert_allclose(b, 2 * a.ravel(), rtol=1e-6)
    np.testing.assert_allclose(r.ravel(), 2 * a.sum(1), rtol=1e-5, atol=1e-5)


def test_view_of_a_global_tensor(loaded):
    k = build(instantiate(loaded, "view_global(5, 7)"))
    a = RNG.standard_normal((5, 7)).astype(np.float32)
    o = np.zeros(35, np.float32)
    k(a, o)
    np.testing.assert_allclose(o, a.ravel() + 1, rtol=1e-6)


def test_reshape_element_count_checked(loaded):
    with pytest.raises(CompileError, match=r"TL951 T.reshape/view shape check failed: \[5, 8\] holds 40 elements"):
        instantiate(loaded, "reshape_wrong(4)")


def test_view_to_another_dtype_not_supported(loaded):
    with pytest.raises(CompileError, match=r"TL950 not supported yet: T.view to another dtype"):
        instantiate(loaded, "view_dtype(4)")


def test_endless_trace_time_while_is_a_located_error(tmp_path):
    path = tmp_path / "endless.py"
    path.write_text('''
import tilelang.language as T


def endless(n):
    @T.prim_func
    def main(A: T.Tensor((n,), "float32")):
        with T.Kernel(1) as bx:
            while True:
                A[0] = A[0] + 1.0
    return main
''')
    with pytest.raises(CompileError, match=r"endless.py:9:13: TL951 while loop still running after 10000 iterations"):
        instantiate(load(path), "endless(4)")


CORPUS = Path("/work/corpus/examples")


@pytest.mark.skipif(not CORPUS.exists(), reason="TileLang's examples are not on this machine")
@pytest.mark.parametrize("M,N,K,ta,tb", [(100, 72, 50, False, False), (64, 64, 64, True, True), (33, 17, 40, False, True)])
def test_tilelang_dynamic_shape_example_matches_numpy(M, N, K, ta, tb):
    kernel = load(CORPUS / "dynamic_shape" / "example_dynamic.py").kernels["matmul_dynamic_mnk"]
    a = RNG.standard_normal((K, M) if ta else (M, K)).astype(np.float16)
    b = RNG.standard_normal((N, K) if tb else (K, N)).astype(np.float16)
    c = kernel(a, b, 64, 64, 32, ta, tb, "float16", "float16", "float32", 2, 128)
    af, bf = a.astype(np.float32), b.astype(np.float32)
    ref = (af.T if ta else af) @ (bf.T if tb else bf)
    np.testing.assert_allclose(c.astype(np.float32), ref, rtol=1e-2, atol=5e-2)


EAGER = '''
import tilelang
import tilelang.language as T


@tilelang.jit
def axpy_const(X, Y, block, alpha):
    N = T.const("N")
    X: T.Tensor((N,), "float32")
    Y: T.Tensor((N,), "float32")
    with T.Kernel(T.ceildiv(N, block)) as bx:
        for i in T.Parallel(block):
            Y[bx * block + i] = Y[bx * block + i] + alpha * X[bx * block + i]


@tilelang.jit
def axpy_dyn(X, Y, block, alpha):
    N = T.dynamic("N")
    X: T.Tensor((N,), "float32")
    Y: T.Tensor((N,), "float32")
    with T.Kernel(T.ceildiv(N, block)) as bx:
        for i in T.Parallel(block):
            Y[bx * block + i] = Y[bx * block + i] + alpha * X[bx * block + i]
'''


def test_eager_kernels_are_cached_by_arguments_and_const_sizes(tmp_path):
    path = tmp_path / "eager.py"
    path.write_text(EAGER)
    f = load(path)
    # calls: (n, alpha) = (10, 2), (37, 2), (10, 2) again, (37, 3), (100, 3)
    # T.const N builds once per distinct (N, alpha): 4; T.dynamic N once per alpha: 2
    for name, builds in (("axpy_const", 4), ("axpy_dyn", 2)):
        kernel = f.kernels[name]
        for n, alpha in ((10, 2.0), (37, 2.0), (10, 2.0), (37, 3.0), (100, 3.0)):
            x, y = RNG.standard_normal(n).astype(np.float32), RNG.standard_normal(n).astype(np.float32)
            expected = y + np.float32(alpha) * x
            kernel(x, y, 16, alpha)
            np.testing.assert_allclose(y, expected, rtol=1e-6, atol=1e-6)
        assert len(kernel._eager_cache) == builds, name


def test_t_dtype_as_type_constructor_and_annotation(tmp_path):
    """`T.dtype` as TileLang examples use it: a parameter annotation with a dtype default, built from a
    string, a T.* dtype or a NumPy dtype, `.bits`/`.bytes`, and used for allocations; NumPy-checked."""
    import numpy as np

    from compiler.frontend import language as L
    from compiler.loader import instantiate, load
    from compiler.runtime import build

    assert L.dtype("float16") == L.float16 and isinstance(L.dtype("half"), L.dtype)
    assert L.dtype(np.float32) == "float32" and L.dtype(np.dtype("int8")) == "int8"
    assert L.dtype(L.bfloat16).bits == 16 and L.dtype("float64").bytes == 8
    src = tmp_path / "k.py"
    src.write_text(
        "import tilelang\nimport tilelang.language as T\n\n\n"
        "def scale(n, block, dtype: T.dtype = T.float16, accum: T.dtype = 'float32'):\n"
        "    dtype = T.dtype(dtype)\n    accum = T.dtype(accum)\n\n"
        "    @T.prim_func\n"
        "    def main(X: T.Tensor((n,), dtype), Y: T.Tensor((n,), dtype)):\n"
        "        with T.Kernel(T.ceildiv(n, block)) as bx:\n"
        "            t = T.alloc_fragment((block,), accum)\n"
        "            T.copy(X[bx * block], t)\n"
        "            for i in T.Parallel(block):\n"
        "                t[i] = t[i] * T.dtype(accum)(3) + T.cast(dtype.bits, accum)\n"
        "            T.copy(t, Y[bx * block])\n"
        "    return main\n"
    )
    loaded = load(src)
    for request, np_dtype, bits in (("scale(40, 16)", np.float16, 16), ("scale(40, 16, dtype='float32')",
                                                                          np.float32, 32)):
        x = np.linspace(-2, 2, 40).astype(np_dtype)
        y = np.zeros_like(x)
        build(instantiate(loaded, request))(x, y)
        np.testing.assert_allclose(y.astype(np.float32), x.astype(np.float32) * 3 + bits, rtol=1e-3, atol=1e-2)


def test_t_dtype_of_an_unsupported_name_is_not_supported():
    import pytest as _pytest

    from compiler.errors import NotSupported
    from compiler.frontend import language as L

    with _pytest.raises(NotSupported, match="float8_e4m3fn"):
        L.dtype("float8_e4m3fn")
