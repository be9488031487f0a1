"""A small, bounded abstract interpreter for the Python around kernels.

It evaluates the Python that decides a kernel's shapes: module constants,
factory bodies, `main()`-style drivers, autotune config lists, argparse
defaults. It understands integer arithmetic, `//`, `%`, `min`/`max`,
`T.ceildiv`, tuples, lists, dicts, comprehensions, conditionals on known
values and calls to functions defined in the same file. Anything else
becomes `Unknown`; unbound names become `Sym`. It never imports or runs user
code, and a step budget bounds every evaluation so that no input can hang it.
"""

from __future__ import annotations

import ast as pyast
import itertools
import math
import operator
import re
from dataclasses import dataclass
from typing import Any, Callable, Iterable

import libcst as cst

from .dtypes import DType, parse_dtype
from .values import (
    UNKNOWN,
    ArgParser,
    BoundMethod,
    FunctionValue,
    ModuleRef,
    Namespace,
    Sym,
    TensorValue,
    Unknown,
    as_int,
)

T_MODULE = "tilelang.language"
MAX_ITERATIONS = 4096
MAX_CONTAINER = 100_000
MAX_CALL_DEPTH = 24


class BudgetExceeded(Exception):
    """The evaluation ran out of steps (a loop too long to follow)."""


class Return(Exception):
    def __init__(self, value: Any):
        self.value = value


class LoopControl(Exception):
    def __init__(self, kind: str):
        self.kind = kind


_MISSING = object()


class Scope:
    __slots__ = ("vars", "parent", "globals_")

    def __init__(self, parent: "Scope | None" = None):
        self.vars: dict[str, Any] = {}
        self.parent = parent
        self.globals_: set[str] = set()

    def lookup(self, name: str) -> Any:
        scope: Scope | None = self
        while scope is not None:
            value = scope.vars.get(name, _MISSING)
            if value is not _MISSING:
                return value
            scope = scope.parent
        return _MISSING

    def set(self, name: str, value: Any) -> None:
        self.vars[name] = value

    def root(self) -> "Scope":
        scope = self
        while scope.parent is not None:
            scope = scope.parent
        return scope


def t_name(value: Any) -> str | None:
    """`copy` for a reference to `tilelang.language.copy`, else None."""
    if isinstance(value, ModuleRef) and value.name.startswith(T_MODULE + "."):
        return value.name[len(T_MODULE) + 1 :]
    return None


def qualname(value: Any) -> str | None:
    return value.name if isinstance(value, ModuleRef) else None


# ---------------------------------------------------------------------------
# symbolic arithmetic

_PREC = {"or": 1, "and": 2, "not": 3, "cmp": 4, "+": 6, "-": 6, "*": 7, "/": 7, "//": 7, "%": 7, "**": 9}


def _wrap(value: Any, prec: int) -> str:
    if isinstance(value, Sym):
        return value.text if value.prec >= prec else f"({value.text})"
    if isinstance(value, DType):
        return str(value)
    if isinstance(value, Unknown):
        return "?"
    return repr(value) if isinstance(value, str) else str(value)


def sym_binop(op: str, left: Any, right: Any) -> Sym:
    prec = _PREC.get(op, 4)
    right_prec = prec + 1 if op in ("-", "/", "//", "%") else prec
    text = f"{_wrap(left, prec)} {op} {_wrap(right, right_prec)}"
    free = (left.free if isinstance(left, Sym) else frozenset()) | (
        right.free if isinstance(right, Sym) else frozenset()
    )
    return Sym(text, free, prec)


def sym_call(name: str, args: Iterable[Any]) -> Sym:
    args = list(args)
    free: frozenset[str] = frozenset()
    for a in args:
        if isinstance(a, Sym):
            free |= a.free
    return Sym(f"{name}(" + ", ".join(_wrap(a, 0) for a in args) + ")", free)


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, Unknown)


def _symbolic(v: Any) -> bool:
    return isinstance(v, Sym)


_BINOPS: dict[type, tuple[str, Callable[[Any, Any], Any]]] = {
    cst.Add: ("+", operator.add),
    cst.Subtract: ("-", operator.sub),
    cst.Multiply: ("*", operator.mul),
    cst.Divide: ("/", operator.truediv),
    cst.FloorDivide: ("//", operator.floordiv),
    cst.Modulo: ("%", operator.mod),
    cst.Power: ("**", operator.pow),
    cst.LeftShift: ("<<", operator.lshift),
    cst.RightShift: (">>", operator.rshift),
    cst.BitAnd: ("&", operator.and_),
    cst.BitOr: ("|", operator.or_),
    cst.BitXor: ("^", operator.xor),
    cst.MatrixMultiply: ("@", lambda a, b: UNKNOWN),
}

_AUG = {
    cst.AddAssign: cst.Add,
    cst.SubtractAssign: cst.Subtract,
    cst.MultiplyAssign: cst.Multiply,
    cst.DivideAssign: cst.Divide,
    cst.FloorDivideAssign: cst.FloorDivide,
    cst.ModuloAssign: cst.Modulo,
    cst.PowerAssign: cst.Power,
    cst.LeftShiftAssign: cst.LeftShift,
    cst.RightShiftAssign: cst.RightShift,
    cst.BitAndAssign: cst.BitAnd,
    cst.BitOrAssign: cst.BitOr,
    cst.BitXorAssign: cst.BitXor,
}

_CMP: dict[type, Callable[[Any, Any], Any]] = {
    cst.Equal: operator.eq,
    cst.NotEqual: operator.ne,
    cst.LessThan: operator.lt,
    cst.LessThanEqual: operator.le,
    cst.GreaterThan: operator.gt,
    cst.GreaterThanEqual: operator.ge,
    cst.Is: operator.is_,
    cst.IsNot: operator.is_not,
    cst.In: lambda a, b: a in b,
    cst.NotIn: lambda a, b: a not in b,
}


def binop(op_type: type, left: Any, right: Any) -> Any:
    sym, fn = _BINOPS[op_type]
    if isinstance(left, Unknown) or isinstance(right, Unknown):
        return UNKNOWN
    if _symbolic(left) or _symbolic(right):
        if (_is_num(left) or _symbolic(left)) and (_is_num(right) or _symbolic(right)):
            # x * 1, x + 0 and friends keep the text readable
            if sym == "*" and (left == 1 or right == 1):
                return right if left == 1 else left
            if sym in ("+", "-") and right == 0:
                return left
            if sym == "+" and left == 0:
                return right
            return sym_binop(sym, left, right)
        return UNKNOWN
    if isinstance(left, DType) or isinstance(right, DType):
        return UNKNOWN
    try:
        if sym == "**" and _is_num(right) and abs(right) > 256:
            return UNKNOWN
        if sym == "<<" and _is_num(right) and right > 256:
            return UNKNOWN
        if sym == "*" and isinstance(left, (list, tuple, str)) and isinstance(right, int):
            if len(left) * right > MAX_CONTAINER:
                return UNKNOWN
        if sym == "*" and isinstance(right, (list, tuple, str)) and isinstance(left, int):
            if len(right) * left > MAX_CONTAINER:
                return UNKNOWN
        return fn(left, right)
    except Exception:
        return UNKNOWN


