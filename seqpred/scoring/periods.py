"""Where the training, held-out and test periods lie in a series rebuilt from its windows."""

from __future__ import annotations

import numpy as np
import torch


class Periods:
    """The series and its periods, in the series' own units (float64).

    Windows are consecutive, and a window's input may reach back into an earlier period, so the
    series is the first window followed by every target in time order. train_end: the first
    value after the training period; val_end (= test_start): the first test target.
    """

    def __init__(self, data):
        parts = [data.train_x[0, :, 0], data.train_y[:, 0]]
        n_val = 0 if data.val_y is None else len(data.val_y)
        if n_val:
            parts.append(data.val_y[:, 0])
        parts.append(data.test_y[:, 0])
        self.values = data.unscale(torch.cat(parts)).numpy()  # (N,), series units, float64
        self.train_end = data.sequence_length + len(data.train_y)
        self.test_start = self.train_end + n_val
        self.n_val = n_val
        self.n_test = len(data.test_y)

    @property
    def train(self) -> np.ndarray:
        return self.values[: self.train_end]

    @property
    def validation(self) -> np.ndarray:
        return self.values[self.train_end : self.test_start]

    @property
    def test(self) -> np.ndarray:
        return self.values[self.test_start :]

    def starts(self, split: str) -> np.ndarray:
        """The index in the series of each origin's first target: every test value's (or
        held-out value's, split "validation"), in time order."""
        if split == "validation":
            return self.train_end + np.arange(self.n_val)
        return self.test_start + np.arange(self.n_test)
