"""Compile-on-save in the real server over stdio (pytest-lsp): the compile worker, code lenses, tilec
diagnostics, commands, the trust gate, and a worker that crashes or hangs (the server keeps serving)."""

from __future__ import annotations

import os
import shutil
import textwrap
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import LanguageClient

from server_session import CONFIG, EXAMPLES, initialize, open_document, published, wait_until

pytest.importorskip("tvm")

NVCC = shutil.which("nvcc") is not None
needs_nvcc = pytest.mark.skipif(not NVCC, reason="nvcc is not installed")
GEMM_CALL = "matmul(M=4096, N=4096, K=4096, block_M=128, block_N=128, block_K=32, num_stages=3)"


@pytest_lsp.fixture(config=CONFIG)
async def client(lsp_client: LanguageClient):
    yield
    await lsp_client.shutdown_session()


def trusted(target: str = "cpu", **more) -> dict:
    return {"tilelsp": {"trusted": True, "compileTarget": target, "archs": ["sm_90"], **more}}


async def open_and_analyse(client: LanguageClient, path: Path) -> str:
    uri = open_document(client, path)
    await published(client, uri, version=1)
    return uri


def save(client: LanguageClient, uri: str) -> None:
    client.text_document_did_save(types.DidSaveTextDocumentParams(types.TextDocumentIdentifier(uri=uri)))


async def compiled(client: LanguageClient, uri: str, count: int = 1) -> None:
    """Wait for the server's `compiled <uri>` log line (number `count`)."""
    await wait_until(client, lambda: sum(m.message.startswith(f"compiled {uri} ") for m in client.log_messages)
                     >= count, f"compile {count} of {uri}")


async def lenses(client: LanguageClient, uri: str) -> list[str]:
    found = await client.text_document_code_lens_async(types.CodeLensParams(types.TextDocumentIdentifier(uri)))
    return [lens.command.title for lens in found]


@pytest.mark.asyncio
async def test_untrusted_workspace_does_not_compile(client: LanguageClient, tmp_path: Path) -> None:
    path = tmp_path / "gemm.py"
    shutil.copy(EXAMPLES / "gemm_pipelined.py", path)
    await initialize(client)
    uri = await open_and_analyse(client, path)
    save(client, uri)
    assert await lenses(client, uri) == ["tilec: not compiled (untrusted workspace: set tilelsp.trusted)"]
    answer = await client.workspace_execute_command_async(types.ExecuteCommandParams("tilelsp.compile", [uri]))
    assert answer["queued"] is False and "not trusted" in answer["reason"]
    shown = await client.workspace_execute_command_async(types.ExecuteCommandParams(
        "tilelsp.showGenerated", [uri, "tir"]))
    assert "not trusted" in shown["error"]


@pytest.mark.asyncio
async def test_save_compiles_for_the_cpu_and_shows_a_code_lens(client: LanguageClient, tmp_path: Path) -> None:
    path = tmp_path / "gemm.py"
    shutil.copy(EXAMPLES / "gemm_pipelined.py", path)
    await initialize(client, init_options=trusted("cpu"), progress=True)
    uri = await open_and_analyse(client, path)
    assert await lenses(client, uri) == ["tilec: save to compile"]
    save(client, uri)
    await compiled(client, uri)
    [title] = await lenses(client, uri)
    assert title.startswith("tilec cpu: built in ") and title.endswith(" s")
    # $/progress: begin and end of the compile, on the token the server created
    kinds = [type(p).__name__ for p in client.progress_reports.get(next(iter(client.progress_reports)), [])]
    assert kinds[0] == "WorkDoneProgressBegin" and kinds[-1] == "WorkDoneProgressEnd"
    assert not [d for d in client.diagnostics[uri] if d.source == "tilec"]


@needs_nvcc
@pytest.mark.asyncio
async def test_save_compiles_for_cuda_with_the_ptxas_resources(client: LanguageClient, tmp_path: Path) -> None:
    path = tmp_path / "gemm.py"
    shutil.copy(EXAMPLES / "gemm_pipelined.py", path)
    await initialize(client, init_options=trusted("cuda", archs=["sm_80", "sm_90"]))
    uri = await open_and_analyse(client, path)
    save(client, uri)
    await compiled(client, uri)
    [title] = await lenses(client, uri)
    # both archs: the arena of 3 stages of 128x32 + 32x128 fp16 tiles, registers and no spills from ptxas
    assert title.startswith("tilec sm_80: 49152 B smem, ") and " | sm_90: 49152 B smem, " in title
    assert title.count(" regs, 0 B spills, ") == 2


