"""GPU smoke test of the CUDA loader (compiler/runtime/cuda.py): prebuilt cubins, no TVM.

On a GPU machine (NumPy plus any of CuPy, cuda-python or just the NVIDIA driver; torch
and ml_dtypes used when present), from the repository root:

    PYTHONPATH=. python3 benchmarks/gpu_smoke_loader.py benchmarks/artifacts/smoke

It loads every artifact in the directory and runs it with each launch backend that
works there (cupy, cuda-python, libcuda), on NumPy arrays (inputs only, outputs
allocated; then all arrays, in place), on torch CUDA tensors and on CuPy arrays when
those import, and compares with NumPy. One line per check; exit status 1 if any
result differs, 2 if no backend could launch. It also prints `CudaKernel.time` per
kernel (ms per launch, CUDA events; informative only).

The artifacts (built for sm_90: H100/H200) were made on a machine without a GPU with

    PYTHONPATH=. python3 benchmarks/gpu_smoke_loader.py --build benchmarks/artifacts/smoke [--arch sm_90]

from the CUDA sources below:
- vadd: C = A + alpha * B (float32, n = 1000003, 256 threads a block); its C
  parameter order (A, B, C, n, alpha) differs from the user's (A, B, alpha, C), so
  `launch_args` is exercised;
- transpose: B = A.T through a 128x129 float tile of dynamic shared memory (66048
  bytes, over the 48 KiB default, so the loader must raise the kernel's
  max-dynamic-shared-memory attribute); m = 1000, n = 700 (not multiples of 128);
- scale_bf16: B = 3 * A in bfloat16 with the `__nv_bfloat16` operators (NumPy via
  ml_dtypes, torch bfloat16 tensors).
"""

from __future__ import annotations

import argparse
import sys
import traceback
from pathlib import Path
from typing import Any, Callable

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from compiler.errors import KernelError  # noqa: E402
from compiler.runtime.cuda import load, make_backend, np_dtype, write_artifact  # noqa: E402

VADD = r"""
extern "C" __global__ void __launch_bounds__(256)
vadd_kernel(const float* __restrict__ A, const float* __restrict__ B, float* __restrict__ C, int n, float alpha) {
  int i = blockIdx.x * 256 + threadIdx.x;
  if (i < n) C[i] = A[i] + alpha * B[i];
}
"""

TRANSPOSE = r"""
#define TILE 128
extern "C" __global__ void __launch_bounds__(256)
transpose_kernel(const float* __restrict__ A, float* __restrict__ B, int m, int n) {
  extern __shared__ float tile[];            // TILE x (TILE + 1) floats
  int col0 = blockIdx.x * TILE, row0 = blockIdx.y * TILE;
  for (int r = threadIdx.y; r < TILE; r += 8)
    for (int c = threadIdx.x; c < TILE; c += 32) {
      int i = row0 + r, j = col0 + c;
      if (i < m && j < n) tile[r * (TILE + 1) + c] = A[(size_t)i * n + j];
    }
  __syncthreads();
  for (int r = threadIdx.y; r < TILE; r += 8)
    for (int c = threadIdx.x; c < TILE; c += 32) {
      int i = col0 + r, j = row0 + c;        // B[i][j] = A[j][i]
      if (i < n && j < m) B[(size_t)i * m + j] = tile[c * (TILE + 1) + r];
    }
}
"""

SCALE_BF16 = r"""
#include <cuda_bf16.h>
extern "C" __global__ void __launch_bounds__(128)
scale_bf16_kernel(const __nv_bfloat16* __restrict__ A, __nv_bfloat16* __restrict__ B, int n) {
  int i = blockIdx.x * 128 + threadIdx.x;
  if (i < n) B[i] = A[i] * __float2bfloat16(2.0f) + A[i];
}
"""

