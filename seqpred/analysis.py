"""Looking inside the models: how far back a prediction reaches, and what the LSTM's gates do."""

from __future__ import annotations

import numpy as np
import torch

import cells


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


def lstm_gates(lstm: torch.nn.Module, window: torch.Tensor) -> dict[str, np.ndarray]:
    """Forget, input and output gate activations (seq_len, hidden) of an LSTM along one window.

    Works for both implementations: the weights of an nn.LSTM are copied into the hand-written
    ScratchLSTM, whose cells can report their gates (the state_dicts are interchangeable).
    """
    if type(lstm) is not cells.ScratchLSTM:  # nn.LSTM, or the fused layer (no gate output)
        scratch = cells.ScratchLSTM(lstm.input_size, lstm.hidden_size, lstm.num_layers)
        scratch.load_state_dict(lstm.state_dict(), strict=True)
        lstm = scratch.to(window.device)
    lstm.eval()
    with torch.no_grad():
        _, gates = lstm(window.unsqueeze(0), return_gates=True)  # (1, seq_len, hidden) each
    return {name: g[0].cpu().numpy() for name, g in gates.items()}
