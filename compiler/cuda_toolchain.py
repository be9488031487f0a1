"""The CUDA toolchain: nvcc from CUDA C source to a cubin (or PTX), with ptxas's resource report.

Nothing here imports TVM or needs a GPU; only nvcc (found by `find_nvcc`).

    result = compile_cubin(source, "sm_90")
    result.cubin                      # the ELF image, bytes
    result.kernels["k"].registers     # ptxas -v, per kernel entry (`PtxasResources`)

The nvcc command is `nvcc -cubin -arch=<arch> -O3 -Xptxas -v -diag-suppress 177
--expt-relaxed-constexpr --expt-extended-lambda -U__CUDA_NO_HALF_OPERATORS__ ...`
(`base_flags`). The six `-U__CUDA_NO_{HALF,BFLOAT16}*` flags keep the `half` and
`bfloat16` operators and conversions that generated code uses visible (the set TVM
passes; nvcc defines none of these macros itself, so they only undo a definition made
elsewhere). Warning 177 (a variable declared but never referenced) is what TVM's unused
common subexpressions trigger in most kernels. `--use_fast_math` is NOT passed by default:
it flushes denormals to zero and replaces division, `sqrtf`, `expf`, ... by the
approximate instructions, so a kernel's results would stop matching the CPU back end
and NumPy, which the tests compare against. `fast_math=True` adds it, for a kernel
whose author asks for it (TileLang's `TL_ENABLE_FAST_MATH` pass config).

Errors. A failed compile raises `CudaCompileError` (a `KernelError`): its message
holds nvcc's first errors with their `.cu` line and the source text of that line,
and `err.errors` is the list of `NvccMessage` (`cu_line`, `message`, ...). Given a
`line_map` {generated .cu line: (user file, 1-based line, 0-based column)}, each
error also carries the user's location (the nearest mapped line at or above the
error's line) and the message is written at that location. `kernel_location` is
where errors with no mapped line (ptxas's "too much shared data", a line of our
helper functions) are reported by `CudaCompileError.to_compile_error`: the
kernel's `T.Kernel` line. A hung nvcc is stopped after `timeout` seconds (its
whole process group) and reported the same way.

ptxas -v output of nvcc 13.0, as parsed by `parse_ptxas_log` (one block per entry):

    ptxas info    : 4096 bytes gmem, 256 bytes cmem[3], 8 bytes cmem[4]       (module-wide)
    ptxas info    : Compiling entry function 'smem_kernel' for 'sm_80'
    ptxas info    : Function properties for smem_kernel
        0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
    ptxas info    : Used 12 registers, used 1 barriers, 1024 bytes smem, 368 bytes cmem[0]
    ptxas info    : Compile time = 1.066 ms

For sm_90/sm_90a nvcc 13.0 prints no `cmem[0]` (its `cmem0_bytes` is None). Static
shared memory only: `extern __shared__` (dynamic) memory is sized at launch.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, Sequence

from .errors import KernelError

ARCHES = ("sm_80", "sm_86", "sm_89", "sm_90", "sm_90a")
DEFAULT_TIMEOUT = 300.0

HALF_FLAGS = (
    "-U__CUDA_NO_HALF_OPERATORS__",
    "-U__CUDA_NO_HALF_CONVERSIONS__",
    "-U__CUDA_NO_BFLOAT16_OPERATORS__",
    "-U__CUDA_NO_BFLOAT16_CONVERSIONS__",
    "-U__CUDA_NO_BFLOAT162_OPERATORS__",
    "-U__CUDA_NO_BFLOAT162_CONVERSIONS__",
)
MAX_ERRORS_SHOWN = 5


class CudaToolchainError(KernelError):
    """nvcc is missing, or the arch is not one the CUDA back end builds for."""


class NvccMessage(NamedTuple):
    """One diagnostic of nvcc or ptxas. `cu_line` is the 1-based line of the generated `.cu` file
    (None for ptxas, nvcc driver and header messages); `location` is the user's (file, line, col)
    when a line map was given."""

    cu_line: int | None
    message: str
    severity: str = "error"
    origin: str = "nvcc"
    location: tuple[str, int, int] | None = None


class CudaCompileError(KernelError):
    """nvcc failed (or ran past its timeout); `errors` lists its error messages."""

    def __init__(self, message: str, errors: Sequence[NvccMessage] = (), log: str = "",
                 command: Sequence[str] = (), arch: str = "", source: str = "", cu: str = "kernel.cu",
                 kernel_location: tuple[str, int, int] | None = None):
        self.errors = list(errors)
        self.log = log
        self.command = list(command)
        self.arch = arch
        self.source = source  # the CUDA source nvcc compiled (its lines are `cu_line`)
        self.cu = cu  # its file name
        self.kernel_location = kernel_location  # where errors without a user location are reported
        super().__init__(message)

    @property
    def location(self) -> tuple[str, int, int] | None:
        """The user's (file, line, col) of the first error that has one."""
        return next((e.location for e in self.errors if e.location), None)

    def to_compile_error(self) -> Exception:
        """A located `CompileError` at the first error's user location, else at `kernel_location` with the
        first error (this error itself when there is neither). The message keeps the generated source's
        line and text: `CUDA compile error: <message> (generated kernel.cu line 57: `<text>`)`."""
        from .errors import KERNEL_ERROR, at_line

        first = next((e for e in self.errors if e.location), None)
        where = self.location
        if first is None and self.kernel_location is not None:
            first = self.errors[0] if self.errors else NvccMessage(None, str(self).splitlines()[0])
            where = self.kernel_location
        if first is None or where is None:
            return self
        path, line, col = where
        src = self.source.splitlines()
        if first.cu_line is not None and 0 < first.cu_line <= len(src):
            generated = f" (generated {self.cu} line {first.cu_line}: `{src[first.cu_line - 1].strip()}`)"
        elif first.cu_line is not None:
            generated = f" (generated {self.cu} line {first.cu_line})"
        else:
            generated = f" (from {first.origin}, no source line)"
        more = len(self.errors) - 1
        tail = f"; {more} more error{'s' if more != 1 else ''}" if more > 0 else ""
        return at_line(path, line, col, f"CUDA compile error: {first.message}{generated}{tail}", KERNEL_ERROR)


