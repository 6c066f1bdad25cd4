"""The Markdown tables of a comparison, a collection and a sweep, each with a short paragraph on
how to read it, the plain words that say what they show, and main.py's report of one run."""

from __future__ import annotations

import argparse
import math

from seqpred import scoring, tuning

UNDEFINED = "undefined"
UNDEFINED_NOTE = (
    "*undefined*: a skill score or MASE divides by a baseline's error, which is 0 here (the "
    "baseline is exact, e.g. on a constant series); results.json holds null for it."
)


def fmt(stat: dict | None, spec: str = ".3g") -> str:
    """'mean ± std' (the mean formatted with `spec`); just the mean for a single seed."""
    if stat is None:
        return "–"
    mean, std = stat["mean"], stat["std"]
    if mean is None or not math.isfinite(mean):
        return UNDEFINED
    return f"{mean:{spec}}" if not std else f"{mean:{spec}} ± {std:.2g}"


def cell(key: str, stat: dict | None) -> str:
    """Skill scores and coverages need other formats than errors do."""
    if stat is not None and "coverage" in key and stat["mean"] is not None:
        stat = {**stat, "mean": 100 * stat["mean"], "std": 100 * (stat["std"] or 0)}
        return fmt(stat, ".1f")
    if "skill" in key and stat is not None and stat["mean"] is not None:
        return fmt(stat, ".3f" if abs(stat["mean"]) < 10 else ".0f")
    return fmt(stat, ".3g")


def table(head: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)] + [
        "| " + " | ".join(r) + " |" for r in rows
    ]


def seeds_words(report: dict) -> str:
    n = len(report["seeds"])
    return f"{n} seeds, mean ± std" if n > 1 else f"seed {report['seeds'][0]}"


def results_markdown(report: dict, args) -> str:
    """What the numbers say, then every table of a comparison with the notes to read it by."""
    seeds = seeds_words(report)
    lines = [
        f"### What the numbers say ({report['dataset']}, {seeds})",
        "",
        *[f"- {v}" for v in report["verdicts"]],
        "",
        *one_step_table(report, seeds),
        *forecast_table(report, seeds),
        *interval_table(report, seeds),
        *pairs_table(report),
        *cost_table(report, seeds, args),
    ]
    if any(UNDEFINED in line for line in lines):
        lines += ["", UNDEFINED_NOTE]
    return "\n".join(lines) + "\n"


def baseline_rows(report: dict, keys: list[str], best: str) -> list[list[str]]:
    """One row per baseline; the best one (by the table's MASE) marked."""
    rows = []
    for name, s in report["baselines"].items():
        cells = [cell(k, {"mean": s[k], "std": 0}) if k in s else "–" for k in keys]
        rows.append([f"{name} (baseline{', best' if name == best else ''})", *cells])
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


def one_step_table(report: dict, seeds: str) -> list[str]:
    units = f" ({report['units']})" if report["units"] else ""
    best = report["best_baseline"]["one_step"]
    keys = ["one_step_mae", "one_step_rmse", "one_step_mape", "one_step_mase", "skill_one_step"]
    head = ["model", f"MAE{units}", f"RMSE{units}", "MAPE %", "MASE", f"skill vs {best}"]
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
        "into the training period: at a forecast origin the past is known). The baselines "
        "predict the same values: persistence (the last value), seasonal persistence (the "
        "value one season back), the seasonal mean of the training period, drift (the last "
        "value plus the mean training step), and a linear autoregression over the same window, "
        "fitted by least squares on the training windows: the networks without recurrence and "
        f"nonlinearity. *skill* = 1 − MAE(model) / MAE({best}), the best baseline here, chosen "
        "in hindsight on this test period: above 0 the network beats it. "
        + season_note(report)
        + f" MAPE divides by max(|truth|, {report['mape_floor']:.3g}). *best lag* is the shift "
        f"(0 to {scoring.lag_range(report['season'])} steps) at which the predictions match "
        "the truth best, if it at least halves their unshifted error: 0 is what we want.",
        "",
        *table([*head, "best lag"], rows),
    ]


def forecast_table(report: dict, seeds: str) -> list[str]:
    h, units = report["steps"], f" ({report['units']})" if report["units"] else ""
    best = report["best_baseline"]["forecast"]
    keys = [f"forecast_{e}_{x}" for e in ("mae", "rmse") for x in ("h1", "hH", "mean")]
    keys += ["forecast_mase_mean", "skill_forecast"]
    head = ["model"] + [
        f"{e} {x}{units}" for e in ("MAE", "RMSE") for x in ("h=1", f"h={h}", f"mean 1..{h}")
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
        f"{report['strategy']}ly too). *skill* = 1 − MAE / MAE({best}), the best baseline over "
        "these forecasts. horizon.png draws the whole curves.",
        "",
        *table(head, rows + baseline_rows(report, keys, best)),
    ]


