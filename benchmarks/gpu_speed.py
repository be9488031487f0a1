"""GPU speed: prebuilt kernel artifacts (ours and TileLang's) against PyTorch, on one GPU, in one process.

Runs on the GPU machine (python3 with torch and numpy; CuPy or cuda-python optional; no TVM, no TileLang),
from the repository root:

    PYTHONPATH=. python3 benchmarks/gpu_speed.py [--ours DIR] [--tilelang DIR] [--markdown FILE] [--json FILE]
        [--warmup 10] [--iters 50] [--no-flush] [--backend libcuda|cuda-python|cupy] [--only SUBSTRING ...]
    python3 benchmarks/gpu_speed.py --tilelang DIR --ours DIR --list     # read the indices, print the plan (no GPU)

Exit status 0 when every artifact row passed its check, 1 otherwise. Either directory may be left out or
missing; without both only the PyTorch references are measured. Build the TileLang side here with
benchmarks/tilelang_artifacts.py (output build/tl_artifacts).

Benchmark index: each artifact directory holds `index.json`, which says which artifact is which benchmark:

    {"format": "tilec-bench-index", "version": 1, "producer": "<free text>",
     "kernels": [
       {"bench": "gemm", "artifact": "<name>", "M": 4096, "N": 4096, "K": 4096, "layout": "nn", "dtype": "float16"},
       {"bench": "attention", "artifact": "<name>", "B": 1, "H": 32, "S": 4096, "D": 128, "causal": false,
        "layout": "bhsd", "dtype": "float16"},
       {"bench": "softmax", "artifact": "<name>", "M": 16384, "N": 4096, "dtype": "float16"},
       {"bench": "rmsnorm", "artifact": "<name>", "M": 16384, "N": 4096, "eps": 1e-6, "weight": true,
        "dtype": "float16"}
     ]}

(a bare list of the kernel entries is accepted too). `artifact` names `<DIR>/<artifact>.json` (the format of
compiler/runtime/cuda.py). Optional keys: "config", "variant", "arch" (shown in the table), "label" (the row's
name, default the artifact name), "args" (below). Only float16 is benchmarked.

The artifact's parameters must be, in order (or name the roles in that order with "args": [...]):
  gemm       A (M,K), B (K,N) for layout "nn" or B (N,K) for "nt", C (M,N)     C = A @ B (fp32 accumulate)
  attention  Q, K, V, O, each (B,H,S,D) ("bhsd", contiguous)                   O = softmax(Q K^T / sqrt(D)) V
  softmax    X (M,N), Y (M,N)                                                  Y = softmax(X, dim=-1)
  rmsnorm    X (M,N), W (N,), Y (M,N); with "weight": false just X, Y         Y = X * rsqrt(mean(X^2) + eps) * W
All arrays are passed (outputs preallocated), as torch CUDA tensors (zero-copy).

Launching. Each artifact is read and validated by compiler.runtime.cuda.load() and launched through its
backend (default libcuda: ctypes on the driver, no Python CUDA package needed) on the legacy default stream,
the stream torch uses, so torch's CUDA events time it. An artifact whose JSON has "tensor_maps" (TileLang's
sm_90a TMA kernels, see benchmarks/tilelang_artifacts.py) takes 128-byte CUtensorMap descriptors at those
launch-argument positions: they are encoded here with the driver's cuTensorMapEncodeTiled over the named
tensor, and such artifacts are launched with the libcuda or cuda-python backend (CuPy cannot pass a struct).

Measured per benchmark shape, in this order: the PyTorch reference(s), then TileLang's artifacts, then ours.
  gemm       torch.matmul (cuBLAS), fp16                      TFLOP/s = 2 M N K / time
  attention  F.scaled_dot_product_attention: default backend (the kernel the profiler sees is named), then
             forced FLASH_ATTENTION and CUDNN_ATTENTION       TFLOP/s = 4 B H S^2 D / time (halved if causal)
  softmax    torch.softmax(x, -1)                             GB/s = bytes read + written / time
  rmsnorm    F.rms_norm(x, (N,), w, eps)                      GB/s = (2 M N + N) * 2 B / time
  copy       dst.copy_(src), 1 GiB fp16, device to device     GB/s = 2 * 1 GiB / time (read + write)
Correctness: each artifact's output against the reference (cuBLAS's C; SDPA's default output; softmax and
rmsnorm computed in fp32 and rounded to fp16): max |out - ref|, pass if <= atol + rtol * max|ref|.
Timing: CUDA events around each call, after `--warmup` untimed calls; `--iters` timed calls, each preceded
by a 256 MiB memset that flushes L2 (`--no-flush` to keep L2 warm); the median is reported (and the min).
"% of torch" = the reference's median time / this row's median time (the first PyTorch row of the shape).

Never hangs silently: a watchdog (faulthandler, no GIL needed) ends the process after `--row-timeout` seconds
in one row, after printing the stack; the markdown file is rewritten after every row, so what finished is
kept. A CUDA error that breaks the context stops the run (later rows are listed as not run).
"""

