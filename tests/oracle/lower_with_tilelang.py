#!/usr/bin/env python3
"""The TileLang oracle script, by its old name.

The script itself is tilelsp/tilelang_lower.py: the language server's TileLang back end (compile-on-save with
`compileBackend: "tilelang"`) runs it under the user's TileLang interpreter. It imports nothing from this
repository, so this file runs it by path (the TileLang python need not have tilelsp installed), for the oracle
tests, lower_with_cuda_source.py (`import lower_with_tilelang as base`) and benchmarks/mutation.
"""

import os

_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, os.pardir, "tilelsp", "tilelang_lower.py")
with open(_SCRIPT, encoding="utf-8") as _f:
    exec(compile(_f.read(), _SCRIPT, "exec"))  # noqa: S102 - the same module under this name
