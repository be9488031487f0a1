"""Compare tilelint's shared-memory prediction with what TileLang 0.1.15 lowers.

Opt-in (``pytest -m oracle tests/oracle``). Needs:

``TILELSP_ORACLE_PYTHON``
    the python of a TileLang 0.1.15 installation (CPU only is fine), e.g.
    ``/work/tl-venv/bin/python``;
``TILELSP_ORACLE_CORPUS``
    a folder of TileLang examples, e.g. ``/work/corpus/examples``.

Optional: ``TILELSP_ORACLE_REPORT`` (Markdown report path, default
``oracle-report.md`` in the test's tmp dir), ``TILELSP_ORACLE_JOBS`` (files
lowered in parallel, default 2), ``TILELSP_ORACLE_TIMEOUT`` (seconds a lowering
child may go without progress, default 180), ``TILELSP_ORACLE_TILELINT_JSON``
(reuse a saved ``tilelint --format json`` output instead of running tilelint),
``TILELSP_ORACLE_MIN_RATE`` (default 0.95), ``TILELSP_ORACLE_EXTRA_PATH``
(prepended to PYTHONPATH for the TileLang side only, e.g. a
``pip install --target DIR einops packaging`` folder: ~47 examples import
them and TileLang 0.1.15 does not depend on them).

tilelint runs in this interpreter (``python -m tilelsp.lint_cli``); TileLang
runs only in ``tests/oracle/lower_with_tilelang.py`` under the oracle python.
The TileLang number compared is ``dyn_shared_memory_buf`` of the device
function that matches the tilelint kernel (`f_kernel` for kernel `f`,
`f_kernel_1` for the second `T.Kernel` block `f_1`); static ``shared``
buffers and mbarriers are outside that arena and are not compared (the
report lists them).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SCRIPT = HERE / "lower_with_tilelang.py"
ARCHS = ("sm_80", "sm_90")
EXPECTED_TILELANG = "0.1.15"


# --------------------------------------------------------------------------- data


@dataclass
class Kernel:
    """One fully instantiated kernel reported by tilelint."""

    path: str  # absolute
    site: str
    style: str
    name: str
    line: int | None
    instantiation: dict[str, Any]
    per_arch: dict[str, int | None]

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.path, self.site, json.dumps(self.instantiation, sort_keys=True, default=str))


@dataclass
class Row:
    kernel: Kernel
    arch: str
    tilelint: int | None
    tilelang: int | None = None
    error: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def compared(self) -> bool:
        return self.tilelint is not None and self.tilelang is not None

    @property
    def match(self) -> bool:
        return self.compared and self.tilelint == self.tilelang


@dataclass
class Tally:
    example_files: int = 0
    tilelint_files: int = 0
    files_with_kernels: int = 0
    kernels_found: int = 0
    kernels_instantiated: int = 0
    requests: int = 0
    kernels_lowered: int = 0  # instantiated kernels TileLang lowered for every arch
    not_built: list[Kernel] = field(default_factory=list)  # other prim_func of a factory
    rows: list[Row] = field(default_factory=list)
    request_errors: list[tuple[Kernel, str]] = field(default_factory=list)


# --------------------------------------------------------------------------- logic


def _resolve(path: str, base: Path) -> str:
    p = Path(path)
    if not p.is_absolute():
        p = base / p
    return os.path.realpath(p)


def collect_kernels(tilelint_json: dict[str, Any], base: Path, archs=ARCHS) -> tuple[Tally, list[Kernel]]:
    """Count what tilelint saw and keep the fully instantiated kernels."""
    tally = Tally()
    kept: list[Kernel] = []
    files = tilelint_json.get("files") or []
    tally.tilelint_files = len(files)
    for f in files:
        kernels = f.get("kernels") or []
        if kernels:
            tally.files_with_kernels += 1
        tally.kernels_found += len(kernels)
        for k in kernels:
            if k.get("unbound") or k.get("shared_memory_bytes") is None:
                continue
            tally.kernels_instantiated += 1
            per_arch = {}
            for arch in archs:
                entry = (k.get("per_arch") or {}).get(arch) or {}
                per_arch[arch] = entry.get("shared_memory_bytes")
            kept.append(
                Kernel(
                    path=_resolve(f["path"], base),
                    site=k.get("site") or k.get("name"),
                    style=k.get("style") or "factory",
                    name=k.get("name") or "",
                    line=k.get("line"),
                    instantiation=k.get("instantiation") or {},
                    per_arch=per_arch,
                )
            )
    return tally, kept


def build_requests(kernels: list[Kernel], archs=ARCHS) -> tuple[list[dict[str, Any]], list[list[Kernel]]]:
    """One request per (file, site, instantiation); several tilelint kernels may share it."""
    groups: dict[tuple, list[Kernel]] = {}
    for k in kernels:
        groups.setdefault(k.key, []).append(k)
    requests, members = [], []
    for group in groups.values():
        k = group[0]
        requests.append(
            {
                "path": k.path,
                "site": k.site,
                "style": k.style,
                "kernel": k.name if len(group) == 1 else [g.name for g in group],
                "instantiation": k.instantiation,
                "archs": list(archs),
            }
        )
        members.append(group)
    return requests, members


def _device_name(kernel_name: str, built: str | None) -> str:
    """The device function TileLang makes for a tilelint kernel.

    tilelint names the n-th extra `T.Kernel` block of a function `f` as `f_n`;
    TileLang names the device functions `f_kernel`, `f_kernel_1`, ...
    """
    base = built or kernel_name
    if kernel_name != base and kernel_name.startswith(base + "_") and kernel_name[len(base) + 1 :].isdigit():
        return f"{base}_kernel_{kernel_name[len(base) + 1:]}"
    return f"{kernel_name}_kernel"


def _tilelang_number(arch_result: dict[str, Any], kernel_name: str = "", built: str | None = None) -> tuple[int, list[str]]:
    """`dyn_shared_memory_buf` of the device function that matches the tilelint kernel."""
    kernels: dict[str, int] = dict(arch_result.get("kernels") or {})
    static: dict[str, int] = dict(arch_result.get("static_shared_bytes") or {})
    notes = []
    if any(v > 0 for v in static.values()):
        notes.append("static shared (not compared) " + ", ".join(f"{n}={v}" for n, v in sorted(static.items())))
    if not kernels:
        return int(arch_result.get("dyn_shared_memory_buf") or 0), notes
    wanted = _device_name(kernel_name, built)
    if wanted in kernels:
        return int(kernels[wanted]), notes
    if len(kernels) == 1:
        return int(next(iter(kernels.values()))), notes
    notes.append("max of %d device fns (%s)" % (len(kernels), ", ".join(f"{n}={v}" for n, v in sorted(kernels.items()))))
    return max(int(v) for v in kernels.values()), notes


def compare(tally: Tally, members: list[list[Kernel]], results: dict[int, dict[str, Any]], archs=ARCHS) -> Tally:
    """Fill ``tally.rows`` from the oracle's JSON lines (keyed by request index)."""
    tally.requests = len(members)
    for index, group in enumerate(members):
        res = results.get(index)
        if res is None:
            res = {"error": "oracle produced no line for this request"}
        if "error" in res:
            tally.request_errors.append((group[0], res["error"]))
            for k in group:
                for arch in archs:
                    tally.rows.append(Row(k, arch, k.per_arch.get(arch), error=res["error"]))
            continue
        built = res.get("prim_func")
        targets = group
        if len(group) > 1:
            by_name = [
                k
                for k in group
                if built is not None
                and (k.name == built or (k.name.startswith(built + "_") and k.name[len(built) + 1 :].isdigit()))
            ]
            if by_name:
                targets = by_name
                tally.not_built.extend(k for k in group if k not in by_name)
        for k in targets:
            lowered_everywhere = True
            for arch in archs:
                r = (res.get("result") or {}).get(arch)
                row = Row(k, arch, k.per_arch.get(arch))
                if r is None:
                    row.error = "arch not lowered"
                    lowered_everywhere = False
                elif "error" in r:
                    row.error = r["error"]
                    lowered_everywhere = False
                else:
                    row.tilelang, row.notes = _tilelang_number(r, k.name, built)
                if len(targets) > 1:
                    row.notes.append(f"{len(targets)} tilelint kernels for one built PrimFunc ({built})")
                tally.rows.append(row)
            if lowered_everywhere:
                tally.kernels_lowered += 1
    return tally


