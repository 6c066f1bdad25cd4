"""A fair fight: tune each model on a validation split, then compare the tuned models on the test
period, beside the untuned defaults.

    python sweep.py --dataset elnino --trials 20 --seeds 5
    python sweep.py --trials 10 --epochs 150 --seeds 3             # the sine wave
    python sweep.py --dataset elnino --trials 20 --workers 2       # two worker processes

For each model type an Optuna study (TPE; each trial's random numbers come from --seed and its
number, so no two trials replay each other) searches the learning rate (log
scale), the hidden size, the number of layers and, with two or more, the dropout. Each trial
trains on the training period and is scored by its loss on the end of it, held out
(--val-fraction): the test period is not even loaded into a trial. Hopeless trials are pruned by
the median rule on the per-epoch validation loss. The studies live in a storage (sweep.db in
--out-dir, or --storage URL), so a stopped sweep continues where it stopped, and workers on
one machine or many share it. Then each model is retrained over --seeds seeds with its best
settings, and with the defaults, and scored on the test period with compare_results.py's tables
and paired tests. Writes sweep.md, sweep.json and sensitivity.png into --out-dir.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

from seqpred import cli, flags, parallel, runtime, tuning
from seqpred.fileio import write_json, write_text
from seqpred.flags import FlagError
from seqpred.report import sweep as sweep_report

import compare_results
import data as datasets
import main as trainer
from models import MODEL_TYPES, parameters_of


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sweep.py",
        description="Tune each model's learning rate, size and depth on a validation split, "
        "then compare the tuned models and the defaults on the test period.",
    )
    flags.add_run_set_arguments(parser, MODEL_TYPES, jobs_help=" (the retraining of the best)")
    flags.add_data_arguments(parser, [d for d in datasets.DATASETS if d != "adding"])
    flags.add_model_arguments(parser, trainer.IMPLEMENTATIONS, match_params=False)
    flags.add_training_arguments(parser)
    flags.add_forecast_arguments(parser)
    s = parser.add_argument_group("sweep")
    s.add_argument(
        "--trials",
        type=flags.positive_int,
        default=20,
        help="trials per model type, counted across every worker (default: 20)",
    )
    s.add_argument(
        "--storage",
        metavar="URL",
        help="an Optuna storage URL that several workers share, e.g. "
        "postgresql://user:password@host/db (default: sweep.db in --out-dir)",
    )
    s.add_argument(
        "--workers",
        type=flags.positive_int,
        default=1,
        help="local worker processes that run trials at the same time (default: 1)",
    )
    s.add_argument("--worker-id", type=int, help=argparse.SUPPRESS)
    return parser


# ----------------------------------------------------------------------------- one trial
def suggest(trial, args) -> trainer.RunConfig:
    """The settings a trial tries: learning rate, hidden size, layers, and dropout."""
    layers = trial.suggest_int("num_layers", 1, 2)
    return trainer.RunConfig.from_args(
        args,
        lr=trial.suggest_float("lr", 1e-4, 3e-2, log=True),
        hidden_size=trial.suggest_int("hidden_size", 8, 64, log=True),
        num_layers=layers,
        dropout=trial.suggest_float("dropout", 0.0, 0.5) if layers > 1 else 0.0,
    )


def tuning_view(data):
    """The training period only: the held-out windows take the place of the test windows, so
    the test loss `train_model` reports after each epoch is the validation loss."""
    return dataclasses.replace(data, test_x=data.val_x, test_y=data.val_y, val_x=None, val_y=None)


def objective(trial, kind, args, setup, stop) -> float:
    """Train with the trial's settings; its score is the validation MSE after the last epoch."""
    import optuna

    config = dataclasses.replace(suggest(trial, args), impl=setup.impl)

    def on_epoch(epoch, train_loss, val_loss):
        stop.check()  # Ctrl-C, SIGTERM: this trial is marked failed, to be run again
        trial.report(val_loss, epoch)
        if trial.should_prune():  # far worse than the other trials had been by this epoch
            print(
                f"{kind} trial {trial.number}: pruned at epoch {epoch} (validation MSE "
                f"{val_loss:.3e}) with {trial.params}",
                flush=True,
            )
            raise optuna.TrialPruned()

    result = trainer.train_model(kind, tuning_view(setup.data), config, setup.device, on_epoch)
    loss = result.history.test_losses[-1]
    print(f"{kind} trial {trial.number}: validation MSE {loss:.3e} with {trial.params}", flush=True)
    return loss


def run_studies(args, setup, stop) -> None:
    """This worker's share of every model's trials. stop: checked between epochs, so a signal
    never lands in the middle of Optuna's bookkeeping."""
    for kind, study in studies(args).items():
        ran = tuning.run_trials(
            study,
            lambda trial, kind=kind: objective(trial, kind, args, setup, stop),
            args.trials,
            trainer.TrainingDiverged,
            stop,
            args.seed,
            kind,
        )
        print(
            f"{kind}: {ran} trial(s) run here, {len(tuning.finished(study))} of {args.trials} "
            "finished in the study"
        )


def sweep_settings(args) -> dict:
    """The flags a study's trials must share: joining a study made with others is refused."""
    keys = (
        "dataset",
        "csv",
        "column",
        "sequence_length",
        "test_fraction",
        "val_fraction",
        "epochs",
        "batch_size",
        "impl",
        "seed",
    )
    return {k: getattr(args, k) for k in keys}


