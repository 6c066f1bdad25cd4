"""The article's three models, and the registry of model types the command line chooses from.

Each is a recurrent layer (batch_first=True) followed by a Linear head on the last time step.
The submodule names (`rnn`, `lstm`, `gru`, `fc`) are the article's, so a state_dict saved from
the article's classes loads here with strict=True.
"""

from __future__ import annotations

from torch import nn

import cells
from seqpred import fused

# --impl: where the recurrent layer comes from. "torch" is the plain case, PyTorch's nn.RNN,
# nn.LSTM and nn.GRU; "scratch" is cells.py, the same layers written from the equations (slow,
# for reading); "fused" runs the same equations as C kernels (fast on a CPU). All three keep
# PyTorch's weights under PyTorch's names, so a state_dict moves between them.
IMPLEMENTATIONS = {"torch": nn, "scratch": cells, "fused": fused}


def recurrent_layer(kind, impl, input_size, hidden_size, num_layers, dropout):
    """A batch-first recurrent layer; dropout acts between stacked layers only."""
    layer_class = getattr(IMPLEMENTATIONS[impl], kind)  # e.g. nn.LSTM, cells.LSTM, fused.LSTM
    dropout = dropout if num_layers > 1 else 0.0
    return layer_class(input_size, hidden_size, num_layers, batch_first=True, dropout=dropout)


class SimpleRNN(nn.Module):
    """Vanilla RNN: h_t = tanh(W_ih x_t + b_ih + W_hh h_(t-1) + b_hh); predict from h_T."""

    def __init__(
        self, input_size=1, hidden_size=10, output_size=1, num_layers=1, dropout=0.0, impl="torch"
    ):
        super().__init__()
        self.rnn = recurrent_layer("RNN", impl, input_size, hidden_size, num_layers, dropout)
        self.fc = nn.Linear(hidden_size, output_size)

    def forward(self, x):
        # x: (batch, seq_len, input_size) -> out: (batch, seq_len, hidden_size)
        out, _ = self.rnn(x)
        return self.fc(out[:, -1, :])  # last time step -> (batch, output_size)


class SimpleLSTM(nn.Module):
    """LSTM: forget, input and output gates guard a cell state c_t; predict from h_T."""

    def __init__(
        self, input_size=1, hidden_size=10, output_size=1, num_layers=1, dropout=0.0, impl="torch"
    ):
        super().__init__()
        self.lstm = recurrent_layer("LSTM", impl, input_size, hidden_size, num_layers, dropout)
        self.fc = nn.Linear(hidden_size, output_size)

    def forward(self, x):
        # x: (batch, seq_len, input_size) -> out: (batch, seq_len, hidden_size)
        out, _ = self.lstm(x)  # the second output, (h_n, c_n), is not needed here
        return self.fc(out[:, -1, :])  # last time step -> (batch, output_size)


class SimpleGRU(nn.Module):
    """GRU: reset and update gates blend the old state with a candidate; predict from h_T."""

    def __init__(
        self, input_size=1, hidden_size=10, output_size=1, num_layers=1, dropout=0.0, impl="torch"
    ):
        super().__init__()
        self.gru = recurrent_layer("GRU", impl, input_size, hidden_size, num_layers, dropout)
        self.fc = nn.Linear(hidden_size, output_size)

    def forward(self, x):
        # x: (batch, seq_len, input_size) -> out: (batch, seq_len, hidden_size)
        out, _ = self.gru(x)
        return self.fc(out[:, -1, :])  # last time step -> (batch, output_size)


MODEL_TYPES = {"RNN": SimpleRNN, "LSTM": SimpleLSTM, "GRU": SimpleGRU}


def build_model(model_type: str, **model_args) -> nn.Module:
    """Instantiate a model by its registry name (case-insensitive)."""
    return MODEL_TYPES[model_type.upper()](**model_args)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
