"""Element types: the names TileLang accepts and how many bytes they take.

`T.float16`, `"float16"`, `torch.float16` and the C-style aliases (`T.half`,
`T.float`, `T.int`, ...) all normalise to one canonical name. Storage follows
TileLang 0.1.15: every scalar lane rounds up to a whole byte, except packed
4-bit types (int4, uint4, float4_e2m1fn), which store two values per byte.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

# canonical name -> bits per lane
_BITS: dict[str, int] = {
    "bool": 8,
    "int4": 4,
    "uint4": 4,
    "int8": 8,
    "uint8": 8,
    "int16": 16,
    "uint16": 16,
    "int32": 32,
    "uint32": 32,
    "int64": 64,
    "uint64": 64,
    "float16": 16,
    "bfloat16": 16,
    "float32": 32,
    "float64": 64,
    "tfloat32": 32,
    "float8_e3m4": 8,
    "float8_e4m3": 8,
    "float8_e4m3b11fnuz": 8,
    "float8_e4m3fn": 8,
    "float8_e4m3fnuz": 8,
    "float8_e5m2": 8,
    "float8_e5m2fnuz": 8,
    "float8_e8m0fnu": 8,
    "float6_e2m3fn": 6,
    "float6_e3m2fn": 6,
    "float4_e2m1fn": 4,
    "float4_e2m1_unpacked": 8,
    "handle": 64,
}

_ALIASES: dict[str, str] = {
    "half": "float16",
    "float": "float32",
    "double": "float64",
    "int": "int32",
    "uint": "uint32",
    "long": "int64",
    "short": "int16",
    "fp16": "float16",
    "bf16": "bfloat16",
    "fp32": "float32",
    "fp64": "float64",
    "e4m3_float8": "float8_e4m3fn",
    "e5m2_float8": "float8_e5m2",
    "custom[tfloat32]": "tfloat32",
    "custom[float4_e2m1_unpacked]8": "float4_e2m1_unpacked",
    # torch spellings (torch.float16 etc. arrive here without the module)
    "float8_e4m3fnuz_": "float8_e4m3fnuz",
    "cfloat": "complex64",
}

_PACKED_4BIT = frozenset({"int4", "uint4", "float4_e2m1fn"})
_VECTOR = re.compile(r"^([a-z0-9_]+?)x(\d+)$")


@dataclass(frozen=True)
class DType:
    """A canonical element type, possibly a vector (`float16x8`)."""

    name: str
    lanes: int = 1

    @property
    def bits(self) -> int:
        return _BITS[self.name]

    def __str__(self) -> str:
        return self.name if self.lanes == 1 else f"{self.name}x{self.lanes}"

    @property
    def is_float(self) -> bool:
        return self.name.startswith(("float", "bfloat", "tfloat"))

    @property
    def is_int(self) -> bool:
        return self.name.startswith(("int", "uint"))

    def storage_bytes(self, elements: int) -> int:
        """Bytes of a compact buffer of `elements` values of this type."""
        if self.name in _PACKED_4BIT:
            return (elements * self.bits * self.lanes + 7) // 8
        return elements * math.ceil(self.bits / 8) * self.lanes

    @property
    def element_bytes(self) -> float:
        """Bytes per element (0.5 for packed 4-bit types)."""
        if self.name in _PACKED_4BIT:
            return self.bits * self.lanes / 8
        return math.ceil(self.bits / 8) * self.lanes


def parse_dtype(text: str) -> DType | None:
    """Canonicalise a dtype spelling; None when it is not a dtype we know."""
    key = text.strip()
    if key.startswith("torch."):
        key = key[len("torch.") :]
    if key.startswith("T."):
        key = key[2:]
    key = _ALIASES.get(key, key)
    if key in _BITS:
        return DType(key)
    match = _VECTOR.match(key)
    if match:
        base = _ALIASES.get(match.group(1), match.group(1))
        if base in _BITS:
            return DType(base, int(match.group(2)))
    return None


def known_names() -> tuple[str, ...]:
    """Every scalar spelling accepted in a dtype position (for completion)."""
    return tuple(sorted(set(_BITS) | set(a for a in _ALIASES if a.isidentifier())))
