"""`compiler_corpus.py --run-main`: run each TileLang example's own driver on the CPU (opt-in measurement).

For each file that loads through `compiler.load`, a forked child (one per file, killed after
`--timeout` seconds) runs the file's own driver with `tilelang` mapped to the compiler:

- the body of its `if __name__ == "__main__":` block, with `sys.argv = [file]` (argparse defaults),
  executed in the loaded module's namespace; without such a block, `main()` when every parameter has
  a default, else the one `test_*`/`run_*` function whose parameters all have defaults;
- `tilelang.jit`/`tilelang.compile` kernels build and run through the compiler's CPU back end;
  torch tensors passed to them are handed over as NumPy views of the same memory (outputs written in
  place; returned outputs become torch tensors);
- torch is shimmed for the run only: `device="cuda"`/`cuda:N`/an integer device, `.cuda()` and
  `.to("cuda")` give CPU tensors; `torch.cuda.synchronize/empty_cache/manual_seed/manual_seed_all/
  set_device/init` are no-ops and `torch.cuda.current_device()` is 0. What cannot be mapped honestly
  raises `NeedsGPU` ("needs a GPU"): `torch.cuda.Event` timings, CUDA graphs, streams, device
  properties/capability/name, nvtx/profiler ranges, memory statistics;
- `kernel.get_profiler(...)` returns a stand-in whose `assert_allclose` follows TileLang 0.1.15's
  (`tilelang/profiler/__init__.py`: inputs from the tensor supply type, the reference first, then the
  kernel, `torch_assert_close` per output with max_mismatched_ratio 0.01); its `do_bench` raises
  "not supported yet: tilelang.profiler.do_bench", as the compiler's placeholder does;
- every check the file makes is counted: `torch.testing.assert_close`, `torch.allclose`,
  `numpy.testing.assert_allclose`, `tilelang.testing.torch_assert_close`, the profiler's
  `assert_allclose`; a failing check records its greatest absolute difference.

Outcomes: "matched" (the run finished and every check passed; or, with no check call, it printed a
pass message), "checked, then stopped at X" (checks passed, then do_bench or a GPU-only timing
stopped the run), "MISMATCH" (a check failed: a compiler bug to list), "needs a GPU", "too large for
the CPU" (a torch allocation over 2^27 elements or a kernel run over 2^26 elements), "timeout",
"error" (any other exception, with its message), "ran, no check".
"""

from __future__ import annotations

import ast
import inspect
import io
import json
import os
import re
import signal
import sys
import time
import traceback
from pathlib import Path

TORCH_LIMIT = 1 << 27  # elements in one torch allocation
KERNEL_LIMIT = 1 << 26  # elements over all of a kernel's arrays
PASS_WORDS = ("all checks pass", "passed", "check pass", "test pass", "correct", "✅", "success")


class NeedsGPU(Exception):
    pass


class TooLarge(Exception):
    pass


class _Timeout(Exception):
    pass


# --------------------------------------------------------------------------- torch on the CPU


def _is_cuda(d) -> bool:
    if d is None:
        return False
    if isinstance(d, int) and not isinstance(d, bool):
        return True  # an integer device is a CUDA ordinal in torch
    return "cuda" in str(d)


