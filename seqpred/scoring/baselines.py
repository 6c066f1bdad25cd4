"""The simple baselines every network must beat, forecasting from the same origins as the
networks: persistence, seasonal persistence, the seasonal mean of the training period
(climatology; the mean where there is no season), drift, and a linear autoregression over
the networks' own look-back window: the networks' architecture without recurrence or
nonlinearity. The statistical benchmarks (statsforecast's) are in statistical.py.

Every function returns forecasts in the series' units, (n_origins, steps), one row per origin
of a split: the test period's, or the held-out stretch's (on which the strongest baseline is
chosen, never on the test).
"""

from __future__ import annotations

from seqpred.scoring.periods import Periods

import numpy as np


def linear_ar(x, y) -> np.ndarray:
    """Least-squares coefficients (intercept last) of y on the windows x: (n, L) -> (L + 1, k)."""
    design = np.hstack([x, np.ones((len(x), 1))])
    coef, *_ = np.linalg.lstsq(design, y.reshape(len(y), -1), rcond=None)
    return coef


def ar_forecasts(data, windows, steps: int, strategy: str) -> np.ndarray:
    """A linear autoregression over the networks' look-back window, fitted by least squares on
    the scaled training windows: recursive (one coefficient set, fed its own outputs), or one
    set per horizon under --strategy direct. From each of `windows` (n, L, 1): (n, steps)."""
    x = data.train_x[:, :, 0].double().numpy()
    windows = windows[:, :, 0].double().numpy()
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


def drift(values: np.ndarray, starts: np.ndarray, steps: int) -> np.ndarray:
    """The textbook drift (Hyndman & Athanasopoulos, FPP3 §5.2): the last value plus h times
    the mean step of all history up to the origin, (y_T - y_1) / (T - 1)."""
    last = values[starts - 1][:, None]
    slope = (last - values[0]) / np.maximum(1, starts - 1)[:, None]
    return last + np.arange(1, steps + 1)[None, :] * slope


def baseline_forecasts(
    data, steps: int, strategy: str = "recursive", split: str = "test"
) -> dict[str, np.ndarray]:
    """Every simple baseline's forecasts of the next `steps` values from every origin of
    `split` ("test" or "validation"): origin o forecasts targets o, o + 1, ... of that split
    (and past its end, where the caller ignores them)."""
    p, season = Periods(data), data.period
    starts = p.starts(split)
    t = starts[:, None]  # each origin's first target index
    h = np.arange(steps)[None, :]
    last = p.values[t - 1]
    out = {"persistence": np.repeat(last, steps, axis=1)}
    if season and len(starts) and starts[0] >= season:
        out["seasonal persistence"] = p.values[t - season + h % season]
    if season and p.train_end >= season:
        positions = np.arange(p.train_end) % season
        climatology = np.array([p.train[positions == k].mean() for k in range(season)])
        out["seasonal mean"] = climatology[(t + h) % season]
    else:
        out["mean"] = np.full((len(starts), steps), p.train.mean())
    out["drift"] = drift(p.values, starts, steps)
    windows = data.val_x if split == "validation" else data.test_x
    out[f"linear AR({data.sequence_length})"] = ar_forecasts(data, windows, steps, strategy)
    return out
