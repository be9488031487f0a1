"""The big fuzz run of the language server (the test suite runs a small one with the same code).

    python benchmarks/fuzz_lsp.py [--seed N] [--files 50] [--edits-per-file 40] [--seeds K] [--markdown FILE]

Starts the real server (`python -m tilelsp --stdio`) once per seed (even seeds as a client that takes
pushed diagnostics, odd seeds as one that pulls them; the position encoding the client offers cycles
through UTF-16, UTF-8 and UTF-32 with the seed) and sends random edit sequences and
hostile requests over `--files` kernel files (examples/, examples/buggy/ and mutated copies); see
tests/lsp_fuzz.py for the full list and the assertions. Prints, per seed, the number of edits,
requests, answers by JSON-RPC error code, crashes and failures; exits 1 if anything failed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from lsp_fuzz import FuzzConfig, FuzzReport, run_fuzz  # noqa: E402

ENCODINGS = ("utf-16", "utf-8", "utf-32")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--seeds", type=int, default=1, help="run seeds seed, seed+1, ... (a fresh server each)")
    parser.add_argument("--files", type=int, default=50)
    parser.add_argument("--edits-per-file", type=int, default=40)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--open-at-once", type=int, default=6)
    parser.add_argument("--requests-per-batch", type=int, default=5)
    parser.add_argument("--hostile-rate", type=float, default=0.15)
    parser.add_argument("--final-checks", type=int, default=8)
    parser.add_argument("--debounce-ms", type=int, help="the server's debounce (default: the server's own)")
    parser.add_argument("--markdown", type=Path, help="append the summary to this file")
    args = parser.parse_args()

    settings = {} if args.debounce_ms is None else {"debounceMs": args.debounce_ms}
    lines, failed = [], False
    total = FuzzReport()
    for seed in range(args.seed, args.seed + args.seeds):
        config = FuzzConfig(seed=seed, files=args.files, edits_per_file=args.edits_per_file, batch=args.batch,
                            open_at_once=args.open_at_once, requests_per_batch=args.requests_per_batch,
                            hostile_rate=args.hostile_rate, final_checks=args.final_checks, settings=settings,
                            pull=seed % 2 == 1, encoding=ENCODINGS[seed % 3])
        t0 = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="fuzz_lsp_") as tmp:
            report = asyncio.run(run_fuzz(config, Path(tmp)))
        seconds = time.perf_counter() - t0
        line = f"seed {seed} ({'pull' if config.pull else 'push'} client): {report.summary()}; {seconds:.0f} s"
        print(line, flush=True)
        distinct = Counter((category, failure[:300]) for category, failure in report.failures)
        for (category, failure), times in distinct.most_common(25):
            print(f"  FAIL [{category}] x{times}: {failure}", flush=True)
        lines.append(line)
        failed |= bool(report.failures) or report.crashes > 0 or report.exit_code != 0
        total.edits += report.edits
        total.requests += report.requests
        total.crashes += report.crashes
        total.responses_by_code.update(report.responses_by_code)
        total.failures.extend(report.failures)
    load = os.getloadavg()[0]
    footer = (f"total over {args.seeds} seed(s): {total.edits} edits, {total.requests} requests, "
              f"crashes {total.crashes}, failures {len(total.failures)} ({os.cpu_count()} CPUs, load {load:.2f})")
    print(footer)
    if args.markdown:
        with args.markdown.open("a", encoding="utf-8") as out:
            out.write("\n".join(f"- {x}" for x in [*lines, footer]) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