class TorchOnCPU:
    """Scoped shim: CUDA device requests are served on the CPU; GPU-only facilities raise NeedsGPU."""

    FACTORIES = ("empty", "zeros", "ones", "full", "randn", "rand", "randint", "randperm", "arange", "tensor",
                 "empty_like", "zeros_like", "ones_like", "full_like", "randn_like", "rand_like", "randint_like",
                 "linspace", "eye", "as_tensor", "empty_strided", "normal", "from_numpy")
    NOOPS = ("synchronize", "empty_cache", "manual_seed", "manual_seed_all", "set_device", "init", "reset_peak_memory_stats")
    GPU_ONLY = {"Event": "torch.cuda.Event (GPU timing)", "Stream": "torch.cuda.Stream", "stream": "torch.cuda.stream",
                "default_stream": "torch.cuda.default_stream", "current_stream": "torch.cuda.current_stream",
                "CUDAGraph": "CUDA graphs", "graph": "CUDA graphs", "get_device_properties":
                "torch.cuda.get_device_properties", "get_device_capability": "torch.cuda.get_device_capability",
                "get_device_name": "torch.cuda.get_device_name", "max_memory_allocated":
                "torch.cuda.max_memory_allocated", "memory_allocated": "torch.cuda.memory_allocated",
                "device": "torch.cuda.device"}

    def __enter__(self):
        import torch

        self.torch = torch
        self.saved = []

        def setp(owner, name, value):
            self.saved.append((owner, name, owner.__dict__.get(name, getattr(owner, name, None))
                               if isinstance(owner, type) else getattr(owner, name, None)))
            setattr(owner, name, value)

        def fix(kw):
            if _is_cuda(kw.get("device")):
                kw["device"] = "cpu"
            return kw

        def check_size(a, kw):
            size = kw.get("size")
            if size is None:
                dims = a[0] if a and isinstance(a[0], (tuple, list, torch.Size)) else a
                if all(isinstance(d, int) and not isinstance(d, bool) for d in dims) and dims:
                    size = dims
            if size is not None:
                n = 1
                for d in size:
                    n *= int(d)
                if n > TORCH_LIMIT:
                    raise TooLarge(f"torch allocation of {n} elements {tuple(size)}")

        for name in self.FACTORIES:
            f = getattr(torch, name, None)
            if f is None:
                continue
            sized = name in ("empty", "zeros", "ones", "randn", "rand")

            def wrapped(*a, __f=f, __sized=sized, **kw):
                if __sized:
                    check_size(a, kw)
                elif "size" in kw:
                    check_size((), kw)
                return __f(*a, **fix(kw))

            setp(torch, name, wrapped)
        T = torch.Tensor
        to = T.to

        def to_cpu(t, *a, **kw):
            a = tuple("cpu" if _is_cuda(x) and isinstance(x, (str, torch.device, int)) and not isinstance(x, bool)
                      else x for x in a)
            return to(t, *a, **fix(kw))

        setp(T, "to", to_cpu)
        setp(T, "cuda", lambda t, *a, **kw: t)
        for name in ("new_empty", "new_zeros", "new_ones", "new_full", "new_tensor"):
            g = getattr(T, name)
            setp(T, name, (lambda g: lambda t, *a, **kw: g(t, *a, **fix(kw)))(g))
        M = torch.nn.Module
        mto = M.to
        setp(M, "cuda", lambda m, *a, **kw: m)
        setp(M, "to", lambda m, *a, **kw: mto(m, *("cpu" if _is_cuda(x) and isinstance(x, (str, torch.device))
                                                    else x for x in a), **fix(kw)))
        sdd = torch.set_default_device
        setp(torch, "set_default_device", lambda d: sdd("cpu" if _is_cuda(d) else d))
        cuda = torch.cuda
        for name in self.NOOPS:
            setp(cuda, name, lambda *a, **kw: None)
        setp(cuda, "current_device", lambda: 0)
        for name, what in self.GPU_ONLY.items():
            def gpu_only(*a, __what=what, **kw):
                raise NeedsGPU(__what)

            setp(cuda, name, gpu_only)
        for sub in ("nvtx", "profiler"):
            mod = getattr(cuda, sub, None)
            if mod is not None:
                for name in [n for n in dir(mod) if not n.startswith("_") and callable(getattr(mod, n))]:
                    setp(mod, name, (lambda w: lambda *a, **kw: (_ for _ in ()).throw(NeedsGPU(w)))(
                        f"torch.cuda.{sub}.{name}"))
        return self

    def __exit__(self, *exc):
        for owner, name, value in reversed(self.saved):
            setattr(owner, name, value)


# --------------------------------------------------------------------------- kernels on torch tensors


def _torch_to_np(x):
    import numpy as np
    import torch

    if not isinstance(x, torch.Tensor):
        return x
    t = x.detach()
    if t.device.type != "cpu":
        raise NeedsGPU(f"a tensor on {t.device}")
    if t.dtype == torch.bfloat16:
        import ml_dtypes

        return t.view(torch.int16).numpy().view(ml_dtypes.bfloat16)
    if "float8" in str(t.dtype):
        raise NeedsGPU(f"a {t.dtype} tensor (no NumPy view here)")
    a = t.numpy()
    return a if isinstance(a, np.ndarray) else np.asarray(a)


