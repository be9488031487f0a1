"""`tilelsp mcp`: the analyzer, the rule docs, the T.* catalog and the compiler as MCP tools over stdio.

For coding agents (Claude Desktop, VS Code, ...): `tilelsp mcp [--trusted-root DIR ...]` speaks the Model
Context Protocol on stdin/stdout with the `mcp` package (an optional extra: `pip install 'tilelsp[mcp]'`).
The language server never imports this module; only the `mcp` subcommand of `tilelsp` does.

Tools:

- `analyze_kernel(source, path, instantiate, archs)`: what `tilelint --format json` prints for the file (or
  for `source`, reported under `path` or `<source>`), built with tilelint's own functions.
- `explain_rule(code)`: what `tilelint --explain CODE` prints.
- `max_stages_that_fit(path, kernel, arch)`: the largest `num_stages` whose shared memory fits the arch,
  from the analyzer's planner (`analyzer.shared_memory.max_stages_that_fit`, what TL101's message and quick
  fix use), with the bytes each stage costs.
- `compile_kernel(path, instantiate, target, archs)`: our compiler (`tilec`) on one instantiation, in the
  compile worker process (`python -m tilelsp.compile_worker`) so that a crash or a hang of the user's code
  does not take the MCP server down. It executes the file's module, so it is refused unless the file is
  under a `--trusted-root DIR`.
- `tile_api(name)`: the signature and doc of a `T.*` name from the catalog.

The pure functions below (`analyze_kernel`, `explain_rule`, ...) do not need `mcp`; `create_server` wraps
them as tools.
"""

from __future__ import annotations

import argparse
import asyncio
import difflib
import json
import sys
import threading
from pathlib import Path
from typing import Any, Sequence

from . import __version__

MCP_REQUIREMENT = "mcp>=2.3"
INSTALL_HINT = "pip install 'tilelsp[mcp]'"
EXIT_USAGE = 2
COMPILE_TIMEOUT_S = 300.0

# The analyzer keeps per-model caches and the planner changes a model's loops while it searches: one
# analysis at a time (the MCP server runs synchronous tools in worker threads).
_ANALYZER_LOCK = threading.Lock()


class ToolFailure(Exception):
    """A tool was called with arguments it cannot serve; the message says why."""


# -- the tools' logic (no `mcp` needed) -------------------------------------------------------------------


def _lint_args(path: str | None, instantiate: Sequence[str] | None, archs: Sequence[str] | None) -> argparse.Namespace:
    from .lint_cli import build_parser

    argv = ["--format", "json"]
    if archs:
        argv.append("--arch=" + ",".join(archs))
    argv += [f"--instantiate={call}" for call in instantiate or ()]
    if path is not None:
        argv += ["--", path]
    try:
        return build_parser().parse_args(argv)
    except SystemExit:
        raise ToolFailure(f"invalid arguments for tilelint: {argv[2:]}") from None


def _config(args: argparse.Namespace) -> Any:
    from analyzer.arch import ArchError
    from analyzer.config import ConfigError

    from .lint_cli import UsageError, resolve_config

    try:
        return resolve_config(args)
    except (UsageError, ArchError, ConfigError) as err:
        raise ToolFailure(str(err)) from None


def analyze_kernel(source: str | None = None, path: str | None = None, instantiate: Sequence[str] | None = None,
                   archs: Sequence[str] | None = None) -> dict[str, Any]:
    """The JSON `tilelint --format json [--arch A,B] [--instantiate CALL]... PATH` prints, parsed.

    With `source`, that text is analysed instead of the file, reported under `path` (or `<source>`).
    The configuration is tilelint's: pyproject.toml found from the current folder, then the arguments.
    """
    from .formats import render
    from .lint_cli import _registry, run_analysis

    if source is None and path is None:
        raise ToolFailure("give `path` (a file or folder to check) or `source` (the text of a file)")
    args = _lint_args(path if source is None else None, instantiate, archs)
    config = _config(args)
    requests = tuple(args.instantiate)
    with _ANALYZER_LOCK:
        if source is not None:
            from analyzer.engine import analyze_source

            reports = [analyze_source(source, path or "<source>", config, requests)]
        else:
            from .files import collect

            files, missing = collect([path], config.exclude)
            if missing:
                raise ToolFailure("; ".join(f"{p}: {message}" for p, message in missing))
            reports = run_analysis(files, config, requests, 1)
    return json.loads(render(reports, "json", rules=_registry(), tool_version=__version__))


