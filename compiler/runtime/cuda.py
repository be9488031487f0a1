"""The CUDA loader: run a prebuilt cubin from its artifact directory, without TVM.

An artifact is two files written by `write_artifact`: `<name>.cubin` (from
`compiler.cuda_toolchain.compile_cubin`) and `<name>.json`:

    {
      "format": "tilec-cuda-artifact", "version": 1,
      "name": "vadd", "entry": "vadd_kernel", "arch": "sm_90",
      "cubin": "vadd.cubin", "cubin_sha256": "<hex>",
      "grid": [{"ceildiv": ["n", 256]}, 1, 1],       # 3 size expressions (below)
      "block": [256, 1, 1],                          # 3 ints
      "dynamic_smem_bytes": 0,                       # a size expression (default 0)
      "params": [                                    # the user's parameters, in call order
        {"name": "A", "kind": "tensor", "dtype": "float32", "shape": ["n"]},
        {"name": "B", "kind": "tensor", "dtype": "float32", "shape": ["n"]},
        {"name": "C", "kind": "tensor", "dtype": "float32", "shape": ["n"]}
      ],
      "launch_args": [{"param": "A"}, {"param": "B"}, {"param": "C"}, {"var": "n", "dtype": "int32"}],
      "out_idx": [2],
      "resources": {"registers": 16, "shared_bytes": 0, ...}   # ptxas -v (PtxasResources.to_dict())
    }

Size expressions: an int; a size variable's name ("n", the same as {"var": "n"}); or
{"add" | "mul" | "min" | "max": [e, ...]}, {"sub" | "floordiv" | "ceildiv" | "mod": [a, b]}.
A tensor dimension is an int, a variable (bound from the array given for it) or an
expression over bound variables (checked). A variable is bound by a tensor dimension
that is just that variable, or by a scalar parameter of that name.

`launch_args` is the kernel's C parameter list, in order: {"param": name} passes a
tensor's device pointer or a scalar's value (as its dtype); {"value": <size expression>,
"dtype": "int32"|"int64"} passes a value computed from the sizes, {"var": name, "dtype":
...} being the same for a plain size. It decouples the user's parameter order from the
kernel signature: TVM 0.27's CUDA kernels take the tensor pointers first, then int32
values the host computes from the sizes, a size or a common subexpression (a kernel on
(n, m) tensors was `add_kernel(float* A, float* B, float* C, int cse_v1, int m)` with
cse_v1 = n * m). Without `launch_args` the kernel takes `params` in order.

    kernel = load("out/vadd")            # the directory (one .json in it) or the .json
    c = kernel(a, b)                     # inputs only: outputs (out_idx) are allocated and returned
    kernel(a, b, c)                      # all arrays: runs in place, returns None
    ms = kernel.time(a, b, warmup=10, iters=100)

Arrays: NumPy (copied to the device and back; every NumPy argument gets the
kernel's writes, as the CPU runner does), CuPy arrays or anything with
`__cuda_array_interface__`, and torch CUDA tensors (zero-copy: the device pointer is
passed; launches are asynchronous, on the legacy default stream). Allocated outputs are of
the first argument's kind. bfloat16/float8: torch tensors, or NumPy arrays of
ml_dtypes' types. The launch backend is CuPy when it imports, else cuda-python
(`cuda.bindings.driver`), else the driver library itself through ctypes (`libcuda.so.1`,
present wherever the NVIDIA driver is); `backend=` names one ("cupy", "cuda-python",
"libcuda") or passes an object with the methods of `_CupyBackend` (tests pass a
recording one). Nothing is imported from CuPy, torch or cuda-python until the first
launch.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from ..errors import KernelError

FORMAT = "tilec-cuda-artifact"
VERSION = 1
DTYPES = ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float16", "bfloat16",
          "float32", "float64", "float8_e4m3fn", "float8_e5m2")
DEFAULT_SMEM_LIMIT = 48 * 1024
# Most shared memory one block may use (static + dynamic, opt-in), by arch (CUDA programming guide).
SMEM_LIMIT = {"sm_80": 166912, "sm_86": 101376, "sm_89": 101376, "sm_90": 232448, "sm_90a": 232448}
_BINARY_OPS = ("sub", "floordiv", "ceildiv", "mod")
_NARY_OPS = ("add", "mul", "min", "max")


class ArtifactError(KernelError):
    """A missing, corrupt or inconsistent artifact."""


# ------------------------------------------------------------------------------------ expressions

def expr_vars(e: Any, where: str) -> set[str]:
    """The variables of a size expression; ArtifactError if it is malformed."""
    if isinstance(e, bool):
        raise ArtifactError(f"{where}: {e!r} is not a size expression")
    if isinstance(e, int):
        return set()
    if isinstance(e, str):
        if not re.fullmatch(r"[A-Za-z_]\w*", e):
            raise ArtifactError(f"{where}: '{e}' is not a size variable name")
        return {e}
    if isinstance(e, dict) and len(e) == 1:
        (op, arg), = e.items()
        if op == "var":
            return expr_vars(arg if isinstance(arg, str) else f"{arg!r}", where)
        if op in _NARY_OPS and isinstance(arg, list) and arg:
            return set().union(*(expr_vars(a, where) for a in arg))
        if op in _BINARY_OPS and isinstance(arg, list) and len(arg) == 2:
            return expr_vars(arg[0], where) | expr_vars(arg[1], where)
    raise ArtifactError(f"{where}: {json.dumps(e)} is not a size expression (an int, a name, {{'var': name}}, "
                        f"{{'add'|'mul'|'min'|'max': [...]}} or {{'sub'|'floordiv'|'ceildiv'|'mod': [a, b]}})")


def eval_expr(e: Any, env: dict[str, int]) -> int:
    if isinstance(e, int):
        return e
    if isinstance(e, str):
        if e not in env:
            raise KernelError(f"size '{e}' is not bound by any argument")
        return env[e]
    (op, arg), = e.items()
    if op == "var":
        return eval_expr(arg, env)
    vals = [eval_expr(a, env) for a in arg]
    if op == "add":
        return sum(vals)
    if op == "mul":
        out = 1
        for v in vals:
            out *= v
        return out
    if op in ("min", "max"):
        return min(vals) if op == "min" else max(vals)
    a, b = vals
    if op == "sub":
        return a - b
    if b == 0:
        raise KernelError(f"size expression {json.dumps(e)} divides by zero with {env}")
    return {"floordiv": a // b, "ceildiv": -(-a // b), "mod": a % b}[op]


# --------------------------------------------------------------------------------------- artifacts

@dataclass
class Param:
    name: str
    kind: str                           # "tensor" | "scalar"
    dtype: str
    shape: tuple[Any, ...] | None = None


@dataclass
class Artifact:
    """A validated artifact; `cubin` holds the image's bytes."""

    json_path: Path
    cubin_path: Path
    cubin: bytes
    name: str
    entry: str
    arch: str
    grid: list[Any]
    block: tuple[int, int, int]
    dynamic_smem: Any
    params: list[Param]
    launch_args: list[dict[str, str]]
    out_idx: list[int]
    resources: dict[str, Any] | None
    meta: dict[str, Any] = field(repr=False, default_factory=dict)