def _np_to_torch(a):
    import numpy as np
    import torch

    if isinstance(a, (list, tuple)):
        return type(a)(_np_to_torch(x) for x in a)
    if not isinstance(a, np.ndarray):
        return a
    if a.dtype.name == "bfloat16":
        return torch.from_numpy(a.view(np.int16)).view(torch.bfloat16)
    return torch.from_numpy(a)


class Record:
    def __init__(self):
        self.checks_passed = 0
        self.checks_failed: list[str] = []
        self.builds = 0
        self.runs = 0
        self.sizes: list[str] = []


def _maxerr(a, b) -> str:
    try:
        import numpy as np

        x = np.asarray(_as64(a), dtype=np.float64)
        y = np.asarray(_as64(b), dtype=np.float64)
        if x.shape != y.shape:
            return f"shapes {x.shape} vs {y.shape}"
        d = np.abs(x - y)
        bad = ~np.isclose(x, y, rtol=1e-2, atol=1e-2, equal_nan=True)
        return f"max abs err {float(np.nanmax(d)) if d.size else 0:.4g} ({int(bad.sum())}/{d.size} beyond 1e-2)"
    except Exception as err:  # noqa: BLE001
        return f"(max error not computed: {err})"


def _as64(x):
    import torch

    if isinstance(x, torch.Tensor):
        t = x.detach().cpu()
        return t.double().numpy() if (t.dtype.is_floating_point or t.dtype == torch.bool) else t.numpy()
    return x


class KernelsOnTorch:
    """Scoped: compiled kernels take torch CPU tensors (NumPy views) and count builds/runs; checks are counted."""

    def __init__(self, rec: Record):
        self.rec = rec

    def __enter__(self):
        import numpy as np
        import torch

        from compiler import runtime
        from compiler.frontend import hostlib, jit

        rec = self.rec
        self.saved = []

        def setp(owner, name, value):
            self.saved.append((owner, name, getattr(owner, name, None)))
            setattr(owner, name, value)

        build = runtime.build

        def counted_build(kdef):
            r = build(kdef)
            rec.builds += 1
            return r

        setp(runtime, "build", counted_build)
        run = runtime.Runner.__call__

        def counted_run(self, *arrays):
            total = sum(int(a.size) for a in arrays if isinstance(a, np.ndarray))
            if total > KERNEL_LIMIT:
                raise TooLarge(f"kernel {self.kdef.name} on {total} elements")
            out = run(self, *arrays)
            rec.runs += 1
            return out

        setp(runtime.Runner, "__call__", counted_run)
        for cls in (jit.CompiledKernel, jit.JitFunction):
            call = cls.__call__

            def on_torch(self, *args, __call=call, **kwargs):
                args = tuple(_torch_to_np(a) for a in args)
                kwargs = {k: _torch_to_np(v) for k, v in kwargs.items()}
                return _np_to_torch(__call(self, *args, **kwargs))

            setp(cls, "__call__", on_torch)
        setp(jit.CompiledKernel, "get_profiler", lambda self, tensor_supply_type=None: Profiler(self, tensor_supply_type))
        # checks
        def counted(check, label):
            """`check`, raising AssertionError on a mismatch, with its verdict recorded."""

            def wrapper(a, b, *args, **kwargs):
                try:
                    out = check(a, b, *args, **kwargs)
                except AssertionError:
                    rec.checks_failed.append(f"{label}: " + _maxerr(a, b))
                    raise
                rec.checks_passed += 1
                return out

            return wrapper

        setp(hostlib, "torch_assert_close", counted(hostlib.torch_assert_close, "torch_assert_close"))
        setp(torch.testing, "assert_close", counted(torch.testing.assert_close, "torch.testing.assert_close"))
        allclose = torch.allclose

        def counted_allclose(a, b, *args, **kwargs):
            ok = allclose(a, b, *args, **kwargs)
            if ok:
                rec.checks_passed += 1
            else:
                rec.checks_failed.append("torch.allclose False: " + _maxerr(a, b))
            return ok

        setp(torch, "allclose", counted_allclose)
        setp(torch.Tensor, "allclose", lambda a, b, *x, **k: counted_allclose(a, b, *x, **k))
        setp(np.testing, "assert_allclose", counted(np.testing.assert_allclose, "numpy.testing.assert_allclose"))
        return self

    def __exit__(self, *exc):
        for owner, name, value in reversed(self.saved):
            setattr(owner, name, value)


