"""Scores as the forecasting competitions computed them, over many series of one horizon:
sMAPE (M3, M4), MASE (M4, Tourism), MAPE (Tourism) and OWA (M4: the mean of sMAPE and MASE,
each relative to Naive2's); then whether a difference across series is real: Wilcoxon
signed-rank tests with Holm's correction, and mean ranks with Friedman's test and Nemenyi's
critical difference."""

from __future__ import annotations

import warnings

from seqpred.scoring.significance import holm

import numpy as np
from scipy import stats

TEST_KEYS = ("a", "b", "median_difference", "p", "p_holm")


def smape(y: np.ndarray, f: np.ndarray) -> np.ndarray:
    """200 |y - f| / (|y| + |f|), element by element; 0 where both are 0."""
    denominator = np.abs(y) + np.abs(f)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, 200 * np.abs(y - f) / denominator, 0.0)


def mape(y: np.ndarray, f: np.ndarray) -> np.ndarray:
    """100 |y - f| / |y|, element by element; NaN where y is 0 (undefined)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(y != 0, 100 * np.abs(y - f) / np.abs(y), np.nan)


def mase_scale(x: np.ndarray, m: int) -> float:
    """The in-sample mean absolute error of the seasonal naive forecast (naive for m = 1)."""
    lag = m if len(x) > m else 1
    return float(np.mean(np.abs(x[lag:] - x[:-lag]))) if len(x) > lag else float("nan")


def scores(test: np.ndarray, forecast: np.ndarray, scales: np.ndarray) -> dict:
    """Per series (rows) and horizon (columns): sMAPE, MAPE and scaled absolute error."""
    with np.errstate(invalid="ignore", divide="ignore"):
        scaled = np.abs(test - forecast) / scales[:, None]
    return {"smape": smape(test, forecast), "mape": mape(test, forecast), "mase": scaled}


def summary(s: dict, naive2: dict | None) -> dict:
    """Means over series and horizons, per horizon, and the OWA against Naive2's scores."""
    out = {k: float(np.nanmean(v)) for k, v in s.items()}
    out["smape_by_horizon"] = np.nanmean(s["smape"], axis=0).tolist()
    out["mape_undefined"] = int(np.isnan(s["mape"]).sum())
    if naive2 is not None:
        ratio_s = out["smape"] / float(np.nanmean(naive2["smape"]))
        ratio_m = out["mase"] / float(np.nanmean(naive2["mase"]))
        out["owa"] = 0.5 * (ratio_s + ratio_m)
    return out


def wilcoxon_pairs(per_series: dict[str, np.ndarray], pairs: list[tuple[str, str]]) -> list:
    """Each pair's Wilcoxon signed-rank test on the series' errors (two-sided), Holm-adjusted:
    (a, b, median of a - b, p, adjusted p)."""
    rows = []
    for a, b in pairs:
        d = per_series[a] - per_series[b]
        d = d[np.isfinite(d)]
        p = float(stats.wilcoxon(d).pvalue) if np.any(d != 0) else 1.0
        rows.append([a, b, float(np.median(d)), p])
    adjusted = holm([r[3] for r in rows])
    return [(*r, float(q)) for r, q in zip(rows, adjusted, strict=True)]


def ranks(per_series: dict[str, np.ndarray]) -> dict:
    """Mean rank of each method across series (1 = best), Friedman's p and Nemenyi's critical
    difference at 5 % (Demsar 2006): ranks further apart than it differ significantly."""
    names = list(per_series)
    table = np.column_stack([per_series[k] for k in names])
    table = table[np.all(np.isfinite(table), axis=1)]
    n, k = table.shape
    r = stats.rankdata(table, axis=1).mean(axis=0)
    p = float(stats.friedmanchisquare(*table.T).pvalue) if k >= 3 and n >= 2 else float("nan")
    q = stats.studentized_range.ppf(0.95, k, 1e6) / np.sqrt(2) if k >= 2 else float("nan")
    cd = float(q * np.sqrt(k * (k + 1) / (6 * n))) if n else float("nan")
    return {
        "mean_rank": dict(zip(names, r.tolist(), strict=True)),
        "friedman_p": p,
        "cd": cd,
        "series": n,
    }


def evaluate(
    panel, val_target: np.ndarray, val: dict, test: dict, groups: dict, metric: str = "smape"
) -> dict:
    """Every method's scores on the validation split and the test, from their forecasts
    ({name: (series, h)}); groups: {name: "network"/"seed"/"benchmark"}. The benchmark
    called strongest is the one with the lowest validation sMAPE: chosen before the test."""
    m = panel.season
    val_scales = np.array([mase_scale(x[: -panel.horizon], m) for x in panel.train])
    test_scales = np.array([mase_scale(x, m) for x in panel.train])
    naive2_val = scores(val_target, val["Naive2"], val_scales)
    naive2_test = scores(panel.test, test["Naive2"], test_scales)
    methods, per_series = {}, {}
    for name, forecast in test.items():
        s = scores(panel.test, forecast, test_scales)
        methods[name] = {
            "group": groups[name],
            "test": summary(s, naive2_test),
            "validation": summary(scores(val_target, val[name], val_scales), naive2_val),
        }
        with warnings.catch_warnings():  # MAPE: a series whose test is all 0 has none
            warnings.simplefilter("ignore", RuntimeWarning)
            per_series[name] = np.nanmean(s[metric], axis=1)
    benchmarks = [k for k, g in groups.items() if g == "benchmark"]
    best = min(benchmarks, key=lambda k: methods[k]["validation"][metric])
    networks = [k for k, g in groups.items() if g == "network"]
    pairs = [(a, b) for i, a in enumerate(networks) for b in networks[i + 1 :]]
    named = [b for b in dict.fromkeys([best, "Theta", "Naive2"]) if b in test]
    pairs += [(a, b) for b in named for a in networks]
    tests = wilcoxon_pairs(per_series, pairs) if len(panel.ids) >= 2 else []
    ranked = ranks({k: per_series[k] for k in [*networks, *benchmarks]})
    return {
        "methods": methods,
        "best_benchmark": best,
        "tests": [dict(zip(TEST_KEYS, t, strict=True)) for t in tests],
        "ranks": ranked,
        "per_series_smape": {k: v.tolist() for k, v in per_series.items()},
    }
