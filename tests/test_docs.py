"""Generated documentation is current, and the README's commands are the ones CI runs."""

from __future__ import annotations

import subprocess

from conftest import ROOT

from analyzer.rules import REGISTRY
from analyzer.rules.docs import explain, render_markdown, updated_readme


def test_rules_md_is_generated_from_the_registry() -> None:
    assert (ROOT / "docs" / "rules.md").read_text(encoding="utf-8") == render_markdown(), (
        "docs/rules.md is stale: run `python -m analyzer.rules.docs --write`"
    )


def test_readme_rule_table_is_generated() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert updated_readme(text) == text, "README rule table is stale: run `python -m analyzer.rules.docs --write`"
    for code in REGISTRY:
        assert f"[{code}]" in text


def test_explain_has_why_and_fix() -> None:
    text = explain(REGISTRY["TL101"])
    assert "Why:" in text and "Fix:" in text and "num_stages" in text


def test_ci_runs_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("<!-- quickstart:test -->", 1)[1].split("```sh\n", 1)[1].split("\n", 1)[0]
    extracted = subprocess.run(
        ["awk", '/<!-- quickstart:test -->/{found=1; next} found && /^```sh/{getline; print; exit}', "README.md"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.strip()
    assert extracted == block
    assert "pytest" in block and "[test]" in block
    run_block = readme.split("<!-- quickstart:run -->", 1)[1].split("```sh\n", 1)[1].split("\n", 1)[0]
    assert "tilelint examples/" in run_block
    assert "awk" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
