"""False-alarm check: does TileLang 0.1.15 really reject what tilelint calls an error?

tilelint runs over one or more corpus folders (by default TileLang's examples
and TileLang's own tests); every diagnostic of severity ``error`` is matched to
the kernel instantiations tilelint reported for it, and each of those is lowered
by a real TileLang (``lower_with_cuda_source.py`` under the TileLang python, one
child process per file) for the archs the diagnostic is about: its own ``arch``,
or every checked arch when it has none. Each error then comes out as

confirmed
    TileLang rejects it on that arch (on every arch for an arch-free
    diagnostic): building or lowering the kernel raised, nvcc does not compile
    the CUDA TileLang generated (``static_assert`` failures included), or the
    kernel cannot launch: ``dyn_shared_memory_buf`` + static ``__shared__`` of
    its device function exceeds ``analyzer.arch.ARCHES[arch].shared_per_block``
    (what TL101 says), or its ``__launch_bounds__`` exceed 1024 threads;
false alarm
    TileLang lowers, nvcc compiles and the kernel fits, on an arch the error
    is about;
unknown
    the oracle could not build it (the file does not import, the site is not a
    module attribute, a missing package, the instantiation cannot be
    reproduced, a timeout or crash, the diagnostic names no kernel): the
    reason is reported;
not instantiated
    tilelint has no full instantiation of the kernel (unbound sizes): nothing to
    lower;
silent rule
    TileLang accepts it, but the rule documents cases TileLang does not catch
    (some of its invalid examples are marked ``tilelang="silent"``, e.g. a grid
    too large to launch): the oracle cannot judge it; listed for a human.

Diagnostics carry the kernel's name, not its instantiation. The candidates of
an error are the instantiated kernels of that name whose definition is the
nearest one above the diagnostic (a file may define several ``main``); for
TL101 only those whose shared memory on that arch is the number in the message.
``n`` identical diagnostics (tilelint reports one per instantiation) are
matched to ``n`` distinct candidates, the ones TileLang rejects first: an error
is confirmed when TileLang rejects at least one instantiation it may be about.

The oracle results are cached by request (file content, site, instantiation,
arch, TileLang version) in a JSON file, so a rerun after an analyzer change only
lowers what is new. Oracle failures (timeouts, crashes) are not cached.

Command line (tilelint's python)::

    PYTHONPATH=. /work/venv/bin/python tests/oracle/false_alarms.py \\
        /work/corpus/examples /work/corpus/testing \\
        --oracle-python /work/tl-venv/bin/python \\
        --extra-path /work/scratch/oracle_helper/extra-site --out false-alarms.md

The opt-in pytest is ``tests/oracle/test_false_alarms.py``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Collection, Iterable

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
for _p in (str(HERE), str(REPO)):
    if _p not in sys.path:
        sys.path.insert(0, _p)

import rule_examples as rx  # noqa: E402
from test_oracle_smem import Kernel, _device_name, _tilelang_number, build_requests, collect_kernels  # noqa: E402

ARCHS = ("sm_80", "sm_90")
DEFAULT_CORPORA = ("/work/corpus/examples", "/work/corpus/testing")
ORACLE_SCRIPT = HERE / "lower_with_cuda_source.py"
CACHE_VERSION = 1
BYTES_IN_MESSAGE = frozenset({"TL101"})  # "... (212992 B) exceeds ...": matched to instantiations by that number
MAX_THREADS_PER_BLOCK = 1024  # CUDA's limit: a larger block fails at launch
MESSAGE_HEAD = 110

# verdicts of an error diagnostic
CONFIRMED = "confirmed"
FALSE_ALARM = "false alarm"
UNKNOWN = "unknown"
NOT_INSTANTIATED = "not instantiated"
SILENT = "silent rule"
VERDICTS = (CONFIRMED, FALSE_ALARM, UNKNOWN, NOT_INSTANTIATED, SILENT)

# TileLang's outcome for one (instantiation, arch)
LOWERS = "lowers"  # lowered, compiled (when nvcc is on) and, for TL101, fits
NOT_FOUND = "not lowered"  # the oracle gave nothing for it


def default_cache() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "tilelint", "false-alarms-oracle.json")


# --------------------------------------------------------------------------- data


@dataclass
class Corpus:
    path: Path
    label: str
    py_files: int = 0
    files: int = 0  # in tilelint's output
    files_with_kernels: int = 0
    kernels: int = 0
    instantiated: int = 0  # kernels without unbound sizes
    severities: Counter = field(default_factory=Counter)
    by_code: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))  # severity -> code -> n
    tilelint_seconds: float = 0.0
    tilelint_problem: str = ""


@dataclass
class Outcome:
    """TileLang on one candidate instantiation for one arch."""

    status: str  # rx.REJECTS / rx.NVCC_REJECTS / rx.FAILS_AT_LAUNCH / LOWERS / rx.ORACLE_ERROR
    message: str = ""


@dataclass
class Finding:
    """One error diagnostic of tilelint."""

    corpus: str
    path: str  # absolute
    rel: str  # corpus label / path inside it
    code: str
    arch: str | None
    kernel: str | None
    line: int  # 1-based
    message: str
    candidates: list[Kernel] = field(default_factory=list)  # instantiated kernels it may be about
    siblings: list[list[str]] = field(default_factory=list)  # per candidate: other kernel names of its (site, instantiation)
    unbound: list[str] = field(default_factory=list)  # unbound names of candidates without instantiation
    match: str = ""
    group: int = 1  # identical diagnostics (same code, arch, kernel, range, message)
    verdict: str = ""
    detail: str = ""  # TileLang's result (or why nothing is known)
    instance: Kernel | None = None  # the candidate this diagnostic was matched to
    statuses: tuple[str, ...] = ()  # TileLang's outcome on that candidate, per arch checked

    @property
    def where(self) -> str:
        return f"{self.rel}:{self.line}"

    def archs(self, all_archs: Iterable[str]) -> tuple[str, ...]:
        return (self.arch,) if self.arch else tuple(all_archs)


# --------------------------------------------------------------------------- helpers


def file_sha(path: str) -> str:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]
    except OSError:
        return "missing"


def request_key(k: Kernel, version: str, shas: dict[str, str] | None = None) -> str:
    """The cache key of a (file content, site, instantiation) lowering, arch excluded."""
    sha = shas[k.path] if shas is not None and k.path in shas else file_sha(k.path)
    inst = json.dumps(k.instantiation, sort_keys=True, default=str)
    return f"{k.path}::{k.site}::{k.style}::{inst}::{sha}::tilelang-{version}"


def _rel(path: str, corpus: Path, label: str) -> str:
    try:
        return f"{label}/{Path(path).relative_to(corpus)}"
    except ValueError:
        return path


def _md(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ").strip()


def _head(text: str, limit: int = MESSAGE_HEAD) -> str:
    return rx.short(text, limit)


def _inst(inst: dict[str, Any], limit: int = 90) -> str:
    text = ", ".join(f"{k}={v}" for k, v in inst.items())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def silent_codes() -> dict[str, str]:
    """Rules with invalid examples TileLang accepts (documented ``tilelang="silent"``): code -> "all" / "some"."""
    try:
        from analyzer.rules import REGISTRY
    except ImportError:  # pragma: no cover
        return {}
    out = {}
    for code, rule in REGISTRY.items():
        marks = [getattr(ex, "tilelang", "") == "silent" for ex in getattr(rule, "invalid", []) or []]
        if any(marks):
            out[code] = "all" if all(marks) else "some"
    return out


_BYTES = re.compile(r"\((\d+) B\)")

# errors that say something about the oracle's environment, not about the kernel
_ENVIRONMENT = (
    "ModuleNotFoundError",
    "ImportError",
    "No module named",
    "_Stub",
    "CUDA driver",
    "NVIDIA driver",
    "no CUDA GPUs",
    "Torch not compiled with CUDA",
    "cudaGetDevice",
    "CUDA_HOME",
    "nvidia-smi",
    "No CUDA GPUs",
    "Found no NVIDIA",
    "libcuda",
    "Failed to get device properties",  # tilelang.carver's driver queries (get_num_sms) need a GPU
)
# the oracle's own complaints about a site, and inspect.Signature.bind's (a jit wrapper binding the arguments)
_NOT_REPRODUCIBLE = re.compile(
    r"site returned \w+, not a PrimFunc|site is a \w+, not a kernel|instantiation given for a PrimFunc object"
    r"|^TypeError: (missing a required argument|got an unexpected keyword argument|too many positional arguments"
    r"|multiple values for argument)"
)
# Python's complaint about calling a function with the wrong arguments: about the site, the instantiation is wrong
_BAD_CALL = re.compile(r"^TypeError: (\w+)\(\) (got an unexpected keyword|missing \d+ required|takes \d+|got multiple values)")


def oracle_side(message: str, site: str | None = None) -> str | None:
    """Why an error message is the oracle's problem (None: TileLang or the kernel's own code rejected it).

    A TypeError about calling `site` itself means the instantiation did not fit
    it; one about calling anything else (``tcgen05_gemm() missing 1 required
    keyword-only argument``), an AttributeError or a NameError means the file's
    code does not match this TileLang's API (the corpus may be newer), or that
    module-level code defining a name failed at import (a GPU query): neither
    says anything about the kernel."""
    text = message.removeprefix("import: ")
    bad = _BAD_CALL.match(text)
    if bad:
        return "instantiation not reproducible" if site is not None and bad.group(1) == site else "API mismatch"
    if text.startswith(("AttributeError", "NameError")) and "module has no attribute" not in text:
        return "API mismatch or failed module-level code"
    if rx._is_oracle_failure(message):
        return text.split(":", 1)[0].lower() if text.startswith(("Timeout", "ChildCrashed")) else "oracle failure"
    if message.startswith("import: "):
        return "the file does not import"
    if _NOT_REPRODUCIBLE.search(text):
        return "instantiation not reproducible"
    if any(marker in text for marker in _ENVIRONMENT):
        return "needs a missing package or a GPU"
    if "module has no attribute" in text:
        return "module attribute error"
    return None


def _site_defined_at(path: str, lineno: int, site: str) -> bool:
    """Does the top-level statement at `lineno` define `site` (its def, or an assignment to it)?"""
    import ast

    try:
        tree = ast.parse(Path(path).read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return False
    for node in tree.body:
        if node.lineno != lineno:
            continue
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            return node.name == site
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        return any(isinstance(t, ast.Name) and t.id == site for t in targets)
    return False


def record_failure(entry: dict[str, Any], kernel: Kernel) -> Outcome:
    """A request-level or arch-level error: TileLang rejecting, or the oracle failing."""
    message = str(entry.get("error") or "")
    if "module has no attribute" in message:
        # the site's own definition may have failed at import: TileLang's parser rejecting a module-level prim_func
        for note in entry.get("import_notes") or []:
            m = re.match(r"line (\d+): (.*)", note)
            if m and _site_defined_at(kernel.path, int(m.group(1)), kernel.site):
                inner = m.group(2)
                why = oracle_side(inner, kernel.site)
                if why is None:
                    return Outcome(rx.REJECTS, f"defining {kernel.site} raised {inner}")
                return Outcome(rx.ORACLE_ERROR, f"{why}: {inner}")
    why = oracle_side(message, kernel.site)
    if why is not None:
        return Outcome(rx.ORACLE_ERROR, f"{why}: {message}")
    return Outcome(rx.REJECTS, message)


def _name_matches(name: str, built: str) -> bool:
    return name == built or (name.startswith(built + "_") and name[len(built) + 1 :].isdigit())


def kernel_smem(arch_result: dict[str, Any], kernel: Kernel, built: str | None) -> tuple[int, int]:
    """(dyn_shared_memory_buf, static shared) of the kernel's device function."""
    kernels = arch_result.get("kernels") or {}
    wanted = _device_name(kernel.name, built)
    if wanted in kernels or (len(kernels) == 1 and not arch_result.get("static_shared_bytes")):
        dyn, _ = _tilelang_number(arch_result, kernel.name, built)
        name = wanted if wanted in kernels else next(iter(kernels))
        static = int((arch_result.get("static_shared_bytes") or {}).get(name, 0))
        static += sum(max(int(v), 0) for v in ((arch_result.get("other_shared_bytes") or {}).get(name) or {}).values())
        return dyn, static
    return rx._smem_of(arch_result)


