"""The KernelModel: what one instantiated kernel allocates, runs and launches.

Built by `interpret.py`, read by `shared_memory.py`, the rules and `facts.py`.
Statements keep the structure that matters for budgets: the top-level
statements of the `T.Kernel` body (the unit of shared-memory liveness), loops
with their kind and pipeline stages, and for each leaf the buffers it reads
and writes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterator, Union

import libcst as cst

from .diagnostics import Range
from .dtypes import DType
from .values import Sym, as_int, show

SHARED_DYN = "shared.dyn"
SHARED = "shared"
FRAGMENT = "local.fragment"
LOCAL = "local"
VAR = "local.var"
GLOBAL = "global"
BARRIER = "shared.barrier"


class Span:
    """A lazily located source range (positions cost a little; most are never shown)."""

    __slots__ = ("_locator", "node", "stmt", "_range")

    def __init__(self, locator: Any, node: cst.CSTNode | None, stmt: cst.CSTNode | None):
        self._locator = locator  # analyzer.source.Locator
        self.node = node
        self.stmt = stmt
        self._range: Range | None = None

    @classmethod
    def fixed(cls, rng: Range) -> "Span":
        span = cls(None, None, None)
        span._range = rng
        return span

    @property
    def range(self) -> Range:
        if self._range is None:
            if self._locator is None or self.node is None:
                self._range = Range.point(0, 0)
            else:
                self._range = self._locator.range(self.node, self.stmt)
        return self._range

    @property
    def line(self) -> int:
        """0-based line of the enclosing statement's start: cheap, no columns computed."""
        if self._range is None and self._locator is not None and self.stmt is not None:
            line = self._locator.line_of(self.stmt)
            if line is not None:
                return line
        return self.range.start.line


@dataclass(eq=False)
class Buffer:
    name: str
    scope: str
    shape: tuple[Any, ...]
    dtype: DType | None
    span: Span
    is_param: bool = False
    init: Any = None  # alloc_var initial value
    arrive_count: Any = None  # alloc_barrier
    base: "Buffer | None" = None  # set for views (T.reshape / T.view): the buffer that owns the bytes
    in_kernel: bool = True  # allocated inside the `with T.Kernel` body
    layout_annotated: bool = False  # named in T.annotate_layout (its layout is given, not inferred)

    @property
    def root(self) -> "Buffer":
        return self.base.root if self.base is not None else self

    @property
    def elements(self) -> int | None:
        dims = [as_int(d) for d in self.shape]
        if any(d is None for d in dims):
            return None
        return math.prod(dims)  # type: ignore[arg-type]

    @property
    def bytes(self) -> int | None:
        n = self.elements
        if n is None or self.dtype is None:
            return None
        return self.dtype.storage_bytes(n)

    @property
    def symbolic(self) -> bool:
        return self.elements is None

    @property
    def is_shared(self) -> bool:
        return self.scope in (SHARED_DYN, SHARED)

    def shape_text(self) -> str:
        return "(" + ", ".join(show(d) for d in self.shape) + ")"

    def __repr__(self) -> str:
        return f"Buffer({self.name}, {self.scope}, {self.shape_text()}, {self.dtype})"


@dataclass(eq=False)
class BufferRegion:
    """`A[a:b, c:d]`: per dimension (start, extent)."""

    buffer: Buffer
    region: tuple[tuple[Any, Any], ...]


@dataclass(eq=False)
class BufferLoad:
    """`A[i, j]`: an element, or the start corner of a copy."""

    buffer: Buffer
    indices: tuple[Any, ...]


def operand_shape(value: Any) -> tuple[Any, ...] | None:
    """The extents a tile-op operand covers: a buffer's shape, a region's extents; None for a start corner."""
    if isinstance(value, Buffer):
        return tuple(value.shape)
    if isinstance(value, BufferRegion):
        return tuple(r[1] for r in value.region)
    return None


@dataclass(frozen=True)
class Access:
    """One operand of a statement: a buffer region, read or written."""

    buffer: Buffer
    write: bool
    # per dimension (start, extent); None when the whole buffer is meant
    region: tuple[tuple[Any, Any], ...] | None = None


@dataclass(eq=False)
class Op:
    """A leaf statement: a tile op (`T.copy`, `T.gemm`, ...), a store, or a call."""

    kind: str  # "copy", "gemm", "fill", "clear", "reduce", "cumsum", "atomic", "store", "call", "other"
    name: str  # e.g. "copy", "reduce_max", or "" for stores
    accesses: tuple[Access, ...]
    span: Span
    args: dict[str, Any] = field(default_factory=dict)

    @property
    def reads(self) -> tuple[Buffer, ...]:
        return tuple(a.buffer for a in self.accesses if not a.write)

    @property
    def writes(self) -> tuple[Buffer, ...]:
        return tuple(a.buffer for a in self.accesses if a.write)


