"""Check every rule's documented examples against a real TileLang 0.1.15.

For each rule in ``analyzer.rules.REGISTRY`` and each of its examples (invalid
and valid) this module

1. writes the example to ``<workdir>/<code>_<kind>_<index>.py``;
2. runs tilelint on it in-process (the CLI, ``--format json`` plus the
   example's own ``args``) to find its kernels and their instantiations;
3. sends every instantiated kernel, in one run, to
   ``lower_with_cuda_source.py`` (``lower_with_tilelang.py`` that also saves the
   CUDA source) under the TileLang python, for each arch the example is
   checked for (the example's ``--arch``, else ``archs``);
4. optionally compiles each generated CUDA source with nvcc the way TileLang
   does (``-std=c++20 --cubin``, ``-arch=sm_90a`` for sm_90 like TileLang on a
   Hopper GPU): this is where static ``__shared__`` over 48 KiB fails;
5. compares the shared memory TileLang allocates (``dyn_shared_memory_buf``
   plus static ``__shared__``) with the arch's per-block limit, and the threads
   of the generated ``__launch_bounds__`` with CUDA's 1024 per block: over
   either, the kernel builds but cannot launch.

An example whose own ``@tilelang.jit(target=...)`` names an exact arch (``{"kind":
"cuda", "arch": "sm_90"}``) is compiled with that arch, as TileLang does: it
adds the ``a`` of sm_90a only for a target it detected itself.

Each example becomes one :class:`Row`; :func:`render_table` turns rows into the
Markdown table for the docs. Nothing here raises for a misbehaving example: an
example tilelint cannot instantiate (unbound sizes) or that does not parse is
"not lowerable (by design)", and any other failure is reported in the row.

Also usable from the command line (tilelint's python)::

    PYTHONPATH=. /work/venv/bin/python tests/oracle/rule_examples.py \\
        --oracle-python /work/tl-venv/bin/python --out rule-examples.md
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
ORACLE_SCRIPT = HERE / "lower_with_cuda_source.py"

# TileLang's outcome for one arch
LOWERS = "lowers"
REJECTS = "rejects"  # lowering (or parsing the kernel) raised
NVCC_REJECTS = "nvcc rejects"  # lowered, but the generated CUDA does not compile
FAILS_AT_LAUNCH = "fails at launch"  # builds, but needs more shared memory than the arch gives a block
NOT_APPLICABLE = "n.a."  # nothing to lower (syntax error, unbound sizes)
ORACLE_ERROR = "oracle error"  # timeout, crash, missing result: says nothing about the example
NOT_RUN = "not run"  # tilelint itself failed on the example, nothing was sent to TileLang
REJECTED = frozenset({REJECTS, NVCC_REJECTS, FAILS_AT_LAUNCH})

# opt-in shared memory per block (cudaFuncSetAttribute maximum), used when the
# analyzer's table does not know an arch
FALLBACK_LIMITS = {"sm_80": 166912, "sm_86": 101376, "sm_89": 101376, "sm_90": 232448}

MAX_THREADS_PER_BLOCK = 1024  # CUDA's limit: a larger block fails at launch ("invalid argument")

MESSAGE_CHARS = 160


# --------------------------------------------------------------------------- data


@dataclass
class ArchResult:
    status: str
    message: str = ""
    dyn_smem: int | None = None  # dyn_shared_memory_buf (max over device functions)
    static_smem: int = 0  # static __shared__ (scope "shared", barriers) of that function
    limit: int | None = None
    nvcc_checked: bool = False

    @property
    def total_smem(self) -> int | None:
        return None if self.dyn_smem is None else self.dyn_smem + self.static_smem


@dataclass
class Row:
    code: str
    severity: str  # "error" / "warning" / "information"
    kind: str  # "invalid" / "valid"
    index: int
    archs: tuple[str, ...] = ()
    path: str = ""
    expect: tuple[str, ...] = ()
    tilelint_codes: tuple[str, ...] = ()  # every code tilelint reported on the file
    flagged_archs: tuple[str, ...] = ()  # archs where tilelint reported this rule's code
    kernels: tuple[str, ...] = ()  # "site:kernel {instantiation}" sent to TileLang
    not_lowerable: str | None = None  # why nothing could be lowered (by design)
    problem: str | None = None  # something unexpected on our side (tilelint failed, bad args)
    per_arch: dict[str, ArchResult] = field(default_factory=dict)
    silent: bool = False  # TileLang accepts this invalid example; it fails at run time
    target_arch: str | None = None  # the exact arch the example's own target names (nvcc gets it as is)

    @property
    def label(self) -> str:
        return f"{self.kind}[{self.index}]"

    @property
    def lowered_everywhere(self) -> bool:
        return bool(self.archs) and all(self.status(a) == LOWERS for a in self.archs)

    def status(self, arch: str) -> str:
        if self.problem is not None:
            return NOT_RUN
        if self.not_lowerable is not None:
            return NOT_APPLICABLE
        r = self.per_arch.get(arch)
        return r.status if r is not None else ORACLE_ERROR

    @property
    def checked_archs(self) -> tuple[str, ...]:
        """For an invalid example: the archs where TileLang must reject it."""
        if self.kind == "invalid" and self.flagged_archs:
            return tuple(a for a in self.archs if a in self.flagged_archs) or self.archs
        return self.archs

    @property
    def asserted(self) -> bool:
        """Does the agreement check apply? Valid examples and invalid examples of error rules."""
        if self.not_lowerable is not None:
            return False
        return self.kind == "valid" or self.severity == "error"

    @property
    def agrees(self) -> bool | None:
        """None when not asserted; else whether TileLang agrees with the example's label."""
        if not self.asserted:
            return None
        if self.kind == "valid" or self.silent:
            return self.lowered_everywhere
        return all(self.status(a) in REJECTED for a in self.checked_archs)


