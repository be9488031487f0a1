"""Client settings over `[tool.tilelint]`, and the answers fitted to a client's support."""

from __future__ import annotations

from pathlib import Path

from lsprotocol import types

from analyzer.config import Config
from analyzer.diagnostics import Severity
from tilelsp.client_support import ClientSupport, snippet_text
from tilelsp.settings import ProjectConfigs, Settings, merge, parse_settings, section_of


def test_parse_settings() -> None:
    settings, problems = parse_settings({
        "archs": "sm_80, 90", "instantiate": ["matmul(1, 2)"], "select": ["tl1"], "ignore": [],
        "nearLimit": 0.8, "failOn": "warning", "debounceMs": 40, "colour": "blue"})
    assert settings == Settings(archs=("sm_80", "sm_90"), instantiate=("matmul(1, 2)",), select=("TL1",),
                                ignore=None, near_limit=0.8, fail_on=Severity.WARNING, debounce_ms=40)
    assert problems == ["unknown setting tilelsp.colour; ignored"]


def test_bad_values_are_skipped_with_a_reason() -> None:
    settings, problems = parse_settings({"archs": ["sm_1"], "nearLimit": 3, "failOn": "loud", "debounceMs": -1,
                                         "select": 5})
    assert settings == Settings()
    assert len(problems) == 5 and "unknown arch 'sm_1'" in problems[0]
    assert parse_settings("nonsense")[0] == Settings()
    assert section_of({"tilelsp": {"archs": ["sm_90"]}}) == {"archs": ["sm_90"]}
    assert section_of({"archs": ["sm_90"]}) == {"archs": ["sm_90"]}


def test_layers_merge_over_the_project() -> None:
    project = Config(arches=("sm_86",), ignore=("TL103",), instantiate=("f(1)",))
    merged = merge(project, [Settings(archs=("sm_90",), debounce_ms=0), Settings(fail_on=Severity.ERROR,
                                                                                 instantiate=("g(2)",))])
    assert merged.config == Config(arches=("sm_90",), ignore=("TL103",), instantiate=("f(1)",))
    assert merged.requests == ("g(2)",) and merged.fail_on == Severity.ERROR and merged.debounce_ms == 0
    assert merge(project, [Settings()]).config == project


def test_project_configs_follow_the_file(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.tilelint]\narch = ['sm_89']\n", encoding="utf-8")
    (tmp_path / "pkg").mkdir()
    configs = ProjectConfigs()
    config, path, problem = configs.for_file(str(tmp_path / "pkg" / "k.py"))
    assert config.arches == ("sm_89",) and path == str(tmp_path / "pyproject.toml") and problem is None
    (tmp_path / "pyproject.toml").write_text("[tool.tilelint]\narch = 'nonsense'\n", encoding="utf-8")
    import os
    os.utime(tmp_path / "pyproject.toml", ns=(1, 10**18))  # a new mtime even on coarse clocks
    config, _, problem = configs.for_file(str(tmp_path / "pkg" / "k.py"))
    assert config == Config() and "unknown arch" in problem
    assert configs.for_file(None) == (Config(), None, None)


def test_snippets_and_markdown_for_plain_clients() -> None:
    assert snippet_text("T.copy(${1:src}, ${2:dst[\\}]})$0") == "T.copy(src, dst[}])"
    plain = ClientSupport.of(types.ClientCapabilities())
    assert plain == ClientSupport(False, False, False, False)
    item = types.CompletionItem("copy", insert_text="copy(${1:a})", insert_text_format=types.InsertTextFormat.Snippet,
                                documentation=types.MarkupContent(types.MarkupKind.Markdown, "**x**"))
    out = plain.completion_item(item)
    assert (out.insert_text, out.insert_text_format) == ("copy(a)", types.InsertTextFormat.PlainText)
    assert out.documentation == types.MarkupContent(types.MarkupKind.PlainText, "**x**")
    rich = ClientSupport()
    assert rich.completion_item(item) is item