@dataclass(eq=False)
class Loop:
    kind: str  # "parallel", "pipelined", "serial", "unroll", "vectorized", "persistent"
    vars: tuple[str, ...]
    extents: tuple[Any, ...]
    body: list["Stmt"]
    span: Span
    num_stages: int = 0
    order: tuple[int, ...] | None = None
    stage: tuple[int, ...] | None = None
    threads: int | None = None  # a `with T.ws(...)` role: the threads that run its body


@dataclass(eq=False)
class Cond:
    """An `if` the analyzer could not decide: both branches may run."""

    then: list["Stmt"]
    orelse: list["Stmt"]
    span: Span
    # a test on the thread index (`if tx < 128:`): how many threads run each branch
    then_threads: int | None = None
    else_threads: int | None = None


Stmt = Union[Op, Loop, Cond]


def walk(stmts: list[Stmt]) -> Iterator[Stmt]:
    """Every statement, depth first, parents before children."""
    for s in stmts:
        yield s
        if isinstance(s, Loop):
            yield from walk(s.body)
        elif isinstance(s, Cond):
            yield from walk(s.then)
            yield from walk(s.orelse)


def walk_in_context(stmts: list[Stmt], loops: tuple[Loop, ...] = ()) -> Iterator[tuple[Stmt, tuple[Loop, ...]]]:
    """Every statement with the loops around it (outermost first)."""
    for s in stmts:
        yield s, loops
        if isinstance(s, Loop):
            yield from walk_in_context(s.body, loops + (s,))
        elif isinstance(s, Cond):
            yield from walk_in_context(s.then, loops)
            yield from walk_in_context(s.orelse, loops)


def walk_with_threads(stmts: list[Stmt], threads: int | None, loops: tuple[Loop, ...] = ()
                      ) -> Iterator[tuple[Stmt, tuple[Loop, ...], int | None]]:
    """Every statement with its loops and the number of threads that run it.

    TileLang narrows the thread range inside `if tx < 128:` style branches and
    warp-specialized roles, and lays out fragments and gemms for that range.
    """
    for s in stmts:
        yield s, loops, threads
        if isinstance(s, Loop):
            inner = s.threads if s.threads is not None else threads
            yield from walk_with_threads(s.body, inner, loops + (s,))
        elif isinstance(s, Cond):
            yield from walk_with_threads(s.then, s.then_threads or threads, loops)
            yield from walk_with_threads(s.orelse, s.else_threads or threads, loops)


def accesses(stmt: Stmt) -> Iterator[Access]:
    for s in walk([stmt]):
        if isinstance(s, Op):
            yield from s.accesses


@dataclass(eq=False)
class Launch:
    grid: tuple[Any, ...]
    threads: tuple[Any, ...]
    span: Span

    @property
    def thread_count(self) -> int | None:
        dims = [as_int(t) for t in self.threads]
        if any(d is None for d in dims):
            return None
        return math.prod(dims)  # type: ignore[arg-type]


@dataclass(eq=False)
class KernelModel:
    """One kernel at one instantiation."""

    func_node: cst.FunctionDef  # the kernel function (several T.Kernel blocks share it)
    name: str  # the kernel function's name (often "main")
    site: str  # the function that makes it (factory or the kernel itself)
    span: Span  # the kernel function's name
    launch: Launch | None
    buffers: list[Buffer]
    body: list[Stmt]  # top-level statements of the T.Kernel body
    instantiation: dict[str, Any]
    instantiation_source: str
    style: str = "factory"  # "factory", "prim_func" or "eager" (see discover.py)
    unbound: tuple[str, ...] = ()  # parameters (and T.const names) with no value at all
    shared_unbound: tuple[str, ...] = ()  # the unbound names that shared-memory shapes depend on
    unbound_params: tuple[str, ...] = ()  # parameters of the site with neither a value nor a default
    target: str = "cuda"  # the backend the file builds for (engine.file_target); CUDA rules skip others
    dynamic_names: tuple[str, ...] = ()  # names the file declares with T.dynamic / T.symbolic (run-time sizes)
    pass_configs: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    # set when the body could not be followed completely (the model may miss statements)
    incomplete: list[str] = field(default_factory=list)
    # derived data later stages compute once per model (see shared_memory.model_index)
    cache: dict[str, Any] = field(default_factory=dict, repr=False)

    def shared_buffers(self) -> list[Buffer]:
        return [b for b in self.buffers if b.is_shared]

    @property
    def tuned(self) -> bool:
        """Whether this instantiation is one of several autotune configs (the tuner skips those that fail)."""
        return self.instantiation_source in ("autotune", "call-site+autotune")

    @property
    def guessed(self) -> bool:
        """Whether no call binds this kernel and it was filled from defaults with some parameters still free."""
        return self.instantiation_source == "defaults" and bool(self.unbound_params)


def sym_text(value: Any) -> Any:
    """A JSON-friendly rendering: ints stay ints, symbols become strings."""
    if isinstance(value, Sym):
        return value.text
    n = as_int(value)
    return n if n is not None else show(value)
