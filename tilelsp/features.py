"""The language features of the server as pure functions: index + text + position in, LSP types out.

Positions in and out are code points (the server converts from and to the
negotiated encoding). `index` is an `analyzer.index.DocumentIndex`: None
before the first analysis, or the last good one while the text has a syntax
error. Every function degrades to None / [] then (completion and signature
help work from the text and the catalog alone) and never raises: a failure
is logged and answered with nothing. Features that edit the text (code
actions) use the index only when it was built from exactly this text.
"""

from __future__ import annotations

import functools
import logging
import re
from typing import Any, Callable, Iterable, TypeVar

from lsprotocol import types

from analyzer import catalog
from analyzer.catalog import ATTRIBUTE_MEMBERS, CATALOG, NOT_CALLABLE, Entry
from analyzer.diagnostics import Position, Range
from analyzer.dtypes import parse_dtype
from analyzer.fixes import TextEdit, ignore_edit
from analyzer.index import BufferInfo, DocumentIndex, KernelInfo, digest
from analyzer.locations import contains, split_lines
from analyzer.model import SHARED

from .call_context import CursorContext, cursor_context

log = logging.getLogger(__name__)

T = TypeVar("T")

__all__ = [
    "code_actions",
    "completion",
    "completion_resolve",
    "definition",
    "document_highlight",
    "document_symbols",
    "hover",
    "inlay_hints",
    "references",
    "signature_help",
    "workspace_symbols",
]


def _safe(default: Callable[[], Any]) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """Answer `default()` instead of raising: a feature must never take the server down."""

    def wrap(fn: Callable[..., T]) -> Callable[..., T]:
        @functools.wraps(fn)
        def run(*args: Any, **kwargs: Any) -> T:
            try:
                return fn(*args, **kwargs)
            except Exception:  # noqa: BLE001
                log.exception("%s failed", fn.__name__)
                return default()

        return run

    return wrap


# -- conversions -------------------------------------------------------------------------


def _pos(p: types.Position) -> Position:
    return Position(p.line, p.character)


def _lsp_pos(p: Position) -> types.Position:
    return types.Position(line=p.line, character=p.character)


def _lsp_range(r: Range) -> types.Range:
    return types.Range(start=_lsp_pos(r.start), end=_lsp_pos(r.end))


def _range(r: types.Range) -> Range:
    return Range(_pos(r.start), _pos(r.end))


def _markdown(value: str) -> types.MarkupContent:
    return types.MarkupContent(kind=types.MarkupKind.Markdown, value=value)


def _fresh(index: DocumentIndex | None, text: str) -> bool:
    """Whether `index` was built from exactly `text`."""
    return index is not None and index.digest == digest(text)


_IDENT = re.compile(r"\w+")


def _word_at(text: str, pos: Position) -> tuple[str, Range] | None:
    """The identifier under (or just before) the cursor."""
    lines = split_lines(text)
    if not 0 <= pos.line < len(lines):
        return None
    line = lines[pos.line]
    for match in _IDENT.finditer(line):
        if match.start() <= pos.character <= match.end():
            return match.group(), Range(Position(pos.line, match.start()), Position(pos.line, match.end()))
    return None


def _buffers_named(index: DocumentIndex, text: str, pos: Position) -> list[BufferInfo]:
    """Buffers under the cursor, checked against the current text (a stale index may be off)."""
    word = _word_at(text, pos)
    if word is None:
        return []
    return [b for b in index.buffers_at(pos) if b.name == word[0]]


def _aliases(index: DocumentIndex | None, text: str) -> tuple[str, ...]:
    if index is not None and index.t_aliases:
        return index.t_aliases
    found: list[str] = []
    for match in _IMPORT_T.finditer(text):
        if match.group("as1"):
            found.append(match.group("as1"))
        elif match.group("as2"):
            found.append(match.group("as2"))
        elif match.group("tl"):
            found.append(match.group("tl") + ".language")
    return tuple(found) or ("T",)


_IMPORT_T = re.compile(
    r"^[ \t]*(?:import[ \t]+tilelang\.language[ \t]+as[ \t]+(?P<as1>\w+)"
    r"|from[ \t]+tilelang[ \t]+import[ \t]+language[ \t]+as[ \t]+(?P<as2>\w+)"
    r"|import[ \t]+tilelang[ \t]+as[ \t]+(?P<tl>\w+))",
    re.MULTILINE,
)
_DOTTED_AT = re.compile(r"[^\W\d]\w*(?:[ \t]*\.[ \t]*[^\W\d]\w*)*")


