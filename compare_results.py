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

import argparse
import hashlib
import json
import os
import sys
import time
from pathlib import Path

from seqpred import checkpoints, cli, flags, parallel, runtime
from seqpred.fileio import write_json, write_text
from seqpred.flags import DataError
from seqpred.report import collection, comparison
from seqpred.scoring import evaluation, ranks

import data as datasets
import main as trainer
from models import MODEL_TYPES, parameters_of


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="compare_results.py",
        description="Train RNN, LSTM and GRU with shared flags over one or more seeds, and "
        "write comparison figures and tables.",
    )
    flags.add_run_set_arguments(parser, MODEL_TYPES)
    flags.add_data_arguments(parser, [*datasets.DATASETS, "collection"])
    parser.add_argument(
        "--manifest",
        metavar="PATH",
        help="with --dataset collection: the list of series (default: datasets/collection.csv)",
    )
    flags.add_model_arguments(parser, trainer.IMPLEMENTATIONS)
    flags.add_training_arguments(parser)
    flags.add_forecast_arguments(parser)
    return parser


# ----------------------------------------------------------------------------- one run
def run_job(task: tuple, stop) -> dict:
    """Train one model with one seed; return plain numbers and lists (JSON-able)."""
    kind, seed, args, setup = task
    run = train_and_describe(
        kind, seed, args, setup, stop, kind, hidden_size=setup.hidden_sizes[kind]
    )
    return {**run, "series": getattr(args, "series", None)}


def train_and_describe(kind, seed, args, setup, stop, label, **settings) -> dict:
    """Train `kind` with the flags (`settings` override them), logged and stoppable at each
    epoch's end; what describe_run says of it, under the name `label`."""
    config = trainer.RunConfig.from_args(args, seed=seed, impl=setup.impl, **settings)
    name = f"{label} seed {seed}"
    if getattr(args, "series", None):  # a series of a collection
        name = f"{args.series}: {name}"
    logger = cli.EpochLogger(name, args.epochs, args.log_interval, setup.jobs == 1)

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


def key(run: dict) -> tuple:
    return run.get("series"), run["model"], run["seed"]


def run_all(series, jobs, stop, progress: Path, finished: list, on_series=None):
    """Every (model, seed) run of every series not yet in `finished`, --jobs at a time, in one
    pool: series by series, heaviest model first. series: [(args, setup)], one for a plain
    comparison. Each finished run is written at once to `progress` (with the runs before it),
    so that even a process killed outright (out of memory, kill -9) leaves them on disk, and
    running the comparison again continues from them. on_series(args, setup, runs) is called
    as each series' last run finishes."""
    tasks, wanted = [], {}
    for args, setup in series:
        size = {k: parameters_of(k, hidden_size=h) for k, h in setup.hidden_sizes.items()}
        mine = sorted(  # heaviest first, so that parallel runs finish at about the same time
            ((kind, args.seed + i) for i in range(args.seeds) for kind in args.models),
            key=lambda job: (-size[job[0]], job[1]),
        )
        wanted[getattr(args, "series", None)] = (args, setup, len(mine))
        tasks += [(kind, seed, args, setup) for kind, seed in mine]
    done = {key(r) for r in finished}
    tasks = [t for t in tasks if (getattr(t[2], "series", None), t[0], t[1]) not in done]
    total, finished = len(done) + len(tasks), list(finished)
    record = {"flags": progress_flags(series), "data": fingerprint(series)}
    preloading: list = []

    def preload_when_a_core_is_free():
        if not preloading and (os.cpu_count() or 1) > min(jobs, total - len(finished)):
            preloading.append(True)
            runtime.preload("seqpred.figures", "scipy.stats")  # needed once training is over

    def on_done(r):
        finished.append(r)
        preload_when_a_core_is_free()
        write_json(progress, {**record, "finished_runs": finished})  # before it is announced
        where = f"{r['series']}: " if r["series"] else ""
        print(
            f"[{len(finished)}/{total}] {where}{r['model']} seed {r['seed']}: final test MSE "
            f"{r['test_losses'][-1]:.3e} in {r['train_seconds']:.1f} s",
            flush=True,
        )
        args, setup, count = wanted[r["series"]]
        runs = [x for x in finished if x["series"] == r["series"]]
        if on_series is not None and len(runs) == count:
            on_series(args, setup, runs)

    def on_failed(task, err):
        where = f"{task[2].series}: " if getattr(task[2], "series", None) else ""
        print(f"compare_results.py: error: {where}{task[0]} seed {task[1]}: {err}", file=sys.stderr)

    preload_when_a_core_is_free()
    outcome = parallel.run_all(run_job, tasks, jobs, stop, on_done, on_failed)
    outcome.done = finished  # the resumed runs too, in the order they finished
    return outcome


