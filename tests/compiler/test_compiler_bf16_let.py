"""A bfloat16 value bound to a name in a kernel (`xv = T.Cast("float", X_smem[i, j])`, `xv = X_smem[i, j]`).

Found by running TileLang's `examples/norm/layernorm.py` driver on the CPU (`benchmarks/compiler_corpus.py
--run-main`): its backward kernel did not build. TVM's `BF16ComputeLegalize` does not rewrite `Bind`
statements: a load of a legalized (float32-stored) bfloat16 buffer in a `Bind` value kept the old buffer
(StorageRewrite: "Load/Store of buffer X_smem occurred before its declaration"), and a bfloat16 `Bind`
variable got a float32 value. `passes/bf16_lets.py` now moves such values into one-element local cells.
Every form is checked exactly against NumPy, next to the inline form.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("tvm")

from compiler.loader import load  # noqa: E402
from compiler.runtime import _np_dtype  # noqa: E402

SRC = '''
import tilelang
import tilelang.language as T


@tilelang.jit(out_idx=[-1])
def k(N, D, blk_m=4, dtype="bfloat16"):
    @T.prim_func
    def main(X: T.Tensor((N, D), dtype), Mean: T.Tensor((N,), "float"), DX: T.Tensor((N, D), dtype)):
        with T.Kernel(T.ceildiv(N, blk_m), threads=32) as bx:
            X_smem = T.alloc_shared((1, D), dtype)
            DX_smem = T.alloc_shared((1, D), dtype)
            x_hat = T.alloc_fragment((1, D), "float")
            for k in T.serial(blk_m):
                row = bx * blk_m + k
                T.copy(X[row, 0], X_smem)
                m_v = Mean[row]
                for i, j in T.Parallel(1, D):
                    BODY
                for i, j in T.Parallel(1, D):
                    DX_smem[i, j] = T.Cast(dtype, x_hat[i, j])
                T.copy(DX_smem, DX[row, 0])

    return main
'''
LET = 'xv = T.Cast("float", X_smem[i, j])\n                    x_hat[i, j] = xv - m_v'
LET_BF16 = 'xv = X_smem[i, j]\n                    x_hat[i, j] = T.Cast("float", xv) - m_v'  # the name is bfloat16
LET_GLOBAL = 'xv = X[row, j]\n                    x_hat[i, j] = T.Cast("float", xv) - m_v'  # read from the parameter
INLINE = 'x_hat[i, j] = T.Cast("float", X_smem[i, j]) - m_v'


def _run(tmp_path, body):
    path = tmp_path / "bf16_let.py"
    path.write_text(SRC.replace("BODY", body))
    kernel = load(path)["k"](8, 64)
    rng = np.random.default_rng(3)
    x = rng.standard_normal((8, 64)).astype(np.float32).astype(_np_dtype("bfloat16"))
    mean = rng.standard_normal(8).astype(np.float32)
    got = kernel(x, mean).astype(np.float64)
    want = (x.astype(np.float64) - mean[:, None]).astype(np.float32).astype(_np_dtype("bfloat16")).astype(np.float64)
    np.testing.assert_allclose(got, want, rtol=0, atol=0)


def test_bf16_cast_inline_matches_numpy(tmp_path):
    _run(tmp_path, INLINE)


@pytest.mark.parametrize("body", [LET, LET_BF16, LET_GLOBAL], ids=["float_let", "bf16_let", "bf16_let_global"])
def test_bf16_let_bound_matches_numpy(tmp_path, body):
    _run(tmp_path, body)


def test_bf16_let_becomes_a_cell(tmp_path):
    """The pass leaves no bfloat16 `Bind` behind and keeps other lets (the row index) as they are."""
    from compiler.passes.bf16_lets import spill_bf16_lets
    from compiler.runtime import to_module

    path = tmp_path / "bf16_let.py"
    path.write_text(SRC.replace("BODY", LET_BF16))
    kdef = load(path)["k"](8, 64).kdef
    text = spill_bf16_lets(to_module(kdef)).script()
    assert "xv_cell: T.bfloat16 = X_smem[i, j]" in text  # a one-element local buffer, as TVMScript prints it
    assert "xv:" not in text and "row: T.let[T.int32]" in text
