"""The settings of a run, typed and frozen, built once from the flags: what it reads (data),
how it trains (train), what it scores (score), where it writes (output), which runs it makes
(runs). `from_flags` is the one place that reads the parsed flags; below the scripts nothing
sees them. A setting resolved later (the device's implementation, a collection's series) makes
a new value with dataclasses.replace; none is changed after it is built."""

from __future__ import annotations

import argparse
import shlex
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path

from seqpred import budgets
from seqpred.errors import FlagError
from seqpred.flags import MAX_SEED, PANEL_LR, PANELS
from seqpred.process import available_memory

# Defaults that depend on the data set: an 80-step look-back suits a 40-sample sine period, two
# years suit monthly data, and the forecast must fit inside the (shorter) test period.
PRESETS = {
    "sine": {"sequence_length": 80, "test_fraction": 0.2, "val_fraction": 0.1},
    "elnino": {"sequence_length": 24, "test_fraction": 0.2, "val_fraction": 0.1},
    "csv": {"sequence_length": 24, "test_fraction": 0.2, "val_fraction": 0.1},
    "collection": {"test_fraction": 0.2, "val_fraction": 0.1},  # look-back: each series' own
    "adding": {"sequence_length": 50, "val_fraction": 0.0},
    **{name: {"val_fraction": 0.1} for name in PANELS},  # validation: each series' last h
}
FORECASTS = {  # (origin the figures draw, steps forecast)
    "sine": (123, 100),
    "elnino": (0, 24),
    "csv": (0, 12),
    "collection": (0, None),  # each series' own horizon, from its season
    "adding": (0, 1),
    **{name: (0, None) for name in PANELS},  # the competition's horizon, or the panel's season's
}
SINE_POINTS = 2000  # data.py's sine wave: the windows a look-back leaves
DRY_STEPS = 5  # --dry-run: a 5-step forecast


@dataclass(frozen=True)
class DataSettings:
    """What a run reads: the data set and how it is cut into windows and periods."""

    dataset: str
    sequence_length: int | None
    test_fraction: float | None
    val_fraction: float
    csv: str | None = None
    column: str | None = None
    date_column: str | None = None
    season: int | None = None  # --season (0: none); None: the data set's or its dates'
    season_source: str = ""  # where a given season came from, if not from --season
    generate: bool = False
    data_dir: str = "."
    manifest: str | None = None
    series: str | None = None  # a collection's series: its name
    id_column: str | None = None  # a panel's series names
    max_series: int | None = None  # a competition's or panel's first series only
    deseasonalise: str = "auto"
    units: str = ""

    @property
    def input_size(self) -> int:
        return 2 if self.dataset == "adding" else 1  # the adding problem: value and marker


@dataclass(frozen=True)
class TrainSettings:
    """How one model trains: its size, the optimizer, the epochs and the seed."""

    hidden_size: int = 20
    num_layers: int = 1
    dropout: float = 0.0
    impl: str = "auto"  # torch, scratch, fused (auto until the start-up resolves it)
    epochs: int = 500
    batch_size: int = 500
    test_batch_size: int = 1000
    lr: float = 1e-3
    seed: int = 0
    max_batches: int | None = None  # --dry-run: one batch per epoch
    outputs: int = 1  # values the head predicts: 1, or --predict-steps with --strategy direct

    def model_args(self, input_size: int = 1) -> dict:
        """Constructor arguments of the model (saved in checkpoints)."""
        return {
            "input_size": input_size,
            "hidden_size": self.hidden_size,
            "output_size": self.outputs,
            "num_layers": self.num_layers,
            "dropout": self.dropout,
        }


@dataclass(frozen=True)
class ScoreSettings:
    """What a comparison scores: the horizon, how the networks forecast, the intervals' level,
    which benchmarks run, the origin of the illustrated forecast, and the models' order."""

    steps: int
    strategy: str = "recursive"
    interval: float = 0.9
    benchmarks: str = "all"  # all: the simple baselines and statsforecast's; simple: only those
    start: int = 0
    models: tuple[str, ...] = ()


@dataclass(frozen=True)
class OutputSettings:
    """Where a run writes: its folder, and main.py's figures and checkpoints."""

    out_dir: str
    overwrite: bool = False
    plot: bool = False
    save_model: str | None = None  # the checkpoint's path, if one is asked for
    resume: str | None = None


