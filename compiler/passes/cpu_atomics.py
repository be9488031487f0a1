"""Machine atomics for `tl.atomic_add_elem` on the CPU, so that blocks can run in parallel.

TVM 0.27's LLVM back end rejects its own `tirx.atomic_add` ("CPU backend
does not support atomic add yet") and has no compare-and-swap builtin, so the
atomics are calls to libatomic, GCC's runtime for the `__atomic_*` library
calls. The JIT-ed module resolves them from the process once libatomic is
loaded with `RTLD_GLOBAL` (`libatomic_available` does that).

- Integers: `old = __atomic_fetch_add_N(ptr, v, SEQ_CST)`.
- Floats (float16/bfloat16/float32/float64): a compare-and-swap loop on the
  bit pattern. On failure the CAS writes the current value into `bits`::

      bits = __atomic_load_N(ptr, RELAXED)
      while not __atomic_compare_exchange_N(ptr, &bits, as_bits(as_float(bits) + v), SEQ_CST, SEQ_CST):
          pass

Every atomic is sequentially consistent, which honours any `memory_order` a
kernel asks for. Where libatomic cannot be loaded, an update is a plain
read-modify-write and the function gets the attribute `tl.serial_grid`, so
`bind_grid` runs its blocks one after another: exact, only slower.
"""

from __future__ import annotations

import functools
from typing import Any

import tvm
from tvm import tirx

from .. import tile_ir
from ..ir_rewrite import Rewriter, rewrite_funcs, with_body

SEQ_CST = 5
RELAXED = 0
SERIAL_GRID = "tl.serial_grid"


@functools.cache
def libatomic_available() -> bool:
    """Load libatomic into the process (global symbols) once; False where it cannot be found."""
    import ctypes
    import ctypes.util

    for name in ("libatomic.so.1", ctypes.util.find_library("atomic")):
        if not name:
            continue
        try:
            ctypes.CDLL(name, mode=ctypes.RTLD_GLOBAL)
            return True
        except OSError:
            continue
    return False


def _dtype(expr: Any) -> str:
    return str(expr.ty.dtype)


def _store_prev(prev: Any, value: Any) -> Any:
    return tirx.BufferStore(prev.source, value, list(prev.indices))


def machine_atomic(a: tile_ir.AtomicElem) -> Any:
    dtype = _dtype(a.dst)
    nbytes = tvm.DataType(dtype).bits // 8
    ptr = tirx.address_of(a.dst)
    if dtype.startswith(("int", "uint")):
        old = tirx.call_extern(dtype, f"__atomic_fetch_add_{nbytes}", ptr, a.value, SEQ_CST)
        return tirx.Evaluate(old) if a.prev is None else _store_prev(a.prev, old)
    if not dtype.startswith(("float", "bfloat")):
        raise ValueError(f"atomic add on {dtype}")
    ity = f"int{nbytes * 8}"
    cell = tirx.decl_buffer((1,), ity, name="atomic_bits", scope="local")
    bits = tirx.BufferLoad(cell, [0])
    v = tirx.Var("atomic_v", dtype)
    desired = tirx.reinterpret(ity, tirx.reinterpret(dtype, bits) + v)
    cas = tirx.call_extern("uint8", f"__atomic_compare_exchange_{nbytes}", ptr, tirx.address_of(bits), desired,
                           SEQ_CST, SEQ_CST)
    stmts = [
        tirx.Bind(v, a.value),
        tirx.AllocBuffer(cell),
        tirx.BufferStore(cell, tirx.call_extern(ity, f"__atomic_load_{nbytes}", ptr, RELAXED), [0]),
        tirx.While(tirx.EQ(cas, tirx.const(0, "uint8")), tirx.Evaluate(0)),
    ]
    if a.prev is not None:
        stmts.append(_store_prev(a.prev, tirx.reinterpret(dtype, bits)))
    return tirx.SeqStmt(stmts)


def plain_update(a: tile_ir.AtomicElem) -> Any:
    store = tirx.BufferStore(a.dst.source, a.dst + a.value, list(a.dst.indices))
    return store if a.prev is None else tirx.SeqStmt([_store_prev(a.prev, a.dst), store])


class _Atomics(Rewriter):
    def __init__(self, machine: bool) -> None:
        self.machine = machine
        self.used = False

    def visit_Evaluate(self, s: Any) -> Any:
        a = tile_ir.decode_atomic_elem(s)
        if a is None:
            return self.default_stmt(s)
        self.used = True
        return machine_atomic(a) if self.machine else plain_update(a)


def lower_cpu_atomics(mod: tvm.IRModule, machine_atomics: bool | None = None) -> tvm.IRModule:
    """`tl.atomic_add_elem` -> libatomic calls (default when libatomic loads), else plain updates + serial grid."""
    machine = libatomic_available() if machine_atomics is None else machine_atomics
    if machine and not libatomic_available():
        raise RuntimeError("libatomic cannot be loaded")

    def run(func: Any) -> Any:
        lowering = _Atomics(machine)
        out = with_body(func, lowering.stmt(func.body))
        if lowering.used and not machine:
            out = out.with_attr(SERIAL_GRID, True)
        return out

    return rewrite_funcs(mod, run)
