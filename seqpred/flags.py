"""Command-line flags shared by the scripts (value checks, the common groups, the checks that
need several flags at once) and the errors a user can fix, each one line and an exit status."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Iterable
from pathlib import Path

from seqpred.errors import DataError, DeviceError, FileFormatError, FlagError  # noqa: F401

DEVICES = ("auto", "cpu", "cuda", "mps")
MAX_SEED = 2**32 - 1  # NumPy's seeds are 32-bit
MAX_SEEDS = 1000  # --seeds: more runs than anyone waits for is a typo
MAX_PARAMS = 10**9  # --match-params: far beyond any machine this runs on
MAX_LAYERS = 100  # --num-layers: far deeper than recurrent stacks are trained (2-4, rarely 8)


# ----------------------------------------------------------------------------- value types
def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return value


def layers(text: str) -> int:
    """Stacked recurrent layers: a model of millions of layers would take hours just to build."""
    value = positive_int(text)
    if value > MAX_LAYERS:
        raise argparse.ArgumentTypeError(f"must be at most {MAX_LAYERS}, got {text}")
    return value


def seed(text: str) -> int:
    value = int(text)
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"must be between 0 and 2**32 - 1, got {text}")
    return value


def positive_float(text: str) -> float:
    value = float(text)
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def learning_rate(text: str) -> float:
    """A positive step size that float32, in which the weights train, can hold."""
    value = positive_float(text)
    if value > 3.4e38:
        raise argparse.ArgumentTypeError(f"must be at most 3.4e38 (float32's largest), got {text}")
    return value


def seeds(text: str) -> int:
    value = positive_int(text)
    if value > MAX_SEEDS:
        raise argparse.ArgumentTypeError(f"must be at most {MAX_SEEDS}, got {text}")
    return value


def unit_interval(text: str) -> float:
    value = float(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 0 and below 1, got {text}")
    return value


def open_fraction(text: str) -> float:
    value = float(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1 (exclusive), got {text}")
    return value


def match_params(text: str) -> int | str:
    """A parameter count, or a model type whose count at --hidden-size is the target."""
    if text.isdigit():
        value = positive_int(text)
        if value > MAX_PARAMS:
            raise argparse.ArgumentTypeError(
                f"must be at most {MAX_PARAMS:.0e} parameters, got {text}"
            )
        return value
    return text.upper()


def model_type(text: str) -> str:
    """Model type, case-insensitive: 'lstm' -> 'LSTM'."""
    return text.upper()


# ----------------------------------------------------------------------------- flag groups
def add_data_arguments(parser: argparse.ArgumentParser, datasets: Iterable[str]) -> None:
    d = parser.add_argument_group("data")
    d.add_argument(
        "--dataset",
        choices=list(datasets),
        default="sine",
        help="sine: the article's sine wave; elnino: monthly sea-surface temperature 1950-2010; "
        "csv: a column of your own CSV file, see --csv; adding: the adding problem, a memory "
        "task of independent sequences (main.py only) (default: sine)",
    )
    d.add_argument("--csv", metavar="PATH", help="with --dataset csv: the CSV file to read")
    d.add_argument("--column", help="with --dataset csv: the column holding the series")
    d.add_argument(
        "--date-column",
        help="with --dataset csv: a column of dates (ISO, e.g. 2010-12-31 or 2010-12-31 23:30, "
        "or compact 20101231), strictly increasing; gives the figures a time axis and the "
        "season (optional)",
    )
    d.add_argument(
        "--season",
        type=non_negative_int,
        help="steps per season, for seasonal persistence, the seasonal mean, MASE and the lag "
        "check; 0: none (default: 40 for sine, 12 for elnino, else what the dates' spacing "
        "implies: half-hourly 48, hourly 24, daily 7, weekly 52, monthly 12, quarterly 4)",
    )
    d.add_argument(
        "--generate-data",
        action="store_true",
        help="sine only: (re)generate the data files even if they exist (default: reuse them, "
        "generating them only when missing)",
    )
    d.add_argument(
        "--data-dir",
        help="sine only: folder of train_data.pt and test_data.pt (default: current directory)",
    )
    d.add_argument(
        "--sequence-length",
        type=positive_int,
        help="input window length, in time steps (default: 80 for sine, 50 for adding, 24 "
        "otherwise)",
    )
    d.add_argument(
        "--test-fraction",
        type=open_fraction,
        help="share kept for testing, the latest in time: of the windows for sine, of the "
        "values for real series; not for adding, which has its own test sequences "
        "(default: 0.2)",
    )


def add_model_arguments(
    parser: argparse.ArgumentParser, implementations: Iterable[str], match_params: bool = True
) -> None:
    m = parser.add_argument_group("model")
    m.add_argument(
        "--hidden-size",
        type=positive_int,
        default=20,
        help="hidden units per recurrent layer (default: 20)",
    )
    m.add_argument(
        "--num-layers",
        type=layers,
        default=1,
        help=f"stacked recurrent layers, at most {MAX_LAYERS} (default: 1)",
    )
    m.add_argument(
        "--impl",
        choices=["auto", *implementations],
        default="auto",
        help="how models.py's nn.RNN/LSTM/GRU layers run, with the same model and weights in "
        "every case: torch: PyTorch's own kernels; scratch: cells.py's equations, unrolled (slow, "
        "for reading); fused: seqpred's C kernels (fast on a CPU; each configuration is checked "
        "against PyTorch on first use); auto: fused on a CPU if it builds here, else torch "
        "(default: auto)",
    )
    if match_params:
        add_match_params(m)
    m.add_argument(
        "--dropout",
        type=unit_interval,
        default=0.0,
        help="dropout between stacked layers; needs --num-layers 2 or more (default: 0)",
    )


def add_match_params(group) -> None:
    group.add_argument(
        "--match-params",
        type=match_params,
        metavar="N|MODEL",
        help="give every model about N parameters (or as many as MODEL has at --hidden-size, "
        "e.g. LSTM), choosing each one's hidden size; the sizes are printed and recorded "
        "(default: every model gets --hidden-size)",
    )


def add_training_arguments(parser: argparse.ArgumentParser) -> None:
    t = parser.add_argument_group("training")
    t.add_argument(
        "--epochs",
        type=positive_int,
        help="training epochs (default: 500; with --dataset collection, each series' own from "
        "the manifest, else 500)",
    )
    t.add_argument(
        "--batch-size",
        type=positive_int,
        default=500,
        help="training windows per batch (default: 500)",
    )
    t.add_argument(
        "--test-batch-size",
        type=positive_int,
        default=1000,
        help="windows per batch when computing the test loss (default: 1000)",
    )
    t.add_argument(
        "--lr", type=learning_rate, default=1e-3, help="Adam learning rate (default: 1e-3)"
    )
    t.add_argument(
        "--seed",
        type=seed,
        default=0,
        help="random seed for weights and batch order (default: 0)",
    )
    t.add_argument(
        "--device",
        choices=DEVICES,
        default="auto",
        help="where to train; auto picks cuda, then mps, then cpu (default: auto)",
    )
    t.add_argument(
        "--log-interval",
        type=positive_int,
        default=50,
        help="epochs between log lines on standard output when it is not a terminal (a "
        "progress bar otherwise) (default: 50)",
    )
    t.add_argument(
        "--dry-run",
        action="store_true",
        help="one epoch of one batch and a 5-step forecast: the whole path in seconds",
    )


def add_forecast_arguments(parser: argparse.ArgumentParser) -> None:
    f = parser.add_argument_group("forecast and output")
    f.add_argument(
        "--predict-start",
        type=non_negative_int,
        help="test-period index where the free-running forecast starts; the model is "
        "seeded with the true window before it (default: 123 for sine, 0 otherwise)",
    )
    f.add_argument(
        "--predict-steps",
        type=positive_int,
        help="values to forecast, each fed back as input (default: 100 for sine, 24 for "
        "elnino, 12 for csv)",
    )
    f.add_argument(
        "--strategy",
        choices=("recursive", "direct"),
        default="recursive",
        help="recursive: predict one step and feed it back, --predict-steps times (the "
        "article's); direct: the head outputs all --predict-steps values at once, trained on "
        "windows with that many targets (default: recursive)",
    )
    f.add_argument(
        "--interval",
        type=unit_interval,
        default=0.9,
        help="nominal coverage of the prediction intervals around every forecast (split and "
        "adaptive conformal), calibrated on the held-out end of the training period "
        "(--val-fraction); 0 turns them off (default: 0.9)",
    )
    f.add_argument(
        "--benchmarks",
        choices=("all", "simple"),
        default="all",
        help="all: the simple baselines and, where statsforecast is installed (pip install -e "
        "'.[benchmarks]'), AutoETS, AutoTheta and AutoARIMA, fitted on the training period and "
        "run from every origin (seconds to a minute more); simple: the simple baselines only "
        "(default: all)",
    )
    f.add_argument(
        "--val-fraction",
        type=unit_interval,
        help="share of the training period (its last windows, or values for real series) held "
        "out from training: the intervals are calibrated there (and sweep.py's trials scored), "
        "on data the model never saw; 0 trains on all of it, with no intervals (default: 0.1)",
    )
    f.add_argument(
        "--out-dir",
        help="folder for figures and tables (default: figures for sine, figures/<dataset> "
        "otherwise)",
    )


def add_model_type_argument(parser: argparse.ArgumentParser, model_types) -> None:
    """main.py's --model-type, from the registry of model types (models.MODEL_TYPES)."""
    parser.add_argument(
        "--model-type",
        type=model_type,
        choices=list(model_types),
        default="LSTM",
        help="which network to train, case-insensitive (default: LSTM)",
    )


