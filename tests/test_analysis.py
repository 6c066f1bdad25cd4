"""Gradient-flow measurement, gate traces, --impl scratch end to end, and the adding problem."""

import json

from seqpred import analysis, checkpoints

import pytest
import torch

import adding_task
import cells
import compare_results
import data as datasets
import main as trainer
from models import build_model, run_by


def test_gradient_profile_sees_only_what_the_model_uses():
    torch.manual_seed(0)
    model = build_model("RNN", hidden_size=5)
    with torch.no_grad():
        model.rnn.weight_hh_l0.zero_()  # no recurrence: only the last input can matter
    profile = analysis.input_gradient_profile(model, torch.randn(8, 12, 1))
    assert profile.shape == (12,)
    assert profile[0] > 0 and (profile[1:] == 0).all()


def test_gradient_profile_decays_with_distance_for_an_untrained_rnn():
    torch.manual_seed(0)
    profile = analysis.input_gradient_profile(
        build_model("RNN", hidden_size=20), torch.randn(16, 60, 1)
    )
    assert profile[40:].mean() < 1e-3 * profile[:5].mean()


def test_lstm_gates_of_a_torch_lstm_follow_the_equations():
    torch.manual_seed(0)
    model = build_model("LSTM", hidden_size=4)
    window = torch.randn(7, 1)
    gates = cells.lstm_gates(model.lstm, window)
    assert set(gates) == {"input", "forget", "output"} and gates["forget"].shape == (7, 4)
    lstm, h = model.lstm, 4
    # First step, zero state: f_0 = sigmoid(W_if x_0 + b_if + b_hf), rows h..2h of the weights.
    f0 = torch.sigmoid(
        lstm.weight_ih_l0[h : 2 * h, 0] * window[0, 0]
        + lstm.bias_ih_l0[h : 2 * h]
        + lstm.bias_hh_l0[h : 2 * h]
    )
    torch.testing.assert_close(gates["forget"][0], f0.detach())


def test_scratch_impl_end_to_end_and_checkpoint_moves_to_torch(tiny_flags, tmp_path):
    ckpt = tmp_path / "lstm.pt"
    flags = [
        *tiny_flags,
        "--model-type",
        "LSTM",
        "--impl",
        "scratch",
        "--dry-run",
        "--plot",
        "--save-model",
        str(ckpt),
    ]
    assert trainer.main(flags) == 0
    for name in ("LSTM_gates.png", "LSTM_gradient_flow.png"):
        assert (tmp_path / "figs" / name).read_bytes().startswith(b"\x89PNG")
    saved = checkpoints.read(ckpt)  # trained by cells.py's layers
    torch_model = build_model("LSTM", **saved["model_args"])  # models.py's nn.LSTM, as saved
    torch_model.load_state_dict(saved["state_dict"], strict=True)
    scratch_model = run_by(build_model("LSTM", **saved["model_args"]), "scratch")
    scratch_model.load_state_dict(saved["state_dict"], strict=True)
    assert type(scratch_model.lstm) is cells.LSTM and type(torch_model.lstm) is torch.nn.LSTM
    x = torch.randn(5, 20, 1)
    torch.testing.assert_close(trainer.predict(torch_model, x), trainer.predict(scratch_model, x))


def test_scratch_and_torch_train_to_the_same_losses(tiny_flags, tmp_path):
    losses = {}
    for impl in ("torch", "scratch"):
        path = tmp_path / f"{impl}.pt"
        assert (
            trainer.main(
                [*tiny_flags, "--model-type", "GRU", "--impl", impl, "--save-model", str(path)]
            )
            == 0
        )
        losses[impl] = torch.load(path, weights_only=True)["train_losses"]
    assert losses["scratch"] == pytest.approx(losses["torch"], rel=1e-4)


def test_compare_draws_gradient_flow_and_gates(tiny_flags, tmp_path):
    assert compare_results.main([*tiny_flags, "--jobs", "1"]) == 0
    for name in ("gradient_flow.png", "lstm_gates.png"):
        assert (tmp_path / "figs" / name).read_bytes().startswith(b"\x89PNG")


def test_adding_problem_targets_are_the_sum_of_the_marked_values():
    d = datasets.build_adding(10)
    x, y = d.train_x, d.train_y
    assert x.shape == (datasets.ADDING_SIZES["train"], 10, 2)
    markers = x[:, :, 1]
    assert (markers.sum(1) == 2).all()
    assert (markers[:, :5].sum(1) == 1).all() and (markers[:, 5:].sum(1) == 1).all()
    torch.testing.assert_close(y[:, 0], (x[:, :, 0] * markers).sum(1))
    torch.testing.assert_close(datasets.build_adding(10).test_x, d.test_x)  # fixed data seed


def test_adding_task_sweep_writes_its_figure_and_table(tmp_path):
    out = tmp_path / "adding"
    flags = [
        "--lengths",
        "4",
        "6",
        "--epochs",
        "1",
        "--hidden-size",
        "4",
        "--jobs",
        "1",
        "--device",
        "cpu",
        "--out-dir",
        str(out),
    ]
    assert adding_task.main(flags) == 0
    assert (out / "adding_task.png").read_bytes().startswith(b"\x89PNG")
    report = json.loads((out / "results.json").read_text())
    assert set(report["summary"]) == {"RNN", "LSTM", "GRU"}
    assert "length 6" in (out / "results.md").read_text()


def test_adding_in_main_and_not_in_compare(capsys):
    assert (
        trainer.main(
            ["--dataset", "adding", "--sequence-length", "6", "--dry-run", "--device", "cpu"]
        )
        == 0
    )
    assert "of the targets' variance" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exc:
        trainer.main(["--dataset", "adding", "--predict-steps", "3"])
    assert exc.value.code == 2
    with pytest.raises(SystemExit) as exc:
        compare_results.main(["--dataset", "adding"])
    assert exc.value.code == 2 and "invalid choice: 'adding'" in capsys.readouterr().err
