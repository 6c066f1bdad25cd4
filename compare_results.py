"""Train the RNN, the LSTM and the GRU with the same flags, over one or more seeds, and compare.

    python compare_results.py                     # the sine wave, one seed
    python compare_results.py --seeds 5           # every metric as mean ± std over 5 seeds
    python compare_results.py --dataset elnino    # monthly sea-surface temperature

Writes into --out-dir: loss_curves.png, predictions.png (free-running forecasts), one_step.png
(one-step predictions over the test period), results.md and results.json.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import signal
import sys
import time
from pathlib import Path

import numpy as np
import torch

import main as trainer
from data import DataError, FlagError
from models import MODEL_TYPES
from seqpred import analysis, metrics
from seqpred.fileio import FileFormatError, atomic_write, check_writable

# Heaviest first, so that parallel workers finish at about the same time.
COST_ORDER = {"LSTM": 0, "GRU": 1, "RNN": 2}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="compare_results.py",
        description="Train RNN, LSTM and GRU with shared flags over one or more seeds, and "
        "write comparison figures and tables.",
    )
    parser.add_argument(
        "--models",
        type=trainer.model_type,
        nargs="+",
        choices=list(MODEL_TYPES),
        default=list(MODEL_TYPES),
        help="model types to compare, case-insensitive (default: RNN LSTM GRU)",
    )
    parser.add_argument(
        "--seeds",
        type=trainer.positive_int,
        default=1,
        help="train every model with seeds --seed, --seed+1, ...; metrics are reported as "
        "mean ± standard deviation across them (default: 1)",
    )
    parser.add_argument(
        "--jobs",
        type=trainer.positive_int,
        help="runs trained at the same time, each in its own single-threaded process "
        "(default: the number of CPU cores on CPU, 1 on a GPU)",
    )
    trainer.add_training_arguments(parser)
    return parser


# ----------------------------------------------------------------------------- one run
def peak_memory_mb(device: torch.device) -> tuple[float | None, str]:
    """Peak memory of this run: CUDA memory allocated on a GPU, the process's peak RSS on CPU."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20, "CUDA max allocated"
    try:
        import resource
    except ImportError:  # Windows
        return None, "RSS"
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (2**20 if sys.platform == "darwin" else 2**10), "RSS"  # bytes on macOS, else KiB


def run_job(kind: str, seed: int, args, data, device_name: str) -> dict:
    """Train one model with one seed; return plain numbers and lists (picklable, JSON-able)."""
    device = torch.device(device_name)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    run_args = argparse.Namespace(**{**vars(args), "seed": seed})
    in_main = mp.current_process().name == "MainProcess"  # a progress bar only there
    logger = trainer.EpochLogger(f"{kind} seed {seed}", args.epochs, args.log_interval, in_main)
    try:
        result = trainer.train_model(kind, run_args, data, device, on_epoch=logger)
    finally:
        logger.close()
    memory, memory_kind = peak_memory_mb(device)
    h = result.history
    profiles = trainer.gradient_profiles(result, run_args, data, device)
    gates = None
    if kind == "LSTM":
        window = data.test_x[args.predict_start].to(device)
        gates = {k: v.tolist() for k, v in analysis.lstm_gates(result.model.lstm, window).items()}
    return {
        "model": kind,
        "seed": seed,
        "params": result.n_params,
        "train_losses": h.train_losses,
        "test_losses": h.test_losses,
        "train_seconds": h.seconds,
        "seconds_per_epoch": h.seconds / len(h.train_losses),
        "peak_memory_mb": memory,
        "memory_kind": memory_kind,
        "window": result.window.tolist(),
        "forecast": result.forecast.tolist(),
        "one_step": result.one_step.tolist(),
        "gradient_trained": profiles["trained"].tolist(),
        "gradient_initial": profiles["initial"].tolist(),
        "gates": gates,
    }


