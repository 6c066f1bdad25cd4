"""Data sets: the article's sine wave, cutting series into windows, saving and loading."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import torch

from fileio import FileFormatError, load_pt, save_pt

FORMAT = "seqpred-dataset-v1"
# The article's series: t = linspace(0, 1000, 2000), y = sin(2*pi*t/20): 40 samples per period.
SINE_PARAMS = {"t_start": 0.0, "t_end": 1000.0, "num_points": 2000, "period": 20.0}
TRAIN_FILE, TEST_FILE = "train_data.pt", "test_data.pt"


class DataError(Exception):
    """A problem with the data that the user can fix; the message is one line that says how."""


@dataclass
class SeriesData:
    """Train and test windows, plus what is needed to read predictions in the series' own units."""

    name: str
    train_x: torch.Tensor  # (n_train, seq_len, 1), scaled
    train_y: torch.Tensor  # (n_train, 1): the value right after each window
    test_x: torch.Tensor  # (n_test, seq_len, 1)
    test_y: torch.Tensor  # (n_test, 1); windows are consecutive, so this is the test period itself
    mean: float = 0.0  # scaled = (value - mean) / std, statistics of the training part only
    std: float = 1.0
    meta: dict = field(default_factory=dict)  # plain values saved with the data (source, ...)

    @property
    def sequence_length(self) -> int:
        return self.train_x.shape[1]

    def unscale(self, values: torch.Tensor) -> torch.Tensor:
        """Scaled model outputs back to the series' own units."""
        return values * self.std + self.mean


def sine_series(t_start=0.0, t_end=1000.0, num_points=2000, period=20.0) -> torch.Tensor:
    """The article's series: y = sin(2*pi*t/period) for t = linspace(t_start, t_end, num_points)."""
    t = torch.linspace(t_start, t_end, num_points, dtype=torch.float32)
    return torch.sin(2 * math.pi * t / period)


def make_windows(series: torch.Tensor, sequence_length: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Every run of `sequence_length` consecutive values is an input; the next value, its target."""
    # series: (T,) -> windows: (T - L + 1, L); the last window has no value after it, so drop it.
    windows = series.unfold(0, sequence_length, 1)[:-1]
    x = windows.unsqueeze(-1).contiguous()  # (T - L, L, 1)
    y = series[sequence_length:].unsqueeze(-1).contiguous()  # (T - L, 1)
    return x, y


def build_sine(sequence_length: int = 80, test_fraction: float = 0.2) -> SeriesData:
    """The article's data set: sine-wave windows, the first 80 % (in time order) for training."""
    series = sine_series(**SINE_PARAMS)
    if sequence_length >= len(series):
        raise DataError(
            f"--sequence-length {sequence_length} is longer than the sine series "
            f"({len(series)} values)"
        )
    x, y = make_windows(series, sequence_length)
    n_train = int(round(len(x) * (1 - test_fraction)))
    if n_train < 1 or n_train >= len(x):
        raise DataError(
            f"--test-fraction {test_fraction} leaves no {'training' if n_train < 1 else 'test'} "
            f"windows out of {len(x)}"
        )
    meta = {
        "dataset": "sine",
        "sequence_length": sequence_length,
        "test_fraction": test_fraction,
        "series": dict(SINE_PARAMS),
    }
    return SeriesData("sine", x[:n_train], y[:n_train], x[n_train:], y[n_train:], meta=meta)


def save_dataset(data: SeriesData, data_dir: str | Path) -> tuple[Path, Path]:
    """Write train_data.pt and test_data.pt (dicts of tensors and plain metadata), atomically."""
    data_dir = Path(data_dir)
    paths = data_dir / TRAIN_FILE, data_dir / TEST_FILE
    common = {"format": FORMAT, "mean": data.mean, "std": data.std, **data.meta}
    splits = ("train", data.train_x, data.train_y), ("test", data.test_x, data.test_y)
    for path, (split, x, y) in zip(paths, splits, strict=True):
        save_pt({"x": x, "y": y, "meta": {**common, "split": split}}, path)
    return paths


def _load_split(path: Path, split: str) -> tuple[torch.Tensor, torch.Tensor, dict]:
    """Load one split file and check that it really is a seqpred data set."""
    try:
        obj = load_pt(path, "data set")
    except FileFormatError as err:
        raise DataError(f"{err}; run with --generate-data to rebuild it") from None
    x, y, meta = obj.get("x"), obj.get("y"), obj.get("meta")
    ok = (
        isinstance(meta, dict)
        and meta.get("format") == FORMAT
        and meta.get("split") == split
        and isinstance(x, torch.Tensor)
        and isinstance(y, torch.Tensor)
        and x.dim() == 3
        and x.shape[2] == 1
        and y.shape == (x.shape[0], 1)
        and x.is_floating_point()
    )
    if not ok:
        raise DataError(
            f"{path} is not a seqpred {split} data set; run with --generate-data to rebuild it"
        )
    return x, y, meta


def load_dataset(data_dir: str | Path, sequence_length: int, test_fraction: float) -> SeriesData:
    """Load train_data.pt and test_data.pt, checking they match the sequence length asked for."""
    data_dir = Path(data_dir)
    train_path, test_path = data_dir / TRAIN_FILE, data_dir / TEST_FILE
    missing = [str(p) for p in (train_path, test_path) if not p.is_file()]
    if missing:
        raise FileNotFoundError(
            f"{' and '.join(missing)} not found; run with --generate-data to create them"
        )
    train_x, train_y, meta = _load_split(train_path, "train")
    test_x, test_y, test_meta = _load_split(test_path, "test")
    for key, asked, flag in (
        ("sequence_length", sequence_length, "--sequence-length"),
        ("test_fraction", test_fraction, "--test-fraction"),
    ):
        for path, m in ((train_path, meta), (test_path, test_meta)):
            if m.get(key) != asked:
                raise DataError(
                    f"{path} was built with {flag} {m.get(key)}, but this run asks for {asked}; "
                    f"run with --generate-data to rebuild it, or pass {flag} {m.get(key)}"
                )
    if test_x.shape[1] != sequence_length or train_x.shape[1] != sequence_length:
        raise DataError(f"{data_dir}: windows do not match their metadata; use --generate-data")
    keep = {k: v for k, v in meta.items() if k not in ("format", "split", "mean", "std")}
    return SeriesData(
        meta.get("dataset", "sine"),
        train_x.float(),
        train_y.float(),
        test_x.float(),
        test_y.float(),
        mean=float(meta.get("mean", 0.0)),
        std=float(meta.get("std", 1.0)),
        meta=keep,
    )
