"""Scoring forecasts: errors and MASE, the simple baselines every network must beat, prediction
intervals (split and adaptive conformal), paired tests with Holm's correction, and the plain-word
verdicts. Everything here works on NumPy arrays in the series' own units.

- Every origin: a forecast from each test window whose H next values are known, all at once;
  errors by horizon h = 1..H (one origin is an anecdote).
- MASE (Hyndman & Koehler 2006): the mean absolute error over the training period's in-sample
  mean absolute error of seasonal persistence (of persistence where there is no season); below
  1, better than that naive forecast was in-sample. It is the scale-free headline.
- Baselines on the same origins and horizons: persistence, seasonal persistence, the seasonal
  mean of the training period (climatology), drift, and a linear autoregression over the same
  look-back window: the networks' architecture without recurrence or nonlinearity.
- Split-conformal intervals from calibration origins the model never trained on, per horizon;
  adaptive conformal inference (Gibbs & Candès 2021) on the same forecasts, whose long-run
  coverage holds under distribution shift.
- Is a difference real? The paired difference over seeds with a t interval, Holm-corrected
  across the table; the Diebold-Mariano test (Harvey-Leybourne-Newbold) per seed.
"""

from __future__ import annotations

import bisect
import itertools
import math

from seqpred.flags import FlagError

import numpy as np
import torch

SIGNIFICANCE = 0.05
MAPE_FLOOR = 0.1  # MAPE divides by max(|truth|, MAPE_FLOOR * mean|truth|): a sine crosses 0
MAX_LAG = 5  # shifts tried by the lagged-copy check (and the season, if longer)
FLAT_RATIO = 0.1  # a prediction whose spread is under 10 % of the truth's is "flat"
# Step size gamma of adaptive conformal inference: each miss widens, each hit narrows the next
# interval by this much of the miscoverage level. Gibbs & Candès use 0.005 over thousands of
# steps; a test period of a hundred origins needs a faster one to adapt at all.
ACI_STEP = 0.05
MODEL_STATS = ("mean", "std", "min", "max")


# ----------------------------------------------------------------------------- errors
def mape_floor(reference: np.ndarray) -> float:
    """The smallest denominator MAPE uses: MAPE_FLOOR times the mean absolute true value."""
    return MAPE_FLOOR * float(np.mean(np.abs(reference))) or 1e-12


def errors(pred, truth, floor: float, scale: float) -> dict[str, float]:
    """MAE, RMSE, guarded MAPE (%) and MASE (MAE / `scale`) of predictions against the truth."""
    err = np.asarray(pred, dtype=float) - np.asarray(truth, dtype=float)
    denom = np.maximum(np.abs(np.asarray(truth, dtype=float)), floor)
    mae = float(np.mean(np.abs(err)))
    return {
        "mae": mae,
        "rmse": float(np.sqrt(np.mean(err**2))),
        "mape": float(100 * np.mean(np.abs(err) / denom)),
        "mase": ratio(mae, scale),
    }


def ratio(a: float, b: float) -> float:
    """a / b, NaN (undefined, null in results.json) where b is 0."""
    return a / b if b else math.nan


def mse(pred, truth) -> float:
    return float(np.mean((np.asarray(pred, dtype=float) - np.asarray(truth, dtype=float)) ** 2))


def mase_scale(train_values: np.ndarray, season: int | None) -> float:
    """The in-sample MAE of seasonal persistence (persistence without a season) on the
    training period: MASE's denominator."""
    m = season if season and len(train_values) > season else 1
    return float(np.mean(np.abs(train_values[m:] - train_values[:-m])))  # 0: MASE undefined


def lag_errors(pred, truth, max_lag: int) -> list[float]:
    """MSE between pred[t] and truth[t - k] for k = 0..max_lag.

    A forecaster that merely copies its last input matches the truth best at k = 1: its
    curve looks right on a plot, one step late.
    """
    n = len(truth)
    return [mse(pred[k:], truth[: n - k]) for k in range(min(max_lag, n - 2) + 1)]


def lag_range(season: int | None) -> int:
    """The largest shift the lagged-copy check tries: MAX_LAG, or the season if longer."""
    return max(MAX_LAG, season or 0)


def best_lag(pred, truth, max_lag: int = MAX_LAG) -> int:
    """The shift (in steps) at which the predictions best match the truth; 0 is what we want.

    A shift counts only if it at least halves the error of the unshifted predictions: on a
    series that repeats itself (the sine wave, every 40 steps), a shift by the repeat matches
    about as well as none, and says nothing about the predictions. A copy of the last input,
    or of last season's value, matches exactly at its shift.
    """
    errors = lag_errors(np.asarray(pred), np.asarray(truth), max_lag)
    lag = int(np.argmin(errors))
    return lag if errors[lag] <= errors[0] / 2 else 0


