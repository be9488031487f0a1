"""The editor's view of one file: kernels, buffers, loops and `T.*` references with their ranges.

`build_index` runs the same pipeline as tilelint (`engine.analyze_text`: one
parse, one analysis; its `report` is exactly what tilelint reports for the
same text and configuration) and keeps, next to the report, what hovers,
inlay hints, symbols, go-to-definition, references and quick fixes need.
Everything here is plain, picklable data (no libcst nodes, no LSP types), so
an index can be built in a worker process and outlive the text it was built
from: while the text has a syntax error the server keeps serving from the
last good index.

Ranges are 0-based lines and code-point columns, like every analyzer range.
Several instantiations of one kernel (autotune configs, several call sites)
give several `KernelInfo`s with the same ranges, and as many `BufferInfo`s
per allocation.
"""

from __future__ import annotations

import ast
import hashlib
import math
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import libcst as cst

from .catalog import CATALOG
from .config import Config
from .diagnostics import Diagnostic, Position, Range
from .engine import TextAnalysis, analyze_text, syntax_diagnostic
from .fixes import Fix, compute_fixes
from .locations import Lines, SourceTables, binding, contains, dotted, iter_nodes
from .model import FRAGMENT, Buffer, KernelModel, Loop, sym_text, walk
from .registers import FRAGMENT_SCOPES, estimate_registers
from .report import FileReport
from .shared_memory import SharedMemoryPlan
from .source import SourceFile, SourceSyntaxError, parse_python

__all__ = ["BufferInfo", "CallRef", "DocumentIndex", "KernelInfo", "LoopInfo", "build_index", "digest"]


@dataclass(frozen=True)
class LoopInfo:
    kind: str  # as written: "T.Parallel", "T.Pipelined", "T.serial", "range", "while", "T.ws"
    vars: tuple[str, ...]
    extents: tuple[Any, ...]  # ints, or the text of a symbolic extent
    num_stages: int
    range: Range  # the whole statement, body included
    header: Range  # `for i in T.Parallel(...)` up to the end of the iterable


@dataclass(frozen=True)
class BufferInfo:
    name: str
    kernel: str
    kernel_index: int  # into DocumentIndex.kernels
    scope: str
    shape: tuple[Any, ...]  # ints, or the text of symbolic extents
    dtype: str | None
    bytes: int | None  # one version
    versions: int  # pipeline versions on the first configured arch
    versions_by_arch: tuple[tuple[str, int], ...]  # every configured arch, for archs that differ
    elements: int | None
    threads: int | None  # fragments: the threads the buffer is spread over
    elements_per_thread: int | None  # fragments, local arrays and scalars
    registers_per_thread: int | None  # 32-bit registers per thread (estimate)
    held: bool | None  # fragments: kept whole in registers (counted in the kernel's estimate) or streamed
    is_param: bool  # a kernel parameter (global tensor), not an allocation
    name_range: Range | None  # the name where it is allocated (or declared, for parameters)
    alloc_range: Range | None  # the `T.alloc_*(...)` call
    statement_range: Range | None  # the whole allocating statement
    uses: tuple[Range, ...]  # every other occurrence of the name that means this buffer
    writes: tuple[Range, ...]  # the uses that store into it (subset of `uses`)

    @property
    def total_bytes(self) -> int | None:
        return None if self.bytes is None else self.bytes * self.versions


@dataclass(frozen=True)
class KernelInfo:
    name: str
    site: str
    style: str
    instantiation: dict[str, Any]
    instantiation_source: str
    range: Range | None  # the `T.Kernel(...)` call
    with_range: Range | None  # the `with T.Kernel(...) as ...` header
    body_range: Range | None  # the whole `with` statement
    function_range: Range  # the kernel function's name
    facts: dict[str, Any]  # analyzer.facts.kernel_facts: grid, threads, shared memory per arch, ...
    loops: tuple[LoopInfo, ...]
    buffers: tuple[BufferInfo, ...]


@dataclass(frozen=True)
class CallRef:
    """A `T.<name>` reference to the catalog."""

    name: str  # catalog name ("copy")
    range: Range  # the whole `T.copy`
    qualifier: str  # how the module is written ("T", "tl.language")