def write_artifact(directory: str | Path, name: str, cubin: bytes, meta: dict[str, Any]) -> Path:
    """Write `<name>.cubin` and `<name>.json` into `directory`; returns the JSON's path.

    `meta` holds entry, arch, grid, block and params, and optionally dynamic_smem_bytes,
    launch_args, out_idx and resources (a dict or a `PtxasResources`). It is validated first."""
    if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", name or ""):
        raise ArtifactError(f"artifact name '{name}' is not a plain file name")
    resources = meta.get("resources")
    if resources is not None and hasattr(resources, "to_dict"):
        resources = resources.to_dict()
    doc = {"format": FORMAT, "version": VERSION, "name": name, "entry": meta.get("entry"), "arch": meta.get("arch"),
           "cubin": f"{name}.cubin", "cubin_sha256": hashlib.sha256(cubin).hexdigest(),
           "grid": meta.get("grid"), "block": meta.get("block"),
           "dynamic_smem_bytes": meta.get("dynamic_smem_bytes", 0), "params": meta.get("params"),
           "launch_args": meta.get("launch_args") or [{"param": p.get("name")} for p in meta.get("params") or []
                                                       if isinstance(p, dict)],
           "out_idx": list(meta.get("out_idx") or []), "resources": resources}
    unknown = set(meta) - {"entry", "arch", "grid", "block", "dynamic_smem_bytes", "params", "launch_args",
                           "out_idx", "resources"}
    if unknown:
        raise ArtifactError(f"unknown artifact fields: {', '.join(sorted(unknown))}")
    out = Path(directory)
    json_path = out / f"{name}.json"
    _validate(doc, cubin, json_path, out / doc["cubin"])
    out.mkdir(parents=True, exist_ok=True)
    (out / doc["cubin"]).write_bytes(cubin)
    json_path.write_text(_dump(doc), encoding="utf-8")
    return json_path


def _dump(doc: dict[str, Any]) -> str:
    """JSON with one line per field, and one line per parameter / launch argument."""
    lines = []
    for key, value in doc.items():
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value) and key != "grid":
            text = "[\n    " + ",\n    ".join(json.dumps(v) for v in value) + "\n  ]"
        else:
            text = json.dumps(value)
        lines.append(f"  {json.dumps(key)}: {text}")
    return "{\n" + ",\n".join(lines) + "\n}\n"