def is_flat(pred, truth) -> bool:
    """True when the prediction barely moves while the truth does."""
    return float(np.std(pred)) < FLAT_RATIO * float(np.std(truth))


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


# ----------------------------------------------------------------------------- every origin
def origins(n_targets: int, steps: int) -> np.ndarray:
    """The origins whose next `steps` targets are all known: 0 .. n_targets - steps."""
    return np.arange(max(0, n_targets - steps + 1))


def continuations(y: np.ndarray, starts: np.ndarray, steps: int) -> np.ndarray:
    """The true next `steps` values after each origin: (n_origins, steps). y: (n_targets,)."""
    return np.stack([y[o : o + steps] for o in starts]) if len(starts) else np.empty((0, steps))


def horizon_errors(pred, truth, scale: float) -> dict[str, list[float]]:
    """MAE, RMSE and MASE at each horizon, over origins. pred, truth: (n_origins, steps)."""
    err = np.asarray(pred, dtype=float) - np.asarray(truth, dtype=float)
    mae = np.mean(np.abs(err), axis=0)
    return {
        "mae": mae.tolist(),
        "rmse": np.sqrt(np.mean(err**2, axis=0)).tolist(),
        "mase": (mae / scale if scale else np.full_like(mae, np.nan)).tolist(),
    }


class Periods:
    """Where the training, held-out and test periods lie in a series rebuilt from its windows.

    Windows are consecutive, and a window's input may reach back into an earlier period, so the
    series is the first window followed by every target in time order. train_end: the first
    value after the training period; test_start: the first test target.
    """

    def __init__(self, data):
        parts = [data.train_x[0, :, 0], data.train_y[:, 0]]
        n_val = 0 if data.val_y is None else len(data.val_y)
        if n_val:
            parts.append(data.val_y[:, 0])
        parts.append(data.test_y[:, 0])
        self.values = data.unscale(torch.cat(parts)).numpy()  # (N,), series units, float64
        self.train_end = data.sequence_length + len(data.train_y)
        self.test_start = self.train_end + n_val
        self.n_test = len(data.test_y)

    @property
    def train(self) -> np.ndarray:
        return self.values[: self.train_end]

    @property
    def test(self) -> np.ndarray:
        return self.values[self.test_start :]


# ----------------------------------------------------------------------------- baselines
def linear_ar(x, y) -> np.ndarray:
    """Least-squares coefficients (intercept last) of y on the windows x: (n, L) -> (L + 1, k)."""
    design = np.hstack([x, np.ones((len(x), 1))])
    coef, *_ = np.linalg.lstsq(design, y.reshape(len(y), -1), rcond=None)
    return coef


def ar_forecasts(data, steps: int, strategy: str) -> np.ndarray:
    """A linear autoregression over the networks' look-back window, fitted by least squares on
    the scaled training windows: recursive (one coefficient set, fed its own outputs), or one
    set per horizon under --strategy direct. From every test window: (n_test, steps), units."""
    x = data.train_x[:, :, 0].double().numpy()
    windows = data.test_x[:, :, 0].double().numpy()
    if strategy == "direct":
        direct = data.direct(steps)
        coef = linear_ar(direct.train_x[:, :, 0].double().numpy(), direct.train_y.double().numpy())
        scaled = windows @ coef[:-1] + coef[-1]
    else:
        coef = linear_ar(x, data.train_y.double().numpy())[:, 0]
        scaled = np.empty((len(windows), steps))
        seq = windows.copy()
        for h in range(steps):
            scaled[:, h] = seq @ coef[:-1] + coef[-1]
            seq = np.hstack([seq[:, 1:], scaled[:, h : h + 1]])
    return scaled * data.std + data.mean


def baseline_forecasts(data, steps: int, strategy: str = "recursive") -> dict[str, np.ndarray]:
    """Every baseline's forecasts of the next `steps` values from every test origin: each
    (n_test, steps) in the series' units. Origin o forecasts the test targets o, o + 1, ..."""
    p, season = Periods(data), data.period
    t = p.test_start + np.arange(p.n_test)[:, None]  # each origin's first target index
    h = np.arange(steps)[None, :]
    last = p.values[t - 1]
    out = {"persistence": np.repeat(last, steps, axis=1)}
    if season and p.test_start >= season:
        out["seasonal persistence"] = p.values[t - season + h % season]
    if season and p.train_end >= season:
        positions = np.arange(p.train_end) % season
        climatology = np.array([p.train[positions == k].mean() for k in range(season)])
        out["seasonal mean"] = climatology[(t + h) % season]
    else:
        out["mean"] = np.full((p.n_test, steps), p.train.mean())
    step = (p.train[-1] - p.train[0]) / max(1, p.train_end - 1)  # the mean training step
    out["drift"] = last + (h + 1) * step
    out[f"linear AR({data.sequence_length})"] = ar_forecasts(data, steps, strategy)
    return out


