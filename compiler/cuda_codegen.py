"""From a thread-level module (`pipeline.lower(mod, "cuda")`) to CUDA C source and its launch metadata.

TVM's own passes finish the job, in an explicit list (`TVM_CUDA_PASSES`, TVM's s_tir order restricted to
what a module without sblocks needs): thread-binding loops become launch attributes, buffers are
flattened, `MergeSharedMemoryAllocations` places every `shared.dyn` buffer in one arena (reusing memory of buffers
whose lifetimes do not overlap), `SplitHostDevice` cuts the kernel out. TVM's CompactBufferAllocation is
left out on purpose (see `pipeline.compile_cpu`): our buffers keep their declared sizes. CUDA C comes from
TVM's CUDA code generator; no GPU and no nvcc are needed here.

The launch metadata is read back from the host side of the split: the host calls the kernel with its
arguments, then one value per launch parameter (`blockIdx.*`, `threadIdx.*`, and the dynamic
shared-memory bytes). Values that depend on `T.dynamic` sizes are kept as Python expressions over those
size names (`(M + 127) // 128`), which the TVM-free loader evaluates at launch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ENTRY = "main_kernel"


@dataclass
class CudaBuild:
    source: str
    entry: str
    arch: str
    grid: list[int | str]  # x, y, z
    block: list[int]  # x, y, z
    dynamic_smem: int | str
    kernel_args: list[dict[str, Any]]  # in the kernel's order: {"name", "kind": "tensor"|"scalar", "dtype"}
    device_module: Any = field(repr=False, default=None)


def tvm_cuda_passes(target: Any) -> list[Any]:
    from tvm import s_tir, tirx

    return [
        tirx.transform.BindTarget(target),
        s_tir.transform.LowerOpaqueBlock(),
        tirx.transform.FlattenBuffer(),
        tirx.transform.BF16ComputeLegalize(),
        tirx.transform.NarrowDataType(32),
        tirx.transform.VectorizeLoop(True),
        tirx.transform.StorageRewrite(),
        tirx.transform.UnrollLoop(),
        tirx.transform.StmtSimplify(),
        tirx.transform.RemoveNoOp(),
        tirx.transform.FP8ComputeLegalize(),
        tirx.transform.VerifyMemory(),
        tirx.transform.AnnotateEntryFunc(),
        s_tir.transform.MergeSharedMemoryAllocations(),
        tirx.transform.SplitHostDevice(),
        tirx.transform.MakePackedAPI(),
        tirx.transform.FP8StorageLegalize(),
        tirx.transform.BF16StorageLegalize(),
    ]


def cuda_target(arch: str) -> Any:
    import tvm

    return tvm.target.Target({"kind": "cuda", "arch": arch}).with_host("llvm")


def generate(mod: Any, arch: str, size_names: dict[str, str] | None = None) -> CudaBuild:
    """CUDA C for a lowered module with one kernel. `size_names` maps a TVM variable name to the name the
    launch metadata should use (default: the variable's own name)."""
    import tvm
    from tvm import tirx
    from tvm.tirx.build import codegen_build, split_host_device_mods

    target = cuda_target(arch)
    mod = tvm.ir.transform.Sequential(tvm_cuda_passes(target))(mod)
    host, devices = split_host_device_mods(mod)
    if len(devices) != 1:
        raise ValueError(f"expected one device module, got {len(devices)}")
    (device_target, device), = devices.items()
    device = tvm.ir.transform.Sequential([
        tirx.transform.LowerWarpMemory(), tirx.transform.StmtSimplify(), tirx.transform.LowerIntrin()])(device)
    kernels = [(gv.name_hint, f) for gv, f in device.functions.items()]
    if len(kernels) != 1:
        raise ValueError(f"expected one kernel, got {[k for k, _ in kernels]}")
    entry, kernel = kernels[0]
    launch_params = [str(p) for p in kernel.attrs["tirx.kernel_launch_params"]]
    call = _kernel_call(host, entry)
    n_args = len(kernel.params)
    launch_values = list(call.args[1 + n_args:])
    if len(launch_values) != len(launch_params):
        raise ValueError(f"launch values {launch_values} do not match launch params {launch_params}")
    names = size_names or {}
    grid: list[int | str] = [1, 1, 1]
    block = [1, 1, 1]
    smem: int | str = 0
    for param, value in zip(launch_params, launch_values):
        expr = to_python(value, names)
        if param.startswith("blockIdx."):
            grid["xyz".index(param[-1])] = expr
        elif param.startswith("threadIdx."):
            if not isinstance(expr, int):
                raise ValueError(f"thread extent {expr} is not a constant")
            block["xyz".index(param[-1])] = expr
        elif param == "tirx.use_dyn_shared_memory":
            smem = expr
    args = []
    for p in kernel.params:
        if isinstance(p.ty, tvm.ir.PointerType):
            name = p.name[:-4] if p.name.endswith("_ptr") else p.name
            args.append({"name": name, "kind": "tensor", "dtype": str(p.ty.element_type.dtype)})
        else:
            args.append({"name": names.get(p.name, p.name), "kind": "scalar", "dtype": str(p.ty.dtype)})
    source = codegen_build(device, device_target).inspect_source()
    return CudaBuild(source, entry, arch, grid, block, smem, args, device)


def _kernel_call(host: Any, entry: str) -> Any:
    import tvm

    from .ir import walk

    found = [node for _, func in host.functions.items() for node in walk(func.body)
             if isinstance(node, tvm.ir.Call) and node.args and isinstance(node.args[0], tvm.ir.StringImm)
             and node.args[0].value == entry]
    if len(found) != 1:
        raise ValueError(f"expected one launch of {entry} in the host code, found {len(found)}")
    return found[0]


def to_python(expr: Any, names: dict[str, str]) -> int | str:
    """An integer, or a Python expression over size names, for a TVM integer expression."""
    from tvm import tirx

    if isinstance(expr, tirx.IntImm):
        return int(expr.value)

    def emit(e: Any) -> str:
        if isinstance(e, tirx.IntImm):
            return str(int(e.value))
        if isinstance(e, tirx.Var):
            return names.get(e.name, e.name)
        if isinstance(e, tirx.Cast):
            return emit(e.value)
        ops = {tirx.Add: "+", tirx.Sub: "-", tirx.Mul: "*", tirx.FloorDiv: "//", tirx.FloorMod: "%"}
        for cls, op in ops.items():
            if isinstance(e, cls):
                return f"({emit(e.a)} {op} {emit(e.b)})"
        if isinstance(e, tirx.Min):
            return f"min({emit(e.a)}, {emit(e.b)})"
        if isinstance(e, tirx.Max):
            return f"max({emit(e.a)}, {emit(e.b)})"
        raise ValueError(f"launch value {e} has a form the launch metadata cannot express")

    return emit(expr)


def param_specs(func: Any) -> list[dict[str, Any]]:
    """The kernel's parameters in the user's order: tensors with dtype and shape (ints, or the name of a
    `T.dynamic` size), scalars with dtype."""
    import tvm
    from tvm import tirx

    from .ir import is_buffer

    out = []
    for p in func.params:
        if is_buffer(p):
            shape = [int(d.value) if isinstance(d, tirx.IntImm) else (d.name if isinstance(d, tvm.ir.Var) else str(d))
                     for d in p.shape]
            out.append({"name": p.name, "kind": "tensor", "dtype": str(p.dtype), "shape": shape})
        else:
            out.append({"name": p.name, "kind": "scalar", "dtype": str(p.ty.dtype)})
    return out


def generate_kernel(kdef: Any, arch: str) -> CudaBuild:
    """CUDA C for a traced kernel: the CUDA pipeline (`pipeline.lower(..., "cuda")`), then `generate`."""
    from .pipeline import lower
    from .runtime import to_module

    return generate(lower(to_module(kdef), "cuda"), arch)