from __future__ import annotations

import argparse
import ctypes
import datetime
import faulthandler
import json
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

INDEX_FORMAT = "tilec-bench-index"
SIZE_KEYS = {"gemm": ("M", "N", "K"), "attention": ("B", "H", "S", "D"), "softmax": ("M", "N"),
             "rmsnorm": ("M", "N")}
ROLES = {"gemm": ("A", "B", "C"), "attention": ("Q", "K", "V", "O"), "softmax": ("X", "Y"),
         "rmsnorm": ("X", "W", "Y")}
DEFAULT_SHAPES: list[dict[str, Any]] = [
    {"bench": "gemm", "M": 4096, "N": 4096, "K": 4096, "layout": "nn"},
    {"bench": "gemm", "M": 8192, "N": 8192, "K": 8192, "layout": "nn"},
    {"bench": "attention", "B": 1, "H": 32, "S": 4096, "D": 128, "causal": False},
    {"bench": "softmax", "M": 16384, "N": 4096},
    {"bench": "rmsnorm", "M": 16384, "N": 4096, "eps": 1e-6, "weight": True},
]
TOLERANCE = {"gemm": (0.0, 1e-2), "attention": (1e-2, 1e-2), "softmax": (1e-3, 1e-2), "rmsnorm": (1e-2, 1e-2)}
FLUSH_BYTES = 256 * 1024 * 1024
COPY_BYTES = 1024 ** 3
DEVICE = "cuda"


class IndexError_(ValueError):
    """A malformed benchmark index."""


# ---------------------------------------------------------------------------------------- the index

@dataclass
class Entry:
    source: str                 # "TileLang" | "tilec"
    directory: Path
    doc: dict[str, Any]

    @property
    def bench(self) -> str:
        return self.doc["bench"]

    @property
    def artifact(self) -> str:
        return self.doc["artifact"]

    @property
    def label(self) -> str:
        return self.doc.get("label") or self.artifact

    @property
    def json_path(self) -> Path:
        return self.directory / f"{self.artifact}.json"


def shape_key(doc: dict[str, Any]) -> tuple:
    """What makes two entries the same workload (they share inputs and PyTorch references)."""
    bench = doc["bench"]
    key: tuple = (bench, *(int(doc[k]) for k in SIZE_KEYS[bench]))
    if bench == "gemm":
        key += (doc.get("layout", "nn"),)
    elif bench == "attention":
        key += (bool(doc.get("causal", False)),)
    elif bench == "rmsnorm":
        key += (float(doc.get("eps", 1e-6)), bool(doc.get("weight", True)))
    return key


