"""Build a traced kernel for the CPU and run it on NumPy arrays."""

from __future__ import annotations

from typing import Any

import numpy as np

from .errors import KernelError


def _np_dtype(dtype: str) -> Any:
    if dtype == "bfloat16":
        import ml_dtypes

        return np.dtype(ml_dtypes.bfloat16)
    return np.dtype(dtype)


class Runner:
    """A compiled kernel: call with the inputs (outputs by `out_idx` are allocated and returned)."""

    def __init__(self, kdef: Any, lowered: Any, executable: Any):
        import tvm

        self.kdef = kdef
        self.lowered = lowered
        self.executable = executable
        self.func = executable.jit()["main"] if False else executable
        self.params = list(kdef.func.params)
        self.out_idx = list(kdef.out_idx or [])
        self.dev = tvm.cpu(0)

    def param_specs(self) -> list[tuple[str, tuple[int, ...], str]]:
        return [(p.name, tuple(int(d) for d in p.shape), str(p.dtype)) for p in self.params]

    def __call__(self, *arrays: Any) -> Any:
        import tvm

        specs = self.param_specs()
        n_in = len(specs) - len(self.out_idx)
        if len(arrays) not in (n_in, len(specs)):
            raise KernelError(f"{self.kdef.name} takes {n_in} arrays (or all {len(specs)}), got {len(arrays)}")
        given = list(arrays)
        full: list[Any] = []
        outputs: list[np.ndarray] = []
        it = iter(given)
        for k, (name, shape, dtype) in enumerate(specs):
            if k in self.out_idx and len(given) == n_in:
                arr = np.zeros(shape, dtype=_np_dtype(dtype))
                outputs.append(arr)
            else:
                arr = next(it)
                if not isinstance(arr, np.ndarray):
                    raise KernelError(f"argument '{name}' must be a NumPy array")
                if tuple(arr.shape) != shape:
                    raise KernelError(f"argument '{name}' has shape {tuple(arr.shape)}, the kernel expects {shape}")
                if arr.dtype != _np_dtype(dtype):
                    raise KernelError(f"argument '{name}' has dtype {arr.dtype}, the kernel expects {dtype}")
            full.append(arr)
        tensors = [tvm.runtime.tensor(np.ascontiguousarray(a), self.dev) for a in full]
        self.executable(*tensors)
        for a, t in zip(full, tensors):
            a[...] = t.numpy()
        if len(given) == n_in and self.out_idx:
            return outputs[0] if len(outputs) == 1 else outputs
        return None

    def time(self, *arrays: Any, number: int = 5, repeat: int = 3) -> float:
        """Mean seconds per call (TVM's time evaluator), on these inputs."""
        import tvm

        specs = self.param_specs()
        given = iter(arrays)
        full = [np.zeros(s, dtype=_np_dtype(d)) if (k in self.out_idx and len(arrays) < len(specs)) else next(given)
                for k, (_, s, d) in enumerate(specs)]
        tensors = [tvm.runtime.tensor(np.ascontiguousarray(a), self.dev) for a in full]
        mod = self.executable.mod
        te = mod.time_evaluator(mod.entry_name, self.dev, number=number, repeat=repeat)
        return float(te(*tensors).mean)


def to_module(kdef: Any) -> Any:
    import tvm

    return tvm.IRModule({"main": kdef.func.with_attr("global_symbol", "main")})


def build(kdef: Any) -> Runner:
    import tvm

    from .pipeline import cpu_target, lower

    lowered = lower(to_module(kdef))
    executable = tvm.compile(lowered, target=cpu_target())
    return Runner(kdef, lowered, executable)
