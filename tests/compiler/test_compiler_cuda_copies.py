"""16-byte global -> shared copies and the cp.async pipeline (compiler/passes/cuda_copies.py), without a
GPU: which copies qualify, how a T.Pipelined loop is rewritten, and what shared memory the kernel gets
(TileLang's count of versions). benchmarks/gpu_check.py runs the kernels on a GPU."""

from __future__ import annotations

import pytest

pytest.importorskip("tvm")

from tvm import tirx  # noqa: E402

from compiler import tile_ir  # noqa: E402
from compiler.cuda_codegen import generate_kernel  # noqa: E402
from compiler.ir import walk  # noqa: E402
from compiler.loader import instantiate, load  # noqa: E402
from compiler.passes import cuda_copies as CP  # noqa: E402
from compiler.passes.cuda_threads import thread_loops  # noqa: E402
from compiler.runtime import to_module  # noqa: E402
from conftest import EXAMPLES  # noqa: E402
from int_expr import eval_int  # noqa: E402


def kdef(example: str, call: str):
    return instantiate(load(EXAMPLES / f"{example}.py"), call)


def copies(example: str, call: str):
    func = to_module(kdef(example, call))["main"]
    return [op for s in walk(func.body) if isinstance(s, tirx.Evaluate)
            for op in [tile_ir.decode(s)] if op is not None and op.name == "copy"]


def gemm(m, n, k, stages=3, bm=128, bn=128, bk=32):
    return "gemm_pipelined", f"matmul(M={m}, N={n}, K={k}, block_M={bm}, block_N={bn}, block_K={bk}, num_stages={stages})"


def test_which_copies_move_16_byte_chunks():
    a, b, c = copies(*gemm(256, 256, 256))
    assert CP.chunked(a)[2] == 8 and CP.chunked(b)[2] == 8  # fp16: 8 elements per chunk
    assert CP.chunked(c) is None  # fragment -> global is not a global -> shared copy
    a, b, _ = copies(*gemm(100, 36, 72, bm=32, bn=32, bk=16))
    assert CP.chunked(a) is not None  # A rows of 72 halves: whole chunks
    assert CP.chunked(b) is None  # B rows of 36 halves: a chunk would straddle the tensor's edge


def lowered(example: str, call: str):
    return CP.vectorize_copies(thread_loops(to_module(kdef(example, call))))["main"].body


def calls(body, name: str) -> int:
    return sum(1 for n in walk(body) if isinstance(n, tirx.Evaluate) and hasattr(n.value, "args")
               and n.value.args and getattr(n.value.args[0], "value", None) == name)


def test_pipelined_loop_becomes_cp_async_with_versions():
    body = lowered(*gemm(256, 256, 256, stages=3))
    shapes = {s.buffer.name: [int(d) for d in s.buffer.shape] for s in walk(body) if isinstance(s, tirx.AllocBuffer)}
    assert shapes["A_shared"] == [3, 128, 32] and shapes["B_shared"] == [3, 32, 128]
    # prologue (A, B) + steady state (A, B): four issue loops, two commits, waits for 1 and 0 groups
    assert calls(body, "tl_cp_async16") == 4 and calls(body, "tl_cp_async_commit") == 2
    waits = [int(n.value.args[1].value) for n in walk(body) if isinstance(n, tirx.Evaluate)
             and hasattr(n.value, "args") and getattr(n.value.args[0], "value", None) == "tl_cp_async_wait"]
    assert sorted(waits) == [0, 1]


def test_one_stage_copies_synchronously():
    body = lowered(*gemm(256, 256, 256, stages=1))
    assert calls(body, "tl_cp_async16") == 0 and calls(body, "tl_copy16") == 2
    shapes = {s.buffer.name: [int(d) for d in s.buffer.shape] for s in walk(body) if isinstance(s, tirx.AllocBuffer)}
    assert shapes["A_shared"] == [128, 32]


@pytest.mark.parametrize("stages,smem", [(1, 16384), (2, 32768), (3, 49152), (4, 65536)])
def test_shared_memory_has_one_version_per_stage(stages, smem):
    # the same count as TileLang's planner and the analyzer: S x (128x32 + 32x128) x 2 bytes
    assert generate_kernel(kdef(*gemm(4096, 4096, 4096, stages=stages)), "sm_90").dynamic_smem == smem


def test_generated_source_carries_the_copy_helpers():
    src = generate_kernel(kdef(*gemm(4096, 4096, 4096)), "sm_90").source
    assert "cp.async.cg.shared.global" in src and "cp.async.wait_group" in src
    body = src[src.rindex('extern "C" __global__'):]
    assert "tl_cp_async_wait(1);" in body and "tl_cp_async_wait(0);" in body