def read_index(directory: Path, source: str) -> list[Entry]:
    """The entries of `directory/index.json`; IndexError_ says what is wrong with it."""
    path = directory / "index.json"
    if not path.is_file():
        raise IndexError_(f"{path}: no benchmark index (see the top of benchmarks/gpu_speed.py)")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise IndexError_(f"{path}: not readable JSON ({err})") from None
    if isinstance(doc, dict):
        if doc.get("format", INDEX_FORMAT) != INDEX_FORMAT:
            raise IndexError_(f"{path}: format {doc.get('format')!r}, expected {INDEX_FORMAT!r}")
        kernels = doc.get("kernels")
    else:
        kernels = doc
    if not isinstance(kernels, list):
        raise IndexError_(f"{path}: expected a list of kernel entries (or {{\"kernels\": [...]}})")
    out = []
    for k, e in enumerate(kernels):
        where = f"{path}: kernels[{k}]"
        if not isinstance(e, dict):
            raise IndexError_(f"{where} is not an object")
        bench = e.get("bench")
        if bench not in SIZE_KEYS:
            raise IndexError_(f"{where}: bench {bench!r} is not one of {', '.join(SIZE_KEYS)}")
        if not isinstance(e.get("artifact"), str) or not e["artifact"]:
            raise IndexError_(f"{where}: needs \"artifact\" (the artifact's name)")
        for key in SIZE_KEYS[bench]:
            if not isinstance(e.get(key), int) or isinstance(e.get(key), bool) or e[key] <= 0:
                raise IndexError_(f"{where}: {bench} needs a positive int \"{key}\", got {e.get(key)!r}")
        if e.get("dtype", "float16") != "float16":
            raise IndexError_(f"{where}: dtype {e['dtype']!r}: only float16 is benchmarked")
        if bench == "gemm" and e.get("layout", "nn") not in ("nn", "nt"):
            raise IndexError_(f"{where}: layout {e['layout']!r} is not \"nn\" or \"nt\"")
        if bench == "attention" and e.get("layout", "bhsd") != "bhsd":
            raise IndexError_(f"{where}: attention layout {e['layout']!r}: only \"bhsd\" is supported")
        roles = e.get("args")
        if roles is not None:
            expected = expected_roles(e)
            if not isinstance(roles, list) or sorted(roles) != sorted(expected):
                raise IndexError_(f"{where}: \"args\" must order the roles {list(expected)}, got {roles!r}")
        entry = Entry(source, directory, e)
        if not entry.json_path.is_file():
            raise IndexError_(f"{where}: {entry.json_path} does not exist")
        out.append(entry)
    return out


def expected_roles(doc: dict[str, Any]) -> tuple[str, ...]:
    if doc["bench"] == "rmsnorm" and not doc.get("weight", True):
        return ("X", "Y")
    return ROLES[doc["bench"]]


def shape_text(doc: dict[str, Any]) -> str:
    b = doc["bench"]
    if b == "gemm":
        return f"{doc['M']}x{doc['N']}x{doc['K']} {doc.get('layout', 'nn')}"
    if b == "attention":
        return (f"B{doc['B']} H{doc['H']} S{doc['S']} D{doc['D']}"
                + (" causal" if doc.get("causal") else ""))
    if b == "copy":
        return f"{COPY_BYTES // 2**20} MiB"
    return f"{doc['M']}x{doc['N']}"


# ---------------------------------------------------------------------------------------- workloads

@dataclass
class Workload:
    """Inputs, preallocated output, reference output and PyTorch implementations of one benchmark shape."""

    doc: dict[str, Any]
    tensors: dict[str, Any]             # role -> tensor (inputs and the output)
    out_role: str
    ref: Any
    torch_impls: list[tuple[str, Callable[[], Any], Any]]   # (label, fn, context manager factory or None)
    work: float                         # flops or bytes per call
    unit: str                           # "TFLOP/s" | "GB/s"
    notes: dict[str, str] = field(default_factory=dict)

    def rate(self, ms: float) -> float:
        scale = 1e12 if self.unit == "TFLOP/s" else 1e9
        return self.work / (ms * 1e-3) / scale


