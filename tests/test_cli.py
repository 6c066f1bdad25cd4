"""The command-line scripts end to end, in tmp_path: success paths and clear failures."""

import json

import pytest
import torch

import compare_results
import main as trainer
from conftest import run_script


@pytest.mark.parametrize("kind", ["RNN", "lstm", "Gru"])
def test_main_dry_run_end_to_end(kind, tiny_flags, tmp_path, capsys):
    ckpt = tmp_path / "model.pt"
    assert (
        trainer.main(
            [*tiny_flags, "--model-type", kind, "--dry-run", "--plot", "--save-model", str(ckpt)]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "generated" in out  # the data files were missing, so they were made and it said so
    assert (tmp_path / "train_data.pt").is_file() and (tmp_path / "test_data.pt").is_file()
    name = kind.upper()
    for figure in (f"{name}_loss.png", f"{name}_forecast.png"):  # drawn as conftest.py checks
        assert (tmp_path / "figs" / figure).read_bytes().startswith(b"\x89PNG")
    saved = torch.load(ckpt, weights_only=True)
    assert saved["model_type"] == name and saved["epoch"] == 1


def test_compare_writes_both_figures(tiny_flags, tmp_path, capsys):
    assert compare_results.main([*tiny_flags]) == 0
    for name in ("loss_curves.png", "predictions.png"):
        png = (tmp_path / "figs" / name).read_bytes()
        assert png.startswith(b"\x89PNG")
    out = capsys.readouterr().out
    summary = out[out.index("What the numbers say") :]  # the terminal's summary at the end
    for kind in ("RNN", "LSTM", "GRU"):
        assert f"\n{kind} " in summary  # each model has a row in it
    lines = summary.splitlines()
    assert len(lines) <= 30  # and each within 100 columns, but for the paths this test chose
    assert max(len(line) for line in lines if str(tmp_path) not in line) <= 100
    table = (tmp_path / "figs" / "results.md").read_text()
    table = table[table.index("### Cost") :]  # the cost table, at the end of the report
    report = json.loads((tmp_path / "figs" / "results.json").read_text())
    if report["memory_kind"] == "RSS":  # no --jobs: the number the run chose, not the flag's None
        assert isinstance(report["jobs"], int) and f"({report['jobs']} at a time)" in table


def test_reuses_data_files_and_rejects_another_sequence_length(tiny_flags, tmp_path, capsys):
    assert trainer.main([*tiny_flags, "--dry-run"]) == 0
    before = (tmp_path / "train_data.pt").read_bytes()
    with pytest.raises(SystemExit) as exc:
        trainer.main([*tiny_flags, "--dry-run", "--sequence-length", "30"])
    assert "--generate-data" in str(exc.value.code)
    assert (tmp_path / "train_data.pt").read_bytes() == before  # left intact


def test_generate_data_rebuilds_for_a_new_sequence_length(tiny_flags, tmp_path):
    assert trainer.main([*tiny_flags, "--dry-run"]) == 0
    assert (
        trainer.main([*tiny_flags, "--dry-run", "--generate-data", "--sequence-length", "30"]) == 0
    )
    assert torch.load(tmp_path / "train_data.pt", weights_only=True)["x"].shape[1] == 30


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--model-type", "TRANSFORMER"], "invalid choice"),
        (["--epochs", "-3"], "--epochs: must be a positive integer"),
        (["--epochs", "0"], "--epochs: must be a positive integer"),
        (["--lr", "0"], "--lr: must be a positive number"),
        (["--batch-size", "abc"], "--batch-size"),
    ],
)
def test_bad_flags_exit_2_with_a_message(flags, message, tiny_flags, capsys):
    with pytest.raises(SystemExit) as exc:
        trainer.main([*tiny_flags, *flags])
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_missing_device_is_an_error_not_a_fallback(tiny_flags, capsys):
    with pytest.raises(SystemExit) as exc:
        trainer.main([*tiny_flags, "--device", "cuda", "--dry-run"])
    assert exc.value.code == 2
    assert "no CUDA device" in capsys.readouterr().err


def test_corrupt_data_file_exits_cleanly_and_is_left_alone(tiny_flags, tmp_path):
    """A real subprocess: one clear line on stderr, no traceback, the file untouched."""
    (tmp_path / "train_data.pt").write_bytes(b"garbage")
    (tmp_path / "test_data.pt").write_bytes(b"garbage")
    proc = run_script("main.py", *tiny_flags, "--dry-run")
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    assert "not a valid data set" in proc.stderr and "--generate-data" in proc.stderr
    assert (tmp_path / "train_data.pt").read_bytes() == b"garbage"


def test_forecast_past_the_test_period_is_rejected(tiny_flags, capsys):
    with pytest.raises(SystemExit) as exc:
        trainer.main([*tiny_flags, "--dry-run", "--predict-start", "395", "--predict-steps", "50"])
    assert exc.value.code == 2
    assert "run past the end of the test period" in capsys.readouterr().err
