"""`tilelint --fix / --diff / --add-suppressions`: the server's quick fixes applied on the command line.

The edits are exactly the ones the language server offers as code actions
(`analyzer.index.build_index(...).fixes` and `analyzer.fixes.ignore_edit`, see
`tilelsp.features.code_actions`): text edits applied to the file's text, so
everything outside an edit (formatting, comments, line endings, a BOM) stays
as it was.

Only the safe quick fixes are applied (see `SAFE_CODES` and docs/features.md):

- TL401 / TL402 / TL406: allocate the buffer with `T.alloc_fragment`, the scope
  the rule says the operand must have (TileLang rejects the kernel otherwise).
- TL412: `T.clear(C)` before the loop around the first gemm, only when at most
  one loop encloses that gemm in its function (with nested loops the clear
  could land inside the reduction and drop partial sums).

TL101 (`Set num_stages to N`) is not applied: it picks a number, trading
pipelining for shared memory where smaller tiles may be the better remedy.

Each fix is applied on its own and kept only when the analysis of the new text
has fewer findings of its code, no new syntax error, and no more findings of
any other code (but codes that are fixed here themselves). A second run
changes nothing. `# tilelint: ignore[...]` comments are added only on request
(`add_suppressions`), for whatever is still reported after the fixes.
"""

from __future__ import annotations

import ast
import difflib
import io
import tokenize
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from analyzer.config import Config
from analyzer.diagnostics import Diagnostic
from analyzer.fixes import Fix, TextEdit, apply_edits, ignore_edit
from analyzer.index import DocumentIndex, build_index

SAFE_CODES = ("TL401", "TL402", "TL406", "TL412")
_BOM = "\ufeff"
_MAX_STEPS = 64


@dataclass
class FileFix:
    path: str
    before: str  # the text read (without a BOM)
    after: str
    fixed: Counter[str] = field(default_factory=Counter)  # code -> findings removed by fixes
    suppressed: Counter[str] = field(default_factory=Counter)  # code -> findings silenced by a comment

    @property
    def changed(self) -> bool:
        return self.before != self.after


def _codes(index: DocumentIndex) -> Counter[str]:
    out = Counter(d.code for d in index.report.diagnostics)
    if index.syntax_error is not None:
        out["TL901"] += 1
    return out


def _stmt_chain(tree: ast.AST, line: int) -> list[ast.AST]:
    """The nodes from `tree` down to the innermost statement that covers 0-based `line`."""
    chain: list[ast.AST] = [tree]
    node = tree
    while True:
        inner = None
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.stmt) and child.lineno - 1 <= line <= (child.end_lineno or child.lineno) - 1:
                inner = child
                break
            if isinstance(child, (ast.excepthandler, ast.match_case)):
                first = getattr(child, "lineno", None) or child.pattern.lineno  # type: ignore[attr-defined]
                last = getattr(child, "end_lineno", None) or first
                if first - 1 <= line <= last - 1:
                    inner = child
                    break
        if inner is None:
            return chain
        chain.append(inner)
        node = inner


def _clear_is_safe(text: str, fix: Fix) -> bool:
    """TL412: the `T.clear` goes before the only loop around the gemm (or before the gemm when none is)."""
    if len(fix.edits) != 1:
        return False
    edit = fix.edits[0]
    if edit.range.start != edit.range.end or edit.range.start.character != 0:
        return False
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return False
    chain = _stmt_chain(tree, fix.range.start.line)
    gemm = chain[-1]
    if not isinstance(gemm, ast.stmt):
        return False
    loops: list[ast.AST] = []
    for node in reversed(chain[:-1]):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            break
        if isinstance(node, (ast.For, ast.AsyncFor, ast.While)):
            loops.append(node)
    if len(loops) > 1:
        return False
    anchor = loops[0] if loops else gemm
    return edit.range.start.line == anchor.lineno - 1  # type: ignore[attr-defined]


def safe_fixes(index: DocumentIndex, text: str) -> list[Fix]:
    """The index's quick fixes that `--fix` applies, one per distinct set of edits."""
    out: list[Fix] = []
    seen: set[tuple[tuple[TextEdit, ...], str]] = set()
    for fix in index.fixes:
        if fix.code not in SAFE_CODES or (fix.code == "TL412" and not _clear_is_safe(text, fix)):
            continue
        key = (tuple(sorted(fix.edits, key=lambda e: (e.range.start, e.range.end))), fix.title)
        if key not in seen:
            seen.add(key)
            out.append(fix)
    return out


def _string_lines(text: str) -> set[int]:
    """0-based lines whose end is inside a string literal (a comment appended there would change it)."""
    out: set[int] = set()
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type == tokenize.STRING or tok.type == getattr(tokenize, "FSTRING_MIDDLE", -1):
                out.update(range(tok.start[0] - 1, tok.end[0] - 1))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        pass
    return out


