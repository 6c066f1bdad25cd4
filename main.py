"""Train one recurrent model (RNN, LSTM or GRU) to predict the next value of a series.

    python main.py --model-type LSTM --plot

The functions here (train_epoch, evaluate, forecast, fit, ...) are reused by compare_results.py.
"""

from __future__ import annotations

import argparse
import copy
import ctypes
import math
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

import data as datasets
from models import IMPLEMENTATIONS, MODEL_TYPES, build_model, count_parameters
from seqpred import analysis, fused, metrics
from seqpred.fileio import FileFormatError, check_writable, load_pt, save_pt

CHECKPOINT_FORMAT = "seqpred-checkpoint-v1"
DEVICES = ("auto", "cpu", "cuda", "mps")


# ----------------------------------------------------------------------------- command line
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


def positive_float(text: str) -> float:
    value = float(text)
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
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


def model_type(text: str) -> str:
    """Model type, case-insensitive: 'lstm' -> 'LSTM'."""
    return text.upper()


def add_training_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags shared by main.py and compare_results.py; defaults are the article's."""
    d = parser.add_argument_group("data")
    d.add_argument(
        "--dataset",
        choices=datasets.DATASETS,
        default="sine",
        help="sine: the article's sine wave; elnino: monthly sea-surface temperature 1950-2010; "
        "csv: a column of your own CSV file, see --csv (default: sine)",
    )
    d.add_argument("--csv", metavar="PATH", help="with --dataset csv: the CSV file to read")
    d.add_argument("--column", help="with --dataset csv: the column holding the series")
    d.add_argument(
        "--date-column", help="with --dataset csv: a column of dates for the x axis (optional)"
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
        help="input window length, in time steps (default: 80 for sine, 24 otherwise)",
    )
    d.add_argument(
        "--test-fraction",
        type=open_fraction,
        default=0.2,
        help="share kept for testing, the latest in time: of the windows for sine, of the "
        "values for real series (default: 0.2)",
    )

    m = parser.add_argument_group("model")
    m.add_argument(
        "--hidden-size",
        type=positive_int,
        default=20,
        help="hidden units per recurrent layer (default: 20)",
    )
    m.add_argument(
        "--num-layers", type=positive_int, default=1, help="stacked recurrent layers (default: 1)"
    )
    m.add_argument(
        "--impl",
        choices=["auto", *IMPLEMENTATIONS],
        default="auto",
        help="torch: PyTorch's nn.RNN/LSTM/GRU; scratch: the cells of cells.py, written from the "
        "equations (slow, for reading); fused: fused.py's C kernels (fast on a CPU); all three "
        "compute the same thing; auto: fused on a CPU if it builds here, else torch "
        "(default: auto)",
    )
    m.add_argument(
        "--dropout",
        type=unit_interval,
        default=0.0,
        help="dropout between stacked layers; needs --num-layers 2 or more (default: 0)",
    )

    t = parser.add_argument_group("training")
    t.add_argument(
        "--epochs", type=positive_int, default=500, help="training epochs (default: 500)"
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
        "--lr", type=positive_float, default=1e-3, help="Adam learning rate (default: 1e-3)"
    )
    t.add_argument(
        "--seed",
        type=non_negative_int,
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
        help="epochs between log lines when output is not a terminal (default: 50)",
    )
    t.add_argument(
        "--dry-run",
        action="store_true",
        help="one epoch of one batch and a 5-step forecast: the whole path in seconds",
    )

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
        "--out-dir",
        help="folder for figures (default: figures for sine, figures/<dataset> otherwise)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="main.py",
        description="Train an RNN, LSTM or GRU to predict the next value of a sine wave.",
    )
    parser.add_argument(
        "--model-type",
        type=model_type,
        choices=list(MODEL_TYPES),
        default="LSTM",
        help="which network to train, case-insensitive (default: LSTM)",
    )
    add_training_arguments(parser)
    parser.add_argument(
        "--plot",
        action="store_true",
        help="write <out-dir>/<MODEL>_loss.png and <MODEL>_forecast.png",
    )
    parser.add_argument(
        "--resume",
        metavar="CHECKPOINT",
        help="continue training from a checkpoint written by --save-model (same flags; "
        "--epochs is the total to reach)",
    )
    parser.add_argument(
        "--save-model",
        nargs="?",
        const="",
        default=None,
        metavar="PATH",
        help="save a checkpoint after training, to PATH if given "
        "(default PATH: checkpoints/<MODEL>.pt)",
    )
    return parser


