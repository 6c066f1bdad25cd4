"""Train the RNN, the LSTM and the GRU with the same flags, over one or more seeds, and compare.

    python compare_results.py                        # the sine wave, one seed
    python compare_results.py --seeds 5              # every metric as mean ± std over 5 seeds
    python compare_results.py --dataset elnino       # monthly sea-surface temperature
    python compare_results.py --dataset collection   # every series of datasets/collection.csv

Writes into --out-dir: loss_curves.png, predictions.png (free-running forecasts), one_step.png
(one-step predictions over the test period), horizon.png, gradient_flow.png, lstm_gates.png,
results.md and results.json. With --dataset collection, each series' own in a folder of its
name, and across the series results.md, results.json and ranks.png. Every run uses main.py's
training loop; seqpred/ scores, tabulates and draws.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from seqpred import checkpoints, device, parsers, process, provenance, runner
from seqpred.budgets import parameters
from seqpred.collection import COLLECTION, collection_sizes, read_collection
from seqpred.fileio import write_json, write_text
from seqpred.flags import PANELS
from seqpred.report import collection, comparison, terminal
from seqpred.runner import Task
from seqpred.scoring import evaluation, ranks
from seqpred.settings import Settings, TrainSettings, from_flags

import competition
import data as datasets
import main as trainer

OUTPUTS = "compare_results.py"  # the outputs' name in each folder's provenance.json


@dataclass(frozen=True)
class Series:
    """One series to compare on: its settings, its data, where and how its runs train."""

    settings: Settings
    data: object  # data.SeriesData
    device: object  # torch.device
    train: TrainSettings  # with the implementation resolved
    layers: str  # the start-up line's words for what runs the layers

    @property
    def name(self) -> str | None:
        return self.settings.data.series


# ----------------------------------------------------------------------------- one run
def train_run(kind: str, dataset, train: TrainSettings, dev, on_epoch=None):
    """Train one model, with main.py's loop; returns its RunResult."""
    run = trainer.Run(kind, dataset, train, dev, on_epoch)
    for epoch in run.epochs():
        loss = trainer.train_epoch(
            run.model,
            *run.train_data,
            run.optimizer,
            train.batch_size,
            run.generator,
            train.max_batches,
        )
        run.record(epoch, loss, trainer.evaluate(run.model, *run.test_data, train.test_batch_size))
    return run.result()


def train_and_describe(task: Task, series: Series, stop, on_epoch=None) -> dict:
    """Train one (model, seed) of a series, stoppable at each epoch's end; what describe_run
    says of it, under the task's label."""
    changes = dict(task.changes)
    hidden = changes.pop("hidden_size", series.settings.runs.hidden_sizes.get(task.kind))
    train = replace(series.train, seed=task.seed, hidden_size=hidden, **changes)

    def each_epoch(epoch, train_loss, test_loss):
        if on_epoch is not None:
            on_epoch(epoch, train_loss, test_loss)
        stop.check()  # Ctrl-C, SIGTERM: stop at the end of this epoch

    with device.own_stream(series.device):
        result = train_run(task.kind, series.data, train, series.device, each_epoch)
        test_batch = train.test_batch_size
        s = series.settings
        described = trainer.describe_run(
            result, task.seed, series.data, s.score, test_batch, series.device
        )
    return {**described, "model": task.label or task.kind, "series": series.name}


def run_all(series: list[Series], jobs: int, stop, finished: runner.FinishedRuns, on_series=None):
    """Every (model, seed) run of every series not yet finished, --jobs at a time, in one pool:
    series by series, heaviest model first. Each finished run is kept in `finished` at once;
    on_series(series, runs) is called as each series' last run finishes."""
    by_name = {x.name: x for x in series}
    done = {runner.key(r) for r in finished.runs}
    tasks = [t for x in series for t in tasks_of(x) if (t.series, t.kind, t.seed) not in done]
    total = len(done) + len(tasks)
    epochs = max(x.train.epochs for x in series)
    progress = runner.Progress(len(tasks), epochs, series[0].settings.runs.log_interval, len(done))
    preloaded = []

    def preload_when_a_core_is_free():
        if not preloaded and (os.cpu_count() or 1) > min(jobs, total - len(finished.runs)):
            preloaded.append(True)  # matplotlib and scipy, needed once training is over
            runner.preload("seqpred.figures.comparison", "scipy.stats")

    def run(task, stop):
        logger = progress.logger(task.name, by_name[task.series].train.epochs)
        try:
            return train_and_describe(task, by_name[task.series], stop, logger)
        finally:
            if hasattr(logger, "close"):
                logger.close()

    def on_done(r):
        finished.add(r)
        preload_when_a_core_is_free()
        where = f"{r['series']}: " if r["series"] else ""
        progress.finished(
            f"{where}{r['model']} seed {r['seed']}: final test MSE {r['test_losses'][-1]:.3e} "
            f"in {r['train_seconds']:.1f} s"
        )
        x = by_name[r["series"]]
        runs = [y for y in finished.runs if y["series"] == r["series"]]
        if on_series is not None and len(runs) == len(tasks_of(x)):
            on_series(x, runs)

    def on_failed(task, err):
        print(f"compare_results.py: error: {task.name}: {err}", file=sys.stderr)

    start = time.perf_counter()
    preload_when_a_core_is_free()
    try:
        outcome = runner.run_all(run, tasks, jobs, stop, on_done, on_failed)
    finally:
        progress.close()
    outcome.done = list(finished.runs)  # the resumed runs too, in the order they finished
    return outcome, time.perf_counter() - start


