"""What the scripts share around their work: errors as one clear line, and output folders
checked before any training starts."""

from __future__ import annotations

import argparse
import contextlib
from pathlib import Path

from seqpred.errors import DataError, FileFormatError, FlagError
from seqpred.fileio import check_writable
from seqpred.interrupts import Interrupted, signals_interrupt


@contextlib.contextmanager
def clean_errors(parser: argparse.ArgumentParser):
    """Every error a user can fix becomes one line and an exit status, never a traceback:
    flags that cannot work exit 2 (as argparse does), bad files and data exit 1."""
    try:
        yield
    except FlagError as err:
        parser.error(str(err))
    except (DataError, FileNotFoundError, FileFormatError, OSError, MemoryError) as err:
        raise SystemExit(f"{parser.prog}: error: {err}") from None


def run(parser: argparse.ArgumentParser, body, *args) -> int:
    """body(*args) -> exit status, with SIGTERM handled like Ctrl-C and user errors as one line.

    An Interrupted that reaches here arrived outside any run (while loading data, or while
    writing finished results, which atomic writes keep whole): nothing half-written is left.
    """
    with signals_interrupt(), clean_errors(parser):
        try:
            return body(*args)
        except Interrupted as stop:
            print(f"\nInterrupted ({stop.name}); nothing more was written.")
            return stop.status


def check_folders(folders) -> None:
    """Create and test-write every output folder now, not after an hour of training."""
    for folder in dict.fromkeys(Path(f) for f in folders):  # each once, in order
        check_writable(folder)
