"""`tilec`: build and run TileLang kernels with the tilelsp compiler.

    tilec build FILE [--kernel NAME] [--instantiate CALL] --target cpu|cuda [--arch sm_XX]
                --emit tir|lowered|llvm|cuda|ptx [-o DIR] [--no-verify]
    tilec run FILE --instantiate CALL [--scalar NAME=VALUE ...] [--check] [--seed N] [--no-verify]

Before tracing, the kernel is checked with the analyzer's rules that TileLang
enforces for the target (`compiler.verify`); `--no-verify` skips that.

With `--target cuda -o DIR` the build writes the CUDA artifact (`<kernel>.cu`, `<kernel>.cubin`,
`<kernel>.json`: launch metadata and ptxas resources, compiler/runtime/cuda.py's format) and prints the
resources; nvcc is needed for the cubin and for `--emit ptx`.

Errors print like tilelint's (`path:line:col: CODE message`). Exit status:
0 success, 1 a located problem in the kernel (or a failed --check),
2 usage error or internal failure.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Sequence

EXIT_OK, EXIT_FOUND, EXIT_USAGE = 0, 1, 2
EMITS = ("tir", "lowered", "llvm", "cuda", "ptx")


class UsageError(Exception):
    pass


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tilec", description="Compile and run TileLang kernels (CPU and CUDA back ends).")
    from analyzer.catalog import TILELANG_API_VERSION
    from tilelsp import __version__

    p.add_argument("--version", action="version", version=f"tilec {__version__} (TileLang API {TILELANG_API_VERSION})")
    sub = p.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="print or write the IR of a kernel")
    b.add_argument("file")
    b.add_argument("--kernel", help="kernel name (default: the only one, or the one in --instantiate)")
    b.add_argument("--instantiate", metavar="CALL", help="e.g. 'matmul(1024, 1024, 1024, 128, 128, 32)'")
    b.add_argument("--target", choices=("cpu", "cuda"), default="cpu")
    b.add_argument("--arch", default="sm_90", help="CUDA arch for --target cuda: sm_80, sm_86, sm_89, sm_90, sm_90a")
    b.add_argument("--emit", choices=EMITS, default="tir")
    b.add_argument("-o", "--output", metavar="DIR",
                   help="write <kernel>.<ext> into DIR instead of stdout (with --target cuda: also the artifact)")
    b.add_argument("--no-verify", action="store_true",
                   help="skip the check for kernels TileLang refuses on the target (the analyzer's error rules)")
    r = sub.add_parser("run", help="run a kernel on random inputs on the CPU")
    r.add_argument("file")
    r.add_argument("--instantiate", metavar="CALL", required=True)
    r.add_argument("--check", action="store_true", help="compare with the file's ref_program (NumPy)")
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--scalar", metavar="NAME=VALUE", action="append", default=[],
                   help="value of a scalar kernel parameter (`n: T.int32`); required for integer scalars, "
                        "float and bool scalars are random when not given")
    r.add_argument("--rtol", type=float, help="default: 1e-5 for float32, 1e-2 for float16, 3e-2 for bfloat16")
    r.add_argument("--atol", type=float)
    r.add_argument("--no-verify", action="store_true",
                   help="skip the check for kernels TileLang refuses on the CPU (the analyzer's error rules)")
    return p


def _request(loaded: Any, kernel: str | None, inst: str | None) -> str:
    if inst:
        return inst
    names = sorted(loaded.kernels)
    if kernel:
        if kernel not in loaded.kernels:
            raise UsageError(f"no kernel named '{kernel}' (kernels: {', '.join(names) or 'none'})")
        return kernel
    if len(names) != 1:
        raise UsageError(f"pass --kernel or --instantiate (kernels: {', '.join(names) or 'none'})")
    return names[0]


def _located(loaded: Any, err: Exception, name: str) -> Any:
    """A KernelError raised outside the tracer: place it at the kernel's definition."""
    import ast

    from .errors import located

    node = None
    for stmt in loaded.tree.body:
        if isinstance(stmt, ast.FunctionDef) and stmt.name == name.split("(")[0].strip():
            node = stmt
    return located(loaded.path, node, str(err))


def _load(path: str, target: str, verify: bool) -> Any:
    """compiler.load; a kernel that fails while the file's own module-level code builds it is checked
    first with the target's TileLang rules, so that TileLang's refusal is what is reported."""
    import compiler

    from .errors import KERNEL_ERROR, UNSUPPORTED, CompileError

    try:
        return compiler.load(path)
    except CompileError as err:
        if verify and err.diagnostic.code in (KERNEL_ERROR, UNSUPPORTED):
            from .verify import check_file

            check_file(str(Path(path).resolve()), target)
        raise


