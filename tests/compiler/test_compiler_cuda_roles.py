"""T.ws roles and mbarriers on CUDA (compiler/passes/cuda_roles.py): each pass alone on the example's tile IR,
the generated source of examples/gemm_ws_barrier.py, nvcc builds for sm_90/sm_90a, and the refusals.
The GPU run is benchmarks/gpu_check.py (the gemm_ws_barrier cases of tests/example_cases.py)."""

from __future__ import annotations

import re
import textwrap

import pytest

pytest.importorskip("tvm")

import tvm  # noqa: E402
from tvm import tirx  # noqa: E402

from compiler.cuda_codegen import build_artifact, generate_kernel  # noqa: E402
from compiler.cuda_toolchain import find_nvcc  # noqa: E402
from compiler.errors import NotSupported  # noqa: E402
from compiler.ir import walk  # noqa: E402
from compiler.loader import instantiate, load  # noqa: E402
from compiler.passes.cuda_roles import lower_mbarriers, role_barriers, warp_roles  # noqa: E402
from compiler.passes.cuda_threads import ROLE_KEY, role_shape, thread_loops  # noqa: E402
from compiler.runtime import to_module  # noqa: E402
from conftest import EXAMPLES  # noqa: E402

needs_nvcc = pytest.mark.skipif(find_nvcc() is None, reason="nvcc is not installed")
WS = "matmul_ws(M=128, N=128, K=128, block_M=64, block_N=64, block_K=32, num_stages=2)"


def ws_kernel(call: str = WS):
    return instantiate(load(EXAMPLES / "gemm_ws_barrier.py"), call)


def roles_of(mod):
    return [n for f in mod.functions.values() for n in walk(f.body)
            if isinstance(n, tirx.AttrStmt) and n.attr_key == ROLE_KEY]


def test_warp_roles_turns_each_ws_body_into_a_role_of_its_threads():
    mod = warp_roles(thread_loops(to_module(ws_kernel())))
    shapes = [role_shape(r) for r in roles_of(mod)]
    # ws(0) before the loop, ws(1) and ws(0) in it, ws(0) after it: 128 threads each, at 0 or 128
    assert shapes == [(0, 128), (128, 128), (0, 128), (0, 128)]
    text = mod.script()
    assert "tl.warp_specialize" not in text
    assert "rtx1: T.let[T.int32] = tx - 128" in text and 'T.attr(rtx1, "tl.role", "128,128")' in text
    assert text.count("if tx < 128:") == 3 and text.count("if tx >= 128:") == 1


def test_role_barriers_become_named_barriers_and_roles_go():
    mod = to_module(ws_kernel())
    for p in (thread_loops, warp_roles, lower_mbarriers):
        mod = p(mod)
    # a hand-made barrier inside each role: the consumer role (threads 0..127) meets at barrier 1, the
    # producer role (128..255) at barrier 2
    from compiler.ir_rewrite import Rewriter, rewrite_funcs, with_body
    from compiler.passes.cuda_threads import sync_stmt

    class AddSync(Rewriter):
        def visit_AttrStmt(self, s):
            if s.attr_key == ROLE_KEY:
                return tirx.AttrStmt(s.node, s.attr_key, s.value, tirx.SeqStmt([sync_stmt(), self.stmt(s.body)]))
            return self.default_stmt(s)

    mod = rewrite_funcs(mod, lambda f: with_body(f, AddSync().stmt(f.body)))
    out = role_barriers(mod)
    assert not roles_of(out)
    calls = [str(n.args[1].value) + "," + str(n.args[2].value) for f in out.functions.values()
             for n in walk(f.body) if isinstance(n, tvm.ir.Call) and n.op.name == "tirx.call_extern"
             and str(n.args[0].value) == "tl_named_barrier"]
    assert calls == ["1,128", "2,128", "1,128", "1,128"]


