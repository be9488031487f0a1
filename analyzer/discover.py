"""Finding kernel sites: the functions a user calls to get a kernel.

Three styles are recognised (import aliases are resolved by the evaluator,
so `T`, `tl.language`, `from tilelang import language as T` and
`from tilelang.language import Kernel` all work):

- `factory`: a module-level function whose body defines an inner
  `@T.prim_func` (often wrapped in `@tilelang.jit(...)` / `@autotune(...)`);
- `prim_func`: a module-level `@T.prim_func` function;
- `eager`: a `@tilelang.jit` function whose body opens `with T.Kernel(...)`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator

import libcst as cst

from .evaluate import DecoratorCall, Evaluator, Scope, decorator_name, t_name
from .values import FunctionValue, ModuleRef

_PASS_CONFIG_KEYS = {
    "TL_DISABLE_WARP_SPECIALIZED": "tl.disable_warp_specialized",
    "TL_DISABLE_TMA_LOWER": "tl.disable_tma_lower",
    "TL_DISABLE_SHARED_MEMORY_REUSE": "tl.disable_shared_memory_reuse",
    "TL_ENABLE_AGGRESSIVE_SHARED_MEMORY_MERGE": "tl.enable_aggressive_shared_memory_merge",
    "TL_DISABLE_WGMMA": "tl.disable_wgmma",
    "TIR_MERGE_STATIC_SMEM": "tirx.merge_static_smem",
}

KERNEL_LAUNCHERS = ("Kernel", "ClusterKernel")


@dataclass
class Site:
    name: str
    style: str  # "factory", "prim_func" or "eager"
    func: FunctionValue
    jit: bool = False
    autotune_configs: Any = None  # list of dicts, a FunctionValue, or Unknown
    pass_configs: dict[str, Any] = field(default_factory=dict)
    kernel_defs: list[cst.FunctionDef] = field(default_factory=list)
    tensor_params: frozenset[str] = frozenset()  # eager style: parameters declared `A: T.Tensor(...)`

    @property
    def node(self) -> cst.FunctionDef:
        return self.func.node


def normalize_pass_configs(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict):
        return {}
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if isinstance(key, ModuleRef):
            last = key.name.rsplit(".", 1)[-1]
            name = _PASS_CONFIG_KEYS.get(last)
            if name is None:
                lowered = last.lower()
                name = "tl." + lowered[3:] if lowered.startswith("tl_") else lowered
            out[name] = value
        elif isinstance(key, str):
            out[key] = value
    return out


def _statements(block: cst.BaseSuite) -> Iterator[cst.CSTNode]:
    """Every statement inside `block`, not descending into nested defs or classes."""
    if not isinstance(block, cst.IndentedBlock):
        return
    for stmt in block.body:
        yield stmt
        if isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
            continue
        for attr in ("body", "orelse", "finalbody"):
            child = getattr(stmt, attr, None)
            if isinstance(child, cst.If):
                yield child
                yield from _statements(child.body)
                if child.orelse is not None:
                    yield from _statements(
                        child.orelse.body if isinstance(child.orelse, cst.Else) else cst.IndentedBlock([child.orelse])
                    )
            elif isinstance(child, (cst.Else, cst.Finally)):
                yield from _statements(child.body)
            elif isinstance(child, cst.BaseSuite):
                yield from _statements(child)
        if isinstance(stmt, cst.Try):
            for handler in stmt.handlers:
                yield from _statements(handler.body)


def _nested_defs(block: cst.BaseSuite) -> Iterator[cst.FunctionDef]:
    """Function definitions at any depth inside `block` (inner helpers included)."""
    for stmt in _statements(block):
        if isinstance(stmt, cst.FunctionDef):
            yield stmt
            yield from _nested_defs(stmt.body)


def is_kernel_with(stmt: cst.CSTNode, ev: Evaluator, scope: Scope) -> bool:
    if not isinstance(stmt, cst.With):
        return False
    for item in stmt.items:
        call = item.item
        if isinstance(call, cst.Call):
            name = t_name(ev.expr(call.func, scope))
            if name in KERNEL_LAUNCHERS:
                return True
    return False


def classify(func: FunctionValue, ev: Evaluator, scope: Scope) -> Site | None:
    """The site a module-level function defines, or None when it defines no kernel."""
    names = [decorator_name(d) for d in func.decorators]
    jit = "jit" in names
    configs: Any = None
    pass_configs: dict[str, Any] = {}
    for d in func.decorators:
        if isinstance(d, DecoratorCall):
            kind = decorator_name(d)
            if kind == "autotune":
                configs = d.kwargs.get("configs", d.args[0] if d.args else None)
            elif kind == "jit":
                pass_configs.update(normalize_pass_configs(d.kwargs.get("pass_configs")))
    node = func.node
    if "prim_func" in names:
        return Site(node.name.value, "prim_func", func, jit, configs, pass_configs, [node])
    inner = [
        d
        for d in _nested_defs(node.body)
        if any(decorator_name(ev.expr(dec.decorator, scope)) == "prim_func" for dec in d.decorators)
    ]
    if inner:
        return Site(node.name.value, "factory", func, jit, configs, pass_configs, inner)
    if any(is_kernel_with(s, ev, scope) for s in _statements(node.body)):
        if jit or configs is not None:
            return Site(node.name.value, "eager", func, jit, configs, pass_configs, [node], _tensor_params(node))
    return None


def _tensor_params(node: cst.FunctionDef) -> frozenset[str]:
    names: set[str] = set()
    for stmt in _statements(node.body):
        if not isinstance(stmt, cst.SimpleStatementLine):
            continue
        for small in stmt.body:
            if isinstance(small, cst.AnnAssign) and small.value is None and isinstance(small.target, cst.Name):
                ann = small.annotation.annotation
                head = ann.func if isinstance(ann, cst.Call) else ann.value if isinstance(ann, cst.Subscript) else ann
                if isinstance(head, cst.Attribute) and head.attr.value.endswith(("Tensor", "Buffer")):
                    names.add(small.target.value)
    return frozenset(names)


