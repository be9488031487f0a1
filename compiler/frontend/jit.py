"""Kernel definitions: `@T.prim_func`, `@tilelang.jit`, `tilelang.compile`, `@autotune`.

- `@T.prim_func` on a function (module level or inside a factory) traces it
  at once into a `KernelDef` holding the tile-level PrimFunc; the function's
  source comes from the file it was loaded from (`sources`).
- `@tilelang.jit` returns a `JitFunction`. A factory (its body defines an
  inner `@T.prim_func`) is called with sizes and returns a `CompiledKernel`;
  an eager function (`T.const`, `T.Tensor` annotations, `T.empty`) is traced
  with sizes given as keywords (`.compile(M=..., block_M=...)`) or taken
  from the NumPy arrays it is called with.
- `tilelang.compile(func, out_idx=...)` returns a `CompiledKernel`.
- `@autotune(configs=...)` does no tuning: missing parameters are taken from
  the first config (the CPU back end has nothing to tune), and the choice is
  recorded on the kernel.

Everything compiles for the CPU: a `target=` naming a GPU is recorded, not
honoured.
"""

from __future__ import annotations

import ast
import inspect
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..errors import KernelError, NotSupported, located
from . import sources


@dataclass
class KernelDef:
    """A traced kernel: its tile-level PrimFunc and where it came from."""

    func: Any  # tvm.tirx.PrimFunc
    name: str
    path: str
    line: int
    out_idx: list[int] | None = None
    notes: list[str] = field(default_factory=list)
    lines: Any = None  # source_lines.LinedFunc: `func` with source-line markers, for the CUDA back end

    def script(self) -> str:
        return self.func.script()


def _closure(func: Callable) -> dict[str, Any]:
    out: dict[str, Any] = {}
    code = func.__code__
    for name, cell in zip(code.co_freevars, func.__closure__ or ()):
        try:
            out[name] = cell.cell_contents
        except ValueError:  # an empty cell: the name is assigned later in the factory
            continue
    return out


def _def_node(func: Callable) -> tuple[str, ast.FunctionDef]:
    path = func.__code__.co_filename
    node = sources.find_function(path, func.__name__, func.__code__.co_firstlineno)
    if node is None:
        raise KernelError(f"cannot find the source of '{func.__name__}' in {path}")
    return path, node


def make_prim_func(func: Callable) -> KernelDef:
    """`@T.prim_func`: trace the function now."""
    from .tracer import Tracer
    from . import language as L

    path, node = _def_node(func)
    annotations = getattr(func, "__annotations__", {})
    params: list[tuple[str, Any]] = []
    tracer = Tracer(path, node, func.__globals__, _closure(func), func.__name__)
    for arg in node.args.args:
        spec = annotations.get(arg.arg)
        if isinstance(spec, str) or spec is None and arg.annotation is not None:
            L.CONTEXT.stack.append(tracer)
            try:
                spec = tracer.expr(arg.annotation)
            finally:
                L.CONTEXT.stack.pop()
        if isinstance(spec, str) and not isinstance(spec, L.DType):
            try:
                spec = L.DType(spec)
            except NotSupported:
                pass
        if not isinstance(spec, (L.TensorSpec, L.DType)):
            raise located(path, arg, f"parameter '{arg.arg}' needs a T.Tensor(shape, dtype) annotation, or a dtype "
                          "(`n: T.int32`) for a scalar", kernel=func.__name__)
        params.append((arg.arg, spec))
    if node.args.vararg or node.args.kwarg or node.args.kwonlyargs:
        raise located(path, node, "not supported yet: *args, **kwargs or keyword-only kernel parameters", "TL950")
    prim = tracer.build(params, eager=False)
    return KernelDef(prim, func.__name__, path, node.lineno, lines=tracer.lined)


def _is_factory(node: ast.FunctionDef) -> bool:
    for inner in ast.walk(node):
        if inner is not node and isinstance(inner, ast.FunctionDef):
            for dec in inner.decorator_list:
                target = dec.func if isinstance(dec, ast.Call) else dec
                if isinstance(target, ast.Attribute) and target.attr == "prim_func":
                    return True
                if isinstance(target, ast.Name) and target.id == "prim_func":
                    return True
    return False


