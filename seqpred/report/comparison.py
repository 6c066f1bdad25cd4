"""results.md of a comparison: what the numbers say, then one table per question, each with the
paragraph to read it by."""

from __future__ import annotations

from seqpred.report.tables import UNDEFINED, UNDEFINED_NOTE, cell, fmt, seeds_words, table
from seqpred.report.verdicts import significant, span, verdicts
from seqpred.scoring import evaluation, intervals, metrics, statistical


def results_markdown(report: dict, match_params=None) -> str:
    """What the numbers say, then every table of a comparison with the notes to read it by."""
    seeds = seeds_words(report)
    lines = [
        f"### What the numbers say ({report['dataset']}, {seeds})",
        "",
        *[f"- {v}" for v in verdicts(report)],
        "",
        *one_step_table(report, seeds),
        *forecast_table(report, seeds),
        *interval_table(report, seeds),
        *claims_table(report),
        *pairs_table(report),
        *cost_table(report, seeds, match_params),
    ]
    if any(UNDEFINED in line for line in lines):
        lines += ["", UNDEFINED_NOTE]
    return "\n".join(lines) + "\n"


def units(report: dict) -> str:
    return f" ({report['units']})" if report["units"] else ""


def baseline_rows(report: dict, keys: list[str], best: str) -> list[list[str]]:
    """One row per baseline; the strongest (chosen on the held-out stretch) marked."""
    rows = []
    for name, s in report["baselines"].items():
        cells = [cell(k, {"mean": s[k], "std": 0}) if k in s else "–" for k in keys]
        rows.append([f"{name} (baseline{', strongest' if name == best else ''})", *cells])
    return rows


def season_note(report: dict) -> str:
    season = report["season"]
    what = f"the season is {season} steps" if season else "there is no season"
    source = f" ({report['season_source']})" if report.get("season_source") else ""
    return (
        f"Here {what}{source}. *MASE* is the mean absolute error over the training period's "
        f"in-sample MAE of {'seasonal ' if season else ''}persistence ({report['mase_scale']:.3g}"
        f"{' ' + report['units'] if report['units'] else ''}): below 1, better than that naive "
        "forecast did in-sample. It is scale-free, so it compares across series."
    )


def baselines_note(report: dict) -> str:
    """What the baselines are, and where the strongest was chosen."""
    note = report.get("benchmarks") or {}
    stat = (
        f" And {', '.join(note['ran'])} (statsforecast), each fitted once on the training period "
        "and run forward from every origin with the values known there."
        if note.get("ran")
        else f" ({statistical.MISSING}.)"
        if note.get("missing")
        else ""
    )
    where = (
        f"chosen on the held-out stretch ({report.get('validation_values', 0)} values before "
        "the test period), never on the test"
        if report["best_baseline"].get("chosen_on") == "validation"
        else "chosen on this test period in hindsight, as no stretch was held out"
    )
    return (
        "The baselines predict the same values: persistence (the last value), seasonal "
        "persistence (the value one season back), the seasonal mean of the training period, "
        "drift (the last value plus h times the mean step of all history up to the origin), and "
        "a linear autoregression over the same window, fitted by least squares on the training "
        f"windows: the networks without recurrence and nonlinearity.{stat} The *strongest* is "
        f"the one with the lowest MAE, {where}."
    )


def one_step_table(report: dict, seeds: str) -> list[str]:
    best = report["best_baseline"]["one_step"]
    keys = ["one_step_mae", "one_step_rmse", "one_step_mape", "one_step_mase", "skill_one_step"]
    u = units(report)
    head = ["model", f"MAE{u}", f"RMSE{u}", "MAPE %", "MASE", f"skill vs {best}"]
    rows = [[k] + [cell(x, m["summary"].get(x)) for x in keys] for k, m in report["models"].items()]
    rows += baseline_rows(report, keys, best)
    lags = [sorted(s["best_lag"] for s in m["runs"]) for m in report["models"].values()]
    lags += [[s["best_lag"]] for s in report["baselines"].values()]
    for row, lag in zip(rows, lags, strict=True):
        row.append(str(lag[0]) if lag[0] == lag[-1] else "/".join(map(str, lag)))
    return [
        f"### One step ahead on the test period ({report['test_values']} values, {seeds})",
        "",
        "Each test value predicted from the true values before it (a window may reach back "
        "into the training period: at a forecast origin the past is known). "
        + baselines_note(report)
        + f" *skill* = 1 − MAE(model) / MAE({best}): above 0 the network is ahead of it. "
        + season_note(report)
        + f" MAPE divides by max(|truth|, {report['mape_floor']:.3g}). *best lag* is the shift "
        f"(0 to {metrics.lag_range(report['season'])} steps) at which the predictions match "
        "the truth best, if it at least halves their unshifted error: 0 is what we want.",
        "",
        *table([*head, "best lag"], rows),
    ]


