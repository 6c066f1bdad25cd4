"""Reading one numeric column of a CSV file, with one clear line for every way a file can be bad."""

from __future__ import annotations

import csv
import math
import os
import stat
from pathlib import Path

from seqpred.errors import DataError

import numpy as np

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
    rows = read_rows(path)
    header = [h.strip() for h in rows[0]]
    for name in filter(None, (column, date_column)):
        check_column(path, header, name)
    col, date_col = header.index(column), header.index(date_column) if date_column else None
    while len(rows) > 1 and not any(cell.strip() for cell in rows[-1]):
        rows.pop()  # blank lines at the end of the file are no gap
    values, dates, lines, gaps = [], [], [], []
    for line, row in enumerate(rows[1:], start=2):  # line 1 is the header
        if len(row) > len(header) and any(cell.strip() for cell in row[len(header) :]):
            raise DataError(
                f"{path}: row {line} has {len(row)} cells where the header names {len(header)}; "
                "a value in an unnamed column (an unquoted comma?) cannot be placed"
            )
        if not (row[col].strip() if col < len(row) else ""):
            gaps.append(line)  # a blank line or an empty cell: a value is missing
            continue
        values.append(read_number(path, line, row, col, column))
        lines.append(line)
        if date_col is not None:
            dates.append(row[date_col].strip() if date_col < len(row) else "")
    if gaps:
        where = ", ".join(map(str, gaps[:5])) + (", ..." if len(gaps) > 5 else "")
        raise DataError(
            f"{path}: {len(gaps)} missing value(s) in column {column!r} (blank lines or empty "
            f"cells), at row(s) {where}; fill or drop the gaps first (seqpred does not guess "
            "missing values, and skipping them would shift every later season)"
        )
    if not values:
        raise DataError(f"{path}: a header but no data rows")
    if date_column:
        dates = parse_dates(path, dates, date_column, lines)
    return values, (dates if date_column else None)


def read_rows(path: Path) -> list[list[str]]:
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


def check_column(path: Path, header: list[str], name: str) -> None:
    if header.count(name) > 1:
        raise DataError(
            f"{path}: {header.count(name)} columns are named {name!r}; rename them so that each "
            "name is used once"
        )
    if name not in header:
        semicolons = ";" in "".join(header)
        hint = f"; it looks separated by semicolons: {DELIMITER_HINT}" if semicolons else ""
        raise DataError(f"{path}: no column {name!r} (columns: {', '.join(header)}){hint}")


def read_number(path: Path, line: int, row: list[str], col: int, column: str) -> float:
    cell = row[col].strip()  # never empty: read_series_csv counts those as gaps
    try:
        if "_" in cell:  # Python reads 1_00 as 100; no CSV writer means that
            raise ValueError(cell)
        value = float(cell)
    except ValueError:
        hint = f" (a decimal comma? {DELIMITER_HINT})" if "," in cell else ""
        raise DataError(
            f"{path}: row {line}: {cell!r} in column {column!r} is not a number{hint}"
        ) from None
    if not math.isfinite(value):
        raise DataError(f"{path}: row {line}: {cell!r} in column {column!r} is not finite")
    return value


def parse_dates(path: Path, dates: list[str], column: str, lines: list[int]) -> list[str]:
    """The date column as ISO strings, checked strictly increasing.

    Dates and times in ISO form (2010-12, 2010-12-31, 2000-06-05 00:30) and compact YYYYMMDD
    dates (19580329, rewritten as 1958-03-29), or plain numbers. A value that is neither is
    refused with its row (`lines`: each date's row in the file).
    """
    for line, d in zip(lines, dates, strict=True):
        if d == "" or d.lower() == "nat":
            raise DataError(f"{path}: row {line}: missing date in column {column!r}")
    iso = [_iso(d) for d in dates]
    try:
        stamps = np.array(iso, dtype="datetime64")
    except ValueError:
        try:
            stamps = np.array([float(d) for d in dates])
        except ValueError:
            row = next(i for i, d in enumerate(iso) if not _readable(d))
            raise DataError(
                f"{path}: row {lines[row]}: {dates[row]!r} in column {column!r} is neither a date "
                "(ISO form: 2010-12, 2010-12-31, 2010-12-31 23:30; or compact 20101231) nor a "
                "number"
            ) from None
        iso = list(dates)
    steps = np.diff(stamps)
    bad = np.flatnonzero(steps <= np.zeros_like(steps))
    if len(bad):
        i = int(bad[0])
        what = "repeats" if stamps[i] == stamps[i + 1] else "goes back in time"
        raise DataError(
            f"{path}: column {column!r} {what} at {dates[i + 1]!r} (after {dates[i]!r}); a series "
            "needs one value per time step, in time order: sort and de-duplicate it first"
        )
    return iso


def _iso(text: str) -> str:
    """A compact YYYYMMDD date in ISO form; anything else as it is."""
    if len(text) == 8 and text.isdigit():
        return f"{text[:4]}-{text[4:6]}-{text[6:]}"
    return text


def _readable(text: str) -> bool:
    try:
        np.datetime64(text)
        return True
    except ValueError:
        return False


def check_representable(series, name: str) -> None:
    """Refuse a series the networks, which train in float32, cannot represent faithfully."""
    largest = float(series.abs().max())
    if largest > float(np.finfo(np.float32).max):
        raise DataError(
            f"{name}: values up to {largest:.3g} do not fit in float32 (at most 3.4e38), in which "
            "the networks train; rescale the series first (e.g. to other units)"
        )
    spread = float(series.std()) if len(series) > 1 else 0.0
    if 0 < spread < 1e-9 * largest:
        raise DataError(
            f"{name}: the values vary by {spread:.3g} around {largest:.3g}, less than a "
            "billionth of their size: too little to survive standardisation in floating "
            "point; subtract the baseline before saving the series"
        )
