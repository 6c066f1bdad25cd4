"""The training loop of main.py: losses fall, seeds repeat, evaluation and forecasts are exact."""

from seqpred import checkpoints, device, parsers
from seqpred.errors import DeviceError
from seqpred.runs import TrainingDiverged
from seqpred.settings import TrainSettings, from_flags

import pytest
import torch

import compare_results
import data as datasets
import main as trainer
from models import MODEL_TYPES, build_model

CPU = torch.device("cpu")


def small_config(**changes) -> TrainSettings:
    """A tiny run, with the implementation main() would pick here."""
    settings = {"hidden_size": 8, "epochs": 5, "batch_size": 64}
    impl = device.resolve_impl("auto", CPU)
    return TrainSettings(impl=impl, **{**settings, **changes})


@pytest.fixture(scope="module")
def small_data():
    """A short slice of the article's data: enough to learn something in a few epochs."""
    d = datasets.build_sine(20, 0.2)
    return datasets.SeriesData(
        "sine", d.train_x[:256], d.train_y[:256], d.test_x[:64], d.test_y[:64]
    )


@pytest.mark.parametrize("kind", list(MODEL_TYPES))
def test_a_few_epochs_reduce_the_loss(kind, small_data):
    result = compare_results.train_run(kind, small_data, small_config(epochs=8, lr=1e-2), CPU)
    h = result.history
    assert len(h.train_losses) == 8 and len(h.test_losses) == 8
    assert h.train_losses[-1] < 0.5 * h.train_losses[0]
    assert h.test_losses[-1] < h.test_losses[0]


def test_same_seed_same_losses(small_data):
    runs = [
        compare_results.train_run("GRU", small_data, small_config(seed=3), CPU) for _ in range(2)
    ]
    assert runs[0].history.train_losses == runs[1].history.train_losses
    assert runs[0].history.test_losses == runs[1].history.test_losses
    other = compare_results.train_run("GRU", small_data, small_config(seed=4), CPU)
    assert other.history.train_losses != runs[0].history.train_losses


def test_evaluate_is_the_exact_mean_over_all_windows():
    model = build_model("RNN", hidden_size=4)
    x, y = torch.randn(37, 6, 1), torch.randn(37, 1)
    with torch.no_grad():
        expected = torch.mean((model(x) - y) ** 2).item()
    # A batch size that does not divide 37 must still give the mean over all 37 windows.
    assert trainer.evaluate(model, x, y, batch_size=10) == pytest.approx(expected, rel=1e-5)


def test_forecast_feeds_each_prediction_back():
    torch.manual_seed(0)
    model = build_model("LSTM", hidden_size=5).eval()
    windows = torch.randn(2, 6, 1)
    out = trainer.forecast(model, windows, 3)
    assert out.shape == (2, 3)
    with torch.no_grad():
        for i in range(2):  # one window at a time, by hand
            w = windows[i]
            p1 = model(w.unsqueeze(0))
            p2 = model(torch.cat([w[1:], p1]).unsqueeze(0))
            torch.testing.assert_close(out[i, :2], torch.cat([p1, p2]).reshape(2))


def test_checkpoint_round_trip_gives_identical_predictions(tmp_path, small_data):
    config = small_config(epochs=2)
    result = compare_results.train_run("GRU", small_data, config, CPU)
    run = {"model_type": "GRU", "hidden_size": 8}
    path = checkpoints.save(
        tmp_path / "gru.pt", "GRU", result.model_args, result.final_state, run, small_data
    )
    raw = torch.load(path, weights_only=True)  # plain dicts, tensors and values only
    assert raw["model_type"] == "GRU" and raw["model_args"]["hidden_size"] == 8
    assert raw["train_losses"] == result.history.train_losses
    ckpt = checkpoints.read(path)  # checked: format, checksum, types
    model = build_model(ckpt["model_type"], **ckpt["model_args"])  # the model, without guessing
    model.load_state_dict(ckpt["state_dict"], strict=True)
    x = small_data.test_x[:10]
    torch.testing.assert_close(trainer.predict(model, x), trainer.predict(result.model, x))
    assert ckpt["final_test_loss"] == result.history.test_losses[-1]


def test_resolve_device():
    assert device.resolve_device("cpu") == CPU
    assert device.resolve_device("auto").type in ("cpu", "cuda", "mps")
    if not torch.cuda.is_available():
        with pytest.raises(DeviceError, match="--device cpu"):
            device.resolve_device("cuda")


def test_divergence_is_reported(small_data):
    with pytest.raises(TrainingDiverged, match="smaller learning rate"):
        compare_results.train_run("RNN", small_data, small_config(lr=1e30, epochs=3), CPU)


def test_the_settings_take_the_flags_by_name():
    argv = ["--hidden-size", "7", "--lr", "0.5", "--dry-run", "--seed", "9"]
    s = from_flags(parsers.parser("main.py"), argv)
    t = s.train
    assert (t.hidden_size, t.lr, t.seed, t.max_batches, t.epochs) == (7, 0.5, 9, 1, 1)
    assert s.score.steps == 5 and s.data.sequence_length == 80  # --dry-run, the sine preset
