"""`compiler.load(path)`: run a user's TileLang file against the compiler's own `T.*`.

While the file runs, `import tilelang`, `import tilelang.language as T`,
`from tilelang import language as T`, `import tilelang as tl` (then
`tl.language`), `from tilelang.language import Kernel`,
`from tilelang.language.<sub> import ...`, `from tilelang.autotuner import
autotune`, `tilelang.cdiv` / `tilelang.math.cdiv` / `tilelang.utils.cdiv` and
`tilelang.math.next_power_of_2`
resolve to modules built from `compiler.frontend` (the forms the analyzer
resolves, `analyzer/evaluate.py`). A scoped meta-path finder serves them and
any `tilelang*` entries of `sys.modules` are set aside for the duration and
put back afterwards: nothing named `tilelang` is installed, and a real
TileLang, if present, is untouched. `tilelang.testing` and
`tilelang.utils.tensor` (`torch_assert_close`, `set_random_seed`, the
`requires_*` markers) come from `frontend/hostlib.py`; `tilelang.profiler`,
`tilelang.tools`, `tilelang.carver`, `tilelang.engine.callback` and
`tilelang.autotuner.AutoTuner` import as placeholders that raise "not
supported yet" where they are used. Other `tilelang.*` submodules fail to
import with a located "not supported yet". The file's directory is first on
`sys.path` while it runs, as for `python file.py`.
"""

from __future__ import annotations

import ast
import importlib.abc
import importlib.machinery
import sys
import threading
import types
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .errors import KERNEL_ERROR, LOAD_ERROR, UNSUPPORTED, CompileError, KernelError, NotSupported, at_line

_LOCK = threading.RLock()


@dataclass
class LoadedFile:
    """A user's file after it ran: its namespace and its kernel entry points."""

    path: str
    source: str
    tree: ast.Module
    namespace: dict[str, Any]
    kernels: dict[str, Any] = field(default_factory=dict)  # name -> JitFunction | KernelDef | factory

    def __getitem__(self, name: str) -> Any:
        return self.namespace[name]


def _build_modules() -> dict[str, types.ModuleType]:
    from .frontend import hostlib, jit, language

    lang = language
    pkg = types.ModuleType("tilelang")
    pkg.__path__ = []  # a package, so submodule imports go through the finder
    pkg.language = lang
    pkg.jit = jit.jit
    pkg.compile = jit.compile
    pkg.autotune = jit.autotune
    pkg.cdiv = lang.ceildiv
    pkg.PassConfigKey = _PassConfigKey()
    pkg.__tilelsp_compiler__ = True

    def disable_cache() -> None:
        return None

    pkg.disable_cache = disable_cache

    def _unsupported(name: str):
        def __getattr__(attr: str):
            if attr.startswith("__"):
                raise AttributeError(attr)
            raise NotSupported(f"{name}.{attr}")

        return __getattr__

    pkg.__getattr__ = _unsupported("tilelang")
    autotuner = types.ModuleType("tilelang.autotuner")
    autotuner.__path__ = []
    autotuner.autotune = jit.autotune
    for name in ("AutoTuner", "set_autotune_inputs"):  # tuning runs on a GPU: "not supported yet" when used
        setattr(autotuner, name, hostlib.Unsupported(f"tilelang.autotuner.{name}"))
    autotuner.__getattr__ = _unsupported("tilelang.autotuner")
    pkg.autotuner = autotuner
    mods = {"tilelang": pkg, "tilelang.language": lang, "tilelang.autotuner": autotuner}
    for sub in ("math", "utils"):
        m = types.ModuleType(f"tilelang.{sub}")
        m.__path__ = []
        m.cdiv = lang.ceildiv
        if sub == "math":
            m.next_power_of_2 = _next_power_of_2
        m.__getattr__ = _unsupported(f"tilelang.{sub}")
        setattr(pkg, sub, m)
        mods[f"tilelang.{sub}"] = m
    layout = types.ModuleType("tilelang.layout")
    layout.__path__ = []
    layout.Layout = lang.Layout
    for kind in ("swizzled", "wgmma_swizzled", "full_bank_swizzled", "half_bank_swizzled",
                 "quarter_bank_swizzled"):
        setattr(layout, f"make_{kind}_layout", _layout_maker(lang, kind))
    layout.__getattr__ = _unsupported("tilelang.layout")
    pkg.layout = layout
    mods["tilelang.layout"] = layout
    jit_mod = types.ModuleType("tilelang.jit")
    jit_mod.jit = jit.jit
    jit_mod.compile = jit.compile
    jit_mod.__getattr__ = _unsupported("tilelang.jit")
    mods["tilelang.jit"] = jit_mod
    mods["tilelang.testing"] = hostlib.testing_module()
    mods["tilelang.utils.tensor"] = hostlib.utils_tensor_module()
    for name, names in hostlib.PLACEHOLDER_MODULES.items():
        mods[name] = hostlib.placeholder_module(name, names)
    for name in ("tilelang.tileop", "tilelang.tileop.base"):  # where TileLang defines GemmWarpPolicy
        m = types.ModuleType(name)
        m.__path__ = []
        m.GemmWarpPolicy = lang.GemmWarpPolicy
        m.__getattr__ = _unsupported(name)
        mods[name] = m
    return mods