def launch_threads(arch_result: dict[str, Any]) -> int | None:
    """Threads per block of the generated kernels (their largest ``__launch_bounds__``), if the CUDA source is there."""
    if "launch_threads" not in arch_result:
        src = arch_result.get("cuda_source")
        try:
            text = Path(src).read_text(encoding="utf-8") if src else None
        except OSError:
            text = None
        if text is None:
            return None
        counts = [int(n) for n in re.findall(r"__launch_bounds__\((\d+)", text)]
        arch_result["launch_threads"] = max(counts) if counts else None
    return arch_result["launch_threads"]


def launch_failure(arch_result: dict[str, Any], kernel: Kernel, built: str | None, limit: int | None) -> str | None:
    """Why a kernel TileLang built cannot launch: more shared memory than the arch gives a block, or too many threads."""
    dyn, static = kernel_smem(arch_result, kernel, built)
    if limit is not None and dyn + static > limit:
        return f"shared memory {dyn}" + (f"+{static} static" if static else "") + f" > {limit} B"
    threads = launch_threads(arch_result)
    if threads is not None and threads > MAX_THREADS_PER_BLOCK:
        return f"__launch_bounds__({threads}): more than {MAX_THREADS_PER_BLOCK} threads per block"
    return None


def outcome(entry: dict[str, Any] | None, kernel: Kernel, arch: str, limit: int | None,
            nvcc_on: bool, siblings: Iterable[str] = ()) -> Outcome:
    """What TileLang did with `kernel` on `arch`.

    `entry` is the cache entry of (kernel's request, arch); `siblings` the other
    tilelint kernel names of the same request (a factory may build only one of them)."""
    if entry is None:
        return Outcome(rx.ORACLE_ERROR, "the oracle gave no result")
    if "result" not in entry:
        return record_failure(entry, kernel)
    built = entry.get("prim_func")
    if built and not _name_matches(kernel.name, built) and any(_name_matches(s, built) for s in siblings):
        return Outcome(rx.ORACLE_ERROR, f"instantiation not reproducible: TileLang built {built}, not {kernel.name}")
    res = entry["result"]
    if "error" in res:
        return record_failure({"error": res["error"], "import_notes": entry.get("import_notes")}, kernel)
    why = launch_failure(res, kernel, built, limit)
    if why is not None:
        return Outcome(rx.FAILS_AT_LAUNCH, why)
    nv = entry.get("nvcc")
    if nv is not None and not nv[0]:
        msg = str(nv[1])
        if msg.startswith(("nvcc timed out", "nvcc could not run", "no CUDA source")):
            return Outcome(rx.ORACLE_ERROR, msg)
        return Outcome(rx.NVCC_REJECTS, f"nvcc: {msg}")
    if nvcc_on and nv is None:
        return Outcome(rx.ORACLE_ERROR, "lowered, but not compiled")
    dyn, static = kernel_smem(res, kernel, built)
    used = f"{dyn}" + (f"+{static} static" if static else "")
    fits = f"{used} ≤ {limit}" if limit is not None else f"{used} B"
    threads = launch_threads(res)
    return Outcome(LOWERS, f"lowers{', nvcc compiles' if nv is not None else ''}, shared memory {fits}"
                   + (f", {threads} threads" if threads else ""))


