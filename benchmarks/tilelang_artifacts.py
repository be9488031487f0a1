"""TileLang's own kernels as tilec CUDA artifacts, for benchmarks/gpu_speed.py (the comparison baseline).

Run here (CPU only: TileLang 0.1.15 lowers without a GPU, our nvcc wrapper compiles):

    PYTHONPATH=/work/main /work/tl-venv/bin/python benchmarks/tilelang_artifacts.py [--out build/tl_artifacts]
        [--only SUBSTRING ...] [--jobs N] [--keep-source]

then carry the output directory to the GPU machine and run benchmarks/gpu_speed.py --tilelang DIR there.

For every kernel below the script writes the kernel in TileLang (our own text of the usual GEMM,
FlashAttention-forward, softmax and RMSNorm tile programs), lowers it with `tilelang.lower` inside an explicit
CUDA target (no GPU needed), takes the device module's CUDA source, compiles it with our
`compiler.cuda_toolchain.compile_cubin` and writes `<name>.cubin` + `<name>.json` with
`compiler.runtime.cuda.write_artifact`, plus `index.json` (the benchmark index that gpu_speed.py reads; its
format is documented there). Nothing here imports TVM through the repository: TVM comes with TileLang.

What is taken from TileLang's lowering, per kernel:
  - the entry symbol: the device PrimFunc's `global_symbol` (`main_kernel`, declared `extern "C"`);
  - grid and block: its `thread_extent` attribute (blockIdx.x/y/z, threadIdx.x/y/z);
  - dynamic shared memory: its `dyn_shared_memory_buf` attribute (bytes);
  - launch_args: the kernel's C parameter list, read from the `__global__` signature in the source (TileLang
    orders the parameters by name, e.g. FlashAttention's is (K, O, Q, V), not the call order);
  - tensor maps: on sm_90a TileLang's default pipeline turns global<->shared copies into TMA. Those kernels take
    `__grid_constant__ const CUtensorMap X_desc` parameters, which the host must encode with
    cuTensorMapEncodeTiled. The encode arguments are the host function's `tma_descriptor_args` attribute;
    they are written into the artifact JSON as an extra key `"tensor_maps"` (read_artifact ignores unknown
    keys), and the launch argument at that position names the tensor the map describes. A launcher without
    tensor-map support must not launch such an artifact (compiler.runtime.cuda.load() alone would pass a
    pointer where a 128-byte descriptor is expected); gpu_speed.py encodes the maps on the GPU machine.

nvcc flags: ours (compile_cubin's base flags: -O3, --expt-relaxed-constexpr, --expt-extended-lambda, the
-U__CUDA_NO_HALF*/BFLOAT16* set, -Xptxas -v) plus what TileLang 0.1.15's CUDA backend passes:
-std=c++20, -I<tilelang>/src (tl_templates), -I<tilelang>/3rdparty/cutlass/include, -lineinfo, and
--use_fast_math where the kernel's pass config sets TL_ENABLE_FAST_MATH (FlashAttention, as TileLang's example).

Arch: TileLang itself builds sm_90a on an H100/H200 (it appends "a" for compute capability >= 9). Its default
sm_90 lowering uses warp specialization (setmaxnreg), TMA and wgmma, which nvcc accepts only for sm_90a; an
sm_90 cubin needs TMA, warp specialization and WGMMA switched off (mma.sync + cp.async). The `tl_gemm4096_probe`
row records that (lowered for sm_90 with defaults, compiled for sm_90: expected to fail).

Kernels (fp16 data, fp32 accumulation; all layouts row-major):
  - GEMM C = A @ B, A (M,K), B (K,N) ("nn", the layout of TileLang's GEMM examples), M=N=K=4096 and 8192:
      ws     sm_90a 128x256x64, 3 stages, 256 threads, swizzle(10), C staged through shared memory, TileLang's
             default pipeline (TMA + warp specialization + wgmma; 384 threads at launch) - the fastest config in
             /work/shared/notes/gpu-anchors.md (96-100 % of cuBLAS on an H200);
      wgmma  the same tiles on sm_90a with TMA and warp specialization off (cp.async + wgmma; plain pointers);
      ws128  sm_90a 128x128x32, 3 stages, 128 threads (the quickstart config), TileLang's default pipeline;
      mma    sm_90 128x128x32, 3 stages, 128 threads, TMA/WS/WGMMA off (cp.async + mma.sync).
  - FlashAttention forward, Q/K/V/O (B,H,S,D) = (1,32,4096,128), non-causal, 128x128 tiles, 2 stages,
    256 threads, fast math: `ws` (sm_90a default pipeline) and `wgmma` (TMA/WS off).
  - softmax over rows, X (16384, 4096) -> Y, and RMSNorm Y = X * rsqrt(mean(X^2) + 1e-6) * W, X (16384, 4096),
    W (4096,): one row per block of 128 threads, the row held in registers (sm_90a).
"""

