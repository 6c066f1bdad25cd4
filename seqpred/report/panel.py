"""The report of a competition or panel: what the numbers say in plain words, then the table
beside the published results, the tests across series, the ranks and how the networks were
trained (results.md); everything in results.json."""

from __future__ import annotations

from pathlib import Path

from seqpred.fileio import write_json, write_text
from seqpred.report.tables import num, table

# Published mean sMAPE over the 18 horizons on M3's 1428 monthly series, as the issue that asked
# for this view quotes them: the M3 competition's (Makridakis & Hibon 2000, IJF 16(4)) and
# N-BEATS' (Oreshkin et al. 2020, ICLR).
LABELS = {"smape": "sMAPE", "mape": "MAPE"}
PUBLISHED = {
    "m3-monthly": [
        ("Naive2", 16.91, "Makridakis & Hibon (2000)"),
        ("ARIMA (B-J automatic)", 14.81, "Makridakis & Hibon (2000)"),
        ("Comb S-H-D", 14.48, "Makridakis & Hibon (2000)"),
        ("ForecastPro", 13.86, "Makridakis & Hibon (2000)"),
        ("Theta", 13.85, "Makridakis & Hibon (2000)"),
        ("N-BEATS", 13.11, "Oreshkin et al. (2020)"),
    ],
}


def result_json(
    result: dict, panel, s, job, tried: dict, runs: list, wall, memory, metric: str
) -> dict:
    """The evaluation with what made it: data, settings, runs (without their forecasts)."""
    return {
        "dataset": s.data.dataset,
        "source": panel.source,
        "series": len(panel.ids),
        "horizon": panel.horizon,
        "season": panel.season,
        "look_back": job.look_back,
        "windows": len(job.x),
        "strategy": job.strategy,
        "metric": metric,
        "deseasonalised": job.deseasonalise,
        "deseasonalise_asked": s.data.deseasonalise,
        "validation_smape_linear_ar": tried,
        "log_scale": job.val.log,
        "train": {
            "epochs": job.train.epochs,
            "batch_size": job.train.batch_size,
            "lr": job.train.lr,
            "hidden_sizes": s.runs.hidden_sizes,
            "impl": job.train.impl,
            "loss": "mean absolute error, on the log scale",
        },
        "seeds": s.runs.seed_list(s.train.seed),
        "models": list(s.runs.models),
        **result,
        "published": [
            {"method": m, "smape": v, "source": src}
            for m, v, src in PUBLISHED.get(s.data.dataset, [])
        ],
        "runs": [{k: v for k, v in r.items() if not k.endswith("_forecast")} for r in runs],
        "wall_seconds": wall,
        "peak_memory_mb": memory,
        "command": s.command,
    }


def networks(r: dict) -> list[str]:
    return [k for k, m in r["methods"].items() if m["group"] == "network"]


def findings(r: dict) -> list[str]:
    """What the numbers say, in plain words. Which of two methods is better across series is
    the Wilcoxon test's: the median series' difference, which may point the other way than the
    difference of the means."""
    k, label = r["metric"], LABELS[r["metric"]]
    test = {name: m["test"] for name, m in r["methods"].items()}
    nets = sorted(networks(r), key=lambda name: test[name][k])
    if not nets:
        return ["No network run has finished yet."]
    best, strongest = nets[0], r["best_benchmark"]
    tests = {(t["a"], t["b"]): (t["p_holm"], t["median_difference"]) for t in r["tests"]}
    tests.update({(b, a): (q, -m) for (a, b), (q, m) in list(tests.items())})

    def verdict(a: str, b: str) -> str:
        q, m = tests.get((a, b), (None, 0.0))
        if q is None or q >= 0.05:
            return f"no significant difference across series (Wilcoxon, Holm p = {num(q, '.2g')})"
        return (
            f"across series {a if m < 0 else b} is lower on the median series, by "
            f"{abs(m):.2f} (Wilcoxon, Holm p = {q:.2g})"
        )

    lines = [
        f"The best cell on average is **{best}**: {label} {test[best][k]:.2f}, OWA "
        f"{num(test[best].get('owa'))}."
    ]
    for other in nets[1:]:
        lines.append(
            f"{other}: {label} {test[other][k]:.2f} ({test[other][k] - test[best][k]:+.2f}"
            f" on average); {verdict(best, other)}."
        )
    for name in ("Theta", "Naive2"):
        if name in test:
            d = test[best][k] - test[name][k]
            lines.append(
                f"Against {name} ({label} {test[name][k]:.2f}): {best} is {abs(d):.2f} "
                f"{'lower' if d < 0 else 'higher'} on average; {verdict(best, name)}."
            )
    beaten = [
        n
        for n in nets
        if tests.get((n, strongest), (1, 0))[0] < 0.05 and tests[(n, strongest)][1] < 0
    ]
    lines.append(
        f"The strongest benchmark on the validation split is {strongest} ({label} "
        f"{test[strongest][k]:.2f} on the test): "
        + (
            f"{', '.join(beaten)} beat{'s' if len(beaten) == 1 else ''} it across series."
            if beaten
            else "no network beats it across series."
        )
    )
    bench = [n for n, m in r["methods"].items() if m["group"] == "benchmark"]
    hindsight = min(bench, key=lambda n: test[n][k])
    if hindsight != strongest:
        lines.append(
            f"In hindsight, on the test itself, {hindsight} was the strongest benchmark "
            f"({label} {test[hindsight][k]:.2f})."
        )
    for m, v, src in [(x["method"], x["smape"], x["source"]) for x in r["published"]]:
        if m in ("Theta", "N-BEATS"):
            lines.append(
                f"Published: {m} sMAPE {v} ({src}); here {best} sMAPE {test[best]['smape']:.2f}."
            )
    return lines