def _trace(loaded: Any, request: str, target: str = "cpu", verify: bool = True) -> Any:
    from .errors import KernelError, NotSupported
    from .loader import instantiate

    if verify:
        from .verify import check

        check(loaded, request, target)
    try:
        return instantiate(loaded, request)
    except NotSupported as err:
        raise _located(loaded, Exception(f"not supported yet: {err}"), request) from None
    except KernelError as err:
        raise _located(loaded, err, request) from None


def cmd_build(args: argparse.Namespace) -> int:

    if args.target == "cuda" or args.emit in ("cuda", "ptx"):
        return build_cuda(args)
    loaded = _load(args.file, "cpu", not args.no_verify)
    kdef = _trace(loaded, _request(loaded, args.kernel, args.instantiate), "cpu", not args.no_verify)
    if args.emit == "tir":
        text = kdef.script()
    else:

        from .pipeline import compile_cpu, lower
        from .runtime import to_module

        lowered = lower(to_module(kdef))
        if args.emit == "lowered":
            text = lowered.script()
        else:
            ex = compile_cpu(lowered)
            text = ex.mod.inspect_source("ll")
    if args.output:
        out = Path(args.output)
        out.mkdir(parents=True, exist_ok=True)
        ext = {"tir": "tir.py", "lowered": "lowered.py", "llvm": "ll"}[args.emit]
        path = out / f"{kdef.name}.{ext}"
        path.write_text(text, encoding="utf-8")
        print(path)
    else:
        print(text)
    return EXIT_OK


def build_cuda(args: argparse.Namespace) -> int:
    from .cuda_toolchain import ARCHES, CudaCompileError
    from .errors import CompileError, NotSupported

    if args.emit == "llvm":
        raise UsageError("--emit llvm is the CPU target's; for CUDA emit tir, lowered, cuda or ptx")
    if args.arch not in ARCHES:
        raise UsageError(f"--arch {args.arch}: the CUDA back end builds for {', '.join(ARCHES)}")
    loaded = _load(args.file, "cuda", not args.no_verify)
    request = _request(loaded, args.kernel, args.instantiate)
    kdef = _trace(loaded, request, "cuda", not args.no_verify)
    try:
        return _build_cuda(args, kdef)
    except NotSupported as err:
        raise _located(loaded, Exception(f"not supported yet: {err}"), request) from None
    except CudaCompileError as err:
        located = err.to_compile_error()
        raise located if isinstance(located, CompileError) else _located(loaded, err, request) from None


def _build_cuda(args: argparse.Namespace, kdef: Any) -> int:
    from .cuda_toolchain import find_nvcc

    if (args.output or args.emit == "ptx") and find_nvcc() is None:
        raise UsageError("nvcc was not found (PATH, $CUDA_HOME/bin, /usr/local/cuda/bin): it is needed for "
                         "the cubin (-o) and for --emit ptx; --emit tir|lowered|cuda work without it")
    from .cuda_codegen import build_artifact, generate_kernel
    from .pipeline import lower
    from .runtime import to_module

    if args.emit == "tir":
        text = kdef.script()
    elif args.emit == "lowered":
        text = lower(to_module(kdef), "cuda").script()
    elif args.emit == "cuda":
        text = generate_kernel(kdef, args.arch).source
    else:
        from .cuda_toolchain import ptx

        build = generate_kernel(kdef, args.arch)
        text = ptx(build.source, args.arch, name=kdef.name, line_map=build.line_map,
                   kernel_location=build.kernel_location)
    if not args.output:
        print(text)
        return EXIT_OK
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    result = build_artifact(kdef, args.arch, out, kdef.name)
    (out / f"{kdef.name}.cu").write_text(result.build.source, encoding="utf-8")
    if args.emit != "cuda":
        ext = {"tir": "tir.py", "lowered": "lowered.py", "ptx": "ptx"}[args.emit]
        (out / f"{kdef.name}.{ext}").write_text(text, encoding="utf-8")
    r, b = result.resources, result.build
    print(result.json_path)
    print(f"{kdef.name} ({args.arch}): grid {b.grid}, block {b.block[0]}, dynamic shared memory "
          f"{b.dynamic_smem} B, static shared memory {r.shared_bytes} B, {r.registers} registers, spills "
          f"{r.spill_store_bytes}/{r.spill_load_bytes} B (store/load), nvcc {result.cubin.seconds:.2f} s")
    return EXIT_OK


def _random(shape: tuple[int, ...], dtype: str, rng: Any) -> Any:
    import numpy as np

    from .runtime import _np_dtype

    if dtype.startswith(("int", "uint")):
        info = np.iinfo(dtype)
        return rng.integers(max(info.min, -8), min(info.max, 8), size=shape).astype(dtype)
    return rng.standard_normal(shape).astype(np.float32).astype(_np_dtype(dtype))


