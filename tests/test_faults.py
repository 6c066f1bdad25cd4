"""Faults and hostile input: Ctrl-C, divergence, bad paths, resuming, crafted pickles, bad flags."""

import pathlib
import subprocess
import sys

import pytest
import torch

import main as trainer
from conftest import run_script


def test_divergence_stops_with_a_message_and_writes_nothing(tiny_flags, tmp_path):
    ckpt = tmp_path / "never.pt"
    proc = run_script(
        "main.py",
        *tiny_flags,
        "--lr",
        "1e30",
        "--model-type",
        "RNN",
        "--plot",
        "--save-model",
        str(ckpt),
    )
    assert proc.returncode == 1
    assert "diverged at epoch" in proc.stderr and "smaller learning rate" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not ckpt.exists()
    figs = tmp_path / "figs"
    assert not figs.exists() or not any(figs.iterdir())  # no figure claims a result


@pytest.mark.parametrize("script", ["main.py", "compare_results.py"])
def test_an_output_folder_that_cannot_be_written_fails_before_training(
    tiny_flags, tmp_path, script
):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    plot = ["--plot"] if script == "main.py" else []  # compare_results.py always plots
    proc = run_script(script, *tiny_flags, "--out-dir", str(blocker / "figs"), *plot)
    assert proc.returncode == 1
    assert "cannot write to" in proc.stderr and "Traceback" not in proc.stderr
    assert "epoch" not in proc.stdout  # no training time was spent


def test_resume_gives_the_same_result_as_an_uninterrupted_run(tiny_flags, tmp_path):
    flags = [*tiny_flags, "--model-type", "GRU", "--num-layers", "2", "--dropout", "0.2"]
    assert trainer.main([*flags, "--epochs", "6", "--save-model", str(tmp_path / "full.pt")]) == 0
    assert trainer.main([*flags, "--epochs", "3", "--save-model", str(tmp_path / "half.pt")]) == 0
    assert (
        trainer.main(
            [
                *flags,
                "--epochs",
                "6",
                "--resume",
                str(tmp_path / "half.pt"),
                "--save-model",
                str(tmp_path / "resumed.pt"),
            ]
        )
        == 0
    )
    full = torch.load(tmp_path / "full.pt", weights_only=True)
    resumed = torch.load(tmp_path / "resumed.pt", weights_only=True)
    assert resumed["train_losses"] == full["train_losses"]
    assert resumed["test_losses"] == full["test_losses"]
    for name, value in full["state_dict"].items():
        assert torch.equal(resumed["state_dict"][name], value), name


