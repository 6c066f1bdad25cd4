"""Every method across many series, the M4 way: on each series the forecasts' MASE (a
network's, the mean over its seeds), each method's rank on it (1 = best, ties sharing the mean
of their ranks), and across series the mean rank, the median MASE and a Wilcoxon signed-rank
test for each pair, Holm-corrected."""

from __future__ import annotations

import itertools

from seqpred.scoring import significance, statistical

import numpy as np

SIMPLE = ("persistence", "seasonal persistence", "seasonal mean", "drift", "linear AR")


def canonical(name: str) -> str:
    """A baseline's name across series: the look-back of the autoregression left out."""
    return "linear AR" if name.startswith("linear AR") else name


def collection_summary(reports: dict[str, dict], models: list[str]) -> dict:
    """Every method across the series: MASE, ranks, mean rank, median MASE, and the pairwise
    verdicts between the networks and against the linear autoregression (and AutoETS, where
    every series ran it), by a Wilcoxon signed-rank test on the per-series MASE, Holm-corrected.
    Seasonal persistence on a series without a season is persistence (a season of one step).
    The statistical benchmarks join the ranking where every series ran them."""
    from scipy import stats

    names = [{canonical(k) for k in r["baselines"]} for r in reports.values()]
    extra = [m for m in statistical.MODELS if all(m in n for n in names)]
    methods = [*models, *SIMPLE, *extra]
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
    references = ["linear AR", *extra[:1]]
    pairs = list(itertools.combinations(models, 2))
    pairs += [(k, ref) for ref in references for k in models]
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
    for t, q in zip(tests, significance.holm([t["p_value"] for t in tests]), strict=True):
        t["p_holm"] = q
        t["verdict"] = (
            "no significant difference"
            if q >= significance.SIGNIFICANCE
            else f"{t['first'] if t['median_difference'] < 0 else t['second']} is better"
        )
    summary["pairs"] = tests
    summary["smallest_possible_p"] = significance.smallest_wilcoxon_p(len(table), len(tests))
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
    """One series in the collection's table: its strongest baseline (chosen on the held-out
    stretch), each network's skill against it and its split and adaptive coverage (means over
    seeds), and the share of adaptive intervals capped."""
    best = r["best_baseline"]["forecast"]
    row = {
        "best_baseline": canonical(best),
        "best_baseline_mase": r["baselines"][best]["forecast_mase_mean"],
        "season": r["season"],
        "test_values": r["test_values"],
        "steps": r["steps"],
    }
    keys = (
        "forecast_mase_mean",
        "skill_forecast",
        "coverage",
        "aci_coverage",
        "aci_capped_share",
        "aci_uncapped_coverage",
    )
    beats = {
        c["first"]
        for c in r["claims"]
        if c["kind"] == "forecast"
        and c["better"] == "first"
        and c["p_holm"] < significance.SIGNIFICANCE
    }
    for k in models:
        s = r["models"][k]["summary"]
        row[k] = {key: (s.get(key) or {}).get("mean") for key in keys}
        row[k]["beats_best"] = k in beats
    return row
