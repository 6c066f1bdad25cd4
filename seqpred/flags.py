"""The flags the scripts share: value types, and the groups each script's parser is built from
(parsers.py). Nothing here imports PyTorch, so `--help` answers at once."""

from __future__ import annotations

import argparse
import math

DEVICES = ("auto", "cpu", "cuda", "mps")
MODEL_TYPES = ("RNN", "LSTM", "GRU")  # models.py's registry has these, in this order (a test)
IMPLS = ("auto", "torch", "scratch", "fused")
MAX_SEED = 2**32 - 1  # NumPy's seeds are 32-bit
MAX_SEEDS = 1000  # --seeds: more runs than anyone waits for is a typo
MAX_PARAMS = 10**9  # --match-params: far beyond any machine this runs on
MAX_LAYERS = 100  # --num-layers: far deeper than recurrent stacks are trained (2-4, rarely 8)

# Every data set, and the words --help gives it; each script offers the ones it can run.
DATASETS = {
    "sine": "the article's sine wave",
    "elnino": "monthly sea-surface temperature of the Niño 1+2 region, 1950-2010",
    "csv": "a column of your own CSV file (--csv, --column)",
    "collection": "every series of datasets/collection.csv (or --manifest), ranked across them",
    "adding": "the adding problem, a memory task of independent sequences",
    "m3-monthly": "the M3 competition's 1428 monthly series (one global model per cell)",
    "m3-quarterly": "M3's 756 quarterly series",
    "m3-yearly": "M3's 645 yearly series",
    "m3-other": "M3's 174 other series",
    "tourism-monthly": "the Tourism competition's 366 monthly series",
    "tourism-quarterly": "Tourism's 427 quarterly series",
    "tourism-yearly": "Tourism's 518 yearly series",
    "panel": "your own series, a long-format CSV (--csv; columns unique_id, ds, y)",
}
PANEL_LR = 3e-3  # chosen on M3 monthly's validation split (docs/competitions.md)
PANELS = (  # the data sets of many series that one global model per cell learns from
    "m3-monthly",
    "m3-quarterly",
    "m3-yearly",
    "m3-other",
    "tourism-monthly",
    "tourism-quarterly",
    "tourism-yearly",
    "panel",
)
SCRIPT_DATASETS = {
    "main.py": ("sine", "elnino", "csv", "adding"),
    "compare_results.py": ("sine", "elnino", "csv", "collection", *PANELS),
    "sweep.py": ("sine", "elnino", "csv"),
}


# ----------------------------------------------------------------------------- value types
def value_type(convert, ok, words: str, name: str):
    """A flag's type: convert(text), refused (one line, exit 2) unless ok(value). argparse names
    it in its own errors ("invalid positive_int value"), hence `name`."""

    def parse(text: str):
        value = convert(text)
        if not ok(value):
            raise argparse.ArgumentTypeError(f"must be {words}, got {text}")
        return value

    parse.__name__ = name
    return parse


positive_int = value_type(int, lambda v: v >= 1, "a positive integer", "positive_int")
non_negative_int = value_type(int, lambda v: v >= 0, "0 or more", "non_negative_int")
# Stacked recurrent layers: a model of millions of layers would take hours just to build.
layers = value_type(int, lambda v: 1 <= v <= MAX_LAYERS, f"from 1 to {MAX_LAYERS}", "layers")
seed = value_type(int, lambda v: 0 <= v <= MAX_SEED, "between 0 and 2**32 - 1", "seed")
positive_float = value_type(
    float, lambda v: v > 0 and math.isfinite(v), "a positive number", "positive_float"
)
# A positive step size that float32, in which the weights train, can hold.
learning_rate = value_type(
    float,
    lambda v: 0 < v <= 3.4e38,
    "a positive number, at most 3.4e38 (float32's largest)",
    "learning_rate",
)
seeds = value_type(int, lambda v: 1 <= v <= MAX_SEEDS, f"from 1 to {MAX_SEEDS}", "seeds")
unit_interval = value_type(float, lambda v: 0 <= v < 1, "at least 0 and below 1", "unit_interval")
open_fraction = value_type(
    float, lambda v: 0 < v < 1, "between 0 and 1 (exclusive)", "open_fraction"
)
# A look-back (or, for the adding problem, a sequence length) of at least 2 steps.
sequence_length = value_type(int, lambda v: v >= 2, "2 or more", "sequence_length")