def truthy(value: Any) -> bool | None:
    """Python truth of a known value; None when it cannot be known."""
    if isinstance(value, (Unknown, Sym, ModuleRef, FunctionValue)):
        return None if not isinstance(value, (ModuleRef, FunctionValue)) else True
    try:
        return bool(value)
    except Exception:
        return None


def ceildiv(a: Any, b: Any) -> Any:
    x, y = as_int(a), as_int(b)
    if x is not None and y is not None and y != 0:
        return -(-x // y)
    if isinstance(a, Unknown) or isinstance(b, Unknown):
        return UNKNOWN
    return sym_call("ceildiv", (a, b))


def _minmax(name: str, args: list[Any]) -> Any:
    if len(args) == 1 and isinstance(args[0], (list, tuple)):
        args = list(args[0])
    if not args:
        return UNKNOWN
    if any(isinstance(a, Unknown) for a in args):
        return UNKNOWN
    if any(isinstance(a, Sym) for a in args):
        return sym_call(name, args)
    try:
        return (min if name == "min" else max)(args)
    except Exception:
        return UNKNOWN


# ---------------------------------------------------------------------------


@dataclass
class CallSite:
    """A call of a kernel site with the argument values known at that point."""

    site: FunctionValue
    args: list[Any]
    kwargs: dict[str, Any]
    via: str  # "call", "compile", "get_tir"


@dataclass
class Hooks:
    """How the surrounding stage reacts to definitions and calls."""

    on_def: Callable[[FunctionValue, Scope], None] | None = None
    on_site_call: Callable[[CallSite], Any] | None = None
    site_names: frozenset[str] = frozenset()


class Evaluator:
    """Evaluates expressions and runs statements of ordinary Python."""

    def __init__(self, budget: int = 400_000):
        self.steps = 0
        self.budget = budget
        self.depth = 0
        self.hooks = Hooks()
        self.star_modules: list[str] = []
        self._dispatch = _DISPATCH.setdefault(type(self), {})  # expr: node type -> _e_ method, per class
        # scopes a `def` ran in: each holds a function that closes over it (a reference cycle; see release)
        self.def_scopes: list[Scope] = []

    def release(self) -> None:
        """Break the reference cycles the run made, once no more code will be evaluated.

        A function and the scope it is defined in refer to each other, and so do
        an evaluator and its hooks (bound methods); through them every value,
        model and libcst node of the file would wait for Python's cyclic
        collector, which is slow on trees this size. Cleared, they are freed by
        reference counting as soon as the caller drops them.
        """
        for scope in self.def_scopes:
            scope.vars.clear()
        self.def_scopes.clear()
        self.hooks = Hooks()

    # -- bookkeeping --------------------------------------------------------
    def tick(self, n: int = 1) -> None:
        self.steps += n
        if self.steps > self.budget:
            raise BudgetExceeded()

    # -- names ---------------------------------------------------------------
    def lookup(self, name: str, scope: Scope) -> Any:
        value = scope.lookup(name)
        if value is not _MISSING:
            return value
        builtin = BUILTINS.get(name)
        if builtin is not None:
            return builtin
        if name in ("True", "False", "None"):
            return {"True": True, "False": False, "None": None}[name]
        if name == "__name__":
            return "__main__"
        for module in self.star_modules:
            return ModuleRef(f"{module}.{name}")
        return Sym(name, frozenset({name}))

    # -- expressions ---------------------------------------------------------
    def expr(self, node: cst.BaseExpression, scope: Scope) -> Any:
        self.steps += 1
        if self.steps > self.budget:
            raise BudgetExceeded()
        kind = type(node)
        method = self._dispatch.get(kind)
        if method is None:
            method = self._dispatch[kind] = getattr(type(self), "_e_" + kind.__name__, _no_method)
        return method(self, node, scope)

    def _e_Integer(self, node: cst.Integer, scope: Scope) -> Any:
        try:
            return int(node.value.replace("_", ""), 0)
        except ValueError:
            return UNKNOWN

    def _e_Float(self, node: cst.Float, scope: Scope) -> Any:
        try:
            return float(node.value.replace("_", ""))
        except ValueError:
            return UNKNOWN

    def _e_Imaginary(self, node: cst.Imaginary, scope: Scope) -> Any:
        return UNKNOWN

    def _e_SimpleString(self, node: cst.SimpleString, scope: Scope) -> Any:
        raw = node.value
        value = _STRINGS.get(raw, _MISSING)
        if value is _MISSING:
            try:
                value = node.evaluated_value
            except Exception:
                value = UNKNOWN
            if not isinstance(value, str):
                value = UNKNOWN
            if len(_STRINGS) < 4096:
                _STRINGS[raw] = value
        return value

    def _e_ConcatenatedString(self, node: cst.ConcatenatedString, scope: Scope) -> Any:
        left = self.expr(node.left, scope)
        right = self.expr(node.right, scope)
        if isinstance(left, str) and isinstance(right, str):
            return left + right
        return UNKNOWN

    def _e_FormattedString(self, node: cst.FormattedString, scope: Scope) -> Any:
        parts: list[str] = []
        for part in node.parts:
            if isinstance(part, cst.FormattedStringText):
                parts.append(part.value)
            else:
                value = self.expr(part.expression, scope)
                if isinstance(value, (Unknown, Sym)) or part.format_spec:
                    return UNKNOWN
                parts.append(str(value))
        return "".join(parts)

    def _e_Name(self, node: cst.Name, scope: Scope) -> Any:
        return self.lookup(node.value, scope)

    def _e_Attribute(self, node: cst.Attribute, scope: Scope) -> Any:
        base = self.expr(node.value, scope)
        return self.attribute(base, node.attr.value)

    def attribute(self, base: Any, attr: str) -> Any:
        if isinstance(base, ModuleRef):
            if base.name == T_MODULE and attr[:1].islower():
                dt = parse_dtype(attr)
                if dt is not None:
                    return dt
            if base.name == "torch":
                dt = parse_dtype(attr)
                if dt is not None:
                    return dt
            return ModuleRef(f"{base.name}.{attr}")
        if isinstance(base, Namespace):
            return base.values.get(attr, UNKNOWN)
        if isinstance(base, TensorValue):
            if attr == "shape":
                return tuple(base.shape)
            if attr == "dtype":
                return base.dtype if base.dtype is not None else UNKNOWN
            if attr == "ndim":
                return len(base.shape)
            return BoundMethod(base, attr)
        if isinstance(base, DType):
            if attr == "bits":
                return base.bits
            return UNKNOWN
        if isinstance(base, (dict, list, str, tuple, ArgParser, FunctionValue)):
            return BoundMethod(base, attr)
        return UNKNOWN

    def _e_Subscript(self, node: cst.Subscript, scope: Scope) -> Any:
        base = self.expr(node.value, scope)
        keys = [self.slice_element(el.slice, scope) for el in node.slice]
        key: Any = keys[0] if len(keys) == 1 else tuple(keys)
        return self.subscript(base, key)

    def slice_element(self, sl: cst.BaseSlice, scope: Scope) -> Any:
        if isinstance(sl, cst.Index):
            if sl.star is not None:
                return UNKNOWN
            return self.expr(sl.value, scope)
        assert isinstance(sl, cst.Slice)
        lower = self.expr(sl.lower, scope) if sl.lower is not None else None
        upper = self.expr(sl.upper, scope) if sl.upper is not None else None
        step = self.expr(sl.step, scope) if sl.step is not None else None
        return PySlice(lower, upper, step)

    def subscript(self, base: Any, key: Any) -> Any:
        if isinstance(base, ModuleRef):
            return ModuleRef(base.name + "[]")
        if isinstance(key, PySlice):
            if isinstance(base, (list, tuple, str)) and key.known():
                return base[key.to_slice()]
            return UNKNOWN
        if isinstance(base, (list, tuple, str)):
            i = as_int(key)
            if i is not None and -len(base) <= i < len(base):
                return base[i]
            return UNKNOWN
        if isinstance(base, dict):
            try:
                return base.get(key, UNKNOWN)
            except TypeError:
                return UNKNOWN
        return UNKNOWN

    def _e_Tuple(self, node: cst.Tuple, scope: Scope) -> Any:
        return tuple(self.elements(node.elements, scope))

    def _e_List(self, node: cst.List, scope: Scope) -> Any:
        return list(self.elements(node.elements, scope))

    def _e_Set(self, node: cst.Set, scope: Scope) -> Any:
        items = self.elements(node.elements, scope)
        try:
            return set(items)
        except TypeError:
            return UNKNOWN

    def elements(self, elements: Iterable[cst.BaseElement], scope: Scope) -> list[Any]:
        out: list[Any] = []
        for el in elements:
            if isinstance(el, cst.StarredElement):
                value = self.expr(el.value, scope)
                if isinstance(value, (list, tuple)):
                    out.extend(value)
                else:
                    out.append(UNKNOWN)
            else:
                out.append(self.expr(el.value, scope))
        return out

    def _e_Dict(self, node: cst.Dict, scope: Scope) -> Any:
        out: dict[Any, Any] = {}
        for el in node.elements:
            if isinstance(el, cst.StarredDictElement):
                value = self.expr(el.value, scope)
                if isinstance(value, dict):
                    out.update(value)
                continue
            key = self.expr(el.key, scope)
            try:
                out[key] = self.expr(el.value, scope)
            except TypeError:
                return UNKNOWN
        return out

    def _e_UnaryOperation(self, node: cst.UnaryOperation, scope: Scope) -> Any:
        value = self.expr(node.expression, scope)
        if isinstance(node.operator, cst.Not):
            t = truthy(value)
            return UNKNOWN if t is None else (not t)
        if isinstance(value, Sym):
            if isinstance(node.operator, cst.Minus):
                return Sym(f"-{_wrap(value, 8)}", value.free, 8)
            return value if isinstance(node.operator, cst.Plus) else UNKNOWN
        if not _is_num(value) or isinstance(value, bool) and isinstance(node.operator, cst.BitInvert):
            return UNKNOWN if not isinstance(value, bool) else ~value
        if isinstance(node.operator, cst.Minus):
            return -value
        if isinstance(node.operator, cst.Plus):
            return +value
        if isinstance(node.operator, cst.BitInvert) and isinstance(value, int):
            return ~value
        return UNKNOWN

    def _e_BinaryOperation(self, node: cst.BinaryOperation, scope: Scope) -> Any:
        left = self.expr(node.left, scope)
        right = self.expr(node.right, scope)
        return binop(type(node.operator), left, right)

    def _e_BooleanOperation(self, node: cst.BooleanOperation, scope: Scope) -> Any:
        left = self.expr(node.left, scope)
        t = truthy(left)
        if t is None:
            right = self.expr(node.right, scope)
            return UNKNOWN if not isinstance(right, Sym) and not isinstance(left, Sym) else sym_binop(
                "and" if isinstance(node.operator, cst.And) else "or", left, right
            )
        if isinstance(node.operator, cst.And):
            return self.expr(node.right, scope) if t else left
        return left if t else self.expr(node.right, scope)

    def _e_Comparison(self, node: cst.Comparison, scope: Scope) -> Any:
        left = self.expr(node.left, scope)
        result: Any = True
        for target in node.comparisons:
            right = self.expr(target.comparator, scope)
            if isinstance(left, (Unknown, Sym)) or isinstance(right, (Unknown, Sym)):
                if isinstance(target.operator, (cst.Is, cst.IsNot)) and (left is None or right is None):
                    # `x is None` on a symbol: a symbol is never None
                    ok = isinstance(target.operator, cst.IsNot)
                    if isinstance(left, Unknown) or isinstance(right, Unknown):
                        return UNKNOWN
                    result = result and ok
                    left = right
                    continue
                return UNKNOWN if not (isinstance(left, Sym) or isinstance(right, Sym)) else sym_binop(
                    "cmp", left, right
                )
            try:
                ok = _CMP[type(target.operator)](left, right)
            except Exception:
                return UNKNOWN
            result = result and ok
            left = right
        return result

    def _e_IfExp(self, node: cst.IfExp, scope: Scope) -> Any:
        t = truthy(self.expr(node.test, scope))
        if t is None:
            a = self.expr(node.body, scope)
            b = self.expr(node.orelse, scope)
            return a if a == b and not isinstance(a, Unknown) else UNKNOWN
        return self.expr(node.body if t else node.orelse, scope)

    def _e_Lambda(self, node: cst.Lambda, scope: Scope) -> Any:
        return UNKNOWN

    def _e_Ellipsis(self, node: cst.Ellipsis, scope: Scope) -> Any:
        return Ellipsis

    def _e_NamedExpr(self, node: cst.NamedExpr, scope: Scope) -> Any:
        value = self.expr(node.value, scope)
        if isinstance(node.target, cst.Name):
            scope.set(node.target.value, value)
        return value

    def _e_GeneratorExp(self, node: cst.GeneratorExp, scope: Scope) -> Any:
        return self.comprehension(node.elt, node.for_in, scope, list)

    def _e_ListComp(self, node: cst.ListComp, scope: Scope) -> Any:
        return self.comprehension(node.elt, node.for_in, scope, list)

    def _e_SetComp(self, node: cst.SetComp, scope: Scope) -> Any:
        return self.comprehension(node.elt, node.for_in, scope, set)

    def _e_DictComp(self, node: cst.DictComp, scope: Scope) -> Any:
        pairs = self.comprehension(cst.Tuple([cst.Element(node.key), cst.Element(node.value)]), node.for_in, scope, list)
        if isinstance(pairs, Unknown):
            return pairs
        try:
            return dict(pairs)
        except TypeError:
            return UNKNOWN

    def comprehension(self, elt: cst.BaseExpression, comp: cst.CompFor, scope: Scope, kind: type) -> Any:
        inner = Scope(scope)
        out: list[Any] = []
        if not self._comprehend(comp, elt, inner, out):
            return UNKNOWN
        try:
            return kind(out)
        except TypeError:
            return UNKNOWN

    def _comprehend(self, c: cst.CompFor, elt: cst.BaseExpression, inner: Scope, out: list[Any]) -> bool:
        # A method, not a recursive closure: a closure that calls itself is a reference cycle, which would
        # keep the evaluator (and with it the file's trees) alive until the cyclic collector runs.
        iterable = self.iterate(self.expr(c.iter, inner))
        if iterable is None:
            return False
        for item in iterable:
            self.tick()
            self.assign(c.target, item, inner)
            if not all(truthy(self.expr(cond.test, inner)) for cond in c.ifs):
                continue
            if c.inner_for_in is not None:
                if not self._comprehend(c.inner_for_in, elt, inner, out):
                    return False
            else:
                out.append(self.expr(elt, inner))
                if len(out) > MAX_CONTAINER:
                    return False
        return True

    def iterate(self, value: Any) -> list[Any] | None:
        if isinstance(value, range):
            if len(value) > MAX_ITERATIONS:
                return None
            return list(value)
        if isinstance(value, (list, tuple, str, set, frozenset)):
            if isinstance(value, (set, frozenset)):
                try:
                    return sorted(value)
                except TypeError:
                    return list(value)
            return list(value)
        if isinstance(value, dict):
            return list(value.keys())
        if isinstance(value, _Iter):
            return value.items
        return None

    def _e_Call(self, node: cst.Call, scope: Scope) -> Any:
        func = self.expr(node.func, scope)
        args, kwargs = self.call_args(node, scope)
        return self.call(func, args, kwargs, node)

    def call_args(self, node: cst.Call, scope: Scope) -> tuple[list[Any], dict[str, Any]]:
        args: list[Any] = []
        kwargs: dict[str, Any] = {}
        for arg in node.args:
            value = self.expr(arg.value, scope)
            if arg.keyword is not None:
                kwargs[arg.keyword.value] = value
            elif arg.star == "*":
                items = self.iterate(value) if not isinstance(value, (Unknown, Sym)) else None
                if items is not None:
                    args.extend(items)
                else:
                    args.append(_Spread(value))
            elif arg.star == "**":
                if isinstance(value, dict):
                    kwargs.update({str(k): v for k, v in value.items()})
                else:
                    kwargs["**"] = UNKNOWN
            else:
                args.append(value)
        return args, kwargs

    # -- calls -----------------------------------------------------------------
    def call(self, func: Any, args: list[Any], kwargs: dict[str, Any], node: cst.Call | None = None) -> Any:
        self.tick()
        if isinstance(func, FunctionValue):
            if func.qualname in self.hooks.site_names and self.hooks.on_site_call is not None:
                return self.hooks.on_site_call(CallSite(func, args, kwargs, "call"))
            return self.call_function(func, args, kwargs)
        if isinstance(func, BoundMethod):
            return self.call_method(func, args, kwargs)
        if isinstance(func, _Builtin):
            try:
                return func.fn(self, args, kwargs)
            except (BudgetExceeded, Return):
                raise
            except Exception:
                return UNKNOWN
        if isinstance(func, ModuleRef):
            return self.call_module(func, args, kwargs)
        return UNKNOWN

    def call_module(self, func: ModuleRef, args: list[Any], kwargs: dict[str, Any]) -> Any:
        name = func.name
        t = t_name(func)
        if t is not None:
            if t in ("prim_func", "macro"):
                return DecoratorCall(func, args, kwargs)
            return self.call_t(t, args, kwargs)
        if decorator_name(func) is not None:
            return DecoratorCall(func, args, kwargs)
        known = MODULE_FUNCTIONS.get(name)
        if known is not None:
            try:
                return known(self, args, kwargs)
            except (BudgetExceeded, Return):
                raise
            except Exception:
                return UNKNOWN
        if name.startswith("torch."):
            return torch_call(name[len("torch.") :], args, kwargs)
        return UNKNOWN

    def call_t(self, name: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        """`T.*` calls in ordinary Python (the kernel interpreter handles tile ops)."""
        if name == "ceildiv" and len(args) == 2:
            return ceildiv(args[0], args[1])
        if name in ("max", "min") and len(args) >= 2:
            return _minmax(name, args)
        if name in ("floordiv", "truncdiv") and len(args) == 2:
            return binop(cst.FloorDivide, args[0], args[1])
        if name in ("floormod", "truncmod") and len(args) == 2:
            return binop(cst.Modulo, args[0], args[1])
        if name in ("int32", "int64", "uint32", "float32", "float16", "cast") and len(args) >= 1:
            dt = parse_dtype(name)
            if name == "cast" or dt is None:
                return args[-1] if len(args) == 2 and _is_num(args[-1]) else UNKNOWN
            value = args[0]
            if dt.is_int and _is_num(value):
                return int(value)
            if dt.is_float and _is_num(value):
                return float(value)
            return value if isinstance(value, Sym) else UNKNOWN
        if name == "dtype" and args and isinstance(args[0], (str, DType)):
            return parse_dtype(str(args[0])) or UNKNOWN
        if name in ("dynamic", "symbolic") and args and isinstance(args[0], str):
            return Sym(args[0], frozenset({args[0]}))
        return UNKNOWN

    def call_function(self, func: FunctionValue, args: list[Any], kwargs: dict[str, Any]) -> Any:
        if self.depth >= MAX_CALL_DEPTH:
            return UNKNOWN
        scope = Scope(func.closure)
        if not bind_params(func, args, kwargs, scope, self):
            return UNKNOWN
        self.depth += 1
        try:
            self.run_block(func.node.body, scope)
        except Return as ret:
            return ret.value
        except LoopControl:
            return UNKNOWN
        finally:
            self.depth -= 1
        return None

    def call_method(self, method: BoundMethod, args: list[Any], kwargs: dict[str, Any]) -> Any:
        target, name = method.target, method.name
        try:
            if isinstance(target, FunctionValue):
                if name in ("compile", "get_tir", "get_kernel", "__call__") and self.hooks.on_site_call is not None:
                    if target.qualname in self.hooks.site_names:
                        return self.hooks.on_site_call(CallSite(target, args, kwargs, name))
                return UNKNOWN
            if isinstance(target, dict):
                if name == "values":
                    return _Iter(list(target.values()))
                if name == "keys":
                    return _Iter(list(target.keys()))
                if name == "items":
                    return _Iter([tuple(kv) for kv in target.items()])
                if name == "get":
                    return target.get(args[0], args[1] if len(args) > 1 else None)
                if name == "update" and args and isinstance(args[0], dict):
                    target.update(args[0])
                    target.update(kwargs)
                    return None
                if name == "copy":
                    return dict(target)
                if name == "setdefault":
                    return target.setdefault(args[0], args[1] if len(args) > 1 else None)
                if name == "pop":
                    return target.pop(args[0], *args[1:2])
                return UNKNOWN
            if isinstance(target, list):
                if name == "append":
                    if len(target) < MAX_CONTAINER:
                        target.append(args[0])
                    return None
                if name == "extend":
                    items = self.iterate(args[0])
                    if items is not None:
                        target.extend(items)
                    return None
                if name == "insert":
                    target.insert(args[0], args[1])
                    return None
                if name == "pop":
                    return target.pop(*args)
                if name == "index":
                    return target.index(args[0])
                if name == "copy":
                    return list(target)
                if name == "count":
                    return target.count(args[0])
                return UNKNOWN
            if isinstance(target, tuple):
                if name in ("index", "count"):
                    return getattr(target, name)(*args)
                return UNKNOWN
            if isinstance(target, str):
                if name in _STR_METHODS and all(isinstance(a, (str, int)) or a is None for a in args):
                    if name == "format":
                        if any(isinstance(v, (Unknown, Sym)) for v in kwargs.values()):
                            return UNKNOWN
                        return target.format(*args, **kwargs)
                    if name == "join":
                        return UNKNOWN
                    return getattr(target, name)(*args)
                if name == "join" and args:
                    items = self.iterate(args[0])
                    if items is not None and all(isinstance(i, str) for i in items):
                        return target.join(items)
                if name == "format":
                    if any(isinstance(v, (Unknown, Sym)) for v in list(args) + list(kwargs.values())):
                        return UNKNOWN
                    return target.format(*args, **kwargs)
                return UNKNOWN
            if isinstance(target, ArgParser):
                if name == "add_argument":
                    record_argument(target, args, kwargs)
                    return None
                if name in ("parse_args", "parse_known_args"):
                    ns = Namespace(dict(target.defaults))
                    return ns if name == "parse_args" else (ns, [])
                if name in ("add_argument_group", "add_mutually_exclusive_group"):
                    return target
                return None
            if isinstance(target, TensorValue):
                return tensor_method(target, name, args, kwargs)
        except (BudgetExceeded, Return):
            raise
        except Exception:
            return UNKNOWN
        return UNKNOWN

    # -- statements --------------------------------------------------------
    def run_block(self, block: cst.BaseSuite | list[Any], scope: Scope) -> None:
        stmts = block.body if isinstance(block, (cst.IndentedBlock, cst.SimpleStatementSuite)) else block
        for stmt in stmts:
            self.stmt(stmt, scope)

    def stmt(self, stmt: cst.CSTNode, scope: Scope) -> None:
        self.tick()
        if isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                self.small_stmt(small, scope)
            return
        method = getattr(self, "_s_" + type(stmt).__name__, None)
        if method is not None:
            method(stmt, scope)

    def small_stmt(self, small: cst.BaseSmallStatement, scope: Scope) -> None:
        if isinstance(small, cst.Assign):
            value = self.expr(small.value, scope)
            for target in small.targets:
                self.assign(target.target, value, scope)
        elif isinstance(small, cst.AnnAssign):
            if small.value is not None:
                self.assign(small.target, self.expr(small.value, scope), scope)
        elif isinstance(small, cst.AugAssign):
            current = self.expr(small.target, scope)
            value = self.expr(small.value, scope)
            op = _AUG.get(type(small.operator))
            result = binop(op, current, value) if op else UNKNOWN
            if isinstance(current, list) and isinstance(small.operator, cst.AddAssign):
                items = self.iterate(value)
                if items is not None:
                    current.extend(items)
                    result = current
            self.assign(small.target, result, scope)
        elif isinstance(small, cst.Expr):
            self.expr(small.value, scope)
        elif isinstance(small, cst.Return):
            raise Return(self.expr(small.value, scope) if small.value is not None else None)
        elif isinstance(small, (cst.Import, cst.ImportFrom)):
            bind_import(small, scope, self)
        elif isinstance(small, cst.Break):
            raise LoopControl("break")
        elif isinstance(small, cst.Continue):
            raise LoopControl("continue")
        elif isinstance(small, cst.Global):
            for n in small.names:
                scope.globals_.add(n.name.value)
        elif isinstance(small, cst.Raise):
            raise Return(UNKNOWN)

    def assign(self, target: cst.BaseExpression, value: Any, scope: Scope) -> None:
        if isinstance(target, cst.Name):
            name = target.value
            if name in scope.globals_:
                scope.root().set(name, value)
            else:
                scope.set(name, value)
        elif isinstance(target, (cst.Tuple, cst.List)):
            items = self.iterate(value) if not isinstance(value, (Unknown, Sym)) else None
            elements = list(target.elements)
            starred = [i for i, e in enumerate(elements) if isinstance(e, cst.StarredElement)]
            if items is None or (not starred and len(items) != len(elements)):
                for el in elements:
                    self.assign(el.value, UNKNOWN, scope)
                return
            if starred:
                s = starred[0]
                after = len(elements) - s - 1
                head, rest = items[:s], items[s:]
                middle, tail = (rest[: len(rest) - after], rest[len(rest) - after :]) if after else (rest, [])
                parts = head + [list(middle)] + tail
            else:
                parts = items
            for el, item in zip(elements, parts):
                self.assign(el.value, item, scope)
        elif isinstance(target, cst.Subscript):
            base = self.expr(target.value, scope)
            if isinstance(base, (dict, list)) and len(target.slice) == 1:
                key = self.slice_element(target.slice[0].slice, scope)
                try:
                    if isinstance(base, dict):
                        base[key] = value
                    elif as_int(key) is not None:
                        base[as_int(key)] = value
                except Exception:
                    pass
        elif isinstance(target, cst.StarredElement):
            self.assign(target.value, value, scope)

    def _s_FunctionDef(self, node: cst.FunctionDef, scope: Scope) -> None:
        func = self.make_function(node, scope)
        scope.set(node.name.value, func)
        self.def_scopes.append(scope)
        if self.hooks.on_def is not None:
            self.hooks.on_def(func, scope)

    def make_function(self, node: cst.FunctionDef, scope: Scope, qual: str | None = None) -> FunctionValue:
        decorators = tuple(self.expr(d.decorator, scope) for d in node.decorators)
        func = FunctionValue(node, scope, qual or node.name.value, decorators)
        func.is_macro = any(decorator_name(d) == "macro" for d in decorators)
        for param in all_params(node):
            if param.default is not None:
                func.defaults[param.name.value] = self.expr(param.default, scope)
        return func

    def _s_ClassDef(self, node: cst.ClassDef, scope: Scope) -> None:
        scope.set(node.name.value, UNKNOWN)

    def _s_If(self, node: cst.If, scope: Scope) -> None:
        t = truthy(self.expr(node.test, scope))
        if t is True:
            self.run_block(node.body, scope)
        elif t is False:
            if isinstance(node.orelse, cst.If):
                self._s_If(node.orelse, scope)
            elif isinstance(node.orelse, cst.Else):
                self.run_block(node.orelse.body, scope)
        else:
            self.run_both(
                lambda s: self.run_block(node.body, s),
                lambda s: (
                    self._s_If(node.orelse, s)
                    if isinstance(node.orelse, cst.If)
                    else self.run_block(node.orelse.body, s)
                    if isinstance(node.orelse, cst.Else)
                    else None
                ),
                scope,
            )

    def run_both(self, first: Callable[[Scope], None], second: Callable[[Scope], None], scope: Scope) -> None:
        """Run two branches that may each run; names they disagree on become unknown."""
        before = dict(scope.vars)
        outcomes: list[dict[str, Any]] = []
        returned: list[Any] = []
        for branch in (first, second):
            scope.vars = dict(before)
            try:
                branch(scope)
            except Return as ret:
                returned.append(ret.value)
            except LoopControl:
                pass
            outcomes.append(scope.vars)
        merged = dict(before)
        for name in set(outcomes[0]) | set(outcomes[1]):
            a = outcomes[0].get(name, _MISSING)
            b = outcomes[1].get(name, _MISSING)
            if a is b or (a == b if _safe_eq(a, b) else False):
                merged[name] = a
            elif a is _MISSING:
                merged[name] = b
            elif b is _MISSING:
                merged[name] = a
            else:
                merged[name] = UNKNOWN
        scope.vars = merged
        if len(returned) == 2:
            raise Return(returned[0] if _safe_eq(returned[0], returned[1]) else UNKNOWN)

    def _s_For(self, node: cst.For, scope: Scope) -> None:
        items = self.iterate(self.expr(node.iter, scope))
        if items is None:
            self.assign(node.target, UNKNOWN, scope)
            try:
                self.run_block(node.body, scope)
            except LoopControl:
                pass
            return
        for item in items:
            self.tick()
            self.assign(node.target, item, scope)
            try:
                self.run_block(node.body, scope)
            except LoopControl as ctl:
                if ctl.kind == "break":
                    return
        if node.orelse is not None:
            self.run_block(node.orelse.body, scope)

    def _s_While(self, node: cst.While, scope: Scope) -> None:
        for _ in range(MAX_ITERATIONS):
            t = truthy(self.expr(node.test, scope))
            if not t:
                return
            try:
                self.run_block(node.body, scope)
            except LoopControl as ctl:
                if ctl.kind == "break":
                    return

    def _s_With(self, node: cst.With, scope: Scope) -> None:
        for item in node.items:
            value = self.expr(item.item, scope)
            if item.asname is not None:
                self.assign(item.asname.name, value if not isinstance(value, ModuleRef) else UNKNOWN, scope)
        self.run_block(node.body, scope)

    def _s_Try(self, node: cst.Try, scope: Scope) -> None:
        self.run_block(node.body, scope)
        if node.orelse is not None:
            self.run_block(node.orelse.body, scope)
        if node.finalbody is not None:
            self.run_block(node.finalbody.body, scope)


_DISPATCH: dict[type, dict[type, Callable[..., Any]]] = {}
_STRINGS: dict[str, Any] = {}  # string literal source -> value


def _no_method(self: Any, node: Any, scope: Any) -> Any:
    return UNKNOWN


class _Iter:
    """A dict view or other one-shot iterable made by the evaluator."""

    def __init__(self, items: list[Any]):
        self.items = items


class _Spread:
    def __init__(self, value: Any):
        self.value = value


@dataclass(frozen=True)
class PySlice:
    lower: Any
    upper: Any
    step: Any

    def known(self) -> bool:
        return all(v is None or as_int(v) is not None for v in (self.lower, self.upper, self.step))

    def to_slice(self) -> slice:
        conv = lambda v: None if v is None else as_int(v)  # noqa: E731
        return slice(conv(self.lower), conv(self.upper), conv(self.step))


def _safe_eq(a: Any, b: Any) -> bool:
    try:
        return bool(a == b) and type(a) is type(b)
    except Exception:
        return False


def all_params(node: cst.FunctionDef) -> list[cst.Param]:
    p = node.params
    out = list(p.posonly_params) + list(p.params) + list(p.kwonly_params)
    return out


def bind_params(func: FunctionValue, args: list[Any], kwargs: dict[str, Any], scope: Scope, ev: Evaluator) -> bool:
    """Bind call arguments like Python does; False when the call cannot fit."""
    p = func.node.params
    positional = list(p.posonly_params) + list(p.params)
    defaults = func.defaults
    args = list(args)
    spread = any(isinstance(a, _Spread) for a in args)
    if spread:
        return False
    for i, param in enumerate(positional):
        name = param.name.value
        if i < len(args):
            scope.set(name, args[i])
        elif name in kwargs:
            scope.set(name, kwargs.pop(name))
        elif name in defaults:
            scope.set(name, defaults[name])
        else:
            scope.set(name, Sym(name, frozenset({name})))
    extra = args[len(positional) :]
    if isinstance(p.star_arg, cst.Param):
        scope.set(p.star_arg.name.value, tuple(extra))
    elif extra:
        return False
    for param in p.kwonly_params:
        name = param.name.value
        if name in kwargs:
            scope.set(name, kwargs.pop(name))
        elif name in defaults:
            scope.set(name, defaults[name])
        else:
            scope.set(name, Sym(name, frozenset({name})))
    if p.star_kwarg is not None:
        scope.set(p.star_kwarg.name.value, dict(kwargs))
    return True


def decorator_name(value: Any) -> str | None:
    """`prim_func`, `jit`, `autotune`, `macro` for the TileLang decorators, else None."""
    if isinstance(value, DecoratorCall):
        value = value.func
    if not isinstance(value, ModuleRef):
        return None
    name = value.name
    if not name.startswith("tilelang"):
        return None
    last = name.rsplit(".", 1)[-1]
    if last in ("prim_func", "jit", "lazy_jit", "autotune", "macro"):
        return "jit" if last == "lazy_jit" else last
    return None


@dataclass
class DecoratorCall:
    """`@tilelang.jit(out_idx=[2])`: the decorator with its arguments."""

    func: Any
    args: list[Any]
    kwargs: dict[str, Any]


def bind_import(node: cst.Import | cst.ImportFrom, scope: Scope, ev: Evaluator) -> None:
    if isinstance(node, cst.Import):
        for alias in node.names:
            full = _dotted(alias.name)
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                scope.set(alias.asname.name.value, ModuleRef(full))
            else:
                head = full.split(".")[0]
                scope.set(head, ModuleRef(head))
        return
    if node.relative:
        module = "." * len(node.relative) + (_dotted(node.module) if node.module else "")
    else:
        module = _dotted(node.module) if node.module is not None else ""
    if isinstance(node.names, cst.ImportStar):
        if module.startswith("tilelang"):
            ev.star_modules.append(module)
        return
    for alias in node.names:
        name = _dotted(alias.name)
        bound = alias.asname.name.value if alias.asname is not None and isinstance(alias.asname.name, cst.Name) else name
        scope.set(bound, ModuleRef(f"{_canonical_module(module)}.{name}"))


def _canonical_module(module: str) -> str:
    # `from tilelang.language.allocate import alloc_shared` is still T.alloc_shared
    if module.startswith("tilelang.language.") or module in ("tilelang.cuda.language",):
        return T_MODULE
    if module.startswith("tilelang.cuda.language."):
        return T_MODULE
    return module


def _dotted(node: cst.BaseExpression | None) -> str:
    if node is None:
        return ""
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return _dotted(node.value) + "." + node.attr.value
    return ""


def record_argument(parser: ArgParser, args: list[Any], kwargs: dict[str, Any]) -> None:
    names = [a for a in args if isinstance(a, str)]
    dest = kwargs.get("dest")
    if not isinstance(dest, str):
        longs = [n for n in names if n.startswith("--")]
        chosen = longs[0] if longs else (names[0] if names else None)
        if chosen is None:
            return
        dest = chosen.lstrip("-").replace("-", "_")
    action = kwargs.get("action")
    if "default" in kwargs:
        default = kwargs["default"]
    elif action == "store_true":
        default = False
    elif action == "store_false":
        default = True
    else:
        default = None
    parser.defaults[dest] = default


# ---------------------------------------------------------------------------
# builtins and known library functions


@dataclass(frozen=True)
class _Builtin:
    name: str
    fn: Callable[[Evaluator, list[Any], dict[str, Any]], Any]


def _known_all(values: Iterable[Any]) -> bool:
    return all(not isinstance(v, (Unknown, Sym)) for v in values)


def _b_range(ev: Evaluator, args: list[Any], kwargs: dict[str, Any]) -> Any:
    ints = [as_int(a) for a in args]
    if any(i is None for i in ints) or not 1 <= len(ints) <= 3:
        return UNKNOWN
    r = range(*ints)  # type: ignore[arg-type]
    return r if len(r) <= MAX_CONTAINER else UNKNOWN


def _b_len(ev: Evaluator, args: list[Any], kwargs: dict[str, Any]) -> Any:
    value = args[0]
    if isinstance(value, (list, tuple, str, dict, set, range)):
        return len(value)
    if isinstance(value, _Iter):
        return len(value.items)
    return UNKNOWN


def _b_int(ev: Evaluator, args: list[Any], kwargs: dict[str, Any]) -> Any:
    if not args:
        return 0
    value = args[0]
    if isinstance(value, Sym):
        return value
    if isinstance(value, (int, float, str)) and not isinstance(value, Unknown):
        return int(value) if not isinstance(value, str) or len(args) == 1 else int(value, args[1])
    return UNKNOWN


def _b_float(ev: Evaluator, args: list[Any], kwargs: dict[str, Any]) -> Any:
    if not args:
        return 0.0
    value = args[0]
    if isinstance(value, (int, float, str)):
        return float(value)
    return UNKNOWN


def _b_seq(kind: type) -> Callable[[Evaluator, list[Any], dict[str, Any]], Any]:
    def build(ev: Evaluator, args: list[Any], kwargs: dict[str, Any]) -> Any:
        if not args:
            return kind()
        items = ev.iterate(args[0])
        return kind(items) if items is not None else UNKNOWN

    return build


def _b_dict(ev: Evaluator, args: list[Any], kwargs: dict[str, Any]) -> Any:
    out: dict[Any, Any] = {}
    if args:
        src = args[0]
        if isinstance(src, dict):
            out.update(src)
        else:
            items = ev.iterate(src)
            if items is None:
                return UNKNOWN
            for pair in items:
                if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                    return UNKNOWN
                out[pair[0]] = pair[1]
    out.update(kwargs)
    return out


def _b_zip(ev: Evaluator, args: list[Any], kwargs: dict[str, Any]) -> Any:
    lists = [ev.iterate(a) for a in args]
    if any(x is None for x in lists):
        return UNKNOWN
    return _Iter([tuple(t) for t in zip(*lists)])  # type: ignore[arg-type]


def _b_enumerate(ev: Evaluator, args: list[Any], kwargs: dict[str, Any]) -> Any:
    items = ev.iterate(args[0])
    start = as_int(args[1]) if len(args) > 1 else as_int(kwargs.get("start", 0))
    if items is None or start is None:
        return UNKNOWN
    return _Iter([(i + start, v) for i, v in enumerate(items)])


def _b_minmax(name: str) -> Callable[[Evaluator, list[Any], dict[str, Any]], Any]:
    def fn(ev: Evaluator, args: list[Any], kwargs: dict[str, Any]) -> Any:
        if len(args) == 1:
            items = ev.iterate(args[0])
            if items is None:
                return UNKNOWN
            args = items
        return _minmax(name, args)

    return fn


def _b_sum(ev: Evaluator, args: list[Any], kwargs: dict[str, Any]) -> Any:
    items = ev.iterate(args[0])
    if items is None or not _known_all(items):
        return UNKNOWN
    return sum(items, args[1] if len(args) > 1 else 0)


def _b_sorted(ev: Evaluator, args: list[Any], kwargs: dict[str, Any]) -> Any:
    items = ev.iterate(args[0])
    if items is None or "key" in kwargs:
        return UNKNOWN
    return sorted(items, reverse=bool(kwargs.get("reverse", False)))


def _b_abs(ev: Evaluator, args: list[Any], kwargs: dict[str, Any]) -> Any:
    v = args[0]
    return abs(v) if _is_num(v) else (sym_call("abs", [v]) if isinstance(v, Sym) else UNKNOWN)


def _b_simple(fn: Callable[..., Any]) -> Callable[[Evaluator, list[Any], dict[str, Any]], Any]:
    def call(ev: Evaluator, args: list[Any], kwargs: dict[str, Any]) -> Any:
        if not _known_all(args) or not _known_all(kwargs.values()):
            return UNKNOWN
        return fn(*args, **kwargs)

    return call


def _b_none(ev: Evaluator, args: list[Any], kwargs: dict[str, Any]) -> Any:
    return None


def _b_isinstance(ev: Evaluator, args: list[Any], kwargs: dict[str, Any]) -> Any:
    value, kinds = args[0], args[1]
    table = {"int": int, "float": float, "str": str, "list": list, "tuple": tuple, "dict": dict, "bool": bool}
    names = kinds if isinstance(kinds, tuple) else (kinds,)
    resolved = []
    for k in names:
        if isinstance(k, _Builtin) and k.name in table:
            resolved.append(table[k.name])
        else:
            return UNKNOWN
    if isinstance(value, (Unknown, Sym)):
        return UNKNOWN
    return isinstance(value, tuple(resolved))


BUILTINS: dict[str, _Builtin] = {
    name: _Builtin(name, fn)
    for name, fn in {
        "range": _b_range,
        "len": _b_len,
        "int": _b_int,
        "float": _b_float,
        "str": _b_simple(str),
        "bool": _b_simple(bool),
        "list": _b_seq(list),
        "tuple": _b_seq(tuple),
        "set": _b_seq(set),
        "dict": _b_dict,
        "zip": _b_zip,
        "enumerate": _b_enumerate,
        "min": _b_minmax("min"),
        "max": _b_minmax("max"),
        "sum": _b_sum,
        "sorted": _b_sorted,
        "reversed": lambda ev, a, k: _Iter(list(reversed(ev.iterate(a[0]) or []))),
        "abs": _b_abs,
        "round": _b_simple(round),
        "pow": _b_simple(pow),
        "divmod": _b_simple(divmod),
        "any": lambda ev, a, k: any(ev.iterate(a[0])) if _known_all(ev.iterate(a[0]) or [UNKNOWN]) else UNKNOWN,
        "all": lambda ev, a, k: all(ev.iterate(a[0])) if _known_all(ev.iterate(a[0]) or [UNKNOWN]) else UNKNOWN,
        "print": _b_none,
        "isinstance": _b_isinstance,
        "hasattr": lambda ev, a, k: UNKNOWN,
        "getattr": lambda ev, a, k: ev.attribute(a[0], a[1]) if isinstance(a[1], str) else UNKNOWN,
    }.items()
}


def _math(name: str) -> Callable[[Evaluator, list[Any], dict[str, Any]], Any]:
    fn = getattr(math, name)

    def call(ev: Evaluator, args: list[Any], kwargs: dict[str, Any]) -> Any:
        if len(args) == 1 and isinstance(args[0], (list, tuple)) and name == "prod":
            args = [args[0]]
        if not _known_all(args):
            return sym_call(name, args) if any(isinstance(a, Sym) for a in args) and name in ("ceil", "floor") else UNKNOWN
        return fn(*args)

    return call


def _product(ev: Evaluator, args: list[Any], kwargs: dict[str, Any]) -> Any:
    lists = [ev.iterate(a) for a in args]
    if any(x is None for x in lists):
        return UNKNOWN
    repeat = as_int(kwargs.get("repeat", 1)) or 1
    total = 1
    for x in lists:
        total *= max(len(x), 1)  # type: ignore[arg-type]
    if total ** repeat > MAX_CONTAINER:
        return UNKNOWN
    return _Iter([tuple(t) for t in itertools.product(*lists, repeat=repeat)])  # type: ignore[arg-type]


def _argparser(ev: Evaluator, args: list[Any], kwargs: dict[str, Any]) -> Any:
    return ArgParser()


MODULE_FUNCTIONS: dict[str, Callable[[Evaluator, list[Any], dict[str, Any]], Any]] = {
    **{f"math.{n}": _math(n) for n in ("ceil", "floor", "sqrt", "log", "log2", "log10", "exp", "prod", "gcd", "isqrt", "lcm", "pow")},
    "itertools.product": _product,
    "argparse.ArgumentParser": _argparser,
    "tilelang.cdiv": lambda ev, a, k: ceildiv(a[0], a[1]),
    "tilelang.language.ceildiv": lambda ev, a, k: ceildiv(a[0], a[1]),
    "tilelang.math.cdiv": lambda ev, a, k: ceildiv(a[0], a[1]),
    "tilelang.utils.cdiv": lambda ev, a, k: ceildiv(a[0], a[1]),
    "triton.cdiv": lambda ev, a, k: ceildiv(a[0], a[1]),
}

_STR_METHODS = frozenset(
    {"split", "strip", "lower", "upper", "replace", "startswith", "endswith", "format", "rstrip", "lstrip", "join", "count", "find"}
)

_TORCH_MAKERS = frozenset(
    {"randn", "rand", "empty", "zeros", "ones", "full", "randint", "randn_like", "empty_like", "zeros_like", "ones_like", "rand_like"}
)


def torch_call(name: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
    """`torch.randn(M, K, dtype=...)` and friends: a tensor with a known shape."""
    if name not in _TORCH_MAKERS:
        return UNKNOWN
    dtype = kwargs.get("dtype")
    if name.endswith("_like"):
        src = args[0] if args else None
        if isinstance(src, TensorValue):
            return TensorValue(src.shape, dtype if dtype is not None else src.dtype)
        return UNKNOWN
    if name == "randint":
        shape_arg = kwargs.get("size", args[2] if len(args) > 2 else args[-1] if args else None)
        dims = shape_arg if isinstance(shape_arg, (list, tuple)) else None
    elif name == "full":
        dims = args[0] if args and isinstance(args[0], (list, tuple)) else None
    elif len(args) == 1 and isinstance(args[0], (list, tuple)):
        dims = args[0]
    else:
        dims = args
    if dims is None or not all(as_int(d) is not None or isinstance(d, Sym) for d in dims):
        return UNKNOWN
    return TensorValue(tuple(dims), dtype if isinstance(dtype, DType) else None)


def tensor_method(t: TensorValue, name: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
    if name in ("cuda", "cpu", "contiguous", "clone", "detach", "requires_grad_", "normal_", "uniform_", "zero_", "fill_"):
        return t
    if name in ("half",):
        return TensorValue(t.shape, DType("float16"))
    if name in ("float",):
        return TensorValue(t.shape, DType("float32"))
    if name in ("bfloat16",):
        return TensorValue(t.shape, DType("bfloat16"))
    if name == "to":
        dt = next((a for a in list(args) + list(kwargs.values()) if isinstance(a, DType)), None)
        return TensorValue(t.shape, dt or t.dtype)
    if name == "size":
        if args:
            i = as_int(args[0])
            return t.shape[i] if i is not None and -len(t.shape) <= i < len(t.shape) else UNKNOWN
        return tuple(t.shape)
    if name == "dim":
        return len(t.shape)
    return UNKNOWN


# ---------------------------------------------------------------------------
# symbolic differences: `(k + 1) * 64 - k * 64` is 64 whatever k is

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SYM_FUNCS = {"ceildiv": lambda a, b: -(-a // b), "min": min, "max": max, "abs": abs}


def _eval_sym_text(node: pyast.AST, env: dict[str, int]) -> int | None:
    if isinstance(node, pyast.Constant) and isinstance(node.value, int) and not isinstance(node.value, bool):
        return node.value
    if isinstance(node, pyast.Name):
        return env.get(node.id)
    if isinstance(node, pyast.UnaryOp) and isinstance(node.op, pyast.USub):
        v = _eval_sym_text(node.operand, env)
        return None if v is None else -v
    if isinstance(node, pyast.BinOp):
        a, b = _eval_sym_text(node.left, env), _eval_sym_text(node.right, env)
        if a is None or b is None:
            return None
        if isinstance(node.op, pyast.Add):
            return a + b
        if isinstance(node.op, pyast.Sub):
            return a - b
        if isinstance(node.op, pyast.Mult):
            return a * b
        if isinstance(node.op, pyast.FloorDiv) and b:
            return a // b
        if isinstance(node.op, pyast.Mod) and b:
            return a % b
        return None
    if isinstance(node, pyast.Call) and isinstance(node.func, pyast.Name) and node.func.id in _SYM_FUNCS:
        args = [_eval_sym_text(a, env) for a in node.args]
        if any(a is None for a in args):
            return None
        try:
            return _SYM_FUNCS[node.func.id](*args)
        except (ZeroDivisionError, TypeError, ValueError):
            return None
    return None


def constant_difference(hi: Any, lo: Any) -> int | None:
    """`hi - lo` when it is the same integer for every value of the symbols in them."""
    if as_int(hi) is not None and as_int(lo) is not None:
        return as_int(hi) - as_int(lo)  # type: ignore[operator]
    texts = []
    for v in (hi, lo):
        if isinstance(v, Sym):
            texts.append(v.text)
        elif as_int(v) is not None:
            texts.append(str(as_int(v)))
        else:
            return None
    key = (texts[0], texts[1])
    known = _DIFFERENCES.get(key, _MISSING)
    if known is _MISSING:
        known = _text_difference(texts)
        if len(_DIFFERENCES) < 4096:
            _DIFFERENCES[key] = known
    return known


# constant_difference by the two texts: a kernel asks the same few again and again (6839 times, 163 texts
# on TileLang's examples); the answer depends on the texts alone
_DIFFERENCES: dict[tuple[str, str], int | None] = {}


def _text_difference(texts: list[str]) -> int | None:
    try:
        trees = [pyast.parse(t, mode="eval").body for t in texts]
    except SyntaxError:
        return None
    names = set(_IDENT.findall(texts[0] + " " + texts[1])) - set(_SYM_FUNCS)
    results = set()
    for seed in (1009, 7919, 104729):
        env = {n: seed * (i + 3) for i, n in enumerate(sorted(names))}
        a, b = _eval_sym_text(trees[0], env), _eval_sym_text(trees[1], env)
        if a is None or b is None:
            return None
        results.add(a - b)
    return results.pop() if len(results) == 1 else None