@dataclass
class PtxasResources:
    """What ptxas -v reports for one kernel entry (bytes, except registers and barriers)."""

    name: str
    arch: str
    registers: int = 0
    shared_bytes: int = 0            # static __shared__ memory; dynamic shared memory is not included
    stack_frame_bytes: int = 0
    spill_store_bytes: int = 0
    spill_load_bytes: int = 0
    cmem0_bytes: int | None = None   # constant bank 0 (kernel parameters); not printed for sm_90 by nvcc 13
    barriers: int | None = None      # named barriers used; None when ptxas does not say
    cumulative_stack_bytes: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PtxasResources:
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass
class CubinResult:
    """A compiled cubin and what nvcc said while building it."""

    cubin: bytes
    arch: str
    kernels: dict[str, PtxasResources]
    log: str
    seconds: float
    command: list[str]
    warnings: list[NvccMessage] = field(default_factory=list)

    def resources(self, entry: str | None = None) -> PtxasResources:
        """The report of `entry`, or of the only kernel when `entry` is None."""
        if entry is None:
            if len(self.kernels) != 1:
                raise KernelError(f"the cubin has {len(self.kernels)} kernels ({', '.join(self.kernels)}); "
                                  "name the entry")
            return next(iter(self.kernels.values()))
        if entry not in self.kernels:
            raise KernelError(f"no kernel entry '{entry}' in the cubin (entries: {', '.join(self.kernels) or 'none'})")
        return self.kernels[entry]


# ---------------------------------------------------------------------------------------------- nvcc

def find_nvcc() -> str | None:
    """nvcc on PATH, else in $CUDA_HOME/bin, else /usr/local/cuda/bin; None if there is none."""
    found = shutil.which("nvcc")
    if found:
        return found
    candidates = [Path(os.environ["CUDA_HOME"]) / "bin" / "nvcc"] if os.environ.get("CUDA_HOME") else []
    candidates.append(Path("/usr/local/cuda/bin/nvcc"))
    for path in candidates:
        if path.is_file() and os.access(path, os.X_OK):
            return str(path)
    return None


def check_arch(arch: str) -> str:
    if arch not in ARCHES:
        raise CudaToolchainError(f"unsupported CUDA arch '{arch}': the CUDA back end builds for {', '.join(ARCHES)}")
    return arch


def base_flags(arch: str, fast_math: bool = False) -> list[str]:
    """The flags every compile uses (see the module docstring for why each is there)."""
    return [f"-arch={check_arch(arch)}", "-O3", "-diag-suppress", "177", "--expt-relaxed-constexpr",
            "--expt-extended-lambda", *HALF_FLAGS, *(["--use_fast_math"] if fast_math else [])]