def check_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> argparse.Namespace:
    """Checks that need several flags at once; fills in the data set's defaults and --dry-run."""
    csv_flags = [f for f in ("csv", "column", "date_column") if getattr(args, f) is not None]
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
    explicit_forecast = args.predict_start is not None or args.predict_steps is not None
    if args.dataset == "adding" and explicit_forecast:
        parser.error("--predict-start and --predict-steps do not apply to --dataset adding")
    if args.dropout > 0 and args.num_layers == 1:
        parser.error(
            "--dropout acts between stacked layers, so with --num-layers 1 it would do nothing; "
            "use --num-layers 2 or more"
        )
    for key, value in datasets.PRESETS[args.dataset].items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.dataset == "sine":
        try:
            datasets.sine_split(args.sequence_length, args.test_fraction)
        except datasets.FlagError as err:
            parser.error(str(err))
    if args.data_dir is None:
        args.data_dir = "."
    if args.out_dir is None:
        name = Path(args.csv).stem if args.dataset == "csv" else args.dataset
        args.out_dir = "figures" if args.dataset == "sine" else str(Path("figures") / name)
    if args.dry_run:
        args.epochs = 1
        args.predict_steps = min(args.predict_steps, 5)
    return args


# ----------------------------------------------------------------------------- set-up helpers
class DeviceError(Exception):
    """The requested device is not available on this machine."""


def resolve_device(name: str) -> torch.device:
    """'auto' picks cuda, then mps, then cpu; an explicit device that is missing is an error."""
    cuda = torch.cuda.is_available()
    mps = getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    if name == "auto":
        return torch.device("cuda" if cuda else "mps" if mps else "cpu")
    if (name == "cuda" and not cuda) or (name == "mps" and not mps):
        raise DeviceError(
            f"--device {name} was requested but this machine has no {name.upper()} "
            f"device PyTorch can use; use --device cpu or --device auto"
        )
    return torch.device(name)


def resolve_impl(name: str, device: torch.device) -> str:
    """'auto' picks the fused C kernels on a CPU where they compile, torch elsewhere."""
    if name == "auto":
        return "fused" if device.type == "cpu" and fused.available()[0] else "torch"
    if name == "fused":
        if device.type != "cpu":
            raise DeviceError("--impl fused runs on the CPU only; use --impl torch on a GPU")
        ok, why = fused.available()
        if not ok:
            raise DeviceError(f"--impl fused is not available here: {why}; use --impl torch")
    return name


def keep_freed_memory() -> None:
    """Ask glibc to keep freed blocks for reuse instead of handing them back to the system.

    Every batch allocates the same few large buffers. By default glibc returns large freed
    blocks to the kernel and the next batch faults them back in, page by page; with models this
    small that costs as much as the arithmetic. Same results, only faster; a no-op elsewhere.
    """
    if sys.platform != "linux":
        return
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc (e.g. musl): leave the allocator alone
        return
    m_trim_threshold, m_mmap_threshold = -1, -3  # from glibc's malloc.h
    libc.mallopt(m_mmap_threshold, 1 << 30)  # blocks below 1 GiB come from the reusable heap
    libc.mallopt(m_trim_threshold, 1 << 30)  # and up to 1 GiB of free heap is kept


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and PyTorch (all devices), so a CPU run is repeatable."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def prepare_data(args: argparse.Namespace, log=print) -> datasets.SeriesData:
    """Build or load the data set the flags ask for."""
    if args.dataset == "elnino":
        return datasets.load_elnino(args.sequence_length, args.test_fraction)
    if args.dataset == "adding":
        return datasets.build_adding(args.sequence_length)
    if args.dataset == "csv":
        return datasets.load_csv(
            args.csv, args.column, args.date_column, args.sequence_length, args.test_fraction
        )
    # The sine data set is saved to disk, as in the article: generated once, then reused.
    train_file = Path(args.data_dir) / datasets.TRAIN_FILE
    test_file = Path(args.data_dir) / datasets.TEST_FILE
    missing = not (train_file.exists() or test_file.exists())
    if args.generate_data or missing:
        data = datasets.build_sine(args.sequence_length, args.test_fraction)
        paths = datasets.save_dataset(data, args.data_dir)
        log(
            f"{'Generated' if args.generate_data else 'No data files found; generated'} "
            f"{paths[0]} and {paths[1]}"
        )
        return data
    return datasets.load_dataset(args.data_dir, args.sequence_length, args.test_fraction)


