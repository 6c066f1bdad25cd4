"""Inputs that look fine and are not: numbers float32 cannot hold, strict JSON, file modes, bad
flags, read-only data, hostile CSV files, data sets told apart by kind, figure names."""

import json
import math
import os
import shutil
import stat
import subprocess
import sys

from seqpred import parsers
from seqpred.errors import DataError
from seqpred.fileio import atomic_write, write_json

import numpy as np
import pytest
import torch

import compare_results
import data as datasets
import main as trainer
from conftest import ROOT, csv_flags, run_here


def write_csv(tmp_path, values, name="series.csv", header="v"):
    path = tmp_path / name
    path.write_text(header + "\n" + "\n".join(repr(float(v)) for v in values) + "\n")
    return path


TINY_CSV = ["--epochs", "1", "--hidden-size", "4", "--jobs", "1", "--benchmarks", "simple"]
TINY_CSV += ["--sequence-length", "8", "--predict-steps", "4"]


# ----------------------------------------------------------------------------- numbers
def test_a_large_offset_keeps_its_variation_in_the_series_units(tmp_path):
    values = 1e9 + 10 * np.sin(np.arange(200) / 4)
    d = datasets.build_real(list(values), 12, 0.2, "offset")
    back = d.unscale(d.test_y[:, 0]).numpy()
    assert back.dtype == np.float64
    np.testing.assert_allclose(back, values[160:], atol=1e-4, rtol=0)  # float32: off by ~64


def test_an_offset_series_gets_real_errors_not_zeros(tmp_path, capsys):
    path = write_csv(tmp_path, 1e9 + 10 * np.sin(np.arange(200) / 4))
    assert (
        trainer.main(csv_flags(path, tmp_path / "figs", "--dry-run", "--sequence-length", "12"))
        == 0
    )
    line = next(x for x in capsys.readouterr().out.splitlines() if "one step ahead" in x)
    mae = float(line.split("MAE ")[1].split(",")[0])
    assert 0.5 < mae < 100  # an untrained model is off by about the amplitude, not by 0


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ([1e39 + i for i in range(100)], "do not fit in float32"),
        ([1e12 + 1e-3 * math.sin(i) for i in range(100)], "less than a billionth"),
    ],
)
def test_a_series_float32_training_cannot_represent_is_refused(tmp_path, values, message):
    path = write_csv(tmp_path, values)
    proc = run_here(
        "main.py", *csv_flags(path, tmp_path / "figs", "--dry-run", "--sequence-length", "8")
    )
    assert proc.returncode == 1 and message in proc.stderr and "Traceback" not in proc.stderr


def test_results_json_is_strict_and_undefined_values_are_explained(tmp_path):
    path = write_csv(tmp_path, [5.0] * 120)  # constant: skill divides by a zero error
    flags = csv_flags(path, tmp_path / "figs", *TINY_CSV)
    assert compare_results.main(flags) == 0
    text = (tmp_path / "figs" / "results.json").read_text()

    def refuse(token):
        raise ValueError(f"non-standard JSON token {token}")

    report = json.loads(text, parse_constant=refuse)
    assert report["baselines"]["persistence"]["one_step_mase"] is None
    assert report["models"]["LSTM"]["runs"][0]["skill_one_step"] is None
    table = (tmp_path / "figs" / "results.md").read_text()
    assert "undefined" in table and "baseline is exact" in table


def test_write_json_turns_nan_and_infinity_into_null(tmp_path):
    path = write_json(tmp_path / "x.json", {"a": float("nan"), "b": [np.float32("inf"), 1.5]})
    assert json.loads(path.read_text()) == {"a": None, "b": [None, 1.5]}


