"""`tilelsp mcp` end to end: the `mcp` client library talks to `python -m tilelsp mcp` over stdio."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("mcp.server.mcpserver", reason="the MCP server needs the 'mcp' extra (mcp>=2.3)")

from mcp import ClientSession  # noqa: E402
from mcp.client.stdio import StdioServerParameters, stdio_client  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
BUGGY = "examples/buggy/gemm_stages4_big_tiles.py"
STAGES_CALL = "matmul(M=4096, N=4096, K=4096, block_M=128, block_N=128, block_K=64, num_stages={})"

KERNEL = textwrap.dedent('''
    import tilelang
    import tilelang.language as T


    @tilelang.jit
    def scale(A, bm: int = 32):
        M = T.const("M")
        A: T.Tensor((M,), T.float32)
        B = T.empty((M,), T.float32)
        with T.Kernel(T.ceildiv(M, bm), threads=32) as bx:
            for i in T.Parallel(bm):
                B[bx * bm + i] = A[bx * bm + i] * 2.0
        return B
''')


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    return env


def _payload(result: Any) -> Any:
    """A tool's answer: its structured content, else its text (JSON when it parses)."""
    assert not result.is_error, result.content
    if result.structured_content is not None:
        content = result.structured_content
        return content["result"] if set(content) == {"result"} else content
    text = "".join(c.text for c in result.content if getattr(c, "type", "") == "text")
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _error_text(result: Any) -> str:
    assert result.is_error
    return "".join(c.text for c in result.content if getattr(c, "type", "") == "text")


async def _session_run(trusted: Path, body: Any) -> Any:
    params = StdioServerParameters(command=sys.executable, args=["-m", "tilelsp", "mcp", "--trusted-root", str(trusted)],
                                   env=_env(), cwd=str(ROOT))
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            return await body(session)


def _tilelint_json(*args: str) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, "-m", "tilelsp.lint_cli", "--no-cache", "--format", "json", *args],
                          capture_output=True, text=True, cwd=ROOT, env=_env(), timeout=120)
    assert proc.returncode in (0, 1), proc.stderr
    return json.loads(proc.stdout)


def _codes(report: dict[str, Any]) -> list[str]:
    return [d["code"] for f in report["files"] for d in f["diagnostics"]]


@pytest.mark.asyncio
async def test_mcp_tools_end_to_end(tmp_path: Path) -> None:
    trusted = tmp_path / "trusted"
    trusted.mkdir()
    inside = trusted / "scale.py"
    inside.write_text(KERNEL, encoding="utf-8")
    crashing = trusted / "crash.py"
    crashing.write_text("import os\n" + KERNEL + "\nos._exit(3)\n", encoding="utf-8")
    outside = tmp_path / "scale_untrusted.py"
    outside.write_text(KERNEL, encoding="utf-8")

    async def body(session: ClientSession) -> dict[str, Any]:
        out: dict[str, Any] = {}
        out["tools"] = sorted(t.name for t in (await session.list_tools()).tools)
        out["analyze"] = _payload(await session.call_tool("analyze_kernel", {"path": BUGGY, "archs": ["sm_86"]}))
        out["analyze_source"] = _payload(await session.call_tool(
            "analyze_kernel", {"source": (ROOT / BUGGY).read_text(encoding="utf-8"), "path": BUGGY,
                               "archs": ["sm_86"]}))
        out["explain"] = _payload(await session.call_tool("explain_rule", {"code": "TL101"}))
        out["unknown_rule"] = _error_text(await session.call_tool("explain_rule", {"code": "TL999"}))
        out["stages"] = _payload(await session.call_tool(
            "max_stages_that_fit", {"path": BUGGY, "kernel": "matmul", "arch": "sm_86"}))
        # sm_90: the kernel fits as written (4 stages); the search goes up from there
        out["stages_90"] = _payload(await session.call_tool(
            "max_stages_that_fit", {"path": BUGGY, "kernel": "matmul", "arch": "sm_90"}))
        for arch, key in (("sm_86", "stages"), ("sm_90", "stages_90")):
            for n in ("fit", "over"):
                stages = out[key]["max_num_stages"] + (n == "over")
                out[arch, n] = _payload(await session.call_tool(
                    "analyze_kernel", {"path": BUGGY, "archs": [arch], "instantiate": [STAGES_CALL.format(stages)]}))
        out["compiled"] = _payload(await session.call_tool(
            "compile_kernel", {"path": str(inside), "instantiate": "scale(M=128)", "target": "cpu"}))
        out["crashed"] = _payload(await session.call_tool(
            "compile_kernel", {"path": str(crashing), "instantiate": "scale(M=128)", "target": "cpu"}))
        out["after_crash"] = _payload(await session.call_tool(
            "compile_kernel", {"path": str(inside), "instantiate": "scale(M=64)", "target": "cpu"}))
        out["refused"] = _error_text(await session.call_tool(
            "compile_kernel", {"path": str(outside), "instantiate": "scale(M=128)", "target": "cpu"}))
        out["api"] = _payload(await session.call_tool("tile_api", {"name": "copy"}))
        return out

    got = await _session_run(trusted, body)

    assert got["tools"] == ["analyze_kernel", "compile_kernel", "explain_rule", "max_stages_that_fit", "tile_api"]

    # analyze_kernel: exactly what tilelint prints, from the file and from its text
    expected = _tilelint_json("--arch", "sm_86", BUGGY)
    assert got["analyze"] == expected
    assert got["analyze_source"] == expected
    assert _codes(expected) == ["TL101"]

    # explain_rule: tilelint --explain, with the rule's title
    from analyzer.rules import lookup
    from analyzer.rules.docs import explain

    rule = lookup("TL101")
    assert got["explain"] == explain(rule)
    assert "TL101 shared-memory-over-limit" in got["explain"] and rule.summary in got["explain"]
    assert "unknown rule 'TL999'" in got["unknown_rule"]

    # max_stages_that_fit: 3 stages of 32 KiB fit sm_86's 99 KiB; the analyzer agrees (no TL101 with 3, TL101 with 4)
    stages = got["stages"]
    assert stages["max_num_stages"] == 3 and stages["bytes_per_stage"] == 2 * 128 * 64 * 2
    assert stages["limit"] == 101376 and stages["instantiations"][0]["num_stages"] == 4
    assert "TL101" not in _codes(got["sm_86", "fit"])
    assert "TL101" in _codes(got["sm_86", "over"])
    # sm_90's 227 KiB: 7 stages (fits as written with 4; the analyzer again: no TL101 with 7, TL101 with 8)
    assert got["stages_90"]["max_num_stages"] == 7 and got["stages_90"]["instantiations"][0]["fits_as_written"]
    assert "TL101" not in _codes(got["sm_90", "fit"])
    assert "TL101" in _codes(got["sm_90", "over"])

    # compile_kernel: built inside the trusted root, refused outside it
    compiled = got["compiled"]
    assert compiled["ok"] is True and compiled["target"] == "cpu", compiled
    assert [(b["name"], b["arch"], b["ok"]) for b in compiled["builds"]] == [("scale", "cpu", True)]
    assert "not under a trusted root" in got["refused"]
    # a module that kills the compile worker: that call fails, the server and the next compile are fine
    assert got["crashed"]["ok"] is False and "the compile worker crashed" in got["crashed"]["error"], got["crashed"]
    assert got["after_crash"]["ok"] is True, got["after_crash"]

    # tile_api: the catalog's signature
    assert got["api"]["signature"].startswith("T.copy(src, dst")
    assert got["api"]["name"] == "T.copy" and got["api"]["doc"]