def _catalog_ref_at(index: DocumentIndex | None, text: str, pos: Position) -> tuple[str, str, Range] | None:
    """(qualifier, catalog name, range) of a `T.<name>` reference under the cursor."""
    if index is not None and _fresh(index, text):
        ref = index.call_at(pos)
        return (ref.qualifier, ref.name, ref.range) if ref is not None else None
    lines = split_lines(text)
    if not 0 <= pos.line < len(lines):
        return None
    aliases = _aliases(index, text)
    for match in _DOTTED_AT.finditer(lines[pos.line]):
        if not match.start() <= pos.character <= match.end():
            continue
        parts = [p.strip() for p in match.group().split(".")]
        # the name under the cursor and what qualifies it: `T.copy` or `T.GemmWarpPolicy`
        for cut in range(len(parts) - 1, 0, -1):
            qualifier, name = ".".join(parts[:cut]), parts[cut]
            if qualifier in aliases and name in CATALOG:
                return qualifier, name, Range(Position(pos.line, match.start()), Position(pos.line, match.end()))
    return None


# -- hover -------------------------------------------------------------------------------


@_safe(lambda: None)
def hover(index: DocumentIndex | None, text: str, position: types.Position, config: Any = None
          ) -> types.Hover | None:
    pos = _pos(position)
    if index is not None:
        buffers = _buffers_named(index, text, pos)
        if buffers:
            word = _word_at(text, pos)
            return types.Hover(contents=_markdown(buffer_markdown(buffers, index)),
                               range=_lsp_range(word[1]) if word else None)
    ref = _catalog_ref_at(index, text, pos)
    if index is not None and (ref is None or ref[1] in ("Kernel", "ClusterKernel")):
        kernels = index.kernels_at(pos)
        if kernels:
            return types.Hover(contents=_markdown(kernel_markdown(kernels, index)),
                               range=_lsp_range(kernels[0].range or kernels[0].function_range))
    if ref is not None:
        entry = CATALOG[ref[1]]
        return types.Hover(contents=_markdown(catalog_markdown(entry, ref[0])), range=_lsp_range(ref[2]))
    return None


def _shape(shape: tuple[Any, ...]) -> str:
    return "(" + ", ".join(str(d) for d in shape) + (",)" if len(shape) == 1 else ")")


def _bytes_line(b: BufferInfo) -> str:
    if b.bytes is None:
        return "size not known (the shape depends on unbound values)"
    if b.versions > 1:
        return f"{b.bytes} B × {b.versions} pipeline versions = {b.bytes * b.versions} B"
    return f"{b.bytes} B"


def buffer_markdown(buffers: list[BufferInfo], index: DocumentIndex) -> str:
    """Hover text of a buffer: the first instantiation in full, the others in one line each."""
    b = buffers[0]
    dtype = b.dtype or "unknown dtype"
    role = "kernel parameter" if b.is_param else "buffer"
    lines = [f"**{b.name}**: {b.scope} {role} `{_shape(b.shape)}` {dtype}", ""]
    size = _bytes_line(b)
    differing = [(arch, v) for arch, v in b.versions_by_arch if v != b.versions]
    if differing and b.bytes is not None:
        size += " (" + ", ".join(f"{arch}: × {v} = {b.bytes * v} B" for arch, v in differing) + ")"
    lines.append(f"- {size}")
    if b.elements_per_thread is not None and not b.is_param:
        if b.threads:
            spread = f"{b.elements_per_thread} elements per thread over {b.threads} threads"
        else:
            spread = f"{b.elements_per_thread} elements per thread"
        lines.append(f"- {spread}")
    if b.registers_per_thread is not None:
        note = ""
        if b.held is True:
            note = " (held whole)"
        elif b.held is False:
            note = " (streamed: not counted in the kernel's estimate)"
        lines.append(f"- ≈ {b.registers_per_thread} registers per thread{note}")
    lines.append(f"- kernel `{b.kernel}`")
    others = _distinct_others(buffers)
    if others:
        keys = _varying_keys([index.kernels[o.kernel_index] for o in buffers])
        for other in others[:3]:
            inst = index.kernels[other.kernel_index].instantiation
            label = ", ".join(f"{k}={_value(inst.get(k))}" for k in keys) or "another instantiation"
            lines.append(f"- with `{label}`: `{_shape(other.shape)}` {_bytes_line(other)}")
        if len(others) > 3:
            lines.append(f"- and {len(others) - 3} more instantiations")
    return "\n".join(lines)


