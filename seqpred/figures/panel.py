"""The figures of a competition or panel: sMAPE by horizon, the critical-difference diagram of
the mean ranks, and a few series' forecasts."""

from __future__ import annotations

from pathlib import Path

from seqpred.figures.canvas import finish, save, style, subplots

import numpy as np

SHOWN = ("Naive2", "Theta")  # the benchmarks drawn beside the networks


def drawn(result: dict) -> list[str]:
    nets = [k for k, m in result["methods"].items() if m["group"] == "network"]
    return [*nets, *[k for k in SHOWN if k in result["methods"]], result["best_benchmark"]]


def by_horizon(result: dict, path: Path) -> Path:
    names = list(dict.fromkeys(drawn(result)))
    fig, ax = subplots(figsize=(8, 4.5))
    h = np.arange(1, result["horizon"] + 1)
    for name in names:
        ax.plot(
            h,
            result["methods"][name]["test"]["smape_by_horizon"],
            label=name,
            lw=1.5,
            markersize=4,
            **style(name, names),
        )
    return finish(
        fig,
        ax,
        path,
        "horizon (steps ahead)",
        "sMAPE (%)",
        f"sMAPE by horizon, {result['series']} series",
        ncol=3,
    )


def cd_diagram(result: dict, path: Path) -> Path:
    """Mean ranks on one axis; a bar of Nemenyi's critical difference; methods closer than it
    are not significantly different."""
    ranks = sorted(result["ranks"]["mean_rank"].items(), key=lambda kv: kv[1])
    cd = result["ranks"]["cd"]
    fig, ax = subplots(figsize=(8, 0.45 * len(ranks) + 1.5))
    y = np.arange(len(ranks))
    ax.plot([r for _, r in ranks], y, "o", color="tab:blue")
    ax.set_yticks(y, [k for k, _ in ranks])
    ax.invert_yaxis()
    if np.isfinite(cd):
        ax.errorbar(ranks[0][1] + cd / 2, -0.8, xerr=cd / 2, color="tab:red", capsize=4)
        ax.text(
            ranks[0][1] + cd / 2,
            -1.0,
            f"critical difference {cd:.2f}",
            ha="center",
            va="bottom",
            color="tab:red",
            fontsize="small",
        )
        ax.set_ylim(len(ranks) - 0.5, -1.6)
    ax.set_xlabel("mean rank across series (1 = best)")
    ax.set_ylabel("method")
    ax.set_title(f"Mean ranks; Friedman p = {result['ranks']['friedman_p']:.2g}")
    ax.grid(True, axis="x", alpha=0.3)
    return save(fig, path)


def forecasts(result: dict, panel, test: dict, path: Path, n: int = 4) -> Path:
    """The first n series: their last years, the hold-out and the forecasts."""
    names = list(dict.fromkeys(drawn(result)))
    picks = range(min(n, len(panel.ids)))
    fig, axes = subplots(len(picks), 1, figsize=(8, 2.6 * len(picks)), squeeze=False, sharex=True)
    h = panel.horizon
    for ax, i in zip(axes[:, 0], picks, strict=False):
        x = panel.train[i][-3 * h :]
        t = np.arange(-len(x), 0)
        ax.plot(t, x, color="black", lw=1.2, label="history")
        ax.plot(np.arange(h), panel.test[i], color="black", lw=1.2, ls="--", label="actual values")
        for name in names:
            ax.plot(
                np.arange(h), test[name][i], lw=1, markersize=3, label=name, **style(name, names)
            )
        ax.set_ylabel(f"series {panel.ids[i]}")
        ax.grid(True, alpha=0.3)
    axes[-1, 0].set_xlabel("steps after the training part")
    axes[0, 0].set_title("Forecasts of the first series")
    axes[-1, 0].legend(fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=3)
    return save(fig, path)


def draw(result: dict, panel, test: dict, out_dir) -> list[Path]:
    out = Path(out_dir)
    return [
        by_horizon(result, out / "smape_by_horizon.png"),
        cd_diagram(result, out / "cd_diagram.png"),
        forecasts(result, panel, test, out / "forecasts.png"),
    ]