def compile_cubin(source: str, arch: str, *, workdir: str | Path | None = None, extra_flags: Sequence[str] = (),
                  timeout: float = DEFAULT_TIMEOUT, line_map: dict[int, tuple[str, int, int]] | None = None,
                  fast_math: bool = False, name: str = "kernel", nvcc: str | None = None,
                  kernel_location: tuple[str, int, int] | None = None) -> CubinResult:
    """Compile CUDA C `source` to a cubin for `arch` with ptxas's report (-Xptxas -v).

    `workdir` keeps `<name>.cu` and `<name>.cubin` there (a temporary directory otherwise);
    `extra_flags` go after the base flags (e.g. `-maxrregcount=64`, `-lineinfo`); `nvcc`
    overrides `find_nvcc()`; `line_map` and `kernel_location` locate errors (module docstring)."""
    flags = [*base_flags(arch, fast_math), "-Xptxas", "-v", *extra_flags]
    with _workdir(workdir) as wd:
        log, seconds, command = _run(source, name, "-cubin", f"{name}.cubin", flags, wd, arch, timeout, line_map,
                                     nvcc, kernel_location)
        cubin = (wd / f"{name}.cubin").read_bytes()
    return CubinResult(cubin, arch, parse_ptxas_log(log, arch), log, seconds, command,
                       [m for m in parse_messages(log, f"{name}.cu", line_map) if m.severity == "warning"])


def ptx(source: str, arch: str, *, workdir: str | Path | None = None, extra_flags: Sequence[str] = (),
        timeout: float = DEFAULT_TIMEOUT, line_map: dict[int, tuple[str, int, int]] | None = None,
        fast_math: bool = False, name: str = "kernel", nvcc: str | None = None,
        kernel_location: tuple[str, int, int] | None = None) -> str:
    """The PTX nvcc generates for `source` (`nvcc -ptx`, same flags as `compile_cubin`; no ptxas)."""
    flags = [*base_flags(arch, fast_math), *extra_flags]
    with _workdir(workdir) as wd:
        _run(source, name, "-ptx", f"{name}.ptx", flags, wd, arch, timeout, line_map, nvcc, kernel_location)
        return (wd / f"{name}.ptx").read_text(encoding="utf-8")


class _workdir:
    def __init__(self, path: str | Path | None):
        self.path = path
        self.tmp: tempfile.TemporaryDirectory[str] | None = None

    def __enter__(self) -> Path:
        if self.path is not None:
            p = Path(self.path)
            p.mkdir(parents=True, exist_ok=True)
            return p
        self.tmp = tempfile.TemporaryDirectory(prefix="tilec-nvcc-")
        return Path(self.tmp.name)

    def __exit__(self, *exc: Any) -> None:
        if self.tmp is not None:
            self.tmp.cleanup()


def _run(source: str, name: str, mode: str, output: str, flags: list[str], wd: Path, arch: str, timeout: float,
         line_map: dict[int, tuple[str, int, int]] | None, nvcc: str | None,
         kernel_location: tuple[str, int, int] | None = None) -> tuple[str, float, list[str]]:
    try:
        return _run_nvcc(source, name, mode, output, flags, wd, arch, timeout, line_map, nvcc)
    except CudaCompileError as err:
        err.source, err.cu, err.kernel_location = source, f"{name}.cu", kernel_location
        raise


def _run_nvcc(source: str, name: str, mode: str, output: str, flags: list[str], wd: Path, arch: str,
              timeout: float, line_map: dict[int, tuple[str, int, int]] | None,
              nvcc: str | None) -> tuple[str, float, list[str]]:
    exe = nvcc or find_nvcc()
    if exe is None:
        raise CudaToolchainError("nvcc was not found (looked on PATH, in $CUDA_HOME/bin and /usr/local/cuda/bin); "
                                 "install the CUDA toolkit or set CUDA_HOME")
    cu = f"{name}.cu"
    (wd / cu).write_text(source, encoding="utf-8")
    command = [exe, mode, *flags, "-o", output, cu]
    t0 = time.perf_counter()
    returncode, log = _execute(command, wd, output, timeout, arch)
    seconds = time.perf_counter() - t0
    if returncode == 0 and (wd / output).is_file():
        return log, seconds, command
    if any(m.origin == "ptxas" and m.ptx_line for m in _raw_messages(log)):
        # ptxas rejected the PTX (inline asm, ...): its lines name a PTX file without line info (a temporary
        # one for -cubin). Emit the PTX again with line info (nvcc -ptx runs ptxas on it too) so that each
        # PTX line leads back to a .cu line.
        retry = [exe, "-ptx", *flags, "-lineinfo", "-o", f"{name}.lineinfo.ptx", cu]
        _, retry_log = _execute(retry, wd, f"{name}.lineinfo.ptx", timeout, arch)
        if any(m.origin == "ptxas" and m.ptx_line for m in _raw_messages(retry_log)):
            log = retry_log
    raise _compile_error(log, returncode, source, cu, arch, command, line_map, wd)


