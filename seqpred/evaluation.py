"""Scoring runs against the truth and the naive baselines, summarizing them across seeds, and
comparing every pair of models."""

from __future__ import annotations

import itertools

import numpy as np

from seqpred import evidence, metrics

ONE_STEP_KEYS = ("one_step_mae", "one_step_rmse", "one_step_mape")
FORECAST_KEYS = tuple(f"forecast_{e}_{h}" for e in ("mae", "rmse") for h in ("h1", "hH", "mean"))
SUMMARY_KEYS = (
    *ONE_STEP_KEYS,
    *FORECAST_KEYS,
    "skill",
    "seasonal_skill",
    "coverage",
    "coverage_worst_h",
    "mean_width",
    "final_train_loss",
    "final_test_loss",
    "train_seconds",
    "seconds_per_epoch",
)


def summarize(values) -> dict:
    """Mean, sample standard deviation (0 for one value), minimum and maximum."""
    values = np.asarray(values, dtype=float)
    std = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
    return {
        "mean": float(np.mean(values)),
        "std": std,
        "min": float(np.min(values)),
        "max": float(np.max(values)),
    }


def test_windows(data) -> np.ndarray:
    """The test windows in the series' units: (n_test, seq_len)."""
    return data.unscale(data.test_x[:, :, 0]).numpy()


def baselines(data) -> dict[str, np.ndarray]:
    """One-step predictions of the naive baselines every network must beat."""
    windows = test_windows(data)
    out = {"persistence": metrics.persistence(windows)}
    if data.period and data.sequence_length >= data.period:
        out["seasonal persistence"] = metrics.seasonal_persistence(windows, data.period)
    return out


def one_step_scores(pred, truth, floor, naive) -> dict:
    """One-step errors, skill against each baseline, and the lagged-copy check."""
    s = {f"one_step_{k}": v for k, v in metrics.errors(pred, truth, floor).items()}
    s["skill"] = metrics.skill(pred, naive["persistence"], truth)
    if "seasonal persistence" in naive:
        s["seasonal_skill"] = metrics.skill(pred, naive["seasonal persistence"], truth)
    s["best_lag"] = metrics.best_lag(pred, truth)
    return s


def forecast_scores(horizon: dict) -> dict:
    """h = 1, h = H and the mean over 1..H of the MAE and RMSE by horizon."""
    out = {}
    for e in ("mae", "rmse"):
        values = horizon[e]
        out.update(
            {
                f"forecast_{e}_h1": values[0],
                f"forecast_{e}_hH": values[-1],
                f"forecast_{e}_mean": float(np.mean(values)),
            }
        )
    return out


def baseline_scores(data, steps: int, truth, floor) -> dict:
    """The naive baselines, one step ahead and from every origin (the same origins)."""
    naive = baselines(data)
    starts = evidence.origins(len(data.test_x), steps)
    forecasts = evidence.naive_forecasts(test_windows(data)[starts], steps, data.period)
    truths = evidence.continuations(truth, starts, steps)
    out = {}
    for name, one_step in naive.items():
        horizon = evidence.horizon_errors(forecasts[name], truths)
        out[name] = {
            **one_step_scores(one_step, truth, floor, naive),
            **forecast_scores(horizon),
            "horizon": horizon,
        }
    return out


def score_run(r: dict, truth, floor, naive) -> dict:
    """Every metric of one run (one model, one seed)."""
    ev = r["evidence"]
    s = one_step_scores(np.asarray(r["one_step"]), truth, floor, naive)
    s.update(forecast_scores(ev))
    s["horizon"] = {"mae": ev["mae"], "rmse": ev["rmse"]}
    if "interval" in ev:
        iv = ev["interval"]
        s.update(
            coverage=iv["coverage"],
            coverage_worst_h=min(iv["coverage_per_h"], default=None),
            mean_width=iv["mean_width"],
            interval=iv,
        )
    s["forecast_flat"] = metrics.is_flat(np.asarray(r["forecast"]), np.asarray(r["truth"]))
    s.update({k: r[k] for k in ("seed", "train_seconds", "seconds_per_epoch", "evidence_seconds")})
    s.update(final_train_loss=r["train_losses"][-1], final_test_loss=r["test_losses"][-1])
    return s