def model_args(args: argparse.Namespace, input_size: int = 1) -> dict:
    """Constructor arguments of the model the flags ask for (saved in checkpoints)."""
    return {
        "input_size": input_size,
        "hidden_size": args.hidden_size,
        "output_size": 1,
        "num_layers": args.num_layers,
        "dropout": args.dropout,
        "impl": args.impl,
    }


# ----------------------------------------------------------------------------- training
class TrainingDiverged(Exception):
    """The loss became NaN or infinite."""


@dataclass
class History:
    """Per-epoch mean losses (in the scaled units the model trains on) and training time."""

    train_losses: list[float] = field(default_factory=list)
    test_losses: list[float] = field(default_factory=list)
    seconds: float = 0.0


def train_epoch(model, x, y, optimizer, batch_size, generator, max_batches=None) -> float:
    """One pass over the shuffled training windows; returns the mean training MSE."""
    model.train()
    loss_fn = nn.MSELoss()
    order = torch.randperm(len(x), generator=generator).to(x.device)
    total = torch.zeros((), device=x.device)  # summed on the device: no host sync per batch
    seen = 0
    for start in range(0, len(x), batch_size):
        idx = order[start : start + batch_size]
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(x[idx]), y[idx])  # x[idx]: (batch, seq_len, 1) -> (batch, 1)
        loss.backward()
        optimizer.step()
        total += loss.detach() * len(idx)
        seen += len(idx)
        if max_batches is not None and start // batch_size + 1 >= max_batches:
            break
    return total.item() / seen


@torch.no_grad()
def predict(model, x, batch_size=1000) -> torch.Tensor:
    """One-step-ahead predictions for windows x: (n, seq_len, 1) -> (n, 1)."""
    model.eval()
    return torch.cat([model(x[i : i + batch_size]) for i in range(0, len(x), batch_size)])


@torch.no_grad()
def evaluate(model, x, y, batch_size=1000) -> float:
    """Exact mean squared error over all windows (summed per batch, divided once)."""
    model.eval()
    total = torch.zeros((), device=x.device)
    for i in range(0, len(x), batch_size):
        total += ((model(x[i : i + batch_size]) - y[i : i + batch_size]) ** 2).sum()
    return total.item() / y.numel()


@torch.no_grad()
def forecast(model, window: torch.Tensor, steps: int) -> torch.Tensor:
    """Free-running forecast: predict, append the prediction to the window, drop the oldest value.

    window: (seq_len, 1), the true values before the forecast; returns (steps,).
    The look-back is the window's length, the model's own sequence length.
    """
    model.eval()
    seq = window.unsqueeze(0)  # (1, seq_len, 1)
    out = []
    for _ in range(steps):
        nxt = model(seq)  # (1, 1)
        out.append(nxt)
        seq = torch.cat([seq[:, 1:], nxt.unsqueeze(1)], dim=1)  # slide the window by one step
    return torch.cat(out).reshape(steps)