# --------------------------------------------------------------------------- helpers


def short(text: Any, limit: int = MESSAGE_CHARS) -> str:
    """First non-empty line, at most `limit` characters."""
    first = ""
    for line in str(text).splitlines():
        if line.strip():
            first = line.strip()
            break
    first = re.sub(r"\s+", " ", first)
    return first if len(first) <= limit else first[: limit - 1] + "…"


def arch_limit(arch: str) -> int | None:
    try:
        from analyzer.arch import ARCHES

        if arch in ARCHES:
            return ARCHES[arch].shared_per_block
    except ImportError:  # pragma: no cover
        pass
    return FALLBACK_LIMITS.get(arch)


def nvcc_arch(arch: str) -> str:
    """The -arch TileLang gives nvcc: the 'a' variant from Hopper on (nvcc.get_target_arch)."""
    m = re.fullmatch(r"sm_(\d+)", arch)
    if m and int(m.group(1)) >= 90:
        return arch + "a"
    return arch


_EXPLICIT_ARCH = re.compile(r"""target\s*=\s*\{[^}]*["']arch["']\s*:\s*["'](sm_\w+)["']""")


def explicit_target_arch(source: str) -> str | None:
    """The arch an example's `target={"kind": "cuda", "arch": "sm_90"}` names, if any."""
    m = _EXPLICIT_ARCH.search(source)
    return m.group(1) if m else None


def launch_threads(cuda_source: str) -> int | None:
    """The largest `__launch_bounds__(N, ...)` thread count in generated CUDA source."""
    counts = [int(n) for n in re.findall(r"__launch_bounds__\((\d+)", cuda_source)]
    return max(counts) if counts else None


def _example_archs(args: tuple[str, ...], default: tuple[str, ...]) -> tuple[str, ...]:
    from analyzer.arch import parse_arch_list

    value = None
    for i, a in enumerate(args):
        if a == "--arch" and i + 1 < len(args):
            value = args[i + 1]
        elif a.startswith("--arch="):
            value = a.split("=", 1)[1]
    return tuple(parse_arch_list(value)) if value is not None else tuple(default)


def _run_tilelint(path: Path, args: tuple[str, ...], archs: tuple[str, ...]) -> tuple[dict[str, Any] | None, str]:
    """tilelint --format json on one file, in-process; returns (file entry, problem text)."""
    from tilelsp.lint_cli import main

    argv = list(args)
    if not any(a == "--arch" or a.startswith("--arch=") for a in argv):
        argv += ["--arch", ",".join(archs)]
    if not any(a == "--config" or a.startswith("--config=") for a in argv):
        argv.append("--no-config")
    argv += ["--format", "json", "--jobs", "1", str(path)]
    out, err = io.StringIO(), io.StringIO()
    try:
        with redirect_stdout(out), redirect_stderr(err):
            code = main(argv)
    except BaseException as exc:  # noqa: BLE001 - SystemExit from argparse too
        return None, f"tilelint raised {type(exc).__name__}: {short(exc)}"
    if code not in (0, 1):
        return None, f"tilelint exited {code}: {short(err.getvalue())}"
    try:
        files = json.loads(out.getvalue()).get("files") or []
    except ValueError:
        return None, "tilelint printed no JSON"
    return (files[0] if files else {"diagnostics": [], "kernels": []}), ""