def _execute(command: list[str], wd: Path, output: str, timeout: float, arch: str) -> tuple[int, str]:
    """Run nvcc in `wd`; (exit status, stdout + stderr). A run past `timeout` kills nvcc's process group."""
    (wd / output).unlink(missing_ok=True)
    try:
        proc = subprocess.Popen(command, cwd=wd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                start_new_session=True)
    except OSError as err:
        raise CudaToolchainError(f"could not run nvcc ({command[0]}): {err.strerror or err}") from None
    try:
        log, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)   # nvcc's children (cicc, ptxas) share its process group
        except ProcessLookupError:
            pass
        log, _ = proc.communicate()
        raise CudaCompileError(f"nvcc did not finish within {timeout:g} s compiling for {arch} and was stopped",
                               [NvccMessage(None, f"timed out after {timeout:g} s", origin="nvcc")], log or "",
                               command, arch) from None
    return proc.returncode, log


# ------------------------------------------------------------------------------------------- parsing

_ENTRY = re.compile(r"Compiling entry function '([^']+)' for '([^']+)'")
_PROPS = re.compile(r"Function properties for (\S+)")
_FRAME = re.compile(r"(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads")
_USED = re.compile(r"Used (\d+) registers(.*)")
_ITEM = re.compile(r"(?:used )?(\d+) (barriers|bytes smem|bytes cmem\[0\]|bytes cumulative stack size)")


def parse_ptxas_log(log: str, arch: str = "") -> dict[str, PtxasResources]:
    """Per-entry resources from ptxas -v output (kernel entries only, in the order ptxas printed them).

    Non-entry device functions also get a "Function properties" block; it is not attributed to
    the kernel compiled before it."""
    kernels: dict[str, PtxasResources] = {}
    entry: PtxasResources | None = None
    props: str | None = None
    for line in log.splitlines():
        if m := _ENTRY.search(line):
            entry = kernels[m.group(1)] = PtxasResources(m.group(1), m.group(2) or arch)
            props = None
        elif m := _PROPS.search(line):
            props = m.group(1)
        elif m := _FRAME.search(line):
            if props is not None and props in kernels:
                k = kernels[props]
                k.stack_frame_bytes, k.spill_store_bytes, k.spill_load_bytes = (int(g) for g in m.groups())
        elif (m := _USED.search(line)) and entry is not None:
            entry.registers = int(m.group(1))
            for value, what in _ITEM.findall(m.group(2)):
                if what == "barriers":
                    entry.barriers = int(value)
                elif what == "bytes smem":
                    entry.shared_bytes = int(value)
                elif what.startswith("bytes cmem"):
                    entry.cmem0_bytes = int(value)
                else:
                    entry.cumulative_stack_bytes = int(value)
    return kernels


_FRONT = re.compile(r"^(?P<file>.+?)\((?P<line>\d+)\): (?P<sev>catastrophic error|error|warning|remark)"
                    r"(?: #\d+(?:-[A-Z])?)?: (?P<msg>.*)$")
_PTXAS = re.compile(r"^ptxas(?: (?P<ptx>\S+), line (?P<line>\d+);)? ?(?P<sev>error|fatal|warning)\s*: (?P<msg>.*)$")
_DRIVER = re.compile(r"^nvcc (?P<sev>error|fatal|warning)\s*: (?P<msg>.*)$")
_LOC = re.compile(r"^\s*\.loc\s+(\d+)\s+(\d+)")
_FILE = re.compile(r'^\s*\.file\s+(\d+)\s+"([^"]*)"')


class _Raw(NamedTuple):
    origin: str              # "front" (cudafe/cicc), "ptxas" or "nvcc"
    severity: str
    message: str
    file: str | None = None  # the source file (front end) or the PTX file (ptxas)
    line: int | None = None
    ptx_line: int | None = None


def _raw_messages(log: str) -> list[_Raw]:
    out: list[_Raw] = []
    for raw in log.splitlines():
        line = raw.rstrip()
        if m := _FRONT.match(line):
            sev = "warning" if m["sev"] in ("warning", "remark") else "error"
            out.append(_Raw("front", sev, m["msg"].strip(), m["file"], int(m["line"])))
        elif m := _PTXAS.match(line):
            sev = "warning" if m["sev"] == "warning" else "error"
            out.append(_Raw("ptxas", sev, m["msg"].strip(), m["ptx"].rstrip(",") if m["ptx"] else None, None,
                            int(m["line"]) if m["line"] else None))
        elif m := _DRIVER.match(line):
            out.append(_Raw("nvcc", "warning" if m["sev"] == "warning" else "error", m["msg"].strip()))
    return out


