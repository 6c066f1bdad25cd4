"""Checkpoints: what is saved, how it is checked on loading, and when one may be resumed.

A checkpoint is a dict of tensors and plain values, so `torch.load(path, weights_only=True)`
reads it: the model type and constructor arguments (the model is rebuilt without guessing),
the weights, the optimizer and random-number states (training continues exactly), the loss
history, the flags that define the run, and a fingerprint of the data it was trained on.
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

from seqpred.errors import FileFormatError, first_line
from seqpred.fileio import load_pt, save_pt
from seqpred.runs import History, TrainingInterrupted

import torch

FORMAT = "seqpred-checkpoint-v2"  # v2: with the checksum
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


def run_flags(kind: str, train, data, strategy: str) -> dict:
    """The flags that define a run: resuming with any of them changed would mix two runs.
    train: settings.TrainSettings; data: settings.DataSettings."""
    return {
        "model_type": kind,
        "hidden_size": train.hidden_size,
        "num_layers": train.num_layers,
        "dropout": train.dropout,
        "lr": train.lr,
        "batch_size": train.batch_size,
        "seed": train.seed,
        "dataset": data.dataset,
        "sequence_length": data.sequence_length,
        "test_fraction": data.test_fraction,
        "val_fraction": data.val_fraction,
        "strategy": strategy,
        "outputs": train.outputs,
    }


# run_flags keys that are not a flag's name: how to say which flag changed
FLAG_NAMES = {"outputs": "--predict-steps (with --strategy direct)", "model_type": "--model-type"}


def restore(ckpt: dict, model, optimizer, generator) -> History:
    """Put a checkpoint's training state back; returns its history so far. A state that does
    not fit this model (shapes, optimizer or generator state) is refused."""
    try:
        model.load_state_dict(ckpt["state_dict"])
        optimizer.load_state_dict(ckpt["optimizer_state"])
        check_optimizer_state(optimizer)
        generator.set_state(ckpt["generator_state"])
        torch.set_rng_state(ckpt["torch_rng_state"])
    except (RuntimeError, ValueError, TypeError, KeyError, IndexError) as err:
        why = first_line(err, 160)
        raise FileFormatError(f"the checkpoint does not fit this run's model: {why}") from None
    return History(list(ckpt["train_losses"]), list(ckpt["test_losses"]), ckpt["seconds"])


def check_optimizer_state(optimizer) -> None:
    """Adam's running averages must have their parameter's shape (load_state_dict does not
    check it, and a wrong one fails only at the next step, as a traceback); its step count is
    a number. ValueError naming the first that does not fit."""
    for group in optimizer.param_groups:
        for param in group["params"]:
            for name, value in optimizer.state.get(param, {}).items():
                if not isinstance(value, torch.Tensor):
                    raise ValueError(f"the optimizer's {name} is not a tensor")
                wanted = () if name == "step" else tuple(param.shape)
                if tuple(value.shape) != wanted:
                    raise ValueError(
                        f"the optimizer's {name} has shape {list(value.shape)}, its parameter's "
                        f"is {list(wanted)}"
                    )


def save(path, model_type: str, model_args: dict, state: dict, run: dict, data) -> Path:
    """Write a checkpoint atomically. `state` comes from training_state(); `run` holds the
    flags that define the run (see check_resume)."""
    losses = state["train_losses"], state["test_losses"]
    checkpoint = {
        "format": FORMAT,
        "model_type": model_type,
        "model_args": model_args,
        **state,
        "final_train_loss": losses[0][-1] if losses[0] else None,
        "final_test_loss": losses[1][-1] if losses[1] else None,
        "run": dict(run),
        "data": {
            "dataset": data.name,
            "sequence_length": data.sequence_length,
            "mean": data.mean,
            "std": data.std,
            "fingerprint": data_fingerprint(data),
        },
    }
    checkpoint["sha256"] = digest(checkpoint)
    save_pt(checkpoint, path)
    return Path(path)


def digest(value) -> str:
    """SHA-256 over every value of a checkpoint, in a fixed order: tensors by dtype, shape and
    bytes, numbers by their exact repr, dicts by sorted key ("sha256" itself left out)."""
    h = hashlib.sha256()

    def feed(v):
        if isinstance(v, dict):
            h.update(b"{")
            for k in sorted(v, key=str):
                if k != "sha256":
                    h.update(repr(k).encode())
                    feed(v[k])
            h.update(b"}")
        elif isinstance(v, (list, tuple)):
            h.update(b"[")
            for item in v:
                feed(item)
            h.update(b"]")
        elif isinstance(v, torch.Tensor):
            t = v.detach().cpu().contiguous()
            h.update(f"{t.dtype}{tuple(t.shape)}".encode())
            h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
        else:
            h.update(f"{type(v).__name__}:{v!r}".encode())

    feed(value)
    return h.hexdigest()


def _number_list(v) -> bool:
    return isinstance(v, list) and all(isinstance(x, (int, float)) for x in v)


# What each part of a checkpoint must be: a well-formed file of the wrong shape is refused in
# one line, before it reaches torch (whose errors are tracebacks).
TYPES = {
    "model_type": lambda v: isinstance(v, str),
    "model_args": lambda v: (
        isinstance(v, dict)
        and all(isinstance(v.get(k), int) for k in ("input_size", "hidden_size", "output_size"))
    ),
    "state_dict": lambda v: (
        isinstance(v, dict) and all(isinstance(t, torch.Tensor) for t in v.values())
    ),
    "optimizer_state": lambda v: isinstance(v, dict) and "state" in v and "param_groups" in v,
    "generator_state": lambda v: isinstance(v, torch.Tensor) and v.dtype == torch.uint8,
    "torch_rng_state": lambda v: isinstance(v, torch.Tensor) and v.dtype == torch.uint8,
    "train_losses": _number_list,
    "test_losses": _number_list,
    "seconds": lambda v: isinstance(v, (int, float)) and math.isfinite(v) and v >= 0,
    "data": lambda v: isinstance(v, dict),
}


def read(path) -> dict:
    """Load a checkpoint safely and check that it has every part a seqpred checkpoint has."""
    ckpt = load_pt(path, "checkpoint")
    if ckpt.get("format") != FORMAT or any(key not in ckpt for key in NEEDED):
        raise FileFormatError(f"{path} is not a valid seqpred checkpoint file")
    if ckpt.get("sha256") != digest(ckpt):
        raise FileFormatError(
            f"{path} is damaged: its contents do not match the checksum written with them (a "
            "changed byte, on the disk or in a copy); it cannot be used"
        )
    bad = [key for key, ok in TYPES.items() if not ok(ckpt[key])]
    if not bad and len(ckpt["train_losses"]) != len(ckpt["test_losses"]):
        bad = ["train_losses"]
    if bad:
        raise FileFormatError(f"{path} is not a valid seqpred checkpoint file (its {bad[0]})")
    return ckpt


def check_resume(ckpt: dict, path, run: dict, data, epochs: int) -> None:
    """A checkpoint can only continue the run the flags describe: refuse any difference, naming
    the flag. `run` maps flag names (without --, with _) to this run's values."""
    saved = {**dict(ckpt.get("run", {})), "model_type": ckpt["model_type"]}
    for key, ours in run.items():
        theirs = saved.get(key)
        if theirs != ours:
            flag = FLAG_NAMES.get(key, "--" + key.replace("_", "-"))
            raise FileFormatError(
                f"{path} was trained with {flag} {theirs}, but this run asks for {ours}; "
                f"pass {flag} {theirs} to resume it (a resumed run must be the same run)"
            )
    if ckpt["data"].get("fingerprint") != data_fingerprint(data):
        raise FileFormatError(
            f"{path} was trained on other data than this run's (another --test-fraction, "
            "another CSV file under this name, or regenerated data files); it cannot be resumed "
            "on this data"
        )
    done = len(ckpt["train_losses"])
    if done >= epochs:
        raise FileFormatError(
            f"{path} has already trained {done} epochs; pass an --epochs larger than that to "
            "train further"
        )


def read_for_resume(path, run: dict, data, epochs: int) -> dict:
    """--resume: the checkpoint, read, checked, and refused unless it continues this very run
    (`run`, on `data`) to `epochs`."""
    ckpt = read(path)
    check_resume(ckpt, path, run, data, epochs)
    return ckpt


def save_stopped(stopped: TrainingInterrupted, path, kind, model_args, run, data, epochs) -> int:
    """After Ctrl-C or SIGTERM in training: the checkpoint of the last completed epoch, if a path
    was given; the exit status a shell expects."""
    done = stopped.epochs_done
    print(f"Interrupted ({stopped.name}) after epoch {done} of {epochs}.")
    if path is not None and stopped.state is not None:
        save(path, kind, model_args, stopped.state, run, data)
        print(f"Saved the state after epoch {done} to {path}; continue with: --resume {path}")
    return stopped.status
