"""Evaluate the integer index expressions the CUDA layouts build (for tests that check a layout by
enumerating every thread and register): Add, Sub, Mul, FloorDiv, FloorMod, bitwise xor, variables."""

from __future__ import annotations

from typing import Any


def eval_int(e: Any, env: dict[str, int]) -> int:
    from tvm import tirx

    if isinstance(e, tirx.IntImm):
        return int(e.value)
    if isinstance(e, tirx.Var):
        return env[e.name]
    a, b = eval_int(e.a, env), eval_int(e.b, env)
    if type(e).__name__ == "BitwiseXor":
        return a ^ b
    return {tirx.Add: lambda: a + b, tirx.Sub: lambda: a - b, tirx.Mul: lambda: a * b,
            tirx.FloorDiv: lambda: a // b, tirx.FloorMod: lambda: a % b}[type(e)]()