def interval_table(report: dict, seeds: str) -> list[str]:
    intervals = [m["runs"][0].get("interval") for m in report["models"].values()]
    if not report["interval"] or not any(intervals):
        return []
    iv = next(i for i in intervals if i)
    level, units = iv["level"], f" ({report['units']})" if report["units"] else ""
    counts, needed = iv["calibration_origins"], iv["needed_origins"]
    keys = list(scoring.INTERVAL_KEYS)
    rows = [
        [kind] + [cell(k, m["summary"].get(k)) for k in keys]
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
        f"{scoring.ACI_STEP:g} × (miss − {1 - level:.2g}), so that misses occur at the nominal "
        "rate in the long run even when the series shifts. *coverage* is the share of test "
        "values inside, over every origin and horizon; the worst horizon's beside it; the "
        f"widths in the series' units{units}.",
    ]
    if short:
        lines += [
            "",
            f"**{level:.0%} needs ≥ {needed} calibration origins; {len(short)} horizon(s) "
            f"(h = {scoring.span(short)}) have fewer ({min(counts)} at h = {len(counts)}), so "
            "they get no interval and no coverage is reported for them.** A longer "
            "--val-fraction, a shorter --predict-steps or a lower --interval gives them one.",
        ]
    if all(n < needed for n in counts):
        return lines
    head = ["model", "split coverage %", "worst h %", "adaptive coverage %", "worst h %"]
    head += [f"split mean width{units}", f"adaptive mean width{units}"]
    return lines + ["", *table(head, rows)]


def pairs_table(report: dict) -> list[str]:
    if not report["pairs"]:
        return []
    rows = []
    for p in report["pairs"]:
        cells = [f"{p['first']} − {p['second']}"]
        for key in ("one_step_rmse", "forecast_rmse_mean"):
            d = p[key]
            ci = f" [{d['low']:.2g}, {d['high']:.2g}]" if d["low"] is not None else ""
            holm = f"{d['p_holm']:.2g}" if d.get("p_holm") is not None else "–"
            cells += [f"{d['mean']:.3g}{ci}", holm, d["verdict"]]
        cells.append(p["dm_summary"])
        rows.append(cells)
    n, tests = len(report["seeds"]), 2 * len(report["pairs"])
    return [
        "",
        "### Is the difference real?",
        "",
        f"For each pair, the difference in test RMSE (first minus second; negative: the first is "
        f"better) averaged over the {n} seed(s) both were trained with (same seeds, same batch "
        "order), with its 95 % confidence interval (Student's t over seeds, uncorrected). "
        f"The verdict uses Holm's correction over all {tests} tests of this table (one step "
        "and forecasts, for each pair): a model *beats* another only when its Holm-adjusted p "
        "is below 0.05, which keeps the chance of any false verdict in the table at 5 %. "
        "Beside it, the Diebold–Mariano test (Harvey–Leybourne–Newbold correction) on each "
        "seed's one-step errors: how many seeds favour each model at the 5 % level, "
        "uncorrected, for reading only. It compares two trained networks, not two "
        "architectures, and one-step errors that are correlated in time make it optimistic.",
        "",
        *table(
            [
                "pair",
                "Δ one-step RMSE [95 % CI]",
                "p (Holm)",
                "one step ahead",
                "Δ forecast RMSE, mean over h [95 % CI]",
                "p (Holm)",
                "forecasts",
                "Diebold–Mariano: seeds favouring each (p < 0.05)",
            ],
            rows,
        ),
    ]


