"""What a sceptical forecaster would say first, in plain words, from a scored comparison:
whether any network beats the strongest baseline and whether another network (each "beats"
with its test and Holm-adjusted p), whether the intervals cover, and the classic failures that
look fine on a plot (a lagged or seasonal copy, a missed trend, a flat forecast)."""

from __future__ import annotations

from seqpred.scoring import intervals, metrics
from seqpred.scoring.evaluation import MIN_SEEDS
from seqpred.scoring.significance import SIGNIFICANCE

import numpy as np

WORDS = {"one_step": "one step ahead", "forecast": "over the {steps}-step forecasts"}
MAE_KEY = {"one_step": "one_step_mae", "forecast": "forecast_mae_mean"}


def verdicts(report: dict) -> list[str]:
    """Every plain-words line of a comparison, the most important first."""
    out = baseline_verdicts(report) + pair_verdicts(report) + benchmark_notes(report)
    for kind, m in report["models"].items():
        out += coverage_verdicts(kind, m["runs"], report)
        out += lag_verdicts(kind, m["runs"], report)
        flat = [s for s in m["runs"] if s["forecast_flat"]]
        if flat:
            out.append(
                f"{kind}: in {len(flat)} of {len(m['runs'])} seeds the {report['steps']}-step "
                f"forecast from test index {report['start']} is flat (its spread is under "
                f"{metrics.FLAT_RATIO:.0%} of the truth's)"
            )
    return out


def significant(c: dict) -> bool:
    return c.get("p_holm") is not None and c["p_holm"] < SIGNIFICANCE


def holm_words(c: dict) -> str:
    return f"Diebold–Mariano on every seed, Holm p = {p_text(c['p_holm'])}"


def shown(report: dict, mae: float) -> str:
    """An MAE as MASE where the series gives it a scale."""
    scale = report["mase_scale"]
    return f"MASE {mae / scale:.3g}" if scale > 0 else f"MAE {mae:.3g}"


def baseline_verdicts(report: dict) -> list[str]:
    """Does any network beat the strongest baseline, one step ahead and over the forecasts?
    "beats" only where the test says so for every seed, after Holm's correction; one line per
    question, which also names the strongest on the test in hindsight where that differs."""
    lines = []
    held_out = report["best_baseline"].get("chosen_on") == "validation"
    chosen = (
        f"the strongest on the {report.get('validation_values', '')}-value held-out stretch"
        if held_out
        else "the strongest on the test period itself, in hindsight: no stretch was held out"
    )
    for kind, key in MAE_KEY.items():
        words = WORDS[kind].format(steps=report["steps"])
        name = report["best_baseline"][kind]
        base_mae = report["baselines"][name][key]
        claims = {c["first"]: c for c in report["claims"] if c["kind"] == kind}
        mae = {k: report["models"][k]["summary"][key]["mean"] for k in claims}
        groups = {"wins": [], "loses": [], "ahead": [], "behind": []}
        for k, c in claims.items():
            if significant(c):
                groups["wins" if c["better"] == "first" else "loses"].append(k)
            else:
                groups["ahead" if mae[k] < base_mae else "behind"].append(k)
        head = f"{name} {words} ({shown(report, base_mae)}; {chosen})"
        if groups["wins"]:
            worst_p = max(claims[k]["p_holm"] for k in groups["wins"])
            verb = "beats" if len(groups["wins"]) == 1 else "beat"
            parts = [
                f"{listed(report, groups['wins'], mae)} {verb} {head}: Diebold–Mariano on every "
                f"seed, Holm p {at_most(worst_p)}"
            ]
        else:
            parts = [f"No network beats {head}"]
        if groups["loses"]:
            worst_p = max(claims[k]["p_holm"] for k in groups["loses"])
            parts.append(
                f"it beats {listed(report, groups['loses'], mae)}, on every seed "
                f"(Diebold–Mariano, Holm p {at_most(worst_p)})"
            )
        for k in groups["ahead"]:
            runs = report["models"][k]["runs"]
            below = sum(r[key] < base_mae for r in runs)
            parts.append(
                f"{k} is ahead of it on average ({shown(report, mae[k])}; on {below} of "
                f"{len(runs)} seeds), not significant (Diebold–Mariano, Holm p = "
                f"{claims[k]['p_holm']:.2g})"
            )
        if groups["behind"]:
            least = min(claims[k]["p_holm"] for k in groups["behind"])
            parts.append(
                f"{listed(report, groups['behind'], mae)} "
                f"{'is' if len(groups['behind']) == 1 else 'are'} behind it, not significantly "
                f"(Holm p {'=' if least >= 1 else '≥'} {least:.2g})"
            )
        hindsight = min(report["baselines"], key=lambda b: report["baselines"][b][key])
        if held_out and hindsight != name:
            parts.append(
                f"in hindsight, on the test itself, {hindsight} was stronger "
                f"({shown(report, report['baselines'][hindsight][key])})"
            )
        lines.append("; ".join(parts) + ".")
    return lines


def at_most(p: float) -> str:
    return f"= {p:.2g}" if p >= 1 else f"≤ {p_text(p)}"


def p_text(p: float) -> str:
    """A p-value as the reader needs it: below 1e-16 no digit means anything."""
    return "1e-16" if p < 1e-16 else f"{p:.2g}"