# ----------------------------------------------------------------------------- the final test
def retrain(args, setup, stop, best: dict) -> parallel.Outcome:
    """Each model with its best settings and with the defaults, over --seeds seeds."""
    tasks = [
        (label, kind, settings, seed)
        for kind in args.models
        for label, settings in ((f"{kind} tuned", best[kind]), (f"{kind} default", {}))
        for seed in range(args.seed, args.seed + args.seeds)
    ]

    def run(task, stop):
        label, kind, settings, seed = task
        return compare_results.train_and_describe(kind, seed, args, setup, stop, label, **settings)

    def on_done(r):
        print(f"{r['model']} seed {r['seed']}: test MSE {r['test_losses'][-1]:.3e}", flush=True)

    return parallel.run_all(run, tasks, setup.jobs, stop, on_done)


def studies(args) -> dict:
    """Every model's study in the sweep's storage."""
    storage = tuning.open_storage(args.storage, Path(args.out_dir))
    return {k: tuning.open_study(storage, k, sweep_settings(args), args.seed) for k in args.models}


def best_settings(args) -> dict:
    """Each model's best finished trial, as RunConfig changes."""
    best = {}
    for kind, study in studies(args).items():
        complete = [t for t in tuning.finished(study) if t.value is not None]
        if not complete:
            raise SystemExit(f"sweep.py: error: no {kind} trial finished; nothing to compare")
        trial = min(complete, key=lambda t: t.value)
        best[kind] = {**trial.params, "dropout": trial.params.get("dropout", 0.0)}
    return best


def write_outputs(args, setup, runs, best) -> list[Path]:
    from seqpred import figures  # matplotlib only now

    score = flags.score_settings(args)
    summary = sweep_report.sweep_summary(studies(args), best, runs, setup.data, score, vars(args))
    test = summary["test"]  # the retraining ran here, in this process, setup.jobs at a time
    test["jobs"] = setup.jobs
    test["peak_memory_mb"], test["memory_kind"] = runtime.peak_memory_mb(setup.device)
    out = Path(args.out_dir)
    text = sweep_report.sweep_markdown(summary)
    paths = [write_json(out / "sweep.json", summary), write_text(out / "sweep.md", text)]
    paths.append(figures.plot_sensitivity(summary["trials"], out / "sensitivity.png"))
    print()
    print(text)
    return paths


# ----------------------------------------------------------------------------- entry point
def main(argv=None) -> int:
    parser = build_parser()
    args = flags.finish(parser, parser.parse_args(argv), datasets.PRESETS, datasets.check_flags)
    if not args.val_fraction:
        parser.error("--val-fraction must be above 0: the trials are scored on that split")
    if args.out_dir == "figures" or args.out_dir.startswith("figures/"):
        args.out_dir = str(Path(args.out_dir) / "sweep")
    runtime.keep_freed_memory()
    return cli.run(parser, sweep, args, argv if argv is not None else sys.argv[1:])


def sweep(args, stop, argv: list[str]) -> int:
    """Everything main() does once the flags are checked; a storage that fails is one line."""
    with tuning.storage_errors(args.storage, Path(args.out_dir)):
        return sweep_body(args, stop, argv)


def sweep_body(args, stop, argv: list[str]) -> int:
    if args.worker_id is not None:
        tuning.watch_parent()  # a worker never outlives the sweep that started it
    setup = cli.start(args, args.models, datasets, parameters_of, [args.out_dir])
    if not len(setup.data.val_x):
        raise FlagError(
            "the held-out stretch has no windows to score trials on; use a larger --val-fraction"
        )
    tuning.open_storage(args.storage, Path(args.out_dir))  # a bad --storage fails here
    if args.worker_id is not None:
        runtime.use_threads(args.workers)
        run_studies(args, setup, stop)
        return 0
    if args.workers == 1:
        runtime.use_threads(1)
        while True:  # other sweeps may share the storage: finish with theirs, exactly
            run_studies(args, setup, stop)
            if not tuning.missing_trials(studies(args), args.trials):
                break
            tuning.wait_while_running(studies(args), stop)
    else:
        print(f"Starting {args.workers} worker processes on {args.storage or 'sweep.db'}")
        lost = tuning.run_workers(argv, args.workers, Path(__file__), stop)
        if lost:
            for line in lost:
                print(f"sweep.py: error: {line}", file=sys.stderr)
            return 1
    missing = tuning.missing_trials(studies(args), args.trials)
    if missing:  # never a result as if every trial had finished
        for line in missing:
            print(f"sweep.py: error: {line}", file=sys.stderr)
        return 1
    best = best_settings(args)
    dropout = max([args.dropout] + [b["dropout"] for b in best.values()])
    setup.jobs = runtime.default_jobs(args.jobs, setup.device, dropout)
    start = time.perf_counter()
    outcome = retrain(args, setup, stop, best)
    if not outcome.complete:
        print(f"Stopped: {len(outcome.done)} of the final runs had finished; run again to finish")
        return outcome.interrupted.status if outcome.interrupted else 1
    print(f"Retrained the best and the default settings in {time.perf_counter() - start:.0f} s")
    for path in write_outputs(args, setup, outcome.done, best):
        print(f"Wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
