"""Mutation run: how many broken kernels does tilelint catch, and does it cry wolf?

    PYTHONPATH=. python benchmarks/mutation/run_mutation.py --tilelang-python ../tl-venv/bin/python

Takes 30 correct kernel files (``kernels.json`` beside this script: files whose
kernels TileLang 0.1.15 lowers on sm_80 and sm_90 with the instantiation
tilelint finds; ``--select`` picks them again, deterministically), applies
every operator of ``operators.py`` to each, and for each mutant:

* runs tilelint (``python -m tilelsp.lint_cli --format json --arch sm_80,sm_90``,
  one process over all files);
* lowers it with TileLang (``tests/oracle/lower_with_cuda_source.py --jobs 2
  --timeout 180``) with the instantiation tilelint reports for the mutant (the
  original's where tilelint cannot instantiate the mutant);
* classifies each mutant x arch. TileLang *rejects* when lowering fails, or when
  the lowered kernel cannot be launched ("launch limit": more shared memory,
  dynamic + static, than the arch's per-block limit, or a literal threads= over
  1024 per block), or when it lowers but nvcc rejects the CUDA source TileLang
  generated (the CUDA source each lowering left, compiled the way the rule-example
  oracle compiles it, only for the mutants that lower and
  that tilelint flags: lowering never runs nvcc; ``--no-nvcc`` skips it); it
  *accepts* otherwise. The table shows how many rejections are launch limits
  and nvcc failures, so the strict "lowering error" count is there too.
  tilelint *flags* when it reports a diagnostic of severity "error" for that
  arch (or with arch null), TL1xx budget codes counted only where TileLang's
  shared memory is over the limit.

Prints a table per operator (detection rate among rejects, false alarms among
accepts), lists every undetected rejection and every false alarm, and saves
the raw results as JSON (``--out``, default benchmarks/mutation/out/, git-ignored).

Environment (same names as the oracle test): TILELSP_ORACLE_PYTHON (TileLang
python), TILELSP_ORACLE_CORPUS (TileLang's examples folder: a checkout of
tile-ai/tilelang's examples/), TILELSP_ORACLE_EXTRA_PATH (prepended to
PYTHONPATH on the TileLang side: packages some examples import, e.g. einops).
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import shutil
import subprocess
import sys
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import libcst as cst

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))

from operators import all_operators  # noqa: E402

ORACLE = REPO / "tests" / "oracle"
LOWER = ORACLE / "lower_with_cuda_source.py"  # lower_with_tilelang.py that also keeps each lowering's CUDA source
KERNELS_FILE = HERE / "kernels.json"
ARCHS = ("sm_80", "sm_90")
# opt-in maximum dynamic shared memory per block (CUDA programming guide; the
# value cudaFuncSetAttribute accepts): what a launch can get at most.
SMEM_LIMIT = {"sm_80": 166912, "sm_90": 232448}
N_OURS, N_THEIRS = 10, 20
# Files TileLang lowers but no GPU can launch (checked by hand): not "correct kernels".
NOT_LAUNCHABLE = {
    "tilelang:analyze/example_conv_analyze.py":
        "gridDim.y = ceildiv(N*OH*OW, block_M) = ceildiv(64*512*512, 64) = 262144 > 65535 (an Analyzer demo, never launched)",
}

# ---------------------------------------------------------------------- helpers


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def tag_of(origin: str, rel: str) -> str:
    stem = rel[:-3] if rel.endswith(".py") else rel
    return origin + "__" + "".join(c if c.isalnum() else "_" for c in stem)


def sibling_imports(path: Path) -> list[str]:
    """Modules the file imports from its own folder (or relatively)."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (SyntaxError, UnicodeDecodeError):
        return ["<unparsable>"]
    found = []
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name.split(".")[0] for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                found.append("." * node.level + (node.module or ""))
                continue
            names = [(node.module or "").split(".")[0]]
        for n in names:
            if n and ((path.parent / f"{n}.py").exists() or (path.parent / n).is_dir()):
                found.append(n)
    return found


