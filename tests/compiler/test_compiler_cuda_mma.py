"""Register fragments and the tensor-core gemm (compiler/passes/cuda_mma.py), without a GPU: the layouts
cover every tile element exactly once, the warp partition, which fragments move to registers, and the
instructions the gemm becomes. benchmarks/gpu_check.py runs the kernels on a GPU."""

from __future__ import annotations

import pytest

pytest.importorskip("tvm")

from tvm import tirx  # noqa: E402

from compiler.cuda_codegen import generate_kernel  # noqa: E402
from compiler.loader import instantiate, load  # noqa: E402
from compiler.passes import cuda_mma as M  # noqa: E402
from compiler.passes.cuda_threads import thread_loops  # noqa: E402
from compiler.runtime import to_module  # noqa: E402
from conftest import EXAMPLES  # noqa: E402
from int_expr import eval_int  # noqa: E402


def owners(layout, threads: int) -> dict[tuple[int, ...], list[tuple[int, int]]]:
    """(element) -> [(thread, register)] by evaluating the layout's coordinates for every thread."""
    tx, r = tirx.Var("tx", "int32"), tirx.Var("r", "int32")
    exprs = layout.coords(tx, r)
    out: dict[tuple[int, ...], list[tuple[int, int]]] = {}
    for t in range(threads):
        for k in range(layout.size):
            vals = tuple(eval_int(e, {"tx": t, "r": k}) for e in exprs)
            out.setdefault(vals, []).append((t, k))
    return out