@pytest.mark.parametrize("per,chunks", [(8, 2), (8, 4), (8, 16), (4, 8), (16, 4)])
def test_swizzle_permutes_whole_chunks_within_each_row(per, chunks):
    r, c = tirx.Var("r", "int32"), tirx.Var("c", "int32")
    expr = CP.swizzled_column(r, c, per, chunks)
    for row in range(16):
        cols = [eval_int(expr, {"r": row, "c": col}) for col in range(per * chunks)]
        assert sorted(cols) == list(range(per * chunks))  # a permutation of the row
        assert all(cols[k] - cols[k - 1] == 1 for k in range(1, len(cols)) if k % per)  # chunks stay whole
    # the 8 rows one ldmatrix reads (same logical chunk) land in 8 different 16-byte bank groups
    groups = {((row * per * chunks + eval_int(expr, {"r": row, "c": 0})) * (16 // per) // 16) % 8 for row in range(8)}
    assert len(groups) == 8


def test_swizzle_only_where_the_key_stays_in_the_row():
    from tvm import tirx as X

    def buf(cols):
        return X.decl_buffer((8, cols), "float16", name="S", scope="shared.dyn")

    assert CP._chunk_geometry(buf(32)) == (8, 4)
    assert CP._chunk_geometry(buf(128)) == (8, 16)
    # 480 halves = 60 chunks: chunk 59 ^ 7 would be chunk 60, past the row (an H200 run caught this)
    assert CP._chunk_geometry(buf(480)) is None
    assert CP._chunk_geometry(buf(8)) is None  # one chunk per row: nothing to permute


def test_a_mid_loop_copy_runs_ahead_too():
    body = lowered("flash_attention", "flash_attention_fwd(2, 8, 1024, 64, block_M=64, block_N=64)")
    shapes = {s.buffer.name: [int(d) for d in s.buffer.shape] for s in walk(body) if isinstance(s, tirx.AllocBuffer)}
    assert shapes["K_shared"] == [2, 64, 64] and shapes["V_shared"] == [2, 64, 64]  # num_stages=2
    assert shapes["Q_shared"] == [64, 64]  # copied once, before the loop


READ_BEFORE_COPY = '''
import tilelang.language as T

def k(n=256):
    @T.prim_func
    def main(A: T.Tensor((n, 64), "float16"), B: T.Tensor((n, 64), "float16")):
        with T.Kernel(1, threads=128) as bx:
            S = T.alloc_shared((32, 64), "float16")
            T.clear(S)
            for ko in T.Pipelined(n // 32, num_stages=2):
                T.copy(S, B[ko * 32, 0])       # reads the tile the previous iteration loaded
                T.copy(A[ko * 32, 0], S)
    return main
'''


def test_a_copy_whose_tile_is_read_before_it_is_not_run_ahead(tmp_path):
    path = tmp_path / "k.py"
    path.write_text(READ_BEFORE_COPY)
    body = CP.vectorize_copies(thread_loops(to_module(instantiate(load(path), "k()"))))["main"].body
    shapes = {s.buffer.name: [int(d) for d in s.buffer.shape] for s in walk(body) if isinstance(s, tirx.AllocBuffer)}
    assert shapes["S"] == [32, 64] and calls(body, "tl_cp_async16") == 0 and calls(body, "tl_copy16") == 1


# ------------------------------------------------------------------ copies that are not 16-byte chunks


def test_the_widest_granule_the_alignment_allows():
    _, b, _ = copies(*gemm(100, 36, 72, bm=32, bn=32, bk=16))
    assert CP.granules(b, 16) is None and CP.granules(b, 8)[2] == 4  # rows of 72 B: 8-byte granules of 4 halves
    (x,) = [c for c in copies("column_sum", "column_sum(100, 50, 32, 32)") if c.args[1].buffer.name == "X_shared"]
    assert CP.granules(x, 8) is None and CP.granules(x, 4)[2] == 2  # rows of 100 B: 4-byte granules
    (x,) = [c for c in copies("column_sum", "column_sum(1000, 333, 32, 32)") if c.args[1].buffer.name == "X_shared"]
    assert all(CP.granules(x, w) is None for w in CP.ASYNC_WIDTHS)  # rows of 666 B: no cp.async at all


def shapes_of(body):
    return {s.buffer.name: [int(d) for d in s.buffer.shape] for s in walk(body) if isinstance(s, tirx.AllocBuffer)}


def test_a_mixed_pipeline_versions_every_tile():
    # A's rows of 72 halves move in 16-byte chunks, B's rows of 36 halves in 8-byte granules: both get 3
    # versions; prologue + steady state issue each (TileLang's count: S versions regardless of alignment)
    body = lowered(*gemm(100, 36, 72, bm=32, bn=32, bk=16))
    assert shapes_of(body)["A_shared"] == [3, 32, 16] and shapes_of(body)["B_shared"] == [3, 16, 32]
    assert calls(body, "tl_cp_async16") == 2 and calls(body, "tl_cp_async8") == 2
    assert calls(body, "tl_cp_async_commit") == 2


def test_narrow_cp_async_in_the_generated_source():
    b = generate_kernel(kdef(*gemm(100, 36, 72, bm=32, bn=32, bk=16)), "sm_90")
    assert b.dynamic_smem == 3 * (32 * 16 + 16 * 32) * 2  # 6144: both tiles in 3 versions
    assert "cp.async.ca.shared.global [%0], [%1], 8, %2;" in b.source  # the 8-byte helper, zero-filling
    body = b.source[b.source.rindex('extern "C" __global__'):]
    assert "tl_cp_async8(" in body and "tl_cp_async16(" in body and "tl_cp_async4(" not in body
    col = generate_kernel(kdef("column_sum", "column_sum(100, 50, 32, 32)"), "sm_90")
    assert col.dynamic_smem == 3 * 32 * 32 * 2 and "tl_cp_async4(" in col.source
    assert "cp.async.ca.shared.global [%0], [%1], 4, %2;" in col.source
    # a kernel whose copies are all 16-byte chunks carries only the 16-byte helpers
    assert "tl_cp_async8" not in generate_kernel(kdef(*gemm(4096, 4096, 4096)), "sm_90").source


def _steady_loop(body):
    from compiler.passes.cuda_threads import PIPELINE_KEY

    (loop,) = [n for n in walk(body) if isinstance(n, tirx.For) and PIPELINE_KEY in n.annotations]
    return loop


def test_unaligned_tiles_are_copied_synchronously_into_the_free_version():
    # rows of 90 int8: no 4-byte granules. A and B still get 2 versions; the copies ahead are plain element
    # stores (no cp.async, so no commit or wait) into version (ko + 1) % 2 while the work reads ko % 2
    from compiler.passes.cuda_threads import ASYNC_KEY

    call = "matmul_int8(M=50, N=70, K=90, block_M=32, block_N=32, block_K=32)"
    body = lowered("gemm_int8", call)
    assert shapes_of(body)["A_shared"] == [2, 32, 32] and shapes_of(body)["B_shared"] == [2, 32, 32]
    assert calls(body, "tl_cp_async_commit") == 0 and calls(body, "tl_cp_async_wait") == 0
    loop = _steady_loop(body)
    seq = list(loop.body.seq)
    assert "tvm_storage_sync" in str(seq[0]) and isinstance(seq[1], tirx.IfThenElse)  # barrier, then issue
    issue = [n for n in walk(seq[1]) if isinstance(n, tirx.For) and ASYNC_KEY in n.annotations]
    assert len(issue) == 2
    n_iters = 3  # ceildiv(90, 32)
    for by in (0, 1):  # a whole block and the tail block (rows 32..49 of 50)
        for ko in range(n_iters - 1):
            written: dict = {}
            stores = [s for s in walk(issue[0]) if isinstance(s, tirx.BufferStore)]
            (store,) = stores
            (load,) = [n for n in walk(store.value) if type(n).__name__ == "TensorLoad"]
            for tx in range(128):
                for e in range(int(issue[0].extent.value)):
                    env = {"tx": tx, "e": e, "ko": ko, "by": by, "bx": 0}
                    stage, row, col = (eval_int(i, env) for i in store.indices)
                    assert stage == (ko + 1) % 2 != ko % 2
                    assert [eval_int(i, env) for i in load.indices] == [by * 32 + row, (ko + 1) * 32 + col]
                    written[row, col] = written.get((row, col), 0) + 1
            assert written == {(r, c): 1 for r in range(32) for c in range(32)}  # every element once


def test_a_synchronous_pipeline_keeps_its_tails_zero_filled():
    # the element copies' loads are guarded like every other global access: outside the tensor they read 0
    src = generate_kernel(kdef("gemm_int8", "matmul_int8(M=50, N=70, K=90, block_M=32, block_N=32, block_K=32)"),
                          "sm_90").source
    body = src[src.rindex('extern "C" __global__'):]
    assert "cp.async" not in body and "tl_cp_async" not in body
    assert body.count("condval") >= 4 and "(signed char)0" in body  # if in bounds: load, else 0


def test_every_example_copy_in_a_pipelined_loop_is_versioned():
    # TileLang gives num_stages versions to every run-ahead copy, whatever its alignment; so does this back end
    for example, call, tiles in [
        ("gemv", "gemv(N=50, K=100, block_N=16, block_K=32)", {"x_shared": [2, 32], "W_shared": [2, 16, 32]}),
        ("dequant_gemm", "dequant_matmul(500, 700, 300, 32, 32, 32)",
         {"A_shared": [3, 32, 32], "W_q_shared": [3, 32, 32], "W_shared": [32, 32]}),
        ("column_sum", "column_sum(1000, 333, 32, 32)", {"X_shared": [3, 32, 32]}),
    ]:
        shapes = shapes_of(lowered(example, call))
        assert {k: shapes[k] for k in tiles} == tiles, example
