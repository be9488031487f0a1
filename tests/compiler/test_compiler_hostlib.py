"""The host-side `tilelang` modules served while a file loads (compiler/frontend/hostlib.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tvm")

from compiler.errors import CompileError  # noqa: E402
from compiler.frontend.hostlib import torch_assert_close  # noqa: E402

HEADER = (
    "import tilelang\nimport tilelang.testing\nimport tilelang.language as T\n"
    "from tilelang.profiler import do_bench\nfrom tilelang.tools import plot_layout\n"
    "from tilelang.carver.arch import driver\nfrom tilelang.autotuner import *\n"
    "from tilelang.tileop.base import GemmWarpPolicy\nfrom tilelang.utils.tensor import torch_assert_close\n"
)

KERNEL = '''
def add(n, block):
    @T.prim_func
    def main(A: T.Tensor((n,), "float32"), B: T.Tensor((n,), "float32"), C: T.Tensor((n,), "float32")):
        with T.Kernel(T.ceildiv(n, block), threads=block) as bx:
            for i in T.Parallel(block):
                C[bx * block + i] = A[bx * block + i] + B[bx * block + i]
    return main


def ref_program(A, B):
    return A + B


@tilelang.testing.requires_cuda
@tilelang.testing.requires_cuda_compute_version_ge(8, 0)
@tilelang.testing.requires_package("einops")
def test_add():
    tilelang.testing.set_random_seed(0)
    kernel = tilelang.compile(add(100, 32), out_idx=[2])
    a = np.random.standard_normal(100).astype("float32")
    b = np.random.standard_normal(100).astype("float32")
    torch_assert_close(kernel(a, b), ref_program(a, b), rtol=1e-6, atol=1e-6)
    return kernel(a, b)
'''


def _load(tmp_path: Path, text: str, name: str = "k.py"):
    from compiler.loader import load

    src = tmp_path / name
    src.write_text(text)
    return load(src)


def test_module_level_imports_load_and_markers_only_mark(tmp_path: Path):
    loaded = _load(tmp_path, "import numpy as np\n" + HEADER + KERNEL)
    test = loaded["test_add"]
    assert test.__tilec_requires__ == ("package einops", "cuda compute ge 8.0", "cuda")
    assert loaded["GemmWarpPolicy"].FullRow.name == "FullRow"
    assert "AutoTuner" in loaded.namespace  # from tilelang.autotuner import *
    assert not any(k == "tilelang" or k.startswith("tilelang.") for k in sys.modules if
                   getattr(sys.modules[k], "__tilelsp_compiler__", False))


def test_testing_driver_runs_a_kernel_and_checks_it_with_numpy(tmp_path: Path):
    from compiler.loader import scope

    loaded = _load(tmp_path, "import numpy as np\n" + HEADER + KERNEL)
    with scope():
        out = loaded["test_add"]()
    rng = np.random.RandomState(0)  # set_random_seed(0) seeded NumPy's global generator
    a = rng.standard_normal(100).astype("float32")
    b = rng.standard_normal(100).astype("float32")
    np.testing.assert_array_equal(out, a + b)


@pytest.mark.parametrize("use,name", [
    ("do_bench(lambda: None)", "tilelang.profiler.do_bench"),
    ("plot_layout(None)", "tilelang.tools.plot_layout"),
    ("driver.get_num_sms()", "tilelang.carver.arch.driver.get_num_sms"),
    ("AutoTuner.from_kernel(kernel=None, configs=[])", "tilelang.autotuner.AutoTuner.from_kernel"),
    ("tilelang.testing.main()", "tilelang.testing.main"),
])
def test_placeholders_fail_where_they_are_used(tmp_path: Path, use: str, name: str):
    with pytest.raises(CompileError) as info:
        _load(tmp_path, HEADER + "x = 1\n" + use + "\n")
    d = info.value.diagnostic
    assert d.code == "TL950"
    assert d.message == f"not supported yet: {name}"
    assert d.range.start.line == HEADER.count("\n") + 1  # the line that uses it, 0-based


def test_unknown_testing_name_is_an_attribute_error(tmp_path: Path):
    with pytest.raises(CompileError, match="AttributeError"):
        _load(tmp_path, HEADER + "tilelang.testing.no_such_thing\n")


def test_torch_assert_close_follows_tilelang_tolerance_rule():
    ref = np.linspace(-1, 1, 2000).astype(np.float32)
    assert torch_assert_close(ref + 1e-4, ref) is True  # within atol 1e-3 + rtol 1e-2 * |b|
    bad = ref.copy()
    bad[:2] += 1.0  # 2 of 2000 elements: 0.1% allows int(2000 * 0.001) = 2
    assert torch_assert_close(bad, ref) is True
    bad[2] += 1.0
    with pytest.raises(AssertionError, match="Too many mismatched elements: 3 > 2"):
        torch_assert_close(bad, ref)
    with pytest.raises(AssertionError, match="dtype mismatch"):
        torch_assert_close(ref.astype(np.float16), ref)
    assert torch_assert_close(ref.astype(np.float16), ref, check_dtype=False)
    with pytest.raises(AssertionError, match="shape mismatch"):
        torch_assert_close(ref[:10], ref)


def test_torch_assert_close_on_torch_tensors():
    torch = pytest.importorskip("torch")
    a = torch.arange(100, dtype=torch.float16)
    assert torch_assert_close(a, a.clone())
    with pytest.raises(AssertionError):
        torch_assert_close(a + 1, a)


def test_sibling_module_imports_and_is_dropped_afterwards(tmp_path: Path):
    (tmp_path / "tilec_sibling_helper.py").write_text("VALUE = 41\n")
    loaded = _load(tmp_path, "import tilec_sibling_helper\nX = tilec_sibling_helper.VALUE + 1\n")
    assert loaded["X"] == 42
    assert "tilec_sibling_helper" not in sys.modules
    assert str(tmp_path) not in sys.path