class Profiler:
    """Stand-in for `kernel.get_profiler()`: `assert_allclose` as TileLang 0.1.15 has it; no timing."""

    def __init__(self, kernel, supply=None):
        self.kernel = kernel
        self.supply = getattr(supply, "name", supply) or "Auto"

    def _inputs(self):
        import torch

        from compiler.runtime import _np_dtype  # noqa: F401

        runner = self.kernel.runner
        specs = runner.param_specs()
        outs = set(runner.out_idx)
        ins = []
        for k, (name, shape, dtype) in enumerate(specs):
            if k in outs:
                continue
            if k in getattr(runner, "scalars", ()):  # TileLang's tensor supply refuses a parameter without a shape
                raise ValueError(f"profiler inputs: scalar parameter {name} has no shape (TileLang's tensor supply "
                                 "refuses it too)")
            if any(not isinstance(d, int) for d in shape):
                raise NeedsGPU(f"profiler inputs for T.dynamic parameter {name}")
            tdt = getattr(torch, dtype)
            floating = dtype in ("float16", "float32", "bfloat16", "float64")
            s = self.supply
            if dtype.startswith("uint"):
                t = torch.randint(0, 3, shape, dtype=tdt)
            elif dtype == "bool":
                t = torch.randint(0, 2, shape, dtype=tdt)
            elif s in ("Auto", "Uniform") and floating:
                t = torch.empty(*shape, dtype=tdt).uniform_(-1.0, 1.0)
            elif s == "Normal" and floating:
                t = torch.empty(*shape, dtype=tdt).normal_(-1.0, 1.0)
            elif s == "Randn" and floating:
                t = torch.randn(*shape).to(tdt)
            elif s == "Zero":
                t = torch.zeros(*shape, dtype=tdt)
            elif s == "One":
                t = torch.ones(*shape, dtype=tdt)
            elif dtype == "int8" and s in ("Uniform", "Normal"):
                t = torch.ones(*shape, dtype=tdt)
            else:
                t = torch.randint(-2, 3, shape, dtype=tdt)
            ins.append(t)
        return ins

    def assert_allclose(self, reference_program, input_tensors=None, atol=1e-2, rtol=1e-2, max_mismatched_ratio=0.01):
        from compiler.frontend import hostlib

        ins = self._inputs() if input_tensors is None else input_tensors
        ref = reference_program(*ins)
        lib = self.kernel(*ins)
        lib = [lib] if not isinstance(lib, (list, tuple)) else list(lib) if lib is not None else []
        ref = [ref] if not isinstance(ref, (list, tuple)) else list(ref) if ref is not None else []
        assert len(lib) == len(ref), "len(lib_outs) not equals to len(ref_outs) !"
        for a, b in zip(lib, ref):
            if a is not None and b is not None:
                hostlib.torch_assert_close(a, b, rtol=rtol, atol=atol, max_mismatched_ratio=max_mismatched_ratio,
                                           base_name="tilelang", ref_name="ref")

    def do_bench(self, *args, **kwargs):
        from compiler.errors import NotSupported

        raise NotSupported("tilelang.profiler.do_bench")

    def run_once(self, func=None):
        ins = self._inputs()
        return (func or self.kernel)(*ins)


def _supply_enum():
    import enum

    return enum.Enum("TensorSupplyType", "Integer Uniform Normal Randn Zero One Auto")


# --------------------------------------------------------------------------- the driver


