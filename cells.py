"""The three recurrent cells written from their equations, and layers that unroll them in time.

Each layer *is* an nn.RNN / nn.LSTM / nn.GRU (a subclass) with another forward: the same
weights in the same layout under the same names (weight_ih_l0, weight_hh_l0, bias_ih_l0,
bias_hh_l0, ...), so a state_dict moves between them, and tests check that both compute the same
outputs and gradients. `--impl scratch` runs models.py's nn layers with this file's forward
(seqpred.runtime.use_layers). The cells are slower than PyTorch's own kernels, but readable.

Shapes: x (batch, input_size); h, c (batch, hidden_size); weight_ih (gates * hidden, input);
weight_hh (gates * hidden, hidden), with the gates stacked in PyTorch's order.
"""

from __future__ import annotations

import torch
from torch import nn


def rnn_cell(x, h, w_ih, w_hh, b_ih, b_hh):
    """One vanilla RNN step, h' = tanh(W_ih x + b_ih + W_hh h + b_hh); it has no gates."""
    return torch.tanh(x @ w_ih.T + b_ih + h @ w_hh.T + b_hh), {}


def lstm_cell(x, state, w_ih, w_hh, b_ih, b_hh):
    """One LSTM step: returns the new (h, c) and the gate activations."""
    h, c = state
    # All four pre-activations at once: (batch, 4 * hidden), in PyTorch's order i, f, g, o.
    i, f, g, o = (x @ w_ih.T + b_ih + h @ w_hh.T + b_hh).chunk(4, dim=1)
    i = torch.sigmoid(i)  # input gate: how much of the candidate to write
    f = torch.sigmoid(f)  # forget gate: how much of the old cell state to keep
    g = torch.tanh(g)  # candidate memory
    o = torch.sigmoid(o)  # output gate: how much of the cell to show
    c = f * c + i * g  # cell state: an additive update, so gradients pass through f
    h = o * torch.tanh(c)
    return (h, c), {"input": i, "forget": f, "output": o}


def gru_cell(x, h, w_ih, w_hh, b_ih, b_hh):
    """One GRU step, in PyTorch's (and cuDNN's) convention: the new h and the gate activations.

    Two conventions exist. The original GRU (Cho et al., 2014) resets the old state *before*
    the recurrent matrix, n = tanh(W x + U (r * h)). PyTorch, cuDNN and Keras (reset_after=True,
    its default) apply the reset gate *after* it, n = tanh(W x + b + r * (U h + b_hn)), which
    lets all three recurrent products be computed in one matrix multiply. And here the update
    gate z keeps the *old* state, h' = (1 - z) * n + z * h; some tutorials write the mirror image
    h' = z * n + (1 - z) * h. Both learn the same things; only this one matches nn.GRU.
    """
    # (batch, 3 * hidden) each, in PyTorch's order r, z, n.
    x_r, x_z, x_n = (x @ w_ih.T + b_ih).chunk(3, dim=1)
    h_r, h_z, h_n = (h @ w_hh.T + b_hh).chunk(3, dim=1)
    r = torch.sigmoid(x_r + h_r)  # reset gate: how much of the old state the candidate sees
    z = torch.sigmoid(x_z + h_z)  # update gate: how much of the old state to keep
    n = torch.tanh(x_n + r * h_n)  # candidate state (reset applied after the matrix)
    return (1 - z) * n + z * h, {"reset": r, "update": z}


class _Unrolled:
    """What this file's layers change in nn.RNN / nn.LSTM / nn.GRU: only the forward, a plain
    loop over each layer's `cell` in time. The weights, their names and their initialisation
    are nn's own."""

    def __init__(self, input_size, hidden_size, num_layers=1, batch_first=True, dropout=0.0):
        if not batch_first:
            raise ValueError("the scratch layers take batch_first=True input only")
        super().__init__(input_size, hidden_size, num_layers, batch_first=True, dropout=dropout)

    def weights(self, layer: int):
        names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
        return [getattr(self, f"{name}_l{layer}") for name in names]

    def initial_state(self, x):
        return x.new_zeros(x.shape[0], self.hidden_size)

    def hidden(self, state):
        """The part of the state that is the layer's output."""
        return state

    def forward(self, x, hx=None, return_gates=False):
        # x: (batch, seq_len, input_size) -> out: (batch, seq_len, hidden_size)
        if hx is not None:
            raise ValueError("the scratch layers always start from a zero state")
        finals = []
        for layer in range(self.num_layers):
            if layer > 0 and self.dropout > 0:
                x = nn.functional.dropout(x, self.dropout, self.training)  # between layers only
            weights, state, outputs, trace = self.weights(layer), self.initial_state(x), [], []
            for t in range(x.shape[1]):  # the unrolling: one cell step per time step
                state, gates = self.cell(x[:, t], state, *weights)
                outputs.append(self.hidden(state))
                trace.append(gates)
            x = torch.stack(outputs, dim=1)
            finals.append(state)
        out = (x, self._final(finals))
        if return_gates:
            # Gate activations of the last layer: {name: (batch, seq_len, hidden_size)}.
            return out, {k: torch.stack([g[k] for g in trace], dim=1) for k in trace[0]}
        return out

    def _final(self, finals):
        return torch.stack(finals)  # h_n: (num_layers, batch, hidden_size)


class RNN(_Unrolled, nn.RNN):
    cell = staticmethod(rnn_cell)


class GRU(_Unrolled, nn.GRU):
    cell = staticmethod(gru_cell)


class LSTM(_Unrolled, nn.LSTM):
    cell = staticmethod(lstm_cell)

    def initial_state(self, x):
        zeros = x.new_zeros(x.shape[0], self.hidden_size)
        return zeros, zeros

    def hidden(self, state):
        return state[0]

    def _final(self, finals):
        # (h_n, c_n), each (num_layers, batch, hidden_size), as nn.LSTM returns them
        return torch.stack([h for h, _ in finals]), torch.stack([c for _, c in finals])


def lstm_gates(lstm: nn.Module, window: torch.Tensor) -> dict[str, torch.Tensor]:
    """Forget, input and output gate activations (seq_len, hidden) of an LSTM along one window.

    window: (seq_len, input_size). Works for every implementation: the weights of an nn.LSTM
    (or of the fused layer) are copied into this file's LSTM, whose cells report their gates.
    """
    if type(lstm) is not LSTM:
        copy = LSTM(lstm.input_size, lstm.hidden_size, lstm.num_layers)
        copy.load_state_dict(lstm.state_dict(), strict=True)
        lstm = copy.to(window.device)
    lstm.eval()
    with torch.no_grad():
        _, gates = lstm(window.unsqueeze(0), return_gates=True)  # (1, seq_len, hidden) each
    return {name: g[0].cpu() for name, g in gates.items()}