def _suppress(text: str, diagnostics: list[Diagnostic]) -> str:
    """`text` with the server's `Ignore TLxxx on this line` edit applied for each diagnostic."""
    by_line: dict[int, list[str]] = {}
    for d in diagnostics:
        if d.code in ("TL900", "TL901"):
            continue
        codes = by_line.setdefault(d.range.start.line, [])
        if d.code not in codes:
            codes.append(d.code)
    in_string = _string_lines(text)
    for line in sorted(by_line, reverse=True):  # bottom up: an inserted line moves nothing above it
        if line in in_string:
            continue
        for code in sorted(by_line[line]):
            edit = ignore_edit(text, line, code)
            if edit is None:
                continue
            text = apply_edits(text, [edit])
            if edit.range.start == edit.range.end and edit.new_text.endswith("\n"):
                line += 1  # the comment went on a line of its own above
    return text


def fix_text(text: str, path: str, config: Config, requests: tuple[str, ...] = (),
             add_suppressions: bool = False) -> FileFix:
    """Apply the safe fixes (and, on request, ignore comments) to `text`; nothing is written."""
    result = FileFix(path, text, text)
    index = build_index(text, path, config, requests)
    start = _codes(index)
    rejected: set[tuple[str, str, str]] = set()
    for _ in range(_MAX_STEPS):
        if index.error is not None or index.syntax_error is not None:
            break
        candidates = [f for f in safe_fixes(index, result.after) if (f.code, f.title, f.message) not in rejected]
        if not candidates:
            break
        fix = candidates[0]
        new_text = apply_edits(result.after, fix.edits)
        new_index = build_index(new_text, path, config, requests)
        before, after = _codes(index), _codes(new_index)
        worse = any(n > before[c] for c, n in after.items() if c not in SAFE_CODES)
        if new_text == result.after or after[fix.code] >= before[fix.code] or worse or new_index.error:
            rejected.add((fix.code, fix.title, fix.message))
            continue
        result.after, index = new_text, new_index
    result.fixed = start - _codes(index)
    if add_suppressions and index.error is None and index.syntax_error is None and index.report.diagnostics:
        new_text = _suppress(result.after, list(index.report.diagnostics))
        if new_text != result.after:
            new_index = build_index(new_text, path, config, requests)
            if new_index.syntax_error is None and new_index.error is None:
                result.suppressed = _codes(index) - _codes(new_index)
                result.after = new_text
    return result


def fix_file(path: str, config: Config, requests: tuple[str, ...] = (), add_suppressions: bool = False,
             write: bool = True) -> FileFix | None:
    """`fix_text` on a file (None when it cannot be read); `write` saves a changed file, BOM and line ends kept."""
    try:
        data = Path(path).read_bytes()
        text = data.decode("utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return None
    result = fix_text(text, path, config, requests, add_suppressions)
    if write and result.changed:
        bom = _BOM if data.startswith(_BOM.encode("utf-8")) else ""
        Path(path).write_bytes((bom + result.after).encode("utf-8"))
    return result


def unified_diff(result: FileFix) -> str:
    """A unified diff of the change (`--- path` / `+++ path`), empty when nothing changed."""
    if not result.changed:
        return ""
    out: list[str] = []
    for line in difflib.unified_diff(result.before.splitlines(keepends=True), result.after.splitlines(keepends=True),
                                     fromfile=result.path, tofile=result.path):
        if not line.endswith(("\n", "\r")):
            line += "\n\\ No newline at end of file\n"
        out.append(line)
    return "".join(out)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def run(files: list[str], config: Config, requests: tuple[str, ...], *, diff: bool, add_suppressions: bool,
        out: TextIO, err: TextIO) -> int:
    """Fix `files` (or, with `diff`, print what would change). Returns the number of files (to be) changed."""
    changed = 0
    fixed: Counter[str] = Counter()
    suppressed: Counter[str] = Counter()
    for path in files:
        result = fix_file(path, config, requests, add_suppressions, write=not diff)
        if result is None or not result.changed:
            continue
        changed += 1
        fixed += result.fixed
        suppressed += result.suppressed
        if diff:
            out.write(unified_diff(result))
    if changed:
        fix, suppress = ("would fix", "would suppress") if diff else ("fixed", "suppressed")
        parts = [f"{fix} {_plural(sum(fixed.values()), 'finding')}"]
        if add_suppressions:
            parts.append(f"{suppress} {_plural(sum(suppressed.values()), 'finding')}")
        err.write(f"tilelint: {', '.join(parts)} in {_plural(changed, 'file')}\n")
    return changed