def _distinct_others(buffers: list[BufferInfo]) -> list[BufferInfo]:
    seen = {(buffers[0].shape, buffers[0].dtype, buffers[0].bytes, buffers[0].versions)}
    out = []
    for b in buffers[1:]:
        key = (b.shape, b.dtype, b.bytes, b.versions)
        if key not in seen:
            seen.add(key)
            out.append(b)
    return out


def _varying_keys(kernels: list[KernelInfo]) -> list[str]:
    keys: list[str] = []
    for k in kernels:
        for name in k.instantiation:
            if name not in keys and len({repr(x.instantiation.get(name)) for x in kernels}) > 1:
                keys.append(name)
    return keys


def _value(value: Any) -> str:
    if isinstance(value, list):
        return "(" + ", ".join(_value(v) for v in value) + ")"
    return str(value)


def kernel_markdown(kernels: list[KernelInfo], index: DocumentIndex) -> str:
    sections = [_kernel_section(k) for k in kernels[:4]]
    if len(kernels) > 4:
        sections.append(f"and {len(kernels) - 4} more instantiations")
    return "\n\n---\n\n".join(sections)


def _kernel_section(k: KernelInfo) -> str:
    facts = k.facts
    origin = f" (from `{k.site}`)" if k.site != k.name else ""
    lines = [f"**kernel `{k.name}`**{origin}", ""]
    grid = facts.get("grid") or []
    threads = facts.get("threads")
    threads_text = _value(threads) if threads is not None else "?"
    lines.append(f"- grid `{_shape(tuple(grid))}` · {threads_text} threads")
    smem = facts.get("shared_memory_bytes")
    lines.append(f"- shared memory: {smem} B" if smem is not None else "- shared memory: not known")
    for arch, entry in (facts.get("per_arch") or {}).items():
        used, limit = entry.get("shared_memory_bytes"), entry.get("limit")
        if used is None:
            reason = entry.get("unknown_reason")
            lines.append(f"  - {arch}: not known" + (f" ({reason})" if reason else ""))
        elif entry.get("fits"):
            lines.append(f"  - {arch}: {used} B of {limit} B, fits ({limit - used} B left)")
        else:
            lines.append(f"  - {arch}: {used} B of {limit} B, **over by {used - limit} B**")
        static = entry.get("static_shared_memory_bytes")
        if static:
            lines[-1] += f"; {static} B static"
    regs = facts.get("registers_per_thread")
    if regs is not None:
        differ = [f"{a}: {e['registers_per_thread']}" for a, e in (facts.get("per_arch") or {}).items()
                  if "registers_per_thread" in e]
        lines.append(f"- ≈ {regs} registers per thread (estimate{'; ' + ', '.join(differ) if differ else ''})")
    values = ", ".join(f"{key}={_value(v)}" for key, v in k.instantiation.items())
    lines.append(f"- instantiation ({k.instantiation_source})" + (f": `{values}`" if values else ""))
    unbound = facts.get("unbound") or []
    if unbound:
        lines.append(f"- unbound: {', '.join(unbound)}")
    return "\n".join(lines)


_REF_FIELD = re.compile(r":(?P<tag>param|type|returns|rtype)(?:\s+(?P<name>\w+))?:\s*")


def catalog_markdown(entry: Entry, qualifier: str = "T") -> str:
    """Signature and doc of a catalog entry; the seed's reference text for the allocation family."""
    lines = ["```python", f"{qualifier}.{catalog.signature(entry)}", "```", "", entry.doc]
    if entry.reference:
        lines += ["", "*Reference (`tilelang.language.allocate`):*", *_reference_lines(entry)]
    members = ATTRIBUTE_MEMBERS.get(entry.name)
    if members:
        lines += ["", "Members: " + ", ".join(f"`{m}`" for m in members)]
    return "\n".join(lines)