KERNELS: dict[str, tuple[str, dict[str, Any]]] = {
    "vadd": (VADD, {
        "entry": "vadd_kernel", "grid": [{"ceildiv": ["n", 256]}, 1, 1], "block": [256, 1, 1],
        "params": [{"name": "A", "kind": "tensor", "dtype": "float32", "shape": ["n"]},
                   {"name": "B", "kind": "tensor", "dtype": "float32", "shape": ["n"]},
                   {"name": "alpha", "kind": "scalar", "dtype": "float32"},
                   {"name": "C", "kind": "tensor", "dtype": "float32", "shape": ["n"]}],
        "launch_args": [{"param": "A"}, {"param": "B"}, {"param": "C"}, {"var": "n", "dtype": "int32"},
                        {"param": "alpha"}],
        "out_idx": [3]}),
    "transpose": (TRANSPOSE, {
        "entry": "transpose_kernel", "grid": [{"ceildiv": ["n", 128]}, {"ceildiv": ["m", 128]}, 1],
        "block": [32, 8, 1], "dynamic_smem_bytes": 128 * 129 * 4,
        "params": [{"name": "A", "kind": "tensor", "dtype": "float32", "shape": ["m", "n"]},
                   {"name": "B", "kind": "tensor", "dtype": "float32", "shape": ["n", "m"]}],
        "launch_args": [{"param": "A"}, {"param": "B"}, {"var": "m", "dtype": "int32"},
                        {"var": "n", "dtype": "int32"}],
        "out_idx": [1]}),
    "scale_bf16": (SCALE_BF16, {
        "entry": "scale_bf16_kernel", "grid": [{"ceildiv": ["n", 128]}, 1, 1], "block": [128, 1, 1],
        "params": [{"name": "A", "kind": "tensor", "dtype": "bfloat16", "shape": ["n"]},
                   {"name": "B", "kind": "tensor", "dtype": "bfloat16", "shape": ["n"]}],
        "launch_args": [{"param": "A"}, {"param": "B"}, {"var": "n", "dtype": "int32"}],
        "out_idx": [1]}),
}


def build(directory: Path, arch: str) -> None:
    from compiler.cuda_toolchain import compile_cubin

    for name, (source, meta) in KERNELS.items():
        result = compile_cubin(source, arch)
        res = result.resources(meta["entry"])
        path = write_artifact(directory, name, result.cubin, {**meta, "arch": arch, "resources": res})
        print(f"{path}: {len(result.cubin)} bytes cubin, {res.registers} registers, {res.shared_bytes} bytes static "
              f"smem, {meta.get('dynamic_smem_bytes', 0)} bytes dynamic smem, nvcc {result.seconds:.2f} s")


# Inputs (NumPy, in the user's parameter order without the outputs) and the expected outputs.
def case(name: str, rng: np.random.Generator) -> tuple[list[Any], list[np.ndarray]] | None:
    if name == "vadd":
        a, b = (rng.standard_normal(1000003).astype(np.float32) for _ in range(2))
        alpha = 0.5
        return [a, b, alpha], [a + np.float32(alpha) * b]
    if name == "transpose":
        a = rng.standard_normal((1000, 700)).astype(np.float32)
        return [a], [np.ascontiguousarray(a.T)]
    if name == "scale_bf16":
        try:
            bf16 = np_dtype("bfloat16")
        except KernelError:
            return None
        a = rng.standard_normal(4099).astype(np.float32).astype(bf16)
        return [a], [(a.astype(np.float32) * 3).astype(bf16)]
    return None


def compare(label: str, got: Any, want: np.ndarray) -> bool:
    got64, want64 = np.asarray(got).astype(np.float64), want.astype(np.float64)
    ok = got64.shape == want64.shape and bool(np.array_equal(got64, want64))
    err = float(np.max(np.abs(got64 - want64))) if ok or got64.shape == want64.shape else float("nan")
    print(f"  {'ok      ' if ok else 'MISMATCH'} {label}: max abs error {err:.3g}")
    return ok


