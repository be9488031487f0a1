"""The analyzer pipeline: parse -> discover -> instantiate -> interpret -> rules.

`analyze_source` is the public entry of tilelint: text in, a FileReport out;
`analyze_text` is the same run keeping the parsed file, the models and the
shared-memory plans (the editor's index reads them). Neither raises for bad
input: a file that does not parse is a TL901 diagnostic,
and a failure inside one kernel's analysis is reported on that kernel and
does not stop the others.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import libcst as cst

from .config import Config
from .diagnostics import Diagnostic, Range, Severity
from .discover import Site, classify
from .evaluate import (
    BudgetExceeded,
    CallSite,
    Evaluator,
    Hooks,
    LoopControl,
    Return,
    Scope,
    bind_params,
)
from .instantiate import Request, RequestError, instantiations, parse_request
from .interpret import interpret_site
from .model import KernelModel
from .facts import kernel_facts
from .report import FileReport
from .rules import run_rules
from .shared_memory import plan_for_arches
from .source import SourceFile, SourceSyntaxError
from .values import UNKNOWN, FunctionValue

MODULE_BUDGET = 200_000
DRIVER_BUDGET = 60_000
HELPER_BUDGET = 4_000


@dataclass
class ModuleAnalysis:
    """Everything known about one file before rules run."""

    source: SourceFile
    sites: list[Site] = field(default_factory=list)
    models: list[KernelModel] = field(default_factory=list)
    problems: list[Diagnostic] = field(default_factory=list)  # TL9xx found on the way


class _ModuleRunner(Evaluator):
    """Runs module-level code and drivers, recording every call of a kernel site.

    Only code that can reach a kernel site is followed in full: loops and
    expression statements whose text names no site (or no function that
    calls one) are skipped, and other helpers run on a small budget. This
    keeps reference implementations and benchmark loops from costing time.
    """

    def __init__(self, source: SourceFile) -> None:
        super().__init__(MODULE_BUDGET)
        self.source = source
        self.sites: dict[str, Site] = {}
        self.calls: list[CallSite] = []
        self.functions: list[FunctionValue] = []
        self.module_scope = Scope()
        self.hooks = Hooks(on_def=self._on_def, on_site_call=self._on_site_call)
        self.reach: set[str] = set()
        self.pattern: re.Pattern[str] | None = None
        self.driver_mode = False
        self.executed: set[int] = set()

    def release(self) -> None:
        super().release()
        self.module_scope.vars.clear()  # it holds the file's functions, which close over it

    def _on_def(self, func: FunctionValue, scope: Scope) -> None:
        if scope is not self.module_scope:
            return
        text = self.source.text_of(func.node) or ""
        site = classify(func, self, scope) if ("prim_func" in text or "Kernel" in text) else None
        if site is not None:
            self.sites[site.name] = site
            self.hooks.site_names = frozenset(self.sites)
        else:
            self.functions.append(func)

    def _on_site_call(self, call: CallSite) -> Any:
        if len(self.calls) < 512:
            self.calls.append(call)
        return UNKNOWN

    # -- what can reach a site -------------------------------------------------
    def _compute_reach(self) -> None:
        reach = set(self.sites)
        texts = {f.node.name.value: self.source.text_of(f.node) or "" for f in self.functions}
        changed = True
        while changed and reach:
            changed = False
            pattern = re.compile(r"\b(?:" + "|".join(map(re.escape, sorted(reach))) + r")\b")
            for name, text in texts.items():
                if name not in reach and pattern.search(text):
                    reach.add(name)
                    changed = True
        self.reach = reach
        self.pattern = re.compile(r"\b(?:" + "|".join(map(re.escape, sorted(reach))) + r")\b") if reach else None

    def _relevant(self, stmt: cst.CSTNode) -> bool:
        if self.pattern is None:
            return False
        text = self.source.text_of(stmt)
        return text is None or self.pattern.search(text) is not None

    # -- driver-mode statement rules ----------------------------------------------
    def stmt(self, stmt: cst.CSTNode, scope: Scope) -> None:
        if self.driver_mode:
            if isinstance(stmt, (cst.For, cst.While)) and not self._relevant(stmt):
                self._forget_assignments(stmt, scope)
                return
        super().stmt(stmt, scope)

    def _forget_assignments(self, stmt: cst.CSTNode, scope: Scope) -> None:
        """Names a skipped loop assigns become unknown."""
        for name in _assigned_names(stmt):
            scope.set(name, UNKNOWN)

    def call_function(self, func: FunctionValue, args: list[Any], kwargs: dict[str, Any]) -> Any:
        if not self.driver_mode or func.node.name.value in self.reach:
            if not args and not kwargs:
                self.executed.add(id(func.node))  # run_drivers need not run it again with its defaults
            return super().call_function(func, args, kwargs)
        saved = self.budget
        self.budget = min(self.budget, self.steps + HELPER_BUDGET)
        try:
            return super().call_function(func, args, kwargs)
        except BudgetExceeded:
            if self.steps > saved:
                raise
            return UNKNOWN
        finally:
            self.budget = saved

    # -- phases --------------------------------------------------------------
    def run_module(self) -> None:
        deferred: list[cst.CSTNode] = []
        for stmt in self.source.module.body:
            if isinstance(stmt, (cst.If, cst.For, cst.While)) or (
                isinstance(stmt, cst.SimpleStatementLine) and all(isinstance(s, cst.Expr) for s in stmt.body)
            ):
                deferred.append(stmt)
                continue
            self._run_top(stmt)
        if not self.sites:
            return
        self._compute_reach()
        self.driver_mode = True
        for stmt in deferred:
            self._run_top(stmt)

    def _run_top(self, stmt: cst.CSTNode) -> None:
        try:
            self.stmt(stmt, self.module_scope)
        except (Return, LoopControl):
            pass
        except BudgetExceeded:
            self.steps = 0

    def run_drivers(self) -> None:
        """Run each plain function that can reach a site once, with its defaults (main() drivers)."""
        for func in self.functions:
            name = func.node.name.value
            if name not in self.reach or id(func.node) in self.executed or func.is_macro or func.decorators:
                continue
            self.steps = 0
            self.budget = DRIVER_BUDGET
            scope = Scope(func.closure)
            bind_params(func, [], {}, scope, self)
            self.executed.add(id(func.node))
            try:
                self.depth = 1
                self.run_block(func.node.body, scope)
            except (Return, LoopControl, BudgetExceeded):
                pass
            finally:
                self.depth = 0


def _assigned_names(stmt: cst.CSTNode) -> set[str]:
    names: set[str] = set()

    def targets(node: cst.BaseExpression) -> None:
        if isinstance(node, cst.Name):
            names.add(node.value)
        elif isinstance(node, (cst.Tuple, cst.List)):
            for el in node.elements:
                targets(el.value)

    def visit(node: cst.CSTNode) -> None:
        if isinstance(node, cst.SimpleStatementLine):
            for small in node.body:
                if isinstance(small, cst.Assign):
                    for t in small.targets:
                        targets(t.target)
                elif isinstance(small, (cst.AugAssign, cst.AnnAssign)):
                    targets(small.target)
            return
        if isinstance(node, (cst.For,)):
            targets(node.target)
        for attr in ("body", "orelse", "finalbody"):
            child = getattr(node, attr, None)
            if isinstance(child, (cst.IndentedBlock, cst.Else, cst.Finally)):
                block = child.body if isinstance(child, (cst.Else, cst.Finally)) else child
                inner = block.body if isinstance(block, cst.IndentedBlock) else []
                for s in inner:
                    visit(s)
            elif isinstance(child, cst.If):
                visit(child)

    visit(stmt)
    return names


def tl_diag(code: str, severity: Severity, message: str, rng: Range, kernel: str | None = None) -> Diagnostic:
    return Diagnostic(code, severity, message, rng, kernel=kernel)


def analyze_module(source: SourceFile, config: Config, cli_requests: tuple[str, ...] = ()) -> ModuleAnalysis:
    runner = _ModuleRunner(source)
    try:
        return _analyze_module(source, config, cli_requests, runner)
    finally:
        runner.release()  # nothing is evaluated after this: free the file's trees without the cyclic collector


def _analyze_module(source: SourceFile, config: Config, cli_requests: tuple[str, ...],
                    runner: "_ModuleRunner") -> ModuleAnalysis:
    analysis = ModuleAnalysis(source)
    runner.run_module()
    if not runner.sites:
        return analysis
    runner.run_drivers()
    analysis.sites = list(runner.sites.values())

    requests: list[Request] = []
    texts = [(t, "cli", None) for t in cli_requests]
    texts += [(t, "comment", line) for line, t in source.directives.instantiate]
    texts += [(t, "pyproject", None) for t in config.instantiate]
    for text, origin, line in texts:
        runner.steps = 0
        try:
            requests.append(parse_request(text, runner, runner.module_scope, origin, line))
        except RequestError as err:
            if origin == "comment" and line is not None:
                analysis.problems.append(
                    tl_diag("TL902", Severity.INFORMATION, str(err), Range.point(line, 0))
                )
            elif origin == "pyproject":
                analysis.problems.append(tl_diag("TL902", Severity.INFORMATION, str(err), Range.point(0, 0)))

    for site in analysis.sites:
        runner.steps = 0
        runner.budget = DRIVER_BUDGET
        try:
            chosen = instantiations(site, requests, runner.calls, runner)
        except BudgetExceeded:
            chosen = []
        for inst in chosen:
            try:
                models = interpret_site(source, site, inst.binding, inst.source, runner.module_scope,
                                        runner.star_modules, runner.def_scopes)
            except RecursionError:
                models = []
                analysis.problems.append(
                    tl_diag("TL903", Severity.WARNING, f"could not analyse {site.name}: nesting too deep",
                            source.locator.range(site.node.name, site.node), site.name)
                )
            except Exception as err:  # noqa: BLE001 - one kernel must never stop the file
                models = []
                analysis.problems.append(
                    tl_diag(
                        "TL903",
                        Severity.WARNING,
                        f"internal analyzer error on {site.name}: {type(err).__name__}: {err}",
                        source.locator.range(site.node.name, site.node),
                        site.name,
                    )
                )
            analysis.models.extend(models)
    target = file_target(source.text)
    dynamic = tuple(sorted(set(_DYNAMIC.findall(source.text))))
    for model in analysis.models:
        model.target = target
        model.dynamic_names = dynamic
    return analysis


# Each hint is a few patterns that start with a literal, which `re` finds quickly (a pattern that starts with
# an alternation or a character class is tried at every position of the file); `_Q` patterns must also follow a
# quote. _CUDA_TARGET is `(?:target\s*=\s*|Target\(\s*)["']cuda\b|["']kind["']\s*:\s*["']cuda["']|requires_cuda`.
_FOREIGN = r"""["'](llvm|c|metal|hip|rocm|webgpu|cpu|ascend)\b"""
_FOREIGN_TARGET = tuple(re.compile(lead + _FOREIGN) for lead in (r"target\s*=\s*", r"Target\(\s*", r"determine_target\(\s*"))
_METAL_HINT = (re.compile(r"tilelang\.metal\b"), re.compile("requires_metal"))
_METAL_HINT_Q = re.compile(r"""mps["']""")
_HIP_HINT = (re.compile(r"skipif\(\s*torch\.version\.hip is None"), re.compile("requires_rocm"))  # skipped unless on ROCm
_DYNAMIC = re.compile(r"""T\.(?:dynamic|symbolic)\(\s*["'](\w+)["']""")
_CUDA_TARGET = (re.compile(r"""target\s*=\s*["']cuda\b"""), re.compile(r"""Target\(\s*["']cuda\b"""),
                re.compile("requires_cuda"))
_CUDA_TARGET_Q = re.compile(r"""kind["']\s*:\s*["']cuda["']""")


def _found(patterns: tuple[re.Pattern[str], ...], text: str, quoted: re.Pattern[str] | None = None) -> bool:
    if any(p.search(text) for p in patterns):
        return True
    return quoted is not None and any(m.start() and text[m.start() - 1] in "\"'" for m in quoted.finditer(text))


def file_target(text: str) -> str:
    """The back end a file builds its kernels for: "cuda" unless it names only another one.

    An explicit CUDA target wins; then an explicit other target (`target="c"`,
    `Target("metal")`...); then hints of a Metal-only or ROCm-only file. A
    `device="cuda"` tensor says nothing: ROCm's torch calls its GPU "cuda" too.
    """
    if _found(_CUDA_TARGET, text, _CUDA_TARGET_Q):
        return "cuda"
    foreign = [m for m in (p.search(text) for p in _FOREIGN_TARGET) if m is not None]
    if foreign:
        return min(foreign, key=lambda m: m.start()).group(1)  # the first in the file
    if _found(_METAL_HINT, text, _METAL_HINT_Q):
        return "metal"
    if _found(_HIP_HINT, text):
        return "hip"
    return "cuda"


def may_define_kernel(text: str) -> bool:
    """Without a TileLang import and a `Kernel` launch a file cannot define a kernel: it is not parsed."""
    return "tilelang" in text and "Kernel" in text


@dataclass
class TextAnalysis:
    """One file's text analysed: the report tilelint prints, and what it was computed from.

    `source`, `analysis` and `plans` are None / empty when the text was not
    parsed (it cannot define a kernel, or it does not parse); `syntax_error`
    is the TL901 diagnostic of a text that does not parse, whether or not the
    configuration reports TL901.
    """

    report: FileReport
    source: SourceFile | None = None
    analysis: ModuleAnalysis | None = None
    plans: dict[int, dict[str, Any]] = field(default_factory=dict)  # id(model) -> arch -> SharedMemoryPlan
    syntax_error: Diagnostic | None = None


def syntax_diagnostic(err: SourceSyntaxError) -> Diagnostic:
    return tl_diag("TL901", Severity.ERROR, f"syntax error: {err.message}", Range.point(err.line, err.col))


def analyze_text(text: str, path: str, config: Config = Config(), cli_requests: tuple[str, ...] = ()) -> TextAnalysis:
    """The whole pipeline on one file's text. Never raises for any input text."""
    report = FileReport(path)
    if not may_define_kernel(text):
        return TextAnalysis(report)
    try:
        source = SourceFile.from_text(text, path)
    except SourceSyntaxError as err:
        diag = syntax_diagnostic(err)
        if config.enabled("TL901"):
            report.diagnostics.append(diag)
        return TextAnalysis(report, syntax_error=diag)
    analysis = analyze_module(source, config, cli_requests)
    plans = {id(m): _plans(m, config) for m in analysis.models}
    diagnostics = list(analysis.problems) + run_rules(analysis, plans, config)
    report.diagnostics = sorted(
        (d for d in diagnostics if config.enabled(d.code) and not source.directives.suppressed(d.code, d.range.start.line)),
        key=lambda d: (d.range.start, d.code, d.arch or ""),
    )
    report.kernels = [kernel_facts(m, plans[id(m)], config) for m in analysis.models]
    return TextAnalysis(report, source, analysis, plans)


def analyze_source(text: str, path: str, config: Config = Config(), cli_requests: tuple[str, ...] = ()) -> FileReport:
    """Analyse one file's text. Never raises for any input text."""
    return analyze_text(text, path, config, cli_requests).report


def _plans(model: KernelModel, config: Config) -> dict[str, Any]:
    return plan_for_arches(model, config.arches)
