"""Prediction intervals around a forecaster's forecasts, calibrated on data it never trained on.

- Split conformal, per horizon: the forecast ± the ⌈(n+1)·level⌉-th smallest absolute error of
  the n calibration origins (the held-out end of the training period) whose target at that
  horizon lies inside it. Valid when the errors are exchangeable; no interval at all (NaN) where
  too few origins exist for the level.
- Adaptive conformal inference (ACI; Gibbs & Candès 2021) on the same forecasts, walking the
  test origins in time order: after each target it learns, the miscoverage level alpha_t moves
  by `step` × (the nominal miscoverage − the miss), so that misses occur at the nominal rate in
  the long run whatever the shift. Where alpha_t falls to 0 or below, or the level needs more
  errors than are known, ACI's interval is the whole real line. Counted as a hit, such an
  interval makes coverage look nominal while saying nothing. Here it is capped instead at the
  largest absolute error known at that origin: the widest interval the evidence supports. It is
  the rule of MAPIE's ACI (MapieTimeSeriesRegressor) unless allow_infinite_bounds is set: the
  corrected level is clipped at 1, so the quantile is the largest score. A capped interval can
  miss (a new largest error), and it counts as it fared; the report gives the share capped and
  the coverage of the rest beside every coverage figure.
"""

from __future__ import annotations

import bisect
import math

from seqpred.scoring.significance import SIGNIFICANCE, holm

import numpy as np

# Step size gamma of ACI: each miss widens, each hit narrows the next interval by this much of
# the miscoverage level. Gibbs & Candès use 0.005 over thousands of steps; a test period of a
# hundred origins needs a faster one to adapt at all.
ACI_STEP = 0.05


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
    """ACI over the test origins in time order, each horizon h on its own.

    At origin t the interval is pred ± the conformal quantile, at level 1 - alpha_t, of the
    calibration scores and of the test scores already known: those of origins up to t - h (their
    targets lie before t). alpha_t starts at 1 - level and moves by step × (1 - level - miss)
    each time a miss becomes known. Returns the half-widths (n_origins, steps) and where they
    were capped at the largest known error (ACI's infinite intervals; see the module's note).
    """
    pred, truth = np.asarray(pred, dtype=float), np.asarray(truth, dtype=float)
    n, steps = pred.shape
    target = 1 - level
    half, capped = np.empty((n, steps)), np.zeros((n, steps), dtype=bool)
    for j in range(steps):
        known = [float(v) for v in cal_scores[j]]  # sorted; plain floats: a fast inner loop
        scores = np.abs(pred[:, j] - truth[:, j]).tolist()
        alpha, missed = target, []
        for t in range(n):
            if t - j - 1 >= 0:  # origin t - h's target is now known: learn from it
                bisect.insort(known, scores[t - j - 1])
                alpha += step * (target - missed[t - j - 1])
            width = conformal_quantile(known, 1 - alpha) if alpha > 0 else math.inf
            if math.isinf(width) and known:
                width, capped[t, j] = known[-1], True
            half[t, j] = width
            missed.append(scores[t] > width)
    return half, capped


def coverage(pred, truth, half, defined, capped=None) -> dict:
    """Share of test values inside pred ± half, per horizon and over the horizons that have an
    interval (`defined`, named in "horizons"; None elsewhere); each horizon's mean width; and,
    for capped intervals (`capped`, as `half`), their share and the coverage of the others.

    An infinite interval never counts as covering: it is reported as such (capped intervals are
    finite, and count as they fared)."""
    pred, truth = np.asarray(pred, dtype=float), np.asarray(truth, dtype=float)
    half = np.broadcast_to(np.asarray(half, dtype=float), pred.shape)
    capped = np.zeros(pred.shape, bool) if capped is None else np.asarray(capped, bool)
    defined = np.asarray(defined, bool) & (len(pred) > 0)
    inside = (np.abs(pred - truth) <= half) & np.isfinite(half)
    per_h = [float(inside[:, j].mean()) if ok else None for j, ok in enumerate(defined)]
    widths = [float(np.mean(2 * half[:, j])) if ok else None for j, ok in enumerate(defined)]
    use = np.zeros(pred.shape, bool)
    use[:, defined] = True
    plain = use & ~capped
    have = bool(use.any())
    return {
        "coverage": float(inside[use].mean()) if have else None,
        "coverage_per_h": per_h,
        "width_per_h": widths,
        "mean_width": float(np.mean(2 * half[use])) if have else None,
        "horizons": [j + 1 for j, ok in enumerate(defined) if ok],
        "capped_share": float(capped[use].mean()) if have else None,
        "uncapped_coverage": float(inside[plain].mean()) if plain.any() else None,
        "infinite_share": float(np.mean(~np.isfinite(half[use]))) if have else None,
    }


def below_nominal(per_h: list, n: int, level: float) -> list[int]:
    """The horizons (1-based) whose coverage over n origins falls below `level` by more than
    binomial noise (one-sided p < SIGNIFICANCE, Holm-corrected over the horizons)."""
    from scipy import stats

    tested = [(j + 1, c) for j, c in enumerate(per_h) if c is not None and n > 0]
    p = [stats.binomtest(round(c * n), n, level, alternative="less").pvalue for _, c in tested]
    adjusted = holm(p)
    return [h for (h, _), q in zip(tested, adjusted, strict=True) if q < SIGNIFICANCE]
