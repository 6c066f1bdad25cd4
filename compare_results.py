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
import json
import os
import sys
import time
from pathlib import Path

from seqpred import checkpoints, cli, flags, parallel, report, runtime, scoring
from seqpred.errors import DataError
from seqpred.fileio import write_json, write_text
from seqpred.progress import EpochLogger

import data as datasets
import main as trainer
from models import MODEL_TYPES

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
def run_job(task: tuple, stop) -> dict:
    """Train one model with one seed; return plain numbers and lists (JSON-able)."""
    kind, seed, args, setup = task
    return train_and_describe(kind, seed, args, setup, stop, kind,
                              hidden_size=setup.hidden_sizes[kind])  # fmt: skip


def train_and_describe(kind, seed, args, setup, stop, label, **settings) -> dict:
    """Train `kind` with the flags (`settings` override them), logged and stoppable at each
    epoch's end; what describe_run says of it, under the name `label`."""
    config = trainer.RunConfig.from_args(args, seed=seed, impl=setup.impl, **settings)
    logger = EpochLogger(f"{label} seed {seed}", args.epochs, args.log_interval, setup.jobs == 1)

    def on_epoch(epoch, train_loss, test_loss):
        logger(epoch, train_loss, test_loss)
        stop.check()  # Ctrl-C, SIGTERM: stop at the end of this epoch

    try:
        with runtime.own_stream(setup.device):
            result = trainer.train_model(kind, setup.data, config, setup.device, on_epoch)
            described = trainer.describe_run(result, seed, setup.data, args, setup.device)
            return {**described, "model": label}
    finally:
        logger.close()


def run_all(args, setup, stop, progress: Path, finished: list[dict]) -> parallel.Outcome:
    """Every (model, seed) run not yet in `finished`, heaviest first, --jobs at a time.

    Each finished run is also written at once to `progress` (with the runs before it), so that
    even a process killed outright (out of memory, kill -9) leaves the finished runs on disk,
    and running the comparison again continues from them.
    """
    done = {(r["model"], r["seed"]) for r in finished}
    jobs = sorted(
        ((kind, args.seed + i) for i in range(args.seeds) for kind in args.models),
        key=lambda job: (COST_ORDER.get(job[0], 0), job[1]),
    )
    tasks = [(kind, seed, args, setup) for kind, seed in jobs if (kind, seed) not in done]
    total, finished = len(jobs), list(finished)
    record = progress_record(args, setup.data)

    def preload_when_a_core_is_free():
        left = total - len(finished)
        if not preloading and (os.cpu_count() or 1) > min(setup.jobs, left):
            preloading.append(True)
            runtime.preload("seqpred.figures", "scipy.stats")  # needed once training is over

    def on_done(r):
        finished.append(r)
        preload_when_a_core_is_free()
        write_json(progress, {**record, "finished_runs": finished})  # before it is announced
        print(
            f"[{len(finished)}/{total}] {r['model']} seed {r['seed']}: final test MSE "
            f"{r['test_losses'][-1]:.3e} in {r['train_seconds']:.1f} s",
            flush=True,
        )

    def on_failed(task, err):
        print(f"compare_results.py: error: {task[0]} seed {task[1]}: {err}", file=sys.stderr)

    preloading: list = []
    preload_when_a_core_is_free()
    outcome = parallel.run_all(run_job, tasks, setup.jobs, stop, on_done, on_failed)
    outcome.done = finished  # the resumed runs too, in the order they finished
    return outcome


# ----------------------------------------------------------------------------- resuming
PROGRESS = "runs-in-progress.json"
NOT_COMPARED = ("models", "seeds", "jobs", "log_interval")  # a rerun may change these


def progress_record(args, data) -> dict:
    """What a comparison's finished runs depend on: its flags and the data's fingerprint."""
    flags_ = {k: v for k, v in vars(args).items() if k not in NOT_COMPARED}
    return {"flags": json.loads(json.dumps(flags_)), "data": checkpoints.data_fingerprint(data)}