def _is_oracle_failure(message: str) -> bool:
    text = message.removeprefix("import: ")
    return text.startswith(("Timeout", "ChildCrashed", "oracle:"))


def _record_error(record: dict[str, Any]) -> str:
    """The most telling message of a failed request."""
    error = str(record.get("error") or "")
    notes = [n for n in record.get("import_notes") or [] if not n.startswith("stubbed missing module")]
    if notes and ("has no attribute" in error or not error):
        # the kernel's definition failed at import (a module-level @T.prim_func TileLang's parser rejected)
        return re.sub(r"^line \d+: ", "", notes[0])
    return error


def _nvcc_first_error(output: str) -> str:
    lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
    for ln in lines:
        if re.search(r"\berror\b", ln, re.IGNORECASE):
            # drop the long path of the temporary file
            return re.sub(r"^\S+\.cu\(\d+\): ", "", ln)
    return lines[0] if lines else "nvcc failed without output"


def _compile(nvcc: str, source: str, includes: list[str], arch: str, timeout: float,
             exact: str | None = None) -> tuple[bool, str]:
    """nvcc as TileLang runs it; `exact`: the arch an explicit target names (used as is, no 'a' added)."""
    target = source[:-3] + ".cubin"
    flag = exact if exact is not None and exact.rstrip("a") == arch.rstrip("a") else nvcc_arch(arch)
    cmd = [nvcc, "-std=c++20", "-w", *[f"-I{p}" for p in includes], f"-arch={flag}", "--cubin", "-o", target, source]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return False, f"nvcc timed out after {timeout:g}s"
    except OSError as exc:
        return False, f"nvcc could not run: {exc}"
    Path(source[:-3] + ".nvcc.log").write_text(" ".join(cmd) + "\n\n" + proc.stdout + proc.stderr)
    if proc.returncode == 0:
        return True, ""
    return False, _nvcc_first_error(proc.stdout + "\n" + proc.stderr)


def _smem_of(arch_result: dict[str, Any]) -> tuple[int, int]:
    """(dyn_shared_memory_buf, static shared) of the device function that needs most in total."""
    kernels: dict[str, int] = {k: int(v) for k, v in (arch_result.get("kernels") or {}).items()}
    static: dict[str, int] = {k: int(v) for k, v in (arch_result.get("static_shared_bytes") or {}).items()}
    other = arch_result.get("other_shared_bytes") or {}
    names = set(kernels) | set(static) | set(other)
    if not names:
        return int(arch_result.get("dyn_shared_memory_buf") or 0), 0
    best = (0, 0)
    for name in names:
        st = static.get(name, 0) + sum(max(int(v), 0) for v in (other.get(name) or {}).values())
        pair = (kernels.get(name, 0), st)
        if sum(pair) > sum(best):
            best = pair
    return best


# --------------------------------------------------------------------------- the check