def needs_compile(entry: dict[str, Any] | None, kernel: Kernel, limit: int | None) -> bool:
    """Would nvcc's verdict change anything for this (candidate, arch)?"""
    if entry is None or "result" not in entry or "error" in entry["result"] or entry.get("nvcc") is not None:
        return False
    return launch_failure(entry["result"], kernel, entry.get("prim_func"), limit) is None


# --------------------------------------------------------------------------- tilelint side


def collect_findings(tilelint_json: dict[str, Any], corpus: Corpus, archs: Iterable[str] = ARCHS) -> list[Finding]:
    """Fill the corpus tallies and return its error diagnostics, matched to candidate instantiations."""
    archs = tuple(archs)
    tally, _ = collect_kernels(tilelint_json, REPO, archs)
    corpus.files = tally.tilelint_files
    corpus.files_with_kernels = tally.files_with_kernels
    corpus.kernels = tally.kernels_found
    findings: list[Finding] = []
    for f in tilelint_json.get("files") or []:
        path = os.path.realpath(f["path"] if os.path.isabs(f["path"]) else REPO / f["path"])
        raw = list(f.get("kernels") or [])
        corpus.instantiated += sum(1 for k in raw if not k.get("unbound"))
        groups: Counter = Counter()
        errors = []
        for d in f.get("diagnostics") or []:
            sev = d.get("severity") or "?"
            corpus.severities[sev] += 1
            corpus.by_code[sev][d.get("code") or "?"] += 1
            if sev == "error":
                rng = d.get("range") or {}
                start = rng.get("start") or {}
                gkey = (d.get("code"), d.get("arch"), d.get("kernel"), start.get("line"), start.get("character"), d.get("message"))
                groups[gkey] += 1
                errors.append((d, gkey))
        for d, gkey in errors:
            line = int(((d.get("range") or {}).get("start") or {}).get("line") or 0) + 1
            finding = Finding(
                corpus=corpus.label, path=path, rel=_rel(path, corpus.path, corpus.label), code=d.get("code") or "?",
                arch=d.get("arch"), kernel=d.get("kernel"), line=line, message=d.get("message") or "", group=groups[gkey],
            )
            _match(finding, raw, path)
            findings.append(finding)
    return findings