# ----------------------------------------------------------------------------- intervals
def needed_origins(level: float) -> int:
    """The fewest calibration origins n for which rank ceil((n + 1) level) <= n exists."""
    n = 1
    while math.ceil((n + 1) * level - 1e-12) > n:
        n += 1
    return n


def conformal_quantile(sorted_scores, level: float) -> float:
    """The ceil((n + 1) level)-th smallest of n scores: under exchangeability the interval
    pred ± it covers a new value with probability at least `level`. inf with too few scores
    (or level >= 1); 0 for level <= 0."""
    n = len(sorted_scores)
    rank = math.ceil((n + 1) * level - 1e-12)
    if rank > n:
        return math.inf
    return 0.0 if rank < 1 else float(sorted_scores[rank - 1])


def calibration_scores(pred, truth, n_targets: int) -> list[np.ndarray]:
    """Each horizon's absolute errors over the calibration origins whose target at that
    horizon lies inside the calibration stretch. pred, truth: (n_origins, steps)."""
    steps = np.asarray(pred).shape[1]
    scores = np.abs(np.asarray(pred) - np.asarray(truth))
    return [np.sort(scores[: max(0, n_targets - j), j]) for j in range(steps)]


def split_conformal(cal_scores: list[np.ndarray], level: float) -> np.ndarray:
    """Half-widths, one per horizon (NaN where too few calibration origins for the level)."""
    half = np.array([conformal_quantile(s, level) for s in cal_scores])
    return np.where(np.isfinite(half), half, np.nan)


def adaptive_conformal(cal_scores, pred, truth, level: float, step: float = ACI_STEP):
    """Adaptive conformal inference (Gibbs & Candès 2021) over the test origins in time order.

    For each horizon h on its own: at origin t the interval is pred ± the conformal quantile,
    at level 1 - alpha_t, of the calibration scores and of the test scores already known, those
    of origins up to t - h (their targets lie before t). alpha_t starts at 1 - level and moves
    by `step` * (the miscoverage level - the miss, 0 or 1) each time a miss becomes known, so
    that misses occur at the nominal rate in the long run whatever the shift. Returns the
    half-widths (n_origins, steps), inf where alpha_t <= 0 (an interval that covers anything).
    """
    pred, truth = np.asarray(pred, dtype=float), np.asarray(truth, dtype=float)
    n, steps = pred.shape
    target = 1 - level
    half = np.empty((n, steps))
    for j in range(steps):
        known = [float(v) for v in cal_scores[j]]  # sorted; plain floats: a fast inner loop
        scores = np.abs(pred[:, j] - truth[:, j]).tolist()
        alpha, widths, missed = target, [], []
        for t in range(n):
            if t - j - 1 >= 0:  # origin t - h's target is now known: learn from it
                bisect.insort(known, scores[t - j - 1])
                alpha += step * (target - missed[t - j - 1])
            widths.append(conformal_quantile(known, 1 - alpha) if alpha > 0 else math.inf)
            missed.append(scores[t] > widths[-1])
        half[:, j] = widths
    return half


def coverage(pred, truth, half: np.ndarray, defined) -> dict:
    """Share of test values inside pred ± half per horizon, and over the horizons that have an
    interval (`defined`; None elsewhere); each horizon's mean width over its finite intervals
    and the share of infinite ones. half: (steps,) or (n_origins, steps)."""
    pred, truth = np.asarray(pred, dtype=float), np.asarray(truth, dtype=float)
    half = np.broadcast_to(np.asarray(half, dtype=float), pred.shape)
    inside = np.abs(pred - truth) <= half
    per_h, widths = [], []
    for j, ok in enumerate(defined):
        finite = half[:, j][np.isfinite(half[:, j])]
        per_h.append(float(inside[:, j].mean()) if ok and len(pred) else None)
        widths.append(float(np.mean(2 * finite)) if ok and len(finite) else None)
    have = [c for c in per_h if c is not None]
    return {
        "coverage": float(np.mean(have)) if have else None,
        "coverage_per_h": per_h,
        "width_per_h": widths,
        "mean_width": float(np.mean([w for w in widths if w is not None])) if have else None,
        "infinite_share": float(np.mean(~np.isfinite(half[:, np.asarray(defined, bool)])))
        if have
        else None,
    }


