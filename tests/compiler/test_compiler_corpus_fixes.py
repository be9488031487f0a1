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


# ---------------------------------------------------------------- arithmetic on T.const sizes

CONST_SRC = '''
import tilelang
import tilelang.language as T


@tilelang.jit
def grouped(X, Y, groups=2, blk=4):
    batch, heads, dim = T.const("batch, heads, dim")
    heads_kv = heads // groups                  # before any tensor is declared
    half = dim - dim // 2                       # reflected and mixed forms
    rest = 2 * heads_kv % (heads + 1) + (-(-dim // blk)) * 0
    x_shape = [batch, heads, dim]               # shapes through a variable
    y_shape = [batch, heads_kv, half]
    assert tilelang.math.next_power_of_2(blk) == blk, "blk must be a power of 2"

    X: T.Tensor(x_shape, "float32")
    Y: T.Tensor(y_shape, "float32")
    Out = T.empty([batch, heads_kv, 2], "float32")
    with T.Kernel(batch * heads_kv, threads=32) as bz:
        b, h = bz // heads_kv, bz % heads_kv
        for j in T.serial(half):
            Out[b, h, 0] += X[b, h * groups, j] * Y[b, h, j]
        Out[b, h, 1] = rest
    return Out
'''


def test_const_size_arithmetic_before_binding(tmp_path):
    """`heads_kv = heads // groups` on a `T.const` size raised TypeError (NSA decode); now it is evaluated once
    the tensor that declares `heads` binds it, and it can size a later tensor."""
    f = _load(tmp_path, "const_arith", CONST_SRC)["grouped"]
    rng = np.random.default_rng(1)
    for batch, heads, dim, groups in ((2, 4, 8, 2), (1, 6, 7, 3)):
        hk, half = heads // groups, dim - dim // 2
        x = rng.standard_normal((batch, heads, dim)).astype(np.float32)
        y = rng.standard_normal((batch, hk, half)).astype(np.float32)
        got = f(x, y, groups=groups)
        want = np.zeros((batch, hk, 2), np.float32)
        want[:, :, 0] = np.einsum("bhj,bhj->bh", x[:, ::groups, :half], y)
        want[:, :, 1] = 2 * hk % (heads + 1)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_const_size_needed_before_binding_is_located(tmp_path):
    src = CONST_SRC.replace("    x_shape = [batch", "    if heads > 4:\n        groups = 1\n    x_shape = [batch")
    f = _load(tmp_path, "const_early", src)["grouped"]
    with pytest.raises(CompileError) as err:
        f(np.zeros((1, 4, 8), np.float32), np.zeros((1, 2, 4), np.float32))
    d = err.value.diagnostic
    assert "needs the value of T.const size heads" in d.message and d.range.start.line + 1 == 12  # the `if`


def test_assert_on_python_values_is_checked(tmp_path):
    src = CONST_SRC.replace("next_power_of_2(blk) == blk", "next_power_of_2(blk) == blk + 1")
    f = _load(tmp_path, "const_assert", src)["grouped"]
    with pytest.raises(CompileError, match="AssertionError: blk must be a power of 2"):
        f(np.zeros((1, 4, 8), np.float32), np.zeros((1, 2, 4), np.float32))


# ---------------------------------------------------------------- T.const sizes by keyword under @autotune

AUTOTUNE_SRC = '''
import itertools
import tilelang
import tilelang.language as T
from tilelang.autotuner import autotune


@autotune(configs=[dict(block_M=bm, threads=t) for bm, t in itertools.product([8, 16], [32, 64])], warmup=1, rep=1)
@tilelang.jit
def scaled_rows(A, D, block_M=64, threads=128):
    rows, cols = T.const("rows, cols")
    A: T.Tensor((rows, cols), "float32")
    D: T.Tensor((rows,), "float32")
    Out = T.empty((rows, cols), "float32")
    with T.Kernel(T.ceildiv(rows, block_M), threads=threads) as bx:
        for i, j in T.Parallel(block_M, cols):
            Out[bx * block_M + i, j] = A[bx * block_M + i, j] * D[bx * block_M + i]
    return Out
'''


def test_autotuned_eager_kernel_takes_const_sizes_by_keyword(tmp_path):
    """`kernel = f.compile(batch=..., seqlen=..., block_M=...)` on an @autotune'd eager kernel (mamba chunk
    scan/state) raised "unexpected keyword argument 'batch'": keywords that are not parameters are T.const
    sizes, and only the parameters (or sizes) the call leaves out come from the first config."""
    f = _load(tmp_path, "autotune_kw", AUTOTUNE_SRC)["scaled_rows"]
    rng = np.random.default_rng(2)
    a = rng.standard_normal((37, 12)).astype(np.float32)
    d = rng.standard_normal(37).astype(np.float32)
    kernel = f.compile(rows=37, cols=12, block_M=16)  # threads from the first config
    np.testing.assert_allclose(kernel(a, d), a * d[:, None], rtol=1e-6)
    assert any("first config" in n for n in kernel.kdef.notes)
    assert f.missing_from_config((), {"rows": 37, "cols": 12, "block_M": 16}) == {"threads": 32}
    # eager call with the tensors by keyword, in another order than the parameters
    np.testing.assert_allclose(f(D=d, A=a), a * d[:, None], rtol=1e-6)


