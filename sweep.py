"""A fair fight: tune each model on a validation split, then compare the tuned models on the test
period, beside the untuned defaults.

    python sweep.py --dataset elnino --trials 20 --seeds 5
    python sweep.py --trials 10 --epochs 150 --seeds 3             # the sine wave
    python sweep.py --dataset elnino --trials 20 --workers 2       # two worker processes

For each model type an Optuna study (TPE; each trial's random numbers come from --seed and its
number, so no two trials replay each other) searches the learning rate (log scale), the hidden
size, the number of layers and, with two or more, the dropout. Each trial trains on the
training period and is scored by its loss on the end of it, held out (--val-fraction): the test
period is not even loaded into a trial. Hopeless trials are pruned by the median rule on the
per-epoch validation loss. The studies live in a storage (sweep.db in --out-dir, or --storage
URL), so a stopped sweep continues where it stopped, and workers on one machine or many share
it. Then each model is retrained over --seeds seeds with its best settings, and with the
defaults, and scored on the test period with compare_results.py's tables and tests. Writes
sweep.md, sweep.json and sensitivity.png into --out-dir.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from pathlib import Path

from seqpred import device, parsers, process, provenance, runner, tuning
from seqpred.errors import FlagError
from seqpred.fileio import write_json, write_text
from seqpred.report import sweep as sweep_report
from seqpred.report import terminal
from seqpred.runner import Task
from seqpred.runs import TrainingDiverged
from seqpred.settings import Settings, from_flags

import compare_results

OUTPUTS = "sweep.py"


# ----------------------------------------------------------------------------- one trial
def suggest(trial, train):
    """The settings a trial tries: learning rate, hidden size, layers, and dropout."""
    layers = trial.suggest_int("num_layers", 1, 2)
    return dataclasses.replace(
        train,
        lr=trial.suggest_float("lr", 1e-4, 3e-2, log=True),
        hidden_size=trial.suggest_int("hidden_size", 8, 64, log=True),
        num_layers=layers,
        dropout=trial.suggest_float("dropout", 0.0, 0.5) if layers > 1 else 0.0,
    )


def tuning_view(data):
    """The training period only: the held-out windows take the place of the test windows, so
    the test loss each epoch reports is the validation loss."""
    return dataclasses.replace(data, test_x=data.val_x, test_y=data.val_y, val_x=None, val_y=None)


def objective(trial, kind: str, x, stop) -> float:
    """Train with the trial's settings; its score is the validation MSE after the last epoch."""
    import optuna

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

    train = suggest(trial, x.train)
    result = compare_results.train_run(kind, tuning_view(x.data), train, x.device, on_epoch)
    loss = result.history.test_losses[-1]
    print(f"{kind} trial {trial.number}: validation MSE {loss:.3e} with {trial.params}", flush=True)
    return loss


def run_studies(s: Settings, x, stop) -> None:
    """This worker's share of every model's trials. stop: checked between epochs, so a signal
    never lands in the middle of Optuna's bookkeeping."""
    for kind, study in studies(s).items():
        ran = tuning.run_trials(
            study,
            lambda trial, kind=kind: objective(trial, kind, x, stop),
            s.sweep.trials,
            TrainingDiverged,
            stop,
            s.train.seed,
            kind,
        )
        print(
            f"{kind}: {ran} trial(s) run here, {len(tuning.finished(study))} of "
            f"{s.sweep.trials} finished in the study"
        )


def sweep_settings(s: Settings) -> dict:
    """The settings a study's trials must share: joining a study made with others is refused."""
    d, t = s.data, s.train
    return {
        "dataset": d.dataset,
        "csv": d.csv,
        "column": d.column,
        "sequence_length": d.sequence_length,
        "test_fraction": d.test_fraction,
        "val_fraction": d.val_fraction,
        "epochs": t.epochs,
        "batch_size": t.batch_size,
        "impl": t.impl,
        "seed": t.seed,
    }


def studies(s: Settings) -> dict:
    """Every model's study in the sweep's storage."""
    storage = tuning.open_storage(s.sweep.storage, Path(s.output.out_dir))
    return {
        k: tuning.open_study(storage, k, sweep_settings(s), s.train.seed) for k in s.runs.models
    }


# ----------------------------------------------------------------------------- the final test
def retrain(s: Settings, x, jobs: int, stop, best: dict) -> runner.Outcome:
    """Each model with its best settings and with the defaults, over --seeds seeds."""
    tasks = [
        Task(kind, seed, label=f"{kind} {label}", changes=tuple(settings.items()))
        for kind in s.runs.models
        for label, settings in (("tuned", best[kind]), ("default", {}))
        for seed in s.runs.seed_list(s.train.seed)
    ]

    def run(task, stop):
        return compare_results.train_and_describe(task, x, stop)

    def on_done(r):
        print(f"{r['model']} seed {r['seed']}: test MSE {r['test_losses'][-1]:.3e}", flush=True)

    return runner.run_all(run, tasks, jobs, stop, on_done)