def add_checkpoint_arguments(parser: argparse.ArgumentParser, plot: bool = False) -> None:
    """main.py's outputs: --plot (its figures), --resume and --save-model (checkpoints)."""
    if plot:
        parser.add_argument(
            "--plot",
            action="store_true",
            help="write into --out-dir: <MODEL>_loss.png, <MODEL>_gradient_flow.png, "
            "<MODEL>_forecast.png (series only) and, for an LSTM, LSTM_gates.png",
        )
    parser.add_argument(
        "--resume",
        metavar="CHECKPOINT",
        help="continue training from a checkpoint written by --save-model (same flags and "
        "data; --epochs is the total to reach)",
    )
    parser.add_argument(
        "--save-model",
        nargs="?",
        const="",
        default=None,
        metavar="PATH",
        help="save a checkpoint after training, or after the last completed epoch if stopped "
        "early, to PATH if given (default PATH: checkpoints/<MODEL>.pt)",
    )


def add_run_set_arguments(
    parser: argparse.ArgumentParser, model_types: Iterable[str], jobs_help: str = ""
) -> None:
    """--models, --seeds and --jobs: the scripts that train many runs share these."""
    parser.add_argument(
        "--models",
        type=model_type,
        nargs="+",
        choices=list(model_types),
        default=list(model_types),
        help="model types, case-insensitive, each at most once (default: RNN LSTM GRU)",
    )
    parser.add_argument(
        "--seeds",
        type=seeds,
        default=1,
        help="train every model with seeds --seed, --seed+1, ...; metrics are reported as "
        f"mean ± standard deviation across them; at most {MAX_SEEDS} (default: 1)",
    )
    parser.add_argument(
        "--jobs",
        type=positive_int,
        help="runs trained at the same time, as threads of this one process"
        + jobs_help
        + " (default: the number of CPU cores on a CPU, 3 on a GPU)",
    )


