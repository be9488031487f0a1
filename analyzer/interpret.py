"""From an instantiated kernel site to KernelModels.

`KernelInterpreter` runs a kernel function abstractly: the Python around the
kernel (factory body, `T.const`, parameter annotations) with the ordinary
evaluator, and the `with T.Kernel(...)` body in kernel mode, where each
statement becomes an `Op`, `Loop` or `Cond` of the model and each buffer
reference is recorded as an access. `T.macro` helpers are inlined as
TileLang inlines them. `if` on a value known at trace time keeps only the
branch taken, as TileLang does.
"""

from __future__ import annotations

import ast as pyast
from dataclasses import dataclass
from typing import Any, Callable

import libcst as cst

from . import catalog
from .discover import KERNEL_LAUNCHERS, Site
from .dtypes import DType, parse_dtype
from .evaluate import (
    BudgetExceeded,
    Evaluator,
    PySlice,
    bind_params,
    binop,
    constant_difference,
    Hooks,
    LoopControl,
    Return,
    Scope,
    decorator_name,
    t_name,
    truthy,
)
from .model import (
    BARRIER,
    BufferLoad,
    BufferRegion,
    GLOBAL,
    SHARED,
    SHARED_DYN,
    Access,
    Buffer,
    Cond,
    KernelModel,
    Launch,
    Loop,
    Op,
    Span,
    Stmt,
)
from .source import SourceFile
from .values import UNKNOWN, FunctionValue, ModuleRef, Sym, TensorValue, as_int, show

KERNEL_BUDGET = 200_000

_LOOP_KINDS = {
    "Parallel": "parallel",
    "parallel": "parallel",
    "Pipelined": "pipelined",
    "serial": "serial",
    "Serial": "serial",
    "unroll": "unroll",
    "Unroll": "unroll",
    "vectorized": "vectorized",
    "Vectorized": "vectorized",
    "grid": "serial",
    "Persistent": "persistent",
    "thread_binding": "serial",
}

_ALLOC_SCOPES = {
    "alloc_shared": SHARED_DYN,
    "alloc_local": "local",
    "alloc_fragment": "local.fragment",
    "alloc_var": "local.var",
    "alloc_barrier": BARRIER,
    "alloc_cluster_barrier": "shared.cluster_barrier",
    "alloc_reducer": "local.reducer",
    "alloc_tmem": "shared.tmem",
    "alloc_global": GLOBAL,
    "alloc_buffer": "global",
    "decl_buffer": "global",
    "alloc_descriptor": "local.descriptor",
    "alloc_wgmma_desc": "local.descriptor.wgmma",
}

_TENSOR_TYPES = {
    "Tensor": GLOBAL,
    "Buffer": GLOBAL,
    "StridedTensor": GLOBAL,
    "SharedBuffer": SHARED_DYN,
    "FragmentBuffer": "local.fragment",
    "LocalBuffer": "local",
}


@dataclass
class TensorSpec:
    shape: tuple[Any, ...]
    dtype: Any
    scope: str


@dataclass
class LoopSpec:
    kind: str
    extents: tuple[Any, ...]
    num_stages: int = 0
    order: tuple[int, ...] | None = None
    stage: tuple[int, ...] | None = None


_DEFAULTS: dict[str, dict[str, Any]] = {}


def _literal(text: str | None) -> Any:
    if text is None:
        return UNKNOWN
    try:
        return pyast.literal_eval(text)
    except (ValueError, SyntaxError):
        return UNKNOWN


def defaults_of(entry: Any) -> dict[str, Any]:
    """Parameter defaults of a catalog entry as values (parsed once per entry)."""
    cached = _DEFAULTS.get(entry.name)
    if cached is None:
        cached = {p.name: _literal(p.default) for p in entry.params if p.default is not None}
        _DEFAULTS[entry.name] = cached
    return cached


def _single_trip(loop: Loop) -> bool:
    if loop.kind not in ("serial", "unroll") and not (loop.kind == "pipelined" and loop.num_stages < 1):
        return False
    return bool(loop.extents) and all(as_int(e) == 1 for e in loop.extents)


def operand_buffer(value: Any) -> Buffer | None:
    if isinstance(value, Buffer):
        return value
    if isinstance(value, (BufferRegion, BufferLoad)):
        return value.buffer
    return None


def operand_region(value: Any) -> tuple[tuple[Any, Any], ...] | None:
    if isinstance(value, BufferRegion):
        return value.region
    if isinstance(value, BufferLoad):
        return tuple((i, None) for i in value.indices)
    if isinstance(value, Buffer):
        return tuple((0, d) for d in value.shape)
    return None


def _is_thread_index(value: Any) -> bool:
    return isinstance(value, Sym) and value.text in ("T.get_thread_binding()", "T.thread_binding_var()")


_FLIPPED = {"LessThan": "GreaterThan", "GreaterThan": "LessThan", "LessThanEqual": "GreaterThanEqual",
            "GreaterThanEqual": "LessThanEqual", "Equal": "Equal"}


