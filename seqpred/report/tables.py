"""Formatting numbers and Markdown tables, shared by every report."""

from __future__ import annotations

import math

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
    """Skill scores, coverages and shares need other formats than errors do."""
    if stat is not None and stat["mean"] is not None and ("coverage" in key or "share" in key):
        stat = {**stat, "mean": 100 * stat["mean"], "std": 100 * (stat["std"] or 0)}
        return fmt(stat, ".1f")
    if "skill" in key and stat is not None and stat["mean"] is not None:
        return fmt(stat, ".3f" if abs(stat["mean"]) < 10 else ".0f")
    return fmt(stat, ".3g")


def table(head: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)] + [
        "| " + " | ".join(r) + " |" for r in rows
    ]


def num(value, spec=".3g") -> str:
    return "–" if value is None or not math.isfinite(value) else f"{value:{spec}}"


def pct(value) -> str:
    return "–" if value is None else f"{100 * value:.0f} %"


def seeds_words(report: dict) -> str:
    n = len(report["seeds"])
    return f"{n} seeds, mean ± std" if n > 1 else f"seed {report['seeds'][0]}"
