"""TileLang's examples through the CUDA back end: every kernel site the per-site corpus pass built for the
CPU, generated for CUDA and compiled by nvcc (opt-in; needs the corpus venv and nvcc, no GPU).

    python benchmarks/compiler_corpus.py /work/corpus/examples --json SITES.json      # the per-site pass
    python benchmarks/corpus_cuda.py /work/corpus/examples SITES.json [--arch sm_90]

Run it with the corpus venv's python (docs/compiler.md, "Measuring TileLang's examples"): loading a file
runs its module-level code. Prints one line per site (OK with dynamic shared memory and registers, NS for
a construct the CUDA back end refuses, KE for a located kernel or nvcc error, IE for anything else) and
the counts.
"""

from __future__ import annotations

import argparse
import collections
import json
import signal
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("corpus", type=Path)
    p.add_argument("sites", type=Path, help="the --json output of compiler_corpus.py (per-site pass)")
    p.add_argument("--arch", default="sm_90")
    args = p.parse_args()

    from compiler.cuda_codegen import build_artifact
    from compiler.errors import CompileError, KernelError, NotSupported
    from compiler.loader import instantiate, load

    counts: collections.Counter[str] = collections.Counter()
    for row in json.loads(args.sites.read_text())["rows"]:
        sites = [k for k in row.get("kernels") or [] if str(k.get("result", "")).startswith("built")]
        if not sites:
            continue
        try:
            loaded = load(args.corpus / row["file"])
        except Exception as err:  # noqa: BLE001 - a file that no longer loads is reported, the run goes on
            print("LOAD", row["file"], f"{type(err).__name__}: {err}"[:200], flush=True)
            counts["does not load"] += 1
            continue
        for site in sites:
            signal.alarm(120)
            try:
                result = build_artifact(instantiate(loaded, site["instantiation"]), args.arch)
                counts["ok"] += 1
                print("OK", row["file"], site["instantiation"][:70], f"dynamic smem {result.build.dynamic_smem} B,",
                      f"{result.resources.registers} registers", flush=True)
            except NotSupported as err:
                counts["not supported"] += 1
                print("NS", row["file"], str(err)[:150], flush=True)
            except (CompileError, KernelError) as err:
                counts["kernel or nvcc error"] += 1
                print("KE", row["file"], str(err)[:200].replace("\n", " "), flush=True)
            except Exception as err:  # noqa: BLE001 - an internal failure is a finding, the run goes on
                counts["internal error"] += 1
                print("IE", row["file"], f"{type(err).__name__}: {err}"[:300].replace("\n", " "), flush=True)
            finally:
                signal.alarm(0)
    print(dict(counts))
    return 0 if not counts["internal error"] else 1


if __name__ == "__main__":
    sys.exit(main())
