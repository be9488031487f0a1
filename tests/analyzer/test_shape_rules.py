"""TL2xx beyond the documented examples: thread ranges, autotune configs, guarded copies."""

from __future__ import annotations

from analyzer.config import Config
from analyzer.diagnostics import Severity
from analyzer.engine import analyze_source

HEADER = "import tilelang\nimport tilelang.language as T\n\n\n"


def _diags(source: str, code: str, arches: tuple[str, ...] = ("sm_80",)):
    report = analyze_source(source, "k.py", Config(arches=arches))
    return [d for d in report.diagnostics if d.code == code]


SPLIT = HEADER + '''def split(N, width={width}):
    @T.prim_func
    def main(A: T.Tensor((N,), "float32"), B: T.Tensor((N,), "float32")):
        with T.Kernel(T.ceildiv(N, width), threads=96) as bx:
            tx = T.get_thread_binding()
            if tx < 32:
                T.copy(A[bx * width], B[bx * width])
            else:
                x = T.alloc_fragment((width,), "float32")
                T.copy(A[bx * width], x)
                for i in T.Parallel(width):
                    x[i] = x[i] * 2
                T.copy(x, B[bx * width])

    return main


kernel = split(4096)
'''


def test_fragment_layout_uses_the_threads_of_its_branch() -> None:
    # 512 elements over 96 threads has no layout, but the else branch of `tx < 32` runs 64 threads
    assert _diags(SPLIT.format(width=512), "TL206") == []
    [d] = _diags(SPLIT.format(width=96), "TL206")
    assert "96 elements, more than the 64 threads" in d.message and "96 % 64 = 32" in d.message
    assert (d.range.start.line, d.range.start.character) == (12, 20)  # the T.alloc_fragment call


CHAIN = HEADER + '''def roles(N):
    @T.prim_func
    def main(A: T.Tensor((N, 64), "float16"), B: T.Tensor((64, 64), "float16"), C: T.Tensor((N, 64), "float32")):
        with T.Kernel(T.ceildiv(N, 64), threads=384) as bx:
            tx = T.get_thread_binding()
            A_s = T.alloc_shared((64, 64), "float16")
            B_s = T.alloc_shared((64, 64), "float16")
            acc = T.alloc_fragment((64, 64), "float32")
            if tx < 128:
                T.copy(A[bx * 64, 0], A_s)
            elif 128 <= tx < {mid}:
                T.copy(B[0, 0], B_s)
            elif tx >= 128:
                T.clear(acc)
                T.gemm(A_s, B_s, acc)
                T.copy(acc, C[bx * 64, 0])

    return main


kernel = roles(1024)
'''


def test_gemm_warp_partition_counts_the_warps_of_its_role() -> None:
    # 384 threads = 12 warps cannot tile 64x64 with the Square policy; the last role has 4 warps
    assert _diags(CHAIN.format(mid=256), "TL207") == []
    # with the middle role on [128, 192) the last one gets [192, 384): 6 warps cannot split 64 x 64
    [d] = _diags(CHAIN.format(mid=192), "TL207")
    assert "6 warps (192 threads" in d.message


WS_ROLES = HEADER + '''def roles(N):
    @T.prim_func
    def main(A: T.Tensor((N, 64), "float16"), B: T.Tensor((64, 128), "float16"), C: T.Tensor((N, 128), "float32")):
        with T.Kernel(T.ceildiv(N, 128), threads={threads}) as bx:
            A_s = T.alloc_shared((128, 64), "float16")
            B_s = T.alloc_shared((64, 64), "float16")
            acc = T.alloc_fragment((128, 64), "float32")
            T.copy(A[bx * 128, 0], A_s)
            with T.ws(0):
                T.copy(B[0, 0], B_s)
                T.clear(acc)
                T.gemm(A_s, B_s, acc)
                T.copy(acc, C[bx * 128, 0])

    return main


kernel = roles(1024)
'''