def explain_rule(code: str) -> str:
    """`tilelint --explain CODE`."""
    from analyzer.rules import REGISTRY, lookup
    from analyzer.rules.docs import explain

    rule = lookup(code)
    if rule is None:
        raise ToolFailure(f"unknown rule {code!r} (known: {', '.join(sorted(REGISTRY))})")
    return explain(rule)


def max_stages_that_fit(path: str, kernel: str, arch: str, instantiate: Sequence[str] | None = None) -> dict[str, Any]:
    """The largest num_stages (every pipelined loop of the kernel alike) whose shared memory fits `arch`.

    The analyzer's planner is re-run with fewer stages (the search TL101's message and its quick fix do),
    counting down from the num_stages written in the file. A kernel that already fits is analysed again with
    its num_stages parameter at STAGES_CEILING and the planner counts down from there (when num_stages is
    not a parameter of the instantiation, the written value is the answer, with a note).
    One entry per instantiation of the kernel; `max_num_stages` is the smallest of them.
    """
    from analyzer.engine import analyze_text
    from analyzer.shared_memory import max_stages_that_fit as planner_max_stages, pipelined_loops

    args = _lint_args(path, instantiate, [arch])
    config = _config(args)
    requests = tuple(args.instantiate)
    if len(config.arches) != 1:
        raise ToolFailure(f"give one arch, e.g. sm_86 (got {arch!r})")
    arch_name = config.arches[0]
    try:
        text = Path(path).read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        raise ToolFailure(f"cannot read {path}: {err}") from None
    entries: list[dict[str, Any]] = []
    with _ANALYZER_LOCK:
        result = analyze_text(text, path, config, requests)
        models = list(result.analysis.models) if result.analysis is not None else []
        chosen = [m for m in models if kernel in (m.name, m.site)]
        if not chosen:
            known = sorted({m.site for m in models} | {m.name for m in models})
            raise ToolFailure(f"no kernel {kernel!r} in {path} (kernels: {', '.join(known) or 'none'})")
        for model in chosen:
            plan = result.plans[id(model)][arch_name]
            loops, _ = pipelined_loops(model.body)
            entry: dict[str, Any] = {
                "kernel": model.name, "site": model.site,
                "instantiation": json.loads(json.dumps(model.instantiation, default=str)),
                "limit": plan.limit, "shared_memory_bytes": plan.dynamic_bytes, "fits_as_written": plan.fits,
            }
            if not loops:
                entry.update(num_stages=None, max_num_stages=None, bytes_per_stage=None, stage_buffers=[],
                             note="no T.Pipelined loop: num_stages does not change its shared memory")
                entries.append(entry)
                continue
            written = max(lp.num_stages for lp in loops)
            if plan.dynamic_bytes is None:
                unbound = ", ".join(getattr(model, "unbound_params", ()) or ())
                why = plan.unknown_reason or (f"unbound parameters: {unbound}" if unbound else "not known")
                entry.update(num_stages=written, max_num_stages=None, bytes_per_stage=None, stage_buffers=[],
                             note=f"the shared memory cannot be computed ({why}); bind the kernel's parameters "
                                  "with `instantiate`, e.g. [\"factory(1024, 1024, 128, 128)\"]")
                entries.append(entry)
                continue
            best = planner_max_stages(model, arch_name, plan.limit)
            staged = [p for p in plan.placements if written > 1 and p.versions == written]
            entry.update(
                num_stages=written, max_num_stages=best,
                bytes_per_stage=sum(p.size // p.versions for p in staged) if staged else None,
                stage_buffers=[{"name": p.name, "bytes_per_stage": p.size // p.versions, "versions": p.versions}
                               for p in staged],
            )
            if best is None:
                entry["note"] = "even num_stages=1 does not fit: use smaller tiles"
            elif best == written:
                more = _more_stages(text, path, config, model, written, arch_name, plan.limit)
                if more is None:
                    entry["note"] = ("fits as written; num_stages is not a parameter of the instantiation, so larger "
                                     "values were not tried")
                else:
                    entry["max_num_stages"] = more
            entries.append(entry)
    fitting = [e["max_num_stages"] for e in entries if e["max_num_stages"] is not None]
    first = entries[0]
    return {
        "path": path, "kernel": kernel, "arch": arch_name,
        "max_num_stages": (min(fitting) if len(fitting) == len(entries) else None),
        "bytes_per_stage": first["bytes_per_stage"], "limit": first["limit"],
        "instantiations": entries,
    }


STAGES_CEILING = 32  # the largest num_stages tried for a kernel that fits as written


def _more_stages(text: str, path: str, config: Any, model: Any, written: int, arch: str, limit: int) -> int | None:
    """A kernel that fits with the num_stages written: the planner's count down from STAGES_CEILING, on the
    kernel analysed again with its num_stages parameter set to STAGES_CEILING. None when the stages are not
    a parameter of the instantiation (or a value has no Python literal)."""
    from analyzer.engine import analyze_text
    from analyzer.shared_memory import max_stages_that_fit as planner_max_stages

    from .compile import instantiation_call

    keys = [k for k, v in model.instantiation.items() if "stage" in k.lower() and v == written and type(v) is int]
    if len(keys) != 1:
        return None
    key = keys[0]
    others = {k: v for k, v in model.instantiation.items() if k != key}
    call = instantiation_call(model.site, {**model.instantiation, key: STAGES_CEILING})
    if call is None:
        return None
    again = analyze_text(text, path, config, (call,))
    for other in (again.analysis.models if again.analysis is not None else ()):
        same = {k: v for k, v in other.instantiation.items() if k != key}
        if other.site == model.site and other.name == model.name and same == others \
                and other.instantiation.get(key) == STAGES_CEILING:
            found = planner_max_stages(other, arch, limit)
            return found if found is not None and found >= written else None
    return None


def tile_api(name: str) -> dict[str, Any]:
    """Signature and doc of a `T.*` name (`copy` or `T.copy`) from the catalog."""
    from analyzer import catalog

    from .features import catalog_markdown

    entry = catalog.lookup(name.strip())
    if entry is None:
        close = difflib.get_close_matches(name.removeprefix("T."), list(catalog.CATALOG), n=5)
        hint = f" (did you mean {', '.join('T.' + c for c in close)}?)" if close else ""
        raise ToolFailure(f"T.{name.removeprefix('T.')} is not in the catalog of TileLang "
                          f"{catalog.TILELANG_API_VERSION}{hint}")
    return {
        "name": f"T.{entry.name}",
        "signature": f"T.{catalog.signature(entry)}",
        "category": entry.category,
        "doc": entry.doc,
        "params": [{"name": p.name, "default": p.default, "kind": p.kind} for p in entry.params],
        "default_scope": entry.default_scope,
        "members": list(catalog.ATTRIBUTE_MEMBERS.get(entry.name, ())),
        "markdown": catalog_markdown(entry),
        "tilelang_api_version": catalog.TILELANG_API_VERSION,
    }


def _diag_json(diag: Any) -> Any:
    return diag.to_json() if hasattr(diag, "to_json") else str(diag)


class Compiler:
    """`compile_kernel`: trusted roots, and one compile worker process kept between calls."""

    def __init__(self, trusted_roots: Sequence[str], timeout_s: float = COMPILE_TIMEOUT_S) -> None:
        self.roots = [Path(r).expanduser().resolve() for r in trusted_roots]
        self.timeout_s = timeout_s
        self._service: Any = None  # compile.CompileService, on the first compile

    def check_trusted(self, path: str) -> Path:
        if not self.roots:
            raise ToolFailure("compile_kernel is disabled: compiling runs the file's module-level code, so it is "
                              "allowed only under a trusted folder; start the server with "
                              "`tilelsp mcp --trusted-root DIR`")
        resolved = Path(path).expanduser().resolve()
        if not any(resolved.is_relative_to(root) for root in self.roots):
            roots = ", ".join(str(r) for r in self.roots)
            raise ToolFailure(f"refused: {resolved} is not under a trusted root ({roots}); compiling runs the "
                              "file's module-level code")
        if not resolved.is_file():
            raise ToolFailure(f"{path}: no such file")
        return resolved

    async def compile(self, path: str, instantiate: str, target: str = "cpu",
                      archs: Sequence[str] | None = None) -> dict[str, Any]:
        from .compile import CompileJob, CompileService, KernelJob

        resolved = self.check_trusted(path)
        if target not in ("cpu", "cuda", "auto"):
            raise ToolFailure(f"target must be cpu, cuda or auto (got {target!r})")
        name = instantiate.split("(", 1)[0].strip()
        if not name or "(" not in instantiate:
            raise ToolFailure(f"instantiate must be a call, e.g. 'matmul(1024, 1024, 1024)' (got {instantiate!r})")
        arch_list = list(archs or ())
        if arch_list:
            config = _config(_lint_args(None, (), arch_list))
            arch_list = list(config.arches)
        line = await asyncio.to_thread(self._kernel_line, resolved, name, instantiate)
        if self._service is None:
            self._service = CompileService(lambda _outcome: None)
        outcome = await self._service.compile_now(CompileJob(
            str(resolved), str(resolved), None, (KernelJob(name, instantiate, line),), target, tuple(arch_list),
            self.timeout_s))
        if outcome.error is not None:
            error = f"the compile worker {outcome.failure}: {outcome.error}" if outcome.failure else outcome.error
            return {"ok": False, "path": str(resolved), "call": instantiate, "error": error}
        result = outcome.result
        builds = []
        for build in result.get("builds", []):
            row = dict(build)
            row["diagnostics"] = [_diag_json(d) for d in build.get("diagnostics", [])]
            builds.append(row)
        load_error = result.get("load_error")
        return {
            "ok": not load_error and bool(builds) and all(b["ok"] for b in builds),
            "path": str(resolved), "call": instantiate, "target": result.get("target"),
            "load_error": [_diag_json(d) for d in load_error] if load_error else None,
            "builds": builds,
        }

    @staticmethod
    def _kernel_line(path: Path, name: str, instantiate: str) -> int:
        """0-based line of the kernel `name` (where a failed build is reported); 0 when not found."""
        try:
            report = analyze_kernel(path=str(path), instantiate=[instantiate], archs=None)
        except ToolFailure:
            return 0
        for f in report.get("files", []):
            for k in f.get("kernels", []):
                if name in (k.get("site"), k.get("name")):
                    return int(k.get("line", 0))
        return 0

    async def close(self) -> None:
        if self._service is not None:
            await self._service.close()


# -- the MCP server ---------------------------------------------------------------------------------------


def create_server(compiler: Compiler) -> Any:
    """The MCP server with the five tools (needs `mcp`)."""
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError

    server = MCPServer(
        name="tilelsp", version=__version__,
        instructions="Static analysis (tilelint), rule docs, the TileLang T.* catalog and the tilec compiler for "
                     "TileLang GPU kernels. analyze_kernel before editing a kernel; max_stages_that_fit when TL101 "
                     "reports shared memory over a limit; compile_kernel only for trusted files.",
    )

    def failing(err: ToolFailure) -> ToolError:
        return ToolError(str(err))

    @server.tool(name="analyze_kernel")
    def analyze_kernel_tool(source: str | None = None, path: str | None = None, instantiate: list[str] | None = None,
                            archs: list[str] | None = None) -> dict[str, Any]:
        """Check a TileLang file: exactly the JSON of `tilelint --format json` (diagnostics with 0-based ranges,
        and per kernel its facts: instantiation, grid, threads, buffers, shared memory per arch, registers).
        Give `path` (a file or folder), or `source` (the file's text; `path` then only names it).
        `instantiate`: kernel factory calls binding parameters, e.g. ["matmul(1024, 1024, 1024, 128, 128, 32)"].
        `archs`: e.g. ["sm_80", "sm_86"] or ["all"] (default: the project's, else sm_80,sm_86,sm_89,sm_90)."""
        try:
            return analyze_kernel(source, path, instantiate, archs)
        except ToolFailure as err:
            raise failing(err) from None

    @server.tool(name="explain_rule")
    def explain_rule_tool(code: str) -> str:
        """The documentation of a tilelint rule (as `tilelint --explain CODE`), e.g. code "TL101"."""
        try:
            return explain_rule(code)
        except ToolFailure as err:
            raise failing(err) from None

    @server.tool(name="max_stages_that_fit")
    def max_stages_that_fit_tool(path: str, kernel: str, arch: str,
                                 instantiate: list[str] | None = None) -> dict[str, Any]:
        """The largest num_stages of a kernel's T.Pipelined loops whose shared memory fits `arch` (e.g. sm_86),
        from the analyzer's shared-memory planner, with the bytes each pipeline stage costs and the limit.
        `kernel`: the kernel factory / jit function name. `instantiate` (optional): calls binding the factory's
        parameters, as for analyze_kernel, when the file does not instantiate it."""
        try:
            return max_stages_that_fit(path, kernel, arch, instantiate)
        except ToolFailure as err:
            raise failing(err) from None

    @server.tool(name="compile_kernel")
    async def compile_kernel_tool(path: str, instantiate: str, target: str = "cpu",
                                  archs: list[str] | None = None) -> dict[str, Any]:
        """Compile one kernel instantiation with tilec, e.g. instantiate "matmul(1024, 1024, 1024, 128, 128, 32)".
        target: "cpu" (LLVM build), "cuda" (nvcc + ptxas: dynamic shared memory, registers, spills per arch in
        `archs`) or "auto". Returns per build ok, resources or located errors. Runs the file's module-level
        code: only files under the server's --trusted-root folders are accepted."""
        try:
            return await compiler.compile(path, instantiate, target, archs)
        except ToolFailure as err:
            raise failing(err) from None

    @server.tool(name="tile_api")
    def tile_api_tool(name: str) -> dict[str, Any]:
        """Signature and documentation of a TileLang `T.*` name (e.g. "copy", "T.gemm", "alloc_shared")."""
        try:
            return tile_api(name)
        except ToolFailure as err:
            raise failing(err) from None

    return server


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="tilelsp mcp",
        description="MCP server (stdio) for coding agents: analyze_kernel, explain_rule, max_stages_that_fit, "
                    "compile_kernel, tile_api.",
    )
    p.add_argument("--trusted-root", action="append", default=[], metavar="DIR",
                   help="allow compile_kernel (which runs the file's module) for files under DIR (repeatable; "
                        "default: none, compile_kernel is refused)")
    p.add_argument("--compile-timeout", type=float, default=COMPILE_TIMEOUT_S, metavar="SECONDS",
                   help=f"kill a compile that takes longer (default: {COMPILE_TIMEOUT_S:g})")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        import mcp.server.mcpserver  # noqa: F401
    except ImportError:
        sys.stderr.write(f"tilelsp mcp: error: the MCP server needs the 'mcp' package ({MCP_REQUIREMENT}); "
                         f"install it with: {INSTALL_HINT}\n")
        return EXIT_USAGE
    for root in args.trusted_root:
        if not Path(root).expanduser().is_dir():
            sys.stderr.write(f"tilelsp mcp: error: --trusted-root {root}: not a folder\n")
            return EXIT_USAGE
    server = create_server(Compiler(args.trusted_root, args.compile_timeout))
    server.run("stdio")
    return 0
