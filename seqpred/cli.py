"""What the scripts share around their work: one start-up path (the device, the implementation,
the folders, the data, the hidden sizes, resolved once into a Setup), errors as one clear
line, Ctrl-C and SIGTERM recorded for the run to act on, and the progress of training."""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from seqpred import flags, runtime
from seqpred.fileio import check_writable
from seqpred.flags import DataError, FileFormatError, FlagError
from seqpred.interrupts import Interrupted, stop_on_signals

import torch
from tqdm import tqdm


@contextlib.contextmanager
def clean_errors(parser: argparse.ArgumentParser):
    """Every error a user can fix becomes one line and an exit status, never a traceback:
    flags that cannot work exit 2 (as argparse does), bad files and data exit 1."""
    try:
        yield
    except FlagError as err:
        parser.error(str(err))
    except MemoryError:
        raise SystemExit(
            f"{parser.prog}: error: out of memory; use smaller values (--hidden-size, "
            "--batch-size, --sequence-length)"
        ) from None
    except (DataError, FileNotFoundError, FileFormatError, OSError) as err:
        raise SystemExit(f"{parser.prog}: error: {err or type(err).__name__}") from None


def run(parser: argparse.ArgumentParser, body, args, *more) -> int:
    """body(args, stop, *more) -> exit status, with Ctrl-C and SIGTERM recorded in `stop` (see
    interrupts.py) and user errors as one line.

    An Interrupted that reaches here was raised where nothing was being written (while loading
    data, between phases): nothing half-written is left.
    """
    with stop_on_signals() as stop, clean_errors(parser):
        try:
            return body(args, stop, *more)
        except Interrupted as err:
            print(f"\nInterrupted ({err.name}); nothing more was written.")
            return err.status


def check_folders(folders) -> None:
    """Create and test-write every output folder now, not after an hour of training."""
    for folder in dict.fromkeys(Path(f) for f in folders):  # each once, in order
        check_writable(folder)


@dataclass
class Setup:
    """What a script resolves from its flags before training. The parsed flags stay as the user
    gave them (results.json records them); what was resolved from them travels here."""

    device: torch.device
    impl: str  # torch, scratch or fused: how models.py's nn layers run
    layers: str  # the start-up line's words for that, e.g. "models.py's nn.LSTM, run by ..."
    data: object  # the data set (data.SeriesData)
    hidden_sizes: dict  # each model's hidden size: --hidden-size, or --match-params
    jobs: int = 1  # runs trained at the same time


def start(args, kinds: list[str], datasets, parameters_of, outputs=()) -> Setup:
    """The start-up steps the scripts share, in the order that fails fastest: the device, the
    output folders (created and test-written), the data set and its forecast window, each
    model's hidden size, and the implementation that runs them. datasets: data.py;
    parameters_of: models.parameters_of."""
    device = runtime.resolve_device(args.device)
    generating = [args.data_dir] if datasets.will_generate(args) else []
    check_folders([*outputs, *generating])
    data = datasets.prepare(args)
    if data.is_series:
        datasets.check_forecast(data, args.predict_start, args.predict_steps)
    direct = getattr(args, "strategy", "recursive") == "direct"
    sizes = flags.hidden_sizes(
        args, kinds, data, args.predict_steps if direct else 1, parameters_of
    )
    largest = max([*sizes.values(), data.num_features])
    impl = runtime.resolve_impl(args.impl, device, largest)
    layers = runtime.describe(impl, device, kinds, args.impl, largest)
    return Setup(device, impl, layers, data, sizes)


class EpochLogger:
    """A progress bar over epochs when standard output is a terminal; otherwise a line on
    standard output every `log_interval` epochs (so `python main.py > log` logs)."""

    def __init__(self, label: str, epochs: int, log_interval: int, bar: bool = True):
        self.label, self.epochs, self.log_interval = label, epochs, log_interval
        self.bar = None
        if bar and sys.stdout.isatty():
            self.bar = tqdm(total=epochs, desc=label, unit="epoch", file=sys.stderr)
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
            self.bar = None