def fit(model, optimizer, data, args, device, generator, history, on_epoch=None) -> History:
    """Train from the epoch after the last one in `history` up to args.epochs.

    After each epoch: record the train and test loss, then call on_epoch(epoch, train, test).
    `generator` draws the batch order (kept apart from the weights' random numbers, so that a
    resumed run can restore it).
    """
    train_x, train_y = data.train_x.to(device), data.train_y.to(device)
    test_x, test_y = data.test_x.to(device), data.test_y.to(device)
    max_batches = 1 if args.dry_run else None
    for epoch in range(len(history.train_losses) + 1, args.epochs + 1):
        start = time.perf_counter()
        train_loss = train_epoch(
            model, train_x, train_y, optimizer, args.batch_size, generator, max_batches
        )
        test_loss = evaluate(model, test_x, test_y, args.test_batch_size)
        if not (math.isfinite(train_loss) and math.isfinite(test_loss)):
            raise TrainingDiverged(
                f"training diverged at epoch {epoch}: the loss is {train_loss} (train) / "
                f"{test_loss} (test); try a smaller learning rate than --lr {args.lr}"
            )
        history.train_losses.append(train_loss)
        history.test_losses.append(test_loss)
        history.seconds += time.perf_counter() - start
        if on_epoch is not None:
            on_epoch(epoch, train_loss, test_loss)
    return history


class EpochLogger:
    """A progress bar over epochs on a terminal; plain periodic lines otherwise (CI logs)."""

    def __init__(self, label: str, epochs: int, log_interval: int, bar: bool = True):
        self.label, self.epochs, self.log_interval = label, epochs, log_interval
        self.stream = sys.stderr
        self.bar = None
        if bar and self.stream.isatty():
            self.bar = tqdm(total=epochs, desc=label, unit="epoch", file=self.stream)
        self.start = time.perf_counter()

    def __call__(self, epoch: int, train_loss: float, test_loss: float) -> None:
        if self.bar is not None:
            self.bar.update(epoch - self.bar.n)
            self.bar.set_postfix(train=f"{train_loss:.3e}", test=f"{test_loss:.3e}")
        elif epoch % self.log_interval == 0 or epoch == self.epochs or epoch == 1:
            print(
                f"[{self.label}] epoch {epoch:4d}/{self.epochs}  train {train_loss:.3e}  "
                f"test {test_loss:.3e}  ({time.perf_counter() - self.start:.1f} s)",
                flush=True,
            )

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


@dataclass
class RunResult:
    """Everything one training run produced."""

    model_type: str
    model: nn.Module
    history: History
    one_step: torch.Tensor  # (n_test,) one-step-ahead predictions of the test targets
    window: torch.Tensor | None  # (seq_len,) the true values seeding the forecast, series units
    truth: torch.Tensor | None  # (steps,) the exact continuation
    forecast: torch.Tensor | None  # (steps,) the model's free-running forecast (series only)
    n_params: int
    initial_state: dict  # the weights before training, for comparing trained with untrained
    final_state: dict  # training_state() at the end, what a checkpoint saves


def check_forecast_range(args, data) -> None:
    """The forecast and its exact continuation must lie inside the test period."""
    n_test = len(data.test_y)
    if data.is_series and args.predict_start + args.predict_steps > n_test:
        raise datasets.FlagError(
            f"--predict-start {args.predict_start} + --predict-steps {args.predict_steps} run past "
            f"the end of the test period ({n_test} values); use smaller values"
        )


class TrainingInterrupted(Exception):
    """Ctrl-C during training; carries the state at the end of the last completed epoch."""

    def __init__(self, epochs_done: int, state: dict | None):
        super().__init__(f"interrupted after {epochs_done} completed epoch(s)")
        self.epochs_done, self.state = epochs_done, state


def copy_of_weights(model) -> dict:
    """The model's state_dict as CPU copies, unaffected by further training."""
    return {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}


