"""Per-architecture limits: the one table every budget rule reads.

Numbers are the CUDA programming guide's opt-in maximum dynamic shared memory
per block (the value `cudaFuncSetAttribute(MaxDynamicSharedMemorySize)`
accepts), checked on an H100 for sm_90 (232448 B).
"""

from __future__ import annotations

from dataclasses import dataclass

STATIC_SHARED_LIMIT = 48 * 1024
MAX_THREADS_PER_BLOCK = 1024
MAX_REGISTERS_PER_THREAD = 255


@dataclass(frozen=True)
class Arch:
    name: str
    gpus: str
    shared_per_block: int
    shared_per_sm: int
    tma: bool
    barriers: bool

    @property
    def major_minor(self) -> tuple[int, int]:
        digits = self.name[3:].rstrip("a")
        return int(digits[:-1]), int(digits[-1])


def _arch(name: str, gpus: str, block: int, sm_kib: int, hopper_features: bool) -> Arch:
    return Arch(name, gpus, block, sm_kib * 1024, hopper_features, hopper_features)


ARCHES: dict[str, Arch] = {
    a.name: a
    for a in (
        _arch("sm_70", "V100", 98304, 96, False),
        _arch("sm_75", "T4, RTX 20", 65536, 64, False),
        _arch("sm_80", "A100, A800", 166912, 164, False),
        _arch("sm_86", "RTX 30, A10, A40", 101376, 100, False),
        _arch("sm_87", "Jetson Orin", 166912, 164, False),
        _arch("sm_89", "RTX 40, L4, L40S", 101376, 100, False),
        _arch("sm_90", "H100, H200", 232448, 228, True),
        _arch("sm_90a", "H100, H200", 232448, 228, True),
        _arch("sm_100", "B200, GB200", 232448, 228, True),
        _arch("sm_100a", "B200, GB200", 232448, 228, True),
        _arch("sm_120", "RTX 50, RTX PRO Blackwell", 101376, 100, True),
        _arch("sm_120a", "RTX 50, RTX PRO Blackwell", 101376, 100, True),
        _arch("sm_121", "GB10", 101376, 100, True),
        _arch("sm_121a", "GB10", 101376, 100, True),
    )
}

DEFAULT_ARCHES: tuple[str, ...] = ("sm_80", "sm_86", "sm_89", "sm_90")
# Where TileLang 0.1.15 lowers T.gemm to Hopper wgmma (and warp-specializes pipelined TMA loops)
WGMMA_ARCHES: frozenset[str] = frozenset({"sm_90", "sm_90a"})
ALL_ARCHES: tuple[str, ...] = tuple(n for n in ARCHES if not n.endswith("a"))


class ArchError(ValueError):
    pass


def parse_arch_list(spec: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """`"sm_80,sm_90"`, `"all"`, `"89"` or a list of those -> canonical names."""
    items = spec.split(",") if isinstance(spec, str) else list(spec)
    out: list[str] = []
    for raw in items:
        item = raw.strip().lower()
        if not item:
            continue
        if item == "all":
            names: tuple[str, ...] = ALL_ARCHES
        elif item == "default":
            names = DEFAULT_ARCHES
        else:
            if item.isdigit():
                item = "sm_" + item
            elif item.startswith("sm") and not item.startswith("sm_"):
                item = "sm_" + item[2:]
            if item not in ARCHES:
                known = ", ".join(ALL_ARCHES)
                raise ArchError(f"unknown arch {raw.strip()!r} (known: {known}, all)")
            names = (item,)
        for n in names:
            if n not in out:
                out.append(n)
    if not out:
        raise ArchError("empty --arch list")
    return tuple(out)
