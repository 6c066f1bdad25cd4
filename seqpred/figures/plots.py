"""The plots both a comparison and main.py draw: loss curves, forecasts with their intervals,
the gradient flow, and an LSTM's gates."""

from __future__ import annotations

from pathlib import Path

from seqpred.figures.canvas import finish, save, style, subplots, time_axis

import numpy as np


def plot_loss_curves(curves: dict[str, dict], path: str | Path, title: str) -> Path:
    """Training MSE (left) and test MSE (right) per epoch on a shared log scale, one colour per
    model: side by side, so that neither hides the other.

    `curves[name]["train"]` and `["test"]` are arrays of shape (n_seeds, n_epochs); with several
    seeds the median is drawn with a shaded band from the minimum to the maximum.
    """
    fig, axes = subplots(1, 2, figsize=(11, 4.2), sharey=True)
    for ax, split in zip(axes, ("train", "test"), strict=True):
        for name, c in curves.items():
            color = style(name, curves)["color"]
            runs = np.atleast_2d(np.asarray(c[split], dtype=float))
            epochs = np.arange(1, runs.shape[1] + 1)
            ax.plot(epochs, np.median(runs, axis=0), color=color, lw=1.6, label=name)
            if runs.shape[0] > 1:
                ax.fill_between(epochs, runs.min(0), runs.max(0), color=color, alpha=0.15, lw=0)
        ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.set_title(f"{'training' if split == 'train' else 'test'} loss", fontsize="medium")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize="small")
    axes[0].set_ylabel("MSE loss (log scale)")
    fig.suptitle(title)
    return save(fig, path)


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
    x, xlabel = time_axis(dates, n + len(truth))
    if xlabel != "date":
        xlabel = "time step (0 = start of the seed window)"
    ax.plot(x[:n], window, color="black", lw=2, label="initial window (true)")
    steps = x[n : n + len(truth)]
    ax.plot(steps, truth, color="gray", lw=4, alpha=0.5, label="actual values")
    every = max(1, len(truth) // 20)  # markers sparse enough to tell the curves apart
    for i, (name, values) in enumerate(forecasts.items()):
        s = style(name, forecasts)
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
    return finish(fig, ax, path, xlabel, ylabel, title, ncol=3)


def plot_gradient_flow(profiles: dict[str, dict[str, np.ndarray]], path, title: str) -> Path:
    """|d prediction / d x_(T-d)| against the distance d, trained (solid) and at init (dashed)."""
    fig, ax = subplots(figsize=(8, 4.5))
    for name, p in profiles.items():
        color = style(name, profiles)["color"]
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
    return save(fig, path)


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
    return save(fig, path)
