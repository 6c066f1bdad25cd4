"""Reading one numeric column of a CSV file, with one clear line for every way a file can be bad."""

from __future__ import annotations

import csv
import math
from pathlib import Path

from seqpred.errors import DataError


def read_series_csv(
    path: str | Path, column: str, date_column: str | None = None
) -> tuple[list[float], list[str] | None]:
    """Read one numeric column (and optionally a date column) of a CSV file with a header row.

    Every problem is a DataError naming the file, and the row where there is one. Missing
    values are refused, not guessed: fill or drop them first, with a rule you can defend.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as err:
        raise DataError(
            f"{path}: not UTF-8 text (byte {err.object[err.start]:#04x} at offset {err.start}); "
            "save it as UTF-8"
        ) from None
    rows = list(csv.reader(text.splitlines()))
    if not rows or not any(cell.strip() for cell in rows[0]):
        raise DataError(f"{path}: the file is empty")
    header = [h.strip() for h in rows[0]]
    for name in filter(None, (column, date_column)):
        if name not in header:
            raise DataError(f"{path}: no column {name!r} (columns: {', '.join(header)})")
    col, date_col = header.index(column), header.index(date_column) if date_column else None
    values, dates = [], []
    for line, row in enumerate(rows[1:], start=2):  # line 1 is the header
        if not any(cell.strip() for cell in row):
            continue  # a blank line, e.g. at the end of the file
        cell = row[col].strip() if col < len(row) else ""
        if cell == "":
            raise DataError(
                f"{path}: row {line}: missing value in column {column!r}; "
                "fill or drop the gap first (seqpred does not guess missing values)"
            )
        try:
            value = float(cell)
        except ValueError:
            raise DataError(
                f"{path}: row {line}: {cell!r} in column {column!r} is not a number"
            ) from None
        if not math.isfinite(value):
            raise DataError(f"{path}: row {line}: {cell!r} in column {column!r} is not finite")
        values.append(value)
        if date_col is not None:
            dates.append(row[date_col].strip() if date_col < len(row) else "")
    if not values:
        raise DataError(f"{path}: a header but no data rows")
    return values, (dates if date_column else None)