class Payload:
    """Unpickling this runs code: it creates the file `marker`."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (pathlib.Path.touch, (pathlib.Path(self.marker),))


def test_a_crafted_pickle_is_refused_and_its_payload_never_runs(tiny_flags, tmp_path):
    marker = tmp_path / "payload-ran"
    evil = {"x": torch.zeros(1), "meta": Payload(str(marker))}
    torch.save(evil, tmp_path / "train_data.pt")
    torch.save(evil, tmp_path / "test_data.pt")
    torch.save(evil, tmp_path / "evil_checkpoint.pt")
    proc = run_script("main.py", *tiny_flags, "--dry-run")
    assert proc.returncode == 1 and "not a valid data set file" in proc.stderr
    proc = run_script(
        "main.py", *tiny_flags, "--generate-data", "--resume", str(tmp_path / "evil_checkpoint.pt")
    )
    assert proc.returncode == 1 and "not a valid checkpoint file" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not marker.exists()
    # The same file does run its payload when loaded the unsafe way: the test can fail.
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, torch; torch.load(sys.argv[1], weights_only=False)",
            str(tmp_path / "evil_checkpoint.pt"),  # never overwritten above
        ],
        capture_output=True,
    )
    assert marker.exists()


@pytest.mark.parametrize(
    ("changed", "message"),
    [
        (["--model-type", "LSTM"], "--model-type GRU"),
        (["--hidden-size", "9"], "--hidden-size 8"),
        (["--sequence-length", "30"], "--sequence-length 20"),
        (["--lr", "0.01"], "--lr 0.001"),
        (["--batch-size", "64"], "--batch-size 500"),
        (["--seed", "1"], "--seed 0"),
        (["--test-fraction", "0.3"], "--test-fraction 0.2"),
        (["--epochs", "2"], "already trained 2 epochs"),
    ],
)
def test_a_checkpoint_that_does_not_fit_the_flags_is_refused(
    tiny_flags, tmp_path, changed, message, capsys
):
    ckpt = tmp_path / "gru.pt"
    assert trainer.main([*tiny_flags, "--model-type", "GRU", "--save-model", str(ckpt)]) == 0
    flags = [*tiny_flags, "--model-type", "GRU", "--epochs", "4", "--generate-data", *changed]
    with pytest.raises(SystemExit) as exc:
        trainer.main([*flags, "--resume", str(ckpt)])
    assert exc.value.code != 0 and message in str(exc.value.code)


@pytest.mark.parametrize(
    "flags",
    [
        ["--epochs", "0"],
        ["--epochs", "-1"],
        ["--batch-size", "0"],
        ["--hidden-size", "-4"],
        ["--sequence-length", "0"],
        ["--predict-steps", "0"],
        ["--lr", "0"],
        ["--lr", "-0.1"],
        ["--test-fraction", "0"],
        ["--test-fraction", "0.99999"],
        ["--sequence-length", "1999"],
    ],
)
def test_out_of_range_flags_exit_2(flags, tiny_flags, capsys):
    with pytest.raises(SystemExit) as exc:
        trainer.main([*tiny_flags, *flags])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "error:" in err and flags[0] in err


def test_a_series_shorter_than_one_window_exits_2_naming_the_file(tmp_path, capsys):
    path = tmp_path / "short.csv"
    path.write_text("v\n" + "\n".join(str(i) for i in range(10)) + "\n")
    with pytest.raises(SystemExit) as exc:
        trainer.main(["--dataset", "csv", "--csv", str(path), "--column", "v", "--dry-run"])
    assert exc.value.code == 2
    assert str(path) in capsys.readouterr().err


def test_a_checkpoint_trained_on_another_csv_of_the_same_name_is_refused(tmp_path):
    csv = tmp_path / "series.csv"
    csv.write_text("v\n" + "\n".join(str(i % 7) for i in range(200)) + "\n")
    ckpt = tmp_path / "m.pt"
    flags = ["--dataset", "csv", "--csv", str(csv), "--column", "v", "--hidden-size", "4",
             "--out-dir", str(tmp_path / "figs"), "--device", "cpu"]  # fmt: skip
    assert trainer.main([*flags, "--epochs", "1", "--save-model", str(ckpt)]) == 0
    csv.write_text("v\n" + "\n".join(str(i % 5) for i in range(200)) + "\n")  # other data
    with pytest.raises(SystemExit) as exc:
        trainer.main([*flags, "--epochs", "2", "--resume", str(ckpt)])
    assert "trained on other data" in str(exc.value.code)


def test_a_checkpoint_resumes_under_another_implementation(tiny_flags, tmp_path):
    """Weights are interchangeable between implementations: --impl is not part of a run."""
    flags = [*tiny_flags, "--model-type", "LSTM"]
    half, resumed = tmp_path / "half.pt", tmp_path / "resumed.pt"
    assert trainer.main([*flags, "--impl", "scratch", "--save-model", str(half)]) == 0
    assert "impl" not in torch.load(half, weights_only=True)["model_args"]  # the same model
    args = [*flags, "--impl", "torch", "--epochs", "3", "--resume", str(half)]
    assert trainer.main([*args, "--save-model", str(resumed)]) == 0
    assert len(torch.load(resumed, weights_only=True)["train_losses"]) == 3
