"""Each CPU pass alone, on a small tile-level function built from source."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tvm")

import tvm  # noqa: E402

from compiler.loader import instantiate, load  # noqa: E402
from compiler.passes.cpu_atomics import lower_cpu_atomics  # noqa: E402
from compiler.passes.grid import bind_grid  # noqa: E402
from compiler.passes.loops import serialize_block_loops, vectorize_inner_loops  # noqa: E402
from compiler.passes.lower_tile_ops import lower_tile_ops  # noqa: E402
from compiler.passes.safe_access import guard_global_access  # noqa: E402
from compiler.pipeline import CPU_PIPELINE, cpu_target  # noqa: E402
from compiler.runtime import to_module  # noqa: E402

SRC = """
import tilelang.language as T

def k(M, N, bM, bN):
    @T.prim_func
    def main(A: T.Tensor((M, N), "float32"), S: T.Tensor((M,), "float32"), C: T.Tensor((M, N), "float32")):
        with T.Kernel(T.ceildiv(N, bN), T.ceildiv(M, bM)) as (bx, by):
            a = T.alloc_shared((bM, bN), "float32")
            s = T.alloc_fragment((bM,), "float32")
            T.copy(A[by * bM, bx * bN], a)
            for i, j in T.Parallel(bM, bN):
                a[i, j] = a[i, j] * 2.0
            T.reduce_sum(a, s, dim=1)
            T.copy(a, C[by * bM, bx * bN])
            for i in T.Parallel(bM):
                T.atomic_add(S[by * bM + i], s[i])
    return main
"""


@pytest.fixture(scope="module")
def tile_mod(tmp_path_factory):
    path = Path(tmp_path_factory.mktemp("k")) / "k.py"
    path.write_text(SRC)
    return lambda req: to_module(instantiate(load(path), req))


def calls(mod) -> list[str]:
    text = mod.script()
    return [op for op in ("tl.copy", "tl.reduce", "tl.atomic_add", "tl.fill", "tl.gemm") if f'"{op}"' in text]


def test_tile_ir_keeps_scopes_loops_and_ops(tile_mod):
    text = tile_mod("k(64, 64, 32, 32)").script()
    assert 'scope="shared.dyn"' in text and 'scope="local.fragment"' in text
    assert 'T.thread_binding(2, thread="blockIdx.x", annotations={"tl.threads": [128]})' in text
    assert '"tl.loop": "Parallel"' in text
    assert calls(tile_mod("k(64, 64, 32, 32)")) == ["tl.copy", "tl.reduce", "tl.atomic_add"]


def test_lower_tile_ops_leaves_no_tile_op(tile_mod):
    mod = lower_tile_ops(tile_mod("k(64, 64, 32, 32)"))
    assert calls(mod) == []
    assert '"tl.atomic_add_elem", S[by * 32 + i]' in mod.script()  # a global atomic, one element


def test_cpu_atomics_become_libatomic_calls_or_plain_updates(tile_mod):
    mod = guard_global_access(lower_tile_ops(tile_mod("k(64, 64, 32, 32)")))
    machine = lower_cpu_atomics(mod, machine_atomics=True)
    text = machine.script()
    assert "__atomic_compare_exchange_4" in text and "tl.atomic_add_elem" not in text
    assert "tl.serial_grid" not in text
    plain = lower_cpu_atomics(mod, machine_atomics=False)
    assert "__atomic" not in plain.script() and plain["main"].attrs["tl.serial_grid"]


def test_guard_only_where_bounds_are_not_proven(tile_mod):
    even = guard_global_access(lower_tile_ops(tile_mod("k(64, 64, 32, 32)"))).script()
    tail = guard_global_access(lower_tile_ops(tile_mod("k(50, 40, 32, 32)"))).script()
    assert "if_then_else" not in even and "if " not in even.split("def main")[1].replace("T.if", "")
    assert "T.if_then_else(" in tail and "< 50" in tail


def test_serialize_block_loops(tile_mod):
    mod = serialize_block_loops(lower_tile_ops(tile_mod("k(64, 64, 32, 32)")))
    text = mod.script()
    assert "T.parallel" not in text and "tl.loop" not in text


def test_vectorize_inner_loops_skips_reductions(tile_mod):
    text = vectorize_inner_loops(serialize_block_loops(lower_tile_ops(tile_mod("k(64, 64, 32, 32)")))).script()
    assert "T.vectorized(32)" in text
    red = [ln for ln in text.splitlines() if "s[i0] = s[i0] +" in ln]
    assert red
    # the reduction loop (r) stays serial
    assert "for r in range(32)" in text


def test_bind_grid_fuses_blocks_parallel_unless_serial_grid(tile_mod):
    mod = lower_tile_ops(tile_mod("k(64, 64, 32, 32)"))
    text = bind_grid(lower_cpu_atomics(mod, machine_atomics=True)).script()
    assert "thread_binding" not in text
    assert "for block in T.parallel(4)" in text
    assert "bx: T.let[T.int32] = block % 2" in text
    serial = bind_grid(lower_cpu_atomics(mod, machine_atomics=False)).script()
    assert "for block in range(4)" in serial  # atomics are plain updates: blocks one after another


def test_pipeline_result_runs(tile_mod):
    mod = tile_mod("k(50, 40, 32, 32)")
    for p in CPU_PIPELINE:
        mod = p(mod)
    ex = tvm.compile(mod, target=cpu_target())
    a = np.random.default_rng(1).standard_normal((50, 40)).astype(np.float32)
    dev = tvm.cpu(0)
    ta, ts, tc = (tvm.runtime.tensor(x, dev) for x in (a, np.zeros(50, np.float32), np.zeros((50, 40), np.float32)))
    ex(ta, ts, tc)
    np.testing.assert_allclose(tc.numpy(), 2 * a, rtol=1e-6)
    np.testing.assert_allclose(ts.numpy(), 2 * a.sum(1), rtol=1e-5, atol=1e-5)


def test_transpose_b_gemm_is_staged_and_vectorized():
    from conftest import EXAMPLES

    kdef = instantiate(load(EXAMPLES / "flash_attention.py"), "flash_attention_fwd(1, 1, 64, 32, block_M=32, block_N=32)")
    text = vectorize_inner_loops(serialize_block_loops(lower_tile_ops(to_module(kdef)))).script()
    assert "B_staged = T.alloc_local((32, 32))" in text and "B_staged_1 = T.alloc_local((32, 32))" in text
    assert 'B_staged[k, j] = T.Cast("float32", K_shared[j, k])' in text  # K^T, once per gemm
    assert 'B_staged_1[k, j] = T.Cast("float32", V_shared[k, j])' in text  # V converted to fp32 once
    # C rows updated 4 at a time along contiguous, vectorized j
    assert ("for ii in T.unroll(4):\n                                for j in T.vectorized(32):\n"
            "                                    s[i * 4 + ii, j] = s[i * 4 + ii, j] + "
            'T.Cast("float32", Q_shared[i * 4 + ii, k]) * B_staged[k, j]') in text