def read_artifact(path: str | Path) -> Artifact:
    """Read and validate an artifact: its `.json`, or a directory holding exactly one."""
    p = Path(path)
    if p.is_dir():
        found = sorted(p.glob("*.json"))
        if len(found) != 1:
            names = ", ".join(f.name for f in found) or "none"
            raise ArtifactError(f"{p} holds {len(found)} artifact .json files ({names}); pass the .json to load")
        p = found[0]
    if not p.is_file():
        raise ArtifactError(f"no artifact at {p}")
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ArtifactError(f"{p}: not a readable artifact JSON ({err})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ArtifactError(f"{p}: not a tilec CUDA artifact (no \"format\": \"{FORMAT}\")")
    cubin_name = doc.get("cubin")
    if not isinstance(cubin_name, str) or Path(cubin_name).name != cubin_name:
        raise ArtifactError(f"{p}: \"cubin\" must be a file name next to the .json")
    cubin_path = p.parent / cubin_name
    try:
        cubin = cubin_path.read_bytes()
    except OSError:
        raise ArtifactError(f"{p}: its cubin {cubin_path} is missing") from None
    return _validate(doc, cubin, p, cubin_path)


def _validate(doc: dict[str, Any], cubin: bytes, json_path: Path, cubin_path: Path) -> Artifact:
    try:
        return _check(doc, cubin, json_path, cubin_path)
    except ArtifactError as err:
        if str(err).startswith(f"{json_path}: "):
            raise
        raise ArtifactError(f"{json_path}: {err}") from None


def _check(doc: dict[str, Any], cubin: bytes, json_path: Path, cubin_path: Path) -> Artifact:
    from ..cuda_toolchain import ARCHES

    def bad(msg: str) -> ArtifactError:
        return ArtifactError(f"{json_path}: {msg}")

    if doc.get("version") != VERSION:
        raise bad(f"format version {doc.get('version')!r}; this loader reads version {VERSION}")
    if not cubin[:4] == b"\x7fELF":
        raise bad(f"{cubin_path.name} is not a cubin (no ELF header)")
    if doc.get("cubin_sha256") != hashlib.sha256(cubin).hexdigest():
        raise bad(f"{cubin_path.name} does not match the cubin_sha256 recorded when it was written "
                  "(corrupt or replaced)")
    for key in ("name", "entry"):
        if not isinstance(doc.get(key), str) or not doc[key]:
            raise bad(f"\"{key}\" must be a non-empty string")
    if doc.get("arch") not in ARCHES:
        raise bad(f"arch {doc.get('arch')!r} is not one of {', '.join(ARCHES)}")
    block = doc.get("block")
    if (not isinstance(block, list) or len(block) != 3 or
            not all(isinstance(b, int) and not isinstance(b, bool) and b >= 1 for b in block)):
        raise bad(f"\"block\" must be 3 positive ints, got {block!r}")
    if block[0] > 1024 or block[1] > 1024 or block[2] > 64 or block[0] * block[1] * block[2] > 1024:
        raise bad(f"block {tuple(block)} exceeds CUDA's limits (1024 threads, z at most 64)")
    grid = doc.get("grid")
    if not isinstance(grid, list) or len(grid) != 3:
        raise bad(f"\"grid\" must be a list of 3 size expressions, got {grid!r}")

    params_doc = doc.get("params")
    if not isinstance(params_doc, list):
        raise bad("\"params\" must be a list")
    params: list[Param] = []
    bindable: set[str] = set()
    used: dict[str, str] = {}
    for k, pd in enumerate(params_doc):
        if not isinstance(pd, dict) or not isinstance(pd.get("name"), str) or not pd["name"]:
            raise bad(f"params[{k}] must be an object with a \"name\"")
        name, kind, dtype = pd["name"], pd.get("kind"), pd.get("dtype")
        if any(q.name == name for q in params):
            raise bad(f"two parameters are named '{name}'")
        if kind not in ("tensor", "scalar"):
            raise bad(f"parameter '{name}': kind must be \"tensor\" or \"scalar\", got {kind!r}")
        if dtype not in DTYPES:
            raise bad(f"parameter '{name}': dtype {dtype!r} is not one of {', '.join(DTYPES)}")
        shape = None
        if kind == "tensor":
            shape_doc = pd.get("shape")
            if not isinstance(shape_doc, list):
                raise bad(f"parameter '{name}': a tensor needs a \"shape\" list")
            for axis, d in enumerate(shape_doc):
                names = expr_vars(d, f"parameter '{name}' axis {axis}")
                if isinstance(d, int) and d < 0:
                    raise bad(f"parameter '{name}' axis {axis}: negative size {d}")
                if isinstance(d, str) or (isinstance(d, dict) and "var" in d):
                    bindable |= names
                for v in names:
                    used.setdefault(v, f"the shape of '{name}'")
            shape = tuple(shape_doc)
        elif dtype.startswith(("int", "uint")):
            bindable.add(name)
        params.append(Param(name, kind, dtype, shape))
    for axis, g in enumerate(grid):
        for v in expr_vars(g, f"grid[{axis}]"):
            used.setdefault(v, "the grid")
    smem = doc.get("dynamic_smem_bytes", 0)
    for v in expr_vars(smem, "dynamic_smem_bytes"):
        used.setdefault(v, "dynamic_smem_bytes")

    launch_args = doc.get("launch_args")
    if not isinstance(launch_args, list):
        raise bad("\"launch_args\" must be a list")
    names = {q.name for q in params}
    for k, a in enumerate(launch_args):
        if isinstance(a, dict) and set(a) == {"param"} and a["param"] in names:
            continue
        sized = isinstance(a, dict) and set(a) in ({"var", "dtype"}, {"value", "dtype"})
        if sized and a["dtype"] in ("int32", "int64"):
            value = a.get("value", a.get("var"))
            if "var" in a and not isinstance(value, str):
                raise bad(f"launch_args[{k}]: \"var\" must be a size name, got {json.dumps(value)}")
            for v in expr_vars(value, f"launch_args[{k}]"):
                used.setdefault(v, f"launch_args[{k}]")
            continue
        raise bad(f"launch_args[{k}] must be {{\"param\": <a parameter name>}}, {{\"value\": <size expression>, "
                  f"\"dtype\": \"int32\"|\"int64\"}} or {{\"var\": <size name>, \"dtype\": ...}}, "
                  f"got {json.dumps(a)}")
    for v, where in used.items():
        if v not in bindable:
            raise bad(f"size '{v}' (in {where}) is bound by no parameter: no tensor dimension is just '{v}' "
                      "and no integer scalar parameter has that name")

    out_idx = doc.get("out_idx") or []
    if not isinstance(out_idx, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in out_idx):
        raise bad(f"\"out_idx\" must be a list of parameter indices, got {out_idx!r}")
    norm = []
    for i in out_idx:
        if not -len(params) <= i < len(params):
            raise bad(f"out_idx {i} is out of range for {len(params)} parameters")
        j = i % len(params)
        if params[j].kind != "tensor":
            raise bad(f"out_idx {i} names the scalar parameter '{params[j].name}'")
        norm.append(j)
    if len(set(norm)) != len(norm):
        raise bad(f"out_idx {out_idx} names a parameter twice")
    resources = doc.get("resources")
    if resources is not None and not isinstance(resources, dict):
        raise bad("\"resources\" must be an object")
    return Artifact(json_path, cubin_path, cubin, doc["name"], doc["entry"], doc["arch"], list(grid), tuple(block),
                    smem, params, launch_args, sorted(norm), resources, doc)


# ------------------------------------------------------------------------------------------ arrays

def np_dtype(dtype: str) -> np.dtype:
    """The NumPy dtype of a kernel dtype; bfloat16/float8 through ml_dtypes."""
    if dtype in ("bfloat16", "float8_e4m3fn", "float8_e5m2"):
        try:
            import ml_dtypes
        except ImportError:
            raise KernelError(f"NumPy has no {dtype}: install ml_dtypes, or pass torch tensors") from None
        return np.dtype(getattr(ml_dtypes, dtype))
    return np.dtype(dtype)


@dataclass
class _Array:
    """What the loader needs to know of one array argument."""

    obj: Any
    lib: str                   # "numpy", "torch", "cupy" or "cuda" (another __cuda_array_interface__ object)
    shape: tuple[int, ...]
    dtype: str
    contiguous: bool
    ptr: int | None = None     # device pointer (None for NumPy)


def describe(obj: Any, name: str) -> _Array:
    """Shape, dtype and device pointer of an argument; KernelError for what the loader cannot pass."""
    if isinstance(obj, np.ndarray):
        return _Array(obj, "numpy", tuple(obj.shape), obj.dtype.name, obj.flags.c_contiguous)
    module = type(obj).__module__.split(".")[0]
    if module == "torch" and hasattr(obj, "data_ptr"):
        if not obj.is_cuda:
            raise KernelError(f"argument '{name}' is a torch tensor on {obj.device}: pass a CUDA tensor "
                              "or a NumPy array")
        return _Array(obj, "torch", tuple(int(d) for d in obj.shape), str(obj.dtype).replace("torch.", ""),
                      bool(obj.is_contiguous()), int(obj.data_ptr()))
    cai = getattr(obj, "__cuda_array_interface__", None)
    if isinstance(cai, dict):
        shape = tuple(int(d) for d in cai["shape"])
        try:
            dtype = np.dtype(cai["typestr"]).name
        except TypeError:
            dtype = str(cai["typestr"])
        strides = cai.get("strides")
        itemsize = np.dtype(cai["typestr"]).itemsize
        contiguous = strides is None or tuple(strides) == _c_strides(shape, itemsize)
        return _Array(obj, module if module == "cupy" else "cuda", shape, dtype, contiguous, int(cai["data"][0]))
    raise KernelError(f"argument '{name}' must be a NumPy array, a CuPy array or a torch CUDA tensor, "
                      f"got {type(obj).__name__}")


def _c_strides(shape: tuple[int, ...], itemsize: int) -> tuple[int, ...]:
    strides, step = [], itemsize
    for d in reversed(shape):
        strides.append(step)
        step *= max(d, 1)
    return tuple(reversed(strides))


def _allocate(like: _Array, shape: tuple[int, ...], dtype: str, name: str) -> _Array:
    if like.lib == "numpy":
        return describe(np.zeros(shape, dtype=np_dtype(dtype)), name)
    if like.lib == "torch":
        import torch

        return describe(torch.zeros(shape, dtype=getattr(torch, dtype), device=like.obj.device), name)
    if like.lib == "cupy":
        import cupy

        if dtype in ("bfloat16", "float8_e4m3fn", "float8_e5m2"):
            raise KernelError(f"CuPy has no {dtype}: pass '{name}' yourself, or use torch tensors")
        with cupy.cuda.Device(like.obj.device.id):
            return describe(cupy.zeros(shape, dtype=dtype), name)
    raise KernelError(f"cannot allocate output '{name}' like a {type(like.obj).__name__}: pass all arrays")


# ------------------------------------------------------------------------------------------ launch

@dataclass
class Launch:
    """One call, bound: the arrays by parameter, the sizes, grid, block and dynamic shared memory."""

    arrays: dict[int, _Array]
    scalars: dict[int, Any]
    sizes: dict[str, int]
    grid: tuple[int, int, int]
    block: tuple[int, int, int]
    smem: int
    outputs: list[int]          # parameter indices allocated by this call


class CudaKernel:
    """A loaded artifact; call it with arrays (see the module docstring)."""

    def __init__(self, artifact: Artifact, backend: Any = None):
        self.artifact = artifact
        self._backend_choice = backend
        self._backend: Any = None
        self._function: Any = None
        self._smem_attr = DEFAULT_SMEM_LIMIT

    @property
    def name(self) -> str:
        return self.artifact.name

    def __repr__(self) -> str:
        a = self.artifact
        return f"<CudaKernel {a.name} entry={a.entry} arch={a.arch} params={[p.name for p in a.params]}>"

    # ---- binding (pure: no device)

    def bind(self, *args: Any) -> Launch:
        """Check the arguments against the parameters, bind the sizes and compute the launch (no device
        work; outputs to allocate are listed in `outputs`, not allocated)."""
        a = self.artifact
        n_all, n_in = len(a.params), len(a.params) - len(a.out_idx)
        if len(args) not in (n_in, n_all):
            names = ", ".join(p.name for k, p in enumerate(a.params) if k not in a.out_idx)
            raise KernelError(f"{a.name} takes {n_in} arguments ({names})"
                              + (f" or all {n_all}" if n_in != n_all else "") + f", got {len(args)}")
        allocate = len(args) == n_in and n_in != n_all
        positions = [k for k in range(n_all) if not (allocate and k in a.out_idx)]
        arrays: dict[int, _Array] = {}
        scalars: dict[int, Any] = {}
        sizes: dict[str, int] = {}
        for k, obj in zip(positions, args):
            p = a.params[k]
            if p.kind == "scalar":
                scalars[k] = _scalar(obj, p)
                if p.dtype.startswith(("int", "uint")):
                    if p.name in sizes and sizes[p.name] != int(scalars[k]):
                        raise KernelError(f"size {p.name} is {sizes[p.name]} from an earlier argument but "
                                          f"{int(scalars[k])} from the scalar '{p.name}'")
                    sizes[p.name] = int(scalars[k])
                continue
            arr = describe(obj, p.name)
            if len(arr.shape) != len(p.shape or ()):
                raise KernelError(f"argument '{p.name}' has {len(arr.shape)} dimensions, the kernel expects "
                                  f"{len(p.shape or ())}")
            for axis, d in enumerate(p.shape or ()):
                var = d if isinstance(d, str) else d.get("var") if isinstance(d, dict) else None
                if isinstance(var, str):
                    if var in sizes and sizes[var] != arr.shape[axis]:
                        raise KernelError(f"size {var} is {sizes[var]} from an earlier argument but "
                                          f"{arr.shape[axis]} from '{p.name}' (axis {axis})")
                    sizes[var] = arr.shape[axis]
            arrays[k] = arr
        for k, arr in arrays.items():
            p = a.params[k]
            expected = self._shape(p, sizes)
            if arr.shape != expected:
                raise KernelError(f"argument '{p.name}' has shape {arr.shape}, the kernel expects {expected}")
            if arr.dtype != p.dtype:
                raise KernelError(f"argument '{p.name}' has dtype {arr.dtype}, the kernel expects {p.dtype}")
            if not arr.contiguous and arr.lib != "numpy":
                raise KernelError(f"argument '{p.name}' is not contiguous (row-major); pass a contiguous copy")
        outputs = [k for k in range(n_all) if k not in arrays and k not in scalars]
        for k in outputs:
            self._shape(a.params[k], sizes)    # every output size must be bound by the inputs
        grid = tuple(eval_expr(g, sizes) for g in a.grid)
        smem = eval_expr(a.dynamic_smem, sizes)
        if any(g < 0 for g in grid) or smem < 0:
            raise KernelError(f"negative launch size: grid {grid}, dynamic shared memory {smem} (sizes {sizes})")
        if grid[0] > 2**31 - 1 or grid[1] > 65535 or grid[2] > 65535:
            raise KernelError(f"grid {grid} exceeds CUDA's limits (x < 2^31, y and z at most 65535)")
        static = int((a.resources or {}).get("shared_bytes", 0))
        limit = SMEM_LIMIT[a.arch]
        if smem + static > limit:
            raise KernelError(f"{a.name} needs {smem + static} bytes of shared memory per block ({smem} dynamic + "
                              f"{static} static); {a.arch} allows at most {limit}")
        return Launch(arrays, scalars, sizes, grid, a.block, smem, outputs)  # type: ignore[arg-type]

    def _shape(self, p: Param, sizes: dict[str, int]) -> tuple[int, ...]:
        try:
            return tuple(eval_expr(d, sizes) for d in p.shape or ())
        except KernelError as err:
            raise KernelError(f"cannot size '{p.name}': {err}; pass it (all arrays) or an input that binds it") \
                from None

    # ---- device

    @property
    def backend(self) -> Any:
        if self._backend is None:
            self._backend = make_backend(self._backend_choice)
        return self._backend

    def _func(self) -> Any:
        if self._function is None:
            a = self.artifact
            try:
                self._function = self.backend.load(a.cubin_path, a.cubin, a.entry)
            except KernelError:
                raise
            except Exception as err:  # noqa: BLE001 - a driver error becomes one clear line
                raise KernelError(f"cannot load {a.cubin_path.name} (built for {a.arch}) entry '{a.entry}' with "
                                  f"{self.backend.name}: {err}") from None
        return self._function

    def _prepare(self, args: Sequence[Any]) -> tuple[Launch, list[Any], list[tuple[np.ndarray, Any]],
                                                      Callable[[], None]]:
        """Bind, allocate outputs, upload NumPy arrays; returns the launch, the results, the NumPy
        arrays to copy back (host, device handle) and the launch callable."""
        a = self.artifact
        launch = self.bind(*args)
        sized = []                              # the launch arguments computed from the sizes
        for spec in a.launch_args:
            if "param" not in spec:
                expr = spec.get("value", spec.get("var"))
                value, info = eval_expr(expr, launch.sizes), np.iinfo(spec["dtype"])
                if not info.min <= value <= info.max:
                    raise KernelError(f"the kernel argument {json.dumps(expr)} = {value} does not fit in "
                                      f"{spec['dtype']} (sizes {launch.sizes})")
                sized.append(np.dtype(spec["dtype"]).type(value))
        backend = self.backend
        first = next(iter(launch.arrays.values()), None)
        results = []
        for k in launch.outputs:
            p = a.params[k]
            if first is None:
                raise KernelError(f"cannot allocate output '{p.name}' without an array argument: pass all arrays")
            launch.arrays[k] = _allocate(first, self._shape(p, launch.sizes), p.dtype, p.name)
            results.append(launch.arrays[k].obj)
        pointers: dict[int, int] = {}
        copy_back: list[tuple[np.ndarray, Any]] = []
        for k, arr in launch.arrays.items():
            if arr.lib == "numpy":
                host = np.ascontiguousarray(arr.obj, dtype=np_dtype(a.params[k].dtype))   # row-major, native order
                ptr, handle = backend.upload(host.reshape(-1).view(np.uint8))
                pointers[k] = int(ptr)
                if arr.obj.flags.writeable:
                    copy_back.append((arr.obj, handle))
            else:
                pointers[k] = int(arr.ptr or 0)
        index = {p.name: k for k, p in enumerate(a.params)}
        values: list[Any] = []
        for spec in a.launch_args:
            if "param" in spec:
                k = index[spec["param"]]
                values.append(np.uint64(pointers[k]) if k in pointers else launch.scalars[k])
            else:
                values.append(sized.pop(0))
        func = self._func()
        if launch.smem > self._smem_attr:
            backend.set_max_dynamic_smem(func, launch.smem)
            self._smem_attr = launch.smem

        def run() -> None:
            backend.launch(func, launch.grid, launch.block, launch.smem, values)

        return launch, results, copy_back, run

    def __call__(self, *args: Any) -> Any:
        launch, results, copy_back, run = self._prepare(args)
        if all(g > 0 for g in launch.grid):
            run()
        for host, handle in copy_back:
            out = np.empty(host.shape, dtype=host.dtype.newbyteorder("="))
            self.backend.download(handle, out.reshape(-1).view(np.uint8))
            host[...] = out
        if not launch.outputs:
            return None
        return results[0] if len(results) == 1 else results

    def time(self, *args: Any, warmup: int = 10, iters: int = 100) -> float:
        """Milliseconds per launch (CUDA events around `iters` launches after `warmup`); NumPy
        arguments are uploaded once and left unchanged."""
        launch, _, _, run = self._prepare(args)
        if not all(g > 0 for g in launch.grid):
            return 0.0
        return float(self.backend.time_ms(run, warmup, max(iters, 1)))


def load(path: str | Path, backend: Any = None) -> CudaKernel:
    """Read and validate an artifact (a directory with one .json, or the .json); nothing touches the
    GPU until the kernel is called."""
    return CudaKernel(read_artifact(path), backend)


def _scalar(value: Any, p: Param) -> Any:
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if not isinstance(value, (int, float, bool, np.generic)):
        raise KernelError(f"argument '{p.name}' must be a {p.dtype} scalar, got {type(value).__name__}")
    dt = np_dtype(p.dtype)
    if dt.kind in "iu":
        if isinstance(value, (float, np.floating)) and not float(value).is_integer():
            raise KernelError(f"argument '{p.name}' must be an integer ({p.dtype}), got {value}")
        info = np.iinfo(dt)
        if not info.min <= int(value) <= info.max:
            raise KernelError(f"argument '{p.name}' = {int(value)} does not fit in {p.dtype}")
        return dt.type(int(value))
    return dt.type(value)


# ----------------------------------------------------------------------------------------- backends

def make_backend(choice: Any = None) -> Any:
    """The launch backend: `choice` "cupy" / "cuda-python", an object, or None (CuPy, else cuda-python)."""
    if choice is not None and not isinstance(choice, str):
        return choice
    makers = {"cupy": _CupyBackend, "cuda-python": _DriverBackend, "libcuda": _LibcudaBackend}
    if choice is not None and choice not in makers:
        raise KernelError(f"unknown CUDA backend '{choice}' ({', '.join(makers)})")
    errors = []
    for name in [choice] if choice else list(makers):
        try:
            return makers[name]()
        except (ImportError, OSError) as err:
            errors.append(f"{name}: {err}")
    raise KernelError("no CUDA launch backend: install CuPy (cupy-cuda12x / cupy-cuda13x) or cuda-python "
                      f"(cuda-bindings), or make the NVIDIA driver's libcuda.so.1 loadable ({'; '.join(errors)})")


class _CupyBackend:
    """Launches through CuPy (RawModule over the cubin file, the current stream)."""

    name = "cupy"

    def __init__(self) -> None:
        import cupy

        self.cp = cupy

    def load(self, cubin_path: Path, cubin: bytes, entry: str) -> Any:
        self._module = self.cp.RawModule(path=str(cubin_path))
        return self._module.get_function(entry)

    def set_max_dynamic_smem(self, func: Any, nbytes: int) -> None:
        func.max_dynamic_shared_size_bytes = nbytes

    def upload(self, data: np.ndarray) -> tuple[int, Any]:
        dev = self.cp.asarray(data)
        return int(dev.data.ptr), dev

    def download(self, handle: Any, out: np.ndarray) -> None:
        out[...] = handle.get()

    def launch(self, func: Any, grid: tuple[int, ...], block: tuple[int, ...], smem: int, args: list[Any]) -> None:
        func(tuple(grid), tuple(block), tuple(args), shared_mem=smem)

    def time_ms(self, run: Callable[[], None], warmup: int, iters: int) -> float:
        for _ in range(warmup):
            run()
        start, end = self.cp.cuda.Event(), self.cp.cuda.Event()
        start.record()
        for _ in range(iters):
            run()
        end.record()
        end.synchronize()
        return self.cp.cuda.get_elapsed_time(start, end) / iters


class _DriverBackend:
    """Launches through cuda-python's driver API on device 0's primary context (the one torch and
    CuPy use) and the default stream."""

    name = "cuda-python"

    def __init__(self) -> None:
        try:
            from cuda.bindings import driver
        except ImportError:
            from cuda import cuda as driver  # cuda-python before 12.6

        self.d = driver
        self._check(driver.cuInit(0), "cuInit")
        device = self._check(driver.cuDeviceGet(0), "cuDeviceGet")
        self._ctx = self._check(driver.cuDevicePrimaryCtxRetain(device), "cuDevicePrimaryCtxRetain")
        self._check(driver.cuCtxSetCurrent(self._ctx), "cuCtxSetCurrent")
        self._keep: list[Any] = []

    def _check(self, result: Any, what: str) -> Any:
        err, *rest = result if isinstance(result, tuple) else (result,)
        if err != self.d.CUresult.CUDA_SUCCESS:
            _, text = self.d.cuGetErrorString(err)
            raise KernelError(f"{what} failed: {text.decode() if isinstance(text, bytes) else text} ({err})")
        return rest[0] if len(rest) == 1 else (tuple(rest) or None)

    def load(self, cubin_path: Path, cubin: bytes, entry: str) -> Any:
        image = np.frombuffer(cubin, dtype=np.uint8).copy()
        module = self._check(self.d.cuModuleLoadData(image.ctypes.data), "cuModuleLoadData")
        self._keep.append(module)
        return self._check(self.d.cuModuleGetFunction(module, entry.encode()), f"cuModuleGetFunction('{entry}')")

    def set_max_dynamic_smem(self, func: Any, nbytes: int) -> None:
        attr = self.d.CUfunction_attribute.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES
        self._check(self.d.cuFuncSetAttribute(func, attr, nbytes), "cuFuncSetAttribute")

    def upload(self, data: np.ndarray) -> tuple[int, Any]:
        buf = _DeviceBuffer(self, max(data.nbytes, 1))
        if data.nbytes:
            self._check(self.d.cuMemcpyHtoD(buf.ptr, data.ctypes.data, data.nbytes), "cuMemcpyHtoD")
        return int(buf.ptr), buf

    def download(self, handle: Any, out: np.ndarray) -> None:
        if out.nbytes:
            self._check(self.d.cuMemcpyDtoH(out.ctypes.data, handle.ptr, out.nbytes), "cuMemcpyDtoH")

    def launch(self, func: Any, grid: tuple[int, ...], block: tuple[int, ...], smem: int, args: list[Any]) -> None:
        holders = [np.array([a]) for a in args]           # each value in memory of its own C type
        params = np.array([h.ctypes.data for h in holders], dtype=np.uint64)
        self._check(self.d.cuLaunchKernel(func, *grid, *block, smem, 0, params.ctypes.data, 0), "cuLaunchKernel")

    def time_ms(self, run: Callable[[], None], warmup: int, iters: int) -> float:
        for _ in range(warmup):
            run()
        start = self._check(self.d.cuEventCreate(0), "cuEventCreate")
        end = self._check(self.d.cuEventCreate(0), "cuEventCreate")
        self._check(self.d.cuEventRecord(start, 0), "cuEventRecord")
        for _ in range(iters):
            run()
        self._check(self.d.cuEventRecord(end, 0), "cuEventRecord")
        self._check(self.d.cuEventSynchronize(end), "cuEventSynchronize")
        ms = self._check(self.d.cuEventElapsedTime(start, end), "cuEventElapsedTime")
        self.d.cuEventDestroy(start)
        self.d.cuEventDestroy(end)
        return float(ms) / iters


class _DeviceBuffer:
    def __init__(self, backend: _DriverBackend, nbytes: int):
        self.d = backend.d
        self.ptr = backend._check(backend.d.cuMemAlloc(nbytes), "cuMemAlloc")

    def __del__(self) -> None:
        try:
            self.d.cuMemFree(self.ptr)
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass


class _LibcudaBackend:
    """Launches through the CUDA driver library with ctypes (no Python CUDA package needed), on
    device 0's primary context and the default stream."""

    name = "libcuda"
    MAX_DYNAMIC_SHARED_SIZE_BYTES = 8          # CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES (cuda.h)

    def __init__(self) -> None:
        import ctypes

        self.c = ctypes
        try:
            self.lib = ctypes.CDLL("libcuda.so.1")
        except OSError:
            self.lib = ctypes.CDLL("libcuda.so")
        P, U, I, S = ctypes.c_void_p, ctypes.c_uint, ctypes.c_int, ctypes.c_size_t
        U64, PP = ctypes.c_uint64, ctypes.POINTER(ctypes.c_void_p)
        elapsed = "cuEventElapsedTime_v2" if hasattr(self.lib, "cuEventElapsedTime_v2") else "cuEventElapsedTime"
        signatures = {
            "cuInit": [U], "cuDeviceGet": [ctypes.POINTER(I), I], "cuDevicePrimaryCtxRetain": [PP, I],
            "cuCtxSetCurrent": [P], "cuModuleLoadData": [PP, P], "cuModuleGetFunction": [PP, P, ctypes.c_char_p],
            "cuFuncSetAttribute": [P, I, I], "cuMemAlloc_v2": [ctypes.POINTER(U64), S],
            "cuMemFree_v2": [U64], "cuMemcpyHtoD_v2": [U64, P, S], "cuMemcpyDtoH_v2": [P, U64, S],
            "cuLaunchKernel": [P, U, U, U, U, U, U, U, P, P, P], "cuEventCreate": [PP, U],
            "cuEventRecord": [P, P], "cuEventSynchronize": [P], elapsed: [ctypes.POINTER(ctypes.c_float), P, P],
            "cuEventDestroy_v2": [P], "cuGetErrorString": [I, ctypes.POINTER(ctypes.c_char_p)],
        }
        self.f = {}
        for fname, argtypes in signatures.items():
            fn = getattr(self.lib, fname)
            fn.argtypes, fn.restype = argtypes, I
            self.f[fname.replace("_v2", "")] = fn
        self._call("cuInit", 0)
        device = I()
        self._call("cuDeviceGet", ctypes.byref(device), 0)
        self._ctx = P()
        self._call("cuDevicePrimaryCtxRetain", ctypes.byref(self._ctx), device)
        self._call("cuCtxSetCurrent", self._ctx)
        self._keep: list[Any] = []

    def _call(self, fname: str, *args: Any) -> None:
        err = self.f[fname](*args)
        if err != 0:
            text = self.c.c_char_p()
            self.f["cuGetErrorString"](err, self.c.byref(text))
            raise KernelError(f"{fname} failed: {(text.value or b'unknown error').decode()} (CUresult {err})")

    def load(self, cubin_path: Path, cubin: bytes, entry: str) -> Any:
        image = self.c.create_string_buffer(cubin, len(cubin))
        module, func = self.c.c_void_p(), self.c.c_void_p()
        self._call("cuModuleLoadData", self.c.byref(module), image)
        self._keep.append((image, module))
        self._call("cuModuleGetFunction", self.c.byref(func), module, entry.encode())
        return func

    def set_max_dynamic_smem(self, func: Any, nbytes: int) -> None:
        self._call("cuFuncSetAttribute", func, self.MAX_DYNAMIC_SHARED_SIZE_BYTES, nbytes)

    def upload(self, data: np.ndarray) -> tuple[int, Any]:
        buf = _LibcudaBuffer(self, max(data.nbytes, 1))
        if data.nbytes:
            self._call("cuMemcpyHtoD", buf.ptr, data.ctypes.data, data.nbytes)
        return buf.ptr, buf

    def download(self, handle: Any, out: np.ndarray) -> None:
        if out.nbytes:
            self._call("cuMemcpyDtoH", out.ctypes.data, handle.ptr, out.nbytes)

    def launch(self, func: Any, grid: tuple[int, ...], block: tuple[int, ...], smem: int, args: list[Any]) -> None:
        holders = [np.array([a]) for a in args]           # each value in memory of its own C type
        params = (self.c.c_void_p * max(len(holders), 1))(*[h.ctypes.data for h in holders])
        self._call("cuLaunchKernel", func, *grid, *block, smem, None, params, None)

    def time_ms(self, run: Callable[[], None], warmup: int, iters: int) -> float:
        for _ in range(warmup):
            run()
        start, end, ms = self.c.c_void_p(), self.c.c_void_p(), self.c.c_float()
        self._call("cuEventCreate", self.c.byref(start), 0)
        self._call("cuEventCreate", self.c.byref(end), 0)
        self._call("cuEventRecord", start, None)
        for _ in range(iters):
            run()
        self._call("cuEventRecord", end, None)
        self._call("cuEventSynchronize", end)
        self._call("cuEventElapsedTime", self.c.byref(ms), start, end)
        self._call("cuEventDestroy", start)
        self._call("cuEventDestroy", end)
        return ms.value / iters


class _LibcudaBuffer:
    def __init__(self, backend: _LibcudaBackend, nbytes: int):
        self.backend = backend
        ptr = backend.c.c_uint64()
        backend._call("cuMemAlloc", backend.c.byref(ptr), nbytes)
        self.ptr = int(ptr.value)

    def __del__(self) -> None:
        try:
            self.backend.f["cuMemFree"](self.ptr)
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass
