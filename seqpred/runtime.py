"""Where and how a run executes: the device, the recurrent-layer implementation, random seeds,
threads and the memory allocator."""

from __future__ import annotations

import contextlib
import ctypes
import importlib
import os
import random
import sys
import threading
from pathlib import Path

from seqpred import fused
from seqpred.flags import DeviceError, FlagError

import numpy as np
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


def use_layers(model: torch.nn.Module, layers) -> torch.nn.Module:
    """Run every nn.RNN, nn.LSTM and nn.GRU inside `model` with the class of the same name in
    `layers`: cells.py (the equations, unrolled), seqpred.fused (the C kernels) or torch.nn.

    Those classes are subclasses of nn's that change only the forward, so each layer stays the
    same object with the same submodule name, parameters and state_dict: only how it computes
    changes (`--impl`), never what. Returns the model.
    """
    for module in model.modules():
        for kind in ("RNN", "LSTM", "GRU"):
            if isinstance(module, getattr(torch.nn, kind)):
                target = getattr(layers, kind)
                if target is not getattr(torch.nn, kind):
                    check_plain(module, kind)
                module.__class__ = target
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


def describe(impl: str, device: torch.device, kinds: list, asked="auto", largest=0) -> str:
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


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and PyTorch (all devices), so a CPU run is repeatable."""
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


def available_memory() -> int | None:
    """Bytes of memory the system can still give (Linux's MemAvailable), None if unknown."""
    try:
        lines = Path("/proc/meminfo").read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    for line in lines:
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024
    return None


@contextlib.contextmanager
def enough_memory(what: str, n_params: int = 0, n_bytes: int = 0):
    """Within: an allocation that fails becomes one line naming the flags that asked for it.

    A model whose weights, gradients and Adam's two averages (4 floats per parameter), or data
    of n_bytes, that would not fit at all is refused before anything is allocated: with memory
    overcommitted, the allocation itself may succeed and the process be killed when it first
    touches the pages.
    """
    free = available_memory()
    if free is not None and 16 * n_params + n_bytes > free:
        raise FlagError(f"not enough memory for {what}; use smaller values")
    try:
        yield
    except (MemoryError, RuntimeError) as err:
        text = str(err).lower()
        if not isinstance(err, MemoryError) and not any(
            s in text for s in ("alloc", "out of memory", "not enough memory")
        ):
            raise
        raise FlagError(f"not enough memory for {what}; use smaller values") from None


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


def peak_memory_mb(device_name: str) -> tuple[float | None, str]:
    """Peak memory so far: CUDA memory allocated on a GPU, the process's peak RSS on a CPU."""
    if torch.device(device_name).type == "cuda":
        return torch.cuda.max_memory_allocated() / 2**20, "CUDA max allocated"
    try:
        import resource
    except ImportError:  # Windows
        return None, "RSS"
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (2**20 if sys.platform == "darwin" else 2**10), "RSS"  # bytes on macOS, else KiB


def preload(*modules: str) -> None:
    """Import modules in a background thread, to have them ready when they are needed.

    matplotlib and scipy take seconds to import. Called once a core is idle (the last runs are
    training, using the C kernels, which release Python's lock), the import costs no wall
    time; a later `import` of the same module simply waits for this one to finish.
    """

    def load():
        for name in modules:
            importlib.import_module(name)

    threading.Thread(target=load, name="preload", daemon=True).start()


def keep_freed_memory() -> None:
    """Ask glibc to keep freed blocks for reuse instead of handing them back to the system.

    Every batch allocates the same few large buffers. By default glibc returns large freed
    blocks to the kernel and the next batch faults them back in, page by page (here a fresh
    page costs microseconds). Blocks up to 32 MiB (glibc's ceiling for this setting) now come
    from the heap, and up to 32 MiB of freed heap is kept for the next batch; the runs' threads
    share one heap (one arena) rather than each keeping its own. Measured on the default
    comparison: as fast as keeping 128 MiB per thread, with about 90 MB less peak memory, and
    about 5 % faster than glibc's defaults. Same results either way; a no-op elsewhere.
    """
    if sys.platform != "linux":
        return
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc (e.g. musl): leave the allocator alone
        return
    m_trim_threshold, m_mmap_threshold, m_arena_max = -1, -3, -8  # from glibc's malloc.h
    libc.mallopt(m_mmap_threshold, 32 << 20)
    libc.mallopt(m_trim_threshold, 32 << 20)
    libc.mallopt(m_arena_max, 1)