def cost_table(report: dict, seeds: str, args) -> list[str]:
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
        f" Hidden sizes chosen by --match-params {args.match_params} so that the parameter "
        "counts are as equal as whole hidden units allow."
        if getattr(args, "match_params", None) is not None
        else ""
    )
    head = ["model", "hidden", "parameters", "final train MSE", "final test MSE", "train s"]
    return [
        "",
        f"### Cost ({seeds})",
        "",
        f"Losses are MSE in {scaled}the units the network trains on.{budget} "
        + memory_line(report),
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


# ----------------------------------------------------------------------------- main.py
def loss_line(result, data) -> str:
    h = result.history
    scaled = " (standardized units)" if data.std != 1.0 or data.mean != 0.0 else ""
    return (
        f"{result.model_type}: {result.n_params} parameters, final train MSE "
        f"{h.train_losses[-1]:.3e}, test MSE {h.test_losses[-1]:.3e}{scaled}, {h.seconds:.1f} s "
        f"({h.seconds / len(h.train_losses) * 1000:.1f} ms/epoch)"
    )


def sequence_lines(result, data, one_step) -> list[str]:
    """main.py's report on independent sequences (the adding problem)."""
    pred, truth = data.unscale(one_step).cpu().numpy(), data.unscale(data.test_y[:, 0]).numpy()
    mse = scoring.mse(pred, truth)
    return [
        loss_line(result, data),
        f"  test MSE {mse:.4g} = {mse / truth.var():.3f} of the targets' variance "
        "(predicting their mean scores 1)",
    ]


def run_lines(result, summary: dict, data, args) -> list[str]:
    """What main.py prints after training: the losses, the errors in the series' units beside
    the best baseline, the intervals, and what they show in plain words."""
    s = summary["models"][result.model_type]["runs"][0]
    unit = f" {data.units}" if data.units else ""
    steps, best = args.predict_steps, summary["best_baseline"]
    b1 = summary["baselines"][best["one_step"]]
    bh = summary["baselines"][best["forecast"]]
    lines = [
        loss_line(result, data),
        f"  one step ahead (true inputs), {summary['test_values']} test values: MAE "
        f"{s['one_step_mae']:.4g}{unit}, RMSE {s['one_step_rmse']:.4g}{unit}, MAPE "
        f"{s['one_step_mape']:.2f} %, MASE {s['one_step_mase']:.3g}; best baseline "
        f"{best['one_step']} MASE {b1['one_step_mase']:.3g}",
        f"  {steps}-step {args.strategy} forecasts from all {summary['origins']} test origins: "
        f"RMSE {s['forecast_rmse_h1']:.4g} (h=1), {s['forecast_rmse_hH']:.4g} (h={steps}), "
        f"{s['forecast_rmse_mean']:.4g} (mean){unit}; MASE {s['forecast_mase_mean']:.3g}; best "
        f"baseline {best['forecast']} MASE {bh['forecast_mase_mean']:.3g}",
    ]
    iv = s.get("interval")
    if iv is not None:
        counts = iv["calibration_origins"]
        if iv["coverage"] is None:
            lines.append(
                f"  {iv['level']:.0%} prediction intervals: none; {iv['level']:.0%} needs ≥ "
                f"{iv['needed_origins']} calibration origins, {max(counts)} here"
            )
        else:
            lines.append(
                f"  {iv['level']:.0%} prediction intervals, calibrated on {min(counts)}–"
                f"{max(counts)} held-out origins: split coverage {100 * iv['coverage']:.1f} % "
                f"(worst horizon {100 * s['coverage_worst_h']:.1f} %), adaptive "
                f"{100 * s['aci_coverage']:.1f} % (worst {100 * s['aci_coverage_worst_h']:.1f} "
                f"%); mean width {iv['mean_width']:.4g}{unit}"
            )
            short = [j + 1 for j, n in enumerate(counts) if n < iv["needed_origins"]]
            if short:
                lines.append(
                    f"  no interval at h = {scoring.span(short)}: {iv['level']:.0%} needs ≥ "
                    f"{iv['needed_origins']} calibration origins, {min(counts)} at h = {steps}"
                )
    return lines + [f"  {v}" for v in summary["verdicts"]]


# ----------------------------------------------------------------------------- a collection
def num(value, spec=".3g") -> str:
    return "–" if value is None or not math.isfinite(value) else f"{value:{spec}}"


def pct(value) -> str:
    return "–" if value is None else f"{100 * value:.0f} %"


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
            if s["smallest_possible_p"] >= 0.05
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
        "Each series' forecast MASE per network (mean over seeds), the best baseline on that "
        "series and each network's skill against it (1 − MAE / the baseline's MAE; above 0, "
        "the network is better), and the split-conformal and adaptive coverage of the nominal "
        "intervals (– where the held-out stretch had too few origins for the level). Each "
        "series' own tables and figures are in its folder.",
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
    wins = {
        k: [x for x in s["series"] if ar[x][k] < s["per_series"][x]["best_baseline_mase"]]
        for k in networks
    }
    none = [x for x in s["series"] if not any(x in w for w in wins.values())]
    if none:
        which = ", ".join(f"{x} ({s['per_series'][x]['best_baseline']})" for x in none)
        lines.append(
            f"- On {len(none)} of {len(s['series'])} series no network beats the best simple "
            f"baseline: {which}."
        )
    significant = [t for t in s["pairs"] if t["p_holm"] < 0.05]
    lines.append(
        "- No pairwise difference is significant after Holm's correction."
        if not significant
        else "- Significant after Holm's correction: "
        + "; ".join(f"{t['first']} vs {t['second']}: {t['verdict']}" for t in significant)
        + "."
    )
    return lines


def series_table(s: dict, networks: list[str]) -> list[str]:
    head = ["series", "season", "H", "best baseline (MASE)"]
    head += [f"{k} MASE / skill / coverage split, adaptive" for k in networks]
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
            cells.append(
                f"{num(v['forecast_mase_mean'])} / {num(v['skill_forecast'], '.2f')} / "
                f"{pct(v['coverage'])}, {pct(v['aci_coverage'])}"
            )
        rows.append(cells)
    return table(head, rows)


# ----------------------------------------------------------------------------- a sweep
def trial_rows(studies: dict) -> list[dict]:
    """Every trial of every study, as plain values."""
    rows = []
    for kind, study in studies.items():
        for t in study.get_trials(deepcopy=False):
            last_epoch = max(t.intermediate_values, default=None)
            rows.append(
                {
                    "model": kind,
                    "number": t.number,
                    "state": t.state.name.lower(),
                    "outcome": t.user_attrs.get(tuning.OUTCOME),
                    "validation_mse": t.value,
                    "epochs": last_epoch,
                    "params": dict(t.params),
                }
            )
    return rows


def sweep_summary(studies: dict, best: dict, runs: list[dict], data, args) -> dict:
    """The trials, the best settings, and the test-period evaluation of tuned vs default."""
    labels = [f"{k} {v}" for k in args.models for v in ("tuned", "default")]
    pairs = [(f"{k} tuned", f"{k} default") for k in args.models]
    tuned = [f"{k} tuned" for k in args.models]
    pairs += [(a, b) for i, a in enumerate(tuned) for b in tuned[i + 1 :]]
    as_compared = argparse.Namespace(**{**vars(args), "models": labels})
    result = scoring.evaluate_runs(runs, data, as_compared, pairs)
    return {
        "flags": vars(args),
        "trials": trial_rows(studies),
        "best": best,
        "test": result,
    }


def sweep_markdown(s: dict, args) -> str:
    """sweep.md: the best settings, the tuned-vs-default tables and verdicts, every trial."""
    lines = [
        f"### Best settings ({args.trials} trials per model, {args.epochs} epochs, scored on "
        f"the last {args.val_fraction:.0%} of the training period)",
        "",
        "| model | learning rate | hidden | layers | dropout | validation MSE | trials finished "
        "| distinct settings |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for kind, settings in s["best"].items():
        done = [t for t in s["trials"] if t["model"] == kind and t["validation_mse"] is not None]
        best_mse = min(t["validation_mse"] for t in done)
        tried = [t for t in s["trials"] if t["model"] == kind and t["outcome"] != "surplus"]
        lines.append(
            f"| {kind} | {settings['lr']:.2e} | {settings['hidden_size']} | "
            f"{settings['num_layers']} | {settings.get('dropout', 0):.2f} | {best_mse:.3e} | "
            f"{len(done)} | {tuning.distinct_settings(tried)} |"
        )
    lines += [
        "",
        f"Defaults: learning rate {args.lr:g}, hidden size {args.hidden_size}, "
        f"{args.num_layers} layer(s). Below, each model retrained with its best settings "
        f"(*tuned*) and with the defaults over {args.seeds} seed(s), on the same training "
        "windows, scored on the test period, which no trial saw.",
        "",
        results_markdown(s["test"], args),
        "### Every trial",
        "",
        "| model | trial | state | validation MSE | epochs | learning rate | hidden | layers | "
        "dropout |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for t in s["trials"]:
        p = t["params"]
        state = t["state"] + (f" ({t['outcome']})" if t["outcome"] else "")
        mse = f"{t['validation_mse']:.3e}" if t["validation_mse"] is not None else "–"
        lines.append(
            f"| {t['model']} | {t['number']} | {state} | {mse} | {t['epochs'] or '–'} | "
            f"{p.get('lr', float('nan')):.2e} | {p.get('hidden_size', '–')} | "
            f"{p.get('num_layers', '–')} | {p.get('dropout', 0):.2f} |"
        )
    return "\n".join(lines) + "\n"