def _to_kernel(k: dict[str, Any], path: str, archs: tuple[str, ...] = ARCHS) -> Kernel:
    return Kernel(
        path=path,
        site=k.get("site") or k.get("name") or "",
        style=k.get("style") or "factory",
        name=k.get("name") or "",
        line=k.get("line"),
        instantiation=k.get("instantiation") or {},
        per_arch={a: ((k.get("per_arch") or {}).get(a) or {}).get("shared_memory_bytes") for a in archs},
    )


def _match(finding: Finding, raw: list[dict[str, Any]], path: str) -> None:
    if not finding.kernel:
        finding.match = "no kernel named"
        return
    same = [k for k in raw if k.get("name") == finding.kernel]
    if not same:
        finding.match = "kernel not in tilelint's list"
        return
    lines = {k.get("line") or 0 for k in same}
    above = [ln for ln in lines if ln <= finding.line]
    how = "name"
    if len(lines) > 1 and above:
        nearest = max(above)
        same = [k for k in same if (k.get("line") or 0) == nearest]
        how = "name+line"
    if finding.code in BYTES_IN_MESSAGE:
        m = _BYTES.search(finding.message)
        if m:
            want = int(m.group(1))

            def smem(k):
                if finding.arch:
                    return ((k.get("per_arch") or {}).get(finding.arch) or {}).get("shared_memory_bytes")
                return k.get("shared_memory_bytes")

            by_bytes = [k for k in same if smem(k) == want]
            if by_bytes:
                same = by_bytes
                how += "+bytes"
    # buffers the message names that only some candidates allocate
    named = set(re.findall(r"[A-Za-z_]\w*", finding.message))
    buffers = [{b.get("name") for b in k.get("buffers") or []} for k in same]
    telling = {n for n in named if any(n in b for b in buffers) and not all(n in b for b in buffers)}
    if telling and any(telling <= b for b in buffers):
        same = [k for k, b in zip(same, buffers) if telling <= b]
        how += "+buffers"
    ready = [k for k in same if not k.get("unbound")]
    finding.unbound = sorted({u for k in same if k.get("unbound") for u in k["unbound"]})
    finding.candidates = [_to_kernel(k, path) for k in ready]
    for k in ready:
        # a factory builds one PrimFunc per call: the other kernels tilelint found for the same call
        inst = k.get("instantiation") or {}
        finding.siblings.append(sorted({
            o.get("name") or "" for o in raw
            if o.get("name") != k.get("name") and o.get("site") == k.get("site") and (o.get("instantiation") or {}) == inst
        }))
    n = len(same)
    if n <= finding.group:
        finding.match = how + (" (exact)" if n == finding.group else f" ({n} instantiations for {finding.group} diagnostics)")
    else:
        finding.match = how + f" ({finding.group} of {n} instantiations)"
    if len(ready) < n:
        finding.match += f", {n - len(ready)} not instantiated"


def run_tilelint(corpus: Corpus, archs: Iterable[str], python: str = sys.executable, saved: str | None = None,
                 timeout: float = 3600.0) -> dict[str, Any]:
    """tilelint --format json over one corpus folder (or a saved output of it)."""
    t0 = time.perf_counter()
    try:
        if saved:
            return json.loads(Path(saved).read_text())
        cmd = [python, "-m", "tilelsp.lint_cli", "--format", "json", "--arch", ",".join(archs), str(corpus.path)]
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=timeout)
        try:
            return json.loads(proc.stdout)
        except ValueError:
            corpus.tilelint_problem = f"tilelint exited {proc.returncode} without JSON: {rx.short(proc.stderr[-2000:])}"
            return {"files": []}
    finally:
        corpus.tilelint_seconds = time.perf_counter() - t0


# --------------------------------------------------------------------------- oracle side


@dataclass
class OracleRun:
    requests: int = 0  # distinct (file, site, instantiation) needed
    lowerings: int = 0  # (request, arch) needed
    cached: int = 0
    lowered: int = 0  # (request, arch) lowered by this run
    compiles: int = 0  # nvcc runs this run
    compiles_cached: int = 0
    lowering_seconds: float = 0.0
    nvcc_seconds: float = 0.0
    summary: str = ""
    problem: str = ""
    workdir: str = ""


def load_cache(path: str | None) -> dict[str, dict[str, Any]]:
    if not path or not os.path.exists(path):
        return {}
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return {}
    if data.get("version") != CACHE_VERSION:
        return {}
    return dict(data.get("entries") or {})