KERNEL = textwrap.dedent('''
    import tilelang
    import tilelang.language as T
    {prelude}

    @tilelang.jit
    def scale(A, bm: int = 32):
        M = T.const("M")
        A: T.Tensor((M,), T.float32)
        B = T.empty((M,), T.float32)
        with T.Kernel(T.ceildiv(M, bm), threads=32) as bx:
            for i in T.Parallel(bm):
                {body}
        return B


    def ref_program(A):
        return A * 2.0


    kernel = scale.compile(M=128)
''')


def kernel_file(tmp_path: Path, prelude: str = "", body: str = "B[bx * bm + i] = A[bx * bm + i] * 2.0") -> Path:
    path = tmp_path / "scale.py"
    path.write_text(KERNEL.format(prelude=prelude, body=body), encoding="utf-8")
    return path


@pytest.mark.asyncio
async def test_compiler_errors_are_tilec_diagnostics_on_their_line(client: LanguageClient, tmp_path: Path) -> None:
    # T.atomic_max is not supported by the compiler yet (the analyzer has nothing against it)
    path = kernel_file(tmp_path, body="T.atomic_max(B[bx * bm + i], A[bx * bm + i])")
    await initialize(client, init_options=trusted("cpu"))
    uri = await open_and_analyse(client, path)
    save(client, uri)
    await compiled(client, uri)
    found = await wait_until(client, lambda: [d for d in client.diagnostics.get(uri, []) if d.source == "tilec"],
                             "tilec diagnostics")
    [diag] = found
    assert (diag.code, diag.range.start.line, diag.range.start.character) == ("TL950", 12, 12)
    assert diag.message == "not supported yet: T.atomic_max" and diag.severity == types.DiagnosticSeverity.Error
    assert not [d for d in client.diagnostics[uri] if d.source == "tilelint"]
    [title] = await lenses(client, uri)
    # the module itself compiles the kernel (scale.compile(M=128)): the file does not load
    assert title == "tilec: the file does not load (TL950 not supported yet: T.atomic_max)"


@pytest.mark.asyncio
async def test_a_crashing_compile_worker_is_reported_and_the_server_keeps_serving(
        client: LanguageClient, tmp_path: Path) -> None:
    # the module ends the process that loads it: the compile worker dies, the server must not
    path = kernel_file(tmp_path, prelude="import os\nos._exit(3)")
    good = tmp_path / "good" / "scale.py"
    good.parent.mkdir()
    kernel_file(good.parent)
    await initialize(client, init_options=trusted("cpu"))
    uri = await open_and_analyse(client, path)
    save(client, uri)
    await compiled(client, uri)
    [diag] = [d for d in client.diagnostics[uri] if d.source == "tilec"]
    assert diag.code == "TL953" and diag.severity == types.DiagnosticSeverity.Warning
    assert "the compiler worker failed; the server keeps running: the compile worker exited (code 3)" in diag.message
    [title] = await lenses(client, uri)
    assert title.startswith("tilec: the compiler worker failed (the compile worker exited (code 3)")
    symbols = await client.text_document_document_symbol_async(types.DocumentSymbolParams(
        types.TextDocumentIdentifier(uri)))
    assert [s.name for s in symbols][:1] == ["scale"]  # still serving
    # the next compile gets a fresh worker
    good_uri = await open_and_analyse(client, good)
    save(client, good_uri)
    await compiled(client, good_uri)
    assert (await lenses(client, good_uri))[0].startswith("tilec cpu: built in ")


@pytest.mark.asyncio
async def test_a_hanging_compile_is_killed_at_its_timeout(client: LanguageClient, tmp_path: Path) -> None:
    path = kernel_file(tmp_path, prelude="while True:\n    pass")
    await initialize(client, init_options=trusted("cpu", compileTimeoutS=3))
    uri = await open_and_analyse(client, path)
    save(client, uri)
    await compiled(client, uri)
    [diag] = [d for d in client.diagnostics[uri] if d.source == "tilec"]
    assert diag.code == "TL953" and "the compile took longer than 3 s; the worker was killed" in diag.message
    symbols = await client.text_document_document_symbol_async(types.DocumentSymbolParams(
        types.TextDocumentIdentifier(uri)))
    assert [s.name for s in symbols][:1] == ["scale"]


@pytest.mark.asyncio
async def test_a_newer_save_cancels_the_running_compile(client: LanguageClient, tmp_path: Path) -> None:
    path = kernel_file(tmp_path, prelude="import time\ntime.sleep(4)")
    await initialize(client, init_options=trusted("cpu"))
    uri = await open_and_analyse(client, path)
    save(client, uri)
    await wait_until(client, lambda: any("compile worker started" in m.message for m in client.log_messages),
                     "the compile worker")
    save(client, uri)
    await compiled(client, uri)
    assert any(m.message == f"a newer save of {uri}: cancelling its running compile" for m in client.log_messages)
    assert sum(m.message.startswith(f"compiled {uri} ") for m in client.log_messages) == 1
    assert (await lenses(client, uri))[0].startswith("tilec cpu: built in ")


