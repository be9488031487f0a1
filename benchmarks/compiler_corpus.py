"""How much of TileLang's own examples the compiler handles (opt-in; not part of the test run).

    python benchmarks/compiler_corpus.py /work/corpus/examples [--json OUT]

For each .py file: does `compiler.load` run it unchanged (TileLang absent,
`tilelang` mapped to the compiler)? For each kernel site the analyzer finds
with a complete instantiation (call sites, autotune configs, defaults), does
it trace and build for the CPU? What blocks the rest, by name? Matching each
kernel against its reference is not measured yet (the references use torch).
Each file gets a 30 s alarm; module-level code runs (`if __name__ ==
"__main__"` blocks do not).
"""

from __future__ import annotations

import argparse
import collections
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


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("corpus")
    p.add_argument("--json")
    args = p.parse_args()
    import compiler
    from analyzer.engine import analyze_source
    from compiler.errors import CompileError
    from compiler.loader import instantiate
    from compiler.runtime import build

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
        for k in report.kernels:
            inst = {key: v for key, v in (k.get("instantiation") or {}).items() if isinstance(v, (int, float, str, bool))}
            site = k.get("site")
            if site not in loaded.kernels:
                continue
            stats["kernels"] += 1
            call = f"{site}(" + ", ".join(f"{key}={v!r}" for key, v in inst.items()) + ")"
            entry = {"site": site, "instantiation": call, "result": None}
            signal.alarm(30)
            try:
                build(instantiate(loaded, call))
                entry["result"] = "built"
                stats["built"] += 1
            except CompileError as err:
                entry["result"] = err.diagnostic.message
                blockers[blocker(err.diagnostic.message)] += 1
            except _Timeout:
                entry["result"] = "timeout"
                blockers["timeout"] += 1
            except Exception as err:  # noqa: BLE001 - recorded, the run goes on
                entry["result"] = f"{type(err).__name__}: {str(err)[:200]}"
                blockers[blocker(f"{type(err).__name__}: {err}")] += 1
            finally:
                signal.alarm(0)
            row["kernels"].append(entry)
        rows.append(row)
    print(f"files mentioning tilelang: {stats['files']}")
    print(f"load unchanged through compiler.load: {stats['loaded']}")
    print(f"kernel sites with an analyzer instantiation: {stats['kernels']}")
    print(f"traced and built for the CPU: {stats['built']}")
    print("\nblocking names (count):")
    for name, n in blockers.most_common(40):
        print(f"  {n:4d}  {name}")
    if args.json:
        Path(args.json).write_text(json.dumps({"stats": stats, "blockers": blockers, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
