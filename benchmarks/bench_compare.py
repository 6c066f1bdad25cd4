"""Benchmark the comparison against the article's training loop, side by side, in fresh processes.

    python benchmarks/bench_compare.py                  # every row, 3 runs each (about 25 min)
    python benchmarks/bench_compare.py --repeats 1 --seeds5-repeats 0   # a quick look
    python benchmarks/bench_compare.py --device cuda    # the same on a GPU

`article` trains the three models the plain way the article does: a per-sample Dataset and a
DataLoader (batch 500, shuffled), the test loss computed with autograd still on, nn.RNN/LSTM/
GRU, one model after another in one process. `ours` runs compare_results.py as a user would.
Runs alternate (article, ours, article, ours, ...) so that both meet the same machine, and each
is a fresh process whose wall time, CPU time and the peak memory of its whole process tree are
measured. Every run is appended as a JSON line to --json; the table at the end gives medians
and the ratios of the medians, each goal marked met or not met.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from measure import measure  # noqa: E402  (benchmarks/measure.py, beside this file)

KINDS = ("RNN", "LSTM", "GRU")


# ----------------------------------------------------------------------------- the article's loop
def article_run(epochs: int, device_name: str, out_json: str) -> None:
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
    for kind in KINDS:
        torch.manual_seed(0)
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
    Path(out_json).write_text(json.dumps({"models": results}), encoding="utf-8")


# ----------------------------------------------------------------------------- one run
def run_once(mode, epochs, seeds, device, workdir: Path, root=ROOT, extra=()) -> dict:
    """One full comparison in a fresh process: times, memory, per-model results. `root`: the
    checkout whose compare_results.py runs (another one for --before), with `extra` flags."""
    if mode == "article":
        out = workdir / "article.json"
        cmd = [
            sys.executable,
            __file__,
            "--article-run",
            str(epochs),
            "--device",
            device,
            "--out",
            str(out),
        ]
        result = measure(cmd, ROOT)
        models = json.loads(out.read_text(encoding="utf-8"))["models"]
        evidence = None
    else:
        out = workdir / "ours"
        cmd = [
            sys.executable,
            str(root / "compare_results.py"),
            "--epochs",
            str(epochs),
            "--seeds",
            str(seeds),
            "--device",
            device,
            "--out-dir",
            str(out),
            "--data-dir",
            str(workdir),
            "--log-interval",
            str(10**6),
            *extra,
        ]
        result = measure(cmd, root)
        report = json.loads((out / "results.json").read_text(encoding="utf-8"))
        models = {
            kind: {
                "train_seconds": m["summary"]["train_seconds"]["mean"],
                "final_test_loss": m["summary"]["final_test_loss"]["mean"],
            }
            for kind, m in report["models"].items()
        }
        runs = [r for m in report["models"].values() for r in m["runs"]]
        evidence = {
            "seconds": sum(r["evidence_seconds"] for r in runs),
            "train_seconds": sum(r["train_seconds"] for r in runs),
        }
    for m in models.values():
        m["ms_per_epoch"] = 1000 * m["train_seconds"] / epochs
    return {
        "mode": mode,
        "epochs": epochs,
        "seeds": seeds,
        "device": device,
        **result,
        "models": models,
        "evidence": evidence,
        "machine": machine(device),
    }


def machine(device: str) -> str:
    """The processor (and GPU) the run was measured on, in words."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import os

    import torch

    words = f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__}"
    if device == "cuda" and torch.cuda.is_available():
        words += f", {torch.cuda.get_device_name()}"
    return words


def warm_up(root: Path, device: str) -> None:
    """A dry run of `root`'s comparison, not timed: the C kernels are compiled (once per source
    and CPU, then cached), so that no timed run pays for the compiler."""
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [
            sys.executable,
            str(root / "compare_results.py"),
            "--dry-run",
            "--device",
            device,
            "--out-dir",
            tmp,
            "--data-dir",
            tmp,
        ]
        measure(cmd, root)


# ----------------------------------------------------------------------------- the table
def median(runs: list[dict], key) -> float | None:
    values = [key(r) for r in runs]
    return statistics.median(values) if values else None