def verify_examples(
    oracle_python: str,
    workdir: Path,
    archs: Iterable[str] = ("sm_80", "sm_90"),
    extra_path: str | None = None,
    *,
    jobs: int = 2,
    timeout: float = 180.0,
    nvcc: str | None = "auto",
    codes: Iterable[str] | None = None,
) -> list[Row]:
    """One Row per example of every registered rule (or of `codes`); see the module doc.

    `nvcc`: path of nvcc, "auto" (the one on PATH, if any) or None (no compile check).
    """
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    from analyzer.rules import REGISTRY

    archs = tuple(archs)
    workdir = Path(workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    cuda_dir = workdir / "cuda"
    cuda_dir.mkdir(exist_ok=True)
    if nvcc == "auto":
        nvcc = shutil.which("nvcc")
    wanted = {c.upper() for c in codes} if codes is not None else None

    rows: list[Row] = []
    requests: list[dict[str, Any]] = []
    owners: list[Row] = []  # request index -> row
    for rule in sorted(REGISTRY.values(), key=lambda r: r.code):
        if wanted is not None and rule.code not in wanted:
            continue
        for kind, examples in (("invalid", rule.invalid), ("valid", rule.valid)):
            for index, ex in enumerate(examples):
                row = Row(rule.code, rule.severity.label, kind, index, expect=tuple(ex.expect),
                          silent=getattr(ex, "tilelang", "") == "silent", target_arch=explicit_target_arch(ex.source))
                rows.append(row)
                path = workdir / f"{rule.code}_{kind}_{index}.py"
                row.path = str(path)
                try:
                    path.write_text(ex.source, encoding="utf-8")
                    row.archs = _example_archs(tuple(ex.args), archs)
                except Exception as exc:  # noqa: BLE001
                    row.problem = f"{type(exc).__name__}: {short(exc)}"
                    continue
                entry, problem = _run_tilelint(path, tuple(ex.args), row.archs)
                if entry is None:
                    row.problem = problem
                    continue
                diags = entry.get("diagnostics") or []
                row.tilelint_codes = tuple(sorted({d["code"] for d in diags}))
                own = [d for d in diags if d["code"] == rule.code]
                if any(d.get("arch") is None for d in own):
                    row.flagged_archs = row.archs
                else:
                    row.flagged_archs = tuple(a for a in row.archs if any(d.get("arch") == a for d in own))
                if "TL901" in row.tilelint_codes:
                    row.not_lowerable = "not lowerable (by design): syntax error"
                    continue
                kernels = entry.get("kernels") or []
                ready = [k for k in kernels if not k.get("unbound")]
                if not ready:
                    if kernels:
                        unbound = sorted({u for k in kernels for u in k.get("unbound") or []})
                        row.not_lowerable = f"not lowerable (by design): tilelint cannot instantiate it (unbound {', '.join(unbound)})"
                    else:
                        row.not_lowerable = "not lowerable (by design): no kernel to instantiate"
                    continue
                groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
                for k in ready:
                    key = (k.get("site") or k.get("name"), json.dumps(k.get("instantiation") or {}, sort_keys=True, default=str))
                    groups.setdefault(key, []).append(k)
                names = []
                for (site, _), group in groups.items():
                    k = group[0]
                    inst = k.get("instantiation") or {}
                    names.append(f"{site}:{'/'.join(g.get('name') or '' for g in group)} {inst}")
                    requests.append(
                        {
                            "path": str(path),
                            "site": site,
                            "style": k.get("style") or "factory",
                            "kernel": k.get("name") if len(group) == 1 else [g.get("name") for g in group],
                            "instantiation": inst,
                            "archs": list(row.archs),
                        }
                    )
                    owners.append(row)
                row.kernels = tuple(names)

    results: dict[int, dict[str, Any]] = {}
    oracle_problem = ""
    if requests:
        req_file = workdir / "requests.json"
        out_file = workdir / "results.jsonl"
        req_file.write_text(json.dumps(requests, indent=1, default=str))
        env = dict(os.environ)
        env["TL_ORACLE_CUDA_DIR"] = str(cuda_dir)
        if extra_path:
            env["PYTHONPATH"] = os.pathsep.join(p for p in (extra_path, env.get("PYTHONPATH")) if p)
        cmd = [oracle_python, str(ORACLE_SCRIPT), str(req_file), "--jobs", str(jobs), "--timeout", str(timeout),
               "--log", str(workdir / "lowering.log"), "-o", str(out_file)]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=max(600.0, timeout * len(requests)))
            if proc.returncode != 0:
                oracle_problem = f"lower_with_cuda_source.py exited {proc.returncode}: {short(proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else '')}"
            (workdir / "oracle.stderr").write_text(proc.stderr)
        except (OSError, subprocess.TimeoutExpired) as exc:
            oracle_problem = f"oracle run failed: {type(exc).__name__}: {short(exc)}"
        if out_file.exists():
            for line in out_file.read_text().splitlines():
                if line.strip():
                    try:
                        rec = json.loads(line)
                        results[int(rec["index"])] = rec
                    except (ValueError, KeyError):
                        continue

    # nvcc, in parallel, on every lowering that produced CUDA source
    compiled: dict[tuple[int, str], tuple[bool, str]] = {}
    if nvcc:
        todo = []
        for i, rec in results.items():
            for arch, res in (rec.get("result") or {}).items():
                if "error" not in res and res.get("cuda_source"):
                    todo.append((i, arch, res["cuda_source"], list(res.get("nvcc_includes") or [])))
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            futures = {(i, arch): pool.submit(_compile, nvcc, src, inc, arch, max(timeout, 300.0), owners[i].target_arch)
                       for i, arch, src, inc in todo}
            compiled = {key: f.result() for key, f in futures.items()}

    # combine the requests of each row, arch by arch
    by_row: dict[int, list[int]] = {}
    for i, row in enumerate(owners):
        by_row.setdefault(id(row), []).append(i)
    for row in rows:
        if row.problem is not None or row.not_lowerable is not None:
            continue
        for arch in row.archs:
            limit = arch_limit(arch)
            outcome = ArchResult(LOWERS, limit=limit, nvcc_checked=bool(nvcc))
            dyn, static = 0, 0
            block = 0  # the largest __launch_bounds__ thread count of the generated kernels
            errors: list[tuple[str, str]] = []  # (status, message), worst first after sorting
            for i in by_row.get(id(row), []):
                rec = results.get(i)
                if rec is None:
                    errors.append((ORACLE_ERROR, oracle_problem or "the oracle produced no result for this kernel"))
                    continue
                if "error" in rec or "result" not in rec:
                    msg = _record_error(rec)
                    errors.append((ORACLE_ERROR if _is_oracle_failure(msg) else REJECTS, msg))
                    continue
                res = (rec.get("result") or {}).get(arch)
                if res is None:
                    errors.append((ORACLE_ERROR, f"no result for {arch}"))
                    continue
                if "error" in res:
                    msg = str(res["error"])
                    errors.append((ORACLE_ERROR if _is_oracle_failure(msg) else REJECTS, msg))
                    continue
                d, s = _smem_of(res)
                if d + s > dyn + static:
                    dyn, static = d, s
                if res.get("cuda_source"):
                    try:
                        block = max(block, launch_threads(Path(res["cuda_source"]).read_text()) or 0)
                    except OSError:
                        pass
                ok, msg = compiled.get((i, arch), (True, ""))
                if nvcc and (i, arch) not in compiled:
                    ok, msg = False, "no CUDA source came back to compile"
                    errors.append((ORACLE_ERROR, msg))
                elif not ok:
                    errors.append((NVCC_REJECTS, msg))
            outcome.dyn_smem, outcome.static_smem = dyn, static
            order = {REJECTS: 0, NVCC_REJECTS: 1, ORACLE_ERROR: 2}
            if errors:
                errors.sort(key=lambda e: order[e[0]])
                outcome.status, outcome.message = errors[0][0], short(errors[0][1])
            elif limit is not None and dyn + static > limit:
                outcome.status = FAILS_AT_LAUNCH
                outcome.message = f"{dyn + static} > {limit}"
            elif block > MAX_THREADS_PER_BLOCK:
                outcome.status = FAILS_AT_LAUNCH
                outcome.message = f"__launch_bounds__({block}): {block} > {MAX_THREADS_PER_BLOCK} threads per block"
            row.per_arch[arch] = outcome
    return rows


