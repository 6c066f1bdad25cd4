"""What every figure must show before it is saved: axes labelled, lines that can be seen, a
legend wherever several labelled lines share an axis. conftest.py runs it on every figure any
test draws in its own process."""

import math

import numpy as np


def problems(fig) -> list[str]:
    """What is wrong with a matplotlib figure about to be saved ([] when nothing)."""
    found = []
    # a colour bar's axes carry their one label, set by fig.colorbar
    axes = [
        a for a in fig.get_axes() if a.get_visible() and drawn(a) and not hasattr(a, "_colorbar")
    ]
    if not axes:
        return ["nothing is drawn"]
    for n, ax in enumerate(axes):
        where = f"axes {n} ({ax.get_title() or 'untitled'})"
        # an axis shared with a neighbour may carry its label once, on the neighbour
        if not any(a.get_ylabel() for a in ax.get_shared_y_axes().get_siblings(ax)):
            found.append(f"{where}: no y label")
        if not any(a.get_xlabel() for a in ax.get_shared_x_axes().get_siblings(ax)):
            found.append(f"{where}: no x label")
        found += [f"{where}: {p}" for line in ax.get_lines() for p in line_problems(ax, line)]
        labelled = [a for a in ax.get_lines() + ax.collections if not a.get_label().startswith("_")]
        if len(labelled) > 1 and not legend_for(ax, fig, {a.get_label() for a in labelled}):
            found.append(f"{where}: {len(labelled)} labelled lines and no legend")
    return found


def legend_for(ax, fig, labels: set[str]) -> bool:
    """A legend naming these labels: the axes' own, the figure's, or one on an axes that shares
    its x axis (two panels of the same lines may carry one legend)."""
    if ax.get_legend() is not None or fig.legends:
        return True
    for other in ax.get_shared_x_axes().get_siblings(ax):
        legend = other.get_legend()
        if legend is not None and labels <= {t.get_text() for t in legend.get_texts()}:
            return True
    return False


def drawn(ax) -> bool:
    return bool(ax.get_lines() or ax.collections or ax.patches or ax.images)


def line_problems(ax, line) -> list[str]:
    """A line that cannot be seen: hidden, transparent, of no width and no marker, with no
    finite point, or with none of its points inside the axes' limits."""
    name = line.get_label()
    if not line.get_visible():
        return [f"line {name!r} is hidden"]
    alpha = line.get_alpha()
    if alpha is not None and alpha < 0.2:
        return [f"line {name!r} is almost transparent (alpha {alpha})"]
    if line.get_linewidth() <= 0 and line.get_marker() in (None, "", "None", " "):
        return [f"line {name!r} has no width and no marker"]
    x, y = (np.asarray(v, dtype=float) for v in line.get_data(orig=False))
    if x.size == 0:
        return []  # an empty line (a legend handle, say) draws nothing to lose
    ok = np.isfinite(x) & np.isfinite(y)
    if not ok.any():
        return [f"line {name!r} has no finite point"]
    (x0, x1), (y0, y1) = sorted(ax.get_xlim()), sorted(ax.get_ylim())
    transform = line.get_transform()
    if transform == ax.get_yaxis_transform():  # axhline: x in axes coordinates
        x0, x1 = 0.0, 1.0
    elif transform == ax.get_xaxis_transform():  # axvline: y in axes coordinates
        y0, y1 = 0.0, 1.0
    inside = ok & (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)
    if not inside.any() and not math.isclose(x0, x1):
        return [f"line {name!r} lies outside the axes' limits"]
    return []
