"""The compiler's own implementation of the `T.*` surface (`tilelang.language`).

While `compiler.load` runs a user's file, `import tilelang.language as T`
resolves to this module. Its functions are called by the tracer
(`tracer.py`) while it walks a kernel body: allocations and tile operators
emit tile-level IR through TVM's IR builder (conventions in `tile_ir.py`),
loop constructors return `LoopSpec`s that the tracer turns into loops, and
math functions return `tvm.tirx` expressions.

Every public name here has exactly the parameters the catalog
(`analyzer/catalog.py`) records for TileLang 0.1.15; `IMPLEMENTED` lists them
and a test checks the signatures. A catalog name not implemented here raises
`NotSupported` ("not supported yet: T.xyz") when the kernel uses it; an
argument value the CPU compiler cannot honour does the same, never a silent
wrong result.
"""

from __future__ import annotations

import builtins as _py
import enum
from dataclasses import dataclass, field
from typing import Any

import tvm
from tvm import tirx
from tvm.script.ir_builder import tirx as IB

from analyzer.catalog import CATALOG, DTYPE_ALIASES

from .. import tile_ir
from ..ir import dtype as _dt, is_buffer, is_expr, is_load
from ..errors import KernelError, NotSupported

# ---------------------------------------------------------------- dtypes


_BITS = {"bool": 8, "int8": 8, "uint8": 8, "int16": 16, "uint16": 16, "float16": 16, "bfloat16": 16,
         "int32": 32, "uint32": 32, "float32": 32, "int64": 64, "uint64": 64, "float64": 64}


def _dtype_name(value: Any) -> str:
    """The dtype name of a string, a `DType`, a numpy/ml_dtypes dtype or type, or a torch dtype."""
    if isinstance(value, str):
        name = str.__str__(value)
    else:
        name = getattr(value, "name", None) or getattr(value, "__name__", None)
        if not isinstance(name, str):
            name = str(value)
    if name.startswith("torch."):
        name = name[len("torch."):]
    name = DTYPE_ALIASES.get(name, name)
    if name not in _BITS:
        raise NotSupported(f"dtype {name!r}")
    return name


class DType(str):
    """A dtype name usable as a dtype (`T.float16`), a constructor (`T.float32(0)`) and, as `T.dtype`, the
    dtype type itself: `T.dtype("float16")`, `T.dtype(torch.float16)`, `x: T.dtype = T.float16`."""

    def __new__(cls, value):
        return super().__new__(cls, _dtype_name(value))

    @property
    def bits(self) -> int:
        return _BITS[str.__str__(self)]

    @property
    def bytes(self) -> int:
        return _BITS[str.__str__(self)] // 8

    def as_torch(self):
        import torch

        return getattr(torch, str.__str__(self))

    def is_float4(self) -> bool:
        return False

    is_float4_e2m1fn = is_float4_e2m1_unpacked = is_float4

    def __call__(self, *args, is_size_var=False):
        if is_size_var or len(args) != 1:
            raise NotSupported(f"T.{self}(...) with {len(args)} arguments")
        value = args[0]
        if is_expr(value):
            return value if _dt(value) == str(self) else tirx.Cast(str(self), value)
        return tirx.const(value, str(self))


_DTYPE_NAMES = (
    "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "float16", "bfloat16", "float32", "float64",
)
_dtypes = {name: DType(name) for name in _DTYPE_NAMES}
globals().update(_dtypes)
for _alias, _target in DTYPE_ALIASES.items():
    globals()[_alias] = _dtypes[_target]


dtype = DType  # `T.dtype`


def dtype_of(value: Any) -> str:
    """Normalise a dtype given as a string, a `DType`, a numpy/ml_dtypes dtype or a torch dtype."""
    if isinstance(value, str):
        return _dtype_name(value)
    name = getattr(value, "name", None) or getattr(value, "__name__", None)
    if isinstance(name, str) and DTYPE_ALIASES.get(name, name) in _dtypes:
        return DTYPE_ALIASES.get(name, name)
    if str(value).startswith("torch."):
        return _dtype_name(value)
    raise KernelError(f"not a dtype: {value!r}")


# ---------------------------------------------------------------- tracing context


class _Context:
    """What the tracer exposes to the T.* functions of the kernel being traced."""

    def __init__(self) -> None:
        self.stack: list[Any] = []

    @property
    def tracer(self) -> Any:
        if not self.stack:
            raise KernelError("this T.* call is only valid inside a kernel body")
        return self.stack[-1]


CONTEXT = _Context()


# ---------------------------------------------------------------- values the tracer understands


@dataclass(frozen=True)
class TensorSpec:
    """A kernel parameter type: `T.Tensor(shape, dtype)`."""

    shape: tuple[Any, ...]
    dtype: str
    scope: str = "global"


@dataclass
class KernelSpec:
    """`T.Kernel(*blocks, threads=...)`, opened by the tracer's `with`."""

    blocks: tuple[Any, ...]
    threads: tuple[int, ...]


@dataclass
class LoopSpec:
    """A loop constructor (`T.Parallel`, `T.Pipelined`, `T.serial`, ...), iterated by the tracer's `for`."""

    kind: str  # "Parallel", "Pipelined", "serial", "unroll", "vectorized"
    ranges: list[tuple[Any, Any]]  # (start, extent) per loop variable
    annotations: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Region:
    """A buffer region `A[a:b, c:d]` (every dimension, slices or single indices)."""

    buffer: Any  # a buffer (a tvm.ir.Var of BufferType)
    mins: tuple[Any, ...]
    extents: tuple[int, ...]