# --------------------------------------------------------------------------- rendering


def _md(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ").strip()


def _expected(row: Row) -> str:
    if row.kind == "valid":
        return "clean"
    text = row.severity
    if row.silent:
        text += " (TileLang accepts it: wrong at run time)"
    if row.flagged_archs and tuple(row.flagged_archs) != tuple(row.archs):
        text += " on " + ", ".join(row.flagged_archs)
    elif not row.flagged_archs and row.problem is None:
        text += " (tilelint silent)"
    return text


def _by_arch(row: Row, values: dict[str, str]) -> str:
    """'x' when every arch says x, else 'x on sm_80; y on sm_90' (archs with equal values merged)."""
    distinct: dict[str, list[str]] = {}
    for arch in row.archs:
        distinct.setdefault(values.get(arch, ""), []).append(arch)
    if len(distinct) == 1:
        return next(iter(distinct))
    return "; ".join(f"{v} on {', '.join(a)}" for v, a in distinct.items() if v)


def _smem_text(r: ArchResult) -> str:
    if r.dyn_smem is None:
        return ""
    used = f"{r.dyn_smem}" + (f" + {r.static_smem} static" if r.static_smem else "")
    if r.limit is None:
        return f"{used} B"
    return f"{used} {'>' if (r.total_smem or 0) > r.limit else '≤'} {r.limit}"


def _message(row: Row) -> str:
    if row.problem is not None:
        return row.problem
    if row.not_lowerable is not None:
        return row.not_lowerable
    budget = row.code.startswith("TL1")
    texts: dict[str, str] = {}
    for arch in row.archs:
        r = row.per_arch.get(arch)
        if r is None:
            texts[arch] = "no result"
        elif r.status == FAILS_AT_LAUNCH:
            texts[arch] = r.message if r.message.startswith("__launch_bounds__") else _smem_text(r)
        elif r.status != LOWERS:
            texts[arch] = ("nvcc: " if r.status == NVCC_REJECTS else "") + r.message
        elif budget:
            texts[arch] = _smem_text(r)
        else:
            texts[arch] = ""
    distinct = set(texts.values())
    if len(distinct) == 1:
        return distinct.pop()
    return "; ".join(f"{a}: {t}" for a, t in texts.items() if t)


def _tilelang(row: Row) -> str:
    if row.problem is not None:
        return NOT_RUN
    if row.not_lowerable is not None:
        return NOT_APPLICABLE
    return _by_arch(row, {a: row.status(a) for a in row.archs})


def render_table(rows: list[Row]) -> str:
    """The Markdown table: one line per example."""
    lines = [
        "| rule | example | expected | TileLang | TileLang's message or number |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        example = row.label + (f" ({', '.join(row.archs)})" if row.archs else "")
        lines.append(f"| {row.code} | {_md(example)} | {_md(_expected(row))} | {_md(_tilelang(row))} | {_md(_message(row))} |")
    return "\n".join(lines) + "\n"


def render_summary(rows: list[Row], nvcc: bool = True) -> str:
    checked = [r for r in rows if r.asserted]
    bad = [r for r in checked if not r.agrees]
    text = [
        f"{len(rows)} examples of {len({r.code for r in rows})} rules; {len(checked)} checked "
        f"(valid examples, invalid examples of error rules), {len(checked) - len(bad)} agree with TileLang"
        + (f", disagreeing: {', '.join(f'{r.code} {r.label}' for r in bad)}" if bad else "") + ".",
        "",
        "*rejects*: TileLang raised while building or lowering the kernel; "
        + ("*nvcc rejects*: the CUDA source TileLang generated does not compile (`nvcc -std=c++20 --cubin`, "
           "`-arch=sm_90a` for sm_90 as TileLang does on Hopper); " if nvcc else "")
        + "*fails at launch*: it builds but needs more shared memory than the arch allows per block "
        "(TileLang's `dyn_shared_memory_buf` + static `__shared__` vs the limit, in bytes), or its "
        "`__launch_bounds__` asks for more than 1024 threads per block; an example whose own target names an "
        "exact arch (`{\"kind\": \"cuda\", \"arch\": \"sm_90\"}`) is compiled for that arch, as TileLang does; "
        "warning and information rules are recorded, not checked.",
    ]
    return "\n".join(text) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Lower every rule example with TileLang and print the table.")
    ap.add_argument("--oracle-python", default=os.environ.get("TILELSP_ORACLE_PYTHON", "/work/tl-venv/bin/python"))
    ap.add_argument("--workdir", help="where the example files, requests and CUDA sources go (default: a new temp dir)")
    ap.add_argument("--archs", default="sm_80,sm_90")
    ap.add_argument("--extra-path", default=os.environ.get("TILELSP_ORACLE_EXTRA_PATH"))
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=180.0)
    ap.add_argument("--no-nvcc", action="store_true")
    ap.add_argument("--codes", help="only these rule codes, comma-separated")
    ap.add_argument("--out", help="write the table here (default: stdout)")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    workdir = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="rule-examples-"))
    rows = verify_examples(
        args.oracle_python, workdir, tuple(a for a in args.archs.split(",") if a), args.extra_path,
        jobs=args.jobs, timeout=args.timeout, nvcc=None if args.no_nvcc else "auto",
        codes=args.codes.split(",") if args.codes else None,
    )
    text = render_table(rows) + "\n" + render_summary(rows, nvcc=not args.no_nvcc)
    if args.out:
        Path(args.out).write_text(text)
    else:
        sys.stdout.write(text)
    print(f"{len(rows)} examples in {time.perf_counter() - t0:.1f}s; work files in {workdir}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    sys.exit(main())