def _compare_bound(lhs: Any, op: str, rhs: Any) -> tuple[int, int] | None:
    """`tx < 128` (or `128 > tx`) as the interval [0, 128) of thread indices."""
    if _is_thread_index(rhs) and not _is_thread_index(lhs):
        lhs, rhs, op = rhs, lhs, _FLIPPED.get(op, "")
    k = as_int(rhs)
    if not _is_thread_index(lhs) or k is None:
        return None
    big = 1 << 30
    return {"LessThan": (0, k), "LessThanEqual": (0, k + 1), "GreaterThan": (k + 1, big),
            "GreaterThanEqual": (k, big), "Equal": (k, k + 1)}.get(op)


def as_dtype(value: Any) -> DType | None:
    if isinstance(value, DType):
        return value
    if isinstance(value, str):
        return parse_dtype(value)
    if isinstance(value, ModuleRef):
        return parse_dtype(value.name.rsplit(".", 1)[-1])
    return None


def as_shape(value: Any) -> tuple[Any, ...] | None:
    if isinstance(value, (list, tuple)):
        return tuple(value)
    if isinstance(value, (int, Sym)) and not isinstance(value, bool):
        return (value,)
    return None


class KernelInterpreter(Evaluator):
    """Builds the KernelModels of one site at one instantiation."""

    def __init__(self, source: SourceFile, site: Site, binding: dict[str, Any], origin: str,
                 budget: int = KERNEL_BUDGET):
        super().__init__(budget)
        self.source = source
        self.site = site
        self.binding = binding
        self.origin = origin
        self.models: list[KernelModel] = []
        self.hooks = Hooks(on_def=self._on_def)
        self._reset_kernel()

    # -- per kernel state ------------------------------------------------------
    def _reset_kernel(self) -> None:
        self.buffers: list[Buffer] = []
        self.launch: Launch | None = None
        self.body: list[Stmt] | None = None
        self.frames: list[list[Stmt]] = []
        self.stmt_node: cst.CSTNode | None = None
        self.touched: list[Access] = []
        self.in_kernel = False
        self.incomplete: list[str] = []
        self.const_names: dict[str, Any] = {}
        self.call_node: cst.Call | None = None
        self.current_func: FunctionValue | None = None
        self.kernel_index = 0
        self.thread_range: tuple[int, int] | None = None  # [lo, hi) of threadIdx.x where statements run

    def span(self, node: cst.CSTNode | None) -> Span:
        return Span(self.source.locator, node, self.stmt_node)

    # -- entry points --------------------------------------------------------
    def run(self, module_scope: Scope) -> list[KernelModel]:
        site = self.site
        try:
            if site.style == "factory":
                scope = Scope(site.func.closure)
                bind_params(site.func, [], dict(self.binding), scope, self)
                returned: Any = UNKNOWN
                try:
                    self.run_block(site.node.body, scope)
                except Return as ret:
                    returned = ret.value
                except LoopControl:
                    pass
                if isinstance(returned, FunctionValue):
                    # Only the prim_func the factory returns is compiled.
                    chosen = [m for m in self.models if m.func_node is returned.node]
                    self.models = chosen or self.models
            elif site.style == "prim_func":
                self.kernel_function(site.func, module_scope)
            else:
                self.kernel_function(site.func, module_scope, eager=True)
        except BudgetExceeded:
            if self.body is not None:
                self.incomplete.append("the kernel is too long to follow within the analysis budget")
                self._finish(site.func)
        return self.models

    def _on_def(self, func: FunctionValue, scope: Scope) -> None:
        if any(decorator_name(d) == "prim_func" for d in func.decorators) and not self.in_kernel:
            saved = self._save()
            self._reset_kernel()
            try:
                self.kernel_function(func, scope)
            except BudgetExceeded:
                if self.body is not None:
                    self.incomplete.append("the kernel is too long to follow within the analysis budget")
                    self._finish(func)
                raise
            finally:
                self._restore(saved)

    def _save(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("buffers", "launch", "body", "frames", "stmt_node", "touched",
                                              "in_kernel", "incomplete", "const_names", "call_node",
                                              "current_func", "kernel_index")}

    def _restore(self, saved: dict[str, Any]) -> None:
        for k, v in saved.items():
            setattr(self, k, v)

    def kernel_function(self, func: FunctionValue, outer: Scope, eager: bool = False) -> None:
        """Interpret one kernel function (a prim_func, or an eager jit body)."""
        scope = Scope(func.closure if func.closure is not None else outer)
        self._reset_kernel()
        self.current_func = func
        node = func.node
        if eager:
            bind_params(func, [], dict(self.binding), scope, self)
        else:
            self.stmt_node = node
            for param in list(node.params.params) + list(node.params.kwonly_params):
                self._param(param, scope)
        self.stmt_node = node
        try:
            self.run_block(node.body, scope)
        except (Return, LoopControl):
            pass
        if self.body is not None:
            self._finish(func)

    def _param(self, param: cst.Param, scope: Scope) -> None:
        name = param.name.value
        if param.annotation is None:
            scope.set(name, Sym(name, frozenset({name})))
            return
        spec = self.expr(param.annotation.annotation, scope)
        if isinstance(spec, TensorSpec):
            buf = Buffer(name, spec.scope, spec.shape, as_dtype(spec.dtype), self.span(param.name), is_param=True)
            self.buffers.append(buf)
            scope.set(name, buf)
        else:
            scope.set(name, Sym(name, frozenset({name})))

    def _finish(self, func: FunctionValue) -> None:
        site = self.site
        instantiation = dict(self.binding)
        for k, v in self.const_names.items():
            instantiation.setdefault(k, v)
        shared_free = sorted(
            {n for b in self.buffers if b.is_shared for d in b.shape if isinstance(d, Sym) for n in d.free}
        )
        unbound = set(shared_free)
        missing: list[str] = []
        if site.style != "prim_func":
            p = site.node.params
            for param in list(p.posonly_params) + list(p.params) + list(p.kwonly_params):
                pname = param.name.value
                late = pname in self.binding and isinstance(self.binding[pname], Sym)  # a run-time value
                free = pname not in self.binding and pname not in site.func.defaults
                if (late or free) and pname not in site.tensor_params:
                    unbound.add(pname)
                if free and pname not in site.tensor_params:
                    missing.append(pname)
        for cname, value in self.const_names.items():
            if isinstance(value, Sym):
                unbound.add(cname)
        name = func.node.name.value
        model = KernelModel(
            func_node=func.node,
            name=name if self.kernel_index == 0 else f"{name}_{self.kernel_index}",
            site=site.name,
            span=Span(self.source.locator, func.node.name, func.node),
            launch=self.launch,
            buffers=self.buffers,
            body=self.body or [],
            instantiation=instantiation,
            instantiation_source=self.origin,
            style=site.style,
            unbound=tuple(sorted(unbound)),
            shared_unbound=tuple(shared_free),
            unbound_params=tuple(missing),
            pass_configs=dict(site.pass_configs),
            incomplete=list(self.incomplete),
        )
        self.models.append(model)

    # -- statements ----------------------------------------------------------------
    def emit(self, stmt: Stmt) -> None:
        if self.frames:
            self.frames[-1].append(stmt)

    def stmt(self, stmt: cst.CSTNode, scope: Scope) -> None:
        self.tick()
        previous = self.stmt_node
        self.stmt_node = stmt
        try:
            if isinstance(stmt, cst.With) and not self.in_kernel and self._kernel_with(stmt, scope):
                return
            if not self.in_kernel:
                if isinstance(stmt, cst.SimpleStatementLine):
                    for small in stmt.body:
                        if isinstance(small, cst.AnnAssign) and small.value is None:
                            self._annotated_param(small, scope)
                        else:
                            self.small_stmt(small, scope)
                    return
                super().stmt(stmt, scope)
                return
            self._kernel_stmt(stmt, scope)
        finally:
            self.stmt_node = previous

    def _annotated_param(self, small: cst.AnnAssign, scope: Scope) -> None:
        """`A: T.Tensor((M, K), dtype)` in an eager kernel declares a tensor parameter."""
        if not isinstance(small.target, cst.Name):
            return
        name = small.target.value
        bound = scope.lookup(name)
        spec = self.expr(small.annotation.annotation, scope)
        if not isinstance(spec, TensorSpec):
            return
        if isinstance(bound, TensorValue):
            # Bind T.const sizes from the shape of the tensor passed at the call site.
            changed = False
            for dim, actual in zip(spec.shape, bound.shape):
                if isinstance(dim, Sym) and dim.free == frozenset({dim.text}) and as_int(actual) is not None:
                    scope.set(dim.text, as_int(actual))
                    if dim.text in self.const_names:
                        self.const_names[dim.text] = as_int(actual)
                    changed = True
            if changed:
                spec = self.expr(small.annotation.annotation, scope)
                assert isinstance(spec, TensorSpec)
        buf = Buffer(name, spec.scope, spec.shape, as_dtype(spec.dtype), self.span(small.target), is_param=True)
        self.buffers.append(buf)
        scope.set(name, buf)

    def _kernel_with(self, stmt: cst.With, scope: Scope) -> bool:
        item = stmt.items[0]
        call = item.item
        if not isinstance(call, cst.Call) or t_name(self.expr(call.func, scope)) not in KERNEL_LAUNCHERS:
            return False
        if self.body is not None and self.current_func is not None:
            # Several T.Kernel blocks in one function are several device kernels.
            self._finish(self.current_func)
            self.buffers = [b for b in self.buffers if b.is_param]
            self.body = None
            self.launch = None
            self.kernel_index += 1
        args, kwargs = self.call_args(call, scope)
        grid = tuple(a for a in args)
        threads = kwargs.get("threads")
        if threads is None:
            thread_dims: tuple[Any, ...] = (128,)
        elif isinstance(threads, (list, tuple)):
            thread_dims = tuple(threads)
        else:
            thread_dims = (threads,)
        self.launch = Launch(grid, thread_dims, self.span(call))
        count = self.launch.thread_count
        self.thread_range = (0, count) if count is not None and len(thread_dims) == 1 else None
        if item.asname is not None:
            target = item.asname.name
            names = [target] if isinstance(target, cst.Name) else [
                e.value for e in getattr(target, "elements", []) if isinstance(e.value, cst.Name)
            ]
            for n in names:
                scope.set(n.value, Sym(n.value, frozenset()))
        self.body = []
        self.frames = [self.body]
        self.in_kernel = True
        try:
            self.run_block(stmt.body, scope)
        finally:
            self.in_kernel = False
            self.frames = []
        return True

    def _kernel_stmt(self, stmt: cst.CSTNode, scope: Scope) -> None:
        if isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                self._kernel_small(small, scope)
        elif isinstance(stmt, cst.For):
            self._kernel_for(stmt, scope)
        elif isinstance(stmt, cst.If):
            self._kernel_if(stmt, scope)
        elif isinstance(stmt, cst.While):
            self._block(stmt, "serial", (), (UNKNOWN,), stmt.body, scope)
        elif isinstance(stmt, cst.With):
            kind = "block"
            role_threads: int | None = None
            for item in stmt.items:
                self.touched = []
                if isinstance(item.item, cst.Call) and t_name(self.expr(item.item.func, scope)) == "ws":
                    kind = "ws"  # a warp-specialized role written by hand: `with T.ws(1):`
                    role_threads = self._ws_threads(item.item, scope)
                value = self.expr(item.item, scope)
                if item.asname is not None:
                    self.assign(item.asname.name, value, scope)
            self._block(stmt, kind, (), (), stmt.body, scope, threads=role_threads)
        elif isinstance(stmt, cst.FunctionDef):
            Evaluator.stmt(self, stmt, scope)
        elif isinstance(stmt, cst.Try):
            self.run_block(stmt.body, scope)

    def _ws_threads(self, call: cst.Call, scope: Scope) -> int | None:
        """Threads of `T.ws(ids...)`: warp group g is threads [128 g, 128 g + 128), cut to the block's threads."""
        block = self.launch.thread_count if self.launch is not None else None
        total = 0
        for arg in call.args or ():
            gid = as_int(self.expr(arg.value, scope))
            if gid is None or block is None:
                total += 128
            else:
                total += max(0, min(128 * (gid + 1), block) - 128 * gid)
        # a role past the block's threads runs nowhere; TileLang then lays it out for the whole block
        return (total or None) if call.args else 128

    def _block(self, node: cst.CSTNode, kind: str, names: tuple[str, ...], extents: tuple[Any, ...],
               body: cst.BaseSuite, scope: Scope, spec: LoopSpec | None = None, threads: int | None = None) -> None:
        loop = Loop(kind, names, extents, [], self.span(node), threads=threads)
        if spec is not None:
            loop.num_stages = spec.num_stages
            loop.order = spec.order
            loop.stage = spec.stage
        self.emit(loop)
        self.frames.append(loop.body)
        try:
            self.run_block(body, scope)
        except LoopControl:
            pass
        finally:
            self.frames.pop()
        if _single_trip(loop) and self.frames and self.frames[-1] and self.frames[-1][-1] is loop:
            # TileLang's simplifier drops a loop that runs once; its statements
            # then stand on their own (which matters for buffer lifetimes).
            self.frames[-1][-1:] = loop.body

    def _kernel_for(self, stmt: cst.For, scope: Scope) -> None:
        self.touched = []
        iterable = self.expr(stmt.iter, scope)
        reads = list(self.touched)
        target = stmt.target
        names = [target] if isinstance(target, cst.Name) else [
            e.value for e in getattr(target, "elements", []) if isinstance(e.value, cst.Name)
        ]
        if isinstance(iterable, range) or (isinstance(iterable, LoopSpec) and iterable.kind == "range"):
            spec = LoopSpec("serial", (len(iterable),) if isinstance(iterable, range) else iterable.extents)
        elif isinstance(iterable, LoopSpec):
            spec = iterable
        elif isinstance(iterable, (list, tuple)):
            # A Python sequence is unrolled while the kernel is traced.
            for item in iterable:
                self.tick()
                self.assign(target, item, scope)
                try:
                    self.run_block(stmt.body, scope)
                except LoopControl as ctl:
                    if ctl.kind == "break":
                        break
            return
        else:
            spec = LoopSpec("serial", (UNKNOWN,))
        for n in names:
            scope.set(n.value, Sym(n.value, frozenset()))
        if reads:
            self.emit(Op("other", "loop-bounds", tuple(reads), self.span(stmt.iter)))
        self._block(stmt, spec.kind, tuple(n.value for n in names), spec.extents, stmt.body, scope, spec)

    def _kernel_if(self, stmt: cst.If, scope: Scope) -> None:
        self.touched = []
        test = self.expr(stmt.test, scope)
        reads = list(self.touched)
        t = truthy(test) if not reads else None
        if t is True:
            self.run_block(stmt.body, scope)
            return
        if t is False:
            if isinstance(stmt.orelse, cst.If):
                self.stmt(stmt.orelse, scope)
            elif isinstance(stmt.orelse, cst.Else):
                self.run_block(stmt.orelse.body, scope)
            return
        cond = Cond([], [], self.span(stmt))
        if reads:
            cond.then.append(Op("other", "condition", tuple(reads), self.span(stmt.test)))
        outer = self.thread_range
        ranges = self._thread_split(stmt.test, scope)
        if ranges is not None:
            cond.then_threads, cond.else_threads = (r[1] - r[0] if r else None for r in ranges)
        self.emit(cond)
        for index, (branch, block) in enumerate(((cond.then, stmt.body), (cond.orelse, stmt.orelse))):
            if block is None:
                continue
            self.frames.append(branch)
            if ranges is not None:
                self.thread_range = ranges[index]
            try:
                if isinstance(block, cst.If):
                    self.stmt(block, scope)
                elif isinstance(block, cst.Else):
                    self.run_block(block.body, scope)
                else:
                    self.run_block(block, scope)
            except LoopControl:
                pass
            finally:
                self.frames.pop()
                self.thread_range = outer

    def _thread_split(self, test: cst.BaseExpression, scope: Scope
                      ) -> tuple[tuple[int, int] | None, tuple[int, int] | None] | None:
        """For `tx < 128`, `64 <= tx < 96`, `tx >= 128 and tx < 256`: the thread ranges of the two branches.

        Like TileLang's bound analysis, a range is one interval: where the
        rest is not contiguous (or the test has other conjuncts) the other
        branch keeps the enclosing range.
        """
        outer = self.thread_range
        if outer is None:
            return None
        saved = self.touched
        try:
            found = self._thread_interval(test, scope)
        finally:
            self.touched = saved
        if found is None:
            return None
        (lo, hi), exact = found
        lo, hi = max(outer[0], lo), min(outer[1], hi)
        if lo >= hi:
            return None, outer
        else_range: tuple[int, int] | None = outer
        if exact and lo == outer[0]:
            else_range = (hi, outer[1]) if hi < outer[1] else None
        elif exact and hi == outer[1]:
            else_range = (outer[0], lo)
        return (lo, hi), else_range

    def _thread_interval(self, test: cst.BaseExpression, scope: Scope) -> tuple[tuple[int, int], bool] | None:
        """The [lo, hi) of thread indices a test admits, and whether the test says nothing else."""
        if isinstance(test, cst.BooleanOperation) and isinstance(test.operator, cst.And):
            left = self._thread_interval(test.left, scope)
            right = self._thread_interval(test.right, scope)
            if left is None or right is None:
                one = left or right
                return (one[0], False) if one else None
            (a, b), (c, d) = left[0], right[0]
            return (max(a, c), min(b, d)), left[1] and right[1]
        if not isinstance(test, cst.Comparison):
            return None
        lo, hi = 0, 1 << 30
        left = self.expr(test.left, scope)
        exact = True
        for target in test.comparisons:
            right = self.expr(target.comparator, scope)
            bound = _compare_bound(left, type(target.operator).__name__, right)
            if bound is None:
                exact = False
            else:
                lo, hi = max(lo, bound[0]), min(hi, bound[1])
            left = right
        if (lo, hi) == (0, 1 << 30):
            return None
        return (lo, hi), exact

    def _kernel_small(self, small: cst.BaseSmallStatement, scope: Scope) -> None:
        self.touched = []
        before = len(self.frames[-1]) if self.frames else 0
        if isinstance(small, (cst.Assign, cst.AnnAssign)):
            if small.value is None:
                return
            value = self.expr(small.value, scope)
            targets = [t.target for t in small.targets] if isinstance(small, cst.Assign) else [small.target]
            writes: list[Access] = []
            for target in targets:
                writes.extend(self._store_target(target, value, scope))
            self._record_statement(before, writes, small, {"value": value})
        elif isinstance(small, cst.AugAssign):
            value = self.expr(small.value, scope)
            writes = self._store_target(small.target, value, scope, augmented=True)
            self._record_statement(before, writes, small, {"value": value, "augmented": True})
        elif isinstance(small, cst.Expr):
            self.expr(small.value, scope)
            self._record_statement(before, [], small)
        elif isinstance(small, cst.Return):
            value = self.expr(small.value, scope) if small.value is not None else None
            self._record_statement(before, [], small)
            raise Return(value)
        elif isinstance(small, (cst.Break, cst.Continue)):
            raise LoopControl("break" if isinstance(small, cst.Break) else "continue")
        elif isinstance(small, (cst.Import, cst.ImportFrom)):
            Evaluator.small_stmt(self, small, scope)

    def _record_statement(self, before: int, writes: list[Access], node: cst.CSTNode,
                          args: dict[str, Any] | None = None) -> None:
        """Emit an Op for a statement that touched buffers but made no tile op itself."""
        emitted = self.frames and len(self.frames[-1]) > before
        if emitted and not writes:
            return
        if not writes and not self.touched:
            return
        accesses = tuple(writes) + tuple(self.touched)
        kind = "store" if writes else "other"
        # a store keeps the value it stores (a literal, a Sym, a BufferLoad...)
        self.emit(Op(kind, "", accesses, self.span(node), dict(args or {}) if writes else {}))

    def _store_target(self, target: cst.BaseExpression, value: Any, scope: Scope,
                      augmented: bool = False) -> list[Access]:
        if isinstance(target, cst.Subscript):
            # the stored-to buffer is written, not read: look its name up without recording a use
            base = self.lookup(target.value.value, scope) if isinstance(target.value, cst.Name) else self.expr(
                target.value, scope
            )
            if isinstance(base, Buffer):
                index = [self.slice_element(el.slice, scope) for el in target.slice]
                if augmented:
                    self.touched.append(Access(base, False))
                return [Access(base, True, tuple((i, 1) for i in index))]
            Evaluator.assign(self, target, value, scope)
            return []
        if isinstance(target, cst.Name):
            current = scope.lookup(target.value)
            if isinstance(current, Buffer) and current.scope == "local.var" and not isinstance(value, Buffer):
                if augmented:
                    self.touched.append(Access(current, False))
                return [Access(current, True)]
            if isinstance(value, Buffer) and value.name == "":
                value.name = target.value
            if augmented:
                value = UNKNOWN
            Evaluator.assign(self, target, value, scope)
            return []
        if isinstance(target, (cst.Tuple, cst.List)):
            items = list(value) if isinstance(value, (list, tuple)) else [UNKNOWN] * len(target.elements)
            out: list[Access] = []
            for el, item in zip(target.elements, items):
                out.extend(self._store_target(el.value, item, scope))
            return out
        Evaluator.assign(self, target, value, scope)
        return []

    def assign(self, target: cst.BaseExpression, value: Any, scope: Scope) -> None:
        if isinstance(value, Buffer) and value.name == "" and isinstance(target, cst.Name):
            value.name = target.value
        super().assign(target, value, scope)

    # -- expressions ----------------------------------------------------------------
    def _e_Name(self, node: cst.Name, scope: Scope) -> Any:
        value = self.lookup(node.value, scope)
        if isinstance(value, Buffer) and self.in_kernel:
            self.touched.append(Access(value, False))
        return value

    def _e_Subscript(self, node: cst.Subscript, scope: Scope) -> Any:
        base = Evaluator.expr(self, node.value, scope) if not isinstance(node.value, cst.Name) else self.lookup(
            node.value.value, scope
        )
        if isinstance(base, Buffer):
            keys = [self.slice_element(el.slice, scope) for el in node.slice]
            if any(isinstance(k, PySlice) for k in keys):
                region = []
                for k, dim in zip(keys, base.shape):
                    if isinstance(k, PySlice):
                        lo = 0 if k.lower is None else k.lower
                        hi = dim if k.upper is None else k.upper
                        region.append((lo, self._minus(hi, lo)))
                    else:
                        region.append((k, 1))
                value: Any = BufferRegion(base, tuple(region))
                access = Access(base, False, tuple(region))
            else:
                value = BufferLoad(base, tuple(keys))
                access = Access(base, False, tuple((k, 1) for k in keys))
            if self.in_kernel:
                self.touched.append(access)
            return value
        if isinstance(base, ModuleRef) and t_name(base) in _TENSOR_TYPES:
            keys = [self.slice_element(el.slice, scope) for el in node.slice]
            shape = as_shape(keys[0]) if keys else None
            dtype = keys[1] if len(keys) > 1 else "float32"
            if shape is not None:
                return TensorSpec(shape, dtype, _TENSOR_TYPES[t_name(base) or "Tensor"])
            return UNKNOWN
        keys = [self.slice_element(el.slice, scope) for el in node.slice]
        return self.subscript(base, keys[0] if len(keys) == 1 else tuple(keys))

    @staticmethod
    def _minus(a: Any, b: Any) -> Any:
        exact = constant_difference(a, b)
        return exact if exact is not None else binop(cst.Subtract, a, b)

    def attribute(self, base: Any, attr: str) -> Any:
        if isinstance(base, Buffer):
            if attr == "dtype":
                return base.dtype if base.dtype is not None else UNKNOWN
            if attr == "shape":
                return tuple(base.shape)
            if attr in ("data", "access_ptr"):
                return UNKNOWN
            return UNKNOWN
        if isinstance(base, (BufferRegion, BufferLoad)):
            return self.attribute(base.buffer, attr)
        return super().attribute(base, attr)

    def _e_Call(self, node: cst.Call, scope: Scope) -> Any:
        func = self.expr(node.func, scope)
        args, kwargs = self.call_args(node, scope)
        previous = self.call_node
        self.call_node = node
        try:
            return self.call(func, args, kwargs, node)
        finally:
            self.call_node = previous

    def call(self, func: Any, args: list[Any], kwargs: dict[str, Any], node: cst.Call | None = None) -> Any:
        if isinstance(func, FunctionValue):
            # the buffers read to build the arguments belong to the calling statement: the callee's own
            # statements start their access lists afresh
            before = list(self.touched)
            result = self.call_function(func, args, kwargs)
            self.touched = before + self.touched
            return result
        return super().call(func, args, kwargs, node)

    def call_t(self, name: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        handler = _T_HANDLERS.get(name)
        if handler is not None:
            return handler(self, name, args, kwargs)
        entry = catalog.lookup(name)
        if entry is not None and entry.category == "tile_op":
            return self._tile_op(name, entry, args, kwargs)
        if name in _LOOP_KINDS:
            return self._loop_spec(name, args, kwargs)
        result = super().call_t(name, args, kwargs)
        if self.in_kernel and entry is not None and entry.category == "annotation":
            # `T.annotate_layout({A_shared: ...})` names buffers without touching them
            self.touched = []
            if name == "annotate_layout" and args and isinstance(args[0], dict):
                for key in args[0]:
                    if isinstance(key, Buffer):
                        key.layout_annotated = True
        elif self.in_kernel and entry is not None and entry.category not in ("math", "dtype"):
            self._generic_call(name, entry, args, kwargs)
        return result

    # -- T.* handlers -----------------------------------------------------------------
    def _bound(self, name: str, args: list[Any], kwargs: dict[str, Any]) -> dict[str, Any] | None:
        entry = catalog.lookup(name)
        if entry is None:
            return None
        mapping = catalog.bind(entry, args, kwargs)
        if isinstance(mapping, str):
            return None
        full = dict(defaults_of(entry))
        full.update(mapping)
        return full

    def _alloc(self, name: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        bound = self._bound(name, args, kwargs) or {}
        node = self.call_node
        if name == "alloc_var":
            dtype = as_dtype(bound.get("dtype"))
            scope_name = bound.get("scope", "local.var")
            init = bound.get("init")
            if not isinstance(scope_name, str):
                # 0.1.15 also takes the initial value positionally: alloc_var(dtype, init)
                init, scope_name = scope_name, "local.var"
            buf = Buffer("", scope_name, (1,), dtype, self.span(node), init=init)
        elif name in ("alloc_barrier", "alloc_cluster_barrier"):
            count = bound.get("arrive_count", args[0] if args else None)
            n = len(count) if isinstance(count, (list, tuple)) else 1
            buf = Buffer("", _ALLOC_SCOPES[name], (n,), DType("uint64"), self.span(node), arrive_count=count)
        else:
            shape = as_shape(bound.get("shape"))
            dtype = as_dtype(bound.get("dtype"))
            scope_name = bound.get("scope")
            if not isinstance(scope_name, str):
                scope_name = _ALLOC_SCOPES.get(name, GLOBAL)
            if name == "alloc_shared" and dtype is not None and dtype.name == "bool":
                scope_name = SHARED
            if shape is None:
                shape = (UNKNOWN,)
                self.incomplete.append(f"the shape of a T.{name} could not be evaluated")
            buf = Buffer("", scope_name, shape, dtype, self.span(node))
        buf.in_kernel = self.in_kernel
        self.buffers.append(buf)
        return buf

    def _tensor_type(self, name: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        shape = as_shape(kwargs.get("shape", args[0] if args else None))
        dtype = kwargs.get("dtype", args[1] if len(args) > 1 and name != "StridedTensor" else None)
        if name == "StridedTensor":
            dtype = kwargs.get("dtype", args[2] if len(args) > 2 else "float32")
        if dtype is None:
            dtype = "float32"
        scope_name = kwargs.get("scope") if isinstance(kwargs.get("scope"), str) else _TENSOR_TYPES[name]
        if shape is None:
            return UNKNOWN
        data = kwargs.get("data", args[2] if len(args) > 2 and name != "StridedTensor" else None)
        if self.in_kernel or data is not None:
            # `T.Tensor(shape, dtype, other.data)` in a kernel body is a view of an existing buffer
            buf = Buffer("", scope_name, shape, as_dtype(dtype), self.span(self.call_node), is_param=True)
            self.buffers.append(buf)
            return buf
        return TensorSpec(shape, dtype, scope_name)

    def _empty(self, name: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        dtype = as_dtype(kwargs.get("dtype", "float32"))
        if len(args) == 2 and isinstance(args[0], (list, tuple)) and as_dtype(args[1]) is not None:
            shape, dtype = tuple(args[0]), as_dtype(args[1])  # T.empty(shape, dtype)
        elif len(args) == 1 and isinstance(args[0], (list, tuple)):
            shape = tuple(args[0])
        else:
            shape = tuple(args)
        buf = Buffer("", GLOBAL, shape, dtype, self.span(self.call_node), is_param=True)
        self.buffers.append(buf)
        return buf

    def _view(self, name: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        """`T.reshape(buf, shape)` / `T.view(buf, shape, dtype)`: the same bytes seen differently."""
        bound = self._bound(name, args, kwargs) or {}
        src = operand_buffer(bound.get("src", args[0] if args else None))
        if src is None:
            return UNKNOWN
        shape = as_shape(bound.get("shape")) or src.shape
        dtype = as_dtype(bound.get("dtype")) or src.dtype
        view = Buffer(src.name, src.scope, shape, dtype, self.span(self.call_node), is_param=True, base=src)
        return view

    def _const(self, name: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        text = args[0] if args else kwargs.get("names")
        if not isinstance(text, str):
            return UNKNOWN
        names = [n.strip() for n in text.replace(",", " ").split() if n.strip()]
        values = []
        for n in names:
            value = self.binding.get(n, Sym(n, frozenset({n})))
            self.const_names[n] = value
            values.append(value)
        return values[0] if len(values) == 1 else tuple(values)

    def _loop_spec(self, name: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        kind = _LOOP_KINDS[name]
        if kind == "parallel" or name == "grid":
            return LoopSpec(kind, tuple(args))
        bound = self._bound(name, args, kwargs) or {}
        start = bound.get("start", args[0] if args else UNKNOWN)
        stop = bound.get("stop")
        extent = start if stop is None else self._minus(stop, start)
        spec = LoopSpec(kind, (extent,))
        if kind == "pipelined":
            stages = as_int(bound.get("num_stages", 0))
            spec.num_stages = stages if stages is not None else 0
            order, stage = bound.get("order"), bound.get("stage")
            if isinstance(order, (list, tuple)) and all(as_int(o) is not None for o in order):
                spec.order = tuple(as_int(o) for o in order)  # type: ignore[misc]
            if isinstance(stage, (list, tuple)) and all(as_int(s) is not None for s in stage):
                spec.stage = tuple(as_int(s) for s in stage)  # type: ignore[misc]
                if spec.stage:
                    spec.num_stages = max(spec.stage) + 1
        return spec

    def _tile_op(self, name: str, entry: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
        mapping = catalog.bind(entry, args, kwargs)
        if isinstance(mapping, str):
            mapping = {}
        params = [p.name for p in entry.params]
        full = dict(defaults_of(entry))
        full.update(mapping)
        write_names = {params[i] for i in entry.writes if i < len(params)}
        read_names = {params[i] for i in entry.reads if i < len(params)}
        if name == "gemm" or name.endswith("_gemm"):
            if full.get("clear_accum") is True:
                read_names.discard(params[2] if len(params) > 2 else "C")
        if name.startswith("reduce") and full.get("clear", True) is False:
            read_names |= write_names
        if name in ("cumsum", "cummax") and full.get("dst") is None:
            write_names = {params[0]}
        accesses: list[Access] = []
        operands: set[int] = set()
        for pname in params:
            value = full.get(pname)
            buf = operand_buffer(value)
            if buf is None:
                continue
            operands.add(id(buf))
            region = operand_region(value)
            if pname in write_names:
                accesses.append(Access(buf, True, region))
            if pname in read_names or pname not in write_names:
                accesses.append(Access(buf, False, region))
        # reads made inside index expressions (`A[idx[i], 0]`) belong to the op too
        for access in self.touched:
            if id(access.buffer) not in operands:
                accesses.append(access)
        self.touched = []
        if self.in_kernel:
            kind = op_kind(name)
            self.emit(Op(kind, name, tuple(accesses), self.span(self.call_node), full))
        return None

    def _generic_call(self, name: str, entry: Any, args: list[Any], kwargs: dict[str, Any]) -> None:
        """A T.* call that is neither math nor a known tile op: its buffers count as used."""
        write_names: set[str] = set()
        mapping = catalog.bind(entry, args, kwargs)
        if isinstance(mapping, dict):
            params = [p.name for p in entry.params]
            write_names = {params[i] for i in entry.writes if i < len(params)}
        else:
            mapping = {}
        accesses = list(self.touched)
        for pname, value in mapping.items():
            buf = operand_buffer(value)
            if buf is not None and pname in write_names:
                accesses.append(Access(buf, True, operand_region(value)))
        if any(a.write for a in accesses):
            self.touched = []
            self.emit(Op("call", name, tuple(accesses), self.span(self.call_node)))

    def _kernel_value(self, name: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        dim = args[0] if args else kwargs.get("dim", 0)
        return Sym(f"T.{name}()" if dim == 0 else f"T.{name}({show(dim)})", frozenset())


_T_HANDLERS: dict[str, Callable[[KernelInterpreter, str, list[Any], dict[str, Any]], Any]] = {
    **{n: KernelInterpreter._alloc for n in _ALLOC_SCOPES},
    **{n: KernelInterpreter._tensor_type for n in _TENSOR_TYPES},
    "empty": KernelInterpreter._empty,
    "reshape": KernelInterpreter._view,
    "view": KernelInterpreter._view,
    "const": KernelInterpreter._const,
    "get_thread_binding": KernelInterpreter._kernel_value,
    "get_block_binding": KernelInterpreter._kernel_value,
    "get_thread_bindings": KernelInterpreter._kernel_value,
    "get_block_bindings": KernelInterpreter._kernel_value,
    "thread_binding_var": KernelInterpreter._kernel_value,
}

_OP_KINDS = {
    "copy": "copy",
    "async_copy": "copy",
    "tma_copy": "copy",
    "c2d_im2col": "copy",
    "im2col": "copy",
    "transpose": "copy",
    "gemm": "gemm",
    "gemm_sp": "gemm",
    "wgmma_gemm": "gemm",
    "tcgen05_gemm": "gemm",
    "fill": "fill",
    "clear": "clear",
    "cumsum": "cumsum",
    "cummax": "cumsum",
}


def op_kind(name: str) -> str:
    if name in _OP_KINDS:
        return _OP_KINDS[name]
    if name.startswith("reduce") or name == "finalize_reducer":
        return "reduce"
    if name.startswith("atomic"):
        return "atomic"
    return "tile"


def interpret_site(source: SourceFile, site: Site, binding: dict[str, Any], origin: str,
                   module_scope: Scope, star_modules: list[str],
                   def_scopes: list[Scope] | None = None) -> list[KernelModel]:
    """The models of `site` at one instantiation.

    `def_scopes`, when given, collects the scopes the run defined functions in,
    for the caller to clear (Evaluator.release) once nothing is evaluated any
    more: a later site may still call a function this run made global.
    """
    interp = KernelInterpreter(source, site, binding, origin)
    interp.star_modules = list(star_modules)
    if def_scopes is not None:
        interp.def_scopes = def_scopes
    try:
        return interp.run(module_scope)
    finally:
        interp.hooks = Hooks()  # the interpreter is done: no cycle through its bound methods