@pytest.mark.asyncio
async def test_compile_kernel_without_a_trusted_root_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "scale.py"
    path.write_text(KERNEL, encoding="utf-8")
    params = StdioServerParameters(command=sys.executable, args=["-m", "tilelsp", "mcp"], env=_env(), cwd=str(ROOT))
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            result = await session.call_tool("compile_kernel", {"path": str(path), "instantiate": "scale(M=128)",
                                                                "target": "cpu"})
    assert "compile_kernel is disabled" in _error_text(result) and "--trusted-root" in _error_text(result)


def test_without_mcp_installed_a_one_line_error_and_exit_2(tmp_path: Path) -> None:
    # a stub package named `mcp` without `mcp.server.mcpserver` stands in for an environment without it
    stub = tmp_path / "mcp"
    stub.mkdir()
    (stub / "__init__.py").write_text("raise ImportError('no mcp here')\n", encoding="utf-8")
    env = _env()
    env["PYTHONPATH"] = os.pathsep.join((str(tmp_path), env["PYTHONPATH"]))
    proc = subprocess.run([sys.executable, "-m", "tilelsp", "mcp"], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=60, stdin=subprocess.DEVNULL)
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr
    assert "pip install 'tilelsp[mcp]'" in lines[0] and "mcp>=2.3" in lines[0]


def test_the_language_server_does_not_import_mcp() -> None:
    code = "import sys, tilelsp.server; sys.exit(any(m == 'mcp' or m.startswith(('mcp.', 'tilelsp.mcp')) for m in sys.modules))"
    proc = subprocess.run([sys.executable, "-c", code], env=_env(), cwd=ROOT, timeout=60)
    assert proc.returncode == 0


def test_tilelsp_help_mentions_mcp_and_mcp_help_lists_trusted_root() -> None:
    proc = subprocess.run([sys.executable, "-m", "tilelsp", "--help"], capture_output=True, text=True, env=_env(),
                          cwd=ROOT, timeout=60)
    assert proc.returncode == 0 and "tilelsp mcp" in proc.stdout
    proc = subprocess.run([sys.executable, "-m", "tilelsp", "mcp", "--help"], capture_output=True, text=True,
                          env=_env(), cwd=ROOT, timeout=60)
    assert proc.returncode == 0 and "--trusted-root" in proc.stdout


def test_max_stages_of_a_factory_the_file_does_not_instantiate() -> None:
    from tilelsp.mcp_server import max_stages_that_fit

    path = str(ROOT / "examples/buggy/uninstantiated_factory.py")
    unbound = max_stages_that_fit(path, "row_max", "sm_86")
    assert unbound["max_num_stages"] is None and "instantiate" in unbound["instantiations"][0]["note"]
    bound = max_stages_that_fit(path, "row_max", "sm_86", ["row_max(4096, 4096, 64, 128, 128, 'float16')"])
    # a literal num_stages=2 that fits: the answer is the written value, with a note saying so
    assert bound["max_num_stages"] == 2 and bound["bytes_per_stage"] == 64 * 128 * 2
    assert "not a parameter" in bound["instantiations"][0]["note"]
