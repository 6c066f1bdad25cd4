"""Train the RNN, the LSTM and the GRU with the same flags, over one or more seeds, and compare.

    python compare_results.py                     # the sine wave, one seed
    python compare_results.py --seeds 5           # every metric as mean ± std over 5 seeds
    python compare_results.py --dataset elnino    # monthly sea-surface temperature

Writes into --out-dir: loss_curves.png, predictions.png (free-running forecasts), one_step.png
(one-step predictions over the test period), gradient_flow.png, lstm_gates.png, results.md and
results.json. Every run uses main.py's training loop; seqpred/ scores, tabulates and draws.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import torch

import data as datasets
import main as trainer
from models import MODEL_TYPES
from seqpred import cli, flags, parallel, report, runtime, scoring
from seqpred.fileio import write_json, write_text
from seqpred.interrupts import signals_deferred, signals_ignored
from seqpred.progress import EpochLogger

# Heaviest first, so that parallel runs finish at about the same time.
COST_ORDER = {"LSTM": 0, "GRU": 1, "RNN": 2}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="compare_results.py",
        description="Train RNN, LSTM and GRU with shared flags over one or more seeds, and "
        "write comparison figures and tables.",
    )
    flags.add_run_set_arguments(parser, MODEL_TYPES)
    flags.add_data_arguments(parser, datasets.DATASETS)
    flags.add_model_arguments(parser, trainer.IMPLEMENTATIONS)
    flags.add_training_arguments(parser)
    flags.add_forecast_arguments(parser)
    return parser


# ----------------------------------------------------------------------------- one run
def run_job(task: tuple, stop: parallel.StopFlag) -> dict:
    """Train one model with one seed; return plain numbers and lists (JSON-able)."""
    kind, seed, args, data, device = task
    return train_and_describe(kind, seed, args, data, device, stop, kind,
                              hidden_size=args.hidden_sizes[kind])  # fmt: skip


def train_and_describe(kind, seed, args, data, device, stop, label, **settings) -> dict:
    """Train `kind` with the flags (`settings` override them), logged and stoppable at each
    epoch's end; what describe_run says of it, under the name `label`."""
    config = trainer.RunConfig.from_args(args, seed=seed, **settings)
    logger = EpochLogger(f"{label} seed {seed}", args.epochs, args.log_interval, args.jobs == 1)

    def on_epoch(epoch, train_loss, test_loss):
        stop.check()  # Ctrl-C, SIGTERM: stop at the end of this epoch
        logger(epoch, train_loss, test_loss)

    try:
        with runtime.own_stream(device):
            result = trainer.train_model(kind, data, config, device, on_epoch)
            return {**trainer.describe_run(result, seed, data, args, device), "model": label}
    finally:
        logger.close()


def run_all(args, data, device: torch.device, progress: Path | None = None) -> parallel.Outcome:
    """Every (model, seed) run, heaviest first, --jobs at a time.

    Each finished run is also written at once to `progress` (the runs so far), so that even a
    process killed outright (out of memory, kill -9) leaves the finished runs on disk.
    """
    jobs = sorted(
        ((kind, args.seed + i) for i in range(args.seeds) for kind in args.models),
        key=lambda job: (COST_ORDER.get(job[0], 0), job[1]),
    )
    tasks = [(kind, seed, args, data, device) for kind, seed in jobs]
    finished = []

    def preload_when_a_core_is_free():
        if not preloading and (os.cpu_count() or 1) > min(args.jobs, len(tasks) - len(finished)):
            preloading.append(True)
            runtime.preload("seqpred.figures", "scipy.stats")  # needed once training is over

    def on_done(r):
        finished.append(r)
        preload_when_a_core_is_free()
        if progress is not None:  # on disk before it is announced
            write_json(progress, {"flags": vars(args), "finished_runs": finished})
        print(
            f"[{len(finished)}/{len(tasks)}] {r['model']} seed {r['seed']}: final test MSE "
            f"{r['test_losses'][-1]:.3e} in {r['train_seconds']:.1f} s",
            flush=True,
        )

    def on_failed(task, err):
        print(f"compare_results.py: error: {task[0]} seed {task[1]}: {err}", file=sys.stderr)

    preloading: list = []
    preload_when_a_core_is_free()
    return parallel.run_all(run_job, tasks, args.jobs, on_done, on_failed)