def run_tilelint(paths: list[Path], jobs: int) -> dict[str, dict[str, Any]]:
    """tilelint's JSON per file (keyed by real path)."""
    cmd = [sys.executable, "-m", "tilelsp.lint_cli", "--format", "json", "--arch", ",".join(ARCHS), "--no-config",
           "--jobs", str(jobs)] + [str(p) for p in paths]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, env=env, timeout=3600)
    try:
        data = json.loads(proc.stdout)
    except ValueError:
        # one file made tilelint fail as a whole (rules are work in progress):
        # go file by file, a file it cannot analyse gets no diagnostics
        if len(paths) == 1 and paths[0].is_file():
            log(f"tilelint failed on {paths[0]} (exit {proc.returncode}): {proc.stderr.strip()[-300:]}")
            return {os.path.realpath(paths[0]): {"path": str(paths[0]), "diagnostics": [], "kernels": [],
                                                 "tilelint_failed": proc.stderr.strip()[-300:]}}
        files = sorted(q for p in paths for q in ([p] if p.is_file() else p.glob("*.py")))
        log(f"tilelint exited {proc.returncode} without JSON on {len(files)} files: running it file by file")
        out = {}
        for q in files:
            out.update(run_tilelint([q], 1))
        return out
    out = {}
    for f in data.get("files") or []:
        p = Path(f["path"])
        if not p.is_absolute():
            p = REPO / p
        out[os.path.realpath(p)] = f
    return out


def kernel_requests(lint: dict[str, Any] | None, fallback: list[dict[str, Any]] | None = None) -> tuple[list[dict], str]:
    """(site, style, kernel, instantiation) to lower, and where they came from.

    Every fully instantiated tilelint kernel gives one (deduplicated) request;
    for a mutant, a kernel tilelint no longer instantiates (or no longer finds)
    takes the original's instantiation (``fallback``)."""
    mine: list[dict] = []
    seen = set()

    def add(site, style, kernel, inst):
        key = (site, json.dumps(inst, sort_keys=True, default=str))
        if key not in seen:
            seen.add(key)
            mine.append({"site": site, "style": style, "kernel": kernel, "instantiation": inst})

    kernels = (lint or {}).get("kernels") or []
    if fallback is None:
        for k in kernels:
            if not k.get("unbound") and k.get("shared_memory_bytes") is not None:
                add(k.get("site") or k.get("name"), k.get("style") or "factory", k.get("name"), k.get("instantiation") or {})
        return mine, "tilelint"
    used_fallback = False
    for orig in fallback:
        match = [k for k in kernels if (k.get("site") or k.get("name")) == orig["site"] and k.get("name") == orig["kernel"]]
        good = [k for k in match if not k.get("unbound") and k.get("instantiation") is not None]
        if good:
            for k in good:
                add(orig["site"], k.get("style") or orig["style"], orig["kernel"], k.get("instantiation") or {})
        else:
            used_fallback = True
            add(orig["site"], orig["style"], orig["kernel"], orig["instantiation"])
    return mine, ("original" if used_fallback else "tilelint")


def run_lowering(tl_python: str, jobs_by_file: list[tuple[Path, list[dict]]], workdir: Path, jobs: int,
                 timeout: int, extra_path: str | None) -> dict[str, list[dict]]:
    """Lower every request; returns the oracle's records per real path."""
    requests = []
    for path, reqs in jobs_by_file:
        for r in reqs:
            requests.append({"path": str(path), "site": r["site"], "style": r["style"], "kernel": r["kernel"],
                             "instantiation": r["instantiation"], "archs": list(ARCHS)})
    req_file = workdir / "requests.json"
    out_file = workdir / "lowering.jsonl"
    log_file = workdir / "lowering.log"
    req_file.write_text(json.dumps(requests, indent=1, default=str))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (extra_path, env.get("PYTHONPATH")) if p)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    cuda_dir = workdir / "cuda"  # req<index>-<arch>.cu, compiled later for the mutants tilelint flags
    shutil.rmtree(cuda_dir, ignore_errors=True)
    cuda_dir.mkdir(parents=True)
    env["TL_ORACLE_CUDA_DIR"] = str(cuda_dir)
    cmd = [tl_python, str(LOWER), str(req_file), "--jobs", str(jobs), "--timeout", str(timeout),
           "--log", str(log_file), "-o", str(out_file)]
    log(f"lowering {len(requests)} requests in {len(jobs_by_file)} files with TileLang ...")
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    log(proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"lower_with_tilelang exited {proc.returncode}")
    by_path: dict[str, list[dict]] = defaultdict(list)
    if out_file.exists():
        for line in out_file.read_text().splitlines():
            if line.strip():
                rec = json.loads(line)
                by_path[os.path.realpath(rec["path"])].append(rec)
    return by_path


