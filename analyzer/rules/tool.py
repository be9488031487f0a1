"""TL9xx: problems of the tool itself (syntax errors, kernels it cannot size)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..config import Config
from ..diagnostics import Diagnostic, Severity
from ..model import KernelModel
from ..values import Sym
from . import Example, Rule, register
from .common import dedupe

if TYPE_CHECKING:
    from ..engine import ModuleAnalysis


def _signature_hint(site: str, names: list[str]) -> str:
    return f"{site}(" + ", ".join(f"{n}=..." for n in names) + ")"


def check_uninstantiated(analysis: "ModuleAnalysis", plans: dict[int, dict[str, Any]], config: Config) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    for model in analysis.models:
        if not model.shared_unbound or model.incomplete:
            continue
        names = list(model.shared_unbound)
        hint = _signature_hint(model.site, names)
        message = (
            f"kernel {model.name} of {model.site}: shared memory cannot be sized because "
            f"{', '.join(names)} {'has' if len(names) == 1 else 'have'} no value "
            f"(no call with constant arguments{', no default' if not _overridden(model, names) else ''}); bind {'it' if len(names) == 1 else 'them'} with "
            f"`# tilelint: instantiate {hint}`, `--instantiate '{hint}'` or "
            f"[tool.tilelint] instantiate"
        )
        out.append(Diagnostic("TL902", Severity.INFORMATION, message, model.span.range, None, model.name))
    return dedupe(out)


def _overridden(model: KernelModel, names: list[str]) -> bool:
    """Whether some of the names have defaults that a call replaces with a run-time value."""
    return any(isinstance(model.instantiation.get(n), Sym) and n not in model.unbound_params for n in names)


def check_incomplete(analysis: "ModuleAnalysis", plans: dict[int, dict[str, Any]], config: Config) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    for model in analysis.models:
        for reason in model.incomplete[:1]:
            message = f"kernel {model.name} of {model.site} was not fully analysed: {reason}; its budgets are not checked"
            out.append(Diagnostic("TL903", Severity.WARNING, message, model.span.range, None, model.name))
    return out


register(
    Rule(
        "TL901",
        "syntax-error",
        Severity.ERROR,
        "The file is not valid Python, so no kernel in it can be analysed.",
        why="The analyzer parses the file before anything else; nothing is checked until it parses.",
        fix="Fix the syntax error at the reported position.",
        invalid=(
            Example(
                "import tilelang.language as T\n\n\ndef f(N):\n    with T.Kernel(N, threads=128 as bx:\n        pass\n",
                ("TL901",),
            ),
        ),
        valid=(Example("import tilelang.language as T\n\n\ndef f(N):\n    with T.Kernel(N, threads=128) as bx:\n        pass\n"),),
    )
)

register(
    Rule(
        "TL902",
        "kernel-not-instantiated",
        Severity.INFORMATION,
        "A kernel's shapes depend on parameters that have no value, so its budgets cannot be checked.",
        why=(
            "Shapes are usually factory parameters. tilelint binds them from call sites with constant "
            "arguments, `main()` drivers, autotune configs and defaults; when none applies, nothing "
            "about the kernel's memory can be proven."
        ),
        fix=(
            "Add `# tilelint: instantiate matmul(1024, 1024, 1024, 128, 128, 32)` to the file, pass "
            "`--instantiate`, or list calls under `[tool.tilelint] instantiate`."
        ),
        invalid=(
            Example(
                '''import tilelang.language as T


def scale(N, block):
    @T.prim_func
    def main(A: T.Tensor((N,), "float16")):
        with T.Kernel(T.ceildiv(N, block), threads=128) as bx:
            S = T.alloc_shared((block,), "float16")
            T.copy(A[bx * block], S)
            T.copy(S, A[bx * block])

    return main
''',
                ("TL902",),
            ),
        ),
        valid=(
            Example(
                '''import tilelang.language as T


def scale(N, block):
    @T.prim_func
    def main(A: T.Tensor((N,), "float16")):
        with T.Kernel(T.ceildiv(N, block), threads=128) as bx:
            S = T.alloc_shared((block,), "float16")
            T.copy(A[bx * block], S)
            T.copy(S, A[bx * block])

    return main


kernel = scale(4096, 256)
''',
            ),
        ),
        check=check_uninstantiated,
    )
)

register(
    Rule(
        "TL903",
        "analysis-incomplete",
        Severity.WARNING,
        "The analyzer could not follow a kernel completely, so its budgets are not checked.",
        why=(
            "A construct the abstract interpreter does not model (or an analyzer bug) would make any "
            "number it reports a guess; tilelint says so instead of guessing."
        ),
        fix="Simplify the construct it names, or report it with the file attached.",
        check=check_incomplete,
    )
)

register(
    Rule(
        "TL900",
        "file-unreadable",
        Severity.ERROR,
        "The file could not be read (missing, not a file, or not UTF-8 text).",
        why="tilelint reports the file instead of stopping the whole run.",
        fix="Check the path, and save the file as UTF-8.",
    )
)

register(
    Rule(
        "TL904",
        "rule-failed",
        Severity.WARNING,
        "A rule failed on this file and was skipped; the other rules still ran.",
        why="An analyzer bug in one rule must not hide every other finding, nor stop a CI run.",
        fix="Report it with the file attached; disable the named rule meanwhile if it gets in the way.",
    )
)