# ----------------------------------------------------------------------------- outputs
def write_outputs(runs: list[dict], data, args, note: str = "", wall=None) -> list[Path]:
    """Figures, results.md and results.json for the runs given."""
    from seqpred import figures  # matplotlib only now, once training is over

    result = scoring.evaluate_runs(runs, data, args)
    result["flags"] = vars(args)
    result["wall_seconds_training"] = wall
    result["peak_memory_mb"], result["memory_kind"] = runtime.peak_memory_mb(args.device)
    out = Path(args.out_dir)
    table = note + report.results_markdown(result, args)
    paths = [write_json(out / "results.json", result), write_text(out / "results.md", table)]
    paths += figures.comparison_figures(runs, result, data, args)
    print()
    print(table)
    return paths


def write_partial(outcome: parallel.Outcome, data, args) -> list[Path]:
    """The outputs of every run that finished, marked partial, naming the runs that did not."""
    kinds = [k for k in args.models if any(r["model"] == k for r in outcome.done)]
    if not kinds:
        return []
    partial = argparse.Namespace(**{**vars(args), "models": kinds})
    total = len(args.models) * args.seeds
    missing = [f"{t[0]} seed {t[1]}" for t in outcome.unfinished]
    missing += [f"{t[0]} seed {t[1]} ({err})" for t, err in outcome.failed]
    cause = f"Interrupted ({outcome.interrupted.name})" if outcome.interrupted else "Partial"
    note = (
        f"**{cause}**: {len(outcome.done)} of {total} runs had finished; the tables and figures "
        f"cover only those. Not finished: {'; '.join(missing)}.\n\n"
    )
    return write_outputs(outcome.done, data, partial, note)


def main(argv=None) -> int:
    parser = build_parser()
    args = flags.finish(parser, parser.parse_args(argv), datasets.PRESETS, datasets.check_flags)
    runtime.keep_freed_memory()
    if args.dataset == "adding":
        parser.error(
            "the adding problem is not a time series: compare the models on it with adding_task.py"
        )
    return cli.run(parser, compare, args)


def compare(args) -> int:
    """Everything main() does once the flags are checked."""
    device = runtime.resolve_device(args.device)
    asked, args.impl = args.impl, runtime.resolve_impl(args.impl, device)
    cli.check_folders([args.out_dir] + ([args.data_dir] if datasets.will_generate(args) else []))
    data = datasets.prepare(args)
    datasets.check_forecast(data, args.predict_start, args.predict_steps)
    args.hidden_sizes = choose_hidden_sizes(args, data)
    args.jobs = runtime.default_jobs(args.jobs, device, args.dropout)
    runtime.use_threads(args.jobs)
    print(
        f"Comparing {', '.join(args.models)} on {data.name} with "
        f"{runtime.describe(args.impl, device, args.models, asked)}; {args.seeds} seed(s), "
        f"{args.epochs} epochs, {args.jobs} at a time: {datasets.describe(data)}"
    )
    args.device = str(device)
    progress = Path(args.out_dir) / "runs-in-progress.json"
    start = time.perf_counter()
    outcome = run_all(args, data, device, progress)
    wall = time.perf_counter() - start
    return finish(outcome, data, args, wall, progress)


def choose_hidden_sizes(args, data) -> dict[str, int]:
    """--hidden-size for every model, or with --match-params the sizes that equalize counts."""
    outputs = args.predict_steps if args.strategy == "direct" else 1
    sizes = flags.hidden_sizes(args, args.models, data, outputs)
    if args.match_params is not None:
        layers, inputs = args.num_layers, data.num_features
        counts = [
            f"{k} hidden {h} ({scoring.parameter_count(k, h, inputs, outputs, layers)} parameters)"
            for k, h in sizes.items()
        ]
        print(f"Equal budgets (--match-params {args.match_params}): " + ", ".join(counts))
    return sizes


def finish(outcome: parallel.Outcome, data, args, wall: float, progress: Path) -> int:
    """Write what the runs produced; the exit status says whether it is all of it."""
    if outcome.complete:
        with signals_deferred():  # Ctrl-C now waits for the tables and figures to be whole
            for path in write_outputs(outcome.done, data, args, wall=wall):
                print(f"Wrote {path}")
            progress.unlink(missing_ok=True)
        return 0
    total = len(args.models) * args.seeds
    stopped = f" ({outcome.interrupted.name})" if outcome.interrupted else ""
    print(f"\nStopped{stopped}: {len(outcome.done)} of {total} runs had finished.")
    with signals_ignored():  # we are stopping already: a second Ctrl-C must not cut this short
        for path in write_partial(outcome, data, args):
            print(f"Wrote {path} (partial)")
        progress.unlink(missing_ok=True)
    return outcome.interrupted.status if outcome.interrupted else 1


if __name__ == "__main__":
    sys.exit(main())