class GemmWarpPolicy(enum.IntEnum):
    Square = 0
    FullRow = 1
    FullCol = 2


# ---------------------------------------------------------------- kernel parameter types


class _TensorType:
    """`T.Tensor(shape, dtype)` and `T.Tensor[shape, dtype]`."""

    def __call__(self, shape, dtype="float32", data=None, scope=None):
        if data is not None:
            raise NotSupported("T.Tensor(..., data=...)")
        if scope not in (None, "global"):
            raise NotSupported(f"T.Tensor(..., scope={scope!r})")
        return TensorSpec(_shape(shape), dtype_of(dtype))

    def __getitem__(self, key):
        if not isinstance(key, tuple) or len(key) != 2:
            raise KernelError("T.Tensor[shape, dtype] takes a shape and a dtype")
        return self(key[0], key[1])


class _BufferType:
    """`T.Buffer(shape, dtype)` (deprecated in TileLang in favour of T.Tensor)."""

    def __call__(self, shape, dtype=_dtypes["float32"], data=None, strides=None, elem_offset=None, scope="global",
                 align=0, offset_factor=0, buffer_type="", axis_separators=None):
        if data is not None or strides is not None or elem_offset is not None or axis_separators is not None:
            raise NotSupported("T.Buffer with data, strides, elem_offset or axis_separators")
        if scope != "global":
            raise NotSupported(f"T.Buffer(..., scope={scope!r}) as a kernel parameter")
        return TensorSpec(_shape(shape), dtype_of(dtype))

    def __getitem__(self, key):
        if not isinstance(key, tuple) or len(key) != 2:
            raise KernelError("T.Buffer[shape, dtype] takes a shape and a dtype")
        return self(key[0], key[1])


Tensor = _TensorType()
Buffer = _BufferType()


def _shape(shape) -> tuple[Any, ...]:
    if isinstance(shape, (list, tuple)):
        dims = tuple(shape)
    else:
        dims = (shape,)
    out = []
    for d in dims:
        if isinstance(d, tirx.IntImm):
            d = _py.int(d.value)
        if isinstance(d, _py.str):
            raise KernelError(f"shape dimension is {describe_str(d)}, not an integer")
        if isinstance(d, _py.bool) or not (isinstance(d, _py.int) or is_expr(d)) and not _is_const_dim(d):
            raise KernelError(f"shape dimension {d!r} is not an integer")
        out.append(d)
    return tuple(out)