def score_forecasts(forecaster, data, steps: int, level: float) -> tuple[dict, np.ndarray]:
    """Errors by horizon from every test origin, and the intervals around them.

    forecaster(windows) -> (n, steps) forecasts in the scaled units, for a batch of windows
    (n, seq_len, 1). The intervals are calibrated on the held-out end of the training period
    (data.val_x), which the model never trained on: split conformal per horizon, and adaptive
    conformal inference on the test origins. Returns the scores and the test forecasts
    (n_origins, steps), in the series' units.
    """
    periods = Periods(data)
    scale = mase_scale(periods.train, data.period)
    test_starts = origins(len(data.test_x), steps)
    pred = in_chunks(forecaster, data.test_x, test_starts, data, steps)
    truth = continuations(periods.test, test_starts, steps)
    scores = {"origins": len(test_starts), **horizon_errors(pred, truth, scale)}
    if level > 0 and data.val_x is not None:
        cal_starts = np.arange(len(data.val_x))
        cal_pred = in_chunks(forecaster, data.val_x, cal_starts, data, steps)
        val_values = data.unscale(data.val_y[:, 0]).numpy()
        padded = np.concatenate([val_values, np.full(steps, np.nan)])  # no target past it
        cal = calibration_scores(
            cal_pred, continuations(padded, cal_starts, steps), len(val_values)
        )
        counts = [len(s) for s in cal]
        split = split_conformal(cal, level)
        defined = ~np.isnan(split)  # too few calibration origins: no interval, for either method
        adaptive = adaptive_conformal(cal, pred, truth, level)
        scores["interval"] = {
            "level": level,
            "calibration_origins": counts,
            "needed_origins": needed_origins(level),
            "half_width": split.tolist(),
            **coverage(pred, truth, split, defined),
            "adaptive": {"step": ACI_STEP, **coverage(pred, truth, adaptive, defined)},
        }
    return scores, pred


def in_chunks(forecaster, x, starts, data, steps: int, chunk: int = 4096) -> np.ndarray:
    """forecaster over the windows x[starts], a few thousand at a time, in series units."""
    parts = [
        data.unscale(forecaster(x[starts[i : i + chunk]])).cpu().numpy()
        for i in range(0, len(starts), chunk)
    ]
    return np.concatenate(parts) if parts else np.empty((0, steps))


def below_nominal(per_h: list, n: int, level: float) -> list[int]:
    """The horizons (1-based) whose coverage over n origins falls below `level` by more than
    binomial noise (one-sided p < SIGNIFICANCE, Holm-corrected over the horizons)."""
    from scipy import stats

    tested = [(j + 1, c) for j, c in enumerate(per_h) if c is not None and n > 0]
    p = [stats.binomtest(round(c * n), n, level, alternative="less").pvalue for _, c in tested]
    adjusted = holm(p)
    return [h for (h, _), q in zip(tested, adjusted, strict=True) if q < SIGNIFICANCE]


# ----------------------------------------------------------------------------- paired tests
def holm(p_values: list[float]) -> list[float]:
    """Holm's step-down adjustment: p-values that keep the chance of any false 'A beats B'
    among all the tests of a table at the level (Holm 1979)."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted, running = [0.0] * m, 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


def diebold_mariano(e1: np.ndarray, e2: np.ndarray, h: int = 1) -> dict:
    """Diebold-Mariano test of equal squared-error loss, with the Harvey-Leybourne-Newbold
    small-sample correction; p from Student's t with n - 1 degrees of freedom.

    A negative statistic means the first forecast has the smaller errors. Identical losses
    have no variance: no evidence of a difference (statistic 0, p = 1).
    """
    from scipy import stats  # only when a test is run: scipy is slow to import

    d = np.asarray(e1, dtype=float) ** 2 - np.asarray(e2, dtype=float) ** 2
    n = len(d)
    centred = d - d.mean()
    gammas = [np.dot(centred[k:], centred[: n - k]) / n for k in range(h)]  # lags 0..h-1
    variance = gammas[0] + 2 * sum(gammas[1:])
    if n < 2 or variance <= 0:
        return {"statistic": 0.0, "p_value": 1.0, "n": n}
    dm = d.mean() / math.sqrt(variance / n)
    dm *= math.sqrt((n + 1 - 2 * h + h * (h - 1) / n) / n)
    return {"statistic": float(dm), "p_value": float(2 * stats.t.sf(abs(dm), n - 1)), "n": n}


def paired_difference(a: list[float], b: list[float]) -> dict:
    """Mean of a - b over paired seeds, with its 95 % t confidence interval and p-value."""
    from scipy import stats

    diff = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    n, mean = len(diff), float(np.mean(diff))
    if n < 2:
        return {"mean": mean, "low": None, "high": None, "p_value": None, "n": n}
    sem = float(np.std(diff, ddof=1)) / math.sqrt(n)
    if sem == 0:
        p = 1.0 if mean == 0 else 0.0
        return {"mean": mean, "low": mean, "high": mean, "p_value": p, "n": n}
    half = float(stats.t.ppf(1 - SIGNIFICANCE / 2, n - 1)) * sem
    p = float(2 * stats.t.sf(abs(mean) / sem, n - 1))
    return {"mean": mean, "low": mean - half, "high": mean + half, "p_value": p, "n": n}


def verdict(first: str, second: str, diff: dict) -> str:
    """'A beats B' only when the Holm-adjusted p-value (diff["p_holm"]) is below 5 %."""
    if diff["p_value"] is None:
        return "no significant difference at this budget (one seed cannot tell)"
    if diff.get("p_holm", diff["p_value"]) >= SIGNIFICANCE or diff["mean"] == 0:
        return "no significant difference at this budget"
    return f"{first} beats {second}" if diff["mean"] < 0 else f"{second} beats {first}"


def dm_summary(tests: list[dict], first: str, second: str) -> str:
    """How many seeds' Diebold-Mariano tests favour each model at the 5 % level."""
    wins = sum(t["p_value"] < SIGNIFICANCE and t["statistic"] < 0 for t in tests)
    losses = sum(t["p_value"] < SIGNIFICANCE and t["statistic"] > 0 for t in tests)
    median = float(np.median([t["p_value"] for t in tests]))
    return f"{first} {wins}, {second} {losses} of {len(tests)} (median p {median:.2g})"