@dataclass
class DocumentIndex:
    path: str
    digest: str  # of the text it was built from (see `digest`)
    report: FileReport  # exactly what tilelint reports
    syntax_error: Diagnostic | None = None  # TL901 whenever the text was parsed and does not parse
    arches: tuple[str, ...] = ()
    kernels: tuple[KernelInfo, ...] = ()
    buffers: tuple[BufferInfo, ...] = ()
    calls: tuple[CallRef, ...] = ()
    t_aliases: tuple[str, ...] = ()  # dotted names the file reaches tilelang.language by
    fixes: tuple[Fix, ...] = ()  # quick fixes of report diagnostics (analyzer.fixes)
    error: str | None = None  # an internal failure while indexing; the report is still complete

    def buffers_at(self, pos: Position) -> list[BufferInfo]:
        """Buffers whose name (allocation or any use) covers `pos`, one per instantiation."""
        out: list[BufferInfo] = []
        for b in self.buffers:
            if (b.name_range is not None and contains(b.name_range, pos)) or any(contains(r, pos) for r in b.uses):
                out.append(b)
        return out

    def call_at(self, pos: Position) -> CallRef | None:
        for c in self.calls:
            if contains(c.range, pos):
                return c
        return None

    def kernels_at(self, pos: Position) -> list[KernelInfo]:
        """Kernels whose `T.Kernel(...)` call or function name covers `pos`."""
        return [k for k in self.kernels
                if (k.range is not None and contains(k.range, pos)) or contains(k.function_range, pos)]


def digest(text: str) -> str:
    """A stable fingerprint of a text (the same in every process)."""
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def build_index(text: str, path: str, config: Config, cli_requests: tuple[str, ...] = ()) -> DocumentIndex:
    """Analyse `text` and index it for the editor. Never raises."""
    key = digest(text)
    try:
        result = analyze_text(text, path, config, cli_requests)
    except Exception as err:  # noqa: BLE001 - analyze_text promises not to raise; the editor must never see it
        return DocumentIndex(path, key, FileReport(path), arches=config.arches,
                             error=f"analysis failed: {type(err).__name__}: {err}")
    index = DocumentIndex(path, key, result.report, result.syntax_error, config.arches)
    try:
        _fill(index, text, result, config)
    except Exception as err:  # noqa: BLE001 - the report stands; only the editor extras are lost
        index.error = f"indexing failed: {type(err).__name__}: {err}"
    return index


def _fill(index: DocumentIndex, text: str, result: TextAnalysis, config: Config) -> None:
    if result.syntax_error is not None:
        return
    if result.source is not None:
        tree = result.source.locator.tree
    elif "tilelang" in text:
        # a helper module that cannot define a kernel: parsed only for its T.* references
        try:
            tree = parse_python(text)
        except SourceSyntaxError as err:
            index.syntax_error = syntax_diagnostic(err)
            return
    else:
        return
    lines = Lines(text)
    tables = SourceTables(tree, lines)
    aliases = tables.aliases
    index.t_aliases = aliases
    index.calls = tuple(_calls(tables, aliases))
    if result.source is None or result.analysis is None:
        return
    builder = _Builder(result.source, tables, aliases, result, config)
    index.kernels = tuple(builder.kernels())
    index.buffers = tuple(b for k in index.kernels for b in k.buffers)
    index.fixes = tuple(compute_fixes(result, config, tables, aliases))


def _calls(tables: SourceTables, aliases: tuple[str, ...]) -> Iterable[CallRef]:
    if not aliases:
        return []
    wanted = set(aliases)
    out = []
    for node in tables.attributes:
        if node.attr in CATALOG:
            qualifier = dotted(node.value)
            if qualifier in wanted:
                out.append(CallRef(node.attr, tables.lines.range(node), qualifier))
    out.sort(key=lambda c: c.range.start)
    return out


@dataclass
class _Definition:
    """One place a buffer name is bound, and the lines where the name means that buffer."""

    name: str
    position: Position
    first: int  # 0-based lines of its region, inclusive
    last: int
    function: ast.AST
    uses: list[Range] = field(default_factory=list)
    writes: list[Range] = field(default_factory=list)


