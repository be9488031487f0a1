"""From a thread-level module (`pipeline.lower(mod, "cuda")`) to CUDA C source and its launch metadata.

TVM's own passes finish the job, in an explicit list (`TVM_CUDA_PASSES`, TVM's s_tir order restricted to
what a module without sblocks needs): thread-binding loops become launch attributes, buffers are
flattened, `MergeSharedMemoryAllocations` places every `shared.dyn` buffer in one arena (reusing memory of buffers
whose lifetimes do not overlap), `SplitHostDevice` cuts the kernel out. TVM's CompactBufferAllocation is
left out on purpose (see `pipeline.compile_cpu`): our buffers keep their declared sizes. CUDA C comes from
TVM's CUDA code generator; no GPU and no nvcc are needed here.

The launch metadata is read back from the host side of the split: the host calls the kernel with its
arguments, then one value per launch parameter (`blockIdx.*`, `threadIdx.*`, and the dynamic
shared-memory bytes), and the value of each kernel argument (a tensor's pointer, a scalar parameter, or
a size the host computes). Values that depend on `T.dynamic` sizes are kept as size expressions over
those size names, which the TVM-free loader (compiler/runtime/cuda.py) evaluates at launch.
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
    grid: list[Any]  # x, y, z: size expressions (compiler/runtime/cuda.py)
    block: list[int]  # x, y, z
    dynamic_smem: Any
    launch_args: list[dict[str, Any]]  # the kernel's C parameters in order (compiler/runtime/cuda.py's format)
    device_module: Any = field(repr=False, default=None)
    # {1-based line of `source`: (user file, 1-based line, 0-based column)} (compiler/source_lines.py)
    line_map: dict[int, tuple[str, int, int]] = field(repr=False, default_factory=dict)
    kernel_location: tuple[str, int, int] | None = None  # the `with T.Kernel(...)` line: errors with no line


def tvm_cuda_passes(target: Any) -> list[Any]:
    from tvm import tirx

    from .pipeline import tvm_passes

    return [tirx.transform.BindTarget(target), *tvm_passes("cuda")]


def cuda_target(arch: str) -> Any:
    import tvm

    return tvm.target.Target({"kind": "cuda", "arch": arch}).with_host("llvm")


def generate(mod: Any, arch: str, size_names: dict[str, str] | None = None, scalars: tuple[str, ...] = (),
             lines: Any = None) -> CudaBuild:
    """CUDA C for a lowered module with one kernel. `size_names` maps a TVM variable name to the name the
    launch metadata should use (default: the variable's own name); `scalars` names the kernel's scalar
    parameters, passed by name rather than as a size expression. `lines` (a `source_lines.LinedFunc`)
    says what the module's source-line markers refer to: their lines are taken out of the source and
    become `CudaBuild.line_map`. A module lowered for another arch (`pipeline.lower(..., arch=)`) is refused;
    one lowered without an arch keeps the arena of the archs without TMA."""
    import tvm
    from tvm import tirx
    from tvm.tirx.build import codegen_build, split_host_device_mods

    from .passes.cuda_threads import ARCH_ATTR
    from .source_lines import extract

    for gv, func in mod.functions.items():
        lowered_for = str(func.attrs[ARCH_ATTR]) if func.attrs is not None and ARCH_ATTR in func.attrs else arch
        if lowered_for != arch:
            raise ValueError(f"{gv.name_hint} was lowered for {lowered_for}, not {arch}")
    target = cuda_target(arch)
    # `T.unroll` and our register loops stay loops with `#pragma unroll` (nvcc unrolls them): unrolled in
    # the IR, their `Bind`s of shared-memory loads would sit at block level, which
    # MergeSharedMemoryAllocations' liveness analysis refuses.
    with tvm.transform.PassContext(config={"tirx.UnrollLoop": {"explicit_unroll": False}}):
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
    grid: list[Any] = [1, 1, 1]
    block = [1, 1, 1]
    smem: Any = 0
    for param, value in zip(launch_params, launch_values):
        expr = to_size_expr(value, names)
        if param.startswith("blockIdx."):
            grid["xyz".index(param[-1])] = expr
        elif param.startswith("threadIdx."):
            if not isinstance(expr, int):
                raise ValueError(f"thread extent {expr} is not a constant")
            block["xyz".index(param[-1])] = expr
        elif param == "tirx.use_dyn_shared_memory":
            smem = expr
    launch_args = []
    for p, value in zip(kernel.params, call.args[1:1 + n_args]):
        if isinstance(p.ty, tvm.ir.PointerType):
            launch_args.append({"param": p.name[:-4] if p.name.endswith("_ptr") else p.name})
        elif isinstance(value, tirx.Var) and value.name in scalars:
            launch_args.append({"param": value.name})
        else:
            launch_args.append({"value": to_size_expr(value, names), "dtype": str(p.ty.dtype)})
    source = with_prelude(codegen_build(device, device_target).inspect_source())
    source, line_map = extract(source, lines)
    return CudaBuild(source, entry, arch, grid, block, smem, launch_args, device, line_map,
                     lines.kernel if lines is not None else None)


def with_prelude(source: str) -> str:
    """Our device helpers (the PRELUDE of passes/cuda_copies, cuda_mma and cuda_roles, and
    cuda_copies.narrow_prelude) go before the kernel when it calls them."""
    from .passes import cuda_copies, cuda_mma, cuda_roles, cuda_wgmma

    prelude = "".join(m.PRELUDE for m in (cuda_copies, cuda_mma, cuda_roles) if m.uses_prelude(source))
    if cuda_wgmma.uses_prelude(source):
        prelude += cuda_wgmma.prelude_for(source)
        source = cuda_wgmma.align_arena(source)
    prelude += cuda_copies.narrow_prelude(source)
    if not prelude:
        return source
    at = source.find('extern "C" __global__')
    return source[:at] + prelude + "\n" + source[at:]


def _kernel_call(host: Any, entry: str) -> Any:
    import tvm

    from .ir import walk

    found = [node for _, func in host.functions.items() for node in walk(func.body)
             if isinstance(node, tvm.ir.Call) and node.args and isinstance(node.args[0], tvm.ir.StringImm)
             and node.args[0].value == entry]
    if len(found) != 1:
        raise ValueError(f"expected one launch of {entry} in the host code, found {len(found)}")
    return found[0]


def to_size_expr(expr: Any, names: dict[str, str]) -> Any:
    """A TVM integer expression as a size expression of the artifact format (compiler/runtime/cuda.py):
    an int, a size name, or {"add"|"mul"|"min"|"max": [...]} / {"sub"|"floordiv"|"mod": [a, b]}."""
    from tvm import tirx

    if isinstance(expr, tirx.IntImm):
        return int(expr.value)
    if isinstance(expr, tirx.Var):
        return names.get(expr.name, expr.name)
    if isinstance(expr, tirx.Cast):
        return to_size_expr(expr.value, names)
    ops = {tirx.Add: "add", tirx.Mul: "mul", tirx.Min: "min", tirx.Max: "max",
           tirx.Sub: "sub", tirx.FloorDiv: "floordiv", tirx.FloorMod: "mod"}
    for cls, op in ops.items():
        if isinstance(expr, cls):
            return {op: [to_size_expr(expr.a, names), to_size_expr(expr.b, names)]}
    raise ValueError(f"launch value {expr} has a form the launch metadata cannot express")


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


def generate_kernel(kdef: Any, arch: str, lines: bool = True) -> CudaBuild:
    """CUDA C for a traced kernel: the CUDA pipeline (`pipeline.lower(..., "cuda", arch=arch)`), then `generate`.
    The kernel is lowered with its source-line markers (`kdef.lines`, compiler/source_lines.py), which
    give `CudaBuild.line_map`; `lines=False` lowers `kdef.func`, without them (the same source, no map)."""
    import tvm

    from .pipeline import lower
    from .runtime import to_module

    scalars = tuple(p["name"] for p in param_specs(kdef.func) if p["kind"] == "scalar")
    lined = kdef.lines if lines else None
    if lined is None:
        return generate(lower(to_module(kdef), "cuda", arch=arch), arch, scalars=scalars)
    mod = tvm.IRModule({"main": lined.func.with_attr("global_symbol", "main")})
    return generate(lower(mod, "cuda", arch=arch), arch, scalars=scalars, lines=lined)


@dataclass
class CudaArtifactBuild:
    build: CudaBuild
    cubin: Any  # cuda_toolchain.CubinResult
    json_path: Any  # pathlib.Path, or None when not written

    @property
    def resources(self) -> Any:
        return self.cubin.resources(self.build.entry)


def build_artifact(kdef: Any, arch: str, out_dir: Any = None, name: str | None = None,
                   workdir: Any = None) -> CudaArtifactBuild:
    """Generate, compile with nvcc (ptxas report kept), and write `<name>.cubin` + `<name>.json` into
    `out_dir` (when given) in the loader's format."""
    from .cuda_toolchain import compile_cubin
    from .runtime.cuda import write_artifact

    build = generate_kernel(kdef, arch)
    name = name or kdef.name
    cubin = compile_cubin(build.source, arch, workdir=workdir, name=name, line_map=build.line_map,
                          kernel_location=build.kernel_location)
    json_path = None
    if out_dir is not None:
        meta = {"entry": build.entry, "arch": arch, "grid": build.grid, "block": build.block,
                "dynamic_smem_bytes": build.dynamic_smem, "params": param_specs(kdef.func),
                "launch_args": build.launch_args, "out_idx": list(kdef.out_idx or []),
                "resources": cubin.resources(build.entry)}
        json_path = write_artifact(out_dir, name, cubin.cubin, meta)
    return CudaArtifactBuild(build, cubin, json_path)
