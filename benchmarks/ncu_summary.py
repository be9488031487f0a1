"""Summarise Nsight Compute text reports (one `ncu_<artifact>.txt` per kernel) as a markdown table.

The reports come from the device machine:

    PYTHONPATH=. ncu --kernel-name main_kernel --launch-count 1 --section SpeedOfLight --section Occupancy \
        --section LaunchStats --section WarpStateStats --section MemoryWorkloadAnalysis \
        python3 benchmarks/gpu_speed.py --ours build/our_bench --only ARTIFACT --warmup 0 --iters 1 \
        --no-torch-variants --no-flush > ncu_ARTIFACT.txt

(ncu profiles the first launch, the correctness check, at its own locked clocks: durations are longer than
gpu_speed.py's.) Usage: python benchmarks/ncu_summary.py benchmarks/results/ncu
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

METRICS = [
    ("Duration", "duration"), ("Compute (SM) Throughput", "SM %"), ("Memory Throughput", "memory %"),
    ("DRAM Throughput", "DRAM %"),
    ("L2 Hit Rate", "L2 hit %"), ("Registers Per Thread", "regs"), ("Dynamic Shared Memory Per Block", "dyn smem"),
    ("Theoretical Occupancy", "theor. occ %"), ("Achieved Occupancy", "occ %"),
    ("Warp Cycles Per Issued Instruction", "cycles/issue"),
]


def metric(text: str, name: str) -> str:
    m = re.search(rf"^\s*{re.escape(name)}\s+(\S+)\s+([\d.,]+)\s*$", text, re.M)
    if not m:
        return "–"
    unit, value = m.group(1), m.group(2)
    return f"{value} {unit}" if unit in ("ms", "us", "Kbyte/block") else value


def top_stall(text: str) -> str:
    """The first warp-state rule: '<cycles> cycles stalled <reason> (<share> of the issue interval)'."""
    m = re.search(r"each warp of this workload spends ([\d.]+) cycles being stalled (.+?)\.\s", text.replace("\n", " "))
    if not m:
        return "–"
    reason = re.sub(r"\s+", " ", m.group(2))
    share = re.search(r"This stall type represents about ([\d.]+)% of the total", text.replace("\n", " "))
    return f"{m.group(1)} cycles {reason}" + (f" ({share.group(1)} %)" if share else "")


def main(argv: list[str]) -> int:
    directory = Path(argv[1] if len(argv) > 1 else "benchmarks/results/ncu")
    rows = []
    for path in sorted(directory.glob("ncu_*.txt")):
        text = re.sub(r"\s+\n", "\n", path.read_text(errors="replace"))
        rows.append([path.stem[4:]] + [metric(text, name) for name, _ in METRICS] + [top_stall(text)])
    header = ["kernel"] + [label for _, label in METRICS] + ["top stall (ncu rule)"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for r in rows:
        print("| " + " | ".join(r) + " |")
    return 0 if rows else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