def _ignore_ctrl_c() -> None:
    """Workers leave Ctrl-C to the main process, which stops them and keeps what finished."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _call_single_threaded(packed: tuple):
    fn, task = packed
    torch.set_num_threads(1)  # the worker processes already use every core
    return fn(*task)


def map_jobs(fn, tasks: list[tuple], workers: int):
    """Yield fn(*task) for every task, as each finishes.

    With workers == 1, in this process and in order; otherwise in `workers` parallel processes,
    a fresh single-threaded one per task, which also gives each task its own peak-memory reading.
    """
    if workers == 1:
        for task in tasks:
            yield fn(*task)
        return
    context = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
    with context.Pool(workers, initializer=_ignore_ctrl_c, maxtasksperchild=1) as pool:
        yield from pool.imap_unordered(_call_single_threaded, [(fn, task) for task in tasks])


def run_all(args, data, device: torch.device, done: list[dict]) -> list[dict]:
    """Every (model, seed) run, heaviest first, appended to `done` as each one finishes.

    Results go into the caller's list, so that after Ctrl-C the finished runs are still there.
    """
    jobs = sorted(
        ((kind, args.seed + i) for i in range(args.seeds) for kind in args.models),
        key=lambda job: (COST_ORDER.get(job[0], 0), job[1]),
    )
    tasks = [(kind, seed, args, data, str(device)) for kind, seed in jobs]
    for r in map_jobs(run_job, tasks, min(args.jobs, len(tasks))):
        done.append(r)
        print(
            f"[{len(done)}/{len(tasks)}] {r['model']} seed {r['seed']}: final test MSE "
            f"{r['test_losses'][-1]:.3e} in {r['train_seconds']:.1f} s",
            flush=True,
        )
    return done


# ----------------------------------------------------------------------------- evaluation
def baselines(data, args) -> dict[str, dict[str, np.ndarray]]:
    """Naive predictions every network must beat: persistence, and seasonal persistence."""
    windows = data.unscale(data.test_x[:, :, 0]).double().numpy()  # (n_test, seq_len)
    seed_window = windows[args.predict_start]
    out = {
        "persistence": {
            "one_step": metrics.persistence(windows),
            "forecast": metrics.persistence_forecast(seed_window, args.predict_steps),
        }
    }
    if data.period and data.sequence_length >= data.period:
        out["seasonal persistence"] = {
            "one_step": metrics.seasonal_persistence(windows, data.period),
            "forecast": metrics.seasonal_forecast(seed_window, args.predict_steps, data.period),
        }
    return out


def score(one_step, forecast, truth, forecast_truth, floor, naive) -> dict:
    """All metrics of one set of predictions (a run, or a baseline)."""
    s = {f"one_step_{k}": v for k, v in metrics.errors(one_step, truth, floor).items()}
    s.update(
        {f"forecast_{k}": v for k, v in metrics.errors(forecast, forecast_truth, floor).items()}
    )
    s["skill"] = metrics.skill(one_step, naive["persistence"]["one_step"], truth)
    if "seasonal persistence" in naive:
        s["seasonal_skill"] = metrics.skill(
            one_step, naive["seasonal persistence"]["one_step"], truth
        )
    s["best_lag"] = metrics.best_lag(one_step, truth)
    s["forecast_flat"] = metrics.is_flat(forecast, forecast_truth)
    s["forecast_abs_error_per_step"] = np.abs(forecast - forecast_truth).tolist()
    return s


ERROR_KEYS = (
    "one_step_mae",
    "one_step_rmse",
    "one_step_mape",
    "forecast_mae",
    "forecast_rmse",
    "forecast_mape",
)
SUMMARY_KEYS = (
    *ERROR_KEYS,
    "skill",
    "seasonal_skill",
    "final_train_loss",
    "final_test_loss",
    "train_seconds",
    "seconds_per_epoch",
    "peak_memory_mb",
)


def evaluate_runs(runs: list[dict], data, args) -> dict:
    """Score every run and baseline; summarize each metric as mean and std across seeds."""
    truth = data.unscale(data.test_y[:, 0]).double().numpy()
    start, steps = args.predict_start, args.predict_steps
    forecast_truth = truth[start : start + steps]
    floor = metrics.mape_floor(truth)
    naive = baselines(data, args)
    report = {
        "dataset": data.name,
        "units": data.units,
        "seeds": sorted({r["seed"] for r in runs}),
        "mape_floor": floor,
        "baselines": {
            name: score(p["one_step"], p["forecast"], truth, forecast_truth, floor, naive)
            for name, p in naive.items()
        },
        "models": {},
        "warnings": [],
    }
    for kind in args.models:
        model_runs = sorted((r for r in runs if r["model"] == kind), key=lambda r: r["seed"])
        scored = []
        for r in model_runs:
            s = score(
                np.array(r["one_step"]),
                np.array(r["forecast"]),
                truth,
                forecast_truth,
                floor,
                naive,
            )
            s.update(
                {k: r[k] for k in ("seed", "train_seconds", "seconds_per_epoch", "peak_memory_mb")}
            )
            s.update(final_train_loss=r["train_losses"][-1], final_test_loss=r["test_losses"][-1])
            scored.append(s)
        summary = {}
        for key in SUMMARY_KEYS:
            values = [s[key] for s in scored if s.get(key) is not None]
            if values:
                std = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
                summary[key] = {"mean": float(np.mean(values)), "std": std}
        report["models"][kind] = {
            "params": model_runs[0]["params"],
            "memory_kind": model_runs[0]["memory_kind"],
            "runs": scored,
            "summary": summary,
        }
        report["warnings"] += model_warnings(kind, scored, args)
    return report


def model_warnings(kind: str, scored: list[dict], args) -> list[str]:
    """The classic failures that look fine on a plot: a one-step lag, and a flat forecast."""
    out = []
    lagged = [s for s in scored if s["best_lag"] >= 1]
    if lagged:
        lags = sorted({s["best_lag"] for s in lagged})
        out.append(
            f"{kind}: in {len(lagged)} of {len(scored)} seeds the one-step predictions match the "
            f"truth best when shifted by {'/'.join(map(str, lags))} step(s): the network may be "
            "copying its last input rather than predicting"
        )
    flat = [s for s in scored if s["forecast_flat"]]
    if flat:
        out.append(
            f"{kind}: in {len(flat)} of {len(scored)} seeds the {args.predict_steps}-step "
            f"forecast is flat (its spread is under {metrics.FLAT_RATIO:.0%} of the truth's)"
        )
    return out


# ----------------------------------------------------------------------------- reporting
def fmt(stat: dict | None, spec: str = ".3g") -> str:
    """'mean ± std' (the mean formatted with `spec`); just the mean for a single seed."""
    if stat is None:
        return "–"
    mean, std = stat["mean"], stat["std"]
    return f"{mean:{spec}}" if std == 0 else f"{mean:{spec}} ± {std:.2g}"


def cell(key: str, stat: dict | None) -> str:
    """Skill scores near 1 need more digits than errors do."""
    return fmt(stat, ".4f" if "skill" in key else ".3g")


def results_markdown(report: dict, args) -> str:
    """The two Markdown tables (accuracy, cost) and the notes that say how to read them."""
    units = f" ({report['units']})" if report["units"] else ""
    n = len(report["seeds"])
    seeds = f"{n} seeds, mean ± std" if n > 1 else f"seed {report['seeds'][0]}"
    seasonal = any("seasonal_skill" in m["summary"] for m in report["models"].values())
    head = [
        "model",
        f"one-step MAE{units}",
        f"one-step RMSE{units}",
        "one-step MAPE %",
        f"forecast MAE{units}",
        f"forecast RMSE{units}",
        "forecast MAPE %",
        "skill vs persistence",
    ]
    if seasonal:
        head.append("skill vs seasonal")
    head.append("best lag")
    keys = [*ERROR_KEYS, "skill"] + (["seasonal_skill"] if seasonal else [])
    lines = [
        f"### Accuracy on the test period ({report['dataset']}, {seeds})",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    for kind, m in report["models"].items():
        lags = sorted(s["best_lag"] for s in m["runs"])
        lag = str(lags[0]) if lags[0] == lags[-1] else "/".join(map(str, lags))
        lines.append(
            "| " + " | ".join([kind] + [cell(k, m["summary"].get(k)) for k in keys] + [lag]) + " |"
        )
    for name, s in report["baselines"].items():
        cells = [cell(k, {"mean": s[k], "std": 0}) if k in s else "–" for k in keys]
        lines.append(f"| {name} (naive) | " + " | ".join(cells) + f" | {s['best_lag']} |")
    lines += [
        "",
        f"### Cost ({seeds})",
        "",
        "| model | parameters | final train MSE | final test MSE | train s | ms/epoch | "
        "peak memory MB |",
        "|---|---|---|---|---|---|---|",
    ]
    for kind, m in report["models"].items():
        s = m["summary"]
        per_epoch = {k: v * 1000 for k, v in s["seconds_per_epoch"].items()}
        lines.append(
            f"| {kind} | {m['params']} | {fmt(s['final_train_loss'])} | "
            f"{fmt(s['final_test_loss'])} | {fmt(s['train_seconds'])} | {fmt(per_epoch)} | "
            f"{fmt(s.get('peak_memory_mb'))} ({m['memory_kind']}) |"
        )
    scaled = "standardized units, " if report["units"] else ""
    lines += [
        "",
        f"- *one-step*: each test target predicted from the true values before it; *forecast*: "
        f"{args.predict_steps} steps free-running from test index {args.predict_start}, each "
        "prediction fed back as input.",
        f"- MAPE divides by max(|truth|, {report['mape_floor']:.3g}), the floor being "
        f"{metrics.MAPE_FLOOR:g} × the mean |truth| of the test period, so values at or near "
        "zero cannot blow it up.",
        "- skill = 1 − MSE(model) / MSE(naive), one-step: above 0 beats the naive baseline, "
        "1 is perfect. Persistence predicts the last value; seasonal persistence the value one "
        "period earlier.",
        "- best lag: the shift k (0 to 5 steps) at which the one-step predictions best match the "
        "truth; k ≥ 1 means the network is late, copying its last input.",
        f"- losses are MSE in {scaled}the units the network trains on; peak memory is the "
        "peak RSS of the process that trained the run (it includes the PyTorch runtime), or "
        "CUDA memory allocated on a GPU.",
    ]
    if report["warnings"]:
        lines += ["", "**Warnings**", ""] + [f"- {w}" for w in report["warnings"]]
    return "\n".join(lines) + "\n"


def write_text(path: Path, text: str) -> Path:
    with atomic_write(path, "w") as f:
        f.write(text)
    return path


def write_figures(runs: list[dict], report: dict, data, args) -> list[Path]:
    """loss_curves.png (median and min-max band over seeds), predictions.png, one_step.png."""
    from seqpred import (
        figures as plots,  # matplotlib only now: worker processes forked earlier stay smaller
    )

    out = Path(args.out_dir)
    curves = {
        kind: {
            split: [r[f"{split}_losses"] for r in runs if r["model"] == kind]
            for split in ("train", "test")
        }
        for kind in args.models
    }
    n = args.seeds
    band = f" — median of {n} seeds, band: min to max" if n > 1 else ""
    scaled = ", standardized units" if data.units else ""
    # Each model's run with its lowest seed (after Ctrl-C that need not be --seed itself).
    first = {
        kind: min((r for r in runs if r["model"] == kind), key=lambda r: r["seed"])
        for kind in args.models
    }
    truth = data.unscale(data.test_y[:, 0]).numpy()
    start, steps = args.predict_start, args.predict_steps
    ylabel = f"{data.quantity} ({data.units})" if data.units else data.quantity
    shown = sorted({r["seed"] for r in first.values()})
    seed_note = ""
    if n > 1:
        seed_note = f" (seed {shown[0]})" if len(shown) == 1 else " (each model's lowest seed)"
    naive = baselines(data, args)["persistence"]["one_step"]
    profiles = {
        kind: {
            stage: np.median([r[f"gradient_{stage}"] for r in runs if r["model"] == kind], axis=0)
            for stage in ("trained", "initial")
        }
        for kind in args.models
    }
    paths = [
        plots.plot_loss_curves(
            curves,
            out / "loss_curves.png",
            f"Training (solid) and test (dashed) loss{band}{scaled}",
        ),
        plots.plot_forecast(
            np.array(first[args.models[0]]["window"]),
            truth[start : start + steps],
            {k: np.array(r["forecast"]) for k, r in first.items()},
            out / "predictions.png",
            f"{steps}-step free-running forecasts from test index {start}{seed_note}",
            ylabel,
        ),
        plots.plot_one_step(
            data.test_dates,
            truth,
            {k: np.array(r["one_step"]) for k, r in first.items()},
            naive,
            out / "one_step.png",
            f"One-step predictions over the test period{seed_note}",
            ylabel,
        ),
        plots.plot_gradient_flow(
            profiles,
            out / "gradient_flow.png",
            "How far back each prediction reaches: mean |∂ŷ/∂x_t| over test windows"
            + (f" (median of {n} seeds)" if n > 1 else ""),
        ),
    ]
    if "LSTM" in first and first["LSTM"]["gates"] is not None:
        paths.append(
            plots.plot_gates(
                np.array(first["LSTM"]["window"])[:, None],
                {k: np.array(v) for k, v in first["LSTM"]["gates"].items()},
                out / "lstm_gates.png",
                f"LSTM gates along the forecast's seed window{seed_note}",
            )
        )
    return paths


def write_outputs(runs: list[dict], data, args, note: str = "", wall=None) -> list[Path]:
    """Figures, results.md and results.json for the runs given."""
    report = evaluate_runs(runs, data, args)
    report["flags"] = vars(args)
    report["wall_seconds_training"] = wall
    out = Path(args.out_dir)
    paths = write_figures(runs, report, data, args)
    table = note + results_markdown(report, args)
    paths.append(write_text(out / "results.md", table))
    paths.append(write_text(out / "results.json", json.dumps(report, indent=1) + "\n"))
    print()
    print(table)
    return paths


def save_finished(done: list[dict], data, args) -> list[Path]:
    """After Ctrl-C: the outputs of every finished run, whatever its seed, marked partial."""
    kinds = [k for k in args.models if any(r["model"] == k for r in done)]
    if not kinds:
        return []
    partial = argparse.Namespace(**{**vars(args), "models": kinds})
    runs = [r for r in done if r["model"] in kinds]
    total = len(args.models) * args.seeds
    note = (
        f"**Interrupted**: {len(runs)} of {total} runs had finished; the tables and figures "
        "cover only those.\n\n"
    )
    return write_outputs(runs, data, partial, note)


def main(argv=None) -> int:
    parser = build_parser()
    args = trainer.check_args(parser, parser.parse_args(argv))
    trainer.keep_freed_memory()
    if args.dataset == "adding":
        parser.error(
            "the adding problem is not a time series: compare the models on it with adding_task.py"
        )
    try:
        device = trainer.resolve_device(args.device)
        args.impl = trainer.resolve_impl(args.impl, device)
        for directory in trainer.output_dirs(args, None):
            check_writable(directory)  # fail now, not after training
        data = trainer.prepare_data(args)
        trainer.check_forecast_range(args, data)
    except (trainer.DeviceError, FlagError) as err:
        parser.error(str(err))
    except (DataError, FileNotFoundError, FileFormatError, OSError) as err:
        raise SystemExit(f"compare_results.py: error: {err}") from None
    if args.jobs is None:
        args.jobs = 1 if device.type != "cpu" else os.cpu_count() or 1

    print(
        f"Comparing {', '.join(args.models)} on {data.name} ({device}, {args.impl}), "
        f"{args.seeds} seed(s), "
        f"{args.epochs} epochs: {len(data.train_x)} training / {len(data.test_x)} test windows"
    )
    done: list[dict] = []
    start = time.perf_counter()
    try:
        run_all(args, data, device, done)
    except trainer.TrainingDiverged as err:
        raise SystemExit(f"compare_results.py: error: {err}; nothing was written") from None
    except (KeyboardInterrupt, trainer.TrainingInterrupted):
        print(
            f"\nInterrupted (Ctrl-C): {len(done)} of {len(args.models) * args.seeds} runs had "
            "finished."
        )
        for path in save_finished(done, data, args):
            print(f"Wrote {path} (partial)")
        return 130
    for path in write_outputs(done, data, args, wall=time.perf_counter() - start):
        print(f"Wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
