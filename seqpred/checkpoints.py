"""Checkpoints: what is saved, how it is checked on loading, and when one may be resumed.

A checkpoint is a dict of tensors and plain values, so `torch.load(path, weights_only=True)`
reads it: the model type and constructor arguments (the model is rebuilt without guessing),
the weights, the optimizer and random-number states (training continues exactly), the loss
history, the flags that define the run, and a fingerprint of the data it was trained on.
"""

from __future__ import annotations

import copy
import hashlib
from pathlib import Path

from seqpred.errors import FileFormatError
from seqpred.fileio import load_pt, save_pt

import torch

FORMAT = "seqpred-checkpoint-v1"
NEEDED = (
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


def default_path(kind: str) -> Path:
    return Path("checkpoints") / f"{kind}.pt"


def data_fingerprint(data) -> str:
    """A hash of the windows (inputs and targets, both splits) and the scaling of a data set.

    Another --test-fraction, another CSV under the same file name or regenerated data files
    give another fingerprint, so a checkpoint is never resumed on data it was not trained on.
    """
    digest = hashlib.sha256()
    for t in (data.train_x, data.train_y, data.test_x, data.test_y):
        digest.update(str(tuple(t.shape)).encode())
        digest.update(t.detach().cpu().contiguous().numpy().tobytes())
    digest.update(f"{data.mean!r} {data.std!r}".encode())
    return digest.hexdigest()[:32]


def run_flags(kind: str, config, args) -> dict:
    """The flags that define a run: resuming with any of them changed would mix two runs."""
    return {
        "model_type": kind,
        "hidden_size": config.hidden_size,
        "num_layers": config.num_layers,
        "dropout": config.dropout,
        "lr": config.lr,
        "batch_size": config.batch_size,
        "seed": config.seed,
        "dataset": args.dataset,
        "sequence_length": args.sequence_length,
        "test_fraction": args.test_fraction,
        "val_fraction": getattr(args, "val_fraction", 0.0),
        "strategy": getattr(args, "strategy", "recursive"),
        "outputs": config.outputs,
    }


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


def restore(ckpt: dict, model, optimizer, generator) -> tuple[list, list, float]:
    """Put a checkpoint's training state back; returns its (train losses, test losses, seconds)."""
    model.load_state_dict(ckpt["state_dict"])
    optimizer.load_state_dict(ckpt["optimizer_state"])
    generator.set_state(ckpt["generator_state"])
    torch.set_rng_state(ckpt["torch_rng_state"])
    return list(ckpt["train_losses"]), list(ckpt["test_losses"]), ckpt["seconds"]


def save(path, model_type: str, model_args: dict, state: dict, run: dict, data) -> Path:
    """Write a checkpoint atomically. `state` comes from main.training_state(); `run` holds the
    flags that define the run (see check_resume)."""
    losses = state["train_losses"], state["test_losses"]
    checkpoint = {
        "format": FORMAT,
        "model_type": model_type,
        "model_args": model_args,
        **state,
        "final_train_loss": losses[0][-1] if losses[0] else None,
        "final_test_loss": losses[1][-1] if losses[1] else None,
        "args": dict(run),
        "run": dict(run),
        "data": {
            "dataset": data.name,
            "sequence_length": data.sequence_length,
            "mean": data.mean,
            "std": data.std,
            "fingerprint": data_fingerprint(data),
        },
    }
    save_pt(checkpoint, path)
    return Path(path)


def read(path) -> dict:
    """Load a checkpoint safely and check that it has every part a seqpred checkpoint has."""
    ckpt = load_pt(path, "checkpoint")
    if ckpt.get("format") != FORMAT or any(key not in ckpt for key in NEEDED):
        raise FileFormatError(f"{path} is not a valid seqpred checkpoint file")
    if isinstance(ckpt["model_args"], dict):  # older checkpoints named the --impl there
        ckpt["model_args"].pop("impl", None)
    return ckpt


def check_resume(ckpt: dict, path, run: dict, data, epochs: int) -> None:
    """A checkpoint can only continue the run the flags describe: refuse any difference, naming
    the flag. `run` maps flag names (without --, with _) to this run's values."""
    saved = {**ckpt.get("args", {}), **ckpt.get("run", {})}
    saved.setdefault("model_type", ckpt["model_type"])
    for key, ours in run.items():
        if key not in saved:
            continue  # an older checkpoint that did not record this flag
        theirs = saved[key]
        if theirs != ours:
            flag = "--" + key.replace("_", "-")
            raise FileFormatError(
                f"{path} was trained with {flag} {theirs}, but this run asks for {ours}; "
                f"pass {flag} {theirs} to resume it (a resumed run must be the same run)"
            )
    recorded = ckpt["data"].get("fingerprint")
    if recorded is not None and recorded != data_fingerprint(data):
        raise FileFormatError(
            f"{path} was trained on other data than this run's (another --test-fraction, "
            "another CSV file under this name, or regenerated data files); it cannot be resumed "
            "on this data"
        )
    if recorded is None and (ckpt["data"].get("mean"), ckpt["data"].get("std")) != (
        data.mean,
        data.std,
    ):
        raise FileFormatError(f"{path} was trained on other data than this run's")
    done = len(ckpt["train_losses"])
    if done >= epochs:
        raise FileFormatError(
            f"{path} has already trained {done} epochs; pass an --epochs larger than that to "
            "train further"
        )