def forecast_table(report: dict, seeds: str) -> list[str]:
    h, u = report["steps"], units(report)
    best = report["best_baseline"]["forecast"]
    keys = [f"forecast_{e}_{x}" for e in ("mae", "rmse") for x in ("h1", "hH", "mean")]
    keys += ["forecast_mase_mean", "skill_forecast"]
    head = ["model"] + [
        f"{e} {x}{u}" for e in ("MAE", "RMSE") for x in ("h=1", f"h={h}", f"mean 1..{h}")
    ]
    head += [f"MASE, mean 1..{h}", f"skill vs {best}"]
    rows = [[k] + [cell(x, m["summary"].get(x)) for x in keys] for k, m in report["models"].items()]
    how = (
        "fed its own outputs, one step at a time (recursive)"
        if report["strategy"] == "recursive"
        else "all steps at once from the head (direct)"
    )
    return [
        "",
        f"### Forecasts from every test origin ({report['origins']} origins, {h} steps, {seeds})",
        "",
        f"A forecast of the next {h} values from every test position whose {h} next values are "
        f"known, {how}, scored at each horizon over the {report['origins']} origins; the "
        "baselines forecast from the same origins (the linear autoregression "
        f"{report['strategy']}ly too). *skill* = 1 − MAE / MAE({best}), the strongest baseline "
        "over these forecasts. horizon.png draws the whole curves.",
        "",
        *table(head, rows + baseline_rows(report, keys, best)),
    ]


def interval_table(report: dict, seeds: str) -> list[str]:
    found = [m["runs"][0].get("interval") for m in report["models"].values()]
    if not report["interval"] or not any(found):
        return []
    iv = next(i for i in found if i)
    level, u = iv["level"], units(report)
    counts, needed = iv["calibration_origins"], iv["needed_origins"]
    rows = [
        [kind] + [cell(k, m["summary"].get(k)) for k in evaluation.INTERVAL_KEYS]
        for kind, m in report["models"].items()
    ]
    short = [j + 1 for j, n in enumerate(counts) if n < needed]
    lines = [
        "",
        f"### Prediction intervals: nominal {level:.0%} ({seeds})",
        "",
        "Calibrated on the held-out end of the training period, which the model never trained "
        f"on: {min(counts)}–{max(counts)} calibration origins per horizon (fewer at long "
        "horizons, whose targets must lie inside that stretch). *split*: split conformal, "
        f"each horizon's interval the forecast ± the ⌈(n+1)·{level:g}⌉-th smallest absolute "
        "error of its n calibration origins; valid when the errors are exchangeable. "
        "*adaptive*: adaptive conformal inference (Gibbs & Candès 2021) on the same forecasts; "
        "it walks the test origins in time order and after each target it learns (only errors "
        f"already known, from origins at least h steps back) moves the level by "
        f"{intervals.ACI_STEP:g} × (miss − {1 - level:.2g}), so that misses occur at the nominal "
        "rate in the long run even when the series shifts. Where its level falls to 0, plain "
        "ACI's interval is infinite; here it is *capped* at the largest error known at that "
        "origin (MAPIE's rule), and counts as it fared: *capped %* is their share, *uncapped "
        "coverage* what the others cover. No interval ever counts as covering for being "
        "infinite. *coverage* is the share of test values inside, over every origin and every "
        "horizon with an interval; the worst horizon's beside it; the widths in the series' "
        f"units{u}.",
    ]
    if short:
        lines += [
            "",
            f"**{level:.0%} needs ≥ {needed} calibration origins; {len(short)} horizon(s) "
            f"(h = {span(short)}) have fewer ({min(counts)} at h = {len(counts)}), so they get "
            "no interval and every coverage here is over "
            f"h = {span(iv['horizons']) or 'none'} only.** A longer --val-fraction, a shorter "
            "--predict-steps or a lower --interval gives them one.",
        ]
    if all(n < needed for n in counts):
        return lines
    head = ["model", "split coverage %", "worst h %", "adaptive coverage %", "worst h %"]
    head += ["adaptive capped %", "uncapped coverage %"]
    head += [f"split mean width{u}", f"adaptive mean width{u}"]
    return lines + ["", *table(head, rows)]


def claim_row(report: dict, c: dict) -> list[str]:
    """One claim: who, which forecasts, the mean difference, each seed's statistic, p."""
    words = "one step" if c["kind"] == "one_step" else f"{report['steps']} steps"
    stats = ", ".join(f"{t['statistic']:.2f}" for t in c["tests"])
    if significant(c):
        winner = c["first"] if c["better"] == "first" else c["second"]
        loser = c["second"] if c["better"] == "first" else c["first"]
        verdict = f"**{winner} beats {loser}**"
    else:
        verdict = "not significant"
    return [
        f"{c['first']} − {c['second']}",
        words,
        f"{c['mean_difference']:.3g}",
        stats,
        f"{c['p_value']:.2g}",
        f"{c['p_holm']:.2g}",
        verdict,
    ]


