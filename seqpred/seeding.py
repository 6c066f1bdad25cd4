"""Seeding everything, so that a CPU run is repeatable, even with runs in parallel threads."""

from __future__ import annotations

import contextlib
import random
import threading

import numpy as np
import torch


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and PyTorch (all devices)."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


_SEEDING = threading.Lock()


@contextlib.contextmanager
def seeded(seed: int):
    """Seed everything, and keep PyTorch's global random numbers to this block while it runs.

    Runs trained in parallel threads share PyTorch's global generator: a model built inside
    this block gets the same initial weights whatever the other threads do meanwhile.
    """
    with _SEEDING:
        seed_everything(seed)
        yield
