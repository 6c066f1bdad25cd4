"""The figure check conftest.py runs on every saved figure finds what it looks for."""

import numpy as np
from figure_check import problems
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


def figure(n_axes=1):
    fig = Figure()
    FigureCanvasAgg(fig)
    return fig, fig.subplots(1, n_axes) if n_axes > 1 else fig.subplots()


def labelled(ax):
    ax.set_xlabel("step")
    ax.set_ylabel("value")


def test_a_readable_figure_passes():
    fig, ax = figure()
    ax.plot([0, 1, 2], [1, 2, 3], label="a")
    ax.plot([0, 1, 2], [3, 2, 1], label="b")
    ax.axhline(10.0, label="_level")  # outside the data, and the limits grow to show it
    labelled(ax)
    ax.legend()
    assert problems(fig) == []


def test_each_fault_is_found():
    fig, (a, b) = figure(2)
    a.plot([0, 1], [0, 1], label="hidden")[0].set_visible(False)
    a.plot([0, 1], [1, 0], label="faint", alpha=0.05)
    a.plot([0, 1], [np.nan, np.nan], label="empty")
    labelled(a)
    a.legend()
    b.plot([0, 1], [0, 1], label="one")
    b.plot([0, 1], [1, 2], label="two")
    b.plot([0, 1], [50, 60], label="off")
    b.set_ylim(0, 3)
    found = " | ".join(problems(fig))
    for words in (
        "'hidden' is hidden",
        "'faint' is almost transparent",
        "'empty' has no finite",
        "no y label",
        "no x label",
        "and no legend",
        "'off' lies outside",
    ):
        assert words in found


def test_a_blank_figure_is_refused():
    fig, ax = figure()
    assert problems(fig) == ["nothing is drawn"]