def save_cache(path: str | None, entries: dict[str, dict[str, Any]]) -> None:
    if not path:
        return
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    tmp = path + ".tmp"
    Path(tmp).write_text(json.dumps({"version": CACHE_VERSION, "entries": entries}, indent=0, sort_keys=True, default=str))
    os.replace(tmp, path)


def _cacheable(entry: dict[str, Any]) -> bool:
    msgs = [str(entry.get("error") or ""), str((entry.get("result") or {}).get("error") or "")]
    return not any(m and rx._is_oracle_failure(m) for m in msgs)


def tilelang_version(python: str) -> str:
    probe = subprocess.run([python, "-c", "import importlib.metadata as m; print(m.version('tilelang'))"],
                           capture_output=True, text=True, timeout=120)
    return probe.stdout.strip() if probe.returncode == 0 else "?"


def _exact_arch(skey: str, arch: str) -> tuple[str, ...]:
    """The arch a file's own ``target={"kind": "cuda", "arch": "sm_90"}`` names, for nvcc (as rule_examples does)."""
    finder = getattr(rx, "explicit_target_arch", None)
    if finder is None:
        return ()
    try:
        exact = finder(Path(skey.split("::", 1)[0]).read_text(encoding="utf-8"))
    except OSError:
        return ()
    return (exact,) if exact else ()


def request_keys(findings: list[Finding], version: str) -> dict[int, str]:
    """The request key of every candidate, by ``id()`` of the candidate."""
    shas: dict[str, str] = {}
    keys: dict[int, str] = {}
    for f in findings:
        for k in f.candidates:
            if k.path not in shas:
                shas[k.path] = file_sha(k.path)
            keys[id(k)] = request_key(k, version, shas)
    return keys


def lower(findings: list[Finding], store: dict[str, dict[str, Any]], oracle_python: str, version: str,
          archs: Iterable[str], workdir: Path, *, extra_path: str | None = None, jobs: int = 2,
          timeout: float = 180.0, nvcc: str | None = None, cache_path: str | None = None) -> tuple[OracleRun, dict[int, str]]:
    """Lower (and compile) every candidate of every finding that the store lacks.

    `store` maps ``request_key|arch`` to entries; it is updated in place (and
    saved to `cache_path`). Returns the run's tallies and each candidate's
    request key, by ``id()`` of the candidate."""
    archs = tuple(archs)
    run = OracleRun(workdir=str(workdir))
    keys = request_keys(findings, version)
    need: dict[str, Kernel] = {}  # request key -> one of its kernels
    uses: dict[str, list[Kernel]] = defaultdict(list)  # "key|arch" -> the candidates that need it
    for f in findings:
        for k in f.candidates:
            need.setdefault(keys[id(k)], k)
            for arch in f.archs(archs):
                uses[f"{keys[id(k)]}|{arch}"].append(k)
    run.requests = len(need)
    run.lowerings = len(uses)

    def compile_wanted(skey: str) -> bool:
        arch = skey.rsplit("|", 1)[1]
        return any(needs_compile(store.get(skey), k, rx.arch_limit(arch)) for k in uses[skey])

    todo: dict[tuple[str, ...], list[Kernel]] = defaultdict(list)
    for key, k in need.items():
        missing = []
        for arch in archs:
            skey = f"{key}|{arch}"
            if skey not in uses:
                continue
            entry = store.get(skey)
            stale = (entry is not None and bool(nvcc) and compile_wanted(skey)
                     and not os.path.exists(str((entry.get("result") or {}).get("cuda_source") or "")))
            if entry is None or stale:  # stale: lowered by a run without nvcc, no CUDA source to compile
                missing.append(arch)
            else:
                run.cached += 1
        if missing:
            todo[tuple(missing)].append(k)

    requests: list[dict[str, Any]] = []
    req_keys: list[str] = []
    for arch_set, kernels in todo.items():
        reqs, members = build_requests(kernels, arch_set)
        requests += reqs
        req_keys += [keys[id(group[0])] for group in members]

    workdir.mkdir(parents=True, exist_ok=True)
    cuda_dir = Path(tempfile.mkdtemp(prefix="cuda-", dir=workdir))  # fresh: cached entries point at older sources
    t0 = time.perf_counter()
    if requests:
        req_file = workdir / "requests.json"
        out_file = workdir / "results.jsonl"
        req_file.write_text(json.dumps(requests, indent=1, default=str))
        env = dict(os.environ)
        env["TL_ORACLE_CUDA_DIR"] = str(cuda_dir)  # nvcc compiles them; their __launch_bounds__ give the block size
        if extra_path:
            env["PYTHONPATH"] = os.pathsep.join(p for p in (extra_path, env.get("PYTHONPATH")) if p)
        cmd = [oracle_python, str(ORACLE_SCRIPT), str(req_file), "--jobs", str(jobs), "--timeout", str(timeout),
               "--log", str(workdir / "lowering.log"), "-o", str(out_file)]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=max(1800.0, timeout * len(requests)))
            (workdir / "oracle.stderr").write_text(proc.stderr)
            tail = proc.stderr.strip().splitlines()
            run.summary = tail[-1] if tail else ""
            if proc.returncode != 0:
                run.problem = f"{ORACLE_SCRIPT.name} exited {proc.returncode}: {rx.short(run.summary)}"
        except (OSError, subprocess.TimeoutExpired) as exc:
            run.problem = f"oracle run failed: {type(exc).__name__}: {rx.short(exc)}"
        if out_file.exists():
            for line in out_file.read_text().splitlines():
                if not line.strip():
                    continue
                try:
                    rec = json.loads(line)
                    index = int(rec["index"])
                except (ValueError, KeyError):
                    continue
                common = {"prim_func": rec.get("prim_func"), "import_notes": rec.get("import_notes") or [],
                          "seconds": rec.get("seconds")}
                for arch in requests[index]["archs"]:
                    if "error" in rec or "result" not in rec:
                        entry = {**common, "error": rec.get("error") or "no result"}
                    else:
                        res = (rec.get("result") or {}).get(arch)
                        entry = {**common, "result": res if res is not None else {"error": f"oracle: no result for {arch}"}}
                    store[f"{req_keys[index]}|{arch}"] = entry
                    run.lowered += 1
    run.lowering_seconds = time.perf_counter() - t0

    # nvcc, only where its verdict matters
    t0 = time.perf_counter()
    if nvcc:
        run.compiles_cached = sum(1 for skey in uses if (store.get(skey) or {}).get("nvcc") is not None)
        work = []
        for skey in uses:
            if compile_wanted(skey):
                res = store[skey]["result"]
                arch = skey.rsplit("|", 1)[1]
                work.append((skey, arch, str(res.get("cuda_source") or ""), list(res.get("nvcc_includes") or [])))
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            futures = {
                skey: pool.submit(rx._compile, nvcc, src, inc, arch, max(timeout, 300.0), *_exact_arch(skey, arch))
                if os.path.exists(src) else None
                for skey, arch, src, inc in work
            }
            for skey, fut in futures.items():
                store[skey]["nvcc"] = list(fut.result()) if fut is not None else [False, "no CUDA source came back to compile"]
                run.compiles += 1
    run.nvcc_seconds = time.perf_counter() - t0
    if cache_path:
        save_cache(cache_path, {k: v for k, v in store.items() if _cacheable(v)})
    return run, keys


