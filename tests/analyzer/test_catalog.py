"""Tests of analyzer.catalog, the table of the T.* surface of TileLang 0.1.15.

``tests/data/tilelang_example_names.txt`` lists the first component of every
``T.<name>`` used in TileLang's own example kernels (``/work/corpus/examples``):

    grep -rhoE '(^|[^A-Za-z0-9_.])T\\.[A-Za-z_][A-Za-z0-9_]*' --include=*.py \\
        /work/corpus/examples | sed -E 's/^.*T\\.//' | LC_ALL=C sort -u

The leading guard drops torch's ``B.T.to(...)`` / ``x.T.contiguous()`` and the
like, which a plain ``T\\.name`` grep also counts (159 names -> 154).

The opt-in oracle test (``-m oracle``, with ``TILELSP_ORACLE_PYTHON`` set to the
python of a TileLang 0.1.15 install) compares every signature with TileLang's.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from analyzer import catalog
from analyzer.catalog import CATALOG, CATEGORIES, Entry, Param, bind, lookup, signature

DATA = Path(__file__).resolve().parents[1] / "data"
REPO = Path(__file__).resolve().parents[2]


def _example_names() -> list[str]:
    lines = (DATA / "tilelang_example_names.txt").read_text().splitlines()
    return [line.strip() for line in lines if line.strip()]


# ----------------------------------------------------------------------------- coverage


def test_example_names_file_is_sorted_and_unique() -> None:
    names = _example_names()
    assert len(names) >= 150
    assert names == sorted(set(names))


def test_every_example_name_is_in_the_catalog() -> None:
    missing = [n for n in _example_names() if n not in CATALOG]
    assert missing == []


def test_catalog_covers_all_of_tilelang_language_all() -> None:
    # len(tilelang.language.__all__) == 713 in 0.1.15
    assert len(CATALOG) == 713
    assert all(name == entry.name for name, entry in CATALOG.items())


@pytest.mark.parametrize(
    "names, category",
    [
        (
            "copy async_copy tma_copy copy_cluster transpose im2col c2d_im2col gemm gemm_sp wgmma_gemm "
            "tcgen05_gemm gemm_blockscaled mma_gemm_blockscaled tcgen05_gemm_blockscaled fill clear reduce "
            "reduce_max reduce_min reduce_sum reduce_absmax reduce_abssum reduce_bitand reduce_bitor "
            "reduce_bitxor cumsum cummax finalize_reducer atomic_add atomic_max atomic_min atomic_or "
            "atomic_addx2 atomic_addx4 atomic_load atomic_store",
            "tile_op",
        ),
        (
            "alloc_shared alloc_local alloc_fragment alloc_var alloc_barrier alloc_reducer alloc_tmem "
            "alloc_global alloc_cluster_barrier alloc_descriptor alloc_wgmma_desc empty",
            "alloc",
        ),
        ("Parallel Pipelined serial Serial unroll Unroll vectorized Vectorized Persistent grid", "loop"),
        ("Kernel ClusterKernel", "launch"),
        (
            "Tensor StridedTensor Buffer SharedBuffer FragmentBuffer LocalBuffer ptr const dynamic symbolic",
            "param_type",
        ),
        (
            "max min exp exp2 log log2 sqrt rsqrt abs if_then_else infinity ceildiv floordiv floormod cast "
            "clamp sigmoid tanh pow fma",
            "math",
        ),
        (
            "float16 bfloat16 float32 float64 int8 int32 uint8 bool half float int float8_e4m3fn "
            "float8_e5m2 float4_e2m1fn tfloat32 float16x8 bfloat16x8 float32x4 int8x4 boolean",
            "dtype",
        ),
        ("sync_threads mbarrier_wait_parity barrier_arrive barrier_wait fence_proxy_async wait_wgmma", "sync"),
        ("annotate_layout use_swizzle annotate_safe_value ws_op WSID", "annotation"),
    ],
)
def test_required_names_and_categories(names: str, category: str) -> None:
    for name in names.split():
        entry = lookup(name)
        assert entry is not None, name
        assert entry.category == category, (name, entry.category)


def test_gemm_warp_policy_and_attribute_members() -> None:
    entry = CATALOG["GemmWarpPolicy"]
    assert entry.category == "type"
    for member in ("Square", "FullRow", "FullCol"):
        assert member in entry.doc
    assert catalog.ATTRIBUTE_MEMBERS["GemmWarpPolicy"] == ("Square", "FullRow", "FullCol")
    # every attribute chain used in the examples starts at a catalogued name
    for owner in catalog.ATTRIBUTE_MEMBERS:
        assert owner in CATALOG


def test_every_category_is_known_and_used() -> None:
    used = {e.category for e in CATALOG.values()}
    assert used <= set(CATEGORIES)
    assert used == set(CATEGORIES)


def test_lookup() -> None:
    assert lookup("copy") is CATALOG["copy"]
    assert lookup("T.copy") is CATALOG["copy"]
    assert lookup("no_such_thing") is None
    assert lookup("GemmWarpPolicy.Square") is None


# ----------------------------------------------------------------------------- the allocation family (seed)

SEED_FAMILY = {
    "alloc_shared": ((("shape", None), ("dtype", None), ("scope", "'shared.dyn'")), "shared.dyn"),
    "alloc_local": ((("shape", None), ("dtype", None), ("scope", "'local'")), "local"),
    "alloc_fragment": ((("shape", None), ("dtype", None), ("scope", "'local.fragment'")), "local.fragment"),
    "alloc_var": ((("dtype", None), ("scope", "'local.var'")), "local.var"),
    "alloc_barrier": ((("arrive_count", None),), "shared.barrier"),
}


@pytest.mark.parametrize("name", sorted(SEED_FAMILY))
def test_allocation_family_matches_the_seed(name: str) -> None:
    expected_params, scope = SEED_FAMILY[name]
    entry = CATALOG[name]
    assert entry.category == "alloc"
    positional = tuple((p.name, p.default) for p in entry.params if p.kind == "positional")
    assert positional == expected_params
    assert entry.default_scope == scope
    # the seed's own description text is kept verbatim (whitespace collapsed)
    assert entry.reference is not None
    seed_signature = f"{name}({', '.join(n if d is None else f'{n}={d}' for n, d in expected_params)})"
    assert entry.reference.startswith(seed_signature + " ")
    assert ":rtype: T.Buffer" in entry.reference


def test_alloc_var_has_init_as_a_keyword_only_addition() -> None:
    entry = CATALOG["alloc_var"]
    assert entry.params == (
        Param("dtype"),
        Param("scope", "'local.var'"),
        Param("init", "None", "keyword"),
    )
    assert "0.1.15 addition" in entry.doc and "init" in entry.doc
    assert signature(entry) == "alloc_var(dtype, scope='local.var', *, init=None)"


def test_only_the_seed_family_carries_a_reference() -> None:
    assert {n for n, e in CATALOG.items() if e.reference is not None} == set(SEED_FAMILY)


def _seed_file() -> Path | None:
    for root in (REPO / "shared", Path("/work/shared")):
        path = root / "seed" / "tilelang.language.allocate.txt"
        if path.is_file():
            return path
    return None


def test_reference_text_is_the_seed_text() -> None:
    path = _seed_file()
    if path is None:
        pytest.skip("seed file not available")
    seed = " ".join(path.read_text().split())
    for name in SEED_FAMILY:
        assert CATALOG[name].reference in seed
        assert f".. py:function:: {CATALOG[name].reference}" in seed


@pytest.mark.parametrize(
    "name, scope",
    [
        ("alloc_cluster_barrier", "shared.cluster_barrier"),
        ("alloc_tmem", "shared.tmem"),
        ("alloc_reducer", "local.reducer"),
        ("alloc_global", "global"),
        ("alloc_descriptor", "local.descriptor.wgmma"),
        ("Tensor", "global"),
        ("SharedBuffer", "shared.dyn"),
        ("FragmentBuffer", "local.fragment"),
        ("LocalBuffer", "local"),
    ],
)
def test_other_default_scopes(name: str, scope: str) -> None:
    assert CATALOG[name].default_scope == scope


def test_every_allocation_has_a_default_scope() -> None:
    for entry in CATALOG.values():
        if entry.category == "alloc":
            assert entry.default_scope, entry.name


# ----------------------------------------------------------------------------- signatures and defaults


@pytest.mark.parametrize(
    "name, text",
    [
        ("alloc_shared", "alloc_shared(shape, dtype, scope='shared.dyn')"),
        ("alloc_barrier", "alloc_barrier(arrive_count)"),
        ("Kernel", "Kernel(*blocks, threads=None, prelude=None, cluster_dims=None)"),
        ("ClusterKernel", "ClusterKernel(*blocks, cluster_dims, threads=None, prelude=None)"),
        ("Pipelined", "Pipelined(start, stop=None, num_stages=0, order=None, stage=None, annotations=None)"),
        (
            "gemm",
            "gemm(A, B, C, transpose_A=False, transpose_B=False, policy=GemmWarpPolicy.Square, "
            "clear_accum=False, mbar=None, annotations=None)",
        ),
        (
            "copy",
            "copy(src, dst, *, coalesced_width=None, disable_tma=False, eviction_policy=None, "
            "prefer_instruction=None, annotations=None, loop_layout=None)",
        ),
        (
            "reduce_max",
            "reduce_max(buffer, out, dim=-1, clear=True, batch=1, nan_propagate=False, annotations=None)",
        ),
        ("serial", "serial(start, stop=None, step=None, *, annotations=None)"),
        (
            "Parallel",
            "Parallel(*extents, coalesced_width=None, loop_layout=None, prefer_async=None, annotations=None)",
        ),
        (
            "access_ptr",
            "access_ptr(base, access_type='r', *extents, offset=0, extent=None, ignore_last_ndim=0)",
        ),
        ("empty", "empty(*shape, dtype=T.float32)"),
        ("float16", "float16(*args, is_size_var=False)"),
        ("use_swizzle", "use_swizzle(panel_size, order='row', enable=True)"),
        ("Tensor", "Tensor(shape, dtype='float32', data=None, scope=None)"),
        ("sync_threads", "sync_threads(barrier_id=None, arrive_count=None)"),
        ("activemask", "activemask()"),
        ("WSID", "WSID"),
    ],
)
def test_signature_rendering(name: str, text: str) -> None:
    assert signature(CATALOG[name]) == text


def test_every_signature_round_trips_through_a_python_def() -> None:
    """Each rendered signature is a valid Python parameter list."""
    for name, entry in CATALOG.items():
        if name in catalog.NOT_CALLABLE:
            continue
        text = signature(entry)
        params = text[len(name) + 1 : -1]
        compile(f"def f({params}): pass", name, "exec", dont_inherit=True)


def test_param_kinds_are_well_formed() -> None:
    order = {"positional": 0, "varargs": 1, "keyword": 2, "varkw": 3}
    for entry in CATALOG.values():
        kinds = [p.kind for p in entry.params]
        assert all(k in order for k in kinds), entry.name
        assert [order[k] for k in kinds] == sorted(order[k] for k in kinds), entry.name
        assert kinds.count("varargs") <= 1 and kinds.count("varkw") <= 1, entry.name
        names = [p.name for p in entry.params]
        assert len(names) == len(set(names)), entry.name
        # no required positional parameter after one with a default
        seen_default = False
        for p in entry.params:
            if p.kind != "positional":
                continue
            if p.default is not None:
                seen_default = True
            else:
                assert not seen_default, entry.name


def test_kernel_threads_default_is_documented() -> None:
    kernel = CATALOG["Kernel"]
    threads = next(p for p in kernel.params if p.name == "threads")
    assert threads == Param("threads", "None", "keyword")
    assert "128" in kernel.doc


# ----------------------------------------------------------------------------- docs, reads and writes


def test_every_entry_has_a_one_line_doc() -> None:
    for entry in CATALOG.values():
        assert entry.doc.strip(), entry.name
        assert "\n" not in entry.doc and "\r" not in entry.doc, entry.name
        assert entry.doc == entry.doc.strip(), entry.name


def test_every_tile_op_reads_or_writes_buffers() -> None:
    tile_ops = [e for e in CATALOG.values() if e.category == "tile_op"]
    assert len(tile_ops) >= 40
    assert {e.name for e in tile_ops} == catalog.TILE_OPS
    for entry in tile_ops:
        assert entry.reads or entry.writes, entry.name


def test_read_write_indices_point_at_named_parameters() -> None:
    for entry in CATALOG.values():
        for index in entry.reads + entry.writes:
            assert 0 <= index < len(entry.params), entry.name
            assert entry.params[index].kind == "positional", entry.name


@pytest.mark.parametrize(
    "name, reads, writes",
    [
        ("copy", ["src"], ["dst"]),
        ("gemm", ["A", "B", "C"], ["C"]),
        ("fill", [], ["buffer"]),
        ("clear", [], ["buffer"]),
        ("reduce_sum", ["buffer"], ["out"]),
        ("reduce_absmax", ["buffer"], ["out"]),
        ("cumsum", ["src"], ["dst"]),
        ("gemm_sp", ["A_sparse", "E", "B", "C"], ["C"]),
        ("atomic_add", ["dst", "value"], ["dst"]),
        ("atomic_load", ["src"], []),
    ],
)
def test_reads_and_writes(name: str, reads: list[str], writes: list[str]) -> None:
    entry = CATALOG[name]
    assert [entry.params[i].name for i in entry.reads] == reads
    assert [entry.params[i].name for i in entry.writes] == writes


def test_parallel_ok_are_tile_ops() -> None:
    assert catalog.PARALLEL_OK <= catalog.TILE_OPS
    assert "copy" not in catalog.PARALLEL_OK


def test_dtype_aliases() -> None:
    for alias, target in catalog.DTYPE_ALIASES.items():
        assert CATALOG[alias].category == "dtype"
        assert f"T.{target}" in CATALOG[alias].doc


# ----------------------------------------------------------------------------- bind


def test_bind_copy_with_two_positionals() -> None:
    assert bind(CATALOG["copy"], ["A_shared", "C"], {}) == {"src": "A_shared", "dst": "C"}


def test_bind_gemm_with_keyword() -> None:
    got = bind(CATALOG["gemm"], ["A", "B", "C"], {"transpose_B": True})
    assert got == {"A": "A", "B": "B", "C": "C", "transpose_B": True}
    assert list(got) == ["A", "B", "C", "transpose_B"]


def test_bind_kernel_grid_and_threads() -> None:
    got = bind(CATALOG["Kernel"], ["bx", "by", "bz"], {"threads": 256})
    assert got == {"blocks": ("bx", "by", "bz"), "threads": 256}


def test_bind_does_not_fill_defaults() -> None:
    assert bind(CATALOG["Pipelined"], [8], {"num_stages": 3}) == {"start": 8, "num_stages": 3}
    assert bind(CATALOG["Kernel"], [], {}) == {}
    assert bind(CATALOG["activemask"], [], {}) == {}


def test_bind_unknown_keyword() -> None:
    got = bind(CATALOG["copy"], ["A", "B"], {"disable_tmaa": True})
    assert isinstance(got, str)
    assert "unexpected keyword argument 'disable_tmaa'" in got


def test_bind_missing_required() -> None:
    got = bind(CATALOG["copy"], ["A"], {})
    assert got == "T.copy() missing 1 required positional argument: 'dst'"
    got = bind(CATALOG["alloc_shared"], [], {})
    assert got == "T.alloc_shared() missing 2 required positional arguments: 'shape' and 'dtype'"


def test_bind_missing_required_keyword_only() -> None:
    got = bind(CATALOG["tcgen05_gemm"], ["A", "B", "C"], {})
    assert got == "T.tcgen05_gemm() missing 1 required keyword-only argument: 'mbar'"
    assert isinstance(bind(CATALOG["tcgen05_gemm"], ["A", "B", "C"], {"mbar": "bar"}), dict)


def test_bind_too_many_positionals() -> None:
    assert bind(CATALOG["copy"], ["A", "B", "C"], {}) == "T.copy() takes 2 positional arguments but 3 were given"
    got = bind(CATALOG["alloc_shared"], [1, 2, 3, 4], {})
    assert got == "T.alloc_shared() takes from 2 to 3 positional arguments but 4 were given"
    got = bind(CATALOG["activemask"], [1], {})
    assert got == "T.activemask() takes 0 positional arguments but 1 was given"


def test_bind_multiple_values() -> None:
    got = bind(CATALOG["copy"], ["A", "B"], {"src": "A"})
    assert got == "T.copy() got multiple values for argument 'src'"


def test_bind_keyword_only_cannot_be_positional() -> None:
    # copy's options are keyword-only: a third positional does not reach them
    assert isinstance(bind(CATALOG["copy"], ["A", "B", 4], {}), str)
    assert bind(CATALOG["copy"], ["A", "B"], {"coalesced_width": 4}) == {
        "src": "A",
        "dst": "B",
        "coalesced_width": 4,
    }


def test_bind_varargs_name_is_not_a_keyword() -> None:
    got = bind(CATALOG["Kernel"], [], {"blocks": 4})
    assert got == "T.Kernel() got an unexpected keyword argument 'blocks'"


def test_bind_varkw() -> None:
    entry = CATALOG["call_kernel"]  # (kernel, launch_args, *args, **kwargs)
    got = bind(entry, ["k", [1], 1, 2], {"stream": 0, "kernel_name": "x"})
    assert got == {"kernel": "k", "launch_args": [1], "args": (1, 2), "kwargs": {"stream": 0, "kernel_name": "x"}}
    got = bind(entry, ["k", [1]], {"kernel": "k2"})
    assert got == "T.call_kernel() got multiple values for argument 'kernel'"


def test_bind_alloc_var_forms() -> None:
    entry = CATALOG["alloc_var"]
    assert bind(entry, ["T.int32"], {"init": 0}) == {"dtype": "T.int32", "init": 0}
    assert bind(entry, [], {"dtype": "T.int32"}) == {"dtype": "T.int32"}
    assert bind(entry, ["T.int32", "local.var"], {}) == {"dtype": "T.int32", "scope": "local.var"}


def test_bind_not_callable() -> None:
    assert bind(CATALOG["WSID"], [], {}) == "T.WSID is not callable"


def test_bind_matches_python_on_every_signature() -> None:
    """bind() agrees with Python's own binding for a few call shapes per entry."""
    import inspect

    for name, entry in CATALOG.items():
        if name in catalog.NOT_CALLABLE:
            continue
        params = signature(entry)[len(name) + 1 : -1]
        namespace: dict[str, object] = {"T": _Anything(), "GemmWarpPolicy": _Anything(), "MISSING": None}
        exec(f"def f({params}): pass", namespace)
        sig = inspect.signature(namespace["f"])  # type: ignore[arg-type]
        named = [p.name for p in entry.params if p.kind in ("positional", "keyword")]
        calls = [
            ([], {}),
            (list(range(len(entry.params))), {}),
            (list(range(len(entry.params) + 1)), {}),
            ([0], {n: n for n in named[1:]}),
            ([], {n: n for n in named}),
            ([0, 1], {"unknown_kw": 1}),
        ]
        for args, kwargs in calls:
            got = bind(entry, args, kwargs)
            try:
                expected = dict(sig.bind(*args, **kwargs).arguments)
            except TypeError:
                assert isinstance(got, str), (name, args, kwargs, got)
            else:
                assert got == expected, (name, args, kwargs)


