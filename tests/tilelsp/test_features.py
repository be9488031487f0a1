"""Editor features as pure functions: exact hovers, hints, symbols, navigation, completion and quick fixes.

Code actions are checked by applying their edits and analysing the result
again: the diagnostic they fix is gone.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import EXAMPLES
from lsprotocol import types

from analyzer.config import Config
from analyzer.diagnostics import Diagnostic, Position, Range
from analyzer.fixes import TextEdit, apply_edits
from analyzer.index import DocumentIndex, build_index
from analyzer.rules import REGISTRY
from tilelsp import features as f

ARCHES = ("sm_80", "sm_86", "sm_89", "sm_90")
CONFIG = Config(arches=ARCHES)
URI = "file:///work/k.py"


def P(line: int, character: int) -> types.Position:
    return types.Position(line=line, character=character)


def span(r: types.Range) -> tuple[int, int, int, int]:
    return (r.start.line, r.start.character, r.end.line, r.end.character)


def load(name: str, config: Config = CONFIG) -> tuple[str, DocumentIndex]:
    path = EXAMPLES / name
    text = path.read_text(encoding="utf-8")
    return text, build_index(text, str(path), config)


def lsp(d: Diagnostic) -> types.Diagnostic:
    r = d.range
    return types.Diagnostic(range=types.Range(start=P(r.start.line, r.start.character), end=P(r.end.line, r.end.character)),
                            message=d.message, code=d.code, source="tilelint")


def apply(text: str, action: types.CodeAction) -> str:
    assert action.edit is not None and action.edit.changes is not None
    [(uri, edits)] = action.edit.changes.items()
    assert uri == URI
    return apply_edits(text, [TextEdit(Range(Position(e.range.start.line, e.range.start.character),
                                             Position(e.range.end.line, e.range.end.character)), e.new_text)
                              for e in edits])


def codes(text: str, config: Config = CONFIG) -> list[str]:
    return [d.code for d in build_index(text, "k.py", config).report.diagnostics]


EVERYWHERE = types.Range(start=P(0, 0), end=P(10_000, 0))


# -- hover ---------------------------------------------------------------------------------------


def test_hover_on_a_shared_buffer_at_a_use() -> None:
    text, index = load("gemm_pipelined.py")
    hover = f.hover(index, text, P(27, 20), CONFIG)  # T.gemm(A_shared, ...)
    assert span(hover.range) == (27, 19, 27, 27)
    assert hover.contents.kind == types.MarkupKind.Markdown
    assert hover.contents.value == (
        "**A_shared**: shared.dyn buffer `(128, 32)` float16\n"
        "\n"
        "- 8192 B × 3 pipeline versions = 24576 B\n"
        "- kernel `matmul`")


def test_hover_on_a_fragment_at_its_allocation() -> None:
    text, index = load("gemm_pipelined.py")
    hover = f.hover(index, text, P(21, 10), CONFIG)
    assert span(hover.range) == (21, 8, 21, 11)
    assert hover.contents.value == (
        "**acc**: local.fragment buffer `(128, 128)` float32\n"
        "\n"
        "- 65536 B\n"
        "- 128 elements per thread over 128 threads\n"
        "- ≈ 128 registers per thread (held whole)\n"
        "- kernel `matmul`")


def test_hover_on_t_kernel_shows_each_arch() -> None:
    text, index = load("buggy/gemm_stages4_big_tiles.py")
    hover = f.hover(index, text, P(20, 12), CONFIG)  # on `Kernel`
    assert span(hover.range) == (20, 9, 20, 80)
    assert hover.contents.value == (
        "**kernel `matmul`**\n"
        "\n"
        "- grid `(32, 32, 1)` · 128 threads\n"
        "- shared memory: 131072 B\n"
        "  - sm_80: 131072 B of 166912 B, fits (35840 B left)\n"
        "  - sm_86: 131072 B of 101376 B, **over by 29696 B**\n"
        "  - sm_89: 131072 B of 101376 B, **over by 29696 B**\n"
        "  - sm_90: 131072 B of 232448 B, fits (101376 B left)\n"
        "- ≈ 184 registers per thread (estimate; sm_90: 152)\n"
        "- instantiation (call-site): "
        "`M=4096, N=4096, K=4096, block_M=128, block_N=128, block_K=64, num_stages=4`")
    # anywhere in the call that is not another T.* name, and on the kernel function's name
    assert f.hover(index, text, P(20, 75), CONFIG).contents.value == hover.contents.value
    assert f.hover(index, text, P(14, 6), CONFIG).contents.value == hover.contents.value
    assert f.hover(index, text, P(20, 21), CONFIG).contents.value.startswith("```python\nT.ceildiv(")


def test_hover_lists_other_instantiations() -> None:
    text, index = load("buggy/autotune_config_over_sm86.py")
    kernel = f.hover(index, text, P(34, 20), CONFIG).contents.value
    assert kernel.count("**kernel `main`** (from `matmul`)") == 2 and "\n\n---\n\n" in kernel
    assert "- instantiation (call-site+autotune): `block_M=128, block_N=128, block_K=64, num_stages=4, " \
           "M=4096, N=4096, K=4096`" in kernel
    buffer = f.hover(index, text, P(35, 14), CONFIG).contents.value
    assert buffer.splitlines() == [
        "**A_shared**: shared.dyn buffer `(128, 32)` float16",
        "",
        "- 8192 B × 3 pipeline versions = 24576 B",
        "- kernel `main`",
        "- with `block_K=64, num_stages=4`: `(128, 64)` 16384 B × 4 pipeline versions = 65536 B",
    ]


def test_hover_on_catalog_names() -> None:
    text, index = load("gemm_pipelined.py")
    hover = f.hover(index, text, P(19, 25), CONFIG)
    assert span(hover.range) == (19, 19, 19, 33)
    assert hover.contents.value.splitlines() == [
        "```python",
        "T.alloc_shared(shape, dtype, scope='shared.dyn')",
        "```",
        "",
        "Allocate a shared-memory tile; scope defaults to 'shared.dyn' (merged dynamic arena); a bool dtype is "
        "forced to static 'shared'.",
        "",
        "*Reference (`tilelang.language.allocate`):*",
        "Allocate a shared memory buffer for inter-thread communication.",
        "- `shape` (tuple): The shape of the buffer to allocate",
        "- `dtype` (str): The data type of the buffer (e.g., 'float32', 'int32')",
        '- `scope` (str, optional): The memory scope. Defaults to "shared.dyn"',
        "- returns `T.Buffer`: A TVM buffer object allocated in shared memory",
    ]
    # no analysis at all: the catalog still answers from the text
    copy = f.hover(None, text, P(25, 15), CONFIG)
    assert span(copy.range) == (25, 12, 25, 18)
    assert copy.contents.value.startswith("```python\nT.copy(src, dst, *, coalesced_width=None")
    assert f.hover(None, text, P(19, 10), CONFIG) is None  # a buffer needs the analysis


def test_hover_keeps_working_from_a_stale_index() -> None:
    text, index = load("gemm_pipelined.py")
    broken = text.replace("        T.clear(acc)\n", "        T.clear(acc\n")  # does not parse any more
    assert build_index(broken, "k.py", CONFIG).syntax_error is not None
    hover = f.hover(index, broken, P(21, 9), CONFIG)
    assert hover.contents.value.startswith("**acc**: local.fragment buffer")
    shifted = "\n" + text  # the names moved: no stale answer about the wrong word
    assert f.hover(index, shifted, P(21, 9), CONFIG) is None


# -- inlay hints ---------------------------------------------------------------------------------


def test_inlay_hints_after_allocations_and_the_kernel() -> None:
    text, index = load("gemm_pipelined.py")
    hints = f.inlay_hints(index, text, EVERYWHERE, CONFIG)
    assert [(h.position.line, h.position.character, h.label, h.padding_left) for h in hints] == [
        (18, 80, "shared 49152 B", True),
        (19, 64, "8192 B ×3", True),
        (20, 64, "8192 B ×3", True),
        (21, 61, "65536 B · ≈128 regs/thread", True),
    ]
    assert hints[1].tooltip == "A_shared: 8192 B × 3 pipeline versions = 24576 B"
    only = f.inlay_hints(index, text, types.Range(start=P(20, 0), end=P(20, 100)), CONFIG)
    assert [h.label for h in only] == ["8192 B ×3"]
    assert f.inlay_hints(None, text, EVERYWHERE, CONFIG) == []


def test_inlay_hints_name_the_archs_over_the_limit_and_merge_instantiations() -> None:
    text, index = load("buggy/autotune_config_over_sm86.py")
    hints = {h.position.line: h.label for h in f.inlay_hints(index, text, EVERYWHERE, CONFIG)}
    assert hints[34] == "shared 49152 B | shared 131072 B · over on sm_86, sm_89"
    assert hints[35] == "8192 B ×3 | 16384 B ×4"


# -- symbols -------------------------------------------------------------------------------------


def outline(symbols: list[types.DocumentSymbol], depth: int = 0) -> list[tuple[int, str, str | None]]:
    out = []
    for s in symbols:
        out.append((depth, s.name, s.detail))
        out += outline(s.children or [], depth + 1)
    return out


def test_document_symbols_nest_loops() -> None:
    text, index = load("flash_attention.py")
    [kernel] = f.document_symbols(index, text)
    assert (kernel.kind, span(kernel.range), span(kernel.selection_range)) == (
        types.SymbolKind.Function, (27, 8, 70, 77), (27, 13, 27, 81))
    got = outline([kernel])
    assert got[:3] == [(0, "main", "grid (64, 16, 4), 128 threads, 81920 B shared"),
                       (1, "Q_shared", "shared.dyn (64, 128) float16, 16384 B"),
                       (1, "K_shared", "shared.dyn (64, 128) float16, 16384 B ×2")]
    assert got[5] == (1, "s", "local.fragment (64, 64) float32, 16384 B · ≈32 regs/thread")
    assert got[13:] == [
        (1, "T.Pipelined kb", "kb < 64, num_stages=2"),
        (2, "T.Parallel i", "i < 64"),
        (2, "T.Parallel i, j", "i < 64, j < 64"),
        (2, "T.Parallel i", "i < 64"),
        (2, "T.Parallel i, j", "i < 64, j < 128"),
        (1, "T.Parallel i, j", "i < 64, j < 128"),
    ]
    pipelined = kernel.children[12]
    assert span(pipelined.range) == (46, 12, 65, 71) and span(pipelined.selection_range) == (46, 12, 46, 85)
    assert f.document_symbols(None, text) == []


def test_document_symbols_one_per_kernel_across_instantiations() -> None:
    text, index = load("buggy/autotune_config_over_sm86.py")
    assert len(index.kernels) == 2
    assert [(d, n) for d, n, _ in outline(f.document_symbols(index, text))] == [
        (0, "main"), (1, "A_shared"), (1, "B_shared"), (1, "acc"), (1, "T.Pipelined ko")]


def test_workspace_symbols_over_every_index() -> None:
    text_a, a = load("gemm_pipelined.py")
    text_b, b = load("flash_attention.py")
    found = f.workspace_symbols({"file:///b.py": b, "file:///a.py": a}, "ashd")
    assert [(s.name, s.kind, s.container_name, s.location.uri, span(s.location.range)) for s in found] == [
        ("A_shared", types.SymbolKind.Variable, "matmul", "file:///a.py", (19, 8, 19, 16)),
    ]
    kernels = [s for s in f.workspace_symbols({"file:///a.py": a, "file:///b.py": b}, "") if s.kind == types.SymbolKind.Function]
    assert [(s.name, s.container_name, span(s.location.range)) for s in kernels] == [
        ("matmul", "matmul", (18, 9, 18, 80)), ("main", "flash_attention_fwd", (27, 13, 27, 81))]


# -- definition, references, highlight -------------------------------------------------------------


def test_definition_references_and_highlights_of_a_buffer() -> None:
    text, index = load("gemm_pipelined.py")
    at_use = P(28, 16)  # T.copy(acc, ...)
    assert [span(r) for r in f.definition(index, text, at_use)] == [(21, 8, 21, 11)]
    assert [span(r) for r in f.references(index, text, at_use, True)] == [
        (21, 8, 21, 11), (23, 16, 23, 19), (27, 39, 27, 42), (28, 15, 28, 18)]
    assert [span(r) for r in f.references(index, text, P(21, 8), False)] == [
        (23, 16, 23, 19), (27, 39, 27, 42), (28, 15, 28, 18)]
    highlights = f.document_highlight(index, text, at_use)
    assert [(span(h.range), h.kind) for h in highlights] == [
        ((21, 8, 21, 11), types.DocumentHighlightKind.Write),
        ((23, 16, 23, 19), types.DocumentHighlightKind.Write),  # T.clear(acc)
        ((27, 39, 27, 42), types.DocumentHighlightKind.Write),  # T.gemm(..., acc)
        ((28, 15, 28, 18), types.DocumentHighlightKind.Read),
    ]
    assert f.definition(index, text, P(28, 9)) == []  # on `copy`
    assert f.definition(None, text, at_use) == [] and f.references(None, text, at_use, True) == []


def test_navigation_on_a_line_with_emoji() -> None:
    source = (
        "import tilelang\nimport tilelang.language as T\n\n\n@T.prim_func\n"
        'def main(A: T.Tensor((256, 64), "float16"), B: T.Tensor((256, 64), "float16")):\n'
        "    with T.Kernel(4, threads=128) as bx:\n"
        '        tile = T.alloc_shared((64, 64), "float16")  # 🚀\n'
        '        x = "🚀🚀é"; T.copy(A[bx * 64, 0], tile)\n'
        "        T.copy(tile, B[bx * 64, 0])\n"
    )
    index = build_index(source, "e.py", Config(arches=("sm_80",)))
    # 'x = "🚀🚀é"; T.copy(A[bx * 64, 0], ' after 8 spaces: the use starts at code point 41
    assert source.split("\n")[8][41:45] == "tile"
    assert [span(r) for r in f.references(index, source, P(9, 15), True)] == [
        (7, 8, 7, 12), (8, 41, 8, 45), (9, 15, 9, 19)]
    assert f.hover(index, source, P(8, 43), None).contents.value.startswith("**tile**: shared.dyn buffer `(64, 64)`")


# -- completion ----------------------------------------------------------------------------------

SNIPPET_SOURCE = "import tilelang.language as T\n\n\ndef f(A):\n    x = T.\n"


def items_by_label(result: types.CompletionList | None) -> dict[str, types.CompletionItem]:
    assert result is not None
    return {i.label: i for i in result.items}


def test_member_completion_offers_the_catalog_with_snippets() -> None:
    result = f.completion(None, SNIPPET_SOURCE, P(4, 10))
    assert result.is_incomplete is False
    items = items_by_label(result)
    assert len(items) == 713
    copy = items["copy"]
    assert copy.insert_text_format == types.InsertTextFormat.Snippet
    assert copy.insert_text == "copy(${1:src}, ${2:dst})$0"
    assert copy.kind == types.CompletionItemKind.Function and copy.text_edit is None
    assert items["alloc_shared"].insert_text == "alloc_shared(${1:shape}, ${2:dtype})$0"
    assert items["alloc_var"].insert_text == "alloc_var(${1:dtype})$0"
    assert items["gemm"].insert_text == "gemm(${1:A}, ${2:B}, ${3:C})$0"
    assert items["Kernel"].insert_text == "Kernel(${1:blocks}, threads=${2:128})$0"
    assert items["Pipelined"].insert_text == "Pipelined(${1:start}, num_stages=${2:3})$0"
    assert items["tma_gather4"].insert_text == \
        "tma_gather4(${1:src}, ${2:dst}, ${3:col}, ${4:rows}, barrier=${5:barrier})$0"
    assert items["float16"].insert_text is None and items["float16"].insert_text_format is None
    assert items["float16"].kind == types.CompletionItemKind.TypeParameter
    # the list stays small; resolving an item adds its signature and documentation
    assert copy.detail is None and copy.documentation is None
    resolved = f.completion_resolve(copy)
    assert resolved.detail.startswith("T.copy(src, dst, *, coalesced_width=None")
    assert resolved.documentation.value.startswith("```python\nT.copy(src, dst")
    text = "import tilelang.language as TL\nx = TL.alloc_sh"
    [item] = f.completion(None, text, P(1, 15)).items
    assert f.completion_resolve(item).detail == "TL.alloc_shared(shape, dtype, scope='shared.dyn')"


def test_member_completion_filters_by_what_was_typed() -> None:
    text = SNIPPET_SOURCE.replace("T.\n", "T.alfr\n")
    result = f.completion(None, text, P(4, 14))
    assert result.is_incomplete is True  # asked again as the prefix changes
    # the first letter, then the others in order, as editors filter
    assert sorted(items_by_label(result)) == ["alloc_buffer", "alloc_fragment"]


def test_completion_follows_the_alias_and_policy_members() -> None:
    text = "import tilelang.language as TL\n\nTL.gemm(a, b, c, policy=TL.GemmWarpPolicy.)\n"
    assert f.completion(None, text.replace("TL.gemm(a, b, c, policy=TL.GemmWarpPolicy.)", "T."), P(2, 2)) is None
    members = f.completion(None, text, P(2, 42))
    assert [i.label for i in members.items] == ["Square", "FullRow", "FullCol"]
    assert f.completion(None, "import tilelang.language as TL\nx = TL.", P(1, 7)) is not None


DTYPE_SOURCE = "import tilelang.language as T\n\nA_s = T.alloc_shared((128, 32), )\n"


def test_dtype_completion_in_the_dtype_argument() -> None:
    result = f.completion(None, DTYPE_SOURCE, P(2, 32))
    labels = [i.label for i in sorted(result.items, key=lambda i: i.sort_text)]
    assert labels[:6] == ["T.float16", '"float16"', "T.bfloat16", '"bfloat16"', "T.float32", '"float32"']
    assert "T.float8_e4m3fn" in labels and "T.float16x8" not in labels and '"fp16"' not in labels
    edit = result.items[0].text_edit
    assert span(edit.range) == (2, 32, 2, 32)
    # inside the quotes: bare names, replacing what was typed since the quote
    text = DTYPE_SOURCE.replace("32), )", '32), "bf")')
    result = f.completion(None, text, P(2, 35))
    item = items_by_label(result)["bfloat16"]
    assert item.text_edit.new_text == "bfloat16" and span(item.text_edit.range) == (2, 33, 2, 35)
    # as a keyword, and after `T.` in a dtype position the dtypes come first
    text = "import tilelang.language as T\nacc = T.alloc_fragment((64, 64), dtype=)\n"
    assert f.completion(None, text, P(1, 39)).items[0].label == "T.float16"
    text = "import tilelang.language as T\nacc = T.alloc_fragment((64, 64), T.)\n"
    first = min(f.completion(None, text, P(1, 35)).items, key=lambda i: i.sort_text)
    assert first.label == "float16"


def test_scope_completion_starts_with_the_calls_default() -> None:
    text = 'import tilelang.language as T\nx = T.alloc_shared((8,), "float32", scope="sh")\n'
    result = f.completion(None, text, P(1, 45))
    labels = [i.label for i in sorted(result.items, key=lambda i: i.sort_text)]
    assert labels[:6] == ["shared.dyn", "shared", "local.fragment", "local", "local.var", "global"]
    assert span(result.items[0].text_edit.range) == (1, 43, 1, 45)  # "sh" is replaced, dots and all
    text = "import tilelang.language as T\nx = T.alloc_fragment((8,), T.float32, scope=)\n"
    result = f.completion(None, text, P(1, 44))
    assert [i.label for i in sorted(result.items, key=lambda i: i.sort_text)][:2] == ['"local.fragment"',
                                                                                      '"shared.dyn"']


def test_no_completion_where_the_catalog_has_nothing_to_say() -> None:
    text = "import tilelang.language as T\nx = T.alloc_shared((128, ), 'float16')  # T.\ny = foo(\n"
    assert f.completion(None, text, P(1, 25)) is None  # inside the shape tuple
    assert f.completion(None, text, P(1, 44)) is None  # in a comment
    assert f.completion(None, text, P(2, 8)) is None  # not a T call
    assert f.completion(None, text, P(99, 0)) is None  # past the end


# -- signature help ------------------------------------------------------------------------------


@pytest.mark.parametrize("typed, active", [
    ("T.alloc_shared(", 0),
    ("T.alloc_shared((128, ", 0),
    ("T.alloc_shared((128, 32), ", 1),
    ('T.alloc_shared((128, 32), "float16", scope=', 2),
    ("T.alloc_shared((128, 32), dtype=T.float16, sc", None),
    ("T.copy(a, b, disable_tma=", 3),
    ("T.copy(a, b, c", None),
    ("T.Kernel(8, 8, ", 0),
    ("T.Kernel(8, 8, threads=", 1),
    ("T.gemm(A_s, B_s, T.alloc_fragment((64, 64), ", 1),
])
def test_signature_help_active_parameter(typed: str, active: int | None) -> None:
    text = "import tilelang.language as T\n" + typed
    help = f.signature_help(None, text, P(1, len(typed)))
    assert help is not None and help.active_parameter == active
    [sig] = help.signatures
    assert sig.active_parameter == active


def test_signature_help_labels() -> None:
    text = "import tilelang.language as T\nT.alloc_shared((128, 32), "
    [sig] = f.signature_help(None, text, P(1, 26)).signatures
    assert sig.label == "T.alloc_shared(shape, dtype, scope='shared.dyn')"
    assert [p.label for p in sig.parameters] == [(15, 20), (22, 27), (29, 47)]
    assert [sig.label[a:b] for a, b in (p.label for p in sig.parameters)] == ["shape", "dtype", "scope='shared.dyn'"]
    [sig] = f.signature_help(None, "import tilelang.language as T\nT.Kernel(1, ", P(1, 12)).signatures
    assert [sig.label[a:b] for a, b in (p.label for p in sig.parameters)] == [
        "*blocks", "threads=None", "prelude=None", "cluster_dims=None"]
    assert f.signature_help(None, "print(", P(0, 6)) is None
    assert f.signature_help(None, "import tilelang.language as T\n# T.copy(", P(1, 9)) is None


# -- code actions --------------------------------------------------------------------------------


def actions_for(text: str, index: DocumentIndex, code: str) -> tuple[list[types.Diagnostic], list[types.CodeAction]]:
    diagnostics = [lsp(d) for d in index.report.diagnostics if d.code == code]
    assert diagnostics, code
    return diagnostics, f.code_actions(index, text, EVERYWHERE, diagnostics, CONFIG, URI)


def test_code_actions_for_tl101_set_num_stages_and_ignore() -> None:
    text, index = load("buggy/gemm_stages4_big_tiles.py")
    diagnostics, actions = actions_for(text, index, "TL101")
    assert [a.title for a in actions] == [
        "Set num_stages to 3 (the most that fits sm_80, sm_86, sm_89, sm_90)",
        "Ignore TL101 on this line (# tilelint: ignore[TL101])",
    ]
    stages, ignore = actions
    assert stages.kind == types.CodeActionKind.QuickFix and stages.is_preferred is True
    assert stages.diagnostics == diagnostics  # one action for the sm_86 and the sm_89 diagnostic
    [edit] = stages.edit.changes[URI]
    assert (span(edit.range), edit.new_text) == ((40, 101, 40, 102), "3")
    fixed = apply(text, stages)
    assert "block_K=64, num_stages=3)" in fixed
    assert codes(fixed) == ["TL103", "TL103"]  # 96 KiB fits sm_86 and sm_89, at 97% of their limit
    silenced = apply(text, ignore)
    assert silenced.split("\n")[20].endswith("as (bx, by):  # tilelint: ignore[TL101]")
    assert codes(silenced) == []


@pytest.mark.parametrize("name", ["autotune_config_over_sm86", "flash_attention_128", "flash_attention_stages3",
                                  "gemm_too_big_everywhere"])
def test_every_num_stages_action_removes_tl101(name: str) -> None:
    text, index = load(f"buggy/{name}.py")
    _, actions = actions_for(text, index, "TL101")
    stages = [a for a in actions if a.title.startswith("Set num_stages")]
    assert stages
    for action in stages:
        assert "TL101" not in codes(apply(text, action))


@pytest.mark.parametrize("code, title", [
    ("TL401", "Allocate C_acc with T.alloc_fragment"),
    ("TL402", "Allocate total with T.alloc_fragment"),
    ("TL406", "Allocate vals with T.alloc_fragment"),
    ("TL412", "Add T.clear(C_acc) before the loop"),
])
def test_scope_and_clear_actions_remove_their_diagnostic(code: str, title: str) -> None:
    [example] = REGISTRY[code].invalid
    text = example.source
    index = build_index(text, "k.py", CONFIG)
    _, actions = actions_for(text, index, code)
    assert actions[0].title == title and actions[0].is_preferred
    fixed = apply(text, actions[0])
    assert code not in codes(fixed)
    if code == "TL412":
        lines = fixed.split("\n")
        at = lines.index("            T.clear(C_acc)")
        assert lines[at + 1].startswith("            for k in T.Pipelined(")


def test_fragment_action_drops_the_scope_argument() -> None:
    text = REGISTRY["TL401"].invalid[0].source.replace(
        'C_acc = T.alloc_shared((block_M, block_N), "float32")',
        'C_acc = T.alloc_shared(\n                (block_M, block_N), "float32", scope="shared")')
    index = build_index(text, "k.py", CONFIG)
    _, actions = actions_for(text, index, "TL401")
    fixed = apply(text, actions[0])
    assert 'C_acc = T.alloc_fragment(\n                (block_M, block_N), "float32")' in fixed
    assert "TL401" not in codes(fixed)


def test_ignore_action_merges_an_existing_list() -> None:
    text, index = load("buggy/gemm_near_sm86_limit.py")
    line = next(d.range.start.line for d in index.report.diagnostics if d.code == "TL103")
    lines = text.split("\n")
    lines[line] += "  # tilelint: ignore[TL104]"
    text = "\n".join(lines)
    index = build_index(text, "k.py", CONFIG)
    _, actions = actions_for(text, index, "TL103")
    [ignore] = [a for a in actions if a.title.startswith("Ignore")]
    fixed = apply(text, ignore)
    assert fixed.split("\n")[line].endswith("# tilelint: ignore[TL103, TL104]")
    assert "TL103" not in codes(fixed)


def test_actions_need_the_index_of_this_very_text() -> None:
    text, index = load("buggy/gemm_stages4_big_tiles.py")
    diagnostics = [lsp(d) for d in index.report.diagnostics]
    edited = text.replace("def main():", "def main():  # edited")
    actions = f.code_actions(index, edited, EVERYWHERE, diagnostics, CONFIG, URI)
    assert [a.title for a in actions] == ["Ignore TL101 on this line (# tilelint: ignore[TL101])"]
    assert [a.title for a in f.code_actions(None, text, EVERYWHERE, diagnostics, CONFIG, URI)] == [
        "Ignore TL101 on this line (# tilelint: ignore[TL101])"]
    elsewhere = types.Range(start=P(0, 0), end=P(3, 0))
    assert f.code_actions(index, text, elsewhere, diagnostics, CONFIG, URI) == []
    syntax = types.Diagnostic(range=types.Range(start=P(1, 0), end=P(1, 0)), message="syntax error", code="TL901")
    assert f.code_actions(None, text, EVERYWHERE, [syntax], CONFIG, URI) == []


# -- degrading gracefully --------------------------------------------------------------------------


@pytest.mark.parametrize("path", sorted(EXAMPLES.rglob("*.py")), ids=lambda p: p.stem)
def test_features_never_raise_anywhere_in_a_file(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    index = build_index(text, str(path), CONFIG)
    lines = text.split("\n")
    for line in range(0, len(lines) + 2, 3):
        for character in (0, 5, 13, 29, 200):
            pos = P(line, character)
            f.hover(index, text, pos, CONFIG)
            f.definition(index, text, pos)
            f.references(index, text, pos, True)
            f.document_highlight(index, text, pos)
            f.completion(index, text, pos)
            f.signature_help(index, text, pos)
    assert isinstance(f.document_symbols(index, text), list)
    assert isinstance(f.inlay_hints(index, text, EVERYWHERE, CONFIG), list)