def _next_power_of_2(x: int) -> int:
    """`tilelang.math.next_power_of_2`: the smallest power of two not below x (x >= 1)."""
    return 1 << (int(x) - 1).bit_length()


def _layout_maker(lang: Any, kind: str) -> Any:
    """`tilelang.layout.make_<kind>_layout(buffer, ...)`: a plain layout value for `T.annotate_layout`."""

    def make(buffer: Any, *args: Any, **kwargs: Any) -> Any:
        if not lang.is_buffer(buffer):
            raise KernelError(f"tilelang.layout.make_{kind}_layout expects a buffer, got {buffer!r}")
        return lang.SwizzledLayout(buffer, kind, args=args, **kwargs)

    make.__name__ = f"make_{kind}_layout"
    return make


class _PassConfigKey:
    """`tilelang.PassConfigKey.X`: pass configs only tune GPU lowering; the key is kept as a string."""

    def __getattr__(self, name: str) -> str:
        if name.startswith("__"):
            raise AttributeError(name)
        return name


class _Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def __init__(self, modules: dict[str, types.ModuleType]):
        self.modules = modules

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname != "tilelang" and not fullname.startswith("tilelang."):
            return None
        return importlib.machinery.ModuleSpec(fullname, self)

    def create_module(self, spec: Any) -> types.ModuleType:
        name = spec.name
        if name in self.modules:
            return self.modules[name]
        if name.startswith(("tilelang.language.", "tilelang.cuda.language")) or name == "tilelang.cuda":
            return self.modules["tilelang.language"]
        raise NotSupported(f"import {name}")

    def exec_module(self, module: types.ModuleType) -> None:
        return None


class _Scope:
    """Install the finder and hide real `tilelang*` modules; undo both on exit."""

    def __enter__(self) -> "_Scope":
        _LOCK.acquire()
        self.saved = {k: v for k, v in sys.modules.items() if k == "tilelang" or k.startswith("tilelang.")}
        for k in self.saved:
            del sys.modules[k]
        self.finder = _Finder(_build_modules())
        sys.meta_path.insert(0, self.finder)
        return self

    def __exit__(self, *exc: Any) -> None:
        try:
            sys.meta_path.remove(self.finder)
        except ValueError:
            pass
        for k in [k for k in sys.modules if k == "tilelang" or k.startswith("tilelang.")]:
            del sys.modules[k]
        sys.modules.update(self.saved)
        _LOCK.release()


def scope() -> _Scope:
    """A context in which `tilelang*` imports resolve to the compiler (used by `load` and by callers
    that call a loaded file's functions, which may import lazily)."""
    return _Scope()