class _Builder:
    def __init__(self, source: SourceFile, tables: SourceTables, aliases: tuple[str, ...],
                 result: TextAnalysis, config: Config):
        self.source = source
        self.tables = tables
        self.lines = tables.lines
        self.aliases = aliases
        self.result = result
        self.config = config
        self.definitions: dict[tuple[str, Position], _Definition] = {}

    # -- kernels -------------------------------------------------------------------
    def kernels(self) -> list[KernelInfo]:
        assert self.result.analysis is not None
        models = self.result.analysis.models
        pending: list[tuple[KernelModel, dict[str, Any], list[tuple[Buffer, dict[str, Any]]]]] = []
        for i, model in enumerate(models):
            facts = self.result.report.kernels[i]
            buffers = [(b, self._buffer_fields(b, model)) for b in model.buffers if self._indexed(b)]
            pending.append((model, facts, buffers))
        self._resolve_uses()
        out: list[KernelInfo] = []
        for i, (model, facts, buffers) in enumerate(pending):
            infos = tuple(self._buffer_info(b, fields, model.name, i) for b, fields in buffers)
            out.append(self._kernel_info(model, facts, infos))
        return out

    def _kernel_info(self, model: KernelModel, facts: dict[str, Any], buffers: tuple[BufferInfo, ...]) -> KernelInfo:
        call_range = with_range = body_range = None
        if model.launch is not None:
            stmt = model.launch.span.stmt
            line = self.source.locator.line_of(stmt) if stmt is not None else None
            node = self.tables.statement(line, ast.With) if line is not None else None
            if isinstance(node, ast.With):
                body_range = self.lines.range(node)
                call_range = self.lines.range(node.items[0].context_expr)
                last = node.items[-1]
                end = last.optional_vars if last.optional_vars is not None else last.context_expr
                with_range = Range(body_range.start, self.lines.range(end).end)
            else:
                call_range = model.launch.span.range
        return KernelInfo(
            name=model.name,
            site=model.site,
            style=model.style,
            instantiation=facts.get("instantiation", {}),
            instantiation_source=model.instantiation_source,
            range=call_range,
            with_range=with_range,
            body_range=body_range,
            function_range=self._function_name(model),
            facts=facts,
            loops=tuple(self._loops(model)),
            buffers=buffers,
        )

    def _function_name(self, model: KernelModel) -> Range:
        line = self.source.locator.line_of(model.func_node)
        fn = self.tables.statement(line, ast.FunctionDef) if line is not None else None
        if fn is not None:
            start = self.lines.column(fn.lineno, fn.col_offset)
            match = _DEF.match(self.lines.line(fn.lineno - 1), start)
            if match is not None:
                return Range(Position(fn.lineno - 1, match.start("name")), Position(fn.lineno - 1, match.end("name")))
        return model.span.range

    def _loops(self, model: KernelModel) -> list[LoopInfo]:
        out: list[LoopInfo] = []
        seen: set[int] = set()
        for stmt in walk(model.body):
            if not isinstance(stmt, Loop) or stmt.kind == "block" or id(stmt.span.stmt) in seen:
                continue
            seen.add(id(stmt.span.stmt))
            info = self._loop(stmt)
            if info is not None:
                out.append(info)
        out.sort(key=lambda lp: lp.range.start)
        return out

    def _loop(self, loop: Loop) -> LoopInfo | None:
        stmt = loop.span.stmt
        line = self.source.locator.line_of(stmt) if stmt is not None else None
        if line is None:
            return None
        extents = tuple(sym_text(e) for e in loop.extents)
        for kind in (ast.For, ast.While, ast.With):
            node = self.tables.statement(line, kind)
            if node is None:
                continue
            whole = self.lines.range(node)
            if isinstance(node, ast.For):
                header = Range(whole.start, self.lines.range(node.iter).end)
                label = self._loop_kind(node.iter)
            elif isinstance(node, ast.While):
                header = Range(whole.start, self.lines.range(node.test).end)
                label = "while"
            else:
                header = Range(whole.start, self.lines.range(node.items[-1].context_expr).end)
                label = "T.ws"
            return LoopInfo(label, loop.vars, extents, loop.num_stages, whole, header)
        return None

    def _loop_kind(self, node: ast.expr) -> str:
        if isinstance(node, ast.Call):
            name = dotted(node.func)
            if name is not None:
                qualifier, _, last = name.rpartition(".")
                if qualifier in self.aliases:
                    return f"T.{last}"
                return name
        return "for"

    # -- buffers -------------------------------------------------------------------
    @staticmethod
    def _indexed(buf: Buffer) -> bool:
        return bool(buf.name) and buf.base is None

    def _buffer_fields(self, buf: Buffer, model: KernelModel) -> dict[str, Any]:
        span = buf.span
        stmt_line = self.source.locator.line_of(span.stmt) if span.stmt is not None else None
        name_range, value = self._name_and_value(buf, stmt_line)
        alloc_range = statement_range = None
        if span.stmt is not None and not isinstance(span.stmt, cst.FunctionDef):  # not a prim_func parameter
            if isinstance(value, ast.Call):
                alloc_range = self.lines.range(value)
            elif span.node is not None and not isinstance(span.node, cst.Name):
                alloc_range = span.range
            lines = self.source.locator.lines_of(span.stmt)
            if lines is not None and stmt_line is not None:
                start = Position(stmt_line, len(self.lines.indent(stmt_line)))
                statement_range = Range(start, self.lines.end_of_line(lines[1] - 1))
        key = None
        if name_range is not None:
            key = (buf.name, name_range.start)
            if key not in self.definitions:
                self._define(buf, model, name_range.start)
        return {"name_range": name_range, "alloc_range": alloc_range, "statement_range": statement_range,
                "key": key, "model": model}

    def _name_and_value(self, buf: Buffer, stmt_line: int | None) -> tuple[Range | None, ast.expr | None]:
        """Where the buffer's name is bound, and the expression bound to it (its `T.alloc_*` call)."""
        if stmt_line is None:
            return None, None
        fn = self.tables.statement(stmt_line, ast.FunctionDef)
        if fn is not None and buf.is_param:  # a parameter of a prim_func
            args = fn.args  # type: ignore[attr-defined]
            for arg in args.posonlyargs + args.args + args.kwonlyargs:
                if arg.arg == buf.name:
                    return self.lines.name_range(arg.lineno, arg.col_offset, arg.arg), None
            return None, None
        for stmt in self.tables.simple.get(stmt_line + 1, []):
            found = binding(stmt, buf.name)
            if found is not None:
                node, bound = found
                return self.lines.name_range(node.lineno, node.col_offset, node.id), bound
        return None, None

    def _define(self, buf: Buffer, model: KernelModel, position: Position) -> None:
        fn = self.tables.innermost_function(position.line)
        if fn is None:
            return
        first, last = fn.lineno - 1, (fn.end_lineno or fn.lineno) - 1
        if buf.in_kernel and not buf.is_param and model.launch is not None and model.launch.span.stmt is not None:
            span = self.source.locator.lines_of(model.launch.span.stmt)
            if span is not None and span[0] - 1 <= position.line <= span[1] - 1:
                first, last = span[0] - 1, span[1] - 1
        self.definitions[(buf.name, position)] = _Definition(buf.name, position, first, last, fn)

    def _resolve_uses(self) -> None:
        by_function: dict[int, list[_Definition]] = {}
        for d in self.definitions.values():
            by_function.setdefault(id(d.function), []).append(d)
        walked = {id(d.function) for d in self.definitions.values()}
        for defs in by_function.values():
            fn = defs[0].function
            names = {d.name for d in defs}
            for node, store in _names_in(fn, names, walked, self._written_args):
                pos = self.lines.position(node.lineno, node.col_offset)
                best = None
                for d in defs:
                    if d.name == node.id and d.first <= pos.line <= d.last and d.position <= pos:
                        if best is None or d.position > best.position:
                            best = d
                if best is None or best.position == pos:
                    continue
                rng = Range(pos, Position(pos.line, pos.character + len(node.id)))
                best.uses.append(rng)
                if store:
                    best.writes.append(rng)

    def _written_args(self, call: ast.Call) -> list[ast.expr]:
        """The arguments a T.* call writes (T.copy's dst, T.gemm's C, ...), from the catalog."""
        name = dotted(call.func)
        if name is None:
            return []
        qualifier, _, last = name.rpartition(".")
        entry = CATALOG.get(last) if qualifier in self.aliases else None
        if entry is None or not entry.writes:
            return []
        params = [p.name for p in entry.params]
        out = [a for i, a in enumerate(call.args)
               if i in entry.writes and i < len(params) and entry.params[i].kind == "positional"]
        out += [k.value for k in call.keywords if k.arg in params and params.index(k.arg) in entry.writes]
        return out

    def _buffer_info(self, buf: Buffer, fields: dict[str, Any], kernel: str, kernel_index: int) -> BufferInfo:
        model: KernelModel = fields["model"]
        plans: dict[str, SharedMemoryPlan] = self.result.plans.get(id(model), {})
        by_arch: list[tuple[str, int]] = []
        for arch in self.config.arches:
            plan = plans.get(arch)
            versions = 1
            if plan is not None:
                versions = next((p.versions for p in plan.placements if p.buffer is buf), 1)
            by_arch.append((arch, versions))
        versions = by_arch[0][1] if by_arch else 1
        threads = per_thread = registers = None
        held: bool | None = None
        if not buf.is_param and self.config.arches and not model.incomplete:
            estimate = _registers(model, self.config.arches[0])
            part = estimate.by_buffer.get(id(buf)) if estimate is not None else None
            if part is not None:
                threads, per_thread, registers = part.threads, part.per_thread, part.registers
                if buf.scope in FRAGMENT_SCOPES:
                    held = all(p.buffer is not buf for p in estimate.streamed)  # type: ignore[union-attr]
            elif buf.scope == FRAGMENT and buf.elements is not None and model.launch is not None:
                count = model.launch.thread_count
                if count:
                    threads, per_thread = count, math.ceil(buf.elements / count)
        definition = self.definitions.get(fields["key"]) if fields["key"] is not None else None
        return BufferInfo(
            name=buf.name,
            kernel=kernel,
            kernel_index=kernel_index,
            scope=buf.scope,
            shape=tuple(sym_text(d) for d in buf.shape),
            dtype=str(buf.dtype) if buf.dtype is not None else None,
            bytes=buf.bytes,
            versions=versions,
            versions_by_arch=tuple(by_arch),
            elements=buf.elements,
            threads=threads,
            elements_per_thread=per_thread,
            registers_per_thread=registers,
            held=held,
            is_param=buf.is_param,
            name_range=fields["name_range"],
            alloc_range=fields["alloc_range"],
            statement_range=fields["statement_range"],
            uses=tuple(sorted(definition.uses)) if definition else (),
            writes=tuple(sorted(definition.writes)) if definition else (),
        )