# No `from __future__ import annotations`: TileLang evaluates the kernels' T.Tensor annotations, which use
# the factories' local sizes.

import argparse
import json
import os
import re
import sys
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from compiler.cuda_toolchain import compile_cubin  # noqa: E402  (no TVM)
from compiler.runtime.cuda import read_artifact, write_artifact  # noqa: E402  (no TVM)

INDEX_FORMAT = "tilec-bench-index"
EPS = 1e-6
LOG2E = 1.4426950408889634


# ------------------------------------------------------------------------------------------ kernels
# Factories return a T.prim_func; `tilelang.language as T` is imported lazily (import tilelang takes ~2 s).

def gemm_kernel(M: int, N: int, K: int, bm: int, bn: int, bk: int, stages: int, threads: int,
                swizzle: bool, c_via_smem: bool, layout: str = "nn"):
    import tilelang.language as T

    f16, f32 = T.float16, T.float32
    b_shape = (K, N) if layout == "nn" else (N, K)
    b_tile = (bk, bn) if layout == "nn" else (bn, bk)

    @T.prim_func
    def main(A: T.Tensor((M, K), f16), B: T.Tensor(b_shape, f16), C: T.Tensor((M, N), f16)):
        with T.Kernel(T.ceildiv(N, bn), T.ceildiv(M, bm), threads=threads) as (bx, by):
            a_s = T.alloc_shared((bm, bk), f16)
            b_s = T.alloc_shared(b_tile, f16)
            acc = T.alloc_fragment((bm, bn), f32)
            if swizzle:
                T.use_swizzle(panel_size=10)
            T.clear(acc)
            for kk in T.Pipelined(T.ceildiv(K, bk), num_stages=stages):
                T.copy(A[by * bm, kk * bk], a_s)
                if layout == "nn":
                    T.copy(B[kk * bk, bx * bn], b_s)
                    T.gemm(a_s, b_s, acc)
                else:
                    T.copy(B[bx * bn, kk * bk], b_s)
                    T.gemm(a_s, b_s, acc, transpose_B=True)
            if c_via_smem:
                c_s = T.alloc_shared((bm, bn), f16)
                T.copy(acc, c_s)
                T.copy(c_s, C[by * bm, bx * bn])
            else:
                T.copy(acc, C[by * bm, bx * bn])

    return main


