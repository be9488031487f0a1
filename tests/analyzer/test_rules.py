"""Every rule's documented examples: invalid ones raise the code, valid ones do not."""

from __future__ import annotations

import pytest

from analyzer.arch import DEFAULT_ARCHES, parse_arch_list
from analyzer.config import Config
from analyzer.engine import analyze_source
from analyzer.rules import REGISTRY, Example

CASES = [
    (rule.code, kind, i, ex)
    for rule in REGISTRY.values()
    for kind, examples in (("invalid", rule.invalid), ("valid", rule.valid))
    for i, ex in enumerate(examples)
]


def _config(ex: Example) -> Config:
    arches = DEFAULT_ARCHES
    args = list(ex.args)
    if "--arch" in args:
        arches = parse_arch_list(args[args.index("--arch") + 1])
    return Config(arches=arches)


@pytest.mark.parametrize("code,kind,index,example", CASES, ids=[f"{c}-{k}-{i}" for c, k, i, _ in CASES])
def test_rule_examples(code: str, kind: str, index: int, example: Example) -> None:
    report = analyze_source(example.source, f"{code}_{kind}.py", _config(example))
    codes = {d.code for d in report.diagnostics}
    if kind == "invalid":
        assert code in codes, report.diagnostics
        assert set(example.expect) <= codes
    else:
        assert code not in codes, report.diagnostics


def test_every_rule_is_documented_and_exemplified() -> None:
    for rule in REGISTRY.values():
        assert rule.summary and "\n" not in rule.summary
        assert rule.why and rule.fix
        assert rule.code.startswith("TL") and len(rule.code) == 5
        if rule.check is not None and rule.code not in ("TL903",):
            assert rule.invalid and rule.valid, rule.code


def test_tl101_message_has_numbers_buffers_and_stage_hint() -> None:
    source = REGISTRY["TL101"].invalid[0].source
    report = analyze_source(source, "gemm.py", Config(arches=("sm_89",)))
    [diag] = [d for d in report.diagnostics if d.code == "TL101"]
    assert diag.arch == "sm_89" and diag.kernel == "main"
    # 256x128x64 fp16 tiles, 4 stages: 4 x (32 KiB + 16 KiB) = 192 KiB
    assert "196608 B" in diag.message and "101376 B" in diag.message
    assert "by 95232 B" in diag.message
    assert "A_shared 4×32.0 KiB" in diag.message and "B_shared 4×16.0 KiB" in diag.message
    assert "num_stages=2 fits" in diag.message
    assert {r.message.split(":")[0] for r in diag.related} == {"A_shared", "B_shared"}
    # the diagnostic sits on the T.Kernel(...) launch
    assert diag.range.start.line == 7


def test_tl103_threshold_is_configurable() -> None:
    source = REGISTRY["TL103"].invalid[0].source
    near = analyze_source(source, "g.py", Config(arches=("sm_89",)))
    assert [d.code for d in near.diagnostics] == ["TL103"]
    assert "97% of sm_89" in near.diagnostics[0].message
    relaxed = analyze_source(source, "g.py", Config(arches=("sm_89",), near_limit=0.99))
    assert relaxed.diagnostics == []


def test_suppression_comment_on_line_or_line_above() -> None:
    source = REGISTRY["TL101"].invalid[0].source
    lines = source.splitlines()
    launch = next(i for i, l in enumerate(lines) if "T.Kernel(" in l)
    same_line = lines.copy()
    same_line[launch] += "  # tilelint: ignore[TL101]"
    above = lines.copy()
    above.insert(launch, " " * 8 + "# tilelint: ignore[TL101, TL103]")
    other = lines.copy()
    other[launch] += "  # tilelint: ignore[TL103]"
    for variant, expected in ((same_line, 0), (above, 0), (other, 3)):
        report = analyze_source("\n".join(variant) + "\n", "g.py", Config())
        assert sum(d.code == "TL101" for d in report.diagnostics) == expected


def test_select_and_ignore() -> None:
    source = REGISTRY["TL101"].invalid[0].source
    assert not analyze_source(source, "g.py", Config(ignore=("TL1",))).diagnostics
    only = analyze_source(source, "g.py", Config(select=("TL101",)))
    assert {d.code for d in only.diagnostics} == {"TL101"}
    # sm_80, sm_86 and sm_89 are over; sm_90 (227 KiB) fits 192 KiB
    assert sorted(d.arch for d in only.diagnostics) == ["sm_80", "sm_86", "sm_89"]
