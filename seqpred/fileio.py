"""Safe file I/O: atomic writes, strict JSON, and .pt files loaded without running pickled code."""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import secrets
import tempfile
import warnings
import zipfile
from pathlib import Path

from seqpred.errors import FileFormatError, FlagError, first_line

import numpy as np
import torch

__all__ = ["FileFormatError", "atomic_write", "check_writable", "load_pt", "save_pt"]


@contextlib.contextmanager
def atomic_write(path: str | Path, mode: str = "wb"):
    """Open a temporary file beside `path` and rename it over `path` only once fully written.

    A crash, Ctrl-C or SIGTERM half-way leaves the old file untouched and no temporary file
    behind. The new file gets the permissions any new file gets (the user's umask), not the
    private mode of a temporary file.
    """
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a folder, not a file")
    if path.exists() and not path.is_file():
        raise OSError(f"{path} exists and is not a regular file; seqpred will not replace it")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_name(path)  # named before the try
    text = {} if "b" in mode else {"encoding": "utf-8"}  # text is UTF-8 in any locale
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(fd, mode, **text) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_text(path: str | Path, text: str) -> Path:
    with atomic_write(path, "w") as f:
        f.write(text)
    return Path(path)


def strict(value):
    """`value` with NaN and infinities as None, NumPy numbers and arrays as plain ones."""
    if isinstance(value, dict):
        return {k: strict(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [strict(v) for v in value]
    if isinstance(value, np.ndarray):
        return strict(value.tolist())
    if isinstance(value, (np.floating, float)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def write_json(path: str | Path, obj) -> Path:
    """Strict JSON (no NaN or Infinity tokens, which strict parsers reject): undefined is null."""
    return write_text(path, json.dumps(strict(obj), indent=1, allow_nan=False) + "\n")


def save_pt(obj: dict, path: str | Path) -> None:
    """Save a dict of tensors and plain values atomically. A write that fails (a full disk, a
    file-size limit) is one OSError naming the file; the old file, if any, is left as it was."""
    try:
        with atomic_write(path) as f:
            torch.save(obj, f)
    except (OSError, RuntimeError) as err:
        cause = os_error_in(err)
        if cause is None:
            raise
        raise OSError(f"cannot write {path}: {cause.strerror or cause}") from None


def os_error_in(err: BaseException) -> OSError | None:
    """The OSError an exception is, or was raised while handling (torch.save's zip writer
    answers a failed write with a RuntimeError of its own)."""
    while err is not None:
        if isinstance(err, OSError):
            return err
        err = err.__cause__ or err.__context__
    return None


def load_pt(path: str | Path, kind: str) -> dict:
    """Load a .pt file with weights_only=True, so a crafted pickle cannot run code.

    `kind` names what the file should be ("data set", "checkpoint") for the error message.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such {kind} file")
    if not zipfile.is_zipfile(path):  # torch.save writes a zip archive; a bare pickle is none
        raise FileFormatError(
            f"{path} is not a valid {kind} file (not one torch.save wrote, which is a zip archive)"
        )
    try:
        with warnings.catch_warnings():  # torch's notes on old pickle protocols are not ours
            warnings.simplefilter("ignore")
            obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # corrupt zip, truncated file, disallowed pickle global, ...
        reason = first_line(err, 160)
        raise FileFormatError(f"{path} is not a valid {kind} file ({reason})") from None
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


def check_file_target(path: str | Path, flag: str) -> None:
    """A file we will write (atomically: a temporary file beside it, then a rename) must be a
    regular file if it exists (never a folder, a pipe or a device: the rename would replace
    it), and the temporary file must be creatable: its folder writable, its longer name within
    the file system's limit. Checked before training, so the model is never lost after it."""
    path = Path(path)
    if path.is_dir():
        raise FlagError(f"{flag} {path} is a folder; give a file name, e.g. {path / 'model.pt'}")
    if path.exists() and not path.is_file():
        raise FlagError(
            f"{flag} {path} exists and is not a regular file (a pipe, a device, a socket?); "
            "seqpred would replace it; give the name of a file"
        )
    check_writable(path.parent)
    probe = temporary_name(path)
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as err:
        if err.errno == errno.ENAMETOOLONG:
            raise FlagError(
                f"{flag}: the name {path.name!r} is too long here ({len(path.name)} characters; "
                f"seqpred first writes {len(probe.name)}-character temporary files beside it)"
            ) from None
        raise OSError(f"cannot write to {path.parent}: {err.strerror or err}") from None
    os.close(fd)
    os.unlink(probe)


def temporary_name(path: Path) -> Path:
    """The temporary file atomic_write writes first, beside `path`."""
    return path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
