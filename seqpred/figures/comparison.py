"""The figures of a comparison: losses, forecasts with their intervals, one-step predictions
and their errors, the error and the intervals' coverage by horizon, and the gradient flow."""

from __future__ import annotations

from pathlib import Path

from seqpred.figures.canvas import save, style, subplots, time_axis
from seqpred.figures.plots import plot_forecast, plot_gates, plot_gradient_flow, plot_loss_curves
from seqpred.scoring.periods import Periods

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


def comparison_figures(runs: list[dict], report: dict, data, out_dir) -> list[Path]:
    """Every figure of a comparison: losses, forecasts and their horizon curves, one-step
    predictions, gradient flow, and the LSTM's gates."""
    out, n = Path(out_dir), len(report["seeds"])
    steps, start, strategy = report["steps"], report["start"], report["strategy"]
    # Each model's run with its lowest seed (after Ctrl-C that need not be --seed itself).
    first = {
        kind: min((r for r in runs if r["model"] == kind), key=lambda r: r["seed"])
        for kind in report["models"]
    }
    shown = sorted({r["seed"] for r in first.values()})
    seed_note = ""
    if n > 1:
        seed_note = f" (seed {shown[0]})" if len(shown) == 1 else " (each model's lowest seed)"
    ylabel = f"{data.quantity} ({data.units})" if data.units else data.quantity
    truth = data.unscale(data.test_y[:, 0]).numpy()
    paths = [
        loss_figure(runs, report, data, out / "loss_curves.png", n),
        plot_forecast(
            np.array(first[next(iter(first))]["window"]),
            np.array(first[next(iter(first))]["truth"]),
            {k: np.array(r["forecast"]) for k, r in first.items()},
            out / "predictions.png",
            f"{steps}-step {strategy} forecasts from test index {start}, one of "
            f"{report['origins']} origins{seed_note}",
            ylabel,
            bands={k: interval_of(r) for k, r in first.items() if interval_of(r) is not None},
            band_words=band_words(report),
            dates=data.window_dates(start, steps),
        ),
        plot_horizon(report, out / "horizon.png", ylabel),
        plot_one_step(
            data.test_dates,
            truth,
            {k: np.array(r["one_step"]) for k, r in first.items()},
            persistence_of(data),
            out / "one_step.png",
            f"One-step predictions over the test period{seed_note}",
            ylabel,
        ),
        gradient_figure(runs, report, out / "gradient_flow.png", n),
    ]
    lstm = first.get("LSTM")
    if lstm is not None and lstm["gates"] is not None:
        paths.append(
            plot_gates(
                np.array(lstm["window"])[:, None],
                {k: np.array(v) for k, v in lstm["gates"].items()},
                out / "lstm_gates.png",
                f"LSTM gates along the forecast's seed window{seed_note}",
            )
        )
    return paths


def persistence_of(data) -> np.ndarray:
    """Persistence's one-step predictions of the test period: each value the one before it."""
    periods = Periods(data)
    return periods.values[periods.test_start - 1 : -1]


def band_words(report: dict) -> str:
    """The legend's words for a shaded interval: its level and method."""
    return f"{report['interval']:.0%} interval (split conformal)"


def interval_of(run: dict):
    """The half-widths of a run's prediction interval at each horizon, if it has one."""
    interval = run["evidence"].get("interval")
    return None if interval is None else np.array(interval["half_width"], dtype=float)


def loss_figure(runs, report, data, path, n) -> Path:
    curves = {
        kind: {
            split: [r[f"{split}_losses"] for r in runs if r["model"] == kind]
            for split in ("train", "test")
        }
        for kind in report["models"]
    }
    band = f" — median of {n} seeds, band: min to max" if n > 1 else ""
    scaled = ", standardized units" if data.units else ""
    return plot_loss_curves(curves, path, f"Loss per epoch{band}{scaled}")


def gradient_figure(runs, report, path, n) -> Path:
    profiles = {
        kind: {
            stage: np.median([r[f"gradient_{stage}"] for r in runs if r["model"] == kind], axis=0)
            for stage in ("trained", "initial")
        }
        for kind in report["models"]
    }
    return plot_gradient_flow(
        profiles,
        path,
        "How far back each prediction reaches: mean |∂ŷ/∂x_t| over test windows"
        + (f" (median of {n} seeds)" if n > 1 else ""),
    )


def plot_one_step(
    labels: list[str] | None,
    truth: np.ndarray,
    predictions: dict[str, np.ndarray],
    naive: np.ndarray,
    path: str | Path,
    title: str,
    ylabel: str = "value",
) -> Path:
    """The test period: above, the true series, each model's one-step predictions and
    persistence; below, each model's error (prediction − truth), where predictions that lie on
    top of one another above can be told apart."""
    x, xlabel = time_axis(labels, len(truth))
    fig, (ax, err) = subplots(
        2, 1, figsize=(10, 6.4), sharex=True, gridspec_kw={"height_ratios": [3, 2]}
    )
    ax.plot(x, truth, color="black", lw=2.5, label="truth")
    ax.plot(x, naive, color="gray", ls=":", lw=1.5, label="persistence (last value)")
    dashes = ["-", "--", "-.", ":"]
    for i, (name, values) in enumerate(predictions.items()):
        s = style(name, predictions)
        ax.plot(x, values, color=s["color"], ls=dashes[i % 4], lw=1.2, label=f"{name} one-step")
        err.plot(
            x, np.asarray(values) - truth, color=s["color"], ls=dashes[i % 4], lw=1.1, label=name
        )
    err.axhline(0, color="black", lw=0.8)
    err.set_ylabel(f"error: prediction − truth\n{ylabel}" if ylabel != "value" else "error")
    err.grid(True, alpha=0.3)
    err.legend(fontsize="small", ncol=len(predictions), loc="upper right")
    fig.suptitle(title)
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small", loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=5)
    err.set_xlabel(xlabel)
    return save(fig, path)


