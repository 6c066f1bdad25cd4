import inspect

from seqpred.budgets import parameters

import pytest
import torch
from torch import nn

from models import (
    MODEL_TYPES,
    SimpleGRU,
    SimpleLSTM,
    SimpleRNN,
    build_model,
    count_parameters,
)


@pytest.mark.parametrize("kind", list(MODEL_TYPES))
@pytest.mark.parametrize("num_layers", [1, 2])
def test_output_shape(kind, num_layers):
    model = build_model(kind, input_size=1, hidden_size=6, output_size=1, num_layers=num_layers)
    x = torch.randn(4, 7, 1)  # (batch, seq_len, input_size)
    assert model(x).shape == (4, 1)


def test_registry_is_case_insensitive_and_complete():
    assert set(MODEL_TYPES) == {"RNN", "LSTM", "GRU"}
    assert isinstance(build_model("gru"), SimpleGRU)
    assert isinstance(build_model("Lstm"), SimpleLSTM)
    assert isinstance(build_model("rnn"), SimpleRNN)


@pytest.mark.parametrize(
    ("cls", "layer_name", "layer_cls"),
    [(SimpleRNN, "rnn", nn.RNN), (SimpleLSTM, "lstm", nn.LSTM), (SimpleGRU, "gru", nn.GRU)],
)
def test_article_state_dict_loads_strictly(cls, layer_name, layer_cls):
    """A state_dict saved from the article's classes (layer + fc) loads with strict=True."""

    class ArticleModel(nn.Module):
        def __init__(self):
            super().__init__()
            setattr(self, layer_name, layer_cls(1, 10, 1, batch_first=True))
            self.fc = nn.Linear(10, 1)

        def forward(self, x):
            out, _ = getattr(self, layer_name)(x)
            return self.fc(out[:, -1, :])

    article = ArticleModel()
    ours = cls(input_size=1, hidden_size=10, output_size=1, num_layers=1)
    ours.load_state_dict(article.state_dict(), strict=True)
    x = torch.randn(3, 5, 1)
    torch.testing.assert_close(ours(x), article(x))


def test_dropout_only_between_stacked_layers():
    assert build_model("LSTM", num_layers=1, dropout=0.5).lstm.dropout == 0.0
    assert build_model("LSTM", num_layers=2, dropout=0.5).lstm.dropout == 0.5


def test_parameter_count_matches_the_formula():
    # GRU: 3 gates x (W_ih: h*i + W_hh: h*h + two biases: 2h), plus the head (h + 1).
    h, i = 20, 1
    expected = 3 * (h * i + h * h + 2 * h) + h + 1
    assert count_parameters(build_model("GRU", hidden_size=h)) == expected


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_the_closed_form_count_is_the_built_models_at_every_size_tried(kind):
    """budgets.parameters counts without building (the memory check, --match-params)."""
    for hidden in (1, 2, 3, 7, 20, 64):
        for layers in (1, 2, 3):
            for inputs, outputs in ((1, 1), (2, 1), (1, 12)):
                sizes = {"num_layers": layers, "input_size": inputs, "output_size": outputs}
                built = build_model(kind, hidden_size=hidden, **sizes)
                assert parameters(kind, hidden, **sizes) == count_parameters(built)


@pytest.mark.parametrize(
    ("cls", "layer_name", "layer_cls"),
    [(SimpleRNN, "rnn", nn.RNN), (SimpleLSTM, "lstm", nn.LSTM), (SimpleGRU, "gru", nn.GRU)],
)
def test_the_models_are_built_from_pytorchs_own_layers(cls, layer_name, layer_cls):
    """models.py reads like the article: nn.RNN, nn.LSTM and nn.GRU themselves, written out."""
    assert type(getattr(cls(), layer_name)) is layer_cls
    source = inspect.getsource(cls.__init__)
    assert f"self.{layer_name} = nn.{layer_cls.__name__}(" in source
