"""The CPU runtime: build a traced kernel with LLVM through TVM and run it on NumPy arrays."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import KernelError


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
        from ..ir import is_buffer

        self.params = list(kdef.func.params)
        self.out_idx = list(kdef.out_idx or [])
        # scalar parameters (`n: T.int32`): passed as Python numbers, shape () in param_specs
        self.scalars = {k for k, p in enumerate(self.params) if not is_buffer(p)}
        if self.scalars & set(self.out_idx):
            raise KernelError(f"out_idx {self.out_idx} names the scalar parameter "
                              f"'{self.params[min(self.scalars & set(self.out_idx))].name}'; outputs are tensors")
        self.dev = tvm.cpu(0)
        # The hidden last parameter `lower_barriers` adds to a kernel with mbarriers: per-block error records.
        from ..passes.barriers import ERRORS_PARAM

        lowered_params = list(lowered["main"].params) if lowered is not None else []
        self.errors_param = (lowered_params[-1] if len(lowered_params) == len(self.params) + 1
                             and lowered_params[-1].name == ERRORS_PARAM else None)
        self._analyzer: Any = None

    def param_specs(self) -> list[tuple[str, tuple[Any, ...], str]]:
        """(name, shape, dtype) per parameter; a T.dynamic dimension is its symbolic size; a scalar parameter
        (its index is in `scalars`) has shape ()."""
        from tvm import tirx

        return [(p.name, (), str(p.ty.dtype)) if k in self.scalars else
                (p.name, tuple(int(d.value) if isinstance(d, tirx.IntImm) else d for d in p.shape), str(p.dtype))
                for k, p in enumerate(self.params)]

    def scalar_value(self, k: int, value: Any) -> Any:
        """The Python number passed for scalar parameter k (a Python or NumPy number, or a 0-d array)."""
        name, _, dtype = self.param_specs()[k]
        if isinstance(value, np.ndarray) and value.ndim == 0:
            value = value[()]
        if isinstance(value, np.generic):
            value = value.item()
        if isinstance(value, bool) and dtype != "bool" or not isinstance(value, (bool, int, float)):
            raise KernelError(f"argument '{name}' is a scalar {dtype} parameter: pass a number, got {value!r}")
        if dtype == "bool":
            return bool(value)
        if dtype.startswith(("int", "uint")):
            if isinstance(value, float) and not value.is_integer():
                raise KernelError(f"argument '{name}' is a scalar {dtype} parameter, got {value!r}")
            info = np.iinfo(dtype)
            if not info.min <= int(value) <= info.max:
                raise KernelError(f"argument '{name}' = {value} does not fit {dtype}")
            return int(value)
        return float(value)

    def shapes(self, given: dict[int, Any]) -> list[tuple[int, ...]]:
        """Concrete shapes of every parameter: T.dynamic sizes bound from the arrays given (by position);
        scalar parameters are bound to their values (a grid may depend on them)."""
        import tvm

        specs = self.param_specs()
        analyzer = tvm.sym.Analyzer()
        bound: dict[str, int] = {}
        for k in sorted(self.scalars & given.keys()):
            var = self.params[k]
            analyzer.bind(var, tvm.tirx.const(given[k], str(var.ty.dtype)))
        for k, (name, shape, _) in enumerate(specs):
            if k not in given or k in self.scalars:
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
        self._analyzer = analyzer
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
            raise KernelError(f"{self.kdef.name} takes {n_in} arguments (or all {len(specs)}), got {len(arrays)}")
        allocate = len(arrays) == n_in
        positions = [k for k in range(len(specs)) if not (allocate and k in self.out_idx)]
        given = self._given(positions, arrays)
        shapes = self.shapes(given)
        full: list[Any] = []
        outputs: list[np.ndarray] = []
        for k, (name, _, dtype) in enumerate(specs):
            if k in self.scalars:
                full.append(given[k])
                continue
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
        tensors = [a if k in self.scalars else tvm.runtime.tensor(np.ascontiguousarray(a), self.dev)
                   for k, a in enumerate(full)]
        errors = self._errors_tensor()
        self.executable(*tensors, *([] if errors is None else [errors]))
        if errors is not None:
            self._check_barriers(errors.numpy())
        for k, (a, t) in enumerate(zip(full, tensors)):
            if k not in self.scalars:
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
        given = self._given(positions, arrays)
        shapes = self.shapes(given)
        full = [given[k] if k in given else np.zeros(shapes[k], dtype=_np_dtype(d)) for k, (_, _, d) in enumerate(specs)]
        tensors = [a if k in self.scalars else tvm.runtime.tensor(np.ascontiguousarray(a), self.dev)
                   for k, a in enumerate(full)]
        errors = self._errors_tensor()
        mod = self.executable.mod
        te = mod.time_evaluator(mod.entry_name, self.dev, number=number, repeat=repeat)
        seconds = float(te(*tensors, *([] if errors is None else [errors])).mean)
        if errors is not None:
            self._check_barriers(errors.numpy())
        return seconds

    def _given(self, positions: list[int], arrays: tuple[Any, ...]) -> dict[int, Any]:
        """The arguments by parameter index: arrays checked to be arrays, scalars converted to numbers."""
        specs = self.param_specs()
        given: dict[int, Any] = {}
        for k, arr in zip(positions, arrays):
            if k in self.scalars:
                given[k] = self.scalar_value(k, arr)
            elif not isinstance(arr, np.ndarray):
                raise KernelError(f"argument '{specs[k][0]}' must be a NumPy array")
            else:
                given[k] = arr
        return given

    # ------------------------------------------------------------ barrier checks (passes/barriers.py)

    def _errors_tensor(self) -> Any:
        if self.errors_param is None:
            return None
        import tvm

        dims = []
        for d in self.errors_param.shape:
            value = self._analyzer.simplify(d) if self._analyzer is not None else d
            if not hasattr(value, "value"):
                raise KernelError(f"the grid size {d} is not bound by any argument")
            dims.append(int(value.value))
        return tvm.runtime.tensor(np.zeros(dims, dtype=np.int32), self.dev)

    def _check_barriers(self, records: np.ndarray) -> None:
        failed = np.nonzero(records[:, 0])[0]
        if failed.size:
            raise barrier_error(self.kdef, records[failed[0]], int(failed.size), int(records.shape[0]))


def to_module(kdef: Any) -> Any:
    import tvm

    return tvm.IRModule({"main": kdef.func.with_attr("global_symbol", "main")})


def build(kdef: Any) -> Runner:

    from ..pipeline import compile_cpu, lower

    lowered = lower(to_module(kdef))
    executable = compile_cpu(lowered)
    return Runner(kdef, lowered, executable)


def barrier_error(kdef: Any, record: np.ndarray, failed: int, blocks: int) -> Exception:
    """The `BarrierError` for one block's error record (layout in `passes/barriers.py`)."""
    import json

    from ..errors import BarrierError
    from ..passes import barriers as B

    code, site, index, parity, phases, pending, tx, expected, bx, by, bz = (int(v) for v in record)
    sites = kdef.func.attrs[tile_ir_sites()] if kdef.func.attrs and tile_ir_sites() in kdef.func.attrs else []
    info = json.loads(str(sites[site])) if 0 <= site < len(sites) else {}
    text, name = info.get("text", "a barrier operation"), info.get("barrier", "barrier")
    bar = f"{name}[{index}]"
    where = f"block (bx={bx}, by={by}" + (f", bz={bz}" if bz else "") + ")"
    more = f" ({failed} of {blocks} blocks failed; the first is shown)" if failed > 1 else ""
    if code == B.WAIT_INCOMPLETE:
        arrived = expected - pending
        bytes_ = f" and {tx} transaction bytes outstanding" if tx else ""
        message = (f"barrier protocol error in {where}: `{text}` waits for the phase of {bar} with parity "
                   f"{parity}, which has not completed: {bar} has completed {phases} phase(s), and its current "
                   f"phase (parity {phases % 2}) has {arrived} of {expected} arrivals{bytes_}. On the CPU a block "
                   "runs its T.ws roles in program order, so nothing can arrive while it waits: on the GPU this "
                   "wait would deadlock or depend on a role written after it" + more)
    elif code == B.BAD_PARITY:
        message = (f"barrier protocol error in {where}: `{text}` waits on {bar} with parity {parity}; "
                   "mbarrier.try_wait.parity takes the parity of a phase, 0 or 1" + more)
    elif code == B.BAD_INDEX:
        message = (f"barrier protocol error in {where}: `{text}` uses {bar}, but {name} holds {parity} "
                   "barrier(s)" + more)
    elif code == B.OVER_ARRIVAL:
        message = (f"barrier protocol error in {where}: `{text}`: {parity} threads arrive on {bar}, which has "
                   f"only {pending} of its {expected} arrivals pending while {tx} transaction bytes are "
                   "outstanding (more arrivals than its arrive count in one phase)" + more)
    else:
        message = f"barrier protocol error in {where}: code {code} at `{text}`" + more
    return BarrierError(info.get("path", kdef.path), int(info.get("line", kdef.line)), int(info.get("col", 0)),
                        message, kernel=kdef.name)


def tile_ir_sites() -> str:
    from ..tile_ir import BARRIER_SITES

    return BARRIER_SITES