@pytest.mark.parametrize("m,n,threads", [(128, 128, 128), (64, 64, 128), (32, 32, 128), (128, 256, 256), (64, 128, 256)])
def test_mma_layout_is_a_bijection(m, n, threads):
    wm, wn = M.mma_partition(m, n, threads // 32)
    layout = M.MmaLayout(m, n, wm, wn)
    own = owners(layout, threads)
    assert sorted(own) == [(i, j) for i in range(m) for j in range(n)]
    assert all(len(v) == 1 for v in own.values())
    assert layout.size * threads == m * n


def test_mma_layout_matches_the_m16n8k16_accumulator():
    # lane 5 of warp 0 holds rows 1 and 9, columns 2 and 3 of the first 16x8 piece
    layout = M.MmaLayout(16, 8, 1, 1)
    own = owners(layout, 32)
    assert [k for (t, k) in own[(1, 2)] + own[(1, 3)] + own[(9, 2)] + own[(9, 3)] if t == 5] == [0, 1, 2, 3]


@pytest.mark.parametrize("shape,threads", [((32, 32), 256), ((64,), 64), ((8, 4, 16), 128)])
def test_cyclic_layout_is_a_bijection(shape, threads):
    layout = M.CyclicLayout(shape, threads)
    own = owners(layout, threads)
    assert len(own) == layout.size * threads and all(len(v) == 1 for v in own.values())


def test_mma_partition():
    assert M.mma_partition(128, 128, 4) == (2, 2)
    assert M.mma_partition(64, 256, 8) == (1, 8)  # 64x32 warp tiles; 32x64 (2, 4) ties, the first wins
    assert M.mma_partition(16, 128, 4) == (1, 4)
    assert M.mma_partition(16, 16, 4) is None  # no way to give 4 warps 16-row, 16-column pieces


def plan_of(example: str, call: str) -> dict[str, str]:
    mod = thread_loops(to_module(instantiate(load(EXAMPLES / f"{example}.py"), call)))
    func = mod["main"]
    threads = M._thread_count(func.body)
    after = M.register_fragments(mod)["main"]
    local = {s.buffer.name for s in M.walk(after.body) if isinstance(s, tirx.AllocBuffer) and s.buffer.scope() == "local"}
    planned = M.plan(func, threads)
    return {b.name: (type(lay).__name__ if b.name + "_r" in local else "shared") for b, lay in planned.items()}


def test_which_fragments_move_to_registers():
    assert plan_of("gemm_pipelined", "matmul(M=256, N=256, K=64, block_M=128, block_N=128, block_K=32)") == \
        {"acc": "MmaLayout"}
    assert plan_of("elementwise_add", "elementwise_add(64, 64, 32, 32)") == {"a": "CyclicLayout", "b": "CyclicLayout"}
    # softmax: the tile in the cyclic layout, its row max and row sum replicated on the threads of each row
    assert plan_of("softmax", "softmax(32, 256, 4)") == {"x": "CyclicLayout", "row_max": "RowLayout",
                                                          "row_sum": "RowLayout"}
    # a row of 100 elements does not spread evenly over 128 threads: the tile and its row vectors stay shared
    assert set(plan_of("softmax", "softmax(30, 100, 8)").values()) <= {"shared"}


def test_row_reduction_uses_warp_shuffles_and_a_table_across_warps():
    src = generate_kernel(instantiate(load(EXAMPLES / "softmax.py"), "softmax(32, 256, 4)"), "sm_90").source
    body = src[src.rindex('extern "C" __global__'):]
    # two reductions (max, sum), each 5 shuffle rounds over the 32 lanes, then 4 warps through shared memory
    assert body.count("__shfl_xor_sync") == 10
    assert "float row_max_r_ptr[4]" in body and "float x_r_ptr[8]" in body


def test_gemm_becomes_ldmatrix_and_mma():
    src = generate_kernel(instantiate(load(EXAMPLES / "gemm_pipelined.py"),
                                      "matmul(M=256, N=256, K=64, block_M=128, block_N=128, block_K=32)"), "sm_90").source
    body = src[src.rindex('extern "C" __global__'):]
    assert body.count("tl_ldmatrix_x4(") == 1 and body.count("tl_ldmatrix_x4_trans(") == 1
    assert body.count("tl_mma_f16_f32(") == 1 and "float acc_r_ptr[128]" in body
    assert "ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16" in src  # our prelude is in the source
    bf16 = generate_kernel(instantiate(load(EXAMPLES / "gemm_autotune.py"), "matmul_nt(128, 128, 128)"), "sm_90").source
    body = bf16[bf16.rindex('extern "C" __global__'):]
    # B is n x k (transposed): plain ldmatrix for both operands, the bf16 mma
    assert body.count("tl_ldmatrix_x4(") == 2 and "tl_mma_bf16_f32(" in body


def test_warp_policy_is_honoured_when_it_fits():
    assert M.mma_partition(64, 64, 4, policy=1) == (4, 1)  # FullRow
    assert M.mma_partition(64, 64, 4, policy=2) == (1, 4)  # FullCol
    # 4 warps of 16 rows do not fit 32 rows: the squarest (1x4 and 2x2 tie at 16 rows' difference; first wins)
    assert M.mma_partition(32, 64, 4, policy=1) == (1, 4)


def test_flash_attention_keeps_its_state_in_registers():
    # 32-row blocks over 4 warps: FullRow does not fit (16 rows a warp), so s and o are split 2x2 (as
    # TileLang splits them); p, the fp16 copy of s, is then the second gemm's A operand read by ldmatrix
    # from shared memory: a warp holds half of the columns of its rows of s. (TileLang 0.1.15 refuses this
    # configuration: "Layout infer conflict between s and p" in T.copy(s, p).)
    assert plan_of("flash_attention", "flash_attention_fwd(1, 2, 64, 32, block_M=32, block_N=32)") == {
        "s": "MmaLayout", "o": "MmaLayout", "m": "RowLayout", "m_old": "RowLayout", "alpha": "RowLayout",
        "l": "RowLayout", "tile_sum": "RowLayout"}  # no p: it is left to the shared arena
    # 64-row blocks: FullRow, one warp across the columns of s and o, so p stays in registers and feeds
    # the second gemm directly (two m16n8 pieces of s are one m16k16 A fragment)
    call = "flash_attention_fwd(2, 8, 1024, 64, block_M=64, block_N=64)"
    assert plan_of("flash_attention", call)["p"] == "MmaLayout"
    b = generate_kernel(instantiate(load(EXAMPLES / "flash_attention.py"), call), "sm_90")
    body = b.source[b.source.rindex('extern "C" __global__'):]
    assert body.count("tl_mma_f16_f32(") == 2 and "__shfl_xor_sync" in body
    assert body.count("tl_ldmatrix_x4(") == 2 and "tl_pack_x2(" in body  # Q and K by ldmatrix; p packed
    # TileLang's count exactly (the analyzer's 40960): Q, K and V (two versions each: V's copy sits
    # mid-loop and is issued ahead with K's), the O staging tile
    assert b.dynamic_smem == 40960


COPY_INTO_FALLBACK = '''
import tilelang.language as T

def k(M=64, N=64, K=32):
    @T.prim_func
    def main(A: T.Tensor((M, K), "float16"), B: T.Tensor((K, N), "float16"), S: T.Tensor((M, N), "float32")):
        with T.Kernel(1, threads=128) as bx:
            As = T.alloc_shared((M, K), "float16")
            Bs = T.alloc_shared((K, N), "float16")
            Ss = T.alloc_shared((M, N), "float32")
            acc = T.alloc_fragment((M, N), "float32")
            tmp = T.alloc_fragment((M, N), "float32")
            T.copy(A[0, 0], As)
            T.copy(B[0, 0], Bs)
            T.gemm(As, Bs, acc, clear_accum=True)
            T.copy(acc, tmp)                   # mma layout -> cyclic layout: no register copy
            for i, j in T.Parallel(M, N):
                Ss[i, j] = tmp[j, i]           # a transposed read: tmp falls back to shared memory
            T.copy(Ss, S[0, 0])
    return main
'''


def test_a_fragment_left_over_only_through_a_copy_keeps_its_registers(tmp_path):
    path = tmp_path / "k.py"
    path.write_text(COPY_INTO_FALLBACK)
    mod = thread_loops(to_module(instantiate(load(path), "k()")))
    after = M.register_fragments(mod)["main"]
    local = {s.buffer.name for s in M.walk(after.body) if isinstance(s, tirx.AllocBuffer) and s.buffer.scope() == "local"}
    fragments = {s.buffer.name for s in M.walk(after.body) if isinstance(s, tirx.AllocBuffer)
                 and s.buffer.scope() == "local.fragment"}
    # round 1 leaves acc (its copy into tmp) and tmp (the transposed read); only tmp is dropped, and in
    # round 2 acc's copy writes the fallen-back tmp from registers
    assert "acc_r" in local and fragments == {"tmp"}


def test_accumulator_stores_go_out_in_pairs_with_a_bounds_check_only_on_tails():
    whole = generate_kernel(instantiate(load(EXAMPLES / "gemm_pipelined.py"),
                                        "matmul(M=256, N=256, K=64, block_M=128, block_N=128, block_K=32)"), "sm_90")
    body = whole.source[whole.source.rindex('extern "C" __global__'):]
    store = body[body.index("tl_store_x2(") - 200:body.index("tl_store_x2(")]
    assert "if (" not in store.splitlines()[-1]  # sizes divide by the tiles: no check left
    tail = generate_kernel(instantiate(load(EXAMPLES / "gemm_pipelined.py"),
                                       "matmul(M=100, N=36, K=72, block_M=32, block_N=32, block_K=16)"), "sm_90")
    body = tail.source[tail.source.rindex('extern "C" __global__'):]
    lines = body.splitlines()
    k = next(i for i, line in enumerate(lines) if "tl_store_x2(" in line)
    assert lines[k - 1].strip().startswith("if (")  # a pair outside the 100 x 36 tensor is skipped
    # an odd last dimension: pairs could straddle the edge, so element stores
    odd = generate_kernel(instantiate(load(EXAMPLES / "gemm_pipelined.py"),
                                      "matmul(M=64, N=33, K=64, block_M=32, block_N=32, block_K=16)"), "sm_90")
    assert "tl_store_x2(" not in odd.source[odd.source.rindex('extern "C" __global__'):]


def test_an_odd_number_of_n8_pieces_loads_b_one_piece_at_a_time():
    # 32x32 over 8 warps: 2x4 warps of 16x8, one n8 piece each (ldmatrix.x2 for B)
    assert M.mma_partition(32, 32, 8) == (2, 4)
    src = generate_kernel(instantiate(load(EXAMPLES / "gemm_epilogue.py"), "matmul_staged(64, 64, 64, 32, 32, 32)"),
                          "sm_90").source
    body = src[src.rindex('extern "C" __global__'):]
    assert body.count("tl_ldmatrix_x2_trans(") == 1 and body.count("tl_ldmatrix_x4(") == 1  # B is k x n


def test_column_reductions_stay_in_registers():
    # 32 columns over 128 threads: each column is held by 4 threads, which meet in a 4 x 32 table
    assert plan_of("column_sum", "column_sum(128, 64, 32, 32)") == {"acc": "CyclicLayout", "col": "ColLayout"}
    from compiler.pipeline import lower

    def tables(call):
        mod = lower(to_module(instantiate(load(EXAMPLES / "column_sum.py"), call)), "cuda")
        return [[int(d) for d in s.buffer.shape] for s in M.walk(mod["main"].body)
                if isinstance(s, tirx.AllocBuffer) and s.buffer.name == "col_scratch"]

    assert tables("column_sum(128, 64, 32, 32)") == [[4, 32]]
    # 128 columns over 128 threads: each thread holds whole columns, no exchange
    assert tables("column_sum(256, 256, 32, 128)") == []
    assert plan_of("column_sum", "column_sum(256, 256, 32, 128)") == {"acc": "CyclicLayout", "col": "ColLayout"}


def test_small_vectors_are_replicated_and_short_rows_reduce_within_a_warp():
    # cumsum's carry (16 values) is computed by every thread in its own registers
    assert plan_of("cumsum", "row_cumsum(M=32, N=64, block_M=16, block_N=32)") == {"carry": "ReplicatedLayout"}
    # gemv: rows of 32 partial sums lie on the 32 lanes of a warp; the row sums need 5 shuffles, no table
    call = "gemv(N=64, K=128, block_N=16, block_K=32)"
    assert plan_of("gemv", call) == {"partial": "CyclicLayout", "y_local": "RowLayout"}
    src = generate_kernel(instantiate(load(EXAMPLES / "gemv.py"), call), "sm_90").source
    assert src[src.rindex('extern "C" __global__'):].count("__shfl_xor_sync(") == 5


BLOCK_MASK = '''
import tilelang.language as T

def k(n_blocks=4, bn=32):
    @T.prim_func
    def main(Mask: T.Tensor((n_blocks,), "int8"), X: T.Tensor((n_blocks * bn,), "float32"),
             Y: T.Tensor((bn,), "float32")):
        with T.Kernel(1, threads=128) as bx:
            mask = T.alloc_fragment((n_blocks,), "int8")
            acc = T.alloc_shared((bn,), "float32")
            T.copy(Mask[0], mask)
            T.clear(acc)
            for k in T.serial(n_blocks):
                if mask[k] != 0:                 # read in block-uniform code
                    for i in T.Parallel(bn):
                        acc[i] += X[k * bn + i]
            T.copy(acc, Y[0])
    return main
'''


def test_a_block_mask_read_in_uniform_code_is_replicated(tmp_path):
    # (TileLang's seer and block-sparse attention read their block masks this way; in the shared arena
    # TVM's merging failed on such a buffer)
    path = tmp_path / "k.py"
    path.write_text(BLOCK_MASK)
    mod = thread_loops(to_module(instantiate(load(path), "k()")))
    after = M.register_fragments(mod)["main"]
    local = {s.buffer.name for s in M.walk(after.body) if isinstance(s, tirx.AllocBuffer) and s.buffer.scope() == "local"}
    assert "mask_r" in local
    src = generate_kernel(instantiate(load(path), "k()"), "sm_90").source
    assert "signed char mask_r_ptr[4]" in src or "char mask_r_ptr[4]" in src


def _eval(e, env):
    if isinstance(e, tirx.EQ):
        return eval_int(e.a, env) == eval_int(e.b, env)
    return eval_int(e, env)


def simulate_row_reduction(layout, threads: int, values: list[list[int]]) -> dict[tuple[int, int], tuple[int, int]]:
    """The exchange `_reduce` emits for a row vector, played in Python: each thread combines its registers
    into its slots (`slot_of`), xor shuffles over the lanes (`row_exchange`), then, across warps, the
    writing lanes publish to the table at [warp index * height + row] and every thread sums its rows'
    entries. Returns (thread, slot) -> (row, sum). Checks on the way that a register's row is its slot's
    row, that two writers of one table entry write the same value, and that the table fits its size."""
    rows = layout.rows()
    tx, r, sv = tirx.Var("tx", "int32"), tirx.Var("r", "int32"), tirx.Var("s", "int32")
    coords, slot, row_of = layout.coords(tx, r), layout.slot_of(r), layout.row_of_slot(tx, sv)
    part = {}
    for t in range(threads):
        p = [0] * rows.size
        for k in range(layout.size):
            i, j = (eval_int(e, {"tx": t, "r": k}) for e in coords)
            sl = eval_int(slot, {"r": k})
            assert eval_int(row_of, {"tx": t, "s": sl}) == i  # the register lies in its slot's row
            p[sl] += values[i][j]
        part[t] = p
    offsets, warps, warp_index, writer = layout.row_exchange(tx)
    assert all(0 < off < 32 for off in offsets)  # xor partners stay in the warp
    for off in offsets:
        part = {t: [part[t][k] + part[t ^ off][k] for k in range(rows.size)] for t in range(threads)}
    if warps > 1:
        height = layout.m if isinstance(layout, M.MmaLayout) else layout.shape[0]
        entries = max(threads, warps * height)  # the table `_reduce` allocates
        table: dict[int, int] = {}
        for t in range(threads):
            if _eval(writer, {"tx": t}):
                for k in range(rows.size):
                    idx = _eval(warp_index, {"tx": t}) * height + eval_int(row_of, {"tx": t, "s": k})
                    assert 0 <= idx < entries and table.get(idx, part[t][k]) == part[t][k]
                    table[idx] = part[t][k]
        part = {t: [sum(table[w * height + eval_int(row_of, {"tx": t, "s": k})] for w in range(warps))
                    for k in range(rows.size)] for t in range(threads)}
    return {(t, k): (eval_int(row_of, {"tx": t, "s": k}), part[t][k]) for t in range(threads) for k in range(rows.size)}


@pytest.mark.parametrize("layout,threads", [
    (M.CyclicLayout((4, 64), 128, 2), 128),     # softmax(32, 64, 4): each row on one warp
    (M.CyclicLayout((8, 64), 256, 2), 256),     # rms_norm(M=32, N=64, block_M=8)
    (M.CyclicLayout((4, 480), 128, 15), 128),   # softmax(1000, 480, 4)
    (M.CyclicLayout((8, 480), 256, 15), 256),   # rms_norm(M=1000, N=480, block_M=8)
    (M.CyclicLayout((2, 192), 128, 3), 128),    # runs of 3: a row on 2 whole warps, through the table
    (M.CyclicLayout((16, 48), 128, 6), 128),    # runs of 6: a row on 8 lanes
    (M.CyclicLayout((4, 1024), 128), 128),      # whole rows: every thread, every row, table across 4 warps
    (M.CyclicLayout((8, 32), 256), 256),        # rows of 32 on the lanes of a warp
    (M.MmaLayout(32, 32, 2, 2), 128),           # FlashAttention's 32x32 s: quads, then 2 warps per row
    (M.MmaLayout(64, 64, 4, 1), 128),
])
def test_row_reductions_combine_every_element_of_the_row_once(layout, threads):
    import random

    rng = random.Random(1)
    m, n = (layout.m, layout.n) if isinstance(layout, M.MmaLayout) else layout.shape
    values = [[rng.randrange(-1000, 1000) for _ in range(n)] for _ in range(m)]
    assert sorted(owners(layout, threads)) == [(i, j) for i in range(m) for j in range(n)]
    out = simulate_row_reduction(layout, threads, values)
    assert all(total == sum(values[row]) for row, total in out.values())
    assert {row for row, _ in out.values()} == set(range(m))  # every row reaches a thread


def test_vector_width():
    assert M.vector_width((4, 64), 128) == 2  # 32 threads a row: one warp
    assert M.vector_width((8, 480), 256) == 15 and M.vector_width((4, 480), 128) == 15
    assert M.vector_width((2, 192), 128) == 3  # no run gives a row one warp: 64 threads, 2 whole warps
    assert M.vector_width((4, 1024), 128) == 1  # whole rows already reduce in registers
    assert M.vector_width((8, 32), 256) == 1  # rows of 32 lanes
    assert M.vector_width((4, 48), 128) == 1  # 192 elements: not a multiple of the threads
    assert M.vector_width((4, 64), 96) == 1  # 96 threads: a partial warp cannot use full-mask shuffles


def _tables(example: str, call: str) -> list[list[int]]:
    """The shapes of the row tables, which must be allocated in the thread loop's body itself."""
    from compiler.passes.cuda_threads import is_thread_loop
    from compiler.pipeline import lower

    body = lower(to_module(instantiate(load(EXAMPLES / f"{example}.py"), call)), "cuda")["main"].body
    loop = next(n for n in M.walk(body) if is_thread_loop(n))
    top = list(loop.body.seq) if isinstance(loop.body, tirx.SeqStmt) else [loop.body]
    tables = [s.buffer for s in M.walk(body) if isinstance(s, tirx.AllocBuffer) and s.buffer.name == "row_scratch"]
    assert all(any(isinstance(t, tirx.AllocBuffer) and t.buffer.same_as(b) for t in top) for b in tables)
    return [[int(d) for d in b.shape] for b in tables]


def test_rows_that_do_not_divide_by_the_threads_reduce_in_runs():
    loaded = load(EXAMPLES / "softmax.py")
    for call, regs, smem in (("softmax(32, 64, 4)", 2, 512), ("softmax(1000, 480, 4)", 15, 3840)):
        assert plan_of("softmax", call) == {"x": "CyclicLayout", "row_max": "RowLayout", "row_sum": "RowLayout"}
        b = generate_kernel(instantiate(loaded, call), "sm_90")
        body = b.source[b.source.rindex('extern "C" __global__'):]
        assert f"float x_r_ptr[{regs}];" in body and "float row_max_r_ptr[1];" in body
        # each row on the 32 lanes of one warp: max and sum with 5 shuffles each, no table
        for width in (16, 8, 4, 2, 1):
            assert body.count(f"__shfl_xor_sync((uint)4294967295, row_part_ptr[0], {width}))") == 1
            assert body.count(f"__shfl_xor_sync((uint)4294967295, row_part_ptr_1[0], {width}))") == 1
        assert _tables("softmax", call) == []
        assert b.dynamic_smem == smem  # X_shared alone, as TileLang (the analyzer's number)
    mod = thread_loops(to_module(instantiate(load(EXAMPLES / "rms_norm.py"), "rms_norm(M=1000, N=480, block_M=8)")))
    planned = {b.name: lay for b, lay in M.plan(mod["main"], 256).items()}
    assert planned["x"] == planned["sq"] == M.CyclicLayout((8, 480), 256, 15)
    assert planned["inv_rms"] == planned["x"].rows()
    for call, smem in (("rms_norm(M=32, N=64, block_M=8)", 1152), ("rms_norm(M=1000, N=480, block_M=8)", 8640)):
        assert plan_of("rms_norm", call) == {"x": "CyclicLayout", "sq": "CyclicLayout", "inv_rms": "RowLayout"}
        assert generate_kernel(instantiate(load(EXAMPLES / "rms_norm.py"), call), "sm_90").dynamic_smem == smem


def test_cross_warp_tables_are_sized_like_tilelangs_workspace():
    # one float per thread (TileLang's reduction workspace); the tables take X_shared's bytes once the
    # tile is in registers, so the arena is TileLang's: X_shared (and w_shared)
    assert _tables("softmax", "softmax(4096, 1024, 4)") == [[128], [128]]
    assert generate_kernel(instantiate(load(EXAMPLES / "softmax.py"), "softmax(4096, 1024, 4)"), "sm_90").dynamic_smem == 8192
    assert _tables("rms_norm", "rms_norm(M=4096, N=1024, block_M=8)") == [[256]]
    rms = generate_kernel(instantiate(load(EXAMPLES / "rms_norm.py"), "rms_norm(M=4096, N=1024, block_M=8)"), "sm_90")
    assert rms.dynamic_smem == 18432
    # FlashAttention at 32-row blocks: two tables, both live over the pipelined loop (TileLang's two
    # workspaces too): Q, K and V (2 versions each) + 2 x 512 + p (2048, in shared memory)
    call = "flash_attention_fwd(1, 2, 64, 32, block_M=32, block_N=32)"
    assert _tables("flash_attention", call) == [[128], [128]]
    assert generate_kernel(instantiate(load(EXAMPLES / "flash_attention.py"), call), "sm_90").dynamic_smem == 13312
