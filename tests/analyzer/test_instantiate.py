"""Where parameter values come from, and the evaluator that computes them."""

from __future__ import annotations

from analyzer.config import Config
from analyzer.engine import analyze_source

FACTORY = '''import argparse
import itertools
import tilelang
import tilelang.language as T
from tilelang.autotuner import autotune


def get_configs():
    grid = dict(block_M=[64, 128], num_stages=[1, 2])
    return [dict(zip(grid, values)) for values in itertools.product(*grid.values())]


@autotune(configs=get_configs(), warmup=3)
@tilelang.jit(out_idx=[1])
def scale(N, block_M=32, num_stages=0, dtype="float16"):
    @T.prim_func
    def main(A: T.Tensor((N, 64), dtype), B: T.Tensor((N, 64), dtype)):
        with T.Kernel(T.ceildiv(N, block_M), threads=128) as bx:
            S = T.alloc_shared((block_M, 64), dtype)
            for k in T.serial(num_stages + 1):
                T.copy(A[bx * block_M, 0], S)
                T.copy(S, B[bx * block_M, 0])

    return main
'''


def kernels(source: str, *requests: str, **config):
    report = analyze_source(source, "f.py", Config(arches=("sm_80",), **config), tuple(requests))
    return [(k["instantiation"], k["instantiation_source"], k["shared_memory_bytes"]) for k in report.kernels]


def test_autotune_configs_when_nothing_calls_the_factory() -> None:
    got = kernels(FACTORY)
    assert [(i["block_M"], i["num_stages"], src) for i, src, _ in got] == [
        (64, 1, "autotune"), (64, 2, "autotune"), (128, 1, "autotune"), (128, 2, "autotune")
    ]
    # N has no value anywhere, but the tile does not depend on it
    assert [b for _, _, b in got] == [8192, 8192, 16384, 16384]


def test_call_site_in_a_main_driver_with_argparse_defaults() -> None:
    source = FACTORY + '''

def main(n=4096, block=256):
    kernel = scale(n, block, 1)
    return kernel


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=2048)
    parser.add_argument("--block-size", type=int, default=64)
    args = parser.parse_args()
    main(args.n, args.block_size)
'''
    got = kernels(source)
    assert [(i["N"], i["block_M"], src) for i, src, _ in got] == [(2048, 64, "call-site"), (4096, 256, "call-site")]


def test_comment_beats_call_sites_and_cli_beats_comment() -> None:
    source = FACTORY + "\n# tilelint: instantiate scale(1024, 16, 1)\nkernel = scale(8192, 64, 1)\n"
    assert [(i["block_M"], s) for i, s, _ in kernels(source)] == [(16, "comment")]
    assert [(i["block_M"], s) for i, s, _ in kernels(source, "scale(1024, block_M=8)")] == [(8, "cli")]


def test_pyproject_requests() -> None:
    got = kernels(FACTORY, instantiate=("scale(N=512, block_M=32, num_stages=1)",))
    assert [(i["N"], i["block_M"], s, b) for i, s, b in got] == [(512, 32, "pyproject", 4096)]


def test_loops_over_sizes_give_one_instantiation_each() -> None:
    source = FACTORY + "\nfor blk in [16, 32]:\n    scale(1024, blk, 1)\n"
    assert sorted(i["block_M"] for i, _, _ in kernels(source)) == [16, 32]


def test_defaults_and_module_constants() -> None:
    source = '''import tilelang.language as T

BLOCK = 48
DTYPE = "float32"


def add(N, block=BLOCK):
    @T.prim_func
    def main(A: T.Tensor((N,), DTYPE)):
        with T.Kernel(T.ceildiv(N, block), threads=128) as bx:
            S = T.alloc_shared((block,), DTYPE)
            T.copy(A[bx * block], S)
            T.copy(S, A[bx * block])

    return main
'''
    [(inst, src, nbytes)] = kernels(source)
    assert src == "defaults" and inst == {} and nbytes == 192


def test_eager_kernel_binds_consts_from_compile_and_tensor_shapes() -> None:
    source = '''import tilelang
import tilelang.language as T
import torch


@tilelang.jit
def add(A, B, block: int):
    M, N = T.const("M, N")
    A: T.Tensor((M, N), T.float16)
    B: T.Tensor((M, N), T.float16)
    with T.Kernel(T.ceildiv(N, block), T.ceildiv(M, block), threads=128) as (bx, by):
        S = T.alloc_shared((block, block), T.float16)
        T.copy(A[by * block, bx * block], S)
        T.copy(S, B[by * block, bx * block])


def main():
    a = torch.randn(256, 512, dtype=torch.float16).cuda()
    b = torch.empty_like(a)
    add(a, b, 32)
    add.compile(M=1024, N=1024, block=64)
'''
    got = kernels(source)
    assert [(i, s, b) for i, s, b in got] == [
        ({"block": 32, "M": 256, "N": 512}, "call-site", 2048),
        ({"M": 1024, "N": 1024, "block": 64}, "call-site", 8192),
    ]


def test_unbound_tile_gives_tl902_and_null_size() -> None:
    source = FACTORY.replace("@autotune(configs=get_configs(), warmup=3)\n", "").replace(
        "block_M=32, ", "block_M, "
    ).replace("def scale(N, block_M, num_stages=0", "def scale(N, block_M, num_stages=0")
    report = analyze_source(source, "f.py", Config(arches=("sm_80",)))
    [kernel] = report.kernels
    assert kernel["shared_memory_bytes"] is None and kernel["unbound"] == ["N", "block_M"]
    [diag] = report.diagnostics
    assert diag.code == "TL902" and "instantiate scale(block_M=...)" in diag.message and "N" not in diag.message.split(":")[1]


def test_runaway_driver_loop_is_bounded() -> None:
    source = FACTORY + "\nwhile True:\n    scale(1024, 64, 1)\n\nx = 0\nfor i in range(10**9):\n    x += i\n"
    got = kernels(source)
    assert [(i["block_M"], s) for i, s, _ in got] == [(64, "call-site")]
