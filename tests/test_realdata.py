"""Real series from CSV files: the shipped El Niño data, scaling without leakage, bad files."""

from seqpred.errors import DataError

import numpy as np
import pytest
import torch

import data as datasets
import main as trainer
from conftest import run_here


def test_shipped_elnino_series():
    values, dates = datasets.read_series_csv(datasets.ELNINO_CSV, "sst", "date")
    assert len(values) == 732 and dates[0] == "1950-01" and dates[-1] == "2010-12"
    assert values[0] == pytest.approx(23.11)
    assert min(values) > 15 and max(values) < 30


def test_split_then_window_scales_with_training_statistics_only():
    values = list(np.sin(np.arange(100) / 3) + np.arange(100) / 50)
    d = datasets.build_real(values, 8, 0.2, "toy")
    n_train = 80
    assert d.mean == pytest.approx(np.mean(values[:n_train]))
    # Changing the test part must not change the scaling: no leakage of test statistics.
    changed = values[:n_train] + [v + 100 for v in values[n_train:]]
    assert datasets.build_real(changed, 8, 0.2, "toy").mean == pytest.approx(d.mean)
    # Training windows take their targets from the first 80 values; every test value is a
    # target, its window reaching back into the training period (the past is known).
    assert len(d.train_x) == n_train - 8 and len(d.test_x) == 20
    expected_first_test = (torch.tensor(values[n_train - 8 : n_train]) - d.mean) / d.std
    torch.testing.assert_close(d.test_x[0, :, 0], expected_first_test.float())
    torch.testing.assert_close(
        d.unscale(d.test_y[:, 0]).double(), torch.tensor(values[n_train:]), atol=1e-5, rtol=0
    )


def write(tmp_path, text, name="series.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    return path


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "the file is empty"),
        ("date,value\n", "a header but no data rows"),
        ("date,value\n2000-01,1.5\n2000-02,\n", "1 missing value(s) in column 'value'"),
        (
            "date,value\n2000-01,1.5\n2000-02,abc\n",
            "row 3: 'abc' in column 'value' is not a number",
        ),
        ("date,value\n2000-01,nan\n", "row 2: 'nan' in column 'value' is not finite"),
        ("date,value\n2000-01,inf\n", "row 2: 'inf' in column 'value' is not finite"),
        ("date,other\n2000-01,1\n", "no column 'value' (columns: date, other)"),
        (b"date,value\n2000-01,\xe9t\xe9\n", "not UTF-8 text"),
    ],
)
def test_bad_csv_gives_one_clear_line(tmp_path, content, message):
    path = write(tmp_path, content)
    with pytest.raises(DataError) as err:
        datasets.read_series_csv(path, "value", "date")
    assert message in str(err.value) and str(path) in str(err.value)
    assert "\n" not in str(err.value)


def test_missing_csv_file(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        datasets.read_series_csv(tmp_path / "nope.csv", "value")


def test_series_too_short_for_window_and_split():
    with pytest.raises(DataError, match="too few"):
        datasets.build_real([float(i) for i in range(30)], 24, 0.2, "short")


def test_csv_dataset_end_to_end(tmp_path, capsys):
    rows = "\n".join(f"{i},{np.sin(i / 4):.5f}" for i in range(200))
    path = write(tmp_path, "t,signal\n" + rows + "\n")
    flags = [
        "--dataset",
        "csv",
        "--csv",
        str(path),
        "--column",
        "signal",
        "--out-dir",
        str(tmp_path / "figs"),
        "--dry-run",
        "--plot",
        "--device",
        "cpu",
    ]
    assert trainer.main(flags) == 0
    assert (tmp_path / "figs" / "LSTM_forecast.png").is_file()
    assert "MAE" in capsys.readouterr().out


def test_bad_csv_from_the_command_line_has_no_traceback(tmp_path):
    path = write(tmp_path, "t,signal\n1,2\n2,oops\n")
    proc = run_here(
        "main.py", "--dataset", "csv", "--csv", str(path), "--column", "signal", "--dry-run"
    )
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert "row 3: 'oops'" in proc.stderr


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--dataset", "csv"], "--dataset csv needs --csv PATH and --column NAME"),
        (["--column", "x"], "--column goes with --dataset csv"),
        (["--dataset", "elnino", "--generate-data"], "apply to the sine data set only"),
        (["--dropout", "0.2"], "--dropout acts between stacked layers"),
        (["--dropout", "1.5", "--num-layers", "2"], "--dropout: must be at least 0 and below 1"),
    ],
)
def test_flag_combinations_are_checked(flags, message, capsys):
    with pytest.raises(SystemExit) as exc:
        trainer.main(flags)
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


def test_stacked_layers_with_dropout_train(tmp_path):
    flags = [
        "--dataset",
        "elnino",
        "--num-layers",
        "2",
        "--dropout",
        "0.2",
        "--model-type",
        "GRU",
        "--dry-run",
        "--device",
        "cpu",
        "--benchmarks",
        "simple",
        "--save-model",
        str(tmp_path / "m.pt"),
    ]
    assert trainer.main(flags) == 0
    ckpt = torch.load(tmp_path / "m.pt", weights_only=True)
    assert ckpt["model_args"]["num_layers"] == 2 and ckpt["model_args"]["dropout"] == 0.2