@dataclass(frozen=True)
class RunSettings:
    """Which runs a script makes: the model types, the seeds, how many at a time, where."""

    models: tuple[str, ...]
    seeds: int = 1
    jobs: int | None = None
    device: str = "auto"
    log_interval: int = 50
    match_params: int | str | None = None
    hidden_sizes: dict = field(default_factory=dict)  # each model's, --match-params resolved

    def seed_list(self, first: int) -> list[int]:
        return list(range(first, first + self.seeds))


@dataclass(frozen=True)
class SweepSettings:
    trials: int = 20
    storage: str | None = None
    workers: int = 1
    worker_id: int | None = None


@dataclass(frozen=True)
class Settings:
    """Everything a script run needs to know from its command line."""

    script: str
    train: TrainSettings
    output: OutputSettings
    runs: RunSettings
    data: DataSettings | None = None  # None: the adding problem's sweep over lengths
    score: ScoreSettings | None = None
    sweep: SweepSettings | None = None
    lengths: tuple[int, ...] = ()  # adding_task.py's sequence lengths
    dry_run: bool = False
    flags: dict = field(default_factory=dict)  # the parsed flags, as recorded with the results
    command: str = ""  # the command line that made them, for the reader

    def for_series(self, entry: dict, horizon: int, look_back: int, epochs: int) -> Settings:
        """One series of a collection: its file, season, look-back, horizon and epochs (the
        collection's flags, where given, for every one)."""
        data = replace(
            self.data,
            dataset="csv",
            csv=entry["path"],
            column=entry["column"],
            date_column=entry["date_column"] or None,
            season=entry["season"] or 0,
            season_source=entry["season_source"],
            sequence_length=self.data.sequence_length or look_back,
            series=entry["name"],
            units=entry["units"],
        )
        steps = self.score.steps or horizon
        return replace(
            self,
            data=data,
            score=replace(self.score, steps=min(steps, DRY_STEPS) if self.dry_run else steps),
            train=replace(self.train, epochs=self.train.epochs or epochs),
            output=replace(self.output, out_dir=str(Path(self.output.out_dir) / entry["name"])),
        )


# ----------------------------------------------------------------------------- from the flags
def from_flags(parser: argparse.ArgumentParser, argv=None) -> Settings:
    """Parse the command line and check what needs several flags at once; every problem is a
    parser.error (one line, exit 2)."""
    args = parser.parse_args(argv)
    try:
        return build(parser.prog, args, argv)
    except FlagError as err:
        parser.error(str(err))


def build(script: str, args: argparse.Namespace, argv) -> Settings:
    """The settings the flags describe (see from_flags)."""
    check_together(script, args)
    data = data_settings(args) if script != "adding_task.py" else None
    score = score_settings(args, data) if data and data.dataset != "adding" else None
    if script == "adding_task.py":
        epochs = args.epochs or 40
    else:  # a collection's series take their own from the manifest, where given
        epochs = args.epochs or {"collection": None, **dict.fromkeys(PANELS, 15)}.get(
            data.dataset, 500
        )
    direct = score is not None and score.strategy == "direct"
    train = TrainSettings(
        hidden_size=args.hidden_size,
        num_layers=args.num_layers,
        dropout=args.dropout,
        impl=args.impl,
        epochs=1 if args.dry_run else epochs,
        batch_size=args.batch_size,
        test_batch_size=args.test_batch_size,
        lr=args.lr or (PANEL_LR if data and data.dataset in PANELS else 1e-3),
        seed=args.seed,
        max_batches=1 if args.dry_run else None,
        outputs=score.steps if direct and score.steps else 1,
    )
    models = tuple(getattr(args, "models", None) or [args.model_type])
    runs = RunSettings(
        models=models,
        seeds=getattr(args, "seeds", 1),
        jobs=getattr(args, "jobs", None),
        device=args.device,
        log_interval=args.log_interval,
        match_params=getattr(args, "match_params", None),
        hidden_sizes=hidden_sizes(args, models, data, train),
    )
    check_memory(runs, data.input_size if data else 2, train)
    sweep = None
    if script == "sweep.py":
        sweep = SweepSettings(args.trials, args.storage, args.workers, args.worker_id)
    return Settings(
        script=script,
        data=data,
        train=train,
        score=score,
        output=output_settings(script, args, data),
        runs=runs,
        sweep=sweep,
        lengths=tuple(getattr(args, "lengths", ()) or ()),
        dry_run=args.dry_run,
        flags=dict(vars(args)),
        command=command_line(script, argv),
    )