def flash_fwd_kernel(B: int, H: int, S: int, D: int, bm: int, bn: int, stages: int, threads: int):
    """Online-softmax attention: per (query tile, head, batch) block, stream key/value tiles, keep the running
    row max m and row sum l, rescale the output accumulator by exp2((m_old - m) * scale) each step."""
    import tilelang.language as T

    f16, f32 = T.float16, T.float32
    scale = LOG2E / D ** 0.5           # softmax(q.k / sqrt(D)) computed with exp2
    shape = (B, H, S, D)

    @T.prim_func
    def main(Q: T.Tensor(shape, f16), K: T.Tensor(shape, f16), V: T.Tensor(shape, f16), O: T.Tensor(shape, f16)):
        with T.Kernel(T.ceildiv(S, bm), H, B, threads=threads) as (bx, by, bz):
            q_s = T.alloc_shared((bm, D), f16)
            k_s = T.alloc_shared((bn, D), f16)
            v_s = T.alloc_shared((bn, D), f16)
            o_s = T.alloc_shared((bm, D), f16)
            scores = T.alloc_fragment((bm, bn), f32)
            probs = T.alloc_fragment((bm, bn), f16)
            out = T.alloc_fragment((bm, D), f32)
            row_max = T.alloc_fragment((bm,), f32)
            prev_max = T.alloc_fragment((bm,), f32)
            rescale = T.alloc_fragment((bm,), f32)
            row_sum = T.alloc_fragment((bm,), f32)
            tile_sum = T.alloc_fragment((bm,), f32)

            T.copy(Q[bz, by, bx * bm:(bx + 1) * bm, :], q_s)
            T.fill(out, 0)
            T.fill(row_sum, 0)
            T.fill(row_max, -T.infinity(f32))
            for t in T.Pipelined(T.ceildiv(S, bn), num_stages=stages):
                T.copy(K[bz, by, t * bn:(t + 1) * bn, :], k_s)
                T.clear(scores)
                T.gemm(q_s, k_s, scores, transpose_B=True, policy=T.GemmWarpPolicy.FullRow)
                T.copy(row_max, prev_max)
                T.reduce_max(scores, row_max, dim=1, clear=False)
                for i in T.Parallel(bm):
                    rescale[i] = T.exp2(prev_max[i] * scale - row_max[i] * scale)
                for i, j in T.Parallel(bm, bn):
                    scores[i, j] = T.exp2(scores[i, j] * scale - row_max[i] * scale)
                T.reduce_sum(scores, tile_sum, dim=1)
                for i in T.Parallel(bm):
                    row_sum[i] = row_sum[i] * rescale[i] + tile_sum[i]
                for i, j in T.Parallel(bm, D):
                    out[i, j] *= rescale[i]
                T.copy(scores, probs)
                T.copy(V[bz, by, t * bn:(t + 1) * bn, :], v_s)
                T.gemm(probs, v_s, out, policy=T.GemmWarpPolicy.FullRow)
            for i, j in T.Parallel(bm, D):
                out[i, j] /= row_sum[i]
            T.copy(out, o_s)
            T.copy(o_s, O[bz, by, bx * bm:(bx + 1) * bm, :])

    return main


def softmax_kernel(M: int, N: int, rows: int, threads: int):
    import tilelang.language as T

    f16, f32 = T.float16, T.float32

    @T.prim_func
    def main(X: T.Tensor((M, N), f16), Y: T.Tensor((M, N), f16)):
        with T.Kernel(T.ceildiv(M, rows), threads=threads) as bx:
            x = T.alloc_fragment((rows, N), f16)
            e = T.alloc_fragment((rows, N), f32)
            mx = T.alloc_fragment((rows,), f32)
            total = T.alloc_fragment((rows,), f32)
            T.copy(X[bx * rows, 0], x)
            for i, j in T.Parallel(rows, N):
                e[i, j] = T.Cast(f32, x[i, j])
            T.reduce_max(e, mx, dim=1)
            for i, j in T.Parallel(rows, N):
                e[i, j] = T.exp2((e[i, j] - mx[i]) * LOG2E)
            T.reduce_sum(e, total, dim=1)
            for i, j in T.Parallel(rows, N):
                x[i, j] = T.Cast(f16, e[i, j] / total[i])
            T.copy(x, Y[bx * rows, 0])

    return main


def rmsnorm_kernel(M: int, N: int, rows: int, threads: int, eps: float):
    import tilelang.language as T

    f16, f32 = T.float16, T.float32

    @T.prim_func
    def main(X: T.Tensor((M, N), f16), W: T.Tensor((N,), f16), Y: T.Tensor((M, N), f16)):
        with T.Kernel(T.ceildiv(M, rows), threads=threads) as bx:
            x = T.alloc_fragment((rows, N), f16)
            sq = T.alloc_fragment((rows, N), f32)
            inv = T.alloc_fragment((rows,), f32)
            T.copy(X[bx * rows, 0], x)
            for i, j in T.Parallel(rows, N):
                sq[i, j] = T.Cast(f32, x[i, j]) * T.Cast(f32, x[i, j])
            T.reduce_sum(sq, inv, dim=1)
            for i in T.Parallel(rows):
                inv[i] = T.rsqrt(inv[i] / N + eps)
            for i, j in T.Parallel(rows, N):
                x[i, j] = T.Cast(f16, T.Cast(f32, x[i, j]) * inv[i] * T.Cast(f32, W[j]))
            T.copy(x, Y[bx * rows, 0])

    return main


# ------------------------------------------------------------------------------------------- specs

