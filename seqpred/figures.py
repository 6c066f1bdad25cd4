"""Figures: loss curves, forecasts, gradient flow and gates, written atomically as PNG files by
matplotlib's non-interactive Agg canvas (imported only once a figure is drawn: matplotlib is
slow to load)."""

from __future__ import annotations

from pathlib import Path

from seqpred.fileio import atomic_write
from seqpred.scoring.periods import Periods

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import NullLocator

# One colour and one marker per model, by its place among the models a figure draws (the order
# the user gave): every figure of a comparison draws them in that order, in the same colours.
PALETTE = [
    {"color": c, "marker": m}
    for c, m in zip(
        [
            "tab:blue",
            "tab:orange",
            "tab:green",
            "tab:red",
            "tab:purple",
            "tab:brown",
            "tab:pink",
            "tab:olive",
            "tab:cyan",
        ],
        "os^Dv<>PX",
        strict=True,
    )
]


def _style(name: str, names) -> dict:
    return PALETTE[list(names).index(name) % len(PALETTE)]


def subplots(*args, **kwargs):
    """A figure of its own on the Agg canvas, outside pyplot: nothing global changes, so a
    notebook's own plotting keeps its backend, and threads do not share pyplot's state."""
    fig = Figure(figsize=kwargs.pop("figsize", None))
    FigureCanvasAgg(fig)
    return fig, fig.subplots(*args, **kwargs)


def _save(fig, path: str | Path) -> Path:
    path = Path(path)
    with atomic_write(path) as f:
        fig.savefig(f, format="png", dpi=120, bbox_inches="tight")
    return path


