"""Progress while training: a bar on a terminal, plain periodic lines in a log."""

from __future__ import annotations

import sys
import time

from tqdm import tqdm


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
