"""A collection of real series (compare_results.py --dataset collection): its manifest, one line
a series, each line read and checked before any training, and each series' look-back and
horizon from its season."""

from __future__ import annotations

from pathlib import Path

from seqpred.csvseries import read_series_csv
from seqpred.errors import DataError
from seqpred.seasons import season_of_dates

# The real series compare_results.py --dataset collection runs, one line each (see its header).
COLLECTION = Path(__file__).resolve().parents[1] / "datasets" / "collection.csv"
MANIFEST_COLUMNS = ("name", "file", "column", "date_column", "season", "epochs", "units")


def collection_sizes(season: int | None) -> tuple[int, int]:
    """A series' look-back and horizon from its season: two seasons back (at least 12 steps,
    at most 96) and one season ahead (at most 48); 12 back and 6 ahead without a season."""
    if not season:
        return 12, 6
    return min(max(2 * season, 12), 96), min(season, 48)


def read_collection(manifest: str | Path) -> list[dict]:
    """The manifest's series, each checked (its file read whole) before any training: a line
    that cannot work is one DataError naming the manifest's line."""
    manifest = Path(manifest)
    try:
        lines = manifest.read_text(encoding="utf-8").splitlines()
    except OSError as err:
        raise DataError(f"{manifest}: cannot read it: {err.strerror or err}") from None
    rows = [(n, line) for n, line in enumerate(lines, start=1) if line.strip()]
    rows = [(n, line) for n, line in rows if not line.lstrip().startswith("#")]
    if not rows or [c.strip() for c in rows[0][1].split(",")] != list(MANIFEST_COLUMNS):
        raise DataError(f"{manifest}: its header must be {','.join(MANIFEST_COLUMNS)}")
    entries, names = [], set()
    for n, line in rows[1:]:
        cells = [c.strip() for c in line.split(",")]
        where = f"{manifest} line {n}"
        if len(cells) != len(MANIFEST_COLUMNS):
            raise DataError(f"{where}: {len(cells)} fields, not {len(MANIFEST_COLUMNS)}")
        entry = dict(zip(MANIFEST_COLUMNS, cells, strict=True))
        if not entry["name"] or entry["name"] in names or "/" in entry["name"]:
            raise DataError(f"{where}: the name {entry['name']!r} is empty, repeated or a path")
        names.add(entry["name"])
        entries.append(check_entry(entry, manifest.parent, where))
    if not entries:
        raise DataError(f"{manifest}: no series listed")
    return entries


def check_entry(entry: dict, folder: Path, where: str) -> dict:
    """One manifest line, read and checked: its series' values, dates and season."""
    for key in ("season", "epochs"):
        text = entry[key]
        if text and not (text.isdigit() and (int(text) > 0 or key == "season")):
            raise DataError(f"{where}: {key} {text!r} is not a whole number (or blank)")
        entry[key] = int(text) if text else None
    path = folder / entry["file"]
    try:
        values, dates = read_series_csv(path, entry["column"], entry["date_column"] or None)
    except DataError as err:
        raise DataError(f"{where} ({entry['name']}): {err}") from None
    if entry["season"] is None:
        try:
            entry["season"], entry["season_source"] = season_of_dates(dates)
        except DataError as err:
            text = str(err).replace("--season S", "the manifest's season column")
            raise DataError(f"{where} ({entry['name']}): {text}") from None
    else:
        entry["season_source"] = f"{entry['season']}, from the manifest"
        entry["season"] = entry["season"] or None
    entry.update(path=str(path), values=len(values))
    return entry
