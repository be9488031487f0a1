"""How fast tilelint is: whole process over a corpus, and per file.

    python benchmarks/bench_tilelint.py [CORPUS] [--runs N] [--jobs N]

CORPUS defaults to $TILELSP_BENCH_CORPUS, else the bundled examples/. Prints
a table: the whole-process `tilelint --format json CORPUS` wall time (a fresh
process each run, as CI or pre-commit starts it), the per-file analysis time
(p50 / p95 / max, in one process, file read included), and the floors that
bound it: interpreter start-up with the CLI imported, and libcst's parse of
the same files alone.
"""

from __future__ import annotations

import argparse
import os
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", nargs="?", default=os.environ.get("TILELSP_BENCH_CORPUS", str(ROOT / "examples")))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=0, help="tilelint --jobs (0: one per CPU)")
    args = parser.parse_args()
    corpus = Path(args.corpus)

    import libcst

    from analyzer.config import Config
    from tilelsp.files import collect
    from tilelsp.lint_cli import analyze_file

    files, _ = collect([str(corpus)])
    lines = sum(Path(f).read_text(encoding="utf-8", errors="replace").count("\n") for f in files)

    cmd = [sys.executable, "-m", "tilelsp.lint_cli", "--no-config", "--format", "json", "--jobs", str(args.jobs), str(corpus)]
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