def find_driver(loaded) -> tuple[str, object] | None:
    """('__main__ block', code) | ('main()', fn) | ('test_x()', fn)."""
    for node in loaded.tree.body:
        if (isinstance(node, ast.If) and isinstance(node.test, ast.Compare) and isinstance(node.test.left, ast.Name)
                and node.test.left.id == "__name__"):
            if ast.unparse(node.body[-1]).strip() in ("tilelang.testing.main()", "pytest.main([__file__])"):
                break  # a pytest runner: run the file's test functions instead (below)
            mod = ast.Module(body=node.body, type_ignores=[])
            return "__main__ block", compile(mod, loaded.path, "exec", dont_inherit=True)
    ns = loaded.namespace

    def all_default(fn):
        try:
            return all(p.default is not p.empty or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
                       for p in inspect.signature(fn).parameters.values())
        except (TypeError, ValueError):
            return False

    if callable(ns.get("main")) and all_default(ns["main"]):
        return "main()", ns["main"]
    cands = [n for n, v in ns.items() if n.startswith(("test_", "run_")) and inspect.isfunction(v)
             and v.__module__ == ns["__name__"] and all_default(v)]
    if cands:
        def run_all_tests(fns=tuple(ns[c] for c in cands)):
            for fn in fns:
                fn()

        return (f"{cands[0]}()" if len(cands) == 1 else f"{len(cands)} test functions ({', '.join(cands)[:80]})"), \
            (ns[cands[0]] if len(cands) == 1 else run_all_tests)
    return None


GPU_WORDS = ("CUDA", "cuda", "NVIDIA", "GPU", "nvcc", "cublas", "cuBLAS")


def classify(rec: Record, err: BaseException | None, out_text: str) -> tuple[str, str]:
    from compiler.errors import CompileError, NotSupported

    checked = rec.checks_passed > 0 and not rec.checks_failed
    if err is None:
        if rec.checks_failed:
            return "MISMATCH", "; ".join(rec.checks_failed)[:400]
        if checked:
            return "matched", f"{rec.checks_passed} check(s) passed"
        low = out_text.lower()
        if any(w in low for w in PASS_WORDS) and "fail" not in low and "mismatch" not in low:
            line = next(ln for ln in out_text.splitlines() if any(w in ln.lower() for w in PASS_WORDS))
            return "matched", f"printed {line.strip()[:80]!r}"
        return "ran, no check", "finished without a check call or a pass message"
    msg = err.diagnostic.message if isinstance(err, CompileError) else f"{type(err).__name__}: {err}"
    msg = msg.replace("\n", " ")[:300]
    if rec.checks_failed:
        return "MISMATCH", "; ".join(rec.checks_failed)[:400]
    if isinstance(err, _Timeout):
        return ("checked, then stopped at timeout" if checked else "timeout"), msg
    if isinstance(err, TooLarge):
        return ("checked, then stopped: too large" if checked else "too large for the CPU"), str(err)
    stop = None
    if "do_bench" in msg or "tilelang.profiler" in msg:
        stop = "do_bench"
    elif isinstance(err, NeedsGPU):
        stop = str(err)
    if stop and checked:
        return f"checked, then stopped at {stop}", msg
    if isinstance(err, NeedsGPU):
        return "needs a GPU", msg
    if isinstance(err, (NotSupported, CompileError)) or "not supported yet" in msg:
        return "not supported yet", msg
    if isinstance(err, AssertionError):
        return "MISMATCH", msg or "AssertionError without a message"
    if any(w in msg for w in GPU_WORDS):
        return "needs a GPU", msg
    return "error", msg


def missing_optional_import(res: dict, source: str) -> dict:
    """A NameError for a name the file imports inside `try: ... except ImportError` (e.g. its reference from
    `fla`, flash-linear-attention, which needs triton) is that missing package, not a compiler error."""
    m = re.match(r"NameError: name '(\w+)' is not defined", str(res.get("detail", "")))
    if res.get("outcome") == "error" and m:
        imp = re.search(r"^\s*from ([\w.]+) import [^\n]*\b" + m.group(1) + r"\b", source, re.M)
        if imp:
            res["outcome"] = "not supported yet"
            res["detail"] = f"import {imp.group(1).split('.')[0]} (optional import failed; {m.group(1)} undefined)"
    return res


