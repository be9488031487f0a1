"""Refuse what TileLang refuses: the analyzer's error rules, run on the instantiation being built.

Before a kernel is traced and lowered, `check` runs the analyzer (tilelint's
rules, `analyzer.engine.analyze_module` + `analyzer.rules.run_rules`) on the
file with the compiler's instantiation passed as the analyzer's CLI request,
and raises `VerifyError` with every error diagnostic the target refuses. No
rule logic lives here: this module only decides, per target, which of the
analyzer's error diagnostics block a build. That decision is `blocks(diag,
target)`, in one place:

* every target (`EVERY_TARGET`): the errors TileLang 0.1.15 raises while
  lowering whatever the target: shapes TL201/TL202/TL203, dtypes
  TL302/TL305/TL306 (the error cases: literals that cannot be converted),
  scopes and placement TL401-TL406 and TL411, and the sub-cases of TL501 and
  TL503 that TileLang itself raises (`threads must be positive`, more than 3
  grid or block extents), recognised by TileLang's words quoted in the
  analyzer's message (`EVERY_TARGET_WHEN`).
* CUDA only (`CUDA_ONLY`): budgets TL101/TL102, the CUDA layout's warp
  partitions TL206/TL207, TL301 (nvcc has no mma for the dtype combination),
  TL504/TL505 (architecture features), and the launch-limit sub-cases of
  TL501/TL503 (the kernel builds; cuLaunchKernel fails).

Warnings and informations never block. TL204 (an out-of-bounds constant
index) is an error in tilelint but TileLang builds such a kernel, so the
compiler does not refuse it either. Rule suppressions (`# tilelint: ignore`)
and `[tool.tilelint] select/ignore` are lint settings and do not apply here:
only the project's architecture list is read (for CUDA).
"""

from __future__ import annotations

import ast
from dataclasses import replace
from pathlib import Path
from typing import Any, Iterable

from analyzer.diagnostics import Diagnostic, Severity

from .errors import CompileError, KernelError

TARGETS = ("cpu", "cuda")

EVERY_TARGET: frozenset[str] = frozenset({
    "TL201", "TL202", "TL203",
    "TL302", "TL305", "TL306",
    "TL401", "TL402", "TL403", "TL404", "TL405", "TL406", "TL411",
})
# codes whose diagnostics are refused on every target only when the analyzer's message quotes the error
# TileLang itself raises; their other cases (launch limits) fail only when a CUDA kernel is launched
EVERY_TARGET_WHEN: dict[str, tuple[str, ...]] = {
    "TL501": ("threads must be positive",),
    "TL503": ("grid_size.size() <= 3", "block_size.size() <= 3"),
}
CUDA_ONLY: frozenset[str] = frozenset({
    "TL101", "TL102", "TL206", "TL207", "TL301", "TL501", "TL503", "TL504", "TL505",
})


def blocks(diag: Diagnostic, target: str) -> bool:
    """Whether `diag` (an analyzer diagnostic) stops a build for `target`."""
    if target not in TARGETS:
        raise ValueError(f"unknown target {target!r}")
    if diag.severity is not Severity.ERROR:
        return False
    if diag.code in EVERY_TARGET:
        return True
    words = EVERY_TARGET_WHEN.get(diag.code)
    if words is not None and any(w in diag.message for w in words):
        return True
    return target == "cuda" and diag.code in CUDA_ONLY


def selected_codes(target: str) -> tuple[str, ...]:
    """The rule codes whose checks run for `target` (some diagnostics of TL501/TL503 still do not block)."""
    codes = set(EVERY_TARGET) | set(EVERY_TARGET_WHEN)
    if target == "cuda":
        codes |= CUDA_ONLY
    return tuple(sorted(codes))


class VerifyError(CompileError):
    """The kernel is one TileLang refuses for the target: every blocking diagnostic, located."""

    def __init__(self, path: str, diagnostics: list[Diagnostic]):
        self.diagnostics = diagnostics
        super().__init__(path, diagnostics[0])

    def render(self) -> str:
        return "\n".join(render(self.path, d) for d in self.diagnostics)