def load(path: str | Path) -> LoadedFile:
    """Run the file at `path` with `tilelang` mapped to the compiler; raise `CompileError` when it fails."""
    from .frontend import sources

    p = Path(path).resolve()
    spath = str(p)
    try:
        source = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise at_line(spath, 1, 0, f"cannot read file: {err}") from None
    try:
        tree = ast.parse(source, filename=spath)
        code = compile(tree, spath, "exec", dont_inherit=True)
    except SyntaxError as err:
        raise at_line(spath, err.lineno or 1, (err.offset or 1) - 1, f"syntax error: {err.msg}") from None
    except ValueError as err:  # e.g. NUL bytes
        raise at_line(spath, 1, 0, f"cannot parse file: {err}") from None
    sources.register(spath, source, tree)
    namespace: dict[str, Any] = {"__name__": f"tilec_user_{abs(hash(spath))}", "__file__": spath,
                                 "__builtins__": __builtins__}
    with scope(), _script_dir(p.parent):
        try:
            exec(code, namespace)  # noqa: S102 - compiling a kernel file means running it (trusted workspaces)
        except CompileError:
            raise
        except NotSupported as err:
            raise _at_traceback(spath, err, f"not supported yet: {err}", UNSUPPORTED) from None
        except KernelError as err:
            raise _at_traceback(spath, err, str(err)) from None
        except ImportError as err:
            raise _at_traceback(spath, err, f"import failed: {err}", LOAD_ERROR) from None
        except SystemExit as err:
            raise _at_traceback(spath, err, f"the file called exit({err.code})", LOAD_ERROR) from None
        except Exception as err:  # noqa: BLE001 - the user's module-level code failed; report where
            raise _at_traceback(spath, err, f"{type(err).__name__} while loading: {err}", LOAD_ERROR) from None
    loaded = LoadedFile(spath, source, tree, namespace)
    loaded.kernels = find_kernels(loaded)
    return loaded


class _script_dir:
    """The file's directory first on `sys.path` while it runs (as `python file.py` has it), so sibling
    modules (`from utils import ...`) import; those modules are dropped from `sys.modules` afterwards so
    that a later file's `utils` is its own."""

    def __init__(self, directory: Path):
        self.dir = str(directory)

    def __enter__(self) -> None:
        self.before = set(sys.modules)
        sys.path.insert(0, self.dir)

    def __exit__(self, *exc: Any) -> None:
        try:
            sys.path.remove(self.dir)
        except ValueError:
            pass
        prefix = self.dir.rstrip("/") + "/"
        for name in [n for n in sys.modules if n not in self.before]:
            f = getattr(sys.modules[name], "__file__", None) or ""
            if f.startswith(prefix):
                del sys.modules[name]


def _at_traceback(path: str, err: BaseException, message: str, code: str = "TL951") -> CompileError:
    line = 1
    tb = err.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == path:
            line = tb.tb_lineno
        tb = tb.tb_next
    return at_line(path, line, 0, message, code)


def find_kernels(loaded: LoadedFile) -> dict[str, Any]:
    """Module-level kernel entry points: `@tilelang.jit` functions, `@T.prim_func`s and factories."""
    from .frontend.jit import JitFunction, KernelDef, _is_factory

    out: dict[str, Any] = {}
    for node in loaded.tree.body:
        if not isinstance(node, ast.FunctionDef):
            continue
        value = loaded.namespace.get(node.name)
        if isinstance(value, (JitFunction, KernelDef)):
            out[node.name] = value
        elif callable(value) and _is_factory(node):
            out[node.name] = value
    return out