def _reference_lines(entry: Entry) -> list[str]:
    text = entry.reference or ""
    head = catalog.signature(entry).split("(")[0]
    if text.startswith(head + "("):
        depth = 0
        for i, ch in enumerate(text):
            depth += ch == "("
            depth -= ch == ")"
            if depth == 0 and ch == ")":
                text = text[i + 1 :].strip()
                break
    fields = list(_REF_FIELD.finditer(text))
    out = [text[: fields[0].start()].strip() if fields else text.strip()]
    params: dict[str, list[str]] = {}
    returns: list[str] = ["", ""]
    for i, m in enumerate(fields):
        body = text[m.end() : fields[i + 1].start() if i + 1 < len(fields) else len(text)].strip()
        tag, name = m.group("tag"), m.group("name") or ""
        if tag == "param":
            params.setdefault(name, ["", ""])[0] = body
        elif tag == "type":
            params.setdefault(name, ["", ""])[1] = body
        elif tag == "returns":
            returns[0] = body
        else:
            returns[1] = body
    for name, (desc, kind) in params.items():
        out.append(f"- `{name}`" + (f" ({kind})" if kind else "") + f": {desc}")
    if returns[0]:
        out.append("- returns" + (f" `{returns[1]}`" if returns[1] else "") + f": {returns[0]}")
    return out


# -- inlay hints -------------------------------------------------------------------------


def buffer_label(b: BufferInfo) -> str | None:
    if b.bytes is None:
        return None
    label = f"{b.bytes} B" + (f" ×{b.versions}" if b.versions > 1 else "")
    if b.registers_per_thread is not None and b.scope in ("local.fragment", "local.reducer", "local"):
        label += f" · ≈{b.registers_per_thread} regs/thread"
    return label


def kernel_label(k: KernelInfo) -> str | None:
    smem = k.facts.get("shared_memory_bytes")
    if smem is None:
        return None
    over = [arch for arch, e in (k.facts.get("per_arch") or {}).items() if e.get("fits") is False]
    return f"shared {smem} B" + (f" · over on {', '.join(over)}" if over else "")


@_safe(list)
def inlay_hints(index: DocumentIndex | None, text: str, range: types.Range, config: Any = None
                ) -> list[types.InlayHint]:
    if index is None:
        return []
    wanted = _range(range)
    lines = split_lines(text)
    labels: dict[Position, list[str]] = {}
    tips: dict[Position, list[str]] = {}

    def add(at: Position, label: str | None, tip: str) -> None:
        if label is None or not contains(wanted, at):
            return
        if not 0 <= at.line < len(lines) or at.character > len(lines[at.line]):
            return  # a stale index pointing past the text
        if label not in labels.setdefault(at, []):
            labels[at].append(label)
            tips.setdefault(at, []).append(tip)

    for b in index.buffers:
        if b.alloc_range is not None and not b.is_param:
            add(b.alloc_range.end, buffer_label(b), f"{b.name}: {_bytes_line(b)}")
    for k in index.kernels:
        if k.range is not None:
            add(k.range.end, kernel_label(k), f"kernel {k.name}: dynamic shared memory on {index.arches[0]}"
                if index.arches else f"kernel {k.name}")
    return [
        types.InlayHint(position=_lsp_pos(at), label=" | ".join(labels[at]), kind=types.InlayHintKind.Type,
                        tooltip="\n".join(tips[at]), padding_left=True)
        for at in sorted(labels)
    ]


# -- symbols -----------------------------------------------------------------------------


def _unique_kernels(index: DocumentIndex) -> list[KernelInfo]:
    seen: set[tuple[Any, ...]] = set()
    out = []
    for k in index.kernels:
        key = (k.name, k.range, k.function_range)
        if key not in seen:
            seen.add(key)
            out.append(k)
    return out


def _buffer_detail(b: BufferInfo) -> str:
    label = buffer_label(b)
    return f"{b.scope} {_shape(b.shape)} {b.dtype or '?'}" + (f", {label}" if label else "")


@_safe(list)
def document_symbols(index: DocumentIndex | None, text: str) -> list[types.DocumentSymbol]:
    if index is None:
        return []
    out: list[types.DocumentSymbol] = []
    for k in _unique_kernels(index):
        whole = k.body_range or k.with_range or k.function_range
        selection = k.range if k.range is not None and contains(whole, k.range.start) else whole
        items: list[tuple[Range, types.DocumentSymbol]] = []
        for lp in k.loops:
            if contains(whole, lp.range.start) and contains(whole, lp.range.end):
                detail = ", ".join(f"{v} < {e}" for v, e in zip(lp.vars, lp.extents))
                if lp.num_stages:
                    detail += f"{', ' if detail else ''}num_stages={lp.num_stages}"
                name = f"{lp.kind} {', '.join(lp.vars)}".strip()
                items.append((lp.range, types.DocumentSymbol(
                    name=name, kind=types.SymbolKind.Namespace, range=_lsp_range(lp.range),
                    selection_range=_lsp_range(lp.header), detail=detail or None, children=[])))
        seen: set[Range] = set()
        for b in k.buffers:
            if b.is_param or b.statement_range is None or b.name_range is None or b.name_range in seen:
                continue
            if not (contains(whole, b.statement_range.start) and contains(whole, b.statement_range.end)):
                continue
            seen.add(b.name_range)
            items.append((b.statement_range, types.DocumentSymbol(
                name=b.name, kind=types.SymbolKind.Variable, range=_lsp_range(b.statement_range),
                selection_range=_lsp_range(b.name_range), detail=_buffer_detail(b), children=[])))
        out.append(types.DocumentSymbol(
            name=k.name, kind=types.SymbolKind.Function, range=_lsp_range(whole),
            selection_range=_lsp_range(selection), detail=_kernel_detail(k), children=_nest(items)))
    return out