class JitFunction:
    """What `@tilelang.jit` returns."""

    def __init__(self, func: Callable, out_idx: Any = None, target: Any = None, defaults: dict[str, Any] | None = None):
        self.func = func
        self.out_idx = out_idx
        self.target = target
        self.defaults = dict(defaults or {})
        self.__name__ = func.__name__
        self.__doc__ = func.__doc__
        self.__wrapped__ = func
        path, node = _def_node(func)
        self.path, self.node = path, node
        self.style = "factory" if _is_factory(node) else "eager"
        self._eager_cache: list[tuple[str, dict[str, tuple[str, int, int]], CompiledKernel]] = []
        self._last_sizes: dict[str, tuple[str, int, int]] = {}

    # -- tracing
    def trace(self, *args: Any, **kwargs: Any) -> KernelDef:
        """The traced kernel for these arguments (no compilation)."""
        for key, value in self.defaults.items():
            kwargs.setdefault(key, value)
        if self.style == "factory":
            result = self.func(*args, **kwargs)
            if isinstance(result, KernelDef):
                result.out_idx = _normalize_out_idx(self.out_idx, result)
                return result
            raise KernelError(f"factory '{self.__name__}' did not return a @T.prim_func")
        return self._trace_eager(args, kwargs)

    def _trace_eager(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> KernelDef:
        import numpy as np

        from .tracer import Tracer

        sig = inspect.signature(self.func)
        try:
            bound = sig.bind_partial(*args, **{k: v for k, v in kwargs.items() if k in sig.parameters})
        except TypeError as err:
            raise KernelError(f"{self.__name__}: {err}") from None
        consts = {k: v for k, v in kwargs.items() if k not in sig.parameters}
        bound.apply_defaults()
        tracer = Tracer(self.path, self.node, self.func.__globals__, _closure(self.func), self.__name__)
        for name, value in bound.arguments.items():
            if isinstance(value, np.ndarray):
                tracer.tensor_args[name] = value
            else:
                tracer.locals[name] = value
        tensor_params = _annotated_tensors(self.node)
        missing = [n for n in sig.parameters if n not in bound.arguments and n not in tensor_params]
        if missing:
            raise KernelError(f"{self.__name__}: missing values for {', '.join(missing)}")
        for key, value in consts.items():
            tracer.const_values[key] = int(value)
        prim = tracer.build([], eager=True)
        outputs = tracer.outputs
        kdef = KernelDef(prim, self.__name__, self.path, self.node.lineno, lines=tracer.lined)
        if outputs:
            kdef.out_idx = [tracer.params.index(b) for b in outputs]
        self._last_sizes = {name: (arg, axis, tracer.const_values[name])
                            for name, (arg, axis) in tracer.const_sources.items()}
        return kdef

    def _eager_kernel(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> "CompiledKernel":
        """The built kernel for these arguments. Kernels are cached by the non-array arguments, the arrays'
        dtypes and ranks, and the T.const sizes read from the arrays; T.dynamic sizes do not rebuild."""
        import numpy as np

        sig = inspect.signature(self.func)
        try:
            bound = sig.bind_partial(*args, **{k: v for k, v in kwargs.items() if k in sig.parameters})
        except TypeError as err:
            raise KernelError(f"{self.__name__}: {err}") from None
        arrays = {n: v for n, v in bound.arguments.items() if isinstance(v, np.ndarray)}
        key = repr(sorted((n, (v.dtype.str, v.ndim) if n in arrays else v) for n, v in bound.arguments.items())
                   ) + repr(sorted((k, v) for k, v in kwargs.items() if k not in sig.parameters))
        for cached_key, sizes, kernel in self._eager_cache:
            if cached_key == key and all(arg in arrays and axis < arrays[arg].ndim and arrays[arg].shape[axis] == v
                                         for arg, axis, v in sizes.values()):
                return kernel
        kernel = self.compile(*args, **kwargs)
        self._eager_cache.append((key, dict(self._last_sizes), kernel))
        return kernel

    def get_tir(self, *args: Any, **kwargs: Any) -> Any:
        return self.trace(*args, **kwargs).func

    def get_kernel_source(self, *args: Any, **kwargs: Any) -> str:
        """TileLang's `kernel_fn.get_kernel_source(**sizes)`: the source of the kernel built for these arguments.
        On the CPU target that is the lowered TIR (`CompiledKernel.get_kernel_source`)."""
        import numpy as np

        if self.style == "eager" and any(isinstance(a, np.ndarray) for a in list(args) + list(kwargs.values())):
            return self._eager_kernel(args, kwargs).get_kernel_source()
        return self.compile(*args, **kwargs).get_kernel_source()

    def compile(self, *args: Any, **kwargs: Any) -> "CompiledKernel":
        return CompiledKernel(self.trace(*args, **kwargs))

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.style == "factory":
            return self.compile(*args, **kwargs)
        import numpy as np

        kernel = self._eager_kernel(args, kwargs)
        sig = inspect.signature(self.func)  # tensors in parameter order, given by position or keyword
        bound = sig.bind_partial(*args, **{k: v for k, v in kwargs.items() if k in sig.parameters})
        return kernel(*[a for a in bound.arguments.values() if isinstance(a, np.ndarray)])


def _annotated_tensors(node: ast.FunctionDef) -> set[str]:
    names: set[str] = set()
    for stmt in node.body:
        if isinstance(stmt, ast.AnnAssign) and stmt.value is None and isinstance(stmt.target, ast.Name):
            names.add(stmt.target.id)
    return names


def _normalize_out_idx(out_idx: Any, kdef: KernelDef) -> list[int] | None:
    if out_idx is None:
        return None
    idx = [out_idx] if isinstance(out_idx, int) else list(out_idx)
    n = len(kdef.func.params)
    out = []
    for i in idx:
        j = i + n if i < 0 else i
        if not 0 <= j < n:
            raise KernelError(f"out_idx {i} is out of range for {n} parameters")
        out.append(j)
    return out


class CompiledKernel:
    """A kernel compiled for the CPU; call it with NumPy arrays."""

    def __init__(self, kdef: KernelDef, out_idx: Any = None):
        self.kdef = kdef
        if out_idx is not None:
            kdef.out_idx = _normalize_out_idx(out_idx, kdef)
        self._runner: Any = None

    @property
    def prim_func(self) -> Any:
        return self.kdef.func

    @property
    def runner(self) -> Any:
        if self._runner is None:
            from ..runtime import build

            self._runner = build(self.kdef)
        return self._runner

    def __call__(self, *arrays: Any) -> Any:
        return self.runner(*arrays)

    def get_kernel_source(self) -> str:
        """The kernel's source for its target. The CPU target has no C or CUDA text: this is the lowered TIR
        (TVMScript of the module after `pipeline.CPU_PIPELINE`, the input of the LLVM build; `tilec build
        --emit lowered` prints the same). CUDA source comes with the CUDA back end."""
        if self._runner is not None:
            return self._runner.lowered.script()
        from ..pipeline import lower
        from ..runtime import to_module

        return lower(to_module(self.kdef)).script()


def jit(func=None, *, out_idx=None, target=None, target_host=None, execution_backend=None, verbose=None,
        pass_configs=None, debug_root_path=None, compile_flags=None):
    """`@tilelang.jit` / `@tilelang.jit(out_idx=...)`."""

    def wrap(f: Callable) -> JitFunction:
        return JitFunction(f, out_idx=out_idx, target=target)

    if func is None:
        return wrap
    return wrap(func)


def compile(func, out_idx=None, execution_backend=None, target=None, target_host=None, verbose=None,  # noqa: A001
            pass_configs=None, compile_flags=None) -> CompiledKernel:
    """`tilelang.compile(prim_func, out_idx=...)`."""
    if isinstance(func, CompiledKernel):
        return func
    if not isinstance(func, KernelDef):
        raise KernelError("tilelang.compile expects a @T.prim_func")
    return CompiledKernel(func, out_idx)


def autotune(func=None, *, configs=None, warmup=25, rep=100, timeout=100, **kwargs):
    """`@autotune(configs=...)`: no tuning on the CPU; missing parameters come from the first config."""

    def wrap(f: Any) -> Any:
        if not isinstance(f, JitFunction):
            raise NotSupported("@autotune around a function that is not @tilelang.jit")
        cfgs = configs() if callable(configs) else configs
        if not cfgs:
            raise NotSupported("@autotune without a configs list")
        first = dict(cfgs[0])
        return _Autotuned(f, first)

    if func is None:
        return wrap
    return wrap(func)


class _Autotuned(JitFunction):
    def __init__(self, inner: JitFunction, config: dict[str, Any]):
        self.__dict__.update(inner.__dict__)
        self.config = config
        self._eager_cache = []

    def missing_from_config(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        """The first config's values for the parameters (and eager `T.const` sizes) the call does not give.
        Keywords that are not parameters of the function are eager `T.const` sizes (`compile(batch=8)`)."""
        sig = inspect.signature(self.func)
        try:
            given = dict(sig.bind_partial(*args, **{k: v for k, v in kwargs.items() if k in sig.parameters}).arguments)
        except TypeError as err:
            raise KernelError(f"{self.__name__}: {err}") from None
        given.update((k, v) for k, v in kwargs.items() if k not in sig.parameters)
        return {key: value for key, value in self.config.items() if given.get(key) is None}

    def trace(self, *args: Any, **kwargs: Any) -> KernelDef:
        n_positional = len(args)
        names = list(inspect.signature(self.func).parameters)[:n_positional]
        for key, value in self.missing_from_config(args, kwargs).items():
            if key in names:  # given positionally as None: replace it there
                args = tuple(value if name == key else a for name, a in zip(names, args)) + args[len(names):]
            else:
                kwargs[key] = value
        kdef = JitFunction.trace(self, *args, **kwargs)
        kdef.notes.append(f"@autotune: not tuned on CPU; first config used where not given: {self.config}")
        return kdef


def find_path(func: Callable) -> Path:
    return Path(func.__code__.co_filename)
