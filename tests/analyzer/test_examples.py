"""The bundled examples: sizes equal TileLang's, and each buggy kernel raises exactly its codes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import EXAMPLES, ROOT, lint_json

GROUND_TRUTH = json.loads((ROOT / "tests" / "data" / "examples_tilelang.json").read_text(encoding="utf-8"))
ARCHES = ("sm_80", "sm_86", "sm_89", "sm_90")


@pytest.fixture(scope="module")
def linted() -> dict[str, list[dict]]:
    data = lint_json("--arch", ",".join(ARCHES), str(EXAMPLES))
    return {str(Path(f["path"]).resolve().relative_to(ROOT)): f for f in data["files"]}


def _match(kernels: list[dict], truth: dict) -> dict:
    candidates = [k for k in kernels if k["site"] == truth["site"] and k["name"] == truth["kernel"]]
    args = truth["args"]
    for k in candidates:
        if all(k["instantiation"].get(name) == value for name, value in args.items() if name in k["instantiation"]):
            return k
    raise AssertionError(f"no tilelint kernel for {truth['site']} {args}: {[k['instantiation'] for k in candidates]}")


@pytest.mark.parametrize("truth", GROUND_TRUTH["kernels"], ids=lambda t: f"{Path(t['path']).stem}-{t['site']}")
def test_shared_memory_equals_tilelang(linted: dict, truth: dict) -> None:
    kernel = _match(linted[truth["path"]]["kernels"], truth)
    for arch in ARCHES:
        measured = truth["dyn_shared_memory_buf"].get(arch)
        if measured is None:
            continue  # TileLang rejects the kernel on this arch (e.g. barriers before sm_90)
        assert kernel["per_arch"][arch]["shared_memory_bytes"] == measured, arch


def _expected_codes(path: Path) -> set[str]:
    for line in path.read_text(encoding="utf-8").splitlines():
        match = re.match(r"#\s*expect:\s*(.*)$", line.strip())
        if match:
            return {c.strip() for c in match.group(1).split(",") if c.strip()}
    raise AssertionError(f"{path} has no '# expect:' line")


BUGGY = sorted((EXAMPLES / "buggy").glob("*.py"))


@pytest.mark.parametrize("path", BUGGY, ids=[p.stem for p in BUGGY])
def test_buggy_example_raises_exactly_its_codes(linted: dict, path: Path) -> None:
    report = linted[str(path.relative_to(ROOT))]
    assert {d["code"] for d in report["diagnostics"]} == _expected_codes(path)


def test_examples_cover_both_styles_and_the_allocation_family() -> None:
    texts = {p.name: p.read_text(encoding="utf-8") for p in EXAMPLES.glob("*.py")}
    assert len(texts) >= 12
    assert sum("T.const(" in t for t in texts.values()) >= 4
    assert sum("@T.prim_func" in t for t in texts.values()) >= 4
    joined = "\n".join(texts.values())
    for name in ("T.alloc_local", "T.alloc_var", "T.alloc_barrier", "@autotune", "T.Pipelined", "T.reduce_max"):
        assert name in joined
