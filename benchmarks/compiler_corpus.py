"""How much of TileLang's own examples the compiler handles (opt-in; not part of the test run).

    python benchmarks/compiler_corpus.py /work/corpus/examples [--json OUT] [--markdown OUT]
        [--run-main [--timeout 45] [--only DIR/ ...]] [--main-only]

`--run-main` also runs each file's own driver (its `__main__` block, `main()` or `test_*`) on the CPU
in a forked child with CUDA devices mapped to the CPU, and records whether the file's own checks pass
(benchmarks/corpus_main.py describes the rules).

For each .py file: does `compiler.load` run it unchanged (TileLang absent,
`tilelang` mapped to the compiler)? For each kernel site the analyzer finds
with a complete instantiation (call sites, autotune configs, defaults), does
it trace and build for the CPU, does it run on random inputs, and does its
output match the file's own reference? What blocks the rest, by name?

Run it where torch is importable (the references are torch code) but TileLang
is not: `/work/cc-venv` in docs/compiler.md ("Measuring TileLang's examples").

Per kernel site the analyzer's instantiations are tried in order and the
first complete one is used (the file's own sizes: call sites, autotune
configs, defaults). An instantiation in which the analyzer wrote a
parameter's name (a symbol it has no value for, listed in its `unbound`)
instead of a value is not complete (`max_seqlen_pad='max_seqlen_pad'`); a
site with only such instantiations counts as "no complete instantiation". Inputs are random (normal for floats, integers in
[-8, 8)). The reference is the file's `ref_program` (or the one function
named `ref_*`/`*_ref*`/`reference*` that matches the kernel), called as
TileLang's profiler calls it: with the kernel's input tensors as CPU torch
tensors, in the kernel's dtypes. Without `out_idx` the reference's arity says
how many leading parameters are inputs; the rest are outputs. A reference
that fails on the CPU is called once more with `device="cuda"` /
`.cuda()` redirected to the CPU (counted); if it still fails it "needs a GPU"
(or is counted as failing, with its message). Each step gets an alarm;
module-level code runs (`if __name__ == "__main__"` blocks do not).
"""

from __future__ import annotations

import argparse
import ast
import collections
import inspect
import json
import re
import signal
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

_BLOCK = re.compile(r"not supported yet: (T\.\w+|import [\w.]+|tilelang\.[\w.]+|[^:(]+)")


class _Timeout(Exception):
    pass


def _alarm(signum, frame):  # noqa: ARG001
    raise _Timeout()


def blocker(message: str) -> str:
    m = _BLOCK.search(message)
    if m:
        return m.group(1).strip()
    if "No module named" in message:
        return "import " + message.split("No module named", 1)[1].strip().strip("'\"").split("'")[0]
    return message.split(":")[0][:60]


INCOMPLETE = re.compile(r"missing \d+ required|missing values for|unexpected keyword|invalid literal for int|"
                        r"is not bound: pass")
MAX_ELEMENTS = 1 << 25  # a CPU run over more elements than this (all tensors) is not attempted
TOL = {"float16": (1e-2, 1e-2), "bfloat16": (3e-2, 3e-2), "float32": (1e-4, 1e-4), "float64": (1e-8, 1e-8)}


def unresolved_parameters(inst: dict, unbound: list[str]) -> list[str]:
    """Parameters whose instantiation value is the analyzer's symbol for a value it could not compute (it
    writes the name, `max_seqlen_pad='max_seqlen_pad'`, or an expression over unbound names), not a value."""
    names = [re.compile(rf"\b{re.escape(u)}\b") for u in unbound]
    return [key for key, v in inst.items() if isinstance(v, str) and (key in unbound or any(n.search(v) for n in names))]


def ref_candidates(ns: dict, site: str, n_sites: int) -> tuple[str, object] | None:
    names = [n for n, v in ns.items() if callable(v) and getattr(v, "__module__", None) == ns["__name__"]
             and (n == "ref_program" or n.startswith("ref_") or "_ref" in n or n.startswith("reference"))]
    for n in names:  # a reference named after the kernel
        if site in n:
            return n, ns[n]
    if n_sites == 1:
        if "ref_program" in names:
            return "ref_program", ns["ref_program"]
        if len(names) == 1:
            return names[0], ns[names[0]]
    return None