class _Anything:
    """Stands in for T and GemmWarpPolicy when a default is evaluated."""

    def __getattr__(self, _name: str) -> _Anything:
        return self

    def __call__(self, *args: object, **kwargs: object) -> _Anything:
        return self


def test_entries_are_frozen() -> None:
    entry = CATALOG["copy"]
    assert isinstance(entry, Entry)
    with pytest.raises(AttributeError):
        entry.doc = "x"  # type: ignore[misc]


# ----------------------------------------------------------------------------- oracle (opt-in)

_INTROSPECT = r"""
import enum, inspect, json, sys
import tilelang, tilelang.language as T
out = {"version": tilelang.__version__, "names": {}}
kinds = {"POSITIONAL_OR_KEYWORD": "positional", "KEYWORD_ONLY": "keyword",
         "VAR_POSITIONAL": "varargs", "VAR_KEYWORD": "varkw", "POSITIONAL_ONLY": "positional-only"}
for name in T.__all__:
    obj = getattr(T, name)
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        out["names"][name] = None
        continue
    params = []
    for p in sig.parameters.values():
        d = None
        if p.default is not inspect.Parameter.empty:
            v = p.default
            if isinstance(v, enum.Enum):
                d = type(v).__name__ + "." + v.name
            elif v is None or type(v) in (bool, int, float, str):
                d = repr(v)
            else:
                d = "<" + type(v).__name__ + ">"
        params.append([p.name, kinds[p.kind.name], d])
    out["names"][name] = params
json.dump(out, sys.stdout)
"""

