"""A comparison scored: every network's runs (one per seed) and every baseline, on the same
test origins; the strongest baseline chosen on the held-out stretch; the intervals' coverage;
and every claim ("A beats B") with its test, Holm-corrected over the report.

- Every origin: a forecast from each test window whose H next values are known, all at once;
  errors by horizon h = 1..H (one origin is an anecdote).
- The baselines (baselines.py, and statistical.py's where statsforecast is installed) forecast
  from the same origins, and from the held-out stretch's, where the strongest is chosen: the
  test period decides nothing.
- Claims: each network against the strongest baseline, one step ahead and over the forecasts,
  and each pair of networks when both ran at least MIN_SEEDS seeds; significance.py's tests.
"""

from __future__ import annotations

import itertools

from seqpred.scoring import baselines as simple
from seqpred.scoring import intervals, metrics, significance, statistical
from seqpred.scoring.periods import Periods
from seqpred.settings import ScoreSettings

import numpy as np

MIN_SEEDS = 3  # no verdict between two networks from fewer seeds: two runs are not an architecture
MODEL_STATS = ("mean", "std", "min", "max")


class Setting:
    """What every score of one comparison shares: the test period, MASE's scale, MAPE's floor."""

    def __init__(self, data):
        self.periods = Periods(data)
        self.truth = self.periods.test  # every test value, a one-step target
        self.scale = metrics.mase_scale(self.periods.train, data.period)
        self.floor = metrics.mape_floor(self.truth)
        self.season = data.period
        self.max_lag = metrics.lag_range(data.period)


# ----------------------------------------------------------------------------- one forecaster
def score_forecasts(forecaster, data, steps: int, level: float) -> tuple[dict, np.ndarray]:
    """Errors by horizon and by origin from every test origin, and the intervals around them.

    forecaster(windows) -> (n, steps) forecasts in the scaled units, for a batch of windows
    (n, seq_len, 1). The intervals are calibrated on the held-out end of the training period
    (data.val_x), which the model never trained on. Returns the scores and the test forecasts
    (n_origins, steps), in the series' units.
    """
    periods = Periods(data)
    scale = metrics.mase_scale(periods.train, data.period)
    test_starts = metrics.origins(len(data.test_x), steps)
    pred = in_chunks(forecaster, data.test_x, test_starts, data, steps)
    truth = metrics.continuations(periods.test, test_starts, steps)
    scores = {"origins": len(test_starts), **metrics.horizon_errors(pred, truth, scale)}
    scores["origin_mae"] = metrics.origin_mae(pred, truth)
    if level > 0 and data.val_x is not None and len(data.val_x):
        cal_starts = np.arange(len(data.val_x))
        cal_pred = in_chunks(forecaster, data.val_x, cal_starts, data, steps)
        padded = np.concatenate([periods.validation, np.full(steps, np.nan)])  # none past it
        cal = intervals.calibration_scores(
            cal_pred, metrics.continuations(padded, cal_starts, steps), periods.n_val
        )
        scores["interval"] = interval_scores(cal, pred, truth, level)
    return scores, pred


def interval_scores(cal: list[np.ndarray], pred, truth, level: float) -> dict:
    """Split and adaptive conformal intervals on the test forecasts, and their coverage."""
    split = intervals.split_conformal(cal, level)
    defined = ~np.isnan(split)  # too few calibration origins: no interval, for either method
    adaptive, capped = intervals.adaptive_conformal(cal, pred, truth, level)
    return {
        "level": level,
        "calibration_origins": [len(s) for s in cal],
        "needed_origins": intervals.needed_origins(level),
        "half_width": split.tolist(),
        **intervals.coverage(pred, truth, split, defined),
        "adaptive": {
            "step": intervals.ACI_STEP,
            **intervals.coverage(pred, truth, adaptive, defined, capped),
        },
    }


def in_chunks(forecaster, x, starts, data, steps: int, chunk: int = 4096) -> np.ndarray:
    """forecaster over the windows x[starts], a few thousand at a time, in series units."""
    parts = [
        data.unscale(forecaster(x[starts[i : i + chunk]])).cpu().numpy()
        for i in range(0, len(starts), chunk)
    ]
    return np.concatenate(parts) if parts else np.empty((0, steps))


