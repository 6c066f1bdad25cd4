"""Errors of forecasts against the truth: MAE, RMSE, a guarded MAPE and MASE, by horizon over
every origin, per origin, and the checks for forecasts that only look right (a lagged copy, a
flat line).

MASE (Hyndman & Koehler 2006) is the headline: the mean absolute error over the training
period's in-sample mean absolute error of seasonal persistence (of persistence where there is
no season); below 1, better than that naive forecast was in-sample. It is scale-free.
"""

from __future__ import annotations

import math

import numpy as np

MAPE_FLOOR = 0.1  # MAPE divides by max(|truth|, MAPE_FLOOR * mean|truth|): a sine crosses 0
MAX_LAG = 5  # shifts tried by the lagged-copy check (and the season, if longer)
FLAT_RATIO = 0.1  # a prediction whose spread is under 10 % of the truth's is "flat"


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
    errs = lag_errors(np.asarray(pred), np.asarray(truth), max_lag)
    lag = int(np.argmin(errs))
    return lag if errs[lag] <= errs[0] / 2 else 0


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


def origin_mae(pred, truth) -> list[float]:
    """Each origin's mean absolute error over its horizons: the loss a test of two forecasters
    compares origin by origin. pred, truth: (n_origins, steps)."""
    err = np.asarray(pred, dtype=float) - np.asarray(truth, dtype=float)
    return np.mean(np.abs(err), axis=1).tolist()
