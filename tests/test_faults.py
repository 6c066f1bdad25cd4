"""Faults and hostile input: Ctrl-C, divergence, bad paths, resuming, crafted pickles, bad flags."""

import math
import os
import pathlib
import signal
import stat
import subprocess
import sys
from pathlib import Path

from seqpred import checkpoints, device, fileio, fused, process
from seqpred.errors import DeviceError, FlagError

import pytest
import torch

import compare_results
import main as trainer
from conftest import ROOT, run_here


def test_divergence_stops_with_a_message_and_writes_nothing(tiny_flags, tmp_path):
    ckpt = tmp_path / "never.pt"
    proc = run_here(
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
    proc = run_here(script, *tiny_flags, "--out-dir", str(blocker / "figs"), *plot)
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
    proc = run_here("main.py", *tiny_flags, "--dry-run")
    assert proc.returncode == 1 and "not a valid data set file" in proc.stderr
    proc = run_here(
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


def test_a_raw_pickle_is_refused_in_one_line_and_its_payload_never_runs(tiny_flags, tmp_path):
    """pickle.dump, not torch.save: no zip archive; refused before torch reads it, so none of
    torch's warnings about pickle protocols reach the user either."""
    import pickle

    marker = tmp_path / "payload-ran"
    raw = tmp_path / "raw.pt"
    raw.write_bytes(pickle.dumps({"state_dict": Payload(str(marker))}, protocol=4))
    proc = run_here("main.py", *tiny_flags, "--generate-data", "--resume", str(raw))
    assert proc.returncode == 1 and not marker.exists()
    assert proc.stderr.strip().splitlines() == [
        f"main.py: error: {raw} is not a valid checkpoint file (not one torch.save wrote, which "
        "is a zip archive)"
    ]


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
    flags = [
        "--dataset",
        "csv",
        "--csv",
        str(csv),
        "--column",
        "v",
        "--hidden-size",
        "4",
        "--out-dir",
        str(tmp_path / "figs"),
        "--device",
        "cpu",
    ]
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


# ----------------------------------------------------------------------------- survives learners
def one_line_error(capsys, call, status):
    """call() exits with `status` and one error line, no traceback; returns the line."""
    with pytest.raises(SystemExit) as stop:
        call()
    err = capsys.readouterr().err
    code = stop.value.code if isinstance(stop.value.code, int) else 1
    text = err if isinstance(stop.value.code, int) else str(stop.value.code)
    assert code == status and "Traceback" not in text, text
    return text.strip().splitlines()[-1]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--lr", "1e300"], "--lr: must be a positive number, at most 3.4e38"),
        (["--dataset", "adding", "--sequence-length", "10000000"], "not enough memory for --seq"),
        (["--seeds", "4294967296"], "--seeds: must be from 1 to 1000"),
        (
            ["--match-params", "1000000000000000000"],
            "--match-params: must be from 1 to 1e+09 parameters",
        ),
        (["--num-layers", "100000000", "--dry-run"], "--num-layers: must be from 1 to 100"),
    ],
)
def test_values_beyond_what_can_work_are_one_line(tiny_flags, capsys, extra, message):
    argv = [*tiny_flags, *extra]
    if "--dataset" in extra:  # the adding problem takes none of the series' flags
        argv = ["--device", "cpu", *extra]
    script = compare_results if "--seeds" in extra or "--match-params" in extra else trainer
    assert message in one_line_error(capsys, lambda: script.main(argv), 2)


def test_an_empty_column_name_is_one_line(tmp_path, capsys):
    path = tmp_path / "s.csv"
    path.write_text("v\n" + "".join(f"{i}\n" for i in range(50)))
    argv = ["--dataset", "csv", "--csv", str(path), "--column", "", "--device", "cpu"]
    line = one_line_error(capsys, lambda: trainer.main(argv), 2)
    assert line == "main.py: error: argument --column: is empty; give the column's name"


def test_auto_picks_torch_beyond_the_kernels_sizes():
    cpu = torch.device("cpu")
    assert device.resolve_impl("auto", cpu, fused.MAX_SIZE + 1) == "torch"
    with pytest.raises(DeviceError, match="up to 4096"):
        device.resolve_impl("fused", cpu, 5000)
    assert "not 5000" in device.describe("torch", cpu, ["LSTM"], "auto", 5000)


def test_a_memory_error_says_so(capsys):
    def body():
        with process.guarded("x.py"):
            raise MemoryError()

    line = one_line_error(capsys, body, 1)
    assert line.startswith("x.py: error: out of memory")