# ----------------------------------------------------------------------------- the baselines
def benchmark_forecasts(data, settings: ScoreSettings) -> tuple[dict, dict]:
    """Every baseline's forecasts from the test origins and the held-out ones:
    {name: {"test": (n_test, steps), "validation": (n_val, steps) or absent}}, and a note on
    the statistical benchmarks (which ran, which failed and why, their seconds)."""
    steps, strategy = settings.steps, settings.strategy
    splits = ["test"] + (["validation"] if data.val_x is not None and len(data.val_x) else [])
    per_split = {split: simple.baseline_forecasts(data, steps, strategy, split) for split in splits}
    out = {name: {split: per_split[split][name] for split in splits} for name in per_split["test"]}
    note = {"ran": [], "failed": {}, "seconds": {}, "missing": None}
    if settings.benchmarks != "all":
        return out, note
    if not statistical.available():
        note["missing"] = statistical.MISSING
        return out, note
    p = Periods(data)
    found, note["failed"], note["seconds"] = statistical.forecasts(
        p.values, p.train_end, data.period, steps, {s: p.starts(s) for s in splits}
    )
    note["ran"] = list(found)
    return {**out, **found}, note


def baseline_scores(forecasts: dict, s: Setting, steps: int) -> dict:
    """Every baseline on the test period, one step ahead (every test value) and from every
    origin (the networks'), and on the held-out stretch (where the strongest is chosen)."""
    starts = metrics.origins(s.periods.n_test, steps)
    truth = metrics.continuations(s.truth, starts, steps)
    out = {}
    for name, f in forecasts.items():
        test = f["test"]
        horizon = metrics.horizon_errors(test[starts], truth, s.scale)
        out[name] = {
            **one_step_scores(test[:, 0], s),
            **forecast_scores(horizon),
            "horizon": horizon,
        }
        if "validation" in f:
            out[name].update(validation_scores(f["validation"], s.periods.validation))
    return out


def validation_scores(pred: np.ndarray, values: np.ndarray) -> dict:
    """MAE on the held-out stretch: one step ahead, and over the forecasts (each horizon over the
    origins whose target lies inside the stretch, then the mean over horizons)."""
    n = len(values)
    err = [np.abs(pred[: n - j, j] - values[j:]) for j in range(min(pred.shape[1], n))]
    return {
        "val_one_step_mae": float(np.mean(err[0])),
        "val_forecast_mae_mean": float(np.mean([e.mean() for e in err])),
    }


def best_baselines(baselines: dict) -> dict[str, str]:
    """The strongest baseline one step ahead and over the forecasts: the lowest MAE on the
    held-out stretch (the same order as MASE), never on the test; on the test, in hindsight,
    only where no stretch was held out (and the report says so)."""
    held_out = all("val_one_step_mae" in b for b in baselines.values())
    keys = ("val_one_step_mae", "val_forecast_mae_mean") if held_out else None
    keys = keys or ("one_step_mae", "forecast_mae_mean")

    def best(key):
        return min(baselines, key=lambda k: baselines[k][key])

    chosen_on = "validation" if held_out else "test"
    return {"one_step": best(keys[0]), "forecast": best(keys[1]), "chosen_on": chosen_on}


# ----------------------------------------------------------------------------- the networks
def one_step_scores(pred, s: Setting) -> dict:
    """One-step errors and MASE, and the lagged-copy check."""
    errs = metrics.errors(pred, s.truth, s.floor, s.scale)
    out = {f"one_step_{k}": v for k, v in errs.items()}
    out["best_lag"] = metrics.best_lag(pred, s.truth, s.max_lag)
    return out


def forecast_scores(horizon: dict) -> dict:
    """h = 1, h = H and the mean over 1..H of the MAE and RMSE by horizon, and the mean MASE."""
    out = {"forecast_mase_mean": float(np.mean(horizon["mase"]))}
    for e in ("mae", "rmse"):
        values = horizon[e]
        out[f"forecast_{e}_h1"] = values[0]
        out[f"forecast_{e}_hH"] = values[-1]
        out[f"forecast_{e}_mean"] = float(np.mean(values))
    return out