class redirect_cuda:
    """While active, torch factory calls with device="cuda"/"cuda:N" and `.cuda()`/`.to("cuda")` stay on the CPU."""

    FACTORIES = ("empty", "zeros", "ones", "full", "randn", "rand", "randint", "arange", "tensor", "empty_like",
                 "zeros_like", "ones_like", "full_like", "randn_like", "rand_like", "linspace", "eye", "as_tensor",
                 "empty_strided", "tril", "triu")

    def __enter__(self):
        import torch

        self.torch = torch
        self.saved = {}

        def fix(kw):
            d = kw.get("device")
            if d is not None and "cuda" in str(d):
                kw["device"] = "cpu"
            return kw

        for name in self.FACTORIES:
            f = getattr(torch, name, None)
            if f is None:
                continue
            self.saved[("torch", name)] = f
            setattr(torch, name, (lambda f: lambda *a, **kw: f(*a, **fix(kw)))(f))
        T = torch.Tensor
        for name in ("cuda", "to", "new_empty", "new_zeros", "new_ones", "new_full", "new_tensor"):
            self.saved[("Tensor", name)] = getattr(T, name)
        T.cuda = lambda self, *a, **kw: self
        to = self.saved[("Tensor", "to")]

        def to_cpu(t, *a, **kw):
            a = tuple("cpu" if isinstance(x, (str, torch.device)) and "cuda" in str(x) else x for x in a)
            return to(t, *a, **fix(kw))

        T.to = to_cpu
        for name in ("new_empty", "new_zeros", "new_ones", "new_full", "new_tensor"):
            T_f = self.saved[("Tensor", name)]
            setattr(T, name, (lambda g: lambda t, *a, **kw: g(t, *a, **fix(kw)))(T_f))
        return self

    def __exit__(self, *exc):
        for (owner, name), f in self.saved.items():
            setattr(self.torch if owner == "torch" else self.torch.Tensor, name, f)


def random_array(shape, dtype, rng):
    import numpy as np

    from compiler.runtime import _np_dtype

    if dtype == "bool":
        return rng.integers(0, 2, size=shape).astype(bool)
    if dtype.startswith(("int", "uint")):
        info = np.iinfo(dtype)
        return rng.integers(max(info.min, -8), min(info.max, 8), size=shape).astype(dtype)
    return rng.standard_normal(shape).astype(np.float32).astype(_np_dtype(dtype))


def to_torch(a):
    try:
        import torch
    except ImportError:
        return a
    if a.dtype.name == "bfloat16":
        return torch.from_numpy(a.astype("float32")).to(torch.bfloat16)
    return torch.from_numpy(a.copy())


def to_numpy(x):
    import numpy as np

    if hasattr(x, "detach"):
        x = x.detach().cpu()
        if not x.dtype.is_floating_point:
            return x.numpy()
        return x.double().numpy()
    return np.asarray(x)


