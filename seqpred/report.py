"""The Markdown tables of a comparison, each with a short paragraph on how to read it."""

from __future__ import annotations

import math

from seqpred import metrics

UNDEFINED = "undefined"
UNDEFINED_NOTE = (
    "*undefined*: a skill score divides by the naive baseline's error, which is 0 here (the "
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
    """Skill scores near 1 and coverages need more digits than errors do."""
    if stat is not None and "coverage" in key and stat["mean"] is not None:
        stat = {**stat, "mean": 100 * stat["mean"], "std": 100 * (stat["std"] or 0)}
        return fmt(stat, ".1f")
    if "skill" in key and stat is not None and stat["mean"] is not None:
        return fmt(stat, ".4f" if abs(stat["mean"]) < 10 else ".0f")
    return fmt(stat, ".3g")


def table(head: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)] + [
        "| " + " | ".join(r) + " |" for r in rows
    ]


def results_markdown(report: dict, args) -> str:
    """Every table of a comparison, the notes that say how to read them, and the warnings."""
    n = len(report["seeds"])
    seeds = f"{n} seeds, mean ± std" if n > 1 else f"seed {report['seeds'][0]}"
    lines = [
        *one_step_table(report, seeds),
        *forecast_table(report, seeds),
        *interval_table(report, seeds),
        *pairs_table(report),
        *cost_table(report, seeds, args),
    ]
    if any(UNDEFINED in line for line in lines):
        lines += ["", UNDEFINED_NOTE]
    if report["warnings"]:
        lines += ["", "**Warnings**", ""] + [f"- {w}" for w in report["warnings"]]
    return "\n".join(lines) + "\n"


def rows_for(report: dict, keys: list[str], baseline_extra=None) -> list[list[str]]:
    """One row per model (mean ± std over seeds), then one per naive baseline."""
    rows = []
    for kind, m in report["models"].items():
        rows.append([kind] + [cell(k, m["summary"].get(k)) for k in keys])
    for name, s in report["baselines"].items():
        cells = [cell(k, {"mean": s[k], "std": 0}) if k in s else "–" for k in keys]
        rows.append([f"{name} (naive)", *cells])
    return rows


def one_step_table(report: dict, seeds: str) -> list[str]:
    units = f" ({report['units']})" if report["units"] else ""
    seasonal = "seasonal persistence" in report["baselines"]
    keys = ["one_step_mae", "one_step_rmse", "one_step_mape", "skill"]
    head = ["model", f"MAE{units}", f"RMSE{units}", "MAPE %", "skill vs persistence"]
    if seasonal:
        keys.append("seasonal_skill")
        head.append("skill vs seasonal")
    rows = rows_for(report, keys)
    lags = [sorted(s["best_lag"] for s in m["runs"]) for m in report["models"].values()]
    lags += [[s["best_lag"]] for s in report["baselines"].values()]
    for row, lag in zip(rows, lags, strict=True):
        row.append(str(lag[0]) if lag[0] == lag[-1] else "/".join(map(str, lag)))
    return [
        f"### One step ahead on the test period ({report['dataset']}, {seeds})",
        "",
        "Each test value predicted from the true values before it. *skill* = 1 − MSE(model) / "
        "MSE(naive): above 0 the network beats the naive baseline, 1 is perfect. *best lag* is "
        "the shift (0 to 5 steps) at which the predictions match the truth best: 1 or more "
        "means the network copies its last input, late by that many steps. MAPE divides by "
        f"max(|truth|, {report['mape_floor']:.3g}) ({metrics.MAPE_FLOOR:g} × the mean |truth|), "
        "so values near zero cannot blow it up.",
        "",
        *table([*head, "best lag"], rows),
    ]


def forecast_table(report: dict, seeds: str) -> list[str]:
    h, units = report["steps"], f" ({report['units']})" if report["units"] else ""
    keys = [f"forecast_{e}_{x}" for e in ("mae", "rmse") for x in ("h1", "hH", "mean")]
    head = ["model"] + [
        f"{e} {x}{units}" for e in ("MAE", "RMSE") for x in ("h=1", f"h={h}", f"mean 1..{h}")
    ]
    how = (
        "fed its own outputs, one step at a time (recursive)"
        if report["strategy"] == "recursive"
        else "all steps at once from the head (direct)"
    )
    return [
        "",
        f"### Forecasts from every test origin ({report['origins']} origins, {h} steps, {seeds})",
        "",
        f"A forecast of the next {h} values from every test window whose continuation is known, "
        f"{how}, scored at each horizon h over the {report['origins']} origins; the naive "
        "baselines forecast from the same origins. One origin would be an anecdote; "
        "horizon.png draws the whole curves.",
        "",
        *table(head, rows_for(report, keys)),
    ]


def interval_table(report: dict, seeds: str) -> list[str]:
    intervals = [m["runs"][0].get("interval") for m in report["models"].values()]
    if not report["interval"] or not any(intervals):
        return []
    level = report["interval"]
    units = f" ({report['units']})" if report["units"] else ""
    rows = [
        [kind]
        + [cell(k, m["summary"].get(k)) for k in ("coverage", "coverage_worst_h", "mean_width")]
        + [str(m["runs"][0]["interval"]["calibration_origins"])]
        for kind, m in report["models"].items()
    ]
    where = next(i for i in intervals if i)["calibrated_on"]
    return [
        "",
        f"### Prediction intervals: nominal {level:.0%} ({seeds})",
        "",
        f"Split-conformal: each horizon's interval is the forecast ± the "
        f"⌈(n+1)·{level:g}⌉-th smallest absolute error over n calibration origins from {where}. "
        "*coverage* is the share of test values that fall inside, measured over every test "
        "origin and horizon; it should be near the nominal level. The worst horizon's coverage "
        "and the mean width (in the series' units) are beside it.",
        "",
        *table(
            ["model", "coverage %", "worst horizon %", f"mean width{units}", "calibration origins"],
            rows,
        ),
    ]


