"""Looking inside a model: how far back its prediction reaches, the vanishing gradient measured."""

from __future__ import annotations

import numpy as np
import torch


def input_gradient_profile(model, x: torch.Tensor) -> np.ndarray:
    """Mean |d prediction / d x_t| over windows, indexed by the distance T - t to the last input.

    x: (n, seq_len, features). Entry d of the result says how strongly the prediction moves
    when the input d steps before its end moves: the vanishing gradient, measured.
    """
    model.eval()
    x = x.detach().clone().requires_grad_(True)
    # cuDNN's RNN backward only runs in training mode; the plain kernels have no such limit.
    with torch.backends.cudnn.flags(enabled=False):
        (grad,) = torch.autograd.grad(model(x).sum(), x)
    per_step = grad.norm(dim=2).mean(dim=0)  # (seq_len,): average over windows
    return per_step.flip(0).cpu().numpy()  # index 0 = the last input


def gradient_profiles(trained, untrained, x: torch.Tensor) -> dict[str, np.ndarray]:
    """input_gradient_profile of a trained model and of the same network at its initial weights."""
    return {
        "trained": input_gradient_profile(trained, x),
        "initial": input_gradient_profile(untrained, x),
    }