def score_run(r: dict, s: Setting, baselines: dict, best: dict) -> dict:
    """Every metric of one run (one model, one seed)."""
    ev = r["evidence"]
    out = one_step_scores(np.asarray(r["one_step"]), s)
    out.update(forecast_scores(ev))
    out["horizon"] = {"mae": ev["mae"], "rmse": ev["rmse"], "mase": ev["mase"]}
    # 1 - MAE / the best baseline's MAE; undefined (NaN) where that baseline is exact
    reference = baselines[best["one_step"]]["one_step_mae"]
    out["skill_one_step"] = 1 - metrics.ratio(out["one_step_mae"], reference)
    reference = baselines[best["forecast"]]["forecast_mae_mean"]
    out["skill_forecast"] = 1 - metrics.ratio(out["forecast_mae_mean"], reference)
    if "interval" in ev:
        iv, aci = ev["interval"], ev["interval"]["adaptive"]
        out.update(
            coverage=iv["coverage"],
            coverage_worst_h=worst(iv),
            mean_width=iv["mean_width"],
            aci_coverage=aci["coverage"],
            aci_coverage_worst_h=worst(aci),
            aci_mean_width=aci["mean_width"],
            aci_capped_share=aci["capped_share"],
            aci_uncapped_coverage=aci["uncapped_coverage"],
            interval=iv,
        )
    out["forecast_flat"] = metrics.is_flat(np.asarray(r["forecast"]), np.asarray(r["truth"]))
    for key in ("seed", "train_seconds", "evidence_seconds"):
        out[key] = r[key]
    out["seconds_per_epoch"] = r["train_seconds"] / len(r["train_losses"])
    out.update(final_train_loss=r["train_losses"][-1], final_test_loss=r["test_losses"][-1])
    return out


def worst(c: dict):
    """The worst horizon's coverage, among those with an interval."""
    return min((v for v in c["coverage_per_h"] if v is not None), default=None)


ONE_STEP_KEYS = ("one_step_mae", "one_step_rmse", "one_step_mape", "one_step_mase")
FORECAST_KEYS = (
    *(f"forecast_{e}_{h}" for e in ("mae", "rmse") for h in ("h1", "hH", "mean")),
    "forecast_mase_mean",
)
INTERVAL_KEYS = (  # in the interval table's order
    "coverage",
    "coverage_worst_h",
    "aci_coverage",
    "aci_coverage_worst_h",
    "aci_capped_share",
    "aci_uncapped_coverage",
    "mean_width",
    "aci_mean_width",
)
SUMMARY_KEYS = (
    *ONE_STEP_KEYS,
    *FORECAST_KEYS,
    "skill_one_step",
    "skill_forecast",
    *INTERVAL_KEYS,
    "final_train_loss",
    "final_test_loss",
    "train_seconds",
    "seconds_per_epoch",
)


def summary_of(scored: list[dict]) -> dict:
    """Each metric as mean, std, min and max over seeds; undefined where no seed defines it."""
    summary = {}
    for key in SUMMARY_KEYS:
        present = [s[key] for s in scored if s.get(key) is not None]
        values = [v for v in present if np.isfinite(v)]
        if values:
            summary[key] = metrics.summarize(values)
        elif present:  # defined for no seed, e.g. a skill against an exact baseline
            summary[key] = dict.fromkeys(MODEL_STATS)
    for e in ("mae", "rmse", "mase"):
        curves = np.array([s["horizon"][e] for s in scored])  # (seeds, steps)
        summary[f"horizon_{e}"] = {
            "mean": curves.mean(0).tolist(),
            "std": (curves.std(0, ddof=1) if len(curves) > 1 else 0 * curves[0]).tolist(),
            "min": curves.min(0).tolist(),
            "max": curves.max(0).tolist(),
        }
    return summary


# ----------------------------------------------------------------------------- a comparison
def evaluate_runs(runs: list[dict], data, settings: ScoreSettings, pairs=None) -> dict:
    """Score every run and baseline, summarize across seeds, and test every claim the report
    makes (each network against the strongest baseline; every pair of networks, or those
    `pairs` names), Holm-corrected over all of them."""
    s = Setting(data)
    forecasts, benchmarks = benchmark_forecasts(data, settings)
    baselines = baseline_scores(forecasts, s, settings.steps)
    best = best_baselines(baselines)
    report = {
        "dataset": data.name,
        "units": data.units,
        "season": data.period,
        "season_source": data.meta.get("season_source", ""),
        "seeds": sorted({r["seed"] for r in runs}),
        "steps": settings.steps,
        "strategy": settings.strategy,
        "origins": len(metrics.origins(s.periods.n_test, settings.steps)),
        "test_values": s.periods.n_test,
        "validation_values": s.periods.n_val,
        "interval": settings.interval,
        "mape_floor": s.floor,
        "mase_scale": s.scale,
        "baselines": baselines,
        "best_baseline": best,
        "benchmarks": benchmarks,
        "start": settings.start,
        "models": {},
    }
    ran = dict.fromkeys(r["model"] for r in runs)
    asked = [k for k in settings.models if k in ran]  # the order the user gave
    for kind in asked + [k for k in ran if k not in asked]:
        model_runs = sorted((r for r in runs if r["model"] == kind), key=lambda r: r["seed"])
        scored = [score_run(r, s, baselines, best) for r in model_runs]
        report["models"][kind] = {
            "params": model_runs[0]["params"],
            "hidden_size": model_runs[0]["hidden_size"],
            "runs": scored,
            "summary": summary_of(scored),
        }
    losses = network_losses(runs, s.truth)
    report["claims"] = baseline_claims(
        report, losses, baseline_losses(forecasts, s, settings.steps)
    )
    report["pairs"] = compare_pairs(report, losses, pairs)
    claims = report["claims"] + [c for p in report["pairs"] for c in p["claims"]]
    for claim, q in zip(claims, significance.holm([c["p_value"] for c in claims]), strict=True):
        claim["p_holm"] = q
    return report


