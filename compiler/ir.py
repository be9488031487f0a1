"""Small helpers over TVM 0.27's IR objects.

In 0.27 a buffer is a `tvm.ir.Var` whose type is a `BufferType` (so
`isinstance(x, tirx.Buffer)` holds for every variable), a load is a
`TensorLoad` (`.source`, `.indices`) and an expression's dtype is
`expr.ty.dtype`. These helpers keep those facts in one place.
"""

from __future__ import annotations

from typing import Any

import tvm_ffi
from tvm import tirx
from tvm.ir.expr import TensorLoad, is_prim_expr
from tvm.tirx.buffer import is_buffer_var


def is_buffer(value: Any) -> bool:
    return is_buffer_var(value)


def is_expr(value: Any) -> bool:
    """A primitive-valued expression (not a buffer)."""
    return is_prim_expr(value) and not is_buffer_var(value)


def is_load(value: Any) -> bool:
    return isinstance(value, TensorLoad)


def load_buffer(load: Any) -> Any:
    return load.source


def dtype(value: Any) -> str:
    """The dtype of an expression or a buffer, as a string."""
    if is_buffer_var(value):
        return str(value.dtype)
    return str(value.ty.dtype)


def shape(buffer: Any) -> list[int]:
    return [int(d) for d in buffer.shape]


def load(buffer: Any, indices: list[Any]) -> Any:
    return tirx.BufferLoad(buffer, list(indices))


def walk(node: Any) -> Any:
    """Every IR object under `node` (pre-order), found through the FFI type information's fields."""
    stack = [node]
    while stack:
        cur = stack.pop()
        if isinstance(cur, (list, tuple)) or type(cur).__name__ == "Array":
            stack.extend(reversed(list(cur)))
            continue
        if not isinstance(cur, tvm_ffi.core.Object):
            continue
        yield cur
        info = getattr(type(cur), "__tvm_ffi_type_info__", None)
        children = []
        while info is not None:
            children = [getattr(cur, f.name) for f in info.fields if f.name != "span"] + children
            info = info.parent_type_info
        stack.extend(reversed(children))
