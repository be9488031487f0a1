"""The CUDA toolchain (compiler/cuda_toolchain.py) and the cubin loader (compiler/runtime/cuda.py).

Unconditional: ptxas -v logs captured from nvcc 13.0 (parsed as strings), nvcc's error
formats, line maps, timeouts (a fake nvcc that hangs), the artifact format and its
validation, and the loader's argument binding and marshaling through `FakeBackend`,
a launch backend whose device memory is NumPy bytes and whose `launch` plays the
kernel in Python: it tests what the loader passes (pointers, sizes, scalars, in
order, copied in and back), not a GPU. The tests marked `needs_nvcc` run the real
nvcc (no GPU needed); the launch on a GPU is benchmarks/gpu_smoke_loader.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from compiler.cuda_toolchain import (
    ARCHES, CudaCompileError, CudaToolchainError, PtxasResources, check_arch, compile_cubin, find_nvcc, map_line,
    parse_messages, parse_ptxas_log, ptx,
)
from compiler.errors import CompileError, KernelError
from compiler.runtime import cuda as rt
from compiler.runtime.cuda import ArtifactError, load, read_artifact, write_artifact

ROOT = Path(__file__).resolve().parents[2]
SMOKE = ROOT / "benchmarks" / "artifacts" / "smoke"
NVCC = find_nvcc()
needs_nvcc = pytest.mark.skipif(NVCC is None, reason="nvcc not found (PATH, $CUDA_HOME/bin, /usr/local/cuda/bin)")
NVCC_13_0 = NVCC is not None and "release 13.0" in subprocess.run(
    [NVCC, "--version"], capture_output=True, text=True).stdout
ELF = b"\x7fELF" + bytes(60)

# ------------------------------------------------------------------ ptxas -v logs captured from nvcc 13.0

# nvcc -cubin -arch=sm_80 -O3 -Xptxas -v on five kernels (a __constant__ and a __device__ array in the module)
LOG_SM80 = """\
ptxas info    : 4096 bytes gmem, 256 bytes cmem[3], 8 bytes cmem[4]
ptxas info    : Compiling entry function 'const_kernel' for 'sm_80'
ptxas info    : Function properties for const_kernel
    0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
ptxas info    : Used 10 registers, used 0 barriers, 360 bytes cmem[0]
ptxas info    : Compile time = 2.167 ms
ptxas info    : Compiling entry function '_Z7mangledPf' for 'sm_80'
ptxas info    : Function properties for _Z7mangledPf
    0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
ptxas info    : Used 8 registers, used 0 barriers, 360 bytes cmem[0]
ptxas info    : Compile time = 0.574 ms
ptxas info    : Compiling entry function 'dyn_kernel' for 'sm_80'
ptxas info    : Function properties for dyn_kernel
    0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
ptxas info    : Used 12 registers, used 1 barriers, 368 bytes cmem[0]
ptxas info    : Compile time = 0.850 ms
ptxas info    : Compiling entry function 'spill_kernel' for 'sm_80'
ptxas info    : Function properties for spill_kernel
    256 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
ptxas info    : Used 72 registers, used 0 barriers, 256 bytes cumulative stack size, 372 bytes cmem[0]
ptxas info    : Compile time = 33.109 ms
ptxas info    : Compiling entry function 'smem_kernel' for 'sm_80'
ptxas info    : Function properties for smem_kernel
    0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
ptxas info    : Used 12 registers, used 1 barriers, 1024 bytes smem, 368 bytes cmem[0]
ptxas info    : Compile time = 1.066 ms
"""

# -arch=sm_90 -maxrregcount=32 -Xptxas -v,--warn-on-spills: a 48-float local array forced to spill
LOG_SPILL = """\
ptxas info    : Overriding maximum register limit 256 for 'spill_kernel' with  32 of maxrregcount option
ptxas warning : Registers are spilled to local memory in function 'spill_kernel', 9332 bytes spill stores, 14508 bytes spill loads
ptxas info    : 0 bytes gmem
ptxas info    : Compiling entry function 'spill_kernel' for 'sm_90'
ptxas info    : Function properties for spill_kernel
    7512 bytes stack frame, 9332 bytes spill stores, 14508 bytes spill loads
ptxas info    : Used 32 registers, used 0 barriers, 7512 bytes cumulative stack size
ptxas info    : Compile time = 520.048 ms
"""

# a kernel calling a __noinline__ device function: the device function's block comes after the entry's
LOG_HELPER = """\
ptxas warning : Local memory used for function 'uses_helper', size of stack frame: 64 bytes
ptxas info    : 0 bytes gmem
ptxas info    : Compiling entry function 'uses_helper' for 'sm_90'
ptxas info    : Function properties for uses_helper
    64 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
ptxas info    : Used 26 registers, used 0 barriers, 64 bytes cumulative stack size
ptxas info    : Compile time = 4.270 ms
ptxas info    : Function properties for _Z6helperPKfi
    0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
"""

# front-end errors (cudafe++), with nvcc's source echo and caret lines
LOG_FRONT = """\
kernel.cu(3): error: identifier "undefined_name" is undefined
    a[t] = undefined_name + 1;
           ^

