"""The editor's index: same report as tilelint, kernels, buffers, uses and quick fixes with exact ranges."""

from __future__ import annotations

import ast
import pickle
import random
from pathlib import Path

import pytest
from conftest import EXAMPLES, ROOT

from analyzer.config import Config
from analyzer.diagnostics import Range
from analyzer.engine import analyze_source
from analyzer.fixes import apply_edits, ignore_edit
from analyzer.index import DocumentIndex, build_index, digest

ARCHES = ("sm_80", "sm_86", "sm_89", "sm_90")
ALL_EXAMPLES = sorted(EXAMPLES.rglob("*.py"))


def span(r: Range | None) -> tuple[int, int, int, int] | None:
    return None if r is None else (r.start.line, r.start.character, r.end.line, r.end.character)


def index_of(path: Path, config: Config = Config(arches=ARCHES)) -> tuple[str, DocumentIndex]:
    text = path.read_text(encoding="utf-8")
    return text, build_index(text, str(path), config)


# -- the report is tilelint's ------------------------------------------------------------


@pytest.mark.parametrize("path", ALL_EXAMPLES, ids=lambda p: p.stem)
def test_report_is_exactly_tilelints(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    for config in (Config(), Config(arches=("sm_75", "sm_90"), ignore=("TL103",))):
        index = build_index(text, str(path), config)
        assert index.error is None
        assert index.report.to_json() == analyze_source(text, str(path), config).to_json()
        assert [k.facts for k in index.kernels] == index.report.kernels


def test_cli_requests_reach_the_analysis() -> None:
    text = (EXAMPLES / "buggy" / "uninstantiated_factory.py").read_text(encoding="utf-8")
    request = ("matmul(4096, 4096, 4096)",)
    index = build_index(text, "u.py", Config(), request)
    assert index.report.to_json() == analyze_source(text, "u.py", Config(), request).to_json()


# -- kernels, loops, buffers ------------------------------------------------------------------


def test_eager_gemm_kernel_buffers_and_loops() -> None:
    text, index = index_of(EXAMPLES / "gemm_pipelined.py")
    [kernel] = index.kernels
    assert (kernel.name, kernel.site, kernel.style, kernel.instantiation_source) == (
        "matmul", "matmul", "eager", "call-site")
    assert span(kernel.range) == (18, 9, 18, 80)  # T.Kernel(...)
    assert span(kernel.with_range) == (18, 4, 18, 92)  # with T.Kernel(...) as (bx, by)
    assert span(kernel.body_range) == (18, 4, 28, 50)
    assert span(kernel.function_range) == (12, 4, 12, 10)
    assert kernel.facts["grid"] == [32, 32, 1] and kernel.facts["threads"] == 128
    assert kernel.facts["shared_memory_bytes"] == 49152
    assert {a: e["fits"] for a, e in kernel.facts["per_arch"].items()} == dict.fromkeys(ARCHES, True)
    [loop] = kernel.loops
    assert (loop.kind, loop.vars, loop.extents, loop.num_stages) == ("T.Pipelined", ("ko",), (128,), 3)
    assert span(loop.range) == (24, 8, 27, 43) and span(loop.header) == (24, 8, 24, 75)

    by_name = {b.name: b for b in index.buffers}
    assert list(by_name) == ["A", "B", "C", "A_shared", "B_shared", "acc"]
    a = by_name["A_shared"]
    assert (a.scope, a.shape, a.dtype, a.bytes, a.versions, a.total_bytes) == (
        "shared.dyn", (128, 32), "float16", 8192, 3, 24576)
    assert a.versions_by_arch == tuple((arch, 3) for arch in ARCHES)
    assert (a.threads, a.elements_per_thread, a.registers_per_thread, a.held, a.is_param) == (
        None, None, None, None, False)
    assert span(a.name_range) == (19, 8, 19, 16)
    assert span(a.alloc_range) == (19, 19, 19, 64)
    assert span(a.statement_range) == (19, 8, 19, 64)
    assert [span(u) for u in a.uses] == [(25, 50, 25, 58), (27, 19, 27, 27)]
    assert [span(u) for u in a.writes] == [(25, 50, 25, 58)]  # the destination of T.copy

    acc = by_name["acc"]
    assert (acc.scope, acc.shape, acc.dtype, acc.bytes, acc.versions) == ("local.fragment", (128, 128), "float32",
                                                                          65536, 1)
    # 16384 fp32 values over 128 threads: 128 per thread, 128 32-bit registers, held (a gemm accumulator)
    assert (acc.threads, acc.elements_per_thread, acc.registers_per_thread, acc.held) == (128, 128, 128, True)
    assert [span(u) for u in acc.uses] == [(23, 16, 23, 19), (27, 39, 27, 42), (28, 15, 28, 18)]
    assert [span(u) for u in acc.writes] == [(23, 16, 23, 19), (27, 39, 27, 42)]  # T.clear and T.gemm's C

    c = by_name["C"]  # `C = T.empty(...)`: the eager kernel's output tensor
    assert c.is_param and c.scope == "global" and span(c.alloc_range) == (16, 8, 16, 34)
    assert span(by_name["A"].name_range) == (14, 4, 14, 5) and by_name["A"].alloc_range is None
    for b in index.buffers:
        lines = text.split("\n")
        for r in (b.name_range, *b.uses):
            assert lines[r.start.line][r.start.character:r.end.character] == b.name


def test_prim_func_parameters_and_nested_loops() -> None:
    text, index = index_of(EXAMPLES / "flash_attention.py")
    [kernel] = index.kernels
    assert (kernel.name, kernel.site, kernel.style) == ("main", "flash_attention_fwd", "factory")
    assert kernel.instantiation_source == "call-site"
    assert kernel.instantiation == {"batch": 4, "heads": 16, "seq_len": 4096, "dim": 128, "block_M": 64,
                                    "block_N": 64, "num_stages": 2, "threads": 128}
    assert [(lp.kind, lp.vars, span(lp.header)) for lp in kernel.loops] == [
        ("T.Pipelined", ("kb",), (46, 12, 46, 85)),
        ("T.Parallel", ("i",), (53, 16, 53, 44)),
        ("T.Parallel", ("i", "j"), (55, 16, 55, 56)),
        ("T.Parallel", ("i",), (58, 16, 58, 44)),
        ("T.Parallel", ("i", "j"), (60, 16, 60, 52)),
        ("T.Parallel", ("i", "j"), (67, 12, 67, 48)),
    ]
    by_name = {b.name: b for b in index.buffers}
    q = by_name["Q"]
    assert q.is_param and span(q.name_range) == (22, 8, 22, 9) and q.alloc_range is None
    assert q.shape == (4, 16, 4096, 128) and q.bytes == 4 * 16 * 4096 * 128 * 2
    assert [span(u) for u in q.uses] == [(41, 19, 41, 20)]
    k = by_name["K"]  # `K` the tensor, not the `K` of any other scope
    assert [span(u) for u in k.uses] == [(47, 23, 47, 24)]
    m = by_name["m"]  # one name, read and written in many statements
    assert m.shape == (64,) and (m.threads, m.elements_per_thread) == (128, 1)
    assert len(m.uses) == 5 and [span(u) for u in m.writes] == [(44, 19, 44, 20), (52, 32, 52, 33)]


def test_non_ascii_lines_give_code_point_columns() -> None:
    source = '''import tilelang
import tilelang.language as T


@T.prim_func
def main(A: T.Tensor((256, 64), "float16"), B: T.Tensor((256, 64), "float16")):
    with T.Kernel(4, threads=128) as bx:
        note = "🚀é"; tile = T.alloc_shared((64, 64), "float16")
        T.copy(A[bx * 64, 0], tile)  # ✓ 🚀
        x = "🚀🚀"; T.copy(tile, B[bx * 64, 0])
'''
    index = build_index(source, "emoji.py", Config(arches=("sm_80",)))
    tile = next(b for b in index.buffers if b.name == "tile")
    # 'note = "🚀é"; ' is 13 code points (🚀 would be 2 UTF-16 units, 4 UTF-8 bytes)
    assert span(tile.name_range) == (7, 21, 7, 25)
    assert span(tile.alloc_range) == (7, 28, 7, 63)
    assert [span(u) for u in tile.uses] == [(8, 30, 8, 34), (9, 25, 9, 29)]
    assert tile.bytes == 8192
    line = source.split("\n")[9]
    assert line[25:29] == "tile"
    copy = [c for c in index.calls if c.name == "copy"]
    assert [span(c.range) for c in copy] == [(8, 8, 8, 14), (9, 18, 9, 24)]


SHADOWED = '''import tilelang
import tilelang.language as T


def scale(M, N, block_M=64):
    @T.macro
    def double(tile):
        for i, j in T.Parallel(block_M, N):
            tile[i, j] = tile[i, j] * 2

    @T.prim_func
    def main(A: T.Tensor((M, N), "float32"), B: T.Tensor((M, N), "float32")):
        with T.Kernel(T.ceildiv(M, block_M), threads=128) as bx:
            tile = T.alloc_fragment((block_M, N), "float32")
            T.copy(A[bx * block_M, 0], tile)
            double(tile)
            T.copy(tile, B[bx * block_M, 0])
        with T.Kernel(T.ceildiv(M, block_M), threads=128) as bx:
            tile = T.alloc_shared((block_M, N), "float32")
            T.copy(B[bx * block_M, 0], tile)
            T.copy(tile, A[bx * block_M, 0])

    return main


kernel = scale(1024, 64)
'''


def test_uses_respect_nested_scopes_and_kernel_blocks() -> None:
    index = build_index(SHADOWED, "s.py", Config(arches=("sm_80",)))
    assert [k.name for k in index.kernels] == ["main", "main_1"]
    first, second = (next(b for b in k.buffers if b.name == "tile") for k in index.kernels)
    assert first.scope == "local.fragment" and second.scope == "shared.dyn"
    # the macro's parameter `tile` (lines 6-8) is another variable
    assert [span(u) for u in first.uses] == [(14, 39, 14, 43), (15, 19, 15, 23), (16, 19, 16, 23)]
    assert [span(u) for u in second.uses] == [(19, 39, 19, 43), (20, 19, 20, 23)]
    assert index.buffers_at(first.uses[1].start) == [first]
    assert index.buffers_at(second.name_range.end) == [second]  # the cursor just after the name


def test_catalog_references_follow_the_import_alias() -> None:
    source = ("from tilelang import language as TL\n\n\n@TL.macro\ndef zero(x):\n"
              "    TL.clear(x)  # T.copy is not a reference\n    y = TL.GemmWarpPolicy.Square\n")
    index = build_index(source, "helpers.py", Config())
    assert index.t_aliases == ("TL",)
    assert index.kernels == () and index.report.diagnostics == []
    assert [(c.name, c.qualifier, span(c.range)) for c in index.calls] == [
        ("macro", "TL", (3, 1, 3, 9)), ("clear", "TL", (5, 4, 5, 12)), ("GemmWarpPolicy", "TL", (6, 8, 6, 25))]


def test_syntax_errors() -> None:
    text, index = index_of(EXAMPLES / "buggy" / "syntax_error.py")
    assert index.syntax_error is not None and index.syntax_error.code == "TL901"
    assert index.report.diagnostics == [index.syntax_error]
    assert index.kernels == () and index.calls == ()
    # a helper module: tilelint does not parse it (no kernel), the index says it does not parse
    index = build_index("import tilelang\ndef f(:\n", "h.py", Config())
    assert index.report.diagnostics == []
    assert index.syntax_error is not None and span(index.syntax_error.range) == (1, 6, 1, 6)
    # TL901 turned off: not reported, still known
    index = build_index(text, "x.py", Config(ignore=("TL901",)))
    assert index.report.diagnostics == [] and index.syntax_error is not None


def test_index_is_plain_data() -> None:
    text, index = index_of(EXAMPLES / "buggy" / "autotune_config_over_sm86.py")
    copy = pickle.loads(pickle.dumps(index))
    assert copy == index
    assert index.digest == digest(text) and len(index.kernels) == 2


def test_truncated_files_never_break_the_index() -> None:
    built = 0
    for path in ALL_EXAMPLES:
        text = path.read_text(encoding="utf-8")
        rng = random.Random(path.name)
        for cut in sorted({rng.randrange(len(text) + 1) for _ in range(8)}):
            piece = text[:cut]
            index = build_index(piece, path.name, Config())
            assert index.error is None, (path.name, cut, index.error)
            built += 1
    assert built > 100


def test_analyzer_never_imports_lsp_or_tvm() -> None:
    banned = ("pygls", "lsprotocol", "tvm", "tilelsp")
    for path in sorted((ROOT / "analyzer").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else [])
            for name in names:
                assert name.split(".")[0] not in banned, f"{path.name} imports {name}"


# -- quick fixes ------------------------------------------------------------------------------

GEMM = '''import tilelang
import tilelang.language as T
from tilelang.autotuner import autotune

{decorator}
def matmul(M, N, K, block_M, block_N, block_K{params}):
    @T.prim_func
    def main(A: T.Tensor((M, K), "float16"), B: T.Tensor((K, N), "float16"), C: T.Tensor((M, N), "float16")):
        with T.Kernel(T.ceildiv(N, block_N), T.ceildiv(M, block_M), threads=128) as (bx, by):
            A_shared = T.alloc_shared((block_M, block_K), "float16")
            B_shared = T.alloc_shared((block_K, block_N), "float16")
            acc = T.alloc_fragment((block_M, block_N), "float32")
            T.clear(acc)
            {local}for k in T.Pipelined(T.ceildiv(K, block_K), num_stages={stages}):
                T.copy(A[by * block_M, k * block_K], A_shared)
                T.copy(B[k * block_K, bx * block_N], B_shared)
                T.gemm(A_shared, B_shared, acc)
            T.copy(acc, C[by * block_M, bx * block_N])

    return main

{tail}
'''
CALL = "kernel = matmul(4096, 4096, 4096, 128, 128, 64{extra})\n"
CONFIGS = ('@autotune(configs=[{"block_M": 128, "block_N": 128, "block_K": 32, "num_stages": 3},\n'
           '                   {"block_M": 128, "block_N": 128, "block_K": 64, "num_stages": 4}])\n'
           '@tilelang.jit(out_idx=[-1])')

# 128x128x64 fp16 tiles: 32 KiB a stage. sm_86 allows 101376 B (3 stages), sm_80 166912 B (5 stages).
STAGE_CASES = {
    "literal": dict(params="", stages="4", tail=CALL.format(extra=""), edited="num_stages=3):"),
    "call-keyword": dict(params=", num_stages=2", stages="num_stages", tail=CALL.format(extra=", num_stages=4"),
                         edited="64, num_stages=3)"),
    "call-positional": dict(params=", num_stages=2", stages="num_stages", tail=CALL.format(extra=", 4"),
                            edited="128, 64, 3)"),
    "default": dict(params=", num_stages=4", stages="num_stages", tail=CALL.format(extra=""),
                    edited="block_K, num_stages=3):"),
    "autotune-config": dict(decorator=CONFIGS, params=", num_stages=None", stages="num_stages",
                            tail="kernel = matmul(4096, 4096, 4096)\n", edited='"block_K": 64, "num_stages": 3}'),
    "comment": dict(params=", num_stages=2", stages="num_stages",
                    tail="# tilelint: instantiate matmul(4096, 4096, 4096, 128, 128, 64, num_stages=4)\n",
                    edited="64, num_stages=3)"),
    "module-constant": dict(params="", stages="STAGES", tail="STAGES = 4\n" + CALL.format(extra=""),
                            edited="STAGES = 3"),
    "local-assignment": dict(params="", stages="stages", local="stages = 4\n            ",
                             tail=CALL.format(extra=""), edited="stages = 3"),
}


def gemm(**parts: str) -> str:
    values = {"decorator": "", "params": "", "local": "", "stages": "4", "tail": ""}
    values.update({k: v for k, v in parts.items() if k in values})
    return GEMM.format(**values)


@pytest.mark.parametrize("case", sorted(STAGE_CASES))
def test_num_stages_fix_edits_where_the_value_is_written(case: str) -> None:
    spec = STAGE_CASES[case]
    source = gemm(**spec)
    config = Config(arches=("sm_80", "sm_86"))
    index = build_index(source, "g.py", config)
    over = [d for d in index.report.diagnostics if d.code == "TL101"]
    assert [d.arch for d in over] == ["sm_86"], case
    [fix] = index.fixes
    assert fix.title == "Set num_stages to 3 (the most that fits sm_80, sm_86)"
    assert (fix.code, fix.range, fix.message) == ("TL101", over[0].range, over[0].message)
    fixed = apply_edits(source, fix.edits)
    assert spec["edited"] in fixed
    assert [d.code for d in build_index(fixed, "g.py", config).report.diagnostics if d.code == "TL101"] == []


def test_num_stages_fix_takes_the_smallest_arch() -> None:
    source = gemm(stages="6", tail=CALL.format(extra=""))
    config = Config(arches=("sm_80", "sm_86"))
    index = build_index(source, "g.py", config)
    assert [d.arch for d in index.report.diagnostics if d.code == "TL101"] == ["sm_80", "sm_86"]
    assert [f.title for f in index.fixes] == ["Set num_stages to 3 (the most that fits sm_80, sm_86)"] * 2
    # sm_75 (65536 B) takes two 32 KiB stages
    index = build_index(source, "g.py", Config(arches=("sm_75", "sm_90")))
    assert {f.title for f in index.fixes} == {"Set num_stages to 2 (the most that fits sm_75, sm_90)"}


def test_no_num_stages_fix_when_the_value_is_not_in_the_file_or_nothing_fits() -> None:
    source = gemm(params=", num_stages=2", stages="num_stages")
    request = ("matmul(4096, 4096, 4096, 128, 128, 64, num_stages=4)",)
    index = build_index(source, "g.py", Config(arches=("sm_86",)), request)
    assert [d.code for d in index.report.diagnostics] == ["TL101"] and index.fixes == ()
    huge = gemm(stages="2", tail="kernel = matmul(4096, 4096, 4096, 256, 256, 256)\n")
    index = build_index(huge, "g.py", Config(arches=("sm_86",)))
    assert "TL101" in [d.code for d in index.report.diagnostics] and index.fixes == ()


@pytest.mark.parametrize("name", ["autotune_config_over_sm86", "flash_attention_128", "flash_attention_stages3",
                                  "gemm_stages4_big_tiles", "gemm_too_big_everywhere"])
def test_buggy_examples_get_a_num_stages_fix_that_works(name: str) -> None:
    text, index = index_of(EXAMPLES / "buggy" / f"{name}.py")
    over = [d for d in index.report.diagnostics if d.code == "TL101"]
    assert over and len(index.fixes) == len(over)
    for fix in index.fixes:
        fixed = apply_edits(text, fix.edits)
        assert "TL101" not in [d.code for d in build_index(fixed, name, Config(arches=ARCHES)).report.diagnostics]


def test_fix_edits_of_the_stages4_example() -> None:
    text, index = index_of(EXAMPLES / "buggy" / "gemm_stages4_big_tiles.py")
    assert {(f.title, tuple((span(e.range), e.new_text) for e in f.edits)) for f in index.fixes} == {
        ("Set num_stages to 3 (the most that fits sm_80, sm_86, sm_89, sm_90)", (((40, 101, 40, 102), "3"),))}


# -- the ignore comment --------------------------------------------------------------------------


def test_ignore_comment_is_appended_or_merged() -> None:
    text = "a = 1\nb = f(x)   \nc = g()  # tilelint: ignore[TL412]\n# tilelint: ignore[TL103]\nd = h()\n"
    edit = ignore_edit(text, 1, "TL101")
    assert (span(edit.range), edit.new_text) == ((1, 8, 1, 11), "  # tilelint: ignore[TL101]")
    assert apply_edits(text, [edit]).split("\n")[1] == "b = f(x)  # tilelint: ignore[TL101]"
    edit = ignore_edit(text, 2, "TL401")
    assert apply_edits(text, [edit]).split("\n")[2] == "c = g()  # tilelint: ignore[TL401, TL412]"
    edit = ignore_edit(text, 4, "TL101")  # the comment line above is merged
    assert apply_edits(text, [edit]).split("\n")[3] == "# tilelint: ignore[TL101, TL103]"
    assert ignore_edit(text, 2, "TL412") is None  # already there
    assert ignore_edit("x = 1  # tilelint: ignore\n", 0, "TL101") is None  # a bare ignore silences everything
    assert ignore_edit(text, 99, "TL101") is None and ignore_edit(text, 0, "E501") is None


def test_ignore_comment_goes_above_a_continued_line() -> None:
    text = "if True:\n    x = a + \\\n        b\n"
    edit = ignore_edit(text, 1, "TL101")
    assert apply_edits(text, [edit]) == "if True:\n    # tilelint: ignore[TL101]\n    x = a + \\\n        b\n"


def test_ignore_fix_silences_the_diagnostic_even_after_a_form_feed() -> None:
    text = (EXAMPLES / "buggy" / "gemm_stages4_big_tiles.py").read_text(encoding="utf-8")
    text = text.replace("\n\n\n@tilelang.jit", "\n\n\x0c\n@tilelang.jit")  # a page break: one line for Python
    index = build_index(text, "g.py", Config(arches=ARCHES))
    [first, second] = [d for d in index.report.diagnostics if d.code == "TL101"]
    fixed = apply_edits(text, [ignore_edit(text, first.range.start.line, "TL101")])
    assert [d.code for d in build_index(fixed, "g.py", Config(arches=ARCHES)).report.diagnostics] == []
