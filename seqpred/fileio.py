"""Safe file I/O: atomic writes, and .pt files loaded without running any pickled code."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

import torch


class FileFormatError(Exception):
    """A file exists but is not what it should be; the message says which file and why."""


@contextlib.contextmanager
def atomic_write(path: str | Path, mode: str = "wb"):
    """Open a temporary file beside `path` and rename it over `path` only once fully written.

    A crash or Ctrl-C half-way leaves the old file untouched, never a truncated one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def save_pt(obj: dict, path: str | Path) -> None:
    """Save a dict of tensors and plain values atomically."""
    with atomic_write(path) as f:
        torch.save(obj, f)


def load_pt(path: str | Path, kind: str) -> dict:
    """Load a .pt file with weights_only=True, so a crafted pickle cannot run code.

    `kind` names what the file should be ("data set", "checkpoint") for the error message.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such {kind} file")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # corrupt zip, truncated file, disallowed pickle global, ...
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise FileFormatError(f"{path} is not a valid {kind} file ({reason[:160]})") from None
    if not isinstance(obj, dict):
        held = type(obj).__name__
        raise FileFormatError(f"{path} is not a valid {kind} file (it holds a {held})")
    return obj


def check_writable(directory: str | Path) -> None:
    """Create `directory` if needed and check a file can be written there; OSError if not.

    Called before training, so that a bad output path fails in a second, not after an hour.
    """
    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError as err:
        raise OSError(f"cannot write to {directory}: {err.strerror or err}") from None