def run_one(path: Path, timeout: int) -> dict:
    """In a forked child: load, run the driver, classify. Returns the result dict."""
    import compiler
    from compiler.errors import CompileError
    from compiler.loader import _script_dir, scope

    rec = Record()
    res = {"file": str(path)}
    buf = io.StringIO()
    t0 = time.time()
    signal.signal(signal.SIGALRM, lambda *a: (_ for _ in ()).throw(_Timeout(f"over {timeout} s")))
    signal.alarm(timeout)
    err: BaseException | None = None
    old_out, old_argv = sys.stdout, sys.argv
    try:
        with TorchOnCPU(), KernelsOnTorch(rec):
            try:
                loaded = compiler.load(path)
            except CompileError as e:
                res.update(outcome="load failed", detail=e.diagnostic.message[:300])
                return res
            drv = find_driver(loaded)
            if drv is None:
                res.update(outcome="no driver", detail="no __main__ block, main() or test_*/run_* without "
                                                       "required parameters")
                return res
            res["driver"] = drv[0]
            sys.argv = [str(path)]
            sys.stdout = buf
            try:
                with scope(), _script_dir(path.parent):
                    if drv[0] == "__main__ block":
                        exec(drv[1], loaded.namespace)  # noqa: S102 - the file's own driver
                    else:
                        drv[1]()
            except SystemExit as e:
                if e.code not in (None, 0):
                    err = e
            except BaseException as e:  # noqa: BLE001
                err = e
                res["traceback"] = "".join(traceback.format_exception(e)[-6:])[-1500:]
    finally:
        signal.alarm(0)
        sys.stdout, sys.argv = old_out, old_argv
    out_text = buf.getvalue()
    outcome, detail = classify(rec, err, out_text)
    res.update(outcome=outcome, detail=detail, builds=rec.builds, runs=rec.runs, checks_passed=rec.checks_passed,
               checks_failed=rec.checks_failed, seconds=round(time.time() - t0, 1), stdout_tail=out_text[-600:])
    return missing_optional_import(res, path.read_text(errors="replace"))


def run_all(corpus: str, timeout: int, only: list[str] | None = None, log=None) -> list[dict]:
    """Fork one child per file (torch/TVM/compiler imported once in the parent)."""
    import numpy  # noqa: F401
    import torch

    import compiler  # noqa: F401
    import compiler.frontend.jit  # noqa: F401
    import compiler.runtime  # noqa: F401
    from compiler import loader
    from compiler.frontend import hostlib

    torch.set_num_threads(2)
    # `tilelang.TensorSupplyType` / `tilelang.utils.tensor.TensorSupplyType` for get_profiler(...)
    build = loader._build_modules
    supply = _supply_enum()

    def build_with_supply():
        mods = build()
        mods["tilelang"].TensorSupplyType = supply
        mods["tilelang.utils.tensor"].TensorSupplyType = supply
        return mods

    loader._build_modules = build_with_supply
    del hostlib
    files = sorted(p for p in Path(corpus).rglob("*.py") if "tilelang" in p.read_text(errors="replace"))
    if only:
        files = [p for p in files if any(str(p.relative_to(corpus)).startswith(o) for o in only)]
    results = []
    for p in files:
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            try:
                res = run_one(p, timeout)
            except BaseException as e:  # noqa: BLE001
                res = {"file": str(p), "outcome": "error", "detail": f"harness: {type(e).__name__}: {e}"[:300]}
            res["file"] = str(p.relative_to(corpus))
            with os.fdopen(w, "w") as f:
                f.write(json.dumps(res, default=str))
            os._exit(0)
        os.close(w)
        deadline = time.time() + timeout + 5
        chunks = []
        with os.fdopen(r) as f:
            import select

            while True:
                left = deadline - time.time()
                if left <= 0:
                    break
                ready, _, _ = select.select([f], [], [], left)
                if not ready:
                    break
                data = f.read()
                chunks.append(data)
                break
        try:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done == 0:
                time.sleep(1)
                done, status = os.waitpid(pid, os.WNOHANG)
            if done == 0:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
        except ChildProcessError:
            pass
        text = "".join(chunks)
        try:
            res = json.loads(text)
        except ValueError:
            res = {"file": str(p.relative_to(corpus)), "outcome": "timeout" if not text else "error",
                   "detail": f"the child gave no result (killed after {timeout + 5} s or crashed)"}
        results.append(res)
        if log:
            log(res)
    return results
