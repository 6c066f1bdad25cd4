"""Equal budgets (--match-params): each model's hidden size whose parameter count comes closest
to a target, found in closed form."""

from __future__ import annotations

import math

from seqpred.errors import FlagError


def matched_hidden_sizes(target, kinds, hidden: int, **sizes) -> dict[str, int]:
    """Each model's hidden size whose parameter count comes closest to `target` (a number, or a
    model type's count at `hidden`); ties go to the smaller size. sizes: num_layers,
    input_size, output_size. The count is a quadratic in the hidden size, so three counts give
    its coefficients, and the nearest whole size sits beside the root."""
    if isinstance(target, str):
        if target not in GATES:
            raise FlagError(f"--match-params {target}: give a number or a model type")
        target = parameters(target, hidden, **sizes)
    chosen = {}
    for kind in kinds:
        c1, c2, c3 = (parameters(kind, h, **sizes) for h in (1, 2, 3))
        a = (c3 - 2 * c2 + c1) / 2
        b = c2 - c1 - 3 * a
        c = c1 - a - b - target
        root = (-b + math.sqrt(max(0.0, b * b - 4 * a * c))) / (2 * a)
        near = {max(1, math.floor(root) + d) for d in (-1, 0, 1, 2)}
        chosen[kind] = min(near, key=lambda h, k=kind: (abs(parameters(k, h, **sizes) - target), h))
    return chosen


GATES = {"RNN": 1, "GRU": 3, "LSTM": 4}  # weight blocks per layer: nn.RNN's, nn.GRU's, nn.LSTM's


def parameters(
    kind: str, hidden_size: int, num_layers: int = 1, input_size: int = 1, output_size: int = 1
) -> int:
    """The parameter count of models.py's model, in closed form: per layer, each gate's input
    and recurrent weights and its two biases; then the Linear head. (A test compares it with the
    count of the built model at every size it tries.)"""
    g, h = GATES[kind], hidden_size
    layers = g * h * (input_size + h + 2) + (num_layers - 1) * g * h * (2 * h + 2)
    return layers + h * output_size + output_size