kernel.cu(5): error: expected a ";"
    a[t] = x;
    ^

kernel.cu(4): warning #177-D: variable "x" was declared but never referenced
    float x = a[t]
          ^

Remark: The warnings can be suppressed with "-diag-suppress <warning-number>"

2 errors detected in the compilation of "kernel.cu".
"""

LOG_PTXAS = """\
ptxas kernel.lineinfo.ptx, line 49; error   : Arguments mismatch for instruction 'mov'
ptxas kernel.lineinfo.ptx, line 49; error   : Unknown symbol '%nonexistent_reg'
ptxas fatal   : Ptx assembly aborted due to errors
"""

LOG_SMEM = """\
ptxas error   : Entry function 'big' uses too much shared data (0x10000 bytes, 0xc000 max)
ptxas info    : 0 bytes gmem
ptxas info    : Compiling entry function 'big' for 'sm_90'
ptxas info    : Function properties for big
    0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
ptxas info    : Used 10 registers, used 1 barriers, 65536 bytes smem
"""

BROKEN = """extern "C" __global__ void broken(float* a) {
  int t = threadIdx.x;
  a[t] = undefined_name + 1;
  float x = a[t]
  a[t] = x;
}
"""

BAD_ASM = """extern "C" __global__ void ok(float* b) { b[threadIdx.x] = 2.f; }