def test_a_warp_group_role_is_cut_to_the_threads_of_the_block() -> None:
    # T.ws(0) is threads [0, 128); with 96 threads in the block it has 3 warps, which cannot split 128 x 64
    # (TileLang: "M=128, N=64 cannot be evenly covered by 3 warps (policy=Square)")
    assert _diags(WS_ROLES.format(threads=256), "TL207") == []
    [d] = _diags(WS_ROLES.format(threads=96), "TL207")
    assert "M=128, N=64 cannot be covered by 3 warps (96 threads" in d.message


TUNED = HEADER + '''from tilelang.autotuner import autotune


@autotune(configs=[dict(threads=128), dict(threads=256), dict(threads=512)], warmup=3)
@tilelang.jit
def gemm(M, N, K, block_M=16, block_N={n}, threads=128):
    @T.prim_func
    def main(A: T.Tensor((M, K), "float16"), B: T.Tensor((K, N), "float16"), C: T.Tensor((M, N), "float32")):
        with T.Kernel(T.ceildiv(N, block_N), T.ceildiv(M, block_M), threads=threads) as (bx, by):
            A_s = T.alloc_shared((block_M, 32), "float16")
            B_s = T.alloc_shared((32, block_N), "float16")
            acc = T.alloc_fragment((block_M, block_N), "float32")
            T.clear(acc)
            for k in T.Pipelined(T.ceildiv(K, 32), num_stages=2):
                T.copy(A[by * block_M, k * 32], A_s)
                T.copy(B[k * 32, bx * block_N], B_s)
                T.gemm(A_s, B_s, acc, policy=T.GemmWarpPolicy.FullRow)
            T.copy(acc, C[by * block_M, bx * block_N])

    return main


kernel = gemm(1024, 1024, 1024)
'''


def test_an_error_in_some_autotune_configs_is_a_warning_naming_them() -> None:
    # M=16 rows, N=32 columns: 4 warps split the columns (8 each), 8 and 16 warps cannot
    [d] = _diags(TUNED.format(n=32), "TL207")
    assert d.severity is Severity.WARNING
    assert "[in 2 of 3 autotune configs, e.g. threads=256;" in d.message
    assert "the autotuner skips configs that fail to compile]" in d.message


def test_an_error_in_every_autotune_config_stays_an_error() -> None:
    # N=20 is no multiple of 8: every config fails, once per gemm
    [d] = _diags(TUNED.format(n=20), "TL207")
    assert d.severity is Severity.ERROR
    assert d.message == "T.gemm N=20 must be a multiple of 8 (each warp owns 8-column mma tiles)"


GUESS = HEADER + '''@tilelang.jit
def attend(Q, dim, groups=1):
    heads = T.const("heads")
    Q: T.Tensor((heads, dim), "float16")
    O = T.empty((groups, 64), "float32")
    with T.Kernel(heads // groups, threads=128) as bx:
        Q_s = T.alloc_shared((groups, 64), "float16")
        K_s = T.alloc_shared((64, 64), "float16")
        acc = T.alloc_fragment((groups, 64), "float32")
        T.copy(Q[bx * groups, 0], Q_s)
        T.clear(acc)
        T.gemm(Q_s, K_s, acc)
        T.copy(acc, O)
    return O
'''


def test_an_error_under_guessed_defaults_is_a_warning() -> None:
    [d] = _diags(GUESS, "TL207")
    assert d.severity is Severity.WARNING
    assert d.message.startswith("T.gemm M=1 must be a multiple of 16")
    assert "no call with constant arguments binds attend and dim has no value" in d.message


def test_a_call_with_a_runtime_value_overrides_the_default() -> None:
    source = GUESS + '''

def forward(q, k):
    g = q.shape[0] // k.shape[0]
    return attend(q, dim=64, groups=g)


forward(None, None)
'''
    # the call passes `groups` computed at run time: the default 1 no longer applies
    assert _diags(source, "TL207") == []
    report = analyze_source(source, "k.py", Config(arches=("sm_80",)))
    [kernel] = report.kernels
    assert kernel["instantiation"]["groups"] == "groups"


