"""TL3xx beyond the documented examples: the dtype tables, per-arch behaviour, messages and positions.

The facts asserted here were measured on TileLang 0.1.15 (lowering plus `nvcc --cubin`), see
analyzer/rules/dtypes.py.
"""

from __future__ import annotations

import pytest

from analyzer.config import Config
from analyzer.diagnostics import Severity
from analyzer.engine import analyze_source

HEADER = "import tilelang\nimport tilelang.language as T\n\n\n"


def _diags(source: str, code: str, arches: tuple[str, ...] = ("sm_80",)):
    report = analyze_source(source, "k.py", Config(arches=arches))
    return [d for d in report.diagnostics if d.code == code]


def _line(source: str, text: str) -> int:
    """0-based line of the first line containing `text`."""
    return next(i for i, line in enumerate(source.splitlines()) if text in line)


GEMM = HEADER + '''def matmul(M, N, K, block_M=64, block_N=64, block_K=32):
    @T.prim_func
    def main(A: T.Tensor((M, K), {a}), B: T.Tensor((N, K), {b}), C: T.Tensor((M, N), {c})):
        with T.Kernel(T.ceildiv(N, block_N), T.ceildiv(M, block_M), threads=128) as (bx, by):
            A_shared = T.alloc_shared((block_M, block_K), {a})
            B_shared = T.alloc_shared((block_N, block_K), {b})
            acc = T.{alloc}((block_M, block_N), {c})
            T.clear(acc)
            for k in T.Pipelined(T.ceildiv(K, block_K), num_stages=2):
                T.copy(A[by * block_M, k * block_K], A_shared)
                T.copy(B[bx * block_N, k * block_K], B_shared)
                T.gemm(A_shared, B_shared, acc, transpose_B=True)
            T.copy(acc, C[by * block_M, bx * block_N])

    return main


kernel = matmul(1024, 1024, 1024)
'''


def gemm(a: str, c: str, b: str | None = None, alloc: str = "alloc_fragment") -> str:
    return GEMM.format(a=a, b=b or a, c=c, alloc=alloc)


# --------------------------------------------------------------------------- TL301


def test_bf16_into_f16_accumulator_names_dtypes_fix_and_position() -> None:
    source = gemm('"bfloat16"', '"float16"')
    [d] = _diags(source, "TL301")
    assert d.severity is Severity.ERROR
    assert d.message.startswith("T.gemm accumulates bfloat16 x bfloat16 into acc (float16): ")
    assert "bfloat16 products only in float32" in d.message
    assert "tl::mma_sync: unsupported configuration" in d.message
    assert d.message.endswith("allocate acc as float32")
    assert d.range.start.line == _line(source, "T.gemm(") and d.range.start.character == 16
    assert d.kernel == "main"


# every entry measured: A/B dtype, accumulator, whether TileLang 0.1.15 builds it for sm_80 and sm_90
TABLE = [
    ("float16", "float16", True), ("float16", "float32", True), ("float16", "bfloat16", False),
    ("float16", "int32", False), ("float16", "float64", False),
    ("bfloat16", "float32", True), ("bfloat16", "float16", False), ("bfloat16", "bfloat16", False),
    ("float32", "float32", True), ("float32", "float16", False),
    ("int8", "int32", True), ("int8", "float32", False), ("int8", "float16", False), ("int8", "int8", False),
    ("uint8", "int32", True), ("uint8", "float32", False),
    ("int4", "int32", True), ("int4", "float32", False),
    ("float8_e4m3fn", "float32", True), ("float8_e4m3fn", "float16", True),
    ("float8_e5m2", "float32", True), ("float8_e5m2", "float16", True), ("float8_e5m2", "bfloat16", False),
    ("float64", "float64", True), ("float64", "float32", False), ("float64", "float16", False),
]


@pytest.mark.parametrize("ab,c,builds", TABLE, ids=[f"{ab}-{c}" for ab, c, _ in TABLE])
def test_accumulator_table(ab: str, c: str, builds: bool) -> None:
    found = _diags(gemm(f'"{ab}"', f'"{c}"'), "TL301", ("sm_80", "sm_90"))
    assert (found == []) == builds, found


