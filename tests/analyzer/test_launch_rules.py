"""TL5xx (launch and target) and TL104 (register estimate) beyond the documented examples."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from analyzer.config import Config
from analyzer.diagnostics import Severity
from analyzer.engine import analyze_module, analyze_source
from analyzer.model import Op
from analyzer.registers import BASELINE, cap_for, estimate_registers, held_buffers
from analyzer.rules import REGISTRY
from analyzer.rules.launch import buildable, check_arch_features
from analyzer.source import SourceFile

HEADER = "import tilelang\nimport tilelang.language as T\n\n\n"


def _diags(source: str, code: str, arches: tuple[str, ...] = ("sm_80",)):
    report = analyze_source(source, "k.py", Config(arches=arches))
    return [d for d in report.diagnostics if d.code == code]


def _models(source: str, arches: tuple[str, ...] = ("sm_80",)):
    return analyze_module(SourceFile.from_text(source, "k.py"), Config(arches=arches)).models


# --------------------------------------------------------------------------- TL501 / TL502 / TL503

SCALE = HEADER + '''@T.prim_func
def main(A: T.Tensor((1 << 20,), "float32"), B: T.Tensor((1 << 20,), "float32")):
    with T.Kernel(1024, threads={threads}) as bx:
        for i in T.Parallel(1024):
            B[bx * 1024 + i] = A[bx * 1024 + i] * 2
'''


def test_tl501_more_than_1024_threads_is_an_error_on_the_launch() -> None:
    [d] = _diags(SCALE.format(threads=2048), "TL501", ("sm_80", "sm_90"))
    assert d.severity is Severity.ERROR and d.arch is None
    assert "threads=2048 asks for 2048 threads per block, more than the 1024" in d.message
    assert "'invalid argument'" in d.message
    assert (d.range.start.line, d.range.start.character) == (6, 9)  # the T.Kernel(...) call
    # the product of the dimensions counts
    [d] = _diags(SCALE.format(threads="(64, 32)"), "TL501")
    assert "threads=(64, 32) asks for 2048 threads" in d.message
    assert _diags(SCALE.format(threads=1024), "TL501") == []


def test_tl501_block_extents_and_non_positive_threads() -> None:
    [d] = _diags(SCALE.format(threads="(1, 1, 128)"), "TL501")
    assert "at most (1024, 1024, 64) threads along (x, y, z)" in d.message
    assert _diags(SCALE.format(threads="(2, 8, 64)"), "TL501") == []
    [d] = _diags(SCALE.format(threads=0), "TL501")
    assert "ValueError: threads must be positive" in d.message


PIPE = HEADER + '''def stream(M, threads):
    @T.prim_func
    def main(A: T.Tensor((M, 1024), "float16"), B: T.Tensor((M, 64), "float16")):
        with T.Kernel(T.ceildiv(M, 128), threads=threads) as bx:
            S = T.alloc_shared((128, 64), "float16")
            acc = T.alloc_fragment((128, 64), "float32")
            T.clear(acc)
            for k in T.Pipelined(16, num_stages=2):
                T.copy(A[bx * 128, k * 64], S)
                for i, j in T.Parallel(128, 64):
                    acc[i, j] += S[i, j]
            T.copy(acc, B[bx * 128, 0])

    return main


kernel = stream(4096, {threads})
'''


def test_tl501_counts_the_producer_warp_group_of_warp_specialized_hopper_kernels() -> None:
    # TileLang warp-specializes the TMA-fed pipeline on sm_90: 1024 + 128 threads (checked: __launch_bounds__(1152, 1))
    [d] = _diags(PIPE.format(threads=1024), "TL501", ("sm_80", "sm_90"))
    assert d.arch == "sm_90" and d.severity is Severity.ERROR
    assert "plus the 128-thread producer warp group" in d.message and "1152 threads" in d.message
    assert "at most 896 threads" in d.message
    assert _diags(PIPE.format(threads=896), "TL501", ("sm_80", "sm_90")) == []


def test_tl502_partial_warps_of_the_block() -> None:
    [d] = _diags(SCALE.format(threads=48), "TL502")
    assert d.severity is Severity.WARNING
    assert "threads=48 is not a multiple of 32: the last warp runs 16 of 32 lanes" in d.message
    assert "e.g. 64" in d.message
    # a block smaller than one warp is a deliberate small kernel
    assert _diags(SCALE.format(threads=16), "TL502") == []
    assert _diags(SCALE.format(threads=1), "TL502") == []


GUARD = HEADER + '''@T.prim_func
def main(A: T.Tensor((4096,), "float32"), B: T.Tensor((4096,), "float32")):
    with T.Kernel(64, threads=64) as bx:
        tx = T.get_thread_binding()
        S = T.alloc_shared((64,), "float32")
        if tx < {guard}:
            for k in T.serial(4):
                S[tx] = A[bx * 64 + tx] + k
                {read}
'''


def test_tl502_guarded_thread_ranges_that_share_memory() -> None:
    shared = "B[bx * 64 + tx] = S[{n} - 1 - tx]"
    [d] = _diags(GUARD.format(guard=48, read=shared.format(n=48)), "TL502")
    assert "the if branch runs 48 threads, not a multiple of 32, and both writes and reads shared S" in d.message
    assert "[ThreadSync] Cannot lower a required shared-memory sync" in d.message
    assert d.range.start.line == 9  # the `if`
    # fewer threads than a warp: TileLang 0.1.15 drops the barrier silently (checked in the generated CUDA)
    [d] = _diags(GUARD.format(guard=16, read=shared.format(n=16)), "TL502")
    assert "drops the barrier" in d.message
    # whole warps, one thread, or no shared read: nothing
    assert _diags(GUARD.format(guard=32, read=shared.format(n=32)), "TL502") == []
    assert _diags(GUARD.format(guard=1, read=shared.format(n=1)), "TL502") == []
    assert _diags(GUARD.format(guard=48, read="B[bx * 64 + tx] = A[bx * 64 + tx]"), "TL502") == []


GRID = HEADER + '''@T.prim_func
def main(A: T.Tensor((128,), "float32")):
    with T.Kernel({grid}, threads={threads}) as b:
        A[0] = 1.0
'''


def test_tl503_grid_dimensions_and_limits() -> None:
    [d] = _diags(GRID.format(grid="2, 2, 2, 2", threads=32), "TL503")
    assert d.severity is Severity.ERROR
    assert "T.Kernel has 4 grid extents (2, 2, 2, 2) but a CUDA grid has at most 3" in d.message
    assert "grid_size.size() <= 3" in d.message
    [d] = _diags(GRID.format(grid="2", threads="(2, 2, 2, 2)"), "TL503")
    assert "threads has 4 extents" in d.message and "block_size.size() <= 3" in d.message
    [d] = _diags(GRID.format(grid="1, 70000", threads=32), "TL503")
    assert "grid extent y is 70000, more than the 65535" in d.message
    [d] = _diags(GRID.format(grid="1, 1, 65536", threads=32), "TL503")
    assert "grid extent z is 65536" in d.message
    [d] = _diags(GRID.format(grid="0", threads=32), "TL503")
    assert "grid extent x is 0" in d.message
    # x may be large; symbolic extents are not judged
    assert _diags(GRID.format(grid="1 << 24, 65535", threads=32), "TL503") == []
    assert _diags(HEADER + '''@T.prim_func
def main(A: T.Tensor((128,), "float32"), n: T.int32):
    with T.Kernel(1, n, threads=32) as (bx, by):
        A[0] = 1.0
''', "TL503") == []


# --------------------------------------------------------------------------- TL504

BARRIERS = HEADER + '''@T.prim_func
def main(A: T.Tensor((1024,), "float32")):
    with T.Kernel(1, threads=128) as bx:
        full = T.alloc_barrier(128)
        empty = T.alloc_barrier(128)
        T.mbarrier_arrive(full[0])
        T.mbarrier_wait_parity(empty[0], 0)
        for i in T.Parallel(128):
            A[i] = 1.0
'''


def test_tl504_one_error_per_arch_below_sm90_with_the_other_uses_related() -> None:
    found = _diags(BARRIERS, "TL504", ("sm_80", "sm_86", "sm_89", "sm_90"))
    assert sorted(d.arch for d in found) == ["sm_80", "sm_86", "sm_89"]
    d = found[0]
    assert d.severity is Severity.ERROR
    assert "T.alloc_barrier (hardware mbarrier) needs sm_90 or later but the kernel is built for" in d.message
    assert "(and 1 more uses)" in d.message
    assert "'T.alloc_barrier() requires sm_90 (Hopper) or later'" in d.message
    assert (d.range.start.line, d.range.start.character) == (7, 15)  # the first T.alloc_barrier
    assert [r.range.start.line for r in d.related] == [8]


TCGEN05 = HEADER + '''@T.prim_func
def main(A: T.Tensor((128, 128), T.bfloat16), B: T.Tensor((128, 128), T.bfloat16), D: T.Tensor((128, 128), T.bfloat16)):
    with T.Kernel(1, threads=128):
        A_shared = T.alloc_shared((128, 128), T.bfloat16)
        B_shared = T.alloc_shared((128, 128), T.bfloat16)
        C_tmem = T.alloc_tmem((128, 128), T.float32)
        mbar = T.alloc_barrier(1)
        C_local = T.alloc_fragment((128, 128), T.float32)
        T.copy(A[0:128, 0:128], A_shared)
        T.copy(B[0:128, 0:128], B_shared)
        T.tcgen05_gemm(A_shared, B_shared, C_tmem, transpose_B=True, mbar=mbar)
        T.mbarrier_wait_parity(mbar, 0)
        T.copy(C_tmem, C_local)
        T.copy(C_local, D[0:128, 0:128])
'''


def test_tl504_blackwell_tcgen05_and_hopper_only_wgmma() -> None:
    found = _diags(TCGEN05, "TL504", ("sm_90", "sm_100", "sm_120"))
    # checked with TileLang: tcgen05 lowers for sm_100 only; the barrier is fine from sm_90 on
    assert sorted(d.arch for d in found) == ["sm_120", "sm_90"]
    assert all("T.tcgen05_gemm (tcgen05, sm_100/sm_103/sm_110) needs sm_100 to sm_110" in d.message for d in found)
    wgmma = REGISTRY["TL504"].valid[1].source  # an explicit wgmma that lowers on sm_90
    [d] = _diags(wgmma, "TL504", ("sm_90", "sm_100"))
    assert d.arch == "sm_100" and "T.wgmma_gemm (wgmma) needs Hopper (sm_90)" in d.message


def test_tl504_explicit_wgmma_preconditions_on_sm90() -> None:
    source = REGISTRY["TL504"].valid[1].source
    [d] = _diags(source.replace("threads=128", "threads=64"), "TL504", ("sm_90",))
    assert "64 threads are not whole warp groups (a multiple of 128)" in d.message
    [d] = _diags(source.replace('"float16"', '"float8_e4m3fn"').replace('C: T.Tensor((M, N), "float32")',
                                                                        'C: T.Tensor((M, N), "float32")'),
                 "TL504", ("sm_90",))
    assert "float8_e4m3fn operands need K-major tiles (transpose_A=False, transpose_B=True" in d.message
    # the same kernel with free sizes: the extents are guesses, no constraint error
    free = source.replace("kernel = matmul(1024, 1024, 1024)\n", "").replace("block_M=128", "block_M=32")
    assert _diags(free, "TL504", ("sm_90",)) == []


def test_tl504_calls_without_buffers_once_the_model_records_them() -> None:
    # The interpreter records a T.* call only when it writes a buffer; a recorded fence is reported.
    [model] = _models(SCALE.format(threads=128))
    assert buildable(model, "sm_80")
    model.body.append(Op("call", "fence_proxy_async", (), model.launch.span))
    model.cache.clear()
    found = list(check_arch_features(model, Config(arches=("sm_80", "sm_90"))))
    assert [d.arch for d in found] == ["sm_80"]
    assert "T.fence_proxy_async needs sm_90 or later" in found[0].message
    assert "tl::fence_proxy_async requires sm_90 or later" in found[0].message
    assert not buildable(model, "sm_80") and buildable(model, "sm_90")


# --------------------------------------------------------------------------- TL505

JIT_GEMM = HEADER + '''@tilelang.jit(target={target})
def matmul(M, N, K, block_M=128, block_N=128, block_K=32, stages=2):
    @T.prim_func
    def main(A: T.Tensor((M, K), "float16"), B: T.Tensor((K, N), "float16"), C: T.Tensor((M, N), "float32")):
        with T.Kernel(T.ceildiv(N, block_N), T.ceildiv(M, block_M), threads=128) as (bx, by):
            A_s = T.alloc_shared((block_M, block_K), "float16")
            B_s = T.alloc_shared((block_K, block_N), "float16")
            C_l = T.alloc_fragment((block_M, block_N), "float32")
            T.clear(C_l)
            for k in T.Pipelined(T.ceildiv(K, block_K), num_stages=stages):
                T.copy(A[by * block_M, k * block_K], A_s)
                T.copy(B[k * block_K, bx * block_N], B_s)
                {body}
            T.copy(C_l, C[by * block_M, bx * block_N])

    return main


kernel = matmul(1024, 1024, 1024)
'''
GEMM = "T.gemm(A_s, B_s, C_l)"
ADD = "for i, j in T.Parallel(block_M, block_N):\n                    C_l[i, j] += A_s[i, 0] * B_s[0, j]"


@pytest.mark.parametrize("target", ['{"kind": "cuda", "arch": "sm_90"}', '"cuda -arch=sm_90"',
                                    'tvm.target.Target({"kind": "cuda", "arch": "sm_90"})'])
def test_tl505_plain_sm90_target_with_wgmma(target: str) -> None:
    source = JIT_GEMM.format(target=target, body=GEMM)
    if "tvm." in target:
        source = source.replace("import tilelang\n", "import tilelang\nfrom tilelang import tvm\n")
    [d] = _diags(source, "TL505", ("sm_80",))  # the file's own target decides, not --arch
    assert d.severity is Severity.ERROR and d.arch == "sm_90"
    assert "T.gemm lowers to wgmma on Hopper, which exists only in sm_90a" in d.message
    assert "nvcc rejects the setmaxnreg" in d.message  # the pipeline is warp-specialized
    assert d.range.start.line == 16 + ("tvm." in target)  # the T.gemm


def test_tl505_without_warp_specialization_the_kernel_traps() -> None:
    source = JIT_GEMM.format(target='{"kind": "cuda", "arch": "sm_90"}', body=GEMM).replace(
        "@tilelang.jit(target=", "@tilelang.jit(pass_configs={\"tl.disable_warp_specialized\": True}, target=")
    [d] = _diags(source, "TL505")
    assert "device-side assert ('Attempting to use wgmma.fence without CUTE_ARCH_MMA_SM90A_ENABLED')" in d.message


def test_tl505_warp_specialization_alone_is_a_warning_and_good_targets_are_clean() -> None:
    [d] = _diags(JIT_GEMM.format(target='{"kind": "cuda", "arch": "sm_90"}', body=ADD), "TL505")
    assert d.severity is Severity.WARNING and "setmaxnreg" in d.message
    for target in ('{"kind": "cuda", "arch": "sm_90a"}', '"cuda"', '"auto"'):
        assert _diags(JIT_GEMM.format(target=target, body=GEMM), "TL505") == []
    # M=32: T.gemm runs as mma.sync; only the warp specialization (setmaxnreg) is left, a warning
    plain = JIT_GEMM.format(target='{"kind": "cuda", "arch": "sm_90"}', body=GEMM).replace("block_M=128", "block_M=32")
    assert [d.severity for d in _diags(plain, "TL505")] == [Severity.WARNING]
    # a plain sm_90 named elsewhere in the file (to inspect the IR) is not followed
    other = JIT_GEMM.format(target='"cuda"', body=GEMM) + 'TARGET = {"kind": "cuda", "arch": "sm_90"}\n'
    assert _diags(other, "TL505") == []


# --------------------------------------------------------------------------- TL506


def test_tl506_names_the_missing_wgmma_precondition() -> None:
    source = REGISTRY["TL506"].valid[0].source
    assert _diags(source, "TL506", ("sm_90",)) == []
    [d] = _diags(source.replace("block_M=128", "block_M=32"), "TL506", ("sm_80", "sm_90"))
    assert d.severity is Severity.INFORMATION and d.arch == "sm_90"
    assert d.message.startswith("on sm_90 this T.gemm runs as mma.sync, not wgmma: M=32 is below 64")
    [d] = _diags(source.replace("threads=128", "threads=64"), "TL506", ("sm_90",))
    assert "64 threads are not whole warp groups" in d.message
    # only reported when Hopper is a target, and not when wgmma is switched off on purpose
    assert _diags(source.replace("block_M=128", "block_M=32"), "TL506", ("sm_80", "sm_89")) == []
    off = source.replace("def matmul(", '@tilelang.jit(pass_configs={"tl.disable_wgmma": True})\ndef matmul(')
    assert _diags(off.replace("block_M=128", "block_M=32"), "TL506", ("sm_90",)) == []


# --------------------------------------------------------------------------- TL104 and the estimate


def test_cap_follows_launch_bounds() -> None:
    # ptxas under __launch_bounds__(threads, 1): checked 128 -> 255, 512 -> 128, 1024 -> 64 registers
    assert [cap_for(t) for t in (32, 128, 256, 384, 512, 1024)] == [255, 255, 255, 168, 128, 64]


def test_estimate_of_a_gemm() -> None:
    [model] = _models(REGISTRY["TL207"].valid[0].source)  # 64 x 128 fp32 accumulator, 128 threads
    est = estimate_registers(model, "sm_80")
    names = {p.name: p.registers for p in est.parts}
    # C_local: 64 * 128 / 128 threads = 64 fp32; the mma.sync k-step tiles: 2x2 warps, A 32 rows and B 64
    # columns by 16, fp16: 8 + 16 registers
    assert names == {"C_local": 64, "T.gemm tiles of A_shared/B_shared": 24}
    assert est.total == BASELINE + 64 + 24
    # wgmma reads shared memory: no operand tiles on sm_90
    assert estimate_registers(model, "sm_90").total == BASELINE + 64


STREAM = HEADER + '''@T.prim_func
def main(A: T.Tensor((1024, 1024), "float16"), x: T.Tensor((1024,), "float16"), o: T.Tensor((1024,), "float32")):
    with T.Kernel(8, threads=128) as bm:
        acc = T.alloc_fragment((128,), "float32")
        T.clear(acc)
        for kn in T.Pipelined(8, num_stages=2):
            a_smem = T.alloc_shared((128, 128), "float16")
            T.copy(A[bm * 128, kn * 128], a_smem)
            a_frag = T.alloc_fragment((128, 128), "float16")
            T.copy(a_smem, a_frag)
            for i, j in T.Parallel(128, 128):
                acc[i] += a_frag[i, j] * x[kn * 128 + j]
        T.copy(acc, o[bm * 128])
'''


def test_estimate_streams_fragments_consumed_right_away() -> None:
    [model] = _models(STREAM)
    held = held_buffers(model)
    by_name = {b.name: b for b in model.buffers}
    assert id(by_name["acc"]) in held  # set up before the loop, carried through it
    assert id(by_name["a_frag"]) not in held  # copied in, then consumed element by element
    est = estimate_registers(model)
    assert [p.name for p in est.streamed] == ["a_frag"]
    assert est.total == BASELINE + 1


ROLES = HEADER + '''@T.prim_func
def main(A: T.Tensor((256, 128), "float32"), B: T.Tensor((256, 128), "float32")):
    with T.Kernel(1, threads=256) as bx:
        tx = T.get_thread_binding()
        left = T.alloc_fragment((128, 128), "float32")
        right = T.alloc_fragment((128, 128), "float32")
        S = T.alloc_shared((128,), "float32")
        if tx < 128:
            T.copy(A[0:128, 0:128], left)
            T.copy(left[0, 0:128], S)
            T.copy(left, B[0:128, 0:128])
        else:
            T.copy(A[128:256, 0:128], right)
            T.copy(right[0, 0:128], S)
            T.copy(right, B[128:256, 0:128])
'''


def test_estimate_counts_each_thread_role_separately() -> None:
    [model] = _models(ROLES)
    est = estimate_registers(model)
    # each branch runs 128 threads and holds one 128 x 128 fp32 fragment: 128 registers, not 256
    assert est.total == BASELINE + 128
    assert [p.name for p in est.parts] in (["left"], ["right"])


def test_estimate_ignores_loops_that_never_run() -> None:
    gemm = REGISTRY["TL207"].valid[0].source.replace("kernel = matmul(1024, 1024, 1024)", "kernel = matmul(1024, 1024, 0)")
    [model] = _models(gemm)
    assert estimate_registers(model).total == BASELINE  # K=0: the k-loop and the gemm are gone


def test_tl104_warns_only_well_over_the_limit() -> None:
    source = REGISTRY["TL104"].invalid[0].source
    [d] = _diags(source, "TL104", ("sm_80", "sm_90"))
    assert d.severity is Severity.WARNING and d.arch is None
    assert d.message.startswith("an estimated 536 registers per thread (x 512 + ~24 for indices and addresses)")
    assert "the 255 a thread may address on sm_80, sm_90" in d.message
    assert [r.message.split(":")[0] for r in d.related] == ["x"]
    # 1024 threads may only use 64 registers: 32 x 2048 fp32 over 1024 threads is 64 per thread, + 24
    [d] = _diags(source.replace("threads=128", "threads=1024"), "TL104")
    assert "an estimated 88 registers" in d.message and "the 64 a thread may use in a 1024-thread block" in d.message
    # within 15% of the limit: not reported (the estimate's error)
    near = source.replace("N=2048", "N=1024").replace("block_M=32", "block_M=31")
    [model] = _models(near)
    assert 255 < estimate_registers(model).total <= 255 * 1.15
    assert _diags(near, "TL104") == []


def test_tl104_skips_archs_the_kernel_cannot_be_built_for() -> None:
    # tcgen05 kernels are only built for sm_100: no register warning for sm_80/sm_90 on top of TL504
    big = TCGEN05.replace("C_local = T.alloc_fragment((128, 128), T.float32)",
                          "C_local = T.alloc_fragment((128, 128), T.float32)\n"
                          "        extra = T.alloc_fragment((128, 512), T.float32)")
    big = big.replace("T.copy(C_local, D[0:128, 0:128])",
                      "T.copy(C_local, D[0:128, 0:128])\n        T.clear(extra)\n        T.copy(extra, D[0:128, 0:128])")
    assert _diags(big, "TL104", ("sm_80", "sm_90")) == []


def test_registers_in_kernel_facts() -> None:
    report = analyze_source(REGISTRY["TL207"].valid[0].source, "k.py", Config(arches=("sm_80", "sm_90")))
    [kernel] = report.kernels
    assert kernel["registers_per_thread"] == BASELINE + 64 + 24
    assert "registers_per_thread" not in kernel["per_arch"]["sm_80"]  # the same as the kernel-level value
    assert kernel["per_arch"]["sm_90"]["registers_per_thread"] == BASELINE + 64


# --------------------------------------------------------------------------- the oracle helpers

ORACLE = Path(__file__).resolve().parents[1] / "oracle"


def test_oracle_helpers_for_launch_limits_and_exact_targets() -> None:
    if str(ORACLE) not in sys.path:
        sys.path.insert(0, str(ORACLE))
    import rule_examples as rx

    assert rx.launch_threads('__global__ void __launch_bounds__(2048, 1) k() {}\n'
                             '__global__ void __launch_bounds__(128, 1) k2() {}') == 2048
    assert rx.launch_threads("__global__ void k() {}") is None
    assert rx.explicit_target_arch(REGISTRY["TL505"].invalid[0].source) == "sm_90"
    assert rx.explicit_target_arch(REGISTRY["TL505"].valid[0].source) == "sm_90a"
    assert rx.explicit_target_arch(REGISTRY["TL504"].valid[0].source) is None


PINNED = HEADER + '''@tilelang.jit(target={{"kind": "cuda", "arch": "{arch}"}})
def barriers():
    @T.prim_func
    def main(A: T.Tensor((1024,), "float32")):
        with T.Kernel(1, threads=128) as bx:
            bar = T.alloc_barrier(128)
            T.mbarrier_arrive(bar[0])
            T.mbarrier_wait_parity(bar[0], 0)
            for i in T.Parallel(128):
                A[i] = 1.0

    return main


kernel = barriers()
'''


def test_tl504_a_kernel_pinned_to_an_arch_is_checked_for_that_arch_only() -> None:
    assert _diags(PINNED.format(arch="sm_90a"), "TL504", ("sm_80", "sm_86")) == []
    [d] = _diags(PINNED.format(arch="sm_86"), "TL504", ("sm_90",))
    assert d.arch == "sm_86" and "but its @tilelang.jit target is sm_86" in d.message