# --------------------------------------------------------------------------- classification

_RANK = {CONFIRMED: 0, UNKNOWN: 1, NOT_INSTANTIATED: 2, SILENT: 3, FALSE_ALARM: 4}


def describe(outcomes: dict[str, Outcome]) -> str:
    """'msg' when every arch says the same, else 'sm_80: msg; sm_90: msg'."""
    texts = {a: o.message if o.status == LOWERS else f"{o.status}: {o.message}" for a, o in outcomes.items()}
    if len(set(texts.values())) == 1:
        return next(iter(texts.values()))
    return "; ".join(f"{a}: {t}" for a, t in texts.items())


def candidate_verdict(outcomes: dict[str, Outcome], code: str, silent: Collection[str] = ()) -> str:
    """One candidate over the archs an error is about."""
    statuses = [o.status for o in outcomes.values()]
    if statuses and all(s in rx.REJECTED for s in statuses):
        return CONFIRMED
    if LOWERS in statuses:
        return SILENT if code in silent else FALSE_ALARM
    return UNKNOWN


def classify(findings: list[Finding], store: dict[str, dict[str, Any]], keys: dict[int, str],
             archs: Iterable[str] = ARCHS, *, nvcc_on: bool = True, silent: Collection[str] = (),
             limits: dict[str, int | None] | None = None) -> list[Finding]:
    """Give every finding its verdict (in place); identical diagnostics share out their candidates.

    `store` maps ``request_key|arch`` to oracle entries, `keys` a candidate's
    ``id()`` to its request key (both as :func:`lower` leaves them)."""
    archs = tuple(archs)
    limits = limits if limits is not None else {a: rx.arch_limit(a) for a in archs}
    by_group: dict[tuple, list[Finding]] = defaultdict(list)
    for f in findings:
        by_group[(f.path, f.code, f.arch, f.kernel, f.line, f.message, f.match)].append(f)
    for group in by_group.values():
        f0 = group[0]
        slots: list[tuple[int, str, str, Kernel | None, tuple[str, ...]]] = []
        for k, sibs in zip(f0.candidates, f0.siblings or [[]] * len(f0.candidates)):
            key = keys.get(id(k), "")
            outs = {a: outcome(store.get(f"{key}|{a}"), k, a, limits.get(a), nvcc_on, sibs) for a in f0.archs(archs)}
            verdict = candidate_verdict(outs, f0.code, silent)
            slots.append((_RANK[verdict], verdict, describe(outs), k, tuple(o.status for o in outs.values())))
        if f0.unbound:
            # an instantiation tilelint could not complete may be the flagged one too
            slots.append((_RANK[NOT_INSTANTIATED], NOT_INSTANTIATED, "unbound: " + ", ".join(f0.unbound), None, ()))
        if not slots:
            slots.append((_RANK[UNKNOWN], UNKNOWN, f0.match, None, ()))
        slots.sort(key=lambda s: s[0])  # stable: tilelint's order among equals
        for i, f in enumerate(group):
            _, f.verdict, f.detail, f.instance, f.statuses = slots[i % len(slots)]
    return findings




# --------------------------------------------------------------------------- report


def _count_table(findings: list[Finding]) -> list[str]:
    codes = sorted({f.code for f in findings})
    lines = ["| rule | errors | " + " | ".join(VERDICTS) + " |", "|---|---:|" + "---:|" * len(VERDICTS)]
    for code in codes + ["all"]:
        sel = [f for f in findings if code == "all" or f.code == code]
        c = Counter(f.verdict for f in sel)
        name = "**all**" if code == "all" else code
        lines.append(f"| {name} | {len(sel)} | " + " | ".join(str(c.get(v, 0)) for v in VERDICTS) + " |")
    return lines


