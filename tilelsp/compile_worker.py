"""The compile worker: a child process that runs the compiler for the server (compile-on-save).

`python -m tilelsp.compile_worker` speaks the framing of `tilelsp.worker` (a 4-byte length and a pickle per
message). Unlike the analysis worker it imports the compiler (and with it TVM) and it executes the user's
module: loading a TileLang file runs its module-level code. The server starts it only for a trusted
workspace, keeps it apart from itself, and kills it on a timeout or when a newer save of the same file
makes the running compile pointless.

Requests and answers (`spec` is a dict):

- `("compile", job_id, spec)`: spec = {path, kernels: [{name, call, line}], target: "auto" | "cuda" | "cpu",
  archs: [..]} -> `("result", job_id, {"target", "builds": [...], "load_error"}, seconds)`. One build per
  kernel and arch (CUDA: `cuda_codegen.build_artifact` with nvcc and the ptxas report; CPU: the LLVM build),
  each `{"name", "call", "line", "target", "arch", "ok", "diagnostics", "dyn_smem", "static_smem",
  "registers", "spill_store", "spill_load", "seconds"}`; `diagnostics` are located
  `analyzer.diagnostics.Diagnostic`s (code TL95x: the compiler's own; TL1xx..: TileLang refuses it).
- `("tilec", job_id, argv)` -> `("result", job_id, {"code", "stdout", "stderr"}, seconds)`: `tilec` in this
  process (`tilec build --emit cuda|tir|lowered|ptx`, `tilec run --check`).
- `("modules", job_id)` -> `("modules", job_id, sorted module names)`.

On start it sends `("ready", pid)`; it exits when stdin closes.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import tempfile
import time
from typing import IO, Any

from .compile import diagnostic_at
from .worker import run_frames, serve_requests


def _error_diagnostics(err: BaseException, line: int) -> list[Any]:
    from compiler.cuda_toolchain import CudaCompileError
    from compiler.errors import CompileError

    if isinstance(err, CudaCompileError):
        err = err.to_compile_error()
    if isinstance(err, CompileError):
        return [err.diagnostic]
    text = str(err).strip().splitlines()
    return [diagnostic_at(line, "TL951", f"{type(err).__name__}: {text[0] if text else ''}")]


def _resolve_target(target: str) -> str:
    if target in ("cuda", "cpu"):
        return target
    from compiler.cuda_toolchain import find_nvcc

    return "cuda" if find_nvcc() is not None else "cpu"


def compile_file(spec: dict[str, Any]) -> dict[str, Any]:
    backend = spec.get("backend", "tilec")
    out: dict[str, Any] = {"target": None, "builds": [], "load_error": None}
    if backend in ("tilec", "both"):
        out = compile_tilec(spec)
    if backend in ("tilelang", "both"):
        out["builds"] += lower_with_tilelang(spec)
    return out


def lower_with_tilelang(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """TileLang's own verdict: `tilelang_lower.py` under the user's TileLang interpreter lowers each kernel for
    each arch (no GPU, no nvcc) and gives its dynamic shared memory, or TileLang's error (code TL955)."""
    import json
    import subprocess

    path, archs = spec["path"], list(spec.get("archs") or ["sm_90"])
    python = spec.get("tilelang_python") or ""
    kernels = spec.get("kernels", [])
    rows: list[dict[str, Any]] = []

    def fail(kernel: dict[str, Any], arch: str, message: str, seconds: float = 0.0) -> None:
        rows.append({"name": kernel["name"], "call": kernel["call"], "line": kernel.get("line", 0),
                     "target": "tilelang", "arch": arch, "ok": False, "seconds": seconds,
                     "diagnostics": [diagnostic_at(kernel.get("line", 0), "TL955", f"TileLang: {message}")]})

    if not python or not os.path.exists(python):
        for kernel in kernels:
            fail(kernel, archs[0], f"no TileLang interpreter (set tilelsp.tilelangPython; got {python!r})")
        return rows
    requests = [{"path": path, "site": k["name"], "style": k.get("style", "eager"), "kernel": k.get("kernel") or "",
                 "instantiation": k.get("instantiation", {}), "archs": archs} for k in kernels]
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tilelang_lower.py")
    with tempfile.TemporaryDirectory(prefix="tilelsp-tilelang-") as tmp:
        req = os.path.join(tmp, "requests.json")
        res = os.path.join(tmp, "results.jsonl")
        with open(req, "w", encoding="utf-8") as f:
            json.dump(requests, f)
        started = time.perf_counter()
        proc = subprocess.run([python, script, req, "-o", res, "--jobs", "1", "--timeout",
                               str(spec.get("timeout_s", 120))], capture_output=True, text=True, check=False,
                              timeout=float(spec.get("timeout_s", 120)) + 30)
        seconds = time.perf_counter() - started
        answers = {}
        if os.path.exists(res):
            with open(res, encoding="utf-8") as f:
                for line in f:
                    if line.strip():
                        item = json.loads(line)
                        answers[item.get("index")] = item
    for i, kernel in enumerate(kernels):
        item = answers.get(i)
        if item is None:
            fail(kernel, archs[0], f"the TileLang interpreter failed (exit {proc.returncode}): "
                                   f"{(proc.stderr.strip().splitlines() or [''])[-1][:200]}", seconds)
            continue
        if "error" in item:
            fail(kernel, archs[0], str(item["error"]), seconds)
            continue
        for arch in archs:
            got = item.get("result", {}).get(arch, {})
            if "error" in got:
                fail(kernel, arch, str(got["error"]), float(got.get("seconds", 0.0)))
            else:
                rows.append({"name": kernel["name"], "call": kernel["call"], "line": kernel.get("line", 0),
                             "target": "tilelang", "arch": arch, "ok": True, "diagnostics": [],
                             "dyn_smem": got.get("dyn_shared_memory_buf"), "seconds": float(got.get("seconds", 0.0))})
    return rows


