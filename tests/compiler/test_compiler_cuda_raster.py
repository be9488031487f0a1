"""T.use_swizzle on CUDA (passes/grid.py rasterize_blocks): the block remapping is a bijection on the grid,
walks panels of block rows, appears only where the kernel asks for it, and bad arguments are located
errors. The CPU ignores it (results do not depend on the block order)."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest

pytest.importorskip("tvm")

from tvm import tirx  # noqa: E402

from compiler import compile as build  # noqa: E402
from compiler.cuda_codegen import generate_kernel  # noqa: E402
from compiler.errors import CompileError  # noqa: E402
from compiler.loader import instantiate, load  # noqa: E402
from compiler.passes.grid import raster_order  # noqa: E402

KERNEL = textwrap.dedent('''
    import tilelang
    import tilelang.language as T


    @tilelang.jit
    def ids(M, N, bm, bn, panel: int = 3, order: str = "row"):
        Out = T.empty((M // bm, N // bn), T.int32)
        with T.Kernel(N // bn, M // bm, threads=32) as (bx, by):
            T.use_swizzle(panel, order=order)
            Out[by, bx] = by * (N // bn) + bx
        return Out
''')


def order_of(gx: int, gy: int, panel: int) -> list[tuple[int, int]]:
    import tvm

    ana = tvm.sym.Analyzer()
    c = lambda v: tirx.const(v, "int32")  # noqa: E731
    out = []
    for y in range(gy):
        for x in range(gx):
            bx, by = raster_order(c(x), c(y), c(gx), c(gy), panel)
            out.append((int(ana.simplify(bx).value), int(ana.simplify(by).value)))
    return out


@pytest.mark.parametrize("gx,gy,panel", [(5, 7, 3), (16, 32, 10), (4, 4, 8), (1, 9, 2), (6, 1, 4)])
def test_raster_order_is_a_bijection(gx, gy, panel):
    seen = order_of(gx, gy, panel)
    assert sorted(seen) == sorted((x, y) for x in range(gx) for y in range(gy))


def test_raster_order_walks_down_a_panel_first():
    # 5 x 7 grid, panels of 3 block rows: blocks 0, 1, 2 are column 0 of rows 0-2, then column 1; the last
    # panel has one row (row 6) and walks along it
    seen = order_of(5, 7, 3)
    assert seen[:4] == [(0, 0), (0, 1), (0, 2), (1, 0)]
    assert seen[-5:] == [(0, 6), (1, 6), (2, 6), (3, 6), (4, 6)]


def kernel(tmp_path, call):
    path = tmp_path / "ids.py"
    path.write_text(KERNEL)
    return instantiate(load(path), call)


def test_cuda_source_remaps_blocks_only_when_asked(tmp_path):
    src = generate_kernel(kernel(tmp_path, "ids(M=224, N=160, bm=32, bn=32)"), "sm_90").source
    assert "int bx = " in src and "min(3, (7 - " in src
    plain = generate_kernel(instantiate(load(tmp_path / "ids.py"), "ids(M=224, N=160, bm=32, bn=32, panel=1000)"),
                            "sm_90").source
    assert "int bx = " in plain and "% 7)" in plain  # one panel holding all 7 rows (min folded away)
    col = generate_kernel(kernel(tmp_path, "ids(M=224, N=160, bm=32, bn=32, order='col')"), "sm_90").source
    assert "min(3, (5 - " in col  # panels of block columns (gx = 5)


def test_cpu_results_do_not_depend_on_it(tmp_path):
    out = build(kernel(tmp_path, "ids(M=224, N=160, bm=32, bn=32)"))()
    np.testing.assert_array_equal(out, np.arange(35, dtype=np.int32).reshape(7, 5))


def test_bad_panel_is_a_located_error(tmp_path):
    with pytest.raises(CompileError, match=r"ids.py:10:9: TL951 T.use_swizzle: panel_size must be a positive constant integer"):
        kernel(tmp_path, "ids(M=224, N=160, bm=32, bn=32, panel=0)")