def test_tfloat32_operands_accumulate_in_float32_only() -> None:
    assert _diags(gemm("T.tfloat32", '"float32"'), "TL301") == []
    [d] = _diags(gemm("T.tfloat32", '"float16"'), "TL301")
    assert "tfloat32 products only in float32" in d.message


def test_float64_accumulator_for_narrow_operands_fails_while_lowering() -> None:
    [d] = _diags(gemm('"float16"', '"float64"'), "TL301")
    assert "Could not normalize iterators" in d.message and "float16 or float32" in d.message


def test_turing_and_volta_fall_back_to_fma() -> None:
    source = gemm('"bfloat16"', '"float16"')
    assert _diags(source, "TL301", ("sm_75",)) == []
    [d] = _diags(source, "TL301", ("sm_75", "sm_80", "sm_90"))
    assert "into acc (float16) on sm_80, sm_90:" in d.message


def test_accumulator_outside_fragments_is_left_to_other_rules() -> None:
    assert _diags(gemm('"bfloat16"', '"float16"', alloc="alloc_shared"), "TL301") == []


def test_unknown_operand_dtypes_are_not_judged() -> None:
    # no measured table entry for the fnuz float8 types (TileLang's CUDA codegen refuses them anyway)
    assert _diags(gemm('"float8_e4m3fnuz"', '"bfloat16"'), "TL301") == []


# --------------------------------------------------------------------------- TL302


def test_mixed_operands_error_on_every_arch_and_hide_tl301() -> None:
    source = gemm('"float16"', '"float16"', b='"bfloat16"')
    [d] = _diags(source, "TL302", ("sm_75",))
    assert d.severity is Severity.ERROR
    assert d.message.startswith("T.gemm multiplies A_shared (float16) by B_shared (bfloat16): ")
    assert "'Mixed-dtype GEMM only supports f8f6f4 family operands currently, got A=float16, B=bfloat16'" in d.message
    assert d.message.endswith("T.copy it into a bfloat16 tile")
    assert d.range.start.line == _line(source, "T.gemm(")
    assert _diags(source, "TL301") == []


@pytest.mark.parametrize("a,b", [("float16", "float32"), ("int8", "uint8"), ("int8", "float16"),
                                 ("float8_e4m3fn", "float8_e5m2")])
def test_mixed_pairs_are_rejected(a: str, b: str) -> None:
    c = '"int32"' if a.startswith("int") and b.startswith(("int", "uint")) else '"float32"'
    assert len(_diags(gemm(f'"{a}"', c, b=f'"{b}"'), "TL302")) == 1


def test_tcgen05_may_mix_float8_operands_into_tensor_memory() -> None:
    source = gemm('"float8_e4m3fn"', '"float32"', b='"float8_e5m2"', alloc="alloc_tmem")
    assert _diags(source, "TL302", ("sm_100",)) == []
    # but float16 x bfloat16 is refused there too
    assert len(_diags(gemm('"float16"', '"float32"', b='"bfloat16"', alloc="alloc_tmem"), "TL302")) == 1


# --------------------------------------------------------------------------- TL303


TWO_GEMMS = HEADER + '''def two(M, N, K):
    @T.prim_func
    def main(A: T.Tensor((M, K), "float32"), B: T.Tensor((K, N), "float32"), C: T.Tensor((M, N), "float32")):
        with T.Kernel(T.ceildiv(N, 64), T.ceildiv(M, 64), threads=128) as (bx, by):
            A_s = T.alloc_shared((64, 32), "float32")
            B_s = T.alloc_shared((32, 64), "float32")
            acc = T.alloc_fragment((64, 64), "float32")
            T.clear(acc)
            T.copy(A[by * 64, 0], A_s)
            T.copy(B[0, bx * 64], B_s)
            T.gemm(A_s, B_s, acc)
            T.gemm(A_s, B_s, acc)
            T.copy(acc, C[by * 64, bx * 64])

    return main


kernel = two(1024, 1024, 32)
'''


