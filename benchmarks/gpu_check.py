"""The GPU correctness check: every example kernel, at every size of tests/example_cases.py, on a GPU.

Two steps, on two machines, because the GPU machine has no TVM:

    # here (TVM + nvcc): generate, compile and write one artifact per case
    python benchmarks/gpu_check.py build --arch sm_90 --out build/gpu_artifacts
    # on the GPU machine (NumPy + CuPy or cuda-python; no TVM), from the repository root
    python benchmarks/gpu_check.py run --artifacts build/gpu_artifacts [--markdown FILE]
    # here: the speed benchmark's kernels (GEMM 4096/8192, FlashAttention, softmax, rmsnorm) with the
    # index benchmarks/gpu_speed.py reads
    python benchmarks/gpu_check.py bench-build --arch sm_90 --out build/our_bench

`build` also prints the ptxas resource table (registers, static shared memory, spills) next to the
dynamic shared memory each kernel is launched with. `run` loads each artifact with
compiler/runtime/cuda.py, runs it on the case's inputs (NumPy arrays, copied to and from the device),
compares the outputs with the case's NumPy reference and tolerance, and prints one row per case: max
absolute error, pass/fail, and the kernel's time (CUDA events, mean of 20 launches after 3 warm-ups, the
arrays already on the device). The GPU name comes from the driver.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from example_cases import CPU_CASES, GPU_SIZES, Case, f32  # noqa: E402


def cases() -> list[Case]:
    return CPU_CASES + GPU_SIZES


def artifact_name(index: int, case: Case) -> str:
    return f"case{index:02d}_{case.example}"


def build(out: Path, arch: str, only: list[str] | None = None) -> int:
    from compiler.cuda_codegen import build_artifact
    from compiler.loader import instantiate, load

    out.mkdir(parents=True, exist_ok=True)
    index = []
    print("| case | grid | block | dynamic smem (B) | registers | static smem (B) | spill st/ld (B) | nvcc s |")
    print("|---|---|---|---|---|---|---|---|")
    failures = 0
    for k, case in enumerate(cases()):
        name = artifact_name(k, case)
        if only and not any(o in case.name for o in only):
            continue
        try:
            kdef = instantiate(load(ROOT / "examples" / f"{case.example}.py"), case.call)
            result = build_artifact(kdef, arch, out, name)
        except Exception as err:  # a row per case, whatever fails
            failures += 1
            print(f"| {case.name} | build failed: {type(err).__name__}: {str(err).splitlines()[0][:120]} |")
            continue
        b, r = result.build, result.resources
        print(f"| {case.name} | {b.grid} | {b.block[0]} | {b.dynamic_smem} | {r.registers} | {r.shared_bytes} | "
              f"{r.spill_store_bytes}/{r.spill_load_bytes} | {result.cubin.seconds:.2f} |")
        index.append({"name": name, "case": case.name})
    (out / "index.json").write_text(json.dumps(index, indent=1))
    return 1 if failures else 0


# The speed benchmark's kernels: (example, instantiation, gpu_speed.py index entry).
BENCH = [
    ("gemm_pipelined", "matmul(M={n}, N={n}, K={n}, block_M=128, block_N=128, block_K=32, num_stages=3)",
     {"bench": "gemm", "layout": "nn", "config": "128x128x32 s3 t128"}, (4096, 8192)),
    ("gemm_pipelined", "matmul(M={n}, N={n}, K={n}, block_M=128, block_N=256, block_K=32, num_stages=3, "
     "threads=256)", {"bench": "gemm", "layout": "nn", "config": "128x256x32 s3 t256", "variant": "wide"},
     (4096, 8192)),
    # TileLang's sm_90a GEMM config; built for sm_90a its gemm is a warpgroup MMA (wgmma)
    ("gemm_pipelined", "matmul(M={n}, N={n}, K={n}, block_M=128, block_N=256, block_K=64, num_stages=3, "
     "threads=256)", {"bench": "gemm", "layout": "nn", "config": "128x256x64 s3 t256", "variant": "wgmma",
                      "arch": "sm_90a"}, (4096, 8192)),
    # the same with TileLang's block rasterization (T.use_swizzle(10)): benchmarks/kernels/gemm_raster.py
    ("kernels/gemm_raster", "matmul(M={n}, N={n}, K={n}, block_M=128, block_N=256, block_K=64, num_stages=3, "
     "threads=256)", {"bench": "gemm", "layout": "nn", "config": "128x256x64 s3 t256 swizzle10",
                      "variant": "wgmma", "arch": "sm_90a"}, (4096, 8192)),
    ("flash_attention", "flash_attention_fwd(1, 32, 4096, 128, block_M={n}, block_N={bn}, threads={t})",
     {"bench": "attention", "B": 1, "H": 32, "S": 4096, "D": 128, "causal": False, "layout": "bhsd"},
     ((64, 64, 128), (64, 128, 128), (128, 64, 256))),
    ("softmax", "softmax(16384, 4096, 1)", {"bench": "softmax", "M": 16384, "N": 4096, "config": "1 row/block t128"},
     (None,)),
    ("rms_norm", "rms_norm(M=16384, N=4096, block_M=1)",
     {"bench": "rmsnorm", "M": 16384, "N": 4096, "eps": 1e-6, "weight": True, "config": "1 row/block t256"}, (None,)),
]


def bench_build(out: Path, arch: str) -> int:
    from compiler.cuda_codegen import build_artifact
    from compiler.loader import instantiate, load

    out.mkdir(parents=True, exist_ok=True)
    kernels = []
    for example, call, entry, sizes in BENCH:
        for n in sizes:
            t = bn = None
            if isinstance(n, tuple):  # (block_M, block_N, threads)
                n, bn, t = n
                entry = dict(entry, config=f"{n}x{bn} t{t}")
            request = call.format(n=n, t=t, bn=bn)
            name = f"ours_{example.split('/')[-1]}" + (f"_{entry['variant']}" if "variant" in entry else "") \
                + (f"_{n}" if n else "") + (f"x{bn}" if bn else "")
            path = ROOT / "benchmarks" / f"{example}.py" if "/" in example else ROOT / "examples" / f"{example}.py"
            kdef = instantiate(load(path), request)
            entry_arch = entry.get("arch", arch)
            result = build_artifact(kdef, entry_arch, out, name)
            r = result.resources
            print(f"{name}: {request}: grid {result.build.grid}, block {result.build.block[0]}, dynamic smem "
                  f"{result.build.dynamic_smem} B, {r.registers} registers, spills {r.spill_store_bytes}/"
                  f"{r.spill_load_bytes} B")
            item = dict(entry, artifact=name, arch=entry_arch, dtype="float16")
            if entry["bench"] == "gemm":
                item.update(M=n, N=n, K=n)
            if t is not None:
                item["label"] = f"{name} ({entry['config']})"
            kernels.append(item)
    (out / "index.json").write_text(json.dumps({"format": "tilec-bench-index", "version": 1,
                                                "producer": "tilec (benchmarks/gpu_check.py bench-build)",
                                                "kernels": kernels}, indent=1))
    return 0


def gpu_name() -> str:
    try:
        import cupy

        props = cupy.cuda.runtime.getDeviceProperties(0)
        name = props["name"]
        return name.decode() if isinstance(name, bytes) else str(name)
    except Exception:  # noqa: BLE001 - the name is informative only
        return "unknown GPU"


def run(artifacts: Path, markdown: Path | None) -> int:
    from compiler.runtime.cuda import load

    by_name = {c.name: c for c in cases()}
    index = json.loads((artifacts / "index.json").read_text())
    rows = []
    failed = 0
    for entry in index:
        case = by_name[entry["case"]]
        try:
            kernel = load(artifacts / f"{entry['name']}.json")
            args = case.make(np.random.default_rng(0))
            kernel(*args)
            errs, ok = [], True
            for pos, expected in zip(case.outputs, case.ref(args)):
                got, want = f32(args[pos]), f32(expected)
                errs.append(float(np.max(np.abs(got - want))) if got.size else 0.0)
                close = np.allclose(got, want, **case.tol) if case.tol["atol"] or case.tol["rtol"] \
                    else np.array_equal(args[pos], expected)
                ok = ok and bool(close)
            ms = _time(kernel, case)
            rows.append((case.name, max(errs), "pass" if ok else "FAIL", ms))
            failed += not ok
        except Exception as err:  # a row per case, whatever fails
            rows.append((case.name, float("nan"), f"ERROR {type(err).__name__}: {str(err)[:100]}", float("nan")))
            failed += 1
    lines = [f"GPU: {gpu_name()}; {len(rows)} cases, {len(rows) - failed} pass, {failed} fail", "",
             "| case | max abs err | result | kernel ms |", "|---|---|---|---|"]
    lines += [f"| {n} | {e:.3g} | {r} | {ms:.3f} |" for n, e, r, ms in rows]
    text = "\n".join(lines)
    print(text)
    if markdown:
        markdown.write_text(text + "\n")
    return 1 if failed else 0


def _time(kernel, case: Case) -> float:
    """Mean ms per launch with the arrays on the device (CuPy), or NaN without CuPy."""
    try:
        import cupy
    except ImportError:
        return float("nan")
    args = [cupy.asarray(a) if a.dtype.kind != "V" and "bfloat16" not in str(a.dtype) else a
            for a in case.make(np.random.default_rng(1))]
    if any(isinstance(a, np.ndarray) for a in args):
        return float("nan")  # bfloat16 arrays stay NumPy: copies would dominate the time
    return kernel.time(*args, warmup=3, iters=20)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build")
    b.add_argument("--arch", default="sm_90")
    b.add_argument("--out", type=Path, default=ROOT / "build" / "gpu_artifacts")
    b.add_argument("--only", nargs="*", help="build only the cases whose name contains one of these")
    bb = sub.add_parser("bench-build")
    bb.add_argument("--arch", default="sm_90")
    bb.add_argument("--out", type=Path, default=ROOT / "build" / "our_bench")
    r = sub.add_parser("run")
    r.add_argument("--artifacts", type=Path, default=ROOT / "build" / "gpu_artifacts")
    r.add_argument("--markdown", type=Path)
    args = p.parse_args()
    start = time.time()
    if args.cmd == "build":
        rc = build(args.out, args.arch, args.only)
    elif args.cmd == "bench-build":
        rc = bench_build(args.out, args.arch)
    else:
        rc = run(args.artifacts, args.markdown)
    print(f"({time.time() - start:.1f} s)")
    return rc


if __name__ == "__main__":
    sys.exit(main())
