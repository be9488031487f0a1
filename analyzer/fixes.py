"""Quick fixes: text edits that make a diagnostic go away, computed from the models.

Each fix is found from the kernel model behind its diagnostic (never by
reading the message) and is checked in the tests by applying its edits and
analysing the text again:

- TL101 (shared memory over a limit): set `num_stages` to the largest value
  whose arena fits every configured arch (the shared-memory planner re-run
  with fewer stages, `shared_memory.max_stages_that_fit`). The edit goes where
  the value is written: a literal `num_stages=3` in `T.Pipelined(...)`; or,
  when that argument is a name, the literal that binds it: the argument of the
  call that instantiates the kernel (keyword or positional), the entry of the
  `@autotune` config dict the instantiation came from, the
  `# tilelint: instantiate` comment, the parameter's default, or a plain
  assignment `num_stages = 3` in the kernel, its factory or the module. Values
  that come from the command line or pyproject.toml, dict-of-lists autotune
  spaces and computed values get no fix.
- TL401 / TL402 / TL406 (a register tile in the wrong scope): allocate the
  buffer with `T.alloc_fragment` (the accumulator of a gemm, a local A operand,
  the local side of a reduction, a local buffer indexed by `T.Parallel`),
  dropping a `scope=` argument.
- TL412 (accumulator never cleared): insert `T.clear(C)` before the innermost
  loop around the first gemm (before the gemm itself when no loop encloses it).
- Any TLxxx diagnostic: `# tilelint: ignore[CODE]` on its line (`ignore_edit`).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable

import libcst as cst

from .diagnostics import Diagnostic, Position, Range
from .facts import plain
from .locations import Lines, SourceTables, binding, dotted, iter_nodes, line_starts, split_lines
from .model import FRAGMENT, LOCAL, Buffer, BufferLoad, BufferRegion, KernelModel, Loop, Op, walk_in_context
from .shared_memory import max_stages_that_fit, pipelined_loops
from .values import Sym, TensorValue

if TYPE_CHECKING:
    from .engine import TextAnalysis
    from .config import Config

TMEM = "shared.tmem"
LOOP_KINDS = ("pipelined", "serial", "unroll", "parallel", "vectorized", "persistent")


@dataclass(frozen=True)
class TextEdit:
    range: Range
    new_text: str


@dataclass(frozen=True)
class Fix:
    """A quick fix of one diagnostic of the report (matched by code, range and message)."""

    code: str
    range: Range
    message: str
    title: str
    edits: tuple[TextEdit, ...]


def compute_fixes(result: "TextAnalysis", config: "Config", tables: SourceTables,
                  aliases: tuple[str, ...]) -> list[Fix]:
    if result.analysis is None or result.source is None:
        return []
    finder = _Finder(result, config, tables, aliases)
    out: list[Fix] = []
    for d, model in finder.over_limit_models():
        fix = finder.stages_fix(d, model)
        if fix is not None:
            out.append(fix)
    for d in result.report.diagnostics:
        fix = None
        if d.code in ("TL401", "TL402", "TL406"):
            fix = finder.fragment_fix(d)
        elif d.code == "TL412":
            fix = finder.clear_fix(d)
        if fix is not None:
            out.append(fix)
    return out


class _Finder:
    def __init__(self, result: "TextAnalysis", config: "Config", tables: SourceTables, aliases: tuple[str, ...]):
        assert result.analysis is not None and result.source is not None
        self.result = result
        self.analysis = result.analysis
        self.source = result.source
        self.locator = result.source.locator
        self.config = config
        self.tables = tables
        self.lines = tables.lines
        self.aliases = aliases

    # -- TL101 ------------------------------------------------------------------------
    def over_limit_models(self) -> Iterable[tuple[Diagnostic, KernelModel]]:
        """Each TL101 of the report with the model it is about.

        The rule reports models in order, one diagnostic per arch over its
        limit, and the report's sort is stable: the k-th TL101 at one kernel,
        place and arch belongs to the k-th model over that arch's limit there.
        """
        if not any(d.code == "TL101" for d in self.result.report.diagnostics):
            return
        over: dict[tuple[Any, ...], list[KernelModel]] = {}
        for model in self.analysis.models:
            for arch, plan in self.result.plans.get(id(model), {}).items():
                if plan.dynamic_bytes is not None and plan.dynamic_bytes > plan.limit:
                    anchor = (model.launch.span if model.launch is not None else model.span).range
                    over.setdefault((model.name, anchor, arch), []).append(model)
        seen: dict[tuple[Any, ...], int] = {}
        for d in self.result.report.diagnostics:
            if d.code != "TL101":
                continue
            key = (d.kernel, d.range, d.arch)
            k = seen.get(key, 0)
            seen[key] = k + 1
            models = over.get(key, [])
            if k < len(models):
                yield d, models[k]

    def stages_fix(self, d: Diagnostic, model: KernelModel) -> Fix | None:
        loops, _ = pipelined_loops(model.body)
        if not loops or any(lp.stage is not None for lp in loops):
            return None
        best: int | None = None
        for arch in self.config.arches:
            n = max_stages_that_fit(model, arch)
            if n is None:
                return None
            best = n if best is None else min(best, n)
        if best is None or best >= max(lp.num_stages for lp in loops):
            return None
        edits: dict[Range, TextEdit] = {}
        for loop in loops:
            if loop.num_stages <= best:
                continue
            found = self._stage_edits(model, loop, best)
            if not found:
                return None
            for e in found:
                edits[e.range] = e
        title = f"Set num_stages to {best} (the most that fits {', '.join(self.config.arches)})"
        return Fix(d.code, d.range, d.message, title, tuple(sorted(edits.values(), key=lambda e: e.range)))

    def _stage_edits(self, model: KernelModel, loop: Loop, stages: int) -> list[TextEdit]:
        line = self.locator.line_of(loop.span.stmt) if loop.span.stmt is not None else None
        node = self.tables.statement(line, ast.For) if line is not None else None
        if node is None or not isinstance(node.iter, ast.Call):  # type: ignore[attr-defined]
            return []
        call: ast.Call = node.iter  # type: ignore[attr-defined]
        arg = next((k.value for k in call.keywords if k.arg == "num_stages"), None)
        if arg is None and len(call.args) > 2 and not any(isinstance(a, ast.Starred) for a in call.args[:3]):
            arg = call.args[2]
        if _is_int(arg):
            return [TextEdit(self.lines.range(arg), str(stages))]  # type: ignore[arg-type]
        if isinstance(arg, ast.Name):
            return self._binding_edits(model, arg.id, line, stages)  # type: ignore[arg-type]
        return []

    def _binding_edits(self, model: KernelModel, name: str, line: int, stages: int) -> list[TextEdit]:
        site = next((s for s in self.analysis.sites if s.name == model.site), None)
        site_line = self.locator.line_of(site.node) if site is not None else None
        site_fn = self.tables.statement(site_line, ast.FunctionDef) if site_line is not None else None
        if isinstance(site_fn, (ast.FunctionDef, ast.AsyncFunctionDef)) and name in _param_names(site_fn):
            bound = model.instantiation.get(name)
            if name in model.instantiation and not isinstance(bound, Sym):
                source = model.instantiation_source
                edits: list[TextEdit] = []
                if source in ("call-site", "call-site+autotune"):
                    edits = self._call_edits(site_fn, model, name, stages)
                if not edits and source in ("autotune", "call-site+autotune"):
                    edits = self._config_edits(site_fn, model, name, stages)
                if not edits and source == "comment":
                    edits = self._comment_edits(site_fn, model, name, stages)
                return edits
            default = _default(site_fn, name)
            return [TextEdit(self.lines.range(default), str(stages))] if _is_int(default) else []
        return self._assignment_edits(model, site_fn, name, line, stages)

    def _call_edits(self, site_fn: ast.FunctionDef | ast.AsyncFunctionDef, model: KernelModel, name: str,
                    stages: int) -> list[TextEdit]:
        out: list[TextEdit] = []
        for call in self.tables.calls:
            target = dotted(call.func)
            if target is None or (target != site_fn.name and target.rpartition(".")[0] != site_fn.name):
                continue
            mapping = _map_call(site_fn, call.args, call.keywords)
            if mapping is None or not _consistent(mapping, model.instantiation):
                continue
            value = mapping.get(name)
            if _is_int(value) and value.value == model.instantiation.get(name):  # type: ignore[union-attr]
                out.append(TextEdit(self.lines.range(value), str(stages)))  # type: ignore[arg-type]
        return out

    def _config_edits(self, site_fn: ast.FunctionDef | ast.AsyncFunctionDef, model: KernelModel, name: str,
                      stages: int) -> list[TextEdit]:
        places: list[ast.AST] = list(site_fn.decorator_list)
        places += [s for s in self.tables.tree.body if isinstance(s, (ast.Assign, ast.AnnAssign))]
        out: list[TextEdit] = []
        for place in places:
            for node in iter_nodes(place):
                if not isinstance(node, ast.Dict):
                    continue
                entries = {k.value: v for k, v in zip(node.keys, node.values)
                           if isinstance(k, ast.Constant) and isinstance(k.value, str)}
                value = entries.get(name)
                if not _is_int(value) or value.value != model.instantiation.get(name):  # type: ignore[union-attr]
                    continue
                if _consistent(entries, model.instantiation):
                    out.append(TextEdit(self.lines.range(value), str(stages)))  # type: ignore[arg-type]
        return out

    def _comment_edits(self, site_fn: ast.FunctionDef | ast.AsyncFunctionDef, model: KernelModel, name: str,
                       stages: int) -> list[TextEdit]:
        out: list[TextEdit] = []
        for line, text in self.source.directives.instantiate:
            try:
                call = ast.parse(text.strip(), mode="eval").body
            except (SyntaxError, ValueError):
                continue
            if not isinstance(call, ast.Call) or dotted(call.func) != site_fn.name:
                continue
            mapping = _map_call(site_fn, call.args, call.keywords)
            if mapping is None or not _consistent(mapping, model.instantiation):
                continue
            value = mapping.get(name)
            if not _is_int(value):
                continue
            full = self.lines.line(line)
            offset = full.find(text.strip())
            if offset < 0:
                continue
            inner = Lines(text.strip()).range(value)  # type: ignore[arg-type]
            out.append(TextEdit(Range(Position(line, offset + inner.start.character),
                                      Position(line, offset + inner.end.character)), str(stages)))
        return out

    def _assignment_edits(self, model: KernelModel, site_fn: ast.AST | None, name: str, line: int,
                          stages: int) -> list[TextEdit]:
        scopes: list[ast.AST] = []
        kernel_line = self.locator.line_of(model.func_node)
        kernel_fn = self.tables.statement(kernel_line, ast.FunctionDef) if kernel_line is not None else None
        for fn in (kernel_fn, site_fn):
            if fn is not None and fn not in scopes:
                scopes.append(fn)
        for scope in scopes:
            found = [s for s in iter_nodes(scope) if _assigns_int(s, name) and s.lineno - 1 < line]  # type: ignore[attr-defined]
            if found:
                last = max(found, key=lambda s: s.lineno)  # type: ignore[attr-defined]
                return [TextEdit(self.lines.range(last.value), str(stages))]  # type: ignore[attr-defined]
        found = [s for s in self.tables.tree.body if _assigns_int(s, name)]
        if found:
            return [TextEdit(self.lines.range(found[-1].value), str(stages))]  # type: ignore[attr-defined]
        return []

    # -- TL401 / TL402 / TL406 -----------------------------------------------------------
    def _ops_at(self, d: Diagnostic) -> Iterable[tuple[KernelModel, Op, tuple[Loop, ...]]]:
        for model in self.analysis.models:
            if model.name != d.kernel:
                continue
            for stmt, loops in walk_in_context(model.body):
                if isinstance(stmt, Op) and stmt.span.line == d.range.start.line and stmt.span.range == d.range:
                    yield model, stmt, loops

    def fragment_fix(self, d: Diagnostic) -> Fix | None:
        for _, op, loops in self._ops_at(d):
            buffers = _wrong_scope_buffers(d.code, op, loops)
            edits: list[TextEdit] = []
            for buf in buffers:
                found = self._fragment_edits(buf)
                if not found:
                    return None
                edits += found
            if edits:
                names = " and ".join(b.name for b in buffers)
                alias = self._alias_of(buffers[0].span.node)
                title = f"Allocate {names} with {alias}.alloc_fragment"
                return Fix(d.code, d.range, d.message, title, tuple(edits))
        return None

    def _fragment_edits(self, buf: Buffer) -> list[TextEdit]:
        """Rename `T.alloc_shared` / `T.alloc_local` to `alloc_fragment` and drop arguments other than shape, dtype."""
        line = self.locator.line_of(buf.span.stmt) if buf.span.stmt is not None else None
        call = None
        for stmt in self.tables.simple.get(line + 1, []) if line is not None else []:
            found = binding(stmt, buf.name)
            if found is not None:
                call = found[1]
        if not isinstance(call, ast.Call) or not isinstance(call.func, ast.Attribute):
            return []
        if call.func.attr not in ("alloc_shared", "alloc_local"):
            return []
        end = self.lines.range(call.func).end
        edits = [TextEdit(Range(Position(end.line, end.character - len(call.func.attr)), end), "alloc_fragment")]
        ordered: list[ast.AST] = sorted([*call.args, *call.keywords], key=lambda a: (a.lineno, a.col_offset))
        if any(isinstance(a, ast.Starred) for a in call.args) or any(k.arg is None for k in call.keywords):
            return []
        for i, arg in enumerate(ordered):
            keep = arg.arg in ("shape", "dtype") if isinstance(arg, ast.keyword) else call.args.index(arg) < 2
            if keep:
                continue
            here = self.lines.range(arg)
            if i > 0:  # from the end of the argument before it: `, scope="shared"`
                edits.append(TextEdit(Range(self.lines.range(ordered[i - 1]).end, here.end), ""))
            elif i + 1 < len(ordered):  # the first argument: up to the next one
                edits.append(TextEdit(Range(here.start, self.lines.range(ordered[i + 1]).start), ""))
        return edits

    def _alias_of(self, call: Any) -> str:
        if isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute):
            return cst.Module(body=[]).code_for_node(call.func.value)
        return self.aliases[0] if self.aliases else "T"

    # -- TL412 ------------------------------------------------------------------------
    def clear_fix(self, d: Diagnostic) -> Fix | None:
        for _, op, loops in self._ops_at(d):
            c = _buffer_of(op.args.get("C"))
            if c is None or not c.root.name:
                continue
            name = c.root.name
            alias = self._alias_of(op.span.node)
            around = [lp for lp in loops if lp.kind in LOOP_KINDS and isinstance(lp.span.stmt, (cst.For, cst.While))]
            anchor = around[-1].span.stmt if around else op.span.stmt
            line = self.locator.line_of(anchor) if anchor is not None else None
            if line is None:
                continue
            newline = "\r\n" if "\r\n" in self.source.text else "\n"
            text = f"{self.lines.indent(line)}{alias}.clear({name}){newline}"
            where = "before the loop" if around else "before the gemm"
            return Fix(d.code, d.range, d.message, f"Add {alias}.clear({name}) {where}",
                       (TextEdit(Range.point(line, 0), text),))
        return None


# -- the ignore comment -------------------------------------------------------------------

_IGNORE = re.compile(r"#\s*tilelint\s*:\s*ignore\b(?P<list>\s*\[(?P<codes>[^\]]*)\])?")
_CODE = re.compile(r"^TL\d{3}$")


def ignore_edit(text: str, line: int, code: str) -> TextEdit | None:
    """The edit that adds `code` to a `# tilelint: ignore[...]` comment on `line` (0-based).

    An ignore list already on the line (or on a comment line just above) is
    merged; a bare `# tilelint: ignore` already silences everything (None). A
    line ending in a backslash, or carrying another `tilelint` directive, gets
    the comment on a line of its own above it.
    """
    if not _CODE.match(code):
        return None
    lines = split_lines(text)
    if not 0 <= line < len(lines):
        return None
    for number in (line, line - 1):
        if number < 0:
            continue
        src = lines[number]
        if number == line - 1 and not src.lstrip().startswith("#"):
            break
        match = _IGNORE.search(src)
        if match is None:
            continue
        if match.group("list") is None:
            return None
        codes = [c.strip().upper() for c in match.group("codes").split(",") if c.strip()]
        if code in codes:
            return None
        merged = ", ".join(sorted(set(codes) | {code}))
        start, end = match.span("codes")
        return TextEdit(Range(Position(number, start), Position(number, end)), merged)
    src = lines[line]
    comment = f"# tilelint: ignore[{code}]"
    body = src.rstrip()
    if body.endswith("\\") or "tilelint" in src:
        indent = src[: len(src) - len(src.lstrip(" \t"))]
        newline = "\r\n" if "\r\n" in text else "\n"
        return TextEdit(Range.point(line, 0), f"{indent}{comment}{newline}")
    return TextEdit(Range(Position(line, len(body)), Position(line, len(src))), f"  {comment}")


# -- helpers ---------------------------------------------------------------------------


def _buffer_of(value: Any) -> Buffer | None:
    if isinstance(value, Buffer):
        return value
    if isinstance(value, (BufferRegion, BufferLoad)):
        return value.buffer
    return None


_IDENT = re.compile(r"[A-Za-z_]\w*")


def _wrong_scope_buffers(code: str, op: Op, loops: tuple[Loop, ...]) -> list[Buffer]:
    """The buffers a fragment allocation fixes, found the way the scope rules find them."""
    out: list[Buffer] = []
    if code == "TL401" and op.kind == "gemm":
        c, a = _buffer_of(op.args.get("C")), _buffer_of(op.args.get("A"))
        if c is not None and c.root.scope not in (FRAGMENT, TMEM):
            out.append(c.root)
        if a is not None and a.root.scope == LOCAL:
            out.append(a.root)
    elif code == "TL402" and op.kind == "reduce":
        src, dst = _buffer_of(op.args.get("buffer")), _buffer_of(op.args.get("out"))
        if src is not None and dst is not None and not (src.root.scope == LOCAL and dst.root.scope == LOCAL):
            out += [b.root for b in (src, dst) if b.root.scope == LOCAL]
    elif code == "TL406":
        par_vars = {v for lp in loops if lp.kind == "parallel" for v in lp.vars}
        for access in op.accesses:
            buf = access.buffer.root
            indices = [start for start, _ in access.region] if access.region else []
            used = {n for i in indices if isinstance(i, Sym) for n in _IDENT.findall(i.text)}
            if buf.scope == LOCAL and used & par_vars and buf not in out:
                out.append(buf)
    return out


def _is_int(node: Any) -> bool:
    return isinstance(node, ast.Constant) and type(node.value) is int


def _assigns_int(stmt: ast.AST, name: str) -> bool:
    return (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)
            and stmt.targets[0].id == name and _is_int(stmt.value))


def _param_names(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    a = fn.args
    return [x.arg for x in a.posonlyargs + a.args + a.kwonlyargs]


def _default(fn: ast.FunctionDef | ast.AsyncFunctionDef, name: str) -> ast.expr | None:
    a = fn.args
    positional = a.posonlyargs + a.args
    offset = len(positional) - len(a.defaults)
    for i, arg in enumerate(positional):
        if arg.arg == name:
            return a.defaults[i - offset] if i >= offset else None
    for arg, default in zip(a.kwonlyargs, a.kw_defaults):
        if arg.arg == name:
            return default
    return None


def _map_call(fn: ast.FunctionDef | ast.AsyncFunctionDef, args: list[ast.expr],
              keywords: list[ast.keyword]) -> dict[str, ast.expr] | None:
    """Parameter name -> argument expression, as Python binds the call (None when it cannot tell)."""
    positional = [x.arg for x in fn.args.posonlyargs + fn.args.args]
    out: dict[str, ast.expr] = {}
    for i, arg in enumerate(args):
        if isinstance(arg, ast.Starred):
            return None
        if i < len(positional):
            out[positional[i]] = arg
    for kw in keywords:
        if kw.arg is not None:
            out[kw.arg] = kw.value
    return out


def _consistent(mapping: dict[Any, ast.expr], instantiation: dict[str, Any]) -> bool:
    """Whether every literal of a call or config agrees with the instantiation's values."""
    for key, expr in mapping.items():
        if not isinstance(expr, ast.Constant) or key not in instantiation:
            continue
        value = instantiation[key]
        if isinstance(value, (TensorValue, Sym)):
            continue
        value = plain(value)
        if value != expr.value or isinstance(value, bool) != isinstance(expr.value, bool):
            return False
    return True


def apply_edits(text: str, edits: Iterable[TextEdit]) -> str:
    """`text` with non-overlapping edits applied (code-point ranges, as LSP clients apply them)."""
    starts = line_starts(text)

    def offset(p: Position) -> int:
        if p.line >= len(starts):
            return len(text)
        end = len(text)
        if p.line + 1 < len(starts):
            end = starts[p.line + 1]
            end -= 2 if text[end - 2 : end] == "\r\n" else 1
        return min(starts[p.line] + p.character, end)

    for edit in sorted(edits, key=lambda e: (e.range.start, e.range.end), reverse=True):
        text = text[: offset(edit.range.start)] + edit.new_text + text[offset(edit.range.end):]
    return text
