"""Figures: loss curves, forecasts, gradient flow and gates, written atomically as PNG files with
the non-interactive Agg backend (imported only once a figure is drawn: matplotlib is slow to
load)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display needed; must come before pyplot is imported
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from seqpred import evaluation  # noqa: E402
from seqpred.fileio import atomic_write  # noqa: E402

# One colour and one marker per model, the same in every figure.
STYLE = {
    "RNN": {"color": "tab:blue", "marker": "o"},
    "LSTM": {"color": "tab:orange", "marker": "s"},
    "GRU": {"color": "tab:green", "marker": "^"},
}


def _style(name: str) -> dict:
    return STYLE.get(name, {"color": "tab:gray", "marker": "x"})


def _save(fig, path: str | Path) -> Path:
    path = Path(path)
    with atomic_write(path) as f:
        fig.savefig(f, format="png", dpi=120, bbox_inches="tight")
    plt.close(fig)
    return path


def plot_loss_curves(curves: dict[str, dict], path: str | Path, title: str) -> Path:
    """Train (solid) and test (dashed) MSE per epoch on a log scale, one colour per model.

    `curves[name]["train"]` and `["test"]` are arrays of shape (n_seeds, n_epochs); with several
    seeds the median is drawn with a shaded band from the minimum to the maximum.
    """
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for name, c in curves.items():
        color = _style(name)["color"]
        for split, ls in (("train", "-"), ("test", "--")):
            runs = np.atleast_2d(np.asarray(c[split], dtype=float))
            epochs = np.arange(1, runs.shape[1] + 1)
            ax.plot(epochs, np.median(runs, axis=0), ls, color=color, label=f"{name} {split}")
            if runs.shape[0] > 1:
                ax.fill_between(epochs, runs.min(0), runs.max(0), color=color, alpha=0.15, lw=0)
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("MSE loss (log scale)")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(ncol=max(1, len(curves)), fontsize="small")
    return _save(fig, path)


def plot_forecast(
    window: np.ndarray,
    truth: np.ndarray,
    forecasts: dict[str, np.ndarray],
    path: str | Path,
    title: str,
    ylabel: str = "value",
) -> Path:
    """The seed window, the true continuation, and each model's free-running forecast."""
    fig, ax = plt.subplots(figsize=(9, 4.5))
    n = len(window)
    ax.plot(np.arange(n), window, color="black", lw=2, label="initial window (true)")
    steps = np.arange(n, n + len(truth))
    ax.plot(steps, truth, color="gray", lw=4, alpha=0.5, label="exact continuation")
    every = max(1, len(truth) // 20)  # markers sparse enough to tell the curves apart
    for i, (name, values) in enumerate(forecasts.items()):
        s = _style(name)
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
    ax.axvline(n - 0.5, color="black", ls=":", lw=1)
    ax.set_xlabel("time step (0 = start of the seed window)")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=3)
    return _save(fig, path)


def _time_axis(labels: list[str] | None, n: int):
    """Dates as numpy datetime64 when the labels parse as dates, else plain step numbers."""
    if labels:
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
    """The test period: the true series, each model's one-step predictions and persistence."""
    x, xlabel = _time_axis(labels, len(truth))
    fig, ax = plt.subplots(figsize=(10, 4.5))
    ax.plot(x, truth, color="black", lw=2.5, label="truth")
    ax.plot(x, naive, color="gray", ls=":", lw=1.5, label="persistence (last value)")
    for name, values in predictions.items():
        s = _style(name)
        ax.plot(x, values, color=s["color"], lw=1.2, label=f"{name} one-step")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=5)
    return _save(fig, path)


def plot_gradient_flow(profiles: dict[str, dict[str, np.ndarray]], path, title: str) -> Path:
    """|d prediction / d x_(T-d)| against the distance d, trained (solid) and at init (dashed)."""
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for name, p in profiles.items():
        color = _style(name)["color"]
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
    fig, axes = plt.subplots(
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
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for name, row in table.items():
        s = _style(name)
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


def comparison_figures(runs: list[dict], data, args) -> list[Path]:
    """loss_curves.png (median and min-max band over seeds), predictions.png, one_step.png."""
    out = Path(args.out_dir)
    curves = {
        kind: {
            split: [r[f"{split}_losses"] for r in runs if r["model"] == kind]
            for split in ("train", "test")
        }
        for kind in args.models
    }
    n = args.seeds
    band = f" — median of {n} seeds, band: min to max" if n > 1 else ""
    scaled = ", standardized units" if data.units else ""
    # Each model's run with its lowest seed (after Ctrl-C that need not be --seed itself).
    first = {
        kind: min((r for r in runs if r["model"] == kind), key=lambda r: r["seed"])
        for kind in args.models
    }
    truth = data.unscale(data.test_y[:, 0]).numpy()
    start, steps = args.predict_start, args.predict_steps
    ylabel = f"{data.quantity} ({data.units})" if data.units else data.quantity
    shown = sorted({r["seed"] for r in first.values()})
    seed_note = ""
    if n > 1:
        seed_note = f" (seed {shown[0]})" if len(shown) == 1 else " (each model's lowest seed)"
    naive = evaluation.baselines(data, args)["persistence"]["one_step"]
    profiles = {
        kind: {
            stage: np.median([r[f"gradient_{stage}"] for r in runs if r["model"] == kind], axis=0)
            for stage in ("trained", "initial")
        }
        for kind in args.models
    }
    paths = [
        plot_loss_curves(
            curves,
            out / "loss_curves.png",
            f"Training (solid) and test (dashed) loss{band}{scaled}",
        ),
        plot_forecast(
            np.array(first[args.models[0]]["window"]),
            truth[start : start + steps],
            {k: np.array(r["forecast"]) for k, r in first.items()},
            out / "predictions.png",
            f"{steps}-step free-running forecasts from test index {start}{seed_note}",
            ylabel,
        ),
        plot_one_step(
            data.test_dates,
            truth,
            {k: np.array(r["one_step"]) for k, r in first.items()},
            naive,
            out / "one_step.png",
            f"One-step predictions over the test period{seed_note}",
            ylabel,
        ),
        plot_gradient_flow(
            profiles,
            out / "gradient_flow.png",
            "How far back each prediction reaches: mean |∂ŷ/∂x_t| over test windows"
            + (f" (median of {n} seeds)" if n > 1 else ""),
        ),
    ]
    if "LSTM" in first and first["LSTM"]["gates"] is not None:
        paths.append(
            plot_gates(
                np.array(first["LSTM"]["window"])[:, None],
                {k: np.array(v) for k, v in first["LSTM"]["gates"].items()},
                out / "lstm_gates.png",
                f"LSTM gates along the forecast's seed window{seed_note}",
            )
        )
    return paths


def one_model(kind, history, profiles, forecast, gates, data, args) -> list[Path]:
    """main.py --plot: one model's losses, gradient flow, forecast and (LSTM) gates."""
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
    if forecast is not None:
        truth = data.unscale(data.test_y[start : start + len(forecast), 0])
        paths.append(
            plot_forecast(
                window[:, 0].numpy(),
                truth.numpy(),
                {kind: np.asarray(forecast)},
                out / f"{kind}_forecast.png",
                f"{kind}: {len(forecast)}-step free-running forecast",
                ylabel=f"{data.quantity} ({data.units})" if data.units else data.quantity,
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
