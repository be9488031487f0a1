"""The rule registry: every diagnostic code, its metadata, docs and examples.

`tilelint --explain`, `docs/rules.md`, the LSP's `codeDescription` links and
the rule tests all read this one registry. A rule reads the KernelModel and
the shared-memory plans; it never re-parses the file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from ..config import Config
from ..diagnostics import Diagnostic, Range, Severity

if TYPE_CHECKING:
    from ..engine import ModuleAnalysis

DOCS_URL = "https://github.com/tilelsp/tilelsp/blob/main/docs/rules.md"


@dataclass(frozen=True)
class Example:
    """A snippet for the docs and the tests: `expect` lists the codes it must raise."""

    source: str
    expect: tuple[str, ...] = ()
    args: tuple[str, ...] = ()  # extra tilelint arguments, e.g. ("--arch", "sm_89")
    # what TileLang itself does with an invalid example: "" = refuses it (lowering, nvcc or launch fails);
    # "silent" = compiles it, and it misbehaves at run time (the reason the rule exists)
    tilelang: str = ""


@dataclass(frozen=True)
class Rule:
    code: str
    name: str
    severity: Severity
    summary: str  # one line
    why: str
    fix: str
    invalid: tuple[Example, ...] = ()
    valid: tuple[Example, ...] = ()
    # the check, or None for codes produced by other stages (syntax errors)
    check: Callable[["ModuleAnalysis", dict[int, dict[str, Any]], Config], list[Diagnostic]] | None = field(
        default=None, compare=False
    )

    @property
    def help_uri(self) -> str:
        return f"{DOCS_URL}#{self.code.lower()}-{self.name}"


REGISTRY: dict[str, Rule] = {}


def register(rule: Rule) -> Rule:
    if rule.code in REGISTRY:
        raise ValueError(f"duplicate rule code {rule.code}")
    REGISTRY[rule.code] = rule
    return rule


def run_rules(analysis: "ModuleAnalysis", plans: dict[int, dict[str, Any]], config: Config) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    for rule in REGISTRY.values():
        if rule.check is not None and config.enabled(rule.code):
            try:
                out.extend(rule.check(analysis, plans, config))
            except Exception as err:  # noqa: BLE001 - one broken rule must not hide the others' findings
                if config.enabled("TL904"):
                    message = (f"rule {rule.code} ({rule.name}) failed on this file and was skipped: "
                               f"{type(err).__name__}: {err}")
                    out.append(Diagnostic("TL904", Severity.WARNING, message, Range.point(0, 0)))
    return out


def lookup(code: str) -> Rule | None:
    return REGISTRY.get(code.strip().upper())


# Import the rule families so they register themselves.
from . import dtypes, launch, memory, scopes, shapes, tool  # noqa: E402,F401