def best_settings(s: Settings) -> dict:
    """Each model's best finished trial, as changes to the training settings."""
    best = {}
    for kind, study in studies(s).items():
        complete = [t for t in tuning.finished(study) if t.value is not None]
        if not complete:
            raise FlagError(f"no {kind} trial finished; nothing to compare")
        trial = min(complete, key=lambda t: t.value)
        best[kind] = {**trial.params, "dropout": trial.params.get("dropout", 0.0)}
    return best


def write_outputs(s: Settings, x, jobs: int, runs, best) -> tuple:
    from seqpred.figures.single import plot_sensitivity  # matplotlib only now

    ran = {
        "trials": s.sweep.trials,
        "epochs": s.train.epochs,
        "val_fraction": s.data.val_fraction,
        "lr": s.train.lr,
        "hidden_size": s.train.hidden_size,
        "num_layers": s.train.num_layers,
        "seeds": s.runs.seeds,
    }
    summary = sweep_report.sweep_summary(studies(s), best, runs, x.data, s.score, s.flags, ran)
    test = summary["test"]  # the retraining ran here, in this process, jobs at a time
    test["jobs"] = jobs
    test["peak_memory_mb"], test["memory_kind"] = process.peak_memory_mb(str(x.device))
    out = Path(s.output.out_dir)
    text = sweep_report.sweep_markdown(summary)
    paths = [write_json(out / "sweep.json", summary), write_text(out / "sweep.md", text)]
    paths.append(plot_sensitivity(summary["trials"], out / "sensitivity.png"))
    provenance.record(out, OUTPUTS, s.command, s.flags)
    return paths, summary


# ----------------------------------------------------------------------------- entry point
def main(argv=None) -> int:
    s = from_flags(parsers.parser("sweep.py"), argv)
    argv = list(sys.argv[1:] if argv is None else argv)
    with (
        process.guarded("sweep.py") as stop,
        tuning.storage_errors(s.sweep.storage, s.output.out_dir),
    ):
        return sweep(s, stop, argv)


def sweep(s: Settings, stop, argv: list[str]) -> int:
    """Everything main() does once the flags are checked."""
    if s.sweep.worker_id is not None:
        tuning.watch_parent()  # a worker never outlives the sweep that started it
    x = compare_results.start(s, OUTPUTS)
    if not len(x.data.val_x):
        raise FlagError(
            "the held-out stretch has no windows to score trials on; use a larger --val-fraction"
        )
    tuning.open_storage(s.sweep.storage, Path(s.output.out_dir))  # a bad --storage fails here
    if s.sweep.worker_id is not None:
        device.use_threads(s.sweep.workers)
        run_studies(s, x, stop)
        return 0
    if s.sweep.workers == 1:
        device.use_threads(1)
        while True:  # other sweeps may share the storage: finish with theirs, exactly
            run_studies(s, x, stop)
            if not tuning.missing_trials(studies(s), s.sweep.trials):
                break
            tuning.wait_while_running(studies(s), stop)
    else:
        print(f"Starting {s.sweep.workers} worker processes on {s.sweep.storage or 'sweep.db'}")
        lost = tuning.run_workers(argv, s.sweep.workers, Path(__file__), stop)
        if lost:
            for line in lost:
                print(f"sweep.py: error: {line}", file=sys.stderr)
            return 1
    missing = tuning.missing_trials(studies(s), s.sweep.trials)
    if missing:  # never a result as if every trial had finished
        for line in missing:
            print(f"sweep.py: error: {line}", file=sys.stderr)
        return 1
    best = best_settings(s)
    dropout = max([s.train.dropout] + [b["dropout"] for b in best.values()])
    jobs = device.default_jobs(s.runs.jobs, x.device, dropout)
    start = time.perf_counter()
    outcome = retrain(s, x, jobs, stop, best)
    if not outcome.complete:
        return runner.finish(outcome, len(s.runs.models) * 2 * s.runs.seeds, "final runs")
    print(f"Retrained the best and the default settings in {time.perf_counter() - start:.0f} s")
    paths, summary = write_outputs(s, x, jobs, outcome.done, best)
    print()
    for kind, b in best.items():
        print(
            f"{kind} tuned: lr {b['lr']:.2e}, hidden {b['hidden_size']}, {b['num_layers']} "
            f"layer(s), dropout {b['dropout']:.2f}"
        )
    print(terminal.comparison_summary(summary["test"], str(paths[1])))
    print(compare_results.wrote(paths))
    return 0


if __name__ == "__main__":
    sys.exit(main())