def _finding_rows(findings: list[Finding], with_inst: bool = True) -> list[str]:
    lines = ["| where | code | arch | kernel | instantiation | match | message | TileLang |", "|---|---|---|---|---|---|---|---|"]
    for f in sorted(findings, key=lambda f: (f.rel, f.line, f.code, f.arch or "")):
        inst = _inst(f.instance.instantiation) if (with_inst and f.instance is not None) else ""
        lines.append(
            f"| {_md(f.where)} | {f.code} | {f.arch or 'all'} | {_md(f.kernel or '')} | {_md(inst)} | {_md(f.match)} "
            f"| {_md(_head(f.message))} | {_md(_head(f.detail, 220))} |"
        )
    return lines


def render_report(corpora: list[Corpus], findings: list[Finding], run: OracleRun, *, command: str = "",
                  seconds: float = 0.0, archs: Iterable[str] = ARCHS, nvcc: str | None = None,
                  version: str = "?", silent: dict[str, str] | None = None) -> str:
    archs = tuple(archs)
    count = Counter(f.verdict for f in findings)
    lines = [f"# tilelint errors vs TileLang {version}: false-alarm check", ""]
    lines += [
        f"**{len(findings)} errors: {count.get(CONFIRMED, 0)} confirmed, {count.get(FALSE_ALARM, 0)} false alarms, "
        f"{count.get(UNKNOWN, 0)} unknown, {count.get(NOT_INSTANTIATED, 0)} not instantiated"
        + (f", {count.get(SILENT, 0)} on silent rules" if count.get(SILENT) else "") + f"** (archs {', '.join(archs)}).",
        "",
    ]
    cols = [c.label for c in corpora] + (["total"] if len(corpora) > 1 else [])

    def row(title: str, values: list[Any]) -> str:
        if len(corpora) > 1:
            values = values + [sum(values)]
        return f"| {title} | " + " | ".join(str(v) for v in values) + " |"

    lines += ["| | " + " | ".join(cols) + " |", "|---|" + "---:|" * len(cols)]
    lines.append(row("`*.py` files", [c.py_files for c in corpora]))
    lines.append(row("files scanned by tilelint", [c.files for c in corpora]))
    lines.append(row("files with kernels", [c.files_with_kernels for c in corpora]))
    lines.append(row("kernels", [c.kernels for c in corpora]))
    lines.append(row("instantiated kernels (no unbound size)", [c.instantiated for c in corpora]))
    for sev in ("error", "warning", "information"):
        lines.append(row(f"{sev} diagnostics", [c.severities.get(sev, 0) for c in corpora]))
    for verdict in VERDICTS:
        lines.append(row(f"errors {verdict}", [sum(1 for f in findings if f.corpus == c.label and f.verdict == verdict) for c in corpora]))
    lines.append("")
    lines += [
        f"Oracle: {run.requests} distinct (file, site, instantiation) requests, {run.lowerings} (request, arch) lowerings "
        f"needed: {run.cached} from the cache, {run.lowered} lowered now ({run.lowering_seconds:.0f}s); "
        + (f"nvcc `{nvcc}`: {run.compiles} compiled now, {run.compiles_cached} from the cache ({run.nvcc_seconds:.0f}s)."
           if nvcc else "nvcc off: lowerings are not compiled.")
        + (f" Lowering: {run.summary}." if run.summary else "")
        + (f" **Problem: {run.problem}**" if run.problem else ""),
        "",
    ]
    for c in corpora:
        if c.tilelint_problem:
            lines += [f"**tilelint on {c.label}: {c.tilelint_problem}**", ""]

    lines += ["## Errors by rule", ""] + _count_table(findings) + [""]
    lines += [
        "*confirmed*: TileLang rejects it on the arch it is about, on every arch when it names none: building or "
        "lowering raised, nvcc rejects the generated CUDA, or it cannot launch (`dyn_shared_memory_buf` + static "
        "shared > the arch's limit, or `__launch_bounds__` > 1024 threads); *false alarm*: TileLang lowers, compiles "
        "and can launch it there; *unknown*: the oracle could not build it; *not instantiated*: tilelint has no full "
        "instantiation of the kernel; *silent rule*: TileLang accepts it and the rule documents cases TileLang does not "
        "catch (" + (", ".join(f"{c} ({how} of its invalid examples)" for c, how in sorted((silent or {}).items())) or "none")
        + "): the oracle cannot judge it, check these by hand. Identical diagnostics "
        "are matched to distinct instantiations of the kernel, those TileLang rejects first.",
        "",
    ]
    for title, verdict in (("False alarms", FALSE_ALARM), ("Unknown", UNKNOWN), ("Silent rules", SILENT)):
        sel = [f for f in findings if f.verdict == verdict]
        if verdict == SILENT and not sel:
            continue
        lines += [f"## {title} ({len(sel)})", ""]
        lines += (_finding_rows(sel) if sel else ["none"]) + [""]
    sel = [f for f in findings if f.verdict == NOT_INSTANTIATED]
    lines += [f"## Not instantiated ({len(sel)})", ""]
    if sel:
        lines += ["| where | code | arch | kernel | unbound |", "|---|---|---|---|---|"]
        for f in sorted(sel, key=lambda f: (f.rel, f.line)):
            lines.append(f"| {_md(f.where)} | {f.code} | {f.arch or 'all'} | {_md(f.kernel or '')} | {_md(', '.join(f.unbound))} |")
    else:
        lines.append("none")
    lines.append("")
    sel = [f for f in findings if f.verdict == CONFIRMED]
    how = Counter(s for f in sel for s in set(f.statuses))
    lines += [f"## Confirmed ({len(sel)})", ""]
    if sel:
        lines += ["TileLang's verdict on the arch(s) checked: " + ", ".join(f"{s}: {n}" for s, n in how.most_common())
                  + " (a TileLang message unrelated to the rule still confirms that the kernel does not build).", ""]
    lines += (_finding_rows(sel) if sel else ["none"]) + [""]

    lines += ["## Warnings and information by rule", ""]
    for sev in ("warning", "information"):
        codes = sorted({code for c in corpora for code in c.by_code.get(sev, {})})
        lines += [f"| {sev} | " + " | ".join(cols) + " |", "|---|" + "---:|" * len(cols)]
        for code in codes:
            lines.append(row(code, [c.by_code.get(sev, Counter()).get(code, 0) for c in corpora]))
        lines.append(row("**all**", [c.severities.get(sev, 0) for c in corpora]))
        lines.append("")
    lines += [
        "## Run",
        "",
        f"- command: `{command}`" if command else "- command: (library call)",
        f"- took {seconds:.0f}s: tilelint "
        + ", ".join(f"{c.label} {c.tilelint_seconds:.0f}s" for c in corpora)
        + f"; lowering {run.lowering_seconds:.0f}s; nvcc {run.nvcc_seconds:.0f}s",
        f"- oracle work files: `{run.workdir}`" if run.workdir else "",
        "",
    ]
    return "\n".join(lines)