# ----------------------------------------------------------------------------- equal budgets
def matched_hidden_sizes(target, kinds, count, hidden: int) -> dict[str, int]:
    """Each model's hidden size whose parameter count comes closest to `target` (a number, or a
    model type's count at `hidden`); ties go to the smaller size. count(kind, hidden) is the
    count of models.py's model, measured. It is a quadratic in the hidden size, so three counts
    give its coefficients, and the nearest whole size sits beside the root."""
    if isinstance(target, str):
        try:
            target = count(target, hidden)
        except KeyError:
            raise FlagError(f"--match-params {target}: give a number or a model type") from None
    sizes = {}
    for kind in kinds:
        c1, c2, c3 = (count(kind, h) for h in (1, 2, 3))
        a = (c3 - 2 * c2 + c1) / 2
        b = c2 - c1 - 3 * a
        c = c1 - a - b - target
        root = (-b + math.sqrt(max(0.0, b * b - 4 * a * c))) / (2 * a)
        near = {max(1, math.floor(root) + d) for d in (-1, 0, 1, 2)}
        sizes[kind] = min(near, key=lambda h, k=kind: (abs(count(k, h) - target), h))
    return sizes


# ----------------------------------------------------------------------------- a comparison
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


class Setting:
    """What every score of one comparison shares: the test period, MASE's scale, MAPE's floor."""

    def __init__(self, data):
        self.periods = Periods(data)
        self.truth = self.periods.test  # every test value, a one-step target
        self.scale = mase_scale(self.periods.train, data.period)
        self.floor = mape_floor(self.truth)
        self.season = data.period
        self.max_lag = lag_range(data.period)


def one_step_scores(pred, s: Setting) -> dict:
    """One-step errors and MASE, and the lagged-copy check."""
    out = {f"one_step_{k}": v for k, v in errors(pred, s.truth, s.floor, s.scale).items()}
    out["best_lag"] = best_lag(pred, s.truth, s.max_lag)
    return out


def forecast_scores(horizon: dict) -> dict:
    """h = 1, h = H and the mean over 1..H of the MAE and RMSE by horizon, and the mean MASE."""
    out = {"forecast_mase_mean": float(np.mean(horizon["mase"]))}
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


def baseline_scores(data, steps: int, strategy: str, s: Setting) -> dict:
    """Every baseline, one step ahead (every test value) and from every origin (the networks')."""
    starts = origins(s.periods.n_test, steps)
    truth = continuations(s.truth, starts, steps)
    out = {}
    for name, f in baseline_forecasts(data, steps, strategy).items():
        horizon = horizon_errors(f[starts], truth, s.scale)
        out[name] = {**one_step_scores(f[:, 0], s), **forecast_scores(horizon), "horizon": horizon}
    return out


def best_baselines(baselines: dict) -> dict[str, str]:
    """The strongest baseline one step ahead and over the forecasts: the lowest MASE."""

    def best(key):  # by MAE: the same order as MASE, and defined on a constant series too
        return min(baselines, key=lambda k: baselines[k][key])

    return {"one_step": best("one_step_mae"), "forecast": best("forecast_mae_mean")}


def score_run(r: dict, s: Setting, baselines: dict, best: dict) -> dict:
    """Every metric of one run (one model, one seed)."""
    ev = r["evidence"]
    out = one_step_scores(np.asarray(r["one_step"]), s)
    out.update(forecast_scores(ev))
    out["horizon"] = {"mae": ev["mae"], "rmse": ev["rmse"], "mase": ev["mase"]}
    # 1 - MAE / the best baseline's MAE; undefined (NaN) where that baseline is exact
    reference = baselines[best["one_step"]]["one_step_mae"]
    out["skill_one_step"] = 1 - ratio(out["one_step_mae"], reference)
    reference = baselines[best["forecast"]]["forecast_mae_mean"]
    out["skill_forecast"] = 1 - ratio(out["forecast_mae_mean"], reference)
    if "interval" in ev:
        iv = ev["interval"]

        def worst(c):
            return min((v for v in c["coverage_per_h"] if v is not None), default=None)

        out.update(
            coverage=iv["coverage"],
            coverage_worst_h=worst(iv),
            mean_width=iv["mean_width"],
            aci_coverage=iv["adaptive"]["coverage"],
            aci_coverage_worst_h=worst(iv["adaptive"]),
            aci_mean_width=iv["adaptive"]["mean_width"],
            interval=iv,
        )
    out["forecast_flat"] = is_flat(np.asarray(r["forecast"]), np.asarray(r["truth"]))
    for key in ("seed", "train_seconds", "evidence_seconds"):
        out[key] = r[key]
    out["seconds_per_epoch"] = r["train_seconds"] / len(r["train_losses"])
    out.update(final_train_loss=r["train_losses"][-1], final_test_loss=r["test_losses"][-1])
    return out