def pairs_table(report: dict) -> list[str]:
    if not report["pairs"]:
        return []
    rows = []
    for p in report["pairs"]:
        cells = [f"{p['first']} − {p['second']}"]
        for key in ("one_step_rmse", "forecast_rmse_mean"):
            d = p[key]
            ci = f" [{d['low']:.2g}, {d['high']:.2g}]" if d["low"] is not None else ""
            cells += [f"{d['mean']:.3g}{ci}", d["verdict"]]
        cells.append(p["dm_summary"])
        rows.append(cells)
    n = len(report["seeds"])
    return [
        "",
        "### Is the difference real?",
        "",
        f"For each pair, the difference in test RMSE (first minus second; negative: the first is "
        f"better) averaged over the {n} seed(s) both were trained with (same seeds, same batch "
        "order), with its 95 % confidence interval (Student's t over seeds). A model *beats* "
        "another only when that interval excludes zero. Beside it, the Diebold–Mariano test "
        "(Harvey–Leybourne–Newbold correction) on each seed's one-step errors: how many seeds "
        "favour each model at the 5 % level. It compares two trained networks, not two "
        "architectures, and one-step errors that are correlated in time make it optimistic; "
        "the seeds' interval is the verdict. Three pairs are tested: about one pair in twenty "
        "of equal models would look different by chance.",
        "",
        *table(
            [
                "pair",
                "Δ one-step RMSE [95 % CI]",
                "one step ahead",
                "Δ forecast RMSE, mean over h [95 % CI]",
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
    return [
        "",
        f"### Cost ({seeds})",
        "",
        f"Losses are MSE in {scaled}the units the network trains on.{budget} "
        + memory_line(report, args),
        "",
        *table(
            [
                "model",
                "hidden",
                "parameters",
                "final train MSE",
                "final test MSE",
                "train s",
                "ms/epoch",
            ],
            rows,
        ),  # fmt: skip
    ]


def memory_line(report: dict, args) -> str:
    """Peak memory, measured for the whole comparison: its runs share one process."""
    mb = report.get("peak_memory_mb")
    if mb is None:
        return "Peak memory was not measured on this platform."
    if report.get("memory_kind") == "RSS":
        return (
            f"Peak memory: {mb:.0f} MB, the peak resident set of the one process that trained "
            f"every run ({args.jobs} at a time), the PyTorch runtime included."
        )
    return f"Peak memory: {mb:.0f} MB of CUDA memory allocated, over every run."


def run_lines(result, data, one_step, scores: dict | None, args) -> list[str]:
    """What main.py prints after training: the losses, and the errors in the series' units."""
    h = result.history
    scaled = " (standardized units)" if data.std != 1.0 or data.mean != 0.0 else ""
    lines = [
        f"{result.model_type}: {result.n_params} parameters, final train MSE "
        f"{h.train_losses[-1]:.3e}, test MSE {h.test_losses[-1]:.3e}{scaled}, {h.seconds:.1f} s "
        f"({h.seconds / len(h.train_losses) * 1000:.1f} ms/epoch)"
    ]
    pred, truth = data.unscale(one_step).cpu().numpy(), data.unscale(data.test_y[:, 0]).numpy()
    if scores is None:  # not a series: the adding problem
        mse = metrics.mse(pred, truth)
        return lines + [
            f"  test MSE {mse:.4g} = {mse / truth.var():.3f} of the targets' variance "
            "(predicting their mean scores 1)"
        ]
    e = metrics.errors(pred, truth, metrics.mape_floor(truth))
    unit = f" {data.units}" if data.units else ""
    lines.append(
        f"  one step ahead (true inputs): MAE {e['mae']:.4g}{unit}, RMSE {e['rmse']:.4g}{unit}, "
        f"MAPE {e['mape']:.2f} %"
    )
    steps = args.predict_steps
    return lines + [f"  {line}" for line in forecast_lines(scores, steps, args.strategy, unit)]


def forecast_lines(scores: dict, steps: int, strategy: str, unit: str) -> list[str]:
    """main.py's lines on the forecasts from every origin and their intervals."""
    rmse, mae = scores["rmse"], scores["mae"]
    lines = [
        f"{steps}-step {strategy} forecasts from all {scores['origins']} test origins: RMSE "
        f"{rmse[0]:.4g} (h=1), {rmse[-1]:.4g} (h={steps}), {sum(rmse) / len(rmse):.4g} "
        f"(mean){unit}; MAE {mae[0]:.4g}, {mae[-1]:.4g}, {sum(mae) / len(mae):.4g}{unit}"
    ]
    if "interval" in scores:
        iv = scores["interval"]
        worst = min(iv["coverage_per_h"], default=float("nan"))
        lines.append(
            f"{iv['level']:.0%} prediction intervals: {100 * iv['coverage']:.1f} % of the test "
            f"values inside (worst horizon {100 * worst:.1f} %), mean width "
            f"{iv['mean_width']:.4g}{unit}; calibrated on {iv['calibration_origins']} origins "
            f"from {iv['calibrated_on']}"
        )
    return lines
