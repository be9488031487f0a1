"""The CUDA back end's first level: each pass alone, CUDA C generation with launch metadata for every
example case, nvcc builds with the ptxas report (where nvcc is installed), and `tilec build --target cuda`.

Running the kernels needs a GPU: benchmarks/gpu_check.py does that (results/gpu_check.md)."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("tvm")

import tvm  # noqa: E402
from tvm import tirx  # noqa: E402

from compiler.cli import main as tilec  # noqa: E402
from compiler.cuda_codegen import build_artifact, generate_kernel, param_specs  # noqa: E402
from compiler.cuda_toolchain import find_nvcc  # noqa: E402
from compiler.ir import walk  # noqa: E402
from compiler.loader import instantiate, load  # noqa: E402
from compiler.passes import cuda_threads as C  # noqa: E402
from compiler.pipeline import CUDA_PIPELINE, lower  # noqa: E402
from compiler.runtime import to_module  # noqa: E402
from compiler.runtime.cuda import read_artifact  # noqa: E402
from conftest import EXAMPLES  # noqa: E402
from example_cases import CPU_CASES  # noqa: E402

needs_nvcc = pytest.mark.skipif(find_nvcc() is None, reason="nvcc is not installed")


def kernel(example: str, call: str):
    return instantiate(load(EXAMPLES / f"{example}.py"), call)


def module(example: str, call: str):
    return to_module(kernel(example, call))


def nodes(mod, cls):
    return [n for n in walk(mod["main"].body) if isinstance(n, cls)]


def scopes(mod) -> dict[str, str]:
    return {s.buffer.name: s.buffer.scope() for s in nodes(mod, tirx.AllocBuffer)}


def run_until(mod, last):
    for p in CUDA_PIPELINE:
        mod = p(mod)
        if p is last:
            return mod
    raise AssertionError(last)


GEMM = ("gemm_pipelined", "matmul(M=64, N=64, K=64, block_M=32, block_N=32, block_K=16)")
EW = ("elementwise_add", "elementwise_add(100, 70, 32, 32)")


F32_GEMM = '''
import tilelang.language as T

def matmul_f32(M=64, N=64, K=64, bm=32, bn=32, bk=16):
    @T.prim_func
    def main(A: T.Tensor((M, K), "float32"), B: T.Tensor((K, N), "float32"), C: T.Tensor((M, N), "float32")):
        with T.Kernel(N // bn, M // bm, threads=128) as (bx, by):
            A_shared = T.alloc_shared((bm, bk), "float32")
            B_shared = T.alloc_shared((bk, bn), "float32")
            C_local = T.alloc_fragment((bm, bn), "float32")
            T.clear(C_local)
            for ko in T.Pipelined(K // bk, num_stages=2):
                T.copy(A[by * bm, ko * bk], A_shared)
                T.copy(B[ko * bk, bx * bn], B_shared)
                T.gemm(A_shared, B_shared, C_local)
            T.copy(C_local, C[by * bm, bx * bn])
    return main
'''


@pytest.fixture
def simt(tmp_path):
    """A float32 gemm: no tensor-core path, so it stays SIMT and its accumulator in shared memory."""
    path = tmp_path / "f32.py"
    path.write_text(F32_GEMM)
    return to_module(instantiate(load(path), "matmul_f32()"))


def test_shared_arena_moves_shared_and_fragments_only(simt):
    mod = C.shared_arena(simt)
    s = scopes(mod)
    assert s == {"A_shared": "shared.dyn", "B_shared": "shared.dyn", "C_local": "shared.dyn"}
    # every use follows the new buffers: no load or store names an old one
    used = {n.buffer.scope() for n in nodes(mod, tirx.BufferStore)}
    assert "local.fragment" not in used


def test_tile_ops_become_parallel_element_nests(simt):
    mod = run_until(simt, C.lower_tile_ops_cuda)
    text = mod.script()
    assert "tl.copy" not in text and "tl.gemm" not in text and "tl.fill" not in text
    loops = nodes(mod, tirx.For)
    kinds = {str(loop.loop_var.name): loop.kind for loop in loops}
    assert kinds["i"] == tirx.ForKind.PARALLEL and kinds["j"] == tirx.ForKind.PARALLEL  # gemm outputs
    assert kinds["k"] == tirx.ForKind.SERIAL  # the reduction stays in one thread
    assert scopes(mod)["gemm_acc"] == "local"


def test_spread_parallel_spreads_each_parallel_nest_over_the_threads():
    mod = run_until(module(*EW), C.spread_parallel)
    loops = nodes(mod, tirx.For)
    bound = [lp for lp in loops if lp.kind == tirx.ForKind.THREAD_BINDING
             and str(lp.thread_binding.thread_tag) == "threadIdx.x"]
    assert len(bound) == 1 and int(bound[0].extent.value) == 256
    spread = [lp for lp in loops if C.SPREAD_KEY in lp.annotations]
    # copy A, copy B, the T.Parallel add, copy out: 32x32 = 1024 iterations over 256 threads = 4 rounds
    assert [int(lp.extent.value) for lp in spread] == [4, 4, 4, 4]
    assert not [lp for lp in loops if lp.kind == tirx.ForKind.PARALLEL]


SHARED_RMW = '''
import tilelang.language as T

def k(n=64):
    @T.prim_func
    def main(A: T.Tensor((n,), "float32")):
        with T.Kernel(1, threads=32) as bx:
            s = T.alloc_shared((n,), "float32")
            T.fill(s, 0)
            s[0] = s[0] + 1.0
            T.copy(s, A)
    return main
'''


def test_barriers_fence_shared_work_and_redundant_shared_stores_run_on_thread_0(tmp_path):
    path = tmp_path / "k.py"
    path.write_text(SHARED_RMW)
    mod = lower(to_module(instantiate(load(path), "k()")), "cuda")
    body = mod["main"].body
    syncs = [n for n in walk(body) if isinstance(n, tvm.ir.Call) and n.op.name == "tirx.tvm_storage_sync"]
    # before the fill, between it and the guarded store, between that and the copy, after the copy
    assert len(syncs) == 4
    guards = [n for n in walk(body) if isinstance(n, tirx.IfThenElse)
              and isinstance(n.condition, tirx.EQ) and "tx" in str(n.condition)]
    assert len(guards) == 1
    src = generate_kernel(instantiate(load(path), "k()"), "sm_90").source
    assert "if (((int)threadIdx.x) == 0)" in src


def test_a_barrier_after_a_cp_async_wait_is_kept():
    """Two barriers with only cp.async work between them are one, unless a wait sits between them: the data a
    wait completes reaches the other threads at the next barrier (an issue-then-wait pipeline order)."""
    tx = tirx.Var("tx", "int32")
    iv = tirx.IterVar(tvm.ir.Range(0, 32), tx, tirx.IterVar.ThreadIndex, "threadIdx.x")

    def call(name, *args):
        return tirx.Evaluate(tirx.call_extern("int32", name, *args))

    def barriers(seq):
        loop = tirx.For(tx, 0, 32, tirx.ForKind.THREAD_BINDING, tirx.SeqStmt(seq), iv)
        func = tirx.PrimFunc([], loop)
        out = C.insert_barriers(tvm.IRModule({"main": func}))
        return sum(1 for n in walk(out["main"].body)
                   if isinstance(n, tvm.ir.Call) and n.op.name == "tirx.tvm_storage_sync")

    sync, commit = C.sync_stmt(), call("tl_cp_async_commit")
    assert barriers([sync, commit, C.sync_stmt(), call("some_work")]) == 1
    assert barriers([sync, commit, call("tl_cp_async_wait", tirx.const(1, "int32")), C.sync_stmt(),
                     call("some_work")]) == 2


def test_atomics_become_atomic_add():
    src = generate_kernel(kernel("gemm_splitk", "matmul_splitk(64, 64, 128, 32, 32, 16, 2)"), "sm_90").source
    assert "atomicAdd(" in src


# (example, call, grid, threads, dynamic shared memory bytes): the arena holds every shared and fragment
# buffer, merged by TVM (buffers whose lifetimes do not overlap share bytes).
LAUNCH = [
    # both fragments in registers (cyclic layout): no shared memory at all
    ("elementwise_add", "elementwise_add(100, 70, 32, 32)", [3, 4, 1], 256, 0),
    # the accumulator in mma registers; A and B tiles in 3 versions (num_stages=3, cp.async pipeline)
    ("gemm_pipelined", "matmul(M=1024, N=1024, K=1024, block_M=128, block_N=128, block_K=32)", [8, 8, 1], 128,
     3 * (128 * 32 + 32 * 128) * 2),
    # a let-bound split offset in the copies' start: still whole 16-byte chunks, so 3 versions each
    ("gemm_splitk", "matmul_splitk(64, 64, 128, 32, 32, 16, 2)", [2, 2, 2], 128, 3 * (32 * 16 + 16 * 32) * 2),
    # an int8 gemm on mma.sync m16n8k32: the int32 accumulator in registers; int8 tiles in 2 versions
    ("gemm_int8", "matmul_int8(M=64, N=64, K=64, block_M=32, block_N=32, block_K=32)", [2, 2, 1], 128,
     2 * 2 * 32 * 32),
]


@pytest.mark.parametrize("example,call,grid,threads,smem", LAUNCH)
def test_launch_metadata(example, call, grid, threads, smem):
    b = generate_kernel(kernel(example, call), "sm_90")
    assert b.grid == grid and b.block == [threads, 1, 1] and b.dynamic_smem == smem
    assert b.entry == "main_kernel" and f'extern "C" __global__ void __launch_bounds__({threads}) main_kernel(' in b.source


@pytest.mark.parametrize("case", CPU_CASES, ids=lambda c: c.name)
def test_every_example_case_generates_cuda(case):
    k = kernel(case.example, case.call)
    b = generate_kernel(k, "sm_90")
    # every parameter reaches the kernel, by name (the kernel's own order is TVM's)
    assert {a["param"] for a in b.launch_args if "param" in a} == {p["name"] for p in param_specs(k.func)}
    assert "__global__" in b.source and b.block[0] in (128, 256)


def test_dynamic_sizes_and_scalars_reach_the_launch_metadata(tmp_path):
    path = tmp_path / "axpy.py"
    path.write_text('''
import tilelang.language as T

def axpy(block=128):
    N = T.dynamic("N")

    @T.prim_func
    def main(X: T.Tensor((N,), "float32"), Y: T.Tensor((N,), "float32"), alpha: T.float32):
        with T.Kernel(T.ceildiv(N, block), threads=128) as bx:
            for i in T.Parallel(block):
                Y[bx * block + i] = Y[bx * block + i] + alpha * X[bx * block + i]
    return main
''')
    k = instantiate(load(path), "axpy()")
    b = generate_kernel(k, "sm_90")
    assert b.grid == [{"floordiv": [{"add": ["N", 127]}, 128]}, 1, 1]
    assert b.launch_args == [{"param": "X"}, {"param": "Y"}, {"value": "N", "dtype": "int32"}, {"param": "alpha"}]
    assert param_specs(k.func)[2] == {"name": "alpha", "kind": "scalar", "dtype": "float32"}


@needs_nvcc
@pytest.mark.parametrize("arch", ["sm_80", "sm_90"])
def test_artifact_builds_with_ptxas_report(tmp_path, arch):
    k = kernel(*GEMM)
    result = build_artifact(k, arch, tmp_path, "gemm")
    art = read_artifact(tmp_path / "gemm.json")
    assert art.entry == "main_kernel" and art.arch == arch and art.cubin[:4] == b"\x7fELF"
    assert art.dynamic_smem == 3 * (32 * 16 + 16 * 32) * 2  # num_stages=3 versions of A and B
    assert art.resources["registers"] == result.resources.registers > 0
    assert art.resources["spill_store_bytes"] == 0 and art.resources["shared_bytes"] == 0
    assert [p.name for p in art.params] == ["A", "B", "C"] and art.out_idx == [2]


@needs_nvcc
def test_tilec_build_cuda_writes_the_artifact(tmp_path, capsys):
    rc = tilec(["build", str(EXAMPLES / "softmax.py"), "--instantiate", "softmax(32, 256, 4)", "--target", "cuda",
                "--arch", "sm_90", "-o", str(tmp_path)])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["main.cu", "main.cubin", "main.json", "main.tir.py"]
    doc = json.loads((tmp_path / "main.json").read_text())
    assert doc["grid"] == [8, 1, 1] and doc["block"] == [128, 1, 1]
    assert "registers" in out and "dynamic shared memory" in out


def test_tilec_build_cuda_emits_source_and_rejects_unsupported(capsys):
    rc = tilec(["build", str(EXAMPLES / "softmax.py"), "--instantiate", "softmax(32, 256, 4)", "--target", "cuda",
                "--emit", "cuda"])
    assert rc == 0 and "main_kernel" in capsys.readouterr().out
    rc = tilec(["build", str(EXAMPLES / "gemm_ws_barrier.py"), "--instantiate",
                "matmul_ws(M=256, N=256, K=256, block_M=128, block_N=128, block_K=64)", "--target", "cuda",
                "--arch", "sm_90a", "--emit", "cuda"])
    out = capsys.readouterr().out
    assert rc == 0 and "tl_mbarrier_wait(" in out and "tl_named_barrier(1, 128)" in out
    assert tilec(["build", str(EXAMPLES / "softmax.py"), "--target", "cuda", "--arch", "sm_75"]) == 2
