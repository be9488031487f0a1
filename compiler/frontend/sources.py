"""The source text and `ast` of the files kernels come from.

`compiler.load` registers the file it runs; a kernel defined elsewhere (a
helper module) is read from disk on first use. `@T.prim_func` finds its
`FunctionDef` here by name and first line, so nothing depends on `inspect`.
"""

from __future__ import annotations

import ast
from pathlib import Path

_TREES: dict[str, ast.Module] = {}


def register(path: str, source: str, tree: ast.Module) -> None:
    _TREES[path] = tree


def tree(path: str) -> ast.Module | None:
    found = _TREES.get(path)
    if found is None:
        try:
            text = Path(path).read_text(encoding="utf-8")
            found = ast.parse(text, filename=path)
        except (OSError, SyntaxError, ValueError):
            return None
        _TREES[path] = found
    return found


def find_function(path: str, name: str, first_line: int) -> ast.FunctionDef | None:
    """The def named `name` whose first line (first decorator, else `def`) is `first_line`."""
    module = tree(path)
    if module is None:
        return None
    fallback = None
    for node in ast.walk(module):
        if isinstance(node, ast.FunctionDef) and node.name == name:
            lines = [d.lineno for d in node.decorator_list] + [node.lineno]
            if first_line in lines or min(lines) == first_line:
                return node
            fallback = node
    return fallback