def make_workload(doc: dict[str, Any]) -> Workload:
    import torch
    import torch.nn.functional as F

    torch.manual_seed(0)
    dev, f16 = DEVICE, torch.float16
    bench = doc["bench"]
    if bench == "gemm":
        M, N, K, layout = doc["M"], doc["N"], doc["K"], doc.get("layout", "nn")
        a = torch.randn(M, K, device=dev, dtype=f16)
        b = torch.randn(K, N, device=dev, dtype=f16) if layout == "nn" else torch.randn(N, K, device=dev, dtype=f16)
        bt = b if layout == "nn" else b.t()
        c_torch = torch.empty(M, N, device=dev, dtype=f16)
        ref = torch.matmul(a, bt)
        impl = ("torch.matmul (cuBLAS)", lambda: torch.matmul(a, bt, out=c_torch), None)
        return Workload(doc, {"A": a, "B": b, "C": torch.empty(M, N, device=dev, dtype=f16)}, "C", ref, [impl],
                        2.0 * M * N * K, "TFLOP/s")
    if bench == "attention":
        B, H, S, D, causal = doc["B"], doc["H"], doc["S"], doc["D"], bool(doc.get("causal", False))
        q, k, v = (torch.randn(B, H, S, D, device=dev, dtype=f16) for _ in range(3))
        ref = F.scaled_dot_product_attention(q, k, v, is_causal=causal)

        def sdpa() -> Any:
            return F.scaled_dot_product_attention(q, k, v, is_causal=causal)

        impls: list[tuple[str, Callable[[], Any], Any]] = [(f"torch SDPA default ({sdpa_kernel_name(sdpa)})",
                                                            sdpa, None)]
        try:
            from torch.nn.attention import SDPBackend, sdpa_kernel

            for name in ("FLASH_ATTENTION", "CUDNN_ATTENTION"):
                backend = getattr(SDPBackend, name)
                impls.append((f"torch SDPA {name}", sdpa, lambda backend=backend: sdpa_kernel([backend])))
        except ImportError:
            pass
        flops = 4.0 * B * H * S * S * D / (2 if causal else 1)
        return Workload(doc, {"Q": q, "K": k, "V": v, "O": torch.empty_like(q)}, "O", ref, impls, flops, "TFLOP/s")
    if bench == "softmax":
        M, N = doc["M"], doc["N"]
        x = torch.randn(M, N, device=dev, dtype=f16)
        ref = torch.softmax(x.float(), dim=-1).to(f16)
        impl = ("torch.softmax", lambda: torch.softmax(x, dim=-1), None)
        return Workload(doc, {"X": x, "Y": torch.empty_like(x)}, "Y", ref, [impl], 2.0 * M * N * 2, "GB/s")
    if bench == "rmsnorm":
        M, N, eps, weighted = doc["M"], doc["N"], float(doc.get("eps", 1e-6)), bool(doc.get("weight", True))
        x = torch.randn(M, N, device=dev, dtype=f16)
        w = (torch.rand(N, device=dev) + 0.5).to(f16) if weighted else None
        xf = x.float()
        ref = xf * torch.rsqrt(xf.pow(2).mean(dim=-1, keepdim=True) + eps)
        ref = (ref * w.float() if weighted else ref).to(f16)
        del xf
        impl = ("F.rms_norm", lambda: F.rms_norm(x, (N,), w, eps), None)
        tensors = {"X": x, "Y": torch.empty_like(x)}
        if weighted:
            tensors["W"] = w
        return Workload(doc, tensors, "Y", ref, [impl], (2.0 * M * N + (N if weighted else 0)) * 2, "GB/s")
    raise ValueError(f"unknown bench {bench}")


def sdpa_kernel_name(fn: Callable[[], Any]) -> str:
    """The name of the longest-running CUDA kernel of one call (which backend SDPA picked)."""
    try:
        import torch
        from torch.profiler import ProfilerActivity, profile

        fn()
        torch.cuda.synchronize()
        with profile(activities=[ProfilerActivity.CUDA]) as prof:
            fn()
            torch.cuda.synchronize()
        events = [e for e in prof.key_averages()
                  if (getattr(e, "device_time_total", None) or getattr(e, "cuda_time_total", 0) or 0) > 0]
        if not events:
            return "kernel not identified"
        top = max(events, key=lambda e: getattr(e, "device_time_total", None) or getattr(e, "cuda_time_total", 0))
        name = top.key
        return "kernel " + (name if len(name) <= 70 else name[:67] + "...")
    except Exception as err:  # noqa: BLE001 - informative only
        return f"kernel not identified: {type(err).__name__}"


# ------------------------------------------------------------------------------------------- timing

class Timer:
    def __init__(self, warmup: int, iters: int, flush: bool):
        import torch

        self.torch = torch
        self.warmup, self.iters = warmup, iters
        self.flush = torch.empty(FLUSH_BYTES, dtype=torch.uint8, device=DEVICE) if flush else None

    def __call__(self, fn: Callable[[], Any]) -> tuple[float, float]:
        """(median ms, min ms) of `fn`'s GPU time."""
        torch = self.torch
        for _ in range(self.warmup):
            fn()
        torch.cuda.synchronize()
        starts = [torch.cuda.Event(enable_timing=True) for _ in range(self.iters)]
        ends = [torch.cuda.Event(enable_timing=True) for _ in range(self.iters)]
        for s, e in zip(starts, ends):
            if self.flush is not None:
                self.flush.zero_()
            s.record()
            fn()
            e.record()
        torch.cuda.synchronize()
        times = [s.elapsed_time(e) for s, e in zip(starts, ends)]
        return statistics.median(times), min(times)