# --------------------------------------------------------------------------- driver


def check(corpora_paths: Iterable[str], oracle_python: str, *, archs: Iterable[str] = ARCHS, extra_path: str | None = None,
          jobs: int = 2, timeout: float = 180.0, nvcc: str | None = "auto", cache: str | None = None,
          workdir: str | None = None, tilelint_json: Iterable[str | None] | None = None,
          command: str = "") -> tuple[list[Corpus], list[Finding], OracleRun, str]:
    """The whole check; returns (corpora, findings, oracle run, Markdown report)."""
    t0 = time.perf_counter()
    archs = tuple(archs)
    if nvcc == "auto":
        nvcc = shutil.which("nvcc")
    paths = [Path(os.path.realpath(p)) for p in corpora_paths]
    saved = list(tilelint_json or [])
    saved += [None] * (len(paths) - len(saved))
    corpora: list[Corpus] = []
    findings: list[Finding] = []
    labels = Counter(p.name for p in paths)
    for p, s in zip(paths, saved):
        label = p.name if labels[p.name] == 1 else str(p)
        corpus = Corpus(p, label, py_files=sum(1 for _ in p.rglob("*.py")) if p.is_dir() else 1)
        data = run_tilelint(corpus, archs, saved=s)
        findings += collect_findings(data, corpus, archs)
        corpora.append(corpus)
    version = tilelang_version(oracle_python)
    store = load_cache(cache)
    work = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="false-alarms-"))
    run, keys = lower(findings, store, oracle_python, version, archs, work, extra_path=extra_path, jobs=jobs,
                      timeout=timeout, nvcc=nvcc, cache_path=cache)
    silent = silent_codes()
    classify(findings, store, keys, archs, nvcc_on=bool(nvcc), silent=silent)
    report = render_report(corpora, findings, run, command=command, seconds=time.perf_counter() - t0, archs=archs,
                           nvcc=nvcc, version=version, silent=silent)
    return corpora, findings, run, report


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Lower every kernel tilelint reports an error on with TileLang: false alarms?")
    ap.add_argument("corpora", nargs="*", help=f"folders to lint (default: {' '.join(DEFAULT_CORPORA)})")
    ap.add_argument("--oracle-python", default=os.environ.get("TILELSP_ORACLE_PYTHON", "/work/tl-venv/bin/python"))
    ap.add_argument("--extra-path", default=os.environ.get("TILELSP_ORACLE_EXTRA_PATH"),
                    help="prepended to PYTHONPATH for the TileLang side only")
    ap.add_argument("--archs", default=",".join(ARCHS))
    ap.add_argument("--jobs", "-j", type=int, default=2, help="files lowered (and nvcc runs) in parallel (default 2)")
    ap.add_argument("--timeout", type=float, default=180.0, help="seconds a lowering may take (default 180)")
    ap.add_argument("--cache", default=default_cache(), help="JSON cache of oracle results (default: %(default)s; '' for none)")
    ap.add_argument("--no-nvcc", action="store_true", help="do not compile TileLang's CUDA")
    ap.add_argument("--nvcc", default="auto", help="nvcc to use (default: the one on PATH)")
    ap.add_argument("--workdir", help="requests, results, CUDA sources and the lowering log (default: a new temp dir)")
    ap.add_argument("--tilelint-json", action="append", help="saved tilelint JSON, one per corpus in order (skips tilelint)")
    ap.add_argument("--out", help="write the Markdown report here (default: stdout)")
    args = ap.parse_args(argv)
    corpora = args.corpora or [p for p in DEFAULT_CORPORA if os.path.isdir(p)]
    if not corpora:
        ap.error("no corpus folder given and none of the defaults exists")
    command = " ".join(shlex.quote(a) for a in [sys.executable, os.path.relpath(__file__, os.getcwd()), *(argv if argv is not None else sys.argv[1:])])
    _, findings, _, report = check(
        corpora, args.oracle_python, archs=tuple(a for a in args.archs.split(",") if a), extra_path=args.extra_path,
        jobs=args.jobs, timeout=args.timeout, nvcc=None if args.no_nvcc else args.nvcc, cache=args.cache or None,
        workdir=args.workdir, tilelint_json=args.tilelint_json, command=command,
    )
    if args.out:
        Path(args.out).write_text(report)
    else:
        sys.stdout.write(report)
    count = Counter(f.verdict for f in findings)
    print(f"false_alarms: {len(findings)} errors, " + ", ".join(f"{count.get(v, 0)} {v}" for v in VERDICTS), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
