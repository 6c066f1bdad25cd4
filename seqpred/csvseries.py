"""Reading one numeric column of a CSV file, with one clear line for every way a file can be bad."""

from __future__ import annotations

import csv
import math
import os
import stat
from pathlib import Path

import numpy as np

from seqpred.errors import DataError

DELIMITER_HINT = (
    "seqpred reads comma-separated files with '.' as the decimal point; save the file that way "
    "(in a spreadsheet: 'CSV UTF-8 (comma delimited)')"
)


def read_series_csv(
    path: str | Path, column: str, date_column: str | None = None
) -> tuple[list[float], list[str] | None]:
    """Read one numeric column (and optionally a date column) of a CSV file with a header row.

    Every problem is a DataError naming the file, and the row where there is one. Missing
    values are refused, not guessed: fill or drop them first, with a rule you can defend.
    """
    path = Path(path)
    rows = _rows(path)
    header = [h.strip() for h in rows[0]]
    for name in filter(None, (column, date_column)):
        _check_column(path, header, name)
    col, date_col = header.index(column), header.index(date_column) if date_column else None
    values, dates = [], []
    for line, row in enumerate(rows[1:], start=2):  # line 1 is the header
        if not any(cell.strip() for cell in row):
            continue  # a blank line, e.g. at the end of the file
        values.append(_number(path, line, row, col, column))
        if date_col is not None:
            dates.append(row[date_col].strip() if date_col < len(row) else "")
    if not values:
        raise DataError(f"{path}: a header but no data rows")
    if date_column:
        check_dates(path, dates, date_column)
    return values, (dates if date_column else None)


def _rows(path: Path) -> list[list[str]]:
    """The file's rows, after checking it is a readable UTF-8 text file with a header."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except OSError as err:
        raise DataError(f"{path}: cannot read it: {err.strerror or err}") from None
    if not stat.S_ISREG(mode):
        what = (
            "a folder"
            if stat.S_ISDIR(mode)
            else "a pipe (a FIFO, or standard input)"
            if stat.S_ISFIFO(mode)
            else "a device"
            if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
            else "a socket"
            if stat.S_ISSOCK(mode)
            else "not a regular file"
        )
        raise DataError(f"{path}: is {what}, not a CSV file; save the series to a file first")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as err:
        raise DataError(
            f"{path}: not UTF-8 text (byte {err.object[err.start]:#04x} at offset {err.start}); "
            "save it as UTF-8"
        ) from None
    except OSError as err:
        raise DataError(f"{path}: cannot read it: {err.strerror or err}") from None
    rows = list(csv.reader(text.splitlines()))
    if not rows or not any(cell.strip() for cell in rows[0]):
        raise DataError(f"{path}: the file is empty")
    first = ",".join(rows[0]).strip().lower()
    if first.startswith("sep="):
        raise DataError(
            f"{path}: the first line {first!r} is a spreadsheet's delimiter hint, not a header; "
            + DELIMITER_HINT
        )
    return rows


def _check_column(path: Path, header: list[str], name: str) -> None:
    if header.count(name) > 1:
        raise DataError(
            f"{path}: {header.count(name)} columns are named {name!r}; rename them so that each "
            "name is used once"
        )
    if name not in header:
        semicolons = ";" in "".join(header)
        hint = f"; it looks separated by semicolons: {DELIMITER_HINT}" if semicolons else ""
        raise DataError(f"{path}: no column {name!r} (columns: {', '.join(header)}){hint}")


def _number(path: Path, line: int, row: list[str], col: int, column: str) -> float:
    cell = row[col].strip() if col < len(row) else ""
    if cell == "":
        raise DataError(
            f"{path}: row {line}: missing value in column {column!r}; "
            "fill or drop the gap first (seqpred does not guess missing values)"
        )
    try:
        value = float(cell)
    except ValueError:
        hint = f" (a decimal comma? {DELIMITER_HINT})" if "," in cell else ""
        raise DataError(
            f"{path}: row {line}: {cell!r} in column {column!r} is not a number{hint}"
        ) from None
    if not math.isfinite(value):
        raise DataError(f"{path}: row {line}: {cell!r} in column {column!r} is not finite")
    return value


def check_dates(path: Path, dates: list[str], column: str) -> None:
    """Dates (ISO 8601, e.g. 2010-12 or 2010-12-31) or numbers, strictly increasing."""
    try:
        stamps = np.array(dates, dtype="datetime64")
    except ValueError:
        try:
            stamps = np.array([float(d) for d in dates])
        except ValueError:
            raise DataError(
                f"{path}: column {column!r} holds values that are neither dates in ISO form "
                "(2010-12, 2010-12-31) nor numbers"
            ) from None
    steps = np.diff(stamps)
    bad = np.flatnonzero(steps <= np.zeros_like(steps))
    if len(bad):
        i = int(bad[0])
        what = "repeats" if stamps[i] == stamps[i + 1] else "goes back in time"
        raise DataError(
            f"{path}: column {column!r} {what} at {dates[i + 1]!r} (after {dates[i]!r}); a series "
            "needs one value per time step, in time order: sort and de-duplicate it first"
        )