def method_rows(r: dict) -> list[list[str]]:
    rows = []
    for name, m in r["methods"].items():
        t = m["test"]
        rows.append(
            [
                name,
                m["group"],
                f"{t['smape']:.2f}",
                num(t["mase"]),
                num(t.get("owa")),
                num(t["mape"], ".2f"),
                f"{m['validation'][r['metric']]:.2f}",
            ]
        )
    rows.sort(key=lambda row: float(row[5 if r["metric"] == "mape" else 2]))
    return rows + [
        [f"{m} (published)", x, f"{v:.2f}", "–", "–", "–", "–"]
        for m, v, x in [(p["method"], p["smape"], p["source"]) for p in r["published"]]
    ]


def markdown(r: dict, note: str = "") -> str:
    ranks = r["ranks"]
    lines = [
        f"# One global RNN, LSTM and GRU on {r['source']}",
        "",
        note + "## What the numbers say",
        "",
        *[f"- {x}" for x in findings(r)],
        "",
        f"## Scores on the test (the competition's hold-out, horizon {r['horizon']})",
        "",
        "Mean over series and horizons. OWA: the mean of sMAPE and MASE, each divided by "
        "Naive2's. Validation: the same score on each training part's last "
        f"{r['horizon']} values, where every choice was made.",
        "",
        *table(
            ["method", "kind", "sMAPE", "MASE", "OWA", "MAPE", f"validation {LABELS[r['metric']]}"],
            method_rows(r),
        ),
        "",
        "## Is the difference real?",
        "",
        f"Wilcoxon signed-rank tests on the {r['series']} series' {LABELS[r['metric']]}, "
        f"two-sided, Holm-corrected; the strongest benchmark ({r['best_benchmark']}) chosen "
        "on validation.",
        "",
        *table(
            ["a", "b", "median of a − b", "p", "Holm p"],
            [
                [
                    t["a"],
                    t["b"],
                    f"{t['median_difference']:+.3f}",
                    num(t["p"], ".2g"),
                    num(t["p_holm"], ".2g"),
                ]
                for t in r["tests"]
            ],
        ),
        "",
        f"Mean ranks (1 = best) over {ranks['series']} series: Friedman p = "
        f"{num(ranks['friedman_p'], '.2g')}; Nemenyi's critical difference at 5 %: "
        f"{num(ranks['cd'], '.3f')} (methods further apart differ significantly).",
        "",
        *table(
            ["method", "mean rank"],
            [[k, f"{v:.2f}"] for k, v in sorted(ranks["mean_rank"].items(), key=lambda kv: kv[1])],
        ),
        "",
        "![sMAPE by horizon](smape_by_horizon.png)",
        "",
        "![Critical-difference diagram](cd_diagram.png)",
        "",
        "![Sample forecasts](forecasts.png)",
        "",
        "## How the networks were trained",
        "",
        *setup_lines(r),
    ]
    return "\n".join(lines) + "\n"


def setup_lines(r: dict) -> list[str]:
    t = r["train"]
    tried = r["validation_smape_linear_ar"]
    des = (
        "each seasonal series divided by its seasonal indices (the M4 test and decomposition)"
        if r["deseasonalised"]
        else "not deseasonalised"
    )
    why = (
        f" (validation sMAPE of the global linear AR: {tried['yes']:.2f} deseasonalised, "
        f"{tried['no']:.2f} not; --deseasonalise {r['deseasonalise_asked']})"
        if tried
        else ""
    )
    epochs = ", ".join(f"{x['model']} seed {x['seed']}: {x['best_epoch']}" for x in r["runs"])
    return [
        f"- One model per (cell, seed), on {r['windows']} windows of {r['look_back']} values from "
        "every series' training part less its last horizon (the validation split); a window "
        "reaching before a series' start is padded with its first value.",
        f"- Scale: {des}{why}; then "
        + ("log(1 + x)" if r["log_scale"] else "divided by the mean size")
        + ", minus the window's last value.",
        f"- {r['strategy']} forecasts of {r['horizon']} values; loss {t['loss']}; Adam, lr "
        f"{t['lr']:g}, batch {t['batch_size']}, hidden sizes {t['hidden_sizes']}, {t['epochs']} "
        f"epochs, run by {t['impl']}; the epoch with the lowest validation sMAPE kept ({epochs}).",
        f"- The ensemble of a cell: the median of its seeds' forecasts. Seeds {r['seeds']}.",
        "- Benchmarks: Naive, Seasonal naive, Naive2, SES and Theta as the M4 competition's code "
        "defines them, and the global linear AR on the same windows. Prediction intervals and "
        "statsforecast's models are not part of this view.",
        f"- {r['wall_seconds']:.0f} s in all; peak memory {num(r['peak_memory_mb'], '.0f')} MB.",
        f"- Made by `{r['command']}`.",
    ]


def write(r: dict, out_dir, note: str = "") -> list[Path]:
    out = Path(out_dir)
    return [write_json(out / "results.json", r), write_text(out / "results.md", markdown(r, note))]


def terminal_summary(path) -> str:
    return "Every table, test and figure: " + str(path)
