"""Kernel sites are found whatever the import spelling and kernel style."""

from __future__ import annotations

import pytest

from analyzer.config import Config
from analyzer.engine import analyze_source

BODY = '''
def scale(N, block):
    @{prim_func}
    def main(A: {Tensor}((N,), "float16")):
        with {Kernel}(N // block, threads=128) as bx:
            S = {alloc}((block,), "float16")
            {copy}(A[bx * block], S)
            {copy}(S, A[bx * block])

    return main


kernel = scale(4096, 256)
'''

SPELLINGS = {
    "import-as-T": ("import tilelang.language as T", "T."),
    "from-import-language": ("from tilelang import language as T", "T."),
    "import-tilelang-as-tl": ("import tilelang as tl", "tl.language."),
    "plain-import": ("import tilelang\nimport tilelang.language", "tilelang.language."),
}


@pytest.mark.parametrize("name", SPELLINGS)
def test_import_aliases(name: str) -> None:
    header, prefix = SPELLINGS[name]
    source = header + "\n" + BODY.format(
        prim_func=prefix + "prim_func", Tensor=prefix + "Tensor", Kernel=prefix + "Kernel",
        alloc=prefix + "alloc_shared", copy=prefix + "copy",
    )
    [kernel] = analyze_source(source, "k.py", Config(arches=("sm_80",))).kernels
    assert (kernel["site"], kernel["style"], kernel["shared_memory_bytes"]) == ("scale", "factory", 512)


def test_names_imported_from_the_language_module() -> None:
    source = (
        "import tilelang\nfrom tilelang.language import Kernel, Tensor, alloc_shared, copy, prim_func\n"
        + BODY.format(prim_func="prim_func", Tensor="Tensor", Kernel="Kernel", alloc="alloc_shared", copy="copy")
    )
    [kernel] = analyze_source(source, "k.py", Config(arches=("sm_80",))).kernels
    assert kernel["shared_memory_bytes"] == 512 and kernel["grid"] == [16, 1, 1]


def test_module_level_prim_func_uses_module_constants() -> None:
    source = '''import tilelang.language as T

N = 2048
BLOCK = 128


@T.prim_func
def add_one(A: T.Tensor((N,), "float32")):
    with T.Kernel(N // BLOCK, threads=128) as bx:
        S = T.alloc_shared((BLOCK,), "float32")
        T.copy(A[bx * BLOCK], S)
        for i in T.Parallel(BLOCK):
            S[i] = S[i] + 1
        T.copy(S, A[bx * BLOCK])
'''
    [kernel] = analyze_source(source, "k.py", Config(arches=("sm_80",))).kernels
    assert (kernel["style"], kernel["instantiation_source"], kernel["shared_memory_bytes"]) == ("prim_func", "module", 512)


def test_several_kernel_blocks_in_one_function_are_several_kernels() -> None:
    source = '''import tilelang.language as T


def two(N):
    @T.prim_func
    def main(A: T.Tensor((N,), "float32"), B: T.Tensor((N,), "float32")):
        with T.Kernel(N // 128, threads=128) as bx:
            S = T.alloc_shared((128,), "float32")
            T.copy(A[bx * 128], S)
            T.copy(S, B[bx * 128])
        with T.Kernel(N // 256, threads=128) as bx:
            S2 = T.alloc_shared((256,), "float32")
            T.copy(B[bx * 256], S2)
            T.copy(S2, A[bx * 256])

    return main


k = two(4096)
'''
    kernels = analyze_source(source, "k.py", Config(arches=("sm_80",))).kernels
    assert [(k["name"], k["shared_memory_bytes"], k["grid"]) for k in kernels] == [
        ("main", 512, [32, 1, 1]),
        ("main_1", 1024, [16, 1, 1]),
    ]


def test_only_the_returned_prim_func_is_reported() -> None:
    source = '''import tilelang.language as T


def pick(N, wide):
    @T.prim_func
    def narrow_kernel(A: T.Tensor((N,), "float32")):
        with T.Kernel(1, threads=128) as bx:
            S = T.alloc_shared((128,), "float32")
            T.copy(A[0], S)
            T.copy(S, A[0])

    @T.prim_func
    def wide_kernel(A: T.Tensor((N,), "float32")):
        with T.Kernel(1, threads=128) as bx:
            S = T.alloc_shared((1024,), "float32")
            T.copy(A[0], S)
            T.copy(S, A[0])

    if wide:
        return wide_kernel
    return narrow_kernel


k = pick(4096, True)
'''
    [kernel] = analyze_source(source, "k.py", Config(arches=("sm_80",))).kernels
    assert (kernel["name"], kernel["shared_memory_bytes"]) == ("wide_kernel", 4096)