# ----------------------------------------------------------------------------- resuming
PROGRESS = "runs-in-progress.json"
NOT_COMPARED = ("models", "seeds", "jobs", "log_interval")  # a rerun may change these


def progress_flags(series) -> dict:
    """The flags the finished runs depend on (of each series, for a collection)."""
    flags_ = {}
    for args, _ in series:
        mine = {k: v for k, v in vars(args).items() if k not in NOT_COMPARED}
        flags_.update(
            {
                f"{args.series}.{k}" if getattr(args, "series", None) else k: v
                for k, v in mine.items()
            }
        )
    return json.loads(json.dumps(flags_))


def fingerprint(series) -> str:
    """One fingerprint of the data of every series."""
    prints = [checkpoints.data_fingerprint(setup.data) for _, setup in series]
    return prints[0] if len(prints) == 1 else hashlib.sha256("".join(prints).encode()).hexdigest()


def resumed_runs(progress: Path, series) -> list[dict]:
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
    ours = progress_flags(series)
    changed = [k for k in sorted(set(ours) | set(theirs)) if ours.get(k) != theirs.get(k)]
    if changed or saved.get("data") != fingerprint(series):
        name = changed[0].split(".")[-1].replace("_", "-") if changed else ""
        what = f"--{name} {theirs.get(changed[0])}, not {ours.get(changed[0])}" if changed else ""
        raise DataError(
            f"{progress} holds the finished runs of another comparison ({what or 'other data'}); "
            "move it away, pass the same flags to continue it, or use another --out-dir"
        )
    wanted = {
        (getattr(args, "series", None), kind, args.seed + i)
        for args, _ in series
        for kind in args.models
        for i in range(args.seeds)
    }
    runs = [r for r in runs if key(r) in wanted]
    if runs:
        print(f"Resuming: {len(runs)} finished run(s) from {progress}")
    return runs


# ----------------------------------------------------------------------------- outputs
def write_outputs(runs: list[dict], setup, args, note: str = "", wall=None) -> list[Path]:
    """Figures, results.md and results.json for the runs given."""
    from seqpred import figures  # matplotlib only now, once training is over

    data = setup.data
    result = evaluation.evaluate_runs(runs, data, flags.score_settings(args))
    result["flags"] = vars(args)
    result["jobs"] = setup.jobs
    result["wall_seconds_training"] = wall
    result["peak_memory_mb"], result["memory_kind"] = runtime.peak_memory_mb(setup.device)
    out = Path(args.out_dir)
    table = note + comparison.results_markdown(result, args.match_params)
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


# ----------------------------------------------------------------------------- entry point
def main(argv=None) -> int:
    parser = build_parser()
    args = flags.finish(parser, parser.parse_args(argv), datasets.PRESETS, datasets.check_flags)
    runtime.keep_freed_memory()
    if args.dataset == "adding":
        parser.error(
            "the adding problem is not a time series: compare the models on it with adding_task.py"
        )
    if args.dataset == "collection":
        return cli.run(parser, compare_collection, args)
    return cli.run(parser, compare, args)


def compare(args, stop) -> int:
    """Everything main() does once the flags are checked. stop: Ctrl-C or SIGTERM, recorded."""
    setup = cli.start(args, args.models, datasets, parameters_of, [args.out_dir])
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
    finished = resumed_runs(progress, [(args, setup)])
    start = time.perf_counter()
    outcome = run_all([(args, setup)], setup.jobs, stop, progress, finished)
    wall = time.perf_counter() - start
    return finish(outcome, setup, args, wall, progress)


