"""Evidence that holds: errors from every forecast origin, prediction intervals, paired tests
between models, and models of equal size.

- Every origin: a forecast from each test window whose continuation is known, all at once;
  errors by horizon h = 1..H (one origin is an anecdote).
- Split-conformal intervals: the |error| quantile per horizon on calibration origins before
  the test period, with the finite-sample rank ceil((n+1)(1-alpha)); coverage is measured on
  the test origins, never assumed.
- Is a difference real? The paired difference over seeds (same seeds, same batch order) with a
  t confidence interval, and the Diebold-Mariano test with the Harvey-Leybourne-Newbold
  small-sample correction on each seed's one-step errors.
- Equal budgets: the hidden size that gives each model about N parameters.
"""

from __future__ import annotations

import math

import numpy as np

from seqpred.errors import FlagError

SIGNIFICANCE = 0.05
CALIBRATION_SHARE = 0.1  # without --val-fraction: the last 10 % of the training windows


# ----------------------------------------------------------------------------- every origin
def origins(n_windows: int, steps: int) -> np.ndarray:
    """The windows whose next `steps` targets are all known: 0 .. n_windows - steps."""
    return np.arange(max(0, n_windows - steps + 1))


def continuations(y: np.ndarray, starts: np.ndarray, steps: int) -> np.ndarray:
    """The true next `steps` values after each origin: (n_origins, steps). y: (n_windows,)."""
    return np.stack([y[o : o + steps] for o in starts]) if len(starts) else np.empty((0, steps))


def horizon_errors(pred: np.ndarray, truth: np.ndarray) -> dict[str, list[float]]:
    """MAE and RMSE at each horizon, over origins. pred, truth: (n_origins, steps)."""
    err = np.asarray(pred, dtype=float) - np.asarray(truth, dtype=float)
    return {
        "mae": np.mean(np.abs(err), axis=0).tolist(),
        "rmse": np.sqrt(np.mean(err**2, axis=0)).tolist(),
    }


def naive_forecasts(windows: np.ndarray, steps: int, period: int | None) -> dict[str, np.ndarray]:
    """Persistence (the last value, repeated) and, where there is a season that fits in the
    window, seasonal persistence (the last season, repeated). windows: (n, seq_len)."""
    out = {"persistence": np.repeat(windows[:, -1:], steps, axis=1)}
    if period and windows.shape[1] >= period:
        season = windows[:, -period:]
        out["seasonal persistence"] = season[:, np.arange(steps) % period]
    return out


def score_forecasts(forecaster, data, steps: int, level: float) -> tuple[dict, np.ndarray]:
    """Errors by horizon from every test origin, and the split-conformal intervals around them.

    forecaster(windows) -> (n, steps) forecasts in the scaled units, for a batch of windows
    (n, seq_len, 1). Returns the scores and the test forecasts (n_origins, steps), series units.
    """
    test_starts = origins(len(data.test_x), steps)
    pred = in_chunks(forecaster, data.test_x, test_starts, data)
    truth = continuations(data.unscale(data.test_y[:, 0]).numpy(), test_starts, steps)
    scores = {"origins": len(test_starts), **horizon_errors(pred, truth)}
    if level > 0:
        cal_x, cal_y, where = calibration_windows(data)
        cal_starts = origins(len(cal_x), steps)
        cal_pred = in_chunks(forecaster, cal_x, cal_starts, data)
        cal_truth = continuations(data.unscale(cal_y[:, 0]).numpy(), cal_starts, steps)
        half = conformal_quantiles(cal_pred, cal_truth, level)
        scores["interval"] = {
            "level": level,
            "calibration_origins": len(cal_starts),
            "calibrated_on": where,
            "half_width": half.tolist(),
            **coverage(pred, truth, half),
        }
    return scores, pred


def in_chunks(forecaster, x, starts, data, chunk: int = 4096) -> np.ndarray:
    """forecaster over the windows x[starts], a few thousand at a time, in series units."""
    parts = [
        data.unscale(forecaster(x[starts[i : i + chunk]])).cpu().numpy()
        for i in range(0, len(starts), chunk)
    ]
    return np.concatenate(parts) if parts else np.empty((0, 0))