def _kernel_detail(k: KernelInfo) -> str:
    grid = k.facts.get("grid") or []
    parts = [f"grid {_shape(tuple(grid))}", f"{_value(k.facts.get('threads'))} threads"]
    smem = k.facts.get("shared_memory_bytes")
    if smem is not None:
        parts.append(f"{smem} B shared")
    return ", ".join(parts)


def _nest(items: list[tuple[Range, types.DocumentSymbol]]) -> list[types.DocumentSymbol]:
    """Children inside the loops that contain them."""
    items.sort(key=lambda item: (item[0].start, -item[0].end.line, -item[0].end.character))
    roots: list[types.DocumentSymbol] = []
    stack: list[tuple[Range, types.DocumentSymbol]] = []
    for rng, sym in items:
        while stack and not (contains(stack[-1][0], rng.start) and contains(stack[-1][0], rng.end)):
            stack.pop()
        (stack[-1][1].children if stack else roots).append(sym)  # type: ignore[union-attr]
        if sym.kind == types.SymbolKind.Namespace:
            stack.append((rng, sym))
    return roots


def _matches(query: str, name: str) -> bool:
    """Case-insensitive subsequence match, as editors filter symbols."""
    it = iter(name.lower())
    return all(ch in it for ch in query.lower())


@_safe(list)
def workspace_symbols(indexes: dict[str, DocumentIndex], query: str) -> list[types.WorkspaceSymbol]:
    out: list[types.WorkspaceSymbol] = []
    for uri, index in sorted(indexes.items()):
        if index is None:
            continue
        for k in _unique_kernels(index):
            if _matches(query, k.name):
                out.append(types.WorkspaceSymbol(
                    name=k.name, kind=types.SymbolKind.Function, container_name=k.site,
                    location=types.Location(uri=uri, range=_lsp_range(k.range or k.function_range))))
        seen: set[Range] = set()
        for b in index.buffers:
            if b.is_param or b.name_range is None or b.name_range in seen or not _matches(query, b.name):
                continue
            seen.add(b.name_range)
            out.append(types.WorkspaceSymbol(
                name=b.name, kind=types.SymbolKind.Variable, container_name=b.kernel,
                location=types.Location(uri=uri, range=_lsp_range(b.name_range))))
    return out


# -- definition, references, highlight -----------------------------------------------------


@_safe(list)
def definition(index: DocumentIndex | None, text: str, position: types.Position) -> list[types.Range]:
    if index is None:
        return []
    found = sorted({b.name_range for b in _buffers_named(index, text, _pos(position)) if b.name_range is not None})
    return [_lsp_range(r) for r in found]


@_safe(list)
def references(index: DocumentIndex | None, text: str, position: types.Position,
               include_declaration: bool) -> list[types.Range]:
    if index is None:
        return []
    found: set[Range] = set()
    for b in _buffers_named(index, text, _pos(position)):
        found.update(b.uses)
        if include_declaration and b.name_range is not None:
            found.add(b.name_range)
    return [_lsp_range(r) for r in sorted(found)]


@_safe(list)
def document_highlight(index: DocumentIndex | None, text: str, position: types.Position
                       ) -> list[types.DocumentHighlight]:
    if index is None:
        return []
    kinds: dict[Range, types.DocumentHighlightKind] = {}
    for b in _buffers_named(index, text, _pos(position)):
        for r in b.uses:
            kinds.setdefault(r, types.DocumentHighlightKind.Read)
        for r in b.writes:
            kinds[r] = types.DocumentHighlightKind.Write
        if b.name_range is not None:
            kinds[b.name_range] = types.DocumentHighlightKind.Write
    return [types.DocumentHighlight(range=_lsp_range(r), kind=kinds[r]) for r in sorted(kinds)]


