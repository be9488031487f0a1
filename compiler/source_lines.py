"""Kernel source lines through lowering: markers in the IR, a line map for the generated CUDA C.

nvcc and ptxas report errors at lines of the generated `.cu` file. To report them at the kernel's own
lines, the tracer puts a marker statement before each traced statement,

    T.evaluate(T.call_extern("int32", "__tl_line", file_index, line, col))

(1-based line, 0-based column, `file_index` into `LinedFunc.files`: a `T.macro` body has its own file).
Markers go only where our CUDA passes move whole statements: the kernel body (inside `T.Kernel`) and
the bodies of its serial, `T.Pipelined` and `while` loops, `if` branches and `T.ws` roles; never inside
`T.Parallel`, `T.unroll` or `T.vectorized` loops (whose nests the passes spread over threads and
pattern-match), and never outside `T.Kernel` (that code is the host's). A marker is a call with an effect,
so our passes and TVM's keep it where it is, and TVM's CUDA code generator prints it as a line of its
own, `__tl_line(0, 12, 8);`. `extract` then removes those lines from the source and maps every
generated line to the last marker above it in the same or an enclosing `{ }` scope (code a pass placed
after a loop, such as a pipeline's final wait, maps to the loop's line, not to the last statement in its
body). Lines before the first marker (the kernel's signature, the shared-memory declaration) and the
helper functions are not mapped; errors there, and ptxas errors without a line, fall back to the
`T.Kernel` line (`LinedFunc.kernel`).

The tracer builds the kernel once, with markers: `KernelDef.func` is that function without them
(`strip`: exactly the IR a trace without markers gives, so the CPU back end, the TIR printers and the
tests see no difference) and `KernelDef.lines` keeps the marked one (`tidy`: markers that mark nothing
dropped) for the CUDA back end. After stripping, the generated CUDA source is byte-identical to the
source generated from `KernelDef.func`.

One shape is kept marker-free on purpose: a `T.Pipelined` body that holds nothing but tile copies.
passes/cuda_copies.py builds a cp.async pipeline only when the body has work besides the copies it
moves ahead, and a marker would count as work.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

MARKER = "__tl_line"
Location = tuple[str, int, int]  # (file, 1-based line, 0-based column)


@dataclass
class LinedFunc:
    """A traced kernel with line markers, and what its marker arguments refer to."""

    func: Any  # tvm.tirx.PrimFunc with `__tl_line` markers
    files: list[str]  # file_index -> path
    kernel: Location | None = None  # the `with T.Kernel(...)` statement
    markers: int = field(default=0)  # markers left in `func`

    def location(self, file_index: int, line: int, col: int) -> Location:
        return (self.files[file_index], line, col)


def marker_call(file_index: int, line: int, col: int) -> Any:
    """The marker's call; the marker statement is `T.evaluate` of it."""
    from tvm import tirx

    return tirx.call_extern("int32", MARKER, file_index, line, col)


def is_marker(stmt: Any) -> bool:
    import tvm
    from tvm import tirx

    if not isinstance(stmt, tirx.Evaluate):
        return False
    call = stmt.value
    return isinstance(call, tvm.ir.Call) and call.op.name == "tirx.call_extern" and bool(call.args) \
        and isinstance(call.args[0], tvm.ir.StringImm) and call.args[0].value == MARKER


def _empty() -> Any:
    from tvm import tirx

    return tirx.Evaluate(tirx.const(0, "int32"))  # what TVM's IR builder makes of an empty body


def _copies_only(stmts: list[Any]) -> bool:
    from . import tile_ir

    real = [s for s in stmts if not is_marker(s)]
    return bool(real) and all((op := tile_ir.decode(s)) is not None and op.name == "copy" for s in real)