def training_state(model, optimizer, generator, history) -> dict:
    """Everything needed to continue training exactly where it is (copies, not references)."""
    return {
        "state_dict": copy_of_weights(model),
        "optimizer_state": copy.deepcopy(optimizer.state_dict()),
        "generator_state": generator.get_state(),
        "torch_rng_state": torch.get_rng_state(),  # dropout's random numbers
        "epoch": len(history.train_losses),
        "train_losses": list(history.train_losses),
        "test_losses": list(history.test_losses),
        "seconds": history.seconds,
    }


def train_model(
    kind: str,
    args,
    data,
    device,
    on_epoch=None,
    resume: dict | None = None,
    keep_state: bool = False,
) -> RunResult:
    """Seed, build, train and forecast with one model: the whole job for one model type.

    resume: a checkpoint dict to continue from. keep_state: remember the training state after
    every epoch, so that Ctrl-C (TrainingInterrupted) can hand back the last completed one.
    """
    seed_everything(args.seed)
    model = build_model(kind, **model_args(args, data.num_features)).to(device)
    initial_state = copy_of_weights(model)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    generator = torch.Generator().manual_seed(args.seed)  # batch order, independent of init
    history = History()
    if resume is not None:
        model.load_state_dict(resume["state_dict"])
        optimizer.load_state_dict(resume["optimizer_state"])
        generator.set_state(resume["generator_state"])
        torch.set_rng_state(resume["torch_rng_state"])
        history = History(
            list(resume["train_losses"]), list(resume["test_losses"]), resume["seconds"]
        )
    last_state = None

    def end_of_epoch(epoch, train_loss, test_loss):
        nonlocal last_state
        if keep_state:
            last_state = training_state(model, optimizer, generator, history)
        if on_epoch is not None:
            on_epoch(epoch, train_loss, test_loss)

    try:
        fit(model, optimizer, data, args, device, generator, history, end_of_epoch)
    except KeyboardInterrupt:
        raise TrainingInterrupted(last_state["epoch"] if last_state else 0, last_state) from None
    one_step = predict(model, data.test_x.to(device), args.test_batch_size)[:, 0].cpu()
    window = truth = pred = None
    if data.is_series:  # a free-running forecast only makes sense within one series
        window = data.test_x[args.predict_start].to(device)  # (seq_len, 1)
        steps = args.predict_steps
        pred = data.unscale(forecast(model, window, steps).cpu())
        truth = data.unscale(data.test_y[args.predict_start : args.predict_start + steps, 0])
        window = data.unscale(window.cpu()[:, 0])
    return RunResult(
        kind,
        model,
        history,
        data.unscale(one_step),
        window,
        truth,
        pred,
        count_parameters(model),
        initial_state,
        training_state(model, optimizer, generator, history),
    )


def gradient_profiles(result: RunResult, args, data, device, max_windows: int = 256) -> dict:
    """How strongly the prediction depends on each past input, trained and at initialisation."""
    x = data.test_x[:max_windows].to(device)
    untrained = build_model(result.model_type, **model_args(args, data.num_features)).to(device)
    untrained.load_state_dict(result.initial_state)
    return {
        "trained": analysis.input_gradient_profile(result.model, x),
        "initial": analysis.input_gradient_profile(untrained, x),
    }


# ----------------------------------------------------------------------------- checkpoints
def default_checkpoint_path(kind: str) -> Path:
    return Path("checkpoints") / f"{kind}.pt"


def save_checkpoint(path, kind: str, state: dict, args, data) -> Path:
    """Write a checkpoint that rebuilds the model without guessing and can resume training.

    `state` comes from training_state(). Only tensors, numbers, strings, lists and dicts go in,
    so torch.load(path, weights_only=True) reads it back.
    """
    plain_args = {
        k: v for k, v in vars(args).items() if v is None or isinstance(v, (str, int, float, bool))
    }
    losses = state["train_losses"], state["test_losses"]
    checkpoint = {
        "format": CHECKPOINT_FORMAT,
        "model_type": kind,
        "model_args": model_args(args, data.num_features),
        **state,
        "final_train_loss": losses[0][-1] if losses[0] else None,
        "final_test_loss": losses[1][-1] if losses[1] else None,
        "args": plain_args,
        "data": {
            "dataset": data.name,
            "sequence_length": data.sequence_length,
            "mean": data.mean,
            "std": data.std,
        },
    }
    save_pt(checkpoint, path)
    return Path(path)