# -- completion ------------------------------------------------------------------------------

_FIRST = {"tile_op": 0, "alloc": 0, "loop": 0, "launch": 1, "dtype": 2, "math": 3, "sync": 4}
_COMMON_DTYPES = ("float16", "bfloat16", "float32", "int8", "int32", "uint8", "float8_e4m3fn", "float8_e5m2",
                  "int64", "float64", "bool")
_COMMON_SCOPES = ("shared.dyn", "shared", "local.fragment", "local", "local.var", "global")
# optional parameters written so often that their snippet includes them
_SNIPPET_EXTRAS: dict[str, dict[str, str]] = {"Kernel": {"threads": "128"}, "Pipelined": {"num_stages": "3"}}


def _escape(text: str) -> str:
    return re.sub(r"([$}\\])", r"\\\1", text)


def snippet(entry: Entry) -> str | None:
    """The call snippet of a catalog entry (None for dtypes, types and values: inserted as plain names)."""
    if entry.name in NOT_CALLABLE or entry.category in ("dtype", "type"):
        return None
    parts: list[str] = []
    extras = _SNIPPET_EXTRAS.get(entry.name, {})
    for i, p in enumerate(entry.params):
        n = len(parts) + 1
        if (p.kind == "positional" and p.default is None) or (p.kind == "varargs" and i == 0):
            parts.append(f"${{{n}:{_escape(p.name)}}}")
        elif p.kind == "keyword" and p.default is None:
            parts.append(f"{p.name}=${{{n}:{_escape(p.name)}}}")
        elif p.name in extras:
            parts.append(f"{p.name}=${{{n}:{_escape(extras[p.name])}}}")
    return f"{entry.name}({', '.join(parts)})$0"


def _kind(entry: Entry) -> types.CompletionItemKind:
    if entry.name in NOT_CALLABLE:
        return types.CompletionItemKind.Constant
    if entry.category == "dtype":
        return types.CompletionItemKind.TypeParameter
    if entry.category in ("type", "param_type"):
        return types.CompletionItemKind.Class
    return types.CompletionItemKind.Function


@functools.lru_cache(maxsize=2)
def _member_items(dtype_first: bool) -> tuple[tuple[str, str, Entry, str | None], ...]:
    """(name, sort key, entry, snippet) for every catalog entry, computed once."""
    out = []
    for name, entry in CATALOG.items():
        sort = f"{_FIRST.get(entry.category, 5) + 2}{name.lower()}"
        if dtype_first and entry.category == "dtype":
            common = name in _COMMON_DTYPES
            sort = f"0{_COMMON_DTYPES.index(name):02d}" if common else f"1{name.lower()}"
        out.append((name, sort, entry, snippet(entry)))
    return tuple(out)


def _fuzzy(prefix: str, name: str) -> bool:
    """What editors keep while filtering: the first letter, then the others in order."""
    if not prefix:
        return True
    lowered = name.lower()
    if lowered[:1] != prefix[:1].lower():
        return False
    it = iter(lowered)
    return all(ch in it for ch in prefix.lower())


def _edit_range(line: int, start: int, end: int) -> types.Range:
    return types.Range(start=types.Position(line=line, character=start), end=types.Position(line=line, character=end))


def _member_completion(ctx: CursorContext, qualifier: str, dtype_position: bool) -> types.CompletionList:
    """Every `T.` member matching what was typed.

    Items are kept small (label, kind, sort key, snippet): a bare `T.` lists
    713 names, and the client replaces the word under the cursor itself. The
    signature and documentation come with `completion_resolve`.
    """
    items: list[types.CompletionItem] = []
    data = {"qualifier": qualifier} if qualifier != "T" else None
    for name, sort, entry, body in _member_items(dtype_position):
        if not _fuzzy(ctx.prefix, name):
            continue
        items.append(types.CompletionItem(
            label=name,
            kind=_kind(entry),
            sort_text=sort,
            insert_text_format=types.InsertTextFormat.Snippet if body else None,
            insert_text=body,
            data=data,
        ))
    # filtered by the typed prefix: ask again when it changes (a shorter prefix may match more)
    return types.CompletionList(is_incomplete=bool(ctx.prefix), items=items)


def completion_resolve(item: types.CompletionItem) -> types.CompletionItem:
    """Signature and documentation of a catalog item (completionItem/resolve); the item as it was otherwise."""
    try:
        entry = CATALOG.get(item.label)
        if entry is not None and item.documentation is None:
            qualifier = item.data.get("qualifier", "T") if isinstance(item.data, dict) else "T"
            item.detail = item.detail or f"{qualifier}.{catalog.signature(entry)}"
            item.documentation = _markdown(catalog_markdown(entry, qualifier))
    except Exception:  # noqa: BLE001
        log.exception("completion_resolve failed")
    return item


