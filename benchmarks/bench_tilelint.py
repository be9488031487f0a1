"""How fast tilelint is: whole process over a corpus, and per file.

    python benchmarks/bench_tilelint.py [CORPUS] [--runs N] [--jobs N]

CORPUS defaults to $TILELSP_BENCH_CORPUS, else the bundled examples/. Prints
a table: the whole-process `tilelint --format json CORPUS` wall time (a fresh
process each run, as CI or pre-commit starts it), the per-file analysis time
(p50 / p95 / max, in one process, file read included), and the floors that
bound it: interpreter start-up with the CLI imported, and libcst's parse of
the same files alone.

    python benchmarks/bench_tilelint.py --cache [CORPUS ...] [--runs N] [--out FILE]

measures the result cache instead: the whole-process wall time of
`tilelint --format json CORPUS` with an empty cache (cold) and with a cache
filled by the previous run over the unchanged tree (warm), median of N runs
(default 5), for each corpus (default: TileLang's examples at
$TILELSP_BENCH_TILELANG_EXAMPLES or /work/corpus/examples, and examples/),
next to the floor of a warm run: interpreter start-up with the CLI imported
plus reading and hashing the files. Writes the Markdown table to FILE
(default benchmarks/results/bench_tilelint_cache.md) and prints it.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import tempfile
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _wall(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode not in (0, 1) or "Traceback" in proc.stderr:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stderr}")
    return wall


def cache_table(corpora: list[str], runs: int, jobs: int) -> str:
    """Cold vs warm cache, whole process, median of `runs`, per corpus; Markdown."""
    from tilelsp.files import collect

    rows = []
    for corpus in corpora:
        files, _ = collect([corpus])
        size = sum(os.path.getsize(f) for f in files)
        with tempfile.TemporaryDirectory() as tmp:
            cache = Path(tmp) / "cache"
            cmd = [sys.executable, "-m", "tilelsp.lint_cli", "--no-config", "--format", "json", "--jobs", str(jobs),
                   "--cache-dir", str(cache), corpus]
            cold = []
            for _ in range(runs):
                shutil.rmtree(cache, ignore_errors=True)
                cold.append(_wall(cmd))
            warm = [_wall(cmd) for _ in range(runs)]
            text_cmd = [*cmd]
            text_cmd[text_cmd.index("json")] = "text"
            warm_text = [_wall(text_cmd) for _ in range(runs)]
            no_cache = [_wall([*cmd[:-3], "--no-cache", corpus]) for _ in range(runs)]
        startup = [_wall([sys.executable, "-c", "import tilelsp.lint_cli"]) for _ in range(runs)]
        hashing = []
        for _ in range(runs):
            t0 = time.perf_counter()
            for f in files:
                hashlib.sha256(Path(f).read_bytes()).hexdigest()
            hashing.append(time.perf_counter() - t0)
        rows.append((corpus, len(files), size, statistics.median(no_cache), statistics.median(cold),
                     statistics.median(warm), min(warm), statistics.median(warm_text), statistics.median(startup), statistics.median(hashing)))
    cpus = jobs or os.cpu_count() or 1
    lines = [
        "# tilelint result cache: cold vs warm",
        "",
        f"`python benchmarks/bench_tilelint.py --cache` - whole process `tilelint --no-config --format json CORPUS`, "
        f"wall time, median of {runs} runs; {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, --jobs {cpus}. "
        "Cold: empty cache folder before each run. Warm: the cache left by the previous run over the unchanged "
        "tree (every file hits). Floor of a warm run: interpreter start-up with the CLI imported "
        "(`python -c 'import tilelsp.lint_cli'`) plus reading and hashing the files (in one process). "
        "A warm JSON run over a large corpus is dominated by writing the JSON report itself (kernel facts).",
        "",
        "| corpus | files | bytes | --no-cache | cold cache | warm cache (median / min) | warm, --format text | floor: start-up + import | floor: hashing | target warm <= 0.3 s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for corpus, n, size, nc, cold_s, warm_s, warm_min, warm_text_s, start_s, hash_s in rows:
        shown = os.path.relpath(corpus, ROOT) if not os.path.relpath(corpus, ROOT).startswith("..") else corpus
        lines.append(
            f"| {shown} | {n} | {size} | {nc:.2f} s | {cold_s:.2f} s | {warm_s:.3f} s / {warm_min:.3f} s | {warm_text_s:.3f} s | "
            f"{start_s:.3f} s | {1000 * hash_s:.1f} ms | {'met' if warm_s <= 0.3 else 'missed'} |"
        )
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", nargs="*", default=[])
    parser.add_argument("--runs", type=int, default=None, help="runs per measure (default 3, 5 with --cache)")
    parser.add_argument("--jobs", type=int, default=0, help="tilelint --jobs (0: one per CPU)")
    parser.add_argument("--cache", action="store_true", help="measure the result cache: cold vs warm")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "bench_tilelint_cache.md"),
                        help="with --cache: where to write the table")
    args = parser.parse_args()
    if args.cache:
        corpora = args.corpus or [
            os.environ.get("TILELSP_BENCH_TILELANG_EXAMPLES", "/work/corpus/examples"), str(ROOT / "examples")
        ]
        table = cache_table([c for c in corpora if Path(c).is_dir()], args.runs or 5, args.jobs)
        Path(args.out).write_text(table, encoding="utf-8")
        print(table, end="")
        return 0
    if len(args.corpus) > 1:
        parser.error("one CORPUS without --cache")
    args.corpus = args.corpus[0] if args.corpus else os.environ.get("TILELSP_BENCH_CORPUS", str(ROOT / "examples"))
    args.runs = args.runs or 3
    corpus = Path(args.corpus)

    import libcst

    from analyzer.config import Config
    from tilelsp.files import collect
    from tilelsp.lint_cli import analyze_file

    files, _ = collect([str(corpus)])
    lines = sum(Path(f).read_text(encoding="utf-8", errors="replace").count("\n") for f in files)

    cmd = [sys.executable, "-m", "tilelsp.lint_cli", "--no-config", "--no-cache", "--format", "json", "--jobs", str(args.jobs),
           str(corpus)]
    walls = []
    kernels = 0
    for _ in range(args.runs):
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        walls.append(time.perf_counter() - t0)
        if proc.returncode not in (0, 1):
            print(proc.stderr, file=sys.stderr)
            return 2
        import json

        kernels = json.loads(proc.stdout)["summary"]["kernels"]

    startup = []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import tilelsp.lint_cli"], cwd=ROOT, check=True)
        startup.append(time.perf_counter() - t0)

    config = Config()
    per_file = []
    for path in files:
        t0 = time.perf_counter()
        analyze_file(path, config, ())
        per_file.append(time.perf_counter() - t0)

    from analyzer.engine import may_define_kernel

    parse = []
    for path in files:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
        if not may_define_kernel(text):
            continue
        t0 = time.perf_counter()
        try:
            libcst.parse_module(text)
        except Exception:
            pass
        parse.append(time.perf_counter() - t0)

    cpus = args.jobs or os.cpu_count() or 1
    rows = [
        ("corpus", f"{corpus} ({len(files)} files, {lines} lines, {kernels} kernels)"),
        ("machine", f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}, tilelint --jobs {args.jobs or cpus}"),
        ("whole process, wall (min / median of %d)" % args.runs, f"{min(walls):.2f} s / {statistics.median(walls):.2f} s"),
        ("per file, analysis (p50 / p95 / max)",
         f"{1000 * _pct(per_file, .5):.1f} / {1000 * _pct(per_file, .95):.1f} / {1000 * max(per_file):.1f} ms"),
        ("per file, all files, one process (sum)", f"{sum(per_file):.2f} s"),
        ("floor: start-up + import of the CLI (min)", f"{min(startup):.2f} s"),
        ("floor: libcst.parse_module of the %d files that can hold kernels (sum; / %d CPUs)" % (len(parse), cpus),
         f"{sum(parse):.2f} s; {sum(parse) / cpus:.2f} s"),
        ("floor: libcst parse per file (p50 / p95)", f"{1000 * _pct(parse, .5):.1f} / {1000 * _pct(parse, .95):.1f} ms"),
    ]
    width = max(len(k) for k, _ in rows)
    print(f"| {'measure'.ljust(width)} | value |")
    print(f"|{'-' * (width + 2)}|-------|")
    for key, value in rows:
        print(f"| {key.ljust(width)} | {value} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
