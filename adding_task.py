"""A task where memory matters: the adding problem, swept over sequence lengths.

    python adding_task.py      # RNN, LSTM and GRU at lengths 10, 25, 50 and 100

A sine wave is too easy to tell the three models apart. In the adding problem the target is the
sum of two values marked somewhere in the sequence, one in each half, so the prediction depends
on an input at least length/2 steps back. Writes into --out-dir: adding_task.png (test error
against length), results.md and results.json.
"""

from __future__ import annotations

import sys
import time
from dataclasses import replace
from pathlib import Path

from seqpred import device, fileio, parsers, process, provenance, runner
from seqpred.fileio import write_json, write_text
from seqpred.report.tables import fmt, table
from seqpred.runner import Task
from seqpred.scoring import metrics
from seqpred.settings import Settings, from_flags

import compare_results
import data as datasets
import main as trainer

OUTPUTS = "adding_task.py"


def run_length(task: Task, s: Settings, dev, impl: str, progress, stop) -> dict:
    """Train one model on the adding problem of one length; return its final test error."""
    data = datasets.build_adding(task.length)
    train = replace(s.train, impl=impl, seed=task.seed)
    logger = progress.logger(task.name, train.epochs)

    def on_epoch(epoch, train_loss, test_loss):
        logger(epoch, train_loss, test_loss)
        stop.check()  # Ctrl-C, SIGTERM: stop at the end of this epoch

    result = compare_results.train_run(task.kind, data, train, dev, on_epoch)
    variance = float(data.test_y.var())  # the error of always predicting the mean
    return {
        "model": task.kind,
        "length": task.length,
        "seed": task.seed,
        "test_mse": result.history.test_losses[-1],
        "relative_mse": result.history.test_losses[-1] / variance,
        "test_losses": result.history.test_losses,
        "train_seconds": result.history.seconds,
    }


def summarize(runs: list[dict], models, lengths) -> dict:
    """{model: {length: {"mean", "std", "min", "max"}}} of the relative test MSE."""
    rows = {}
    for kind in models:
        row = {}
        for n in lengths:
            values = [r["relative_mse"] for r in runs if r["model"] == kind and r["length"] == n]
            if values:
                row[n] = metrics.summarize(values)
        if row:
            rows[kind] = row
    return rows


def results_markdown(summary: dict, runs: list[dict], s: Settings) -> str:
    """Relative test MSE per model and length, and training time per model."""
    n, t = s.runs.seeds, s.train
    rows = [
        [kind]
        + [fmt(row.get(length), ".3f") for length in s.lengths]
        + [f"{sum(r['train_seconds'] for r in runs if r['model'] == kind):.0f}"]
        for kind, row in summary.items()
    ]
    lines = [
        f"### Adding problem: test MSE / variance of the target ({n} seed{'s' * (n > 1)}"
        f"{', mean ± std' if n > 1 else ''}; 1 = no better than predicting the mean)",
        "",
        *table(["model", *(f"length {k}" for k in s.lengths), "train s"], rows),
        "",
        f"{datasets.ADDING_SIZES['train']} training and {datasets.ADDING_SIZES['test']} test "
        f"sequences per length; {t.epochs} epochs, batch {t.batch_size}, Adam lr {t.lr}, "
        f"hidden size {t.hidden_size}. The marked values are one in each half of the sequence, "
        "so the prediction needs an input at least length/2 steps back.",
    ]
    return "\n".join(lines) + "\n"


def write_outputs(runs: list[dict], s: Settings, wall: float, note: str = "") -> list[Path]:
    from seqpred.figures.single import plot_error_vs_length  # matplotlib only now

    summary = summarize(runs, s.runs.models, s.lengths)
    text = note + results_markdown(summary, runs, s)
    out = Path(s.output.out_dir)
    record = {"flags": s.flags, "command": s.command, "wall_seconds": wall}
    paths = [
        write_text(out / "results.md", text),
        write_json(out / "results.json", {**record, "summary": summary, "runs": runs}),
        plot_error_vs_length(
            summary,
            out / "adding_task.png",
            "Adding problem: who remembers an input length/2 steps back?",
        ),
    ]
    provenance.record(out, OUTPUTS, s.command, s.flags)
    print()
    print(text)
    return paths


def main(argv=None) -> int:
    s = from_flags(parsers.parser("adding_task.py"), argv)
    with process.guarded("adding_task.py") as stop:
        return compare_lengths(s, stop)


def compare_lengths(s: Settings, stop) -> int:
    """Every model at every length over the seeds, then the table and the figure."""
    dev = device.resolve_device(s.runs.device)
    impl = device.resolve_impl(s.train.impl, dev, s.train.hidden_size)
    fileio.check_writable(s.output.out_dir)
    provenance.check(s.output.out_dir, OUTPUTS, s.command, s.flags, s.output.overwrite)
    jobs = device.default_jobs(s.runs.jobs, dev, s.train.dropout)
    device.use_threads(jobs)
    tasks = [
        Task(kind, seed, length=n)
        for n in sorted(s.lengths, reverse=True)  # longest (slowest) first
        for kind in s.runs.models
        for seed in s.runs.seed_list(s.train.seed)
    ]
    words = device.describe(impl, dev, s.runs.models, s.train.impl, s.train.hidden_size)
    trainer.say(
        f"Adding problem with {words}: {len(tasks)} runs, {s.train.epochs} epochs each, {jobs} "
        "at a time"
    )
    progress = runner.Progress(len(tasks), s.train.epochs, s.runs.log_interval)

    def run(task, stop):
        return run_length(task, s, dev, impl, progress, stop)

    def on_done(r):
        progress.finished(
            f"{r['model']} length {r['length']} seed {r['seed']}: test MSE / variance "
            f"{r['relative_mse']:.3f} ({r['train_seconds']:.1f} s)"
        )

    def on_failed(task, err):
        print(f"adding_task.py: error: {task.name}: {err}", file=sys.stderr)

    start = time.perf_counter()
    try:
        outcome = runner.run_all(run, tasks, jobs, stop, on_done, on_failed)
    finally:
        progress.close()
    wall = time.perf_counter() - start
    if not outcome.complete:
        return runner.finish(
            outcome, len(tasks), "runs", lambda note: write_outputs(outcome.done, s, wall, note)
        )
    paths = write_outputs(outcome.done, s, wall)
    print(f"{wall:.0f} s of wall time")
    print(compare_results.wrote(paths))
    return 0


if __name__ == "__main__":
    sys.exit(main())