def tasks_of(x: Series) -> list[Task]:
    """A series' runs, heaviest model first, so that parallel runs finish at about the same
    time."""
    runs = x.settings.runs
    order = sorted(runs.models, key=lambda k: -parameters(k, runs.hidden_sizes[k]))
    seeds = runs.seed_list(x.settings.train.seed)
    return [Task(kind, seed, series=x.name) for kind in order for seed in seeds]


# ----------------------------------------------------------------------------- outputs
def write_outputs(runs: list[dict], x: Series, jobs: int, wall=None, note: str = "") -> tuple:
    """Figures, results.md and results.json of a series' runs; (their paths, the scored
    report)."""
    from seqpred.figures.comparison import comparison_figures  # matplotlib only now

    s = x.settings
    ran = tuple(k for k in s.score.models if any(r["model"] == k for r in runs))
    result = evaluation.evaluate_runs(runs, x.data, replace(s.score, models=ran))
    result.update(flags=s.flags, settings=asdict(s), command=s.command, jobs=jobs)
    result["wall_seconds_training"] = wall
    result["peak_memory_mb"], result["memory_kind"] = process.peak_memory_mb(str(x.device))
    out = Path(s.output.out_dir)
    table = note + comparison.results_markdown(result, s.runs.match_params)
    paths = [write_json(out / "results.json", result), write_text(out / "results.md", table)]
    paths += comparison_figures(runs, result, x.data, out)
    provenance.record(out, OUTPUTS, s.command, s.flags)
    return paths, result


def wrote(paths: list[Path]) -> str:
    """'Wrote results.md, results.json and 6 figures into figures/elnino'."""
    named = [p.name for p in paths if p.suffix != ".png"]
    figures = sum(p.suffix == ".png" for p in paths)
    return f"Wrote {', '.join(named)} and {figures} figure(s) into {paths[0].parent}"


# ----------------------------------------------------------------------------- entry point
def main(argv=None) -> int:
    s = from_flags(parsers.parser("compare_results.py"), argv)
    with process.guarded("compare_results.py") as stop:
        if s.data.dataset == "collection":
            return compare_collection(s, stop)
        if s.data.dataset in PANELS:  # many series: one global model per cell
            return competition.compare_panel(s, stop)
        return compare(s, stop)


def start(s: Settings, outputs: str | None = OUTPUTS) -> Series:
    """A series set up for training (see main.setup), and its start-up line's words."""
    dev, dataset, train = trainer.setup(s, outputs)
    largest = max([*s.runs.hidden_sizes.values(), dataset.num_features])
    words = device.describe(train.impl, dev, s.runs.models, s.train.impl, largest)
    return Series(s, dataset, dev, train, words)


def pool(s: Settings, dev) -> int:
    """How many runs train at once, with each one's share of the cores."""
    jobs = device.default_jobs(s.runs.jobs, dev, s.train.dropout)
    device.use_threads(jobs)
    return jobs


def finished_runs(series: list[Series]) -> runner.FinishedRuns:
    """The file of finished runs, for these flags and this data (see runner.FinishedRuns)."""
    keep = {k: v for k, v in series[0].settings.flags.items() if k not in ("jobs", "log_interval")}
    prints = [checkpoints.data_fingerprint(x.data) for x in series]
    record = runner.FinishedRuns(
        series[0].settings.output.out_dir, keep, runner.fingerprint(prints)
    )
    record.load({(t.series, t.kind, t.seed) for x in series for t in tasks_of(x)})
    return record