class _Markers:
    """Rebuilds the statement spine (sequences, loops, branches, attributes) with `keep(seq, k, parent)`
    deciding which markers stay; every other statement is returned as it is (markers are only ever put in
    statement sequences, so nothing else can hold one)."""

    def __init__(self, keep: Any) -> None:
        self.keep = keep
        self.kept = 0

    def stmt(self, s: Any, parent: Any = None) -> Any:
        from tvm import tirx

        if isinstance(s, tirx.SeqStmt):
            items = list(s.seq)
            out = []
            changed = False
            for k, x in enumerate(items):
                if is_marker(x):
                    if self.keep(items, k, parent):
                        self.kept += 1
                        out.append(x)
                    else:
                        changed = True
                    continue
                y = self.stmt(x)
                changed |= not y.same_as(x)
                out.append(y)
            if not changed:
                return s
            if not out:
                return _empty()
            return out[0] if len(out) == 1 else tirx.SeqStmt(out)
        if is_marker(s):  # a body that is one marker (its statement emitted nothing)
            if self.keep([s], 0, parent):
                self.kept += 1
                return s
            return _empty()
        if isinstance(s, tirx.For):
            body = self.stmt(s.body, s)
            if body.same_as(s.body):
                return s
            return tirx.For(s.loop_var, s.min, s.extent, s.kind, body, s.thread_binding, s.annotations, s.step)
        if isinstance(s, tirx.IfThenElse):
            then = self.stmt(s.then_case)
            other = None if s.else_case is None else self.stmt(s.else_case)
            if then.same_as(s.then_case) and (other is None or other.same_as(s.else_case)):
                return s
            return tirx.IfThenElse(s.condition, then, other)
        if isinstance(s, tirx.While):
            body = self.stmt(s.body)
            return s if body.same_as(s.body) else tirx.While(s.condition, body)
        if isinstance(s, tirx.AttrStmt):
            body = self.stmt(s.body)
            return s if body.same_as(s.body) else tirx.AttrStmt(s.node, s.attr_key, s.value, body)
        return s


def _rebuild(func: Any, body: Any) -> Any:
    from .ir_rewrite import with_body

    return with_body(func, body)


def strip(func: Any) -> Any:
    """`func` without markers."""
    return _rebuild(func, _Markers(lambda seq, k, parent: False).stmt(func.body))


def tidy(func: Any) -> tuple[Any, int]:
    """`func` keeping only the markers that mark something: followed by a statement that is not a marker,
    and not in a `T.Pipelined` body of copies alone (module docstring). Returns it and its marker count."""

    def keep(seq: list[Any], k: int, parent: Any) -> bool:
        if k + 1 >= len(seq) or is_marker(seq[k + 1]):
            return False
        if parent is not None and parent.annotations.get("tl.loop") == "Pipelined" and _copies_only(seq):
            return False
        return True

    walker = _Markers(keep)
    out = _rebuild(func, walker.stmt(func.body))
    return out, walker.kept


# ------------------------------------------------------------------ the generated source

_MARKER_LINE = re.compile(r"^\s*" + MARKER + r"\((\d+), (\d+), (\d+)\);\s*$")
_MARKER_ANY = re.compile(MARKER + r"\(\d+, \d+, \d+\);")


def extract(source: str, lined: LinedFunc | None) -> tuple[str, dict[int, Location]]:
    """The CUDA source without its marker lines, and {1-based line of that source: kernel location}.

    A line maps to the last marker above it whose `{ }` scope is still open at that line (a line that
    starts by closing scopes is counted after those closes)."""
    out: list[str] = []
    line_map: dict[int, Location] = {}
    stack: list[tuple[int, Location]] = []  # (brace depth of the marker, its location)
    depth = 0
    for text in source.splitlines(keepends=True):
        m = _MARKER_LINE.match(text)
        if m:
            while stack and stack[-1][0] >= depth:
                stack.pop()
            if lined is not None:
                stack.append((depth, lined.location(int(m.group(1)), int(m.group(2)), int(m.group(3)))))
            continue
        text = _MARKER_ANY.sub("", text)  # never seen: a marker printed inside another line
        body = text.lstrip()
        leading = len(body) - len(body.lstrip("}"))
        while stack and stack[-1][0] > depth - leading:
            stack.pop()
        out.append(text)
        if stack:
            line_map[len(out)] = stack[-1][1]
        depth += text.count("{") - text.count("}")
    return "".join(out), line_map
