"""Constructs from TileLang's examples that the compiler got wrong (found by benchmarks/compiler_corpus.py),
each in a small kernel of its own checked against NumPy."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("tvm")

from compiler.errors import CompileError  # noqa: E402
from compiler.loader import load  # noqa: E402


def _load(tmp_path, name: str, src: str):
    path = tmp_path / f"{name}.py"
    path.write_text(src)
    return load(path)


# ---------------------------------------------------------------- boolean elements as numbers

BOOL_SRC = '''
import tilelang
import tilelang.language as T


@tilelang.jit(out_idx=[-1])
def masked(N, nb, blk=8):
    @T.prim_func
    def main(X: T.Tensor((N,), "float32"), M: T.Tensor((nb,), "bool"), Y: T.Tensor((N, 6), "float32")):
        with T.Kernel(1, threads=32) as bx:
            m = T.alloc_fragment((nb,), "bool")
            T.copy(M, m)
            for b in T.serial(nb):
                if m[b] != 0:                      # a block-sparse mask test
                    for i in T.Parallel(blk):
                        Y[b * blk + i, 0] = X[b * blk + i]
                if M[b] == True:                   # noqa: E712 - the global tensor, compared with True
                    for i in T.Parallel(blk):
                        Y[b * blk + i, 1] = 1.0
                for i in T.Parallel(blk):
                    Y[b * blk + i, 2] = T.if_then_else(m[b], X[b * blk + i], -1.0)
                    Y[b * blk + i, 3] = m[b] + 1   # Python: True + 1 == 2
                    Y[b * blk + i, 4] = T.if_then_else(m[b] > 0, 5.0, 7.0)
                    Y[b * blk + i, 5] = T.if_then_else(X[b * blk + i] > i, 1.0, 0.0)  # float vs int32

    return main
'''


def test_bool_mask_compared_and_added_as_int(tmp_path):
    """`mask[k] != 0` on a bool tensor (block-sparse attention) failed LLVM verification: the comparison stayed
    in `bool` and TVM emitted `fcmp one i1`. Bools now compare and add as integers, as in Python."""
    kernel = _load(tmp_path, "bool_mask", BOOL_SRC)["masked"](32, 4)
    x = np.random.default_rng(0).standard_normal(32).astype(np.float32) * 4
    m = np.array([True, False, True, True])
    got = kernel(x, m)
    rep = np.repeat(m, 8)
    want = np.zeros((32, 6), np.float32)
    want[:, 0] = np.where(rep, x, 0)
    want[:, 1] = np.where(rep, 1, 0)
    want[:, 2] = np.where(rep, x, -1)
    want[:, 3] = rep.astype(np.int32) + 1
    want[:, 4] = np.where(rep, 5, 7)
    want[:, 5] = np.where(x > np.tile(np.arange(8), 4), 1, 0)
    np.testing.assert_array_equal(got, want)
