"""Every kernel in examples/ (outside examples/buggy) runs on the CPU and matches NumPy.

The cases (instantiations, inputs, references, tolerances) are in tests/example_cases.py, shared with the
GPU check (benchmarks/gpu_check.py). Each kernel runs at sizes that divide by the tiles and at tails that
do not.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("tvm")

from compiler.loader import instantiate, load  # noqa: E402
from compiler.runtime import build  # noqa: E402
from conftest import EXAMPLES  # noqa: E402
from example_cases import CPU_CASES, Case, f32  # noqa: E402


@pytest.mark.parametrize("case", CPU_CASES, ids=lambda c: c.name)
def test_example_matches_numpy(case: Case):
    kernel = build(instantiate(load(EXAMPLES / f"{case.example}.py"), case.call))
    args = case.make(np.random.default_rng(0))
    kernel(*args)
    for pos, expected in zip(case.outputs, case.ref(args)):
        if case.tol["rtol"] == 0 and case.tol["atol"] == 0:
            np.testing.assert_array_equal(args[pos], expected)
        else:
            np.testing.assert_allclose(f32(args[pos]), f32(expected), **case.tol)


def test_every_example_has_cases():
    covered = {c.example for c in CPU_CASES}
    examples = {p.stem for p in EXAMPLES.glob("*.py")}
    assert examples == covered