def command_line(script: str, argv) -> str:
    """The command, as a user would type it again."""
    words = sys.argv[1:] if argv is None else list(argv)
    return " ".join(["python", script, *(shlex.quote(str(w)) for w in words)])


def check_together(script: str, args) -> None:
    """What flags cannot do together; FlagError naming them."""
    dataset = getattr(args, "dataset", None)
    if dataset is not None:
        csv_flags = [f for f in ("csv", "column", "date_column") if getattr(args, f) is not None]
        if dataset == "csv" and (args.csv is None or args.column is None):
            raise FlagError("--dataset csv needs --csv PATH and --column NAME")
        check_panel(dataset, args)
        if dataset not in ("csv", "panel") and csv_flags:
            raise FlagError(f"--{csv_flags[0].replace('_', '-')} goes with --dataset csv")
        if dataset != "sine" and (args.generate_data or args.data_dir is not None):
            raise FlagError(
                "--generate-data and --data-dir apply to the sine data set only; real series "
                "are read from their CSV file on every run"
            )
        if dataset == "adding":
            check_adding(args)
        if dataset == "collection" and args.season is not None:
            raise FlagError(
                "--season applies to one series; give each series' season in the manifest"
            )
        if dataset != "collection" and getattr(args, "manifest", None) is not None:
            raise FlagError("--manifest goes with --dataset collection")
    if args.dropout > 0 and args.num_layers == 1:
        raise FlagError(
            "--dropout acts between stacked layers, so with --num-layers 1 it would do "
            "nothing; use --num-layers 2 or more"
        )
    for name in ("models", "lengths"):
        values = getattr(args, name, None) or []
        twice = [v for v in values if values.count(v) > 1]
        if twice:
            raise FlagError(f"--{name} names {twice[0]} more than once")
    if args.seed + getattr(args, "seeds", 1) - 1 > MAX_SEED:
        raise FlagError(f"--seed {args.seed} with --seeds {args.seeds} runs past 2**32 - 1")
    if script == "sweep.py" and args.val_fraction == 0:
        raise FlagError("--val-fraction must be above 0: the trials are scored on that split")


def check_panel(dataset: str, args) -> None:
    """A competition's or panel's own flags, and those it takes not (its splits are fixed)."""
    own = [f for f in ("id_column", "max_series", "deseasonalise") if getattr(args, f, None)]
    fixed = ("predict_steps",) if dataset != "panel" else ()
    other = [
        f
        for f in (*fixed, "test_fraction", "val_fraction", "predict_start")
        if getattr(args, f) is not None
    ]
    if dataset not in PANELS and own:
        raise FlagError(f"--{own[0].replace('_', '-')} goes with a competition or --dataset panel")
    if dataset in PANELS and other:
        raise FlagError(
            f"--{other[0].replace('_', '-')} does not apply to --dataset {dataset}: each series' "
            "test is its last horizon" + (", the competition's own" if fixed else "")
        )
    if dataset == "panel" and args.csv is None:
        raise FlagError("--dataset panel needs --csv PATH (columns unique_id, ds, y)")


def check_adding(args) -> None:
    given = [
        flag
        for flag, value in (
            ("--predict-start", args.predict_start),
            ("--predict-steps", args.predict_steps),
            ("--test-fraction", args.test_fraction),
            ("--strategy direct", args.strategy == "direct" or None),
            ("--val-fraction", args.val_fraction),
            ("--season", args.season),
        )
        if value is not None
    ]
    if given:
        raise FlagError(
            f"{given[0]} does not apply to --dataset adding: its sequences are independent, "
            "with a fixed set of test sequences"
        )


def data_settings(args) -> DataSettings:
    preset = PRESETS[args.dataset]
    data = DataSettings(
        dataset=args.dataset,
        sequence_length=args.sequence_length or preset.get("sequence_length"),
        test_fraction=args.test_fraction or preset.get("test_fraction"),
        val_fraction=(
            args.val_fraction if args.val_fraction is not None else preset["val_fraction"]
        ),
        csv=args.csv,
        column=args.column,
        date_column=args.date_column,
        season=args.season,
        generate=args.generate_data,
        data_dir=args.data_dir or ".",
        manifest=getattr(args, "manifest", None),
        id_column=getattr(args, "id_column", None),
        max_series=getattr(args, "max_series", None),
        deseasonalise=getattr(args, "deseasonalise", None) or "auto",
    )
    if data.dataset == "sine":
        check_sine(data.sequence_length, data.test_fraction)
    return data