def listed(report: dict, kinds: list[str], mae: dict) -> str:
    """'RNN (MASE 1.45), LSTM (MASE 1.48) and GRU (MASE 1.47)'."""
    items = [f"{k} ({shown(report, mae[k])})" for k in kinds]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def pair_verdicts(report: dict) -> list[str]:
    """Between the networks: a verdict only from MIN_SEEDS seeds or more, and a "beats" only
    where the test says so for every seed, after Holm's correction."""
    pairs = report["pairs"]
    if not pairs:
        return []
    seeds = min(len(p["seeds"]) for p in pairs)
    if seeds < MIN_SEEDS:
        return [
            f"No verdict between the networks: {seeds} seed(s) each; a claim that one cell "
            f"beats another needs at least {MIN_SEEDS} (--seeds {MIN_SEEDS})."
        ]
    claims = [c for p in pairs for c in p["claims"]]
    found = [c for c in claims if significant(c)]
    lines = []
    for c in found:
        winner, loser = (
            (c["first"], c["second"]) if c["better"] == "first" else (c["second"], c["first"])
        )
        words = WORDS[c["kind"]].format(steps=report["steps"])
        lines.append(f"{winner} beats {loser} {words}: {holm_words(c)}.")
    if not found:
        smallest = min(c["p_holm"] for c in claims)
        lines.append(
            "No network beats another, one step ahead or over the forecasts (Diebold–Mariano "
            f"on every seed, Holm-corrected; the smallest p is {smallest:.2g})."
        )
    return lines


def benchmark_notes(report: dict) -> list[str]:
    """The statistical benchmarks that could not run, and why."""
    note = report.get("benchmarks") or {}
    lines = [f"{note['missing']}."] if note.get("missing") else []
    lines += [
        f"{name} could not be fitted on this series ({why}); it is left out."
        for name, why in (note.get("failed") or {}).items()
    ]
    return lines


def coverage_verdicts(kind: str, runs: list[dict], report: dict) -> list[str]:
    """Horizons whose coverage falls below nominal by more than binomial noise, in any seed;
    intervals that miss less than half as often as the nominal level allows (valid, but wider
    than they need to be); and adaptive intervals capped where ACI's would be infinite."""
    lines = []
    for method, words in (("split", "split-conformal"), ("adaptive", "adaptive")):
        flagged, seeds, covered, capped = set(), 0, [], []
        level = None
        for r in runs:
            iv = r.get("interval")
            if iv is None:
                continue
            c = iv if method == "split" else iv["adaptive"]
            level = iv["level"]
            low = intervals.below_nominal(c["coverage_per_h"], report["origins"], level)
            flagged |= set(low)
            seeds += bool(low)
            if c["coverage"] is not None:  # None: too few calibration origins for any interval
                covered.append(c["coverage"])
                capped.append(c.get("capped_share") or 0.0)
        if not covered:
            continue
        where = over(runs[0]["interval"], report["steps"])
        if 1 - np.mean(covered) < (1 - level) / 2:
            lines.append(
                f"{kind}: {words} intervals cover {np.mean(covered):.1%} of the test values"
                f"{where} where {level:.0%} was asked: they miss less than half as often as they "
                "may, so they are wider than they need to be."
            )
        if flagged:
            lines.append(
                f"{kind}: {words} coverage falls below the nominal {level:.0%} by more than "
                f"chance (binomial test over {report['origins']} origins, Holm-corrected) at "
                f"h = {span(sorted(flagged))}, in {seeds} of {len(runs)} seeds."
            )
        if max(capped) > 0:
            lines.append(capped_line(kind, runs, covered, capped))
    return lines


def capped_line(kind: str, runs: list[dict], covered: list, capped: list) -> str:
    """How many adaptive intervals would have been infinite, and what the rest cover."""
    rest = [r["interval"]["adaptive"]["uncapped_coverage"] for r in runs if r.get("interval")]
    rest = [v for v in rest if v is not None]
    others = f"; the others cover {np.mean(rest):.1%}" if rest else ""
    return (
        f"{kind}: {np.mean(capped):.0%} of the adaptive intervals (mean over seeds) would be "
        "infinite under plain ACI (its level fell to 0); capped at the largest error known "
        f"then, they cover as reported ({np.mean(covered):.1%} in all{others})."
    )


def over(iv: dict, steps: int) -> str:
    """' (over h = 1–2, the horizons with an interval)' where not every horizon has one."""
    horizons = iv.get("horizons") or []
    if len(horizons) == steps:
        return ""
    return f" (over h = {span(horizons)}, the horizons with an interval)"


def lag_verdicts(kind: str, runs: list[dict], report: dict) -> list[str]:
    """A best lag above 0: a copy of the last input, a seasonal copy, or a missed trend."""
    season, end = report["season"], metrics.lag_range(report["season"])
    lines = []
    for lag in sorted({s["best_lag"] for s in runs if s["best_lag"] >= 1}):
        n = sum(s["best_lag"] == lag for s in runs)
        if season and lag == season:
            what = (
                f"the season ({season}): the predictions repeat last season's value rather "
                "than predict"
            )
        elif lag == end:
            what = (
                f"the end of the shifts tried ({end}): the predictions trail the truth, as "
                "when a trend or level is missed"
            )
        else:
            what = f"{lag} step(s): the network copies its last input, late by that many steps"
        lines.append(
            f"{kind}: in {n} of {len(runs)} seeds the one-step predictions match the truth best "
            f"when shifted by {what}."
        )
    return lines


def span(values: list[int]) -> str:
    """1, 2, 3, 5 -> '1–3, 5'."""
    parts, start = [], None
    for i, v in enumerate(values):
        if start is None:
            start = v
        if i + 1 == len(values) or values[i + 1] != v + 1:
            parts.append(f"{start}" if start == v else f"{start}–{v}")
            start = None
    return ", ".join(parts)
