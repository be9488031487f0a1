"""Abstract values the interpreter computes with.

Known Python values (int, float, bool, str, None, tuples, lists, dicts) stay
plain Python objects. What the analyzer cannot know becomes a `Sym` (an
integer-valued expression over unbound names, printed for the user) or an
`Unknown` (anything else). Nothing here ever runs user code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import libcst as cst


class Sym:
    """A symbolic integer expression such as `ceildiv(M, block_M)`.

    `free` holds the unbound names it depends on, so that a rule can say
    which parameters to bind.
    """

    __slots__ = ("text", "free", "prec")

    def __init__(self, text: str, free: frozenset[str] = frozenset(), prec: int = 100):
        self.text = text
        self.free = free
        self.prec = prec

    def __repr__(self) -> str:
        return f"Sym({self.text})"

    def __str__(self) -> str:
        return self.text

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sym) and other.text == self.text

    def __hash__(self) -> int:
        return hash(("Sym", self.text))


@dataclass(frozen=True)
class Unknown:
    """A value the analyzer cannot compute; `why` says what it was."""

    why: str = ""

    def __repr__(self) -> str:
        return f"Unknown({self.why})"


UNKNOWN = Unknown()


def free_names(value: Any) -> frozenset[str]:
    if isinstance(value, Sym):
        return value.free
    if isinstance(value, (tuple, list)):
        out: frozenset[str] = frozenset()
        for v in value:
            out |= free_names(v)
        return out
    return frozenset()


def is_known_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) or isinstance(value, bool)


def as_int(value: Any) -> int | None:
    """The integer value, or None when it is symbolic or not an integer."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def show(value: Any) -> str:
    """How a value is printed in messages and facts."""
    if isinstance(value, Sym):
        return value.text
    if isinstance(value, Unknown):
        return "?"
    if isinstance(value, (tuple, list)):
        return "(" + ", ".join(show(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    return str(value)


@dataclass(frozen=True)
class TRef:
    """An unevaluated reference into the TileLang namespace (`T.GemmWarpPolicy.FullRow`)."""

    path: str


@dataclass(frozen=True)
class ModuleRef:
    """An imported module the interpreter knows by name (`tilelang`, `torch`, `itertools`)."""

    name: str


@dataclass
class FunctionValue:
    """A `def` seen by the interpreter, with the scope it closes over."""

    node: cst.FunctionDef = field(repr=False)
    closure: Any = field(repr=False)  # analyzer.evaluate.Scope
    qualname: str
    decorators: tuple[Any, ...] = ()
    is_macro: bool = False
    defaults: dict[str, Any] = field(default_factory=dict)


@dataclass
class BoundMethod:
    target: Any
    name: str


@dataclass
class TensorValue:
    """A host tensor made in a driver (`torch.randn(M, K)`): only its shape and dtype."""

    shape: tuple[Any, ...]
    dtype: Any = None


@dataclass
class ArgParser:
    """`argparse.ArgumentParser()`: collects `add_argument` defaults."""

    defaults: dict[str, Any] = field(default_factory=dict)


@dataclass
class Namespace:
    values: dict[str, Any]


@dataclass
class ConstDecl:
    """Names declared by `T.const("M, N")` / `T.dynamic("M")` inside a kernel."""

    names: tuple[str, ...]