# ----------------------------------------------------------------------------------- artifact launch

_ENCODE: Any = None


def encode_tensor_map(tm: dict[str, Any], tensor: Any) -> np.void:
    """A CUtensorMap (128 bytes) for `tensor` from a "tensor_maps" record (cuTensorMapEncodeTiled)."""
    global _ENCODE
    if _ENCODE is None:
        try:
            lib = ctypes.CDLL("libcuda.so.1")
        except OSError:
            lib = ctypes.CDLL("libcuda.so")
        fn = lib.cuTensorMapEncodeTiled
        u32p, u64p = ctypes.POINTER(ctypes.c_uint32), ctypes.POINTER(ctypes.c_uint64)
        fn.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_uint32, ctypes.c_void_p, u64p, u64p, u32p, u32p,
                       ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int]
        fn.restype = ctypes.c_int
        _ENCODE = fn
    rank = int(tm["rank"])
    shape = [int(d) for d in tensor.shape]
    elem = tensor.element_size()
    if list(tm["global_dim"]) != shape[::-1]:
        raise ValueError(f"tensor map {tm.get('c_name')}: global_dim {tm['global_dim']} is not the shape "
                         f"{shape} innermost first")
    strides, step = [], elem
    for d in shape[::-1][:-1]:
        step *= d
        strides.append(step)
    if list(tm["global_strides"]) != strides or len(tm["global_strides"]) != rank - 1:
        raise ValueError(f"tensor map {tm.get('c_name')}: global_strides {tm['global_strides']} are not the "
                         f"contiguous strides {strides} of {shape}")
    storage = (ctypes.c_uint8 * 256)()
    addr = (ctypes.addressof(storage) + 127) & ~127      # CUtensorMap is 64/128-byte aligned
    dims = (ctypes.c_uint64 * rank)(*tm["global_dim"])
    gstr = (ctypes.c_uint64 * max(rank - 1, 1))(*tm["global_strides"])
    box = (ctypes.c_uint32 * rank)(*tm["box_dim"])
    estr = (ctypes.c_uint32 * rank)(*tm["element_strides"])
    rc = _ENCODE(addr, int(tm["data_type"]), rank, ctypes.c_void_p(int(tensor.data_ptr())), dims, gstr, box, estr,
                 int(tm["interleave"]), int(tm["swizzle"]), int(tm["l2_promotion"]), int(tm["oob_fill"]))
    if rc != 0:
        raise RuntimeError(f"cuTensorMapEncodeTiled failed for {tm.get('c_name')} (CUresult {rc}): {tm}")
    return np.frombuffer(ctypes.string_at(addr, 128), dtype="V128")[0]


def artifact_runner(entry: Entry, args: list[Any], backend: str | None) -> tuple[Callable[[], None], str]:
    """A callable that launches the artifact once on `args` (all arrays, in parameter order), and how."""
    from compiler.runtime.cuda import load, read_artifact

    art = read_artifact(entry.json_path)
    tensor_maps = art.meta.get("tensor_maps") or []
    if tensor_maps and backend not in ("libcuda", "cuda-python"):
        backend = "libcuda"
    kernel = load(entry.json_path, backend=backend)
    if len(args) != len(art.params):
        raise ValueError(f"{entry.artifact} has {len(art.params)} parameters "
                         f"({', '.join(p.name for p in art.params)}); the {entry.bench} benchmark passes {len(args)}")
    if not tensor_maps:
        prepare = getattr(kernel, "_prepare", None)
        if prepare is None:
            return (lambda: kernel(*args)), kernel.backend.name
        _, _, _, run = prepare(args)          # bind once; `run` only launches
        return run, kernel.backend.name
    launch = kernel.bind(*args)                # shapes, dtypes, grid, shared memory limits
    func = kernel._func()
    be = kernel.backend
    if launch.smem > 48 * 1024:
        be.set_max_dynamic_smem(func, launch.smem)
    maps = {int(tm["launch_arg"]): tm for tm in tensor_maps}
    index = {p.name: k for k, p in enumerate(art.params)}
    values: list[Any] = []
    for pos, spec in enumerate(art.launch_args):
        if "param" not in spec:
            raise ValueError(f"{entry.artifact}: launch argument {spec} (tensor-map artifacts take tensors only)")
        tensor = args[index[spec["param"]]]
        if pos in maps:
            if maps[pos].get("param") != spec["param"]:
                raise ValueError(f"{entry.artifact}: tensor map at argument {pos} describes "
                                 f"{maps[pos].get('param')}, the launch argument names {spec['param']}")
            values.append(encode_tensor_map(maps[pos], tensor))
        else:
            values.append(np.uint64(tensor.data_ptr()))

    def run() -> None:
        be.launch(func, launch.grid, launch.block, launch.smem, values)

    return run, f"{be.name}, {len(maps)} tensor maps"


