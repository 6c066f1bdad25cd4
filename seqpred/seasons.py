"""The season a series' dates imply, from the calendar they actually use.

Regular calendars: monthly dates give 12, quarterly 4, yearly none (a year has no calendar
season), weekly 52, daily 7 (a week), and a fixed spacing under a day as many steps as make a
day (half-hourly 48, hourly 24). Calendars with gaps: daily dates on weekdays only (trading
days, public holidays skipped) give 5, a business week, since seven steps are not a week there;
values at the same times of day on every day they cover (trading hours) give that many, a day.
Any other spacing is irregular: no season is guessed, the user is asked for one (--season).
"""

from __future__ import annotations

from seqpred.errors import FlagError

import numpy as np

DAY = 86400  # seconds
SUB_DAILY = {30 * 60: "half-hourly", 60 * 60: "hourly"}
ASK = "give the season yourself with --season S (0 for none)"
HOLIDAY_GAP = 5  # business days: a gap of up to this many weekdays is holidays, not a break


def season_of_dates(dates: list[str] | None) -> tuple[int | None, str]:
    """(the season, the words that say where it comes from). FlagError for an irregular
    calendar: the season must then be given."""
    if not dates or len(dates) < 3:
        return None, "no dates to infer a season from"
    try:
        stamps = np.array(dates, dtype="datetime64[s]")
    except ValueError:
        return None, "numeric dates: no season inferred (set one with --season)"
    found = by_months(stamps) or by_spacing(stamps) or business_days(stamps) or same_hours(stamps)
    if found is None:
        gaps = np.diff(stamps).astype(np.int64)
        raise FlagError(
            f"the dates are irregularly spaced ({describe(gaps.min())} to {describe(gaps.max())} "
            f"apart, from {dates[0]} to {dates[-1]}): no season can be inferred; {ASK}"
        )
    return found


def by_months(stamps) -> tuple[int | None, str] | None:
    """Monthly, quarterly or yearly: consecutive dates 1, 3 or 12 calendar months apart."""
    days = np.diff(stamps).astype(np.int64) / DAY
    if days.min() < 27:
        return None
    months = stamps.astype("datetime64[M]").astype(np.int64)
    steps = set(np.diff(months).tolist())
    if steps == {1}:
        return 12, "monthly dates"
    if steps == {3}:
        return 4, "quarterly dates"
    if steps == {12}:
        return None, "yearly dates: no calendar season (set one with --season)"
    return None


def by_spacing(stamps) -> tuple[int, str] | None:
    """One fixed spacing: weekly 52, daily 7, and under a day, the steps that make a day."""
    gaps = set(np.diff(stamps).astype(np.int64).tolist())
    if len(gaps) != 1:
        return None
    gap = gaps.pop()
    if gap == 7 * DAY:
        return 52, "weekly dates"
    if gap == DAY:
        return 7, "daily dates: a week"
    if gap < DAY and DAY % gap == 0:
        words = SUB_DAILY.get(gap, f"dates {describe(gap)} apart")
        return DAY // gap, f"{words}: a day"
    return None


def business_days(stamps) -> tuple[int, str] | None:
    """Daily dates on weekdays only, each the next business day but for public holidays."""
    days = stamps.astype("datetime64[D]")
    if not np.array_equal(days, stamps.astype("datetime64[s]").astype("datetime64[D]")) or (
        len(np.unique(days)) != len(days)
    ):
        return None
    if not np.is_busday(days).all() or np.any(stamps != days.astype("datetime64[s]")):
        return None
    steps = np.busday_count(days[:-1], days[1:])
    if steps.min() < 1 or steps.max() > HOLIDAY_GAP or np.mean(steps == 1) < 0.9:
        return None
    holidays = int(np.sum(steps - 1))
    return 5, f"business days (weekdays only; {holidays} weekday(s) skipped): a week of 5"


def same_hours(stamps) -> tuple[int, str] | None:
    """Values at the same times of day on every day they cover, with gaps between the days
    (trading hours): the season is the values of one day."""
    days = stamps.astype("datetime64[D]")
    times = (stamps - days).astype(np.int64)
    starts = np.flatnonzero(np.r_[True, days[1:] != days[:-1]])
    if len(starts) < 2:
        return None
    per_day = np.split(times, starts[1:])
    first = per_day[0]
    if len(first) < 2 or any(not np.array_equal(d, first) for d in per_day):
        return None
    return len(first), f"{len(first)} values a day at the same times, gaps between days: a day"


def describe(seconds: int) -> str:
    """A spacing in words: 30 min, 2 h, 3 days."""
    if seconds % DAY == 0:
        return f"{seconds // DAY} day(s)"
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    return f"{seconds / 60:g} min"