@pytest.mark.asyncio
async def test_show_generated_code_and_run_check(client: LanguageClient, tmp_path: Path) -> None:
    path = kernel_file(tmp_path)
    await initialize(client, init_options=trusted("cpu"))
    uri = await open_and_analyse(client, path)
    shown = await client.workspace_execute_command_async(types.ExecuteCommandParams(
        "tilelsp.showGenerated", [uri, "cuda"]))
    assert shown["uri"] == "tilelsp://generated/scale.0.sm_90.cuda.cu"
    doc = await client.protocol.send_request_async("tilelsp/generatedDocument", {"uri": shown["uri"]})
    assert 'extern "C" __global__' in doc.text and "main_kernel" in doc.text
    tir = await client.workspace_execute_command_async(types.ExecuteCommandParams(
        "tilelsp.showGenerated", [uri, "tir"]))
    doc = await client.protocol.send_request_async("tilelsp/generatedDocument", {"uri": tir["uri"]})
    assert "T.prim_func" in doc.text
    missing = await client.protocol.send_request_async("tilelsp/generatedDocument", {"uri": "tilelsp://nothing"})
    assert missing is None
    checked = await client.workspace_execute_command_async(types.ExecuteCommandParams("tilelsp.runCheck", [uri]))
    assert checked["exitCode"] == 0 and "max abs error 0 " in checked["output"] and ": ok" in checked["output"]


@pytest.mark.asyncio
async def test_tilelang_backend_without_an_interpreter_says_so(client: LanguageClient, tmp_path: Path) -> None:
    path = kernel_file(tmp_path)
    missing = str(tmp_path / "no-venv" / "bin" / "python")
    await initialize(client, init_options=trusted("cpu", compileBackend="tilelang", tilelangPython=missing))
    uri = await open_and_analyse(client, path)
    save(client, uri)
    await compiled(client, uri)
    [diag] = [d for d in client.diagnostics[uri] if d.source == "tilelang"]
    assert diag.code == "TL955"
    assert diag.message == f"TileLang: no TileLang interpreter (set tilelsp.tilelangPython; got {missing!r})"
    [title] = await lenses(client, uri)
    assert title.startswith("tilec TileLang sm_90: refused (TileLang: no TileLang interpreter")


ORACLE_PYTHON = os.environ.get("TILELSP_ORACLE_PYTHON")


@pytest.mark.oracle
@pytest.mark.skipif(not ORACLE_PYTHON, reason="set TILELSP_ORACLE_PYTHON to TileLang 0.1.15's python")
@pytest.mark.asyncio
async def test_tilelang_backend_side_by_side_with_ours(client: LanguageClient, tmp_path: Path) -> None:
    path = tmp_path / "gemm.py"
    shutil.copy(EXAMPLES / "gemm_pipelined.py", path)
    await initialize(client, init_options=trusted("cuda" if NVCC else "cpu", compileBackend="both",
                                                  tilelangPython=ORACLE_PYTHON))
    uri = await open_and_analyse(client, path)
    save(client, uri)
    await compiled(client, uri)
    [title] = await lenses(client, uri)
    assert "TileLang sm_90: 49152 B smem" in title
    if NVCC:
        assert title.startswith("tilec sm_90: 49152 B smem, ")


@needs_nvcc
@pytest.mark.asyncio
async def test_a_notice_where_the_compilers_shared_memory_differs_from_the_estimate(
        client: LanguageClient, tmp_path: Path) -> None:
    # FlashAttention at 32-row blocks: the back end keeps p (2048 B) in shared memory (TileLang refuses this
    # configuration; the analyzer's estimate keeps p in registers): 13312 B against 11264 B
    path = tmp_path / "fa.py"
    shutil.copy(EXAMPLES / "flash_attention.py", path)
    call = "flash_attention_fwd(1, 2, 64, 32, block_M=32, block_N=32)"
    await initialize(client, init_options=trusted("cuda", instantiate=[call]))
    uri = await open_and_analyse(client, path)
    save(client, uri)
    await compiled(client, uri)
    notices = [d for d in client.diagnostics[uri] if d.code == "TL954"]
    assert len(notices) == 1 and notices[0].severity == types.DiagnosticSeverity.Information
    assert notices[0].message.endswith("on sm_90: the compiler allocates 13312 B of dynamic shared memory, the "
                                       "analyzer estimates 11264 B")