def test_tf32_note_is_one_per_kernel_with_the_others_related() -> None:
    [d] = _diags(TWO_GEMMS, "TL303")
    assert d.severity is Severity.INFORMATION
    assert d.message.startswith("T.gemm of float32 A_s x B_s (and 1 more float32 T.gemm calls in this kernel) runs "
                                "on TF32 tensor cores: ")
    first = _line(TWO_GEMMS, "T.gemm(")
    assert d.range.start.line == first
    assert [r.range.start.line for r in d.related] == [first + 1]


def test_tf32_note_only_where_tensor_cores_run() -> None:
    assert _diags(TWO_GEMMS, "TL303", ("sm_75",)) == []
    [d] = _diags(TWO_GEMMS, "TL303", ("sm_75", "sm_80"))
    assert "runs on TF32 tensor cores on sm_80:" in d.message


def test_no_tf32_note_for_explicit_tfloat32_or_a_wrong_accumulator() -> None:
    assert _diags(gemm("T.tfloat32", '"float32"'), "TL303") == []
    assert _diags(gemm('"float32"', '"float16"'), "TL303") == []  # TL301 reports that one
    assert _diags(gemm('"float16"', '"float32"'), "TL303") == []


# --------------------------------------------------------------------------- TL304


COPY = HEADER + '''def convert(M, N):
    @T.prim_func
    def main(X: T.Tensor((M, N), {src}), Y: T.Tensor((M, N), {dst})):
        with T.Kernel(T.ceildiv(M, 64), threads=128) as bx:
            x = T.alloc_fragment((64, N), {src})
            y = T.alloc_shared((64, N), {dst})
            T.copy(X[bx * 64, 0], x)
            for i, j in T.Parallel(64, N):
                x[i, j] = {body}
            T.copy(x, y)
            T.copy(y, Y[bx * 64, 0])

    return main


kernel = convert(1024, 64)
'''


def test_float_to_integer_copy_warns_at_the_copy() -> None:
    source = COPY.format(src='"float16"', dst='"int8"', body="x[i, j] * 127")
    [d] = _diags(source, "TL304")
    assert d.severity is Severity.WARNING
    assert d.message.startswith("T.copy converts the float16 values of x into int8 y: each value is truncated "
                                "toward zero")
    assert 'T.Cast("int8", T.round(x[i, j]))' in d.message
    assert d.range.start.line == _line(source, "T.copy(x, y)")


@pytest.mark.parametrize("src,dst", [("float16", "float32"), ("float32", "bfloat16"), ("float16", "float8_e4m3fn"),
                                     ("int8", "float16"), ("int32", "int8")])
def test_widening_narrowing_floats_and_integer_sources_are_quiet(src: str, dst: str) -> None:
    assert _diags(COPY.format(src=f'"{src}"', dst=f'"{dst}"', body="x[i, j] * 2"), "TL304") == []


@pytest.mark.parametrize("body", ["T.round(x[i, j] * 127)", "T.clamp(T.round(x[i, j] * 127), -128, 127)",
                                  "T.max(T.min(T.floor(x[i, j]), 127), -128)", 'T.Cast("int32", x[i, j])',
                                  "T.if_then_else(x[i, j] > 0, T.ceil(x[i, j]), 0)", "i + j"])
def test_rounded_values_copy_exactly(body: str) -> None:
    assert _diags(COPY.format(src='"float16"', dst='"int8"', body=body), "TL304") == []


@pytest.mark.parametrize("body", ["T.exp(x[i, j])", "x[i, j] / 2", 'T.Cast("float32", x[i, j])',
                                  "T.max(T.round(x[i, j]), 0.5)"])
def test_fractional_values_still_warn(body: str) -> None:
    assert len(_diags(COPY.format(src='"float16"', dst='"int8"', body=body), "TL304")) == 1


def test_float_to_bool_copy_warns() -> None:
    assert len(_diags(COPY.format(src='"float32"', dst='"bool"', body="x[i, j] * 2"), "TL304")) == 1