def dtype_names() -> list[str]:
    """Scalar dtypes a kernel can name, common ones first (for `T.<dtype>` and `"<dtype>"`)."""
    names = [n for n, e in CATALOG.items() if e.category == "dtype"]
    scalar = []
    for n in names:
        dt = parse_dtype(n)
        if dt is not None and dt.lanes == 1 and str(dt) == n:
            scalar.append(n)
    return [n for n in _COMMON_DTYPES if n in scalar] + sorted(n for n in scalar if n not in _COMMON_DTYPES)


def scope_names(default: str | None = None) -> list[str]:
    """Memory scopes, read from the catalog's allocation entries; the call's default first."""
    found = {e.default_scope for e in CATALOG.values() if e.default_scope and e.category == "alloc"} | {SHARED}
    ordered = [s for s in _COMMON_SCOPES if s in found] + sorted(found - set(_COMMON_SCOPES))
    if default in ordered:
        ordered.remove(default)
        ordered.insert(0, default)
    return ordered


def _call_entry(ctx: CursorContext, aliases: tuple[str, ...]) -> tuple[str, Entry] | None:
    if ctx.call is None or ctx.call.callee is None:
        return None
    qualifier, _, name = re.sub(r"\s+", "", ctx.call.callee).rpartition(".")
    entry = CATALOG.get(name)
    if entry is None or qualifier not in aliases:
        return None
    return qualifier, entry


def _active_param(entry: Entry, ctx: CursorContext) -> int | None:
    """Index into entry.params of the argument the cursor is in."""
    frame = ctx.call
    if frame is None:
        return None
    names = [p.name for p in entry.params]
    if frame.keyword is not None:
        if frame.keyword in names:
            return names.index(frame.keyword)
        varkw = next((i for i, p in enumerate(entry.params) if p.kind == "varkw"), None)
        return varkw
    if frame.keywords_started:
        return None
    positional = [i for i, p in enumerate(entry.params) if p.kind == "positional"]
    varargs = next((i for i, p in enumerate(entry.params) if p.kind == "varargs"), None)
    if varargs is not None and varargs == 0:
        return 0  # `*blocks` takes every positional argument
    if frame.index < len(positional):
        return positional[frame.index]
    return varargs


def _value_items(values: list[str], kind: types.CompletionItemKind, detail: str, ctx: CursorContext, line: int,
                 character: int, quoted: bool, qualifier: str | None = None) -> list[types.CompletionItem]:
    items = []
    for rank, value in enumerate(values):
        if ctx.in_string:
            label = value
            replace = _edit_range(line, ctx.string_start or 0, character)
            texts = [(value, value)]
        else:
            replace = _edit_range(line, ctx.word_start, character)
            texts = []
            if qualifier is not None:
                texts.append((f"{qualifier}.{value}", f"{qualifier}.{value}"))
            if quoted:
                texts.append((f'"{value}"', f'"{value}"'))
        for j, (label, new_text) in enumerate(texts):
            items.append(types.CompletionItem(
                label=label, kind=kind, detail=detail, sort_text=f"{rank:03d}{j}", filter_text=label,
                text_edit=types.TextEdit(range=replace, new_text=new_text)))
    return items


@_safe(lambda: None)
def completion(index: DocumentIndex | None, text: str, position: types.Position) -> types.CompletionList | None:
    ctx = cursor_context(text, position.line, position.character)
    if ctx is None or ctx.in_comment:
        return None
    aliases = _aliases(index, text)
    called = _call_entry(ctx, aliases) if not ctx.nested else None
    param = None
    if called is not None:
        active = _active_param(called[1], ctx)
        param = called[1].params[active].name if active is not None else None
    line, character = position.line, position.character
    if ctx.qualifier is not None and not ctx.in_string:
        if ctx.qualifier in aliases:
            return _member_completion(ctx, ctx.qualifier, param == "dtype")
        owner = ctx.qualifier.rpartition(".")
        if owner[0] in aliases and owner[2] in ATTRIBUTE_MEMBERS:
            replace = _edit_range(line, ctx.word_start, character)
            return types.CompletionList(is_incomplete=False, items=[
                types.CompletionItem(label=m, kind=types.CompletionItemKind.EnumMember, detail=ctx.qualifier,
                                     text_edit=types.TextEdit(range=replace, new_text=m))
                for m in ATTRIBUTE_MEMBERS[owner[2]]])
        return None
    # inside a string literal the value goes in as it is; outside, quoted (dtypes also as T.<name>)
    quoted = not ctx.in_string
    if param == "dtype":
        return types.CompletionList(is_incomplete=False, items=_value_items(
            dtype_names(), types.CompletionItemKind.TypeParameter, "dtype", ctx, line, character, quoted=quoted,
            qualifier=called[0] if called and quoted else None))
    if param == "scope":
        values = scope_names(called[1].default_scope if called else None)
        return types.CompletionList(is_incomplete=False, items=_value_items(
            values, types.CompletionItemKind.EnumMember, "memory scope", ctx, line, character, quoted=quoted))
    return None


