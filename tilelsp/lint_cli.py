"""`tilelint`: the analyzer on the command line, for CI and pre-commit.

Exit status: 0 when nothing at or above `--fail-on` was found, 1 when
something was, 2 for a usage error or an internal failure.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Sequence

from analyzer.arch import ArchError, parse_arch_list
from analyzer.config import Config, ConfigError, find_pyproject, load_pyproject
from analyzer.diagnostics import Diagnostic, Range, Severity
from analyzer.report import FileReport

from . import __version__
from .baseline import BaselineError, apply_baseline
from .cache import analyze_with_cache, open_cache, rules_for_render
from .files import collect
from .formats import FORMATS, RuleLike, render

EXIT_OK, EXIT_FOUND, EXIT_USAGE = 0, 1, 2
_PARALLEL_MIN_FILES = 8


class UsageError(Exception):
    pass


class _Version(argparse.Action):
    """`tilelint 0.1.0 (TileLang API 0.1.15)`; the catalog is imported only when asked (a cached run never is)."""

    def __init__(self, option_strings: Sequence[str], dest: str, help: str | None = None) -> None:
        super().__init__(option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, nargs=0, help=help)

    def __call__(self, parser: argparse.ArgumentParser, *args: object) -> None:
        from analyzer.catalog import TILELANG_API_VERSION

        sys.stdout.write(f"tilelint {__version__} (TileLang API {TILELANG_API_VERSION})\n")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="tilelint",
        description="Static checks for TileLang tile kernels: shapes, scopes and per-arch shared-memory budgets.",
    )
    p.add_argument("paths", nargs="*", help="files and folders to check (default: .)")
    p.add_argument("--format", choices=FORMATS, default="text", help="output format (default: text)")
    p.add_argument("--arch", help="comma-separated target archs, e.g. sm_80,sm_90, or 'all' (default: sm_80,sm_86,sm_89,sm_90)")
    p.add_argument(
        "--instantiate",
        action="append",
        default=[],
        metavar="CALL",
        help="bind a kernel factory's parameters, e.g. 'matmul(1024, 1024, 1024, 128, 128, 32, num_stages=3)' (repeatable)",
    )
    p.add_argument("--select", help="only these codes or prefixes, comma-separated (e.g. TL1,TL902)")
    p.add_argument("--ignore", help="skip these codes or prefixes, comma-separated")
    p.add_argument("--fail-on", choices=("error", "warning", "information"), default="error",
                   help="lowest severity that makes the exit status 1 (default: error)")
    p.add_argument("--near-limit", type=float, help="TL103 threshold as a fraction of the limit (default 0.9)")
    p.add_argument("--statistics", action="store_true", help="print counts per rule instead of each finding")
    p.add_argument("--explain", metavar="CODE", help="print the documentation of a rule and exit")
    p.add_argument("--fix", action="store_true",
                   help="apply the safe quick fixes (TL401, TL402, TL406, TL412), then report what is left")
    p.add_argument("--diff", action="store_true",
                   help="print a unified diff of what --fix would change and change nothing (exit 1 when there is one)")
    p.add_argument("--add-suppressions", action="store_true",
                   help="with --fix or --diff (implies --fix): add '# tilelint: ignore[CODE]' for what is left")
    p.add_argument("--jobs", "-j", type=int, default=0, help="worker processes (default: number of CPUs)")
    p.add_argument("--config", metavar="PYPROJECT", help="pyproject.toml to read [tool.tilelint] from")
    p.add_argument("--no-config", action="store_true", help="ignore pyproject.toml files")
    p.add_argument("--no-cache", action="store_true", help="do not read or write the result cache")
    p.add_argument("--watch", action=argparse.BooleanOptionalAction, default=False,
                   help="check again whenever a checked file changes (polled every 0.5 s); Ctrl-C stops")
    p.add_argument("--cache-dir", metavar="DIR", help="result cache folder (default: .tilelint_cache at the project root)")
    p.add_argument("--baseline", metavar="FILE",
                   help="report only findings not listed in FILE (written with the current findings if it does not exist)")
    p.add_argument("--update-baseline", action="store_true", help="rewrite the --baseline FILE with the current findings")
    p.add_argument("--version", action=_Version, help="show the version and the TileLang API it targets, and exit")
    return p


def _codes(text: str | None) -> tuple[str, ...] | None:
    if text is None:
        return None
    return tuple(c.strip().upper() for c in text.split(",") if c.strip())


def resolve_config(args: argparse.Namespace) -> Config:
    config = Config()
    if not args.no_config:
        path = Path(args.config) if args.config else find_pyproject(Path.cwd())
        if args.config and not path.is_file():
            raise UsageError(f"--config {args.config}: no such file")
        if path is not None:
            config = load_pyproject(path, config)
    overrides: dict[str, object] = {}
    if args.arch:
        overrides["arches"] = parse_arch_list(args.arch)
    if args.select is not None:
        overrides["select"] = _codes(args.select)
    if args.ignore is not None:
        overrides["ignore"] = _codes(args.ignore)
    if args.near_limit is not None:
        if not 0 < args.near_limit <= 1:
            raise UsageError("--near-limit must be a fraction in (0, 1]")
        overrides["near_limit"] = args.near_limit
    return config.merged(**overrides)


def analyze_file(path: str, config: Config, requests: tuple[str, ...]) -> FileReport:
    """Read and analyse one file; unreadable files become a TL900 diagnostic."""
    try:
        data = Path(path).read_bytes()
        text = data.decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        reason = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
        diag = Diagnostic("TL900", Severity.ERROR, f"cannot read {path}: {reason}", Range.point(0, 0))
        return FileReport(path, [diag] if config.enabled("TL900") else [])
    from analyzer.engine import analyze_source  # imported here: a fully cached run never needs libcst

    # The cyclic collector would scan the file's libcst tree and models again and again while they are
    # built (about a tenth of the time); paused, it runs once at the end over what the file left behind.
    paused = gc.isenabled()
    if paused:
        gc.disable()
    try:
        return analyze_source(text, path, config, requests)
    finally:
        if paused:
            gc.enable()
            gc.collect(0)


_JOB: tuple[Config, tuple[str, ...]] | None = None


def _init_worker(config: Config, requests: tuple[str, ...]) -> None:
    global _JOB
    _JOB = (config, requests)


def _analyze_in_worker(path: str) -> FileReport:
    assert _JOB is not None
    return analyze_file(path, *_JOB)


def run_analysis(paths: list[str], config: Config, requests: tuple[str, ...], jobs: int) -> list[FileReport]:
    workers = jobs if jobs > 0 else (os.cpu_count() or 1)
    if workers <= 1 or len(paths) < _PARALLEL_MIN_FILES:
        return [analyze_file(p, config, requests) for p in paths]
    # Biggest files first, one at a time: the workers finish together.
    def size(p: str) -> int:
        try:
            return os.path.getsize(p)
        except OSError:
            return 0

    order = sorted(paths, key=size, reverse=True)
    with ProcessPoolExecutor(max_workers=min(workers, len(paths)), initializer=_init_worker,
                             initargs=(config, requests)) as pool:
        results = dict(zip(order, pool.map(_analyze_in_worker, order, chunksize=1)))
    return [results[p] for p in paths]


def _registry() -> dict[str, RuleLike]:
    from analyzer.rules import REGISTRY

    return {code: rule for code, rule in REGISTRY.items()}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    out = sys.stdout
    try:
        if args.explain:
            from analyzer.rules import REGISTRY, lookup
            from analyzer.rules.docs import explain

            rule = lookup(args.explain)
            if rule is None:
                known = ", ".join(sorted(REGISTRY))
                raise UsageError(f"unknown rule {args.explain!r} (known: {known})")
            out.write(explain(rule))
            return EXIT_OK
        config = resolve_config(args)
        files, missing = collect(args.paths or ["."], config.exclude)
    except (UsageError, ArchError, ConfigError) as err:
        sys.stderr.write(f"tilelint: error: {err}\n")
        return EXIT_USAGE
    if missing:
        for path, message in missing:
            sys.stderr.write(f"tilelint: error: {path}: {message}\n")
        return EXIT_USAGE
    if args.watch:
        from .watch import watch

        again = [*(sys.argv[1:] if argv is None else argv), "--no-watch"]
        pyproject = None if args.no_config else (args.config or find_pyproject(Path.cwd()))
        return watch(lambda: main(again), lambda: collect(args.paths or ["."], config.exclude)[0],
                     extra=[str(pyproject)] if pyproject else [])
    requests = tuple(args.instantiate)
    if args.fix or args.diff or args.add_suppressions:
        from .fixes import run as run_fixes

        try:
            changed = run_fixes(files, config, requests, diff=args.diff, add_suppressions=args.add_suppressions,
                                out=out, err=sys.stderr)
        except Exception as err:  # noqa: BLE001 - an internal failure is exit 2 with one line, not a traceback
            sys.stderr.write(f"tilelint: internal error: {type(err).__name__}: {err}\n")
            return EXIT_USAGE
        if args.diff:
            out.flush()
            return EXIT_FOUND if changed else EXIT_OK
    try:
        cache = open_cache(args, config, requests)
        reports = analyze_with_cache(files, cache, lambda todo: run_analysis(todo, config, requests, args.jobs))
    except Exception as err:  # noqa: BLE001 - an internal failure is exit 2 with one line, not a traceback
        sys.stderr.write(f"tilelint: internal error: {type(err).__name__}: {err}\n")
        return EXIT_USAGE
    try:
        reports, note = apply_baseline(args, reports)
    except BaselineError as err:
        sys.stderr.write(f"tilelint: error: {err}\n")
        return EXIT_USAGE
    rules = rules_for_render(cache, _registry)
    text = render(reports, args.format, rules=rules, tool_version=__version__, statistics=args.statistics)
    try:
        out.write(text)
        if note:  # the machine formats keep stdout to themselves
            (out if args.format == "text" else sys.stderr).write(note)
        out.flush()
    except BrokenPipeError:
        return EXIT_OK
    threshold = Severity.parse(args.fail_on)
    failed = any(d.severity >= threshold for r in reports for d in r.diagnostics)
    return EXIT_FOUND if failed else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
