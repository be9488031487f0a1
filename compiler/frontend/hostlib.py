"""Host-side parts of the `tilelang` package that TileLang files import at module level.

Served by `compiler.loader` while a file loads (never installed as `tilelang`):

- `tilelang.testing`: `torch_assert_close` (TileLang's check: elements must
  satisfy `isclose(a, b, rtol, atol)` except a `max_mismatched_ratio` share of
  them), `set_random_seed`, and the `requires_*` decorators, which only record
  the requirement on the function (`func.__tilec_requires__`) and return it:
  nothing here skips or runs tests. `main()`, `process_func` and `regression`
  (pytest / GPU performance runs) raise "not supported yet" when called.
- `tilelang.utils.tensor.torch_assert_close` (the same function).
- Placeholders (`Unsupported`) for names whose work needs a GPU or TileLang's
  own machinery (`tilelang.profiler.do_bench`, `tilelang.tools.plot_layout`,
  `tilelang.carver.arch.driver`, `tilelang.autotuner.AutoTuner`, ...): the
  import succeeds, and calling the name or reading an attribute of it raises
  `NotSupported("tilelang.profiler.do_bench")`, so the error points at the line
  that uses it.

Signatures follow TileLang 0.1.15 (`tilelang/testing/__init__.py`,
`tilelang/utils/tensor.py`, `tilelang/profiler/bench.py`).
"""

from __future__ import annotations

import random
import types
from typing import Any, Callable

from ..errors import NotSupported


class Unsupported:
    """A name that imports fine but is "not supported yet" as soon as it is used."""

    def __init__(self, qualname: str):
        object.__setattr__(self, "_qualname", qualname)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise NotSupported(self._qualname)

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__"):
            raise AttributeError(attr)
        raise NotSupported(f"{self._qualname}.{attr}")

    def __enter__(self) -> Any:
        raise NotSupported(self._qualname)

    def __exit__(self, *exc: Any) -> None:
        return None

    def __repr__(self) -> str:
        return f"<not supported yet: {self._qualname}>"


def placeholder_module(name: str, names: tuple[str, ...] = (), strict: bool = False) -> types.ModuleType:
    """A module whose `names` (and, unless `strict`, any other public attribute) are `Unsupported`."""
    mod = types.ModuleType(name)
    mod.__path__ = []  # submodules go through the finder
    for n in names:
        setattr(mod, n, Unsupported(f"{name}.{n}"))

    def __getattr__(attr: str) -> Any:
        if attr.startswith("__") or strict:
            raise AttributeError(attr)
        return Unsupported(f"{name}.{attr}")

    mod.__getattr__ = __getattr__
    return mod


# --- tilelang.testing ------------------------------------------------------------------------


def _is_torch(x: Any) -> bool:
    return type(x).__module__.startswith("torch") and hasattr(x, "detach")


def torch_assert_close(tensor_a, tensor_b, rtol=1e-2, atol=1e-3, max_mismatched_ratio=0.001, verbose: bool = False,
                       equal_nan: bool = True, check_device: bool = True, check_dtype: bool = True,
                       check_layout: bool = True, check_stride: bool = False, base_name: str = "LHS",
                       ref_name: str = "RHS"):
    """TileLang's tolerance check on torch tensors or NumPy arrays (compared in float64).

    At most `int(numel * max_mismatched_ratio)` elements may fail `|a - b| <= atol + rtol * |b|`;
    otherwise `AssertionError`. With `check_dtype`, the two dtypes must be equal. Returns True.
    `check_device`/`check_layout`/`check_stride` are accepted (everything here is on the CPU, dense).
    """
    import numpy as np

    def as_np(x: Any) -> Any:
        if _is_torch(x):
            t = x.detach().cpu()
            if str(t.dtype) in ("torch.bfloat16", "torch.float16") or t.dtype.is_floating_point:
                t = t.double()
            return t.numpy()
        return np.asarray(x)

    if check_dtype:
        da, db = getattr(tensor_a, "dtype", None), getattr(tensor_b, "dtype", None)
        if da is not None and db is not None and str(da) != str(db):
            raise AssertionError(f"dtype mismatch: {base_name} is {da}, {ref_name} is {db}")
    a, b = as_np(tensor_a), as_np(tensor_b)
    if a.shape != b.shape:
        raise AssertionError(f"shape mismatch: {base_name} {a.shape}, {ref_name} {b.shape}")
    a64 = a.astype(np.float64) if a.dtype.kind in "fiub" or a.dtype.name == "bfloat16" else a
    b64 = b.astype(np.float64) if b.dtype.kind in "fiub" or b.dtype.name == "bfloat16" else b
    close = np.isclose(a64, b64, rtol=rtol, atol=atol, equal_nan=equal_nan)
    bad = int((~close).sum())
    allowed = int(a64.size * max_mismatched_ratio)
    if verbose:
        print(f"Number of mismatched elements: {bad} / {a64.size} (allowed: {allowed})")
    if bad > allowed:
        diff = np.abs(a64 - b64)
        first = np.unravel_index(int(np.argmax(~close)), a64.shape) if a64.ndim else ()
        raise AssertionError(
            f"Too many mismatched elements: {bad} > {allowed} ({max_mismatched_ratio * 100:.2f}% allowed, "
            f"but get {bad / max(a64.size, 1) * 100:.2f}%). First mismatch at index {list(map(int, first))}: "
            f"{base_name}={a64[first]}, {ref_name}={b64[first]}; greatest absolute difference: {np.nanmax(diff)}")
    return True