def _finish(fig, ax, path, xlabel: str, ylabel: str, title: str, ncol: int) -> Path:
    """Axis labels, title, grid and the legend below the plot; then save."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=ncol)
    return _save(fig, path)


def plot_loss_curves(curves: dict[str, dict], path: str | Path, title: str) -> Path:
    """Training MSE (left) and test MSE (right) per epoch on a shared log scale, one colour per
    model: side by side, so that neither hides the other.

    `curves[name]["train"]` and `["test"]` are arrays of shape (n_seeds, n_epochs); with several
    seeds the median is drawn with a shaded band from the minimum to the maximum.
    """
    fig, axes = subplots(1, 2, figsize=(11, 4.2), sharey=True)
    for ax, split in zip(axes, ("train", "test"), strict=True):
        for name, c in curves.items():
            style = _style(name, curves)
            runs = np.atleast_2d(np.asarray(c[split], dtype=float))
            epochs = np.arange(1, runs.shape[1] + 1)
            ax.plot(epochs, np.median(runs, axis=0), color=style["color"], lw=1.6, label=name)
            if runs.shape[0] > 1:
                ax.fill_between(
                    epochs, runs.min(0), runs.max(0), color=style["color"], alpha=0.15, lw=0
                )
        ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.set_title(f"{'training' if split == 'train' else 'test'} loss", fontsize="medium")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize="small")
    axes[0].set_ylabel("MSE loss (log scale)")
    fig.suptitle(title)
    return _save(fig, path)


def plot_forecast(
    window: np.ndarray,
    truth: np.ndarray,
    forecasts: dict[str, np.ndarray],
    path: str | Path,
    title: str,
    ylabel: str = "value",
    bands: dict[str, np.ndarray] | None = None,
    dates: list[str] | None = None,
    band_words: str = "prediction interval",
) -> Path:
    """The seed window, the actual values after it, and each model's free-running forecast,
    with its prediction interval (forecast ± half-width per step) shaded where `bands` gives
    one (named in the legend by `band_words`); on a time axis of `dates` (window and
    continuation) when the series has them."""
    fig, ax = subplots(figsize=(9, 4.5))
    n = len(window)
    x, xlabel = _time_axis(dates, n + len(truth))
    if xlabel != "date":
        xlabel = "time step (0 = start of the seed window)"
    ax.plot(x[:n], window, color="black", lw=2, label="initial window (true)")
    steps = x[n : n + len(truth)]
    ax.plot(steps, truth, color="gray", lw=4, alpha=0.5, label="actual values")
    every = max(1, len(truth) // 20)  # markers sparse enough to tell the curves apart
    for i, (name, values) in enumerate(forecasts.items()):
        s = _style(name, forecasts)
        offset = i * every // max(1, len(forecasts))  # stagger markers so none hides another
        ax.plot(
            steps[: len(values)],
            values,
            color=s["color"],
            marker=s["marker"],
            markevery=(offset, every),
            ms=5,
            lw=1.2,
            label=f"{name} forecast",
        )
        if bands and name in bands:  # drawn at the horizons that have an interval
            half = np.asarray(bands[name], dtype=float)[: len(values)]
            span, ok = steps[: len(values)], np.isfinite(half)
            ax.fill_between(
                span,
                values - half,
                values + half,
                where=ok,
                color=s["color"],
                alpha=0.15,
                lw=0,
                label=f"{name} {band_words}",
            )
    ax.axvline(x[n - 1], color="black", ls=":", lw=1)
    return _finish(fig, ax, path, xlabel, ylabel, title, ncol=3)


def _time_axis(labels: list[str] | None, n: int):
    """Dates as numpy datetime64 when the labels parse as dates, else plain step numbers."""
    if labels and len(labels) == n:
        try:
            return np.array(labels, dtype="datetime64"), "date"
        except ValueError:
            pass
    return np.arange(n), "test step"


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
    x, xlabel = _time_axis(labels, len(truth))
    fig, (ax, err) = subplots(
        2, 1, figsize=(10, 6.4), sharex=True, gridspec_kw={"height_ratios": [3, 2]}
    )
    ax.plot(x, truth, color="black", lw=2.5, label="truth")
    ax.plot(x, naive, color="gray", ls=":", lw=1.5, label="persistence (last value)")
    dashes = ["-", "--", "-.", ":"]
    for i, (name, values) in enumerate(predictions.items()):
        s = _style(name, predictions)
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
    return _save(fig, path)


def plot_gradient_flow(profiles: dict[str, dict[str, np.ndarray]], path, title: str) -> Path:
    """|d prediction / d x_(T-d)| against the distance d, trained (solid) and at init (dashed)."""
    fig, ax = subplots(figsize=(8, 4.5))
    for name, p in profiles.items():
        color = _style(name, profiles)["color"]
        for stage, ls in (("trained", "-"), ("initial", "--")):
            if stage in p:
                values = np.asarray(p[stage])
                ax.plot(np.arange(len(values)), values, ls, color=color, label=f"{name} {stage}")
    ax.set_yscale("log")
    ax.set_xlabel("distance d = T − t to the last input (steps)")
    ax.set_ylabel("mean |∂ prediction / ∂ x_t| (log scale)")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize="small", ncol=max(1, len(profiles)))
    return _save(fig, path)


def plot_gates(window: np.ndarray, gates: dict[str, np.ndarray], path, title: str) -> Path:
    """The input window on top, then one heat map per gate: hidden units by time step."""
    names = [n for n in ("forget", "input", "output") if n in gates]
    fig, axes = subplots(
        len(names) + 1,
        1,
        figsize=(9, 2 + 2 * len(names)),
        sharex=True,
        gridspec_kw={"height_ratios": [1.2] + [1] * len(names)},
    )
    steps = np.arange(len(window))
    axes[0].plot(steps, window)  # one line per input feature
    axes[0].set_ylabel("input")
    axes[0].set_title(title)
    axes[0].grid(True, alpha=0.3)
    for ax, name in zip(axes[1:], names, strict=True):
        im = ax.imshow(
            gates[name].T,
            aspect="auto",
            cmap="viridis",
            vmin=0,
            vmax=1,
            interpolation="nearest",
            extent=(-0.5, len(window) - 0.5, gates[name].shape[1] - 0.5, -0.5),
        )
        ax.set_ylabel(f"{name} gate\nunit")
    axes[-1].set_xlabel("time step in the window")
    fig.colorbar(im, ax=axes, label="gate activation (0 = closed, 1 = open)", shrink=0.6)
    return _save(fig, path)


def plot_error_vs_length(table: dict[str, dict], path, title: str) -> Path:
    """Relative test error against sequence length, one line per model (min-max band)."""
    fig, ax = subplots(figsize=(8, 4.5))
    for name, row in table.items():
        s = _style(name, table)
        lengths = sorted(row)
        mean = [row[n]["mean"] for n in lengths]
        ax.plot(lengths, mean, color=s["color"], marker=s["marker"], label=name)
        ax.fill_between(
            lengths,
            [row[n]["min"] for n in lengths],
            [row[n]["max"] for n in lengths],
            color=s["color"],
            alpha=0.15,
            lw=0,
        )
    ax.axhline(1.0, color="gray", ls="--", lw=1, label="predicting the mean")
    ax.set_yscale("log")
    ax.set_xlabel("sequence length (the first marked value is at least length/2 steps back)")
    ax.set_ylabel("test MSE / variance of the target (log)")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize="small")
    return _save(fig, path)


def comparison_figures(runs: list[dict], report: dict, data, args) -> list[Path]:
    """Every figure of a comparison: losses, forecasts and their horizon curves, one-step
    predictions, gradient flow, and the LSTM's gates."""
    out, n = Path(args.out_dir), args.seeds
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
            f"{args.predict_steps}-step {args.strategy} forecasts from test index "
            f"{args.predict_start}, one of {report['origins']} origins{seed_note}",
            ylabel,
            bands={k: interval_of(r) for k, r in first.items() if interval_of(r) is not None},
            band_words=band_words(report),
            dates=data.window_dates(args.predict_start, args.predict_steps),
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


