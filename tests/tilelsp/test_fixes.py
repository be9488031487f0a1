"""`tilelint --fix / --diff / --add-suppressions` (tilelsp/fixes.py)."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from contextlib import redirect_stderr
from io import StringIO
from pathlib import Path

from conftest import ROOT, run_tilelint

from analyzer.config import Config
from analyzer.diagnostics import Diagnostic, Range, Severity
from analyzer.index import build_index
from analyzer.rules import REGISTRY
from tilelsp.fixes import SAFE_CODES, _suppress, fix_text, safe_fixes

BUGGY = ROOT / "examples" / "buggy"

# What `--fix` removes from each example of examples/buggy/ (default archs); every other file is left alone.
FIXED = {
    "gemm_accumulator_in_shared.py": {"TL401"},  # acc = T.alloc_shared -> T.alloc_fragment
    "gemm_bf16_half_accumulator.py": {"TL412"},  # T.clear(acc) before the K loop
    "softmax_per_row_loops.py": {"TL406"},  # inv = T.alloc_local -> T.alloc_fragment
}


def tilelint(*args: str) -> tuple[int, str, str]:
    err = StringIO()
    with redirect_stderr(err):
        code, out = run_tilelint("--no-config", *args)
    return code, out, err.getvalue()


def codes_by_file(folder: Path) -> dict[str, Counter[str]]:
    code, out, _ = tilelint("--format", "json", str(folder))
    assert code in (0, 1)
    return {Path(f["path"]).name: Counter(d["code"] for d in f["diagnostics"]) for f in json.loads(out)["files"]}


def copy_buggy(tmp_path: Path) -> Path:
    folder = tmp_path / "buggy"
    shutil.copytree(BUGGY, folder)
    return folder


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.py"))}


def test_fix_every_buggy_example(tmp_path: Path) -> None:
    folder = copy_buggy(tmp_path)
    before = codes_by_file(folder)
    originals = snapshot(folder)
    assert len(originals) == len(list(BUGGY.glob("*.py"))) >= 20
    code, out, err = tilelint(str(folder), "--fix")
    assert code == 1  # errors remain (TL101, TL301, ...): the exit status is the re-analysis's
    assert err == "tilelint: fixed 4 findings in 3 files\n"
    assert "TL401" not in out and "TL412" not in out and "TL406" not in out and "TL403" in out
    after = codes_by_file(folder)
    for name, data in snapshot(folder).items():
        fixed = {c for c in before[name] if c not in after[name]}
        assert fixed == FIXED.get(name, set()), name
        assert not set(after[name]) & fixed, name
        assert after[name] == Counter({c: n for c, n in before[name].items() if c not in fixed}), name
        assert (data != originals[name]) == (name in FIXED), name


def test_fix_edits_of_the_buggy_examples(tmp_path: Path) -> None:
    folder = copy_buggy(tmp_path)
    tilelint(str(folder), "--fix")
    shared = (folder / "gemm_accumulator_in_shared.py").read_text(encoding="utf-8")
    assert "            acc = T.alloc_fragment((block_M, block_N), accum_dtype)\n" in shared
    clear = (folder / "gemm_bf16_half_accumulator.py").read_text(encoding="utf-8")
    assert ("            acc = T.alloc_fragment((block_M, block_N), accum_dtype)\n\n            T.clear(acc)\n"
            "            for ko in T.Pipelined(") in clear
    softmax = (folder / "softmax_per_row_loops.py").read_text(encoding="utf-8")
    assert '            inv = T.alloc_fragment((block_M,), "float32")\n' in softmax
    for name in ("gemm_accumulator_in_shared.py", "gemm_bf16_half_accumulator.py", "softmax_per_row_loops.py"):
        original = (BUGGY / name).read_text(encoding="utf-8").splitlines()
        changed = (folder / name).read_text(encoding="utf-8").splitlines()
        assert "tilelint: ignore" not in "\n".join(changed)
        assert len(changed) - len(original) == (1 if name == "gemm_bf16_half_accumulator.py" else 0)


def test_fix_is_idempotent(tmp_path: Path) -> None:
    folder = copy_buggy(tmp_path)
    tilelint(str(folder), "--fix")
    once = snapshot(folder)
    code, out, err = tilelint(str(folder), "--fix", "--format", "json")
    assert code == 1 and err == ""
    assert snapshot(folder) == once
    assert tilelint(str(folder), "--diff") == (0, "", "")


def test_diff_prints_the_change_and_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "gemm_accumulator_in_shared.py"
    shutil.copy(BUGGY / path.name, path)
    original = path.read_bytes()
    code, out, err = tilelint(str(path), "--diff")
    assert code == 1
    assert out == (
        f"--- {path}\n"
        f"+++ {path}\n"
        "@@ -28,7 +28,7 @@\n"
        "         with T.Kernel(T.ceildiv(N, block_N), T.ceildiv(M, block_M), threads=threads) as (bx, by):\n"
        "             A_shared = T.alloc_shared((block_M, block_K), dtype)\n"
        "             B_shared = T.alloc_shared((block_K, block_N), dtype)\n"
        "-            acc = T.alloc_shared((block_M, block_N), accum_dtype)\n"
        "+            acc = T.alloc_fragment((block_M, block_N), accum_dtype)\n"
        " \n"
        "             T.clear(acc)\n"
        "             for ko in T.Pipelined(T.ceildiv(K, block_K), num_stages=num_stages):\n"
    )
    assert err == "tilelint: would fix 1 finding in 1 file\n"
    assert path.read_bytes() == original


def test_diff_without_changes_exits_0(tmp_path: Path) -> None:
    path = tmp_path / "near.py"
    shutil.copy(BUGGY / "gemm_near_sm86_limit.py", path)  # TL103 only: nothing to fix
    assert tilelint(str(path), "--diff") == (0, "", "")
    assert tilelint(str(path), "--fix")[2] == ""


def test_comments_formatting_line_ends_and_bom_are_kept(tmp_path: Path) -> None:
    source = REGISTRY["TL401"].invalid[0].source
    old = '            C_acc = T.alloc_shared((block_M, block_N), "float32")\n'
    assert old in source
    odd = ('            # the accumulator\n'
           '            C_acc = T.alloc_shared( (block_M, block_N),   "float32", scope="shared" )   # keep me\n')
    text = source.replace(old, odd).replace("\n", "\r\n")
    path = tmp_path / "odd.py"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    assert tilelint(str(path), "--fix")[0] == 0
    expected = text.replace('T.alloc_shared( (block_M, block_N),   "float32", scope="shared" )',
                            'T.alloc_fragment( (block_M, block_N),   "float32" )')
    assert expected != text
    assert path.read_bytes() == b"\xef\xbb\xbf" + expected.encode("utf-8")


def test_nested_loops_get_no_clear(tmp_path: Path) -> None:
    """The server offers `Add T.clear` here, but before the inner loop it would drop the outer loop's sums."""
    source = REGISTRY["TL412"].invalid[0].source
    loop = "            for k in T.Pipelined(T.ceildiv(K, block_K), num_stages=2):\n"
    nested = source.replace(loop, "            for ko in T.serial(2):\n  " + loop)
    for line in ("T.copy(A[", "T.copy(B[", "T.gemm("):
        nested = nested.replace(f"                {line}", f"                  {line}")
    index = build_index(nested, "nested.py", Config())
    assert [d.code for d in index.report.diagnostics] == ["TL412"]
    assert [f.code for f in index.fixes] == ["TL412"]
    assert safe_fixes(index, nested) == []
    assert not fix_text(nested, "nested.py", Config()).changed
    single = fix_text(source, "single.py", Config())
    assert single.fixed == Counter({"TL412": 1})
    assert "            T.clear(C_acc)\n" + loop in single.after