INT_IN_FLOAT = HEADER + '''def imatmul(M, N, K):
    @T.prim_func
    def main(A: T.Tensor((M, K), "int32"), B: T.Tensor((K, N), "int32"), C: T.Tensor((M, N), "int32")):
        with T.Kernel(T.ceildiv(N, 16), T.ceildiv(M, 16), threads=128) as (bx, by):
            A_s = T.alloc_shared((16, 16), "int32")
            B_s = T.alloc_shared((16, 16), "int32")
            acc = T.alloc_fragment((16, 16), "float32")
            T.clear(acc)
            for ko in T.Pipelined(T.ceildiv(K, 16), num_stages=0):
                T.copy(A[by * 16, ko * 16], A_s)
                T.copy(B[ko * 16, bx * 16], B_s)
                for i, j in T.Parallel(16, 16):
                    for k in T.Serial(16):
                        acc[i, j] += A_s[i, k] * B_s[k, j]{extra}
            T.copy(acc, C[by * 16, bx * 16])

    return main


kernel = imatmul(256, 256, 256)
'''


def test_a_float_buffer_that_only_holds_whole_numbers_copies_exactly() -> None:
    # TileLang's Metal codegen test accumulates an int32 matmul in float32: the copy back loses nothing
    assert _diags(INT_IN_FLOAT.format(extra=""), "TL304") == []
    assert len(_diags(INT_IN_FLOAT.format(extra=" * 0.5"), "TL304")) == 1
    assert len(_diags(INT_IN_FLOAT.format(extra=" / 2"), "TL304")) == 1


# --------------------------------------------------------------------------- TL305


STORE = HEADER + '''def seed(M, accum_dtype="float"):
    @T.prim_func
    def main(I: T.Tensor((M,), {dt})):
        with T.Kernel(T.ceildiv(M, 128), threads=128) as bx:
            idx = T.alloc_fragment((128,), {dt})
            {stmt}
            T.copy(idx, I[bx * 128])

    return main


kernel = seed(4096)
'''


def _store(stmt: str, dt: str = '"int32"'):
    source = STORE.format(stmt=stmt, dt=dt)
    return source, _diags(source, "TL305")


def test_fraction_is_truncated_silently() -> None:
    source, [d] = _store("for i in T.Parallel(128):\n                idx[i] = 0.5")
    assert d.severity is Severity.WARNING
    assert d.message == ("stores 0.5 into idx, an int32 buffer: 0.5 is a float and it is silently truncated to 0; "
                         "store an integer, or make idx a float buffer")
    assert d.range.start.line == _line(source, "idx[i] = 0.5")


def test_whole_floats_and_integers_are_quiet() -> None:
    assert _store("T.fill(idx, 1.0)")[1] == []
    assert _store("T.fill(idx, -1)")[1] == []
    assert _store("T.fill(idx, T.min_value(\"int32\"))")[1] == []
    assert _store("T.fill(idx, 0.5)", dt='"float32"')[1] == []


def test_negative_infinity_into_int32_is_an_error() -> None:
    source, [d] = _store("T.fill(idx, -T.infinity(T.float32))")
    assert d.severity is Severity.ERROR
    assert d.message.startswith("T.fill writes -T.infinity(T.float32) into idx, an int32 buffer: ")
    assert "'Literal value -9223372036854775808 exceeds minimum of int32'" in d.message
    assert 'seed it with T.min_value("int32") (-2147483648), or -1 for an index' in d.message
    assert d.range.start.line == _line(source, "T.fill(idx")


def test_infinity_dtype_from_a_factory_parameter() -> None:
    source = STORE.format(stmt="T.fill(idx, -T.infinity(accum_dtype))", dt='"int32"')
    [d] = _diags(source.replace("seed(4096)", 'seed(4096, accum_dtype="float")'), "TL305")
    assert d.severity is Severity.ERROR and "exceeds minimum of int32" in d.message
    # a parameter left at its default is not in the model's instantiation: only a warning then
    [d] = _diags(source, "TL305")
    assert d.severity is Severity.WARNING and "depending on the types" in d.message


def test_infinity_of_the_integer_type_itself() -> None:
    [d] = _store("T.fill(idx, -T.infinity(idx.dtype))")[1]
    assert d.severity is Severity.ERROR
    assert "'Cannot decide infinity for type int32'" in d.message


