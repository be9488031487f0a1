#!/usr/bin/env python3
"""Does the CUDA source TileLang generates for a kernel compile with nvcc?

Runs under the TileLang python (``run_mutation.py --nvcc`` calls it for every
mutant x arch that TileLang lowers but tilelint flags: lowering alone never
runs nvcc, and some defects, e.g. an accumulator dtype no MMA supports, only
fail there). Imports nothing from the tilelsp repository.

Input: a JSON file with a list of ``{"path", "site", "instantiation", "arch"}``.
Output (stdout): one JSON line per job, ``{"index", "ok": bool, "error":
"first nvcc error line" | null, "seconds"}``. Lowering happens in this one
process (TileLang is imported once); nvcc runs two at a time.
"""

from __future__ import annotations

import argparse
import ast
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor


def load_module(path: str, name: str):
    directory = os.path.dirname(path)
    if directory not in sys.path:
        sys.path.insert(0, directory)
    sys.argv = [path]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
        return module
    except (Exception, SystemExit):  # noqa: BLE001 - fall back to one statement at a time
        pass
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    with open(path, encoding="utf-8") as handle:
        tree = ast.parse(handle.read(), path)
    for node in tree.body:
        if isinstance(node, ast.If) and "__main__" in ast.unparse(node.test):
            continue
        try:
            exec(compile(ast.Module(body=[node], type_ignores=[]), path, "exec"), module.__dict__)
        except (Exception, SystemExit):  # noqa: BLE001
            pass
    return module


def build_source(module, site: str, inst: dict, arch: str) -> str:
    import tilelang
    import tilelang.language as T
    from tilelang import tvm

    def convert(v):
        if isinstance(v, str):
            try:
                dt = T.dtype(v)
                return dt if str(dt) == v else v
            except Exception:  # noqa: BLE001
                return v
        if isinstance(v, list):
            return tuple(convert(x) for x in v)
        return v

    obj = getattr(module, site)
    for _ in range(8):  # @autotune wrappers
        if hasattr(obj, "jit_impl"):
            obj = obj.jit_impl
    kwargs = {k: convert(v) for k, v in inst.items()}
    kwargs.pop("pass_configs", None)
    kwargs.pop("__pass_configs__", None)
    target = tvm.target.Target({"kind": "cuda", "arch": arch})
    with target:
        if hasattr(obj, "get_tir"):
            tir = obj.get_tir(**kwargs)
        elif callable(obj):
            tir = obj(**kwargs)
        else:
            tir = obj
        configs = {}
        attrs = getattr(tir, "attrs", None)
        if attrs is not None and "tilelang_pass_configs" in attrs:
            configs.update(dict(attrs["tilelang_pass_configs"]))
        if getattr(obj, "pass_configs", None):
            configs.update(obj.pass_configs)
        try:
            from tilelang.transform.pass_config import normalize_pass_configs

            configs = normalize_pass_configs(configs)
        except ImportError:
            pass
        with tvm.transform.PassContext(opt_level=3, config=configs):
            art = tilelang.lower(tir, target=target)
    return art.kernel_source


def nvcc(source: str, arch: str, workdir: str, timeout: int) -> tuple[bool, str | None]:
    import tilelang

    root = os.path.dirname(tilelang.__file__)
    includes = [os.path.join(root, p) for p in ("src", "3rdparty/cutlass/include")]
    number = arch.removeprefix("sm_")
    if number.startswith("9") and not number.endswith("a"):
        number += "a"  # Hopper-only instructions (wgmma, setmaxnreg) need the 'a' target
    cu = os.path.join(workdir, "kernel.cu")
    with open(cu, "w") as handle:
        handle.write(source)
    compiler = shutil.which("nvcc") or "/usr/local/cuda/bin/nvcc"
    cmd = [compiler, "-std=c++20", "-w", "-Xcudafe", "--diag_suppress=177", "-c", cu, "-o", cu + ".o",
           "-gencode", f"arch=compute_{number},code=sm_{number}"] + [f"-I{p}" for p in includes if os.path.isdir(p)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return False, f"nvcc timeout after {timeout}s"
    if proc.returncode == 0:
        return True, None
    lines = [ln.strip() for ln in (proc.stderr + proc.stdout).splitlines() if "error" in ln]
    return False, "nvcc: " + (lines[0] if lines else f"exit {proc.returncode}")[:300]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("jobs")
    ap.add_argument("--timeout", type=int, default=300)
    args = ap.parse_args()
    jobs = json.load(open(args.jobs))
    modules: dict[str, object] = {}
    pool = ThreadPoolExecutor(max_workers=2)
    futures = []
    for index, job in enumerate(jobs):
        t0 = time.perf_counter()
        try:
            path = job["path"]
            if path not in modules:
                modules[path] = load_module(path, f"nvcc_check_{len(modules)}")
            source = build_source(modules[path], job["site"], job.get("instantiation") or {}, job["arch"])
        except BaseException as exc:  # noqa: BLE001
            if isinstance(exc, KeyboardInterrupt):
                raise
            first = (str(exc).strip().splitlines() or [""])[0][:300]
            print(json.dumps({"index": index, "ok": None, "error": f"lowering: {type(exc).__name__}: {first}"}), flush=True)
            continue
        workdir = tempfile.mkdtemp(prefix="nvcc_check_")

        def compile_one(index=index, source=source, arch=job["arch"], workdir=workdir, t0=t0):
            ok, err = nvcc(source, arch, workdir, args.timeout)
            shutil.rmtree(workdir, ignore_errors=True)
            return {"index": index, "ok": ok, "error": err, "seconds": round(time.perf_counter() - t0, 1)}

        futures.append(pool.submit(compile_one))
    for f in futures:
        print(json.dumps(f.result()), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
