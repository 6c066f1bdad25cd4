"""The canvas every figure is drawn on: matplotlib's non-interactive Agg, outside pyplot, one
colour and marker per model, a time axis of dates where the series has them, and the PNG file
written atomically."""

from __future__ import annotations

from pathlib import Path

from seqpred.fileio import atomic_write

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

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


def style(name: str, names) -> dict:
    return PALETTE[list(names).index(name) % len(PALETTE)]


def subplots(*args, **kwargs):
    """A figure of its own on the Agg canvas, outside pyplot: nothing global changes, so a
    notebook's own plotting keeps its backend, and threads do not share pyplot's state."""
    fig = Figure(figsize=kwargs.pop("figsize", None))
    FigureCanvasAgg(fig)
    return fig, fig.subplots(*args, **kwargs)


def save(fig, path: str | Path) -> Path:
    path = Path(path)
    with atomic_write(path) as f:
        fig.savefig(f, format="png", dpi=120, bbox_inches="tight")
    return path


def finish(fig, ax, path, xlabel: str, ylabel: str, title: str, ncol: int) -> Path:
    """Axis labels, title, grid and the legend below the plot; then save."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=ncol)
    return save(fig, path)


def time_axis(labels: list[str] | None, n: int):
    """Dates as numpy datetime64 when the labels parse as dates, else plain step numbers."""
    if labels and len(labels) == n:
        try:
            return np.array(labels, dtype="datetime64"), "date"
        except ValueError:
            pass
    return np.arange(n), "test step"