@pytest.mark.skipif(os.name != "posix", reason="POSIX resource limits")
def test_a_checkpoint_that_cannot_be_written_is_one_line(tmp_path):
    """A full disk, cheaply: a file-size limit makes the checkpoint's write fail as a full disk
    would (EFBIG instead of ENOSPC, through the same calls). One line, and no file left."""
    import resource

    def small_files():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a failed write, not a killed process
        resource.setrlimit(resource.RLIMIT_FSIZE, (4000, 4000))

    path = tmp_path / "s.csv"
    path.write_text("v\n" + "".join(f"{math.sin(i / 3):.4f}\n" for i in range(120)))
    argv = ["--dataset", "csv", "--csv", str(path), "--column", "v", "--epochs", "1"]
    argv += ["--impl", "torch", "--benchmarks", "simple", "--save-model", str(tmp_path / "m.pt")]
    proc = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *argv],
        preexec_fn=small_files,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.strip().splitlines() == [
        f"main.py: error: cannot write {tmp_path / 'm.pt'}: File too large"
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.csv"]


def saved_checkpoint(tiny_flags, tmp_path, *more):
    path = tmp_path / "model.pt"
    assert trainer.main([*tiny_flags, "--save-model", str(path), *more]) == 0
    return path


def rewrite(path, **changes):
    """The checkpoint with some fields changed, its checksum made to match again."""
    ckpt = torch.load(path, weights_only=True)
    ckpt.update(changes)
    ckpt["sha256"] = checkpoints.digest(ckpt)
    torch.save(ckpt, path)


def wrong_shaped_averages(ckpt) -> dict:
    """The optimizer state with one parameter's running average cut to one row."""
    state = {k: dict(v) for k, v in ckpt["optimizer_state"]["state"].items()}
    first = next(iter(state))
    state[first]["exp_avg"] = state[first]["exp_avg"][:1]
    return {"optimizer_state": {**ckpt["optimizer_state"], "state": state}}


@pytest.mark.parametrize(
    "change",
    ["shapes", "train_losses", "optimizer_state", "generator_state", "seconds", "averages"],
)
def test_a_checkpoint_with_wrong_fields_is_refused_in_one_line(
    tiny_flags, tmp_path, capsys, change
):
    path = saved_checkpoint(tiny_flags, tmp_path)
    ckpt = torch.load(path, weights_only=True)
    changes = {
        "shapes": {"state_dict": {k: v[:1] for k, v in ckpt["state_dict"].items()}},
        "train_losses": {"train_losses": 5},
        "optimizer_state": {"optimizer_state": {"state": 1, "param_groups": "x"}},
        "generator_state": {"generator_state": torch.zeros(3, dtype=torch.uint8)},
        "seconds": {"seconds": "x"},
        "averages": wrong_shaped_averages(ckpt),
    }[change]
    rewrite(path, **changes)
    argv = [*tiny_flags, "--epochs", "3", "--resume", str(path)]
    line = one_line_error(capsys, lambda: trainer.main(argv), 1)
    assert str(path) in line or "does not fit" in line


def flip_a_bit_in(path, data: bytes) -> None:
    raw = bytearray(path.read_bytes())
    at = raw.find(data)
    assert at >= 0 and raw.find(data, at + 1) < 0  # found once: the tensor's own bytes
    raw[at + len(data) // 2] ^= 0x10
    path.write_bytes(bytes(raw))


@pytest.mark.parametrize("what", ["weight", "rng"])
def test_a_flipped_bit_in_a_checkpoint_is_refused(tiny_flags, tmp_path, capsys, what):
    path = saved_checkpoint(tiny_flags, tmp_path)
    ckpt = torch.load(path, weights_only=True)
    tensor = (
        ckpt["state_dict"]["lstm.weight_hh_l0"] if what == "weight" else ckpt["generator_state"]
    )
    flip_a_bit_in(path, tensor.numpy().tobytes())
    torch.load(path, weights_only=True)  # torch itself reads it without complaint
    argv = [*tiny_flags, "--epochs", "3", "--resume", str(path)]
    assert "is damaged" in one_line_error(capsys, lambda: trainer.main(argv), 1)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_save_model_never_replaces_a_pipe_or_a_device(tiny_flags, tmp_path, capsys):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    argv = [*tiny_flags, "--save-model", str(fifo)]
    assert "not a regular file" in one_line_error(capsys, lambda: trainer.main(argv), 2)
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    if Path("/dev/null").exists():  # checked without training: nothing could replace it
        with pytest.raises(FlagError, match="not a regular file"):
            fileio.check_file_target("/dev/null", "--save-model")


@pytest.mark.skipif(not hasattr(os, "pathconf"), reason="no pathconf here")
def test_a_save_model_name_too_long_for_its_temporary_file_fails_before_training(
    tiny_flags, tmp_path, capsys
):
    limit = os.pathconf(tmp_path, "PC_NAME_MAX")
    name = tmp_path / ("m" * (limit - 3) + ".pt")  # fits, but its temporary name would not
    argv = [*tiny_flags, "--save-model", str(name)]
    line = one_line_error(capsys, lambda: trainer.main(argv), 2)
    assert "too long" in line and "epoch" not in capsys.readouterr().out


def test_a_changed_horizon_under_direct_names_the_real_flag(tiny_flags, tmp_path, capsys):
    path = saved_checkpoint(tiny_flags, tmp_path, "--strategy", "direct")
    argv = [
        *tiny_flags,
        "--strategy",
        "direct",
        "--predict-steps",
        "4",
        "--epochs",
        "3",
        "--resume",
        str(path),
    ]
    line = one_line_error(capsys, lambda: trainer.main(argv), 1)
    assert "--predict-steps (with --strategy direct) 5" in line and "--outputs" not in line


def test_the_comparison_runs_in_the_c_locale(tiny_flags, tmp_path):
    """Under LC_ALL=C without Python's UTF-8 mode, results.md ("−", "Δ") is still written."""
    env = {**os.environ, "LC_ALL": "C", "LANG": "C", "PYTHONIOENCODING": ""}
    argv = [
        sys.executable,
        "-X",
        "utf8=0",
        str(ROOT / "compare_results.py"),
        *tiny_flags,
        "--models",
        "RNN",
        "GRU",
        "--jobs",
        "1",
    ]
    proc = subprocess.run(argv, capture_output=True, cwd=tmp_path, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    text = (tmp_path / "figs" / "results.md").read_bytes().decode("utf-8")
    assert "RNN − GRU" in text and "Δ" in text
    assert not (tmp_path / "figs" / "runs-in-progress.json").exists()