def find_nvcc() -> str | None:
    found = shutil.which("nvcc")
    if found:
        return found
    for cand in ("/usr/local/cuda/bin/nvcc",):
        if os.access(cand, os.X_OK):
            return cand
    return None


def run_nvcc_checks(jobs: list[tuple[str | None, list[str], str]], nvcc_path: str, timeout: int) -> list[dict]:
    """nvcc as TileLang runs it (the oracle's own compile step) over ``jobs`` (cuda source, includes, arch)."""
    if str(ORACLE) not in sys.path:
        sys.path.insert(0, str(ORACLE))
    from rule_examples import _compile

    log(f"nvcc: compiling {len(jobs)} lowered kernels that tilelint flags ...")
    def one(job: tuple[str | None, list[str], str]) -> dict:
        source, includes, arch = job
        if source is None:  # the lowering left no CUDA source for this request: no verdict
            return {"ok": None, "error": "no CUDA source"}
        ok, error = _compile(nvcc_path, source, includes, arch, timeout)
        return {"ok": ok, "error": error or None}

    with ThreadPoolExecutor(2) as pool:
        return list(pool.map(one, jobs))


MAX_THREADS = 1024


def declared_threads(path: Path) -> int:
    """The largest literal ``threads=`` of a ``T.Kernel`` in the file (0 if none)."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (SyntaxError, UnicodeDecodeError, OSError):
        return 0
    most = 0
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "Kernel":
            for kw in node.keywords:
                v = kw.value
                if kw.arg != "threads":
                    continue
                if isinstance(v, ast.Constant) and isinstance(v.value, int):
                    most = max(most, v.value)
                elif isinstance(v, (ast.Tuple, ast.List)) and all(isinstance(e, ast.Constant) and isinstance(e.value, int) for e in v.elts):
                    n = 1
                    for e in v.elts:
                        n *= e.value
                    most = max(most, n)
    return most


def tilelang_verdict(records: list[dict], n_requests: int, threads: int = 0) -> dict[str, dict[str, Any]]:
    """Per arch: status accept / reject / unknown, the first error, the shared memory.

    Lowering succeeds for some kernels that no GPU can launch: more dynamic +
    static shared memory than the arch's per-block limit, or a literal
    ``threads=`` over 1024 per block. Those are rejections too ("launch limit"):
    the launch fails with TileLang's own runtime."""
    out = {}
    for arch in ARCHS:
        errors, smem, status = [], 0, "accept"
        if len(records) < n_requests:
            errors.append("oracle produced no line for a request")
        for rec in records:
            if "error" in rec:
                errors.append(rec["error"])
                continue
            r = (rec.get("result") or {}).get(arch)
            if r is None:
                errors.append("arch not lowered")
            elif "error" in r:
                errors.append(r["error"])
            else:
                static = r.get("static_shared_bytes") or {}
                for fn, dyn in (r.get("kernels") or {"?": r.get("dyn_shared_memory_buf") or 0}).items():
                    smem = max(smem, int(dyn) + int(static.get(fn, 0)))
        if errors:
            timeouts = [e for e in errors if "Timeout" in e]
            status = "unknown" if len(timeouts) == len(errors) else "reject"
            first = next((e for e in errors if "Timeout" not in e), errors[0])
            out[arch] = {"status": status, "reason": "lowering error", "error": first, "smem": None}
        elif smem > SMEM_LIMIT[arch]:
            out[arch] = {"status": "reject", "reason": "shared memory over limit", "smem": smem,
                         "error": f"lowered, but shared memory {smem} B > {arch} limit {SMEM_LIMIT[arch]} B (launch fails)"}
        elif threads > MAX_THREADS:
            out[arch] = {"status": "reject", "reason": "threads over limit", "smem": smem,
                         "error": f"lowered, but threads={threads} > {MAX_THREADS} per block (launch fails)"}
        else:
            out[arch] = {"status": "accept", "reason": None, "error": None, "smem": smem}
    return out