def set_random_seed(seed: int = 42) -> None:
    """Seed Python's `random`, NumPy's global generator and, when torch is importable, torch."""
    import numpy as np

    random.seed(seed)
    np.random.seed(seed)
    try:
        import torch
    except ImportError:
        return
    torch.manual_seed(seed)


def _mark(requirement: str) -> Callable[[Callable], Callable]:
    def decorate(func: Callable) -> Callable:
        try:
            func.__tilec_requires__ = getattr(func, "__tilec_requires__", ()) + (requirement,)
        except AttributeError:
            pass
        return func

    return decorate


def _marker(requirement: str) -> Callable[[Callable], Callable]:
    """A bare decorator (`@requires_cuda`) that records `requirement`."""
    return _mark(requirement)


def requires_cuda_compute_version(major_version, minor_version=0, mode="ge"):
    if mode not in ("ge", "gt", "le", "lt", "eq"):
        raise ValueError(f"Invalid mode: {mode}")
    return _mark(f"cuda compute {mode} {major_version}.{minor_version}")


def requires_cuda_compute_version_ge(major_version, minor_version=0):
    return requires_cuda_compute_version(major_version, minor_version, "ge")


def requires_cuda_compute_version_gt(major_version, minor_version=0):
    return requires_cuda_compute_version(major_version, minor_version, "gt")


def requires_cuda_compute_version_eq(major_version, minor_version=0):
    return requires_cuda_compute_version(major_version, minor_version, "eq")


def requires_cuda_compute_version_lt(major_version, minor_version=0):
    return requires_cuda_compute_version(major_version, minor_version, "lt")


def requires_cuda_compute_version_le(major_version, minor_version=0):
    return requires_cuda_compute_version(major_version, minor_version, "le")


def requires_package(*packages):
    """`@requires_package("einops")`: records the packages (TVM's marker would skip without them)."""
    return _mark("package " + ",".join(map(str, packages)))


def testing_module() -> types.ModuleType:
    m = placeholder_module("tilelang.testing", ("main", "process_func", "regression", "ascend_backend_compiled"),
                           strict=True)
    m.torch_assert_close = torch_assert_close
    m.set_random_seed = set_random_seed
    for name in ("requires_cuda", "requires_cdna", "requires_cuda_or_cdna", "requires_gfx950", "requires_metal",
                 "requires_rocm", "requires_llvm", "requires_ascend"):
        setattr(m, name, _marker(name[len("requires_"):]))
    m.requires_cuda_compute_version = requires_cuda_compute_version
    for op in ("ge", "gt", "le", "lt", "eq"):
        setattr(m, f"requires_cuda_compute_version_{op}", globals()[f"requires_cuda_compute_version_{op}"])
    m.requires_package = requires_package
    return m


def utils_tensor_module() -> types.ModuleType:
    m = placeholder_module("tilelang.utils.tensor", ("get_tensor_supply", "TensorSupplyType"), strict=True)
    m.torch_assert_close = torch_assert_close
    return m


# Modules whose names are placeholders: importing works, using a name is "not supported yet".
PLACEHOLDER_MODULES: dict[str, tuple[str, ...]] = {
    "tilelang.profiler": ("do_bench", "Profiler"),
    "tilelang.tools": ("plot_layout", "Analyzer"),
    "tilelang.tools.cuda": ("iket",),
    "tilelang.carver": (),
    "tilelang.carver.arch": ("driver", "CUDA", "CDNA"),
    "tilelang.carver.template": ("MatmulTemplate",),
    "tilelang.carver.roller": (),
    "tilelang.carver.roller.rasterization": ("NoRasterization",),
    "tilelang.engine": (),
    "tilelang.engine.callback": ("register_cuda_postproc_callback",),
}