def read_checkpoint(path) -> dict:
    """Load a checkpoint safely and check that it has every part a seqpred checkpoint has."""
    ckpt = load_pt(path, "checkpoint")
    needed = (
        "model_type",
        "model_args",
        "state_dict",
        "optimizer_state",
        "generator_state",
        "torch_rng_state",
        "train_losses",
        "test_losses",
        "seconds",
        "data",
    )
    if (
        ckpt.get("format") != CHECKPOINT_FORMAT
        or ckpt.get("model_type") not in MODEL_TYPES
        or any(key not in ckpt for key in needed)
    ):
        raise FileFormatError(f"{path} is not a valid seqpred checkpoint file")
    return ckpt


def load_checkpoint(path) -> tuple[nn.Module, dict]:
    """Rebuild a model from a checkpoint written by save_checkpoint."""
    ckpt = read_checkpoint(path)
    model = build_model(ckpt["model_type"], **ckpt["model_args"])
    model.load_state_dict(ckpt["state_dict"], strict=True)
    return model, ckpt


def check_resume(ckpt: dict, path, args, data) -> None:
    """A checkpoint can only continue the run the flags describe; say which flag differs."""
    saved = ckpt["model_args"]
    pairs = [
        ("--model-type", ckpt["model_type"], args.model_type),
        ("--hidden-size", saved.get("hidden_size"), args.hidden_size),
        ("--num-layers", saved.get("num_layers"), args.num_layers),
        ("--sequence-length", ckpt["data"].get("sequence_length"), data.sequence_length),
        ("--dataset", ckpt["data"].get("dataset"), data.name),
    ]
    for flag, theirs, ours in pairs:
        if theirs != ours:
            raise FileFormatError(
                f"{path} was trained with {flag} {theirs}, but this run asks for {ours}; "
                f"pass {flag} {theirs} to resume it"
            )
    if len(ckpt["train_losses"]) >= args.epochs:
        raise FileFormatError(
            f"{path} has already trained {len(ckpt['train_losses'])} epochs; pass an --epochs "
            "larger than that to train further"
        )


# ----------------------------------------------------------------------------- reporting
def report_errors(result: RunResult, data, args) -> None:
    """Print the one-step and forecast errors in the series' own units."""
    test_truth = data.unscale(data.test_y[:, 0]).numpy()
    if not data.is_series:
        mse = metrics.mse(result.one_step.numpy(), test_truth)
        print(
            f"  test MSE {mse:.4g} = {mse / test_truth.var():.3f} of the targets' variance "
            "(predicting their mean scores 1)"
        )
        return
    floor = metrics.mape_floor(test_truth)
    unit = f" {data.units}" if data.units else ""
    for label, pred, truth in (
        ("one-step (true inputs)", result.one_step, test_truth),
        (f"{args.predict_steps}-step forecast (own outputs)", result.forecast, result.truth),
    ):
        e = metrics.errors(pred.numpy(), truth, floor)
        print(
            f"  {label}: MAE {e['mae']:.4g}{unit}, RMSE {e['rmse']:.4g}{unit}, "
            f"MAPE {e['mape']:.2f} %"
        )