def summarize(runs: list[dict]) -> str:
    """Medians per row, ratios of the medians, and each goal marked met or not met."""

    def pick(mode, epochs, seeds=1):
        return [r for r in runs if (r["mode"], r["epochs"], r["seeds"]) == (mode, epochs, seeds)]

    a500, o500, a100, o100 = (
        pick("article", 500),
        pick("ours", 500),
        pick("article", 100),
        pick("ours", 100),
    )
    o5 = pick("ours", 500, 5)
    b500 = pick("before", 500)
    lines = [
        "| row | article's loop | ours | ratio | goal | verdict |",
        "|---|---|---|---|---|---|",
    ]

    def row(name, a, o, fmt, goal="", verdict=""):
        ratio = f"{a / o:.1f}×" if a and o else "–"
        cells = [f"{v:{fmt}}" if v is not None else "–" for v in (a, o)]
        lines.append(f"| {name} | {cells[0]} | {cells[1]} | {ratio} | {goal} | {verdict} |")

    def met(ok):
        return "met" if ok else "**not met**"

    wall = lambda r: r["wall_seconds"]  # noqa: E731
    a, o = median(a500, wall), median(o500, wall)
    row(
        f"default comparison, wall s (median of {len(o500)})",
        a,
        o,
        ".1f",
        "≥ 8× (aim 10×)",
        met(a and o and a / o >= 8) if a and o else "",
    )
    cpu = lambda r: r["cpu_seconds"]  # noqa: E731
    row("same, CPU seconds", median(a500, cpu), median(o500, cpu), ".0f")
    a, o = median(a100, wall), median(o100, wall)
    row(
        f"`--epochs 100`, wall s (median of {len(o100)})",
        a,
        o,
        ".1f",
        "≥ 6×",
        met(a and o and a / o >= 6) if a and o else "",
    )
    largest = lambda r: r["largest_process_mb"]  # noqa: E731
    row(
        "peak memory, largest process, MB (RSS)",
        median(a500, largest),
        median(o500, largest),
        ".0f",
    )
    pss = lambda r: r["peak_pss_mb"]  # noqa: E731
    o = median(o500, pss)
    row(
        "peak memory, whole process tree, MB (PSS)",
        median(a500, pss),
        o,
        ".0f",
        "≤ 350 MB",
        met(o <= 350) if o else "",
    )
    o = median(o5, wall)
    lines.append(
        f"| `--seeds 5`, wall s (median of {len(o5)}) | – | "
        + (f"{o:.1f} | – | ≤ 90 s | {met(o <= 90)} |" if o else "– | – | ≤ 90 s | |")
    )
    shares = [r["evidence"]["seconds"] / r["evidence"]["train_seconds"] for r in o500 + o5]
    if shares:
        s = statistics.median(shares)
        lines.append(
            f"| every origin and the intervals, seconds per training second | – | {100 * s:.1f} % "
            f"| – | ≤ 10 % | {met(s <= 0.10)} |"
        )
    if b500:
        b, o = median(b500, wall), median(o500, wall)
        lines.append(
            f"\nbefore the change (--before): default comparison {b:.1f} s, after {o:.1f} s "
            f"(medians of {len(b500)} and {len(o500)}, alternating), after / before {o / b:.3f}"
        )
    for name, rs in (("article's loop", a500), ("before", b500), ("ours", o500)):
        if rs:
            mse = " / ".join(
                f"{statistics.median(r['models'][k]['final_test_loss'] for r in rs):.1e}"
                for k in KINDS
            )
            ms = " / ".join(
                f"{statistics.median(r['models'][k]['ms_per_epoch'] for r in rs):.0f}"
                for k in KINDS
            )
            lines.append(f"\n{name}: final test MSE RNN / LSTM / GRU {mse}; ms/epoch {ms}")
    if runs:
        lines.append(f"\nmachine: {runs[-1]['machine']}")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="Benchmark compare_results.py against the article's.")
    p.add_argument("--repeats", type=int, default=3, help="runs per row and mode (default: 3)")
    p.add_argument(
        "--seeds5-repeats",
        type=int,
        default=3,
        help="runs of `compare_results.py --seeds 5` (default: 3; 0 skips the row)",
    )
    p.add_argument("--device", default="cpu", help="cpu or cuda, for both modes (default: cpu)")
    p.add_argument(
        "--json",
        default=str(ROOT / "benchmarks" / "results.jsonl"),
        help="file to append one JSON line per run to (default: benchmarks/results.jsonl)",
    )
    p.add_argument(
        "--rows",
        choices=("all", "default"),
        default="all",
        help="all: every row; default: only the default comparison, without the article's loop "
        "(with --before: before and after a change, side by side) (default: all)",
    )
    p.add_argument(
        "--before",
        metavar="DIR",
        help="another checkout (e.g. `git worktree add DIR HEAD~1`): its compare_results.py "
        "runs alternately with this one's, for a before/after of a change",
    )
    p.add_argument(
        "--before-flags",
        default="",
        metavar="FLAGS",
        help="extra flags for the --before side, e.g. '--val-fraction 0.1' so that both sides "
        "train on the same windows when a default changed (default: none)",
    )
    p.add_argument("--article-run", type=int, metavar="EPOCHS", help=argparse.SUPPRESS)
    p.add_argument("--out", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.article_run:
        article_run(args.article_run, args.device, args.out)
        return 0
    modes = ("before",) if args.before else ()
    modes += ("ours",) if args.rows == "default" else ("article", "ours")
    rows = (500,) if args.rows == "default" else (500, 100)
    plan = [(mode, epochs, 1) for _ in range(args.repeats) for epochs in rows for mode in modes]
    if args.rows == "all":
        plan += [("ours", 500, 5)] * args.seeds5_repeats
    for root in {Path(args.before).resolve() if m == "before" else ROOT for m, _, _ in plan}:
        warm_up(root, args.device)
    runs = []
    for mode, epochs, seeds in plan:
        with tempfile.TemporaryDirectory() as tmp:
            before = mode == "before"
            root = Path(args.before).resolve() if before else ROOT
            extra = args.before_flags.split() if before else []
            r = run_once(mode, epochs, seeds, args.device, Path(tmp), root, extra)
        runs.append(r)
        with open(args.json, "a", encoding="utf-8") as f:
            f.write(json.dumps(r) + "\n")
        print(
            f"{mode:7s} epochs={epochs:<3d} seeds={seeds}: {r['wall_seconds']:.1f} s wall, "
            f"{r['cpu_seconds']:.0f} s CPU, peak {r['largest_process_mb']:.0f} MB largest "
            f"process, {r['peak_pss_mb']:.0f} MB PSS in all",
            flush=True,
        )
    print()
    print(summarize(runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