def tilelint_errors(lint: dict[str, Any] | None, arch: str, smem_over: bool) -> list[dict]:
    errs = []
    for d in (lint or {}).get("diagnostics") or []:
        if d.get("severity") != "error":
            continue
        if d.get("arch") not in (None, arch):
            continue
        if str(d.get("code", "")).startswith("TL1") and not smem_over:
            continue
        errs.append({"code": d.get("code"), "message": d.get("message"), "line": (d.get("range") or {}).get("start", {}).get("line")})
    return errs


# -------------------------------------------------------------------- selection


def candidates(corpus: Path) -> list[tuple[str, str, Path]]:
    ours = sorted((REPO / "examples").glob("*.py"))
    theirs = sorted(corpus.rglob("*.py"), key=lambda p: (p.stat().st_size, str(p)))
    out = [("ours", str(p.relative_to(REPO)), p) for p in ours]
    out += [("tilelang", str(p.relative_to(corpus)), p) for p in theirs]
    return out


def select(args, workdir: Path) -> list[dict]:
    """Pick N_OURS of our examples and N_THEIRS of TileLang's, deterministically."""
    ops = all_operators(args.cap)
    pool = []
    for origin, rel, path in candidates(Path(args.corpus)):
        if f"{origin}:{rel}" in NOT_LAUNCHABLE:
            log(f"  not chosen: {origin}:{rel}: not launchable: {NOT_LAUNCHABLE[origin + ':' + rel]}")
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        if "T.Kernel" not in text or "tilelang" not in text or sibling_imports(path):
            continue
        try:
            module = cst.parse_module(text)
        except cst.ParserSyntaxError:
            continue
        applicable = [op.name for op in ops if op.apply(module)]
        if len(applicable) < args.min_operators:
            continue
        pool.append((origin, rel, path, applicable))
    log(f"selection: {len(pool)} candidate files with >= {args.min_operators} applicable operators")
    lint = run_tilelint([p for _, _, p, _ in pool], args.jobs)
    eligible = []
    for origin, rel, path, applicable in pool:
        f = lint.get(os.path.realpath(path))
        kernels = (f or {}).get("kernels") or []
        if not kernels or any(k.get("unbound") or k.get("shared_memory_bytes") is None for k in kernels):
            continue
        reqs, _ = kernel_requests(f)
        if reqs and len(reqs) <= args.max_requests:
            eligible.append((origin, rel, path, applicable, reqs))
    log(f"selection: {len(eligible)} eligible files (every kernel instantiated, <= {args.max_requests} requests)")
    sel_dir = workdir / "selection"
    shutil.rmtree(sel_dir, ignore_errors=True)
    sel_dir.mkdir(parents=True)
    want = {"ours": N_OURS, "tilelang": N_THEIRS}
    chosen, taken = [], Counter()
    tried: set[int] = set()
    # lower the eligible files in order, a batch at a time, until each half is full:
    # the first qualifying files in the order above, whatever the batch size
    while any(taken[o] < want[o] for o in want):
        batch = []
        for origin in want:
            need = want[origin] - taken[origin]
            if need <= 0:
                continue
            idx = [i for i, e in enumerate(eligible) if e[0] == origin and i not in tried][: need + 2]
            batch += idx
        if not batch:
            break
        batch.sort()
        tried.update(batch)
        copies = []
        for i in batch:
            origin, rel, path, applicable, reqs = eligible[i]
            dst = sel_dir / f"{tag_of(origin, rel)}.py"
            shutil.copyfile(path, dst)
            copies.append((dst, reqs))
        lowered = run_lowering(args.tilelang_python, copies, sel_dir, args.jobs, args.timeout, args.extra_path)
        for i, (dst, _) in zip(batch, copies):
            origin, rel, path, applicable, reqs = eligible[i]
            recs = lowered.get(os.path.realpath(dst), [])
            verdict = tilelang_verdict(recs, len(reqs))
            seconds = sum(r.get("seconds") or 0 for r in recs)
            ok = all(v["status"] == "accept" for v in verdict.values())
            eligible[i] = eligible[i] + ((ok, seconds),)
            if not (ok and seconds <= args.max_seconds):
                why = f"slow ({seconds:.1f}s)" if ok else "; ".join(f"{a}: {v['error']}" for a, v in verdict.items() if v["error"])
                log(f"  not chosen: {origin}:{rel}: {why}")
        # decide in order, over everything tried so far
        chosen, taken = [], Counter()
        for i in sorted(tried):
            origin, rel, path, applicable, reqs, (ok, seconds) = eligible[i]
            if ok and seconds <= args.max_seconds and taken[origin] < want[origin]:
                taken[origin] += 1
                chosen.append({"origin": origin, "path": rel, "site_count": len(reqs), "lowering_seconds": round(seconds, 2),
                               "operators": applicable, "requests": reqs})
        # a file tried but not needed (a later batch member) is simply not chosen
    if taken["ours"] < N_OURS or taken["tilelang"] < N_THEIRS:
        log(f"warning: only {taken['ours']} of ours and {taken['tilelang']} of TileLang's examples qualified")
    doc = {
        "about": "30 correct kernel files for benchmarks/mutation/run_mutation.py; written by --select",
        "rule": (f"ours: examples/*.py by name; TileLang: corpus *.py by size then path. Kept: no sibling imports, "
                 f">= {args.min_operators} applicable operators, every kernel instantiated by tilelint, "
                 f"<= {args.max_requests} lowering requests, TileLang lowers every request on {', '.join(ARCHS)} "
                 f"in <= {args.max_seconds}s; first {N_OURS} of ours and {N_THEIRS} of TileLang's."),
        "kernels": chosen,
    }
    KERNELS_FILE.write_text(json.dumps(doc, indent=1) + "\n")
    log(f"selection: wrote {KERNELS_FILE} ({len(chosen)} files)")
    return chosen


