"""What the fused kernels' self-check costs: the time of one check per configuration.

    python benchmarks/bench_selfcheck.py

The first time a process runs a fused configuration (cell, input size, hidden size, layers,
dtype), seqpred.fused.verified compares one forward and backward with nn's own forward. This
times that comparison (fused.discrepancy) for each cell at several sizes: the median of
--repeats checks, each after the first (which also pays for PyTorch's own first call).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from seqpred import fused  # noqa: E402


def time_check(kind: str, hidden: int, layers: int, repeats: int) -> float:
    """Median seconds of one self-check of a float32 layer, input size 1."""
    layer = getattr(fused, kind)(1, hidden, layers)
    fused.discrepancy(layer, torch.float32)  # warm up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fused.discrepancy(layer, torch.float32)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="Time the fused kernels' self-check.")
    p.add_argument("--repeats", type=int, default=9, help="checks timed per row (default: 9)")
    p.add_argument(
        "--hidden",
        type=int,
        nargs="+",
        default=[20, 64, 256],
        help="hidden sizes (default: 20 64 256)",
    )
    args = p.parse_args(argv)
    torch.set_num_threads(1)  # as each run of a comparison on a 2-core machine
    print(f"tile width {fused.tile_width()} batch columns; one thread; median of {args.repeats}")
    print("| cell | hidden | layers | self-check, ms |")
    print("|---|---|---|---|")
    for kind in ("RNN", "LSTM", "GRU"):
        for hidden in args.hidden:
            for layers in (1, 2):
                ms = 1000 * time_check(kind, hidden, layers, args.repeats)
                print(f"| {kind} | {hidden} | {layers} | {ms:.1f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