def test_num_stages_is_never_changed_by_fix() -> None:
    text = (BUGGY / "gemm_stages4_big_tiles.py").read_text(encoding="utf-8")
    index = build_index(text, "x.py", Config())
    assert {f.code for f in index.fixes} == {"TL101"}  # the server offers it ...
    assert "TL101" not in SAFE_CODES and safe_fixes(index, text) == []  # ... --fix does not take it
    assert not fix_text(text, "x.py", Config()).changed


def test_add_suppressions(tmp_path: Path) -> None:
    half = tmp_path / "half.py"
    shutil.copy(BUGGY / "gemm_bf16_half_accumulator.py", half)
    m8 = tmp_path / "m8.py"
    shutil.copy(BUGGY / "decode_gemm_block_m8.py", m8)
    # --fix alone never adds an ignore comment
    tilelint(str(tmp_path), "--fix")
    assert "tilelint: ignore" not in half.read_text(encoding="utf-8") + m8.read_text(encoding="utf-8")
    assert m8.read_bytes() == (BUGGY / "decode_gemm_block_m8.py").read_bytes()
    # --diff --add-suppressions shows the comments and writes nothing
    before = {p: p.read_bytes() for p in (half, m8)}
    code, out, err = tilelint(str(m8), "--diff", "--add-suppressions")
    assert code == 1
    assert ("-                T.gemm(X_shared, W_shared, acc, transpose_B=True)\n"
            "+                T.gemm(X_shared, W_shared, acc, transpose_B=True)  # tilelint: ignore[TL207, TL506]\n") in out
    assert err == "tilelint: would fix 0 findings, would suppress 2 findings in 1 file\n"
    assert {p: p.read_bytes() for p in (half, m8)} == before
    # --add-suppressions (implies --fix) silences what is left, and a later run finds nothing
    code, out, err = tilelint(str(tmp_path), "--add-suppressions")
    assert (code, out) == (0, "All checks passed: 2 files, 2 kernels.\n")
    assert err == "tilelint: fixed 0 findings, suppressed 4 findings in 2 files\n"
    text = half.read_text(encoding="utf-8")
    assert "                T.gemm(A_shared, B_shared, acc)  # tilelint: ignore[TL301, TL506]\n" in text
    assert text.count("tilelint: ignore") == 1 and "            T.clear(acc)\n" in text  # TL412 was fixed
    again = {p: p.read_bytes() for p in (half, m8)}
    assert tilelint(str(tmp_path), "--add-suppressions", "--fix") == (0, "All checks passed: 2 files, 2 kernels.\n", "")
    assert {p: p.read_bytes() for p in (half, m8)} == again