def network_losses(runs: list[dict], truth) -> dict:
    """Each run's losses origin by origin: one-step absolute errors on every test value, and each
    forecast origin's mean absolute error over its horizons."""
    return {
        (r["model"], r["seed"]): {
            "one_step": np.abs(np.asarray(r["one_step"]) - truth),
            "forecast": np.asarray(r["evidence"]["origin_mae"]),
        }
        for r in runs
    }


KINDS = {"one_step": "one step ahead", "forecast": "over the forecasts"}


def claim(first: str, second: str, kind: str, losses: list[tuple], h: int, seeds) -> dict:
    """One claim between two forecasters, tested seed by seed (Diebold–Mariano) and across
    seeds (intersection–union). losses: each seed's (first's, second's) losses by origin."""
    tests = [
        {"seed": seed, **significance.diebold_mariano(a, b, h)}
        for seed, (a, b) in zip(seeds, losses, strict=True)
    ]
    return {
        "first": first,
        "second": second,
        "kind": kind,
        "h": h,
        "seeds": list(seeds),
        "mean_difference": float(np.mean([t["mean"] for t in tests])),
        "tests": tests,
        **significance.across_seeds(tests),
    }


def baseline_losses(forecasts: dict, s: Setting, steps: int) -> dict:
    """Each baseline's losses origin by origin on the test period, as network_losses."""
    starts = metrics.origins(s.periods.n_test, steps)
    truth = metrics.continuations(s.truth, starts, steps)
    return {
        name: {
            "one_step": np.abs(f["test"][:, 0] - s.truth),
            "forecast": np.asarray(metrics.origin_mae(f["test"][starts], truth)),
        }
        for name, f in forecasts.items()
    }


def baseline_claims(report: dict, losses: dict, base_losses: dict) -> list[dict]:
    """Each network against the strongest baseline, one step ahead and over the forecasts."""
    out = []
    for kind, h in (("one_step", 1), ("forecast", report["steps"])):
        name = report["best_baseline"][kind]
        for model, m in report["models"].items():
            seeds = [r["seed"] for r in m["runs"]]
            pairs = [(losses[model, seed][kind], base_losses[name][kind]) for seed in seeds]
            out.append(claim(model, name, kind, pairs, h, seeds))
    return out


def compare_pairs(report: dict, losses: dict, which=None) -> list[dict]:
    """For every pair of networks (or those `which` names): the mean differences over the seeds
    both ran, with their 95 % intervals (for reading), and the two claims (one step ahead, over
    the forecasts), tested when both ran at least MIN_SEEDS seeds."""
    pairs = []
    for first, second in which or itertools.combinations(report["models"], 2):
        a = {s["seed"]: s for s in report["models"][first]["runs"]}
        b = {s["seed"]: s for s in report["models"][second]["runs"]}
        seeds = sorted(set(a) & set(b))
        if not seeds:
            continue
        pair = {"first": first, "second": second, "seeds": seeds, "claims": []}
        for key in ("one_step_mae", "forecast_mae_mean"):
            pair[key] = significance.paired_difference(
                [a[s][key] for s in seeds], [b[s][key] for s in seeds]
            )
        if len(seeds) >= MIN_SEEDS:
            for kind, h in (("one_step", 1), ("forecast", report["steps"])):
                seed_losses = [(losses[first, s][kind], losses[second, s][kind]) for s in seeds]
                pair["claims"].append(claim(first, second, kind, seed_losses, h, seeds))
        pairs.append(pair)
    return pairs
