"""Small helpers the rule families share: per-model checks, operand names, snippets."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any, Callable, Iterable

from ..config import Config
from ..diagnostics import Diagnostic, Related, Severity
from ..model import Buffer, BufferLoad, BufferRegion, KernelModel, Op, Span
from ..values import as_int, show

if TYPE_CHECKING:
    from ..engine import ModuleAnalysis

ModelCheck = Callable[[KernelModel, Config], Iterable[Diagnostic]]


def per_model(check: ModelCheck, cuda_only: bool = False
              ) -> Callable[["ModuleAnalysis", dict[int, dict[str, Any]], Config], list[Diagnostic]]:
    """Adapt a check of one KernelModel to the registry's signature.

    `cuda_only` checks skip files that build for another back end (see
    engine.file_target). Autotune configs are tried one by one and the tuner skips those that fail
    to compile, so an error found in only some configs of a site becomes a
    warning naming them; an error in every config stays an error. Identical
    findings from several instantiations are reported once.
    """

    def run(analysis: "ModuleAnalysis", plans: dict[int, dict[str, Any]], config: Config) -> list[Diagnostic]:
        out: list[Diagnostic] = []
        tuned: dict[tuple[str, int], list[tuple[KernelModel, list[Diagnostic]]]] = {}
        for model in analysis.models:
            if model.incomplete or (cuda_only and model.target != "cuda"):
                continue
            found = list(check(model, config))
            if model.tuned:
                tuned.setdefault((model.site, id(model.func_node)), []).append((model, found))
            elif model.guessed:
                out.extend(_soften_guess(model, found))
            else:
                out.extend(found)
        for runs in tuned.values():
            out.extend(_merge_tuned(runs))
        return dedupe(out)

    run.__name__ = check.__name__
    return run


def dedupe(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    seen: set[tuple[Any, ...]] = set()
    out: list[Diagnostic] = []
    for d in diagnostics:
        key = (d.code, d.severity, d.message, d.range, d.arch, d.kernel)
        if key not in seen:
            seen.add(key)
            out.append(d)
    return out


def _soften_guess(model: KernelModel, found: list[Diagnostic]) -> Iterable[Diagnostic]:
    """Errors under parameter defaults, when the real call is out of sight, are only likely."""
    free = ", ".join(model.unbound_params)
    note = (f" [found with parameter defaults: no call with constant arguments binds {model.site} and "
            f"{free} has no value; add '# tilelint: instantiate {model.site}(...)' to check the real configuration]")
    for d in found:
        yield replace(d, severity=Severity.WARNING, message=d.message + note) if d.severity is Severity.ERROR else d


def _merge_tuned(runs: list[tuple[KernelModel, list[Diagnostic]]]) -> list[Diagnostic]:
    names = {k for model, _ in runs for k in model.instantiation}
    varying = sorted(k for k in names if len({show(m.instantiation.get(k)) for m, _ in runs}) > 1)
    hits: dict[tuple[Any, ...], list[tuple[KernelModel, Diagnostic]]] = {}
    out: list[Diagnostic] = []
    for model, found in runs:
        for d in found:
            if d.severity is Severity.ERROR:
                hits.setdefault((d.code, d.range, d.arch), []).append((model, d))
            else:
                out.append(d)
    for (code, _, _), items in hits.items():
        failing = list(dict.fromkeys(id(m) for m, _ in items))
        model, first = items[0]
        if len(failing) == len(runs):
            out.extend(d for _, d in items)
            continue
        example = ", ".join(f"{k}={show(model.instantiation.get(k))}" for k in varying) or "one config"
        note = (f" [in {len(failing)} of {len(runs)} autotune configs, e.g. {example}; "
                f"the autotuner skips configs that fail to compile]")
        out.append(replace(first, severity=Severity.WARNING, message=first.message + note))
    return out


def diag(code: str, severity: Severity, message: str, span: Span, model: KernelModel, arch: str | None = None,
         related: Iterable[tuple[Span, str]] = ()) -> Diagnostic:
    rel = tuple(Related(s.range, text) for s, text in related)
    return Diagnostic(code, severity, message, span.range, arch, model.name, rel)


def dims(shape: Iterable[Any]) -> list[int] | None:
    """The shape as ints, or None when any extent is not known."""
    out = [as_int(d) for d in shape]
    return None if any(d is None for d in out) else out  # type: ignore[return-value]


def shape_text(shape: Iterable[Any]) -> str:
    items = [show(d) for d in shape]
    return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"


def operand_name(value: Any) -> str:
    """How an operand is written: `A_shared`, `A_shared[0:64, 0:32]`, `A[i, j]`."""
    if isinstance(value, Buffer):
        return value.name
    if isinstance(value, BufferRegion):
        parts = []
        for start, extent in value.region:
            lo = as_int(start)
            n = as_int(extent)
            if lo is not None and n is not None:
                parts.append(f"{lo}:{lo + n}")
            else:
                parts.append(f"{show(start)}:+{show(extent)}")
        return f"{value.buffer.name}[{', '.join(parts)}]"
    if isinstance(value, BufferLoad):
        return f"{value.buffer.name}[{', '.join(show(i) for i in value.indices)}]"
    return show(value)


def op_operand(op: Op, name: str) -> Any:
    return op.args.get(name)


GEMM_HEADER = "import tilelang\nimport tilelang.language as T\n\n\n"
