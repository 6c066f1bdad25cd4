"""The fused C kernels compute what nn.RNN/LSTM/GRU compute, and train to the same losses."""

import pytest
import torch
from torch import nn

import data as datasets
import main as trainer
from seqpred import fused, runtime

pytestmark = pytest.mark.skipif(not fused.available()[0], reason="no C compiler for fused.py")

PAIRS = [(nn.RNN, fused.RNN), (nn.LSTM, fused.LSTM), (nn.GRU, fused.GRU)]


@pytest.mark.parametrize(("torch_cls", "fused_cls"), PAIRS)
@pytest.mark.parametrize(
    ("layers", "batch", "features", "hidden"), [(1, 500, 1, 20), (2, 37, 3, 7)]
)
def test_outputs_and_gradients_match_torch(torch_cls, fused_cls, layers, batch, features, hidden):
    torch.manual_seed(layers + batch)
    ref = torch_cls(features, hidden, layers, batch_first=True)
    ours = fused_cls(features, hidden, layers)
    ours.load_state_dict(ref.state_dict(), strict=True)
    x = torch.randn(batch, 11, features)
    x_ref, x_ours = x.clone().requires_grad_(), x.clone().requires_grad_()
    (out_ref, state_ref), (out_ours, state_ours) = ref(x_ref), ours(x_ours)
    torch.testing.assert_close(out_ours, out_ref, atol=1e-5, rtol=1e-4)
    as_tuple = [s if isinstance(s, tuple) else (s,) for s in (state_ours, state_ref)]
    states = list(zip(*as_tuple, strict=True))
    for ours_state, ref_state in states:
        torch.testing.assert_close(ours_state, ref_state, atol=1e-5, rtol=1e-4)
    w = torch.randn_like(out_ref)
    # A loss on every output step and on the final state(s), so every gradient path is used.
    loss_ref = (out_ref * w).sum() + sum(s.sum() for _, s in states)
    loss_ours = (out_ours * w).sum() + sum(s.sum() for s, _ in states)
    loss_ref.backward()
    loss_ours.backward()
    torch.testing.assert_close(x_ours.grad, x_ref.grad, atol=1e-5, rtol=1e-4)
    ref_grads = dict(ref.named_parameters())
    for name, p in ours.named_parameters():
        torch.testing.assert_close(p.grad, ref_grads[name].grad, atol=1e-4, rtol=1e-4, msg=name)


@pytest.mark.parametrize("function", [fused._RNNFunction, fused._LSTMFunction, fused._GRUFunction])
def test_hand_written_backward_passes_gradcheck(function):
    torch.manual_seed(0)
    gates = {fused._RNNFunction: 1, fused._LSTMFunction: 4, fused._GRUFunction: 3}[function]
    T, features, batch, hidden = 4, 2, 3, 3
    inputs = [
        torch.randn(T, features, batch, dtype=torch.double),
        torch.randn(gates * hidden, features, dtype=torch.double),
        torch.randn(gates * hidden, hidden, dtype=torch.double),
        torch.randn(gates * hidden, dtype=torch.double),
        torch.randn(gates * hidden, dtype=torch.double),
    ]
    inputs = [t.requires_grad_() for t in inputs]
    assert torch.autograd.gradcheck(function.apply, inputs, eps=1e-6, atol=1e-6)


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_fused_trains_to_the_same_losses_as_torch(kind):
    d = datasets.build_sine(20, 0.2)
    data = datasets.SeriesData(
        "sine", d.train_x[:300], d.train_y[:300], d.test_x[:50], d.test_y[:50]
    )
    losses = {}
    for impl in ("torch", "fused"):
        config = trainer.RunConfig(epochs=4, batch_size=100, hidden_size=8, impl=impl)
        h = trainer.train_model(kind, data, config, torch.device("cpu")).history
        losses[impl] = h.train_losses + h.test_losses
    assert losses["fused"] == pytest.approx(losses["torch"], rel=1e-4)


def test_auto_falls_back_to_torch_without_a_compiler(tmp_path, monkeypatch):
    monkeypatch.setenv("SEQPRED_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("CC", str(tmp_path / "no-such-compiler"))
    fused.library.cache_clear()
    try:
        ok, why = fused.available()
        assert not ok and "no-such-compiler" in why
        assert runtime.resolve_impl("auto", torch.device("cpu")) == "torch"
        with pytest.raises(runtime.DeviceError, match="--impl torch"):
            runtime.resolve_impl("fused", torch.device("cpu"))
    finally:
        fused.library.cache_clear()  # the real compiler again for the other tests