def test_mbarrier_operations_lower_to_ptx_helpers():
    mod = lower_mbarriers(warp_roles(thread_loops(to_module(ws_kernel()))))
    names = [str(n.args[0].value) for f in mod.functions.values() for n in walk(f.body)
             if isinstance(n, tvm.ir.Call) and n.op.name == "tirx.call_extern"]
    assert names.count("tl_mbarrier_init") == 4  # two barriers per array, two arrays (full, empty)
    assert names.count("tl_mbarrier_wait") == 2 and names.count("tl_mbarrier_arrive") == 2
    # each T.tma_copy: 16-byte cp.async chunks, then the barrier tracks them
    assert names.count("tl_cp_async_mbarrier_arrive") == 2 and names.count("tl_cp_async16") == 2
    assert not any(n.startswith("tl.barrier") or n == "tl.tma_copy" for n in names)


def test_generated_source_of_the_ws_example():
    b = generate_kernel(ws_kernel(), "sm_90a")
    src = b.source[b.source.index('extern "C" __global__'):]  # the kernel, after our helpers
    assert b.block == [256, 1, 1] and b.grid == [2, 2, 1]
    assert b.dynamic_smem == 2 * (64 * 32 + 32 * 64) * 2  # two slots of A and B, fp16
    assert re.search(r"__shared__ alignas\(\d+\) uint64_t full_ptr\[2\];", src)
    assert "if (128 <= ((int)threadIdx.x))" in src and "if (((int)threadIdx.x) < 128)" in src
    assert "tl_mbarrier_init((&(full_ptr[1])), 128);" in src
    assert "tl_mbarrier_wait((&(empty_ptr[slot_ptr[0]])), ((ko >> 1) ^ 1));" in src
    assert "tl_mbarrier_wait((&(full_ptr[slot_ptr[0]])), (ko >> 1));" in src
    assert "tl_mma_f16_f32(" in src  # the consumer role's gemm: 4 warps on tensor cores
    assert "tl_named_barrier(1, 128);" in src and "__syncthreads();" in src  # only after the barrier init
    assert src.count("__syncthreads();") == 2
    # acc: 64x64 fp32 over the consumer's 128 threads = 32 registers each
    assert "float acc_r_ptr[32];" in src


def test_unaligned_tma_copy_is_a_synchronous_copy_before_the_arrival():
    # K = 100: rows of 200 B are not 16-byte chunks, so the tiles are copied element by element
    b = generate_kernel(ws_kernel("matmul_ws(M=130, N=70, K=100, block_M=64, block_N=64, block_K=32, "
                                  "num_stages=3)"), "sm_90")
    src = b.source[b.source.index('extern "C" __global__'):]
    assert "tl_cp_async16(" not in src and "tl_cp_async_mbarrier_arrive(" not in src
    assert "tl_mbarrier_arrive((&(full_ptr[slot_ptr[0]])));" in src


def test_non_contiguous_warp_groups_are_refused(tmp_path):
    src = textwrap.dedent('''
        import tilelang
        import tilelang.language as T

        @tilelang.jit
        def k(A):
            A: T.Tensor((384,), T.float32)
            with T.Kernel(1, threads=384) as bx:
                with T.ws(0, 2):
                    for i in T.Parallel(384):
                        A[i] = A[i] + 1.0
            return A
    ''')
    path = tmp_path / "k.py"
    path.write_text(src)
    kdef = instantiate(load(path), "k()")
    with pytest.raises(NotSupported, match="contiguous"):
        generate_kernel(kdef, "sm_90")


@needs_nvcc
@pytest.mark.parametrize("arch", ["sm_90", "sm_90a"])
def test_ws_example_builds_with_nvcc(tmp_path, arch):
    art = build_artifact(ws_kernel(), arch, tmp_path)
    res = art.resources
    assert res.spill_store_bytes == 0 and res.spill_load_bytes == 0
    assert res.shared_bytes == 128  # the two mbarrier arrays, 64-byte aligned static arrays
    assert res.barriers == 2  # __syncthreads (0) and the consumer role's named barrier (1)