EMPTY = HEADER + '''@tilelang.jit
def flip(A, block=64):
    n, h = T.const("n, h")
    A: T.Tensor((n, h, 64), T.float16)
    B = T.empty((n, h, 64), T.float16)
    with T.Kernel(T.ceildiv(n, block), h, threads=128) as (bx, by):
        S = T.alloc_shared((block, 64), T.float16)
        T.copy(A[bx * block : (bx + 1) * block, by, :], S)
        T.copy(S, B[bx * block : (bx + 1) * block, by, :])
    return B
'''


def test_t_empty_with_shape_and_dtype_keeps_every_dimension() -> None:
    assert _diags(EMPTY, "TL202") == []
    bad = EMPTY.replace("T.copy(S, B[bx * block : (bx + 1) * block, by, :])", "T.copy(S, B[bx * block, by, 0:32])")
    [d] = _diags(bad, "TL202")
    assert "covers (64, 64)" in d.message and "(1, 1, 32)" in d.message


TCGEN = HEADER + '''def pair(M, N, K):
    @T.prim_func
    def main(A: T.Tensor((M, K), "bfloat16"), B: T.Tensor((K, N), "bfloat16"), C: T.Tensor((M, N), "float32")):
        with T.Kernel(1, threads=128) as bx:
            A_s = T.alloc_shared((128, 64), "bfloat16")
            B_s = T.alloc_shared((64, 128), "bfloat16")
            C_t = T.alloc_tmem([128, 256], "float32")
            bar = T.alloc_barrier(1)
            T.tcgen05_gemm(A_s, B_s, C_t, mbar=bar{extra})

    return main


kernel = pair(1024, 1024, 1024)
'''


def test_two_cta_gemm_doubles_the_columns_of_b() -> None:
    assert _diags(TCGEN.format(extra=", use_2cta=True"), "TL201", ("sm_100",)) == []
    [d] = _diags(TCGEN.format(extra=""), "TL201", ("sm_100",))
    assert "N mismatch: B_s gives N=128 but C_t is (128, 256) so N=256" in d.message


EDGE = HEADER + '''def edge(N):
    @T.prim_func
    def main(A: T.Tensor((24, N), "float32"), B: T.Tensor((N,), "float32")):
        with T.Kernel(T.ceildiv(N, 256), threads=128) as bx:
            S = T.alloc_shared((32, 256), "float32")
            T.copy(A[0, bx * 256], S)
            T.copy(S[{row}, :], B[bx * 256 : (bx + 1) * 256])

    return main


kernel = edge(4096)
'''


def test_copy_tiles_hanging_over_the_edge_are_guarded_but_fixed_indices_are_not() -> None:
    # a 32-row tile from a 24-row tensor: T.copy predicates the rows, zero-filling the rest
    assert _diags(EDGE.format(row=31), "TL204") == []
    [d] = _diags(EDGE.format(row=32), "TL204")
    assert d.message == "index 32 is out of bounds for dimension 0 of S, which has 32 elements (shape (32, 256))"


MISMATCH = HEADER + '''def part(M, N):
    @T.prim_func
    def main(A: T.Tensor((M, N), "float16"), B: T.Tensor((M, N), "float16")):
        with T.Kernel(1, threads=128) as bx:
            S = T.alloc_shared((64, {cols}), "float16")
            T.copy(A[0:64, 0:32], S)
            T.copy(A[0:64, 0:2], B[0:64, 0:3])

    return main


kernel = part(1024, 1024)
'''


