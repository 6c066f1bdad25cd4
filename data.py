"""Data sets: the article's sine wave, cutting series into windows, saving and loading."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path

from seqpred.csvseries import check_representable, read_series_csv
from seqpred.errors import DataError, FileFormatError, FlagError
from seqpred.fileio import load_pt, save_pt
from seqpred.process import enough_memory
from seqpred.seasons import season_of_dates
from seqpred.settings import DataSettings, check_sine

import torch

FORMAT = "seqpred-dataset-v1"
# The article's series: t = linspace(0, 1000, 2000), y = sin(2*pi*t/20): 40 samples per period
# (39.98: the time step is 1000/1999), which seasonal persistence gets as its season.
SINE_PARAMS = {"t_start": 0.0, "t_end": 1000.0, "num_points": 2000, "period": 20.0}
SINE_SEASON = 40
TRAIN_FILE, TEST_FILE = "train_data.pt", "test_data.pt"
# Monthly sea-surface temperature of the Nino 1+2 region, 1950-2010 (NOAA, public domain).
ELNINO_CSV = Path(__file__).resolve().parent / "datasets" / "elnino_sst.csv"
ADDING_SIZES = {"train": 5000, "test": 1000}


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
    test_dates: list[str] | None = None  # the date of each test target, when the series has dates
    period: int | None = None  # seasonal period in steps (12 for monthly data), if any
    units: str = ""
    quantity: str = "value"  # what the series measures, for axis labels
    meta: dict = field(default_factory=dict)  # plain values saved with the data (source, ...)
    kind: str = "series"  # "series": consecutive windows of one series; "sequences": independent
    val_x: torch.Tensor | None = None  # (n_val, seq_len, 1): the end of the training period,
    val_y: torch.Tensor | None = None  # held out for tuning and calibration (--val-fraction)
    dates: list[str] | None = None  # the date of every value of the series, when it has dates
    test_start: int = 0  # the index in the series of the first test target

    @property
    def sequence_length(self) -> int:
        return self.train_x.shape[1]

    @property
    def num_features(self) -> int:
        return self.train_x.shape[2]

    @property
    def is_series(self) -> bool:
        """True when the test windows are consecutive windows of one series (not for adding)."""
        return self.kind == "series"

    def direct(self, steps: int) -> SeriesData:
        """The same windows with the next `steps` values as targets, for --strategy direct.

        Window i's targets are the targets of windows i .. i + steps - 1 (windows are
        consecutive), so the last steps - 1 windows of each split, whose targets would run past
        its end, are dropped: no training target lies in the held-out or test period.
        """

        def multi(x, y):
            if x is None:
                return None, None
            n = max(0, len(y) - steps + 1)  # none when the split is shorter than the horizon
            if n == 0:
                return x[:0], y.new_empty(0, steps)
            return x[:n], y[:, 0].unfold(0, steps, 1).contiguous()  # (n, seq_len, 1), (n, steps)

        (tx, ty), (vx, vy), (sx, sy) = (multi(*p) for p in self.splits())
        return replace(self, train_x=tx, train_y=ty, val_x=vx, val_y=vy, test_x=sx, test_y=sy)

    def splits(self):
        """(x, y) of the training, validation (None, None if none) and test windows."""
        return (self.train_x, self.train_y), (self.val_x, self.val_y), (self.test_x, self.test_y)

    def window_dates(self, origin: int, steps: int) -> list[str] | None:
        """The dates of test window `origin` and of the `steps` values after it, if known."""
        if not self.dates:
            return None
        target = self.test_start + origin  # the window's first target
        return self.dates[target - self.sequence_length : target + steps]

    def unscale(self, values: torch.Tensor) -> torch.Tensor:
        """Scaled model outputs back to the series' own units, in float64 (a series like
        1e9 + 10 sin t would lose its whole variation to float32 rounding here)."""
        return values.detach().double() * self.std + self.mean


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


def sine_split(sequence_length: int, test_fraction: float) -> int:
    """The number of training windows of the sine data set: the first 80 % of them, in time
    order (FlagError if a split would be empty)."""
    check_sine(sequence_length, test_fraction)
    return int(round((SINE_PARAMS["num_points"] - sequence_length) * (1 - test_fraction)))


def build_sine(sequence_length: int = 80, test_fraction: float = 0.2) -> SeriesData:
    """The article's data set: sine-wave windows, the first 80 % (in time order) for training."""
    n_train = sine_split(sequence_length, test_fraction)
    x, y = make_windows(sine_series(**SINE_PARAMS), sequence_length)
    meta = {
        "dataset": "sine",
        "sequence_length": sequence_length,
        "test_fraction": test_fraction,
        "series": dict(SINE_PARAMS),
        "season_source": "the sine wave's period",
    }
    train, test = (x[:n_train], y[:n_train]), (x[n_train:], y[n_train:])
    start = sequence_length + n_train  # the first test target's index in the series
    return SeriesData("sine", *train, *test, period=SINE_SEASON, meta=meta, test_start=start)


