"""Is a difference real? The tests behind every "beats", and Holm's correction over all the
claims of a report.

- Diebold–Mariano (1995) with the Harvey–Leybourne–Newbold (1997) small-sample correction, on
  the loss differential of two forecasters over the same origins: one-step absolute errors
  (h = 1), or each origin's mean absolute error over its H steps (h = H: the forecasts of
  overlapping origins share errors, so the differential is autocorrelated up to lag H - 1).
- Across seeds, an intersection–union test (Berger 1982): "A beats B" is claimed for every seed
  at once, so its p-value is the largest of the seeds' one-sided p-values, doubled because the
  direction is the one the data pointed to. It needs no assumption about how the seeds' runs
  depend on each other, and one seed that does not beat B is enough to withhold the claim.
- Holm (1979) over every claim a report makes, which keeps the chance of any false "beats" at 5 %.
"""

from __future__ import annotations

import math

import numpy as np

SIGNIFICANCE = 0.05


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


def long_run_variance(d: np.ndarray, h: int) -> float:
    """The variance of the mean of d, times n: autocovariances up to lag h - 1 (the truncated,
    rectangular estimator of Diebold & Mariano); where that is not positive (it can happen at
    long horizons), the Bartlett-weighted one (Newey & West 1987), which always is."""
    n = len(d)
    centred = d - d.mean()
    gammas = [float(np.dot(centred[k:], centred[: n - k])) / n for k in range(min(h, n))]
    variance = gammas[0] + 2 * sum(gammas[1:])
    if variance <= 0:
        variance = gammas[0] + 2 * sum((1 - k / h) * g for k, g in enumerate(gammas) if k)
    return variance


def diebold_mariano(loss1, loss2, h: int = 1) -> dict:
    """The Diebold–Mariano test of equal expected loss, Harvey–Leybourne–Newbold corrected; p
    from Student's t with n - 1 degrees of freedom. A negative statistic: the first forecaster
    has the smaller losses. No test (statistic 0, p 1) where the losses never differ or too few
    origins remain for the horizon (n + 1 - 2h + h(h - 1)/n must be positive).

    Returns the statistic, the two-sided p and each one-sided p ("p_first": the first is
    better; "p_second": the second is), the number of origins and the mean differential."""
    from scipy import stats  # only when a test is run: scipy is slow to import

    d = np.asarray(loss1, dtype=float) - np.asarray(loss2, dtype=float)
    n = len(d)
    out = {"statistic": 0.0, "p_value": 1.0, "p_first": 1.0, "p_second": 1.0, "n": n}
    out["mean"] = float(d.mean()) if n else 0.0
    correction = (n + 1 - 2 * h + h * (h - 1) / n) / n if n else 0.0
    variance = long_run_variance(d, h) if n >= 2 else 0.0
    if n < 2 or variance <= 0 or correction <= 0:
        return out
    dm = d.mean() / math.sqrt(variance / n) * math.sqrt(correction)
    out.update(
        statistic=float(dm),
        p_value=float(2 * stats.t.sf(abs(dm), n - 1)),
        p_first=float(stats.t.cdf(dm, n - 1)),
        p_second=float(stats.t.sf(dm, n - 1)),
    )
    return out


def across_seeds(tests: list[dict]) -> dict:
    """One claim from each seed's Diebold–Mariano test: the direction the seeds' mean
    differential points to ("first" or "second" is better), and the intersection–union
    p-value that every seed agrees, doubled for the direction chosen from the data."""
    if not tests:
        return {"better": None, "p_value": None}
    better = "first" if np.mean([t["mean"] for t in tests]) < 0 else "second"
    worst = max(t[f"p_{better}"] for t in tests)
    return {"better": better, "p_value": min(1.0, 2 * worst)}


def paired_difference(a: list[float], b: list[float]) -> dict:
    """Mean of a - b over paired seeds, with its 95 % t confidence interval (for reading)."""
    from scipy import stats

    diff = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    n, mean = len(diff), float(np.mean(diff))
    if n < 2:
        return {"mean": mean, "low": None, "high": None, "n": n}
    sem = float(np.std(diff, ddof=1)) / math.sqrt(n)
    half = float(stats.t.ppf(1 - SIGNIFICANCE / 2, n - 1)) * sem
    return {"mean": mean, "low": mean - half, "high": mean + half, "n": n}


def smallest_wilcoxon_p(n: int, tests: int) -> float:
    """The smallest Holm-adjusted p a two-sided exact Wilcoxon test on n pairs can give among
    `tests` tests: 2 / 2^n, times the number of tests. Above 0.05, no verdict is possible."""
    return min(1.0, tests * 2.0 / 2**n) if n else 1.0