def check_sine(sequence_length: int, test_fraction: float) -> None:
    """The sine wave's windows: FlagError where a look-back or split leaves a split empty."""
    n_windows = SINE_POINTS - sequence_length
    if n_windows < 2:
        raise FlagError(
            f"--sequence-length {sequence_length} leaves fewer than 2 windows in the "
            f"{SINE_POINTS}-value sine series"
        )
    n_train = int(round(n_windows * (1 - test_fraction)))
    if n_train < 1 or n_train >= n_windows:
        empty = "training" if n_train < 1 else "test"
        raise FlagError(
            f"--test-fraction {test_fraction} leaves no {empty} windows out of {n_windows}"
        )


def check_forecast(n_test: int, score: ScoreSettings) -> None:
    """The illustrated forecast and its continuation must lie inside the test period."""
    if score.start + score.steps > n_test:
        raise FlagError(
            f"--predict-start {score.start} + --predict-steps {score.steps} run past the end of "
            f"the test period ({n_test} values); use smaller values"
        )


def score_settings(args, data: DataSettings) -> ScoreSettings:
    start, steps = FORECASTS[data.dataset]
    steps = args.predict_steps or steps
    if args.dry_run and steps:
        steps = min(steps, DRY_STEPS)
    interval = args.interval
    if data.dataset != "adding" and interval and data.val_fraction == 0:
        raise FlagError(
            "--val-fraction 0 leaves no held-out stretch to calibrate the prediction intervals "
            "on (calibrating on training data breaks their guarantee); pass --interval 0 to go "
            "without them, or a --val-fraction above 0"
        )
    return ScoreSettings(
        steps=steps,
        strategy=args.strategy or ("direct" if data.dataset in PANELS else "recursive"),
        interval=interval,
        benchmarks=args.benchmarks,
        start=args.predict_start if args.predict_start is not None else start,
        models=tuple(getattr(args, "models", None) or [getattr(args, "model_type", "")]),
    )


def output_settings(script: str, args, data: DataSettings | None) -> OutputSettings:
    out = args.out_dir
    if out is None:
        if data is None:
            out = "figures/adding"
        else:
            name = Path(data.csv).stem if data.dataset in ("csv", "panel") else data.dataset
            out = "figures" if data.dataset == "sine" else str(Path("figures") / name)
    if script == "sweep.py" and (out == "figures" or out.startswith("figures/")):
        out = str(Path(out) / "sweep")
    save = getattr(args, "save_model", None)  # "" (the flag without a path): the default
    save = str(Path("checkpoints") / f"{args.model_type}.pt") if save == "" else save
    return OutputSettings(
        out_dir=out,
        overwrite=args.overwrite,
        plot=getattr(args, "plot", False),
        save_model=save,
        resume=getattr(args, "resume", None),
    )


def check_memory(runs: RunSettings, input_size: int, train: TrainSettings) -> None:
    """Refuse a model whose weights, gradients and Adam's two averages (4 floats a parameter)
    would not fit in memory at all, before anything is allocated: with memory overcommitted,
    the allocation itself may succeed and the process be killed when it first touches it."""
    free = available_memory()
    for kind, hidden in runs.hidden_sizes.items():
        n = budgets.parameters(kind, hidden, train.num_layers, input_size, train.outputs)
        if free is not None and 16 * n > free:
            raise FlagError(
                f"not enough memory for --hidden-size {hidden} and --num-layers "
                f"{train.num_layers}; use smaller values"
            )


def hidden_sizes(args, models, data: DataSettings | None, train: TrainSettings) -> dict:
    """Each model's hidden size: --hidden-size, or the one that matches --match-params."""
    target = getattr(args, "match_params", None)
    if target is None:
        return dict.fromkeys(models, args.hidden_size)
    sizes = {"num_layers": args.num_layers, "input_size": data.input_size if data else 2}
    return budgets.matched_hidden_sizes(
        target, models, args.hidden_size, output_size=train.outputs, **sizes
    )
