"""A task where memory matters: the adding problem, swept over sequence lengths.

    python adding_task.py      # RNN, LSTM and GRU at lengths 10, 25, 50 and 100

A sine wave is too easy to tell the three models apart. In the adding problem the target is the
sum of two values marked somewhere in the sequence, one in each half, so the prediction depends
on an input at least length/2 steps back. Writes into --out-dir: adding_task.png (test error
against length), results.md and results.json.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from seqpred import cli, flags, parallel, runtime
from seqpred.fileio import write_json, write_text
from seqpred.report.tables import fmt
from seqpred.scoring import metrics

import data as datasets
import main as trainer
from models import MODEL_TYPES


def length(text: str) -> int:
    value = flags.positive_int(text)
    if value < 2:
        raise argparse.ArgumentTypeError(
            f"must be 2 or more (one marked value per half), got {text}"
        )
    return value


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="adding_task.py",
        description="Train RNN, LSTM and GRU on the adding problem at several sequence lengths.",
    )
    p.add_argument(
        "--lengths",
        type=length,
        nargs="+",
        default=[10, 25, 50, 100],
        help="sequence lengths to try, each at least 2 (default: 10 25 50 100)",
    )
    flags.add_run_set_arguments(p, MODEL_TYPES)
    p.add_argument("--seed", type=flags.seed, default=0, help="the first seed (default: 0)")
    p.add_argument(
        "--epochs",
        type=flags.positive_int,
        default=40,
        help="epochs over the 5000 training sequences (default: 40)",
    )
    p.add_argument(
        "--batch-size",
        type=flags.positive_int,
        default=100,
        help="sequences per batch (default: 100)",
    )
    p.add_argument(
        "--lr", type=flags.learning_rate, default=3e-3, help="Adam learning rate (default: 3e-3)"
    )
    p.add_argument(
        "--hidden-size", type=flags.positive_int, default=20, help="hidden units (default: 20)"
    )
    p.add_argument(
        "--impl",
        choices=["auto", *trainer.IMPLEMENTATIONS],
        default="auto",
        help="recurrent layer implementation, as in main.py (default: auto)",
    )
    p.add_argument(
        "--device", choices=flags.DEVICES, default="auto", help="as in main.py (default: auto)"
    )
    p.add_argument(
        "--log-interval",
        type=flags.positive_int,
        default=10,
        help="epochs between log lines (default: 10)",
    )
    p.add_argument(
        "--out-dir",
        default="figures/adding",
        help="folder for the figure and tables (default: figures/adding)",
    )
    return p


def run_length(task: tuple, stop) -> dict:
    """Train one model on the adding problem of one length; return its final test error."""
    kind, n, seed, args, device, impl = task
    data = datasets.build_adding(n)
    config = trainer.RunConfig(
        hidden_size=args.hidden_size,
        impl=impl,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        seed=seed,
    )
    logger = cli.EpochLogger(
        f"{kind} length {n} seed {seed}", args.epochs, args.log_interval, False
    )

    def on_epoch(epoch, train_loss, test_loss):
        logger(epoch, train_loss, test_loss)
        stop.check()  # Ctrl-C, SIGTERM: stop at the end of this epoch

    result = trainer.train_model(kind, data, config, device, on_epoch)
    variance = float(data.test_y.var())  # the error of always predicting the mean
    return {
        "model": kind,
        "length": n,
        "seed": seed,
        "test_mse": result.history.test_losses[-1],
        "relative_mse": result.history.test_losses[-1] / variance,
        "test_losses": result.history.test_losses,
        "train_seconds": result.history.seconds,
    }


def summarize(runs: list[dict], models, lengths) -> dict:
    """{model: {length: {"mean", "std", "min", "max"}}} of the relative test MSE."""
    table = {}
    for kind in models:
        rows = {}
        for n in lengths:
            values = [r["relative_mse"] for r in runs if r["model"] == kind and r["length"] == n]
            if values:
                rows[n] = metrics.summarize(values)
        if rows:
            table[kind] = rows
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
        cells = [fmt(row.get(length), ".3f") for length in args.lengths]
        lines.append(f"| {kind} | " + " | ".join(cells) + f" | {seconds:.0f} |")
    lines += [
        "",
        f"{datasets.ADDING_SIZES['train']} training and {datasets.ADDING_SIZES['test']} test "
        f"sequences per length; {args.epochs} epochs, batch {args.batch_size}, Adam lr {args.lr}, "
        f"hidden size {args.hidden_size}. The marked values are one in each half of the "
        "sequence, so the prediction needs an input at least length/2 steps back.",
    ]
    return "\n".join(lines) + "\n"


def write_outputs(runs: list[dict], args, wall: float, note: str = "") -> list[Path]:
    from seqpred import figures  # matplotlib only now, once training is over

    table = summarize(runs, args.models, args.lengths)
    text = note + results_markdown(table, runs, args)
    out = Path(args.out_dir)
    summary = {"flags": vars(args), "wall_seconds": wall, "summary": table, "runs": runs}
    paths = [
        write_text(out / "results.md", text),
        write_json(out / "results.json", summary),
        figures.plot_error_vs_length(
            table,
            out / "adding_task.png",
            "Adding problem: who remembers an input length/2 steps back?",
        ),
    ]
    print()
    print(text)
    return paths


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    flags.check_run_set(parser, args, "lengths")
    runtime.keep_freed_memory()
    return cli.run(parser, compare_lengths, args)


def compare_lengths(args, stop) -> int:
    """Everything main() does once the flags are checked. stop: Ctrl-C or SIGTERM, recorded."""
    device = runtime.resolve_device(args.device)
    impl = runtime.resolve_impl(args.impl, device, args.hidden_size)
    cli.check_folders([args.out_dir])
    jobs = runtime.default_jobs(args.jobs, device, 0.0)
    runtime.use_threads(jobs)
    tasks = [
        (kind, n, args.seed + i, args, device, impl)
        for n in sorted(args.lengths, reverse=True)  # longest (slowest) first
        for kind in args.models
        for i in range(args.seeds)
    ]
    print(
        f"Adding problem with "
        f"{runtime.describe(impl, device, args.models, args.impl, args.hidden_size)}: "
        f"{len(tasks)} runs, {args.epochs} epochs each, {jobs} at a time"
    )
    start, finished = time.perf_counter(), []

    def on_done(r):
        finished.append(r)
        print(
            f"[{len(finished)}/{len(tasks)}] {r['model']} length {r['length']} seed "
            f"{r['seed']}: test MSE / variance {r['relative_mse']:.3f} "
            f"({r['train_seconds']:.1f} s)",
            flush=True,
        )

    def on_failed(task, err):
        print(
            f"adding_task.py: error: {task[0]} length {task[1]} seed {task[2]}: {err}",
            file=sys.stderr,
        )

    outcome = parallel.run_all(run_length, tasks, jobs, stop, on_done, on_failed)
    wall = time.perf_counter() - start
    if outcome.complete:
        paths = write_outputs(outcome.done, args, wall)
        print(f"{wall:.0f} s of wall time")
        for path in paths:
            print(f"Wrote {path}")
        return 0
    stopped = f" ({outcome.interrupted.name})" if outcome.interrupted else ""
    print(f"\nStopped{stopped}: {len(outcome.done)} of {len(tasks)} runs had finished.")
    if outcome.done:
        note = (
            f"**{'Interrupted' if outcome.interrupted else 'Partial'}**: "
            f"{len(outcome.done)} of {len(tasks)} runs had finished; the table covers "
            "only those.\n\n"
        )
        for path in write_outputs(outcome.done, args, wall, note):
            print(f"Wrote {path} (partial)")
    return outcome.interrupted.status if outcome.interrupted else 1


if __name__ == "__main__":
    sys.exit(main())