def test_autotuned_request_for_the_analyzer_keeps_const_keywords(tmp_path):
    from compiler.verify import effective_request

    loaded = _load(tmp_path, "autotune_req", AUTOTUNE_SRC)
    assert effective_request(loaded, "scaled_rows(rows=37, cols=12, block_M=16)") == \
        "scaled_rows(rows=37, cols=12, block_M=16, threads=32)"


# ---------------------------------------------------------------- scalar kernel parameters

SCALAR_SRC = '''
import numpy as np
import tilelang
import tilelang.language as T


@tilelang.jit(out_idx=[5])
def segments(total, batch, blk=4):
    @T.prim_func
    def main(X: T.Tensor((total,), "float32"), cu: T.Tensor((batch + 1,), "int32"), max_len: T.int32,
             scale: T.float32, shift: T.int32, Y: T.Tensor((total,), "float32")):
        with T.Kernel(T.ceildiv(max_len, blk), batch, threads=32) as (bx, b):
            start = cu[b]
            n = cu[b + 1] - start
            for i in T.Parallel(blk):
                if bx * blk + i < n:
                    Y[start + bx * blk + i] = X[start + (bx * blk + i + shift) % n] * scale
    return main


def ref_program(x, cu, max_len, scale, shift):
    y = np.zeros_like(x)
    for b in range(len(cu) - 1):
        seg = x[cu[b]:cu[b + 1]]
        y[cu[b]:cu[b + 1]][:max_len] = (np.roll(seg, -shift) * np.float32(scale))[:max_len]
    return y
'''


def test_scalar_parameters(tmp_path):
    """`max_seqlen_q: T.int32` (varlen FlashAttention) was refused ("needs a T.Tensor annotation"). A scalar
    parameter is a variable of the function: it can size the grid, the runtime passes it as a number, and
    `out_idx` counts it like TileLang does."""
    loaded = _load(tmp_path, "scalars", SCALAR_SRC)
    cu = np.array([0, 7, 9, 20], np.int32)
    x = np.random.default_rng(4).standard_normal(20).astype(np.float32)
    kernel = loaded["segments"](20, 3)
    assert "max_len: T.int32, scale: T.float32, shift: T.int32" in kernel.kdef.func.script()
    ref = loaded["ref_program"]
    for max_len, scale, shift in ((11, 0.5, 0), (11, 2.0, 3), (4, -1.5, 1)):
        np.testing.assert_allclose(kernel(x, cu, max_len, scale, shift), ref(x, cu, max_len, scale, shift), rtol=1e-6)
    y = np.zeros(20, np.float32)  # every argument given: the output is written in place
    assert kernel(x, cu, np.int32(11), np.float32(2.0), np.array(3), y) is None
    np.testing.assert_allclose(y, ref(x, cu, 11, 2.0, 3), rtol=1e-6)
    from compiler.errors import KernelError

    with pytest.raises(KernelError, match="'max_len' is a scalar int32 parameter"):
        kernel(x, cu, 2.5, 1.0, 0)
    with pytest.raises(KernelError, match="'max_len' is a scalar int32 parameter: pass a number"):
        kernel(x, cu, np.zeros(3), 1.0, 0)


SHIFT_SRC = '''
import numpy as np
import tilelang
import tilelang.language as T


@tilelang.jit(out_idx=[3])
def shift(N, blk=8):
    @T.prim_func
    def main(X: T.Tensor((N,), "float32"), k: T.int32, scale: T.float32, Y: T.Tensor((N,), "float32")):
        with T.Kernel(T.ceildiv(N, blk), threads=32) as bx:
            for i in T.Parallel(blk):
                Y[bx * blk + i] = X[(bx * blk + i + k) % N] * scale
    return main


def ref_program(x, k, scale):
    return np.roll(x, -k) * np.float32(scale)
'''


def test_tilec_run_scalar_parameters(tmp_path, capsys):
    from compiler.cli import main

    path = tmp_path / "shift.py"
    path.write_text(SHIFT_SRC)
    args = ["run", str(path), "--instantiate", "shift(20)", "--check"]
    assert main(args) == 2  # an integer scalar is a size or an offset: tilec does not guess it
    assert "pass --scalar k=N" in capsys.readouterr().err
    assert main(args + ["--scalar", "k=3"]) == 0  # scale: a random float, passed to ref_program too
    out = capsys.readouterr().out
    assert "k=3 int32" in out and "output 0: max abs error 0 " in out and ": ok" in out
    assert main(args + ["--scalar", "n=3"]) == 2
    assert "scalar parameters (k, scale)" in capsys.readouterr().err