def test_fix_and_suppress_in_one_run(tmp_path: Path) -> None:
    path = tmp_path / "half.py"
    shutil.copy(BUGGY / "gemm_bf16_half_accumulator.py", path)
    code, out, err = tilelint(str(path), "--fix", "--add-suppressions")
    assert code == 0
    assert err == "tilelint: fixed 1 finding, suppressed 2 findings in 1 file\n"
    text = path.read_text(encoding="utf-8")
    assert "T.clear(acc)" in text and "ignore[TL301, TL506]" in text and "TL412]" not in text


def test_suppressions_merge_into_an_ignore_list(tmp_path: Path) -> None:
    source = REGISTRY["TL101"].invalid[0].source
    kernel = next(line for line in source.splitlines() if "T.Kernel(" in line)
    path = tmp_path / "over.py"
    path.write_text(source.replace(kernel, kernel + "  # tilelint: ignore[TL501]"), encoding="utf-8")
    code, out, _ = tilelint(str(path), "--arch", "sm_86", "--add-suppressions")
    assert code == 0
    assert kernel + "  # tilelint: ignore[TL101, TL501]\n" in path.read_text(encoding="utf-8")


def test_no_comment_is_appended_inside_a_string() -> None:
    text = 'x = f(1, """\nabc""")\ny = 2\n'
    diags = [Diagnostic("TL101", Severity.ERROR, "m", Range.point(0, 0)),
             Diagnostic("TL102", Severity.ERROR, "m", Range.point(2, 0))]
    assert _suppress(text, diags) == 'x = f(1, """\nabc""")\ny = 2  # tilelint: ignore[TL102]\n'