def compare(s: Settings, stop) -> int:
    """One series: train, score, write, and say what the numbers show."""
    x = start(s)
    jobs = pool(s, x.device)
    if s.runs.match_params is not None:
        print_budgets(s, x)
    trainer.say(
        f"Comparing {', '.join(s.runs.models)} on {x.data.name} with {x.layers}; "
        f"{s.runs.seeds} seed(s), {x.train.epochs} epochs, {jobs} at a time: "
        f"{datasets.describe(x.data)}"
    )
    finished = finished_runs([x])
    outcome, wall = run_all([x], jobs, stop, finished)
    total = len(tasks_of(x))

    def partial(note):
        return write_outputs(outcome.done, x, jobs, note=note)[0]

    if not outcome.complete:
        status = runner.finish(outcome, total, "runs", partial)
        if outcome.done:
            print(f"Run the same command again to train the rest ({finished.path} keeps them).")
        return status
    paths, result = write_outputs(outcome.done, x, jobs, wall)
    finished.remove()
    print()
    print(terminal.comparison_summary(result, str(paths[1])))
    print(wrote(paths))
    return 0


def print_budgets(s: Settings, x: Series) -> None:
    """--match-params: the hidden size and parameter count each model got."""
    sizes = {"num_layers": x.train.num_layers, "input_size": x.data.num_features}
    counts = [
        f"{k} hidden {h} ({parameters(k, h, output_size=x.train.outputs, **sizes)} parameters)"
        for k, h in s.runs.hidden_sizes.items()
    ]
    print(f"Equal budgets (--match-params {s.runs.match_params}): " + ", ".join(counts))


# ----------------------------------------------------------------------------- a collection
def compare_collection(s: Settings, stop) -> int:
    """Every series of the manifest, each compared as a plain comparison would, in one pool of
    runs; then every method ranked across the series, the M4 way."""
    root = Path(s.output.out_dir)
    provenance.check(root, OUTPUTS, s.command, s.flags, s.output.overwrite)
    series = []
    for entry in read_collection(s.data.manifest or COLLECTION):  # every line checked now
        look_back, horizon = collection_sizes(entry["season"])
        x = start(s.for_series(entry, horizon, look_back, entry["epochs"] or 500))
        series.append(x)
        print(
            f"{x.name}: {datasets.describe(x.data)}; {x.train.epochs} epochs, "
            f"{x.settings.score.steps}-step forecasts"
        )
    jobs = pool(s, series[0].device)
    trainer.say(
        f"Comparing {', '.join(s.runs.models)} on {len(series)} series with {series[0].layers}; "
        f"{s.runs.seeds} seed(s), {jobs} at a time"
    )
    finished = finished_runs(series)
    for x in series:  # series finished before a kill -9 whose tables were not written
        runs = [r for r in finished.runs if r["series"] == x.name]
        out = Path(x.settings.output.out_dir)
        if len(runs) == len(tasks_of(x)) and not (out / "results.json").exists():
            write_outputs(runs, x, jobs)

    def on_series(x, runs):
        paths = write_outputs(runs, x, jobs)[0]
        print(f"Finished series {x.name}: {wrote(paths).removeprefix('Wrote ')}", flush=True)

    outcome, wall = run_all(series, jobs, stop, finished, on_series)
    if not outcome.complete:
        done = len({r["series"] for r in outcome.done})
        status = runner.finish(outcome, sum(len(tasks_of(x)) for x in series), "runs")
        print(
            f"{done} of {len(series)} series had finished; run the same command again to "
            f"continue with the rest ({finished.path})."
        )
        return status
    write_collection(series, s, wall)
    finished.remove()
    return 0


def write_collection(series: list[Series], s: Settings, wall: float) -> None:
    """Across the series: results.md, results.json and ranks.png."""
    from seqpred.figures.single import plot_ranks

    reports = {
        x.name: json.loads((Path(x.settings.output.out_dir) / "results.json").read_text("utf-8"))
        for x in series
    }
    summary = ranks.collection_summary(reports, list(s.runs.models))
    summary.update(flags=s.flags, command=s.command, wall_seconds_training=wall)
    out = Path(s.output.out_dir)
    text = collection.collection_markdown(summary)
    paths = [write_json(out / "results.json", summary), write_text(out / "results.md", text)]
    paths.append(plot_ranks(summary, out / "ranks.png"))
    provenance.record(out, OUTPUTS, s.command, s.flags)
    print()
    print(terminal.collection_summary(summary, str(paths[1])))
    print(wrote(paths))


if __name__ == "__main__":
    sys.exit(main())