# ----------------------------------------------------------------------------- checks
def check_run_set(parser: argparse.ArgumentParser, args: argparse.Namespace, *lists: str) -> None:
    """--models (and the other list flags named) without repeats; the last seed in range."""
    for name in ("models", *lists):
        values = getattr(args, name, None) or []
        twice = [v for v in values if values.count(v) > 1]
        if twice:
            parser.error(f"--{name} names {twice[0]} more than once")
    last_seed = args.seed + getattr(args, "seeds", 1) - 1
    if last_seed > MAX_SEED:
        parser.error(f"--seed {args.seed} with --seeds {args.seeds} runs past 2**32 - 1")


def finish(
    parser: argparse.ArgumentParser,
    args: argparse.Namespace,
    presets: dict[str, dict],
    check: Callable[[argparse.Namespace], None] | None = None,
) -> argparse.Namespace:
    """Checks that need several flags at once; fills in the data set's defaults and --dry-run.

    presets: the defaults of each data set (data.PRESETS); check(args) may raise a FlagError
    for flags the data set cannot work with. Every problem is a parser.error (exit 2).
    """
    csv_flags = [f for f in ("csv", "column", "date_column") if getattr(args, f) is not None]
    for name in ("column", "date_column"):
        if getattr(args, name, None) is not None and not getattr(args, name).strip():
            parser.error(f"--{name.replace('_', '-')} is empty; give the column's name")
    if args.dataset == "csv":
        if args.csv is None or args.column is None:
            parser.error("--dataset csv needs --csv PATH and --column NAME")
    elif csv_flags:
        parser.error(f"--{csv_flags[0].replace('_', '-')} goes with --dataset csv")
    if args.dataset != "sine" and (args.generate_data or args.data_dir is not None):
        parser.error(
            "--generate-data and --data-dir apply to the sine data set only; real series are "
            "read from their CSV file on every run"
        )
    if args.dataset == "adding":
        given = [
            flag
            for flag, value in (
                ("--predict-start", getattr(args, "predict_start", None)),
                ("--predict-steps", getattr(args, "predict_steps", None)),
                ("--test-fraction", args.test_fraction),
                ("--strategy direct", getattr(args, "strategy", None) == "direct" or None),
                ("--val-fraction", getattr(args, "val_fraction", None)),
                ("--season", getattr(args, "season", None)),
            )
            if value is not None
        ]
        if given:
            parser.error(
                f"{given[0]} does not apply to --dataset adding: its sequences are independent, "
                "with a fixed set of test sequences"
            )
    if args.dataset == "collection" and getattr(args, "season", None) is not None:
        parser.error("--season applies to one series; give each series' season in the manifest")
    if args.dataset != "collection" and getattr(args, "manifest", None) is not None:
        parser.error("--manifest goes with --dataset collection")
    if args.dataset != "collection" and getattr(args, "epochs", 0) is None:
        args.epochs = 500
    if args.dropout > 0 and args.num_layers == 1:
        parser.error(
            "--dropout acts between stacked layers, so with --num-layers 1 it would do nothing; "
            "use --num-layers 2 or more"
        )
    check_run_set(parser, args)
    for key, value in presets[args.dataset].items():
        if getattr(args, key, "absent") is None:
            setattr(args, key, value)
    if args.dataset != "adding" and getattr(args, "interval", 0) and args.val_fraction == 0:
        parser.error(
            "--val-fraction 0 leaves no held-out stretch to calibrate the prediction intervals "
            "on (calibrating on training data breaks their guarantee); pass --interval 0 to go "
            "without them, or a --val-fraction above 0"
        )
    try:
        if check is not None:
            check(args)
    except FlagError as err:
        parser.error(str(err))
    if args.data_dir is None:
        args.data_dir = "."
    if getattr(args, "out_dir", "absent") is None:
        name = Path(args.csv).stem if args.dataset == "csv" else args.dataset
        args.out_dir = "figures" if args.dataset == "sine" else str(Path("figures") / name)
    if args.dry_run:
        args.epochs = 1
        if getattr(args, "predict_steps", None) is not None:
            args.predict_steps = min(args.predict_steps, 5)
    return args


def hidden_sizes(args, kinds, data, outputs: int, parameters_of) -> dict[str, int]:
    """Each model's hidden size: --hidden-size, or the one that matches --match-params.
    parameters_of(kind, **model_args): models.py's parameter count of a model."""
    if getattr(args, "match_params", None) is None:
        return dict.fromkeys(kinds, args.hidden_size)
    from seqpred.budgets import matched_hidden_sizes

    def count(kind, hidden):
        sizes = {"input_size": data.num_features, "output_size": outputs}
        return parameters_of(kind, hidden_size=hidden, num_layers=args.num_layers, **sizes)

    return matched_hidden_sizes(args.match_params, kinds, count, args.hidden_size)


def score_settings(args):
    """What a comparison scores, from its flags (see scoring.evaluation.ScoreSettings)."""
    from seqpred.scoring.evaluation import ScoreSettings

    return ScoreSettings(
        steps=args.predict_steps,
        strategy=getattr(args, "strategy", "recursive"),
        interval=getattr(args, "interval", 0.0),
        benchmarks=getattr(args, "benchmarks", "all"),
        start=args.predict_start,
        models=tuple(getattr(args, "models", None) or [getattr(args, "model_type", "")]),
    )