# -------------------------------------------------------------------------- run


def short(text: str | None, limit: int = 220) -> str:
    text = " ".join(str(text or "").split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def pct(a: int, b: int) -> str:
    return f"{100.0 * a / b:.1f}%" if b else "n/a"


def table(rows: list[list[Any]], header: list[str]) -> str:
    cells = [header] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = []
    for k, r in enumerate(cells):
        lines.append("| " + " | ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))) + " |")
        if k == 0:
            lines.append("|" + "|".join("-" * (w + 2) if i == 0 else "-" * (w + 1) + ":" for i, w in enumerate(widths)) + "|")
    return "\n".join(lines)


def summarize(results: list[dict], ops_order: list[str]) -> str:
    by_op: dict[str, list[dict]] = defaultdict(list)
    for r in results:
        by_op[r["operator"]].append(r)

    def counts(items: list[dict], arch: str | None = None) -> list[Any]:
        cells = [c for r in items for a, c in r["cells"].items() if arch in (None, a) and c["tilelang"] != "excluded"]
        rej = [c for c in cells if c["tilelang"] == "reject"]
        acc = [c for c in cells if c["tilelang"] == "accept"]
        det = sum(1 for c in rej if c["flagged"])
        fa = sum(1 for c in acc if c["flagged"])
        unk = sum(1 for c in cells if c["tilelang"] == "unknown")
        launch = sum(1 for c in rej if c["reason"] in ("shared memory over limit", "threads over limit"))
        nv = sum(1 for c in rej if c["reason"] == "nvcc error")
        return [len(items), len(cells), len(rej), launch, nv, det, pct(det, len(rej)), len(acc), fa, unk]

    header = ["operator", "mutants", "mutant x arch", "TileLang rejects", "(launch limit)", "(nvcc)", "tilelint errors",
              "detection", "TileLang accepts", "false alarms", "unknown"]
    rows = [[op] + counts(by_op[op]) for op in ops_order if op in by_op]
    rows += [[f"all ({a})"] + counts(results, a) for a in ARCHS]
    rows.append(["ALL"] + counts(results))
    out = [table(rows, header), ""]

    undetected: dict[tuple, list[str]] = defaultdict(list)
    alarms: dict[tuple, list[str]] = defaultdict(list)
    for r in results:
        for arch, c in r["cells"].items():
            if c["tilelang"] == "reject" and not c["flagged"]:
                undetected[(r["operator"], r["mutant"], r["original"], short(c["error"]))].append(arch)
            if c["tilelang"] == "accept" and c["flagged"]:
                msg = short("; ".join(f"{e['code']} {e['message']}" for e in c["tilelint_errors"]), 400)
                alarms[(r["operator"], r["mutant"], r["original"], msg)].append(arch)
    out.append(f"## Undetected rejections ({sum(len(v) for v in undetected.values())} mutant x arch, {len(undetected)} lines)")
    for (op, mutant, orig, err), archs in sorted(undetected.items()):
        out.append(f"- {op} | {mutant} ({orig}) | {','.join(archs)} | {err}")
    out.append("")
    out.append(f"## False alarms ({sum(len(v) for v in alarms.values())} mutant x arch, {len(alarms)} lines)")
    for (op, mutant, orig, msg), archs in sorted(alarms.items()):
        out.append(f"- {op} | {mutant} ({orig}) | {','.join(archs)} | {msg}")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--select", action="store_true", help="pick the 30 kernel files again and rewrite kernels.json")
    ap.add_argument("--out", default=str(HERE / "out"), help="work folder and results (default %(default)s)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--timeout", type=int, default=180)
    ap.add_argument("--cap", type=int, default=1, help="mutants per operator per file (default 1: runtime)")
    ap.add_argument("--only", help="comma-separated operator names")
    ap.add_argument("--limit", type=int, default=0, help="only the first N kernel files (quick check)")
    ap.add_argument("--min-operators", type=int, default=5, help="selection: applicable operators a file needs")
    ap.add_argument("--max-requests", type=int, default=2, help="selection: lowering requests a file may need")
    ap.add_argument("--max-seconds", type=float, default=30.0, help="selection: TileLang seconds a file may take (only pathological files: timings are noisy)")
    ap.add_argument("--no-nvcc", action="store_true",
                    help="do not compile with nvcc the lowered mutants that tilelint flags (default: compile them when nvcc is found)")
    ap.add_argument("--nvcc-max", type=int, default=60, help="at most this many nvcc compilations (default %(default)s)")
    ap.add_argument("--tilelang-python", default=os.environ.get("TILELSP_ORACLE_PYTHON", "../tl-venv/bin/python"))
    ap.add_argument("--corpus", default=os.environ.get("TILELSP_ORACLE_CORPUS", "../tilelang/examples"))
    ap.add_argument("--extra-path", default=os.environ.get("TILELSP_ORACLE_EXTRA_PATH"))
    args = ap.parse_args(argv)

    t_start = time.perf_counter()
    load_start = os.getloadavg()
    timings: dict[str, float] = {}
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    work = out_dir / "work"
    work.mkdir(exist_ok=True)

    if args.select or not KERNELS_FILE.exists():
        t0 = time.perf_counter()
        select(args, work)
        timings["selection"] = time.perf_counter() - t0
    chosen = json.loads(KERNELS_FILE.read_text())["kernels"]
    if args.limit:
        chosen = chosen[: args.limit]
    roots = {"ours": REPO, "tilelang": Path(args.corpus)}

    # 1. originals and mutants, as standalone files
    t0 = time.perf_counter()
    ops = all_operators(args.cap)
    if args.only:
        wanted = set(args.only.split(","))
        ops = [op for op in ops if op.name in wanted]
    files_dir = work / "files"
    shutil.rmtree(files_dir, ignore_errors=True)
    files_dir.mkdir(parents=True)
    originals, mutants = [], []
    for entry in chosen:
        src = roots[entry["origin"]] / entry["path"]
        tag = tag_of(entry["origin"], entry["path"])
        text = src.read_text(encoding="utf-8")
        orig_copy = files_dir / f"{tag}.py"
        orig_copy.write_text(text, encoding="utf-8")
        originals.append({"tag": tag, "entry": entry, "file": orig_copy})
        module = cst.parse_module(text)
        for op in ops:
            for k, m in enumerate(op.apply(module)):
                dst = files_dir / f"{tag}__{op.name}_{k}.py"
                dst.write_text(m.code, encoding="utf-8")
                mutants.append({"tag": tag, "operator": op.name, "index": k, "file": dst})
    timings["mutate"] = time.perf_counter() - t0
    log(f"{len(originals)} originals, {len(mutants)} mutants in {files_dir}")

    # 2. tilelint over all of them, one process
    t0 = time.perf_counter()
    lint = run_tilelint([files_dir], args.jobs)
    timings["tilelint"] = time.perf_counter() - t0
    log(f"tilelint: {timings['tilelint']:.1f}s")

    # 3. what to lower
    orig_reqs: dict[str, list[dict]] = {}
    plan: list[tuple[Path, list[dict]]] = []
    for o in originals:
        reqs, _ = kernel_requests(lint.get(os.path.realpath(o["file"])))
        if not reqs:  # tilelint lost it since the selection: the recorded ones
            reqs = o["entry"]["requests"]
        orig_reqs[o["tag"]] = reqs
        o["requests"] = reqs
        plan.append((o["file"], reqs))
    for m in mutants:
        reqs, source = kernel_requests(lint.get(os.path.realpath(m["file"])), orig_reqs[m["tag"]])
        m["requests"], m["instantiation_from"] = reqs, source
        plan.append((m["file"], reqs))

    # 4. TileLang
    t0 = time.perf_counter()
    lowered = run_lowering(args.tilelang_python, plan, work, args.jobs, args.timeout, args.extra_path)
    timings["tilelang"] = time.perf_counter() - t0

    # 5. classify
    baseline: dict[str, dict] = {}
    for o in originals:
        rp = os.path.realpath(o["file"])
        v = tilelang_verdict(lowered.get(rp, []), len(o["requests"]), declared_threads(o["file"]))
        f = lint.get(rp)
        baseline[o["tag"]] = {
            "path": f"{o['entry']['origin']}:{o['entry']['path']}",
            "tilelang": v,
            "tilelint_errors": {a: tilelint_errors(f, a, v[a]["status"] == "reject") for a in ARCHS},
            "requests": o["requests"],
        }
    results = []
    for m in mutants:
        rp = os.path.realpath(m["file"])
        v = tilelang_verdict(lowered.get(rp, []), len(m["requests"]), declared_threads(m["file"]))
        f = lint.get(rp)
        cells = {}
        for arch in ARCHS:
            tv = v[arch]
            over = tv["reason"] == "shared memory over limit"  # TL1xx count only then
            errs = tilelint_errors(f, arch, over)
            status = tv["status"]
            if baseline[m["tag"]]["tilelang"][arch]["status"] != "accept":
                status = "excluded"  # the original itself does not lower (this run): nothing to compare
            cells[arch] = {"tilelang": status, "reason": tv["reason"], "error": tv["error"], "smem": tv["smem"],
                           "flagged": bool(errs), "tilelint_errors": errs, "nvcc": None}
        results.append({
            "operator": m["operator"], "mutant": m["file"].name, "original": baseline[m["tag"]]["path"],
            "instantiation_from": m["instantiation_from"], "requests": m["requests"], "cells": cells,
            "tilelint_kernels": len(((f or {}).get("kernels")) or []),
        })
    # 6. lowering accepts what tilelint flags: does nvcc accept the CUDA TileLang wrote?
    nvcc_path = None if args.no_nvcc else find_nvcc()
    suspects = [(r, arch) for r in results for arch, c in r["cells"].items() if c["tilelang"] == "accept" and c["flagged"]]
    nvcc_note = "nvcc: off (--no-nvcc)" if args.no_nvcc else ("nvcc: not found" if nvcc_path is None else "")
    if nvcc_path is not None and suspects:
        t0 = time.perf_counter()
        checked = suspects[: args.nvcc_max]
        jobs, owners = [], []
        for r, arch in checked:
            records = lowered.get(os.path.realpath(files_dir / r["mutant"]), [])
            for k in range(max(len(r["requests"]), len(records))):
                res = ((records[k].get("result") or {}).get(arch) or {}) if k < len(records) else {}
                jobs.append((res.get("cuda_source"), res.get("nvcc_includes") or [], arch))
                owners.append((r, arch))
        answers = run_nvcc_checks(jobs, nvcc_path, max(args.timeout, 300))
        verdicts: dict[tuple[int, str], list[dict]] = defaultdict(list)
        for (r, arch), ans in zip(owners, answers):
            verdicts[(id(r), arch)].append(ans)
        for r, arch in checked:
            answers_here = verdicts[(id(r), arch)]
            cell = r["cells"][arch]
            failed = [a for a in answers_here if a.get("ok") is False]
            cell["nvcc"] = "error" if failed else ("ok" if all(a.get("ok") for a in answers_here) else "unknown")
            if failed:
                cell.update(tilelang="reject", reason="nvcc error", error=failed[0]["error"])
        timings["nvcc"] = time.perf_counter() - t0
        nvcc_note = (f"nvcc: compiled the {len(checked)} mutant x arch that TileLang lowers and tilelint flags"
                     + (f" ({len(suspects) - len(checked)} more not checked: --nvcc-max)" if len(suspects) > len(checked) else "")
                     + f"; {sum(1 for r, a in checked if r['cells'][a]['nvcc'] == 'error')} fail in nvcc (counted as rejections)")
    elif nvcc_path is not None:
        nvcc_note = "nvcc: nothing to compile (no mutant that TileLang lowers is flagged by tilelint)"

    total = time.perf_counter() - t_start
    timings["total"] = total

    # 7. report
    report = []
    report.append(f"# Mutation run: {len(originals)} kernel files, {len(mutants)} mutants, archs {', '.join(ARCHS)}")
    report.append("")
    bad_orig = [(t, b) for t, b in baseline.items() if any(x["status"] != "accept" for x in b["tilelang"].values())]
    orig_alarms = [(t, b) for t, b in baseline.items() if any(b["tilelint_errors"][a] for a in ARCHS)]
    report.append(f"originals: {len(originals) - len(bad_orig)}/{len(originals)} lowered on every arch; "
                  f"tilelint errors on {len(orig_alarms)} originals")
    for t, b in bad_orig:
        report.append(f"- original not lowered: {b['path']}: " + "; ".join(f"{a}: {x['error']}" for a, x in b["tilelang"].items() if x["error"]))
    for t, b in orig_alarms:
        report.append(f"- tilelint error on original {b['path']}: " + "; ".join(
            f"{a}: {e['code']} {e['message']}" for a in ARCHS for e in b["tilelint_errors"][a]))
    fallback = sum(1 for r in results if r["instantiation_from"] == "original")
    report.append(f"mutants lowered with the original's instantiation (tilelint could not instantiate them): {fallback}")
    report.append(nvcc_note)
    report.append("")
    report.append(summarize(results, [op.name for op in ops]))
    report.append("")
    cpu = os.times()
    cpu_s = cpu.user + cpu.system + cpu.children_user + cpu.children_system
    load_end = os.getloadavg()
    report.append("timings: " + ", ".join(f"{k} {v:.1f}s" for k, v in timings.items())
                  + f"; CPU {cpu_s:.0f}s over {os.cpu_count()} cores; load average (1 min) {load_start[0]:.1f} at start, "
                  f"{load_end[0]:.1f} at end")
    text = "\n".join(report)
    print(text)

    stamp = time.strftime("%Y%m%d-%H%M%S")
    doc = {
        "archs": list(ARCHS), "smem_limits": SMEM_LIMIT, "timings_s": {k: round(v, 1) for k, v in timings.items()}, "cpu_s": round(cpu_s, 1),
        "loadavg_start": load_start, "loadavg_end": load_end,
        "operators": [{"name": op.name, "description": op.description} for op in ops],
        "kernels": [{"tag": t, **b} for t, b in baseline.items()],
        "mutants": results,
    }
    for name in (f"results-{stamp}.json", "results-latest.json"):
        (out_dir / name).write_text(json.dumps(doc, indent=1, default=str))
    (out_dir / f"report-{stamp}.md").write_text(text + "\n")
    shutil.copyfile(out_dir / f"report-{stamp}.md", out_dir / "report-latest.md")
    print(f"\nraw results: {out_dir / f'results-{stamp}.json'} (also results-latest.json); report: {out_dir / 'report-latest.md'}")
    print(f"rerun: cd {REPO} && PYTHONPATH=. {sys.executable} benchmarks/mutation/run_mutation.py")
    return 0


if __name__ == "__main__":
    sys.exit(main())
