"""Mutation operators for TileLang kernels (libcst), used by ``run_mutation.py``.

Each operator is a small object with ``name``, ``description`` and
``apply(module: cst.Module) -> list[cst.Module]``: one mutant per applicable
site, in source order, at most ``cap`` (default 2) per file. Operators only
look at the syntax (``T.`` calls, names, literals); they never import or run
the kernel. A mutant that prints the same code as the original, or as an
earlier mutant of the same operator, is dropped.

One line per operator:

    gemm_transpose      flip transpose_A/transpose_B of a T.gemm (add transpose_B=True when absent, flip a literal)
    tile_param_x2       double one tile-size parameter feeding a T.alloc_* shape at every place it gets a literal value
    alloc_dim_x2        double the last dimension of one T.alloc_shared/T.alloc_fragment shape (a single buffer)
    acc_to_shared       allocate the T.gemm accumulator (C) with T.alloc_shared instead of T.alloc_fragment
    acc_to_fp16         make the T.gemm accumulator "float16" when A/B are bfloat16 or int8
    alloc_dtype         change the dtype of one T.alloc_* buffer (gemm operands first) to another dtype
    copy_in_parallel    move a T.copy statement into a `for _mut_i in T.Parallel(1):` loop
    copy_swap           swap the two arguments of a T.copy (source <-> destination)
    reduce_dim_oob      set dim= of a T.reduce_* to the rank of its source buffer (out of range)
    threads_2048        set threads=2048 in T.Kernel (over the 1024 per-block limit)
    threads_96          set threads=96 in T.Kernel (not a multiple of the 128-thread warpgroup)
    fragment_to_local   allocate with T.alloc_local a T.alloc_fragment buffer indexed inside T.Parallel
    drop_clear          remove the T.clear(acc) of a T.gemm accumulator
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import libcst as cst

DEFAULT_CAP = 2
ALLOCS = ("alloc_shared", "alloc_fragment", "alloc_local")

# --------------------------------------------------------------------------- helpers


def t_attr(node: cst.CSTNode | None) -> str | None:
    """`T.foo` -> "foo" (also `T.foo` as the func of a call); else None."""
    if isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name) and node.value.value == "T":
        return node.attr.value
    return None


def t_call(node: cst.CSTNode, names: Iterable[str] | str | None = None) -> str | None:
    """The `T.` function name when ``node`` is a call of one (restricted to ``names``)."""
    if not isinstance(node, cst.Call):
        return None
    name = t_attr(node.func)
    if name is None:
        return None
    if names is None:
        return name
    if isinstance(names, str):
        names = (names,)
    return name if name in names else None


def positional(call: cst.Call) -> list[cst.Arg]:
    return [a for a in call.args if a.keyword is None and not a.star]


def keyword(call: cst.Call, name: str) -> cst.Arg | None:
    for a in call.args:
        if a.keyword is not None and a.keyword.value == name:
            return a
    return None


def arg_value(call: cst.Call, index: int, name: str) -> cst.BaseExpression | None:
    kw = keyword(call, name)
    if kw is not None:
        return kw.value
    pos = positional(call)
    return pos[index].value if index < len(pos) else None


def base_name(expr: cst.BaseExpression | None) -> str | None:
    """`A_shared` or `A_shared[0:4, :]` -> "A_shared"."""
    while isinstance(expr, cst.Subscript):
        expr = expr.value
    return expr.value if isinstance(expr, cst.Name) else None


def int_value(expr: cst.BaseExpression | None) -> int | None:
    if isinstance(expr, cst.Integer):
        try:
            return int(expr.value.replace("_", ""), 0)
        except ValueError:
            return None
    return None


def walk(node: cst.CSTNode) -> Iterable[cst.CSTNode]:
    """Every node below ``node`` (itself included), in source order."""
    stack = [node]
    while stack:
        cur = stack.pop()
        yield cur
        stack.extend(reversed(cur.children))


class _Replace(cst.CSTTransformer):
    """Replace (by identity) nodes of the original tree."""

    def __init__(self, edits: dict[int, Callable[[cst.CSTNode], cst.CSTNode | cst.RemovalSentinel]]):
        super().__init__()
        self.edits = edits

    def on_leave(self, original_node, updated_node):  # type: ignore[override]
        fn = self.edits.get(id(original_node))
        if fn is not None:
            return fn(updated_node)
        return updated_node


def replace(module: cst.Module, edits: dict[int, Callable]) -> cst.Module:
    return module.visit(_Replace(edits))


def with_keyword(call: cst.Call, name: str, value: cst.BaseExpression) -> cst.Call:
    """Set keyword ``name=value`` (replacing it, or appending it)."""
    args = list(call.args)
    for i, a in enumerate(args):
        if a.keyword is not None and a.keyword.value == name:
            args[i] = a.with_changes(value=value)
            return call.with_changes(args=args)
    args.append(cst.Arg(keyword=cst.Name(name), value=value, equal=cst.AssignEqual(cst.SimpleWhitespace(""), cst.SimpleWhitespace(""))))
    return call.with_changes(args=args)


def str_literal(text: str) -> cst.SimpleString:
    return cst.SimpleString(f'"{text}"')


# ------------------------------------------------------------------ module facts


@dataclass
class Alloc:
    name: str
    kind: str  # alloc_shared / alloc_fragment / alloc_local
    call: cst.Call
    scopes: tuple[cst.FunctionDef, ...]  # enclosing functions, innermost first


class Facts:
    """What the operators need to know about a module, collected once."""

    def __init__(self, module: cst.Module):
        self.module = module
        self.allocs: list[Alloc] = []
        self.gemms: list[cst.Call] = []
        self.calls: list[cst.Call] = []
        self.functions: list[cst.FunctionDef] = []
        self.parallel_indexed: set[str] = set()
        self.stmt_lines: list[tuple[cst.SimpleStatementLine, cst.FunctionDef | None]] = []
        self._collect(module, ())

    def _collect(self, node: cst.CSTNode, fns: tuple[cst.FunctionDef, ...]) -> None:
        if isinstance(node, cst.FunctionDef):
            self.functions.append(node)
            fns = (node,) + fns
        if isinstance(node, cst.SimpleStatementLine):
            self.stmt_lines.append((node, fns[0] if fns else None))
            for stmt in node.body:
                if isinstance(stmt, cst.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0].target, cst.Name):
                    kind = t_call(stmt.value, ALLOCS)
                    if kind:
                        self.allocs.append(Alloc(stmt.targets[0].target.value, kind, stmt.value, fns))
        if isinstance(node, cst.Call):
            self.calls.append(node)
            if t_call(node, "gemm"):
                self.gemms.append(node)
        if isinstance(node, cst.For) and t_call(node.iter, "Parallel"):
            for sub in walk(node.body):
                if isinstance(sub, cst.Subscript):
                    name = base_name(sub)
                    if name:
                        self.parallel_indexed.add(name)
        for child in node.children:
            self._collect(child, fns)

    def alloc_of(self, name: str | None) -> Alloc | None:
        for a in self.allocs:
            if a.name == name:
                return a
        return None

    # -- dtypes -------------------------------------------------------------

    _ALIASES = {"float": "float32", "half": "float16", "double": "float64", "bf16": "bfloat16", "fp16": "float16",
                "fp32": "float32", "int": "int32"}

    def _canon(self, text: str) -> str:
        return self._ALIASES.get(text, text)

    def dtype_of(self, expr: cst.BaseExpression | None, scopes: tuple[cst.FunctionDef, ...], depth: int = 0) -> str | None:
        """A dtype expression -> "float16", ... when it is a literal or a simple name."""
        if expr is None or depth > 4:
            return None
        if isinstance(expr, cst.SimpleString):
            return self._canon(expr.evaluated_value)
        attr = t_attr(expr)
        if attr is not None:
            return self._canon(attr)
        if isinstance(expr, cst.Call) and t_attr(expr.func) == "dtype" and expr.args:
            return self.dtype_of(expr.args[0].value, scopes, depth + 1)
        if isinstance(expr, cst.Name):
            found = self._lookup(expr.value, scopes)
            return self.dtype_of(found, scopes, depth + 1) if found is not None else None
        return None

    def _lookup(self, name: str, fns: tuple[cst.FunctionDef, ...]) -> cst.BaseExpression | None:
        """The value ``name`` gets: an assignment in an enclosing function or the
        module, a parameter default, else a literal keyword ``name=...`` of a call."""
        scopes: list[cst.CSTNode] = list(fns) + [self.module]
        for scope in scopes:
            body = scope.body.body if isinstance(scope, cst.FunctionDef) else scope.body
            for stmt_line in body:
                if isinstance(stmt_line, cst.SimpleStatementLine):
                    for stmt in stmt_line.body:
                        if isinstance(stmt, (cst.Assign, cst.AnnAssign)):
                            targets = [t.target for t in stmt.targets] if isinstance(stmt, cst.Assign) else [stmt.target]
                            if any(isinstance(t, cst.Name) and t.value == name for t in targets) and stmt.value is not None:
                                return stmt.value
            if isinstance(scope, cst.FunctionDef):
                for p in list(scope.params.params) + list(scope.params.kwonly_params):
                    if p.name.value == name and p.default is not None:
                        return p.default
        for call in self.calls:
            kw = keyword(call, name)
            if kw is not None and t_call(call) is None and isinstance(kw.value, (cst.SimpleString, cst.Attribute)):
                return kw.value
        return None


_LAST_FACTS: list = [None, None]


def facts_of(module: cst.Module) -> Facts:
    """Facts of ``module``, computed once when the operators run one after the other."""
    if _LAST_FACTS[0] is not module:
        _LAST_FACTS[:] = [module, Facts(module)]
    return _LAST_FACTS[1]


# ------------------------------------------------------------------- operators


class Operator:
    name = "operator"
    description = ""

    def __init__(self, cap: int = DEFAULT_CAP):
        self.cap = cap

    def sites(self, facts: Facts) -> list[dict[int, Callable]]:
        """One edit set (node id -> replacement function) per mutant."""
        raise NotImplementedError

    def apply(self, module: cst.Module) -> list[cst.Module]:
        facts = facts_of(module)
        out: list[cst.Module] = []
        seen = {module.code}
        for edits in self.sites(facts):
            if len(out) >= self.cap:
                break
            if not edits:
                continue
            mutant = replace(module, edits)
            if mutant.code in seen:
                continue
            seen.add(mutant.code)
            out.append(mutant)
        return out


class GemmTranspose(Operator):
    name = "gemm_transpose"
    description = "flip transpose_A/transpose_B of a T.gemm (add transpose_B=True when absent, flip a literal)"

    def sites(self, facts):
        for call in facts.gemms:
            for flag, pos in (("transpose_B", 4), ("transpose_A", 3)):
                kw = keyword(call, flag)
                pargs = positional(call)
                if kw is not None:
                    value = kw.value
                elif len(pargs) > pos:
                    value = pargs[pos].value
                else:
                    value = None
                if value is None:
                    if flag == "transpose_B":
                        yield {id(call): lambda n, f=flag: with_keyword(n, f, cst.Name("True"))}
                    continue
                if isinstance(value, cst.Name) and value.value in ("True", "False"):
                    flipped = cst.Name("False" if value.value == "True" else "True")
                    yield {id(value): lambda n, v=flipped: v}


_TILE_NAME = re.compile(r"(^|_)(bl(oc)?k|tile)|^b[mnk]$|^B[MNK]$|block", re.IGNORECASE)


class TileParamX2(Operator):
    name = "tile_param_x2"
    description = "double one tile-size parameter feeding a T.alloc_* shape at every place it gets a literal value"

    def _shape_names(self, facts: Facts) -> list[str]:
        names: list[str] = []
        for a in facts.allocs:
            shape = arg_value(a.call, 0, "shape")
            if shape is None:
                continue
            for sub in walk(shape):
                if isinstance(sub, cst.Name) and sub.value not in names and sub.value not in ("T", "True", "False"):
                    names.append(sub.value)
        tiles = [n for n in names if _TILE_NAME.search(n)]
        # K-like tiles first (the reduction tile), then N, then the others
        order = {"k": 0, "n": 1, "m": 2}
        tiles.sort(key=lambda n: order.get(n[-1].lower(), 3))
        return tiles

    def _literal_sites(self, facts: Facts, name: str) -> list[cst.Integer]:
        sites: list[cst.Integer] = []
        fn_params: dict[str, list[str]] = {}
        for fn in facts.functions:
            params = [p.name.value for p in fn.params.params]
            fn_params.setdefault(fn.name.value, params)
            for p in list(fn.params.params) + list(fn.params.kwonly_params):
                if p.name.value == name and int_value(p.default) is not None:
                    sites.append(p.default)
        for call in facts.calls:
            if t_call(call) is not None:
                continue
            kw = keyword(call, name)
            if kw is not None and int_value(kw.value) is not None:
                sites.append(kw.value)
            func = call.func
            callee = None
            if isinstance(func, cst.Name):
                callee = func.value
            elif isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.attr.value == "compile":
                callee = func.value.value
            if callee in fn_params and name in fn_params[callee]:
                idx = fn_params[callee].index(name)
                pargs = positional(call)
                if idx < len(pargs) and int_value(pargs[idx].value) is not None:
                    sites.append(pargs[idx].value)
        for line, _fn in facts.stmt_lines:
            for stmt in line.body:
                if not isinstance(stmt, (cst.Assign, cst.AnnAssign)) or stmt.value is None:
                    continue
                targets = [t.target for t in stmt.targets] if isinstance(stmt, cst.Assign) else [stmt.target]
                for t in targets:
                    if isinstance(t, cst.Name) and t.value == name and int_value(stmt.value) is not None:
                        sites.append(stmt.value)
                    elif isinstance(t, (cst.Tuple, cst.List)) and isinstance(stmt.value, (cst.Tuple, cst.List)):
                        if len(t.elements) == len(stmt.value.elements):
                            for te, ve in zip(t.elements, stmt.value.elements):
                                if isinstance(te.value, cst.Name) and te.value.value == name and int_value(ve.value) is not None:
                                    sites.append(ve.value)
        return sites

    def sites(self, facts):
        for name in self._shape_names(facts):
            lits = self._literal_sites(facts, name)
            if lits:
                yield {id(lit): (lambda n: cst.Integer(str(int_value(n) * 2))) for lit in lits}


class AllocDimX2(Operator):
    name = "alloc_dim_x2"
    description = "double the last dimension of one T.alloc_shared/T.alloc_fragment shape (a single buffer)"

    def sites(self, facts):
        gemm_operands = {base_name(arg_value(g, i, n)) for g in facts.gemms for i, n in ((0, "A"), (1, "B"))}
        allocs = [a for a in facts.allocs if a.kind in ("alloc_shared", "alloc_fragment")]
        allocs.sort(key=lambda a: (a.name not in gemm_operands,))
        for a in allocs:
            shape = arg_value(a.call, 0, "shape")
            if isinstance(shape, (cst.Tuple, cst.List)) and shape.elements:
                last = shape.elements[-1].value
            elif shape is not None and not isinstance(shape, (cst.Tuple, cst.List)):
                last = shape
            else:
                continue
            if int_value(last) is not None:
                yield {id(last): lambda n: cst.Integer(str(int_value(n) * 2))}
            else:
                yield {id(last): _times_two}


def _times_two(expr: cst.BaseExpression) -> cst.BaseExpression:
    if not isinstance(expr, (cst.Name, cst.Attribute, cst.Call, cst.Subscript)):
        expr = expr.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
    return cst.BinaryOperation(left=expr, operator=cst.Multiply(), right=cst.Integer("2"))


def _gemm_c_names(facts: Facts) -> list[str]:
    names: list[str] = []
    for g in facts.gemms:
        n = base_name(arg_value(g, 2, "C"))
        if n and n not in names:
            names.append(n)
    return names


def _set_alloc_kind(kind: str) -> Callable:
    return lambda call: call.with_changes(func=call.func.with_changes(attr=cst.Name(kind)))


class AccToShared(Operator):
    name = "acc_to_shared"
    description = "allocate the T.gemm accumulator (C) with T.alloc_shared instead of T.alloc_fragment"

    def sites(self, facts):
        for name in _gemm_c_names(facts):
            a = facts.alloc_of(name)
            if a is not None and a.kind == "alloc_fragment":
                yield {id(a.call): _set_alloc_kind("alloc_shared")}


def _dtype_arg(call: cst.Call) -> cst.BaseExpression | None:
    return arg_value(call, 1, "dtype")


class AccToFp16(Operator):
    name = "acc_to_fp16"
    description = 'make the T.gemm accumulator "float16" when A/B are bfloat16 or int8'

    def sites(self, facts):
        for g in facts.gemms:
            a = facts.alloc_of(base_name(arg_value(g, 0, "A")))
            b = facts.alloc_of(base_name(arg_value(g, 1, "B")))
            c = facts.alloc_of(base_name(arg_value(g, 2, "C")))
            if a is None or b is None or c is None:
                continue
            kinds = {facts.dtype_of(_dtype_arg(x.call), x.scopes) for x in (a, b)}
            if not kinds & {"bfloat16", "int8"}:
                continue
            dt = _dtype_arg(c.call)
            if dt is None or facts.dtype_of(dt, c.scopes) == "float16":
                continue
            yield {id(dt): lambda n: str_literal("float16")}


_DTYPE_SWAP = {"float16": "float32", "bfloat16": "float16", "float32": "float16", "int8": "float16",
               "int32": "float16", "float8_e4m3": "float16", "float8_e4m3fn": "float16", "float8_e5m2": "float16",
               "uint8": "float16", "bool": "float32"}


class AllocDtype(Operator):
    name = "alloc_dtype"
    description = "change the dtype of one T.alloc_* buffer (gemm operands first) to another dtype"

    def sites(self, facts):
        gemm_operands = [base_name(arg_value(g, i, n)) for g in facts.gemms for i, n in ((0, "A"), (1, "B"))]
        allocs = sorted(facts.allocs, key=lambda a: a.name not in gemm_operands)
        for a in allocs:
            dt = _dtype_arg(a.call)
            current = facts.dtype_of(dt, a.scopes)
            if dt is None or current is None:
                continue
            new = _DTYPE_SWAP.get(current, "float32")
            yield {id(dt): lambda n, v=new: str_literal(v)}


def _single_call_stmt(line: cst.SimpleStatementLine, names) -> cst.Call | None:
    if len(line.body) == 1 and isinstance(line.body[0], cst.Expr) and t_call(line.body[0].value, names):
        return line.body[0].value
    return None


class CopyInParallel(Operator):
    name = "copy_in_parallel"
    description = "move a T.copy statement into a `for _mut_i in T.Parallel(1):` loop"

    def sites(self, facts):
        for line, fn in facts.stmt_lines:
            if fn is None or _single_call_stmt(line, "copy") is None:
                continue

            def wrap(n: cst.SimpleStatementLine) -> cst.For:
                loop_iter = cst.Call(func=cst.Attribute(cst.Name("T"), cst.Name("Parallel")), args=[cst.Arg(cst.Integer("1"))])
                return cst.For(
                    target=cst.Name("_mut_i"),
                    iter=loop_iter,
                    body=cst.IndentedBlock(body=[n.with_changes(leading_lines=[])]),
                    leading_lines=n.leading_lines,
                )

            yield {id(line): wrap}


class CopySwap(Operator):
    name = "copy_swap"
    description = "swap the two arguments of a T.copy (source <-> destination)"

    def sites(self, facts):
        for call in facts.calls:
            if not t_call(call, "copy"):
                continue
            pargs = positional(call)
            if len(pargs) < 2:
                continue
            # the Arg objects are rebuilt when their children change: swap by position
            def swap_pos(n: cst.Call) -> cst.Call:
                args = list(n.args)
                i, j = [k for k, a in enumerate(args) if a.keyword is None and not a.star][:2]
                args[i], args[j] = args[j].with_changes(comma=args[i].comma), args[i].with_changes(comma=args[j].comma)
                return n.with_changes(args=args)

            yield {id(call): swap_pos}


class ReduceDimOOB(Operator):
    name = "reduce_dim_oob"
    description = "set dim= of a T.reduce_* to the rank of its source buffer (out of range)"

    def sites(self, facts):
        for call in facts.calls:
            fname = t_call(call)
            if not fname or not fname.startswith("reduce_"):
                continue
            src = facts.alloc_of(base_name(arg_value(call, 0, "buffer")))
            rank = 2
            if src is not None:
                shape = arg_value(src.call, 0, "shape")
                if isinstance(shape, (cst.Tuple, cst.List)):
                    rank = len(shape.elements)
                elif shape is not None:
                    rank = 1
            kw = keyword(call, "dim")
            pargs = positional(call)
            if kw is None and len(pargs) > 2:
                target = pargs[2].value
                yield {id(target): lambda n, r=rank: cst.Integer(str(r))}
            else:
                yield {id(call): lambda n, r=rank: with_keyword(n, "dim", cst.Integer(str(r)))}


class Threads(Operator):
    description = ""

    def __init__(self, value: int, cap: int = DEFAULT_CAP):
        super().__init__(cap)
        self.value = value
        self.name = f"threads_{value}"
        self.description = {
            2048: "set threads=2048 in T.Kernel (over the 1024 per-block limit)",
            96: "set threads=96 in T.Kernel (not a multiple of the 128-thread warpgroup)",
        }.get(value, f"set threads={value} in T.Kernel")

    def sites(self, facts):
        for call in facts.calls:
            if t_call(call, "Kernel"):
                yield {id(call): lambda n: with_keyword(n, "threads", cst.Integer(str(self.value)))}


class FragmentToLocal(Operator):
    name = "fragment_to_local"
    description = "allocate with T.alloc_local a T.alloc_fragment buffer indexed inside T.Parallel"

    def sites(self, facts):
        for a in facts.allocs:
            if a.kind == "alloc_fragment" and a.name in facts.parallel_indexed:
                yield {id(a.call): _set_alloc_kind("alloc_local")}


class DropClear(Operator):
    name = "drop_clear"
    description = "remove the T.clear(acc) of a T.gemm accumulator"

    def sites(self, facts):
        accs = set(_gemm_c_names(facts))
        for line, fn in facts.stmt_lines:
            call = _single_call_stmt(line, "clear")
            if call is None or not call.args or base_name(call.args[0].value) not in accs:
                continue
            yield {id(line): lambda n: n.with_changes(body=[cst.Pass()], trailing_whitespace=cst.TrailingWhitespace(
                whitespace=cst.SimpleWhitespace("  "), comment=cst.Comment("# mutation: T.clear removed"),
                newline=cst.Newline()))}


def all_operators(cap: int = DEFAULT_CAP) -> list[Operator]:
    return [
        GemmTranspose(cap),
        TileParamX2(cap),
        AllocDimX2(cap),
        AccToShared(cap),
        AccToFp16(cap),
        AllocDtype(cap),
        CopyInParallel(cap),
        CopySwap(cap),
        ReduceDimOOB(cap),
        Threads(2048, cap=1),
        Threads(96, cap=1),
        FragmentToLocal(cap),
        DropClear(cap),
    ]


if __name__ == "__main__":  # list the operators, or show the mutants of a file
    import difflib
    import sys

    if len(sys.argv) < 2:
        for op in all_operators():
            print(f"{op.name:18s} {op.description}")
        sys.exit(0)
    source = open(sys.argv[1], encoding="utf-8").read()
    module = cst.parse_module(source)
    for op in all_operators():
        for k, m in enumerate(op.apply(module)):
            print(f"===== {op.name} #{k}")
            sys.stdout.writelines(difflib.unified_diff(source.splitlines(True), m.code.splitlines(True), n=0))
