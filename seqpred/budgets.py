"""Equal budgets (--match-params): each model's hidden size whose parameter count comes closest
to a target, found in closed form."""

from __future__ import annotations

import math

from seqpred.errors import FlagError


def matched_hidden_sizes(target, kinds, count, hidden: int) -> dict[str, int]:
    """Each model's hidden size whose parameter count comes closest to `target` (a number, or a
    model type's count at `hidden`); ties go to the smaller size. count(kind, hidden) is the
    count of models.py's model, measured. It is a quadratic in the hidden size, so three counts
    give its coefficients, and the nearest whole size sits beside the root."""
    if isinstance(target, str):
        try:
            target = count(target, hidden)
        except KeyError:
            raise FlagError(f"--match-params {target}: give a number or a model type") from None
    sizes = {}
    for kind in kinds:
        c1, c2, c3 = (count(kind, h) for h in (1, 2, 3))
        a = (c3 - 2 * c2 + c1) / 2
        b = c2 - c1 - 3 * a
        c = c1 - a - b - target
        root = (-b + math.sqrt(max(0.0, b * b - 4 * a * c))) / (2 * a)
        near = {max(1, math.floor(root) + d) for d in (-1, 0, 1, 2)}
        sizes[kind] = min(near, key=lambda h, k=kind: (abs(count(k, h) - target), h))
    return sizes