@pytest.mark.parametrize("stmt,dt,severity,text", [
    ("T.fill(idx, -T.infinity(T.float16))", '"int32"', Severity.WARNING, "arbitrary integer"),  # converted at run time
    ("T.fill(idx, -T.infinity(T.float32))", '"int64"', Severity.WARNING, "arbitrary integer"),  # INT64_MIN, silently
    ("T.fill(idx, -0.5)", '"uint8"', Severity.ERROR, "'cannot make uint from negative value -0.5'"),
    ("T.fill(idx, T.infinity(T.float32))", '"uint8"', Severity.ERROR,
     "'Literal value -9223372036854775808 is negative for unsigned integer type uint8'"),
    ("T.fill(idx, 3e9)", '"int32"', Severity.ERROR, "'Literal value 3000000000 exceeds maximum of int32'"),
    ("T.fill(idx, -200.5)", '"int8"', Severity.ERROR, "'Literal value -200 exceeds minimum of int8'"),
    ("T.fill(idx, 2.5)", '"bool"', Severity.ERROR, "'2 exceeds range of bool'"),
    ("T.fill(idx, -T.infinity(dtype))", '"int32"', Severity.WARNING, "depending on the types"),  # dtype unknown
])
def test_what_tilelang_does_with_each_constant(stmt: str, dt: str, severity: Severity, text: str) -> None:
    [d] = _store(stmt, dt)[1]
    assert d.severity is severity and text in d.message, d.message


def test_augmented_store_is_named() -> None:
    [d] = _store("for i in T.Parallel(128):\n                idx[i] += 0.25")[1]
    assert d.message.startswith("adds 0.25 into idx")


# --------------------------------------------------------------------------- TL306


VAR = HEADER + '''def scan(M, N):
    @T.prim_func
    def main(X: T.Tensor((M, N), "float32"), S: T.Tensor((M,), "float32")):
        with T.Kernel(M, threads=32) as bx:
            v = T.alloc_var({decl})
            for j in T.serial(N):
                {stmt}
            S[bx] = v

    return main


kernel = scan(1024, 256)
'''


def _var(decl: str, stmt: str = "v = v + 1"):
    source = VAR.format(decl=decl, stmt=stmt)
    return source, _diags(source, "TL306")


def test_float_init_of_an_integer_var() -> None:
    source, [d] = _var("T.int32, init=0.5")
    assert d.severity is Severity.WARNING
    assert d.message == ("T.alloc_var declares v as int32 but initialises it with 0.5, a float: it is silently "
                         "truncated to 0; declare v with a float dtype, or give an integer init")
    assert d.range.start.line == _line(source, "T.alloc_var(")


def test_positional_infinite_init_is_an_error() -> None:
    [d] = _var("T.int32, -T.infinity(T.float32)")[1]
    assert d.severity is Severity.ERROR and "exceeds minimum of int32" in d.message


def test_float_assigned_to_an_integer_var() -> None:
    source, [d] = _var("T.int32, init=0", "v = 2.5")
    assert d.message.startswith("v = 2.5: v is an int32 T.alloc_var and 2.5 is a float, so it is silently truncated "
                                "to 2")
    assert d.range.start.line == _line(source, "v = 2.5")


def test_float_element_added_to_an_integer_var() -> None:
    [d] = _var("T.int32, init=0", "v += X[bx, j]")[1]
    assert d.message.startswith("v += X[bx, j]: v is an int32 T.alloc_var but X holds float32")


@pytest.mark.parametrize("decl,stmt", [("T.float32, init=0", "v += X[bx, j]"), ("T.int32, init=0", "v = v + 1"),
                                       ("T.int32, init=1.0", "v = v * 2"), ("T.float32, init=0.5", "v = 2.5")])
def test_matching_vars_are_quiet(decl: str, stmt: str) -> None:
    assert _var(decl, stmt)[1] == []


def test_vars_are_left_to_tl306() -> None:
    assert _diags(VAR.format(decl="T.int32, init=0", stmt="v = 2.5"), "TL305") == []
