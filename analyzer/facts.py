"""Facts: a KernelModel and its shared-memory plans reduced to plain data.

This is what `tilelint --format json` prints for each kernel, and what hovers
and inlay hints show. The layout is the JSON contract of DESIGN.md section 5.
"""

from __future__ import annotations

from typing import Any

from .config import Config
from .dtypes import DType
from .model import KernelModel, sym_text
from .registers import estimate_registers
from .shared_memory import SharedMemoryPlan
from .discover import normalize_pass_configs
from .values import ModuleRef, Sym, TensorValue, Unknown


def plain(value: Any) -> Any:
    """A JSON-friendly copy of an instantiation value."""
    if isinstance(value, bool) or value is None or isinstance(value, (int, float, str)):
        return value
    if isinstance(value, DType):
        return str(value)
    if isinstance(value, Sym):
        return value.text
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {_key(k): plain(v) for k, v in value.items()}
    if isinstance(value, Unknown):
        return None
    return str(value)


def _key(key: Any) -> str:
    if isinstance(key, ModuleRef):
        # PassConfigKey.TL_DISABLE_WARP_SPECIALIZED -> "tl.disable_warp_specialized"
        normalized = normalize_pass_configs({key: True})
        return next(iter(normalized)) if normalized else key.name
    return str(key)


def kernel_facts(model: KernelModel, plans: dict[str, SharedMemoryPlan], config: Config) -> dict[str, Any]:
    first = plans[config.arches[0]] if config.arches and config.arches[0] in plans else None
    versions = {id(p.buffer): p.versions for p in first.placements if p.buffer is not None} if first else {}
    launch = model.launch
    grid = [sym_text(g) for g in launch.grid] if launch else []
    grid = (grid + [1, 1, 1])[:3] if launch else []
    threads: Any = None
    if launch is not None:
        count = launch.thread_count
        threads = count if count is not None else [sym_text(t) for t in launch.threads]
    buffers = []
    for b in model.buffers:
        if b.is_param:
            continue
        buffers.append(
            {
                "name": b.name,
                "scope": b.scope,
                "shape": [sym_text(d) for d in b.shape],
                "dtype": str(b.dtype) if b.dtype is not None else None,
                "bytes": b.bytes,
                "versions": versions.get(id(b), 1),
                "line": b.span.line,
            }
        )
    # the register estimate of analyzer.registers, for the first arch (per_arch repeats it where it differs)
    kernel_registers = _registers(model, config.arches[0]) if config.arches else None
    per_arch: dict[str, Any] = {}
    for arch, plan in plans.items():
        entry: dict[str, Any] = {
            "shared_memory_bytes": plan.dynamic_bytes,
            "limit": plan.limit,
            "fits": plan.fits,
        }
        if plan.static_bytes:
            entry["static_shared_memory_bytes"] = plan.static_bytes
        if plan.warp_specialized:
            entry["warp_specialized"] = True
        if plan.unknown_reason:
            entry["unknown_reason"] = plan.unknown_reason
        registers = _registers(model, arch)
        if registers != kernel_registers:
            entry["registers_per_thread"] = registers  # only where it differs (wgmma on sm_90 needs fewer)
        per_arch[arch] = entry
    instantiation = {k: plain(v) for k, v in model.instantiation.items() if not isinstance(v, TensorValue)}
    return {
        "name": model.name,
        "site": model.site,
        "style": model.style,
        "line": model.span.line,
        "instantiation": instantiation,
        "instantiation_source": model.instantiation_source,
        "unbound": list(model.unbound),
        "grid": grid,
        "threads": threads,
        "buffers": buffers,
        "shared_memory_bytes": first.dynamic_bytes if first else None,
        "registers_per_thread": kernel_registers,
        "per_arch": per_arch,
    }


def _registers(model: KernelModel, arch: str) -> int | None:
    """The register estimate of analyzer.registers (per thread, 32-bit), None without a known thread count."""
    if model.incomplete or model.launch is None or model.launch.thread_count is None:
        return None
    try:
        return estimate_registers(model, arch).total
    except Exception:  # noqa: BLE001 - a fact must never break the report
        return None