# ---------------------------------------------------------------- get_kernel_source

def test_get_kernel_source_is_the_lowered_tir(tmp_path):
    """`kernel_fn.get_kernel_source(batch=..., ...)` on the @tilelang.jit function (NSA forward) and
    `kernel.get_kernel_source()` on a compiled kernel: on the CPU target, the lowered TIR."""
    from compiler.pipeline import lower
    from compiler.runtime import to_module

    loaded = _load(tmp_path, "source", CONST_SRC + SHIFT_SRC.split("import tilelang.language as T\n", 1)[1])
    eager = loaded["grouped"].get_kernel_source(batch=2, heads=4, dim=8)
    assert "X: T.Buffer((2, 4, 8), \"float32\")" in eager and "for block in T.parallel(4)" in eager  # bound grid
    kernel = loaded["shift"](20)
    text = kernel.get_kernel_source()
    assert text == lower(to_module(kernel.kdef)).script() == loaded["shift"].get_kernel_source(20)
    kernel(np.zeros(20, np.float32), 1, 1.0)  # once built, the runner's lowered module gives the same text
    assert kernel.get_kernel_source() == text
    x = np.arange(16, dtype=np.float32).reshape(1, 4, 4)
    assert loaded["grouped"].get_kernel_source(x, np.zeros((1, 2, 2), np.float32)) != eager  # sizes from arrays


# ---------------------------------------------------------------- string arguments where sizes belong

STR_SRC = '''
import tilelang
import tilelang.language as T


def paged(batch, seqlen_pad, dim, dtype="float16"):
    rows = batch * seqlen_pad

    @T.prim_func
    def main(KV: T.Tensor([rows, dim], dtype), O: T.Tensor([batch, dim], dtype)):
        with T.Kernel(batch) as b:
            T.copy(KV[b * seqlen_pad, 0], O[b, 0])
    return main


def persistent(M, N, out_dtype="float32"):
    tiles = M + 1

    @T.prim_func
    def main(A: T.Tensor([M, N], out_dtype)):
        with T.Kernel(tiles) as b:
            A[0, 0] = 1.0
    return main
'''


def test_string_argument_in_a_shape_is_named(tmp_path):
    """An instantiation that gives a str where a size belongs (`max_seqlen_pad='max_seqlen_pad'`, as the
    analyzer writes a parameter it has no value for) built a giant str as a shape dimension (MLA decode), or
    failed with an unlocated "can only concatenate str" (DeepSeek V4 GEMM). Both are now located at the user's
    line and name the str arguments; dtype strings are not mistaken for them."""
    from compiler.loader import instantiate

    loaded = _load(tmp_path, "strs", STR_SRC)
    with pytest.raises(CompileError) as err:
        instantiate(loaded, "paged(batch=4, seqlen_pad='seqlen_pad', dim=8)")
    e = err.value
    assert e.line == 10 and e.diagnostic.code == "TL951"  # the T.Tensor annotation of KV
    assert "shape dimension is the str 'seqlen_pad' repeated 4 times (a str multiplied by an int)" in e.diagnostic.message
    assert e.diagnostic.message.endswith("a value may be expected: seqlen_pad='seqlen_pad')")
    with pytest.raises(CompileError) as err:
        instantiate(loaded, "persistent(M='M', N='N', out_dtype='bfloat16')")
    e = err.value
    assert e.line == 17 and e.diagnostic.range.start.character == 12
    assert e.diagnostic.message == ('TypeError: can only concatenate str (not "int") to str (the instantiation '
                                    "gives a string where a value may be expected: M='M', N='N')")


EQUAL_OP = '''
import tilelang.language as T

def same_block(i, j, b):
    return T.if_then_else(i // b == j // b, 1.0, 0.0)

def k(n=64, b=16):
    @T.prim_func
    def main(A: T.Tensor((n, n), "float32")):
        with T.Kernel(1, threads=128) as bx:
            for i, j in T.Parallel(n, n):
                A[i, j] = same_block(i, j, b) + T.if_then_else(i // b != j // b, 2.0, 0.0)
    return main
'''


def test_python_equality_of_kernel_expressions_in_a_helper(tmp_path):
    # `i // b == j // b` in a plain Python helper gives TVM's EqualOp wrapper, not an expression
    # (TileLang's block_causal_attention mask helpers do this)
    from compiler.loader import instantiate
    from compiler.runtime import build

    path = tmp_path / "k.py"
    path.write_text(EQUAL_OP)
    a = np.zeros((64, 64), np.float32)
    build(instantiate(load(path), "k()"))(a)
    i, j = np.indices((64, 64))
    np.testing.assert_array_equal(a, np.where(i // 16 == j // 16, 1.0, 2.0))
