from seqpred.errors import DataError

import pytest
import torch

import data as datasets


def test_sine_series_is_the_articles():
    y = datasets.sine_series(**datasets.SINE_PARAMS)
    t = torch.linspace(0, 1000, 2000)
    assert y.shape == (2000,)
    torch.testing.assert_close(y, torch.sin(2 * torch.pi * t / 20))


def test_windows_target_is_the_value_after_the_window():
    series = torch.arange(10.0)
    x, y = datasets.make_windows(series, 3)
    assert x.shape == (7, 3, 1) and y.shape == (7, 1)
    for i in range(7):
        assert x[i, :, 0].tolist() == series[i : i + 3].tolist()
        assert y[i, 0].item() == series[i + 3].item()


def test_split_is_in_time_order_and_no_window_crosses():
    L = 80
    d = datasets.build_sine(L, 0.2)
    series = datasets.sine_series(**datasets.SINE_PARAMS)
    assert len(d.train_x) == round(0.8 * (2000 - L)) and len(d.train_x) + len(d.test_x) == 2000 - L
    # Train windows are the first ones: train window i starts at series index i.
    torch.testing.assert_close(d.train_x[0, :, 0], series[:L])
    torch.testing.assert_close(d.test_x[0, :, 0], series[len(d.train_x) : len(d.train_x) + L])
    # Every value a training window uses (inputs and target) comes before the first test target.
    last_train_index = len(d.train_x) - 1 + L  # the last training target
    first_test_target = len(d.train_x) + L
    assert last_train_index < first_test_target
    torch.testing.assert_close(d.test_y[:, 0], series[first_test_target:])


def test_save_load_round_trip_with_weights_only(tmp_path):
    d = datasets.build_sine(40, 0.2)
    train_path, test_path = datasets.save_dataset(d, tmp_path)
    raw = torch.load(train_path, weights_only=True)
    assert set(raw) == {"x", "y", "meta"} and raw["meta"]["sequence_length"] == 40
    back = datasets.load_dataset(tmp_path, 40, 0.2)
    for name in ("train_x", "train_y", "test_x", "test_y"):
        torch.testing.assert_close(getattr(back, name), getattr(d, name))
    assert not list(tmp_path.glob("*.tmp")), "temporary files left behind"


def test_wrong_sequence_length_is_a_clear_error(tmp_path):
    datasets.save_dataset(datasets.build_sine(40, 0.2), tmp_path)
    with pytest.raises(DataError, match="--generate-data"):
        datasets.load_dataset(tmp_path, 80, 0.2)


def test_missing_files_say_what_to_do(tmp_path):
    with pytest.raises(FileNotFoundError, match="--generate-data"):
        datasets.load_dataset(tmp_path, 80, 0.2)


@pytest.mark.parametrize("content", [b"", b"not a zip file", b"PK\x03\x04garbage"])
def test_corrupt_file_is_not_a_data_set(tmp_path, content):
    datasets.save_dataset(datasets.build_sine(40, 0.2), tmp_path)
    (tmp_path / "train_data.pt").write_bytes(content)
    with pytest.raises(DataError, match="not a valid data set"):
        datasets.load_dataset(tmp_path, 40, 0.2)


def test_a_pt_file_that_is_not_a_data_set(tmp_path):
    datasets.save_dataset(datasets.build_sine(40, 0.2), tmp_path)
    torch.save({"weights": torch.zeros(3)}, tmp_path / "test_data.pt")
    with pytest.raises(DataError, match="not a seqpred test data set"):
        datasets.load_dataset(tmp_path, 40, 0.2)
