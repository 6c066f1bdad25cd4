"""The M4 competition's statistical benchmarks as its organisers' R code defines them (the M4
repository's benchmarks): a 90 % seasonality test on the lag-m autocorrelation, classical
multiplicative decomposition, then Naive, Seasonal naive, Naive2, SES and Theta, negative
forecasts set to 0. Naive2 is the reference of the OWA. benchmarks() forecasts many series
at once."""

from __future__ import annotations

import numpy as np

ALPHAS = np.linspace(1e-4, 0.9999, 200)  # SES's smoothing weight, within ets()'s bounds


def seasonal_test(x: np.ndarray, m: int) -> bool:
    """Is x seasonal with period m? |acf(m)| above its 90 % limit (M4's SeasonalityTest)."""
    n = len(x)
    if m <= 1 or n < 3 * m:
        return False
    d = x - x.mean()
    total = float(d @ d)
    if total == 0:
        return False
    acf = np.array([d[k:] @ d[: n - k] for k in range(1, m + 1)]) / total
    limit = 1.645 * np.sqrt((1 + 2 * np.sum(acf[: m - 1] ** 2)) / n)
    return bool(abs(acf[m - 1]) > limit)


def seasonal_indices(x: np.ndarray, m: int) -> np.ndarray:
    """R's decompose(type="multiplicative") seasonal figure, one index per position of x's
    cycle (mean 1); all ones where x is not seasonal (seasonal_test) or not positive."""
    if not seasonal_test(x, m) or np.any(x <= 0):
        return np.ones(m if m > 1 else 1)
    # the centred moving average: 2 x m for an even m, m for an odd one
    w = np.r_[0.5, np.ones(m - 1), 0.5] / m if m % 2 == 0 else np.ones(m) / m
    half = len(w) // 2
    trend = np.full(len(x), np.nan)
    trend[half : len(x) - half] = np.convolve(x, w, mode="valid")
    ratio = x / trend
    figure = np.array([np.nanmean(ratio[i::m]) for i in range(m)])
    return figure / figure.mean()


def deseasonalise(x: np.ndarray, m: int, h: int) -> tuple[np.ndarray, np.ndarray]:
    """x divided by its seasonal indices, and the indices of the next h steps."""
    figure = seasonal_indices(x, m)
    if len(figure) == 1:
        return x.astype(float), np.ones(h)
    positions = np.arange(len(x) + h) % m
    return x / figure[positions[: len(x)]], figure[positions[len(x) :]]


def ses_many(ys: list[np.ndarray], h: int) -> np.ndarray:
    """Simple exponential smoothing of many series at once: each one's last smoothed level, h
    times: (series, h). Alpha and the initial level minimise the squared one-step errors, as
    ets(ANN) fits them: for each alpha the error is quadratic in the initial level, so that has
    a closed form; alpha is searched on a grid, then on a finer one around the best."""
    alphas = np.tile(ALPHAS, (len(ys), 1))  # (series, alphas)
    for _ in range(2):
        sse, level0 = _ses_errors(ys, alphas)
        best = np.argmin(sse, axis=1)
        rows = np.arange(len(ys))
        chosen, start = alphas[rows, best], level0[rows, best]
        step = alphas[:, 1] - alphas[:, 0]
        lo = np.maximum(1e-4, chosen - step)
        hi = np.minimum(0.9999, chosen + step)
        alphas = lo[:, None] + (hi - lo)[:, None] * np.linspace(0, 1, len(ALPHAS))
    level = start
    for t, value in enumerate(_columns(ys)):
        live = t < np.array([len(y) for y in ys])
        level = np.where(live, chosen * value + (1 - chosen) * level, level)
    return np.repeat(level[:, None], h, axis=1)


def _columns(ys: list[np.ndarray]):
    """The series' values step by step, all started at their first value: (series,) each step
    (0 past a series' end)."""
    n = max(len(y) for y in ys)
    table = np.zeros((len(ys), n))
    for i, y in enumerate(ys):
        table[i, : len(y)] = y
    return table.T


def _ses_errors(ys: list[np.ndarray], alphas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each series and alpha: the least sum of squared one-step errors, and the initial
    level giving it. The forecast of y_t is a_t + b_t * level0 (a_t: with level0 = 0; b_t =
    (1 - alpha)^(t-1)), so the sums of r^2, b r and b^2 (r = y - a) settle it."""
    lengths = np.array([len(y) for y in ys])[:, None]
    a, b = np.zeros_like(alphas), np.ones_like(alphas)
    rr, br, bb = np.zeros_like(alphas), np.zeros_like(alphas), np.zeros_like(alphas)
    for t, value in enumerate(_columns(ys)):
        live = t < lengths  # (series, 1): this step is inside the series
        r = np.where(live, value[:, None] - a, 0.0)
        rr += r * r
        br += np.where(live, b * r, 0.0)
        bb += np.where(live, b * b, 0.0)
        a = alphas * value[:, None] + (1 - alphas) * a
        b = (1 - alphas) * b
    level0 = br / bb
    return rr - br * level0, level0


def theta_many(ys: list[np.ndarray], h: int) -> np.ndarray:
    """The classic Theta method: half the linear trend, half SES on the theta = 2 line."""
    lines, futures = [], []
    for y in ys:
        t = np.arange(1, len(y) + 1)
        slope, intercept = np.polyfit(t, y, 1) if len(y) > 1 else (0.0, y[0])
        lines.append(2 * y - (intercept + slope * t))
        futures.append(intercept + slope * np.arange(len(y) + 1, len(y) + h + 1))
    return 0.5 * ses_many(lines, h) + 0.5 * np.stack(futures)


def benchmarks(xs: list[np.ndarray], m: int, h: int) -> dict[str, np.ndarray]:
    """The M4 benchmarks' forecasts of the next h values of each series (season m): (series, h)
    each. A method's forecasts of a series that never went below 0 are not below 0."""
    xs = [np.asarray(x, dtype=float) for x in xs]
    split = [deseasonalise(x, m, h) for x in xs]
    des, indices = [d for d, _ in split], np.stack([i for _, i in split])
    out = {
        "Naive": np.stack([np.full(h, x[-1]) for x in xs]),
        "Seasonal naive": np.stack(
            [np.resize(x[-m:] if m > 1 and len(x) >= m else x[-1:], h) for x in xs]
        ),
        "Naive2": np.stack([np.full(h, d[-1]) for d in des]) * indices,
        "SES": ses_many(des, h) * indices,
        "Theta": theta_many(des, h) * indices,
    }
    floor = np.array([0.0 if np.all(x >= 0) else -np.inf for x in xs])[:, None]
    return {k: np.maximum(v, floor) for k, v in out.items()}