def check_kernel(loaded, site, kdef, runner, stats, blockers, entry, n_sites):
    """Run on random inputs and compare with the file's reference; fills entry['run'] / entry['check']."""
    import numpy as np

    from compiler.loader import scope

    specs = runner.param_specs()
    if getattr(runner, "scalars", None):
        entry["run"] = "scalar parameters (the driver picks them)"
        blockers["not run: scalar parameters"] += 1
        return
    if any(not isinstance(d, int) for _, shape, _ in specs for d in shape):
        entry["run"] = "T.dynamic sizes (the driver picks them)"
        blockers["not run: T.dynamic sizes"] += 1
        return
    total = sum(int(np.prod(shape)) for _, shape, _ in specs)
    if total > MAX_ELEMENTS:
        entry["run"] = f"not run: {total} elements is too large for a CPU run here"
        blockers["not run: too large for the CPU"] += 1
        return
    ref = ref_candidates(loaded.namespace, site, n_sites)
    outs = list(runner.out_idx)
    ref_kwargs = {}
    if ref is not None:
        # parameters the reference shares by name with the instantiation (`partial(ref_program,
        # is_causal=is_causal)`, as the examples do) take the instantiation's value
        inst = ast.parse(entry["instantiation"], mode="eval").body
        given = {kw.arg: ast.literal_eval(kw.value) for kw in inst.keywords if kw.arg}
        try:
            params = [p for p in inspect.signature(ref[1]).parameters.values()
                      if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty]
        except (TypeError, ValueError):
            params = []
        ref_kwargs = {p.name: given[p.name] for p in params if p.name in given}
        arity = len(params) - len(ref_kwargs) if params else len(specs)
        if not outs:
            outs = list(range(arity, len(specs)))
    rng = np.random.default_rng(0)
    arrays = [random_array(shape, dtype, rng) for _, shape, dtype in specs]
    inputs = [a for k, a in enumerate(arrays) if k not in outs]
    signal.alarm(120)
    try:
        if runner.out_idx:
            got = runner(*inputs)
            got = got if isinstance(got, list) else [got]
        else:
            work = [a.copy() if k not in outs else np.zeros_like(a) for k, a in enumerate(arrays)]
            runner(*work)
            got = [work[k] for k in outs] if outs else work
        entry["run"] = "ok"
        stats["ran"] += 1
    except _Timeout:
        entry["run"] = "timeout"
        blockers["run: timeout (120 s)"] += 1
        return
    except Exception as err:  # noqa: BLE001
        entry["run"] = f"{type(err).__name__}: {str(err)[:200]}"
        blockers["run: " + type(err).__name__] += 1
        return
    finally:
        signal.alarm(0)
    if ref is None:
        entry["check"] = "no reference identified (no ref_program; main() compares with inline torch code)"
        blockers["no reference function identified"] += 1
        return
    stats["with_reference"] += 1
    entry["reference"] = ref[0]
    want = None
    for redirect in (False, True):
        signal.alarm(120)
        try:
            with scope():
                if redirect:
                    with redirect_cuda():
                        want = ref[1](*[to_torch(a) for a in inputs], **ref_kwargs)
                else:
                    want = ref[1](*[to_torch(a) for a in inputs], **ref_kwargs)
            if redirect:
                entry["reference_redirected"] = True
                stats["reference_redirected"] += 1
            break
        except _Timeout:
            entry["check"] = "reference: timeout"
            blockers["reference: timeout"] += 1
            return
        except Exception as err:  # noqa: BLE001
            msg = f"{type(err).__name__}: {str(err)[:200]}"
            if not redirect:
                continue
            gpu = any(w in msg for w in ("CUDA", "cuda", "NVIDIA", "GPU"))
            entry["check"] = ("reference needs a GPU: " if gpu else "reference failed: ") + msg
            blockers["reference needs a GPU" if gpu else "reference failed: " + type(err).__name__] += 1
            return
        finally:
            signal.alarm(0)
    want = list(want) if isinstance(want, (list, tuple)) else [want]
    if len(want) != len(got):
        # the reference may return only the outputs the test compares: compare the leading ones
        n = min(len(want), len(got))
        entry["note"] = f"reference gives {len(want)} outputs, kernel {len(got)}; compared {n}"
        want, got = want[:n], got[:n]
    ok, errs = True, []
    for g, w in zip(got, want):
        g64 = to_numpy(g).astype(np.float64) if to_numpy(g).dtype.kind != "b" else to_numpy(g)
        w64 = to_numpy(w)
        w64 = w64.astype(np.float64) if w64.dtype.kind != "b" else w64
        if g64.shape != w64.shape:
            if g64.size == w64.size:
                w64 = w64.reshape(g64.shape)
            else:
                ok = False
                errs.append(f"shape {g64.shape} vs reference {w64.shape}")
                continue
        rtol, atol = TOL.get(str(np.asarray(g).dtype), (0, 0))
        close = np.isclose(g64, w64, rtol=rtol, atol=atol, equal_nan=True)
        errs.append(f"max abs err {float(np.nanmax(np.abs(g64 - w64))) if g64.size else 0:.3g}, "
                    f"{int((~close).sum())}/{close.size} outside rtol={rtol} atol={atol}")
        ok &= bool(close.all())
    entry["check"] = ("match: " if ok else "MISMATCH: ") + "; ".join(errs)
    if ok:
        stats["matched"] += 1
    else:
        blockers["output differs from the reference"] += 1


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("corpus")
    p.add_argument("--json")
    p.add_argument("--markdown", help="write the table and the blockers here")
    p.add_argument("--run-main", action="store_true",
                   help="also run each file's own driver (__main__ block / main() / test_*) on the CPU, one forked "
                        "child per file (benchmarks/corpus_main.py)")
    p.add_argument("--timeout", type=int, default=120, help="seconds per file for --run-main")
    p.add_argument("--only", nargs="*", help="with --run-main: only files whose path under CORPUS starts with one of these")
    p.add_argument("--main-only", action="store_true", help="skip the per-kernel-site pass")
    args = p.parse_args()
    if args.main_only:
        main_results = run_main_mode(args)
        write_outputs(args, None, main_results)
        return
    import compiler
    from analyzer.engine import analyze_source
    from compiler.errors import CompileError
    from compiler.loader import instantiate
    from compiler.runtime import build

    try:
        import torch  # noqa: F401

        have_torch = True
    except ImportError:
        have_torch = False
    files = sorted(Path(args.corpus).rglob("*.py"))
    signal.signal(signal.SIGALRM, _alarm)
    stats = collections.Counter()
    blockers: collections.Counter[str] = collections.Counter()
    rows = []
    for path in files:
        text = path.read_text(errors="replace")
        if "tilelang" not in text:
            continue
        stats["files"] += 1
        row = {"file": str(path.relative_to(args.corpus)), "load": None, "kernels": []}
        signal.alarm(30)
        try:
            loaded = compiler.load(path)
            row["load"] = "ok"
            stats["loaded"] += 1
        except CompileError as err:
            row["load"] = err.diagnostic.message
            blockers[blocker(err.diagnostic.message)] += 1
            rows.append(row)
            continue
        except _Timeout:
            row["load"] = "timeout"
            blockers["timeout"] += 1
            rows.append(row)
            continue
        finally:
            signal.alarm(0)
        report = analyze_source(text, str(path))
        by_site: dict[str, list[str]] = {}
        placeholders: dict[str, list[str]] = {}  # site -> parameters the analyzer has no value for
        for k in report.kernels:
            inst = {key: v for key, v in (k.get("instantiation") or {}).items() if isinstance(v, (int, float, str, bool))}
            site = k.get("site")
            if site not in loaded.kernels:
                continue
            calls = by_site.setdefault(site, [])
            unresolved = unresolved_parameters(inst, k.get("unbound") or [])
            if unresolved:  # the analyzer wrote these parameters' names (symbols), not values: not a complete call
                placeholders.setdefault(site, []).extend(n for n in unresolved if n not in placeholders[site])
                continue
            call = f"{site}(" + ", ".join(f"{key}={v!r}" for key, v in inst.items()) + ")"
            if call not in calls:
                calls.append(call)
        for site, calls in by_site.items():
            stats["kernel_sites"] += 1
            entry = {"site": site, "instantiation": None, "result": None}
            kdef = None
            if not calls:
                entry["result"] = ("no complete instantiation: the analyzer has no value for "
                                   + ", ".join(placeholders.get(site, [])))
                blockers["no complete instantiation found by the analyzer"] += 1
                row["kernels"].append(entry)
                continue
            for call in calls:
                entry["instantiation"] = call
                signal.alarm(60)
                try:
                    kdef = instantiate(loaded, call)
                    break
                except Exception as err:  # noqa: BLE001 - recorded, the run goes on
                    msg = err.diagnostic.message if isinstance(err, CompileError) else f"{type(err).__name__}: {err}"
                    entry["result"] = msg[:300]
                    if INCOMPLETE.search(msg):
                        continue  # this instantiation is incomplete: try the next one
                    break
                finally:
                    signal.alarm(0)
            row["kernels"].append(entry)
            if kdef is None:
                if entry["result"] and INCOMPLETE.search(entry["result"]):
                    entry["result"] = "no complete instantiation: " + entry["result"]
                    blockers["no complete instantiation found by the analyzer"] += 1
                else:
                    stats["instantiated"] += 1
                    blockers[blocker(entry["result"] or "?")] += 1
                continue
            stats["instantiated"] += 1
            signal.alarm(60)
            try:
                runner = build(kdef)
                entry["result"] = "built"
                stats["built"] += 1
            except CompileError as err:
                entry["result"] = err.diagnostic.message
                blockers[blocker(err.diagnostic.message)] += 1
                continue
            except _Timeout:
                entry["result"] = "timeout"
                blockers["timeout"] += 1
                continue
            except Exception as err:  # noqa: BLE001 - recorded, the run goes on
                entry["result"] = f"{type(err).__name__}: {str(err)[:200]}"
                blockers[blocker(f"{type(err).__name__}: {err}")] += 1
                continue
            finally:
                signal.alarm(0)
            check_kernel(loaded, site, kdef, runner, stats, blockers, entry, len(by_site))
        rows.append(row)
    lines = [
        f"torch importable: {have_torch}",
        "",
        "| files mentioning tilelang | load OK | kernel sites | instantiated | compiled for CPU | ran | "
        "with a reference | matched reference |",
        "|---|---|---|---|---|---|---|---|",
        f"| {stats['files']} | {stats['loaded']} | {stats['kernel_sites']} | {stats['instantiated']} | "
        f"{stats['built']} | {stats['ran']} | {stats['with_reference']} | {stats['matched']} |",
        "",
        f"(references that ran only with device=\"cuda\" redirected to the CPU: {stats['reference_redirected']})",
        "",
        "Blockers (count; a file that does not load counts once, a kernel site once):",
        "",
    ]
    lines += [f"- {n} `{name}`" for name, n in blockers.most_common()]
    lines += ["", "Kernels that ran:", ""]
    for row in rows:
        for e in row["kernels"]:
            if e.get("run") == "ok":
                lines.append(f"- `{row['file']}` `{e['instantiation']}`: {e.get('check', '')}"
                             + (" (reference: " + e["reference"] + (", device redirected" if e.get(
                                 "reference_redirected") else "") + ")" if e.get("reference") else ""))
    main_results = run_main_mode(args) if args.run_main else None
    write_outputs(args, ("\n".join(lines), {"stats": stats, "blockers": blockers, "rows": rows}), main_results)