def summary_of(scored: list[dict]) -> dict:
    """Each metric as mean, std, min and max over seeds; undefined where no seed defines it."""
    summary = {}
    for key in SUMMARY_KEYS:
        present = [s[key] for s in scored if s.get(key) is not None]
        values = [v for v in present if np.isfinite(v)]
        if values:
            summary[key] = summarize(values)
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


def evaluate_runs(runs: list[dict], data, args, pairs=None) -> dict:
    """Score every run and baseline, summarize across seeds, compare every pair (Holm-corrected
    over the table), and say in plain words what the numbers show."""
    s = Setting(data)
    steps = args.predict_steps
    baselines = baseline_scores(data, steps, args.strategy, s)
    best = best_baselines(baselines)
    report = {
        "dataset": data.name,
        "units": data.units,
        "season": data.period,
        "season_source": data.meta.get("season_source", ""),
        "seeds": sorted({r["seed"] for r in runs}),
        "steps": steps,
        "strategy": args.strategy,
        "origins": len(origins(s.periods.n_test, steps)),
        "test_values": s.periods.n_test,
        "interval": args.interval,
        "mape_floor": s.floor,
        "mase_scale": s.scale,
        "baselines": baselines,
        "best_baseline": best,
        "models": {},
    }
    ran = dict.fromkeys(r["model"] for r in runs)
    asked = [k for k in getattr(args, "models", []) if k in ran]  # the order the user gave
    for kind in asked + [k for k in ran if k not in asked]:
        model_runs = sorted((r for r in runs if r["model"] == kind), key=lambda r: r["seed"])
        scored = [score_run(r, s, baselines, best) for r in model_runs]
        report["models"][kind] = {
            "params": model_runs[0]["params"],
            "hidden_size": model_runs[0]["hidden_size"],
            "runs": scored,
            "summary": summary_of(scored),
        }
    report["pairs"] = compare_pairs(runs, report, s.truth, pairs)
    report["verdicts"] = verdicts(report, args)
    return report


def compare_pairs(runs: list[dict], report: dict, truth, which=None) -> list[dict]:
    """For every pair of models (or those `which` names): paired differences over the seeds
    both have, Holm-corrected over every test of the table, and the Diebold-Mariano test on
    each seed's one-step errors."""
    pairs = []
    errors_of = {(r["model"], r["seed"]): np.asarray(r["one_step"]) - truth for r in runs}
    for first, second in which or itertools.combinations(report["models"], 2):
        a = {s["seed"]: s for s in report["models"][first]["runs"]}
        b = {s["seed"]: s for s in report["models"][second]["runs"]}
        seeds = sorted(set(a) & set(b))
        if not seeds:
            continue
        dm = [
            {"seed": s, **diebold_mariano(errors_of[first, s], errors_of[second, s])} for s in seeds
        ]
        pair = {"first": first, "second": second, "seeds": seeds, "diebold_mariano": dm}
        for key in ("one_step_rmse", "forecast_rmse_mean"):
            pair[key] = paired_difference([a[s][key] for s in seeds], [b[s][key] for s in seeds])
        pair["dm_summary"] = dm_summary(dm, first, second)
        pairs.append(pair)
    tests = [p[k] for p in pairs for k in ("one_step_rmse", "forecast_rmse_mean")]
    tested = [t for t in tests if t["p_value"] is not None]
    for t, q in zip(tested, holm([t["p_value"] for t in tested]), strict=True):
        t["p_holm"] = q
    for p in pairs:
        for k in ("one_step_rmse", "forecast_rmse_mean"):
            p[k]["verdict"] = verdict(p["first"], p["second"], p[k])
    return pairs