def match_params(text: str) -> int | str:
    """A parameter count, or a model type whose count at --hidden-size is the target."""
    if text.isdigit():
        return parameter_count(text)
    return text.upper()


parameter_count = value_type(
    int, lambda v: 1 <= v <= MAX_PARAMS, f"from 1 to {MAX_PARAMS:.0e} parameters", "parameter_count"
)


def model_type(text: str) -> str:
    """Model type, case-insensitive: 'lstm' -> 'LSTM'."""
    return text.upper()


def non_empty(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("is empty; give the column's name")
    return text


# ----------------------------------------------------------------------------- flag groups
def add_data_arguments(p: argparse.ArgumentParser, script: str) -> None:
    choices = SCRIPT_DATASETS[script]
    d = p.add_argument_group("data")
    d.add_argument(
        "--dataset",
        choices=choices,
        default="sine",
        help="; ".join(f"{k}: {DATASETS[k]}" for k in choices) + " (default: sine)",
    )
    d.add_argument("--csv", metavar="PATH", help="with --dataset csv: the CSV file to read")
    d.add_argument(
        "--column", type=non_empty, help="with --dataset csv: the column holding the series"
    )
    d.add_argument(
        "--date-column",
        type=non_empty,
        help="with --dataset csv: a column of dates (ISO, e.g. 2010-12-31 or 2010-12-31 23:30, "
        "or compact 20101231), strictly increasing; gives the figures a time axis and the "
        "season (optional)",
    )
    d.add_argument(
        "--season",
        type=non_negative_int,
        help="steps per season, for seasonal persistence, the seasonal mean, MASE and the lag "
        "check; 0: none (default: 40 for sine, 12 for elnino, else what the dates' calendar "
        "implies: half-hourly 48, hourly 24, daily 7, business days 5, weekly 52, monthly 12, "
        "quarterly 4; irregular dates ask for it)",
    )
    if "collection" in choices:
        d.add_argument(
            "--manifest",
            metavar="PATH",
            help="with --dataset collection: the list of series (default: datasets/collection.csv)",
        )
    if "panel" in choices:
        add_panel_arguments(d)
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
        type=sequence_length,
        help="input window length, in time steps (default: 80 for sine, "
        + ("50 for adding, " if "adding" in choices else "")
        + ("each series' from its season for collection, " if "collection" in choices else "")
        + ("twice the horizon for a competition or panel, " if "panel" in choices else "")
        + "24 otherwise)",
    )
    d.add_argument(
        "--test-fraction",
        type=open_fraction,
        help="share kept for testing, the latest in time: of the windows for sine, of the "
        "values for real series"
        + ("; not for adding, which has its own test sequences" if "adding" in choices else "")
        + " (default: 0.2)",
    )


def add_panel_arguments(d) -> None:
    d.add_argument(
        "--id-column",
        type=non_empty,
        help="with --dataset panel: the column naming each series (default: unique_id; "
        "--date-column defaults to ds, --column to y)",
    )
    d.add_argument(
        "--max-series",
        type=positive_int,
        help="with a competition or panel: only its first N series, for a quick try (default: all)",
    )
    d.add_argument(
        "--deseasonalise",
        choices=("auto", "yes", "no"),
        help="with a competition or panel: divide seasonal series by their seasonal indices "
        "before the networks see them; auto: where the validation split says it helps a global "
        "linear autoregression (default: auto)",
    )


def add_model_arguments(p: argparse.ArgumentParser, match: bool = True, hidden: int = 20) -> None:
    m = p.add_argument_group("model")
    m.add_argument(
        "--hidden-size",
        type=positive_int,
        default=hidden,
        help=f"hidden units per recurrent layer (default: {hidden})",
    )
    m.add_argument(
        "--num-layers",
        type=layers,
        default=1,
        help=f"stacked recurrent layers, at most {MAX_LAYERS} (default: 1)",
    )
    m.add_argument(
        "--impl",
        choices=IMPLS,
        default="auto",
        help="how models.py's nn.RNN/LSTM/GRU layers run, with the same model and weights in "
        "every case: torch: PyTorch's own kernels; scratch: cells.py's equations, unrolled (slow, "
        "for reading); fused: seqpred's C kernels (fast on a CPU; each configuration is checked "
        "against PyTorch on first use); auto: fused on a CPU if it builds here, else torch "
        "(default: auto)",
    )
    if match:
        m.add_argument(
            "--match-params",
            type=match_params,
            metavar="N|MODEL",
            help="give every model about N parameters (or as many as MODEL has at "
            "--hidden-size, e.g. LSTM), choosing each one's hidden size; the sizes are printed "
            "and recorded (default: every model gets --hidden-size)",
        )
    m.add_argument(
        "--dropout",
        type=unit_interval,
        default=0.0,
        help="dropout between stacked layers; needs --num-layers 2 or more (default: 0)",
    )


