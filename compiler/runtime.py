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

    def param_specs(self) -> list[tuple[str, tuple[Any, ...], str]]:
        """(name, shape, dtype) per parameter; a T.dynamic dimension is its symbolic size."""
        from tvm import tirx

        return [(p.name, tuple(int(d.value) if isinstance(d, tirx.IntImm) else d for d in p.shape), str(p.dtype))
                for p in self.params]

    def shapes(self, given: dict[int, np.ndarray]) -> list[tuple[int, ...]]:
        """Concrete shapes of every parameter: T.dynamic sizes bound from the arrays given (by position)."""
        import tvm

        specs = self.param_specs()
        analyzer = tvm.sym.Analyzer()
        bound: dict[str, int] = {}
        for k, (name, shape, _) in enumerate(specs):
            if k not in given:
                continue
            arr = given[k]
            if arr.ndim != len(shape):
                raise KernelError(f"argument '{name}' has {arr.ndim} dimensions, the kernel expects {len(shape)}")
            for axis, d in enumerate(shape):
                if isinstance(d, int) or not isinstance(d, tvm.ir.Var):
                    continue
                size = int(arr.shape[axis])
                if d.name in bound and bound[d.name] != size:
                    raise KernelError(f"size {d.name} is {bound[d.name]} from an earlier argument but "
                                      f"{size} from '{name}' (axis {axis})")
                if d.name not in bound:
                    bound[d.name] = size
                    analyzer.bind(d, tvm.tirx.const(size, str(d.ty.dtype)))
        out = []
        for name, shape, _ in specs:
            dims = []
            for d in shape:
                if not isinstance(d, int):
                    value = analyzer.simplify(d)
                    if not hasattr(value, "value"):
                        raise KernelError(f"size {d} of '{name}' is not bound by any argument")
                    d = int(value.value)
                dims.append(d)
            out.append(tuple(dims))
        return out

    def __call__(self, *arrays: Any) -> Any:
        import tvm

        specs = self.param_specs()
        n_in = len(specs) - len(self.out_idx)
        if len(arrays) not in (n_in, len(specs)):
            raise KernelError(f"{self.kdef.name} takes {n_in} arrays (or all {len(specs)}), got {len(arrays)}")
        allocate = len(arrays) == n_in
        positions = [k for k in range(len(specs)) if not (allocate and k in self.out_idx)]
        for k, arr in zip(positions, arrays):
            if not isinstance(arr, np.ndarray):
                raise KernelError(f"argument '{specs[k][0]}' must be a NumPy array")
        given = dict(zip(positions, arrays))
        shapes = self.shapes(given)
        full: list[Any] = []
        outputs: list[np.ndarray] = []
        for k, (name, _, dtype) in enumerate(specs):
            if k not in given:
                arr = np.zeros(shapes[k], dtype=_np_dtype(dtype))
                outputs.append(arr)
            else:
                arr = given[k]
                if tuple(arr.shape) != shapes[k]:
                    raise KernelError(f"argument '{name}' has shape {tuple(arr.shape)}, the kernel expects {shapes[k]}")
                if arr.dtype != _np_dtype(dtype):
                    raise KernelError(f"argument '{name}' has dtype {arr.dtype}, the kernel expects {dtype}")
            full.append(arr)
        tensors = [tvm.runtime.tensor(np.ascontiguousarray(a), self.dev) for a in full]
        self.executable(*tensors)
        for a, t in zip(full, tensors):
            a[...] = t.numpy()
        if allocate and self.out_idx:
            return outputs[0] if len(outputs) == 1 else outputs
        return None

    def time(self, *arrays: Any, number: int = 5, repeat: int = 3) -> float:
        """Mean seconds per call (TVM's time evaluator), on these inputs."""
        import tvm

        specs = self.param_specs()
        allocate = len(arrays) < len(specs)
        positions = [k for k in range(len(specs)) if not (allocate and k in self.out_idx)]
        given = dict(zip(positions, arrays))
        shapes = self.shapes(given)
        full = [given[k] if k in given else np.zeros(shapes[k], dtype=_np_dtype(d)) for k, (_, _, d) in enumerate(specs)]
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