# Entries whose recorded parameters differ on purpose from TileLang's own signature.
_DELIBERATE = {"alloc_var", "device_assert"}


@pytest.mark.oracle
def test_signatures_match_tilelang_0_1_15(tmp_path: Path) -> None:
    python = os.environ.get("TILELSP_ORACLE_PYTHON")
    if not python:
        pytest.skip("set TILELSP_ORACLE_PYTHON to the python of a TileLang 0.1.15 install")
    proc = subprocess.run(
        [python, "-c", _INTROSPECT], capture_output=True, text=True, cwd=tmp_path, timeout=300, check=True
    )
    data = json.loads(proc.stdout)
    assert data["version"].startswith("0.1.15")
    truth = data["names"]
    assert set(truth) == set(CATALOG)
    mismatches = []
    for name, params in truth.items():
        if name in _DELIBERATE or params is None:
            continue
        ours = CATALOG[name].params
        if [(p.name, p.kind) for p in ours] != [(n, k) for n, k, _ in params]:
            mismatches.append((name, "names/kinds"))
            continue
        for p, (_, _, default) in zip(ours, params):
            if default is not None and default.startswith("<"):
                # dtype objects, IntImm masks, TVM's MISSING sentinel: written as source in the catalog
                ok = p.default is not None
            else:
                ok = p.default == default
            if not ok:
                mismatches.append((name, p.name, p.default, default))
    assert mismatches == []
