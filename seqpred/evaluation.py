"""Scoring runs against the truth and the naive baselines, and summarizing them across seeds."""

from __future__ import annotations

import numpy as np

from seqpred import metrics


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
            s.update({k: r[k] for k in ("seed", "train_seconds", "seconds_per_epoch")})
            s.update(final_train_loss=r["train_losses"][-1], final_test_loss=r["test_losses"][-1])
            scored.append(s)
        summary = {}
        for key in SUMMARY_KEYS:
            present = [s[key] for s in scored if s.get(key) is not None]
            values = [v for v in present if np.isfinite(v)]
            if values:
                std = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
                summary[key] = {"mean": float(np.mean(values)), "std": std}
            elif present:  # defined for no seed, e.g. skill against an exact baseline
                summary[key] = {"mean": None, "std": None}
        report["models"][kind] = {
            "params": model_runs[0]["params"],
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
