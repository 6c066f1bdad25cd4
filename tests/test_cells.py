"""The hand-written cells compute exactly what nn.RNN, nn.LSTM and nn.GRU compute."""

import pytest
import torch
from torch import nn

import cells

PAIRS = [(nn.RNN, cells.RNN), (nn.LSTM, cells.LSTM), (nn.GRU, cells.GRU)]


@pytest.mark.parametrize(("torch_cls", "scratch_cls"), PAIRS)
@pytest.mark.parametrize(("num_layers", "batch", "input_size"), [(1, 1, 1), (2, 5, 3), (3, 4, 2)])
def test_outputs_and_every_gradient_match_torch(
    torch_cls, scratch_cls, num_layers, batch, input_size
):
    torch.manual_seed(num_layers * 10 + batch)
    ref = torch_cls(input_size, 7, num_layers, batch_first=True).double()
    ours = scratch_cls(input_size, 7, num_layers, batch_first=True).double()
    ours.load_state_dict(ref.state_dict(), strict=True)  # weights copied from the torch module
    x = torch.randn(batch, 9, input_size, dtype=torch.double)
    x_ref, x_ours = x.clone().requires_grad_(), x.clone().requires_grad_()
    out_ref, state_ref = ref(x_ref)
    out_ours, state_ours = ours(x_ours)
    torch.testing.assert_close(out_ours, out_ref, atol=1e-5, rtol=0)
    for a, b in zip(
        state_ours if isinstance(state_ours, tuple) else [state_ours],
        state_ref if isinstance(state_ref, tuple) else [state_ref],
        strict=True,
    ):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=0)
    weights = torch.randn_like(out_ref)  # a loss that depends on every output step
    (out_ref * weights).sum().backward()
    (out_ours * weights).sum().backward()
    torch.testing.assert_close(x_ours.grad, x_ref.grad, atol=1e-5, rtol=0)
    ref_grads = dict(ref.named_parameters())
    for name, p in ours.named_parameters():
        torch.testing.assert_close(p.grad, ref_grads[name].grad, atol=1e-5, rtol=0, msg=name)


@pytest.mark.parametrize(("torch_cls", "scratch_cls"), PAIRS)
def test_state_dicts_move_both_ways(torch_cls, scratch_cls):
    ours = scratch_cls(1, 4, 2)
    ref = torch_cls(1, 4, 2, batch_first=True)
    assert set(ours.state_dict()) == set(ref.state_dict())
    ref.load_state_dict(ours.state_dict(), strict=True)


def test_float32_matches_too():
    torch.manual_seed(0)
    ref = nn.GRU(1, 20, batch_first=True)
    ours = cells.GRU(1, 20)
    ours.load_state_dict(ref.state_dict())
    x = torch.randn(16, 80, 1)
    torch.testing.assert_close(ours(x)[0], ref(x)[0], atol=1e-5, rtol=0)


def test_lstm_returns_its_gates():
    lstm = cells.LSTM(1, 6, 2)
    (out, (h, c)), gates = lstm(torch.randn(3, 11, 1), return_gates=True)
    assert set(gates) == {"input", "forget", "output"}
    for g in gates.values():
        assert g.shape == (3, 11, 6) and g.min() >= 0 and g.max() <= 1
    assert out.shape == (3, 11, 6) and h.shape == c.shape == (2, 3, 6)
