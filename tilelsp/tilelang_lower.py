#!/usr/bin/env python3
"""Ask a real TileLang how much shared memory a kernel needs.

This script is the language server's TileLang back end (compile-on-save with
``compileBackend: "tilelang"``: tilelsp/compile_worker.py runs it under the
user's TileLang interpreter) and the "oracle" side of
``tests/oracle/test_oracle_smem.py`` (as tests/oracle/lower_with_tilelang.py).
It runs under the python of a separate TileLang 0.1.15 installation (CPU only
is enough: it lowers, it never compiles with nvcc nor runs anything) and MUST
NOT import anything from the tilelsp repository.

Input: a JSON file (or ``-`` for stdin) holding a list of requests (or an
object ``{"requests": [...]}``)::

    {"path": "examples/gemm/example_gemm.py", "site": "matmul", "style": "eager",
     "kernel": "main", "instantiation": {"M": 1024, "block_M": 128, ...},
     "archs": ["sm_80", "sm_90"],
     "pass_configs": {...}}          # optional, merged over the jit decorator's

``style`` is ``factory`` (function returning a PrimFunc, possibly wrapped by
``@tilelang.jit`` / ``@autotune``), ``prim_func`` (module level PrimFunc, or a
jit wrapping one) or ``eager`` (``@tilelang.jit`` function using
``T.const``); the kind of object found is what actually decides how it is
built, ``style`` is only echoed back.

Output: one JSON line per request (on stdout, or ``-o FILE``), in completion
order, carrying ``index`` (position in the input) and::

    {"index", "path", "site", "style", "kernel", "instantiation",
     "prim_func": "<global_symbol of the PrimFunc that was built>",
     "pass_configs": {...},                     # what the PassContext got
     "result": {"sm_80": {"dyn_shared_memory_buf": N,      # max over device fns
                          "kernels": {"<device fn>": N, ...},
                          "static_shared_bytes": {"<device fn>": N, ...},  # scope "shared", if any
                          "other_shared_bytes": {"<device fn>": {"shared.barrier": 48}},  # if any
                          "seconds": 1.3}
                or {"error": "Type: first line"}, ...}}
    or {..., "error": "<exception type>: <first line of message>"}

Every file is handled in its own child process (so a segfault or a hang only
costs that file's current request); ``--timeout`` is the longest a child may go
without finishing a request (the module import counts towards the first one).
After a crash or a timeout the remaining requests of that file are retried in
a fresh child. Tracebacks and everything the examples print go to ``--log``
(discarded without it); stderr only gets a short progress summary.

Usage::

    /work/tl-venv/bin/python tests/oracle/lower_with_tilelang.py requests.json \\
        --jobs 2 --timeout 180 --log oracle.log -o results.jsonl
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import select
import subprocess
import sys
import tempfile
import threading
import time
import traceback

DEFAULT_ARCHS = ["sm_80", "sm_90"]


def _short_error(exc: BaseException) -> str:
    msg = str(exc).strip()
    first = ""
    for line in msg.splitlines():
        line = line.strip()
        if line:
            first = line
            break
    if len(first) > 300:
        first = first[:297] + "..."
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


# --------------------------------------------------------------------------
# child side: runs inside the TileLang interpreter, one process per file
# --------------------------------------------------------------------------


class _Child:
    def __init__(self, result_fd: int):
        self.out = os.fdopen(result_fd, "w", buffering=1)
        self.tilelang = None

    def emit(self, obj) -> None:
        self.out.write(json.dumps(obj, default=str) + "\n")
        self.out.flush()

    # -- helpers ------------------------------------------------------------

    skipped: list = []

    def _import_tilelang(self):
        import tilelang  # noqa: F401
        from tilelang import tvm  # noqa: F401

        self.tilelang = tilelang

    def _import_module(self, path: str):
        import importlib.util

        directory = os.path.dirname(path)
        if directory not in sys.path:
            sys.path.insert(0, directory)
        os.chdir(directory)
        # examples parse sys.argv at import time sometimes: give them none
        sys.argv = [path]
        stem = os.path.splitext(os.path.basename(path))[0]
        name = "tl_oracle_" + "".join(c if c.isalnum() else "_" for c in stem)
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load {path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        for _ in range(12):
            try:
                spec.loader.exec_module(module)
                return module
            except ModuleNotFoundError as exc:
                # An optional package the example imports but its kernels do not
                # need (fla, einops helpers, plotting): stand it in and retry.
                if not exc.name or exc.name in sys.modules:
                    self.skipped.append(f"import: {_short_error(exc)}")
                    break
                self.skipped.append(f"stubbed missing module {exc.name}")
                _install_stub(exc.name)
                module = importlib.util.module_from_spec(spec)
                sys.modules[name] = module
            except (Exception, SystemExit) as exc:  # noqa: BLE001
                self.skipped.append(f"import: {_short_error(exc)}")
                break
        # The plain import failed (module-level GPU set-up, sys.exit, a missing
        # optional package): run the module again one top-level statement at a
        # time, skipping those that fail; the kernels and their factories are
        # definitions and survive. Blocks guarded by `__name__ == '__main__'` never run.
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        import ast

        with open(path, encoding="utf-8") as handle:
            tree = ast.parse(handle.read(), path)
        for node in tree.body:
            if _is_main_guard(node):
                continue
            code = compile(ast.Module(body=[node], type_ignores=[]), path, "exec", dont_inherit=True)
            try:
                exec(code, module.__dict__)
            except (Exception, SystemExit) as exc:  # noqa: BLE001
                self.skipped.append(f"line {node.lineno}: {_short_error(exc)}")
        return module

    @staticmethod
    def _convert_value(value):
        """JSON value -> what the example expects (dtype strings -> T.dtype)."""
        import tilelang.language as T

        if isinstance(value, str):
            try:
                dt = T.dtype(value)
            except Exception:
                return value
            return dt if str(dt) == value else value
        if isinstance(value, list):
            # JSON has no tuples; kernels hash their arguments, and tuples hash
            return tuple(_Child._convert_value(v) for v in value)
        return value

    @staticmethod
    def _unwrap(obj):
        """Peel @autotune wrappers; returns (object, jit_impl or None)."""
        from tilelang.jit import JITImpl

        try:
            from tilelang.autotuner.tuner import AutoTuneImpl
        except Exception:  # pragma: no cover - layout of other versions
            AutoTuneImpl = ()
        seen = 0
        while AutoTuneImpl and isinstance(obj, AutoTuneImpl) and seen < 8:
            obj = obj.jit_impl
            seen += 1
        if isinstance(obj, JITImpl):
            return obj, obj
        return obj, None

    @staticmethod
    def _pass_config_keys(pc: dict) -> dict:
        """Accept "tl.xxx" keys as well as PassConfigKey member names."""
        try:
            from tilelang.transform import PassConfigKey
        except Exception:  # pragma: no cover
            return dict(pc)
        out = {}
        for k, v in pc.items():
            name = str(k).split(".")[-1] if str(k).startswith("PassConfigKey.") else str(k)
            member = getattr(PassConfigKey, name, None)
            out[member.value if member is not None else k] = v
        return out

    def _split_pass_configs(self, raw, obj, jit, kwargs) -> dict:
        """@autotune configs may carry "pass_configs" (a reserved key there):
        take it out of the arguments and apply it like the tuner does."""
        import inspect

        try:
            from tilelang.autotuner.tuner import AutoTuneImpl
        except Exception:  # pragma: no cover
            AutoTuneImpl = None
        pc = {}
        if "__pass_configs__" in kwargs:
            pc.update(kwargs.pop("__pass_configs__") or {})
        if "pass_configs" in kwargs:
            takes_it = False
            if not (AutoTuneImpl is not None and isinstance(raw, AutoTuneImpl)):
                try:
                    sig = jit.signature if jit is not None else inspect.signature(obj)
                    takes_it = "pass_configs" in sig.parameters
                except Exception:
                    takes_it = False
            if not takes_it:
                pc.update(kwargs.pop("pass_configs") or {})
        return self._pass_config_keys(pc)

    def _build(self, obj, jit, kwargs):
        """Build the PrimFunc (inside the caller's Target context)."""
        from tilelang import tvm
        from tvm.tirx import PrimFunc

        if jit is not None:
            # what JITImpl.get_tir does, minus its own frontend target
            # context: the arch we lower for must be the current target.
            tir = jit.get_tir(**kwargs)
        elif isinstance(obj, (PrimFunc, tvm.IRModule)):
            if kwargs:
                raise TypeError("instantiation given for a PrimFunc object")
            tir = obj
        elif callable(obj):
            tir = obj(**kwargs)
        else:
            raise TypeError(f"site is a {type(obj).__name__}, not a kernel")
        if not isinstance(tir, (PrimFunc, tvm.IRModule)):
            raise TypeError(f"site returned {type(tir).__name__}, not a PrimFunc")
        return tir

    @staticmethod
    def _pass_configs(tir, jit, extra):
        from tvm.tirx import PrimFunc

        merged = {}
        if isinstance(tir, PrimFunc) and tir.attrs is not None and "tilelang_pass_configs" in tir.attrs:
            merged.update(dict(tir.attrs["tilelang_pass_configs"]))
        if jit is not None and jit.pass_configs:
            merged.update(jit.pass_configs)
        if extra:
            merged.update(extra)
        try:
            from tilelang.transform.pass_config import normalize_pass_configs

            return normalize_pass_configs(merged)
        except ImportError:  # pragma: no cover
            return {getattr(k, "value", k): v for k, v in merged.items()}

    @staticmethod
    def _static_shared(fn) -> dict:
        """Bytes of statically sized shared buffers, by scope ('shared', 'shared.barrier', ...).

        'shared.dyn' is what ``dyn_shared_memory_buf`` already counts."""
        from tvm import tirx

        total: dict = {}

        def visit(node):
            buf = getattr(node, "buffer", None)
            if type(node).__name__ not in ("AllocBuffer", "Allocate") or buf is None:
                return
            try:
                scope = buf.scope()
                if not scope.startswith("shared") or scope == "shared.dyn":
                    return
                n = 1
                for s in buf.shape:
                    n *= int(s)
                total[scope] = total.get(scope, 0) + n * ((buf.dtype.bits * buf.dtype.lanes + 7) // 8)
            except Exception:
                total["unknown"] = -1

        try:
            tirx.stmt_functor.post_order_visit(fn.body, visit)
        except Exception:
            return {"unknown": -1}
        return total

    def _lower_one(self, obj, jit, kwargs, arch, extra_pc, record):
        import tilelang
        from tilelang import tvm

        t0 = time.perf_counter()
        target = tvm.target.Target({"kind": "cuda", "arch": arch})
        with target:
            tir = self._build(obj, jit, kwargs)
            pc = self._pass_configs(tir, jit, extra_pc)
            if "prim_func" not in record:
                try:
                    record["prim_func"] = str(tir.attrs["global_symbol"]) if tir.attrs is not None else None
                except Exception:
                    record["prim_func"] = None
                record["pass_configs"] = {str(k): v for k, v in pc.items()}
            with tvm.transform.PassContext(opt_level=3, config=pc):
                art = tilelang.lower(tir, target=target)
        kernels, static, other = {}, {}, {}
        for gv, fn in art.device_mod.functions.items():
            attrs = fn.attrs
            dyn = 0
            if attrs is not None and "dyn_shared_memory_buf" in attrs:
                dyn = int(attrs["dyn_shared_memory_buf"])
            kernels[gv.name_hint] = dyn
            by_scope = self._static_shared(fn)
            if by_scope.get("shared"):
                static[gv.name_hint] = by_scope.pop("shared")
            else:
                by_scope.pop("shared", None)
            if by_scope:
                other[gv.name_hint] = by_scope
        out = {
            "dyn_shared_memory_buf": max(kernels.values()) if kernels else 0,
            "kernels": kernels,
            "seconds": round(time.perf_counter() - t0, 3),
        }
        if static:
            out["static_shared_bytes"] = static
        if other:
            out["other_shared_bytes"] = other
        return out

    # -- main loop ----------------------------------------------------------

    def run(self, job) -> None:
        path = job["path"]
        items = job["requests"]
        t0 = time.perf_counter()
        module = None
        import_error = None
        try:
            self._import_tilelang()
            module = self._import_module(path)
        except BaseException as exc:  # SystemExit from examples too
            import_error = "import: " + _short_error(exc)
            print(f"=== import of {path} failed", file=sys.stderr)
            traceback.print_exc()
        print(f"=== import of {path}: {time.perf_counter() - t0:.2f}s", file=sys.stderr)
        self.emit({"event": "imported", "seconds": round(time.perf_counter() - t0, 3)})

        for index, req in items:
            self.emit({"event": "start", "index": index})
            record = {"index": index}
            rt0 = time.perf_counter()
            if import_error is not None:
                record["error"] = import_error
                self.emit({"event": "done", "index": index, "record": record})
                continue
            print(f"=== request {index}: {req.get('site')} {req.get('instantiation')}", file=sys.stderr)
            try:
                site = req["site"]
                if not hasattr(module, site):
                    raise AttributeError(f"module has no attribute {site!r}")
                raw = getattr(module, site)
                obj, jit = self._unwrap(raw)
                kwargs = {k: self._convert_value(v) for k, v in (req.get("instantiation") or {}).items()}
                extra_pc = self._split_pass_configs(raw, obj, jit, kwargs)
                if req.get("pass_configs"):
                    extra_pc.update(self._pass_config_keys(req["pass_configs"]))
                results = {}
                for arch in req.get("archs") or DEFAULT_ARCHS:
                    try:
                        results[arch] = self._lower_one(obj, jit, kwargs, arch, extra_pc, record)
                    except BaseException as exc:
                        if isinstance(exc, KeyboardInterrupt):
                            raise
                        print(f"--- {arch} failed", file=sys.stderr)
                        traceback.print_exc()
                        results[arch] = {"error": _short_error(exc)}
                record["result"] = results
            except BaseException as exc:
                if isinstance(exc, KeyboardInterrupt):
                    raise
                traceback.print_exc()
                record["error"] = _short_error(exc)
            record["seconds"] = round(time.perf_counter() - rt0, 3)
            self.emit({"event": "done", "index": index, "record": record})
        sys.stderr.flush()
        sys.stdout.flush()


def child_main(result_fd: int) -> int:
    job = json.load(sys.stdin)
    _Child(result_fd).run(job)
    return 0


# --------------------------------------------------------------------------
# parent side: plain python, no TileLang import
# --------------------------------------------------------------------------


class _Runner:
    def __init__(self, python: str, timeout: float, log_path: str | None):
        self.python = python
        self.timeout = timeout
        self.log_path = log_path
        self.log_lock = threading.Lock()
        self.records: queue.Queue = queue.Queue()
        if log_path:
            open(log_path, "w").close()

    def _append_log(self, header: str, path: str) -> None:
        if not self.log_path:
            return
        with self.log_lock, open(self.log_path, "a", errors="replace") as out:
            out.write(f"\n{'#' * 78}\n# {header}\n{'#' * 78}\n")
            try:
                with open(path, errors="replace") as f:
                    out.write(f.read())
            except OSError:
                pass

    def _run_child(self, abspath: str, items, attempt: int):
        """Run one child; returns (done records, started-but-unfinished index, failure text)."""
        rfd, wfd = os.pipe()
        logf = tempfile.NamedTemporaryFile("w+", prefix="tl_oracle_", suffix=".log", delete=False)
        env = dict(os.environ)
        env.setdefault("PYTHONUNBUFFERED", "1")
        env.setdefault("TQDM_DISABLE", "1")
        proc = subprocess.Popen(
            [self.python, os.path.abspath(__file__), "--child", str(wfd)],
            stdin=subprocess.PIPE,
            stdout=logf,
            stderr=subprocess.STDOUT,
            pass_fds=(wfd,),
            env=env,
            cwd=os.path.dirname(abspath),
            start_new_session=True,
        )
        os.close(wfd)
        try:
            proc.stdin.write(json.dumps({"path": abspath, "requests": items}).encode())
            proc.stdin.close()
        except BrokenPipeError:
            pass
        done, current, failure = {}, None, None
        buf = b""
        last = time.monotonic()
        reader = os.fdopen(rfd, "rb", buffering=0)
        eof = False
        while not eof:
            remaining = self.timeout - (time.monotonic() - last)
            if remaining <= 0:
                failure = f"Timeout: no progress for {self.timeout:g}s"
                try:
                    os.killpg(proc.pid, 9)
                except ProcessLookupError:
                    pass
                break
            ready, _, _ = select.select([reader], [], [], min(remaining, 5.0))
            if not ready:
                continue
            chunk = reader.read(65536)
            if not chunk:
                eof = True
                break
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                try:
                    ev = json.loads(line)
                except ValueError:
                    continue
                kind = ev.get("event")
                if kind == "start":
                    current = ev["index"]
                    last = time.monotonic()
                elif kind == "done":
                    done[ev["index"]] = ev["record"]
                    self.records.put(ev["record"])
                    current = None
                    last = time.monotonic()
                elif kind == "imported":
                    last = time.monotonic()
        reader.close()
        try:
            rc = proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            rc = proc.wait()
        if failure is None and len(done) < len(items):
            failure = f"ChildCrashed: exit status {rc}" if rc >= 0 else f"ChildCrashed: killed by signal {-rc}"
        logf.close()
        self._append_log(f"{abspath} (attempt {attempt}, rc={rc}{', ' + failure if failure else ''})", logf.name)
        os.unlink(logf.name)
        return done, current, failure

    def run_file(self, abspath: str, items) -> None:
        attempt = 0
        while items:
            attempt += 1
            done, current, failure = self._run_child(abspath, items, attempt)
            pending = [(i, r) for i, r in items if i not in done]
            if not pending:
                return
            if current is None:
                # died or hung before starting a request: the import is at fault
                for i, _ in pending:
                    self.records.put({"index": i, "error": f"import: {failure}"})
                return
            self.records.put({"index": current, "error": failure})
            items = [(i, r) for i, r in pending if i != current]


def _load_requests(source: str):
    text = sys.stdin.read() if source == "-" else open(source).read()
    text = text.strip()
    if not text:
        return []
    if text[0] in "[{":
        data = json.loads(text)
        if isinstance(data, dict):
            data = data.get("requests", [data])
        return list(data)
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("requests", nargs="?", default="-", help="JSON file with the requests, '-' for stdin")
    ap.add_argument("--jobs", "-j", type=int, default=2, help="files lowered in parallel (default 2)")
    ap.add_argument("--timeout", type=float, default=180.0, help="seconds a child may go without finishing a request (default 180)")
    ap.add_argument("--log", help="file receiving the children's output and tracebacks")
    ap.add_argument("-o", "--output", help="write the JSON lines here instead of stdout")
    ap.add_argument("--python", default=sys.executable, help="TileLang python for the children (default: this one)")
    ap.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.child is not None:
        return child_main(args.child)

    requests = _load_requests(args.requests)
    by_file: dict[str, list] = {}
    for index, req in enumerate(requests):
        abspath = os.path.realpath(os.path.abspath(req["path"]))
        by_file.setdefault(abspath, []).append((index, req))

    runner = _Runner(args.python, args.timeout, args.log)
    out = open(args.output, "w") if args.output else sys.stdout
    t0 = time.perf_counter()
    stats = {"ok": 0, "error": 0, "arch_error": 0}

    files = list(by_file.items())
    next_file = [0]
    lock = threading.Lock()

    def worker():
        while True:
            with lock:
                if next_file[0] >= len(files):
                    return
                abspath, items = files[next_file[0]]
                next_file[0] += 1
            try:
                runner.run_file(abspath, items)
            except Exception as exc:  # parent bug: do not lose the requests
                for i, _ in items:
                    runner.records.put({"index": i, "error": "oracle: " + _short_error(exc), "_maybe_dup": True})

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(max(1, args.jobs))]
    for t in threads:
        t.start()

    emitted: set[int] = set()
    while len(emitted) < len(requests):
        try:
            rec = runner.records.get(timeout=1.0)
        except queue.Empty:
            if not any(t.is_alive() for t in threads) and runner.records.empty():
                break
            continue
        index = rec["index"]
        if index in emitted:
            continue
        rec.pop("_maybe_dup", None)
        emitted.add(index)
        req = requests[index]
        line = {
            "index": index,
            "path": req.get("path"),
            "site": req.get("site"),
            "style": req.get("style"),
            "kernel": req.get("kernel"),
            "instantiation": req.get("instantiation") or {},
        }
        line.update({k: v for k, v in rec.items() if k != "index"})
        if "error" in line:
            stats["error"] += 1
        else:
            stats["ok"] += 1
            stats["arch_error"] += sum(1 for r in line.get("result", {}).values() if "error" in r)
        out.write(json.dumps(line, default=str) + "\n")
        out.flush()
    if out is not sys.stdout:
        out.close()
    print(
        f"lower_with_tilelang: {len(requests)} requests in {len(files)} files, "
        f"{stats['ok']} built ({stats['arch_error']} arch lowerings failed), {stats['error']} failed, "
        f"{time.perf_counter() - t0:.1f}s",
        file=sys.stderr,
    )
    return 0


class _Stub:
    """Stands in for a missing optional module: every attribute is another stub."""

    def __init__(self, name: str):
        self.__name__ = name
        self.__path__: list = []

    def __getattr__(self, attr: str):
        if attr.startswith("__"):
            raise AttributeError(attr)
        return _Stub(f"{self.__name__}.{attr}")

    def __call__(self, *args, **kwargs):
        return _Stub(self.__name__ + "()")

    def __iter__(self):
        return iter(())


def _install_stub(name: str) -> None:
    parts = name.split(".")
    for i in range(1, len(parts) + 1):
        sys.modules.setdefault(".".join(parts[:i]), _Stub(".".join(parts[:i])))  # type: ignore[arg-type]


def _is_main_guard(node) -> bool:
    import ast

    return (
        isinstance(node, ast.If)
        and isinstance(node.test, ast.Compare)
        and isinstance(node.test.left, ast.Name)
        and node.test.left.id == "__name__"
    )


if __name__ == "__main__":
    sys.exit(main())