BASELINE_STYLES = [
    {"ls": "--", "color": "0.35"},
    {"ls": ":", "color": "0.2"},
    {"ls": "-.", "color": "0.5"},
    {"ls": (0, (5, 1.5)), "color": "0.65"},
    {"ls": (0, (1, 1.5)), "color": "0.55"},
    {"ls": (0, (3, 1, 1, 1, 1, 1)), "color": "0.3"},
    {"ls": (0, (6, 2)), "color": "0.75"},
    {"ls": (0, (1, 3)), "color": "0.1"},
]  # one a baseline: the five simple ones and statsforecast's three


def plot_horizon(report: dict, path, ylabel: str) -> Path:
    """Left: MASE against the horizon h over every test origin, one colour per model (the mean
    over seeds, a band from the best to the worst seed), each baseline in gray. Right: the
    intervals' coverage at each horizon, split conformal above and adaptive below, against the
    nominal level and the band binomial noise alone would fill."""
    fig = Figure(figsize=(13, 5.6))
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(2, 2, width_ratios=[3, 2], hspace=0.35)
    ax = fig.add_subplot(grid[:, 0])
    h = np.arange(1, report["steps"] + 1)
    n = len(report["seeds"])
    for kind, m in report["models"].items():
        curve = m["summary"]["horizon_mase"]
        if not finite(curve["mean"]):
            continue  # MASE is undefined where the in-sample naive error is zero
        color = style(kind, report["models"])["color"]
        ax.plot(h, curve["mean"], color=color, lw=2, label=kind)
        if len(m["runs"]) > 1:
            ax.fill_between(h, curve["min"], curve["max"], color=color, alpha=0.18, lw=0)
    for i, (name, b) in enumerate(report["baselines"].items()):  # every one, none left out
        look = BASELINE_STYLES[i % len(BASELINE_STYLES)]
        if finite(b["horizon"]["mase"]):
            ax.plot(h, b["horizon"]["mase"], lw=1.4, label=name, **look)
    if not ax.get_lines():
        ax.text(
            0.5,
            0.5,
            "MASE undefined: the in-sample naive error is zero",
            ha="center",
            va="center",
            transform=ax.transAxes,
        )
    values = [v for m in report["models"].values() for v in m["summary"]["horizon_mase"]["min"]]
    values += [v for b in report["baselines"].values() for v in b["horizon"]["mase"]]
    positive = [v for v in values if v > 0]
    if positive and max(positive) / min(positive) > 50:
        ax.set_yscale("log")
    seeds = f"mean of {n} seeds, band: best to worst" if n > 1 else f"seed {report['seeds'][0]}"
    ax.set_xlabel("horizon h (steps ahead)")
    ax.set_ylabel("MASE (1 = in-sample naive error)")
    ax.set_title(
        f"Error by horizon, {report['origins']} {report['strategy']} origins ({seeds})",
        fontsize="medium",
    )
    ax.grid(True, which="both", alpha=0.3)
    if ax.get_lines():
        ax.legend(fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=4)
    top = fig.add_subplot(grid[0, 1])
    coverage_panel(top, report, h, "split", "split conformal", last=False)
    bottom = fig.add_subplot(grid[1, 1], sharex=top)  # one horizon axis, labelled below
    coverage_panel(bottom, report, h, "adaptive", "adaptive", last=True)
    return save(fig, path)


def finite(values) -> bool:
    """Whether a curve has any point to draw (None and NaN are none)."""
    return bool(np.isfinite(np.array(values, dtype=float)).any())


def coverage_panel(ax, report: dict, h, key: str, words: str, last: bool) -> None:
    """Each model's coverage by horizon (the mean over seeds) for one kind of interval, with the
    nominal level and the 95 % band of binomial noise around it over the test origins."""
    from scipy import stats

    level, n = None, report["origins"]
    for kind, m in report["models"].items():
        runs = [r["interval"] for r in m["runs"] if r.get("interval")]
        if not runs:
            continue
        level = runs[0]["level"]
        color = style(kind, report["models"])["color"]
        per_h = [(r if key == "split" else r["adaptive"])["coverage_per_h"] for r in runs]
        curve = [np.mean(v) if None not in v else np.nan for v in zip(*per_h, strict=True)]
        if not finite(curve):
            continue
        ax.plot(h, 100 * np.array(curve, dtype=float), color=color, lw=1.3, label=kind)
    if level is None or not ax.get_lines():
        ax.text(0.5, 0.5, f"no {words} intervals", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return
    low, high = (100 * stats.binom.ppf(q, n, level) / n for q in (0.025, 0.975))
    ax.axhspan(low, high, color="0.85", lw=0, label="binomial noise (95 %)")
    ax.axhline(100 * level, color="black", lw=1, ls=":", label=f"nominal {level:.0%}")
    seeds = len(report["seeds"])
    over = f"mean of {seeds} seeds" if seeds > 1 else f"seed {report['seeds'][0]}"
    ax.set_title(f"{words} interval coverage by horizon ({over})", fontsize="medium")
    ax.set_ylabel("coverage, %")
    ax.grid(True, alpha=0.3)
    if last:
        ax.set_xlabel("horizon h (steps ahead)")
        ax.legend(fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.28), ncol=3)