def hold_out_windows(data: SeriesData, fraction: float) -> SeriesData:
    """The last `fraction` of the training windows become the validation windows."""
    if not fraction:
        return data
    n_val = int(round(len(data.train_x) * fraction))
    n_fit = len(data.train_x) - n_val
    if n_val < 1 or n_fit < 1:
        raise FlagError(
            f"--val-fraction {fraction} leaves no {'validation' if n_val < 1 else 'training'} "
            f"windows out of {len(data.train_x)}"
        )
    x, y = data.train_x, data.train_y
    return replace(data, train_x=x[:n_fit], train_y=y[:n_fit], val_x=x[n_fit:], val_y=y[n_fit:])


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
        period=SINE_SEASON if meta.get("dataset", "sine") == "sine" else None,
        meta={"season_source": "the sine wave's period", **keep},
        test_start=sequence_length + len(train_y),
    )


# ----------------------------------------------------------------------------- from the settings
def prepare(d: DataSettings, log=print) -> SeriesData:
    """Build or load the data set the settings ask for, with its season (see with_season)."""
    if d.dataset == "adding":
        return build_adding(d.sequence_length)
    if d.dataset == "elnino":
        data = load_elnino(d.sequence_length, d.test_fraction, d.val_fraction)
    elif d.dataset == "csv":
        data = load_csv(
            d.csv, d.column, d.date_column, d.sequence_length, d.test_fraction, d.val_fraction
        )
    else:  # the sine data set is saved to disk, as in the article: generated once, then reused
        data = hold_out_windows(sine_data(d, log), d.val_fraction)
    data = with_season(data, d.season, d.season_source)
    if data.period and data.sequence_length < data.period:
        log(
            f"warning: --sequence-length {data.sequence_length} is shorter than the season "
            f"({data.period}): the networks never see last season's value; seasonal "
            "persistence does"
        )
    if d.series:  # a collection's series: its own name and units
        return replace(data, name=d.series, units=d.units, meta={**data.meta, "dataset": d.series})
    return data


def sine_data(d: DataSettings, log) -> SeriesData:
    """The sine data set: loaded from its files, or generated and saved when asked for or
    missing."""
    if not will_generate(d):
        return load_dataset(d.data_dir, d.sequence_length, d.test_fraction)
    data = build_sine(d.sequence_length, d.test_fraction)
    paths = save_dataset(data, d.data_dir)
    found = "Generated" if d.generate else "No data files found; generated"
    log(f"{found} {paths[0]} and {paths[1]}")
    return data


def will_generate(d: DataSettings) -> bool:
    """Whether prepare will write the sine data files (asked for, or none there yet)."""
    folder = Path(d.data_dir)
    missing = not ((folder / TRAIN_FILE).exists() or (folder / TEST_FILE).exists())
    return d.dataset == "sine" and (d.generate or missing)


def with_season(data: SeriesData, season: int | None, source: str = "") -> SeriesData:
    """The data with its season: --season if given (0: none; `source` says where it came from
    when not from the flag); else the data set's own (the sine's period, El Niño's 12 months);
    else the one its dates imply (monthly 12, ...)."""
    if season is not None:
        period, source = season or None, source or f"--season {season}"
    elif data.period:
        period, source = data.period, data.meta.get("season_source") or "the data set's"
    else:
        try:
            period, source = season_of_dates(data.dates)
        except FlagError as err:
            raise FlagError(f"{data.meta.get('source') or data.name}: {err}") from None
    return replace(data, period=period, meta={**data.meta, "season_source": source})


def describe(data: SeriesData) -> str:
    """The start-up line's words for the data: its windows and, for a series, its season."""
    held_out = f", {len(data.val_x)} held-out" if data.val_x is not None else ""
    words = (
        f"{len(data.train_x)} training{held_out} and {len(data.test_x)} test windows of length "
        f"{data.sequence_length}"
    )
    if not data.is_series:
        return words
    source = data.meta.get("season_source", "")
    return words + (
        f"; season {data.period} ({source})" if data.period else f"; no season ({source})"
    )