def rates(tally: Tally, archs=ARCHS) -> dict[str, tuple[int, int]]:
    out = {}
    for arch in archs:
        rows = [r for r in tally.rows if r.arch == arch and r.compared]
        out[arch] = (sum(r.match for r in rows), len(rows))
    return out


def _md(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _rel(path: str, corpus: Path) -> str:
    try:
        return str(Path(path).relative_to(corpus))
    except ValueError:
        return path


def _inst(inst: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in inst.items())


def render_report(tally: Tally, corpus: Path, archs=ARCHS, extra: list[str] | None = None) -> str:
    lines = ["# tilelint vs TileLang 0.1.15: shared memory", ""]
    lines += [
        "| | count |",
        "|---|---:|",
        f"| example files (`*.py` in the corpus) | {tally.example_files} |",
        f"| files in tilelint's output | {tally.tilelint_files} |",
        f"| files where tilelint found kernels | {tally.files_with_kernels} |",
        f"| kernels found | {tally.kernels_found} |",
        f"| kernels instantiated | {tally.kernels_instantiated} |",
        f"| distinct (file, site, instantiation) lowered | {tally.requests} |",
        f"| kernels TileLang could lower (every arch) | {tally.kernels_lowered} |",
        f"| other prim_funcs of a factory, not built by this instantiation | {len(tally.not_built)} |",
        "",
        "| arch | compared | match | rate | tilelint has no number | TileLang error |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for arch, (ok, n) in rates(tally, archs).items():
        no_tl = sum(1 for r in tally.rows if r.arch == arch and r.tilelint is None and r.tilelang is not None)
        err = sum(1 for r in tally.rows if r.arch == arch and r.error)
        rate = f"{100.0 * ok / n:.1f}%" if n else "n/a"
        lines.append(f"| {arch} | {n} | {ok} | {rate} | {no_tl} | {err} |")
    lines.append("")
    if extra:
        lines += extra + [""]

    mism = [r for r in tally.rows if r.compared and not r.match]
    lines += [f"## Mismatches ({len(mism)})", ""]
    if mism:
        lines += ["| file | line | site | kernel | instantiation | arch | tilelint | TileLang | diff | note |", "|---|---:|---|---|---|---|---:|---:|---:|---|"]
        for r in sorted(mism, key=lambda r: (r.kernel.path, r.kernel.line or 0, r.arch)):
            k = r.kernel
            lines.append(
                f"| {_md(_rel(k.path, corpus))} | {k.line or ''} | {_md(k.site)} | {_md(k.name)} | {_md(_inst(k.instantiation))} "
                f"| {r.arch} | {r.tilelint} | {r.tilelang} | {r.tilelint - r.tilelang:+d} | {_md('; '.join(r.notes))} |"
            )
    lines.append("")

    errs = [r for r in tally.rows if r.error]
    lines += [f"## TileLang lowering errors ({len(errs)} kernel x arch)", ""]
    if errs:
        # one line per (file, site, instantiation, error): archs merged
        merged: dict[tuple, list[str]] = defaultdict(list)
        info: dict[tuple, Row] = {}
        for r in errs:
            key = (r.kernel.path, r.kernel.site, r.kernel.name, json.dumps(r.kernel.instantiation, sort_keys=True, default=str), r.error)
            merged[key].append(r.arch)
            info[key] = r
        lines += ["| file | site | kernel | instantiation | archs | error |", "|---|---|---|---|---|---|"]
        for key in sorted(merged):
            r = info[key]
            k = r.kernel
            lines.append(
                f"| {_md(_rel(k.path, corpus))} | {_md(k.site)} | {_md(k.name)} | {_md(_inst(k.instantiation))} "
                f"| {','.join(sorted(set(merged[key])))} | {_md(r.error)} |"
            )
    lines.append("")

    notes = [r for r in tally.rows if r.compared and r.match and r.notes]
    if notes:
        lines += [f"## Matches with notes ({len(notes)})", "", "| file | site | arch | bytes | note |", "|---|---|---|---:|---|"]
        for r in notes:
            lines.append(f"| {_md(_rel(r.kernel.path, corpus))} | {_md(r.kernel.site)} | {r.arch} | {r.tilelang} | {_md('; '.join(r.notes))} |")
        lines.append("")
    return "\n".join(lines)


# --------------------------------------------------------------------------- the test


def _env_or_skip() -> tuple[str, Path]:
    py = os.environ.get("TILELSP_ORACLE_PYTHON")
    corpus = os.environ.get("TILELSP_ORACLE_CORPUS")
    if not py or not corpus:
        pytest.skip("oracle disabled: set TILELSP_ORACLE_PYTHON (a TileLang 0.1.15 python) and TILELSP_ORACLE_CORPUS (an examples folder)")
    if not (os.path.isfile(py) and os.access(py, os.X_OK)):
        pytest.skip(f"TILELSP_ORACLE_PYTHON={py} is not an executable file")
    if not os.path.isdir(corpus):
        pytest.skip(f"TILELSP_ORACLE_CORPUS={corpus} is not a directory")
    probe = subprocess.run(
        [py, "-c", "import importlib.metadata as m; print(m.version('tilelang'))"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    version = probe.stdout.strip()
    if probe.returncode != 0:
        pytest.skip(f"TILELSP_ORACLE_PYTHON={py} has no tilelang installed")
    if version != EXPECTED_TILELANG:
        pytest.skip(f"TILELSP_ORACLE_PYTHON={py} has tilelang {version}, the oracle expects {EXPECTED_TILELANG}")
    return py, Path(os.path.realpath(corpus))


def _run_tilelint(corpus: Path, tmp_path: Path) -> dict[str, Any]:
    saved = os.environ.get("TILELSP_ORACLE_TILELINT_JSON")
    if saved:
        return json.loads(Path(saved).read_text())
    pytest.importorskip("tilelsp.lint_cli", reason="tilelsp.lint_cli is not available yet")
    cmd = [sys.executable, "-m", "tilelsp.lint_cli", "--format", "json", "--arch", ",".join(ARCHS), str(corpus)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=3600)
    (tmp_path / "tilelint.json").write_text(proc.stdout)
    try:
        return json.loads(proc.stdout)
    except ValueError:
        pytest.fail(f"tilelint exited {proc.returncode} without JSON; stderr tail:\n{proc.stderr[-3000:]}")


@pytest.mark.oracle
def test_shared_memory_matches_tilelang(tmp_path: Path, capsys) -> None:
    oracle_python, corpus = _env_or_skip()
    report_path = Path(os.environ.get("TILELSP_ORACLE_REPORT") or tmp_path / "oracle-report.md").resolve()
    jobs = os.environ.get("TILELSP_ORACLE_JOBS", "2")
    timeout = os.environ.get("TILELSP_ORACLE_TIMEOUT", "180")
    min_rate = float(os.environ.get("TILELSP_ORACLE_MIN_RATE", "0.95"))

    tilelint_json = _run_tilelint(corpus, tmp_path)
    tally, kernels = collect_kernels(tilelint_json, REPO)
    tally.example_files = sum(1 for _ in corpus.rglob("*.py"))
    requests, members = build_requests(kernels)

    req_file = tmp_path / "oracle-requests.json"
    out_file = tmp_path / "oracle-results.jsonl"
    log_file = report_path.with_name(report_path.stem + "-lowering.log")
    req_file.write_text(json.dumps(requests, indent=1, default=str))
    env = dict(os.environ)
    extra_path = os.environ.get("TILELSP_ORACLE_EXTRA_PATH")
    if extra_path:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (extra_path, env.get("PYTHONPATH")) if p)
    proc = subprocess.run(
        [oracle_python, str(SCRIPT), str(req_file), "--jobs", jobs, "--timeout", timeout, "--log", str(log_file), "-o", str(out_file)],
        capture_output=True,
        text=True,
        env=env,
        timeout=4 * 3600,
    )
    results: dict[int, dict[str, Any]] = {}
    if out_file.exists():
        for line in out_file.read_text().splitlines():
            if line.strip():
                rec = json.loads(line)
                results[rec["index"]] = rec
    compare(tally, members, results)

    extra = [f"oracle: `{oracle_python}` ({proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else 'no summary'}); lowering log: `{log_file}`"]
    report_path.parent.mkdir(parents=True, exist_ok=True)
    report_path.write_text(render_report(tally, corpus, extra=extra))
    with capsys.disabled():
        print(f"\noracle report: {report_path}")

    assert proc.returncode == 0, f"lower_with_tilelang.py exited {proc.returncode}: {proc.stderr[-2000:]}"
    summary = rates(tally)
    assert any(n for _, n in summary.values()), f"no kernel got a number from both sides; see {report_path}"
    for arch, (ok, n) in summary.items():
        assert n and ok / n >= min_rate, f"{arch}: {ok}/{n} match ({100.0 * ok / max(n, 1):.1f}% < {100 * min_rate:.0f}%); see {report_path}"


def test_oracle_comparison_logic(tmp_path: Path) -> None:
    """The bookkeeping above, on canned data (fast; runs in the default suite)."""
    corpus = tmp_path
    lint = {
        "version": 1,
        "files": [
            {
                "path": str(tmp_path / "a.py"),
                "kernels": [
                    {"name": "main_split", "site": "f", "style": "factory", "line": 3, "instantiation": {"n": 2}, "unbound": [],
                     "shared_memory_bytes": 10, "per_arch": {"sm_80": {"shared_memory_bytes": 10}, "sm_90": {"shared_memory_bytes": 10}}},
                    {"name": "main_no_split", "site": "f", "style": "factory", "line": 9, "instantiation": {"n": 2}, "unbound": [],
                     "shared_memory_bytes": 20, "per_arch": {"sm_80": {"shared_memory_bytes": 20}, "sm_90": {"shared_memory_bytes": 20}}},
                    {"name": "g", "site": "g", "style": "eager", "line": 20, "instantiation": {"M": 1}, "unbound": ["N"],
                     "shared_memory_bytes": None, "per_arch": {}},
                ],
            },
            {"path": str(tmp_path / "b.py"), "kernels": [
                {"name": "main", "site": "h", "style": "factory", "line": 1, "instantiation": {}, "unbound": [],
                 "shared_memory_bytes": 64, "per_arch": {"sm_80": {"shared_memory_bytes": 64}, "sm_90": {"shared_memory_bytes": 64}}},
            ]},
            {"path": str(tmp_path / "c.py"), "kernels": []},
        ],
    }
    tally, kernels = collect_kernels(lint, tmp_path)
    assert (tally.files_with_kernels, tally.kernels_found, tally.kernels_instantiated) == (2, 4, 3)
    requests, members = build_requests(kernels)
    assert len(requests) == 2 and requests[0]["kernel"] == ["main_split", "main_no_split"]
    results = {
        0: {"index": 0, "prim_func": "main_split", "result": {
            "sm_80": {"dyn_shared_memory_buf": 10, "kernels": {"main_split_kernel": 10}},
            "sm_90": {"error": "InternalError: boom"}}},
        1: {"index": 1, "prim_func": "main", "result": {
            "sm_80": {"dyn_shared_memory_buf": 64, "kernels": {"main_kernel": 64, "main_kernel_1": 0}},
            "sm_90": {"dyn_shared_memory_buf": 32, "kernels": {"main_kernel": 32}, "static_shared_bytes": {"main_kernel": 16}}}},
    }
    compare(tally, members, results)
    assert [k.name for k in tally.not_built] == ["main_no_split"]
    assert rates(tally) == {"sm_80": (2, 2), "sm_90": (0, 1)}
    assert tally.kernels_lowered == 1
    text = render_report(tally, corpus)
    assert "## Mismatches (1)" in text and "| b.py |" in text and "| 64 | 32 | +32 |" in text
    assert "InternalError: boom" in text and "static shared (not compared) main_kernel=16" in text
    assert _device_name("main_1", "main") == "main_kernel_1" and _device_name("main", "main") == "main_kernel"
