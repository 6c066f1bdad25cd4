"""The CUDA path, where a GPU is present: the same training as on the CPU, device-resident, and
the scripts end to end. Skipped on machines without CUDA."""

import json

from seqpred import analysis, device
from seqpred.errors import DeviceError
from seqpred.settings import TrainSettings

import pytest
import torch

import compare_results
import data as datasets
import main as trainer

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device here")
CUDA = torch.device("cuda")


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_cuda_trains_to_the_losses_of_the_cpu(kind):
    d = datasets.build_sine(20, 0.2)
    data = datasets.SeriesData(
        "sine", d.train_x[:300], d.train_y[:300], d.test_x[:50], d.test_y[:50]
    )
    losses = {}
    for where in (torch.device("cpu"), CUDA):
        config = TrainSettings(epochs=4, batch_size=100, hidden_size=8, impl="torch")
        h = compare_results.train_run(kind, data, config, where).history
        losses[where.type] = h.train_losses + h.test_losses
    assert losses["cuda"] == pytest.approx(losses["cpu"], rel=1e-3)


def test_auto_picks_cuda_and_torch_there():
    gpu = device.resolve_device("auto")
    assert gpu.type == "cuda" and device.resolve_impl("auto", gpu) == "torch"
    with pytest.raises(DeviceError, match="CPU only"):
        device.resolve_impl("fused", gpu)


def test_gradient_profile_on_cuda_matches_the_cpu():
    from models import build_model

    torch.manual_seed(0)
    model = build_model("LSTM", hidden_size=6)
    x = torch.randn(8, 15, 1)
    cpu = analysis.input_gradient_profile(model, x)
    gpu = analysis.input_gradient_profile(model.to(CUDA), x.to(CUDA))
    assert gpu == pytest.approx(cpu, rel=1e-4, abs=1e-7)


def test_compare_and_main_end_to_end_on_cuda(tiny_flags, tmp_path):
    flags = [f if f != "cpu" else "cuda" for f in tiny_flags]
    assert compare_results.main([*flags, "--seeds", "2"]) == 0
    report = json.loads((tmp_path / "figs" / "results.json").read_text())
    assert report["memory_kind"] == "CUDA max allocated" and report["peak_memory_mb"] > 0
    assert trainer.main([*flags, "--plot", "--model-type", "GRU"]) == 0