def add_training_arguments(
    p: argparse.ArgumentParser,
    epochs: str = "500",
    batch: int = 500,
    lr: float = 1e-3,
    log_interval: int = 50,
    panels: bool = False,
) -> None:
    t = p.add_argument_group("training")
    t.add_argument("--epochs", type=positive_int, help=f"training epochs (default: {epochs})")
    t.add_argument(
        "--batch-size",
        type=positive_int,
        default=batch,
        help=f"training windows per batch (default: {batch})",
    )
    t.add_argument(
        "--test-batch-size",
        type=positive_int,
        default=1000,
        help="windows per batch when computing the test loss (default: 1000)",
    )
    t.add_argument(
        "--lr",
        type=learning_rate,
        default=None if panels else lr,
        help=f"Adam learning rate (default: {lr:g}"
        + (f"; {PANEL_LR:g} for a competition or panel)" if panels else ")"),
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
        default=log_interval,
        help="epochs between log lines on standard output when it is not a terminal (a "
        f"progress bar otherwise) (default: {log_interval})",
    )
    t.add_argument(
        "--dry-run",
        action="store_true",
        help="one epoch of one batch (and a 5-step forecast): the whole path in seconds",
    )


def add_forecast_arguments(p: argparse.ArgumentParser) -> None:
    f = p.add_argument_group("forecasts and scoring")
    f.add_argument(
        "--predict-start",
        type=non_negative_int,
        help="test-period index of the origin whose forecast the figures draw (default: 123 "
        "for sine, 0 otherwise)",
    )
    f.add_argument(
        "--predict-steps",
        type=positive_int,
        help="values to forecast from every test origin (default: 100 for sine, 24 for elnino, "
        "12 for csv; for a panel, its season's M4 horizon: 18 monthly, 8 quarterly, 6 yearly; "
        "a competition's is its own)",
    )
    f.add_argument(
        "--strategy",
        choices=("recursive", "direct"),
        help="recursive: predict one step and feed it back, --predict-steps times (the "
        "article's); direct: the head outputs all --predict-steps values at once, trained on "
        "windows with that many targets (default: recursive; direct for a competition or "
        "panel)",
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
        "out from training: the strongest baseline is chosen there, the intervals calibrated "
        "(and sweep.py's trials scored), on data the model never saw; 0 trains on all of it, "
        "with no intervals (default: 0.1)",
    )


def add_output_arguments(p: argparse.ArgumentParser, default: str) -> None:
    o = p.add_argument_group("output")
    o.add_argument("--out-dir", help=f"folder for figures and tables (default: {default})")
    o.add_argument(
        "--overwrite",
        action="store_true",
        help="replace results that another command wrote into --out-dir (default: refuse, "
        "naming that command)",
    )


def add_run_set_arguments(p: argparse.ArgumentParser, jobs: str = "") -> None:
    """--models, --seeds and --jobs: the scripts that train many runs share these."""
    r = p.add_argument_group("runs")
    r.add_argument(
        "--models",
        type=model_type,
        nargs="+",
        choices=MODEL_TYPES,
        default=list(MODEL_TYPES),
        help="model types, case-insensitive, each at most once (default: RNN LSTM GRU)",
    )
    r.add_argument(
        "--seeds",
        type=seeds,
        default=1,
        help="train every model with seeds --seed, --seed+1, ...; metrics are reported as "
        f"mean ± standard deviation across them; at most {MAX_SEEDS} (default: 1)",
    )
    r.add_argument(
        "--jobs",
        type=positive_int,
        help=f"runs trained at the same time, as threads of this one process{jobs} (default: "
        "the number of CPU cores on a CPU, 3 on a GPU)",
    )
