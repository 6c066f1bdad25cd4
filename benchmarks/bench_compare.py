"""Benchmark the comparison: wall time, time per epoch, peak memory and final test MSE.

    python benchmarks/bench_compare.py                      # fast vs baseline, default flags
    python benchmarks/bench_compare.py --mode fast --seeds 5
    python benchmarks/bench_compare.py --scaling            # cost against sequence length

`fast` runs compare_results.py as a user would. `baseline` trains the same three models the
plain way the article does: a per-sample Dataset and a DataLoader (batch 500, shuffled), the
test loss computed with autograd still on, nn.RNN/LSTM/GRU, one model after another in one
process. Each run is a separate process; its peak memory is sampled over the whole process
tree (RSS summed, and PSS, which counts pages shared between processes once). Every run appends
a JSON line to --json. Timings are medians over --repeats runs, and the ratio is taken between
runs made side by side in this one invocation.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


# ----------------------------------------------------------------------------- the baseline
def baseline_run(epochs: int, seed: int, device_name: str, out_json: str) -> None:
    """The article's training loop, for the three models in turn; results to out_json."""
    import torch
    from torch.utils.data import DataLoader, Dataset

    import data as datasets
    from models import build_model

    class WindowDataset(Dataset):  # one window per __getitem__, as in the article
        def __init__(self, x, y):
            self.x, self.y = x, y

        def __len__(self):
            return len(self.x)

        def __getitem__(self, i):
            return self.x[i], self.y[i]

    device = torch.device(device_name)
    d = datasets.build_sine(80, 0.2)
    train = DataLoader(WindowDataset(d.train_x, d.train_y), batch_size=500, shuffle=True)
    test = DataLoader(WindowDataset(d.test_x, d.test_y), batch_size=500)
    results = {}
    for kind in ("RNN", "LSTM", "GRU"):
        torch.manual_seed(seed)
        model = build_model(kind, hidden_size=20, impl="torch").to(device)
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        loss_fn = torch.nn.MSELoss()
        start = time.perf_counter()
        for _ in range(epochs):
            model.train()
            for xb, yb in train:
                xb, yb = xb.to(device), yb.to(device)
                optimizer.zero_grad()
                loss = loss_fn(model(xb), yb)
                loss.backward()
                optimizer.step()
            model.eval()
            total = 0.0
            for xb, yb in test:  # autograd still on, a host sync per batch
                total += loss_fn(model(xb.to(device)), yb.to(device)).item() * len(xb)
            test_loss = total / len(test.dataset)
        seconds = time.perf_counter() - start
        results[kind] = {"train_seconds": seconds, "final_test_loss": test_loss}
    Path(out_json).write_text(json.dumps(results))


# ----------------------------------------------------------------------------- measuring
def tree_memory_mb(root_pid: int) -> tuple[float, float]:
    """(RSS summed, PSS summed) over a process and all its descendants, in MB (Linux)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    rss = pss = 0.0
    todo = [root_pid]
    while todo:
        pid = todo.pop()
        todo += children.get(pid, [])
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Rss:"):
                    rss += int(line.split()[1]) / 1024
                elif line.startswith("Pss:"):
                    pss += int(line.split()[1]) / 1024
        except OSError:
            continue
    return rss, pss


def measure(cmd: list[str]) -> dict:
    """Run a command, sampling the memory of its process tree; wall time and peaks."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    peak_rss = peak_pss = 0.0
    while proc.poll() is None:
        rss, pss = tree_memory_mb(proc.pid)
        peak_rss, peak_pss = max(peak_rss, rss), max(peak_pss, pss)
        time.sleep(0.1)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"bench: {' '.join(cmd)} failed:\n{proc.stderr[-2000:]}")
    return {"wall_seconds": wall, "peak_rss_mb": peak_rss, "peak_pss_mb": peak_pss}


def run_once(mode: str, args, workdir: Path) -> dict:
    """One full comparison in a fresh process; per-model seconds and final test MSE."""
    if mode == "baseline":
        out = workdir / "baseline.json"
        cmd = [
            sys.executable,
            __file__,
            "--baseline-run",
            "--epochs",
            str(args.epochs),
            "--device",
            args.device,
            "--out",
            str(out),
        ]
        result = measure(cmd)
        models = json.loads(out.read_text())
    else:
        out = workdir / "fast"
        cmd = [
            sys.executable,
            str(ROOT / "compare_results.py"),
            "--epochs",
            str(args.epochs),
            "--seeds",
            str(args.seeds),
            "--device",
            args.device,
            "--out-dir",
            str(out),
            "--data-dir",
            str(workdir),
            "--sequence-length",
            str(args.sequence_length),
            "--log-interval",
            str(10**6),
        ]
        if args.sequence_length != 80:
            cmd += ["--generate-data", "--predict-start", "0", "--predict-steps", "10"]
        if args.jobs:
            cmd += ["--jobs", str(args.jobs)]
        result = measure(cmd)
        report = json.loads((out / "results.json").read_text())
        models = {
            kind: {
                "train_seconds": m["summary"]["train_seconds"]["mean"],
                "final_test_loss": m["summary"]["final_test_loss"]["mean"],
            }
            for kind, m in report["models"].items()
        }
    for m in models.values():
        m["ms_per_epoch"] = 1000 * m["train_seconds"] / args.epochs
    return {
        "mode": mode,
        "epochs": args.epochs,
        "seeds": args.seeds if mode == "fast" else 1,
        "sequence_length": args.sequence_length,
        "device": args.device,
        **result,
        "models": models,
    }


