"""Turn a kernel's Python body into tile-level `tvm.tirx` IR.

A kernel body is Python syntax with TileLang meaning: `for` over
`T.Parallel`/`T.Pipelined`/`T.serial`/`range` is a loop in the IR, `if` on a
symbolic condition is an IR branch, `buf[i, j] = e` is a store. The tracer
walks the function's `ast` (parsed from the user's file, never from
`inspect`) and evaluates it: Python-valued parts (sizes, dtypes, tile
parameters, helper calls) are computed in Python, symbolic parts become
`tvm.tirx` expressions, and the `T.*` calls of `language.py` emit IR through
TVM's IR builder. Every error carries the location of the node being
evaluated.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import operator
from dataclasses import dataclass
from typing import Any, Callable

import tvm
from tvm import tirx
from tvm.script.ir_builder import IRBuilder
from tvm.script.ir_builder import tirx as IB

from .. import tile_ir
from ..errors import UNSUPPORTED, CompileError, KernelError, NotSupported, located
from . import language as L, sources
from ..ir import dtype as _dt, is_buffer, is_expr


class ConstDim:
    """An eager-mode size from `T.const` not yet bound to a value, or arithmetic on such sizes.

    A size is bound when the tensor whose shape names it is declared (or by a keyword of the call). Until
    then Python arithmetic on it (`heads // groups`, `2 * seq_len`, `-n`, `n % 4`, reflected forms too) gives
    another `ConstDim` that is evaluated once its sizes are bound, so it can stand in a later tensor's shape
    (`kv_shape = [batch, seq_len, heads // groups, dim]`). Anything that needs the number itself before then
    (`if`, `int()`, `range()`, an index) is a located error naming the size.
    """

    def __init__(self, name: str, names: frozenset[str] | None = None, fn: Callable[[dict[str, int]], Any] | None = None):
        self.name = name  # the size's name, or the expression's text
        self.names = frozenset([name]) if names is None else names
        self._fn = fn

    @property
    def is_name(self) -> bool:
        return self._fn is None

    def value(self, values: dict[str, int]) -> Any:
        """The value once every size it uses is in `values`, else None."""
        if not self.names <= values.keys():
            return None
        return values[self.name] if self._fn is None else self._fn(values)

    def __repr__(self) -> str:
        return f"T.const({self.name!r})" if self.is_name else f"T.const expression ({self.name})"

    __hash__ = object.__hash__

    def _text(self) -> str:
        return self.name if self.is_name else f"({self.name})"

    def _unknown(self, what: str) -> KernelError:
        return KernelError(f"{what} needs the value of T.const size {', '.join(sorted(self.names))}, which is not "
                           "known yet here: it is read from the shape of the tensor that declares it, so declare "
                           "that tensor first or pass the size by keyword")

    def __bool__(self) -> bool:
        raise self._unknown(f"a condition on '{self.name}'")

    def __int__(self) -> int:
        raise self._unknown(f"int({self.name})")

    def __index__(self) -> int:
        raise self._unknown(f"using '{self.name}' as an integer")

    def __float__(self) -> float:
        raise self._unknown(f"float({self.name})")


def _const_operand(value: Any) -> bool:
    return isinstance(value, (ConstDim, int, float)) or isinstance(value, bool)


def _const_op(symbol: str, op: Callable[..., Any], reflected: bool = False) -> Callable[[Any, Any], Any]:
    def method(self: ConstDim, other: Any) -> Any:
        if not _const_operand(other):
            return NotImplemented
        left, right = (other, self) if reflected else (self, other)
        names = self.names | (other.names if isinstance(other, ConstDim) else frozenset())

        def text(v: Any) -> str:
            return v._text() if isinstance(v, ConstDim) else repr(v)

        def fn(values: dict[str, int], left: Any = left, right: Any = right) -> Any:
            a = left.value(values) if isinstance(left, ConstDim) else left
            b = right.value(values) if isinstance(right, ConstDim) else right
            return op(a, b)

        return ConstDim(f"{text(left)} {symbol} {text(right)}", names, fn)

    return method


def _const_unary(symbol: str, op: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def method(self: ConstDim) -> Any:
        return ConstDim(f"{symbol}{self._text()}", self.names, lambda values: op(self.value(values)))

    return method


for _sym, _name, _op in (("+", "add", operator.add), ("-", "sub", operator.sub), ("*", "mul", operator.mul),
                         ("/", "truediv", operator.truediv), ("//", "floordiv", operator.floordiv),
                         ("%", "mod", operator.mod), ("**", "pow", operator.pow), ("<<", "lshift", operator.lshift),
                         (">>", "rshift", operator.rshift), ("&", "and", operator.and_), ("|", "or", operator.or_),
                         ("^", "xor", operator.xor)):
    setattr(ConstDim, f"__{_name}__", _const_op(_sym, _op))
    setattr(ConstDim, f"__r{_name}__", _const_op(_sym, _op, reflected=True))
for _sym, _name, _op in (("<", "lt", operator.lt), ("<=", "le", operator.le), (">", "gt", operator.gt),
                         (">=", "ge", operator.ge), ("==", "eq", operator.eq), ("!=", "ne", operator.ne)):
    setattr(ConstDim, f"__{_name}__", _const_op(_sym, _op))  # a deferred comparison: its bool() is the error
for _sym, _name, _op in (("-", "neg", operator.neg), ("+", "pos", operator.pos), ("abs ", "abs", abs),
                         ("~", "invert", operator.invert)):
    setattr(ConstDim, f"__{_name}__", _const_unary(_sym, _op))
ConstDim.__divmod__ = lambda self, other: (self // other, self % other)  # type: ignore[attr-defined]
ConstDim.__rdivmod__ = lambda self, other: (other // self, other % self)  # type: ignore[attr-defined]


@dataclass
class Output:
    buffer: Any


_BINOPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow,
    ast.LShift: operator.lshift, ast.RShift: operator.rshift, ast.BitOr: operator.or_,
    ast.BitXor: operator.xor, ast.BitAnd: operator.and_,
}
_CMPOPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge,
    ast.Eq: operator.eq, ast.NotEq: operator.ne,
}
_LOOP_KINDS = {"Parallel": "parallel", "Pipelined": "serial", "serial": "serial", "unroll": "unroll",
               "vectorized": "vectorized"}


def _symbolic(value: Any) -> bool:
    return is_expr(value) or is_buffer(value)


class Tracer:
    """Builds one PrimFunc from a `FunctionDef` and the Python values it closes over."""

    def __init__(self, path: str, node: ast.FunctionDef, globals_: dict[str, Any], closure: dict[str, Any],
                 name: str):
        self.path = path
        self.node = node
        self.globals = globals_
        self.closure = closure
        self.name = name
        self.locals: dict[str, Any] = {}
        self.depth: dict[str, int] = {}
        self.level = 0  # symbolic frames (IR loops and branches) currently open
        self.kernel_open = False
        self.params: list[Any] = []
        self.outputs: list[Any] = []
        self.const_values: dict[str, int] = {}
        self.tensor_args: dict[str, Any] = {}  # eager: name -> numpy array (or None)
        self.const_sources: dict[str, tuple[str, int]] = {}  # eager: T.const size -> (array argument, axis)
        self.current: ast.AST | None = node
        self.returned: Any = None
        self._loops = []
        self.block_threads = 0  # threads of the T.Kernel block (product of threads=)
        self.ws_groups: tuple[int, ...] | None = None  # warp groups of the enclosing `with T.ws(...)`
        self.barrier_sites: list[str] = []
        self.rasterization: tuple[int, str] | None = None  # T.use_swizzle(panel, order)
        # source-line markers for the CUDA back end (compiler/source_lines.py)
        self.line_files: list[str] = []
        self.kernel_site: tuple[str, int, int] | None = None
        self.lined: Any = None  # source_lines.LinedFunc once built
        self._marking = False  # inside the T.Kernel body
        self._unmarked = 0  # open loops whose bodies get no markers (T.Parallel, T.unroll, T.vectorized)

    # ------------------------------------------------------------ entry points

    def error(self, node: ast.AST | None, message: str, code: str | None = None) -> CompileError:
        if code is None:
            return located(self.path, node or self.current, message, kernel=self.name)
        return located(self.path, node or self.current, message, code, kernel=self.name)

    def build(self, params: list[tuple[str, Any]], eager: bool) -> tirx.PrimFunc:
        """Trace the body. `params` are (name, TensorSpec) for prim_func style; eager binds them itself."""
        L.CONTEXT.stack.append(self)
        try:
            with IRBuilder() as ib:
                with IB.prim_func():
                    IB.func_name(self.name)
                    IB.func_attr({"global_symbol": self.name, "tirx.noalias": True})
                    for pname, spec in params:
                        self.locals[pname] = self.declare_param(pname, spec)
                    self.exec_body(self.node.body, top=True)
            func = ib.get()
            if self.barrier_sites:
                func = func.with_attr(tile_ir.BARRIER_SITES, list(self.barrier_sites))
            if self.rasterization is not None:
                func = func.with_attr(tile_ir.RASTERIZATION, f"{self.rasterization[1]},{self.rasterization[0]}")
            if self.LINE_MARKERS and self.kernel_site is not None:
                func = self._split_lines(func)
        except CompileError:
            raise
        except (NotSupported, KernelError) as err:
            raise self._wrap(err) from None
        finally:
            L.CONTEXT.stack.pop()
        if not self.kernel_open:
            raise self.error(self.node, f"kernel '{self.name}' has no `with T.Kernel(...)`")
        return func

    def _split_lines(self, func: tirx.PrimFunc) -> tirx.PrimFunc:
        """Keep the marked function for the CUDA back end (`self.lined`); return it without markers."""
        from .. import source_lines

        lined, count = source_lines.tidy(func)
        self.lined = source_lines.LinedFunc(lined, list(self.line_files), self.kernel_site, count)
        return source_lines.strip(func)

    def _mark_line(self, stmt: ast.stmt) -> None:
        """A source-line marker before a statement of the kernel body (compiler/source_lines.py)."""
        if not self.LINE_MARKERS or not self._marking or self._unmarked or self._inside_parallel:
            return
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
            return  # a docstring
        from .. import source_lines

        if self.path not in self.line_files:
            self.line_files.append(self.path)
        IB.evaluate(source_lines.marker_call(self.line_files.index(self.path), stmt.lineno, stmt.col_offset))

    LINE_MARKERS = True  # False: trace without markers (tests compare the two)

    def _wrap(self, err: Exception) -> CompileError:
        if isinstance(err, NotSupported):
            return self.error(self.current, f"not supported yet: {err}", UNSUPPORTED)
        return self.error(self.current, str(err))

    # ------------------------------------------------------------ parameters (also called by T.const/T.empty)

    def declare_param(self, name: str, spec: Any) -> Any:
        if isinstance(spec, L.DType):  # a scalar parameter (`max_seqlen_q: T.int32`): a variable of the function
            var = IB.arg(name, tirx.Var(name, str(spec)))
            self.params.append(var)
            return var
        if not isinstance(spec, L.TensorSpec):
            raise KernelError(f"parameter '{name}' needs a T.Tensor(shape, dtype) annotation, or a dtype for a scalar")
        shape = [self._dim(d, name, i) for i, d in enumerate(spec.shape)]
        buf = IB.arg(name, IB.Buffer(tuple(shape), spec.dtype))
        self.params.append(buf)
        return buf

    def _dim(self, d: Any, name: str, axis: int) -> int:
        if isinstance(d, ConstDim):
            value = d.value(self.const_values)
            if value is not None:
                d = value
            elif not d.is_name:
                raise KernelError(f"size {d.name} of '{name}' uses T.const size(s) "
                                  f"{', '.join(sorted(d.names - self.const_values.keys()))} not bound yet: declare "
                                  "a tensor that has each as a whole dimension first, or pass them by keyword")
            else:
                array = self.tensor_args.get(name)
                if array is None:
                    raise KernelError(f"size {d.name} of '{name}' is not bound: pass {d.name}=... or the tensor itself")
                self.const_values[d.name] = int(array.shape[axis])
                self.const_sources[d.name] = (name, axis)
                return self.const_values[d.name]
        d = L._simplify(d)
        if is_expr(d) and _dt(d).startswith(("int", "uint")):
            return d  # a T.dynamic size: bound from the array's shape at call time
        if not isinstance(d, int):
            raise KernelError(f"shape dimension {d!r} of '{name}' is not an integer")
        return d

    def const_dim(self, name: str) -> Any:
        if name not in self.const_values:
            early = self._size_from_annotations(name)
            if early is None:
                return ConstDim(name)
            self.const_values[name] = early
        return self.const_values[name]

    def _size_from_annotations(self, name: str) -> int | None:
        """Eager mode: the size `name` read off a tensor argument whose later `X: T.Tensor((.., name, ..), ..)`
        declaration names it, so sizes can be used in arithmetic before the tensors are declared."""
        for stmt in self.node.body:
            if not (isinstance(stmt, ast.AnnAssign) and stmt.value is None and isinstance(stmt.target, ast.Name)):
                continue
            array = self.tensor_args.get(stmt.target.id)
            ann = stmt.annotation
            if array is None:
                continue
            shape = None
            if isinstance(ann, ast.Call) and ann.args:
                shape = ann.args[0]
            elif isinstance(ann, ast.Subscript) and isinstance(ann.slice, ast.Tuple) and ann.slice.elts:
                shape = ann.slice.elts[0]
            dims = shape.elts if isinstance(shape, (ast.Tuple, ast.List)) else [shape]
            for axis, dim in enumerate(dims):
                if isinstance(dim, ast.Name) and dim.id == name and axis < array.ndim:
                    self.const_sources[name] = (stmt.target.id, axis)
                    return int(array.shape[axis])
        return None

    def declare_output(self, shape: tuple[Any, ...], dtype: str) -> Any:
        name = f"out{len(self.outputs)}"
        dims = []
        for d in shape:
            if isinstance(d, ConstDim):
                value = d.value(self.const_values)
                if value is None:
                    raise KernelError(f"size {d.name} is not bound yet (declare the input tensors first)")
                d = value
            dims.append(d)
        buf = self.declare_param(name, L.TensorSpec(tuple(dims), dtype))
        self.outputs.append(buf)
        return buf

    # ------------------------------------------------------------ names

    def lookup(self, name: str, node: ast.AST) -> Any:
        for scope in (self.locals, self.closure, self.globals):
            if name in scope:
                value = scope[name]
                if isinstance(value, ConstDim):
                    bound = value.value(self.const_values)
                    return value if bound is None else bound
                return value
        builtins_ = self.globals.get("__builtins__", builtins)
        if isinstance(builtins_, dict):
            if name in builtins_:
                return builtins_[name]
        elif hasattr(builtins_, name):
            return getattr(builtins_, name)
        raise self.error(node, f"undefined name '{name}'")

    def assign(self, target: ast.AST, value: Any) -> None:
        if isinstance(target, ast.Name):
            self.assign_name(target, value)
        elif isinstance(target, (ast.Tuple, ast.List)):
            if (is_expr(value) or is_buffer(value)) or not hasattr(value, "__iter__"):
                raise self.error(target, "cannot unpack a non-sequence")
            values = list(value)
            if len(values) != len(target.elts):
                raise self.error(target, f"expected {len(target.elts)} values to unpack, got {len(values)}")
            for t, v in zip(target.elts, values):
                self.assign(t, v)
        elif isinstance(target, ast.Subscript):
            self.store(target, value)
        else:
            raise self.error(target, f"not supported yet: assignment to {type(target).__name__}", UNSUPPORTED)

    def assign_name(self, target: ast.Name, value: Any) -> None:
        name = target.id
        old = self.locals.get(name)
        if is_buffer(old) and old.scope() == "local.var" and not is_buffer(value):
            IB.buffer_store(old, L._coerce(value, old.dtype), [0])
            return
        if name in self.locals and self.depth.get(name, 0) < self.level:
            raise self.error(
                target,
                f"not supported yet: reassigning '{name}' inside a T.* loop or a symbolic branch "
                "(use T.alloc_var for a scalar that changes)",
                UNSUPPORTED,
            )
        if is_buffer(value) and (value.name in ("buffer", "") or any(value.same_as(o) for o in self.outputs)):
            IRBuilder.name(name, value)
        elif is_expr(value) and not isinstance(value, (tirx.IntImm, tirx.FloatImm, tvm.ir.Var)):
            value = IRBuilder.name(name, IB.bind(value))
        self.locals[name] = value
        self.depth[name] = self.level

    def store(self, target: ast.Subscript, value: Any) -> None:
        buf = self.expr(target.value)
        if not is_buffer(buf):
            container = buf
            key = self.expr(target.slice)
            try:
                container[key] = value
            except Exception as err:  # noqa: BLE001 - a Python error in the user's code, located
                raise self.error(target, f"{type(err).__name__}: {err}") from None
            return
        indices = self.indices(buf, target.slice, target)
        if any(isinstance(i, slice) for i in indices):
            raise self.error(target, "not supported yet: storing to a slice (use T.copy or T.fill)", UNSUPPORTED)
        IB.buffer_store(buf, L._coerce(value, buf.dtype), indices)

    # ------------------------------------------------------------ statements

    def exec_body(self, body: list[ast.stmt], top: bool = False) -> None:
        for stmt in body:
            self.current = stmt
            try:
                self._mark_line(stmt)
                self.exec_stmt(stmt, top)
            except _Return as ret:
                if not top:
                    raise
                self.returned = ret.value
                return
            except CompileError:
                raise
            except (NotSupported, KernelError) as err:
                raise self._wrap(err) from None
            except (tvm.error.InternalError, RuntimeError) as err:
                raise self.error(stmt, f"TVM rejected this statement: {_first_line(err)}") from None
            except RecursionError:
                raise self.error(stmt, "expression nesting is too deep") from None
            except (TypeError, ValueError, AttributeError, IndexError, KeyError, ZeroDivisionError) as err:
                raise self.error(self.current, f"{type(err).__name__}: {err}") from None

    def exec_stmt(self, stmt: ast.stmt, top: bool) -> None:
        if isinstance(stmt, ast.Expr):
            if isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str):
                return  # docstring
            value = self.expr(stmt.value)
            if is_expr(value):
                IB.evaluate(value)
        elif isinstance(stmt, ast.Assign):
            value = self.expr(stmt.value)
            for target in stmt.targets:
                self.assign(target, value)
        elif isinstance(stmt, ast.AugAssign):
            self.aug_assign(stmt)
        elif isinstance(stmt, ast.AnnAssign):
            self.ann_assign(stmt)
        elif isinstance(stmt, ast.For):
            self.exec_for(stmt)
        elif isinstance(stmt, ast.If):
            self.exec_if(stmt)
        elif isinstance(stmt, ast.With):
            self.exec_with(stmt)
        elif isinstance(stmt, ast.While):
            self.exec_while(stmt)
        elif isinstance(stmt, (ast.Break, ast.Continue)):
            self.exec_jump(stmt)
        elif isinstance(stmt, ast.Pass):
            return
        elif isinstance(stmt, ast.Assert):
            self.exec_assert(stmt)
        elif isinstance(stmt, ast.Return):
            raise _Return(None if stmt.value is None else self.expr(stmt.value))
        elif isinstance(stmt, (ast.Import, ast.ImportFrom)):
            raise self.error(stmt, "not supported yet: import inside a kernel", UNSUPPORTED)
        else:
            raise self.error(stmt, f"not supported yet: `{type(stmt).__name__}` statement in a kernel", UNSUPPORTED)

    def exec_assert(self, stmt: ast.Assert) -> None:
        """`assert` on Python values (sizes, tile parameters) is checked while tracing, as Python would when
        TileLang runs the kernel's body; an assertion on a symbolic value would need a run-time check."""
        cond = self.expr(stmt.test)
        if is_buffer(cond) or _symbolic(cond):
            raise self.error(stmt, "not supported yet: `assert` on a symbolic value in a kernel", UNSUPPORTED)
        if not cond:
            message = "" if stmt.msg is None else self.expr(stmt.msg)
            raise self.error(stmt, f"AssertionError: {message}" if message != "" else "AssertionError")

    def aug_assign(self, stmt: ast.AugAssign) -> None:
        op = _BINOPS.get(type(stmt.op))
        if op is None:
            raise self.error(stmt, "not supported yet: this augmented assignment", UNSUPPORTED)
        target = stmt.target
        if isinstance(target, ast.Subscript):
            current = self.expr(target)
            value = self.binop(op, current, self.expr(stmt.value), stmt)
            self.store(target, value)
        elif isinstance(target, ast.Name):
            current = self.lookup(target.id, target)
            value = self.binop(op, current, self.expr(stmt.value), stmt)
            self.assign_name(target, value)
        else:
            raise self.error(stmt, "not supported yet: this augmented assignment", UNSUPPORTED)

    def ann_assign(self, stmt: ast.AnnAssign) -> None:
        if stmt.value is not None:
            self.assign(stmt.target, self.expr(stmt.value))
            return
        if not isinstance(stmt.target, ast.Name):
            raise self.error(stmt, "not supported yet: this annotation", UNSUPPORTED)
        spec = self.expr(stmt.annotation)
        if not isinstance(spec, L.TensorSpec):
            return  # a plain type annotation
        if self.kernel_open or self.level:
            raise self.error(stmt, "tensor parameters must be declared before `with T.Kernel`")
        name = stmt.target.id
        self.locals[name] = self.declare_param(name, spec)
        self.depth[name] = 0

    def loop_spec(self, node: ast.expr) -> L.LoopSpec:
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "range":
            if self.lookup("range", node.func) is builtins.range:
                args = [self.expr(a) for a in node.args]
                if node.keywords or not 1 <= len(args) <= 3:
                    raise self.error(node, "range() takes 1 to 3 positional arguments")
                if len(args) == 3:
                    L._no_step(args[2], "range")
                return L.LoopSpec("serial", [L._range(args[0], args[1] if len(args) > 1 else None)])
        value = self.expr(node)
        if isinstance(value, L.LoopSpec):
            return value
        raise self.error(node, "not supported yet: a kernel loop must iterate over T.Parallel, T.Pipelined, "
                               "T.serial, T.unroll, T.vectorized, T.grid or range", UNSUPPORTED)

    def exec_for(self, stmt: ast.For) -> None:
        if stmt.orelse:
            raise self.error(stmt, "not supported yet: for/else", UNSUPPORTED)
        spec = self.loop_spec(stmt.iter)
        targets = stmt.target.elts if isinstance(stmt.target, ast.Tuple) else [stmt.target]
        if not all(isinstance(t, ast.Name) for t in targets):
            raise self.error(stmt.target, "loop variables must be plain names")
        if len(targets) != len(spec.ranges):
            raise self.error(stmt.target, f"{len(spec.ranges)} loop variables expected, got {len(targets)}")
        saved = dict(self.locals)
        saved_depth = dict(self.depth)
        with contextlib.ExitStack() as stack:
            self.level += 1
            for k, (target, (start, extent)) in enumerate(zip(targets, spec.ranges)):
                extent = L._simplify(extent)
                if isinstance(extent, int) and extent < 0:
                    extent = 0
                ann: dict[str, Any] = {}
                if k == 0 and spec.kind in ("Parallel", "Pipelined"):
                    ann["tl.loop"] = spec.kind
                    ann.update(spec.annotations)
                maker = {"parallel": IB.parallel, "serial": IB.serial, "unroll": IB.unroll,
                         "vectorized": IB.vectorized}[_LOOP_KINDS[spec.kind]]
                stop = L._simplify(start + extent) if _symbolic(start) or _symbolic(extent) else start + extent
                var = stack.enter_context(maker(start, stop, annotations=ann or None))
                IRBuilder.name(target.id, var)
                self.locals[target.id] = var
                self.depth[target.id] = self.level
            self._parallel_depth += spec.kind == "Parallel"
            unmarked = spec.kind not in ("serial", "Pipelined")
            self._unmarked += unmarked
            self._loops.append(spec.kind)
            try:
                self.exec_body(stmt.body)
            finally:
                self._loops.pop()
                self._unmarked -= unmarked
                self._parallel_depth -= spec.kind == "Parallel"
                self.level -= 1
        self._restore(saved, saved_depth)

    MAX_PYTHON_WHILE = 10000

    def exec_while(self, stmt: ast.While) -> None:
        """A symbolic condition is a TIR `while` (re-evaluated each iteration, so it should read T.alloc_var
        cells); a Python-valued one runs at trace time, re-emitting the body per iteration."""
        if stmt.orelse:
            raise self.error(stmt, "not supported yet: while/else", UNSUPPORTED)
        cond = self.expr(stmt.test)
        if is_buffer(cond):
            cond = L._expr(cond)
        if not _symbolic(cond):
            self._loops.append(f"python@{self.level}")
            try:
                for _ in range(self.MAX_PYTHON_WHILE):
                    if not cond:
                        return
                    try:
                        self.exec_body(stmt.body)
                    except _Break:
                        return
                    except _Continue:
                        pass
                    self.current = stmt
                    cond = self.expr(stmt.test)
                    if _symbolic(cond):
                        raise self.error(stmt.test, "this while condition became symbolic after the first iteration")
            finally:
                self._loops.pop()
            raise self.error(stmt, f"while loop still running after {self.MAX_PYTHON_WHILE} iterations at trace time")
        saved, saved_depth = dict(self.locals), dict(self.depth)
        self.level += 1
        self._loops.append("while")
        try:
            with IB.While(_as_bool(cond)):
                self.exec_body(stmt.body)
        finally:
            self._loops.pop()
            self.level -= 1
        self._restore(saved, saved_depth)

    def exec_jump(self, stmt: ast.stmt) -> None:
        word = "break" if isinstance(stmt, ast.Break) else "continue"
        if not self._loops:
            raise self.error(stmt, f"`{word}` outside a loop")
        kind = self._loops[-1]
        if kind.startswith("python@"):
            if int(kind.split("@")[1]) != self.level:
                raise self.error(stmt, f"not supported yet: `{word}` under a symbolic condition in a while loop "
                                       "that runs at trace time", UNSUPPORTED)
            raise _Break() if word == "break" else _Continue()
        if kind not in ("serial", "Pipelined", "while"):
            raise self.error(stmt, f"not supported yet: `{word}` in a T.{kind} loop (use T.serial or while)",
                             UNSUPPORTED)
        IB.evaluate((IB.break_loop if word == "break" else IB.continue_loop)())

    _parallel_depth = 0
    _loops: list[str] = []  # kinds of the loops open around the statement being traced (set per tracer)

    @property
    def _inside_parallel(self) -> bool:
        return self._parallel_depth > 0

    def _restore(self, saved: dict[str, Any], saved_depth: dict[str, int]) -> None:
        """Names bound inside an IR frame do not outlive it (their IR variables are out of scope)."""
        self.locals.clear()
        self.locals.update(saved)
        self.depth.clear()
        self.depth.update(saved_depth)

    def exec_if(self, stmt: ast.If) -> None:
        cond = self.expr(stmt.test)
        if is_buffer(cond):
            cond = L._expr(cond)
        if not is_expr(cond):
            self.exec_body(stmt.body if cond else stmt.orelse)
            return
        if isinstance(cond, tirx.IntImm):
            self.exec_body(stmt.body if cond.value else stmt.orelse)
            return
        if _dt(cond) != "bool":
            cond = tirx.NE(cond, tirx.const(0, _dt(cond)))
        saved, saved_depth = dict(self.locals), dict(self.depth)
        self.level += 1
        try:
            with IB.If(cond):
                with IB.Then():
                    self.exec_body(stmt.body)
                    self._restore(saved, saved_depth)
                if stmt.orelse:
                    with IB.Else():
                        self.exec_body(stmt.orelse)
                        self._restore(saved, saved_depth)
        finally:
            self.level -= 1
        self._restore(saved, saved_depth)

    # ------------------------------------------------------------ T.ws and barrier operations

    def exec_ws(self, stmt: ast.With, spec: L.WarpSpecializeSpec) -> None:
        """`with T.ws(g, ...)`: on the GPU the body runs only in threads [128 g, 128 (g + 1)) of the block;
        on the CPU a block is one thread that runs every role in program order. The attribute keeps the
        roles visible in the tile IR, and barrier arrivals inside count the group's threads."""
        if not self.kernel_open:
            raise KernelError("T.ws must be inside `with T.Kernel(...)`")
        if self.ws_groups is not None:
            raise NotSupported("T.ws nested inside T.ws")
        if self._inside_parallel:
            raise NotSupported("T.ws inside T.Parallel")
        if stmt.items[0].optional_vars is not None:
            raise NotSupported("`with T.ws(...) as name`")
        if self.threads_in(spec.groups) == 0:
            raise NotSupported(f"T.ws{spec.groups}: the block has {self.block_threads} threads, so no thread is "
                               "in these warp groups and the body would never run")
        self.ws_groups = spec.groups
        saved, saved_depth = dict(self.locals), dict(self.depth)
        self.level += 1
        try:
            with IB.attr(tirx.const(0, "int32"), tile_ir.WARP_SPECIALIZE, ",".join(map(str, spec.groups))):
                self.exec_body(stmt.body)
        finally:
            self.level -= 1
            self.ws_groups = None
        self._restore(saved, saved_depth)

    def threads_in(self, groups: tuple[int, ...]) -> int:
        size = L.WARP_GROUP_SIZE
        return sum(max(0, min((g + 1) * size, self.block_threads) - g * size) for g in groups)

    def arriving_threads(self) -> int:
        """Threads that execute a barrier arrive here: the enclosing T.ws groups' threads, else the block's."""
        if self.ws_groups is None:
            return self.block_threads
        return self.threads_in(self.ws_groups)

    def barrier_site(self, bar: Any) -> int:
        """Record where a barrier operation is (for run-time errors); its index goes into the tile IR."""
        import json

        node = self.current
        text = ast.unparse(node) if isinstance(node, ast.AST) else ""
        self.barrier_sites.append(json.dumps({
            "path": self.path, "line": getattr(node, "lineno", 0), "col": getattr(node, "col_offset", 0),
            "text": text, "barrier": bar.source.name, "count": int(bar.source.shape[0]),
        }))
        return len(self.barrier_sites) - 1

    def exec_with(self, stmt: ast.With) -> None:
        if len(stmt.items) != 1:
            raise self.error(stmt, "not supported yet: `with` over several items", UNSUPPORTED)
        item = stmt.items[0]
        spec = self.expr(item.context_expr)
        if isinstance(spec, L.WarpSpecializeSpec):
            self.exec_ws(stmt, spec)
            return
        if not isinstance(spec, L.KernelSpec):
            raise self.error(item.context_expr, "not supported yet: `with` other than T.Kernel", UNSUPPORTED)
        if self.kernel_open:
            raise self.error(stmt, "not supported yet: a second T.Kernel in one function", UNSUPPORTED)
        if self.level:
            raise self.error(stmt, "T.Kernel must not be inside a loop or a branch")
        self.kernel_open = True
        self.kernel_site = (self.path, stmt.lineno, stmt.col_offset)
        self.block_threads = 1
        for t in spec.threads:
            self.block_threads *= int(t)
        tags = ["blockIdx.x", "blockIdx.y", "blockIdx.z"][: len(spec.blocks)]
        names: list[str] = []
        if item.optional_vars is not None:
            ov = item.optional_vars
            elts = ov.elts if isinstance(ov, (ast.Tuple, ast.List)) else [ov]
            if not all(isinstance(e, ast.Name) for e in elts):
                raise self.error(ov, "block variables must be plain names")
            names = [e.id for e in elts]  # type: ignore[attr-defined]
            if len(spec.blocks) == 1 and len(names) != 1 or len(spec.blocks) > 1 and len(names) != len(spec.blocks):
                raise self.error(ov, f"T.Kernel with {len(spec.blocks)} grid extents binds {len(spec.blocks)} names")
        extents = []
        for b in spec.blocks:
            b = L._simplify(L._expr(b) if is_buffer(b) else b)
            if isinstance(b, int) and b <= 0:
                raise KernelError(f"grid extent {b} is not positive")
            if not isinstance(b, int) and not (is_expr(b) and _dt(b).startswith(("int", "uint"))):
                raise KernelError(f"grid extent {b!r} is not an integer")
            extents.append(b)
        vars_: dict[int, Any] = {}
        with contextlib.ExitStack() as stack:
            for axis in reversed(range(len(extents))):
                ann = {"tl.threads": list(spec.threads)} if axis == 0 else None
                var = stack.enter_context(IB.thread_binding(0, extents[axis], thread=tags[axis], annotations=ann))
                IRBuilder.name(names[axis] if axis < len(names) else f"b{'xyz'[axis]}", var)
                vars_[axis] = var
            for axis, name in enumerate(names):
                self.locals[name] = vars_[axis]
                self.depth[name] = 0
            self._marking = True
            try:
                self.exec_body(stmt.body)
            finally:
                self._marking = False

    # ------------------------------------------------------------ T.macro

    def call_macro(self, macro: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
        """Inline a `@T.macro` at the call: its body is traced here with the arguments bound to its
        parameters and its own globals and closure (names resolve where the macro was written)."""
        import inspect as _inspect

        from .jit import _closure

        func = macro.func
        path = func.__code__.co_filename
        node = sources.find_function(path, func.__name__, func.__code__.co_firstlineno)
        if node is None:
            raise KernelError(f"cannot find the source of macro '{func.__name__}' in {path}")
        try:
            bound = _inspect.signature(func).bind(*args, **kwargs)
        except TypeError as err:
            raise KernelError(f"macro '{func.__name__}': {err}") from None
        bound.apply_defaults()
        saved = (self.path, self.node, self.globals, self.closure, self.locals, self.depth, self.returned, self.current)
        self.path, self.node, self.globals, self.closure = path, node, func.__globals__, _closure(func)
        self.locals = dict(bound.arguments)
        self.depth = {n: self.level for n in self.locals}
        self.returned = None
        saved_loops, self._loops = self._loops, []
        self._macro_depth += 1
        if self._macro_depth > 64:
            raise KernelError(f"macro '{func.__name__}' nests more than 64 deep (recursive?)")
        try:
            self.exec_body(node.body, top=True)
            return self.returned
        finally:
            self._loops = saved_loops
            self._macro_depth -= 1
            self.path, self.node, self.globals, self.closure, self.locals, self.depth, self.returned, self.current = saved

    _macro_depth = 0

    # ------------------------------------------------------------ expressions

    def expr(self, node: ast.expr) -> Any:
        method = getattr(self, "expr_" + type(node).__name__, None)
        if method is None:
            raise self.error(node, f"not supported yet: `{type(node).__name__}` expression in a kernel", UNSUPPORTED)
        try:
            return method(node)
        except CompileError:
            raise
        except NotSupported as err:
            raise self.error(node, f"not supported yet: {err}", UNSUPPORTED) from None
        except KernelError as err:
            raise self.error(node, str(err)) from None
        except (tvm.error.InternalError, RuntimeError) as err:
            raise self.error(node, f"TVM rejected this expression: {_first_line(err)}") from None
        except RecursionError:
            raise self.error(node, "expression nesting is too deep") from None
        except (TypeError, ValueError, AttributeError, IndexError, KeyError, ZeroDivisionError,
                ArithmeticError) as err:
            raise self.error(node, f"{type(err).__name__}: {err}") from None

    def expr_Constant(self, node: ast.Constant) -> Any:
        return node.value

    def expr_Name(self, node: ast.Name) -> Any:
        return self.lookup(node.id, node)

    def expr_Attribute(self, node: ast.Attribute) -> Any:
        base = self.expr(node.value)
        if base is L:
            return getattr(L, node.attr)  # NotSupported for catalog names not implemented
        if is_buffer(base) and node.attr in ("shape", "dtype", "name"):
            value = getattr(base, node.attr)
            if node.attr == "shape":
                return tuple(_dim_value(d) for d in value)
            return str(value)
        if is_expr(base) and node.attr == "astype":
            return lambda dtype: L._coerce(base, L.dtype_of(dtype))
        if is_buffer(base) and node.attr == "astype" and base.scope() == "local.var":
            return lambda dtype: L._coerce(base, L.dtype_of(dtype))
        return getattr(base, node.attr)

    def expr_Call(self, node: ast.Call) -> Any:
        func = self.expr(node.func)
        args: list[Any] = []
        for a in node.args:
            if isinstance(a, ast.Starred):
                args.extend(self.expr(a.value))
            else:
                args.append(self.expr(a))
        kwargs: dict[str, Any] = {}
        for kw in node.keywords:
            if kw.arg is None:
                kwargs.update(self.expr(kw.value))
            else:
                kwargs[kw.arg] = self.expr(kw.value)
        if func is builtins.range:
            raise NotSupported("range() outside a `for` header")
        if func in (builtins.len,) and args and is_buffer(args[0]):
            return _dim_value(args[0].shape[0])
        if isinstance(func, L.Macro):
            self.current = node
            return self.call_macro(func, args, kwargs)
        if func in (builtins.max, builtins.min) and any(_symbolic(a) for a in args):
            raise NotSupported(f"Python {func.__name__}() of symbolic values (use T.{func.__name__})")
        if func in (builtins.float, builtins.int, builtins.bool) and args and _symbolic(args[0]):
            return L._coerce(args[0], {float: "float32", int: "int32", bool: "bool"}[func])
        self.current = node
        return func(*args, **kwargs)

    def indices(self, buf: Any, index_node: ast.expr, node: ast.AST) -> list[Any]:
        raw = self.expr(index_node)
        items = list(raw) if isinstance(raw, tuple) else [raw]
        if len(items) != len(buf.shape):
            raise self.error(node, f"buffer '{buf.name}' has {len(buf.shape)} dimensions, indexed with {len(items)}")
        out: list[Any] = []
        for axis, item in enumerate(items):
            if isinstance(item, slice):
                out.append(item)
                continue
            if is_buffer(item):
                item = L._expr(item)
            if isinstance(item, int) and not isinstance(item, bool):
                if item < 0:
                    item = item + _dim_value(buf.shape[axis])
                item = tirx.const(item, "int32")
            if not is_expr(item) or not _dt(item).startswith(("int", "uint")):
                raise self.error(node, f"index {item!r} of '{buf.name}' is not an integer")
            out.append(item)
        return out

    def expr_Subscript(self, node: ast.Subscript) -> Any:
        base = self.expr(node.value)
        if isinstance(base, (L._TensorType, L._BufferType)):
            return base[self.expr(node.slice)]
        if not is_buffer(base):
            return base[self.expr(node.slice)]
        items = self.indices(base, node.slice, node)
        if not any(isinstance(i, slice) for i in items):
            return tirx.BufferLoad(base, items)
        mins: list[Any] = []
        extents: list[int] = []
        for axis, item in enumerate(items):
            dim = _dim_value(base.shape[axis])
            if not isinstance(item, slice):
                mins.append(item)
                extents.append(1)
                continue
            if item.step is not None:
                raise NotSupported("a slice with a step")
            start = 0 if item.start is None else item.start
            stop = dim if item.stop is None else item.stop
            if isinstance(start, int) and start < 0:
                start += dim
            if isinstance(stop, int) and stop < 0:
                stop += dim
            extent = L._simplify(stop - start) if _symbolic(start) or _symbolic(stop) else stop - start
            if not isinstance(extent, int):
                raise NotSupported(f"a region of symbolic extent {extent}")
            if extent <= 0:
                raise KernelError(f"empty region of '{base.name}' along dimension {axis}")
            mins.append(start)
            extents.append(extent)
        return L.Region(base, tuple(mins), tuple(extents))

    def expr_Slice(self, node: ast.Slice) -> slice:
        if node.step is not None:
            raise NotSupported("a slice with a step")
        lower = None if node.lower is None else self._scalar(self.expr(node.lower))
        upper = None if node.upper is None else self._scalar(self.expr(node.upper))
        return slice(lower, upper)

    def _scalar(self, value: Any) -> Any:
        if is_buffer(value):
            return L._expr(value)
        return value

    def expr_Tuple(self, node: ast.Tuple) -> tuple[Any, ...]:
        out: list[Any] = []
        for e in node.elts:
            if isinstance(e, ast.Starred):
                out.extend(self.expr(e.value))
            else:
                out.append(self.expr(e))
        return tuple(out)

    def expr_List(self, node: ast.List) -> list[Any]:
        return list(self.expr_Tuple(node))  # type: ignore[arg-type]

    def expr_Dict(self, node: ast.Dict) -> dict[Any, Any]:
        if any(k is None for k in node.keys):
            raise NotSupported("dict unpacking")
        return {self.expr(k): self.expr(v) for k, v in zip(node.keys, node.values)}  # type: ignore[arg-type]

    def binop(self, op: Callable[[Any, Any], Any], a: Any, b: Any, node: ast.AST) -> Any:
        if _symbolic(a) or _symbolic(b):
            if not (op in (operator.and_, operator.or_, operator.xor) and _is_bool(a) and _is_bool(b)):
                a, b = _unbool(a), _unbool(b)  # Python: True + 1 == 2; only &, |, ^ of two bools stay bool
            a, b = L._pair(a, b)
            if op is operator.truediv and _dt(a).startswith(("int", "uint")):
                raise KernelError("`/` between integers in a kernel: use // (floor division) or cast to float")
            if op is operator.pow:
                return L.pow(a, b)
            if op is operator.floordiv:
                return tirx.floordiv(a, b)
            if op is operator.mod:
                return tirx.floormod(a, b)
        return op(a, b)

    def expr_BinOp(self, node: ast.BinOp) -> Any:
        op = _BINOPS.get(type(node.op))
        if op is None:
            raise NotSupported(f"operator {type(node.op).__name__}")
        return self.binop(op, self.expr(node.left), self.expr(node.right), node)

    def expr_UnaryOp(self, node: ast.UnaryOp) -> Any:
        value = self.expr(node.operand)
        if is_buffer(value):
            value = L._expr(value)
        if isinstance(node.op, ast.Not):
            return tirx.Not(_as_bool(value)) if _symbolic(value) else not value
        if isinstance(node.op, ast.USub):
            return -value
        if isinstance(node.op, ast.UAdd):
            return +value
        return ~value

    def expr_Compare(self, node: ast.Compare) -> Any:
        left = self.expr(node.left)
        result: Any = True
        for op_node, right_node in zip(node.ops, node.comparators):
            right = self.expr(right_node)
            op = _CMPOPS.get(type(op_node))
            if op is None:
                if isinstance(op_node, (ast.Is, ast.IsNot, ast.In, ast.NotIn)) and not (_symbolic(left) or _symbolic(right)):
                    value = {ast.Is: operator.is_, ast.IsNot: operator.is_not,
                             ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b}[type(op_node)](left, right)
                else:
                    raise NotSupported(f"comparison {type(op_node).__name__} of symbolic values")
            elif _symbolic(left) or _symbolic(right):
                a, b = _promote(*L._pair(_unbool(left), _unbool(right)))
                value = {ast.Eq: tirx.EQ, ast.NotEq: tirx.NE, ast.Lt: tirx.LT, ast.LtE: tirx.LE,
                         ast.Gt: tirx.GT, ast.GtE: tirx.GE}[type(op_node)](a, b)
            else:
                value = op(left, right)
            result = value if result is True else _and(result, value)
            left = right
        return result

    def expr_BoolOp(self, node: ast.BoolOp) -> Any:
        is_and = isinstance(node.op, ast.And)
        acc: Any = None
        for value_node in node.values:
            value = self.expr(value_node)
            if is_buffer(value):
                value = L._expr(value)
            if not _symbolic(value) and acc is None:
                if is_and and not value:
                    return value
                if not is_and and value:
                    return value
                continue
            if not _symbolic(value):
                if is_and and not value:
                    return False
                if not is_and and value:
                    return True
                continue
            acc = _as_bool(value) if acc is None else (tirx.And(acc, _as_bool(value)) if is_and else tirx.Or(acc, _as_bool(value)))
        if acc is None:
            return is_and
        return acc

    def expr_IfExp(self, node: ast.IfExp) -> Any:
        cond = self.expr(node.test)
        if not _symbolic(cond):
            return self.expr(node.body) if cond else self.expr(node.orelse)
        return L.if_then_else(_as_bool(L._expr(cond)), self.expr(node.body), self.expr(node.orelse))


def _dim_value(d: Any) -> Any:
    """A buffer dimension as a Python int, or the symbolic size (T.dynamic) it is."""
    return int(d.value) if isinstance(d, tirx.IntImm) else d


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


class _Return(Exception):
    def __init__(self, value: Any):
        self.value = value


def _as_bool(value: Any) -> Any:
    if is_expr(value) and _dt(value) != "bool":
        return tirx.NE(value, tirx.const(0, _dt(value)))
    return value


def _is_bool(value: Any) -> bool:
    if is_buffer(value):
        return str(value.dtype) == "bool"
    return isinstance(value, bool) or is_expr(value) and _dt(value) == "bool"


def _unbool(value: Any) -> Any:
    """A boolean symbolic value as int32, for comparisons and arithmetic. Python compares and adds bools as
    integers (`mask[i] != 0`, `True == 1`, `flag + 1`); TIR would keep the operation in `bool`, which has
    Python's meaning only for `and`/`or`/`not`, and TVM's LLVM code generator emits a floating-point compare
    (`fcmp one i1`) for `==`/`!=` on `bool` operands, which LLVM rejects."""
    if is_buffer(value):
        value = L._expr(value)
    if is_expr(value) and _dt(value) == "bool":
        return tirx.Cast("int32", value)
    return value


def _promote(a: Any, b: Any) -> tuple[Any, Any]:
    """Two operands of a comparison in one dtype (TIR's comparison nodes require it): a float side makes
    both float (the wider float if both are), otherwise the wider integer type."""
    da, db = _dt(a), _dt(b)
    if da == db:
        return a, b
    fa, fb = da.startswith(("float", "bfloat")), db.startswith(("float", "bfloat"))
    if fa != fb:
        target = da if fa else db
    elif L._BITS.get(da, 32) != L._BITS.get(db, 32):
        target = da if L._BITS.get(da, 32) > L._BITS.get(db, 32) else db
    else:  # float16 and bfloat16, or int32 and uint32
        target = "float32" if fa else ("int64" if L._BITS.get(da, 32) < 64 else da)
    return L._coerce(a, target), L._coerce(b, target)


def _and(a: Any, b: Any) -> Any:
    if not _symbolic(a):
        return b if a else False
    if not _symbolic(b):
        return a if b else False
    return tirx.And(a, b)


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    lines = [ln for ln in text if ln.strip() and not ln.startswith(("Traceback", "  File", "note:"))]
    return (lines[-1] if lines else type(err).__name__)[:300]