BASELINE_STYLES = [
    {"ls": "--", "color": "0.35"},
    {"ls": ":", "color": "0.2"},
    {"ls": "-.", "color": "0.5"},
    {"ls": (0, (5, 1.5)), "color": "0.65"},
    {"ls": (0, (1, 1.5)), "color": "0.55"},
    {"ls": (0, (3, 1, 1, 1, 1, 1)), "color": "0.3"},
]


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
        color = _style(kind, report["models"])["color"]
        ax.plot(h, curve["mean"], color=color, lw=2, label=kind)
        if len(m["runs"]) > 1:
            ax.fill_between(h, curve["min"], curve["max"], color=color, alpha=0.18, lw=0)
    for (name, b), style in zip(report["baselines"].items(), BASELINE_STYLES, strict=False):
        ax.plot(h, b["horizon"]["mase"], lw=1.4, label=name, **style)
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
    ax.legend(fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=4)
    for row, (key, words) in enumerate((("split", "split conformal"), ("adaptive", "adaptive"))):
        coverage_panel(fig.add_subplot(grid[row, 1]), report, h, key, words, last=row == 1)
    return _save(fig, path)


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
        color = _style(kind, report["models"])["color"]
        per_h = [(r if key == "split" else r["adaptive"])["coverage_per_h"] for r in runs]
        curve = [np.mean(v) if None not in v else np.nan for v in zip(*per_h, strict=True)]
        ax.plot(h, 100 * np.array(curve, dtype=float), color=color, lw=1.3, label=kind)
    if level is None:
        ax.text(0.5, 0.5, "no intervals", ha="center", va="center", transform=ax.transAxes)
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