# ----------------------------------------------------------------------------- intervals
def conformal_quantiles(cal_pred: np.ndarray, cal_truth: np.ndarray, level: float) -> np.ndarray:
    """Half-widths q_h of split-conformal intervals pred ± q_h, one per horizon.

    The ceil((n+1) level)-th smallest |error| of the n calibration origins: under
    exchangeability the interval covers a new value with probability at least `level`. With
    too few origins for that rank the half-width is infinite.
    """
    scores = np.sort(np.abs(np.asarray(cal_pred) - np.asarray(cal_truth)), axis=0)  # (n, steps)
    n = scores.shape[0]
    rank = math.ceil((n + 1) * level)
    if n == 0 or rank > n:
        return np.full(scores.shape[1], np.inf)
    return scores[rank - 1]


def coverage(pred: np.ndarray, truth: np.ndarray, half_width: np.ndarray) -> dict:
    """Share of test values inside pred ± half_width, per horizon and overall, and the width."""
    inside = np.abs(np.asarray(pred) - np.asarray(truth)) <= half_width  # (n_origins, steps)
    return {
        "coverage": float(inside.mean()) if inside.size else None,
        "coverage_per_h": inside.mean(axis=0).tolist() if inside.size else [],
        "width_per_h": (2 * half_width).tolist(),
        "mean_width": float(np.mean(2 * half_width)),
    }


def calibration_windows(data) -> tuple[object, object, str]:
    """(x, y, where) of the windows the intervals are calibrated on, never the test period."""
    if data.val_x is not None:
        return data.val_x, data.val_y, "the held-out end of the training period (--val-fraction)"
    n = max(1, int(round(len(data.train_x) * CALIBRATION_SHARE)))
    where = (
        f"the last {CALIBRATION_SHARE:.0%} of the training windows, which the model also trained "
        "on (in-sample: intervals may come out narrow; --val-fraction holds them out)"
    )
    return data.train_x[-n:], data.train_y[-n:], where


# ----------------------------------------------------------------------------- paired tests
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
    """'A beats B' only when the seeds' confidence interval excludes no difference."""
    if diff["low"] is None:
        return "no significant difference at this budget (one seed cannot tell)"
    if diff["high"] < 0:
        return f"{first} beats {second}"
    if diff["low"] > 0:
        return f"{second} beats {first}"
    return "no significant difference at this budget"


def dm_summary(tests: list[dict], first: str, second: str) -> str:
    """How many seeds' Diebold-Mariano tests favour each model at the 5 % level."""
    wins = sum(t["p_value"] < SIGNIFICANCE and t["statistic"] < 0 for t in tests)
    losses = sum(t["p_value"] < SIGNIFICANCE and t["statistic"] > 0 for t in tests)
    median = float(np.median([t["p_value"] for t in tests]))
    return f"{first} {wins}, {second} {losses} of {len(tests)} (median p {median:.2g})"


# ----------------------------------------------------------------------------- equal budgets
def parameter_count(kind: str, hidden: int, inputs: int, outputs: int, layers: int) -> int:
    """Parameters of models.py's model: the recurrent layers and the Linear head."""
    gates = {"RNN": 1, "GRU": 3, "LSTM": 4}[kind]
    first = gates * (hidden * inputs + hidden * hidden + 2 * hidden)
    later = (layers - 1) * gates * (2 * hidden * hidden + 2 * hidden)
    return first + later + hidden * outputs + outputs


def matched_hidden_sizes(target, kinds, hidden, inputs, outputs, layers) -> dict[str, int]:
    """Each model's hidden size whose parameter count comes closest to `target` (a number, or a
    model type counted at `hidden`); ties go to the smaller size."""
    if isinstance(target, str):
        if target not in ("RNN", "LSTM", "GRU"):
            raise FlagError(f"--match-params {target}: give a number or a model type")
        target = parameter_count(target, hidden, inputs, outputs, layers)
    sizes = {}
    for kind in kinds:
        best, h = 1, 1
        while True:
            gap = abs(parameter_count(kind, h, inputs, outputs, layers) - target)
            if gap < abs(parameter_count(kind, best, inputs, outputs, layers) - target):
                best = h
            if parameter_count(kind, h, inputs, outputs, layers) > target:
                break
            h += 1
        sizes[kind] = best
    return sizes