def _scalar_values(given: list[str], specs: list[Any], scalars: set[int], rng: Any) -> dict[int, Any]:
    """Values of the scalar parameters: `--scalar NAME=VALUE`, else random for float and bool scalars; an
    integer scalar (usually a size or an offset) must be given."""
    import ast

    by_name = {specs[k][0]: k for k in scalars}
    values: dict[int, Any] = {}
    for item in given:
        name, sep, text = item.partition("=")
        if not sep or name.strip() not in by_name:
            raise UsageError(f"--scalar {item!r}: expected NAME=VALUE with NAME one of the kernel's scalar "
                             f"parameters ({', '.join(sorted(by_name)) or 'none'})")
        try:
            values[by_name[name.strip()]] = ast.literal_eval(text.strip())
        except (ValueError, SyntaxError):
            raise UsageError(f"--scalar {item!r}: VALUE must be a number") from None
    for k in sorted(scalars - values.keys()):
        name, _, dtype = specs[k]
        if dtype.startswith(("int", "uint")):
            raise UsageError(f"the kernel has the integer scalar parameter '{name}' ({dtype}): pass --scalar {name}=N")
        values[k] = bool(rng.integers(0, 2)) if dtype == "bool" else float(rng.standard_normal())
    return values


def cmd_run(args: argparse.Namespace) -> int:
    import numpy as np


    from .loader import scope
    from .runtime import build

    loaded = _load(args.file, "cpu", not args.no_verify)
    kdef = _trace(loaded, args.instantiate, "cpu", not args.no_verify)
    runner = build(kdef)
    rng = np.random.default_rng(args.seed)
    specs = runner.param_specs()
    dynamic = sorted({str(d) for _, shape, _ in specs for d in shape if not isinstance(d, int)})
    if dynamic:
        raise UsageError(f"{kdef.name} has T.dynamic sizes ({', '.join(dynamic)}): tilec run cannot pick them; "
                         "call the kernel from Python with arrays")
    outs = set(runner.out_idx)
    scalars = _scalar_values(args.scalar, specs, runner.scalars, rng)
    inputs = [scalars[k] if k in runner.scalars else _random(s, d, rng)
              for k, (_, s, d) in enumerate(specs) if k not in outs]
    import time

    t0 = time.perf_counter()
    result = runner(*inputs)
    elapsed = time.perf_counter() - t0
    results = [] if result is None else (result if isinstance(result, list) else [result])
    if not outs:  # in-place kernel: every parameter is returned as it ends
        results = inputs
    print(f"{kdef.name}: ran in {elapsed * 1e3:.2f} ms on the CPU; " + ", ".join(
        f"{n}={scalars[k]!r} {d}" if k in runner.scalars else f"{n}{list(s)} {d}" for k, (n, s, d) in enumerate(specs)))
    if not args.check:
        return EXIT_OK
    ref = loaded.namespace.get("ref_program")
    if not callable(ref):
        raise UsageError(f"--check needs a ref_program(...) function in {args.file}")
    given = [inputs[k] for k in range(len(inputs))]
    with scope():
        expected = ref(*[a.astype(np.float32) if isinstance(a, np.ndarray) and (
            a.dtype.kind == "f" or a.dtype.name == "bfloat16") else a for a in given])
    expected_list = list(expected) if isinstance(expected, (list, tuple)) else [expected]
    if not outs:
        expected_list = expected_list[-len(expected_list):]
        results = results[-len(expected_list):]
    ok = True
    for k, (got, want) in enumerate(zip(results, expected_list)):
        got32, want32 = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
        dtype = str(np.asarray(got).dtype)
        rtol = args.rtol if args.rtol is not None else {"float16": 1e-2, "bfloat16": 3e-2}.get(dtype, 1e-5)
        atol = args.atol if args.atol is not None else rtol
        close = np.allclose(got32, want32, rtol=rtol, atol=atol)
        err = float(np.max(np.abs(got32 - want32))) if got32.size else 0.0
        print(f"output {k}: max abs error {err:.3g} (rtol={rtol}, atol={atol}): {'ok' if close else 'MISMATCH'}")
        ok &= close
    return EXIT_OK if ok else EXIT_FOUND


def main(argv: Sequence[str] | None = None) -> int:
    from .errors import CompileError

    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0) and EXIT_USAGE
    try:
        return cmd_build(args) if args.command == "build" else cmd_run(args)
    except CompileError as err:
        print(err.render())
        return EXIT_FOUND
    except UsageError as err:
        print(f"tilec: {err}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as err:  # noqa: BLE001 - an internal failure is exit 2 with one line, not a traceback
        print(f"tilec: internal error: {type(err).__name__}: {str(err).strip().splitlines()[-1] if str(err).strip() else ''}",
              file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