# ----------------------------------------------------------------------------- plain words
def verdicts(report: dict, args) -> list[str]:
    """What a sceptical forecaster would say first: whether any network beats the strongest
    simple baseline, whether the intervals cover, and the classic failures that look fine on
    a plot (a lagged or seasonal copy, a missed trend, a flat forecast)."""
    out = baseline_verdicts(report)
    for kind, m in report["models"].items():
        out += coverage_verdicts(kind, m["runs"], report)
        out += lag_verdicts(kind, m["runs"], report)
        flat = [s for s in m["runs"] if s["forecast_flat"]]
        if flat:
            out.append(
                f"{kind}: in {len(flat)} of {len(m['runs'])} seeds the {report['steps']}-step "
                f"forecast from test index {args.predict_start} is flat (its spread is under "
                f"{FLAT_RATIO:.0%} of the truth's)"
            )
    return out


def baseline_verdicts(report: dict) -> list[str]:
    """Does any network beat the best baseline, one step ahead and over the forecasts? Judged
    on the MAE (mean over seeds), shown as MASE where the series gives it a scale."""
    lines = []
    scaled = report["mase_scale"] > 0
    for key, stat, words in (
        ("one_step", "one_step", "one step ahead"),
        ("forecast", "forecast", f"over {report['steps']}-step forecasts"),
    ):
        mae_key = f"{stat}_mae" if key == "one_step" else "forecast_mae_mean"
        name = report["best_baseline"][key]
        base = report["baselines"][name][mae_key]
        nets = {k: m["summary"][mae_key]["mean"] for k, m in report["models"].items()}

        def shown(mae):
            return f"MASE {mae / report['mase_scale']:.3g}" if scaled else f"MAE {mae:.3g}"

        best_net = min(nets, key=nets.get)
        winners = [k for k, v in nets.items() if v < base]
        if not winners:
            lines.append(
                f"No network beats {name} {words}: {shown(base)}, against {shown(nets[best_net])} "
                f"for the best network ({best_net})."
            )
            continue
        below = {k: sum(r[mae_key] < base for r in report["models"][k]["runs"]) for k in winners}
        seeds = {k: len(report["models"][k]["runs"]) for k in winners}
        scores = ", ".join(
            f"{k} {shown(nets[k])}"
            + ("" if below[k] == seeds[k] else f" (below it on {below[k]} of {seeds[k]} seeds)")
            for k in winners
        )
        everywhere = all(below[k] == seeds[k] for k in winners)
        lines.append(
            f"{' and '.join(winners)} beat{'s' * (len(winners) == 1)} the best baseline "
            f"{words}, {name} ({shown(base)}), "
            + ("on every seed" if everywhere else "on average, not on every seed")
            + f": {scores}."
        )
    return lines


def coverage_verdicts(kind: str, runs: list[dict], report: dict) -> list[str]:
    """Horizons whose coverage falls below nominal by more than binomial noise, in any seed;
    and intervals that miss less than half as often as the nominal level allows: valid, but
    wider than they need to be (a calibration stretch unlike the test period, most often)."""
    lines = []
    for method, words in (("split", "split-conformal"), ("adaptive", "adaptive")):
        flagged, seeds, covered = set(), 0, []
        for r in runs:
            iv = r.get("interval")
            if iv is None:
                continue
            c = iv if method == "split" else iv["adaptive"]
            low = below_nominal(c["coverage_per_h"], report["origins"], iv["level"])
            flagged |= set(low)
            seeds += bool(low)
            if c["coverage"] is not None:  # None: too few calibration origins for any interval
                covered.append(c["coverage"])
            level = iv["level"]
        if covered and 1 - np.mean(covered) < (1 - level) / 2:
            lines.append(
                f"{kind}: {words} intervals cover {np.mean(covered):.1%} of the test values where "
                f"{level:.0%} was asked: they miss less than half as often as they may, so they "
                "are wider than they need to be."
            )
        if flagged:
            hs = sorted(flagged)
            lines.append(
                f"{kind}: {words} coverage falls below the nominal {level:.0%} by more than "
                f"chance (binomial test over {report['origins']} origins, Holm-corrected) at "
                f"h = {span(hs)}, in {seeds} of {len(runs)} seeds."
            )
    return lines


def lag_verdicts(kind: str, runs: list[dict], report: dict) -> list[str]:
    """A best lag above 0: a copy of the last input, a seasonal copy, or a missed trend."""
    season, end = report["season"], lag_range(report["season"])
    lines = []
    for lag in sorted({s["best_lag"] for s in runs if s["best_lag"] >= 1}):
        n = sum(s["best_lag"] == lag for s in runs)
        if season and lag == season:
            what = (
                f"the season ({season}): the predictions repeat last season's value rather "
                "than predict"
            )
        elif lag == end:
            what = (
                f"the end of the shifts tried ({end}): the predictions trail the truth, as "
                "when a trend or level is missed"
            )
        else:
            what = f"{lag} step(s): the network copies its last input, late by that many steps"
        lines.append(
            f"{kind}: in {n} of {len(runs)} seeds the one-step predictions match the truth best "
            f"when shifted by {what}."
        )
    return lines