def _registers(model: KernelModel, arch: str) -> Any:
    if model.launch is None or model.launch.thread_count is None:
        return None
    try:
        return estimate_registers(model, arch)
    except Exception:  # noqa: BLE001 - a hover detail must never break the index
        return None


_DEF = re.compile(r"(?:async\s+)?def\s+(?P<name>\w+)")


def _bound_names(fn: ast.AST) -> set[str]:
    """Names a nested function or lambda binds itself (parameters and assignments): they shadow outer buffers."""
    names: set[str] = set()
    args = getattr(fn, "args", None)
    if isinstance(args, ast.arguments):
        for a in args.posonlyargs + args.args + args.kwonlyargs:
            names.add(a.arg)
        if args.vararg is not None:
            names.add(args.vararg.arg)
        if args.kwarg is not None:
            names.add(args.kwarg.arg)
    if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
        for node in iter_nodes(fn):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
    if isinstance(fn, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
        for gen in fn.generators:
            for node in iter_nodes(gen.target):
                if isinstance(node, ast.Name):
                    names.add(node.id)
    return names


def _names_in(fn: ast.AST, names: set[str], own: set[int],
              written: Callable[[ast.Call], list[ast.expr]]) -> Iterable[tuple[ast.Name, bool]]:
    """The Name nodes of `names` in `fn`, leaving out nested scopes that rebind them.

    Yields (node, stores): whether the occurrence stores into the buffer (an
    assignment to the name or to an element of it, or an argument a T.* call
    writes, by `written`).
    """
    stack: list[tuple[ast.AST, frozenset[str], bool]] = [(child, frozenset(), False) for child in _children(fn)]
    while stack:
        node, hidden, store = stack.pop()
        if isinstance(node, ast.Name):
            if node.id in names and node.id not in hidden:
                yield node, store or isinstance(node.ctx, ast.Store)
            continue
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)) and node is not fn:
            if id(node) in own:
                continue  # walked on its own
            inner = hidden | (_bound_names(node) & names)
            for child in _children(node):
                if child is not getattr(node, "args", None):
                    stack.append((child, inner, False))
            continue
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
            inner = hidden | (_bound_names(node) & names)
            for child in _children(node):
                stack.append((child, inner, False))
            continue
        if isinstance(node, ast.Subscript):
            stack.append((node.value, hidden, isinstance(node.ctx, ast.Store) or store))
            stack.append((node.slice, hidden, False))
            continue
        if isinstance(node, ast.Call):
            targets = {id(a) for a in written(node)}
            for child in _children(node):
                stack.append((child, hidden, id(child) in targets))
            continue
        if isinstance(node, ast.AugAssign):
            stack.append((node.target, hidden, True))
            stack.append((node.value, hidden, False))
            continue
        for child in _children(node):
            stack.append((child, hidden, False))


def _children(node: ast.AST) -> list[ast.AST]:
    out: list[ast.AST] = []
    for name in node._fields:
        if name == "ctx":
            continue
        value = getattr(node, name, None)
        if isinstance(value, ast.AST):
            out.append(value)
        elif isinstance(value, list):
            out.extend(v for v in value if isinstance(v, ast.AST))
    return out