@dataclass
class Spec:
    name: str
    arch: str                        # the nvcc arch (and the TileLang target's arch unless lower_arch is set)
    factory: Callable[[], Any]
    bench: dict[str, Any]            # the index entry (without "artifact")
    config: str                      # the human-readable tile config
    variant: str                     # how TileLang lowered it
    pass_configs: dict[str, Any] = field(default_factory=dict)
    fast_math: bool = False
    lower_arch: str | None = None
    expect_failure: bool = False     # a probe: the row documents a failure


def _cfg(tma: bool = True, ws: bool = True, wgmma: bool = True, fast_math: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if not tma:
        out["tl.disable_tma_lower"] = True
    if not ws:
        out["tl.disable_warp_specialized"] = True
    if not wgmma:
        out["tl.disable_wgmma"] = True
    if fast_math:
        out["tl.enable_fast_math"] = True
    return out


def specs() -> list[Spec]:
    out: list[Spec] = []
    for n in (4096, 8192):
        g = {"bench": "gemm", "M": n, "N": n, "K": n, "layout": "nn", "dtype": "float16"}
        big = "128x256x64 s3 t256 swizzle10 C-via-smem"
        small = "128x128x32 s3 t128"
        out.append(Spec(f"tl_gemm{n}_ws", "sm_90a",
                        lambda n=n: gemm_kernel(n, n, n, 128, 256, 64, 3, 256, True, True),
                        g, big, "default pipeline: TMA + warp specialization + wgmma"))
        out.append(Spec(f"tl_gemm{n}_wgmma", "sm_90a",
                        lambda n=n: gemm_kernel(n, n, n, 128, 256, 64, 3, 256, True, True),
                        g, big, "TMA and warp specialization off: cp.async + wgmma", _cfg(tma=False, ws=False)))
        out.append(Spec(f"tl_gemm{n}_ws128", "sm_90a",
                        lambda n=n: gemm_kernel(n, n, n, 128, 128, 32, 3, 128, False, False),
                        g, small, "default pipeline: TMA + warp specialization + wgmma"))
        out.append(Spec(f"tl_gemm{n}_mma", "sm_90",
                        lambda n=n: gemm_kernel(n, n, n, 128, 128, 32, 3, 128, False, False),
                        g, small, "TMA, warp specialization and WGMMA off: cp.async + mma.sync",
                        _cfg(tma=False, ws=False, wgmma=False)))
    out.append(Spec("tl_gemm4096_probe", "sm_90",
                    lambda: gemm_kernel(4096, 4096, 4096, 128, 256, 64, 3, 256, True, True),
                    {"bench": "gemm", "M": 4096, "N": 4096, "K": 4096, "layout": "nn", "dtype": "float16"},
                    "128x256x64 s3 t256 swizzle10 C-via-smem",
                    "probe: default pipeline lowered for sm_90, compiled for sm_90", expect_failure=True))
    B, H, S, D = 1, 32, 4096, 128
    fa = {"bench": "attention", "B": B, "H": H, "S": S, "D": D, "causal": False, "layout": "bhsd",
          "dtype": "float16"}
    fa_cfg = "128x128 s2 t256 fast-math"
    out.append(Spec("tl_fa_ws", "sm_90a", lambda: flash_fwd_kernel(B, H, S, D, 128, 128, 2, 256), fa, fa_cfg,
                    "default pipeline: TMA + warp specialization + wgmma", _cfg(fast_math=True), fast_math=True))
    out.append(Spec("tl_fa_wgmma", "sm_90a", lambda: flash_fwd_kernel(B, H, S, D, 128, 128, 2, 256), fa, fa_cfg,
                    "TMA and warp specialization off: cp.async + wgmma",
                    _cfg(tma=False, ws=False, fast_math=True), fast_math=True))
    M, N = 16384, 4096
    out.append(Spec("tl_softmax", "sm_90a", lambda: softmax_kernel(M, N, 1, 128),
                    {"bench": "softmax", "M": M, "N": N, "dtype": "float16"}, "1 row/block, t128",
                    "default pipeline"))
    out.append(Spec("tl_rmsnorm", "sm_90a", lambda: rmsnorm_kernel(M, N, 1, 128, EPS),
                    {"bench": "rmsnorm", "M": M, "N": N, "eps": EPS, "weight": True, "dtype": "float16"},
                    "1 row/block, t128", "default pipeline"))
    return out


# ---------------------------------------------------------------------------------------- lowering

@dataclass
class Lowered:
    source: str
    entry: str
    grid: list[int]
    block: list[int]
    smem: int
    params: list[dict[str, Any]]
    launch_args: list[dict[str, str]]
    tensor_maps: list[dict[str, Any]]
    seconds: float


_SIGNATURE = re.compile(r'extern\s+"C"\s+__global__\s+void\s+(?:__launch_bounds__\([^)]*\)\s+)?'
                        r'(\w+)\s*\(([^)]*)\)\s*\{')


def kernel_signature(source: str, entry: str) -> list[tuple[str, str]]:
    """(C type, name) of each parameter of the `extern "C"` kernel `entry`, from its definition."""
    for m in _SIGNATURE.finditer(source):
        if m.group(1) == entry:
            out = []
            for piece in filter(None, (p.strip() for p in m.group(2).split(","))):
                pm = re.fullmatch(r"(.*?)(\w+)", piece, re.S)
                if not pm:
                    raise ValueError(f"cannot read kernel parameter '{piece}'")
                out.append((" ".join(pm.group(1).split()), pm.group(2)))
            return out
    raise ValueError(f"no extern \"C\" __global__ definition of '{entry}' in the CUDA source")


def _py(v: Any) -> Any:
    """A TVM FFI value of a TMA descriptor argument as int / str."""
    if isinstance(getattr(v, "value", None), (int, str)):      # IntImm, StringImm
        return v.value
    if hasattr(v, "name") and isinstance(v.name, str):
        return v.name
    if isinstance(v, (int, str)):
        return v
    text = str(v).strip('"')
    try:
        return int(text)
    except ValueError:
        return text


def _tensor_maps(host_mod: Any) -> dict[str, dict[str, Any]]:
    """{descriptor parameter name: cuTensorMapEncodeTiled arguments} from the host functions'
    `tma_descriptor_args` attribute: [fn, desc, dtype, rank, tensor, dims*rank, strides_bytes*rank (the first
    is the element size, not passed to the driver), box*rank, element_strides*rank, interleave, swizzle,
    l2_promotion, oob_fill]."""
    out: dict[str, dict[str, Any]] = {}
    for _, func in host_mod.functions.items():
        attrs = getattr(func, "attrs", None)
        if not attrs or "tma_descriptor_args" not in attrs:
            continue
        for desc, args in attrs["tma_descriptor_args"].items():
            vals = [_py(a) for a in args]
            kind, _, dtype, rank, tensor, *rest = vals
            if kind != "__tvm_tensormap_create_tiled":
                raise ValueError(f"TMA descriptor {_py(desc)}: {kind} is not supported (only tiled maps)")
            if len(rest) != 4 * rank + 4 or not all(isinstance(v, int) for v in rest):
                raise ValueError(f"TMA descriptor {_py(desc)}: non-constant or malformed arguments {vals}")
            out[str(_py(desc))] = {
                "param": str(tensor), "data_type": int(dtype), "rank": int(rank),
                "global_dim": rest[0:rank], "global_strides": rest[rank + 1:2 * rank],
                "box_dim": rest[2 * rank:3 * rank], "element_strides": rest[3 * rank:4 * rank],
                "interleave": rest[4 * rank], "swizzle": rest[4 * rank + 1], "l2_promotion": rest[4 * rank + 2],
                "oob_fill": rest[4 * rank + 3]}
    return out


def lower(spec: Spec) -> Lowered:
    import tilelang
    from tilelang import tvm

    t0 = time.perf_counter()
    func = spec.factory()
    arch = spec.lower_arch or spec.arch
    with tvm.transform.PassContext(config=spec.pass_configs), \
            tvm.target.Target({"kind": "cuda", "arch": arch}) as target:
        art = tilelang.lower(func, target=target)
    seconds = time.perf_counter() - t0
    device = [(gv, f) for gv, f in art.device_mod.functions.items() if f.attrs and "thread_extent" in f.attrs]
    if len(device) != 1:
        raise ValueError(f"expected one device kernel, lowering made {len(device)}")
    _, dev = device[0]
    attrs = dev.attrs
    entry = str(attrs["global_symbol"])
    ext = {str(k): int(v) for k, v in attrs["thread_extent"].items()}
    grid = [ext.get(f"blockIdx.{a}", 1) for a in "xyz"]
    block = [ext.get(f"threadIdx.{a}", 1) for a in "xyz"]
    smem = int(attrs["dyn_shared_memory_buf"]) if "dyn_shared_memory_buf" in attrs else 0
    if "cluster_dims" in attrs and any(int(c) != 1 for c in attrs["cluster_dims"]):
        raise ValueError(f"cluster launch {list(attrs['cluster_dims'])} is not supported by the loader")
    for flag in ("use_cooperative_groups", "has_cuda_pdl_sync"):
        if flag in attrs and bool(attrs[flag]):
            raise ValueError(f"the kernel needs {flag}, which the loader does not do")

    params = []
    for p in func.params:
        buf = func.buffer_map[p]
        params.append({"name": str(buf.name), "kind": "tensor", "dtype": str(buf.dtype),
                       "shape": [int(d) for d in buf.shape]})
    names = {p["name"] for p in params}
    maps = _tensor_maps(art.host_mod)
    launch_args: list[dict[str, str]] = []
    tensor_maps: list[dict[str, Any]] = []
    for ctype, cname in kernel_signature(art.kernel_source, entry):
        if "CUtensorMap" in ctype:
            if cname not in maps:
                raise ValueError(f"kernel parameter {cname} is a CUtensorMap without tma_descriptor_args")
            tm = dict(maps[cname])
            if tm["param"] not in names:
                raise ValueError(f"tensor map {cname} describes '{tm['param']}', not a parameter")
            tensor_maps.append({"launch_arg": len(launch_args), "c_name": cname, **tm})
            launch_args.append({"param": tm["param"]})
        elif "*" in ctype and cname in names:
            launch_args.append({"param": cname})
        else:
            raise ValueError(f"kernel parameter '{ctype} {cname}' is neither a tensor pointer nor a tensor map")
    return Lowered(art.kernel_source, entry, grid, block, smem, params, launch_args, tensor_maps, seconds)


def nvcc_flags() -> list[str]:
    from tilelang.env import CUTLASS_INCLUDE_DIR, TILELANG_TEMPLATE_PATH

    return ["-std=c++20", f"-I{TILELANG_TEMPLATE_PATH}", f"-I{CUTLASS_INCLUDE_DIR}", "-lineinfo"]


# ------------------------------------------------------------------------------------------- build

@dataclass
class Row:
    spec: Spec
    ok: bool = False
    lowered: Lowered | None = None
    resources: Any = None
    nvcc_s: float = 0.0
    error: str = ""


def compile_and_write(spec: Spec, low: Lowered, out: Path, flags: list[str], keep_source: bool) -> Row:
    row = Row(spec, lowered=low)
    if keep_source:
        (out / "src").mkdir(parents=True, exist_ok=True)
        (out / "src" / f"{spec.name}.cu").write_text(low.source)
    try:
        result = compile_cubin(low.source, spec.arch, extra_flags=flags, fast_math=spec.fast_math, name=spec.name)
    except Exception as err:  # noqa: BLE001 - one row per kernel, whatever fails
        row.error = f"{type(err).__name__}: {' '.join(str(err).split())[:400]}"
        return row
    row.nvcc_s = result.seconds
    res = result.resources(low.entry)
    row.resources = res
    meta = {"entry": low.entry, "arch": spec.arch, "grid": low.grid, "block": low.block,
            "dynamic_smem_bytes": low.smem, "params": low.params, "launch_args": low.launch_args,
            "out_idx": [len(low.params) - 1], "resources": res}
    path = write_artifact(out, spec.name, result.cubin, meta)
    doc = json.loads(path.read_text())
    doc["producer"] = {"tool": "TileLang 0.1.15 via benchmarks/tilelang_artifacts.py", "variant": spec.variant,
                       "config": spec.config, "pass_configs": spec.pass_configs,
                       "nvcc_flags": result.command[1:-3]}
    if low.tensor_maps:
        doc["tensor_maps"] = low.tensor_maps
    path.write_text(compact_json(doc))
    read_artifact(path)                       # the loader accepts it
    row.ok = True
    return row


def compact_json(doc: dict[str, Any]) -> str:
    """One line per top-level key, one line per element of a list of objects."""
    lines = []
    for key, value in doc.items():
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            text = "[\n    " + ",\n    ".join(json.dumps(v) for v in value) + "\n  ]"
        else:
            text = json.dumps(value)
        lines.append(f"  {json.dumps(key)}: {text}")
    return "{\n" + ",\n".join(lines) + "\n}\n"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=ROOT / "build" / "tl_artifacts")
    p.add_argument("--only", nargs="*", help="build only the kernels whose name contains one of these")
    p.add_argument("--jobs", type=int, default=max(1, min(4, os.cpu_count() or 1)), help="parallel nvcc runs")
    p.add_argument("--keep-source", action="store_true", help="also write the CUDA source to OUT/src/<name>.cu")
    args = p.parse_args()
    start = time.time()
    import tilelang  # noqa: F401  (version check below)

    version = getattr(tilelang, "__version__", "?")
    chosen = [s for s in specs() if not args.only or any(o in s.name for o in args.only)]
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    if not args.only:                         # a full build replaces the previous one
        for stale in list(out.glob("tl_*.json")) + list(out.glob("tl_*.cubin")):
            stale.unlink()
    flags = nvcc_flags()
    rows: list[Row] = []
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = []
        for spec in chosen:                   # lowering runs here (TVM, one at a time); nvcc in the pool
            try:
                low = lower(spec)
            except Exception as err:  # noqa: BLE001
                rows.append(Row(spec, error=f"lowering: {type(err).__name__}: {' '.join(str(err).split())[:400]}"))
                if os.environ.get("TL_ARTIFACTS_TRACE"):
                    traceback.print_exc()
                continue
            futures.append(pool.submit(compile_and_write, spec, low, out, flags, args.keep_source))
        rows += [f.result() for f in futures]
    order = {s.name: k for k, s in enumerate(chosen)}
    rows.sort(key=lambda r: order[r.spec.name])

    index_path = out / "index.json"
    entries = []
    if args.only and index_path.is_file():    # keep the entries of kernels not rebuilt now
        old = json.loads(index_path.read_text()).get("kernels", [])
        entries = [e for e in old if e.get("artifact") not in order and (out / f"{e['artifact']}.json").is_file()]
    for r in rows:
        if r.ok and not r.spec.expect_failure:
            entries.append({**r.spec.bench, "artifact": r.spec.name, "arch": r.spec.arch, "config": r.spec.config,
                            "variant": r.spec.variant, "tensor_maps": bool(r.lowered and r.lowered.tensor_maps)})
    index = {"format": INDEX_FORMAT, "version": 1, "producer": f"TileLang {version} (benchmarks/tilelang_artifacts.py)",
             "kernels": entries}
    index_path.write_text(compact_json(index))

    print(f"TileLang {version}; artifacts in {out}")
    print("| kernel | arch | variant | config | grid | block | dyn smem (B) | regs | static smem (B) | "
          "spill st/ld (B) | TMA maps | lower s | nvcc s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    failed = 0
    for r in rows:
        s, low = r.spec, r.lowered
        if not r.ok:
            verdict = "expected: " if s.expect_failure else ""
            failed += not s.expect_failure
            where = f"{tuple(low.grid)} | {tuple(low.block)} | {low.smem}" if low else "– | – | –"
            print(f"| {s.name} | {s.arch} | {s.variant} | {s.config} | {where} | {verdict}FAILED: {r.error[:200]} "
                  f"| | | | {low.seconds if low else 0:.1f} | |")
            continue
        res = r.resources
        maps = ", ".join(t["c_name"] for t in low.tensor_maps) or "–"
        print(f"| {s.name} | {s.arch} | {s.variant} | {s.config} | {tuple(low.grid)} | {tuple(low.block)} | "
              f"{low.smem} | {res.registers} | {res.shared_bytes} | {res.spill_store_bytes}/{res.spill_load_bytes} | "
              f"{maps} | {low.seconds:.1f} | {r.nvcc_s:.1f} |")
        if s.expect_failure:
            print(f"  (probe {s.name} compiled although a failure was expected)")
    print(f"{len(entries)} artifacts indexed in {index_path}; {failed} unexpected failures; "
          f"{time.time() - start:.1f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