# ----------------------------------------------------------------------------- real series
def build_real(
    values: list[float],
    sequence_length: int,
    test_fraction: float,
    name: str,
    dates: list[str] | None = None,
    period: int | None = None,
    units: str = "",
    quantity: str = "value",
    source: str = "",
    val_fraction: float = 0.0,
    season_source: str = "",
) -> SeriesData:
    """Split a real series in time, scale it with training statistics, and cut it into windows.

    The values are split into the training period, its held-out end (val_fraction > 0: the
    calibration stretch, never trained on) and the test period. Only the *targets* belong to
    their period: a window's input may reach back into the periods before it, because at a
    forecast origin the past is known (rolling-origin evaluation). So every test value is a
    one-step target, no target of a training window lies in a later period, and the scaling
    uses the training period's values only.
    """
    series = torch.tensor(values, dtype=torch.float64)
    check_representable(series, source or name)
    n_test = int(round(len(series) * test_fraction))
    n_val = int(round((len(series) - n_test) * val_fraction))
    n_fit = len(series) - n_test - n_val
    sizes = {"test": n_test, **({"validation": n_val} if val_fraction else {})}
    if n_fit < sequence_length + 1 or min(sizes.values()) < 1:
        parts = ", ".join(f"the {k} part {v}" for k, v in {"training": n_fit, **sizes}.items())
        raise FlagError(
            f"{source or name}: {len(series)} values are too few: with --sequence-length "
            f"{sequence_length}, --test-fraction {test_fraction} and --val-fraction {val_fraction} "
            f"{parts} values; the training part needs at least {sequence_length + 1} (one "
            "window and the value after it) and the others one each; use a shorter "
            "--sequence-length or a longer series"
        )
    mean = float(series[:n_fit].mean())
    std = float(series[:n_fit].std()) or 1.0  # a constant series keeps its scale
    scaled = ((series - mean) / std).float()
    x, y = make_windows(scaled, sequence_length)  # window i: target i + sequence_length
    first = n_fit - sequence_length, n_fit + n_val - sequence_length  # first val, test window
    meta = {
        "dataset": name,
        "source": source,
        "sequence_length": sequence_length,
        "test_fraction": test_fraction,
        "val_fraction": val_fraction,
        "num_values": len(series),
        "train_values": n_fit,
        "season_source": season_source,
    }
    return SeriesData(
        name,
        x[: first[0]],
        y[: first[0]],
        x[first[1] :],
        y[first[1] :],
        mean,
        std,
        dates[n_fit + n_val :] if dates else None,
        period,
        units,
        quantity,
        meta,
        val_x=x[first[0] : first[1]] if n_val else None,
        val_y=y[first[0] : first[1]] if n_val else None,
        dates=dates,
        test_start=n_fit + n_val,
    )


def load_elnino(sequence_length: int, test_fraction: float, val_fraction=0.0) -> SeriesData:
    """The monthly Nino 1+2 sea-surface temperature, 1950-2010 (732 months, degrees Celsius)."""
    values, dates = read_series_csv(ELNINO_CSV, "sst", "date")
    return build_real(
        values,
        sequence_length,
        test_fraction,
        "elnino",
        dates,
        period=12,
        season_source="monthly data",
        units="°C",
        quantity="Niño 1+2 sea-surface temperature",
        source="NOAA CPC ERSST.V3B Nino 1+2 index, public domain",
        val_fraction=val_fraction,
    )


def load_csv(
    path, column, date_column, sequence_length: int, test_fraction: float, val_fraction=0.0
) -> SeriesData:
    """Any univariate series a user brings, as one column of a CSV file."""
    values, dates = read_series_csv(path, column, date_column)
    return build_real(
        values,
        sequence_length,
        test_fraction,
        Path(path).stem,
        dates,
        quantity=column,
        source=str(path),
        val_fraction=val_fraction,
    )


# ----------------------------------------------------------------------------- the adding problem
def adding_samples(n: int, length: int, generator: torch.Generator):
    """n sequences of the adding problem (Hochreiter & Schmidhuber, 1997).

    Each step has two inputs: a random value in [0, 1) and a marker that is 1 at exactly two
    steps, one in the first half of the sequence and one in the second. The target is the sum of
    the two marked values, so the prediction depends on an input at least length/2 steps back.
    """
    values = torch.rand(n, length, generator=generator)
    markers = torch.zeros(n, length)
    first = torch.randint(0, length // 2, (n,), generator=generator)
    second = torch.randint(length // 2, length, (n,), generator=generator)
    rows = torch.arange(n)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    x = torch.stack([values, markers], dim=-1)  # (n, length, 2)
    y = (values * markers).sum(dim=1, keepdim=True)  # (n, 1)
    return x, y


def build_adding(length: int, seed: int = 1234) -> SeriesData:
    """The adding problem at one length (2 or more); with a fixed seed, so every model sees the
    same data."""
    generator = torch.Generator().manual_seed(seed)
    n_bytes = 4 * 4 * length * sum(ADDING_SIZES.values())  # values, markers, x: float32
    with enough_memory(f"--sequence-length {length}", n_bytes=n_bytes):
        train_x, train_y = adding_samples(ADDING_SIZES["train"], length, generator)
        test_x, test_y = adding_samples(ADDING_SIZES["test"], length, generator)
    meta = {"dataset": "adding", "sequence_length": length, "data_seed": seed, **ADDING_SIZES}
    return SeriesData(
        "adding", train_x, train_y, test_x, test_y, quantity="sum", meta=meta, kind="sequences"
    )