def write_plots(result: RunResult, data, args, device) -> list[Path]:
    """One model's figures: losses, forecast, gradient flow, and the gates of an LSTM."""
    from seqpred import figures as plots  # matplotlib is only needed here

    kind, h, out = result.model_type, result.history, Path(args.out_dir)
    paths = [
        plots.plot_loss_curves(
            {kind: {"train": [h.train_losses], "test": [h.test_losses]}},
            out / f"{kind}_loss.png",
            f"{kind}: training and test loss",
        ),
        plots.plot_gradient_flow(
            {kind: gradient_profiles(result, args, data, device)},
            out / f"{kind}_gradient_flow.png",
            f"{kind}: how far back the prediction reaches",
        ),
    ]
    if data.is_series:
        paths.append(
            plots.plot_forecast(
                result.window.numpy(),
                result.truth.numpy(),
                {kind: result.forecast.numpy()},
                out / f"{kind}_forecast.png",
                f"{kind}: {args.predict_steps}-step free-running forecast",
                ylabel=f"{data.quantity} ({data.units})" if data.units else data.quantity,
            )
        )
    if kind == "LSTM":
        window = data.test_x[args.predict_start]  # (seq_len, features)
        paths.append(
            plots.plot_gates(
                data.unscale(window).numpy(),
                analysis.lstm_gates(result.model.lstm, window.to(device)),
                out / "lstm_gates.png",
                f"LSTM gates along test window {args.predict_start}",
            )
        )
    return paths


# ----------------------------------------------------------------------------- entry point
def output_dirs(args, checkpoint: Path | None) -> list[Path]:
    """The folders this run will write to."""
    dirs = [Path(args.out_dir)] if getattr(args, "plot", True) else []
    if args.dataset == "sine":
        dirs.append(Path(args.data_dir))
    if checkpoint is not None:
        dirs.append(checkpoint.parent)
    return dirs


def main(argv=None) -> int:
    parser = build_parser()
    args = check_args(parser, parser.parse_args(argv))
    keep_freed_memory()
    kind = args.model_type
    checkpoint = None
    if args.save_model is not None:
        checkpoint = Path(args.save_model or default_checkpoint_path(kind))
    try:
        device = resolve_device(args.device)
        args.impl = resolve_impl(args.impl, device)
        for directory in output_dirs(args, checkpoint):
            check_writable(directory)  # fail now, not after training
        data = prepare_data(args)
        check_forecast_range(args, data)
        resume = None
        if args.resume is not None:
            resume = read_checkpoint(args.resume)
            check_resume(resume, args.resume, args, data)
    except (DeviceError, datasets.FlagError) as err:
        parser.error(str(err))
    except (datasets.DataError, FileNotFoundError, FileFormatError, OSError) as err:
        raise SystemExit(f"main.py: error: {err}") from None

    start = f", resuming after epoch {len(resume['train_losses'])}" if resume else ""
    print(
        f"{kind} ({args.impl}) on {device}: {len(data.train_x)} training and "
        f"{len(data.test_x)} test windows of length {data.sequence_length}{start}"
    )
    logger = EpochLogger(kind, args.epochs, args.log_interval)
    try:
        result = train_model(kind, args, data, device, logger, resume, checkpoint is not None)
    except TrainingDiverged as err:
        raise SystemExit(f"main.py: error: {err}") from None
    except TrainingInterrupted as err:
        logger.close()
        print(
            f"Interrupted (Ctrl-C) during epoch {err.epochs_done + 1} of {args.epochs}; "
            f"{err.epochs_done} epoch(s) completed."
        )
        if checkpoint is not None and err.state is not None:
            save_checkpoint(checkpoint, kind, err.state, args, data)
            print(
                f"Saved the state after epoch {err.epochs_done} to {checkpoint}; continue "
                f"with: --resume {checkpoint}"
            )
        return 130
    finally:
        logger.close()
    h = result.history
    scaled = " (standardized units)" if data.std != 1.0 or data.mean != 0.0 else ""
    print(
        f"{kind}: {result.n_params} parameters, final train MSE {h.train_losses[-1]:.3e}, "
        f"test MSE {h.test_losses[-1]:.3e}{scaled}, {h.seconds:.1f} s "
        f"({h.seconds / len(h.train_losses) * 1000:.1f} ms/epoch)"
    )
    report_errors(result, data, args)
    if args.plot:
        print("Wrote " + ", ".join(map(str, write_plots(result, data, args, device))))
    if checkpoint is not None:
        save_checkpoint(checkpoint, kind, result.final_state, args, data)
        print(f"Saved checkpoint {checkpoint}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
