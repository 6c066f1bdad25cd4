"""Error metrics, naive baselines and sanity checks, on NumPy arrays in the series' own units."""

from __future__ import annotations

import numpy as np

# MAPE divides by max(|truth|, MAPE_FLOOR * mean|truth over the test period|): a sine wave crosses
# zero twice a period, and dividing by values at or near 0 would make MAPE explode.
MAPE_FLOOR = 0.1
MAX_LAG = 5  # shifts tried by the lagged-copy check
FLAT_RATIO = 0.1  # a prediction whose spread is under 10 % of the truth's is "flat"


def mape_floor(reference: np.ndarray) -> float:
    """The smallest denominator MAPE uses: MAPE_FLOOR times the mean absolute true value."""
    return MAPE_FLOOR * float(np.mean(np.abs(reference))) or 1e-12


def errors(pred: np.ndarray, truth: np.ndarray, floor: float) -> dict[str, float]:
    """MAE, RMSE and guarded MAPE (%) of predictions against the truth."""
    pred, truth = np.asarray(pred, dtype=float), np.asarray(truth, dtype=float)
    err = pred - truth
    denom = np.maximum(np.abs(truth), floor)
    return {
        "mae": float(np.mean(np.abs(err))),
        "rmse": float(np.sqrt(np.mean(err**2))),
        "mape": float(100 * np.mean(np.abs(err) / denom)),
    }


def mse(pred: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean((np.asarray(pred, dtype=float) - np.asarray(truth, dtype=float)) ** 2))


def skill(pred: np.ndarray, reference: np.ndarray, truth: np.ndarray) -> float:
    """1 - MSE(pred) / MSE(reference): above 0 beats the reference, 1 is perfect."""
    ref = mse(reference, truth)
    return float("nan") if ref == 0 else 1 - mse(pred, truth) / ref


def persistence(windows: np.ndarray) -> np.ndarray:
    """Naive one-step prediction: the next value equals the last value of the window."""
    return windows[:, -1]


def seasonal_persistence(windows: np.ndarray, period: int) -> np.ndarray:
    """Naive one-step prediction: the next value equals the value one period earlier."""
    return windows[:, -period]


def persistence_forecast(window: np.ndarray, steps: int) -> np.ndarray:
    """Naive forecast: the last known value, repeated."""
    return np.full(steps, window[-1], dtype=float)


def seasonal_forecast(window: np.ndarray, steps: int, period: int) -> np.ndarray:
    """Naive forecast: the last known period, repeated."""
    last_period = window[-period:]
    return np.array([last_period[h % period] for h in range(steps)], dtype=float)


def lag_errors(pred: np.ndarray, truth: np.ndarray, max_lag: int = MAX_LAG) -> list[float]:
    """MSE between pred[t] and truth[t - k] for k = 0..max_lag.

    A forecaster that merely copies its last input matches the truth best at k = 1: its
    curve looks right on a plot, one step late.
    """
    n = len(truth)
    return [mse(pred[k:], truth[: n - k]) for k in range(min(max_lag, n - 2) + 1)]


def best_lag(pred: np.ndarray, truth: np.ndarray) -> int:
    """The shift (in steps) at which the predictions best match the truth; 0 is what we want."""
    return int(np.argmin(lag_errors(pred, truth)))


def is_flat(pred: np.ndarray, truth: np.ndarray) -> bool:
    """True when the prediction barely moves while the truth does."""
    return float(np.std(pred)) < FLAT_RATIO * float(np.std(truth))