def parse_messages(log: str, cu_name: str = "kernel.cu", line_map: dict[int, tuple[str, int, int]] | None = None,
                   workdir: Path | None = None) -> list[NvccMessage]:
    """The diagnostics in an nvcc log: front-end `file(line): error: ...`, `ptxas [file, line N;] error : ...`
    and `nvcc fatal : ...` lines (the source echo and caret lines after them are skipped). A ptxas line
    naming a PTX file that is in `workdir` gets that PTX line's text and, through the file's `.loc`
    line info, the `.cu` line it came from."""
    raws = _raw_messages(log)
    if sum(r.severity == "error" for r in raws) > 1:   # "Ptx assembly aborted due to errors" says nothing more
        raws = [r for r in raws if not (r.origin == "ptxas" and "aborted due to errors" in r.message)]
    out: list[NvccMessage] = []
    for r in raws:
        cu_line, origin, message = None, r.origin, r.message
        if r.origin == "front":
            ours = Path(r.file or "").name == cu_name
            cu_line = r.line if ours else None
            origin = cu_name if ours else f"{r.file}:{r.line}"
        elif r.ptx_line is not None:
            ptx_path = workdir / Path(r.file or "").name if workdir is not None and r.file else None
            text = ptx_path.read_text(encoding="utf-8").splitlines() if ptx_path and ptx_path.is_file() else []
            if 0 < r.ptx_line <= len(text):
                message += f" (PTX line {r.ptx_line}: {text[r.ptx_line - 1].strip()})"
                cu_line = ptx_source_line(text, r.ptx_line, cu_name)
            else:
                message += f" (PTX line {r.ptx_line})"
        out.append(NvccMessage(cu_line, message, r.severity, origin, map_line(cu_line, line_map)))
    return out


def ptx_source_line(ptx_lines: list[str], ptx_line: int, cu_name: str) -> int | None:
    """The `.cu` line of a PTX line: the nearest `.loc` above it whose file is `cu_name` (needs -lineinfo)."""
    files = {m.group(1) for ln in ptx_lines if (m := _FILE.match(ln)) and Path(m.group(2)).name == cu_name}
    for ln in reversed(ptx_lines[:ptx_line]):
        if (m := _LOC.match(ln)) and m.group(1) in files:
            return int(m.group(2))
    return None


def map_line(cu_line: int | None, line_map: dict[int, tuple[str, int, int]] | None) -> tuple[str, int, int] | None:
    """The user location of a generated line: its own entry, else the nearest mapped line above it."""
    if cu_line is None or not line_map:
        return None
    if cu_line in line_map:
        return tuple(line_map[cu_line])  # type: ignore[return-value]
    above = [k for k in line_map if k < cu_line]
    return tuple(line_map[max(above)]) if above else None  # type: ignore[return-value]


def _compile_error(log: str, returncode: int | None, source: str, cu: str, arch: str, command: list[str],
                   line_map: dict[int, tuple[str, int, int]] | None, workdir: Path | None = None) -> CudaCompileError:
    errors = [m for m in parse_messages(log, cu, line_map, workdir) if m.severity == "error"]
    src_lines = source.splitlines()
    shown = []
    for e in errors[:MAX_ERRORS_SHOWN]:
        if e.location:
            path, line, col = e.location
            where = f"{path}:{line}:{col + 1}: error: {e.message} (generated CUDA line {e.cu_line})"
        elif e.cu_line is not None:
            where = f"{cu}:{e.cu_line}: error: {e.message}"
        else:
            where = f"{e.origin}: error: {e.message}"
        shown.append("  " + where)
        if e.cu_line is not None and 0 < e.cu_line <= len(src_lines):
            shown.append("      " + src_lines[e.cu_line - 1].strip())
    if len(errors) > MAX_ERRORS_SHOWN:
        shown.append(f"  ... and {len(errors) - MAX_ERRORS_SHOWN} more")
    if not errors:
        tail = [ln for ln in log.strip().splitlines() if ln.strip()][-5:]
        shown = ["  " + ln for ln in tail] or [f"  nvcc exited with status {returncode} and printed nothing"]
        errors = [NvccMessage(None, "\n".join(tail) or f"nvcc exited with status {returncode}")]
    count = f"{len(errors)} error{'s' if len(errors) != 1 else ''}"
    message = f"nvcc could not compile the CUDA source for {arch} ({count}):\n" + "\n".join(shown)
    return CudaCompileError(message, errors, log, command, arch)