def instantiate(loaded: LoadedFile, request: str) -> Any:
    """Trace the kernel named by `request` ('matmul(1024, 1024, 1024, 128, 128, 32)'); returns a KernelDef."""

    try:
        call = ast.parse(request.strip(), mode="eval").body
    except SyntaxError as err:
        raise KernelError(f"cannot parse instantiation {request!r}: {err.msg}") from None
    if isinstance(call, ast.Name):
        call = ast.Call(func=call, args=[], keywords=[])
    if not isinstance(call, ast.Call) or not isinstance(call.func, ast.Name):
        raise KernelError(f"instantiation must be a call like 'matmul(1024, 1024, 128)', got {request!r}")
    name = call.func.id
    if name not in loaded.kernels:
        known = ", ".join(sorted(loaded.kernels)) or "none"
        raise KernelError(f"no kernel named '{name}' in {loaded.path} (kernels: {known})")
    try:
        args = [ast.literal_eval(a) for a in call.args]
        kwargs = {kw.arg: ast.literal_eval(kw.value) for kw in call.keywords if kw.arg}
    except ValueError:
        raise KernelError(f"instantiation arguments must be literals: {request!r}") from None
    target = loaded.kernels[name]
    strings = _string_arguments(target, args, kwargs)
    try:
        return _call(target, name, args, kwargs)
    except CompileError as err:
        if strings and "str" in err.diagnostic.message:
            d = err.diagnostic
            raise CompileError(err.path, replace(d, message=f"{d.message}{_strings_note(strings)}")) from None
        raise
    except Exception as err:  # noqa: BLE001 - the factory's own Python failed: located at its line
        note = _strings_note(strings) if strings else ""
        where = _user_frame(err, loaded.path)
        if where is None:
            if isinstance(err, TypeError):  # wrong arguments for the factory itself
                raise KernelError(str(err) + note) from None
            raise
        if isinstance(err, NotSupported):
            raise at_line(loaded.path, where[0], where[1], f"not supported yet: {err}", UNSUPPORTED) from None
        message = str(err) if isinstance(err, KernelError) else f"{type(err).__name__}: {err}"
        raise at_line(loaded.path, where[0], where[1], message + note, KERNEL_ERROR) from None


def _string_arguments(target: Any, args: list[Any], kwargs: dict[str, Any]) -> dict[str, str]:
    """Instantiation arguments given as strings that are not dtype names (`max_seqlen_pad='max_seqlen_pad'`,
    as the analyzer writes a parameter it has no value for), by parameter name."""
    import inspect

    from .frontend.language import _dtype_name

    func = getattr(target, "func", target)
    try:
        bound = dict(inspect.signature(func).bind_partial(*args, **kwargs).arguments)
    except (TypeError, ValueError):
        bound = {**{str(k): v for k, v in enumerate(args)}, **kwargs}
    out = {}
    for key, value in bound.items():
        if not isinstance(value, str):
            continue
        try:
            _dtype_name(value)
        except NotSupported:
            out[key] = value
    return out


def _strings_note(strings: dict[str, str]) -> str:
    given = ", ".join(f"{k}={v!r}" for k, v in strings.items())
    return f" (the instantiation gives a string where a value may be expected: {given})"


def _user_frame(err: BaseException, path: str) -> tuple[int, int] | None:
    """(line, 0-based column) of the innermost traceback frame in the user's file, if any."""
    import traceback

    found = None
    for frame in traceback.extract_tb(err.__traceback__):
        if frame.filename == path and frame.lineno:
            found = (frame.lineno, getattr(frame, "colno", None) or 0)
    return found


def _call(target: Any, name: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
    from .frontend.jit import JitFunction, KernelDef

    with scope():
        if isinstance(target, KernelDef):
            if args or kwargs:
                raise KernelError(f"'{name}' is a @T.prim_func: it takes no instantiation arguments")
            return target
        if isinstance(target, JitFunction):
            return target.trace(*args, **kwargs)
        result = target(*args, **kwargs)
        if isinstance(result, KernelDef):
            return result
        from .frontend.jit import CompiledKernel

        if isinstance(result, CompiledKernel):
            return result.kdef
        raise KernelError(f"'{name}(...)' did not return a kernel")
