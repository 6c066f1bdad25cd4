"""What the terminal shows once a comparison is written: a short summary (at most 30 lines of
at most 100 columns) in plain words, the key numbers, and where the full report is."""

from __future__ import annotations

import textwrap

from seqpred.report.tables import fmt
from seqpred.report.verdicts import verdicts

WIDTH, LINES = 100, 30
VERDICT_LINES = 14  # the plain words' share of the summary; the rest is in results.md


def wrapped(text: str, first: str = "- ", rest: str = "  ") -> list[str]:
    return textwrap.wrap(
        text, WIDTH, initial_indent=first, subsequent_indent=rest, break_on_hyphens=False
    )


def fitted(lines: list[str]) -> list[str]:
    """Lines folded at WIDTH columns, each continuation indented under its line's text."""
    out = []
    for line in lines:
        indent = " " * (len(line) - len(line.lstrip()) + 2)
        out += textwrap.wrap(line, WIDTH, subsequent_indent=indent, break_on_hyphens=False) or [""]
    return out


def verdict_lines(found: list[str], where: str) -> list[str]:
    """The plain-words findings, wrapped, the first VERDICT_LINES lines of them; a last line
    says how many more are in the report."""
    lines, shown = [], 0
    for text in found:
        block = wrapped(text)
        if len(lines) + len(block) > VERDICT_LINES:
            break
        lines += block
        shown += 1
    if shown < len(found):
        lines.append(f"  ({len(found) - shown} more finding(s) in {where})")
    return lines


def comparison_summary(report: dict, where: str) -> str:
    """A comparison's summary: the findings, each model's and the strongest baselines' MASE and
    coverage, and where the full report is."""
    seeds = len(report["seeds"])
    head = f"What the numbers say ({report['dataset']}, {seeds} seed{'s' * (seeds > 1)}):"
    lines = [head, *verdict_lines(verdicts(report), where), ""]
    cols = "{:<16}{:<18}{:<18}{}"
    steps = report["steps"]
    lines.append(
        cols.format("", "one-step MASE", f"{steps}-step MASE", "coverage: split / adaptive")
    )
    for kind, m in report["models"].items():
        s = m["summary"]
        cover = "–"
        if s.get("coverage"):
            cover = f"{pct(s['coverage'])} / {pct(s.get('aci_coverage'))}"
            if (s.get("aci_capped_share") or {}).get("mean"):
                cover += f" ({pct(s['aci_capped_share'], 0)} capped)"
        lines.append(
            cols.format(kind, fmt(s["one_step_mase"]), fmt(s["forecast_mase_mean"]), cover)
        )
    best = report["best_baseline"]
    for name in dict.fromkeys((best["one_step"], best["forecast"])):
        b = report["baselines"][name]
        lines.append(
            cols.format(
                name[:15],
                f"{b['one_step_mase']:.3g}",
                f"{b['forecast_mase_mean']:.3g}",
                "(baseline)",
            )
        )
    lines += ["", f"Every table, test and interval: {where}"]
    return "\n".join(lines)


def pct(stat, digits: int = 1) -> str:
    mean = stat["mean"] if isinstance(stat, dict) else stat
    return "–" if mean is None else f"{100 * mean:.{digits}f} %"


def collection_summary(s: dict, where: str) -> str:
    """A collection's summary: the findings across the series, and the ranking."""
    from seqpred.report.collection import collection_verdicts

    methods = sorted(s["methods"], key=lambda m: s["mean_rank"][m])
    found = [v.removeprefix("- ") for v in collection_verdicts(s, methods, s["models"])]
    lines = [f"Across {len(s['series'])} series:", *verdict_lines(found, where), ""]
    cols = "{:<24}{:<12}{}"
    lines.append(cols.format("method", "mean rank", "median MASE"))
    lines += [
        cols.format(m, f"{s['mean_rank'][m]:.2f}", f"{s['median_mase'][m]:.3g}") for m in methods
    ]
    lines += ["", f"Every series, table and test: {where}"]
    return "\n".join(lines)