def summary_of(scored: list[dict]) -> dict:
    """Each metric as mean, std, min and max over seeds; undefined where no seed defines it."""
    summary = {}
    for key in SUMMARY_KEYS:
        present = [s[key] for s in scored if s.get(key) is not None]
        values = [v for v in present if np.isfinite(v)]
        if values:
            summary[key] = summarize(values)
        elif present:  # defined for no seed, e.g. skill against an exact baseline
            summary[key] = {"mean": None, "std": None, "min": None, "max": None}
    for e in ("mae", "rmse"):
        curves = np.array([s["horizon"][e] for s in scored])  # (seeds, steps)
        summary[f"horizon_{e}"] = {
            "mean": curves.mean(0).tolist(),
            "std": (curves.std(0, ddof=1) if len(curves) > 1 else 0 * curves[0]).tolist(),
            "min": curves.min(0).tolist(),
            "max": curves.max(0).tolist(),
        }
    return summary


def evaluate_runs(runs: list[dict], data, args, pairs=None) -> dict:
    """Score every run and baseline, summarize across seeds, and compare every pair."""
    truth = data.unscale(data.test_y[:, 0]).numpy()
    floor = metrics.mape_floor(truth)
    naive = baselines(data)
    steps = args.predict_steps
    report = {
        "dataset": data.name,
        "units": data.units,
        "seeds": sorted({r["seed"] for r in runs}),
        "steps": steps,
        "strategy": args.strategy,
        "origins": len(evidence.origins(len(data.test_x), steps)),
        "interval": args.interval,
        "mape_floor": floor,
        "baselines": baseline_scores(data, steps, truth, floor),
        "models": {},
        "warnings": [],
    }
    for kind in args.models:
        model_runs = sorted((r for r in runs if r["model"] == kind), key=lambda r: r["seed"])
        scored = [score_run(r, truth, floor, naive) for r in model_runs]
        report["models"][kind] = {
            "params": model_runs[0]["params"],
            "hidden_size": model_runs[0]["hidden_size"],
            "runs": scored,
            "summary": summary_of(scored),
        }
        report["warnings"] += model_warnings(kind, scored, args)
    report["pairs"] = compare_pairs(runs, report, truth, pairs)
    return report


def compare_pairs(runs: list[dict], report: dict, truth, which=None) -> list[dict]:
    """For every pair of models (or those `which` names): paired differences over the seeds
    both have, and the Diebold-Mariano test on each seed's one-step errors."""
    pairs = []
    errors = {(r["model"], r["seed"]): np.asarray(r["one_step"]) - truth for r in runs}
    for first, second in which or itertools.combinations(report["models"], 2):
        a = {s["seed"]: s for s in report["models"][first]["runs"]}
        b = {s["seed"]: s for s in report["models"][second]["runs"]}
        seeds = sorted(set(a) & set(b))
        if not seeds:
            continue
        dm = [
            {"seed": s, **evidence.diebold_mariano(errors[first, s], errors[second, s])}
            for s in seeds
        ]
        pair = {"first": first, "second": second, "seeds": seeds, "diebold_mariano": dm}
        for key in ("one_step_rmse", "forecast_rmse_mean"):
            diff = evidence.paired_difference(
                [a[s][key] for s in seeds], [b[s][key] for s in seeds]
            )
            pair[key] = {**diff, "verdict": evidence.verdict(first, second, diff)}
        pair["dm_summary"] = evidence.dm_summary(dm, first, second)
        pairs.append(pair)
    return pairs


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
            f"forecast from test index {args.predict_start} is flat (its spread is under "
            f"{metrics.FLAT_RATIO:.0%} of the truth's)"
        )
    return out
