"""Every rule's examples, checked against TileLang 0.1.15 (see rule_examples.py).

Opt-in (``pytest -m oracle tests/oracle/test_rule_examples.py``). Needs
``TILELSP_ORACLE_PYTHON``, the python of a TileLang 0.1.15 installation (CPU
only is fine), e.g. ``/work/tl-venv/bin/python``.

Optional: ``TILELSP_ORACLE_RULES_TABLE`` (where the Markdown table goes,
default ``rule-examples.md`` in the test's tmp dir), ``TILELSP_ORACLE_EXTRA_PATH``
(prepended to PYTHONPATH for the TileLang side only), ``TILELSP_ORACLE_JOBS``
(default 2), ``TILELSP_ORACLE_TIMEOUT`` (seconds, default 180),
``TILELSP_ORACLE_NVCC`` (nvcc to compile the generated CUDA with; default: the
one on PATH; ``0`` turns the compile check off).

What is asserted: every invalid example of an error rule is rejected by
TileLang on each arch tilelint flags it for (lowering fails, the generated CUDA
does not compile, or the kernel needs more shared memory than the arch gives a
block, so it cannot launch), and every valid example lowers, compiles and fits
on every arch it is checked for. Warning and information rules are only
recorded; examples with nothing to lower (syntax error, unbound sizes) are
listed as n.a.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import rule_examples as rx  # noqa: E402

EXPECTED_TILELANG = "0.1.15"


def _oracle_python_or_skip() -> str:
    py = os.environ.get("TILELSP_ORACLE_PYTHON")
    if not py:
        pytest.skip("oracle disabled: set TILELSP_ORACLE_PYTHON to a TileLang 0.1.15 python")
    if not (os.path.isfile(py) and os.access(py, os.X_OK)):
        pytest.skip(f"TILELSP_ORACLE_PYTHON={py} is not an executable file")
    probe = subprocess.run(
        [py, "-c", "import importlib.metadata as m; print(m.version('tilelang'))"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if probe.returncode != 0:
        pytest.skip(f"TILELSP_ORACLE_PYTHON={py} has no tilelang installed")
    if probe.stdout.strip() != EXPECTED_TILELANG:
        pytest.skip(f"TILELSP_ORACLE_PYTHON={py} has tilelang {probe.stdout.strip()}, expected {EXPECTED_TILELANG}")
    return py


def _nvcc() -> str | None:
    value = os.environ.get("TILELSP_ORACLE_NVCC", "auto")
    if value.lower() in ("0", "no", "off", "false", ""):
        return None
    return value


@pytest.mark.oracle
def test_rule_examples_agree_with_tilelang(tmp_path: Path, capsys) -> None:
    oracle_python = _oracle_python_or_skip()
    table_path = Path(os.environ.get("TILELSP_ORACLE_RULES_TABLE") or tmp_path / "rule-examples.md").resolve()
    nvcc = _nvcc()
    t0 = time.perf_counter()
    rows = rx.verify_examples(
        oracle_python,
        tmp_path / "work",
        extra_path=os.environ.get("TILELSP_ORACLE_EXTRA_PATH") or None,
        jobs=int(os.environ.get("TILELSP_ORACLE_JOBS", "2")),
        timeout=float(os.environ.get("TILELSP_ORACLE_TIMEOUT", "180")),
        nvcc=nvcc,
    )
    seconds = time.perf_counter() - t0
    compiled = any(r.nvcc_checked for row in rows for r in row.per_arch.values())
    table_path.parent.mkdir(parents=True, exist_ok=True)
    table_path.write_text(rx.render_table(rows) + "\n" + rx.render_summary(rows, nvcc=compiled))
    with capsys.disabled():
        print(f"\nrule examples vs TileLang: {table_path} ({len(rows)} examples, {seconds:.0f}s; work files in {tmp_path / 'work'})")

    assert rows, "the registry has no examples"
    failures = []
    for row in rows:
        if row.agrees is False:
            states = ", ".join(f"{a}: {row.status(a)}" for a in row.checked_archs)
            why = row.problem or "; ".join(
                f"{a}: {row.per_arch[a].message}" for a in row.checked_archs if a in row.per_arch and row.per_arch[a].message
            )
            expected = "rejected" if row.kind == "invalid" else "lowered"
            failures.append(f"{row.code} {row.label}: TileLang should have {expected} it ({states}) {why}".rstrip())
    assert not failures, f"{len(failures)} example(s) disagree with TileLang (table: {table_path}):\n" + "\n".join(failures)


# --------------------------------------------------------------------------- fast, no TileLang


def _canned_rows() -> list[rx.Row]:
    A = rx.ArchResult
    return [
        rx.Row("TL101", "error", "invalid", 0, ("sm_80", "sm_90"), flagged_archs=("sm_80",), per_arch={
            "sm_80": A(rx.FAILS_AT_LAUNCH, "196608 > 166912", 196608, 0, 166912),
            "sm_90": A(rx.LOWERS, "", 196608, 64, 232448)}),
        rx.Row("TL102", "error", "invalid", 0, ("sm_80", "sm_90"), flagged_archs=("sm_80",), per_arch={
            "sm_80": A(rx.NVCC_REJECTS, "ptxas error : Entry function 'main_kernel' uses too much shared data", 0, 65536, 166912, True),
            "sm_90": A(rx.LOWERS, "", 0, 65536, 232448, True)}),
        rx.Row("TL103", "warning", "invalid", 0, ("sm_89",), flagged_archs=("sm_89",), per_arch={
            "sm_89": A(rx.LOWERS, "", 98304, 0, 101376)}),
        rx.Row("TL201", "error", "invalid", 1, ("sm_80", "sm_90"), flagged_archs=("sm_80", "sm_90"), per_arch={
            "sm_80": A(rx.REJECTS, "AssertionError: K_A = 32 | K_B = 128"),
            "sm_90": A(rx.REJECTS, "AssertionError: K_A = 32 | K_B = 128")}),
        rx.Row("TL204", "error", "invalid", 0, ("sm_80", "sm_90"), flagged_archs=("sm_80", "sm_90"), per_arch={
            "sm_80": A(rx.LOWERS), "sm_90": A(rx.LOWERS)}),
        rx.Row("TL207", "error", "valid", 0, ("sm_80", "sm_90"), per_arch={
            "sm_80": A(rx.LOWERS), "sm_90": A(rx.REJECTS, "InternalError: no layout")}),
        rx.Row("TL901", "error", "invalid", 0, ("sm_80", "sm_90"), flagged_archs=("sm_80", "sm_90"), not_lowerable="not lowerable (by design): syntax error"),
        rx.Row("TL203", "error", "invalid", 1, ("sm_80", "sm_90"), problem="tilelint exited 2: internal error"),
    ]


def test_render_table_on_canned_rows() -> None:
    rows = _canned_rows()
    text = rx.render_table(rows)
    lines = text.strip().splitlines()
    assert lines[0] == "| rule | example | expected | TileLang | TileLang's message or number |"
    assert len(lines) == 2 + len(rows)
    assert lines[2] == (
        "| TL101 | invalid[0] (sm_80, sm_90) | error on sm_80 | fails at launch on sm_80; lowers on sm_90 "
        "| sm_80: 196608 > 166912; sm_90: 196608 + 64 static ≤ 232448 |"
    )
    assert "| nvcc rejects on sm_80; lowers on sm_90 | sm_80: nvcc: ptxas error" in lines[3]
    assert lines[4] == "| TL103 | invalid[0] (sm_89) | warning | lowers | 98304 ≤ 101376 |"
    # one message for both archs, pipes escaped
    assert lines[5].endswith("| error | rejects | AssertionError: K_A = 32 \\| K_B = 128 |")
    assert lines[6] == "| TL204 | invalid[0] (sm_80, sm_90) | error | lowers |  |"
    assert lines[7] == "| TL207 | valid[0] (sm_80, sm_90) | clean | lowers on sm_80; rejects on sm_90 | sm_90: InternalError: no layout |"
    assert lines[8] == "| TL901 | invalid[0] (sm_80, sm_90) | error | n.a. | not lowerable (by design): syntax error |"
    assert lines[9] == "| TL203 | invalid[1] (sm_80, sm_90) | error | not run | tilelint exited 2: internal error |"


def test_agreement_on_canned_rows() -> None:
    verdicts = {(r.code, r.label): r.agrees for r in _canned_rows()}
    assert verdicts == {
        ("TL101", "invalid[0]"): True,  # rejected where tilelint flags it (sm_80); sm_90 is not flagged
        ("TL102", "invalid[0]"): True,
        ("TL103", "invalid[0]"): None,  # warnings are recorded, not asserted
        ("TL201", "invalid[1]"): True,
        ("TL204", "invalid[0]"): False,  # an error TileLang accepts
        ("TL207", "valid[0]"): False,  # a valid example TileLang rejects
        ("TL901", "invalid[0]"): None,  # nothing to lower
        ("TL203", "invalid[1]"): False,  # tilelint failed: nothing proven
    }
    summary = rx.render_summary(_canned_rows())
    assert "8 examples of 8 rules; 6 checked" in summary and "3 agree" in summary
    assert "disagreeing: TL204 invalid[0], TL207 valid[0], TL203 invalid[1]" in summary


def test_helpers() -> None:
    assert rx.short("\n  first   line  \nsecond") == "first line"
    assert len(rx.short("x" * 500)) == rx.MESSAGE_CHARS
    assert rx.nvcc_arch("sm_80") == "sm_80" and rx.nvcc_arch("sm_90") == "sm_90a" and rx.nvcc_arch("sm_90a") == "sm_90a"
    assert rx.arch_limit("sm_80") == 166912 and rx.arch_limit("sm_89") == 101376 and rx.arch_limit("sm_90") == 232448
    # the device function needing most, static shared and barriers included
    assert rx._smem_of({"kernels": {"f_kernel": 100, "f_kernel_1": 90}, "static_shared_bytes": {"f_kernel_1": 20},
                        "other_shared_bytes": {"f_kernel": {"shared.barrier": 8}}}) == (90, 20)
    assert rx._nvcc_first_error("/tmp/x/req2-sm_80.cu(3): error: bad thing\nmore") == "error: bad thing"
    assert rx._record_error({"error": "AttributeError: module has no attribute 'main'",
                             "import_notes": ["stubbed missing module einops", "line 9: ValueError: bad shape"]}) == "ValueError: bad shape"
    assert rx._example_archs(("--arch", "sm_89"), ("sm_80", "sm_90")) == ("sm_89",)
    assert rx._example_archs(("--arch=80,90",), ("sm_80",)) == ("sm_80", "sm_90")
    assert rx._example_archs((), ("sm_80", "sm_90")) == ("sm_80", "sm_90")
