"""Tile-level IR conventions on `tvm.tirx` PrimFuncs.

The front end produces ordinary `tvm.tirx` PrimFuncs in which:

- Buffers keep their TileLang scope (`shared.dyn`, `shared`, `local`,
  `local.fragment`, `local.var`, `shared.barrier`); kernel parameters are
  `global`.
- `T.Kernel(gx, gy, gz, threads=t)` is a nest of `thread_binding` loops over
  `blockIdx.z/y/x` (outermost first); the innermost carries the annotation
  `{"tl.threads": [t...]}`. Allocations inside are per-block storage.
- Loops keep their kind: `T.Parallel` is a `parallel` loop annotated
  `{"tl.loop": "Parallel"}`; `T.Pipelined` is a `serial` loop annotated
  `{"tl.loop": "Pipelined", "num_stages": n}` (plus the manual order/stage);
  `T.serial`/`range` are `serial`, `T.unroll` is `unroll`, `T.vectorized`
  is `vectorized`.
- Each tile operator is one statement, `T.evaluate(T.call_extern("handle",
  "tl.<op>", ...))`, printable by TVM's script printer. A buffer region is
  `T.call_extern("handle", "tl.region", buf[min0, min1, ...], ext0, ext1,
  ...)`: the load at the region's start corner and its constant extents.

| op | arguments |
|---|---|
| `tl.copy` | src region, dst region (same non-unit extents; dtype cast on the way) |
| `tl.fill` | dst region, value |
| `tl.gemm` | A region, B region, C region, transpose_A, transpose_B, clear_accum, warp policy (ints; policy 0 Square, 1 FullRow, 2 FullCol) |
| `tl.reduce` | kind (`"max"`, `"min"`, `"sum"`, `"abssum"`, `"absmax"`), src region, dst region, dim, clear |
| `tl.cumsum` | src region, dst region, dim, reverse |
| `tl.atomic_add` | dst region, value (a scalar expression or a region of the same non-unit extents), and for `return_prev` a unit `local` region that receives the old value |
| `tl.barrier_init` | the whole `shared.barrier` buffer as a region, then each barrier's arrive count |
| `tl.barrier_arrive` | barrier element (`bars[i]`), number of arriving threads, site |
| `tl.barrier_wait` | barrier element, parity, site |
| `tl.tma_copy` | src region (global), dst region (shared), barrier element, transaction bytes, site |

A `with T.ws(g, ...)` body is `T.attr(0, "tl.warp_specialize", "g,...")`. A
site is an index into the function's `tl.barrier_sites` attribute (JSON
records: file, line, column, call text, barrier name), used by run-time
barrier errors.

`decode` turns such a statement back into a `TileOp` for the lowering
passes.

After tile-op lowering, an atomic update of one global element is the
statement `T.evaluate(T.call_extern("handle", "tl.atomic_add_elem",
dst[i...], value[, prev[0]]))` (`atomic_elem`/`decode_atomic_elem`) until
`passes/cpu_atomics.py` turns it into machine atomics.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import tvm
from tvm import tirx

from .ir import is_expr, is_load

PREFIX = "tl."
OPS = ("copy", "fill", "gemm", "reduce", "cumsum", "atomic_add",
       "barrier_init", "barrier_arrive", "barrier_wait", "tma_copy")
BARRIER_OPS = ("barrier_init", "barrier_arrive", "barrier_wait", "tma_copy")
WARP_SPECIALIZE = "tl.warp_specialize"  # AttrStmt key of a `with T.ws(...)` body; value: the group ids, "0,1"
RASTERIZATION = "tl.rasterization"  # PrimFunc attribute of T.use_swizzle: "row,<panel>" or "col,<panel>"
BARRIER_SITES = "tl.barrier_sites"  # PrimFunc attribute: one JSON record per barrier operation (its source)


@dataclass(frozen=True)
class RegionRef:
    buffer: Any  # a buffer var
    mins: tuple[Any, ...]
    extents: tuple[int, ...]

    def nonunit_axes(self) -> list[int]:
        return [i for i, e in enumerate(self.extents) if e != 1]


@dataclass(frozen=True)
class TileOp:
    name: str
    args: tuple[Any, ...]


def string(text: str) -> tvm.ir.StringImm:
    return tvm.ir.StringImm(text)


def region(r: Any) -> tvm.ir.Call:
    """Encode a `language.Region` (buffer, mins, extents)."""
    corner = tirx.BufferLoad(r.buffer, [_index(m) for m in r.mins])
    return tirx.call_extern("handle", PREFIX + "region", corner, *[int(e) for e in r.extents])


def _index(value: Any) -> Any:
    if is_expr(value):
        return value
    return tirx.const(int(value), "int32")


def emit(op: str, *args: Any) -> None:
    """Append the tile operator `op` to the function being built."""
    from tvm.script.ir_builder import tirx as IB

    assert op in OPS, op
    IB.evaluate(tirx.call_extern("handle", PREFIX + op, *args))


def decode(stmt: tirx.Stmt) -> TileOp | None:
    """The tile operator a statement holds, or None."""
    if not isinstance(stmt, tirx.Evaluate):
        return None
    call = stmt.value
    if not isinstance(call, tvm.ir.Call) or call.op.name != "tirx.call_extern":
        return None
    name = call.args[0].value
    if not name.startswith(PREFIX) or name[len(PREFIX):] not in OPS:
        return None
    return TileOp(name[len(PREFIX):], tuple(_decode_arg(a) for a in call.args[1:]))


def _decode_arg(arg: Any) -> Any:
    if isinstance(arg, tvm.ir.Call) and arg.op.name == "tirx.call_extern" and arg.args[0].value == PREFIX + "region":
        corner = arg.args[1]
        assert is_load(corner)
        return RegionRef(corner.source, tuple(corner.indices), tuple(int(e.value) for e in arg.args[2:]))
    if isinstance(arg, tvm.ir.StringImm):
        return arg.value
    if isinstance(arg, tirx.IntImm):
        return int(arg.value)
    return arg


ATOMIC_ELEM = PREFIX + "atomic_add_elem"


@dataclass(frozen=True)
class AtomicElem:
    dst: Any  # a load of the global element
    value: Any
    prev: Any | None  # a load of the unit buffer that receives the old value, or None


def atomic_elem(dst: Any, value: Any, prev: Any | None = None) -> tirx.Stmt:
    args = [dst, value] + ([] if prev is None else [prev])
    return tirx.Evaluate(tirx.call_extern("handle", ATOMIC_ELEM, *args))


def decode_atomic_elem(stmt: tirx.Stmt) -> AtomicElem | None:
    if not isinstance(stmt, tirx.Evaluate):
        return None
    call = stmt.value
    if not isinstance(call, tvm.ir.Call) or call.op.name != "tirx.call_extern" or call.args[0].value != ATOMIC_ELEM:
        return None
    args = list(call.args[1:])
    return AtomicElem(args[0], args[1], args[2] if len(args) > 2 else None)


def is_tile_op(stmt: tirx.Stmt) -> bool:
    return decode(stmt) is not None