def resumed_runs(progress: Path, args, data) -> list[dict]:
    """The runs a stopped or killed comparison with the same flags and data had finished."""
    if not progress.exists():
        return []
    try:
        saved = json.loads(progress.read_text(encoding="utf-8"))
        runs, theirs = saved["finished_runs"], saved["flags"]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise DataError(
            f"{progress} cannot be read ({err}); move it away to start the comparison afresh"
        ) from None
    ours = progress_record(args, data)
    changed = [
        k for k in sorted(set(ours["flags"]) | set(theirs)) if ours["flags"].get(k) != theirs.get(k)
    ]
    if changed or saved.get("data") != ours["data"]:
        what = (
            f"--{changed[0].replace('_', '-')} {theirs.get(changed[0])}, not "
            f"{ours['flags'].get(changed[0])}"
            if changed
            else "other data"
        )
        raise DataError(
            f"{progress} holds the finished runs of another comparison ({what}); move it away, "
            "pass the same flags to continue it, or use another --out-dir"
        )
    wanted = {(k, args.seed + i) for k in args.models for i in range(args.seeds)}
    runs = [r for r in runs if (r["model"], r["seed"]) in wanted]
    if runs:
        print(f"Resuming: {len(runs)} finished run(s) from {progress}")
    return runs


# ----------------------------------------------------------------------------- outputs
def write_outputs(runs: list[dict], setup, args, note: str = "", wall=None) -> list[Path]:
    """Figures, results.md and results.json for the runs given."""
    from seqpred import figures  # matplotlib only now, once training is over

    data = setup.data
    result = scoring.evaluate_runs(runs, data, args)
    result["flags"] = vars(args)
    result["jobs"] = setup.jobs
    result["wall_seconds_training"] = wall
    result["peak_memory_mb"], result["memory_kind"] = runtime.peak_memory_mb(setup.device)
    out = Path(args.out_dir)
    table = note + report.results_markdown(result, args)
    paths = [write_json(out / "results.json", result), write_text(out / "results.md", table)]
    paths += figures.comparison_figures(runs, result, data, args)
    print()
    print(table)
    return paths


def write_partial(outcome: parallel.Outcome, setup, args) -> list[Path]:
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
        f"cover only those. Not finished: {'; '.join(missing)}. Running the comparison again "
        "with the same flags trains only those.\n\n"
    )
    return write_outputs(outcome.done, setup, partial, note)


def main(argv=None) -> int:
    parser = build_parser()
    args = flags.finish(parser, parser.parse_args(argv), datasets.PRESETS, datasets.check_flags)
    runtime.keep_freed_memory()
    if args.dataset == "adding":
        parser.error(
            "the adding problem is not a time series: compare the models on it with adding_task.py"
        )
    return cli.run(parser, compare, args)


def compare(args, stop) -> int:
    """Everything main() does once the flags are checked. stop: Ctrl-C or SIGTERM, recorded."""
    setup = cli.start(args, args.models, datasets, [args.out_dir])
    setup.jobs = runtime.default_jobs(args.jobs, setup.device, args.dropout)
    runtime.use_threads(setup.jobs)
    if args.match_params is not None:
        print_budgets(args, setup)
    print(
        f"Comparing {', '.join(args.models)} on {setup.data.name} with {setup.layers}; "
        f"{args.seeds} seed(s), {args.epochs} epochs, {setup.jobs} at a time: "
        f"{datasets.describe(setup.data)}"
    )
    progress = Path(args.out_dir) / PROGRESS
    finished = resumed_runs(progress, args, setup.data)
    start = time.perf_counter()
    outcome = run_all(args, setup, stop, progress, finished)
    wall = time.perf_counter() - start
    return finish(outcome, setup, args, wall, progress)


def print_budgets(args, setup) -> None:
    """--match-params: the hidden size and parameter count each model got."""
    outputs = args.predict_steps if args.strategy == "direct" else 1
    layers, inputs = args.num_layers, setup.data.num_features
    counts = [
        f"{k} hidden {h} ({scoring.parameter_count(k, h, inputs, outputs, layers)} parameters)"
        for k, h in setup.hidden_sizes.items()
    ]
    print(f"Equal budgets (--match-params {args.match_params}): " + ", ".join(counts))


def finish(outcome: parallel.Outcome, setup, args, wall: float, progress: Path) -> int:
    """Write what the runs produced; the exit status says whether it is all of it. The file
    of finished runs goes only once the complete results are written."""
    if outcome.complete:
        for path in write_outputs(outcome.done, setup, args, wall=wall):
            print(f"Wrote {path}")
        progress.unlink(missing_ok=True)
        return 0
    total = len(args.models) * args.seeds
    stopped = f" ({outcome.interrupted.name})" if outcome.interrupted else ""
    print(f"\nStopped{stopped}: {len(outcome.done)} of {total} runs had finished.")
    for path in write_partial(outcome, setup, args):
        print(f"Wrote {path} (partial)")
    if outcome.done:
        print(f"Run again with the same flags to train the rest ({progress} keeps the finished).")
    return outcome.interrupted.status if outcome.interrupted else 1


if __name__ == "__main__":
    sys.exit(main())
