"""Fuzz the real language server with a fixed seed: random edits, hostile positions and bad requests.

One modest run per session (a few hundred edits over 25 files, a few seconds), shared by the tests
below, each asserting one property; `benchmarks/fuzz_lsp.py` runs the big one. See tests/lsp_fuzz.py
for what is sent and how each answer is judged.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lsp_fuzz import (
    CRASH,
    DIAGNOSTICS,
    INTERNAL_ERROR_ANSWER,
    LIVENESS,
    NO_ANSWER,
    NOT_A_MESSAGE,
    WRONG_INVALID_PARAMS,
    WRONG_METHOD_NOT_FOUND,
    FuzzConfig,
    FuzzReport,
    run_fuzz,
)
from lsp_wire import run

CONFIG = FuzzConfig(seed=4, files=25, edits_per_file=12, batch=6, open_at_once=5, requests_per_batch=4,
                    final_checks=3, request_timeout=60.0)


@pytest.fixture(scope="module", params=["push-utf16", "pull-utf8"])
def report(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> FuzzReport:
    """One run as a client that takes pushed diagnostics and counts columns in UTF-16 (the default), one as
    a client that pulls diagnostics (like Neovim 0.12) and counts columns in UTF-8 bytes."""
    pull = request.param.startswith("pull")
    encoding = {"utf16": "utf-16", "utf8": "utf-8"}[request.param.split("-")[1]]
    config = FuzzConfig(**{**CONFIG.__dict__, "pull": pull, "encoding": encoding, "seed": CONFIG.seed + pull})
    result = run(run_fuzz(config, Path(tmp_path_factory.mktemp(f"fuzz_{request.param}"))))
    print(f"{request.param}: {result.summary()}")
    return result


def failures(report: FuzzReport, category: str) -> list[str]:
    return [message for kind, message in report.failures if kind == category]


def test_the_run_is_not_trivial(report: FuzzReport) -> None:
    assert report.files == CONFIG.files
    assert report.edits >= 250 and report.hostile_edits >= 20, report.summary()
    assert report.requests >= 150 and report.liveness_hovers == report.batches, report.summary()
    assert report.responses_by_code["-32601"] > 0 and report.responses_by_code["-32602"] > 0, report.summary()


def test_server_never_crashes_and_exits_cleanly(report: FuzzReport) -> None:
    assert report.crashes == 0 and failures(report, CRASH) == []
    assert report.exit_code == 0


def test_every_request_is_answered(report: FuzzReport) -> None:
    assert failures(report, NO_ANSWER) == []
    assert failures(report, LIVENESS) == []


def test_no_request_fails_with_internal_error(report: FuzzReport) -> None:
    assert failures(report, INTERNAL_ERROR_ANSWER) == []


def test_unknown_methods_get_method_not_found(report: FuzzReport) -> None:
    assert failures(report, WRONG_METHOD_NOT_FOUND) == []


def test_malformed_params_get_invalid_params(report: FuzzReport) -> None:
    assert failures(report, WRONG_INVALID_PARAMS) == []


def test_frames_that_are_no_message_get_parse_error_or_invalid_request(report: FuzzReport) -> None:
    """JSON-RPC 2.0: a body that is not JSON -> ParseError, JSON that is no request -> InvalidRequest, id null."""
    assert report.garbage_frames > 0 and report.not_jsonrpc_frames > 0
    assert failures(report, NOT_A_MESSAGE) == []


def test_final_diagnostics_equal_tilelint(report: FuzzReport) -> None:
    assert report.final_checked >= CONFIG.final_checks + 1  # kept documents + the last group
    assert failures(report, DIAGNOSTICS) == []


def test_malformed_messages_log_one_line_not_a_traceback(report: FuzzReport) -> None:
    """A bad client message is the client's mistake: the server logs one line (tracebacks: --log-level debug)."""
    assert report.responses_by_code["-32602"] > 0
    assert report.tracebacks_on_stderr == 0, report.summary()