extern "C" __global__ void bad_asm(float* b) {
  float x;
  asm volatile("mov.b32 %0, %%nonexistent_reg;" : "=f"(x));
  b[0] = x;
}
"""

SMEM = """extern "C" __global__ void smem_kernel(const float* __restrict__ a, float* __restrict__ b) {
  __shared__ float buf[256];
  int t = threadIdx.x;
  buf[t] = a[blockIdx.x * 256 + t];
  __syncthreads();
  b[blockIdx.x * 256 + t] = buf[255 - t] * 2.0f;
}
"""

SPILL = """extern "C" __global__ void spill_kernel(const float* __restrict__ a, float* __restrict__ b) {
  float loc[48];
  #pragma unroll
  for (int i = 0; i < 48; ++i) loc[i] = a[threadIdx.x * 48 + i];
  float s = 0.f;
  #pragma unroll
  for (int j = 0; j < 48; ++j)
    #pragma unroll
    for (int i = 0; i < 48; ++i) s += loc[i] * loc[(i + j) % 48];
  #pragma unroll
  for (int i = 0; i < 48; ++i) b[threadIdx.x * 48 + i] = loc[i] * s;
}
"""


def test_ptxas_log_per_entry() -> None:
    k = parse_ptxas_log(LOG_SM80)
    assert list(k) == ["const_kernel", "_Z7mangledPf", "dyn_kernel", "spill_kernel", "smem_kernel"]
    s = k["smem_kernel"]
    assert (s.arch, s.registers, s.barriers, s.shared_bytes, s.cmem0_bytes) == ("sm_80", 12, 1, 1024, 368)
    assert (s.stack_frame_bytes, s.spill_store_bytes, s.spill_load_bytes) == (0, 0, 0)
    sp = k["spill_kernel"]
    assert (sp.registers, sp.stack_frame_bytes, sp.cumulative_stack_bytes, sp.cmem0_bytes) == (72, 256, 256, 372)
    assert k["dyn_kernel"].shared_bytes == 0            # extern __shared__ is sized at launch, not reported
    assert k["_Z7mangledPf"].registers == 8


def test_ptxas_log_spills_and_device_functions() -> None:
    s = parse_ptxas_log(LOG_SPILL)["spill_kernel"]
    assert (s.registers, s.spill_store_bytes, s.spill_load_bytes, s.stack_frame_bytes) == (32, 9332, 14508, 7512)
    assert s.cmem0_bytes is None and s.barriers == 0    # nvcc 13 prints no cmem[0] for sm_90
    k = parse_ptxas_log(LOG_HELPER)
    assert list(k) == ["uses_helper"]                   # the device function is not an entry
    assert (k["uses_helper"].stack_frame_bytes, k["uses_helper"].registers) == (64, 26)
    assert PtxasResources.from_dict(k["uses_helper"].to_dict()) == k["uses_helper"]


def test_nvcc_messages_front_end() -> None:
    msgs = parse_messages(LOG_FRONT, "kernel.cu")
    errors = [m for m in msgs if m.severity == "error"]
    assert [(e.cu_line, e.message) for e in errors] == [(3, 'identifier "undefined_name" is undefined'),
                                                       (5, 'expected a ";"')]
    assert errors[0][:2] == (3, 'identifier "undefined_name" is undefined')
    assert [(m.cu_line, m.severity) for m in msgs if m.severity == "warning"] == [(4, "warning")]
    mapped = parse_messages(LOG_FRONT, "kernel.cu", {1: ("k.py", 10, 4), 3: ("k.py", 12, 8)})
    assert [m.location for m in mapped] == [("k.py", 12, 8), ("k.py", 12, 8), ("k.py", 12, 8)]


def test_nvcc_messages_ptxas_and_driver(tmp_path: Path) -> None:
    msgs = parse_messages(LOG_PTXAS)
    assert [(m.origin, m.cu_line) for m in msgs] == [("ptxas", None), ("ptxas", None)]  # "aborted" dropped
    assert msgs[0].message == "Arguments mismatch for instruction 'mov' (PTX line 49)"
    ptx_text = ["// PTX"] * 60
    ptx_text[45], ptx_text[48] = "\t.loc\t1 5 3", "\tmov.b32 %f1, %nonexistent_reg;"
    ptx_text[57] = '\t.file\t1 "/tmp/work/kernel.cu"'
    (tmp_path / "kernel.lineinfo.ptx").write_text("\n".join(ptx_text))
    located = parse_messages(LOG_PTXAS, "kernel.cu", {5: ("k.py", 20, 12)}, tmp_path)
    assert located[0].cu_line == 5 and located[0].location == ("k.py", 20, 12)
    assert located[0].message.endswith("(PTX line 49: mov.b32 %f1, %nonexistent_reg;)")
    big = parse_messages(LOG_SMEM)
    assert [(m.origin, m.message) for m in big] == [
        ("ptxas", "Entry function 'big' uses too much shared data (0x10000 bytes, 0xc000 max)")]
    fatal = parse_messages("nvcc fatal   : Unsupported gpu architecture 'sm_75x'\n")
    assert [(m.origin, m.severity, m.message) for m in fatal] == [
        ("nvcc", "error", "Unsupported gpu architecture 'sm_75x'")]


def test_line_map_lookup() -> None:
    lm = {10: ("k.py", 3, 4), 14: ("k.py", 5, 8)}
    assert map_line(10, lm) == ("k.py", 3, 4)
    assert map_line(12, lm) == ("k.py", 3, 4)         # nearest mapped line above
    assert map_line(40, lm) == ("k.py", 5, 8)
    assert map_line(2, lm) is None and map_line(None, lm) is None and map_line(12, None) is None


def _fake_nvcc(tmp_path: Path, body: str) -> str:
    path = tmp_path / "nvcc"
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return str(path)


def test_compile_error_from_log_with_line_map(tmp_path: Path) -> None:
    (tmp_path / "log.txt").write_text(LOG_FRONT)
    nvcc = _fake_nvcc(tmp_path, f"cat {tmp_path / 'log.txt'}\nexit 1\n")
    with pytest.raises(CudaCompileError) as info:
        compile_cubin(BROKEN, "sm_90", nvcc=nvcc, line_map={1: ("kern.py", 7, 0), 3: ("kern.py", 9, 4)})
    err = info.value
    assert isinstance(err, KernelError)
    assert [(e.cu_line, e.location) for e in err.errors] == [(3, ("kern.py", 9, 4)), (5, ("kern.py", 9, 4))]
    text = str(err)
    assert text.splitlines()[0] == "nvcc could not compile the CUDA source for sm_90 (2 errors):"
    assert 'kern.py:9:5: error: identifier "undefined_name" is undefined (generated CUDA line 3)' in text
    assert "a[t] = undefined_name + 1;" in text                       # the .cu line's text
    located = err.to_compile_error()
    assert isinstance(located, CompileError) and located.render().startswith("kern.py:9:5: TL951 CUDA compile error")
    with pytest.raises(CudaCompileError) as plain:
        compile_cubin(BROKEN, "sm_90", nvcc=nvcc)
    assert "  kernel.cu:3: error: identifier" in str(plain.value) and plain.value.location is None


def test_hung_nvcc_is_stopped(tmp_path: Path) -> None:
    nvcc = _fake_nvcc(tmp_path, f"sleep 60 &\necho $! > {tmp_path / 'child'}\nwait\n")
    t0 = time.monotonic()
    with pytest.raises(CudaCompileError, match=r"did not finish within 1 s compiling for sm_90 and was stopped"):
        compile_cubin("x", "sm_90", nvcc=nvcc, timeout=1)
    assert time.monotonic() - t0 < 30
    child = int((tmp_path / "child").read_text())
    time.sleep(0.2)
    stat = Path(f"/proc/{child}/stat")
    if stat.exists():                     # killed with nvcc's process group (a zombie until reaped by init)
        assert stat.read_text().split(")")[1].split()[0] == "Z"


def test_arch_and_missing_nvcc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert ARCHES == ("sm_80", "sm_86", "sm_89", "sm_90", "sm_90a")
    assert check_arch("sm_90a") == "sm_90a"
    with pytest.raises(CudaToolchainError, match=r"unsupported CUDA arch 'sm_75'.*sm_80, sm_86, sm_89, sm_90, sm_90a"):
        compile_cubin("x", "sm_75")
    with pytest.raises(CudaToolchainError, match="could not run nvcc"):
        compile_cubin("x", "sm_90", nvcc=str(tmp_path / "no-such-nvcc"))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setenv("CUDA_HOME", str(tmp_path / "cuda"))
    home_nvcc = tmp_path / "cuda" / "bin" / "nvcc"
    home_nvcc.parent.mkdir(parents=True)
    home_nvcc.write_text("#!/bin/sh\n")
    home_nvcc.chmod(0o755)
    assert find_nvcc() == str(home_nvcc)
    monkeypatch.setattr("compiler.cuda_toolchain.find_nvcc", lambda: None)
    with pytest.raises(CudaToolchainError, match="nvcc was not found"):
        ptx("x", "sm_90")


# ----------------------------------------------------------------------------------- artifacts

VADD_META = {
    "entry": "vadd_kernel", "arch": "sm_90", "grid": [{"ceildiv": ["n", 256]}, 1, 1], "block": [256, 1, 1],
    "params": [{"name": "A", "kind": "tensor", "dtype": "float32", "shape": ["n"]},
               {"name": "B", "kind": "tensor", "dtype": "float32", "shape": ["n"]},
               {"name": "alpha", "kind": "scalar", "dtype": "float32"},
               {"name": "C", "kind": "tensor", "dtype": "float32", "shape": ["n"]}],
    "launch_args": [{"param": "A"}, {"param": "B"}, {"param": "C"}, {"var": "n", "dtype": "int32"},
                    {"param": "alpha"}],
    "out_idx": [-1],
    "resources": PtxasResources("vadd_kernel", "sm_90", registers=12),
}


def test_artifact_round_trip(tmp_path: Path) -> None:
    path = write_artifact(tmp_path, "vadd", ELF, VADD_META)
    assert path == tmp_path / "vadd.json" and (tmp_path / "vadd.cubin").read_bytes() == ELF
    doc = json.loads(path.read_text())
    assert doc["format"] == "tilec-cuda-artifact" and doc["version"] == 1 and doc["out_idx"] == [-1]
    for where in (tmp_path, path):
        a = read_artifact(where)
        assert (a.name, a.entry, a.arch, a.block, a.out_idx, a.cubin) == ("vadd", "vadd_kernel", "sm_90",
                                                                           (256, 1, 1), [3], ELF)
        assert [p.name for p in a.params] == ["A", "B", "alpha", "C"] and a.params[0].shape == ("n",)
        assert a.resources is not None and a.resources["registers"] == 12
    meta = {k: v for k, v in VADD_META.items() if k != "launch_args"}
    write_artifact(tmp_path / "d", "plain", ELF, meta)
    assert read_artifact(tmp_path / "d").launch_args == [{"param": "A"}, {"param": "B"}, {"param": "alpha"},
                                                        {"param": "C"}]


def _write_doc(tmp_path: Path, **changes: object) -> Path:
    path = write_artifact(tmp_path, "k", ELF, VADD_META)
    doc = json.loads(path.read_text())
    doc.update(changes)
    path.write_text(json.dumps(doc))
    return path


@pytest.mark.parametrize("changes, message", [
    ({"version": 2}, "format version 2; this loader reads version 1"),
    ({"format": "other"}, "not a tilec CUDA artifact"),
    ({"arch": "sm_75"}, "arch 'sm_75' is not one of sm_80"),
    ({"block": [2048, 1, 1]}, r"block \(2048, 1, 1\) exceeds CUDA's limits"),
    ({"block": [256, 1]}, "\"block\" must be 3 positive ints"),
    ({"grid": [{"ceildiv": ["m", 256]}, 1, 1]}, "size 'm' \\(in the grid\\) is bound by no parameter"),
    ({"grid": [{"pow": [2, 3]}, 1, 1]}, "grid\\[0\\]: {\"pow\": \\[2, 3\\]} is not a size expression"),
    ({"out_idx": [2]}, "out_idx 2 names the scalar parameter 'alpha'"),
    ({"out_idx": [7]}, "out_idx 7 is out of range for 4 parameters"),
    ({"launch_args": [{"param": "Z"}]}, "launch_args\\[0\\] must be"),
    ({"launch_args": [{"value": {"mul": ["n", "q"]}, "dtype": "int32"}]}, "size 'q' \\(in launch_args\\[0\\]\\)"),
    ({"launch_args": [{"var": "n", "dtype": "float32"}]}, "launch_args\\[0\\] must be"),
    ({"dynamic_smem_bytes": "9x"}, "k.json: dynamic_smem_bytes: '9x' is not a size variable name"),
    ({"entry": ""}, "\"entry\" must be a non-empty string"),
    ({"cubin": "../x.cubin"}, "\"cubin\" must be a file name next to the .json"),
])
def test_artifact_validation(tmp_path: Path, changes: dict[str, object], message: str) -> None:
    with pytest.raises(ArtifactError, match=message):
        read_artifact(_write_doc(tmp_path, **changes))


def test_artifact_files_missing_or_corrupt(tmp_path: Path) -> None:
    path = write_artifact(tmp_path, "k", ELF, VADD_META)
    (tmp_path / "k.cubin").write_bytes(ELF[:-1] + b"\x01")
    with pytest.raises(ArtifactError, match="k.cubin does not match the cubin_sha256"):
        read_artifact(path)
    (tmp_path / "k.cubin").write_bytes(b"PTX text")
    with pytest.raises(ArtifactError, match="k.cubin is not a cubin"):
        read_artifact(path)
    (tmp_path / "k.cubin").unlink()
    with pytest.raises(ArtifactError, match="its cubin .*k.cubin is missing"):
        read_artifact(path)
    path.write_text("{not json")
    with pytest.raises(ArtifactError, match="not a readable artifact JSON"):
        read_artifact(path)
    with pytest.raises(ArtifactError, match="no artifact at"):
        read_artifact(tmp_path / "nothing.json")
    write_artifact(tmp_path, "k2", ELF, VADD_META)
    with pytest.raises(ArtifactError, match="holds 2 artifact .json files \\(k.json, k2.json\\)"):
        read_artifact(tmp_path)
    with pytest.raises(ArtifactError, match="unknown artifact fields: shared"):
        write_artifact(tmp_path, "k3", ELF, {**VADD_META, "shared": 1})
    with pytest.raises(ArtifactError, match="is not a plain file name"):
        write_artifact(tmp_path, "../k", ELF, VADD_META)


# ----------------------------------------------------------------------------------- the loader

class FakeBackend:
    """A launch backend for tests: device memory is NumPy bytes at made-up addresses; `launch`
    records the call and hands the arguments to `play(backend, args)`, which does the kernel's
    work on that memory in Python."""

    name = "fake"

    def __init__(self, play=None):
        self.mem: dict[int, np.ndarray] = {}
        self.next_ptr = 0x10000
        self.play = play
        self.launches: list[tuple] = []
        self.smem_attr: list[int] = []
        self.loaded: list[str] = []

    def alloc(self, nbytes: int) -> int:
        ptr, self.next_ptr = self.next_ptr, self.next_ptr + nbytes + 0x1000
        self.mem[ptr] = np.zeros(nbytes, np.uint8)
        return ptr

    def view(self, ptr: int, dtype: str) -> np.ndarray:
        return self.mem[int(ptr)].view(dtype)

    def load(self, cubin_path: Path, cubin: bytes, entry: str) -> str:
        self.loaded.append(entry)
        return entry

    def set_max_dynamic_smem(self, func: str, nbytes: int) -> None:
        self.smem_attr.append(nbytes)

    def upload(self, data: np.ndarray) -> tuple[int, int]:
        ptr = self.alloc(data.nbytes)
        self.mem[ptr][...] = data
        return ptr, ptr

    def download(self, handle: int, out: np.ndarray) -> None:
        out[...] = self.mem[handle]

    def launch(self, func, grid, block, smem, args) -> None:
        self.launches.append((func, grid, block, smem, list(args)))
        if self.play:
            self.play(self, args)

    def time_ms(self, run, warmup: int, iters: int) -> float:
        for _ in range(warmup + iters):
            run()
        return 0.5


class DeviceArray:
    """A device array of the fake backend, seen through __cuda_array_interface__ (as CuPy arrays are)."""

    def __init__(self, backend: FakeBackend, host: np.ndarray):
        self.ptr, _ = backend.upload(np.ascontiguousarray(host).reshape(-1).view(np.uint8))
        self.shape, self.dtype, self.backend = host.shape, host.dtype, backend

    @property
    def __cuda_array_interface__(self) -> dict:
        return {"shape": self.shape, "typestr": self.dtype.str, "data": (self.ptr, False), "strides": None,
                "version": 3}

    def get(self) -> np.ndarray:
        return self.backend.view(self.ptr, self.dtype.str).reshape(self.shape).copy()


def play_vadd(backend: FakeBackend, args: list) -> None:
    a, b, c, n, alpha = args
    assert [type(x) for x in args] == [np.uint64, np.uint64, np.uint64, np.int32, np.float32]
    backend.view(c, "f4")[:n] = backend.view(a, "f4")[:n] + alpha * backend.view(b, "f4")[:n]


@pytest.fixture
def vadd(tmp_path: Path):
    write_artifact(tmp_path, "vadd", ELF, VADD_META)
    backend = FakeBackend(play_vadd)
    return load(tmp_path, backend=backend), backend


def test_loader_numpy_outputs_allocated(vadd) -> None:
    kernel, backend = vadd
    a, b = np.arange(1000, dtype=np.float32), np.ones(1000, dtype=np.float32)
    c = kernel(a, b, 0.5)
    np.testing.assert_array_equal(c, a + 0.5)
    (func, grid, block, smem, args), = backend.launches
    assert (func, grid, block, smem) == ("vadd_kernel", (4, 1, 1), (256, 1, 1), 0)
    assert int(args[3]) == 1000 and float(args[4]) == 0.5
    assert backend.smem_attr == []                      # 0 bytes: the 48 KiB default needs no attribute
    np.testing.assert_array_equal(a, np.arange(1000, dtype=np.float32))


def test_loader_numpy_in_place_and_strided(vadd) -> None:
    kernel, backend = vadd
    a = np.arange(2000, dtype=np.float32)[::2]          # not contiguous: copied to the device, and back
    b, c = np.full(1000, 2, np.float32), np.zeros(1000, np.float32)
    assert kernel(a, b, 3, c) is None
    np.testing.assert_array_equal(c, a + 6)
    big_endian = np.arange(1000, dtype=">f4")          # float32 in the other byte order: converted both ways
    kernel(a, b, 1, big_endian)
    np.testing.assert_array_equal(big_endian, a + 2)


def test_loader_device_arrays_zero_copy(vadd) -> None:
    kernel, backend = vadd
    host_a, host_b = np.arange(300, dtype=np.float32), np.ones(300, dtype=np.float32)
    a, b, c = DeviceArray(backend, host_a), DeviceArray(backend, host_b), DeviceArray(backend, np.zeros(300, "f4"))
    kernel(a, b, np.float32(2), c)
    (_, grid, _, _, args), = backend.launches
    assert [int(x) for x in args[:3]] == [a.ptr, b.ptr, c.ptr] and grid == (2, 1, 1)   # the arrays' own pointers
    np.testing.assert_array_equal(c.get(), host_a + 2)
    with pytest.raises(KernelError, match="cannot allocate output 'C' like a DeviceArray: pass all arrays"):
        kernel(a, b, 1.0)


def test_loader_binding_errors(vadd) -> None:
    kernel, backend = vadd
    f32 = np.zeros(10, np.float32)
    cases = [
        ((f32,), r"vadd takes 3 arguments \(A, B, alpha\) or all 4, got 1"),
        ((f32, np.zeros(11, np.float32), 1.0), "size n is 10 from an earlier argument but 11 from 'B' \\(axis 0\\)"),
        ((f32, np.zeros(10, np.float64), 1.0), "argument 'B' has dtype float64, the kernel expects float32"),
        ((f32, np.zeros((10, 1), np.float32), 1.0), "argument 'B' has 2 dimensions, the kernel expects 1"),
        ((f32, [0.0] * 10, 1.0), "argument 'B' must be a NumPy array, a CuPy array or a torch CUDA tensor, got list"),
        ((f32, f32, "x"), "argument 'alpha' must be a float32 scalar, got str"),
        ((f32, f32, 1.0, np.zeros(9, np.float32)), "size n is 10 from an earlier argument but 9 from 'C'"),
    ]
    for args, message in cases:
        with pytest.raises(KernelError, match=message):
            kernel(*args)
    assert backend.launches == []
    strided = DeviceArray(backend, np.zeros(10, np.float32))
    strided.__class__ = type("Strided", (DeviceArray,), {"__cuda_array_interface__": property(
        lambda s: {**DeviceArray.__cuda_array_interface__.fget(s), "strides": (8,)})})
    with pytest.raises(KernelError, match="argument 'A' is not contiguous"):
        kernel(strided, f32, 1.0, f32)


TRANSPOSE_META = {
    "entry": "transpose_kernel", "arch": "sm_90", "grid": [{"ceildiv": ["n", 128]}, {"ceildiv": ["m", 128]}, 1],
    "block": [32, 8, 1], "dynamic_smem_bytes": {"mul": [128, 129, 4]},
    "params": [{"name": "A", "kind": "tensor", "dtype": "float32", "shape": ["m", "n"]},
               {"name": "B", "kind": "tensor", "dtype": "float32", "shape": ["n", "m"]},
               {"name": "steps", "kind": "scalar", "dtype": "int32"},
               {"name": "W", "kind": "tensor", "dtype": "int8", "shape": [{"mul": ["m", 2]}]}],
    "launch_args": [{"param": "A"}, {"param": "B"}, {"param": "W"}, {"var": "m", "dtype": "int64"},
                    {"value": {"mul": ["m", "n"]}, "dtype": "int32"}, {"var": "n", "dtype": "int32"},
                    {"param": "steps"}],
    "out_idx": [1, 3],
    "resources": {"shared_bytes": 1024},
}


def test_loader_sizes_smem_and_several_outputs(tmp_path: Path) -> None:
    write_artifact(tmp_path, "t", ELF, TRANSPOSE_META)

    def play(backend: FakeBackend, args: list) -> None:
        a, b, w, m, mn, n, steps = args
        assert (type(m), type(mn), type(n), type(steps)) == (np.int64, np.int32, np.int32, np.int32)
        assert mn == m * n
        backend.view(b, "f4")[:] = backend.view(a, "f4").reshape(m, n).T.reshape(-1)
        backend.view(w, "i1")[:] = steps

    backend = FakeBackend(play)
    kernel = load(tmp_path / "t.json", backend=backend)
    a = np.arange(300 * 200, dtype=np.float32).reshape(300, 200)
    launch = kernel.bind(a, 7)
    assert (launch.sizes, launch.grid, launch.smem, launch.outputs) == ({"m": 300, "n": 200, "steps": 7},
                                                                          (2, 3, 1), 66048, [1, 3])
    b, w = kernel(a, 7)
    np.testing.assert_array_equal(b, a.T)
    assert w.dtype == np.int8 and w.shape == (600,) and (w == 7).all()
    kernel(a, 7)
    assert backend.smem_attr == [66048]                 # raised once, above 48 KiB
    with pytest.raises(KernelError, match=r"argument 'W' has shape \(601,\), the kernel expects \(600,\)"):
        kernel(a, np.zeros((200, 300), np.float32), 1, np.zeros(601, np.int8))
    with pytest.raises(KernelError, match="argument 'steps' = 4294967296 does not fit in int32"):
        kernel(a, 2**32)
    huge = np.lib.stride_tricks.as_strided(np.zeros(1, np.float32), (50000, 50000), (0, 0))
    with pytest.raises(KernelError, match=r'the kernel argument {"mul": \["m", "n"\]} = 2500000000 does not fit in '
                                          r"int32 \(sizes {'m': 50000, 'n': 50000, 'steps': 1}\)"):
        kernel.time(huge, huge, 1, np.zeros(100000, np.int8))     # refused before anything is copied
    empty = kernel(np.zeros((0, 5), np.float32), 1)     # an empty grid launches nothing
    assert len(backend.launches) == 2 and empty[0].shape == (5, 0)
    assert kernel.time(a, 7, warmup=2, iters=3) == 0.5 and len(backend.launches) == 7
    meta = {**TRANSPOSE_META, "params": [*TRANSPOSE_META["params"][:2],
                                         {"name": "m", "kind": "scalar", "dtype": "int32"},
                                         TRANSPOSE_META["params"][3]], "launch_args": None}
    write_artifact(tmp_path / "s", "t", ELF, meta)
    with pytest.raises(KernelError, match="size m is 300 from an earlier argument but 5 from the scalar 'm'"):
        load(tmp_path / "s", backend=backend).bind(a, 5)


def test_loader_limits_and_unbound_outputs(tmp_path: Path) -> None:
    big = {**TRANSPOSE_META, "dynamic_smem_bytes": 232448 - 1024 + 1}
    write_artifact(tmp_path / "big", "t", ELF, big)
    with pytest.raises(KernelError, match=r"needs 232449 bytes of shared memory per block \(231425 dynamic \+ 1024 "
                                          r"static\); sm_90 allows at most 232448"):
        load(tmp_path / "big", backend=FakeBackend()).bind(np.zeros((4, 4), np.float32), 1)
    out_var = {**VADD_META, "params": [{"name": "A", "kind": "tensor", "dtype": "float32", "shape": ["n"]},
                                       {"name": "C", "kind": "tensor", "dtype": "float32", "shape": ["k"]}],
               "grid": [1, 1, 1], "launch_args": None, "out_idx": [1]}
    write_artifact(tmp_path / "ov", "o", ELF, out_var)
    kernel = load(tmp_path / "ov", backend=FakeBackend())
    with pytest.raises(KernelError, match="cannot size 'C': size 'k' is not bound by any argument"):
        kernel(np.zeros(3, np.float32))
    kernel(np.zeros(3, np.float32), np.zeros(8, np.float32))   # given, it binds k


def test_loader_bfloat16_numpy(tmp_path: Path) -> None:
    ml_dtypes = pytest.importorskip("ml_dtypes")
    meta = {"entry": "s", "arch": "sm_80", "grid": [1, 1, 1], "block": [32, 1, 1],
            "params": [{"name": "A", "kind": "tensor", "dtype": "bfloat16", "shape": [4]},
                       {"name": "B", "kind": "tensor", "dtype": "bfloat16", "shape": [4]}], "out_idx": [1]}
    write_artifact(tmp_path, "s", ELF, meta)

    def play(backend: FakeBackend, args: list) -> None:
        backend.view(args[1], "u2")[:] = backend.view(args[0], "u2")      # a copy, bit for bit

    kernel = load(tmp_path, backend=FakeBackend(play))
    a = np.array([1.5, -2, 3.25, 0], dtype=ml_dtypes.bfloat16)
    b = kernel(a)
    assert b.dtype == ml_dtypes.bfloat16 and b.tolist() == a.tolist()
    with pytest.raises(KernelError, match="argument 'A' has dtype float32, the kernel expects bfloat16"):
        kernel(a.astype(np.float32))


def test_backend_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(KernelError, match="unknown CUDA backend 'opencl' \\(cupy, cuda-python, libcuda\\)"):
        rt.make_backend("opencl")
    fake = FakeBackend()
    assert rt.make_backend(fake) is fake

    def missing() -> None:
        raise ImportError("not here")

    for cls in ("_CupyBackend", "_DriverBackend", "_LibcudaBackend"):
        monkeypatch.setattr(rt, cls, missing)
    with pytest.raises(KernelError, match="no CUDA launch backend: install CuPy .*cupy: not here; cuda-python: not "
                                          "here; libcuda: not here"):
        rt.make_backend(None)


def test_loader_imports_no_gpu_library() -> None:
    code = ("import sys; import compiler.runtime.cuda as c; "
            "k = c.load('benchmarks/artifacts/smoke/vadd.json'); "
            "print(sorted(m for m in ('tvm', 'cupy', 'torch', 'cuda') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_smoke_artifacts_are_valid() -> None:
    names = sorted(p.stem for p in SMOKE.glob("*.json"))
    assert names == ["scale_bf16", "transpose", "vadd"]
    t = load(SMOKE / "transpose.json")
    launch = t.bind(np.zeros((1000, 700), np.float32))
    assert (launch.grid, launch.block, launch.smem) == ((6, 8, 1), (32, 8, 1), 66048)
    assert t.artifact.resources and t.artifact.resources["barriers"] == 1
    v = read_artifact(SMOKE / "vadd.json")
    assert v.launch_args[3] == {"var": "n", "dtype": "int32"} and v.out_idx == [3]


# ----------------------------------------------------------------------------------- real nvcc


@needs_nvcc
def test_nvcc_static_smem_kernel(tmp_path: Path) -> None:
    for arch in ("sm_80", "sm_90"):
        result = compile_cubin(SMEM, arch, workdir=tmp_path / arch)
        assert result.cubin[:4] == b"\x7fELF" and result.arch == arch
        assert (tmp_path / arch / "kernel.cu").read_text() == SMEM and (tmp_path / arch / "kernel.cubin").is_file()
        r = result.resources()
        assert (r.name, r.arch, r.shared_bytes, r.barriers, r.spill_store_bytes, r.stack_frame_bytes) == (
            "smem_kernel", arch, 1024, 1, 0, 0)
        if NVCC_13_0:
            assert r.registers == 12
            assert r.cmem0_bytes == (368 if arch == "sm_80" else None)
        assert "-diag-suppress" in result.command and "--use_fast_math" not in result.command
        assert f"-arch={arch}" in result.command and result.seconds > 0


@needs_nvcc
def test_nvcc_spilling_kernel() -> None:
    r = compile_cubin(SPILL, "sm_90", extra_flags=["-maxrregcount=32"]).resources("spill_kernel")
    assert r.registers == 32 and r.spill_store_bytes > 0 and r.spill_load_bytes > 0 and r.stack_frame_bytes > 0
    if NVCC_13_0:
        assert (r.spill_store_bytes, r.spill_load_bytes, r.stack_frame_bytes) == (9332, 14508, 7512)
    free = compile_cubin(SPILL, "sm_90").resources()
    assert free.spill_store_bytes == 0 and free.registers > 32


@needs_nvcc
def test_nvcc_front_end_errors_located() -> None:
    with pytest.raises(CudaCompileError) as info:
        compile_cubin(BROKEN, "sm_90", line_map={3: ("user.py", 12, 8), 5: ("user.py", 14, 4)})
    err = info.value
    assert [(e.cu_line, e.message) for e in err.errors] == [(3, 'identifier "undefined_name" is undefined'),
                                                           (5, 'expected a ";"')]
    assert [e.location for e in err.errors] == [("user.py", 12, 8), ("user.py", 14, 4)]
    assert "user.py:14:5: error: expected a \";\" (generated CUDA line 5)" in str(err)


@needs_nvcc
def test_nvcc_ptxas_errors_traced_to_cu_lines() -> None:
    for compile_fn in (compile_cubin, ptx):
        with pytest.raises(CudaCompileError) as info:
            compile_fn(BAD_ASM, "sm_90")
        errors = info.value.errors
        assert {(e.origin, e.cu_line) for e in errors} == {("ptxas", 5)}
        assert any("Unknown symbol '%nonexistent_reg'" in e.message for e in errors)
        assert 'asm volatile("mov.b32 %0, %%nonexistent_reg;"' in str(info.value)


@needs_nvcc
def test_nvcc_too_much_static_smem() -> None:
    src = 'extern "C" __global__ void big(float* a) { __shared__ float s[16384]; s[threadIdx.x] = a[0]; ' \
          '__syncthreads(); a[threadIdx.x] = s[1023 - threadIdx.x]; }'
    with pytest.raises(CudaCompileError, match=r"ptxas: error: Entry function 'big' uses too much shared data"):
        compile_cubin(src, "sm_90")


@needs_nvcc
def test_nvcc_ptx_and_half_operators() -> None:
    text = ptx(SMEM, "sm_90a")
    assert ".target sm_90a" in text and ".visible .entry smem_kernel(" in text
    src = ('#include <cuda_fp16.h>\n#include <cuda_bf16.h>\nextern "C" __global__ void k(__half* h, __nv_bfloat16* b) '
           '{ h[threadIdx.x] = h[threadIdx.x] * h[0] + __half(1); b[threadIdx.x] += b[0]; }\n')
    assert compile_cubin(src, "sm_80").resources("k").registers > 0
    # a -D__CUDA_NO_HALF_OPERATORS__ made elsewhere hides the operators generated code uses
    with pytest.raises(CudaCompileError, match=r'kernel.cu:3: error: more than one conversion function from "__half"'):
        compile_cubin(src, "sm_80", extra_flags=["-D__CUDA_NO_HALF_OPERATORS__"])


@needs_nvcc
@pytest.mark.skipif(not NVCC_13_0, reason="the committed smoke cubins were built with nvcc 13.0")
def test_smoke_artifacts_rebuild_identically(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import gpu_smoke_loader
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    gpu_smoke_loader.build(tmp_path, "sm_90")
    for name in ("vadd", "transpose", "scale_bf16"):
        assert (tmp_path / f"{name}.cubin").read_bytes() == (SMOKE / f"{name}.cubin").read_bytes()
        assert json.loads((tmp_path / f"{name}.json").read_text()) == json.loads((SMOKE / f"{name}.json").read_text())
