"""Benchmark the tilelsp compiler's CPU back end; prints a table.

    python benchmarks/bench_compiler.py [--quick]

- cold `import tvm` (a fresh process, reported on its own);
- compile time per kernel (trace + passes + LLVM), TVM already imported;
- CPU run time of a 1024^3 float32 GEMM (TileLang-style tiled kernel) against
  numpy.matmul, softmax and FlashAttention forward (examples/) against NumPy.

Each timing runs in its own process: TVM's worker threads slow down an
OpenBLAS call made right after them (notes/tvm-0.27.md).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

GEMM_F32 = '''
import tilelang
import tilelang.language as T


def matmul(M, N, K, block_M, block_N, block_K, dtype="float32"):
    @T.prim_func
    def main(A: T.Tensor((M, K), dtype), B: T.Tensor((K, N), dtype), C: T.Tensor((M, N), dtype)):
        with T.Kernel(T.ceildiv(N, block_N), T.ceildiv(M, block_M), threads=128) as (bx, by):
            A_shared = T.alloc_shared((block_M, block_K), dtype)
            B_shared = T.alloc_shared((block_K, block_N), dtype)
            C_local = T.alloc_fragment((block_M, block_N), dtype)
            T.clear(C_local)
            for ko in T.Pipelined(T.ceildiv(K, block_K), num_stages=2):
                T.copy(A[by * block_M, ko * block_K], A_shared)
                T.copy(B[ko * block_K, bx * block_N], B_shared)
                T.gemm(A_shared, B_shared, C_local)
            T.copy(C_local, C[by * block_M, bx * block_N])

    return main
'''

CASES = {
    # name: (file, instantiation, numpy reference, input shapes/dtypes)
    "gemm_f32_1024": ("GEMM", "matmul(1024, 1024, 1024, 64, 64, 64)"),
    "softmax_f16_4096x1024": ("softmax", "softmax(4096, 1024, 8)"),
    "flash_attn_f16_1x8x512x64": ("flash_attention", "flash_attention_fwd(1, 8, 512, 64, block_M=64, block_N=64)"),
}


def _file(kind: str, tmp: Path) -> Path:
    if kind == "GEMM":
        p = tmp / "gemm_f32.py"
        p.write_text(GEMM_F32)
        return p
    return ROOT / "examples" / f"{kind}.py"


def child(case: str, tmpdir: str, number: int) -> dict:
    import numpy as np

    t0 = time.perf_counter()
    import tvm  # noqa: F401

    import_s = time.perf_counter() - t0
    from compiler.loader import instantiate, load
    from compiler.runtime import build

    kind, request = CASES[case]
    t0 = time.perf_counter()
    kdef = instantiate(load(_file(kind, Path(tmpdir))), request)
    runner = build(kdef)
    compile_s = time.perf_counter() - t0
    rng = np.random.default_rng(0)
    specs = runner.param_specs()
    ins = [rng.standard_normal(s).astype(np.float32).astype(d) for k, (_, s, d) in enumerate(specs)
           if k not in runner.out_idx]
    if kind == "GEMM":
        a, b = ins[0], ins[1]
        ins.append(np.zeros((a.shape[0], b.shape[1]), np.float32))
    kernel_s = runner.time(*ins, number=number, repeat=3)
    return {"import_s": import_s, "compile_s": compile_s, "kernel_s": kernel_s}


def numpy_child(case: str, number: int) -> float:
    import numpy as np

    rng = np.random.default_rng(0)
    if case == "gemm_f32_1024":
        a, b = (rng.standard_normal((1024, 1024)).astype(np.float32) for _ in range(2))
        fn = lambda: np.matmul(a, b)  # noqa: E731
    elif case.startswith("softmax"):
        x = rng.standard_normal((4096, 1024)).astype(np.float16)

        def fn():
            xf = x.astype(np.float32)
            e = np.exp(xf - xf.max(-1, keepdims=True))
            return (e / e.sum(-1, keepdims=True)).astype(np.float16)
    else:
        q, k, v = (rng.standard_normal((1, 8, 512, 64)).astype(np.float16) for _ in range(3))

        def fn():
            qf, kf, vf = q.astype(np.float32), k.astype(np.float32), v.astype(np.float32)
            s = qf @ np.swapaxes(kf, -1, -2) / 8.0
            s = np.exp(s - s.max(-1, keepdims=True))
            return ((s / s.sum(-1, keepdims=True)) @ vf).astype(np.float16)
    fn()
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - t0) / number)
    return best


def run_child(args: list[str]) -> dict:
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, cwd=ROOT, timeout=900)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--child")
    p.add_argument("--numpy")
    p.add_argument("--tmp")
    p.add_argument("--number", type=int, default=5)
    args = p.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.tmp, args.number)))
        return
    if args.numpy:
        print(json.dumps({"numpy_s": numpy_child(args.numpy, args.number)}))
        return
    cold = run_child(["--child", "gemm_f32_1024", "--tmp", tempfile.mkdtemp(), "--number", "1"])["import_s"]
    print(f"cold `import tvm`: {cold:.2f} s (excluded from compile times)")
    print(f"cores: {os.cpu_count()}")
    print()
    print("| kernel | compile (s) | tilec CPU (ms) | NumPy (ms) | ratio tilec/NumPy |")
    print("|---|---|---|---|---|")
    for case in CASES:
        tmp = tempfile.mkdtemp()
        r = run_child(["--child", case, "--tmp", tmp, "--number", str(args.number)])
        n = run_child(["--numpy", case, "--number", str(args.number)])
        ratio = r["kernel_s"] / n["numpy_s"]
        print(f"| {case} | {r['compile_s']:.3f} | {r['kernel_s'] * 1e3:.2f} | {n['numpy_s'] * 1e3:.2f} | {ratio:.2f}x |")


if __name__ == "__main__":
    main()
