"""The Markdown tables of a comparison, and how to read them."""

from __future__ import annotations

import math

from seqpred import metrics
from seqpred.evaluation import ERROR_KEYS


UNDEFINED = "undefined"
UNDEFINED_NOTE = (
    "- *undefined*: a skill score divides by the naive baseline's error, which is 0 here (the "
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
    """Skill scores near 1 need more digits than errors do."""
    return fmt(stat, ".4f" if "skill" in key else ".3g")


def results_markdown(report: dict, args) -> str:
    """The two Markdown tables (accuracy, cost) and the notes that say how to read them."""
    units = f" ({report['units']})" if report["units"] else ""
    n = len(report["seeds"])
    seeds = f"{n} seeds, mean ± std" if n > 1 else f"seed {report['seeds'][0]}"
    seasonal = any("seasonal_skill" in m["summary"] for m in report["models"].values())
    head = [
        "model",
        f"one-step MAE{units}",
        f"one-step RMSE{units}",
        "one-step MAPE %",
        f"forecast MAE{units}",
        f"forecast RMSE{units}",
        "forecast MAPE %",
        "skill vs persistence",
    ]
    if seasonal:
        head.append("skill vs seasonal")
    head.append("best lag")
    keys = [*ERROR_KEYS, "skill"] + (["seasonal_skill"] if seasonal else [])
    lines = [
        f"### Accuracy on the test period ({report['dataset']}, {seeds})",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    for kind, m in report["models"].items():
        lags = sorted(s["best_lag"] for s in m["runs"])
        lag = str(lags[0]) if lags[0] == lags[-1] else "/".join(map(str, lags))
        lines.append(
            "| " + " | ".join([kind] + [cell(k, m["summary"].get(k)) for k in keys] + [lag]) + " |"
        )
    for name, s in report["baselines"].items():
        cells = [cell(k, {"mean": s[k], "std": 0}) if k in s else "–" for k in keys]
        lines.append(f"| {name} (naive) | " + " | ".join(cells) + f" | {s['best_lag']} |")
    lines += [
        "",
        f"### Cost ({seeds})",
        "",
        "| model | parameters | final train MSE | final test MSE | train s | ms/epoch |",
        "|---|---|---|---|---|---|",
    ]
    for kind, m in report["models"].items():
        s = m["summary"]
        per_epoch = {k: v * 1000 for k, v in s["seconds_per_epoch"].items()}
        lines.append(
            f"| {kind} | {m['params']} | {fmt(s['final_train_loss'])} | "
            f"{fmt(s['final_test_loss'])} | {fmt(s['train_seconds'])} | {fmt(per_epoch)} |"
        )
    scaled = "standardized units, " if report["units"] else ""
    lines += [
        "",
        f"- *one-step*: each test target predicted from the true values before it; *forecast*: "
        f"{args.predict_steps} steps free-running from test index {args.predict_start}, each "
        "prediction fed back as input.",
        f"- MAPE divides by max(|truth|, {report['mape_floor']:.3g}), the floor being "
        f"{metrics.MAPE_FLOOR:g} × the mean |truth| of the test period, so values at or near "
        "zero cannot blow it up.",
        "- skill = 1 − MSE(model) / MSE(naive), one-step: above 0 beats the naive baseline, "
        "1 is perfect. Persistence predicts the last value; seasonal persistence the value one "
        "period earlier.",
        "- best lag: the shift k (0 to 5 steps) at which the one-step predictions best match the "
        "truth; k ≥ 1 means the network is late, copying its last input.",
        f"- losses are MSE in {scaled}the units the network trains on.",
        memory_line(report, args),
    ]
    if any(UNDEFINED in line for line in lines):
        lines.append(UNDEFINED_NOTE)
    if report["warnings"]:
        lines += ["", "**Warnings**", ""] + [f"- {w}" for w in report["warnings"]]
    return "\n".join(lines) + "\n"


def memory_line(report: dict, args) -> str:
    """Peak memory, measured for the whole comparison: its runs share one process."""
    mb = report.get("peak_memory_mb")
    if mb is None:
        return "- peak memory: not measured on this platform."
    if report.get("memory_kind") == "RSS":
        return (
            f"- peak memory: {mb:.0f} MB, the peak resident set of the one process that trained "
            f"every run ({args.jobs} at a time), the PyTorch runtime included."
        )
    return f"- peak memory: {mb:.0f} MB of CUDA memory allocated, over every run."