def to_torch(x: Any, torch: Any) -> Any:
    if isinstance(x, np.ndarray):
        if x.dtype.name == "bfloat16":
            return torch.from_numpy(x.view(np.int16)).view(torch.bfloat16).cuda()
        return torch.from_numpy(x).cuda()
    return x


def from_torch(t: Any, torch: Any) -> np.ndarray:
    if t.dtype == torch.bfloat16:
        return t.cpu().view(torch.int16).numpy().view(np_dtype("bfloat16"))
    return t.cpu().numpy()


def run(directory: Path) -> int:
    artifacts = sorted(directory.glob("*.json"))
    if not artifacts:
        print(f"no artifacts (*.json) in {directory}")
        return 2
    backends = []
    for name in ("cupy", "cuda-python", "libcuda"):
        try:
            make_backend(name)
            backends.append(name)
        except KernelError as err:
            print(f"backend {name}: not available ({str(err).split(' (')[-1].rstrip(')')})")
    if not backends:
        return 2
    libs: dict[str, Any] = {}
    for lib in ("torch", "cupy"):
        try:
            libs[lib] = __import__(lib)
        except ImportError:
            print(f"{lib}: not installed, its zero-copy path is not checked")
    if "torch" in libs and not libs["torch"].cuda.is_available():
        del libs["torch"]
    ok = True
    rng = np.random.default_rng(0)
    for path in artifacts:
        for backend in backends:
            kernel = load(path, backend=backend)
            print(f"{kernel} via {backend}")
            made = case(kernel.name, rng)
            if made is None:
                print("  skipped (no reference, or ml_dtypes missing)")
                continue
            inputs, expected = made
            checks: list[tuple[str, Callable[[], list[Any]]]] = []
            outs_np = [np.zeros_like(e) for e in expected]

            def all_arrays(inputs: list[Any] = inputs, outs: list[np.ndarray] = outs_np) -> list[Any]:
                kernel(*inputs, *outs)
                return outs
            checks.append(("numpy, outputs allocated", lambda: _as_list(kernel(*inputs))))
            checks.append(("numpy, all arrays in place", all_arrays))
            if "torch" in libs:
                torch = libs["torch"]
                checks.append(("torch CUDA tensors", lambda: [from_torch(t, torch) for t in _as_list(
                    kernel(*[to_torch(x, torch) for x in inputs]))]))
            if "cupy" in libs and all(getattr(x, "dtype", np.dtype("f4")).name != "bfloat16" for x in inputs):
                cp = libs["cupy"]
                checks.append(("cupy arrays", lambda: [cp.asnumpy(c) for c in _as_list(
                    kernel(*[cp.asarray(x) if isinstance(x, np.ndarray) else x for x in inputs]))]))
            for label, fn in checks:
                try:
                    got = fn()
                except Exception as err:  # noqa: BLE001 - report and go on to the next check
                    print(f"  FAILED   {label}: {type(err).__name__}: {err}")
                    traceback.print_exc(limit=3)
                    ok = False
                    continue
                for g, e in zip(got, expected):
                    ok &= compare(label, g, e)
            try:
                print(f"  time: {kernel.time(*inputs, warmup=10, iters=100):.4f} ms per launch (numpy inputs)")
            except Exception as err:  # noqa: BLE001
                print(f"  FAILED   time: {type(err).__name__}: {err}")
                ok = False
    print("all checks passed" if ok else "SOME CHECKS FAILED")
    return 0 if ok else 1


def _as_list(x: Any) -> list[Any]:
    return list(x) if isinstance(x, list) else [x]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("directory", type=Path)
    p.add_argument("--build", action="store_true", help="compile the artifacts into DIRECTORY (needs nvcc)")
    p.add_argument("--arch", default="sm_90")
    args = p.parse_args(argv)
    if args.build:
        build(args.directory, args.arch)
        return 0
    return run(args.directory)


if __name__ == "__main__":
    sys.exit(main())
