"""Benchmark the competition view's global training: the C kernels against PyTorch's own layers
(--impl torch) on the same job, in fresh processes, alternating.

    python benchmarks/bench_competition.py                 # GRU, 3 epochs, M3 monthly, 3 runs each
    python benchmarks/bench_competition.py --repeats 1 --model LSTM

Each run is `compare_results.py --dataset m3-monthly --models MODEL --seeds 1 --epochs E --impl
IMPL`, as a user would run it: the same windows, the same seed, the same work. The table gives
medians of the wall time, the peak memory of the process tree and the training windows per
second (windows x epochs / the run's own training seconds), with the ratio of the medians.
Every run is appended as a JSON line to --json.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from measure import measure  # noqa: E402  (benchmarks/measure.py, beside this file)


def one_run(impl: str, args) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [
            sys.executable,
            str(ROOT / "compare_results.py"),
            *["--dataset", args.dataset, "--models", args.model, "--seeds", "1"],
            *["--epochs", str(args.epochs), "--impl", impl, "--jobs", "1", "--out-dir", tmp],
        ]
        m = measure(cmd, ROOT)
        r = json.loads((Path(tmp) / "results.json").read_text())
    (run,) = r["runs"]
    return {
        **m,
        "impl": impl,
        "windows_per_second": r["windows"] * args.epochs / run["seconds"],
        "training_seconds": run["seconds"],
        "dataset": args.dataset,
        "model": args.model,
        "epochs": args.epochs,
        "machine": platform.platform(),
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", default="m3-monthly")
    p.add_argument("--model", default="GRU", choices=("RNN", "LSTM", "GRU"))
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--json", default=str(ROOT / "benchmarks" / "results.jsonl"))
    args = p.parse_args(argv)
    runs = []
    for _ in range(args.repeats):
        for impl in ("fused", "torch"):  # alternating: both meet the same machine
            run = one_run(impl, args)
            runs.append(run)
            with open(args.json, "a", encoding="utf-8") as f:
                f.write(json.dumps({"bench": "competition", **run}) + "\n")
            print(f"{impl}: {run['wall_seconds']:.1f} s, {run['windows_per_second']:.0f} windows/s")
    print(f"\n{args.model} on {args.dataset}, {args.epochs} epochs, medians of {args.repeats}:")
    med = {
        impl: {k: statistics.median(r[k] for r in runs if r["impl"] == impl) for k in KEYS}
        for impl in ("fused", "torch")
    }
    for k in KEYS:
        ratio = med["fused"][k] / med["torch"][k]
        print(
            f"  {k:20s} fused {med['fused'][k]:10.1f}  torch {med['torch'][k]:10.1f}  "
            f"fused/torch {ratio:.2f}"
        )
    return 0


KEYS = ("wall_seconds", "peak_rss_mb", "windows_per_second")

if __name__ == "__main__":
    sys.exit(main())
