"""tilelint's errors on real TileLang code, checked against TileLang 0.1.15 (see false_alarms.py).

Opt-in (``pytest -m oracle tests/oracle/test_false_alarms.py``). Needs
``TILELSP_ORACLE_PYTHON``, the python of a TileLang 0.1.15 installation (CPU
only is fine), e.g. ``/work/tl-venv/bin/python``.

Optional: ``TILELSP_ORACLE_FALSE_ALARMS_CORPORA`` (folders to lint, separated
by ``os.pathsep``; default ``/work/corpus/examples`` and ``/work/corpus/testing``
where they exist, else ``TILELSP_ORACLE_CORPUS``),
``TILELSP_ORACLE_FALSE_ALARMS_REPORT`` (where the Markdown report goes, default
``false-alarms.md`` in the test's tmp dir), ``TILELSP_ORACLE_FALSE_ALARMS_CACHE``
(JSON cache of oracle results, default ``~/.cache/tilelint/false-alarms-oracle.json``;
empty for none), ``TILELSP_ORACLE_EXTRA_PATH`` (prepended to PYTHONPATH for the
TileLang side only), ``TILELSP_ORACLE_JOBS`` (default 2),
``TILELSP_ORACLE_TIMEOUT`` (seconds, default 180), ``TILELSP_ORACLE_NVCC`` (nvcc
to compile TileLang's CUDA with; default: the one on PATH; ``0`` turns it off).

What is asserted: no false alarm, i.e. no error diagnostic on a kernel that
TileLang lowers, compiles and (TL101) fits on the arch the error is about.
Unknown and not-instantiated errors are only reported.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import false_alarms as fa  # noqa: E402
import rule_examples as rx  # noqa: E402
from test_rule_examples import _nvcc, _oracle_python_or_skip  # noqa: E402


def _corpora_or_skip() -> list[str]:
    value = os.environ.get("TILELSP_ORACLE_FALSE_ALARMS_CORPORA")
    if value:
        paths = [p for p in value.split(os.pathsep) if p]
    else:
        paths = [p for p in fa.DEFAULT_CORPORA if os.path.isdir(p)]
        if not paths and os.environ.get("TILELSP_ORACLE_CORPUS"):
            paths = [os.environ["TILELSP_ORACLE_CORPUS"]]
    missing = [p for p in paths if not os.path.isdir(p)]
    if not paths or missing:
        pytest.skip(f"no corpus to lint (missing: {', '.join(missing) or 'none given'}); "
                    "set TILELSP_ORACLE_FALSE_ALARMS_CORPORA")
    return paths


@pytest.mark.oracle
def test_no_false_alarms(tmp_path: Path, capsys) -> None:
    oracle_python = _oracle_python_or_skip()
    corpora = _corpora_or_skip()
    report_path = Path(os.environ.get("TILELSP_ORACLE_FALSE_ALARMS_REPORT") or tmp_path / "false-alarms.md").resolve()
    cache = os.environ.get("TILELSP_ORACLE_FALSE_ALARMS_CACHE", fa.default_cache()) or None
    t0 = time.perf_counter()
    corpora_done, findings, run, report = fa.check(
        corpora,
        oracle_python,
        extra_path=os.environ.get("TILELSP_ORACLE_EXTRA_PATH") or None,
        jobs=int(os.environ.get("TILELSP_ORACLE_JOBS", "2")),
        timeout=float(os.environ.get("TILELSP_ORACLE_TIMEOUT", "180")),
        nvcc=_nvcc(),
        cache=cache,
        workdir=str(tmp_path / "work"),
        command=f"pytest -m oracle {Path(__file__).name}",
    )
    report_path.parent.mkdir(parents=True, exist_ok=True)
    report_path.write_text(report)
    with capsys.disabled():
        counts = {v: sum(1 for f in findings if f.verdict == v) for v in fa.VERDICTS}
        print(f"\nfalse-alarm check: {report_path} ({len(findings)} errors: {counts}; {time.perf_counter() - t0:.0f}s)")

    broken = [f"{c.label}: {c.tilelint_problem}" for c in corpora_done if c.tilelint_problem]
    assert not broken, f"tilelint failed on {'; '.join(broken)}"
    assert not run.problem, f"the oracle failed: {run.problem} (report: {report_path})"
    alarms = [f for f in findings if f.verdict == fa.FALSE_ALARM]
    assert not alarms, f"{len(alarms)} error(s) on kernels TileLang builds (report: {report_path}):\n" + "\n".join(
        f"{f.where} {f.code} [{f.arch or 'all'}] {rx.short(f.message, 100)} -> {f.detail}" for f in alarms
    )


# --------------------------------------------------------------------------- fast, no TileLang

SMEM_KERNEL = {"grid": [1, 1, 1], "threads": 128, "unbound": []}


def _kernel(name: str, site: str, line: int, inst: dict, smem: int = 0, unbound=(), buffers=()) -> dict:
    return {
        **SMEM_KERNEL,
        "name": name,
        "site": site,
        "style": "factory",
        "line": line,
        "instantiation": inst,
        "unbound": list(unbound),
        "buffers": [{"name": b, "scope": "shared.dyn"} for b in buffers],
        "shared_memory_bytes": smem,
        "per_arch": {"sm_80": {"shared_memory_bytes": smem}, "sm_90": {"shared_memory_bytes": smem}},
    }


def _diag(code: str, line: int, kernel: str | None, message: str, arch: str | None = None, severity: str = "error") -> dict:
    return {
        "code": code,
        "severity": severity,
        "message": message,
        "range": {"start": {"line": line - 1, "character": 4}, "end": {"line": line - 1, "character": 20}},
        "arch": arch,
        "kernel": kernel,
    }


def _canned(tmp_path: Path) -> tuple[fa.Corpus, list[fa.Finding], dict]:
    (tmp_path / "a.py").write_text("# a\n")
    (tmp_path / "b.py").write_text("# b\n")
    lint = {
        "files": [
            {
                "path": str(tmp_path / "a.py"),
                "kernels": [
                    _kernel("main", "f", 3, {"n": 1}, 200000),
                    _kernel("main", "f", 3, {"n": 2}, 100000),
                    _kernel("main", "g", 30, {"x": 1}),
                    _kernel("main", "g", 30, {"x": 2}),
                    _kernel("h", "h", 50, {"m": 1}, buffers=["A_s"]),
                    _kernel("h", "h", 50, {"m": 2}, buffers=["A_s", "B_s"]),
                ],
                "diagnostics": [
                    _diag("TL101", 10, "main", "shared memory 195.3 KiB (200000 B) exceeds sm_80's limit", "sm_80"),
                    _diag("TL405", 35, "main", "T.Parallel nested in T.Parallel"),
                    _diag("TL405", 35, "main", "T.Parallel nested in T.Parallel"),
                    _diag("TL202", 52, "h", "T.copy extents disagree: A_s vs B_s"),
                    _diag("TL103", 11, "main", "near the limit", "sm_90", "warning"),
                    _diag("TL902", 1, None, "could not instantiate", None, "information"),
                ],
            },
            {
                "path": str(tmp_path / "b.py"),
                "kernels": [_kernel("k", "k", 1, {"M": 8}, unbound=["N"]), _kernel("t", "t", 20, {})],
                "diagnostics": [
                    _diag("TL203", 5, "k", "rank mismatch"),
                    _diag("TL206", 25, "t", "layout conflict", "sm_90"),
                    _diag("TL901", 1, None, "syntax error"),
                ],
            },
        ]
    }
    corpus = fa.Corpus(tmp_path, "corpus")
    findings = fa.collect_findings(lint, corpus)
    return corpus, findings, lint


def test_collect_and_match_on_canned_data(tmp_path: Path) -> None:
    corpus, findings, _ = _canned(tmp_path)
    assert (corpus.files, corpus.files_with_kernels, corpus.kernels, corpus.instantiated) == (2, 2, 8, 7)
    assert corpus.severities == {"error": 7, "warning": 1, "information": 1}
    assert corpus.by_code["warning"] == {"TL103": 1}
    by = {(f.code, f.line): f for f in findings}
    tl101 = by[("TL101", 10)]
    assert tl101.where == "corpus/a.py:10" and tl101.arch == "sm_80"
    assert [k.instantiation for k in tl101.candidates] == [{"n": 1}]  # narrowed by the bytes in the message
    assert tl101.match == "name+line+bytes (exact)"
    nested = [f for f in findings if f.code == "TL405"]
    assert len(nested) == 2 and all(f.group == 2 for f in nested)
    assert [k.site for k in nested[0].candidates] == ["g", "g"]  # the nearest `main` above line 35
    assert by[("TL202", 52)].match == "name+buffers (exact)" and len(by[("TL202", 52)].candidates) == 1
    assert by[("TL203", 5)].candidates == [] and by[("TL203", 5)].unbound == ["N"]
    assert by[("TL901", 1)].match == "no kernel named"


def _entry(result=None, error=None, nvcc=None, prim_func="main") -> dict:
    e = {"prim_func": prim_func, "import_notes": []}
    if error is not None:
        e["error"] = error
    else:
        e["result"] = result
    if nvcc is not None:
        e["nvcc"] = nvcc
    return e


def _ok(dyn: int, name: str = "main_kernel", static: int = 0) -> dict:
    out = {"dyn_shared_memory_buf": dyn, "kernels": {name: dyn}}
    if static:
        out["static_shared_bytes"] = {name: static}
    return out


def test_classification_on_canned_data(tmp_path: Path) -> None:
    corpus, findings, _ = _canned(tmp_path)
    keys = fa.request_keys(findings, "0.1.15")
    by = {(f.code, f.line): f for f in findings}
    g1, g2 = by[("TL405", 35)].candidates
    h = by[("TL202", 52)].candidates[0]
    t = by[("TL206", 25)].candidates[0]
    f1 = by[("TL101", 10)].candidates[0]
    store = {
        # TL101 on sm_80: 200000 B allocated, over sm_80's limit: fails at launch
        f"{keys[id(f1)]}|sm_80": _entry(_ok(199000, static=1000)),
        # the two instantiations of g: one TileLang rejects everywhere, the other it builds on sm_90
        f"{keys[id(g1)]}|sm_80": _entry({"error": "ValueError: Nested parallel loops are not allowed"}),
        f"{keys[id(g1)]}|sm_90": _entry({"error": "ValueError: Nested parallel loops are not allowed"}),
        f"{keys[id(g2)]}|sm_80": _entry({"error": "ValueError: Nested parallel loops are not allowed"}),
        f"{keys[id(g2)]}|sm_90": _entry(_ok(0), nvcc=[True, ""]),
        # h: nvcc's static_assert rejects the CUDA on sm_80, a timeout on sm_90
        f"{keys[id(h)]}|sm_80": _entry(_ok(0, "h_kernel"), nvcc=[False, "error: static assertion failed"], prim_func="h"),
        f"{keys[id(h)]}|sm_90": _entry(error="Timeout: no progress for 180s"),
        # t: lowers and compiles on the one arch the error is about
        f"{keys[id(t)]}|sm_90": _entry(_ok(1024, "t_kernel"), nvcc=[True, ""], prim_func="t"),
    }
    fa.classify(findings, store, keys, nvcc_on=True, limits={"sm_80": 166912, "sm_90": 232448})
    verdicts = [(f.code, f.line, f.verdict) for f in findings]
    assert verdicts == [
        ("TL101", 10, fa.CONFIRMED),
        ("TL405", 35, fa.CONFIRMED),  # matched to the instantiation TileLang rejects on every arch
        ("TL405", 35, fa.FALSE_ALARM),  # the other one builds on sm_90
        ("TL202", 52, fa.UNKNOWN),  # rejected on sm_80 by nvcc, sm_90 timed out
        ("TL203", 5, fa.NOT_INSTANTIATED),
        ("TL206", 25, fa.FALSE_ALARM),
        ("TL901", 1, fa.UNKNOWN),
    ]
    assert by[("TL101", 10)].detail == "fails at launch: shared memory 199000+1000 static > 166912 B"
    assert by[("TL101", 10)].statuses == (rx.FAILS_AT_LAUNCH,)
    alarm = [f for f in findings if f.code == "TL405"][1]
    assert alarm.instance is not None and alarm.instance.instantiation == {"x": 2} and alarm.detail == (
        "sm_80: rejects: ValueError: Nested parallel loops are not allowed; sm_90: lowers, nvcc compiles, shared memory 0 ≤ 232448"
    )
    assert by[("TL202", 52)].detail == "sm_80: nvcc rejects: nvcc: error: static assertion failed; sm_90: oracle error: timeout: Timeout: no progress for 180s"
    assert by[("TL203", 5)].detail == "unbound: N"

    # a documented silent rule is not a false alarm; without nvcc a lowered kernel is not "compiled"
    fa.classify(findings, store, keys, nvcc_on=True, silent=frozenset({"TL206"}), limits={"sm_80": 166912, "sm_90": 232448})
    assert by[("TL206", 25)].verdict == fa.SILENT
    store[f"{keys[id(t)]}|sm_90"].pop("nvcc")
    fa.classify(findings, store, keys, nvcc_on=True, limits={"sm_80": 166912, "sm_90": 232448})
    assert by[("TL206", 25)].verdict == fa.UNKNOWN and by[("TL206", 25)].detail == "oracle error: lowered, but not compiled"
    fa.classify(findings, store, keys, nvcc_on=False, limits={"sm_80": 166912, "sm_90": 232448})
    assert by[("TL206", 25)].verdict == fa.FALSE_ALARM

    run = fa.OracleRun(requests=5, lowerings=8, lowered=8)
    text = fa.render_report([corpus], findings, run, command="x", nvcc="/usr/bin/nvcc", version="0.1.15",
                            silent={"TL503": "some"})
    assert "**7 errors: 2 confirmed, 2 false alarms, 2 unknown, 1 not instantiated** (archs sm_80, sm_90)." in text
    assert "## False alarms (2)" in text and "| corpus/b.py:25 | TL206 | sm_90 | t |" in text
    assert "## Unknown (2)" in text and "| corpus/b.py:1 | TL901 | all |" in text
    assert "| TL405 | 2 | 1 | 1 | 0 | 0 | 0 |" in text and "| **all** | 7 | 2 | 2 | 2 | 1 | 0 |" in text
    assert "| TL103 | 1 |" in text and "| TL902 | 1 |" in text
    assert "TL503 (some of its invalid examples)" in text
    assert "## Not instantiated (1)" in text and "| corpus/b.py:5 | TL203 | all | k | N |" in text


def test_error_sides_and_cache(tmp_path: Path) -> None:
    side = fa.oracle_side
    assert side("Timeout: no progress for 180s") == "timeout"
    assert side("import: ChildCrashed: killed by signal 11") == "childcrashed"
    assert side("TypeError: matmul() got an unexpected keyword argument 'foo'", "matmul") == "instantiation not reproducible"
    assert side("TypeError: got an unexpected keyword argument 'foo'", "matmul") == "instantiation not reproducible"
    # the file's code not matching this TileLang's API says nothing about the kernel
    assert side("TypeError: tcgen05_gemm() missing 1 required keyword-only argument: 'mbar'", "matmul") == "API mismatch"
    assert side("AttributeError: TL_ENABLE_PTXAS_VERBOSE_OUTPUT") == "API mismatch or failed module-level code"
    assert side("NameError: name 'auto_target' is not defined") == "API mismatch or failed module-level code"
    assert side("TypeError: site returned NoneType, not a PrimFunc") == "instantiation not reproducible"
    assert side("RuntimeError: Failed to get device properties.") == "needs a missing package or a GPU"
    assert side("AttributeError: module has no attribute 'kernel'") == "module attribute error"
    assert side("ValueError: [Tilelang Semantic Check] Nested parallel loops are not allowed.") is None
    assert side("TypeError: unsupported operand type(s) for +: 'Buffer' and 'int'") is None

    # a module-level prim_func TileLang's parser rejected: "no attribute" plus the import note at its def
    src = tmp_path / "m.py"
    src.write_text("import x\n\n\n@T.prim_func\ndef main(A):\n    pass\n")
    k = fa._to_kernel({"name": "main", "site": "main", "style": "prim_func", "line": 4, "instantiation": {}}, str(src))
    entry = {"error": "AttributeError: module has no attribute 'main'", "import_notes": ["line 5: ValueError: bad shape"]}
    assert fa.record_failure(entry, k) == fa.Outcome(rx.REJECTS, "defining main raised ValueError: bad shape")
    entry["import_notes"] = ["line 1: ValueError: bad shape"]
    assert fa.record_failure(entry, k).status == rx.ORACLE_ERROR

    # nvcc only where it can change the verdict: not for a kernel that cannot launch anyway
    over = _entry(_ok(200000))
    assert not fa.needs_compile(over, k, 166912) and fa.needs_compile(over, k, 232448)
    assert not fa.needs_compile(_entry(error="Timeout"), k, 232448)
    cu = tmp_path / "req0-sm_80.cu"
    cu.write_text('extern "C" __global__ void __launch_bounds__(2048, 1) main_kernel(float* A) {}\n')
    big = _entry({**_ok(0), "cuda_source": str(cu)}, nvcc=[True, ""])
    assert fa.outcome(big, k, "sm_80", 166912, True) == fa.Outcome(
        rx.FAILS_AT_LAUNCH, "__launch_bounds__(2048): more than 1024 threads per block")
    cu.write_text('extern "C" __global__ void __launch_bounds__(128, 1) main_kernel(float* A) {}\n')
    small = _entry({**_ok(0), "cuda_source": str(cu)}, nvcc=[True, ""])
    assert fa.outcome(small, k, "sm_80", 166912, True) == fa.Outcome(
        fa.LOWERS, "lowers, nvcc compiles, shared memory 0 ≤ 166912, 128 threads")
    # a factory that builds another of its PrimFuncs for this instantiation says nothing about this one
    other = _entry(_ok(0, "main_split_kernel"), nvcc=[True, ""], prim_func="main_split")
    assert fa.outcome(other, k, "sm_80", 166912, True, ["main_split"]).status == rx.ORACLE_ERROR
    assert fa.outcome(other, k, "sm_80", 166912, True, []).status == fa.LOWERS

    cache = tmp_path / "c" / "cache.json"
    fa.save_cache(str(cache), {"a|sm_80": _entry(_ok(1))})
    assert fa.load_cache(str(cache)) == {"a|sm_80": _entry(_ok(1))}
    assert fa._cacheable(_entry(_ok(1))) and not fa._cacheable(_entry(error="import: Timeout: no progress for 1s"))
    cache.write_text(json.dumps({"version": -1, "entries": {"x": {}}}))
    assert fa.load_cache(str(cache)) == {}
