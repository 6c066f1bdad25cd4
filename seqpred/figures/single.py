"""main.py's figures of one model, the gates and the gradient flow, and the figures of the
adding problem, a sweep and a collection."""

from __future__ import annotations

from pathlib import Path

from seqpred.figures.canvas import save, style, subplots
from seqpred.figures.comparison import band_words, interval_of
from seqpred.figures.plots import plot_forecast, plot_gates, plot_gradient_flow, plot_loss_curves

import numpy as np
from matplotlib.ticker import NullLocator


def one_model(kind, history, profiles, gates, scored, data, out_dir, score) -> list[Path]:
    """main.py --plot: one model's losses, gradient flow, forecast and (LSTM) gates. scored:
    main.report's run and summary (None for the adding problem: no forecast)."""
    h, out = history, Path(out_dir)
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
    start = score.start if score is not None else 0
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
                f"{kind}: {len(forecast)}-step {score.strategy} forecast from test index {start}, "
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


def plot_error_vs_length(table: dict[str, dict], path, title: str) -> Path:
    """Relative test error against sequence length, one line per model (min-max band)."""
    fig, ax = subplots(figsize=(8, 4.5))
    for name, row in table.items():
        s = style(name, table)
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
    return save(fig, path)


def plot_sensitivity(trials: list[dict], path) -> Path:
    """Validation loss against learning rate and against hidden size, every trial of a sweep:
    how sensitive each cell is to its settings (pruned trials hollow, at their last epoch)."""
    fig, axes = subplots(1, 2, figsize=(11, 4.2), sharey=True)
    kinds = dict.fromkeys(t["model"] for t in trials)
    for kind in kinds:
        color = style(kind, kinds)["color"]
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
    return save(fig, path)


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
    ax.set_xlabel("series")
    ax.set_ylabel("method (mean rank)")
    ax.set_title("Rank of each method's forecast MASE on every series (1 = best; mean rank)")
    fig.colorbar(im, ax=ax, label="rank", shrink=0.8)
    return save(fig, path)
