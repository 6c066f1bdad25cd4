"""A task where memory matters: the adding problem, swept over sequence lengths.

    python adding_task.py      # RNN, LSTM and GRU at lengths 10, 25, 50 and 100

A sine wave is too easy to tell the three models apart. In the adding problem the target is the
sum of two values marked somewhere in the sequence, one in each half, so the prediction depends
on an input at least length/2 steps back. Writes into --out-dir: adding_task.png (test error
against length), results.md and results.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

import compare_results
import data as datasets
import main as trainer
from models import IMPLEMENTATIONS, MODEL_TYPES


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="adding_task.py",
        description="Train RNN, LSTM and GRU on the adding problem at several sequence lengths.",
    )
    p.add_argument(
        "--lengths",
        type=trainer.positive_int,
        nargs="+",
        default=[10, 25, 50, 100],
        help="sequence lengths to try (default: 10 25 50 100)",
    )
    p.add_argument(
        "--models",
        type=trainer.model_type,
        nargs="+",
        choices=list(MODEL_TYPES),
        default=list(MODEL_TYPES),
        help="model types (default: RNN LSTM GRU)",
    )
    p.add_argument(
        "--seeds",
        type=trainer.positive_int,
        default=1,
        help="seeds per model and length; mean ± std across them (default: 1)",
    )
    p.add_argument(
        "--seed", type=trainer.non_negative_int, default=0, help="the first seed (default: 0)"
    )
    p.add_argument(
        "--epochs",
        type=trainer.positive_int,
        default=40,
        help="epochs over the 5000 training sequences (default: 40)",
    )
    p.add_argument(
        "--batch-size",
        type=trainer.positive_int,
        default=100,
        help="sequences per batch (default: 100)",
    )
    p.add_argument(
        "--lr", type=trainer.positive_float, default=3e-3, help="Adam learning rate (default: 3e-3)"
    )
    p.add_argument(
        "--hidden-size", type=trainer.positive_int, default=20, help="hidden units (default: 20)"
    )
    p.add_argument(
        "--impl",
        choices=["auto", *IMPLEMENTATIONS],
        default="auto",
        help="recurrent layer implementation, as in main.py (default: auto)",
    )
    p.add_argument(
        "--device", choices=trainer.DEVICES, default="auto", help="as in main.py (default: auto)"
    )
    p.add_argument(
        "--jobs",
        type=trainer.positive_int,
        help="runs trained at the same time (default: the number of CPU cores on CPU, 1 on a GPU)",
    )
    p.add_argument(
        "--log-interval",
        type=trainer.positive_int,
        default=10,
        help="epochs between log lines (default: 10)",
    )
    p.add_argument(
        "--out-dir",
        default="figures/adding",
        help="folder for the figure and tables (default: figures/adding)",
    )
    return p


def run_length(kind: str, length: int, seed: int, args, device_name: str) -> dict:
    """Train one model on the adding problem of one length; return its final test error."""
    data = datasets.build_adding(length)
    run_args = argparse.Namespace(
        **{
            **vars(args),
            "seed": seed,
            "test_batch_size": 1000,
            "num_layers": 1,
            "dropout": 0.0,
            "dry_run": False,
            "predict_start": 0,
            "predict_steps": 1,
        }
    )
    logger = trainer.EpochLogger(
        f"{kind} length {length} seed {seed}", args.epochs, args.log_interval, bar=False
    )
    result = trainer.train_model(kind, run_args, data, torch.device(device_name), logger)
    variance = float(data.test_y.var())  # the error of always predicting the mean
    return {
        "model": kind,
        "length": length,
        "seed": seed,
        "test_mse": result.history.test_losses[-1],
        "relative_mse": result.history.test_losses[-1] / variance,
        "test_losses": result.history.test_losses,
        "train_seconds": result.history.seconds,
    }


def summarize(runs: list[dict], args) -> dict:
    """{model: {length: {"mean", "std", "min", "max"}}} of the relative test MSE."""
    table = {}
    for kind in args.models:
        table[kind] = {}
        for length in args.lengths:
            values = [
                r["relative_mse"] for r in runs if r["model"] == kind and r["length"] == length
            ]
            table[kind][length] = {
                "mean": float(np.mean(values)),
                "std": float(np.std(values, ddof=1)) if len(values) > 1 else 0.0,
                "min": float(np.min(values)),
                "max": float(np.max(values)),
            }
    return table


def results_markdown(table: dict, runs: list[dict], args) -> str:
    """Relative test MSE per model and length, and training time per model."""
    n = args.seeds
    head = "| model | " + " | ".join(f"length {n_}" for n_ in args.lengths) + " | train s |"
    lines = [
        f"### Adding problem: test MSE / variance of the target ({n} seed{'s' * (n > 1)}"
        f"{', mean ± std' if n > 1 else ''}; 1 = no better than predicting the mean)",
        "",
        head,
        "|" + "---|" * (len(args.lengths) + 2),
    ]
    for kind, row in table.items():
        seconds = sum(r["train_seconds"] for r in runs if r["model"] == kind)
        cells = [compare_results.fmt(row[length], ".3f") for length in args.lengths]
        lines.append(f"| {kind} | " + " | ".join(cells) + f" | {seconds:.0f} |")
    lines += [
        "",
        f"{datasets.ADDING_SIZES['train']} training and {datasets.ADDING_SIZES['test']} test "
        f"sequences per length; {args.epochs} epochs, batch {args.batch_size}, Adam lr {args.lr}, "
        f"hidden size {args.hidden_size}. The marked values are one in each half of the "
        "sequence, so the prediction needs an input at least length/2 steps back.",
    ]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    trainer.keep_freed_memory()
    try:
        device = trainer.resolve_device(args.device)
        args.impl = trainer.resolve_impl(args.impl, device)
    except trainer.DeviceError as err:
        parser.error(str(err))
    if args.jobs is None:
        args.jobs = 1 if device.type != "cpu" else os.cpu_count() or 1
    tasks = [
        (kind, length, args.seed + i, args, str(device))
        for length in sorted(args.lengths, reverse=True)  # longest (slowest) first
        for kind in args.models
        for i in range(args.seeds)
    ]
    print(f"Adding problem on {device}: {len(tasks)} runs, {args.epochs} epochs each")
    start = time.perf_counter()
    runs = []
    for r in compare_results.map_jobs(run_length, tasks, min(args.jobs, len(tasks))):
        runs.append(r)
        print(
            f"[{len(runs)}/{len(tasks)}] {r['model']} length {r['length']} seed {r['seed']}: "
            f"test MSE / variance {r['relative_mse']:.3f} ({r['train_seconds']:.1f} s)",
            flush=True,
        )
    wall = time.perf_counter() - start
    table = summarize(runs, args)
    out = Path(args.out_dir)
    text = results_markdown(table, runs, args)
    from seqpred import (
        figures as plots,  # matplotlib only now, after the worker processes have been forked
    )

    paths = [
        plots.plot_error_vs_length(
            table,
            out / "adding_task.png",
            "Adding problem: who remembers an input length/2 steps back?",
        ),
        compare_results.write_text(out / "results.md", text),
        compare_results.write_text(
            out / "results.json",
            json.dumps(
                {"flags": vars(args), "wall_seconds": wall, "summary": table, "runs": runs},
                indent=1,
            )
            + "\n",
        ),
    ]
    print()
    print(text)
    print(f"{wall:.0f} s of wall time")
    for path in paths:
        print(f"Wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