def summarize(runs: list[dict]) -> str:
    """Medians per mode, and the baseline/fast ratio of the medians."""
    lines = [
        "| mode | runs | wall s (median) | ms/epoch RNN / LSTM / GRU | peak RSS MB (tree) | "
        "peak PSS MB | final test MSE RNN / LSTM / GRU |",
        "|---|---|---|---|---|---|---|",
    ]
    medians = {}
    for mode in ("baseline", "fast"):
        rs = [r for r in runs if r["mode"] == mode]
        if not rs:
            continue
        med = {
            k: statistics.median(r[k] for r in rs)
            for k in ("wall_seconds", "peak_rss_mb", "peak_pss_mb")
        }
        medians[mode] = med["wall_seconds"]
        per_epoch = " / ".join(
            f"{statistics.median(r['models'][k]['ms_per_epoch'] for r in rs):.0f}"
            for k in ("RNN", "LSTM", "GRU")
        )
        mse = " / ".join(
            f"{statistics.median(r['models'][k]['final_test_loss'] for r in rs):.1e}"
            for k in ("RNN", "LSTM", "GRU")
        )
        lines.append(
            f"| {mode} | {len(rs)} | {med['wall_seconds']:.1f} | {per_epoch} | "
            f"{med['peak_rss_mb']:.0f} | {med['peak_pss_mb']:.0f} | {mse} |"
        )
    if len(medians) == 2:
        lines.append(
            f"\nspeed-up (median baseline wall / median fast wall): "
            f"{medians['baseline'] / medians['fast']:.1f}x"
        )
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="Benchmark compare_results.py against the plain way.")
    p.add_argument(
        "--mode",
        choices=("both", "fast", "baseline"),
        default="both",
        help="what to run (default: both, alternating, side by side)",
    )
    p.add_argument("--epochs", type=int, default=500, help="epochs (default: 500)")
    p.add_argument("--seeds", type=int, default=1, help="seeds, fast mode only (default: 1)")
    p.add_argument("--jobs", type=int, help="compare_results.py --jobs (default: its own)")
    p.add_argument("--device", default="cpu", help="cpu or cuda (default: cpu)")
    p.add_argument("--sequence-length", type=int, default=80, help="(default: 80)")
    p.add_argument("--repeats", type=int, default=3, help="runs per mode (default: 3)")
    p.add_argument(
        "--scaling",
        action="store_true",
        help="instead: fast mode at sequence lengths 40, 80, 160 and at two epoch "
        "counts, to show the cost is linear in both",
    )
    p.add_argument(
        "--json",
        default="benchmarks/results.jsonl",
        help="file to append one JSON line per run to (default: benchmarks/results.jsonl)",
    )
    p.add_argument("--baseline-run", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--out", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.baseline_run:
        baseline_run(args.epochs, 0, args.device, args.out)
        return 0

    if args.scaling:
        plan = [
            ("fast", dict(sequence_length=L, epochs=e))
            for L in (40, 80, 160)
            for e in (args.epochs // 2, args.epochs)
        ]
    else:
        modes = ("baseline", "fast") if args.mode == "both" else (args.mode,)
        plan = [(mode, {}) for _ in range(args.repeats) for mode in modes]
    runs = []
    for mode, overrides in plan:
        run_args = argparse.Namespace(**{**vars(args), **overrides})
        with tempfile.TemporaryDirectory() as tmp:
            r = run_once(mode, run_args, Path(tmp))
        runs.append(r)
        with open(ROOT / args.json, "a") as f:
            f.write(json.dumps(r) + "\n")
        per_epoch = ", ".join(f"{k} {m['ms_per_epoch']:.1f}" for k, m in r["models"].items())
        print(
            f"{mode:8s} L={r['sequence_length']:<3d} epochs={r['epochs']:<4d} seeds="
            f"{r['seeds']}: {r['wall_seconds']:.1f} s wall, ms/epoch {per_epoch}; peak RSS "
            f"{r['peak_rss_mb']:.0f} MB, PSS {r['peak_pss_mb']:.0f} MB",
            flush=True,
        )
    if not args.scaling:
        print()
        print(summarize(runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
