"""Where and how a run computes: the device (`auto`: cuda, mps, cpu), the implementation that
runs models.py's recurrent layers (PyTorch's, cells.py's equations, or the C kernels), the
threads each run gets, and how many runs train at once."""

from __future__ import annotations

import os

from seqpred import fused
from seqpred.errors import DeviceError

import torch


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


def resolve_impl(name: str, device: torch.device, largest: int = 0) -> str:
    """'auto' picks the fused C kernels on a CPU where they compile and take the sizes (the
    largest input or hidden size, `largest`), torch elsewhere."""
    fits = largest <= fused.MAX_SIZE
    if name == "auto":
        return "fused" if device.type == "cpu" and fits and fused.available()[0] else "torch"
    if name == "fused":
        if device.type != "cpu":
            raise DeviceError("--impl fused runs on the CPU only; use --impl torch on a GPU")
        if not fits:
            raise DeviceError(
                f"--impl fused takes up to {fused.MAX_SIZE} inputs and hidden units, not "
                f"{largest}; use --impl torch"
            )
        ok, why = fused.available()
        if not ok:
            raise DeviceError(f"--impl fused is not available here: {why}; use --impl torch")
    return name


def use_layers(model: torch.nn.Module, classes: dict) -> torch.nn.Module:
    """Run every nn.RNN, nn.LSTM and nn.GRU inside `model` with the class `classes` gives for
    its kind ({"RNN": ..., "LSTM": ..., "GRU": ...}: cells.py's layers, or seqpred.fused's).

    Those classes are subclasses of nn's that change only the forward, so each layer stays the
    same object with the same submodule name, parameters and state_dict: only how it computes
    changes (`--impl`), never what. Returns the model.
    """
    for module in model.modules():
        for kind in ("RNN", "LSTM", "GRU"):
            if isinstance(module, getattr(torch.nn, kind)):
                check_plain(module, kind)
                module.__class__ = classes[kind]
    return model


def check_plain(layer: torch.nn.Module, kind: str) -> None:
    """The scratch and fused layers compute the article's layers: refuse any other variant."""
    other = [
        what
        for what, odd in (
            ("batch_first=False", not layer.batch_first),
            ("bias=False", not layer.bias),
            ("bidirectional=True", layer.bidirectional),
            ("proj_size", getattr(layer, "proj_size", 0)),
            ("nonlinearity='relu'", getattr(layer, "nonlinearity", "tanh") != "tanh"),
        )
        if odd
    ]
    if other:
        raise ValueError(f"only nn.{kind} as models.py builds it can switch layers, not {other[0]}")


def describe(impl: str, device: torch.device, kinds, asked="auto", largest=0) -> str:
    """The start-up line's words for what will run, e.g. "models.py's nn.LSTM, run by PyTorch,
    on cpu"."""
    names = "/".join(kinds)
    words = {
        "torch": f"models.py's nn.{names}, run by PyTorch",
        "scratch": f"models.py's nn.{names}, run by cells.py's equations (slow, for reading)",
        "fused": f"models.py's nn.{names}, run by seqpred's C kernels (fast on a CPU, checked "
        f"against PyTorch on first use; --impl torch runs PyTorch's own)",
    }[impl]
    if asked == "auto" and impl == "torch" and device.type == "cpu":
        why = (
            f"they take up to {fused.MAX_SIZE} inputs and hidden units, not {largest}"
            if largest > fused.MAX_SIZE
            else f"they are not available here: {fused.available()[1]}"
        )
        words += f" (not the C kernels: {why})"
    return f"{words}, on {device}"


def own_stream(device: torch.device):
    """A context in which this thread's GPU work goes to a CUDA stream of its own, so that runs
    in parallel threads overlap on the device (a no-op on a CPU)."""
    return torch.cuda.stream(torch.cuda.Stream(device) if device.type == "cuda" else None)


def use_threads(jobs: int = 1) -> None:
    """Give each of `jobs` concurrent runs its share of the cores for PyTorch's own threads."""
    torch.set_num_threads(max(1, (os.cpu_count() or 1) // jobs))


def default_jobs(jobs: int | None, device: torch.device, dropout: float) -> int:
    """How many runs train at once: --jobs, else one per core on a CPU, and 3 on a GPU, where
    each run is too small to keep the device busy (measured on an H100: 3 runs at once took
    14.3 s where one after another took 19.9 s)."""
    if jobs is None:
        jobs = min(3, os.cpu_count() or 1) if device.type != "cpu" else os.cpu_count() or 1
    if jobs > 1 and dropout > 0:
        print(
            "Note: dropout draws from PyTorch's global random numbers, which parallel runs "
            "share; training one run at a time so that every run is repeatable."
        )
        return 1
    return jobs