# ----------------------------------------------------------------------------- files
def test_written_files_honour_the_umask(tmp_path):
    old = os.umask(0o027)
    try:
        with atomic_write(tmp_path / "f.txt", "w") as f:
            f.write("x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "f.txt").stat().st_mode) == 0o640


def test_a_script_s_outputs_are_readable_like_any_new_file(tiny_flags, tmp_path):
    proc = subprocess.run(
        [
            "sh",
            "-c",
            f'umask 022 && exec {sys.executable} {ROOT / "main.py"} "$@"',
            "sh",
            *tiny_flags,
            "--dry-run",
            "--plot",
            "--save-model",
            str(tmp_path / "m.pt"),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    for path in [tmp_path / "train_data.pt", tmp_path / "m.pt", *(tmp_path / "figs").iterdir()]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o644, path


@pytest.mark.skipif(shutil.which("unshare") is None, reason="no unshare(1) here")
def test_a_read_only_data_folder_with_valid_files_is_read(tiny_flags, tmp_path):
    assert trainer.main([*tiny_flags, "--dry-run"]) == 0  # writes the data files
    tmp_path.chmod(0o555)
    try:
        # In a user namespace even root is refused writes to a folder it cannot write to.
        probe = subprocess.run(["unshare", "-U", "touch", str(tmp_path / "probe")])
        if probe.returncode == 0:
            pytest.skip("this machine lets the namespace write anyway")
        out = tmp_path.parent / f"{tmp_path.name}-figs"
        flags = [*tiny_flags, "--dry-run", "--out-dir", str(out)]
        proc = subprocess.run(
            ["unshare", "-U", sys.executable, str(ROOT / "main.py"), *flags],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert proc.returncode == 0, proc.stderr
        again = subprocess.run(
            ["unshare", "-U", sys.executable, str(ROOT / "main.py"), *flags, "--generate-data"],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert again.returncode == 1 and "cannot write to" in again.stderr  # writing still checked
    finally:
        tmp_path.chmod(0o755)


# ----------------------------------------------------------------------------- flags
@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--seed", str(2**32)], "--seed: must be between 0 and 2**32 - 1"),
        (["--hidden-size", "100000"], "not enough memory for --hidden-size 100000"),
    ],
)
def test_flags_beyond_what_the_machine_can_do_exit_2(tiny_flags, flags, message, capsys):
    with pytest.raises(SystemExit) as exc:
        trainer.main([*tiny_flags, "--dry-run", *flags])
    assert exc.value.code == 2 and message in capsys.readouterr().err


def test_a_model_named_twice_is_refused(tiny_flags, capsys):
    with pytest.raises(SystemExit) as exc:
        compare_results.main([*tiny_flags, "--models", "RNN", "rnn"])
    assert exc.value.code == 2 and "--models names RNN more than once" in capsys.readouterr().err


# ----------------------------------------------------------------------------- CSV files
def test_a_pipe_a_folder_and_standard_input_are_named_for_what_they_are(tmp_path):
    fifo = tmp_path / "fifo.csv"
    os.mkfifo(fifo)
    for path, what in ((fifo, "is a pipe"), (tmp_path, "is a folder")):
        with pytest.raises(DataError, match=what):
            datasets.read_series_csv(path, "v")
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "main.py"),
            "--dataset",
            "csv",
            "--csv",
            "/dev/stdin",
            "--column",
            "v",
            "--dry-run",
        ],
        input="v\n1\n2\n",
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 1 and "is a pipe" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("v,v\n1,2\n", "2 columns are named 'v'"),
        ("sep=;\nv\n1\n", "delimiter hint"),
        ("date;v\n2000-01;1,5\n", "looks separated by semicolons"),
        ('v\n"1,5"\n', "a decimal comma?"),
        ("date,v\n2000-02,1\n2000-01,2\n", "goes back in time at '2000-01'"),
        ("date,v\n2000-01,1\n2000-01,2\n", "repeats at '2000-01'"),
        ("date,v\nmonday,1\ntuesday,2\n", "row 2: 'monday' in column 'date' is neither a date"),
        ("date,v\n2000-01,1\n2000-02,2,7\n", "row 3 has 3 cells where the header names 2"),
        ("v\n1\n1_00\n", "row 3: '1_00' in column 'v' is not a number"),
    ],
)
def test_csv_files_that_would_be_misread_are_refused(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(DataError) as err:
        datasets.read_series_csv(path, "v", "date" if content.startswith("date") else None)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_a_users_file_called_adding_is_a_series_not_the_adding_problem(tmp_path):
    """Whether data is a series is decided by its kind, not by its name."""
    path = write_csv(tmp_path, np.sin(np.arange(150) / 3), name="adding.csv")
    flags = csv_flags(path, tmp_path / "figs", *TINY_CSV)
    assert compare_results.main(flags) == 0
    assert (tmp_path / "figs" / "predictions.png").read_bytes().startswith(b"\x89PNG")


def test_per_model_figures_carry_the_models_name(tiny_flags, tmp_path):
    """main.py --plot never overwrites the comparison's lstm_gates.png."""
    assert trainer.main([*tiny_flags, "--dry-run", "--plot", "--model-type", "LSTM"]) == 0
    names = sorted(p.name for p in (tmp_path / "figs").iterdir())
    assert names == [
        "LSTM_forecast.png",
        "LSTM_gates.png",
        "LSTM_gradient_flow.png",
        "LSTM_loss.png",
        "provenance.json",  # which command wrote them (see test_provenance.py)
    ]
    help_text = parsers.parser("main.py").format_help()
    for name in ("_loss.png", "_gradient_flow.png", "_forecast.png", "LSTM_gates.png"):
        assert name in help_text


def test_data_kind_is_saved_with_the_windows(tmp_path):
    assert datasets.build_adding(6).kind == "sequences" and not datasets.build_adding(6).is_series
    assert datasets.build_sine(20, 0.2).is_series
    torch.manual_seed(0)


def test_gaps_in_a_one_column_csv_are_refused_with_their_rows(tmp_path):
    """A blank line inside the series would silently drop a value and shift every season."""
    path = tmp_path / "gaps.csv"
    path.write_text("value\n1\n\n2\n\n\n3\n4\n5\n6\n7\n\n8\n\n\n9\n\n\n")
    with pytest.raises(DataError, match=r"6 missing value\(s\) in column 'value'") as err:
        datasets.read_series_csv(path, "value")
    assert "at row(s) 3, 5, 6, 12, 14, ..." in str(err.value)  # the first five
    path.write_text("value\n1\n2\n3\n\n\n")  # blank lines at the end are no gap
    assert datasets.read_series_csv(path, "value")[0] == [1.0, 2.0, 3.0]
