"""Warp-specialized kernels on the CPU: `T.ws` roles in program order, mbarriers as checked per-block state.

The example `examples/gemm_ws_barrier.py` (TMA producer, tensor-core consumer, a ring of stages handed
over with full/empty mbarriers) runs and matches NumPy at several sizes, with M/N/K tails and 1-3 stages.
Kernels whose barrier protocol is wrong fail with a located `BarrierError` naming the operation and the
barrier, never with a result. Tolerances: the example's fp16 output rtol 1e-2, atol 5e-2 (as the other
fp16 GEMMs); the float32 kernels below 1e-4.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tvm")

from compiler.errors import BarrierError, CompileError  # noqa: E402
from compiler.loader import instantiate, load  # noqa: E402
from compiler.runtime import build  # noqa: E402
from conftest import EXAMPLES  # noqa: E402

RNG = np.random.default_rng(5)


def f32(x):
    return np.asarray(x, dtype=np.float32)


@pytest.mark.parametrize("M,N,K,bM,bN,bK,stages", [
    (256, 256, 256, 128, 128, 32, 2),   # divisible, the example's tiles
    (130, 70, 100, 64, 64, 32, 2),      # M, N and K tails (100 = 3 * 32 + 4)
    (64, 96, 96, 32, 32, 16, 3),        # three stages: slots 0, 1, 2 and parities over two rounds
    (48, 40, 40, 32, 32, 16, 1),        # one stage: every iteration waits on the previous consumer
])
def test_gemm_ws_barrier_example_matches_numpy(M, N, K, bM, bN, bK, stages):
    loaded = load(EXAMPLES / "gemm_ws_barrier.py")
    kdef = instantiate(loaded, f"matmul_ws(M={M}, N={N}, K={K}, block_M={bM}, block_N={bN}, block_K={bK}, "
                               f"num_stages={stages})")
    kernel = build(kdef)
    a = RNG.standard_normal((M, K)).astype(np.float16)
    b = RNG.standard_normal((K, N)).astype(np.float16)
    alpha = np.array([0.5], np.float32)
    c = kernel(a, b, alpha)
    np.testing.assert_allclose(f32(c), 0.5 * (f32(a) @ f32(b)), rtol=1e-2, atol=5e-2)


def test_gemm_ws_barrier_eager_call_matches_numpy():
    loaded = load(EXAMPLES / "gemm_ws_barrier.py")
    a = RNG.standard_normal((96, 64)).astype(np.float16)
    b = RNG.standard_normal((64, 80)).astype(np.float16)
    c = loaded.namespace["matmul_ws"](a, b, np.array([2.0], np.float32), 32, 32, 16)
    np.testing.assert_allclose(f32(c), 2.0 * (f32(a) @ f32(b)), rtol=1e-2, atol=5e-2)


def test_tile_ir_keeps_roles_and_barrier_ops():
    loaded = load(EXAMPLES / "gemm_ws_barrier.py")
    script = instantiate(loaded, "matmul_ws(M=128, N=128, K=64, block_M=64, block_N=64, block_K=32)").script()
    assert '"tl.warp_specialize", "0"' in script and '"tl.warp_specialize", "1"' in script
    for op in ("tl.barrier_init", "tl.barrier_wait", "tl.barrier_arrive", "tl.tma_copy"):
        assert op in script, op


# A float32 version of the same protocol; the variants below break it one way each.
KERNEL = '''import tilelang
import tilelang.language as T


@tilelang.jit
def gemm(A, B, block: int = 32, num_stages: int = 2):
    M, N, K = T.const("M, N, K")
    A: T.Tensor((M, K), T.float32)
    B: T.Tensor((K, N), T.float32)
    C = T.empty((M, N), T.float32)

    with T.Kernel(T.ceildiv(N, block), T.ceildiv(M, block), threads=256) as (bx, by):
        A_s = T.alloc_shared((num_stages, block, block), T.float32)
        B_s = T.alloc_shared((num_stages, block, block), T.float32)
        acc = T.alloc_fragment((block, block), T.float32)
        full = T.alloc_barrier([128] * num_stages)
        empty = T.alloc_barrier([128] * num_stages)
        with T.ws(0):
            T.clear(acc)
        for ko in range(T.ceildiv(K, block)):
            with T.ws(1):
                T.barrier_wait(empty[ko % num_stages], ((ko // num_stages) % 2) ^ 1)
                T.tma_copy(A[by * block, ko * block], A_s[ko % num_stages, :, :], barrier=full[ko % num_stages])
                T.tma_copy(B[ko * block, bx * block], B_s[ko % num_stages, :, :], barrier=full[ko % num_stages])
                T.barrier_arrive(full[ko % num_stages])
            with T.ws(0):
                T.barrier_wait(full[ko % num_stages], (ko // num_stages) % 2)
                T.gemm(A_s[ko % num_stages, :, :], B_s[ko % num_stages, :, :], acc)
                T.barrier_arrive(empty[ko % num_stages])
        with T.ws(0):
            T.copy(acc, C[by * block, bx * block])
    return C
'''

PRODUCER = '''            with T.ws(1):
                T.barrier_wait(empty[ko % num_stages], ((ko // num_stages) % 2) ^ 1)
                T.tma_copy(A[by * block, ko * block], A_s[ko % num_stages, :, :], barrier=full[ko % num_stages])
                T.tma_copy(B[ko * block, bx * block], B_s[ko % num_stages, :, :], barrier=full[ko % num_stages])
                T.barrier_arrive(full[ko % num_stages])
'''
CONSUMER = '''            with T.ws(0):
                T.barrier_wait(full[ko % num_stages], (ko // num_stages) % 2)
                T.gemm(A_s[ko % num_stages, :, :], B_s[ko % num_stages, :, :], acc)
                T.barrier_arrive(empty[ko % num_stages])
'''
WAIT_FULL = "T.barrier_wait(full[ko % num_stages], (ko // num_stages) % 2)"


def _run(tmp_path: Path, source: str, M: int = 64, N: int = 40, K: int = 96):
    path = tmp_path / "k.py"
    path.write_text(source)
    loaded = load(path)
    a = RNG.standard_normal((M, K)).astype(np.float32)
    b = RNG.standard_normal((K, N)).astype(np.float32)
    return loaded.namespace["gemm"](a, b), a @ b


def _line(source: str, text: str) -> int:
    return next(k for k, line in enumerate(source.splitlines(), 1) if text in line)


def test_correct_protocol_in_float32_matches(tmp_path: Path):
    assert PRODUCER in KERNEL and CONSUMER in KERNEL
    c, ref = _run(tmp_path, KERNEL)
    np.testing.assert_allclose(c, ref, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("variant,old,new,line_of,expect", [
    ("missing arrive", "                T.barrier_arrive(full[ko % num_stages])\n", "", WAIT_FULL,
     ["full[0] with parity 0, which has not completed", "0 of 128 arrivals"]),
    ("wrong parity", WAIT_FULL, "T.barrier_wait(full[ko % num_stages], ((ko // num_stages) % 2) ^ 1)",
     "T.barrier_wait(full[ko % num_stages], ((ko", ["full[0] with parity 1, which has not completed",
                                                    "has completed 1 phase(s)"]),
    ("arrive count larger than the arriving group", "full = T.alloc_barrier([128] * num_stages)",
     "full = T.alloc_barrier([256] * num_stages)", WAIT_FULL, ["128 of 256 arrivals"]),
    ("consumer role written before the producer", PRODUCER + CONSUMER, CONSUMER + PRODUCER, WAIT_FULL,
     ["full[0] with parity 0, which has not completed", "program order"]),
    ("parity not 0 or 1", WAIT_FULL, "T.barrier_wait(full[ko % num_stages], 2)",
     "T.barrier_wait(full[ko % num_stages], 2)", ["parity 2", "0 or 1"]),
    ("barrier index out of range", "T.barrier_arrive(empty[ko % num_stages])", "T.barrier_arrive(empty[ko])",
     "T.barrier_arrive(empty[ko])", ["empty[2], but empty holds 2 barrier(s)"]),
])
def test_wrong_protocol_fails_loudly(tmp_path: Path, variant, old, new, line_of, expect):
    assert old in KERNEL, variant
    source = KERNEL.replace(old, new)
    with pytest.raises(BarrierError) as info:
        _run(tmp_path, source)
    err = info.value
    assert isinstance(err, CompileError) and err.diagnostic.code == "TL951"
    assert err.line == _line(source, line_of), (variant, str(err))
    assert "barrier protocol error in block (bx=0, by=0)" in str(err)
    for text in expect:
        assert text in str(err), (variant, str(err))


def test_in_place_outputs_are_untouched_when_a_barrier_check_fails(tmp_path: Path):
    source = '''import tilelang.language as T


def k(n):
    @T.prim_func
    def main(A: T.Tensor((n,), "float32"), O: T.Tensor((n,), "float32")):
        with T.Kernel(1, threads=128) as bx:
            s = T.alloc_shared((n,), "float32")
            bar = T.alloc_barrier(128)
            T.tma_copy(A[0:n], s, barrier=bar)
            T.barrier_wait(bar, 0)
            T.copy(s, O)
    return main
'''
    path = tmp_path / "k.py"
    path.write_text(source)
    kernel = build(instantiate(load(path), "k(16)"))
    a, o = np.arange(16, dtype=np.float32), np.full(16, -1.0, np.float32)
    with pytest.raises(BarrierError, match=r"`T.barrier_wait\(bar, 0\)` waits for the phase of bar\[0\]"):
        kernel(a, o)
    assert (o == -1.0).all()
    fixed = source.replace("            T.barrier_wait(bar, 0)", "            T.barrier_arrive(bar)\n"
                                                                 "            T.barrier_wait(bar, 0)")
    path.write_text(fixed)
    build(instantiate(load(path), "k(16)"))(a, o)
    np.testing.assert_array_equal(o, a)


def test_arrivals_count_the_threads_that_execute_the_arrive(tmp_path: Path):
    """Outside T.ws every thread of the block arrives (256 here); inside T.ws(0, 1) both groups do; a
    256-count barrier completes a phase on either, and on one T.ws(0) arrive it does not."""
    template = '''import tilelang.language as T


def k(n):
    @T.prim_func
    def main(A: T.Tensor((n,), "float32"), O: T.Tensor((n,), "float32")):
        with T.Kernel(1, threads=256) as bx:
            bar = T.alloc_barrier(256)
{arrive}
            T.barrier_wait(bar, 0)
            for i in T.Parallel(n):
                O[i] = A[i] * 2
    return main
'''
    a = np.arange(8, dtype=np.float32)
    for arrive, ok in (("            T.barrier_arrive(bar)", True),
                       ("            with T.ws(0, 1):\n                T.barrier_arrive(bar)", True),
                       ("            with T.ws(0):\n                T.barrier_arrive(bar)", False),
                       ("            with T.ws(0):\n                T.barrier_arrive(bar)\n"
                        "            with T.ws(1):\n                T.mbarrier_arrive(bar)", True)):
        path = tmp_path / "k.py"
        path.write_text(template.format(arrive=arrive))
        kernel = build(instantiate(load(path), "k(8)"))
        o = np.zeros(8, np.float32)
        if ok:
            kernel(a, o)
            np.testing.assert_array_equal(o, 2 * a)
        else:
            with pytest.raises(BarrierError, match="128 of 256 arrivals"):
                kernel(a, o)


@pytest.mark.parametrize("body,message", [
    ("with T.ws(2):\n                O[0] = A[0]", "not supported yet: T.ws(2,): the block has 256 threads"),
    ("bar = T.alloc_barrier([128, 0])", "alloc_barrier: arrive_count must be at least 1, got [128, 0]"),
    ("s = T.alloc_shared((8,), 'float32')\n            bar = T.alloc_barrier(128)\n"
     "            T.tma_copy(A[0:8], s)", "T.tma_copy() requires a barrier argument"),
    ("s = T.alloc_shared((8,), 'float32')\n            T.barrier_arrive(s)",
     "'s' is not a barrier from T.alloc_barrier"),
    ("bar = T.alloc_barrier([128, 128])\n            T.barrier_arrive(bar)",
     "mbarrier must be a single element buffer"),
    ("bar = T.alloc_barrier(128)\n            T.mbarrier_arrive(bar, cta_id=1)",
     "not supported yet: T.mbarrier_arrive(..., cta_id=...)"),
])
def test_barrier_misuse_is_a_located_compile_error(tmp_path: Path, body, message):
    path = tmp_path / "k.py"
    path.write_text('''import tilelang.language as T


def k():
    @T.prim_func
    def main(A: T.Tensor((8,), "float32"), O: T.Tensor((8,), "float32")):
        with T.Kernel(1, threads=256) as bx:
            ''' + body + '''
    return main
''')
    with pytest.raises(CompileError) as info:
        instantiate(load(path), "k()")
    assert message in info.value.diagnostic.message, info.value.diagnostic.message
    assert info.value.line >= 8