def render(path: str, d: Diagnostic) -> str:
    arch = f"[{d.arch}] " if d.arch else ""
    return f"{path}:{d.range.start.line + 1}:{d.range.start.character + 1}: {d.code} {arch}{d.message}"


def effective_request(loaded: Any, request: str) -> str:
    """The instantiation the compiler builds for `request`, as a call the analyzer reads.

    A bare kernel name is a call without arguments. Under `@autotune` the
    compiler takes the parameters the call does not give from the first
    config (`frontend.jit._Autotuned`); they are added as keywords so that the
    analyzer checks that same configuration.
    """
    from .frontend.jit import _Autotuned

    text = request.strip()
    try:
        call = ast.parse(text, mode="eval").body
    except SyntaxError:
        return text
    if isinstance(call, ast.Name):
        call = ast.Call(func=call, args=[], keywords=[])
    if not isinstance(call, ast.Call) or not isinstance(call.func, ast.Name):
        return text
    target = loaded.kernels.get(call.func.id)
    if isinstance(target, _Autotuned):
        try:
            args = [ast.literal_eval(a) for a in call.args]
            kwargs = {kw.arg: ast.literal_eval(kw.value) for kw in call.keywords if kw.arg}
            missing = target.missing_from_config(tuple(args), kwargs)
        except (ValueError, KernelError):
            return ast.unparse(call)
        for key, value in missing.items():
            call.keywords = [k for k in call.keywords if k.arg != key]
            call.keywords.append(ast.keyword(arg=key, value=ast.Constant(value) if not isinstance(
                value, (tuple, list)) else ast.parse(repr(value), mode="eval").body))
    return ast.unparse(call)


def analyzer_diagnostics(path: str | Path, text: str, request: str | None, target: str) -> list[Diagnostic]:
    """The analyzer's diagnostics (of the target's selected rules) for the kernel site `request` names.

    Without a request: every kernel site, at the instantiations the file itself makes.
    """
    from analyzer.config import Config, project_config
    from analyzer.engine import analyze_module
    from analyzer.rules import run_rules
    from analyzer.shared_memory import plan_for_arches
    from analyzer.source import SourceFile, SourceSyntaxError

    site = request.split("(", 1)[0].strip() if request is not None else None
    arches = project_config(path).config.arches if target == "cuda" else Config().arches
    config = Config(arches=arches, select=selected_codes(target))
    try:
        source = SourceFile.from_text(text, str(path))
    except SourceSyntaxError:
        return []  # the loader reports it (TL952)
    analysis = analyze_module(source, config, (request,) if request is not None else ())
    if site is not None:
        analysis.models = [m for m in analysis.models if m.site == site]
    plans = {id(m): plan_for_arches(m, config.arches) for m in analysis.models}
    return run_rules(analysis, plans, config)


def check(loaded: Any, request: str, target: str = "cpu") -> None:
    """Raise `VerifyError` when TileLang would refuse the kernel `request` builds for `target`."""
    req = effective_request(loaded, request)
    found = analyzer_diagnostics(loaded.path, loaded.source, req, target)
    bad = _sorted(replace(d, source="tilec") for d in found if blocks(d, target))
    if bad:
        raise VerifyError(str(loaded.path), bad)


def check_file(path: str | Path, target: str = "cpu") -> None:
    """Raise `VerifyError` when TileLang would refuse a kernel the file instantiates itself.

    For a file whose module-level code builds a kernel (`func = matmul(1024, ...)`) and fails while
    loading: the error TileLang would give is reported rather than the compiler's own.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return
    bad = _sorted(replace(d, source="tilec") for d in analyzer_diagnostics(path, text, None, target)
                  if blocks(d, target))
    if bad:
        raise VerifyError(str(path), bad)


def _sorted(diags: Iterable[Diagnostic]) -> list[Diagnostic]:
    return sorted(diags, key=lambda d: (d.range.start, d.code, d.arch or ""))