def test_copy_mismatch_is_an_error_only_where_tilelang_rejects_it() -> None:
    found = _diags(MISMATCH.format(cols=32), "TL202")
    # global -> global: TileLang walks the source's (64, 2) and leaves a column of B alone
    [warn] = found
    assert warn.severity is Severity.WARNING
    assert "TileLang walks A[0:64, 0:2]'s extents and fills only part of B[0:64, 0:3]" in warn.message
    # global -> shared walks the shared side: 16 columns cannot hold the 32 it must take
    errors = [d for d in _diags(MISMATCH.format(cols=16), "TL202") if d.severity is Severity.ERROR]
    [err] = errors
    assert "A[0:64, 0:32] covers (64, 32) but S covers (64, 16)" in err.message
    assert "Selected loop range is smaller than original src range" in err.message


RESHAPE = HEADER + '''def flat(N):
    @T.prim_func
    def main(A: T.Tensor((N,), "float32"), B: T.Tensor((32, 32), "float32")):
        with T.Kernel(1) as _:
            R = T.reshape(A, [32, {cols}])
            T.copy(R[0:32, 0:32], B)

    return main


kernel = flat(1024)
'''


def test_a_reshape_must_keep_the_element_count() -> None:
    assert _diags(RESHAPE.format(cols=32), "TL202") == []
    [d] = _diags(RESHAPE.format(cols=33), "TL202")
    assert d.message.startswith("T.reshape/T.view of A (1024,) to (32, 33) changes the element count (1024 x float32")


LENDER = HEADER + '''def lend(M):
    @T.prim_func
    def main(A: T.Tensor((16, 14), "int32"), B: T.Tensor((16, 448), "int32")):
        with T.Kernel(1, threads=128) as bx:
            A_local = T.alloc_fragment((16, 14), "int32")
            T.copy(A, A_local)
{use}
    return main


kernel = lend(1)
'''


def test_a_fragment_laid_out_by_a_larger_parallel_loop_is_not_flagged() -> None:
    # 224 elements do not spread over 128 threads, but the 16 x 448 loop (56 per thread) lends a layout
    wide = "            for i, j in T.Parallel(16, 448):\n                B[i, j] += A_local[i, j // 32]\n"
    assert _diags(LENDER.format(use=wide), "TL206") == []
    alone = "            T.copy(A_local, B[0:16, 0:14])\n"
    [d] = _diags(LENDER.format(use=alone), "TL206")
    assert "224 elements, more than the 128 threads" in d.message


def test_files_built_for_another_back_end_skip_cuda_layout_rules() -> None:
    source = LENDER.format(use="            T.copy(A_local, B[0:16, 0:14])\n")
    cpu = source + '\n\ndef build():\n    return tilelang.compile(kernel, target="c")\n'
    assert _diags(cpu, "TL206") == []
    both = cpu + '\n\ndef build_gpu():\n    return tilelang.compile(kernel, target="cuda")\n'
    assert len(_diags(both, "TL206")) == 1


def test_file_back_end_detection() -> None:
    from analyzer.engine import file_target

    assert file_target('k = tilelang.compile(f, target="c")') == "c"
    assert file_target('with tvm.target.Target("metal"):\n    pass') == "metal"
    assert file_target('a = torch.randn(4, device="mps")') == "metal"
    # ROCm's torch names its GPU "cuda": a ROCm-only test is still a HIP file
    rocm = '@pytest.mark.skipif(torch.version.hip is None, reason="ROCm")\ndef test():\n    x = torch.ones(1, device="cuda")'
    assert file_target(rocm) == "hip"
    # a file that runs on both keeps the CUDA rules
    assert file_target('arch = CUDA("cuda") if torch.version.hip is None else CDNA("hip")') == "cuda"
    assert file_target("@tilelang.testing.requires_cuda\n@tilelang.testing.requires_rocm\ndef t(): pass") == "cuda"
    assert file_target('k = tilelang.compile(f, target="c")\nk2 = tilelang.compile(g, target="cuda")') == "cuda"