def one_model(kind, history, profiles, gates, scored, data, args) -> list[Path]:
    """main.py --plot: one model's losses, gradient flow, forecast and (LSTM) gates. scored:
    main.report's run and summary (None for the adding problem: no forecast)."""
    h, out = history, Path(args.out_dir)
    paths = [
        plot_loss_curves(
            {kind: {"train": [h.train_losses], "test": [h.test_losses]}},
            out / f"{kind}_loss.png",
            f"{kind}: training and test loss",
        ),
        plot_gradient_flow(
            {kind: profiles},
            out / f"{kind}_gradient_flow.png",
            f"{kind}: how far back the prediction reaches",
        ),
    ]
    start = args.predict_start
    window = data.unscale(data.test_x[start])  # (seq_len, features), series units
    if scored is not None:
        run = scored["run"]
        forecast = np.asarray(run["forecast"])
        paths.append(
            plot_forecast(
                window[:, 0].numpy(),
                np.asarray(run["truth"]),
                {kind: forecast},
                out / f"{kind}_forecast.png",
                f"{kind}: {len(forecast)}-step {args.strategy} forecast from test index {start}, "
                f"one of {scored['summary']['origins']} origins",
                ylabel=f"{data.quantity} ({data.units})" if data.units else data.quantity,
                bands={kind: interval_of(run)} if interval_of(run) is not None else None,
                band_words=band_words(scored["summary"]),
                dates=data.window_dates(start, len(forecast)),
            )
        )
    if gates is not None:
        paths.append(
            plot_gates(
                window.numpy(),
                {k: np.asarray(v) for k, v in gates.items()},
                out / f"{kind}_gates.png",
                f"{kind} gates along test window {start}",
            )
        )
    return paths


def plot_sensitivity(trials: list[dict], path) -> Path:
    """Validation loss against learning rate and against hidden size, every trial of a sweep:
    how sensitive each cell is to its settings (pruned trials hollow, at their last epoch)."""
    fig, axes = subplots(1, 2, figsize=(11, 4.2), sharey=True)
    kinds = dict.fromkeys(t["model"] for t in trials)
    for kind in kinds:
        color = _style(kind, kinds)["color"]
        for state, fill in (("complete", color), ("pruned", "none")):
            rows = [t for t in trials if t["model"] == kind and t["state"] == state]
            rows = [t for t in rows if t["validation_mse"] is not None]
            if not rows:
                continue
            y = [t["validation_mse"] for t in rows]
            for ax, key in zip(axes, ("lr", "hidden_size"), strict=True):
                ax.scatter(
                    [t["params"][key] for t in rows],
                    y,
                    s=28,
                    facecolors=fill,
                    edgecolors=color,
                    label=f"{kind} {state}",
                )
    for ax, label in zip(axes, ("learning rate (log)", "hidden size (log)"), strict=True):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(label)
        ax.grid(True, which="both", alpha=0.3)
    axes[1].set_xticks([8, 16, 32, 64], ["8", "16", "32", "64"])
    axes[1].xaxis.set_minor_locator(NullLocator())
    axes[0].set_ylabel("validation MSE (log), standardized units")
    # below both plots, where it hides no trial
    axes[0].legend(fontsize="small", loc="upper center", bbox_to_anchor=(1.1, -0.14), ncol=6)
    fig.suptitle("How sensitive is each model to its settings? Every trial of the sweep")
    return _save(fig, path)


def plot_ranks(summary: dict, path) -> Path:
    """Each method's rank on every series (1 = best): one row a method, sorted by mean rank."""
    methods = sorted(summary["methods"], key=lambda m: summary["mean_rank"][m])
    series = summary["series"]
    ranks = np.array([[summary["ranks"][s][m] for s in series] for m in methods])
    fig, ax = subplots(figsize=(1.2 * len(series) + 3.5, 0.45 * len(methods) + 1.6))
    im = ax.imshow(ranks, cmap="viridis_r", aspect="auto", vmin=1, vmax=len(methods))
    for i in range(len(methods)):
        for j in range(len(series)):
            value = ranks[i, j]
            text = f"{value:.0f}" if value == int(value) else f"{value:.1f}"
            ax.text(
                j,
                i,
                text,
                ha="center",
                va="center",
                fontsize="small",
                color="white" if value > len(methods) / 2 else "black",
            )
    ax.set_xticks(range(len(series)), series, rotation=30, ha="right")
    labels = [f"{m} ({summary['mean_rank'][m]:.2f})" for m in methods]
    ax.set_yticks(range(len(methods)), labels)
    ax.set_title("Rank of each method's forecast MASE on every series (1 = best; mean rank)")
    fig.colorbar(im, ax=ax, label="rank", shrink=0.8)
    return _save(fig, path)
