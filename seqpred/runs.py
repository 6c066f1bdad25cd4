"""What a training run leaves: its loss history, its result, the training state a checkpoint
needs to continue it, and the two ways it can end early."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from seqpred.errors import DataError
from seqpred.interrupts import Interrupted

import torch


@dataclass
class History:
    """Per-epoch mean losses (in the scaled units the model trains on) and training time."""

    train_losses: list[float] = field(default_factory=list)
    test_losses: list[float] = field(default_factory=list)
    seconds: float = 0.0

    def add(self, train_loss: float, test_loss: float, seconds: float) -> None:
        self.train_losses.append(train_loss)
        self.test_losses.append(test_loss)
        self.seconds += seconds


@dataclass
class RunResult:
    """A trained model, how it got there, and what a checkpoint needs to continue it."""

    model_type: str
    model: object  # the nn.Module
    model_args: dict
    history: History
    n_params: int
    initial_state: dict  # the weights before training, for comparing trained with untrained
    final_state: dict  # training_state() at the end


class TrainingDiverged(DataError):
    """The loss became NaN or infinite; the message says which flag to change."""


class TrainingInterrupted(Interrupted):
    """Ctrl-C or SIGTERM during training; carries the state after the last completed epoch
    (None unless a checkpoint was asked for) and how many epochs were done."""

    def __init__(self, cause: Interrupted, state: dict | None, epochs_done: int):
        super().__init__(cause.signum)
        self.state = state
        self.epochs_done = epochs_done


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
