"""The T.* implementation against the catalog, and the scoped `tilelang` import."""

from __future__ import annotations

import inspect
import sys
from pathlib import Path

import pytest

pytest.importorskip("tvm")

from analyzer.catalog import CATALOG  # noqa: E402
from compiler.frontend import language as L  # noqa: E402


def _kind(p: inspect.Parameter) -> str:
    return {
        inspect.Parameter.POSITIONAL_OR_KEYWORD: "positional",
        inspect.Parameter.KEYWORD_ONLY: "keyword",
        inspect.Parameter.VAR_POSITIONAL: "varargs",
        inspect.Parameter.VAR_KEYWORD: "varkw",
    }[p.kind]


@pytest.mark.parametrize("name", [n for n in L.IMPLEMENTED if n != "GemmWarpPolicy"])
def test_implemented_names_have_the_catalog_signature(name: str):
    entry = CATALOG[name]
    sig = inspect.signature(getattr(L, name))
    params = list(sig.parameters.values())
    assert [p.name for p in params] == [p.name for p in entry.params], name
    assert [_kind(p) for p in params] == [p.kind for p in entry.params], name
    env = {"T": L, "GemmWarpPolicy": L.GemmWarpPolicy}
    for ours, theirs in zip(params, entry.params):
        if theirs.default is None:
            assert ours.default is inspect.Parameter.empty, (name, ours.name)
        else:
            assert ours.default == eval(theirs.default, env), (name, ours.name)  # noqa: S307


def test_gemm_warp_policy_members():
    assert [m.name for m in L.GemmWarpPolicy] == ["Square", "FullRow", "FullCol"]


def test_every_implemented_name_is_in_the_catalog():
    assert set(L.IMPLEMENTED) <= set(CATALOG)


def test_unimplemented_catalog_name_is_not_supported():
    from compiler.errors import NotSupported

    with pytest.raises(NotSupported, match="T.alloc_tmem"):
        L.alloc_tmem  # noqa: B018


def test_alloc_defaults_follow_the_seed(tmp_path: Path):
    from compiler.loader import instantiate, load

    src = tmp_path / "k.py"
    src.write_text(
        "import tilelang.language as T\n\ndef f(n):\n    @T.prim_func\n    def main(A: T.Tensor((n,), 'float32')):\n"
        "        with T.Kernel(1) as bx:\n            s = T.alloc_shared((n,), 'float32')\n"
        "            m = T.alloc_shared((n,), 'bool')\n            l = T.alloc_local((n,), 'float32')\n"
        "            fr = T.alloc_fragment((n,), 'float32')\n            v = T.alloc_var('int32')\n"
        "            w = T.alloc_var('int32', init=3)\n            A[0] = w + v\n    return main\n"
    )
    script = instantiate(load(src), "f(8)").script()
    assert 's = T.alloc_buffer((8,), scope="shared.dyn")' in script
    assert 'm = T.alloc_shared((8,), "bool")' in script  # the printer's spelling of scope "shared"
    assert "l = T.alloc_local((8,))" in script  # scope "local"
    assert 'scope="local.fragment"' in script
    assert script.count('scope="local.var"') + script.count("T.int32") >= 2


def test_tilelang_import_is_scoped(tmp_path: Path):
    import compiler

    src = tmp_path / "k.py"
    src.write_text("import tilelang\nimport tilelang.language as T\nfrom tilelang import language as L2\n"
                   "import tilelang as tl\nfrom tilelang.language import Kernel\nfrom tilelang.autotuner import autotune\n"
                   "X = tl.language.ceildiv(7, 2) + tilelang.cdiv(7, 2)\n")
    before = {k for k in sys.modules if k.startswith("tilelang")}
    loaded = compiler.load(src)
    assert loaded.namespace["X"] == 8
    assert loaded.namespace["T"] is L and loaded.namespace["L2"] is L
    assert {k for k in sys.modules if k.startswith("tilelang")} == before
    assert not any(type(f).__name__ == "_Finder" for f in sys.meta_path)


def test_import_compiler_is_cheap():
    import subprocess

    code = "import sys, compiler; print('tvm' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=Path(__file__).resolve().parents[2])
    assert out.stdout.strip() == "False", out.stderr