def compile_tilec(spec: dict[str, Any]) -> dict[str, Any]:
    from compiler.cli import _load, _trace
    from compiler.errors import CompileError

    path = spec["path"]
    target = _resolve_target(spec.get("target", "auto"))
    archs = list(spec.get("archs") or ["sm_90"])
    out: dict[str, Any] = {"target": target, "builds": [], "load_error": None}
    try:
        loaded = _load(path, target, True)
    except CompileError as err:
        out["load_error"] = [err.diagnostic]
        return out
    except BaseException as err:  # noqa: BLE001 - the user's module may raise anything, even SystemExit
        out["load_error"] = _error_diagnostics(err, 0)
        return out
    for kernel in spec.get("kernels", []):
        for arch in (archs if target == "cuda" else ["cpu"]):
            out["builds"].append(_build(loaded, kernel, target, arch, path, _trace))
    return out


def _build(loaded: Any, kernel: dict[str, Any], target: str, arch: str, path: str, trace: Any) -> dict[str, Any]:
    row: dict[str, Any] = {"name": kernel["name"], "call": kernel["call"], "line": kernel.get("line", 0),
                           "target": target, "arch": arch, "ok": False, "diagnostics": []}
    started = time.perf_counter()
    try:
        kdef = trace(loaded, kernel["call"], target, True)
        if target == "cuda":
            from compiler.cuda_codegen import build_artifact

            with tempfile.TemporaryDirectory(prefix="tilelsp-compile-") as tmp:
                art = build_artifact(kdef, arch, tmp, "kernel")
            res = art.resources
            row.update(dyn_smem=art.build.dynamic_smem, static_smem=res.shared_bytes, registers=res.registers,
                       spill_store=res.spill_store_bytes, spill_load=res.spill_load_bytes)
        else:
            from compiler.runtime import build

            build(kdef)  # the LLVM build of the CPU back end
        row["ok"] = True
    except BaseException as err:  # noqa: BLE001 - reported on the kernel's line, the worker stays up
        row["diagnostics"] = _error_diagnostics(err, kernel.get("line", 0))
    row["seconds"] = time.perf_counter() - started
    return row


def run_tilec(argv: list[str]) -> dict[str, Any]:
    from compiler.cli import main as tilec

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = tilec(argv)
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else 2
    return {"code": code, "stdout": out.getvalue(), "stderr": err.getvalue()}


def serve(stdin: IO[bytes], stdout: IO[bytes]) -> int:
    return serve_requests(stdin, stdout, {"compile": compile_file, "tilec": lambda argv: run_tilec(list(argv))})


def main() -> int:
    return run_frames(serve)  # the user's module may print: everything but the frames goes to stderr


if __name__ == "__main__":
    sys.exit(main())