def span(values: list[int]) -> str:
    """1, 2, 3, 5 -> '1-3, 5'."""
    parts, start = [], None
    for i, v in enumerate(values):
        if start is None:
            start = v
        if i + 1 == len(values) or values[i + 1] != v + 1:
            parts.append(f"{start}" if start == v else f"{start}–{v}")
            start = None
    return ", ".join(parts)


# ----------------------------------------------------------------------------- across series
def canonical(name: str) -> str:
    """A baseline's name across series: the look-back of the autoregression left out."""
    return "linear AR" if name.startswith("linear AR") else name


def collection_summary(reports: dict[str, dict], models: list[str]) -> dict:
    """Every method across the series, the M4 way: on each series the forecasts' MASE (mean
    over horizons and origins; a network's, the mean over its seeds), each method's rank (1 =
    best, ties sharing the mean of their ranks), and across series the mean rank and the median
    MASE; then the pairwise verdicts between the networks and against the linear
    autoregression, by a Wilcoxon signed-rank test on the per-series MASE, Holm-corrected.
    Seasonal persistence on a series without a season is persistence (a season of one step)."""
    from scipy import stats

    methods = list(models) + [
        "persistence",
        "seasonal persistence",
        "seasonal mean",
        "drift",
        "linear AR",
    ]
    table, per_series = {}, {}
    for name, r in reports.items():
        base = {canonical(k): v for k, v in r["baselines"].items()}
        base.setdefault("seasonal persistence", base["persistence"])
        base.setdefault("seasonal mean", base.get("mean"))
        mase = {k: r["models"][k]["summary"]["forecast_mase_mean"]["mean"] for k in models}
        mase.update({k: base[k]["forecast_mase_mean"] for k in methods[len(models) :]})
        table[name] = mase
        per_series[name] = series_row(r, models)
    summary = {
        "series": list(reports),
        "models": list(models),
        "methods": methods,
        "mase": table,
        **rank_table(table, methods),
        "median_mase": {m: float(np.median([table[s][m] for s in table])) for m in methods},
        "per_series": per_series,
    }
    pairs = list(itertools.combinations(models, 2)) + [(k, "linear AR") for k in models]
    tests = []
    for first, second in pairs:
        a = [table[s][first] for s in table]
        b = [table[s][second] for s in table]
        diff = np.subtract(a, b)
        p = 1.0 if not np.any(diff) else float(stats.wilcoxon(a, b).pvalue)
        tests.append(
            {
                "first": first,
                "second": second,
                "p_value": p,
                "median_difference": float(np.median(diff)),
                "first_better": int(np.sum(diff < 0)),
                "second_better": int(np.sum(diff > 0)),
            }
        )
    for t, q in zip(tests, holm([t["p_value"] for t in tests]), strict=True):
        t["p_holm"] = q
        t["verdict"] = (
            "no significant difference"
            if q >= SIGNIFICANCE
            else f"{t['first'] if t['median_difference'] < 0 else t['second']} is better"
        )
    summary["pairs"] = tests
    summary["smallest_possible_p"] = smallest_wilcoxon_p(len(table), len(tests))
    return summary


def rank_table(table: dict[str, dict], methods: list[str]) -> dict:
    """{"ranks": each series' rank of each method, "mean_rank": each method's mean over them}."""
    ranks = {name: rank_row(row, methods) for name, row in table.items()}
    mean = {m: float(np.mean([ranks[s][m] for s in ranks])) for m in methods}
    return {"ranks": ranks, "mean_rank": mean}


def rank_row(mase: dict, methods: list[str]) -> dict:
    """Each method's rank on one series (1 = the lowest MASE; ties share their mean rank)."""
    from scipy import stats

    values = [mase[m] if mase[m] is not None and np.isfinite(mase[m]) else np.inf for m in methods]
    return dict(zip(methods, stats.rankdata(values, method="average").tolist(), strict=True))


def series_row(r: dict, models: list[str]) -> dict:
    """One series in the collection's table: its best baseline, each network's skill against
    it and its split and adaptive coverage (means over seeds)."""
    best = r["best_baseline"]["forecast"]
    row = {
        "best_baseline": canonical(best),
        "best_baseline_mase": r["baselines"][best]["forecast_mase_mean"],
        "season": r["season"],
        "test_values": r["test_values"],
        "steps": r["steps"],
    }
    for k in models:
        s = r["models"][k]["summary"]
        keys = ("forecast_mase_mean", "skill_forecast", "coverage", "aci_coverage")
        row[k] = {key: (s.get(key) or {}).get("mean") for key in keys}
    return row


def smallest_wilcoxon_p(n: int, tests: int) -> float:
    """The smallest Holm-adjusted p a two-sided exact Wilcoxon test on n pairs can give among
    `tests` tests: 2 / 2^n, times the number of tests. Above 0.05, no verdict is possible."""
    return min(1.0, tests * 2.0 / 2**n) if n else 1.0