def describe_str(text: str) -> str:
    """A str value in an error message, short: 'n' * 64 reads as "the str 'n' repeated 64 times"."""
    n = len(text)
    for period in _py.range(1, n // 2 + 1):
        if n % period == 0 and text[:period] * (n // period) == text:
            return f"the str {text[:period][:60]!r} repeated {n // period} times (a str multiplied by an int)"
    return f"the str {text[:60]!r}" + ("..." if n > 60 else "")


def _is_const_dim(value) -> bool:
    from .tracer import ConstDim

    return isinstance(value, ConstDim)


def _const_shape(shape, what: str) -> list[int]:
    out = []
    for d in _shape(shape):
        d = _simplify(d)
        if not isinstance(d, _py.int):
            raise NotSupported(f"{what} with a symbolic shape ({d})")
        if d <= 0:
            raise KernelError(f"{what}: dimension {d} is not positive")
        out.append(d)
    return out


def _simplify(value):
    if is_expr(value):
        value = tvm.sym.Analyzer().simplify(value)
        if isinstance(value, tirx.IntImm):
            return _py.int(value.value)
    return value


def dynamic(name, dtype="int32"):
    """Symbolic sizes (`m = T.dynamic("m")`, or `"m, n"` for several): the kernel is compiled once and a
    size is bound from the shape of the array passed for the tensor it appears in."""
    names = [n.strip() for n in str(name).split(",") if n.strip()]
    dt = dtype_of(dtype)
    if not dt.startswith(("int", "uint")):
        raise KernelError(f"T.dynamic size '{name}' must have an integer dtype, not {dt}")
    values = [tirx.Var(n, dt) for n in names]
    return values[0] if len(values) == 1 else tuple(values)


def symbolic(name, dtype="int32"):
    """Deprecated alias of `T.dynamic`."""
    return dynamic(name, dtype)


class Macro:
    """What `@T.macro` returns: called inside a kernel, its body is traced inline at the call site."""

    def __init__(self, func):
        self.func = func
        self.__name__ = func.__name__
        self.__doc__ = func.__doc__
        self.__wrapped__ = func

    def __call__(self, *args, **kwargs):
        return CONTEXT.tracer.call_macro(self, list(args), kwargs)


def macro(func=None):
    if func is None:
        return macro
    return Macro(func)


def const(name, dtype="int32"):
    """Eager mode: sizes bound from the call's arguments (`M, N = T.const("M, N")`)."""
    names = [n.strip() for n in str(name).split(",") if n.strip()]
    values = [CONTEXT.tracer.const_dim(n) for n in names]
    return values[0] if len(values) == 1 else tuple(values)


def empty(*shape, dtype=_dtypes["float32"]):
    """Eager mode: an output tensor of the kernel."""
    if len(shape) == 1 and isinstance(shape[0], (list, tuple)):
        shape = tuple(shape[0])
    elif len(shape) == 2 and isinstance(shape[0], (list, tuple)) and isinstance(shape[1], str):
        shape, dtype = tuple(shape[0]), shape[1]
    return CONTEXT.tracer.declare_output(_shape(shape), dtype_of(dtype))


# ---------------------------------------------------------------- launch


def Kernel(*blocks, threads=None, prelude=None, cluster_dims=None):
    if prelude is not None:
        raise NotSupported("T.Kernel(..., prelude=...)")
    if cluster_dims is not None:
        raise NotSupported("T.Kernel(..., cluster_dims=...)")
    if not 1 <= len(blocks) <= 3:
        raise KernelError(f"T.Kernel takes 1 to 3 grid extents, got {len(blocks)}")
    if threads is None:
        threads = 128
    t = tuple(threads) if isinstance(threads, (list, tuple)) else (threads,)
    return KernelSpec(tuple(blocks), tuple(_py.int(_simplify(x)) for x in t))


# ---------------------------------------------------------------- allocation


def _alloc(shape, dtype, scope: str) -> Any:
    dims = _const_shape(shape, "allocation")
    return IB.alloc_buffer(tuple(dims), dtype_of(dtype), scope=scope)


def alloc_shared(shape, dtype, scope="shared.dyn"):
    if dtype_of(dtype) == "bool" and scope == "shared.dyn":
        scope = "shared"
    return _alloc(shape, dtype, scope)


def alloc_local(shape, dtype, scope="local"):
    return _alloc(shape, dtype, scope)


def alloc_fragment(shape, dtype, scope="local.fragment"):
    return _alloc(shape, dtype, scope)


def alloc_var(dtype, scope="local.var", *, init=None):
    if not isinstance(scope, str):  # 0.1.15 reads a non-string second positional as init
        scope, init = "local.var", scope
    buf = IB.alloc_buffer((1,), dtype_of(dtype), scope=scope)
    if init is not None:
        IB.buffer_store(buf, _coerce(init, buf.dtype), [0])
    return buf


def alloc_barrier(arrive_count):
    """`T.alloc_barrier(count)` / `T.alloc_barrier([c0, c1, ...])`: mbarriers, each expecting its count of
    arrivals per phase. The tile IR keeps the `shared.barrier` buffer and records the counts with
    `tl.barrier_init`; on the CPU (`passes/barriers.py`) each barrier is real per-block state."""
    counts = [arrive_count] if not isinstance(arrive_count, (list, tuple)) else list(arrive_count)
    values = []
    for c in counts:
        c = _simplify(c)
        if not isinstance(c, _py.int) or isinstance(c, _py.bool):
            raise NotSupported(f"T.alloc_barrier with a non-constant arrive count ({c})")
        values.append(c)
    if not values or _py.any(c <= 0 for c in values):
        raise KernelError(f"alloc_barrier: arrive_count must be at least 1, got {values}")
    buf = IB.alloc_buffer((len(values),), "uint64", scope="shared.barrier")
    tile_ir.emit("barrier_init", tile_ir.region(Region(buf, (0,), (len(values),))), *values)
    return buf


# ---------------------------------------------------------------- warp specialization and mbarriers

WARP_GROUP_SIZE = 128  # TileLang's T.ws: warp group g is threads [128 g, 128 (g + 1)) of the block


@dataclass(frozen=True)
class WarpSpecializeSpec:
    """`T.ws(*groups)`, opened by the tracer's `with`: the body runs in the threads of those warp groups."""

    groups: tuple[int, ...]


def ws(*warp_group_idx):
    if not warp_group_idx:
        raise KernelError("warp_group_idx must be non-empty")
    groups = []
    for g in warp_group_idx:
        g = _simplify(g)
        if not isinstance(g, _py.int) or isinstance(g, _py.bool) or g < 0:
            raise KernelError(f"T.ws takes constant warp group ids (0, 1, ...), got {g!r}")
        groups.append(g)
    return WarpSpecializeSpec(tuple(sorted(set(groups))))


WarpSpecialize = ws


def _barrier(mbarrier, what: str) -> Any:
    """The element of a `T.alloc_barrier` buffer an operation names (`bars[i]`, or a one-barrier buffer)."""
    if is_buffer(mbarrier):
        if mbarrier.scope() != "shared.barrier":
            raise KernelError(f"{what}: '{mbarrier.name}' is not a barrier from T.alloc_barrier")
        if len(mbarrier.shape) != 1 or _py.int(mbarrier.shape[0]) != 1:
            raise KernelError(f"{what}: mbarrier must be a single element buffer, but got "
                              f"{[_py.int(d) for d in mbarrier.shape]}; index it (bars[i])")
        return tirx.BufferLoad(mbarrier, [tirx.const(0, "int32")])
    if is_load(mbarrier) and mbarrier.source.scope() == "shared.barrier":
        return mbarrier
    raise KernelError(f"{what}: mbarrier must be a barrier from T.alloc_barrier (bars or bars[i]), got {mbarrier!r}")


def _sync_context(what: str) -> Any:
    tracer = CONTEXT.tracer
    if tracer._inside_parallel:
        raise NotSupported(f"{what} inside T.Parallel")
    return tracer


def mbarrier_wait_parity(mbarrier, parity):
    """Wait until the phase of `mbarrier` with this parity (0 or 1) has completed. On the CPU the check is
    made when the block reaches the wait; an incomplete phase is a run-time error, never a wrong result."""
    tracer = _sync_context("T.mbarrier_wait_parity")
    bar = _barrier(mbarrier, "T.mbarrier_wait_parity")
    tile_ir.emit("barrier_wait", bar, _coerce(parity, "int32"), tracer.barrier_site(bar))


def barrier_wait(mbarrier, parity):
    mbarrier_wait_parity(mbarrier, parity)


def mbarrier_arrive(mbarrier, cta_id=None):
    """Every thread of the current warp group(s) (or of the block, outside `T.ws`) arrives once."""
    if cta_id is not None:
        raise NotSupported("T.mbarrier_arrive(..., cta_id=...) (cluster barriers)")
    tracer = _sync_context("T.mbarrier_arrive")
    bar = _barrier(mbarrier, "T.mbarrier_arrive")
    tile_ir.emit("barrier_arrive", bar, tracer.arriving_threads(), tracer.barrier_site(bar))


def barrier_arrive(mbarrier):
    mbarrier_arrive(mbarrier)


_DTYPE_BYTES = {"bool": 1, "int8": 1, "uint8": 1, "int16": 2, "uint16": 2, "float16": 2, "bfloat16": 2,
                "int32": 4, "uint32": 4, "float32": 4, "int64": 8, "uint64": 8, "float64": 8}


def tma_copy(src, dst, *, barrier=None, cluster_mask=None, leader_scope_threads=None, eviction_policy=None,
             annotations=None):
    """A TMA load global -> shared: the barrier expects the tile's bytes and the copy completes them
    (TileLang: `mbarrier_expect_tx` + `tma_load` by one leader thread, no arrival)."""
    _not_in_parallel("T.tma_copy")
    if cluster_mask is not None:
        raise NotSupported("T.tma_copy(..., cluster_mask=...) (TMA multicast)")
    if leader_scope_threads is not None and (not isinstance(leader_scope_threads, _py.int)
                                             or leader_scope_threads <= 0 or leader_scope_threads % 32):
        raise KernelError(f"leader_scope_threads must be a positive multiple of 32, got {leader_scope_threads}")
    tracer = CONTEXT.tracer
    s, d = _region(src, "T.tma_copy source"), _region(dst, "T.tma_copy destination")
    if is_load(s) and is_load(d):
        raise KernelError("T.tma_copy: can't deduce copy extents from args (both are single elements)")
    if is_load(s):
        s = _corner_to_region(s, d.extents, "T.tma_copy source")
    if is_load(d):
        d = _corner_to_region(d, s.extents, "T.tma_copy destination")
    if _nonunit(s.extents) != _nonunit(d.extents):
        raise KernelError(f"T.tma_copy: source extents {list(s.extents)} and destination extents "
                          f"{list(d.extents)} differ")
    if s.buffer.scope() != "global" or not d.buffer.scope().startswith("shared"):
        raise NotSupported("T.tma_copy other than a load from a global tensor into shared memory "
                           "(TMA stores and their T.tma_store_wait)")
    if barrier is None:
        raise KernelError("T.tma_copy() requires a barrier argument. Use T.tma_copy(src, dst, barrier=mbar[idx]).")
    bar = _barrier(barrier, "T.tma_copy barrier")
    count = 1
    for e in d.extents:
        count *= e
    nbytes = count * _DTYPE_BYTES[str(d.buffer.dtype)]
    tile_ir.emit("tma_copy", tile_ir.region(s), tile_ir.region(d), bar, nbytes, tracer.barrier_site(bar))


# ---------------------------------------------------------------- loops


def _range(start, stop) -> tuple[Any, Any]:
    if stop is None:
        return 0, start
    return start, _simplify(stop - start)


def _no_step(step, what: str) -> None:
    if step is not None and _simplify(step) != 1:
        raise NotSupported(f"{what} with step={step}")


def Parallel(*extents, coalesced_width=None, loop_layout=None, prefer_async=None, annotations=None):
    if not extents:
        raise KernelError("T.Parallel needs at least one extent")
    return LoopSpec("Parallel", [(0, e) for e in extents])


def Pipelined(start, stop=None, num_stages=0, order=None, stage=None, annotations=None):
    ann: dict[str, Any] = {"num_stages": _py.int(_simplify(num_stages) or 0)}
    if order is not None:
        ann["tl_pipeline_order"] = [_py.int(x) for x in order]
    if stage is not None:
        ann["tl_pipeline_stage"] = [_py.int(x) for x in stage]
    return LoopSpec("Pipelined", [_range(start, stop)], ann)


def serial(start, stop=None, step=None, *, annotations=None):
    _no_step(step, "T.serial")
    return LoopSpec("serial", [_range(start, stop)])


def unroll(start, stop=None, step=None, *, explicit=False, unroll_factor=None, annotations=None):
    _no_step(step, "T.unroll")
    return LoopSpec("unroll", [_range(start, stop)])


def vectorized(start, stop=None, *, annotations=None):
    return LoopSpec("vectorized", [_range(start, stop)])


def grid(*extents):
    return LoopSpec("serial", [(0, e) for e in extents])


Serial = serial
Unroll = unroll
Vectorized = vectorized


# ---------------------------------------------------------------- tile operators


def _region(value, what: str) -> Any:
    if is_buffer(value):
        if not all(isinstance(d, tirx.IntImm) for d in value.shape):
            raise NotSupported(f"the whole of '{value.name}' (a T.dynamic shape) as {what}; give a fixed-size region")
        return Region(value, tuple(0 for _ in value.shape), tuple(_py.int(d) for d in value.shape))
    if isinstance(value, (Region,)) or is_load(value):
        return value
    raise KernelError(f"{what} must be a buffer, a region A[a:b, ...] or a start corner A[i, ...], got {value!r}")


def _corner_to_region(corner: Any, extents: tuple[int, ...], what: str) -> Region:
    rank = len(corner.indices)
    if len(extents) > rank:
        nonunit = [e for e in extents if e != 1]
        if len(nonunit) > rank:
            raise KernelError(f"{what}: a rank-{rank} start corner cannot hold extents {list(extents)}")
        extents = tuple(nonunit)
    full = (1,) * (rank - len(extents)) + tuple(extents)
    return Region(corner.source, tuple(corner.indices), full)


def _not_in_parallel(name: str) -> None:
    if CONTEXT.stack and CONTEXT.tracer._inside_parallel:
        raise KernelError(f"[Tilelang Semantic Check] tile operator {name} is not allowed inside T.Parallel")


def _nonunit(extents) -> list[int]:
    return [e for e in extents if e != 1]


def copy(src, dst, *, coalesced_width=None, disable_tma=False, eviction_policy=None, prefer_instruction=None,
         annotations=None, loop_layout=None):
    _not_in_parallel("T.copy")
    s, d = _region(src, "T.copy source"), _region(dst, "T.copy destination")
    if is_load(s) and is_load(d):
        IB.buffer_store(d.source, _coerce(s, d.source.dtype), list(d.indices))
        return
    if is_load(s):
        s = _corner_to_region(s, d.extents, "T.copy source")
    if is_load(d):
        d = _corner_to_region(d, s.extents, "T.copy destination")
    if _nonunit(s.extents) != _nonunit(d.extents):
        raise KernelError(
            f"T.copy: source extents {list(s.extents)} and destination extents {list(d.extents)} differ "
            "(T.copy does not broadcast)"
        )
    tile_ir.emit("copy", tile_ir.region(s), tile_ir.region(d))


def fill(buffer, value, annotations=None):
    _not_in_parallel("T.fill")
    r = _region(buffer, "T.fill target")
    if is_load(r):
        IB.buffer_store(r.source, _coerce(value, r.source.dtype), list(r.indices))
        return
    tile_ir.emit("fill", tile_ir.region(r), _coerce(value, r.buffer.dtype))


def clear(buffer, annotations=None):
    _not_in_parallel("T.clear")
    r = _region(buffer, "T.clear target")
    if is_load(r):
        raise KernelError("T.clear takes a buffer or a region")
    tile_ir.emit("fill", tile_ir.region(r), _coerce(0, r.buffer.dtype))


def _matrix(value, what: str) -> Region:
    r = _region(value, what)
    if is_load(r):
        raise KernelError(f"{what} must be a buffer or a region, not a single element")
    if len(_nonunit(r.extents)) > 2 or any(e != 1 for e in r.extents[:-2]):
        raise KernelError(f"{what}: only the last two dimensions may exceed 1, got extents {list(r.extents)}")
    return r


def gemm(A, B, C, transpose_A=False, transpose_B=False, policy=GemmWarpPolicy.Square, clear_accum=False,
         mbar=None, annotations=None):
    if mbar is not None:
        raise NotSupported("T.gemm(..., mbar=...)")
    _not_in_parallel("T.gemm")
    a, b, c = _matrix(A, "T.gemm A"), _matrix(B, "T.gemm B"), _matrix(C, "T.gemm C")
    ta, tb = _py.bool(_simplify(transpose_A)), _py.bool(_simplify(transpose_B))
    am, ak = (a.extents[-1], a.extents[-2]) if ta else (a.extents[-2], a.extents[-1])
    bk, bn = (b.extents[-1], b.extents[-2]) if tb else (b.extents[-2], b.extents[-1])
    cm, cn = c.extents[-2], c.extents[-1]
    if am != cm:
        raise KernelError(f"T.gemm M shape check failed: M_A = {am}, M_C = {cm}")
    if ak != bk:
        raise KernelError(f"T.gemm K shape check failed: K_A = {ak}, K_B = {bk}")
    if bn != cn:
        raise KernelError(f"T.gemm N shape check failed: N_B = {bn}, N_C = {cn}")
    tile_ir.emit("gemm", tile_ir.region(a), tile_ir.region(b), tile_ir.region(c), _py.int(ta), _py.int(tb),
                 _py.int(_py.bool(_simplify(clear_accum))), _py.int(_simplify(policy)))


def _reduce(kind: str, buffer, out, dim, clear) -> None:
    _not_in_parallel("T.reduce_*")
    src = _region(buffer, f"T.reduce_{kind} input")
    dst = _region(out, f"T.reduce_{kind} output")
    if is_load(src) or is_load(dst):
        raise KernelError(f"T.reduce_{kind} takes buffers or regions")
    rank = len(src.extents)
    d = _py.int(_simplify(dim))
    if d < 0:
        d += rank
    if not 0 <= d < rank:
        raise KernelError(f"T.reduce_{kind}: dim {dim} is out of range for a rank-{rank} buffer")
    expected = list(src.extents[:d]) + list(src.extents[d + 1:])
    if _nonunit(expected) != _nonunit(dst.extents):
        raise KernelError(
            f"Invalid reduce output shape, buffer shape is {list(src.extents)}, dim is {d}, "
            f"expected shapes are {expected}, got {list(dst.extents)}"
        )
    tile_ir.emit("reduce", tile_ir.string(kind), tile_ir.region(src), tile_ir.region(dst), d,
                 _py.int(_py.bool(_simplify(clear))))


def _batch(batch) -> None:
    if _simplify(batch) != 1:
        raise NotSupported("T.reduce_*(..., batch != 1)")


def reduce_max(buffer, out, dim=-1, clear=True, batch=1, nan_propagate=False, annotations=None):
    _batch(batch)
    _reduce("max", buffer, out, dim, clear)


def reduce_min(buffer, out, dim=-1, clear=True, batch=1, nan_propagate=False, annotations=None):
    _batch(batch)
    _reduce("min", buffer, out, dim, clear)


def reduce_sum(buffer, out, dim=-1, clear=True, batch=1, annotations=None):
    _batch(batch)
    _reduce("sum", buffer, out, dim, clear)


def reduce_abssum(buffer, out, dim=-1, batch=1, annotations=None):
    _batch(batch)
    _reduce("abssum", buffer, out, dim, True)


def reduce_absmax(buffer, out, dim=-1, clear=True, batch=1, nan_propagate=False, annotations=None):
    _batch(batch)
    _reduce("absmax", buffer, out, dim, clear)


def cumsum(src, dst=None, dim=0, reverse=False, annotations=None):
    _not_in_parallel("T.cumsum")
    s = _region(src, "T.cumsum source")
    d = s if dst is None else _region(dst, "T.cumsum destination")
    if is_load(s) or is_load(d):
        raise KernelError("T.cumsum takes buffers or regions")
    if list(s.extents) != list(d.extents):
        raise KernelError(f"T.cumsum: source extents {list(s.extents)} and destination extents {list(d.extents)} differ")
    rank = len(s.extents)
    k = _py.int(_simplify(dim))
    if k < 0:
        k += rank
    if not 0 <= k < rank:
        raise KernelError(f"T.cumsum: dim {dim} is out of range for a rank-{rank} buffer")
    tile_ir.emit("cumsum", tile_ir.region(s), tile_ir.region(d), k, _py.int(_py.bool(_simplify(reverse))))


_MEMORY_ORDERS = ("relaxed", "consume", "acquire", "release", "acq_rel", "seq_cst")


def _atomic_operand(value) -> Any:
    """A buffer or region (has extents) becomes a `Region`; a single element or a scalar stays as it is."""
    if isinstance(value, Region):
        return value
    if is_buffer(value) and value.scope() != "local.var":
        return _region(value, "T.atomic_add operand")
    return value


def atomic_add(dst, value, memory_order=None, return_prev=False, use_tma=False, annotations=None):
    """TileLang's forms: element `dst[i] += v` (optionally returning the old value), a region plus a scalar,
    and a region plus a region (a start corner takes the other side's extents).

    On the CPU every atomic is sequentially consistent, which honours any `memory_order`; `use_tma` is a
    CUDA hint with no effect here."""
    if memory_order is not None and memory_order not in _MEMORY_ORDERS:
        raise KernelError(f"atomic_add does not support memory_order={memory_order!r}; "
                          f"expected one of {sorted(_MEMORY_ORDERS)}")
    d, v = _atomic_operand(dst), _atomic_operand(value)
    if not isinstance(d, Region) and not isinstance(v, Region):
        if not is_load(d):
            raise KernelError(f"T.atomic_add destination must be a buffer element, a buffer or a region, got {dst!r}")
        unit = Region(d.source, tuple(d.indices), (1,) * len(d.indices))
        args = [tile_ir.region(unit), _coerce(v, d.source.dtype)]
        prev = None
        if _simplify(return_prev):
            prev = IB.alloc_buffer((1,), str(d.source.dtype), scope="local")
            IB.buffer_store(prev, _coerce(0, d.source.dtype), [0])
            args.append(tile_ir.region(Region(prev, (0,), (1,))))
        tile_ir.emit("atomic_add", *args)
        return None if prev is None else tirx.BufferLoad(prev, [0])
    if _simplify(return_prev):
        raise KernelError("return_prev is not supported for tile-region-based atomic operations")
    _not_in_parallel("T.atomic_add on a region")
    if is_load(d):
        d = _corner_to_region(d, v.extents, "T.atomic_add destination")
    if isinstance(v, Region):
        if _nonunit(v.extents) != _nonunit(d.extents):
            raise KernelError(f"T.atomic_add: extents {list(v.extents)} and {list(d.extents)} differ")
        tile_ir.emit("atomic_add", tile_ir.region(d), tile_ir.region(v))
    else:
        tile_ir.emit("atomic_add", tile_ir.region(d), _coerce(v, d.buffer.dtype))


def view(src, shape=None, dtype=None, strides=None):
    """A buffer sharing `src`'s storage with another shape (no copy): same element count, dense layout."""
    if strides is not None:
        raise NotSupported("T.view(..., strides=...)")
    if not is_buffer(src):
        raise KernelError(f"T.view/T.reshape takes a buffer, got {src!r}")
    dt = str(src.dtype) if dtype is None else dtype_of(dtype)
    if dt != str(src.dtype):
        raise NotSupported(f"T.view to another dtype ({src.dtype} -> {dt})")
    if src.scope() == "local.var":
        raise NotSupported("T.view/T.reshape of a T.alloc_var")
    new_shape = list(src.shape) if shape is None else list(_shape(shape))
    count, src_count = 1, 1
    for d in new_shape:
        count = count * d
    for d in src.shape:
        src_count = src_count * d
    if not tvm.sym.Analyzer().can_prove_equal(count, src_count):
        raise KernelError(f"T.reshape/view shape check failed: {list(new_shape)} holds {_simplify(count)} elements, "
                          f"'{src.name}' {list(src.shape)} holds {_simplify(src_count)}")
    return IB.decl_buffer(tuple(new_shape), dt, data=src.data, scope=src.scope())


def reshape(src, shape):
    return view(src, shape)


def use_swizzle(panel_size, order="row", enable=True):
    """Block rasterization order: no effect on results (nothing to do on the CPU). Recorded for the CUDA back
    end (`tl.rasterization`, passes/grid.py `rasterize_blocks`), which walks the blocks panel by panel."""
    panel = _simplify(panel_size)
    if not enable:
        return None
    if not isinstance(panel, _py.int) or isinstance(panel, _py.bool) or panel < 1:
        raise KernelError(f"T.use_swizzle: panel_size must be a positive constant integer, got {panel_size!r}")
    if order not in ("row", "col"):
        raise KernelError(f"T.use_swizzle: order must be 'row' or 'col', got {order!r}")
    CONTEXT.tracer.rasterization = (panel, order)
    return None


def no_set_max_nreg():
    """No `setmaxnreg` register reallocation in a warp-specialized kernel: a CUDA code-generation hint with no
    effect on results, so nothing to do on CPU."""
    return None


# ---------------------------------------------------------------- layouts


class Layout:
    """`T.Layout(shape, forward_fn)`: a buffer layout, kept as a plain value.

    On the CPU every shared/fragment/local buffer is block-private storage
    indexed logically, so a layout changes nothing about the results.
    """

    def __init__(self, shape, forward_fn):
        self.shape = tuple(shape) if isinstance(shape, (list, tuple)) else (shape,)
        self.forward_fn = forward_fn

    def __repr__(self) -> str:
        return f"{type(self).__name__}{self.shape}"


class SwizzledLayout(Layout):
    """`tilelang.layout.make_*swizzled_layout(buffer)`: a shared-memory bank swizzle (a plain value here)."""

    def __init__(self, buffer, kind="swizzled", **options):
        super().__init__([int(d) if isinstance(d, tirx.IntImm) else d for d in buffer.shape], None)
        self.buffer_name = buffer.name
        self.kind = kind
        self.options = options


def annotate_layout(layout_map):
    """`T.annotate_layout({buf: layout})`: no effect on CPU for shared/fragment/local buffers (exact: they are
    block-private and indexed logically); a layout on a global tensor changes its addressing: not supported yet."""
    if not isinstance(layout_map, dict):
        raise KernelError("T.annotate_layout expects a dict {buffer: layout}")
    for buf in layout_map:
        if not is_buffer(buf):
            raise KernelError(f"T.annotate_layout: key {buf!r} is not a buffer")
        if buf.scope() == "global":
            raise NotSupported(f"T.annotate_layout on the global tensor {buf.name}")
    return None


# ---------------------------------------------------------------- math


def _comparison(value):
    """`a == b` / `a != b` on TVM expressions in the user's Python (a helper called with loop variables)
    is TVM's EqualOp / NotEqualOp wrapper; the comparison expression is `asobject()`."""
    if type(value).__name__ in ("EqualOp", "NotEqualOp") and hasattr(value, "asobject"):
        return value.asobject()
    return value


def _coerce(value, dtype) -> Any:
    dtype = str(dtype)
    value = _comparison(value)
    if _is_const_dim(value):
        raise value._unknown(f"'{value.name}' in a kernel expression")
    if is_buffer(value):
        if value.scope() == "local.var":
            value = tirx.BufferLoad(value, [0])
        else:
            raise KernelError(f"buffer {value.name} used as a scalar")
    if is_expr(value):
        return value if _dt(value) == dtype else tirx.Cast(dtype, value)
    if isinstance(value, (_py.bool, _py.int, _py.float)):
        return tirx.const(value, dtype)
    raise KernelError(f"not a scalar value: {value!r}")


def _expr(value):
    value = _comparison(value)
    if _is_const_dim(value):
        raise value._unknown(f"'{value.name}' in a kernel expression")
    if is_buffer(value):
        return _coerce(value, value.dtype)
    if isinstance(value, _py.bool):
        return tirx.const(value, "bool")
    if isinstance(value, _py.int):
        return tirx.const(value, "int32")
    if isinstance(value, _py.float):
        return tirx.const(value, "float32")
    if is_expr(value):
        return value
    raise KernelError(f"not a scalar value: {value!r}")


def _pair(a, b):
    """Two operands with a common dtype; a Python number takes the other side's dtype."""
    if is_buffer(a):
        a = _expr(a)
    if is_buffer(b):
        b = _expr(b)
    if is_expr(a) and not is_expr(b):
        return a, _coerce(b, _dt(a))
    if is_expr(b) and not is_expr(a):
        return _coerce(a, _dt(b)), b
    return _expr(a), _expr(b)


def _unary(fn):
    def apply(x):
        x = _expr(x)
        if not _dt(x).startswith(("float", "bfloat")):
            x = tirx.Cast("float32", x)
        return fn(x)

    return apply


exp = _unary(tirx.exp)
exp2 = _unary(tirx.exp2)
exp10 = _unary(tirx.exp10)
log = _unary(tirx.log)
log2 = _unary(tirx.log2)
log10 = _unary(tirx.log10)
log1p = _unary(tirx.log1p)
sqrt = _unary(tirx.sqrt)
rsqrt = _unary(tirx.rsqrt)
tanh = _unary(tirx.tanh)
sigmoid = _unary(tirx.sigmoid)
sin = _unary(tirx.sin)
cos = _unary(tirx.cos)
tan = _unary(tirx.tan)
sinh = _unary(tirx.sinh)
cosh = _unary(tirx.cosh)
erf = _unary(tirx.erf)
atan = _unary(tirx.atan)


def abs(x, span=None):  # noqa: A001 - the T.* name
    return tirx.abs(_expr(x))


def fabs(x, span=None):
    return tirx.abs(_expr(x))


def floor(x, span=None):
    return tirx.floor(_expr(x))


def ceil(x, span=None):
    return tirx.ceil(_expr(x))


def trunc(x, span=None):
    return tirx.trunc(_expr(x))


def round(x, rounding_mode="ties-to-even", span=None):  # noqa: A001
    if rounding_mode != "ties-to-even":
        raise NotSupported(f"T.round(..., rounding_mode={rounding_mode!r})")
    return tirx.nearbyint(_expr(x))


def nearbyint(x, span=None):
    return tirx.nearbyint(_expr(x))


def isnan(x, span=None):
    return tirx.isnan(_expr(x))


def isinf(x, span=None):
    return tirx.isinf(_expr(x))


def isfinite(x, span=None):
    return tirx.isfinite(_expr(x))


def pow(x, y, span=None):  # noqa: A001
    return tirx.pow(*_pair(x, y))


def fmod(x, y):
    return tirx.fmod(*_pair(x, y))


def max(a, b):  # noqa: A001
    if not (is_expr(a) or is_buffer(a)) and not (is_expr(b) or is_buffer(b)):
        return a if a >= b else b
    return tirx.max(*_pair(a, b))


def min(a, b):  # noqa: A001
    if not (is_expr(a) or is_buffer(a)) and not (is_expr(b) or is_buffer(b)):
        return a if a <= b else b
    return tirx.min(*_pair(a, b))


def clamp(dst, min_val, max_val):
    x = _expr(dst)
    return tirx.min(tirx.max(x, _coerce(min_val, _dt(x))), _coerce(max_val, _dt(x)))


def ceildiv(lhs, rhs, span=None):
    if isinstance(lhs, _py.int) and isinstance(rhs, _py.int):
        return -(-lhs // rhs)
    lhs, rhs = _pair(lhs, rhs)
    return tirx.floordiv(lhs + rhs - 1, rhs)


cdiv = ceildiv


def floordiv(a, b, span=None):
    if isinstance(a, _py.int) and isinstance(b, _py.int):
        return a // b
    return tirx.floordiv(*_pair(a, b))


def floormod(a, b, span=None):
    if isinstance(a, _py.int) and isinstance(b, _py.int):
        return a % b
    return tirx.floormod(*_pair(a, b))


def truncdiv(a, b, span=None):
    return tirx.truncdiv(*_pair(a, b))


def truncmod(a, b, span=None):
    return tirx.truncmod(*_pair(a, b))


def if_then_else(cond, t, f, span=None):
    if isinstance(cond, _py.bool):
        return t if cond else f
    t, f = _pair(t, f)
    return tirx.if_then_else(_expr(cond), t, f)


def Select(condition, true_value, false_value, span=None):
    t, f = _pair(true_value, false_value)
    return tirx.Select(_expr(condition), t, f)


def cast(value, dtype, round="", sat=True, rbits=None, span=None):  # noqa: A002
    if round or rbits is not None:
        raise NotSupported("T.cast with round= or rbits=")
    return _coerce(value, dtype_of(dtype))


def Cast(dtype, value, annotations=None, span=None):
    """`T.Cast(dtype, value)`: TVM's Cast node, the same conversion as `T.cast(value, dtype)`."""
    return _coerce(value, dtype_of(dtype))


def infinity(dtype, span=None):
    return tirx.infinity(dtype_of(dtype))


def max_value(dtype, span=None):
    return tirx.max_value(dtype_of(dtype))


def min_value(dtype, span=None):
    return tirx.min_value(dtype_of(dtype))


# ---------------------------------------------------------------- decorators


def prim_func(func=None, *, eager_jit=False):
    from .jit import make_prim_func

    if eager_jit:
        raise NotSupported("T.prim_func(eager_jit=True)")
    if func is None:
        return make_prim_func
    return make_prim_func(func)


# ---------------------------------------------------------------- the claimed surface

# The catalog entries this module implements (the signature test walks them).
IMPLEMENTED: tuple[str, ...] = (
    "Tensor", "Buffer", "const", "empty", "Kernel",
    "alloc_shared", "alloc_local", "alloc_fragment", "alloc_var", "alloc_barrier",
    "Parallel", "Pipelined", "serial", "Serial", "unroll", "Unroll", "vectorized", "Vectorized", "grid",
    "copy", "fill", "clear", "gemm", "reduce_max", "reduce_min", "reduce_sum", "reduce_abssum", "reduce_absmax",
    "cumsum", "atomic_add", "use_swizzle", "no_set_max_nreg", "annotate_layout", "Layout",
    "exp", "exp2", "exp10", "log", "log2", "log10", "log1p", "sqrt", "rsqrt", "tanh", "sigmoid", "sin", "cos",
    "tan", "sinh", "cosh", "erf", "atan", "abs", "fabs", "floor", "ceil", "trunc", "round", "nearbyint", "isnan",
    "isinf", "isfinite", "pow", "fmod", "max", "min", "clamp", "ceildiv", "cdiv", "floordiv", "floormod",
    "truncdiv", "truncmod", "if_then_else", "Select", "cast", "Cast", "infinity", "max_value", "min_value",
    "prim_func", "GemmWarpPolicy", "dynamic", "symbolic", "macro", "view", "reshape",
    "ws", "WarpSpecialize", "barrier_wait", "mbarrier_wait_parity", "barrier_arrive", "mbarrier_arrive",
    "tma_copy", "dtype",
) + tuple(n for n in _DTYPE_NAMES if n in CATALOG)


def __getattr__(name: str):
    if name in CATALOG:
        raise NotSupported(f"T.{name}")
    raise AttributeError(f"module 'tilelang.language' has no attribute '{name}'")