def run_main_mode(args) -> list[dict]:
    import corpus_main

    def log(res):
        print(f"[{res.get('seconds', '-')} s] {res['file']}: {res['outcome']} -- {str(res.get('detail', ''))[:160]}",
              file=sys.stderr, flush=True)

    return corpus_main.run_all(args.corpus, args.timeout, args.only, log)


MAIN_ORDER = ["matched", "checked, then stopped at", "MISMATCH", "ran, no check", "needs a GPU", "too large for the CPU",
              "timeout", "not supported yet", "error", "no driver", "load failed"]


def main_section(results: list[dict]) -> str:
    def group(o):
        return next((k for k in MAIN_ORDER if o.startswith(k)), o)

    by = collections.Counter(group(r["outcome"]) for r in results)
    loaded = [r for r in results if r["outcome"] != "load failed"]
    builds = sum(r.get("builds", 0) for r in results)
    runs = sum(r.get("runs", 0) for r in results)
    files_built = sum(1 for r in results if r.get("builds"))
    files_ran = sum(1 for r in results if r.get("runs"))
    lines = ["## Each file's own driver on the CPU (`--run-main`)", "",
             "| files | load OK | with a driver | files that compiled a kernel (kernels) | files that ran one (runs) | "
             "matched own check | checked, then stopped at do_bench/GPU timing | MISMATCH | ran, no check | "
             "needs a GPU | too large | timeout | not supported yet | other error |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
             f"| {len(results)} | {len(loaded)} | {len(loaded) - by['no driver']} | {files_built} ({builds}) | "
             f"{files_ran} ({runs}) | {by['matched']} | {by['checked, then stopped at']} | {by['MISMATCH']} | "
             f"{by['ran, no check']} | {by['needs a GPU']} | {by['too large for the CPU']} | {by['timeout']} | "
             f"{by['not supported yet']} | {by['error']} |", ""]
    for key in MAIN_ORDER[:-1]:
        rs = [r for r in results if group(r["outcome"]) == key]
        if not rs:
            continue
        lines += [f"### {key} ({len(rs)})", ""]
        for r in sorted(rs, key=lambda r: r["file"]):
            extra = f" [{r.get('driver')}; kernels built {r.get('builds', 0)}, runs {r.get('runs', 0)}, " \
                    f"checks passed {r.get('checks_passed', 0)}; {r.get('seconds', '?')} s]" if key != "no driver" else ""
            lines.append(f"- `{r['file']}`: {r['outcome'] if r['outcome'] != key else ''}"
                         f"{' -- ' if r['outcome'] != key else ''}{str(r.get('detail', '')).replace('|', '/')}{extra}")
        lines.append("")
    blockers = collections.Counter()
    for r in results:
        g, d = group(r["outcome"]), str(r.get("detail", ""))
        if g == "timeout":
            blockers["timeout (or the child crashed)"] += 1
        elif g == "too large for the CPU":
            blockers["too large for the CPU (" + d.split(" ")[0] + ")"] += 1
        elif g == "needs a GPU":
            blockers["needs a GPU: " + (d.split(":", 1)[1].strip()[:60] if ":" in d else d)] += 1
        elif g in ("not supported yet", "error"):
            d = re.sub(r"^NotSupported: ", "not supported yet: ", d)
            blockers[blocker(d) if "not supported yet" in d else d.split(" (")[0][:90]] += 1
    lines += ["### What stopped the rest, by count", ""] + [f"- {n} `{b}`" for b, n in blockers.most_common()]
    return "\n".join(lines)


def write_outputs(args, site, main_results) -> None:
    parts = []
    if site is not None:
        parts.append(site[0])
    if main_results is not None:
        parts.append(main_section(main_results))
    text_out = "\n\n".join(parts)
    print(text_out)
    if args.markdown:
        Path(args.markdown).write_text("# TileLang's examples through the compiler (benchmarks/compiler_corpus.py)\n\n"
                                       + text_out + "\n")
    if args.json:
        Path(args.json).write_text(json.dumps({**(site[1] if site else {}), "main": main_results}, indent=1,
                                              default=str))


if __name__ == "__main__":
    main()
