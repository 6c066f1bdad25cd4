"""The article's three models, and the registry of model types the command line chooses from.

Each is PyTorch's recurrent layer (nn.RNN, nn.LSTM, nn.GRU, batch_first=True) followed by a
Linear head on the last time step. The submodule names (`rnn`, `lstm`, `gru`, `fc`) are the
article's, so a state_dict saved from the article's classes loads here with strict=True.
`--impl` does not change these models: it runs the same layers, with the same weights, through
cells.py's equations or through C kernels (run_by).
"""

from __future__ import annotations

from seqpred import fused
from seqpred.device import use_layers

from torch import nn

import cells


class SimpleRNN(nn.Module):
    """Vanilla RNN: h_t = tanh(W_ih x_t + b_ih + W_hh h_(t-1) + b_hh); predict from h_T."""

    def __init__(self, input_size=1, hidden_size=10, output_size=1, num_layers=1, dropout=0.0):
        super().__init__()
        dropout = dropout if num_layers > 1 else 0.0  # dropout acts between stacked layers only
        self.rnn = nn.RNN(input_size, hidden_size, num_layers, batch_first=True, dropout=dropout)
        self.fc = nn.Linear(hidden_size, output_size)

    def forward(self, x):
        # x: (batch, seq_len, input_size) -> out: (batch, seq_len, hidden_size)
        out, _ = self.rnn(x)
        return self.fc(out[:, -1, :])  # last time step -> (batch, output_size)


class SimpleLSTM(nn.Module):
    """LSTM: forget, input and output gates guard a cell state c_t; predict from h_T."""

    def __init__(self, input_size=1, hidden_size=10, output_size=1, num_layers=1, dropout=0.0):
        super().__init__()
        dropout = dropout if num_layers > 1 else 0.0
        self.lstm = nn.LSTM(input_size, hidden_size, num_layers, batch_first=True, dropout=dropout)
        self.fc = nn.Linear(hidden_size, output_size)

    def forward(self, x):
        # x: (batch, seq_len, input_size) -> out: (batch, seq_len, hidden_size)
        out, _ = self.lstm(x)  # the second output, (h_n, c_n), is not needed here
        return self.fc(out[:, -1, :])  # last time step -> (batch, output_size)


class SimpleGRU(nn.Module):
    """GRU: reset and update gates blend the old state with a candidate; predict from h_T."""

    def __init__(self, input_size=1, hidden_size=10, output_size=1, num_layers=1, dropout=0.0):
        super().__init__()
        dropout = dropout if num_layers > 1 else 0.0
        self.gru = nn.GRU(input_size, hidden_size, num_layers, batch_first=True, dropout=dropout)
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


LAYERS = {  # --impl: what runs models.py's nn layers, with the same weights
    "scratch": {"RNN": cells.RNN, "LSTM": cells.LSTM, "GRU": cells.GRU},  # the equations
    "fused": {"RNN": fused.RNN, "LSTM": fused.LSTM, "GRU": fused.GRU},  # the C kernels
}


def run_by(model: nn.Module, impl: str) -> nn.Module:
    """The same model, its nn.RNN/LSTM/GRU run by PyTorch (torch), by cells.py's equations
    (scratch) or by seqpred's C kernels (fused): the layers keep their weights and names."""
    return model if impl == "torch" else use_layers(model, LAYERS[impl])