# --------------------------------------------------------------------------------------------- rows

@dataclass
class Row:
    bench: str
    shape: str
    impl: str
    source: str
    arch: str = ""
    config: str = ""
    max_err: float | None = None
    check: str = ""
    median_ms: float | None = None
    min_ms: float | None = None
    rate: float | None = None
    unit: str = ""
    pct: float | None = None
    notes: str = ""


def fmt(v: float | None, spec: str) -> str:
    return "–" if v is None else format(v, spec)


def render(rows: list[Row], header: list[str]) -> str:
    lines = header + ["", "| bench | shape | implementation | source | arch | config | max abs err | check | "
                          "median ms | min ms | perf | % of torch | notes |",
                      "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        perf = f"{r.rate:.0f} {r.unit}" if r.rate is not None else "–"
        pct = f"{r.pct:.0f} %" if r.pct is not None else "–"
        lines.append(f"| {r.bench} | {r.shape} | {r.impl} | {r.source} | {r.arch or '–'} | {r.config or '–'} | "
                     f"{fmt(r.max_err, '.3g')} | {r.check or '–'} | {fmt(r.median_ms, '.4f')} | "
                     f"{fmt(r.min_ms, '.4f')} | {perf} | {pct} | {r.notes} |")
    return "\n".join(lines) + "\n"


def context_lost() -> bool:
    import torch

    try:
        torch.cuda.synchronize()
        torch.zeros(1, device=DEVICE).add_(1).item()
        return False
    except Exception:  # noqa: BLE001
        return True


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--ours", type=Path, help="artifact directory of our compiler's kernels (with index.json)")
    p.add_argument("--tilelang", type=Path, help="artifact directory from benchmarks/tilelang_artifacts.py")
    p.add_argument("--markdown", type=Path, help="write the table here (rewritten after every row)")
    p.add_argument("--json", type=Path, help="write the rows as JSON here")
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--iters", type=int, default=50)
    p.add_argument("--no-flush", action="store_true", help="do not flush L2 before each timed call")
    p.add_argument("--backend", choices=("libcuda", "cuda-python", "cupy"), default="libcuda",
                   help="the loader's launch backend (tensor-map artifacts use libcuda unless cuda-python)")
    p.add_argument("--only", nargs="*", help="artifacts whose name contains one of these (PyTorch rows always run)")
    p.add_argument("--no-torch-variants", action="store_true", help="skip the forced SDPA backends")
    p.add_argument("--row-timeout", type=float, default=60.0, help="seconds one row may take before the "
                   "process is ended (a hung kernel)")
    p.add_argument("--list", action="store_true", help="read the indices, print the plan and exit (no GPU)")
    args = p.parse_args(argv)

    entries: list[Entry] = []
    problems: list[str] = []
    for source, directory in (("TileLang", args.tilelang), ("tilec", args.ours)):
        if directory is None:
            continue
        if not directory.is_dir():
            problems.append(f"{source}: {directory} is not a directory; its rows are skipped")
            continue
        try:
            found = read_index(directory, source)
        except IndexError_ as err:
            problems.append(f"{source}: {err}; its rows are skipped")
            continue
        entries += [e for e in found if not args.only or any(o in e.artifact for o in args.only)]
    for msg in problems:
        print("warning:", msg, file=sys.stderr)

    shapes: dict[tuple, dict[str, Any]] = {}
    for doc in DEFAULT_SHAPES + [e.doc for e in entries]:
        shapes.setdefault(shape_key(doc), doc)
    plan = [(key, doc, [e for e in entries if shape_key(e.doc) == key]) for key, doc in shapes.items()]
    if args.list:
        for _, doc, es in plan:
            print(f"{doc['bench']} {shape_text(doc)}: torch" + "".join(f", {e.source}:{e.artifact}" for e in es))
        print(f"copy {shape_text({'bench': 'copy'})}: torch")
        return 0

    import torch

    if not torch.cuda.is_available():
        print("no CUDA device visible to torch", file=sys.stderr)
        return 2
    dev_name = torch.cuda.get_device_name(0)
    props = torch.cuda.get_device_properties(0)
    flush = not args.no_flush
    header = [
        "# GPU speed: prebuilt artifacts vs PyTorch",
        "",
        f"- GPU: {dev_name} ({props.multi_processor_count} SMs, compute capability {props.major}.{props.minor}, "
        f"{props.total_memory / 2**30:.0f} GiB); torch {torch.__version__} (CUDA {torch.version.cuda}); "
        f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC",
        f"- Method: CUDA events around each call on the default stream; {args.warmup} warm-up calls, then "
        f"{args.iters} timed calls, " + ("each after a 256 MiB memset that flushes L2" if flush else
                                         "L2 not flushed (back-to-back calls)") +
        "; median ms (min shown too); perf = work / median. Inputs: torch.randn fp16, seed 0.",
        f"- Artifacts: compiler/runtime/cuda.py load(), backend {args.backend} (tensor-map artifacts: "
        "descriptors encoded with cuTensorMapEncodeTiled here, libcuda launch); torch tensors passed zero-copy. "
        f"torch.backends.cuda.matmul.allow_fp16_reduced_precision_reduction = "
        f"{torch.backends.cuda.matmul.allow_fp16_reduced_precision_reduction}.",
        "- % of torch: the shape's first PyTorch row (cuBLAS / SDPA default / torch.softmax / F.rms_norm) "
        "median time over this row's.",
    ] + [f"- warning: {m}" for m in problems]

    rows: list[Row] = []
    results_json: list[dict[str, Any]] = []

    def emit(row: Row) -> None:
        rows.append(row)
        print(f"{row.bench:9s} {row.shape:26s} {row.impl[:60]:60s} {row.check or '':6s} "
              f"{fmt(row.median_ms, '.4f'):>9s} ms  {fmt(row.rate, '.0f'):>6s} {row.unit:7s} "
              f"{fmt(row.pct, '.0f'):>4s} %  {fmt(row.max_err, '.3g')} {row.notes}", flush=True)
        results_json.append(row.__dict__.copy())
        if args.markdown:
            args.markdown.write_text(render(rows, header))
        if args.json:
            args.json.write_text(json.dumps({"gpu": dev_name, "torch": torch.__version__, "rows": results_json},
                                            indent=1))

    def guarded(what: str) -> None:
        faulthandler.cancel_dump_traceback_later()
        faulthandler.dump_traceback_later(args.row_timeout, exit=True)
        print(f"... {what}", file=sys.stderr, flush=True)

    timer = Timer(args.warmup, args.iters, flush)
    lost: str | None = None
    start = time.time()
    for key, doc, group in plan:
        if lost:
            for e in group:
                emit(Row(doc["bench"], shape_text(doc), e.label, e.source, check="not run",
                         notes=f"CUDA context lost in {lost}"))
            continue
        bench, shape = doc["bench"], shape_text(doc)
        guarded(f"{bench} {shape}: inputs and PyTorch references")
        try:
            wl = make_workload(doc)
        except Exception as err:  # noqa: BLE001
            emit(Row(bench, shape, "(inputs / reference)", "torch", check="ERROR",
                     notes=f"{type(err).__name__}: {str(err)[:200]}"))
            continue
        ref_ms: float | None = None
        flash_ms: float | None = None
        for k, (label, fn, ctx) in enumerate(wl.torch_impls):
            if k and args.no_torch_variants:
                break
            guarded(f"{bench} {shape}: {label}")
            try:
                if ctx is None:
                    med, mn = timer(fn)
                else:
                    with ctx():
                        med, mn = timer(fn)
            except Exception as err:  # noqa: BLE001 - e.g. a forced SDPA backend that is unavailable
                emit(Row(bench, shape, label, "torch", check="ERROR", notes=f"{type(err).__name__}: "
                         f"{' '.join(str(err).split())[:160]}"))
                continue
            if k == 0:
                ref_ms = med
            if "FLASH" in label:
                flash_ms = med
            emit(Row(bench, shape, label, "torch", median_ms=med, min_ms=mn, rate=wl.rate(med), unit=wl.unit,
                     pct=100.0 * ref_ms / med if ref_ms else None))
        for e in group:
            row = Row(bench, shape, e.label, e.source, arch=e.doc.get("arch", ""),
                      config=" / ".join(x for x in (e.doc.get("config"), e.doc.get("variant")) if x))
            guarded(f"{bench} {shape}: {e.source} {e.artifact}")
            try:
                roles = e.doc.get("args") or list(expected_roles(e.doc))
                kargs = [wl.tensors[r] for r in roles]
                run, how = artifact_runner(e, kargs, args.backend)
                out = wl.tensors[wl.out_role]
                out.fill_(float("nan"))
                run()
                torch.cuda.synchronize()
                err = (out.float() - wl.ref.float()).abs().max().item()
                scale = wl.ref.float().abs().max().item()
                atol, rtol = TOLERANCE[bench]
                row.max_err = err
                row.check = "pass" if err <= atol + rtol * scale else "FAIL"
                med, mn = timer(run)
                row.median_ms, row.min_ms, row.rate, row.unit = med, mn, wl.rate(med), wl.unit
                row.pct = 100.0 * ref_ms / med if ref_ms else None
                notes = [how]
                if flash_ms:
                    notes.append(f"{100.0 * flash_ms / med:.0f} % of SDPA FLASH_ATTENTION")
                row.notes = "; ".join(notes)
            except Exception as err:  # noqa: BLE001 - a row per artifact, whatever fails
                row.check = "ERROR"
                row.notes = f"{type(err).__name__}: {' '.join(str(err).split())[:240]}"
                if context_lost():
                    lost = f"{e.source} {e.artifact}"
                    row.notes += " (CUDA context lost: later rows are not run)"
            emit(row)
            if lost:
                break
        if lost:
            for e in group[group.index(e) + 1:]:
                emit(Row(bench, shape, e.label, e.source, check="not run", notes=f"CUDA context lost in {lost}"))
        del wl
        torch.cuda.empty_cache()

    if not lost:
        guarded("device-to-device copy")
        try:
            src = torch.empty(COPY_BYTES // 2, dtype=torch.float16, device=DEVICE).normal_()
            dst = torch.empty_like(src)
            med, mn = timer(lambda: dst.copy_(src))
            emit(Row("copy", shape_text({"bench": "copy"}), "dst.copy_(src)", "torch", median_ms=med, min_ms=mn,
                     rate=2.0 * COPY_BYTES / (med * 1e-3) / 1e9, unit="GB/s",
                     notes="read + write; the bandwidth roof for softmax / rmsnorm"))
            del src, dst
        except Exception as err:  # noqa: BLE001
            emit(Row("copy", shape_text({"bench": "copy"}), "dst.copy_(src)", "torch", check="ERROR",
                     notes=f"{type(err).__name__}: {str(err)[:200]}"))
    faulthandler.cancel_dump_traceback_later()

    copy_rate = next((r.rate for r in rows if r.bench == "copy" and r.rate), None)
    if copy_rate:
        for r in rows:
            if r.unit == "GB/s" and r.bench != "copy" and r.rate:
                r.notes = "; ".join(x for x in (r.notes, f"{100.0 * r.rate / copy_rate:.0f} % of copy") if x)
    text = render(rows, header)
    print()
    print(text)
    if args.markdown:
        args.markdown.write_text(text)
    if args.json:
        args.json.write_text(json.dumps({"gpu": dev_name, "torch": torch.__version__,
                                         "rows": [r.__dict__ for r in rows]}, indent=1))
    bad = [r for r in rows if r.check in ("FAIL", "ERROR", "not run") and r.source != "torch"]
    print(f"({time.time() - start:.1f} s; {len(bad)} artifact rows failed)")
    return 1 if bad or lost else 0


if __name__ == "__main__":
    sys.exit(main())