# -- signature help ----------------------------------------------------------------------


def _parameter_offsets(label: str, entry: Entry) -> list[tuple[int, int]]:
    out = []
    cursor = label.index("(") + 1
    for p in entry.params:
        if p.kind == "varargs":
            piece = "*" + p.name
        elif p.kind == "varkw":
            piece = "**" + p.name
        else:
            piece = p.name if p.default is None else f"{p.name}={p.default}"
        at = label.find(piece, cursor)
        if at < 0:
            at = cursor
        out.append((at, at + len(piece)))
        cursor = at + len(piece)
    return out


@_safe(lambda: None)
def signature_help(index: DocumentIndex | None, text: str, position: types.Position) -> types.SignatureHelp | None:
    ctx = cursor_context(text, position.line, position.character)
    if ctx is None or ctx.in_comment:
        return None
    called = _call_entry(ctx, _aliases(index, text))
    if called is None or called[1].name in NOT_CALLABLE:
        return None
    qualifier, entry = called
    label = f"{qualifier}.{catalog.signature(entry)}"
    params = [types.ParameterInformation(label=span) for span in _parameter_offsets(label, entry)]
    active = _active_param(entry, ctx)
    info = types.SignatureInformation(label=label, documentation=_markdown(entry.doc), parameters=params,
                                      active_parameter=active)
    return types.SignatureHelp(signatures=[info], active_signature=0, active_parameter=active)


# -- code actions ---------------------------------------------------------------------------


def _code(diag: types.Diagnostic) -> str | None:
    return str(diag.code) if diag.code is not None else None


def _overlaps(a: Range, b: Range) -> bool:
    return a.start.line <= b.end.line and b.start.line <= a.end.line


@_safe(list)
def code_actions(index: DocumentIndex | None, text: str, range: types.Range, diagnostics: list[types.Diagnostic],
                 config: Any, uri: str) -> list[types.CodeAction]:
    wanted = _range(range)
    fixes = index.fixes if index is not None and _fresh(index, text) else ()
    actions: dict[tuple[Any, ...], types.CodeAction] = {}
    order: list[tuple[Any, ...]] = []

    def add(title: str, edits: Iterable[TextEdit], diag: types.Diagnostic, preferred: bool) -> None:
        edits = tuple(edits)
        key = (title, tuple((e.range, e.new_text) for e in edits))
        action = actions.get(key)
        if action is None:
            lsp_edits = [types.TextEdit(range=_lsp_range(e.range), new_text=e.new_text) for e in edits]
            action = types.CodeAction(title=title, kind=types.CodeActionKind.QuickFix, diagnostics=[],
                                      is_preferred=preferred or None,
                                      edit=types.WorkspaceEdit(changes={uri: lsp_edits}))
            actions[key] = action
            order.append(key)
        action.diagnostics.append(diag)  # type: ignore[union-attr]

    ignores: list[tuple[str, TextEdit, types.Diagnostic]] = []
    for diag in diagnostics:
        code = _code(diag)
        rng = _range(diag.range)
        if code is None or not _overlaps(rng, wanted):
            continue
        candidates = [f for f in fixes if f.code == code and f.range == rng]
        exact = [f for f in candidates if f.message == diag.message]
        for fix in exact or candidates[:1]:
            add(fix.title, fix.edits, diag, preferred=True)
        if code != "TL901":
            edit = ignore_edit(text, rng.start.line, code)
            if edit is not None:
                ignores.append((f"Ignore {code} on this line (# tilelint: ignore[{code}])", edit, diag))
    for title, edit, diag in ignores:
        add(title, [edit], diag, preferred=False)
    return [actions[k] for k in order]
