"""results.md across the series of a collection: the answer in plain words, the ranking, the
tests across series, and every series in one row."""

from __future__ import annotations

from seqpred.report.tables import num, pct, table
from seqpred.scoring.significance import SIGNIFICANCE


def collection_markdown(s: dict) -> str:
    """The collection's results.md: the answer in plain words, the ranking, every series."""
    methods = sorted(s["methods"], key=lambda m: s["mean_rank"][m])
    networks = s["models"]
    n = len(s["series"])
    lines = [
        f"### Across {n} real series: the forecasts' MASE, ranked",
        "",
        *collection_verdicts(s, methods, networks),
        "",
        "On each series every method is ranked by the MASE of its forecasts from every test "
        "origin (mean over the horizons; a network's, the mean over its seeds): 1 is the best, "
        "and tied scores share the mean of their ranks. Across the series, the mean rank and "
        "the median MASE, as the M4 competition summarised its methods. ranks.png draws the "
        "ranks series by series.",
        "",
        *table(
            ["method", "mean rank", "median MASE", "best on"],
            [
                [
                    m,
                    f"{s['mean_rank'][m]:.2f}",
                    num(s["median_mase"][m]),
                    str(sum(s["ranks"][x][m] == min(s["ranks"][x].values()) for x in s["series"])),
                ]
                for m in methods
            ],
        ),
        "",
        "### Is a difference real across the series?",
        "",
        f"A Wilcoxon signed-rank test on the {n} per-series MASE of each pair (scipy), "
        f"Holm-corrected over the {len(s['pairs'])} tests. With {n} series the smallest "
        f"Holm-adjusted p these tests can reach is {s['smallest_possible_p']:.3g}"
        + (
            ": **no verdict is possible at the 5 % level, whatever the numbers**; it takes more "
            "series."
            if s["smallest_possible_p"] >= SIGNIFICANCE
            else "."
        )
        + " The counts say on how many series each side had the lower MASE.",
        "",
        *table(
            ["pair", "median Δ MASE", "lower on (first / second)", "p (Holm)", "verdict"],
            [
                [
                    f"{t['first']} − {t['second']}",
                    num(t["median_difference"]),
                    f"{t['first_better']} / {t['second_better']}",
                    num(t["p_holm"], ".2g"),
                    t["verdict"],
                ]
                for t in s["pairs"]
            ],
        ),
        "",
        "### Series by series",
        "",
        "Each series' forecast MASE per network (mean over seeds), the strongest baseline on "
        "that series (chosen on its held-out stretch) and each network's skill against it (1 − "
        "MAE / the baseline's MAE; above 0, the network is ahead; *beats* only where that "
        "series' Diebold–Mariano test says so for every seed, Holm-corrected), the "
        "split-conformal and adaptive coverage of the nominal intervals (– where the held-out "
        "stretch had too few origins for the level), and the share of adaptive intervals "
        "capped where plain ACI's would be infinite. Each series' own tables and figures are "
        "in its folder.",
        "",
        *series_table(s, networks),
    ]
    return "\n".join(lines) + "\n"


def collection_verdicts(s: dict, methods: list[str], networks: list[str]) -> list[str]:
    """The collection's answer to the article's question, and to networks against baselines."""
    rank = s["mean_rank"]
    best_net = min(networks, key=rank.get)
    order = " < ".join(f"{m} {rank[m]:.2f}" for m in sorted(networks, key=rank.get))
    first = methods[0]
    lines = [
        f"- Among the networks, by mean rank (lower is better): {order}.",
        f"- The best method overall is **{first}** (mean rank {rank[first]:.2f}, median MASE "
        f"{num(s['median_mase'][first])})"
        + (
            "."
            if first in networks
            else f": no network ranks above it; the best network, "
            f"{best_net}, has mean rank {rank[best_net]:.2f}."
        ),
    ]
    ar = s["mase"]
    beats_ar = {k: sum(ar[x][k] < ar[x]["linear AR"] for x in s["series"]) for k in networks}
    lines.append(
        "- Against the linear autoregression over the same window, each network has the lower "
        "MASE on "
        + ", ".join(f"{k} {v}" for k, v in beats_ar.items())
        + f" of the {len(s['series'])} series."
    )
    rows = s["per_series"]
    wins = {x: [k for k in networks if rows[x][k].get("beats_best")] for x in s["series"]}
    none = [x for x in s["series"] if not wins[x]]
    if none:
        which = ", ".join(f"{x} ({rows[x]['best_baseline']})" for x in none)
        lines.append(
            f"- On {len(none)} of {len(s['series'])} series no network beats the strongest "
            f"baseline over the forecasts (Diebold–Mariano on every seed, Holm-corrected): "
            f"{which}."
        )
    found = [t for t in s["pairs"] if t["p_holm"] < SIGNIFICANCE]
    lines.append(
        "- No pairwise difference across the series is significant after Holm's correction."
        if not found
        else "- Significant after Holm's correction: "
        + "; ".join(f"{t['first']} vs {t['second']}: {t['verdict']}" for t in found)
        + "."
    )
    return lines


def series_table(s: dict, networks: list[str]) -> list[str]:
    head = ["series", "season", "H", "strongest baseline (MASE)"]
    head += [f"{k} MASE / skill / coverage split, adaptive (capped)" for k in networks]
    rows = []
    for name in s["series"]:
        row = s["per_series"][name]
        cells = [
            name,
            str(row["season"] or "–"),
            str(row["steps"]),
            f"{row['best_baseline']} ({num(row['best_baseline_mase'])})",
        ]
        for k in networks:
            v = row[k]
            mase = num(v["forecast_mase_mean"])
            cells.append(
                f"{f'**{mase}** (beats)' if v.get('beats_best') else mase} / "
                f"{num(v['skill_forecast'], '.2f')} / {pct(v['coverage'])}, "
                f"{pct(v['aci_coverage'])} ({pct(v['aci_capped_share'])})"
            )
        rows.append(cells)
    return table(head, rows)