def print_budgets(args, setup) -> None:
    """--match-params: the hidden size and parameter count each model got."""
    outputs = args.predict_steps if args.strategy == "direct" else 1
    sizes = {"input_size": setup.data.num_features, "output_size": outputs}
    counts = [
        f"{k} hidden {h} ({parameters_of(k, hidden_size=h, num_layers=args.num_layers, **sizes)} "
        "parameters)"
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


# ----------------------------------------------------------------------------- a collection
def series_flags(args, entry: dict) -> argparse.Namespace:
    """One series' flags: the collection's, with the series' file, season, look-back, horizon
    and epochs (--sequence-length, --predict-steps and --epochs, when given, for every one)."""
    look_back, horizon = datasets.collection_sizes(entry["season"])
    return argparse.Namespace(
        **{
            **vars(args),
            "dataset": "csv",
            "csv": entry["path"],
            "column": entry["column"],
            "date_column": entry["date_column"] or None,
            "season": entry["season"] or 0,
            "season_source": entry["season_source"],
            "sequence_length": args.sequence_length or look_back,
            "predict_steps": min(args.predict_steps or horizon, 5 if args.dry_run else 10**9),
            "epochs": args.epochs or entry["epochs"] or 500,
            "out_dir": str(Path(args.out_dir) / entry["name"]),
            "series": entry["name"],
            "units": entry["units"],
        }
    )


def compare_collection(args, stop) -> int:
    """Every series of the manifest, each compared as a plain comparison would, in one pool of
    runs; then every method ranked across the series, the M4 way."""
    entries = datasets.read_collection(args.manifest or datasets.COLLECTION)  # all checked now
    series = []
    for entry in entries:
        sargs = series_flags(args, entry)
        setup = cli.start(sargs, args.models, datasets, parameters_of, [sargs.out_dir])
        setup.data = datasets.named(setup.data, entry["name"], entry["units"])
        series.append((sargs, setup))
        print(
            f"{entry['name']}: {datasets.describe(setup.data)}; {sargs.epochs} epochs, "
            f"{sargs.predict_steps}-step forecasts"
        )
    jobs = runtime.default_jobs(args.jobs, series[0][1].device, args.dropout)
    runtime.use_threads(jobs)
    for _, setup in series:
        setup.jobs = jobs
    print(
        f"Comparing {', '.join(args.models)} on {len(series)} series with {series[0][1].layers}; "
        f"{args.seeds} seed(s), {jobs} at a time"
    )
    out = Path(args.out_dir)
    progress = out / PROGRESS
    finished = resumed_runs(progress, series)
    for sargs, setup in series:  # series finished before a kill -9 whose tables were not written
        runs = [r for r in finished if r["series"] == sargs.series]
        whole = len(runs) == len(args.models) * args.seeds
        if whole and not (Path(sargs.out_dir) / "results.json").exists():
            write_outputs(runs, setup, sargs)

    def on_series(sargs, setup, runs):
        for path in write_outputs(runs, setup, sargs):
            print(f"Wrote {path}")
        print(f"Finished series {sargs.series}", flush=True)

    start = time.perf_counter()
    outcome = run_all(series, jobs, stop, progress, finished, on_series)
    wall = time.perf_counter() - start
    if not outcome.complete:
        done = sorted({r["series"] for r in outcome.done})
        stopped = f" ({outcome.interrupted.name})" if outcome.interrupted else ""
        print(
            f"\nStopped{stopped}: {len(done)} of {len(series)} series had finished; run "
            f"again with the same flags to continue with the rest ({progress})."
        )
        return outcome.interrupted.status if outcome.interrupted else 1
    write_collection(series, outcome.done, args, wall)
    progress.unlink(missing_ok=True)
    return 0


def write_collection(series, runs: list[dict], args, wall: float) -> None:
    """Across the series: results.md, results.json and ranks.png."""
    from seqpred import figures

    reports = {
        sargs.series: json.loads((Path(sargs.out_dir) / "results.json").read_text("utf-8"))
        for sargs, _ in series
    }
    summary = ranks.collection_summary(reports, args.models)
    summary.update(flags=vars(args), wall_seconds_training=wall)
    out = Path(args.out_dir)
    text = collection.collection_markdown(summary)
    paths = [write_json(out / "results.json", summary), write_text(out / "results.md", text)]
    paths.append(figures.plot_ranks(summary, out / "ranks.png"))
    print()
    print(text)
    for path in paths:
        print(f"Wrote {path}")


if __name__ == "__main__":
    sys.exit(main())