CLAIM_HEAD = [
    "pair",
    "forecasts",
    "Δ MAE (mean over seeds)",
    "DM statistic, each seed",
    "p (every seed)",
    "p (Holm)",
    "verdict",
]


def claims_table(report: dict) -> list[str]:
    n = len(report["seeds"])
    total = len(report["claims"]) + sum(len(p["claims"]) for p in report["pairs"])
    return [
        "",
        "### Does a network beat the strongest baseline?",
        "",
        "Each network against the strongest baseline, origin by origin on the test period: "
        "the Diebold–Mariano test (Harvey–Leybourne–Newbold correction) on the difference of "
        "absolute errors, one step ahead (every test value, h = 1) and over the forecasts "
        f"(each origin's mean absolute error over its {report['steps']} steps, h = "
        f"{report['steps']}: overlapping forecasts share errors), for each of the {n} seed(s). "
        "A network *beats* the baseline (or the baseline the network) only if every seed says "
        "so: *p (every seed)* is the largest of the seeds' one-sided p-values, doubled for "
        "the direction chosen from the data (an intersection–union test); *p (Holm)* corrects "
        f"it for all {total} claims of this report, which keeps the chance of any false "
        "*beats* at 5 %. A negative Δ or statistic: the first is ahead.",
        "",
        *table(CLAIM_HEAD, [claim_row(report, c) for c in report["claims"]]),
    ]


def pairs_table(report: dict) -> list[str]:
    if not report["pairs"]:
        return []
    n = min(len(p["seeds"]) for p in report["pairs"])
    rows = []
    for p in report["pairs"]:
        cells = [f"{p['first']} − {p['second']}"]
        for key in ("one_step_mae", "forecast_mae_mean"):
            d = p[key]
            ci = f" [{d['low']:.2g}, {d['high']:.2g}]" if d["low"] is not None else ""
            cells.append(f"{d['mean']:.3g}{ci}")
        rows.append(cells)
    lines = [
        "",
        "### Does one network beat another?",
        "",
        "For each pair, the difference in test MAE (first minus second; negative: the first "
        f"is ahead), one step ahead and over the forecasts, averaged over the {n} seed(s) "
        "both were trained with (same seeds, same batch order), with its 95 % interval "
        "(Student's t over seeds), for reading. A verdict comes from the tests below, as for "
        f"the baselines, and only with {evaluation.MIN_SEEDS} seeds or more: two trained "
        "networks are not an architecture. Even then it compares these networks at these "
        "settings.",
        "",
        *table(["pair", "Δ one-step MAE [95 % CI]", "Δ forecast MAE, mean over h [95 % CI]"], rows),
    ]
    claims = [c for p in report["pairs"] for c in p["claims"]]
    if not claims:
        return lines + [
            "",
            f"No verdict: {n} seed(s); --seeds {evaluation.MIN_SEEDS} or more gives one.",
        ]
    return lines + ["", *table(CLAIM_HEAD, [claim_row(report, c) for c in claims])]


def cost_table(report: dict, seeds: str, match_params=None) -> list[str]:
    rows = []
    for kind, m in report["models"].items():
        s = m["summary"]
        per_epoch = {k: v * 1000 for k, v in s["seconds_per_epoch"].items()}
        rows.append(
            [
                kind,
                str(m["hidden_size"]),
                str(m["params"]),
                fmt(s["final_train_loss"]),
                fmt(s["final_test_loss"]),
                fmt(s["train_seconds"]),
                fmt(per_epoch),
            ]
        )
    scaled = "standardized units, " if report["units"] else ""
    budget = (
        f" Hidden sizes chosen by --match-params {match_params} so that the parameter "
        "counts are as equal as whole hidden units allow."
        if match_params is not None
        else ""
    )
    seconds = (report.get("benchmarks") or {}).get("seconds") or {}
    stat = (
        " The statistical benchmarks took "
        + ", ".join(f"{k} {v:.1f} s" for k, v in seconds.items())
        + " (fitted once, then run from every origin)."
        if seconds
        else ""
    )
    head = ["model", "hidden", "parameters", "final train MSE", "final test MSE", "train s"]
    return [
        "",
        f"### Cost ({seeds})",
        "",
        f"Losses are MSE in {scaled}the units the network trains on.{budget} "
        + memory_line(report)
        + stat,
        "",
        *table([*head, "ms/epoch"], rows),
    ]


def memory_line(report: dict) -> str:
    """Peak memory, measured for the whole comparison: its runs share one process."""
    if "peak_memory_mb" not in report:
        return "Peak memory was not recorded for this run."
    mb = report["peak_memory_mb"]
    if mb is None:
        return "Peak memory was not measured on this platform."
    if report.get("memory_kind") == "RSS":
        at_once = f" ({report['jobs']} at a time)" if report.get("jobs") else ""
        return (
            f"Peak memory: {mb:.0f} MB, the peak resident set of the one process that trained "
            f"every run{at_once}, the PyTorch runtime included."
        )
    return f"Peak memory: {mb:.0f} MB of CUDA memory allocated, over every run."
